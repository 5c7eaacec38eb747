/* transformer.c — the one-layer transformer of the study (models/README.md).
 *
 * Reads the task's token sequences: T positions over a vocabulary of V
 * (the modular tasks: "a b =", V = p + 1, "=" is token p), learned
 * positions, one block of multi-head causal attention and a ReLU MLP on a
 * residual stream, no layer norm, logits read at the last position:
 *   x0 = E[tokens] + pos             E: (V, d), pos: (T, d)   (n, T, d)
 *   q, k, v = x0 Wq, x0 Wk, x0 Wv    split into heads         (n, h, T, dh)
 *   x1 = x0 + concat_heads(softmax(mask(q k^T / sqrt(dh))) v) Wo
 *   x2 = x1 + relu(x1 W_in + b_in) W_out + b_out
 *   logits = x2[:, T-1] W_U                                   (n, K)
 * --attn-topk K keeps the K largest attention weights of each query,
 * renormalised (the execution-manifold study's ablation); "all": softmax.
 * Initialisation as in the published runs: every weight N(0, 1/d) (std
 * 1/sqrt(d)), biases zero; `--init torch` uses PyTorch's defaults instead
 * (embeddings N(0, 1), linear layers U(+-1/sqrt(fan_in))). */
#include <math.h>

#include "models/model.h"
#include "ops/ops.h"

enum { D_MODEL, HEADS, D_MLP, INIT, TOPK };
static const mg_model_option options[] = {
    [D_MODEL] = {"d-model", MG_OPTION_INT, 128, NULL, "width of the residual stream"},
    [HEADS] = {"heads", MG_OPTION_INT, 4, NULL, "attention heads (d-model / heads each)"},
    [D_MLP] = {"d-mlp", MG_OPTION_INT, 512, NULL, "hidden units of the MLP"},
    [INIT] = {"init", MG_OPTION_CHOICE, 0, "scaled|torch",
              "scaled: every weight N(0, 1/d-model), biases 0; torch: PyTorch defaults"},
    [TOPK] = {"attn-topk", MG_OPTION_CHOICE, 0, "all|1|2|4|8|16",
              "keep the k largest attention weights of each query, renormalised (ablation)"},
};
/* A run recorded before --attn-topk existed had plain softmax attention. */
static const char *const absent[] = {[TOPK] = "all"};
static const int topk_of[] = {0, 1, 2, 4, 8, 16};

static mg_status build(mg_graph *g, const mg_model_io *in, const double *o, mg_model_out *out) {
    const int T = in->T, V = in->V, K = in->K;
    const int d = (int)o[D_MODEL], h = (int)o[HEADS], m = (int)o[D_MLP];
    const int64_t n = in->n;
    if (d % h)
        return mg_graph_fail(g, MG_ERR_ARG, "--d-model (%d) must be a multiple of --heads (%d)", d,
                             h);
    const int dh = d / h;
    const bool torch = o[INIT] == 1;
    mg_init w_d = torch ? MG_UNIFORM(1.0 / sqrt(d)) : MG_NORMAL(1.0 / sqrt(d));
    mg_init w_m = torch ? MG_UNIFORM(1.0 / sqrt(m)) : MG_NORMAL(1.0 / sqrt(d));
    mg_init b_d = torch ? MG_UNIFORM(1.0 / sqrt(d)) : MG_INIT_ZERO;
    mg_init b_m = torch ? MG_UNIFORM(1.0 / sqrt(m)) : MG_INIT_ZERO;
    mg_init emb = torch ? MG_NORMAL(1.0) : MG_NORMAL(1.0 / sqrt(d));

    mg_tensor *E = mg_param(g, "embed", emb, MG_SHAPE(V, d));
    mg_tensor *pos = mg_param(g, "pos", emb, MG_SHAPE(T, d));
    mg_tensor *Wq = mg_param(g, "attn.q", w_d, MG_SHAPE(d, d));
    mg_tensor *Wk = mg_param(g, "attn.k", w_d, MG_SHAPE(d, d));
    mg_tensor *Wv = mg_param(g, "attn.v", w_d, MG_SHAPE(d, d));
    mg_tensor *Wo = mg_param(g, "attn.o", w_d, MG_SHAPE(d, d));
    mg_tensor *W_in = mg_param(g, "mlp.w_in", w_d, MG_SHAPE(d, m));
    mg_tensor *b_in = mg_param(g, "mlp.b_in", b_d, MG_SHAPE(m));
    mg_tensor *W_out = mg_param(g, "mlp.w_out", w_m, MG_SHAPE(m, d));
    mg_tensor *b_out = mg_param(g, "mlp.b_out", b_m, MG_SHAPE(d));
    mg_tensor *W_U = mg_param(g, "unembed", w_d, MG_SHAPE(d, K));

    mg_tensor *x0 = mg_add(g, mg_gather(g, E, in->tokens), pos); /* (n, T, d) */
    const int split[] = {0, 2, 1, 3}; /* (n, T, h, dh) -> (n, h, T, dh) */
    mg_tensor *q = mg_permute(g, mg_reshape(g, mg_matmul(g, x0, Wq), MG_SHAPE(n, T, h, dh)), split);
    mg_tensor *k = mg_permute(g, mg_reshape(g, mg_matmul(g, x0, Wk), MG_SHAPE(n, T, h, dh)), split);
    mg_tensor *v = mg_permute(g, mg_reshape(g, mg_matmul(g, x0, Wv), MG_SHAPE(n, T, h, dh)), split);
    mg_tensor *scores = mg_scale(g, mg_matmul(g, q, mg_transpose(g, k)), (float)(1.0 / sqrt(dh)));
    const int topk = topk_of[(int)o[TOPK]];
    mg_tensor *masked = mg_causal_mask(g, scores);
    mg_tensor *attn =
        topk ? mg_softmax_topk(g, masked, topk) : mg_softmax(g, masked); /* (n, h, T, T) */
    mg_tensor *z = mg_permute(g, mg_matmul(g, attn, v), split);          /* (n, T, h, dh) */
    mg_tensor *x1 = mg_add(g, x0, mg_matmul(g, mg_reshape(g, z, MG_SHAPE(n, T, d)), Wo));
    mg_tensor *hid = mg_relu(g, mg_add(g, mg_matmul(g, x1, W_in), b_in));
    mg_tensor *x2 = mg_add(g, x1, mg_add(g, mg_matmul(g, hid, W_out), b_out));
    mg_tensor *last = mg_reshape(g, mg_slice(g, x2, 1, T - 1, 1), MG_SHAPE(n, d));

    out->attn[0] = attn;
    out->attn_layers[0] = "attn";
    /* the gates that compute: the MLP's at the last position, the one the
     * head reads (the other positions' outputs reach nothing) */
    out->gates[0] = mg_slice(g, hid, 1, T - 1, 1);
    out->gate_layers[0] = "mlp";
    out->features = last;
    out->logits = mg_matmul(g, last, W_U);
    return mg_graph_status(g);
}

static const mg_model_def mg_model_transformer = {
    .name = "transformer",
    .summary = "one-layer transformer on the task's tokens ('a b ='): causal attention + ReLU "
               "MLP, no layer norm",
    .reads = MG_READS_TOKENS,
    .options = options,
    .n_options = sizeof options / sizeof options[0],
    .options_absent = absent,
    .default_p = 113,
    .default_frac = 0.3,
    .default_steps = 15000,
    .embed = "embed",
    .classifier = "unembed",
    .classes_in_columns = true,
    .attn_blocks = "q,k,v,o",
    .build = build,
};

MG_REGISTER_MODEL(mg_model_transformer)
