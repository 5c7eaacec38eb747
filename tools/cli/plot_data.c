/* plot_data.c — `modgrad plot`'s reading side and gnuplot driver: the run
 * directory (summary.json, config.json, the CSVs), the data files extracted
 * from the long-format CSVs into RUN/plots/data, and running gnuplot on a
 * picture's script. See plot.h. */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "core/alloc.h"
#include "core/fsutil.h"
#include "models/harness/rundir.h"
#include "models/modular.h"
#include "tools/cli/cli.h"
#include "tools/cli/plot.h"

const char *const plot_clock_names[3] = {"t_fit", "t_grok", "t_simplify"};
static const char *const clock_colors[3] = {"#2ca02c", "#9467bd", "#8c564b"};

bool plot_find_gnuplot(bool *pngcairo) {
    /* The shell answers 127 when it cannot find the program; gnuplot fails
     * on a terminal it lacks. stdin is /dev/null: gnuplot may otherwise wait
     * on it (listing terminals pages through a "press return" prompt). */
    const char *probe = "gnuplot -e 'set terminal pngcairo' </dev/null >/dev/null 2>&1";
    int st = system(probe);
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) == 127 || WEXITSTATUS(st) == 126)
        return false;
    *pngcairo = WEXITSTATUS(st) == 0;
    return true;
}

/* ---- the run ------------------------------------------------------------------ */

static cJSON *read_json(const char *dir, const char *name) {
    char path[8192], *text = NULL;
    size_t n;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (!mg_path_exists(path) || mg_read_file(path, &text, &n)) return NULL;
    cJSON *j = cJSON_Parse(text);
    mg_free(text);
    if (!j) cli_error("note: %s is not valid JSON; plotting without it", path);
    return j;
}

