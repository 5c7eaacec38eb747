/* gemm.h — matrix products through BLIS, threads, and the choice of BLIS's
 * kernels.
 *
 * Every matrix product of modgrad goes through mg_sgemm, a thin wrapper of
 * bli_sgemm with explicit row and column strides, so a transposed operand is
 * passed by swapping its strides and never copied. BLIS owns GEMM threading.
 *
 * Kernel choice: Debian's BLIS 0.9 picks its kernels from the CPU models it
 * knows and falls back to slower ones on newer CPUs (its `generic` kernels,
 * or `haswell` on an AVX-512 CPU it does not recognise). Before the first
 * BLIS call, mg_gemm_init reads the CPU's features with CPUID and, unless the
 * user set BLIS_ARCH_TYPE, selects the fastest sub-configuration the CPU
 * supports (mg_blis_choose). The choice and its reason are reported by
 * mg_blis_arch / mg_blis_reason and recorded in each run's config. */
#ifndef MG_GEMM_H
#define MG_GEMM_H

#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"

typedef struct {
    bool intel, amd;
    bool avx2, fma;
    bool avx512f, avx512dq, avx512bw, avx512vl;
} mg_cpu_features;

/* The running CPU's features (CPUID). */
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

/* c(m, n) = alpha * a(m, k) @ b(k, n) + beta * c, all strides in elements. */
void mg_sgemm(int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t rsa,
              int64_t csa, const float *b, int64_t rsb, int64_t csb, float beta, float *c,
              int64_t rsc, int64_t csc);

#endif
