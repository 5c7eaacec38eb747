/* sweep_stats.h — statistics over the runs of a sweep: summaries of a sample,
 * the λ_crit boundary of a λ × K grid, its log–log fit against K, a bootstrap
 * over seeds of the fit's slope, and the theory's prediction for the nuclear
 * norm penalty (analysis/README.md, "Sweeps").
 *
 * Pure functions over plain arrays: a run is an index i into parallel arrays
 * K[i], lambda[i], seed[i], cyclic[i]. The caller passes only usable runs
 * (finished, with a geometry label); which runs it left out, and why, is the
 * caller's to say.
 *
 * The boundary rules. For one K, its grid is the distinct λ of its runs,
 * ascending, and a cell (K, λ) is cyclic when a strict majority of its runs
 * are (cyclic count > half the runs; 1 of 2 is not a majority).
 *   MG_SWEEP_STATS_FIRST (SCIENCE.md's definition, the one reported first):
 *     λ_crit(K) is the smallest grid λ at which most seeds end cyclic.
 *     FOUND when a smaller grid λ exists (lambda_below: the largest of them,
 *     not cyclic by construction), CENSORED when it is the grid's smallest,
 *     NONE when no cell is cyclic.
 *   MG_SWEEP_STATS_STABLE (a stricter variant, reported beside it): λ_crit(K)
 *     is the smallest grid λ from which on every cell — that λ and every
 *     larger λ of the grid — is cyclic. It differs from FIRST where a strong
 *     λ stops the fit altogether (the largest λ's runs no longer fit their
 *     training set and end "neither") or where cyclic cells are scattered.
 * For the STABLE rule: So a single cyclic cell below a
 * non-cyclic one does not move the boundary down: the boundary is where the
 * cyclic phase begins for good. Three outcomes, kept apart:
 *   FOUND      the boundary is a grid λ above the smallest; the cell just
 *              below it (lambda_below) is not cyclic, so the true boundary
 *              lies in (lambda_below, lambda_crit];
 *   CENSORED   every cell is cyclic: the boundary is at or below the grid's
 *              smallest λ (lambda_crit holds that λ as an upper bound);
 *   NONE       the largest λ's cell is not cyclic: no boundary on this grid
 *              (n_cyclic_cells tells "none cyclic" from "cyclic only at some
 *              middle λ").
 * The fit uses FOUND boundaries only: a censored one is a bound, not a value.
 *
 * The bootstrap (over seeds, as the theory's claim is about the seed
 * distribution at each grid point): for each K, its distinct seeds are drawn
 * with replacement (as many draws as seeds), and the same drawn multiset
 * applies to every λ of that K — a seed drawn twice counts twice in each of
 * its cells — so a seed's whole λ profile stays together. The boundaries and
 * the slope are recomputed from the weighted cells; a λ whose cell gets no
 * run in a resample is left out of that resample's grid. A resample with
 * fewer than 2 FOUND boundaries has no slope and is counted, not used. The
 * interval is the percentile interval of the slopes: the 2.5% and 97.5%
 * quantiles with linear interpolation between order statistics (position
 * (n − 1)·q of the sorted slopes). The RNG is core/rng.h's, seeded with a
 * fixed seed, so the interval is the same on every run. */
#ifndef MG_SWEEP_STATS_H
#define MG_SWEEP_STATS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"

/* ---- a sample --------------------------------------------------------------- */

typedef struct {
    int64_t count;   /* entries that are not NaN */
    double mean;     /* NaN when count = 0 */
    double std;      /* sample standard deviation (n − 1); NaN when count < 2 */
    double min, max; /* NaN when count = 0 */
} mg_sweep_stats_summary;

/* Summary of x[0..n-1], NaN entries skipped (a run that lacks the number). */
mg_sweep_stats_summary mg_sweep_stats_summarize(const double *x, int64_t n);

/* ---- λ_crit ------------------------------------------------------------------ */

typedef enum {
    MG_SWEEP_STATS_FOUND,    /* a boundary inside the grid */
    MG_SWEEP_STATS_CENSORED, /* all cyclic: at or below the grid's smallest λ */
    MG_SWEEP_STATS_NONE,     /* the largest λ is not cyclic: no boundary */
} mg_sweep_stats_kind;

/* "found", "censored (all cyclic)", "none (largest λ not cyclic)" */
const char *mg_sweep_stats_kind_name(mg_sweep_stats_kind k);

