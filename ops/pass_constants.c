/* pass_constants.c — per-step constants: what does not depend on the batch
 * row is computed once per step, not once per row.
 *
 * Uniformity starts at an input part declared the same in every row
 * (mg_input_uniform: the "=" token of "a b ="), and at parameters; it is
 * carried by expand(x, n), a free view that shows x's one row n times:
 *   gather(T, uniform idx)        -> expand(gather(T, idx[row 0]), n)
 *   op(expand(x), y)              -> expand(op(x, y))   (op elementwise, y
 *                                    broadcast along the batch or expanded;
 *                                    or op row-wise, the batch not its axis)
 *   matmul(expand(x), W)          -> expand(matmul(x, W))        (W 2-D)
 *   reshape / permute(expand(x))  -> expand(reshape / permute(x)) (the batch
 *                                    axis stays first and whole)
 * Elementwise and row-wise ops are found by their properties (core/op.h);
 * gather, matmul, reshape and permute are matched by name, each commuting
 * with an expand in its own way. So in the transformer the "=" token's
 * embedding, plus its position, and its query are one row each; the
 * attention scores read the query through the expand (a batch stride of 0),
 * and backward sums the rows' gradients once where the expand sits. */
#include <string.h>

#include "core/rewrite.h"
#include "ops/ops.h"

/* idx reads only a declared-uniform part of an input (through slices and
 * copies); *src is that read, sliced to row 0 by the caller. */
static bool uniform_index(mg_tensor *idx, mg_tensor **src) {
    mg_tensor *t = idx;
    while (t->op == &mg_op_contiguous) t = t->in[0];
    mg_slice_args s;
    if (!mg_slice_args_of(t, &s)) return false;
    mg_tensor *in = t->in[0];
    int axis;
    int64_t start, len;
    if (!mg_input_uniform_part(in, &axis, &start, &len) || s.axis != axis || s.start < start ||
        s.start + s.len > start + len || in->shape[0] < 2)
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

/* x works on each batch row alone, the same way for every row: elementwise,
 * or row-wise along another axis. The copy is elementwise too, but a copy of
 * an expand already reads as the expand (mg_expanded_row): moving the copy
 * onto the one row would only make the graph copy the expand again. */
static bool per_row(const mg_tensor *x) {
    if (x->op == &mg_op_contiguous) return false;
    return mg_op_has(x, MG_OP_ELEMENTWISE) || (mg_op_has(x, MG_OP_ROWWISE) && x->ndim >= 2);
}

/* The replacement of x, or NULL. */
static mg_tensor *rewrite(mg_graph *g, mg_tensor *x) {
    const mg_op *op = x->op;
    mg_tensor *src, *in[MG_MAX_INPUTS];
    int64_t n = x->ndim ? x->shape[0] : 0;
    int perm[MG_MAX_DIMS];
    if (per_row(x)) {
        bool any = false, all = true;
        for (int k = 0; k < x->n_in; k++) {
            any |= is_expand(x->in[k]);
            all &= batch_free(x->in[k], x);
        }
        if (!any || !all) return NULL;
        for (int k = 0; k < x->n_in; k++) in[k] = unexpand(x->in[k]);
        return mg_expand(g, mg_apply(g, op, x->n_in, in, &x->attr), n);
    }
    /* the ops below commute with an expand each in its own way */
    if (op == &mg_op_gather && uniform_index(x->in[1], &src)) {
        mg_tensor *row = mg_slice(g, src, 0, 0, 1);
        return mg_expand(g, mg_gather(g, x->in[0], row), n);
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
    if (mg_permute_order(x, perm) && is_expand(x->in[0]) && perm[0] == 0)
        return mg_expand(g, mg_permute(g, unexpand(x->in[0]), perm), n);
    return NULL;
}

static int run(mg_graph *g) {
    int changes = 0;
    /* replacements made in this sweep are visited in it too */
    for (int i = 0; i < mg_graph_node_count(g); i++) {
        mg_tensor *x = mg_graph_node(g, i);
        if (!x->op || mg_graph_is_kept(g, x) || !mg_graph_is_live(g, x)) continue;
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
