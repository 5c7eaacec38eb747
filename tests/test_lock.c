/* test_lock.c — one writer per run directory, and analyses that fail leave
 * the run as it was (issue 12, rows 6 and 7). */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tests/util/cli.h"

TestSuite(lock, .init = mg_cli_setup, .fini = mg_cli_teardown, .timeout = 120);

#define SMALL "--model mlp --p 23 --d 32 --width 64 --threads 1"

/* While this process holds the lock of a finished run, every command that
 * writes it is refused with exit 2 naming this pid, and nothing changes. */
Test(lock, a_held_run_directory_is_refused_by_name) {
    const char *run = P("run"), *copy = P("copy");
    mg_ok("train " SMALL " --steps 20 --eval-every 10 --checkpoint-every 10 --out %s", run);
    copy_tree(run, copy);
    int fd = open(P("run/.lock"), O_RDWR);
    cr_assert_geq(fd, 0, "train left no lock file");
    struct flock l = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    cr_assert_eq(fcntl(fd, F_SETLK, &l), 0, "the finished run still holds its lock");
    char pid[32];
    snprintf(pid, sizeof pid, "pid %ld", (long)getpid());
    const char *cmds[] = {"train --resume %s --steps 40",
                          "train " SMALL " --steps 20 --seed 1 --force --out %s", "analyze %s"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        char line[512];
        snprintf(line, sizeof line, cmds[i], run);
        proc r;
        mg(&r, "%s", line);
        cr_assert_eq(r.code, 2, "[%s] exit %d: %s", line, r.code, r.err);
        cr_assert(strstr(r.err, "in use") && strstr(r.err, pid), "[%s] %s", line, r.err);
        proc_free(&r);
        cr_assert(same_tree(copy, run), "[%s] changed the run directory", line);
    }
    close(fd); /* released: the run resumes */
    mg_ok("train --resume %s --steps 30", run);
}

/* Two trainings into one directory at once: one runs, the other is refused
 * (exit 2) before it writes, and the run is the winner's, whole. */
Test(lock, two_trainings_into_one_directory) {
    const char *run = P("run");
    pid_t kids[2];
    for (int k = 0; k < 2; k++) {
        kids[k] = fork();
        cr_assert_neq(kids[k], -1);
        if (kids[k] == 0) {
            char seed[8];
            snprintf(seed, sizeof seed, "%d", k);
            int null = open("/dev/null", O_WRONLY);
            dup2(null, 1), dup2(null, 2);
            execl(bin, bin, "train", "--model", "mlp", "--p", "23", "--d", "32", "--width", "64",
                  "--threads", "1", "--steps", "300", "--eval-every", "10", "--seed", seed, "--out",
                  run, (char *)NULL);
            _exit(127);
        }
    }
    int codes[2];
    for (int k = 0; k < 2; k++) {
        int ws;
        cr_assert_eq(waitpid(kids[k], &ws, 0), kids[k]);
        codes[k] = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
    }
    cr_assert((codes[0] == 0 && codes[1] == 2) || (codes[0] == 2 && codes[1] == 0),
              "exit statuses %d and %d", codes[0], codes[1]);
    int winner = codes[0] == 0 ? 0 : 1;
    /* The winner's run, whole: 31 metrics rows, its seed, and the same
     * fingerprint as the same run made alone. */
    char *m = slurp(P("run/metrics.csv"), NULL);
    cr_assert_not_null(m);
    cr_expect_eq(count_lines(m), 32, "metrics.csv has %d lines", count_lines(m));
    free(m);
    cJSON *c = json_file(P("run/config.json"));
    cr_expect_eq((int)jnum(c, "seed"), winner);
    cJSON_Delete(c);
    mg_ok("train " SMALL " --steps 300 --eval-every 10 --seed %d --out %s", winner, P("alone"));
    char a[32], b[32];
    json_field(P("run/summary.json"), "fingerprint", a, sizeof a);
    json_field(P("alone/summary.json"), "fingerprint", b, sizeof b);
    cr_expect_str_eq(a, b, "the surviving run is not the winner's alone");
}

/* An analysis that fails part-way (a damaged probes.csv) leaves
 * summary.json and the other results byte for byte as they were. */
Test(lock, failed_analysis_rewrites_nothing) {
    const char *run = P("run"), *copy = P("copy");
    mg_ok("train " SMALL " --steps 50 --eval-every 10 --out %s", run);
    spit(P("run/probes.csv"), "garbage", 7);
    copy_tree(run, copy);
    proc r;
    mg(&r, "analyze %s", run);
    cr_assert_neq(r.code, 0, "analyze of a damaged run succeeded: %s", r.out);
    cr_assert_eq(count_lines(r.err), 1, "%s", r.err);
    proc_free(&r);
    cr_assert(same_tree(copy, run), "the failed analysis changed the run directory");
}
