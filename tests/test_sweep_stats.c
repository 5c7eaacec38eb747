/* test_sweep_stats.c — the statistics of a sweep on constructed runs whose
 * answers are known: a sample's summary with NaN entries, the λ_crit
 * boundary (a grid whose boundary is λ = 1/K, a censored K, a K with no
 * boundary, majorities, a cyclic cell below a non-cyclic one), the log–log
 * fit, the bootstrap over seeds (degenerate when all seeds agree, containing
 * the true slope when they scatter around it, resamples without a slope
 * counted), and the theory's λ_crit against SCIENCE.md's values. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "analysis/sweep_stats.h"
#include "core/error.h"

/* ---- a sample ------------------------------------------------------------------ */

Test(sweep_stats, summary_skips_nan_and_uses_n_minus_1) {
    double x[] = {1, NAN, 2, 3, 4};
    mg_sweep_stats_summary s = mg_sweep_stats_summarize(x, 5);
    cr_assert_eq(s.count, 4);
    cr_assert_float_eq(s.mean, 2.5, 1e-15);
    cr_assert_float_eq(s.std, sqrt(5.0 / 3.0), 1e-15, "sample std (n-1): %g", s.std);
    cr_assert_eq(s.min, 1);
    cr_assert_eq(s.max, 4);
}

Test(sweep_stats, summary_of_one_and_of_none) {
    double one[] = {NAN, 7};
    mg_sweep_stats_summary s = mg_sweep_stats_summarize(one, 2);
    cr_assert_eq(s.count, 1);
    cr_assert_eq(s.mean, 7);
    cr_assert(isnan(s.std), "one value has no sample std");
    cr_assert_eq(s.min, 7);
    cr_assert_eq(s.max, 7);
    double none[] = {NAN, NAN};
    s = mg_sweep_stats_summarize(none, 2);
    cr_assert_eq(s.count, 0);
    cr_assert(isnan(s.mean) && isnan(s.std) && isnan(s.min) && isnan(s.max));
    s = mg_sweep_stats_summarize(NULL, 0);
    cr_assert_eq(s.count, 0);
}

Test(sweep_stats, summary_keeps_the_spread_of_nearly_equal_values) {
    double x[] = {1e9 + 1, 1e9 + 2, 1e9 + 3};
    mg_sweep_stats_summary s = mg_sweep_stats_summarize(x, 3);
    cr_assert_float_eq(s.std, 1.0, 1e-9, "got %.12g", s.std);
}

/* ---- a constructed grid -------------------------------------------------------------- */

#define MAXR 4096
typedef struct {
    int64_t n;
    double K[MAXR], lambda[MAXR];
    int64_t seed[MAXR];
    bool cyclic[MAXR];
} runs;

static void add(runs *r, double K, double lambda, int64_t seed, bool cyclic) {
    cr_assert_lt(r->n, MAXR);
    r->K[r->n] = K, r->lambda[r->n] = lambda, r->seed[r->n] = seed, r->cyclic[r->n] = cyclic;
    r->n++;
}

static const double Ks[5] = {31, 47, 59, 97, 113};

/* The grid {1e-3, 1/113, 1/97, 1/59, 1/47, 1/31, 0.1, 1} for every K, seeds
 * 0..2, each run cyclic iff λ >= 1/K: the boundary is exactly 1/K. */
static void exact_grid(runs *r) {
    double lam[8] = {1e-3, 1.0 / 113, 1.0 / 97, 1.0 / 59, 1.0 / 47, 1.0 / 31, 0.1, 1};
    r->n = 0;
    for (int k = 0; k < 5; k++)
        for (int l = 0; l < 8; l++)
            for (int s = 0; s < 3; s++) add(r, Ks[k], lam[l], s, lam[l] >= 1.0 / Ks[k]);
}

static int boundaries(const runs *r, mg_sweep_stats_boundary *b, int max) {
    int nk = -1;
    mg_status st = mg_sweep_stats_boundaries(r->n, r->K, r->lambda, r->seed, r->cyclic,
                                             MG_SWEEP_STATS_STABLE, max, b, &nk);
    cr_assert_eq(st, MG_OK, "%s", mg_errmsg());
    return nk;
}

static runs R; /* large: off the stack */

