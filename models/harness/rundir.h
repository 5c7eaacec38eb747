/* rundir.h — a run directory's layout, declared once: the names of its
 * files and folders, and the columns of each CSV it holds. Every reader and
 * writer (run.c, runcfg.c, study.c, the CLI's analyze, compare and plot)
 * takes the names from here.
 *
 *   config.json    every resolved setting (settings.h), the version, BLIS's
 *                  kernels and the data split's XXH3-64
 *   metrics.csv    MG_METRICS_COLUMNS          (one row per evaluation)
 *   loss.csv       MG_LOSS_COLUMNS             (one row per update: the loss
 *                                              the update's gradient was taken of)
 *   probes.csv     MG_PROBES_COLUMNS           (long: one row per layer and probe)
 *   geometry.csv   MG_GEOMETRY_COLUMNS         (long: one row per layer and metric)
 *   fourier.csv    MG_FOURIER_COLUMNS          (long: the Fourier energies of the
 *                                              embedding and the classifier at each
 *                                              geometry step; k = 0 the constant)
 *   spectrum.csv   MG_SPECTRUM_COLUMNS         (the final Fourier energies)
 *   circle.csv     MG_CIRCLE_COLUMNS           (the final circle coordinates)
 *   summary.json   clocks, leads, geometry, fingerprint, status
 *   checkpoints/   step_NNNNNN.safetensors
 *   grads/         step_NNNNNN.safetensors (--save-grads) and locking.csv
 *   trajectory/    step_NNNNNN.safetensors: the parameters every
 *                  --snapshot-every steps (the execution-manifold study)
 *   groups.csv     MG_GROUPS_COLUMNS           (per evaluation, each held-out group
 *                                              of a generated task: e.g. per m markers)
 *   attention.csv  MG_ATTENTION_COLUMNS        (long: per evaluation, held-out
 *                                              group, attention layer and head)
 *   commutator.csv MG_COMMUTATOR_COLUMNS       (one row per --commutator-every)
 *   trajectory.csv MG_TRAJECTORY_COLUMNS       (the trajectory's PCA per block and
 *                                              whole, beside its random-walk null)
 *   explained.csv  MG_EXPLAINED_COLUMNS        (explained variance per component)
 *   ablation.csv   MG_ABLATION_COLUMNS         (held-out accuracy with top-k attention)
 *   plots/         the pictures of `modgrad plot` (and plots/data/)
 *
 * Columns are X-macro lists, so that a column's name, its index
 * (MG_COLIDX_file_name) and the count (MG_file_NCOLS) come from one line:
 * MG_COL(metrics, test_acc) is the name "test_acc", checked at compile time.
 * The probe columns after step and layer are analysis/probes.h's
 * MG_PROBES_VALUES, the fields of mg_probes_layer: adding a probe value there
 * adds its column here. */
#ifndef MG_RUNDIR_H
#define MG_RUNDIR_H

#include "analysis/probes.h"

#define MG_RUN_CONFIG "config.json"
#define MG_RUN_METRICS "metrics.csv"
#define MG_RUN_LOSS "loss.csv"
#define MG_RUN_FOURIER "fourier.csv"
#define MG_RUN_PROBES "probes.csv"
#define MG_RUN_GEOMETRY "geometry.csv"
#define MG_RUN_SPECTRUM "spectrum.csv"
#define MG_RUN_CIRCLE "circle.csv"
#define MG_RUN_SUMMARY "summary.json"
#define MG_RUN_CHECKPOINTS "checkpoints"
#define MG_RUN_PLOTS "plots"
/* --save-grads: one file per chosen step, and what analyze recomputes */
#define MG_RUN_GRADS "grads"
#define MG_RUN_GRADS_FILE MG_RUN_GRADS "/step_%06lld.safetensors"
#define MG_RUN_GRADS_LOCKING MG_RUN_GRADS "/locking.csv"
/* A checkpoint's file name, and its path relative to the run (printf of the step). */
#define MG_RUN_CHECKPOINT_NAME "step_%06lld.safetensors"
#define MG_RUN_CHECKPOINT MG_RUN_CHECKPOINTS "/" MG_RUN_CHECKPOINT_NAME
/* The execution-manifold study's files (models/harness/manifold.h) */
#define MG_RUN_TRAJECTORY "trajectory"
#define MG_RUN_TRAJECTORY_FILE MG_RUN_TRAJECTORY "/step_%06lld.safetensors"
#define MG_RUN_ATTENTION "attention.csv"
#define MG_RUN_GROUPS "groups.csv"
#define MG_RUN_COMMUTATOR "commutator.csv"
#define MG_RUN_TRAJ_CSV "trajectory.csv"
#define MG_RUN_EXPLAINED "explained.csv"
#define MG_RUN_ABLATION "ablation.csv"
/* modgrad sae's directory of a checkpoint, and its files (sae_study.h) */
#define MG_RUN_SAE "sae"
#define MG_RUN_SAE_DIR MG_RUN_SAE "/step_%06lld"
#define MG_RUN_SAE_LATENTS "latents.csv"

