/* deep_linear.c — the deep linear network of the two-clocks theory.
 *
 * An input x, then L linear layers with no activation: layer1 (rows of x, w),
 * layer2..layer(L-1) (w, w), layerL (w, K), K classes (K = p on the modular
 * tasks, p operand values). --input chooses x:
 *  - pair (the default): the one-hot of the pair, index a*p + b among p*p,
 *    so layer1 is (p*p, w) and x W1 is one gather of row a*p + b. Why: on
 *    the concatenated one-hots a linear network's logits are u(a) + v(b),
 *    and summed over all pairs class a + b then gets the same logit as
 *    class a + b + 1 (for each a both run once over every class as b does,
 *    and so for each b), so the true class cannot lead on every pair (on
 *    the canonical P = 97 train accuracy stalls at 6.5%); the pair's
 *    one-hot gives every pair a row of its own. So the network fits the
 *    training set by memorising it: a held-out pair's row never receives a
 *    gradient (only weight decay), test accuracy stays at chance, and both
 *    clocks are read on the training set.
 *    Init: layer1 N(0, s^2 / p), not PyTorch's fan_in = p*p: a one-hot has
 *    one nonzero, so x W1 is one row, and s^2 / p gives it the variance
 *    concat's sum of two rows of N(0, s^2 / (2p)) has.
 *    No op forms a*p + b from the int operands, so this file applies one of
 *    its own (pair_index below, unregistered: nothing is added to ops/).
 *  - concat: [onehot(a); onehot(b)] (2p), layer1 (2p, w) N(0, s^2 / (2p)),
 *    x W1 = W1[a] + W1[p + b], two gathers from the halves of W1 (views, no
 *    copy); the model as it was before pair, bit for bit.
 * Later layers are N(0, s^2 / w). Each layer is its own layer for probes and
 * per-layer weight decay (--wd layer2=...).
 * Geometry: the token vectors are layer1's first p rows, the class vectors
 * layerL's columns; for L > 2 the plane-locking analysis compares them
 * without passing through the middle layers. With concat, row b is token
 * a = b's block. With pair, rows 0..p-1 are the pairs (0, b), whose sum is
 * b: row b is the representation of the residue b (a held-out (0, b) keeps
 * its initial row, shrunk by weight decay). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>

#include "core/op.h"
#include "models/model.h"
#include "ops/ops.h"

enum { LAYERS, WIDTH, SCALE, INPUT };
enum { INPUT_PAIR, INPUT_CONCAT };
static const mg_model_option options[] = {
    [LAYERS] = {"layers", MG_OPTION_INT, 3, NULL, "number of linear layers L (>= 2)"},
    [WIDTH] = {"width", MG_OPTION_INT, 128, NULL, "width of the hidden layers"},
    [SCALE] = {"init-scale", MG_OPTION_REAL, 1.0, NULL,
               "weights N(0, scale^2 / fan_in), fan_in = p for layer1 with pair (one row, with "
               "concat's variance), 2p with concat, w after; small scales give the rich regime"},
    [INPUT] = {"input", MG_OPTION_CHOICE, INPUT_PAIR, "pair|concat",
               "pair: one-hot of (a, b) among p*p, fits the training set by memorising it "
               "(held-out pairs are never trained: test stays at chance); concat: one-hots of a "
               "and b, logits u(a) + v(b), which cannot fit a + b mod p"},
};
/* runs written before --input existed were concat's */
static const char *const absent[] = {[INPUT] = "concat"};

/* pair_index: a, b int32 (same shape) -> a * p + b int32, p = attr.i[0].
 * Integers: no gradient. The operands are runtime data, so forward checks
 * that they lie in [0, p), as gather checks its indices. */
