/* test_clocks.c — clocks read off hand-made series whose answers are known:
 * a step function, linear and falling ramps, an oscillation that settles,
 * T_simplify, the cumulative sum under uneven sampling, the lead, and the
 * selection of one series from a long-format table. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "analysis/clocks.h"
#include "core/alloc.h"

Test(clocks, first_crossing_of_a_step_at_300) {
    int64_t s[21];
    double v[21], fall[21];
    for (int i = 0; i < 21; i++) {
        s[i] = 50 * i;
        v[i] = s[i] >= 300 ? 1.0 : 0.0;
        fall[i] = 1.0 - v[i];
    }
    cr_assert_eq(mg_clocks_first_crossing(s, v, 21, 0.99, true), 300);
    cr_assert_eq(mg_clocks_first_crossing(s, v, 21, 1.0, true), 300, "the threshold itself counts");
    cr_assert_eq(mg_clocks_first_crossing(s, fall, 21, 1e-2, false), 300);
    cr_assert_eq(mg_clocks_first_crossing(s, v, 21, 1.5, true), -1, "never reached");
    cr_assert_eq(mg_clocks_first_crossing(s, v, 0, 0.5, true), -1);
}

Test(clocks, onset_of_a_linear_ramp_is_its_midpoint) {
    int64_t s[11];
    double v[11];
    for (int i = 0; i < 11; i++) {
        s[i] = 100 * i;
        v[i] = s[i] / 1000.0; /* 0 .. 1 */
    }
    cr_assert_eq(mg_clocks_onset_half(s, v, 11), 500);
    /* Scale and offset do not matter: the threshold is relative. */
    for (int i = 0; i < 11; i++) v[i] = 0.02 + 0.1 * s[i] / 1000.0;
    cr_assert_eq(mg_clocks_onset_half(s, v, 11), 500);
}

Test(clocks, onset_of_falling_series) {
    int64_t s[11];
    double v[11];
    for (int i = 0; i < 11; i++) {
        s[i] = 100 * i;
        v[i] = 1.0 - s[i] / 1000.0;
    }
    cr_assert_eq(mg_clocks_onset_half(s, v, 11), 500);
    /* 10 → 2, rise −8, half at 6: (9−10)/−8 = 0.125, (4−10)/−8 = 0.75. */
    int64_t s2[5] = {0, 10, 20, 30, 40};
    double v2[5] = {10, 9, 4, 3, 2};
    cr_assert_eq(mg_clocks_onset_half(s2, v2, 5), 20);
}

Test(clocks, no_rise_has_no_onset) {
    int64_t s[4] = {0, 10, 20, 30};
    double flat[4] = {3, 3, 3, 3}, back[4] = {1, 5, 2, 1};
    cr_assert_eq(mg_clocks_onset_half(s, flat, 4), -1);
    cr_assert_eq(mg_clocks_onset_half(s, back, 4), -1, "ends where it started");
    cr_assert_eq(mg_clocks_onset_half(s, flat, 1), -1, "one sample");
}

/* Within 5% of the final 1.0 means in [0.95, 1.05]: from the end 1.0, 0.97,
 * 1.04 are in, 0.9 (step 40) is out, so the series settles at step 50. */
Test(clocks, settle_step_after_an_oscillation) {
    int64_t s[8] = {0, 10, 20, 30, 40, 50, 60, 70};
    double v[8] = {0, 2, 0.5, 1.5, 0.9, 1.04, 0.97, 1.0};
    cr_assert_eq(mg_clocks_settle_step(s, v, 8, 0.05), 50);
    cr_assert_eq(mg_clocks_settle_step(s, v, 8, 0.11), 40, "0.9 is within 11%%");
    cr_assert_eq(mg_clocks_settle_step(s, v, 8, 0.0), 70, "only the last value itself");
    cr_assert_eq(mg_clocks_settle_step(s, v, 0, 0.05), -1);
    double constant[3] = {2, 2, 2};
    cr_assert_eq(mg_clocks_settle_step(s, constant, 3, 0.05), 0);
}

Test(clocks, stays_above_and_t_simplify) {
    int64_t s[8] = {0, 10, 20, 30, 40, 50, 60, 70};
    double energy[8] = {0, 2, 0.5, 1.5, 0.9, 1.04, 0.97, 1.0};  /* settles at 50 */
    double conc[8] = {0.1, 0.6, 0.4, 0.7, 0.8, 0.9, 0.9, 0.95}; /* stays > 0.5 from 30 */
    cr_assert_eq(mg_clocks_stays_above(s, conc, 8, 0.5), 30);
    cr_assert_eq(mg_clocks_stays_above(s, conc, 8, 0.85), 50);
    cr_assert_eq(mg_clocks_stays_above(s, conc, 8, 0.96), -1, "last value below");
    cr_assert_eq(mg_clocks_t_simplify(s, energy, conc, 8, 0.05, 0.5), 50, "energy is the later");
    cr_assert_eq(mg_clocks_t_simplify(s, energy, conc, 8, 0.11, 0.85), 50, "40 vs 50: conc later");
    cr_assert_eq(mg_clocks_t_simplify(s, energy, conc, 8, 0.05, 0.96), -1);
}

/* Samples at 0, 10, 30, 60 with values 1, 2, 3, 4; each holds until the next.
 *   until 40: 1·10 + 2·20 + 3·(40 − 30) = 80
 *   until 100: 1·10 + 2·20 + 3·30 + 4·30 (the last repeats the interval 30) = 260
 *   until 5: 1·5; until 0: nothing before it → 0. */
