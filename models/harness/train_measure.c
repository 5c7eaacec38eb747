/* train_measure.c — measurements that run passes of their own beside the
 * training (train.h): the gradient the SGD commutator takes on a batch of
 * its own, the attention patterns at the last query on the held-out rows,
 * and the accuracy with every attention replaced by its top-k weights.
 *
 * None of them touches what the training reads: the parameters are put back
 * bit for bit, the optimizer is not called, the training graph is not run,
 * and the batches they read come from streams no training step draws. */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/rng.h"
#include "models/harness/train.h"
#include "models/harness/train_impl.h"
#include "ops/ops.h"

/* Rows of one commutator batch: a generated task's batch size, or half of a
 * fixed training set. */
static int64_t grad_rows(const mg_trainer *t) {
    if (mg_task_generated(t->task))
        return t->cfg.batch ? t->cfg.batch : t->task->def->default_batch;
    return t->task->train.n / 2;
}

int64_t mg_trainer_commutator_rows(const mg_trainer *t) { return grad_rows(t); }

static mg_status grad_graph(mg_trainer *t) {
    if (t->grad.g) return MG_OK;
    const size_t total = mg_params_total(t->params);
    const int64_t n = grad_rows(t);
    if (n < 1)
        return mg_fail(MG_ERR_ARG,
                       "the commutator needs at least 2 training rows, the task has %lld",
                       (long long)t->task->train.n);
    t->saved = mg_malloc(total * sizeof *t->saved);
    if (!t->saved) return mg_fail(MG_ERR_NOMEM, "out of memory for the commutator");
    mg_status st = mg_rows_alloc(&t->grad_rows, n, t->task->T, t->task->n_masks);
    if (!st) st = mg_trainer_instantiate(t, &t->grad, n, MG_INST_GRAD, NULL, 0);
    return st;
}

/* The rows of batch `which` (0: A, 1: B) of draw `draw` at the current step:
 * a generated task's batch from a seed of its own (the task's batch() is a
 * pure function of its settings and the step, so the same task with another
 * seed is another stream of batches of the same distribution, the curriculum
 * included); a fixed split's two disjoint halves of a shuffle of the
 * training set. */
static mg_status commutator_batch(mg_trainer *t, int64_t draw, int which) {
    const uint64_t salt = 0xc0441a7e5ULL ^ ((uint64_t)draw << 8) ^ (uint64_t)which;
    mg_rows *r = &t->grad_rows;
    if (mg_task_generated(t->task)) {
        mg_status st = mg_trainer_fresh_rows(t, salt, r);
        if (st) return st;
        mg_trainer_fill(t->task, &t->grad, r, NULL);
        return MG_OK;
    }
    const mg_rows *rows = &t->task->train;
    mg_rng rng;
    mg_rng_seed(&rng, t->task->cfg.seed ^ mg_task_step_salt(t->steps) ^ (salt & ~1ULL));
    for (int64_t i = 0; i < rows->n; i++) t->perm[i] = (int32_t)i;
    mg_rng_shuffle(&rng, t->perm, rows->n);
    mg_trainer_fill(t->task, &t->grad, rows, t->perm + (which ? t->grad.n : 0));
    return MG_OK;
}

mg_status mg_trainer_commutator_begin(mg_trainer *t) {
    mg_status st = grad_graph(t);
    if (st) return st;
    memcpy(t->saved, mg_params_data(t->params), mg_params_total(t->params) * sizeof *t->saved);
    return MG_OK;
}

mg_status mg_trainer_commutator_grad(mg_trainer *t, int64_t draw, int which, const float *theta,
                                     float *g) {
    if (!t->grad.g || !t->saved)
        return mg_fail(MG_ERR_STATE,
                       "mg_trainer_commutator_grad before mg_trainer_commutator_begin");
    const size_t total = mg_params_total(t->params);
    mg_status st = commutator_batch(t, draw, which);
    if (st) return st;
    memcpy(mg_params_data(t->params), theta, total * sizeof *theta);
    if ((st = mg_trainer_forward(&t->grad))) return st;
    if ((st = mg_graph_backward(t->grad.g)))
        return mg_fail(st, "the commutator's backward pass: %s", mg_errmsg());
    memcpy(g, mg_params_grad(t->params), total * sizeof *g);
    return MG_OK;
}

void mg_trainer_commutator_end(mg_trainer *t) {
    if (t->saved)
        memcpy(mg_params_data(t->params), t->saved, mg_params_total(t->params) * sizeof *t->saved);
}

int mg_trainer_attention_layers(const mg_trainer *t, const char **layers, int *heads, int *keys) {
    int n = 0;
    for (; n < MG_MODEL_MAX_ATTN && t->test.out.attn[n]; n++) {
        const mg_tensor *a = t->test.out.attn[n];
        if (layers) layers[n] = t->test.out.attn_layers[n] ? t->test.out.attn_layers[n] : "?";
        if (heads) heads[n] = a->ndim == 4 ? (int)a->shape[1] : 1;
        if (keys) keys[n] = (int)a->shape[a->ndim - 1];
    }
    return n;
}

