/* collapse.c — neural-collapse metrics (see collapse.h for the definitions
 * and the choices made).
 *
 * NC1 never forms an f × f matrix: with M the (k × f) centred class means,
 * Σ_B = M^T M / k, and the SVD M = U S V^T gives Σ_B^† = k V S^-2 V^T over
 * the singular values above 1e-10·s_max (the means of k classes span at most
 * k − 1 directions, so M always has a null direction to drop). Then
 *   tr(Σ_W Σ_B^†) = Σ_i (k / s_i²) v_i^T Σ_W v_i,
 *   v_i^T Σ_W v_i = (1/n) Σ_samples ((h − μ_y)·v_i)²,
 * so NC1 = tr(Σ_W Σ_B^†)/k = Σ_i Σ_samples ((h − μ_y)·v_i)² / (n s_i²):
 * O(n·r·f) work and O(k·f) memory, r = rank of M. The same projections give
 * NC4's nearest class means (see the sample loop), so the features are read
 * once. The pass goes by blocks of samples and basis vectors (dot_4x4),
 * with each sum still in dot()'s order, so blocking changes no bit (the
 * build is ISO C: no mul-add contraction). About 35 ms for the canonical
 * mlp's 4,705 training rows (f = 512, k = 97) on one core, 125 ms before
 * the blocks. */
#include "analysis/collapse.h"

#include <lapacke.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "core/alloc.h"

/* Singular values below this fraction of the largest count as zero in Σ_B^†:
 * far above double rounding of an exactly rank-deficient M (~1e-16), far below
 * any real between-class direction. */
#define MG_NC1_RTOL 1e-10

/* Population coefficient of variation of x[0..m): std / mean; NaN when the
 * mean is 0 (every value 0: there is no scale to compare with). */
static double cv_of(const double *x, int m) {
    double mean = 0, var = 0;
    for (int i = 0; i < m; i++) mean += x[i];
    mean /= m;
    for (int i = 0; i < m; i++) var += (x[i] - mean) * (x[i] - mean);
    var /= m;
    if (mean == 0) return NAN;
    return sqrt(var) / mean;
}

/* Four partial sums: independent chains the compiler can pipeline and
 * vectorise (a single sum is one serial chain of dependent adds). */
static double dot(const double *a, const double *b, int f) {
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int j = 0;
    for (; j + 4 <= f; j += 4) {
        s0 += a[j] * b[j];
        s1 += a[j + 1] * b[j + 1];
        s2 += a[j + 2] * b[j + 2];
        s3 += a[j + 3] * b[j + 3];
    }
    for (; j < f; j++) s0 += a[j] * b[j];
    return (s0 + s1) + (s2 + s3);
}

/* The sample pass works on blocks of MG_NC_SB samples against MG_NC_QB
 * basis vectors at a time: each value of a block is still dot()'s own sum
 * (four chains over j mod 4, the tail on the first, joined as (s0 + s1) +
 * (s2 + s3)), so the result is bitwise dot()'s; the block only lets the
 * compiler keep 16 sums in registers and read each loaded element 4 times
 * instead of once. */
#define MG_NC_SB 4
#define MG_NC_QB 4

/* Four doubles: lane l of a sum holds dot()'s chain s_l. The vector type
 * (GCC's and Clang's vector extension) only fixes the register layout:
 * its + and * are lane by lane, the same IEEE operations as the scalar
 * code, so no bit changes. */
typedef double mg_nc_v4 __attribute__((vector_size(4 * sizeof(double))));

static mg_nc_v4 load4(const double *x) {
    mg_nc_v4 v;
    memcpy(&v, x, sizeof v);
    return v;
}

/* out[a * ldo + b] = dot(d + a * f, v + b * f, f) for a, b < 4. */
static void dot_4x4(const double *restrict d, const double *restrict v, int f, double *out,
                    int ldo) {
    mg_nc_v4 s[MG_NC_SB][MG_NC_QB] = {{{0}}};
    int j = 0;
    for (; j + 4 <= f; j += 4) {
        mg_nc_v4 x[MG_NC_SB], w[MG_NC_QB];
        for (int a = 0; a < MG_NC_SB; a++) x[a] = load4(d + (size_t)a * f + j);
        for (int b = 0; b < MG_NC_QB; b++) w[b] = load4(v + (size_t)b * f + j);
        for (int a = 0; a < MG_NC_SB; a++)
            for (int b = 0; b < MG_NC_QB; b++) s[a][b] += x[a] * w[b];
    }
    for (int a = 0; a < MG_NC_SB; a++)
        for (int b = 0; b < MG_NC_QB; b++) {
            double s0 = s[a][b][0];
            for (int t = j; t < f; t++) s0 += d[(size_t)a * f + t] * v[(size_t)b * f + t];
            out[(size_t)a * ldo + b] = (s0 + s[a][b][1]) + (s[a][b][2] + s[a][b][3]);
        }
}

