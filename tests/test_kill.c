/* test_kill.c — a run killed at any write, fsync or rename resumes
 * bit-exactly. strace kills the training process with SIGKILL on the N-th
 * call of one of those syscalls (`-e inject=SYSCALL:signal=KILL:when=N`);
 * the run is then resumed (or, if it was killed before its first checkpoint
 * existed, started again with --force) and its final parameters and the
 * steps of its metrics must equal those of a run never interrupted. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/util/cli.h"

TestSuite(kill, .init = mg_cli_setup, .fini = mg_cli_teardown, .timeout = 300);

/* 60 steps, evaluations every 10, checkpoints at 0, 20, 40, 60: about a
 * dozen renames, two dozen fsyncs and a hundred writes. */
#define RUN "--model mlp --p 23 --d 32 --width 64 --threads 1 --eval-every 10 --checkpoint-every 20"
#define STEPS 60

/* The steps column of metrics.csv, as one string "0,10,20,...". */
static void metric_steps(const char *dir, char *out, size_t n) {
    char path[512];
    snprintf(path, sizeof path, "%s/metrics.csv", dir);
    char *s = slurp(path, NULL);
    cr_assert_not_null(s, "cannot read %s", path);
    out[0] = '\0';
    char *line = strchr(s, '\n'); /* skip the header */
    while (line && line[1]) {
        line++;
        size_t k = strcspn(line, ",");
        strncat(out, line, k < n - strlen(out) - 2 ? k : 0);
        strcat(out, ";");
        line = strchr(line, '\n');
    }
    free(s);
}

static bool strace_works(void) {
    proc r;
    char *argv[] = {"strace", "-o", "/dev/null", "true", NULL};
    run_argv(&r, argv);
    bool ok = r.code == 0;
    proc_free(&r);
    return ok;
}

/* The run's summary is the finished one: it has the study's keys (the
 * summary is written once without them, then again with them, last). */
static bool finished(const char *path) {
    if (!exists(path)) return false;
    cJSON *j = json_file(path);
    const cJSON *fs = cJSON_GetObjectItemCaseSensitive(j, "final_step");
    bool done = cJSON_GetObjectItemCaseSensitive(j, "embed_layer") && cJSON_IsNumber(fs) &&
                fs->valuedouble == STEPS;
    cJSON_Delete(j);
    return done;
}

/* Kills the run at the when-th call of syscall, then resumes it; returns
 * whether the kill happened (a `when` past the last call lets it finish). */
static bool kill_and_resume(const char *syscall, int when, const char *want_fp,
                            const char *want_steps) {
    const char *dir = P("%s_%d", syscall, when);
    char inject[64], cmd[4096];
    snprintf(inject, sizeof inject, "inject=%s:signal=KILL:when=%d", syscall, when);
    snprintf(cmd, sizeof cmd, "train " RUN " --steps %d --out %s", STEPS, dir);
    /* LeakSanitizer cannot run under ptrace: the sanitizer build's traced
     * child checks no leaks (its untraced runs still do). */
    char asan[512];
    const char *was = getenv("ASAN_OPTIONS");
    snprintf(asan, sizeof asan, "ASAN_OPTIONS=%s%sdetect_leaks=0", was ? was : "",
             was && *was ? ":" : "");
    char *argv[64];
    int n = 0;
    argv[n++] = "env";
    argv[n++] = asan;
    argv[n++] = "strace";
    argv[n++] = "-f";
    argv[n++] = "-o";
    argv[n++] = "/dev/null";
    argv[n++] = "-e";
    argv[n++] = inject;
    argv[n++] = bin;
    for (char *save = NULL, *t = strtok_r(cmd, " ", &save); t; t = strtok_r(NULL, " ", &save))
        argv[n++] = t;
    argv[n] = NULL;
    proc r;
    run_argv(&r, argv);
    bool killed = r.code != 0;
    cr_assert(r.code == 0 || r.code == 128 + 9, "[%s #%d] exit %d, stderr: %s", syscall, when,
              r.code, r.err);
    proc_free(&r);
    if (killed) {
        char ckpt[600];
        snprintf(ckpt, sizeof ckpt, "%s/checkpoints/step_000000.safetensors", dir);
        char sum[600];
        snprintf(sum, sizeof sum, "%s/summary.json", dir);
        if (finished(sum)) {
            /* Killed after its finished summary was renamed into place (at
             * the directory's fsync): the run is whole, and resuming it to
             * the step it ended at is refused (test_cli). */
        } else if (exists(ckpt)) {
            mg_ok("train --resume %s --steps %d", dir, STEPS);
        } else {
            /* Killed before the first checkpoint: nothing to resume from. */
            mg(&r, "train --resume %s --steps %d", dir, STEPS);
            cr_assert_eq(r.code, 2, "[%s #%d] resume without a checkpoint: exit %d, %s", syscall,
                         when, r.code, r.err);
            proc_free(&r);
            mg_ok("train " RUN " --steps %d --out %s --force", STEPS, dir);
        }
    }
    char fp[32], steps[512], sum[600];
    snprintf(sum, sizeof sum, "%s/summary.json", dir);
    json_field(sum, "fingerprint", fp, sizeof fp);
    cr_assert_str_eq(fp, want_fp, "[%s #%d] resumed run differs", syscall, when);
    metric_steps(dir, steps, sizeof steps);
    cr_assert_str_eq(steps, want_steps, "[%s #%d] metrics rows differ", syscall, when);
    return killed;
}

Test(kill, killed_at_any_write_fsync_or_rename_resumes_bit_exactly) {
    cr_assert(strace_works(), "strace cannot trace here (tools/deps installs it)");
    const char *ref = P("ref");
    mg_ok("train " RUN " --steps %d --out %s", STEPS, ref);
    char fp[32], steps[512], sum[600];
    snprintf(sum, sizeof sum, "%s/summary.json", ref);
    json_field(sum, "fingerprint", fp, sizeof fp);
    metric_steps(ref, steps, sizeof steps);
    cr_assert_str_eq(steps, "0;10;20;30;40;50;60;");

    /* Every rename; every third fsync; every eleventh write (a checkpoint is
     * written by a few large writes, a metrics row by one). */
    static const struct {
        const char *syscall;
        int every;
    } kinds[] = {{"rename", 1}, {"fsync", 3}, {"write", 11}};
    int kills = 0;
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        int when = 1;
        while (kill_and_resume(kinds[k].syscall, when, fp, steps)) {
            kills++;
            when += kinds[k].every;
        }
        cr_assert_gt(when, 1, "no %s call was ever killed", kinds[k].syscall);
    }
    cr_log_info("%d kills, every one resumed bit-exactly", kills);
    cr_assert_geq(kills, 20);
}
