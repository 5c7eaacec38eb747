/* plan.c — compiling a graph: the backward schedule and the memory plan.
 *
 * The step's timeline has 2n slots for n nodes: node i runs forward at slot i
 * and backward at slot 2n-1-i. Every buffer gets an interval of slots:
 *   value of node i    [i, last slot that reads it]   (views read their root)
 *   gradient of node i [first backward that adds to it, i's own backward]
 *   saved (aux) of i   [i, i's backward]
 * Intervals are placed in one arena by a greedy first-fit in birth order, a
 * buffer reusing the space of any buffer whose interval has ended (the same
 * idea as a register allocator). This runs once; a step replays it.
 *
 * mg_graph_compile runs the rewrites, then these phases, each a function:
 *   find_needed      what runs, and what gets a gradient
 *   find_liveness    the last slot reading each value, the first writing
 *                    each gradient (from the ops' MG_OP_BWD_IN / _OUT)
 *   make_intervals   every buffer's interval
 *   place / bind     offsets in the arena, then each tensor's pointers
 *   order_kernels    the forward and backward schedules
 *   plan_zeroing     which gradients their first writer stores into, and
 *                    where the others are zeroed
 *   plan_poison      (checking mode) where each buffer's interval ends */
#include <limits.h>
#include <math.h>
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

/* The compile's working state; arrays are indexed by node id. */
typedef struct {
    mg_graph *g;
    mg_tensor *loss;
    int n, T;         /* nodes, and slots (T itself means "end of step") */
    bool *needed;     /* runs: an ancestor of the loss or of a kept tensor */
    bool *reach;      /* the loss depends on it */
    int *last;        /* last slot reading the value of each storage root */
    int *first_write; /* first slot writing each gradient (INT_MAX: none) */
    int *zero_slot;   /* slot before which each gradient is zeroed (INT_MAX: none) */
    interval *iv;
    int n_iv, *active;
    size_t n_inputs; /* floats of the inputs' storage */
} plan;

