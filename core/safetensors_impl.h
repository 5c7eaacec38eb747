/* safetensors_impl.h — private to safetensors.c (writer, accessors) and
 * safetensors_read.c (the validating reader): the in-memory form of a file
 * and the header checksum both sides compute. Nothing else includes it. */
#ifndef MG_SAFETENSORS_IMPL_H
#define MG_SAFETENSORS_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/alloc.h"
#include "core/safetensors.h"

/* Tensor bytes are written and read as they lie in memory, and safetensors
 * is little-endian. */
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors assumes a little-endian host"
#endif

#define CHECKSUM_PREFIX "xxh3:"
#define METADATA_KEY "__metadata__"
/* The header checksum's key: "__metadata__" can never name a tensor, so this
 * key never collides with a tensor's checksum. */
#define HEADER_SUM_KEY CHECKSUM_PREFIX METADATA_KEY

typedef struct {
    char *key, *value;
} st_meta;

typedef struct {
    char *name;
    int ndim;
    int64_t shape[MG_ST_MAX_DIMS];
    size_t nbytes;
    const float *data; /* writer: the caller's buffer; reader: into the file */
    size_t begin, end; /* offsets in the data section */
} st_tensor;

struct mg_st_file {
    char *path;
    char *buf;      /* the whole file */
    float *aligned; /* a copy of the tensors, only if the file's were misaligned */
    st_tensor *t;
    int nt;
    st_meta *m;
    int nm;
};

static inline char *st_dup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = mg_malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* "(256, 512)"; "()" for a scalar. */
const char *mg_st_fmt_shape_(char *buf, size_t cap, int ndim, const int64_t *shape);

/* The header checksum (safetensors.h, "The header checksum") of nm metadata
 * entries (the entry HEADER_SUM_KEY, if among them, is left out) and nt
 * tensors. False if out of memory. */
bool mg_st_header_sum_(const st_meta *m, int nm, const st_tensor *t, int nt, uint64_t *out);

#endif
