/* trajectory.c — PCA of a parameter trajectory by its snapshots' Gram matrix,
 * and the matched random-walk null (see trajectory.h). The region is read in
 * chunks of CHUNK coordinates, so memory is O(S · CHUNK + S²) plus the
 * directions asked for. */
#include "analysis/trajectory.h"

#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/rng.h"

enum { CHUNK = 256 };

/* ---- the Gram's summary ---------------------------------------------------------- */

mg_status mg_traj_gram_summary(const double *g, int s, double *share, double *sv, double *total_var,
                               int *r90, int *r95, int *rank, double *entropy_rank, double *u) {
    static const char fn[] = "mg_traj_gram_summary";
    if (!g || s < 1 || !share || !sv || !total_var || !r90 || !r95 || !rank || !entropy_rank)
        return mg_fail(MG_ERR_ARG, "%s: need a Gram of size >= 1 and every output", fn);
    double *a = mg_malloc((size_t)s * (size_t)s * sizeof *a);
    double *lam = mg_malloc((size_t)s * sizeof *lam);
    if (!a || !lam) {
        mg_free(a), mg_free(lam);
        return mg_fail(MG_ERR_NOMEM, "%s: cannot allocate a %d x %d eigenproblem", fn, s, s);
    }
    for (size_t i = 0; i < (size_t)s * (size_t)s; i++) {
        if (!isfinite(g[i])) {
            mg_free(a), mg_free(lam);
            return mg_fail(MG_ERR_NUMERIC, "%s: Gram entry %zu is not finite", fn, i);
        }
        a[i] = g[i];
    }
    /* Row-major and symmetric: the upper triangle of either layout is the
     * same numbers. Eigenvalues come ascending; eigenvector i is column i. */
    lapack_int info = LAPACKE_dsyevd(LAPACK_ROW_MAJOR, u ? 'V' : 'N', 'U', s, a, s, lam);
    if (info != 0) {
        mg_free(a), mg_free(lam);
        return info > 0 ? mg_fail(MG_ERR_NUMERIC, "%s: the %d x %d eigenproblem did not converge",
                                  fn, s, s)
                        : mg_fail(MG_ERR_STATE, "%s: LAPACKE_dsyevd rejected argument %d", fn,
                                  (int)-info);
    }
    double tot = 0.0, ssum = 0.0;
    for (int i = 0; i < s; i++) {
        double l = fmax(lam[s - 1 - i], 0.0); /* descending; rounding's negatives are 0 */
        sv[i] = sqrt(l);
        share[i] = l;
        tot += l;
        ssum += sv[i];
    }
    if (u) {
        for (int i = 0; i < s; i++) {
            int col = s - 1 - i, big = 0;
            double trend = 0.0; /* Σ_t (t − mean t) u_t: > 0 when the coordinate grows with t */
            for (int t = 0; t < s; t++) {
                trend += (t - 0.5 * (s - 1)) * a[(size_t)t * s + col];
                if (fabs(a[(size_t)t * s + col]) > fabs(a[(size_t)big * s + col])) big = t;
            }
            double sg = fabs(trend) > 1e-12 ? (trend < 0.0 ? -1.0 : 1.0)
                                            : (a[(size_t)big * s + col] < 0.0 ? -1.0 : 1.0);
            for (int t = 0; t < s; t++) u[(size_t)t * s + i] = sg * a[(size_t)t * s + col];
        }
    }
    mg_free(a);
    mg_free(lam);
    *total_var = tot;
    *r90 = *r95 = *rank = 0;
    *entropy_rank = 0.0;
    if (!(tot > 0.0)) {
        for (int i = 0; i < s; i++) share[i] = 0.0;
        return MG_OK;
    }
    double cum = 0.0, h = 0.0, tol = sv[0] * (double)s * FLT_EPSILON;
    for (int i = 0; i < s; i++) {
        share[i] /= tot;
        cum += share[i];
        if (!*r90 && cum >= 0.90 - 1e-12) *r90 = i + 1;
        if (!*r95 && cum >= 0.95 - 1e-12) *r95 = i + 1;
        if (sv[i] > tol) *rank = i + 1;
        double p = sv[i] / ssum;
        if (p > 0.0) h -= p * log(p);
    }
    *entropy_rank = exp(h);
    return MG_OK;
}

