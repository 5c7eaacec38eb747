/* layernorm.c — layer normalisation over the last axis, with a learned gain
 * and bias (the pre-LN transformer's norm).
 *
 * Per row x of length d (the last axis):
 *   mean = (1/d) sum_j x_j,   var = (1/d) sum_j (x_j - mean)^2,
 *   rstd = 1 / sqrt(var + eps),   xhat_j = (x_j - mean) rstd,
 *   y_j = xhat_j gain_j + bias_j.
 * var is the biased variance, as PyTorch's LayerNorm. Numerics: mean and
 * variance accumulate in double in two passes, so a row with a large offset
 * (1e4 + small noise) keeps its normalised values; the float form
 * E[x^2] - E[x]^2 would lose them all to cancellation. The saved buffer is
 * each row's mean and rstd as doubles (a float mean would put the offset's
 * rounding into every xhat of backward).
 *
 * Backward, with g_j = dy_j gain_j:
 *   dx_j    += rstd (g_j - mean_i g_i - xhat_j mean_i(g_i xhat_i)),
 *   dgain_j += sum over rows of dy_j xhat_j,   dbias_j += sum over rows of dy_j.
 * It reads x and gain (MG_OP_BWD_IN) and the saved mean and rstd; xhat is
 * recomputed. Rows run on the kernel threads in fixed blocks, and the gain
 * and bias sums over rows run per block of columns in row order, so the
 * result is deterministic for a thread count.
 *
 * Flags: row-wise (core/op.h: gain and bias are (d) vectors, the same for
 * every row), so the graph passes may cut or repeat the rows of x. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/gemm.h"
#include "core/op.h"
#include "ops/ops.h"

#define BLOCK 64 /* columns of the gain and bias sums at once (double accumulators) */

static mg_status layer_norm_shape(mg_tensor *out) {
    const mg_tensor *x = out->in[0], *gain = out->in[1], *bias = out->in[2];
    char sx[64], sg[64], sb[64];
    mg_shape_str(x, sx, sizeof sx);
    mg_shape_str(gain, sg, sizeof sg);
    mg_shape_str(bias, sb, sizeof sb);
    if (x->dtype != MG_F32 || gain->dtype != MG_F32 || bias->dtype != MG_F32)
        return mg_fail(MG_ERR_SHAPE,
                       "layer_norm: x, gain and bias must be float, got x %s %s, gain %s %s, bias "
                       "%s %s",
                       x->dtype == MG_F32 ? "float" : "int", sx,
                       gain->dtype == MG_F32 ? "float" : "int", sg,
                       bias->dtype == MG_F32 ? "float" : "int", sb);
    if (x->ndim < 1) return mg_fail(MG_ERR_SHAPE, "layer_norm: x needs at least 1 dim, got %s", sx);
    int64_t d = x->shape[x->ndim - 1];
    if (gain->ndim != 1 || gain->shape[0] != d || bias->ndim != 1 || bias->shape[0] != d)
        return mg_fail(MG_ERR_SHAPE,
                       "layer_norm: gain and bias must be (%lld,), the last dim of x %s; got gain "
                       "%s, bias %s",
                       (long long)d, sx, sg, sb);
    float eps = out->attr.f[0];
    if (!(eps >= 0.0f) || isinf(eps))
        return mg_fail(MG_ERR_ARG, "layer_norm: eps must be a finite number >= 0, got %g",
                       (double)eps);
    out->ndim = x->ndim;
    out->dtype = MG_F32;
    for (int k = 0; k < x->ndim; k++) out->shape[k] = x->shape[k];
    return MG_OK;
}

/* Each row's mean and rstd, two doubles (four floats) per row. */
static size_t layer_norm_aux_size(const mg_tensor *out) {
    int64_t d = out->shape[out->ndim - 1];
    return (size_t)(d ? mg_numel(out) / d : 0) * 4;
}
static void save_stats(float *aux, int64_t r, double mean, double rstd) {
    double s[2] = {mean, rstd};
    memcpy(aux + 4 * r, s, sizeof s);
}
static void load_stats(const float *aux, int64_t r, double *mean, double *rstd) {
    double s[2];
    memcpy(s, aux + 4 * r, sizeof s);
    *mean = s[0];
    *rstd = s[1];
}

