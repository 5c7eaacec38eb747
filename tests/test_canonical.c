/* test_canonical.c — the canonical numbers every change must keep: the
 * fingerprints (XXH3-64 of the parameters) of each model's canonical setting
 * after 20 full-batch steps on one thread, and the split hashes of the two
 * canonical moduli. They are the values of PROTOCOL.md's
 *   modgrad train --model M --steps 20 --threads 1 --eval-every 10
 * (evaluations and probes read the parameters and never change them), one
 * per kernel set (tests/util/pin.h: skx, zen3). */
#include <criterion/criterion.h>
#include <stdio.h>

#include "core/gemm.h"
#include "core/hash.h"
#include "models/harness/train.h"
#include "tests/util/pin.h"

static void setup(void) { mg_gemm_init(1); }
TestSuite(canonical, .init = setup, .timeout = 600);

/* Trains model's canonical setting for 20 steps; returns the fingerprint and,
 * through split, the hash of the data split it trained on. */
static uint64_t fingerprint(const char *model, uint64_t *split) {
    mg_train_cfg cfg;
    const mg_model_def *m = mg_model_find(model);
    cr_assert_not_null(m, "%s", mg_errmsg());
    mg_train_defaults(&cfg, m);
    cfg.steps = 20;
    cfg.threads = 1;
    mg_trainer *t = NULL;
    cr_assert_eq(mg_trainer_new(&cfg, &t), MG_OK, "%s: %s", model, mg_errmsg());
    for (int s = 0; s < 20; s++)
        cr_assert_eq(mg_trainer_step(t), MG_OK, "%s step %d: %s", model, s, mg_errmsg());
    *split = mg_dataset_hash(mg_trainer_dataset(t));
    uint64_t h = mg_hash_params(mg_trainer_params(t));
    mg_trainer_free(t);
    return h;
}

static void expect(const char *model, mg_pin pin, uint64_t want_split) {
    uint64_t split = 0, h = fingerprint(model, &split);
    cr_expect_eq(split, want_split, "%s: split hash %016llx, canonical %016llx", model,
                 (unsigned long long)split, (unsigned long long)want_split);
    uint64_t want = mg_pin_value(pin, model, h);
    cr_expect_eq(h, want, "%s: fingerprint %016llx, canonical %016llx (BLIS %s)", model,
                 (unsigned long long)h, (unsigned long long)want, mg_blis_arch());
}

#define SPLIT_P97 0x29eb1f5eeccc101eULL  /* add, p = 97, frac 0.5, seed 0 */
#define SPLIT_P113 0x3a0d45ce6c32a21dULL /* add, p = 113, frac 0.3, seed 0 */

Test(canonical, mlp_fingerprint) {
    expect("mlp", (mg_pin){0x2b2204da8cf277a8ULL, 0x44e28f08dd91543cULL}, SPLIT_P97);
}
Test(canonical, transformer_fingerprint) {
    expect("transformer", (mg_pin){0x8df9b586662c7521ULL, 0x4166a943bec2d861ULL}, SPLIT_P113);
}
/* deep_linear's default --input pair (one-hot of (a, b)); --input concat,
 * the model before it, keeps its own (tests/test_deep_linear.c) */
Test(canonical, deep_linear_fingerprint) {
    expect("deep_linear", (mg_pin){0x1c8511d4754b346dULL, 0xd247477d34181084ULL}, SPLIT_P97);
}
Test(canonical, mlp_tied_fingerprint) {
    expect("mlp_tied", (mg_pin){0xe8bdd5a4d046f376ULL, 0x45e2b2fe0d0c73c3ULL}, SPLIT_P97);
}
