/* test_cli_settings.c — `modgrad train`'s settings end to end (and the run
 * files' declared columns): --flag=value,
 * --help listing every row of the settings table, a config.json with a bad
 * field refused on --resume and analyze (exit 2, one line naming the field
 * and the file, the run directory unchanged), and --resume changing only what
 * the table lets it change. */
#include "models/harness/rundir.h"
#include "models/harness/settings.h"
#include "tests/util/cli.h"

TestSuite(cli_settings, .init = mg_cli_setup, .fini = mg_cli_teardown, .timeout = 120);

/* The steps of dir/metrics.csv's rows (at most max). */
static int read_metrics(const char *dir, int64_t *steps, int max) {
    char path[512];
    snprintf(path, sizeof path, "%s/metrics.csv", dir);
    char *s = slurp(path, NULL);
    cr_assert_not_null(s, "cannot read %s", path);
    int n = 0;
    for (char *p = strchr(s, '\n'); p && p[1]; p = strchr(p + 1, '\n')) {
        cr_assert_lt(n, max);
        steps[n++] = strtoll(p + 1, NULL, 10);
    }
    free(s);
    return n;
}

Test(cli_settings, flag_equals_value_trains) {
    const char *run = P("run");
    mg_ok("train --model=mlp --p=23 --d=32 --width=64 --threads=1 --steps=20 --eval-every=10 "
          "--lr=2e-3 --out=%s",
          run);
    cJSON *c = json_file(P("run/config.json"));
    cr_assert_eq(jnum(c, "steps"), 20);
    cr_assert_eq(jnum(c, "p"), 23);
    cr_assert_eq(jnum(c, "eval_every"), 10);
    cr_assert_float_eq(jnum(c, "lr"), 2e-3, 1e-9);
    cr_assert_eq(jnum(jget(c, "model_options"), "width"), 64);
    cJSON_Delete(c);
    int64_t steps[8];
    cr_assert_eq(read_metrics(run, steps, 8), 3);
}

Test(cli_settings, help_lists_every_setting) {
    proc r;
    cr_assert_eq(mg(&r, "train --help"), 0, "%s", r.err);
    for (int i = 0; i < mg_setting_count(); i++) {
        char flag[80];
        snprintf(flag, sizeof flag, "  --%s ", mg_setting_at(i)->name);
        char *at = strstr(r.out, flag);
        if (!at) { /* a flag without a value ends its line */
            snprintf(flag, sizeof flag, "  --%s\n", mg_setting_at(i)->name);
            at = strstr(r.out, flag);
        }
        cr_assert_not_null(at, "train --help does not list --%s:\n%s", mg_setting_at(i)->name,
                           r.out);
    }
    cr_assert(strstr(r.out, "--width N") && strstr(r.out, "options of model mlp"), "%s", r.out);
    proc_free(&r);
    cr_assert_eq(mg(&r, "train --model transformer --help"), 0);
    cr_assert(strstr(r.out, "--heads N") && strstr(r.out, "default 113 (transformer)"), "%s",
              r.out);
    proc_free(&r);
}

/* A 20-step run to damage. */
static const char *small(void) {
    const char *run = P("run");
    mg_ok("train --model mlp --p 23 --d 32 --width 64 --threads 1 --steps 20 --eval-every 10 "
          "--checkpoint-every 10 --out %s",
          run);
    return run;
}

/* Sets config.json's `key` to the JSON text value in run. */
static void edit_config(const char *run, const char *key, const char *value) {
    char path[512];
    snprintf(path, sizeof path, "%s/config.json", run);
    cJSON *c = json_file(path);
    cJSON_DeleteItemFromObjectCaseSensitive(c, key);
    cJSON_AddItemToObject(c, key, cJSON_Parse(value));
    json_save(path, c);
    cJSON_Delete(c);
}

