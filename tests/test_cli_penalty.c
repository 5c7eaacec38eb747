/* test_cli_penalty.c — `modgrad train --penalty` end to end: a nuclear-norm
 * penalty on the classifier trains, is recorded in config.json (in its
 * canonical spelling), leaves the logged losses the cross-entropy, and ends
 * with a smaller classifier nuclear norm than the same run without it; the
 * l2 form shrinks the Frobenius norms of the layers it names; bad values
 * exit 2 naming the flag with nothing written; a config.json from before the
 * penalty existed still resumes; resume refuses a changed penalty. */
#include <math.h>

#include "tests/util/cli.h"

TestSuite(cli_penalty, .init = mg_cli_setup, .fini = mg_cli_teardown, .timeout = 120);

/* The small MLP of the CLI tests (p = 23), at the grokking setting's rate,
 * without weight decay so that the penalty is the only regulariser. */
#define RUN                                                                                        \
    "train --model mlp --p 23 --d 32 --width 64 --threads 1 --frac 0.8 --lr 1e-2 --seed 1 "        \
    "--wd 0 --steps 200 --eval-every 100 --geometry-every 100"
#define NUCLEAR "--penalty schatten:q=1 --penalty-lambda 0.01"

/* The last value of metric for layer (a parameter's name) in dir/geometry.csv. */
static double last_geometry(const char *dir, const char *layer, const char *metric) {
    char path[512], want[160];
    snprintf(path, sizeof path, "%s/geometry.csv", dir);
    snprintf(want, sizeof want, ",%s,%s,", layer, metric);
    char *s = slurp(path, NULL);
    cr_assert_not_null(s, "cannot read %s", path);
    double v = NAN;
    for (char *at = strstr(s, want); at; at = strstr(at + 1, want))
        v = strtod(at + strlen(want), NULL);
    free(s);
    cr_assert(isfinite(v), "%s has no %s row for %s", path, metric, layer);
    return v;
}

/* Column col (0: step) of metrics.csv row `row` (0: the first after the header). */
static double metric(const char *dir, int row, int col) {
    char path[512];
    snprintf(path, sizeof path, "%s/metrics.csv", dir);
    char *s = slurp(path, NULL);
    cr_assert_not_null(s);
    char *line = strchr(s, '\n');
    for (int r = 0; line && r < row; r++) line = strchr(line + 1, '\n');
    cr_assert(line && line[1], "%s has no row %d", path, row);
    char *p = line + 1;
    for (int c = 0; c < col; c++) p = strchr(p, ',') + 1;
    double v = strtod(p, NULL);
    free(s);
    return v;
}

Test(cli_penalty, nuclear_penalty_trains_is_recorded_and_shrinks_the_classifier) {
    const char *base = P("base"), *pen = P("pen");
    mg_ok(RUN " --out %s", base);
    mg_ok(RUN " " NUCLEAR " --out %s", pen);
    cJSON *c = json_file(P("pen/config.json"));
    cr_assert_str_eq(jstr(c, "penalty"), "schatten:q=1");
    cr_assert_str_eq(jstr(c, "penalty_layers"), "classifier");
    cr_assert_float_eq(jnum(c, "penalty_lambda"), 0.01, 1e-8);
    cJSON_Delete(c);
    c = json_file(P("base/config.json"));
    cr_assert_str_eq(jstr(c, "penalty"), "none");
    cr_assert_eq(jnum(c, "penalty_lambda"), 0);
    cJSON_Delete(c);

    /* metrics.csv: step, wall_s, train_loss, train_acc, test_loss, test_acc.
     * At step 0 both runs have the same parameters: the logged train_loss
     * is the cross-entropy, not cross-entropy + lambda ||W||_* */
    cr_assert_eq(metric(base, 0, 2), metric(pen, 0, 2));
    cr_assert_lt(metric(pen, 2, 2), 0.5 * metric(pen, 0, 2), "the penalised run did not train");
    double nb = last_geometry(base, "classifier.w", "schatten1");
    double np = last_geometry(pen, "classifier.w", "schatten1");
    cr_log_info("classifier nuclear norm at step 200: %.4g without, %.4g with the penalty", nb, np);
    cr_assert_lt(np, 0.5 * nb, "nuclear norm %.4g with the penalty, %.4g without", np, nb);
}

Test(cli_penalty, l2_penalty_shrinks_the_named_layers) {
    const char *base = P("base"), *pen = P("pen");
    mg_ok(RUN " --out %s", base);
    mg_ok(RUN " --penalty l2 --penalty-lambda 0.01 --penalty-layers hidden,classifier --out %s",
          pen);
    cJSON *c = json_file(P("pen/config.json"));
    cr_assert_str_eq(jstr(c, "penalty"), "l2");
    cr_assert_str_eq(jstr(c, "penalty_layers"), "hidden,classifier");
    cJSON_Delete(c);
    const char *layers[] = {"hidden.w", "classifier.w"};
    for (int i = 0; i < 2; i++) {
        double fb = last_geometry(base, layers[i], "schatten2");
        double fp = last_geometry(pen, layers[i], "schatten2");
        cr_log_info("%s ||W||_F at step 200: %.4g without, %.4g with l2", layers[i], fb, fp);
        cr_assert_lt(fp, fb, "%s: ||W||_F %.4g with l2, %.4g without", layers[i], fp, fb);
    }
}