/* The rows' sums are chains of double adds in j order, one chain per row:
 * the kernels below take R rows at once (R = 4, then 1 for the rest), so
 * that R chains are in flight, where one row at a time waits on each add's
 * latency. Each row's operations are the same whatever R, so the bits are
 * those of one row at a time. */

/* Rows r0 .. r0 + R - 1 of the forward. */
static inline __attribute__((always_inline)) void forward_rows(const int R, int64_t r0, int64_t d,
                                                               const float *x, const float *gain,
                                                               const float *bias, double eps,
                                                               float *y, float *aux) {
    double sum[4] = {0}, mean[4], ss[4] = {0}, rstd[4];
    for (int64_t j = 0; j < d; j++)
        for (int q = 0; q < R; q++) sum[q] += x[(r0 + q) * d + j];
    for (int q = 0; q < R; q++) mean[q] = sum[q] / (double)d;
    for (int64_t j = 0; j < d; j++)
        for (int q = 0; q < R; q++) {
            double c = (double)x[(r0 + q) * d + j] - mean[q];
            ss[q] += c * c;
        }
    for (int q = 0; q < R; q++) {
        rstd[q] = 1.0 / sqrt(ss[q] / (double)d + eps);
        save_stats(aux, r0 + q, mean[q], rstd[q]);
        const float *xr = x + (r0 + q) * d;
        float *yr = y + (r0 + q) * d;
        for (int64_t j = 0; j < d; j++)
            yr[j] = (float)(((double)xr[j] - mean[q]) * rstd[q]) * gain[j] + bias[j];
    }
}

// x: (rows, d), gain: (d), bias: (d) -> y: (rows, d), aux: (rows) x {mean, rstd}
static mg_status layer_norm_forward(mg_tensor *out) {
    const float *x = out->in[0]->data, *gain = out->in[1]->data, *bias = out->in[2]->data;
    float *y = out->data;
    const double eps = out->attr.f[0];
    const int64_t d = out->shape[out->ndim - 1], rows = d ? mg_numel(out) / d : 0;
    const int64_t quads = rows / 4;
#pragma omp parallel for schedule(static) num_threads(mg_kernel_threads(mg_numel(out)))
    for (int64_t b = 0; b < quads; b++) forward_rows(4, 4 * b, d, x, gain, bias, eps, y, out->aux);
    for (int64_t r = 4 * quads; r < rows; r++)
        forward_rows(1, r, d, x, gain, bias, eps, y, out->aux);
    return MG_OK;
}

/* Rows r0 .. r0 + R - 1 of backward_x. */
static inline __attribute__((always_inline)) void
backward_x_rows(const int R, int64_t r0, int64_t d, const float *x, const float *gain,
                const float *dy, const float *aux, bool write, float *dx) {
    double mean[4], rstd[4], sg[4] = {0}, sgx[4] = {0}, mg[4], mgx[4];
    for (int q = 0; q < R; q++) load_stats(aux, r0 + q, &mean[q], &rstd[q]);
    for (int64_t j = 0; j < d; j++)
        for (int q = 0; q < R; q++) {
            const int64_t i = (r0 + q) * d + j;
            double g = (double)dy[i] * gain[j], xhat = ((double)x[i] - mean[q]) * rstd[q];
            sg[q] += g;
            sgx[q] += g * xhat;
        }
    for (int q = 0; q < R; q++) mg[q] = sg[q] / (double)d, mgx[q] = sgx[q] / (double)d;
    for (int q = 0; q < R; q++)
        for (int64_t j = 0; j < d; j++) {
            const int64_t i = (r0 + q) * d + j;
            double g = (double)dy[i] * gain[j], xhat = ((double)x[i] - mean[q]) * rstd[q];
            float v = (float)(rstd[q] * (g - mg[q] - xhat * mgx[q]));
            dx[i] = write ? v : dx[i] + v;
        }
}

