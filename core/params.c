/* params.c — the parameter store (see params.h). */
#include "core/params.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"

#define MG_LAYER_NAME_MAX 32

struct mg_params {
    mg_param_info *info;
    int n, cap;
    char (*layers)[MG_LAYER_NAME_MAX];
    int n_layers, cap_layers;
    size_t total;
    float *data, *grad;
};

mg_params *mg_params_new(void) {
    mg_params *p = mg_calloc(1, sizeof *p);
    if (!p) mg_fail(MG_ERR_NOMEM, "mg_params_new: out of memory");
    return p;
}

void mg_params_free(mg_params *p) {
    if (!p) return;
    mg_free(p->info);
    mg_free(p->layers);
    mg_free(p->data);
    mg_free(p->grad);
    mg_free(p);
}

static int layer_index(mg_params *p, const char *name) {
    char layer[MG_LAYER_NAME_MAX];
    size_t len = strcspn(name, ".");
    if (len >= sizeof layer) len = sizeof layer - 1;
    memcpy(layer, name, len);
    layer[len] = '\0';
    int found = mg_params_find_layer(p, layer);
    if (found >= 0) return found;
    if (p->n_layers == p->cap_layers) {
        int cap = p->cap_layers ? 2 * p->cap_layers : 8;
        void *grown = mg_realloc(p->layers, (size_t)cap * sizeof *p->layers);
        if (!grown) return -1;
        p->layers = grown;
        p->cap_layers = cap;
    }
    memcpy(p->layers[p->n_layers], layer, len + 1);
    return p->n_layers++;
}

mg_status mg_params_declare(mg_params *p, const char *name, mg_init init, int ndim,
                            const int64_t *shape, int *index) {
    if (!p || !name || !*name) return mg_fail(MG_ERR_ARG, "a parameter needs a name");
    if (strlen(name) >= MG_PARAM_NAME_MAX)
        return mg_fail(MG_ERR_ARG, "parameter name '%s' is longer than %d characters", name,
                       MG_PARAM_NAME_MAX - 1);
    if (ndim < 1 || ndim > MG_MAX_DIMS)
        return mg_fail(MG_ERR_SHAPE, "parameter '%s': %d dims; a parameter has 1 to %d", name, ndim,
                       MG_MAX_DIMS);
    size_t numel = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 1)
            return mg_fail(MG_ERR_SHAPE, "parameter '%s': dim %d is %lld; dims must be >= 1", name,
                           i, (long long)shape[i]);
        numel *= (size_t)shape[i];
    }
    int found = mg_params_find(p, name);
    if (found >= 0) {
        const mg_param_info *f = &p->info[found];
        bool same = f->ndim == ndim;
        for (int i = 0; same && i < ndim; i++) same = f->shape[i] == shape[i];
        if (!same) {
            char want[64], have[64];
            mg_tensor a = {.ndim = ndim}, b = {.ndim = f->ndim};
            memcpy(a.shape, shape, (size_t)ndim * sizeof *shape);
            memcpy(b.shape, f->shape, sizeof b.shape);
            return mg_fail(MG_ERR_SHAPE, "parameter '%s' exists with shape %s, asked for %s", name,
                           mg_shape_str(&b, have, sizeof have),
                           mg_shape_str(&a, want, sizeof want));
        }
        if (index) *index = found;
        return MG_OK;
    }
    if (p->data)
        return mg_fail(MG_ERR_STATE,
                       "parameter '%s' is new, but the store is already allocated; declare every "
                       "parameter before the first compile",
                       name);
    if (p->n == p->cap) {
        int cap = p->cap ? 2 * p->cap : 16;
        void *grown = mg_realloc(p->info, (size_t)cap * sizeof *p->info);
        if (!grown) return mg_fail(MG_ERR_NOMEM, "out of memory declaring parameter '%s'", name);
        p->info = grown;
        p->cap = cap;
    }
    int layer = layer_index(p, name);
    if (layer < 0) return mg_fail(MG_ERR_NOMEM, "out of memory declaring parameter '%s'", name);
    mg_param_info *info = &p->info[p->n];
    memset(info, 0, sizeof *info);
    snprintf(info->name, sizeof info->name, "%s", name);
    info->layer = layer;
    info->ndim = ndim;
    memcpy(info->shape, shape, (size_t)ndim * sizeof *shape);
    info->offset = p->total;
    info->numel = numel;
    info->init = init;
    p->total += numel;
    if (index) *index = p->n;
    p->n++;
    return MG_OK;
}

mg_status mg_params_alloc(mg_params *p) {
    if (!p) return mg_fail(MG_ERR_ARG, "mg_params_alloc: params is NULL");
    if (p->data) return MG_OK;
    p->data = mg_aligned_alloc((p->total ? p->total : 1) * sizeof(float));
    p->grad = mg_aligned_alloc((p->total ? p->total : 1) * sizeof(float));
    if (!p->data || !p->grad) {
        mg_free(p->data);
        mg_free(p->grad);
        p->data = p->grad = NULL;
        return mg_fail(MG_ERR_NOMEM, "out of memory allocating %zu parameters", p->total);
    }
    memset(p->data, 0, p->total * sizeof(float));
    memset(p->grad, 0, p->total * sizeof(float));
    return MG_OK;
}

bool mg_params_allocated(const mg_params *p) { return p && p->data; }

void mg_params_init(mg_params *p, mg_rng *rng) {
    if (!p || !p->data) return;
    for (int k = 0; k < p->n; k++) {
        const mg_param_info *info = &p->info[k];
        float *w = p->data + info->offset;
        for (size_t i = 0; i < info->numel; i++) {
            switch (info->init.kind) {
            case MG_INIT_ZEROS: w[i] = 0.0f; break;
            case MG_INIT_ONES: w[i] = 1.0f; break;
            case MG_INIT_NORMAL: w[i] = (float)(info->init.scale * mg_rng_normal(rng)); break;
            case MG_INIT_UNIFORM:
                w[i] = info->init.scale * (2.0f * mg_rng_uniform(rng) - 1.0f);
                break;
            }
        }
    }
}

int mg_params_count(const mg_params *p) { return p ? p->n : 0; }
const mg_param_info *mg_params_info(const mg_params *p, int i) {
    return p && i >= 0 && i < p->n ? &p->info[i] : NULL;
}
int mg_params_find(const mg_params *p, const char *name) {
    for (int i = 0; p && name && i < p->n; i++)
        if (strcmp(p->info[i].name, name) == 0) return i;
    return -1;
}
size_t mg_params_total(const mg_params *p) { return p ? p->total : 0; }
float *mg_params_data(mg_params *p) { return p ? p->data : NULL; }
float *mg_params_grad(mg_params *p) { return p ? p->grad : NULL; }
int mg_params_layer_count(const mg_params *p) { return p ? p->n_layers : 0; }
const char *mg_params_layer_name(const mg_params *p, int layer) {
    return p && layer >= 0 && layer < p->n_layers ? p->layers[layer] : NULL;
}
int mg_params_find_layer(const mg_params *p, const char *layer) {
    for (int i = 0; p && layer && i < p->n_layers; i++)
        if (strcmp(p->layers[i], layer) == 0) return i;
    return -1;
}
