/* safetensors.c — writing and reading checkpoints as safetensors (see safetensors.h).
 *
 * The header is built and parsed with cJSON; the writer streams header and
 * tensor bytes into an atomic temporary (fsutil.h) rather than assembling
 * the whole file in memory. The reader loads the whole file, validates it
 * completely, and only then exposes tensors, so a caller never sees part of
 * a bad checkpoint. */
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

/* Tensor bytes are written and read as they lie in memory, and safetensors
 * is little-endian. */
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors.c assumes a little-endian host"
#endif

#define CHECKSUM_PREFIX "xxh3:"
#define METADATA_KEY "__metadata__"
/* The reference implementation refuses headers above 100 MB; a larger length
 * means the file is not a safetensors file at all. */
#define MAX_HEADER_BYTES (100u * 1000u * 1000u)

typedef struct {
    char *key, *value;
} st_meta;

typedef struct {
    char *name;
    int ndim;
    int64_t shape[MG_ST_MAX_DIMS];
    size_t nbytes;
    const float *data; /* writer: the caller's buffer; reader: into the file */
    size_t begin, end; /* reader: offsets in the data section */
} st_tensor;

struct mg_st_writer {
    st_tensor *t;
    int nt, cap_t;
    st_meta *m;
    int nm, cap_m;
};

struct mg_st_file {
    char *path;
    char *buf;      /* the whole file */
    float *aligned; /* a copy of the tensors, only if the file's were misaligned */
    st_tensor *t;
    int nt;
    st_meta *m;
    int nm;
};

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = mg_malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

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

/* "(256, 512)"; "()" for a scalar. */
static const char *fmt_shape(char *buf, size_t cap, int ndim, const int64_t *shape) {
    size_t k = (size_t)snprintf(buf, cap, "(");
    for (int i = 0; i < ndim && k < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%" PRId64, i ? ", " : "", shape[i]);
    if (k < cap) snprintf(buf + k, cap - k, ")");
    return buf;
}

/* ---- writer --------------------------------------------------------------- */

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
    t->name = dup_str(name);
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
    m->key = dup_str(key);
    m->value = dup_str(value);
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

/* Builds the JSON header; NULL if cJSON ran out of memory. */
static cJSON *build_header(const mg_st_writer *w) {
    cJSON *root = cJSON_CreateObject();
    cJSON *meta = cJSON_AddObjectToObject(root, METADATA_KEY);
    bool ok = root && meta;
    for (int i = 0; ok && i < w->nm; i++)
        ok = cJSON_AddStringToObject(meta, w->m[i].key, w->m[i].value) != NULL;
    size_t offset = 0;
    for (int i = 0; ok && i < w->nt; i++) {
        const st_tensor *t = &w->t[i];
        /* Hash of the bytes as written, so any reader can verify them. */
        char key[sizeof CHECKSUM_PREFIX + MG_ST_NAME_MAX], hex[17];
        snprintf(key, sizeof key, CHECKSUM_PREFIX "%s", t->name);
        snprintf(hex, sizeof hex, "%016" PRIx64, (uint64_t)XXH3_64bits(t->data, t->nbytes));
        ok = cJSON_AddStringToObject(meta, key, hex) != NULL;
        cJSON *obj = ok ? cJSON_AddObjectToObject(root, t->name) : NULL;
        cJSON *shape = obj ? cJSON_AddArrayToObject(obj, "shape") : NULL;
        ok = obj && cJSON_AddStringToObject(obj, "dtype", "F32") && shape;
        for (int d = 0; ok && d < t->ndim; d++)
            ok = cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)t->shape[d]));
        double offs[2] = {(double)offset, (double)(offset + t->nbytes)};
        ok = ok && cJSON_AddItemToObject(obj, "data_offsets", cJSON_CreateDoubleArray(offs, 2));
        offset += t->nbytes;
    }
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

/* ---- reader --------------------------------------------------------------- */

void mg_st_free(mg_st_file *f) {
    if (!f) return;
    for (int i = 0; i < f->nt; i++) mg_free(f->t[i].name);
    for (int i = 0; i < f->nm; i++) {
        mg_free(f->m[i].key);
        mg_free(f->m[i].value);
    }
    mg_free(f->t);
    mg_free(f->m);
    mg_free(f->aligned);
    mg_free(f->buf);
    mg_free(f->path);
    mg_free(f);
}

