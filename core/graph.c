/* graph.c — building a graph: leaves, applying ops, sticky errors. */
#include "core/graph_impl.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"

mg_graph *mg_graph_new(mg_params *params) {
    if (!params) {
        mg_fail(MG_ERR_ARG, "mg_graph_new: params is NULL; create one with mg_params_new()");
        return NULL;
    }
    mg_graph *g = mg_calloc(1, sizeof *g);
    if (!g) {
        mg_fail(MG_ERR_NOMEM, "mg_graph_new: out of memory");
        return NULL;
    }
    g->params = params;
    return g;
}

void mg_graph_free(mg_graph *g) {
    if (!g) return;
    for (int i = 0; i < g->n_nodes; i++) mg_free(g->nodes[i]);
    mg_free(g->nodes);
    mg_free(g->kept);
    mg_free(g->arena);
    mg_free(g->inputs);
    mg_free(g->fwd);
    mg_free(g->bwd);
    mg_free(g->zero_at);
    mg_free(g->zero_ptr);
    mg_free(g->zero_len);
    mg_free(g->poison_at);
    mg_free(g->poison_ptr);
    mg_free(g->poison_len);
    mg_graph_readers_free(g);
    mg_free(g);
}

mg_params *mg_graph_params(mg_graph *g) { return g->params; }
mg_status mg_graph_status(const mg_graph *g) { return g->status; }
const char *mg_graph_error(const mg_graph *g) { return g->err; }
int mg_graph_node_count(const mg_graph *g) { return g->n_nodes; }
mg_tensor *mg_graph_node(const mg_graph *g, int i) {
    return i >= 0 && i < g->n_nodes ? g->nodes[i] : NULL;
}

mg_status mg_graph_fail(mg_graph *g, mg_status s, const char *fmt, ...) {
    if (g->status != MG_OK) return g->status; /* keep the first error */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g->err, sizeof g->err, fmt, ap);
    va_end(ap);
    g->status = s;
    mg_fail(s, "%s", g->err);
    return s;
}

/* Appends a zeroed node; NULL after recording an error. */
static mg_tensor *new_node(mg_graph *g) {
    if (g->compiled) {
        mg_graph_fail(g, MG_ERR_STATE,
                      "the graph is already compiled; build every tensor before mg_graph_compile");
        return NULL;
    }
    if (g->n_nodes == g->cap_nodes) {
        int cap = g->cap_nodes ? 2 * g->cap_nodes : 64;
        mg_tensor **nodes = mg_realloc(g->nodes, (size_t)cap * sizeof *nodes);
        bool *kept = nodes ? mg_realloc(g->kept, (size_t)cap * sizeof *kept) : NULL;
        if (nodes) g->nodes = nodes;
        if (!nodes || !kept) {
            mg_graph_fail(g, MG_ERR_NOMEM, "out of memory growing the graph to %d nodes", cap);
            return NULL;
        }
        g->kept = kept;
        g->cap_nodes = cap;
    }
    mg_tensor *t = mg_calloc(1, sizeof *t);
    if (!t) {
        mg_graph_fail(g, MG_ERR_NOMEM, "out of memory adding node #%d", g->n_nodes);
        return NULL;
    }
    t->graph = g;
    t->id = g->n_nodes;
    t->param_index = -1;
    t->root = t;
    g->kept[t->id] = false;
    g->nodes[g->n_nodes++] = t;
    return t;
}

static mg_status check_shape(mg_graph *g, const char *what, const char *name, int ndim,
                             const int64_t *shape) {
    if (ndim < 0 || ndim > MG_MAX_DIMS)
        return mg_graph_fail(g, MG_ERR_SHAPE, "%s '%s': %d dims; a tensor has 0 to %d", what, name,
                             ndim, MG_MAX_DIMS);
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 1)
            return mg_graph_fail(g, MG_ERR_SHAPE, "%s '%s': dim %d is %lld; dims must be >= 1",
                                 what, name, i, (long long)shape[i]);
    return MG_OK;
}

static void set_leaf_shape(mg_tensor *t, const char *name, mg_dtype dtype, int ndim,
                           const int64_t *shape) {
    snprintf(t->name, sizeof t->name, "%s", name);
    t->dtype = dtype;
    t->ndim = ndim;
    memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
    mg_contiguous_strides(ndim, t->shape, t->stride);
}

mg_tensor *mg_input(mg_graph *g, const char *name, mg_dtype dtype, int ndim, const int64_t *shape) {
    if (!g || g->status) return NULL;
    if (!name) name = "input";
    if (check_shape(g, "input", name, ndim, shape)) return NULL;
    mg_tensor *t = new_node(g);
    if (!t) return NULL;
    t->kind = MG_TENSOR_INPUT;
    set_leaf_shape(t, name, dtype, ndim, shape);
    return t;
}

mg_tensor *mg_param(mg_graph *g, const char *name, mg_init init, int ndim, const int64_t *shape) {
    if (!g || g->status) return NULL;
    if (!name || !*name) {
        mg_graph_fail(g, MG_ERR_ARG,
                      "a parameter needs a name (its layer is the part before the first dot)");
        return NULL;
    }
    if (check_shape(g, "parameter", name, ndim, shape)) return NULL;
    int index;
    if (mg_params_declare(g->params, name, init, ndim, shape, &index)) {
        mg_graph_fail(g, MG_ERR_SHAPE, "%s", mg_errmsg());
        return NULL;
    }
    mg_tensor *t = new_node(g);
    if (!t) return NULL;
    t->kind = MG_TENSOR_PARAM;
    t->param_index = index;
    t->requires_grad = true;
    set_leaf_shape(t, name, MG_F32, ndim, shape);
    return t;
}

