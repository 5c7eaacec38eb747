/* test_commutator.c — the SGD commutator on linear gradient fields, where
 * δ = η² (BA − AB) θ is known (0 when A and B commute); D and cos on a hand
 * case; θ untouched; the median draw; the execution basis (dependent
 * directions dropped, overlapping regions merged) and ρ (1 for a basis
 * holding δ, 0 for one orthogonal to it); the random baselines (√(k/n) in
 * the full space; block-matched bases live on the blocks only). */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <string.h>

#include "analysis/commutator.h"
#include "core/alloc.h"
#include "core/rng.h"

/* g_batch(θ) = M_batch θ, M row-major n x n in double, rounded to float. */
typedef struct {
    int n;
    const double *m[2];
    int calls;
    const float *theta0; /* the caller's θ: never to be written */
} linear;

static mg_status linear_grad(void *ctx, int batch, const float *theta, float *g) {
    linear *l = ctx;
    l->calls++;
    for (int i = 0; i < l->n; i++) {
        double s = 0;
        for (int j = 0; j < l->n; j++) s += l->m[batch][i * l->n + j] * theta[j];
        g[i] = (float)s;
    }
    return MG_OK;
}

static void gauss(mg_rng *r, double *v, int n, double scale) {
    for (int i = 0; i < n; i++) v[i] = scale * mg_rng_normal(r);
}

static double norm(const float *x, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += (double)x[i] * x[i];
    return sqrt(s);
}

/* δ_ref = η² (BA − AB) θ in double. */
static void reference(const double *a, const double *b, const float *th, int n, double eta,
                      double *out) {
    for (int i = 0; i < n; i++) {
        double s = 0;
        for (int j = 0; j < n; j++) {
            double ba = 0, ab = 0;
            for (int l = 0; l < n; l++) {
                ba += b[i * n + l] * a[l * n + j];
                ab += a[i * n + l] * b[l * n + j];
            }
            s += (ba - ab) * th[j];
        }
        out[i] = eta * eta * s;
    }
}

Test(commutator, commuting_linear_fields_give_zero_defect) {
    enum { N = 64 };
    double a[N * N] = {0}, b[N * N] = {0};
    float th[N], delta[N];
    mg_rng r;
    mg_rng_seed(&r, 1);
    for (int i = 0; i < N; i++) {
        a[i * N + i] = 1.0 + mg_rng_normal(&r);
        b[i * N + i] = 2.0 * mg_rng_normal(&r);
        th[i] = (float)mg_rng_normal(&r);
    }
    linear l = {N, {a, b}, 0, th};
    mg_commutator_ws ws;
    cr_assert_eq(mg_commutator_ws_init(&ws, N), MG_OK);
    mg_commutator_result res;
    cr_assert_eq(mg_commutator_measure(&ws, linear_grad, &l, th, 0.05f, delta, &res), MG_OK, "%s",
                 mg_errmsg());
    cr_assert_eq(l.calls, 4, "g_A(θ), g_B(θ), g_B(θ_A), g_A(θ_B)");
    /* δ from the gradient differences: only the rounding of θ_A and θ_B
     * (an ulp of θ) passes through A or B, times η, so ‖δ‖ is far below
     * the ulps of θ that differencing float end points leaves */
    double amax = 0;
    for (int i = 0; i < N; i++) amax = fmax(amax, fmax(fabs(a[i * N + i]), fabs(b[i * N + i])));
    cr_assert_leq(res.delta_norm, 4 * 0.05 * amax * FLT_EPSILON * norm(th, N), "‖δ‖ = %g",
                  res.delta_norm);
    cr_assert_float_eq(res.delta_norm, norm(delta, N), 1e-15);
    mg_commutator_ws_free(&ws);
}

