/* locking.c — the locking share, its pullback basis and the orthogonal part
 * (see locking.h), through LAPACKE in double precision. */
#include "analysis/locking.h"

#include <lapacke.h>
#include <math.h>
#include <string.h>

#include "core/alloc.h"

mg_status mg_locking_span(const double *b, int d, int k, double **q, int *rank) {
    static const char fn[] = "mg_locking_span";
    if (!q || !rank) return mg_fail(MG_ERR_ARG, "%s: q and rank must not be NULL", fn);
    *q = NULL;
    *rank = 0;
    if (!b || d < 1 || k < 1)
        return mg_fail(MG_ERR_ARG, "%s: need a d x k matrix with d, k >= 1, got %d x %d", fn, d, k);
    int m = d < k ? d : k;
    double *a = mg_malloc((size_t)d * (size_t)k * sizeof *a);
    double *u = mg_malloc((size_t)d * (size_t)m * sizeof *u);
    double *sv = mg_malloc((size_t)m * sizeof *sv);
    double *vt = mg_malloc((size_t)m * (size_t)k * sizeof *vt);
    if (!a || !u || !sv || !vt) {
        mg_free(a), mg_free(u), mg_free(sv), mg_free(vt);
        return mg_fail(MG_ERR_NOMEM, "%s: no memory for a %d x %d SVD", fn, d, k);
    }
    for (int64_t i = 0; i < (int64_t)d * k; i++) {
        if (!isfinite(b[i])) {
            mg_free(a), mg_free(u), mg_free(sv), mg_free(vt);
            return mg_fail(MG_ERR_NUMERIC, "%s: entry %lld is not finite", fn, (long long)i);
        }
        a[i] = b[i];
    }
    lapack_int info = LAPACKE_dgesdd(LAPACK_COL_MAJOR, 'S', d, k, a, d, sv, u, d, vt, m);
    mg_free(a);
    mg_free(vt);
    if (info != 0) {
        mg_free(u), mg_free(sv);
        return mg_fail(MG_ERR_NUMERIC, "%s: the SVD of a %d x %d matrix failed (%d)", fn, d, k,
                       (int)info);
    }
    double tol = sv[0] * (d > k ? d : k) * 1e-7;
    int r = 0;
    while (r < m && sv[r] > tol) r++;
    mg_free(sv);
    if (r == 0) {
        mg_free(u);
        return MG_OK;
    }
    *q = u; /* its first r columns, column-major with leading dimension d */
    *rank = r;
    return MG_OK;
}

mg_status mg_locking_pullback(const float *u, int classes, int h, int64_t urs, int64_t ucs, int k,
                              const float *const *w1, const int64_t *w1rs, const int64_t *w1cs,
                              int n_blocks, int d, double **q, int *rank) {
    return mg_locking_pullbacks(u, classes, h, urs, ucs, &k, 1, w1, w1rs, w1cs, n_blocks, d, q,
                                rank);
}

