/* test_ops_gather.c — gather (embedding lookup), concat along the last
 * axis, and the causal mask: gradients, values, errors. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "ops/ops.h"
#include "tests/util/check_grad.h"
#include "tests/util/fixture.h"

/* gather ------------------------------------------------------------------------ */

typedef struct {
    int nidx;
    int64_t sidx[3];
    const int32_t *values;
    mg_tensor *idx;
} gather_case;

/* table (5, 3) parameter, idx input */
static mg_tensor *build_gather(mg_graph *g, void *ctx) {
    gather_case *c = ctx;
    mg_tensor *table = mg_param(g, "table", MG_NORMAL(1), MG_SHAPE(5, 3));
    c->idx = mg_input(g, "idx", MG_I32, c->nidx, c->sidx);
    return mg_gather(g, table, c->idx);
}
static void fill_idx(mg_graph *g, void *ctx) {
    (void)g;
    gather_case *c = ctx;
    mg_fill_i32(c->idx, c->values);
}

static const int32_t REPEATED[] = {1, 3, 1, 0, 3, 3};

Test(gather, gradient_with_repeated_indices) {
    gather_case c = {.nidx = 1, .sidx = {6}, .values = REPEATED};
    mg_check_grad(
        "gather idx (6)",
        (mg_gradcheck_spec){.build = build_gather, .fill = fill_idx, .ctx = &c, .seed = 41});
}
Test(gather, gradient_with_2d_indices) {
    gather_case c = {.nidx = 2, .sidx = {2, 3}, .values = REPEATED};
    mg_check_grad(
        "gather idx (2, 3)",
        (mg_gradcheck_spec){.build = build_gather, .fill = fill_idx, .ctx = &c, .seed = 42});
}

Test(gather, values_are_rows_and_repeated_rows_add_their_gradients) {
    gp r = gp_new();
    mg_tensor *table = mg_param(r.g, "table", MG_INIT_ZERO, MG_SHAPE(4, 2));
    mg_tensor *idx = mg_input(r.g, "idx", MG_I32, MG_SHAPE(2, 3));
    mg_tensor *y = mg_gather(r.g, table, idx);
    cr_assert_not_null(y, "%s", mg_graph_error(r.g));
    cr_assert_eq(y->ndim, 3);
    cr_assert_eq(y->shape[0], 2);
    cr_assert_eq(y->shape[1], 3);
    cr_assert_eq(y->shape[2], 2);
    mg_tensor *loss = mg_sum_all(r.g, y);
    mg_graph_keep(r.g, y);
    cr_assert_eq(mg_graph_compile(r.g, loss), MG_OK, "%s", mg_errmsg());
    for (int i = 0; i < 8; i++)
        mg_f32(table)[i] = (float)(10 * (i / 2) + i % 2); /* row k: 10k, 10k+1 */
    mg_fill_i32(idx, (int32_t[]){3, 0, 3, 1, 3, 2});
    cr_assert_eq(mg_graph_forward(r.g), MG_OK, "%s", mg_errmsg());
    float want[] = {30, 31, 0, 1, 30, 31, 10, 11, 30, 31, 20, 21};
    for (int i = 0; i < 12; i++) cr_expect_eq(mg_f32(y)[i], want[i], "element %d", i);
    cr_assert_eq(mg_graph_backward(r.g), MG_OK);
    float dwant[] = {1, 1, 1, 1, 1, 1, 3, 3}; /* row 3 was taken three times */
    for (int i = 0; i < 8; i++) cr_expect_eq(table->grad[i], dwant[i], "grad %d", i);
    gp_free(&r);
}

Test(gather, index_out_of_range_fails_in_forward_naming_position_and_value) {
    gp r = gp_new();
    mg_tensor *table = mg_input(r.g, "table", MG_F32, MG_SHAPE(5, 2));
    mg_tensor *idx = mg_input(r.g, "idx", MG_I32, MG_SHAPE(2, 2));
    mg_tensor *y = mg_gather(r.g, table, idx);
    mg_graph_keep(r.g, y);
    cr_assert_eq(mg_graph_compile(r.g, NULL), MG_OK, "%s", mg_errmsg());
    mg_fill_i32(idx, (int32_t[]){0, 4, 5, 1});
    cr_assert_eq(mg_graph_forward(r.g), MG_ERR_ARG);
    const char *msg = mg_errmsg();
    cr_expect(strstr(msg, "gather") != NULL, "%s", msg);
    cr_expect(strstr(msg, "index 5") != NULL, "%s", msg);
    cr_expect(strstr(msg, "[1, 0]") != NULL, "%s", msg);
    mg_fill_i32(idx, (int32_t[]){0, -2, 1, 1});
    cr_assert_eq(mg_graph_forward(r.g), MG_ERR_ARG);
    cr_expect(strstr(mg_errmsg(), "index -2") != NULL, "%s", mg_errmsg());
    gp_free(&r);
}