Test(sweep_stats, boundary_at_one_over_k_gives_slope_minus_one) {
    exact_grid(&R);
    mg_sweep_stats_boundary b[8];
    int nk = boundaries(&R, b, 8);
    cr_assert_eq(nk, 5);
    double below[5] = {1.0 / 47, 1.0 / 59, 1.0 / 97, 1.0 / 113, 1e-3};
    for (int k = 0; k < 5; k++) {
        cr_assert_eq(b[k].K, Ks[k], "ascending in K");
        cr_assert_eq(b[k].kind, MG_SWEEP_STATS_FOUND, "K = %g: %s", Ks[k],
                     mg_sweep_stats_kind_name(b[k].kind));
        cr_assert_eq(b[k].lambda_crit, 1.0 / Ks[k]);
        cr_assert_eq(b[k].lambda_below, below[k], "the bracket's lower end");
        cr_assert_eq(b[k].n_lambda, 8);
        cr_assert_eq(b[k].n_seeds, 3);
        cr_assert_eq(b[k].n_runs, 24);
        cr_assert_eq(b[k].n_cyclic_cells, 3 + k);
    }
    mg_sweep_stats_fit f = mg_sweep_stats_fit_boundaries(b, nk);
    cr_assert_eq(f.n, 5);
    cr_assert_float_eq(f.slope, -1.0, 1e-12, "slope %.15g", f.slope);
    cr_assert_float_eq(f.intercept, 0.0, 1e-12, "log λ = −log K");
    cr_assert_lt(f.rse, 1e-12);
}

Test(sweep_stats, bootstrap_is_degenerate_when_all_seeds_agree) {
    exact_grid(&R);
    mg_sweep_stats_bootstrap bs;
    mg_status st = mg_sweep_stats_bootstrap_slope(R.n, R.K, R.lambda, R.seed, R.cyclic,
                                                  MG_SWEEP_STATS_STABLE, MG_SWEEP_STATS_BOOTSTRAP_B,
                                                  MG_SWEEP_STATS_BOOTSTRAP_SEED, &bs);
    cr_assert_eq(st, MG_OK, "%s", mg_errmsg());
    cr_assert_eq(bs.B, 2000);
    cr_assert_eq(bs.n_used, 2000);
    cr_assert_eq(bs.n_insufficient, 0);
    cr_assert_float_eq(bs.lo, -1.0, 1e-12);
    cr_assert_float_eq(bs.hi, -1.0, 1e-12);
    cr_assert_eq(bs.lo, bs.hi, "every resample has the same boundaries");
}

Test(sweep_stats, censored_k_is_a_bound_left_out_of_the_fit) {
    exact_grid(&R);
    for (int64_t i = 0; i < R.n; i++)
        if (R.K[i] == 113) R.cyclic[i] = true; /* cyclic down to 1e-3 */
    mg_sweep_stats_boundary b[8];
    int nk = boundaries(&R, b, 8);
    cr_assert_eq(b[4].kind, MG_SWEEP_STATS_CENSORED);
    cr_assert_eq(b[4].lambda_crit, 1e-3, "the grid's smallest λ, as an upper bound");
    cr_assert(isnan(b[4].lambda_below));
    cr_assert_eq(b[4].n_cyclic_cells, 8);
    mg_sweep_stats_fit f = mg_sweep_stats_fit_boundaries(b, nk);
    cr_assert_eq(f.n, 4, "the censored K is not fitted");
    cr_assert_float_eq(f.slope, -1.0, 1e-12);
}

Test(sweep_stats, no_boundary_when_none_cyclic_or_the_largest_is_not) {
    exact_grid(&R);
    for (int64_t i = 0; i < R.n; i++) {
        if (R.K[i] == 31) R.cyclic[i] = false;                           /* none cyclic */
        if (R.K[i] == 47) R.cyclic[i] = fabs(R.lambda[i] - 0.1) < 1e-12; /* only in the middle */
    }
    mg_sweep_stats_boundary b[8];
    int nk = boundaries(&R, b, 8);
    cr_assert_eq(b[0].kind, MG_SWEEP_STATS_NONE);
    cr_assert(isnan(b[0].lambda_crit) && isnan(b[0].lambda_below));
    cr_assert_eq(b[0].n_cyclic_cells, 0, "none cyclic");
    cr_assert_eq(b[1].kind, MG_SWEEP_STATS_NONE, "λ = 1 is not cyclic");
    cr_assert_eq(b[1].n_cyclic_cells, 1, "cyclic at one middle λ");
    cr_assert_str_neq(mg_sweep_stats_kind_name(MG_SWEEP_STATS_NONE),
                      mg_sweep_stats_kind_name(MG_SWEEP_STATS_CENSORED));
    mg_sweep_stats_fit f = mg_sweep_stats_fit_boundaries(b, nk);
    cr_assert_eq(f.n, 3);
    cr_assert_float_eq(f.slope, -1.0, 1e-12);
}

