/* matmul.c — matrix products, 2-D and batched, through mg_sgemm.
 *
 * c = a @ b;  da += dc @ b^T;  db += a^T @ dc
 * Operands are passed to BLIS by their strides, so a transposed view costs
 * nothing. When b is 2-D and a's batch dims are laid out as one run of rows,
 * the whole batch is one GEMM (m = batch * rows). A batch of tiny products
 * (attention's (1 x 32) @ (32 x 3) per row and head) runs as plain loops
 * split over threads by batch entry: there BLIS's fixed cost per call is many
 * times the arithmetic.
 *
 * Backward stores into a gradient it writes first (MG_OP_BWD_WRITE): BLIS's
 * beta is 0 instead of 1, and where several batch entries sum into one
 * gradient (an operand shared across the batch) the first entry stores and
 * the others add.
 *
 * The weight gradient of a 2-D weight (a^T @ dc, k = the batch's rows) may
 * be computed transposed into the saved buffer and transposed back (see
 * flip_c): BLIS's micro-tile then covers the class dimension with less
 * waste. Each element is the same chain of multiply-adds in the same k
 * order either way, so the bits do not change (tests/test_matmul.c). */
#include <omp.h>
#include <stdio.h>
#if defined(__AVX__)
#include <immintrin.h>
#endif
#include <string.h>

#include "core/gemm.h"
#include "core/op.h"
#include "ops/ops.h"

/* Products with at most this many multiply-adds go through small_gemm. */
#define SMALL_MACS 8192

/* The row form of small_gemm (b's rows contiguous): each row of c is a sum
 * of rows of b, k ascending, vectorised over the columns. Inlined with n a
 * constant for narrow products (attention's three keys), whose rows are too
 * short for a vector loop; with k = 1 too (an outer product, the gradient of
 * a one-row product), b's row stays in registers. */
static inline __attribute__((always_inline)) void
rows_form(int64_t m, int64_t n, int64_t k, const float *restrict a, int64_t rsa, int64_t csa,
          const float *restrict b, int64_t rsb, float *restrict c, int64_t ldc, bool add) {
    if (n <= 4 && k == 1) {
        float bv[4];
        for (int64_t j = 0; j < n; j++) bv[j] = b[j];
        if (add)
            for (int64_t i = 0; i < m; i++)
                for (int64_t j = 0; j < n; j++) c[i * ldc + j] += a[i * rsa] * bv[j];
        else
            for (int64_t i = 0; i < m; i++)
                for (int64_t j = 0; j < n; j++) c[i * ldc + j] = a[i * rsa] * bv[j];
        return;
    }
    for (int64_t i = 0; i < m; i++) {
        const float *ai = a + i * rsa;
        float *ci = c + i * ldc;
        int64_t p = 0;
        if (!add && k == 0)
            for (int64_t j = 0; j < n; j++) ci[j] = 0.0f;
        else if (!add) {
            const float a0 = ai[0];
            for (int64_t j = 0; j < n; j++) ci[j] = a0 * b[j];
            p = 1;
        }
        for (; p < k; p++) {
            const float aip = ai[p * csa], *bp = b + p * rsb;
            for (int64_t j = 0; j < n; j++) ci[j] += aip * bp[j];
        }
    }
}

/* rows_form for n = N, a constant (16 or 32: attention's keys and head
 * width), four rows of c at a time: the four rows stay in registers while p
 * runs and each row of b is read once per four rows, where rows_form loads
 * and stores c at every p. Every element is the same chain of operations as
 * in rows_form (c, or a_i0 b_0j, then + a_ip b_pj for p ascending), so the
 * bits are the same (tests/test_matmul.c). The last m mod 4 rows go through
 * rows_form. */
