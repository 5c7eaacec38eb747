/* test_gemm.c — the BLIS wrapper: strided products and the choice of
 * BLIS's kernels from CPU features. */
#include <criterion/criterion.h>
#include <string.h>

#include "core/gemm.h"

Test(gemm, chooses_skx_on_avx512_cpus) {
    mg_cpu_features f = {.intel = true,
                         .avx2 = true,
                         .fma = true,
                         .avx512f = true,
                         .avx512dq = true,
                         .avx512bw = true,
                         .avx512vl = true};
    cr_assert_str_eq(mg_blis_choose(&f), "skx");
    f.intel = false;
    f.amd = true; /* Zen 4/5: BLIS 0.9 does not know them; skx kernels fit */
    cr_assert_str_eq(mg_blis_choose(&f), "skx");
}

Test(gemm, chooses_haswell_on_intel_avx2_without_avx512) {
    mg_cpu_features f = {.intel = true, .avx2 = true, .fma = true};
    cr_assert_str_eq(mg_blis_choose(&f), "haswell");
    f.avx512f = true; /* AVX-512 F alone is not enough for skx */
    cr_assert_str_eq(mg_blis_choose(&f), "haswell");
}

Test(gemm, leaves_blis_choice_on_amd_avx2_and_old_cpus) {
    mg_cpu_features zen3 = {.amd = true, .avx2 = true, .fma = true};
    cr_assert_null(mg_blis_choose(&zen3));
    mg_cpu_features old = {.intel = true, .avx2 = false, .fma = false};
    cr_assert_null(mg_blis_choose(&old));
    mg_cpu_features nofma = {.intel = true, .avx2 = true};
    cr_assert_null(mg_blis_choose(&nofma));
}

Test(gemm, records_why_it_chose) {
    mg_gemm_init(1);
    cr_assert_neq(strlen(mg_blis_arch()), 0);
    cr_assert(strstr(mg_blis_reason(), "BLIS runs") != NULL, "%s", mg_blis_reason());
    cr_assert_eq(mg_gemm_threads(), 1);
}

/* c = a @ b^T with b given transposed by its strides, against plain loops */
Test(gemm, strided_operands_match_plain_loops) {
    enum { M = 37, K = 19, N = 23 };
    static float a[M * K], b[N * K], c[M * N];
    for (int i = 0; i < M * K; i++) a[i] = (float)((i * 7) % 11) - 5.0f;
    for (int i = 0; i < N * K; i++) b[i] = (float)((i * 5) % 13) - 6.0f;
    mg_gemm_init(1);
    mg_sgemm(M, N, K, 1.0f, a, K, 1, b, 1, K, 0.0f, c, N, 1);
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            float want = 0;
            for (int p = 0; p < K; p++) want += a[i * K + p] * b[j * K + p];
            cr_assert_float_eq(c[i * N + j], want, 1e-3, "c[%d][%d]", i, j);
        }
}
