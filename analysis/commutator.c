/* commutator.c — the SGD commutator on a gradient callback, the execution
 * basis by groups of coordinates, ρ and its random baselines (see
 * commutator.h). */
#include "analysis/commutator.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"

/* ---- the measurement ------------------------------------------------------------------ */

mg_status mg_commutator_ws_init(mg_commutator_ws *ws, int64_t n) {
    if (!ws) return mg_fail(MG_ERR_ARG, "mg_commutator_ws_init: ws is NULL");
    memset(ws, 0, sizeof *ws);
    if (n < 1)
        return mg_fail(MG_ERR_ARG, "mg_commutator_ws_init: n must be >= 1, got %lld", (long long)n);
    float *b = mg_malloc((size_t)n * 4 * sizeof *b);
    if (!b)
        return mg_fail(MG_ERR_NOMEM, "mg_commutator_ws_init: cannot allocate 4 x %lld floats",
                       (long long)n);
    ws->n = n;
    ws->ga = b, ws->gb = b + n, ws->th = b + 2 * n, ws->g2 = b + 3 * n;
    return MG_OK;
}

void mg_commutator_ws_free(mg_commutator_ws *ws) {
    if (!ws) return;
    mg_free(ws->ga);
    memset(ws, 0, sizeof *ws);
}

static mg_status call_grad(mg_commutator_grad_fn grad, void *ctx, int batch, const float *theta,
                           float *g, int64_t n, const char *at) {
    mg_status st = grad(ctx, batch, theta, g);
    if (st != MG_OK) return st;
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(g[i]))
            return mg_fail(MG_ERR_NUMERIC,
                           "mg_commutator_measure: g_%c(%s) is not finite at coordinate %lld (%g)",
                           batch ? 'B' : 'A', at, (long long)i, (double)g[i]);
    return MG_OK;
}

/* out = theta − eta g, in float: one rounding of eta g, one of the
 * difference, as the SGD step of core/optim.c. */
static void sgd_step(const float *theta, const float *g, float eta, float *out, int64_t n) {
    for (int64_t i = 0; i < n; i++) out[i] = theta[i] - eta * g[i];
}

mg_status mg_commutator_measure(mg_commutator_ws *ws, mg_commutator_grad_fn grad, void *ctx,
                                const float *theta, float eta, float *delta,
                                mg_commutator_result *out) {
    static const char fn[] = "mg_commutator_measure";
    if (!ws || !ws->ga || !grad || !theta || !delta || !out)
        return mg_fail(MG_ERR_ARG,
                       "%s: needs an initialised workspace, a gradient, theta, delta "
                       "and out",
                       fn);
    if (!(eta > 0.0f) || !isfinite(eta))
        return mg_fail(MG_ERR_ARG, "%s: eta must be finite and > 0, got %g", fn, (double)eta);
    if (delta == theta) return mg_fail(MG_ERR_ARG, "%s: delta must not be theta", fn);
    memset(out, 0, sizeof *out);
    int64_t n = ws->n;
    mg_status st = call_grad(grad, ctx, 0, theta, ws->ga, n, "theta");
    if (!st) st = call_grad(grad, ctx, 1, theta, ws->gb, n, "theta");
    if (st) return st;
    /* δ = θ_AB − θ_BA = η [(g_A(θ_B) − g_A(θ)) − (g_B(θ_A) − g_B(θ))]: the
     * end points' θ cancels, so it is summed from the gradient differences
     * in double rather than as the difference of two float end points,
     * whose roundings (a few ulps of θ) would swamp a δ of order η²
     * (see the top of commutator.h). */
    sgd_step(theta, ws->ga, eta, ws->th, n); /* θ_A */
    st = call_grad(grad, ctx, 1, ws->th, ws->g2, n, "theta - eta g_A");
    if (st) return st;
    for (int64_t i = 0; i < n; i++)
        delta[i] = (float)(-(double)eta * ((double)ws->g2[i] - ws->gb[i]));
    sgd_step(theta, ws->gb, eta, ws->th, n); /* θ_B */
    st = call_grad(grad, ctx, 0, ws->th, ws->g2, n, "theta - eta g_B");
    if (st) return st;
    for (int64_t i = 0; i < n; i++)
        delta[i] = (float)((double)delta[i] + (double)eta * ((double)ws->g2[i] - ws->ga[i]));
    double dd = 0.0, aa = 0.0, bb = 0.0, ab = 0.0;
    for (int64_t i = 0; i < n; i++) {
        dd += (double)delta[i] * delta[i];
        aa += (double)ws->ga[i] * ws->ga[i];
        bb += (double)ws->gb[i] * ws->gb[i];
        ab += (double)ws->ga[i] * ws->gb[i];
    }
    out->delta_norm = sqrt(dd);
    out->step_a = (double)eta * sqrt(aa);
    out->step_b = (double)eta * sqrt(bb);
    out->defect = out->step_a > 0.0 && out->step_b > 0.0
                      ? out->delta_norm / (out->step_a * out->step_b)
                      : NAN;
    out->cos_ab = aa > 0.0 && bb > 0.0 ? fmin(1.0, fmax(-1.0, ab / sqrt(aa * bb))) : NAN;
    return MG_OK;
}

