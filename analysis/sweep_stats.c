/* sweep_stats.c — summaries, the λ_crit boundary, its log–log fit, the
 * bootstrap over seeds and the theory's λ_crit (rules in sweep_stats.h). */
#include "analysis/sweep_stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/rng.h"

/* ---- a sample ------------------------------------------------------------------ */

mg_sweep_stats_summary mg_sweep_stats_summarize(const double *x, int64_t n) {
    mg_sweep_stats_summary s = {0, NAN, NAN, NAN, NAN};
    double sum = 0;
    for (int64_t i = 0; i < n; i++) {
        if (isnan(x[i])) continue;
        if (s.count == 0 || x[i] < s.min) s.min = x[i];
        if (s.count == 0 || x[i] > s.max) s.max = x[i];
        sum += x[i];
        s.count++;
    }
    if (s.count == 0) return s;
    s.mean = sum / (double)s.count;
    if (s.count < 2) return s;
    double ss = 0; /* two passes: the spread of nearly equal values keeps its digits */
    for (int64_t i = 0; i < n; i++)
        if (!isnan(x[i])) ss += (x[i] - s.mean) * (x[i] - s.mean);
    s.std = sqrt(ss / (double)(s.count - 1));
    return s;
}

/* ---- one K's cells ------------------------------------------------------------------ */

const char *mg_sweep_stats_kind_name(mg_sweep_stats_kind k) {
    switch (k) {
    case MG_SWEEP_STATS_FOUND: return "found";
    case MG_SWEEP_STATS_CENSORED: return "censored (all cyclic)";
    case MG_SWEEP_STATS_NONE: return "none (largest λ not cyclic)";
    }
    return "?";
}

/* The runs of one K as a seeds × λ table of counts. */
typedef struct {
    double K;
    int nl, ns;
    double *lam;     /* (nl) ascending */
    int64_t *seeds;  /* (ns) ascending */
    int *runs, *cyc; /* (ns, nl): runs and cyclic runs of seed s at λ l */
    int64_t n_runs;
} kgrid;

typedef struct {
    int nk;
    kgrid *k; /* ascending in K */
} grid;

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int index_of(const double *v, int n, double x) {
    for (int i = 0; i < n; i++)
        if (v[i] == x) return i;
    return -1;
}

static int index_of_i64(const int64_t *v, int n, int64_t x) {
    for (int i = 0; i < n; i++)
        if (v[i] == x) return i;
    return -1;
}

static void grid_free(grid *g) {
    for (int i = 0; i < g->nk; i++) {
        mg_free(g->k[i].lam);
        mg_free(g->k[i].seeds);
        mg_free(g->k[i].runs);
        mg_free(g->k[i].cyc);
    }
    mg_free(g->k);
    g->k = NULL;
    g->nk = 0;
}

static bool positive(double x) { return isfinite(x) && x > 0; }

/* Sorts v[0..n-1] and drops repeats; returns the count left. */
static int64_t distinct_doubles(double *v, int64_t n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++)
        if (m == 0 || v[i] != v[m - 1]) v[m++] = v[i];
    return m;
}

