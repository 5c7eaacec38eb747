/* optim.c — SGD with momentum, Adam and AdamW over a parameter store (see
 * optim.h for the formulas). Owns the optimizer state: the moment buffers,
 * the step count and the per-layer learning rates and weight decays. */
#include "core/optim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/text.h"

/* A setting as given (float) and as the decimal it was written as (double),
 * which is what PyTorch's Python floats hold; the scalar factors of a step
 * (1 - beta, lr / bc1, 1 - lr*wd) are formed from the latter. */
typedef struct {
    float lr, wd;
    double lr_d, wd_d;
} layer_set;

struct mg_optim {
    mg_params *p;
    mg_opt_cfg cfg;
    int64_t t;    /* steps taken */
    size_t n;     /* elements, = mg_params_total(p) */
    float *m, *v; /* (n) each, one allocation: v = m + n */
    int n_layers;
    layer_set *layers;   /* (n_layers) */
    double beta1, beta2; /* the settings as decimals, see decimal_of */
};

mg_opt_cfg mg_opt_defaults(mg_opt_kind kind) {
    mg_opt_cfg c = {.kind = kind, .beta1 = 0.9f, .beta2 = 0.98f, .eps = 1e-8f};
    switch (kind) {
    case MG_OPT_SGD:
        c.lr = 1e-2f;
        c.momentum = 0.9f;
        c.weight_decay = 0.0f;
        break;
    case MG_OPT_ADAM:
        c.lr = 1e-3f;
        c.weight_decay = 0.0f;
        break;
    case MG_OPT_ADAMW:
        c.lr = 1e-3f;
        c.weight_decay = 1.0f;
        break;
    }
    return c;
}

static const char *const kind_names[] = {"sgd", "adam", "adamw"};
#define N_KINDS ((int)(sizeof kind_names / sizeof kind_names[0]))
_Static_assert(N_KINDS == MG_OPT_ADAMW + 1, "one name per optimizer kind");

const char *mg_opt_kind_name(mg_opt_kind kind) {
    return (int)kind >= 0 && (int)kind < N_KINDS ? kind_names[kind] : "unknown";
}

mg_status mg_opt_kind_parse(const char *name, mg_opt_kind *out) {
    if (!name) return mg_fail(MG_ERR_ARG, "optimizer name is missing; use sgd, adam or adamw");
    for (int i = 0; i < N_KINDS; i++) {
        if (strcmp(name, kind_names[i]) == 0) {
            if (out) *out = (mg_opt_kind)i;
            return MG_OK;
        }
    }
    return mg_fail(MG_ERR_ARG, "unknown optimizer '%s'; use sgd, adam or adamw", name);
}

/* The shortest decimal that rounds to x, as a double: 0.98f -> 0.98, not
 * 0.980000019. A user writes "--beta2 0.98"; PyTorch then computes 1 - beta2
 * from the double 0.98, and so do we. */
static double decimal_of(float x) {
    char buf[32];
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, (double)x);
        double d = strtod(buf, NULL);
        if ((float)d == x) return d;
    }
    return (double)x;
}

static void set_lr(layer_set *l, float lr) {
    l->lr = lr;
    l->lr_d = decimal_of(lr);
}

static void set_wd(layer_set *l, float wd) {
    l->wd = wd;
    l->wd_d = decimal_of(wd);
}

/* A setting that must be finite and in [lo, hi) (hi_open) or [lo, hi]. */
static mg_status check_range(const char *what, float x, float lo, float hi, bool hi_open) {
    bool ok = isfinite(x) && x >= lo && (hi_open ? x < hi : x <= hi);
    if (ok) return MG_OK;
    return mg_fail(MG_ERR_ARG, "%s must be in [%g, %g%c, got %g", what, (double)lo, (double)hi,
                   hi_open ? ')' : ']', (double)x);
}

mg_status mg_opt_cfg_check(const mg_opt_cfg *c) {
    if (!c) return mg_fail(MG_ERR_ARG, "mg_opt_cfg_check: cfg is NULL");
    mg_status s;
    if ((int)c->kind < 0 || (int)c->kind >= N_KINDS)
        return mg_fail(MG_ERR_ARG, "--optimizer: kind %d is not one of sgd, adam, adamw",
                       (int)c->kind);
    if ((s = check_range("--lr", c->lr, 0.0f, INFINITY, false))) return s;
    if ((s = check_range("--wd", c->weight_decay, 0.0f, INFINITY, false))) return s;
    if (c->kind == MG_OPT_SGD) return check_range("--momentum", c->momentum, 0.0f, 1.0f, false);
    if ((s = check_range("--beta1", c->beta1, 0.0f, 1.0f, true))) return s;
    if ((s = check_range("--beta2", c->beta2, 0.0f, 1.0f, true))) return s;
    return check_range("--eps", c->eps, 0.0f, INFINITY, false);
}

