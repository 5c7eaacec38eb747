/* op.h — what an op is, and the registry of ops by name.
 *
 * An op is one const struct, defined and registered by its own file in ops/:
 * it answers the four questions a graph asks of it: the output shape (checked
 * when the graph is built), the size of the buffer it saves from forward for
 * backward, the forward kernel and the backward kernel; and its flags say
 * what its backward reads (for the memory plan) and what kind of op it is
 * (for the graph passes). Nothing else in the tree switches over ops. A user registers an op of
 * their own from their own code with mg_op_register (see tests/test_extend.c).
 *
 * Kernel contract:
 *  - inputs are out->in[0..n_in-1]; they are contiguous unless the op has
 *    MG_OP_STRIDED (the graph inserts a copy otherwise);
 *  - the output of a non-view op is contiguous;
 *  - backward ADDS d(loss)/d(input) into out->in[i]->grad for every input
 *    whose grad is non-NULL, reading out->grad (contiguous). Adding makes a
 *    tensor with several consumers correct for free. An op that declares
 *    MG_OP_BWD_WRITE instead STORES into in[i]->grad when mg_grad_writes(out,
 *    i) (its backward is the first to touch that gradient): it must then
 *    write every element (zeros included), since the buffer holds garbage.
 *    That saves the planner zeroing the buffer and the kernel reading it;
 *  - kernels never allocate: scratch they keep for backward is out->aux. */
#ifndef MG_OP_H
#define MG_OP_H

#include "core/error.h"
#include "core/tensor.h"

enum {
    MG_OP_VIEW = 1u << 0,      /* output is a view of in[0]'s storage; no forward kernel */
    MG_OP_STRIDED = 1u << 1,   /* kernels accept non-contiguous inputs */
    MG_OP_BWD_IN = 1u << 2,    /* backward reads the inputs' values */
    MG_OP_BWD_OUT = 1u << 3,   /* backward reads the output's value */
    MG_OP_BWD_WRITE = 1u << 4, /* backward honours mg_grad_writes (see above) */

    /* What the op is, for the graph passes (ops/pass_*.c): they rewrite an
     * op by these properties, so a new op that has them gets the rewrites.
     * Each is a promise about the mathematics; a wrong one gives a wrong
     * rewritten graph (tests/test_rewrites.c runs both side by side). */

    /* y[i] = f(x1[i'], x2[i'], ...) for every output position i, where i'
     * is i broadcast to each input (NumPy rules; the output shape is the
     * inputs' broadcast shape), and f depends on nothing but the op and its
     * attr. So the op applied with the same attr to slices of its inputs
     * gives that slice of its output (add, mul, relu, scale, the copy). */
    MG_OP_ELEMENTWISE = 1u << 5,
    /* y[r, :] = f(x1[r, :], x2[r, :], ...) for every row r along the last
     * axis, the inputs and the output all of one shape, and f depends on
     * nothing but the op and its attr (softmax). An input may instead be a
     * 1-D vector of the last dim's length, read whole by every row (layer
     * norm's gain and bias): the passes leave such an input as it is, as
     * they do an elementwise op's broadcast input. So it commutes with
     * slicing (or repeating) any axis but the last. */
    MG_OP_ROWWISE = 1u << 6,
    /* (views) each element of the view is a different element of in[0]'s
     * storage, found from the view's shape, strides and offset alone: a
     * chain of such views is one strided view (permute, slice, reshape; an
     * expand repeats its row, so it is not one). */
    MG_OP_DISTINCT = 1u << 7,
};

/* Whether out's backward stores (true) or adds (false) into in[i]->grad. */
static inline bool mg_grad_writes(const mg_tensor *out, int i) {
    return (out->grad_write >> i) & 1u;
}

struct mg_op {
    const char *name;
    int arity; /* number of inputs; 0 = variadic, 1..MG_MAX_INPUTS */
    unsigned flags;
    /* Fill out->ndim, out->shape and out->dtype from out->in and out->attr
     * (views also fill out->stride and out->offset). On a mismatch return
     * mg_fail(MG_ERR_SHAPE, ...) with a message naming the op and shapes. */
    mg_status (*shape)(mg_tensor *out);
    /* Floats saved from forward for backward (NULL = none). */
    size_t (*aux_size)(const mg_tensor *out);
    /* Compute out from its inputs. May fail only on bad data (an index out
     * of range); returns MG_OK otherwise. NULL for views. */
    mg_status (*forward)(mg_tensor *out);
    /* Accumulate input gradients from out->grad. NULL = not differentiable. */
    void (*backward)(mg_tensor *out);
    /* Floating-point operations of the forward (backward = false) or backward
     * kernel, for benchmarks and graph listings (NULL: one per output
     * element each way; views: none). */
    double (*flops)(const mg_tensor *out, bool backward);
};

/* Whether t was made by an op that has every property in flags. */
static inline bool mg_op_has(const mg_tensor *t, unsigned flags) {
    return t->op && (t->op->flags & flags) == flags;
}

/* Adds op to the registry. Fails on a NULL op, a missing name or shape
 * function, or a name already taken by another op. */
mg_status mg_op_register(const mg_op *op);

/* The registered op of that name, or NULL with a message listing names. */
const mg_op *mg_op_find(const char *name);

/* Number of registered ops and the i-th one (for listings). */
int mg_op_count(void);
const mg_op *mg_op_at(int i);

/* Registers op when the library is loaded: one line at the end of the op's
 * file in ops/, e.g. MG_REGISTER_OP(mg_op_relu). (A constructor, so the
 * library is built shared and every op file is linked in.) */
#define MG_REGISTER_OP(op)                                                                         \
    __attribute__((constructor)) static void mg_register_##op(void) { (void)mg_op_register(&op); }

#endif
