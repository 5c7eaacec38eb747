/* probes.h — per-layer probes of a training step (analysis/README.md, "Per-layer
 * probes"). A layer is the set of parameters whose names share the prefix
 * before the first dot; every norm below is the Frobenius norm over all of
 * the layer's parameters together, accumulated in double.
 *
 * For the probe row of step s (parameters theta_s, the update s -> s+1):
 *   grad_norm     = ||grad_l L(theta_s)||
 *   rel_grad_norm = grad_norm / ||W_l(theta_s)||
 *   update_ratio  = ||W_l(theta_{s+1}) - W_l(theta_s)|| / ||W_l(theta_s)||
 *   weight_norm   = ||W_l(theta_s)||
 *   displacement  = ||W_l(theta_s) - W_l(theta_0)|| / ||W_l(theta_0)|| */
#ifndef MG_PROBES_H
#define MG_PROBES_H

#include "core/params.h"

/* The probe values, in the order of probes.csv's columns after step and
 * layer (models/harness/rundir.h): one line adds a field here and a column
 * there; mg_probes_compute (probes.c) computes it. */
#define MG_PROBES_VALUES(X)                                                                        \
    X(grad_norm) X(rel_grad_norm) X(update_ratio) X(weight_norm) X(displacement)

#define MG_PROBES_FIELD(n) double n;
typedef struct {
    MG_PROBES_VALUES(MG_PROBES_FIELD)
} mg_probes_layer;

/* Fills out[l] for every layer l of p (mg_params_layer_count entries) from
 * the parameters w (theta_s), their gradient, the parameters after the
 * update (next; NULL: update_ratio is NaN) and at step 0 (init; NULL:
 * displacement is NaN). All buffers have the store's layout. */
void mg_probes_compute(const mg_params *p, const float *w, const float *grad, const float *next,
                       const float *init, mg_probes_layer *out);

/* sum over layers of ||W_l||^2: the weight-decay penalty, the "structural
 * energy" of the two-clocks theory. */
double mg_probes_structural_energy(const mg_params *p, const float *w);

#endif
