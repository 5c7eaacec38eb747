/* test_cli_sweep.c — `modgrad sweep` end to end, through the binary: a small
 * grid runs into one run directory per point with runs.csv matching each
 * summary; a rerun runs nothing; a pool killed with SIGKILL resumes to the
 * fingerprints of a clean run; diverged and failed points are recorded and
 * not rerun; --collect on a grid with points that never ran; bad specs and
 * grids over --max-runs exit 2 creating nothing; --slurm's script runs one
 * array task by hand; --status exits 0 only when every point is final. */
#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "models/harness/sweep.h"
#include "tests/util/cli.h"

TestSuite(cli_sweep, .init = mg_cli_setup, .fini = mg_cli_teardown, .timeout = 180);

/* The small MLP of the CLI tests: p = 23 (529 pairs). */
#define SMALL "--model mlp --p 23 --d 32 --width 64"
#define GRID2X2 "--grid seed=0,1 --grid wd=0.1,1"
static const char *const names2x2[] = {"seed=0,wd=0.1", "seed=0,wd=1", "seed=1,wd=0.1",
                                       "seed=1,wd=1"};

static mg_sweep_table table(const char *path) {
    mg_sweep_table t;
    cr_assert_eq(mg_sweep_table_read(path, &t), MG_OK, "%s", mg_errmsg());
    return t;
}

static const char *cell(const mg_sweep_table *t, int64_t r, const char *col) {
    int c = mg_sweep_table_col(t, col);
    cr_assert_geq(c, 0, "the table has no column %s", col);
    return mg_sweep_table_cell(t, r, c);
}

/* The row of runs.csv for the run called name. */
static int64_t row_of(const mg_sweep_table *t, const char *name) {
    for (int64_t r = 0; r < t->n_rows; r++)
        if (!strcmp(cell(t, r, "run"), name)) return r;
    cr_assert_fail("runs.csv has no row %s", name);
    return -1;
}

static void fingerprint(const char *dir, const char *name, char *out, size_t n) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s/summary.json", dir, name);
    json_field(path, "fingerprint", out, n);
}

static struct timespec mtime(const char *path) {
    struct stat st;
    cr_assert_eq(stat(path, &st), 0, "%s: %s", path, strerror(errno));
    return st.st_mtim;
}

