/* test_ops_fused.c — fused_sum: gradients of every kind of term (gathers
 * with repeated indices, full tensors, repeated blocks), with and without
 * the ReLU, on 2-D and 3-D outputs; values against the unfused ops; shape
 * and index errors. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "core/gemm.h"
#include "core/rewrite.h"
#include "core/rng.h"
#include "ops/ops.h"
#include "tests/util/check_grad.h"
#include "tests/util/fixture.h"

static const int32_t IDX_A[] = {1, 3, 1, 0, 3, 3}, IDX_B[] = {2, 2, 0, 4, 1, 2};

typedef struct {
    bool relu, three_d;
    mg_tensor *ia, *ib;
} fcase;

/* relu?(T1[a] + T2[b] + X + bias) over 6 rows of 4 (or (2, 3, 4) with a
 * (3, 4) position block instead of the bias row) */
static mg_tensor *build_fused(mg_graph *g, void *ctx) {
    fcase *c = ctx;
    mg_tensor *t1 = mg_param(g, "t1", MG_NORMAL(1), MG_SHAPE(4, 4));
    mg_tensor *t2 = mg_param(g, "t2", MG_NORMAL(1), MG_SHAPE(5, 4));
    mg_tensor *x, *blk;
    if (c->three_d) {
        c->ia = mg_input(g, "a", MG_I32, MG_SHAPE(2, 3));
        c->ib = mg_input(g, "b", MG_I32, MG_SHAPE(2, 3));
        x = mg_param(g, "x", MG_NORMAL(1), MG_SHAPE(2, 3, 4));
        blk = mg_param(g, "pos", MG_NORMAL(1), MG_SHAPE(3, 4));
    } else {
        c->ia = mg_input(g, "a", MG_I32, MG_SHAPE(6));
        c->ib = mg_input(g, "b", MG_I32, MG_SHAPE(6));
        x = mg_param(g, "x", MG_NORMAL(1), MG_SHAPE(6, 4));
        blk = mg_param(g, "bias", MG_NORMAL(1), MG_SHAPE(4));
    }
    mg_sum_term terms[] = {{t1, c->ia}, {x, NULL}, {t2, c->ib}, {blk, NULL}};
    return mg_fused_sum(g, 4, terms, c->relu);
}
static void fill_fused(mg_graph *g, void *ctx) {
    (void)g;
    fcase *c = ctx;
    mg_fill_i32(c->ia, IDX_A);
    mg_fill_i32(c->ib, IDX_B);
}

Test(fused_sum, gradient_of_gathers_full_and_bias) {
    fcase c = {.relu = false};
    mg_check_grad(
        "fused_sum",
        (mg_gradcheck_spec){.build = build_fused, .fill = fill_fused, .ctx = &c, .seed = 61});
}
Test(fused_sum, gradient_through_the_relu) {
    fcase c = {.relu = true};
    mg_check_grad(
        "fused_sum relu",
        (mg_gradcheck_spec){.build = build_fused, .fill = fill_fused, .ctx = &c, .seed = 62});
}
Test(fused_sum, gradient_on_3d_rows_with_a_position_block) {
    fcase c = {.relu = true, .three_d = true};
    mg_check_grad(
        "fused_sum 3-d",
        (mg_gradcheck_spec){.build = build_fused, .fill = fill_fused, .ctx = &c, .seed = 63});
}

/* The same table gathered twice: both terms add into one gradient. */
static mg_tensor *build_shared(mg_graph *g, void *ctx) {
    fcase *c = ctx;
    mg_tensor *t = mg_param(g, "t", MG_NORMAL(1), MG_SHAPE(5, 4));
    c->ia = mg_input(g, "a", MG_I32, MG_SHAPE(6));
    c->ib = mg_input(g, "b", MG_I32, MG_SHAPE(6));
    mg_sum_term terms[] = {{t, c->ia}, {t, c->ib}};
    return mg_fused_sum(g, 2, terms, true);
}
Test(fused_sum, gradient_when_one_table_is_gathered_twice) {
    fcase c = {0};
    mg_check_grad(
        "fused_sum shared table",
        (mg_gradcheck_spec){.build = build_shared, .fill = fill_fused, .ctx = &c, .seed = 64});
}

Test(fused_sum, values_equal_the_unfused_ops) {
    gp r = gp_new();
    mg_tensor *t1 = mg_param(r.g, "t1", MG_NORMAL(1), MG_SHAPE(4, 4));
    mg_tensor *t2 = mg_param(r.g, "t2", MG_NORMAL(1), MG_SHAPE(5, 4));
    mg_tensor *bias = mg_param(r.g, "bias", MG_NORMAL(1), MG_SHAPE(4));
    mg_tensor *ia = mg_input(r.g, "a", MG_I32, MG_SHAPE(6));
    mg_tensor *ib = mg_input(r.g, "b", MG_I32, MG_SHAPE(6));
    mg_sum_term terms[] = {{t1, ia}, {t2, ib}, {bias, NULL}};
    mg_tensor *f = mg_fused_sum(r.g, 3, terms, true);
    mg_tensor *u = mg_relu(
        r.g, mg_add(r.g, mg_add(r.g, mg_gather(r.g, t1, ia), mg_gather(r.g, t2, ib)), bias));
    cr_assert_not_null(f, "%s", mg_graph_error(r.g));
    cr_assert_not_null(u, "%s", mg_graph_error(r.g));
    mg_graph_keep(r.g, f);
    mg_graph_keep(r.g, u);
    cr_assert_eq(mg_graph_set_rewrites(r.g, "all"), MG_OK);
    cr_assert_eq(mg_graph_compile(r.g, NULL), MG_OK, "%s", mg_errmsg());
    mg_rng rng;
    mg_rng_seed(&rng, 5);
    mg_params_init(r.P, &rng);
    mg_fill_i32(ia, IDX_A);
    mg_fill_i32(ib, IDX_B);
    cr_assert_eq(mg_graph_forward(r.g), MG_OK, "%s", mg_errmsg());
    int zeros = 0;
    for (int i = 0; i < 24; i++) {
        cr_assert_eq(mg_f32(f)[i], mg_f32(u)[i], "element %d: %g vs %g", i, mg_f32(f)[i],
                     mg_f32(u)[i]);
        zeros += mg_f32(f)[i] == 0.0f;
    }
    cr_assert_gt(zeros, 0, "the ReLU cut nothing: the case does not test it");
    gp_free(&r);
}

