/* sae_study.c — `modgrad sae` (sae_study.h): the vectors, the training of
 * the autoencoder, its latents, and the ablations. */
#include "models/harness/sae_study.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/alloc.h"
#include "core/csvout.h"
#include "core/fsutil.h"
#include "core/optim.h"
#include "core/rng.h"
#include "core/safetensors.h"
#include "models/harness/run.h"
#include "models/harness/rundir.h"
#include "models/harness/train.h"
#include "models/sae.h"
#include "ops/ops.h"

#define CHUNK 256 /* rows per pass of the model when drawing training vectors */

void mg_sae_defaults(mg_sae_cfg *c) {
    *c = (mg_sae_cfg){.checkpoint = -1,
                      .layer = -1,
                      .d_sae = 256,
                      .k = 16,
                      .steps = 4000,
                      .batch = 512,
                      .pool_rows = 4096,
                      .lr = 3e-4,
                      .l2 = 1e-6,
                      .corr_min = 0.5,
                      .ablate = 12,
                      .seed = 0};
}

/* Vectors of the residual stream at value positions: v (n x d), with the
 * row's m (value positions in it), the position, and where it came from. */
typedef struct {
    int64_t n, cap;
    int d;
    float *v;
    double *m, *pos;
    int64_t *at; /* row * T + position, within the rows it was read from */
} vecs;

static void vecs_free(vecs *s) {
    mg_free(s->v);
    mg_free(s->m);
    mg_free(s->pos);
    mg_free(s->at);
    memset(s, 0, sizeof *s);
}

static mg_status vecs_add(vecs *s, const float *x, double m, double pos, int64_t at) {
    if (s->n == s->cap) {
        int64_t cap = s->cap ? 2 * s->cap : 4096;
        float *v = mg_realloc(s->v, (size_t)cap * s->d * sizeof *v);
        if (v) s->v = v;
        double *a = mg_realloc(s->m, (size_t)cap * sizeof *a);
        if (a) s->m = a;
        double *b = mg_realloc(s->pos, (size_t)cap * sizeof *b);
        if (b) s->pos = b;
        int64_t *c = mg_realloc(s->at, (size_t)cap * sizeof *c);
        if (c) s->at = c;
        if (!v || !a || !b || !c)
            return mg_fail(MG_ERR_NOMEM, "out of memory for %lld residual vectors", (long long)cap);
        s->cap = cap;
    }
    memcpy(s->v + (size_t)s->n * s->d, x, (size_t)s->d * sizeof *x);
    s->m[s->n] = m;
    s->pos[s->n] = pos;
    s->at[s->n] = at;
    s->n++;
    return MG_OK;
}

/* The value positions of rows (mask `mask`) read from resid (n x T x d);
 * at counts from base rows. */
static mg_status collect(vecs *s, const mg_rows *rows, int T, int mask, const float *resid,
                         int64_t base) {
    mg_status st = MG_OK;
    for (int64_t r = 0; !st && r < rows->n; r++) {
        const uint8_t *mk = rows->masks[mask] + r * T;
        int m = 0;
        for (int t = 0; t < T; t++) m += mk[t] != 0;
        for (int t = 0; !st && t < T; t++)
            if (mk[t])
                st = vecs_add(s, resid + ((size_t)r * T + t) * s->d, m, t, (base + r) * T + t);
    }
    return st;
}

/* The autoencoder on n vectors: its graph (forward only unless training). */
typedef struct {
    mg_graph *g;
    mg_tensor *x;
    mg_sae_out o;
} sae_graph;

static mg_status sae_graph_new(mg_params *P, int64_t n, int d, const mg_sae_cfg *c, bool train,
                               sae_graph *s) {
    s->g = mg_graph_new(P);
    if (!s->g) return mg_fail(MG_ERR_NOMEM, "out of memory for the autoencoder's graph");
    s->x = mg_input(s->g, "x", MG_F32, MG_SHAPE(n, d));
    mg_status st = mg_sae_build(s->g, s->x, c->d_sae, c->k, (float)c->l2, &s->o);
    if (st) return mg_fail(st, "the autoencoder: %s", mg_graph_error(s->g));
    mg_graph_keep(s->g, s->o.loss);
    mg_graph_keep(s->g, s->o.z);
    mg_graph_keep(s->g, s->o.x_hat);
    st = mg_graph_compile(s->g, train ? s->o.loss : NULL);
    return st ? mg_fail(st, "the autoencoder: %s", mg_errmsg()) : MG_OK;
}

