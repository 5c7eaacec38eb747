/* pass_fuse.c — chains of add (with a ReLU on top) become one fused_sum.
 *
 *   relu(gather(T1, i) + gather(T2, j) + b)  ->  fused_sum(T1[i], T2[j], b; relu)
 * An add tree is collected from its top (a ReLU's input, or an add no other
 * add of the same size reads) down through adds that nothing else reads;
 * its leaves become the terms: a gather read only here becomes a gather
 * term (its rows are never written out), a tensor of the output's shape a
 * full term, a broadcast block of trailing dims (a bias, a position table)
 * a block term. A tree is fused when that saves a pass over the output: it
 * has a gather, a ReLU, or three or more terms. The pass runs after the
 * others have reached their fixed point (order >= MG_PASS_LATE), since a
 * fused sum hides the adds and gathers they rewrite. fused_sum computes
 * exactly add, relu and gather, so the pass matches those ops by name. */
#include <string.h>

#include "core/rewrite.h"
#include "ops/ops.h"

/* The live node reading x when exactly one does, else NULL. */
static mg_tensor *sole_reader(mg_graph *g, const mg_tensor *x) {
    int n;
    mg_tensor *const *readers = mg_graph_readers(g, x, &n);
    return n == 1 ? readers[0] : NULL;
}

static bool same_shape(const mg_tensor *a, const mg_tensor *b) {
    if (a->ndim != b->ndim) return false;
    for (int k = 0; k < a->ndim; k++)
        if (a->shape[k] != b->shape[k]) return false;
    return true;
}

/* A block term of out: a smaller trailing block (mg_is_trailing_block) of
 * whole rows (its last dim out's last dim). */
static bool is_block_of(const mg_tensor *t, const mg_tensor *out) {
    return mg_is_trailing_block(t, out) && mg_numel(t) < mg_numel(out) &&
           t->shape[t->ndim - 1] == out->shape[out->ndim - 1];
}

/* An add inside the tree: read only by its parent in the tree, same shape. */
static bool inner_add(mg_graph *g, const mg_tensor *t, const mg_tensor *top) {
    return t->op == &mg_op_add && !mg_graph_is_kept(g, t) && same_shape(t, top) &&
           mg_graph_uses(g, t) == 1;
}

typedef struct {
    mg_sum_term terms[MG_MAX_INPUTS];
    int n, inputs, gathers, expands;
    bool bad;
} collect;

static void leaf(mg_graph *g, mg_tensor *t, const mg_tensor *top, collect *c) {
    mg_sum_term term = {t, NULL};
    mg_tensor *row = mg_expanded_row(t);
    if (t->op == &mg_op_gather && !mg_graph_is_kept(g, t) && mg_graph_uses(g, t) == 1 &&
        same_shape(t, top)) {
        term = (mg_sum_term){t->in[0], t->in[1]};
        c->gathers++;
    } else if (row && is_block_of(row, top) &&
               (t->op == &mg_op_expand || (mg_graph_uses(g, t) == 1 && !mg_graph_is_kept(g, t)))) {
        term.t = row; /* one row for every row: a block, not a copy (nor a copy of one) */
        c->expands++;
    } else if (!same_shape(t, top) && !is_block_of(t, top)) {
        c->bad = true;
        return;
    }
    int need = term.idx ? 2 : 1;
    if (c->n == MG_MAX_INPUTS || c->inputs + need > MG_MAX_INPUTS) {
        c->bad = true;
        return;
    }
    c->terms[c->n++] = term;
    c->inputs += need;
}

static void descend(mg_graph *g, mg_tensor *t, const mg_tensor *top, bool is_top, collect *c) {
    if (c->bad) return;
    if (is_top || inner_add(g, t, top)) {
        descend(g, t->in[0], top, false, c);
        descend(g, t->in[1], top, false, c);
    } else {
        leaf(g, t, top, c);
    }
}

static int run(mg_graph *g) {
    int changes = 0, n = mg_graph_node_count(g);
    for (int i = 0; i < n; i++) {
        mg_tensor *x = mg_graph_node(g, i);
        bool relu = x->op == &mg_op_relu;
        mg_tensor *root = relu ? x->in[0] : x;
        if (root->op != &mg_op_add || !mg_graph_is_live(g, x)) continue;
        if (relu && (mg_graph_is_kept(g, root) || mg_graph_uses(g, root) != 1)) continue;
        if (!relu) { /* an add that a ReLU or a larger tree will take in is not a top */
            mg_tensor *r = sole_reader(g, x);
            if (r && !mg_graph_is_kept(g, x) &&
                (r->op == &mg_op_relu || (r->op == &mg_op_add && same_shape(r, x))))
                continue;
        }
        collect c = {.n = 0};
        descend(g, root, x, true, &c);
        if (c.bad || !(c.gathers > 0 || c.expands > 0 || relu || c.n >= 3)) continue;
        int since = mg_graph_node_count(g);
        mg_tensor *f = mg_fused_sum(g, c.n, c.terms, relu);
        if (mg_graph_status(g)) return -1;
        if (!same_shape(f, x)) {
            mg_graph_fail(g, MG_ERR_STATE, "fuse: the fused sum of node #%d changed its shape", i);
            return -1;
        }
        mg_graph_replace(g, x, f, since);
        changes++;
    }
    return changes;
}

static const mg_pass fuse = {
    .name = "fuse",
    .summary = "relu?(gather + gather + ... + bias) -> one fused_sum: the output written once",
    .order = MG_PASS_LATE,
    .run = run,
};
MG_REGISTER_PASS(fuse)
