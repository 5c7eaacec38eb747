/* test_views.c — permute, transpose, slice, reshape: gradients, storage
 * sharing, the copy a reshape of a view inserts, errors. */
#include <criterion/criterion.h>
#include <string.h>

#include "ops/ops.h"
#include "tests/util/check_grad.h"
#include "tests/util/fixture.h"

/* Each gradient check ends in mg_contiguous: gradcheck reads the checked
 * tensor's values as one contiguous run, which a strided view is not. */
typedef enum {
    PERMUTE_3D,
    PERMUTE_4D,
    TRANSPOSE_2D,
    TRANSPOSE_3D,
    SLICE_0,
    SLICE_1,
    SLICE_2,
    SLICE_LAST_NEG,
    RESHAPE_INFER,
    RESHAPE_OF_TRANSPOSE,
    MATMUL_OF_SLICES,
    EXPAND,
    MATMUL_OF_EXPAND,
    AS_STRIDED_ALL,
    AS_STRIDED_PART,
} view_case;

static mg_tensor *build_view(mg_graph *g, void *ctx) {
    view_case c = *(const view_case *)ctx;
    mg_tensor *x3 = NULL, *y = NULL;
    if (c >= SLICE_0 && c <= SLICE_LAST_NEG) x3 = mg_param(g, "x", MG_NORMAL(1), MG_SHAPE(4, 5, 6));
    switch (c) {
    case PERMUTE_3D:
        y = mg_permute(g, mg_param(g, "x", MG_NORMAL(1), MG_SHAPE(2, 3, 4)), (int[]){2, 0, 1});
        break;
    case PERMUTE_4D:
        y = mg_permute(g, mg_param(g, "x", MG_NORMAL(1), MG_SHAPE(2, 3, 4, 5)),
                       (int[]){3, 1, 0, 2});
        break;
    case TRANSPOSE_2D: y = mg_transpose(g, mg_param(g, "x", MG_NORMAL(1), MG_SHAPE(3, 5))); break;
    case TRANSPOSE_3D:
        y = mg_transpose(g, mg_param(g, "x", MG_NORMAL(1), MG_SHAPE(2, 3, 4)));
        break;
    case SLICE_0: y = mg_slice(g, x3, 0, 1, 2); break;
    case SLICE_1: y = mg_slice(g, x3, 1, 2, 3); break;
    case SLICE_2: y = mg_slice(g, x3, 2, 1, 4); break;
    case SLICE_LAST_NEG: y = mg_slice(g, mg_slice(g, x3, -1, 3, 3), 0, 3, 1); break;
    case RESHAPE_INFER:
        y = mg_reshape(g, mg_param(g, "x", MG_NORMAL(1), MG_SHAPE(2, 3, 4)), MG_SHAPE(4, -1));
        break;
    case RESHAPE_OF_TRANSPOSE:
        y = mg_reshape(g, mg_transpose(g, mg_param(g, "x", MG_NORMAL(1), MG_SHAPE(4, 6))),
                       MG_SHAPE(3, 8));
        break;
    case MATMUL_OF_SLICES: {
        /* a: columns 1..4 of a (5, 6) (row stride 6); b: rows 2..5 of a (7, 3) */
        mg_tensor *a = mg_slice(g, mg_param(g, "a", MG_NORMAL(1), MG_SHAPE(5, 6)), 1, 1, 4);
        mg_tensor *b = mg_slice(g, mg_param(g, "b", MG_NORMAL(1), MG_SHAPE(7, 3)), 0, 2, 4);
        return mg_matmul(g, a, b);
    }
    case EXPAND: /* (1, 3, 4) seen 5 times, times a per-row weight */
        return mg_mul(g, mg_expand(g, mg_param(g, "x", MG_NORMAL(1), MG_SHAPE(1, 3, 4)), 5),
                      mg_param(g, "w", MG_NORMAL(1), MG_SHAPE(5, 3, 4)));
    case AS_STRIDED_ALL: /* every element, permuted: (2, 3, 4) seen as (4, 2, 3) */
        y = mg_as_strided(g, mg_param(g, "x", MG_NORMAL(1), MG_SHAPE(2, 3, 4)), 3,
                          (int64_t[]){4, 2, 3}, (int64_t[]){1, 12, 4}, 0);
        break;
    case AS_STRIDED_PART: /* a (2, 2) window at offset 5: the rest gets no gradient */
        y = mg_as_strided(g, mg_param(g, "x", MG_NORMAL(1), MG_SHAPE(2, 3, 4)), 2,
                          (int64_t[]){2, 2}, (int64_t[]){12, 1}, 5);
        break;
    case MATMUL_OF_EXPAND: /* a batch stride of 0, as the attention query of "=" */
        return mg_matmul(g, mg_expand(g, mg_param(g, "q", MG_NORMAL(1), MG_SHAPE(1, 2, 1, 3)), 4),
                         mg_param(g, "k", MG_NORMAL(1), MG_SHAPE(4, 2, 3, 5)));
    }
    return mg_contiguous(g, y);
}

