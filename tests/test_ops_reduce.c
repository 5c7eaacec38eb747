/* test_ops_reduce.c — sum and mean over one axis or every element:
 * gradients, values on a (2, 3, 4) tensor, axis errors. */
#include <criterion/criterion.h>
#include <string.h>

#include "ops/ops.h"
#include "tests/util/check_grad.h"

typedef struct {
    bool mean;
    bool all; /* sum_all / mean_all; axis unused */
    int axis;
} red_case;

static mg_tensor *apply_case(mg_graph *g, mg_tensor *x, const red_case *c) {
    if (c->all) return c->mean ? mg_mean_all(g, x) : mg_sum_all(g, x);
    return c->mean ? mg_mean(g, x, c->axis) : mg_sum(g, x, c->axis);
}

static mg_tensor *build_reduce(mg_graph *g, void *ctx) {
    return apply_case(g, mg_param(g, "x", MG_NORMAL(1), MG_SHAPE(2, 3, 4)), ctx);
}

static void check(const char *what, red_case c) {
    mg_check_grad(what, (mg_gradcheck_spec){.build = build_reduce, .ctx = &c, .seed = 5});
}

Test(sum, gradient_axis_0) { check("sum axis 0", (red_case){.axis = 0}); }
Test(sum, gradient_axis_1) { check("sum axis 1", (red_case){.axis = 1}); }
Test(sum, gradient_axis_minus_1) { check("sum axis -1", (red_case){.axis = -1}); }
Test(mean, gradient_axis_0) { check("mean axis 0", (red_case){.mean = true, .axis = 0}); }
Test(mean, gradient_axis_1) { check("mean axis 1", (red_case){.mean = true, .axis = 1}); }
Test(mean, gradient_axis_minus_1) { check("mean axis -1", (red_case){.mean = true, .axis = -1}); }
Test(sum_all, gradient) { check("sum_all", (red_case){.all = true}); }
Test(mean_all, gradient) { check("mean_all", (red_case){.mean = true, .all = true}); }

/* Reduces x = (0, 1, ..., 23) shaped (2, 3, 4) and compares with want. */
static void check_values(red_case c, int ny, const int64_t *sy, const float *want) {
    mg_params *P = mg_params_new();
    mg_graph *g = mg_graph_new(P);
    mg_tensor *x = mg_input(g, "x", MG_F32, MG_SHAPE(2, 3, 4));
    mg_tensor *y = apply_case(g, x, &c);
    cr_assert_not_null(y, "%s", mg_graph_error(g));
    cr_assert_eq(y->ndim, ny);
    for (int k = 0; k < ny; k++) cr_assert_eq(y->shape[k], sy[k], "dim %d", k);
    mg_graph_keep(g, y);
    cr_assert_eq(mg_graph_compile(g, NULL), MG_OK, "%s", mg_errmsg());
    for (int i = 0; i < 24; i++) mg_f32(x)[i] = (float)i;
    cr_assert_eq(mg_graph_forward(g), MG_OK);
    for (int64_t i = 0; i < mg_numel(y); i++)
        cr_expect_float_eq(mg_f32(y)[i], want[i], 1e-5, "element %lld", (long long)i);
    mg_graph_free(g);
    mg_params_free(P);
}

/* x[a, j, k] = 12 a + 4 j + k */
Test(sum, values_over_axis_0) {
    float want[] = {12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34}; /* 12 + 2 (4j + k) */
    check_values((red_case){.axis = 0}, MG_SHAPE(3, 4), want);
}
Test(sum, values_over_axis_1) {
    float want[] = {12, 15, 18, 21, 48, 51, 54, 57}; /* 36 a + 12 + 3k */
    check_values((red_case){.axis = 1}, MG_SHAPE(2, 4), want);
}
Test(sum, values_over_the_last_axis_by_a_negative_index) {
    float want[] = {6, 22, 38, 54, 70, 86}; /* 4 (12 a + 4 j) + 6 */
    check_values((red_case){.axis = -1}, MG_SHAPE(2, 3), want);
}
Test(sum, values_over_axis_minus_3_is_axis_0) {
    float want[] = {12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34};
    check_values((red_case){.axis = -3}, MG_SHAPE(3, 4), want);
}
Test(mean, values_over_axis_1) {
    float want[] = {4, 5, 6, 7, 16, 17, 18, 19};
    check_values((red_case){.mean = true, .axis = 1}, MG_SHAPE(2, 4), want);
}
Test(mean, values_over_axis_0) {
    float want[] = {6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17};
    check_values((red_case){.mean = true, .axis = 0}, MG_SHAPE(3, 4), want);
}
Test(mean, values_over_the_last_axis) {
    float want[] = {1.5f, 5.5f, 9.5f, 13.5f, 17.5f, 21.5f};
    check_values((red_case){.mean = true, .axis = 2}, MG_SHAPE(2, 3), want);
}
Test(sum_all, value_is_a_0_dim_scalar) {
    float want[] = {276}; /* 23 * 24 / 2 */
    check_values((red_case){.all = true}, 0, NULL, want);
}
Test(mean_all, value_is_a_0_dim_scalar) {
    float want[] = {11.5f};
    check_values((red_case){.mean = true, .all = true}, 0, NULL, want);
}

Test(sum, accumulates_in_double) {
    /* 1e8 followed by many ones: float accumulation would drop every 1. */
    mg_params *P = mg_params_new();
    mg_graph *g = mg_graph_new(P);
    mg_tensor *x = mg_input(g, "x", MG_F32, MG_SHAPE(1001));
    mg_tensor *y = mg_sum_all(g, x), *z = mg_sum(g, x, 0);
    mg_graph_keep(g, y);
    mg_graph_keep(g, z);
    cr_assert_eq(mg_graph_compile(g, NULL), MG_OK, "%s", mg_errmsg());
    mg_f32(x)[0] = 1e8f;
    for (int i = 1; i < 1001; i++) mg_f32(x)[i] = 1.0f;
    cr_assert_eq(mg_graph_forward(g), MG_OK);
    cr_expect_eq(mg_scalar(y), 100001000.0f);
    cr_expect_eq(mg_scalar(z), 100001000.0f);
    mg_graph_free(g);
    mg_params_free(P);
}

static void expect_bad_axis(bool mean, int axis, const char *op, const char *axis_str) {
    mg_params *P = mg_params_new();
    mg_graph *g = mg_graph_new(P);
    mg_tensor *x = mg_input(g, "x", MG_F32, MG_SHAPE(2, 3, 4));
    cr_assert_null(mean ? mg_mean(g, x, axis) : mg_sum(g, x, axis));
    cr_assert_eq(mg_graph_status(g), MG_ERR_SHAPE);
    const char *msg = mg_graph_error(g);
    cr_expect(strstr(msg, op) != NULL, "%s", msg);
    cr_expect(strstr(msg, "(2, 3, 4)") != NULL, "%s", msg);
    cr_expect(strstr(msg, axis_str) != NULL, "%s", msg);
    mg_graph_free(g);
    mg_params_free(P);
}

Test(sum, axis_past_the_last_dim_is_an_error_naming_op_and_shape) {
    expect_bad_axis(false, 3, "sum:", "axis 3");
}
Test(sum, negative_axis_past_the_first_dim_is_an_error) {
    expect_bad_axis(false, -4, "sum:", "axis -4");
}
Test(mean, axis_out_of_range_is_an_error_naming_op_and_shape) {
    expect_bad_axis(true, 7, "mean:", "axis 7");
}
