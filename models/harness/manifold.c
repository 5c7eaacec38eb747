/* manifold.c — the execution-manifold study's records during training
 * (manifold.h): snapshots, attention rows and the commutator. */
#include "models/harness/manifold.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/commutator.h"
#include "analysis/trajectory.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/csvout.h"
#include "core/fsutil.h"
#include "core/hash.h"
#include "core/safetensors.h"
#include "models/harness/rundir.h"
#include "models/task.h"

struct mg_manifold {
    mg_trainer *t;
    char dir[4096];
    int64_t snapshot_every, commutator_every, basis_every;
    mg_csv_writer *attention, *commutator, *groups;
    int n_attn;
    /* the commutator: its execution basis (built from the snapshots up to
     * basis_step; -1: none yet), the workspace, the parameters measured at,
     * and the draws' deltas */
    int64_t basis_step;
    bool has_basis;
    mg_commutator_basis basis;
    int n_blocks, block[64];
    mg_commutator_ws ws;
    float *theta, *deltas;
    double busy_s; /* wall seconds in snapshots and commutators so far */
};

double mg_manifold_busy_s(const mg_manifold *m) { return m ? m->busy_s : 0.0; }

static const int attn_ks[] = {1, 2, 4, 8, 16};
#define N_KS 5

int mg_manifold_blocks(mg_trainer *t, int *idx, int max) {
    const char *names = mg_trainer_cfg(t)->model->attn_blocks;
    if (!names) return 0;
    const mg_params *P = mg_trainer_params(t);
    int n = 0;
    for (int k = 0; k < mg_params_count(P) && n < max; k++) {
        const char *name = mg_params_info(P, k)->name, *dot = strchr(name, '.');
        if (!dot) continue;
        size_t len = strlen(dot + 1);
        for (const char *c = names; *c; c += strcspn(c, ","), c += *c == ',') {
            size_t cl = strcspn(c, ",");
            if (cl == len && !strncmp(c, dot + 1, len)) {
                idx[n++] = k;
                break;
            }
        }
    }
    return n;
}

int64_t mg_manifold_trajectory_bytes(const mg_trainer *t, const mg_run_opts *o, int64_t steps) {
    if (!o->snapshot_every) return 0;
    int64_t n = steps / o->snapshot_every + 1 + (steps % o->snapshot_every != 0);
    const mg_params *P = mg_trainer_params((mg_trainer *)t);
    /* the tensors and a header of about 128 bytes per parameter */
    return n * ((int64_t)mg_params_total(P) * 4 + 128 * mg_params_count(P) + 512);
}

mg_status mg_manifold_open(mg_trainer *t, const char *dir, const mg_run_opts *o,
                           mg_manifold **out) {
    *out = NULL;
    int n_attn = mg_trainer_attention_layers(t, NULL, NULL, NULL);
    const bool groups = mg_trainer_task(t)->n_groups > 0;
    if (!o->snapshot_every && !o->commutator_every && !n_attn && !groups) return MG_OK;
    mg_manifold *m = mg_calloc(1, sizeof *m);
    if (!m) return mg_fail(MG_ERR_NOMEM, "out of memory for the manifold records");
    m->t = t;
    snprintf(m->dir, sizeof m->dir, "%s", dir);
    m->snapshot_every = o->snapshot_every;
    m->commutator_every = o->commutator_every;
    m->basis_every = o->basis_every > 0 ? o->basis_every : 2000;
    m->n_attn = n_attn;
    m->basis_step = -1; /* none yet */
    m->n_blocks = mg_manifold_blocks(t, m->block, 64);
    char path[4096 + 64];
    mg_status st = MG_OK;
    if (n_attn) {
        snprintf(path, sizeof path, "%s/" MG_RUN_ATTENTION, dir);
        st = mg_csv_open(path, MG_ATTENTION_NCOLS, mg_attention_cols, &m->attention);
    }
    if (!st && groups) {
        snprintf(path, sizeof path, "%s/" MG_RUN_GROUPS, dir);
        st = mg_csv_open(path, MG_GROUPS_NCOLS, mg_groups_cols, &m->groups);
    }
    if (!st && m->commutator_every) {
        snprintf(path, sizeof path, "%s/" MG_RUN_COMMUTATOR, dir);
        st = mg_csv_open(path, MG_COMMUTATOR_NCOLS, mg_commutator_cols, &m->commutator);
    }
    if (!st && m->snapshot_every) {
        snprintf(path, sizeof path, "%s/" MG_RUN_TRAJECTORY, dir);
        st = mg_mkdir_p(path);
    }
    if (st) {
        mg_manifold_close(m);
        return st;
    }
    *out = m;
    return MG_OK;
}

