/* study.c — geometry rows, final spectra and summary analyses (study.h). */
#include "models/harness/study.h"
#include "models/harness/rundir.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/clocks.h"
#include "analysis/collapse.h"
#include "analysis/fourier.h"
#include "analysis/linalg.h"
#include "analysis/probes.h"
#include "core/alloc.h"
#include "core/fsutil.h"
#include "core/gemm.h"

/* A (rows x cols) matrix inside the parameter buffer, by strides. */
typedef struct {
    const float *w;
    int rows, cols;
    int64_t rs, cs;
    char layer[64]; /* the parameter's layer, for the geometry rows */
} view;

static int param_index(const mg_params *P, const char *name) {
    return name ? mg_params_find(P, name) : mg_params_count(P) - 1;
}

static void layer_of(const char *name, char *out, size_t n) {
    snprintf(out, n, "%.*s", (int)strcspn(name, "."), name);
}

/* The token vectors: rows 0..n_values-1 (the operands' tokens, 0..p-1 on
 * the modular tasks) of the embedding role. */
static mg_status embed_view(mg_trainer *t, view *v) {
    mg_params *P = mg_trainer_params(t);
    const mg_model_def *m = mg_trainer_cfg(t)->model;
    int k = param_index(P, m->embed);
    const mg_param_info *info = mg_params_info(P, k);
    if (k < 0 || info->ndim != 2)
        return mg_fail(MG_ERR_STATE, "model %s: no 2-D embedding parameter '%s'", m->name,
                       m->embed);
    const int rows = mg_trainer_task(t)->n_values;
    if (rows > info->shape[0])
        return mg_fail(MG_ERR_STATE, "model %s: '%s' has %lld rows, fewer than the %d tokens",
                       m->name, info->name, (long long)info->shape[0], rows);
    *v = (view){mg_params_data(P) + info->offset, rows, (int)info->shape[1], info->shape[1], 1, ""};
    layer_of(info->name, v->layer, sizeof v->layer);
    return MG_OK;
}

/* The class vectors: rows (or columns) of the classifier role. */
static mg_status classifier_view(mg_trainer *t, view *v) {
    mg_params *P = mg_trainer_params(t);
    const mg_model_def *m = mg_trainer_cfg(t)->model;
    int k = param_index(P, m->classifier);
    const mg_param_info *info = mg_params_info(P, k);
    if (k < 0 || info->ndim != 2)
        return mg_fail(MG_ERR_STATE, "model %s: no 2-D classifier parameter", m->name);
    const float *w = mg_params_data(P) + info->offset;
    int p = mg_trainer_task(t)->K;
    if (p > info->shape[m->classes_in_columns ? 1 : 0])
        return mg_fail(MG_ERR_STATE, "model %s: '%s' holds fewer than the %d classes", m->name,
                       info->name, p);
    if (m->classes_in_columns) *v = (view){w, p, (int)info->shape[0], 1, info->shape[1], ""};
    else *v = (view){w, p, (int)info->shape[1], info->shape[1], 1, ""};
    layer_of(info->name, v->layer, sizeof v->layer);
    return MG_OK;
}

#define MG_MAX_LOCK 64 /* subspace dimensions compared by the locking metric */

/* geometry.csv's row, in its column order (rundir.h) */
_Static_assert(MG_COLIDX_geometry_step == 0 && MG_COLIDX_geometry_layer == 1 &&
                   MG_COLIDX_geometry_metric == 2 && MG_COLIDX_geometry_value == 3 &&
                   MG_GEOMETRY_NCOLS == 4,
               "row() writes step, layer, metric, value");
static mg_status row(mg_csv_writer *w, int64_t step, const char *layer, const char *metric,
                     double value) {
    mg_status st = mg_csv_put_int(w, step);
    if (!st) st = mg_csv_put_str(w, layer);
    if (!st) st = mg_csv_put_str(w, metric);
    if (!st) st = mg_csv_put_double(w, value);
    return st ? st : mg_csv_end_row(w);
}

/* Fourier and circle metrics of a residue-indexed matrix; *n_key gets the
 * number of key frequencies (0 when p is even: no spectrum). */
