/* linalg.c — singular values, ranks, Schatten norms and principal angles
 * through LAPACKE in double precision (see linalg.h). */
#include "analysis/linalg.h"

#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <string.h>

#include "core/alloc.h"

/* Copies W (m, n; strides rs, cs) into a column-major double array, LAPACK's
 * native layout (LAPACKE would otherwise transpose a row-major copy again),
 * rejecting NaN/Inf, on which LAPACK's iterations give no meaningful answer. */
static mg_status load_colmajor(const float *w, int m, int n, int64_t rs, int64_t cs, const char *fn,
                               const char *name, double **out) {
    if (!w) return mg_fail(MG_ERR_ARG, "%s: %s is NULL", fn, name);
    if (m < 1 || n < 1)
        return mg_fail(MG_ERR_ARG, "%s: %s must have at least one row and column, got %d x %d", fn,
                       name, m, n);
    double *a = mg_malloc((size_t)m * (size_t)n * sizeof *a);
    if (!a)
        return mg_fail(MG_ERR_NOMEM, "%s: cannot allocate a %d x %d copy of %s", fn, m, n, name);
    for (int j = 0; j < n; j++) {
        for (int i = 0; i < m; i++) {
            float v = w[(int64_t)i * rs + (int64_t)j * cs];
            if (!isfinite(v)) {
                mg_free(a);
                return mg_fail(MG_ERR_NUMERIC, "%s: %s[%d, %d] is not finite (%g)", fn, name, i, j,
                               (double)v);
            }
            a[(size_t)j * (size_t)m + (size_t)i] = v;
        }
    }
    *out = a;
    return MG_OK;
}

/* Singular values only (divide and conquer, no vectors). a is overwritten. */
static mg_status svals(double *a, int m, int n, double *sv, const char *fn) {
    double dummy = 0.0;
    lapack_int info = LAPACKE_dgesdd(LAPACK_COL_MAJOR, 'N', m, n, a, m, sv, &dummy, 1, &dummy, 1);
    if (info > 0)
        return mg_fail(MG_ERR_NUMERIC, "%s: the SVD of a %d x %d matrix did not converge", fn, m,
                       n);
    if (info < 0)
        return mg_fail(MG_ERR_STATE, "%s: LAPACKE_dgesdd rejected argument %d", fn, (int)-info);
    return MG_OK;
}

/* ---- spectrum ----------------------------------------------------------------- */

double mg_linalg_schatten(const double *sv, int n, double q) {
    if (!(q > 0.0)) return NAN;
    double mx = 0.0;
    for (int i = 0; i < n; i++) mx = fmax(mx, fabs(sv[i]));
    if (mx == 0.0 || isinf(q)) return mx;
    double s = 0.0;
    for (int i = 0; i < n; i++) s += pow(fabs(sv[i]) / mx, q);
    return mx * pow(s, 1.0 / q);
}

void mg_linalg_spectrum_free(mg_linalg_spectrum *s) {
    if (!s) return;
    mg_free(s->sv);
    s->sv = NULL;
}

mg_status mg_linalg_spectrum_compute(const float *w, int m, int n, int64_t rs, int64_t cs,
                                     mg_linalg_spectrum *out) {
    static const char fn[] = "mg_linalg_spectrum_compute";
    if (!out) return mg_fail(MG_ERR_ARG, "%s: out is NULL", fn);
    memset(out, 0, sizeof *out);
    double *a = NULL;
    mg_status st = load_colmajor(w, m, n, rs, cs, fn, "w", &a);
    if (st != MG_OK) return st;
    int k = m < n ? m : n;
    out->sv = mg_malloc((size_t)k * sizeof *out->sv);
    if (!out->sv) {
        mg_free(a);
        return mg_fail(MG_ERR_NOMEM, "%s: cannot allocate %d singular values", fn, k);
    }
    st = svals(a, m, n, out->sv, fn);
    mg_free(a);
    if (st != MG_OK) {
        mg_linalg_spectrum_free(out);
        return st;
    }
    out->n_sv = k;

    double s1 = 0.0, s2 = 0.0;
    for (int i = 0; i < k; i++) {
        out->sv[i] = fmax(out->sv[i], 0.0); /* LAPACK returns >= 0; keep it so */
        s1 += out->sv[i];
        s2 += out->sv[i] * out->sv[i];
    }
    out->schatten1 = s1;
    out->schatten2 = sqrt(s2);
    out->schatten_inf = out->sv[0];
    if (s1 == 0.0) return MG_OK; /* zero matrix: every ratio stays 0 */

    double h = 0.0; /* entropy of sigma / sum sigma; 0 log 0 = 0 */
    for (int i = 0; i < k; i++) {
        double pr = out->sv[i] / s1;
        if (pr > 0.0) h -= pr * log(pr);
    }
    out->eff_rank = exp(h);
    out->stable_rank = s2 / (out->sv[0] * out->sv[0]);
    double top2 = out->sv[0] * out->sv[0] + (k > 1 ? out->sv[1] * out->sv[1] : 0.0);
    out->rank2_energy = top2 / s2;
    return MG_OK;
}

/* ---- principal angles ------------------------------------------------------------ */

