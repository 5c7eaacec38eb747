/* sweep_cmd.c — `modgrad sweep`: a grid of runs from a spec and/or --grid
 * axes (models/harness/sweep.h), run by a local pool of processes or
 * written as a SLURM job array; --status and --collect read the run
 * directories alone. Each point runs in its own process as
 * `modgrad sweep --run-index I DIR`, the same for the pool and SLURM. */
#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/fsutil.h"
#include "core/gemm.h"
#include "models/harness/rundir.h"
#include "models/harness/sweep.h"
#include "tools/cli/cli.h"
#include "tools/cli/sweep_report.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: modgrad sweep [SPEC] --out DIR [--grid NAME=VALUES]... [--NAME VALUE]...\n"
            "                     [--jobs J] [--threads T] [--max-runs N] [--dry-run]\n"
            "       modgrad sweep [SPEC] --out DIR --slurm [--submit] [--max-parallel M]\n"
            "                     [--sbatch-option OPT]... [--threads T]\n"
            "       modgrad sweep --status DIR\n"
            "       modgrad sweep --collect DIR\n"
            "       modgrad sweep --run-index I [--threads T] [--log] DIR\n\n"
            "Runs one `modgrad train` per point of a grid, each into DIR/NAME (NAME from the\n"
            "point's values: wd=0.1,seed=0); DIR/sweep.json records the grid.\n\n"
            "SPEC is a JSON file: train flags without dashes hold fixed settings, \"grid\" the\n"
            "axes, each a list or a log range:\n"
            "  {\"model\": \"mlp\", \"p\": 23, \"steps\": 300,\n"
            "   \"grid\": {\"seed\": [0, 1, 2], \"wd\": {\"log\": [0.1, 1], \"n\": 3}}}\n"
            "  --grid NAME=V1,V2,...   an axis of those values (NAME=A:B: A, A+1, ..., B-1;\n"
            "                          NAME=log:LO:HI:N: N log-spaced values, 4 digits)\n"
            "  --NAME VALUE            a fixed train setting (modgrad train --help)\n"
            "  --jobs J, --threads T   J runs at once with T GEMM threads each; default\n"
            "                          J x T = the cores, T = 1 when the grid has more points\n"
            "                          than cores\n"
            "  --max-runs N            refuse a grid of more than N runs (default %d)\n"
            "  --dry-run               check the grid and list its points; run nothing\n"
            "  --slurm                 write DIR/" MG_SWEEP_SBATCH
            " (an sbatch job array, one task per\n"
            "                          point, --cpus-per-task T); --submit also submits it\n"
            "  --status DIR            what finished, from the run directories alone\n"
            "  --collect DIR           DIR/" MG_SWEEP_RUNS_CSV " and DIR/" MG_SWEEP_GROUPS_CSV
            " (mean, std, min, max,\n"
            "                          count over seeds), the tables and the pictures\n\n"
            "Rerunning the same command skips finished runs, resumes interrupted ones from\n"
            "their last checkpoint and starts the rest; a diverged or failed run is recorded\n"
            "and does not stop the others. Exit status: 0 every run completed, 1 some\n"
            "diverged or failed (or did not finish), 2 bad input (nothing was run).\n",
            MG_SWEEP_MAX_RUNS_DEFAULT);
}

static volatile int stop_flag;
static void on_signal(int sig) {
    (void)sig;
    stop_flag = 1;
}

static const char *self_binary(char *buf, size_t n) {
    ssize_t k = readlink("/proc/self/exe", buf, n - 1);
    if (k <= 0) return NULL;
    buf[k] = '\0';
    return buf;
}

/* "1:23:45" / "2:05" */
static void duration(double s, char *buf, size_t n) {
    long t = s > 0 && s < 1e9 ? lround(s) : 0;
    if (t >= 3600) snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else snprintf(buf, n, "%ld:%02ld", t / 60, t % 60);
}