static mg_status grid_build(int64_t n, const double *K, const double *lambda, const int64_t *seed,
                            const bool *cyclic, int max_k, grid *g) {
    memset(g, 0, sizeof *g);
    if (n < 0 || (n > 0 && (!K || !lambda || !seed || !cyclic)))
        return mg_fail(MG_ERR_ARG, "sweep stats: %lld runs with a missing array", (long long)n);
    for (int64_t i = 0; i < n; i++) {
        if (!positive(K[i]))
            return mg_fail(MG_ERR_ARG, "sweep stats: run %lld has K = %g (must be > 0)",
                           (long long)i, K[i]);
        if (!positive(lambda[i]))
            return mg_fail(MG_ERR_ARG, "sweep stats: run %lld has lambda = %g (must be > 0)",
                           (long long)i, lambda[i]);
    }
    if (n == 0) return MG_OK;
    double *ks = mg_malloc((size_t)n * sizeof *ks);
    double *lv = mg_malloc((size_t)n * sizeof *lv);
    int64_t *sv = mg_malloc((size_t)n * sizeof *sv);
    if (!ks || !lv || !sv) {
        mg_free(ks), mg_free(lv), mg_free(sv);
        return mg_fail(MG_ERR_NOMEM, "sweep stats: out of memory for %lld runs", (long long)n);
    }
    memcpy(ks, K, (size_t)n * sizeof *ks);
    int64_t nk = distinct_doubles(ks, n);
    mg_status st = MG_OK;
    if (nk > max_k) {
        st = mg_fail(MG_ERR_ARG, "sweep stats: %lld distinct K, room for %d", (long long)nk, max_k);
        goto done;
    }
    g->k = mg_calloc((size_t)nk, sizeof *g->k);
    if (!g->k) {
        st = mg_fail(MG_ERR_NOMEM, "sweep stats: out of memory");
        goto done;
    }
    g->nk = (int)nk;
    for (int j = 0; j < g->nk; j++) {
        kgrid *k = &g->k[j];
        k->K = ks[j];
        int64_t m = 0;
        for (int64_t i = 0; i < n; i++)
            if (K[i] == k->K) lv[m] = lambda[i], sv[m] = seed[i], m++;
        k->n_runs = m;
        k->nl = (int)distinct_doubles(lv, m);
        qsort(sv, (size_t)m, sizeof *sv, cmp_i64);
        int ns = 0;
        for (int64_t i = 0; i < m; i++)
            if (ns == 0 || sv[i] != sv[ns - 1]) sv[ns++] = sv[i];
        k->ns = ns;
        k->lam = mg_malloc((size_t)k->nl * sizeof *k->lam);
        k->seeds = mg_malloc((size_t)ns * sizeof *k->seeds);
        k->runs = mg_calloc((size_t)ns * (size_t)k->nl, sizeof *k->runs);
        k->cyc = mg_calloc((size_t)ns * (size_t)k->nl, sizeof *k->cyc);
        if (!k->lam || !k->seeds || !k->runs || !k->cyc) {
            st = mg_fail(MG_ERR_NOMEM, "sweep stats: out of memory");
            goto done;
        }
        memcpy(k->lam, lv, (size_t)k->nl * sizeof *k->lam);
        memcpy(k->seeds, sv, (size_t)ns * sizeof *k->seeds);
        for (int64_t i = 0; i < n; i++) {
            if (K[i] != k->K) continue;
            int l = index_of(k->lam, k->nl, lambda[i]);
            int s = index_of_i64(k->seeds, k->ns, seed[i]);
            k->runs[s * k->nl + l]++;
            k->cyc[s * k->nl + l] += cyclic[i] ? 1 : 0;
        }
    }
done:
    mg_free(ks), mg_free(lv), mg_free(sv);
    if (st) grid_free(g);
    return st;
}

/* The boundary of k with seed s counted w[s] times (all ones: the runs as
 * they are). Walks down from the largest λ while the cells stay cyclic;
 * cells without runs under w are not part of the grid. */
