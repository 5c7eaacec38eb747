/* penalty.h — an explicit penalty on chosen layers' weight matrices, added to
 * the training objective (--penalty, --penalty-layers, --penalty-lambda):
 *
 *   objective = cross-entropy + lambda * sum over the 2-D parameters W of the
 *               named layers of pen(W),
 *   pen(W)    = ||W||_F^2 (l2: a coupled decay, in the gradient of the loss,
 *               unlike AdamW's decoupled --wd) or ||W||_{S_q}^q = sum_i
 *               sigma_i^q (schatten:q=Q, ops/schatten.c; q = 1 the nuclear
 *               norm, the theory's penalty on the classifier).
 *
 * Only the training graph carries it: train_loss and test_loss stay the
 * cross-entropy. With the form none or lambda 0 the graph is exactly the one
 * without a penalty (not a penalty times 0). */
#ifndef MG_PENALTY_H
#define MG_PENALTY_H

#include <stddef.h>

#include "core/graph.h"
#include "models/model.h"

#define MG_PENALTY_DEFAULT "none"
#define MG_PENALTY_LAYERS_DEFAULT "classifier"

typedef enum { MG_PENALTY_NONE = 0, MG_PENALTY_L2, MG_PENALTY_SCHATTEN } mg_penalty_kind;

typedef struct {
    mg_penalty_kind kind;
    double q; /* MG_PENALTY_SCHATTEN: > 0 */
} mg_penalty_form;

/* Parses a form: "none" (or ""), "l2", "schatten:q=Q" with Q a finite number
 * > 0. On anything else MG_ERR_ARG with a message starting with label (the
 * flag, or the config field) and naming the forms. */
mg_status mg_penalty_parse(const char *text, const char *label, mg_penalty_form *out);

/* The settings table's checks of a value (settings.h, mg_setting.canon):
 * a form, written back in its canonical text ("schatten:q=1" for
 * "schatten:q=1.0"), so resume compares forms, not spellings; a layer
 * list: comma-separated names, none empty or given twice. */
mg_status mg_penalty_canon_form(const char *value, char *out, size_t n, const char *label);
mg_status mg_penalty_canon_layers(const char *value, char *out, size_t n, const char *label);

/* The training objective on g (a built model whose parameters are declared):
 * loss + lambda * the penalty over the 2-D parameters of the layers named
 * in `layers`. A name is a layer (the part of a parameter's name before the
 * first dot); "classifier", when the model has no layer of that name, is the
 * layer of the model's class vectors (m->classifier: the transformer's
 * unembed). A name with no 2-D parameter is refused (MG_ERR_ARG, naming
 * --penalty-layers and the layers that have one). With the form none or
 * lambda 0, *objective is loss and g is unchanged (the layers are checked
 * whenever the form is not none). */
mg_status mg_penalty_objective(mg_graph *g, const mg_model_def *m, const char *form,
                               const char *layers, float lambda, mg_tensor *loss,
                               mg_tensor **objective);

#endif
