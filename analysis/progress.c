/* progress.c — restricted and excluded loss, logit periodicity (see
 * progress.h). Every projection depends on (a, b) only through s = a + b
 * mod p, so the logits are first summed over the p inputs of each s. */
#include "analysis/progress.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "core/alloc.h"

static mg_status check(const float *logits, int p, const int *keys, int n_keys, const char *fn) {
    if (!logits) return mg_fail(MG_ERR_ARG, "%s: logits is NULL", fn);
    if (p < 3 || p % 2 == 0 || p > 4096)
        return mg_fail(MG_ERR_ARG, "%s: p must be odd, 3..4095, got %d", fn, p);
    if (n_keys < 0 || (n_keys > 0 && !keys))
        return mg_fail(MG_ERR_ARG, "%s: %d keys but the key list is NULL", fn, n_keys);
    for (int j = 0; j < n_keys; j++) {
        if (keys[j] < 1 || keys[j] > (p - 1) / 2)
            return mg_fail(MG_ERR_ARG, "%s: key frequency %d is outside 1..%d", fn, keys[j],
                           (p - 1) / 2);
        for (int i = 0; i < j; i++)
            if (keys[i] == keys[j])
                return mg_fail(MG_ERR_ARG, "%s: key frequency %d is listed twice", fn, keys[j]);
    }
    int64_t n = (int64_t)p * p * p;
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(logits[i]))
            return mg_fail(MG_ERR_NUMERIC, "%s: logit %lld is not finite", fn, (long long)i);
    return MG_OK;
}

static double cos_at(int k, int x, int p) {
    return cos(2.0 * M_PI * (double)((int64_t)k * x % p) / p);
}
static double sin_at(int k, int x, int p) {
    return sin(2.0 * M_PI * (double)((int64_t)k * x % p) / p);
}

/* mean[c] and proj[s * p + c] = (proj_K L_c)(s), both mg_malloc'd. */
static mg_status projections(const float *logits, int p, const int *keys, int n_keys,
                             double **mean_out, double **proj_out, const char *fn) {
    size_t pp = (size_t)p * p;
    double *sum = mg_malloc(pp * sizeof *sum), *proj = mg_malloc(pp * sizeof *proj);
    double *mean = mg_malloc((size_t)p * sizeof *mean);
    if (!sum || !proj || !mean) {
        mg_free(sum), mg_free(proj), mg_free(mean);
        return mg_fail(MG_ERR_NOMEM, "%s: no memory for p = %d", fn, p);
    }
    memset(sum, 0, pp * sizeof *sum);
    memset(proj, 0, pp * sizeof *proj);
    for (int a = 0; a < p; a++)
        for (int b = 0; b < p; b++) {
            const float *row = logits + ((size_t)a * p + b) * p;
            double *s = sum + (size_t)((a + b) % p) * p;
            for (int c = 0; c < p; c++) s[c] += row[c];
        }
    for (int c = 0; c < p; c++) {
        double m = 0.0;
        for (int s = 0; s < p; s++) m += sum[(size_t)s * p + c];
        mean[c] = m / (double)pp;
    }
    /* Over the p² inputs cos²(w_k s) sums to p²/2 (p odd, k != 0). */
    for (int j = 0; j < n_keys; j++) {
        int k = keys[j];
        for (int c = 0; c < p; c++) {
            double al = 0.0, be = 0.0;
            for (int s = 0; s < p; s++) {
                al += sum[(size_t)s * p + c] * cos_at(k, s, p);
                be += sum[(size_t)s * p + c] * sin_at(k, s, p);
            }
            al *= 2.0 / (double)pp, be *= 2.0 / (double)pp;
            for (int s = 0; s < p; s++)
                proj[(size_t)s * p + c] += al * cos_at(k, s, p) + be * sin_at(k, s, p);
        }
    }
    mg_free(sum);
    *mean_out = mean;
    *proj_out = proj;
    return MG_OK;
}

/* −log softmax(z)[y] for the p values z computed by f. */
static double xent(const double *z, int p, int y) {
    double mx = z[0];
    for (int c = 1; c < p; c++) mx = fmax(mx, z[c]);
    double s = 0.0;
    for (int c = 0; c < p; c++) s += exp(z[c] - mx);
    return mx + log(s) - z[y];
}

static mg_status check_labels(const int *labels, int p, const char *fn) {
    if (!labels) return mg_fail(MG_ERR_ARG, "%s: labels is NULL", fn);
    for (int64_t i = 0; i < (int64_t)p * p; i++)
        if (labels[i] < 0 || labels[i] >= p)
            return mg_fail(MG_ERR_ARG, "%s: label %d of input %lld is outside 0..%d", fn, labels[i],
                           (long long)i, p - 1);
    return MG_OK;
}