/* The top-k right singular vectors of W (m, n) as the rows of v (k, n),
 * row-major. 1 <= k <= min(m, n) is the caller's check; this one checks k
 * against the numerical rank, which needs the SVD. */
static mg_status top_right(const float *w, int m, int64_t rs, int64_t cs, int k, int n,
                           const char *name, const char *kname, double *v) {
    static const char fn[] = "mg_linalg_principal_cosines";
    double *a = NULL;
    mg_status st = load_colmajor(w, m, n, rs, cs, fn, name, &a);
    if (st != MG_OK) return st;
    int r = m < n ? m : n;
    /* One block: singular values (r), LAPACK's scratch (r), Vt (r x n). */
    double *sv = mg_malloc(((size_t)r * 2 + (size_t)r * (size_t)n) * sizeof *sv);
    if (!sv) {
        mg_free(a);
        return mg_fail(MG_ERR_NOMEM, "%s: cannot allocate the SVD of %s (%d x %d)", fn, name, m, n);
    }
    double *superb = sv + r, *vt = sv + 2 * r, dummy = 0.0;
    /* dgesvd rather than dgesdd: it can return Vt without U. */
    lapack_int info =
        LAPACKE_dgesvd(LAPACK_COL_MAJOR, 'N', 'S', m, n, a, m, sv, &dummy, 1, vt, r, superb);
    mg_free(a);
    if (info != 0) {
        mg_free(sv);
        return info > 0 ? mg_fail(MG_ERR_NUMERIC, "%s: the SVD of %s (%d x %d) did not converge",
                                  fn, name, m, n)
                        : mg_fail(MG_ERR_STATE, "%s: LAPACKE_dgesvd rejected argument %d", fn,
                                  (int)-info);
    }
    /* Numerical rank with a float32 tolerance: the input was rounded to
     * float, so a rank-deficient matrix shows sigma ~ 1e-7 sigma_1, not 1e-16. */
    double tol = sv[0] * (double)(m > n ? m : n) * FLT_EPSILON;
    int rank = 0;
    while (rank < r && sv[rank] > tol) rank++;
    if (k > rank) {
        mg_free(sv);
        return mg_fail(MG_ERR_ARG,
                       "%s: %s = %d exceeds the numerical rank of %s (%d): its top-%d right "
                       "singular subspace is not defined",
                       fn, kname, k, name, rank, k);
    }
    for (int i = 0; i < k; i++)
        for (int j = 0; j < n; j++) v[(size_t)i * (size_t)n + (size_t)j] = vt[(size_t)j * r + i];
    mg_free(sv);
    return MG_OK;
}

mg_status mg_linalg_principal_cosines(const float *a, int ma, int64_t ars, int64_t acs, int ka,
                                      const float *b, int mb, int64_t brs, int64_t bcs, int kb,
                                      int n, double *cos) {
    static const char fn[] = "mg_linalg_principal_cosines";
    if (!cos) return mg_fail(MG_ERR_ARG, "%s: cos is NULL", fn);
    if (n < 1) return mg_fail(MG_ERR_ARG, "%s: n (columns) must be >= 1, got n = %d", fn, n);
    if (ka < 1 || kb < 1) /* before sizing buffers by ka, kb */
        return mg_fail(MG_ERR_ARG, "%s: ka and kb must be >= 1, got ka = %d, kb = %d", fn, ka, kb);
    if (ka > ma || ka > n || kb > mb || kb > n) {
        int bad_a = ka > ma || ka > n;
        return mg_fail(MG_ERR_ARG,
                       "%s: %s = %d must be in 1..min(rows, columns) of %s = min(%d, %d)", fn,
                       bad_a ? "ka" : "kb", bad_a ? ka : kb, bad_a ? "a" : "b", bad_a ? ma : mb, n);
    }
    /* One block: Va (ka, n), Vb (kb, n), M = Va Vb^T (ka, kb) column-major. */
    size_t na = (size_t)ka * (size_t)n, nb = (size_t)kb * (size_t)n, nm = (size_t)ka * (size_t)kb;
    double *va = mg_malloc((na + nb + nm) * sizeof *va);
    if (!va) return mg_fail(MG_ERR_NOMEM, "%s: cannot allocate the subspaces", fn);
    double *vb = va + na, *mm = vb + nb;
    mg_status st = top_right(a, ma, ars, acs, ka, n, "a", "ka", va);
    if (st == MG_OK) st = top_right(b, mb, brs, bcs, kb, n, "b", "kb", vb);
    if (st != MG_OK) {
        mg_free(va);
        return st;
    }
    for (int l = 0; l < kb; l++) {
        for (int i = 0; i < ka; i++) {
            const double *x = va + (size_t)i * (size_t)n, *y = vb + (size_t)l * (size_t)n;
            double s = 0.0;
            for (int j = 0; j < n; j++) s += x[j] * y[j];
            mm[(size_t)l * (size_t)ka + (size_t)i] = s;
        }
    }
    st = svals(mm, ka, kb, cos, fn);
    mg_free(va);
    if (st != MG_OK) return st;
    /* Orthonormal bases make these cosines; rounding can put them a hair
     * above 1. */
    int k = ka < kb ? ka : kb;
    for (int i = 0; i < k; i++) cos[i] = fmin(fmax(cos[i], 0.0), 1.0);
    return MG_OK;
}
