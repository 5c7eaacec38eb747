/* schatten.c — the Schatten-q penalty of a matrix, ||W||_{S_q}^q = sum_i sigma_i^q,
 * through LAPACK's SVD in double precision (an explicit penalty on a layer's
 * weights: models/harness/penalty.c adds it to the training objective).
 *
 * W: (m, n) row-major is, read as column-major, W^T: (n, m), so it goes to
 * LAPACK with no transpose. With k = min(m, n) and the thin SVD of that
 * matrix, W^T = U S V^T (U: (n, k), V^T: (k, m), both column-major),
 *   W[i, j] = sum_r V^T[r, i] s_r U[j, r],
 * and the (sub)gradient of sum_r s_r^q is
 *   dW[i, j] = sum_r V^T[r, i] (q s_r^(q-1)) U[j, r],
 * i.e. U_W diag(q s^(q-1)) V_W^T in W's own singular vectors. It is the
 * gradient wherever the singular values are distinct and nonzero (repeated
 * ones make the vectors, not the gradient, ambiguous: it stays a function of
 * W there for q >= 1 but the gradient check avoids them).
 *
 * Near sigma = 0. A singular value at or below the float32 noise floor
 * tol = sigma_max * max(m, n) * FLT_EPSILON is zero as far as float32
 * weights can tell, and its singular vectors are rounding noise:
 *   - q = 1: it contributes 0 to the gradient: U V^T restricted to the
 *     nonzero singular values, which is a subgradient of the nuclear norm
 *     (the subdifferential is U V^T + {U_0 M V_0^T : ||M||_2 <= 1}; M = 0);
 *   - q < 1: the penalty is not convex and its derivative q sigma^(q-1)
 *     grows without bound as sigma -> 0. We give the exact derivative down
 *     to tol and 0 at or below it, so one direction's coefficient is at most
 *     q tol^(q-1) (0.5 / sqrt(1.3e-5) ~ 140 for a (256, 113) matrix with
 *     sigma_max = 1, q = 0.5): large but finite. AdamW's normalised step
 *     bounds the move it causes; plain SGD with a large lambda may not.
 *   - q > 1: q sigma^(q-1) -> 0 continuously; the exact value is used.
 * The forward value is always sum_i sigma_i^q over every singular value.
 *
 * No heap allocation per step: everything LAPACK and the backward need is
 * the op's saved (aux) buffer, planned at compile time like any other
 * buffer (core/plan.c), holding doubles (aux is 64-byte aligned): the copy
 * of W that LAPACK overwrites, s, U, V^T, LAPACK's workspace (its size is
 * asked of LAPACK once, when the node is built, and kept in attr.i[1]), its
 * integer workspace and one row of the gradient. LAPACKE's *_work interface
 * in column-major order calls LAPACK directly, with no allocation of its own
 * (the high-level LAPACKE_dgesdd would allocate the workspace on every call).
 *
 * The SVD is divide and conquer (dgesdd: 1.5x faster than dgesvd on the
 * (128, 113) and (512, 97) classifiers of the study); in the rare case it
 * does not converge, the same step falls back on QR iteration (dgesvd), for
 * which the workspace is also sized. */
#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/op.h"
#include "ops/ops.h"

/* attr.i[0]: q (the bits of a double); attr.i[1]: LAPACK's workspace (doubles);
 * attr.i[2]: nonzero takes the fallback (QR iteration) every step, so that
 * tests can check that path too (mg_schatten leaves it 0). */
static double q_of(const mg_tensor *out) {
    double q;
    memcpy(&q, &out->attr.i[0], sizeof q);
    return q;
}

typedef struct {
    int m, n, k; /* W: (m, n); k = min(m, n) */
    double *a;   /* (n, m) column-major: W^T, overwritten by LAPACK */
    double *s;   /* (k) singular values, descending */
    double *u;   /* (n, k) column-major: U of W^T (= V of W) */
    double *vt;  /* (k, m) column-major: V^T of W^T (= U^T of W) */
    double *work, *row;
    lapack_int *iwork; /* (8 k) */
    int lwork;
} layout;

/* The saved buffer's parts, in doubles from its start: a (n m), s (k),
 * u (n k), vt (k m), work (lwork), row (n), then iwork (8 k ints). */
