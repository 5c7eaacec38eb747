/* test_collapse.c — neural-collapse metrics on synthetic geometries whose
 * answers are worked out by hand in the comments: a simplex ETF (everything
 * 0), known within-class noise (NC1), a hexagon (NC2 cosines), orthogonal
 * and unequal classifiers (NC3, NC2 of W), samples nearer another class
 * (NC4), the argument errors, and the blocked sample pass against a plain
 * one (bit for bit). */
#include <criterion/criterion.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/collapse.h"

/* The centred simplex in R^5: vertex c is e_c − (1/4)(1,1,1,1,0). Its squared
 * norm is (3/4)² + 3/16 = 3/4 and two vertices have inner product
 * −2·(3/4)(1/4) + 2/16 = −1/4, so every cosine is −1/3 = −1/(k−1). */
static void simplex_vertex(int c, double v[5]) {
    for (int j = 0; j < 4; j++) v[j] = (j == c ? 1.0 : 0.0) - 0.25;
    v[4] = 0;
}

/* An offset added to every feature: the metrics centre on μ_G, so it must
 * change nothing (it makes μ_G ≠ 0, which a forgotten centring would show). */
static const double OFFSET5[5] = {0.5, -1.0, 2.0, 0.25, 3.0};

Test(collapse, simplex_etf_at_the_means_is_fully_collapsed) {
    enum { K = 4, F = 5, PER = 3, N = K * PER };
    float h[N * F], wt[F * K];
    int32_t y[N];
    for (int c = 0; c < K; c++) {
        double v[5];
        simplex_vertex(c, v);
        for (int s = 0; s < PER; s++) {
            y[c * PER + s] = c;
            for (int j = 0; j < F; j++) h[(c * PER + s) * F + j] = (float)(v[j] + OFFSET5[j]);
        }
        /* The classifier's weight as an (F × K) matrix: w_c is column c, so
         * it is passed transposed (wrs = 1, wcs = K). */
        for (int j = 0; j < F; j++) wt[j * K + c] = (float)v[j];
    }
    mg_collapse r;
    cr_assert_eq(mg_collapse_compute(h, y, N, F, K, wt, 1, K, y, &r), MG_OK, "%s", mg_errmsg());
    cr_assert_float_eq(r.nc1, 0.0, 1e-9, "nc1 %g", r.nc1);
    cr_assert_float_eq(r.nc2_mean_cv, 0.0, 1e-9, "nc2_mean_cv %g", r.nc2_mean_cv);
    cr_assert_float_eq(r.nc2_w_cv, 0.0, 1e-9, "nc2_w_cv %g", r.nc2_w_cv);
    cr_assert_float_eq(r.nc2_etf, 0.0, 1e-9, "nc2_etf %g", r.nc2_etf);
    cr_assert_float_eq(r.nc3, 0.0, 1e-9, "nc3 %g", r.nc3);
    cr_assert_eq(r.nc4, 0.0, "nc4 %g", r.nc4);
}

/* Same simplex, 4 samples per class: μ_c ± a_c·u and μ_c ± b·e5, with
 * u = (1, −1, 0, 0, 0)/√2 inside the span of the means and e5 outside it.
 * The ± pairs keep every class mean at its vertex. n = 16.
 *   Σ_W = (1/16) Σ_c (2 a_c² u u^T + 2 b² e5 e5^T)
 *       = (Σ_c a_c² / 8) u u^T + (b²/2) e5 e5^T.
 *   Σ_B = (1/4) Σ_c v_c v_c^T = (1/4) P, P the projector onto the span
 *   (the vertices of the centred simplex form the tight frame P), so
 *   Σ_B^† = 4 P: it sees u (P u = u) and not e5 (P e5 = 0).
 *   tr(Σ_W Σ_B^†) = 4 · Σ_c a_c² / 8 = Σ_c a_c² / 2,
 *   NC1 = that / K = Σ_c a_c² / 8.
 * With a = (0.2, 0.4, 0.6, 0.8): Σ a² = 1.2, NC1 = 0.15 whatever b is. */