Test(fused_sum, bad_terms_and_indices_are_errors) {
    gp r = gp_new();
    mg_tensor *t = mg_param(r.g, "t", MG_NORMAL(1), MG_SHAPE(5, 4));
    mg_tensor *ia = mg_input(r.g, "a", MG_I32, MG_SHAPE(6));
    mg_tensor *x = mg_input(r.g, "x", MG_F32, MG_SHAPE(6, 3));
    mg_sum_term bad[] = {{t, ia}, {x, NULL}};
    cr_assert_null(mg_fused_sum(r.g, 2, bad, false));
    cr_assert_str_not_empty(mg_graph_error(r.g));
    cr_assert(strstr(mg_graph_error(r.g), "fused_sum"), "%s", mg_graph_error(r.g));
    cr_assert(strstr(mg_graph_error(r.g), "(6, 3)"), "%s", mg_graph_error(r.g));
    gp_free(&r);

    r = gp_new();
    t = mg_param(r.g, "t", MG_NORMAL(1), MG_SHAPE(5, 4));
    ia = mg_input(r.g, "a", MG_I32, MG_SHAPE(6));
    mg_sum_term one[] = {{t, ia}};
    mg_tensor *f = mg_fused_sum(r.g, 1, one, true);
    mg_graph_keep(r.g, f);
    cr_assert_eq(mg_graph_compile(r.g, NULL), MG_OK, "%s", mg_errmsg());
    const int32_t out_of_range[] = {0, 1, 2, 5, 0, 0};
    mg_fill_i32(ia, out_of_range);
    cr_assert_eq(mg_graph_forward(r.g), MG_ERR_ARG);
    cr_assert(strstr(mg_errmsg(), "index 5 at row 3"), "%s", mg_errmsg());
    gp_free(&r);
}

/* Large enough for the kernel threads: 2 threads (each summing its rows
 * into its own copy of the tables) give the gradients of 1 thread. */
static void grads_with_threads(int threads, float *out, size_t *n) {
    mg_gemm_set_threads(threads);
    gp r = gp_new();
    enum { ROWS = 300, D = 256 };
    mg_tensor *t1 = mg_param(r.g, "t1", MG_NORMAL(1), MG_SHAPE(7, D));
    mg_tensor *t2 = mg_param(r.g, "t2", MG_NORMAL(1), MG_SHAPE(5, D));
    mg_tensor *bias = mg_param(r.g, "bias", MG_NORMAL(1), MG_SHAPE(D));
    mg_tensor *x = mg_param(r.g, "x", MG_NORMAL(1), MG_SHAPE(ROWS, D));
    mg_tensor *ia = mg_input(r.g, "a", MG_I32, MG_SHAPE(ROWS));
    mg_tensor *ib = mg_input(r.g, "b", MG_I32, MG_SHAPE(ROWS));
    mg_sum_term terms[] = {{t1, ia}, {t2, ib}, {bias, NULL}, {x, NULL}};
    mg_tensor *f = mg_fused_sum(r.g, 4, terms, true);
    mg_tensor *loss = mg_sum_all(r.g, mg_square(r.g, f));
    cr_assert_eq(mg_graph_compile(r.g, loss), MG_OK, "%s", mg_errmsg());
    mg_rng rng;
    mg_rng_seed(&rng, 9);
    mg_params_init(r.P, &rng);
    int32_t a[ROWS], b[ROWS];
    for (int i = 0; i < ROWS; i++) a[i] = (i * 3) % 7, b[i] = (i * 7) % 5;
    mg_fill_i32(ia, a);
    mg_fill_i32(ib, b);
    cr_assert_eq(mg_graph_forward(r.g), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(mg_graph_backward(r.g), MG_OK, "%s", mg_errmsg());
    *n = mg_params_total(r.P);
    memcpy(out, mg_params_grad(r.P), *n * sizeof(float));
    gp_free(&r);
    mg_gemm_set_threads(1);
}

Test(fused_sum, two_threads_give_the_gradients_of_one) {
    static float g1[300 * 256 + 13 * 256], g2[300 * 256 + 13 * 256];
    size_t n1, n2;
    grads_with_threads(1, g1, &n1);
    grads_with_threads(2, g2, &n2);
    cr_assert_eq(n1, n2);
    double worst = 0;
    for (size_t i = 0; i < n1; i++) {
        double e = fabs((double)g1[i] - g2[i]) / fmax(1.0, fabs((double)g1[i]));
        if (e > worst) worst = e;
    }
    cr_assert_lt(worst, 1e-5, "1 and 2 threads differ by %.3g (relative)", worst);
}
