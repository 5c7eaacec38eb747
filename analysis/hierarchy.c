/* hierarchy.c — the gradient hierarchy's pieces (hierarchy.h). */
#include "analysis/hierarchy.h"

#include "core/alloc.h"
#include <math.h>

double mg_spectral_norm_power(const float *w, int rows, int cols, int64_t rs, int64_t cs, double *v,
                              int iters, double *resid) {
    double n2 = 0;
    for (int j = 0; j < cols; j++) n2 += v[j] * v[j];
    if (!(n2 > 0)) /* a fixed start, not orthogonal to any direction in practice */
        for (int j = 0; j < cols; j++) v[j] = 1.0 + 0.01 * (j % 7), n2 += v[j] * v[j];
    double sigma = 0, r = INFINITY;
    double *u = mg_malloc((size_t)rows * sizeof *u);
    if (!u) return NAN;
    for (int it = 0; it < iters; it++) {
        double nv = sqrt(n2);
        for (int j = 0; j < cols; j++) v[j] /= nv;
        double nu = 0;
        for (int i = 0; i < rows; i++) {
            double s = 0;
            for (int j = 0; j < cols; j++) s += (double)w[i * rs + j * cs] * v[j];
            u[i] = s, nu += s * s;
        }
        sigma = sqrt(nu); /* ||W v|| with ||v|| = 1 */
        n2 = 0;
        double rr = 0;
        for (int j = 0; j < cols; j++) {
            double s = 0;
            for (int i = 0; i < rows; i++) s += (double)w[i * rs + j * cs] * u[i];
            rr += (s - nu * v[j]) * (s - nu * v[j]);
            v[j] = s, n2 += s * s;
        }
        r = nu > 0 ? sqrt(rr) / nu : 0;
        if (!(n2 > 0)) break; /* W = 0 */
    }
    mg_free(u);
    if (resid) *resid = r;
    return sigma;
}

double mg_ce_delta_norm(const float *z, const int32_t *y, int64_t n, int K) {
    double total = 0;
    for (int64_t r = 0; r < n; r++) {
        const float *row = z + r * K;
        double mx = row[0], s = 0, sq = 0;
        for (int j = 1; j < K; j++) mx = fmax(mx, row[j]);
        for (int j = 0; j < K; j++) s += exp((double)row[j] - mx);
        for (int j = 0; j < K; j++) {
            double p = exp((double)row[j] - mx) / s - (j == y[r]);
            sq += p * p;
        }
        total += sq;
    }
    return sqrt(total) / (double)n;
}

double mg_selection_norm(const int32_t *a, const int32_t *b, int64_t n, int p, bool summed) {
    int64_t *c = mg_calloc((size_t)p, sizeof *c), mx = 0;
    if (!c) return NAN;
    for (int64_t r = 0; r < n; r++) {
        if (a[r] >= 0 && a[r] < p) c[a[r]]++;
        if (b[r] >= 0 && b[r] < p) c[b[r]]++;
    }
    for (int t = 0; t < p; t++) mx = c[t] > mx ? c[t] : mx;
    mg_free(c);
    return sqrt((summed ? 2.0 : 1.0) * (double)mx);
}
