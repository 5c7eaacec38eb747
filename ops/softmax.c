/* softmax.c — softmax over the last axis, and the cross-entropy loss fused
 * with its softmax.
 *
 * Numerics (ops/README.md): grokking runs spend thousands of steps near zero
 * loss, where the float32 forms log(sum exp) - z_y and p_y - 1 round to 0.
 * So per row, with m = max_j z_j:
 *   loss = log1p(sum_{j != y} exp(z_j - m))           if z_y == m,
 *   loss = log(sum_j exp(z_j - m)) - (z_y - m)         otherwise,
 * and the true class's gradient is minus the sum of the other classes'
 * probabilities (positive terms, no cancellation), not p_y - 1. Row sums
 * and the mean over rows accumulate in double. Exponentials use mg_vexp
 * (ops/vexp.h) so that rows vectorise; rows run on the kernel threads in
 * fixed blocks (deterministic for a thread count). */
#include <math.h>
#include <omp.h>
#include <stdio.h>

#include "core/gemm.h"
#include "core/op.h"
#include "ops/ops.h"
#include "ops/vexp.h"

/* softmax ---------------------------------------------------------------- */

static mg_status softmax_shape(mg_tensor *out) {
    const mg_tensor *x = out->in[0];
    char sx[64];
    if (x->dtype != MG_F32)
        return mg_fail(MG_ERR_SHAPE, "softmax: input must be float, got an int tensor %s",
                       mg_shape_str(x, sx, sizeof sx));
    if (x->ndim < 1)
        return mg_fail(MG_ERR_SHAPE, "softmax: input needs at least 1 dim, got %s",
                       mg_shape_str(x, sx, sizeof sx));
    out->ndim = x->ndim;
    out->dtype = MG_F32;
    for (int k = 0; k < x->ndim; k++) out->shape[k] = x->shape[k];
    return MG_OK;
}

/* y = exp(x - max x) / sum exp(x - max x) per row. Entries of -inf (masked)
 * give exp(-inf) = 0; the row max must be finite (a causal mask keeps the
 * diagonal). */
// x: (rows, c) -> y: (rows, c)
static mg_status softmax_forward(mg_tensor *out) {
    const float *x = out->in[0]->data;
    float *y = out->data;
    int64_t c = out->shape[out->ndim - 1], rows = mg_numel(out) / c;
#pragma omp parallel for schedule(static) num_threads(mg_kernel_threads(mg_numel(out)))
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * c;
        float *yr = y + r * c, m = xr[0];
#pragma omp simd reduction(max : m)
        for (int64_t j = 1; j < c; j++) m = xr[j] > m ? xr[j] : m;
        double s = 0.0;
#pragma omp simd reduction(+ : s)
        for (int64_t j = 0; j < c; j++) {
            yr[j] = mg_vexp(xr[j] - m);
            s += yr[j];
        }
        float inv = (float)(1.0 / s);
        for (int64_t j = 0; j < c; j++) yr[j] *= inv;
    }
    return MG_OK;
}
/* dx = y * (dy - sum_j dy_j y_j) per row (reads the output); also the
 * backward of softmax_topk (ops/topk.c) */
// dy: (rows, c), y: (rows, c) -> dx: (rows, c) +=
void mg_softmax_rows_backward(mg_tensor *out) {
    float *dx = out->in[0]->grad;
    if (!dx) return;
    const float *y = out->data, *dy = out->grad;
    bool write = mg_grad_writes(out, 0);
    int64_t c = out->shape[out->ndim - 1], rows = mg_numel(out) / c;
#pragma omp parallel for schedule(static) num_threads(mg_kernel_threads(mg_numel(out)))
    for (int64_t r = 0; r < rows; r++) {
        const float *yr = y + r * c, *dr = dy + r * c;
        double dot = 0.0;
        for (int64_t j = 0; j < c; j++) dot += (double)dr[j] * yr[j];
        float d = (float)dot, *xr = dx + r * c;
        if (write)
            for (int64_t j = 0; j < c; j++) xr[j] = yr[j] * (dr[j] - d);
        else
            for (int64_t j = 0; j < c; j++) xr[j] += yr[j] * (dr[j] - d);
    }
}

const mg_op mg_op_softmax = {
    .name = "softmax",
    .arity = 1,
    .flags = MG_OP_ROWWISE | MG_OP_BWD_OUT | MG_OP_BWD_WRITE,
    .shape = softmax_shape,
    .forward = softmax_forward,
    .backward = mg_softmax_rows_backward,
};
MG_REGISTER_OP(mg_op_softmax)

/* cross entropy ---------------------------------------------------------- */

static mg_status ce_shape(mg_tensor *out) {
    const mg_tensor *z = out->in[0], *y = out->in[1];
    char sz[64], sy[64];
    mg_shape_str(z, sz, sizeof sz);
    mg_shape_str(y, sy, sizeof sy);
    if (z->dtype != MG_F32 || z->ndim != 2)
        return mg_fail(MG_ERR_SHAPE, "cross_entropy: logits must be a 2-D float (n, c), got %s %s",
                       z->dtype == MG_F32 ? "float" : "int", sz);
    if (y->dtype != MG_I32 || y->ndim != 1 || y->shape[0] != z->shape[0])
        return mg_fail(MG_ERR_SHAPE,
                       "cross_entropy: labels must be int32 (%lld,) for logits %s, got %s %s",
                       (long long)z->shape[0], sz, y->dtype == MG_I32 ? "int" : "float", sy);
    out->ndim = 0;
    out->dtype = MG_F32;
    return MG_OK;
}

