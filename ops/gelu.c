/* gelu.c — GELU in its tanh form (PyTorch's approximate='tanh'), elementwise:
 *   y = 0.5 x (1 + tanh(u)),   u = sqrt(2/pi) (x + 0.044715 x^3).
 * Since 1 + tanh(u) = 2 sigmoid(2u), this is y = x s with s = 1 / (1 + e^(-2u)):
 * the same function, with no cancellation where tanh(u) is near -1, and an
 * exponential the loop vectoriser can take (mg_vexp, ops/vexp.h; glibc's
 * tanhf is a scalar call). The derivative:
 *   dy/dx = s + x s (1 - s) 2 sqrt(2/pi) (1 + 3 * 0.044715 x^2),
 * with 1 - s = e^(-2u) s (no cancellation either). Backward reads the input
 * and recomputes s. Far out (|x| > 10) s (1 - s) < 1e-37, so the correction
 * term's polynomial is evaluated at x clamped to [-10, 10]: x^2 cannot
 * overflow into inf * 0 = NaN for a finite x. */
#include <stdio.h>

#include "core/gemm.h"
#include "core/op.h"
#include "ops/ops.h"
#include "ops/vexp.h"

#define SQRT_2_OVER_PI 0.7978845608028654f
#define GELU_A 0.044715f

static mg_status gelu_shape(mg_tensor *out) {
    const mg_tensor *x = out->in[0];
    if (x->dtype != MG_F32) {
        char sx[64];
        return mg_fail(MG_ERR_SHAPE, "gelu: input must be float, got an int tensor %s",
                       mg_shape_str(x, sx, sizeof sx));
    }
    out->ndim = x->ndim;
    out->dtype = MG_F32;
    for (int k = 0; k < x->ndim; k++) out->shape[k] = x->shape[k];
    return MG_OK;
}

/* e^(-2u) for u = sqrt(2/pi) (x + a x^3): +inf far left, 0 far right */
static inline float gelu_exp(float x) {
    float u = SQRT_2_OVER_PI * x * (1.0f + GELU_A * x * x);
    return mg_vexp(-2.0f * u);
}

// x: (any) -> y: (any);  y = x / (1 + e^(-2u))
static mg_status gelu_forward(mg_tensor *out) {
    const float *restrict x = out->in[0]->data;
    float *restrict y = out->data;
    const int64_t n = mg_numel(out);
#pragma omp parallel for simd schedule(static) num_threads(mg_kernel_threads(n))
    for (int64_t i = 0; i < n; i++) y[i] = x[i] / (1.0f + gelu_exp(x[i]));
    return MG_OK;
}

/* dy/dx at x (see the top of the file) */
static inline float gelu_slope(float x) {
    float e = gelu_exp(x), s = 1.0f / (1.0f + e);
    float one_minus_s = e > 3.0e38f ? 1.0f : e * s; /* e = inf: s = 0, 1 - s = 1 */
    float xc = x < -10.0f ? -10.0f : x > 10.0f ? 10.0f : x;
    float poly = 2.0f * SQRT_2_OVER_PI * (1.0f + 3.0f * GELU_A * xc * xc);
    return s + xc * s * one_minus_s * poly;
}

// dy: (any), x: (any) -> dx: (any) +=
static void gelu_backward(mg_tensor *out) {
    float *restrict dx = out->in[0]->grad;
    const float *restrict x = out->in[0]->data, *restrict dy = out->grad;
    if (!dx) return;
    const int64_t n = mg_numel(out);
    if (mg_grad_writes(out, 0)) {
#pragma omp parallel for simd schedule(static) num_threads(mg_kernel_threads(n))
        for (int64_t i = 0; i < n; i++) dx[i] = dy[i] * gelu_slope(x[i]);
    } else {
#pragma omp parallel for simd schedule(static) num_threads(mg_kernel_threads(n))
        for (int64_t i = 0; i < n; i++) dx[i] += dy[i] * gelu_slope(x[i]);
    }
}

/* Per element: the polynomial, the exponential (about 10) and a division;
 * backward the same plus the slope's terms. */
static double gelu_flops(const mg_tensor *out, bool backward) {
    return (backward ? 24.0 : 16.0) * (double)mg_numel(out);
}

const mg_op mg_op_gelu = {
    .name = "gelu",
    .arity = 1,
    .flags = MG_OP_ELEMENTWISE | MG_OP_BWD_IN | MG_OP_BWD_WRITE,
    .shape = gelu_shape,
    .forward = gelu_forward,
    .backward = gelu_backward,
    .flops = gelu_flops,
};
MG_REGISTER_OP(mg_op_gelu)

mg_tensor *mg_gelu(mg_graph *g, mg_tensor *x) { return mg_apply(g, &mg_op_gelu, 1, &x, NULL); }
