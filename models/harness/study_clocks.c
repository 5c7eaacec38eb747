/* study_clocks.c — the two clocks of a run, into summary.json's
 * "two_clocks" (study_impl.h; the definitions are analysis/twoclocks.h's,
 * the choices below are written in study.h).
 *
 *   fitting clock   T_cls(ε) over MG_STUDY_EPS, from loss.csv (the loss of
 *                   every update) when it covers the run from step 0, else
 *                   from metrics.csv's train_loss (every --eval-every steps;
 *                   "fit_series" says which); its line in ln(1/ε); the
 *                   one-step contraction of the loss after T_fit.
 *   representation  T_rep(η) over MG_STUDY_ETA for each gap, staying for
 *   clock           the rest of the run and at least MG_STUDY_WINDOW steps;
 *                   the log–log line. Gaps (each by name):
 *                     srank_gap_embed / srank_gap_classifier: the stable-rank
 *                       gap of the embedding's and the classifier's parameter;
 *                     s_sep: NC1 = tr(Σ_W Σ_B^†)/K of the penultimate features
 *                       (within-class spread over between-class separation);
 *                     s_rule_embed: the embedding's energy outside its final
 *                       key frequencies (fourier.csv against the summary's
 *                       key_frequencies.embed);
 *                     srank_gap_end_to_end: a deep linear network's end-to-end
 *                       map's stable-rank gap (its rows only).
 *   separation      T_rep(MG_STUDY_ETA_DEFAULT) / T_cls(MG_STUDY_EPS_DEFAULT)
 *                   for each gap; null where either clock did not fire.
 *   gates           per ReLU layer with gate_flips rows: the last and the
 *                   median flip rate per update, and t_frozen, the first step
 *                   after which the rate stays <= MG_STUDY_GATES_FROZEN for
 *                   the rest of the run (and at least MG_STUDY_WINDOW steps).
 *   locking         the last lock_share_top2 / top2m beside their random
 *                   baselines, and lock_orth_top2 at its first and last
 *                   sample (the orthogonal decay).
 *   hierarchy       the gradient hierarchy's ratios (measured ||dE||/||dU||,
 *                   its bound, and the embedding's gradient over its bound):
 *                   first, last and largest sample.
 *   stable_rank     the embedding's and the classifier's stable rank: first,
 *                   largest (max_step: where), last. */
#include "models/harness/rundir.h"
#include "models/harness/study.h"
#include "models/harness/study_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/twoclocks.h"
#include "core/alloc.h"
#include "core/csvout.h"
#include "core/fsutil.h"

static const double eps_ladder[] = {1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6};
static const double eta_ladder[] = {0.5, 0.2, 0.1, 0.05, 0.02, 0.01};
#define N_EPS (int)(sizeof eps_ladder / sizeof *eps_ladder)
#define N_ETA (int)(sizeof eta_ladder / sizeof *eta_ladder)

static void put_line(cJSON *o, const char *key, mg_twoclocks_line l) {
    cJSON *f = cJSON_AddObjectToObject(o, key);
    mg_study_put_num(f, "slope", l.slope);
    mg_study_put_num(f, "intercept", l.intercept);
    mg_study_put_num(f, "r2", l.r2);
    cJSON_AddNumberToObject(f, "points", l.n);
}

