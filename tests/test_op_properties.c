/* test_op_properties.c — a new op gets the graph rewrites by what it says
 * it is (core/op.h), not by being known to the passes: an elementwise op
 * registered here, in the test, is pushed through by dead-row elimination
 * and moved onto the one row of a per-step constant, while the same op
 * without the flag is left as written; both give the plain graph's loss and
 * gradients; so do the sequence ops (gelu, layer norm, the top-k ops) by
 * their flags. Also: the registry refuses contradictory properties, and the
 * passes read op settings through the ops' accessors. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/rewrite.h"
#include "core/rng.h"
#include "ops/ops.h"
#include "tests/util/check_grad.h"

/* The new op: softsign, y = x / (1 + |x|);  dx += dy / (1 + |x|)^2 ------- */

static mg_status softsign_shape(mg_tensor *out) {
    const mg_tensor *x = out->in[0];
    if (x->dtype != MG_F32) return mg_fail(MG_ERR_SHAPE, "softsign: input must be float");
    out->ndim = x->ndim;
    out->dtype = MG_F32;
    memcpy(out->shape, x->shape, sizeof out->shape);
    return MG_OK;
}
// x: (any) -> y: (any)
static mg_status softsign_forward(mg_tensor *out) {
    const float *x = out->in[0]->data;
    float *y = out->data;
    for (int64_t i = 0, n = mg_numel(out); i < n; i++) y[i] = x[i] / (1.0f + fabsf(x[i]));
    return MG_OK;
}
static void softsign_backward(mg_tensor *out) {
    float *dx = out->in[0]->grad;
    const float *x = out->in[0]->data, *dy = out->grad;
    if (!dx) return;
    for (int64_t i = 0, n = mg_numel(out); i < n; i++) {
        float d = 1.0f + fabsf(x[i]);
        dx[i] += dy[i] / (d * d);
    }
}
static const mg_op softsign = {
    .name = "softsign",
    .arity = 1,
    .flags = MG_OP_ELEMENTWISE | MG_OP_BWD_IN,
    .shape = softsign_shape,
    .forward = softsign_forward,
    .backward = softsign_backward,
};
MG_REGISTER_OP(softsign)

/* The same op without the property: the passes must leave it alone. */
static const mg_op softsign_unflagged = {
    .name = "softsign_unflagged",
    .arity = 1,
    .flags = MG_OP_BWD_IN,
    .shape = softsign_shape,
    .forward = softsign_forward,
    .backward = softsign_backward,
};
MG_REGISTER_OP(softsign_unflagged)

/* ------------------------------------------------------------------------- */

enum { N = 24, V = 7, D = 5, K = 7 };

/* A graph of the shape the two passes match: the loss reads only the last
 * position of act(embed(tokens)), and that position is the "=" token every
 * row has; act also runs on a part that differs by row.
 *   h = act(gather(E, tokens)) (N, 3, D);  q = h[:, 2]  (N, D)
 *   logits = act(q + gather(E, a)) @ W (N, K);  loss = CE(logits, labels)
 * act is op applied to x with k as its setting (the top-k ops), or, for
 * layer norm, with a gain and a bias (D) of its own at each use. */
typedef struct {
    mg_params *P;
    mg_graph *g;
    mg_tensor *tokens, *a, *labels, *loss;
} net;

static mg_tensor *apply_act(mg_graph *g, const mg_op *op, mg_tensor *x, int use) {
    if (op == &mg_op_layer_norm) {
        char gain[16], bias[16];
        snprintf(gain, sizeof gain, "gain%d", use);
        snprintf(bias, sizeof bias, "bias%d", use);
        return mg_layer_norm(g, x, mg_param(g, gain, MG_NORMAL(1), MG_SHAPE(D)),
                             mg_param(g, bias, MG_NORMAL(1), MG_SHAPE(D)), 1e-5f);
    }
    mg_attr attr = {.i = {2}}; /* k for the top-k ops; the others read no setting */
    return mg_apply(g, op, 1, &x, &attr);
}

