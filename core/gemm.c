/* gemm.c — the one file that includes blis.h (see gemm.h). */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "core/gemm.h"

#include <blis.h>
#include <cpuid.h>
#include <dlfcn.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool initialised;
static int n_threads = 1;
static char reason[512] = "BLIS not initialised yet";
static bool selected; /* mg_blis_select was called */
static mg_blis_source source = MG_BLIS_FIXED;

#define MARK_ENV "MODGRAD_BLIS_ARCH"

mg_cpu_features mg_cpu_detect(void) {
    mg_cpu_features f = {0};
    unsigned a, b, c, d;
    if (!__get_cpuid(0, &a, &b, &c, &d)) return f;
    unsigned max_leaf = a;
    memcpy(f.vendor, &b, 4);
    memcpy(f.vendor + 4, &d, 4);
    memcpy(f.vendor + 8, &c, 4);
    f.vendor[12] = '\0';
    f.intel = strcmp(f.vendor, "GenuineIntel") == 0;
    f.amd = strcmp(f.vendor, "AuthenticAMD") == 0;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
    /* display family and model: the extended fields count for family 15
     * (and, for the model, family 6) */
    int base_family = (int)((a >> 8) & 0xf), base_model = (int)((a >> 4) & 0xf);
    f.family = base_family == 0xf ? base_family + (int)((a >> 20) & 0xff) : base_family;
    f.model =
        base_family == 0xf || base_family == 6 ? base_model | (int)((a >> 12) & 0xf0) : base_model;
    f.stepping = (int)(a & 0xf);
    f.ssse3 = c & (1u << 9);
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
    f.avx = avx && ymm;
    if (max_leaf >= 7) {
        __cpuid_count(7, 0, a, b, c, d);
        f.avx2 = avx && ymm && (b & (1u << 5));
        f.avx512f = zmm && (b & (1u << 16));
        f.avx512dq = zmm && (b & (1u << 17));
        f.avx512pf = zmm && (b & (1u << 26));
        f.avx512er = zmm && (b & (1u << 27));
        f.avx512bw = zmm && (b & (1u << 30));
        f.avx512vl = zmm && (b & (1u << 31));
    }
    f.fma = f.fma && avx && ymm;
    if (__get_cpuid(0x80000000u, &a, &b, &c, &d) && a >= 0x80000001u &&
        __get_cpuid(0x80000001u, &a, &b, &c, &d))
        f.fma4 = f.avx && (c & (1u << 16));
    return f;
}

const char *mg_blis_choose(const mg_cpu_features *f) {
    if (f->avx512f && f->avx512dq && f->avx512bw && f->avx512vl) return "skx";
    if (f->avx2 && f->fma && !f->amd) return "haswell";
    return NULL;
}

/* ---- the sub-configurations: which this BLIS has, what each needs -------- */

static bool needs_skx(const mg_cpu_features *f) {
    return f->avx512f && f->avx512dq && f->avx512bw && f->avx512vl && f->fma;
}
static bool needs_knl(const mg_cpu_features *f) {
    return f->avx512f && f->avx512pf && f->avx512er && f->fma;
}
static bool needs_avx2(const mg_cpu_features *f) { return f->avx2 && f->fma; }
static bool needs_avx(const mg_cpu_features *f) { return f->avx; }
static bool needs_fma4(const mg_cpu_features *f) { return f->avx && f->fma4; }
static bool needs_ssse3(const mg_cpu_features *f) { return f->ssse3; }
static bool needs_nothing(const mg_cpu_features *f) { return f != NULL; }

typedef struct {
    arch_t id;
    bool (*runs)(const mg_cpu_features *f);
} blis_config;

/* This BLIS's sub-configurations (blis.h's BLIS_CONFIG_* list says which it
 * was built with; naming one it lacks in BLIS_ARCH_TYPE aborts BLIS). */