/* ---- the region ----------------------------------------------------------------------- */

static int cmp_seg(const void *x, const void *y) {
    const mg_traj_segment *a = x, *b = y;
    return (a->offset > b->offset) - (a->offset < b->offset);
}

mg_status mg_traj_region_check(const mg_traj_segment *seg, int n_seg, int64_t n, const char *fn,
                               int64_t *dim) {
    if (!seg || n_seg < 1)
        return mg_fail(MG_ERR_ARG, "%s: the region needs >= 1 segment, got %d", fn, n_seg);
    int64_t d = 0;
    for (int i = 0; i < n_seg; i++) {
        if (seg[i].len < 1 || seg[i].offset < 0 || seg[i].offset > n - seg[i].len)
            return mg_fail(MG_ERR_ARG,
                           "%s: segment %d [%lld, %lld) must be non-empty and inside [0, %lld)", fn,
                           i, (long long)seg[i].offset, (long long)(seg[i].offset + seg[i].len),
                           (long long)n);
        d += seg[i].len;
    }
    mg_traj_segment *s = mg_malloc((size_t)n_seg * sizeof *s);
    if (!s) return mg_fail(MG_ERR_NOMEM, "%s: cannot allocate %d segments", fn, n_seg);
    memcpy(s, seg, (size_t)n_seg * sizeof *s);
    qsort(s, (size_t)n_seg, sizeof *s, cmp_seg);
    for (int i = 1; i < n_seg; i++) {
        if (s[i].offset < s[i - 1].offset + s[i - 1].len) {
            long long a = s[i - 1].offset, b = s[i].offset;
            mg_free(s);
            return mg_fail(MG_ERR_ARG, "%s: the segments at %lld and %lld overlap", fn, a, b);
        }
    }
    mg_free(s);
    *dim = d;
    return MG_OK;
}

/* x[t * CHUNK + c] = W_t − W_0 at coordinates off .. off + cl, in double
 * (the difference of two floats is exact there). */
static mg_status load_chunk(const float *w, int s, int64_t rs, const float *w0, int64_t off, int cl,
                            double *x, const char *fn) {
    for (int t = 0; t < s; t++) {
        const float *row = w + (int64_t)t * rs + off;
        double *xt = x + (size_t)t * CHUNK;
        for (int c = 0; c < cl; c++) {
            float v = row[c], o = w0 ? w0[off + c] : 0.0f;
            if (!isfinite(v) || !isfinite(o))
                return mg_fail(MG_ERR_NUMERIC, "%s: snapshot %d (or W_0) at coordinate %lld is %g",
                               fn, t, (long long)(off + c), (double)(isfinite(v) ? o : v));
            xt[c] = (double)v - (double)o;
        }
    }
    return MG_OK;
}

/* Subtracts each coordinate's mean over the snapshots. */
static void centre_chunk(double *x, int s, int cl) {
    for (int c = 0; c < cl; c++) {
        double m = 0.0;
        for (int t = 0; t < s; t++) m += x[(size_t)t * CHUNK + c];
        m /= s;
        for (int t = 0; t < s; t++) x[(size_t)t * CHUNK + c] -= m;
    }
}

static double dot(const double *a, const double *b, int n) {
    double r = 0.0;
    for (int i = 0; i < n; i++) r += a[i] * b[i];
    return r;
}

/* G += x xᵀ over one chunk (lower triangle; mirrored by the caller). */
static void gram_chunk(const double *x, int s, int cl, double *g) {
    for (int i = 0; i < s; i++)
        for (int j = 0; j <= i; j++)
            g[(size_t)i * s + j] += dot(x + (size_t)i * CHUNK, x + (size_t)j * CHUNK, cl);
}

void mg_traj_pca_free(mg_traj_pca *p) {
    if (!p) return;
    mg_free(p->share), mg_free(p->sv), mg_free(p->alignment), mg_free(p->steps), mg_free(p->dir);
    memset(p, 0, sizeof *p);
}

