/* bench_compile.c — how long mg_graph_compile takes (the rewrites, then the
 * memory plan): for the canonical transformer (the registered model on the
 * canonical training set, p = 113, 30% of the pairs: 3831 rows), and for a
 * stack of L such blocks built here from the same ops (L = 1 and 6 by
 * default). Prints the nodes before and after the rewrites, the rewrites
 * made, the arena, and the median over the repetitions of the time the
 * rewrites alone take and of the whole compile (rewrites, plan, and the
 * arena's allocation, whose first touch of its pages is most of it).
 *
 *   build/bench_compile [--reps R] [--layers L]...
 * Compile time is measured here, never in a test. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/rewrite.h"
#include "models/model.h"
#include "ops/ops.h"

enum { P = 113, ROWS = 3831, D = 128, HEADS = 4, D_MLP = 512 };

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The inputs the trainer gives a token-reading model on the modular task. */
static mg_model_io task_inputs(mg_graph *g, mg_tensor **labels) {
    mg_tensor *tokens = mg_input(g, "tokens", MG_I32, MG_SHAPE(ROWS, 3));
    mg_input_uniform(tokens, 1, 2, 1);
    *labels = mg_input(g, "labels", MG_I32, MG_SHAPE(ROWS));
    return (mg_model_io){.n = ROWS, .T = 3, .V = P + 1, .K = P, .n_values = P, .tokens = tokens};
}

/* The canonical transformer's block, repeated `layers` times:
 *   x += Wo attn(x);  x += W_out relu(W_in x + b_in) + b_out */
static mg_tensor *stack(mg_graph *g, const mg_model_io *io, int layers) {
    const int64_t n = io->n, T = io->T, dh = D / HEADS;
    mg_tensor *E = mg_param(g, "embed", MG_NORMAL(0.1), MG_SHAPE(io->V, D));
    mg_tensor *pos = mg_param(g, "pos", MG_NORMAL(0.1), MG_SHAPE(T, D));
    mg_tensor *x = mg_add(g, mg_gather(g, E, io->tokens), pos);
    const int split[] = {0, 2, 1, 3};
    for (int l = 0; l < layers; l++) {
        char name[32];
#define W(what, r, c)                                                                              \
    (snprintf(name, sizeof name, "l%d.%s", l, what),                                               \
     mg_param(g, name, MG_NORMAL(0.1), MG_SHAPE(r, c)))
        mg_tensor *q = mg_permute(
            g, mg_reshape(g, mg_matmul(g, x, W("q", D, D)), MG_SHAPE(n, T, HEADS, dh)), split);
        mg_tensor *k = mg_permute(
            g, mg_reshape(g, mg_matmul(g, x, W("k", D, D)), MG_SHAPE(n, T, HEADS, dh)), split);
        mg_tensor *v = mg_permute(
            g, mg_reshape(g, mg_matmul(g, x, W("v", D, D)), MG_SHAPE(n, T, HEADS, dh)), split);
        mg_tensor *s = mg_scale(g, mg_matmul(g, q, mg_transpose(g, k)), (float)(1.0 / sqrt(dh)));
        mg_tensor *z = mg_permute(g, mg_matmul(g, mg_softmax(g, mg_causal_mask(g, s)), v), split);
        x = mg_add(g, x, mg_matmul(g, mg_reshape(g, z, MG_SHAPE(n, T, D)), W("o", D, D)));
        snprintf(name, sizeof name, "l%d.b_in", l);
        mg_tensor *b_in = mg_param(g, name, MG_INIT_ZERO, MG_SHAPE(D_MLP));
        snprintf(name, sizeof name, "l%d.b_out", l);
        mg_tensor *b_out = mg_param(g, name, MG_INIT_ZERO, MG_SHAPE(D));
        mg_tensor *hid = mg_relu(g, mg_add(g, mg_matmul(g, x, W("w_in", D, D_MLP)), b_in));
        x = mg_add(g, x, mg_add(g, mg_matmul(g, hid, W("w_out", D_MLP, D)), b_out));
#undef W
    }
    mg_tensor *last = mg_reshape(g, mg_slice(g, x, 1, T - 1, 1), MG_SHAPE(n, D));
    return mg_matmul(g, last, mg_param(g, "unembed", MG_NORMAL(0.1), MG_SHAPE(D, io->K)));
}

