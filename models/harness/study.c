/* study.c — the study's rows recorded during training (study.h):
 * geometry.csv's and fourier.csv's. The summary at the end of a run is
 * study_summary.c's and study_clocks.c's. */
#include "models/harness/study.h"
#include "models/harness/rundir.h"
#include "models/harness/study_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/collapse.h"
#include "analysis/fourier.h"
#include "analysis/linalg.h"
#include "analysis/locking.h"
#include "analysis/probes.h"
#include "analysis/twoclocks.h"
#include "core/alloc.h"
#include "core/gemm.h"

mg_status mg_study_writers_open(const char *dir, mg_study_writers *w) {
    char path[4096];
    memset(w, 0, sizeof *w);
    snprintf(path, sizeof path, "%s/" MG_RUN_GEOMETRY, dir);
    mg_status st = mg_csv_open(path, MG_GEOMETRY_NCOLS, mg_geometry_cols, &w->geometry);
    snprintf(path, sizeof path, "%s/" MG_RUN_FOURIER, dir);
    if (!st) st = mg_csv_open(path, MG_FOURIER_NCOLS, mg_fourier_cols, &w->fourier);
    return st;
}

mg_status mg_study_writers_flush(mg_study_writers *w) {
    mg_status st = w->geometry ? mg_csv_flush(w->geometry) : MG_OK;
    return st || !w->fourier ? st : mg_csv_flush(w->fourier);
}

mg_status mg_study_writers_close(mg_study_writers *w) {
    mg_status st = w->geometry ? mg_csv_close(w->geometry) : MG_OK;
    mg_status s2 = w->fourier ? mg_csv_close(w->fourier) : MG_OK;
    mg_study_warm_free(&w->warm);
    memset(w, 0, sizeof *w);
    return st ? st : s2;
}

#define MG_MAX_LOCK 64 /* subspace dimensions compared by the locking metric */

/* geometry.csv's row, in its column order (rundir.h) */
_Static_assert(MG_COLIDX_geometry_step == 0 && MG_COLIDX_geometry_layer == 1 &&
                   MG_COLIDX_geometry_metric == 2 && MG_COLIDX_geometry_value == 3 &&
                   MG_GEOMETRY_NCOLS == 4,
               "mg_study_row() writes step, layer, metric, value");
mg_status mg_study_row(mg_csv_writer *w, int64_t step, const char *layer, const char *metric,
                       double value) {
    mg_status st = mg_csv_put_int(w, step);
    if (!st) st = mg_csv_put_str(w, layer);
    if (!st) st = mg_csv_put_str(w, metric);
    if (!st) st = mg_csv_put_double(w, value);
    return st ? st : mg_csv_end_row(w);
}

/* Fourier and circle metrics of a residue-indexed matrix; *n_key gets the
 * number of key frequencies (0 when p is even: no spectrum). */
static mg_status fourier_rows(const mg_study_writers *ws, int64_t step, const mg_study_view *v,
                              int *n_key) {
    mg_csv_writer *w = ws->geometry;
    *n_key = 0;
    if (v->rows < 3 || v->rows % 2 == 0) return MG_OK; /* needs odd p */
    mg_fourier f;
    mg_status st = mg_fourier_compute(v->w, v->rows, v->cols, v->rs, v->cs, &f);
    if (st) return st;
    double cv = NAN, corr = NAN;
    st = mg_fourier_circle_fit(v->w, v->rows, v->cols, v->rs, v->cs, f.top, &cv, &corr, NULL);
    if (!st) st = mg_study_row(w, step, v->layer, "fourier_top", f.top);
    if (!st) st = mg_study_row(w, step, v->layer, "fourier_n_key", f.n_key);
    if (!st) st = mg_study_row(w, step, v->layer, "fourier_concentration", f.concentration);
    if (!st) st = mg_study_row(w, step, v->layer, "fourier_gini", f.gini);
    if (!st)
        st = mg_study_row(w, step, v->layer, "fourier_top2_share", mg_fourier_top_share(&f, 2));
    if (!st) st = mg_study_row(w, step, v->layer, "circle_radius_cv", cv);
    if (!st) st = mg_study_row(w, step, v->layer, "circle_angle_corr", corr);
    /* the energies, k = 0 the constant component: the representation
     * clock's S_rule reads them against the final key frequencies */
    _Static_assert(MG_FOURIER_NCOLS == 4 && MG_COLIDX_fourier_energy == 3,
                   "fourier_rows writes step, layer, k, energy");
    for (int k = 0; !st && ws->fourier && k <= f.n_freq; k++) {
        st = mg_csv_put_int(ws->fourier, step);
        if (!st) st = mg_csv_put_str(ws->fourier, v->layer);
        if (!st) st = mg_csv_put_int(ws->fourier, k);
        if (!st) st = mg_csv_put_double(ws->fourier, k ? f.energy[k - 1] : f.dc);
        if (!st) st = mg_csv_end_row(ws->fourier);
    }
    *n_key = f.n_key;
    mg_fourier_free(&f);
    return st;
}