static inline __attribute__((always_inline)) void
rows_blocked(int64_t m, const int64_t N, int64_t k, const float *restrict a, int64_t rsa,
             int64_t csa, const float *restrict b, int64_t rsb, float *restrict c, int64_t ldc,
             bool add) {
    int64_t i = 0;
    for (; i + 4 <= m; i += 4) {
        float acc[4][32];
        const float *ai = a + i * rsa;
        float *ci = c + i * ldc;
        int64_t p = 0;
        if (add)
            for (int r = 0; r < 4; r++)
                for (int64_t j = 0; j < N; j++) acc[r][j] = ci[r * ldc + j];
        else if (k == 0)
            for (int r = 0; r < 4; r++)
                for (int64_t j = 0; j < N; j++) acc[r][j] = 0.0f;
        else {
            for (int r = 0; r < 4; r++) {
                const float a0 = ai[r * rsa];
                for (int64_t j = 0; j < N; j++) acc[r][j] = a0 * b[j];
            }
            p = 1;
        }
        for (; p < k; p++) {
            const float *bp = b + p * rsb;
            for (int r = 0; r < 4; r++) {
                const float arp = ai[r * rsa + p * csa];
                for (int64_t j = 0; j < N; j++) acc[r][j] += arp * bp[j];
            }
        }
        for (int r = 0; r < 4; r++)
            for (int64_t j = 0; j < N; j++) ci[r * ldc + j] = acc[r][j];
    }
    if (i < m) rows_form(m - i, N, k, a + i * rsa, rsa, csa, b, rsb, c + i * ldc, ldc, add);
}

#if defined(__AVX__)
/* Four elements of the dot form at once, c(i, j..j+3) for x = a's row i and
 * y = b's column j (the next ones csb apart): each column's eight partial
 * sums (p mod 8) are one vector, and the pairwise combination of the dot
 * form is a sum of the two halves and two horizontal adds, which take the
 * four columns together: (s0 + s4) + (s1 + s5) then + ((s2 + s6) + (s3 +
 * s7)). The same operations on each element as the scalar form, so the same
 * bits (tests/test_matmul.c). */
static inline __attribute__((always_inline)) void dots4(const float *restrict x,
                                                        const float *restrict y, int64_t csb,
                                                        int64_t k, float *restrict c, bool add) {
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    int64_t p = 0;
    for (; p + 8 <= k; p += 8) {
        const __m256 xv = _mm256_loadu_ps(x + p);
        s0 = _mm256_add_ps(s0, _mm256_mul_ps(xv, _mm256_loadu_ps(y + p)));
        s1 = _mm256_add_ps(s1, _mm256_mul_ps(xv, _mm256_loadu_ps(y + csb + p)));
        s2 = _mm256_add_ps(s2, _mm256_mul_ps(xv, _mm256_loadu_ps(y + 2 * csb + p)));
        s3 = _mm256_add_ps(s3, _mm256_mul_ps(xv, _mm256_loadu_ps(y + 3 * csb + p)));
    }
#define HALVES(v) _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1))
    const __m128 u01 = _mm_hadd_ps(HALVES(s0), HALVES(s1)),
                 u23 = _mm_hadd_ps(HALVES(s2), HALVES(s3));
#undef HALVES
    float acc[4];
    _mm_storeu_ps(acc, _mm_hadd_ps(u01, u23));
    for (; p < k; p++)
        for (int j = 0; j < 4; j++) acc[j] += x[p] * y[j * csb + p];
    for (int j = 0; j < 4; j++) c[j] = add ? c[j] + acc[j] : acc[j];
}
#endif

/* c(m, n) = a(m, k) @ b(k, n), stored (add false) or added (add true) into
 * c, whose rows are contiguous (row stride ldc). Plain loops in a form the
 * compiler vectorises when the layout allows it, and in a fixed summation
 * order, so results are reproducible and independent of the thread count.
 * With add false, c is never read (and the bits are those of adding into
 * zeros). */
