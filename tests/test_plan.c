/* test_plan.c — the memory plan's correctness contract made loud: an op
 * whose backward reads a value its flags do not declare (MG_OP_BWD_IN /
 * MG_OP_BWD_OUT) fails the gradient check in checking mode, where a plan
 * without reuse hides it; checking mode and reuse off change no result;
 * the passes' readers table answers like a walk of the graph; and a
 * six-block transformer compiles, its rewrites giving the plain graph's
 * step in checking mode. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/rewrite.h"
#include "core/rng.h"
#include "ops/ops.h"
#include "tests/util/check_grad.h"

/* Two ops that lie: their backward reads a value they do not declare. ---- */

static mg_status same_shape(mg_tensor *out) {
    out->ndim = out->in[0]->ndim;
    out->dtype = MG_F32;
    memcpy(out->shape, out->in[0]->shape, sizeof out->shape);
    return MG_OK;
}
/* y = x^2;  dx += 2 x dy: reads x, but omits MG_OP_BWD_IN */
static mg_status sq_forward(mg_tensor *out) {
    const float *x = out->in[0]->data;
    for (int64_t i = 0; i < mg_numel(out); i++) mg_f32(out)[i] = x[i] * x[i];
    return MG_OK;
}
static void sq_backward(mg_tensor *out) {
    const float *x = out->in[0]->data;
    for (int64_t i = 0; out->in[0]->grad && i < mg_numel(out); i++)
        out->in[0]->grad[i] += 2.0f * x[i] * out->grad[i];
}
static const mg_op liar_in = {.name = "t_liar_in",
                              .arity = 1,
                              .shape = same_shape,
                              .forward = sq_forward,
                              .backward = sq_backward};
static const mg_op honest_in = {.name = "t_honest_in",
                                .arity = 1,
                                .flags = MG_OP_BWD_IN,
                                .shape = same_shape,
                                .forward = sq_forward,
                                .backward = sq_backward};

/* y = exp(x);  dx += y dy: reads y, but omits MG_OP_BWD_OUT */
static mg_status exp_forward(mg_tensor *out) {
    const float *x = out->in[0]->data;
    for (int64_t i = 0; i < mg_numel(out); i++) mg_f32(out)[i] = expf(x[i]);
    return MG_OK;
}
static void exp_backward(mg_tensor *out) {
    for (int64_t i = 0; out->in[0]->grad && i < mg_numel(out); i++)
        out->in[0]->grad[i] += mg_f32(out)[i] * out->grad[i];
}
static const mg_op liar_out = {.name = "t_liar_out",
                               .arity = 1,
                               .shape = same_shape,
                               .forward = exp_forward,
                               .backward = exp_backward};

/* y = op(2 w) + 1: the op's input and output are planned buffers, each read
 * last (as declared) by the forward of the next node. */
static mg_tensor *build_with(mg_graph *g, void *ctx) {
    mg_tensor *w = mg_param(g, "w", MG_NORMAL(0.5), MG_SHAPE(3, 5));
    mg_tensor *x = mg_scale(g, w, 2.0f);
    mg_tensor *y = mg_apply(g, ctx, 1, &x, NULL);
    return mg_add(g, y, mg_scale(g, y, 0.0f));
}

static int check_way(const mg_op *op, unsigned way, mg_gradcheck_result *r) {
    mg_gradcheck_spec spec = {.build = build_with, .ctx = (void *)op, .seed = 3};
    return mg_gradcheck_way(&spec, way, r);
}