/* The decoder's rows start as the encoder's columns, unit norm; its bias as
 * the training vectors' mean (the usual start of a TopK autoencoder). */
static void sae_init(mg_params *P, const vecs *tr, int m) {
    const int d = tr->d;
    float *w = mg_params_data(P);
    const mg_param_info *enc = mg_params_info(P, mg_params_find(P, "sae.enc"));
    const mg_param_info *dec = mg_params_info(P, mg_params_find(P, "sae.dec"));
    const mg_param_info *bd = mg_params_info(P, mg_params_find(P, "sae.dec_bias"));
    for (int j = 0; j < m; j++) {
        double nn = 0;
        for (int i = 0; i < d; i++)
            nn += (double)w[enc->offset + i * m + j] * w[enc->offset + i * m + j];
        for (int i = 0; i < d; i++)
            w[dec->offset + (size_t)j * d + i] = (float)(w[enc->offset + i * m + j] / sqrt(nn));
    }
    for (int i = 0; i < d; i++) {
        double s = 0;
        for (int64_t r = 0; r < tr->n; r++) s += tr->v[(size_t)r * d + i];
        w[bd->offset + i] = (float)(s / (double)tr->n);
    }
}

static double pearson(const float *z, int64_t stride, const double *y, int64_t n) {
    double mz = 0, my = 0;
    for (int64_t i = 0; i < n; i++) mz += z[i * stride], my += y[i];
    mz /= (double)n, my /= (double)n;
    double szz = 0, syy = 0, szy = 0;
    for (int64_t i = 0; i < n; i++) {
        double a = z[i * stride] - mz, b = y[i] - my;
        szz += a * a, syy += b * b, szy += a * b;
    }
    return szz > 0 && syy > 0 ? szy / sqrt(szz * syy) : NAN;
}

typedef struct {
    double var, active, corr_m, corr_pos;
} latent;

/* Held-out accuracy with patch (NULL: none), overall and per group. */
static mg_status accuracy(mg_resid_probe *pr, const mg_task *task, const float *patch, double *all,
                          double *group) {
    mg_status st = mg_resid_probe_run(pr, &task->test, patch, NULL, NULL);
    if (st) return st;
    for (int g = 0; g < task->n_groups; g++)
        group[g] = mg_resid_probe_eval(pr, task->group_start[g], task->group_start[g + 1]).acc;
    *all = mg_resid_probe_eval(pr, 0, task->test.n).acc;
    return MG_OK;
}

static mg_status check_cfg(const mg_sae_cfg *c) {
    if (c->d_sae < 1 || c->k < 1 || c->k > c->d_sae)
        return mg_fail(MG_ERR_ARG, "--k must be 1..--d-sae (%d), got %d", c->d_sae, c->k);
    if (c->steps < 1 || c->batch < 1 || c->pool_rows < 1)
        return mg_fail(MG_ERR_ARG, "--steps, --batch and --pool-rows must be >= 1");
    if (!(c->lr > 0) || !isfinite(c->lr) || !(c->l2 >= 0) || !isfinite(c->l2))
        return mg_fail(MG_ERR_ARG, "--lr must be > 0 and --l2 >= 0");
    if (c->ablate < 0 || c->ablate > MG_SAE_MAX_ABLATE || c->ablate > c->d_sae)
        return mg_fail(MG_ERR_ARG, "--ablate must be 0..%d and at most --d-sae", MG_SAE_MAX_ABLATE);
    if (!(c->corr_min > 0 && c->corr_min <= 1))
        return mg_fail(MG_ERR_ARG, "--corr-min must be in (0, 1], got %g", c->corr_min);
    return MG_OK;
}

