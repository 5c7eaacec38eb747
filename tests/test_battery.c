/* test_battery.c — the bad-input battery of issue 12 as end-to-end tests:
 * each case runs the real binary on a crafted input and checks the exit
 * status, the one-line message and that nothing on disk was damaged. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/safetensors.h"
#include "tests/util/cli.h"

TestSuite(cli, .init = mg_cli_setup, .fini = mg_cli_teardown, .timeout = 120);

/* The small MLP of the CLI tests: p = 23 (529 pairs). */
#define SMALL "--model mlp --p 23 --d 32 --width 64 --threads 1"

/* Issue 12, row 5: an update that makes the weights Inf/NaN stops the run;
 * every checkpoint left behind, the "last good" one included, is finite. */
Test(cli, diverged_update_keeps_only_finite_checkpoints) {
    const char *run = P("run");
    proc r;
    mg(&r,
       "train " SMALL
       " --steps 20 --lr 1e30 --wd 1e30 --checkpoint-every 1 --eval-every 1 --out %s",
       run);
    cr_assert_eq(r.code, 1, "exit %d, stderr: %s", r.code, r.err);
    cr_assert(strstr(r.err, "not finite"), "%s", r.err);
    proc_free(&r);
    cJSON *sum = json_file(P("run/summary.json"));
    cr_assert_str_eq(jstr(sum, "status"), "diverged");
    cJSON_Delete(sum);
    DIR *d = opendir(P("run/checkpoints"));
    cr_assert_not_null(d);
    int files = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        files++;
        mg_st_file *f = NULL;
        cr_assert_eq(mg_st_load(P("run/checkpoints/%s", e->d_name), &f), MG_OK, "%s", mg_errmsg());
        for (int i = 0; i < mg_st_count(f); i++) {
            const float *x = mg_st_data(f, i);
            for (int64_t j = 0; j < mg_st_numel(f, i); j++)
                cr_assert(isfinite(x[j]), "%s: %s[%lld] = %g", e->d_name, mg_st_name(f, i),
                          (long long)j, (double)x[j]);
        }
        mg_st_free(f);
    }
    closedir(d);
    cr_assert_geq(files, 1);
}

/* Issue 12, row 12: optimizer settings out of range are bad input (exit 2,
 * one line naming the flag, nothing written), not an out-of-memory failure. */
Test(cli, bad_optimizer_settings_are_bad_input) {
    static const struct {
        const char *args, *want;
    } cases[] = {
        {"--beta1 2", "--beta1"},
        {"--beta2 nan", "--beta2"},
        {"--eps -1", "--eps"},
        {"--optimizer sgd --momentum 5", "--momentum"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        proc r;
        const char *out = P("opt%zu", i);
        mg(&r, "train " SMALL " --steps 5 %s --out %s", cases[i].args, out);
        cr_assert_eq(r.code, 2, "[%s] exit %d, stderr: %s", cases[i].args, r.code, r.err);
        cr_assert_eq(count_lines(r.err), 1, "[%s] not one line: '%s'", cases[i].args, r.err);
        cr_assert(strstr(r.err, cases[i].want), "[%s] '%s' lacks %s", cases[i].args, r.err,
                  cases[i].want);
        cr_assert_not(exists(out), "[%s] created %s", cases[i].args, out);
        proc_free(&r);
    }
}

/* Issue 12, row 9: more threads than cores is refused (exit 2, naming the
 * cores), not accepted into a run that crawls or dies in libgomp. */
Test(cli, threads_above_the_cores_refused) {
    const char *out = P("threads");
    proc r;
    mg(&r, "train --model mlp --p 7 --steps 2 --threads 1000 --out %s", out);
    cr_assert_eq(r.code, 2, "exit %d, stderr: %s", r.code, r.err);
    cr_assert(strstr(r.err, "--threads") && strstr(r.err, "cores"), "%s", r.err);
    cr_assert_not(exists(out), "created %s", out);
    proc_free(&r);
}

/* Issue 12, row 15: a directory that is not a run is bad input for resume
 * and analyze alike (exit 2, one line saying so), and stays empty. */
Test(cli, not_a_run_directory_is_bad_input) {
    const char *dir = P("empty");
    cr_assert_eq(mkdir(dir, 0755), 0);
    const char *cmds[] = {"train --resume %s --steps 10", "analyze %s"};
    for (size_t i = 0; i < 2; i++) {
        proc r;
        char line[256];
        snprintf(line, sizeof line, cmds[i], dir);
        mg(&r, "%s", line);
        cr_assert_eq(r.code, 2, "[%s] exit %d: %s", line, r.code, r.err);
        cr_assert_eq(count_lines(r.err), 1, "[%s] %s", line, r.err);
        cr_assert(strstr(r.err, "not a run directory"), "[%s] %s", line, r.err);
        proc_free(&r);
    }
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) n += e->d_name[0] != '.';
    closedir(d);
    cr_assert_eq(n, 0, "files appeared in %s", dir);
}

