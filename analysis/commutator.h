/* commutator.h — the SGD commutator of two minibatches and how much of it
 * lies in the execution basis (SCIENCE.md, "Trajectories", the SGD
 * commutator).
 *
 * At θ (n floats), for minibatches A and B with gradients g_A, g_B and
 * plain SGD of step η (1e-3 in the study, whatever the training optimizer):
 *
 *   θ_AB = (θ − η g_A(θ)) − η g_B(θ − η g_A(θ)),   θ_BA likewise,
 *   δ    = θ_AB − θ_BA,
 *   D    = ‖δ‖ / (‖η g_A(θ)‖ ‖η g_B(θ)‖)   (the normalised defect),
 *   cos(g_A(θ), g_B(θ)).
 *
 * The intermediate points θ_A = θ − η g_A(θ), θ_B = θ − η g_B(θ) are formed
 * in float, as an SGD step would be. δ itself is not the float difference
 * of the two end points: those carry a rounding of a few ulps of θ each
 * (‖θ‖ ≈ 30 gives ~1e-5), while δ is of order η² ‖H‖ ‖g‖² (η = 1e-3:
 * ~1e-6), so the difference of float end points measures mostly rounding
 * (measured: ‖δ‖ ≈ 2e-6 on a small attn_stack, the rounding floor). In
 * exact arithmetic θ_AB − θ_BA = η [(g_A(θ_B) − g_A(θ)) − (g_B(θ_A) −
 * g_B(θ))], which has no θ in it; δ is summed that way, per coordinate in
 * double, and every norm and dot product is summed in double. For linear
 * gradient fields g_A = Aθ, g_B = Bθ, δ = η² (BA − AB) θ. Four gradient
 * evaluations: g_A(θ), g_B(θ), g_B(θ_A), g_A(θ_B).
 *
 * Execution basis: k directions, direction j given by its values on a region
 * (segments [offset, offset + len) of the full vector, packed in segment
 * order; zero elsewhere). Directions whose regions share coordinates form a
 * group; groups have disjoint supports, so they are orthogonal already, and
 * each is orthonormalised on its own support by modified Gram–Schmidt run
 * twice ("twice is enough"), in the order given; a direction whose residual
 * after both passes is ≤ 1e-6 of its own norm (or which is zero) is
 * numerically dependent on those before it and is dropped. For the study
 * (3 PCs per block, blocks disjoint) a group is one block, so the cost is
 * 2 · 3² · block size per block, never k² · n.
 *
 *   ρ = ‖B Bᵀ δ‖ / ‖δ‖ (NaN when δ = 0), clamped to [0, 1];
 *   perpendicular fraction ‖δ_⊥‖ / ‖δ‖ = sqrt(1 − ρ²), and the paper's 1 − ρ.
 *
 * Random baselines, averaged over R draws (10 in the study):
 *   block-matched: for every kept direction of the execution basis a Gaussian
 *     vector on that direction's own region, orthonormalised the same way
 *     (same groups, same count per block, zero off the blocks);
 *   full space: a Haar-random orthonormal basis of R^n of the same size k.
 * Neither is built where its law is known: for any fixed δ, ‖P δ‖² / ‖δ‖²
 * over a uniformly random k-dimensional subspace of R^m has the law of
 * Σ_{i<k} g_i² / Σ_{i<m} g_i², g ~ N(0, I_m) (rotation invariance: rotate δ
 * instead of the subspace), a Beta(k/2, (m − k)/2), drawn as X / (X + Y) from
 * two gamma draws (Marsaglia–Tsang). So the full space's ρ² is one such draw
 * (m = n; E ρ² = k/n, ρ ≈ sqrt(k/n)), and a block-matched group whose every
 * direction lives on the whole group (the study's: a block's three PCs; the
 * Gaussian vectors then span a Haar-random k_g-subspace of the block)
 * contributes ‖δ_g‖² times an independent draw with m = the block's size.
 * Only groups of directions whose regions merely overlap are built and
 * projected. Building costs 2 k² m per draw plus m normals per direction;
 * a draw by law costs O(1): the study's 60 directions over 20 blocks of
 * 16,384 took 0.42 s per measurement of 10 draws built, and take
 * microseconds by law.
 *
 * Pure functions: no graph, no printing. */
#ifndef MG_COMMUTATOR_H
#define MG_COMMUTATOR_H

#include <stdint.h>

#include "analysis/trajectory.h"
#include "core/error.h"
#include "core/rng.h"

/* The gradient of minibatch `batch` (0 = A, 1 = B) at theta (n floats) into
 * g (n floats). It must not write theta; a non-MG_OK return (with its
 * mg_fail message) stops the measurement and is passed on. */
typedef mg_status (*mg_commutator_grad_fn)(void *ctx, int batch, const float *theta, float *g);

/* Scratch for one measurement: four vectors of n floats, allocated once by
 * mg_commutator_ws_init, so repeated measurements allocate nothing. */
typedef struct {
    int64_t n;
    float *ga, *gb, *th, *g2;
} mg_commutator_ws;