static mg_sweep_stats_boundary boundary(const kgrid *k, const int *w, mg_sweep_stats_rule rule) {
    mg_sweep_stats_boundary b = {.K = k->K,
                                 .kind = MG_SWEEP_STATS_NONE,
                                 .lambda_crit = NAN,
                                 .lambda_below = NAN,
                                 .n_lambda = k->nl,
                                 .n_seeds = k->ns,
                                 .n_runs = k->n_runs};
    bool top = true, walking = true;
    for (int l = k->nl - 1; l >= 0; l--) {
        int64_t tot = 0, cy = 0;
        for (int s = 0; s < k->ns; s++) {
            tot += (int64_t)w[s] * k->runs[s * k->nl + l];
            cy += (int64_t)w[s] * k->cyc[s * k->nl + l];
        }
        if (tot == 0) continue;
        bool cyclic = 2 * cy > tot;
        b.n_cyclic_cells += cyclic;
        if (rule == MG_SWEEP_STATS_FIRST) { /* walking down: the last cyclic cell seen */
            if (cyclic) {
                b.kind = MG_SWEEP_STATS_CENSORED, b.lambda_crit = k->lam[l];
                b.lambda_below = NAN;
            } else if (!isnan(b.lambda_crit) && isnan(b.lambda_below)) {
                b.kind = MG_SWEEP_STATS_FOUND, b.lambda_below = k->lam[l];
            }
            continue;
        }
        if (top) {
            top = false;
            if (!cyclic) walking = false; /* NONE */
            else b.kind = MG_SWEEP_STATS_CENSORED, b.lambda_crit = k->lam[l];
            continue;
        }
        if (!walking) continue;
        if (cyclic) {
            b.lambda_crit = k->lam[l];
        } else {
            b.kind = MG_SWEEP_STATS_FOUND;
            b.lambda_below = k->lam[l];
            walking = false;
        }
    }
    return b;
}

mg_status mg_sweep_stats_boundaries(int64_t n, const double *K, const double *lambda,
                                    const int64_t *seed, const bool *cyclic,
                                    mg_sweep_stats_rule rule, int max_k,
                                    mg_sweep_stats_boundary *out, int *n_k) {
    *n_k = 0;
    grid g;
    mg_status st = grid_build(n, K, lambda, seed, cyclic, max_k, &g);
    if (st) return st;
    int maxs = 1;
    for (int j = 0; j < g.nk; j++) maxs = g.k[j].ns > maxs ? g.k[j].ns : maxs;
    int *w = mg_malloc((size_t)maxs * sizeof *w);
    if (!w) {
        grid_free(&g);
        return mg_fail(MG_ERR_NOMEM, "sweep stats: out of memory");
    }
    for (int s = 0; s < maxs; s++) w[s] = 1;
    for (int j = 0; j < g.nk; j++) out[j] = boundary(&g.k[j], w, rule);
    *n_k = g.nk;
    mg_free(w);
    grid_free(&g);
    return MG_OK;
}

/* ---- the log–log fit ------------------------------------------------------------------ */

/* The fit over the points i < n for which get gives one (x, y > 0). */
typedef bool (*point_fn)(const void *ctx, int i, double *x, double *y);

static mg_sweep_stats_fit fit(int n, point_fn get, const void *ctx) {
    mg_sweep_stats_fit f = {0, NAN, NAN, NAN, NAN};
    double mx = 0, my = 0, x, y;
    for (int i = 0; i < n; i++)
        if (get(ctx, i, &x, &y)) mx += log(x), my += log(y), f.n++;
    if (f.n < 2) return f;
    mx /= f.n, my /= f.n;
    double sxx = 0, sxy = 0;
    for (int i = 0; i < n; i++) {
        if (!get(ctx, i, &x, &y)) continue;
        sxx += (log(x) - mx) * (log(x) - mx);
        sxy += (log(x) - mx) * (log(y) - my);
    }
    if (!(sxx > 0)) return f;
    f.slope = sxy / sxx;
    f.intercept = my - f.slope * mx;
    if (f.n < 3) return f;
    double rss = 0;
    for (int i = 0; i < n; i++) {
        if (!get(ctx, i, &x, &y)) continue;
        double r = log(y) - (f.intercept + f.slope * log(x));
        rss += r * r;
    }
    f.rse = sqrt(rss / (f.n - 2));
    f.slope_se = f.rse / sqrt(sxx);
    return f;
}

typedef struct {
    const double *x, *y;
} xy;

static bool xy_point(const void *ctx, int i, double *x, double *y) {
    const xy *p = ctx;
    *x = p->x[i], *y = p->y[i];
    return true;
}

static bool found_point(const void *ctx, int i, double *x, double *y) {
    const mg_sweep_stats_boundary *b = (const mg_sweep_stats_boundary *)ctx + i;
    *x = b->K, *y = b->lambda_crit;
    return b->kind == MG_SWEEP_STATS_FOUND;
}