Test(gather, table_must_be_2d_float_and_indices_int) {
    gp r = gp_new();
    mg_tensor *table = mg_input(r.g, "table", MG_F32, MG_SHAPE(5, 2));
    mg_tensor *fidx = mg_input(r.g, "idx", MG_F32, MG_SHAPE(3));
    cr_assert_null(mg_gather(r.g, table, fidx));
    cr_expect(strstr(mg_graph_error(r.g), "gather") != NULL, "%s", mg_graph_error(r.g));
    cr_expect(strstr(mg_graph_error(r.g), "(3,)") != NULL, "%s", mg_graph_error(r.g));
    gp_free(&r);
}

/* concat ------------------------------------------------------------------------ */

typedef struct {
    int n;
    int nd;
    int64_t shapes[3][3];
} concat_case;

static mg_tensor *build_concat(mg_graph *g, void *ctx) {
    const concat_case *c = ctx;
    mg_tensor *xs[3];
    const char *names[] = {"x0", "x1", "x2"};
    for (int k = 0; k < c->n; k++) xs[k] = mg_param(g, names[k], MG_NORMAL(1), c->nd, c->shapes[k]);
    return c->n == 2 ? mg_concat2(g, xs[0], xs[1]) : mg_concat(g, c->n, xs);
}

Test(concat, gradient_of_two_inputs) {
    concat_case c = {2, 2, {{3, 2}, {3, 4}}};
    mg_check_grad("concat 2", (mg_gradcheck_spec){.build = build_concat, .ctx = &c, .seed = 51});
}
Test(concat, gradient_of_three_3d_inputs) {
    concat_case c = {3, 3, {{2, 2, 1}, {2, 2, 3}, {2, 2, 2}}};
    mg_check_grad("concat 3", (mg_gradcheck_spec){.build = build_concat, .ctx = &c, .seed = 52});
}

Test(concat, values_interleave_rows) {
    gp r = gp_new();
    mg_tensor *a = mg_input(r.g, "a", MG_F32, MG_SHAPE(2, 1));
    mg_tensor *b = mg_input(r.g, "b", MG_F32, MG_SHAPE(2, 2));
    mg_tensor *y = mg_concat2(r.g, a, b);
    cr_assert_not_null(y, "%s", mg_graph_error(r.g));
    cr_assert_eq(y->shape[1], 3);
    mg_graph_keep(r.g, y);
    cr_assert_eq(mg_graph_compile(r.g, NULL), MG_OK, "%s", mg_errmsg());
    memcpy(a->data, (float[]){1, 2}, 2 * sizeof(float));
    memcpy(b->data, (float[]){10, 11, 20, 21}, 4 * sizeof(float));
    cr_assert_eq(mg_graph_forward(r.g), MG_OK);
    float want[] = {1, 10, 11, 2, 20, 21};
    for (int i = 0; i < 6; i++) cr_expect_eq(mg_f32(y)[i], want[i], "element %d", i);
    gp_free(&r);
}

Test(concat, other_dims_must_match_and_the_error_names_both_shapes) {
    gp r = gp_new();
    mg_tensor *a = mg_input(r.g, "a", MG_F32, MG_SHAPE(3, 2));
    mg_tensor *b = mg_input(r.g, "b", MG_F32, MG_SHAPE(4, 2));
    cr_assert_null(mg_concat2(r.g, a, b));
    cr_assert_eq(mg_graph_status(r.g), MG_ERR_SHAPE);
    const char *msg = mg_graph_error(r.g);
    cr_expect(strstr(msg, "concat") != NULL, "%s", msg);
    cr_expect(strstr(msg, "(3, 2)") != NULL, "%s", msg);
    cr_expect(strstr(msg, "(4, 2)") != NULL, "%s", msg);
    gp_free(&r);
}

/* causal mask ------------------------------------------------------------------- */