Test(commutator, non_commuting_linear_fields_give_eta_squared_commutator) {
    enum { N = 16 };
    static const float etas[2] = {0.05f, 1e-3f};
    static const double scales[2] = {0.25, 0.25}; /* η = 1e-3 with the same [B, A]: δ ~ 1e-7 */
    for (int e = 0; e < 2; e++) {
        double a[N * N], b[N * N], ref[N];
        float th[N], delta[N];
        mg_rng r;
        mg_rng_seed(&r, 2);
        gauss(&r, a, N * N, scales[e]);
        gauss(&r, b, N * N, scales[e]);
        for (int i = 0; i < N; i++) th[i] = (float)mg_rng_normal(&r);
        linear l = {N, {a, b}, 0, th};
        mg_commutator_ws ws;
        cr_assert_eq(mg_commutator_ws_init(&ws, N), MG_OK);
        mg_commutator_result res;
        cr_assert_eq(mg_commutator_measure(&ws, linear_grad, &l, th, etas[e], delta, &res), MG_OK);
        reference(a, b, th, N, etas[e], ref);
        double err = 0, rn = 0;
        for (int i = 0; i < N; i++) {
            err += (delta[i] - ref[i]) * (delta[i] - ref[i]);
            rn += ref[i] * ref[i];
        }
        cr_assert_lt(sqrt(err), 1e-3 * sqrt(rn), "eta %g: |δ − ref| = %g of %g", etas[e], sqrt(err),
                     sqrt(rn));
        cr_assert_float_eq(res.delta_norm, sqrt(rn), 1e-3 * sqrt(rn));
        mg_commutator_ws_free(&ws);
    }
}

/* A = [[0, 1], [0, 0]], B = [[0, 0], [1, 0]], θ = (1, 2), η = 1/8: every
 * float operation is exact. g_A = (2, 0), g_B = (0, 1), BA − AB = diag(−1, 1),
 * δ = η² (−1, 2), D = η² √5 / (2η · η) = √5 / 2, cos = 0. */
Test(commutator, hand_case_gives_defect_and_cosine) {
    const double a[4] = {0, 1, 0, 0}, b[4] = {0, 0, 1, 0};
    float th[2] = {1, 2}, delta[2];
    linear l = {2, {a, b}, 0, th};
    mg_commutator_ws ws;
    cr_assert_eq(mg_commutator_ws_init(&ws, 2), MG_OK);
    mg_commutator_result res;
    cr_assert_eq(mg_commutator_measure(&ws, linear_grad, &l, th, 0.125f, delta, &res), MG_OK);
    cr_assert_eq(delta[0], -0.015625f);
    cr_assert_eq(delta[1], 0.03125f);
    cr_assert_float_eq(res.delta_norm, 0.015625 * sqrt(5.0), 1e-15);
    cr_assert_float_eq(res.step_a, 0.25, 1e-15);
    cr_assert_float_eq(res.step_b, 0.125, 1e-15);
    cr_assert_float_eq(res.defect, sqrt(5.0) / 2, 1e-14);
    cr_assert_float_eq(res.cos_ab, 0.0, 1e-15);
    mg_commutator_ws_free(&ws);
}

/* Constant fields: g_A = (3, 4), g_B = (4, 3) whatever θ. */
static mg_status constant_grad(void *ctx, int batch, const float *theta, float *g) {
    (void)ctx, (void)theta;
    g[0] = batch ? 4.0f : 3.0f;
    g[1] = batch ? 3.0f : 4.0f;
    return MG_OK;
}

Test(commutator, constant_fields_commute_and_give_their_cosine) {
    float th[2] = {0.5f, -1.0f}, delta[2];
    mg_commutator_ws ws;
    cr_assert_eq(mg_commutator_ws_init(&ws, 2), MG_OK);
    mg_commutator_result res;
    cr_assert_eq(mg_commutator_measure(&ws, constant_grad, NULL, th, 0.25f, delta, &res), MG_OK);
    cr_assert_eq(res.delta_norm, 0.0);
    cr_assert_eq(res.defect, 0.0);
    cr_assert_float_eq(res.cos_ab, 24.0 / 25.0, 1e-15);
    cr_assert_float_eq(res.step_a, 1.25, 1e-15);
    mg_commutator_ws_free(&ws);
}

/* A callback that checks, at every call, that the caller's θ still holds
 * its original bits (so nothing between the calls wrote it either). */
static float original[16];
static mg_status watching_grad(void *ctx, int batch, const float *theta, float *g) {
    linear *l = ctx;
    if (memcmp(original, l->theta0, sizeof original))
        return mg_fail(MG_ERR_STATE, "theta moved before call %d", l->calls);
    mg_status st = linear_grad(ctx, batch, theta, g);
    return memcmp(original, l->theta0, sizeof original) ? mg_fail(MG_ERR_STATE, "theta moved") : st;
}

