/* deep_linear.c — the deep linear network of the two-clocks theory.
 *
 * One-hot inputs [onehot(a); onehot(b)] (2p, p operand values), then L
 * linear layers with no activation: layer1 (2p, w), layer2..layer(L-1)
 * (w, w), layerL (w, K), K classes (K = p on the modular tasks).
 * The one-hot product is a row lookup: onehot(a) W1[:p] = W1[a], so layer 1
 * is two gathers from the halves of W1 (views, no copy). Each layer is its
 * own layer for probes and per-layer weight decay (--wd layer2=...).
 * Geometry: the token vectors are layer1's first p rows (token a's block),
 * the class vectors layerL's columns; for L > 2 the plane-locking analysis
 * compares them without passing through the middle layers. */
#include <math.h>
#include <stdio.h>

#include "models/model.h"
#include "ops/ops.h"

enum { LAYERS, WIDTH, SCALE };
static const mg_model_option options[] = {
    [LAYERS] = {"layers", MG_OPTION_INT, 3, NULL, "number of linear layers L (>= 2)"},
    [WIDTH] = {"width", MG_OPTION_INT, 128, NULL, "width of the hidden layers"},
    [SCALE] = {"init-scale", MG_OPTION_REAL, 1.0, NULL,
               "weights N(0, (scale^2) / fan_in); small scales give the rich regime"},
};

static mg_status build(mg_graph *g, const mg_model_io *in, const double *o, mg_model_out *out) {
    int p = in->n_values, K = in->K, L = (int)o[LAYERS], w = (int)o[WIDTH];
    double s = o[SCALE];
    if (L < 2)
        return mg_graph_fail(g, MG_ERR_ARG, "--layers must be >= 2 for deep_linear, got %d", L);
    char name[32];
    mg_tensor *W1 = mg_param(g, "layer1", MG_NORMAL(s / sqrt(2 * p)), MG_SHAPE(2 * p, w));
    mg_tensor *h = mg_add(g, mg_gather(g, mg_slice(g, W1, 0, 0, p), in->a),
                          mg_gather(g, mg_slice(g, W1, 0, p, p), in->b));
    for (int l = 2; l <= L; l++) {
        snprintf(name, sizeof name, "layer%d", l);
        int cols = l == L ? K : w;
        out->features = h;
        h = mg_matmul(g, h, mg_param(g, name, MG_NORMAL(s / sqrt(w)), MG_SHAPE(w, cols)));
    }
    out->logits = h;
    return mg_graph_status(g);
}

static const mg_model_def mg_model_deep_linear = {
    .name = "deep_linear",
    .summary = "one-hot inputs, L linear layers, no activation (two-clocks theory)",
    .reads = MG_READS_OPERANDS,
    .options = options,
    .n_options = sizeof options / sizeof options[0],
    .default_p = 97,
    .default_frac = 0.5,
    .default_steps = 5000,
    .embed = "layer1",
    .classifier = NULL, /* layerL */
    .classes_in_columns = true,
    .build = build,
};

MG_REGISTER_MODEL(mg_model_deep_linear)
