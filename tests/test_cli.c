/* test_cli.c — end-to-end tests of the `modgrad` binary: a small run that
 * groks, --stop-at-grok, determinism, bit-exact resume (also after a kill),
 * bad flags and bad checkpoints (one message, non-zero exit, nothing on disk
 * damaged), divergence, an independent Python reader of the checkpoints, the
 * help and listing commands, and a short run of every model.
 *
 * Each test runs the real binary ($MG_BUILD_DIR/modgrad, set by CMake) in a
 * fresh directory under /tmp with small settings, so the whole suite takes a
 * few seconds on two cores. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/safetensors.h"
#include "tests/util/cli.h"

/* The small MLP of most tests: p = 23 (529 pairs), 6391 parameters. */
#define SMALL "--model mlp --p 23 --d 32 --width 64 --threads 1"
/* A setting of SMALL that groks within a few hundred full-batch steps (test
 * accuracy >= 99% from step ~400, t_fit 50; seeds 0-5 all grok by step 900). */
#define GROK SMALL " --frac 0.8 --lr 1e-2 --wd 1 --seed 1"

TestSuite(cli, .init = mg_cli_setup, .fini = mg_cli_teardown, .timeout = 120);

/* Reads metrics.csv of run dir: checks the header and the column count of
 * every row; returns the rows, each a malloc'd copy of its line (no '\n'),
 * and the steps in steps[]. */
static int read_metrics(const char *dir, int64_t *steps, char **rows, int max) {
    char path[512];
    snprintf(path, sizeof path, "%s/metrics.csv", dir);
    char *s = slurp(path, NULL);
    cr_assert_not_null(s, "cannot read %s", path);
    const char *header = "step,wall_s,train_loss,train_acc,test_loss,test_acc\n";
    cr_assert(strncmp(s, header, strlen(header)) == 0, "%s has the header:\n%.80s", path, s);
    int n = 0;
    for (char *p = s + strlen(header), *nl; *p; p = nl + 1) {
        nl = strchr(p, '\n');
        cr_assert_not_null(nl, "%s: the last row has no newline", path);
        *nl = '\0';
        int commas = 0;
        for (const char *c = p; *c; c++) commas += *c == ',';
        cr_assert_eq(commas, 5, "%s: row '%s' does not have 6 columns", path, p);
        cr_assert_lt(n, max);
        char *end;
        steps[n] = strtoll(p, &end, 10);
        cr_assert(end != p && *end == ',', "%s: row '%s' does not start with a step", path, p);
        if (rows) rows[n] = strdup(p);
        n++;
    }
    free(s);
    return n;
}

/* The columns of a metrics row other than wall_s (which differs between
 * runs): "step,train_loss,train_acc,test_loss,test_acc". */
static void strip_wall(const char *row, char *out, size_t n) {
    const char *c1 = strchr(row, ','), *c2 = c1 ? strchr(c1 + 1, ',') : NULL;
    cr_assert(c1 && c2);
    snprintf(out, n, "%.*s%s", (int)(c1 - row), row, c2);
}

static double wall_of(const char *row) { return strtod(strchr(row, ',') + 1, NULL); }

/* ---- 1, 2: a run that groks -------------------------------------------------- */

