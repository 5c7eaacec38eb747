/* graph_impl.h — the graph's private state, shared by graph.c (building),
 * plan.c (compiling and memory planning) and exec.c (running steps).
 * Nothing outside core/ includes this file. */
#ifndef MG_GRAPH_IMPL_H
#define MG_GRAPH_IMPL_H

#include "core/graph.h"

/* Frees the readers table (readers.c). */
void mg_graph_readers_free(mg_graph *g);

struct mg_graph {
    mg_params *params;
    mg_tensor **nodes; /* in creation order, which is a topological order */
    int n_nodes, cap_nodes;
    bool *kept; /* indexed by node id (grown with nodes) */

    bool pass_off[32];  /* rewrites turned off (core/rewrite.h) */
    int pass_count[32]; /* rewrites each pass made at compile */

    mg_status status; /* first build/compile error */
    char err[1024];

    /* set by compile */
    bool compiled;
    mg_tensor *loss;
    float *arena;        /* planned values, gradients and saved buffers */
    size_t arena_floats; /* its size */
    size_t unplanned_floats;
    float *inputs; /* inputs' storage, live for the whole step */

    int n_fwd;    /* forward schedule: op nodes that run a kernel */
    int *fwd;     /* node ids */
    int n_bwd;    /* backward schedule, in reverse order */
    int *bwd;     /* node ids */
    int *zero_at; /* zero_at[k]..zero_at[k+1]-1 index zero_list: grads born at step k */
    float **zero_ptr;
    size_t *zero_len;

    bool no_grad_write;          /* mg_graph_set_grad_write(g, false) */
    bool no_reuse;               /* mg_graph_set_reuse(g, false) */
    bool checking;               /* mg_graph_set_checking(g, true) */
    double *prof_fwd, *prof_bwd; /* mg_graph_profile, NULL when off */

    /* checking mode: poison_at[k]..poison_at[k+1]-1 index the buffers that
     * are filled with NaN after kernel k of the step (forward kernels, then
     * backward ones); NULL when off */
    int *poison_at;
    float **poison_ptr;
    size_t *poison_len;

    /* the passes' readers table (readers.c): rebuilt by the first query
     * after a change to the graph's edges or kept set */
    bool readers_valid;
    int readers_n;           /* nodes it covers; later ones are not live yet */
    bool *live;              /* reachable backwards from a kept node */
    int *reader_at;          /* reader_at[i]..reader_at[i+1]-1 index reader_list */
    mg_tensor **reader_list; /* the live readers of each node, once per input slot */
};

#endif
