/* test_study_files.c — the study's files of a run are those of the study as
 * it ran before its speedups (the sample pass of the collapse by blocks, the
 * analyses' BLIS on one thread): the XXH3-64 of metrics.csv, probes.csv,
 * geometry.csv, spectrum.csv, circle.csv and summary.json of a small run,
 * on one thread and on two, pinned to the values the earlier code wrote on
 * this project's machine (BLIS skx, like the fingerprints of
 * test_canonical), and to what the same code writes on the AMD Zen 3
 * machines (tests/util/pin.h). The wall-clock times are left out (metrics.csv's wall_s
 * column, summary.json's "wall_s" line); every other byte counts. */
#include <criterion/criterion.h>

#include "core/gemm.h"
#include "core/hash.h"
#include "models/harness/rundir.h"
#include "models/harness/study.h"
#include "tests/util/cli.h"
#include "tests/util/pin.h"

TestSuite(study_files, .init = mg_cli_setup, .fini = mg_cli_teardown, .timeout = 300);

/* Small enough for the sanitizer build on a loaded machine: f = 64
 * features, k = 23 classes (the collapse's blocks and their remainders). */
#define RUN                                                                                        \
    "train --model mlp --p 23 --d 32 --width 64 --steps 60 --eval-every 10 --geometry-every 10 "   \
    "--probe-every 5 --checkpoint-every 30"

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

static void expect_files(int threads, const mg_pin want[NFILES]) {
    const char *dir = P("t%d", threads);
    mg_ok(RUN " --threads %d --out %s", threads, dir);
    for (size_t i = 0; i < NFILES; i++) {
        uint64_t h = file_hash(dir, files[i]), w = mg_pin_value(want[i], files[i], h);
        cr_expect_eq(h, w, "--threads %d: %s hashes to 0x%016llxULL, pinned 0x%016llxULL (BLIS %s)",
                     threads, files[i], (unsigned long long)h, (unsigned long long)w,
                     mg_blis_arch());
    }
}

/* Written by the code before the speedups (summary.json's pin moved when
 * the summary gained "two_clocks", "roles_tied", "geometry_label_shape",
 * the lead's onsets at T_grok beside the old ones ("*_final", equal to the
 * old values) and the label "not fitted"; every other key kept its value;
 * geometry.csv's when it gained the rows gate_flips and lock_share_*,
 * lock_random_*, lock_orth_*, lock_rank_*, and again when it gained the
 * gradient hierarchy's hier_* rows (and the summary two_clocks.hierarchy),
 * and the progress measures' rows (layer "progress"); the summary's again
 * when it gained two_clocks.stable_rank (diffed against the previous
 * binary: that object added, nothing else changed):
 * its other rows are those it had, byte for byte, checked against the
 * previous binary with the new rows removed). At this size the run's kernels
 * stay on one thread and BLIS splits no sum, so both thread counts write
 * the same bytes; on two, the geometry's LAPACK ran on two BLIS threads
 * before and runs on one now. */
static const mg_pin pinned[NFILES] = {
    {0xf759a177afaf19c2ULL, 0x36f28944e8cf5188ULL}, /* metrics.csv */
    {0x3744ff58e58b29d3ULL, 0x312023b8c7dbef32ULL}, /* probes.csv */
    {0x86df3cbc82aa221aULL, 0xba2bb6b67df562eeULL}, /* geometry.csv */
    {0xf0ef7c08d19ccae6ULL, 0x3e4855a68811bae4ULL}, /* spectrum.csv */
    {0x68ede1a54b75193bULL, 0x81e99b1722f3ec56ULL}, /* circle.csv */
    {0x4e8f6f0a1c842926ULL, 0xe1f8aa3f7076ffb2ULL}, /* summary.json */
};

Test(study_files, one_thread_writes_the_pinned_study) { expect_files(1, pinned); }

Test(study_files, two_threads_write_the_pinned_study) {
    if (sysconf(_SC_NPROCESSORS_ONLN) < 2) cr_skip_test("one core: --threads 2 is refused");
    expect_files(2, pinned);
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
    mg_study_writers ws = {.geometry = w};
    cr_assert_eq(mg_study_geometry(t, &ws), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(mg_gemm_threads(), 2, "the geometry left BLIS on %d threads", mg_gemm_threads());
    cr_assert_eq(mg_csv_close(w), MG_OK);
    char *text = slurp(path, NULL);
    cr_assert(text && strstr(text, "features,nc1,") && strstr(text, "lock,lock_dims,"),
              "geometry rows: %s", text ? text : "(none)");
    free(text);
    mg_trainer_free(t);
}
