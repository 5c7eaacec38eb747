/* sweep_pool.c — the local pool: a sweep's points run as child processes,
 * `jobs` at a time, each `modgrad sweep --run-index I --threads T DIR`.
 * Every point's state is read back from its run directory when its process
 * ends, so a killed pool, a killed child or a rerun all see the truth on
 * disk. No home-made scheduler beyond that: SLURM is for many machines. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/fsutil.h"
#include "models/harness/sweep.h"

extern char **environ;

void mg_sweep_default_jobs(int64_t n, int cores, int *jobs, int *threads) {
    if (cores < 1) cores = 1;
    if (n < 1) n = 1;
    if (*jobs <= 0 && *threads <= 0) {
        /* more points than cores: one thread each, a process per core (the
         * canonical grid ran fastest so: README, "Sweeps"); fewer points:
         * their cores shared out */
        *jobs = n >= cores ? cores : (int)n;
        *threads = cores / *jobs;
    } else if (*jobs <= 0) {
        *jobs = cores / *threads > 0 ? cores / *threads : 1;
    } else if (*threads <= 0) {
        *threads = cores / *jobs > 0 ? cores / *jobs : 1;
    }
}

typedef struct {
    pid_t pid;
    int64_t point;
    double t0;
} child;

/* Starts point i; its output goes to DIR/NAME/sweep.log (appended). */
static mg_status spawn(const mg_sweep *s, const char *dir, const mg_sweep_pool_opts *o, int64_t i,
                       pid_t *pid) {
    char name[1024], run[4096], log[4200], idx[32], thr[32];
    mg_sweep_point_name(s, i, name, sizeof name);
    snprintf(run, sizeof run, "%s/%s", dir, name);
    mg_status st = mg_mkdir_p(run);
    if (st) return st;
    snprintf(log, sizeof log, "%s/" MG_SWEEP_LOG, run);
    snprintf(idx, sizeof idx, "%lld", (long long)i);
    snprintf(thr, sizeof thr, "%d", o->threads);
    char *argv[] = {(char *)o->binary, "sweep", "--run-index", idx,
                    "--threads",       thr,     (char *)dir,   NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    int rc = posix_spawn(pid, o->binary, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc) return mg_fail(MG_ERR_IO, "sweep: cannot start %s: %s", o->binary, strerror(rc));
    return MG_OK;
}

mg_status mg_sweep_pool(const mg_sweep *s, const char *dir, const mg_sweep_pool_opts *o) {
    if (o->jobs < 1 || o->threads < 1 || !o->binary)
        return mg_fail(MG_ERR_ARG, "sweep: the pool needs jobs >= 1, threads >= 1 and a binary");
    int64_t n = mg_sweep_size(s);
    mg_sweep_progress p = {.total = n, .eta_s = -1, .last_point = -1};
    int64_t *todo = malloc((size_t)n * sizeof *todo);
    child *kids = calloc((size_t)o->jobs, sizeof *kids);
    if (!todo || !kids) {
        free(todo);
        free(kids);
        return mg_fail(MG_ERR_NOMEM, "sweep: out of memory for %lld points", (long long)n);
    }
    int64_t n_todo = 0, next = 0, busy_elsewhere = 0;
    for (int64_t i = 0; i < n; i++) {
        mg_point_state st = mg_sweep_point_state(s, dir, i);
        if (mg_point_state_final(st)) {
            p.skipped++;
            p.done += st == MG_POINT_COMPLETED;
            p.failed += st != MG_POINT_COMPLETED;
        } else if (st == MG_POINT_RUNNING) {
            busy_elsewhere++; /* another process runs it: not ours to start */
        } else {
            todo[n_todo++] = i;
        }
    }
    double t0 = mg_clock_s(), sum_s = 0;
    int64_t finished_here = 0;
    mg_status st = MG_OK;
    int active = 0;
    for (;;) {
        while (!st && active < o->jobs && next < n_todo && !(o->stop && *o->stop)) {
            int slot = 0;
            while (kids[slot].pid) slot++;
            pid_t pid;
            if ((st = spawn(s, dir, o, todo[next], &pid))) break;
            kids[slot] = (child){.pid = pid, .point = todo[next++], .t0 = mg_clock_s()};
            active++;
        }
        p.running = active;
        p.elapsed_s = mg_clock_s() - t0;
        if (o->progress) o->progress(&p, o->ctx);
        p.last_point = -1;
        if (!active) break;
        int status;
        pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0) {
            if (errno == EINTR) continue; /* a signal: the stop flag is looked at above */
            st = mg_fail(MG_ERR_IO, "sweep: waitpid: %s", strerror(errno));
            break;
        }
        int slot = 0;
        while (slot < o->jobs && kids[slot].pid != pid) slot++;
        if (slot == o->jobs) continue; /* not one of ours */
        active--;
        double took = mg_clock_s() - kids[slot].t0;
        int64_t i = kids[slot].point;
        kids[slot].pid = 0;
        mg_point_state ps = mg_sweep_point_state(s, dir, i);
        p.last_point = i;
        p.last_state = ps;
        if (ps == MG_POINT_COMPLETED) p.done++;
        else if (mg_point_state_final(ps)) p.failed++;
        if (mg_point_state_final(ps)) {
            finished_here++;
            sum_s += took;
        }
        int64_t left = n_todo - next + active;
        p.eta_s = finished_here ? sum_s / (double)finished_here * (double)left / o->jobs : -1;
        (void)status;
    }
    /* an error starting a child: wait for those already running */
    while (active > 0) {
        int status;
        if (waitpid(-1, &status, 0) > 0) active--;
        else if (errno != EINTR) break;
    }
    free(todo);
    free(kids);
    if (st) return st;
    int64_t unfinished = 0;
    for (int64_t i = 0; i < n; i++)
        unfinished += !mg_point_state_final(mg_sweep_point_state(s, dir, i));
    if (p.failed)
        return mg_fail(MG_ERR_RUN, "%lld of %lld runs diverged or failed%s", (long long)p.failed,
                       (long long)n, unfinished ? "; some did not finish" : "");
    if (unfinished)
        return mg_fail(MG_ERR_RUN,
                       "%lld of %lld runs did not finish (%s); rerun the same command to resume "
                       "them",
                       (long long)unfinished, (long long)n,
                       busy_elsewhere        ? "some are run by another process"
                       : o->stop && *o->stop ? "stopped"
                                             : "their processes were killed");
    return MG_OK;
}
