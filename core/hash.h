/* hash.h — xxHash fingerprints of bytes and of a parameter store.
 *
 * All hashes are XXH3-64 (seed 0) from libxxhash, so any xxHash
 * implementation (Python's xxhash.xxh3_64, `xxhsum -H3`) reproduces them.
 * The parameter fingerprint hashes the store's contiguous data buffer as it
 * lies in memory: float32, little-endian on the machines we run on. */
#ifndef MG_HASH_H
#define MG_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "core/params.h"

/* XXH3-64 of n bytes at p (p may be NULL when n is 0). */
uint64_t mg_hash_bytes(const void *p, size_t n);

/* XXH3-64 of the whole data buffer (mg_params_total() floats): the run's
 * fingerprint. A store that is not allocated hashes as zero bytes. */
uint64_t mg_hash_params(mg_params *p);

/* h as 16 lowercase hex digits and a terminating NUL. */
void mg_hash_hex(uint64_t h, char out[17]);

#endif
