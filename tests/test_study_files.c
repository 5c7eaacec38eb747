/* test_study_files.c — the study's files of a run are those of the study as
 * it ran before its speedups (the sample pass of the collapse by blocks, the
 * analyses' BLIS on one thread): the XXH3-64 of metrics.csv, probes.csv,
 * geometry.csv, spectrum.csv, circle.csv and summary.json of a small run,
 * on one thread and on two, pinned to the values the earlier code wrote on
 * this project's machine (BLIS skx, like the fingerprints of
 * test_canonical). The wall-clock times are left out (metrics.csv's wall_s
 * column, summary.json's "wall_s" line); every other byte counts. */
#include <criterion/criterion.h>

#include "core/gemm.h"
#include "core/hash.h"
#include "models/harness/rundir.h"
#include "models/harness/study.h"
#include "tests/util/cli.h"

TestSuite(study_files, .init = mg_cli_setup, .fini = mg_cli_teardown, .timeout = 300);

#define RUN                                                                                        \
    "train --model mlp --p 23 --steps 120 --eval-every 20 --geometry-every 20 --probe-every 5 "    \
    "--checkpoint-every 60"

/* The file without its wall-clock times: metrics.csv's second column
 * (wall_s) cut from every line, summary.json's "wall_s" line dropped. */
static uint64_t file_hash(const char *dir, const char *name) {
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    size_t n = 0;
    char *s = slurp(path, &n);
    cr_assert_not_null(s, "cannot read %s", path);
    char *out = malloc(n + 1);
    size_t m = 0;
    for (char *line = s; *line;) {
        size_t len = strcspn(line, "\n") + (line[strcspn(line, "\n")] == '\n');
        if (!strcmp(name, "metrics.csv")) {
            char *c1 = memchr(line, ',', len),
                 *c2 = c1 ? memchr(c1 + 1, ',', len - (size_t)(c1 + 1 - line)) : NULL;
            cr_assert_not_null(c2, "%s: a line without three columns", path);
            memcpy(out + m, line, (size_t)(c1 - line));
            m += (size_t)(c1 - line);
            memcpy(out + m, c2, len - (size_t)(c2 - line));
            m += len - (size_t)(c2 - line);
        } else if (!(strstr(name, ".json") && strstr(line, "\"wall_s\"") &&
                     strstr(line, "\"wall_s\"") < line + len)) {
            memcpy(out + m, line, len);
            m += len;
        }
        line += len;
    }
    uint64_t h = mg_hash_bytes(out, m);
    free(out);
    free(s);
    return h;
}

static const char *const files[] = {"metrics.csv",  "probes.csv", "geometry.csv",
                                    "spectrum.csv", "circle.csv", "summary.json"};
#define NFILES (sizeof files / sizeof *files)

static void expect_files(int threads, const uint64_t want[NFILES]) {
    const char *dir = P("t%d", threads);
    mg_ok(RUN " --threads %d --out %s", threads, dir);
    for (size_t i = 0; i < NFILES; i++) {
        uint64_t h = file_hash(dir, files[i]);
        cr_expect_eq(h, want[i], "--threads %d: %s hashes to 0x%016llxULL, pinned 0x%016llxULL",
                     threads, files[i], (unsigned long long)h, (unsigned long long)want[i]);
    }
}

Test(study_files, one_thread_writes_the_pinned_study) {
    const uint64_t want[NFILES] = {0xc8073e0b4fec8e09ULL, 0xe28aaac27dfd4b63ULL,
                                   0x59d9f9b40b8ef365ULL, 0x1cddeabda37fc22fULL,
                                   0xb0c713629d96eab1ULL, 0xa24417f622c136d4ULL};
    expect_files(1, want);
}

Test(study_files, two_threads_write_the_pinned_study) {
    if (sysconf(_SC_NPROCESSORS_ONLN) < 2) cr_skip_test("one core: --threads 2 is refused");
    const uint64_t want[NFILES] = {0xb7f6dfa3ca805b72ULL, 0xadf40e8a7d3707d8ULL,
                                   0x47ec784755f16df5ULL, 0x60e7b28572a3247eULL,
                                   0xde7303cd324ca85cULL, 0xbf89f3715e8f4302ULL};
    expect_files(2, want);
}

/* The geometry's analyses run BLIS on one thread and give the run its
 * thread count back, so the next step runs (and splits its kernels) as
 * before; the rows are written all the same. */
Test(study_files, geometry_gives_the_thread_count_back) {
    if (sysconf(_SC_NPROCESSORS_ONLN) < 2) cr_skip_test("one core: --threads 2 is refused");
    mg_train_cfg cfg;
    mg_train_defaults(&cfg, mg_model_find("mlp"));
    cfg.task.p = 23;
    cfg.threads = 2;
    mg_trainer *t = NULL;
    cr_assert_eq(mg_trainer_new(&cfg, &t), MG_OK, "%s", mg_errmsg());
    mg_csv_writer *w = NULL;
    const char *path = P("geometry.csv");
    cr_assert_eq(mg_csv_open(path, MG_GEOMETRY_NCOLS, mg_geometry_cols, &w), MG_OK);
    cr_assert_eq(mg_gemm_threads(), 2);
    cr_assert_eq(mg_study_geometry(t, w), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(mg_gemm_threads(), 2, "the geometry left BLIS on %d threads", mg_gemm_threads());
    cr_assert_eq(mg_csv_close(w), MG_OK);
    char *text = slurp(path, NULL);
    cr_assert(text && strstr(text, "features,nc1,") && strstr(text, "lock,lock_dims,"),
              "geometry rows: %s", text ? text : "(none)");
    free(text);
    mg_trainer_free(t);
}
