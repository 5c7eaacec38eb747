/* train.c — the trainer: graphs for a model on a task, the inputs fed from
 * the task's rows, one update, and the evaluations (see train.h, and task.h
 * for how a task is called). */
#include "models/harness/train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/gemm.h"
#include "core/rewrite.h"
#include "core/text.h"
#include "models/harness/penalty.h"
#include "models/harness/train_impl.h"
#include "models/modular.h"
#include "ops/ops.h"

void mg_train_defaults(mg_train_cfg *cfg, const mg_model_def *model) {
    memset(cfg, 0, sizeof *cfg);
    cfg->model = model;
    for (int i = 0; i < model->n_options; i++) cfg->opt[i] = model->options[i].def;
    cfg->task = (mg_task_cfg){.p = model->default_p, .frac = model->default_frac};
    (void)mg_task_choose(&cfg->task, "add");
    cfg->steps = model->default_steps;
    cfg->optim = mg_opt_defaults(MG_OPT_ADAMW);
    cfg->threads = 0;
    snprintf(cfg->penalty, sizeof cfg->penalty, "%s", MG_PENALTY_DEFAULT);
    snprintf(cfg->penalty_layers, sizeof cfg->penalty_layers, "%s", MG_PENALTY_LAYERS_DEFAULT);
}

mg_status mg_train_validate_settings(const mg_train_cfg *cfg) {
    if (!cfg->model) return mg_fail(MG_ERR_ARG, "--model is required");
    mg_status st = mg_task_validate(&cfg->task);
    if (st) return st;
    if (cfg->steps < 0)
        return mg_fail(MG_ERR_ARG, "--steps must be >= 0, got %lld", (long long)cfg->steps);
    if (cfg->batch < 0)
        return mg_fail(MG_ERR_ARG, "--batch must be >= 0 (0 = full batch), got %lld",
                       (long long)cfg->batch);
    if (!(cfg->optim.lr > 0) || !isfinite(cfg->optim.lr))
        return mg_fail(MG_ERR_ARG, "--lr must be a positive number, got %g", cfg->optim.lr);
    if (!(cfg->optim.weight_decay >= 0) || !isfinite(cfg->optim.weight_decay))
        return mg_fail(MG_ERR_ARG, "--wd must be >= 0, got %g", cfg->optim.weight_decay);
    mg_penalty_form form;
    char layers[sizeof cfg->penalty_layers];
    if ((st = mg_penalty_parse(cfg->penalty, "--penalty", &form))) return st;
    if (form.kind != MG_PENALTY_NONE &&
        (st = mg_penalty_canon_layers(cfg->penalty_layers, layers, sizeof layers,
                                      "--penalty-layers")))
        return st;
    if (!(cfg->penalty_lambda >= 0) || !isfinite(cfg->penalty_lambda))
        return mg_fail(MG_ERR_ARG, "--penalty-lambda must be >= 0, got %g",
                       (double)cfg->penalty_lambda);
    if (form.kind == MG_PENALTY_NONE && cfg->penalty_lambda > 0)
        return mg_fail(MG_ERR_ARG,
                       "--penalty-lambda %g has no effect with --penalty none: name a form (l2, "
                       "schatten:q=Q)",
                       (double)cfg->penalty_lambda);
    return mg_opt_cfg_check(&cfg->optim);
}

mg_status mg_train_validate(const mg_train_cfg *cfg) {
    mg_status st = mg_train_validate_settings(cfg);
    if (st) return st;
    /* More threads than cores only makes BLIS's spinning threads fight (a
     * step can take 10x longer), so it is refused rather than capped: a
     * silent cap would record a thread count the user did not ask for. */
    int cores = mg_cpu_cores();
    if (cfg->threads < 0 || cfg->threads > cores)
        return mg_fail(MG_ERR_ARG,
                       "--threads must be 0 (all %d cores this process may use) to %d, got %d",
                       cores, cores, cfg->threads);
    return MG_OK;
}

