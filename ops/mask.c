/* mask.c — the causal mask of attention scores.
 *
 * y[..., i, j] = x[..., i, j] if j <= i + o, -inf otherwise (a position sees
 * itself and those before it); dx[..., i, j] += dy[..., i, j] where j <= i + o.
 * A softmax over the last axis then gives the masked entries weight 0. The
 * row offset o (attr.i[0], 0 as written) lets the rows be a slice of the
 * full square: rows [s, s + r) of a (t, t) mask are the mask with o = s on an
 * (r, t) input (the dead-rows rewrite uses this). */
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
    int64_t o = out->attr.i[0];
    if (x->ndim < 2 || o < 0 || x->shape[x->ndim - 2] + o != x->shape[x->ndim - 1])
        return mg_fail(MG_ERR_SHAPE,
                       "causal_mask: the last two dims must be (t, t) (rows from %lld: (t - %lld, "
                       "t)), got %s",
                       (long long)o, (long long)o, sx);
    out->ndim = x->ndim;
    out->dtype = MG_F32;
    for (int k = 0; k < x->ndim; k++) out->shape[k] = x->shape[k];
    return MG_OK;
}

// x: (batch, r, t) -> y: (batch, r, t), -inf where j > i + o
static mg_status mask_forward(mg_tensor *out) {
    const float *x = out->in[0]->data;
    float *y = out->data;
    int64_t t = out->shape[out->ndim - 1], r = out->shape[out->ndim - 2], o = out->attr.i[0];
    int64_t batch = mg_numel(out) / (r * t);
    for (int64_t b = 0; b < batch; b++)
        for (int64_t i = 0; i < r; i++) {
            const float *xr = x + (b * r + i) * t;
            float *yr = y + (b * r + i) * t;
            for (int64_t j = 0; j <= i + o; j++) yr[j] = xr[j];
            for (int64_t j = i + o + 1; j < t; j++) yr[j] = -INFINITY;
        }
    return MG_OK;
}
// dy: (batch, r, t) -> dx: (batch, r, t) += dy where j <= i + o
static void mask_backward(mg_tensor *out) {
    float *dx = out->in[0]->grad;
    if (!dx) return;
    const float *dy = out->grad;
    int64_t t = out->shape[out->ndim - 1], r = out->shape[out->ndim - 2], o = out->attr.i[0];
    int64_t batch = mg_numel(out) / (r * t);
    for (int64_t b = 0; b < batch; b++)
        for (int64_t i = 0; i < r; i++) {
            int64_t row = (b * r + i) * t;
            if (!mg_grad_writes(out, 0))
                for (int64_t j = 0; j <= i + o && j < t; j++) dx[row + j] += dy[row + j];
            else
                for (int64_t j = 0; j < t; j++) dx[row + j] = j <= i + o ? dy[row + j] : 0.0f;
        }
}

const mg_op mg_op_causal_mask = {
    .name = "causal_mask",
    .arity = 1,
    .flags = MG_OP_BWD_WRITE,
    .shape = mask_shape,
    .forward = mask_forward,
    .backward = mask_backward,
};
MG_REGISTER_OP(mg_op_causal_mask)

mg_tensor *mg_causal_mask(mg_graph *g, mg_tensor *x) {
    return mg_apply(g, &mg_op_causal_mask, 1, &x, NULL);
}

mg_tensor *mg_causal_mask_rows(mg_graph *g, mg_tensor *x, int64_t first_row) {
    mg_attr attr = {.i = {first_row}};
    return mg_apply(g, &mg_op_causal_mask, 1, &x, &attr);
}

bool mg_causal_mask_first_row(const mg_tensor *t, int64_t *first_row) {
    if (t->op != &mg_op_causal_mask) return false;
    *first_row = t->attr.i[0];
    return true;
}