static const blis_config configs[] = {
#ifdef BLIS_CONFIG_ZEN4
    {BLIS_ARCH_ZEN4, needs_skx},
#endif
#ifdef BLIS_CONFIG_SKX
    {BLIS_ARCH_SKX, needs_skx},
#endif
#ifdef BLIS_CONFIG_KNL
    {BLIS_ARCH_KNL, needs_knl},
#endif
#ifdef BLIS_CONFIG_HASWELL
    {BLIS_ARCH_HASWELL, needs_avx2},
#endif
#ifdef BLIS_CONFIG_SANDYBRIDGE
    {BLIS_ARCH_SANDYBRIDGE, needs_avx},
#endif
#ifdef BLIS_CONFIG_PENRYN
    {BLIS_ARCH_PENRYN, needs_ssse3},
#endif
#ifdef BLIS_CONFIG_ZEN3
    {BLIS_ARCH_ZEN3, needs_avx2},
#endif
#ifdef BLIS_CONFIG_ZEN2
    {BLIS_ARCH_ZEN2, needs_avx2},
#endif
#ifdef BLIS_CONFIG_ZEN
    {BLIS_ARCH_ZEN, needs_avx2},
#endif
#ifdef BLIS_CONFIG_EXCAVATOR
    {BLIS_ARCH_EXCAVATOR, needs_fma4},
#endif
#ifdef BLIS_CONFIG_STEAMROLLER
    {BLIS_ARCH_STEAMROLLER, needs_fma4},
#endif
#ifdef BLIS_CONFIG_PILEDRIVER
    {BLIS_ARCH_PILEDRIVER, needs_fma4},
#endif
#ifdef BLIS_CONFIG_BULLDOZER
    {BLIS_ARCH_BULLDOZER, needs_fma4},
#endif
#ifdef BLIS_CONFIG_GENERIC
    {BLIS_ARCH_GENERIC, needs_nothing},
#endif
};
#define N_CONFIGS (int)(sizeof configs / sizeof configs[0])

static const blis_config *config_named(const char *name) {
    for (int i = 0; name && i < N_CONFIGS; i++)
        if (!strcmp(bli_arch_string(configs[i].id), name)) return &configs[i];
    return NULL;
}

int mg_blis_configs(const char **names, int max) {
    for (int i = 0; i < N_CONFIGS && i < max; i++) names[i] = bli_arch_string(configs[i].id);
    return N_CONFIGS;
}

bool mg_blis_runs_on(const char *arch, const mg_cpu_features *f) {
    const blis_config *c = config_named(arch);
    return c && c->runs(f);
}

int mg_blis_arch_id(const char *arch) {
    const blis_config *c = config_named(arch);
    return c ? (int)c->id : -1;
}

const char *mg_blis_version(void) { return bli_info_get_version_str(); }

bool mg_gemm_started(void) { return initialised; }

const char *mg_blis_source_name(mg_blis_source s) {
    switch (s) {
    case MG_BLIS_FIXED: return "fixed rule";
    case MG_BLIS_USER: return "user";
    case MG_BLIS_CACHE: return "cache";
    case MG_BLIS_MEASURED: return "measured";
    case MG_BLIS_RECORDED: return "recorded";
    }
    return "?";
}

mg_blis_source mg_blis_source_of(void) { return source; }

bool mg_blis_user_set(void) {
    const char *v = getenv("BLIS_ARCH_TYPE"), *mark = getenv(MARK_ENV);
    return v && *v && !(mark && !strcmp(mark, v));
}

/* The user's BLIS_ARCH_TYPE as a name (it may be BLIS's number). */
static const char *user_arch(void) {
    const char *v = getenv("BLIS_ARCH_TYPE");
    char *end;
    long id = v ? strtol(v, &end, 10) : -1;
    if (v && end != v && !*end && id >= 0 && id < BLIS_NUM_ARCHS)
        return bli_arch_string((arch_t)id);
    return v ? v : "";
}

