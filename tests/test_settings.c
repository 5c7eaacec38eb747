/* test_settings.c — the table of train settings (models/harness/settings.h):
 * every row parses its own default, refuses values out of its range naming
 * its flag, survives config.json's writer and reader, and the reader refuses
 * a bad field naming the field and the file; the command-line parser takes
 * --flag VALUE and --flag=VALUE, the model's options, and refuses prefixes. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "models/harness/settings.h"

static mg_settings fresh(void) {
    mg_settings s;
    cr_assert_eq(mg_settings_defaults(&s, NULL), MG_OK, "%s", mg_errmsg());
    return s;
}

static bool needs_text(const mg_setting *r) {
    return r->type == MG_SETTING_TEXT || r->type == MG_SETTING_LIST;
}

Test(settings, names_and_keys_are_unique_and_found) {
    cr_assert_gt(mg_setting_count(), 20);
    for (int i = 0; i < mg_setting_count(); i++) {
        const mg_setting *r = mg_setting_at(i);
        cr_assert_eq(mg_setting_find(r->name), r, "--%s", r->name);
        cr_assert_eq(mg_setting_index(r), i);
        cr_assert(r->help && *r->help, "--%s has no help", r->name);
        if (r->key) cr_assert_eq(mg_setting_find_key(r->key), r, "key %s", r->key);
        if (!r->key)
            cr_assert((r->flags & MG_SETTING_COMMAND) ||
                          (r->type == MG_SETTING_FLAG && r->slot == MG_SLOT_STR),
                      "--%s: only command rows and flag aliases go unrecorded", r->name);
    }
    cr_assert_null(mg_setting_find("nope"));
    cr_assert_null(mg_setting_at(mg_setting_count()));
}

Test(settings, every_setting_parses_its_default) {
    for (int i = 0; i < mg_setting_count(); i++) {
        const mg_setting *r = mg_setting_at(i);
        mg_settings s = fresh();
        char def[MG_SETTING_TEXT_MAX], again[MG_SETTING_TEXT_MAX];
        mg_setting_str(&s, r, def, sizeof def);
        if (needs_text(r) && !def[0]) continue; /* an empty path or list: nothing to give */
        mg_settings t = fresh();
        cr_assert_eq(mg_settings_set(&t, r->name, def), MG_OK, "--%s %s: %s", r->name, def,
                     mg_errmsg());
        cr_assert_str_eq(mg_setting_str(&t, r, again, sizeof again), def, "--%s", r->name);
        cr_assert(t.given[i], "--%s is not marked as given", r->name);
    }
}

Test(settings, out_of_range_refused_naming_the_flag) {
    int checked = 0;
    for (int i = 0; i < mg_setting_count(); i++) {
        const mg_setting *r = mg_setting_at(i);
        if (r->type != MG_SETTING_INT && r->type != MG_SETTING_REAL) continue;
        double bad[3] = {r->lo - 1, isinf(r->hi) ? NAN : r->hi + 1, NAN};
        if (r->flags & MG_SETTING_LO_OPEN) bad[0] = r->lo;
        if (r->flags & MG_SETTING_HI_OPEN) bad[1] = r->hi;
        if (r->type == MG_SETTING_INT) bad[2] = r->lo + 0.5;
        for (int k = 0; k < 3; k++) {
            if (isnan(bad[k])) continue;
            char v[64], flag[64];
            snprintf(v, sizeof v, "%.17g", bad[k]);
            snprintf(flag, sizeof flag, "--%s", r->name);
            mg_settings s = fresh(), before = s;
            cr_assert_eq(mg_settings_set(&s, r->name, v), MG_ERR_ARG, "--%s %s accepted", r->name,
                         v);
            cr_assert(strstr(mg_errmsg(), flag), "'%s' does not name %s", mg_errmsg(), flag);
            cr_assert_eq(memcmp(&s, &before, sizeof s), 0, "--%s %s changed the settings", r->name,
                         v);
            checked++;
        }
    }
    cr_assert_gt(checked, 30);
    mg_settings s = fresh();
    cr_assert_eq(mg_settings_set(&s, "p", "abc"), MG_ERR_ARG);
    cr_assert(strstr(mg_errmsg(), "whole number from 2 to 4096"), "%s", mg_errmsg());
    cr_assert_eq(mg_settings_set(&s, "task", "pow"), MG_ERR_ARG);
    cr_assert(strstr(mg_errmsg(), "--task") &&
                  strstr(mg_errmsg(), "add, div, marker-mul, markers, mul, sub"),
              "%s", mg_errmsg());
    cr_assert_eq(mg_settings_set(&s, "out", NULL), MG_ERR_ARG);
    cr_assert(strstr(mg_errmsg(), "--out needs a value"), "%s", mg_errmsg());
    cr_assert_eq(mg_settings_set(&s, "force", "yes"), MG_ERR_ARG);
    cr_assert(strstr(mg_errmsg(), "--force takes no value"), "%s", mg_errmsg());
}

