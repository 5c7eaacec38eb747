/* alloc.h — every heap allocation of the library goes through here.
 *
 * One counter of calls lets a test prove that a training step allocates
 * nothing: read mg_alloc_count() before and after the step. */
#ifndef MG_ALLOC_H
#define MG_ALLOC_H

#include <stddef.h>
#include <stdint.h>

void *mg_malloc(size_t n);
void *mg_calloc(size_t n, size_t size);
void *mg_realloc(void *p, size_t n);
/* 64-byte aligned; free with mg_free. */
void *mg_aligned_alloc(size_t n);
void mg_free(void *p);

/* Number of successful allocation calls (malloc, calloc, realloc, aligned)
 * made through this module since the program started. */
uint64_t mg_alloc_count(void);

#endif
