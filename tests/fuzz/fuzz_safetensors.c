/* fuzz_safetensors.c — libFuzzer harness: the input is a checkpoint file.
 *
 * It goes through both readers (mg_st_load, mg_st_load_foreign), every
 * accessor of a file they accept, and mg_run_load_checkpoint into a trainer
 * of the seed run's model (tests/fuzz/make_corpus: mlp, p 5, d 4, width 4),
 * which then takes a step. The file is named step_000002.safetensors, the
 * seed run's last checkpoint. A fuzzing build compares checksums' form but
 * not their value (core/safetensors_read.c), so mutations reach the checks
 * behind them. */
#include <math.h>

#include "core/safetensors.h"
#include "models/harness/run.h"
#include "tests/fuzz/fuzz_util.h"

static mg_trainer *trainer;
static char path[600];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    char ck[560];
    snprintf(ck, sizeof ck, "%s/checkpoints", fuzz_dir());
    if (mkdir(ck, 0777) != 0) abort();
    snprintf(path, sizeof path, "%s/step_000002.safetensors", ck);
    mg_train_cfg cfg;
    const mg_model_def *m = mg_model_find("mlp");
    if (!m) abort();
    mg_train_defaults(&cfg, m);
    cfg.opt[mg_model_option_index(m, "d")] = 4;
    cfg.opt[mg_model_option_index(m, "width")] = 4;
    cfg.task.p = 5;
    cfg.steps = 2;
    cfg.threads = 1;
    if (mg_trainer_new(&cfg, &trainer) != MG_OK) {
        fprintf(stderr, "fuzz_safetensors: %s\n", mg_errmsg());
        abort();
    }
    return 0;
}

/* Reads every value a caller could read from an accepted file. */
static void touch_all(const mg_st_file *f) {
    double sum = 0;
    for (int i = 0; i < mg_st_count(f); i++) {
        FUZZ_CHECK(mg_st_name(f, i) && mg_st_find(f, mg_st_name(f, i)) == i);
        int nd;
        int64_t shape[MG_ST_MAX_DIMS], numel = 1;
        mg_st_shape(f, i, &nd, shape);
        FUZZ_CHECK(nd >= 0 && nd <= MG_ST_MAX_DIMS);
        for (int d = 0; d < nd; d++) numel *= shape[d];
        FUZZ_CHECK(numel == mg_st_numel(f, i));
        const float *x = mg_st_data(f, i);
        FUZZ_CHECK(((uintptr_t)x % sizeof(float)) == 0 || numel == 0);
        for (int64_t k = 0; k < numel; k++) sum += x[k];
    }
    int64_t n;
    double d;
    const char *keys[] = {"step", "optim_steps", "wall_s", "fingerprint", "model"};
    for (int i = 0; i < 5; i++) {
        (void)mg_st_meta(f, keys[i]);
        (void)mg_st_meta_count(f, keys[i], INT64_MAX, &n);
        if (mg_st_meta_finite(f, keys[i], &d) == MG_OK) FUZZ_CHECK(isfinite(d));
    }
    (void)sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_write(path, data, size);
    mg_st_file *f = NULL;
    if (mg_st_load(path, &f) == MG_OK) {
        touch_all(f);
        mg_st_free(f);
    } else {
        FUZZ_CHECK(f == NULL && mg_errmsg()[0]);
    }
    if (mg_st_load_foreign(path, &f) == MG_OK) {
        touch_all(f);
        mg_st_free(f);
    }
    double wall = -1;
    if (mg_run_load_checkpoint(trainer, path, &wall) == MG_OK) {
        FUZZ_CHECK(mg_trainer_steps_done(trainer) == 2);
        FUZZ_CHECK(isfinite(wall) && wall >= 0);
        (void)mg_trainer_step(trainer); /* NaN weights fail it: that is fine */
    }
    return 0;
}