mg_status mg_manifold_flush(mg_manifold *m) {
    if (!m) return MG_OK;
    mg_status st = m->attention ? mg_csv_flush(m->attention) : MG_OK;
    if (!st && m->commutator) st = mg_csv_flush(m->commutator);
    if (!st && m->groups) st = mg_csv_flush(m->groups);
    return st;
}

mg_status mg_manifold_close(mg_manifold *m) {
    if (!m) return MG_OK;
    mg_status st = m->attention ? mg_csv_close(m->attention) : MG_OK;
    mg_status s2 = m->commutator ? mg_csv_close(m->commutator) : MG_OK;
    mg_status s3 = m->groups ? mg_csv_close(m->groups) : MG_OK;
    if (!s2) s2 = s3;
    if (m->has_basis) mg_commutator_basis_free(&m->basis);
    mg_commutator_ws_free(&m->ws);
    mg_free(m->theta);
    mg_free(m->deltas);
    mg_free(m);
    return st ? st : s2;
}

/* groups.csv: the held-out groups' loss and accuracy at step s. */
static mg_status group_rows(mg_manifold *m, int64_t s) {
    const mg_task *task = mg_trainer_task(m->t);
    mg_eval e[MG_TASK_MAX_GROUPS];
    mg_status st = mg_trainer_groups_of_last_eval(m->t, e);
    for (int g = 0; !st && g < task->n_groups; g++) {
        st = mg_csv_put_int(m->groups, s);
        if (!st) st = mg_csv_put_str(m->groups, task->group_names[g]);
        if (!st) st = mg_csv_put_double(m->groups, e[g].loss);
        if (!st) st = mg_csv_put_double(m->groups, e[g].acc);
        if (!st) st = mg_csv_end_row(m->groups);
    }
    return st;
}

mg_status mg_manifold_after_eval(mg_manifold *m, int64_t s) {
    if (!m) return MG_OK;
    if (m->groups) {
        mg_status st = group_rows(m, s);
        if (st) return st;
    }
    if (!m->attention) return MG_OK;
    mg_trainer *t = m->t;
    const mg_task *task = mg_trainer_task(t);
    const char *layers[MG_MODEL_MAX_ATTN];
    int heads[MG_MODEL_MAX_ATTN];
    int n = mg_trainer_attention_layers(t, layers, heads, NULL);
    const int ng = task->n_groups ? task->n_groups : 1;
    mg_status st = MG_OK;
    for (int g = 0; !st && g < ng; g++) {
        int64_t lo = task->n_groups ? task->group_start[g] : 0;
        int64_t hi = task->n_groups ? task->group_start[g + 1] : task->test.n;
        const char *gname = task->n_groups ? task->group_names[g] : "test";
        for (int l = 0; !st && l < n; l++) {
            double ent[64], mass[64 * N_KS];
            if (heads[l] > 64)
                return mg_fail(MG_ERR_ARG, "attention with %d heads: at most 64", heads[l]);
            if ((st = mg_trainer_attention(t, l, lo, hi, ent, mass, attn_ks, N_KS))) break;
            for (int h = 0; !st && h < heads[l]; h++) {
                st = mg_csv_put_int(m->attention, s);
                if (!st) st = mg_csv_put_str(m->attention, gname);
                if (!st) st = mg_csv_put_str(m->attention, layers[l]);
                if (!st) st = mg_csv_put_int(m->attention, h);
                if (!st) st = mg_csv_put_double(m->attention, ent[h]);
                for (int q = 0; !st && q < N_KS; q++)
                    st = mg_csv_put_double(m->attention, mass[h * N_KS + q]);
                if (!st) st = mg_csv_end_row(m->attention);
            }
        }
    }
    return st;
}

