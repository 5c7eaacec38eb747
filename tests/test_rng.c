/* test_rng.c — the random number generator: reference outputs of
 * xoshiro256** seeded by SplitMix64, and the statistics of uniform, normal,
 * bounded-integer and shuffle draws. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "core/rng.h"

/* First six mg_rng_u64 outputs after mg_rng_seed(seed). Produced once by an
 * independent Python reimplementation (integers masked to 64 bits): state
 * s[0..3] = four successive SplitMix64 outputs from x = seed (x +=
 * 0x9e3779b97f4a7c15; z = x; z = (z ^ z>>30) * 0xbf58476d1ce4e5b9;
 * z = (z ^ z>>27) * 0x94d049bb133111eb; out = z ^ z>>31), then xoshiro256**
 * (result = rotl(s1 * 5, 7) * 9; t = s1 << 17; s2 ^= s0; s3 ^= s1;
 * s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = rotl(s3, 45)). */
static const uint64_t SEED0[6] = {0x99ec5f36cb75f2b4ULL, 0xbf6e1f784956452aULL,
                                  0x1a5f849d4933e6e0ULL, 0x6aa594f1262d2d2cULL,
                                  0xbba5ad4a1f842e59ULL, 0xffef8375d9ebcacaULL};
static const uint64_t SEED42[6] = {0x15780b2e0c2ec716ULL, 0x6104d9866d113a7eULL,
                                   0xae17533239e499a1ULL, 0xecb8ad4703b360a1ULL,
                                   0xfde6dc7fe2ec5e64ULL, 0xc50da53101795238ULL};

Test(rng, first_outputs_match_reference_for_seed_0_and_42) {
    mg_rng r;
    mg_rng_seed(&r, 0);
    for (int i = 0; i < 6; i++) cr_assert_eq(mg_rng_u64(&r), SEED0[i], "seed 0, output %d", i);
    mg_rng_seed(&r, 42);
    for (int i = 0; i < 6; i++) cr_assert_eq(mg_rng_u64(&r), SEED42[i], "seed 42, output %d", i);
}

Test(rng, same_seed_same_stream_other_seed_other_stream) {
    mg_rng a, b, c;
    mg_rng_seed(&a, 7);
    mg_rng_seed(&b, 7);
    mg_rng_seed(&c, 8);
    int differ = 0;
    for (int i = 0; i < 100; i++) {
        uint64_t x = mg_rng_u64(&a);
        cr_assert_eq(x, mg_rng_u64(&b));
        differ += x != mg_rng_u64(&c);
    }
    cr_assert_eq(differ, 100);
}

Test(rng, uniform_is_in_unit_interval_with_mean_one_half) {
    mg_rng r;
    mg_rng_seed(&r, 1);
    const int n = 100000;
    double sum = 0, sum2 = 0;
    for (int i = 0; i < n; i++) {
        float u = mg_rng_uniform(&r);
        cr_assert(u >= 0.0f && u < 1.0f, "draw %d: %.9g", i, (double)u);
        sum += u;
        sum2 += (double)u * u;
    }
    double mean = sum / n, var = sum2 / n - mean * mean;
    /* Standard error of the mean: sqrt(1/12 / n) = 0.0009; allow 5 of them. */
    cr_assert_float_eq(mean, 0.5, 0.0046, "mean %.5f", mean);
    cr_assert_float_eq(var, 1.0 / 12, 0.002, "variance %.5f", var);
}

Test(rng, normal_has_mean_zero_and_variance_one) {
    mg_rng r;
    mg_rng_seed(&r, 2);
    const int n = 100000;
    double sum = 0, sum2 = 0;
    for (int i = 0; i < n; i++) {
        double z = mg_rng_normal(&r);
        cr_assert(isfinite(z));
        sum += z;
        sum2 += z * z;
    }
    double mean = sum / n, var = sum2 / n - mean * mean;
    /* SE of the mean 1/sqrt(n) = 0.0032; SE of the variance sqrt(2/n) =
     * 0.0045; allow 5 of each. */
    cr_assert_float_eq(mean, 0.0, 0.016, "mean %.5f", mean);
    cr_assert_float_eq(var, 1.0, 0.023, "variance %.5f", var);
}

Test(rng, below_stays_below_n_and_is_roughly_uniform) {
    mg_rng r;
    mg_rng_seed(&r, 3);
    enum { N = 10, DRAWS = 100000 };
    int count[N] = {0};
    for (int i = 0; i < DRAWS; i++) {
        uint64_t k = mg_rng_below(&r, N);
        cr_assert_lt(k, (uint64_t)N);
        count[k]++;
    }
    /* Chi-square with 9 degrees of freedom: P(> 27.9) = 0.001. */
    double chi2 = 0, expect = (double)DRAWS / N;
    for (int k = 0; k < N; k++) chi2 += (count[k] - expect) * (count[k] - expect) / expect;
    cr_assert_lt(chi2, 27.9, "chi-square %.2f", chi2);
    /* Edge cases: n = 1 always gives 0; a large n that is not a power of two. */
    for (int i = 0; i < 100; i++) cr_assert_eq(mg_rng_below(&r, 1), 0);
    const uint64_t big = (UINT64_MAX / 3) * 2 + 1;
    for (int i = 0; i < 1000; i++) cr_assert_lt(mg_rng_below(&r, big), big);
}

Test(rng, shuffle_is_a_permutation_and_deterministic_per_seed) {
    enum { N = 1000 };
    static int32_t a[N], b[N], c[N];
    for (int i = 0; i < N; i++) a[i] = b[i] = c[i] = i;
    mg_rng ra, rb, rc;
    mg_rng_seed(&ra, 42);
    mg_rng_seed(&rb, 42);
    mg_rng_seed(&rc, 43);
    mg_rng_shuffle(&ra, a, N);
    mg_rng_shuffle(&rb, b, N);
    mg_rng_shuffle(&rc, c, N);
    cr_assert(memcmp(a, b, sizeof a) == 0, "same seed, same order");
    cr_assert(memcmp(a, c, sizeof a) != 0, "another seed, another order");
    static bool seen[N];
    int fixed = 0;
    for (int i = 0; i < N; i++) {
        cr_assert(a[i] >= 0 && a[i] < N && !seen[a[i]], "a[%d] = %d", i, a[i]);
        seen[a[i]] = true;
        fixed += a[i] == i;
    }
    /* A random permutation has on average one fixed point. */
    cr_assert_lt(fixed, 10, "%d fixed points: not shuffled", fixed);
    /* Degenerate sizes do nothing. */
    int32_t one[1] = {5};
    mg_rng_shuffle(&ra, one, 1);
    mg_rng_shuffle(&ra, one, 0);
    cr_assert_eq(one[0], 5);
}
