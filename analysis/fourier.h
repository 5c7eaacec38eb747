/* fourier.h — the Fourier spectrum over Z/p of a matrix whose rows are
 * indexed by residues, and the circle a key frequency draws.
 *
 * The matrix W has p rows x = 0..p-1 (a token embedding E, or the classifier's
 * class vectors) and d columns; element (x, j) is w[x * rs + j * cs], so a
 * classifier stored as (width, p) is read by columns with rs = 1, cs = p.
 *
 * Basis (orthonormal over Z/p for odd p): the constant 1/sqrt(p) and, for
 * k = 1..(p-1)/2,
 *     c_k(x) = sqrt(2/p) cos(2 pi k x / p),   s_k(x) = sqrt(2/p) sin(2 pi k x / p).
 * The energy of frequency k is e_k = sum_j (<c_k, W[:, j]>^2 + <s_k, W[:, j]>^2),
 * and dc = sum_j <1/sqrt(p), W[:, j]>^2, so that sum_k e_k + dc = ||W||_F^2
 * (Parseval). All sums accumulate in double.
 *
 * Pure functions over arrays: no graph, no printing. */
#ifndef MG_FOURIER_H
#define MG_FOURIER_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef struct {
    int p, n_freq;        /* n_freq = (p - 1) / 2 frequencies k = 1..n_freq */
    double *energy;       /* energy[k - 1] = ||cos part||^2 + ||sin part||^2 of frequency k */
    double dc;            /* energy of the constant component */
    int *order;           /* frequencies (1..n_freq) by decreasing energy; ties: lower k first */
    int n_key;            /* frequencies with energy >= max / 4 (see below) */
    double concentration; /* sum of key energies / sum of all energies (k >= 1) */
    double gini;          /* Gini coefficient of (e_k) */
    int top;              /* order[0] */
} mg_fourier;

/* Key frequencies: e_k >= (max_k e_k / 4) * (1 - MG_FOURIER_KEY_SLACK). The
 * boundary is inclusive: an exact 4 : 1 ratio is key. The relative slack keeps
 * it so when the input's float32 rounding moves the ratio by ~1e-8.
 *
 * Gini of the n = n_freq energies: G = sum_i sum_j |e_i - e_j| / (2 n sum e):
 * 0 when all are equal, (n - 1) / n when one frequency holds everything.
 *
 * Isotropic noise has every e_k near the mean, so every frequency is key and
 * the concentration is 1; it is the Gini (near 0) and mg_fourier_top_share
 * (near m / n_freq) that tell noise from a peaked spectrum.
 *
 * A matrix with no energy at k >= 1 (constant rows, or zero): n_key = 0,
 * concentration = 0, gini = 0, top = 1. "No energy" means sum_k e_k <=
 * MG_FOURIER_ZERO (sum_k e_k + dc): what is left there is double rounding. */
#define MG_FOURIER_KEY_SLACK 1e-6
#define MG_FOURIER_ZERO 1e-24

/* Computes the spectrum of W (p rows, d columns, strides rs, cs in elements).
 * p must be odd and >= 3, d >= 1, entries finite. On success free *out with
 * mg_fourier_free; on failure *out holds nothing (freeing it is still safe). */
mg_status mg_fourier_compute(const float *w, int p, int d, int64_t rs, int64_t cs, mg_fourier *out);

void mg_fourier_free(mg_fourier *f);

/* Share of the energy (k >= 1) held by the m strongest frequencies, m clamped
 * to 1..n_freq ("top-2 concentration" for m = 2); 0 when there is no energy. */
double mg_fourier_top_share(const mg_fourier *f, int m);

/* Writes the key frequencies in increasing order, comma-separated ("7,22,35";
 * "" when there are none), into buf of n bytes. MG_ERR_ARG if it does not fit. */
mg_status mg_fourier_keys_str(const mg_fourier *f, char *buf, size_t n);

/* The circle of frequency k (1 <= k <= (p-1)/2) in the rows of W.
 *
 * Plane: a_k = sum_x w_x cos(2 pi k x / p) and b_k = sum_x w_x sin(2 pi k x / p)
 * (vectors in R^d), orthonormalised by Gram-Schmidt (a first) to u, v. Each
 * row, centred by the mean row m, becomes the point
 *     P_x = (<w_x - m, u>, <w_x - m, v>),
 * written to xy[2x], xy[2x + 1] when xy is not NULL (2p doubles).
 *
 * radius_cv = std / mean of the radii |P_x| (population std, divisor p).
 *
 * angle_corr: the circular correlation between the measured angles
 * theta_x = atan2(P_x) and the ideal ones phi_x = 2 pi k x / p, allowing any
 * rotation and a reflection (so the orientation Gram-Schmidt picks does not
 * matter):
 *     angle_corr = max(|mean_x exp(i(theta_x - phi_x))|, |mean_x exp(i(theta_x + phi_x))|).
 * 1.0 = the rows sit on the circle at equal angles, k steps per residue;
 * rows at random angles give about 1/sqrt(p).
 *
 * If a_k and b_k are parallel the "plane" is a line: v = 0 and every point
 * lies on the first axis. MG_ERR_NUMERIC when frequency k carries no energy
 * (a_k = b_k = 0), as there is no plane to project on. */
mg_status mg_fourier_circle_fit(const float *w, int p, int d, int64_t rs, int64_t cs, int k,
                                double *radius_cv, double *angle_corr, double *xy);

#endif