typedef enum {
    MG_SWEEP_STATS_FIRST,  /* the smallest λ with a cyclic majority (SCIENCE.md) */
    MG_SWEEP_STATS_STABLE, /* the smallest λ from which on every cell is cyclic */
} mg_sweep_stats_rule;

typedef struct {
    double K;
    mg_sweep_stats_kind kind;
    double lambda_crit;  /* FOUND: the boundary; CENSORED: the smallest λ (a bound); NONE: NaN */
    double lambda_below; /* FOUND: the grid λ just below it; else NaN */
    int n_lambda;        /* the K's grid λ */
    int n_seeds;         /* its distinct seeds */
    int64_t n_runs;
    int n_cyclic_cells; /* cells with a cyclic majority */
} mg_sweep_stats_boundary;

/* The boundary of each distinct K, ascending in K, into out[0..*n_k-1]
 * (out holds max_k). MG_ERR_ARG when a K or λ is not a positive finite
 * number, or when there are more than max_k distinct K. n = 0 gives *n_k = 0. */
mg_status mg_sweep_stats_boundaries(int64_t n, const double *K, const double *lambda,
                                    const int64_t *seed, const bool *cyclic,
                                    mg_sweep_stats_rule rule, int max_k,
                                    mg_sweep_stats_boundary *out, int *n_k);

/* ---- the log–log fit ----------------------------------------------------------- */

typedef struct {
    int n;            /* points fitted */
    double slope;     /* d log λ / d log K; NaN when n < 2 or every K is the same */
    double intercept; /* natural log: log λ = intercept + slope·log K */
    double rse;       /* residual standard error, sqrt(RSS / (n − 2)); NaN when n < 3 */
    double slope_se;  /* the slope's standard error, rse / sqrt(Σ(log K − mean)²) */
} mg_sweep_stats_fit;

/* Least squares of log y on log x over the n points (x, y > 0). */
mg_sweep_stats_fit mg_sweep_stats_loglog_fit(int n, const double *x, const double *y);

/* The fit over the FOUND boundaries of b[0..n_k-1]. */
mg_sweep_stats_fit mg_sweep_stats_fit_boundaries(const mg_sweep_stats_boundary *b, int n_k);

/* ---- the bootstrap over seeds --------------------------------------------------- */

#define MG_SWEEP_STATS_BOOTSTRAP_B 2000
#define MG_SWEEP_STATS_BOOTSTRAP_SEED 20261201u
#define MG_SWEEP_STATS_LEVEL 0.95

typedef struct {
    int B;              /* resamples drawn */
    int n_used;         /* those with a slope (at least 2 FOUND boundaries) */
    int n_insufficient; /* those with fewer than 2 usable K */
    double lo, hi;      /* the 95% percentile interval of the slope; NaN when n_used = 0 */
    double median;      /* of the slopes; NaN when n_used = 0 */
} mg_sweep_stats_bootstrap;

/* The bootstrap of the fit's slope over seeds (see the top of this file),
 * B resamples from an RNG seeded with rng_seed. Same arguments as
 * mg_sweep_stats_boundaries; MG_ERR_ARG for B < 1 or bad K / λ. */
mg_status mg_sweep_stats_bootstrap_slope(int64_t n, const double *K, const double *lambda,
                                         const int64_t *seed, const bool *cyclic,
                                         mg_sweep_stats_rule rule, int B, uint64_t rng_seed,
                                         mg_sweep_stats_bootstrap *out);

/* ---- the theory ------------------------------------------------------------------ */

/* The modified Bessel function of the first kind I₀(x) = Σ_k (x²/4)^k / (k!)²,
 * summed until a term no longer changes the sum. */
double mg_sweep_stats_bessel_i0(double x);

/* The nuclear-norm (Schatten q = 1, τ̃ = 1) prediction for unit-column class
 * vectors: λ_crit(K) = log I₀(1) / (‖W_ETF‖_* − ‖W_cyc‖_*) with ‖W_ETF‖_* =
 * √(K(K−1)) and ‖W_cyc‖_* = √(2K). NaN for K <= 3 (the denominator is not
 * positive). 1.04e-2 at K = 31, 2.42e-3 at K = 113. */
double mg_sweep_stats_theory_lambda_crit(double K);

#endif
