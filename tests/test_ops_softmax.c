/* test_ops_softmax.c — softmax and the fused cross-entropy: gradients,
 * values against double-precision hand computations, the tiny-loss regime
 * of late grokking, label and shape errors. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"
#include "tests/util/check_grad.h"

/* softmax -------------------------------------------------------------------- */

static mg_tensor *build_softmax(mg_graph *g, void *ctx) {
    const int *nd = ctx;
    mg_tensor *x = *nd == 2 ? mg_param(g, "x", MG_NORMAL(2), MG_SHAPE(3, 5))
                            : mg_param(g, "x", MG_NORMAL(2), MG_SHAPE(2, 3, 4));
    return mg_softmax(g, x);
}

Test(softmax, gradient_2d_non_square) {
    int nd = 2;
    mg_check_grad("softmax (3, 5)",
                  (mg_gradcheck_spec){.build = build_softmax, .ctx = &nd, .seed = 21});
}
Test(softmax, gradient_3d) {
    int nd = 3;
    mg_check_grad("softmax (2, 3, 4)",
                  (mg_gradcheck_spec){.build = build_softmax, .ctx = &nd, .seed = 22});
}

Test(softmax, rows_sum_to_one_and_match_hand_values) {
    mg_params *P = mg_params_new();
    mg_graph *g = mg_graph_new(P);
    mg_tensor *x = mg_input(g, "x", MG_F32, MG_SHAPE(2, 3));
    mg_tensor *y = mg_softmax(g, x);
    mg_graph_keep(g, y);
    cr_assert_eq(mg_graph_compile(g, NULL), MG_OK, "%s", mg_errmsg());
    /* row 1 is row 0 shifted by 1000: the max is subtracted, no overflow */
    float v[] = {1, 2, 3, 1001, 1002, 1003};
    memcpy(x->data, v, sizeof v);
    cr_assert_eq(mg_graph_forward(g), MG_OK);
    double s = exp(1) + exp(2) + exp(3);
    for (int r = 0; r < 2; r++) {
        double sum = 0;
        for (int j = 0; j < 3; j++) {
            cr_expect_float_eq(mg_f32(y)[r * 3 + j], exp(j + 1) / s, 1e-6, "(%d, %d)", r, j);
            sum += mg_f32(y)[r * 3 + j];
        }
        cr_expect_float_eq(sum, 1.0, 1e-6, "row %d", r);
    }
    mg_graph_free(g);
    mg_params_free(P);
}

Test(softmax, minus_infinity_entries_get_probability_zero) {
    mg_params *P = mg_params_new();
    mg_graph *g = mg_graph_new(P);
    mg_tensor *x = mg_input(g, "x", MG_F32, MG_SHAPE(1, 3));
    mg_tensor *y = mg_softmax(g, x);
    mg_graph_keep(g, y);
    cr_assert_eq(mg_graph_compile(g, NULL), MG_OK, "%s", mg_errmsg());
    float v[] = {0, -INFINITY, 0};
    memcpy(x->data, v, sizeof v);
    cr_assert_eq(mg_graph_forward(g), MG_OK);
    cr_expect_float_eq(mg_f32(y)[0], 0.5f, 1e-7);
    cr_expect_eq(mg_f32(y)[1], 0.0f);
    cr_expect_float_eq(mg_f32(y)[2], 0.5f, 1e-7);
    mg_graph_free(g);
    mg_params_free(P);
}

/* cross entropy ------------------------------------------------------------- */

/* -log softmax(z)[y] averaged over rows, the plain way in double. */
static double ce_reference(const float *z, const int32_t *y, int n, int c) {
    double total = 0;
    for (int i = 0; i < n; i++) {
        double s = 0;
        for (int j = 0; j < c; j++) s += exp((double)z[i * c + j]);
        total += log(s) - z[i * c + y[i]];
    }
    return total / n;
}

typedef struct {
    mg_tensor *labels;
    const int32_t *values;
} ce_case;

/* loss = cross_entropy(z (5, 7) parameter, labels (5) input) */
static mg_tensor *build_ce(mg_graph *g, void *ctx) {
    ce_case *c = ctx;
    mg_tensor *z = mg_param(g, "logits", MG_NORMAL(1.5), MG_SHAPE(5, 7));
    c->labels = mg_input(g, "labels", MG_I32, MG_SHAPE(5));
    return mg_cross_entropy(g, z, c->labels);
}
static void fill_labels(mg_graph *g, void *ctx) {
    (void)g;
    ce_case *c = ctx;
    mg_fill_i32(c->labels, c->values);
}

