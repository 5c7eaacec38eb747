/* train_impl.h — the trainer's insides, shared by train.c (the graphs, the
 * step, the evaluations) and train_measure.c (the measurements that run
 * extra passes: the SGD commutator's gradients, the attention patterns, the
 * top-k ablation) and resid.c (the residual stream). Nothing else includes
 * it. */
#ifndef MG_TRAIN_IMPL_H
#define MG_TRAIN_IMPL_H

#include "models/harness/train.h"
#include "models/task.h"

/* A model instantiated on n rows: its graph, inputs and outputs. */
typedef struct {
    mg_graph *g;
    mg_tensor *a, *b, *tokens, *y; /* inputs (a and b, or tokens: what the model reads) */
    mg_tensor *logits, *loss;      /* loss: the cross-entropy (what is logged) */
    mg_tensor *objective;          /* what training minimises: loss + the penalty (or loss) */
    mg_model_out out;
    int64_t n;
} mg_instance;

struct mg_trainer {
    mg_train_cfg cfg;
    mg_task *task;
    mg_params *params;
    mg_optim *optim;
    mg_instance train; /* the batch (full batch: the training set) */
    mg_instance test;
    mg_instance full; /* the training set, for minibatch runs of a fixed split only */
    bool train_fresh; /* train's forward is at the current parameters */
    int64_t steps;
    mg_rows batch; /* a generated task's rows of step batch_step (-1: none yet) */
    int64_t batch_step;
    int32_t *perm;    /* minibatch scratch (fixed split: n_train) */
    int32_t *pred;    /* predicted classes of the rows of train_set() */
    float *init;      /* parameters at step 0 */
    float *prev;      /* parameters before a probed update */
    double last_loss; /* the loss of the last update's forward pass (NaN: none yet) */
    /* the gate-flip probe (full batch on a fixed split only): the gates'
     * states before the probed update, and the share that flipped in it */
    uint8_t *gate_bits[MG_MODEL_MAX_GATES];
    double gate_flips[MG_MODEL_MAX_GATES];
    /* train_measure.c: the commutator's gradient graph (built on first use)
     * and the rows it reads; the parameters it restores afterwards */
    mg_instance grad;
    mg_rows grad_rows;
    float *saved;
};

/* What a graph of the model is for: the training step (its objective with
 * the penalty, backward, the gates kept); an evaluation (forward only, the
 * attention patterns kept); the gradient of the plain loss (backward, no
 * penalty: the commutator's); an evaluation that keeps the residual stream
 * (the sparse autoencoder's; with patch_at, model.h's intervention). */
typedef enum { MG_INST_EVAL, MG_INST_TRAIN, MG_INST_GRAD, MG_INST_RESID } mg_inst_mode;

/* Builds the model on n rows with options opt (NULL: the run's) and
 * model.h's patch_at (0: none). */
mg_status mg_trainer_instantiate(mg_trainer *t, mg_instance *in, int64_t n, mg_inst_mode mode,
                                 const double *opt, int patch_at);
/* Writes rows idx[0..in->n) (or 0..in->n if idx is NULL) of src into in's
 * inputs. */
void mg_trainer_fill(const mg_task *task, mg_instance *in, const mg_rows *src, const int32_t *idx);
mg_status mg_trainer_forward(mg_instance *in);
/* The instance whose rows stand for the training set: the whole fixed
 * training set (full, for minibatch runs), else the training graph's. */
mg_instance *mg_trainer_train_set(mg_trainer *t);
/* Rows of in's last forward whose argmax is the label (argmaxes to pred). */
int64_t mg_trainer_count_right(const mg_instance *in, int32_t *pred);

/* The mean cross-entropy (from the logits, in double) and the accuracy of
 * rows [lo, hi) of in's last forward. */
mg_eval mg_trainer_eval_rows(const mg_instance *in, int64_t lo, int64_t hi);

#endif