/* The trainer of the run at its checkpoint; the value mask's index. */
static mg_status open_run(const char *dir, const mg_sae_cfg *c, mg_trainer **out, int *mask,
                          int64_t *step) {
    mg_train_cfg cfg;
    mg_run_opts o;
    mg_run_opts_defaults(&o);
    char hash[17], path[4096 + 64];
    *out = NULL;
    mg_status st = mg_run_check_dir(dir);
    if (!st) st = mg_run_read_config(dir, &cfg, &o, hash);
    if (!st) st = mg_run_pin_blis(dir);
    if (st) return st;
    *step = c->checkpoint >= 0 ? c->checkpoint : mg_run_last_checkpoint(dir);
    snprintf(path, sizeof path, "%s/" MG_RUN_CHECKPOINT, dir, (long long)*step);
    if (*step < 0 || !mg_path_exists(path))
        return mg_fail(MG_ERR_ARG, "%s has no checkpoint at step %lld (--checkpoint)", dir,
                       (long long)*step);
    mg_trainer *t = NULL;
    if ((st = mg_trainer_new(&cfg, &t))) return st;
    const mg_task *task = mg_trainer_task(t);
    *mask = -1;
    for (int k = 0; k < task->n_masks; k++)
        if (!strcmp(task->mask_names[k], "value")) *mask = k;
    if (*mask < 0 || !mg_task_generated(task))
        st = mg_fail(
            MG_ERR_ARG, "the autoencoder reads the residual stream at value tokens: task %s %s",
            task->def->name, *mask < 0 ? "marks no \"value\" positions" : "is not generated");
    if (!st) st = mg_run_load_checkpoint(t, path, NULL);
    if (st) {
        mg_trainer_free(t);
        return st;
    }
    *out = t;
    return MG_OK;
}

/* The vectors of pool_rows fresh rows, CHUNK at a time (each CHUNK rows
 * share their m and marker positions, as a training batch does). */
static mg_status pool_vectors(mg_trainer *t, mg_resid_probe *pr, int mask, const mg_sae_cfg *c,
                              uint64_t salt, vecs *tr) {
    const mg_task *task = mg_trainer_task(t);
    mg_rows rows = {0};
    mg_status st = mg_rows_alloc(&rows, CHUNK, task->T, task->n_masks);
    for (int64_t done = 0, i = 0; !st && done < c->pool_rows; done += CHUNK, i++) {
        const float *resid = NULL;
        if (!(st = mg_trainer_fresh_rows(t, salt + (c->seed << 20) + (uint64_t)i, &rows)) &&
            !(st = mg_resid_probe_run(pr, &rows, NULL, &resid, NULL)))
            st = collect(tr, &rows, task->T, mask, resid, done);
    }
    mg_rows_free(&rows);
    return st;
}

static mg_status train_sae(mg_params *P, const vecs *tr, const mg_sae_cfg *c, double *loss) {
    sae_graph s = {0};
    mg_status st = sae_graph_new(P, c->batch, tr->d, c, true, &s);
    mg_opt_cfg oc = mg_opt_defaults(MG_OPT_ADAMW);
    oc.lr = (float)c->lr, oc.beta2 = 0.999f, oc.weight_decay = 0;
    mg_optim *o = st ? NULL : mg_optim_new(P, &oc);
    if (!st && !o) st = mg_fail(MG_ERR_NOMEM, "out of memory for the autoencoder's optimizer");
    mg_rng rng;
    mg_rng_seed(&rng, c->seed ^ 0x5ae5ae5aULL);
    float *x = st ? NULL : mg_f32(s.x);
    for (int64_t step = 0; !st && step < c->steps; step++) {
        for (int64_t r = 0; r < c->batch; r++) {
            uint64_t i = mg_rng_below(&rng, (uint64_t)tr->n);
            memcpy(x + r * tr->d, tr->v + i * tr->d, (size_t)tr->d * sizeof *x);
        }
        if (!(st = mg_graph_forward(s.g)) && !(st = mg_graph_backward(s.g))) {
            *loss = mg_scalar(s.o.loss);
            if (!isfinite(*loss) || mg_optim_step(o) >= 0)
                st = mg_fail(MG_ERR_NUMERIC, "the autoencoder diverged at step %lld (loss %g)",
                             (long long)step, *loss);
        }
    }
    mg_optim_free(o);
    mg_graph_free(s.g);
    return st;
}

