/* matmul.c — matrix products, 2-D and batched, through mg_sgemm.
 *
 * c = a @ b;  da += dc @ b^T;  db += a^T @ dc
 * Operands are passed to BLIS by their strides, so a transposed view costs
 * nothing. When b is 2-D and a's batch dims are laid out as one run of rows,
 * the whole batch is one GEMM (m = batch * rows). A batch of tiny products
 * (attention's (3 x 32) @ (32 x 3) per row and head) runs as plain loops:
 * there BLIS's fixed cost per call is many times the arithmetic. */
#include <stdio.h>

#include "core/gemm.h"
#include "core/op.h"
#include "ops/ops.h"

/* Products with at most this many multiply-adds go through small_gemm. */
#define SMALL_MACS 8192

/* c = alpha a b + beta c by plain loops over strided operands; the same
 * summation order every time (k ascending), so results are reproducible. */
static void small_gemm(int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t rsa,
                       int64_t csa, const float *b, int64_t rsb, int64_t csb, float beta, float *c,
                       int64_t rsc, int64_t csc) {
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            float acc = 0.0f;
            for (int64_t p = 0; p < k; p++) acc += a[i * rsa + p * csa] * b[p * rsb + j * csb];
            float *cij = &c[i * rsc + j * csc];
            *cij = beta == 0.0f ? alpha * acc : alpha * acc + beta * *cij;
        }
}

/* One product of a batch: BLIS unless it is tiny. */
static void gemm(int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t rsa,
                 int64_t csa, const float *b, int64_t rsb, int64_t csb, float beta, float *c,
                 int64_t rsc, int64_t csc) {
    if (m * n * k <= SMALL_MACS)
        small_gemm(m, n, k, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc);
    else mg_sgemm(m, n, k, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc);
}

/* Batch structure of a product: up to two leading batch dims. */
typedef struct {
    int64_t nb;              /* number of batch entries */
    int64_t m, k, n;         /* per-entry product sizes */
    int64_t bs[2], ab[2][2]; /* batch shape; a's and b's batch strides (0 if shared) */
    int nbd;                 /* batch dims */
} mm_dims;

static mm_dims dims_of(const mg_tensor *out) {
    const mg_tensor *a = out->in[0], *b = out->in[1];
    mm_dims d = {0};
    d.m = a->shape[a->ndim - 2];
    d.k = a->shape[a->ndim - 1];
    d.n = b->shape[b->ndim - 1];
    d.nbd = out->ndim - 2;
    d.nb = 1;
    for (int i = 0; i < 2; i++) d.bs[i] = 1;
    for (int i = 0; i < d.nbd; i++) {
        d.bs[i] = out->shape[i];
        d.nb *= out->shape[i];
        d.ab[0][i] = a->ndim > 2 ? a->stride[i] : 0;
        d.ab[1][i] = b->ndim > 2 ? b->stride[i] : 0;
    }
    return d;
}

/* True when a's batch dims and rows form one strided run of rows, so the
 * batch can be one GEMM with m = batch * rows. */
static bool rows_merge(const mg_tensor *a) {
    for (int i = a->ndim - 3; i >= 0; i--)
        if (a->stride[i] != a->stride[i + 1] * a->shape[i + 1]) return false;
    return true;
}

static mg_status matmul_shape(mg_tensor *out) {
    const mg_tensor *a = out->in[0], *b = out->in[1];
    char sa[64], sb[64];
    mg_shape_str(a, sa, sizeof sa);
    mg_shape_str(b, sb, sizeof sb);
    if (a->dtype != MG_F32 || b->dtype != MG_F32)
        return mg_fail(MG_ERR_SHAPE, "matmul: operands must be float, got a %s and b %s", sa, sb);
    if (a->ndim < 2 || b->ndim < 2)
        return mg_fail(MG_ERR_SHAPE, "matmul: operands need at least 2 dims, got a %s and b %s", sa,
                       sb);
    if (a->shape[a->ndim - 1] != b->shape[b->ndim - 2])
        return mg_fail(MG_ERR_SHAPE,
                       "matmul: inner dims differ: a %s has %lld columns, b %s has %lld rows", sa,
                       (long long)a->shape[a->ndim - 1], sb, (long long)b->shape[b->ndim - 2]);
    if (a->ndim > 2 && b->ndim > 2) {
        bool same = a->ndim == b->ndim;
        for (int i = 0; same && i < a->ndim - 2; i++) same = a->shape[i] == b->shape[i];
        if (!same) return mg_fail(MG_ERR_SHAPE, "matmul: batch dims differ: a %s, b %s", sa, sb);
    }
    const mg_tensor *batched = a->ndim >= b->ndim ? a : b;
    out->dtype = MG_F32;
    out->ndim = batched->ndim;
    for (int i = 0; i < batched->ndim - 2; i++) out->shape[i] = batched->shape[i];
    out->shape[out->ndim - 2] = a->shape[a->ndim - 2];
    out->shape[out->ndim - 1] = b->shape[b->ndim - 1];
    return MG_OK;
}

