/* hierarchy.h — the gradient hierarchy of the two-clocks theory (SCIENCE.md,
 * "Gradient hierarchy"): for f = U phi(W x + b) with x = B E (the rows of
 * the embedding E that the batch's operands select, B the selection), and
 * delta = dL/dlogits (n x K) of the mean cross-entropy,
 *   ||dL/dU||_F = ||H^T delta||_F <= ||H||_F ||delta||_F   (H the features)
 *   ||dL/dE||_F <= ||B||_2 ||W||_2 ||U||_2 ||delta||_F      (phi' in [0, 1])
 * with ||B||_2 = sqrt(max_t c(t)) for the operands' embeddings concatenated
 * (c(t): how often token t is an operand in the batch) and at most
 * sqrt(2 max_t c(t)) when they are summed. Everything in double. */
#ifndef MG_HIERARCHY_H
#define MG_HIERARCHY_H

#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"

/* ||W||_2 of a (rows x cols) matrix by strides, by `iters` power
 * iterations on W^T W from v (cols values, updated in place: pass the last
 * call's v to warm-start; a zero v starts from a fixed vector). *resid (if
 * not NULL) gets the last iteration's ||W^T W v - s^2 v|| / s^2 (||v|| = 1):
 * the estimate's error is of the order of its square. */
double mg_spectral_norm_power(const float *w, int rows, int cols, int64_t rs, int64_t cs, double *v,
                              int iters, double *resid);

/* ||delta||_F for the mean cross-entropy of n rows of logits z (n x K) and
 * labels y: delta_i = (softmax(z_i) - e_{y_i}) / n. */
double mg_ce_delta_norm(const float *z, const int32_t *y, int64_t n, int K);

/* ||B||_2 of the operands' selection: a and b (n each) in 0..p-1; summed:
 * the embeddings are added (the bound above), else concatenated (exact). */
double mg_selection_norm(const int32_t *a, const int32_t *b, int64_t n, int p, bool summed);

#endif