/* One line about a finished point, from its summary. */
static void point_line(const mg_sweep *s, const char *dir, int64_t i, mg_point_state st, FILE *f) {
    char name[1024], run[4096 + 1100];
    mg_sweep_point_name(s, i, name, sizeof name);
    snprintf(run, sizeof run, "%s/%s", dir, name);
    cJSON *sum = mg_sweep_read_json(run, MG_RUN_SUMMARY);
    fprintf(f, "  %-10s %-40s", mg_point_state_name(st), name);
    const char *keys[] = {"t_fit", "t_grok", "test_acc"};
    for (int k = 0; k < 3; k++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(sum, keys[k]);
        if (cJSON_IsNumber(v)) fprintf(f, " %s %g", keys[k], v->valuedouble);
        else if (sum) fprintf(f, " %s -", keys[k]);
    }
    const cJSON *label = cJSON_GetObjectItemCaseSensitive(sum, "geometry_label");
    if (cJSON_IsString(label)) fprintf(f, " %s", label->valuestring);
    fputc('\n', f);
    cJSON_Delete(sum);
}

typedef struct {
    const mg_sweep *s;
    const char *dir;
    bool tty;
} progress_ctx;

static void progress(const mg_sweep_progress *p, void *ctx) {
    progress_ctx *c = ctx;
    char eta[32] = "?", took[32];
    if (p->eta_s >= 0) duration(p->eta_s, eta, sizeof eta);
    duration(p->elapsed_s, took, sizeof took);
    if (c->tty) fputs("\r\033[K", stderr);
    if (p->last_point >= 0) point_line(c->s, c->dir, p->last_point, p->last_state, stdout);
    fflush(stdout);
    fprintf(stderr, "sweep: %lld/%lld done, %lld running, %lld failed, %s elapsed, ETA %s%s",
            (long long)p->done, (long long)p->total, (long long)p->running, (long long)p->failed,
            took, eta, c->tty ? "" : "\n");
    if (c->tty && !p->running) fputc('\n', stderr);
}

/* Counts and lists the points by state; true when all are final. */
static bool print_status(const mg_sweep *s, const char *dir, bool list_all) {
    int64_t n = mg_sweep_size(s), count[MG_POINT_FAILED + 1] = {0};
    for (int64_t i = 0; i < n; i++) {
        mg_point_state st = mg_sweep_point_state(s, dir, i);
        count[st]++;
        if (list_all || st != MG_POINT_COMPLETED) point_line(s, dir, i, st, stdout);
    }
    printf("%s: %lld runs:", dir, (long long)n);
    for (int k = 0; k <= MG_POINT_FAILED; k++)
        if (count[k]) printf(" %lld %s", (long long)count[k], mg_point_state_name(k));
    printf("\n");
    return count[MG_POINT_COMPLETED] + count[MG_POINT_DIVERGED] + count[MG_POINT_FAILED] == n;
}

static int collect(const mg_sweep *s, const char *dir) {
    mg_status st = mg_sweep_collect(s, dir);
    if (st) {
        cli_error("sweep --collect: %s", mg_errmsg());
        return cli_exit_status(st);
    }
    bool all = print_status(s, dir, true);
    printf("wrote %s/" MG_SWEEP_RUNS_CSV " and %s/" MG_SWEEP_GROUPS_CSV "\n", dir, dir);
    /* every report the grid's axes allow, with its pictures in DIR/plots */
    int rc = cli_sweep_report(dir, CLI_REPORT_ALL, 0, true);
    return rc != MG_EXIT_OK ? rc : all ? MG_EXIT_OK : MG_EXIT_FAIL;
}

