/* view.c — views: permute (and transpose), slice, reshape.
 *
 * A view shares its input's storage: the shape function computes the view's
 * strides and offset from the input's, and there is no forward kernel. The
 * gradient of a view is a contiguous buffer of the view's shape; backward
 * adds it into the input's (contiguous) gradient at the positions the view
 * maps to. */
#include <stdio.h>
#include <string.h>

#include "core/gemm.h"
#include "core/op.h"
#include "ops/ops.h"

/* dx[map(i)] += dy[i] over the view's elements, where element i of the
 * view (row-major over out->shape) sits at sum_k idx_k * gs[k] + goff in the
 * input's contiguous gradient; with write, dx[map(i)] = dy[i] (the caller
 * makes sure the map covers dx or zeroes the rest). */
static void scatter_view_grad(const mg_tensor *out, const int64_t *gs, int64_t goff, float *dx,
                              bool write) {
    int64_t n[4] = {1, 1, 1, 1}, s[4] = {0, 0, 0, 0}, ys[4], ycs[MG_MAX_DIMS];
    int lead = MG_MAX_DIMS - out->ndim;
    mg_contiguous_strides(out->ndim, out->shape, ycs);
    for (int k = 0; k < 4; k++) ys[k] = 0;
    for (int k = 0; k < out->ndim; k++) {
        n[lead + k] = out->shape[k];
        s[lead + k] = gs[k];
        ys[lead + k] = ycs[k];
    }
    /* the innermost loop runs along the smallest gradient stride, so the
     * writes are contiguous where the view allows (dy is read strided) */
    int inner = 3;
    for (int k = 0; k < 3; k++)
        if (n[k] > 1 && (n[inner] == 1 || s[k] < s[inner])) inner = k;
    if (inner != 3) {
        int64_t t;
        t = n[3], n[3] = n[inner], n[inner] = t;
        t = s[3], s[3] = s[inner], s[inner] = t;
        t = ys[3], ys[3] = ys[inner], ys[inner] = t;
    }
    const float *dy = out->grad;
    /* a view maps its elements to distinct positions: rows never collide */
    int64_t outer = n[0] * n[1];
#pragma omp parallel for schedule(static) num_threads(mg_kernel_threads(mg_numel(out)))
    for (int64_t ab = 0; ab < outer; ab++) {
        int64_t a = ab / n[1], b = ab % n[1];
        for (int64_t c = 0; c < n[2]; c++) {
            float *row = dx + goff + a * s[0] + b * s[1] + c * s[2];
            const float *src = dy + a * ys[0] + b * ys[1] + c * ys[2];
            if (write)
                for (int64_t d = 0; d < n[3]; d++) row[d * s[3]] = src[d * ys[3]];
            else
                for (int64_t d = 0; d < n[3]; d++) row[d * s[3]] += src[d * ys[3]];
        }
    }
}

/* permute: out dim k is input dim perm[k] (attr.i[0..ndim-1]) ------------ */
static mg_status permute_shape(mg_tensor *out) {
    const mg_tensor *x = out->in[0];
    bool seen[MG_MAX_DIMS] = {false};
    for (int k = 0; k < x->ndim; k++) {
        int64_t p = out->attr.i[k];
        if (p < 0 || p >= x->ndim || seen[p]) {
            char sx[64];
            return mg_fail(MG_ERR_SHAPE, "permute: the permutation is not one of the %d dims of %s",
                           x->ndim, mg_shape_str(x, sx, sizeof sx));
        }
        seen[p] = true;
    }
    out->ndim = x->ndim;
    out->dtype = x->dtype;
    for (int k = 0; k < x->ndim; k++) {
        out->shape[k] = x->shape[out->attr.i[k]];
        out->stride[k] = x->stride[out->attr.i[k]];
    }
    out->offset = x->offset;
    return MG_OK;
}

static void permute_backward(mg_tensor *out) {
    const mg_tensor *x = out->in[0];
    if (!x->grad) return;
    int64_t xs[MG_MAX_DIMS], gs[MG_MAX_DIMS];
    mg_contiguous_strides(x->ndim, x->shape, xs);
    for (int k = 0; k < out->ndim; k++) gs[k] = xs[out->attr.i[k]];
    scatter_view_grad(out, gs, 0, x->grad, mg_grad_writes(out, 0)); /* a permutation covers dx */
}