mg_status mg_commutator_median_index(const double *d, int n, int *index) {
    static const char fn[] = "mg_commutator_median_index";
    if (!d || n < 1 || !index) return mg_fail(MG_ERR_ARG, "%s: needs n >= 1 values, got %d", fn, n);
    for (int i = 0; i < n; i++)
        if (isnan(d[i])) return mg_fail(MG_ERR_NUMERIC, "%s: value %d is NaN", fn, i);
    /* the i whose rank (values ascending, then indices) is (n − 1) / 2 */
    int want = (n - 1) / 2;
    for (int i = 0; i < n; i++) {
        int rank = 0;
        for (int j = 0; j < n; j++) rank += d[j] < d[i] || (d[j] == d[i] && j < i);
        if (rank == want) {
            *index = i;
            return MG_OK;
        }
    }
    return mg_fail(MG_ERR_STATE, "%s: no median found", fn); /* unreachable: ranks are 0..n−1 */
}

/* ---- the basis --------------------------------------------------------------------------- */

void mg_commutator_basis_free(mg_commutator_basis *b) {
    if (!b) return;
    mg_free(b->iv_start), mg_free(b->iv), mg_free(b->m), mg_free(b->k), mg_free(b->q_start);
    mg_free(b->q), mg_free(b->source), mg_free(b->seg_start), mg_free(b->seg);
    memset(b, 0, sizeof *b);
}

typedef struct {
    int64_t offset, len;
    int owner;
} owned_seg;

static int cmp_owned(const void *x, const void *y) {
    const owned_seg *a = x, *b = y;
    return (a->offset > b->offset) - (a->offset < b->offset);
}

static int find(int *parent, int i) {
    while (parent[i] != i) i = parent[i] = parent[parent[i]];
    return i;
}

static double dotd(const double *a, const double *b, int64_t n) {
    double r = 0.0;
    for (int64_t i = 0; i < n; i++) r += a[i] * b[i];
    return r;
}

/* Modified Gram–Schmidt, twice, over the rows of v (rows x m), in order;
 * kept rows are moved to the front, *kept counts them, keep[r] says
 * whether row r was kept. */
static void orthonormalise(double *v, int rows, int64_t m, int *kept, int *keep) {
    int nk = 0;
    for (int r = 0; r < rows; r++) {
        double *x = v + (size_t)r * (size_t)m;
        double n0 = sqrt(dotd(x, x, m));
        for (int pass = 0; pass < 2; pass++)
            for (int i = 0; i < nk; i++) {
                const double *q = v + (size_t)i * (size_t)m;
                double c = dotd(q, x, m);
                for (int64_t j = 0; j < m; j++) x[j] -= c * q[j];
            }
        double n1 = sqrt(dotd(x, x, m));
        keep[r] = n0 > 0.0 && n1 > 1e-6 * n0;
        if (!keep[r]) continue;
        double *q = v + (size_t)nk * (size_t)m;
        for (int64_t j = 0; j < m; j++) q[j] = x[j] / n1; /* q <= x: a forward copy */
        nk++;
    }
    *kept = nk;
}

