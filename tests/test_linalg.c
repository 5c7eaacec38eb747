/* test_linalg.c — singular-value metrics, Schatten norms and principal
 * angles, on matrices whose singular values and subspaces are known in closed
 * form: diagonal matrices, the identity, an exact circle embedding, planes
 * rotated by a known angle, and the error paths. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "analysis/linalg.h"
#include "core/alloc.h"

Test(spectrum, diagonal_three_four_has_known_norms_and_ranks) {
    /* 5 x 4, diag(3, 4, 0, 0): sigma = 4, 3, 0, 0. */
    float w[5 * 4] = {0};
    w[0 * 4 + 0] = 3.0f;
    w[1 * 4 + 1] = 4.0f;
    mg_linalg_spectrum s;
    cr_assert_eq(mg_linalg_spectrum_compute(w, 5, 4, 4, 1, &s), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(s.n_sv, 4);
    cr_assert_float_eq(s.sv[0], 4.0, 1e-12);
    cr_assert_float_eq(s.sv[1], 3.0, 1e-12);
    cr_assert_float_eq(s.sv[2], 0.0, 1e-12);
    cr_assert_float_eq(s.sv[3], 0.0, 1e-12);
    cr_assert_float_eq(s.schatten1, 7.0, 1e-12);
    cr_assert_float_eq(s.schatten2, 5.0, 1e-12);
    cr_assert_float_eq(s.schatten_inf, 4.0, 1e-12);
    cr_assert_float_eq(s.stable_rank, 25.0 / 16.0, 1e-12);
    cr_assert_float_eq(s.rank2_energy, 1.0, 1e-12);
    /* H(4/7, 3/7) = -(4/7 ln 4/7 + 3/7 ln 3/7) = 0.682908; exp = 1.979626. */
    double h = -(4.0 / 7 * log(4.0 / 7) + 3.0 / 7 * log(3.0 / 7));
    cr_assert_float_eq(s.eff_rank, exp(h), 1e-12);
    cr_assert_float_eq(s.eff_rank, 1.979626, 1e-6);
    mg_linalg_spectrum_free(&s);
}

Test(spectrum, identity_has_full_effective_and_stable_rank) {
    enum { N = 6 };
    float w[N * N] = {0};
    for (int i = 0; i < N; i++) w[i * N + i] = 1.0f;
    mg_linalg_spectrum s;
    cr_assert_eq(mg_linalg_spectrum_compute(w, N, N, N, 1, &s), MG_OK, "%s", mg_errmsg());
    for (int i = 0; i < N; i++) cr_assert_float_eq(s.sv[i], 1.0, 1e-12);
    cr_assert_float_eq(s.eff_rank, N, 1e-12);
    cr_assert_float_eq(s.stable_rank, N, 1e-12);
    cr_assert_float_eq(s.rank2_energy, 2.0 / N, 1e-12);
    cr_assert_float_eq(s.schatten1, N, 1e-12);
    cr_assert_float_eq(s.schatten2, sqrt(N), 1e-12);
    cr_assert_float_eq(s.schatten_inf, 1.0, 1e-12);
    mg_linalg_spectrum_free(&s);
}

Test(spectrum, exact_circle_embedding_is_rank_two_with_equal_singular_values) {
    /* w_x = r (cos(2 pi 5x/p) u + sin(2 pi 5x/p) v), u, v orthonormal in R^8
     * mixing four coordinates: W = r [c s] [u v]^T with |c|^2 = |s|^2 = p/2,
     * c . s = 0, so sigma_1 = sigma_2 = r sqrt(p/2) and the rest are 0. */
    const int p = 31, d = 8;
    const double r = 1.5, al = 0.6, be = -1.1;
    float w[31 * 8] = {0};
    for (int x = 0; x < p; x++) {
        double t = 2.0 * M_PI * ((5 * x) % p) / p;
        w[x * d + 2] = (float)(r * cos(t) * cos(al));
        w[x * d + 4] = (float)(r * cos(t) * sin(al));
        w[x * d + 3] = (float)(r * sin(t) * cos(be));
        w[x * d + 5] = (float)(r * sin(t) * sin(be));
    }
    mg_linalg_spectrum s;
    cr_assert_eq(mg_linalg_spectrum_compute(w, p, d, d, 1, &s), MG_OK, "%s", mg_errmsg());
    double sig = r * sqrt(p / 2.0);
    cr_assert_float_eq(s.sv[0], sig, 1e-5 * sig);
    cr_assert_float_eq(s.sv[1], sig, 1e-5 * sig);
    cr_assert(s.sv[2] < 1e-5 * sig, "sigma_3 %.3g", s.sv[2]);
    cr_assert_float_eq(s.eff_rank, 2.0, 1e-5);
    cr_assert_float_eq(s.stable_rank, 2.0, 1e-5);
    cr_assert_float_eq(s.rank2_energy, 1.0, 1e-9);
    mg_linalg_spectrum_free(&s);
}

