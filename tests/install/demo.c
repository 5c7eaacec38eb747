/* demo.c — a researcher's own program calling an installed modgrad: trains
 * the built-in MLP for 30 full-batch steps on a small task and checks that
 * the training loss fell. Built by tests/install/run_test.sh with CMake
 * (find_package) and with pkg-config. */
#include <stdio.h>

#include "models/harness/train.h"

static int fail(const char *what) {
    fprintf(stderr, "demo: %s: %s\n", what, mg_errmsg());
    return 1;
}

int main(void) {
    const mg_model_def *m = mg_model_find("mlp");
    if (!m) return fail("mg_model_find");
    mg_train_cfg cfg;
    mg_train_defaults(&cfg, m);
    cfg.task.p = 23;
    cfg.opt[mg_model_option_index(m, "d")] = 16;
    cfg.opt[mg_model_option_index(m, "width")] = 32;
    cfg.threads = 1;
    mg_trainer *t = NULL;
    if (mg_trainer_new(&cfg, &t)) return fail("mg_trainer_new");
    mg_eval before, after;
    if (mg_trainer_eval_train(t, &before)) return fail("eval");
    for (int s = 0; s < 30; s++)
        if (mg_trainer_step(t)) return fail("step");
    if (mg_trainer_eval_train(t, &after)) return fail("eval");
    mg_trainer_free(t);
    printf("demo: train loss %.4f -> %.4f after 30 steps\n", before.loss, after.loss);
    return after.loss < before.loss ? 0 : 1;
}
