/* contig.c — the two ops the graph itself makes: the contiguous copy (in
 * front of an op that needs contiguous inputs and got a view) and the alias
 * (a kept tensor that a rewrite replaced becomes a free view of its
 * replacement, core/rewrite.c). Both are y = x at every logical position;
 * dy flows back to the same positions. */
#include <string.h>

#include "core/graph_impl.h"

static mg_status contig_shape(mg_tensor *out) {
    const mg_tensor *x = out->in[0];
    out->ndim = x->ndim;
    out->dtype = x->dtype;
    memcpy(out->shape, x->shape, sizeof out->shape);
    return MG_OK;
}

/* Logical shape padded to 4 dims (leading 1s) with the given strides. */
static void pad4(const mg_tensor *t, const int64_t *stride, int64_t n[4], int64_t s[4]) {
    int lead = MG_MAX_DIMS - t->ndim;
    for (int i = 0; i < MG_MAX_DIMS; i++) {
        n[i] = i < lead ? 1 : t->shape[i - lead];
        s[i] = i < lead ? 0 : stride[i - lead];
    }
}

// x: strided (any) -> out: contiguous, same shape (4-byte elements either type)
static mg_status contig_forward(mg_tensor *out) {
    const mg_tensor *x = out->in[0];
    int64_t n[4], s[4];
    pad4(x, x->stride, n, s);
    const uint32_t *src = x->data;
    uint32_t *dst = out->data;
    for (int64_t a = 0; a < n[0]; a++)
        for (int64_t b = 0; b < n[1]; b++)
            for (int64_t c = 0; c < n[2]; c++) {
                const uint32_t *row = src + a * s[0] + b * s[1] + c * s[2];
                for (int64_t d = 0; d < n[3]; d++) *dst++ = row[d * s[3]];
            }
    return MG_OK;
}

// dy: contiguous -> dx: contiguous, same logical shape: dx += dy (copy and alias)
static void same_backward(mg_tensor *out) {
    mg_tensor *x = out->in[0];
    if (!x->grad) return;
    int64_t n = mg_numel(out);
    if (mg_grad_writes(out, 0)) memcpy(x->grad, out->grad, (size_t)n * sizeof(float));
    else
        for (int64_t i = 0; i < n; i++) x->grad[i] += out->grad[i];
}

const mg_op mg_op_contiguous = {
    .name = "contiguous",
    .arity = 1,
    .flags = MG_OP_ELEMENTWISE | MG_OP_STRIDED | MG_OP_BWD_WRITE,
    .shape = contig_shape,
    .forward = contig_forward,
    .backward = same_backward,
};
MG_REGISTER_OP(mg_op_contiguous)

/* alias: x's elements as a new node, with x's shape, strides and offset */
static mg_status alias_shape(mg_tensor *out) {
    const mg_tensor *x = out->in[0];
    out->ndim = x->ndim;
    out->dtype = x->dtype;
    memcpy(out->shape, x->shape, sizeof out->shape);
    memcpy(out->stride, x->stride, sizeof out->stride);
    out->offset = x->offset;
    return MG_OK;
}

const mg_op mg_op_alias = {
    .name = "alias",
    .arity = 1,
    .flags = MG_OP_VIEW | MG_OP_DISTINCT | MG_OP_STRIDED | MG_OP_BWD_WRITE,
    .shape = alias_shape,
    .backward = same_backward,
};
MG_REGISTER_OP(mg_op_alias)