/* The second pass: dir[i] = X_cᵀ u_i / σ_i, then normalised. */
static mg_status directions(const float *w, int s, int64_t rs, const float *w0,
                            const mg_traj_segment *seg, int n_seg, const double *u, double *x,
                            mg_traj_pca *out, const char *fn) {
    int64_t p = 0;
    for (int k = 0; k < n_seg; k++) {
        for (int64_t c0 = 0; c0 < seg[k].len; c0 += CHUNK) {
            int cl = (int)(seg[k].len - c0 < CHUNK ? seg[k].len - c0 : CHUNK);
            mg_status st = load_chunk(w, s, rs, w0, seg[k].offset + c0, cl, x, fn);
            if (st != MG_OK) return st;
            centre_chunk(x, s, cl);
            for (int i = 0; i < out->n_dir; i++) {
                double *v = out->dir + (size_t)i * (size_t)out->dim + (size_t)p;
                for (int c = 0; c < cl; c++) v[c] = 0.0;
                for (int t = 0; t < s; t++) {
                    double ut = u[(size_t)t * s + i] / out->sv[i];
                    const double *xt = x + (size_t)t * CHUNK;
                    for (int c = 0; c < cl; c++) v[c] += ut * xt[c];
                }
            }
            p += cl;
        }
    }
    for (int i = 0; i < out->n_dir; i++) {
        double *v = out->dir + (size_t)i * (size_t)out->dim;
        double acc = 0.0;
        for (int64_t c = 0; c < out->dim; c++) acc += v[c] * v[c];
        acc = sqrt(acc);
        for (int64_t c = 0; c < out->dim; c++) v[c] /= acc;
    }
    return MG_OK;
}

