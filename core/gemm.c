/* gemm.c — the one file that includes blis.h (see gemm.h). */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "core/gemm.h"

#include <dlfcn.h>
#include <stdint.h>
#include <blis.h>
#include <cpuid.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool initialised;
static int n_threads = 1;
static char reason[256] = "BLIS not initialised yet";

mg_cpu_features mg_cpu_detect(void) {
    mg_cpu_features f = {0};
    unsigned a, b, c, d;
    if (!__get_cpuid(0, &a, &b, &c, &d)) return f;
    unsigned max_leaf = a;
    char vendor[13];
    memcpy(vendor, &b, 4);
    memcpy(vendor + 4, &d, 4);
    memcpy(vendor + 8, &c, 4);
    vendor[12] = '\0';
    f.intel = strcmp(vendor, "GenuineIntel") == 0;
    f.amd = strcmp(vendor, "AuthenticAMD") == 0;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
    bool osxsave = c & (1u << 27), avx = c & (1u << 28);
    f.fma = c & (1u << 12);
    /* The OS must save the vector registers (XCR0) for AVX / AVX-512. */
    unsigned xcr0 = 0;
    if (osxsave) {
        unsigned lo, hi;
        __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        xcr0 = lo;
    }
    bool ymm = (xcr0 & 0x6) == 0x6, zmm = (xcr0 & 0xe6) == 0xe6;
    if (max_leaf >= 7) {
        __cpuid_count(7, 0, a, b, c, d);
        f.avx2 = avx && ymm && (b & (1u << 5));
        f.avx512f = zmm && (b & (1u << 16));
        f.avx512dq = zmm && (b & (1u << 17));
        f.avx512bw = zmm && (b & (1u << 30));
        f.avx512vl = zmm && (b & (1u << 31));
    }
    f.fma = f.fma && avx && ymm;
    return f;
}

const char *mg_blis_choose(const mg_cpu_features *f) {
    if (f->avx512f && f->avx512dq && f->avx512bw && f->avx512vl) return "skx";
    if (f->avx2 && f->fma && !f->amd) return "haswell";
    return NULL;
}

int mg_cpu_cores(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0) return n;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

void mg_gemm_set_threads(int threads) {
    n_threads = threads > 0 ? threads : mg_cpu_cores();
    bli_thread_set_num_threads(n_threads);
}

int mg_gemm_threads(void) { return n_threads; }

int mg_kernel_threads(int64_t n) { return n >= 32768 ? n_threads : 1; }

mg_status mg_gemm_init(int threads) {
    if (!initialised) {
        const char *user = getenv("BLIS_ARCH_TYPE");
        if (user && *user) {
            snprintf(reason, sizeof reason, "BLIS_ARCH_TYPE=%s set by the user", user);
        } else {
            mg_cpu_features f = mg_cpu_detect();
            const char *want = mg_blis_choose(&f);
            arch_t id = BLIS_NUM_ARCHS;
            if (want && strcmp(want, "skx") == 0) id = BLIS_ARCH_SKX;
            if (want && strcmp(want, "haswell") == 0) id = BLIS_ARCH_HASWELL;
            if (id != BLIS_NUM_ARCHS) {
                char num[16];
                snprintf(num, sizeof num, "%d", (int)id);
                setenv("BLIS_ARCH_TYPE", num, 1);
                snprintf(reason, sizeof reason, "selected %s: the CPU supports %s", want,
                         id == BLIS_ARCH_SKX ? "AVX-512 F/DQ/BW/VL" : "AVX2 and FMA");
            } else {
                snprintf(reason, sizeof reason, "BLIS's own choice for this CPU");
            }
        }
        initialised = true;
        /* LAPACK (the SVDs of the geometry and the Schatten penalty) may be
         * OpenBLAS's, which sizes its own thread pool from the machine's
         * cores, not from --threads: J sweep processes would then each run
         * every core's worth of threads. Its matrices are small; one thread
         * keeps them deterministic across machines. (Before BLIS is set:
         * were the symbol BLIS's, the next line sets BLIS's count again.) */
        void (*openblas_threads)(int) =
            (void (*)(int))(uintptr_t)dlsym(RTLD_DEFAULT, "openblas_set_num_threads");
        if (openblas_threads) openblas_threads(1);
        mg_gemm_set_threads(threads);
        const char *got = bli_arch_string(bli_arch_query_id());
        size_t used = strlen(reason);
        snprintf(reason + used, sizeof reason - used, " (BLIS runs %s)", got);
        return MG_OK;
    }
    mg_gemm_set_threads(threads);
    return MG_OK;
}

const char *mg_blis_arch(void) {
    if (!initialised) mg_gemm_init(n_threads);
    return bli_arch_string(bli_arch_query_id());
}

const char *mg_blis_reason(void) { return reason; }

void mg_sgemm(int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t rsa,
              int64_t csa, const float *b, int64_t rsb, int64_t csb, float beta, float *c,
              int64_t rsc, int64_t csc) {
    if (!initialised) mg_gemm_init(0);
    if (m == 0 || n == 0) return;
    bli_sgemm(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, (dim_t)m, (dim_t)n, (dim_t)k, &alpha,
              (float *)a, (inc_t)rsa, (inc_t)csa, (float *)b, (inc_t)rsb, (inc_t)csb, &beta, c,
              (inc_t)rsc, (inc_t)csc);
}
