/* study_hierarchy.c — the gradient hierarchy at the gradient of a geometry
 * step (analysis/hierarchy.h; SCIENCE.md, "Gradient hierarchy"), for the
 * models it is stated for: an embedding, a first layer (the embed_proj
 * role), a ReLU (a declared gate) and a classifier, trained on the plain
 * cross-entropy (no explicit penalty in the gradient). Rows (geometry.csv):
 *   classifier  hier_grad       ||dL/dU||_F
 *               hier_spectral   ||U||_2
 *               hier_bound      ||H||_F ||delta||_F (>= hier_grad)
 *   FIRST       hier_spectral   ||W||_2 (the first layer)
 *   embed       hier_grad       ||dL/dE||_F (the token rows)
 *               hier_bound      ||B||_2 ||W||_2 ||U||_2 ||delta||_F (>= hier_grad)
 *               hier_bound_ratio  hier_grad / hier_bound (<= 1)
 *   model       hier_delta, hier_selection (||delta||_F, ||B||_2),
 *               hier_ratio_measured  ||dL/dE|| / ||dL/dU||,
 *               hier_ratio_bound     the embedding's bound over the classifier's
 * The spectral norms are power iterations warm-started from the previous
 * geometry step, run until converged (see spectral()), so that the rows do
 * not depend on how many steps came before: analyze's recomputation from
 * gradient files gives the same values. */
#include <math.h>
#include <string.h>

#include "analysis/hierarchy.h"
#include "core/alloc.h"
#include "models/harness/study.h"
#include "models/harness/study_impl.h"

#define MAX_ITERS 20000

/* ||M||_2, warm-started from *v (allocated here, cols values), iterated
 * until the residual is below 1e-8 (the estimate then within ~1e-16 of
 * itself) or MAX_ITERS: a cold start on a random matrix, whose top singular
 * values lie close, needs hundreds; a warm one a few. */
static mg_status spectral(const float *w, int rows, int cols, int64_t rs, int64_t cs, double **v,
                          double *out) {
    if (!*v && !(*v = mg_calloc((size_t)cols, sizeof **v)))
        return mg_fail(MG_ERR_NOMEM, "out of memory for the power iteration");
    double s = 0, r = INFINITY;
    for (int it = 0; it < MAX_ITERS && r > 1e-8; it += 10) {
        s = mg_spectral_norm_power(w, rows, cols, rs, cs, *v, 10, &r);
        if (!isfinite(s)) return mg_fail(MG_ERR_NOMEM, "out of memory for the power iteration");
    }
    *out = s;
    return MG_OK;
}

static double frob(const float *g, int rows, int cols, int64_t rs, int64_t cs) {
    double s = 0;
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) s += (double)g[i * rs + j * cs] * g[i * rs + j * cs];
    return sqrt(s);
}

mg_status mg_study_hierarchy(mg_trainer *t, mg_csv_writer *w, mg_study_warm *warm) {
    const mg_train_cfg *cfg = mg_trainer_cfg(t);
    const mg_model_def *m = cfg->model;
    const char *gl[MG_MODEL_MAX_GATES];
    double fl[MG_MODEL_MAX_GATES];
    if (!mg_trainer_task(t)->n_values || mg_study_roles_tied(t) || !m->embed_proj ||
        !mg_trainer_gate_flips(t, gl, fl) ||
        (cfg->penalty_lambda > 0 && strcmp(cfg->penalty, "none")))
        return MG_OK;
    mg_study_view e, c;
    mg_status st = mg_study_embed_view(t, &e);
    if (!st) st = mg_study_classifier_view(t, &c);
    if (st) return st;
    mg_params *P = mg_trainer_params(t);
    const mg_param_info *W = mg_params_info(P, mg_params_find(P, m->embed_proj));
    if (!W || W->ndim != 2) return MG_OK;
    mg_last_batch b;
    if ((st = mg_trainer_last_batch(t, &b))) return st;
    const float *data = mg_params_data(P), *grad = mg_params_grad(P);
    /* U as (h x K): the classifier's class vectors are its columns or rows */
    const int h = c.cols, K = c.rows;
    double sU = NAN, sW = NAN;
    if ((st = spectral(c.w, K, h, c.rs, c.cs, &warm->v[0], &sU))) return st;
    if ((st = spectral(data + W->offset, (int)W->shape[0], (int)W->shape[1], W->shape[1], 1,
                       &warm->v[1], &sW)))
        return st;
    const double gU = frob(grad + (c.w - data), K, h, c.rs, c.cs);
    const double gE = frob(grad + (e.w - data), e.rows, e.cols, e.rs, e.cs);
    double hn = 0;
    for (int64_t i = 0; i < b.n * b.f; i++) hn += (double)b.features[i] * b.features[i];
    hn = sqrt(hn);
    const double dn = mg_ce_delta_norm(b.logits, b.labels, b.n, b.K);
    /* the operands' embeddings are summed when the first layer takes d inputs */
    const bool summed = W->shape[0] == e.cols;
    const double sel = mg_selection_norm(b.a, b.b, b.n, e.rows, summed);
    const double boundE = sel * sW * sU * dn, boundU = hn * dn;
    const int64_t s = mg_trainer_steps_done(t);
    const char *first = mg_params_layer_name(P, W->layer);
    st = mg_study_row(w, s, c.layer, "hier_grad", gU);
    if (!st) st = mg_study_row(w, s, c.layer, "hier_spectral", sU);
    if (!st) st = mg_study_row(w, s, c.layer, "hier_bound", boundU);
    if (!st) st = mg_study_row(w, s, first, "hier_spectral", sW);
    if (!st) st = mg_study_row(w, s, e.layer, "hier_grad", gE);
    if (!st) st = mg_study_row(w, s, e.layer, "hier_bound", boundE);
    if (!st) st = mg_study_row(w, s, e.layer, "hier_bound_ratio", boundE > 0 ? gE / boundE : NAN);
    if (!st) st = mg_study_row(w, s, "model", "hier_delta", dn);
    if (!st) st = mg_study_row(w, s, "model", "hier_selection", sel);
    if (!st) st = mg_study_row(w, s, "model", "hier_ratio_measured", gU > 0 ? gE / gU : NAN);
    if (!st)
        st = mg_study_row(w, s, "model", "hier_ratio_bound", boundU > 0 ? boundE / boundU : NAN);
    return st;
}

void mg_study_warm_free(mg_study_warm *warm) {
    mg_free(warm->v[0]);
    mg_free(warm->v[1]);
    memset(warm, 0, sizeof *warm);
}
