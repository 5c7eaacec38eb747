/* modular.h — the modular arithmetic tasks: operations, settings, datasets.
 *
 * Six registered tasks (models/modular.c), one per operation, named as the
 * CLI spells them: --task add | sub | mul | div | x2y2 | x3xy. Each is the
 * task (task.h) with T = 3 (tokens "a b =", "=" being token p), V = p + 1,
 * K = p, operands a and b in 0..p-1, the last position uniform, and the
 * fixed split below. Settings: --p, --frac, --seed.
 *
 * Owns the data of the study: every pair (a, b) with a, b in 0..p-1, its
 * label op(a, b) mod p, and the seeded split of the pairs into a training
 * and a test set. Also owns the split's fingerprint (mg_dataset_hash) that a
 * run writes into its config.json, so two runs can prove they saw the same
 * data.
 *
 * Enumeration and split (documented so other implementations reproduce it):
 *   1. Pairs are listed a-major, then b: (0,0), (0,1), ..., (0,p-1), (1,0),
 *      ... For div the pairs with b = 0 are skipped, so there are p*(p-1)
 *      pairs instead of p*p.
 *   2. An int32 index array 0..n_pairs-1 is shuffled by mg_rng_shuffle with
 *      an mg_rng seeded by mg_rng_seed(cfg->seed).
 *   3. The first n_train = round(frac * n_pairs) shuffled indices (round half
 *      away from zero) are the training set, the rest the test set, each kept
 *      in shuffled order.
 */
#ifndef MG_MODULAR_H
#define MG_MODULAR_H

#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"
#include "models/task.h"

/* Largest modulus accepted: p*p pairs stay far below INT32_MAX and a^3 + ab
 * stays far below INT64_MAX. */
#define MG_TASK_P_MAX 4096

/* The operations: X(ENUM, name, formula), the one list the enum, the names
 * and the registered tasks are made from. */
#define MG_MODULAR_OPS(X)                                                                          \
    X(ADD, add, "a + b mod p")                                                                     \
    X(SUB, sub, "a - b mod p (taken in 0..p-1)")                                                   \
    X(MUL, mul, "a * b mod p")                                                                     \
    X(DIV, div, "a * b^-1 mod p, b != 0, p prime")                                                 \
    X(X2Y2, x2y2, "a^2 + b^2 mod p")                                                               \
    X(X3XY, x3xy, "a^3 + a*b mod p")

#define MG_MODULAR_ENUM_(e, name, formula) MG_TASK_##e,
typedef enum { MG_MODULAR_OPS(MG_MODULAR_ENUM_) } mg_task_op;
#undef MG_MODULAR_ENUM_
#define MG_MODULAR_ONE_(e, name, formula) +1
#define MG_TASK_N_OPS (0 MG_MODULAR_OPS(MG_MODULAR_ONE_))

/* Parses an op name as the CLI spells it ("add", "sub", "mul", "div",
 * "x2y2", "x3xy"). An unknown name fails with MG_ERR_ARG and a message
 * listing the allowed names. */
mg_status mg_task_op_parse(const char *name, mg_task_op *out);

/* The CLI name of an op ("add"), or "?" for a value outside the enum. */
const char *mg_task_op_name(mg_task_op op);

typedef struct {
    mg_task_op op;
    int p;         /* modulus, also the number of classes */
    double frac;   /* fraction of the pairs used for training, in (0, 1) */
    uint64_t seed; /* seed of the split's permutation */
} mg_modular_cfg;

/* Checks the settings; on failure returns MG_ERR_ARG with a message that
 * names the flag as the CLI spells it (--p, --frac, --task). Does not check
 * that the split leaves both sets non-empty; mg_dataset_make does. */
mg_status mg_modular_validate(const mg_modular_cfg *cfg);

typedef struct {
    mg_task_op op;
    int p;
    int64_t n_train, n_test;
    /* Operands and labels, all in 0..p-1, each array in shuffled order. */
    int32_t *train_a, *train_b, *train_y;
    int32_t *test_a, *test_b, *test_y;
} mg_dataset;

/* Builds the dataset described by cfg (validated first). Fails with
 * MG_ERR_ARG if the split would leave the training or the test set empty,
 * MG_ERR_NOMEM if memory runs out. On failure *out is NULL. */
mg_status mg_dataset_make(const mg_modular_cfg *cfg, mg_dataset **out);

/* Frees a dataset (NULL is fine). */
void mg_dataset_free(mg_dataset *ds);

/* XXH3-64 (seed 0) of the split, over this canonical byte stream, every
 * value a little-endian int32:
 *   p, n_train,
 *   train_a[0..n_train), train_b[0..n_train), train_y[0..n_train),
 *   test_a[0..n_test),   test_b[0..n_test),   test_y[0..n_test).
 * Two runs that saw the same data, in the same order, have the same hash;
 * the op is covered through the labels. It is the hash of an opened
 * modular task (mg_task.hash). */
uint64_t mg_dataset_hash(const mg_dataset *ds);

/* The dataset of an opened modular task; NULL for any other task. */
const mg_dataset *mg_modular_dataset(const mg_task *t);

/* The inverse of b modulo p (in 1..p-1), or -1 if none exists (p < 2 or
 * gcd(b, p) != 1). b may be negative or >= p. */
int mg_mod_inverse(int b, int p);

/* Whether p is prime (trial division; p < 2 is not). */
bool mg_is_prime(int p);

#endif
