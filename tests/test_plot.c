/* test_plot.c — end-to-end tests of `modgrad plot`: the real binary
 * ($MG_BUILD_DIR/modgrad, set by CMake) on small run directories that each
 * test writes itself (metrics.csv, probes.csv, geometry.csv, spectrum.csv,
 * circle.csv, summary.json, config.json), checking that every picture comes
 * out as a real PNG and SVG, that an old run with only metrics.csv still gets
 * its curves, and that bad input is refused with exit status 2. The clocks
 * and dynamics pictures are also drawn from small real runs (an MLP and a
 * transformer, P = 23, seconds), their data files counted against the run's
 * geometry.csv and summary.json; the hierarchy picture's data file is checked
 * number by number against a real MLP run's hier_ rows and against
 * constructed ones.
 *
 * Needs gnuplot (tools/deps installs gnuplot-nox). */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/util/fixture.h"

static char tmp[64];   /* this test's directory */
static char bin[4096]; /* the modgrad binary */

static void setup(void) {
    const char *b = getenv("MG_BUILD_DIR");
    cr_assert_not_null(b, "MG_BUILD_DIR is not set (run the suite through ctest)");
    snprintf(bin, sizeof bin, "%s/modgrad", b);
    cr_assert_eq(access(bin, X_OK), 0, "%s is not built", bin);
    cr_assert_eq(system("command -v gnuplot >/dev/null 2>&1"), 0,
                 "gnuplot is not installed: `modgrad plot` needs it (tools/deps installs "
                 "gnuplot-nox)");
    strcpy(tmp, "/tmp/mg_plot_XXXXXX");
    cr_assert_not_null(mkdtemp(tmp));
}

static void teardown(void) {
    if (!tmp[0]) return;
    mg_test_rmtree(tmp);
}

TestSuite(plot, .init = setup, .fini = teardown, .timeout = 120);

/* ---- helpers ---------------------------------------------------------------- */

/* Opens tmp/NAME for writing. */
static FILE *create(const char *name) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmp, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "cannot write %s", path);
    return f;
}

/* Runs `modgrad ARGS` (a shell command line tail) with its output in
 * tmp/out.txt; returns the exit status. */
static int modgrad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int modgrad(const char *fmt, ...) {
    char args[1024], cmd[6144];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "'%s' %s >'%s/out.txt' 2>&1", bin, args, tmp);
    int st = system(cmd);
    cr_assert(WIFEXITED(st), "modgrad did not exit normally: %s", cmd);
    return WEXITSTATUS(st);
}

/* What the last modgrad printed (stdout and stderr). */
static const char *output(void) {
    static char buf[8192];
    char path[512];
    snprintf(path, sizeof path, "%s/out.txt", tmp);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f) fclose(f);
    buf[n] = 0;
    return buf;
}