Test(cross_entropy, gradient) {
    static const int32_t labels[] = {0, 6, 3, 3, 1};
    ce_case c = {.values = labels};
    mg_check_grad(
        "cross_entropy (5, 7)",
        (mg_gradcheck_spec){.build = build_ce, .fill = fill_labels, .ctx = &c, .seed = 31});
}

/* A graph loss = cross_entropy(logits (n, c) parameter, labels (n) input)
 * with the given values, run forward and backward. */
typedef struct {
    mg_params *P;
    mg_graph *g;
    mg_tensor *z, *labels, *loss;
} ce_graph;

static ce_graph ce_run(int n, int c, const float *z, const int32_t *labels) {
    ce_graph r;
    r.P = mg_params_new();
    r.g = mg_graph_new(r.P);
    r.z = mg_param(r.g, "logits", MG_INIT_ZERO, MG_SHAPE(n, c));
    r.labels = mg_input(r.g, "labels", MG_I32, MG_SHAPE(n));
    r.loss = mg_cross_entropy(r.g, r.z, r.labels);
    cr_assert_eq(mg_graph_compile(r.g, r.loss), MG_OK, "%s", mg_errmsg());
    memcpy(r.z->data, z, (size_t)(n * c) * sizeof *z);
    mg_fill_i32(r.labels, labels);
    return r;
}
static void ce_free(ce_graph *r) {
    mg_graph_free(r->g);
    mg_params_free(r->P);
}

Test(cross_entropy, value_matches_a_double_hand_computation) {
    float z[] = {0.5f,  -1.0f, 2.0f,  0.25f, /* label 2 is the argmax: the log1p branch */
                 3.0f,  1.0f,  -2.0f, 0.0f,  /* label 3 is not */
                 -0.5f, -0.5f, 1.5f,  1.5f}; /* label 3 ties the max */
    int32_t y[] = {2, 3, 3};
    ce_graph r = ce_run(3, 4, z, y);
    cr_assert_eq(mg_graph_forward(r.g), MG_OK, "%s", mg_errmsg());
    double want = ce_reference(z, y, 3, 4);
    cr_expect_float_eq(mg_scalar(r.loss), want, 1e-6 * want, "loss %.9g, want %.9g",
                       mg_scalar(r.loss), want);
    /* gradient: (softmax - onehot) / n, also in double */
    cr_assert_eq(mg_graph_backward(r.g), MG_OK);
    for (int i = 0; i < 3; i++) {
        double s = 0;
        for (int j = 0; j < 4; j++) s += exp((double)z[i * 4 + j]);
        for (int j = 0; j < 4; j++) {
            double g = (exp((double)z[i * 4 + j]) / s - (j == y[i])) / 3;
            cr_expect_float_eq(r.z->grad[i * 4 + j], g, 1e-6, "(%d, %d)", i, j);
        }
    }
    ce_free(&r);
}

Test(cross_entropy, tiny_losses_and_gradients_keep_their_precision) {
    /* margin 30: each row's loss is log1p((c-1) e^-30) ~ 3.7e-13, which the
     * naive float form log(sum exp) - z_y rounds to 0 (and p_y - 1 too). */
    enum { N = 4, C = 5 };
    float z[N * C];
    int32_t y[N] = {0, 4, 2, 2};
    for (int i = 0; i < N; i++)
        for (int j = 0; j < C; j++) z[i * C + j] = j == y[i] ? 30.0f : 0.0f;
    ce_graph r = ce_run(N, C, z, y);
    cr_assert_eq(mg_graph_forward(r.g), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(mg_graph_backward(r.g), MG_OK);
    double e = exp(-30.0), s = 1 + (C - 1) * e;
    double want_loss = log1p((C - 1) * e);
    double loss = mg_scalar(r.loss);
    cr_log_info("tiny loss %.9g, exact %.9g", loss, want_loss);
    cr_assert_gt(loss, 0.0);
    cr_expect_float_eq(loss, want_loss, 1e-5 * want_loss, "loss %.9g, want %.9g", loss, want_loss);
    double want_other = e / s / N, want_true = -(C - 1) * e / s / N;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < C; j++) {
            double got = r.z->grad[i * C + j], want = j == y[i] ? want_true : want_other;
            cr_expect_neq(got, 0.0, "(%d, %d) rounded to 0", i, j);
            cr_expect_float_eq(got, want, 1e-5 * fabs(want), "(%d, %d): %.9g, want %.9g", i, j, got,
                               want);
        }
    ce_free(&r);
}

