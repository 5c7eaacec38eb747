/* topk.c — top-k per row of the last axis: the softmax renormalised over
 * each row's k largest entries (the attention top-k ablation), and the
 * sparse autoencoder's TopK (keep the k largest values, zero the rest).
 *
 * The kept set K of a row: its k largest entries of x, in the order
 * (value descending, index ascending), so ties go to the lower index; NaN
 * counts as larger than every number (it is kept, and shows in the output
 * as a NaN should) and -0 ties +0. Values are compared through an unsigned
 * key that orders as the floats do. The k-th entry in that order is found by
 * k scans of the row, each taking the best entry after the previous one
 * (O(c k) per row of length c, no scratch: kernels never allocate); K is
 * then every entry at or before it. For the study's sizes (c = 16, k <= 16;
 * the SAE's c = 256, k = 16) that is a few thousand comparisons a row.
 *
 * Backward holds K fixed (the exact gradient almost everywhere: K changes
 * only where two entries tie). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/gemm.h"
#include "core/op.h"
#include "ops/ops.h"
#include "ops/vexp.h"

/* An unsigned key with the floats' order; NaN above +inf, -0 equal to +0. */
static inline uint32_t order_key(float v) {
    if (v != v) return UINT32_MAX;
    if (v == 0.0f) v = 0.0f;
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    return (u & 0x80000000u) ? ~u : u | 0x80000000u;
}
#define NEG_INF_KEY 0x007FFFFFu /* order_key(-INFINITY) */

/* The last kept entry of a row: j is kept when its key is above key, or
 * equal to it with j <= index. */
typedef struct {
    uint32_t key;
    int32_t pad;
    int64_t index;
} threshold;

static inline bool kept(threshold t, uint32_t key, int64_t j) {
    return key > t.key || (key == t.key && j <= t.index);
}

/* The threshold keeping the k first entries of x (c of them) in the order
 * above, leaving out the entries at -inf when skip_neg_inf; with fewer than
 * k such entries, it keeps them all. */
static threshold kth(const float *x, int64_t c, int64_t k, bool skip_neg_inf) {
    int64_t candidates = 0;
    for (int64_t j = 0; j < c; j++) candidates += !skip_neg_inf || order_key(x[j]) != NEG_INF_KEY;
    if (candidates <= k) /* all of them: every key above -inf's, or every key */
        return skip_neg_inf ? (threshold){.key = NEG_INF_KEY, .index = -1}
                            : (threshold){.key = 0, .index = c};
    threshold t = {.key = 0, .index = -1};
    for (int64_t pick = 0; pick < k; pick++) {
        int64_t best = -1;
        uint32_t best_key = 0;
        for (int64_t j = 0; j < c; j++) {
            uint32_t kj = order_key(x[j]);
            if (pick && kept(t, kj, j)) continue; /* at or before the previous pick */
            if (best < 0 || kj > best_key) best = j, best_key = kj;
        }
        t = (threshold){.key = best_key, .index = best};
    }
    return t;
}

static mg_status topk_shape(mg_tensor *out) {
    const mg_tensor *x = out->in[0];
    const char *name = out->op->name;
    char sx[64];
    mg_shape_str(x, sx, sizeof sx);
    if (x->dtype != MG_F32)
        return mg_fail(MG_ERR_SHAPE, "%s: input must be float, got an int tensor %s", name, sx);
    if (x->ndim < 1)
        return mg_fail(MG_ERR_SHAPE, "%s: input needs at least 1 dim, got %s", name, sx);
    int64_t k = out->attr.i[0], d = x->shape[x->ndim - 1];
    if (k < 1)
        return mg_fail(MG_ERR_ARG, "%s: k must be >= 1 (entries kept per row), got %lld", name,
                       (long long)k);
    if (out->op == &mg_op_topk && k > d)
        return mg_fail(MG_ERR_ARG, "%s: k = %lld is more than the last dim of x %s (%lld)", name,
                       (long long)k, sx, (long long)d);
    out->ndim = x->ndim;
    out->dtype = MG_F32;
    for (int i = 0; i < x->ndim; i++) out->shape[i] = x->shape[i];
    return MG_OK;
}

/* Comparisons of the selection (k scans of c) and the row's own work. */
static double topk_flops(const mg_tensor *out, bool backward) {
    double n = (double)mg_numel(out), k = (double)out->attr.i[0];
    double c = out->ndim ? (double)out->shape[out->ndim - 1] : 1.0;
    if (backward) return out->op == &mg_op_topk ? n : 3.0 * n;
    return n * ((k < c ? k : 1.0) + (out->op == &mg_op_topk ? 1.0 : 12.0));
}

/* softmax_topk ----------------------------------------------------------- */

/* y_j = exp(x_j - m) / sum_{i in K} exp(x_i - m) on K, 0 off it, m = the row
 * max. A row that keeps all its finite entries runs softmax.c's loops as
 * they are (the same bits as mg_softmax); a row of -inf only is 0. */
