/* test_twoclocks.c — the two-clocks measurements on series whose answers are
 * known: a loss with a known geometric rate (its T_cls ladder is a line in
 * log 1/ε with slope 1 / |log r|, its contraction r), gaps that close at a
 * known step, a power law of T_rep, a matrix with a known Fourier share,
 * gates that flip on a known share of units, and deep linear factorisations
 * balanced and not. */
#include <criterion/criterion.h>
#include <math.h>

#include "analysis/twoclocks.h"

Test(twoclocks, fit_of_an_exact_line_and_of_too_few_points) {
    double x[5] = {0, 1, 2, 3, 4}, y[5];
    for (int i = 0; i < 5; i++) y[i] = 3.0 - 2.0 * x[i];
    mg_twoclocks_line l = mg_twoclocks_fit(x, y, 5);
    cr_assert_eq(l.n, 5);
    cr_assert_float_eq(l.slope, -2.0, 1e-12);
    cr_assert_float_eq(l.intercept, 3.0, 1e-12);
    cr_assert_float_eq(l.r2, 1.0, 1e-12);
    y[2] = NAN; /* a missing point is skipped, not fitted */
    l = mg_twoclocks_fit(x, y, 5);
    cr_assert_eq(l.n, 4);
    cr_assert_float_eq(l.slope, -2.0, 1e-12);
    l = mg_twoclocks_fit(x, y, 1);
    cr_assert(isnan(l.slope) && isnan(l.r2));
    double same[3] = {1, 1, 1}, yy[3] = {1, 2, 3};
    cr_assert(isnan(mg_twoclocks_fit(same, yy, 3).slope), "a vertical line has no slope");
    /* Scatter lowers R^2 below 1. */
    double ys[5] = {0, 1.5, 1.5, 3.5, 4};
    l = mg_twoclocks_fit(x, ys, 5);
    cr_assert(l.r2 < 1.0 && l.r2 > 0.8, "r2 %g", l.r2);
}

Test(twoclocks, a_geometric_loss_has_a_logarithmic_fitting_clock) {
    enum { N = 3000 };
    static int64_t s[N];
    static double loss[N];
    const double r = 0.99, l0 = 2.0;
    for (int i = 0; i < N; i++) {
        s[i] = i;
        loss[i] = l0 * pow(r, i);
    }
    double eps[6] = {1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6};
    int64_t t[6];
    mg_twoclocks_t_cls(s, loss, N, eps, 6, t);
    for (int j = 0; j < 6; j++) {
        int64_t want = (int64_t)ceil(log(eps[j] / l0) / log(r) - 1e-9);
        cr_assert_eq(t[j], want, "eps %g: %lld, want %lld", eps[j], (long long)t[j],
                     (long long)want);
    }
    mg_twoclocks_line l = mg_twoclocks_fit_cls(eps, t, 6);
    cr_assert_eq(l.n, 6);
    cr_assert_float_eq(l.slope, 1.0 / -log(r), 0.05, "slope %g", l.slope);
    cr_assert(l.r2 > 0.9999, "r2 %g", l.r2);
    cr_assert_float_eq(mg_twoclocks_contraction(s, loss, N, 100), r, 1e-12);
    /* The clock of an ε never reached is -1 and stays out of the fit. */
    double eps2[3] = {1e-1, 1e-2, 1e-30};
    mg_twoclocks_t_cls(s, loss, N, eps2, 3, t);
    cr_assert_eq(t[2], -1);
    cr_assert_eq(mg_twoclocks_fit_cls(eps2, t, 3).n, 2);
}

Test(twoclocks, contraction_per_step_from_a_sparse_series) {
    int64_t s[50];
    double loss[50];
    for (int i = 0; i < 50; i++) {
        s[i] = 10 * i;
        loss[i] = i < 30 ? 1.0 : pow(0.95, s[i] - 300); /* flat until step 300 */
    }
    cr_assert_float_eq(mg_twoclocks_contraction(s, loss, 50, 300), 0.95, 1e-12);
    cr_assert_float_eq(mg_twoclocks_contraction(s, loss, 50, 0), 1.0, 1e-12,
                       "from step 0 the plateau is most pairs: the median is 1");
    cr_assert(isnan(mg_twoclocks_contraction(s, loss, 50, 10000)), "no pair after the end");
    loss[40] = 0.0; /* an exact zero cannot give a ratio: skipped */
    cr_assert_float_eq(mg_twoclocks_contraction(s, loss, 50, 300), 0.95, 1e-12);
}