static layout layout_of(const mg_tensor *out, double *base) {
    layout L;
    L.m = (int)out->in[0]->shape[0];
    L.n = (int)out->in[0]->shape[1];
    L.k = L.m < L.n ? L.m : L.n;
    L.lwork = (int)out->attr.i[1];
    size_t mn = (size_t)L.m * (size_t)L.n, k = (size_t)L.k;
    L.a = base;
    L.s = L.a + mn;
    L.u = L.s + k;
    L.vt = L.u + (size_t)L.n * k;
    L.work = L.vt + k * (size_t)L.m;
    L.row = L.work + (size_t)L.lwork;
    L.iwork = (lapack_int *)(void *)(L.row + L.n);
    return L;
}
static size_t schatten_aux_size(const mg_tensor *out) {
    size_t m = (size_t)out->in[0]->shape[0], n = (size_t)out->in[0]->shape[1];
    size_t k = m < n ? m : n;
    size_t iwork = (8 * k * sizeof(lapack_int) + sizeof(double) - 1) / sizeof(double);
    size_t doubles = m * n + k + n * k + k * m + (size_t)out->attr.i[1] + n + iwork;
    return doubles * (sizeof(double) / sizeof(float)); /* aux_size counts floats */
}

static mg_status schatten_shape(mg_tensor *out) {
    const mg_tensor *w = out->in[0];
    char sw[64];
    double q = q_of(out);
    if (!(q > 0) || !isfinite(q))
        return mg_fail(MG_ERR_ARG,
                       "schatten: q must be a finite number > 0, got %g (for q <= 0, "
                       "sum sigma_i^q is no penalty: q = 0 counts the nonzero singular values, "
                       "the rank, whose gradient is 0 almost everywhere, and q < 0 grows "
                       "without bound as a singular value shrinks to 0)",
                       q);
    if (w->dtype != MG_F32 || w->ndim != 2)
        return mg_fail(MG_ERR_SHAPE, "schatten: input must be a 2-D float matrix, got %s%s",
                       w->dtype != MG_F32 ? "an int tensor " : "", mg_shape_str(w, sw, sizeof sw));
    if (w->shape[0] < 1 || w->shape[1] < 1 || w->shape[0] * w->shape[1] > INT32_MAX)
        return mg_fail(MG_ERR_SHAPE,
                       "schatten: the matrix must have at least one row and column and at most "
                       "%d elements (LAPACK's index), got %s",
                       INT32_MAX, mg_shape_str(w, sw, sizeof sw));
    /* LAPACK's workspace for this shape, enough for either SVD: a query
     * (lwork = -1) reads no array and allocates nothing. */
    lapack_int M = (lapack_int)w->shape[1], N = (lapack_int)w->shape[0];
    lapack_int K = M < N ? M : N, idummy = 0;
    double dummy = 0, dd = 0, qr = 0;
    lapack_int info = LAPACKE_dgesdd_work(LAPACK_COL_MAJOR, 'S', M, N, &dummy, M, &dummy, &dummy, M,
                                          &dummy, K, &dd, -1, &idummy);
    if (!info)
        info = LAPACKE_dgesvd_work(LAPACK_COL_MAJOR, 'S', 'S', M, N, &dummy, M, &dummy, &dummy, M,
                                   &dummy, K, &qr, -1);
    if (info != 0)
        return mg_fail(MG_ERR_STATE, "schatten: LAPACK's workspace query failed (info %d)",
                       (int)info);
    /* at least dgesvd's documented minimum, max(3 K + max(M, N), 5 K) */
    double least = 3.0 * K + (M > N ? M : N);
    out->attr.i[1] = (int64_t)fmax(fmax(dd, qr), fmax(least, 5.0 * K));
    out->ndim = 0;
    out->dtype = MG_F32;
    return MG_OK;
}

