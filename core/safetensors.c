/* safetensors.c — writing checkpoints as safetensors, the header checksum,
 * and the accessors of a file read by safetensors_read.c (see safetensors.h).
 *
 * The header is built with cJSON; the writer streams header and tensor bytes
 * into an atomic temporary (fsutil.h) rather than assembling the whole file
 * in memory. */
#include "core/safetensors.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "core/alloc.h"
#include "core/fsutil.h"
#include "core/safetensors_impl.h"

struct mg_st_writer {
    st_tensor *t;
    int nt, cap_t;
    st_meta *m;
    int nm, cap_m;
};

/* Grows *arr (of elem-sized items) so that one more fits. */
static bool grow(void **arr, int n, int *cap, size_t elem) {
    if (n < *cap) return true;
    int c = *cap ? 2 * *cap : 16;
    void *g = mg_realloc(*arr, (size_t)c * elem);
    if (!g) return false;
    *arr = g;
    *cap = c;
    return true;
}

const char *mg_st_fmt_shape_(char *buf, size_t cap, int ndim, const int64_t *shape) {
    size_t k = (size_t)snprintf(buf, cap, "(");
    for (int i = 0; i < ndim && k < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%" PRId64, i ? ", " : "", shape[i]);
    if (k < cap) snprintf(buf + k, cap - k, ")");
    return buf;
}

/* ---- the header checksum ---------------------------------------------------- */

static void sum_u64(XXH3_state_t *s, uint64_t v) {
    unsigned char le[8];
    for (int i = 0; i < 8; i++) le[i] = (unsigned char)(v >> (8 * i));
    XXH3_64bits_update(s, le, sizeof le);
}

static void sum_str(XXH3_state_t *s, const char *str) {
    size_t n = strlen(str);
    sum_u64(s, n);
    XXH3_64bits_update(s, str, n);
}

static const st_meta *sort_m;
static const st_tensor *sort_t;
static int cmp_meta(const void *a, const void *b) {
    return strcmp(sort_m[*(const int *)a].key, sort_m[*(const int *)b].key);
}
static int cmp_tensor(const void *a, const void *b) {
    return strcmp(sort_t[*(const int *)a].name, sort_t[*(const int *)b].name);
}

bool mg_st_header_sum_(const st_meta *m, int nm, const st_tensor *t, int nt, uint64_t *out) {
    int *order = mg_malloc(((size_t)nm + (size_t)nt + 1) * sizeof *order);
    XXH3_state_t *s = XXH3_createState();
    if (!order || !s) {
        mg_free(order);
        XXH3_freeState(s);
        return false;
    }
    int k = 0;
    for (int i = 0; i < nm; i++)
        if (strcmp(m[i].key, HEADER_SUM_KEY)) order[k++] = i;
    /* qsort has no context argument in C11: the arrays go through statics
     * (the sort is over before this function returns). */
    sort_m = m;
    qsort(order, (size_t)k, sizeof *order, cmp_meta);
    XXH3_64bits_reset(s);
    sum_u64(s, (uint64_t)k);
    for (int i = 0; i < k; i++) {
        sum_str(s, m[order[i]].key);
        sum_str(s, m[order[i]].value);
    }
    for (int i = 0; i < nt; i++) order[i] = i;
    sort_t = t;
    qsort(order, (size_t)nt, sizeof *order, cmp_tensor);
    sum_u64(s, (uint64_t)nt);
    for (int i = 0; i < nt; i++) {
        const st_tensor *x = &t[order[i]];
        sum_str(s, x->name);
        sum_str(s, "F32");
        sum_u64(s, (uint64_t)x->ndim);
        for (int d = 0; d < x->ndim; d++) sum_u64(s, (uint64_t)x->shape[d]);
        sum_u64(s, x->begin);
        sum_u64(s, x->end);
    }
    *out = XXH3_64bits_digest(s);
    XXH3_freeState(s);
    mg_free(order);
    return true;
}

/* ---- writer ------------------------------------------------------------------ */

mg_st_writer *mg_st_writer_new(void) {
    mg_st_writer *w = mg_calloc(1, sizeof *w);
    if (!w) mg_fail(MG_ERR_NOMEM, "out of memory creating a safetensors writer");
    return w;
}

void mg_st_writer_free(mg_st_writer *w) {
    if (!w) return;
    for (int i = 0; i < w->nt; i++) mg_free(w->t[i].name);
    for (int i = 0; i < w->nm; i++) {
        mg_free(w->m[i].key);
        mg_free(w->m[i].value);
    }
    mg_free(w->t);
    mg_free(w->m);
    mg_free(w);
}

mg_status mg_st_add_f32(mg_st_writer *w, const char *name, int ndim, const int64_t *shape,
                        const float *data) {
    if (!w || !name || !*name) return mg_fail(MG_ERR_ARG, "a safetensors tensor needs a name");
    if (!strcmp(name, METADATA_KEY))
        return mg_fail(MG_ERR_ARG, "'%s' is reserved and cannot name a tensor", METADATA_KEY);
    if (strlen(name) > MG_ST_NAME_MAX)
        return mg_fail(MG_ERR_ARG, "tensor name '%.40s...' is longer than %d characters", name,
                       MG_ST_NAME_MAX);
    if (ndim < 0 || ndim > MG_ST_MAX_DIMS)
        return mg_fail(MG_ERR_SHAPE, "tensor '%s': %d dims; safetensors here allows 0 to %d", name,
                       ndim, MG_ST_MAX_DIMS);
    for (int i = 0; i < w->nt; i++)
        if (!strcmp(w->t[i].name, name))
            return mg_fail(MG_ERR_ARG, "tensor '%s' was added twice to a safetensors file", name);
    size_t numel = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return mg_fail(MG_ERR_SHAPE, "tensor '%s': dim %d is %" PRId64 "; dims must be >= 0",
                           name, i, shape[i]);
        if (shape[i] > 0 && numel > SIZE_MAX / 4 / (size_t)shape[i])
            return mg_fail(MG_ERR_SHAPE, "tensor '%s' is too large", name);
        numel *= (size_t)shape[i];
    }
    if (numel > 0 && !data) return mg_fail(MG_ERR_ARG, "tensor '%s' has no data", name);
    if (!grow((void **)&w->t, w->nt, &w->cap_t, sizeof *w->t))
        return mg_fail(MG_ERR_NOMEM, "out of memory adding tensor '%s'", name);
    st_tensor *t = &w->t[w->nt];
    memset(t, 0, sizeof *t);
    t->name = st_dup(name);
    if (!t->name) return mg_fail(MG_ERR_NOMEM, "out of memory adding tensor '%s'", name);
    t->ndim = ndim;
    if (ndim) memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
    t->nbytes = numel * sizeof(float);
    t->data = data;
    w->nt++;
    return MG_OK;
}

