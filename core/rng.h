/* rng.h — the seedable random number generator.
 *
 * Algorithm (documented so that other implementations can reproduce it):
 * xoshiro256** (Blackman & Vigna), its 256-bit state filled from the 64-bit
 * seed by four successive SplitMix64 outputs. Uniform floats take the top 24
 * bits of a draw (k * 2^-24, k in [0, 2^24)); normals use the Box-Muller
 * transform in double precision with the two uniforms u1 = (k1 + 1) * 2^-53,
 * u2 = k2 * 2^-53 (53-bit draws), returning the cosine branch only; integers
 * below n use Lemire's unbiased multiply-and-reject method. */
#ifndef MG_RNG_H
#define MG_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t s[4];
} mg_rng;

void mg_rng_seed(mg_rng *r, uint64_t seed);
uint64_t mg_rng_u64(mg_rng *r);
float mg_rng_uniform(mg_rng *r);              /* [0, 1) */
double mg_rng_normal(mg_rng *r);              /* N(0, 1) */
uint64_t mg_rng_below(mg_rng *r, uint64_t n); /* [0, n), n > 0 */
/* Fisher-Yates shuffle of v[0..n-1]: for i = n-1 down to 1, swap v[i] with
 * v[below(i + 1)]. */
void mg_rng_shuffle(mg_rng *r, int32_t *v, int64_t n);

#endif