static mg_status fourier_rows(mg_csv_writer *w, int64_t step, const view *v, int *n_key) {
    *n_key = 0;
    if (v->rows < 3 || v->rows % 2 == 0) return MG_OK; /* needs odd p */
    mg_fourier f;
    mg_status st = mg_fourier_compute(v->w, v->rows, v->cols, v->rs, v->cs, &f);
    if (st) return st;
    double cv = NAN, corr = NAN;
    st = mg_fourier_circle_fit(v->w, v->rows, v->cols, v->rs, v->cs, f.top, &cv, &corr, NULL);
    if (!st) st = row(w, step, v->layer, "fourier_top", f.top);
    if (!st) st = row(w, step, v->layer, "fourier_n_key", f.n_key);
    if (!st) st = row(w, step, v->layer, "fourier_concentration", f.concentration);
    if (!st) st = row(w, step, v->layer, "fourier_gini", f.gini);
    if (!st) st = row(w, step, v->layer, "fourier_top2_share", mg_fourier_top_share(&f, 2));
    if (!st) st = row(w, step, v->layer, "circle_radius_cv", cv);
    if (!st) st = row(w, step, v->layer, "circle_angle_corr", corr);
    *n_key = f.n_key;
    mg_fourier_free(&f);
    return st;
}

/* Embedding-derived features in the classifier's feature space:
 * E[:p] @ proj[0:d, :] (p x f), into a new buffer (NULL: no projection). */
static mg_status embed_features(mg_trainer *t, const view *e, float **out, int *f) {
    mg_params *P = mg_trainer_params(t);
    const char *proj = mg_trainer_cfg(t)->model->embed_proj;
    *out = NULL;
    *f = e->cols;
    if (!proj) return MG_OK;
    const mg_param_info *info = mg_params_info(P, mg_params_find(P, proj));
    if (!info || info->ndim != 2 || info->shape[0] < e->cols)
        return mg_fail(MG_ERR_STATE, "embedding projection '%s' does not fit", proj);
    *f = (int)info->shape[1];
    *out = mg_malloc((size_t)e->rows * (size_t)*f * sizeof **out);
    if (!*out) return mg_fail(MG_ERR_NOMEM, "out of memory for embedding features");
    mg_sgemm(e->rows, *f, e->cols, 1.0f, e->w, e->rs, e->cs, mg_params_data(P) + info->offset, *f,
             1, 0.0f, *out, *f, 1);
    return MG_OK;
}

/* The penultimate features of the training set at the current step, and
 * their labels and predicted classes (the trainer's forward pass). */
typedef struct {
    const float *h;
    const int32_t *y, *pred;
    int64_t n;
    int f;
} features;

static mg_status geometry_rows(mg_trainer *t, const features *ft, mg_csv_writer *w);

mg_status mg_study_geometry(mg_trainer *t, mg_csv_writer *w) {
    /* the geometry is that of the operands' tokens: a task without them
     * (a generated sequence task) has none */
    if (!mg_trainer_task(t)->n_values) return MG_OK;
    /* The forward pass (if the step has none yet) runs first, at the run's
     * thread count: its kernels split their work by that count. */
    features ft;
    mg_status st = mg_trainer_features(t, &ft.h, &ft.n, &ft.f, &ft.y, &ft.pred);
    if (st) return st;
    /* The analyses run BLIS on one thread. Their products are small, and
     * LAPACK calls BLIS hundreds of times per SVD: waking a second thread
     * for each call cost 120 ms of CPU for the 97 x 512 SVD of the collapse
     * against 6-9 ms on one (measured on 2 cores; the same bits: BLIS splits
     * no sum over threads). */
    const int threads = mg_gemm_threads();
    mg_gemm_set_threads(1);
    st = geometry_rows(t, &ft, w);
    mg_gemm_set_threads(threads);
    return st;
}