/* p[a * rank + q] = d_a · v_q for the nb (<= MG_NC_SB) rows d_a of d
 * (nb × f) and the rank rows v_q of vt (rank × f). */
static void project(const double *d, int nb, const double *vt, int rank, int f, double *p) {
    int q = 0;
    if (nb == MG_NC_SB)
        for (; q + MG_NC_QB <= rank; q += MG_NC_QB) dot_4x4(d, vt + (size_t)q * f, f, p + q, rank);
    for (int a = 0; a < nb; a++) /* the rest (a short last block: all of it) */
        for (int b = q; b < rank; b++)
            p[(size_t)a * rank + b] = dot(d + (size_t)a * f, vt + (size_t)b * f, f);
}

/* NC4: the nearest class mean of a sample with projections p (rank). Each
 * μ_c − μ_G lies in the span of the kept v_q (up to the dropped singular
 * values), so ‖h − μ_c‖² = Σ_q (p_q − a[c][q])² + the part of h − μ_G outside
 * that span, which is the same for every class: the projected distances
 * order the classes as the full ones do, at k·r instead of k·f work. at is
 * a transposed (rank × k), so the k sums (each in q order) run side by side;
 * dist is scratch for k values. Ties go to the lower index. */
static int32_t nearest_mean(const double *p, const double *at, int rank, int k, double *dist) {
    for (int c = 0; c < k; c++) dist[c] = 0;
    for (int q = 0; q < rank; q++) {
        const double pq = p[q], *row = at + (size_t)q * k;
        for (int c = 0; c < k; c++) dist[c] += (pq - row[c]) * (pq - row[c]);
    }
    int best = 0;
    double bestd = INFINITY;
    for (int c = 0; c < k; c++)
        if (dist[c] < bestd) {
            bestd = dist[c];
            best = c;
        }
    return (int32_t)best;
}

static mg_status check_args(const float *h, const int32_t *y, int64_t n, int f, int k,
                            const float *w, const mg_collapse *out) {
    if (!h || !y || !w || !out)
        return mg_fail(MG_ERR_ARG, "mg_collapse_compute: h, y, w and out must not be NULL");
    if (n < 1)
        return mg_fail(MG_ERR_ARG, "mg_collapse_compute: need n >= 1 samples, got %lld",
                       (long long)n);
    if (f < 1) return mg_fail(MG_ERR_ARG, "mg_collapse_compute: need f >= 1 features, got %d", f);
    if (k < 2)
        return mg_fail(MG_ERR_ARG,
                       "mg_collapse_compute: need k >= 2 classes (collapse compares classes), "
                       "got %d",
                       k);
    return MG_OK;
}

/* Class means (k × f) of the samples, in double. Fails on a label outside
 * [0, k), on a class with no samples, and on non-finite features. */
static mg_status class_means(const float *h, const int32_t *y, int64_t n, int f, int k,
                             double *means, int64_t *count) {
    memset(means, 0, (size_t)k * f * sizeof *means);
    memset(count, 0, (size_t)k * sizeof *count);
    for (int64_t i = 0; i < n; i++) {
        int32_t c = y[i];
        if (c < 0 || c >= k)
            return mg_fail(MG_ERR_ARG,
                           "mg_collapse_compute: label of sample %lld is %d, outside [0, %d)",
                           (long long)i, (int)c, k);
        const float *hi = h + i * (int64_t)f;
        double *mc = means + (size_t)c * f;
        for (int j = 0; j < f; j++) mc[j] += hi[j];
        count[c]++;
    }
    for (int c = 0; c < k; c++) {
        if (count[c] == 0)
            return mg_fail(MG_ERR_ARG,
                           "mg_collapse_compute: class %d has no samples; every class in [0, %d) "
                           "needs at least one (pass the samples of all classes)",
                           c, k);
        double *mc = means + (size_t)c * f;
        for (int j = 0; j < f; j++) {
            mc[j] /= (double)count[c];
            if (!isfinite(mc[j]))
                return mg_fail(MG_ERR_NUMERIC,
                               "mg_collapse_compute: the features of class %d hold a NaN or Inf "
                               "(feature %d)",
                               c, j);
        }
    }
    return MG_OK;
}

