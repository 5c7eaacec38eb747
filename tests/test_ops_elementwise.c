/* test_ops_elementwise.c — add, sub, mul with broadcasting; scale, relu,
 * square: gradients, values, shape errors. */
#include <criterion/criterion.h>
#include <string.h>

#include "ops/ops.h"
#include "tests/util/check_grad.h"

/* binary ops --------------------------------------------------------------- */

typedef mg_tensor *(*binary_fn)(mg_graph *, mg_tensor *, mg_tensor *);

typedef struct {
    binary_fn fn;
    int na, nb;
    int64_t sa[MG_MAX_DIMS], sb[MG_MAX_DIMS];
    bool same_input; /* b is a itself: fn(a, a) */
} bin_case;

static mg_tensor *build_binary(mg_graph *g, void *ctx) {
    const bin_case *c = ctx;
    mg_tensor *a = mg_param(g, "a", MG_NORMAL(1), c->na, c->sa);
    mg_tensor *b = c->same_input ? a : mg_param(g, "b", MG_NORMAL(1), c->nb, c->sb);
    return c->fn(g, a, b);
}

static void check_binary(const char *what, bin_case c) {
    mg_check_grad(what, (mg_gradcheck_spec){.build = build_binary, .ctx = &c, .seed = 11});
}

#define SAME(f) ((bin_case){f, 2, 2, {3, 4}, {3, 4}, false})
#define BIAS_ROW(f) ((bin_case){f, 2, 1, {5, 4}, {4}, false})
#define ROW_LEFT(f) ((bin_case){f, 1, 2, {4}, {5, 4}, false})
#define COLUMN(f) ((bin_case){f, 2, 2, {5, 4}, {5, 1}, false})
#define BCAST_3D(f) ((bin_case){f, 3, 2, {2, 1, 4}, {3, 1}, false})
#define ROW_3D(f) ((bin_case){f, 3, 1, {2, 3, 4}, {4}, false})
#define TAIL_3D(f) ((bin_case){f, 3, 2, {2, 3, 4}, {3, 4}, false})
#define TAIL_LEFT(f) ((bin_case){f, 3, 3, {1, 3, 4}, {2, 3, 4}, false})
#define ONE_ELEMENT(f) ((bin_case){f, 2, 2, {3, 4}, {1, 1}, false})
#define BCAST_4D(f) ((bin_case){f, 4, 3, {2, 1, 3, 1}, {4, 1, 5}, false})

Test(add, gradient_same_shape) { check_binary("add same", SAME(mg_add)); }
Test(add, gradient_bias_row_gets_column_sums) { check_binary("add bias", BIAS_ROW(mg_add)); }
Test(add, gradient_row_on_the_left) { check_binary("add row left", ROW_LEFT(mg_add)); }
Test(add, gradient_column_broadcast) { check_binary("add column", COLUMN(mg_add)); }
Test(add, gradient_3d_broadcast_both_ways) { check_binary("add 3d", BCAST_3D(mg_add)); }
Test(add, gradient_3d_bias_row) { check_binary("add 3d row", ROW_3D(mg_add)); }
Test(add, gradient_3d_trailing_block) { check_binary("add 3d tail", TAIL_3D(mg_add)); }
Test(add, gradient_trailing_block_on_the_left) { check_binary("add tail left", TAIL_LEFT(mg_add)); }
Test(add, gradient_one_element_against_all) { check_binary("add one", ONE_ELEMENT(mg_add)); }
Test(add, gradient_4d_broadcast) { check_binary("add 4d", BCAST_4D(mg_add)); }

Test(sub, gradient_same_shape) { check_binary("sub same", SAME(mg_sub)); }
Test(sub, gradient_bias_row_gets_column_sums) { check_binary("sub bias", BIAS_ROW(mg_sub)); }
Test(sub, gradient_row_on_the_left) { check_binary("sub row left", ROW_LEFT(mg_sub)); }
Test(sub, gradient_column_broadcast) { check_binary("sub column", COLUMN(mg_sub)); }
Test(sub, gradient_trailing_block_on_the_left) { check_binary("sub tail left", TAIL_LEFT(mg_sub)); }
Test(sub, gradient_3d_broadcast_both_ways) { check_binary("sub 3d", BCAST_3D(mg_sub)); }