/* modgrad train ARGS --out tmp/run, which must succeed. */
static void train(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void train(const char *fmt, ...) {
    char args[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    int st = modgrad("train %s --out '%s/run'", args, tmp);
    cr_assert_eq(st, 0, "train: exit %d:\n%s", st, output());
}

/* modgrad plot tmp/run, which must succeed. */
static void plot(void) {
    int st = modgrad("plot '%s/run'", tmp);
    cr_assert_eq(st, 0, "exit %d:\n%s", st, output());
}

/* A small grokking-shaped run: p = 11, steps 0..400. */
static void write_metrics(void) {
    FILE *f = create("run/metrics.csv");
    fprintf(f, "step,wall_s,train_loss,train_acc,test_loss,test_acc\n");
    for (int s = 0; s <= 400; s += 20) {
        double fit = 1 - exp(-s / 30.0), grok = 1 / (1 + exp(-(s - 250) / 20.0));
        fprintf(f, "%d,%g,%g,%g,%g,%g\n", s, s * 0.01, 2.4 * exp(-s / 25.0) + 1e-6, fit,
                2.4 + 3 * fit * (1 - grok) - 2.3 * grok, 0.1 + 0.9 * grok);
    }
    fclose(f);
}

static void write_full_run(void) {
    const char *layers[] = {"embed", "hidden", "classifier"};
    write_metrics();
    FILE *f = create("run/probes.csv");
    fprintf(f, "step,layer,grad_norm,rel_grad_norm,update_ratio,weight_norm,displacement\n");
    for (int s = 0; s <= 400; s += 10)
        for (int l = 0; l < 3; l++)
            fprintf(f, "%d,%s,%g,%g,%g,%g,%g\n", s, layers[l], exp(-s / 50.0), 0.1 * exp(-s / 50.0),
                    s ? 1e-3 * (l + 1) : 0.0, 5.0, (1 - exp(-s / (40.0 + 100 * (2 - l)))));
    fclose(f);
    f = create("run/geometry.csv");
    fprintf(f, "step,layer,metric,value\n");
    const char *fourier[] = {"fourier_top",  "fourier_n_key",    "fourier_concentration",
                             "fourier_gini", "circle_radius_cv", "circle_angle_corr"};
    const char *ranks[] = {"eff_rank",  "stable_rank", "rank2_energy",
                           "schatten1", "schatten2",   "schatten_inf"};
    const char *params[] = {"embed", "hidden.w", "classifier.w"};
    const char *nc[] = {"nc1", "nc2_mean_cv", "nc2_w_cv", "nc2_etf", "nc3", "nc4"};
    for (int s = 0; s <= 400; s += 50) {
        double g = 1 / (1 + exp(-(s - 250) / 30.0));
        for (int l = 0; l < 3; l += 2)
            for (int m = 0; m < 6; m++)
                fprintf(f, "%d,%s,%s,%g\n", s, layers[l], fourier[m], m < 2 ? 3 : 0.1 + 0.8 * g);
        for (int l = 0; l < 3; l++)
            for (int m = 0; m < 6; m++)
                fprintf(f, "%d,%s,%s,%g\n", s, params[l], ranks[m],
                        m == 2 ? 0.1 + 0.5 * g : 10 - 6 * g);
        for (int m = 0; m < 6; m++)
            fprintf(f, "%d,features,%s,%g\n", s, nc[m], m ? 0.5 - 0.4 * g : pow(10, 1 - 3 * g));
        fprintf(f, "%d,lock,lock_cos1,%g\n%d,lock,lock_cos2,%g\n", s, 0.2 + 0.7 * g, s,
                0.1 + 0.6 * g);
        fprintf(f, "%d,model,structural_energy,%g\n", s, 100 + 900 * exp(-s / 100.0));
    }
    fclose(f);
    f = create("run/spectrum.csv");
    fprintf(f, "layer,k,energy\n");
    for (int l = 0; l < 3; l += 2)
        for (int k = 1; k <= 5; k++)
            fprintf(f, "%s,%d,%g\n", layers[l], k, k == 3 ? 10.0 : 0.5 * k);
    fclose(f);
    f = create("run/circle.csv");
    fprintf(f, "layer,residue,x,y\n");
    for (int l = 0; l < 3; l += 2)
        for (int x = 0; x < 11; x++)
            fprintf(f, "%s,%d,%g,%g\n", layers[l], x, cos(2 * M_PI * 3 * x / 11),
                    sin(2 * M_PI * 3 * x / 11));
    fclose(f);
    f = create("run/summary.json");
    fprintf(f, "{\"status\": \"grokked\", \"final_step\": 400, \"t_fit\": 100, \"t_grok\": 280,\n"
               " \"t_simplify\": null, \"embed_layer\": \"embed\", \"classifier_layer\": "
               "\"classifier\",\n \"top_frequency\": {\"embed\": 3, \"classifier\": 3}}\n");
    fclose(f);
    f = create("run/config.json");
    fprintf(f, "{\"model\": \"mlp\", \"task\": \"add\", \"p\": 11}\n");
    fclose(f);
}

static void make_run_dir(void) {
    char path[512];
    snprintf(path, sizeof path, "%s/run", tmp);
    cr_assert_eq(mkdir(path, 0777), 0);
}

/* Asserts that tmp/run/plots/NAME.png and .svg exist, are non-empty and
 * start as a PNG and an SVG do. */
static void assert_picture(const char *name) {
    char path[512], head[256];
    static const unsigned char png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    snprintf(path, sizeof path, "%s/run/plots/%s.png", tmp, name);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s was not written; modgrad said:\n%s", path, output());
    size_t n = fread(head, 1, sizeof head, f);
    fclose(f);
    cr_assert(n >= 8 && !memcmp(head, png, 8), "%s is not a PNG", path);
    snprintf(path, sizeof path, "%s/run/plots/%s.svg", tmp, name);
    f = fopen(path, "rb");
    cr_assert_not_null(f, "%s was not written; modgrad said:\n%s", path, output());
    n = fread(head, 1, sizeof head - 1, f);
    fclose(f);
    head[n] = 0;
    cr_assert(n > 0 && (!strncmp(head, "<?xml", 5) || !strncmp(head, "<svg", 4)),
              "%s is not an SVG", path);
    cr_assert(strstr(head, "<svg") || n == sizeof head - 1, "%s has no <svg> element", path);
}

static bool exists(const char *name) {
    char path[512];
    snprintf(path, sizeof path, "%s/run/plots/%s", tmp, name);
    return access(path, F_OK) == 0;
}

/* The lines of tmp/run/plots/NAME that are not comments; -1 if it is absent. */
static int count_lines(const char *name) {
    char path[512], line[4096];
    snprintf(path, sizeof path, "%s/run/plots/%s", tmp, name);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    int n = 0;
    while (fgets(line, sizeof line, f))
        if (line[0] != '#' && line[0] != '\n') n++;
    fclose(f);
    return n;
}

/* The rows of tmp/run/geometry.csv with this layer and metric. */
static int count_geometry(const char *layer, const char *metric) {
    char path[512], line[4096], want[256];
    snprintf(path, sizeof path, "%s/run/geometry.csv", tmp);
    snprintf(want, sizeof want, ",%s,%s,", layer, metric);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s is missing", path);
    int n = 0;
    while (fgets(line, sizeof line, f)) n += strstr(line, want) != NULL;
    fclose(f);
    return n;
}

/* How many lines of tmp/run/plots/NAME contain text. */
static int count_text(const char *name, const char *text) {
    char path[512], line[8192];
    snprintf(path, sizeof path, "%s/run/plots/%s", tmp, name);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s is missing", path);
    int n = 0;
    while (fgets(line, sizeof line, f)) n += strstr(line, text) != NULL;
    fclose(f);
    return n;
}

/* tmp/run/summary.json, parsed. */
static cJSON *summary(void) {
    char path[512];
    snprintf(path, sizeof path, "%s/run/summary.json", tmp);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s is missing", path);
    static char text[1 << 20];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    cJSON *j = cJSON_Parse(text);
    cr_assert_not_null(j, "%s is not JSON", path);
    return j;
}

/* The dynamics series of a run, as (layer, metric) pairs. */
static const char *const dyn_series[][2] = {
    {"embed", "stable_rank"},      {"classifier.w", "stable_rank"}, {"hidden", "gate_flips"},
    {"lock", "lock_share_top2"},   {"lock", "lock_random_top2"},    {"lock", "lock_share_top2m"},
    {"lock", "lock_random_top2m"}, {"lock", "lock_orth_top2"},      {"lock", "lock_orth_top2m"},
};

/* The hierarchy's data file's columns after the step, as geometry.csv's
 * (layer, metric) of an MLP (embed, hidden, classifier). */
static const char *const hier_cells[][2] = {
    {"model", "hier_ratio_measured"}, {"model", "hier_ratio_bound"},
    {"embed", "hier_bound_ratio"},    {"embed", "hier_grad"},
    {"embed", "hier_bound"},          {"classifier", "hier_grad"},
    {"classifier", "hier_bound"},     {"classifier", "hier_spectral"},
    {"hidden", "hier_spectral"},      {"model", "hier_delta"},
    {"model", "hier_selection"},
};
#define HIER_NCOLS 11
#define HIER_MAX 256

/* Reads tmp/run/plots/data/hierarchy.dat: returns its rows (step, then the
 * HIER_NCOLS values). */
static int read_hierarchy(double (*rows)[HIER_NCOLS + 1]) {
    char path[512], line[4096];
    snprintf(path, sizeof path, "%s/run/plots/data/hierarchy.dat", tmp);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s is missing; modgrad said:\n%s", path, output());
    int n = 0;
    while (fgets(line, sizeof line, f) && n < HIER_MAX) {
        if (line[0] == '#') continue;
        char *p = line, *end;
        for (int k = 0; k <= HIER_NCOLS; k++, p = end) {
            rows[n][k] = strtod(p, &end);
            cr_assert(end != p, "%s: line %d has %d values: %s", path, n, k, line);
        }
        n++;
    }
    fclose(f);
    return n;
}

/* The data row of a step, or -1. */
static int hier_row(double (*rows)[HIER_NCOLS + 1], int n, double step) {
    for (int i = 0; i < n; i++)
        if (rows[i][0] == step) return i;
    return -1;
}

/* ---- tests ---------------------------------------------------------------------- */

Test(plot, every_picture_of_a_full_run) {
    make_run_dir();
    write_full_run();
    int st = modgrad("plot '%s/run'", tmp);
    cr_assert_eq(st, 0, "exit %d:\n%s", st, output());
    const char *pics[] = {"curves", "probes", "spectrum", "circle", "geometry"};
    for (int i = 0; i < 5; i++) {
        assert_picture(pics[i]);
        char name[64];
        snprintf(name, sizeof name, "%s.png", pics[i]);
        cr_assert(strstr(output(), name), "the list of written files lacks %s:\n%s", name,
                  output());
    }
    cr_assert(exists("data/curves.dat") && exists("data/probes_classifier.dat"),
              "the data files are missing");
    cr_assert(exists("data/geometry.gp"), "the gnuplot scripts are missing");
    /* No two_clocks in its summary: no clocks, and a note saying so; its
     * stable-rank rows make a dynamics picture of one panel. */
    cr_assert(!exists("clocks.png"), "clocks drawn without two_clocks");
    cr_assert(strstr(output(), "skipping the clocks"), "no note about the clocks:\n%s", output());
    assert_picture("dynamics");
    cr_assert_eq(count_lines("data/dyn_classifier.w__stable_rank.dat"), 9);
    /* Plotting again replaces the pictures. */
    cr_assert_eq(modgrad("plot '%s/run/'", tmp), 0, "%s", output());
    assert_picture("curves");
}

Test(plot, a_run_with_only_metrics_gets_its_curves) {
    make_run_dir();
    write_metrics();
    int st = modgrad("plot '%s/run'", tmp);
    cr_assert_eq(st, 0, "exit %d:\n%s", st, output());
    assert_picture("curves");
    cr_assert(!exists("probes.png") && !exists("spectrum.png") && !exists("circle.png") &&
                  !exists("geometry.png") && !exists("clocks.png") && !exists("dynamics.png"),
              "pictures drawn without their data");
    cr_assert(strstr(output(), "skipping"), "no note about the skipped pictures:\n%s", output());
}

Test(plot, bad_input_is_refused) {
    cr_assert_eq(modgrad("plot '%s/no_such_run'", tmp), 2, "%s", output());
    cr_assert(strstr(output(), "no_such_run"), "the message does not name the run:\n%s", output());
    make_run_dir(); /* a directory without metrics.csv */
    cr_assert_eq(modgrad("plot '%s/run'", tmp), 2, "%s", output());
    cr_assert(strstr(output(), "metrics.csv"), "%s", output());
    cr_assert_eq(modgrad("plot"), 2, "%s", output());
    cr_assert_eq(modgrad("plot '%s/run' --bogus", tmp), 2, "%s", output());
    /* A malformed CSV (a row with too few cells) is bad input too. */
    FILE *f = create("run/metrics.csv");
    fprintf(f, "step,wall_s,train_loss,train_acc,test_loss,test_acc\n0,0,1\n");
    fclose(f);
    cr_assert_eq(modgrad("plot '%s/run'", tmp), 2, "%s", output());
}

Test(plot, help_and_missing_gnuplot) {
    cr_assert_eq(modgrad("plot --help"), 0);
    cr_assert(strstr(output(), "usage: modgrad plot RUN"), "%s", output());
    make_run_dir();
    write_metrics();
    /* No gnuplot on the PATH: a clear message and exit 1. */
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "PATH=/nonexistent '%s' plot '%s/run' >'%s/out.txt' 2>&1", bin, tmp,
             tmp);
    int st = system(cmd);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1, "exit %d:\n%s", WEXITSTATUS(st), output());
    cr_assert(strstr(output(), "gnuplot-nox"), "%s", output());
}