static inline __attribute__((always_inline)) void
small_gemm(int64_t m, int64_t n, int64_t k, const float *restrict a, int64_t rsa, int64_t csa,
           const float *restrict b, int64_t rsb, int64_t csb, float *restrict c, int64_t ldc,
           bool add) {
    if (csb == 1) {
        switch (n) {
        case 1: rows_form(m, 1, k, a, rsa, csa, b, rsb, c, ldc, add); return;
        case 2: rows_form(m, 2, k, a, rsa, csa, b, rsb, c, ldc, add); return;
        case 3: rows_form(m, 3, k, a, rsa, csa, b, rsb, c, ldc, add); return;
        case 4: rows_form(m, 4, k, a, rsa, csa, b, rsb, c, ldc, add); return;
        case 16: rows_blocked(m, 16, k, a, rsa, csa, b, rsb, c, ldc, add); return;
        case 32: rows_blocked(m, 32, k, a, rsa, csa, b, rsb, c, ldc, add); return;
        default: rows_form(m, n, k, a, rsa, csa, b, rsb, c, ldc, add); return;
        }
    }
    if (csa == 1 && rsb == 1) {
        /* k contiguous in both: dot products, eight partial sums (p mod 8)
         * added pairwise, then the tail */
        for (int64_t i = 0; i < m; i++) {
            int64_t j = 0;
#if defined(__AVX__)
            for (; j + 4 <= n; j += 4)
                dots4(a + i * rsa, b + j * csb, csb, k, c + i * ldc + j, add);
#endif
            for (; j < n; j++) {
                const float *x = a + i * rsa, *y = b + j * csb;
                float s[8] = {0};
                int64_t p = 0;
                for (; p + 8 <= k; p += 8)
                    for (int l = 0; l < 8; l++) s[l] += x[p + l] * y[p + l];
                float acc = ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
                for (; p < k; p++) acc += x[p] * y[p];
                c[i * ldc + j] = add ? c[i * ldc + j] + acc : acc;
            }
        }
        return;
    }
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            float acc = 0.0f;
            for (int64_t p = 0; p < k; p++) acc += a[i * rsa + p * csa] * b[p * rsb + j * csb];
            c[i * ldc + j] = add ? c[i * ldc + j] + acc : acc;
        }
}

/* One product: BLIS unless it is tiny. c is contiguous (rows of n). */
static void gemm(int64_t m, int64_t n, int64_t k, const float *a, int64_t rsa, int64_t csa,
                 const float *b, int64_t rsb, int64_t csb, float *c, bool add) {
    if (m * n * k <= SMALL_MACS) small_gemm(m, n, k, a, rsa, csa, b, rsb, csb, c, n, add);
    else mg_sgemm(m, n, k, 1.0f, a, rsa, csa, b, rsb, csb, add ? 1.0f : 0.0f, c, n, 1);
}

/* The share of BLIS's work that is useful when x runs along a micro-tile
 * side of t: x over x rounded up to a multiple of t. */
static double tile_use(int64_t x, int64_t t) { return (double)x / (double)(((x + t - 1) / t) * t); }

/* Whether c(m, n) = a(m, k) @ b(k, n), c's rows contiguous, is better
 * computed as c's column-major form (its transpose, into a scratch buffer)
 * and transposed back. BLIS maps m and n onto its micro-tile by c's storage
 * (mg_sgemm_tile): the MLP's classifier gradient (512 x 97 over k = 4,705
 * rows) has its 97 classes along the 32-row side (97/128 of the tile's
 * work useful) when c is row-major, along the 12-column side (97/108) when
 * it is column-major. Measured on skx (1 thread, CPU time): 12% less time
 * for that product, the two transposes included; but the same flip of the
 * forward product (4,705 x 97, k = 512) costs 7%, because there a, read
 * across its rows (rsa != 1), is packed 32 rows at a time instead of 12, and
 * the transformer's products gain nothing (ratios 1.10 and below). So: a
 * packed along its contiguous axis (rsa == 1), a long k to pay for the
 * transposes, and at least 15% less wasted tile work. */
static bool flip_c(int64_t m, int64_t n, int64_t k, int64_t rsa) {
    if (rsa != 1 || k < 256 || m * n * k <= SMALL_MACS) return false;
    int64_t mr, nr;
    bool rows;
    mg_sgemm_tile(&mr, &nr, &rows);
    /* c row-major: m along mr if the kernel prefers rows, else along nr */
    double row_c = rows ? tile_use(m, mr) * tile_use(n, nr) : tile_use(m, nr) * tile_use(n, mr);
    double col_c = rows ? tile_use(m, nr) * tile_use(n, mr) : tile_use(m, mr) * tile_use(n, nr);
    return col_c >= 1.15 * row_c;
}