/* The merged interval holding coordinate o: the last one starting at or
 * before it (ivs sorted by offset). */
static int interval_of(const mg_traj_segment *ivs, int niv, int64_t o) {
    int lo = 0, hi = niv - 1;
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (ivs[mid].offset <= o) lo = mid;
        else hi = mid - 1;
    }
    return lo;
}

/* Scratch of mg_commutator_basis_build. */
typedef struct {
    owned_seg *all;       /* every segment with its direction (total) */
    mg_traj_segment *ivs; /* merged intervals, by offset (niv <= total) */
    int *ivg;             /* group of interval i */
    int64_t *ivp;         /* packed start of interval i in its group */
    int *parent, *gid;    /* union-find over directions; group of a root */
    int *dgrp;            /* group of direction j */
    int *rowbase;         /* first row of group g (ng + 1) */
    int *row_src;         /* direction of each row, group after group */
    int *keep;            /* whether each row was kept */
} build_scratch;

static void scratch_free(build_scratch *w) {
    mg_free(w->all), mg_free(w->ivs), mg_free(w->ivg), mg_free(w->ivp), mg_free(w->parent);
    mg_free(w->gid), mg_free(w->dgrp), mg_free(w->rowbase), mg_free(w->row_src), mg_free(w->keep);
}

/* Validates dirs, copies their regions into out, merges the segments into
 * intervals and the directions into groups; fills out's iv_start, iv, m. */
