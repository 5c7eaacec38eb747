/* trajectory.h — PCA of a parameter trajectory and its matched random-walk
 * null (SCIENCE.md, "Trajectories (the execution-manifold study)").
 *
 * The input is S snapshots of a parameter vector, row-major (row t at
 * w + t * row_stride, floats), and W_0 (a vector indexed like one row). The
 * coordinates studied are a region: a list of segments [offset, offset + len)
 * of the row (one attention block W_Q, W_K, W_V or W_O may be many segments
 * of a fused matrix), read in place, never copied whole. Write X_t = W_t − W_0
 * restricted to the region (dim coordinates, in segment order) and X_c the
 * snapshots centred across t.
 *
 *   Gram        G = X_c X_cᵀ (S x S, double), eigenvalues λ_1 ≥ … ≥ λ_S ≥ 0
 *               (LAPACKE_dsyevd; rounding's negatives clamped to 0). The
 *               cost is S² · dim, never dim².
 *   shares      λ_i / Σλ (the explained-variance profile), summing to 1;
 *   r90, r95    the smallest k with Σ_{i≤k} share_i ≥ 0.90 (0.95), compared
 *               with a slack of 1e-12 so that a share of exactly 0.9 counts;
 *   sv          σ_i = sqrt(λ_i), the singular values of X_c;
 *   entropy rank exp(H(p)), p = σ / Σσ (singular values, as SCIENCE.md says,
 *               not the variances λ), natural log, 0 log 0 = 0;
 *   alignment   cos(W_t − W_0, W_T − W_0) for every t (T the last snapshot),
 *               NaN where either norm is 0 (t = 0 when W_0 is the first
 *               snapshot);
 *   rank        the σ_i > σ_1 · S · FLT_EPSILON: the snapshots are floats,
 *               so a trajectory confined to k dimensions shows the other σ at
 *               ~1e-7 σ_1, not 1e-16;
 *   directions  the top principal directions in the region, v_i = X_cᵀ u_i /
 *               σ_i (u_i the Gram's eigenvectors), unit norm, at most rank of
 *               them; signed so that the coordinate u_i grows with t
 *               (Σ_t (t − (S−1)/2) u_i[t] > 0: the direction the trajectory
 *               moves along), or, where that sum is 0 (|.| ≤ 1e-12), so that
 *               u_i's largest-magnitude entry is positive;
 *   steps       ‖W_{t+1} − W_t‖ over the region, the profile the null copies.
 *
 * When every snapshot is equal (Σλ = 0) the shares, r90, r95, the entropy
 * rank and rank are all 0 and no direction exists.
 *
 * The null (mg_traj_null): a random walk with the same S, the same step
 * profile and the same dimension: Y_0 = 0, Y_{t+1} = Y_t + steps_t · z_t with
 * z_t = g_t / ‖g_t‖, g_t ~ N(0, I_dim) (isotropic Gaussian increments,
 * normalised so every step has exactly the real step's length), PCA'd the
 * same way. The increments are drawn in coordinate chunks and only their
 * Gram is kept (Y = L Z with L[t][s] = steps_s for s < t, so Y Yᵀ =
 * L Z Zᵀ Lᵀ), so memory is O(S²) whatever dim; time S² · dim per draw.
 *
 * Sums in double. Pure functions: no graph, no printing. */
#ifndef MG_TRAJECTORY_H
#define MG_TRAJECTORY_H

#include <stdint.h>

#include "core/error.h"

/* Coordinates [offset, offset + len) of a vector; len >= 1. */
typedef struct {
    int64_t offset, len;
} mg_traj_segment;

/* Checks a region: n_seg >= 1 segments, each non-empty and inside [0, n),
 * pairwise disjoint; *dim = their total length. fn names the caller in the
 * message. */
mg_status mg_traj_region_check(const mg_traj_segment *seg, int n_seg, int64_t n, const char *fn,
                               int64_t *dim);

typedef struct {
    int n_snap;          /* S */
    int64_t dim;         /* coordinates of the region (sum of the segment lengths) */
    double *share;       /* S values, descending */
    double *sv;          /* S singular values of X_c, descending */
    double total_var;    /* Σλ = ‖X_c‖_F² */
    int r90, r95, rank;  /* see above */
    double entropy_rank; /* exp(H(σ / Σσ)) */
    double *alignment;   /* S values */
    double *steps;       /* S − 1 values */
    int n_dir;           /* directions returned: min(asked, rank) */
    double *dir;         /* n_dir x dim, row-major, packed in segment order */
} mg_traj_pca;

/* PCA of the snapshots w (n_snap >= 2 rows, row t at w + t * row_stride)
 * over the region seg[0..n_seg) (NULL and 0: the whole row, [0,
 * row_stride)), each segment inside [0, row_stride), the segments disjoint.
 * w0: W_0 indexed like a row (it may be w itself: the first snapshot as the
 * origin), or NULL when the rows already are W_t − W_0. n_dir: how many
 * principal directions to return (0: none). Entries must be finite. On
 * success free *out with mg_traj_pca_free; on failure *out holds nothing
 * (freeing it is still safe). */
mg_status mg_traj_pca_compute(const float *w, int n_snap, int64_t row_stride, const float *w0,
                              const mg_traj_segment *seg, int n_seg, int n_dir, mg_traj_pca *out);

void mg_traj_pca_free(mg_traj_pca *p);

typedef struct {
    int n_snap, n_draws;
    int *r90, *r95;       /* per draw */
    double *entropy_rank; /* per draw */
    double *share;        /* S values: the mean over draws of each (sorted) share */
    double r90_mean, r95_mean, entropy_rank_mean;
} mg_traj_null;

/* The matched random walk above: n_snap >= 2 snapshots, steps[0..n_snap−1)
 * the step lengths (>= 0, finite; e.g. a mg_traj_pca's steps), dim >= 1,
 * n_draws >= 1 independent walks from one mg_rng seeded with seed. On
 * success free *out with mg_traj_null_free. */
mg_status mg_traj_null_compute(int n_snap, const double *steps, int64_t dim, uint64_t seed,
                               int n_draws, mg_traj_null *out);

void mg_traj_null_free(mg_traj_null *n);

/* The summary of an S x S Gram matrix G (row-major, symmetric; read only):
 * shares, σ, Σλ, r90, r95, rank and entropy rank as above, and, when u is
 * not NULL, its eigenvectors, column i (u[t * S + i]) for λ_i, signed as
 * the directions above. share, sv: S values each. The building block of both functions
 * above, public so a caller with a Gram of its own gets the same summary. */
mg_status mg_traj_gram_summary(const double *g, int s, double *share, double *sv, double *total_var,
                               int *r90, int *r95, int *rank, double *entropy_rank, double *u);

#endif