// W: (m, n) -> y: () = sum_i sigma_i(W)^q   (aux keeps s, U, V^T for backward)
static mg_status schatten_forward(mg_tensor *out) {
    const mg_tensor *tw = out->in[0];
    /* doubles in a float buffer: the planner aligns every buffer to 64 bytes */
    if ((uintptr_t)out->aux % _Alignof(double))
        return mg_fail(MG_ERR_STATE, "schatten: saved buffer is not aligned for doubles");
    layout L = layout_of(out, (double *)(void *)out->aux);
    const float *w = tw->data;
    const size_t mn = (size_t)L.m * (size_t)L.n;
    for (size_t e = 0; e < mn; e++) {
        if (!isfinite(w[e]))
            return mg_fail(MG_ERR_NUMERIC, "schatten: %s[%zu, %zu] is not finite (%g)", tw->name,
                           e / (size_t)L.n, e % (size_t)L.n, (double)w[e]);
        L.a[e] = w[e]; /* row-major W is column-major W^T */
    }
    lapack_int info = out->attr.i[2]
                          ? 1
                          : LAPACKE_dgesdd_work(LAPACK_COL_MAJOR, 'S', L.n, L.m, L.a, L.n, L.s, L.u,
                                                L.n, L.vt, L.k, L.work, L.lwork, L.iwork);
    if (info > 0) { /* divide and conquer did not converge: QR iteration, on a fresh copy */
        for (size_t e = 0; e < mn; e++) L.a[e] = w[e];
        info = LAPACKE_dgesvd_work(LAPACK_COL_MAJOR, 'S', 'S', L.n, L.m, L.a, L.n, L.s, L.u, L.n,
                                   L.vt, L.k, L.work, L.lwork);
    }
    if (info > 0)
        return mg_fail(MG_ERR_NUMERIC, "schatten: the SVD of %s (%d x %d) did not converge",
                       tw->name, L.m, L.n);
    if (info < 0)
        return mg_fail(MG_ERR_STATE, "schatten: LAPACK's SVD rejected argument %d", (int)-info);
    double q = q_of(out), sum = 0;
    for (int r = 0; r < L.k; r++) {
        L.s[r] = fmax(L.s[r], 0.0); /* LAPACK returns s >= 0; keep it so */
        sum += pow(L.s[r], q);
    }
    mg_f32(out)[0] = (float)sum;
    return MG_OK;
}

// dy: () -> dW: (m, n) += dy * U_W diag(q s^(q-1)) V_W^T   (from aux alone)
static void schatten_backward(mg_tensor *out) {
    mg_tensor *tw = out->in[0];
    if (!tw->grad) return;
    layout L = layout_of(out, (double *)(void *)out->aux);
    double q = q_of(out), dy = out->grad[0];
    double tol = L.s[0] * (double)(L.m > L.n ? L.m : L.n) * FLT_EPSILON;
    /* the coefficients, over s (which backward no longer needs as such) */
    for (int r = 0; r < L.k; r++) {
        double s = L.s[r];
        L.s[r] = q > 1 || s > tol ? dy * q * pow(s, q - 1) : 0.0; /* see the file's comment */
    }
    bool write = mg_grad_writes(out, 0);
    for (int i = 0; i < L.m; i++) {
        for (int j = 0; j < L.n; j++) L.row[j] = 0;
        for (int r = 0; r < L.k; r++) {
            double c = L.s[r] * L.vt[(size_t)r + (size_t)i * (size_t)L.k];
            if (c == 0) continue;
            const double *u = L.u + (size_t)r * (size_t)L.n;
            for (int j = 0; j < L.n; j++) L.row[j] += c * u[j];
        }
        float *g = tw->grad + (size_t)i * (size_t)L.n;
        if (write)
            for (int j = 0; j < L.n; j++) g[j] = (float)L.row[j];
        else
            for (int j = 0; j < L.n; j++) g[j] += (float)L.row[j];
    }
}

/* Golub and Van Loan's count for the thin SVD with both factors
 * (6 big k^2 + 20 k^3), and the backward's rank-k product (2 m n k). */
static double schatten_flops(const mg_tensor *out, bool backward) {
    double m = (double)out->in[0]->shape[0], n = (double)out->in[0]->shape[1];
    double k = m < n ? m : n, big = m < n ? n : m;
    return backward ? 2 * m * n * k : 6 * big * k * k + 20 * k * k * k;
}

/* y = sum_i sigma_i(W)^q (q > 0);  dW += dy U diag(q sigma^(q-1)) V^T. Backward
 * reads only its saved buffer (neither W nor y); it is no elementwise or
 * row-wise op, so the graph passes leave it as written. */
const mg_op mg_op_schatten = {
    .name = "schatten",
    .arity = 1,
    .flags = MG_OP_BWD_WRITE,
    .shape = schatten_shape,
    .aux_size = schatten_aux_size,
    .forward = schatten_forward,
    .backward = schatten_backward,
    .flops = schatten_flops,
};
MG_REGISTER_OP(mg_op_schatten)

mg_tensor *mg_schatten(mg_graph *g, mg_tensor *w, double q) {
    mg_attr attr;
    memset(&attr, 0, sizeof attr);
    memcpy(&attr.i[0], &q, sizeof q);
    return mg_apply(g, &mg_op_schatten, 1, &w, &attr);
}
