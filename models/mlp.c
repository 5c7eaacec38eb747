/* mlp.c — the embedding-ReLU-MLP of the study (models/README.md).
 *
 *   x = [E_a ; E_b]  (or E_a + E_b)      E: (values, d), reads the operands
 *   h = act(x W1 + b1)                   act = relu or square
 *   logits = h W2 + b2
 * Initialisation follows PyTorch's defaults (so runs compare with the
 * PyTorch reference): embedding N(0, 1); linear weights and biases
 * U(-1/sqrt(fan_in), 1/sqrt(fan_in)). `--init scaled` draws every weight
 * from N(0, 1/d) instead, biases zero. `--embed-init classifier` draws the
 * embedding like the classifier's weights (torch: U(+-1/sqrt(width)),
 * scaled: N(0, 1/d)): the control for "the classifier moves first", whose
 * default embedding N(0, 1) has about 40 times the standard deviation of the
 * classifier's entries (U(+-1/sqrt(512)): 0.026),
 * so that its relative motion under Adam's per-entry steps is small by
 * construction. */
#include <math.h>

#include "models/model.h"
#include "ops/ops.h"

enum { D, WIDTH, COMBINE, ACT, BIAS, INIT, EMBED_INIT };

static const mg_model_option options[] = {
    [D] = {"d", MG_OPTION_INT, 128, NULL, "embedding dimension"},
    [WIDTH] = {"width", MG_OPTION_INT, 512, NULL, "hidden units"},
    [COMBINE] = {"combine", MG_OPTION_CHOICE, 0, "concat|sum", "how E_a and E_b are joined"},
    [ACT] = {"act", MG_OPTION_CHOICE, 0, "relu|square", "hidden activation"},
    [BIAS] = {"bias", MG_OPTION_CHOICE, 0, "yes|no", "biases in the hidden and classifier layers"},
    [INIT] = {"init", MG_OPTION_CHOICE, 0, "torch|scaled",
              "torch: PyTorch defaults; scaled: every weight N(0, 1/d), biases 0"},
    [EMBED_INIT] = {"embed-init", MG_OPTION_CHOICE, 0, "init|classifier",
                    "init: the embedding as --init says; classifier: the embedding drawn like "
                    "the classifier's weights (the control for classifier-first)"},
};
/* runs written before --embed-init existed drew the embedding as --init says */
static const char *const absent[] = {[EMBED_INIT] = "init"};

/* A linear layer's weight and bias init: U(+-1/sqrt(fan_in)) or N(0, 1/d). */
static mg_init weight_init(bool scaled, int fan_in, int d) {
    return scaled ? MG_NORMAL(1.0 / sqrt(d)) : MG_UNIFORM(1.0 / sqrt(fan_in));
}
static mg_init bias_init(bool scaled, int fan_in) {
    return scaled ? MG_INIT_ZERO : MG_UNIFORM(1.0 / sqrt(fan_in));
}

static mg_status build(mg_graph *g, const mg_model_io *in, const double *o, mg_model_out *out) {
    int nv = in->n_values, K = in->K, d = (int)o[D], width = (int)o[WIDTH];
    bool sum = o[COMBINE] == 1, square = o[ACT] == 1, bias = o[BIAS] == 0, scaled = o[INIT] == 1;
    int fan1 = sum ? d : 2 * d;

    mg_init e_init = scaled ? MG_NORMAL(1.0 / sqrt(d)) : MG_NORMAL(1);
    if (o[EMBED_INIT] == 1) e_init = weight_init(scaled, width, d); /* the classifier's */
    mg_tensor *E = mg_param(g, "embed", e_init, MG_SHAPE(nv, d));
    mg_tensor *W1 = mg_param(g, "hidden.w", weight_init(scaled, fan1, d), MG_SHAPE(fan1, width));
    mg_tensor *W2 = mg_param(g, "classifier.w", weight_init(scaled, width, d), MG_SHAPE(width, K));

    mg_tensor *ea = mg_gather(g, E, in->a), *eb = mg_gather(g, E, in->b);
    mg_tensor *x = sum ? mg_add(g, ea, eb) : mg_concat2(g, ea, eb);
    mg_tensor *z = mg_matmul(g, x, W1);
    if (bias) z = mg_add(g, z, mg_param(g, "hidden.b", bias_init(scaled, fan1), MG_SHAPE(width)));
    mg_tensor *h = square ? mg_square(g, z) : mg_relu(g, z);
    mg_tensor *logits = mg_matmul(g, h, W2);
    if (bias)
        logits =
            mg_add(g, logits, mg_param(g, "classifier.b", bias_init(scaled, width), MG_SHAPE(K)));

    out->logits = logits;
    out->features = h;
    if (!square) {
        out->gates[0] = h;
        out->gate_layers[0] = "hidden";
    }
    return mg_graph_status(g);
}

static const mg_model_def mg_model_mlp = {
    .name = "mlp",
    .summary = "embedding-ReLU-MLP: [E_a; E_b] -> ReLU hidden -> classifier",
    .reads = MG_READS_OPERANDS,
    .options = options,
    .n_options = sizeof options / sizeof options[0],
    .options_absent = absent,
    .default_p = 97,
    .default_frac = 0.5,
    .default_steps = 5000,
    .embed = "embed",
    .classifier = "classifier.w",
    .classes_in_columns = true,
    .embed_proj = "hidden.w",
    .build = build,
};

MG_REGISTER_MODEL(mg_model_mlp)