Test(plot, clocks_and_dynamics_of_a_real_mlp_run) {
    train("--model mlp --p 23 --d 32 --width 64 --threads 1 --frac 0.8 --lr 1e-2 --wd 1 --seed 1 "
          "--steps 600 --eval-every 50 --geometry-every 50");
    plot();
    assert_picture("clocks");
    assert_picture("dynamics");
    cr_assert(strstr(output(), "clocks.png") && strstr(output(), "dynamics.svg"), "%s", output());
    /* Every dynamics series holds every row the run has of it. */
    for (size_t i = 0; i < sizeof dyn_series / sizeof *dyn_series; i++) {
        char file[256];
        snprintf(file, sizeof file, "data/dyn_%s__%s.dat", dyn_series[i][0], dyn_series[i][1]);
        int rows = count_geometry(dyn_series[i][0], dyn_series[i][1]);
        cr_assert_gt(rows, 1, "the run has no %s %s rows", dyn_series[i][0], dyn_series[i][1]);
        cr_assert_eq(count_lines(file), rows, "%s: %d lines for %d rows", file, count_lines(file),
                     rows);
    }
    /* Four panels, each drawn once per terminal (PNG, SVG). */
    cr_assert_eq(count_text("data/dynamics.gp", "plot '"), 8);
    /* The fitting clock: one point per threshold that fired, a line when >= 2. */
    cJSON *sum = summary();
    const cJSON *tc = cJSON_GetObjectItemCaseSensitive(sum, "two_clocks");
    const cJSON *ladder = cJSON_GetObjectItemCaseSensitive(tc, "t_cls");
    int fired = 0, all = 0;
    for (const cJSON *c = ladder ? ladder->child : NULL; c; c = c->next)
        all++, fired += cJSON_IsNumber(c);
    cJSON_Delete(sum);
    cr_assert_eq(all, 6, "the summary's t_cls ladder has %d thresholds", all);
    cr_assert_gt(fired, 1, "too few fitting clocks fired to test the line");
    cr_assert_lt(fired, 6, "every fitting clock fired: nothing tests the unfired ones");
    cr_assert_eq(count_lines("data/clocks_cls.dat"), fired);
    cr_assert_eq(count_lines("data/clocks_cls_fit.dat"), 2);
    cr_assert_eq(count_text("data/clocks.gp", "R^2 = "), 2);
}

