/* test_rundir.c — the files of a run directory as a hostile user leaves
 * them: a metrics.csv missing a column, checkpoints whose metadata was
 * edited (step, optim_steps, wall_s), and temporaries of killed writers.
 * Each case goes through the library calls the CLI makes (mg_run_analyze,
 * mg_run_resume, mg_run_load_checkpoint) on a small real run, and checks
 * the error names the file and the field, and that nothing on disk changed. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/fsutil.h"
#include "core/gemm.h"
#include "core/safetensors.h"
#include "models/harness/run.h"
#include "tests/util/fixture.h"

static char dir[64], run[128], copy[128];

static void setup(void) {
    strcpy(dir, "/tmp/mg_rundir_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(run, sizeof run, "%s/run", dir);
    snprintf(copy, sizeof copy, "%s/copy", dir);
}

static void teardown(void) { mg_test_rmtree(dir); }

TestSuite(rundir, .init = setup, .fini = teardown, .timeout = 120);

/* The small MLP of test_cli (p = 23, d = 32, width 64), one thread. */
static void small_cfg(mg_train_cfg *cfg, int64_t steps) {
    const mg_model_def *m = mg_model_find("mlp");
    cr_assert_not_null(m, "%s", mg_errmsg());
    mg_train_defaults(cfg, m);
    cfg->opt[mg_model_option_index(m, "d")] = 32;
    cfg->opt[mg_model_option_index(m, "width")] = 64;
    cfg->task.p = 23;
    cfg->steps = steps;
    cfg->threads = 1;
}

/* A finished 4-step run in `run`: checkpoints at steps 0, 2 and 4. */
static void make_run(void) {
    mg_train_cfg cfg;
    small_cfg(&cfg, 4);
    mg_run_opts o;
    mg_run_opts_defaults(&o);
    o.eval_every = 2;
    o.checkpoint_every = 2;
    o.probe_every = 2;
    o.geometry_every = 2;
    cr_assert_eq(mg_run_train(&cfg, run, &o), MG_OK, "%s", mg_errmsg());
}

static const char *in_run(const char *name) {
    static char p[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof p[k], "%s/%s", run, name);
    return p[k];
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "cannot write %s", path);
    cr_assert_eq(fwrite(text, 1, strlen(text), f), strlen(text));
    cr_assert_eq(fclose(f), 0);
}

static int sh(const char *fmt, const char *a, const char *b) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, fmt, a, b);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Snapshot of the run directory, and the check that it is unchanged. */
static void snapshot(void) { cr_assert_eq(sh("cp -a '%s' '%s'", run, copy), 0); }
static void unchanged(void) {
    cr_assert_eq(sh("diff -r '%s' '%s' >&2", copy, run), 0, "the run directory changed");
    cr_assert_eq(sh("rm -rf '%s'%s", copy, ""), 0);
}

static void msg_has(const char *needle) {
    cr_assert(strstr(mg_errmsg(), needle), "the message lacks '%s': %s", needle, mg_errmsg());
}

/* ---- issue 12, row 2: a metrics.csv missing a column ----------------------- */

Test(rundir, analyze_refuses_metrics_with_foreign_columns) {
    make_run();
    write_text(in_run("metrics.csv"), "foo,bar\n1,2\n");
    snapshot();
    cr_assert_eq(mg_run_analyze(run, false), MG_ERR_FORMAT, "%s", mg_errmsg());
    msg_has(in_run("metrics.csv"));
    msg_has("no column 'step'");
    msg_has("foo, bar");
    unchanged();
}

Test(rundir, analyze_refuses_metrics_without_test_acc) {
    make_run();
    write_text(in_run("metrics.csv"), "step,wall_s,train_loss,train_acc,test_loss\n"
                                      "0,0.1,3.1,0.05,3.2\n4,0.2,3.0,0.06,3.1\n");
    snapshot();
    cr_assert_eq(mg_run_analyze(run, false), MG_ERR_FORMAT, "%s", mg_errmsg());
    msg_has(in_run("metrics.csv"));
    msg_has("no column 'test_acc'");
    unchanged();
}

/* ---- issue 12, rows 4, 11, 13: checkpoint metadata -------------------------- */

/* Rewrites checkpoint path with metadata key set to value (removed if NULL),
 * every checksum recomputed: what a user with this library could make. */
static void rewrite_ck(const char *path, const char *key, const char *value) {
    mg_st_file *f;
    cr_assert_eq(mg_st_load(path, &f), MG_OK, "%s", mg_errmsg());
    mg_st_writer *w = mg_st_writer_new();
    for (int i = 0; i < mg_st_count(f); i++) {
        int nd;
        int64_t shape[MG_ST_MAX_DIMS];
        mg_st_shape(f, i, &nd, shape);
        cr_assert_eq(mg_st_add_f32(w, mg_st_name(f, i), nd, shape, mg_st_data(f, i)), MG_OK);
    }
    const char *keys[] = {"step",        "optim_steps", "wall_s",
                          "fingerprint", "model",       "modgrad_version"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        const char *v = strcmp(keys[i], key) ? mg_st_meta(f, keys[i]) : value;
        if (v) cr_assert_eq(mg_st_add_meta(w, keys[i], v), MG_OK, "%s", mg_errmsg());
    }
    cr_assert_eq(mg_st_save(w, path), MG_OK, "%s", mg_errmsg());
    mg_st_writer_free(w);
    mg_st_free(f);
}

#define LAST "checkpoints/step_000004.safetensors"

/* Resuming the run to 8 steps must fail naming the last checkpoint and
 * `needle`, and leave the directory as it was. */
