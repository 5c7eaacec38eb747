/* graph_impl.h — the graph's private state, shared by graph.c (building),
 * plan.c (compiling and memory planning) and exec.c (running steps).
 * Nothing outside core/ includes this file. */
#ifndef MG_GRAPH_IMPL_H
#define MG_GRAPH_IMPL_H

#include "core/graph.h"

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
    double *prof_fwd, *prof_bwd; /* mg_graph_profile, NULL when off */
};

#endif