Test(plan, a_backward_reading_an_undeclared_input_fails_in_checking_mode) {
    mg_gradcheck_result r;
    /* without reuse the input's buffer keeps its values: the lie goes unseen */
    cr_expect_eq(check_way(&liar_in, MG_GC_NO_REUSE, &r), 0, "%s %s", r.error, r.worst);
    cr_assert_str_empty(r.error);
    cr_expect_eq(check_way(&liar_in, MG_GC_CHECKING | MG_GC_NO_REUSE, &r), 1);
    cr_expect_gt(r.n_bad, 0);
    cr_expect(strstr(r.worst, "nan"), "the gradient is NaN: %s", r.worst);
    cr_expect_eq(check_way(&liar_in, MG_GC_CHECKING, &r), 1);
    mg_gradcheck_spec spec = {.build = build_with, .ctx = (void *)&liar_in, .seed = 3};
    cr_expect_eq(mg_gradcheck(&spec, &r), 1, "every gradient check runs in checking mode");
    /* the same op telling the truth passes every way */
    mg_check_grad("t_honest_in",
                  (mg_gradcheck_spec){.build = build_with, .ctx = (void *)&honest_in, .seed = 3});
}

Test(plan, a_backward_reading_an_undeclared_output_fails_in_checking_mode) {
    mg_gradcheck_result r;
    cr_expect_eq(check_way(&liar_out, MG_GC_NO_REUSE, &r), 0, "%s %s", r.error, r.worst);
    cr_expect_eq(check_way(&liar_out, MG_GC_CHECKING | MG_GC_NO_REUSE, &r), 1);
    cr_expect(strstr(r.worst, "nan"), "%s", r.worst);
}

/* A small network compiled one way: loss and gradients after two steps. */
typedef struct {
    float loss;
    float grad[64];
    size_t n, arena, unplanned;
} outcome;

static outcome run_way(bool checking, bool reuse) {
    mg_params *P = mg_params_new();
    mg_graph *g = mg_graph_new(P);
    cr_assert_eq(mg_graph_set_checking(g, checking), MG_OK);
    cr_assert_eq(mg_graph_set_reuse(g, reuse), MG_OK);
    mg_tensor *idx = mg_input(g, "idx", MG_I32, MG_SHAPE(6));
    mg_tensor *labels = mg_input(g, "labels", MG_I32, MG_SHAPE(6));
    mg_tensor *E = mg_param(g, "embed", MG_NORMAL(1), MG_SHAPE(5, 4));
    mg_tensor *W = mg_param(g, "w", MG_NORMAL(1), MG_SHAPE(4, 3));
    mg_tensor *h = mg_relu(g, mg_square(g, mg_gather(g, E, idx)));
    mg_tensor *loss = mg_cross_entropy(g, mg_softmax(g, mg_matmul(g, h, W)), labels);
    cr_assert_eq(mg_graph_compile(g, loss), MG_OK, "%s", mg_errmsg());
    mg_rng rng;
    mg_rng_seed(&rng, 9);
    mg_params_init(P, &rng);
    mg_fill_i32(idx, (int32_t[]){0, 4, 2, 2, 1, 3});
    mg_fill_i32(labels, (int32_t[]){2, 0, 1, 1, 0, 2});
    uint64_t before = mg_alloc_count();
    for (int step = 0; step < 2; step++) {
        cr_assert_eq(mg_graph_forward(g), MG_OK, "%s", mg_errmsg());
        cr_assert_eq(mg_graph_backward(g), MG_OK, "%s", mg_errmsg());
    }
    cr_expect_eq(mg_alloc_count(), before, "a step allocates nothing");
    outcome o = {.loss = mg_scalar(loss), .n = mg_params_total(P)};
    cr_assert_leq(o.n, 64);
    memcpy(o.grad, mg_params_grad(P), o.n * sizeof(float));
    o.arena = mg_graph_arena_bytes(g);
    o.unplanned = mg_graph_unplanned_bytes(g);
    mg_graph_free(g);
    mg_params_free(P);
    return o;
}

Test(plan, checking_mode_and_reuse_off_change_no_result) {
    outcome base = run_way(false, true);
    cr_expect_lt(base.arena, base.unplanned, "buffers share space");
    cr_assert(isfinite(base.loss));
    for (int way = 1; way < 4; way++) {
        outcome o = run_way(way & 1, !(way & 2));
        cr_expect_eq(memcmp(&o.loss, &base.loss, sizeof o.loss), 0, "way %d: loss %.9g vs %.9g",
                     way, o.loss, base.loss);
        cr_expect_eq(memcmp(o.grad, base.grad, base.n * sizeof(float)), 0,
                     "way %d: the same gradient bits", way);
        if (way & 2) cr_expect_eq(o.arena, o.unplanned, "reuse off: every buffer its own space");
    }
}

