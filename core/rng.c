/* rng.c — xoshiro256** seeded by SplitMix64 (algorithm in rng.h). */
#include "core/rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void mg_rng_seed(mg_rng *r, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

uint64_t mg_rng_u64(mg_rng *r) {
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

float mg_rng_uniform(mg_rng *r) { return (float)(mg_rng_u64(r) >> 40) * 0x1.0p-24f; }

double mg_rng_normal(mg_rng *r) {
    double u1 = ((double)(mg_rng_u64(r) >> 11) + 1.0) * 0x1.0p-53;
    double u2 = (double)(mg_rng_u64(r) >> 11) * 0x1.0p-53;
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

uint64_t mg_rng_below(mg_rng *r, uint64_t n) {
    /* Lemire: multiply a 64-bit draw by n, reject the biased low band. */
    unsigned __int128 m = (unsigned __int128)mg_rng_u64(r) * n;
    uint64_t low = (uint64_t)m;
    if (low < n) {
        uint64_t threshold = -n % n;
        while (low < threshold) {
            m = (unsigned __int128)mg_rng_u64(r) * n;
            low = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

void mg_rng_shuffle(mg_rng *r, int32_t *v, int64_t n) {
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)mg_rng_below(r, (uint64_t)i + 1);
        int32_t tmp = v[i];
        v[i] = v[j];
        v[j] = tmp;
    }
}
