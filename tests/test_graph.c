/* test_graph.c — whole graphs: an MLP's gradients end to end, gradient
 * accumulation over several consumers, build errors (arity, NULL, unknown
 * op, sticky shape errors), the memory plan and its no-allocation steps,
 * kept tensors. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "ops/ops.h"
#include "tests/util/check_grad.h"
#include "tests/util/fixture.h"

/* A two-layer MLP with biases and cross-entropy ------------------------------ */

typedef struct {
    int64_t n, d_in, hidden, classes;
    mg_tensor *x, *labels, *h, *logits;
} mlp;

/* loss = CE(relu(x W1 + b1) W2 + b2, labels) */
static mg_tensor *build_mlp(mg_graph *g, void *ctx) {
    mlp *m = ctx;
    m->x = mg_input(g, "x", MG_F32, MG_SHAPE(m->n, m->d_in));
    m->labels = mg_input(g, "labels", MG_I32, MG_SHAPE(m->n));
    mg_tensor *W1 = mg_param(g, "hidden.w", MG_NORMAL(0.5), MG_SHAPE(m->d_in, m->hidden));
    mg_tensor *b1 = mg_param(g, "hidden.b", MG_NORMAL(0.5), MG_SHAPE(m->hidden));
    mg_tensor *W2 = mg_param(g, "out.w", MG_NORMAL(0.5), MG_SHAPE(m->hidden, m->classes));
    mg_tensor *b2 = mg_param(g, "out.b", MG_NORMAL(0.5), MG_SHAPE(m->classes));
    m->h = mg_relu(g, mg_add(g, mg_matmul(g, m->x, W1), b1));
    m->logits = mg_add(g, mg_matmul(g, m->h, W2), b2);
    return mg_cross_entropy(g, m->logits, m->labels);
}

/* Deterministic inputs: x_ij = sin(i + 2j) (in [-1, 1]), labels i mod classes. */
static void fill_mlp(mg_graph *g, void *ctx) {
    (void)g;
    mlp *m = ctx;
    for (int64_t i = 0; i < m->n; i++) {
        for (int64_t j = 0; j < m->d_in; j++)
            mg_f32(m->x)[i * m->d_in + j] = (float)sin((double)(i + 2 * j));
        mg_i32(m->labels)[i] = (int32_t)(i % m->classes);
    }
}

Test(graph, mlp_with_biases_and_cross_entropy_has_correct_gradients_for_every_parameter) {
    mlp m = {.n = 6, .d_in = 5, .hidden = 8, .classes = 4};
    mg_check_grad("mlp",
                  (mg_gradcheck_spec){.build = build_mlp, .fill = fill_mlp, .ctx = &m, .seed = 81});
}

/* Several consumers: y = relu(x) feeds y*y (twice) and matmul(y, w) -------- */

typedef struct {
    mg_tensor *x;
} consumers;

static mg_tensor *build_consumers(mg_graph *g, void *ctx) {
    consumers *c = ctx;
    c->x = mg_param(g, "x", MG_NORMAL(1), MG_SHAPE(3, 4));
    mg_tensor *w = mg_param(g, "w", MG_NORMAL(1), MG_SHAPE(4, 4));
    mg_tensor *y = mg_relu(g, c->x);
    return mg_add(g, mg_mul(g, y, y), mg_matmul(g, y, w));
}
/* keep x at least 0.1 from relu's kink */
static void away_from_zero(mg_graph *g, void *ctx) {
    (void)g;
    consumers *c = ctx;
    for (int i = 0; i < 12; i++) mg_f32(c->x)[i] += mg_f32(c->x)[i] >= 0 ? 0.1f : -0.1f;
}

Test(graph, a_tensor_with_several_consumers_accumulates_its_gradient) {
    consumers c = {0};
    mg_check_grad("several consumers",
                  (mg_gradcheck_spec){
                      .build = build_consumers, .fill = away_from_zero, .ctx = &c, .seed = 82});
}

/* Build errors ---------------------------------------------------------------- */

static void expect_msg(const char *msg, const char *part) {
    cr_expect(strstr(msg, part) != NULL, "'%s' not in: %s", part, msg);
}

