/* modular.c — the modular arithmetic tasks: labels, the seeded split, its
 * hash, and the six registered tasks (add, sub, mul, div, x2y2, x3xy). The
 * enumeration, split and hash layout are specified in modular.h. */
/* For the XXH3_state_t definition, so the hash state lives on the stack and
 * hashing allocates nothing. */
#define XXH_STATIC_LINKING_ONLY
#include "models/modular.h"

#include <math.h>
#include <string.h>
#include <xxhash.h>

#include "core/alloc.h"
#include "core/rng.h"

#define MG_MODULAR_NAME_(e, name, formula) #name,
static const char *const op_names[MG_TASK_N_OPS] = {MG_MODULAR_OPS(MG_MODULAR_NAME_)};
#undef MG_MODULAR_NAME_

#define MG_MODULAR_LIST_(e, name, formula) ", " #name
/* "add, sub, mul, div, x2y2, x3xy" (the first ", " skipped) */
#define MG_TASK_ALLOWED_OPS ((MG_MODULAR_OPS(MG_MODULAR_LIST_)) + 2)

mg_status mg_task_op_parse(const char *name, mg_task_op *out) {
    if (!name) return mg_fail(MG_ERR_ARG, "--task is missing; allowed: %s", MG_TASK_ALLOWED_OPS);
    for (int i = 0; i < MG_TASK_N_OPS; i++) {
        if (strcmp(name, op_names[i]) == 0) {
            *out = (mg_task_op)i;
            return MG_OK;
        }
    }
    return mg_fail(MG_ERR_ARG, "unknown --task '%s'; allowed: %s", name, MG_TASK_ALLOWED_OPS);
}

const char *mg_task_op_name(mg_task_op op) {
    if ((int)op < 0 || (int)op >= MG_TASK_N_OPS) return "?";
    return op_names[op];
}

bool mg_is_prime(int p) {
    if (p < 2) return false;
    if (p % 2 == 0) return p == 2;
    for (int d = 3; (int64_t)d * d <= p; d += 2)
        if (p % d == 0) return false;
    return true;
}

int mg_mod_inverse(int b, int p) {
    if (p < 2) return -1;
    /* Extended Euclid on (b mod p, p), in 64 bits so the coefficients cannot
     * overflow for any int inputs. */
    int64_t r0 = p, r1 = ((int64_t)b % p + p) % p;
    int64_t t0 = 0, t1 = 1;
    while (r1 != 0) {
        int64_t q = r0 / r1, tmp;
        tmp = r0 - q * r1, r0 = r1, r1 = tmp;
        tmp = t0 - q * t1, t0 = t1, t1 = tmp;
    }
    if (r0 != 1) return -1;
    return (int)((t0 % p + p) % p);
}

mg_status mg_modular_validate(const mg_modular_cfg *cfg) {
    if (!cfg) return mg_fail(MG_ERR_ARG, "mg_modular_validate: cfg is NULL");
    if ((int)cfg->op < 0 || (int)cfg->op >= MG_TASK_N_OPS)
        return mg_fail(MG_ERR_ARG, "--task has an unknown value (%d); allowed: %s", (int)cfg->op,
                       MG_TASK_ALLOWED_OPS);
    if (cfg->p < 2)
        return mg_fail(MG_ERR_ARG, "--p must be >= 2, got %d (allowed: 2 to %d)", cfg->p,
                       MG_TASK_P_MAX);
    if (cfg->p > MG_TASK_P_MAX)
        return mg_fail(MG_ERR_ARG, "--p must be <= %d, got %d (allowed: 2 to %d)", MG_TASK_P_MAX,
                       cfg->p, MG_TASK_P_MAX);
    /* Written as !(inside) so that NaN is refused too. */
    if (!(cfg->frac > 0.0 && cfg->frac < 1.0))
        return mg_fail(MG_ERR_ARG,
                       "--frac must be in (0, 1), got %g (the fraction of pairs used for training)",
                       cfg->frac);
    if (cfg->op == MG_TASK_DIV && !mg_is_prime(cfg->p)) {
        /* Point at the nearest primes in range, so the fix is one edit. */
        int lo = cfg->p - 1, hi = cfg->p + 1;
        while (lo >= 2 && !mg_is_prime(lo)) lo--;
        while (hi <= MG_TASK_P_MAX && !mg_is_prime(hi)) hi++;
        if (hi <= MG_TASK_P_MAX)
            return mg_fail(MG_ERR_ARG,
                           "--task div needs a prime --p (modular inverse), got %d; try --p %d or "
                           "--p %d",
                           cfg->p, lo, hi);
        return mg_fail(MG_ERR_ARG,
                       "--task div needs a prime --p (modular inverse), got %d; try --p %d", cfg->p,
                       lo);
    }
    return MG_OK;
}

