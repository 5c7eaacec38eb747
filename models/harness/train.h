/* train.h — training a model on a task: the step and evaluation.
 *
 * A trainer owns the opened task (models/task.h), a parameter store shared
 * by a training graph (the batch) and evaluation graphs (the held-out rows;
 * the whole training set when training a fixed split on minibatches), and
 * the optimizer. It feeds each graph what the model reads (model.h): the
 * tokens, or the operands; a model reading operands on a task without them
 * is refused when the graph is built. Step numbers count optimizer updates:
 * "step s" means the parameters after s updates.
 *
 * Seeds: the task uses the task seed (the split, or the generator);
 * parameters are initialised from an mg_rng seeded with seed ^ 0x5eed1417ULL
 * (so data and init draw different streams); on a fixed split, minibatch s
 * (if --batch > 0) is the first `batch` indices of a shuffle of the training
 * set by an rng seeded with seed + s; a generated task's batch s is its
 * batch(s). Either way a resumed run draws the same batches without carrying
 * RNG state. */
#ifndef MG_TRAIN_H
#define MG_TRAIN_H

#include "analysis/probes.h"
#include "core/optim.h"
#include "core/params.h"
#include "models/model.h"
#include "models/modular.h"
#include "models/task.h"

typedef struct {
    const mg_model_def *model;
    double opt[MG_MODEL_MAX_OPTIONS]; /* values of model->options */
    mg_task_cfg task;                 /* --task and its settings; task.seed is the run's seed */
    int64_t steps;
    int64_t batch; /* 0: full batch (a generated task: its default batch) */
    mg_opt_cfg optim;
    char lr_layers[256]; /* per-layer overrides "classifier=0.1,embed=1e-3" ("" none) */
    char wd_layers[256];
    int threads; /* 0: all cores */
    /* graph rewrites left out: "" none, "all", or names (core/rewrite.h) */
    char no_rewrites[256];
    /* the explicit penalty (models/harness/penalty.h): its form ("none",
     * "l2", "schatten:q=Q"), the layers it applies to, and its lambda */
    char penalty[64];
    char penalty_layers[256];
    float penalty_lambda;
    /* for tests, not a train setting (never in config.json): compile every
     * graph in checking mode and/or with buffer reuse off (core/graph.h) */
    bool graph_checking, graph_no_reuse;
} mg_train_cfg;

/* Defaults of the canonical setting of `model` (options, task add, p, frac,
 * AdamW). */
void mg_train_defaults(mg_train_cfg *cfg, const mg_model_def *model);

/* Checks every setting; the error names the flag and the allowed values. */
mg_status mg_train_validate(const mg_train_cfg *cfg);

/* The same but for the thread count, which depends on the machine: what a
 * config.json read back must pass (a run made on a larger machine may name
 * more threads than this one has; resume refuses that, naming --threads). */
mg_status mg_train_validate_settings(const mg_train_cfg *cfg);

typedef struct {
    double loss, acc;
} mg_eval;

typedef struct mg_trainer mg_trainer;

/* Opens the task, builds the graphs and the optimizer, and initialises the
 * parameters from the seed. */
mg_status mg_trainer_new(const mg_train_cfg *cfg, mg_trainer **out);
void mg_trainer_free(mg_trainer *t);

/* The training-set loss and accuracy at the current parameters (full batch:
 * from the forward pass the next step reuses; minibatch: a pass over the
 * whole training set). */
mg_status mg_trainer_eval_train(mg_trainer *t, mg_eval *e);
/* The held-out rows' loss and accuracy at the current parameters (a
 * generated task: its probe batches; the training evaluation: the batch of
 * the current step). */
mg_status mg_trainer_eval_test(mg_trainer *t, mg_eval *e);

/* The held-out rows' loss and accuracy per group of the task (task.h,
 * n_groups of them, into out[0..n_groups)), from one forward pass of the
 * test graph; the loss is the mean cross-entropy of the group's rows,
 * computed from the logits in double. A task without groups: nothing. */
mg_status mg_trainer_eval_groups(mg_trainer *t, mg_eval *out);