Test(graph, wrong_arity_names_the_op_and_the_counts) {
    gp r = gp_new();
    mg_tensor *x = mg_input(r.g, "x", MG_F32, MG_SHAPE(3));
    const mg_op *add = mg_op_find("add");
    cr_assert_not_null(add);
    cr_assert_null(mg_apply(r.g, add, 1, &x, NULL));
    cr_assert_eq(mg_graph_status(r.g), MG_ERR_ARG);
    expect_msg(mg_graph_error(r.g), "add");
    expect_msg(mg_graph_error(r.g), "2 inputs");
    expect_msg(mg_graph_error(r.g), "got 1");
    gp_free(&r);
}

Test(graph, variadic_arity_out_of_range_names_the_op) {
    gp r = gp_new();
    mg_tensor *x = mg_input(r.g, "x", MG_F32, MG_SHAPE(3));
    mg_tensor *xs[MG_MAX_INPUTS + 1];
    for (int k = 0; k <= MG_MAX_INPUTS; k++) xs[k] = x;
    cr_assert_null(mg_concat(r.g, MG_MAX_INPUTS + 1, xs));
    expect_msg(mg_graph_error(r.g), "concat");
    char want[32];
    snprintf(want, sizeof want, "got %d", MG_MAX_INPUTS + 1);
    expect_msg(mg_graph_error(r.g), want);
    gp_free(&r);
}

Test(graph, a_null_input_names_the_op_and_the_input) {
    gp r = gp_new();
    cr_assert_null(mg_relu(r.g, NULL));
    cr_assert_eq(mg_graph_status(r.g), MG_ERR_ARG);
    expect_msg(mg_graph_error(r.g), "relu");
    expect_msg(mg_graph_error(r.g), "input 0 is NULL");
    gp_free(&r);
}

Test(graph, an_unknown_op_name_lists_the_registered_ops) {
    gp r = gp_new();
    mg_tensor *x = mg_input(r.g, "x", MG_F32, MG_SHAPE(3));
    cr_assert_null(mg_apply_named(r.g, "nope", 1, &x, NULL));
    cr_assert_eq(mg_graph_status(r.g), MG_ERR_ARG);
    const char *msg = mg_graph_error(r.g);
    expect_msg(msg, "unknown op");
    expect_msg(msg, "nope");
    expect_msg(msg, "relu");
    expect_msg(msg, "cross_entropy");
    gp_free(&r);
}

Test(graph, a_shape_error_names_op_and_shapes_and_is_sticky) {
    gp r = gp_new();
    mg_tensor *a = mg_input(r.g, "a", MG_F32, MG_SHAPE(4, 3));
    mg_tensor *b = mg_input(r.g, "b", MG_F32, MG_SHAPE(5));
    cr_assert_null(mg_add(r.g, a, b));
    cr_assert_eq(mg_graph_status(r.g), MG_ERR_SHAPE);
    expect_msg(mg_graph_error(r.g), "add: shapes (4, 3) and (5,) do not broadcast");
    /* later calls return NULL, even valid ones, and keep the first message */
    cr_expect_null(mg_relu(r.g, a));
    cr_expect_null(mg_input(r.g, "c", MG_F32, MG_SHAPE(2)));
    cr_expect_null(mg_param(r.g, "p", MG_NORMAL(1), MG_SHAPE(2)));
    cr_expect_null(mg_concat2(r.g, a, NULL));
    expect_msg(mg_graph_error(r.g), "add: shapes (4, 3) and (5,)");
    cr_assert_eq(mg_graph_compile(r.g, NULL), MG_ERR_SHAPE);
    expect_msg(mg_errmsg(), "add: shapes (4, 3) and (5,)");
    gp_free(&r);
}

/* Memory plan ----------------------------------------------------------------- */

static mlp big_mlp(void) { return (mlp){.n = 64, .d_in = 16, .hidden = 32, .classes = 10}; }

static void compile_mlp(gp *r, mlp *m) {
    mg_tensor *loss = build_mlp(r->g, m);
    cr_assert_not_null(loss, "%s", mg_graph_error(r->g));
    cr_assert_eq(mg_graph_compile(r->g, loss), MG_OK, "%s", mg_errmsg());
    mg_rng rng;
    mg_rng_seed(&rng, 9);
    mg_params_init(r->P, &rng);
    fill_mlp(r->g, m);
}

