/* clocks.h — times read off metric series: crossings, onsets, settling, and
 * the classifier-versus-embedding lead (analysis/README.md, "Clocks, onsets and
 * leads").
 *
 * A series is two parallel arrays: steps (ascending) and values. Every time
 * returned is one of the given steps, or -1 when the event never happens, so
 * a time is only as fine as the sampling (a probe every 50 steps gives
 * onsets on multiples of 50). NULL arrays or n <= 0 give -1 (NaN for
 * mg_clocks_cumulative). A NaN value never satisfies a comparison. */
#ifndef MG_CLOCKS_H
#define MG_CLOCKS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"

/* First step s_i with v_i >= threshold (above = true) or v_i <= threshold
 * (above = false); -1 if none. T_fit and T_grok are such crossings. */
int64_t mg_clocks_first_crossing(const int64_t *steps, const double *v, int n, double threshold,
                                 bool above);

/* First step at which the series has covered half of its rise from its
 * initial to its final value: the first i with (v_i − v_0) / (v_last − v_0)
 * >= 0.5. A relative threshold, so a layer whose metric never reaches an
 * absolute level still gets an onset. Works for falling series (the rise is
 * then negative). -1 if n < 2 or v_last == v_0 (no rise). */
int64_t mg_clocks_onset_half(const int64_t *steps, const double *v, int n);

/* First step after which the series stays within rel (e.g. 0.05) of its
 * final value: the smallest s_i with |v_j − v_last| <= rel·|v_last| for all
 * j >= i. -1 if n <= 0 or the final value is NaN. A final value of 0 only
 * admits exact zeros. */
int64_t mg_clocks_settle_step(const int64_t *steps, const double *v, int n, double rel);

/* First step after which v stays >= threshold (v_j >= threshold for all
 * j >= i); -1 if the last value is below (or NaN). */
int64_t mg_clocks_stays_above(const int64_t *steps, const double *v, int n, double threshold);

/* T_simplify: the first step after which the structural energy stays within
 * rel of its final value AND the key-frequency concentration stays above
 * conc_threshold: max(mg_clocks_settle_step(energy), mg_clocks_stays_above(conc)); -1 if
 * either is -1. Both series share the same steps. */
int64_t mg_clocks_t_simplify(const int64_t *steps, const double *energy, const double *conc, int n,
                             double rel, double conc_threshold);

/* Approximate Σ_{t < until} v(t) over EVERY step t from a series sampled every
 * few steps (the cumulative update ratio over the first N steps): each sample
 * stands for the steps from it up to the next sample (a zero-order hold),
 *   Σ_i v_i · (min(s_{i+1}, until) − s_i)   over the i with s_i < until.
 * The last sample stands for one more sampling interval (s_last − s_{last−1};
 * 1 step if it is the only sample), also cut at until, so a series that ends
 * before until is not extrapolated past its own sampling. With a probe at
 * every step this is the plain sum of the values at steps < until. NaN if
 * n <= 0 or an array is NULL; 0 if no sample is before until. */
double mg_clocks_cumulative(const int64_t *steps, const double *v, int n, int64_t until);

/* lead_steps when either time is -1 (there is no lead to measure). */
#define MG_CLOCKS_LEAD_NONE INT64_MIN

typedef struct {
    int64_t t_classifier, t_embed;
    int64_t lead_steps; /* t_embed − t_classifier; > 0: the classifier moved first */
    double lead_ratio;  /* t_embed / t_classifier */
} mg_clocks_lead;

/* lead_steps = t_embed − t_classifier (MG_CLOCKS_LEAD_NONE if either is -1);
 * lead_ratio = t_embed / t_classifier (NaN if t_classifier <= 0 or either is
 * -1: an onset at step 0 has no ratio). */
mg_clocks_lead mg_clocks_lead_of(int64_t t_classifier, int64_t t_embed);

/* Pulls one series out of a long-format table of (step, key, value) rows,
 * such as the per-layer probe CSV: the rows with keys[i] equal to name, sorted
 * by step (stably: rows with the same step keep their table order). Rows with
 * a NULL key are skipped. *out_steps and *out_vals are mg_malloc'd (free both
 * with mg_free); no matching row gives *out_n = 0 and NULL arrays, not an
 * error, so the caller decides whether a missing series matters. */
mg_status mg_clocks_series_select(const int64_t *steps, const char *const *keys, const double *vals,
                                  int64_t nrows, const char *name, int64_t **out_steps,
                                  double **out_vals, int *out_n);

#endif
