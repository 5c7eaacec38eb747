/* vexp.h — an expf the compiler can vectorise, for softmax and
 * cross-entropy rows.
 *
 * glibc's expf is a call the loop vectoriser cannot turn into SIMD code
 * without -ffast-math, and per element it dominated the loss. This is the
 * classic reduction x = n ln2 + r, |r| <= ln2 / 2 (ln2 split in two parts
 * so n ln2 is exact), a degree-6 polynomial for e^r (Cephes' coefficients)
 * and 2^n built in the exponent bits: within 2 ulp of expf over the range
 * used (tests/test_ops_softmax.c compares them). Arguments below -87.3
 * (e^x under float's smallest normal), -inf included, give 0; above 88,
 * +inf; NaN gives NaN (so a diverged run is still seen as one). */
#ifndef MG_VEXP_H
#define MG_VEXP_H

#include <stdint.h>

static inline float mg_vexp(float x) {
    const float lo = -87.3f, hi = 88.0f;
    float xc = x > lo ? x : lo; /* NaN becomes lo here, and comes back at the end */
    xc = xc < hi ? xc : hi;
    /* round to nearest by adding and removing 1.5 * 2^23 */
    float n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = xc - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    union {
        uint32_t i;
        float f;
    } scale = {.i = (uint32_t)((int32_t)n + 127) << 23};
    float e = p * scale.f;
    e = x < lo ? 0.0f : e;
    e = x > hi ? __builtin_inff() : e;
    return x != x ? x : e;
}

#endif
