/* rewrite.c — the pass registry, use replacement and the re-sort after
 * passes (see rewrite.h; the liveness queries are in readers.c). */
#include "core/rewrite.h"
#include "core/text.h"

#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/graph_impl.h"
#include "core/op.h"

#define MG_MAX_PASSES 32

static const mg_pass *passes[MG_MAX_PASSES];
static int n_passes;

mg_status mg_pass_register(const mg_pass *p) {
    if (!p || !p->name || !p->run) return mg_fail(MG_ERR_ARG, "mg_pass_register: incomplete pass");
    for (int i = 0; i < n_passes; i++)
        if (passes[i] == p || strcmp(passes[i]->name, p->name) == 0)
            return passes[i] == p ? MG_OK
                                  : mg_fail(MG_ERR_ARG, "a pass named '%s' exists", p->name);
    if (n_passes == MG_MAX_PASSES) return mg_fail(MG_ERR_ARG, "too many passes");
    int at = n_passes++;
    while (at > 0 && passes[at - 1]->order > p->order) {
        passes[at] = passes[at - 1];
        at--;
    }
    passes[at] = p;
    return MG_OK;
}

int mg_pass_count(void) { return n_passes; }
const mg_pass *mg_pass_at(int i) { return i >= 0 && i < n_passes ? passes[i] : NULL; }

mg_status mg_graph_set_rewrites(mg_graph *g, const char *disabled) {
    memset(g->pass_off, 0, sizeof g->pass_off);
    if (!disabled || !*disabled) return MG_OK;
    if (strcmp(disabled, "all") == 0) {
        for (int i = 0; i < MG_MAX_PASSES; i++) g->pass_off[i] = true;
        return MG_OK;
    }
    for (const char *s = disabled; *s;) {
        size_t len = strcspn(s, ",");
        int found = -1;
        for (int i = 0; i < n_passes; i++)
            if (strlen(passes[i]->name) == len && strncmp(passes[i]->name, s, len) == 0) found = i;
        if (found < 0) {
            char known[512] = "";
            for (int i = 0; i < n_passes; i++) mg_list_add(known, sizeof known, passes[i]->name);
            return mg_fail(MG_ERR_ARG, "--no-rewrite: unknown rewrite '%.*s'; rewrites: %s",
                           (int)len, s, known);
        }
        g->pass_off[found] = true;
        s += len + (s[len] == ',');
    }
    return MG_OK;
}

int mg_graph_rewrite_count(const mg_graph *g, int pass) {
    return pass >= 0 && pass < MG_MAX_PASSES ? g->pass_count[pass] : 0;
}

void mg_graph_replace(mg_graph *g, mg_tensor *old, mg_tensor *new_, int since) {
    mg_tensor *copy = NULL; /* new_ made contiguous, for consumers that need it */
    g->readers_valid = false;
    for (int i = 0; i < since && i < g->n_nodes; i++) {
        mg_tensor *c = g->nodes[i];
        for (int k = 0; k < c->n_in; k++) {
            if (c->in[k] != old) continue;
            bool strided = !c->op || (c->op->flags & MG_OP_STRIDED);
            if (!strided && !mg_is_contiguous(new_)) {
                if (!copy) copy = mg_apply(g, &mg_op_contiguous, 1, &new_, NULL);
                if (copy) c->in[k] = copy;
            } else {
                c->in[k] = new_;
            }
        }
    }
    if (!g->kept[old->id] || old == new_) return;
    /* The caller holds old: it becomes a free view of new_ (an alias) when
     * new_ is contiguous and of its shape, so the caller finds the values
     * laid out as before; else it stays, computed as before, and new_ is
     * kept too. */
    bool same = old->ndim == new_->ndim && old->dtype == new_->dtype;
    for (int k = 0; same && k < old->ndim; k++) same = old->shape[k] == new_->shape[k];
    if (same && mg_is_contiguous(new_)) {
        old->op = &mg_op_alias;
        old->n_in = 1;
        old->in[0] = new_;
        memset(&old->attr, 0, sizeof old->attr);
        old->root = new_->root;
        (void)mg_op_alias.shape(old); /* cannot fail: new_'s shape, strides and offset */
    } else {
        g->kept[new_->id] = true;
    }
}

/* Depth-first post-order from every node, inputs first, so that each node
 * comes after its inputs; ties keep creation order. */