/* A model that reads the operands needs a task that has them. */
static mg_status check_reads(const mg_model_def *m, const mg_task *task) {
    if (m->reads != MG_READS_OPERANDS || task->n_values > 0) return MG_OK;
    char readers[256] = "";
    for (int i = 0; i < mg_model_count(); i++)
        if (mg_model_at(i)->reads == MG_READS_TOKENS)
            mg_list_add(readers, sizeof readers, mg_model_at(i)->name);
    return mg_fail(MG_ERR_ARG,
                   "model %s reads the operands a and b, but task %s has none (it gives token "
                   "sequences); use --task with operands or a model that reads tokens (%s)",
                   m->name, task->def->name, readers[0] ? readers : "none registered");
}

mg_status mg_trainer_instantiate(mg_trainer *t, mg_instance *in, int64_t n, mg_inst_mode mode,
                                 const double *opt, int patch_at) {
    const bool training = mode == MG_INST_TRAIN;
    const mg_train_cfg *c = &t->cfg;
    const mg_task *task = t->task;
    const mg_model_def *m = c->model;
    mg_status st = check_reads(m, task);
    if (st) return st;
    in->n = n;
    in->g = mg_graph_new(t->params);
    if (!in->g) return mg_fail(MG_ERR_NOMEM, "out of memory creating a graph of model %s", m->name);
    mg_graph *g = in->g;
    if ((st = mg_graph_set_rewrites(g, c->no_rewrites))) return st;
    mg_graph_set_checking(g, c->graph_checking); /* cannot fail: not compiled yet */
    mg_graph_set_reuse(g, !c->graph_no_reuse);
    if (m->reads == MG_READS_OPERANDS) {
        in->a = mg_input(g, "a", MG_I32, MG_SHAPE(n));
        in->b = mg_input(g, "b", MG_I32, MG_SHAPE(n));
    } else {
        in->tokens = mg_input(g, "tokens", MG_I32, MG_SHAPE(n, task->T));
        if (in->tokens && task->uniform_len &&
            (st = mg_input_uniform(in->tokens, 1, task->uniform_from, task->uniform_len)))
            return mg_fail(st, "task %s: %s", task->def->name, mg_errmsg());
    }
    in->y = mg_input(g, "labels", MG_I32, MG_SHAPE(n));
    mg_model_io io = {.n = n,
                      .T = task->T,
                      .V = task->V,
                      .K = task->K,
                      .n_values = task->n_values,
                      .a = in->a,
                      .b = in->b,
                      .tokens = in->tokens,
                      .patch_at = patch_at};
    st = m->build(g, &io, opt ? opt : c->opt, &in->out);
    if (st) return mg_fail(st, "model %s: %s", m->name, mg_graph_error(g));
    in->logits = in->out.logits;
    in->loss = in->objective = mg_cross_entropy(g, in->logits, in->y);
    if (mg_graph_status(g))
        return mg_fail(mg_graph_status(g), "model %s: %s", m->name, mg_graph_error(g));
    /* only the training graph carries the penalty; none or lambda 0 adds nothing */
    if (training && (st = mg_penalty_objective(g, m, c->penalty, c->penalty_layers,
                                               c->penalty_lambda, in->loss, &in->objective)))
        return st;
    char sl[64];
    if (in->logits->ndim != 2 || in->logits->shape[0] != n || in->logits->shape[1] != task->K)
        return mg_fail(MG_ERR_SHAPE, "model %s: logits are %s, expected (%lld, %d) on task %s",
                       m->name, mg_shape_str(in->logits, sl, sizeof sl), (long long)n, task->K,
                       task->def->name);
    mg_graph_keep(g, in->logits);
    mg_graph_keep(g, in->loss);
    if (in->out.features) mg_graph_keep(g, in->out.features);
    for (int i = 0; training && i < MG_MODEL_MAX_GATES && in->out.gates[i]; i++)
        mg_graph_keep(g, in->out.gates[i]);
    for (int i = 0; mode == MG_INST_EVAL && i < MG_MODEL_MAX_ATTN && in->out.attn[i]; i++)
        mg_graph_keep(g, in->out.attn[i]);
    for (int i = 0; mode == MG_INST_RESID && i < MG_MODEL_MAX_ATTN && in->out.resid[i]; i++)
        mg_graph_keep(g, in->out.resid[i]);
    if (patch_at && !in->out.patch)
        return mg_fail(MG_ERR_ARG, "model %s has no residual stream to patch after block %d",
                       m->name, patch_at - 1);
    const bool grad = mode == MG_INST_TRAIN || mode == MG_INST_GRAD;
    st = mg_graph_compile(g, grad ? in->objective : NULL);
    if (st) return mg_fail(st, "model %s: %s", m->name, mg_errmsg());
    return MG_OK;
}