Test(plot, a_transformer_run_draws_dynamics_with_gates_without_lock_or_hierarchy_panels) {
    train("--model transformer --p 23 --threads 1 --steps 40 --geometry-every 20");
    cr_assert_eq(count_geometry("lock", "lock_share_top2"), 0);
    cr_assert_eq(count_geometry("hidden", "gate_flips"), 0);
    int gates = count_geometry("mlp", "gate_flips");
    cr_assert_gt(gates, 1, "no gate rows for the transformer's MLP");
    plot();
    assert_picture("dynamics");
    assert_picture("clocks");
    int rows = count_geometry("unembed", "stable_rank");
    cr_assert_gt(rows, 1);
    cr_assert_eq(count_lines("data/dyn_unembed__stable_rank.dat"), rows);
    cr_assert_eq(count_lines("data/dyn_embed__stable_rank.dat"),
                 count_geometry("embed", "stable_rank"));
    cr_assert(!exists("data/dyn_lock__lock_share_top2.dat") &&
                  !exists("data/dyn_lock__lock_orth_top2.dat"),
              "lock series written for a run without them");
    cr_assert_eq(count_lines("data/dyn_mlp__gate_flips.dat"), gates);
    /* The stable-rank and gate panels, each once per terminal. */
    cr_assert_eq(count_text("data/dynamics.gp", "plot '"), 4);
    cr_assert_gt(count_text("data/dynamics.gp", "mlp gates"), 0);
    /* No hier_ rows: no hierarchy picture, and no note about it. */
    cr_assert_eq(count_text("../geometry.csv", ",hier_"), 0, "a transformer has hier_ rows");
    cr_assert(!exists("hierarchy.png") && !exists("data/hierarchy.dat"),
              "a hierarchy drawn without hier_ rows");
    cr_assert(!strstr(output(), "hierarchy"), "a note about the hierarchy:\n%s", output());
}

