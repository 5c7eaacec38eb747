/* attn_stack.c — the execution-manifold study's transformer (models/README.md):
 * L pre-LayerNorm blocks of causal multi-head attention on a residual
 * stream, an optional GELU MLP sub-layer in each, learned token and position
 * embeddings, a final LayerNorm and a linear head at the last position:
 *   x = E[tokens] + pos                                  (n, T, d)
 *   for l in 0..L-1:
 *     x = x + attn_l(LN_l1(x))
 *     x = x + mlp_l(LN_l2(x))                            (--mlp yes only)
 *   logits = LN_f(x)[:, T-1] head + head_bias            (n, K)
 *   attn(u) = concat_heads(softmax(mask(q k^T / sqrt(dh))) v) W_o + b_o,
 *             q, k, v = u W_q + b_q, u W_k + b_k, u W_v + b_v   (heads of dh)
 *   mlp(u)  = gelu(u W_in + b_in) W_out + b_out          (gelu: the tanh form)
 * The released code fuses q, k and v into one (d, 3d) product with a bias;
 * here they are three (d, d) parameters (the same function), so that the
 * trajectory analyses see each block by its name: l0.q, l0.k, l0.v, l0.o,
 * their biases l0.q_bias ..., the norms l0.ln1_gain / l0.ln1_bias.
 * Parameter names start with the layer ("l0"), so probes report per layer.
 *
 * The residual stream after each block is out->resid[l]; io->patch_at = l + 1
 * adds an input of its shape to it after block l (an intervention: the
 * sparse autoencoder's ablation).
 *
 * --attn-topk K keeps only the K largest attention weights of each query and
 * renormalises them (the ablation of the study); "all" is plain softmax.
 *
 * Initialisation: --init torch (the default) is PyTorch's for these modules
 * (embeddings N(0, 1), linear weights and biases U(+-1/sqrt(fan_in)), norms
 * gain 1 bias 0); --init scaled is every weight N(0, 1/d), biases 0. */
#include <math.h>
#include <stdio.h>

#include "models/model.h"
#include "ops/ops.h"

enum { LAYERS, D_MODEL, HEADS, MLP, D_MLP, INIT, TOPK };
static const mg_model_option options[] = {
    [LAYERS] = {"layers", MG_OPTION_INT, 5, NULL, "attention blocks"},
    [D_MODEL] = {"d-model", MG_OPTION_INT, 128, NULL, "width of the residual stream"},
    [HEADS] = {"heads", MG_OPTION_INT, 4, NULL, "attention heads (d-model / heads each)"},
    [MLP] = {"mlp", MG_OPTION_CHOICE, 0, "no|yes", "a GELU MLP sub-layer in every block"},
    [D_MLP] = {"d-mlp", MG_OPTION_INT, 512, NULL, "hidden units of each MLP (with --mlp yes)"},
    [INIT] = {"init", MG_OPTION_CHOICE, 0, "torch|scaled",
              "torch: PyTorch's defaults; scaled: every weight N(0, 1/d-model), biases 0"},
    [TOPK] = {"attn-topk", MG_OPTION_CHOICE, 0, "all|1|2|4|8|16",
              "keep the k largest attention weights of each query, renormalised (ablation)"},
};

enum { TOPK_ALL = 0 };
static const int topk_of[] = {0, 1, 2, 4, 8, 16};

typedef struct {
    mg_graph *g;
    int64_t n;
    int T, d, h, dh, topk;
    mg_init w, b; /* linear weights and biases of fan-in d */
} ctx;

/* A linear map u W + b of a layer's sub-block: W (in, out) named NAME,
 * its bias NAME_bias. */
static mg_tensor *linear(ctx *c, mg_tensor *u, const char *layer, const char *name, int in, int out,
                         mg_init w, mg_init b) {
    char pw[64], pb[64];
    snprintf(pw, sizeof pw, "%s.%s", layer, name);
    snprintf(pb, sizeof pb, "%s.%s_bias", layer, name);
    mg_tensor *W = mg_param(c->g, pw, w, MG_SHAPE(in, out));
    mg_tensor *B = mg_param(c->g, pb, b, MG_SHAPE(out));
    return mg_add(c->g, mg_matmul(c->g, u, W), B);
}

static mg_tensor *layer_norm(ctx *c, mg_tensor *u, const char *layer, const char *name) {
    char pg[64], pb[64];
    snprintf(pg, sizeof pg, "%s.%s_gain", layer, name);
    snprintf(pb, sizeof pb, "%s.%s_bias", layer, name);
    mg_tensor *gain = mg_param(c->g, pg, (mg_init){MG_INIT_ONES, 0}, MG_SHAPE(c->d));
    mg_tensor *bias = mg_param(c->g, pb, MG_INIT_ZERO, MG_SHAPE(c->d));
    return mg_layer_norm(c->g, u, gain, bias, 1e-5f);
}

/* (n, T, d) -> heads (n, h, T, dh) */
static mg_tensor *heads(ctx *c, mg_tensor *u) {
    static const int split[] = {0, 2, 1, 3};
    return mg_permute(c->g, mg_reshape(c->g, u, MG_SHAPE(c->n, c->T, c->h, c->dh)), split);
}

