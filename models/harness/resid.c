/* resid.c — the model's residual stream on rows of the caller's choice, with
 * model.h's intervention (train.h's mg_resid_probe): what the sparse
 * autoencoder reads and ablates. A graph of its own beside the trainer's,
 * sharing the parameters; nothing the training reads changes. */
#include <string.h>

#include "core/alloc.h"
#include "models/harness/train.h"
#include "models/harness/train_impl.h"

struct mg_resid_probe {
    mg_trainer *t;
    mg_instance in;
    int layer;
    int64_t n;
    int T, d;
};

mg_status mg_resid_probe_new(mg_trainer *t, int64_t n, int layer, mg_resid_probe **out) {
    *out = NULL;
    mg_resid_probe *p = mg_calloc(1, sizeof *p);
    if (!p) return mg_fail(MG_ERR_NOMEM, "out of memory for the residual-stream probe");
    p->t = t;
    p->layer = layer;
    p->n = n;
    mg_status st = mg_trainer_instantiate(t, &p->in, n, MG_INST_RESID, NULL, layer + 1);
    const mg_tensor *r = st ? NULL : p->in.out.resid[layer];
    if (!st && (layer < 0 || layer >= MG_MODEL_MAX_ATTN || !r || r->ndim != 3))
        st = mg_fail(MG_ERR_ARG, "model %s has no residual stream after block %d",
                     t->cfg.model->name, layer);
    if (st) {
        mg_resid_probe_free(p);
        return st;
    }
    p->T = (int)r->shape[1];
    p->d = (int)r->shape[2];
    memset(mg_f32(p->in.out.patch), 0, (size_t)n * p->T * p->d * sizeof(float));
    *out = p;
    return MG_OK;
}

void mg_resid_probe_free(mg_resid_probe *p) {
    if (!p) return;
    mg_graph_free(p->in.g);
    mg_free(p);
}

int mg_resid_probe_dim(const mg_resid_probe *p) { return p->d; }

mg_eval mg_resid_probe_eval(const mg_resid_probe *p, int64_t lo, int64_t hi) {
    return mg_trainer_eval_rows(&p->in, lo, hi);
}

int mg_resid_blocks(const mg_trainer *t) {
    int n = 0;
    while (n < MG_MODEL_MAX_ATTN && t->test.out.attn[n]) n++;
    return n;
}

mg_status mg_resid_probe_run(mg_resid_probe *p, const mg_rows *rows, const float *patch,
                             const float **resid, const float **logits) {
    if (rows->n != p->n)
        return mg_fail(MG_ERR_ARG, "the residual probe holds %lld rows, given %lld",
                       (long long)p->n, (long long)rows->n);
    mg_trainer_fill(p->t->task, &p->in, rows, NULL);
    float *dst = mg_f32(p->in.out.patch);
    const size_t k = (size_t)p->n * p->T * p->d;
    if (patch) memcpy(dst, patch, k * sizeof *dst);
    else memset(dst, 0, k * sizeof *dst);
    mg_status st = mg_trainer_forward(&p->in);
    if (st) return st;
    if (resid) *resid = mg_f32(p->in.out.resid[p->layer]);
    if (logits) *logits = mg_f32(p->in.logits);
    return MG_OK;
}

mg_status mg_trainer_fresh_rows(const mg_trainer *t, uint64_t salt, mg_rows *rows) {
    if (!mg_task_generated(t->task))
        return mg_fail(MG_ERR_ARG, "task %s has a fixed split: no fresh rows to draw",
                       t->task->def->name);
    mg_task other = *t->task;
    other.cfg.seed = t->task->cfg.seed ^ mg_task_step_salt((int64_t)salt);
    return mg_task_batch(&other, t->steps, rows);
}