Test(sweep_stats, a_cell_is_cyclic_on_a_strict_majority) {
    /* One K, λ = 1, 2, 3, 4. λ = 4: 2 of 3 cyclic (majority); λ = 3: 3 of 4
     * (a fourth seed only there); λ = 2: 1 of 2 (not a majority: seed 2 is
     * missing there); λ = 1: 0 of 3. */
    runs *r = &R;
    r->n = 0;
    add(r, 10, 4, 0, true), add(r, 10, 4, 1, true), add(r, 10, 4, 2, false);
    add(r, 10, 3, 0, true), add(r, 10, 3, 1, true), add(r, 10, 3, 2, false), add(r, 10, 3, 3, true);
    add(r, 10, 2, 0, true), add(r, 10, 2, 1, false);
    add(r, 10, 1, 0, false), add(r, 10, 1, 1, false), add(r, 10, 1, 2, false);
    mg_sweep_stats_boundary b[1];
    cr_assert_eq(boundaries(r, b, 1), 1);
    cr_assert_eq(b[0].kind, MG_SWEEP_STATS_FOUND);
    cr_assert_eq(b[0].lambda_crit, 3);
    cr_assert_eq(b[0].lambda_below, 2, "1 of 2 is not a majority");
    cr_assert_eq(b[0].n_seeds, 4);
    cr_assert_eq(b[0].n_runs, 12);
    cr_assert_eq(b[0].n_cyclic_cells, 2);
}

Test(sweep_stats, a_cyclic_cell_below_a_gap_does_not_move_the_boundary) {
    runs *r = &R;
    r->n = 0;
    bool pattern[5] = {true, false, false, true, true}; /* λ = 1..5 */
    for (int l = 0; l < 5; l++)
        for (int s = 0; s < 3; s++) add(r, 20, l + 1, s, pattern[l]);
    mg_sweep_stats_boundary b[1];
    boundaries(r, b, 1);
    cr_assert_eq(b[0].kind, MG_SWEEP_STATS_FOUND);
    cr_assert_eq(b[0].lambda_crit, 4, "from 4 on every cell is cyclic");
    cr_assert_eq(b[0].lambda_below, 3);
    cr_assert_eq(b[0].n_cyclic_cells, 3);
}

Test(sweep_stats, bad_runs_are_refused) {
    double K[2] = {31, 47}, lam[2] = {0.1, 0}, bad_k[2] = {31, NAN};
    int64_t seed[2] = {0, 0};
    bool cyc[2] = {true, true};
    mg_sweep_stats_boundary b[2];
    int nk = 7;
    cr_assert_eq(mg_sweep_stats_boundaries(2, K, lam, seed, cyc, MG_SWEEP_STATS_STABLE, 2, b, &nk),
                 MG_ERR_ARG);
    cr_assert(strstr(mg_errmsg(), "run 1") && strstr(mg_errmsg(), "lambda"), "%s", mg_errmsg());
    cr_assert_eq(nk, 0);
    lam[1] = 0.1;
    cr_assert_eq(
        mg_sweep_stats_boundaries(2, bad_k, lam, seed, cyc, MG_SWEEP_STATS_STABLE, 2, b, &nk),
        MG_ERR_ARG);
    cr_assert_eq(mg_sweep_stats_boundaries(2, K, lam, seed, cyc, MG_SWEEP_STATS_STABLE, 1, b, &nk),
                 MG_ERR_ARG, "two K, room for one");
    cr_assert(strstr(mg_errmsg(), "2 distinct K"), "%s", mg_errmsg());
    mg_sweep_stats_bootstrap bs;
    cr_assert_eq(
        mg_sweep_stats_bootstrap_slope(2, K, lam, seed, cyc, MG_SWEEP_STATS_STABLE, 0, 1, &bs),
        MG_ERR_ARG);
    cr_assert_eq(
        mg_sweep_stats_boundaries(0, NULL, NULL, NULL, NULL, MG_SWEEP_STATS_STABLE, 2, b, &nk),
        MG_OK);
    cr_assert_eq(nk, 0);
}

