/* ops.h — the builders of the builtin ops: what a model definition calls.
 *
 * Each builder appends one node (and returns it) or, on a shape error,
 * records the error in the graph and returns NULL; builders given a NULL
 * input after an error return NULL quietly, so a definition is written as
 * math and checked once (mg_graph_status). Shapes follow NumPy: the last
 * axis is the fastest; a negative axis counts from the end. */
#ifndef MG_OPS_H
#define MG_OPS_H

#include "core/graph.h"

/* The builtin ops, for the graph passes that rewrite a particular op (the
 * others ask an op's properties, core/op.h, not its identity). */
extern const mg_op mg_op_matmul, mg_op_add, mg_op_sub, mg_op_mul, mg_op_scale, mg_op_relu,
    mg_op_square, mg_op_sum, mg_op_mean, mg_op_sum_all, mg_op_mean_all, mg_op_softmax,
    mg_op_cross_entropy, mg_op_gather, mg_op_concat, mg_op_permute, mg_op_slice, mg_op_reshape,
    mg_op_causal_mask, mg_op_fused_sum, mg_op_expand, mg_op_as_strided, mg_op_layer_norm,
    mg_op_gelu, mg_op_softmax_topk, mg_op_topk;

/* matmul.c ------------------------------------------------------------ */
/* a: (..., m, k) @ b: (..., k, n) -> (..., n). Batch dims must match, or one
 * operand is 2-D and is shared by every batch. Operands may be views
 * (mg_transpose) and are passed to BLIS by their strides, never copied. */
mg_tensor *mg_matmul(mg_graph *g, mg_tensor *a, mg_tensor *b);

/* binary.c: elementwise with NumPy broadcasting (a bias row (n) against
 * (m, n), a (m, 1) column, ...). ------------------------------------- */
mg_tensor *mg_add(mg_graph *g, mg_tensor *a, mg_tensor *b); /* a + b */
mg_tensor *mg_sub(mg_graph *g, mg_tensor *a, mg_tensor *b); /* a - b */
mg_tensor *mg_mul(mg_graph *g, mg_tensor *a, mg_tensor *b); /* a * b */
/* t is out's trailing dims, repeated along the leading ones: right-aligned,
 * t's dims equal out's until their product is numel(t), and the rest of t's
 * dims are 1. Then t's element j meets out's elements r * numel(t) + j (a
 * bias row against (m, n), a position table against (b, t, d)). */
bool mg_is_trailing_block(const mg_tensor *t, const mg_tensor *out);

/* unary.c ------------------------------------------------------------ */
mg_tensor *mg_scale(mg_graph *g, mg_tensor *x, float s); /* s * x */
mg_tensor *mg_relu(mg_graph *g, mg_tensor *x);           /* max(0, x) */
mg_tensor *mg_square(mg_graph *g, mg_tensor *x);         /* x^2 */

/* reduce.c: reduce one axis, which is removed from the shape. -------- */
mg_tensor *mg_sum(mg_graph *g, mg_tensor *x, int axis);
mg_tensor *mg_mean(mg_graph *g, mg_tensor *x, int axis);
/* Every element to a scalar (0 dims). */
mg_tensor *mg_sum_all(mg_graph *g, mg_tensor *x);
mg_tensor *mg_mean_all(mg_graph *g, mg_tensor *x);

/* softmax.c ------------------------------------------------------------ */
/* softmax over the last axis */
mg_tensor *mg_softmax(mg_graph *g, mg_tensor *x);
/* The backward kernel of an op whose output y is a softmax of its input's
 * rows over some set of entries (0 off it): dx = y (dy - <dy, y>) per row,
 * stored or added as mg_grad_writes says (softmax, softmax_topk). */
void mg_softmax_rows_backward(mg_tensor *out);
/* logits: (n, c) float, labels: (n) int32 in [0, c) -> scalar mean over the
 * rows of -log softmax(logits)[label]; numerically stable (see the file). */
mg_tensor *mg_cross_entropy(mg_graph *g, mg_tensor *logits, mg_tensor *labels);

/* layernorm.c ---------------------------------------------------------- */
/* x: (..., d), gain: (d), bias: (d) -> (..., d): per row of the last axis
 *   y = (x - mean) / sqrt(var + eps) * gain + bias,
 * mean = (1/d) sum_j x_j, var = (1/d) sum_j (x_j - mean)^2 (the biased
 * variance, as PyTorch's LayerNorm; eps 1e-5 there). Mean and variance in
 * double, two passes (no E[x^2] - E[x]^2). Backward to x, gain and bias (any
 * may lack a gradient). eps must be finite and >= 0. */
mg_tensor *mg_layer_norm(mg_graph *g, mg_tensor *x, mg_tensor *gain, mg_tensor *bias, float eps);

/* gelu.c ---------------------------------------------------------------- */
/* GELU, the tanh form (PyTorch's approximate='tanh'), elementwise:
 *   y = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))),
 * computed as x sigmoid(2 u), u = sqrt(2/pi) (x + 0.044715 x^3), which is
 * the same function (1 + tanh u = 2 sigmoid(2u)) without cancellation. */
mg_tensor *mg_gelu(mg_graph *g, mg_tensor *x);

/* topk.c: top-k per row of the last axis. The kept set of a row is its k
 * largest entries of x; ties go to the lower index; NaN counts as larger
 * than every number (so a NaN is kept and shows). k >= 1 (else a graph
 * error). Backward holds the kept set fixed. ------------------------------ */