Test(plot, hierarchy_holds_every_hier_row_of_a_real_mlp_run) {
    train("--model mlp --p 23 --d 32 --width 64 --threads 1 --steps 200 --geometry-every 20");
    plot();
    assert_picture("hierarchy");
    cr_assert(strstr(output(), "hierarchy.png"), "%s", output());
    static double rows[HIER_MAX][HIER_NCOLS + 1];
    int n = read_hierarchy(rows);
    /* One row per geometry step, every cell the value of geometry.csv. */
    int steps = count_geometry("model", "hier_ratio_measured");
    cr_assert_eq(steps, 10, "the run has %d geometry steps with hier_ rows", steps); /* 0 .. 180 */
    cr_assert_eq(n, steps);
    char path[512], line[4096], layer[64], metric[64];
    snprintf(path, sizeof path, "%s/run/geometry.csv", tmp);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    int cells = 0;
    double step, v;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "%lf,%63[^,],%63[^,],%lf", &step, layer, metric, &v) != 4 ||
            strncmp(metric, "hier_", 5))
            continue;
        int i = hier_row(rows, n, step), k = -1;
        for (int c = 0; c < HIER_NCOLS; c++)
            if (!strcmp(hier_cells[c][0], layer) && !strcmp(hier_cells[c][1], metric)) k = c;
        cr_assert(i >= 0 && k >= 0, "no cell for %s", line);
        cr_assert_float_eq(rows[i][k + 1], v, 1e-9 * fabs(v), "%s: %.9g", line, rows[i][k + 1]);
        cells++;
    }
    fclose(f);
    cr_assert_eq(cells, HIER_NCOLS * n, "%d hier_ rows for %d steps", cells, n);
    for (int i = 0; i < n; i++) {
        cr_assert_eq(rows[i][0], 20.0 * i, "row %d is step %g", i, rows[i][0]);
        /* the embedding's gradient over its bound: <= 1, and the ratio of its columns */
        cr_assert(rows[i][3] > 0 && rows[i][3] <= 1, "step %g: %g", rows[i][0], rows[i][3]);
        cr_assert_float_eq(rows[i][3], rows[i][4] / rows[i][5], 1e-6 * rows[i][3]);
    }
    /* Three panels, each drawn once per terminal (PNG, SVG), the bound at 1. */
    cr_assert_eq(count_text("data/hierarchy.gp", "plot '"), 6);
    cr_assert_eq(count_text("data/hierarchy.gp", "t 'the bound (1)'"), 2);
    cr_assert(!strstr(output(), "exceeds its bound"), "%s", output());
}