Test(cross_entropy, mean_loss_scales_with_the_upstream_gradient) {
    /* loss = 3 * CE: every gradient triples (backward reads dL) */
    mg_params *P = mg_params_new();
    mg_graph *g = mg_graph_new(P);
    mg_tensor *z = mg_param(g, "logits", MG_INIT_ZERO, MG_SHAPE(2, 3));
    mg_tensor *labels = mg_input(g, "labels", MG_I32, MG_SHAPE(2));
    mg_tensor *loss = mg_scale(g, mg_cross_entropy(g, z, labels), 3.0f);
    cr_assert_eq(mg_graph_compile(g, loss), MG_OK, "%s", mg_errmsg());
    mg_fill_i32(labels, (int32_t[]){1, 2});
    cr_assert_eq(mg_graph_forward(g), MG_OK);
    cr_assert_eq(mg_graph_backward(g), MG_OK);
    cr_expect_float_eq(mg_scalar(loss), 3 * log(3.0), 1e-6);
    /* uniform p = 1/3: dz = 3 (p - onehot) / 2 */
    float want[] = {0.5f, -1.0f, 0.5f, 0.5f, 0.5f, -1.0f};
    for (int i = 0; i < 6; i++) cr_expect_float_eq(z->grad[i], want[i], 1e-6, "element %d", i);
    mg_graph_free(g);
    mg_params_free(P);
}

static void expect_label_error(int32_t bad, const char *value_str) {
    float z[6] = {0};
    int32_t y[] = {0, bad};
    ce_graph r = ce_run(2, 3, z, y);
    cr_assert_eq(mg_graph_forward(r.g), MG_ERR_ARG);
    const char *msg = mg_errmsg();
    cr_expect(strstr(msg, "cross_entropy") != NULL, "%s", msg);
    cr_expect(strstr(msg, value_str) != NULL, "%s", msg);
    cr_expect(strstr(msg, "row 1") != NULL, "%s", msg);
    ce_free(&r);
}

Test(cross_entropy, label_past_the_classes_fails_in_forward_naming_row_and_value) {
    expect_label_error(3, "label 3");
}
Test(cross_entropy, negative_label_fails_in_forward_naming_row_and_value) {
    expect_label_error(-1, "label -1");
}

/* Builds cross_entropy on tensors of the given shapes and expects a shape
 * error naming the op and the offending shape. */
static void expect_shape_error(mg_dtype zt, int nz, const int64_t *sz, mg_dtype yt, int ny,
                               const int64_t *sy, const char *shape_str) {
    mg_params *P = mg_params_new();
    mg_graph *g = mg_graph_new(P);
    mg_tensor *z = mg_input(g, "z", zt, nz, sz), *y = mg_input(g, "y", yt, ny, sy);
    cr_assert_null(mg_cross_entropy(g, z, y));
    cr_assert_eq(mg_graph_status(g), MG_ERR_SHAPE);
    const char *msg = mg_graph_error(g);
    cr_expect(strstr(msg, "cross_entropy") != NULL, "%s", msg);
    cr_expect(strstr(msg, shape_str) != NULL, "%s", msg);
    mg_graph_free(g);
    mg_params_free(P);
}

Test(cross_entropy, logits_must_be_2d) {
    expect_shape_error(MG_F32, MG_SHAPE(2, 3, 4), MG_I32, MG_SHAPE(2), "(2, 3, 4)");
}
Test(cross_entropy, labels_must_be_int) {
    expect_shape_error(MG_F32, MG_SHAPE(2, 3), MG_F32, MG_SHAPE(2), "(2,)");
}
Test(cross_entropy, labels_must_have_one_per_row) {
    expect_shape_error(MG_F32, MG_SHAPE(2, 3), MG_I32, MG_SHAPE(3), "(3,)");
}

#include "ops/vexp.h"

Test(vexp, within_two_ulp_of_expf_and_zero_below_the_normal_range) {
    int worst = 0;
    float at = 0;
    for (int i = 0; i <= 200000; i++) {
        float x = -87.0f * (float)i / 200000.0f;
        float got = mg_vexp(x), want = expf(x);
        int32_t gb, wb;
        memcpy(&gb, &got, sizeof gb);
        memcpy(&wb, &want, sizeof wb);
        int ulp = abs(gb - wb);
        if (ulp > worst) worst = ulp, at = x;
    }
    cr_log_info("mg_vexp: worst %d ulp at x = %.7g", worst, at);
    cr_assert_leq(worst, 2, "mg_vexp is %d ulp from expf at x = %.7g", worst, at);
    cr_assert_eq(mg_vexp(0.0f), 1.0f);
    cr_assert_eq(mg_vexp(-90.0f), 0.0f);
    cr_assert_eq(mg_vexp(-INFINITY), 0.0f);
    cr_assert(isinf(mg_vexp(90.0f)) && isinf(mg_vexp(INFINITY)));
    cr_assert(isnan(mg_vexp(NAN)));
}
