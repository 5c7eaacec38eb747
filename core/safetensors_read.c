/* safetensors_read.c — the validating safetensors reader (see safetensors.h).
 *
 * The whole file is read, parsed with cJSON and checked completely (sizes,
 * duplicate keys, offsets tiling the data section, dtypes, shapes, checksums)
 * before a caller sees a single value, so nobody uses part of a bad file. */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "core/alloc.h"
#include "core/fsutil.h"
#include "core/safetensors.h"
#include "core/safetensors_impl.h"

/* The reference implementation refuses headers above 100 MB; a larger length
 * means the file is not a safetensors file at all. */
#define MAX_HEADER_BYTES (100u * 1000u * 1000u)

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

/* The first key that appears twice in object j, or NULL. Readers disagree on
 * which of two equal keys wins (cJSON the first, Python the last), so a file
 * with one means different things to different readers: refused. */
static const char *dup_key(const cJSON *j) {
    for (const cJSON *a = j->child; a; a = a->next)
        for (const cJSON *b = a->next; b; b = b->next)
            if (!strcmp(a->string, b->string)) return a->string;
    return NULL;
}

/* Parses one tensor entry of the header into t (name already set). */
static mg_status parse_tensor(const mg_st_file *f, const cJSON *j, st_tensor *t) {
    const char *path = f->path, *name = t->name;
    if (!cJSON_IsObject(j))
        return mg_fail(MG_ERR_FORMAT, "checkpoint %s: tensor '%s' is not a JSON object", path,
                       name);
    const char *dup = dup_key(j);
    if (dup)
        return mg_fail(MG_ERR_FORMAT, "checkpoint %s: tensor '%s' has the key '%s' twice", path,
                       name, dup);
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
                       path, name, mg_st_fmt_shape_(sh, sizeof sh, t->ndim, t->shape), numel * 4,
                       e - b);
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
    const char *dup = dup_key(j);
    if (dup)
        return mg_fail(MG_ERR_FORMAT, "checkpoint %s: metadata has the key '%s' twice", f->path,
                       dup);
    int n = cJSON_GetArraySize(j);
    f->m = mg_calloc((size_t)n + 1, sizeof *f->m);
    if (!f->m) return mg_fail(MG_ERR_NOMEM, "out of memory reading %s", f->path);
    for (const cJSON *c = j->child; c; c = c->next) {
        if (!cJSON_IsString(c))
            return mg_fail(MG_ERR_FORMAT, "checkpoint %s: metadata '%s' is not a string", f->path,
                           c->string);
        st_meta *m = &f->m[f->nm];
        m->key = st_dup(c->string);
        m->value = st_dup(c->valuestring);
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

/* Checks that the tensors tile the data section exactly, as the reference
 * implementation requires: in order of their offsets each begins where the
 * one before ends (a zero-size tensor included), the first at 0 and the last
 * ending at the end of the file. No hole, no overlap, nothing after. */
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
    if (f->nt == 0) return MG_OK;
    const st_tensor **order = mg_malloc((size_t)f->nt * sizeof *order);
    if (!order) return mg_fail(MG_ERR_NOMEM, "out of memory reading %s", f->path);
    for (int i = 0; i < f->nt; i++) order[i] = &f->t[i];
    qsort(order, (size_t)f->nt, sizeof *order, cmp_begin);
    mg_status s = MG_OK;
    if (order[0]->begin != 0)
        s = mg_fail(MG_ERR_FORMAT,
                    "checkpoint %s: the first %zu bytes of data belong to no tensor (the first "
                    "tensor, '%s', begins at %zu)",
                    f->path, order[0]->begin, order[0]->name, order[0]->begin);
    for (int i = 1; i < f->nt && s == MG_OK; i++) {
        const st_tensor *a = order[i - 1], *b = order[i];
        if (b->begin < a->end)
            s = mg_fail(MG_ERR_FORMAT, "checkpoint %s: tensors '%s' and '%s' overlap", f->path,
                        a->name, b->name);
        else if (b->begin > a->end)
            s = mg_fail(MG_ERR_FORMAT,
                        "checkpoint %s: %zu bytes between tensors '%s' and '%s' belong to no "
                        "tensor",
                        f->path, b->begin - a->end, a->name, b->name);
    }
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

/* Compares a stored checksum (16 hex digits) with the computed one. A fuzzing
 * build checks the form but not the value, so that mutated inputs get past
 * the checksums to the checks behind them. */
static mg_status compare_sum(const mg_st_file *f, const char *what, const char *val, uint64_t got) {
    char *end;
    unsigned long long stored = strtoull(val, &end, 16);
    if (strlen(val) != 16 || *end || strspn(val, "0123456789abcdefABCDEF") != 16)
        return mg_fail(MG_ERR_FORMAT,
                       "checkpoint %s: %s has a malformed checksum '%.40s' (want 16 hex digits)",
                       f->path, what, val);
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
    if (got != stored)
        return mg_fail(MG_ERR_FORMAT,
                       "checkpoint %s: %s checksum mismatch (stored %s, computed %016" PRIx64
                       "): the file is corrupt",
                       f->path, what, val, got);
#else
    (void)got;
    (void)stored;
#endif
    return MG_OK;
}

/* Verifies every checksum of the metadata: "xxh3:<name>" against the
 * tensor's bytes, "xxh3:__metadata__" against the header. With `required`
 * (modgrad's own files) every tensor and the header must have one. */
static mg_status check_checksums(const mg_st_file *f, bool required) {
    size_t plen = strlen(CHECKSUM_PREFIX);
    char what[MG_ST_NAME_MAX + 16];
    for (int i = 0; i < f->nm; i++) {
        const char *key = f->m[i].key, *val = f->m[i].value;
        if (strncmp(key, CHECKSUM_PREFIX, plen) || !strcmp(key, HEADER_SUM_KEY)) continue;
        int ti = mg_st_find(f, key + plen);
        if (ti < 0)
            return mg_fail(MG_ERR_FORMAT,
                           "checkpoint %s: metadata has a checksum for tensor '%.255s', which the "
                           "file does not contain",
                           f->path, key + plen);
        snprintf(what, sizeof what, "tensor '%s'", f->t[ti].name);
        mg_status s = compare_sum(f, what, val, XXH3_64bits(f->t[ti].data, f->t[ti].nbytes));
        if (s != MG_OK) return s;
    }
    if (required)
        for (int i = 0; i < f->nt; i++) {
            snprintf(what, sizeof what, CHECKSUM_PREFIX "%s", f->t[i].name);
            if (!mg_st_meta(f, what))
                return mg_fail(MG_ERR_FORMAT,
                               "checkpoint %s: tensor '%s' has no checksum (metadata '%s'); "
                               "modgrad writes one for every tensor, so this file was altered "
                               "or not written by modgrad",
                               f->path, f->t[i].name, what);
        }
    const char *hsum = mg_st_meta(f, HEADER_SUM_KEY);
    if (!hsum && required)
        return mg_fail(MG_ERR_FORMAT,
                       "checkpoint %s has no header checksum (metadata '%s'): its checksums "
                       "were removed, or it was written by a modgrad from before checkpoints "
                       "carried one, which this version refuses",
                       f->path, HEADER_SUM_KEY);
    if (!hsum) return MG_OK;
    uint64_t got;
    if (!mg_st_header_sum_(f->m, f->nm, f->t, f->nt, &got))
        return mg_fail(MG_ERR_NOMEM, "out of memory reading %s", f->path);
    return compare_sum(f, "the header (metadata and tensor table)", hsum, got);
}

static mg_status load(mg_st_file *f, bool required) {
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
        if (!(t->name = st_dup(c->string))) {
            s = mg_fail(MG_ERR_NOMEM, "out of memory reading %s", f->path);
            break;
        }
        f->nt++;
        s = parse_tensor(f, c, t);
    }
    cJSON_Delete(root);
    if (s == MG_OK) s = check_layout(f, size - 8 - (size_t)hlen);
    if (s == MG_OK) s = bind_data(f, hdr + hlen);
    if (s == MG_OK) s = check_checksums(f, required);
    return s;
}

static mg_status load_file(const char *path, bool required, mg_st_file **out) {
    *out = NULL;
    if (!path || !*path) return mg_fail(MG_ERR_ARG, "mg_st_load needs a path");
    mg_st_file *f = mg_calloc(1, sizeof *f);
    if (f) f->path = st_dup(path);
    if (!f || !f->path) {
        mg_st_free(f);
        return mg_fail(MG_ERR_NOMEM, "out of memory reading %s", path);
    }
    mg_status s = load(f, required);
    if (s != MG_OK) {
        mg_st_free(f);
        return s;
    }
    *out = f;
    return MG_OK;
}

mg_status mg_st_load(const char *path, mg_st_file **out) { return load_file(path, true, out); }

mg_status mg_st_load_foreign(const char *path, mg_st_file **out) {
    return load_file(path, false, out);
}
