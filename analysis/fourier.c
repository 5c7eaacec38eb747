/* fourier.c — Fourier spectrum over Z/p and circle fits (see fourier.h). */
#include "analysis/fourier.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"

/* ---- shared checks and tables ----------------------------------------------- */

static mg_status check_shape(const float *w, int p, int d, const char *fn) {
    if (!w) return mg_fail(MG_ERR_ARG, "%s: w is NULL", fn);
    /* Odd p: the real basis {1, c_k, s_k} is then complete and orthonormal
     * (an even p also has the Nyquist cosine, which has no sine partner). */
    if (p < 3 || p % 2 == 0)
        return mg_fail(MG_ERR_ARG, "%s: p must be odd and >= 3, got p = %d", fn, p);
    if (d < 1) return mg_fail(MG_ERR_ARG, "%s: d (columns) must be >= 1, got d = %d", fn, d);
    return MG_OK;
}

/* Copies W into a contiguous (p, d) double array, so the inner loops run
 * over unit stride whatever the caller's layout, and rejects NaN/Inf (which
 * would make the sort and the key set meaningless). */
static mg_status load(const float *w, int p, int d, int64_t rs, int64_t cs, const char *fn,
                      double **out) {
    double *a = mg_malloc((size_t)p * (size_t)d * sizeof *a);
    if (!a) return mg_fail(MG_ERR_NOMEM, "%s: cannot allocate a %d x %d copy", fn, p, d);
    for (int x = 0; x < p; x++) {
        for (int j = 0; j < d; j++) {
            float v = w[(int64_t)x * rs + (int64_t)j * cs];
            if (!isfinite(v)) {
                mg_free(a);
                return mg_fail(MG_ERR_NUMERIC, "%s: w[%d, %d] is not finite (%g)", fn, x, j,
                               (double)v);
            }
            a[(size_t)x * (size_t)d + (size_t)j] = v;
        }
    }
    *out = a;
    return MG_OK;
}

/* cos/sin of 2 pi r / p for r = 0..p-1. Angles are taken from the residue
 * (k x mod p), never from k x itself, so large k x loses no precision. */
static mg_status trig_tables(int p, const char *fn, double **c, double **s) {
    *c = mg_malloc((size_t)p * sizeof **c);
    *s = mg_malloc((size_t)p * sizeof **s);
    if (!*c || !*s) {
        mg_free(*c);
        mg_free(*s);
        *c = *s = NULL;
        return mg_fail(MG_ERR_NOMEM, "%s: cannot allocate trig tables for p = %d", fn, p);
    }
    for (int r = 0; r < p; r++) {
        double t = 2.0 * M_PI * (double)r / (double)p;
        (*c)[r] = cos(t);
        (*s)[r] = sin(t);
    }
    return MG_OK;
}

/* Projects every column of wd (p, d) onto cos/sin of frequency k:
 * ca[j] = sum_x wd[x, j] cos(2 pi k x / p), sa[j] likewise (unnormalised). */
static void project(const double *wd, int p, int d, int k, const double *ct, const double *st,
                    double *ca, double *sa) {
    for (int j = 0; j < d; j++) ca[j] = sa[j] = 0.0;
    int r = 0; /* k x mod p, advanced by k per row */
    for (int x = 0; x < p; x++) {
        const double *row = wd + (size_t)x * (size_t)d;
        double c = ct[r], s = st[r];
        for (int j = 0; j < d; j++) {
            ca[j] += c * row[j];
            sa[j] += s * row[j];
        }
        r += k;
        if (r >= p) r -= p;
    }
}

/* ---- the spectrum ----------------------------------------------------------- */

static int is_key(double e, double max) { return e >= 0.25 * max * (1.0 - MG_FOURIER_KEY_SLACK); }

/* Energies that are only double rounding (constant rows leave ~1e-30 of
 * ||W||^2) are no structure. One float32 entry moved by one ulp (2^-24
 * relative) already gives ~3.5e-15 / (p d) of ||W||^2, above 1e-24 for any
 * p d < 1e9, so the cut cannot hide a real variation of a matrix of
 * comparable entries. */
static int no_energy(double total, double dc) { return total <= MG_FOURIER_ZERO * (total + dc); }

