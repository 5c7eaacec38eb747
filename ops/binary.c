/* binary.c — elementwise ops of two inputs with NumPy broadcasting: add,
 * sub, mul.
 *
 * Shapes are right-aligned; a missing dim or a dim of 1 broadcasts; the
 * output takes the larger of each pair. The kernels pad both inputs to 4-D
 * with stride 0 on broadcast dims, so one index loop covers every case;
 * backward runs the same loop and so sums the gradient over the dims an
 * input was broadcast along (a bias (n) against (m, n) gets column sums).
 * Two fast paths cover the common cases of the models: equal shapes, and a
 * trailing block repeated along the leading dims of a full tensor (a bias
 * row (n) against (m, n), a position table (t, d) against (b, t, d)). */
#include <omp.h>
#include <stdio.h>
#include <string.h>

#include "core/gemm.h"
#include "core/op.h"
#include "ops/ops.h"

typedef enum { BIN_ADD, BIN_SUB, BIN_MUL } bin_kind;

static mg_status broadcast_shape(mg_tensor *out) {
    const mg_tensor *a = out->in[0], *b = out->in[1];
    char sa[64], sb[64];
    mg_shape_str(a, sa, sizeof sa);
    mg_shape_str(b, sb, sizeof sb);
    if (a->dtype != MG_F32 || b->dtype != MG_F32)
        return mg_fail(MG_ERR_SHAPE, "%s: inputs must be float, got %s %s and %s %s", out->op->name,
                       a->dtype == MG_F32 ? "float" : "int", sa,
                       b->dtype == MG_F32 ? "float" : "int", sb);
    int nd = a->ndim > b->ndim ? a->ndim : b->ndim;
    for (int k = 0; k < nd; k++) {
        /* dim k of the output, counted from the right in each input */
        int ka = a->ndim - nd + k, kb = b->ndim - nd + k;
        int64_t da = ka >= 0 ? a->shape[ka] : 1, db = kb >= 0 ? b->shape[kb] : 1;
        if (da != db && da != 1 && db != 1)
            return mg_fail(MG_ERR_SHAPE, "%s: shapes %s and %s do not broadcast", out->op->name, sa,
                           sb);
        out->shape[k] = da > db ? da : db;
    }
    out->ndim = nd;
    out->dtype = MG_F32;
    return MG_OK;
}

/* How the inputs line up with the output. */
typedef enum {
    LAYOUT_SAME,   /* both have the output's shape */
    LAYOUT_TAIL_B, /* a has the output's shape, b its trailing dims (a row, a block) */
    LAYOUT_TAIL_A, /* the same with a and b swapped */
    LAYOUT_GENERAL,
} bin_layout;

static bool same_numel_as_out(const mg_tensor *t, const mg_tensor *out) {
    return mg_numel(t) == mg_numel(out);
}

bool mg_is_trailing_block(const mg_tensor *t, const mg_tensor *out) {
    int64_t n = mg_numel(t), prod = 1;
    for (int k = 1; k <= t->ndim; k++) {
        int64_t dt = t->shape[t->ndim - k];
        if (prod == n) {
            if (dt != 1) return false;
        } else {
            if (k > out->ndim || dt != out->shape[out->ndim - k]) return false;
            prod *= dt;
        }
    }
    return prod == n;
}

static bin_layout layout_of(const mg_tensor *out) {
    const mg_tensor *a = out->in[0], *b = out->in[1];
    bool fa = same_numel_as_out(a, out), fb = same_numel_as_out(b, out);
    if (fa && fb) return LAYOUT_SAME;
    if (fa && mg_is_trailing_block(b, out)) return LAYOUT_TAIL_B;
    if (fb && mg_is_trailing_block(a, out)) return LAYOUT_TAIL_A;
    return LAYOUT_GENERAL;
}

/* Output shape padded to 4 dims (leading 1s) and t's contiguous strides
 * against it, 0 where t is broadcast. */
static void pad_strides(const mg_tensor *t, const mg_tensor *out, int64_t n[4], int64_t s[4]) {
    int64_t ts[MG_MAX_DIMS];
    mg_contiguous_strides(t->ndim, t->shape, ts);
    int lead = MG_MAX_DIMS - out->ndim;
    for (int k = 0; k < MG_MAX_DIMS; k++) {
        int ko = k - lead, kt = t->ndim - out->ndim + ko;
        n[k] = ko >= 0 ? out->shape[ko] : 1;
        s[k] = (kt >= 0 && t->shape[kt] != 1) ? ts[kt] : 0;
    }
}

