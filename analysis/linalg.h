/* linalg.h — SVD-based metrics of weight matrices: singular values, ranks,
 * Schatten norms, and principal angles between row subspaces.
 *
 * A matrix W is m x n with element (i, j) at w[i * rs + j * cs] (strides in
 * elements, so a transposed view costs no copy). Every SVD is LAPACK's, in
 * double precision, on a double copy of the float input.
 *
 * Pure functions over arrays: no graph, no printing. */
#ifndef MG_LINALG_H
#define MG_LINALG_H

#include <stdint.h>

#include "core/error.h"

typedef struct {
    int n_sv;            /* min(m, n) */
    double *sv;          /* singular values, descending */
    double eff_rank;     /* exp(H(sigma / sum sigma)), natural log */
    double stable_rank;  /* ||W||_F^2 / ||W||_2^2 */
    double rank2_energy; /* (sigma_1^2 + sigma_2^2) / sum sigma^2 (sigma_1^2 / sum if n_sv = 1) */
    double schatten1;    /* sum sigma (nuclear norm) */
    double schatten2;    /* sqrt(sum sigma^2) = ||W||_F */
    double schatten_inf; /* sigma_1 = ||W||_2 */
} mg_linalg_spectrum;

/* Singular values and the metrics above. m, n >= 1, entries finite. A zero
 * matrix has every metric 0 (the ratios have no meaning there). On success
 * free *out with mg_linalg_spectrum_free; on failure *out holds nothing (freeing it
 * is still safe). */
mg_status mg_linalg_spectrum_compute(const float *w, int m, int n, int64_t rs, int64_t cs,
                                     mg_linalg_spectrum *out);

void mg_linalg_spectrum_free(mg_linalg_spectrum *s);

/* Schatten q-(quasi-)norm (sum sv^q)^(1/q) of n values >= 0; q = INFINITY
 * gives the largest. q < 1 is the quasi-norm of the deep-linear penalty
 * (Schatten 2/L). Scaled by the largest value, so no overflow for large sv.
 * 0 for n = 0 or all zero; NAN when q <= 0 or is NaN. */
double mg_linalg_schatten(const double *sv, int n, double q);

/* Cosines of the principal angles between the spans of the top-ka right
 * singular vectors of A (ma x n) and top-kb of B (mb x n) (both rows in R^n);
 * cos must hold min(ka, kb) values, descending.
 *
 * The cosines are the singular values of Va^T Vb, clamped to [0, 1]: 1 = a
 * shared direction, 0 = orthogonal. ka must be in 1..min(ma, n) and no more
 * than A's numerical rank (sigma_i > sigma_1 * max(ma, n) * FLT_EPSILON, a
 * tolerance for float32 input), since beyond the rank the singular vectors
 * are arbitrary; likewise kb for B. Where sigma_ka = sigma_{ka+1} the top-ka
 * span is itself not unique; that is the caller's to avoid. */
mg_status mg_linalg_principal_cosines(const float *a, int ma, int64_t ars, int64_t acs, int ka,
                                      const float *b, int mb, int64_t brs, int64_t bcs, int kb,
                                      int n, double *cos);

#endif
