/* pass_gather.c — gather hoisting: a product of gathered rows becomes a
 * gather of a product of the table.
 *
 *   matmul(gather(E, idx), W)  ->  gather(matmul(E, W), idx)
 * when W is 2-D and E has fewer rows than idx has entries: the product runs
 * on the table's rows (p of them) instead of the batch's (thousands), and its
 * backward becomes a scatter-add into the small product's gradient. Two
 * helper rewrites expose the pattern where it hides behind a join:
 *   matmul(concat(x1, .., xk), W) -> sum_i matmul(x_i, W[rows of x_i])
 *   matmul(a + b, W)              -> matmul(a, W) + matmul(b, W)
 * each applied only when one operand is a hoistable gather and the others
 * are hoistable too or smaller (for the sum: b broadcast, e.g. a position
 * table), so the rewritten graph never does more work than the written one.
 * The pass is about these particular ops (matmul, gather, concat, add), so
 * it matches them by name rather than by their properties. */
#include "core/rewrite.h"
#include "ops/ops.h"

/* A gather whose table has fewer rows than it gathers. */
static bool hoistable(const mg_tensor *x) {
    return x->op == &mg_op_gather && x->in[0]->ndim == 2 && x->in[0]->shape[0] < mg_numel(x->in[1]);
}

/* matmul(concat(...), W) with a hoistable part -> sum of row-block products */
static mg_tensor *split_concat(mg_graph *g, mg_tensor *x, mg_tensor *W) {
    bool any = false;
    for (int k = 0; k < x->n_in; k++) any |= hoistable(x->in[k]);
    if (!any || x->ndim < 2) return NULL;
    mg_tensor *acc = NULL;
    int64_t off = 0;
    for (int k = 0; k < x->n_in; k++) {
        int64_t rows = x->in[k]->shape[x->in[k]->ndim - 1];
        mg_tensor *part = mg_matmul(g, x->in[k], mg_slice(g, W, 0, off, rows));
        acc = acc ? mg_add(g, acc, part) : part;
        off += rows;
    }
    return acc;
}

/* matmul(a + b, W) with a hoistable and b hoistable too or broadcast (or
 * the reverse) */
static mg_tensor *split_add(mg_graph *g, mg_tensor *x, mg_tensor *W) {
    mg_tensor *a = x->in[0], *b = x->in[1];
    int64_t n = mg_numel(x);
    bool ok = (hoistable(a) && hoistable(b)) ||
              (hoistable(a) && mg_numel(a) == n && mg_numel(b) < n) ||
              (hoistable(b) && mg_numel(b) == n && mg_numel(a) < n);
    if (!ok || a->ndim < 2 || b->ndim < 2) return NULL;
    return mg_add(g, mg_matmul(g, a, W), mg_matmul(g, b, W));
}

static int run(mg_graph *g) {
    int changes = 0, n = mg_graph_node_count(g);
    for (int i = 0; i < n; i++) {
        mg_tensor *m = mg_graph_node(g, i);
        if (m->op != &mg_op_matmul || m->in[1]->ndim != 2 || !mg_graph_is_live(g, m)) continue;
        mg_tensor *x = m->in[0], *W = m->in[1], *r = NULL;
        int since = mg_graph_node_count(g);
        if (hoistable(x)) r = mg_gather(g, mg_matmul(g, x->in[0], W), x->in[1]);
        else if (x->op == &mg_op_concat) r = split_concat(g, x, W);
        else if (x->op == &mg_op_add) r = split_add(g, x, W);
        if (mg_graph_status(g)) return -1;
        if (!r) continue;
        mg_graph_replace(g, m, r, since);
        changes++;
    }
    return changes;
}

static const mg_pass gather_hoist = {
    .name = "gather_hoist",
    .summary = "matmul(gather(E, idx), W) -> gather(matmul(E, W), idx) on the table's rows",
    .order = 10,
    .run = run,
};
MG_REGISTER_PASS(gather_hoist)