mg_status mg_input_uniform(mg_tensor *t, int axis, int64_t start, int64_t len) {
    if (!t || t->kind != MG_TENSOR_INPUT)
        return mg_fail(MG_ERR_ARG, "mg_input_uniform: '%s' is not an input", t ? t->name : "NULL");
    if (axis < 1 || axis >= t->ndim || start < 0 || len < 1 || start + len > t->shape[axis])
        return mg_fail(MG_ERR_ARG,
                       "mg_input_uniform: '%s': axis %d, [%lld, %lld) is not a range of a dim "
                       "after the first",
                       t->name, axis, (long long)start, (long long)(start + len));
    t->attr.i[0] = axis + 1; /* 0: none declared */
    t->attr.i[1] = start;
    t->attr.i[2] = len;
    return MG_OK;
}

bool mg_input_uniform_part(const mg_tensor *t, int *axis, int64_t *start, int64_t *len) {
    if (!t || t->kind != MG_TENSOR_INPUT || t->attr.i[0] == 0) return false;
    *axis = (int)t->attr.i[0] - 1;
    *start = t->attr.i[1];
    *len = t->attr.i[2];
    return true;
}

void mg_graph_set_grad_write(mg_graph *g, bool on) {
    if (g) g->no_grad_write = !on;
}

mg_tensor *mg_name(mg_tensor *t, const char *name) {
    if (t && name) snprintf(t->name, sizeof t->name, "%s", name);
    return t;
}

void mg_graph_keep(mg_graph *g, mg_tensor *t) {
    if (g && t && t->graph == g) {
        g->kept[t->id] = true;
        g->readers_valid = false;
    }
}

bool mg_graph_is_kept(const mg_graph *g, const mg_tensor *t) {
    return g && t && t->graph == g && g->kept[t->id];
}

/* Where a node was made, for messages: "node #12 'hidden'". */
static const char *node_label(const mg_tensor *t, char *buf, size_t n) {
    if (t->name[0]) snprintf(buf, n, "node #%d '%s'", t->id, t->name);
    else snprintf(buf, n, "node #%d", t->id);
    return buf;
}

mg_tensor *mg_apply(mg_graph *g, const mg_op *op, int n_in, mg_tensor *const *in,
                    const mg_attr *attr) {
    if (!g || g->status) return NULL;
    if (!op) {
        mg_graph_fail(g, MG_ERR_ARG, "mg_apply: op is NULL");
        return NULL;
    }
    if (op->arity ? n_in != op->arity : (n_in < 1 || n_in > MG_MAX_INPUTS)) {
        if (op->arity)
            mg_graph_fail(g, MG_ERR_ARG, "%s takes %d input%s, got %d", op->name, op->arity,
                          op->arity == 1 ? "" : "s", n_in);
        else
            mg_graph_fail(g, MG_ERR_ARG, "%s takes 1 to %d inputs, got %d", op->name, MG_MAX_INPUTS,
                          n_in);
        return NULL;
    }
    mg_tensor *args[MG_MAX_INPUTS];
    for (int i = 0; i < n_in; i++) {
        args[i] = in ? in[i] : NULL;
        if (!args[i]) {
            mg_graph_fail(g, MG_ERR_ARG, "%s: input %d is NULL", op->name, i);
            return NULL;
        }
        if (args[i]->graph != g) {
            mg_graph_fail(g, MG_ERR_ARG, "%s: input %d ('%s') belongs to another graph", op->name,
                          i, args[i]->name);
            return NULL;
        }
        if (!(op->flags & MG_OP_STRIDED) && !mg_is_contiguous(args[i])) {
            args[i] = mg_apply(g, &mg_op_contiguous, 1, &args[i], NULL);
            if (!args[i]) return NULL;
        }
    }
    mg_tensor *t = new_node(g);
    if (!t) return NULL;
    t->op = op;
    t->n_in = n_in;
    for (int i = 0; i < n_in; i++) {
        t->in[i] = args[i];
        if (args[i]->requires_grad) t->requires_grad = true;
    }
    if (attr) t->attr = *attr;
    mg_clear_error();
    mg_status st = op->shape(t);
    if (st == MG_OK && (t->ndim < 0 || t->ndim > MG_MAX_DIMS))
        st = mg_fail(MG_ERR_SHAPE, "%s: produced %d dims (at most %d)", op->name, t->ndim,
                     MG_MAX_DIMS);
    if (st != MG_OK) {
        char where[96];
        const char *msg = *mg_errmsg() ? mg_errmsg() : "shape error";
        char copy[1024];
        snprintf(copy, sizeof copy, "%s", msg);
        mg_graph_fail(g, st, "%s (in %s)", copy, node_label(t, where, sizeof where));
        return NULL;
    }
    if (t->dtype != MG_F32) t->requires_grad = false;
    if (op->flags & MG_OP_VIEW) {
        t->root = args[0]->root;
    } else {
        mg_contiguous_strides(t->ndim, t->shape, t->stride);
        t->offset = 0;
    }
    return t;
}

mg_tensor *mg_apply_named(mg_graph *g, const char *op_name, int n_in, mg_tensor *const *in,
                          const mg_attr *attr) {
    if (!g || g->status) return NULL;
    const mg_op *op = mg_op_find(op_name);
    if (!op) {
        mg_graph_fail(g, MG_ERR_ARG, "%s", mg_errmsg());
        return NULL;
    }
    return mg_apply(g, op, n_in, in, attr);
}

float mg_scalar(const mg_tensor *t) { return t && t->data ? mg_f32(t)[0] : 0.0f; }