static mg_status geometry_rows(mg_trainer *t, const features *ft, mg_csv_writer *w) {
    mg_params *P = mg_trainer_params(t);
    const int64_t step = mg_trainer_steps_done(t);
    view e, c;
    int keys_e = 0, keys_c = 0;
    mg_status st = embed_view(t, &e);
    if (!st) st = classifier_view(t, &c);
    if (!st) st = fourier_rows(w, step, &e, &keys_e);
    if (!st) st = fourier_rows(w, step, &c, &keys_c);
    for (int k = 0; !st && k < mg_params_count(P); k++) {
        const mg_param_info *info = mg_params_info(P, k);
        if (info->ndim != 2) continue;
        mg_linalg_spectrum s;
        if ((st = mg_linalg_spectrum_compute(mg_params_data(P) + info->offset, (int)info->shape[0],
                                             (int)info->shape[1], info->shape[1], 1, &s)))
            break;
        const char *names[] = {"eff_rank",  "stable_rank", "rank2_energy",
                               "schatten1", "schatten2",   "schatten_inf"};
        double vals[] = {s.eff_rank,  s.stable_rank, s.rank2_energy,
                         s.schatten1, s.schatten2,   s.schatten_inf};
        for (int i = 0; !st && i < 6; i++) st = row(w, step, info->name, names[i], vals[i]);
        mg_linalg_spectrum_free(&s);
    }
    if (st) return st;

    /* neural collapse on the penultimate features of the training set */
    const float *h = ft->h;
    const int32_t *y = ft->y, *pred = ft->pred;
    const int64_t n = ft->n;
    const int f = ft->f;
    /* the collapse metrics need every class among the samples (a small p
     * with a small training fraction can miss one: then they are skipped) */
    bool all_classes = true;
    for (int cls = 0; all_classes && cls < c.rows; cls++) {
        bool seen = false;
        for (int64_t i = 0; !seen && i < n; i++) seen = y[i] == cls;
        all_classes = seen;
    }
    if (f == c.cols && all_classes) {
        mg_collapse nc;
        if ((st = mg_collapse_compute(h, y, n, f, c.rows, c.w, c.rs, c.cs, pred, &nc))) return st;
        const char *names[] = {"nc1", "nc2_mean_cv", "nc2_w_cv", "nc2_etf", "nc3", "nc4"};
        double vals[] = {nc.nc1, nc.nc2_mean_cv, nc.nc2_w_cv, nc.nc2_etf, nc.nc3, nc.nc4};
        for (int i = 0; !st && i < 6; i++) st = row(w, step, "features", names[i], vals[i]);
    }
    /* Plane locking: the classifier's top-2m right singular subspace against
     * the embedding-derived features' (m = the classifier's key frequencies,
     * each a plane; at least 1), in the classifier's feature space. Reported:
     * the two largest cosines and the mean of all 2m. 2m is capped by the
     * embedding's width (the rank of its features) and by the classes; where
     * a subspace's numerical rank is still below 2m (a tiny --d, a dead
     * layer) the measure does not apply: it is skipped and the row
     * "lock_dims" says 0 instead of the dimension measured. */
    float *ef = NULL;
    int fe = 0;
    if (!st) st = embed_features(t, &e, &ef, &fe);
    int m2 = 2 * (keys_c > 0 ? keys_c : 1);
    if (m2 > c.rows - 1) m2 = c.rows - 1;
    if (m2 > fe) m2 = fe;
    if (m2 > e.cols) m2 = e.cols;
    if (!st && fe == c.cols && m2 < 2) st = row(w, step, "lock", "lock_dims", 0);
    else if (!st && fe == c.cols) {
        double cos[MG_MAX_LOCK] = {0};
        if (m2 > MG_MAX_LOCK) m2 = MG_MAX_LOCK;
        const float *a = ef ? ef : e.w;
        int64_t ars = ef ? fe : e.rs, acs = ef ? 1 : e.cs;
        st = mg_linalg_principal_cosines(c.w, c.rows, c.rs, c.cs, m2, a, e.rows, ars, acs, m2, fe,
                                         cos);
        bool applies = st != MG_ERR_ARG; /* MG_ERR_ARG: a rank below 2m */
        if (!applies) {
            mg_clear_error();
            st = row(w, step, "lock", "lock_dims", 0);
        }
        double mean = 0;
        for (int i = 0; i < m2; i++) mean += cos[i] / m2;
        if (!st && applies) st = row(w, step, "lock", "lock_cos1", cos[0]);
        if (!st && applies) st = row(w, step, "lock", "lock_cos2", cos[1]);
        if (!st && applies) st = row(w, step, "lock", "lock_mean", mean);
        if (!st && applies) st = row(w, step, "lock", "lock_dims", m2);
    }
    mg_free(ef);
    if (!st)
        st = row(w, step, "model", "structural_energy",
                 mg_probes_structural_energy(P, mg_params_data(P)));
    return st;
}