/* The mean cross-entropy over the given rows (NULL: all p² inputs, in
 * order) of the restricted logits (mean + proj) or the excluded ones
 * (logits − proj): the two losses differ only in that line. */
static mg_status mean_loss(const float *logits, int p, const int *labels, const int64_t *rows,
                           int64_t n_rows, const int *keys, int n_keys, bool restricted,
                           const char *fn, double *loss) {
    if (!loss) return mg_fail(MG_ERR_ARG, "%s: loss is NULL", fn);
    mg_status st = check(logits, p, keys, n_keys, fn);
    if (st == MG_OK) st = check_labels(labels, p, fn);
    if (st != MG_OK) return st;
    int64_t pp = (int64_t)p * p, n = rows ? n_rows : pp;
    for (int64_t i = 0; rows && i < n_rows; i++)
        if (rows[i] < 0 || rows[i] >= pp)
            return mg_fail(MG_ERR_ARG, "%s: row %lld is outside 0..%lld", fn, (long long)rows[i],
                           (long long)pp - 1);
    double *mean = NULL, *proj = NULL;
    if ((st = projections(logits, p, keys, n_keys, &mean, &proj, fn)) != MG_OK) return st;
    double *z = mg_malloc((size_t)p * sizeof *z), total = 0.0;
    if (!z) {
        mg_free(mean), mg_free(proj);
        return mg_fail(MG_ERR_NOMEM, "%s: no memory", fn);
    }
    for (int64_t i = 0; i < n; i++) {
        int64_t r = rows ? rows[i] : i;
        const float *row = logits + (size_t)r * p;
        const double *pr = proj + (size_t)((r / p + r % p) % p) * p;
        for (int c = 0; c < p; c++) z[c] = restricted ? mean[c] + pr[c] : (double)row[c] - pr[c];
        total += xent(z, p, labels[r]);
    }
    mg_free(z), mg_free(mean), mg_free(proj);
    *loss = total / (double)n;
    return MG_OK;
}

mg_status mg_progress_restricted_loss(const float *logits, int p, const int *labels,
                                      const int *keys, int n_keys, double *loss) {
    return mean_loss(logits, p, labels, NULL, 0, keys, n_keys, true, "mg_progress_restricted_loss",
                     loss);
}

mg_status mg_progress_excluded_loss(const float *logits, int p, const int *labels,
                                    const int64_t *rows, int64_t n_rows, const int *keys,
                                    int n_keys, double *loss) {
    if (!rows || n_rows < 1)
        return mg_fail(MG_ERR_ARG, "mg_progress_excluded_loss: need at least one row");
    return mean_loss(logits, p, labels, rows, n_rows, keys, n_keys, false,
                     "mg_progress_excluded_loss", loss);
}

mg_status mg_progress_periodicity(const float *logits, int p, const int *keys, int n_keys,
                                  double *share) {
    static const char fn[] = "mg_progress_periodicity";
    if (!share) return mg_fail(MG_ERR_ARG, "%s: share is NULL", fn);
    mg_status st = check(logits, p, keys, n_keys, fn);
    if (st != MG_OK) return st;
    double *t = mg_malloc((size_t)p * sizeof *t);
    if (!t) return mg_fail(MG_ERR_NOMEM, "%s: no memory", fn);
    memset(t, 0, (size_t)p * sizeof *t);
    double sum = 0.0, n = (double)p * p * p;
    for (int a = 0; a < p; a++)
        for (int b = 0; b < p; b++) {
            const float *row = logits + ((size_t)a * p + b) * p;
            for (int c = 0; c < p; c++) {
                t[((a + b - c) % p + p) % p] += row[c];
                sum += row[c];
            }
        }
    double mean = sum / n, var = 0.0, scale = 0.0;
    for (int64_t i = 0; i < (int64_t)p * p * p; i++) {
        double v = logits[i] - mean;
        var += v * v;
        scale = fmax(scale, fabs((double)logits[i]));
    }
    double explained = 0.0;
    for (int j = 0; j < n_keys; j++) {
        double g = 0.0;
        for (int x = 0; x < p; x++) g += t[x] * cos_at(keys[j], x, p);
        explained += g * g / (n / 2.0);
    }
    mg_free(t);
    /* A cube constant up to rounding has no variance to explain. */
    *share = var > 1e-20 * scale * scale * n ? fmin(1.0, explained / var) : 0.0;
    return MG_OK;
}