/* ---- the fit ------------------------------------------------------------------------- */

Test(sweep_stats, loglog_fit_of_known_points) {
    /* log x = 0, 1, 2; log y = 0, 1, 1: slope 1/2, intercept 1/6, residuals
     * -1/6, 1/3, -1/6, RSS 1/6 on 1 degree of freedom. */
    double x[3] = {1, exp(1), exp(2)}, y[3] = {1, exp(1), exp(1)};
    mg_sweep_stats_fit f = mg_sweep_stats_loglog_fit(3, x, y);
    cr_assert_eq(f.n, 3);
    cr_assert_float_eq(f.slope, 0.5, 1e-12);
    cr_assert_float_eq(f.intercept, 1.0 / 6, 1e-12);
    cr_assert_float_eq(f.rse, sqrt(1.0 / 6), 1e-12);
    cr_assert_float_eq(f.slope_se, sqrt(1.0 / 6) / sqrt(2), 1e-12);
    /* A power law: y = 3 x^-2 exactly. */
    double px[4] = {2, 5, 11, 40}, py[4];
    for (int i = 0; i < 4; i++) py[i] = 3 / (px[i] * px[i]);
    f = mg_sweep_stats_loglog_fit(4, px, py);
    cr_assert_float_eq(f.slope, -2, 1e-12);
    cr_assert_float_eq(f.intercept, log(3), 1e-12);
    cr_assert_lt(f.rse, 1e-12);
    f = mg_sweep_stats_loglog_fit(2, px, py);
    cr_assert_float_eq(f.slope, -2, 1e-12);
    cr_assert(isnan(f.rse), "two points leave no residual degree of freedom");
    f = mg_sweep_stats_loglog_fit(1, px, py);
    cr_assert(isnan(f.slope));
    double same[2] = {5, 5};
    f = mg_sweep_stats_loglog_fit(2, same, py);
    cr_assert(isnan(f.slope), "one K twice has no slope");
}

/* ---- the bootstrap ------------------------------------------------------------------- */

/* Five seeds per K; seed s's own boundary is c_s/K on a fine log grid, with
 * the factors c = {0.6, 0.8, 1, 1.25, 1.6} assigned to seeds in a different
 * order per K. The majority boundary is the median seed's, 1/K (to the
 * grid's resolution), so the slope is about −1 and resamples scatter it. */
static void scattered_grid(runs *r) {
    const double c[5] = {0.6, 0.8, 1.0, 1.25, 1.6};
    const int order[5][5] = {
        {0, 1, 2, 3, 4}, {4, 3, 2, 1, 0}, {2, 0, 4, 1, 3}, {1, 4, 0, 3, 2}, {3, 2, 1, 4, 0}};
    r->n = 0;
    for (int k = 0; k < 5; k++)
        for (int l = 0; l <= 50; l++) {
            double lam = pow(10, -3.5 + 0.05 * l); /* 3.2e-4 .. 0.1 */
            for (int s = 0; s < 5; s++) add(r, Ks[k], lam, s, lam >= c[order[k][s]] / Ks[k]);
        }
}