/* A JSON number that is a non-negative integer (safetensors sizes). */
static bool json_size(const cJSON *j, uint64_t *out) {
    if (!cJSON_IsNumber(j)) return false;
    double d = j->valuedouble;
    if (!(d >= 0 && d <= 9007199254740992.0) || d != floor(d)) return false;
    *out = (uint64_t)d;
    return true;
}

/* Parses one tensor entry of the header into t (name already set). */
static mg_status parse_tensor(const mg_st_file *f, const cJSON *j, st_tensor *t) {
    const char *path = f->path, *name = t->name;
    if (!cJSON_IsObject(j))
        return mg_fail(MG_ERR_FORMAT, "checkpoint %s: tensor '%s' is not a JSON object", path,
                       name);
    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(j, "dtype");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(j, "shape");
    const cJSON *offs = cJSON_GetObjectItemCaseSensitive(j, "data_offsets");
    if (!cJSON_IsString(dtype))
        return mg_fail(MG_ERR_FORMAT, "checkpoint %s: tensor '%s' has no dtype", path, name);
    if (strcmp(dtype->valuestring, "F32"))
        return mg_fail(MG_ERR_FORMAT,
                       "checkpoint %s: tensor '%s' has dtype %s; modgrad reads only F32", path,
                       name, dtype->valuestring);
    if (!cJSON_IsArray(shape) || cJSON_GetArraySize(shape) > MG_ST_MAX_DIMS)
        return mg_fail(MG_ERR_FORMAT,
                       "checkpoint %s: tensor '%s' has no valid shape (an array of at most %d "
                       "sizes)",
                       path, name, MG_ST_MAX_DIMS);
    uint64_t numel = 1;
    t->ndim = 0;
    for (const cJSON *d = shape->child; d; d = d->next) {
        uint64_t v;
        if (!json_size(d, &v))
            return mg_fail(MG_ERR_FORMAT, "checkpoint %s: tensor '%s' has a bad dimension", path,
                           name);
        t->shape[t->ndim++] = (int64_t)v;
        numel = (v && numel > UINT64_MAX / 4 / v) ? UINT64_MAX / 4 : numel * v;
    }
    uint64_t b, e;
    if (!cJSON_IsArray(offs) || cJSON_GetArraySize(offs) != 2 || !json_size(offs->child, &b) ||
        !json_size(offs->child->next, &e) || e < b)
        return mg_fail(MG_ERR_FORMAT,
                       "checkpoint %s: tensor '%s' has no valid data_offsets [begin, end]", path,
                       name);
    if (numel * 4 != e - b) {
        char sh[128];
        return mg_fail(MG_ERR_FORMAT,
                       "checkpoint %s: tensor '%s' has shape %s (%" PRIu64
                       " bytes of F32) but data_offsets span %" PRIu64 " bytes",
                       path, name, fmt_shape(sh, sizeof sh, t->ndim, t->shape), numel * 4, e - b);
    }
    t->begin = (size_t)b;
    t->end = (size_t)e;
    t->nbytes = (size_t)(e - b);
    return MG_OK;
}

/* Copies the metadata object (strings only) into f. */
static mg_status parse_meta(mg_st_file *f, const cJSON *j) {
    if (cJSON_IsNull(j)) return MG_OK;
    if (!cJSON_IsObject(j))
        return mg_fail(MG_ERR_FORMAT, "checkpoint %s: %s is not a JSON object", f->path,
                       METADATA_KEY);
    int n = cJSON_GetArraySize(j);
    f->m = mg_calloc((size_t)n + 1, sizeof *f->m);
    if (!f->m) return mg_fail(MG_ERR_NOMEM, "out of memory reading %s", f->path);
    for (const cJSON *c = j->child; c; c = c->next) {
        if (!cJSON_IsString(c))
            return mg_fail(MG_ERR_FORMAT, "checkpoint %s: metadata '%s' is not a string", f->path,
                           c->string);
        st_meta *m = &f->m[f->nm];
        m->key = dup_str(c->string);
        m->value = dup_str(c->valuestring);
        f->nm++; /* counted even if half-made: mg_st_free frees NULLs fine */
        if (!m->key || !m->value) return mg_fail(MG_ERR_NOMEM, "out of memory reading %s", f->path);
    }
    return MG_OK;
}

static int cmp_begin(const void *a, const void *b) {
    const st_tensor *x = *(const st_tensor *const *)a, *y = *(const st_tensor *const *)b;
    return x->begin < y->begin   ? -1
           : x->begin > y->begin ? 1
                                 : (x->end > y->end) - (x->end < y->end);
}

