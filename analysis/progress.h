/* progress.h — the progress measures of the grokking literature, over the
 * logits of all P² inputs (a, b) of a + b mod P: the restricted loss, the
 * excluded loss and the logit periodicity (after Nanda et al.'s study of the
 * one-layer transformer; the TransformerLens grokking demo computes the same).
 *
 * The logits are a cube L[a, b, c]: logits[(a * p + b) * p + c] for the
 * class c of input (a, b). Write s = a + b mod p and w_k = 2πk/p. For each
 * class c, the functions cos(w_k s) and sin(w_k s) of (a, b), k = 1..(p−1)/2,
 * and the constant are orthogonal over the P² inputs; proj_K L_c is L_c's
 * projection onto the cos/sin pairs of the frequencies in K.
 *
 *   restricted logits  R_c = mean_{a,b} L_c + proj_K L_c   (the part of the
 *                       logits the key frequencies of a + b explain);
 *   excluded logits    X_c = L_c − proj_K L_c               (those directions
 *                       removed, everything else kept);
 *   restricted loss    = mean cross-entropy of R over all P² inputs;
 *   excluded loss      = mean cross-entropy of X over the given rows (the
 *                       training split: it rises when the model's fit of the
 *                       training set rests on the key frequencies);
 *   logit periodicity  = the share of the cube's variance (about its mean)
 *                       explained by the functions cos(w_k (a + b − c)) of
 *                       (a, b, c) over k in K (cosines only, the form of the
 *                       ideal logits Σ_k cos(w_k (a + b − c)); orthogonal over
 *                       the cube, each with squared norm P³ / 2).
 *
 * The key set K is the caller's: each measure states which rule picked it
 * (the published sources use three different rules and no threshold).
 * Labels are the class of each input (P² ints in 0..p−1). Sums in double.
 * Pure functions: no graph, no printing. */
#ifndef MG_PROGRESS_H
#define MG_PROGRESS_H

#include <stdint.h>

#include "core/error.h"

mg_status mg_progress_restricted_loss(const float *logits, int p, const int *labels,
                                      const int *keys, int n_keys, double *loss);

/* rows: indices a * p + b of the inputs to average over (n_rows >= 1). */
mg_status mg_progress_excluded_loss(const float *logits, int p, const int *labels,
                                    const int64_t *rows, int64_t n_rows, const int *keys,
                                    int n_keys, double *loss);

/* 0 for a constant cube. */
mg_status mg_progress_periodicity(const float *logits, int p, const int *keys, int n_keys,
                                  double *share);

#endif