/* c(m, n) = a @ b (+ c when add), computed column-major into s (n, m) and
 * transposed into c (rows of n): the flip_c form. */
static void gemm_flipped(int64_t m, int64_t n, int64_t k, const float *a, int64_t rsa, int64_t csa,
                         const float *b, int64_t rsb, int64_t csb, float *c, float *s, bool add) {
    if (add)
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++) s[j * m + i] = c[i * n + j];
    mg_sgemm(m, n, k, 1.0f, a, rsa, csa, b, rsb, csb, add ? 1.0f : 0.0f, s, 1, m);
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) c[i * n + j] = s[j * m + i];
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

/* One operand of a batched product: element (i, j) of batch entry (i0, i1)
 * is at p[i0 * b0 + i1 * b1 + i * rs + j * cs]; b0 = b1 = 0 when the operand
 * is shared by every entry. */
typedef struct {
    const float *p;
    int64_t rs, cs, b0, b1;
} mm_operand;

/* For every batch entry (i0, i1) of d: c(m, n) = x(m, k) @ y(k, n), c's
 * entry at c + i0 * c0 + i1 * c1 with contiguous rows. add false stores into
 * c, true adds. c0 = c1 = 0: every entry sums into the same c (a gradient of
 * an operand shared across the batch), the first storing when add is false;
 * that sum runs in batch order on one thread (BLIS threads a large product
 * itself). Otherwise entries are independent: tiny ones are split over
 * threads in fixed blocks, each computed the same way whatever the thread
 * count. */
static void batched(const mm_dims *d, int64_t m, int64_t n, int64_t k, mm_operand x, mm_operand y,
                    float *c, int64_t c0, int64_t c1, bool add) {
    const int64_t nb = d->bs[0] * d->bs[1], bs1 = d->bs[1];
    if (m == 0 || n == 0) return;
    if (c0 == 0 && c1 == 0) {
        if (nb == 0 && !add) memset(c, 0, (size_t)(m * n) * sizeof *c);
        for (int64_t e = 0; e < nb; e++) {
            int64_t i0 = e / bs1, i1 = e % bs1;
            gemm(m, n, k, x.p + i0 * x.b0 + i1 * x.b1, x.rs, x.cs, y.p + i0 * y.b0 + i1 * y.b1,
                 y.rs, y.cs, c, add || e > 0);
        }
        return;
    }
    if (nb == 0) return;
    if (m * n * k > SMALL_MACS) {
        for (int64_t e = 0; e < nb; e++) {
            int64_t i0 = e / bs1, i1 = e % bs1;
            gemm(m, n, k, x.p + i0 * x.b0 + i1 * x.b1, x.rs, x.cs, y.p + i0 * y.b0 + i1 * y.b1,
                 y.rs, y.cs, c + i0 * c0 + i1 * c1, add);
        }
        return;
    }
    int nt = mg_kernel_threads(nb * m * n * (k + 1));
    if (nt > nb) nt = (int)nb;
#pragma omp parallel num_threads(nt)
    {
        int id = nt > 1 ? omp_get_thread_num() : 0, got = nt > 1 ? omp_get_num_threads() : 1;
        int64_t lo = nb * id / got, hi = nb * (id + 1) / got;
        int64_t i0 = lo / bs1, i1 = lo % bs1;
        for (int64_t e = lo; e < hi; e++) {
            small_gemm(m, n, k, x.p + i0 * x.b0 + i1 * x.b1, x.rs, x.cs,
                       y.p + i0 * y.b0 + i1 * y.b1, y.rs, y.cs, c + i0 * c0 + i1 * c1, n, add);
            if (++i1 == bs1) i1 = 0, i0++;
        }
    }
}

