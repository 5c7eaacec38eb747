/* pass_copies.c — redundant copies: contiguous(x) where x is already
 * contiguous reads x itself. Other rewrites leave such copies behind (a
 * slice that needed a copy is itself replaced by a contiguous result).
 * The pass is about the copy op itself, so it matches it by name. */
#include "core/rewrite.h"
#include "ops/ops.h"

static int run(mg_graph *g) {
    int changes = 0;
    for (int i = 0; i < mg_graph_node_count(g); i++) {
        mg_tensor *c = mg_graph_node(g, i);
        if (c->op != &mg_op_contiguous || !mg_is_contiguous(c->in[0]) || mg_graph_is_kept(g, c) ||
            !mg_graph_is_live(g, c))
            continue;
        mg_graph_replace(g, c, c->in[0], mg_graph_node_count(g));
        changes++;
    }
    return changes;
}

static const mg_pass copies = {
    .name = "copies",
    .summary = "contiguous(x) -> x when x is already contiguous",
    .order = 90,
    .run = run,
};
MG_REGISTER_PASS(copies)
