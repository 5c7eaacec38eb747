/* manifold_finish.c — the execution-manifold study's analyses at the end of
 * a run (manifold.h): the trajectory's PCA per attention block, over the
 * attention blocks together and over the whole parameter vector, beside the
 * matched random-walk null (analysis/trajectory.h); when the dimension
 * collapses; the top-k attention ablation; the commutator's and the
 * attention's early and late medians. Into trajectory.csv, explained.csv,
 * ablation.csv and summary.json's "manifold".
 *
 * When the dimension collapses: r90 of every prefix of the trajectory
 * (snapshots 0..j, j >= 2) is computed from one Gram matrix (its leading
 * block, centred); the collapse step is the first snapshot step from which
 * every longer prefix has the whole trajectory's r90: where the dimension
 * the trajectory ends with is reached and stays (a choice of ours: the
 * paper says "within the first 20-30% of training" without a rule). A
 * first rule, "from which every prefix's r90 is at most the whole's", was
 * wrong and is gone: a prefix of 3 snapshots spans at most 2 dimensions, so
 * it always named the third snapshot. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "analysis/trajectory.h"
#include "core/alloc.h"
#include "core/csvout.h"
#include "core/fsutil.h"
#include "models/harness/manifold.h"
#include "models/harness/rundir.h"
#include "models/task.h"

/* One region the trajectory is analysed on. */
typedef struct {
    char name[64];
    mg_traj_segment seg[64];
    int n_seg;
} region;

/* The uncentred Gram of X_t = W_t - W_0 over the region (S x S, double). */
static void gram(const float *w, int S, int64_t stride, const region *r, double *G) {
    for (int i = 0; i < S; i++)
        for (int j = 0; j <= i; j++) {
            double s = 0;
            for (int k = 0; k < r->n_seg; k++) {
                const float *a = w + (size_t)i * stride + r->seg[k].offset;
                const float *b = w + (size_t)j * stride + r->seg[k].offset;
                const float *z = w + r->seg[k].offset;
                for (int64_t c = 0; c < r->seg[k].len; c++)
                    s += ((double)a[c] - z[c]) * ((double)b[c] - z[c]);
            }
            G[i * S + j] = G[j * S + i] = s;
        }
}

/* r90 of snapshots 0..n-1 from the leading n x n block of G, centred. */
static mg_status prefix_r90(const double *G, int S, int n, double *C, int *r90) {
    double mean = 0, row[1024];
    for (int i = 0; i < n; i++) {
        row[i] = 0;
        for (int j = 0; j < n; j++) row[i] += G[i * S + j];
        row[i] /= n;
        mean += row[i] / n;
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) C[i * n + j] = G[i * S + j] - row[i] - row[j] + mean;
    double share[1024], sv[1024], tv, er;
    int r95, rank;
    return mg_traj_gram_summary(C, n, share, sv, &tv, r90, &r95, &rank, &er, NULL);
}

/* The collapse step of a region: see the top of the file. */
static mg_status collapse(const float *w, int S, int64_t stride, const region *r, int r90_all,
                          const int64_t *steps, int64_t *out) {
    double *G = mg_malloc((size_t)S * S * sizeof *G), *C = mg_malloc((size_t)S * S * sizeof *C);
    mg_status st = G && C ? MG_OK : mg_fail(MG_ERR_NOMEM, "out of memory for the prefix PCA");
    if (!st) gram(w, S, stride, r, G);
    *out = -1;
    for (int n = S; !st && n >= 3; n--) { /* back from the end: the last prefix off r90 */
        int r90;
        if ((st = prefix_r90(G, S, n, C, &r90))) break;
        if (r90 != r90_all) break;
        *out = steps[n - 1];
    }
    mg_free(G);
    mg_free(C);
    return st;
}