/* Checks that the tensors lie inside the data section, do not overlap and
 * leave no bytes after the last one. */
static mg_status check_layout(const mg_st_file *f, size_t data_size) {
    size_t max_end = 0;
    for (int i = 0; i < f->nt; i++)
        if (f->t[i].end > max_end) max_end = f->t[i].end;
    if (max_end > data_size)
        return mg_fail(MG_ERR_FORMAT,
                       "checkpoint %s is truncated: header says %zu bytes of data, file has %zu",
                       f->path, max_end, data_size);
    if (max_end < data_size)
        return mg_fail(MG_ERR_FORMAT,
                       "checkpoint %s: %zu bytes of data follow the last tensor (header says "
                       "%zu bytes of data, file has %zu)",
                       f->path, data_size - max_end, max_end, data_size);
    if (f->nt < 2) return MG_OK;
    const st_tensor **order = mg_malloc((size_t)f->nt * sizeof *order);
    if (!order) return mg_fail(MG_ERR_NOMEM, "out of memory reading %s", f->path);
    for (int i = 0; i < f->nt; i++) order[i] = &f->t[i];
    qsort(order, (size_t)f->nt, sizeof *order, cmp_begin);
    mg_status s = MG_OK;
    for (int i = 1; i < f->nt && s == MG_OK; i++)
        if (order[i]->begin < order[i - 1]->end && order[i]->nbytes && order[i - 1]->nbytes)
            s = mg_fail(MG_ERR_FORMAT, "checkpoint %s: tensors '%s' and '%s' overlap", f->path,
                        order[i - 1]->name, order[i]->name);
    mg_free(order);
    return s;
}

/* Points every tensor at its bytes; copies them to an aligned buffer when a
 * foreign writer left them misaligned for float access. */
static mg_status bind_data(mg_st_file *f, const char *data) {
    bool aligned = true;
    size_t total = 0;
    for (int i = 0; i < f->nt; i++) {
        aligned = aligned && ((uintptr_t)(data + f->t[i].begin) % sizeof(float)) == 0;
        total += f->t[i].nbytes;
    }
    if (aligned) {
        for (int i = 0; i < f->nt; i++) f->t[i].data = (const float *)(data + f->t[i].begin);
        return MG_OK;
    }
    f->aligned = mg_aligned_alloc(total ? total : 1);
    if (!f->aligned) return mg_fail(MG_ERR_NOMEM, "out of memory reading %s", f->path);
    char *dst = (char *)f->aligned;
    for (int i = 0; i < f->nt; i++) {
        memcpy(dst, data + f->t[i].begin, f->t[i].nbytes);
        f->t[i].data = (const float *)dst;
        dst += f->t[i].nbytes;
    }
    return MG_OK;
}

/* Verifies every "xxh3:<name>" of the metadata against the tensor's bytes. */
static mg_status check_checksums(const mg_st_file *f) {
    size_t plen = strlen(CHECKSUM_PREFIX);
    for (int i = 0; i < f->nm; i++) {
        const char *key = f->m[i].key, *val = f->m[i].value;
        if (strncmp(key, CHECKSUM_PREFIX, plen)) continue;
        int ti = mg_st_find(f, key + plen);
        if (ti < 0)
            return mg_fail(MG_ERR_FORMAT,
                           "checkpoint %s: metadata has a checksum for tensor '%s', which the file "
                           "does not contain",
                           f->path, key + plen);
        char *end;
        unsigned long long stored = strtoull(val, &end, 16);
        if (strlen(val) != 16 || *end)
            return mg_fail(MG_ERR_FORMAT,
                           "checkpoint %s: tensor '%s' has a malformed checksum '%s' (want 16 "
                           "hex digits)",
                           f->path, key + plen, val);
        uint64_t got = XXH3_64bits(f->t[ti].data, f->t[ti].nbytes);
        if (got != stored)
            return mg_fail(MG_ERR_FORMAT,
                           "checkpoint %s: tensor '%s' checksum mismatch (stored %s, computed "
                           "%016" PRIx64 "): the file is corrupt",
                           f->path, key + plen, val, got);
    }
    return MG_OK;
}