Test(clocks, cumulative_with_uneven_sampling) {
    int64_t s[4] = {0, 10, 30, 60};
    double v[4] = {1, 2, 3, 4};
    cr_assert_float_eq(mg_clocks_cumulative(s, v, 4, 40), 80.0, 1e-12);
    cr_assert_float_eq(mg_clocks_cumulative(s, v, 4, 100), 260.0, 1e-12);
    cr_assert_float_eq(mg_clocks_cumulative(s, v, 4, 5), 5.0, 1e-12);
    cr_assert_float_eq(mg_clocks_cumulative(s, v, 4, 0), 0.0, 1e-12);
    cr_assert(isnan(mg_clocks_cumulative(s, v, 0, 40)));
    /* A probe at every step: the plain sum of the values at steps < until. */
    int64_t e[5] = {1, 2, 3, 4, 5};
    double ev[5] = {0.5, 0.25, 0.125, 1, 2};
    cr_assert_float_eq(mg_clocks_cumulative(e, ev, 5, 4), 0.875, 1e-12);
}

Test(clocks, lead_of_classifier_over_embedding) {
    mg_clocks_lead l = mg_clocks_lead_of(130, 710);
    cr_assert_eq(l.t_classifier, 130);
    cr_assert_eq(l.t_embed, 710);
    cr_assert_eq(l.lead_steps, 580);
    cr_assert_float_eq(l.lead_ratio, 710.0 / 130.0, 1e-12);
    l = mg_clocks_lead_of(700, 150); /* the embedding moved first */
    cr_assert_eq(l.lead_steps, -550);
    cr_assert_float_eq(l.lead_ratio, 150.0 / 700.0, 1e-12);
    l = mg_clocks_lead_of(0, 200); /* onset at step 0: a lead but no ratio */
    cr_assert_eq(l.lead_steps, 200);
    cr_assert(isnan(l.lead_ratio));
    l = mg_clocks_lead_of(-1, 200);
    cr_assert_eq(l.lead_steps, MG_CLOCKS_LEAD_NONE);
    cr_assert(isnan(l.lead_ratio));
    l = mg_clocks_lead_of(130, -1);
    cr_assert_eq(l.lead_steps, MG_CLOCKS_LEAD_NONE);
    cr_assert(isnan(l.lead_ratio));
}

Test(clocks, series_select_picks_the_rows_of_one_key_in_step_order) {
    const int64_t steps[8] = {0, 0, 10, 10, 5, 5, 20, 20};
    const char *const keys[8] = {"embed", "classifier", "embed", "classifier",
                                 "embed", "classifier", NULL,    "embed"};
    const double vals[8] = {1, 100, 3, 300, 2, 200, 999, 4};
    int64_t *os = NULL;
    double *ov = NULL;
    int n = -1;
    cr_assert_eq(mg_clocks_series_select(steps, keys, vals, 8, "embed", &os, &ov, &n), MG_OK, "%s",
                 mg_errmsg());
    cr_assert_eq(n, 4);
    const int64_t want_s[4] = {0, 5, 10, 20};
    const double want_v[4] = {1, 2, 3, 4};
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(os[i], want_s[i], "row %d step %lld", i, (long long)os[i]);
        cr_assert_eq(ov[i], want_v[i], "row %d value %g", i, ov[i]);
    }
    mg_free(os);
    mg_free(ov);

    cr_assert_eq(mg_clocks_series_select(steps, keys, vals, 8, "classifier", &os, &ov, &n), MG_OK);
    cr_assert_eq(n, 3);
    cr_assert(os[0] == 0 && os[1] == 5 && os[2] == 10);
    cr_assert(ov[0] == 100 && ov[1] == 200 && ov[2] == 300);
    mg_free(os);
    mg_free(ov);

    cr_assert_eq(mg_clocks_series_select(steps, keys, vals, 8, "mlp", &os, &ov, &n), MG_OK);
    cr_assert(n == 0 && os == NULL && ov == NULL, "a missing series is empty");
}

Test(clocks, series_select_keeps_table_order_for_equal_steps) {
    const int64_t steps[3] = {10, 10, 0};
    const char *const keys[3] = {"a", "a", "a"};
    const double vals[3] = {7, 8, 6};
    int64_t *os;
    double *ov;
    int n;
    cr_assert_eq(mg_clocks_series_select(steps, keys, vals, 3, "a", &os, &ov, &n), MG_OK);
    cr_assert(n == 3 && ov[0] == 6 && ov[1] == 7 && ov[2] == 8);
    mg_free(os);
    mg_free(ov);
}

Test(clocks, series_select_bad_arguments) {
    const int64_t steps[1] = {0};
    const char *const keys[1] = {"a"};
    const double vals[1] = {1};
    int64_t *os;
    double *ov;
    int n;
    cr_assert_eq(mg_clocks_series_select(steps, keys, vals, 1, NULL, &os, &ov, &n), MG_ERR_ARG);
    cr_assert(strstr(mg_errmsg(), "name"), "message: %s", mg_errmsg());
    cr_assert_eq(mg_clocks_series_select(NULL, keys, vals, 1, "a", &os, &ov, &n), MG_ERR_ARG);
    cr_assert(strstr(mg_errmsg(), "NULL"), "message: %s", mg_errmsg());
    cr_assert_eq(mg_clocks_series_select(steps, keys, vals, 1, "a", NULL, &ov, &n), MG_ERR_ARG);
    cr_assert_eq(mg_clocks_series_select(steps, keys, vals, -1, "a", &os, &ov, &n), MG_ERR_ARG);
    cr_assert(strstr(mg_errmsg(), "nrows"), "message: %s", mg_errmsg());
}