Test(cli, small_mlp_groks) {
    const char *run = P("run");
    mg_ok("train " GROK " --steps 1000 --eval-every 50 --out %s", run);

    cJSON *s = json_file(P("run/summary.json"));
    cr_assert_str_eq(jstr(s, "status"), "completed");
    cr_assert_eq(jnum(s, "final_step"), 1000);
    cr_assert(cJSON_IsNumber(jget(s, "t_grok")), "the run did not grok (t_grok is null)");
    cr_assert(cJSON_IsNumber(jget(s, "t_fit")), "the run did not fit (t_fit is null)");
    double t_fit = jnum(s, "t_fit"), t_grok = jnum(s, "t_grok");
    cr_assert_leq(t_fit, t_grok, "t_fit %g > t_grok %g", t_fit, t_grok);
    cr_assert_lt(t_grok, 1000);
    cr_assert_geq(jnum(s, "test_acc"), 0.99);
    cr_assert_eq(jnum(s, "train_acc"), 1.0);
    cr_assert_eq(strlen(jstr(s, "fingerprint")), 16);
    cJSON_Delete(s);

    cJSON *c = json_file(P("run/config.json"));
    cr_assert_eq(jnum(c, "p"), 23);
    cr_assert_eq(jnum(c, "n_train") + jnum(c, "n_test"), 23 * 23);
    cr_assert_str_eq(jstr(c, "model"), "mlp");
    cr_assert_eq(jnum(jget(c, "model_options"), "width"), 64);
    cr_assert_eq(strlen(jstr(c, "split_hash")), 16);
    cJSON_Delete(c);

    int64_t steps[64];
    int n = read_metrics(run, steps, NULL, 64);
    cr_assert_eq(n, 21, "one row per eval (0, 50, ..., 1000), got %d", n);
    for (int i = 0; i < n; i++) cr_assert_eq(steps[i], 50 * i);
    cr_assert(exists(P("run/checkpoints/step_000000.safetensors")));
    cr_assert(exists(P("run/checkpoints/step_001000.safetensors")));
}

Test(cli, stop_at_grok_ends_early) {
    const char *run = P("run");
    mg_ok("train " GROK " --steps 3000 --eval-every 50 --stop-at-grok --out %s", run);
    cJSON *s = json_file(P("run/summary.json"));
    cr_assert_str_eq(jstr(s, "status"), "grokked");
    double final = jnum(s, "final_step"), t_grok = jnum(s, "t_grok");
    cr_assert_lt(final, 3000, "the run went on to step %g", final);
    cr_assert_geq(final, t_grok + 2 * 50, "stopped at %g, before 3 evals >= 99%% (t_grok %g)",
                  final, t_grok);
    cr_assert_geq(jnum(s, "test_acc"), 0.99);
    cJSON_Delete(s);
    int64_t steps[128];
    int n = read_metrics(run, steps, NULL, 128);
    cr_assert_eq(steps[n - 1], (int64_t) final);
    cr_assert(exists(P("run/checkpoints/step_%06lld.safetensors", (long long) final)),
              "no checkpoint at the final step");
}

/* ---- 3: determinism ------------------------------------------------------------ */

Test(cli, same_seed_same_fingerprint) {
    const char *runs[] = {"a", "b", "c"};
    const int seeds[] = {3, 3, 4};
    char fp[3][32], split[3][32];
    for (int i = 0; i < 3; i++) {
        mg_ok("train " SMALL " --seed %d --steps 60 --eval-every 20 --out %s", seeds[i],
              P("%s", runs[i]));
        json_field(P("%s/summary.json", runs[i]), "fingerprint", fp[i], sizeof fp[i]);
        json_field(P("%s/config.json", runs[i]), "split_hash", split[i], sizeof split[i]);
    }
    cr_assert_str_eq(fp[0], fp[1], "same seed and threads, different parameters");
    cr_assert_str_neq(fp[0], fp[2], "another seed gave the same parameters");
    cr_assert_str_eq(split[0], split[1]);
    cr_assert_str_neq(split[0], split[2], "another seed gave the same split");

    /* The summary's fingerprint is the one recorded in the final checkpoint. */
    mg_st_file *f = NULL;
    cr_assert_eq(mg_st_load(P("a/checkpoints/step_000060.safetensors"), &f), MG_OK, "%s",
                 mg_errmsg());
    cr_assert_str_eq(mg_st_meta(f, "fingerprint"), fp[0]);
    cr_assert_str_eq(mg_st_meta(f, "step"), "60");
    mg_st_free(f);
}

/* ---- 4: resume -------------------------------------------------------------------- */

/* Checks that runs a and b have the same fingerprint and the same metrics
 * rows (all but wall_s), without duplicated steps, wall_s never going back. */