static double json_num(const cJSON *o, const char *key) {
    const cJSON *v = o ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static bool json_str(const cJSON *o, const char *key, char *out, size_t n) {
    const cJSON *v = o ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
    if (!cJSON_IsString(v) || !v->valuestring[0]) return false;
    snprintf(out, n, "%s", v->valuestring);
    return true;
}

int plot_open(plot_run *r, const char *run) {
    memset(r, 0, sizeof *r);
    size_t len = strlen(run);
    while (len > 1 && run[len - 1] == '/') len--;
    snprintf(r->dir, sizeof r->dir, "%.*s", (int)len, run);
    const char *dir = r->dir;
    struct stat sb;
    if (stat(dir, &sb) || !S_ISDIR(sb.st_mode)) {
        cli_error("plot: no run directory '%s'", run);
        return MG_EXIT_USAGE;
    }
    char path[8192];
    snprintf(path, sizeof path, "%s/" MG_RUN_METRICS, dir);
    if (!mg_path_exists(path)) {
        cli_error("plot: '%s' has no " MG_RUN_METRICS
                  "; is it a run directory (modgrad train --out)?",
                  run);
        return MG_EXIT_USAGE;
    }
    /* The run's name for titles: the last component of its real path. */
    char *real = realpath(dir, NULL);
    const char *base = real ? strrchr(real, '/') : NULL;
    snprintf(r->name, sizeof r->name, "%.255s", base && base[1] ? base + 1 : dir);
    free(real);

    cJSON *sum = read_json(dir, MG_RUN_SUMMARY), *cfg = read_json(dir, MG_RUN_CONFIG);
    for (int i = 0; i < 3; i++) r->clock[i] = json_num(sum, plot_clock_names[i]);
    r->layers_given = json_str(sum, "embed_layer", r->embed, sizeof r->embed);
    r->layers_given &= json_str(sum, "classifier_layer", r->classifier, sizeof r->classifier);
    if (!r->layers_given) {
        snprintf(r->embed, sizeof r->embed, "embed");
        snprintf(r->classifier, sizeof r->classifier, "classifier");
    }
    /* top_frequency is keyed "embed"/"classifier" (or by the layers' names). */
    const cJSON *top = sum ? cJSON_GetObjectItemCaseSensitive(sum, "top_frequency") : NULL;
    const char *keys[2][2] = {{"embed", r->embed}, {"classifier", r->classifier}};
    for (int i = 0; i < 2; i++) {
        double k = json_num(top, keys[i][0]);
        if (isnan(k)) k = json_num(top, keys[i][1]);
        /* out of range (a hand-edited summary): as if absent, refitted below */
        r->top[i] = k >= 1 && k < MG_TASK_P_MAX ? (int)k : 0;
    }
    if (!json_str(sum, "model", r->model, sizeof r->model)) json_str(cfg, "model", r->model, 64);
    json_str(cfg, "task", r->task, sizeof r->task);
    double p = json_num(cfg, "p");
    /* p bounds the circle picture's work (a fit over p frequencies of p
     * residues when summary.json names no top frequency): a p no task
     * accepts is refused, not looped over. */
    bool bad_p = !isnan(p) && !(p >= 0 && p <= MG_TASK_P_MAX && p == floor(p));
    r->p = isnan(p) || bad_p ? 0 : (int)p;
    /* a sequence task (markers, marker-mul) takes its labels mod --classes,
     * and config.json's p is then only the unused default */
    const cJSON *opts = cfg ? cJSON_GetObjectItemCaseSensitive(cfg, "task_options") : NULL;
    double classes = json_num(opts, "classes");
    r->modulus =
        classes >= 2 && classes <= MG_TASK_P_MAX && classes == floor(classes) ? (int)classes : r->p;
    cJSON_Delete(sum);
    cJSON_Delete(cfg);
    if (bad_p) {
        cli_error("plot: %s/" MG_RUN_CONFIG ": \"p\" must be a whole number from 2 to %d, got %g",
                  dir, MG_TASK_P_MAX, p);
        return MG_EXIT_USAGE;
    }

    snprintf(r->plots, sizeof r->plots, "%s/" MG_RUN_PLOTS, dir);
    snprintf(path, sizeof path, "%s/data", r->plots);
    if (mg_mkdir_p(path)) {
        cli_error("plot: %s", mg_errmsg());
        return MG_EXIT_FAIL;
    }
    return MG_EXIT_OK;
}

void plot_close(plot_run *r) {
    for (int i = 0; i < r->nwritten; i++) free(r->written[i]);
    r->nwritten = 0;
}

mg_csv *plot_csv(plot_run *r, const char *name, int ncols, const char *const *cols,
                 const char *what) {
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", r->dir, name);
    if (!mg_path_exists(path)) {
        cli_error("note: %s has no %s (an older run?); skipping %s", r->dir, name, what);
        return NULL;
    }
    mg_csv *c = NULL;
    if (mg_csv_read(path, &c)) {
        cli_error("plot: %s; skipping %s", mg_errmsg(), what);
        r->status = MG_EXIT_USAGE;
        return NULL;
    }
    for (int i = 0; i < ncols; i++)
        if (mg_csv_col(c, cols[i]) < 0) {
            cli_error("plot: %s has no column '%s'; skipping %s", path, cols[i], what);
            r->status = MG_EXIT_USAGE;
            mg_csv_free(c);
            return NULL;
        }
    return c;
}

mg_csv *plot_csv_if(plot_run *r, const char *name, int ncols, const char *const *cols,
                    const char *what) {
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", r->dir, name);
    return mg_path_exists(path) ? plot_csv(r, name, ncols, cols, what) : NULL;
}

mg_csv *plot_geometry(plot_run *r, const char *what, bool quiet) {
    const char *cols[] = {MG_COL(geometry, step), MG_COL(geometry, layer), MG_COL(geometry, metric),
                          MG_COL(geometry, value)};
    return (quiet ? plot_csv_if : plot_csv)(r, MG_RUN_GEOMETRY, 4, cols, what);
}

bool plot_has(const char *const *names, int n, const char *s) {
    for (int i = 0; i < n; i++)
        if (!strcmp(names[i], s)) return true;
    return false;
}

int plot_distinct(const mg_csv *c, int col, const char **out, int max) {
    int n = 0;
    for (size_t row = 0; row < c->nrows; row++) {
        const char *s = mg_csv_str(c, row, col);
        if (n < max && !plot_has(out, n, s)) out[n++] = s;
    }
    return n;
}

int plot_distinct_copy(const mg_csv *c, int col, char (*out)[64], int max) {
    int n = 0;
    for (size_t row = 0; row < c->nrows && n < max; row++) {
        const char *s = mg_csv_str(c, row, col);
        bool seen = false;
        for (int i = 0; i < n && !seen; i++) seen = !strcmp(out[i], s);
        if (!seen) snprintf(out[n++], sizeof out[0], "%s", s);
    }
    return n;
}

const char *plot_color(int i) {
    static const char *const c[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e",
                                    "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"};
    return c[(i % 10 + 10) % 10];
}

void plot_guess_layers(plot_run *r, const char *const *names, int n) {
    if (r->layers_given || n == 0) return;
    if (!plot_has(names, n, r->embed)) snprintf(r->embed, sizeof r->embed, "%s", names[0]);
    const char *cls[] = {"classifier", "unembed", "out"};
    for (int i = 0; i < 3; i++)
        if (plot_has(names, n, cls[i])) {
            snprintf(r->classifier, sizeof r->classifier, "%s", cls[i]);
            return;
        }
    snprintf(r->classifier, sizeof r->classifier, "%s", names[n - 1]);
}

/* ---- layers ---------------------------------------------------------------------- */

/* The embedding's and the classifier's rows of a per-layer file, in that order. */
int plot_main_layers(const plot_run *r, const char *const *names, int n, const char **out) {
    int k = 0;
    if (plot_has(names, n, r->embed)) out[k++] = r->embed;
    if (plot_has(names, n, r->classifier) && strcmp(r->embed, r->classifier))
        out[k++] = r->classifier;
    return k;
}

/* "embedding", or "embedding (name)" when the layer has an unusual name. */
const char *plot_role(const plot_run *r, const char *layer, char *buf, size_t n) {
    bool emb = !strcmp(layer, r->embed);
    const char *what = emb ? "embedding" : "classifier", *usual = emb ? "embed" : "classifier";
    if (strcmp(layer, usual)) snprintf(buf, n, "%s (%s)", what, layer);
    else snprintf(buf, n, "%s", what);
    return buf;
}

/* ---- data files ----------------------------------------------------------------- */

void plot_range_init(plot_range *g) { *g = (plot_range){0, INFINITY, -INFINITY, 1}; }

bool plot_range_log(const plot_range *g) { return g->n && isfinite(g->lo) && g->hi > 30 * g->lo; }

void plot_data_name(char *out, size_t n, const char *prefix, const char *layer,
                    const char *suffix) {
    int k = snprintf(out, n, "data/%s", prefix);
    for (const char *s = layer; *s && k + 1 < (int)n; s++)
        out[k++] = isalnum((unsigned char)*s) || strchr("._-", *s) ? *s : '_';
    out[k] = 0;
    snprintf(out + k, n - (size_t)k, "%s", suffix);
}

double plot_x(double step) { return step < 1 ? 1 : step; }

FILE *plot_data_open(plot_run *r, const char *file) {
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", r->plots, file);
    FILE *f = fopen(path, "w");
    if (!f) {
        cli_error("plot: cannot write %s", path);
        r->status = MG_EXIT_FAIL;
    }
    return f;
}

size_t plot_series(plot_run *r, const char *file, const mg_csv *c, int k1, const char *v1, int k2,
                   const char *v2, int nv, const int *vcols, plot_range *g) {
    FILE *f = NULL;
    size_t n = 0;
    int step = mg_csv_col(c, MG_COL(metrics, step)); /* every series file names it so */
    for (size_t row = 0; row < c->nrows; row++) {
        if (strcmp(mg_csv_str(c, row, k1), v1)) continue;
        if (k2 >= 0 && strcmp(mg_csv_str(c, row, k2), v2)) continue;
        if (!f && !(f = plot_data_open(r, file))) return 0;
        double x = plot_x(mg_csv_num(c, row, step));
        fprintf(f, "%.9g", x);
        for (int i = 0; i < nv; i++) {
            double v = mg_csv_num(c, row, vcols[i]);
            fprintf(f, isfinite(v) ? " %.9g" : " NaN", v);
            if (g && isfinite(v)) {
                g->n++;
                if (v > 0 && v < g->lo) g->lo = v;
                if (v > g->hi) g->hi = v;
                if (x > g->xmax) g->xmax = x;
            }
        }
        fputc('\n', f);
        n++;
    }
    if (f && fclose(f)) {
        cli_error("plot: writing %s/%s failed", r->plots, file);
        r->status = MG_EXIT_FAIL;
    }
    return n;
}

/* ---- gnuplot ---------------------------------------------------------------------- */

void plot_quote(FILE *s, const char *text) {
    fputc('\'', s);
    for (; *text; text++) {
        if (*text == '\'') fputc('\'', s);
        if (*text != '\n') fputc(*text, s);
    }
    fputc('\'', s);
}

void plot_clocks(FILE *s, const plot_run *r, bool labels) {
    fprintf(s, "unset arrow\nunset label\n");
    for (int i = 0; i < 3; i++) {
        double x = plot_x(r->clock[i]);
        if (isnan(r->clock[i]) || x > r->xmax) continue;
        fprintf(s,
                "set arrow from first %.9g, graph 0 to first %.9g, graph 1 nohead dt 2 lw 1.5 "
                "lc rgb '%s' back\n",
                x, x, clock_colors[i]);
        /* Right of the line, or left of it near the axis's right end. */
        double at = r->xlinear ? x / r->xmax : log(x) / log(r->xmax);
        bool left = r->xmax > 1 && at > 0.8;
        if (labels)
            fprintf(s,
                    "set label '%s = %.0f' at first %.9g, graph 1 offset %s,%d %s front "
                    "tc rgb '%s' font ',9' boxed\n",
                    plot_clock_names[i], r->clock[i], x, left ? "-0.4" : "0.4", -1 - i,
                    left ? "right" : "left", clock_colors[i]);
    }
}

void plot_clock_legend(FILE *s, const plot_run *r) {
    for (int i = 0; i < 3; i++)
        if (!isnan(r->clock[i]) && plot_x(r->clock[i]) <= r->xmax)
            fprintf(s,
                    "set label 'dashed: %s = %.0f' at screen %.2f, screen 0.93 center "
                    "tc rgb '%s' font ',10'\n",
                    plot_clock_names[i], r->clock[i], 0.3 + 0.2 * i, clock_colors[i]);
}

static void terminal(FILE *s, const plot_run *r, const char *kind, const char *name, int w, int h) {
    bool svg = !strcmp(kind, "svg");
    fprintf(s, "set terminal %s size %d,%d noenhanced %s background rgb 'white'\n",
            svg           ? "svg"
            : r->pngcairo ? "pngcairo"
                          : "png",
            w, h, svg || r->pngcairo ? "font 'DejaVu Sans,11'" : "");
    fprintf(s, "set output '%s.%s'\n", name, svg ? "svg" : "png");
}

bool plot_render(plot_run *r, const char *name, int w, int h, const char *body) {
    char *script = NULL;
    size_t len = 0;
    FILE *s = open_memstream(&script, &len);
    if (!s) {
        cli_error("plot: out of memory");
        r->status = MG_EXIT_FAIL;
        return false;
    }
    fprintf(s, "# %s.gp: written by `modgrad plot`; from RUN/plots: gnuplot data/%s.gp\n", name,
            name);
    terminal(s, r, "png", name, w, h);
    fprintf(s, "%s\nunset output\n", body);
    terminal(s, r, "svg", name, w, h);
    fprintf(s, "%s\nunset output\n", body);
    fclose(s);

    char file[512], path[8192];
    bool ok = true;
    snprintf(file, sizeof file, "data/%s.gp", name);
    FILE *f = plot_data_open(r, file);
    if (f) {
        fputs(script, f);
        if (fclose(f)) cli_error("plot: writing %s/%s failed", r->plots, file);
    }
    const char *ext[2] = {"png", "svg"};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s.%s", r->plots, name, ext[i]);
        remove(path); /* a stale picture must not pass for a new one */
    }
    FILE *g = popen("gnuplot", "w");
    if (!g) {
        cli_error("plot: cannot run gnuplot (install gnuplot-nox)");
        r->status = MG_EXIT_FAIL;
        free(script);
        return false;
    }
    fputs("cd ", g);
    plot_quote(g, r->plots);
    fprintf(g, "\n%s", script);
    int st = pclose(g);
    free(script);
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        cli_error("plot: gnuplot failed drawing %s (its script: %s/data/%s.gp)", name, r->plots,
                  name);
        ok = false;
    }
    for (int i = 0; ok && i < 2; i++) {
        struct stat sb;
        snprintf(path, sizeof path, "%s/%s.%s", r->plots, name, ext[i]);
        if (stat(path, &sb) || sb.st_size == 0) {
            cli_error("plot: gnuplot wrote no %s", path);
            ok = false;
        } else if (r->nwritten < PLOT_MAX_WRITTEN) {
            r->written[r->nwritten++] = strdup(path);
        }
    }
    if (!ok) r->status = MG_EXIT_FAIL;
    return ok;
}