/* softmax over the last axis, keeping only the k largest probabilities of
 * each row (the k largest x), renormalised to sum 1; the rest are 0:
 *   y_j = exp(x_j) / sum_{i in K} exp(x_i) for j in K, else 0.
 * Entries at -inf (masked) have probability 0 and are never kept; with
 * fewer than k finite entries all of them are kept, so k >= the row's length
 * is the softmax itself (the same bits). A row of -inf only is all 0.
 * Backward: the gradient of the softmax over K (zero off K). */
mg_tensor *mg_softmax_topk(mg_graph *g, mg_tensor *x, int k);
/* y_j = x_j for the k largest entries of each row, 0 elsewhere (a sparse
 * autoencoder's TopK); dx_j += dy_j on the kept entries only. 1 <= k <= d
 * (the last dim), else a graph error. */
mg_tensor *mg_topk(mg_graph *g, mg_tensor *x, int k);

/* gather.c ------------------------------------------------------------- */
/* table: (v, d) float, idx: int32 of any shape s (up to 3 dims) with values
 * in [0, v) -> (s..., d): rows of the table (an embedding lookup). Backward
 * scatter-adds into the table's gradient (repeated indices add up). */
mg_tensor *mg_gather(mg_graph *g, mg_tensor *table, mg_tensor *idx);

/* concat.c: along the last axis; all other dims equal. ----------------- */
mg_tensor *mg_concat(mg_graph *g, int n, mg_tensor *const *xs);
mg_tensor *mg_concat2(mg_graph *g, mg_tensor *a, mg_tensor *b);

/* view.c: views share their input's storage (no copy). ----------------- */
/* Same elements, new shape (same count). A non-contiguous input is copied
 * first. One dim may be -1 (inferred). */
mg_tensor *mg_reshape(mg_graph *g, mg_tensor *x, int ndim, const int64_t *shape);
/* Output dim i is input dim perm[i]. */
mg_tensor *mg_permute(mg_graph *g, mg_tensor *x, const int *perm);
/* Swaps the last two dims. */
mg_tensor *mg_transpose(mg_graph *g, mg_tensor *x);
/* x[..., start:start+len, ...] along axis. */
mg_tensor *mg_slice(mg_graph *g, mg_tensor *x, int axis, int64_t start, int64_t len);
/* A slice's settings (its axis resolved to 0..ndim-1): true and *s filled
 * when t is a slice, else false. */
typedef struct {
    int axis;
    int64_t start, len;
} mg_slice_args;
bool mg_slice_args_of(const mg_tensor *t, mg_slice_args *s);
/* A permute's order (output dim k is input dim perm[k], k < t->ndim): true
 * when t is a permute, else false. */
bool mg_permute_order(const mg_tensor *t, int perm[MG_MAX_DIMS]);
/* x: (1, ...) -> (n, ...): the one row seen n times (stride 0, no copy);
 * backward sums the rows' gradients. */
mg_tensor *mg_expand(mg_graph *g, mg_tensor *x, int64_t n);
/* x when t is expand(x, n) or a contiguous copy of one, else NULL (for
 * graph passes). */
mg_tensor *mg_expanded_row(const mg_tensor *t);
/* Elements of a contiguous x at the given strides and offset (elements),
 * which must stay inside x; each view element must be a distinct element
 * of x. What a chain of views collapses to (ops/pass_views.c). */
mg_tensor *mg_as_strided(mg_graph *g, mg_tensor *x, int ndim, const int64_t *shape,
                         const int64_t *stride, int64_t offset);
/* A contiguous copy of x. */
mg_tensor *mg_contiguous(mg_graph *g, mg_tensor *x);

/* mask.c --------------------------------------------------------------- */
/* x: (..., t, t) -> the same with x[..., i, j] = -inf where j > i (causal
 * attention: a position sees itself and those before it). */
mg_tensor *mg_causal_mask(mg_graph *g, mg_tensor *x);
/* Rows [first_row, first_row + r) of the causal mask of a (t, t) input,
 * applied to x: (..., r, t). */
mg_tensor *mg_causal_mask_rows(mg_graph *g, mg_tensor *x, int64_t first_row);
/* Its first row: true when t is a causal mask, else false. */
bool mg_causal_mask_first_row(const mg_tensor *t, int64_t *first_row);

/* schatten.c ----------------------------------------------------------- */
/* w: (m, n) float -> scalar ||w||_{S_q}^q = sum_i sigma_i(w)^q, q > 0 (q = 1:
 * the nuclear norm; q = 2: ||w||_F^2), by LAPACK's SVD in double; backward
 * is the (sub)gradient U diag(q sigma^(q-1)) V^T (near sigma = 0: see the
 * file). q <= 0 is refused when the node is built. */
mg_tensor *mg_schatten(mg_graph *g, mg_tensor *w, double q);

/* fused_sum.c ------------------------------------------------------------ */
/* One term of a fused sum: gather(t, idx) when idx is set, else t itself,
 * either of the output's size or a block of its trailing dims repeated
 * along the leading ones (a bias row, a position table). */
typedef struct {
    mg_tensor *t, *idx;
} mg_sum_term;
/* relu?(sum of the terms) in one op (at most MG_MAX_INPUTS inputs, a gather
 * counting two). Made by the fuse pass (ops/pass_fuse.c) from chains of add;
 * a model may also call it directly. */
mg_tensor *mg_fused_sum(mg_graph *g, int n, const mg_sum_term *terms, bool relu);

#endif
