/* tensor.h — the tensor: a node of a graph with a shape, strides and data.
 *
 * A tensor is float32 (or int32 for indices and labels) with up to four
 * dimensions. shape/stride/offset are in elements; stride and offset are
 * relative to the tensor's storage root, so a transpose, permute or slice is
 * a view that shares its input's storage and costs no copy. A tensor knows
 * the op and inputs that made it. Its data, gradient and saved (aux) buffers
 * are bound when the graph is compiled: they point into the graph's planned
 * arena (or into the parameter store for parameters). */
#ifndef MG_TENSOR_H
#define MG_TENSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MG_MAX_DIMS 4
#define MG_MAX_INPUTS 8

typedef enum { MG_F32 = 0, MG_I32 = 1 } mg_dtype;

typedef enum {
    MG_TENSOR_OP = 0, /* made by an op */
    MG_TENSOR_INPUT,  /* a placeholder the caller writes before forward */
    MG_TENSOR_PARAM,  /* a trainable parameter, stored in an mg_params */
} mg_tensor_kind;

/* Small op settings, stored inline in the node (axis, scale, slice...). */
typedef struct {
    int64_t i[8];
    float f[4];
} mg_attr;

typedef struct mg_graph mg_graph;
typedef struct mg_op mg_op;
typedef struct mg_tensor mg_tensor;

struct mg_tensor {
    /* shape */
    int ndim;
    int64_t shape[MG_MAX_DIMS];
    int64_t stride[MG_MAX_DIMS]; /* elements, relative to the storage root */
    int64_t offset;              /* elements from the start of the root */
    mg_dtype dtype;

    /* how it was made */
    mg_tensor_kind kind;
    const mg_op *op; /* NULL for inputs and parameters */
    int n_in;
    mg_tensor *in[MG_MAX_INPUTS];
    mg_attr attr;
    char name[64];
    int id;          /* position in the graph's node list */
    int param_index; /* index in the parameter store, or -1 */
    mg_graph *graph;
    mg_tensor *root;    /* storage root: itself unless it is a view */
    bool requires_grad; /* some parameter reaches it */

    /* bound by mg_graph_compile */
    void *data;  /* element 0, i.e. root storage + offset */
    float *grad; /* contiguous, same shape; NULL when no gradient is needed */
    float *aux;  /* the op's saved buffer, live from its forward to its backward */
    /* bit i set: this node's backward is the first to write in[i]->grad and
     * stores (=) into it instead of adding (ops with MG_OP_BWD_WRITE only;
     * see core/op.h) */
    unsigned grad_write;
};

/* Number of elements. */
int64_t mg_numel(const mg_tensor *t);

/* Row-major contiguous strides for the shape (written into stride). */
void mg_contiguous_strides(int ndim, const int64_t *shape, int64_t *stride);

/* True when the strides are the row-major contiguous ones. */
bool mg_is_contiguous(const mg_tensor *t);

/* "(4704, 256)" into buf; returns buf. */
const char *mg_shape_str(const mg_tensor *t, char *buf, size_t n);

/* Typed views of the bound data. */
static inline float *mg_f32(const mg_tensor *t) { return (float *)t->data; }
static inline int32_t *mg_i32(const mg_tensor *t) { return (int32_t *)t->data; }

#endif