/* latents.csv, summary.json and sae.safetensors into rep->out. */
static mg_status write_outputs(mg_params *P, const latent *L, int m, const mg_sae_cfg *c,
                               const mg_sae_report *rep) {
    char path[4096 + 64];
    mg_status st = mg_mkdir_p(rep->out);
    snprintf(path, sizeof path, "%s/" MG_RUN_SAE_LATENTS, rep->out);
    mg_csv_writer *w = NULL;
    if (!st) {
        remove(path);
        st = mg_csv_open(path, MG_LATENTS_NCOLS, mg_latents_cols, &w);
    }
    for (int j = 0; !st && j < m; j++) {
        double row[MG_LATENTS_NCOLS - 1];
        row[MG_COLIDX_latents_variance - 1] = L[j].var;
        row[MG_COLIDX_latents_active - 1] = L[j].active;
        row[MG_COLIDX_latents_corr_m - 1] = L[j].corr_m;
        row[MG_COLIDX_latents_corr_pos - 1] = L[j].corr_pos;
        st = mg_csv_append(w, j, MG_LATENTS_NCOLS - 1, row);
    }
    if (w) {
        mg_status s2 = mg_csv_close(w);
        if (!st) st = s2;
    }
    mg_st_writer *sw = st ? NULL : mg_st_writer_new();
    if (!st && !sw) st = mg_fail(MG_ERR_NOMEM, "out of memory writing the autoencoder");
    if (!st) st = mg_st_add_params(sw, P, "");
    snprintf(path, sizeof path, "%s/sae.safetensors", rep->out);
    if (!st) st = mg_st_save(sw, path);
    mg_st_writer_free(sw);
    if (st) return st;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "checkpoint", (double)rep->checkpoint);
    cJSON_AddNumberToObject(j, "layer", rep->layer);
    cJSON_AddNumberToObject(j, "d_sae", c->d_sae);
    cJSON_AddNumberToObject(j, "k", c->k);
    cJSON_AddNumberToObject(j, "steps", (double)c->steps);
    cJSON_AddNumberToObject(j, "train_vectors", (double)rep->train_vectors);
    cJSON_AddNumberToObject(j, "eval_vectors", (double)rep->eval_vectors);
    cJSON_AddNumberToObject(j, "probe_vectors", (double)rep->probe_vectors);
    cJSON_AddNumberToObject(j, "final_loss", rep->final_loss);
    cJSON_AddNumberToObject(j, "mse", rep->mse);
    cJSON_AddNumberToObject(j, "fraction_variance_explained", rep->fve);
    cJSON_AddNumberToObject(j, "dead_latents", rep->dead);
    cJSON_AddNumberToObject(j, "corr_min", c->corr_min);
    cJSON_AddNumberToObject(j, "latents_corr_m", rep->n_corr_m);
    cJSON_AddNumberToObject(j, "latents_corr_pos", rep->n_corr_pos);
    if (isfinite(rep->max_corr_m)) cJSON_AddNumberToObject(j, "max_abs_corr_m", rep->max_corr_m);
    else cJSON_AddNullToObject(j, "max_abs_corr_m");
    if (isfinite(rep->max_corr_pos))
        cJSON_AddNumberToObject(j, "max_abs_corr_pos", rep->max_corr_pos);
    else cJSON_AddNullToObject(j, "max_abs_corr_pos");
    cJSON *ab = cJSON_AddArrayToObject(j, "ablated_latents");
    for (int i = 0; i < rep->n_ablated; i++)
        cJSON_AddItemToArray(ab, cJSON_CreateNumber(rep->ablated[i]));
    static const char *names[3] = {"acc", "acc_ablated", "acc_spliced"};
    for (int w3 = 0; w3 < 3; w3++) {
        cJSON_AddNumberToObject(j, names[w3], rep->acc[w3]);
        char key[64];
        snprintf(key, sizeof key, "%s_groups", names[w3]);
        cJSON *g = cJSON_AddObjectToObject(j, key);
        for (int k = 0; k < rep->n_groups; k++)
            cJSON_AddNumberToObject(g, rep->group_names[k], rep->acc_group[w3][k]);
    }
    char *text = cJSON_Print(j);
    cJSON_Delete(j);
    if (!text) return mg_fail(MG_ERR_NOMEM, "out of memory writing summary.json");
    snprintf(path, sizeof path, "%s/summary.json", rep->out);
    st = mg_write_file_atomic(path, text, strlen(text));
    free(text);
    return st;
}

