/* twoclocks.c — the fitting and representation clocks, their fits, the
 * structural gaps, gate flips and the deep linear energy (see twoclocks.h). */
#include "analysis/twoclocks.h"

#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/clocks.h"
#include "analysis/fourier.h"
#include "core/alloc.h"

mg_twoclocks_line mg_twoclocks_fit(const double *x, const double *y, int n) {
    mg_twoclocks_line l = {.n = 0, .slope = NAN, .intercept = NAN, .r2 = NAN};
    double sx = 0, sy = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(x[i]) && isfinite(y[i])) sx += x[i], sy += y[i], l.n++;
    if (l.n < 2) return l;
    double mx = sx / l.n, my = sy / l.n, sxx = 0, sxy = 0, syy = 0;
    for (int i = 0; i < n; i++) {
        if (!(isfinite(x[i]) && isfinite(y[i]))) continue;
        double dx = x[i] - mx, dy = y[i] - my;
        sxx += dx * dx, sxy += dx * dy, syy += dy * dy;
    }
    if (sxx == 0.0) return l;
    l.slope = sxy / sxx;
    l.intercept = my - l.slope * mx;
    if (syy > 0.0) {
        double res = 0.0;
        for (int i = 0; i < n; i++) {
            if (!(isfinite(x[i]) && isfinite(y[i]))) continue;
            double e = y[i] - (l.intercept + l.slope * x[i]);
            res += e * e;
        }
        l.r2 = 1.0 - res / syy;
    }
    return l;
}

void mg_twoclocks_t_cls(const int64_t *steps, const double *loss, int n, const double *eps,
                        int n_eps, int64_t *t_cls) {
    for (int j = 0; j < n_eps; j++)
        t_cls[j] = mg_clocks_first_crossing(steps, loss, n, eps[j], false);
}

/* The points (log(1/ε_j), f(t_j)) of the clocks that fired, as a line. */
static mg_twoclocks_line fit_ladder(const double *eps, const int64_t *t, int n, bool log_t) {
    double *x = mg_malloc((size_t)(n > 0 ? n : 1) * sizeof *x);
    double *y = mg_malloc((size_t)(n > 0 ? n : 1) * sizeof *y);
    mg_twoclocks_line l = {.n = 0, .slope = NAN, .intercept = NAN, .r2 = NAN};
    if (!x || !y) {
        mg_free(x), mg_free(y);
        return l;
    }
    int m = 0;
    for (int j = 0; j < n; j++) {
        if (t[j] < 0 || !(eps[j] > 0.0) || (log_t && t[j] == 0)) continue;
        x[m] = log(1.0 / eps[j]);
        y[m] = log_t ? log((double)t[j]) : (double)t[j];
        m++;
    }
    l = mg_twoclocks_fit(x, y, m);
    mg_free(x), mg_free(y);
    return l;
}

mg_twoclocks_line mg_twoclocks_fit_cls(const double *eps, const int64_t *t_cls, int n_eps) {
    return fit_ladder(eps, t_cls, n_eps, false);
}

mg_twoclocks_line mg_twoclocks_fit_rep(const double *eta, const int64_t *t_rep, int n_eta) {
    return fit_ladder(eta, t_rep, n_eta, true);
}

