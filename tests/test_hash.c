/* test_hash.c — xxHash fingerprints: XXH3-64 reference values, hex format,
 * and the parameter fingerprint's sensitivity to every element. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "core/hash.h"

/* Reference XXH3-64 (seed 0) values from Python's `xxhash` package 4.1.0
 * (pip, in a throwaway venv): hex(xxhash.xxh3_64_intdigest(b"")) and
 * hex(xxhash.xxh3_64_intdigest(b"abc")). */
#define XXH3_EMPTY 0x2d06800538d394c2ULL
#define XXH3_ABC 0x78af5f94892f3950ULL

Test(hash, xxh3_of_known_strings) {
    cr_assert_eq(mg_hash_bytes("", 0), XXH3_EMPTY);
    cr_assert_eq(mg_hash_bytes(NULL, 0), XXH3_EMPTY, "NULL with n = 0 is the empty input");
    cr_assert_eq(mg_hash_bytes("abc", 3), XXH3_ABC);
}

Test(hash, hex_is_sixteen_lowercase_digits) {
    char s[17];
    mg_hash_hex(XXH3_ABC, s);
    cr_assert_str_eq(s, "78af5f94892f3950");
    mg_hash_hex(0, s);
    cr_assert_str_eq(s, "0000000000000000");
    mg_hash_hex(0xABCDEF0123456789ULL, s);
    cr_assert_str_eq(s, "abcdef0123456789");
    mg_hash_hex(UINT64_MAX, s);
    cr_assert_str_eq(s, "ffffffffffffffff");
}

static mg_params *store(void) {
    mg_params *p = mg_params_new();
    int64_t s1[2] = {3, 4}, s2[1] = {5};
    cr_assert_eq(mg_params_declare(p, "embed", MG_NORMAL(1), 2, s1, NULL), MG_OK);
    cr_assert_eq(mg_params_declare(p, "hidden.w", MG_NORMAL(1), 1, s2, NULL), MG_OK);
    cr_assert_eq(mg_params_alloc(p), MG_OK, "%s", mg_errmsg());
    mg_rng r;
    mg_rng_seed(&r, 11);
    mg_params_init(p, &r);
    return p;
}

Test(hash, params_hash_is_the_hash_of_the_data_buffer) {
    mg_params *p = store();
    cr_assert_eq(mg_hash_params(p),
                 mg_hash_bytes(mg_params_data(p), mg_params_total(p) * sizeof(float)));
    mg_params *q = store();
    cr_assert_eq(mg_hash_params(p), mg_hash_params(q), "same seed, same fingerprint");
    mg_params_free(p);
    mg_params_free(q);
}

Test(hash, params_hash_changes_when_any_element_changes) {
    mg_params *p = store();
    uint64_t h0 = mg_hash_params(p);
    float *w = mg_params_data(p);
    for (size_t i = 0; i < mg_params_total(p); i++) {
        float old = w[i];
        w[i] = nextafterf(old, INFINITY); /* the smallest possible change */
        cr_assert_neq(mg_hash_params(p), h0, "element %zu", i);
        w[i] = old;
    }
    cr_assert_eq(mg_hash_params(p), h0, "restored");
    mg_params_free(p);
}