/* Sorts the frequencies and fills top, n_key, concentration and gini. */
static void rank_energies(mg_fourier *f, double total) {
    int n = f->n_freq;
    /* Insertion sort is stable (ties keep the lower frequency first) and n
     * is a few dozen. */
    for (int i = 0; i < n; i++) {
        int k = i + 1, t = i;
        while (t > 0 && f->energy[f->order[t - 1] - 1] < f->energy[k - 1]) {
            f->order[t] = f->order[t - 1];
            t--;
        }
        f->order[t] = k;
    }
    f->top = f->order[0];
    if (no_energy(total, f->dc)) return; /* n_key, concentration, gini stay 0 */

    double max = f->energy[f->top - 1], key = 0.0, gsum = 0.0;
    for (int t = 0; t < n; t++) {
        double e = f->energy[f->order[t] - 1];
        if (is_key(e, max)) {
            f->n_key++;
            key += e;
        }
        /* Gini from the sorted values: sum_i sum_j |e_i - e_j| =
         * 2 sum_i (2i - n - 1) e_(i) over ascending ranks i = n - t. */
        gsum += (double)(n - 2 * t - 1) * e;
    }
    f->concentration = key / total;
    f->gini = gsum / ((double)n * total);
}

void mg_fourier_free(mg_fourier *f) {
    if (!f) return;
    mg_free(f->energy);
    mg_free(f->order);
    f->energy = NULL;
    f->order = NULL;
}

mg_status mg_fourier_compute(const float *w, int p, int d, int64_t rs, int64_t cs,
                             mg_fourier *out) {
    static const char fn[] = "mg_fourier_compute";
    if (!out) return mg_fail(MG_ERR_ARG, "%s: out is NULL", fn);
    memset(out, 0, sizeof *out);
    mg_status st = check_shape(w, p, d, fn);
    if (st != MG_OK) return st;

    double *wd = NULL, *ct = NULL, *stab = NULL;
    if ((st = load(w, p, d, rs, cs, fn, &wd)) != MG_OK) return st;
    if ((st = trig_tables(p, fn, &ct, &stab)) != MG_OK) {
        mg_free(wd);
        return st;
    }
    int n = (p - 1) / 2;
    double *ca = mg_malloc((size_t)d * sizeof *ca);
    double *sa = mg_malloc((size_t)d * sizeof *sa);
    out->energy = mg_malloc((size_t)n * sizeof *out->energy);
    out->order = mg_malloc((size_t)n * sizeof *out->order);
    if (!ca || !sa || !out->energy || !out->order) {
        st = mg_fail(MG_ERR_NOMEM, "%s: cannot allocate the spectrum of p = %d, d = %d", fn, p, d);
        mg_fourier_free(out);
        goto done;
    }
    out->p = p;
    out->n_freq = n;

    /* e_k = (2/p) sum_j (ca_j^2 + sa_j^2): the sqrt(2/p) of the basis, squared. */
    double total = 0.0;
    for (int k = 1; k <= n; k++) {
        project(wd, p, d, k, ct, stab, ca, sa);
        double e = 0.0;
        for (int j = 0; j < d; j++) e += ca[j] * ca[j] + sa[j] * sa[j];
        out->energy[k - 1] = e * 2.0 / p;
        total += out->energy[k - 1];
    }
    /* dc = (1/p) sum_j (sum_x w[x, j])^2. */
    double dc = 0.0;
    for (int j = 0; j < d; j++) {
        double c = 0.0;
        for (int x = 0; x < p; x++) c += wd[(size_t)x * (size_t)d + (size_t)j];
        dc += c * c;
    }
    out->dc = dc / p;

    rank_energies(out, total);

done:
    mg_free(ca);
    mg_free(sa);
    mg_free(ct);
    mg_free(stab);
    mg_free(wd);
    return st;
}

double mg_fourier_top_share(const mg_fourier *f, int m) {
    if (!f || !f->energy || f->n_freq < 1) return 0.0;
    if (m < 1) m = 1;
    if (m > f->n_freq) m = f->n_freq;
    double total = 0.0, top = 0.0;
    for (int k = 0; k < f->n_freq; k++) total += f->energy[k];
    for (int t = 0; t < m; t++) top += f->energy[f->order[t] - 1];
    return no_energy(total, f->dc) ? 0.0 : top / total;
}

mg_status mg_fourier_keys_str(const mg_fourier *f, char *buf, size_t n) {
    if (!f || !f->energy) return mg_fail(MG_ERR_ARG, "mg_fourier_keys_str: no spectrum");
    if (!buf || n == 0) return mg_fail(MG_ERR_ARG, "mg_fourier_keys_str: empty buffer");
    size_t len = 0;
    buf[0] = '\0';
    for (int k = 1; k <= f->n_freq; k++) { /* increasing k: the key set, not its ranking */
        int key = 0;
        for (int t = 0; t < f->n_key; t++) key |= f->order[t] == k;
        if (!key) continue;
        int w = snprintf(buf + len, n - len, "%s%d", len ? "," : "", k);
        if (w < 0 || (size_t)w >= n - len) {
            buf[len] = '\0';
            return mg_fail(MG_ERR_ARG,
                           "mg_fourier_keys_str: buffer of %zu bytes is too small for %d key "
                           "frequencies",
                           n, f->n_key);
        }
        len += (size_t)w;
    }
    return MG_OK;
}

/* ---- circles ---------------------------------------------------------------- */