/* Writes rows idx[0..n) (or 0..n if idx is NULL) of src into in's inputs:
 * the tokens, or the operands (tokens 0 and 1), and the labels. */
void mg_trainer_fill(const mg_task *task, mg_instance *in, const mg_rows *src, const int32_t *idx) {
    const int T = task->T;
    int32_t *A = in->a ? mg_i32(in->a) : NULL, *B = in->b ? mg_i32(in->b) : NULL;
    int32_t *X = in->tokens ? mg_i32(in->tokens) : NULL, *Y = mg_i32(in->y);
    for (int64_t r = 0; r < in->n; r++) {
        int64_t s = idx ? idx[r] : r;
        const int32_t *tok = src->tokens + s * T;
        if (X) memcpy(X + r * T, tok, (size_t)T * sizeof *X);
        if (A) A[r] = tok[0], B[r] = tok[1];
        Y[r] = src->labels[s];
    }
}

/* The instance whose rows stand for the training set: the whole fixed
 * training set, or the batch of a generated task. */
mg_instance *mg_trainer_train_set(mg_trainer *t) { return t->full.g ? &t->full : &t->train; }

/* A generated task: the batch of the current step into the training graph
 * (once per step). */
static mg_status load_batch(mg_trainer *t) {
    if (!mg_task_generated(t->task) || t->batch_step == t->steps) return MG_OK;
    mg_status st = mg_task_batch(t->task, t->steps, &t->batch);
    if (st) return st;
    mg_trainer_fill(t->task, &t->train, &t->batch, NULL);
    t->batch_step = t->steps;
    t->train_fresh = false;
    return MG_OK;
}

/* Parses "layer=value,layer=value" and applies each with set(). */
static mg_status apply_layers(mg_optim *o, const char *spec, const char *flag,
                              mg_status (*set)(mg_optim *, const char *, float)) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", spec);
    for (char *save = NULL, *item = strtok_r(buf, ",", &save); item;
         item = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(item, '=');
        char *end = NULL;
        double v = eq ? strtod(eq + 1, &end) : 0;
        if (!eq || eq == item || end == eq + 1 || *end || !isfinite(v) || v < 0)
            return mg_fail(MG_ERR_ARG,
                           "%s: '%s' is not LAYER=VALUE with VALUE >= 0 (e.g. %s classifier=0.1)",
                           flag, item, flag);
        *eq = '\0';
        if (set(o, item, (float)v)) return mg_fail(MG_ERR_ARG, "%s: %s", flag, mg_errmsg());
    }
    return MG_OK;
}