static bool same_time(struct timespec a, struct timespec b) {
    return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

/* The files of a run directory whose mtimes a rerun must leave alone. */
static const char *const run_files[] = {"summary.json", "config.json", "metrics.csv", "sweep.log"};

Test(cli_sweep, grid_runs_every_point_and_a_rerun_runs_nothing) {
    const char *dir = P("sw");
    proc r;
    const char *cmd = "sweep --out %s " SMALL " --steps 300 " GRID2X2 " --jobs 2 --threads 1";
    mg(&r, cmd, dir);
    cr_assert_eq(r.code, 0, "exit %d: %s", r.code, r.err);
    cr_assert(strstr(r.out, "4 runs (seed 2 x wd 2)"), "%s", r.out);
    proc_free(&r);
    mg_sweep_table t = table(P("sw/runs.csv"));
    cr_assert_eq(t.n_rows, 4);
    struct timespec before[4][4];
    for (int k = 0; k < 4; k++) {
        for (int f = 0; f < 4; f++) before[k][f] = mtime(P("sw/%s/%s", names2x2[k], run_files[f]));
        char fp[64];
        fingerprint(dir, names2x2[k], fp, sizeof fp);
        int64_t row = row_of(&t, names2x2[k]);
        cr_assert_str_eq(cell(&t, row, "status"), "completed", "%s", names2x2[k]);
        cr_assert_str_eq(cell(&t, row, "fingerprint"), fp, "%s", names2x2[k]);
        cr_assert_str_eq(cell(&t, row, "seed"), k < 2 ? "0" : "1");
        cr_assert_str_eq(cell(&t, row, "wd"), k % 2 ? "1" : "0.1");
        cr_assert_str_eq(cell(&t, row, "config.steps"), "300");
    }
    /* the four runs are four different trainings */
    for (int a = 0; a < 4; a++)
        for (int b = 0; b < a; b++)
            cr_assert_str_neq(cell(&t, a, "fingerprint"), cell(&t, b, "fingerprint"));
    mg_sweep_table_free(&t);

    /* the same command again: nothing runs, nothing in a run directory changes */
    copy_tree(dir, P("copy"));
    mg(&r, cmd, dir);
    cr_assert_eq(r.code, 0, "exit %d: %s", r.code, r.err);
    cr_assert(strstr(r.err, "4/4 done, 0 running, 0 failed"), "%s", r.err);
    cr_assert_null(strstr(r.out, "completed  seed"), "a point was run again:\n%s", r.out);
    proc_free(&r);
    cr_assert(same_tree(P("copy"), dir));
    for (int k = 0; k < 4; k++)
        for (int f = 0; f < 4; f++)
            cr_assert(same_time(mtime(P("sw/%s/%s", names2x2[k], run_files[f])), before[k][f]),
                      "%s/%s was rewritten", names2x2[k], run_files[f]);
    /* --out DIR alone continues the recorded sweep: again nothing to do */
    mg(&r, "sweep --out %s --threads 1", dir);
    cr_assert_eq(r.code, 0, "exit %d: %s", r.code, r.err);
    proc_free(&r);
    cr_assert(same_tree(P("copy"), dir));
    /* another grid into the same directory is refused, naming what differs */
    mg(&r, "sweep --out %s " SMALL " --steps 300 --grid seed=0,1 --grid wd=0.1,3", dir);
    cr_assert_eq(r.code, 2, "exit %d: %s", r.code, r.err);
    cr_assert(strstr(r.err, "another sweep") && strstr(r.err, "wd"), "%s", r.err);
    proc_free(&r);
    cr_assert(same_tree(P("copy"), dir));
}

/* Starts `modgrad ARGS` in a process group of its own; returns its pid (= the
 * group's id). */
static pid_t start_group(const char *args) {
    static char line[2048];
    snprintf(line, sizeof line, "%s", args);
    char *argv[64];
    int n = 0;
    argv[n++] = bin;
    for (char *save = NULL, *t = strtok_r(line, " ", &save); t; t = strtok_r(NULL, " ", &save))
        argv[n++] = t;
    argv[n] = NULL;
    const char *log = P("bg.log");
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        setpgid(0, 0);
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0) _exit(126);
        dup2(fd, 1), dup2(fd, 2);
        alarm(100);
        execv(argv[0], argv);
        _exit(127);
    }
    setpgid(pid, pid); /* either of the two calls wins; both say the same */
    return pid;
}