static mg_status load(mg_st_file *f) {
    size_t size;
    mg_status s = mg_read_file(f->path, &f->buf, &size);
    if (s != MG_OK) return s;
    const unsigned char *u = (const unsigned char *)f->buf;
    if (size < 8)
        return mg_fail(MG_ERR_FORMAT,
                       "checkpoint %s is truncated: %zu bytes, shorter than the 8-byte header "
                       "length",
                       f->path, size);
    uint64_t hlen = 0;
    for (int i = 0; i < 8; i++) hlen |= (uint64_t)u[i] << (8 * i);
    if (hlen > MAX_HEADER_BYTES)
        return mg_fail(MG_ERR_FORMAT,
                       "checkpoint %s is not a safetensors file (header length %" PRIu64
                       " is implausible)",
                       f->path, hlen);
    if (hlen > size - 8)
        return mg_fail(MG_ERR_FORMAT,
                       "checkpoint %s is truncated: header says %" PRIu64
                       " bytes of JSON header, file has %zu after the length",
                       f->path, hlen, size - 8);
    const char *hdr = f->buf + 8;
    if (hlen == 0 || hdr[0] != '{')
        return mg_fail(MG_ERR_FORMAT, "checkpoint %s: the header does not start with '{'", f->path);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(hdr, (size_t)hlen, &end, 0);
    if (!root)
        return mg_fail(MG_ERR_FORMAT, "checkpoint %s: the header is not valid JSON (at byte %td)",
                       f->path, end ? end - hdr : (ptrdiff_t)0);
    /* Only padding may follow the JSON object. */
    for (const char *c = end; s == MG_OK && c < hdr + hlen; c++)
        if (*c != ' ' && *c != '\n' && *c != '\r' && *c != '\t')
            s = mg_fail(MG_ERR_FORMAT, "checkpoint %s: garbage after the JSON header", f->path);
    if (s == MG_OK && !cJSON_IsObject(root))
        s = mg_fail(MG_ERR_FORMAT, "checkpoint %s: the header is not a JSON object", f->path);
    int n = s == MG_OK ? cJSON_GetArraySize(root) : 0;
    if (s == MG_OK && !(f->t = mg_calloc((size_t)n + 1, sizeof *f->t)))
        s = mg_fail(MG_ERR_NOMEM, "out of memory reading %s", f->path);
    bool seen_meta = false;
    for (const cJSON *c = s == MG_OK ? root->child : NULL; c && s == MG_OK; c = c->next) {
        if (!strcmp(c->string, METADATA_KEY)) {
            if (seen_meta)
                s = mg_fail(MG_ERR_FORMAT, "checkpoint %s: two %s entries", f->path, METADATA_KEY);
            else s = parse_meta(f, c);
            seen_meta = true;
            continue;
        }
        if (mg_st_find(f, c->string) >= 0) {
            s = mg_fail(MG_ERR_FORMAT, "checkpoint %s: tensor '%s' appears twice", f->path,
                        c->string);
            break;
        }
        st_tensor *t = &f->t[f->nt];
        if (!(t->name = dup_str(c->string))) {
            s = mg_fail(MG_ERR_NOMEM, "out of memory reading %s", f->path);
            break;
        }
        f->nt++;
        s = parse_tensor(f, c, t);
    }
    cJSON_Delete(root);
    if (s == MG_OK) s = check_layout(f, size - 8 - (size_t)hlen);
    if (s == MG_OK) s = bind_data(f, hdr + hlen);
    if (s == MG_OK) s = check_checksums(f);
    return s;
}

mg_status mg_st_load(const char *path, mg_st_file **out) {
    *out = NULL;
    if (!path || !*path) return mg_fail(MG_ERR_ARG, "mg_st_load needs a path");
    mg_st_file *f = mg_calloc(1, sizeof *f);
    if (f) f->path = dup_str(path);
    if (!f || !f->path) {
        mg_st_free(f);
        return mg_fail(MG_ERR_NOMEM, "out of memory reading %s", path);
    }
    mg_status s = load(f);
    if (s != MG_OK) {
        mg_st_free(f);
        return s;
    }
    *out = f;
    return MG_OK;
}

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
                        f->path, name, fmt_shape(have, sizeof have, t->ndim, t->shape),
                        fmt_shape(want, sizeof want, info->ndim, info->shape));
        }
    }
    for (int i = 0; i < np && s == MG_OK; i++) {
        const mg_param_info *info = mg_params_info(p, i);
        memcpy(base + info->offset, f->t[where[i]].data, f->t[where[i]].nbytes);
    }
    mg_free(where);
    return s;
}
