/* test_matmul.c — matrix products: values, gradients, views, errors. */
#include <criterion/criterion.h>
#include <string.h>

#include "ops/ops.h"
#include "tests/util/gradcheck.h"

typedef struct {
    int64_t m, k, n;
    int batch;    /* 0: 2-D; otherwise batch count of a */
    bool b_batch; /* b batched too */
    bool ta, tb;  /* operands given transposed (as views) */
} mm_case;

static mg_tensor *build_mm(mg_graph *g, void *ctx) {
    const mm_case *c = ctx;
    mg_tensor *a, *b;
    if (c->batch) {
        a = c->ta ? mg_transpose(g, mg_param(g, "a", MG_NORMAL(1), MG_SHAPE(c->batch, c->k, c->m)))
                  : mg_param(g, "a", MG_NORMAL(1), MG_SHAPE(c->batch, c->m, c->k));
    } else {
        a = c->ta ? mg_transpose(g, mg_param(g, "a", MG_NORMAL(1), MG_SHAPE(c->k, c->m)))
                  : mg_param(g, "a", MG_NORMAL(1), MG_SHAPE(c->m, c->k));
    }
    if (c->b_batch)
        b = c->tb ? mg_transpose(g, mg_param(g, "b", MG_NORMAL(1), MG_SHAPE(c->batch, c->n, c->k)))
                  : mg_param(g, "b", MG_NORMAL(1), MG_SHAPE(c->batch, c->k, c->n));
    else
        b = c->tb ? mg_transpose(g, mg_param(g, "b", MG_NORMAL(1), MG_SHAPE(c->n, c->k)))
                  : mg_param(g, "b", MG_NORMAL(1), MG_SHAPE(c->k, c->n));
    return mg_matmul(g, a, b);
}

static void check(mm_case c) {
    mg_gradcheck_spec spec = {.build = build_mm, .ctx = &c, .seed = 7};
    mg_gradcheck_result r;
    int rc = mg_gradcheck(&spec, &r);
    cr_assert_str_empty(r.error, "%s", r.error);
    cr_assert(r.n_checked > 0);
    cr_assert_eq(rc, 0, "%d of %d bad, worst %s (max rel %.3g)", r.n_bad, r.n_checked, r.worst,
                 r.max_rel_err);
}

Test(matmul, gradient_2d_non_square) { check((mm_case){.m = 5, .k = 3, .n = 7}); }
Test(matmul, gradient_2d_transposed_a) { check((mm_case){.m = 5, .k = 3, .n = 7, .ta = true}); }
Test(matmul, gradient_2d_transposed_b) { check((mm_case){.m = 4, .k = 6, .n = 3, .tb = true}); }
Test(matmul, gradient_2d_both_transposed) {
    check((mm_case){.m = 4, .k = 6, .n = 3, .ta = true, .tb = true});
}
Test(matmul, gradient_batched_shared_b) { check((mm_case){.m = 3, .k = 4, .n = 5, .batch = 2}); }
Test(matmul, gradient_batched_both) {
    check((mm_case){.m = 3, .k = 4, .n = 2, .batch = 3, .b_batch = true});
}
Test(matmul, gradient_batched_transposed) {
    check((mm_case){.m = 3, .k = 4, .n = 2, .batch = 3, .b_batch = true, .ta = true, .tb = true});
}

/* Products above the small-product threshold (8192 multiply-adds) go to
 * BLIS per batch entry; below it, plain loops. Both paths are checked. */
Test(matmul, gradient_batched_through_blis) {
    check((mm_case){.m = 20, .k = 24, .n = 21, .batch = 2, .b_batch = true, .tb = true});
}

Test(matmul, values_match_hand_computation) {
    mg_params *P = mg_params_new();
    mg_graph *g = mg_graph_new(P);
    mg_tensor *a = mg_input(g, "a", MG_F32, MG_SHAPE(2, 3));
    mg_tensor *b = mg_input(g, "b", MG_F32, MG_SHAPE(3, 2));
    mg_tensor *c = mg_matmul(g, a, mg_transpose(g, mg_transpose(g, b)));
    mg_graph_keep(g, c);
    cr_assert_eq(mg_graph_compile(g, NULL), MG_OK, "%s", mg_errmsg());
    float av[] = {1, 2, 3, 4, 5, 6}, bv[] = {7, 8, 9, 10, 11, 12};
    memcpy(a->data, av, sizeof av);
    memcpy(b->data, bv, sizeof bv);
    cr_assert_eq(mg_graph_forward(g), MG_OK);
    float want[] = {58, 64, 139, 154};
    for (int i = 0; i < 4; i++) cr_expect_float_eq(mg_f32(c)[i], want[i], 1e-5);
    mg_graph_free(g);
    mg_params_free(P);
}

Test(matmul, inner_dim_mismatch_names_op_and_shapes) {
    mg_params *P = mg_params_new();
    mg_graph *g = mg_graph_new(P);
    mg_tensor *a = mg_input(g, "a", MG_F32, MG_SHAPE(4, 3));
    mg_tensor *b = mg_input(g, "b", MG_F32, MG_SHAPE(5, 2));
    cr_assert_null(mg_matmul(g, a, b));
    cr_assert_eq(mg_graph_status(g), MG_ERR_SHAPE);
    const char *msg = mg_graph_error(g);
    cr_expect(strstr(msg, "matmul") != NULL, "%s", msg);
    cr_expect(strstr(msg, "(4, 3)") != NULL, "%s", msg);
    cr_expect(strstr(msg, "(5, 2)") != NULL, "%s", msg);
    /* the error is sticky: later calls return NULL and keep the first message */
    cr_assert_null(mg_relu(g, NULL));
    cr_expect(strstr(mg_graph_error(g), "matmul") != NULL);
    cr_assert_eq(mg_graph_compile(g, NULL), MG_ERR_SHAPE);
    mg_graph_free(g);
    mg_params_free(P);
}