/* Embedding-derived features in the classifier's feature space:
 * E[:p] @ proj[0:d, :] (p x f), into a new buffer (NULL: no projection). */
static mg_status embed_features(mg_trainer *t, const mg_study_view *e, float **out, int *f) {
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

static mg_status geometry_rows(mg_trainer *t, const features *ft, const mg_study_writers *ws);

mg_status mg_study_geometry(mg_trainer *t, const mg_study_writers *w) {
    /* the geometry is that of the operands' tokens: a task without them
     * (a generated sequence task) has none */
    if (!mg_trainer_task(t)->n_values) return MG_OK;
    /* The forward pass (if the step has none yet) runs first, at the run's
     * thread count: its kernels split their work by that count. */
    features ft;
    mg_status st = mg_trainer_features(t, &ft.h, &ft.n, &ft.f, &ft.y, &ft.pred);
    /* the progress measures' forward passes, at the run's thread count too */
    if (!st) st = mg_study_progress(t, w->geometry);
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

/* The deep linear network's end-to-end map A = W_1 ... W_L (logits = x A):
 * rows of layer "end_to_end": its stable rank and the structural energy
 * both ways, lambda sum ||W_l||_F^2 and lambda L ||A||_{S_2/L}^{2/L}, with
 * lambda the run's weight decay (per-layer overrides are not read), and
 * their ratio, the balancedness (twoclocks.h). The factors are handed to
 * mg_twoclocks_deep_linear_energy last first: its product w[L-1] ... w[0]
 * is then W_1 ... W_L, with no transposes. */
static mg_status end_to_end_rows(mg_trainer *t, mg_csv_writer *w, int64_t step) {
    mg_params *P = mg_trainer_params(t);
    int L = mg_params_count(P);
    if (L < 1 || L > 16) return MG_OK;
    const float *f[16];
    int rows[16], cols[16];
    for (int l = 0; l < L; l++) {
        const mg_param_info *info = mg_params_info(P, L - 1 - l);
        if (info->ndim != 2)
            return mg_fail(MG_ERR_STATE, "model %s: linear_chain factor '%s' is not 2-D",
                           mg_trainer_cfg(t)->model->name, info->name);
        f[l] = mg_params_data(P) + info->offset;
        rows[l] = (int)info->shape[0];
        cols[l] = (int)info->shape[1];
    }
    mg_twoclocks_energy e;
    mg_status st = mg_twoclocks_deep_linear_energy(f, rows, cols, L,
                                                   mg_trainer_cfg(t)->optim.weight_decay, &e);
    if (!st) st = mg_study_row(w, step, "end_to_end", "stable_rank", e.stable_rank);
    if (!st) st = mg_study_row(w, step, "end_to_end", "energy_frob", e.frob);
    if (!st) st = mg_study_row(w, step, "end_to_end", "energy_schatten", e.schatten);
    if (!st) st = mg_study_row(w, step, "end_to_end", "balance", e.balance);
    return st;
}

static mg_status geometry_rows(mg_trainer *t, const features *ft, const mg_study_writers *ws) {
    mg_csv_writer *w = ws->geometry;
    mg_params *P = mg_trainer_params(t);
    const int64_t step = mg_trainer_steps_done(t);
    mg_study_view e, c;
    int keys_e = 0, keys_c = 0;
    mg_status st = mg_study_embed_view(t, &e);
    if (!st) st = mg_study_classifier_view(t, &c);
    /* a tied classifier is the embedding: its rows are written once */
    bool tied = mg_study_roles_tied(t);
    if (!st) st = fourier_rows(ws, step, &e, &keys_e);
    if (!st && !tied) st = fourier_rows(ws, step, &c, &keys_c);
    if (tied) keys_c = keys_e;
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
        for (int i = 0; !st && i < 6; i++)
            st = mg_study_row(w, step, info->name, names[i], vals[i]);
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
        for (int i = 0; !st && i < 6; i++)
            st = mg_study_row(w, step, "features", names[i], vals[i]);
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
    if (!st && fe == c.cols && m2 < 2) st = mg_study_row(w, step, "lock", "lock_dims", 0);
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
            st = mg_study_row(w, step, "lock", "lock_dims", 0);
        }
        double mean = 0;
        for (int i = 0; i < m2; i++) mean += cos[i] / m2;
        if (!st && applies) st = mg_study_row(w, step, "lock", "lock_cos1", cos[0]);
        if (!st && applies) st = mg_study_row(w, step, "lock", "lock_cos2", cos[1]);
        if (!st && applies) st = mg_study_row(w, step, "lock", "lock_mean", mean);
        if (!st && applies) st = mg_study_row(w, step, "lock", "lock_dims", m2);
    }
    mg_free(ef);
    if (!st)
        st = mg_study_row(w, step, "model", "structural_energy",
                          mg_probes_structural_energy(P, mg_params_data(P)));
    if (!st && mg_trainer_cfg(t)->model->linear_chain) st = end_to_end_rows(t, w, step);
    return st;
}

