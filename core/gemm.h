/* gemm.h — matrix products through BLIS, threads, and the choice of BLIS's
 * kernels.
 *
 * Every matrix product of modgrad goes through mg_sgemm, a thin wrapper of
 * bli_sgemm with explicit row and column strides, so a transposed operand is
 * passed by swapping its strides and never copied. BLIS owns GEMM threading.
 *
 * Kernel choice: Debian's BLIS 0.9 picks its kernels from the CPU models it
 * knows and falls back to slower ones on newer CPUs (its `generic` kernels,
 * or `haswell` on an AVX-512 CPU it does not recognise). BLIS reads its
 * choice (BLIS_ARCH_TYPE) once, at its first call, so the choice is made
 * before it: by a caller through mg_blis_select (the CLI measures the
 * candidates, core/blis_tune.h; a resumed run pins the kernels it recorded,
 * mg_blis_pin), else by mg_gemm_init's fixed rule: unless the user set
 * BLIS_ARCH_TYPE, the sub-configuration mg_blis_choose names for the CPU's
 * features. The choice, how it was made and its reason are reported by
 * mg_blis_arch / mg_blis_source / mg_blis_reason and recorded in each run's
 * config. */
#ifndef MG_GEMM_H
#define MG_GEMM_H

#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"

typedef struct {
    bool intel, amd;
    bool avx2, fma;
    bool avx512f, avx512dq, avx512bw, avx512vl;
    bool ssse3, avx, fma4, avx512pf, avx512er; /* what the older sub-configurations need */
    char vendor[13];                           /* "AuthenticAMD" */
    int family, model, stepping;               /* display family and model (with extended bits) */
} mg_cpu_features;

/* The running CPU's features and identity (CPUID). */
mg_cpu_features mg_cpu_detect(void);

/* The BLIS sub-configuration to force for these features ("skx" or
 * "haswell"), or NULL to leave BLIS's own choice (CPUs without AVX2+FMA, and
 * AMD CPUs without AVX-512, whose Zen configurations BLIS 0.9 knows). */
const char *mg_blis_choose(const mg_cpu_features *f);

/* Selects BLIS's kernels (see above) and sets the thread count (<= 0: every
 * core this process may use, mg_cpu_cores). Call before any other BLIS use; later calls only
 * change the thread count. */
mg_status mg_gemm_init(int threads);

void mg_gemm_set_threads(int threads); /* <= 0: every core this process may use */

/* The cores this process may run on (its CPU affinity: a SLURM task's
 * --cpus-per-task, taskset), else the online cores; at least 1. */
int mg_cpu_cores(void);
int mg_gemm_threads(void);

/* Threads for an elementwise kernel over n elements: the GEMM thread count
 * when n is large enough to pay for waking them (>= 32768), else 1. Each
 * thread takes a fixed block of the elements (OpenMP static schedule), so a
 * result depends on the thread count but never on timing. */
int mg_kernel_threads(int64_t n);

/* The configuration BLIS runs ("skx"), and how it was chosen. */
const char *mg_blis_arch(void);
const char *mg_blis_reason(void);

/* How the kernels were chosen. */
typedef enum {
    MG_BLIS_FIXED,    /* mg_blis_choose's rule from CPUID flags (or BLIS's own choice) */
    MG_BLIS_USER,     /* BLIS_ARCH_TYPE set by the user */
    MG_BLIS_CACHE,    /* the fastest candidate of a cached measurement */
    MG_BLIS_MEASURED, /* the fastest candidate, measured by this process */
    MG_BLIS_RECORDED  /* the kernels a resumed or re-analysed run recorded */
} mg_blis_source;

/* "fixed rule", "user", "cache", "measured", "recorded". */
const char *mg_blis_source_name(mg_blis_source s);
mg_blis_source mg_blis_source_of(void);

/* The sub-configurations this BLIS was built with (its BLIS_CONFIG_* list),
 * in BLIS's order; returns how many (at most max names are stored). */
int mg_blis_configs(const char **names, int max);
/* Whether this BLIS has the sub-configuration and the CPU can run its
 * kernels (the instruction sets they use). */
bool mg_blis_runs_on(const char *arch, const mg_cpu_features *f);
/* The number BLIS_ARCH_TYPE takes for arch in this BLIS (BLIS 0.9 reads
 * numbers only), or -1 when this BLIS lacks it. */
int mg_blis_arch_id(const char *arch);
/* BLIS's version ("0.9.0"); does not start BLIS. */
const char *mg_blis_version(void);
/* True once BLIS has been started (its choice is then fixed). */
bool mg_gemm_started(void);

/* True if BLIS_ARCH_TYPE was set by the user: set, and not by a modgrad
 * process's mg_blis_select (which marks its own value in MODGRAD_BLIS_ARCH,
 * so that the processes a sweep spawns make their own choice). */
bool mg_blis_user_set(void);

/* Chooses the kernels BLIS will run: arch (a name this BLIS has, see
 * mg_blis_runs_on), or NULL to leave BLIS_ARCH_TYPE as it is (the user's
 * value, or BLIS's own choice). src and why are what mg_blis_source_of and
 * mg_blis_reason report. Before BLIS starts only
 * (MG_ERR_STATE after, unless arch is what it runs). */
mg_status mg_blis_select(const char *arch, mg_blis_source src, const char *why);

/* For a run being resumed or re-analysed that recorded it ran on arch: runs
 * on the same kernels, so that its arithmetic is the same. A user's
 * BLIS_ARCH_TYPE still wins (the reason then says that it differs from the
 * recorded kernels). MG_ERR_ARG when this BLIS or this CPU cannot run arch
 * (the message names the way out: set BLIS_ARCH_TYPE); MG_ERR_STATE when
 * BLIS already started on other kernels. arch NULL or "": nothing to pin. */
mg_status mg_blis_pin(const char *arch);

/* c(m, n) = alpha * a(m, k) @ b(k, n) + beta * c, all strides in elements. */
void mg_sgemm(int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t rsa,
              int64_t csa, const float *b, int64_t rsb, int64_t csb, float beta, float *c,
              int64_t rsc, int64_t csc);

/* BLIS's single-precision micro-tile: mr x nr, and whether its kernel
 * prefers C stored by rows (prefers_rows) or by columns. BLIS computes a
 * product whose C is stored the other way as its transpose, so m runs along
 * mr when C's storage matches the preference, along nr otherwise. */
void mg_sgemm_tile(int64_t *mr, int64_t *nr, bool *prefers_rows);

#endif