Test(twoclocks, t_rep_is_where_the_gap_closes_for_good) {
    int64_t s[21];
    double gap[21];
    for (int i = 0; i < 21; i++) {
        s[i] = 100 * i;                   /* 0 .. 2000 */
        gap[i] = s[i] < 600 ? 1.0 : 0.01; /* closes at 600 */
    }
    cr_assert_eq(mg_twoclocks_t_rep(s, gap, 21, 0.05, 500), 600);
    gap[9] = 0.5; /* reopens at 900: the clock is the last closing */
    cr_assert_eq(mg_twoclocks_t_rep(s, gap, 21, 0.05, 500), 1000);
    cr_assert_eq(mg_twoclocks_t_rep(s, gap, 21, 0.6, 500), 600, "a looser η ignores it");
    /* Closing too near the end to be seen staying is not reached. */
    cr_assert_eq(mg_twoclocks_t_rep(s, gap, 11, 0.05, 500), -1);
    cr_assert_eq(mg_twoclocks_t_rep(s, gap, 21, 1e-3, 0), -1, "never closes");
    gap[20] = NAN;
    cr_assert_eq(mg_twoclocks_t_rep(s, gap, 21, 0.05, 0), -1, "NaN at the end is not closed");
}

Test(twoclocks, t_rep_power_law_gives_its_exponent) {
    double eta[5] = {0.3, 0.1, 0.03, 0.01, 0.003};
    int64_t t[5];
    for (int j = 0; j < 5; j++) t[j] = (int64_t)llround(1000.0 * pow(eta[j], -0.4));
    mg_twoclocks_line l = mg_twoclocks_fit_rep(eta, t, 5);
    cr_assert_eq(l.n, 5);
    cr_assert_float_eq(l.slope, 0.4, 2e-3, "slope %g (2θ − 1)", l.slope);
    cr_assert(l.r2 > 0.9999);
    t[4] = -1; /* not reached */
    cr_assert_eq(mg_twoclocks_fit_rep(eta, t, 5).n, 4);
}

Test(twoclocks, stable_rank_gap_relative_to_the_final_value) {
    double sr[4] = {36, 24, 12, 12};
    mg_twoclocks_srank_gap(sr, 4);
    cr_assert_float_eq(sr[0], 2.0, 1e-15);
    cr_assert_float_eq(sr[1], 1.0, 1e-15);
    cr_assert_float_eq(sr[3], 0.0, 1e-15);
    double up[3] = {6, 9, 12}; /* a rising rank is as far from its end */
    mg_twoclocks_srank_gap(up, 3);
    cr_assert_float_eq(up[0], 0.5, 1e-15);
    cr_assert_float_eq(up[1], 0.25, 1e-15);
    double z[2] = {3, 0};
    mg_twoclocks_srank_gap(z, 2);
    cr_assert(isnan(z[0]) && isnan(z[1]));
}

Test(twoclocks, rule_gap_is_the_energy_outside_the_key_frequencies) {
    enum { P = 23, D = 3 };
    float w[P * D];
    for (int x = 0; x < P; x++) {
        double t = 2.0 * M_PI * 3.0 * x / P, u = 2.0 * M_PI * 7.0 * x / P;
        w[x * D + 0] = (float)cos(t);         /* energy P/2 at k = 3 */
        w[x * D + 1] = (float)(2.0 * sin(u)); /* energy 4 P/2 at k = 7 */
        w[x * D + 2] = 0.0f;
    }
    int k3[1] = {3}, k37[2] = {7, 3}, dup[2] = {3, 3};
    double g;
    cr_assert_eq(mg_twoclocks_rule_gap(w, P, D, D, 1, k3, 1, &g), MG_OK);
    cr_assert_float_eq(g, 0.8, 1e-6);
    cr_assert_eq(mg_twoclocks_rule_gap(w, P, D, D, 1, k37, 2, &g), MG_OK);
    cr_assert_float_eq(g, 0.0, 1e-6);
    cr_assert_eq(mg_twoclocks_rule_gap(w, P, D, D, 1, dup, 2, &g), MG_OK);
    cr_assert_float_eq(g, 0.8, 1e-6, "a key listed twice counts once");
    cr_assert_eq(mg_twoclocks_rule_gap(w, P, D, D, 1, NULL, 0, &g), MG_OK);
    cr_assert_float_eq(g, 1.0, 1e-12);
    int bad[1] = {12};
    cr_assert_eq(mg_twoclocks_rule_gap(w, P, D, D, 1, bad, 1, &g), MG_ERR_ARG);
    for (int i = 0; i < P * D; i++) w[i] += 1.0f; /* a constant is outside too */
    cr_assert_eq(mg_twoclocks_rule_gap(w, P, D, D, 1, k37, 2, &g), MG_OK);
    cr_assert_float_eq(g, (double)(P * D) / (P * D + 5.0 * P / 2.0), 1e-5);
}