/* NC2 (equinorm and ETF cosines) and NC3 from the centred means cm. */
static void nc2_nc3(const double *cm, int f, int k, const float *w, int64_t wrs, int64_t wcs,
                    double *nrm, double *wnrm, mg_collapse *out) {
    bool zero_mean = false;
    for (int c = 0; c < k; c++) {
        nrm[c] = sqrt(dot(cm + (size_t)c * f, cm + (size_t)c * f, f));
        if (nrm[c] == 0) zero_mean = true;
        double s = 0;
        for (int j = 0; j < f; j++) {
            double v = w[c * wrs + j * wcs];
            s += v * v;
        }
        wnrm[c] = sqrt(s);
    }
    out->nc2_mean_cv = cv_of(nrm, k);
    out->nc2_w_cv = cv_of(wnrm, k);

    /* The cosine of a class mean sitting exactly at μ_G is undefined. */
    if (zero_mean) {
        out->nc2_etf = NAN;
    } else {
        double acc = 0, target = 1.0 / (k - 1);
        for (int c = 0; c < k; c++)
            for (int d = c + 1; d < k; d++) {
                double cosv = dot(cm + (size_t)c * f, cm + (size_t)d * f, f) / (nrm[c] * nrm[d]);
                acc += fabs(cosv + target);
            }
        /* Unordered pairs: the ordered mean over c ≠ c' is the same number. */
        out->nc2_etf = acc / ((double)k * (k - 1) / 2);
    }

    double wf = 0, mf = 0;
    for (int c = 0; c < k; c++) {
        wf += wnrm[c] * wnrm[c];
        mf += nrm[c] * nrm[c];
    }
    wf = sqrt(wf);
    mf = sqrt(mf);
    if (wf == 0 || mf == 0) {
        out->nc3 = NAN;
    } else {
        double acc = 0;
        for (int c = 0; c < k; c++)
            for (int j = 0; j < f; j++) {
                double d = w[c * wrs + j * wcs] / wf - cm[(size_t)c * f + j] / mf;
                acc += d * d;
            }
        out->nc3 = acc;
    }
}