static void same_runs(const char *a, const char *b) {
    char fa[32], fb[32], pa[512], pb[512];
    snprintf(pa, sizeof pa, "%s/summary.json", a);
    snprintf(pb, sizeof pb, "%s/summary.json", b);
    json_field(pa, "fingerprint", fa, sizeof fa);
    json_field(pb, "fingerprint", fb, sizeof fb);
    cr_assert_str_eq(fa, fb, "resumed run %s differs from the straight run %s", b, a);
    enum { MAXROWS = 4096 };
    int64_t *sa = malloc(MAXROWS * sizeof *sa), *sb = malloc(MAXROWS * sizeof *sb);
    char **ra = malloc(MAXROWS * sizeof *ra), **rb = malloc(MAXROWS * sizeof *rb);
    int na = read_metrics(a, sa, ra, MAXROWS), nb = read_metrics(b, sb, rb, MAXROWS);
    cr_assert_eq(na, nb, "%d metrics rows straight, %d resumed", na, nb);
    for (int i = 0; i < nb; i++) {
        if (i)
            cr_assert_gt(sb[i], sb[i - 1], "metrics.csv: step %lld after %lld", (long long)sb[i],
                         (long long)sb[i - 1]);
        if (i) cr_assert_geq(wall_of(rb[i]), wall_of(rb[i - 1]), "wall_s went back: %s", rb[i]);
        char xa[512], xb[512];
        strip_wall(ra[i], xa, sizeof xa);
        strip_wall(rb[i], xb, sizeof xb);
        cr_assert_str_eq(xa, xb);
    }
    for (int i = 0; i < na; i++) free(ra[i]), free(rb[i]);
    free(sa), free(sb), free(ra), free(rb);
}

static void check_resume(const char *extra) {
    const char *straight = P("straight"), *resumed = P("resumed");
    mg_ok("train " GROK " %s --steps 80 --eval-every 10 --checkpoint-every 40 --out %s", extra,
          straight);
    mg_ok("train " GROK " %s --steps 40 --eval-every 10 --checkpoint-every 40 --out %s", extra,
          resumed);
    mg_ok("train --resume %s --steps 80", resumed);
    same_runs(straight, resumed);
    cr_assert(exists(P("resumed/checkpoints/step_000080.safetensors")));
    cJSON *c = json_file(P("resumed/config.json"));
    cr_assert_eq(jnum(c, "steps"), 80, "config.json keeps the old target");
    cJSON_Delete(c);
}

Test(cli, resume_matches_straight_run) { check_resume(""); }

Test(cli, resume_matches_straight_run_minibatch) { check_resume("--batch 64"); }

/* A run killed mid-way (SIGKILL) resumes bit-exactly from its last
 * checkpoint, dropping the metrics rows written after it. */
Test(cli, resume_after_kill) {
    const char *run = P("killed");
    char *argv[64];
    char line[1024];
    snprintf(line, sizeof line,
             "train " GROK " --steps 1000000 --eval-every 10 --checkpoint-every 40 --out %s", run);
    int n = 0;
    argv[n++] = bin;
    for (char *save = NULL, *t = strtok_r(line, " ", &save); t; t = strtok_r(NULL, " ", &save))
        argv[n++] = t;
    argv[n] = NULL;
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        int fd = open("/dev/null", O_RDWR);
        dup2(fd, 0), dup2(fd, 1), dup2(fd, 2);
        alarm(100);
        execv(bin, argv);
        _exit(127);
    }
    /* Wait for the checkpoint at step 120, then kill it wherever it is. */
    const char *ck = P("killed/checkpoints/step_000120.safetensors");
    for (int i = 0; i < 30000 && !exists(ck); i++) {
        int ws;
        cr_assert_eq(waitpid(pid, &ws, WNOHANG), 0, "the run ended early");
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
    bool reached = exists(ck);
    kill(pid, SIGKILL);
    cr_assert(reached, "no checkpoint at step 120 after 30 s");
    int ws;
    cr_assert_eq(waitpid(pid, &ws, 0), pid);
    /* A torn last line, as a kill in the middle of a write would leave. */
    FILE *f = fopen(P("killed/metrics.csv"), "a");
    cr_assert_not_null(f);
    fputs("99999,0.5,1.2", f);
    fclose(f);

    int64_t last = -1;
    DIR *d = opendir(P("killed/checkpoints"));
    cr_assert_not_null(d);
    for (struct dirent *e; (e = readdir(d));) {
        long long s;
        if (sscanf(e->d_name, "step_%lld.safetensors", &s) == 1 &&
            strstr(e->d_name, ".tmp") == NULL && s > last)
            last = s;
    }
    closedir(d);
    cr_assert_geq(last, 120);
    int64_t target = last + 40;
    mg_ok("train --resume %s --steps %lld", run, (long long)target);
    mg_ok("train " GROK " --steps %lld --eval-every 10 --checkpoint-every 40 --out %s",
          (long long)target, P("straight"));
    same_runs(P("straight"), run);
}

