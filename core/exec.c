/* exec.c — running a compiled graph: replay the forward and backward
 * schedules over the planned arena. No allocation happens here. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "core/graph_impl.h"

void mg_graph_profile(mg_graph *g, double *fwd_s, double *bwd_s) {
    if (!g) return;
    g->prof_fwd = fwd_s;
    g->prof_bwd = bwd_s;
}

/* Checking mode: NaN into the buffers whose interval ends at kernel k. */
static void poison(const mg_graph *g, int k) {
    for (int e = g->poison_at[k]; e < g->poison_at[k + 1]; e++)
        for (size_t i = 0; i < g->poison_len[e]; i++) g->poison_ptr[e][i] = NAN;
}

mg_status mg_graph_forward(mg_graph *g) {
    if (!g || !g->compiled)
        return mg_fail(MG_ERR_STATE, "mg_graph_forward: compile the graph first");
    for (int k = 0; k < g->n_fwd; k++) {
        mg_tensor *t = g->nodes[g->fwd[k]];
        double t0 = g->prof_fwd ? mg_clock_s() : 0;
        mg_status st = t->op->forward(t);
        if (g->prof_fwd) g->prof_fwd[t->id] += mg_clock_s() - t0;
        if (g->poison_at) poison(g, k);
        if (st != MG_OK) {
            char msg[1024];
            snprintf(msg, sizeof msg, "%s", mg_errmsg());
            return mg_fail(st, "%s (in node #%d '%s', op %s)", msg, t->id, t->name, t->op->name);
        }
    }
    return MG_OK;
}

mg_status mg_graph_backward(mg_graph *g) {
    if (!g || !g->compiled || !g->loss)
        return mg_fail(MG_ERR_STATE, "mg_graph_backward: compile the graph with a loss first");
    double *prof = g->prof_bwd;
    for (int b = 0; b < g->n_bwd; b++) {
        double t0 = prof ? mg_clock_s() : 0;
        for (int z = g->zero_at[b]; z < g->zero_at[b + 1]; z++)
            memset(g->zero_ptr[z], 0, g->zero_len[z] * sizeof(float));
        mg_tensor *t = g->nodes[g->bwd[b]];
        if (t == g->loss) t->grad[0] = 1.0f;
        double t1 = prof ? mg_clock_s() : 0;
        t->op->backward(t);
        if (g->poison_at) poison(g, g->n_fwd + b);
        if (prof) {
            prof[g->n_nodes] += t1 - t0;
            prof[t->id] += mg_clock_s() - t1;
        }
    }
    return MG_OK;
}

double mg_node_flops(const mg_tensor *t, bool backward) {
    if (!t->op || (t->op->flags & MG_OP_VIEW)) return 0;
    return t->op->flops ? t->op->flops(t, backward) : (double)mg_numel(t);
}

double mg_graph_step_flops(const mg_graph *g) {
    double f = 0;
    for (int k = 0; g->compiled && k < g->n_fwd; k++)
        f += mg_node_flops(g->nodes[g->fwd[k]], false);
    for (int k = 0; g->compiled && k < g->n_bwd; k++) f += mg_node_flops(g->nodes[g->bwd[k]], true);
    return f;
}
