/* locking.h — subspace locking (SCIENCE.md, "Subspace locking"): how much
 * of the embedding's gradient lies in the embedding-space image of the
 * classifier's top singular subspace, and how much of the embedding lies
 * outside it.
 *
 * The feature gradient of the cross-entropy lies in the row space of the
 * classifier U (classes x h), so an embedding's task gradient lies in the
 * pullback of that space through the first layer: for the MLP whose first
 * layer reads operand j through the block W1_j (h x d), the span of
 * W1_jᵀ v over the classifier's top-k right singular vectors v and the
 * blocks j (ReLU's gates are left out of the pullback: it is the span the
 * gradient would lie in were every gate open). P is the projector onto that
 * span in R^d.
 *
 *   locking share     = ||G P||_F / ||G||_F  for the embedding gradient G
 *                        (one row per token, d columns);
 *   random baseline   = sqrt(r / d) for a span of dimension r: the share a
 *                        random r-dimensional subspace gets in norm;
 *   orthogonal part   = ||E (I − P)||_F for the embedding E.
 *
 * Matrices are read with strides (element (i, j) at w[i * rs + j * cs]);
 * bases are column-major double d x r, orthonormal. Pure functions: no
 * graph, no printing. */
#ifndef MG_LOCKING_H
#define MG_LOCKING_H

#include <stdint.h>

#include "core/error.h"

/* An orthonormal basis of the span of B's k columns (B column-major d x k,
 * double): the left singular vectors with σ_i > σ_1 · max(d, k) · 1e-7 (the
 * rank for float32-derived input). *q (d x *rank, column-major) is
 * mg_malloc'd; a zero B gives *rank = 0 and *q = NULL. */
mg_status mg_locking_span(const double *b, int d, int k, double **q, int *rank);

/* The pullback basis: the top-k right singular vectors of the classifier U
 * (classes x h, strides urs, ucs), pushed through each of the n_blocks first
 * layer blocks W1_j (h x d, strides w1rs[j], w1cs[j]) as W1_jᵀ v, and made
 * orthonormal (mg_locking_span). k must be in 1..min(classes, h). */
mg_status mg_locking_pullback(const float *u, int classes, int h, int64_t urs, int64_t ucs, int k,
                              const float *const *w1, const int64_t *w1rs, const int64_t *w1cs,
                              int n_blocks, int d, double **q, int *rank);
/* The same for several k at once from one SVD of U: q[i] and rank[i] are
 * the basis for ks[i] (each in 1..min(classes, h)); on failure every q[i]
 * is NULL. */
mg_status mg_locking_pullbacks(const float *u, int classes, int h, int64_t urs, int64_t ucs,
                               const int *ks, int nk, const float *const *w1, const int64_t *w1rs,
                               const int64_t *w1cs, int n_blocks, int d, double **q, int *rank);

/* ||G Q||_F / ||G||_F for G (n x d, strides) and the basis q (d x r): the
 * share of G's norm inside the span. NaN for a zero G; 0 for r = 0. */
double mg_locking_share(const float *g, int n, int d, int64_t rs, int64_t cs, const double *q,
                        int r);

/* ||E (I − Q Qᵀ)||_F for E (n x d, strides): the part of E outside the span. */
double mg_locking_orthogonal(const float *e, int n, int d, int64_t rs, int64_t cs, const double *q,
                             int r);

/* sqrt(r / d): what a random r-dimensional subspace's share is, in norm. */
double mg_locking_random_share(int r, int d);

#endif