const mg_op mg_op_permute = {
    .name = "permute",
    .arity = 1,
    .flags = MG_OP_VIEW | MG_OP_DISTINCT | MG_OP_STRIDED | MG_OP_BWD_WRITE,
    .shape = permute_shape,
    .backward = permute_backward,
};
MG_REGISTER_OP(mg_op_permute)

mg_tensor *mg_permute(mg_graph *g, mg_tensor *x, const int *perm) {
    mg_attr attr = {0};
    for (int k = 0; x && k < x->ndim; k++) attr.i[k] = perm[k];
    return mg_apply(g, &mg_op_permute, 1, &x, &attr);
}

bool mg_permute_order(const mg_tensor *t, int perm[MG_MAX_DIMS]) {
    if (t->op != &mg_op_permute) return false;
    for (int k = 0; k < MG_MAX_DIMS; k++) perm[k] = k < t->ndim ? (int)t->attr.i[k] : k;
    return true;
}

mg_tensor *mg_transpose(mg_graph *g, mg_tensor *x) {
    if (g && !mg_graph_status(g) && x && x->ndim < 2) {
        char sx[64];
        mg_graph_fail(g, MG_ERR_SHAPE, "transpose: needs at least 2 dims, got %s",
                      mg_shape_str(x, sx, sizeof sx));
        return NULL;
    }
    int perm[MG_MAX_DIMS] = {0, 1, 2, 3};
    if (x && x->ndim >= 2) {
        perm[x->ndim - 2] = x->ndim - 1;
        perm[x->ndim - 1] = x->ndim - 2;
    }
    return mg_permute(g, x, perm);
}

/* slice: x[..., start:start+len, ...] along an axis; attr.i[0..2] = axis,
 * start, len (the shape function resolves a negative axis) --------------- */
static mg_attr slice_attr(mg_slice_args s) { return (mg_attr){.i = {s.axis, s.start, s.len}}; }
static mg_slice_args slice_args(const mg_tensor *t) {
    return (mg_slice_args){(int)t->attr.i[0], t->attr.i[1], t->attr.i[2]};
}

static mg_status slice_shape(mg_tensor *out) {
    const mg_tensor *x = out->in[0];
    mg_slice_args s = slice_args(out);
    int64_t axis = s.axis, start = s.start, len = s.len;
    char sx[64];
    mg_shape_str(x, sx, sizeof sx);
    if (axis < 0) axis += x->ndim;
    if (axis < 0 || axis >= x->ndim)
        return mg_fail(MG_ERR_SHAPE, "slice: axis %d is out of range for %s", s.axis, sx);
    if (start < 0 || len < 1 || start + len > x->shape[axis])
        return mg_fail(MG_ERR_SHAPE, "slice: [%lld, %lld) is outside dim %lld of %s",
                       (long long)start, (long long)(start + len), (long long)axis, sx);
    s.axis = (int)axis;
    out->attr = slice_attr(s);
    out->ndim = x->ndim;
    out->dtype = x->dtype;
    memcpy(out->shape, x->shape, sizeof out->shape);
    memcpy(out->stride, x->stride, sizeof out->stride);
    out->shape[axis] = len;
    out->offset = x->offset + start * x->stride[axis];
    return MG_OK;
}

static void slice_backward(mg_tensor *out) {
    const mg_tensor *x = out->in[0];
    if (!x->grad) return;
    int64_t gs[MG_MAX_DIMS];
    mg_contiguous_strides(x->ndim, x->shape, gs);
    mg_slice_args s = slice_args(out);
    scatter_view_grad(out, gs, s.start * gs[s.axis], x->grad, false);
}

const mg_op mg_op_slice = {
    .name = "slice",
    .arity = 1,
    .flags = MG_OP_VIEW | MG_OP_DISTINCT | MG_OP_STRIDED,
    .shape = slice_shape,
    .backward = slice_backward,
};
MG_REGISTER_OP(mg_op_slice)

mg_tensor *mg_slice(mg_graph *g, mg_tensor *x, int axis, int64_t start, int64_t len) {
    mg_attr attr = slice_attr((mg_slice_args){axis, start, len});
    return mg_apply(g, &mg_op_slice, 1, &x, &attr);
}

