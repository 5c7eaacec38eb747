/* optim.h — optimizers (SGD with momentum, Adam, AdamW) over a parameter store.
 *
 * An optimizer reads the store's gradient buffer and updates its data buffer
 * in place. Its state (the first moment m, or SGD's momentum buffer, and the
 * second moment v) is allocated once, in mg_optim_new, as contiguous buffers
 * with the same layout as the parameters, so a step is one flat loop per
 * parameter range and allocates nothing. Learning rate and weight decay can
 * be overridden per layer (the part of a parameter's name before the first
 * dot). The update formulas are PyTorch's (torch.optim.SGD / Adam / AdamW,
 * no dampening, no Nesterov, no amsgrad):
 *
 *   SGD:   g = grad + wd*w;  buf = momentum*buf + g (first step: buf = g);
 *          w -= lr*buf
 *   Adam:  g = grad + wd*w;  m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*g^2;
 *          w -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps),
 *          bc1 = 1 - b1^t, bc2 = 1 - b2^t, t = step number from 1
 *   AdamW: w *= 1 - lr*wd (decoupled), then Adam with g = grad.
 *
 * Per-element arithmetic is float32, in PyTorch's order of operations. The
 * bias corrections and the scalar factors (1 - beta, lr/bc1, sqrt(bc2),
 * 1 - lr*wd) are computed in double and rounded to float once per step and
 * layer, as PyTorch does with its Python-float scalars; they start from the
 * shortest decimal of each float setting (0.98f -> 0.98), the double a
 * Python user would have typed. */
#ifndef MG_OPTIM_H
#define MG_OPTIM_H

#include <stdint.h>

#include "core/error.h"
#include "core/params.h"

typedef enum { MG_OPT_SGD, MG_OPT_ADAM, MG_OPT_ADAMW } mg_opt_kind;

typedef struct {
    mg_opt_kind kind;
    float lr;
    float momentum;     /* SGD only */
    float beta1, beta2; /* Adam, AdamW */
    float eps;          /* Adam, AdamW */
    float weight_decay; /* coupled L2 for SGD and Adam, decoupled for AdamW */
} mg_opt_cfg;

/* Defaults: AdamW lr 1e-3, betas 0.9/0.98, eps 1e-8, wd 1.0; Adam the same
 * with wd 0; SGD lr 1e-2, momentum 0.9, wd 0. */
mg_opt_cfg mg_opt_defaults(mg_opt_kind kind);

/* Checks a configuration: every value finite, lr and wd >= 0, momentum in
 * [0, 1] (SGD), beta1 and beta2 in [0, 1) and eps >= 0 (Adam, AdamW). The
 * message names the setting as the CLI spells it (--beta1). mg_optim_new
 * runs the same check. */
mg_status mg_opt_cfg_check(const mg_opt_cfg *c);

/* "sgd", "adam", "adamw" <-> kind. Parsing an unknown name fails with a
 * message listing the allowed names. */
mg_status mg_opt_kind_parse(const char *name, mg_opt_kind *out);
const char *mg_opt_kind_name(mg_opt_kind kind); /* "unknown" if out of range */

typedef struct mg_optim mg_optim;

/* An optimizer over p (which must be allocated, mg_params_alloc, and must
 * outlive the optimizer). Every layer starts with cfg's lr and weight decay.
 * NULL (message set) on a bad setting or out of memory. */
mg_optim *mg_optim_new(mg_params *p, const mg_opt_cfg *cfg);
void mg_optim_free(mg_optim *o);

const mg_opt_cfg *mg_optim_cfg(const mg_optim *o);

/* Per-layer overrides by layer name; an unknown layer fails with a message
 * naming it and listing the known layers. lr and wd must be finite, >= 0. */
mg_status mg_optim_set_layer_lr(mg_optim *o, const char *layer, float lr);
mg_status mg_optim_set_layer_wd(mg_optim *o, const char *layer, float wd);
/* The settings in force for layer index `layer` (mg_params_layer_name);
 * NAN if the index is out of range. */
float mg_optim_layer_lr(const mg_optim *o, int layer);
float mg_optim_layer_wd(const mg_optim *o, int layer);

/* One update from the store's gradient buffer. No heap allocation. Returns
 * -1 when every weight is finite after the update, else the layer index
 * (mg_params_layer_name) of the first parameter holding a NaN or Inf: the
 * update has then been applied, so the caller must not keep these weights.
 * The check rides on the update's own loop (one OR of exponent bits). */
int mg_optim_step(mg_optim *o);

/* Checkpoint access. m and v hold mg_params_total() floats each, laid out as
 * the parameters. For SGD, m is the momentum buffer and v stays zero. The
 * step count is the number of steps taken (Adam's t of the last step). */
int64_t mg_optim_steps(const mg_optim *o);
void mg_optim_set_steps(mg_optim *o, int64_t steps);
float *mg_optim_m(mg_optim *o);
float *mg_optim_v(mg_optim *o);

#endif