/* One update. Fails with MG_ERR_NUMERIC if the loss or a layer's gradient is
 * not finite, naming the step and the layer; the parameters are then left
 * as they were before the step. Also fails with MG_ERR_NUMERIC, naming the
 * layer, when the update itself made a weight NaN or Inf (a huge learning
 * rate): the parameters are then lost, the step counter is not advanced,
 * and the caller must fall back on its last checkpoint. */
mg_status mg_trainer_step(mg_trainer *t);

/* The same update, also filling probe[l] for every layer (see
 * analysis/probes.h): the gradient and weights at the current step, the
 * update the optimizer took, and the displacement from the parameters at
 * step 0. */
mg_status mg_trainer_step_probed(mg_trainer *t, mg_probes_layer *probe);

/* The same, calling inspect(ctx, t) (when not NULL) after the backward pass
 * and before the update: the parameters are those of the current step and
 * mg_params_grad holds the gradient of the objective at them. inspect must
 * not change either; its failure fails the step before any update. A probed
 * step (probe not NULL) of a full-batch run on a fixed split also measures
 * the gate flips (mg_trainer_gate_flips). */
mg_status mg_trainer_step_inspect(mg_trainer *t, mg_probes_layer *probe,
                                  mg_status (*inspect)(void *ctx, mg_trainer *t), void *ctx);

/* After a probed step: for each ReLU layer the model declares (model.h's
 * gates, at most MG_MODEL_MAX_GATES), its layer name and the share of its
 * units on the training set whose on/off state changed in that update
 * (NaN where not measured: a minibatch or generated task, or no probed
 * step). Returns the number of gates. */
int mg_trainer_gate_flips(const mg_trainer *t, const char **layers, double *flips);

/* The training set's penultimate features (n x f), labels and predicted
 * classes at the current parameters (runs a forward pass if needed). */
mg_status mg_trainer_features(mg_trainer *t, const float **h, int64_t *n, int *f, const int32_t **y,
                              const int32_t **pred);

/* The SGD commutator's gradients (train_measure.c). Between begin and end,
 * commutator_grad(t, draw, which, theta, g) writes into g the gradient of
 * the plain cross-entropy (no penalty, no weight decay) at parameters theta
 * on batch `which` (0: A, 1: B) of draw `draw` at the current step: a
 * generated task's batch of the current step from a seed of its own per
 * (draw, which), the same distribution as training's and never one of its
 * batches; a fixed split's two disjoint halves of a shuffle of the training
 * set per draw. end puts the parameters back bit for bit. Nothing the
 * training reads changes: a run that measures computes the same bits as one
 * that does not. Batches hold mg_trainer_commutator_rows rows. */
mg_status mg_trainer_commutator_begin(mg_trainer *t);
mg_status mg_trainer_commutator_grad(mg_trainer *t, int64_t draw, int which, const float *theta,
                                     float *g);
void mg_trainer_commutator_end(mg_trainer *t);
int64_t mg_trainer_commutator_rows(const mg_trainer *t);

/* The model's attention layers (model.h's attn): their names, heads and
 * keys (any of the arrays may be NULL); returns how many there are. */
int mg_trainer_attention_layers(const mg_trainer *t, const char **layers, int *heads, int *keys);
/* After mg_trainer_eval_test (or _groups): for attention layer `layer`, per
 * head h, the entropy -sum_j A_j log A_j (nats) of the last query's weights
 * and the mass of their ks[q] largest, each averaged over held-out rows
 * [lo, hi): entropy[h], mass[h * n_ks + q] (n_ks <= 16). */
mg_status mg_trainer_attention(mg_trainer *t, int layer, int64_t lo, int64_t hi, double *entropy,
                               double *mass, const int *ks, int n_ks);
/* The same as mg_trainer_eval_groups, read from the last forward pass of
 * the held-out rows (mg_trainer_eval_test's) without running another. */