static mg_status region_rows(const float *w, int S, int64_t stride, const int64_t *steps,
                             const region *r, mg_csv_writer *traj, mg_csv_writer *expl,
                             cJSON *obj) {
    mg_traj_pca p = {0};
    mg_traj_null nl = {0};
    mg_status st = mg_traj_pca_compute(w, S, stride, w, r->seg, r->n_seg, 0, &p);
    if (!st)
        st = mg_traj_null_compute(S, p.steps, p.dim, 0x5eedULL ^ (uint64_t)strlen(r->name),
                                  MG_NULL_DRAWS, &nl);
    int64_t cstep = -1;
    if (!st) st = collapse(w, S, stride, r, p.r90, steps, &cstep);
    if (!st) {
        double mid = p.alignment[S / 2];
        st = mg_csv_put_str(traj, r->name);
        if (!st) st = mg_csv_put_int(traj, S);
        if (!st) st = mg_csv_put_int(traj, p.dim);
        if (!st) st = mg_csv_put_int(traj, p.r90);
        if (!st) st = mg_csv_put_int(traj, p.r95);
        if (!st) st = mg_csv_put_double(traj, p.entropy_rank);
        if (!st) st = mg_csv_put_double(traj, mid);
        if (!st) st = mg_csv_put_double(traj, nl.r90_mean);
        if (!st) st = mg_csv_put_double(traj, nl.r95_mean);
        if (!st) st = mg_csv_put_double(traj, nl.entropy_rank_mean);
        if (!st) st = mg_csv_put_int(traj, cstep);
        if (!st) st = mg_csv_end_row(traj);
        for (int k = 0; !st && k < S; k++) {
            st = mg_csv_put_str(expl, r->name);
            if (!st) st = mg_csv_put_int(expl, k + 1);
            if (!st) st = mg_csv_put_double(expl, p.share[k]);
            if (!st) st = mg_csv_put_double(expl, nl.share[k]);
            if (!st) st = mg_csv_end_row(expl);
        }
        cJSON *o = cJSON_AddObjectToObject(obj, r->name);
        cJSON_AddNumberToObject(o, "r90", p.r90);
        cJSON_AddNumberToObject(o, "r95", p.r95);
        cJSON_AddNumberToObject(o, "entropy_rank", p.entropy_rank);
        cJSON_AddNumberToObject(o, "null_r90", nl.r90_mean);
        cJSON_AddNumberToObject(o, "null_r95", nl.r95_mean);
        cJSON_AddNumberToObject(o, "null_entropy_rank", nl.entropy_rank_mean);
        cJSON_AddNumberToObject(o, "alignment_mid", isfinite(mid) ? mid : 0);
        if (cstep >= 0) cJSON_AddNumberToObject(o, "collapse_step", (double)cstep);
        else cJSON_AddNullToObject(o, "collapse_step");
    }
    mg_traj_pca_free(&p);
    mg_traj_null_free(&nl);
    return st;
}

static mg_status open_csv(const char *dir, const char *name, int n, const char *const *cols,
                          mg_csv_writer **w) {
    char path[4096 + 64];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    remove(path);
    return mg_csv_open(path, n, cols, w);
}

static mg_status trajectory(mg_trainer *t, const char *dir, cJSON *sum) {
    float *w = NULL;
    int64_t *steps = NULL;
    int S = 0;
    mg_status st = mg_manifold_load(t, dir, INT64_MAX, &w, &steps, &S);
    if (st || S < 3) {
        mg_free(w);
        mg_free(steps);
        return st;
    }
    if (S > 1024) st = mg_fail(MG_ERR_ARG, "%d snapshots: the analyses read at most 1024", S);
    const mg_params *P = mg_trainer_params(t);
    const int64_t stride = (int64_t)mg_params_total(P);
    mg_csv_writer *traj = NULL, *expl = NULL;
    if (!st) st = open_csv(dir, MG_RUN_TRAJ_CSV, MG_TRAJECTORY_NCOLS, mg_trajectory_cols, &traj);
    if (!st) st = open_csv(dir, MG_RUN_EXPLAINED, MG_EXPLAINED_NCOLS, mg_explained_cols, &expl);
    cJSON *tr = cJSON_AddObjectToObject(sum, "trajectory");
    cJSON_AddNumberToObject(tr, "snapshots", S);
    cJSON_AddNumberToObject(tr, "first_step", (double)steps[0]);
    cJSON_AddNumberToObject(tr, "last_step", (double)steps[S - 1]);
    cJSON *blocks = cJSON_AddObjectToObject(tr, "blocks");
    int idx[64];
    int nb = mg_manifold_blocks(t, idx, 64);
    region attn = {.name = "attention"}, all = {.name = "all", .n_seg = 1};
    all.seg[0] = (mg_traj_segment){0, stride};
    for (int b = 0; !st && b < nb; b++) {
        const mg_param_info *info = mg_params_info(P, idx[b]);
        region r = {.n_seg = 1};
        snprintf(r.name, sizeof r.name, "%s", info->name);
        r.seg[0] = (mg_traj_segment){(int64_t)info->offset, (int64_t)info->numel};
        attn.seg[attn.n_seg++] = r.seg[0];
        st = region_rows(w, S, stride, steps, &r, traj, expl, blocks);
    }
    if (!st && nb) st = region_rows(w, S, stride, steps, &attn, traj, expl, tr);
    if (!st) st = region_rows(w, S, stride, steps, &all, traj, expl, tr);
    mg_status c1 = traj ? mg_csv_close(traj) : MG_OK, c2 = expl ? mg_csv_close(expl) : MG_OK;
    mg_free(w);
    mg_free(steps);
    return st ? st : c1 ? c1 : c2;
}