Test(collapse, nc1_of_known_within_class_noise_ignores_directions_outside_the_means) {
    enum { K = 4, F = 5, PER = 4, N = K * PER };
    const double a[K] = {0.2, 0.4, 0.6, 0.8}, b = 5.0;
    const double u[F] = {M_SQRT1_2, -M_SQRT1_2, 0, 0, 0}, e5[F] = {0, 0, 0, 0, 1};
    float h[N * F], w[K * F];
    int32_t y[N];
    for (int c = 0; c < K; c++) {
        double v[5];
        simplex_vertex(c, v);
        for (int s = 0; s < PER; s++) {
            const double *dir = s < 2 ? u : e5;
            double amp = (s < 2 ? a[c] : b) * (s % 2 ? -1 : 1);
            y[c * PER + s] = c;
            for (int j = 0; j < F; j++)
                h[(c * PER + s) * F + j] = (float)(v[j] + OFFSET5[j] + amp * dir[j]);
        }
        for (int j = 0; j < F; j++) w[c * F + j] = (float)v[j];
    }
    mg_collapse r;
    cr_assert_eq(mg_collapse_compute(h, y, N, F, K, w, F, 1, NULL, &r), MG_OK, "%s", mg_errmsg());
    /* float features: ~1e-7 relative rounding. */
    cr_assert_float_eq(r.nc1, 0.15, 1e-6, "nc1 %.9g, expected 0.15", r.nc1);
    cr_assert_float_eq(r.nc2_mean_cv, 0.0, 1e-6);
    cr_assert_float_eq(r.nc2_etf, 0.0, 1e-6);
    cr_assert(isnan(r.nc4), "no pred: nc4 is NaN, got %g", r.nc4);
}

/* Σ_B^† scales as 1/s²: k = 2, means (±2, 0) + offset, M = [[2,0],[−2,0]],
 * Σ_B = M^T M / 2 = diag(4, 0), Σ_B^† = diag(1/4, 0). Each class has
 * samples μ ± (1, 0) and μ ± (0, 3); n = 8, Σ_W = diag(1/2, 9/2).
 * tr(Σ_W Σ_B^†) = 1/8, NC1 = 1/16. Also NC2 cosine: −1 + 1/(k−1) = 0. */
Test(collapse, nc1_scales_with_the_between_class_spread) {
    enum { K = 2, F = 2, N = 8 };
    const float ox = 10, oy = -3;
    float h[N * F], w[K * F] = {1, 0, -1, 0};
    int32_t y[N];
    const float dx[4] = {1, -1, 0, 0}, dy[4] = {0, 0, 3, -3};
    for (int c = 0; c < K; c++)
        for (int s = 0; s < 4; s++) {
            int i = c * 4 + s;
            y[i] = c;
            h[i * F] = ox + (c ? -2.0f : 2.0f) + dx[s];
            h[i * F + 1] = oy + dy[s];
        }
    mg_collapse r;
    cr_assert_eq(mg_collapse_compute(h, y, N, F, K, w, F, 1, NULL, &r), MG_OK, "%s", mg_errmsg());
    cr_assert_float_eq(r.nc1, 1.0 / 16, 1e-9, "nc1 %.12g", r.nc1);
    cr_assert_float_eq(r.nc2_etf, 0.0, 1e-12);
}

/* A hexagon is not a simplex: k = 6 means on the unit circle in R^2 (plus an
 * offset), μ_c at angle 2πc/6. The cosine between c and c' is
 * cos(2π(c − c')/6): over the 5 other classes 1/2, −1/2, −1, −1/2, 1/2.
 * |cos + 1/5| = 0.7, 0.3, 0.8, 0.3, 0.7, sum 2.8: the mean over all c ≠ c'
 * (the same 5 values for every c) is 0.56.
 * NC1: samples μ_c ± 0.3·t_c with t_c the unit tangent; n = 12,
 * Σ_W = (1/12) Σ_c 2·0.09 t_c t_c^T = (0.09/6)·3 I = 0.045 I (six equally
 * spaced unit vectors have Σ t t^T = 3 I); Σ_B = (1/6)·3 I = I/2,
 * Σ_B^† = 2 I; tr = 2 · 0.045 · 2 = 0.18, NC1 = 0.18/6 = 0.03. */