/* The probabilities p: (n, c), saved for backward. */
static size_t ce_aux_size(const mg_tensor *out) { return (size_t)mg_numel(out->in[0]); }

/* L = (1/n) sum_i -log softmax(z_i)[y_i], in the stable forms above */
// z: (n, c), labels: (n) -> L: (), aux p: (n, c)
static mg_status ce_forward(mg_tensor *out) {
    const mg_tensor *tz = out->in[0];
    const float *z = tz->data;
    const int32_t *labels = mg_i32(out->in[1]);
    float *p = out->aux;
    int64_t n = tz->shape[0], c = tz->shape[1];
    for (int64_t i = 0; i < n; i++)
        if (labels[i] < 0 || labels[i] >= c)
            return mg_fail(MG_ERR_ARG, "cross_entropy: label %d at row %lld is outside [0, %lld)",
                           (int)labels[i], (long long)i, (long long)c);
    /* per-thread partial sums over fixed blocks of rows, added in order */
    enum { MAX_T = 64 };
    double part[MAX_T] = {0};
    int nt = mg_kernel_threads(n * c);
    if (nt > MAX_T) nt = MAX_T;
#pragma omp parallel num_threads(nt)
    {
        int id = nt > 1 ? omp_get_thread_num() : 0;
        double total = 0.0;
        for (int64_t i = n * id / nt; i < n * (id + 1) / nt; i++) {
            int32_t y = labels[i];
            const float *zr = z + i * c;
            float *pr = p + i * c, m = zr[0];
#pragma omp simd reduction(max : m)
            for (int64_t j = 1; j < c; j++) m = zr[j] > m ? zr[j] : m;
            for (int64_t j = 0; j < c; j++) pr[j] = mg_vexp(zr[j] - m);
            float ey = pr[y];
            pr[y] = 0.0f;        /* out of the sum below, which then vectorises */
            double others = 0.0; /* sum_{j != y} exp(z_j - m) */
#pragma omp simd reduction(+ : others)
            for (int64_t j = 0; j < c; j++) others += pr[j];
            pr[y] = ey;
            double s = others + ey;
            total += zr[y] == m ? log1p(others) : log(s) - ((double)zr[y] - m);
            float inv = (float)(1.0 / s);
            for (int64_t j = 0; j < c; j++) pr[j] *= inv;
        }
        part[id] = total;
    }
    double total = 0.0;
    for (int t = 0; t < nt; t++) total += part[t];
    mg_f32(out)[0] = (float)(total / (double)n);
    return MG_OK;
}
/* dz_j += dL p_j / n (j != y);  dz_y += -dL (sum_{j != y} p_j) / n */
// dL: (), p: (n, c), labels: (n) -> dz: (n, c) +=
static void ce_backward(mg_tensor *out) {
    const mg_tensor *tz = out->in[0];
    float *dz = tz->grad;
    if (!dz) return;
    const int32_t *labels = mg_i32(out->in[1]);
    const float *p = out->aux;
    bool write = mg_grad_writes(out, 0);
    int64_t n = tz->shape[0], c = tz->shape[1];
    float scale = (float)((double)out->grad[0] / (double)n);
#pragma omp parallel for schedule(static) num_threads(mg_kernel_threads(n *c))
    for (int64_t i = 0; i < n; i++) {
        int32_t y = labels[i];
        const float *pr = p + i * c;
        float *dr = dz + i * c;
        double others = 0.0; /* sum_{j != y} p_j, p_y left out by a mask */
        if (write)
            for (int64_t j = 0; j < c; j++) dr[j] = scale * pr[j] * (float)(j != y);
        else
            for (int64_t j = 0; j < c; j++) dr[j] += scale * pr[j] * (float)(j != y);
#pragma omp simd reduction(+ : others)
        for (int64_t j = 0; j < c; j++) others += (double)pr[j] * (double)(j != y);
        dr[y] += (float)(-(double)scale * others);
    }
}

/* Backward reads the labels (an input), so MG_OP_BWD_IN keeps them alive
 * until then; the logits it also keeps cost little, since the loss is the
 * last forward node and the first backward one. */
const mg_op mg_op_cross_entropy = {
    .name = "cross_entropy",
    .arity = 2,
    .flags = MG_OP_BWD_IN | MG_OP_BWD_WRITE,
    .shape = ce_shape,
    .aux_size = ce_aux_size,
    .forward = ce_forward,
    .backward = ce_backward,
};
MG_REGISTER_OP(mg_op_cross_entropy)

mg_tensor *mg_softmax(mg_graph *g, mg_tensor *x) {
    return mg_apply(g, &mg_op_softmax, 1, &x, NULL);
}
mg_tensor *mg_cross_entropy(mg_graph *g, mg_tensor *logits, mg_tensor *labels) {
    return mg_apply(g, &mg_op_cross_entropy, 2, (mg_tensor *[]){logits, labels}, NULL);
}