mg_status mg_blis_select(const char *arch, mg_blis_source src, const char *why) {
    if (arch && !config_named(arch))
        return mg_fail(MG_ERR_ARG, "BLIS %s has no sub-configuration '%s'", mg_blis_version(),
                       arch);
    if (initialised) {
        if (arch && strcmp(arch, bli_arch_string(bli_arch_query_id())) != 0)
            return mg_fail(MG_ERR_STATE,
                           "BLIS already runs its %s kernels; %s must be chosen "
                           "before the first matrix product",
                           bli_arch_string(bli_arch_query_id()), arch);
        return MG_OK;
    }
    if (arch) {
        /* BLIS 0.9 reads a number (atoi: a name would read as 0, skx) */
        char num[16];
        snprintf(num, sizeof num, "%d", (int)config_named(arch)->id);
        setenv("BLIS_ARCH_TYPE", num, 1);
        setenv(MARK_ENV, num, 1);
    }
    selected = true;
    source = src;
    snprintf(reason, sizeof reason, "%s", why ? why : mg_blis_source_name(src));
    return MG_OK;
}

mg_status mg_blis_pin(const char *arch) {
    if (!arch || !*arch) return MG_OK;
    if (mg_blis_user_set()) {
        bool differs = strcmp(user_arch(), arch) != 0;
        char why[300];
        snprintf(why, sizeof why, "BLIS_ARCH_TYPE=%s set by the user%s%s%s",
                 getenv("BLIS_ARCH_TYPE"), differs ? "; the run recorded " : "",
                 differs ? arch : "", differs ? ": its arithmetic will differ" : "");
        return initialised ? MG_OK : mg_blis_select(NULL, MG_BLIS_USER, why);
    }
    mg_cpu_features f = mg_cpu_detect();
    if (!mg_blis_runs_on(arch, &f)) {
        const char *names[32];
        int n = mg_blis_configs(names, 32);
        char have[512] = "";
        for (int i = 0; i < n && i < 32; i++)
            if (mg_blis_runs_on(names[i], &f)) {
                strncat(have, " ", sizeof have - strlen(have) - 1);
                strncat(have, names[i], sizeof have - strlen(have) - 1);
            }
        return mg_fail(MG_ERR_ARG,
                       "the run recorded BLIS's %s kernels, which %s; to go on with other kernels "
                       "(its arithmetic will differ), set BLIS_ARCH_TYPE to one this machine "
                       "runs:%s",
                       arch, config_named(arch) ? "this CPU cannot run" : "this BLIS does not have",
                       have);
    }
    char why[128];
    snprintf(why, sizeof why, "%s, recorded by the run", arch);
    return mg_blis_select(arch, MG_BLIS_RECORDED, why);
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

/* The fixed rule: the user's BLIS_ARCH_TYPE, else mg_blis_choose's. */
static void choose_fixed(void) {
    if (mg_blis_user_set()) {
        char why[128];
        snprintf(why, sizeof why, "BLIS_ARCH_TYPE=%s set by the user", getenv("BLIS_ARCH_TYPE"));
        (void)mg_blis_select(NULL, MG_BLIS_USER, why);
        return;
    }
    mg_cpu_features f = mg_cpu_detect();
    const char *want = mg_blis_choose(&f);
    if (want && !config_named(want)) want = NULL;
    char why[128];
    if (want)
        snprintf(why, sizeof why, "selected %s: the CPU supports %s", want,
                 !strcmp(want, "skx") ? "AVX-512 F/DQ/BW/VL" : "AVX2 and FMA");
    else snprintf(why, sizeof why, "BLIS's own choice for this CPU");
    (void)mg_blis_select(want, MG_BLIS_FIXED, why);
}

mg_status mg_gemm_init(int threads) {
    if (!initialised) {
        if (!selected) choose_fixed();
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

void mg_sgemm_tile(int64_t *mr, int64_t *nr, bool *prefers_rows) {
    if (!initialised) mg_gemm_init(0);
    cntx_t *cx = bli_gks_query_cntx();
    *mr = (int64_t)bli_cntx_get_blksz_def_dt(BLIS_FLOAT, BLIS_MR, cx);
    *nr = (int64_t)bli_cntx_get_blksz_def_dt(BLIS_FLOAT, BLIS_NR, cx);
    *prefers_rows = bli_cntx_l3_nat_ukr_prefers_rows_dt(BLIS_FLOAT, BLIS_GEMM_UKR, cx);
}
