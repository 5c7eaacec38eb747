/* pin.h — values pinned per BLIS kernel set. A fingerprint hashes float
 * arithmetic, and the arithmetic depends on the kernels BLIS runs (the fixed
 * rule's, MODGRAD_BLIS_TUNE=off: skx on an AVX-512 CPU, BLIS's own zen3 on
 * an AMD Zen 3) and on the code compiled for the CPU (-march=native), so
 * each pin holds one value per kernel set the project's machines have had:
 *   skx   Intel with AVX-512 F/DQ/BW/VL (the values from the start),
 *   zen3  AMD family 25 (Zen 3, AVX2 + FMA), first run on 2026-12-03 by the
 *         code that gave the skx values on the Intel machine.
 * Kernels without a value here skip the test, saying which they are: a new
 * kind of machine needs its values added (run the test: it prints them),
 * not a looser check. */
#ifndef MG_TEST_PIN_H
#define MG_TEST_PIN_H

#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "core/gemm.h"

typedef struct {
    uint64_t skx, zen3;
} mg_pin;

/* The kernels the fixed rule gives this CPU: what mg_gemm_init selects (a
 * second call keeps the kernels and the thread count it is given). */
static inline const char *mg_pin_arch(void) {
    int threads = mg_gemm_threads();
    cr_assert_eq(mg_gemm_init(threads > 0 ? threads : 1), MG_OK, "%s", mg_errmsg());
    return mg_blis_arch();
}

/* The pinned value for this machine's kernels; skips the test when there is
 * none (after logging what this machine gives, through got). */
static inline uint64_t mg_pin_value(mg_pin p, const char *what, uint64_t got) {
    const char *arch = mg_pin_arch();
    if (!strcmp(arch, "skx")) return p.skx;
    if (!strcmp(arch, "zen3")) return p.zen3;
    cr_log_warn("%s: 0x%016llxULL on BLIS %s", what, (unsigned long long)got, arch);
    cr_skip_test("no pinned value for BLIS %s (pins: skx, zen3; tests/util/pin.h)", arch);
    return 0;
}

#endif
