/* rundir.c — the column names of a run directory's CSVs (rundir.h). */
#include "models/harness/rundir.h"

#define MG_X_NAME(n) #n,
const char *const mg_metrics_cols[MG_METRICS_NCOLS] = {MG_METRICS_COLUMNS(MG_X_NAME)};
const char *const mg_probes_cols[MG_PROBES_NCOLS] = {MG_PROBES_COLUMNS(MG_X_NAME)};
const char *const mg_geometry_cols[MG_GEOMETRY_NCOLS] = {MG_GEOMETRY_COLUMNS(MG_X_NAME)};
const char *const mg_loss_cols[MG_LOSS_NCOLS] = {MG_LOSS_COLUMNS(MG_X_NAME)};
const char *const mg_fourier_cols[MG_FOURIER_NCOLS] = {MG_FOURIER_COLUMNS(MG_X_NAME)};
const char *const mg_spectrum_cols[MG_SPECTRUM_NCOLS] = {MG_SPECTRUM_COLUMNS(MG_X_NAME)};
const char *const mg_circle_cols[MG_CIRCLE_NCOLS] = {MG_CIRCLE_COLUMNS(MG_X_NAME)};
const char *const mg_attention_cols[MG_ATTENTION_NCOLS] = {MG_ATTENTION_COLUMNS(MG_X_NAME)};
const char *const mg_commutator_cols[MG_COMMUTATOR_NCOLS] = {MG_COMMUTATOR_COLUMNS(MG_X_NAME)};
const char *const mg_trajectory_cols[MG_TRAJECTORY_NCOLS] = {MG_TRAJECTORY_COLUMNS(MG_X_NAME)};
const char *const mg_explained_cols[MG_EXPLAINED_NCOLS] = {MG_EXPLAINED_COLUMNS(MG_X_NAME)};
const char *const mg_ablation_cols[MG_ABLATION_NCOLS] = {MG_ABLATION_COLUMNS(MG_X_NAME)};
const char *const mg_groups_cols[MG_GROUPS_NCOLS] = {MG_GROUPS_COLUMNS(MG_X_NAME)};
const char *const mg_latents_cols[MG_LATENTS_NCOLS] = {MG_LATENTS_COLUMNS(MG_X_NAME)};