/* Constructed hier_ rows: a step without the first layer's row gets NaN in
 * its column, the roles are found by their metrics (the layers here have
 * other names), and a gradient above its bound is reported. */
Test(plot, hierarchy_pivots_constructed_rows_and_reports_a_broken_bound) {
    make_run_dir();
    write_full_run();
    char path[512];
    snprintf(path, sizeof path, "%s/run/geometry.csv", tmp);
    FILE *f = fopen(path, "a");
    cr_assert_not_null(f);
    for (int s = 0; s <= 100; s += 50) {
        double e = s == 100 ? 1.5 : 0.01 * (s + 1); /* broken at step 100 */
        fprintf(f, "%d,out,hier_grad,%g\n%d,out,hier_spectral,%g\n%d,out,hier_bound,%g\n", s, 0.5,
                s, 2.0 + s, s, 4.0);
        if (s != 50) fprintf(f, "%d,fc1,hier_spectral,%g\n", s, 3.0 + s);
        fprintf(f, "%d,tok,hier_grad,%g\n%d,tok,hier_bound,%g\n%d,tok,hier_bound_ratio,%g\n", s, e,
                s, 1.0, s, e);
        fprintf(f, "%d,model,hier_ratio_measured,%g\n%d,model,hier_ratio_bound,%g\n", s, 2 * e, s,
                0.25);
    }
    fclose(f);
    int st = modgrad("plot '%s/run'", tmp);
    cr_assert_eq(st, 0, "exit %d:\n%s", st, output());
    assert_picture("hierarchy");
    static double rows[HIER_MAX][HIER_NCOLS + 1];
    cr_assert_eq(read_hierarchy(rows), 3);
    for (int i = 0; i < 3; i++) {
        double s = 50.0 * i, e = i == 2 ? 1.5 : 0.01 * (s + 1);
        cr_assert_eq(rows[i][0], s);
        cr_assert_float_eq(rows[i][1], 2 * e, 1e-9);
        cr_assert_float_eq(rows[i][2], 0.25, 1e-12);
        cr_assert_float_eq(rows[i][3], e, 1e-9);
        cr_assert_float_eq(rows[i][6], 0.5, 1e-12); /* the classifier's gradient */
        cr_assert_float_eq(rows[i][8], 2 + s, 1e-9);
        cr_assert(i == 1 ? isnan(rows[i][9]) : rows[i][9] == 3 + s, "step %g: |W|_2 %g", s,
                  rows[i][9]);
        cr_assert(isnan(rows[i][10]) && isnan(rows[i][11]), "absent rows are not NaN");
    }
    cr_assert(strstr(output(), "embedding's gradient exceeds its bound (ratio 1.5 at step 100)"),
              "no note about the broken bound:\n%s", output());
    cr_assert_eq(count_text("data/hierarchy.gp", "(embedding, max 1.5)"), 2);
}

