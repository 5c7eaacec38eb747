/* grads.h — the gradient files of --save-grads (grads.c; the steps'
 * grammar is run.h's mg_run_save_grads_canon). */
#ifndef MG_GRADS_H
#define MG_GRADS_H

#include "models/harness/run.h"
#include "models/harness/train.h"

/* After the probed update of step `step` (its parameters are the trainer's
 * prev params): writes dir/grads/step_NNNNNN.safetensors with the
 * parameters of the step ("param.NAME"), the gradient taken there
 * ("grad.NAME", of the objective) and the update the optimizer made
 * ("update.NAME" = after − before), and the step in its metadata. */
mg_status mg_grads_save(mg_trainer *t, const char *dir, int64_t step);

/* Rewrites dir/grads/locking.csv (geometry.csv's columns) with the locking
 * rows (study.h's mg_study_locking) recomputed from every gradient file, in
 * step order; nothing when dir has no grads/. Leaves the trainer at the
 * last file's parameters. */
mg_status mg_grads_recompute(mg_trainer *t, const char *dir);

#endif