Test(settings, model_resets_defaults_and_model_options_are_settings) {
    mg_settings s = fresh();
    cr_assert_eq(mg_settings_set(&s, "p", "31"), MG_OK);
    cr_assert_eq(mg_settings_set(&s, "eval-every", "7"), MG_OK);
    cr_assert_eq(mg_settings_set(&s, "model", "transformer"), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(s.train.task.p, 113, "the transformer's canonical p");
    cr_assert_eq(s.run.eval_every, 7, "the run's rates are not the model's");
    cr_assert_eq(mg_settings_set(&s, "heads", "2"), MG_OK, "%s", mg_errmsg());
    cr_assert(s.opt_given[mg_model_option_index(s.train.model, "heads")]);
    cr_assert_eq(mg_settings_set(&s, "width", "64"), MG_ERR_ARG, "an mlp option");
    cr_assert(strstr(mg_errmsg(), "--width") && strstr(mg_errmsg(), "transformer"), "%s",
              mg_errmsg());
    cr_assert_eq(mg_settings_set(&s, "optimizer", "sgd"), MG_OK);
    cr_assert_float_eq(s.train.optim.lr, 1e-2f, 0, "sgd's default lr");
    cr_assert_eq(mg_settings_set(&s, "lr", "classifier=0.5"), MG_OK);
    cr_assert_eq(mg_settings_set(&s, "lr", "embed=2"), MG_OK);
    cr_assert_str_eq(s.train.lr_layers, "classifier=0.5,embed=2");
    cr_assert_float_eq(s.train.optim.lr, 1e-2f, 0, "a per-layer value leaves lr alone");
}

/* A value for each recorded row other than its default. */
static void set_all(mg_settings *s) {
    cr_assert_eq(mg_settings_set(s, "model", "transformer"), MG_OK);
    cr_assert_eq(mg_settings_set(s, "task", "mul"), MG_OK);
    cr_assert_eq(mg_settings_set(s, "optimizer", "adam"), MG_OK);
    for (int i = 0; i < mg_setting_count(); i++) {
        const mg_setting *r = mg_setting_at(i);
        char v[64] = "";
        if (!r->key || (r->flags & MG_SETTING_EARLY)) continue;
        if (r->type == MG_SETTING_INT) snprintf(v, sizeof v, "%.0f", r->lo + 3);
        else if (r->type == MG_SETTING_REAL)
            snprintf(v, sizeof v, "%.17g", isinf(r->hi) ? r->lo + 0.125 : r->lo + 0.25 * r->hi);
        else if (r->type == MG_SETTING_CHOICE) {
            int k = 0;
            while (r->choice(k + 1)) k++;
            snprintf(v, sizeof v, "%s", r->choice(k));
        } else if (r->type == MG_SETTING_FLAG) snprintf(v, sizeof v, "true");
        else if (r->canon) /* a row that checks its text: a value it takes */
            snprintf(v, sizeof v, "%s",
                     !strcmp(r->name, "penalty")      ? "schatten:q=0.5"
                     : !strcmp(r->name, "save-grads") ? "3,100"
                                                      : "fuse");
        else snprintf(v, sizeof v, "fuse");
        cr_assert_eq(mg_settings_set(s, r->name, v), MG_OK, "--%s %s: %s", r->name, v, mg_errmsg());
    }
    cr_assert_eq(mg_settings_set(s, "wd", "embed=0.5"), MG_OK);
    cr_assert_eq(mg_settings_set(s, "d-model", "64"), MG_OK);
}

Test(settings, round_trip_through_config_json) {
    mg_settings s = fresh(), back;
    set_all(&s);
    cJSON *root = cJSON_CreateObject();
    cr_assert_eq(mg_settings_to_json(&s, root), MG_OK);
    char *text = cJSON_Print(root);
    cJSON *again = cJSON_Parse(text);
    cr_assert_eq(mg_settings_from_json(again, "R/config.json", &back), MG_OK, "%s\n%s", mg_errmsg(),
                 text);
    for (int i = 0; i < mg_setting_count(); i++) {
        const mg_setting *r = mg_setting_at(i);
        if (!r->key) continue;
        char a[MG_SETTING_TEXT_MAX], b[MG_SETTING_TEXT_MAX];
        cr_assert_str_eq(mg_setting_str(&back, r, b, sizeof b), mg_setting_str(&s, r, a, sizeof a),
                         "\"%s\" did not come back", r->key);
        char d[64];
        if (r->type != MG_SETTING_FLAG && mg_setting_find("model") != r) {
            mg_settings def = fresh();
            cr_assert_str_neq(a, mg_setting_str(&def, r, d, sizeof d), "\"%s\" kept its default",
                              r->key);
        }
    }
    cr_assert_str_eq(back.train.wd_layers, "embed=0.5");
    cr_assert_eq(memcmp(back.train.opt, s.train.opt, sizeof s.train.opt), 0, "model options");
    cJSON_free(text);
    cJSON_Delete(root);
    cJSON_Delete(again);
}

/* config.json with one field changed to `value` (JSON text; NULL removes it). */
static mg_status read_with(const char *key, const char *value) {
    mg_settings s = fresh();
    cJSON *root = cJSON_CreateObject();
    mg_settings_to_json(&s, root);
    cJSON_DeleteItemFromObjectCaseSensitive(root, key);
    if (value) cJSON_AddItemToObject(root, key, cJSON_Parse(value));
    mg_settings out = fresh(), before = out;
    mg_status st = mg_settings_from_json(root, "R/config.json", &out);
    if (st) cr_assert_eq(memcmp(&out, &before, sizeof out), 0, "a refused read changed *s");
    cJSON_Delete(root);
    return st;
}

Test(settings, bad_config_field_refused_naming_field_and_file) {
    static const struct {
        const char *key, *value, *want;
    } cases[] = {
        {"eval_every", "0", ">= 1"},
        {"checkpoint_every", "0", ">= 1"},
        {"p", "1e30", "<= 4096"},
        {"threads", "-5", ">= 0"},
        {"p", "97.5", "whole number"},
        {"seed", "-1", ">= 0"},
        {"steps", "1e300", "<= "},
        {"lr", "\"x\"", "must be a number"},
        {"frac", "1", "(0, 1)"},
        {"task", "\"pow\"", "add, div"},
        {"stop_at_grok", "1", "true or false"},
        {"model", "\"nope\"", "unknown model"},
        {"task", NULL, "missing"},
        {"beta2", "2", "[0, 1)"},
        {"probe_every", "-3", ">= 1"},
        {"lr_layers", "7", "lr_layers"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        cr_assert_eq(read_with(cases[i].key, cases[i].value), MG_ERR_ARG, "\"%s\": %s accepted",
                     cases[i].key, cases[i].value ? cases[i].value : "(missing)");
        char field[64];
        snprintf(field, sizeof field, "\"%s\"", cases[i].key);
        cr_assert(strstr(mg_errmsg(), "R/config.json") && strstr(mg_errmsg(), field) &&
                      strstr(mg_errmsg(), cases[i].want),
                  "[%s] message '%s'", cases[i].key, mg_errmsg());
    }
    cr_assert_eq(read_with("probe_every", NULL), MG_OK, "older runs lack probe_every");
}

/* ---- the command line --------------------------------------------------------- */

static mg_status parse(mg_settings *s, const char *line) {
    static char buf[1024];
    char *argv[64];
    int argc = 0;
    snprintf(buf, sizeof buf, "train %s", line);
    for (char *save = NULL, *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save))
        argv[argc++] = t;
    argv[argc] = NULL;
    *s = fresh();
    bool help;
    mg_status st = mg_settings_parse_args(s, argc, argv, &help);
    cr_assert_not(help);
    return st;
}

Test(settings, args_take_flag_equals_value) {
    mg_settings a, b;
    cr_assert_eq(parse(&a, "--steps 10 --lr 0.5 --out x --stop-at-grok"), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(parse(&b, "--steps=10 --lr=0.5 --out=x --stop-at-grok"), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(a.train.steps, 10);
    cr_assert_eq(b.train.steps, 10);
    cr_assert_float_eq(b.train.optim.lr, 0.5f, 0);
    cr_assert_str_eq(b.out, "x");
    cr_assert(b.run.stop_at_grok && b.given[mg_setting_index(mg_setting_find("steps"))]);
}

Test(settings, args_model_first_wherever_it_stands) {
    mg_settings s;
    cr_assert_eq(parse(&s, "--d-model=16 --p 11 --heads 2 --model transformer"), MG_OK, "%s",
                 mg_errmsg());
    cr_assert_str_eq(s.train.model->name, "transformer");
    cr_assert_eq(s.train.task.p, 11, "--p before --model still counts");
    cr_assert_eq(s.train.opt[mg_model_option_index(s.train.model, "d-model")], 16);
    cr_assert_eq(parse(&s, "--lr 0.5 --optimizer sgd"), MG_OK);
    cr_assert_float_eq(s.train.optim.lr, 0.5f, 0, "--optimizer resets lr before --lr applies");
}

Test(settings, args_refused_with_a_message) {
    static const struct {
        const char *line, *want;
    } cases[] = {
        {"--ste 10", "give the whole flag name (--steps)"},
        {"--bogus 3", "unknown flag --bogus for model mlp"},
        {"--heads 2", "unknown flag --heads for model mlp"},
        {"--force=1", "--force takes no value"},
        {"--seed", "--seed needs a value"},
        {"stray", "unexpected argument 'stray'"},
        {"--steps 5 -- --p 3", "unexpected argument '--p'"},
        {"--steps=-4", "--steps must be >= 0"},
        {"--model=nope", "unknown model 'nope'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        mg_settings s;
        cr_assert_eq(parse(&s, cases[i].line), MG_ERR_ARG, "[%s] accepted", cases[i].line);
        cr_assert(strstr(mg_errmsg(), cases[i].want), "[%s] message '%s'", cases[i].line,
                  mg_errmsg());
    }
}

Test(settings, help_stops_parsing) {
    char a0[] = "train", a1[] = "--bogus", a2[] = "--help";
    char *argv[] = {a0, a1, a2, NULL};
    mg_settings s = fresh();
    bool help = false;
    cr_assert_eq(mg_settings_parse_args(&s, 3, argv, &help), MG_OK);
    cr_assert(help);
}