static mg_status group(const mg_commutator_dir *dirs, int k, int64_t n, build_scratch *w,
                       mg_commutator_basis *out, const char *fn) {
    int total = 0;
    for (int j = 0; j < k; j++) {
        int64_t dim;
        mg_status st = mg_traj_region_check(dirs[j].seg, dirs[j].n_seg, n, fn, &dim);
        if (st != MG_OK) return st;
        if (!dirs[j].v) return mg_fail(MG_ERR_ARG, "%s: direction %d has no values", fn, j);
        for (int64_t i = 0; i < dim; i++)
            if (!isfinite(dirs[j].v[i]))
                return mg_fail(MG_ERR_NUMERIC, "%s: direction %d, value %lld is not finite", fn, j,
                               (long long)i);
        total += dirs[j].n_seg;
    }
    w->all = mg_malloc((size_t)total * sizeof *w->all);
    w->ivs = mg_malloc((size_t)total * sizeof *w->ivs);
    w->ivg = mg_malloc((size_t)total * sizeof *w->ivg);
    w->ivp = mg_malloc((size_t)total * sizeof *w->ivp);
    w->parent = mg_malloc((size_t)k * sizeof *w->parent);
    w->gid = mg_malloc((size_t)k * sizeof *w->gid);
    w->dgrp = mg_malloc((size_t)k * sizeof *w->dgrp);
    w->rowbase = mg_calloc((size_t)k + 1, sizeof *w->rowbase);
    w->row_src = mg_malloc((size_t)k * sizeof *w->row_src);
    w->keep = mg_malloc((size_t)k * sizeof *w->keep);
    out->seg_start = mg_malloc((size_t)(k + 1) * sizeof *out->seg_start);
    out->seg = mg_malloc((size_t)total * sizeof *out->seg);
    out->source = mg_malloc((size_t)k * sizeof *out->source);
    if (!w->all || !w->ivs || !w->ivg || !w->ivp || !w->parent || !w->gid || !w->dgrp ||
        !w->rowbase || !w->row_src || !w->keep || !out->seg_start || !out->seg || !out->source)
        return mg_fail(MG_ERR_NOMEM, "%s: cannot allocate the regions of %d directions", fn, k);
    int t = 0;
    for (int j = 0; j < k; j++) {
        out->seg_start[j] = t;
        w->parent[j] = j;
        for (int s = 0; s < dirs[j].n_seg; s++, t++) {
            out->seg[t] = dirs[j].seg[s];
            w->all[t] = (owned_seg){dirs[j].seg[s].offset, dirs[j].seg[s].len, j};
        }
    }
    out->seg_start[k] = t;
    /* merged intervals (overlap merges, adjacency does not), and the union
     * of the directions that meet in one */
    qsort(w->all, (size_t)total, sizeof *w->all, cmp_owned);
    int niv = 0;
    for (int i = 0; i < total; i++) {
        const owned_seg *a = &w->all[i];
        mg_traj_segment *last = niv > 0 ? &w->ivs[niv - 1] : NULL;
        if (last && a->offset < last->offset + last->len) {
            if (a->offset + a->len > last->offset + last->len)
                last->len = a->offset + a->len - last->offset;
            int x = find(w->parent, a->owner), y = find(w->parent, w->ivg[niv - 1]);
            if (x != y) w->parent[x > y ? x : y] = x < y ? x : y;
        } else {
            w->ivs[niv] = (mg_traj_segment){a->offset, a->len};
            w->ivg[niv++] = a->owner; /* a direction for now; its group below */
        }
    }
    /* groups numbered by their first interval, in offset order */
    for (int j = 0; j < k; j++) w->gid[j] = -1;
    int ng = 0;
    for (int i = 0; i < niv; i++) {
        int r = find(w->parent, w->ivg[i]);
        if (w->gid[r] < 0) w->gid[r] = ng++;
        w->ivg[i] = w->gid[r];
    }
    for (int j = 0; j < k; j++) w->dgrp[j] = w->gid[find(w->parent, j)];
    out->n_group = ng;
    out->iv_start = mg_calloc((size_t)ng + 1, sizeof *out->iv_start);
    out->iv = mg_malloc((size_t)niv * sizeof *out->iv);
    out->m = mg_calloc((size_t)ng, sizeof *out->m);
    out->k = mg_calloc((size_t)ng, sizeof *out->k);
    out->q_start = mg_calloc((size_t)ng + 1, sizeof *out->q_start);
    if (!out->iv_start || !out->iv || !out->m || !out->k || !out->q_start)
        return mg_fail(MG_ERR_NOMEM, "%s: cannot allocate %d groups", fn, ng);
    /* each group's intervals in offset order, and their packed starts */
    for (int i = 0; i < niv; i++) out->iv_start[w->ivg[i] + 1]++;
    for (int g = 0; g < ng; g++) out->iv_start[g + 1] += out->iv_start[g];
    for (int g = 0; g < ng; g++) w->gid[g] = out->iv_start[g]; /* next slot of group g */
    for (int i = 0; i < niv; i++) {
        int g = w->ivg[i];
        out->iv[w->gid[g]++] = w->ivs[i];
        w->ivp[i] = out->m[g];
        out->m[g] += w->ivs[i].len;
    }
    /* rows: a group's directions in input order */
    for (int j = 0; j < k; j++) w->rowbase[w->dgrp[j] + 1]++;
    for (int g = 0; g < ng; g++) w->rowbase[g + 1] += w->rowbase[g];
    for (int g = 0; g < ng; g++) w->gid[g] = w->rowbase[g];
    for (int j = 0; j < k; j++) w->row_src[w->gid[w->dgrp[j]]++] = j;
    w->rowbase[ng] = k;
    return MG_OK;
}

