/* manifold.h — the execution-manifold study's records of a run
 * (SCIENCE.md, "Trajectories"): the parameter trajectory, the SGD
 * commutator, the attention at the last query, and at the end the
 * trajectory's PCA beside its random-walk null and the top-k ablation.
 *
 * During training (manifold.c), from the run loop:
 *   - every --snapshot-every steps: the parameters into
 *     trajectory/step_NNNNNN.safetensors (checksummed like checkpoints, the
 *     parameters under their own names, readable from numpy);
 *   - at every evaluation of a task with held-out groups (the markers' m):
 *     each group's loss and accuracy into groups.csv;
 *   - at every evaluation of a model with attention layers (model.h's attn):
 *     the entropy and top-k mass of the last query's weights per held-out
 *     group, layer and head into attention.csv (from the evaluation's own
 *     forward pass: no extra pass);
 *   - every --commutator-every steps: the plain-SGD commutator of 9 pairs of
 *     batches (train.h's mg_trainer_commutator_*), the median-D pair's D,
 *     |delta|, cos(g_A, g_B), and its share in the execution basis and in
 *     random bases into commutator.csv. The basis is the top-3 principal
 *     directions of each attention block (model.h's attn_blocks) of the
 *     trajectory so far, rebuilt every --basis-every steps once 5 snapshots
 *     exist (read back from trajectory/, so a resumed run builds the same).
 * At the end (manifold_finish.c; also `modgrad analyze`): trajectory.csv,
 * explained.csv, ablation.csv and summary.json's "manifold". */
#ifndef MG_MANIFOLD_H
#define MG_MANIFOLD_H

#include "models/harness/run.h"
#include "models/harness/train.h"

/* The study's parameters (SCIENCE.md). */
#define MG_COMMUTATOR_ETA 1e-3
#define MG_COMMUTATOR_DRAWS 9
#define MG_BASIS_PCS 3
#define MG_BASIS_MIN_SNAPSHOTS 5
#define MG_RAND_BASES 10
#define MG_NULL_DRAWS 5

typedef struct mg_manifold mg_manifold;

/* Opens the recorder of a run in dir (appending to its series on resume).
 * *out is NULL when nothing is recorded: no snapshots, no commutator and no
 * attention layers. */
mg_status mg_manifold_open(mg_trainer *t, const char *dir, const mg_run_opts *o, mg_manifold **out);
/* After the evaluation at step s (mg_trainer_eval_test): attention rows. */
mg_status mg_manifold_after_eval(mg_manifold *m, int64_t s);
/* Before the update of step s (last: s is the run's last step, which has
 * no update): the snapshot (always at the last step) and the commutator
 * when due. */
mg_status mg_manifold_before_step(mg_manifold *m, int64_t s, bool last);
/* Wall seconds mg_manifold_before_step has spent (the snapshots and the
 * commutator measurements: what --snapshot-every and --commutator-every add
 * to a run's loop); 0 for NULL. */
double mg_manifold_busy_s(const mg_manifold *m);
mg_status mg_manifold_flush(mg_manifold *m);
mg_status mg_manifold_close(mg_manifold *m); /* NULL is fine */

/* The bytes the trajectory of a run of `steps` steps will take on disk. */
int64_t mg_manifold_trajectory_bytes(const mg_trainer *t, const mg_run_opts *o, int64_t steps);

/* The attention blocks of the model: parameter indices (at most max). */
int mg_manifold_blocks(mg_trainer *t, int *idx, int max);

/* The snapshots in dir's trajectory/ with step <= last (all: INT64_MAX), in
 * step order: *w is n x total floats (mg_free it), steps[i] their steps
 * (mg_free it). No trajectory: n = 0 and both NULL. */
mg_status mg_manifold_load(mg_trainer *t, const char *dir, int64_t last, float **w, int64_t **steps,
                           int *n);

/* The end of a run (and `modgrad analyze`): the analyses above into dir's
 * files and summary.json. Nothing when the run has no trajectory and no
 * attention layers. Leaves the trainer's parameters as they were. */
mg_status mg_manifold_finish(mg_trainer *t, const char *dir);

/* summary.json's figures of the series commutator.csv and attention.csv
 * (manifold_series.c), into the object mf. */
typedef struct cJSON cJSON;
mg_status mg_manifold_series_summary(const char *dir, cJSON *mf);

#endif
