/* sae_study.h — `modgrad sae`: the TopK sparse autoencoder (models/sae.h)
 * trained on a run's residual stream at value-token positions, at one of its
 * checkpoints (SCIENCE.md, "Sparse autoencoder").
 *
 * The vectors: the residual stream after block --layer (default the middle
 * one, (L - 1) / 2: after the last block only the last position reaches
 * the head, so an ablation at the value positions there acts on nothing
 * unless a value sits at the last position; measured so once)
 * at every position the task's "value" mask marks, of rows the task's
 * generator draws from seeds of their own: --pool-rows of them for the
 * training vectors (sampled in batches of --batch with replacement) and as
 * many again for the evaluation vectors; and of the task's held-out probe
 * rows (for the ablations). Rows come 256 at a time, each 256 sharing their
 * m and marker positions as a training batch does. On the evaluation
 * vectors: the reconstruction's MSE and the fraction of variance
 * explained; each latent's variance, its share of active rows, and its
 * Pearson correlation with m (the number of markers of the row) and with
 * the value's position; the latents whose |correlation| >= --corr-min (a
 * threshold of ours: the paper publishes none). Then the held-out accuracy
 * three ways: as trained; with the --ablate highest-variance latents'
 * decoded contribution removed from the stream at the value positions
 * (x - sum_j z_j W_dec[j]); and with the SAE's reconstruction in place of
 * the stream there (x_hat), which says how much of the computation the
 * SAE carries at all.
 *
 * Written into RUN/sae/step_NNNNNN/: sae.safetensors (its parameters),
 * latents.csv and summary.json. Nothing else of the run is touched. */
#ifndef MG_SAE_STUDY_H
#define MG_SAE_STUDY_H

#include <stdint.h>

#include "core/error.h"
#include "models/task.h"

typedef struct {
    int64_t checkpoint; /* the checkpoint's step (-1: the last) */
    int layer;          /* the block whose output is read (-1: the middle one, (L - 1) / 2) */
    int d_sae, k;       /* 256, 16 */
    int64_t steps, batch, pool_rows;
    double lr, l2, corr_min;
    int ablate;
    uint64_t seed;
} mg_sae_cfg;

/* The study's setting: d_sae 256, k 16, 4,000 steps of batch 512, AdamW lr
 * 3e-4 (betas 0.9, 0.999, no weight decay), l2 1e-6, 4,096 pool rows,
 * ablate 12, corr_min 0.5, seed 0. */
void mg_sae_defaults(mg_sae_cfg *c);

#define MG_SAE_MAX_ABLATE 64

typedef struct {
    int64_t checkpoint;
    int layer, d;
    int64_t train_vectors, eval_vectors, probe_vectors;
    double mse, fve, final_loss;
    int dead, n_corr_m, n_corr_pos;
    double max_corr_m, max_corr_pos; /* largest |correlation| of a latent */
    int n_groups;
    double acc[3];                           /* all held-out rows: trained, ablated, spliced */
    double acc_group[3][MG_TASK_MAX_GROUPS]; /* per held-out group */
    const char *group_names[MG_TASK_MAX_GROUPS];
    int n_ablated, ablated[MG_SAE_MAX_ABLATE];
    char out[4096]; /* the directory written */
} mg_sae_report;

/* Runs the above on the run in dir (a generated task with a "value" mask,
 * a model with a residual stream). Bad settings or an unsuitable run:
 * MG_ERR_ARG before anything is written. */
mg_status mg_sae_study_run(const char *dir, const mg_sae_cfg *cfg, mg_sae_report *rep);

#endif