/* `--run-index I DIR`: one point, in this process. */
static int run_index(const char *dir, const char *index, int threads, bool log) {
    mg_sweep s;
    mg_status st = mg_sweep_load(&s, dir);
    if (st) {
        cli_error("sweep: %s", mg_errmsg());
        return cli_exit_status(st);
    }
    int64_t i;
    if (!cli_int("--run-index", index, 0, mg_sweep_size(&s) - 1, &i)) {
        mg_sweep_free(&s);
        return MG_EXIT_USAGE;
    }
    if (log) { /* an array task: its output into the run directory */
        char name[1024], path[4096 + 1100];
        mg_sweep_point_name(&s, i, name, sizeof name);
        snprintf(path, sizeof path, "%s/%s", dir, name);
        if (!mg_mkdir_p(path)) {
            snprintf(path + strlen(path), sizeof path - strlen(path), "/" MG_SWEEP_LOG);
            int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
            if (fd >= 0) {
                fflush(stdout);
                dup2(fd, STDOUT_FILENO);
                dup2(fd, STDERR_FILENO);
                close(fd);
            }
        }
    }
    if (threads <= 0) threads = 1;
    st = mg_sweep_run_point(&s, dir, i, threads);
    if (st) cli_error("sweep: point %lld: %s", (long long)i, mg_errmsg());
    else printf("sweep: point %lld finished\n", (long long)i);
    mg_sweep_free(&s);
    return st ? (st == MG_ERR_NUMERIC ? MG_EXIT_FAIL : cli_exit_status(st)) : MG_EXIT_OK;
}

static int submit(const char *dir) {
    char cmd[8400];
    snprintf(cmd, sizeof cmd, "sbatch --parsable '%s/" MG_SWEEP_SBATCH "' 2>&1", dir);
    if (strchr(dir, '\'')) {
        cli_error("sweep --submit: the directory's name holds a quote; submit %s/%s by hand", dir,
                  MG_SWEEP_SBATCH);
        return MG_EXIT_USAGE;
    }
    FILE *p = popen(cmd, "r");
    if (!p) {
        cli_error("sweep --submit: cannot run sbatch: %s", strerror(errno));
        return MG_EXIT_FAIL;
    }
    char out[1024] = "";
    size_t k = fread(out, 1, sizeof out - 1, p);
    out[k] = '\0';
    int rc = pclose(p);
    out[strcspn(out, ";\n")] = '\0';
    if (rc != 0 || !out[0]) {
        cli_error("sweep --submit: sbatch failed (%s); the script is %s/%s",
                  out[0] ? out : "no output", dir, MG_SWEEP_SBATCH);
        return MG_EXIT_FAIL;
    }
    printf("submitted batch job %s\n", out);
    return MG_EXIT_OK;
}