static int visit(mg_graph *g, mg_tensor *t, char *mark, mg_tensor **order, int n) {
    if (mark[t->id] == 2) return n;
    mark[t->id] = 2;
    for (int k = 0; k < t->n_in; k++) n = visit(g, t->in[k], mark, order, n);
    order[n++] = t;
    return n;
}

static mg_status resort(mg_graph *g) {
    int n = g->n_nodes;
    char *mark = mg_calloc((size_t)n, 1);
    mg_tensor **order = mg_malloc((size_t)n * sizeof *order);
    bool *kept = mg_malloc((size_t)g->cap_nodes * sizeof *kept);
    if (!mark || !order || !kept) {
        mg_free(mark), mg_free(order), mg_free(kept);
        return mg_graph_fail(g, MG_ERR_NOMEM, "out of memory sorting the graph");
    }
    int m = 0;
    for (int i = 0; i < n; i++) m = visit(g, g->nodes[i], mark, order, m);
    for (int i = 0; i < n; i++) kept[i] = g->kept[order[i]->id];
    for (int i = 0; i < n; i++) {
        g->nodes[i] = order[i];
        order[i]->id = i;
    }
    mg_free(g->kept);
    g->kept = kept;
    g->readers_valid = false; /* ids changed */
    /* a view of a replaced tensor takes its new root and strides */
    for (int i = 0; i < n; i++) {
        mg_tensor *t = g->nodes[i];
        if (!t->op || !(t->op->flags & MG_OP_VIEW)) continue;
        t->root = t->in[0]->root;
        if (t->op->shape(t)) {
            char msg[1024];
            snprintf(msg, sizeof msg, "%s", mg_errmsg());
            mg_free(mark), mg_free(order);
            return mg_graph_fail(g, MG_ERR_SHAPE, "after rewrites: %s", msg);
        }
    }
    mg_free(mark);
    mg_free(order);
    return MG_OK;
}

/* Checking mode: every parameter is read through a copy, a planned buffer
 * like any value, so that the ops' reads of it are checked too (the store
 * itself is never poisoned). Made after the passes, which would remove the
 * copies. */
static mg_status copy_params(mg_graph *g) {
    for (int i = 0, n = g->n_nodes; i < n; i++) {
        mg_tensor *p = g->nodes[i];
        if (p->kind != MG_TENSOR_PARAM || g->kept[i]) continue;
        int since = g->n_nodes;
        mg_tensor *c = mg_apply(g, &mg_op_contiguous, 1, &p, NULL);
        if (!c) return g->status;
        mg_graph_replace(g, p, c, since);
    }
    return MG_OK;
}

/* A pass returned -1 or recorded an error: the graph's error names it. */
static mg_status pass_failed(mg_graph *g, const mg_pass *p, int r) {
    if (!g->status)
        return mg_graph_fail(g, MG_ERR_STATE,
                             "rewrite '%s' failed without giving a reason (it returned %d); turn "
                             "it off with --no-rewrite %s",
                             p->name, r, p->name);
    char msg[sizeof g->err];
    snprintf(msg, sizeof msg, "%s", g->err);
    snprintf(g->err, sizeof g->err, "rewrite '%.64s': %.900s", p->name, msg);
    return mg_fail(g->status, "%s", g->err);
}

mg_status mg_graph_run_passes(mg_graph *g, mg_tensor **loss) {
    /* The loss is an output, like a kept tensor: what reaches it is live.
     * (Passes never replace it: it is a scalar no pass matches.) */
    if (*loss) g->kept[(*loss)->id] = true;
    memset(g->pass_count, 0, sizeof g->pass_count);
    bool any = false;
    for (int late = 0; late < 2; late++)
        for (int round = 0; round < 8; round++) {
            int changed = 0;
            for (int i = 0; i < n_passes; i++) {
                if (g->pass_off[i] || (passes[i]->order >= MG_PASS_LATE) != late) continue;
                g->readers_valid = false; /* built afresh for each pass run */
                int r = passes[i]->run(g);
                if (r < 0 || g->status) return pass_failed(g, passes[i], r);
                g->pass_count[i] += r;
                changed += r;
            }
            if (!changed) break;
            any = true;
        }
    if (g->checking && copy_params(g)) return g->status;
    return any || g->checking ? resort(g) : MG_OK;
}
