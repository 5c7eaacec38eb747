/* gradcheck.h — central-difference gradient checks for tests.
 *
 * The check builds a graph with spec->build (which declares its own
 * parameters: the tensors whose gradients are checked), reduces the built
 * tensor y to a scalar L = sum_i y_i r_i with fixed random weights r, and
 * compares the engine's d L / d theta with (L(theta + eps) - L(theta - eps))
 * / (2 eps) for every parameter element (or an evenly spread sample of at
 * most max_checks). L is summed in double from y's float32 values. The
 * check runs twice: with each gradient's first writer storing into it, and
 * with every backward kernel adding into zeroed gradients
 * (mg_graph_set_grad_write); both must pass. */
#ifndef MG_TEST_GRADCHECK_H
#define MG_TEST_GRADCHECK_H

#include <stdint.h>

#include "core/graph.h"

typedef struct {
    /* Builds the tensor to check; declares parameters with mg_param. */
    mg_tensor *(*build)(mg_graph *g, void *ctx);
    /* Optional: writes integer (or other) inputs after compile. */
    void (*fill)(mg_graph *g, void *ctx);
    void *ctx;
    uint64_t seed;  /* parameter init and r */
    double eps;     /* default 1e-3 */
    double atol;    /* default 1e-3 */
    double rtol;    /* default 1e-2 */
    int max_checks; /* default 4000 */
} mg_gradcheck_spec;

typedef struct {
    int n_checked;
    int n_bad;
    double max_abs_err; /* max |numeric - analytic| */
    double max_rel_err; /* max |numeric - analytic| / max(|numeric|, |analytic|, 1e-6),
                           over the elements whose absolute error exceeds atol (0 if none) */
    char worst[256];    /* where the largest violation was */
    char error[512];    /* set if the graph could not be built or run */
} mg_gradcheck_result;

/* Returns 0 when every checked element is within atol + rtol * |numeric|. */
int mg_gradcheck(const mg_gradcheck_spec *spec, mg_gradcheck_result *res);

/* Fills a tensor's data with the values v[0..n-1] (int inputs). */
void mg_fill_i32(mg_tensor *t, const int32_t *v);

#endif