mg_optim *mg_optim_new(mg_params *p, const mg_opt_cfg *cfg) {
    if (!p || !cfg) {
        mg_fail(MG_ERR_ARG, "mg_optim_new: params and cfg must not be NULL");
        return NULL;
    }
    if (!mg_params_allocated(p)) {
        mg_fail(MG_ERR_STATE, "mg_optim_new: the parameter store is not allocated; call "
                              "mg_params_alloc (or compile a graph) first");
        return NULL;
    }
    if (mg_opt_cfg_check(cfg) != MG_OK) return NULL;
    mg_optim *o = mg_calloc(1, sizeof *o);
    if (!o) {
        mg_fail(MG_ERR_NOMEM, "mg_optim_new: out of memory");
        return NULL;
    }
    o->p = p;
    o->cfg = *cfg;
    o->n = mg_params_total(p);
    o->n_layers = mg_params_layer_count(p);
    o->m = mg_aligned_alloc(2 * (o->n ? o->n : 1) * sizeof(float));
    o->layers = mg_calloc((size_t)(o->n_layers ? o->n_layers : 1), sizeof *o->layers);
    if (!o->m || !o->layers) {
        size_t n = o->n;
        mg_optim_free(o);
        mg_fail(MG_ERR_NOMEM, "mg_optim_new: out of memory for the state of %zu parameters", n);
        return NULL;
    }
    o->v = o->m + (o->n ? o->n : 1);
    memset(o->m, 0, 2 * (o->n ? o->n : 1) * sizeof(float));
    o->beta1 = decimal_of(cfg->beta1);
    o->beta2 = decimal_of(cfg->beta2);
    for (int l = 0; l < o->n_layers; l++) {
        set_lr(&o->layers[l], cfg->lr);
        set_wd(&o->layers[l], cfg->weight_decay);
    }
    return o;
}

void mg_optim_free(mg_optim *o) {
    if (!o) return;
    mg_free(o->m);
    mg_free(o->layers);
    mg_free(o);
}

const mg_opt_cfg *mg_optim_cfg(const mg_optim *o) { return o ? &o->cfg : NULL; }

/* The layer index of `layer`, or a failure naming it and the known layers. */
static mg_status find_layer(const mg_optim *o, const char *layer, int *out) {
    int l = mg_params_find_layer(o->p, layer);
    if (l >= 0) {
        *out = l;
        return MG_OK;
    }
    char known[512] = "";
    for (int i = 0; i < o->n_layers; i++)
        mg_list_add(known, sizeof known, mg_params_layer_name(o->p, i));
    return mg_fail(MG_ERR_ARG, "unknown layer '%s'; known layers: %s", layer ? layer : "(null)",
                   o->n_layers ? known : "(none)");
}

mg_status mg_optim_set_layer_lr(mg_optim *o, const char *layer, float lr) {
    if (!o) return mg_fail(MG_ERR_ARG, "mg_optim_set_layer_lr: optimizer is NULL");
    int l = -1;
    mg_status s = find_layer(o, layer, &l);
    if (s) return s;
    if (!isfinite(lr) || lr < 0.0f)
        return mg_fail(MG_ERR_ARG, "learning rate of layer '%s' must be finite and >= 0, got %g",
                       layer, (double)lr);
    set_lr(&o->layers[l], lr);
    return MG_OK;
}

mg_status mg_optim_set_layer_wd(mg_optim *o, const char *layer, float wd) {
    if (!o) return mg_fail(MG_ERR_ARG, "mg_optim_set_layer_wd: optimizer is NULL");
    int l = -1;
    mg_status s = find_layer(o, layer, &l);
    if (s) return s;
    if (!isfinite(wd) || wd < 0.0f)
        return mg_fail(MG_ERR_ARG, "weight decay of layer '%s' must be finite and >= 0, got %g",
                       layer, (double)wd);
    set_wd(&o->layers[l], wd);
    return MG_OK;
}

float mg_optim_layer_lr(const mg_optim *o, int layer) {
    return o && layer >= 0 && layer < o->n_layers ? o->layers[layer].lr : NAN;
}

float mg_optim_layer_wd(const mg_optim *o, int layer) {
    return o && layer >= 0 && layer < o->n_layers ? o->layers[layer].wd : NAN;
}

/* 1 when x is a NaN or an Inf (all exponent bits set), else 0: an integer
 * test, so the loops that OR it together still vectorise. */
static inline uint32_t not_finite(float x) {
    uint32_t b;
    memcpy(&b, &x, sizeof b);
    return (b & 0x7f800000u) == 0x7f800000u;
}