/* ---- picture helpers ---------------------------------------------------------- */

/* Sets up a picture: reset, common style, and the multiplot with its title
 * ("WHAT - RUN: model, task mod p"). */
void plot_begin(FILE *s, const plot_run *r, const char *what, const char *layout) {
    fprintf(s, "reset\nset grid lc rgb '#e0e0e0'\nset border lc rgb '#444444'\n"
               "set key opaque box lc rgb '#cccccc' font ',9' samplen 2\n"
               "set style textbox opaque noborder\n"
               "set style data lines\n");
    char t[512];
    int k = snprintf(t, sizeof t, "%s - %s", what, r->name);
    /* the model, unless the run's name already says it ("mlp-p97") */
    if (r->model[0] && !strstr(r->name, r->model))
        k += snprintf(t + k, sizeof t - (size_t)k, ": %s", r->model);
    if (r->modulus)
        k += snprintf(t + k, sizeof t - (size_t)k, ", %s mod %d", r->task[0] ? r->task : "",
                      r->modulus);
    fputs("set multiplot ", s);
    if (layout) fprintf(s, "layout %s ", layout);
    fputs("title ", s);
    plot_quote(s, t);
    /* 13 points fit about 90 characters across the pictures' 1,000 pixels; a
     * longer title (a sweep's run name) gets smaller rather than cut off */
    size_t len = strlen(t);
    fprintf(s, " font ',%d'\n", len <= 90 ? 13 : (int)fmax(9, floor(13.0 * 90 / (double)len)));
}

