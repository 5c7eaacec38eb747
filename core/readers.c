/* readers.c — the liveness queries of the graph passes (rewrite.h:
 * mg_graph_uses, mg_graph_is_live, mg_graph_readers), answered from one
 * table: which nodes are live (reachable backwards from a kept node) and
 * the live readers of each node. The table is built by the first query
 * after the graph's edges or kept set changed (mg_graph_replace,
 * mg_graph_keep, the re-sort, the start of each pass), in one walk of the
 * graph; a query is then a lookup, not a walk. Nodes added since it was
 * built (a pass's replacement under construction) are read by nothing live
 * and are not live themselves until a replace makes them so, which is what
 * the table says of a node it does not cover. */
#include <limits.h>

#include "core/alloc.h"
#include "core/graph_impl.h"
#include "core/rewrite.h"

void mg_graph_readers_free(mg_graph *g) {
    mg_free(g->live);
    mg_free(g->reader_at);
    mg_free(g->reader_list);
    g->live = NULL;
    g->reader_at = NULL;
    g->reader_list = NULL;
    g->readers_valid = false;
}

/* Marks the live nodes: kept ones and, backwards, their inputs. */
static void mark_live(mg_graph *g, mg_tensor **stack) {
    int top = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        g->live[i] = g->kept[i];
        if (g->kept[i]) stack[top++] = g->nodes[i];
    }
    while (top) {
        mg_tensor *t = stack[--top];
        for (int k = 0; k < t->n_in; k++)
            if (!g->live[t->in[k]->id]) g->live[t->in[k]->id] = true, stack[top++] = t->in[k];
    }
}

/* Rebuilds the table; false (with the error recorded in g) if out of memory. */
static bool build(mg_graph *g) {
    int n = g->n_nodes, edges = 0;
    mg_graph_readers_free(g);
    for (int i = 0; i < n; i++) edges += g->nodes[i]->n_in;
    g->live = mg_malloc((size_t)n * sizeof *g->live + 1);
    g->reader_at = mg_calloc((size_t)n + 2, sizeof *g->reader_at);
    g->reader_list = mg_malloc(((size_t)edges + 1) * sizeof *g->reader_list);
    mg_tensor **stack = mg_malloc(((size_t)n + 1) * sizeof *stack);
    if (!g->live || !g->reader_at || !g->reader_list || !stack) {
        mg_free(stack);
        mg_graph_readers_free(g);
        mg_graph_fail(g, MG_ERR_NOMEM, "out of memory listing the readers of %d nodes", n);
        return false;
    }
    mark_live(g, stack);
    mg_free(stack);
    /* counts into reader_at[j + 2], starts by a prefix sum into [j + 1],
     * then each entry advances its node's cursor: reader_at[j] = start */
    for (int i = 0; i < n; i++)
        for (int k = 0; g->live[i] && k < g->nodes[i]->n_in; k++)
            g->reader_at[g->nodes[i]->in[k]->id + 2]++;
    for (int j = 2; j <= n + 1; j++) g->reader_at[j] += g->reader_at[j - 1];
    for (int i = 0; i < n; i++)
        for (int k = 0; g->live[i] && k < g->nodes[i]->n_in; k++)
            g->reader_list[g->reader_at[g->nodes[i]->in[k]->id + 1]++] = g->nodes[i];
    g->readers_n = n;
    g->readers_valid = true;
    return true;
}

/* The table, current; NULL if it could not be built. */
static mg_graph *table(const mg_graph *cg) {
    mg_graph *g = (mg_graph *)cg; /* the table is a cache: queries stay const */
    return g->readers_valid || build(g) ? g : NULL;
}

mg_tensor *const *mg_graph_readers(const mg_graph *cg, const mg_tensor *t, int *n) {
    mg_graph *g = table(cg);
    *n = 0;
    if (!g || t->id >= g->readers_n) return NULL;
    *n = g->reader_at[t->id + 1] - g->reader_at[t->id];
    return g->reader_list + g->reader_at[t->id];
}

int mg_graph_uses(const mg_graph *g, const mg_tensor *t) {
    int n;
    mg_graph_readers(g, t, &n);
    return table(g) ? n : INT_MAX; /* out of memory: as if read everywhere */
}

bool mg_graph_is_live(const mg_graph *cg, const mg_tensor *t) {
    mg_graph *g = table(cg);
    if (!g) return true; /* out of memory: nothing may be taken for dead */
    return t->id < g->readers_n && g->live[t->id];
}