mg_status mg_locking_pullbacks(const float *u, int classes, int h, int64_t urs, int64_t ucs,
                               const int *ks, int nk, const float *const *w1, const int64_t *w1rs,
                               const int64_t *w1cs, int n_blocks, int d, double **q, int *rank) {
    static const char fn[] = "mg_locking_pullback";
    if (!q || !rank || !ks || nk < 1)
        return mg_fail(MG_ERR_ARG, "%s: q, rank and at least one k must be given", fn);
    for (int i = 0; i < nk; i++) q[i] = NULL, rank[i] = 0;
    int mn = classes < h ? classes : h, k = 0;
    for (int i = 0; i < nk; i++) {
        if (ks[i] < 1 || ks[i] > mn)
            return mg_fail(MG_ERR_ARG, "%s: k = %d must be in 1..%d for a %d x %d classifier", fn,
                           ks[i], mn, classes, h);
        if (ks[i] > k) k = ks[i];
    }
    if (!u || classes < 1 || h < 1)
        return mg_fail(MG_ERR_ARG, "%s: need a classifier of >= 1 class and width", fn);
    if (!w1 || !w1rs || !w1cs || n_blocks < 1 || d < 1)
        return mg_fail(MG_ERR_ARG, "%s: need >= 1 first-layer block of width d >= 1", fn);
    for (int j = 0; j < n_blocks; j++)
        if (!w1[j]) return mg_fail(MG_ERR_ARG, "%s: first-layer block %d is NULL", fn, j);
    /* U's right singular vectors: U is classes x h; LAPACK column-major. */
    double *a = mg_malloc((size_t)classes * (size_t)h * sizeof *a);
    double *vt = mg_malloc((size_t)mn * (size_t)h * sizeof *vt);
    double *sv = mg_malloc((size_t)mn * sizeof *sv);
    double *uu = mg_malloc((size_t)classes * (size_t)mn * sizeof *uu);
    double *b = mg_malloc((size_t)d * (size_t)k * (size_t)n_blocks * sizeof *b);
    if (!a || !vt || !sv || !b || !uu) {
        mg_free(a), mg_free(vt), mg_free(sv), mg_free(b), mg_free(uu);
        return mg_fail(MG_ERR_NOMEM, "%s: no memory for the classifier's SVD", fn);
    }
    for (int j = 0; j < h; j++)
        for (int i = 0; i < classes; i++) {
            float v = u[(int64_t)i * urs + (int64_t)j * ucs];
            if (!isfinite(v)) {
                mg_free(a), mg_free(vt), mg_free(sv), mg_free(b), mg_free(uu);
                return mg_fail(MG_ERR_NUMERIC, "%s: classifier[%d, %d] is not finite", fn, i, j);
            }
            a[(size_t)j * classes + i] = v;
        }
    lapack_int info =
        LAPACKE_dgesdd(LAPACK_COL_MAJOR, 'S', classes, h, a, classes, sv, uu, classes, vt, mn);
    mg_free(a);
    mg_free(uu);
    mg_free(sv);
    if (info != 0) {
        mg_free(vt), mg_free(b);
        return mg_fail(MG_ERR_NUMERIC, "%s: the classifier's SVD failed (%d)", fn, (int)info);
    }
    /* Column (j, t) of B: W1_jᵀ v_t, v_t = row t of Vᵀ (stored vt[t + i * mn]).
     * V's first k columns are laid out (h x k) row-major first, so the sums
     * run as axpys over t: contiguous, and vectorised without reordering
     * any one sum (each B entry still sums over i in order). */
    double *v = mg_malloc((size_t)h * (size_t)k * sizeof *v), *acc = NULL;
    if (v) acc = mg_malloc((size_t)k * sizeof *acc);
    if (!v || !acc) {
        mg_free(v), mg_free(acc), mg_free(vt), mg_free(b);
        return mg_fail(MG_ERR_NOMEM, "%s: no memory for the pullback", fn);
    }
    for (int i = 0; i < h; i++)
        for (int t = 0; t < k; t++) v[(size_t)i * k + t] = vt[t + (size_t)i * mn];
    for (int j = 0; j < n_blocks; j++)
        for (int c = 0; c < d; c++) {
            for (int t = 0; t < k; t++) acc[t] = 0.0;
            for (int i = 0; i < h; i++) {
                const double w = w1[j][(int64_t)i * w1rs[j] + (int64_t)c * w1cs[j]];
                const double *vi = v + (size_t)i * k;
                for (int t = 0; t < k; t++) acc[t] += w * vi[t];
            }
            for (int t = 0; t < k; t++) b[((size_t)j * k + t) * d + c] = acc[t];
        }
    mg_free(v);
    mg_free(acc);
    mg_free(vt);
    /* each k's basis spans the columns t < k of every block */
    double *sub = mg_malloc((size_t)d * (size_t)k * (size_t)n_blocks * sizeof *sub);
    mg_status st = sub ? MG_OK : mg_fail(MG_ERR_NOMEM, "%s: no memory for the pullback", fn);
    for (int i = 0; !st && i < nk; i++) {
        for (int j = 0; j < n_blocks; j++)
            memcpy(sub + (size_t)j * ks[i] * d, b + (size_t)j * k * d,
                   (size_t)ks[i] * d * sizeof *sub);
        st = mg_locking_span(sub, d, ks[i] * n_blocks, &q[i], &rank[i]);
    }
    if (st)
        for (int i = 0; i < nk; i++) mg_free(q[i]), q[i] = NULL, rank[i] = 0;
    mg_free(sub);
    mg_free(b);
    return st;
}

/* ||row Q||^2 summed over rows, and ||G||_F^2. */
static void project(const float *g, int n, int d, int64_t rs, int64_t cs, const double *q, int r,
                    double *inside, double *total) {
    double in = 0.0, tot = 0.0;
    for (int i = 0; i < n; i++) {
        for (int c = 0; c < d; c++) {
            double v = g[(int64_t)i * rs + (int64_t)c * cs];
            tot += v * v;
        }
        for (int t = 0; t < r; t++) {
            double s = 0.0;
            for (int c = 0; c < d; c++)
                s += (double)g[(int64_t)i * rs + (int64_t)c * cs] * q[(size_t)t * d + c];
            in += s * s;
        }
    }
    *inside = in;
    *total = tot;
}

double mg_locking_share(const float *g, int n, int d, int64_t rs, int64_t cs, const double *q,
                        int r) {
    if (!g || n < 1 || d < 1 || r < 0 || (r > 0 && !q)) return NAN;
    double in, tot;
    project(g, n, d, rs, cs, q, r, &in, &tot);
    if (!(tot > 0.0)) return NAN;
    return sqrt(fmin(1.0, in / tot));
}

double mg_locking_orthogonal(const float *e, int n, int d, int64_t rs, int64_t cs, const double *q,
                             int r) {
    if (!e || n < 1 || d < 1 || r < 0 || (r > 0 && !q)) return NAN;
    double in, tot;
    project(e, n, d, rs, cs, q, r, &in, &tot);
    return sqrt(fmax(0.0, tot - in));
}

double mg_locking_random_share(int r, int d) {
    if (d < 1 || r < 0) return NAN;
    return sqrt((double)(r < d ? r : d) / (double)d);
}
