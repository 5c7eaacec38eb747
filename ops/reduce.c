/* reduce.c — sums and means: over one axis (which is removed from the
 * shape) or over every element (a 0-dim scalar). Sums accumulate in double.
 *
 * An axis reduction views x as (outer, len, inner): the axis has len
 * entries, outer is the product of the dims before it, inner of those after.
 * The shape function stores the resolved axis in attr.i[0] and the divisor
 * (1 for a sum, len for a mean) in attr.i[1], so one pair of kernels serves
 * both ops. */
#include <stdio.h>

#include "core/op.h"
#include "ops/ops.h"

#define BLOCK 64 /* inner columns summed at once (double accumulators on the stack) */

static mg_status need_float(const mg_tensor *out) {
    const mg_tensor *x = out->in[0];
    if (x->dtype == MG_F32) return MG_OK;
    char sx[64];
    return mg_fail(MG_ERR_SHAPE, "%s: input must be float, got an int tensor %s", out->op->name,
                   mg_shape_str(x, sx, sizeof sx));
}

static mg_status axis_shape(mg_tensor *out, bool mean) {
    const mg_tensor *x = out->in[0];
    mg_status st = need_float(out);
    if (st) return st;
    int64_t axis = out->attr.i[0];
    if (axis < 0) axis += x->ndim;
    if (axis < 0 || axis >= x->ndim) {
        char sx[64];
        return mg_fail(MG_ERR_SHAPE, "%s: axis %lld is out of range for %s (%d dims)",
                       out->op->name, (long long)out->attr.i[0], mg_shape_str(x, sx, sizeof sx),
                       x->ndim);
    }
    out->attr.i[0] = axis;
    out->attr.i[1] = mean ? x->shape[axis] : 1;
    out->dtype = MG_F32;
    out->ndim = x->ndim - 1;
    for (int k = 0, o = 0; k < x->ndim; k++)
        if (k != axis) out->shape[o++] = x->shape[k];
    return MG_OK;
}
static mg_status sum_shape(mg_tensor *out) { return axis_shape(out, false); }
static mg_status mean_shape(mg_tensor *out) { return axis_shape(out, true); }

/* x viewed as (outer, len, inner) around the reduced axis. */
static void split_axis(const mg_tensor *x, int axis, int64_t *outer, int64_t *len, int64_t *inner) {
    *outer = *inner = 1;
    for (int k = 0; k < axis; k++) *outer *= x->shape[k];
    *len = x->shape[axis];
    for (int k = axis + 1; k < x->ndim; k++) *inner *= x->shape[k];
}

// x: (outer, len, inner) -> y: (outer, inner);  y = sum_k x[:, k, :] / divisor
static mg_status axis_forward(mg_tensor *out) {
    const mg_tensor *tx = out->in[0];
    int64_t outer, len, inner;
    split_axis(tx, (int)out->attr.i[0], &outer, &len, &inner);
    const float *x = tx->data;
    float *y = out->data;
    double divisor = (double)out->attr.i[1], acc[BLOCK];
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i0 = 0; i0 < inner; i0 += BLOCK) {
            int64_t w = inner - i0 < BLOCK ? inner - i0 : BLOCK;
            for (int64_t i = 0; i < w; i++) acc[i] = 0.0;
            for (int64_t k = 0; k < len; k++) {
                const float *row = x + (o * len + k) * inner + i0;
                for (int64_t i = 0; i < w; i++) acc[i] += row[i];
            }
            for (int64_t i = 0; i < w; i++) y[o * inner + i0 + i] = (float)(acc[i] / divisor);
        }
    return MG_OK;
}
// dy: (outer, inner) -> dx: (outer, len, inner) += dy / divisor broadcast over len
static void axis_backward(mg_tensor *out) {
    const mg_tensor *tx = out->in[0];
    if (!tx->grad) return;
    int64_t outer, len, inner;
    split_axis(tx, (int)out->attr.i[0], &outer, &len, &inner);
    const float *dy = out->grad;
    float *dx = tx->grad, scale = (float)(1.0 / (double)out->attr.i[1]);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t k = 0; k < len; k++) {
            float *row = dx + (o * len + k) * inner;
            const float *d = dy + o * inner;
            if (mg_grad_writes(out, 0))
                for (int64_t i = 0; i < inner; i++) row[i] = scale * d[i];
            else
                for (int64_t i = 0; i < inner; i++) row[i] += scale * d[i];
        }
}