mg_sweep_stats_fit mg_sweep_stats_loglog_fit(int n, const double *x, const double *y) {
    return fit(n, xy_point, &(xy){x, y});
}

mg_sweep_stats_fit mg_sweep_stats_fit_boundaries(const mg_sweep_stats_boundary *b, int n_k) {
    return fit(n_k, found_point, b);
}

/* ---- the bootstrap over seeds ------------------------------------------------------------ */

/* The q-quantile of sorted v[0..n-1], linear between order statistics. */
static double quantile(const double *v, int n, double q) {
    double h = (n - 1) * q;
    int i = (int)floor(h);
    if (i >= n - 1) return v[n - 1];
    return v[i] + (h - i) * (v[i + 1] - v[i]);
}

mg_status mg_sweep_stats_bootstrap_slope(int64_t n, const double *K, const double *lambda,
                                         const int64_t *seed, const bool *cyclic,
                                         mg_sweep_stats_rule rule, int B, uint64_t rng_seed,
                                         mg_sweep_stats_bootstrap *out) {
    *out = (mg_sweep_stats_bootstrap){B, 0, 0, NAN, NAN, NAN};
    if (B < 1) return mg_fail(MG_ERR_ARG, "sweep stats: bootstrap needs B >= 1, got %d", B);
    grid g;
    mg_status st = grid_build(n, K, lambda, seed, cyclic, INT32_MAX, &g);
    if (st) return st;
    int maxs = 1;
    for (int j = 0; j < g.nk; j++) maxs = g.k[j].ns > maxs ? g.k[j].ns : maxs;
    int *w = mg_malloc((size_t)maxs * sizeof *w);
    double *slopes = mg_malloc((size_t)B * sizeof *slopes);
    mg_sweep_stats_boundary *bs = mg_malloc((size_t)(g.nk > 0 ? g.nk : 1) * sizeof *bs);
    if (!w || !slopes || !bs) {
        st = mg_fail(MG_ERR_NOMEM, "sweep stats: out of memory for %d resamples", B);
        goto done;
    }
    mg_rng r;
    mg_rng_seed(&r, rng_seed);
    for (int b = 0; b < B; b++) {
        for (int j = 0; j < g.nk; j++) {
            const kgrid *k = &g.k[j];
            memset(w, 0, (size_t)k->ns * sizeof *w);
            for (int d = 0; d < k->ns; d++) w[mg_rng_below(&r, (uint64_t)k->ns)]++;
            bs[j] = boundary(k, w, rule);
        }
        mg_sweep_stats_fit f = mg_sweep_stats_fit_boundaries(bs, g.nk);
        if (f.n < 2 || isnan(f.slope)) out->n_insufficient++;
        else slopes[out->n_used++] = f.slope;
    }
    if (out->n_used > 0) {
        qsort(slopes, (size_t)out->n_used, sizeof *slopes, cmp_double);
        double a = (1 - MG_SWEEP_STATS_LEVEL) / 2;
        out->lo = quantile(slopes, out->n_used, a);
        out->hi = quantile(slopes, out->n_used, 1 - a);
        out->median = quantile(slopes, out->n_used, 0.5);
    }
done:
    mg_free(w);
    mg_free(slopes);
    mg_free(bs);
    grid_free(&g);
    return st;
}

/* ---- the theory ---------------------------------------------------------------------------- */

double mg_sweep_stats_bessel_i0(double x) {
    double q = x * x / 4, term = 1, sum = 1;
    for (int k = 1; k < 500; k++) {
        term *= q / ((double)k * k);
        double next = sum + term;
        if (next == sum) break;
        sum = next;
    }
    return sum;
}

double mg_sweep_stats_theory_lambda_crit(double K) {
    double gap = sqrt(K * (K - 1)) - sqrt(2 * K);
    if (!(gap > 0)) return NAN;
    return log(mg_sweep_stats_bessel_i0(1.0)) / gap;
}