mg_status mg_traj_pca_compute(const float *w, int n_snap, int64_t row_stride, const float *w0,
                              const mg_traj_segment *seg, int n_seg, int n_dir, mg_traj_pca *out) {
    static const char fn[] = "mg_traj_pca_compute";
    if (!out) return mg_fail(MG_ERR_ARG, "%s: out is NULL", fn);
    memset(out, 0, sizeof *out);
    if (!w) return mg_fail(MG_ERR_ARG, "%s: the snapshots are NULL", fn);
    if (n_snap < 2) return mg_fail(MG_ERR_ARG, "%s: need >= 2 snapshots, got %d", fn, n_snap);
    if (row_stride < 1)
        return mg_fail(MG_ERR_ARG, "%s: row_stride must be >= 1, got %lld", fn,
                       (long long)row_stride);
    if (n_dir < 0) return mg_fail(MG_ERR_ARG, "%s: n_dir must be >= 0, got %d", fn, n_dir);
    mg_traj_segment whole = {0, row_stride};
    if (!seg && n_seg == 0) seg = &whole, n_seg = 1;
    int64_t dim = 0;
    mg_status st = mg_traj_region_check(seg, n_seg, row_stride, fn, &dim);
    if (st != MG_OK) return st;

    int s = n_snap;
    size_t ss = (size_t)s * (size_t)s;
    out->n_snap = s;
    out->dim = dim;
    out->share = mg_malloc((size_t)s * sizeof *out->share);
    out->sv = mg_malloc((size_t)s * sizeof *out->sv);
    out->alignment = mg_malloc((size_t)s * sizeof *out->alignment);
    out->steps = mg_calloc((size_t)(s - 1), sizeof *out->steps);
    /* scratch: the chunk (S x CHUNK), G (S x S), U (S x S), x·x_T (S) */
    double *x = mg_malloc(((size_t)s * CHUNK + 2 * ss + (size_t)s) * sizeof *x);
    if (!out->share || !out->sv || !out->alignment || !out->steps || !x) {
        mg_free(x);
        mg_traj_pca_free(out);
        return mg_fail(MG_ERR_NOMEM, "%s: cannot allocate the PCA of %d snapshots", fn, s);
    }
    double *g = x + (size_t)s * CHUNK, *u = g + ss, *dt = u + ss;
    memset(g, 0, (ss + ss + (size_t)s) * sizeof *g);
    for (int t = 0; t < s; t++) out->alignment[t] = 0.0; /* ‖X_t‖² until the end */

    for (int k = 0; k < n_seg && st == MG_OK; k++) {
        for (int64_t c0 = 0; c0 < seg[k].len && st == MG_OK; c0 += CHUNK) {
            int cl = (int)(seg[k].len - c0 < CHUNK ? seg[k].len - c0 : CHUNK);
            st = load_chunk(w, s, row_stride, w0, seg[k].offset + c0, cl, x, fn);
            if (st != MG_OK) break;
            const double *xl = x + (size_t)(s - 1) * CHUNK;
            for (int t = 0; t < s; t++) {
                const double *xt = x + (size_t)t * CHUNK;
                dt[t] += dot(xt, xl, cl);
                out->alignment[t] += dot(xt, xt, cl);
                if (t + 1 < s) {
                    double a = 0.0;
                    for (int c = 0; c < cl; c++) {
                        double d = xt[CHUNK + c] - xt[c];
                        a += d * d;
                    }
                    out->steps[t] += a;
                }
            }
            centre_chunk(x, s, cl);
            gram_chunk(x, s, cl, g);
        }
    }
    if (st != MG_OK) {
        mg_free(x);
        mg_traj_pca_free(out);
        return st;
    }
    for (int t = 0; t + 1 < s; t++) out->steps[t] = sqrt(out->steps[t]);
    double nl = out->alignment[s - 1];
    for (int t = 0; t < s; t++) {
        double nt = out->alignment[t];
        out->alignment[t] = nt > 0.0 && nl > 0.0 ? dt[t] / sqrt(nt * nl) : NAN;
        if (nt > 0.0 && nl > 0.0) out->alignment[t] = fmin(1.0, fmax(-1.0, out->alignment[t]));
    }
    for (int i = 0; i < s; i++)
        for (int j = i + 1; j < s; j++) g[(size_t)i * s + j] = g[(size_t)j * s + i];

    st = mg_traj_gram_summary(g, s, out->share, out->sv, &out->total_var, &out->r90, &out->r95,
                              &out->rank, &out->entropy_rank, n_dir > 0 ? u : NULL);
    out->n_dir = n_dir < out->rank ? n_dir : out->rank;
    if (st == MG_OK && out->n_dir > 0) {
        out->dir = mg_malloc((size_t)out->n_dir * (size_t)dim * sizeof *out->dir);
        st = out->dir ? directions(w, s, row_stride, w0, seg, n_seg, u, x, out, fn)
                      : mg_fail(MG_ERR_NOMEM, "%s: cannot allocate %d directions of %lld", fn,
                                out->n_dir, (long long)dim);
    }
    mg_free(x);
    if (st != MG_OK) mg_traj_pca_free(out);
    return st;
}

/* ---- the random-walk null ----------------------------------------------------------- */

void mg_traj_null_free(mg_traj_null *n) {
    if (!n) return;
    mg_free(n->r90), mg_free(n->r95), mg_free(n->entropy_rank), mg_free(n->share);
    memset(n, 0, sizeof *n);
}

