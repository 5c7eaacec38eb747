/* test_progress.c — restricted and excluded loss and logit periodicity on
 * logit cubes whose answers are known: the ideal logits Σ_k cos(w_k (a+b−c))
 * are all key-frequency structure (restricted loss = the loss itself,
 * excluded logits are zero so the excluded loss is log p, periodicity 1);
 * a subset of the keys explains its share; a cube of one class constant
 * has no periodicity. */
#include <criterion/criterion.h>
#include <math.h>

#include "analysis/progress.h"
#include "core/alloc.h"

enum { P = 23 };
static const int keys[3] = {2, 5, 9};

static float *ideal(double scale) {
    float *l = mg_malloc(sizeof(float) * P * P * P);
    for (int a = 0; a < P; a++)
        for (int b = 0; b < P; b++)
            for (int c = 0; c < P; c++) {
                double v = 0;
                for (int j = 0; j < 3; j++) v += cos(2.0 * M_PI * keys[j] * (a + b - c) / P);
                l[(a * P + b) * P + c] = (float)(scale * v);
            }
    return l;
}

static double full_loss(const float *l, const int *y) {
    double t = 0;
    for (int r = 0; r < P * P; r++) {
        double mx = -INFINITY, s = 0;
        for (int c = 0; c < P; c++) mx = fmax(mx, l[r * P + c]);
        for (int c = 0; c < P; c++) s += exp(l[r * P + c] - mx);
        t += mx + log(s) - l[r * P + y[r]];
    }
    return t / (P * P);
}

static void labels(int *y) {
    for (int a = 0; a < P; a++)
        for (int b = 0; b < P; b++) y[a * P + b] = (a + b) % P;
}

Test(progress, ideal_logits_are_all_key_frequency_structure) {
    float *l = ideal(4.0);
    int y[P * P];
    labels(y);
    int64_t rows[P * P];
    for (int i = 0; i < P * P; i++) rows[i] = i;
    double r, x, share, full = full_loss(l, y);
    cr_assert_eq(mg_progress_restricted_loss(l, P, y, keys, 3, &r), MG_OK);
    cr_assert_float_eq(r, full, 1e-5, "restricted %g, full %g", r, full);
    cr_assert_eq(mg_progress_excluded_loss(l, P, y, rows, P * P, keys, 3, &x), MG_OK);
    cr_assert_float_eq(x, log((double)P), 1e-5, "nothing left: uniform logits");
    cr_assert_eq(mg_progress_periodicity(l, P, keys, 3, &share), MG_OK);
    cr_assert_float_eq(share, 1.0, 1e-6);
    /* One key of three explains a third of the variance. */
    cr_assert_eq(mg_progress_periodicity(l, P, keys + 1, 1, &share), MG_OK);
    cr_assert_float_eq(share, 1.0 / 3.0, 1e-6);
    /* No keys: restricted logits are the per-class means (0): log p;
     * excluded logits are the logits themselves. */
    cr_assert_eq(mg_progress_restricted_loss(l, P, y, NULL, 0, &r), MG_OK);
    cr_assert_float_eq(r, log((double)P), 1e-5);
    cr_assert_eq(mg_progress_excluded_loss(l, P, y, rows, P * P, NULL, 0, &x), MG_OK);
    cr_assert_float_eq(x, full, 1e-5);
    mg_free(l);
}

Test(progress, per_class_constant_stays_in_the_restricted_logits) {
    float *l = ideal(0.0);
    int y[P * P];
    labels(y);
    for (int r = 0; r < P * P; r++)
        for (int c = 0; c < P; c++) l[r * P + c] = c == 3 ? 5.0f : 0.0f;
    double r, share;
    cr_assert_eq(mg_progress_restricted_loss(l, P, y, keys, 3, &r), MG_OK);
    cr_assert_float_eq(r, full_loss(l, y), 1e-5, "a class bias is kept");
    cr_assert_eq(mg_progress_periodicity(l, P, keys, 3, &share), MG_OK);
    cr_assert_float_eq(share, 0.0, 1e-9, "a bias is not periodic in a + b − c");
    mg_free(l);
}

Test(progress, excluded_loss_over_a_split_and_bad_input) {
    float *l = ideal(2.0);
    int y[P * P];
    labels(y);
    int64_t rows[3] = {0, 17, P * P - 1};
    double x, s;
    int k1[1] = {5};
    cr_assert_eq(mg_progress_excluded_loss(l, P, y, rows, 3, k1, 1, &x), MG_OK);
    cr_assert(x > 0 && isfinite(x));
    int64_t bad_row[1] = {P * P};
    cr_assert_eq(mg_progress_excluded_loss(l, P, y, bad_row, 1, k1, 1, &x), MG_ERR_ARG);
    int dup[2] = {5, 5}, out[1] = {(P + 1) / 2};
    cr_assert_eq(mg_progress_periodicity(l, P, dup, 2, &s), MG_ERR_ARG);
    cr_assert_eq(mg_progress_periodicity(l, P, out, 1, &s), MG_ERR_ARG);
    cr_assert_eq(mg_progress_periodicity(l, 22, k1, 1, &s), MG_ERR_ARG);
    y[4] = P;
    cr_assert_eq(mg_progress_restricted_loss(l, P, y, k1, 1, &x), MG_ERR_ARG);
    l[10] = NAN;
    cr_assert_eq(mg_progress_periodicity(l, P, k1, 1, &s), MG_ERR_NUMERIC);
    mg_free(l);
}