static void sleep_ms(int ms) {
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The point (0..3 of seed=0:4) that has a checkpoint at `step` and no
 * summary yet, -1 if none. */
static int mid_run(const char *dir, int step) {
    char a[4096], b[4096], c[4096];
    for (int k = 0; k < 4; k++) {
        snprintf(a, sizeof a, "%s/seed=%d/checkpoints/step_%06d.safetensors", dir, k, step);
        snprintf(b, sizeof b, "%s/seed=%d/config.json", dir, k);
        snprintf(c, sizeof c, "%s/seed=%d/summary.json", dir, k);
        if (exists(a) && exists(b) && !exists(c)) return k;
    }
    return -1;
}

Test(cli_sweep, a_killed_pool_resumes_to_a_clean_runs_fingerprints) {
    const char *dir = P("killed"), *clean = P("clean");
    char args[1024];
    const char *grid = SMALL " --steps 1000 --checkpoint-every 100 --grid seed=0:4 --jobs 2 "
                             "--threads 1";
    snprintf(args, sizeof args, "sweep --out %s %s", dir, grid);
    pid_t pool = start_group(args);
    /* kill the pool and its children at once, while a point is mid-run */
    int k = -1;
    for (int waited = 0; (k = mid_run(dir, 100)) < 0 && waited < 60000; waited += 2) sleep_ms(2);
    cr_assert_eq(kill(-pool, SIGKILL), 0, "%s", strerror(errno));
    cr_assert_geq(k, 0, "no point reached its step-100 checkpoint in 60 s");
    int ws;
    cr_assert_eq(waitpid(pool, &ws, 0), pool);
    cr_assert(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL);
    /* the children die with it: wait until no run lock is held */
    mg_sweep s;
    cr_assert_eq(mg_sweep_load(&s, dir), MG_OK, "%s", mg_errmsg());
    for (int waited = 0, busy = 1; busy && waited < 10000; waited += 10) {
        busy = 0;
        for (int64_t i = 0; i < 4; i++)
            busy += mg_sweep_point_state(&s, dir, i) == MG_POINT_RUNNING;
        if (busy) sleep_ms(10);
    }
    cr_assert_eq(mg_sweep_point_state(&s, dir, k), MG_POINT_INTERRUPTED);
    mg_sweep_free(&s);
    char last[64];
    snprintf(last, sizeof last, "seed=%d/checkpoints/step_000100.safetensors", k);
    struct timespec ckpt = mtime(P("killed/%s", last));

    proc r;
    mg(&r, "sweep --status %s", dir);
    cr_assert_eq(r.code, 1, "--status of an unfinished sweep exited %d:\n%s", r.code, r.out);
    cr_assert(strstr(r.out, "interrupted"), "%s", r.out);
    cr_assert(strstr(r.out, "pending"), "%s", r.out);
    proc_free(&r);

    /* the same command again finishes the grid */
    mg(&r, "sweep --out %s %s", dir, grid);
    cr_assert_eq(r.code, 0, "exit %d: %s", r.code, r.err);
    proc_free(&r);
    /* the interrupted point was resumed from its checkpoint, not retrained */
    cr_assert(same_time(mtime(P("killed/%s", last)), ckpt), "%s was rewritten", last);
    mg(&r, "sweep --out %s %s", clean, grid);
    cr_assert_eq(r.code, 0, "exit %d: %s", r.code, r.err);
    proc_free(&r);
    mg_sweep_table t = table(P("killed/runs.csv")), c = table(P("clean/runs.csv"));
    cr_assert_eq(t.n_rows, 4);
    for (int i = 0; i < 4; i++) {
        char name[32], a[64], b[64];
        snprintf(name, sizeof name, "seed=%d", i);
        fingerprint(dir, name, a, sizeof a);
        fingerprint(clean, name, b, sizeof b);
        cr_assert_str_eq(a, b, "%s: resumed %s, clean %s", name, a, b);
        cr_assert_str_eq(cell(&t, row_of(&t, name), "fingerprint"), a);
        cr_assert_str_eq(cell(&t, row_of(&t, name), "status"), "completed");
        cr_assert_str_eq(cell(&c, row_of(&c, name), "fingerprint"), b);
    }
    mg_sweep_table_free(&t);
    mg_sweep_table_free(&c);
    mg(&r, "sweep --status %s", dir);
    cr_assert_eq(r.code, 0, "%s", r.out);
    cr_assert(strstr(r.out, "4 runs: 4 completed"), "%s", r.out);
    proc_free(&r);
}

Test(cli_sweep, a_diverged_point_is_recorded_and_not_rerun) {
    const char *dir = P("div");
    const char *cmd = "sweep --out %s " SMALL " --steps 100 --optimizer sgd --grid lr=0.1,1e6 "
                      "--jobs 2 --threads 1";
    proc r;
    mg(&r, cmd, dir);
    cr_assert_eq(r.code, 1, "exit %d: %s", r.code, r.err);
    cr_assert(strstr(r.err, "1 of 2 runs diverged or failed"), "%s", r.err);
    proc_free(&r);
    cJSON *sum = json_file(P("div/lr=1e6/summary.json"));
    cr_assert_str_eq(jstr(sum, "status"), "diverged");
    cr_assert(strstr(jstr(sum, "message"), "not finite"), "%s", jstr(sum, "message"));
    cr_assert_lt(jnum(sum, "final_step"), 100);
    cJSON_Delete(sum);
    cr_assert_not(exists(P("div/lr=1e6/failure.json")));
    mg_sweep_table t = table(P("div/runs.csv"));
    cr_assert_eq(t.n_rows, 2);
    cr_assert_str_eq(cell(&t, row_of(&t, "lr=1e6"), "status"), "diverged");
    cr_assert_str_eq(cell(&t, row_of(&t, "lr=0.1"), "status"), "completed");
    cr_assert_str_eq(cell(&t, row_of(&t, "lr=0.1"), "final_step"), "100");
    mg_sweep_table_free(&t);
    /* every point is final: --status says so */
    mg(&r, "sweep --status %s", dir);
    cr_assert_eq(r.code, 0, "%s", r.out);
    cr_assert(strstr(r.out, "1 completed 1 diverged"), "%s", r.out);
    proc_free(&r);
    /* the next invocation runs neither point again */
    char *log = slurp(P("div/lr=1e6/sweep.log"), NULL),
         *s1 = slurp(P("div/lr=1e6/summary.json"), NULL);
    struct timespec t_log = mtime(P("div/lr=1e6/sweep.log"));
    mg(&r, cmd, dir);
    cr_assert_eq(r.code, 1, "exit %d: %s", r.code, r.err);
    proc_free(&r);
    char *log2 = slurp(P("div/lr=1e6/sweep.log"), NULL),
         *s2 = slurp(P("div/lr=1e6/summary.json"), NULL);
    cr_assert_str_eq(log2, log);
    cr_assert_str_eq(s2, s1);
    cr_assert(same_time(mtime(P("div/lr=1e6/sweep.log")), t_log));
    free(log), free(log2), free(s1), free(s2);
}

/* A failure that is no divergence: the point's checkpoints/ is a plain file
 * (root or not, a directory cannot be made there), so its run cannot
 * start; the sweep records failure.json and goes on with the other point. */
Test(cli_sweep, a_failed_point_gets_failure_json_and_is_not_rerun) {
    const char *dir = P("fail");
    cr_assert_eq(mkdir(dir, 0755), 0);
    cr_assert_eq(mkdir(P("fail/seed=1"), 0755), 0);
    spit(P("fail/seed=1/checkpoints"), "x", 1);
    const char *cmd = "sweep --out %s " SMALL " --steps 100 --grid seed=0,1 --jobs 2 --threads 1";
    proc r;
    mg(&r, cmd, dir);
    cr_assert_eq(r.code, 1, "exit %d: %s", r.code, r.err);
    proc_free(&r);
    cJSON *f = json_file(P("fail/seed=1/failure.json"));
    cr_assert_str_eq(jstr(f, "status"), "failed");
    cr_assert_str_eq(jstr(f, "error"), mg_status_name(MG_ERR_IO));
    cr_assert(strstr(jstr(f, "message"), "checkpoints"), "%s", jstr(f, "message"));
    cJSON_Delete(f);
    cr_assert_not(exists(P("fail/seed=1/summary.json")));
    char *log = slurp(P("fail/seed=1/sweep.log"), NULL);
    cr_assert(log && strstr(log, "checkpoints"), "sweep.log: %s", log);
    mg_sweep_table t = table(P("fail/runs.csv"));
    cr_assert_str_eq(cell(&t, row_of(&t, "seed=1"), "status"), "failed");
    cr_assert_str_eq(cell(&t, row_of(&t, "seed=1"), "fingerprint"), "");
    cr_assert_str_eq(cell(&t, row_of(&t, "seed=0"), "status"), "completed");
    mg_sweep_table_free(&t);
    /* recorded, not retried */
    struct timespec t_fail = mtime(P("fail/seed=1/failure.json"));
    mg(&r, cmd, dir);
    cr_assert_eq(r.code, 1, "exit %d: %s", r.code, r.err);
    proc_free(&r);
    cr_assert(same_time(mtime(P("fail/seed=1/failure.json")), t_fail));
    char *log2 = slurp(P("fail/seed=1/sweep.log"), NULL);
    cr_assert_str_eq(log2, log);
    free(log), free(log2);
}

/* --slurm writes sweep.json and the script without running anything; run
 * by hand, index by index, the points fill in, and --collect and --status
 * tell the finished from the rest. */
Test(cli_sweep, slurm_script_runs_one_point_and_collect_keeps_the_missing) {
    const char *dir = P("sl");
    proc r;
    mg(&r, "sweep --out %s " SMALL " --steps 100 " GRID2X2 " --slurm --threads 1 --max-parallel 3",
       dir);
    cr_assert_eq(r.code, 0, "exit %d: %s", r.code, r.err);
    proc_free(&r);
    char *sb = slurp(P("sl/sweep.sbatch"), NULL);
    cr_assert_not_null(sb);
    char abin[PATH_MAX];
    cr_assert_not_null(realpath(bin, abin));
    cr_assert(strstr(sb, "#SBATCH --array=0-3%3\n"), "%s", sb);
    cr_assert(strstr(sb, "#SBATCH --cpus-per-task=1\n"), "%s", sb);
    cr_assert(strstr(sb, abin), "the script does not name %s:\n%s", abin, sb);
    free(sb);
    for (int k = 0; k < 4; k++) cr_assert_not(exists(P("sl/%s", names2x2[k])), "%s", names2x2[k]);

    /* one array task, run by hand with no scheduler: index 2 */
    setenv("SLURM_ARRAY_TASK_ID", "2", 1);
    run_argv(&r, (char *const[]){"bash", (char *)P("sl/sweep.sbatch"), NULL});
    unsetenv("SLURM_ARRAY_TASK_ID");
    cr_assert_eq(r.code, 0, "exit %d: %s%s", r.code, r.out, r.err);
    cr_assert_str_eq(r.out, "", "the task's output belongs in its run directory");
    proc_free(&r);
    cJSON *sum = json_file(P("sl/seed=1,wd=0.1/summary.json"));
    cr_assert_str_eq(jstr(sum, "status"), "completed");
    cJSON_Delete(sum);
    char *log = slurp(P("sl/seed=1,wd=0.1/sweep.log"), NULL);
    cr_assert(log && strstr(log, "sweep: point 2 finished"), "sweep.log: %s", log);
    free(log);
    cr_assert_not(exists(P("sl/seed=0,wd=0.1")));

    /* two more by the same command line the pool uses */
    mg_ok("sweep --run-index 0 --threads 1 %s", dir);
    mg_ok("sweep --run-index 1 --threads 1 %s", dir);
    mg(&r, "sweep --status %s", dir);
    cr_assert_eq(r.code, 1, "--status with a pending point exited %d", r.code);
    cr_assert(strstr(r.out, "3 completed") && strstr(r.out, "1 pending"), "%s", r.out);
    proc_free(&r);
    mg(&r, "sweep --collect %s", dir);
    cr_assert_eq(r.code, 1, "--collect with a pending point exited %d: %s", r.code, r.err);
    proc_free(&r);
    mg_sweep_table t = table(P("sl/runs.csv"));
    cr_assert_eq(t.n_rows, 4);
    int64_t missing = row_of(&t, "seed=1,wd=1");
    cr_assert_str_eq(cell(&t, missing, "status"), "pending");
    cr_assert_str_eq(cell(&t, missing, "seed"), "1");
    cr_assert_str_eq(cell(&t, missing, "wd"), "1");
    const char *empty[] = {"fingerprint", "train_loss", "final_step", "config.steps"};
    for (int k = 0; k < 4; k++) cr_assert_str_eq(cell(&t, missing, empty[k]), "", "%s", empty[k]);
    for (int k = 0; k < 3; k++)
        cr_assert_str_eq(cell(&t, row_of(&t, names2x2[k]), "status"), "completed");
    mg_sweep_table_free(&t);
    /* groups.csv counts only the runs that finished */
    mg_sweep_table g = table(P("sl/groups.csv"));
    int seen = 0;
    for (int64_t i = 0; i < g.n_rows; i++) {
        if (strcmp(cell(&g, i, "metric"), "train_loss")) continue;
        seen++;
        cr_assert_str_eq(cell(&g, i, "count"), strcmp(cell(&g, i, "wd"), "1") ? "2" : "1", "wd %s",
                         cell(&g, i, "wd"));
    }
    cr_assert_eq(seen, 2);
    mg_sweep_table_free(&g);

    /* the last point: now every point is final */
    mg_ok("sweep --run-index 3 --threads 1 %s", dir);
    mg(&r, "sweep --status %s", dir);
    cr_assert_eq(r.code, 0, "%s", r.out);
    proc_free(&r);
    mg(&r, "sweep --collect %s", dir);
    cr_assert_eq(r.code, 0, "exit %d: %s", r.code, r.err);
    proc_free(&r);
    mg(&r, "sweep --run-index 4 --threads 1 %s", dir);
    cr_assert_eq(r.code, 2, "--run-index past the grid exited %d", r.code);
    proc_free(&r);
}

Test(cli_sweep, bad_specs_exit_2_naming_the_axis_and_creating_nothing) {
    const char *spec = P("spec.json"), *bad_json = P("bad.json"), *own = P("own.json");
    const char *t1 = "{\"model\": \"mlp\", \"grid\": {\"wd\": [0.1, -1]}}";
    const char *t2 = "{\"model\": \"mlp\", \"p\": 23,";
    const char *t3 = "{\"threads\": 2, \"grid\": {\"seed\": [0, 1]}}";
    spit(spec, t1, strlen(t1));
    spit(bad_json, t2, strlen(t2));
    spit(own, t3, strlen(t3));
    const struct {
        const char *args, *want1, *want2;
    } cases[] = {
        {"--grid wd=0.1,-1", "wd", "-1"},
        {"--grid nosuch=1,2", "nosuch", "nosuch"},
        {"--grid p=23,1", "p", "p=1"},
        {"--grid wd=", "wd=", "--grid"},
        {"--grid wd=log:0:1:3", "wd", "lo"},
        {"--task div --grid p=23,24", "div", "24"},
        {"%s", "wd", "-1"},
        {"%s", "bad.json", "JSON"},
        {"%s", "threads", "--threads"},
        {"--grid seed=0,0", "seed", "twice"},
        {"nosuch.json", "nosuch.json", "spec"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *out = P("out%zu", i);
        char args[512];
        const char *file = i == 7 ? bad_json : i == 8 ? own : spec;
        snprintf(args, sizeof args, cases[i].args, file);
        proc r;
        mg(&r, "sweep %s --out %s " SMALL " --steps 10 --threads 1", args, out);
        cr_assert_eq(r.code, 2, "[%s] exit %d: %s", args, r.code, r.err);
        cr_assert(strstr(r.err, cases[i].want1) && strstr(r.err, cases[i].want2),
                  "[%s] '%s' lacks %s or %s", args, r.err, cases[i].want1, cases[i].want2);
        cr_assert_not(exists(out), "[%s] created %s", args, out);
        proc_free(&r);
    }
}

Test(cli_sweep, grids_over_max_runs_are_asked_for_explicitly) {
    const char *out = P("big");
    const char *grid = "--grid seed=0:40 --grid lr=log:1e-4:1e-2:30";
    proc r;
    mg(&r, "sweep --out %s " SMALL " --steps 10 %s --threads 1", out, grid);
    cr_assert_eq(r.code, 2, "exit %d: %s", r.code, r.err);
    cr_assert(strstr(r.out, "1200 runs"), "%s", r.out);
    cr_assert(strstr(r.err, "--max-runs") && strstr(r.err, "1200"), "%s", r.err);
    cr_assert_not(exists(out));
    proc_free(&r);
    /* --dry-run lists the points, checks them, and writes nothing */
    mg(&r, "sweep --out %s " SMALL " --steps 10 %s --threads 1 --dry-run --max-runs 1200", out,
       grid);
    cr_assert_eq(r.code, 0, "exit %d: %s", r.code, r.err);
    cr_assert(strstr(r.out, "  0 seed=0,lr=0.0001\n"), "%.300s", r.out);
    cr_assert(strstr(r.out, "  1199 seed=39,lr=0.01\n"), "%s", r.out + strlen(r.out) - 200);
    cr_assert_eq(count_lines(r.out), 1200 + 1);
    cr_assert_not(exists(out), "--dry-run created %s", out);
    proc_free(&r);
    /* a bound below the grid's size is refused, one at or above accepted */
    mg(&r, "sweep --out %s " SMALL " --grid seed=0:3 --dry-run --max-runs 2", out);
    cr_assert_eq(r.code, 2, "exit %d", r.code);
    cr_assert(strstr(r.err, "--max-runs 3"), "%s", r.err);
    proc_free(&r);
    mg_ok("sweep --out %s " SMALL " --grid seed=0:3 --dry-run --max-runs 3", out);
    cr_assert_not(exists(out));
}