/* ---- the end of a run ------------------------------------------------- */

/* spectrum.csv (layer, k, energy) and circle.csv (layer, residue, x, y). */
_Static_assert(MG_SPECTRUM_NCOLS == 3 && MG_COLIDX_spectrum_energy == 2 && MG_CIRCLE_NCOLS == 4 &&
                   MG_COLIDX_circle_y == 3,
               "write_spectra writes the columns in rundir.h's order");
static mg_status write_spectra(const char *dir, const view *vs, int nv, cJSON *summary) {
    char path[4096];
    mg_csv_writer *sw = NULL, *cw = NULL;
    snprintf(path, sizeof path, "%s/" MG_RUN_SPECTRUM, dir);
    remove(path);
    mg_status st = mg_csv_open(path, MG_SPECTRUM_NCOLS, mg_spectrum_cols, &sw);
    snprintf(path, sizeof path, "%s/" MG_RUN_CIRCLE, dir);
    remove(path);
    if (!st) st = mg_csv_open(path, MG_CIRCLE_NCOLS, mg_circle_cols, &cw);
    cJSON *keys = cJSON_AddObjectToObject(summary, "key_frequencies");
    cJSON *conc = cJSON_AddObjectToObject(summary, "fourier_concentration");
    cJSON *top = cJSON_AddObjectToObject(summary, "top_frequency");
    for (int i = 0; !st && i < nv; i++) {
        const view *v = &vs[i];
        if (v->rows < 3 || v->rows % 2 == 0) continue;
        mg_fourier f;
        if ((st = mg_fourier_compute(v->w, v->rows, v->cols, v->rs, v->cs, &f))) break;
        const char *role = i == 0 ? "embed" : "classifier";
        cJSON *list = cJSON_AddArrayToObject(keys, role);
        for (int k = 0; k < f.n_key; k++)
            cJSON_AddItemToArray(list, cJSON_CreateNumber(f.order[k]));
        cJSON_AddNumberToObject(conc, role, f.concentration);
        cJSON_AddNumberToObject(top, role, f.top);
        for (int k = 1; !st && k <= f.n_freq; k++) {
            st = mg_csv_put_str(sw, v->layer);
            if (!st) st = mg_csv_put_int(sw, k);
            if (!st) st = mg_csv_put_double(sw, f.energy[k - 1]);
            if (!st) st = mg_csv_end_row(sw);
        }
        double *xy = mg_malloc(2 * (size_t)v->rows * sizeof *xy), cv, corr;
        if (!xy) st = mg_fail(MG_ERR_NOMEM, "out of memory for circle.csv");
        if (!st)
            st = mg_fourier_circle_fit(v->w, v->rows, v->cols, v->rs, v->cs, f.top, &cv, &corr, xy);
        for (int x = 0; !st && x < v->rows; x++) {
            st = mg_csv_put_str(cw, v->layer);
            if (!st) st = mg_csv_put_int(cw, x);
            if (!st) st = mg_csv_put_double(cw, xy[2 * x]);
            if (!st) st = mg_csv_put_double(cw, xy[2 * x + 1]);
            if (!st) st = mg_csv_end_row(cw);
        }
        mg_free(xy);
        mg_fourier_free(&f);
    }
    if (sw) {
        mg_status s2 = mg_csv_close(sw);
        if (!st) st = s2;
    }
    if (cw) {
        mg_status s2 = mg_csv_close(cw);
        if (!st) st = s2;
    }
    return st;
}

