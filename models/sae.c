/* sae.c — the TopK sparse autoencoder as a graph (sae.h). */
#include "models/sae.h"

#include <math.h>

#include "ops/ops.h"

mg_status mg_sae_build(mg_graph *g, mg_tensor *x, int m, int k, float l2, mg_sae_out *out) {
    const int64_t d = x->shape[x->ndim - 1];
    mg_init w = MG_UNIFORM(1 / sqrt((double)d));
    mg_tensor *W_enc = mg_param(g, "sae.enc", w, MG_SHAPE(d, m));
    mg_tensor *b_enc = mg_param(g, "sae.enc_bias", MG_INIT_ZERO, MG_SHAPE(m));
    mg_tensor *W_dec = mg_param(g, "sae.dec", w, MG_SHAPE(m, d));
    mg_tensor *b_dec = mg_param(g, "sae.dec_bias", MG_INIT_ZERO, MG_SHAPE(d));

    out->z_pre = mg_add(g, mg_matmul(g, mg_sub(g, x, b_dec), W_enc), b_enc);
    out->z = mg_relu(g, mg_topk(g, out->z_pre, k));
    out->x_hat = mg_add(g, mg_matmul(g, out->z, W_dec), b_dec);
    mg_tensor *mse = mg_mean_all(g, mg_square(g, mg_sub(g, out->x_hat, x)));
    out->loss = mg_add(g, mse, mg_scale(g, mg_mean_all(g, mg_square(g, out->z_pre)), l2));
    return mg_graph_status(g);
}