Test(collapse, hexagon_etf_distance_and_nc1_match_hand_values) {
    enum { K = 6, F = 2, N = 2 * K };
    float h[N * F], w[K * F];
    int32_t y[N];
    for (int c = 0; c < K; c++) {
        double th = 2 * M_PI * c / K, cx = cos(th), cy = sin(th);
        for (int s = 0; s < 2; s++) {
            double sg = s ? -0.3 : 0.3;
            y[2 * c + s] = c;
            h[(2 * c + s) * F] = (float)(7.0 + cx - sg * cy);
            h[(2 * c + s) * F + 1] = (float)(-2.0 + cy + sg * cx);
        }
        w[c * F] = (float)cx;
        w[c * F + 1] = (float)cy;
    }
    mg_collapse r;
    cr_assert_eq(mg_collapse_compute(h, y, N, F, K, w, F, 1, y, &r), MG_OK, "%s", mg_errmsg());
    cr_assert_float_eq(r.nc2_etf, 0.56, 1e-6, "nc2_etf %.9g, expected 0.56", r.nc2_etf);
    cr_assert_float_eq(r.nc2_mean_cv, 0.0, 1e-6);
    cr_assert_float_eq(r.nc1, 0.03, 1e-6, "nc1 %.9g, expected 0.03", r.nc1);
    cr_assert_float_eq(r.nc3, 0.0, 1e-6, "w_c = centred means: nc3 %g", r.nc3);
    cr_assert_eq(r.nc4, 0.0);
}

/* k = 2, means (10 ± 1, −3): M = [[1, 0], [−1, 0]], ‖M‖_F = √2.
 * (a) W orthogonal and unequal: w_0 = (0, 3), w_1 = (0, −1). ‖W‖_F = √10,
 *     ⟨W, M⟩ = 0, so NC3 = ‖W‖²/10 + ‖M‖²/2 = 2. Norms 3 and 1: mean 2,
 *     population std 1, CV 0.5.
 * (b) w_0 = (1, 1), w_1 = (−1, 1): ‖W‖_F = 2, ⟨W, M⟩ = 2,
 *     NC3 = 1 + 1 − 2·2/(2√2) = 2 − √2; equal norms, CV 0. */
Test(collapse, nc3_and_classifier_norm_cv_match_hand_values) {
    enum { K = 2, F = 2, N = 2 };
    float h[N * F] = {11, -3, 9, -3};
    int32_t y[N] = {0, 1};
    float wa[K * F] = {0, 3, 0, -1}, wb[K * F] = {1, 1, -1, 1};
    mg_collapse r;
    cr_assert_eq(mg_collapse_compute(h, y, N, F, K, wa, F, 1, NULL, &r), MG_OK, "%s", mg_errmsg());
    cr_assert_float_eq(r.nc3, 2.0, 1e-12, "nc3 %.12g", r.nc3);
    cr_assert_float_eq(r.nc2_w_cv, 0.5, 1e-12, "nc2_w_cv %.12g", r.nc2_w_cv);
    cr_assert_eq(mg_collapse_compute(h, y, N, F, K, wb, F, 1, NULL, &r), MG_OK, "%s", mg_errmsg());
    cr_assert_float_eq(r.nc3, 2.0 - M_SQRT2, 1e-12, "nc3 %.12g", r.nc3);
    cr_assert_float_eq(r.nc2_w_cv, 0.0, 1e-12);
    /* The same W passed as its (F × K) transpose. */
    float wbt[F * K] = {1, -1, 1, 1};
    cr_assert_eq(mg_collapse_compute(h, y, N, F, K, wbt, 1, K, NULL, &r), MG_OK);
    cr_assert_float_eq(r.nc3, 2.0 - M_SQRT2, 1e-12, "transposed: nc3 %.12g", r.nc3);
}

/* NC4 on the line y = −3 (x shifted by 10): class 0 has samples at −0.5 and
 * 2.5 (mean 1), class 1 at −1 and −1 (mean −1).
 *   sample −0.5: label 0, nearest mean is class 1 (0.5 vs 1.5), pred 0 → differs
 *   sample  2.5: label 0, nearest 0, pred 0 → agrees
 *   sample −1  : label 1, nearest 1, pred 0 → differs
 *   sample −1  : label 1, nearest 1, pred 1 → agrees
 * NC4 = 2/4. Predicting the nearest class for the first sample (pred 1)
 * leaves one disagreement: 1/4. */