bool mg_slice_args_of(const mg_tensor *t, mg_slice_args *s) {
    if (t->op != &mg_op_slice) return false;
    *s = slice_args(t);
    return true;
}

/* reshape: same elements, new shape; the input is contiguous (mg_apply
 * copies a view first), so the view keeps its offset and gets row-major
 * strides. attr.i[0] = ndim, attr.i[1..] = shape (one may be -1). ------- */
static mg_status reshape_shape(mg_tensor *out) {
    const mg_tensor *x = out->in[0];
    int ndim = (int)out->attr.i[0];
    char sx[64];
    mg_shape_str(x, sx, sizeof sx);
    if (ndim < 0 || ndim > MG_MAX_DIMS)
        return mg_fail(MG_ERR_SHAPE, "reshape: %d dims asked for %s (0 to %d)", ndim, sx,
                       MG_MAX_DIMS);
    int64_t known = 1;
    int infer = -1;
    for (int k = 0; k < ndim; k++) {
        int64_t d = out->attr.i[1 + k];
        if (d == -1 && infer < 0) infer = k;
        else if (d < 1)
            return mg_fail(MG_ERR_SHAPE, "reshape: dim %d is %lld for %s", k, (long long)d, sx);
        else known *= d;
    }
    out->ndim = ndim;
    out->dtype = x->dtype;
    for (int k = 0; k < ndim; k++) out->shape[k] = out->attr.i[1 + k];
    if (infer >= 0) {
        if (mg_numel(x) % known)
            return mg_fail(MG_ERR_SHAPE, "reshape: %lld elements of %s do not split by %lld",
                           (long long)mg_numel(x), sx, (long long)known);
        out->shape[infer] = mg_numel(x) / known;
    }
    if (mg_numel(out) != mg_numel(x)) {
        char so[64];
        return mg_fail(MG_ERR_SHAPE, "reshape: %s has %lld elements, %s has %lld", sx,
                       (long long)mg_numel(x), mg_shape_str(out, so, sizeof so),
                       (long long)mg_numel(out));
    }
    mg_contiguous_strides(ndim, out->shape, out->stride);
    out->offset = x->offset;
    return MG_OK;
}

static void reshape_backward(mg_tensor *out) {
    mg_tensor *x = out->in[0];
    if (!x->grad) return;
    int64_t n = mg_numel(out);
    if (mg_grad_writes(out, 0)) memcpy(x->grad, out->grad, (size_t)n * sizeof(float));
    else
        for (int64_t i = 0; i < n; i++) x->grad[i] += out->grad[i];
}

const mg_op mg_op_reshape = {
    .name = "reshape",
    .arity = 1,
    .flags = MG_OP_VIEW | MG_OP_DISTINCT | MG_OP_BWD_WRITE,
    .shape = reshape_shape,
    .backward = reshape_backward,
};
MG_REGISTER_OP(mg_op_reshape)

mg_tensor *mg_reshape(mg_graph *g, mg_tensor *x, int ndim, const int64_t *shape) {
    mg_attr attr = {.i = {ndim}};
    for (int k = 0; k < ndim && k < MG_MAX_DIMS; k++) attr.i[1 + k] = shape[k];
    return mg_apply(g, &mg_op_reshape, 1, &x, &attr);
}

/* expand: x (1, ...) -> (n, ...), every row the same storage (stride 0) -- */
static mg_status expand_shape(mg_tensor *out) {
    const mg_tensor *x = out->in[0];
    if (x->ndim < 1 || x->shape[0] != 1 || out->attr.i[0] < 1) {
        char sx[64];
        return mg_fail(MG_ERR_SHAPE, "expand: needs a first dim of 1 and n >= 1, got %s and n %lld",
                       mg_shape_str(x, sx, sizeof sx), (long long)out->attr.i[0]);
    }
    out->ndim = x->ndim;
    out->dtype = x->dtype;
    memcpy(out->shape, x->shape, sizeof out->shape);
    memcpy(out->stride, x->stride, sizeof out->stride);
    out->shape[0] = out->attr.i[0];
    out->stride[0] = 0;
    out->offset = x->offset;
    return MG_OK;
}