Test(sweep_stats, bootstrap_interval_contains_the_true_slope) {
    scattered_grid(&R);
    mg_sweep_stats_boundary b[8];
    int nk = boundaries(&R, b, 8);
    mg_sweep_stats_fit f = mg_sweep_stats_fit_boundaries(b, nk);
    cr_assert_eq(f.n, 5);
    cr_assert_float_eq(f.slope, -1.0, 0.05, "the majority's boundary is 1/K to the grid: %g",
                       f.slope);
    mg_sweep_stats_bootstrap bs, again;
    cr_assert_eq(mg_sweep_stats_bootstrap_slope(R.n, R.K, R.lambda, R.seed, R.cyclic,
                                                MG_SWEEP_STATS_STABLE, 2000,
                                                MG_SWEEP_STATS_BOOTSTRAP_SEED, &bs),
                 MG_OK);
    cr_assert_eq(bs.n_used, 2000);
    cr_assert_eq(bs.n_insufficient, 0, "every resample keeps every K's boundary");
    cr_assert_lt(bs.lo, -1.0, "interval [%g, %g]", bs.lo, bs.hi);
    cr_assert_gt(bs.hi, -1.0, "interval [%g, %g]", bs.lo, bs.hi);
    cr_assert_lt(bs.hi - bs.lo, 1.0, "the seeds' spread is ±0.5 in log λ, not more: [%g, %g]",
                 bs.lo, bs.hi);
    cr_assert(bs.lo <= bs.median && bs.median <= bs.hi);
    /* The fixed RNG seed makes it reproducible. */
    mg_sweep_stats_bootstrap_slope(R.n, R.K, R.lambda, R.seed, R.cyclic, MG_SWEEP_STATS_STABLE,
                                   2000, MG_SWEEP_STATS_BOOTSTRAP_SEED, &again);
    cr_assert_eq(again.lo, bs.lo);
    cr_assert_eq(again.hi, bs.hi);
}

Test(sweep_stats, bootstrap_counts_resamples_without_two_boundaries) {
    /* Two K. K = 10: λ = 1, 2, 3; seed 0 cyclic everywhere, seeds 1 and 2
     * from λ = 2. A resample drawing seed 0 at least twice makes λ = 1
     * cyclic, so K = 10 is censored and only one K keeps a boundary:
     * P = 3·(1/3)²·(2/3) + (1/3)³ = 7/27 of the resamples. K = 20: every
     * seed from λ = 2, always FOUND. */
    runs *r = &R;
    r->n = 0;
    for (int l = 1; l <= 3; l++)
        for (int s = 0; s < 3; s++) {
            add(r, 10, l, s, s == 0 || l >= 2);
            add(r, 20, l, s, l >= 2);
        }
    mg_sweep_stats_bootstrap bs;
    cr_assert_eq(mg_sweep_stats_bootstrap_slope(r->n, r->K, r->lambda, r->seed, r->cyclic,
                                                MG_SWEEP_STATS_STABLE, 2000,
                                                MG_SWEEP_STATS_BOOTSTRAP_SEED, &bs),
                 MG_OK);
    cr_assert_eq(bs.n_used + bs.n_insufficient, 2000);
    /* 2000·7/27 = 518.5, binomial sd 19.6: within 4 sd. */
    cr_assert(bs.n_insufficient > 440 && bs.n_insufficient < 597, "insufficient: %d",
              bs.n_insufficient);
    cr_assert_eq(bs.lo, 0.0, "the used resamples all have λ_crit = 2 at both K: slope 0");
    cr_assert_eq(bs.hi, 0.0);
}

Test(sweep_stats, bootstrap_without_any_slope_has_no_interval) {
    double K[2] = {31, 31}, lam[2] = {0.1, 1};
    int64_t seed[2] = {0, 0};
    bool cyc[2] = {false, true};
    mg_sweep_stats_bootstrap bs;
    cr_assert_eq(
        mg_sweep_stats_bootstrap_slope(2, K, lam, seed, cyc, MG_SWEEP_STATS_STABLE, 50, 1, &bs),
        MG_OK);
    cr_assert_eq(bs.n_used, 0);
    cr_assert_eq(bs.n_insufficient, 50);
    cr_assert(isnan(bs.lo) && isnan(bs.hi) && isnan(bs.median));
}

/* ---- the theory ---------------------------------------------------------------------- */

Test(sweep_stats, bessel_i0_by_its_series) {
    cr_assert_eq(mg_sweep_stats_bessel_i0(0), 1.0);
    cr_assert_float_eq(mg_sweep_stats_bessel_i0(1), 1.2660658777520082, 1e-15);
    cr_assert_float_eq(mg_sweep_stats_bessel_i0(2), 2.2795853023360673, 1e-14);
    cr_assert_float_eq(mg_sweep_stats_bessel_i0(-1), 1.2660658777520082, 1e-15, "even");
}