/* op(a, b) mod p for a, b in 0..p-1. Every intermediate fits in 64 bits for
 * p <= MG_TASK_P_MAX (a^3 < 2^37). inv is the table of inverses (div only). */
static int32_t label(mg_task_op op, int64_t a, int64_t b, int64_t p, const int32_t *inv) {
    int64_t v = 0;
    switch (op) {
    case MG_TASK_ADD: v = a + b; break;
    case MG_TASK_SUB: v = a - b + p; break; /* + p keeps it non-negative */
    case MG_TASK_MUL: v = a * b; break;
    case MG_TASK_DIV: v = a * inv[b]; break;
    case MG_TASK_X2Y2: v = a * a + b * b; break;
    case MG_TASK_X3XY: v = a * a * a + a * b; break;
    }
    return (int32_t)(v % p);
}

mg_status mg_dataset_make(const mg_modular_cfg *cfg, mg_dataset **out) {
    if (!out) return mg_fail(MG_ERR_ARG, "mg_dataset_make: out is NULL");
    *out = NULL;
    mg_status s = mg_modular_validate(cfg);
    if (s != MG_OK) return s;

    const int p = cfg->p;
    const bool div = cfg->op == MG_TASK_DIV;
    /* Columns per row of the enumeration: div skips b = 0. */
    const int64_t m = div ? p - 1 : p;
    const int64_t n_pairs = (int64_t)p * m;
    const int64_t n_train = llround(cfg->frac * (double)n_pairs);
    const int64_t n_test = n_pairs - n_train;
    if (n_train < 1 || n_test < 1)
        return mg_fail(MG_ERR_ARG,
                       "--frac %g splits the %lld pairs of --p %d --task %s into %lld training and "
                       "%lld test pairs; both need at least 1: move --frac toward 0.5 or raise --p",
                       cfg->frac, (long long)n_pairs, p, mg_task_op_name(cfg->op),
                       (long long)n_train, (long long)n_test);

    mg_dataset *ds = mg_calloc(1, sizeof *ds);
    int32_t *data = mg_malloc((size_t)(3 * n_pairs) * sizeof(int32_t));
    int32_t *perm = mg_malloc((size_t)n_pairs * sizeof(int32_t));
    int32_t *inv = div ? mg_malloc((size_t)p * sizeof(int32_t)) : NULL;
    if (!ds || !data || !perm || (div && !inv)) {
        mg_free(ds), mg_free(data), mg_free(perm), mg_free(inv);
        return mg_fail(MG_ERR_NOMEM, "out of memory building the --p %d dataset (%lld pairs)", p,
                       (long long)n_pairs);
    }
    if (div) {
        inv[0] = 0; /* never read: b = 0 is skipped */
        for (int b = 1; b < p; b++) inv[b] = (int32_t)mg_mod_inverse(b, p);
    }

    for (int64_t i = 0; i < n_pairs; i++) perm[i] = (int32_t)i;
    mg_rng rng;
    mg_rng_seed(&rng, cfg->seed);
    mg_rng_shuffle(&rng, perm, n_pairs);

    /* One block for the six arrays, laid out in hash order. */
    ds->op = cfg->op;
    ds->p = p;
    ds->n_train = n_train;
    ds->n_test = n_test;
    ds->train_a = data;
    ds->train_b = ds->train_a + n_train;
    ds->train_y = ds->train_b + n_train;
    ds->test_a = ds->train_y + n_train;
    ds->test_b = ds->test_a + n_test;
    ds->test_y = ds->test_b + n_test;
    for (int64_t i = 0; i < n_pairs; i++) {
        int64_t a = perm[i] / m, b = perm[i] % m + (div ? 1 : 0);
        int32_t y = label(cfg->op, a, b, p, inv);
        int32_t *da = i < n_train ? ds->train_a : ds->test_a;
        int32_t *db = i < n_train ? ds->train_b : ds->test_b;
        int32_t *dy = i < n_train ? ds->train_y : ds->test_y;
        int64_t j = i < n_train ? i : i - n_train;
        da[j] = (int32_t)a, db[j] = (int32_t)b, dy[j] = y;
    }
    mg_free(perm);
    mg_free(inv);
    *out = ds;
    return MG_OK;
}

