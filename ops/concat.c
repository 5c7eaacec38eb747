/* concat.c — concatenation along the last axis of 1 to 4 tensors whose
 * other dims are equal.
 *
 * y[..., off_k : off_k + c_k] = x_k;  dx_k += dy[..., off_k : off_k + c_k]
 * Both kernels walk the rows (every dim but the last) and copy each input's
 * chunk of the row. Inputs of either dtype are accepted (all the same);
 * only float ones carry a gradient. */
#include <stdio.h>
#include <string.h>

#include "core/op.h"
#include "ops/ops.h"

static mg_status concat_shape(mg_tensor *out) {
    const mg_tensor *a = out->in[0];
    char sa[64], sb[64];
    mg_shape_str(a, sa, sizeof sa);
    if (a->ndim < 1)
        return mg_fail(MG_ERR_SHAPE, "concat: input 0 %s has no axis to concatenate along", sa);
    int64_t last = 0;
    for (int k = 0; k < out->n_in; k++) {
        const mg_tensor *b = out->in[k];
        mg_shape_str(b, sb, sizeof sb);
        bool fits = b->ndim == a->ndim && b->dtype == a->dtype;
        for (int d = 0; fits && d < a->ndim - 1; d++) fits = b->shape[d] == a->shape[d];
        if (!fits)
            return mg_fail(MG_ERR_SHAPE,
                           "concat: input 0 %s and input %d %s differ outside the last axis%s", sa,
                           k, sb, b->dtype != a->dtype ? " (or in dtype)" : "");
        last += b->shape[a->ndim - 1];
    }
    out->ndim = a->ndim;
    out->dtype = a->dtype;
    for (int d = 0; d < a->ndim - 1; d++) out->shape[d] = a->shape[d];
    out->shape[a->ndim - 1] = last;
    return MG_OK;
}

// x_k: (rows, c_k) for k < n_in -> y: (rows, sum_k c_k)  (4-byte elements)
static mg_status concat_forward(mg_tensor *out) {
    int64_t c = out->shape[out->ndim - 1], rows = mg_numel(out) / c;
    uint32_t *y = out->data;
    for (int64_t r = 0; r < rows; r++) {
        uint32_t *yr = y + r * c;
        for (int k = 0; k < out->n_in; k++) {
            const mg_tensor *x = out->in[k];
            int64_t ck = x->shape[x->ndim - 1];
            memcpy(yr, (const uint32_t *)x->data + r * ck, (size_t)ck * sizeof *yr);
            yr += ck;
        }
    }
    return MG_OK;
}
// dy: (rows, sum_k c_k) -> dx_k: (rows, c_k) += its columns of dy
static void concat_backward(mg_tensor *out) {
    int64_t c = out->shape[out->ndim - 1], rows = mg_numel(out) / c, off = 0;
    for (int k = 0; k < out->n_in; k++) {
        const mg_tensor *x = out->in[k];
        int64_t ck = x->shape[x->ndim - 1];
        bool write = mg_grad_writes(out, k);
        if (x->grad)
            for (int64_t r = 0; r < rows; r++) {
                const float *dr = out->grad + r * c + off;
                float *xr = x->grad + r * ck;
                if (write) memcpy(xr, dr, (size_t)ck * sizeof *xr);
                else
                    for (int64_t j = 0; j < ck; j++) xr[j] += dr[j];
            }
        off += ck;
    }
}

const mg_op mg_op_concat = {
    .name = "concat",
    .arity = 0, /* 1 to MG_MAX_INPUTS */
    .flags = MG_OP_BWD_WRITE,
    .shape = concat_shape,
    .forward = concat_forward,
    .backward = concat_backward,
};
MG_REGISTER_OP(mg_op_concat)

mg_tensor *mg_concat(mg_graph *g, int n, mg_tensor *const *xs) {
    return mg_apply(g, &mg_op_concat, n, xs, NULL);
}
mg_tensor *mg_concat2(mg_graph *g, mg_tensor *a, mg_tensor *b) {
    return mg_apply(g, &mg_op_concat, 2, (mg_tensor *[]){a, b}, NULL);
}