static double dot(const double *a, const double *b, int d) {
    double s = 0.0;
    for (int j = 0; j < d; j++) s += a[j] * b[j];
    return s;
}

mg_status mg_fourier_circle_fit(const float *w, int p, int d, int64_t rs, int64_t cs, int k,
                                double *radius_cv, double *angle_corr, double *xy) {
    static const char fn[] = "mg_fourier_circle_fit";
    mg_status st = check_shape(w, p, d, fn);
    if (st != MG_OK) return st;
    if (k < 1 || k > (p - 1) / 2)
        return mg_fail(MG_ERR_ARG, "%s: frequency k must be in 1..%d for p = %d, got k = %d", fn,
                       (p - 1) / 2, p, k);

    double *wd = NULL, *ct = NULL, *stab = NULL;
    if ((st = load(w, p, d, rs, cs, fn, &wd)) != MG_OK) return st;
    if ((st = trig_tables(p, fn, &ct, &stab)) != MG_OK) {
        mg_free(wd);
        return st;
    }
    /* One block: mean, u (a_k), v (b_k) in R^d, then the p radii. */
    double *mean = mg_calloc((size_t)d * 3 + (size_t)p, sizeof *mean);
    if (!mean) {
        st = mg_fail(MG_ERR_NOMEM, "%s: cannot allocate %d-vectors", fn, d);
        goto done;
    }
    double *u = mean + d, *v = mean + 2 * d, *rad = mean + 3 * d;

    /* Centre the rows: the circle's centre is the mean row, not the origin. */
    for (int x = 0; x < p; x++)
        for (int j = 0; j < d; j++) mean[j] += wd[(size_t)x * (size_t)d + (size_t)j];
    for (int j = 0; j < d; j++) mean[j] /= p;
    double frob2 = 0.0;
    for (int x = 0; x < p; x++) {
        double *row = wd + (size_t)x * (size_t)d;
        for (int j = 0; j < d; j++) {
            row[j] -= mean[j];
            frob2 += row[j] * row[j];
        }
    }
    project(wd, p, d, k, ct, stab, u, v); /* u = a_k, v = b_k */

    /* Cauchy-Schwarz bounds |a_k| by sqrt(p/2) ||W - m||_F: norms below
     * 1e-12 of that are rounding, not signal. */
    double na = sqrt(dot(u, u, d)), nb = sqrt(dot(v, v, d));
    double tiny = 1e-12 * sqrt(0.5 * p * frob2);
    if (!(fmax(na, nb) > tiny)) {
        st = mg_fail(MG_ERR_NUMERIC,
                     "%s: frequency k = %d carries no energy in these rows (|a_k| = %g, "
                     "|b_k| = %g): no plane to project on",
                     fn, k, na, nb);
        goto done;
    }
    if (na > tiny) {
        for (int j = 0; j < d; j++) u[j] /= na;
        double c = dot(v, u, d);
        for (int j = 0; j < d; j++) v[j] -= c * u[j];
    } else { /* a_k vanishes: the sine direction is the only one */
        for (int j = 0; j < d; j++) u[j] = v[j] / nb;
        for (int j = 0; j < d; j++) v[j] = 0.0;
    }
    double nv = sqrt(dot(v, v, d));
    for (int j = 0; j < d; j++) v[j] = nv > tiny ? v[j] / nv : 0.0; /* a line: v = 0 */

    double rsum = 0.0, sc = 0.0, ss = 0.0, rc = 0.0, rsn = 0.0;
    int r = 0; /* k x mod p */
    for (int x = 0; x < p; x++) {
        const double *row = wd + (size_t)x * (size_t)d;
        double px = dot(row, u, d), py = dot(row, v, d);
        if (xy) {
            xy[2 * x] = px;
            xy[2 * x + 1] = py;
        }
        rad[x] = hypot(px, py);
        rsum += rad[x];
        double th = atan2(py, px), phi = 2.0 * M_PI * (double)r / (double)p;
        sc += cos(th - phi); /* same orientation */
        ss += sin(th - phi);
        rc += cos(th + phi); /* reflected */
        rsn += sin(th + phi);
        r += k;
        if (r >= p) r -= p;
    }
    /* Two passes for the variance: a near-perfect circle would lose its
     * tiny spread to cancellation in E[r^2] - E[r]^2. */
    double mr = rsum / p, var = 0.0;
    for (int x = 0; x < p; x++) var += (rad[x] - mr) * (rad[x] - mr);
    if (radius_cv) *radius_cv = mr > 0.0 ? sqrt(var / p) / mr : 0.0;
    if (angle_corr) *angle_corr = fmax(hypot(sc, ss), hypot(rc, rsn)) / p;

done:
    mg_free(mean);
    mg_free(ct);
    mg_free(stab);
    mg_free(wd);
    return st;
}
