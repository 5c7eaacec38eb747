/* alloc.c — counted allocation wrappers (see alloc.h). */
#include "core/alloc.h"

#include <stdatomic.h>
#include <stdlib.h>

static atomic_uint_least64_t n_allocs;

static void *counted(void *p) {
    if (p) atomic_fetch_add_explicit(&n_allocs, 1, memory_order_relaxed);
    return p;
}

void *mg_malloc(size_t n) { return counted(malloc(n ? n : 1)); }
void *mg_calloc(size_t n, size_t size) { return counted(calloc(n ? n : 1, size ? size : 1)); }
void *mg_realloc(void *p, size_t n) { return counted(realloc(p, n ? n : 1)); }

void *mg_aligned_alloc(size_t n) {
    size_t rounded = (n + 63) / 64 * 64;
    return counted(aligned_alloc(64, rounded ? rounded : 64));
}

void mg_free(void *p) { free(p); }

uint64_t mg_alloc_count(void) { return atomic_load(&n_allocs); }