mg_status mg_commutator_basis_build(const mg_commutator_dir *dirs, int k, int64_t n,
                                    mg_commutator_basis *out) {
    static const char fn[] = "mg_commutator_basis_build";
    if (!out) return mg_fail(MG_ERR_ARG, "%s: out is NULL", fn);
    memset(out, 0, sizeof *out);
    if (!dirs || k < 1 || n < 1)
        return mg_fail(MG_ERR_ARG, "%s: needs k >= 1 directions in n >= 1, got %d in %lld", fn, k,
                       (long long)n);
    out->n = n;
    out->n_dir = k;
    build_scratch w = {0};
    mg_status st = group(dirs, k, n, &w, out, fn);
    int ng = out->n_group;
    if (!st) {
        for (int g = 0; g < ng; g++)
            out->q_start[g + 1] =
                out->q_start[g] + (int64_t)(w.rowbase[g + 1] - w.rowbase[g]) * out->m[g];
        out->q = mg_calloc((size_t)out->q_start[ng], sizeof *out->q);
        if (!out->q) st = mg_fail(MG_ERR_NOMEM, "%s: cannot allocate the basis", fn);
    }
    if (!st) {
        /* scatter each direction into its row, packed in its group's coordinates */
        int niv = out->iv_start[ng];
        for (int row = 0; row < k; row++) {
            int j = w.row_src[row], g = w.dgrp[j];
            double *x = out->q + out->q_start[g] + (int64_t)(row - w.rowbase[g]) * out->m[g];
            int64_t p = 0;
            for (int s = 0; s < dirs[j].n_seg; s++) {
                const mg_traj_segment *sg = &dirs[j].seg[s];
                int iv = interval_of(w.ivs, niv, sg->offset);
                memcpy(x + w.ivp[iv] + (sg->offset - w.ivs[iv].offset), dirs[j].v + p,
                       (size_t)sg->len * sizeof *x);
                p += sg->len;
            }
        }
        /* orthonormalise each group; compact the kept rows to the front */
        int64_t dst = 0;
        int rank = 0;
        for (int g = 0; g < ng; g++) {
            double *blk = out->q + out->q_start[g];
            int rows = w.rowbase[g + 1] - w.rowbase[g], nk = 0;
            orthonormalise(blk, rows, out->m[g], &nk, w.keep + w.rowbase[g]);
            for (int r = 0; r < rows; r++)
                if (w.keep[w.rowbase[g] + r]) out->source[rank++] = w.row_src[w.rowbase[g] + r];
            memmove(out->q + dst, blk, (size_t)nk * (size_t)out->m[g] * sizeof *out->q);
            out->q_start[g] = dst;
            out->k[g] = nk;
            dst += (int64_t)nk * out->m[g];
        }
        out->q_start[ng] = dst;
        out->rank = rank;
    }
    scratch_free(&w);
    if (st) mg_commutator_basis_free(out);
    return st;
}

/* A random basis matched to the kept vectors which[0..count) of like:
 * N(0, 1) values on each one's source region, orthonormalised. */
static mg_status random_matched(const mg_commutator_basis *like, const int *which, int count,
                                mg_rng *rng, mg_commutator_basis *out, const char *fn) {
    int64_t total = 0;
    for (int i = 0; i < count; i++) {
        int j = like->source[which[i]];
        for (int s = like->seg_start[j]; s < like->seg_start[j + 1]; s++) total += like->seg[s].len;
    }
    mg_commutator_dir *d = mg_malloc((size_t)count * sizeof *d);
    double *v = mg_malloc((size_t)total * sizeof *v);
    if (!d || !v) {
        mg_free(d), mg_free(v);
        return mg_fail(MG_ERR_NOMEM, "%s: cannot allocate %lld random values", fn,
                       (long long)total);
    }
    int64_t p = 0;
    for (int i = 0; i < count; i++) {
        int j = like->source[which[i]];
        d[i] = (mg_commutator_dir){like->seg + like->seg_start[j],
                                   like->seg_start[j + 1] - like->seg_start[j], v + p};
        for (int s = like->seg_start[j]; s < like->seg_start[j + 1]; s++)
            for (int64_t c = 0; c < like->seg[s].len; c++) v[p++] = mg_rng_normal(rng);
    }
    mg_status st = mg_commutator_basis_build(d, count, like->n, out);
    mg_free(d), mg_free(v);
    return st;
}

mg_status mg_commutator_basis_random(const mg_commutator_basis *like, mg_rng *rng,
                                     mg_commutator_basis *out) {
    static const char fn[] = "mg_commutator_basis_random";
    if (!out) return mg_fail(MG_ERR_ARG, "%s: out is NULL", fn);
    memset(out, 0, sizeof *out);
    if (!like || !like->source || !rng || like->rank < 1)
        return mg_fail(MG_ERR_ARG, "%s: needs a basis of rank >= 1 and an rng", fn);
    int *all = mg_malloc((size_t)like->rank * sizeof *all);
    if (!all) return mg_fail(MG_ERR_NOMEM, "%s: cannot allocate %d indices", fn, like->rank);
    for (int i = 0; i < like->rank; i++) all[i] = i;
    mg_status st = random_matched(like, all, like->rank, rng, out, fn);
    mg_free(all);
    return st;
}