mg_status mg_collapse_compute(const float *h, const int32_t *y, int64_t n, int f, int k,
                              const float *w, int64_t wrs, int64_t wcs, const int32_t *pred,
                              mg_collapse *out) {
    mg_status st = check_args(h, y, n, f, k, w, out);
    if (st != MG_OK) return st;

    int r = k < f ? k : f; /* singular values of the k × f matrix M */
    size_t kf = (size_t)k * f;
    double *means = mg_malloc(kf * sizeof *means);
    double *cm = mg_malloc(kf * sizeof *cm);
    double *a = mg_malloc(kf * sizeof *a); /* dgesvd overwrites its input */
    double *vt = mg_malloc((size_t)r * f * sizeof *vt);
    double *s = mg_malloc((size_t)r * sizeof *s);
    double *superb = mg_malloc((size_t)r * sizeof *superb);
    double *acc = mg_malloc((size_t)r * sizeof *acc);
    double *nrm = mg_malloc((size_t)k * sizeof *nrm);
    double *wnrm = mg_malloc((size_t)k * sizeof *wnrm);
    double *mu_g = mg_malloc((size_t)f * sizeof *mu_g);
    double *mproj = mg_malloc((size_t)k * r * sizeof *mproj);
    double *mprojt = mg_malloc((size_t)k * r * sizeof *mprojt);
    int64_t *count = mg_malloc((size_t)k * sizeof *count);
    /* the sample pass's block: centred samples, their projections, and the
     * class distances of one sample */
    double *db = mg_malloc((size_t)MG_NC_SB * f * sizeof *db);
    double *pb = mg_malloc((size_t)MG_NC_SB * r * sizeof *pb);
    double *dist = mg_malloc((size_t)k * sizeof *dist);
    if (!means || !cm || !a || !vt || !s || !superb || !acc || !nrm || !wnrm || !count || !mu_g ||
        !mproj || !mprojt || !db || !pb || !dist) {
        st = mg_fail(MG_ERR_NOMEM, "mg_collapse_compute: out of memory for %d × %d scratch", k, f);
        goto done;
    }

    st = class_means(h, y, n, f, k, means, count);
    if (st != MG_OK) goto done;

    /* μ_G = mean of the class means (balanced); cm = M, the centred means. */
    memset(mu_g, 0, (size_t)f * sizeof *mu_g);
    for (int c = 0; c < k; c++)
        for (int j = 0; j < f; j++) mu_g[j] += means[(size_t)c * f + j];
    for (int j = 0; j < f; j++) mu_g[j] /= k;
    for (int c = 0; c < k; c++)
        for (int j = 0; j < f; j++) cm[(size_t)c * f + j] = means[(size_t)c * f + j] - mu_g[j];

    mg_collapse res;
    nc2_nc3(cm, f, k, w, wrs, wcs, nrm, wnrm, &res);

    /* NC1: right singular vectors of M (U is not needed). */
    memcpy(a, cm, kf * sizeof *a);
    lapack_int info =
        LAPACKE_dgesvd(LAPACK_ROW_MAJOR, 'N', 'S', k, f, a, f, s, NULL, 1, vt, f, superb);
    if (info != 0) {
        st = mg_fail(MG_ERR_NUMERIC,
                     "mg_collapse_compute: the SVD of the %d × %d centred class means failed "
                     "(LAPACK dgesvd info %d)",
                     k, f, (int)info);
        goto done;
    }
    int rank = 0; /* s is descending: the kept values are a prefix */
    while (rank < r && s[rank] > MG_NC1_RTOL * s[0]) rank++;

    /* a[c][q] = (μ_c − μ_G)·v_q: the centred means in the basis of V, and
     * its transpose for the nearest-mean search (classes side by side). */
    for (int c = 0; c < k; c++)
        for (int q = 0; q < rank; q++) {
            mproj[(size_t)c * rank + q] = dot(cm + (size_t)c * f, vt + (size_t)q * f, f);
            mprojt[(size_t)q * k + c] = mproj[(size_t)c * rank + q];
        }
    memset(acc, 0, (size_t)r * sizeof *acc);

    /* One pass over the samples, a block at a time, projecting h − μ_G
     * onto the kept v_q once (the O(n·r·f) work); NC1 and NC4 both follow
     * from the projections. */
    int64_t disagree = 0;
    for (int64_t i0 = 0; i0 < n; i0 += MG_NC_SB) {
        int nb = n - i0 < MG_NC_SB ? (int)(n - i0) : MG_NC_SB;
        for (int b = 0; b < nb; b++) {
            const float *hi = h + (i0 + b) * (int64_t)f;
            for (int j = 0; j < f; j++) db[(size_t)b * f + j] = hi[j] - mu_g[j];
        }
        project(db, nb, vt, rank, f, pb);
        for (int b = 0; b < nb; b++) {
            const double *p = pb + (size_t)b * rank;
            /* (h − μ_y)·v_q = p_q − a[y][q]. */
            const double *ay = mproj + (size_t)y[i0 + b] * rank;
            for (int q = 0; q < rank; q++) acc[q] += (p[q] - ay[q]) * (p[q] - ay[q]);
            if (pred) disagree += nearest_mean(p, mprojt, rank, k, dist) != pred[i0 + b];
        }
    }
    /* All class means equal: Σ_B = 0 and the ratio has no meaning. */
    if (rank == 0) {
        res.nc1 = NAN;
    } else {
        double t = 0;
        for (int q = 0; q < rank; q++) t += acc[q] / (s[q] * s[q]);
        res.nc1 = t / (double)n;
    }
    res.nc4 = pred ? (double)disagree / (double)n : NAN;
    *out = res;

done:
    mg_free(means);
    mg_free(cm);
    mg_free(a);
    mg_free(vt);
    mg_free(s);
    mg_free(superb);
    mg_free(acc);
    mg_free(nrm);
    mg_free(wnrm);
    mg_free(mu_g);
    mg_free(mproj);
    mg_free(mprojt);
    mg_free(db);
    mg_free(pb);
    mg_free(dist);
    mg_free(count);
    return st;
}