// x: (rows, c) -> y: (rows, c)
static mg_status softmax_topk_forward(mg_tensor *out) {
    const float *x = out->in[0]->data;
    float *y = out->data;
    const int64_t c = out->shape[out->ndim - 1], rows = c ? mg_numel(out) / c : 0;
    const int64_t k = out->attr.i[0];
#pragma omp parallel for schedule(static) num_threads(mg_kernel_threads(mg_numel(out)))
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * c;
        float *yr = y + r * c, m = xr[0];
        threshold t = kth(xr, c, k, true);
        if (t.key == NEG_INF_KEY && t.index == -1) {
            /* every finite entry kept: the softmax (softmax.c) */
            bool any = false;
            for (int64_t j = 0; j < c; j++) any |= order_key(xr[j]) != NEG_INF_KEY;
            if (!any) {
                for (int64_t j = 0; j < c; j++) yr[j] = 0.0f;
                continue;
            }
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
            continue;
        }
#pragma omp simd reduction(max : m)
        for (int64_t j = 1; j < c; j++) m = xr[j] > m ? xr[j] : m;
        double s = 0.0;
        for (int64_t j = 0; j < c; j++) {
            yr[j] = kept(t, order_key(xr[j]), j) ? mg_vexp(xr[j] - m) : 0.0f;
            s += yr[j];
        }
        float inv = (float)(1.0 / s);
        for (int64_t j = 0; j < c; j++) yr[j] *= inv;
    }
    return MG_OK;
}

/* With K fixed, y is the softmax over K (0 off it), whose gradient is
 * dx = y (dy - sum_j dy_j y_j): 0 off K, since y is. The softmax's own
 * backward (mg_softmax_rows_backward); it reads the output. */
const mg_op mg_op_softmax_topk = {
    .name = "softmax_topk",
    .arity = 1,
    .flags = MG_OP_ROWWISE | MG_OP_BWD_OUT | MG_OP_BWD_WRITE,
    .shape = topk_shape,
    .forward = softmax_topk_forward,
    .backward = mg_softmax_rows_backward,
    .flops = topk_flops,
};
MG_REGISTER_OP(mg_op_softmax_topk)

/* topk ------------------------------------------------------------------- */

/* Each row's threshold, saved for backward: 4 floats (16 bytes) a row. */
static size_t topk_aux_size(const mg_tensor *out) {
    int64_t c = out->shape[out->ndim - 1];
    return (size_t)(c ? mg_numel(out) / c : 0) * (sizeof(threshold) / sizeof(float));
}

/* y_j = x_j on K, 0 off it */
// x: (rows, c) -> y: (rows, c), aux: (rows) thresholds
static mg_status topk_forward(mg_tensor *out) {
    const float *x = out->in[0]->data;
    float *y = out->data;
    const int64_t c = out->shape[out->ndim - 1], rows = c ? mg_numel(out) / c : 0;
    const int64_t k = out->attr.i[0];
#pragma omp parallel for schedule(static) num_threads(mg_kernel_threads(mg_numel(out)))
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * c;
        float *yr = y + r * c;
        threshold t = kth(xr, c, k, false);
        memcpy((char *)out->aux + (size_t)r * sizeof t, &t, sizeof t);
        for (int64_t j = 0; j < c; j++) yr[j] = kept(t, order_key(xr[j]), j) ? xr[j] : 0.0f;
    }
    return MG_OK;
}

/* dx_j += dy_j on K, 0 off it (K from x and the saved threshold) */
// dy: (rows, c), x: (rows, c), aux -> dx: (rows, c) +=
static void topk_backward(mg_tensor *out) {
    float *dx = out->in[0]->grad;
    if (!dx) return;
    const float *x = out->in[0]->data, *dy = out->grad;
    const bool write = mg_grad_writes(out, 0);
    const int64_t c = out->shape[out->ndim - 1], rows = c ? mg_numel(out) / c : 0;
#pragma omp parallel for schedule(static) num_threads(mg_kernel_threads(mg_numel(out)))
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * c, *dr = dy + r * c;
        float *gr = dx + r * c;
        threshold t;
        memcpy(&t, (const char *)out->aux + (size_t)r * sizeof t, sizeof t);
        for (int64_t j = 0; j < c; j++) {
            float v = kept(t, order_key(xr[j]), j) ? dr[j] : 0.0f;
            gr[j] = write ? v : gr[j] + v;
        }
    }
}

const mg_op mg_op_topk = {
    .name = "topk",
    .arity = 1,
    .flags = MG_OP_ROWWISE | MG_OP_BWD_IN | MG_OP_BWD_WRITE,
    .shape = topk_shape,
    .aux_size = topk_aux_size,
    .forward = topk_forward,
    .backward = topk_backward,
    .flops = topk_flops,
};
MG_REGISTER_OP(mg_op_topk)

mg_tensor *mg_softmax_topk(mg_graph *g, mg_tensor *x, int k) {
    mg_attr attr = {.i = {k}};
    return mg_apply(g, &mg_op_softmax_topk, 1, &x, &attr);
}
mg_tensor *mg_topk(mg_graph *g, mg_tensor *x, int k) {
    mg_attr attr = {.i = {k}};
    return mg_apply(g, &mg_op_topk, 1, &x, &attr);
}