typedef struct {
    double seconds;
    int nodes_written, nodes_after, rewrites;
    size_t arena_bytes;
} result;

/* Builds one training graph (layers 0: the registered model) and compiles
 * it, or with passes_only runs only its rewrites. */
static int compile_once(int layers, bool passes_only, result *r) {
    mg_params *P_ = mg_params_new();
    mg_graph *g = mg_graph_new(P_);
    mg_tensor *labels;
    mg_model_io io = task_inputs(g, &labels);
    mg_tensor *logits = NULL;
    if (layers == 0) {
        const mg_model_def *m = mg_model_find("transformer");
        double opt[MG_MODEL_MAX_OPTIONS];
        for (int i = 0; m && i < m->n_options; i++) opt[i] = m->options[i].def;
        mg_model_out out = {0};
        if (m && m->build(g, &io, opt, &out) == MG_OK) logits = out.logits;
    } else {
        logits = stack(g, &io, layers);
    }
    mg_tensor *loss = mg_cross_entropy(g, logits, labels);
    mg_graph_keep(g, logits);
    mg_graph_keep(g, loss);
    r->nodes_written = mg_graph_node_count(g);
    double t0 = now();
    mg_status st = passes_only ? mg_graph_run_passes(g, &loss) : mg_graph_compile(g, loss);
    r->seconds = now() - t0;
    r->arena_bytes = passes_only ? 0 : mg_graph_arena_bytes(g);
    if (st) fprintf(stderr, "bench_compile: %s\n", mg_errmsg());
    r->nodes_after = mg_graph_node_count(g);
    r->rewrites = 0;
    for (int i = 0; i < mg_pass_count(); i++) r->rewrites += mg_graph_rewrite_count(g, i);
    mg_graph_free(g);
    mg_params_free(P_);
    return st != MG_OK;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    int reps = 5, layers[16] = {0, 1, 6}, n_layers = 3, given = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--layers") && i + 1 < argc && given < 15)
            layers[1 + given++] = atoi(argv[++i]), n_layers = 1 + given;
        else {
            fprintf(stderr, "usage: bench_compile [--reps R] [--layers L]...\n");
            return 2;
        }
    }
    if (reps < 1 || reps > 100) {
        fprintf(stderr, "bench_compile: --reps must be 1 to 100\n");
        return 2;
    }
    printf("%-22s %7s %6s %8s %9s %10s %11s\n", "graph", "written", "nodes", "rewrites", "arena MB",
           "passes ms", "compile ms");
    for (int k = 0; k < n_layers; k++) {
        double t[100], tp[100];
        result r = {0};
        for (int i = 0; i < reps; i++) {
            if (compile_once(layers[k], true, &r)) return 1;
            tp[i] = r.seconds;
            if (compile_once(layers[k], false, &r)) return 1;
            t[i] = r.seconds;
        }
        qsort(t, (size_t)reps, sizeof *t, by_value);
        qsort(tp, (size_t)reps, sizeof *tp, by_value);
        char name[48];
        if (layers[k] == 0) snprintf(name, sizeof name, "transformer (model)");
        else snprintf(name, sizeof name, "stack of %d blocks", layers[k]);
        printf("%-22s %7d %6d %8d %9.1f %10.2f %11.2f\n", name, r.nodes_written, r.nodes_after,
               r.rewrites, (double)r.arena_bytes / (1 << 20), 1e3 * tp[reps / 2],
               1e3 * t[reps / 2]);
    }
    return 0;
}
