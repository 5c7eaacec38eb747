/* test_cli_files.c — the damaged run files of issue 12 through the `modgrad`
 * binary: a metrics.csv missing its columns (row 2), a checkpoint whose step
 * was edited by hand (rows 4 and 13), and temporaries of a killed writer
 * (row 16). A refusal is exit 2 with one line naming the file and what is
 * wrong, and the run directory is byte for byte what it was. */
#include <signal.h>
#include <sys/wait.h>

#include "tests/util/cli.h"

TestSuite(cli_files, .init = mg_cli_setup, .fini = mg_cli_teardown, .timeout = 120);

/* A 4-step run of the small MLP, checkpoints at 0, 2 and 4. */
static const char *small_run(void) {
    const char *run = P("run");
    mg_ok("train --model mlp --p 23 --d 32 --width 64 --threads 1 --steps 4 --eval-every 2 "
          "--checkpoint-every 2 --out %s",
          run);
    return run;
}

/* `modgrad ARGS` on run must exit 2 with one line holding both needles and
 * leave run unchanged. */
static void refused(const char *run, const char *args, const char *n1, const char *n2) {
    static int k;
    const char *copy = P("before%d", k++);
    copy_tree(run, copy);
    proc r;
    mg(&r, args, run);
    cr_assert_eq(r.code, 2, "exit %d, stderr: %s", r.code, r.err);
    cr_assert_eq(count_lines(r.err), 1, "not one line: '%s'", r.err);
    cr_assert(strstr(r.err, n1), "the message '%s' lacks '%s'", r.err, n1);
    cr_assert(strstr(r.err, n2), "the message '%s' lacks '%s'", r.err, n2);
    cr_assert(same_tree(copy, run), "the refused command changed the run directory");
    proc_free(&r);
}

Test(cli_files, analyze_names_the_missing_column) {
    const char *run = small_run();
    const char *m = P("run/metrics.csv");
    spit(m, "foo,bar\n1,2\n", 12);
    refused(run, "analyze %s", "metrics.csv has no column 'step'", "foo, bar");
    const char *no_acc = "step,wall_s,train_loss,train_acc,test_loss\n0,0.1,3,0.1,3\n";
    spit(m, no_acc, strlen(no_acc));
    refused(run, "analyze %s", "metrics.csv has no column 'test_acc'", "its columns");
}

Test(cli_files, hand_edited_step_is_refused_by_name) {
    const char *run = small_run();
    const char *ck = P("run/checkpoints/step_000004.safetensors");
    size_t n = 0;
    char *b = slurp(ck, &n);
    cr_assert_not_null(b);
    char *at = strstr(b + 8, "\"step\":\"4\"");
    cr_assert_not_null(at, "no step metadata in %s", ck);
    at[8] = '7';
    spit(ck, b, n);
    free(b);
    refused(run, "train --resume %s --steps 8", "step_000004.safetensors", "checksum mismatch");
    refused(run, "analyze %s", "step_000004.safetensors", "checksum mismatch");
}

Test(cli_files, resume_removes_a_killed_writers_temporary) {
    const char *run = small_run();
    pid_t dead = fork();
    cr_assert_neq(dead, -1);
    if (dead == 0) _exit(0);
    cr_assert_eq(waitpid(dead, NULL, 0), dead);
    const char *stale = P("run/checkpoints/step_000006.safetensors.tmp.%ld", (long)dead);
    const char *live = P("run/config.json.tmp.%ld", (long)getpid());
    spit(stale, "half", 4);
    spit(live, "{", 1);
    mg_ok("train --resume %s --steps 6", run);
    cr_assert_not(exists(stale), "the dead writer's temporary stayed");
    cr_assert(exists(live), "a live process's temporary was removed");
    cr_assert(exists(P("run/checkpoints/step_000006.safetensors")));
}