/* Panel i of n stacked between screen heights top and bottom. */
void plot_stack(FILE *s, int i, int n, double top, double bottom) {
    double gap = 0.025, h = (top - bottom - gap * (n - 1)) / n, t = top - i * (h + gap);
    fprintf(s, "set tmargin at screen %.4f\nset bmargin at screen %.4f\n", t, t - h);
    if (i == n - 1) fprintf(s, "set format x '%%g'\nset xlabel 'step (log; step 0 at 1)'\n");
    else fprintf(s, "set format x ''\nunset xlabel\n");
}

void plot_step_axis(FILE *s, plot_run *r, double xmax) {
    r->xmax = xmax > 1 ? xmax : 10;
    r->xlinear = false;
    fprintf(s, "set logscale x\nset xrange [1:%.9g]\nset mxtics 10\n", xmax > 1 ? xmax : 10);
}

void plot_headroom(FILE *s, const plot_range *g) {
    if (!g->n || !isfinite(g->lo) || !(g->hi > 0)) {
        fputs("set yrange [0.1:10]\n", s); /* no positive value: an empty panel, not a failure */
        return;
    }
    double lo = floor(log10(g->lo)), hi = log10(g->hi), top = ceil(hi + 0.25 * (hi - lo));
    if (top <= hi) top = hi + 1;
    fprintf(s, "set yrange [1e%d:1e%d]\n", (int)lo, (int)top);
}

void plot_yscale(FILE *s, bool log) {
    fprintf(s, log ? "set logscale y\nset format y '%%g'\n" : "unset logscale y\n");
}

FILE *plot_body_open(plot_body *b) {
    b->buf = NULL;
    b->f = open_memstream(&b->buf, &b->len);
    if (!b->f) cli_error("plot: out of memory");
    return b->f;
}

/* Closes the body and draws it. */
void plot_draw(plot_run *r, plot_body *b, const char *name, int w, int h) {
    fputs("unset multiplot\n", b->f);
    fclose(b->f);
    plot_render(r, name, w, h, b->buf);
    free(b->buf);
}