Test(commutator, theta_is_unchanged_bit_for_bit) {
    enum { N = 16 };
    double a[N * N], b[N * N];
    float th[N], before[N], d1[N], d2[N];
    mg_rng r;
    mg_rng_seed(&r, 4);
    gauss(&r, a, N * N, 1.0);
    gauss(&r, b, N * N, 1.0);
    for (int i = 0; i < N; i++) th[i] = (float)mg_rng_normal(&r);
    memcpy(before, th, sizeof th);
    memcpy(original, th, sizeof th);
    linear l = {N, {a, b}, 0, th};
    mg_commutator_ws ws;
    cr_assert_eq(mg_commutator_ws_init(&ws, N), MG_OK);
    mg_commutator_result r1, r2;
    cr_assert_eq(mg_commutator_measure(&ws, watching_grad, &l, th, 1e-3f, d1, &r1), MG_OK, "%s",
                 mg_errmsg());
    cr_assert_eq(memcmp(th, before, sizeof th), 0);
    cr_assert_eq(mg_commutator_measure(&ws, watching_grad, &l, th, 1e-3f, d2, &r2), MG_OK);
    cr_assert_eq(memcmp(d1, d2, sizeof d1), 0, "a second measurement repeats the first");
    cr_assert_eq(memcmp(th, before, sizeof th), 0);
    cr_assert_eq(mg_commutator_measure(&ws, watching_grad, &l, th, 1e-3f, th, &r2), MG_ERR_ARG);
    mg_commutator_ws_free(&ws);
}

static mg_status failing_grad(void *ctx, int batch, const float *theta, float *g) {
    (void)theta;
    int *calls = ctx;
    if (++*calls == 3) return mg_fail(MG_ERR_IO, "batch %d unreadable", batch);
    g[0] = 1.0f;
    return MG_OK;
}

static mg_status nan_grad(void *ctx, int batch, const float *theta, float *g) {
    (void)ctx, (void)theta;
    g[0] = batch ? NAN : 1.0f;
    return MG_OK;
}

Test(commutator, gradient_failures_pass_on) {
    float th[1] = {1}, d[1];
    int calls = 0;
    mg_commutator_ws ws;
    mg_commutator_result res;
    cr_assert_eq(mg_commutator_ws_init(&ws, 1), MG_OK);
    cr_assert_eq(mg_commutator_measure(&ws, failing_grad, &calls, th, 1e-3f, d, &res), MG_ERR_IO);
    cr_assert(strstr(mg_errmsg(), "unreadable"), "%s", mg_errmsg());
    cr_assert_eq(mg_commutator_measure(&ws, nan_grad, NULL, th, 1e-3f, d, &res), MG_ERR_NUMERIC);
    cr_assert(strstr(mg_errmsg(), "g_B(theta)"), "%s", mg_errmsg());
    cr_assert_eq(mg_commutator_measure(&ws, nan_grad, NULL, th, 0.0f, d, &res), MG_ERR_ARG);
    mg_commutator_ws_free(&ws);
}

Test(commutator, median_index_is_the_middle_draw) {
    const double d9[9] = {5, 1, 9, 3, 7, 2, 8, 4, 6};
    int i;
    cr_assert_eq(mg_commutator_median_index(d9, 9, &i), MG_OK);
    cr_assert_eq(i, 0, "5 is the median of 1..9");
    const double d4[4] = {4, 1, 3, 2};
    cr_assert_eq(mg_commutator_median_index(d4, 4, &i), MG_OK);
    cr_assert_eq(i, 3, "even count: the lower middle one (2)");
    const double ties[5] = {2, 1, 2, 2, 3};
    cr_assert_eq(mg_commutator_median_index(ties, 5, &i), MG_OK);
    cr_assert_eq(i, 2, "ranks 1, 2, 3 are the three 2s at 0, 2, 3: the middle is at 2");
    const double one[1] = {7};
    cr_assert_eq(mg_commutator_median_index(one, 1, &i), MG_OK);
    cr_assert_eq(i, 0);
    const double bad[3] = {1, NAN, 2};
    cr_assert_eq(mg_commutator_median_index(bad, 3, &i), MG_ERR_NUMERIC);
}

/* Basis vector r as a dense n-vector. */
static void dense(const mg_commutator_basis *b, int r, double *out) {
    memset(out, 0, (size_t)b->n * sizeof *out);
    for (int g = 0; g < b->n_group; g++) {
        if (r >= b->k[g]) {
            r -= b->k[g];
            continue;
        }
        const double *q = b->q + b->q_start[g] + (int64_t)r * b->m[g];
        for (int i = b->iv_start[g]; i < b->iv_start[g + 1]; i++)
            for (int64_t j = 0; j < b->iv[i].len; j++) out[b->iv[i].offset + j] = *q++;
        return;
    }
}

