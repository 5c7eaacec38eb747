/* study_common.c — what the study's files share (study_impl.h): the roles'
 * matrices as views, and the long-format series read back. */
#include "models/harness/study_impl.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "analysis/clocks.h"
#include "core/alloc.h"
#include "core/csvout.h"
#include "core/fsutil.h"
#include "models/harness/rundir.h"

int mg_study_param_index(const mg_params *P, const char *name) {
    return name ? mg_params_find(P, name) : mg_params_count(P) - 1;
}

static void layer_of(const char *name, char *out, size_t n) {
    snprintf(out, n, "%.*s", (int)strcspn(name, "."), name);
}

/* The token vectors: rows 0..n_values-1 (the operands' tokens, 0..p-1 on
 * the modular tasks) of the embedding role. */
mg_status mg_study_embed_view(mg_trainer *t, mg_study_view *v) {
    mg_params *P = mg_trainer_params(t);
    const mg_model_def *m = mg_trainer_cfg(t)->model;
    int k = mg_study_param_index(P, m->embed);
    const mg_param_info *info = mg_params_info(P, k);
    if (k < 0 || info->ndim != 2)
        return mg_fail(MG_ERR_STATE, "model %s: no 2-D embedding parameter '%s'", m->name,
                       m->embed);
    const int rows = mg_trainer_task(t)->n_values;
    if (rows > info->shape[0])
        return mg_fail(MG_ERR_STATE, "model %s: '%s' has %lld rows, fewer than the %d tokens",
                       m->name, info->name, (long long)info->shape[0], rows);
    *v = (mg_study_view){
        mg_params_data(P) + info->offset, rows, (int)info->shape[1], info->shape[1], 1, ""};
    layer_of(info->name, v->layer, sizeof v->layer);
    return MG_OK;
}

/* The class vectors: rows (or columns) of the classifier role. */
mg_status mg_study_classifier_view(mg_trainer *t, mg_study_view *v) {
    mg_params *P = mg_trainer_params(t);
    const mg_model_def *m = mg_trainer_cfg(t)->model;
    int k = mg_study_param_index(P, m->classifier);
    const mg_param_info *info = mg_params_info(P, k);
    if (k < 0 || info->ndim != 2)
        return mg_fail(MG_ERR_STATE, "model %s: no 2-D classifier parameter", m->name);
    const float *w = mg_params_data(P) + info->offset;
    int p = mg_trainer_task(t)->K;
    if (p > info->shape[m->classes_in_columns ? 1 : 0])
        return mg_fail(MG_ERR_STATE, "model %s: '%s' holds fewer than the %d classes", m->name,
                       info->name, p);
    if (m->classes_in_columns)
        *v = (mg_study_view){w, p, (int)info->shape[0], 1, info->shape[1], ""};
    else *v = (mg_study_view){w, p, (int)info->shape[1], info->shape[1], 1, ""};
    layer_of(info->name, v->layer, sizeof v->layer);
    return MG_OK;
}

bool mg_study_roles_tied(mg_trainer *t) {
    mg_study_view e, c;
    if (mg_study_embed_view(t, &e) || mg_study_classifier_view(t, &c)) {
        mg_clear_error();
        return false;
    }
    return e.w == c.w && e.rs == c.rs && e.cs == c.cs && e.cols == c.cols;
}

void mg_study_table_free(mg_study_table *t) {
    for (int64_t i = 0; t->keys && i < t->n; i++) mg_free(t->keys[i]);
    mg_free(t->keys);
    mg_free(t->steps);
    mg_free(t->vals);
    mg_csv_free(t->csv);
    memset(t, 0, sizeof *t);
}

/* key = cell(key1) [+ "/" + cell(key2)], value = cell(valcol). A missing
 * file gives an empty table. */
mg_status mg_study_table_load(const char *path, const char *key1, const char *key2,
                              const char *valcol, mg_study_table *t) {
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

mg_study_series mg_study_select(const mg_study_table *t, const char *key) {
    mg_study_series s = {0};
    if (t->n && mg_clocks_series_select(t->steps, (const char *const *)t->keys, t->vals, t->n, key,
                                        &s.steps, &s.v, &s.n))
        memset(&s, 0, sizeof s);
    return s;
}

mg_study_series mg_study_all(const mg_study_table *t) {
    mg_study_series s = {0};
    if (!t->n) return s;
    s.steps = mg_malloc((size_t)t->n * sizeof *s.steps);
    s.v = mg_malloc((size_t)t->n * sizeof *s.v);
    if (!s.steps || !s.v) {
        mg_study_series_free(&s);
        return (mg_study_series){0};
    }
    memcpy(s.steps, t->steps, (size_t)t->n * sizeof *s.steps);
    memcpy(s.v, t->vals, (size_t)t->n * sizeof *s.v);
    s.n = (int)t->n;
    return s;
}

void mg_study_series_free(mg_study_series *s) {
    mg_free(s->steps);
    mg_free(s->v);
}

double mg_study_last(const mg_study_series *s) { return s->n ? s->v[s->n - 1] : NAN; }

void mg_study_put_num(cJSON *o, const char *key, double v) {
    cJSON_DeleteItemFromObjectCaseSensitive(o, key);
    if (isfinite(v)) cJSON_AddNumberToObject(o, key, v);
    else cJSON_AddNullToObject(o, key);
}
void mg_study_put_step(cJSON *o, const char *key, int64_t s) {
    mg_study_put_num(o, key, s < 0 ? NAN : (double)s);
}