/* One attention sub-layer; *pattern gets its attention weights. */
static mg_tensor *attention(ctx *c, mg_tensor *u, const char *layer, mg_tensor **pattern) {
    static const int merge[] = {0, 2, 1, 3};
    mg_graph *g = c->g;
    mg_tensor *q = heads(c, linear(c, u, layer, "q", c->d, c->d, c->w, c->b));
    mg_tensor *k = heads(c, linear(c, u, layer, "k", c->d, c->d, c->w, c->b));
    mg_tensor *v = heads(c, linear(c, u, layer, "v", c->d, c->d, c->w, c->b));
    mg_tensor *scores = mg_scale(g, mg_matmul(g, q, mg_transpose(g, k)), (float)(1 / sqrt(c->dh)));
    mg_tensor *masked = mg_causal_mask(g, scores);
    mg_tensor *a = c->topk ? mg_softmax_topk(g, masked, c->topk) : mg_softmax(g, masked);
    *pattern = a;
    mg_tensor *z =
        mg_reshape(g, mg_permute(g, mg_matmul(g, a, v), merge), MG_SHAPE(c->n, c->T, c->d));
    return linear(c, z, layer, "o", c->d, c->d, c->w, c->b);
}

static mg_tensor *mlp(ctx *c, mg_tensor *u, const char *layer, int m, mg_init w_out,
                      mg_init b_out) {
    mg_tensor *hid = mg_gelu(c->g, linear(c, u, layer, "w_in", c->d, m, c->w, c->b));
    return linear(c, hid, layer, "w_out", m, c->d, w_out, b_out);
}

static mg_status build(mg_graph *g, const mg_model_io *in, const double *o, mg_model_out *out) {
    const int L = (int)o[LAYERS], d = (int)o[D_MODEL], h = (int)o[HEADS], m = (int)o[D_MLP];
    if (d % h)
        return mg_graph_fail(g, MG_ERR_ARG, "--d-model (%d) must be a multiple of --heads (%d)", d,
                             h);
    if (L > MG_MODEL_MAX_ATTN)
        return mg_graph_fail(g, MG_ERR_ARG, "--layers %d: at most %d", L, MG_MODEL_MAX_ATTN);
    const bool torch = o[INIT] == 0;
    ctx c = {.g = g,
             .n = in->n,
             .T = in->T,
             .d = d,
             .h = h,
             .dh = d / h,
             .topk = topk_of[(int)o[TOPK]],
             .w = torch ? MG_UNIFORM(1 / sqrt(d)) : MG_NORMAL(1 / sqrt(d)),
             .b = torch ? MG_UNIFORM(1 / sqrt(d)) : MG_INIT_ZERO};
    mg_init emb = torch ? MG_NORMAL(1.0) : MG_NORMAL(1 / sqrt(d));
    mg_init w_out = torch ? MG_UNIFORM(1 / sqrt(m)) : MG_NORMAL(1 / sqrt(d));
    mg_init b_out = torch ? MG_UNIFORM(1 / sqrt(m)) : MG_INIT_ZERO;

    mg_tensor *E = mg_param(g, "embed", emb, MG_SHAPE(in->V, d));
    mg_tensor *pos = mg_param(g, "pos", emb, MG_SHAPE(in->T, d));
    mg_tensor *x = mg_add(g, mg_gather(g, E, in->tokens), pos); /* (n, T, d) */
    static const char *names[MG_MODEL_MAX_ATTN] = {"l0",  "l1",  "l2",  "l3", "l4",  "l5",
                                                   "l6",  "l7",  "l8",  "l9", "l10", "l11",
                                                   "l12", "l13", "l14", "l15"};
    for (int l = 0; l < L; l++) {
        x = mg_add(g, x,
                   attention(&c, layer_norm(&c, x, names[l], "ln1"), names[l], &out->attn[l]));
        out->attn_layers[l] = names[l];
        if (o[MLP] == 1)
            x = mg_add(g, x,
                       mlp(&c, layer_norm(&c, x, names[l], "ln2"), names[l], m, w_out, b_out));
        if (in->patch_at == l + 1) {
            out->patch = mg_input(g, "patch", MG_F32, MG_SHAPE(in->n, in->T, d));
            x = mg_add(g, x, out->patch);
        }
        out->resid[l] = x;
    }
    mg_tensor *gain = mg_param(g, "final.ln_gain", (mg_init){MG_INIT_ONES, 0}, MG_SHAPE(d));
    mg_tensor *bias = mg_param(g, "final.ln_bias", MG_INIT_ZERO, MG_SHAPE(d));
    mg_tensor *last = mg_reshape(g, mg_slice(g, x, 1, in->T - 1, 1), MG_SHAPE(in->n, d));
    mg_tensor *feat = mg_layer_norm(g, last, gain, bias, 1e-5f);
    mg_tensor *W = mg_param(g, "head", c.w, MG_SHAPE(d, in->K));
    mg_tensor *b = mg_param(g, "head.bias", c.b, MG_SHAPE(in->K));
    out->features = feat;
    out->logits = mg_add(g, mg_matmul(g, feat, W), b);
    return mg_graph_status(g);
}

static const mg_model_def mg_model_attn_stack = {
    .name = "attn_stack",
    .summary = "L pre-LayerNorm causal attention blocks (optional GELU MLPs), final LayerNorm, "
               "linear head at the last position (the execution-manifold study)",
    .reads = MG_READS_TOKENS,
    .options = options,
    .n_options = sizeof options / sizeof options[0],
    .default_p = 113,
    .default_frac = 0.3,
    .default_steps = 20000,
    .embed = "embed",
    .classifier = "head",
    .classes_in_columns = true,
    .attn_blocks = "q,k,v,o",
    .build = build,
};

MG_REGISTER_MODEL(mg_model_attn_stack)
