/* test_sweep.c — a sweep's grid (models/harness/sweep.h): the spec and the
 * --grid forms give the points, names and value texts they say; bad specs
 * are refused naming the key or axis and the value; each point's settings
 * apply the model and the optimizer before their options; sweep.json reads
 * back equal and refuses another grid; the default jobs and threads; and
 * the tables of --collect (runs.csv, groups.csv) on constructed run
 * directories and on a tiny real sweep, read back with mg_sweep_table_read. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/alloc.h"
#include "core/fsutil.h"
#include "models/harness/rundir.h"
#include "models/harness/sweep.h"
#include "models/model.h"
#include "tests/util/fixture.h"

static char tmp[64];

static void setup(void) {
    strcpy(tmp, "/tmp/mg_sweep_XXXXXX");
    cr_assert_not_null(mkdtemp(tmp));
}

static void teardown(void) { mg_test_rmtree(tmp); }

TestSuite(sweep, .init = setup, .fini = teardown, .timeout = 60);

static mg_sweep spec(const char *json) {
    mg_sweep s;
    mg_sweep_init(&s);
    cr_assert_eq(mg_sweep_parse_spec(&s, json, "spec.json"), MG_OK, "%s: %s", json, mg_errmsg());
    return s;
}

static void values_are(const mg_sweep_axis *x, int n, const char *const *want) {
    cr_assert_eq(x->n, n, "axis %s has %d values, want %d", x->name, x->n, n);
    for (int i = 0; i < n; i++)
        cr_assert_str_eq(x->values[i], want[i], "axis %s value %d", x->name, i);
}

static void name_is(const mg_sweep *s, int64_t i, const char *want) {
    char name[1024];
    mg_sweep_point_name(s, i, name, sizeof name);
    cr_assert_str_eq(name, want, "point %lld", (long long)i);
}

Test(sweep, spec_gives_its_size_coordinates_names_and_values) {
    mg_sweep s = spec("{\"model\": \"mlp\", \"p\": 23, \"lr\": 1e-3, \"steps\": 300,"
                      " \"grid\": {\"seed\": [0, 1, 2], \"wd\": {\"log\": [0.1, 1], \"n\": 4}}}");
    cr_assert_eq(s.n_fixed, 4);
    const char *fn[] = {"model", "p", "lr", "steps"}, *fv[] = {"mlp", "23", "0.001", "300"};
    for (int k = 0; k < 4; k++) {
        cr_assert_str_eq(s.fixed_name[k], fn[k]);
        cr_assert_str_eq(s.fixed_value[k], fv[k]);
    }
    cr_assert_eq(s.n_axes, 2);
    cr_assert_str_eq(s.axes[0].name, "seed");
    cr_assert_str_eq(s.axes[1].name, "wd");
    values_are(&s.axes[0], 3, (const char *[]){"0", "1", "2"});
    /* 0.1 * 10^(i/3), four significant digits; the endpoints as given */
    values_are(&s.axes[1], 4, (const char *[]){"0.1", "0.2154", "0.4642", "1"});
    cr_assert_eq(mg_sweep_size(&s), 12);
    /* the last axis varies fastest */
    int c[MG_SWEEP_MAX_AXES];
    for (int64_t i = 0; i < 12; i++) {
        mg_sweep_point_coords(&s, i, c);
        cr_assert_eq(c[0], i / 4, "point %lld", (long long)i);
        cr_assert_eq(c[1], i % 4, "point %lld", (long long)i);
    }
    name_is(&s, 0, "seed=0,wd=0.1");
    name_is(&s, 1, "seed=0,wd=0.2154");
    name_is(&s, 7, "seed=1,wd=1");
    name_is(&s, 11, "seed=2,wd=1");
    cr_assert_eq(mg_sweep_validate(&s), MG_OK, "%s", mg_errmsg());
    mg_sweep_free(&s);

    /* endpoints that pow() would not hit exactly stay as given */
    s = spec("{\"grid\": {\"wd\": {\"log\": [3e-4, 0.7], \"n\": 3}}}");
    values_are(&s.axes[0], 3, (const char *[]){"0.0003", "0.01449", "0.7"});
    mg_sweep_free(&s);

    /* no axes: one point, "run" */
    mg_sweep_init(&s);
    cr_assert_eq(mg_sweep_size(&s), 1);
    name_is(&s, 0, "run");
    mg_sweep_free(&s);
}