Test(graph, the_plan_reuses_buffers) {
    gp r = gp_new();
    mlp m = big_mlp();
    compile_mlp(&r, &m);
    size_t planned = mg_graph_arena_bytes(r.g), unplanned = mg_graph_unplanned_bytes(r.g);
    cr_log_info("mlp arena %zu bytes, unplanned %zu bytes", planned, unplanned);
    cr_expect_gt(planned, 0);
    cr_expect_lt(planned, unplanned, "arena %zu bytes, without reuse %zu", planned, unplanned);
    gp_free(&r);
}

Test(graph, steps_after_the_first_allocate_nothing) {
    gp r = gp_new();
    mlp m = big_mlp();
    compile_mlp(&r, &m);
    cr_assert_eq(mg_graph_forward(r.g), MG_OK, "%s", mg_errmsg()); /* warm-up step */
    cr_assert_eq(mg_graph_backward(r.g), MG_OK, "%s", mg_errmsg());
    uint64_t before = mg_alloc_count();
    for (int step = 0; step < 3; step++) {
        cr_assert_eq(mg_graph_forward(r.g), MG_OK, "%s", mg_errmsg());
        cr_assert_eq(mg_graph_backward(r.g), MG_OK, "%s", mg_errmsg());
    }
    cr_expect_eq(mg_alloc_count(), before, "%llu allocations in 3 steps",
                 (unsigned long long)(mg_alloc_count() - before));
    gp_free(&r);
}

Test(graph, repeated_steps_give_identical_gradients) {
    /* gradients are zeroed by each backward, never carried over */
    gp r = gp_new();
    mlp m = big_mlp();
    compile_mlp(&r, &m);
    size_t total = mg_params_total(r.P);
    static float first[16 * 32 + 32 + 32 * 10 + 10];
    cr_assert_eq(total, sizeof first / sizeof *first);
    cr_assert_eq(mg_graph_forward(r.g), MG_OK);
    cr_assert_eq(mg_graph_backward(r.g), MG_OK);
    memcpy(first, mg_params_grad(r.P), sizeof first);
    cr_assert_eq(mg_graph_forward(r.g), MG_OK);
    cr_assert_eq(mg_graph_backward(r.g), MG_OK);
    cr_expect_eq(memcmp(first, mg_params_grad(r.P), sizeof first), 0);
    gp_free(&r);
}

/* Kept tensors ---------------------------------------------------------------- */

Test(graph, kept_tensors_stay_readable_after_forward_and_backward) {
    gp r = gp_new();
    mlp m = big_mlp();
    mg_tensor *loss = build_mlp(r.g, &m);
    mg_graph_keep(r.g, m.h);
    mg_graph_keep(r.g, m.logits);
    cr_assert_eq(mg_graph_compile(r.g, loss), MG_OK, "%s", mg_errmsg());
    mg_rng rng;
    mg_rng_seed(&rng, 9);
    mg_params_init(r.P, &rng);
    fill_mlp(r.g, &m);
    cr_assert_eq(mg_graph_forward(r.g), MG_OK);
    cr_assert_eq(mg_graph_backward(r.g), MG_OK);
    /* recompute h = relu(x W1 + b1) and the logits in double */
    const float *x = m.x->data, *P = mg_params_data(r.P);
    const float *W1 = P + mg_params_info(r.P, mg_params_find(r.P, "hidden.w"))->offset;
    const float *b1 = P + mg_params_info(r.P, mg_params_find(r.P, "hidden.b"))->offset;
    const float *W2 = P + mg_params_info(r.P, mg_params_find(r.P, "out.w"))->offset;
    const float *b2 = P + mg_params_info(r.P, mg_params_find(r.P, "out.b"))->offset;
    double max_err = 0;
    for (int64_t i = 0; i < m.n; i++) {
        double h[32];
        for (int64_t k = 0; k < m.hidden; k++) {
            double s = b1[k];
            for (int64_t j = 0; j < m.d_in; j++)
                s += (double)x[i * m.d_in + j] * W1[j * m.hidden + k];
            h[k] = s > 0 ? s : 0;
            max_err = fmax(max_err, fabs(mg_f32(m.h)[i * m.hidden + k] - h[k]));
        }
        for (int64_t c = 0; c < m.classes; c++) {
            double s = b2[c];
            for (int64_t k = 0; k < m.hidden; k++) s += h[k] * W2[k * m.classes + c];
            max_err = fmax(max_err, fabs(mg_f32(m.logits)[i * m.classes + c] - s));
        }
    }
    cr_expect_lt(max_err, 1e-4, "kept values differ from a recomputation by %g", max_err);
    gp_free(&r);
}
