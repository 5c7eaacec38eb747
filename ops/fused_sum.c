/* fused_sum.c — a sum of gathered rows, full tensors and repeated blocks,
 * optionally through a ReLU, in one pass over the output.
 *
 *   y = act( sum_g table_g[idx_g]  +  sum_f x_f  +  sum_b bias_b )
 * where each gather term has the output's shape, each full term x_f too, and
 * each bias_b is a block of the output's trailing dims repeated along the
 * leading ones (a bias row, a position table). The pass in pass_fuse.c makes
 * it from chains of add (and a ReLU on top) that the models write as
 * separate ops: the output is written once, instead of once per add, and
 * backward reads dy and y once, scatter-adding into the small tables and
 * summing into the blocks, instead of a pass per op.
 *
 * Inputs: a gather term is two inputs (table, idx) marked by bit k of
 * attr.i[1] on the table's position k; any other input is a full term or a
 * block, told apart by its size. attr.i[0] = 1 for a ReLU. Backward:
 *   dp = dy * (y > 0) (or dy);  dx_f = dp;  dtable_g[idx_g[r]] += dp[r];
 *   dbias_b = the sum of dp over the repeats. */
#include <omp.h>
#include <stdio.h>
#include <string.h>

#include "core/gemm.h"
#include "core/op.h"
#include "ops/ops.h"

typedef enum { TERM_GATHER, TERM_FULL, TERM_BLOCK } term_kind;

typedef struct {
    term_kind kind;
    int in;       /* input position (the table's for a gather) */
    int64_t size; /* elements of a block */
} term;

static bool is_gather_at(const mg_tensor *out, int k) { return (out->attr.i[1] >> k) & 1; }

/* Terms of out; returns their count. */
static int terms_of(const mg_tensor *out, term *ts) {
    int n = 0;
    int64_t total = mg_numel(out);
    for (int k = 0; k < out->n_in; k++) {
        if (is_gather_at(out, k)) {
            ts[n++] = (term){TERM_GATHER, k, 0};
            k++; /* its index */
        } else {
            int64_t m = mg_numel(out->in[k]);
            ts[n++] = (term){m == total ? TERM_FULL : TERM_BLOCK, k, m};
        }
    }
    return n;
}

static mg_status fused_shape(mg_tensor *out) {
    char s0[64], s1[64];
    int ref = -1; /* the input that fixes the output shape */
    for (int k = 0; k < out->n_in; k++) {
        const mg_tensor *x = out->in[k];
        if (is_gather_at(out, k)) {
            const mg_tensor *idx = k + 1 < out->n_in ? out->in[k + 1] : NULL;
            if (x->dtype != MG_F32 || x->ndim != 2 || !idx || idx->dtype != MG_I32 ||
                idx->ndim > MG_MAX_DIMS - 1)
                return mg_fail(MG_ERR_SHAPE,
                               "fused_sum: a gather term needs a 2-D float table and int32 "
                               "indices, got %s and %s",
                               mg_shape_str(x, s0, sizeof s0),
                               idx ? mg_shape_str(idx, s1, sizeof s1) : "nothing");
            if (ref < 0) {
                out->ndim = idx->ndim + 1;
                for (int j = 0; j < idx->ndim; j++) out->shape[j] = idx->shape[j];
                out->shape[idx->ndim] = x->shape[1];
                ref = k;
            }
            k++;
            continue;
        }
        if (x->dtype != MG_F32)
            return mg_fail(MG_ERR_SHAPE, "fused_sum: terms must be float, got an int tensor %s",
                           mg_shape_str(x, s0, sizeof s0));
    }
    if (ref < 0) { /* no gather: the largest input is a full term */
        for (int k = 0; k < out->n_in; k++)
            if (ref < 0 || mg_numel(out->in[k]) > mg_numel(out->in[ref])) ref = k;
        out->ndim = out->in[ref]->ndim;
        memcpy(out->shape, out->in[ref]->shape, sizeof out->shape);
    }
    out->dtype = MG_F32;
    int64_t total = mg_numel(out), d = out->ndim ? out->shape[out->ndim - 1] : 1;
    for (int k = 0; k < out->n_in; k++) {
        const mg_tensor *x = out->in[k];
        bool ok;
        if (is_gather_at(out, k)) {
            ok = x->shape[1] == d && mg_numel(out->in[k + 1]) * d == total;
            k++;
        } else {
            int64_t m = mg_numel(x);
            ok =
                m == total || (m > 0 && m % d == 0 && total % m == 0 && x->shape[x->ndim - 1] == d);
        }
        if (!ok)
            return mg_fail(MG_ERR_SHAPE,
                           "fused_sum: term %d %s does not fit the output %s (a gather, a full "
                           "tensor or a block of trailing rows)",
                           k, mg_shape_str(x, s0, sizeof s0), mg_shape_str(out, s1, sizeof s1));
    }
    return MG_OK;
}

