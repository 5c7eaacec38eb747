/* rewrite.h — graph passes: rewrites that make a step do less work than was
 * written, for every model (ops/README.md, "Why passes exist").
 *
 * A pass is one struct in its own file of ops/, registered like an op. It
 * finds what it may rewrite by asking the ops' properties (core/op.h:
 * elementwise, row-wise, distinct views), so a new op with those properties
 * gets the rewrite with no edit to the pass; a pass about a particular op
 * (gather hoisting) matches that op and says so. mg_graph_compile runs the enabled passes
 * before it plans memory, in increasing `order`, repeating the sequence until
 * no pass changes anything (late passes, order >= MG_PASS_LATE, only after
 * the others are done, the same way); then it re-sorts the nodes. A pass builds its
 * replacement with the ordinary builders (mg_apply, mg_matmul, ...) and
 * redirects the consumers of the old tensor with mg_graph_replace; the old
 * nodes, no longer read, are never scheduled. Each pass can be turned off
 * per graph (mg_graph_set_rewrites), so a test can run the rewritten and the
 * plain graph side by side. */
#ifndef MG_REWRITE_H
#define MG_REWRITE_H

#include "core/graph.h"

/* Passes of this order or above run only once the others have reached their
 * fixed point (fusions, which hide the ops the others match). */
#define MG_PASS_LATE 100

typedef struct mg_pass {
    const char *name;    /* "gather_hoist" */
    const char *summary; /* one line for listings */
    int order;           /* passes run in increasing order */
    /* Rewrites g; returns the number of rewrites made (0: nothing to do), or
     * -1 after recording an error in g (mg_graph_fail); compile then fails
     * with that status and message, prefixed by the pass's name. */
    int (*run)(mg_graph *g);
} mg_pass;

mg_status mg_pass_register(const mg_pass *p);
#define MG_REGISTER_PASS(p)                                                                        \
    __attribute__((constructor)) static void mg_register_pass_##p(void) {                          \
        (void)mg_pass_register(&p);                                                                \
    }

/* Registered passes, by increasing order. */
int mg_pass_count(void);
const mg_pass *mg_pass_at(int i);

/* Which passes g runs: NULL or "" all, "all" none, else a comma-separated
 * list of pass names to leave out. Fails on an unknown name (the message
 * lists the passes). */
mg_status mg_graph_set_rewrites(mg_graph *g, const char *disabled);

/* How many rewrites pass i made when g was compiled. */
int mg_graph_rewrite_count(const mg_graph *g, int pass);

/* Every consumer of old among the nodes made before node `since` reads
 * new_ instead (nodes made from `since` on are the replacement itself);
 * a consumer whose op needs contiguous input reads a copy of a strided new_. A
 * kept old (the caller holds it) becomes an alias of new_ (mg_op_alias, a
 * free view) when new_ is contiguous and of old's shape; otherwise it stays
 * and new_ is kept too. */
void mg_graph_replace(mg_graph *g, mg_tensor *old, mg_tensor *new_, int since);

/* Liveness, for the passes (core/readers.c). They are answered from a table
 * of the live nodes and their readers, built once per pass run and again
 * after each change (mg_graph_replace, mg_graph_keep), so each is a lookup.
 *
 * The live nodes that read t, one entry per input slot that reads it (a
 * node reading t twice is there twice), in node order; *n gets their count.
 * Valid until the graph changes: copy it before replacing. */
mg_tensor *const *mg_graph_readers(const mg_graph *g, const mg_tensor *t, int *n);

/* The number of live nodes' inputs that read t (views count as readers). */
int mg_graph_uses(const mg_graph *g, const mg_tensor *t);

/* Whether t is still part of the computation: reachable backwards from a
 * kept tensor (the outputs and the loss). A pass skips dead nodes (the ones
 * it already replaced). */
bool mg_graph_is_live(const mg_graph *g, const mg_tensor *t);

/* Runs the passes and re-sorts the nodes; called by mg_graph_compile. In
 * checking mode it then reads every parameter through a copy (core/graph.h). */
mg_status mg_graph_run_passes(mg_graph *g, mg_tensor **loss);

#endif
