/* params.h — the parameter store: named parameters in one contiguous buffer.
 *
 * Parameters, their gradients (and the optimizer's moments, in optim.c) each
 * live in one contiguous buffer, in declaration order, so the optimizer,
 * weight decay and per-layer norms are single loops over ranges. Several
 * graphs (a training graph and an evaluation graph of another batch size)
 * share one store: declaring a name that exists returns it if the shape
 * matches. The layer of a parameter is its name up to the first dot
 * ("hidden.w" -> "hidden"). */
#ifndef MG_PARAMS_H
#define MG_PARAMS_H

#include "core/error.h"
#include "core/rng.h"
#include "core/tensor.h"

typedef enum {
    MG_INIT_ZEROS = 0,
    MG_INIT_ONES,
    MG_INIT_NORMAL,  /* N(0, scale^2) */
    MG_INIT_UNIFORM, /* U(-scale, scale) */
} mg_init_kind;

typedef struct {
    mg_init_kind kind;
    float scale;
} mg_init;

#define MG_INIT_ZERO ((mg_init){MG_INIT_ZEROS, 0.0f})
#define MG_NORMAL(std) ((mg_init){MG_INIT_NORMAL, (float)(std)})
#define MG_UNIFORM(a) ((mg_init){MG_INIT_UNIFORM, (float)(a)})

#define MG_PARAM_NAME_MAX 64

typedef struct {
    char name[MG_PARAM_NAME_MAX];
    int layer; /* index into the store's layer list */
    int ndim;
    int64_t shape[MG_MAX_DIMS];
    size_t offset; /* first element in the data/grad buffers */
    size_t numel;
    mg_init init;
} mg_param_info;

typedef struct mg_params mg_params;

mg_params *mg_params_new(void); /* NULL (message set) on failure */
void mg_params_free(mg_params *p);

/* Declares a parameter (or finds it: same name and shape). *index gets its
 * position. Fails on an empty name, a bad shape, a name that exists with
 * another shape, or a new name after mg_params_alloc. */
mg_status mg_params_declare(mg_params *p, const char *name, mg_init init, int ndim,
                            const int64_t *shape, int *index);

/* Allocates the data and gradient buffers (zeroed). Idempotent. */
mg_status mg_params_alloc(mg_params *p);
bool mg_params_allocated(const mg_params *p);

/* Initialises every parameter from its mg_init, in declaration order, from
 * rng (so a seed gives the same parameters). Requires mg_params_alloc. */
void mg_params_init(mg_params *p, mg_rng *rng);

int mg_params_count(const mg_params *p);
const mg_param_info *mg_params_info(const mg_params *p, int i);
int mg_params_find(const mg_params *p, const char *name); /* -1 if absent */
size_t mg_params_total(const mg_params *p);               /* elements */
float *mg_params_data(mg_params *p);
float *mg_params_grad(mg_params *p);

/* Layers, in order of first appearance. */
int mg_params_layer_count(const mg_params *p);
const char *mg_params_layer_name(const mg_params *p, int layer);
int mg_params_find_layer(const mg_params *p, const char *layer); /* -1 if absent */

#endif