/* A summary's representation clock: a gap with three fired thresholds, one
 * of them at step 0 (no ln T), is drawn with its line; one with a single
 * fired threshold is named "not reached" and draws nothing. */
Test(plot, clocks_draws_the_gaps_that_fired_twice) {
    make_run_dir();
    write_full_run();
    FILE *f = create("run/summary.json");
    fprintf(f, "{\"t_fit\": 100, \"t_grok\": 280, \"embed_layer\": \"embed\",\n"
               " \"classifier_layer\": \"classifier\",\n"
               " \"two_clocks\": {\"t_cls\": {\"1e-01\": 0, \"1e-02\": 40, \"1e-03\": 90, "
               "\"1e-04\": null},\n"
               "  \"t_cls_fit\": {\"slope\": 19.5, \"intercept\": -46, \"r2\": 0.99, "
               "\"points\": 3},\n"
               "  \"rep\": {\"srank_gap_embed\": {\"t_rep\": {\"5e-01\": 0, \"2e-01\": 150, "
               "\"1e-01\": 300, \"5e-02\": null},\n"
               "     \"fit_loglog\": {\"slope\": 0.75, \"intercept\": 4.3, \"r2\": 1, "
               "\"points\": 2}},\n"
               "   \"s_sep\": {\"t_rep\": {\"5e-01\": 200, \"2e-01\": null},\n"
               "     \"fit_loglog\": {\"slope\": null, \"intercept\": null, \"r2\": null, "
               "\"points\": 1}}}}}\n");
    fclose(f);
    int st = modgrad("plot '%s/run'", tmp);
    cr_assert_eq(st, 0, "exit %d:\n%s", st, output());
    assert_picture("clocks");
    cr_assert_eq(count_lines("data/clocks_cls.dat"), 3);
    cr_assert_eq(count_lines("data/clocks_rep_srank_gap_embed.dat"), 2);
    cr_assert_eq(count_lines("data/clocks_rep_srank_gap_embed_fit.dat"), 2);
    cr_assert(!exists("data/clocks_rep_s_sep.dat"), "a gap with one point was drawn");
    cr_assert_eq(count_text("data/clocks.gp", "s_sep: not reached"), 2);
    cr_assert_eq(count_text("data/clocks.gp", "srank_gap_embed: slope 0.75, R^2 = 1.000"), 2);
    /* The line's ends: ln T = 4.3 + 0.75 ln(1/eta) at eta = 0.2 and 0.1. */
    char path[512];
    snprintf(path, sizeof path, "%s/run/plots/data/clocks_rep_srank_gap_embed_fit.dat", tmp);
    f = fopen(path, "r");
    cr_assert_not_null(f);
    char line[256];
    double x[2], y[2];
    int k = 0;
    while (k < 2 && fgets(line, sizeof line, f))
        if (line[0] != '#' && sscanf(line, "%lf %lf", &x[k], &y[k]) == 2) k++;
    fclose(f);
    cr_assert_eq(k, 2);
    cr_assert_float_eq(x[0], log(5.0), 1e-6);
    cr_assert_float_eq(y[1], 4.3 + 0.75 * log(10.0), 1e-6);
}