/* The latents' statistics over the evaluation vectors' codes z (n x m). */
static void latent_stats(const float *z, const vecs *ev, int m, const mg_sae_cfg *c, latent *L,
                         mg_sae_report *rep) {
    rep->max_corr_m = rep->max_corr_pos = NAN; /* NaN: m (or the position) never varies */
    for (int j = 0; j < m; j++) {
        double s = 0, ss = 0;
        int64_t on = 0;
        for (int64_t i = 0; i < ev->n; i++) {
            double v = z[(size_t)i * m + j];
            s += v, ss += v * v, on += v != 0;
        }
        double mean = s / (double)ev->n;
        L[j].var = ss / (double)ev->n - mean * mean;
        L[j].active = (double)on / (double)ev->n;
        L[j].corr_m = pearson(z + j, m, ev->m, ev->n);
        L[j].corr_pos = pearson(z + j, m, ev->pos, ev->n);
        rep->dead += on == 0;
        if (fabs(L[j].corr_m) >= c->corr_min) rep->n_corr_m++;
        if (fabs(L[j].corr_pos) >= c->corr_min) rep->n_corr_pos++;
        if (isfinite(L[j].corr_m) && !(fabs(L[j].corr_m) <= rep->max_corr_m))
            rep->max_corr_m = fabs(L[j].corr_m);
        if (isfinite(L[j].corr_pos) && !(fabs(L[j].corr_pos) <= rep->max_corr_pos))
            rep->max_corr_pos = fabs(L[j].corr_pos);
    }
    /* the highest-variance latents, by repeated maximum (ties: lower index) */
    rep->n_ablated = 0;
    for (int a = 0; a < c->ablate; a++) {
        int best = -1;
        for (int j = 0; j < m; j++) {
            bool taken = false;
            for (int b = 0; b < rep->n_ablated; b++) taken = taken || rep->ablated[b] == j;
            if (!taken && (best < 0 || L[j].var > L[best].var)) best = j;
        }
        rep->ablated[rep->n_ablated++] = best;
    }
}