static mg_status pair_index_shape(mg_tensor *out) {
    const mg_tensor *a = out->in[0], *b = out->in[1];
    char sa[64], sb[64];
    mg_shape_str(a, sa, sizeof sa);
    mg_shape_str(b, sb, sizeof sb);
    bool same = a->ndim == b->ndim;
    for (int k = 0; same && k < a->ndim; k++) same = a->shape[k] == b->shape[k];
    if (a->dtype != MG_I32 || b->dtype != MG_I32 || !same)
        return mg_fail(MG_ERR_SHAPE, "pair_index: a and b must be int32 of one shape, got %s %s",
                       sa, sb);
    out->dtype = MG_I32;
    out->ndim = a->ndim;
    for (int k = 0; k < a->ndim; k++) out->shape[k] = a->shape[k];
    return MG_OK;
}
// a: (n), b: (n) in [0, p) -> y: (n) = a * p + b
static mg_status pair_index_forward(mg_tensor *out) {
    const int32_t *a = mg_i32(out->in[0]), *b = mg_i32(out->in[1]);
    int32_t *y = mg_i32(out), p = (int32_t)out->attr.i[0];
    for (int64_t i = 0, n = mg_numel(out); i < n; i++) {
        if (a[i] < 0 || a[i] >= p || b[i] < 0 || b[i] >= p)
            return mg_fail(MG_ERR_ARG, "deep_linear: operands (%d, %d) at row %lld outside [0, %d)",
                           (int)a[i], (int)b[i], (long long)i, (int)p);
        y[i] = a[i] * p + b[i];
    }
    return MG_OK;
}
static const mg_op pair_index = {
    .name = "pair_index",
    .arity = 2,
    .shape = pair_index_shape,
    .forward = pair_index_forward,
};

/* x W1 for the chosen input: (n, w) */
static mg_tensor *first_layer(mg_graph *g, const mg_model_io *in, int input, int w, double s) {
    int p = in->n_values;
    if (input == INPUT_CONCAT) {
        mg_tensor *W1 = mg_param(g, "layer1", MG_NORMAL(s / sqrt(2 * p)), MG_SHAPE(2 * p, w));
        return mg_add(g, mg_gather(g, mg_slice(g, W1, 0, 0, p), in->a),
                      mg_gather(g, mg_slice(g, W1, 0, p, p), in->b));
    }
    if ((int64_t)p * p > INT32_MAX) {
        mg_graph_fail(g, MG_ERR_ARG,
                      "deep_linear --input pair needs p*p < 2^31 rows, got p = %d (use --input "
                      "concat)",
                      p);
        return NULL;
    }
    mg_tensor *W1 = mg_param(g, "layer1", MG_NORMAL(s / sqrt(p)), MG_SHAPE((int64_t)p * p, w));
    mg_attr at = {.i = {p}};
    return mg_gather(g, W1, mg_apply(g, &pair_index, 2, (mg_tensor *[]){in->a, in->b}, &at));
}

static mg_status build(mg_graph *g, const mg_model_io *in, const double *o, mg_model_out *out) {
    int K = in->K, L = (int)o[LAYERS], w = (int)o[WIDTH];
    double s = o[SCALE];
    if (L < 2)
        return mg_graph_fail(g, MG_ERR_ARG, "--layers must be >= 2 for deep_linear, got %d", L);
    char name[32];
    mg_tensor *h = first_layer(g, in, (int)o[INPUT], w, s);
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
    .summary = "L linear layers, no activation, on the one-hot of the pair (a, b) (two-clocks "
               "theory): memorises the training set, test stays at chance (--input concat: the "
               "one-hots of a and b, cannot fit a + b)",
    .reads = MG_READS_OPERANDS,
    .options = options,
    .n_options = sizeof options / sizeof options[0],
    .options_absent = absent,
    .default_p = 97,
    .default_frac = 0.5,
    .default_steps = 5000,
    .embed = "layer1",
    .classifier = NULL, /* layerL */
    .classes_in_columns = true,
    .linear_chain = true,
    .build = build,
};

MG_REGISTER_MODEL(mg_model_deep_linear)