static void check(const char *what, view_case c) {
    mg_check_grad(what, (mg_gradcheck_spec){.build = build_view, .ctx = &c, .seed = 71});
}

Test(permute, gradient_3d) { check("permute 3d", PERMUTE_3D); }
Test(permute, gradient_4d) { check("permute 4d", PERMUTE_4D); }
Test(transpose, gradient_2d) { check("transpose 2d", TRANSPOSE_2D); }
Test(transpose, gradient_3d_swaps_the_last_two_dims) { check("transpose 3d", TRANSPOSE_3D); }
Test(slice, gradient_axis_0) { check("slice axis 0", SLICE_0); }
Test(slice, gradient_axis_1) { check("slice axis 1", SLICE_1); }
Test(slice, gradient_axis_2) { check("slice axis 2", SLICE_2); }
Test(slice, gradient_of_a_slice_of_a_slice_by_negative_axis) {
    check("slice of slice", SLICE_LAST_NEG);
}
Test(reshape, gradient_with_an_inferred_dim) { check("reshape -1", RESHAPE_INFER); }
Test(reshape, gradient_of_a_reshaped_transpose) {
    check("reshape of transpose", RESHAPE_OF_TRANSPOSE);
}
Test(matmul, gradient_of_sliced_operands) { check("matmul of slices", MATMUL_OF_SLICES); }

Test(expand, gradient_sums_the_rows) { check("expand", EXPAND); }
Test(expand, gradient_through_a_batched_matmul) { check("matmul of expand", MATMUL_OF_EXPAND); }
Test(as_strided, gradient_of_a_permutation_of_every_element) {
    check("as_strided all", AS_STRIDED_ALL);
}
Test(as_strided, gradient_of_a_window) { check("as_strided part", AS_STRIDED_PART); }
Test(as_strided, a_view_past_the_storage_is_an_error) {
    gp r = gp_new();
    mg_tensor *x = mg_input(r.g, "x", MG_F32, MG_SHAPE(2, 3));
    cr_assert_null(mg_as_strided(r.g, x, 2, (int64_t[]){2, 3}, (int64_t[]){3, 1}, 1));
    cr_assert(strstr(mg_graph_error(r.g), "as_strided"), "%s", mg_graph_error(r.g));
    gp_free(&r);
}
Test(expand, needs_a_first_dim_of_one) {
    gp r = gp_new();
    cr_assert_null(mg_expand(r.g, mg_input(r.g, "x", MG_F32, MG_SHAPE(2, 3)), 4));
    cr_assert(strstr(mg_graph_error(r.g), "expand") && strstr(mg_graph_error(r.g), "(2, 3)"), "%s",
              mg_graph_error(r.g));
    gp_free(&r);
}

Test(transpose, is_a_view_sharing_the_input_storage) {
    gp r = gp_new();
    mg_tensor *x = mg_input(r.g, "x", MG_F32, MG_SHAPE(2, 3));
    mg_tensor *t = mg_transpose(r.g, x);
    mg_graph_keep(r.g, t);
    cr_assert_eq(mg_graph_compile(r.g, NULL), MG_OK, "%s", mg_errmsg());
    cr_expect_eq(t->root, x);
    const float *xd = x->data, *td = t->data;
    cr_expect(td >= xd && td < xd + 6, "the view's data lies inside its input's");
    cr_expect_eq(mg_graph_arena_bytes(r.g), 0, "a view gets no buffer of its own");
    cr_expect_eq(t->shape[0], 3);
    cr_expect_eq(t->shape[1], 2);
    for (int i = 0; i < 6; i++) mg_f32(x)[i] = (float)i;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 2; j++)
            cr_expect_eq(td[i * t->stride[0] + j * t->stride[1]], xd[j * 3 + i], "(%d, %d)", i, j);
    gp_free(&r);
}

Test(slice, is_a_view_at_an_offset_into_the_input) {
    gp r = gp_new();
    mg_tensor *x = mg_input(r.g, "x", MG_F32, MG_SHAPE(4, 5));
    mg_tensor *s = mg_slice(r.g, x, 1, 2, 3);
    mg_graph_keep(r.g, s);
    cr_assert_eq(mg_graph_compile(r.g, NULL), MG_OK, "%s", mg_errmsg());
    cr_expect_eq((const float *)s->data, (const float *)x->data + 2);
    for (int i = 0; i < 20; i++) mg_f32(x)[i] = (float)i;
    cr_expect_eq(mg_f32(s)[3 * s->stride[0] + 1 * s->stride[1]], 3 * 5 + 2 + 1);
    gp_free(&r);
}