/* trajectory/step_NNNNNN.safetensors: the parameters at step s. */
static mg_status snapshot(mg_manifold *m, int64_t s) {
    mg_params *P = mg_trainer_params(m->t);
    char path[4096 + 64], buf[32], hex[17];
    snprintf(path, sizeof path, "%s/" MG_RUN_TRAJECTORY_FILE, m->dir, (long long)s);
    mg_st_writer *w = mg_st_writer_new();
    if (!w)
        return mg_fail(MG_ERR_NOMEM, "out of memory writing the snapshot of step %lld",
                       (long long)s);
    mg_status st = mg_st_add_params(w, P, "");
    snprintf(buf, sizeof buf, "%lld", (long long)s);
    if (!st) st = mg_st_add_meta(w, "step", buf);
    mg_hash_hex(mg_hash_params(P), hex);
    if (!st) st = mg_st_add_meta(w, "fingerprint", hex);
    if (!st) st = mg_st_add_meta(w, "model", mg_trainer_cfg(m->t)->model->name);
    if (!st) st = mg_st_add_meta(w, "modgrad_version", MG_VERSION);
    if (!st) st = mg_st_save(w, path);
    mg_st_writer_free(w);
    return st;
}

mg_status mg_manifold_load(mg_trainer *t, const char *dir, int64_t last, float **w, int64_t **steps,
                           int *n) {
    *w = NULL;
    *steps = NULL;
    *n = 0;
    char path[4096 + 64];
    snprintf(path, sizeof path, "%s/" MG_RUN_TRAJECTORY, dir);
    int64_t *st_ = NULL;
    int k = 0;
    mg_status st = mg_list_steps(path, ".safetensors", &st_, &k);
    if (st) return st;
    while (k && st_[k - 1] > last) k--;
    if (!k) {
        mg_free(st_);
        return MG_OK;
    }
    mg_params *P = mg_trainer_params(t);
    const size_t total = mg_params_total(P);
    float *buf = mg_malloc((size_t)k * total * sizeof *buf);
    if (!buf) {
        mg_free(st_);
        return mg_fail(MG_ERR_NOMEM, "out of memory reading %d snapshots of %zu parameters", k,
                       total);
    }
    for (int i = 0; !st && i < k; i++) {
        snprintf(path, sizeof path, "%s/" MG_RUN_TRAJECTORY_FILE, dir, (long long)st_[i]);
        mg_st_file *f = NULL;
        int64_t step = -1;
        if (!(st = mg_st_load(path, &f)) &&
            !(st = mg_st_meta_count(f, "step", INT64_MAX / 2, &step))) {
            if (step != st_[i])
                st = mg_fail(MG_ERR_FORMAT, "%s says step %lld", path, (long long)step);
            else st = mg_st_read_store(f, P, "", buf + (size_t)i * total);
        }
        mg_st_free(f);
    }
    if (st) {
        mg_free(buf);
        mg_free(st_);
        return st;
    }
    *w = buf;
    *steps = st_;
    *n = k;
    return MG_OK;
}

/* The execution basis for step s: the top MG_BASIS_PCS principal directions
 * of each attention block over the snapshots up to B = the last multiple of
 * --basis-every at or before s, once there are MG_BASIS_MIN_SNAPSHOTS of
 * them. A pure function of s and the trajectory, so a resumed run uses the
 * basis the uninterrupted one did. */
static mg_status update_basis(mg_manifold *m, int64_t s) {
    const int64_t B = s / m->basis_every * m->basis_every;
    if (B == m->basis_step) return MG_OK;
    float *w = NULL;
    int64_t *steps = NULL;
    int S = 0;
    mg_status st = mg_manifold_load(m->t, m->dir, B, &w, &steps, &S);
    if (st || S < MG_BASIS_MIN_SNAPSHOTS || !m->n_blocks) {
        mg_free(w);
        mg_free(steps);
        return st;
    }
    const mg_params *P = mg_trainer_params(m->t);
    const int64_t stride = (int64_t)mg_params_total(P);
    mg_traj_pca pca[64];
    mg_traj_segment seg[64];
    mg_commutator_dir dirs[64 * MG_BASIS_PCS];
    int nb = 0, k = 0;
    memset(pca, 0, sizeof pca);
    for (; !st && nb < m->n_blocks; nb++) {
        const mg_param_info *info = mg_params_info(P, m->block[nb]);
        seg[nb] = (mg_traj_segment){(int64_t)info->offset, (int64_t)info->numel};
        st = mg_traj_pca_compute(w, S, stride, w, &seg[nb], 1, MG_BASIS_PCS, &pca[nb]);
        for (int j = 0; !st && j < pca[nb].n_dir; j++)
            dirs[k++] = (mg_commutator_dir){&seg[nb], 1, pca[nb].dir + (size_t)j * pca[nb].dim};
    }
    if (m->has_basis) mg_commutator_basis_free(&m->basis);
    m->has_basis = false;
    if (!st && k) {
        st = mg_commutator_basis_build(dirs, k, stride, &m->basis);
        m->has_basis = !st;
    }
    for (int i = 0; i < nb; i++) mg_traj_pca_free(&pca[i]);
    mg_free(w);
    mg_free(steps);
    if (!st) m->basis_step = B;
    return st;
}