// terms -> y: (rows, d), each row the sum of its terms' rows, then act
static mg_status fused_forward(mg_tensor *out) {
    term ts[MG_MAX_INPUTS];
    int nt = terms_of(out, ts);
    int64_t total = mg_numel(out), d = out->shape[out->ndim - 1], rows = total / d;
    for (int t = 0; t < nt; t++) {
        if (ts[t].kind != TERM_GATHER) continue;
        const int32_t *idx = mg_i32(out->in[ts[t].in + 1]);
        int64_t v = out->in[ts[t].in]->shape[0];
        for (int64_t r = 0; r < rows; r++)
            if (idx[r] < 0 || idx[r] >= v)
                return mg_fail(MG_ERR_ARG, "fused_sum: index %d at row %lld is outside [0, %lld)",
                               (int)idx[r], (long long)r, (long long)v);
    }
    float *y = out->data;
    bool relu = out->attr.i[0] == 1;
#pragma omp parallel for schedule(static) num_threads(mg_kernel_threads(total))
    for (int64_t r = 0; r < rows; r++) {
        float *restrict yr = y + r * d;
        for (int t = 0; t < nt; t++) {
            const mg_tensor *x = out->in[ts[t].in];
            const float *restrict src;
            if (ts[t].kind == TERM_GATHER)
                src = mg_f32(x) + (int64_t)mg_i32(out->in[ts[t].in + 1])[r] * d;
            else if (ts[t].kind == TERM_FULL) src = mg_f32(x) + r * d;
            else src = mg_f32(x) + (r * d) % ts[t].size;
            if (t == 0)
                for (int64_t j = 0; j < d; j++) yr[j] = src[j];
            else
                for (int64_t j = 0; j < d; j++) yr[j] += src[j];
        }
        if (relu)
            for (int64_t j = 0; j < d; j++) yr[j] = yr[j] > 0.0f ? yr[j] : 0.0f;
    }
    return MG_OK;
}

/* Threads split the rows; each sums its rows' gradients for the tables and
 * blocks into its own copy of them in the saved buffer, and the copies are
 * added in thread order (deterministic for a thread count). */
#define FUSED_MAX_THREADS 8

/* One copy of the tables' and blocks' gradients: off[t] is term t's place
 * in it; returns its size in floats. */
static int64_t copy_layout(const mg_tensor *out, const term *ts, int nt, int64_t *off) {
    int64_t n = 0;
    for (int t = 0; t < nt; t++) {
        off[t] = n;
        if (ts[t].kind != TERM_FULL) n += mg_numel(out->in[ts[t].in]);
    }
    return n;
}

static size_t fused_aux_size(const mg_tensor *out) {
    term ts[MG_MAX_INPUTS];
    int64_t off[MG_MAX_INPUTS];
    int nt = terms_of(out, ts);
    return (size_t)(FUSED_MAX_THREADS * copy_layout(out, ts, nt, off));
}