/* The files a run's results are: removed when a run is replaced (--force). */
#define MG_RUN_RESULT_FILES(X)                                                                     \
    X(MG_RUN_CONFIG)                                                                               \
    X(MG_RUN_METRICS)                                                                              \
    X(MG_RUN_SUMMARY)                                                                              \
    X(MG_RUN_PROBES)                                                                               \
    X(MG_RUN_GEOMETRY)                                                                             \
    X(MG_RUN_SPECTRUM)                                                                             \
    X(MG_RUN_CIRCLE)                                                                               \
    X(MG_RUN_LOSS) X(MG_RUN_FOURIER) X(MG_RUN_ATTENTION) X(MG_RUN_COMMUTATOR) X(MG_RUN_TRAJ_CSV)   \
        X(MG_RUN_EXPLAINED) X(MG_RUN_ABLATION) X(MG_RUN_GROUPS)
/* The files `analyze` rewrites (and puts back when it fails). */
#define MG_RUN_ANALYZED_FILES(X)                                                                   \
    X(MG_RUN_SUMMARY)                                                                              \
    X(MG_RUN_GEOMETRY)                                                                             \
    X(MG_RUN_SPECTRUM)                                                                             \
    X(MG_RUN_CIRCLE) X(MG_RUN_FOURIER) X(MG_RUN_TRAJ_CSV) X(MG_RUN_EXPLAINED) X(MG_RUN_ABLATION)
/* The series files a resume truncates after its checkpoint. */
#define MG_RUN_SERIES_FILES(X)                                                                     \
    X(MG_RUN_METRICS)                                                                              \
    X(MG_RUN_PROBES)                                                                               \
    X(MG_RUN_GEOMETRY) X(MG_RUN_LOSS) X(MG_RUN_FOURIER) X(MG_RUN_ATTENTION) X(MG_RUN_COMMUTATOR)     \
    X(MG_RUN_GROUPS)

#define MG_METRICS_COLUMNS(X) X(step) X(wall_s) X(train_loss) X(train_acc) X(test_loss) X(test_acc)
#define MG_PROBES_COLUMNS(X) X(step) X(layer) MG_PROBES_VALUES(X)
#define MG_GEOMETRY_COLUMNS(X) X(step) X(layer) X(metric) X(value)
#define MG_LOSS_COLUMNS(X) X(step) X(train_loss)
#define MG_FOURIER_COLUMNS(X) X(step) X(layer) X(k) X(energy)
#define MG_SPECTRUM_COLUMNS(X) X(layer) X(k) X(energy)
#define MG_CIRCLE_COLUMNS(X) X(layer) X(residue) X(x) X(y)
#define MG_GROUPS_COLUMNS(X) X(step) X(group) X(test_loss) X(test_acc)
/* attention at the last query: entropy (nats) and the mass of the k largest weights */
#define MG_ATTENTION_COLUMNS(X)                                                                    \
    X(step)                                                                                        \
    X(group)                                                                                       \
    X(layer) X(head) X(entropy) X(mass_top1) X(mass_top2) X(mass_top4) X(mass_top8) X(mass_top16)
/* the median-D sample of the draws: its D, |delta|, cos(g_A, g_B), the shares of
 * delta in the execution basis and in random bases (full space, block-matched),
 * the perpendicular fraction both ways, and the basis (built at basis_step, dim) */
#define MG_COMMUTATOR_COLUMNS(X)                                                                   \
    X(step)                                                                                        \
    X(defect)                                                                                      \
    X(delta_norm)                                                                                  \
    X(cos_ab) X(rho_exec) X(rho_rand_full) X(rho_rand_block) X(perp_sqrt) X(perp_linear)           \
        X(basis_step) X(basis_dim)
#define MG_TRAJECTORY_COLUMNS(X)                                                                   \
    X(block)                                                                                       \
    X(snapshots)                                                                                   \
    X(dim)                                                                                         \
    X(r90) X(r95) X(erank) X(align_mid) X(null_r90) X(null_r95) X(null_erank) X(collapse_step)
#define MG_EXPLAINED_COLUMNS(X) X(block) X(k) X(share) X(null_share)
#define MG_ABLATION_COLUMNS(X) X(topk) X(group) X(test_loss) X(test_acc)
#define MG_LATENTS_COLUMNS(X) X(latent) X(variance) X(active) X(corr_m) X(corr_pos)

