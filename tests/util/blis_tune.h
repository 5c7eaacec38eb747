/* blis_tune.h — helpers of the kernel-choice suites (test_blis_tune.c,
 * test_cli_blis.c): tuning turned on for a test, and this CPU's candidates.
 * Header-only. */
#ifndef MG_TEST_BLIS_TUNE_H
#define MG_TEST_BLIS_TUNE_H

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "core/blis_tune.h"

static const char *cands[MG_BLIS_MAX_CANDIDATES];
static int n_cands;

/* Tuning on (mg_cli_setup turned it off for the CLI) and this CPU's
 * candidates; a CPU with fewer than two has nothing to choose between. */
static inline void tune_on(void) {
    setenv("MODGRAD_BLIS_TUNE", "on", 1);
    mg_cpu_features f = mg_cpu_detect();
    n_cands = mg_blis_candidates(&f, cands);
    if (n_cands < 2) cr_skip_test("this CPU has %d candidate kernels", n_cands);
}

static inline int cand_index(const char *arch) {
    for (int i = 0; i < n_cands; i++)
        if (!strcmp(cands[i], arch)) return i;
    return -1;
}

#endif
