/* pass_constants.c — per-step constants: what does not depend on the batch
 * row is computed once per step, not once per row.
 *
 * Uniformity starts at an input part declared the same in every row
 * (mg_input_uniform: the "=" token of "a b ="), and at parameters; it is
 * carried by expand(x, n), a free view that shows x's one row n times:
 *   gather(T, uniform idx)        -> expand(gather(T, idx[row 0]), n)
 *   op(expand(x), y)              -> expand(op(x, y))   (elementwise; y
 *                                    broadcast along the batch or expanded)
 *   matmul(expand(x), W)          -> expand(matmul(x, W))        (W 2-D)
 *   reshape / permute(expand(x))  -> expand(reshape / permute(x)) (the batch
 *                                    axis stays first and whole)
 * so in the transformer the "=" token's embedding, plus its position, and
 * its query are one row each; the attention scores read the query through
 * the expand (a batch stride of 0), and backward sums the rows' gradients
 * once where the expand sits. */
#include <string.h>

#include "core/rewrite.h"
#include "ops/ops.h"

/* idx reads only a declared-uniform part of an input (through slices and
 * copies); *src is that read, sliced to row 0 by the caller. */
static bool uniform_index(mg_tensor *idx, mg_tensor **src) {
    mg_tensor *t = idx;
    while (t->op == &mg_op_contiguous) t = t->in[0];
    if (t->op != &mg_op_slice) return false;
    mg_tensor *in = t->in[0];
    int64_t axis = t->attr.i[0], start = t->attr.i[1], len = t->attr.i[2];
    if (in->kind != MG_TENSOR_INPUT || in->attr.i[0] == 0 || axis != in->attr.i[0] - 1 ||
        start < in->attr.i[1] || start + len > in->attr.i[1] + in->attr.i[2] || in->shape[0] < 2)
        return false;
    *src = t;
    return true;
}

/* An expand, or a copy of one (made for a consumer that needs contiguous
 * input, before the expand appeared). */
static bool is_expand(const mg_tensor *t) { return mg_expanded_row(t) != NULL; }

/* Input u of x has no batch rows of its own: expanded, or broadcast along
 * x's first axis. */
static bool batch_free(const mg_tensor *u, const mg_tensor *x) {
    return is_expand(u) || u->ndim < x->ndim || u->shape[0] == 1;
}

/* The one row of an expand (or its copy); any other tensor as it is. */
static mg_tensor *unexpand(mg_tensor *u) {
    mg_tensor *row = mg_expanded_row(u);
    return row ? row : u;
}

/* The replacement of x, or NULL. */
static mg_tensor *rewrite(mg_graph *g, mg_tensor *x) {
    const mg_op *op = x->op;
    mg_tensor *src, *in[MG_MAX_INPUTS];
    int64_t n = x->ndim ? x->shape[0] : 0;
    if (op == &mg_op_gather && uniform_index(x->in[1], &src)) {
        mg_tensor *row = mg_slice(g, src, 0, 0, 1);
        return mg_expand(g, mg_gather(g, x->in[0], row), n);
    }
    if (op == &mg_op_add || op == &mg_op_sub || op == &mg_op_mul) {
        if (!is_expand(x->in[0]) && !is_expand(x->in[1])) return NULL;
        if (!batch_free(x->in[0], x) || !batch_free(x->in[1], x)) return NULL;
        in[0] = unexpand(x->in[0]);
        in[1] = unexpand(x->in[1]);
        return mg_expand(g, mg_apply(g, op, 2, in, &x->attr), n);
    }
    if ((op == &mg_op_relu || op == &mg_op_scale || op == &mg_op_square) && is_expand(x->in[0])) {
        in[0] = unexpand(x->in[0]);
        return mg_expand(g, mg_apply(g, op, 1, in, &x->attr), n);
    }
    if (op == &mg_op_matmul && is_expand(x->in[0]) && x->in[1]->ndim == 2)
        return mg_expand(g, mg_matmul(g, unexpand(x->in[0]), x->in[1]), n);
    if (op == &mg_op_reshape && is_expand(x->in[0]) && x->ndim >= 1 && x->shape[0] == n &&
        x->in[0]->shape[0] == n) {
        int64_t shape[MG_MAX_DIMS];
        memcpy(shape, x->shape, sizeof shape);
        shape[0] = 1;
        return mg_expand(g, mg_reshape(g, unexpand(x->in[0]), x->ndim, shape), n);
    }
    if (op == &mg_op_permute && is_expand(x->in[0]) && x->attr.i[0] == 0) {
        int perm[MG_MAX_DIMS];
        for (int k = 0; k < x->ndim; k++) perm[k] = (int)x->attr.i[k];
        return mg_expand(g, mg_permute(g, unexpand(x->in[0]), perm), n);
    }
    return NULL;
}

static int run(mg_graph *g) {
    int changes = 0;
    /* replacements made in this sweep are visited in it too */
    for (int i = 0; i < mg_graph_node_count(g); i++) {
        mg_tensor *x = mg_graph_node(g, i);
        if (!x->op || x->op == &mg_op_expand || mg_graph_is_kept(g, x) || !mg_graph_is_live(g, x))
            continue;
        int since = mg_graph_node_count(g);
        mg_tensor *r = rewrite(g, x);
        if (mg_graph_status(g)) return -1;
        if (!r) continue;
        mg_graph_replace(g, x, r, since);
        changes++;
    }
    return changes;
}

static const mg_pass constants = {
    .name = "constants",
    .summary = "what depends only on a token every row has (the \"=\") is computed once per step",
    .order = 30,
    .run = run,
};
MG_REGISTER_PASS(constants)