Test(mul, gradient_same_shape) { check_binary("mul same", SAME(mg_mul)); }
Test(mul, gradient_bias_row_gets_column_sums) { check_binary("mul bias", BIAS_ROW(mg_mul)); }
Test(mul, gradient_row_on_the_left) { check_binary("mul row left", ROW_LEFT(mg_mul)); }
Test(mul, gradient_column_broadcast) { check_binary("mul column", COLUMN(mg_mul)); }
Test(mul, gradient_3d_broadcast_both_ways) { check_binary("mul 3d", BCAST_3D(mg_mul)); }
Test(mul, gradient_3d_bias_row) { check_binary("mul 3d row", ROW_3D(mg_mul)); }
Test(mul, gradient_3d_trailing_block) { check_binary("mul 3d tail", TAIL_3D(mg_mul)); }
Test(mul, gradient_trailing_block_on_the_left) { check_binary("mul tail left", TAIL_LEFT(mg_mul)); }
Test(mul, gradient_one_element_against_all) { check_binary("mul one", ONE_ELEMENT(mg_mul)); }
Test(mul, gradient_4d_broadcast) { check_binary("mul 4d", BCAST_4D(mg_mul)); }
Test(mul, gradient_of_x_times_itself_adds_both_sides) {
    check_binary("mul x*x", (bin_case){mg_mul, 2, 2, {3, 4}, {3, 4}, true});
}

/* Runs y = fn(a, b) on the given values and compares with want. */
static void check_values(binary_fn fn, int na, const int64_t *sa, const float *va, int nb,
                         const int64_t *sb, const float *vb, int ny, const int64_t *sy,
                         const float *want) {
    mg_params *P = mg_params_new();
    mg_graph *g = mg_graph_new(P);
    mg_tensor *a = mg_input(g, "a", MG_F32, na, sa), *b = mg_input(g, "b", MG_F32, nb, sb);
    mg_tensor *y = fn(g, a, b);
    cr_assert_not_null(y, "%s", mg_graph_error(g));
    cr_assert_eq(y->ndim, ny);
    for (int k = 0; k < ny; k++) cr_assert_eq(y->shape[k], sy[k], "dim %d", k);
    mg_graph_keep(g, y);
    cr_assert_eq(mg_graph_compile(g, NULL), MG_OK, "%s", mg_errmsg());
    memcpy(a->data, va, (size_t)mg_numel(a) * sizeof *va);
    memcpy(b->data, vb, (size_t)mg_numel(b) * sizeof *vb);
    cr_assert_eq(mg_graph_forward(g), MG_OK);
    for (int64_t i = 0; i < mg_numel(y); i++)
        cr_expect_float_eq(mg_f32(y)[i], want[i], 1e-6, "element %lld", (long long)i);
    mg_graph_free(g);
    mg_params_free(P);
}

static const float A23[] = {1, 2, 3, 4, 5, 6};
static const float ROW3[] = {10, 20, 30};
static const float COL2[] = {2, -1};