/* ---- ρ ------------------------------------------------------------------------------------ */

mg_status mg_commutator_rho(const mg_commutator_basis *b, const float *delta, double *rho) {
    static const char fn[] = "mg_commutator_rho";
    if (!b || !b->q_start || !delta || !rho)
        return mg_fail(MG_ERR_ARG, "%s: needs a built basis, delta and rho", fn);
    double dd = 0.0, in = 0.0;
    for (int64_t i = 0; i < b->n; i++) dd += (double)delta[i] * delta[i];
    for (int g = 0; g < b->n_group; g++)
        for (int r = 0; r < b->k[g]; r++) {
            const double *q = b->q + b->q_start[g] + (int64_t)r * b->m[g];
            double c = 0.0;
            for (int i = b->iv_start[g]; i < b->iv_start[g + 1]; i++) {
                const float *x = delta + b->iv[i].offset;
                for (int64_t j = 0; j < b->iv[i].len; j++) c += q[j] * x[j];
                q += b->iv[i].len;
            }
            in += c * c;
        }
    *rho = dd > 0.0 ? sqrt(fmin(1.0, in / dd)) : NAN;
    return MG_OK;
}

/* A uniform in (0, 1) with 53 bits. */
static double uniform53(mg_rng *r) { return ((double)(mg_rng_u64(r) >> 11) + 0.5) * 0x1p-53; }

/* Gamma(a, 1) by Marsaglia and Tsang (2000) for a >= 1, and for a < 1 by
 * Gamma(a + 1) · U^(1/a). */
static double gamma_draw(mg_rng *r, double a) {
    if (a < 1.0) return gamma_draw(r, a + 1.0) * pow(uniform53(r), 1.0 / a);
    double d = a - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double x, v;
        do {
            x = mg_rng_normal(r);
            v = 1.0 + c * x;
        } while (v <= 0.0);
        v = v * v * v;
        double u = uniform53(r);
        if (u < 1.0 - 0.0331 * x * x * x * x) return d * v;
        if (log(u) < 0.5 * x * x + d * (1.0 - v + log(v))) return d * v;
    }
}

/* ‖P δ‖² / ‖δ‖² for a Haar-random k-dimensional subspace of R^m: a
 * Beta(k/2, (m−k)/2), as X / (X + Y) with X ~ Γ(k/2), Y ~ Γ((m−k)/2). */
static double beta_share(mg_rng *r, int k, int64_t m) {
    double x = gamma_draw(r, 0.5 * k), y = m > k ? gamma_draw(r, 0.5 * (double)(m - k)) : 0.0;
    return x / (x + y);
}

