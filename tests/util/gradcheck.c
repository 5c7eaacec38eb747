/* gradcheck.c — see gradcheck.h. Also shows the extension mechanism: the
 * weighted sum that reduces y to a scalar is an op registered here, from
 * test code, without touching the engine. */
#include "tests/util/gradcheck.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/rng.h"
#include "ops/ops.h"

/* L = sum_i y_i r_i ; dy_i += r_i (r does not get a gradient) */
static mg_status wsum_shape(mg_tensor *out) {
    const mg_tensor *y = out->in[0], *r = out->in[1];
    if (mg_numel(y) != mg_numel(r))
        return mg_fail(MG_ERR_SHAPE, "test_wsum: y has %lld elements, r %lld",
                       (long long)mg_numel(y), (long long)mg_numel(r));
    out->ndim = 0;
    out->dtype = MG_F32;
    return MG_OK;
}
static mg_status wsum_forward(mg_tensor *out) {
    const float *y = out->in[0]->data, *r = out->in[1]->data;
    double s = 0;
    for (int64_t i = 0; i < mg_numel(out->in[0]); i++) s += (double)y[i] * r[i];
    mg_f32(out)[0] = (float)s;
    return MG_OK;
}
static void wsum_backward(mg_tensor *out) {
    mg_tensor *y = out->in[0];
    const float *r = out->in[1]->data;
    if (!y->grad) return;
    for (int64_t i = 0; i < mg_numel(y); i++) y->grad[i] += out->grad[0] * r[i];
}
static const mg_op test_wsum = {
    .name = "test_wsum",
    .arity = 2,
    .flags = MG_OP_BWD_IN,
    .shape = wsum_shape,
    .forward = wsum_forward,
    .backward = wsum_backward,
};

void mg_fill_i32(mg_tensor *t, const int32_t *v) {
    memcpy(t->data, v, (size_t)mg_numel(t) * sizeof *v);
}

static double weighted(const mg_tensor *y, const mg_tensor *r) {
    double s = 0;
    const float *yd = y->data, *rd = r->data;
    for (int64_t i = 0; i < mg_numel(y); i++) s += (double)yd[i] * rd[i];
    return s;
}

/* "adding, checking, no reuse" */
static const char *way_name(unsigned way, char *buf, size_t n) {
    snprintf(buf, n, "%s%s%s", way & MG_GC_ADDING ? "adding" : "storing",
             way & MG_GC_CHECKING ? ", checking" : "", way & MG_GC_NO_REUSE ? ", no reuse" : "");
    return buf;
}