/* dx += rstd (g - mean(g) - xhat mean(g xhat)), g = dy gain, per row */
// dy: (rows, d), x: (rows, d), gain: (d), aux -> dx: (rows, d) +=
static void backward_x(mg_tensor *out) {
    mg_tensor *tx = out->in[0];
    const float *x = tx->data, *gain = out->in[1]->data, *dy = out->grad;
    float *dx = tx->grad;
    const bool write = mg_grad_writes(out, 0);
    const int64_t d = out->shape[out->ndim - 1], rows = d ? mg_numel(out) / d : 0;
    const int64_t quads = rows / 4;
#pragma omp parallel for schedule(static) num_threads(mg_kernel_threads(mg_numel(out)))
    for (int64_t b = 0; b < quads; b++)
        backward_x_rows(4, 4 * b, d, x, gain, dy, out->aux, write, dx);
    for (int64_t r = 4 * quads; r < rows; r++)
        backward_x_rows(1, r, d, x, gain, dy, out->aux, write, dx);
}

/* dgain_j += sum_r dy[r, j] xhat[r, j];  dbias_j += sum_r dy[r, j] */
// dy: (rows, d), x: (rows, d), aux -> dgain: (d) +=, dbias: (d) +=
static void backward_gain_bias(mg_tensor *out) {
    const float *x = out->in[0]->data, *dy = out->grad;
    float *dgain = out->in[1]->grad, *dbias = out->in[2]->grad;
    const bool wg = mg_grad_writes(out, 1), wb = mg_grad_writes(out, 2);
    const int64_t d = out->shape[out->ndim - 1], rows = d ? mg_numel(out) / d : 0;
    const int64_t blocks = (d + BLOCK - 1) / BLOCK;
#pragma omp parallel for schedule(static) num_threads(mg_kernel_threads(mg_numel(out)))
    for (int64_t b = 0; b < blocks; b++) {
        const int64_t j0 = b * BLOCK, w = d - j0 < BLOCK ? d - j0 : BLOCK;
        double ag[BLOCK] = {0}, ab[BLOCK] = {0};
        for (int64_t r = 0; r < rows; r++) {
            const float *xr = x + r * d + j0, *dr = dy + r * d + j0;
            double mean, rstd;
            load_stats(out->aux, r, &mean, &rstd);
            for (int64_t j = 0; j < w; j++) {
                ag[j] += (double)dr[j] * (((double)xr[j] - mean) * rstd);
                ab[j] += dr[j];
            }
        }
        for (int64_t j = 0; j < w; j++) {
            if (dgain) dgain[j0 + j] = (float)ag[j] + (wg ? 0.0f : dgain[j0 + j]);
            if (dbias) dbias[j0 + j] = (float)ab[j] + (wb ? 0.0f : dbias[j0 + j]);
        }
    }
}

static void layer_norm_backward(mg_tensor *out) {
    if (out->in[0]->grad) backward_x(out);
    if (out->in[1]->grad || out->in[2]->grad) backward_gain_bias(out);
}

/* Per element: forward 2 sums, a square, the normalisation and the affine
 * map (about 8); backward the two row sums and dx (about 10), the gain and
 * bias sums (4). */
static double layer_norm_flops(const mg_tensor *out, bool backward) {
    return (backward ? 14.0 : 8.0) * (double)mg_numel(out);
}

const mg_op mg_op_layer_norm = {
    .name = "layer_norm",
    .arity = 3,
    .flags = MG_OP_ROWWISE | MG_OP_BWD_IN | MG_OP_BWD_WRITE,
    .shape = layer_norm_shape,
    .aux_size = layer_norm_aux_size,
    .forward = layer_norm_forward,
    .backward = layer_norm_backward,
    .flops = layer_norm_flops,
};
MG_REGISTER_OP(mg_op_layer_norm)

mg_tensor *mg_layer_norm(mg_graph *g, mg_tensor *x, mg_tensor *gain, mg_tensor *bias, float eps) {
    mg_attr attr = {.f = {eps}};
    return mg_apply(g, &mg_op_layer_norm, 3, (mg_tensor *[]){x, gain, bias}, &attr);
}
