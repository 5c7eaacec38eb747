/* study.h — the study's analyses of a training run (analysis/README.md): geometry
 * rows recorded during training, and at the end the final spectra and the
 * summary's clocks, onsets and leads. Pure analysis functions live in
 * analysis/; this file applies them to a trainer and a run directory.
 *
 * Choices the definitions leave open, made here:
 *  - the geometry of "embed" is that of the token vectors (rows 0..p-1 of the
 *    model's embedding role), of "classifier" that of the class vectors;
 *  - T_simplify: the structural energy (sum of ||W||^2) stays within 5% of its
 *    final value and the embedding's key-frequency concentration stays above
 *    90% of its final value;
 *  - geometry_label_shape: "cyclic" when the embedding's Fourier energy is
 *    concentrated (Gini of the frequency energies >= 0.4) and its points sit
 *    on an equal-angle circle (angle correlation >= 0.9) at the top
 *    frequency; otherwise "simplex-like" when the class means are within 0.1
 *    of a simplex ETF (nc2_etf <= 0.1); otherwise "neither". The numbers go
 *    into the summary beside the label.
 *  - geometry_label: the shape label of a model that fitted its training set
 *    (final train accuracy >= MG_STUDY_FITTED_ACC), "not fitted" otherwise:
 *    the weights of a model that fits nothing are no solution's shape (the
 *    first label, which called a deep linear net at 6.5% train accuracy
 *    "simplex-like", is geometry_label_shape). The lambda_crit report reads
 *    geometry_label.
 *  - the lead's onsets: the first sample covering half of a series' rise from
 *    its first value to its value at T_grok, so a run that goes on after
 *    grokking does not move them; a run that never grokked has none ("not
 *    reached"). The first definition, half of the rise to the run's last
 *    value, moved with where the run stopped (560 steps at 3,000 and 690 at
 *    5,000 on one trajectory); it is kept as lead.*_final.
 *  - the two clocks (study_clocks.c): ε over 1e-1 .. 1e-6 (default 1e-2,
 *    the T_fit_loss threshold), η over 0.5 .. 0.01 (default 0.1), a gap must
 *    stay closed for the rest of the run and at least MG_STUDY_WINDOW steps. The Gini, not the
 * key-set concentration, because noise puts every frequency within a factor 4 of the largest: the
 * concentration of isotropic noise is 1 (test_fourier).
 *  - fourier_top2_share (energy of the two largest frequencies over all) is
 *    recorded beside the concentration, as the top-2 figure the
 *    literature quotes. */
#ifndef MG_STUDY_H
#define MG_STUDY_H

#include "core/csvout.h"
#include "models/harness/train.h"

#define MG_STUDY_LEAD_WINDOW 500 /* steps of cumulative update ratio */
#define MG_STUDY_FITTED_ACC 0.99 /* final train accuracy of a fitted model */
#define MG_STUDY_EPS_DEFAULT 1e-2
#define MG_STUDY_ETA_DEFAULT 0.1
#define MG_STUDY_WINDOW 500        /* steps a representation gap must stay closed */
#define MG_STUDY_GATES_FROZEN 1e-3 /* flip rate per update at or below which gates are frozen */

/* The files the study appends to during training: geometry.csv and
 * fourier.csv (rundir.h), opened for appending in dir. */
/* The power iterations' vectors of the gradient hierarchy, kept from one
 * geometry step to the next (zero: none yet; mg_study_warm_free frees). */
typedef struct {
    double *v[2];
} mg_study_warm;
void mg_study_warm_free(mg_study_warm *warm);

typedef struct {
    mg_csv_writer *geometry, *fourier; /* fourier may be NULL: not written */
    mg_study_warm warm;                /* the gradient hierarchy's power iterations */
} mg_study_writers;
mg_status mg_study_writers_open(const char *dir, mg_study_writers *w);
mg_status mg_study_writers_flush(mg_study_writers *w);
mg_status mg_study_writers_close(mg_study_writers *w); /* either may be NULL */

/* Appends the geometry rows (step, layer, metric, value) of the trainer's
 * current parameters to w->geometry, and the Fourier energies of the
 * embedding and classifier (step, layer, k, energy) to w->fourier. A model
 * whose classifier is its embedding (tied) gets that matrix's rows once. */
mg_status mg_study_geometry(mg_trainer *t, const mg_study_writers *w);

/* After a probed step s: its gate-flip rows (step, gate layer, "gate_flips",
 * the share) in w (geometry.csv), for the gates the trainer measured. */
mg_status mg_study_gate_flips(const mg_trainer *t, mg_csv_writer *w, int64_t step);

/* The gradient hierarchy at the current step's gradient (from an inspect
 * hook, or after loading a gradient file and a forward pass of its batch):
 * its rows in w (study_hierarchy.c says which, and for which models). */
mg_status mg_study_hierarchy(mg_trainer *t, mg_csv_writer *w, mg_study_warm *warm);

/* The progress measures (restricted and excluded loss, logit periodicity)
 * at the current parameters, for a + b mod p (study_progress.c): rows of
 * layer "progress" in w. Runs a forward pass of the training and the test
 * rows. */
mg_status mg_study_progress(mg_trainer *t, mg_csv_writer *w);

/* Subspace locking at the current step (analysis/locking.h), from the
 * parameters and the gradient mg_params_grad holds (call it between the
 * backward pass and the update: mg_trainer_step_inspect): rows of layer
 * "lock" in w (geometry.csv), for the classifier's top-2 and top-2m right
 * singular subspaces (m = its key frequencies now, at least 1) pulled back
 * through the first layer's block of each operand: lock_share_* (the share
 * of the embedding gradient's norm inside), lock_random_* (a random
 * subspace's share of the same dimension), lock_orth_* (the embedding's
 * Frobenius norm outside) and lock_rank_* (the dimension). A model without
 * a first layer to pull back through (no embed_proj: the transformer), or
 * whose classifier is its embedding, writes none. */
mg_status mg_study_locking(mg_trainer *t, mg_csv_writer *w);

/* Writes spectrum.csv and circle.csv for the current parameters and adds
 * the analyses to dir/summary.json (which must exist). */
mg_status mg_study_finish(mg_trainer *t, const char *dir);

#endif