/* y = sum_k x[..., k, ...] (axis removed);  dx += dy broadcast along axis */
const mg_op mg_op_sum = {
    .name = "sum",
    .arity = 1,
    .flags = MG_OP_BWD_WRITE,
    .shape = sum_shape,
    .forward = axis_forward,
    .backward = axis_backward,
};
MG_REGISTER_OP(mg_op_sum)

/* y = (1/len) sum_k x[..., k, ...];  dx += dy / len broadcast along axis */
const mg_op mg_op_mean = {
    .name = "mean",
    .arity = 1,
    .flags = MG_OP_BWD_WRITE,
    .shape = mean_shape,
    .forward = axis_forward,
    .backward = axis_backward,
};
MG_REGISTER_OP(mg_op_mean)

/* Whole-tensor reductions: attr.i[0] = divisor, 1 (sum) or numel (mean). */
static mg_status all_shape(mg_tensor *out, bool mean) {
    mg_status st = need_float(out);
    if (st) return st;
    out->attr.i[0] = mean ? mg_numel(out->in[0]) : 1;
    out->ndim = 0;
    out->dtype = MG_F32;
    return MG_OK;
}
static mg_status sum_all_shape(mg_tensor *out) { return all_shape(out, false); }
static mg_status mean_all_shape(mg_tensor *out) { return all_shape(out, true); }

// x: (any) -> y: () = sum_i x_i / divisor
static mg_status all_forward(mg_tensor *out) {
    const float *x = out->in[0]->data;
    double s = 0.0;
    for (int64_t i = 0, n = mg_numel(out->in[0]); i < n; i++) s += x[i];
    mg_f32(out)[0] = (float)(s / (double)out->attr.i[0]);
    return MG_OK;
}
// dy: () -> dx: (any) += dy / divisor
static void all_backward(mg_tensor *out) {
    float *dx = out->in[0]->grad;
    if (!dx) return;
    float d = (float)((double)out->grad[0] / (double)out->attr.i[0]);
    bool write = mg_grad_writes(out, 0);
    for (int64_t i = 0, n = mg_numel(out->in[0]); i < n; i++) dx[i] = write ? d : dx[i] + d;
}

/* y = sum_i x_i;  dx_i += dy */
const mg_op mg_op_sum_all = {
    .name = "sum_all",
    .arity = 1,
    .flags = MG_OP_BWD_WRITE,
    .shape = sum_all_shape,
    .forward = all_forward,
    .backward = all_backward,
};
MG_REGISTER_OP(mg_op_sum_all)

/* y = (1/n) sum_i x_i;  dx_i += dy / n */
const mg_op mg_op_mean_all = {
    .name = "mean_all",
    .arity = 1,
    .flags = MG_OP_BWD_WRITE,
    .shape = mean_all_shape,
    .forward = all_forward,
    .backward = all_backward,
};
MG_REGISTER_OP(mg_op_mean_all)

mg_tensor *mg_sum(mg_graph *g, mg_tensor *x, int axis) {
    mg_attr attr = {.i = {axis}};
    return mg_apply(g, &mg_op_sum, 1, &x, &attr);
}
mg_tensor *mg_mean(mg_graph *g, mg_tensor *x, int axis) {
    mg_attr attr = {.i = {axis}};
    return mg_apply(g, &mg_op_mean, 1, &x, &attr);
}
mg_tensor *mg_sum_all(mg_graph *g, mg_tensor *x) {
    return mg_apply(g, &mg_op_sum_all, 1, &x, NULL);
}
mg_tensor *mg_mean_all(mg_graph *g, mg_tensor *x) {
    return mg_apply(g, &mg_op_mean_all, 1, &x, NULL);
}
