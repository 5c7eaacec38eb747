/* graph.h — build a static graph, compile it, run steps.
 *
 * A graph is built once by calling a model definition on placeholder
 * inputs. mg_graph_compile(g, loss) appends the backward pass (reverse mode,
 * gradients accumulated where a tensor feeds several ops), orders the nodes
 * and plans memory: every value, gradient and saved buffer gets an interval
 * of the step's timeline, and intervals that do not overlap share space in
 * one arena, allocated once. A step then replays the plan with no heap
 * allocation: write the inputs, mg_graph_forward, mg_graph_backward, then an
 * optimizer step on the parameter store.
 *
 * Build errors are sticky: the first one (shape mismatch, wrong arity, NULL
 * input, unknown op) is kept with its message, later builder calls return
 * NULL, and mg_graph_status / mg_graph_compile report it. So a model
 * definition can chain calls like math and check once at the end. */
#ifndef MG_GRAPH_H
#define MG_GRAPH_H

#include "core/error.h"
#include "core/op.h"
#include "core/params.h"
#include "core/tensor.h"

/* Shape literal: mg_input(g, "a", MG_I32, MG_SHAPE(n)). */
#define MG_SHAPE(...)                                                                              \
    (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]) { __VA_ARGS__ }

/* A new empty graph whose parameters live in params (not owned). */
mg_graph *mg_graph_new(mg_params *params);
void mg_graph_free(mg_graph *g);
mg_params *mg_graph_params(mg_graph *g);

/* The first build or compile error (MG_OK if none); its message is in
 * mg_graph_error. */
mg_status mg_graph_status(const mg_graph *g);
const char *mg_graph_error(const mg_graph *g);

/* Records a build error in g (only the first one is kept; it is also the
 * thread's mg_errmsg) and returns it: for builders and model definitions
 * that check their own settings. */
mg_status mg_graph_fail(mg_graph *g, mg_status s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Leaves. */
mg_tensor *mg_input(mg_graph *g, const char *name, mg_dtype dtype, int ndim, const int64_t *shape);
/* Declares that input[..., start:start+len, ...] along axis (>= 1) holds
 * the same values in every row of axis 0 (the batch): a token that every
 * example has, like the "=" of "a b =". The constants pass
 * (ops/pass_constants.c) then computes what depends only on that part once
 * per step instead of once per row. The caller must fill it so. */
mg_status mg_input_uniform(mg_tensor *input, int axis, int64_t start, int64_t len);
/* The part of t declared uniform: true and its range when t is an input
 * with one, else false. */
bool mg_input_uniform_part(const mg_tensor *t, int *axis, int64_t *start, int64_t *len);
mg_tensor *mg_param(mg_graph *g, const char *name, mg_init init, int ndim, const int64_t *shape);

/* Applies op to inputs; attr (may be NULL) holds the op's settings. Returns
 * the new tensor, or NULL after recording the error. Inserts a contiguous
 * copy in front of an op that needs contiguous inputs. */
mg_tensor *mg_apply(mg_graph *g, const mg_op *op, int n_in, mg_tensor *const *in,
                    const mg_attr *attr);
/* The same by registered name ("relu"). */
mg_tensor *mg_apply_named(mg_graph *g, const char *op_name, int n_in, mg_tensor *const *in,
                          const mg_attr *attr);

/* The ops the graph makes itself (contig.c): the contiguous copy, which
 * mg_apply inserts in front of an op that needs contiguous inputs and was
 * given a view, and the alias, a free view of a tensor with its own shape
 * and strides, which a kept tensor becomes when a rewrite replaces it. */
extern const mg_op mg_op_contiguous, mg_op_alias;

/* Names a tensor (shown in errors and graph listings); returns t. */
mg_tensor *mg_name(mg_tensor *t, const char *name);

/* Keeps t's value readable after mg_graph_forward (the planner would
 * otherwise reuse its buffer once its last reader has run). */
void mg_graph_keep(mg_graph *g, mg_tensor *t);
bool mg_graph_is_kept(const mg_graph *g, const mg_tensor *t);

/* Compiles for training when loss (a scalar) is given, for forward only when
 * loss is NULL. Allocates the parameter store if needed and the arena. */
mg_status mg_graph_compile(mg_graph *g, mg_tensor *loss);

/* Whether a gradient's first writer stores into it instead of the planner
 * zeroing it for an add (on by default; call before compiling). Off runs
 * every backward kernel in its adding form: tests check both forms. */
void mg_graph_set_grad_write(mg_graph *g, bool on);

/* Checking mode, for tests (off by default; call before compiling): each
 * planned buffer (a value, a gradient, a saved buffer) is filled with NaN
 * the moment its interval ends, during forward and backward, and the whole
 * arena when it is allocated; ops read the parameters through planned
 * copies, so that their reads of a parameter are checked too. An op whose backward reads a value
 * its flags do not declare (MG_OP_BWD_IN / MG_OP_BWD_OUT, core/op.h), or a kernel that reads a
 * buffer before writing it, then gives NaN instead of a silently wrong result. A step still
 * allocates nothing. Fails once compiled. */
mg_status mg_graph_set_checking(mg_graph *g, bool on);

/* Whether buffers whose intervals do not overlap share arena space (on by
 * default; call before compiling). Off gives every buffer space of its own
 * (the arena is then mg_graph_unplanned_bytes), so a value outlives its
 * interval: with checking mode, a result that differs only with reuse on
 * points at the plan. Fails once compiled. */
mg_status mg_graph_set_reuse(mg_graph *g, bool on);

/* Runs the forward pass. Fails only on bad input data (an index out of
 * range), with a message. */
mg_status mg_graph_forward(mg_graph *g);

/* Runs the backward pass: the store's gradients of the parameters the loss
 * depends on become d(loss)/d(param) (overwritten, not added to); the
 * others are left as they are. Requires a compile with a loss and a forward. */
mg_status mg_graph_backward(mg_graph *g);

/* Introspection. */
int mg_graph_node_count(const mg_graph *g);
mg_tensor *mg_graph_node(const mg_graph *g, int i);
size_t mg_graph_arena_bytes(const mg_graph *g);     /* planned arena */
size_t mg_graph_unplanned_bytes(const mg_graph *g); /* sum of all buffers without reuse */
float mg_scalar(const mg_tensor *t);                /* first element of a float tensor */

/* Floating-point operations of one step of a compiled graph: the forward
 * kernels that run, plus the backward ones when it has a loss. */
double mg_graph_step_flops(const mg_graph *g);
/* Of one node, forward or backward (0 for views and leaves). */
double mg_node_flops(const mg_tensor *t, bool backward);

/* Kernel timing for profiles (tools/bench/bench_step --profile): while on,
 * each forward and backward kernel adds its wall time in seconds to
 * fwd_s[id] / bwd_s[id] of its node, and gradient zeroing adds to
 * bwd_s[mg_graph_node_count(g)]; the caller owns both arrays (node count + 1
 * entries, zeroed by the caller). NULL, NULL turns it off. */
void mg_graph_profile(mg_graph *g, double *fwd_s, double *bwd_s);

#endif