static inline __attribute__((always_inline)) float combine(bin_kind kind, float x, float y) {
    switch (kind) {
    case BIN_ADD: return x + y;
    case BIN_SUB: return x - y;
    default: return x * y;
    }
}

// a: broadcastable to out, b: broadcastable to out -> out: (up to 4 dims)
static inline __attribute__((always_inline)) mg_status binary_forward(mg_tensor *out,
                                                                      bin_kind kind) {
    const mg_tensor *ta = out->in[0], *tb = out->in[1];
    const float *a = ta->data, *b = tb->data;
    float *y = out->data;
    int64_t total = mg_numel(out);
    switch (layout_of(out)) {
    case LAYOUT_SAME:
        _Pragma("omp parallel for schedule(static) num_threads(mg_kernel_threads(total))") for (
            int64_t i = 0; i < total; i++) y[i] = combine(kind, a[i], b[i]);
        return MG_OK;
    case LAYOUT_TAIL_B: {
        int64_t n = mg_numel(tb);
        _Pragma("omp parallel for schedule(static) num_threads(mg_kernel_threads(total))") for (
            int64_t r = 0; r < total; r += n) for (int64_t j = 0; j < n; j++) y[r + j] =
            combine(kind, a[r + j], b[j]);
        return MG_OK;
    }
    case LAYOUT_TAIL_A: {
        int64_t n = mg_numel(ta);
        _Pragma("omp parallel for schedule(static) num_threads(mg_kernel_threads(total))") for (
            int64_t r = 0; r < total; r += n) for (int64_t j = 0; j < n; j++) y[r + j] =
            combine(kind, a[j], b[r + j]);
        return MG_OK;
    }
    case LAYOUT_GENERAL: break;
    }
    int64_t n[4], sa[4], sb[4];
    pad_strides(ta, out, n, sa);
    pad_strides(tb, out, n, sb);
    for (int64_t i0 = 0; i0 < n[0]; i0++)
        for (int64_t i1 = 0; i1 < n[1]; i1++)
            for (int64_t i2 = 0; i2 < n[2]; i2++) {
                const float *ra = a + i0 * sa[0] + i1 * sa[1] + i2 * sa[2];
                const float *rb = b + i0 * sb[0] + i1 * sb[1] + i2 * sb[2];
                for (int64_t i3 = 0; i3 < n[3]; i3++)
                    *y++ = combine(kind, ra[i3 * sa[3]], rb[i3 * sb[3]]);
            }
    return MG_OK;
}

/* d(input which) += reduce over broadcast dims of sign * dy (* other input
 * for mul). dy: out's shape; dst: which's shape; other: the other input. */
static void accumulate_grad(const mg_tensor *out, int which, float sign, bool times_other) {
    const mg_tensor *t = out->in[which], *o = out->in[1 - which];
    float *dx = t->grad;
    const float *dy = out->grad, *ov = o->data;
    int64_t n[4], st[4], so[4];
    pad_strides(t, out, n, st);
    pad_strides(o, out, n, so);
    for (int64_t i0 = 0; i0 < n[0]; i0++)
        for (int64_t i1 = 0; i1 < n[1]; i1++)
            for (int64_t i2 = 0; i2 < n[2]; i2++) {
                float *rd = dx + i0 * st[0] + i1 * st[1] + i2 * st[2];
                const float *ro = ov + i0 * so[0] + i1 * so[1] + i2 * so[2];
                for (int64_t i3 = 0; i3 < n[3]; i3++, dy++)
                    rd[i3 * st[3]] += sign * (times_other ? *dy * ro[i3 * so[3]] : *dy);
            }
}

/* Fast paths of accumulate_grad: every layout but LAYOUT_GENERAL. With
 * write, the gradient is stored rather than added to (the first repeat of
 * a reduction stores, the others add). */