Test(reshape, of_a_transposed_view_inserts_a_contiguous_copy) {
    gp r = gp_new();
    mg_tensor *x = mg_input(r.g, "x", MG_F32, MG_SHAPE(2, 3));
    mg_tensor *y = mg_reshape(r.g, mg_transpose(r.g, x), MG_SHAPE(6));
    cr_assert_not_null(y, "%s", mg_graph_error(r.g));
    cr_expect_eq(y->in[0]->op, &mg_op_contiguous);
    mg_graph_keep(r.g, y);
    cr_assert_eq(mg_graph_compile(r.g, NULL), MG_OK, "%s", mg_errmsg());
    for (int i = 0; i < 6; i++) mg_f32(x)[i] = (float)i;
    cr_assert_eq(mg_graph_forward(r.g), MG_OK);
    float want[] = {0, 3, 1, 4, 2, 5}; /* x^T read row by row */
    for (int i = 0; i < 6; i++) cr_expect_eq(mg_f32(y)[i], want[i], "element %d", i);
    gp_free(&r);
}

Test(reshape, of_a_contiguous_tensor_is_a_view_with_an_inferred_dim) {
    gp r = gp_new();
    mg_tensor *x = mg_input(r.g, "x", MG_F32, MG_SHAPE(2, 3, 4));
    mg_tensor *y = mg_reshape(r.g, x, MG_SHAPE(-1, 4));
    cr_assert_not_null(y, "%s", mg_graph_error(r.g));
    cr_expect_eq(y->shape[0], 6);
    cr_expect_eq(y->root, x);
    gp_free(&r);
}

/* Expects the builder's error to name op and the shape. */
static void expect_error(gp *r, mg_tensor *y, const char *op, const char *shape) {
    cr_assert_null(y);
    cr_assert_eq(mg_graph_status(r->g), MG_ERR_SHAPE);
    const char *msg = mg_graph_error(r->g);
    cr_expect(strstr(msg, op) != NULL, "%s", msg);
    cr_expect(strstr(msg, shape) != NULL, "%s", msg);
}

Test(permute, a_repeated_dim_is_an_error_naming_op_and_shape) {
    gp r = gp_new();
    mg_tensor *x = mg_input(r.g, "x", MG_F32, MG_SHAPE(2, 3, 4));
    expect_error(&r, mg_permute(r.g, x, (int[]){0, 0, 1}), "permute", "(2, 3, 4)");
    gp_free(&r);
}
Test(permute, a_dim_out_of_range_is_an_error) {
    gp r = gp_new();
    mg_tensor *x = mg_input(r.g, "x", MG_F32, MG_SHAPE(2, 3));
    expect_error(&r, mg_permute(r.g, x, (int[]){1, 2}), "permute", "(2, 3)");
    gp_free(&r);
}
Test(slice, a_range_past_the_end_is_an_error_naming_op_and_shape) {
    gp r = gp_new();
    mg_tensor *x = mg_input(r.g, "x", MG_F32, MG_SHAPE(4, 5));
    expect_error(&r, mg_slice(r.g, x, 1, 3, 4), "slice", "(4, 5)");
    gp_free(&r);
}
Test(slice, a_bad_axis_is_an_error) {
    gp r = gp_new();
    mg_tensor *x = mg_input(r.g, "x", MG_F32, MG_SHAPE(4, 5));
    expect_error(&r, mg_slice(r.g, x, 2, 0, 1), "slice", "(4, 5)");
    gp_free(&r);
}
Test(reshape, a_different_element_count_is_an_error_naming_op_and_shape) {
    gp r = gp_new();
    mg_tensor *x = mg_input(r.g, "x", MG_F32, MG_SHAPE(2, 3));
    expect_error(&r, mg_reshape(r.g, x, MG_SHAPE(4, 2)), "reshape", "(2, 3)");
    gp_free(&r);
}
Test(reshape, an_inferred_dim_that_does_not_divide_is_an_error) {
    gp r = gp_new();
    mg_tensor *x = mg_input(r.g, "x", MG_F32, MG_SHAPE(2, 3));
    expect_error(&r, mg_reshape(r.g, x, MG_SHAPE(4, -1)), "reshape", "(2, 3)");
    gp_free(&r);
}
Test(transpose, of_a_1d_tensor_is_an_error) {
    gp r = gp_new();
    mg_tensor *x = mg_input(r.g, "x", MG_F32, MG_SHAPE(5));
    expect_error(&r, mg_transpose(r.g, x), "transpose", "(5,)");
    gp_free(&r);
}
