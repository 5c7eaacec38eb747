/* mlp_tied.c — a variant written the way a user would: the MLP with its
 * output tied to its input embedding, logits = (h W2) E^T, so the classes'
 * vectors are the tokens' embeddings. Eleven lines of definition. */
#include <math.h>

#include "models/model.h"
#include "ops/ops.h"

enum { D, WIDTH };
static const mg_model_option options[] = {
    [D] = {"d", MG_OPTION_INT, 128, NULL, "embedding dimension"},
    [WIDTH] = {"width", MG_OPTION_INT, 512, NULL, "hidden units"},
};

static mg_status build(mg_graph *g, const mg_model_io *in, const double *o, mg_model_out *out) {
    int nv = in->n_values, d = (int)o[D], width = (int)o[WIDTH];
    if (in->K != nv)
        return mg_graph_fail(
            g, MG_ERR_ARG,
            "mlp_tied: the classes are the operands' embeddings, so the task needs "
            "as many classes as operand values (K = %d, values = %d)",
            in->K, nv);
    mg_tensor *E = mg_param(g, "embed", MG_NORMAL(1.0 / sqrt(d)), MG_SHAPE(nv, d));
    mg_tensor *W1 = mg_param(g, "hidden.w", MG_UNIFORM(1.0 / sqrt(2 * d)), MG_SHAPE(2 * d, width));
    mg_tensor *b1 = mg_param(g, "hidden.b", MG_INIT_ZERO, MG_SHAPE(width));
    mg_tensor *W2 = mg_param(g, "out.w", MG_UNIFORM(1.0 / sqrt(width)), MG_SHAPE(width, d));
    mg_tensor *x = mg_concat2(g, mg_gather(g, E, in->a), mg_gather(g, E, in->b));
    mg_tensor *h = mg_relu(g, mg_add(g, mg_matmul(g, x, W1), b1));
    out->features = mg_matmul(g, h, W2); /* in the embeddings' space */
    out->logits = mg_matmul(g, out->features, mg_transpose(g, E));
    return mg_graph_status(g);
}

static const mg_model_def mg_model_mlp_tied = {
    .name = "mlp_tied",
    .summary = "MLP whose classifier is the transposed input embedding (tied weights)",
    .reads = MG_READS_OPERANDS,
    .options = options,
    .n_options = sizeof options / sizeof options[0],
    .default_p = 97,
    .default_frac = 0.5,
    .default_steps = 5000,
    .embed = "embed",
    .classifier = "embed", /* tied: the class vectors are the embeddings */
    .build = build,
};

MG_REGISTER_MODEL(mg_model_mlp_tied)