/* ---- 5: bad input -------------------------------------------------------------- */

Test(cli, bad_values_refused) {
    static const struct {
        const char *args, *want1, *want2; /* stderr must contain both */
    } cases[] = {
        {"--p 1", "--p", "from 2 to 4096"},
        {"--frac 0", "--frac", "(0, 1)"},
        {"--frac 1.5", "--frac", "(0, 1)"},
        {"--task div --p 12", "div", "prime"},
        {"--model nope", "--model", "deep_linear, mlp, mlp_tied, transformer"},
        {"--task nope", "--task", "add, div, marker-mul, markers, mul, sub, x2y2, x3xy"},
        {"--steps -5", "--steps", ">= 0"},
        {"--bogus 3", "--bogus", "--help"},
        {"--optimizer nope", "--optimizer", "adamw"},
        {"--combine foo", "--combine", "concat|sum"},
        {"--act tanh", "--act", "relu|square"},
        {"--width 0", "--width", "1"},
        {"--lr -1", "--lr", "positive"},
        {"--eval-every 0", "--eval-every", "1"},
        {"--p abc", "--p", "whole number"},
        {"--seed", "--seed", "value"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        proc r;
        const char *out = P("bad%zu", i);
        /* The value-less flag goes last so that it has no value. */
        mg(&r, "train " SMALL " --steps 10 --out %s %s", out, cases[i].args);
        cr_assert_eq(r.code, 2, "[%s] exit %d, stderr: %s", cases[i].args, r.code, r.err);
        cr_assert_eq(count_lines(r.err), 1, "[%s] not one line: '%s'", cases[i].args, r.err);
        cr_assert(strstr(r.err, cases[i].want1) && strstr(r.err, cases[i].want2),
                  "[%s] the message '%s' lacks '%s' or '%s'", cases[i].args, r.err, cases[i].want1,
                  cases[i].want2);
        cr_assert_str_eq(r.out, "", "[%s] printed '%s'", cases[i].args, r.out);
        cr_assert_not(exists(out), "[%s] created %s", cases[i].args, out);
        proc_free(&r);
    }
    /* A model whose options do not fit together fails before writing. */
    proc r;
    mg(&r, "train --model transformer --p 11 --d-model 16 --heads 3 --steps 5 --out %s", P("badt"));
    cr_assert_eq(r.code, 2, "exit %d: %s", r.code, r.err);
    cr_assert(strstr(r.err, "--heads") && strstr(r.err, "--d-model"), "%s", r.err);
    cr_assert_not(exists(P("badt")));
    proc_free(&r);
}

Test(cli, out_exists_needs_force) {
    const char *run = P("run"), *copy = P("copy");
    mg_ok("train " SMALL " --steps 20 --eval-every 10 --out %s", run);
    spit(P("run/notes.txt"), "mine\n", 5);
    copy_tree(run, copy);

    proc r;
    mg(&r, "train " SMALL " --seed 7 --steps 20 --out %s", run);
    cr_assert_eq(r.code, 2, "exit %d: %s", r.code, r.err);
    cr_assert_eq(count_lines(r.err), 1, "%s", r.err);
    cr_assert(strstr(r.err, "--force") && strstr(r.err, run), "%s", r.err);
    cr_assert(same_tree(copy, run), "the existing run was changed");
    proc_free(&r);

    char before[32], after[32];
    json_field(P("copy/config.json"), "split_hash", before, sizeof before);
    mg_ok("train " SMALL " --seed 7 --steps 20 --out %s --force", run);
    json_field(P("run/config.json"), "split_hash", after, sizeof after);
    cr_assert_str_neq(before, after, "--force did not replace the run");
    cr_assert(exists(P("run/summary.json")));
}

/* A message that wraps another (mg_fail(..., "%s", mg_errmsg())) stays
 * intact: the optimizer's "unknown layer 'foo'; known layers: ..." once came
 * out as "--lr: --lr: n layer 'foo'; ..." when mg_fail formatted its own
 * buffer into itself. */
Test(cli, unknown_layer_message_intact) {
    proc r;
    mg(&r, "train " SMALL " --lr foo=1 --steps 5 --out %s", P("run"));
    cr_assert_eq(r.code, 2, "exit %d: %s", r.code, r.err);
    cr_assert(strstr(r.err, "unknown layer 'foo'") && strstr(r.err, "classifier"),
              "garbled message: %s", r.err);
    cr_assert_eq(strstr(r.err, "--lr: --lr"), NULL, "garbled message: %s", r.err);
    cr_assert_not(exists(P("run")));
    proc_free(&r);
}

/* Resuming a directory that does not exist is refused as bad input, in one
 * intact message (it once came out as "cannot resume X: cannot resume X:
 * fig.json: ...", when mg_fail formatted its own buffer into itself). */
Test(cli, resume_missing_dir_message_intact) {
    proc r;
    const char *dir = P("nothing");
    mg(&r, "train --resume %s --steps 10", dir);
    cr_assert_eq(r.code, 2, "a missing run directory is bad input: exit %d", r.code);
    cr_assert_eq(count_lines(r.err), 1, "%s", r.err);
    cr_assert(strstr(r.err, "no such run directory"), "garbled message: %s", r.err);
    char twice[600];
    snprintf(twice, sizeof twice, "cannot resume %s: cannot resume", dir);
    cr_assert_eq(strstr(r.err, twice), NULL, "garbled message: %s", r.err);
    cr_assert_not(exists(dir));
    proc_free(&r);
}

Test(cli, resume_needs_more_steps) {
    const char *run = P("run"), *copy = P("copy");
    mg_ok("train " SMALL " --steps 20 --eval-every 10 --out %s", run);
    copy_tree(run, copy);
    proc r;
    mg(&r, "train --resume %s --steps 20", run);
    cr_assert_eq(r.code, 2, "exit %d: %s", r.code, r.err);
    cr_assert(strstr(r.err, "--steps") && strstr(r.err, "20"), "%s", r.err);
    proc_free(&r);
    mg(&r, "train --resume %s", run);
    cr_assert_eq(r.code, 2, "exit %d: %s", r.code, r.err);
    cr_assert(strstr(r.err, "--steps"), "%s", r.err);
    proc_free(&r);
    cr_assert(same_tree(copy, run));
}

/* ---- 6: bad checkpoints ------------------------------------------------------------ */

/* A 40-step run (checkpoints 0, 20, 40) in tmp/run; returns its path. */
static const char *small_run(const char *name, int width) {
    const char *run = P("%s", name);
    mg_ok("train --model mlp --p 23 --d 32 --width %d --threads 1 --frac 0.8 --seed 1 --steps 40 "
          "--eval-every 10 --checkpoint-every 20 --out %s",
          width, run);
    return run;
}

/* Resumes run (damaged by the caller) to 80 steps: must fail with exit 2, a
 * one-line message containing each of want (NULL-terminated), and change
 * nothing in the run directory. */
static void resume_fails(const char *run, const char *const *want) {
    static int k;
    const char *copy = P("before%d", k++);
    copy_tree(run, copy);
    proc r;
    mg(&r, "train --resume %s --steps 80", run);
    cr_assert_eq(r.code, 2, "a damaged checkpoint is bad input: exit %d, stderr: %s", r.code,
                 r.err);
    cr_assert_eq(count_lines(r.err), 1, "not one line: '%s'", r.err);
    for (; *want; want++)
        cr_assert(strstr(r.err, *want), "the message '%s' lacks '%s'", r.err, *want);
    cr_assert(same_tree(copy, run), "the failed resume changed the run directory");
    proc_free(&r);
}

Test(cli, truncated_checkpoint_refused) {
    const char *run = small_run("run", 64);
    const char *ck = P("run/checkpoints/step_000040.safetensors");
    size_t n = 0;
    char *b = slurp(ck, &n);
    cr_assert_not_null(b);
    spit(ck, b, n / 2);
    free(b);
    resume_fails(run, (const char *[]){"step_000040.safetensors", "truncated", NULL});
}

/* Flips one bit in the data of tensor `name` of a checkpoint. */
static void flip_bit(const char *path, const char *name, size_t at) {
    size_t n = 0;
    unsigned char *b = (unsigned char *)slurp(path, &n);
    cr_assert_not_null(b);
    uint64_t h = 0;
    for (int i = 7; i >= 0; i--) h = h << 8 | b[i];
    cr_assert_lt(8 + h, n);
    cJSON *j = cJSON_ParseWithLength((const char *)b + 8, h);
    cr_assert_not_null(j);
    const cJSON *offs = cJSON_GetObjectItemCaseSensitive(jget(j, name), "data_offsets");
    size_t begin = (size_t)cJSON_GetArrayItem(offs, 0)->valuedouble;
    size_t end = (size_t)cJSON_GetArrayItem(offs, 1)->valuedouble;
    cr_assert_lt(begin + at, end);
    b[8 + h + begin + at] ^= 0x01;
    spit(path, b, n);
    cJSON_Delete(j);
    free(b);
}

Test(cli, corrupt_checkpoint_refused) {
    const char *run = small_run("run", 64);
    flip_bit(P("run/checkpoints/step_000040.safetensors"), "hidden.w", 101);
    resume_fails(run, (const char *[]){"step_000040.safetensors", "'hidden.w'", "checksum", NULL});
}

Test(cli, checkpoint_shape_mismatch_refused) {
    /* config.json says width 48, the checkpoint has 64. */
    const char *run = small_run("run", 64);
    cJSON *c = json_file(P("run/config.json"));
    cJSON_SetNumberValue(cJSON_GetObjectItemCaseSensitive(jget(c, "model_options"), "width"), 48);
    json_save(P("run/config.json"), c);
    cJSON_Delete(c);
    resume_fails(run, (const char *[]){"'hidden.w'", "(64, 64)", "(64, 48)", NULL});

    /* A width-48 run's checkpoint copied into a width-64 run. */
    const char *run2 = small_run("run2", 64);
    small_run("other", 48);
    size_t n = 0;
    char *b = slurp(P("other/checkpoints/step_000040.safetensors"), &n);
    cr_assert_not_null(b);
    spit(P("run2/checkpoints/step_000040.safetensors"), b, n);
    free(b);
    resume_fails(run2, (const char *[]){"'hidden.w'", "(64, 48)", "(64, 64)", NULL});
}

Test(cli, changed_split_refused) {
    const char *run = small_run("run", 64);
    cJSON *c = json_file(P("run/config.json"));
    cJSON_SetNumberValue(cJSON_GetObjectItemCaseSensitive(c, "seed"), 2);
    json_save(P("run/config.json"), c);
    cJSON_Delete(c);
    resume_fails(run, (const char *[]){"split", "hash", NULL});
}

/* ---- 7: divergence ----------------------------------------------------------------- */

Test(cli, divergence_stops_run) {
    const char *run = P("run");
    proc r;
    mg(&r, "train " SMALL " --optimizer sgd --lr 1e30 --steps 50 --eval-every 10 --out %s", run);
    cr_assert_eq(r.code, 1, "exit %d, stderr: %s", r.code, r.err);
    long long step = -1;
    const char *s = strstr(r.err, "step ");
    cr_assert(s && sscanf(s, "step %lld", &step) == 1 && step >= 1 && step <= 10, "no step in '%s'",
              r.err);
    cr_assert(strstr(r.err, "layer '"), "no layer in '%s'", r.err);
    cr_assert(strstr(r.err, "'embed'") || strstr(r.err, "'hidden'") ||
                  strstr(r.err, "'classifier'"),
              "no known layer in '%s'", r.err);
    cr_assert(strstr(r.err, "checkpoint is step 0"), "%s", r.err);
    proc_free(&r);

    cJSON *sum = json_file(P("run/summary.json"));
    cr_assert_str_eq(jstr(sum, "status"), "diverged");
    cr_assert(strstr(jstr(sum, "message"), "layer '"), "%s", jstr(sum, "message"));
    cr_assert_lt(jnum(sum, "final_step"), (double)step);
    cJSON_Delete(sum);

    /* The step-0 checkpoint is the only one, and it is valid. */
    DIR *d = opendir(P("run/checkpoints"));
    cr_assert_not_null(d);
    int files = 0;
    for (struct dirent *e; (e = readdir(d));) files += e->d_name[0] != '.';
    closedir(d);
    cr_assert_eq(files, 1, "checkpoints/ holds %d files", files);
    mg_st_file *f = NULL;
    cr_assert_eq(mg_st_load(P("run/checkpoints/step_000000.safetensors"), &f), MG_OK, "%s",
                 mg_errmsg());
    cr_assert_str_eq(mg_st_meta(f, "step"), "0");
    mg_st_free(f);

    /* With a sane learning rate the run resumes from it. */
    cJSON *c = json_file(P("run/config.json"));
    cJSON_SetNumberValue(cJSON_GetObjectItemCaseSensitive(c, "lr"), 1e-2);
    json_save(P("run/config.json"), c);
    cJSON_Delete(c);
    mg_ok("train --resume %s --steps 20", run);
    sum = json_file(P("run/summary.json"));
    cr_assert_str_eq(jstr(sum, "status"), "completed");
    cr_assert_eq(jnum(sum, "final_step"), 20);
    cJSON_Delete(sum);
}

/* ---- 8: an independent reader ------------------------------------------------------- */

/* Reads a safetensors file with json + struct only; prints each tensor's
 * name and shape and the step, after checking every span, dtype, value and
 * that each tensor has a checksum in the metadata. */
static const char *py_reader = "import json, math, struct, sys\n"
                               "b = open(sys.argv[1], 'rb').read()\n"
                               "(n,) = struct.unpack('<Q', b[:8])\n"
                               "h = json.loads(b[8:8 + n].decode('utf-8'))\n"
                               "meta = h.pop('__metadata__')\n"
                               "data = b[8 + n:]\n"
                               "spans = []\n"
                               "for name, t in h.items():\n"
                               "    assert t['dtype'] == 'F32', name\n"
                               "    count = 1\n"
                               "    for d in t['shape']: count *= d\n"
                               "    s, e = t['data_offsets']\n"
                               "    assert e - s == 4 * count, (name, t)\n"
                               "    vals = struct.unpack('<%df' % count, data[s:e])\n"
                               "    assert all(math.isfinite(v) for v in vals), name\n"
                               "    assert len(meta['xxh3:' + name]) == 16, name\n"
                               "    spans.append((s, e))\n"
                               "spans.sort()\n"
                               "pos = 0\n"
                               "for s, e in spans:\n"
                               "    assert s == pos, 'gap or overlap at %d' % s\n"
                               "    pos = e\n"
                               "assert pos == len(data), 'bytes after the last tensor'\n"
                               "print('tensors')\n"
                               "for name in sorted(h):\n"
                               "    print(name, 'x'.join(str(d) for d in h[name]['shape']))\n"
                               "print('step', meta['step'])\n";

Test(cli, python_reads_checkpoint) {
    if (access("/usr/bin/python3", X_OK) != 0) cr_skip_test("no /usr/bin/python3");
    mg_ok("train " SMALL " --steps 10 --out %s", P("run"));
    const char *paths[] = {P("run/checkpoints/step_000000.safetensors"),
                           P("run/checkpoints/step_000010.safetensors")};
    const char *steps[] = {"\nstep 0\n", "\nstep 10\n"};
    for (int i = 0; i < 2; i++) {
        proc r;
        run_argv(&r, (char *const[]){"/usr/bin/python3", "-c", (char *)py_reader, (char *)paths[i],
                                     NULL});
        cr_assert_eq(r.code, 0, "python: %s", r.err);
        const char *want[] = {"\nembed 23x32\n",
                              "\nhidden.w 64x64\n",
                              "\nhidden.b 64\n",
                              "\nclassifier.w 64x23\n",
                              "\nclassifier.b 23\n",
                              "\noptim.m.embed 23x32\n",
                              "\noptim.v.hidden.w 64x64\n",
                              steps[i]};
        for (size_t k = 0; k < sizeof want / sizeof *want; k++)
            cr_assert(strstr(r.out, want[k]), "no '%s' in:\n%s", want[k] + 1, r.out);
        proc_free(&r);
    }
}

/* ---- 9: help and listings ------------------------------------------------------------ */

Test(cli, help_and_info) {
    proc r;
    cr_assert_eq(mg(&r, "--help"), 0);
    cr_assert(strstr(r.out, "train") && strstr(r.out, "models") && strstr(r.out, "info"), "%s",
              r.out);
    proc_free(&r);

    cr_assert_eq(mg(&r, "train --help"), 0);
    const char *flags[] = {
        "--model",      "--task",   "--p",      "--frac",         "--seed",
        "--steps",      "--batch",  "--lr",     "--wd",           "--optimizer",
        "--out",        "--force",  "--resume", "--stop-at-grok", "--checkpoint-every",
        "--eval-every", "--threads"};
    for (size_t i = 0; i < sizeof flags / sizeof *flags; i++)
        cr_assert(strstr(r.out, flags[i]), "train --help does not describe %s", flags[i]);
    cr_assert(strstr(r.out, "Exit status"), "%s", r.out);
    proc_free(&r);

    cr_assert_eq(mg(&r, "info --threads 1"), 0, "%s", r.err);
    cr_assert(strstr(r.out, "modgrad ") && strstr(r.out, "BLIS") && strstr(r.out, "GFLOP/s"), "%s",
              r.out);
    proc_free(&r);

    cr_assert_eq(mg(&r, "--version"), 0);
    cr_assert(strncmp(r.out, "modgrad ", 8) == 0, "%s", r.out);
    proc_free(&r);
}

Test(cli, models_lists_all) {
    proc r;
    cr_assert_eq(mg(&r, "models"), 0, "%s", r.err);
    const char *want[] = {"\nmlp\n",  "\ntransformer\n", "\ndeep_linear\n", "\nmlp_tied\n",
                          "--d ",     "--width",         "--combine",       "concat|sum",
                          "--act",    "--d-model",       "--heads",         "--d-mlp",
                          "--layers", "--init-scale",    "--init"};
    char *text = malloc(strlen(r.out) + 2);
    sprintf(text, "\n%s", r.out);
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        cr_assert(strstr(text, want[i]), "modgrad models lacks '%s':\n%s", want[i], r.out);
    free(text);
    proc_free(&r);
}

Test(cli, unknown_command) {
    proc r;
    cr_assert_eq(mg(&r, "frobnicate"), 2);
    cr_assert(strstr(r.err, "frobnicate") && strstr(r.err, "train"), "%s", r.err);
    proc_free(&r);
    cr_assert_eq(mg(&r, "%s", ""), 2); /* no command at all */
    cr_assert(strstr(r.err, "usage"), "%s", r.err);
    proc_free(&r);
    cr_assert_eq(mg(&r, "models extra"), 2);
    proc_free(&r);
}

/* ---- 10: every model runs --------------------------------------------------------------- */

static void check_model_run(const char *name, const char *args, const char *param) {
    const char *run = P("%s", name);
    mg_ok("train %s --steps 20 --eval-every 10 --threads 1 --out %s", args, run);
    cJSON *s = json_file(P("%s/summary.json", name));
    cr_assert_str_eq(jstr(s, "status"), "completed");
    cr_assert_eq(jnum(s, "final_step"), 20);
    cr_assert_eq(strlen(jstr(s, "fingerprint")), 16);
    cr_assert(cJSON_IsNumber(jget(s, "train_loss")), "%s: train_loss is not a number", name);
    cJSON_Delete(s);
    int64_t steps[8];
    cr_assert_eq(read_metrics(run, steps, NULL, 8), 3);
    mg_st_file *f = NULL;
    cr_assert_eq(mg_st_load(P("%s/checkpoints/step_000020.safetensors", name), &f), MG_OK, "%s",
                 mg_errmsg());
    cr_assert_geq(mg_st_find(f, param), 0, "%s: no parameter %s", name, param);
    mg_st_free(f);
}

Test(cli, transformer_runs) {
    check_model_run("transformer", "--model transformer --p 11 --d-model 16 --heads 2 --d-mlp 32",
                    "attn.q");
}

Test(cli, deep_linear_and_mlp_tied_run) {
    check_model_run("deep_linear", "--model deep_linear --p 11 --layers 3 --width 16", "layer1");
    check_model_run("mlp_tied", "--model mlp_tied --p 11 --d 16 --width 32", "embed");
}
