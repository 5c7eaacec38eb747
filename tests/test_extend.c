/* test_extend.c — a user op defined and registered outside the engine:
 * found by name, used in a graph, gradient-checked; the registry refuses a
 * second op of the same name and an op without a shape function. */
#include <criterion/criterion.h>
#include <string.h>

#include "ops/ops.h"
#include "tests/util/check_grad.h"

/* The user's op: all of it ------------------------------------------------- */

static mg_status cube_shape(mg_tensor *out) {
    const mg_tensor *x = out->in[0];
    if (x->dtype != MG_F32) {
        char sx[64];
        return mg_fail(MG_ERR_SHAPE, "cube: input must be float, got int %s",
                       mg_shape_str(x, sx, sizeof sx));
    }
    out->ndim = x->ndim;
    out->dtype = MG_F32;
    for (int k = 0; k < x->ndim; k++) out->shape[k] = x->shape[k];
    return MG_OK;
}
/* y = x^3;  dx += 3 x^2 dy */
// x: (any) -> y: (any)
static mg_status cube_forward(mg_tensor *out) {
    const float *x = out->in[0]->data;
    float *y = out->data;
    for (int64_t i = 0, n = mg_numel(out); i < n; i++) y[i] = x[i] * x[i] * x[i];
    return MG_OK;
}
static void cube_backward(mg_tensor *out) {
    float *dx = out->in[0]->grad;
    const float *x = out->in[0]->data, *dy = out->grad;
    if (!dx) return;
    for (int64_t i = 0, n = mg_numel(out); i < n; i++) dx[i] += 3.0f * x[i] * x[i] * dy[i];
}
static const mg_op cube = {
    .name = "cube",
    .arity = 1,
    .flags = MG_OP_BWD_IN,
    .shape = cube_shape,
    .forward = cube_forward,
    .backward = cube_backward,
};
MG_REGISTER_OP(cube) /* the one line that makes it known by name */

/* ------------------------------------------------------------------------- */

Test(extend, a_user_op_is_found_by_name) {
    cr_expect_eq(mg_op_find("cube"), &cube);
    bool listed = false;
    for (int i = 0; i < mg_op_count(); i++) listed |= mg_op_at(i) == &cube;
    cr_expect(listed, "cube is among the %d registered ops", mg_op_count());
}

Test(extend, registering_the_same_op_again_is_harmless) {
    cr_expect_eq(mg_op_register(&cube), MG_OK, "%s", mg_errmsg());
    cr_expect_eq(mg_op_find("cube"), &cube);
}

static mg_tensor *build_cube(mg_graph *g, void *ctx) {
    (void)ctx;
    mg_tensor *x = mg_param(g, "x", MG_NORMAL(1), MG_SHAPE(3, 4));
    return mg_apply_named(g, "cube", 1, &x, NULL);
}

Test(extend, a_user_op_used_by_name_passes_a_gradient_check) {
    mg_check_grad("cube", (mg_gradcheck_spec){.build = build_cube, .seed = 91});
}

Test(extend, a_user_op_computes_its_values) {
    mg_params *P = mg_params_new();
    mg_graph *g = mg_graph_new(P);
    mg_tensor *x = mg_input(g, "x", MG_F32, MG_SHAPE(3));
    mg_tensor *y = mg_apply_named(g, "cube", 1, &x, NULL);
    cr_assert_not_null(y, "%s", mg_graph_error(g));
    mg_graph_keep(g, y);
    cr_assert_eq(mg_graph_compile(g, NULL), MG_OK, "%s", mg_errmsg());
    memcpy(x->data, (float[]){-2, 0.5f, 3}, 3 * sizeof(float));
    cr_assert_eq(mg_graph_forward(g), MG_OK);
    cr_expect_eq(mg_f32(y)[0], -8.0f);
    cr_expect_eq(mg_f32(y)[1], 0.125f);
    cr_expect_eq(mg_f32(y)[2], 27.0f);
    mg_graph_free(g);
    mg_params_free(P);
}

Test(extend, a_second_op_with_a_taken_name_is_refused) {
    mg_op impostor = cube; /* another struct, same name */
    cr_assert_eq(mg_op_register(&impostor), MG_ERR_ARG);
    cr_expect(strstr(mg_errmsg(), "cube") != NULL, "%s", mg_errmsg());
    cr_expect(strstr(mg_errmsg(), "already registered") != NULL, "%s", mg_errmsg());
    cr_expect_eq(mg_op_find("cube"), &cube, "the first registration stands");
}

Test(extend, a_builtin_name_is_taken_too) {
    mg_op relu2 = cube;
    relu2.name = "relu";
    cr_assert_eq(mg_op_register(&relu2), MG_ERR_ARG);
    cr_expect(strstr(mg_errmsg(), "relu") != NULL, "%s", mg_errmsg());
}

Test(extend, an_op_without_a_shape_function_is_refused) {
    static const mg_op shapeless = {
        .name = "shapeless",
        .arity = 1,
        .forward = cube_forward,
        .backward = cube_backward,
    };
    cr_assert_eq(mg_op_register(&shapeless), MG_ERR_ARG);
    cr_expect(strstr(mg_errmsg(), "shapeless") != NULL, "%s", mg_errmsg());
    cr_expect(strstr(mg_errmsg(), "shape function") != NULL, "%s", mg_errmsg());
    cr_expect_null(mg_op_find("shapeless"));
}