void mg_dataset_free(mg_dataset *ds) {
    if (!ds) return;
    mg_free(ds->train_a); /* the start of the one data block */
    mg_free(ds);
}

/* Feeds n int32 values to the hash as little-endian bytes, whatever the
 * host's byte order, so the hash is the same on every machine. */
static void hash_i32(XXH3_state_t *st, const int32_t *v, int64_t n) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    XXH3_64bits_update(st, v, (size_t)n * sizeof(int32_t));
#else
    unsigned char buf[4096];
    while (n > 0) {
        int64_t k = n < 1024 ? n : 1024;
        for (int64_t i = 0; i < k; i++) {
            uint32_t u = (uint32_t)v[i];
            buf[4 * i + 0] = (unsigned char)(u);
            buf[4 * i + 1] = (unsigned char)(u >> 8);
            buf[4 * i + 2] = (unsigned char)(u >> 16);
            buf[4 * i + 3] = (unsigned char)(u >> 24);
        }
        XXH3_64bits_update(st, buf, (size_t)k * 4);
        v += k, n -= k;
    }
#endif
}

uint64_t mg_dataset_hash(const mg_dataset *ds) {
    XXH3_state_t st;
#ifdef XXH3_INITSTATE
    XXH3_INITSTATE(&st); /* a stack state must be initialised before reset */
#endif
    XXH3_64bits_reset(&st);
    const int32_t head[2] = {ds->p, (int32_t)ds->n_train};
    hash_i32(&st, head, 2);
    hash_i32(&st, ds->train_a, ds->n_train);
    hash_i32(&st, ds->train_b, ds->n_train);
    hash_i32(&st, ds->train_y, ds->n_train);
    hash_i32(&st, ds->test_a, ds->n_test);
    hash_i32(&st, ds->test_b, ds->n_test);
    hash_i32(&st, ds->test_y, ds->n_test);
    return (uint64_t)XXH3_64bits_digest(&st);
}

/* --- the registered tasks ------------------------------------------------- */

static mg_modular_cfg modular_cfg(const mg_task_cfg *c) {
    return (mg_modular_cfg){
        .op = (mg_task_op)c->def->variant, .p = c->p, .frac = c->frac, .seed = c->seed};
}

static mg_status validate(const mg_task_cfg *c) {
    mg_modular_cfg m = modular_cfg(c);
    return mg_modular_validate(&m);
}

/* Rows "a b =" of a split, with their labels. */
static void to_rows(mg_rows *r, const int32_t *a, const int32_t *b, const int32_t *y, int p) {
    for (int64_t i = 0; i < r->n; i++) {
        int32_t *tok = r->tokens + 3 * i;
        tok[0] = a[i], tok[1] = b[i], tok[2] = p; /* "=" is token p */
        r->labels[i] = y[i];
    }
}

static mg_status open_task(mg_task *t) {
    mg_modular_cfg m = modular_cfg(&t->cfg);
    mg_dataset *ds = NULL;
    mg_status st = mg_dataset_make(&m, &ds);
    if (st) return st;
    t->state = ds;
    t->T = 3, t->V = m.p + 1, t->K = m.p;
    t->n_values = m.p;
    t->uniform_from = 2, t->uniform_len = 1; /* "=" in every row */
    if ((st = mg_rows_alloc(&t->train, ds->n_train, 3, 0))) return st;
    if ((st = mg_rows_alloc(&t->test, ds->n_test, 3, 0))) return st;
    to_rows(&t->train, ds->train_a, ds->train_b, ds->train_y, m.p);
    to_rows(&t->test, ds->test_a, ds->test_b, ds->test_y, m.p);
    t->hash = mg_dataset_hash(ds);
    return MG_OK;
}

static void close_task(mg_task *t) { mg_dataset_free(t->state); }

const mg_dataset *mg_modular_dataset(const mg_task *t) {
    return t && t->def && t->def->open == open_task ? t->state : NULL;
}

#define MG_MODULAR_DEF_(e, nm, formula)                                                            \
    static const mg_task_def mg_task_##nm = {                                                      \
        .name = #nm,                                                                               \
        .summary = "tokens 'a b =', label " formula " (--p, --frac: a fixed split)",               \
        .variant = MG_TASK_##e,                                                                    \
        .validate = validate,                                                                      \
        .open = open_task,                                                                         \
        .close = close_task,                                                                       \
    };                                                                                             \
    MG_REGISTER_TASK(mg_task_##nm)
MG_MODULAR_OPS(MG_MODULAR_DEF_)