mg_status mg_trainer_new(const mg_train_cfg *cfg, mg_trainer **out) {
    *out = NULL;
    mg_status st = mg_train_validate(cfg);
    if (st) return st;
    mg_trainer *t = mg_calloc(1, sizeof *t);
    if (!t) return mg_fail(MG_ERR_NOMEM, "out of memory creating the trainer");
    t->cfg = *cfg;
    t->last_loss = NAN;
    t->batch_step = -1;
    mg_gemm_init(cfg->threads);
    if ((st = mg_task_open(&cfg->task, &t->task))) goto fail;
    const mg_task *task = t->task;
    const bool generated = mg_task_generated(task);
    if (!generated && cfg->batch > task->train.n) {
        st = mg_fail(MG_ERR_ARG, "--batch %lld is larger than the training set (%lld rows)",
                     (long long)cfg->batch, (long long)task->train.n);
        goto fail;
    }
    t->params = mg_params_new();
    if (!t->params) {
        st = mg_fail(MG_ERR_NOMEM, "out of memory creating the parameter store");
        goto fail;
    }
    /* rows per step: --batch, else the whole training set or the task's default */
    int64_t nb = cfg->batch ? cfg->batch : generated ? task->def->default_batch : task->train.n;
    if ((st = mg_trainer_instantiate(t, &t->train, nb, MG_INST_TRAIN, NULL, 0))) goto fail;
    if ((st = mg_trainer_instantiate(t, &t->test, task->test.n, MG_INST_EVAL, NULL, 0))) goto fail;
    if (!generated && cfg->batch &&
        (st = mg_trainer_instantiate(t, &t->full, task->train.n, MG_INST_EVAL, NULL, 0)))
        goto fail;
    if (generated && (st = mg_rows_alloc(&t->batch, nb, task->T, task->n_masks))) goto fail;
    size_t total = mg_params_total(t->params);
    t->perm = mg_malloc((size_t)(generated ? 1 : task->train.n) * sizeof *t->perm);
    t->pred = mg_malloc((size_t)mg_trainer_train_set(t)->n * sizeof *t->pred);
    t->init = mg_malloc(total * sizeof *t->init);
    t->prev = mg_malloc(total * sizeof *t->prev);
    t->optim = mg_optim_new(t->params, &cfg->optim);
    if (!t->perm || !t->pred || !t->init || !t->prev || !t->optim) {
        st = mg_fail(MG_ERR_NOMEM,
                     "out of memory for the optimizer and the trainer's buffers (%zu parameters)",
                     total);
        goto fail;
    }
    if ((st = apply_layers(t->optim, cfg->lr_layers, "--lr", mg_optim_set_layer_lr))) goto fail;
    if ((st = apply_layers(t->optim, cfg->wd_layers, "--wd", mg_optim_set_layer_wd))) goto fail;

    mg_rng rng;
    mg_rng_seed(&rng, cfg->task.seed ^ 0x5eed1417ULL);
    mg_params_init(t->params, &rng);
    memcpy(t->init, mg_params_data(t->params), total * sizeof *t->init);
    mg_trainer_fill(task, &t->test, &task->test, NULL);
    if (!generated) mg_trainer_fill(task, mg_trainer_train_set(t), &task->train, NULL);
    *out = t;
    return MG_OK;
fail:
    mg_trainer_free(t);
    return st;
}

void mg_trainer_free(mg_trainer *t) {
    if (!t) return;
    mg_graph_free(t->train.g);
    mg_graph_free(t->test.g);
    mg_graph_free(t->full.g);
    mg_graph_free(t->grad.g);
    mg_rows_free(&t->grad_rows);
    mg_free(t->saved);
    mg_optim_free(t->optim);
    mg_params_free(t->params);
    mg_task_close(t->task);
    mg_rows_free(&t->batch);
    mg_free(t->perm);
    mg_free(t->pred);
    mg_free(t->init);
    mg_free(t->prev);
    for (int i = 0; i < MG_MODEL_MAX_GATES; i++) mg_free(t->gate_bits[i]);
    mg_free(t);
}

/* Rows of an instance's last forward whose argmax is the label; the
 * argmax of each row goes to pred when it is not NULL. */