static double summary_num(const cJSON *sum, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(sum, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* The fitting series: loss.csv when its first row is step 0 and it has a row
 * for every step it spans; metrics.csv's train_loss otherwise. */
static mg_status fit_series(const char *dir, mg_study_series *s, const char **source) {
    char path[4096];
    mg_study_table t = {0};
    snprintf(path, sizeof path, "%s/" MG_RUN_LOSS, dir);
    mg_status st =
        mg_study_table_load(path, MG_COL(loss, step), NULL, MG_COL(loss, train_loss), &t);
    bool whole = !st && t.n > 0 && t.steps[0] == 0 && t.steps[t.n - 1] == t.n - 1;
    if (whole) {
        *s = mg_study_all(&t);
        *source = "loss.csv (every update)";
    }
    mg_study_table_free(&t);
    if (st || whole) return st;
    snprintf(path, sizeof path, "%s/" MG_RUN_METRICS, dir);
    st = mg_study_table_load(path, MG_COL(metrics, step), NULL, MG_COL(metrics, train_loss), &t);
    if (!st) *s = mg_study_all(&t);
    *source = "metrics.csv (every --eval-every steps)";
    mg_study_table_free(&t);
    return st;
}

static void eps_key(double eps, char *buf, size_t n) { snprintf(buf, n, "%.0e", eps); }
static void eta_key(double eta, char *buf, size_t n) { snprintf(buf, n, "%.0e", eta); }

/* T_rep over the ladder for one gap series, its line, and T_rep at the
 * default η (into *t_default). */
static void rep_entry(cJSON *o, const char *name, const mg_study_series *gap, int64_t *t_default) {
    cJSON *e = cJSON_AddObjectToObject(o, name);
    int64_t t[N_ETA];
    char key[32];
    *t_default = -1;
    cJSON *ladder = cJSON_AddObjectToObject(e, "t_rep");
    for (int i = 0; i < N_ETA; i++) {
        t[i] = gap->n
                   ? mg_twoclocks_t_rep(gap->steps, gap->v, gap->n, eta_ladder[i], MG_STUDY_WINDOW)
                   : -1;
        eta_key(eta_ladder[i], key, sizeof key);
        mg_study_put_step(ladder, key, t[i]);
        if (eta_ladder[i] == MG_STUDY_ETA_DEFAULT) *t_default = t[i];
    }
    mg_study_put_num(e, "final", gap->n ? gap->v[gap->n - 1] : NAN);
    cJSON_AddNumberToObject(e, "samples", gap->n);
    put_line(e, "fit_loglog", mg_twoclocks_fit_rep(eta_ladder, t, N_ETA));
}

/* The embedding's S_rule at each step of fourier.csv against keys. */
static mg_status rule_series(const char *dir, const char *layer, const int *keys, int n_keys,
                             mg_study_series *out) {
    char path[4096];
    memset(out, 0, sizeof *out);
    snprintf(path, sizeof path, "%s/" MG_RUN_FOURIER, dir);
    if (!mg_path_exists(path) || n_keys == 0) return MG_OK;
    mg_csv *csv = NULL;
    mg_status st = mg_csv_read(path, &csv);
    if (st) return st;
    int col[4];
    const char *const need[] = {MG_COL(fourier, step), MG_COL(fourier, layer), MG_COL(fourier, k),
                                MG_COL(fourier, energy)};
    if ((st = mg_csv_cols(csv, 4, need, col))) goto done;
    size_t n = csv->nrows;
    out->steps = mg_malloc((n + 1) * sizeof *out->steps);
    out->v = mg_malloc((n + 1) * sizeof *out->v);
    double *e = mg_malloc((n + 1) * sizeof *e);
    if (!out->steps || !out->v || !e) {
        st = mg_fail(MG_ERR_NOMEM, "out of memory reading %s", path);
        mg_free(e);
        goto done;
    }
    /* rows of one step and layer are consecutive, k = 0, 1, ..., n_freq */
    for (size_t r = 0; !st && r < n;) {
        if (strcmp(mg_csv_str(csv, r, col[1]), layer)) {
            r++;
            continue;
        }
        int64_t step = (int64_t)mg_csv_num(csv, r, col[0]);
        int m = 0;
        for (; r < n && (int64_t)mg_csv_num(csv, r, col[0]) == step &&
               !strcmp(mg_csv_str(csv, r, col[1]), layer);
             r++, m++) {
            if ((int)mg_csv_num(csv, r, col[2]) != m) {
                st = mg_fail(MG_ERR_FORMAT, "%s: step %lld of %s: frequency %g where %d belongs",
                             path, (long long)step, layer, mg_csv_num(csv, r, col[2]), m);
                break;
            }
            e[m] = mg_csv_num(csv, r, col[3]);
        }
        double gap = NAN;
        if (!st) st = mg_twoclocks_rule_gap_energies(e[0], e + 1, m - 1, keys, n_keys, &gap);
        out->steps[out->n] = step;
        out->v[out->n++] = gap;
    }
    mg_free(e);
done:
    mg_csv_free(csv);
    if (st) {
        mg_study_series_free(out);
        memset(out, 0, sizeof *out);
    }
    return st;
}

/* The series of "param/metric" rows of geometry.csv for a role's parameter. */
static mg_study_series role_series(mg_trainer *t, const mg_study_table *geo, const char *role,
                                   const char *metric) {
    mg_params *P = mg_trainer_params(t);
    char key[160];
    int i = mg_study_param_index(P, role);
    if (i < 0) return (mg_study_series){0};
    snprintf(key, sizeof key, "%s/%s", mg_params_info(P, i)->name, metric);
    return mg_study_select(geo, key);
}

/* The gate-flip summary of every layer that has gate_flips rows. */
static void gates_entry(const mg_study_table *geo, cJSON *tc) {
    cJSON *g = cJSON_AddObjectToObject(tc, "gates");
    cJSON_AddNumberToObject(g, "frozen_below", MG_STUDY_GATES_FROZEN);
    for (int64_t r = 0; r < geo->n; r++) {
        const char *key = geo->keys[r], *slash = strchr(key, '/');
        if (!slash || strcmp(slash + 1, "gate_flips")) continue;
        char layer[96];
        snprintf(layer, sizeof layer, "%.*s", (int)(slash - key), key);
        if (cJSON_GetObjectItemCaseSensitive(g, layer)) continue;
        mg_study_series s = mg_study_select(geo, key);
        if (!s.n) continue;
        cJSON *e = cJSON_AddObjectToObject(g, layer);
        const double last = s.v[s.n - 1];
        const int64_t frozen =
            mg_twoclocks_t_rep(s.steps, s.v, s.n, MG_STUDY_GATES_FROZEN, MG_STUDY_WINDOW);
        mg_study_put_num(e, "flip_rate_final", last);
        mg_study_put_num(e, "flip_rate_median", mg_twoclocks_median(s.v, s.n)); /* sorts s.v */
        mg_study_put_step(e, "t_frozen", frozen);
        cJSON_AddNumberToObject(e, "samples", s.n);
        mg_study_series_free(&s);
    }
}

/* The locking summary (the rows of mg_study_locking). */
static void locking_entry(const mg_study_table *geo, cJSON *tc) {
    cJSON *l = cJSON_AddObjectToObject(tc, "locking");
    const char *last[] = {"lock_share_top2", "lock_random_top2", "lock_share_top2m",
                          "lock_random_top2m", "lock_rank_top2m"};
    char key[64];
    for (int i = 0; i < 5; i++) {
        snprintf(key, sizeof key, "lock/%s", last[i]);
        mg_study_series s = mg_study_select(geo, key);
        mg_study_put_num(l, last[i], mg_study_last(&s));
        mg_study_series_free(&s);
    }
    mg_study_series o = mg_study_select(geo, "lock/lock_orth_top2");
    mg_study_put_num(l, "lock_orth_top2_first", o.n ? o.v[0] : NAN);
    mg_study_put_num(l, "lock_orth_top2_last", mg_study_last(&o));
    mg_study_series_free(&o);
}

/* The gradient hierarchy (study_hierarchy.c's model rows, and the
 * embedding's gradient over its bound): first, last and largest sample. */
static void hierarchy_entry(const mg_study_table *geo, cJSON *tc) {
    const char *keys[] = {"model/hier_ratio_measured", "model/hier_ratio_bound",
                          "embed/hier_bound_ratio"};
    const char *names[] = {"ratio_measured", "ratio_bound", "embed_bound_ratio"};
    cJSON *h = NULL;
    char key[64];
    for (int i = 0; i < 3; i++) {
        mg_study_series s = mg_study_select(geo, keys[i]);
        if (s.n) {
            if (!h) h = cJSON_AddObjectToObject(tc, "hierarchy");
            double mx = s.v[0];
            for (int64_t k = 1; k < s.n; k++) mx = fmax(mx, s.v[k]);
            snprintf(key, sizeof key, "%s_first", names[i]);
            mg_study_put_num(h, key, s.v[0]);
            snprintf(key, sizeof key, "%s_last", names[i]);
            mg_study_put_num(h, key, s.v[s.n - 1]);
            snprintf(key, sizeof key, "%s_max", names[i]);
            mg_study_put_num(h, key, mx);
        }
        mg_study_series_free(&s);
    }
}

/* The stable rank of the embedding and the classifier (the published
 * two-clocks curve, ≈ 36 -> 10-12): first, largest (and its step), last. */
static void stable_rank_entry(mg_trainer *t, const mg_study_table *geo, cJSON *tc) {
    const mg_model_def *m = mg_trainer_cfg(t)->model;
    const char *roles[] = {m->embed, m->classifier}, *names[] = {"embed", "classifier"};
    cJSON *o = NULL;
    for (int i = 0; i < 2; i++) {
        mg_study_series s = role_series(t, geo, roles[i], "stable_rank");
        if (s.n) {
            if (!o) o = cJSON_AddObjectToObject(tc, "stable_rank");
            cJSON *e = cJSON_AddObjectToObject(o, names[i]);
            int64_t at = 0;
            for (int64_t k = 1; k < s.n; k++)
                if (s.v[k] > s.v[at]) at = k;
            mg_study_put_num(e, "first", s.v[0]);
            mg_study_put_num(e, "max", s.v[at]);
            mg_study_put_step(e, "max_step", s.steps[at]);
            mg_study_put_num(e, "last", s.v[s.n - 1]);
        }
        mg_study_series_free(&s);
    }
}

/* A deep linear network's balancedness and energies (its end_to_end rows):
 * first and last samples. */
static void chain_entry(const mg_study_table *geo, cJSON *tc) {
    mg_study_series b = mg_study_select(geo, "end_to_end/balance");
    if (b.n) {
        cJSON *e = cJSON_AddObjectToObject(tc, "end_to_end");
        mg_study_put_num(e, "balance_first", b.v[0]);
        mg_study_put_num(e, "balance_last", b.v[b.n - 1]);
        const char *names[] = {"energy_frob", "energy_schatten", "stable_rank"};
        char key[64], out[64];
        for (int i = 0; i < 3; i++) {
            snprintf(key, sizeof key, "end_to_end/%s", names[i]);
            snprintf(out, sizeof out, "%s_last", names[i]);
            mg_study_series s = mg_study_select(geo, key);
            mg_study_put_num(e, out, mg_study_last(&s));
            mg_study_series_free(&s);
        }
    }
    mg_study_series_free(&b);
}

mg_status mg_study_two_clocks(mg_trainer *t, const char *dir, const mg_study_table *geo,
                              cJSON *sum) {
    cJSON *tc = cJSON_AddObjectToObject(sum, "two_clocks");
    char key[32];
    /* the fitting clock */
    mg_study_series loss = {0};
    const char *source = "";
    mg_status st = fit_series(dir, &loss, &source);
    if (st) return st;
    cJSON_AddStringToObject(tc, "fit_series", source);
    int64_t t_cls[N_EPS], t_cls_default = -1;
    mg_twoclocks_t_cls(loss.steps, loss.v, loss.n, eps_ladder, N_EPS, t_cls);
    cJSON *ladder = cJSON_AddObjectToObject(tc, "t_cls");
    for (int i = 0; i < N_EPS; i++) {
        eps_key(eps_ladder[i], key, sizeof key);
        mg_study_put_step(ladder, key, loss.n ? t_cls[i] : -1);
        if (eps_ladder[i] == MG_STUDY_EPS_DEFAULT) t_cls_default = t_cls[i];
    }
    put_line(tc, "t_cls_fit", mg_twoclocks_fit_cls(eps_ladder, t_cls, N_EPS));
    double t_fit = summary_num(sum, "t_fit");
    mg_study_put_num(tc, "contraction_after_t_fit",
                     isfinite(t_fit)
                         ? mg_twoclocks_contraction(loss.steps, loss.v, loss.n, (int64_t)t_fit)
                         : NAN);
    mg_study_series_free(&loss);

    /* the representation clock, for each gap */
    const mg_model_def *m = mg_trainer_cfg(t)->model;
    cJSON *rep = cJSON_AddObjectToObject(tc, "rep");
    cJSON *sep = cJSON_AddObjectToObject(tc, "separation");
    cJSON_AddNumberToObject(tc, "eps_default", MG_STUDY_EPS_DEFAULT);
    cJSON_AddNumberToObject(tc, "eta_default", MG_STUDY_ETA_DEFAULT);
    cJSON_AddNumberToObject(tc, "window", MG_STUDY_WINDOW);
    enum { N_GAPS = 5 };
    mg_study_series gaps[N_GAPS] = {role_series(t, geo, m->embed, "stable_rank"),
                                    role_series(t, geo, m->classifier, "stable_rank"),
                                    mg_study_select(geo, "features/nc1"),
                                    {0},
                                    mg_study_select(geo, "end_to_end/stable_rank")};
    const char *names[N_GAPS] = {"srank_gap_embed", "srank_gap_classifier", "s_sep", "s_rule_embed",
                                 "srank_gap_end_to_end"};
    mg_twoclocks_srank_gap(gaps[0].v, gaps[0].n);
    mg_twoclocks_srank_gap(gaps[1].v, gaps[1].n);
    mg_twoclocks_srank_gap(gaps[4].v, gaps[4].n);
    const cJSON *keys = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(sum, "key_frequencies"), "embed");
    int kk[512], nk = 0;
    for (const cJSON *k = keys ? keys->child : NULL; k && nk < 512; k = k->next)
        if (cJSON_IsNumber(k)) kk[nk++] = (int)k->valuedouble;
    const cJSON *el = cJSON_GetObjectItemCaseSensitive(sum, "embed_layer");
    if (cJSON_IsString(el)) st = rule_series(dir, el->valuestring, kk, nk, &gaps[3]);
    for (int g = 0; !st && g < N_GAPS; g++) {
        if (g == 4 && !gaps[g].n) continue; /* a deep linear network's only */
        int64_t t_rep = -1;
        rep_entry(rep, names[g], &gaps[g], &t_rep);
        mg_study_put_num(sep, names[g],
                         t_rep > 0 && t_cls_default > 0 ? (double)t_rep / (double)t_cls_default
                                                        : NAN);
    }
    for (int g = 0; g < N_GAPS; g++) mg_study_series_free(&gaps[g]);
    if (!st) gates_entry(geo, tc);
    if (!st) locking_entry(geo, tc);
    if (!st) hierarchy_entry(geo, tc);
    if (!st) chain_entry(geo, tc);
    if (!st) stable_rank_entry(t, geo, tc);
    return st;
}
