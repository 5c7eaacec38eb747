/* probes.c — per-layer gradient, update and displacement norms (probes.h). */
#include "analysis/probes.h"

#include <math.h>
#include <string.h>

void mg_probes_compute(const mg_params *p, const float *w, const float *grad, const float *next,
                       const float *init, mg_probes_layer *out) {
    int nl = mg_params_layer_count(p);
    /* per layer: ||W||^2, ||g||^2, ||next - W||^2, ||W - init||^2, ||init||^2 */
    double acc[nl > 0 ? nl : 1][5];
    memset(acc, 0, sizeof acc);
    for (int k = 0; k < mg_params_count(p); k++) {
        const mg_param_info *info = mg_params_info(p, k);
        double *a = acc[info->layer];
        for (size_t i = info->offset; i < info->offset + info->numel; i++) {
            double x = w[i];
            a[0] += x * x;
            a[1] += (double)grad[i] * grad[i];
            if (next) a[2] += ((double)next[i] - x) * ((double)next[i] - x);
            if (init) {
                a[3] += (x - init[i]) * (x - init[i]);
                a[4] += (double)init[i] * init[i];
            }
        }
    }
    for (int l = 0; l < nl; l++) {
        double wn = sqrt(acc[l][0]);
        out[l].weight_norm = wn;
        out[l].grad_norm = sqrt(acc[l][1]);
        out[l].rel_grad_norm = wn > 0 ? out[l].grad_norm / wn : NAN;
        out[l].update_ratio = next && wn > 0 ? sqrt(acc[l][2]) / wn : NAN;
        out[l].displacement = init && acc[l][4] > 0 ? sqrt(acc[l][3] / acc[l][4]) : NAN;
    }
}

double mg_probes_structural_energy(const mg_params *p, const float *w) {
    double s = 0;
    for (size_t i = 0; i < mg_params_total(p); i++) s += (double)w[i] * w[i];
    return s;
}