static int bwd_slot(const plan *p, int i) { return 2 * p->n - 1 - i; }
static bool has_grad(const plan *p, const mg_tensor *t) {
    return p->loss && p->reach[t->id] && t->requires_grad;
}
static size_t round_up(size_t n) { return (n + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS; }

/* What runs: ancestors of the loss and of kept tensors. What gets a
 * gradient: ancestors of the loss that a parameter reaches. */
static mg_status find_needed(plan *p) {
    mg_graph *g = p->g;
    if (p->loss) p->needed[p->loss->id] = p->reach[p->loss->id] = true;
    for (int i = 0; i < p->n; i++)
        if (g->kept[i]) p->needed[i] = true;
    for (int i = p->n - 1; i >= 0; i--)
        for (int k = 0; k < g->nodes[i]->n_in; k++) {
            int j = g->nodes[i]->in[k]->id;
            p->needed[j] |= p->needed[i];
            p->reach[j] |= p->reach[i];
        }
    for (int i = 0; i < p->n; i++) {
        mg_tensor *t = g->nodes[i];
        if (t->op && has_grad(p, t) && !t->op->backward)
            return mg_graph_fail(g, MG_ERR_ARG,
                                 "op '%s' (node #%d '%s') has no backward, but a parameter reaches "
                                 "the loss through it",
                                 t->op->name, t->id, t->name);
    }
    return MG_OK;
}

/* The last reader of each storage root (a backward that declares it reads
 * its inputs or its output counts), and the first writer of each gradient. */
static void find_liveness(plan *p) {
    mg_graph *g = p->g;
    for (int i = 0; i < p->n; i++) {
        p->last[i] = i;
        p->first_write[i] = INT_MAX;
    }
    for (int i = 0; i < p->n; i++) {
        mg_tensor *t = g->nodes[i];
        if (!p->needed[i]) continue;
        bool bwd = t->op && has_grad(p, t);
        int b = bwd_slot(p, i), *last = p->last;
        for (int k = 0; k < t->n_in; k++) {
            mg_tensor *x = t->in[k];
            int r = x->root->id;
            if (last[r] < i) last[r] = i;
            if (bwd && (t->op->flags & MG_OP_BWD_IN) && last[r] < b) last[r] = b;
            if (bwd && has_grad(p, x) && p->first_write[x->id] > b) p->first_write[x->id] = b;
        }
        if (bwd && (t->op->flags & MG_OP_BWD_OUT) && last[t->root->id] < b) last[t->root->id] = b;
        if (g->kept[i] || t == p->loss) last[t->root->id] = p->T;
    }
    if (p->loss) p->first_write[p->loss->id] = bwd_slot(p, p->loss->id);
}

static int by_birth(const void *pa, const void *pb) {
    const interval *a = pa, *b = pb;
    if (a->birth != b->birth) return a->birth < b->birth ? -1 : 1;
    if (a->t->id != b->t->id) return a->t->id < b->t->id ? -1 : 1;
    return a->which - b->which;
}

/* Every planned buffer's interval, in birth order. */
static void make_intervals(plan *p) {
    mg_graph *g = p->g;
    p->n_iv = 0;
    p->n_inputs = 0;
    for (int i = 0; i < p->n; i++) {
        mg_tensor *t = g->nodes[i];
        if (t->kind == MG_TENSOR_INPUT) p->n_inputs += round_up((size_t)mg_numel(t));
        if (!p->needed[i] || !t->op) continue;
        size_t size = round_up((size_t)mg_numel(t));
        bool grad = has_grad(p, t);
        if (!(t->op->flags & MG_OP_VIEW))
            p->iv[p->n_iv++] = (interval){i, p->last[i], size, 0, t, 0};
        if (grad) p->iv[p->n_iv++] = (interval){p->first_write[i], bwd_slot(p, i), size, 0, t, 1};
        size_t aux = t->op->aux_size ? t->op->aux_size(t) : 0;
        if (aux)
            p->iv[p->n_iv++] = (interval){i, grad ? bwd_slot(p, i) : i, round_up(aux), 0, t, 2};
    }
    qsort(p->iv, (size_t)p->n_iv, sizeof *p->iv, by_birth);
    g->unplanned_floats = 0;
    for (int k = 0; k < p->n_iv; k++) g->unplanned_floats += p->iv[k].size;
}

/* First-fit placement; returns the arena size in floats. active[] holds
 * indices of placed intervals sorted by offset. With reuse off, every
 * interval gets space of its own. */
static size_t place(interval *iv, int n, int *active, bool reuse) {
    int n_active = 0;
    size_t top = 0;
    for (int k = 0; k < n; k++) {
        if (!reuse) {
            iv[k].offset = top;
            top += iv[k].size;
            continue;
        }
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

/* The arena, the inputs' storage and the schedules' arrays. The arena is
 * not zeroed: nothing reads a buffer before writing it (checking mode fills
 * it with NaN instead, so a kernel that did would give NaN). */
static mg_status allocate(plan *p) {
    mg_graph *g = p->g;
    size_t n = (size_t)p->n;
    g->arena = mg_aligned_alloc((g->arena_floats ? g->arena_floats : 1) * sizeof(float));
    g->inputs = mg_aligned_alloc((p->n_inputs ? p->n_inputs : 1) * sizeof(float));
    g->fwd = mg_calloc(n, sizeof *g->fwd);
    g->bwd = mg_calloc(n, sizeof *g->bwd);
    g->zero_at = mg_calloc(n + 1, sizeof *g->zero_at);
    g->zero_ptr = mg_calloc(n, sizeof *g->zero_ptr);
    g->zero_len = mg_calloc(n, sizeof *g->zero_len);
    if (!g->arena || !g->inputs || !g->fwd || !g->bwd || !g->zero_at || !g->zero_ptr ||
        !g->zero_len)
        return mg_graph_fail(g, MG_ERR_NOMEM, "out of memory allocating a %zu-byte arena",
                             g->arena_floats * sizeof(float));
    if (g->checking)
        for (size_t i = 0; i < g->arena_floats; i++) g->arena[i] = NAN;
    memset(g->inputs, 0, p->n_inputs * sizeof(float));
    return MG_OK;
}

/* Points every tensor at its storage: leaves into the parameter store and
 * the inputs' storage, planned buffers into the arena, then views into
 * their roots (which come first). */
static void bind(plan *p) {
    mg_graph *g = p->g;
    float *pdata = mg_params_data(g->params), *pgrad = mg_params_grad(g->params);
    size_t in_off = 0;
    for (int i = 0; i < p->n; i++) {
        mg_tensor *t = g->nodes[i];
        if (t->kind == MG_TENSOR_PARAM) {
            const mg_param_info *info = mg_params_info(g->params, t->param_index);
            t->data = pdata + info->offset;
            t->grad = has_grad(p, t) ? pgrad + info->offset : NULL;
        } else if (t->kind == MG_TENSOR_INPUT) {
            t->data = g->inputs + in_off;
            in_off += round_up((size_t)mg_numel(t));
        }
    }
    for (int k = 0; k < p->n_iv; k++) {
        float *at = g->arena + p->iv[k].offset;
        if (p->iv[k].which == 0) p->iv[k].t->data = at;
        else if (p->iv[k].which == 1) p->iv[k].t->grad = at;
        else p->iv[k].t->aux = at;
    }
    for (int i = 0; i < p->n; i++) {
        mg_tensor *t = g->nodes[i];
        if (p->needed[i] && t->op && (t->op->flags & MG_OP_VIEW))
            t->data = (float *)t->root->data + t->offset;
    }
}

/* Forward: the needed nodes that run a kernel, in order; backward: the
 * needed nodes with a gradient, in reverse order. */
static void order_kernels(plan *p) {
    mg_graph *g = p->g;
    g->n_fwd = g->n_bwd = 0;
    for (int i = 0; i < p->n; i++)
        if (p->needed[i] && g->nodes[i]->op && !(g->nodes[i]->op->flags & MG_OP_VIEW))
            g->fwd[g->n_fwd++] = i;
    for (int i = p->n - 1; i >= 0; i--)
        if (p->needed[i] && g->nodes[i]->op && has_grad(p, g->nodes[i])) g->bwd[g->n_bwd++] = i;
}

/* The lowest needed node sharing t's parameter gradient, and how many do
 * (1 for any other tensor). */
static int shared_gradient(const plan *p, const mg_tensor *t, int *lowest) {
    int sharing = 0;
    *lowest = t->id;
    for (int j = 0; t->kind == MG_TENSOR_PARAM && j < p->n; j++) {
        const mg_tensor *u = p->g->nodes[j];
        if (p->needed[j] && u->kind == MG_TENSOR_PARAM && u->param_index == t->param_index &&
            has_grad(p, u) && sharing++ == 0)
            *lowest = j;
    }
    return sharing ? sharing : 1;
}

/* Each gradient's first writer stores into it when its op can
 * (MG_OP_BWD_WRITE) and it reads t once; otherwise the gradient is zeroed
 * just before that writer runs. A parameter read through several nodes of
 * this graph shares one gradient among them: it is zeroed before the first
 * backward kernel instead. Then the zeroing lists, by backward position. */
static void plan_zeroing(plan *p) {
    mg_graph *g = p->g;
    for (int i = 0; i < p->n; i++) {
        g->nodes[i]->grad_write = 0;
        p->zero_slot[i] = INT_MAX;
    }
    for (int i = 0; i < p->n; i++) {
        mg_tensor *t = g->nodes[i];
        if (!p->needed[i] || !has_grad(p, t) || p->first_write[i] == INT_MAX) continue;
        int lowest;
        if (shared_gradient(p, t, &lowest) > 1) { /* zeroed once, by the lowest such node */
            if (lowest == i) p->zero_slot[i] = g->n_bwd ? bwd_slot(p, g->bwd[0]) : INT_MAX;
            continue;
        }
        mg_tensor *w = t == p->loss ? NULL : g->nodes[2 * p->n - 1 - p->first_write[i]];
        int k_first = -1, count = 0;
        for (int k = 0; w && k < w->n_in; k++)
            if (w->in[k] == t) {
                if (k_first < 0) k_first = k;
                count++;
            }
        if (w && !g->no_grad_write && (w->op->flags & MG_OP_BWD_WRITE) && count == 1)
            w->grad_write |= 1u << k_first;
        else p->zero_slot[i] = p->first_write[i];
    }
    int nz = 0;
    for (int b = 0; b < g->n_bwd; b++) {
        g->zero_at[b] = nz;
        int slot = bwd_slot(p, g->bwd[b]);
        for (int i = 0; i < p->n; i++)
            if (p->zero_slot[i] == slot) {
                g->zero_ptr[nz] = g->nodes[i]->grad;
                g->zero_len[nz++] = (size_t)mg_numel(g->nodes[i]);
            }
    }
    g->zero_at[g->n_bwd] = nz;
}

/* Checking mode: the buffers whose interval ends at each kernel of the step
 * (positions 0..n_fwd-1 forward, then n_fwd + b backward), filled with NaN
 * right after that kernel. A buffer ends at the last kernel at or before its
 * death (its last reader may be a view, which runs no kernel); a kept one
 * (death T) never does. */
static mg_status plan_poison(plan *p) {
    mg_graph *g = p->g;
    int n_pos = g->n_fwd + g->n_bwd;
    int *pos_of = mg_malloc(((size_t)p->T + 1) * sizeof *pos_of); /* slot -> position */
    g->poison_at = mg_calloc((size_t)n_pos + 2, sizeof *g->poison_at);
    g->poison_ptr = mg_calloc((size_t)p->n_iv + 1, sizeof *g->poison_ptr);
    g->poison_len = mg_calloc((size_t)p->n_iv + 1, sizeof *g->poison_len);
    if (!pos_of || !g->poison_at || !g->poison_ptr || !g->poison_len) {
        mg_free(pos_of);
        return mg_graph_fail(g, MG_ERR_NOMEM, "out of memory planning checking mode");
    }
    for (int s = 0, pos = -1; s < p->T; s++) {
        while (pos + 1 < n_pos &&
               (pos + 1 < g->n_fwd ? g->fwd[pos + 1] : bwd_slot(p, g->bwd[pos + 1 - g->n_fwd])) <=
                   s)
            pos++;
        pos_of[s] = pos;
    }
    /* counting sort of the ending buffers by position (poison_at[pos + 1]) */
    for (int k = 0; k < p->n_iv; k++)
        if (p->iv[k].death < p->T && pos_of[p->iv[k].death] >= 0)
            g->poison_at[pos_of[p->iv[k].death] + 1]++;
    for (int pos = 0; pos <= n_pos; pos++) g->poison_at[pos + 1] += g->poison_at[pos];
    int *fill = g->poison_at; /* advanced per entry, then shifted back */
    for (int k = 0; k < p->n_iv; k++) {
        if (p->iv[k].death >= p->T || pos_of[p->iv[k].death] < 0) continue;
        int at = fill[pos_of[p->iv[k].death]]++;
        g->poison_ptr[at] = g->arena + p->iv[k].offset;
        g->poison_len[at] = p->iv[k].size;
    }
    for (int pos = n_pos; pos > 0; pos--) g->poison_at[pos] = g->poison_at[pos - 1];
    g->poison_at[0] = 0;
    mg_free(pos_of);
    return MG_OK;
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

static void plan_free(plan *p) {
    mg_free(p->needed);
    mg_free(p->reach);
    mg_free(p->last);
    mg_free(p->first_write);
    mg_free(p->zero_slot);
    mg_free(p->iv);
    mg_free(p->active);
}

/* The phases in order; the first failure is recorded in g. */
static mg_status run_phases(plan *p) {
    mg_graph *g = p->g;
    size_t n = (size_t)p->n;
    p->needed = mg_calloc(n, sizeof *p->needed);
    p->reach = mg_calloc(n, sizeof *p->reach);
    p->last = mg_calloc(n, sizeof *p->last);
    p->first_write = mg_calloc(n, sizeof *p->first_write);
    p->zero_slot = mg_calloc(n, sizeof *p->zero_slot);
    p->iv = mg_calloc(3 * n, sizeof *p->iv);
    p->active = mg_calloc(3 * n, sizeof *p->active);
    if (!p->needed || !p->reach || !p->last || !p->first_write || !p->zero_slot || !p->iv ||
        !p->active)
        return mg_graph_fail(g, MG_ERR_NOMEM, "out of memory compiling %d nodes", p->n);
    if (find_needed(p)) return g->status;
    find_liveness(p);
    make_intervals(p);
    g->arena_floats = place(p->iv, p->n_iv, p->active, !g->no_reuse);
    if (allocate(p)) return g->status;
    bind(p);
    order_kernels(p);
    plan_zeroing(p);
    if (g->checking && plan_poison(p)) return g->status;
    return MG_OK;
}

mg_status mg_graph_compile(mg_graph *g, mg_tensor *loss) {
    if (!g) return mg_fail(MG_ERR_ARG, "mg_graph_compile: graph is NULL");
    if (g->status) return mg_fail(g->status, "%s", g->err);
    if (g->compiled) return mg_graph_fail(g, MG_ERR_STATE, "mg_graph_compile: already compiled");
    if (check_loss(g, loss)) return g->status;
    if (mg_graph_run_passes(g, &loss)) return g->status;
    if (mg_params_alloc(g->params)) return mg_graph_fail(g, MG_ERR_NOMEM, "%s", mg_errmsg());
    plan p = {.g = g, .loss = loss, .n = g->n_nodes, .T = loss ? 2 * g->n_nodes : g->n_nodes};
    mg_status st = run_phases(&p);
    plan_free(&p);
    if (st) return st;
    g->loss = loss;
    g->compiled = true;
    return MG_OK;
}

mg_status mg_graph_set_checking(mg_graph *g, bool on) {
    if (g->compiled)
        return mg_fail(MG_ERR_STATE, "mg_graph_set_checking: call it before mg_graph_compile");
    g->checking = on;
    return MG_OK;
}

mg_status mg_graph_set_reuse(mg_graph *g, bool on) {
    if (g->compiled)
        return mg_fail(MG_ERR_STATE, "mg_graph_set_reuse: call it before mg_graph_compile");
    g->no_reuse = !on;
    return MG_OK;
}

size_t mg_graph_arena_bytes(const mg_graph *g) { return g->arena_floats * sizeof(float); }
size_t mg_graph_unplanned_bytes(const mg_graph *g) { return g->unplanned_floats * sizeof(float); }