mg_status mg_st_add_meta(mg_st_writer *w, const char *key, const char *value) {
    if (!w || !key || !*key || !value)
        return mg_fail(MG_ERR_ARG, "safetensors metadata needs a key and a value");
    if (!strncmp(key, CHECKSUM_PREFIX, strlen(CHECKSUM_PREFIX)))
        return mg_fail(MG_ERR_ARG,
                       "metadata key '%s': keys starting with '%s' are reserved for "
                       "checksums",
                       key, CHECKSUM_PREFIX);
    for (int i = 0; i < w->nm; i++)
        if (!strcmp(w->m[i].key, key))
            return mg_fail(MG_ERR_ARG, "metadata key '%s' was added twice", key);
    if (!grow((void **)&w->m, w->nm, &w->cap_m, sizeof *w->m))
        return mg_fail(MG_ERR_NOMEM, "out of memory adding metadata '%s'", key);
    st_meta *m = &w->m[w->nm];
    m->key = st_dup(key);
    m->value = st_dup(value);
    if (!m->key || !m->value) {
        mg_free(m->key);
        mg_free(m->value);
        return mg_fail(MG_ERR_NOMEM, "out of memory adding metadata '%s'", key);
    }
    w->nm++;
    return MG_OK;
}

mg_status mg_st_add_store(mg_st_writer *w, const mg_params *p, const char *prefix,
                          const float *base) {
    if (!p || !base) return mg_fail(MG_ERR_ARG, "mg_st_add_store needs a store and a buffer");
    if (!prefix) prefix = "";
    char name[MG_ST_NAME_MAX + 1];
    for (int i = 0; i < mg_params_count(p); i++) {
        const mg_param_info *info = mg_params_info(p, i);
        if ((size_t)snprintf(name, sizeof name, "%s%s", prefix, info->name) >= sizeof name)
            return mg_fail(MG_ERR_ARG, "tensor name '%s%s' is too long", prefix, info->name);
        mg_status s = mg_st_add_f32(w, name, info->ndim, info->shape, base + info->offset);
        if (s != MG_OK) return s;
    }
    return MG_OK;
}

mg_status mg_st_add_params(mg_st_writer *w, mg_params *p, const char *prefix) {
    if (!p || !mg_params_allocated(p))
        return mg_fail(MG_ERR_STATE, "cannot save parameters before mg_params_alloc");
    return mg_st_add_store(w, p, prefix, mg_params_data(p));
}

