/* sae.h — the TopK sparse autoencoder of the execution-manifold study
 * (SCIENCE.md, "Sparse autoencoder"), written as a modgrad graph: on
 * vectors x (n, d) of a model's residual stream,
 *   z_pre = (x - b_dec) W_enc + b_enc          W_enc: (d, m), b_enc: (m)
 *   z     = relu(topk(z_pre, k))               the k largest of each row, others 0
 *   x_hat = z W_dec + b_dec                    W_dec: (m, d), b_dec: (d)
 *   loss  = mean((x_hat - x)^2) + l2 mean(z_pre^2)
 * (means over every element; l2 = 1e-6 in the study). The ReLU after the
 * top-k keeps a latent's code non-negative, as the published TopK SAEs do.
 * Parameters: sae.enc, sae.enc_bias, sae.dec, sae.dec_bias. */
#ifndef MG_SAE_H
#define MG_SAE_H

#include "core/graph.h"

typedef struct {
    mg_tensor *loss, *z_pre, *z, *x_hat;
} mg_sae_out;

/* Declares the parameters (in the graph's store) and builds the above on x;
 * k in 1..m. Returns the graph's status (a bad k: its message). */
mg_status mg_sae_build(mg_graph *g, mg_tensor *x, int m, int k, float l2, mg_sae_out *out);

#endif