#define MG_X_IDX_metrics(n) MG_COLIDX_metrics_##n,
#define MG_X_IDX_probes(n) MG_COLIDX_probes_##n,
#define MG_X_IDX_geometry(n) MG_COLIDX_geometry_##n,
#define MG_X_IDX_loss(n) MG_COLIDX_loss_##n,
#define MG_X_IDX_fourier(n) MG_COLIDX_fourier_##n,
#define MG_X_IDX_spectrum(n) MG_COLIDX_spectrum_##n,
#define MG_X_IDX_circle(n) MG_COLIDX_circle_##n,
#define MG_X_IDX_groups(n) MG_COLIDX_groups_##n,
#define MG_X_IDX_attention(n) MG_COLIDX_attention_##n,
#define MG_X_IDX_commutator(n) MG_COLIDX_commutator_##n,
#define MG_X_IDX_trajectory(n) MG_COLIDX_trajectory_##n,
#define MG_X_IDX_explained(n) MG_COLIDX_explained_##n,
#define MG_X_IDX_ablation(n) MG_COLIDX_ablation_##n,
#define MG_X_IDX_latents(n) MG_COLIDX_latents_##n,
enum { MG_METRICS_COLUMNS(MG_X_IDX_metrics) MG_METRICS_NCOLS };
enum { MG_PROBES_COLUMNS(MG_X_IDX_probes) MG_PROBES_NCOLS };
enum { MG_GEOMETRY_COLUMNS(MG_X_IDX_geometry) MG_GEOMETRY_NCOLS };
enum { MG_LOSS_COLUMNS(MG_X_IDX_loss) MG_LOSS_NCOLS };
enum { MG_FOURIER_COLUMNS(MG_X_IDX_fourier) MG_FOURIER_NCOLS };
enum { MG_SPECTRUM_COLUMNS(MG_X_IDX_spectrum) MG_SPECTRUM_NCOLS };
enum { MG_CIRCLE_COLUMNS(MG_X_IDX_circle) MG_CIRCLE_NCOLS };
enum { MG_GROUPS_COLUMNS(MG_X_IDX_groups) MG_GROUPS_NCOLS };
enum { MG_ATTENTION_COLUMNS(MG_X_IDX_attention) MG_ATTENTION_NCOLS };
enum { MG_COMMUTATOR_COLUMNS(MG_X_IDX_commutator) MG_COMMUTATOR_NCOLS };
enum { MG_TRAJECTORY_COLUMNS(MG_X_IDX_trajectory) MG_TRAJECTORY_NCOLS };
enum { MG_EXPLAINED_COLUMNS(MG_X_IDX_explained) MG_EXPLAINED_NCOLS };
enum { MG_ABLATION_COLUMNS(MG_X_IDX_ablation) MG_ABLATION_NCOLS };
enum { MG_LATENTS_COLUMNS(MG_X_IDX_latents) MG_LATENTS_NCOLS };

/* Each file's column names, in order (rundir.c). */
extern const char *const mg_metrics_cols[MG_METRICS_NCOLS];
extern const char *const mg_probes_cols[MG_PROBES_NCOLS];
extern const char *const mg_geometry_cols[MG_GEOMETRY_NCOLS];
extern const char *const mg_loss_cols[MG_LOSS_NCOLS];
extern const char *const mg_fourier_cols[MG_FOURIER_NCOLS];
extern const char *const mg_spectrum_cols[MG_SPECTRUM_NCOLS];
extern const char *const mg_circle_cols[MG_CIRCLE_NCOLS];
extern const char *const mg_groups_cols[MG_GROUPS_NCOLS];
extern const char *const mg_attention_cols[MG_ATTENTION_NCOLS];
extern const char *const mg_commutator_cols[MG_COMMUTATOR_NCOLS];
extern const char *const mg_trajectory_cols[MG_TRAJECTORY_NCOLS];
extern const char *const mg_explained_cols[MG_EXPLAINED_NCOLS];
extern const char *const mg_ablation_cols[MG_ABLATION_NCOLS];
extern const char *const mg_latents_cols[MG_LATENTS_NCOLS];

/* The name of column `name` of `file` (metrics, probes, ...): a column that
 * is not declared above does not compile. */
#define MG_COL(file, name) (mg_##file##_cols[MG_COLIDX_##file##_##name])

/* Every probe value is a double field of mg_probes_layer, in column order. */
_Static_assert(sizeof(mg_probes_layer) == (MG_PROBES_NCOLS - 2) * sizeof(double),
               "probes.csv has one column per mg_probes_layer field, after step and layer");

#endif