Test(cli_penalty, a_form_is_recorded_in_its_canonical_spelling) {
    mg_ok(RUN " --steps 10 --penalty schatten:q=0.50 --penalty-lambda 1e-3 --out %s", P("run"));
    cJSON *c = json_file(P("run/config.json"));
    cr_assert_str_eq(jstr(c, "penalty"), "schatten:q=0.5");
    cJSON_Delete(c);
}

Test(cli_penalty, bad_values_exit_2_naming_the_flag) {
    static const struct {
        const char *args, *flag, *also;
    } cases[] = {
        {"--penalty schatten:q=0 --penalty-lambda 0.01", "--penalty", "q must be > 0"},
        {"--penalty schatten:q=-1", "--penalty", "q must be > 0"},
        {"--penalty schatten:q=", "--penalty", "finite number"},
        {"--penalty foo", "--penalty", "none, l2, schatten:q=Q"},
        {NUCLEAR " --penalty-layers nosuch", "--penalty-layers",
         "no layer 'nosuch' with a 2-D parameter; the layers with one: embed, hidden, classifier"},
        {NUCLEAR " --penalty-layers hidden,,classifier", "--penalty-layers", "empty layer name"},
        {NUCLEAR " --penalty-layers hidden,hidden", "--penalty-layers", "named twice"},
        {"--penalty schatten:q=1 --penalty-lambda -0.01", "--penalty-lambda", ">= 0"},
        {"--penalty-lambda 0.01", "--penalty-lambda", "no effect with --penalty none"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *run = P("bad%zu", i);
        proc r;
        mg(&r, RUN " --steps 10 %s --out %s", cases[i].args, run);
        cr_assert_eq(r.code, 2, "%s: exit %d, stderr: %s", cases[i].args, r.code, r.err);
        cr_assert(strstr(r.err, cases[i].flag) && strstr(r.err, cases[i].also),
                  "%s: stderr does not name %s (%s): %s", cases[i].args, cases[i].flag,
                  cases[i].also, r.err);
        cr_assert_eq(count_lines(r.err), 1, "%s: %s", cases[i].args, r.err);
        cr_assert(!exists(run), "%s: %s was written", cases[i].args, run);
        proc_free(&r);
    }
}

/* A 20-step run with checkpoints at 10 and 20 (extra: its flags). */
static const char *small(const char *extra) {
    const char *run = P("run");
    mg_ok(RUN " --steps 20 --checkpoint-every 10 %s --out %s", extra, run);
    return run;
}

Test(cli_penalty, a_config_without_the_penalty_settings_still_resumes) {
    const char *run = small("");
    const char *path = P("run/config.json");
    cJSON *c = json_file(path);
    cJSON_DeleteItemFromObjectCaseSensitive(c, "penalty");
    cJSON_DeleteItemFromObjectCaseSensitive(c, "penalty_layers");
    cJSON_DeleteItemFromObjectCaseSensitive(c, "penalty_lambda");
    json_save(path, c);
    cJSON_Delete(c);
    mg_ok("train --resume %s --steps 30", run);
    c = json_file(path);
    cr_assert_str_eq(jstr(c, "penalty"), "none");
    cJSON_Delete(c);
}

Test(cli_penalty, resume_refuses_a_changed_penalty) {
    const char *run = small(NUCLEAR);
    const char *copy = P("copy");
    copy_tree(run, copy);
    static const struct {
        const char *args, *flag;
    } cases[] = {
        {"--penalty-lambda 0.02", "--penalty-lambda cannot change on --resume"},
        {"--penalty l2", "--penalty cannot change on --resume"},
        {"--penalty-layers hidden", "--penalty-layers cannot change on --resume"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        proc r;
        mg(&r, "train --resume %s --steps 30 %s", run, cases[i].args);
        cr_assert_eq(r.code, 2, "%s: exit %d, stderr: %s", cases[i].args, r.code, r.err);
        cr_assert(strstr(r.err, cases[i].flag), "%s: %s", cases[i].args, r.err);
        proc_free(&r);
        cr_assert(same_tree(run, copy), "%s changed the run directory", cases[i].args);
    }
    /* the same form spelt otherwise is the same form */
    mg_ok("train --resume %s --steps 30 --penalty schatten:q=1.0 --penalty-lambda 0.01", run);
}

/* A penalised run stopped at step 20 and resumed to 40 ends with the same
 * parameters as one run straight to 40 (the SVD is deterministic). */
Test(cli_penalty, resumed_penalised_run_matches_the_straight_one) {
    const char *straight = P("straight"), *resumed = P("resumed");
    mg_ok(RUN " " NUCLEAR " --steps 40 --checkpoint-every 20 --out %s", straight);
    mg_ok(RUN " " NUCLEAR " --steps 20 --checkpoint-every 20 --out %s", resumed);
    mg_ok("train --resume %s --steps 40", resumed);
    cJSON *a = json_file(P("straight/summary.json")), *b = json_file(P("resumed/summary.json"));
    cr_assert_str_eq(jstr(a, "fingerprint"), jstr(b, "fingerprint"));
    cJSON_Delete(a);
    cJSON_Delete(b);
}
