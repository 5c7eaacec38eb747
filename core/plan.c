/* plan.c — compiling a graph: the backward schedule and the memory plan.
 *
 * The step's timeline has 2n slots for n nodes: node i runs forward at slot i
 * and backward at slot 2n-1-i. Every buffer gets an interval of slots:
 *   value of node i    [i, last slot that reads it]   (views read their root)
 *   gradient of node i [first backward that adds to it, i's own backward]
 *   saved (aux) of i   [i, i's backward]
 * Intervals are placed in one arena by a greedy first-fit in birth order, a
 * buffer reusing the space of any buffer whose interval has ended (the same
 * idea as a register allocator). This runs once; a step replays it. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/graph_impl.h"
#include "core/rewrite.h"

#define ALIGN_FLOATS 16 /* 64 bytes */

typedef struct {
    int birth, death;
    size_t size, offset; /* floats */
    mg_tensor *t;
    int which; /* 0 value, 1 gradient, 2 aux */
} interval;

static int by_birth(const void *pa, const void *pb) {
    const interval *a = pa, *b = pb;
    if (a->birth != b->birth) return a->birth < b->birth ? -1 : 1;
    if (a->t->id != b->t->id) return a->t->id < b->t->id ? -1 : 1;
    return a->which - b->which;
}

static size_t round_up(size_t n) { return (n + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS; }

/* First-fit placement; returns the arena size in floats. active[] holds
 * indices of placed intervals sorted by offset. */
static size_t place(interval *iv, int n, int *active) {
    int n_active = 0;
    size_t top = 0;
    for (int k = 0; k < n; k++) {
        int keep = 0;
        for (int a = 0; a < n_active; a++)
            if (iv[active[a]].death >= iv[k].birth) active[keep++] = active[a];
        n_active = keep;
        size_t at = 0;
        int pos = 0;
        for (; pos < n_active; pos++) {
            const interval *o = &iv[active[pos]];
            if (o->offset >= at + iv[k].size) break;
            if (o->offset + o->size > at) at = o->offset + o->size;
        }
        iv[k].offset = at;
        memmove(active + pos + 1, active + pos, (size_t)(n_active - pos) * sizeof *active);
        active[pos] = k;
        n_active++;
        if (at + iv[k].size > top) top = at + iv[k].size;
    }
    return top;
}

static mg_status check_loss(mg_graph *g, const mg_tensor *loss) {
    if (!loss) return MG_OK;
    if (loss->graph != g)
        return mg_graph_fail(g, MG_ERR_ARG, "mg_graph_compile: the loss belongs to another graph");
    if (loss->dtype != MG_F32 || mg_numel(loss) != 1 || !loss->op)
        return mg_graph_fail(g, MG_ERR_ARG,
                             "mg_graph_compile: the loss must be a float scalar computed by an op "
                             "(got '%s' with %lld elements)",
                             loss->name, (long long)mg_numel(loss));
    return MG_OK;
}

mg_status mg_graph_compile(mg_graph *g, mg_tensor *loss) {
    if (!g) return mg_fail(MG_ERR_ARG, "mg_graph_compile: graph is NULL");
    if (g->status) return mg_fail(g->status, "%s", g->err);
    if (g->compiled) return mg_graph_fail(g, MG_ERR_STATE, "mg_graph_compile: already compiled");
    if (check_loss(g, loss)) return g->status;
    if (mg_graph_run_passes(g, &loss)) return g->status;
    if (mg_params_alloc(g->params)) return mg_graph_fail(g, MG_ERR_NOMEM, "%s", mg_errmsg());

    const int n = g->n_nodes;
    const int T = loss ? 2 * n : n; /* slots; T itself means "end of step" */
    bool *needed = mg_calloc((size_t)n, sizeof *needed);
    bool *reach = mg_calloc((size_t)n, sizeof *reach);
    int *last = mg_calloc((size_t)n, sizeof *last);
    int *first_write = mg_calloc((size_t)n, sizeof *first_write);
    interval *iv = mg_calloc((size_t)(3 * n), sizeof *iv);
    int *active = mg_calloc((size_t)(3 * n), sizeof *active);
    mg_status st = MG_OK;
    if (!needed || !reach || !last || !first_write || !iv || !active) {
        st = mg_graph_fail(g, MG_ERR_NOMEM, "out of memory compiling %d nodes", n);
        goto done;
    }

    /* What runs: ancestors of the loss and of kept tensors. What gets a
     * gradient: ancestors of the loss that a parameter reaches. */
    if (loss) needed[loss->id] = reach[loss->id] = true;
    for (int i = 0; i < n; i++)
        if (g->kept[i]) needed[i] = true;
    for (int i = n - 1; i >= 0; i--)
        for (int k = 0; k < g->nodes[i]->n_in; k++) {
            int j = g->nodes[i]->in[k]->id;
            needed[j] |= needed[i];
            reach[j] |= reach[i];
        }
#define BWD(i) (2 * n - 1 - (i))
#define HAS_GRAD(t) (loss && reach[(t)->id] && (t)->requires_grad)
    for (int i = 0; i < n; i++) {
        mg_tensor *t = g->nodes[i];
        if (t->op && HAS_GRAD(t) && !t->op->backward) {
            st = mg_graph_fail(g, MG_ERR_ARG,
                               "op '%s' (node #%d '%s') has no backward, but a parameter reaches "
                               "the loss through it",
                               t->op->name, t->id, t->name);
            goto done;
        }
    }

    /* Last reader of each storage root, and first writer of each gradient. */
    for (int i = 0; i < n; i++) {
        last[i] = i;
        first_write[i] = INT_MAX;
    }
    for (int i = 0; i < n; i++) {
        mg_tensor *t = g->nodes[i];
        if (!needed[i]) continue;
        bool bwd = t->op && HAS_GRAD(t);
        for (int k = 0; k < t->n_in; k++) {
            mg_tensor *x = t->in[k];
            int r = x->root->id;
            if (last[r] < i) last[r] = i;
            if (bwd && (t->op->flags & MG_OP_BWD_IN) && last[r] < BWD(i)) last[r] = BWD(i);
            if (bwd && HAS_GRAD(x) && first_write[x->id] > BWD(i)) first_write[x->id] = BWD(i);
        }
        if (bwd && (t->op->flags & MG_OP_BWD_OUT) && last[t->root->id] < BWD(i))
            last[t->root->id] = BWD(i);
        if (g->kept[i] || t == loss) last[t->root->id] = T;
    }
    if (loss) first_write[loss->id] = BWD(loss->id);

    int n_iv = 0;
    size_t n_inputs = 0;
    for (int i = 0; i < n; i++) {
        mg_tensor *t = g->nodes[i];
        if (t->kind == MG_TENSOR_INPUT) n_inputs += round_up((size_t)mg_numel(t));
        if (!needed[i] || !t->op) continue;
        bool has_grad = HAS_GRAD(t);
        if (!(t->op->flags & MG_OP_VIEW))
            iv[n_iv++] = (interval){i, last[i], round_up((size_t)mg_numel(t)), 0, t, 0};
        if (has_grad)
            iv[n_iv++] = (interval){first_write[i], BWD(i), round_up((size_t)mg_numel(t)), 0, t, 1};
        size_t aux = t->op->aux_size ? t->op->aux_size(t) : 0;
        if (aux) iv[n_iv++] = (interval){i, has_grad ? BWD(i) : i, round_up(aux), 0, t, 2};
    }
    qsort(iv, (size_t)n_iv, sizeof *iv, by_birth);
    g->unplanned_floats = 0;
    for (int k = 0; k < n_iv; k++) g->unplanned_floats += iv[k].size;
    g->arena_floats = place(iv, n_iv, active);

    g->arena = mg_aligned_alloc((g->arena_floats ? g->arena_floats : 1) * sizeof(float));
    g->inputs = mg_aligned_alloc((n_inputs ? n_inputs : 1) * sizeof(float));
    g->fwd = mg_calloc((size_t)n, sizeof *g->fwd);
    g->bwd = mg_calloc((size_t)n, sizeof *g->bwd);
    g->zero_at = mg_calloc((size_t)n + 1, sizeof *g->zero_at);
    g->zero_ptr = mg_calloc((size_t)n, sizeof *g->zero_ptr);
    g->zero_len = mg_calloc((size_t)n, sizeof *g->zero_len);
    if (!g->arena || !g->inputs || !g->fwd || !g->bwd || !g->zero_at || !g->zero_ptr ||
        !g->zero_len) {
        st = mg_graph_fail(g, MG_ERR_NOMEM, "out of memory allocating a %zu-byte arena",
                           g->arena_floats * sizeof(float));
        goto done;
    }
    memset(g->arena, 0, g->arena_floats * sizeof(float));
    memset(g->inputs, 0, n_inputs * sizeof(float));

    /* Bind leaves, then planned buffers, then views (roots come first). */
    float *pdata = mg_params_data(g->params), *pgrad = mg_params_grad(g->params);
    size_t in_off = 0;
    for (int i = 0; i < n; i++) {
        mg_tensor *t = g->nodes[i];
        if (t->kind == MG_TENSOR_PARAM) {
            const mg_param_info *info = mg_params_info(g->params, t->param_index);
            t->data = pdata + info->offset;
            t->grad = HAS_GRAD(t) ? pgrad + info->offset : NULL;
        } else if (t->kind == MG_TENSOR_INPUT) {
            t->data = g->inputs + in_off;
            in_off += round_up((size_t)mg_numel(t));
        }
    }
    for (int k = 0; k < n_iv; k++) {
        float *p = g->arena + iv[k].offset;
        if (iv[k].which == 0) iv[k].t->data = p;
        else if (iv[k].which == 1) iv[k].t->grad = p;
        else iv[k].t->aux = p;
    }
    for (int i = 0; i < n; i++) {
        mg_tensor *t = g->nodes[i];
        if (needed[i] && t->op && (t->op->flags & MG_OP_VIEW))
            t->data = (float *)t->root->data + t->offset;
    }

    /* Schedules. Each gradient's first writer stores into it when its op
     * can (MG_OP_BWD_WRITE); otherwise the gradient is zeroed just before
     * that writer runs. A parameter read through several nodes of this
     * graph shares one gradient among them: it is zeroed before the first
     * backward kernel instead. */
    g->n_fwd = g->n_bwd = 0;
    for (int i = 0; i < n; i++)
        if (needed[i] && g->nodes[i]->op && !(g->nodes[i]->op->flags & MG_OP_VIEW))
            g->fwd[g->n_fwd++] = i;
    for (int i = n - 1; i >= 0; i--)
        if (needed[i] && g->nodes[i]->op && HAS_GRAD(g->nodes[i])) g->bwd[g->n_bwd++] = i;
    for (int i = 0; i < n; i++) {
        g->nodes[i]->grad_write = 0;
        last[i] = INT_MAX; /* reused: the slot at which node i's gradient is zeroed */
    }
    for (int i = 0; i < n; i++) {
        mg_tensor *t = g->nodes[i];
        if (!needed[i] || !HAS_GRAD(t) || first_write[i] == INT_MAX) continue;
        /* the nodes sharing t's parameter gradient: how many, and the lowest */
        int sharing = 0, lowest = i;
        for (int j = 0; t->kind == MG_TENSOR_PARAM && j < n; j++)
            if (needed[j] && g->nodes[j]->kind == MG_TENSOR_PARAM &&
                g->nodes[j]->param_index == t->param_index && HAS_GRAD(g->nodes[j]) &&
                sharing++ == 0)
                lowest = j;
        if (sharing > 1) { /* zeroed once, by the lowest such node */
            if (lowest == i) last[i] = g->n_bwd ? BWD(g->bwd[0]) : INT_MAX;
            continue;
        }
        mg_tensor *w = t == loss ? NULL : g->nodes[2 * n - 1 - first_write[i]];
        int k_first = -1, count = 0;
        for (int k = 0; w && k < w->n_in; k++)
            if (w->in[k] == t) {
                if (k_first < 0) k_first = k;
                count++;
            }
        if (w && !g->no_grad_write && (w->op->flags & MG_OP_BWD_WRITE) && count == 1)
            w->grad_write |= 1u << k_first;
        else last[i] = first_write[i];
    }
    int nz = 0;
    for (int b = 0; b < g->n_bwd; b++) {
        g->zero_at[b] = nz;
        int slot = BWD(g->bwd[b]);
        for (int i = 0; i < n; i++)
            if (last[i] == slot) {
                g->zero_ptr[nz] = g->nodes[i]->grad;
                g->zero_len[nz++] = (size_t)mg_numel(g->nodes[i]);
            }
    }
    g->zero_at[g->n_bwd] = nz;
    g->loss = loss;
    g->compiled = true;
#undef BWD
#undef HAS_GRAD

done:
    mg_free(needed);
    mg_free(reach);
    mg_free(last);
    mg_free(first_write);
    mg_free(iv);
    mg_free(active);
    return st;
}

size_t mg_graph_arena_bytes(const mg_graph *g) { return g->arena_floats * sizeof(float); }
size_t mg_graph_unplanned_bytes(const mg_graph *g) { return g->unplanned_floats * sizeof(float); }