Test(add, values_of_a_bias_row) {
    float want[] = {11, 22, 33, 14, 25, 36};
    check_values(mg_add, MG_SHAPE(2, 3), A23, MG_SHAPE(3), ROW3, MG_SHAPE(2, 3), want);
}
Test(sub, values_of_a_row_minus_a_matrix) {
    float want[] = {9, 18, 27, 6, 15, 24};
    check_values(mg_sub, MG_SHAPE(3), ROW3, MG_SHAPE(2, 3), A23, MG_SHAPE(2, 3), want);
}
Test(mul, values_of_a_column_times_a_matrix) {
    float want[] = {2, 4, 6, -4, -5, -6};
    check_values(mg_mul, MG_SHAPE(2, 3), A23, MG_SHAPE(2, 1), COL2, MG_SHAPE(2, 3), want);
}
Test(mul, values_of_a_column_times_a_row_make_an_outer_product) {
    float want[] = {20, 40, 60, -10, -20, -30};
    check_values(mg_mul, MG_SHAPE(2, 1), COL2, MG_SHAPE(1, 3), ROW3, MG_SHAPE(2, 3), want);
}
Test(add, values_of_a_block_repeated_along_the_leading_dim) {
    float want[] = {2, 4, 6, 8, 10, 12, 8, 10, 12, 14, 16, 18}; /* x (2, 2, 3) + x[0] (2, 3) */
    float x[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    check_values(mg_add, MG_SHAPE(2, 2, 3), x, MG_SHAPE(2, 3), A23, MG_SHAPE(2, 2, 3), want);
}
Test(add, values_of_equal_shapes) {
    float want[] = {2, 4, 6, 8, 10, 12};
    check_values(mg_add, MG_SHAPE(2, 3), A23, MG_SHAPE(2, 3), A23, MG_SHAPE(2, 3), want);
}

/* Builds fn on inputs of shapes sa and sb and expects a shape error naming
 * the op and both shapes. */
static void expect_no_broadcast(binary_fn fn, const char *op, int na, const int64_t *sa, int nb,
                                const int64_t *sb, const char *stra, const char *strb) {
    mg_params *P = mg_params_new();
    mg_graph *g = mg_graph_new(P);
    mg_tensor *a = mg_input(g, "a", MG_F32, na, sa), *b = mg_input(g, "b", MG_F32, nb, sb);
    cr_assert_null(fn(g, a, b));
    cr_assert_eq(mg_graph_status(g), MG_ERR_SHAPE);
    const char *msg = mg_graph_error(g);
    cr_expect(strstr(msg, op) != NULL, "%s", msg);
    cr_expect(strstr(msg, stra) != NULL, "%s", msg);
    cr_expect(strstr(msg, strb) != NULL, "%s", msg);
    cr_expect(strstr(msg, "broadcast") != NULL, "%s", msg);
    mg_graph_free(g);
    mg_params_free(P);
}

Test(add, shapes_that_do_not_broadcast_name_the_op_and_both_shapes) {
    expect_no_broadcast(mg_add, "add:", MG_SHAPE(4, 3), MG_SHAPE(5), "(4, 3)", "(5,)");
}
Test(sub, shapes_that_do_not_broadcast_name_the_op_and_both_shapes) {
    expect_no_broadcast(mg_sub, "sub:", MG_SHAPE(2, 3, 4), MG_SHAPE(2, 1), "(2, 3, 4)", "(2, 1)");
}
Test(mul, shapes_that_do_not_broadcast_name_the_op_and_both_shapes) {
    expect_no_broadcast(mg_mul, "mul:", MG_SHAPE(5, 1), MG_SHAPE(4, 2), "(5, 1)", "(4, 2)");
}

Test(add, int_inputs_are_refused) {
    mg_params *P = mg_params_new();
    mg_graph *g = mg_graph_new(P);
    mg_tensor *a = mg_input(g, "a", MG_F32, MG_SHAPE(3)),
              *b = mg_input(g, "b", MG_I32, MG_SHAPE(3));
    cr_assert_null(mg_add(g, a, b));
    cr_expect(strstr(mg_graph_error(g), "add") != NULL, "%s", mg_graph_error(g));
    mg_graph_free(g);
    mg_params_free(P);
}

/* unary ops ------------------------------------------------------------------ */

typedef struct {
    int which; /* 0 scale, 1 relu, 2 square */
    mg_tensor *x;
} unary_case;

static mg_tensor *build_unary(mg_graph *g, void *ctx) {
    unary_case *c = ctx;
    c->x = mg_param(g, "x", MG_NORMAL(1), MG_SHAPE(4, 5));
    switch (c->which) {
    case 0: return mg_scale(g, c->x, -2.5f);
    case 1: return mg_relu(g, c->x);
    default: return mg_square(g, c->x);
    }
}

/* Pushes every element at least 0.1 away from 0, so no central difference
 * (eps 1e-3) straddles relu's kink. */
static void away_from_zero(mg_graph *g, void *ctx) {
    (void)g;
    unary_case *c = ctx;
    float *x = c->x->data;
    for (int64_t i = 0; i < mg_numel(c->x); i++) x[i] += x[i] >= 0 ? 0.1f : -0.1f;
}

Test(scale, gradient) {
    unary_case c = {.which = 0};
    mg_check_grad("scale", (mg_gradcheck_spec){.build = build_unary, .ctx = &c, .seed = 3});
}
Test(relu, gradient_away_from_the_kink) {
    unary_case c = {.which = 1};
    mg_check_grad("relu", (mg_gradcheck_spec){
                              .build = build_unary, .fill = away_from_zero, .ctx = &c, .seed = 3});
}
Test(square, gradient) {
    unary_case c = {.which = 2};
    mg_check_grad("square", (mg_gradcheck_spec){.build = build_unary, .ctx = &c, .seed = 3});
}

Test(relu, values_clip_negatives) {
    mg_params *P = mg_params_new();
    mg_graph *g = mg_graph_new(P);
    mg_tensor *x = mg_input(g, "x", MG_F32, MG_SHAPE(4));
    mg_tensor *r = mg_relu(g, x), *s = mg_scale(g, x, 3.0f), *q = mg_square(g, x);
    mg_graph_keep(g, r);
    mg_graph_keep(g, s);
    mg_graph_keep(g, q);
    cr_assert_eq(mg_graph_compile(g, NULL), MG_OK, "%s", mg_errmsg());
    float v[] = {-2, -0.5f, 0, 1.5f};
    memcpy(x->data, v, sizeof v);
    cr_assert_eq(mg_graph_forward(g), MG_OK);
    float wr[] = {0, 0, 0, 1.5f}, ws[] = {-6, -1.5f, 0, 4.5f}, wq[] = {4, 0.25f, 0, 2.25f};
    for (int i = 0; i < 4; i++) {
        cr_expect_float_eq(mg_f32(r)[i], wr[i], 1e-6);
        cr_expect_float_eq(mg_f32(s)[i], ws[i], 1e-6);
        cr_expect_float_eq(mg_f32(q)[i], wq[i], 1e-6);
    }
    mg_graph_free(g);
    mg_params_free(P);
}