static void assert_orthonormal(const mg_commutator_basis *b) {
    double *x = mg_malloc((size_t)b->n * sizeof *x), *y = mg_malloc((size_t)b->n * sizeof *y);
    for (int i = 0; i < b->rank; i++) {
        dense(b, i, x);
        for (int j = 0; j <= i; j++) {
            dense(b, j, y);
            double d = 0;
            for (int64_t c = 0; c < b->n; c++) d += x[c] * y[c];
            cr_assert_float_eq(d, i == j ? 1.0 : 0.0, 1e-12, "q%d · q%d = %g", i, j, d);
        }
    }
    mg_free(x), mg_free(y);
}

Test(commutator, dependent_directions_are_dropped_and_overlaps_merge) {
    enum { N = 30 };
    const mg_traj_segment r1[1] = {{0, 10}}, r2[1] = {{5, 10}}, r3[2] = {{20, 4}, {26, 4}};
    double v1[10], v2[10], v3[10], zero[10] = {0}, w1[8], w2[8];
    mg_rng r;
    mg_rng_seed(&r, 5);
    gauss(&r, v1, 10, 1), gauss(&r, v2, 10, 1), gauss(&r, w1, 8, 1), gauss(&r, w2, 8, 1);
    for (int i = 0; i < 10; i++) v3[i] = 4 * v1[i];
    const mg_commutator_dir dirs[6] = {{r1, 1, v1}, {r3, 2, w1},   {r1, 1, v3},
                                       {r2, 1, v2}, {r1, 1, zero}, {r3, 2, w2}};
    mg_commutator_basis b;
    cr_assert_eq(mg_commutator_basis_build(dirs, 6, N, &b), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(b.rank, 4, "4 v1 and the zero vector are dropped");
    cr_assert_eq(b.n_group, 2, "[0, 10) and [5, 15) overlap: one group; [20, 30) another");
    cr_assert_eq(b.m[0], 15);
    cr_assert_eq(b.m[1], 8);
    cr_assert_eq(b.k[0], 2);
    cr_assert_eq(b.k[1], 2);
    const int src[4] = {0, 3, 1, 5};
    for (int i = 0; i < 4; i++)
        cr_assert_eq(b.source[i], src[i], "kept %d from %d", i, b.source[i]);
    assert_orthonormal(&b);
    /* the second group's vectors are zero at 24, 25 (between its segments) */
    double x[N];
    dense(&b, 2, x);
    cr_assert(x[24] == 0 && x[25] == 0 && x[19] == 0 && x[20] != 0);
    /* the first vector of each group is its first direction, normalised, in
     * place: v1 on [0, 10); w1 on 20..23 then 26..29 */
    double n1 = 0, nw = 0;
    for (int i = 0; i < 10; i++) n1 += v1[i] * v1[i];
    for (int i = 0; i < 8; i++) nw += w1[i] * w1[i];
    dense(&b, 0, x);
    for (int i = 0; i < N; i++) cr_assert_float_eq(x[i], i < 10 ? v1[i] / sqrt(n1) : 0, 1e-15);
    dense(&b, 2, x);
    for (int i = 0; i < 8; i++)
        cr_assert_float_eq(x[i < 4 ? 20 + i : 22 + i], w1[i] / sqrt(nw), 1e-15);
    mg_commutator_basis_free(&b);
    /* segments listed out of order: the values follow the list's order */
    const mg_traj_segment rev[2] = {{26, 4}, {20, 4}};
    const mg_commutator_dir dr[1] = {{rev, 2, w1}};
    cr_assert_eq(mg_commutator_basis_build(dr, 1, N, &b), MG_OK);
    dense(&b, 0, x);
    for (int i = 0; i < 8; i++)
        cr_assert_float_eq(x[i < 4 ? 26 + i : 16 + i], w1[i] / sqrt(nw), 1e-15);
    mg_commutator_basis_free(&b);
    /* one direction with overlapping segments, and one out of range */
    const mg_traj_segment bad[2] = {{0, 5}, {3, 5}}, far[1] = {{28, 5}};
    const mg_commutator_dir d1[1] = {{bad, 2, v1}}, d2[1] = {{far, 1, v1}};
    cr_assert_eq(mg_commutator_basis_build(d1, 1, N, &b), MG_ERR_ARG);
    cr_assert(strstr(mg_errmsg(), "overlap"), "%s", mg_errmsg());
    cr_assert_eq(mg_commutator_basis_build(d2, 1, N, &b), MG_ERR_ARG);
    double nan[10];
    memcpy(nan, v1, sizeof nan);
    nan[4] = NAN;
    const mg_commutator_dir d3[1] = {{r1, 1, nan}};
    cr_assert_eq(mg_commutator_basis_build(d3, 1, N, &b), MG_ERR_NUMERIC);
    mg_commutator_basis_free(&b);
}

Test(commutator, rho_is_one_for_a_basis_holding_delta_and_zero_orthogonal_to_it) {
    enum { N = 16 };
    float delta[N];
    double dv[N], other[N];
    mg_rng r;
    mg_rng_seed(&r, 6);
    for (int i = 0; i < N; i++) delta[i] = (float)mg_rng_normal(&r), dv[i] = delta[i];
    gauss(&r, other, N, 1);
    /* δ split over two blocks: the span of its two halves holds it */
    const mg_traj_segment lo[1] = {{0, 8}}, hi[1] = {{8, 8}}, all[1] = {{0, N}};
    const mg_commutator_dir halves[3] = {{lo, 1, dv}, {hi, 1, dv + 8}, {all, 1, other}};
    mg_commutator_basis b;
    double rho;
    cr_assert_eq(mg_commutator_basis_build(halves, 2, N, &b), MG_OK);
    cr_assert_eq(b.n_group, 2);
    cr_assert_eq(mg_commutator_rho(&b, delta, &rho), MG_OK);
    cr_assert_float_eq(rho, 1.0, 1e-12);
    mg_commutator_basis_free(&b);
    cr_assert_eq(mg_commutator_basis_build(halves + 1, 2, N, &b), MG_OK);
    cr_assert_eq(b.n_group, 1, "the whole-vector direction overlaps the half");
    double part;
    cr_assert_eq(mg_commutator_rho(&b, delta, &part), MG_OK);
    cr_assert(part > 0.0 && part < 1.0, "ρ = %g", part);
    mg_commutator_basis_free(&b);
    /* orthogonal: other with its δ component removed */
    double dd = 0, od = 0;
    for (int i = 0; i < N; i++) dd += dv[i] * dv[i], od += other[i] * dv[i];
    for (int i = 0; i < N; i++) other[i] -= od / dd * dv[i];
    const mg_commutator_dir orth[1] = {{all, 1, other}};
    cr_assert_eq(mg_commutator_basis_build(orth, 1, N, &b), MG_OK);
    cr_assert_eq(mg_commutator_rho(&b, delta, &rho), MG_OK);
    cr_assert_float_eq(rho, 0.0, 1e-12);
    mg_commutator_basis_free(&b);
    /* a δ off the basis's block has ρ = 0 exactly; δ = 0 has none */
    float off[N] = {0};
    off[12] = 1.0f;
    cr_assert_eq(mg_commutator_basis_build(halves, 1, N, &b), MG_OK);
    cr_assert_eq(mg_commutator_rho(&b, off, &rho), MG_OK);
    cr_assert_eq(rho, 0.0);
    off[12] = 0.0f;
    cr_assert_eq(mg_commutator_rho(&b, off, &rho), MG_OK);
    cr_assert(isnan(rho));
    mg_commutator_basis_free(&b);
    cr_assert_float_eq(mg_commutator_perp(0.6), 0.8, 1e-15);
    cr_assert_float_eq(mg_commutator_perp_paper(0.6), 0.4, 1e-15);
}

Test(commutator, full_space_baseline_is_near_sqrt_k_over_n) {
    mg_rng r;
    mg_rng_seed(&r, 7);
    enum { DRAWS = 400 };
    double each[DRAWS], mean;
    cr_assert_eq(mg_commutator_rho_rand_full(10000, 60, &r, DRAWS, &mean, each), MG_OK);
    double e2 = 0;
    for (int d = 0; d < DRAWS; d++) e2 += each[d] * each[d] / DRAWS;
    cr_assert_float_eq(e2, 60.0 / 10000.0, 0.05 * 60.0 / 10000.0, "E ρ² = %g", e2);
    cr_assert_float_eq(mean, sqrt(0.006), 0.05 * sqrt(0.006), "mean ρ %g", mean);
    cr_assert_eq(mg_commutator_rho_rand_full(5, 5, &r, 3, &mean, NULL), MG_OK);
    cr_assert_float_eq(mean, 1.0, 1e-15, "k = n: the whole space");
    cr_assert_eq(mg_commutator_rho_rand_full(5, 6, &r, 3, &mean, NULL), MG_ERR_ARG);
    /* the same law as building the bases: k Gaussian n-vectors on one
     * whole-vector region, orthonormalised (mg_commutator_basis_random) */
    enum { N = 400, K = 8, R = 60 };
    static double v[K][N];
    const mg_traj_segment whole[1] = {{0, N}};
    mg_commutator_dir dirs[K];
    for (int i = 0; i < K; i++) {
        gauss(&r, v[i], N, 1);
        dirs[i] = (mg_commutator_dir){whole, 1, v[i]};
    }
    float delta[N];
    for (int i = 0; i < N; i++) delta[i] = (float)mg_rng_normal(&r);
    mg_commutator_basis like;
    cr_assert_eq(mg_commutator_basis_build(dirs, K, N, &like), MG_OK);
    double lit = 0, law, blk;
    for (int d = 0; d < R; d++) {
        mg_commutator_basis rb;
        double rho;
        cr_assert_eq(mg_commutator_basis_random(&like, &r, &rb), MG_OK);
        cr_assert_eq(mg_commutator_rho(&rb, delta, &rho), MG_OK);
        lit += rho / R;
        mg_commutator_basis_free(&rb);
    }
    cr_assert_eq(mg_commutator_rho_rand_full(N, K, &r, R, &law, NULL), MG_OK);
    cr_assert_eq(mg_commutator_rho_rand_block(&like, delta, &r, R, &blk, NULL), MG_OK);
    double want = sqrt((double)K / N);
    cr_assert_float_eq(lit, want, 0.1 * want, "built: %g", lit);
    cr_assert_float_eq(law, want, 0.1 * want, "drawn: %g", law);
    cr_assert_float_eq(blk, want, 0.1 * want, "one whole-vector block by law: %g", blk);
    mg_commutator_basis_free(&like);
}

Test(commutator, block_matched_bases_live_on_the_blocks_only) {
    enum { N = 500 };
    const mg_traj_segment q[1] = {{100, 50}}, k2[2] = {{300, 40}, {400, 10}};
    static double v[6][50];
    mg_rng r;
    mg_rng_seed(&r, 8);
    for (int i = 0; i < 6; i++) gauss(&r, v[i], 50, 1);
    const mg_commutator_dir dirs[6] = {{q, 1, v[0]},  {q, 1, v[1]},  {q, 1, v[2]},
                                       {k2, 2, v[3]}, {k2, 2, v[4]}, {k2, 2, v[5]}};
    mg_commutator_basis exec, rnd;
    cr_assert_eq(mg_commutator_basis_build(dirs, 6, N, &exec), MG_OK);
    cr_assert_eq(mg_commutator_basis_random(&exec, &r, &rnd), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(rnd.rank, 6);
    cr_assert_eq(rnd.n_group, 2);
    for (int g = 0; g < 2; g++) cr_assert_eq(rnd.k[g], exec.k[g], "3 per block");
    assert_orthonormal(&rnd);
    double x[N];
    for (int i = 0; i < rnd.rank; i++) {
        dense(&rnd, i, x);
        for (int c = 0; c < N; c++) {
            int on = (c >= 100 && c < 150) || (c >= 300 && c < 340) || (c >= 400 && c < 410);
            if (!on) cr_assert_eq(x[c], 0.0, "vector %d at %d", i, c);
        }
    }
    /* δ off the blocks: every block-matched ρ is 0; δ on the blocks: the
     * block-matched baseline is far above the full-space one */
    float delta[N] = {0};
    for (int c = 0; c < 100; c++) delta[c] = 1.0f;
    double each[3], mean;
    cr_assert_eq(mg_commutator_rho_rand_block(&exec, delta, &r, 3, &mean, each), MG_OK);
    for (int d = 0; d < 3; d++) cr_assert_eq(each[d], 0.0);
    memset(delta, 0, sizeof delta);
    for (int c = 100; c < 150; c++) delta[c] = (float)mg_rng_normal(&r);
    mg_commutator_rhos rh;
    cr_assert_eq(mg_commutator_rhos_compute(&exec, delta, &r, 10, &rh), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(rh.draws, 10);
    cr_assert_float_eq(rh.rho_block, sqrt(3.0 / 50.0), 0.5 * sqrt(3.0 / 50.0), "%g", rh.rho_block);
    cr_assert_lt(rh.rho_full, 0.5 * rh.rho_block);
    cr_assert_float_eq(rh.ratio_block, rh.rho_exec / rh.rho_block, 1e-15);
    cr_assert_float_eq(rh.perp, sqrt(1 - rh.rho_exec * rh.rho_exec), 1e-15);
    mg_commutator_basis_free(&rnd);
    mg_commutator_basis_free(&exec);
}

/* The block-matched baseline by law against building its bases, on blocks
 * of the study's shape (3 directions each) and on a group of overlapping
 * regions (built either way), and with δ concentrated in one block. */
Test(commutator, block_matched_law_agrees_with_built_bases) {
    enum { N = 900, R = 1000 };
    const mg_traj_segment b0[1] = {{0, 200}}, b1[2] = {{300, 60}, {500, 40}}, o1[1] = {{700, 80}},
                          o2[1] = {{740, 100}};
    static double v[8][200];
    mg_rng r;
    mg_rng_seed(&r, 12);
    for (int i = 0; i < 8; i++) gauss(&r, v[i], 200, 1);
    const mg_commutator_dir dirs[8] = {{b0, 1, v[0]}, {b0, 1, v[1]}, {b0, 1, v[2]}, {b1, 2, v[3]},
                                       {b1, 2, v[4]}, {b1, 2, v[5]}, {o1, 1, v[6]}, {o2, 1, v[7]}};
    mg_commutator_basis exec;
    cr_assert_eq(mg_commutator_basis_build(dirs, 8, N, &exec), MG_OK);
    cr_assert_eq(exec.n_group, 3);
    /* δ1 vanishes on the overlapping group: E ρ² = Σ_g ‖δ_g‖² k_g / m_g / ‖δ‖²
     * over the two blocks; δ2 does not: law and building must agree */
    static float d1[N], d2[N];
    for (int i = 0; i < N; i++) {
        d2[i] = (float)((i < 200 ? 3.0 : 1.0) * mg_rng_normal(&r));
        d1[i] = i >= 700 && i < 840 ? 0.0f : d2[i];
    }
    double dd = 0, g0 = 0, g1 = 0;
    for (int i = 0; i < N; i++) {
        double x = (double)d1[i] * d1[i];
        dd += x;
        if (i < 200) g0 += x;
        else if ((i >= 300 && i < 360) || (i >= 500 && i < 540)) g1 += x;
    }
    const double want = (g0 * 3 / 200 + g1 * 3 / 100) / dd;
    double e2[2][2]; /* [δ][built, law] */
    for (int k = 0; k < 2; k++) {
        const float *delta = k ? d2 : d1;
        double built2 = 0, each[R], mean;
        for (int d = 0; d < R; d++) {
            mg_commutator_basis rb;
            double rho;
            cr_assert_eq(mg_commutator_basis_random(&exec, &r, &rb), MG_OK);
            cr_assert_eq(mg_commutator_rho(&rb, delta, &rho), MG_OK);
            built2 += rho * rho / R;
            mg_commutator_basis_free(&rb);
        }
        cr_assert_eq(mg_commutator_rho_rand_block(&exec, delta, &r, R, &mean, each), MG_OK);
        double law2 = 0, m = 0;
        for (int d = 0; d < R; d++) law2 += each[d] * each[d] / R, m += each[d] / R;
        cr_assert_float_eq(m, mean, 1e-15);
        e2[k][0] = built2, e2[k][1] = law2;
    }
    cr_assert_float_eq(e2[0][1], want, 0.08 * want, "by law E ρ² = %g, want %g", e2[0][1], want);
    cr_assert_float_eq(e2[0][0], want, 0.08 * want, "built E ρ² = %g, want %g", e2[0][0], want);
    cr_assert_float_eq(e2[1][1], e2[1][0], 0.1 * e2[1][0], "E ρ² %g by law, %g built", e2[1][1],
                       e2[1][0]);
    mg_commutator_basis_free(&exec);
}
