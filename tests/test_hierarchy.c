/* test_hierarchy.c — the gradient hierarchy (analysis/hierarchy.h and the
 * rows of models/harness/study_hierarchy.c): the pieces on constructed
 * inputs, and on a small MLP run the bounds holding at every geometry
 * step, the spectral norms equal to the SVD's, and analyze's recomputation
 * from gradient files equal to the recorded rows. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "analysis/hierarchy.h"
#include "core/csvout.h"
#include "tests/util/cli.h"
#include "tests/util/geometry_rows.h"

TestSuite(hierarchy, .init = mg_cli_setup, .fini = mg_cli_teardown, .timeout = 120);

/* Q diag(3, 2, 0.5) R^T with Q, R rotations: ||.||_2 = 3, warm or cold */
Test(hierarchy, power_iteration_finds_the_largest_singular_value) {
    const double c = cos(0.3), s = sin(0.3), c2 = cos(1.1), s2 = sin(1.1);
    const double Q[9] = {c, -s, 0, s, c, 0, 0, 0, 1}, R[9] = {1, 0, 0, 0, c2, -s2, 0, s2, c2};
    const double S[3] = {3, 2, 0.5};
    float w[9];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            double x = 0;
            for (int k = 0; k < 3; k++) x += Q[i * 3 + k] * S[k] * R[j * 3 + k];
            w[i * 3 + j] = (float)x;
        }
    double v[3] = {0, 0, 0};
    double sig = mg_spectral_norm_power(w, 3, 3, 3, 1, v, 200, NULL);
    cr_assert_float_eq(sig, 3.0, 1e-6, "%g", sig);
    /* warm: one more iteration from the converged vector stays there */
    cr_assert_float_eq(mg_spectral_norm_power(w, 3, 3, 3, 1, v, 1, NULL), 3.0, 1e-6);
    /* transposed by strides: the same norm */
    double u[3] = {0, 0, 0};
    cr_assert_float_eq(mg_spectral_norm_power(w, 3, 3, 1, 3, u, 200, NULL), 3.0, 1e-6);
    float z[6] = {0};
    double v0[2] = {0, 0};
    cr_assert_eq(mg_spectral_norm_power(z, 3, 2, 2, 1, v0, 10, NULL), 0.0);
}

Test(hierarchy, delta_norm_by_hand) {
    /* z = (0, 0): p = (1/2, 1/2), delta = (-1/2, 1/2) / n over n = 2 rows */
    const float z[4] = {0, 0, 0, 0};
    const int32_t y[2] = {0, 1};
    cr_assert_float_eq(mg_ce_delta_norm(z, y, 2, 2), sqrt(2 * 0.5) / 2, 1e-12);
    /* a confident right row contributes ~0 */
    const float z2[2] = {40, 0};
    const int32_t y2[1] = {0};
    cr_assert_lt(mg_ce_delta_norm(z2, y2, 1, 2), 1e-15);
}

Test(hierarchy, selection_norm_counts_operands) {
    const int32_t a[3] = {0, 0, 1}, b[3] = {0, 2, 2}; /* token 0 three times, 2 twice, 1 once */
    cr_assert_float_eq(mg_selection_norm(a, b, 3, 3, false), sqrt(3.0), 1e-12);
    cr_assert_float_eq(mg_selection_norm(a, b, 3, 3, true), sqrt(6.0), 1e-12);
}

static void check_run(const char *combine) {
    char dir[32];
    snprintf(dir, sizeof dir, "r_%s", combine);
    mg_ok("train --model mlp --combine %s --p 23 --d 32 --width 64 --steps 150 --geometry-every 30 "
          "--save-grads "
          "90,120 --threads 1 --out %s",
          combine, P("%s", dir));
    mg_ok("analyze %s", P("%s", dir));
    mg_csv *g = NULL, *l = NULL;
    cr_assert_eq(mg_csv_read(P("%s/geometry.csv", dir), &g), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(mg_csv_read(P("%s/grads/locking.csv", dir), &l), MG_OK);
    int rows = 0;
    for (long s = 0; s < 150; s += 30) {
        double ratio = geometry_value(g, s, "embed", "hier_bound_ratio");
        cr_assert(ratio > 0 && ratio <= 1, "%s step %ld: embedding gradient / bound = %g", combine,
                  s, ratio);
        cr_assert_leq(geometry_value(g, s, "classifier", "hier_grad"),
                      geometry_value(g, s, "classifier", "hier_bound") * (1 + 1e-9));
        /* the power iteration against the SVD of the same step */
        cr_assert_float_eq(geometry_value(g, s, "classifier", "hier_spectral"),
                           geometry_value(g, s, "classifier.w", "schatten_inf"),
                           1e-6 * geometry_value(g, s, "classifier.w", "schatten_inf"));
        cr_assert_float_eq(geometry_value(g, s, "hidden", "hier_spectral"),
                           geometry_value(g, s, "hidden.w", "schatten_inf"),
                           1e-6 * geometry_value(g, s, "hidden.w", "schatten_inf"));
        rows++;
    }
    cr_assert_eq(rows, 5);
    /* the summary's largest ratio is the rows' */
    double mx = 0;
    for (long s = 0; s <= 150; s += 30)
        if (isfinite(geometry_value(g, s, "embed", "hier_bound_ratio")))
            mx = fmax(mx, geometry_value(g, s, "embed", "hier_bound_ratio"));
    cJSON *sum = json_file(P("%s/summary.json", dir));
    const cJSON *h = jget(jget(sum, "two_clocks"), "hierarchy");
    cr_assert_float_eq(jnum(h, "embed_bound_ratio_max"), mx, 1e-9 * mx);
    cJSON_Delete(sum);
    /* recomputed from the gradient files: the recorded values */
    const char *metrics[] = {"hier_grad", "hier_bound", "hier_bound_ratio"};
    for (int k = 0; k < 3; k++) {
        double a = geometry_value(g, 90, "embed", metrics[k]),
               b = geometry_value(l, 90, "embed", metrics[k]);
        cr_assert(isfinite(b), "grads/locking.csv lacks %s", metrics[k]);
        cr_assert_float_eq(a, b, 1e-6 * fabs(a), "%s: %.9g recorded, %.9g recomputed", metrics[k],
                           a, b);
    }
    mg_csv_free(g);
    mg_csv_free(l);
}

Test(hierarchy, bounds_hold_on_a_concat_mlp) { check_run("concat"); }
Test(hierarchy, bounds_hold_on_a_sum_mlp) { check_run("sum"); }

Test(hierarchy, only_where_the_theory_speaks) {
    /* no ReLU (square activation), or an explicit penalty in the gradient */
    mg_ok("train --model mlp --act square --p 11 --steps 20 --threads 1 --out %s", P("sq"));
    mg_ok("train --model mlp --p 11 --steps 20 --penalty l2 --penalty-lambda 0.1 --threads 1 "
          "--out %s",
          P("pen"));
    mg_ok("train --model transformer --p 11 --steps 20 --threads 1 --out %s", P("tf"));
    const char *runs[] = {"sq", "pen", "tf"};
    for (int i = 0; i < 3; i++) {
        char *text = slurp(P("%s/geometry.csv", runs[i]), NULL);
        cr_assert_not_null(text);
        cr_assert_null(strstr(text, "hier_"), "%s has hierarchy rows", runs[i]);
        free(text);
    }
}
