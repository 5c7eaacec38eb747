/* unary.c — elementwise ops of one input: scale, relu, square. */
#include <stdio.h>

#include "core/gemm.h"
#include "core/op.h"
#include "ops/ops.h"

/* Output has the input's shape; the input must be float. */
static mg_status same_shape(mg_tensor *out) {
    const mg_tensor *x = out->in[0];
    if (x->dtype != MG_F32) {
        char sx[64];
        return mg_fail(MG_ERR_SHAPE, "%s: input must be float, got an int tensor %s", out->op->name,
                       mg_shape_str(x, sx, sizeof sx));
    }
    out->ndim = x->ndim;
    out->dtype = MG_F32;
    for (int k = 0; k < x->ndim; k++) out->shape[k] = x->shape[k];
    return MG_OK;
}

/* y = s * x (s = attr.f[0]);  dx += s * dy */
static mg_status scale_forward(mg_tensor *out) {
    const float *restrict x = out->in[0]->data;
    float *restrict y = out->data, s = out->attr.f[0];
    const int64_t n = mg_numel(out);
#pragma omp parallel for schedule(static) num_threads(mg_kernel_threads(n))
    for (int64_t i = 0; i < n; i++) y[i] = s * x[i];
    return MG_OK;
}
static void scale_backward(mg_tensor *out) {
    float *restrict dx = out->in[0]->grad, s = out->attr.f[0];
    const float *restrict dy = out->grad;
    if (!dx) return;
    const int64_t n = mg_numel(out);
    if (mg_grad_writes(out, 0)) {
#pragma omp parallel for schedule(static) num_threads(mg_kernel_threads(n))
        for (int64_t i = 0; i < n; i++) dx[i] = s * dy[i];
    } else {
#pragma omp parallel for schedule(static) num_threads(mg_kernel_threads(n))
        for (int64_t i = 0; i < n; i++) dx[i] += s * dy[i];
    }
}
const mg_op mg_op_scale = {
    .name = "scale",
    .arity = 1,
    .flags = MG_OP_ELEMENTWISE | MG_OP_BWD_WRITE,
    .shape = same_shape,
    .forward = scale_forward,
    .backward = scale_backward,
};
MG_REGISTER_OP(mg_op_scale)

/* y = max(0, x);  dx += dy where y > 0 (reads the output, not the input) */
static mg_status relu_forward(mg_tensor *out) {
    const float *restrict x = out->in[0]->data;
    float *restrict y = out->data;
    const int64_t n = mg_numel(out);
#pragma omp parallel for schedule(static) num_threads(mg_kernel_threads(n))
    for (int64_t i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
    return MG_OK;
}
static void relu_backward(mg_tensor *out) {
    float *restrict dx = out->in[0]->grad;
    const float *restrict y = out->data, *restrict dy = out->grad;
    if (!dx) return;
    /* both loads unconditional, so the select vectorises */
    const int64_t n = mg_numel(out);
    if (mg_grad_writes(out, 0)) {
#pragma omp parallel for schedule(static) num_threads(mg_kernel_threads(n))
        for (int64_t i = 0; i < n; i++) {
            float g = dy[i];
            dx[i] = y[i] > 0.0f ? g : 0.0f;
        }
    } else {
#pragma omp parallel for schedule(static) num_threads(mg_kernel_threads(n))
        for (int64_t i = 0; i < n; i++) {
            float g = dy[i];
            dx[i] += y[i] > 0.0f ? g : 0.0f;
        }
    }
}
const mg_op mg_op_relu = {
    .name = "relu",
    .arity = 1,
    .flags = MG_OP_ELEMENTWISE | MG_OP_BWD_OUT | MG_OP_BWD_WRITE,
    .shape = same_shape,
    .forward = relu_forward,
    .backward = relu_backward,
};
MG_REGISTER_OP(mg_op_relu)

/* y = x^2;  dx += 2 x dy */
static mg_status square_forward(mg_tensor *out) {
    const float *restrict x = out->in[0]->data;
    float *restrict y = out->data;
    const int64_t n = mg_numel(out);
#pragma omp parallel for schedule(static) num_threads(mg_kernel_threads(n))
    for (int64_t i = 0; i < n; i++) y[i] = x[i] * x[i];
    return MG_OK;
}
static void square_backward(mg_tensor *out) {
    float *restrict dx = out->in[0]->grad;
    const float *restrict x = out->in[0]->data, *restrict dy = out->grad;
    if (!dx) return;
    const int64_t n = mg_numel(out);
    if (mg_grad_writes(out, 0)) {
#pragma omp parallel for schedule(static) num_threads(mg_kernel_threads(n))
        for (int64_t i = 0; i < n; i++) dx[i] = 2.0f * x[i] * dy[i];
    } else {
#pragma omp parallel for schedule(static) num_threads(mg_kernel_threads(n))
        for (int64_t i = 0; i < n; i++) dx[i] += 2.0f * x[i] * dy[i];
    }
}
const mg_op mg_op_square = {
    .name = "square",
    .arity = 1,
    .flags = MG_OP_ELEMENTWISE | MG_OP_BWD_IN | MG_OP_BWD_WRITE,
    .shape = same_shape,
    .forward = square_forward,
    .backward = square_backward,
};
MG_REGISTER_OP(mg_op_square)

mg_tensor *mg_scale(mg_graph *g, mg_tensor *x, float s) {
    mg_attr attr = {.f = {s}};
    return mg_apply(g, &mg_op_scale, 1, &x, &attr);
}
mg_tensor *mg_relu(mg_graph *g, mg_tensor *x) { return mg_apply(g, &mg_op_relu, 1, &x, NULL); }
mg_tensor *mg_square(mg_graph *g, mg_tensor *x) { return mg_apply(g, &mg_op_square, 1, &x, NULL); }
