/* study_summary.c — the study's analyses at the end of a run (study.h):
 * spectrum.csv and circle.csv, and the summary's spectra, onsets, leads,
 * T_simplify, final geometry and its label; the two clocks are
 * study_clocks.c's. */
#include "models/harness/rundir.h"
#include "models/harness/study.h"
#include "models/harness/study_impl.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "analysis/clocks.h"
#include "analysis/fourier.h"
#include "core/alloc.h"
#include "core/fsutil.h"

/* spectrum.csv (layer, k, energy) and circle.csv (layer, residue, x, y). */
_Static_assert(MG_SPECTRUM_NCOLS == 3 && MG_COLIDX_spectrum_energy == 2 && MG_CIRCLE_NCOLS == 4 &&
                   MG_COLIDX_circle_y == 3,
               "write_spectra writes the columns in rundir.h's order");
static mg_status write_spectra(const char *dir, const mg_study_view *vs, int nv, cJSON *summary) {
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
        const mg_study_view *v = &vs[i];
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

/* The first n of s's samples with steps <= until (all when until < 0). */
static int upto(const mg_study_series *s, int64_t until) {
    int n = 0;
    while (n < s->n && (until < 0 || s->steps[n] <= until)) n++;
    return n;
}

/* Onsets and leads of the classifier over the embedding for one series:
 * each onset the first sample covering half of the series' rise from its
 * first value to its value at `ref` (the last sample at or before it; ref
 * < 0: the last sample of the run). ref_missing: the reference was not
 * reached, so neither onset is measured. */
static void lead_entry(cJSON *o, const char *name, const mg_study_series *cls,
                       const mg_study_series *emb, int64_t ref, bool ref_missing) {
    int nc = ref_missing ? 0 : upto(cls, ref), ne = ref_missing ? 0 : upto(emb, ref);
    int64_t tc = mg_clocks_onset_half(cls->steps, cls->v, nc),
            te = mg_clocks_onset_half(emb->steps, emb->v, ne);
    mg_clocks_lead l = mg_clocks_lead_of(tc, te);
    cJSON *e = cJSON_AddObjectToObject(o, name);
    mg_study_put_step(e, "onset_classifier", tc);
    mg_study_put_step(e, "onset_embed", te);
    mg_study_put_num(e, "lead_steps", tc >= 0 && te >= 0 ? (double)l.lead_steps : NAN);
    mg_study_put_num(e, "lead_ratio", l.lead_ratio);
}

/* The summary's "lead": the classifier's lead over the embedding by
 * displacement and by structure (the Gini of the Fourier energies), each
 * against the value at T_grok (the default: an onset that a longer run does
 * not move) and, under "*_final", against the run's last value (the first
 * definition, kept: it moves with where the run stops); and the cumulative
 * update ratio over the first MG_STUDY_LEAD_WINDOW steps. A tied classifier
 * is the embedding: no lead applies. */
static mg_status leads(cJSON *sum, const char *probes_path, const mg_study_table *pr,
                       const mg_study_table *geo, const char *classifier_layer,
                       const char *embed_layer, bool tied) {
    cJSON *lead = cJSON_AddObjectToObject(sum, "lead");
    if (tied) {
        cJSON_AddBoolToObject(lead, "applies", false);
        cJSON_AddStringToObject(lead, "why",
                                "the classifier is the embedding (tied): one matrix, no lead");
        return MG_OK;
    }
    cJSON_AddBoolToObject(lead, "applies", true);
    const cJSON *tg = cJSON_GetObjectItemCaseSensitive(sum, "t_grok");
    const bool grokked = cJSON_IsNumber(tg);
    const int64_t t_grok = grokked ? (int64_t)tg->valuedouble : -1;
    cJSON_AddStringToObject(lead, "reference",
                            grokked ? "t_grok" : "t_grok not reached: onsets not measured");
    char k[160];
    mg_study_series dc = mg_study_select(pr, classifier_layer),
                    de = mg_study_select(pr, embed_layer);
    snprintf(k, sizeof k, "%s/fourier_gini", classifier_layer);
    mg_study_series gc = mg_study_select(geo, k);
    snprintf(k, sizeof k, "%s/fourier_gini", embed_layer);
    mg_study_series ge = mg_study_select(geo, k);
    lead_entry(lead, "displacement", &dc, &de, t_grok, !grokked);
    lead_entry(lead, "structure", &gc, &ge, t_grok, !grokked);
    lead_entry(lead, "displacement_final", &dc, &de, -1, false);
    lead_entry(lead, "structure_final", &gc, &ge, -1, false);
    mg_study_series_free(&dc);
    mg_study_series_free(&de);
    mg_study_series_free(&gc);
    mg_study_series_free(&ge);
    /* cumulative update ratio, classifier over embedding, first steps */
    mg_study_table up = {0};
    mg_status st = mg_study_table_load(probes_path, MG_COL(probes, layer), NULL,
                                       MG_COL(probes, update_ratio), &up);
    if (!st) {
        mg_study_series uc = mg_study_select(&up, classifier_layer),
                        ue = mg_study_select(&up, embed_layer);
        double rc = mg_clocks_cumulative(uc.steps, uc.v, uc.n, MG_STUDY_LEAD_WINDOW);
        double re = mg_clocks_cumulative(ue.steps, ue.v, ue.n, MG_STUDY_LEAD_WINDOW);
        mg_study_put_num(lead, "cumulative_update_ratio", re > 0 ? rc / re : NAN);
        mg_study_put_num(lead, "cumulative_window", MG_STUDY_LEAD_WINDOW);
        mg_study_series_free(&uc);
        mg_study_series_free(&ue);
    }
    mg_study_table_free(&up);
    return st;
}

mg_status mg_study_finish(mg_trainer *t, const char *dir) {
    if (!mg_trainer_task(t)->n_values) return MG_OK; /* no operands: no geometry (see above) */
    char path[4096];
    snprintf(path, sizeof path, "%s/" MG_RUN_SUMMARY, dir);
    cJSON *sum = NULL;
    mg_status st = mg_read_json(path, &sum);
    if (st) return st;
    const char *keys[] = {"key_frequencies", "fourier_concentration",
                          "top_frequency",   "lead",
                          "geometry",        "collapse",
                          "layers",          "two_clocks",
                          "roles_tied",      "geometry_label_shape"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        cJSON_DeleteItemFromObjectCaseSensitive(sum, keys[i]);

    mg_study_view vs[2] = {{0}};
    const bool tied = mg_study_roles_tied(t);
    cJSON_AddBoolToObject(sum, "roles_tied", tied);
    if (!(st = mg_study_embed_view(t, &vs[0])) && !(st = mg_study_classifier_view(t, &vs[1])))
        st = write_spectra(dir, vs, tied ? 1 : 2, sum);
    const char *embed_layer = vs[0].layer, *classifier_layer = vs[1].layer;
    cJSON_DeleteItemFromObjectCaseSensitive(sum, "embed_layer");
    cJSON_DeleteItemFromObjectCaseSensitive(sum, "classifier_layer");
    cJSON_AddStringToObject(sum, "embed_layer", embed_layer);
    cJSON_AddStringToObject(sum, "classifier_layer", classifier_layer);

    mg_study_table pr = {0}, geo = {0};
    char p1[4200], p2[4200];
    snprintf(p1, sizeof p1, "%s/" MG_RUN_PROBES, dir);
    snprintf(p2, sizeof p2, "%s/" MG_RUN_GEOMETRY, dir);
    if (!st)
        st =
            mg_study_table_load(p1, MG_COL(probes, layer), NULL, MG_COL(probes, displacement), &pr);
    if (!st)
        st = mg_study_table_load(p2, MG_COL(geometry, layer), MG_COL(geometry, metric),
                                 MG_COL(geometry, value), &geo);
    if (!st) {
        char k[160];
        st = leads(sum, p1, &pr, &geo, classifier_layer, embed_layer, tied);
        /* T_simplify: the clocks' first, coarse form */
        mg_study_series en = mg_study_select(&geo, "model/structural_energy");
        snprintf(k, sizeof k, "%s/fourier_concentration", embed_layer);
        mg_study_series co = mg_study_select(&geo, k);
        int64_t ts = -1;
        if (en.n && co.n == en.n)
            ts = mg_clocks_t_simplify(en.steps, en.v, co.v, en.n, 0.05, 0.9 * mg_study_last(&co));
        mg_study_put_step(sum, "t_simplify", ts);
        cJSON *tf = cJSON_GetObjectItemCaseSensitive(sum, "t_fit");
        double fit = cJSON_IsNumber(tf) ? tf->valuedouble : NAN;
        mg_study_put_num(sum, "clock_ratio", ts >= 0 && fit > 0 ? (double)ts / fit : NAN);
        mg_study_series_free(&en);
        mg_study_series_free(&co);

        /* final geometry and its label */
        cJSON *g = cJSON_AddObjectToObject(sum, "geometry");
        const char *final_keys[][2] = {{"embed_angle_corr", "circle_angle_corr"},
                                       {"embed_radius_cv", "circle_radius_cv"},
                                       {"embed_gini", "fourier_gini"},
                                       {"embed_n_key", "fourier_n_key"}};
        for (size_t i = 0; i < 4; i++) {
            snprintf(k, sizeof k, "%s/%s", embed_layer, final_keys[i][1]);
            mg_study_series s = mg_study_select(&geo, k);
            mg_study_put_num(g, final_keys[i][0], mg_study_last(&s));
            mg_study_series_free(&s);
        }
        const char *locks[] = {"lock_cos1", "lock_cos2", "lock_mean"};
        for (int i = 0; i < 3; i++) {
            snprintf(k, sizeof k, "lock/%s", locks[i]);
            mg_study_series s = mg_study_select(&geo, k);
            mg_study_put_num(g, locks[i], mg_study_last(&s));
            mg_study_series_free(&s);
        }
        snprintf(k, sizeof k, "%s/circle_angle_corr", classifier_layer);
        mg_study_series sc = mg_study_select(&geo, k);
        mg_study_put_num(g, "classifier_angle_corr", mg_study_last(&sc));
        mg_study_series_free(&sc);
        const char *nc[] = {"nc1", "nc2_mean_cv", "nc2_w_cv", "nc2_etf", "nc3", "nc4"};
        cJSON *col = cJSON_AddObjectToObject(sum, "collapse");
        double etf = NAN;
        for (int i = 0; i < 6; i++) {
            snprintf(k, sizeof k, "features/%s", nc[i]);
            mg_study_series s = mg_study_select(&geo, k);
            mg_study_put_num(col, nc[i], mg_study_last(&s));
            if (i == 3) etf = mg_study_last(&s);
            mg_study_series_free(&s);
        }
        const char *ranks[] = {"rank2_energy", "eff_rank"};
        cJSON *rk = cJSON_AddObjectToObject(g, "classifier_ranks");
        for (int i = 0; i < 2; i++) {
            int ci =
                mg_study_param_index(mg_trainer_params(t), mg_trainer_cfg(t)->model->classifier);
            snprintf(k, sizeof k, "%s/%s", mg_params_info(mg_trainer_params(t), ci)->name,
                     ranks[i]);
            mg_study_series s = mg_study_select(&geo, k);
            mg_study_put_num(rk, ranks[i], mg_study_last(&s));
            mg_study_series_free(&s);
        }
        cJSON *ac = cJSON_GetObjectItemCaseSensitive(g, "embed_angle_corr");
        cJSON *gj = cJSON_GetObjectItemCaseSensitive(g, "embed_gini");
        double corr = cJSON_IsNumber(ac) ? ac->valuedouble : NAN;
        double gini = cJSON_IsNumber(gj) ? gj->valuedouble : NAN;
        const char *shape = gini >= 0.4 && corr >= 0.9 ? "cyclic"
                            : etf <= 0.1               ? "simplex-like"
                                                       : "neither";
        /* the label of a model that did not fit its training set says so:
         * the shape of an unfitted model's weights is no solution's */
        cJSON *ta = cJSON_GetObjectItemCaseSensitive(sum, "train_acc");
        bool fitted = cJSON_IsNumber(ta) && ta->valuedouble >= MG_STUDY_FITTED_ACC;
        cJSON_DeleteItemFromObjectCaseSensitive(sum, "geometry_label");
        cJSON_AddStringToObject(sum, "geometry_label", fitted ? shape : "not fitted");
        cJSON_AddStringToObject(sum, "geometry_label_shape", shape);
    }
    if (!st) st = mg_study_two_clocks(t, dir, &geo, sum);
    mg_study_table_free(&pr);
    mg_study_table_free(&geo);
    if (!st) {
        char *out = cJSON_Print(sum);
        st = out ? mg_write_file_atomic(path, out, strlen(out))
                 : mg_fail(MG_ERR_NOMEM, "out of memory writing %s", path);
        cJSON_free(out);
    }
    cJSON_Delete(sum);
    return st;
}