int mg_gradcheck_way(const mg_gradcheck_spec *spec, unsigned way, mg_gradcheck_result *res) {
    memset(res, 0, sizeof *res);
    double eps = spec->eps > 0 ? spec->eps : 1e-3;
    double atol = spec->atol > 0 ? spec->atol : 1e-3;
    double rtol = spec->rtol > 0 ? spec->rtol : 1e-2;
    int max_checks = spec->max_checks > 0 ? spec->max_checks : 4000;
    mg_op_register(&test_wsum);
    mg_params *P = mg_params_new();
    mg_graph *g = mg_graph_new(P);
    mg_graph_set_grad_write(g, !(way & MG_GC_ADDING));
    mg_graph_set_checking(g, way & MG_GC_CHECKING);
    mg_graph_set_reuse(g, !(way & MG_GC_NO_REUSE));
    mg_tensor *y = spec->build(g, spec->ctx);
    /* weighted() reads y as one block: give it y's logical order */
    if (y && !mg_is_contiguous(y)) y = mg_contiguous(g, y);
    mg_tensor *r = y ? mg_input(g, "r", MG_F32, y->ndim, y->shape) : NULL;
    mg_tensor *L = mg_apply(g, &test_wsum, 2, (mg_tensor *[]){y, r}, NULL);
    /* the numeric side reads an exact copy (1 * y), kept; y itself is not,
     * so its buffer ends with its last reader like any value's (and a
     * backward that reads it undeclared meets NaN in checking mode) */
    mg_tensor *seen = y ? mg_scale(g, y, 1.0f) : NULL;
    if (seen) mg_graph_keep(g, seen);
    int rc = 1;
    if (mg_graph_compile(g, L) != MG_OK) {
        snprintf(res->error, sizeof res->error, "%s", mg_errmsg());
        goto out;
    }
    mg_rng rng;
    mg_rng_seed(&rng, spec->seed);
    mg_params_init(P, &rng);
    for (int64_t i = 0; i < mg_numel(r); i++) mg_f32(r)[i] = (float)mg_rng_normal(&rng);
    if (spec->fill) spec->fill(g, spec->ctx);
    size_t total = mg_params_total(P);
    float *w = mg_params_data(P), *grad = mg_params_grad(P);
    /* Two steps, each on gradients poisoned with NaN (the second also on
     * buffers holding the first step's values): a kernel that stores must
     * write every element, one that adds must find its gradient zeroed. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < total; i++) grad[i] = NAN;
        if (mg_graph_forward(g) || mg_graph_backward(g)) {
            snprintf(res->error, sizeof res->error, "%s", mg_errmsg());
            goto out;
        }
    }
    size_t stride = total > (size_t)max_checks ? (total + max_checks - 1) / max_checks : 1;
    double worst = 0;
    for (size_t i = 0; i < total; i += stride) {
        float saved = w[i];
        w[i] = (float)(saved + eps);
        mg_graph_forward(g);
        double lp = weighted(seen, r);
        w[i] = (float)(saved - eps);
        mg_graph_forward(g);
        double lm = weighted(seen, r);
        w[i] = saved;
        /* the actual step taken in float32, not the nominal eps */
        double h = (double)(float)(saved + eps) - (double)(float)(saved - eps);
        double num = (lp - lm) / h, ana = grad[i];
        /* a NaN on either side is an infinite error, never a pass */
        double err = isnan(num - ana) ? INFINITY : fabs(num - ana);
        double scale = fmax(fmax(fabs(num), fabs(ana)), 1e-6);
        res->n_checked++;
        if (err > res->max_abs_err) res->max_abs_err = err;
        if (err / scale > res->max_rel_err && err > atol) res->max_rel_err = err / scale;
        double excess = err - (atol + rtol * fabs(num));
        if (excess > 0 || isnan(excess)) {
            res->n_bad++;
            if (!(excess <= worst)) {
                worst = isnan(excess) ? INFINITY : excess;
                int pi = 0;
                for (int k = 0; k < mg_params_count(P); k++) {
                    const mg_param_info *info = mg_params_info(P, k);
                    if (i >= info->offset && i < info->offset + info->numel) pi = k;
                }
                const mg_param_info *info = mg_params_info(P, pi);
                snprintf(res->worst, sizeof res->worst, "%s[%zu]: numeric %.6g, analytic %.6g",
                         info->name, i - info->offset, num, ana);
            }
        }
    }
    rc = res->n_bad != 0;
out:
    mg_graph_free(g);
    mg_params_free(P);
    return rc;
}

int mg_gradcheck(const mg_gradcheck_spec *spec, mg_gradcheck_result *res) {
    static const unsigned ways[] = MG_GRADCHECK_WAYS;
    int rc = 0;
    double worst = -1;
    memset(res, 0, sizeof *res);
    for (size_t w = 0; w < sizeof ways / sizeof *ways; w++) {
        mg_gradcheck_result r;
        char name[48];
        way_name(ways[w], name, sizeof name);
        int bad = mg_gradcheck_way(spec, ways[w], &r);
        if (!res->error[0] && r.error[0])
            snprintf(res->error, sizeof res->error, "(%s) %.450s", name, r.error);
        if (bad && r.max_abs_err > worst) {
            worst = r.max_abs_err;
            snprintf(res->worst, sizeof res->worst, "(%s) %.200s", name, r.worst);
        }
        rc |= bad;
        res->n_checked += r.n_checked;
        res->n_bad += r.n_bad;
        res->max_abs_err = fmax(res->max_abs_err, r.max_abs_err);
        res->max_rel_err = fmax(res->max_rel_err, r.max_rel_err);
    }
    return rc;
}