typedef struct {
    mg_trainer *t;
    int64_t draw;
} grad_ctx;

static mg_status grad_of(void *ctx, int batch, const float *theta, float *g) {
    grad_ctx *c = ctx;
    return mg_trainer_commutator_grad(c->t, c->draw, batch, theta, g);
}

/* One commutator row at step s (see manifold.h). */
static mg_status commutator(mg_manifold *m, int64_t s) {
    mg_trainer *t = m->t;
    mg_params *P = mg_trainer_params(t);
    const int64_t n = (int64_t)mg_params_total(P);
    mg_status st = MG_OK;
    if (!m->ws.n) {
        if ((st = mg_commutator_ws_init(&m->ws, n))) return st;
        m->theta = mg_malloc((size_t)n * sizeof *m->theta);
        m->deltas = mg_malloc((size_t)n * MG_COMMUTATOR_DRAWS * sizeof *m->deltas);
        if (!m->theta || !m->deltas)
            return mg_fail(MG_ERR_NOMEM, "out of memory for the commutator (%lld parameters)",
                           (long long)n);
    }
    if ((st = update_basis(m, s))) return st;
    memcpy(m->theta, mg_params_data(P), (size_t)n * sizeof *m->theta);
    mg_commutator_result r[MG_COMMUTATOR_DRAWS];
    double D[MG_COMMUTATOR_DRAWS];
    if ((st = mg_trainer_commutator_begin(t))) return st;
    bool finite = true;
    for (int d = 0; !st && d < MG_COMMUTATOR_DRAWS; d++) {
        grad_ctx c = {t, d};
        st = mg_commutator_measure(&m->ws, grad_of, &c, m->theta, (float)MG_COMMUTATOR_ETA,
                                   m->deltas + (size_t)d * n, &r[d]);
        D[d] = r[d].defect;
        finite = finite && isfinite(D[d]);
    }
    mg_trainer_commutator_end(t); /* the parameters as they were, whatever happened */
    if (st) return st;
    int med = 0;
    if (finite && (st = mg_commutator_median_index(D, MG_COMMUTATOR_DRAWS, &med))) return st;
    mg_commutator_rhos rh = {
        .rho_exec = NAN, .rho_full = NAN, .rho_block = NAN, .perp = NAN, .perp_paper = NAN};
    if (m->has_basis && finite) {
        mg_rng rng;
        mg_rng_seed(&rng, mg_trainer_cfg(t)->task.seed ^ mg_task_step_salt(s) ^ 0xba515ULL);
        st = mg_commutator_rhos_compute(&m->basis, m->deltas + (size_t)med * n, &rng, MG_RAND_BASES,
                                        &rh);
        if (st) return st;
    }
    const mg_commutator_result *x = &r[med];
    double row[MG_COMMUTATOR_NCOLS - 1] = {finite ? x->defect : NAN,
                                           x->delta_norm,
                                           x->cos_ab,
                                           rh.rho_exec,
                                           rh.rho_full,
                                           rh.rho_block,
                                           rh.perp,
                                           rh.perp_paper,
                                           m->has_basis ? (double)m->basis_step : NAN,
                                           m->has_basis ? (double)m->basis.rank : 0};
    return mg_csv_append(m->commutator, s, MG_COMMUTATOR_NCOLS - 1, row);
}

mg_status mg_manifold_before_step(mg_manifold *m, int64_t s, bool last) {
    if (!m) return MG_OK;
    mg_status st = MG_OK;
    const double t0 = mg_clock_s();
    if (m->snapshot_every && (s % m->snapshot_every == 0 || last)) st = snapshot(m, s);
    if (!st && m->commutator_every && s % m->commutator_every == 0) st = commutator(m, s);
    m->busy_s += mg_clock_s() - t0;
    return st;
}