mg_status mg_trainer_groups_of_last_eval(const mg_trainer *t, mg_eval *out);
/* The held-out rows evaluated by the model with one option changed (the
 * top-k ablation: "attn-topk"), sharing the parameters: the whole, and per
 * group of the task into groups[0..n_groups) (either may be NULL). Builds
 * and frees a graph of its own. */
mg_status mg_trainer_eval_with_option(mg_trainer *t, const char *option, double value, mg_eval *all,
                                      mg_eval *groups);

/* The residual stream (resid.c): the model built on n rows of the caller's,
 * keeping its residual stream after block `layer` (model.h's resid), with
 * model.h's intervention there: run() fills the rows, adds patch (n x T x
 * d floats; NULL: nothing) to the stream after that block, runs forward and
 * points *resid at the stream after the patch (n x T x d) and *logits at the
 * logits (n x K). A model without a residual stream is refused. */
typedef struct mg_resid_probe mg_resid_probe;
mg_status mg_resid_probe_new(mg_trainer *t, int64_t n, int layer, mg_resid_probe **out);
void mg_resid_probe_free(mg_resid_probe *p);
int mg_resid_probe_dim(const mg_resid_probe *p);
/* Loss and accuracy of rows [lo, hi) of the last run() (mg_trainer_eval_rows). */
mg_eval mg_resid_probe_eval(const mg_resid_probe *p, int64_t lo, int64_t hi);
mg_status mg_resid_probe_run(mg_resid_probe *p, const mg_rows *rows, const float *patch,
                             const float **resid, const float **logits);
/* The model's blocks (its attention layers). */
int mg_resid_blocks(const mg_trainer *t);
/* rows->n fresh rows of a generated task at the current step, from a seed
 * of their own (salt): the training distribution, never a training batch. */
mg_status mg_trainer_fresh_rows(const mg_trainer *t, uint64_t salt, mg_rows *rows);

/* The training graph's inputs and outputs of its last forward pass (the
 * batch the step's gradient is taken of; read from inside an inspect hook,
 * or after mg_trainer_eval_train): its logits (n x K), features (n x f),
 * labels and operands. Models reading operands only. */
typedef struct {
    int64_t n;
    int K, f;
    const float *logits, *features;
    const int32_t *labels, *a, *b;
} mg_last_batch;
mg_status mg_trainer_last_batch(const mg_trainer *t, mg_last_batch *b);

/* The logits of every input (a, b) of a modular task whose training and
 * test rows hold every pair (train_measure.c): cube[(a * p + b) * p + c]
 * (p^3 floats) from a forward pass of each at the current parameters, and
 * the indices a * p + b of the training rows (n_train of them, into
 * train_idx: room for the training set). */
mg_status mg_trainer_logit_cube(mg_trainer *t, float *cube, int64_t *train_idx, int64_t *n_train);

/* The parameters at step 0 (kept for displacements); a resumed run sets
 * them from its step-0 checkpoint. */
const float *mg_trainer_init_params(const mg_trainer *t);
void mg_trainer_set_init_params(mg_trainer *t, const float *w0);

/* The parameters before the last probed update (valid after a probed
 * step; NULL before any). */
const float *mg_trainer_prev_params(const mg_trainer *t);

/* The training graph (to list it, or count its rewrites). */
mg_graph *mg_trainer_graph(mg_trainer *t);

int64_t mg_trainer_steps_done(const mg_trainer *t);
/* The cross-entropy (without the penalty) of the batch the last update's
 * gradient was taken of: the loss at the parameters before that update
 * (full batch: the training set's). NaN before the first update. */
double mg_trainer_last_loss(const mg_trainer *t);
mg_params *mg_trainer_params(mg_trainer *t);
mg_optim *mg_trainer_optim(mg_trainer *t);
const mg_task *mg_trainer_task(const mg_trainer *t);
/* The modular split of a modular task (NULL for any other task). */
const mg_dataset *mg_trainer_dataset(const mg_trainer *t);
const mg_train_cfg *mg_trainer_cfg(const mg_trainer *t);

/* Sets the step counter (after loading a checkpoint). */
void mg_trainer_set_steps_done(mg_trainer *t, int64_t steps);

#endif
