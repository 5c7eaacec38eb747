/* gather.c — rows of a table by index (an embedding lookup).
 *
 * y[s..., :] = table[idx[s...], :];  dtable[idx[s...], :] += dy[s..., :]
 * The indices are runtime data, so forward checks them and fails with the
 * position and value of the first bad one. Backward scatter-adds, so a row
 * picked several times gets the sum of its rows of dy. */
#include <omp.h>
#include <stdio.h>
#include <string.h>

#include "core/gemm.h"
#include "core/op.h"
#include "ops/ops.h"

static mg_status gather_shape(mg_tensor *out) {
    const mg_tensor *t = out->in[0], *idx = out->in[1];
    char st[64], si[64];
    mg_shape_str(t, st, sizeof st);
    mg_shape_str(idx, si, sizeof si);
    if (t->dtype != MG_F32 || t->ndim != 2)
        return mg_fail(MG_ERR_SHAPE, "gather: the table must be a 2-D float (v, d), got %s %s",
                       t->dtype == MG_F32 ? "float" : "int", st);
    if (idx->dtype != MG_I32 || idx->ndim > MG_MAX_DIMS - 1)
        return mg_fail(MG_ERR_SHAPE,
                       "gather: indices must be int32 with at most %d dims, got %s %s (table %s)",
                       MG_MAX_DIMS - 1, idx->dtype == MG_I32 ? "int" : "float", si, st);
    out->dtype = MG_F32;
    out->ndim = idx->ndim + 1;
    for (int k = 0; k < idx->ndim; k++) out->shape[k] = idx->shape[k];
    out->shape[idx->ndim] = t->shape[1];
    return MG_OK;
}

/* "[1, 2]": the coordinates of flat position i of idx. */
static const char *position_str(const mg_tensor *idx, int64_t i, char *buf, size_t n) {
    int64_t coord[MG_MAX_DIMS];
    for (int k = idx->ndim - 1; k >= 0; k--) {
        coord[k] = i % idx->shape[k];
        i /= idx->shape[k];
    }
    size_t used = (size_t)snprintf(buf, n, "[");
    for (int k = 0; k < idx->ndim && used < n; k++)
        used +=
            (size_t)snprintf(buf + used, n - used, "%s%lld", k ? ", " : "", (long long)coord[k]);
    if (used < n) snprintf(buf + used, n - used, "]");
    return buf;
}

// table: (v, d), idx: (s...) in [0, v) -> y: (s..., d)
static mg_status gather_forward(mg_tensor *out) {
    const mg_tensor *tt = out->in[0], *ti = out->in[1];
    const float *table = tt->data;
    const int32_t *idx = mg_i32(ti);
    float *y = out->data;
    int64_t v = tt->shape[0], d = tt->shape[1], n = mg_numel(ti);
    for (int64_t i = 0; i < n; i++)
        if (idx[i] < 0 || idx[i] >= v) {
            char pos[64];
            return mg_fail(MG_ERR_ARG, "gather: index %d at position %s is outside [0, %lld)",
                           (int)idx[i], position_str(ti, i, pos, sizeof pos), (long long)v);
        }
#pragma omp parallel for schedule(static) num_threads(mg_kernel_threads(n *d))
    for (int64_t i = 0; i < n; i++)
        memcpy(y + i * d, table + (int64_t)idx[i] * d, (size_t)d * sizeof *y);
    return MG_OK;
}
// dy: (s..., d), idx: (s...) -> dtable: (v, d) += scatter of dy's rows
static void gather_backward(mg_tensor *out) {
    const mg_tensor *tt = out->in[0], *ti = out->in[1];
    float *dt = tt->grad;
    if (!dt) return;
    const int32_t *idx = mg_i32(ti);
    const float *dy = out->grad;
    int64_t d = tt->shape[1], n = mg_numel(ti);
    /* rows repeat, so threads split the columns: each owns a block of every
     * table row and adds the gathered rows in order (no races, same sums) */
    int nt = mg_kernel_threads(n * d);
#pragma omp parallel num_threads(nt)
    {
        int id = nt > 1 ? omp_get_thread_num() : 0;
        int64_t j0 = d * id / nt, j1 = d * (id + 1) / nt;
        for (int64_t i = 0; i < n; i++) {
            float *row = dt + (int64_t)idx[i] * d;
            const float *dr = dy + i * d;
            for (int64_t j = j0; j < j1; j++) row[j] += dr[j];
        }
    }
}

/* MG_OP_BWD_IN: backward reads the indices. */
const mg_op mg_op_gather = {
    .name = "gather",
    .arity = 2,
    .flags = MG_OP_BWD_IN,
    .shape = gather_shape,
    .forward = gather_forward,
    .backward = gather_backward,
};
MG_REGISTER_OP(mg_op_gather)

mg_tensor *mg_gather(mg_graph *g, mg_tensor *table, mg_tensor *idx) {
    return mg_apply(g, &mg_op_gather, 2, (mg_tensor *[]){table, idx}, NULL);
}