Test(cli_settings, bad_config_field_refused_unchanged) {
    static const struct {
        const char *key, *value, *want;
    } cases[] = {
        {"eval_every", "0", ">= 1"},     {"checkpoint_every", "0", ">= 1"},
        {"p", "1e30", "<= 4096"},        {"threads", "-5", ">= 0"},
        {"seed", "0.5", "whole number"}, {"optimizer", "\"rmsprop\"", "sgd, adam, adamw"},
    };
    const char *run = small();
    char saved[512];
    snprintf(saved, sizeof saved, "%s/config.json", run);
    size_t n = 0;
    char *good = slurp(saved, &n);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        spit(saved, good, n);
        edit_config(run, cases[i].key, cases[i].value);
        const char *copy = P("copy%zu", i);
        copy_tree(run, copy);
        const char *cmds[] = {"train --resume %s --steps 40", "analyze %s"};
        for (int k = 0; k < 2; k++) {
            proc r;
            mg(&r, cmds[k], run);
            char field[64];
            snprintf(field, sizeof field, "\"%s\"", cases[i].key);
            cr_assert_eq(r.code, 2, "[%s %s] exit %d: %s", cases[i].key, cases[i].value, r.code,
                         r.err);
            cr_assert_eq(count_lines(r.err), 1, "%s", r.err);
            cr_assert(strstr(r.err, field) && strstr(r.err, "config.json") &&
                          strstr(r.err, cases[i].want),
                      "[%s %s] message: %s", cases[i].key, cases[i].value, r.err);
            cr_assert(same_tree(copy, run), "[%s] the run directory changed", cases[i].key);
            proc_free(&r);
        }
    }
    free(good);
}

Test(cli_settings, resume_changes_only_what_may_change) {
    const char *run = small(), *copy = P("copy");
    copy_tree(run, copy);
    static const struct {
        const char *args, *want;
    } refused[] = {
        {"--lr 1e9", "--lr cannot change on --resume: the run recorded 0.001"},
        {"--p 29", "--p cannot change on --resume: the run recorded 23"},
        {"--width 32", "--width cannot change on --resume: the run recorded 64"},
        {"--optimizer sgd", "--optimizer cannot change"},
    };
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        proc r;
        mg(&r, "train --resume %s --steps 40 %s", run, refused[i].args);
        cr_assert_eq(r.code, 2, "[%s] exit %d: %s", refused[i].args, r.code, r.err);
        cr_assert(strstr(r.err, refused[i].want) && strstr(r.err, "threads"), "[%s] %s",
                  refused[i].args, r.err);
        cr_assert(same_tree(copy, run), "[%s] the run directory changed", refused[i].args);
        proc_free(&r);
    }
    /* the same value as recorded, and the rates, may be given */
    mg_ok("train --resume %s --steps 40 --p 23 --eval-every 5 --threads 1", run);
    cJSON *c = json_file(P("run/config.json"));
    cr_assert_eq(jnum(c, "eval_every"), 5);
    cr_assert_eq(jnum(c, "steps"), 40);
    cJSON_Delete(c);
    int64_t steps[16];
    int rows = read_metrics(run, steps, 16);
    cr_assert_eq(steps[rows - 1], 40);
    cr_assert_eq(steps[rows - 2], 35, "evaluated every 5 steps after the resume");
}

/* The header of dir/name is the declared columns, comma-separated. */
static void header_is(const char *dir, const char *name, const char *const *cols, int n) {
    char path[512], want[512] = "";
    snprintf(path, sizeof path, "%s/%s", dir, name);
    for (int i = 0; i < n; i++)
        snprintf(want + strlen(want), sizeof want - strlen(want), "%s%s", i ? "," : "", cols[i]);
    strcat(want, "\n");
    char *s = slurp(path, NULL);
    cr_assert_not_null(s, "no %s", path);
    cr_assert(strncmp(s, want, strlen(want)) == 0, "%s starts '%.80s', not '%s'", name, s, want);
    free(s);
}

Test(cli_settings, run_files_have_the_declared_columns) {
    const char *run = small();
    header_is(run, MG_RUN_METRICS, mg_metrics_cols, MG_METRICS_NCOLS);
    header_is(run, MG_RUN_PROBES, mg_probes_cols, MG_PROBES_NCOLS);
    header_is(run, MG_RUN_GEOMETRY, mg_geometry_cols, MG_GEOMETRY_NCOLS);
    header_is(run, MG_RUN_SPECTRUM, mg_spectrum_cols, MG_SPECTRUM_NCOLS);
    header_is(run, MG_RUN_CIRCLE, mg_circle_cols, MG_CIRCLE_NCOLS);
    cr_assert_str_eq(MG_COL(probes, displacement), "displacement");
    cr_assert(exists(P("run/" MG_RUN_SUMMARY)) && exists(P("run/" MG_RUN_CONFIG)));
    char ck[64];
    snprintf(ck, sizeof ck, "run/" MG_RUN_CHECKPOINT, 20LL);
    cr_assert(exists(P("%s", ck)), "no %s", ck);
}