// a: (..., m, k) @ b: (..., k, n) -> c: (..., m, n), c contiguous
static mg_status matmul_forward(mg_tensor *out) {
    const mg_tensor *a = out->in[0], *b = out->in[1];
    mm_dims d = dims_of(out);
    if (b->ndim == 2 && rows_merge(a)) {
        mg_sgemm(d.nb * d.m, d.n, d.k, 1.0f, a->data, RS(a), CS(a), b->data, RS(b), CS(b), 0.0f,
                 out->data, d.n, 1);
        return MG_OK;
    }
    mm_operand x = {a->data, RS(a), CS(a), d.ab[0][0], d.ab[0][1]};
    mm_operand y = {b->data, RS(b), CS(b), d.ab[1][0], d.ab[1][1]};
    batched(&d, d.m, d.n, d.k, x, y, out->data, d.bs[1] * d.m * d.n, d.m * d.n, false);
    return MG_OK;
}

// dc: (..., m, n) -> da (..., m, k) += dc @ b^T ; db (..., k, n) += a^T @ dc
// (stored instead of added where mg_grad_writes)
static void matmul_backward(mg_tensor *out) {
    mg_tensor *a = out->in[0], *b = out->in[1];
    mm_dims d = dims_of(out);
    /* dc and the gradients are contiguous in their tensor's logical shape */
    mm_operand dc = {out->grad, d.n, 1, d.bs[1] * d.m * d.n, d.m * d.n};
    if (a->grad) {
        bool add = !mg_grad_writes(out, 0);
        if (b->ndim == 2) /* da rows merge: da and dc are contiguous */
            mg_sgemm(d.nb * d.m, d.k, d.n, 1.0f, out->grad, d.n, 1, b->data, CS(b), RS(b),
                     add ? 1.0f : 0.0f, a->grad, d.k, 1);
        else {
            mm_operand bt = {b->data, CS(b), RS(b), d.ab[1][0], d.ab[1][1]};
            int64_t g1 = a->ndim > 2 ? d.m * d.k : 0;
            batched(&d, d.m, d.k, d.n, dc, bt, a->grad, d.bs[1] * g1, g1, add);
        }
    }
    if (b->grad) {
        bool add = !mg_grad_writes(out, 1);
        if (b->ndim == 2 && rows_merge(a) && out->aux)
            gemm_flipped(d.k, d.n, d.nb * d.m, a->data, CS(a), RS(a), out->grad, d.n, 1, b->grad,
                         out->aux, add);
        else if (b->ndim == 2 && rows_merge(a))
            mg_sgemm(d.k, d.n, d.nb * d.m, 1.0f, a->data, CS(a), RS(a), out->grad, d.n, 1,
                     add ? 1.0f : 0.0f, b->grad, d.n, 1);
        else {
            mm_operand at = {a->data, CS(a), RS(a), d.ab[0][0], d.ab[0][1]};
            int64_t g1 = b->ndim > 2 ? d.k * d.n : 0;
            batched(&d, d.k, d.n, d.m, at, dc, b->grad, d.bs[1] * g1, g1, add);
        }
    }
}

/* The scratch of the flipped weight gradient (flip_c): b's shape, or none. */
static size_t matmul_aux_size(const mg_tensor *out) {
    const mg_tensor *a = out->in[0], *b = out->in[1];
    mm_dims d = dims_of(out);
    if (!b->requires_grad || b->ndim != 2 || !rows_merge(a) || !flip_c(d.k, d.n, d.nb * d.m, CS(a)))
        return 0;
    return (size_t)(d.k * d.n);
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
    .flags = MG_OP_STRIDED | MG_OP_BWD_IN | MG_OP_BWD_WRITE,
    .shape = matmul_shape,
    .aux_size = matmul_aux_size,
    .forward = matmul_forward,
    .backward = matmul_backward,
    .flops = matmul_flops,
};
MG_REGISTER_OP(mg_op_matmul)

mg_tensor *mg_matmul(mg_graph *g, mg_tensor *a, mg_tensor *b) {
    return mg_apply(g, &mg_op_matmul, 2, (mg_tensor *[]){a, b}, NULL);
}