/* The held-out accuracy with each layer's attention cut to its k largest
 * weights, k = 16, 8, 4, 2, 1 (the model's --attn-topk), and without. */
static mg_status ablation(mg_trainer *t, const char *dir, cJSON *sum) {
    const mg_model_def *m = mg_trainer_cfg(t)->model;
    int oi = mg_model_option_index(m, "attn-topk");
    if (oi < 0) return MG_OK;
    const mg_task *task = mg_trainer_task(t);
    mg_csv_writer *w = NULL;
    mg_status st = open_csv(dir, MG_RUN_ABLATION, MG_ABLATION_NCOLS, mg_ablation_cols, &w);
    cJSON *ab = cJSON_AddObjectToObject(sum, "attention_topk_acc");
    static const char *ks[] = {"all", "16", "8", "4", "2", "1"};
    for (int i = 0; !st && i < 6; i++) {
        double v;
        mg_eval all, groups[MG_TASK_MAX_GROUPS];
        if ((st = mg_model_option_parse(m, oi, ks[i], &v))) break;
        if ((st = mg_trainer_eval_with_option(t, "attn-topk", v, &all, groups))) break;
        cJSON_AddNumberToObject(ab, ks[i], all.acc);
        for (int g = -1; !st && g < task->n_groups; g++) {
            mg_eval e = g < 0 ? all : groups[g];
            st = mg_csv_put_str(w, ks[i]);
            if (!st) st = mg_csv_put_str(w, g < 0 ? "all" : task->group_names[g]);
            if (!st) st = mg_csv_put_double(w, e.loss);
            if (!st) st = mg_csv_put_double(w, e.acc);
            if (!st) st = mg_csv_end_row(w);
        }
    }
    mg_status c = w ? mg_csv_close(w) : MG_OK;
    return st ? st : c;
}

mg_status mg_manifold_finish(mg_trainer *t, const char *dir) {
    const bool attn = mg_trainer_attention_layers(t, NULL, NULL, NULL) > 0;
    char path[4096 + 64];
    snprintf(path, sizeof path, "%s/" MG_RUN_TRAJECTORY, dir);
    if (!attn && !mg_path_exists(path)) return MG_OK;
    snprintf(path, sizeof path, "%s/" MG_RUN_SUMMARY, dir);
    cJSON *sum = NULL;
    mg_status st = mg_read_json(path, &sum);
    if (st) return st;
    cJSON_DeleteItemFromObjectCaseSensitive(sum, "manifold");
    cJSON *mf = cJSON_AddObjectToObject(sum, "manifold");
    st = trajectory(t, dir, mf);
    if (!st) st = ablation(t, dir, mf);
    if (!st) st = mg_manifold_series_summary(dir, mf);
    char *out = st ? NULL : cJSON_Print(sum);
    if (!st && !out) st = mg_fail(MG_ERR_NOMEM, "out of memory writing %s", path);
    if (!st) st = mg_write_file_atomic(path, out, strlen(out));
    free(out);
    cJSON_Delete(sum);
    return st;
}
