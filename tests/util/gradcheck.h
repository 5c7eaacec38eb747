/* gradcheck.h — central-difference gradient checks for tests.
 *
 * The check builds a graph with spec->build (which declares its own
 * parameters: the tensors whose gradients are checked), reduces the built
 * tensor y to a scalar L = sum_i y_i r_i with fixed random weights r, and
 * compares the engine's d L / d theta with (L(theta + eps) - L(theta - eps))
 * / (2 eps) for every parameter element (or an evenly spread sample of at
 * most max_checks). L is summed in double from y's float32 values.
 * mg_gradcheck runs the check four ways, and all must pass: with each
 * gradient's first writer storing into it, with every backward kernel
 * adding into zeroed gradients (mg_graph_set_grad_write), in checking mode
 * (mg_graph_set_checking: each buffer is NaN once its interval ends, so an
 * op that reads a value its flags do not declare fails), and in checking
 * mode with reuse off (mg_graph_set_reuse: every buffer its own space). */
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

/* The ways a check can run; mg_gradcheck runs MG_GRADCHECK_WAYS of them. */
enum {
    MG_GC_ADDING = 1u << 0,   /* mg_graph_set_grad_write(g, false) */
    MG_GC_CHECKING = 1u << 1, /* mg_graph_set_checking(g, true) */
    MG_GC_NO_REUSE = 1u << 2, /* mg_graph_set_reuse(g, false) */
};
#define MG_GRADCHECK_WAYS                                                                          \
    { 0, MG_GC_ADDING, MG_GC_CHECKING, MG_GC_CHECKING | MG_GC_NO_REUSE }

/* Returns 0 when every checked element is within atol + rtol * |numeric|,
 * every way. res->worst names the way of the worst violation. */
int mg_gradcheck(const mg_gradcheck_spec *spec, mg_gradcheck_result *res);

/* One way only (a combination of MG_GC_* flags). */
int mg_gradcheck_way(const mg_gradcheck_spec *spec, unsigned way, mg_gradcheck_result *res);

/* Fills a tensor's data with the values v[0..n-1] (int inputs). */
void mg_fill_i32(mg_tensor *t, const int32_t *v);

#endif
