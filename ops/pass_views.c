/* pass_views.c — a chain of views becomes one view of the storage.
 *
 * A view of a view (reshape, then permute, then a transpose: the keys of
 * attention) already reads the storage through one set of strides; only
 * its backward walks the chain, one pass over the gradient per view. This
 * pass replaces the last view of a chain by as_strided(storage root, its
 * shape, strides and offset), so backward scatters the gradient into the
 * root's once. That is right for views whose elements are distinct
 * elements of the storage (MG_OP_DISTINCT, core/op.h: permute, slice,
 * reshape, ...); chains through an expand (stride 0, rows summed) stay.
 * Runs late, after the passes that match the individual views. */
#include "core/rewrite.h"
#include "ops/ops.h"

static bool plain_view(const mg_tensor *t) { return mg_op_has(t, MG_OP_VIEW | MG_OP_DISTINCT); }

static int run(mg_graph *g) {
    int changes = 0, n = mg_graph_node_count(g);
    for (int i = 0; i < n; i++) {
        mg_tensor *v = mg_graph_node(g, i);
        if (!plain_view(v) || !plain_view(v->in[0]) || !mg_graph_is_live(g, v)) continue;
        /* the chain down to its storage: plain views over a non-view node */
        mg_tensor *chain[16];
        int len = 0;
        mg_tensor *t = v;
        for (; plain_view(t) && len < 16; t = t->in[0]) chain[len++] = t;
        mg_tensor *root = t;
        if (root->op && (root->op->flags & MG_OP_VIEW)) continue; /* an expand, or too long */
        if (!mg_is_contiguous(root) || root->offset != 0) continue;
        /* earlier rewrites may have replaced the storage: strides afresh, from the bottom */
        bool ok = true;
        for (int k = len - 1; k >= 0 && ok; k--) {
            chain[k]->root = chain[k]->in[0]->root;
            ok = chain[k]->op->shape(chain[k]) == MG_OK;
        }
        if (!ok) {
            mg_graph_fail(g, MG_ERR_STATE, "views: a view of node #%d no longer fits", root->id);
            return -1;
        }
        int since = mg_graph_node_count(g);
        mg_tensor *r = mg_as_strided(g, root, v->ndim, v->shape, v->stride, v->offset);
        if (mg_graph_status(g)) return -1;
        mg_graph_replace(g, v, r, since);
        changes++;
    }
    return changes;
}

static const mg_pass views = {
    .name = "views",
    .summary = "view(view(x)) -> one strided view of x: one backward pass, not one per view",
    .order = MG_PASS_LATE + 10,
    .run = run,
};
MG_REGISTER_PASS(views)