/* Builds the JSON header; NULL if out of memory. The metadata object gets
 * the caller's entries, one "xxh3:<name>" per tensor (the XXH3-64 of its
 * bytes as written) and last the header checksum over all of it. */
static cJSON *build_header(mg_st_writer *w) {
    int nm = w->nm + w->nt + 1;
    st_meta *all = mg_calloc((size_t)nm, sizeof *all);
    char(*keys)[sizeof CHECKSUM_PREFIX + MG_ST_NAME_MAX] =
        mg_malloc(((size_t)w->nt + 1) * sizeof *keys);
    char(*hex)[17] = mg_malloc(((size_t)w->nt + 2) * sizeof *hex);
    cJSON *root = all && keys && hex ? cJSON_CreateObject() : NULL;
    cJSON *meta = cJSON_AddObjectToObject(root, METADATA_KEY);
    bool ok = root && meta;
    for (int i = 0; ok && i < w->nm; i++) all[i] = w->m[i];
    size_t offset = 0;
    for (int i = 0; ok && i < w->nt; i++) {
        st_tensor *t = &w->t[i];
        t->begin = offset;
        t->end = offset += t->nbytes;
        snprintf(keys[i], sizeof keys[i], CHECKSUM_PREFIX "%s", t->name);
        snprintf(hex[i], sizeof hex[i], "%016" PRIx64, (uint64_t)XXH3_64bits(t->data, t->nbytes));
        all[w->nm + i] = (st_meta){keys[i], hex[i]};
    }
    uint64_t sum = 0;
    ok = ok && mg_st_header_sum_(all, nm - 1, w->t, w->nt, &sum);
    if (ok) snprintf(hex[w->nt], sizeof hex[w->nt], "%016" PRIx64, sum);
    all[nm - 1] = (st_meta){HEADER_SUM_KEY, hex[w->nt]};
    for (int i = 0; ok && i < nm; i++)
        ok = cJSON_AddStringToObject(meta, all[i].key, all[i].value) != NULL;
    for (int i = 0; ok && i < w->nt; i++) {
        const st_tensor *t = &w->t[i];
        cJSON *obj = cJSON_AddObjectToObject(root, t->name);
        cJSON *shape = obj ? cJSON_AddArrayToObject(obj, "shape") : NULL;
        ok = obj && cJSON_AddStringToObject(obj, "dtype", "F32") && shape;
        for (int d = 0; ok && d < t->ndim; d++)
            ok = cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)t->shape[d]));
        double offs[2] = {(double)t->begin, (double)t->end};
        ok = ok && cJSON_AddItemToObject(obj, "data_offsets", cJSON_CreateDoubleArray(offs, 2));
    }
    mg_free(all);
    mg_free(keys);
    mg_free(hex);
    if (!ok) {
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

mg_status mg_st_save(mg_st_writer *w, const char *path) {
    if (!w || !path) return mg_fail(MG_ERR_ARG, "mg_st_save needs a writer and a path");
    cJSON *root = build_header(w);
    char *json = root ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (!json) return mg_fail(MG_ERR_NOMEM, "out of memory writing the header of %s", path);
    /* Pad the header with spaces (allowed by the format) so the data section
     * starts 8-byte aligned: readers can then use the bytes in place. */
    size_t len = strlen(json);
    size_t pad = (8 - (8 + len) % 8) % 8;
    uint64_t hlen = (uint64_t)(len + pad);
    unsigned char le[8];
    for (int i = 0; i < 8; i++) le[i] = (unsigned char)(hlen >> (8 * i));

    mg_atomic_file f;
    mg_status s = mg_atomic_open(&f, path);
    if (s == MG_OK) s = mg_atomic_write(&f, le, sizeof le);
    if (s == MG_OK) s = mg_atomic_write(&f, json, len);
    if (s == MG_OK) s = mg_atomic_write(&f, "        ", pad);
    for (int i = 0; s == MG_OK && i < w->nt; i++)
        s = mg_atomic_write(&f, w->t[i].data, w->t[i].nbytes);
    cJSON_free(json);
    if (s != MG_OK) {
        mg_atomic_abort(&f);
        return s;
    }
    return mg_atomic_commit(&f);
}

/* ---- accessors of a file read by safetensors_read.c -------------------------- */

int mg_st_count(const mg_st_file *f) { return f->nt; }
const char *mg_st_name(const mg_st_file *f, int i) { return f->t[i].name; }
const float *mg_st_data(const mg_st_file *f, int i) { return f->t[i].data; }
const char *mg_st_path(const mg_st_file *f) { return f->path; }

int mg_st_find(const mg_st_file *f, const char *name) {
    for (int i = 0; i < f->nt; i++)
        if (!strcmp(f->t[i].name, name)) return i;
    return -1;
}

void mg_st_shape(const mg_st_file *f, int i, int *ndim, int64_t *shape) {
    *ndim = f->t[i].ndim;
    for (int d = 0; d < f->t[i].ndim; d++) shape[d] = f->t[i].shape[d];
}

int64_t mg_st_numel(const mg_st_file *f, int i) {
    return (int64_t)(f->t[i].nbytes / sizeof(float));
}

const char *mg_st_meta(const mg_st_file *f, const char *key) {
    for (int i = 0; i < f->nm; i++)
        if (!strcmp(f->m[i].key, key)) return f->m[i].value;
    return NULL;
}

/* The value of key, or a message naming file and key. */
static mg_status meta_value(const mg_st_file *f, const char *key, const char **v) {
    if ((*v = mg_st_meta(f, key))) return MG_OK;
    return mg_fail(MG_ERR_FORMAT, "checkpoint %s has no \"%s\" metadata", f->path, key);
}

mg_status mg_st_meta_count(const mg_st_file *f, const char *key, int64_t max, int64_t *out) {
    const char *v;
    mg_status s = meta_value(f, key, &v);
    if (s != MG_OK) return s;
    size_t n = strlen(v);
    bool ok = n > 0 && n <= 18 && strspn(v, "0123456789") == n && (v[0] != '0' || n == 1);
    long long x = ok ? strtoll(v, NULL, 10) : -1; /* 18 digits cannot overflow */
    if (!ok || x > max)
        return mg_fail(MG_ERR_FORMAT,
                       "checkpoint %s: metadata \"%s\" is \"%.40s\"; it must be a whole number "
                       "from 0 to %" PRId64,
                       f->path, key, v, max);
    *out = (int64_t)x;
    return MG_OK;
}

mg_status mg_st_meta_finite(const mg_st_file *f, const char *key, double *out) {
    const char *v;
    mg_status s = meta_value(f, key, &v);
    if (s != MG_OK) return s;
    char *end;
    double x = strtod(v, &end);
    /* strtod would skip leading white space: the value must be the number */
    if (!v[0] || !strchr("0123456789+-.", v[0]) || end == v || *end || !isfinite(x))
        return mg_fail(MG_ERR_FORMAT,
                       "checkpoint %s: metadata \"%s\" is \"%.40s\"; it must be a finite "
                       "number",
                       f->path, key, v);
    *out = x;
    return MG_OK;
}

mg_status mg_st_read_store(const mg_st_file *f, const mg_params *p, const char *prefix,
                           float *base) {
    if (!f || !p || !base)
        return mg_fail(MG_ERR_ARG, "mg_st_read_store needs a file, store, buffer");
    if (!prefix) prefix = "";
    int np = mg_params_count(p);
    int *where = mg_malloc(((size_t)np + 1) * sizeof *where);
    if (!where) return mg_fail(MG_ERR_NOMEM, "out of memory reading %s", f->path);
    char name[MG_ST_NAME_MAX + 1];
    mg_status s = MG_OK;
    /* Every check before the first copy: base stays untouched on failure. */
    for (int i = 0; i < np && s == MG_OK; i++) {
        const mg_param_info *info = mg_params_info(p, i);
        snprintf(name, sizeof name, "%s%s", prefix, info->name);
        int ti = where[i] = mg_st_find(f, name);
        if (ti < 0) {
            s = mg_fail(MG_ERR_SHAPE, "checkpoint %s has no tensor '%s', which the model needs",
                        f->path, name);
            break;
        }
        const st_tensor *t = &f->t[ti];
        bool same = t->ndim == info->ndim;
        for (int d = 0; same && d < t->ndim; d++) same = t->shape[d] == info->shape[d];
        if (!same) {
            char have[128], want[128];
            s = mg_fail(MG_ERR_SHAPE,
                        "checkpoint %s: tensor '%s' has shape %s in the checkpoint but %s in the "
                        "model",
                        f->path, name, mg_st_fmt_shape_(have, sizeof have, t->ndim, t->shape),
                        mg_st_fmt_shape_(want, sizeof want, info->ndim, info->shape));
        }
    }
    for (int i = 0; i < np && s == MG_OK; i++) {
        const mg_param_info *info = mg_params_info(p, i);
        memcpy(base + info->offset, f->t[where[i]].data, f->t[where[i]].nbytes);
    }
    mg_free(where);
    return s;
}