Test(collapse, nc4_counts_disagreements_with_the_nearest_class_mean) {
    enum { K = 2, F = 2, N = 4 };
    float h[N * F] = {9.5f, -3, 12.5f, -3, 9, -3, 9, -3};
    int32_t y[N] = {0, 0, 1, 1}, pred[N] = {0, 0, 0, 1};
    float w[K * F] = {1, 0, -1, 0};
    mg_collapse r;
    cr_assert_eq(mg_collapse_compute(h, y, N, F, K, w, F, 1, pred, &r), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(r.nc4, 0.5, "nc4 %g", r.nc4);
    pred[0] = 1;
    cr_assert_eq(mg_collapse_compute(h, y, N, F, K, w, F, 1, pred, &r), MG_OK);
    cr_assert_eq(r.nc4, 0.25, "nc4 %g", r.nc4);
}

/* All class means equal: Σ_B = 0, and the ratios have no meaning. */
Test(collapse, coincident_means_give_nan_not_an_error) {
    float h[4] = {1, 2, 1, 2}, w[4] = {1, 0, 0, 1};
    int32_t y[2] = {0, 1};
    mg_collapse r;
    cr_assert_eq(mg_collapse_compute(h, y, 2, 2, 2, w, 2, 1, y, &r), MG_OK, "%s", mg_errmsg());
    cr_assert(isnan(r.nc1) && isnan(r.nc2_mean_cv) && isnan(r.nc2_etf) && isnan(r.nc3));
    cr_assert_eq(r.nc2_w_cv, 0.0);
}

Test(collapse, a_class_without_samples_is_an_error_naming_it) {
    float h[6] = {0, 1, 1, 0, 2, 2}, w[6] = {0};
    int32_t y[3] = {0, 2, 0};
    mg_collapse r;
    cr_assert_eq(mg_collapse_compute(h, y, 3, 2, 3, w, 2, 1, NULL, &r), MG_ERR_ARG);
    cr_assert(strstr(mg_errmsg(), "class 1 has no samples"), "message: %s", mg_errmsg());
}

Test(collapse, bad_arguments_are_errors_with_messages) {
    float h[4] = {0, 1, 1, 0}, w[4] = {1, 0, 0, 1};
    int32_t y[2] = {0, 1}, bad[2] = {0, 2};
    mg_collapse r;
    cr_assert_eq(mg_collapse_compute(h, y, 2, 2, 1, w, 2, 1, NULL, &r), MG_ERR_ARG);
    cr_assert(strstr(mg_errmsg(), "k >= 2"), "message: %s", mg_errmsg());
    cr_assert_eq(mg_collapse_compute(NULL, y, 2, 2, 2, w, 2, 1, NULL, &r), MG_ERR_ARG);
    cr_assert(strstr(mg_errmsg(), "NULL"), "message: %s", mg_errmsg());
    cr_assert_eq(mg_collapse_compute(h, NULL, 2, 2, 2, w, 2, 1, NULL, &r), MG_ERR_ARG);
    cr_assert_eq(mg_collapse_compute(h, y, 2, 2, 2, NULL, 2, 1, NULL, &r), MG_ERR_ARG);
    cr_assert_eq(mg_collapse_compute(h, y, 2, 2, 2, w, 2, 1, NULL, NULL), MG_ERR_ARG);
    cr_assert_eq(mg_collapse_compute(h, y, 0, 2, 2, w, 2, 1, NULL, &r), MG_ERR_ARG);
    cr_assert(strstr(mg_errmsg(), "n >= 1"), "message: %s", mg_errmsg());
    cr_assert_eq(mg_collapse_compute(h, bad, 2, 2, 2, w, 2, 1, NULL, &r), MG_ERR_ARG);
    cr_assert(strstr(mg_errmsg(), "sample 1") && strstr(mg_errmsg(), "outside"), "message: %s",
              mg_errmsg());
    float hn[4] = {0, NAN, 1, 0};
    cr_assert_eq(mg_collapse_compute(hn, y, 2, 2, 2, w, 2, 1, NULL, &r), MG_ERR_NUMERIC);
    cr_assert(strstr(mg_errmsg(), "NaN"), "message: %s", mg_errmsg());
}

/* NC4 with features outside the span of the means (f = 5 > k − 1 = 3): on
 * the simplex, class 0 has two samples μ_0 ± (0.7 (μ_1 − μ_0) + 4 e5) (mean
 * μ_0), classes 1–3 one sample at their mean. The first sample is 0.3·√2
 * from μ_1 and 0.7·√2 from μ_0 (plus the same 4 along e5 for every class),
 * so its nearest mean is class 1; the second is nearest μ_0 (0.7·√2 against
 * √(4.38) for μ_2 and more for the rest). With pred = y: 1 of 5 differs;
 * with pred[0] = 1: none. */
Test(collapse, nc4_with_features_outside_the_span_of_the_means) {
    enum { K = 4, F = 5, N = 5 };
    double v[K][5];
    for (int c = 0; c < K; c++) simplex_vertex(c, v[c]);
    float h[N * F], w[K * F];
    int32_t y[N] = {0, 0, 1, 2, 3}, pred[N] = {0, 0, 1, 2, 3};
    for (int j = 0; j < F; j++) {
        double off = 0.7 * (v[1][j] - v[0][j]) + (j == 4 ? 4.0 : 0.0);
        h[0 * F + j] = (float)(OFFSET5[j] + v[0][j] + off);
        h[1 * F + j] = (float)(OFFSET5[j] + v[0][j] - off);
        for (int c = 1; c < K; c++) h[(c + 1) * F + j] = (float)(OFFSET5[j] + v[c][j]);
        for (int c = 0; c < K; c++) w[c * F + j] = (float)v[c][j];
    }
    mg_collapse r;
    cr_assert_eq(mg_collapse_compute(h, y, N, F, K, w, F, 1, pred, &r), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(r.nc4, 0.2, "nc4 %g", r.nc4);
    pred[0] = 1;
    cr_assert_eq(mg_collapse_compute(h, y, N, F, K, w, F, 1, pred, &r), MG_OK);
    cr_assert_eq(r.nc4, 0.0, "nc4 %g", r.nc4);
}

/* ---- the sample pass against the plain one ---------------------------- */

/* dot() of collapse.c: four chains over j mod 4, the tail on the first. */
static double ref_dot(const double *a, const double *b, int f) {
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int j = 0;
    for (; j + 4 <= f; j += 4) {
        s0 += a[j] * b[j];
        s1 += a[j + 1] * b[j + 1];
        s2 += a[j + 2] * b[j + 2];
        s3 += a[j + 3] * b[j + 3];
    }
    for (; j < f; j++) s0 += a[j] * b[j];
    return (s0 + s1) + (s2 + s3);
}

/* NC1 and NC4 by one plain pass over the samples, one dot product at a
 * time, as collapse.c computed them before its pass went by blocks: the
 * same class means, μ_G, SVD of the centred means and rank as the library,
 * then per sample p_q = (h − μ_G)·v_q, NC1's sums in sample order and the
 * nearest class mean by a scan over the classes. */
static void ref_nc1_nc4(const float *h, const int32_t *y, int n, int f, int k, const int32_t *pred,
                        double *nc1, double *nc4) {
    int r = k < f ? k : f;
    double *means = calloc((size_t)k * f, sizeof *means), *cm = malloc((size_t)k * f * 8);
    double *mu = calloc((size_t)f, sizeof *mu), *vt = malloc((size_t)r * f * 8);
    double *s = malloc((size_t)r * 8), *sup = malloc((size_t)r * 8), *acc = calloc(r, 8);
    double *a = malloc((size_t)k * r * 8), *d = malloc((size_t)f * 8), *p = malloc((size_t)r * 8);
    int64_t *cnt = calloc((size_t)k, sizeof *cnt);
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < f; j++) means[(size_t)y[i] * f + j] += h[(size_t)i * f + j];
        cnt[y[i]]++;
    }
    for (int c = 0; c < k; c++)
        for (int j = 0; j < f; j++) means[(size_t)c * f + j] /= (double)cnt[c];
    for (int c = 0; c < k; c++)
        for (int j = 0; j < f; j++) mu[j] += means[(size_t)c * f + j];
    for (int j = 0; j < f; j++) mu[j] /= k;
    for (int c = 0; c < k; c++)
        for (int j = 0; j < f; j++) cm[(size_t)c * f + j] = means[(size_t)c * f + j] - mu[j];
    memcpy(means, cm, (size_t)k * f * sizeof *cm); /* dgesvd overwrites its input */
    cr_assert_eq(LAPACKE_dgesvd(LAPACK_ROW_MAJOR, 'N', 'S', k, f, means, f, s, NULL, 1, vt, f, sup),
                 0);
    int rank = 0;
    while (rank < r && s[rank] > 1e-10 * s[0]) rank++;
    for (int c = 0; c < k; c++)
        for (int q = 0; q < rank; q++)
            a[(size_t)c * rank + q] = ref_dot(cm + (size_t)c * f, vt + (size_t)q * f, f);
    int64_t disagree = 0;
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < f; j++) d[j] = h[(size_t)i * f + j] - mu[j];
        for (int q = 0; q < rank; q++) p[q] = ref_dot(d, vt + (size_t)q * f, f);
        const double *ay = a + (size_t)y[i] * rank;
        for (int q = 0; q < rank; q++) acc[q] += (p[q] - ay[q]) * (p[q] - ay[q]);
        int best = 0;
        double bestd = INFINITY;
        for (int c = 0; c < k; c++) {
            double dist = 0;
            for (int q = 0; q < rank; q++)
                dist += (p[q] - a[(size_t)c * rank + q]) * (p[q] - a[(size_t)c * rank + q]);
            if (dist < bestd) bestd = dist, best = c;
        }
        disagree += pred && best != pred[i];
    }
    double t = 0;
    for (int q = 0; q < rank; q++) t += acc[q] / (s[q] * s[q]);
    *nc1 = t / (double)n;
    *nc4 = pred ? (double)disagree / (double)n : NAN;
    free(means), free(cm), free(mu), free(vt), free(s), free(sup), free(acc), free(a), free(d);
    free(p), free(cnt);
}