Test(causal_mask, values_are_minus_infinity_above_the_diagonal) {
    gp r = gp_new();
    mg_tensor *x = mg_input(r.g, "x", MG_F32, MG_SHAPE(2, 3, 3));
    mg_tensor *y = mg_causal_mask(r.g, x);
    mg_graph_keep(r.g, y);
    cr_assert_eq(mg_graph_compile(r.g, NULL), MG_OK, "%s", mg_errmsg());
    for (int i = 0; i < 18; i++) mg_f32(x)[i] = (float)(i + 1);
    cr_assert_eq(mg_graph_forward(r.g), MG_OK);
    for (int b = 0; b < 2; b++)
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++) {
                float v = mg_f32(y)[b * 9 + i * 3 + j];
                if (j > i) cr_expect(isinf(v) && v < 0, "(%d, %d, %d) = %g", b, i, j, v);
                else cr_expect_eq(v, (float)(b * 9 + i * 3 + j + 1), "(%d, %d, %d)", b, i, j);
            }
    gp_free(&r);
}

static mg_tensor *build_masked_softmax(mg_graph *g, void *ctx) {
    (void)ctx;
    mg_tensor *x = mg_param(g, "x", MG_NORMAL(1), MG_SHAPE(2, 4, 4));
    return mg_softmax(g, mg_causal_mask(g, x));
}

Test(causal_mask, gradient_through_softmax) {
    mg_check_grad("softmax(causal_mask) (2, 4, 4)",
                  (mg_gradcheck_spec){.build = build_masked_softmax, .seed = 61});
}

Test(causal_mask, masked_entries_get_no_gradient) {
    gp r = gp_new();
    mg_tensor *x = mg_param(r.g, "x", MG_NORMAL(1), MG_SHAPE(3, 3));
    mg_tensor *w = mg_input(r.g, "w", MG_F32, MG_SHAPE(3, 3));
    mg_tensor *loss = mg_sum_all(r.g, mg_mul(r.g, mg_softmax(r.g, mg_causal_mask(r.g, x)), w));
    cr_assert_eq(mg_graph_compile(r.g, loss), MG_OK, "%s", mg_errmsg());
    mg_rng rng;
    mg_rng_seed(&rng, 3);
    mg_params_init(r.P, &rng);
    for (int i = 0; i < 9; i++) mg_f32(w)[i] = (float)(i % 4) - 1.5f;
    cr_assert_eq(mg_graph_forward(r.g), MG_OK);
    cr_assert_eq(mg_graph_backward(r.g), MG_OK);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            float d = x->grad[i * 3 + j];
            if (j > i) cr_expect_eq(d, 0.0f, "(%d, %d) = %g", i, j, d);
            else if (i > 0) cr_expect_neq(d, 0.0f, "(%d, %d)", i, j);
        }
    gp_free(&r);
}

/* The kernel alone, called on hand-made tensors: through a softmax the
 * masked entries' upstream gradient is already 0, so only a direct call
 * shows that backward itself drops dy above the diagonal. */
Test(causal_mask, backward_passes_dy_only_on_and_below_the_diagonal) {
    const mg_op *op = mg_op_find("causal_mask");
    cr_assert_not_null(op);
    float xv[9] = {0}, dx[9] = {0}, yv[9], dy[9];
    for (int i = 0; i < 9; i++) dy[i] = (float)(i + 1);
    mg_tensor x = {.ndim = 2, .shape = {3, 3}, .dtype = MG_F32, .data = xv, .grad = dx};
    mg_tensor y = {.op = op, .n_in = 1, .in = {&x}};
    cr_assert_eq(op->shape(&y), MG_OK);
    y.data = yv;
    y.grad = dy;
    op->backward(&y);
    float want[9] = {1, 0, 0, 4, 5, 0, 7, 8, 9};
    for (int i = 0; i < 9; i++) cr_expect_eq(dx[i], want[i], "element %d", i);
    op->backward(&y); /* backward adds */
    for (int i = 0; i < 9; i++) cr_expect_eq(dx[i], 2 * want[i], "element %d", i);
}

Test(causal_mask, last_two_dims_must_be_equal) {
    gp r = gp_new();
    mg_tensor *x = mg_input(r.g, "x", MG_F32, MG_SHAPE(2, 3, 4));
    cr_assert_null(mg_causal_mask(r.g, x));
    cr_assert_eq(mg_graph_status(r.g), MG_ERR_SHAPE);
    const char *msg = mg_graph_error(r.g);
    cr_expect(strstr(msg, "causal_mask") != NULL, "%s", msg);
    cr_expect(strstr(msg, "(2, 3, 4)") != NULL, "%s", msg);
    gp_free(&r);
}