/* Issue 12, row 3: legal small sizes train; a measure that does not apply
 * at a size (the locking subspaces' dimension above the embedding's rank)
 * is skipped, and geometry.csv says so with lock_dims 0 or a capped value. */
Test(cli, small_legal_sizes_train) {
    const char *sizes[] = {"--p 97 --d 32", "--p 5 --d 2 --width 3", "--p 23 --d 1 --width 4"};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        const char *out = P("size%zu", i);
        proc r;
        mg(&r, "train --model mlp %s --steps 2 --eval-every 1 --threads 1 --out %s", sizes[i], out);
        cr_assert_eq(r.code, 0, "[%s] exit %d: %s", sizes[i], r.code, r.err);
        proc_free(&r);
        char *g = slurp(P("size%zu/geometry.csv", i), NULL);
        cr_assert_not_null(g);
        cr_assert(strstr(g, "lock,lock_dims,"), "[%s] no lock_dims row", sizes[i]);
        free(g);
    }
}

/* Issue 12, row 17: a flag the chosen optimizer does not read is refused
 * (exit 2, naming the flag and the optimizer), never recorded unused. */
Test(cli, flags_the_optimizer_does_not_read_refused) {
    static const struct {
        const char *args, *flag;
    } cases[] = {
        {"--optimizer adamw --momentum 0.5", "--momentum"},
        {"--momentum 0.5", "--momentum"}, /* the default optimizer is adamw */
        {"--optimizer sgd --beta1 0.8", "--beta1"},
        {"--optimizer sgd --eps 1e-6", "--eps"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *out = P("unused%zu", i);
        proc r;
        mg(&r, "train " SMALL " --steps 2 %s --out %s", cases[i].args, out);
        cr_assert_eq(r.code, 2, "[%s] exit %d: %s", cases[i].args, r.code, r.err);
        cr_assert(strstr(r.err, cases[i].flag) && strstr(r.err, "not used"), "[%s] %s",
                  cases[i].args, r.err);
        cr_assert_not(exists(out), "[%s] created %s", cases[i].args, out);
        proc_free(&r);
    }
    /* each is accepted by its own optimizer */
    mg_ok("train " SMALL " --steps 2 --optimizer sgd --momentum 0.5 --out %s", P("sgd"));
    mg_ok("train " SMALL " --steps 2 --optimizer adam --beta1 0.8 --eps 1e-6 --out %s", P("adam"));
}

/* Issue 12, row 14: a p no task accepts in config.json (and no top
 * frequency in summary.json) is refused by plot at once, not looped over
 * for minutes; nothing is drawn. */
Test(cli, plot_refuses_an_impossible_p) {
    const char *run = P("run");
    mg_ok("train " SMALL " --steps 10 --eval-every 5 --out %s", run);
    cJSON *c = json_file(P("run/config.json"));
    cJSON_SetNumberValue(cJSON_GetObjectItemCaseSensitive(c, "p"), 300000);
    json_save(P("run/config.json"), c);
    cJSON_Delete(c);
    cJSON *s = json_file(P("run/summary.json"));
    cJSON_DeleteItemFromObjectCaseSensitive(s, "top_frequency");
    json_save(P("run/summary.json"), s);
    cJSON_Delete(s);
    time_t t0 = time(NULL);
    proc r;
    mg(&r, "plot %s", run);
    cr_assert_eq(r.code, 2, "exit %d: %s", r.code, r.err);
    cr_assert(strstr(r.err, "\"p\"") && strstr(r.err, "300000"), "%s", r.err);
    cr_assert_lt(time(NULL) - t0, 20, "plot took %lld s", (long long)(time(NULL) - t0));
    cr_assert_not(exists(P("run/plots/circle.png")));
    proc_free(&r);
}

/* Issue 12, row 15: compare refuses more runs than it can show instead of
 * dropping the rest silently. */
Test(cli, compare_refuses_runs_past_its_limit) {
    char line[8192] = "compare";
    for (int i = 0; i < 65; i++) {
        strcat(line, " ");
        strcat(line, P("r%d", i));
    }
    proc r;
    mg(&r, "%s", line);
    cr_assert_eq(r.code, 2, "exit %d: %s", r.code, r.err);
    cr_assert(strstr(r.err, "64"), "%s", r.err);
    proc_free(&r);
}

/* Issue 12, row 15: --out naming a file says so (it does not suggest
 * resuming the file), and the file is left alone, --force or not. */
Test(cli, out_naming_a_file_is_refused) {
    const char *file = P("afile");
    spit(file, "keep", 4);
    for (int force = 0; force < 2; force++) {
        proc r;
        mg(&r, "train " SMALL " --steps 2 --out %s%s", file, force ? " --force" : "");
        cr_assert_eq(r.code, 2, "exit %d: %s", r.code, r.err);
        cr_assert(strstr(r.err, "not a directory") && !strstr(r.err, "--resume"), "%s", r.err);
        proc_free(&r);
        size_t n = 0;
        char *s = slurp(file, &n);
        cr_assert(s && n == 4 && !memcmp(s, "keep", 4), "the file was changed");
        free(s);
    }
}

/* From the same trial, for the pictures: the geometry picture's Fourier
 * panel ([0:1] shares) stays on a linear axis, whatever the spread of its
 * values (a log axis started at 0.1 and hid the early Gini), and a title
 * names the model once when the run's name already carries it. */
Test(cli, geometry_fourier_panel_is_linear_and_titles_name_the_model_once) {
    const char *run = P("mlp-small");
    mg_ok("train " SMALL " --steps 20 --eval-every 10 --out %s", run);
    /* A spread that once switched the panel to a log axis: a share of 1
     * beside a Gini of 0.001 (more than the 30x that makes a log axis). */
    char rows[4096] = "step,layer,metric,value\n";
    for (int step = 0; step <= 20; step += 10)
        snprintf(rows + strlen(rows), sizeof rows - strlen(rows),
                 "%d,embed,fourier_concentration,1\n%d,embed,fourier_gini,0.001\n", step, step);
    spit(P("mlp-small/geometry.csv"), rows, strlen(rows));
    mg_ok("plot %s", run);
    char *gp = slurp(P("mlp-small/plots/data/geometry.gp"), NULL);
    cr_assert_not_null(gp, "no geometry script");
    char *panel = strstr(gp, "set title 'Fourier structure'");
    cr_assert_not_null(panel);
    *panel = '\0';
    char *last_scale = NULL;
    for (char *q = gp; (q = strstr(q, "logscale y")); q++) last_scale = q;
    cr_assert(last_scale && last_scale - gp >= 6 && !strncmp(last_scale - 6, "unset ", 6),
              "the Fourier panel is drawn on a log axis");
    free(gp);
    char *any = slurp(P("mlp-small/plots/data/curves.gp"), NULL);
    cr_assert_not_null(any);
    cr_assert_null(strstr(any, "mlp-small: mlp"), "the title repeats the model name");
    free(any);
}

/* Found by fuzz_config: a float32 setting beyond float32's range (eps
 * 1e110) passed the range check as a double and became inf in the
 * optimizer. On the command line and in config.json it is refused. */
Test(cli, float_settings_beyond_float32_refused) {
    proc r;
    mg(&r, "train " SMALL " --steps 2 --eps 1e110 --out %s", P("eps"));
    cr_assert_eq(r.code, 2, "exit %d: %s", r.code, r.err);
    cr_assert(strstr(r.err, "--eps") && strstr(r.err, "float32"), "%s", r.err);
    proc_free(&r);
    const char *run = P("run"), *copy = P("copy");
    mg_ok("train " SMALL " --steps 2 --eval-every 1 --out %s", run);
    cJSON *c = json_file(P("run/config.json"));
    cJSON_SetNumberValue(cJSON_GetObjectItemCaseSensitive(c, "eps"), 1e110);
    json_save(P("run/config.json"), c);
    cJSON_Delete(c);
    copy_tree(run, copy);
    mg(&r, "train --resume %s --steps 4", run);
    cr_assert_eq(r.code, 2, "exit %d: %s", r.code, r.err);
    cr_assert(strstr(r.err, "eps") && strstr(r.err, "float32"), "%s", r.err);
    proc_free(&r);
    cr_assert(same_tree(copy, run));
}

/* Found by fuzz_config: beta1 0.99999998 is below 1 as a double but rounds
 * to 1 as the float32 the optimizer keeps, outside [0, 1): refused. */
Test(cli, float_settings_checked_as_stored) {
    proc r;
    mg(&r, "train " SMALL " --steps 2 --beta1 0.99999998 --out %s", P("b1"));
    cr_assert_eq(r.code, 2, "exit %d: %s", r.code, r.err);
    cr_assert(strstr(r.err, "--beta1"), "%s", r.err);
    proc_free(&r);
    mg_ok("train " SMALL " --steps 2 --beta1 0.9999 --out %s", P("b2"));
}

/* Found by fuzz_config: each field of a config.json was checked alone, so
 * "task": "div" with a composite "p" was read back and only refused later,
 * deep in the trainer. The reader now checks what holds between fields:
 * resume and analyze refuse it, naming the rule, and change nothing. */
Test(cli, config_fields_checked_together) {
    const char *run = P("run"), *copy = P("copy");
    mg_ok("train " SMALL " --task div --steps 2 --eval-every 1 --out %s", run);
    cJSON *c = json_file(P("run/config.json"));
    cJSON_SetNumberValue(cJSON_GetObjectItemCaseSensitive(c, "p"), 21);
    json_save(P("run/config.json"), c);
    cJSON_Delete(c);
    copy_tree(run, copy);
    const char *cmds[] = {"train --resume %s --steps 4", "analyze %s"};
    for (int i = 0; i < 2; i++) {
        proc r;
        mg(&r, cmds[i], run);
        cr_assert_eq(r.code, 2, "%s: exit %d: %s", cmds[i], r.code, r.err);
        cr_assert(strstr(r.err, "prime") && strstr(r.err, "config.json"), "%s", r.err);
        proc_free(&r);
        cr_assert(same_tree(copy, run));
    }
}
