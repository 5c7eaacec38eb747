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

static char dir[64], run[128], copy[128];

static void setup(void) {
    strcpy(dir, "/tmp/mg_rundir_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(run, sizeof run, "%s/run", dir);
    snprintf(copy, sizeof copy, "%s/copy", dir);
}

static void teardown(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

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