mg_status mg_commutator_rho_rand_block(const mg_commutator_basis *like, const float *delta,
                                       mg_rng *rng, int draws, double *mean, double *each) {
    static const char fn[] = "mg_commutator_rho_rand_block";
    if (!like || !like->source || like->rank < 1 || !delta || !rng || !mean || draws < 1)
        return mg_fail(MG_ERR_ARG,
                       "%s: needs a basis of rank >= 1, delta, an rng, draws >= 1 "
                       "and mean",
                       fn);
    /* A group whose every kept vector's region is the whole group (the
     * study's: a block's three PCs) gets its Haar share by law; the others
     * ("mixed": regions that only overlap) are built. dg[g] = ‖δ_g‖², or −1
     * for a mixed group. */
    double *dg = mg_malloc((size_t)like->n_group * sizeof *dg);
    int *mixed = mg_malloc((size_t)like->rank * sizeof *mixed);
    if (!dg || !mixed) {
        mg_free(dg), mg_free(mixed);
        return mg_fail(MG_ERR_NOMEM, "%s: cannot allocate %d groups", fn, like->n_group);
    }
    double dd = 0.0;
    for (int64_t i = 0; i < like->n; i++) dd += (double)delta[i] * delta[i];
    int n_mixed = 0;
    for (int g = 0, first = 0; g < like->n_group; first += like->k[g], g++) {
        int whole = 1;
        for (int i = first; i < first + like->k[g]; i++) {
            int j = like->source[i];
            int64_t dim = 0;
            for (int s = like->seg_start[j]; s < like->seg_start[j + 1]; s++)
                dim += like->seg[s].len;
            whole &= dim == like->m[g];
        }
        dg[g] = 0.0;
        for (int i = like->iv_start[g]; i < like->iv_start[g + 1]; i++)
            for (int64_t c = 0; c < like->iv[i].len; c++) {
                double x = delta[like->iv[i].offset + c];
                dg[g] += x * x;
            }
        if (!whole) {
            dg[g] = -1.0;
            for (int i = first; i < first + like->k[g]; i++) mixed[n_mixed++] = i;
        }
    }
    double sum = 0.0;
    mg_status st = MG_OK;
    for (int d = 0; d < draws && st == MG_OK; d++) {
        double in = 0.0, rho = NAN;
        for (int g = 0; g < like->n_group; g++)
            if (like->k[g] > 0 && dg[g] >= 0.0)
                in += dg[g] * beta_share(rng, like->k[g], like->m[g]);
        if (n_mixed > 0) {
            mg_commutator_basis r;
            double part = 0.0;
            st = random_matched(like, mixed, n_mixed, rng, &r, fn);
            if (!st) st = mg_commutator_rho(&r, delta, &part);
            mg_commutator_basis_free(&r);
            if (dd > 0.0) in += part * part * dd;
        }
        if (dd > 0.0) rho = sqrt(fmin(1.0, in / dd));
        if (each) each[d] = rho;
        sum += rho;
    }
    mg_free(dg), mg_free(mixed);
    if (st == MG_OK) *mean = sum / draws;
    return st;
}

mg_status mg_commutator_rho_rand_full(int64_t n, int k, mg_rng *rng, int draws, double *mean,
                                      double *each) {
    static const char fn[] = "mg_commutator_rho_rand_full";
    if (!rng || !mean || draws < 1 || k < 1 || n < k)
        return mg_fail(MG_ERR_ARG,
                       "%s: needs 1 <= k <= n and draws >= 1, got k = %d, n = %lld, "
                       "draws = %d",
                       fn, k, (long long)n, draws);
    double sum = 0.0;
    for (int d = 0; d < draws; d++) {
        double rho = sqrt(beta_share(rng, k, n));
        if (each) each[d] = rho;
        sum += rho;
    }
    *mean = sum / draws;
    return MG_OK;
}

double mg_commutator_perp(double rho) {
    double r = fmin(1.0, fmax(0.0, rho));
    return sqrt(1.0 - r * r);
}

double mg_commutator_perp_paper(double rho) { return 1.0 - rho; }

mg_status mg_commutator_rhos_compute(const mg_commutator_basis *exec, const float *delta,
                                     mg_rng *rng, int draws, mg_commutator_rhos *out) {
    if (!out) return mg_fail(MG_ERR_ARG, "mg_commutator_rhos_compute: out is NULL");
    memset(out, 0, sizeof *out);
    mg_status st = mg_commutator_rho(exec, delta, &out->rho_exec);
    if (!st) st = mg_commutator_rho_rand_block(exec, delta, rng, draws, &out->rho_block, NULL);
    if (!st)
        st = mg_commutator_rho_rand_full(exec->n, exec->rank, rng, draws, &out->rho_full, NULL);
    if (st) return st;
    out->draws = draws;
    out->ratio_full = out->rho_exec / out->rho_full;
    out->ratio_block = out->rho_exec / out->rho_block;
    out->perp = mg_commutator_perp(out->rho_exec);
    out->perp_paper = mg_commutator_perp_paper(out->rho_exec);
    return MG_OK;
}