/* A long-format CSV as parallel arrays: steps, "key" strings and values. */
typedef struct {
    mg_csv *csv;
    int64_t n;
    int64_t *steps;
    char **keys;
    double *vals;
} long_table;

static void table_free(long_table *t) {
    for (int64_t i = 0; t->keys && i < t->n; i++) mg_free(t->keys[i]);
    mg_free(t->keys);
    mg_free(t->steps);
    mg_free(t->vals);
    mg_csv_free(t->csv);
    memset(t, 0, sizeof *t);
}

/* key = cell(key1) [+ "/" + cell(key2)], value = cell(valcol). A missing
 * file gives an empty table. */
static mg_status table_load(const char *path, const char *key1, const char *key2,
                            const char *valcol, long_table *t) {
    memset(t, 0, sizeof *t);
    if (!mg_path_exists(path)) return MG_OK;
    mg_status st = mg_csv_read(path, &t->csv);
    if (st) return st;
    int cs = mg_csv_col(t->csv, MG_COL(probes, step)), k1 = mg_csv_col(t->csv, key1);
    int k2 = key2 ? mg_csv_col(t->csv, key2) : -1, cv = mg_csv_col(t->csv, valcol);
    if (cs < 0 || k1 < 0 || cv < 0 || (key2 && k2 < 0))
        return mg_fail(MG_ERR_FORMAT, "%s: missing columns (step, %s, %s)", path, key1, valcol);
    t->n = (int64_t)t->csv->nrows;
    t->steps = mg_malloc((size_t)(t->n + 1) * sizeof *t->steps);
    t->keys = mg_calloc((size_t)(t->n + 1), sizeof *t->keys);
    t->vals = mg_malloc((size_t)(t->n + 1) * sizeof *t->vals);
    if (!t->steps || !t->keys || !t->vals)
        return mg_fail(MG_ERR_NOMEM, "out of memory reading %s", path);
    for (int64_t r = 0; r < t->n; r++) {
        char key[160];
        snprintf(key, sizeof key, "%s%s%s", mg_csv_str(t->csv, (size_t)r, k1), key2 ? "/" : "",
                 key2 ? mg_csv_str(t->csv, (size_t)r, k2) : "");
        t->keys[r] = mg_malloc(strlen(key) + 1);
        if (!t->keys[r]) return mg_fail(MG_ERR_NOMEM, "out of memory reading %s", path);
        strcpy(t->keys[r], key);
        t->steps[r] = (int64_t)mg_csv_num(t->csv, (size_t)r, cs);
        t->vals[r] = mg_csv_num(t->csv, (size_t)r, cv);
    }
    return MG_OK;
}

typedef struct {
    int64_t *steps;
    double *v;
    int n;
} series;

static series select_series(const long_table *t, const char *key) {
    series s = {0};
    if (t->n && mg_clocks_series_select(t->steps, (const char *const *)t->keys, t->vals, t->n, key,
                                        &s.steps, &s.v, &s.n))
        memset(&s, 0, sizeof s);
    return s;
}

static void series_free(series *s) {
    mg_free(s->steps);
    mg_free(s->v);
}

static double last_of(const series *s) { return s->n ? s->v[s->n - 1] : NAN; }

static void put_num(cJSON *o, const char *key, double v) {
    cJSON_DeleteItemFromObjectCaseSensitive(o, key);
    if (isfinite(v)) cJSON_AddNumberToObject(o, key, v);
    else cJSON_AddNullToObject(o, key);
}
static void put_step(cJSON *o, const char *key, int64_t s) {
    put_num(o, key, s < 0 ? NAN : (double)s);
}

