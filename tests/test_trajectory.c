/* test_trajectory.c — trajectory PCA and its random-walk null on
 * constructed trajectories with known answers: one confined to a known 3-D
 * subspace, a straight line, the simplex (equal singular values), a block
 * read through segments against its copy, and random walks whose PCA is
 * known (the first component of a long walk holds ≈ 6/π² ≈ 61% of the
 * variance). */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "analysis/trajectory.h"
#include "core/alloc.h"
#include "core/rng.h"

static void gauss(mg_rng *r, double *v, int n) {
    for (int i = 0; i < n; i++) v[i] = mg_rng_normal(r);
}

/* W_t = W_0 + Σ_i c_ti e_i for three fixed random e_i of R^N. */
enum { S3 = 30, N3 = 200 };
static void three_dim(float *w, double e[3][N3]) {
    mg_rng r;
    mg_rng_seed(&r, 7);
    double w0[N3], c[3];
    gauss(&r, w0, N3);
    for (int i = 0; i < 3; i++) gauss(&r, e[i], N3);
    for (int t = 0; t < S3; t++) {
        gauss(&r, c, 3);
        for (int j = 0; j < N3; j++)
            w[t * N3 + j] = (float)(w0[j] + c[0] * e[0][j] + c[1] * e[1][j] + c[2] * e[2][j]);
    }
}