static void resume_refused(const char *needle) {
    snapshot();
    mg_run_opts o;
    mg_run_opts_defaults(&o);
    cr_assert_eq(mg_run_resume(run, 8, &o), MG_ERR_FORMAT, "resumed; message: %s", mg_errmsg());
    msg_has(in_run(LAST));
    msg_has(needle);
    unchanged();
}

Test(rundir, step_other_than_the_file_name_is_refused) {
    make_run();
    rewrite_ck(in_run(LAST), "step", "70");
    resume_refused("metadata says step 70, whose checkpoint is step_000070.safetensors");
    rewrite_ck(in_run(LAST), "step", "1000000");
    resume_refused("says step 1000000");
}

Test(rundir, step_that_is_not_a_count_is_refused) {
    make_run();
    const char *bad[] = {"abc", "-100", "4.0", "04", " 4", ""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        rewrite_ck(in_run(LAST), "step", bad[i]);
        char want[64];
        snprintf(want, sizeof want, "\"step\" is \"%s\"", bad[i]);
        resume_refused(want);
    }
    rewrite_ck(in_run(LAST), "step", NULL);
    resume_refused("no \"step\" metadata");
}

Test(rundir, optim_steps_is_validated_like_step) {
    make_run();
    rewrite_ck(in_run(LAST), "optim_steps", "99999999999999999999");
    resume_refused("\"optim_steps\" is \"99999999999999999999\"");
    rewrite_ck(in_run(LAST), "optim_steps", "-1");
    resume_refused("\"optim_steps\" is \"-1\"");
    rewrite_ck(in_run(LAST), "optim_steps", "3");
    resume_refused("optim_steps is 3 but step is 4");
}

Test(rundir, wall_s_must_be_a_finite_number) {
    make_run();
    const char *bad[] = {"nan", "inf", "-inf", "1e999", "abc", "3s"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        rewrite_ck(in_run(LAST), "wall_s", bad[i]);
        resume_refused("\"wall_s\"");
    }
    rewrite_ck(in_run(LAST), "wall_s", "-5");
    resume_refused("wall_s is -5, below 0");
}

/* Editing the metadata by hand, without recomputing the header checksum. */
Test(rundir, hand_edited_metadata_fails_the_header_checksum) {
    make_run();
    char *buf;
    size_t n;
    cr_assert_eq(mg_read_file(in_run(LAST), &buf, &n), MG_OK, "%s", mg_errmsg());
    char *at = strstr(buf + 8, "\"step\":\"4\"");
    cr_assert_not_null(at);
    at[8] = '7';
    FILE *f = fopen(in_run(LAST), "wb");
    cr_assert_eq(fwrite(buf, 1, n, f), n);
    fclose(f);
    mg_free(buf);
    resume_refused("the header (metadata and tensor table) checksum mismatch");
    /* analyze refuses it too, changing nothing */
    snapshot();
    cr_assert_eq(mg_run_analyze(run, false), MG_ERR_FORMAT, "%s", mg_errmsg());
    msg_has("checksum mismatch");
    unchanged();
}

/* The valid checkpoints the writer makes load (resume to the end works). */
Test(rundir, valid_checkpoints_resume) {
    make_run();
    mg_run_opts o;
    mg_run_opts_defaults(&o);
    cr_assert_eq(mg_run_resume(run, 6, &o), MG_OK, "%s", mg_errmsg());
    cr_assert(mg_path_exists(in_run("checkpoints/step_000006.safetensors")));
    cr_assert_eq(mg_run_analyze(run, true), MG_OK, "%s", mg_errmsg());
}

/* ---- issue 12, row 16: temporaries of killed writers ------------------------- */

Test(rundir, resume_removes_temporaries_of_dead_writers_only) {
    make_run();
    pid_t dead = fork();
    cr_assert_neq(dead, -1);
    if (dead == 0) _exit(0);
    cr_assert_eq(waitpid(dead, NULL, 0), dead);
    char stale1[256], stale2[256], live[256];
    snprintf(stale1, sizeof stale1, "%s.tmp.%ld", in_run("checkpoints/step_000006.safetensors"),
             (long)dead);
    snprintf(stale2, sizeof stale2, "%s.tmp.%ld", in_run("metrics.csv"), (long)dead);
    snprintf(live, sizeof live, "%s.tmp.%ld", in_run("summary.json"), (long)getppid());
    write_text(stale1, "half a checkpoint");
    write_text(stale2, "step,wall_s\n");
    write_text(live, "{");
    mg_run_opts o;
    mg_run_opts_defaults(&o);
    cr_assert_eq(mg_run_resume(run, 6, &o), MG_OK, "%s", mg_errmsg());
    cr_assert_not(mg_path_exists(stale1), "%s stayed", stale1);
    cr_assert_not(mg_path_exists(stale2), "%s stayed", stale2);
    cr_assert(mg_path_exists(live), "a live process's temporary was removed");
    /* analyze removes them too */
    write_text(stale1, "half a checkpoint");
    cr_assert_eq(mg_run_analyze(run, false), MG_OK, "%s", mg_errmsg());
    cr_assert_not(mg_path_exists(stale1), "%s stayed after analyze", stale1);
    cr_assert(mg_path_exists(live));
}

/* A refused resume removes nothing, stale temporaries included. */
Test(rundir, refused_resume_leaves_temporaries) {
    make_run();
    char stale[256];
    snprintf(stale, sizeof stale, "%s.tmp.%d", in_run("metrics.csv"), 999999999);
    write_text(stale, "x");
    rewrite_ck(in_run(LAST), "step", "abc");
    resume_refused("\"step\" is \"abc\"");
    cr_assert(mg_path_exists(stale));
}