int64_t mg_trainer_count_right(const mg_instance *in, int32_t *pred) {
    const float *z = mg_f32(in->logits);
    const int32_t *y = mg_i32(in->y);
    int64_t c = in->logits->shape[1], right = 0;
    for (int64_t r = 0; r < in->n; r++, z += c) {
        int64_t best = 0;
        for (int64_t j = 1; j < c; j++)
            if (z[j] > z[best]) best = j;
        right += best == y[r];
        if (pred) pred[r] = (int32_t)best;
    }
    return right;
}

/* Loss and accuracy of an instance's last forward. */
static mg_eval evaluate(const mg_instance *in) {
    return (mg_eval){mg_scalar(in->loss), (double)mg_trainer_count_right(in, NULL) / (double)in->n};
}

mg_status mg_trainer_forward(mg_instance *in) {
    mg_status st = mg_graph_forward(in->g);
    return st ? mg_fail(st, "forward pass: %s", mg_errmsg()) : MG_OK;
}

mg_status mg_trainer_eval_train(mg_trainer *t, mg_eval *e) {
    mg_instance *in = mg_trainer_train_set(t);
    mg_status st = load_batch(t);
    if (st) return st;
    if (!(in == &t->train && t->train_fresh)) {
        st = mg_trainer_forward(in);
        if (st) return st;
        t->train_fresh = in == &t->train;
    }
    *e = evaluate(in);
    return MG_OK;
}

mg_status mg_trainer_eval_test(mg_trainer *t, mg_eval *e) {
    mg_status st = mg_trainer_forward(&t->test);
    if (st) return st;
    *e = evaluate(&t->test);
    return MG_OK;
}

mg_eval mg_trainer_eval_rows(const mg_instance *in, int64_t lo, int64_t hi) {
    const float *z = mg_f32(in->logits);
    const int32_t *y = mg_i32(in->y);
    const int64_t K = in->logits->shape[1];
    int64_t right = 0;
    double loss = 0;
    for (int64_t r = lo; r < hi; r++) {
        const float *row = z + r * K;
        int64_t best = 0;
        for (int64_t j = 1; j < K; j++)
            if (row[j] > row[best]) best = j;
        double lse = 0; /* log-sum-exp with the row's maximum subtracted */
        for (int64_t j = 0; j < K; j++) lse += exp((double)row[j] - row[best]);
        loss += log(lse) + row[best] - row[y[r]];
        right += best == y[r];
    }
    return (mg_eval){loss / (double)(hi - lo), (double)right / (double)(hi - lo)};
}

mg_status mg_trainer_eval_groups(mg_trainer *t, mg_eval *out) {
    const mg_task *task = t->task;
    if (!task->n_groups) return MG_OK;
    mg_status st = mg_trainer_forward(&t->test);
    return st ? st : mg_trainer_groups_of_last_eval(t, out);
}

/* The first layer whose gradient has a NaN or Inf, or -1. An integer test
 * of the exponent bits (all set: NaN or Inf) ORed over a parameter, so the
 * loop vectorises; a float sum of x * 0 cannot be reordered and stays scalar
 * (a tenth of a small-P step). */
static int bad_layer(mg_params *P) {
    const float *grad = mg_params_grad(P);
    for (int k = 0; k < mg_params_count(P); k++) {
        const mg_param_info *info = mg_params_info(P, k);
        const float *g = grad + info->offset;
        uint32_t bad = 0;
        for (size_t i = 0; i < info->numel; i++) {
            uint32_t b;
            memcpy(&b, &g[i], sizeof b);
            bad |= (b & 0x7f800000u) == 0x7f800000u;
        }
        if (bad) return info->layer;
    }
    return -1;
}

mg_status mg_trainer_step(mg_trainer *t) { return mg_trainer_step_inspect(t, NULL, NULL, NULL); }