Test(sweep_stats, theory_matches_science_md_to_three_digits) {
    const char *want[5] = {"1.04e-02", "6.41e-03", "4.95e-03", "2.86e-03", "2.42e-03"};
    for (int k = 0; k < 5; k++) {
        char got[32];
        snprintf(got, sizeof got, "%.2e", mg_sweep_stats_theory_lambda_crit(Ks[k]));
        cr_assert_str_eq(got, want[k], "K = %g", Ks[k]);
    }
    cr_assert(isnan(mg_sweep_stats_theory_lambda_crit(3)), "√6 − √6 = 0: no prediction");
    cr_assert(mg_sweep_stats_theory_lambda_crit(4) > 0);
    /* Θ(1/K): the slope of the theory's own values tends to −1. */
    double x[2] = {1000, 2000}, y[2] = {mg_sweep_stats_theory_lambda_crit(1000),
                                        mg_sweep_stats_theory_lambda_crit(2000)};
    cr_assert_float_eq(mg_sweep_stats_loglog_fit(2, x, y).slope, -1.0, 0.05);
}

/* SCIENCE.md's rule (FIRST: the smallest λ with a cyclic majority) against
 * the stricter STABLE one, on one K whose cells read, ascending in λ:
 * not, cyclic, not, cyclic, not (the largest λ stops the fit). */
Test(sweep_stats, first_and_stable_rules_differ_where_cells_alternate) {
    double K[15], lam[15], grid[5] = {0.01, 0.03, 0.1, 0.3, 1};
    int64_t seed[15];
    bool cyc[15];
    bool cell[5] = {false, true, false, true, false};
    for (int l = 0, i = 0; l < 5; l++)
        for (int s = 0; s < 3; s++, i++)
            K[i] = 31, lam[i] = grid[l], seed[i] = s, cyc[i] = cell[l] && s != 2; /* 2 of 3 */
    mg_sweep_stats_boundary b[1];
    int nk = 0;
    cr_assert_eq(mg_sweep_stats_boundaries(15, K, lam, seed, cyc, MG_SWEEP_STATS_FIRST, 1, b, &nk),
                 MG_OK);
    cr_assert_eq(nk, 1);
    cr_assert_eq(b[0].kind, MG_SWEEP_STATS_FOUND);
    cr_assert_eq(b[0].lambda_crit, 0.03);
    cr_assert_eq(b[0].lambda_below, 0.01);
    cr_assert_eq(b[0].n_cyclic_cells, 2);
    cr_assert_eq(mg_sweep_stats_boundaries(15, K, lam, seed, cyc, MG_SWEEP_STATS_STABLE, 1, b, &nk),
                 MG_OK);
    cr_assert_eq(b[0].kind, MG_SWEEP_STATS_NONE, "the largest λ is not cyclic");
    /* every cell cyclic from 0.03 on: the rules agree */
    for (int i = 0; i < 15; i++) cyc[i] = lam[i] >= 0.03;
    cr_assert_eq(mg_sweep_stats_boundaries(15, K, lam, seed, cyc, MG_SWEEP_STATS_FIRST, 1, b, &nk),
                 MG_OK);
    cr_assert(b[0].kind == MG_SWEEP_STATS_FOUND && b[0].lambda_crit == 0.03);
    cr_assert_eq(mg_sweep_stats_boundaries(15, K, lam, seed, cyc, MG_SWEEP_STATS_STABLE, 1, b, &nk),
                 MG_OK);
    cr_assert(b[0].kind == MG_SWEEP_STATS_FOUND && b[0].lambda_crit == 0.03);
    /* none cyclic: NONE; all cyclic: CENSORED at the smallest λ */
    for (int v = 0; v < 2; v++) {
        for (int i = 0; i < 15; i++) cyc[i] = v;
        cr_assert_eq(
            mg_sweep_stats_boundaries(15, K, lam, seed, cyc, MG_SWEEP_STATS_FIRST, 1, b, &nk),
            MG_OK);
        cr_assert_eq(b[0].kind, v ? MG_SWEEP_STATS_CENSORED : MG_SWEEP_STATS_NONE);
        if (v) cr_assert_eq(b[0].lambda_crit, 0.01);
    }
}
