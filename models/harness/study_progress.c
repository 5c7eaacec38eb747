/* study_progress.c — the progress measures of the grokking literature
 * (analysis/progress.h) at each geometry step of a run on a + b mod p whose
 * split holds every pair: rows of layer "progress" in geometry.csv:
 *   restricted_loss   cross-entropy over all p^2 inputs of the logits'
 *                     part along the key frequencies of a + b (plus the
 *                     per-class constant);
 *   excluded_loss     cross-entropy over the training split with that part
 *                     removed, all key frequencies together, and
 *   excluded_loss_kK  with frequency K alone removed, for each key K;
 *   periodicity       the share of the logit cube's variance along
 *                     cos(w_k (a + b - c)) over the key frequencies;
 *   n_keys            how many key frequencies the step used.
 * The key-frequency rule: the embedding's key frequencies at that step
 * (analysis/fourier.h: energy >= a quarter of the largest), so the series
 * needs nothing from the future of the run. (Nanda et al. take the final
 * model's; the TransformerLens demo a fixed list; other sources the top-k
 * by a threshold of their own. None publishes the threshold.) Early in
 * training, when the spectrum is flat, every frequency is key. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "analysis/fourier.h"
#include "analysis/progress.h"
#include "core/alloc.h"
#include "models/harness/study.h"
#include "models/harness/study_impl.h"

mg_status mg_study_progress(mg_trainer *t, mg_csv_writer *w) {
    const mg_task *task = mg_trainer_task(t);
    const int p = task->n_values;
    if (!p || strcmp(task->def->name, "add") || task->K != p ||
        task->train.n + task->test.n != (int64_t)p * p || p < 3)
        return MG_OK;
    mg_study_view e;
    mg_status st = mg_study_embed_view(t, &e);
    if (st) return st;
    mg_fourier f;
    if ((st = mg_fourier_compute(e.w, e.rows, e.cols, e.rs, e.cs, &f))) return st;
    const int64_t pp = (int64_t)p * p;
    float *cube = mg_malloc((size_t)(pp * p) * sizeof *cube);
    int64_t *rows = mg_malloc((size_t)task->train.n * sizeof *rows), n_train = 0;
    int *labels = mg_malloc((size_t)pp * sizeof *labels);
    if (!cube || !rows || !labels) st = mg_fail(MG_ERR_NOMEM, "out of memory for the logit cube");
    if (!st) st = mg_trainer_logit_cube(t, cube, rows, &n_train);
    for (int64_t i = 0; !st && i < pp; i++) labels[i] = (int)((i / p + i % p) % p);
    const int *keys = f.order, nk = f.n_key;
    const int64_t s = mg_trainer_steps_done(t);
    double v = NAN;
    if (!st && nk > 0) {
        if (!(st = mg_progress_restricted_loss(cube, p, labels, keys, nk, &v)))
            st = mg_study_row(w, s, "progress", "restricted_loss", v);
        if (!st && !(st = mg_progress_excluded_loss(cube, p, labels, rows, n_train, keys, nk, &v)))
            st = mg_study_row(w, s, "progress", "excluded_loss", v);
        for (int k = 0; !st && k < nk; k++) {
            char name[48];
            snprintf(name, sizeof name, "excluded_loss_k%d", keys[k]);
            if (!(st = mg_progress_excluded_loss(cube, p, labels, rows, n_train, &keys[k], 1, &v)))
                st = mg_study_row(w, s, "progress", name, v);
        }
        if (!st && !(st = mg_progress_periodicity(cube, p, keys, nk, &v)))
            st = mg_study_row(w, s, "progress", "periodicity", v);
    }
    if (!st) st = mg_study_row(w, s, "progress", "n_keys", nk);
    mg_free(cube);
    mg_free(rows);
    mg_free(labels);
    mg_fourier_free(&f);
    return st;
}