Test(plan, checking_and_reuse_are_set_before_compiling) {
    mg_params *P = mg_params_new();
    mg_graph *g = mg_graph_new(P);
    mg_tensor *x = mg_input(g, "x", MG_F32, MG_SHAPE(2));
    mg_graph_keep(g, mg_relu(g, x));
    cr_assert_eq(mg_graph_compile(g, NULL), MG_OK);
    cr_expect_eq(mg_graph_set_checking(g, true), MG_ERR_STATE);
    cr_expect(strstr(mg_errmsg(), "before mg_graph_compile"), "%s", mg_errmsg());
    cr_expect_eq(mg_graph_set_reuse(g, false), MG_ERR_STATE);
    mg_graph_free(g);
    mg_params_free(P);
}

Test(plan, the_readers_table_follows_the_graph) {
    mg_params *P = mg_params_new();
    mg_graph *g = mg_graph_new(P);
    mg_tensor *x = mg_input(g, "x", MG_F32, MG_SHAPE(4));
    mg_tensor *a = mg_relu(g, x);
    mg_tensor *b = mg_add(g, a, a);
    mg_tensor *dead = mg_square(g, a);
    mg_graph_keep(g, b);
    int n;
    mg_tensor *const *r = mg_graph_readers(g, a, &n);
    cr_assert_eq(n, 2, "b reads a twice; the dead square does not count");
    cr_expect(r[0] == b && r[1] == b);
    cr_expect_eq(mg_graph_uses(g, a), 2);
    cr_expect(mg_graph_is_live(g, a));
    cr_expect_not(mg_graph_is_live(g, dead));
    /* a change is seen by the next query */
    mg_graph_keep(g, dead);
    cr_expect(mg_graph_is_live(g, dead));
    cr_expect_eq(mg_graph_uses(g, a), 3);
    mg_tensor *c = mg_scale(g, x, 2.0f); /* made after the table: not live yet */
    cr_expect_not(mg_graph_is_live(g, c));
    mg_graph_replace(g, a, c, mg_graph_node_count(g));
    cr_expect(mg_graph_is_live(g, c));
    cr_expect_eq(mg_graph_uses(g, a), 0);
    cr_expect_eq(mg_graph_uses(g, c), 3);
    mg_graph_free(g);
    mg_params_free(P);
}

/* A stack of the canonical transformer's blocks, small. ----------------- */

enum { ROWS = 12, T = 3, V = 8, K = 7, D = 8, H = 2, M = 16, LAYERS = 6 };