Test(twoclocks, gate_flips_on_a_known_share) {
    enum { N = 1000 };
    float pre[N];
    uint8_t a[N], b[N];
    for (int i = 0; i < N; i++) pre[i] = i % 2 ? 1.0f : -1.0f;
    mg_twoclocks_gates(pre, N, a);
    for (int i = 0; i < N; i++)
        if (i % 8 == 0) pre[i] = -pre[i]; /* 125 of 1000 units */
    pre[1] = 0.0f;                        /* 0 is off: one more flip */
    mg_twoclocks_gates(pre, N, b);
    cr_assert_float_eq(mg_twoclocks_gate_flips(a, b, N), 126.0 / N, 1e-15);
    cr_assert_float_eq(mg_twoclocks_gate_flips(a, a, N), 0.0, 1e-15);
    cr_assert(isnan(mg_twoclocks_gate_flips(a, b, 0)));
}

Test(twoclocks, deep_linear_energy_balanced_and_not) {
    /* Diagonal layers: A = diag(a_i b_i), Σ||W||² = Σ a² + b², and
     * 2 ||A||_{S_1} = 2 Σ |a b| (L = 2): balanced when |a_i| = |b_i|. */
    float w1[4] = {2, 0, 0, 1}, w2[4] = {2, 0, 0, 1};
    const float *w[2] = {w1, w2};
    int rows[2] = {2, 2}, cols[2] = {2, 2};
    mg_twoclocks_energy e;
    cr_assert_eq(mg_twoclocks_deep_linear_energy(w, rows, cols, 2, 0.5, &e), MG_OK);
    cr_assert_float_eq(e.frob, 0.5 * 10.0, 1e-12);
    cr_assert_float_eq(e.schatten, 0.5 * 2.0 * 5.0, 1e-9);
    cr_assert_float_eq(e.balance, 1.0, 1e-9);
    cr_assert_float_eq(e.stable_rank, 17.0 / 16.0, 1e-9);
    w1[0] = 4, w2[0] = 1; /* the same A, unbalanced */
    cr_assert_eq(mg_twoclocks_deep_linear_energy(w, rows, cols, 2, 0.0, &e), MG_OK);
    cr_assert_float_eq(e.balance, 2.0 * 5.0 / (16 + 1 + 1 + 1), 1e-9, "λ = 0 still has a balance");
    cr_assert_float_eq(e.frob, 0.0, 1e-15);
    /* L = 3, rectangular: W1 (3 x 2), W2 (2 x 3), W3 (1 x 2), each a
     * balanced factor of A = [8 0] (σ = 8): every ||W_l||_F^2 = 8^{2/3}. */
    float v1[6] = {2, 0, 0, 0, 0, 0}, v2[6] = {2, 0, 0, 0, 0, 0}, v3[2] = {2, 0};
    const float *v[3] = {v1, v2, v3};
    int r3[3] = {3, 2, 1}, c3[3] = {2, 3, 2};
    cr_assert_eq(mg_twoclocks_deep_linear_energy(v, r3, c3, 3, 1.0, &e), MG_OK);
    cr_assert_float_eq(e.frob, 12.0, 1e-9);
    cr_assert_float_eq(e.schatten, 3.0 * pow(8.0, 2.0 / 3.0), 1e-9);
    cr_assert_float_eq(e.balance, 1.0, 1e-9);
    int bad[3] = {2, 2, 2}; /* W2 would have 2 columns, W1 has 3 rows */
    cr_assert_eq(mg_twoclocks_deep_linear_energy(v, r3, bad, 3, 1.0, &e), MG_ERR_SHAPE);
}