Test(trajectory, three_dim_subspace_gives_three_shares_and_its_directions) {
    static float w[S3 * N3];
    double e[3][N3];
    three_dim(w, e);
    mg_traj_pca p;
    cr_assert_eq(mg_traj_pca_compute(w, S3, N3, w, NULL, 0, 3, &p), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(p.dim, N3);
    cr_assert_eq(p.rank, 3);
    for (int i = 0; i < 3; i++) cr_assert_gt(p.share[i], 1e-3, "share %d = %g", i, p.share[i]);
    /* the snapshots were rounded to float: the rest is rounding, ~1e-14 */
    for (int i = 3; i < S3; i++) cr_assert_lt(p.share[i], 1e-10, "share %d = %g", i, p.share[i]);
    cr_assert_leq(p.r95, 3);
    cr_assert_leq(p.r90, p.r95);
    cr_assert_eq(p.n_dir, 3);
    /* an orthonormal basis of span(e) by Gram-Schmidt, then ‖P v‖ = 1 */
    double q[3][N3];
    for (int i = 0; i < 3; i++) {
        memcpy(q[i], e[i], sizeof q[i]);
        for (int k = 0; k < i; k++) {
            double d = 0;
            for (int j = 0; j < N3; j++) d += q[i][j] * q[k][j];
            for (int j = 0; j < N3; j++) q[i][j] -= d * q[k][j];
        }
        double nn = 0;
        for (int j = 0; j < N3; j++) nn += q[i][j] * q[i][j];
        for (int j = 0; j < N3; j++) q[i][j] /= sqrt(nn);
    }
    for (int a = 0; a < 3; a++) {
        const double *v = p.dir + a * N3;
        double in = 0;
        for (int i = 0; i < 3; i++) {
            double d = 0;
            for (int j = 0; j < N3; j++) d += v[j] * q[i][j];
            in += d * d;
        }
        cr_assert_float_eq(in, 1.0, 1e-6, "direction %d: ‖Pv‖² = %.12f", a, in);
        for (int b = 0; b <= a; b++) {
            double d = 0;
            for (int j = 0; j < N3; j++) d += v[j] * p.dir[b * N3 + j];
            cr_assert_float_eq(d, a == b ? 1.0 : 0.0, 1e-9);
        }
    }
    mg_traj_pca_free(&p);
}

/* W_t = W_0 + t d, with W_0 and d exact in float so the line is exact. */
Test(trajectory, straight_line_has_r90_one_and_alignment_one) {
    enum { S = 12, N = 50 };
    float w[S * N], d[N];
    for (int j = 0; j < N; j++) d[j] = (float)((j % 7) - 3) * 0.125f;
    for (int t = 0; t < S; t++)
        for (int j = 0; j < N; j++) w[t * N + j] = (float)(j % 5) + (float)t * d[j];
    double dn = 0;
    for (int j = 0; j < N; j++) dn += (double)d[j] * d[j];
    mg_traj_pca p;
    cr_assert_eq(mg_traj_pca_compute(w, S, N, w, NULL, 0, 2, &p), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(p.r90, 1);
    cr_assert_eq(p.r95, 1);
    cr_assert_eq(p.rank, 1);
    cr_assert_eq(p.n_dir, 1, "only one direction exists");
    cr_assert_float_eq(p.share[0], 1.0, 1e-12);
    cr_assert_float_eq(p.entropy_rank, 1.0, 1e-6);
    cr_assert(isnan(p.alignment[0]), "W_0 − W_0 = 0 has no direction");
    for (int t = 1; t < S; t++) cr_assert_float_eq(p.alignment[t], 1.0, 1e-12, "t = %d", t);
    for (int t = 0; t + 1 < S; t++) cr_assert_float_eq(p.steps[t], sqrt(dn), 1e-12);
    /* the direction is ±d/‖d‖, signed along the motion: +d */
    for (int j = 0; j < N; j++) cr_assert_float_eq(p.dir[j], d[j] / sqrt(dn), 1e-12);
    /* Σλ of a centred line: ‖d‖² Σ_t (t − mean)² */
    double ct = 0;
    for (int t = 0; t < S; t++) ct += (t - (S - 1) / 2.0) * (t - (S - 1) / 2.0);
    cr_assert_float_eq(p.total_var, dn * ct, 1e-9 * dn * ct);
    mg_traj_pca_free(&p);
}

Test(trajectory, shares_sum_to_one_descending_and_total_is_the_centred_norm) {
    enum { S = 9, N = 40 };
    float w[S * N];
    mg_rng r;
    mg_rng_seed(&r, 3);
    for (int i = 0; i < S * N; i++) w[i] = (float)mg_rng_normal(&r);
    mg_traj_pca p;
    cr_assert_eq(mg_traj_pca_compute(w, S, N, NULL, NULL, 0, 0, &p), MG_OK, "%s", mg_errmsg());
    double sum = 0, fro = 0;
    for (int i = 0; i < S; i++) {
        sum += p.share[i];
        if (i) cr_assert_geq(p.share[i - 1], p.share[i]);
        cr_assert_float_eq(p.sv[i] * p.sv[i], p.share[i] * p.total_var, 1e-9);
    }
    cr_assert_float_eq(sum, 1.0, 1e-12);
    for (int j = 0; j < N; j++) {
        double m = 0;
        for (int t = 0; t < S; t++) m += w[t * N + j];
        m /= S;
        for (int t = 0; t < S; t++) fro += (w[t * N + j] - m) * (w[t * N + j] - m);
    }
    cr_assert_float_eq(p.total_var, fro, 1e-9 * fro);
    cr_assert_eq(p.rank, S - 1, "S generic snapshots centred span S − 1 dimensions");
    cr_assert_null(p.dir);
    mg_traj_pca_free(&p);
}

/* The simplex e_0..e_3: centred, its Gram is I − 11ᵀ/4 with eigenvalues
 * 1, 1, 1, 0, so three equal singular values. */
Test(trajectory, equal_singular_values_give_entropy_rank_their_count) {
    enum { S = 4, N = 6 };
    float w[S * N] = {0};
    for (int t = 0; t < S; t++) w[t * N + t] = 1.0f;
    mg_traj_pca p;
    cr_assert_eq(mg_traj_pca_compute(w, S, N, NULL, NULL, 0, 0, &p), MG_OK, "%s", mg_errmsg());
    cr_assert_float_eq(p.entropy_rank, 3.0, 1e-9);
    cr_assert_eq(p.r90, 3);
    cr_assert_eq(p.rank, 3);
    for (int i = 0; i < 3; i++) cr_assert_float_eq(p.share[i], 1.0 / 3.0, 1e-12);
    mg_traj_pca_free(&p);
    /* the Gram summary alone: diag(2, 2, 2, 2, 2, 0, 0) has entropy rank 5 */
    double g[49] = {0}, share[7], sv[7], tv, er;
    int r90, r95, rk;
    for (int i = 0; i < 5; i++) g[i * 7 + i] = 2.0;
    cr_assert_eq(mg_traj_gram_summary(g, 7, share, sv, &tv, &r90, &r95, &rk, &er, NULL), MG_OK);
    cr_assert_float_eq(er, 5.0, 1e-12);
    cr_assert_eq(rk, 5);
    cr_assert_eq(r90, 5, "cumulative 0.8 < 0.9 at 4, 1.0 at 5");
    cr_assert_float_eq(tv, 10.0, 1e-12);
    /* of singular values, not variances: diag(4, 1) has σ = (2, 1), p = (2/3, 1/3)
     * (the variances' p = (0.8, 0.2) would give 1.649) */
    double g2[4] = {4, 0, 0, 1}, u[4];
    cr_assert_eq(mg_traj_gram_summary(g2, 2, share, sv, &tv, &r90, &r95, &rk, &er, u), MG_OK);
    cr_assert_float_eq(er, exp(-(2.0 / 3 * log(2.0 / 3) + 1.0 / 3 * log(1.0 / 3))), 1e-12);
    cr_assert_float_eq(er, 1.8899, 1e-4);
    cr_assert_float_eq(share[0], 0.8, 1e-15);
    cr_assert_eq(r90, 2);
    cr_assert_float_eq(fabs(u[0]), 1.0, 1e-15, "the first eigenvector is e_0");
}

Test(trajectory, random_walk_null_is_far_less_concentrated_than_three_dims) {
    enum { S = 41, N = 4000, DRAWS = 4 };
    double steps[S - 1];
    for (int t = 0; t < S - 1; t++) steps[t] = 0.5 + 0.01 * t;
    mg_traj_null z;
    cr_assert_eq(mg_traj_null_compute(S, steps, N, 11, DRAWS, &z), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(z.n_draws, DRAWS);
    /* a long walk: λ_k ∝ 1/k², first share ≈ 6/π² ≈ 0.61, r90 ≈ 6 */
    cr_assert(z.share[0] > 0.40 && z.share[0] < 0.80, "first share %g", z.share[0]);
    cr_assert_geq(z.r90_mean, 4.0, "mean r90 %g", z.r90_mean);
    cr_assert_leq(z.r90_mean, 10.0, "mean r90 %g", z.r90_mean);
    cr_assert_geq(z.r95_mean, z.r90_mean);
    double mean = 0, sum = 0;
    for (int d = 0; d < DRAWS; d++) mean += (double)z.r90[d] / DRAWS;
    cr_assert_float_eq(mean, z.r90_mean, 1e-12);
    for (int i = 0; i < S; i++) sum += z.share[i];
    cr_assert_float_eq(sum, 1.0, 1e-12);
    /* the 3-D trajectory's r90 is well below */
    static float w[S3 * N3];
    double e[3][N3];
    three_dim(w, e);
    mg_traj_pca p;
    cr_assert_eq(mg_traj_pca_compute(w, S3, N3, w, NULL, 0, 0, &p), MG_OK);
    cr_assert_lt(p.r90 + 1.0, z.r90_mean);
    mg_traj_pca_free(&p);
    /* seeded: the same seed gives the same walks */
    mg_traj_null z2;
    cr_assert_eq(mg_traj_null_compute(S, steps, N, 11, DRAWS, &z2), MG_OK);
    for (int d = 0; d < DRAWS; d++) cr_assert_eq(z.entropy_rank[d], z2.entropy_rank[d]);
    mg_traj_null_free(&z2);
    mg_traj_null_free(&z);
}

Test(trajectory, null_follows_the_step_profile) {
    enum { S = 20 };
    double steps[S - 1] = {0};
    steps[5] = 2.0; /* one step: the walk is a single jump, one dimension */
    mg_traj_null z;
    cr_assert_eq(mg_traj_null_compute(S, steps, 1000, 1, 3, &z), MG_OK, "%s", mg_errmsg());
    for (int d = 0; d < 3; d++) cr_assert_eq(z.r90[d], 1);
    cr_assert_float_eq(z.share[0], 1.0, 1e-12);
    mg_traj_null_free(&z);
    /* dim 1: every increment is ±1 times its step, the walk is 1-D */
    double ones[S - 1];
    for (int t = 0; t < S - 1; t++) ones[t] = 1.0;
    cr_assert_eq(mg_traj_null_compute(S, ones, 1, 5, 2, &z), MG_OK);
    cr_assert_eq(z.r90[0], 1);
    cr_assert_eq(z.r95[1], 1);
    mg_traj_null_free(&z);
}

Test(trajectory, segments_equal_the_pca_of_the_copied_block) {
    enum { S = 15, N = 700, NS = 3 };
    const mg_traj_segment seg[NS] = {{400, 290}, {10, 40}, {100, 25}}; /* 355, not sorted */
    enum { M = 355 };
    static float w[S * N], blk[S * M], w0[N], b0[M];
    mg_rng r;
    mg_rng_seed(&r, 9);
    for (int j = 0; j < N; j++) w0[j] = (float)mg_rng_normal(&r);
    for (int t = 0; t < S; t++)
        for (int j = 0; j < N; j++)
            w[t * N + j] = w0[j] + (float)(t * 0.1 * mg_rng_normal(&r) + 0.05 * t * t * (j % 3));
    for (int t = 0; t < S; t++) {
        int p = 0;
        for (int k = 0; k < NS; k++)
            for (int c = 0; c < seg[k].len; c++, p++) {
                blk[t * M + p] = w[t * N + seg[k].offset + c];
                if (t == 0) b0[p] = w0[seg[k].offset + c];
            }
    }
    mg_traj_pca a, b;
    cr_assert_eq(mg_traj_pca_compute(w, S, N, w0, seg, NS, 4, &a), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(mg_traj_pca_compute(blk, S, M, b0, NULL, 0, 4, &b), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(a.dim, M);
    cr_assert_eq(a.r90, b.r90);
    cr_assert_eq(a.r95, b.r95);
    cr_assert_eq(a.rank, b.rank);
    cr_assert_eq(a.n_dir, 4);
    cr_assert_float_eq(a.entropy_rank, b.entropy_rank, 1e-10);
    for (int i = 0; i < S; i++) {
        cr_assert_float_eq(a.share[i], b.share[i], 1e-10);
        if (i == 0) /* the first snapshot is W_0 itself */
            cr_assert(isnan(a.alignment[0]) && isnan(b.alignment[0]));
        else cr_assert_float_eq(a.alignment[i], b.alignment[i], 1e-10);
        if (i + 1 < S) cr_assert_float_eq(a.steps[i], b.steps[i], 1e-10);
    }
    for (int i = 0; i < 4 * M; i++) cr_assert_float_eq(a.dir[i], b.dir[i], 1e-8, "entry %d", i);
    mg_traj_pca_free(&a);
    /* rows that already are W_t − W_0 (w0 = NULL) give the same */
    static float dif[S * M];
    for (int t = 0; t < S; t++)
        for (int j = 0; j < M; j++) dif[t * M + j] = blk[t * M + j] - b0[j];
    cr_assert_eq(mg_traj_pca_compute(dif, S, M, NULL, NULL, 0, 0, &a), MG_OK);
    for (int i = 0; i < S; i++) cr_assert_float_eq(a.share[i], b.share[i], 1e-6);
    mg_traj_pca_free(&a);
    mg_traj_pca_free(&b);
}

Test(trajectory, bad_input_fails_with_a_message) {
    float w[4 * 10] = {0};
    mg_traj_pca p;
    cr_assert_eq(mg_traj_pca_compute(w, 1, 10, NULL, NULL, 0, 0, &p), MG_ERR_ARG);
    cr_assert(strstr(mg_errmsg(), ">= 2 snapshots"), "%s", mg_errmsg());
    mg_traj_segment over[2] = {{0, 5}, {4, 3}};
    cr_assert_eq(mg_traj_pca_compute(w, 4, 10, NULL, over, 2, 0, &p), MG_ERR_ARG);
    cr_assert(strstr(mg_errmsg(), "overlap"), "%s", mg_errmsg());
    mg_traj_segment out[1] = {{8, 3}};
    cr_assert_eq(mg_traj_pca_compute(w, 4, 10, NULL, out, 1, 0, &p), MG_ERR_ARG);
    cr_assert(strstr(mg_errmsg(), "inside [0, 10)"), "%s", mg_errmsg());
    w[13] = NAN;
    cr_assert_eq(mg_traj_pca_compute(w, 4, 10, NULL, NULL, 0, 0, &p), MG_ERR_NUMERIC);
    cr_assert(strstr(mg_errmsg(), "snapshot 1"), "%s", mg_errmsg());
    cr_assert_null(p.share);
    mg_traj_pca_free(&p);
    double st[3] = {1, -1, 1};
    mg_traj_null z;
    cr_assert_eq(mg_traj_null_compute(4, st, 10, 1, 1, &z), MG_ERR_ARG);
    cr_assert(strstr(mg_errmsg(), "step 1"), "%s", mg_errmsg());
    cr_assert_eq(mg_traj_null_compute(4, st, 10, 1, 0, &z), MG_ERR_ARG);
}

Test(trajectory, constant_trajectory_has_no_variance) {
    float w[5 * 8];
    for (int i = 0; i < 40; i++) w[i] = (float)(i % 8);
    mg_traj_pca p;
    cr_assert_eq(mg_traj_pca_compute(w, 5, 8, w, NULL, 0, 3, &p), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(p.total_var, 0.0);
    cr_assert_eq(p.r90, 0);
    cr_assert_eq(p.rank, 0);
    cr_assert_eq(p.n_dir, 0);
    cr_assert_eq(p.entropy_rank, 0.0);
    for (int t = 0; t < 5; t++) cr_assert(isnan(p.alignment[t]));
    mg_traj_pca_free(&p);
}