Test(spectrum, transposed_storage_read_by_strides_gives_the_same_values) {
    /* a (3 x 4) and the same matrix stored (4 x 3), read with rs = 1, cs = 3. */
    const float a[12] = {1, 2, 0, -1, 0.5f, 3, 2, 1, -2, 0, 1, 4};
    float at[12];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 4; j++) at[j * 3 + i] = a[i * 4 + j];
    mg_linalg_spectrum s, t;
    cr_assert_eq(mg_linalg_spectrum_compute(a, 3, 4, 4, 1, &s), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(mg_linalg_spectrum_compute(at, 3, 4, 1, 3, &t), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(t.n_sv, 3);
    double fro2 = 0;
    for (int i = 0; i < 12; i++) fro2 += (double)a[i] * a[i];
    cr_assert_float_eq(s.schatten2 * s.schatten2, fro2, 1e-12 * fro2); /* Frobenius */
    for (int i = 0; i < 3; i++) cr_assert_float_eq(t.sv[i], s.sv[i], 1e-12);
    mg_linalg_spectrum_free(&s);
    mg_linalg_spectrum_free(&t);
}

Test(spectrum, zero_matrix_has_zero_metrics) {
    float w[6] = {0};
    mg_linalg_spectrum s;
    cr_assert_eq(mg_linalg_spectrum_compute(w, 2, 3, 3, 1, &s), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(s.schatten1, 0.0);
    cr_assert_eq(s.eff_rank, 0.0);
    cr_assert_eq(s.stable_rank, 0.0);
    cr_assert_eq(s.rank2_energy, 0.0);
    mg_linalg_spectrum_free(&s);
}

Test(spectrum, bad_shape_and_non_finite_input_are_errors) {
    float w[4] = {1, 2, 3, NAN};
    mg_linalg_spectrum s;
    cr_assert_eq(mg_linalg_spectrum_compute(w, 0, 2, 2, 1, &s), MG_ERR_ARG);
    cr_assert(strstr(mg_errmsg(), "0 x 2"), "message: %s", mg_errmsg());
    cr_assert_null(s.sv);
    mg_linalg_spectrum_free(&s);
    cr_assert_eq(mg_linalg_spectrum_compute(w, 2, 2, 2, 1, &s), MG_ERR_NUMERIC);
    cr_assert(strstr(mg_errmsg(), "w[1, 1]"), "message: %s", mg_errmsg());
    cr_assert_eq(mg_linalg_spectrum_compute(NULL, 2, 2, 2, 1, &s), MG_ERR_ARG);
}

Test(schatten, known_values_for_three_and_four) {
    const double sv[2] = {4.0, 3.0};
    cr_assert_float_eq(mg_linalg_schatten(sv, 2, 1.0), 7.0, 1e-12);
    cr_assert_float_eq(mg_linalg_schatten(sv, 2, 2.0), 5.0, 1e-12);
    cr_assert_float_eq(mg_linalg_schatten(sv, 2, INFINITY), 4.0, 0.0);
    /* q = 1/2 (the Schatten-2/L quasi-norm for L = 4): (2 + sqrt 3)^2. */
    cr_assert_float_eq(mg_linalg_schatten(sv, 2, 0.5), 7.0 + 4.0 * sqrt(3.0), 1e-12);
    cr_assert_eq(mg_linalg_schatten(sv, 0, 2.0), 0.0);
    cr_assert(isnan(mg_linalg_schatten(sv, 2, 0.0)));
    cr_assert(isnan(mg_linalg_schatten(sv, 2, -1.0)));
}

Test(schatten, large_values_do_not_overflow) {
    const double sv[2] = {1e200, 1e200};
    double s = mg_linalg_schatten(sv, 2, 2.0);
    cr_assert_float_eq(s, sqrt(2.0) * 1e200, 1e-12 * 1e200);
}

/* Principal cosines of the spans of a (ma x 3) and b (mb x 3) rows. */
static mg_status cosines(const float *a, int ma, int ka, const float *b, int mb, int kb,
                         double *c) {
    return mg_linalg_principal_cosines(a, ma, 3, 1, ka, b, mb, 3, 1, kb, 3, c);
}

Test(principal, identical_subspaces_have_cosines_one) {
    /* Different bases of span{e1, e2}, with distinct singular values. */
    const float a[9] = {2, 0, 0, 0, 1, 0, 1, 1, 0};
    const float b[6] = {1, 3, 0, -2, 0.5f, 0};
    double c[2];
    cr_assert_eq(cosines(a, 3, 2, b, 2, 2, c), MG_OK, "%s", mg_errmsg());
    cr_assert_float_eq(c[0], 1.0, 1e-12);
    cr_assert_float_eq(c[1], 1.0, 1e-12);
}

Test(principal, orthogonal_subspaces_have_cosines_zero) {
    /* span{e1, e2} vs span{e3, e4} in R^4. */
    const float a[8] = {1, 0, 0, 0, 0, 2, 0, 0};
    const float b[8] = {0, 0, 3, 1, 0, 0, -1, 1};
    double c[2];
    cr_assert_eq(mg_linalg_principal_cosines(a, 2, 4, 1, 2, b, 2, 4, 1, 2, 4, c), MG_OK, "%s",
                 mg_errmsg());
    cr_assert_float_eq(c[0], 0.0, 1e-12);
    cr_assert_float_eq(c[1], 0.0, 1e-12);
}

Test(principal, plane_rotated_about_an_axis_has_cosines_one_and_cos_theta) {
    /* span{e1, e2} vs span{e1, cos t e2 + sin t e3}: the shared axis e1 gives
     * cosine 1, the tilted direction cos t. */
    const double t = 0.7;
    const float ct = (float)cos(t), st = (float)sin(t);
    const float a[9] = {2, 0, 0, 0, 1, 0, 1, 1, 0};
    const float b[9] = {1, 0, 0, 0, ct, st, 3, 2 * ct, 2 * st};
    double c[2];
    cr_assert_eq(cosines(a, 3, 2, b, 3, 2, c), MG_OK, "%s", mg_errmsg());
    cr_assert_float_eq(c[0], 1.0, 1e-7);
    cr_assert_float_eq(c[1], cos(t), 1e-7, "cos %.9f vs %.9f", c[1], cos(t));
    /* b's strided transpose (3 x 3 stored by columns) gives the same. */
    float bt[9];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) bt[j * 3 + i] = b[i * 3 + j];
    double c2[2];
    cr_assert_eq(mg_linalg_principal_cosines(a, 3, 3, 1, 2, bt, 3, 1, 3, 2, 3, c2), MG_OK, "%s",
                 mg_errmsg());
    cr_assert_float_eq(c2[0], c[0], 1e-12);
    cr_assert_float_eq(c2[1], c[1], 1e-12);
}

Test(principal, line_against_plane_gives_one_cosine) {
    /* The top direction of a is (cos t, sin t, 0) (its larger singular
     * value); against span{e1, e3} its cosine is cos t. */
    const double t = 0.4;
    const float a[6] = {(float)(5 * cos(t)), (float)(5 * sin(t)), 0, 0, 0, 1};
    const float b[6] = {1, 0, 0, 0, 0, 1};
    double c[1];
    cr_assert_eq(cosines(a, 2, 1, b, 2, 2, c), MG_OK, "%s", mg_errmsg());
    cr_assert_float_eq(c[0], cos(t), 1e-7);
}

Test(principal, k_beyond_rows_columns_or_rank_is_an_argument_error) {
    const float a[6] = {1, 0, 0, 0, 1, 0};
    const float rank1[9] = {1, 2, 3, 2, 4, 6, -1, -2, -3};
    double c[3];
    cr_assert_eq(cosines(a, 2, 3, a, 2, 2, c), MG_ERR_ARG); /* ka > rows */
    cr_assert(strstr(mg_errmsg(), "ka = 3"), "message: %s", mg_errmsg());
    cr_assert_eq(cosines(a, 2, 2, a, 2, 3, c), MG_ERR_ARG); /* kb > rows */
    cr_assert(strstr(mg_errmsg(), "kb = 3"), "message: %s", mg_errmsg());
    cr_assert_eq(cosines(a, 2, 0, a, 2, 1, c), MG_ERR_ARG);
    cr_assert(strstr(mg_errmsg(), "ka = 0"), "message: %s", mg_errmsg());
    cr_assert_eq(cosines(rank1, 3, 2, a, 2, 2, c), MG_ERR_ARG); /* ka > rank 1 */
    cr_assert(strstr(mg_errmsg(), "ka = 2") && strstr(mg_errmsg(), "rank"), "message: %s",
              mg_errmsg());
    cr_assert_eq(cosines(a, 2, 2, rank1, 3, 2, c), MG_ERR_ARG); /* kb > rank 1 */
    cr_assert(strstr(mg_errmsg(), "kb = 2") && strstr(mg_errmsg(), "rank"), "message: %s",
              mg_errmsg());
    cr_assert_eq(cosines(rank1, 3, 1, a, 2, 2, c), MG_OK, "%s", mg_errmsg());
    /* rank1's direction (1, 2, 3)/sqrt 14 against span{e1, e2}: sqrt(5/14). */
    cr_assert_float_eq(c[0], sqrt(5.0 / 14.0), 1e-7);
    float wide[8] = {1, 0, 0, 1, 0, 1, 1, 0};
    cr_assert_eq(mg_linalg_principal_cosines(wide, 4, 2, 1, 3, wide, 4, 2, 1, 1, 2, c), MG_ERR_ARG);
    cr_assert(strstr(mg_errmsg(), "ka = 3"), "message: %s", mg_errmsg()); /* ka > columns */
}