int cmd_sweep(int argc, char **argv) {
    const char *spec = NULL, *out = NULL, *status_dir = NULL, *collect_dir = NULL;
    const char *index = NULL, *pos_dir = NULL;
    int64_t jobs = 0, threads = 0, max_runs = MG_SWEEP_MAX_RUNS_DEFAULT, max_parallel = 0;
    bool slurm = false, do_submit = false, dry = false, log = false;
    const char *extra[32];
    int n_extra = 0;
    mg_sweep s;
    mg_sweep_init(&s);
    const char *grid[64];
    int n_grid = 0;
    int rc = MG_EXIT_USAGE;
#define NEED_VALUE()                                                                               \
    do {                                                                                           \
        if (!val) {                                                                                \
            cli_error("sweep: %s needs a value (modgrad sweep --help)", argv[i]);                  \
            goto done;                                                                             \
        }                                                                                          \
    } while (0)
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            rc = MG_EXIT_OK;
            goto done;
        }
        if (strncmp(a, "--", 2) || !a[2]) {
            if (spec && pos_dir) {
                cli_error("sweep: unexpected argument '%s' (modgrad sweep --help)", a);
                goto done;
            }
            if (!spec) spec = a;
            else pos_dir = a;
            continue;
        }
        char flag[128];
        const char *eq = strchr(a, '=');
        snprintf(flag, sizeof flag, "%.*s", eq ? (int)(eq - a) : (int)strlen(a), a);
        const char *val = eq ? eq + 1 : i + 1 < argc ? argv[i + 1] : NULL;
        bool took = !eq; /* the value is the next argument */
        if (!strcmp(flag, "--slurm") || !strcmp(flag, "--submit") || !strcmp(flag, "--dry-run") ||
            !strcmp(flag, "--log")) {
            if (eq) {
                cli_error("sweep: %s takes no value", flag);
                goto done;
            }
            *(!strcmp(flag, "--slurm")    ? &slurm
              : !strcmp(flag, "--submit") ? &do_submit
              : !strcmp(flag, "--log")    ? &log
                                          : &dry) = true;
            continue;
        }
        const mg_setting *row = mg_setting_find(flag + 2);
        if (row && row->type == MG_SETTING_FLAG) { /* a train flag: true unless =false */
            mg_status st = mg_sweep_set_fixed(&s, flag + 2, eq ? val : "true");
            if (st) {
                cli_error("%s", mg_errmsg());
                goto done;
            }
            continue;
        }
        NEED_VALUE();
        if (took) i++;
        if (!strcmp(flag, "--out")) out = val;
        else if (!strcmp(flag, "--status")) status_dir = val;
        else if (!strcmp(flag, "--collect")) collect_dir = val;
        else if (!strcmp(flag, "--run-index")) index = val;
        else if (!strcmp(flag, "--grid")) {
            if (n_grid == 64) {
                cli_error("sweep: at most 64 --grid axes");
                goto done;
            }
            grid[n_grid++] = val;
        } else if (!strcmp(flag, "--sbatch-option")) {
            if (n_extra == 32) {
                cli_error("sweep: at most 32 --sbatch-option");
                goto done;
            }
            extra[n_extra++] = val;
        } else if (!strcmp(flag, "--jobs")) {
            if (!cli_int("--jobs", val, 1, 4096, &jobs)) goto done;
        } else if (!strcmp(flag, "--threads")) {
            if (!cli_int("--threads", val, 1, mg_cpu_cores(), &threads)) goto done;
        } else if (!strcmp(flag, "--max-runs")) {
            if (!cli_int("--max-runs", val, 1, INT32_MAX, &max_runs)) goto done;
        } else if (!strcmp(flag, "--max-parallel")) {
            if (!cli_int("--max-parallel", val, 1, 1000000, &max_parallel)) goto done;
        } else {
            /* a train setting, fixed for every point */
            mg_status st = mg_sweep_set_fixed(&s, flag + 2, val);
            if (st) {
                cli_error("%s", mg_errmsg());
                goto done;
            }
        }
    }
    if (index) {
        const char *dir = spec; /* the one positional argument */
        if (!dir || pos_dir) {
            cli_error("sweep --run-index I DIR: give the sweep's directory once");
            goto done;
        }
        rc = run_index(dir, index, (int)threads, log);
        goto done;
    }
    if (status_dir || collect_dir) {
        mg_sweep rec;
        const char *dir = status_dir ? status_dir : collect_dir;
        mg_status st = mg_sweep_load(&rec, dir);
        if (st) {
            cli_error("sweep: %s", mg_errmsg());
            rc = cli_exit_status(st);
            goto done;
        }
        rc = status_dir ? (print_status(&rec, dir, false) ? MG_EXIT_OK : MG_EXIT_FAIL)
                        : collect(&rec, dir);
        mg_sweep_free(&rec);
        goto done;
    }
    if (!out) {
        cli_error("sweep: --out DIR is required (modgrad sweep --help)");
        goto done;
    }
    if (pos_dir) {
        cli_error("sweep: unexpected argument '%s' (modgrad sweep --help)", pos_dir);
        goto done;
    }
    mg_status st = MG_OK;
    mg_sweep given;
    mg_sweep_init(&given);
    if (spec) {
        char *text;
        size_t n;
        if (!mg_path_exists(spec)) st = mg_fail(MG_ERR_ARG, "sweep: no such spec file %s", spec);
        else if (!(st = mg_read_file(spec, &text, &n))) {
            st = mg_sweep_parse_spec(&given, text, spec);
            mg_free(text);
        }
    }
    /* the command line after the spec: its settings and axes win */
    for (int k = 0; k < s.n_fixed && !st; k++)
        st = mg_sweep_set_fixed(&given, s.fixed_name[k], s.fixed_value[k]);
    for (int k = 0; k < n_grid && !st; k++) st = mg_sweep_add_grid_arg(&given, grid[k]);
    mg_sweep_free(&s);
    s = given;
    char path[4200];
    snprintf(path, sizeof path, "%s/" MG_SWEEP_FILE, out);
    if (!st && !spec && !n_grid && !s.n_fixed && mg_path_exists(path)) {
        /* `modgrad sweep --out DIR` alone continues the recorded sweep */
        mg_sweep_free(&s);
        st = mg_sweep_load(&s, out);
    }
    if (st) {
        cli_error("%s", mg_errmsg());
        rc = cli_exit_status(st);
        goto done;
    }
    int64_t n = mg_sweep_size(&s);
    printf("sweep: %lld run%s", (long long)n, n == 1 ? "" : "s");
    for (int a = 0; a < s.n_axes; a++)
        printf("%s%s %d", a ? " x " : " (", s.axes[a].name, s.axes[a].n);
    printf("%s into %s\n", s.n_axes ? ")" : "", out);
    fflush(stdout);
    if (n > max_runs) {
        cli_error("sweep: the grid has %lld runs, over --max-runs %lld; give --max-runs %lld to "
                  "run it",
                  (long long)n, (long long)max_runs, (long long)n);
        goto done;
    }
    if ((st = mg_sweep_validate(&s))) {
        cli_error("%s", mg_errmsg());
        cli_print_diagnostics();
        rc = cli_exit_status(st);
        goto done;
    }
    if (dry) {
        char name[1024];
        for (int64_t i = 0; i < n; i++) {
            mg_sweep_point_name(&s, i, name, sizeof name);
            printf("  %lld %s\n", (long long)i, name);
        }
        rc = MG_EXIT_OK;
        goto done;
    }
    if ((st = mg_sweep_save(&s, out))) {
        cli_error("%s", mg_errmsg());
        rc = cli_exit_status(st);
        goto done;
    }
    char self[PATH_MAX];
    if (!self_binary(self, sizeof self)) {
        cli_error("sweep: cannot find this program's path (/proc/self/exe)");
        rc = MG_EXIT_FAIL;
        goto done;
    }
    int j = (int)jobs, t = (int)threads;
    mg_sweep_default_jobs(n, mg_cpu_cores(), &j, &t);
    if (slurm) {
        if ((st = mg_sweep_write_sbatch(&s, out, self, t, (int)max_parallel, extra, n_extra))) {
            cli_error("%s", mg_errmsg());
            rc = cli_exit_status(st);
            goto done;
        }
        printf("wrote %s/%s (%lld array tasks, %d cpus each)\n", out, MG_SWEEP_SBATCH, (long long)n,
               t);
        rc = do_submit ? submit(out) : MG_EXIT_OK;
        if (!do_submit) printf("submit it with: sbatch %s/%s\n", out, MG_SWEEP_SBATCH);
        goto done;
    }
    if (do_submit) {
        cli_error("sweep: --submit goes with --slurm");
        goto done;
    }
    printf("sweep: %d run%s at once, %d thread%s each\n", j, j == 1 ? "" : "s", t,
           t == 1 ? "" : "s");
    fflush(stdout);
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    progress_ctx pc = {.s = &s, .dir = out, .tty = isatty(STDERR_FILENO) != 0};
    mg_sweep_pool_opts po = {.jobs = j,
                             .threads = t,
                             .binary = self,
                             .progress = progress,
                             .ctx = &pc,
                             .stop = &stop_flag};
    st = mg_sweep_pool(&s, out, &po);
    mg_status cst = mg_sweep_collect(&s, out);
    if (st) cli_error("sweep: %s", mg_errmsg());
    else if (cst) cli_error("sweep: collecting: %s", mg_errmsg());
    else
        printf("sweep: every run completed; tables in %s/" MG_SWEEP_RUNS_CSV
               " and " MG_SWEEP_GROUPS_CSV "\n",
               out);
    rc = st    ? (st == MG_ERR_RUN ? MG_EXIT_FAIL : cli_exit_status(st))
         : cst ? cli_exit_status(cst)
               : MG_EXIT_OK;
    if (stop_flag) rc = 128 + SIGINT;
done:
    mg_sweep_free(&s);
    return rc;
#undef NEED_VALUE
}