static net build(const mg_op *act, const char *no_rewrites) {
    net n;
    n.P = mg_params_new();
    n.g = mg_graph_new(n.P);
    mg_graph *g = n.g;
    cr_assert_eq(mg_graph_set_rewrites(g, no_rewrites), MG_OK);
    n.tokens = mg_input(g, "tokens", MG_I32, MG_SHAPE(N, 3));
    cr_assert_eq(mg_input_uniform(n.tokens, 1, 2, 1), MG_OK);
    n.a = mg_input(g, "a", MG_I32, MG_SHAPE(N));
    n.labels = mg_input(g, "labels", MG_I32, MG_SHAPE(N));
    mg_tensor *E = mg_param(g, "embed", MG_NORMAL(1), MG_SHAPE(V, D));
    mg_tensor *W = mg_param(g, "unembed", MG_NORMAL(1), MG_SHAPE(D, K));
    mg_tensor *x = mg_gather(g, E, n.tokens);
    mg_tensor *h = apply_act(g, act, x, 0);
    mg_tensor *q = mg_reshape(g, mg_slice(g, h, 1, 2, 1), 2, (int64_t[]){N, D});
    mg_tensor *u = mg_add(g, q, mg_gather(g, E, n.a));
    mg_tensor *logits = mg_matmul(g, apply_act(g, act, u, 1), W);
    n.loss = mg_cross_entropy(g, logits, n.labels);
    cr_assert_eq(mg_graph_compile(g, n.loss), MG_OK, "%s", mg_errmsg());
    mg_rng rng;
    mg_rng_seed(&rng, 17);
    mg_params_init(n.P, &rng);
    for (int r = 0; r < N; r++) {
        int32_t *t = mg_i32(n.tokens) + 3 * r;
        t[0] = r % V;
        t[1] = (3 * r + 1) % V;
        t[2] = V - 1; /* the same in every row */
        mg_i32(n.a)[r] = (5 * r + 2) % V;
        mg_i32(n.labels)[r] = (r * r) % K;
    }
    cr_assert_eq(mg_graph_forward(n.g), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(mg_graph_backward(n.g), MG_OK, "%s", mg_errmsg());
    return n;
}

static void net_free(net *n) {
    mg_graph_free(n->g);
    mg_params_free(n->P);
}

static int rewrites_by(const net *n, const char *pass) {
    for (int i = 0; i < mg_pass_count(); i++)
        if (!strcmp(mg_pass_at(i)->name, pass)) return mg_graph_rewrite_count(n->g, i);
    cr_assert_fail("no pass named %s", pass);
    return 0;
}

/* Nodes of the compiled graph made by op with a first dim of rows. */
static int nodes_of(const net *n, const mg_op *op, int64_t rows) {
    int count = 0;
    for (int i = 0; i < mg_graph_node_count(n->g); i++) {
        const mg_tensor *t = mg_graph_node(n->g, i);
        count += t->op == op && mg_graph_is_live(n->g, t) && t->ndim && t->shape[0] == rows;
    }
    return count;
}

/* Same loss and parameter gradients as the graph with no rewrites. */
static void same_as_plain(const net *n, const mg_op *act) {
    net plain = build(act, "all");
    cr_assert_float_eq(mg_scalar(n->loss), mg_scalar(plain.loss), 1e-6f, "loss %.9g vs %.9g",
                       mg_scalar(n->loss), mg_scalar(plain.loss));
    size_t total = mg_params_total(n->P);
    cr_assert_eq(total, mg_params_total(plain.P));
    const float *ga = mg_params_grad(n->P), *gb = mg_params_grad(plain.P);
    for (size_t i = 0; i < total; i++)
        cr_assert_float_eq(ga[i], gb[i], 1e-5f, "gradient %zu: %.9g vs %.9g", i, ga[i], gb[i]);
    net_free(&plain);
}

Test(op_properties, dead_rows_push_a_slice_through_a_new_elementwise_op) {
    net flagged = build(&softsign, ""), unflagged = build(&softsign_unflagged, "");
    /* through act and then the gather: the two extra pushes the flag allows */
    cr_expect_eq(rewrites_by(&unflagged, "dead_rows"), 0);
    cr_expect_eq(rewrites_by(&flagged, "dead_rows"), 2, "dead_rows made %d rewrites",
                 rewrites_by(&flagged, "dead_rows"));
    /* the unflagged act still runs on all three positions */
    cr_expect_eq(nodes_of(&unflagged, &softsign_unflagged, N), 2);
    same_as_plain(&flagged, &softsign);
    same_as_plain(&unflagged, &softsign_unflagged);
    net_free(&flagged);
    net_free(&unflagged);
}

Test(op_properties, the_constants_pass_computes_a_new_elementwise_op_on_one_row) {
    net flagged = build(&softsign, ""), unflagged = build(&softsign_unflagged, "");
    /* the "=" token's embedding, act on it, and the reshape of that: one
     * row each (without the flag, the slice never reaches the embedding) */
    cr_expect_eq(rewrites_by(&unflagged, "constants"), 0);
    cr_expect_eq(rewrites_by(&flagged, "constants"), 3, "constants made %d rewrites",
                 rewrites_by(&flagged, "constants"));
    cr_expect_eq(nodes_of(&flagged, &softsign, 1), 1, "act runs once on the constant row");
    cr_expect_eq(nodes_of(&flagged, &softsign, N), 1, "and once on the rows that differ");
    same_as_plain(&flagged, &softsign);
    net_free(&flagged);
    net_free(&unflagged);
}

Test(op_properties, the_sequence_ops_get_both_rewrites_by_their_flags) {
    /* gelu is elementwise; layer norm (its gain and bias are (D) vectors) and
     * the top-k ops are row-wise: each is pushed through by dead_rows, runs
     * once on the constant row, and gives the plain graph's loss and every
     * gradient (the gains' and biases' included) */
    const mg_op *ops[] = {&mg_op_gelu, &mg_op_layer_norm, &mg_op_softmax_topk, &mg_op_topk};
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++) {
        net n = build(ops[i], "");
        cr_expect_eq(rewrites_by(&n, "dead_rows"), 2, "%s: dead_rows made %d rewrites",
                     ops[i]->name, rewrites_by(&n, "dead_rows"));
        cr_expect_eq(rewrites_by(&n, "constants"), 3, "%s: constants made %d rewrites",
                     ops[i]->name, rewrites_by(&n, "constants"));
        cr_expect_eq(nodes_of(&n, ops[i], 1), 1, "%s runs once on the constant row", ops[i]->name);
        cr_expect_eq(nodes_of(&n, ops[i], N), 1, "%s: and once on the rows that differ",
                     ops[i]->name);
        same_as_plain(&n, ops[i]);
        net_free(&n);
    }
}

