/* fuzz_config.c — libFuzzer harness: the input is a run's config.json.
 *
 * mg_run_read_config reads it back as resume and analyze do. The reader
 * must validate every field (issue 12, rows 1 and 10), so a config it
 * accepts must also pass mg_train_validate (the thread count aside: it
 * depends on the machine) and have every rate >= 1; a float-to-int cast of
 * an out-of-range number is caught by UBSan. */
#include "models/harness/run.h"
#include "tests/fuzz/fuzz_util.h"

static char path[600];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    snprintf(path, sizeof path, "%s/config.json", fuzz_dir());
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_write(path, data, size);
    mg_train_cfg cfg;
    mg_run_opts o;
    char hash[17];
    mg_run_opts_defaults(&o);
    if (mg_run_read_config(fuzz_dir(), &cfg, &o, hash) != MG_OK) return 0;
    FUZZ_CHECK(strlen(hash) <= 16);
    FUZZ_CHECK(o.eval_every >= 1 && o.checkpoint_every >= 1);
    FUZZ_CHECK(o.probe_every >= 1 && o.geometry_every >= 1);
    /* A run recorded on a larger machine may name more threads than this one
     * has: the reader takes it and mg_train_validate refuses it at resume,
     * naming --threads, as it should. The rest must validate. */
    FUZZ_CHECK(cfg.threads >= 0);
    cfg.threads = 1;
    if (mg_train_validate(&cfg) != MG_OK) {
        fprintf(stderr, "accepted a config that mg_train_validate refuses: %s\n", mg_errmsg());
        abort();
    }
    return 0;
}
