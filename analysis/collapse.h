/* collapse.h — neural-collapse metrics (NC1–NC4) of penultimate features.
 *
 * Definitions: analysis/README.md ("Neural collapse"). The choices the
 * definitions leave open, made here:
 *  - the global mean μ_G is the mean of the class means ("balanced"), not the
 *    mean of all samples, so an unevenly split class does not pull the centre
 *    (the two agree when every class has the same number of samples);
 *  - Σ_W = (1/n) Σ_i (h_i − μ_{y_i})(h_i − μ_{y_i})^T over all n samples,
 *    Σ_B = (1/k) Σ_c (μ_c − μ_G)(μ_c − μ_G)^T;
 *  - a coefficient of variation is the population standard deviation (1/k)
 *    divided by the mean;
 *  - NC3 compares the classifier's class vectors w_c as they are (not
 *    centred) with the centred class means M;
 *  - NC4 takes the nearest class mean by Euclidean distance, ties going to
 *    the lower class index.
 * A metric whose definition divides by zero (all class means equal, a zero
 * classifier, a class mean at μ_G for the cosines) is NaN rather than an
 * error: a collapsed-to-a-point representation is a state worth recording. */
#ifndef MG_COLLAPSE_H
#define MG_COLLAPSE_H

#include <stdint.h>

#include "core/error.h"

typedef struct {
    double nc1;         /* tr(Σ_W Σ_B^†) / k: within-class spread against between-class */
    double nc2_mean_cv; /* CV of ‖μ_c − μ_G‖ (0 = equinorm means) */
    double nc2_w_cv;    /* CV of ‖w_c‖ (0 = equinorm classifier) */
    double nc2_etf;     /* mean over c ≠ c' of |cos(μ_c − μ_G, μ_c' − μ_G) + 1/(k−1)| */
    double nc3; /* ‖W/‖W‖_F − M/‖M‖_F‖_F² (0 = classifier aligned with the means) */
    double nc4; /* share of samples whose nearest class mean differs from pred */
} mg_collapse;

/* h: features (n × f, row-major, contiguous); y: labels (n) in [0, k);
 * w: the classifier's class vectors, element (c, j) at w[c*wrs + j*wcs], so a
 * (f × k) weight matrix is passed with wrs = 1, wcs = k; pred: the model's
 * predicted class per sample (n), or NULL, which makes nc4 NaN.
 * Needs n >= 1, f >= 1, k >= 2 and at least one sample in every class
 * (MG_ERR_ARG naming the first empty class otherwise); non-finite features
 * give MG_ERR_NUMERIC. Accumulates in double. Allocates O(k·f) scratch. */
mg_status mg_collapse_compute(const float *h, const int32_t *y, int64_t n, int f, int k,
                              const float *w, int64_t wrs, int64_t wcs, const int32_t *pred,
                              mg_collapse *out);

#endif
