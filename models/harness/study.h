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
 *  - geometry_label: "cyclic" when the embedding's Fourier energy is
 *    concentrated (Gini of the frequency energies >= 0.4) and its points sit
 *    on an equal-angle circle (angle correlation >= 0.9) at the top
 *    frequency; otherwise "simplex-like" when the class means are within 0.1
 *    of a simplex ETF (nc2_etf <= 0.1); otherwise "neither". The numbers go
 *    into the summary beside the label. The Gini, not the key-set
 *    concentration, because noise puts every frequency within a factor 4 of
 *    the largest: the concentration of isotropic noise is 1 (test_fourier).
 *  - fourier_top2_share (energy of the two largest frequencies over all) is
 *    recorded beside the concentration, as the top-2 figure the
 *    literature quotes. */
#ifndef MG_STUDY_H
#define MG_STUDY_H

#include "core/csvout.h"
#include "models/harness/train.h"

#define MG_STUDY_LEAD_WINDOW 500 /* steps of cumulative update ratio */

/* Appends the geometry rows (step, layer, metric, value) of the trainer's
 * current parameters to w (geometry.csv). */
mg_status mg_study_geometry(mg_trainer *t, mg_csv_writer *w);

/* Writes spectrum.csv and circle.csv for the current parameters and adds
 * the analyses to dir/summary.json (which must exist). */
mg_status mg_study_finish(mg_trainer *t, const char *dir);

#endif