static mg_tensor *build_softsign(mg_graph *g, void *ctx) {
    (void)ctx;
    mg_tensor *x = mg_param(g, "x", MG_NORMAL(1), MG_SHAPE(3, 4));
    return mg_apply(g, &softsign, 1, &x, NULL);
}

Test(op_properties, the_new_op_passes_a_gradient_check) {
    mg_check_grad("softsign", (mg_gradcheck_spec){.build = build_softsign, .seed = 5});
}

Test(op_properties, contradictory_properties_are_refused) {
    mg_op distinct_not_view = softsign;
    distinct_not_view.name = "t_distinct";
    distinct_not_view.flags |= MG_OP_DISTINCT;
    cr_assert_eq(mg_op_register(&distinct_not_view), MG_ERR_ARG);
    cr_expect(strstr(mg_errmsg(), "t_distinct") && strstr(mg_errmsg(), "view"), "%s", mg_errmsg());
    mg_op elementwise_view = softsign;
    elementwise_view.name = "t_ew_view";
    elementwise_view.flags = MG_OP_VIEW | MG_OP_ELEMENTWISE;
    cr_assert_eq(mg_op_register(&elementwise_view), MG_ERR_ARG);
    cr_expect(strstr(mg_errmsg(), "t_ew_view"), "%s", mg_errmsg());
}

Test(op_properties, the_builtin_ops_say_what_they_are) {
    const char *elementwise[] = {"add",  "sub",    "mul",        "scale",
                                 "relu", "square", "contiguous", "gelu"};
    for (size_t i = 0; i < sizeof elementwise / sizeof *elementwise; i++)
        cr_expect(mg_op_find(elementwise[i])->flags & MG_OP_ELEMENTWISE, "%s", elementwise[i]);
    const char *rowwise[] = {"softmax", "layer_norm", "softmax_topk", "topk"};
    for (size_t i = 0; i < sizeof rowwise / sizeof *rowwise; i++)
        cr_expect(mg_op_find(rowwise[i])->flags & MG_OP_ROWWISE, "%s", rowwise[i]);
    const char *distinct[] = {"permute", "slice", "reshape", "as_strided", "alias"};
    for (size_t i = 0; i < sizeof distinct / sizeof *distinct; i++)
        cr_expect(mg_op_find(distinct[i])->flags & MG_OP_DISTINCT, "%s", distinct[i]);
    /* a row is repeated, a product mixes rows: neither is one of these */
    cr_expect_not(mg_op_find("expand")->flags & MG_OP_DISTINCT);
    cr_expect_not(mg_op_find("matmul")->flags & (MG_OP_ELEMENTWISE | MG_OP_ROWWISE));
    cr_expect_not(mg_op_find("causal_mask")->flags & (MG_OP_ELEMENTWISE | MG_OP_ROWWISE));
}

Test(op_properties, op_settings_are_read_through_accessors) {
    mg_params *P = mg_params_new();
    mg_graph *g = mg_graph_new(P);
    mg_tensor *x = mg_input(g, "x", MG_F32, MG_SHAPE(2, 3, 4));
    mg_tensor *s = mg_slice(g, x, -2, 1, 2);
    mg_tensor *p = mg_permute(g, x, (int[]){2, 0, 1});
    mg_tensor *m =
        mg_causal_mask_rows(g, mg_slice(g, mg_input(g, "sq", MG_F32, MG_SHAPE(4, 4)), 0, 3, 1), 3);
    cr_assert_not_null(m, "%s", mg_graph_error(g));
    mg_slice_args a;
    int perm[MG_MAX_DIMS];
    int64_t first;
    cr_assert(mg_slice_args_of(s, &a));
    cr_expect_eq(a.axis, 1, "the negative axis resolved");
    cr_expect_eq(a.start, 1);
    cr_expect_eq(a.len, 2);
    cr_assert(mg_permute_order(p, perm));
    cr_expect(perm[0] == 2 && perm[1] == 0 && perm[2] == 1);
    cr_assert(mg_causal_mask_first_row(m, &first));
    cr_expect_eq(first, 3);
    cr_expect_not(mg_slice_args_of(p, &a), "a permute is not a slice");
    cr_expect_not(mg_permute_order(s, perm));
    cr_expect_not(mg_causal_mask_first_row(s, &first));
    mg_graph_free(g);
    mg_params_free(P);
}