static int cmp_double(const void *pa, const void *pb) {
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

double mg_twoclocks_median(double *v, int n) {
    if (!v || n <= 0) return NAN;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double mg_twoclocks_contraction(const int64_t *steps, const double *loss, int n, int64_t from) {
    if (!steps || !loss || n < 2) return NAN;
    double *r = mg_malloc((size_t)n * sizeof *r);
    if (!r) return NAN;
    int m = 0;
    for (int i = 0; i + 1 < n; i++) {
        if (steps[i] < from || !(loss[i] > 0.0) || !(loss[i + 1] > 0.0)) continue;
        int64_t ds = steps[i + 1] - steps[i];
        if (ds <= 0 || !isfinite(loss[i]) || !isfinite(loss[i + 1])) continue;
        r[m++] = pow(loss[i + 1] / loss[i], 1.0 / (double)ds);
    }
    double med = mg_twoclocks_median(r, m);
    mg_free(r);
    return med;
}

int64_t mg_twoclocks_t_rep(const int64_t *steps, const double *gap, int n, double eta,
                           int64_t window) {
    if (!steps || !gap || n <= 0 || isnan(eta)) return -1;
    /* Walk back from the end while the gap is closed; i is the first index
     * of the closed tail. */
    int i = n;
    while (i > 0 && gap[i - 1] <= eta) i--;
    if (i == n) return -1;
    if (steps[n - 1] - steps[i] < window) return -1;
    return steps[i];
}

void mg_twoclocks_srank_gap(double *srank, int n) {
    if (!srank || n <= 0) return;
    double fin = srank[n - 1];
    for (int i = 0; i < n; i++)
        srank[i] = (fin > 0.0 && isfinite(fin)) ? fabs(srank[i] - fin) / fin : NAN;
}

mg_status mg_twoclocks_rule_gap_energies(double dc, const double *energy, int n_freq,
                                         const int *keys, int n_keys, double *gap) {
    static const char fn[] = "mg_twoclocks_rule_gap";
    if (!gap) return mg_fail(MG_ERR_ARG, "%s: gap is NULL", fn);
    if (n_keys < 0 || (n_keys > 0 && !keys))
        return mg_fail(MG_ERR_ARG, "%s: %d key frequencies and keys %s", fn, n_keys,
                       keys ? "given" : "NULL");
    if (n_freq < 0 || (n_freq > 0 && !energy))
        return mg_fail(MG_ERR_ARG, "%s: %d frequencies and energies %s", fn, n_freq,
                       energy ? "given" : "NULL");
    double total = dc, key = 0.0;
    for (int k = 0; k < n_freq; k++) total += energy[k];
    for (int j = 0; j < n_keys; j++) {
        if (keys[j] < 1 || keys[j] > n_freq)
            return mg_fail(MG_ERR_ARG, "%s: key frequency %d is outside 1..%d", fn, keys[j],
                           n_freq);
        bool seen = false;
        for (int i = 0; i < j; i++) seen = seen || keys[i] == keys[j];
        if (!seen) key += energy[keys[j] - 1];
    }
    *gap = total > 0.0 ? fmax(0.0, 1.0 - key / total) : 0.0;
    return MG_OK;
}

mg_status mg_twoclocks_rule_gap(const float *w, int p, int d, int64_t rs, int64_t cs,
                                const int *keys, int n_keys, double *gap) {
    if (!gap) return mg_fail(MG_ERR_ARG, "mg_twoclocks_rule_gap: gap is NULL");
    mg_fourier f;
    mg_status st = mg_fourier_compute(w, p, d, rs, cs, &f);
    if (st != MG_OK) return st;
    st = mg_twoclocks_rule_gap_energies(f.dc, f.energy, f.n_freq, keys, n_keys, gap);
    mg_fourier_free(&f);
    return st;
}

void mg_twoclocks_gates(const float *pre, int64_t n, uint8_t *bits) {
    for (int64_t i = 0; i < n; i++) bits[i] = pre[i] > 0.0f;
}

double mg_twoclocks_gate_flips(const uint8_t *prev, const uint8_t *cur, int64_t n) {
    if (!prev || !cur || n <= 0) return NAN;
    int64_t flips = 0;
    for (int64_t i = 0; i < n; i++) flips += (prev[i] != 0) != (cur[i] != 0);
    return (double)flips / (double)n;
}

mg_status mg_twoclocks_deep_linear_energy(const float *const *w, const int *rows, const int *cols,
                                          int layers, double lambda, mg_twoclocks_energy *out) {
    static const char fn[] = "mg_twoclocks_deep_linear_energy";
    if (!out) return mg_fail(MG_ERR_ARG, "%s: out is NULL", fn);
    memset(out, 0, sizeof *out);
    if (!w || !rows || !cols || layers < 1)
        return mg_fail(MG_ERR_ARG, "%s: need at least one layer with its shape, got %d", fn,
                       layers);
    for (int l = 0; l < layers; l++) {
        if (!w[l] || rows[l] < 1 || cols[l] < 1)
            return mg_fail(MG_ERR_ARG, "%s: layer %d is empty or NULL (%d x %d)", fn, l + 1,
                           rows[l], cols[l]);
        if (l > 0 && cols[l] != rows[l - 1])
            return mg_fail(MG_ERR_SHAPE,
                           "%s: layer %d has %d columns but layer %d has %d rows: W_%d W_%d is "
                           "undefined",
                           fn, l + 1, cols[l], l, rows[l - 1], l + 1, l);
    }
    /* A = W_L ... W_1, built from W_1 up in double, row-major (r x c0). */
    int c0 = cols[0], r = rows[0];
    double *a = mg_malloc((size_t)r * (size_t)c0 * sizeof *a);
    if (!a) return mg_fail(MG_ERR_NOMEM, "%s: no memory for the end-to-end map", fn);
    double frob = 0.0;
    for (int64_t i = 0; i < (int64_t)r * c0; i++) {
        a[i] = w[0][i];
        frob += a[i] * a[i];
    }
    for (int l = 1; l < layers; l++) {
        int rl = rows[l], cl = cols[l];
        double *b = mg_malloc((size_t)rl * (size_t)c0 * sizeof *b);
        if (!b) {
            mg_free(a);
            return mg_fail(MG_ERR_NOMEM, "%s: no memory for W_%d ... W_1", fn, l + 1);
        }
        for (int i = 0; i < rl; i++) {
            for (int j = 0; j < c0; j++) b[(size_t)i * c0 + j] = 0.0;
            for (int k = 0; k < cl; k++) {
                double v = w[l][(size_t)i * cl + k];
                frob += v * v;
                for (int j = 0; j < c0; j++) b[(size_t)i * c0 + j] += v * a[(size_t)k * c0 + j];
            }
        }
        mg_free(a);
        a = b;
        r = rl;
    }
    for (int64_t i = 0; i < (int64_t)r * c0; i++)
        if (!isfinite(a[i])) {
            mg_free(a);
            return mg_fail(MG_ERR_NUMERIC, "%s: the end-to-end map is not finite", fn);
        }
    int k = r < c0 ? r : c0;
    double *sv = mg_malloc((size_t)k * sizeof *sv), dummy = 0.0;
    if (!sv) {
        mg_free(a);
        return mg_fail(MG_ERR_NOMEM, "%s: no memory for %d singular values", fn, k);
    }
    /* Row-major r x c0 is column-major c0 x r: the same singular values. */
    lapack_int info = LAPACKE_dgesdd(LAPACK_COL_MAJOR, 'N', c0, r, a, c0, sv, &dummy, 1, &dummy, 1);
    mg_free(a);
    if (info != 0) {
        mg_free(sv);
        return mg_fail(MG_ERR_NUMERIC, "%s: the SVD of the %d x %d end-to-end map failed (%d)", fn,
                       r, c0, (int)info);
    }
    double sch = 0.0, f2 = 0.0;
    for (int i = 0; i < k; i++) {
        sch += pow(sv[i], 2.0 / layers);
        f2 += sv[i] * sv[i];
    }
    out->frob = lambda * frob;
    out->schatten = lambda * layers * sch;
    out->balance = frob > 0.0 ? layers * sch / frob : NAN; /* whatever λ, 0 included */
    out->stable_rank = sv[0] > 0.0 ? f2 / (sv[0] * sv[0]) : 0.0;
    mg_free(sv);
    return MG_OK;
}