Test(sweep, grid_arguments_give_lists_ranges_and_log_ranges) {
    mg_sweep s;
    mg_sweep_init(&s);
    cr_assert_eq(mg_sweep_add_grid_arg(&s, "seed=0:3"), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(mg_sweep_add_grid_arg(&s, "wd=0.1,1"), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(mg_sweep_add_grid_arg(&s, "lr=log:1e-4:1:5"), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(s.n_axes, 3);
    values_are(&s.axes[0], 3, (const char *[]){"0", "1", "2"});
    values_are(&s.axes[1], 2, (const char *[]){"0.1", "1"});
    values_are(&s.axes[2], 5, (const char *[]){"0.0001", "0.001", "0.01", "0.1", "1"});
    cr_assert_eq(mg_sweep_size(&s), 30);
    name_is(&s, 29, "seed=2,wd=1,lr=1");

    /* an axis given twice replaces the earlier one, in its place */
    cr_assert_eq(mg_sweep_add_grid_arg(&s, "seed=5,7"), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(s.n_axes, 3);
    cr_assert_str_eq(s.axes[0].name, "seed");
    values_are(&s.axes[0], 2, (const char *[]){"5", "7"});
    cr_assert_eq(mg_sweep_size(&s), 20);
    name_is(&s, 0, "seed=5,wd=0.1,lr=0.0001");
    mg_sweep_free(&s);

    /* the command line overrides the spec's axis */
    s = spec("{\"p\": 23, \"grid\": {\"wd\": [0.1, 0.3, 1]}}");
    cr_assert_eq(mg_sweep_add_grid_arg(&s, "wd=2"), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(s.n_axes, 1);
    values_are(&s.axes[0], 1, (const char *[]){"2"});
    cr_assert_eq(mg_sweep_set_fixed(&s, "p", "31"), MG_OK);
    cr_assert_eq(s.n_fixed, 1);
    cr_assert_str_eq(s.fixed_value[0], "31");
    mg_sweep_free(&s);
}

/* The spec is parsed and, if that passed, validated: the refusal is
 * MG_ERR_ARG and its message holds every string of want. */
static void refused(const char *json, const char *const *want, int n_want) {
    mg_sweep s;
    mg_sweep_init(&s);
    mg_status st = mg_sweep_parse_spec(&s, json, "spec.json");
    if (!st) st = mg_sweep_validate(&s);
    cr_assert_eq(st, MG_ERR_ARG, "%s: status %s (%s)", json, mg_status_name(st),
                 st ? mg_errmsg() : "accepted");
    for (int k = 0; k < n_want; k++)
        cr_assert(strstr(mg_errmsg(), want[k]), "%s: '%s' lacks '%s'", json, mg_errmsg(), want[k]);
    mg_sweep_free(&s);
}
#define REFUSED(json, ...)                                                                         \
    refused(json, (const char *const[]){__VA_ARGS__},                                              \
            sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

Test(sweep, bad_specs_are_refused_naming_the_key_and_value) {
    REFUSED("{\"nosuch\": 3}", "nosuch");
    REFUSED("{\"grid\": {\"nosuch\": [1, 2]}}", "nosuch");
    REFUSED("{\"grid\": {\"wd\": []}}", "wd", "empty");
    REFUSED("{\"grid\": {\"wd\": [0.1, 0.3, 0.1]}}", "wd", "0.1", "twice");
    REFUSED("{\"grid\": {\"wd\": [0.1, -1]}}", "wd", "-1");
    REFUSED("{\"wd\": -1}", "wd", "-1");
    REFUSED("{\"grid\": {\"p\": [23, 1]}}", "p", "1", "p=1");
    REFUSED("{\"grid\": {\"optimizer\": [\"sgd\", \"rmsprop\"]}}", "optimizer", "rmsprop");
    REFUSED("{\"task\": \"div\", \"grid\": {\"p\": [23, 24]}}", "div", "24", "p=24");
    REFUSED("{\"wd\": [0.1, 1]}", "wd", "grid");
    REFUSED("{\"p\": {\"x\": 1}}", "p", "grid");
    REFUSED("{\"threads\": 2}", "threads", "--threads");
    REFUSED("{\"grid\": {\"threads\": [1, 2]}}", "threads");
    REFUSED("{\"out\": \"runs/x\"}", "out", "--out");
    REFUSED("{\"resume\": \"runs/x\"}", "resume");
    REFUSED("{\"p\": 23,", "spec.json", "not valid JSON");
    REFUSED("[1, 2]", "spec.json", "object");
    REFUSED("{\"grid\": [1, 2]}", "grid", "object");
    REFUSED("{\"grid\": {\"wd\": [null]}}", "wd");
    REFUSED("{\"grid\": {\"wd\": {\"log\": [0, 1], \"n\": 3}}}", "wd", "lo");
    REFUSED("{\"grid\": {\"wd\": {\"log\": [-1, 1], \"n\": 3}}}", "wd", "-1");
    REFUSED("{\"grid\": {\"wd\": {\"log\": [1, 0.1], \"n\": 3}}}", "wd", "hi");
    REFUSED("{\"grid\": {\"wd\": {\"log\": [0.1, 1], \"n\": 1}}}", "wd", "n", "got 1");
    REFUSED("{\"grid\": {\"wd\": {\"log\": [0.1, 1], \"n\": 2.5}}}", "wd", "log range");
    REFUSED("{\"grid\": {\"wd\": {\"log\": [0.1, 1]}}}", "wd", "log range");
}

static void grid_refused(const char *arg, const char *want) {
    mg_sweep s;
    mg_sweep_init(&s);
    mg_status st = mg_sweep_add_grid_arg(&s, arg);
    if (!st) st = mg_sweep_validate(&s);
    cr_assert_eq(st, MG_ERR_ARG, "--grid %s: status %s", arg, mg_status_name(st));
    cr_assert(strstr(mg_errmsg(), want), "--grid %s: '%s' lacks '%s'", arg, mg_errmsg(), want);
    mg_sweep_free(&s);
}

Test(sweep, bad_grid_arguments_are_refused) {
    grid_refused("wd", "wd");
    grid_refused("wd=", "wd=");
    grid_refused("=1,2", "=1,2");
    grid_refused("wd=0.1,,1", "wd=0.1,,1");
    grid_refused("wd=0.1,0.1", "twice");
    grid_refused("wd=0.1,1,1e-1", "0.1 and 1e-1");
    grid_refused("seed=0,00", "0 and 00");
    grid_refused("seed=3:3", "A < B");
    grid_refused("seed=3:1", "A < B");
    grid_refused("wd=log:0:1:3", "lo");
    grid_refused("wd=log:0.1:1:1", "got 1");
    grid_refused("wd=log:0.1:1", "log:LO:HI:N");
    grid_refused("wd=log:0.1:1:", "log:LO:HI:N");
    grid_refused("wd=log:0.1:1:3x", "log:LO:HI:N");
    grid_refused("p=1,23", "p");
    grid_refused("threads=1,2", "threads");
    grid_refused("nosuch=1,2", "nosuch");
}

static const double *option(const mg_settings *set, const char *name) {
    const mg_model_def *m = set->train.model;
    for (int i = 0; i < m->n_options; i++)
        if (!strcmp(m->options[i].name, name)) return &set->train.opt[i];
    cr_assert_fail("model %s has no option %s", m->name, name);
    return NULL;
}

Test(sweep, point_settings_apply_the_model_and_optimizer_first) {
    mg_settings set;
    /* lr after the optimizer, whatever the key order: not SGD's 0.01 */
    const char *specs[] = {"{\"optimizer\": \"sgd\", \"lr\": 0.5, \"wd\": 0.25}",
                           "{\"lr\": 0.5, \"wd\": 0.25, \"optimizer\": \"sgd\"}",
                           "{\"lr\": 0.5, \"wd\": 0.25, \"grid\": {\"optimizer\": [\"sgd\"]}}"};
    for (int k = 0; k < 3; k++) {
        mg_sweep s = spec(specs[k]);
        cr_assert_eq(mg_sweep_point_settings(&s, 0, &set), MG_OK, "%s", mg_errmsg());
        cr_assert_eq(set.train.optim.kind, MG_OPT_SGD, "%s", specs[k]);
        cr_assert_float_eq(set.train.optim.lr, 0.5f, 0, "%s", specs[k]);
        cr_assert_float_eq(set.train.optim.weight_decay, 0.25f, 0, "%s", specs[k]);
        mg_sweep_free(&s);
    }
    /* the model's option after the model, fixed or on an axis */
    mg_sweep s = spec("{\"d-model\": 64, \"steps\": 7, \"model\": \"transformer\","
                      " \"grid\": {\"heads\": [2, 4]}}");
    for (int64_t i = 0; i < 2; i++) {
        cr_assert_eq(mg_sweep_point_settings(&s, i, &set), MG_OK, "%s", mg_errmsg());
        cr_assert_str_eq(set.train.model->name, "transformer");
        cr_assert_eq(*option(&set, "d-model"), 64);
        cr_assert_eq(*option(&set, "heads"), i ? 4 : 2);
        cr_assert_eq(set.train.steps, 7);
    }
    mg_sweep_free(&s);
    s = spec("{\"grid\": {\"d-model\": [32, 64], \"model\": [\"transformer\"]}}");
    cr_assert_eq(mg_sweep_point_settings(&s, 1, &set), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(*option(&set, "d-model"), 64);
    cr_assert_eq(mg_sweep_validate(&s), MG_OK, "%s", mg_errmsg());
    mg_sweep_free(&s);
    /* a model axis: each point its own model's defaults and options */
    s = spec("{\"grid\": {\"model\": [\"mlp\", \"transformer\"], \"seed\": [3]}}");
    cr_assert_eq(mg_sweep_point_settings(&s, 0, &set), MG_OK, "%s", mg_errmsg());
    cr_assert_str_eq(set.train.model->name, "mlp");
    cr_assert_eq(set.train.task.seed, 3);
    cr_assert_eq(mg_sweep_point_settings(&s, 1, &set), MG_OK, "%s", mg_errmsg());
    cr_assert_str_eq(set.train.model->name, "transformer");
    cr_assert_eq(*option(&set, "d-model"), 128);
    cr_assert_eq(set.train.task.seed, 3);
    mg_sweep_free(&s);
    /* an option the model does not have is refused naming it and the point */
    s = spec("{\"grid\": {\"model\": [\"transformer\", \"mlp\"], \"heads\": [2]}}");
    cr_assert_eq(mg_sweep_validate(&s), MG_ERR_ARG);
    cr_assert(strstr(mg_errmsg(), "heads") && strstr(mg_errmsg(), "model=mlp"), "%s", mg_errmsg());
    mg_sweep_free(&s);
}

static void equal_sweeps(const mg_sweep *a, const mg_sweep *b) {
    cr_assert_eq(a->n_fixed, b->n_fixed);
    for (int k = 0; k < a->n_fixed; k++) {
        cr_assert_str_eq(a->fixed_name[k], b->fixed_name[k]);
        cr_assert_str_eq(a->fixed_value[k], b->fixed_value[k]);
    }
    cr_assert_eq(a->n_axes, b->n_axes);
    for (int x = 0; x < a->n_axes; x++) {
        cr_assert_str_eq(a->axes[x].name, b->axes[x].name);
        cr_assert_eq(a->axes[x].n, b->axes[x].n, "axis %s", a->axes[x].name);
        for (int i = 0; i < a->axes[x].n; i++)
            cr_assert_str_eq(a->axes[x].values[i], b->axes[x].values[i]);
    }
}

static char *slurp_file(const char *path) {
    char *text;
    size_t n;
    cr_assert_eq(mg_read_file(path, &text, &n), MG_OK, "%s", mg_errmsg());
    char *copy = strdup(text);
    mg_free(text);
    return copy;
}

Test(sweep, sweep_json_reads_back_equal_and_refuses_another_grid) {
    char dir[128], path[160];
    snprintf(dir, sizeof dir, "%s/sw", tmp);
    snprintf(path, sizeof path, "%s/" MG_SWEEP_FILE, dir);
    mg_sweep s = spec("{\"model\": \"mlp\", \"p\": 23, \"stop-at-grok\": true,"
                      " \"grid\": {\"seed\": [0, 1], \"wd\": {\"log\": [0.01, 1], \"n\": 3}}}");
    mg_sweep back;
    cr_assert_eq(mg_sweep_load(&back, dir), MG_ERR_ARG);
    cr_assert(strstr(mg_errmsg(), dir), "%s", mg_errmsg());
    cr_assert_eq(mg_sweep_save(&s, dir), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(mg_sweep_load(&back, dir), MG_OK, "%s", mg_errmsg());
    equal_sweeps(&s, &back);
    for (int64_t i = 0; i < mg_sweep_size(&s); i++) {
        char a[1024], b[1024];
        mg_sweep_point_name(&s, i, a, sizeof a);
        mg_sweep_point_name(&back, i, b, sizeof b);
        cr_assert_str_eq(a, b);
    }
    mg_sweep_free(&back);
    char *before = slurp_file(path);
    /* the same grid again: accepted, the file unchanged */
    cr_assert_eq(mg_sweep_save(&s, dir), MG_OK, "%s", mg_errmsg());
    char *again = slurp_file(path);
    cr_assert_str_eq(again, before);
    free(again);
    /* another grid is refused naming what differs; the file unchanged */
    struct {
        const char *grid, *fixed_name, *fixed_value, *want;
    } other[] = {
        {"wd=0.01,1", NULL, NULL, "wd"}, {"seed=0:3", NULL, NULL, "seed"},
        {"lr=0.1,1", NULL, NULL, "lr"},  {NULL, "p", "31", "p"},
        {NULL, "frac", "0.3", "frac"},
    };
    for (size_t k = 0; k < sizeof other / sizeof *other; k++) {
        mg_sweep o = spec("{\"model\": \"mlp\", \"p\": 23, \"stop-at-grok\": true,"
                          " \"grid\": {\"seed\": [0, 1], \"wd\": {\"log\": [0.01, 1], \"n\": 3}}}");
        if (other[k].grid) cr_assert_eq(mg_sweep_add_grid_arg(&o, other[k].grid), MG_OK);
        if (other[k].fixed_name)
            cr_assert_eq(mg_sweep_set_fixed(&o, other[k].fixed_name, other[k].fixed_value), MG_OK);
        cr_assert_eq(mg_sweep_save(&o, dir), MG_ERR_ARG, "case %zu accepted", k);
        cr_assert(strstr(mg_errmsg(), other[k].want) && strstr(mg_errmsg(), "another sweep"),
                  "case %zu: '%s' lacks %s", k, mg_errmsg(), other[k].want);
        char *now = slurp_file(path);
        cr_assert_str_eq(now, before, "case %zu changed %s", k, path);
        free(now);
        mg_sweep_free(&o);
    }
    free(before);
    mg_sweep_free(&s);
}

Test(sweep, default_jobs_and_threads_share_out_the_cores) {
    const struct {
        int64_t n;
        int cores, jobs, threads, want_jobs, want_threads;
    } cases[] = {
        {4, 2, 0, 0, 2, 1},     /* more points than cores: one thread each */
        {100, 16, 0, 0, 16, 1}, /* */
        {1, 2, 0, 0, 1, 2},     /* one point gets every core */
        {3, 8, 0, 0, 3, 2},     /* fewer points: their cores shared out */
        {2, 2, 0, 0, 2, 1},     /* */
        {10, 8, 0, 2, 4, 2},    /* threads given: jobs fill the cores */
        {10, 2, 0, 4, 1, 4},    /* never fewer than one job */
        {10, 8, 4, 0, 4, 2},    /* jobs given: threads fill the cores */
        {10, 2, 4, 0, 4, 1},    /* never fewer than one thread */
        {10, 8, 3, 5, 3, 5},    /* both given: kept */
        {0, 0, 0, 0, 1, 1},     /* nonsense in: one and one */
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        int j = cases[k].jobs, t = cases[k].threads;
        mg_sweep_default_jobs(cases[k].n, cases[k].cores, &j, &t);
        cr_assert(j == cases[k].want_jobs && t == cases[k].want_threads,
                  "n %lld, %d cores, given %d x %d: got %d x %d, want %d x %d",
                  (long long)cases[k].n, cases[k].cores, cases[k].jobs, cases[k].threads, j, t,
                  cases[k].want_jobs, cases[k].want_threads);
    }
}

static void write_text(const char *path, const char *text) {
    cr_assert_eq(mg_write_file_atomic(path, text, strlen(text)), MG_OK, "%s", mg_errmsg());
}

Test(sweep, table_reads_quoted_cells_back_exactly) {
    char path[160];
    snprintf(path, sizeof path, "%s/t.csv", tmp);
    write_text(path, "name,\"a \"\"b\"\"\",n\r\n"
                     "\"x, \"\"y\"\"\",,2.5\r\n"
                     "\"two\nlines\",plain,-1e-3\n"
                     "short\n");
    mg_sweep_table t;
    cr_assert_eq(mg_sweep_table_read(path, &t), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(t.n_cols, 3);
    cr_assert_eq(t.n_rows, 3);
    cr_assert_str_eq(t.cols[1], "a \"b\"");
    cr_assert_eq(mg_sweep_table_col(&t, "a \"b\""), 1);
    cr_assert_eq(mg_sweep_table_col(&t, "n"), 2);
    cr_assert_eq(mg_sweep_table_col(&t, "none"), -1);
    cr_assert_str_eq(mg_sweep_table_cell(&t, 0, 0), "x, \"y\"");
    cr_assert_str_eq(mg_sweep_table_cell(&t, 0, 1), "");
    cr_assert_str_eq(mg_sweep_table_cell(&t, 1, 0), "two\nlines");
    cr_assert_str_eq(mg_sweep_table_cell(&t, 1, 1), "plain");
    cr_assert_str_eq(mg_sweep_table_cell(&t, 2, 0), "short");
    cr_assert_str_eq(mg_sweep_table_cell(&t, 2, 2), "");
    cr_assert_str_eq(mg_sweep_table_cell(&t, 2, -1), "");
    cr_assert_str_eq(mg_sweep_table_cell(&t, 9, 0), "");
    double v = 0;
    cr_assert(mg_sweep_table_num(&t, 0, 2, &v));
    cr_assert_eq(v, 2.5);
    cr_assert(mg_sweep_table_num(&t, 1, 2, &v));
    cr_assert_eq(v, -1e-3);
    cr_assert_not(mg_sweep_table_num(&t, 0, 1, &v));
    cr_assert_not(mg_sweep_table_num(&t, 1, 1, &v));
    mg_sweep_table_free(&t);
    /* a row longer than the header is refused */
    write_text(path, "a,b\n1,2,3\n");
    cr_assert_eq(mg_sweep_table_read(path, &t), MG_ERR_FORMAT);
    cr_assert(strstr(mg_errmsg(), "row 1"), "%s", mg_errmsg());
}

/* A run directory made by hand: summary.json holding text. */
static void fake_run(const char *dir, const char *name, const char *file, const char *text) {
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    cr_assert_eq(mg_mkdir_p(path), MG_OK, "%s", mg_errmsg());
    snprintf(path, sizeof path, "%s/%s/%s", dir, name, file);
    write_text(path, text);
}

static mg_sweep_table read_table(const char *dir, const char *file) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    mg_sweep_table t;
    cr_assert_eq(mg_sweep_table_read(path, &t), MG_OK, "%s", mg_errmsg());
    return t;
}

/* The row of groups.csv with column col = value and metric = metric. */
static int64_t group_row(const mg_sweep_table *g, const char *col, const char *value,
                         const char *metric) {
    int c = mg_sweep_table_col(g, col), m = mg_sweep_table_col(g, "metric");
    cr_assert(c >= 0 && m >= 0, "groups.csv lacks %s or metric", col);
    int64_t found = -1;
    for (int64_t r = 0; r < g->n_rows; r++)
        if (!strcmp(mg_sweep_table_cell(g, r, c), value) &&
            !strcmp(mg_sweep_table_cell(g, r, m), metric)) {
            cr_assert_eq(found, -1, "two rows for %s=%s %s", col, value, metric);
            found = r;
        }
    return found;
}

static double num(const mg_sweep_table *t, int64_t r, const char *col) {
    double v;
    int c = mg_sweep_table_col(t, col);
    cr_assert(c >= 0, "no column %s", col);
    cr_assert(mg_sweep_table_num(t, r, c, &v), "row %lld %s = '%s' is not a number", (long long)r,
              col, mg_sweep_table_cell(t, r, c));
    return v;
}

/* mean, std (n-1), min, max, count of x[0..n) against groups.csv's row r. */
static void stats_are(const mg_sweep_table *g, int64_t r, const double *x, int n) {
    cr_assert_geq(r, 0, "no such group row");
    double mean = 0, var = 0, lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < n; i++) mean += x[i], lo = fmin(lo, x[i]), hi = fmax(hi, x[i]);
    mean /= n;
    for (int i = 0; i < n; i++) var += (x[i] - mean) * (x[i] - mean);
    cr_assert_float_eq(num(g, r, "mean"), mean, 1e-12 * fmax(1, fabs(mean)));
    cr_assert_float_eq(num(g, r, "min"), lo, 0);
    cr_assert_float_eq(num(g, r, "max"), hi, 0);
    cr_assert_eq(num(g, r, "count"), n);
    if (n > 1) cr_assert_float_eq(num(g, r, "std"), sqrt(var / (n - 1)), 1e-12 * fmax(1, hi));
    else cr_assert_str_eq(mg_sweep_table_cell(g, r, mg_sweep_table_col(g, "std")), "");
}

Test(sweep, collect_tables_constructed_runs_with_missing_ones) {
    char dir[128];
    snprintf(dir, sizeof dir, "%s/sw", tmp);
    /* values holding a comma and a quote: runs.csv must quote them */
    mg_sweep s = spec("{\"grid\": {\"seed\": [0, 1, 2], \"note\": [\"a,\\\"b\\\"\", \"c\"]}}");
    cr_assert_eq(mg_sweep_size(&s), 6);
    name_is(&s, 0, "seed=0,note=a__b_");
    const struct {
        int64_t point;
        double t_fit, lead;
        const char *status;
    } runs[] = {
        {0, 200, 10, "completed"}, {2, 300, -20, "grokked"}, {4, 250, 5, "completed"},
        {1, 120, 40, "completed"}, {3, 180, 0, "diverged"},
    }; /* point 5 (seed=2,note=c) never ran */
    for (size_t k = 0; k < sizeof runs / sizeof *runs; k++) {
        char name[1024], text[512];
        mg_sweep_point_name(&s, runs[k].point, name, sizeof name);
        snprintf(text, sizeof text,
                 "{\"status\": \"%s\", \"t_fit\": %g, \"t_grok\": null, \"label\": \"x,y\","
                 " \"lead\": {\"displacement\": {\"lead_steps\": %g}}}",
                 runs[k].status, runs[k].t_fit, runs[k].lead);
        fake_run(dir, name, MG_RUN_SUMMARY, text);
    }
    cr_assert_eq(mg_sweep_collect(&s, dir), MG_OK, "%s", mg_errmsg());
    mg_sweep_table t = read_table(dir, MG_SWEEP_RUNS_CSV);
    cr_assert_eq(t.n_rows, 6);
    const char *lead = "lead.displacement.lead_steps";
    const char *want_status[] = {"completed", "completed", "completed",
                                 "diverged",  "completed", "pending"};
    for (int64_t i = 0; i < 6; i++) {
        char name[1024];
        mg_sweep_point_name(&s, i, name, sizeof name);
        cr_assert_str_eq(mg_sweep_table_cell(&t, i, mg_sweep_table_col(&t, "run")), name);
        cr_assert_str_eq(mg_sweep_table_cell(&t, i, mg_sweep_table_col(&t, "seed")),
                         s.axes[0].values[i / 2]);
        cr_assert_str_eq(mg_sweep_table_cell(&t, i, mg_sweep_table_col(&t, "note")),
                         i % 2 ? "c" : "a,\"b\"");
        cr_assert_str_eq(mg_sweep_table_cell(&t, i, mg_sweep_table_col(&t, "status")),
                         want_status[i], "point %lld", (long long)i);
    }
    cr_assert_eq(mg_sweep_table_col(&t, "run"), 0);
    cr_assert_eq(mg_sweep_table_col(&t, "status"), 3);
    /* the summary's own status is kept beside the state, not over it */
    int sum_status = mg_sweep_table_col(&t, "summary.status");
    cr_assert_geq(sum_status, 0);
    cr_assert_str_eq(mg_sweep_table_cell(&t, 2, sum_status), "grokked");
    cr_assert_str_eq(mg_sweep_table_cell(&t, 3, sum_status), "diverged");
    cr_assert_str_eq(mg_sweep_table_cell(&t, 5, sum_status), "");
    for (size_t k = 0; k < sizeof runs / sizeof *runs; k++) {
        cr_assert_eq(num(&t, runs[k].point, "t_fit"), runs[k].t_fit);
        cr_assert_eq(num(&t, runs[k].point, lead), runs[k].lead);
        cr_assert_str_eq(mg_sweep_table_cell(&t, runs[k].point, mg_sweep_table_col(&t, "label")),
                         "x,y");
    }
    /* the point that never ran: its summary cells empty; null: the column, empty */
    const char *empty[] = {"t_fit", "t_grok", "label", lead};
    for (int k = 0; k < 4; k++) {
        cr_assert_geq(mg_sweep_table_col(&t, empty[k]), 0, "no column %s", empty[k]);
        cr_assert_str_eq(mg_sweep_table_cell(&t, 5, mg_sweep_table_col(&t, empty[k])), "");
        cr_assert_str_eq(mg_sweep_table_cell(&t, 0, mg_sweep_table_col(&t, "t_grok")), "");
    }
    mg_sweep_table_free(&t);

    /* groups.csv: per note, over the completed seeds that have the metric
     * (point 3 diverged: its numbers are left out) */
    mg_sweep_table g = read_table(dir, MG_SWEEP_GROUPS_CSV);
    cr_assert_eq(mg_sweep_table_col(&g, "seed"), -1);
    stats_are(&g, group_row(&g, "note", "a,\"b\"", "t_fit"), (double[]){200, 300, 250}, 3);
    stats_are(&g, group_row(&g, "note", "a,\"b\"", lead), (double[]){10, -20, 5}, 3);
    stats_are(&g, group_row(&g, "note", "c", "t_fit"), (double[]){120}, 1);
    stats_are(&g, group_row(&g, "note", "c", lead), (double[]){40}, 1);
    /* text and empty metrics have no rows */
    cr_assert_eq(group_row(&g, "note", "c", "label"), -1);
    cr_assert_eq(group_row(&g, "note", "c", "t_grok"), -1);
    cr_assert_eq(g.n_rows, 4);
    mg_sweep_table_free(&g);
    mg_sweep_free(&s);
}

/* The SAEs `modgrad sae` trained on a run (RUN/sae/step_NNNNNN/summary.json)
 * join its row as sae.step_NNNNNN.KEY, in order of step whatever order the
 * folders are read in; an array (the ablated latents) has no column; a
 * folder that is no checkpoint's, or one without a summary, adds nothing;
 * groups.csv averages them like any summary scalar. */
Test(sweep, collect_tables_each_runs_sae_summaries) {
    char dir[128];
    snprintf(dir, sizeof dir, "%s/sw", tmp);
    mg_sweep s = spec("{\"grid\": {\"seed\": [0, 1, 2]}}");
    const char *names[] = {"seed=0", "seed=1", "seed=2"};
    for (int i = 0; i < 3; i++)
        fake_run(dir, names[i], MG_RUN_SUMMARY, "{\"status\": \"completed\", \"t_fit\": 100}");
    const struct {
        const char *run, *step;
        double m, acc;
    } sae[] = {
        {"seed=0", "step_008000", 1, 0.9},
        {"seed=0", "step_002000", 0, 0.5},
        {"seed=1", "step_002000", 2, 0.75},
        {"seed=1", "step_018000", 3, 1},
    };
    for (size_t k = 0; k < sizeof sae / sizeof *sae; k++) {
        char sub[128], text[256];
        snprintf(sub, sizeof sub, "%s/sae/%s", sae[k].run, sae[k].step);
        snprintf(text, sizeof text,
                 "{\"checkpoint\": %d, \"latents_corr_m\": %g, \"acc\": %g,"
                 " \"ablated_latents\": [3, 1, 2], \"acc_groups\": {\"m=1\": %g}}",
                 atoi(sae[k].step + 5), sae[k].m, sae[k].acc, sae[k].acc);
        fake_run(dir, sub, MG_RUN_SUMMARY, text);
    }
    fake_run(dir, "seed=1/sae/step_004000.tmp", MG_RUN_SUMMARY, "{\"acc\": 7}");
    fake_run(dir, "seed=1/sae/step_006000", "latents.csv", "latent\n");
    cr_assert_eq(mg_sweep_collect(&s, dir), MG_OK, "%s", mg_errmsg());
    mg_sweep_table t = read_table(dir, MG_SWEEP_RUNS_CSV);
    int c2 = mg_sweep_table_col(&t, "sae.step_002000.acc");
    int c8 = mg_sweep_table_col(&t, "sae.step_008000.acc");
    int c18 = mg_sweep_table_col(&t, "sae.step_018000.acc");
    cr_assert(c2 >= 0 && c8 > c2 && c18 > c2, "columns %d %d %d", c2, c8, c18);
    cr_assert_eq(num(&t, 0, "sae.step_002000.acc"), 0.5);
    cr_assert_eq(num(&t, 0, "sae.step_008000.latents_corr_m"), 1);
    cr_assert_eq(num(&t, 0, "sae.step_008000.checkpoint"), 8000);
    cr_assert_eq(num(&t, 1, "sae.step_002000.acc_groups.m=1"), 0.75);
    cr_assert_eq(num(&t, 1, "sae.step_018000.latents_corr_m"), 3);
    cr_assert_str_eq(mg_sweep_table_cell(&t, 0, c18), "");
    cr_assert_str_eq(mg_sweep_table_cell(&t, 2, c2), "", "seed=2 trained no SAE");
    for (int c = 0; c < t.n_cols; c++)
        cr_assert(!strstr(t.cols[c], "ablated_latents") && !strstr(t.cols[c], "step_004000") &&
                      !strstr(t.cols[c], "step_006000"),
                  "column %s", t.cols[c]);
    mg_sweep_table_free(&t);
    mg_sweep_table g = read_table(dir, MG_SWEEP_GROUPS_CSV);
    cr_assert_eq(g.n_rows, 1 + 3 * 4, "t_fit and 4 numbers of each step's SAEs");
    stats_are(&g, group_row(&g, "metric", "sae.step_002000.acc", "sae.step_002000.acc"),
              (double[]){0.5, 0.75}, 2);
    stats_are(&g, group_row(&g, "metric", "sae.step_018000.acc", "sae.step_018000.acc"),
              (double[]){1}, 1);
    mg_sweep_table_free(&g);
    mg_sweep_free(&s);
}

Test(sweep, collect_tables_a_real_sweep_against_its_summaries) {
    char dir[128];
    snprintf(dir, sizeof dir, "%s/sw", tmp);
    mg_sweep s = spec("{\"model\": \"mlp\", \"p\": 23, \"d\": 32, \"width\": 64, \"steps\": 100,"
                      " \"grid\": {\"wd\": [0.1, 1], \"seed\": [0, 1, 2]}}");
    cr_assert_eq(mg_sweep_validate(&s), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(mg_sweep_save(&s, dir), MG_OK, "%s", mg_errmsg());
    for (int64_t i = 0; i < 6; i++) {
        cr_assert_eq(mg_sweep_point_state(&s, dir, i), MG_POINT_PENDING);
        if (i == 4) continue; /* wd=1,seed=1 never runs */
        cr_assert_eq(mg_sweep_run_point(&s, dir, i, 1), MG_OK, "point %lld: %s", (long long)i,
                     mg_errmsg());
        cr_assert_eq(mg_sweep_point_state(&s, dir, i), MG_POINT_COMPLETED);
    }
    /* a final point is skipped: its summary stays as it was */
    char path[2200], name[1024];
    mg_sweep_point_name(&s, 0, name, sizeof name);
    snprintf(path, sizeof path, "%s/%s/" MG_RUN_SUMMARY, dir, name);
    char *before = slurp_file(path);
    cr_assert_eq(mg_sweep_run_point(&s, dir, 0, 1), MG_OK, "%s", mg_errmsg());
    char *after = slurp_file(path);
    cr_assert_str_eq(after, before);
    free(before), free(after);

    cr_assert_eq(mg_sweep_collect(&s, dir), MG_OK, "%s", mg_errmsg());
    mg_sweep_table t = read_table(dir, MG_SWEEP_RUNS_CSV);
    mg_sweep_table g = read_table(dir, MG_SWEEP_GROUPS_CSV);
    cr_assert_eq(t.n_rows, 6);
    const char *metrics[] = {"train_loss", "test_loss", "wall_s", "fourier_concentration.embed",
                             "collapse.nc1"};
    for (int w = 0; w < 2; w++) {
        for (int m = 0; m < 5; m++) {
            double x[3];
            int n = 0;
            for (int64_t i = 3 * w; i < 3 * w + 3; i++) {
                mg_sweep_point_name(&s, i, name, sizeof name);
                cr_assert_str_eq(mg_sweep_table_cell(&t, i, 0), name);
                if (i == 4) {
                    cr_assert_str_eq(mg_sweep_table_cell(&t, i, mg_sweep_table_col(&t, "status")),
                                     "pending");
                    cr_assert_str_eq(mg_sweep_table_cell(&t, i, mg_sweep_table_col(&t, metrics[m])),
                                     "");
                    continue;
                }
                /* the value from summary.json itself */
                snprintf(path, sizeof path, "%s/%s/" MG_RUN_SUMMARY, dir, name);
                char *text = slurp_file(path);
                cJSON *j = cJSON_Parse(text);
                free(text);
                const cJSON *v = j;
                char key[64];
                snprintf(key, sizeof key, "%s", metrics[m]);
                for (char *save = NULL, *k = strtok_r(key, ".", &save); k;
                     k = strtok_r(NULL, ".", &save))
                    v = cJSON_GetObjectItemCaseSensitive(v, k);
                cr_assert(cJSON_IsNumber(v), "%s: %s is not a number", path, metrics[m]);
                x[n++] = v->valuedouble;
                cr_assert_float_eq(num(&t, i, metrics[m]), v->valuedouble,
                                   1e-9 * fmax(1, fabs(v->valuedouble)));
                if (!strcmp(metrics[m], "train_loss")) {
                    const cJSON *fp = cJSON_GetObjectItemCaseSensitive(j, "fingerprint");
                    cr_assert(cJSON_IsString(fp));
                    cr_assert_str_eq(
                        mg_sweep_table_cell(&t, i, mg_sweep_table_col(&t, "fingerprint")),
                        fp->valuestring);
                    cr_assert_str_eq(mg_sweep_table_cell(&t, i, mg_sweep_table_col(&t, "status")),
                                     "completed");
                    cr_assert_eq(num(&t, i, "config.seed"), i % 3);
                }
                cJSON_Delete(j);
            }
            cr_assert_eq(n, w ? 2 : 3);
            stats_are(&g, group_row(&g, "wd", s.axes[0].values[w], metrics[m]), x, n);
        }
    }
    mg_sweep_table_free(&t);
    mg_sweep_table_free(&g);
    mg_sweep_free(&s);
}