#define RS(t) ((t)->stride[(t)->ndim - 2])
#define CS(t) ((t)->stride[(t)->ndim - 1])

/* Offsets of batch entry e in a and b. */
static void batch_offsets(const mm_dims *d, int64_t e, int64_t *oa, int64_t *ob) {
    int64_t i0 = d->nbd == 2 ? e / d->bs[1] : e, i1 = d->nbd == 2 ? e % d->bs[1] : 0;
    *oa = i0 * d->ab[0][0] + i1 * d->ab[0][1];
    *ob = i0 * d->ab[1][0] + i1 * d->ab[1][1];
}

// a: (..., m, k) @ b: (..., k, n) -> c: (..., m, n), c contiguous
static mg_status matmul_forward(mg_tensor *out) {
    const mg_tensor *a = out->in[0], *b = out->in[1];
    mm_dims d = dims_of(out);
    const float *A = a->data, *B = b->data;
    float *C = out->data;
    if (b->ndim == 2 && rows_merge(a)) {
        mg_sgemm(d.nb * d.m, d.n, d.k, 1.0f, A, RS(a), CS(a), B, RS(b), CS(b), 0.0f, C, d.n, 1);
        return MG_OK;
    }
    for (int64_t e = 0; e < d.nb; e++) {
        int64_t oa, ob;
        batch_offsets(&d, e, &oa, &ob);
        gemm(d.m, d.n, d.k, 1.0f, A + oa, RS(a), CS(a), B + ob, RS(b), CS(b), 0.0f,
             C + e * d.m * d.n, d.n, 1);
    }
    return MG_OK;
}

// dc: (..., m, n) -> da (..., m, k) += dc @ b^T ; db (..., k, n) += a^T @ dc
static void matmul_backward(mg_tensor *out) {
    mg_tensor *a = out->in[0], *b = out->in[1];
    mm_dims d = dims_of(out);
    const float *A = a->data, *B = b->data, *dC = out->grad;
    /* gradients are contiguous in the operand's logical shape */
    int64_t ga_batch = a->ndim > 2 ? d.m * d.k : 0, gb_batch = b->ndim > 2 ? d.k * d.n : 0;
    if (a->grad) {
        if (b->ndim == 2) /* da rows merge: da and dc are contiguous */
            mg_sgemm(d.nb * d.m, d.k, d.n, 1.0f, dC, d.n, 1, B, CS(b), RS(b), 1.0f, a->grad, d.k,
                     1);
        else
            for (int64_t e = 0; e < d.nb; e++) {
                int64_t oa, ob;
                batch_offsets(&d, e, &oa, &ob);
                gemm(d.m, d.k, d.n, 1.0f, dC + e * d.m * d.n, d.n, 1, B + ob, CS(b), RS(b), 1.0f,
                     a->grad + e * ga_batch, d.k, 1);
            }
    }
    if (b->grad) {
        if (b->ndim == 2 && rows_merge(a))
            mg_sgemm(d.k, d.n, d.nb * d.m, 1.0f, A, CS(a), RS(a), dC, d.n, 1, 1.0f, b->grad, d.n,
                     1);
        else
            for (int64_t e = 0; e < d.nb; e++) {
                int64_t oa, ob;
                batch_offsets(&d, e, &oa, &ob);
                gemm(d.k, d.n, d.m, 1.0f, A + oa, CS(a), RS(a), dC + e * d.m * d.n, d.n, 1, 1.0f,
                     b->grad + e * gb_batch, d.n, 1);
            }
    }
}

/* 2 m n k per product forward; backward the same again for each operand
 * that takes a gradient */
static double matmul_flops(const mg_tensor *out, bool backward) {
    mm_dims d = dims_of(out);
    double one = 2.0 * (double)d.nb * (double)d.m * (double)d.n * (double)d.k;
    if (!backward) return one;
    return one * ((out->in[0]->grad != NULL) + (out->in[1]->grad != NULL));
}

const mg_op mg_op_matmul = {
    .name = "matmul",
    .arity = 2,
    .flags = MG_OP_STRIDED | MG_OP_BWD_IN,
    .shape = matmul_shape,
    .forward = matmul_forward,
    .backward = matmul_backward,
    .flops = matmul_flops,
};
MG_REGISTER_OP(mg_op_matmul)

mg_tensor *mg_matmul(mg_graph *g, mg_tensor *a, mg_tensor *b) {
    return mg_apply(g, &mg_op_matmul, 2, (mg_tensor *[]){a, b}, NULL);
}