// dy: (rows, d), y -> dfull = dp; dtable[idx[r]] += dp[r]; dblock += dp's repeats
static void fused_backward(mg_tensor *out) {
    term ts[MG_MAX_INPUTS];
    int nt = terms_of(out, ts);
    int64_t total = mg_numel(out), d = out->shape[out->ndim - 1], rows = total / d;
    int64_t off[MG_MAX_INPUTS], small = copy_layout(out, ts, nt, off);
    bool relu = out->attr.i[0] == 1;
    const float *dy = out->grad, *y = out->data;
    int nth = mg_kernel_threads(total);
    if (nth > FUSED_MAX_THREADS) nth = FUSED_MAX_THREADS;
#pragma omp parallel num_threads(nth)
    {
        int id = nth > 1 ? omp_get_thread_num() : 0;
        float *part = out->aux + id * small;
        memset(part, 0, (size_t)small * sizeof *part);
        float dp[512];
        for (int64_t r = rows * id / nth; r < rows * (id + 1) / nth; r++) {
            for (int64_t c0 = 0; c0 < d; c0 += 512) { /* dp in chunks that stay in L1 */
                int64_t cw = d - c0 < 512 ? d - c0 : 512;
                const float *dr = dy + r * d + c0, *yr = y + r * d + c0;
                if (relu)
                    for (int64_t j = 0; j < cw; j++) dp[j] = yr[j] > 0.0f ? dr[j] : 0.0f;
                else
                    for (int64_t j = 0; j < cw; j++) dp[j] = dr[j];
                for (int t = 0; t < nt; t++) {
                    mg_tensor *x = out->in[ts[t].in];
                    if (!x->grad) continue;
                    float *restrict g;
                    if (ts[t].kind == TERM_GATHER)
                        g = part + off[t] + (int64_t)mg_i32(out->in[ts[t].in + 1])[r] * d + c0;
                    else if (ts[t].kind == TERM_FULL) g = x->grad + r * d + c0;
                    else g = part + off[t] + (r * d) % ts[t].size + c0;
                    if (ts[t].kind == TERM_FULL && mg_grad_writes(out, ts[t].in))
                        for (int64_t j = 0; j < cw; j++) g[j] = dp[j];
                    else
                        for (int64_t j = 0; j < cw; j++) g[j] += dp[j];
                }
            }
        }
    }
    /* the copies, added in thread order into the tables' and blocks' gradients */
    for (int t = 0; t < nt; t++) {
        mg_tensor *x = out->in[ts[t].in];
        if (ts[t].kind == TERM_FULL || !x->grad) continue;
        int64_t m = mg_numel(x);
        bool write = mg_grad_writes(out, ts[t].in);
        float *g = x->grad;
        const float *p0 = out->aux + off[t];
#pragma omp parallel for schedule(static) num_threads(mg_kernel_threads(m))
        for (int64_t j = 0; j < m; j++) {
            float s = p0[j];
            for (int k = 1; k < nth; k++) s += p0[k * small + j];
            g[j] = write ? s : g[j] + s;
        }
    }
}

static double fused_flops(const mg_tensor *out, bool backward) {
    term ts[MG_MAX_INPUTS];
    int nt = terms_of(out, ts);
    double n = (double)mg_numel(out);
    return n * (backward ? nt : nt - 1 + (out->attr.i[0] == 1));
}

/* Backward reads the indices (inputs) and y (for the ReLU). */
const mg_op mg_op_fused_sum = {
    .name = "fused_sum",
    .arity = 0,
    .flags = MG_OP_BWD_IN | MG_OP_BWD_OUT | MG_OP_BWD_WRITE,
    .shape = fused_shape,
    .aux_size = fused_aux_size,
    .forward = fused_forward,
    .backward = fused_backward,
    .flops = fused_flops,
};
MG_REGISTER_OP(mg_op_fused_sum)

mg_tensor *mg_fused_sum(mg_graph *g, int n, const mg_sum_term *terms, bool relu) {
    mg_tensor *in[MG_MAX_INPUTS];
    mg_attr attr = {.i = {relu ? 1 : 0, 0}};
    int k = 0;
    for (int t = 0; t < n; t++) {
        if (k + (terms[t].idx ? 2 : 1) > MG_MAX_INPUTS) {
            mg_graph_fail(g, MG_ERR_ARG, "fused_sum: more than %d inputs", MG_MAX_INPUTS);
            return NULL;
        }
        if (terms[t].idx) attr.i[1] |= 1 << k;
        in[k++] = terms[t].t;
        if (terms[t].idx) in[k++] = terms[t].idx;
    }
    return mg_apply(g, &mg_op_fused_sum, k, in, &attr);
}
