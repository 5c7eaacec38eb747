/* hash.c — XXH3-64 fingerprints through libxxhash (see hash.h). */
#include "core/hash.h"

#include <xxhash.h>

uint64_t mg_hash_bytes(const void *p, size_t n) {
    static const char empty[1] = {0};
    return (uint64_t)XXH3_64bits(n ? p : empty, n);
}

uint64_t mg_hash_params(mg_params *p) {
    if (!mg_params_allocated(p)) return mg_hash_bytes(NULL, 0);
    return mg_hash_bytes(mg_params_data(p), mg_params_total(p) * sizeof(float));
}

void mg_hash_hex(uint64_t h, char out[17]) {
    static const char digits[] = "0123456789abcdef";
    for (int i = 15; i >= 0; i--) {
        out[i] = digits[h & 0xf];
        h >>= 4;
    }
    out[16] = '\0';
}