mg_status mg_study_gate_flips(const mg_trainer *t, mg_csv_writer *w, int64_t step) {
    const char *layers[MG_MODEL_MAX_GATES];
    double flips[MG_MODEL_MAX_GATES];
    int n = mg_trainer_gate_flips(t, layers, flips);
    mg_status st = MG_OK;
    for (int i = 0; !st && i < n; i++)
        if (!isnan(flips[i])) st = mg_study_row(w, step, layers[i], "gate_flips", flips[i]);
    return st;
}

/* ---- subspace locking, at the gradient of a geometry step ------------- */

/* The first layer's blocks acting on each operand: embed_proj's rows
 * j*d .. (j+1)*d - 1, as (h x d) matrices (element (i, c) at row j*d + c,
 * column i). */
static int first_blocks(mg_trainer *t, int d, const float **w1, int64_t *rs, int64_t *cs, int *h) {
    mg_params *P = mg_trainer_params(t);
    const char *proj = mg_trainer_cfg(t)->model->embed_proj;
    const mg_param_info *info = proj ? mg_params_info(P, mg_params_find(P, proj)) : NULL;
    if (!info || info->ndim != 2 || info->shape[0] % d) return 0;
    int n = (int)(info->shape[0] / d);
    if (n > 4) return 0;
    *h = (int)info->shape[1];
    for (int j = 0; j < n; j++) {
        w1[j] = mg_params_data(P) + info->offset + (int64_t)j * d * info->shape[1];
        rs[j] = 1;
        cs[j] = info->shape[1];
    }
    return n;
}

mg_status mg_study_locking(mg_trainer *t, mg_csv_writer *w) {
    if (!mg_trainer_task(t)->n_values || mg_study_roles_tied(t)) return MG_OK;
    mg_study_view e, c;
    mg_status st = mg_study_embed_view(t, &e);
    if (!st) st = mg_study_classifier_view(t, &c);
    if (st) return st;
    const float *w1[4];
    int64_t rs[4], cs[4];
    int h = 0, nb = first_blocks(t, e.cols, w1, rs, cs, &h);
    if (!nb || h != c.cols) return MG_OK; /* no first layer to pull back through */
    mg_params *P = mg_trainer_params(t);
    const float *grad = mg_params_grad(P) + (e.w - mg_params_data(P));
    const int64_t step = mg_trainer_steps_done(t);
    /* m: the classifier's key frequencies now (at least 1) */
    int m = 1;
    if (c.rows >= 3 && c.rows % 2) {
        mg_fourier f;
        if ((st = mg_fourier_compute(c.w, c.rows, c.cols, c.rs, c.cs, &f))) return st;
        m = f.n_key > 0 ? f.n_key : 1;
        mg_fourier_free(&f);
    }
    const int threads = mg_gemm_threads();
    mg_gemm_set_threads(1); /* LAPACK's small products, as in the geometry */
    int mn = c.rows < c.cols ? c.rows : c.cols;
    const int ks[2] = {2 < mn ? 2 : mn, 2 * m < mn ? 2 * m : mn};
    const char *tag[2] = {"top2", "top2m"};
    double *q[2] = {NULL, NULL};
    int r[2] = {0, 0};
    st = mg_locking_pullbacks(c.w, c.rows, c.cols, c.rs, c.cs, ks, 2, w1, rs, cs, nb, e.cols, q, r);
    for (int i = 0; !st && i < 2; i++) {
        char name[48];
        snprintf(name, sizeof name, "lock_share_%s", tag[i]);
        st = mg_study_row(w, step, "lock", name,
                          mg_locking_share(grad, e.rows, e.cols, e.rs, e.cs, q[i], r[i]));
        snprintf(name, sizeof name, "lock_random_%s", tag[i]);
        if (!st) st = mg_study_row(w, step, "lock", name, mg_locking_random_share(r[i], e.cols));
        snprintf(name, sizeof name, "lock_orth_%s", tag[i]);
        if (!st)
            st = mg_study_row(w, step, "lock", name,
                              mg_locking_orthogonal(e.w, e.rows, e.cols, e.rs, e.cs, q[i], r[i]));
        snprintf(name, sizeof name, "lock_rank_%s", tag[i]);
        if (!st) st = mg_study_row(w, step, "lock", name, r[i]);
    }
    mg_free(q[0]);
    mg_free(q[1]);
    mg_gemm_set_threads(threads);
    return st;
}
