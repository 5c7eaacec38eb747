/* mask.c — the causal mask of attention scores.
 *
 * y[..., i, j] = x[..., i, j] if j <= i, -inf otherwise (a position sees
 * itself and those before it); dx[..., i, j] += dy[..., i, j] where j <= i.
 * A softmax over the last axis then gives the masked entries weight 0. */
#include <math.h>
#include <stdio.h>

#include "core/op.h"
#include "ops/ops.h"

static mg_status mask_shape(mg_tensor *out) {
    const mg_tensor *x = out->in[0];
    char sx[64];
    mg_shape_str(x, sx, sizeof sx);
    if (x->dtype != MG_F32)
        return mg_fail(MG_ERR_SHAPE, "causal_mask: input must be float, got an int tensor %s", sx);
    if (x->ndim < 2 || x->shape[x->ndim - 1] != x->shape[x->ndim - 2])
        return mg_fail(MG_ERR_SHAPE, "causal_mask: the last two dims must be equal (t, t), got %s",
                       sx);
    out->ndim = x->ndim;
    out->dtype = MG_F32;
    for (int k = 0; k < x->ndim; k++) out->shape[k] = x->shape[k];
    return MG_OK;
}

// x: (batch, t, t) -> y: (batch, t, t), -inf above the diagonal
static mg_status mask_forward(mg_tensor *out) {
    const float *x = out->in[0]->data;
    float *y = out->data;
    int64_t t = out->shape[out->ndim - 1], batch = mg_numel(out) / (t * t);
    for (int64_t b = 0; b < batch; b++)
        for (int64_t i = 0; i < t; i++) {
            const float *xr = x + (b * t + i) * t;
            float *yr = y + (b * t + i) * t;
            for (int64_t j = 0; j <= i; j++) yr[j] = xr[j];
            for (int64_t j = i + 1; j < t; j++) yr[j] = -INFINITY;
        }
    return MG_OK;
}
// dy: (batch, t, t) -> dx: (batch, t, t) += dy on and below the diagonal
static void mask_backward(mg_tensor *out) {
    float *dx = out->in[0]->grad;
    if (!dx) return;
    const float *dy = out->grad;
    int64_t t = out->shape[out->ndim - 1], batch = mg_numel(out) / (t * t);
    for (int64_t b = 0; b < batch; b++)
        for (int64_t i = 0; i < t; i++) {
            int64_t r = (b * t + i) * t;
            for (int64_t j = 0; j <= i; j++) dx[r + j] += dy[r + j];
        }
}

const mg_op mg_op_causal_mask = {
    .name = "causal_mask",
    .arity = 1,
    .shape = mask_shape,
    .forward = mask_forward,
    .backward = mask_backward,
};
MG_REGISTER_OP(mg_op_causal_mask)

mg_tensor *mg_causal_mask(mg_graph *g, mg_tensor *x) {
    return mg_apply(g, &mg_op_causal_mask, 1, &x, NULL);
}