mg_status mg_sae_study_run(const char *dir, const mg_sae_cfg *c, mg_sae_report *rep) {
    memset(rep, 0, sizeof *rep);
    mg_status st = check_cfg(c);
    if (st) return st;
    mg_trainer *t = NULL;
    int mask = -1;
    int64_t step = -1;
    if ((st = open_run(dir, c, &t, &mask, &step))) return st;
    const mg_task *task = mg_trainer_task(t);
    const int blocks = mg_resid_blocks(t);
    /* the middle block by default: the blocks after it read the value
     * positions, so what the ablation removes there can act */
    const int layer = c->layer >= 0 ? c->layer : (blocks - 1) / 2;
    if (layer >= blocks) {
        mg_trainer_free(t);
        return mg_fail(MG_ERR_ARG, "--layer %d: the model has blocks 0..%d", layer, blocks - 1);
    }
    rep->checkpoint = step;
    rep->layer = layer;
    rep->n_groups = task->n_groups;
    for (int g = 0; g < task->n_groups; g++) rep->group_names[g] = task->group_names[g];
    snprintf(rep->out, sizeof rep->out, "%s/" MG_RUN_SAE_DIR, dir, (long long)step);

    mg_resid_probe *pool = NULL, *held = NULL;
    vecs tr = {0}, ev = {0}, pv = {0};
    mg_params *P = mg_params_new();
    sae_graph se = {0}, sp = {0};
    latent *L = NULL;
    float *patch = NULL;
    const float *resid = NULL;
    if (!P) st = mg_fail(MG_ERR_NOMEM, "out of memory for the autoencoder");
    if (!st) st = mg_resid_probe_new(t, CHUNK, layer, &pool);
    if (!st) st = mg_resid_probe_new(t, task->test.n, layer, &held);
    if (!st) tr.d = ev.d = pv.d = rep->d = mg_resid_probe_dim(pool);
    if (!st) st = pool_vectors(t, pool, mask, c, 0x5ae00000ULL, &tr);
    if (!st) st = pool_vectors(t, pool, mask, c, 0xe7a10000ULL, &ev);
    if (!st) st = mg_resid_probe_run(held, &task->test, NULL, &resid, NULL);
    if (!st) st = collect(&pv, &task->test, task->T, mask, resid, 0);
    if (!st && (!tr.n || !ev.n || !pv.n)) st = mg_fail(MG_ERR_ARG, "no value positions to read");
    rep->train_vectors = tr.n;
    rep->eval_vectors = ev.n;
    rep->probe_vectors = pv.n;
    /* the evaluation graph declares the parameters; then they start */
    if (!st) st = sae_graph_new(P, ev.n, ev.d, c, false, &se);
    if (!st) st = sae_graph_new(P, pv.n, pv.d, c, false, &sp);
    if (!st) {
        mg_rng rng;
        mg_rng_seed(&rng, c->seed ^ 0x5ae1417ULL);
        mg_params_init(P, &rng);
        sae_init(P, &tr, c->d_sae);
        st = train_sae(P, &tr, c, &rep->final_loss);
    }
    if (!st) {
        memcpy(mg_f32(se.x), ev.v, (size_t)ev.n * ev.d * sizeof(float));
        memcpy(mg_f32(sp.x), pv.v, (size_t)pv.n * pv.d * sizeof(float));
        if (!(st = mg_graph_forward(se.g))) st = mg_graph_forward(sp.g);
    }
    const size_t cells = (size_t)task->test.n * task->T * (size_t)ev.d;
    if (!st) {
        L = mg_calloc((size_t)c->d_sae, sizeof *L);
        patch = mg_calloc(cells, sizeof *patch);
        if (!L || !patch) st = mg_fail(MG_ERR_NOMEM, "out of memory for the latents");
    }
    if (!st) {
        const float *z = mg_f32(se.o.z), *xh = mg_f32(se.o.x_hat);
        const int d = ev.d, m = c->d_sae;
        double sse = 0, sst = 0;
        for (int q = 0; q < d; q++) { /* coordinate by coordinate, around its mean */
            double mean = 0;
            for (int64_t i = 0; i < ev.n; i++) mean += ev.v[i * d + q];
            mean /= (double)ev.n;
            for (int64_t i = 0; i < ev.n; i++) {
                double x = ev.v[i * d + q], e = xh[i * d + q] - x;
                sse += e * e, sst += (x - mean) * (x - mean);
            }
        }
        rep->mse = sse / ((double)ev.n * d);
        rep->fve = sst > 0 ? 1 - sse / sst : NAN;
        latent_stats(z, &ev, m, c, L, rep);
        const float *W =
            mg_params_data(P) + mg_params_info(P, mg_params_find(P, "sae.dec"))->offset;
        const float *zp = mg_f32(sp.o.z), *xp = mg_f32(sp.o.x_hat);
        st = accuracy(held, task, NULL, &rep->acc[0], rep->acc_group[0]);
        /* the top latents' decoded contribution removed at the value positions */
        for (int64_t i = 0; !st && i < pv.n; i++)
            for (int a = 0; a < rep->n_ablated; a++) {
                const int j = rep->ablated[a];
                const float zj = zp[i * m + j];
                for (int q = 0; zj != 0 && q < d; q++)
                    patch[(size_t)pv.at[i] * d + q] -= zj * W[(size_t)j * d + q];
            }
        if (!st) st = accuracy(held, task, patch, &rep->acc[1], rep->acc_group[1]);
        /* the reconstruction in place of the stream there */
        for (int64_t i = 0; !st && i < pv.n; i++)
            for (int q = 0; q < d; q++)
                patch[(size_t)pv.at[i] * d + q] = xp[i * d + q] - pv.v[i * d + q];
        if (!st) st = accuracy(held, task, patch, &rep->acc[2], rep->acc_group[2]);
    }
    if (!st) st = write_outputs(P, L, c->d_sae, c, rep);
    mg_free(L);
    mg_free(patch);
    mg_graph_free(se.g);
    mg_graph_free(sp.g);
    mg_params_free(P);
    vecs_free(&tr);
    vecs_free(&ev);
    vecs_free(&pv);
    mg_resid_probe_free(pool);
    mg_resid_probe_free(held);
    mg_trainer_free(t);
    return st;
}