mg_status mg_traj_null_compute(int n_snap, const double *steps, int64_t dim, uint64_t seed,
                               int n_draws, mg_traj_null *out) {
    static const char fn[] = "mg_traj_null_compute";
    if (!out) return mg_fail(MG_ERR_ARG, "%s: out is NULL", fn);
    memset(out, 0, sizeof *out);
    if (n_snap < 2 || !steps || dim < 1 || n_draws < 1)
        return mg_fail(MG_ERR_ARG,
                       "%s: need >= 2 snapshots, their steps, dim >= 1 and >= 1 draw (got %d, "
                       "%lld, %d)",
                       fn, n_snap, (long long)dim, n_draws);
    for (int t = 0; t + 1 < n_snap; t++)
        if (!isfinite(steps[t]) || steps[t] < 0.0)
            return mg_fail(MG_ERR_ARG, "%s: step %d must be finite and >= 0, got %g", fn, t,
                           steps[t]);
    int s = n_snap, m = n_snap - 1; /* m increments */
    size_t ss = (size_t)s * (size_t)s, mm = (size_t)m * (size_t)m;
    out->n_snap = s;
    out->n_draws = n_draws;
    out->r90 = mg_malloc((size_t)n_draws * sizeof *out->r90);
    out->r95 = mg_malloc((size_t)n_draws * sizeof *out->r95);
    out->entropy_rank = mg_malloc((size_t)n_draws * sizeof *out->entropy_rank);
    out->share = mg_calloc((size_t)s, sizeof *out->share);
    /* scratch: increments chunk (m x CHUNK), their Gram (m x m), C L (s x m),
     * C L M (s x m), the walk's centred Gram (s x s), share and sv (s each) */
    double *z =
        mg_malloc(((size_t)m * CHUNK + mm + 2 * (size_t)s * m + ss + 2 * (size_t)s) * sizeof *z);
    if (!out->r90 || !out->r95 || !out->entropy_rank || !out->share || !z) {
        mg_free(z);
        mg_traj_null_free(out);
        return mg_fail(MG_ERR_NOMEM, "%s: cannot allocate the null of %d snapshots", fn, s);
    }
    double *gz = z + (size_t)m * CHUNK, *lc = gz + mm, *lm = lc + (size_t)s * m,
           *g = lm + (size_t)s * m;
    double *sh = g + ss, *sv = sh + s;
    /* C L: the centred walk's coefficients, Y_c = (C L) Z with
     * (C L)[t][s'] = steps_s' ([s' < t] − (S − 1 − s') / S). */
    for (int t = 0; t < s; t++)
        for (int j = 0; j < m; j++)
            lc[(size_t)t * m + j] = steps[j] * ((j < t ? 1.0 : 0.0) - (double)(s - 1 - j) / s);
    mg_rng rng;
    mg_rng_seed(&rng, seed);
    mg_status st = MG_OK;
    for (int d = 0; d < n_draws && st == MG_OK; d++) {
        memset(gz, 0, mm * sizeof *gz);
        for (int64_t c0 = 0; c0 < dim; c0 += CHUNK) {
            int cl = (int)(dim - c0 < CHUNK ? dim - c0 : CHUNK);
            for (int j = 0; j < m; j++)
                for (int c = 0; c < cl; c++) z[(size_t)j * CHUNK + c] = mg_rng_normal(&rng);
            gram_chunk(z, m, cl, gz);
        }
        /* M = N Gz N, N = diag(1 / ‖g_j‖): the unit increments' Gram (a zero
         * increment, which a normal draw never gives, would count as 0) */
        for (int i = 0; i < m; i++) sv[i] = sqrt(gz[(size_t)i * m + i]);
        for (int i = 0; i < m; i++)
            for (int j = 0; j <= i; j++) {
                double v =
                    sv[i] > 0.0 && sv[j] > 0.0 ? gz[(size_t)i * m + j] / (sv[i] * sv[j]) : 0.0;
                gz[(size_t)i * m + j] = gz[(size_t)j * m + i] = v;
            }
        /* G = (C L) M (C L)ᵀ */
        for (int t = 0; t < s; t++)
            for (int j = 0; j < m; j++)
                lm[(size_t)t * m + j] = dot(lc + (size_t)t * m, gz + (size_t)j * m, m);
        for (int t = 0; t < s; t++)
            for (int r = 0; r <= t; r++) {
                double v = dot(lm + (size_t)t * m, lc + (size_t)r * m, m);
                g[(size_t)t * s + r] = g[(size_t)r * s + t] = v;
            }
        double tv;
        int rk;
        st = mg_traj_gram_summary(g, s, sh, sv, &tv, &out->r90[d], &out->r95[d], &rk,
                                  &out->entropy_rank[d], NULL);
        for (int i = 0; st == MG_OK && i < s; i++) out->share[i] += sh[i] / n_draws;
        if (st == MG_OK) {
            out->r90_mean += (double)out->r90[d] / n_draws;
            out->r95_mean += (double)out->r95[d] / n_draws;
            out->entropy_rank_mean += out->entropy_rank[d] / n_draws;
        }
    }
    mg_free(z);
    if (st != MG_OK) mg_traj_null_free(out);
    return st;
}