mg_status mg_trainer_step_probed(mg_trainer *t, mg_probes_layer *probe) {
    return mg_trainer_step_inspect(t, probe, NULL, NULL);
}

/* The gates are read on the training set: full batch on a fixed split. */
static bool gates_measured(const mg_trainer *t) {
    return !mg_task_generated(t->task) && !t->cfg.batch && t->train.out.gates[0];
}

/* The gates' states at the train instance's last forward, into bits (a
 * first call allocates them); with flips, the share that differs from
 * what bits held, per gate. */
static mg_status read_gates(mg_trainer *t, bool flips) {
    for (int i = 0; i < MG_MODEL_MAX_GATES && t->train.out.gates[i]; i++) {
        const mg_tensor *gt = t->train.out.gates[i];
        int64_t n = mg_numel(gt);
        if (!t->gate_bits[i] && !(t->gate_bits[i] = mg_malloc((size_t)n)))
            return mg_fail(MG_ERR_NOMEM, "out of memory for the gate-flip probe");
        const float *v = mg_f32(gt);
        uint8_t *b = t->gate_bits[i];
        int64_t changed = 0;
        for (int64_t j = 0; j < n; j++) {
            uint8_t on = v[j] > 0.0f;
            changed += on != b[j];
            b[j] = on;
        }
        if (flips) t->gate_flips[i] = n ? (double)changed / (double)n : NAN;
    }
    return MG_OK;
}

mg_status mg_trainer_step_inspect(mg_trainer *t, mg_probes_layer *probe,
                                  mg_status (*inspect)(void *ctx, mg_trainer *t), void *ctx) {
    const mg_train_cfg *c = &t->cfg;
    mg_status st;
    if (mg_task_generated(t->task)) {
        if ((st = load_batch(t))) return st;
    } else if (c->batch) {
        const mg_rows *rows = &t->task->train;
        mg_rng rng;
        mg_rng_seed(&rng, c->task.seed + (uint64_t)t->steps);
        for (int64_t i = 0; i < rows->n; i++) t->perm[i] = (int32_t)i;
        mg_rng_shuffle(&rng, t->perm, rows->n);
        mg_trainer_fill(t->task, &t->train, rows, t->perm);
        t->train_fresh = false;
    }
    if (!t->train_fresh && (st = mg_trainer_forward(&t->train))) return st;
    t->train_fresh = false;
    if ((st = mg_graph_backward(t->train.g)))
        return mg_fail(st, "step %lld: backward pass: %s", (long long)t->steps + 1, mg_errmsg());
    float loss = mg_scalar(t->train.loss), objective = mg_scalar(t->train.objective);
    int layer = bad_layer(t->params);
    if (!isfinite(objective) && isfinite(loss))
        return mg_fail(MG_ERR_NUMERIC, "step %lld: the penalty is not finite (loss %g)",
                       (long long)t->steps + 1, loss);
    if (!isfinite(loss) || layer >= 0) {
        const char *name = layer >= 0 ? mg_params_layer_name(t->params, layer) : "(none)";
        return mg_fail(MG_ERR_NUMERIC,
                       "step %lld: the loss is %g and the gradient of layer '%s' is %s",
                       (long long)t->steps + 1, loss, name, layer >= 0 ? "not finite" : "finite");
    }
    if (inspect && (st = inspect(ctx, t))) return st;
    mg_params *P = t->params;
    float *w = mg_params_data(P);
    for (int i = 0; i < MG_MODEL_MAX_GATES; i++) t->gate_flips[i] = NAN;
    const bool gates = probe && gates_measured(t);
    if (gates && (st = read_gates(t, false))) return st;
    if (probe) memcpy(t->prev, w, mg_params_total(P) * sizeof *w);
    int broken = mg_optim_step(t->optim);
    if (broken >= 0) /* the weights are lost; the caller keeps its last checkpoint */
        return mg_fail(MG_ERR_NUMERIC,
                       "step %lld: the update made the weights of layer '%s' not finite (loss %g)",
                       (long long)t->steps + 1, mg_params_layer_name(P, broken), loss);
    if (probe) mg_probes_compute(P, t->prev, mg_params_grad(P), w, t->init, probe);
    t->last_loss = loss;
    t->steps++;
    /* The gates after the update: the forward pass the next step (or the
     * evaluation) would run anyway, run now and kept for it, so the probe
     * costs no pass and the next step computes the same bits. */
    if (gates) {
        if ((st = mg_trainer_forward(&t->train))) return st;
        t->train_fresh = true;
        if ((st = read_gates(t, true))) return st;
    }
    return MG_OK;
}