/* The blocked pass (blocks of 4 samples against 4 basis vectors) must give
 * the plain pass's bits, at sizes that leave every kind of remainder: a
 * short last block of samples (n mod 4 = 1, 2, 3), basis vectors beyond the
 * last full block (rank mod 4 ≠ 0), a feature tail (f mod 4 ≠ 0), rank
 * below 4, and predictions given or not. A wrong order of a projection's
 * sums moves its last bit, which NC1 only keeps when few samples add up:
 * hence many small draws (n = k ... k + 7) besides a few larger ones.
 * Random features at random scales, with a class signal; every class
 * present. */
Test(collapse, blocked_sample_pass_equals_the_plain_pass_bit_for_bit) {
    const int big[][3] = {{203, 517, 11}, {941, 130, 23}, {50, 5, 3}, {9, 2, 2}};
    const int nbig = sizeof big / sizeof *big, nsmall = 240;
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (int z = 0; z < nbig + nsmall; z++) {
        const int fs[] = {517, 37, 6, 64};
        const int k = z < nbig ? big[z][2] : 6 + z % 5;
        const int n = z < nbig ? big[z][0] : k + z % 8, f = z < nbig ? big[z][1] : fs[z % 4];
        float *h = malloc((size_t)n * f * sizeof *h), *w = malloc((size_t)k * f * sizeof *w);
        int32_t *y = malloc((size_t)n * sizeof *y), *pred = malloc((size_t)n * sizeof *pred);
        for (int i = 0; i < n; i++) {
            y[i] = i % k;
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            pred[i] = (int32_t)((x >> 33) % (uint64_t)k);
            for (int j = 0; j < f; j++) {
                x = x * 6364136223846793005ULL + 1442695040888963407ULL;
                /* 24 random bits at a random scale of 1 ... 2^7: sums that round */
                h[(size_t)i * f + j] = ldexpf((float)((x >> 40) * 0x1p-24), (int)(x >> 61)) +
                                       (j % k == y[i] ? 0.7f : 0);
            }
        }
        for (int i = 0; i < k * f; i++) w[i] = (float)(i % 7) - 3;
        for (int with_pred = 0; with_pred < 2; with_pred++) {
            const int32_t *pr = with_pred ? pred : NULL;
            mg_collapse got;
            double nc1, nc4;
            cr_assert_eq(mg_collapse_compute(h, y, n, f, k, w, f, 1, pr, &got), MG_OK, "%s",
                         mg_errmsg());
            ref_nc1_nc4(h, y, n, f, k, pr, &nc1, &nc4);
            cr_assert(memcmp(&got.nc1, &nc1, sizeof nc1) == 0, "n %d f %d k %d: nc1 %a, plain %a",
                      n, f, k, got.nc1, nc1);
            cr_assert(memcmp(&got.nc4, &nc4, sizeof nc4) == 0, "n %d f %d k %d: nc4 %a, plain %a",
                      n, f, k, got.nc4, nc4);
        }
        free(h), free(w), free(y), free(pred);
    }
}