/* onsets and leads of the classifier over the embedding for one series */
static void lead_entry(cJSON *o, const char *name, const series *cls, const series *emb) {
    int64_t tc = mg_clocks_onset_half(cls->steps, cls->v, cls->n),
            te = mg_clocks_onset_half(emb->steps, emb->v, emb->n);
    mg_clocks_lead l = mg_clocks_lead_of(tc, te);
    cJSON *e = cJSON_AddObjectToObject(o, name);
    put_step(e, "onset_classifier", tc);
    put_step(e, "onset_embed", te);
    put_num(e, "lead_steps", tc >= 0 && te >= 0 ? (double)l.lead_steps : NAN);
    put_num(e, "lead_ratio", l.lead_ratio);
}

mg_status mg_study_finish(mg_trainer *t, const char *dir) {
    if (!mg_trainer_task(t)->n_values) return MG_OK; /* no operands: no geometry (see above) */
    char path[4096];
    snprintf(path, sizeof path, "%s/" MG_RUN_SUMMARY, dir);
    char *text = NULL;
    size_t len = 0;
    mg_status st = mg_read_file(path, &text, &len);
    if (st) return st;
    cJSON *sum = cJSON_ParseWithLength(text, len);
    mg_free(text);
    if (!sum) return mg_fail(MG_ERR_FORMAT, "%s is not valid JSON", path);
    const char *keys[] = {
        "key_frequencies", "fourier_concentration", "top_frequency", "lead", "geometry", "collapse",
        "layers"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        cJSON_DeleteItemFromObjectCaseSensitive(sum, keys[i]);

    view vs[2] = {{0}};
    if (!(st = embed_view(t, &vs[0])) && !(st = classifier_view(t, &vs[1])))
        st = write_spectra(dir, vs, 2, sum);
    const char *embed_layer = vs[0].layer, *classifier_layer = vs[1].layer;
    cJSON_DeleteItemFromObjectCaseSensitive(sum, "embed_layer");
    cJSON_DeleteItemFromObjectCaseSensitive(sum, "classifier_layer");
    cJSON_AddStringToObject(sum, "embed_layer", embed_layer);
    cJSON_AddStringToObject(sum, "classifier_layer", classifier_layer);

    long_table pr = {0}, geo = {0};
    char p1[4200], p2[4200];
    snprintf(p1, sizeof p1, "%s/" MG_RUN_PROBES, dir);
    snprintf(p2, sizeof p2, "%s/" MG_RUN_GEOMETRY, dir);
    if (!st) st = table_load(p1, MG_COL(probes, layer), NULL, MG_COL(probes, displacement), &pr);
    if (!st)
        st = table_load(p2, MG_COL(geometry, layer), MG_COL(geometry, metric),
                        MG_COL(geometry, value), &geo);
    if (!st) {
        char k[160];
        cJSON *lead = cJSON_AddObjectToObject(sum, "lead");
        series dc = select_series(&pr, classifier_layer), de = select_series(&pr, embed_layer);
        lead_entry(lead, "displacement", &dc, &de);
        series_free(&dc);
        series_free(&de);
        snprintf(k, sizeof k, "%s/fourier_gini", classifier_layer);
        series gc = select_series(&geo, k);
        snprintf(k, sizeof k, "%s/fourier_gini", embed_layer);
        series ge = select_series(&geo, k);
        lead_entry(lead, "structure", &gc, &ge);
        series_free(&gc);
        series_free(&ge);
        /* cumulative update ratio, classifier over embedding, first steps */
        long_table up = {0};
        if (!(st =
                  table_load(p1, MG_COL(probes, layer), NULL, MG_COL(probes, update_ratio), &up))) {
            series uc = select_series(&up, classifier_layer), ue = select_series(&up, embed_layer);
            double rc = mg_clocks_cumulative(uc.steps, uc.v, uc.n, MG_STUDY_LEAD_WINDOW);
            double re = mg_clocks_cumulative(ue.steps, ue.v, ue.n, MG_STUDY_LEAD_WINDOW);
            put_num(lead, "cumulative_update_ratio", re > 0 ? rc / re : NAN);
            put_num(lead, "cumulative_window", MG_STUDY_LEAD_WINDOW);
            series_free(&uc);
            series_free(&ue);
        }
        table_free(&up);

        /* T_simplify and the two clocks */
        series en = select_series(&geo, "model/structural_energy");
        snprintf(k, sizeof k, "%s/fourier_concentration", embed_layer);
        series co = select_series(&geo, k);
        int64_t ts = -1;
        if (en.n && co.n == en.n)
            ts = mg_clocks_t_simplify(en.steps, en.v, co.v, en.n, 0.05, 0.9 * last_of(&co));
        put_step(sum, "t_simplify", ts);
        cJSON *tf = cJSON_GetObjectItemCaseSensitive(sum, "t_fit");
        double fit = cJSON_IsNumber(tf) ? tf->valuedouble : NAN;
        put_num(sum, "clock_ratio", ts >= 0 && fit > 0 ? (double)ts / fit : NAN);
        series_free(&en);
        series_free(&co);

        /* final geometry and its label */
        cJSON *g = cJSON_AddObjectToObject(sum, "geometry");
        const char *final_keys[][2] = {{"embed_angle_corr", "circle_angle_corr"},
                                       {"embed_radius_cv", "circle_radius_cv"},
                                       {"embed_gini", "fourier_gini"},
                                       {"embed_n_key", "fourier_n_key"}};
        for (size_t i = 0; i < 4; i++) {
            snprintf(k, sizeof k, "%s/%s", embed_layer, final_keys[i][1]);
            series s = select_series(&geo, k);
            put_num(g, final_keys[i][0], last_of(&s));
            series_free(&s);
        }
        const char *locks[] = {"lock_cos1", "lock_cos2", "lock_mean"};
        for (int i = 0; i < 3; i++) {
            snprintf(k, sizeof k, "lock/%s", locks[i]);
            series s = select_series(&geo, k);
            put_num(g, locks[i], last_of(&s));
            series_free(&s);
        }
        snprintf(k, sizeof k, "%s/circle_angle_corr", classifier_layer);
        series sc = select_series(&geo, k);
        put_num(g, "classifier_angle_corr", last_of(&sc));
        series_free(&sc);
        const char *nc[] = {"nc1", "nc2_mean_cv", "nc2_w_cv", "nc2_etf", "nc3", "nc4"};
        cJSON *col = cJSON_AddObjectToObject(sum, "collapse");
        double etf = NAN;
        for (int i = 0; i < 6; i++) {
            snprintf(k, sizeof k, "features/%s", nc[i]);
            series s = select_series(&geo, k);
            put_num(col, nc[i], last_of(&s));
            if (i == 3) etf = last_of(&s);
            series_free(&s);
        }
        const char *ranks[] = {"rank2_energy", "eff_rank"};
        cJSON *rk = cJSON_AddObjectToObject(g, "classifier_ranks");
        for (int i = 0; i < 2; i++) {
            int ci = param_index(mg_trainer_params(t), mg_trainer_cfg(t)->model->classifier);
            snprintf(k, sizeof k, "%s/%s", mg_params_info(mg_trainer_params(t), ci)->name,
                     ranks[i]);
            series s = select_series(&geo, k);
            put_num(rk, ranks[i], last_of(&s));
            series_free(&s);
        }
        cJSON *ac = cJSON_GetObjectItemCaseSensitive(g, "embed_angle_corr");
        cJSON *gj = cJSON_GetObjectItemCaseSensitive(g, "embed_gini");
        double corr = cJSON_IsNumber(ac) ? ac->valuedouble : NAN;
        double gini = cJSON_IsNumber(gj) ? gj->valuedouble : NAN;
        const char *label = gini >= 0.4 && corr >= 0.9 ? "cyclic"
                            : etf <= 0.1               ? "simplex-like"
                                                       : "neither";
        cJSON_DeleteItemFromObjectCaseSensitive(sum, "geometry_label");
        cJSON_AddStringToObject(sum, "geometry_label", label);
    }
    table_free(&pr);
    table_free(&geo);
    if (!st) {
        char *out = cJSON_Print(sum);
        st = out ? mg_write_file_atomic(path, out, strlen(out))
                 : mg_fail(MG_ERR_NOMEM, "out of memory writing %s", path);
        cJSON_free(out);
    }
    cJSON_Delete(sum);
    return st;
}
