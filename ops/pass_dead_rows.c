/* pass_dead_rows.c — dead-row elimination: rows that cannot reach the loss
 * are not computed.
 *
 * A slice s = x[..., start:start+len, ...] (along one axis) of a tensor that
 * nothing else reads is pushed through the op that made x whenever that op
 * works row by row along the axis:
 *   slice(op(u, v), a) -> op(slice(u, a'), slice(v, a'))
 * Which ops do is asked of the op (core/op.h): every elementwise op (with
 * broadcasting) and every row-wise op off its last axis. A few ops commute
 * with a slice only in their own way and are matched by name: matmul's batch
 * and row axes, the causal mask's rows (it needs the first row), gathers
 * over the index's axes, permutes, reshapes that keep the leading dims, and
 * concat off its axis. Applied to a fixed point, this makes the transformer,
 * which reads only the last position, run its queries, attention output,
 * MLP and unembedding on one position in three. */
#include <string.h>

#include "core/alloc.h"
#include "core/rewrite.h"
#include "ops/ops.h"

typedef mg_slice_args cut;

static mg_tensor *sl(mg_graph *g, mg_tensor *u, int64_t axis, cut c) {
    return mg_slice(g, u, (int)axis, c.start, c.len);
}

/* An input of a broadcasting op, cut along output axis c.axis (unless it is
 * broadcast along it). */
static mg_tensor *cut_broadcast(mg_graph *g, mg_tensor *u, const mg_tensor *x, cut c) {
    int64_t ua = c.axis - (x->ndim - u->ndim);
    return ua < 0 || u->shape[ua] == 1 ? u : sl(g, u, ua, c);
}

/* op(inputs) rebuilt on the rows of cut c, or NULL if op does not commute. */
static mg_tensor *push(mg_graph *g, mg_tensor *x, cut c) {
    const mg_op *op = x->op;
    const int64_t a = c.axis, nd = x->ndim;
    mg_tensor *u = x->in[0], *in[MG_MAX_INPUTS];
    int64_t first_row;
    int perm[MG_MAX_DIMS];
    if (mg_op_has(x, MG_OP_ELEMENTWISE) || (mg_op_has(x, MG_OP_ROWWISE) && a != nd - 1)) {
        for (int k = 0; k < x->n_in; k++) in[k] = cut_broadcast(g, x->in[k], x, c);
        return mg_apply(g, op, x->n_in, in, &x->attr);
    }
    /* the ops below commute with a slice each in its own way */
    if (mg_causal_mask_first_row(x, &first_row) && a <= nd - 2)
        return mg_causal_mask_rows(g, sl(g, u, a, c), first_row + (a == nd - 2 ? c.start : 0));
    if (op == &mg_op_matmul) {
        mg_tensor *A = x->in[0], *B = x->in[1];
        if (a < nd - 2) { /* a batch axis: cut the operands that have it */
            if (A->ndim == nd) A = sl(g, A, a, c);
            if (B->ndim == nd) B = sl(g, B, a, c);
        } else if (a == nd - 2) {
            A = sl(g, A, A->ndim - 2, c);
        } else {
            B = sl(g, B, B->ndim - 1, c);
        }
        return mg_matmul(g, A, B);
    }
    if (op == &mg_op_gather && a < x->in[1]->ndim) return mg_gather(g, u, sl(g, x->in[1], a, c));
    if (mg_permute_order(x, perm)) return mg_permute(g, sl(g, u, perm[a], c), perm);
    if (op == &mg_op_reshape && u->ndim > a) {
        for (int k = 0; k <= a; k++)
            if (u->shape[k] != x->shape[k]) return NULL;
        int64_t shape[MG_MAX_DIMS];
        memcpy(shape, x->shape, sizeof shape);
        shape[a] = c.len;
        return mg_reshape(g, sl(g, u, a, c), (int)nd, shape);
    }
    if (op == &mg_op_concat && a != nd - 1) {
        for (int k = 0; k < x->n_in; k++) in[k] = sl(g, x->in[k], a, c);
        return mg_concat(g, x->n_in, in);
    }
    return NULL;
}

static bool same_cut(cut a, cut b) {
    return a.axis == b.axis && a.start == b.start && a.len == b.len;
}

/* True when every reader of x is a slice with cut c (and x is not kept). */
static bool only_cut_by(mg_graph *g, const mg_tensor *x, cut c) {
    /* a kept x is read by the caller in full */
    int n;
    mg_tensor *const *readers = mg_graph_readers(g, x, &n);
    if (!x->op || mg_graph_is_kept(g, x) || n == 0) return false;
    for (int k = 0; k < n; k++) {
        cut rc;
        if (!mg_slice_args_of(readers[k], &rc) || !same_cut(rc, c)) return false;
    }
    return true;
}

static int run(mg_graph *g) {
    int changes = 0;
    /* new slices made by a push are visited in the same sweep */
    for (int i = 0; i < mg_graph_node_count(g); i++) {
        mg_tensor *s = mg_graph_node(g, i);
        cut c;
        if (!mg_slice_args_of(s, &c) || !mg_graph_is_live(g, s)) continue;
        mg_tensor *x = s->in[0];
        if (!only_cut_by(g, x, c)) continue;
        /* x's readers: the identical slices, listed before the graph changes */
        int n;
        mg_tensor *const *readers = mg_graph_readers(g, x, &n);
        mg_tensor **slices = mg_malloc((size_t)n * sizeof *slices);
        if (!slices) {
            mg_graph_fail(g, MG_ERR_NOMEM, "dead_rows: out of memory");
            return -1;
        }
        memcpy(slices, readers, (size_t)n * sizeof *slices);
        int since = mg_graph_node_count(g);
        mg_tensor *r = push(g, x, c);
        /* every identical slice of x reads the pushed rows instead */
        for (int k = 0; r && !mg_graph_status(g) && k < n; k++)
            mg_graph_replace(g, slices[k], r, since);
        mg_free(slices);
        if (mg_graph_status(g)) return -1;
        if (!r) continue;
        changes++;
    }
    return changes;
}

static const mg_pass dead_rows = {
    .name = "dead_rows",
    .summary = "slice(op(x), rows) -> op(slice(x, rows)): rows that cannot reach the loss are not "
               "computed",
    .order = 20,
    .run = run,
};
MG_REGISTER_PASS(dead_rows)