/* dx = sum over the rows of dy (each column's rows added in order) */
static void expand_backward(mg_tensor *out) {
    const mg_tensor *x = out->in[0];
    if (!x->grad) return;
    int64_t m = mg_numel(x), rows = out->shape[0];
    const float *dy = out->grad;
    float *dx = x->grad;
    if (mg_grad_writes(out, 0)) memcpy(dx, dy, (size_t)m * sizeof *dx);
    else
        for (int64_t j = 0; j < m; j++) dx[j] += dy[j];
    for (int64_t r = 1; r < rows; r++)
        for (int64_t j = 0; j < m; j++) dx[j] += dy[r * m + j];
}

const mg_op mg_op_expand = {
    .name = "expand",
    .arity = 1,
    .flags = MG_OP_VIEW | MG_OP_STRIDED | MG_OP_BWD_WRITE,
    .shape = expand_shape,
    .backward = expand_backward,
};
MG_REGISTER_OP(mg_op_expand)

mg_tensor *mg_expand(mg_graph *g, mg_tensor *x, int64_t n) {
    mg_attr attr = {.i = {n}};
    return mg_apply(g, &mg_op_expand, 1, &x, &attr);
}

mg_tensor *mg_expanded_row(const mg_tensor *t) {
    if (t->op == &mg_op_contiguous) t = t->in[0];
    return t->op == &mg_op_expand ? t->in[0] : NULL;
}

/* as_strided: any strides and offset over x's storage, x contiguous: what a
 * chain of views collapses to (ops/pass_views.c). attr.i[0] = ndim,
 * i[1] = offset, i[2 + k] = shape[k] | stride[k] << 32. ------------------ */
static mg_status as_strided_shape(mg_tensor *out) {
    const mg_tensor *x = out->in[0];
    int nd = (int)out->attr.i[0];
    int64_t last = out->attr.i[1];
    for (int k = 0; k < nd && k < MG_MAX_DIMS; k++) {
        out->shape[k] = out->attr.i[2 + k] & 0xffffffff;
        out->stride[k] = out->attr.i[2 + k] >> 32;
        last += (out->shape[k] - 1) * out->stride[k];
    }
    if (nd < 0 || nd > MG_MAX_DIMS || !mg_is_contiguous(x) || x->offset != 0 ||
        out->attr.i[1] < 0 || last >= mg_numel(x)) {
        char sx[64];
        return mg_fail(MG_ERR_SHAPE,
                       "as_strided: the view leaves the storage of %s (or it is not contiguous)",
                       mg_shape_str(x, sx, sizeof sx));
    }
    out->ndim = nd;
    out->dtype = x->dtype;
    out->offset = out->attr.i[1];
    return MG_OK;
}

static void as_strided_backward(mg_tensor *out) {
    mg_tensor *x = out->in[0];
    if (!x->grad) return;
    /* a map onto every element of x is a permutation: store; else add */
    bool write = mg_grad_writes(out, 0);
    if (write && mg_numel(out) != mg_numel(x)) {
        memset(x->grad, 0, (size_t)mg_numel(x) * sizeof(float));
        write = false;
    }
    scatter_view_grad(out, out->stride, out->offset, x->grad, write);
}

const mg_op mg_op_as_strided = {
    .name = "as_strided",
    .arity = 1,
    .flags = MG_OP_VIEW | MG_OP_DISTINCT | MG_OP_STRIDED | MG_OP_BWD_WRITE,
    .shape = as_strided_shape,
    .backward = as_strided_backward,
};
MG_REGISTER_OP(mg_op_as_strided)

mg_tensor *mg_as_strided(mg_graph *g, mg_tensor *x, int ndim, const int64_t *shape,
                         const int64_t *stride, int64_t offset) {
    mg_attr attr = {.i = {ndim, offset}};
    for (int k = 0; k < ndim && k < MG_MAX_DIMS; k++)
        attr.i[2 + k] = (shape[k] & 0xffffffff) | (stride[k] << 32);
    return mg_apply(g, &mg_op_as_strided, 1, &x, &attr);
}

mg_tensor *mg_contiguous(mg_graph *g, mg_tensor *x) {
    return mg_apply(g, &mg_op_contiguous, 1, &x, NULL);
}