/* SGD over one range: w, g, buf: (n). first: no momentum history yet.
 * Returns whether a weight is not finite afterwards. */
static bool sgd_range(float *restrict w, const float *restrict grad, float *restrict buf, size_t n,
                      float lr, float wd, float momentum, bool first) {
    uint32_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        float g = grad[i] + wd * w[i];
        buf[i] = first ? g : momentum * buf[i] + g;
        w[i] -= lr * buf[i];
        bad |= not_finite(w[i]);
    }
    return bad != 0;
}

/* Adam's per-step constants, rounded to float once per step (per layer for
 * step): c1 = 1 - b1, c2 = 1 - b2, step = lr/bc1, sqrt_bc2 = sqrt(bc2). */
typedef struct {
    float b1, b2, c1, c2, eps, step, sqrt_bc2;
} adam_k;

/* Adam over one range: w, grad, m, v: (n). decay is AdamW's decoupled
 * factor 1 - lr*wd, applied to w first (1 for Adam: x * 1 is x), in the same
 * pass; wd is coupled L2 (0 for AdamW). Float arithmetic in PyTorch's order
 * of operations (w *= decay; v = b2 v + (1-b2) * (g*g); sqrt(v) divided by
 * sqrt(bc2), not multiplied by its inverse; w += -step * (m / denom)) so that
 * it rounds the same way. The loop vectorises: this file is compiled with
 * -fno-math-errno (CMakeLists.txt), without which sqrtf must be able to set
 * errno and stays a scalar call; vector sqrt and division round exactly as
 * the scalar ones (IEEE), so the bits are those of the scalar loop. */
static bool adam_range(float *restrict w, const float *restrict grad, float *restrict m,
                       float *restrict v, size_t n, float decay, float wd, const adam_k *k) {
    const float b1 = k->b1, b2 = k->b2, c1 = k->c1, c2 = k->c2;
    const float eps = k->eps, step = k->step, sqrt_bc2 = k->sqrt_bc2;
    uint32_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        float wi = w[i] * decay;
        float g = grad[i] + wd * wi;
        m[i] = b1 * m[i] + c1 * g;
        v[i] = b2 * v[i] + c2 * (g * g);
        float denom = sqrtf(v[i]) / sqrt_bc2 + eps;
        w[i] = wi - step * (m[i] / denom);
        bad |= not_finite(w[i]);
    }
    return bad != 0;
}

int mg_optim_step(mg_optim *o) {
    if (!o) return -1;
    float *data = mg_params_data(o->p);
    const float *grad = mg_params_grad(o->p);
    const mg_opt_cfg *c = &o->cfg;
    int64_t t = ++o->t;
    /* Scalars in double from the settings' decimals, as PyTorch forms them
     * from Python floats; each is rounded to float once. */
    double bc1 = 1.0 - pow(o->beta1, (double)t);
    double bc2 = 1.0 - pow(o->beta2, (double)t);
    adam_k k = {.b1 = c->beta1,
                .b2 = c->beta2,
                .c1 = (float)(1.0 - o->beta1),
                .c2 = (float)(1.0 - o->beta2),
                .eps = c->eps,
                .sqrt_bc2 = (float)sqrt(bc2)};
    int count = mg_params_count(o->p), bad_layer = -1;
    for (int i = 0; i < count; i++) {
        const mg_param_info *info = mg_params_info(o->p, i);
        const layer_set *L = &o->layers[info->layer];
        size_t off = info->offset, n = info->numel;
        float *w = data + off;
        bool bad = false;
        switch (c->kind) {
        case MG_OPT_SGD:
            bad = sgd_range(w, grad + off, o->m + off, n, L->lr, L->wd, c->momentum, t == 1);
            break;
        case MG_OPT_ADAM:
            k.step = (float)(L->lr_d / bc1);
            bad = adam_range(w, grad + off, o->m + off, o->v + off, n, 1.0f, L->wd, &k);
            break;
        case MG_OPT_ADAMW: {
            float decay = (float)(1.0 - L->lr_d * L->wd_d);
            k.step = (float)(L->lr_d / bc1);
            bad = adam_range(w, grad + off, o->m + off, o->v + off, n, decay, 0.0f, &k);
            break;
        }
        }
        if (bad && bad_layer < 0) bad_layer = info->layer;
    }
    return bad_layer;
}

int64_t mg_optim_steps(const mg_optim *o) { return o ? o->t : 0; }
void mg_optim_set_steps(mg_optim *o, int64_t steps) {
    if (o) o->t = steps < 0 ? 0 : steps;
}
float *mg_optim_m(mg_optim *o) { return o ? o->m : NULL; }
float *mg_optim_v(mg_optim *o) { return o ? o->v : NULL; }
