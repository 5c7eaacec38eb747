/* test_modular.c — the modular arithmetic tasks: labels, split, hash, errors,
 * and the six of them as registered tasks. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "models/modular.h"

static mg_dataset *make(mg_task_op op, int p, double frac, uint64_t seed) {
    mg_modular_cfg cfg = {.op = op, .p = p, .frac = frac, .seed = seed};
    mg_dataset *ds = NULL;
    mg_status s = mg_dataset_make(&cfg, &ds);
    cr_assert_eq(s, MG_OK, "mg_dataset_make: %s", mg_errmsg());
    cr_assert_not_null(ds);
    return ds;
}

/* The label of (a, b) as stored in the dataset, or -1 if the pair is absent. */
static int find_label(const mg_dataset *ds, int a, int b) {
    for (int64_t i = 0; i < ds->n_train; i++)
        if (ds->train_a[i] == a && ds->train_b[i] == b) return ds->train_y[i];
    for (int64_t i = 0; i < ds->n_test; i++)
        if (ds->test_a[i] == a && ds->test_b[i] == b) return ds->test_y[i];
    return -1;
}

/* Hand-computed at p = 7. */
Test(modular, labels_by_hand) {
    struct {
        mg_task_op op;
        int a, b, y;
    } cases[] = {
        {MG_TASK_ADD, 5, 6, 4},  /* 11 mod 7 */
        {MG_TASK_ADD, 0, 0, 0},  /* 0 */
        {MG_TASK_SUB, 5, 6, 6},  /* -1 mod 7 */
        {MG_TASK_SUB, 0, 6, 1},  /* -6 mod 7 */
        {MG_TASK_SUB, 6, 2, 4},  /* 4 */
        {MG_TASK_MUL, 3, 5, 1},  /* 15 mod 7 */
        {MG_TASK_MUL, 6, 6, 1},  /* 36 mod 7 */
        {MG_TASK_DIV, 3, 5, 2},  /* 5^-1 = 3 (15 = 1 mod 7), 3*3 = 9 = 2 */
        {MG_TASK_DIV, 1, 2, 4},  /* 2^-1 = 4 */
        {MG_TASK_DIV, 0, 4, 0},  /* 0 */
        {MG_TASK_X2Y2, 3, 5, 6}, /* 9 + 25 = 34 = 6 mod 7 */
        {MG_TASK_X2Y2, 6, 6, 2}, /* 72 mod 7 */
        {MG_TASK_X3XY, 2, 3, 0}, /* 8 + 6 = 14 */
        {MG_TASK_X3XY, 6, 6, 0}, /* 216 + 36 = 252 = 36 * 7 */
        {MG_TASK_X3XY, 4, 1, 5}, /* 64 + 4 = 68 = 9*7 + 5 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mg_dataset *ds = make(cases[i].op, 7, 0.5, 1);
        int y = find_label(ds, cases[i].a, cases[i].b);
        cr_expect_eq(y, cases[i].y, "%s(%d, %d) mod 7: got %d, want %d",
                     mg_task_op_name(cases[i].op), cases[i].a, cases[i].b, y, cases[i].y);
        mg_dataset_free(ds);
    }
}

/* Every stored label equals op(a, b) mod p computed independently, for every
 * op, at a p where a^3 + ab is large. */
Test(modular, labels_all_pairs) {
    const int p = 97;
    for (int op = 0; op < MG_TASK_N_OPS; op++) {
        mg_dataset *ds = make((mg_task_op)op, p, 0.4, 3);
        for (int64_t i = 0; i < ds->n_train + ds->n_test; i++) {
            bool tr = i < ds->n_train;
            int64_t j = tr ? i : i - ds->n_train;
            long long a = tr ? ds->train_a[j] : ds->test_a[j];
            long long b = tr ? ds->train_b[j] : ds->test_b[j];
            int y = tr ? ds->train_y[j] : ds->test_y[j];
            long long want = 0;
            switch ((mg_task_op)op) {
            case MG_TASK_ADD: want = (a + b) % p; break;
            case MG_TASK_SUB: want = ((a - b) % p + p) % p; break;
            case MG_TASK_MUL: want = a * b % p; break;
            case MG_TASK_DIV:
                /* y is a / b iff y * b = a. */
                cr_assert_neq(b, 0);
                want = -1;
                for (int c = 0; c < p; c++)
                    if ((long long)c * b % p == a) want = c;
                break;
            case MG_TASK_X2Y2: want = (a * a + b * b) % p; break;
            case MG_TASK_X3XY: want = (a * a * a + a * b) % p; break;
            }
            cr_assert_eq(y, want, "%s(%lld, %lld): got %d, want %lld",
                         mg_task_op_name((mg_task_op)op), a, b, y, want);
        }
        mg_dataset_free(ds);
    }
}

/* Labels stay exact at the largest modulus (no 32-bit overflow of a^3). */
Test(modular, labels_no_overflow_at_p_max) {
    mg_dataset *ds = make(MG_TASK_X3XY, MG_TASK_P_MAX, 0.5, 1);
    cr_assert_eq(ds->n_train + ds->n_test, (int64_t)MG_TASK_P_MAX * MG_TASK_P_MAX);
    long long p = MG_TASK_P_MAX;
    for (int64_t i = 0; i < ds->n_train; i += 997) {
        long long a = ds->train_a[i], b = ds->train_b[i];
        cr_assert_eq(ds->train_y[i], (a * a * a + a * b) % p);
    }
    mg_dataset_free(ds);
}

Test(modular, split_sizes) {
    mg_dataset *ds = make(MG_TASK_ADD, 97, 0.3, 0);
    cr_expect_eq(ds->p, 97);
    cr_expect_eq(ds->n_train, 2823); /* round(0.3 * 9409) = round(2822.7) */
    cr_expect_eq(ds->n_test, 9409 - 2823);
    mg_dataset_free(ds);

    ds = make(MG_TASK_ADD, 97, 0.5, 0);
    cr_expect_eq(ds->n_train, 4705); /* round(4704.5), half away from zero */
    cr_expect_eq(ds->n_test, 4704);
    mg_dataset_free(ds);

    ds = make(MG_TASK_DIV, 97, 0.3, 0);
    cr_expect_eq(ds->n_train + ds->n_test, 97 * 96);
    cr_expect_eq(ds->n_train, 2794); /* round(0.3 * 9312) = round(2793.6) */
    mg_dataset_free(ds);
}

/* Train and test are disjoint and together hold every pair exactly once
 * (for div: every pair with b != 0). */
static void check_partition(mg_task_op op, int p, double frac) {
    mg_dataset *ds = make(op, p, frac, 42);
    unsigned char *seen = calloc((size_t)p * p, 1);
    cr_assert_not_null(seen);
    for (int64_t i = 0; i < ds->n_train; i++) {
        int a = ds->train_a[i], b = ds->train_b[i];
        cr_assert(a >= 0 && a < p && b >= 0 && b < p);
        cr_assert(ds->train_y[i] >= 0 && ds->train_y[i] < p);
        cr_assert_eq(seen[a * p + b], 0, "(%d, %d) twice", a, b);
        seen[a * p + b] = 1;
    }
    for (int64_t i = 0; i < ds->n_test; i++) {
        int a = ds->test_a[i], b = ds->test_b[i];
        cr_assert(a >= 0 && a < p && b >= 0 && b < p);
        cr_assert(ds->test_y[i] >= 0 && ds->test_y[i] < p);
        cr_assert_eq(seen[a * p + b], 0, "(%d, %d) in train and test or twice", a, b);
        seen[a * p + b] = 2;
    }
    for (int a = 0; a < p; a++)
        for (int b = 0; b < p; b++) {
            bool expected = !(op == MG_TASK_DIV && b == 0);
            cr_assert_eq(seen[a * p + b] != 0, expected, "%s: (%d, %d) %s", mg_task_op_name(op), a,
                         b, expected ? "missing" : "present");
        }
    free(seen);
    mg_dataset_free(ds);
}

Test(modular, partition) {
    check_partition(MG_TASK_ADD, 31, 0.3);
    check_partition(MG_TASK_SUB, 31, 0.5);
    check_partition(MG_TASK_X2Y2, 10, 0.7);
    check_partition(MG_TASK_DIV, 31, 0.3);
    check_partition(MG_TASK_DIV, 2, 0.5); /* the smallest: pairs (0,1), (1,1) */
}

Test(modular, div_excludes_zero_divisor) {
    mg_dataset *ds = make(MG_TASK_DIV, 13, 0.5, 9);
    for (int64_t i = 0; i < ds->n_train; i++) cr_assert_neq(ds->train_b[i], 0);
    for (int64_t i = 0; i < ds->n_test; i++) cr_assert_neq(ds->test_b[i], 0);
    cr_assert_eq(ds->n_train + ds->n_test, 13 * 12);
    mg_dataset_free(ds);
}

/* The split is shuffled: the training set is not just the first rows. */
Test(modular, split_is_shuffled) {
    mg_dataset *ds = make(MG_TASK_ADD, 31, 0.5, 5);
    int64_t in_order = 0;
    for (int64_t i = 0; i < ds->n_train; i++) in_order += ds->train_a[i] * 31 + ds->train_b[i] == i;
    cr_expect_lt(in_order, ds->n_train / 10);
    mg_dataset_free(ds);
}

Test(modular, same_seed_same_split_and_hash) {
    mg_dataset *x = make(MG_TASK_MUL, 59, 0.4, 1234);
    mg_dataset *y = make(MG_TASK_MUL, 59, 0.4, 1234);
    cr_assert_eq(x->n_train, y->n_train);
    cr_assert_eq(x->n_test, y->n_test);
    size_t ntr = (size_t)x->n_train * sizeof(int32_t), nte = (size_t)x->n_test * sizeof(int32_t);
    cr_assert_eq(memcmp(x->train_a, y->train_a, ntr), 0);
    cr_assert_eq(memcmp(x->train_b, y->train_b, ntr), 0);
    cr_assert_eq(memcmp(x->train_y, y->train_y, ntr), 0);
    cr_assert_eq(memcmp(x->test_a, y->test_a, nte), 0);
    cr_assert_eq(memcmp(x->test_b, y->test_b, nte), 0);
    cr_assert_eq(memcmp(x->test_y, y->test_y, nte), 0);
    cr_assert_eq(mg_dataset_hash(x), mg_dataset_hash(y));
    mg_dataset_free(x);
    mg_dataset_free(y);
}

Test(modular, different_data_different_hash) {
    mg_dataset *base = make(MG_TASK_ADD, 59, 0.4, 1);
    uint64_t h = mg_dataset_hash(base);
    mg_dataset *other[] = {
        make(MG_TASK_ADD, 59, 0.4, 2),  /* seed */
        make(MG_TASK_SUB, 59, 0.4, 1),  /* op (labels) */
        make(MG_TASK_ADD, 59, 0.41, 1), /* fraction */
        make(MG_TASK_ADD, 61, 0.4, 1),  /* modulus */
    };
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++) {
        cr_expect_neq(mg_dataset_hash(other[i]), h, "case %zu", i);
        mg_dataset_free(other[i]);
    }
    mg_dataset_free(base);
}

/* The hash follows the documented byte layout: rebuild the stream by hand. */
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>
Test(modular, hash_layout) {
    mg_dataset *ds = make(MG_TASK_X2Y2, 11, 0.3, 77);
    int64_t n = 2 + 3 * (ds->n_train + ds->n_test);
    int32_t *buf = malloc((size_t)n * sizeof(int32_t)), *w = buf;
    cr_assert_not_null(buf);
    *w++ = ds->p;
    *w++ = (int32_t)ds->n_train;
    const int32_t *arrays[] = {ds->train_a, ds->train_b, ds->train_y,
                               ds->test_a,  ds->test_b,  ds->test_y};
    for (int k = 0; k < 6; k++) {
        int64_t len = k < 3 ? ds->n_train : ds->n_test;
        memcpy(w, arrays[k], (size_t)len * sizeof(int32_t));
        w += len;
    }
    /* This test runs on little-endian hosts, where memory is the layout. */
    cr_assert_eq(mg_dataset_hash(ds), XXH3_64bits(buf, (size_t)n * sizeof(int32_t)));
    free(buf);
    mg_dataset_free(ds);
}

Test(modular, op_names_round_trip) {
    const char *names[] = {"add", "sub", "mul", "div", "x2y2", "x3xy"};
    for (int i = 0; i < MG_TASK_N_OPS; i++) {
        mg_task_op op;
        cr_assert_eq(mg_task_op_parse(names[i], &op), MG_OK);
        cr_assert_eq((int)op, i);
        cr_assert_str_eq(mg_task_op_name(op), names[i]);
    }
}

Test(modular, helpers) {
    cr_expect_eq(mg_mod_inverse(5, 7), 3);
    cr_expect_eq(mg_mod_inverse(3, 7), 5);
    cr_expect_eq(mg_mod_inverse(1, 2), 1);
    cr_expect_eq(mg_mod_inverse(-2, 7), 3); /* -2 = 5 mod 7 */
    cr_expect_eq(mg_mod_inverse(0, 7), -1);
    cr_expect_eq(mg_mod_inverse(4, 12), -1);
    cr_expect_eq(mg_mod_inverse(5, 12), 5); /* 25 = 1 mod 12 */
    cr_expect_eq(mg_mod_inverse(3, 1), -1);
    for (int p = 2; p < 200; p++)
        if (mg_is_prime(p))
            for (int b = 1; b < p; b++) cr_assert_eq(mg_mod_inverse(b, p) * b % p, 1);
    int primes[] = {2, 3, 5, 7, 11, 13, 97, 113, 4093};
    for (size_t i = 0; i < sizeof primes / sizeof primes[0]; i++)
        cr_expect(mg_is_prime(primes[i]), "%d", primes[i]);
    int composites[] = {-7, 0, 1, 4, 9, 12, 25, 91, 4096};
    for (size_t i = 0; i < sizeof composites / sizeof composites[0]; i++)
        cr_expect(!mg_is_prime(composites[i]), "%d", composites[i]);
}

/* Each error is MG_ERR_ARG, leaves *out NULL, and its message contains every
 * needle (the flag as the CLI spells it and the allowed values). */
static void expect_make_error(mg_modular_cfg cfg, const char *const *needles, int n_needles) {
    mg_clear_error();
    cr_assert_eq(mg_modular_validate(&cfg), MG_ERR_ARG);
    mg_dataset *ds = (mg_dataset *)&cfg; /* any non-NULL value */
    cr_assert_eq(mg_dataset_make(&cfg, &ds), MG_ERR_ARG);
    cr_assert_null(ds);
    const char *msg = mg_errmsg();
    for (int i = 0; i < n_needles; i++)
        cr_assert(strstr(msg, needles[i]), "message \"%s\" lacks \"%s\"", msg, needles[i]);
}

Test(modular, error_p_too_small) {
    const char *n[] = {"--p must be >= 2, got 1", "2 to 4096"};
    expect_make_error((mg_modular_cfg){MG_TASK_ADD, 1, 0.5, 0}, n, 2);
    const char *n0[] = {"--p", "got 0"};
    expect_make_error((mg_modular_cfg){MG_TASK_ADD, 0, 0.5, 0}, n0, 2);
    const char *nneg[] = {"--p", "got -5"};
    expect_make_error((mg_modular_cfg){MG_TASK_ADD, -5, 0.5, 0}, nneg, 2);
}

Test(modular, error_p_too_large) {
    const char *n[] = {"--p must be <= 4096, got 4097", "2 to 4096"};
    expect_make_error((mg_modular_cfg){MG_TASK_ADD, 4097, 0.5, 0}, n, 2);
}

Test(modular, error_frac) {
    const char *n0[] = {"--frac must be in (0, 1), got 0"};
    expect_make_error((mg_modular_cfg){MG_TASK_ADD, 7, 0.0, 0}, n0, 1);
    const char *n1[] = {"--frac must be in (0, 1), got 1"};
    expect_make_error((mg_modular_cfg){MG_TASK_ADD, 7, 1.0, 0}, n1, 1);
    const char *n15[] = {"--frac must be in (0, 1), got 1.5"};
    expect_make_error((mg_modular_cfg){MG_TASK_ADD, 7, 1.5, 0}, n15, 1);
    const char *nneg[] = {"--frac must be in (0, 1), got -0.2"};
    expect_make_error((mg_modular_cfg){MG_TASK_ADD, 7, -0.2, 0}, nneg, 1);
    const char *nnan[] = {"--frac must be in (0, 1)"};
    expect_make_error((mg_modular_cfg){MG_TASK_ADD, 7, __builtin_nan(""), 0}, nnan, 1);
}

Test(modular, error_div_needs_prime) {
    const char *n[] = {"--task div needs a prime --p (modular inverse), got 12", "--p 11",
                       "--p 13"};
    expect_make_error((mg_modular_cfg){MG_TASK_DIV, 12, 0.5, 0}, n, 3);
    const char *n4096[] = {"--task div", "got 4096", "--p 4093"};
    expect_make_error((mg_modular_cfg){MG_TASK_DIV, 4096, 0.5, 0}, n4096, 3);
    /* The same p is fine for the other ops. */
    mg_modular_cfg ok = {MG_TASK_MUL, 12, 0.5, 0};
    cr_assert_eq(mg_modular_validate(&ok), MG_OK);
}

Test(modular, error_unknown_op_name) {
    mg_task_op op = MG_TASK_MUL;
    mg_clear_error();
    cr_assert_eq(mg_task_op_parse("pow", &op), MG_ERR_ARG);
    cr_assert_eq(op, MG_TASK_MUL, "out untouched on failure");
    const char *msg = mg_errmsg();
    const char *needles[] = {"--task", "'pow'", "add, sub, mul, div, x2y2, x3xy"};
    for (int i = 0; i < 3; i++)
        cr_assert(strstr(msg, needles[i]), "message \"%s\" lacks \"%s\"", msg, needles[i]);
    cr_assert_eq(mg_task_op_parse("", &op), MG_ERR_ARG);
    cr_assert_eq(mg_task_op_parse("ADD", &op), MG_ERR_ARG); /* names are exact */
    cr_assert_eq(mg_task_op_parse(NULL, &op), MG_ERR_ARG);
}

Test(modular, error_op_out_of_enum) {
    const char *n[] = {"--task", "add, sub, mul, div, x2y2, x3xy"};
    expect_make_error((mg_modular_cfg){(mg_task_op)17, 7, 0.5, 0}, n, 2);
    cr_assert_str_eq(mg_task_op_name((mg_task_op)17), "?");
}

/* A split that leaves one side empty is refused with both counts. */
Test(modular, error_empty_side) {
    const char *lo[] = {"--frac", "0 training", "--p"};
    mg_modular_cfg cfg = {MG_TASK_ADD, 2, 0.01, 0}; /* round(0.04) = 0 train */
    mg_dataset *ds = NULL;
    mg_clear_error();
    cr_assert_eq(mg_modular_validate(&cfg), MG_OK);
    cr_assert_eq(mg_dataset_make(&cfg, &ds), MG_ERR_ARG);
    cr_assert_null(ds);
    for (int i = 0; i < 3; i++)
        cr_assert(strstr(mg_errmsg(), lo[i]), "\"%s\" lacks \"%s\"", mg_errmsg(), lo[i]);

    cfg.frac = 0.99; /* round(3.96) = 4 train, 0 test */
    cr_assert_eq(mg_dataset_make(&cfg, &ds), MG_ERR_ARG);
    cr_assert_null(ds);
    cr_assert(strstr(mg_errmsg(), "0 test"), "%s", mg_errmsg());
}