/* Sorts v[0..n) descending (n is a sequence length: insertion sort). */
static void sort_desc(double *v, int n) {
    for (int i = 1; i < n; i++) {
        double x = v[i];
        int j = i - 1;
        for (; j >= 0 && v[j] < x; j--) v[j + 1] = v[j];
        v[j + 1] = x;
    }
}

mg_status mg_trainer_attention(mg_trainer *t, int layer, int64_t lo, int64_t hi, double *entropy,
                               double *mass, const int *ks, int n_ks) {
    const mg_tensor *a = layer >= 0 && layer < MG_MODEL_MAX_ATTN ? t->test.out.attn[layer] : NULL;
    if (!a || a->ndim != 4)
        return mg_fail(MG_ERR_ARG, "model %s has no attention layer %d", t->cfg.model->name, layer);
    const int64_t n = a->shape[0], H = a->shape[1], Tq = a->shape[2], Tk = a->shape[3];
    if (lo < 0 || hi > n || lo >= hi)
        return mg_fail(MG_ERR_ARG, "rows [%lld, %lld) of %lld held-out rows", (long long)lo,
                       (long long)hi, (long long)n);
    double w[1024];
    if (Tk > 1024)
        return mg_fail(MG_ERR_ARG, "attention over %lld keys: at most 1024", (long long)Tk);
    const float *A = mg_f32(a);
    for (int64_t h = 0; h < H; h++) {
        double ent = 0, m[16] = {0};
        for (int64_t r = lo; r < hi; r++) {
            const float *row = A + ((r * H + h) * Tq + (Tq - 1)) * Tk; /* the last query */
            for (int64_t j = 0; j < Tk; j++) {
                w[j] = row[j];
                if (w[j] > 0) ent -= w[j] * log(w[j]);
            }
            sort_desc(w, (int)Tk);
            for (int q = 0; q < n_ks && q < 16; q++) {
                double s = 0;
                for (int64_t j = 0; j < ks[q] && j < Tk; j++) s += w[j];
                m[q] += s;
            }
        }
        entropy[h] = ent / (double)(hi - lo);
        for (int q = 0; q < n_ks && q < 16; q++) mass[h * n_ks + q] = m[q] / (double)(hi - lo);
    }
    return MG_OK;
}

mg_status mg_trainer_eval_with_option(mg_trainer *t, const char *option, double value, mg_eval *all,
                                      mg_eval *groups) {
    const mg_model_def *m = t->cfg.model;
    int k = mg_model_option_index(m, option);
    if (k < 0) return mg_fail(MG_ERR_ARG, "model %s has no option --%s", m->name, option);
    double opt[MG_MODEL_MAX_OPTIONS];
    memcpy(opt, t->cfg.opt, sizeof opt);
    opt[k] = value;
    mg_instance in;
    memset(&in, 0, sizeof in);
    mg_status st = mg_trainer_instantiate(t, &in, t->task->test.n, MG_INST_EVAL, opt, 0);
    if (!st) {
        mg_trainer_fill(t->task, &in, &t->task->test, NULL);
        st = mg_trainer_forward(&in);
    }
    const mg_task *task = t->task;
    for (int gi = 0; !st && groups && gi < task->n_groups; gi++)
        groups[gi] = mg_trainer_eval_rows(&in, task->group_start[gi], task->group_start[gi + 1]);
    if (!st && all) *all = mg_trainer_eval_rows(&in, 0, in.n);
    mg_graph_free(in.g);
    return st;
}

mg_status mg_trainer_groups_of_last_eval(const mg_trainer *t, mg_eval *out) {
    const mg_task *task = t->task;
    for (int g = 0; g < task->n_groups; g++)
        out[g] = mg_trainer_eval_rows(&t->test, task->group_start[g], task->group_start[g + 1]);
    return MG_OK;
}

mg_status mg_trainer_logit_cube(mg_trainer *t, float *cube, int64_t *train_idx, int64_t *n_train) {
    const mg_task *task = t->task;
    const int p = task->n_values;
    if (!p || task->K != p || task->train.n + task->test.n != (int64_t)p * p)
        return mg_fail(MG_ERR_ARG,
                       "task %s: the logit cube needs every pair (a, b) of 0..p-1 "
                       "in its training or test rows",
                       task->def->name);
    mg_eval e;
    mg_status st = mg_trainer_eval_train(t, &e);
    if (!st) st = mg_trainer_eval_test(t, &e);
    if (st) return st;
    const mg_instance *ins[2] = {mg_trainer_train_set(t), &t->test};
    const mg_rows *rows[2] = {&task->train, &task->test};
    for (int s = 0; s < 2; s++) {
        const float *z = mg_f32(ins[s]->logits);
        for (int64_t r = 0; r < rows[s]->n; r++) {
            const int32_t *tok = rows[s]->tokens + r * task->T;
            const int64_t at = (int64_t)tok[0] * p + tok[1];
            memcpy(cube + at * p, z + r * p, (size_t)p * sizeof *cube);
            if (s == 0) train_idx[r] = at;
        }
    }
    *n_train = task->train.n;
    return MG_OK;
}