static mg_tensor *stack(mg_graph *g, mg_tensor *tokens) {
    const int64_t dh = D / H;
    const int split[] = {0, 2, 1, 3};
    mg_tensor *x =
        mg_add(g, mg_gather(g, mg_param(g, "embed", MG_NORMAL(0.5), MG_SHAPE(V, D)), tokens),
               mg_param(g, "pos", MG_NORMAL(0.5), MG_SHAPE(T, D)));
    for (int l = 0; l < LAYERS; l++) {
        char nm[8][16];
        for (int k = 0; k < 8; k++) snprintf(nm[k], sizeof nm[k], "l%d.%d", l, k);
        mg_tensor *qkv[3];
        for (int k = 0; k < 3; k++)
            qkv[k] = mg_permute(
                g,
                mg_reshape(g, mg_matmul(g, x, mg_param(g, nm[k], MG_NORMAL(0.3), MG_SHAPE(D, D))),
                           MG_SHAPE(ROWS, T, H, dh)),
                split);
        mg_tensor *s = mg_scale(g, mg_matmul(g, qkv[0], mg_transpose(g, qkv[1])), 0.5f);
        mg_tensor *z =
            mg_permute(g, mg_matmul(g, mg_softmax(g, mg_causal_mask(g, s)), qkv[2]), split);
        mg_tensor *Wo = mg_param(g, nm[3], MG_NORMAL(0.3), MG_SHAPE(D, D));
        x = mg_add(g, x, mg_matmul(g, mg_reshape(g, z, MG_SHAPE(ROWS, T, D)), Wo));
        mg_tensor *b_in = mg_param(g, nm[4], MG_NORMAL(0.1), MG_SHAPE(M));
        mg_tensor *W_in = mg_param(g, nm[5], MG_NORMAL(0.3), MG_SHAPE(D, M));
        mg_tensor *W_out = mg_param(g, nm[6], MG_NORMAL(0.3), MG_SHAPE(M, D));
        mg_tensor *b_out = mg_param(g, nm[7], MG_NORMAL(0.1), MG_SHAPE(D));
        mg_tensor *hid = mg_relu(g, mg_add(g, mg_matmul(g, x, W_in), b_in));
        x = mg_add(g, x, mg_add(g, mg_matmul(g, hid, W_out), b_out));
    }
    mg_tensor *last = mg_reshape(g, mg_slice(g, x, 1, T - 1, 1), MG_SHAPE(ROWS, D));
    return mg_matmul(g, last, mg_param(g, "unembed", MG_NORMAL(0.3), MG_SHAPE(D, K)));
}

typedef struct {
    mg_params *P;
    mg_graph *g;
    mg_tensor *loss;
    int rewrites;
} stacked;

static stacked build_stack(const char *no_rewrites) {
    stacked s = {.P = mg_params_new()};
    s.g = mg_graph_new(s.P);
    cr_assert_eq(mg_graph_set_rewrites(s.g, no_rewrites), MG_OK);
    cr_assert_eq(mg_graph_set_checking(s.g, true), MG_OK);
    mg_tensor *tokens = mg_input(s.g, "tokens", MG_I32, MG_SHAPE(ROWS, T));
    mg_tensor *labels = mg_input(s.g, "labels", MG_I32, MG_SHAPE(ROWS));
    cr_assert_eq(mg_input_uniform(tokens, 1, T - 1, 1), MG_OK);
    s.loss = mg_cross_entropy(s.g, stack(s.g, tokens), labels);
    cr_assert_eq(mg_graph_compile(s.g, s.loss), MG_OK, "%s", mg_errmsg());
    for (int i = 0; i < mg_pass_count(); i++) s.rewrites += mg_graph_rewrite_count(s.g, i);
    mg_rng rng;
    mg_rng_seed(&rng, 4);
    mg_params_init(s.P, &rng);
    for (int r = 0; r < ROWS; r++) {
        int32_t *t = mg_i32(tokens) + T * r;
        t[0] = r % (V - 1), t[1] = (r * 5 + 3) % (V - 1), t[2] = V - 1;
        mg_i32(labels)[r] = (t[0] + t[1]) % K;
    }
    cr_assert_eq(mg_graph_forward(s.g), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(mg_graph_backward(s.g), MG_OK, "%s", mg_errmsg());
    return s;
}

Test(plan, a_six_block_transformer_compiles_and_its_rewrites_keep_the_step) {
    stacked rw = build_stack(""), plain = build_stack("all");
    cr_expect_gt(rw.rewrites, 6 * 3, "every block is rewritten (%d rewrites)", rw.rewrites);
    cr_assert(isfinite(mg_scalar(rw.loss)));
    cr_expect_float_eq(mg_scalar(rw.loss), mg_scalar(plain.loss), 1e-5f);
    size_t n = mg_params_total(rw.P);
    const float *a = mg_params_grad(rw.P), *b = mg_params_grad(plain.P);
    for (size_t i = 0; i < n; i++)
        cr_assert_float_eq(a[i], b[i], 1e-5f + 1e-4f * fabsf(b[i]), "gradient %zu: %g vs %g", i,
                           a[i], b[i]);
    mg_graph_free(rw.g);
    mg_params_free(rw.P);
    mg_graph_free(plain.g);
    mg_params_free(plain.P);
}