mg_status mg_commutator_ws_init(mg_commutator_ws *ws, int64_t n);
void mg_commutator_ws_free(mg_commutator_ws *ws);

typedef struct {
    double delta_norm; /* ‖δ‖ */
    double defect;     /* D (NaN when either step is 0) */
    double cos_ab;     /* cos(g_A(θ), g_B(θ)) (NaN when either is 0) */
    double step_a;     /* ‖η g_A(θ)‖ */
    double step_b;     /* ‖η g_B(θ)‖ */
} mg_commutator_result;

/* One measurement at theta (ws->n floats; read, never written) with step
 * eta > 0: δ into delta (ws->n floats, not aliasing theta), the numbers into
 * *out. A gradient that is not finite fails with MG_ERR_NUMERIC. */
mg_status mg_commutator_measure(mg_commutator_ws *ws, mg_commutator_grad_fn grad, void *ctx,
                                const float *theta, float eta, float *delta,
                                mg_commutator_result *out);

/* The index of the median of d[0..n) (n >= 1, no NaN): the element of rank
 * (n − 1) / 2 in ascending order, ties broken by index — for odd n (nine
 * draws) the median itself, for even n the lower of the two middle ones, so
 * it is always one of the samples. */
mg_status mg_commutator_median_index(const double *d, int n, int *index);

/* A direction of the execution basis: its region and its values there
 * (Σ len values, packed in segment order). */
typedef struct {
    const mg_traj_segment *seg;
    int n_seg;
    const double *v;
} mg_commutator_dir;

/* An orthonormal basis of directions supported on groups of coordinates:
 * group g covers the disjoint sorted intervals iv[iv_start[g] ..
 * iv_start[g + 1]) (packed in that order, m[g] coordinates) and holds
 * k[g] orthonormal vectors of m[g] values, row after row, at q + q_start[g].
 * source[i] is the input direction the i-th kept vector came from (kept
 * vectors numbered group after group); the basis keeps a copy of every
 * input region, so a random basis can be matched to it. */
typedef struct {
    int64_t n; /* the full vector's length */
    int rank;  /* vectors kept */
    int n_group;
    int *iv_start; /* n_group + 1 */
    mg_traj_segment *iv;
    int64_t *m;
    int *k;
    int64_t *q_start;
    double *q;
    int *source;    /* rank */
    int n_dir;      /* input directions, and their regions: */
    int *seg_start; /* n_dir + 1 */
    mg_traj_segment *seg;
} mg_commutator_basis;

/* Orthonormalises dirs[0..k) (k >= 1, each region's segments disjoint and
 * inside [0, n), values finite) as described above. Free with
 * mg_commutator_basis_free (safe on a failed build). */
mg_status mg_commutator_basis_build(const mg_commutator_dir *dirs, int k, int64_t n,
                                    mg_commutator_basis *out);
void mg_commutator_basis_free(mg_commutator_basis *b);

/* A block-matched random basis for `like`: for each of like's kept
 * vectors, N(0, 1) values on its source direction's region, orthonormalised
 * the same way. */
mg_status mg_commutator_basis_random(const mg_commutator_basis *like, mg_rng *rng,
                                     mg_commutator_basis *out);

/* ρ = ‖B Bᵀ δ‖ / ‖δ‖ for delta of b->n floats; NaN when δ = 0. */
mg_status mg_commutator_rho(const mg_commutator_basis *b, const float *delta, double *rho);

/* The block-matched baseline: the mean ρ over draws >= 1 random bases
 * matched to like (each group by its law where it has one, else built as
 * mg_commutator_basis_random would); each (draws values) may be NULL. NaN
 * when δ = 0. */
mg_status mg_commutator_rho_rand_block(const mg_commutator_basis *like, const float *delta,
                                       mg_rng *rng, int draws, double *mean, double *each);

/* The full-space baseline for a basis of k vectors in R^n (1 <= k <= n): the
 * mean ρ over draws >= 1, each drawn from its exact law (see above); each
 * may be NULL. It needs no δ: the law is the same for every δ ≠ 0. */
mg_status mg_commutator_rho_rand_full(int64_t n, int k, mg_rng *rng, int draws, double *mean,
                                      double *each);

/* ‖δ_⊥‖ / ‖δ‖ = sqrt(1 − ρ²) (ρ clamped to [0, 1]), and the paper's 1 − ρ. */
double mg_commutator_perp(double rho);
double mg_commutator_perp_paper(double rho);

/* Everything a measurement reports about δ at once. */
typedef struct {
    double rho_exec, rho_full, rho_block; /* ρ_exec and the two baselines' means */
    double ratio_full, ratio_block;       /* ρ_exec / ρ_rand */
    double perp, perp_paper;              /* of ρ_exec, both forms */
    int draws;                            /* R */
} mg_commutator_rhos;

/* ρ_exec of delta in exec, and both baselines over draws random bases from
 * rng (block-matched first, then full space, in that order of draws). */
mg_status mg_commutator_rhos_compute(const mg_commutator_basis *exec, const float *delta,
                                     mg_rng *rng, int draws, mg_commutator_rhos *out);

#endif
