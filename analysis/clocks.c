/* clocks.c — times read off metric series (see clocks.h). Every function is
 * a single pass over the arrays; the "stays" functions scan backwards from
 * the end, since the last value decides and the answer is a suffix. */
#include "analysis/clocks.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"

int64_t mg_clocks_first_crossing(const int64_t *steps, const double *v, int n, double threshold,
                                 bool above) {
    if (!steps || !v) return -1;
    for (int i = 0; i < n; i++)
        if (above ? v[i] >= threshold : v[i] <= threshold) return steps[i];
    return -1;
}

int64_t mg_clocks_onset_half(const int64_t *steps, const double *v, int n) {
    if (!steps || !v || n < 2) return -1;
    double rise = v[n - 1] - v[0];
    if (rise == 0 || isnan(rise)) return -1;
    for (int i = 0; i < n; i++)
        if ((v[i] - v[0]) / rise >= 0.5) return steps[i];
    return -1; /* unreachable for finite values: the last sample has covered all */
}

int64_t mg_clocks_settle_step(const int64_t *steps, const double *v, int n, double rel) {
    if (!steps || !v || n <= 0) return -1;
    double last = v[n - 1], tol = rel * fabs(last);
    if (!(fabs(v[n - 1] - last) <= tol)) return -1; /* NaN final value */
    int i = n - 1;
    while (i > 0 && fabs(v[i - 1] - last) <= tol) i--;
    return steps[i];
}

int64_t mg_clocks_stays_above(const int64_t *steps, const double *v, int n, double threshold) {
    if (!steps || !v || n <= 0) return -1;
    if (!(v[n - 1] >= threshold)) return -1;
    int i = n - 1;
    while (i > 0 && v[i - 1] >= threshold) i--;
    return steps[i];
}

int64_t mg_clocks_t_simplify(const int64_t *steps, const double *energy, const double *conc, int n,
                             double rel, double conc_threshold) {
    int64_t te = mg_clocks_settle_step(steps, energy, n, rel);
    int64_t tc = mg_clocks_stays_above(steps, conc, n, conc_threshold);
    if (te < 0 || tc < 0) return -1;
    return te > tc ? te : tc;
}

double mg_clocks_cumulative(const int64_t *steps, const double *v, int n, int64_t until) {
    if (!steps || !v || n <= 0) return NAN;
    double sum = 0;
    for (int i = 0; i < n && steps[i] < until; i++) {
        /* The last sample repeats the previous interval: probes are regular. */
        int64_t next = i + 1 < n ? steps[i + 1] : steps[i] + (n > 1 ? steps[i] - steps[i - 1] : 1);
        if (next > until) next = until;
        sum += v[i] * (double)(next - steps[i]);
    }
    return sum;
}

mg_clocks_lead mg_clocks_lead_of(int64_t t_classifier, int64_t t_embed) {
    mg_clocks_lead l = {.t_classifier = t_classifier, .t_embed = t_embed};
    if (t_classifier == -1 || t_embed == -1) {
        l.lead_steps = MG_CLOCKS_LEAD_NONE;
        l.lead_ratio = NAN;
        return l;
    }
    l.lead_steps = t_embed - t_classifier;
    l.lead_ratio = t_classifier > 0 ? (double)t_embed / (double)t_classifier : NAN;
    return l;
}

typedef struct {
    int64_t step;
    int64_t row; /* the tie-break that makes qsort stable */
} row_ref;

static int cmp_row(const void *pa, const void *pb) {
    const row_ref *a = pa, *b = pb;
    if (a->step != b->step) return a->step < b->step ? -1 : 1;
    return (a->row > b->row) - (a->row < b->row);
}

mg_status mg_clocks_series_select(const int64_t *steps, const char *const *keys, const double *vals,
                                  int64_t nrows, const char *name, int64_t **out_steps,
                                  double **out_vals, int *out_n) {
    if (!out_steps || !out_vals || !out_n)
        return mg_fail(MG_ERR_ARG,
                       "mg_clocks_series_select: out_steps, out_vals and out_n must not be "
                       "NULL");
    *out_steps = NULL;
    *out_vals = NULL;
    *out_n = 0;
    if (!name)
        return mg_fail(MG_ERR_ARG, "mg_clocks_series_select: the series name must not be NULL");
    if (nrows < 0)
        return mg_fail(MG_ERR_ARG, "mg_clocks_series_select: nrows must be >= 0, got %lld",
                       (long long)nrows);
    if (nrows > 0 && (!steps || !keys || !vals))
        return mg_fail(MG_ERR_ARG,
                       "mg_clocks_series_select: steps, keys and vals must not be NULL");

    int64_t m = 0;
    for (int64_t i = 0; i < nrows; i++) m += keys[i] && strcmp(keys[i], name) == 0;
    if (m == 0) return MG_OK;
    if (m > INT_MAX)
        return mg_fail(MG_ERR_ARG,
                       "mg_clocks_series_select: series '%s' has %lld rows, more than %d", name,
                       (long long)m, INT_MAX);

    row_ref *refs = mg_malloc((size_t)m * sizeof *refs);
    int64_t *os = mg_malloc((size_t)m * sizeof *os);
    double *ov = mg_malloc((size_t)m * sizeof *ov);
    if (!refs || !os || !ov) {
        mg_free(refs);
        mg_free(os);
        mg_free(ov);
        return mg_fail(MG_ERR_NOMEM, "mg_clocks_series_select: out of memory for %lld rows of '%s'",
                       (long long)m, name);
    }
    int64_t j = 0;
    for (int64_t i = 0; i < nrows; i++)
        if (keys[i] && strcmp(keys[i], name) == 0) refs[j++] = (row_ref){steps[i], i};
    /* Tables are usually in step order already; sorting makes sure. */
    qsort(refs, (size_t)m, sizeof *refs, cmp_row);
    for (int64_t i = 0; i < m; i++) {
        os[i] = refs[i].step;
        ov[i] = vals[refs[i].row];
    }
    mg_free(refs);
    *out_steps = os;
    *out_vals = ov;
    *out_n = (int)m;
    return MG_OK;
}