static inline __attribute__((always_inline)) bool
grad_fast(const mg_tensor *out, int which, float sign, bool times_other, bool write) {
    bin_layout lay = layout_of(out);
    const mg_tensor *t = out->in[which], *o = out->in[1 - which];
    float *dx = t->grad;
    const float *dy = out->grad, *ov = o->data;
    int64_t total = mg_numel(out);
    if (lay == LAYOUT_SAME) {
        _Pragma("omp parallel for schedule(static) num_threads(mg_kernel_threads(total))") for (
            int64_t i = 0; i < total; i++) {
            float v = sign * (times_other ? dy[i] * ov[i] : dy[i]);
            dx[i] = write ? v : dx[i] + v;
        }
        return true;
    }
    if (lay == LAYOUT_GENERAL) return false;
    bool t_is_tail = (lay == LAYOUT_TAIL_B) == (which == 1);
    int64_t n = mg_numel(t_is_tail ? t : o);
    if (t_is_tail) {
        /* sums over the repeats of dy (* the full other input): each thread
         * owns a block of the n sums and adds the repeats in order */
        int nt = mg_kernel_threads(total);
#pragma omp parallel num_threads(nt)
        {
            int id = nt > 1 ? omp_get_thread_num() : 0;
            int64_t j0 = n * id / nt, j1 = n * (id + 1) / nt;
            for (int64_t r = 0; r < total; r += n) {
                const float *d = dy + r;
                if (write && r == 0)
                    for (int64_t j = j0; j < j1; j++)
                        dx[j] = sign * (times_other ? d[j] * ov[r + j] : d[j]);
                else
                    for (int64_t j = j0; j < j1; j++)
                        dx[j] += sign * (times_other ? d[j] * ov[r + j] : d[j]);
            }
        }
        return true;
    }
    /* full gradient, the other input is the repeated block */
    _Pragma(
        "omp parallel for schedule(static) num_threads(mg_kernel_threads(total))") for (int64_t r =
                                                                                            0;
                                                                                        r < total;
                                                                                        r += n) {
        const float *d = dy + r;
        for (int64_t j = 0; j < n; j++) {
            float v = sign * (times_other ? d[j] * ov[j] : d[j]);
            dx[r + j] = write ? v : dx[r + j] + v;
        }
    }
    return true;
}

static void binary_backward_input(const mg_tensor *out, int which, float sign, bool times_other) {
    const mg_tensor *t = out->in[which];
    if (!t->grad) return;
    bool write = mg_grad_writes(out, which);
    if (write ? grad_fast(out, which, sign, times_other, true)
              : grad_fast(out, which, sign, times_other, false))
        return;
    if (write) memset(t->grad, 0, (size_t)mg_numel(t) * sizeof(float));
    accumulate_grad(out, which, sign, times_other);
}

/* y = a + b;  da += sum_bcast dy;  db += sum_bcast dy */
static mg_status add_forward(mg_tensor *out) { return binary_forward(out, BIN_ADD); }
static void add_backward(mg_tensor *out) {
    binary_backward_input(out, 0, 1.0f, false);
    binary_backward_input(out, 1, 1.0f, false);
}
const mg_op mg_op_add = {
    .name = "add",
    .arity = 2,
    .flags = MG_OP_ELEMENTWISE | MG_OP_BWD_WRITE,
    .shape = broadcast_shape,
    .forward = add_forward,
    .backward = add_backward,
};
MG_REGISTER_OP(mg_op_add)

/* y = a - b;  da += sum_bcast dy;  db -= sum_bcast dy */
static mg_status sub_forward(mg_tensor *out) { return binary_forward(out, BIN_SUB); }
static void sub_backward(mg_tensor *out) {
    binary_backward_input(out, 0, 1.0f, false);
    binary_backward_input(out, 1, -1.0f, false);
}
const mg_op mg_op_sub = {
    .name = "sub",
    .arity = 2,
    .flags = MG_OP_ELEMENTWISE | MG_OP_BWD_WRITE,
    .shape = broadcast_shape,
    .forward = sub_forward,
    .backward = sub_backward,
};
MG_REGISTER_OP(mg_op_sub)

/* y = a * b;  da += sum_bcast dy * b;  db += sum_bcast dy * a */
static mg_status mul_forward(mg_tensor *out) { return binary_forward(out, BIN_MUL); }
static void mul_backward(mg_tensor *out) {
    binary_backward_input(out, 0, 1.0f, true);
    binary_backward_input(out, 1, 1.0f, true);
}
const mg_op mg_op_mul = {
    .name = "mul",
    .arity = 2,
    .flags = MG_OP_ELEMENTWISE | MG_OP_BWD_IN | MG_OP_BWD_WRITE,
    .shape = broadcast_shape,
    .forward = mul_forward,
    .backward = mul_backward,
};
MG_REGISTER_OP(mg_op_mul)

mg_tensor *mg_add(mg_graph *g, mg_tensor *a, mg_tensor *b) {
    return mg_apply(g, &mg_op_add, 2, (mg_tensor *[]){a, b}, NULL);
}
mg_tensor *mg_sub(mg_graph *g, mg_tensor *a, mg_tensor *b) {
    return mg_apply(g, &mg_op_sub, 2, (mg_tensor *[]){a, b}, NULL);
}
mg_tensor *mg_mul(mg_graph *g, mg_tensor *a, mg_tensor *b) {
    return mg_apply(g, &mg_op_mul, 2, (mg_tensor *[]){a, b}, NULL);
}