int mg_trainer_gate_flips(const mg_trainer *t, const char **layers, double *flips) {
    int n = 0;
    for (; n < MG_MODEL_MAX_GATES && t->train.out.gates[n]; n++) {
        layers[n] = t->train.out.gate_layers[n] ? t->train.out.gate_layers[n] : "?";
        flips[n] = t->gate_flips[n];
    }
    return n;
}

mg_status mg_trainer_features(mg_trainer *t, const float **h, int64_t *n, int *f, const int32_t **y,
                              const int32_t **pred) {
    mg_instance *in = mg_trainer_train_set(t);
    mg_eval e;
    mg_status st = mg_trainer_eval_train(t, &e); /* a forward pass at the current step */
    if (st) return st;
    const mg_tensor *feat = in->out.features;
    if (!feat || feat->ndim != 2)
        return mg_fail(MG_ERR_STATE, "model %s gives no (n, f) features", t->cfg.model->name);
    mg_trainer_count_right(in, t->pred);
    *h = mg_f32(feat);
    *n = in->n;
    *f = (int)feat->shape[1];
    *y = mg_i32(in->y);
    *pred = t->pred;
    return MG_OK;
}

mg_status mg_trainer_last_batch(const mg_trainer *t, mg_last_batch *b) {
    const mg_instance *in = &t->train;
    if (!in->a || !in->out.features)
        return mg_fail(MG_ERR_STATE, "model %s reads no operands or gives no features",
                       t->cfg.model->name);
    *b = (mg_last_batch){.n = in->n,
                         .K = (int)in->logits->shape[1],
                         .f = (int)in->out.features->shape[in->out.features->ndim - 1],
                         .logits = mg_f32(in->logits),
                         .features = mg_f32(in->out.features),
                         .labels = mg_i32(in->y),
                         .a = mg_i32(in->a),
                         .b = mg_i32(in->b)};
    return MG_OK;
}

const float *mg_trainer_init_params(const mg_trainer *t) { return t->init; }
const float *mg_trainer_prev_params(const mg_trainer *t) { return t->prev; }
void mg_trainer_set_init_params(mg_trainer *t, const float *w0) {
    memcpy(t->init, w0, mg_params_total(t->params) * sizeof *t->init);
}

int64_t mg_trainer_steps_done(const mg_trainer *t) { return t->steps; }
double mg_trainer_last_loss(const mg_trainer *t) { return t->last_loss; }
mg_graph *mg_trainer_graph(mg_trainer *t) { return t->train.g; }
mg_params *mg_trainer_params(mg_trainer *t) { return t->params; }
mg_optim *mg_trainer_optim(mg_trainer *t) { return t->optim; }
const mg_task *mg_trainer_task(const mg_trainer *t) { return t->task; }
const mg_dataset *mg_trainer_dataset(const mg_trainer *t) { return mg_modular_dataset(t->task); }
const mg_train_cfg *mg_trainer_cfg(const mg_trainer *t) { return &t->cfg; }
void mg_trainer_set_steps_done(mg_trainer *t, int64_t steps) {
    t->steps = steps;
    t->train_fresh = false;
    t->batch_step = -1;
    mg_optim_set_steps(t->optim, steps);
}