/* The value of geometry.csv's row (step, layer, metric) by its text; NAN if absent. */
static double geometry_cell(long step, const char *layer, const char *metric) {
    char path[512], line[4096], want[256];
    snprintf(path, sizeof path, "%s/run/geometry.csv", tmp);
    snprintf(want, sizeof want, "%ld,%s,%s,", step, layer, metric);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s is missing", path);
    double v = NAN;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, want, strlen(want))) v = strtod(line + strlen(want), NULL);
    fclose(f);
    return v;
}

/* The progress picture of a real run: a line per geometry step whose values
 * are geometry.csv's, a file per key frequency of the last step holding every
 * step at which it was a key, the losses of metrics.csv, three panels. */
static void check_progress(const char *model, const char *size) {
    train("--model %s %s --p 23 --frac 0.5 --threads 1 --steps 200 --eval-every 20 "
          "--geometry-every 20",
          model, size);
    plot();
    assert_picture("progress");
    const int steps = count_geometry("progress", "n_keys");
    cr_assert_eq(steps, 11, "%s: %d steps with progress rows", model, steps);
    cr_assert_eq(count_lines("data/progress.dat"), steps);
    char path[512];
    snprintf(path, sizeof path, "%s/run/plots/data/progress.dat", tmp);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    char line[4096];
    static const char *const metric[] = {"restricted_loss", "excluded_loss", "periodicity",
                                         "n_keys"};
    int rows = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#') continue;
        double v[5];
        cr_assert_eq(sscanf(line, "%lf %lf %lf %lf %lf", &v[0], &v[1], &v[2], &v[3], &v[4]), 5,
                     "%s", line);
        const long step = 20L * rows++;
        cr_assert_eq(v[0], step < 1 ? 1.0 : (double)step, "%s", line);
        for (int k = 0; k < 4; k++) {
            double want = geometry_cell(step, "progress", metric[k]);
            cr_assert_float_eq(v[k + 1], want, 1e-8 * fabs(want), "step %ld %s: %.9g vs %.9g", step,
                               metric[k], v[k + 1], want);
        }
    }
    fclose(f);
    const int nk = (int)geometry_cell(200, "progress", "n_keys");
    cr_assert(nk >= 1 && nk <= 11, "%d keys", nk);
    int files = 0;
    for (int k = 1; k <= 11; k++) {
        char name[64], m[48];
        snprintf(name, sizeof name, "data/progress_k%d.dat", k);
        snprintf(m, sizeof m, "excluded_loss_k%d", k);
        if (!isfinite(geometry_cell(200, "progress", m))) {
            cr_assert(!exists(name), "%s written for a frequency not key at the end", name);
            continue;
        }
        if (!exists(name)) { /* only the first 8 keys are drawn */
            cr_assert_gt(nk, 8, "%s missing", name);
            continue;
        }
        files++;
        cr_assert_eq(count_lines(name), count_geometry("progress", m), "%s", name);
        cr_assert_gt(count_text("data/progress.gp", name), 0, "%s is not drawn", name);
    }
    cr_assert_eq(files, nk < 8 ? nk : 8);
    cr_assert_eq(count_lines("data/progress_loss.dat"), 11);
    cr_assert_eq(count_text("data/progress.gp", "plot '"), 6); /* three panels, two terminals */
}

Test(plot, progress_of_a_real_mlp_run) { check_progress("mlp", "--d 32 --width 64"); }
Test(plot, progress_of_a_real_transformer_run) {
    check_progress("transformer", "--d-model 32 --d-mlp 64");
}

Test(plot, no_progress_picture_without_its_rows) {
    train("--model mlp --task sub --p 11 --d 16 --width 32 --threads 1 --steps 40 "
          "--geometry-every 20");
    plot();
    cr_assert(!exists("progress.png") && !exists("data/progress.dat"),
              "a progress picture without progress rows");
    cr_assert(!strstr(output(), "progress"), "a note about the progress measures:\n%s", output());
}
