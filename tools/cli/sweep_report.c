/* sweep_report.c — the reports of a sweep's runs.csv (sweep_report.h): the
 * loading of the table, the aligned text tables, the seeds report, the MLP
 * against attention report with its bar charts, and the entry point. The
 * λ_crit report is in sweep_lambda.c. */
#include "tools/cli/sweep_report.h"

#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "analysis/sweep_stats.h"
#include "core/fsutil.h"
#include "tools/cli/cli.h"

/* ---- the table ------------------------------------------------------------------ */

int report_axis(const report *r, const char *name) {
    for (int a = 0; a < r->n_axes; a++)
        if (!strcmp(r->t.cols[r->axis[a]], name)) return r->axis[a];
    return -1;
}

double report_num(const report *r, int64_t row, const char *col) {
    double v;
    return mg_sweep_table_num(&r->t, row, mg_sweep_table_col(&r->t, col), &v) ? v : NAN;
}

const char *report_str(const report *r, int64_t row, const char *col) {
    return mg_sweep_table_cell(&r->t, row, mg_sweep_table_col(&r->t, col));
}

int report_groups(const report *r, const int *cols, int n, report_group **out) {
    report_group *g = NULL;
    int ng = 0;
    for (int64_t row = 0; row < r->t.n_rows; row++) {
        if (!r->usable[row]) continue;
        char key[512] = "";
        size_t k = 0;
        for (int i = 0; i < n && k < sizeof key; i++)
            k += (size_t)snprintf(key + k, sizeof key - k, "%s%s=%s", i ? ", " : "",
                                  r->t.cols[cols[i]], mg_sweep_table_cell(&r->t, row, cols[i]));
        int j = 0;
        while (j < ng && strcmp(g[j].key, key)) j++;
        if (j == ng) {
            g = realloc(g, (size_t)(ng + 1) * sizeof *g);
            g[ng] = (report_group){.n = 0};
            g[ng].rows = malloc((size_t)r->t.n_rows * sizeof *g[ng].rows);
            snprintf(g[ng].key, sizeof g[ng].key, "%s", key);
            ng++;
        }
        g[j].rows[g[j].n++] = row;
    }
    *out = g;
    return ng;
}

void report_groups_free(report_group *g, int n) {
    for (int i = 0; i < n; i++) free(g[i].rows);
    free(g);
}

void report_left_out(const report *r, const char *what, const bool *extra, const char *why) {
    /* one line per status, in the order met, naming every run */
    const char *seen[64];
    int ns = 0;
    for (int64_t row = 0; row < r->t.n_rows; row++) {
        const char *st = r->usable[row] ? (extra && extra[row] ? why : NULL)
                                        : mg_sweep_table_cell(&r->t, row, r->c_status);
        if (!st) continue;
        if (!st[0]) st = "no status";
        int j = 0;
        while (j < ns && strcmp(seen[j], st)) j++;
        if (j < ns || ns == 64) continue;
        seen[ns++] = st;
        int64_t count = 0;
        for (int64_t q = row; q < r->t.n_rows; q++) {
            const char *sq = r->usable[q] ? (extra && extra[q] ? why : NULL)
                                          : mg_sweep_table_cell(&r->t, q, r->c_status);
            if (sq && !strcmp(sq[0] ? sq : "no status", st)) count++;
        }
        printf("  left out of %s: %lld %s:", what, (long long)count, st);
        for (int64_t q = row; q < r->t.n_rows; q++) {
            const char *sq = r->usable[q] ? (extra && extra[q] ? why : NULL)
                                          : mg_sweep_table_cell(&r->t, q, r->c_status);
            if (sq && !strcmp(sq[0] ? sq : "no status", st))
                printf(" %s", mg_sweep_table_cell(&r->t, q, r->c_run));
        }
        printf("\n");
    }
}

/* ---- text tables -------------------------------------------------------------------- */

void report_table_init(report_table *t, int nc) { *t = (report_table){.nc = nc}; }

void report_table_row(report_table *t) {
    if (t->nr == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 16;
        t->cells = realloc(t->cells, (size_t)t->cap * (size_t)t->nc * sizeof *t->cells);
    }
    for (int c = 0; c < t->nc; c++) t->cells[t->nr * t->nc + c] = NULL;
    t->nr++;
}

void report_table_set(report_table *t, int c, const char *fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char **cell = &t->cells[(t->nr - 1) * t->nc + c];
    free(*cell);
    *cell = strdup(buf);
}

/* Characters, not bytes: UTF-8 continuation bytes do not count. */
static int width(const char *s) {
    int w = 0;
    for (; s && *s; s++) w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

void report_table_print(const report_table *t, int indent) {
    int w[64] = {0};
    for (int r = 0; r < t->nr; r++)
        for (int c = 0; c < t->nc && c < 64; c++) {
            int x = width(t->cells[r * t->nc + c]);
            w[c] = x > w[c] ? x : w[c];
        }
    char *line = NULL;
    size_t cap = 0;
    for (int r = 0; r < t->nr; r++) {
        FILE *f = open_memstream(&line, &cap);
        if (!f) return;
        fprintf(f, "%*s", indent, "");
        for (int c = 0; c < t->nc && c < 64; c++) {
            const char *s = t->cells[r * t->nc + c] ? t->cells[r * t->nc + c] : "";
            fprintf(f, "%s%s%*s", c ? "  " : "", s, w[c] - width(s), "");
        }
        fclose(f);
        size_t n = strlen(line);
        while (n && line[n - 1] == ' ') n--; /* no trailing blanks */
        printf("%.*s\n", (int)n, line);
        free(line);
        line = NULL;
    }
}

void report_table_free(report_table *t) {
    for (int i = 0; i < t->nr * t->nc; i++) free(t->cells[i]);
    free(t->cells);
    t->cells = NULL;
}

void report_number(char *buf, size_t n, double v) {
    if (!isfinite(v)) snprintf(buf, n, "-");
    else if (fabs(v) < 1e6 && (fabs(v) >= 100 || v == floor(v))) snprintf(buf, n, "%.0f", v);
    else snprintf(buf, n, "%.3g", v);
}

void report_mean_std(char *buf, size_t n, const double *x, int64_t m) {
    mg_sweep_stats_summary s = mg_sweep_stats_summarize(x, m);
    char a[32], b[32];
    if (s.count == 0) snprintf(buf, n, "-");
    else if (s.count == 1) report_number(a, sizeof a, s.mean), snprintf(buf, n, "%s (1)", a);
    else {
        report_number(a, sizeof a, s.mean);
        report_number(b, sizeof b, s.std);
        snprintf(buf, n, "%s ± %s (%lld)", a, b, (long long)s.count);
    }
}

/* ---- the headline numbers ---------------------------------------------------------- */

static const struct {
    const char *label, *col;
} headline[] = {
    {"t_fit", "t_fit"},
    {"t_grok", "t_grok"},
    {"t_simplify", "t_simplify"},
    {"lead, displacement", "lead.displacement.lead_steps"},
    {"lead, structure", "lead.structure.lead_steps"},
    {"cum. update ratio", "lead.cumulative_update_ratio"},
    {"lead, displ. to final", "lead.displacement_final.lead_steps"},
    {"lead, struct. to final", "lead.structure_final.lead_steps"},
    {"key freqs", "geometry.embed_n_key"},
    {"concentration", "fourier_concentration.embed"},
    {"NC1", "collapse.nc1"},
};
#define N_HEADLINE (int)(sizeof headline / sizeof *headline)

void report_metric_cell(const report *r, const report_group *g, const char *col, char *buf,
                        size_t n) {
    double *x = malloc((size_t)(g->n ? g->n : 1) * sizeof *x);
    for (int64_t i = 0; i < g->n; i++) x[i] = report_num(r, g->rows[i], col);
    report_mean_std(buf, n, x, g->n);
    free(x);
}

void report_seed_table(report *r, const char *heading, const char *what, int nrows,
                       const char *(*label)(int m),
                       double (*value)(const report *r, int64_t row, int m)) {
    int cols[MG_SWEEP_MAX_AXES], n = 0, seed = report_axis(r, "seed");
    for (int a = 0; a < r->n_axes; a++)
        if (r->axis[a] != seed) cols[n++] = r->axis[a];
    report_group *g;
    int ng = report_groups(r, cols, n, &g);
    printf("\n%s\n", heading);
    report_table t;
    report_table_init(&t, ng + 1);
    report_table_row(&t);
    report_table_set(&t, 0, "%s", "");
    for (int j = 0; j < ng; j++) report_table_set(&t, j + 1, "%s", n ? g[j].key : "(all)");
    char buf[128];
    for (int m = 0; m < nrows; m++) {
        bool any = false;
        for (int j = 0; j < ng && !any; j++)
            for (int64_t i = 0; i < g[j].n && !any; i++) any = isfinite(value(r, g[j].rows[i], m));
        if (!any) continue; /* a quantity no run of this grid has */
        report_table_row(&t);
        report_table_set(&t, 0, "%s", label(m));
        for (int j = 0; j < ng; j++) {
            double *x = malloc((size_t)(g[j].n ? g[j].n : 1) * sizeof *x);
            for (int64_t i = 0; i < g[j].n; i++) x[i] = value(r, g[j].rows[i], m);
            report_mean_std(buf, sizeof buf, x, g[j].n);
            free(x);
            report_table_set(&t, j + 1, "%s", buf);
        }
    }
    report_table_print(&t, 2);
    report_table_free(&t);
    if (!ng) printf("  (no finished run)\n");
    report_left_out(r, what, NULL, NULL);
    report_groups_free(g, ng);
}

static int64_t n_cyclic(const report *r, const report_group *g) {
    int64_t k = 0;
    for (int64_t i = 0; i < g->n; i++)
        k += !strcmp(report_str(r, g->rows[i], "geometry_label"), "cyclic");
    return k;
}

/* ---- seeds ---------------------------------------------------------------------------- */

/* Whether some usable run has a number (show: a non-empty text) in col. */
static bool any_run_has(const report *r, const char *col, bool text) {
    for (int64_t i = 0; i < r->t.n_rows; i++)
        if (r->usable[i] && (text ? *report_str(r, i, col) : isfinite(report_num(r, i, col))))
            return true;
    return false;
}

/* The headline numbers per grid point; a column no finished run has (a
 * sequence task has no Fourier geometry, no geometry label) is left out. */
static void report_seeds(report *r) {
    int cols[MG_SWEEP_MAX_AXES], n = 0, seed = report_axis(r, "seed");
    for (int a = 0; a < r->n_axes; a++)
        if (r->axis[a] != seed) cols[n++] = r->axis[a];
    report_group *g;
    int ng = report_groups(r, cols, n, &g);
    int shown[N_HEADLINE], ns = 0;
    for (int m = 0; m < N_HEADLINE; m++)
        if (any_run_has(r, headline[m].col, false)) shown[ns++] = m;
    const bool cyclic = any_run_has(r, "geometry_label", true);
    printf("\nseeds: mean ± std (n runs with the number) over the seeds of each grid point\n");
    report_table t;
    report_table_init(&t, ns + 2 + cyclic);
    report_table_row(&t);
    report_table_set(&t, 0, "grid point");
    report_table_set(&t, 1, "seeds");
    for (int k = 0; k < ns; k++) report_table_set(&t, k + 2, "%s", headline[shown[k]].label);
    if (cyclic) report_table_set(&t, ns + 2, "cyclic");
    char buf[128];
    for (int j = 0; j < ng; j++) {
        report_table_row(&t);
        report_table_set(&t, 0, "%s", n ? g[j].key : "(all)");
        report_table_set(&t, 1, "%lld", (long long)g[j].n);
        for (int k = 0; k < ns; k++) {
            report_metric_cell(r, &g[j], headline[shown[k]].col, buf, sizeof buf);
            report_table_set(&t, k + 2, "%s", buf);
        }
        if (cyclic)
            report_table_set(&t, ns + 2, "%lld/%lld", (long long)n_cyclic(r, &g[j]),
                             (long long)g[j].n);
    }
    report_table_print(&t, 2);
    report_table_free(&t);
    if (!ng) printf("  (no finished run)\n");
    report_left_out(r, "the seeds table", NULL, NULL);
    report_groups_free(g, ng);
}

/* ---- MLP against attention ------------------------------------------------------------- */

#define MAX_MODELS 8
#define MAX_TASKS 32

static int distinct_models(const report *r, int c_model, const char **out) {
    int n = 0;
    for (int64_t row = 0; row < r->t.n_rows; row++) {
        if (!r->usable[row]) continue;
        const char *m = mg_sweep_table_cell(&r->t, row, c_model);
        int j = 0;
        while (j < n && strcmp(out[j], m)) j++;
        if (j == n && n < MAX_MODELS) out[n++] = m;
    }
    return n;
}

/* The mean of col over the rows of group g whose model is m (NaN if none). */
static mg_sweep_stats_summary model_stat(const report *r, const report_group *g, int c_model,
                                         const char *m, const char *col) {
    double *x = malloc((size_t)(g->n ? g->n : 1) * sizeof *x);
    int64_t k = 0;
    for (int64_t i = 0; i < g->n; i++)
        if (!strcmp(mg_sweep_table_cell(&r->t, g->rows[i], c_model), m))
            x[k++] = report_num(r, g->rows[i], col);
    mg_sweep_stats_summary s = mg_sweep_stats_summarize(x, k);
    free(x);
    return s;
}

static void models_bars(report *r, report_group *g, int ng, int c_model, const char **models,
                        int nm) {
    FILE *f = plot_data_open(&r->pr, "data/models_bars.dat");
    if (!f) return;
    fprintf(f, "# group");
    for (int m = 0; m < nm; m++)
        fprintf(f, " t_grok_mean.%s t_grok_std.%s lead_mean.%s lead_std.%s", models[m], models[m],
                models[m], models[m]);
    fprintf(f, "\n");
    for (int j = 0; j < ng; j++) {
        fprintf(f, "\"%s\"", g[j].key);
        for (int m = 0; m < nm; m++) {
            const char *cols[2] = {"t_grok", "lead.displacement.lead_steps"};
            for (int k = 0; k < 2; k++) {
                mg_sweep_stats_summary s = model_stat(r, &g[j], c_model, models[m], cols[k]);
                fprintf(f, " %.9g %.9g", s.count ? s.mean : NAN, s.count > 1 ? s.std : 0.0);
            }
        }
        fprintf(f, "\n");
    }
    fclose(f);
    plot_body b;
    FILE *s = plot_body_open(&b);
    if (!s) return;
    plot_begin(s, &r->pr, "MLP against attention: mean +- std over seeds", "1,2");
    static const char *colors[MAX_MODELS] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd",
                                             "#ff7f0e", "#8c564b", "#e377c2", "#7f7f7f"};
    const char *ylabel[2] = {"t_grok (steps; test acc >= 99%)",
                             "classifier's lead, displacement (steps)"};
    fprintf(s, "set style data histogram\nset style histogram errorbars gap 1 lw 1\n"
               "set style fill solid 0.8 border -1\nset boxwidth 0.9\nset xtics rotate by -20\n"
               "set key top left\nset yrange [0:*]\n");
    for (int k = 0; k < 2; k++) {
        fputs("set ylabel ", s);
        plot_quote(s, ylabel[k]);
        fputs("\n", s);
        if (k == 1) fprintf(s, "set yrange [*:*]\n");
        fprintf(s, "plot ");
        for (int m = 0; m < nm; m++) {
            int col = 2 + 4 * m + 2 * k;
            fprintf(s, "%s'data/models_bars.dat' u %d:%d%s lc rgb '%s' t ", m ? ", \\\n  " : "",
                    col, col + 1, m ? "" : ":xtic(1)", colors[m]);
            plot_quote(s, models[m]);
        }
        fprintf(s, "\n");
    }
    plot_draw(&r->pr, &b, "models_bars", 1200, 520);
}

/* Who groks first (the smallest mean t_grok over the seeds that grokked),
 * and each model's displacement lead. */
static void who_first(const report *r, const report_group *g, int c_model, const char **models,
                      int nm) {
    int best = -1, second = -1;
    mg_sweep_stats_summary tg[MAX_MODELS];
    int64_t runs[MAX_MODELS];
    for (int m = 0; m < nm; m++) {
        tg[m] = model_stat(r, g, c_model, models[m], "t_grok");
        runs[m] = 0;
        for (int64_t i = 0; i < g->n; i++)
            runs[m] += !strcmp(mg_sweep_table_cell(&r->t, g->rows[i], c_model), models[m]);
        if (!tg[m].count) continue;
        if (best < 0 || tg[m].mean < tg[best].mean) second = best, best = m;
        else if (second < 0 || tg[m].mean < tg[second].mean) second = m;
    }
    char a[32], b[32], c[32];
    if (best < 0) printf("    no model grokked\n");
    else {
        report_number(a, sizeof a, tg[best].mean);
        printf("    groks first: %s, t_grok %s (%lld/%lld seeds grokked)", models[best], a,
               (long long)tg[best].count, (long long)runs[best]);
        if (second >= 0) {
            report_number(a, sizeof a, tg[second].mean);
            report_number(b, sizeof b, tg[second].mean - tg[best].mean);
            report_number(c, sizeof c, tg[second].mean / tg[best].mean);
            printf("; %s %s (%lld/%lld): %s steps sooner, %s× (means over the seeds that "
                   "grokked)",
                   models[second], a, (long long)tg[second].count, (long long)runs[second], b, c);
        }
        for (int m = 0; m < nm; m++)
            if (!tg[m].count) printf("; %s did not grok (0/%lld)", models[m], (long long)runs[m]);
        printf("\n");
    }
    for (int m = 0; m < nm; m++) {
        mg_sweep_stats_summary l =
            model_stat(r, g, c_model, models[m], "lead.displacement.lead_steps");
        if (!l.count) continue;
        report_number(a, sizeof a, fabs(l.mean));
        if (l.mean > 0) printf("    %s: the classifier moves first, by %s steps", models[m], a);
        else if (l.mean < 0) printf("    %s: the embedding moves first, by %s steps", models[m], a);
        else printf("    %s: classifier and embedding move together", models[m]);
        printf(" (displacement lead, mean of %lld)\n", (long long)l.count);
    }
}

static void report_models(report *r) {
    int c_model = report_axis(r, "model");
    int cols[MG_SWEEP_MAX_AXES + 1], n = 0, c_task = report_axis(r, "task");
    if (c_task < 0 && (c_task = mg_sweep_table_col(&r->t, "config.task")) >= 0)
        cols[n++] = c_task;             /* a fixed task: its name from config.json */
    for (int a = 0; a < r->n_axes; a++) /* the task axis and any other but model and seed */
        if (r->axis[a] != c_model && strcmp(r->t.cols[r->axis[a]], "seed")) cols[n++] = r->axis[a];
    report_group *g;
    int ng = report_groups(r, cols, n, &g);
    const char *models[MAX_MODELS];
    int nm = distinct_models(r, c_model, models);
    printf("\nmodels: per task and model, mean ± std (n) over seeds\n");
    char buf[128];
    for (int j = 0; j < ng; j++) {
        printf("  %s\n", n ? g[j].key : "(all)");
        report_table t;
        report_table_init(&t, nm + 1);
        report_table_row(&t);
        for (int m = 0; m < nm; m++) report_table_set(&t, m + 1, "%s", models[m]);
        for (int h = 0; h <= N_HEADLINE; h++) {
            report_table_row(&t);
            report_table_set(&t, 0, "%s", h < N_HEADLINE ? headline[h].label : "cyclic (share)");
            for (int m = 0; m < nm; m++) {
                report_group sub = {.n = 0};
                sub.rows = malloc((size_t)(g[j].n ? g[j].n : 1) * sizeof *sub.rows);
                for (int64_t i = 0; i < g[j].n; i++)
                    if (!strcmp(mg_sweep_table_cell(&r->t, g[j].rows[i], c_model), models[m]))
                        sub.rows[sub.n++] = g[j].rows[i];
                if (h < N_HEADLINE) report_metric_cell(r, &sub, headline[h].col, buf, sizeof buf);
                else
                    snprintf(buf, sizeof buf, "%lld/%lld", (long long)n_cyclic(r, &sub),
                             (long long)sub.n);
                report_table_set(&t, m + 1, "%s", buf);
                free(sub.rows);
            }
        }
        report_table_print(&t, 4);
        report_table_free(&t);
        who_first(r, &g[j], c_model, models, nm);
    }
    if (!ng) printf("  (no finished run)\n");
    report_left_out(r, "the models table", NULL, NULL);
    if (r->plots && r->gnuplot && ng && nm) models_bars(r, g, ng, c_model, models, nm);
    report_groups_free(g, ng);
}

/* ---- the entry point ---------------------------------------------------------------- */

unsigned cli_sweep_report_parse(const char *list) {
    unsigned bits = 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *save, *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
        if (!strcmp(w, "all")) bits |= CLI_REPORT_ALL;
        else if (!strcmp(w, "seeds")) bits |= CLI_REPORT_SEEDS;
        else if (!strcmp(w, "lambda")) bits |= CLI_REPORT_LAMBDA;
        else if (!strcmp(w, "models")) bits |= CLI_REPORT_MODELS;
        else if (!strcmp(w, "clocks")) bits |= CLI_REPORT_CLOCKS;
        else if (!strcmp(w, "manifold")) bits |= CLI_REPORT_MANIFOLD;
        else return 0;
    }
    return bits;
}

static int open_report(report *r, const char *dir, bool plots) {
    memset(r, 0, sizeof *r);
    r->dir = dir;
    char path[4200];
    snprintf(path, sizeof path, "%s/" MG_SWEEP_RUNS_CSV, dir);
    if (!mg_path_exists(path)) {
        cli_error("%s has no " MG_SWEEP_RUNS_CSV ": run modgrad sweep --collect %s first", dir,
                  dir);
        return MG_EXIT_USAGE;
    }
    if (mg_sweep_table_read(path, &r->t)) {
        cli_error("%s", mg_errmsg());
        return MG_EXIT_USAGE;
    }
    r->c_run = mg_sweep_table_col(&r->t, "run");
    r->c_status = mg_sweep_table_col(&r->t, "status");
    if (r->c_run != 0 || r->c_status < 1) {
        cli_error("%s: not a sweep's table (its first column must be run, then the axes, then "
                  "status)",
                  path);
        return MG_EXIT_USAGE;
    }
    for (int c = 1; c < r->c_status && r->n_axes < MG_SWEEP_MAX_AXES; c++) r->axis[r->n_axes++] = c;
    r->usable = calloc((size_t)(r->t.n_rows ? r->t.n_rows : 1), sizeof *r->usable);
    for (int64_t row = 0; row < r->t.n_rows; row++) {
        const char *st = mg_sweep_table_cell(&r->t, row, r->c_status);
        r->usable[row] = !strcmp(st, "completed") || !strcmp(st, "grokked");
    }
    r->plots = plots;
    if (!plots) return MG_EXIT_OK;
    /* the picture driver, on DIR/plots (plot.h) */
    plot_run *p = &r->pr;
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/') len--;
    snprintf(p->dir, sizeof p->dir, "%.*s", (int)len, dir);
    snprintf(p->plots, sizeof p->plots, "%s/plots", p->dir);
    char *real = realpath(p->dir, NULL);
    const char *base = real ? strrchr(real, '/') : NULL;
    snprintf(p->name, sizeof p->name, "%.255s", base && base[1] ? base + 1 : p->dir);
    free(real);
    r->gnuplot = plot_find_gnuplot(&p->pngcairo);
    if (!r->gnuplot) {
        cli_error("note: gnuplot not found: no pictures (apt-get install gnuplot-nox)");
        return MG_EXIT_OK;
    }
    char data[4300];
    snprintf(data, sizeof data, "%s/data", p->plots);
    if (mg_mkdir_p(data)) {
        cli_error("%s", mg_errmsg());
        return MG_EXIT_FAIL;
    }
    signal(SIGPIPE, SIG_IGN); /* a gnuplot that dies is reported by pclose */
    return MG_EXIT_OK;
}

int cli_sweep_report(const char *dir, unsigned which, unsigned required, bool plots) {
    report r;
    int st = open_report(&r, dir, plots);
    if (st) {
        mg_sweep_table_free(&r.t);
        free(r.usable);
        return st;
    }
    bool has_seeds = report_axis(&r, "seed") >= 0, has_models = report_axis(&r, "model") >= 0;
    const bool has_manifold = report_has_manifold(&r);
    bool has_lambda = report_axis(&r, "p") >= 0 &&
                      (report_axis(&r, "wd") >= 0 || report_axis(&r, "penalty-lambda") >= 0);
    const struct {
        unsigned bit;
        bool has;
        const char *why;
    } need[5] = {{CLI_REPORT_SEEDS, has_seeds, "the seeds report needs a seed axis"},
                 {CLI_REPORT_CLOCKS, has_seeds, "the clocks report needs a seed axis"},
                 {CLI_REPORT_LAMBDA, has_lambda,
                  "the lambda report needs a p axis and a wd or penalty-lambda axis"},
                 {CLI_REPORT_MODELS, has_models, "the models report needs a model axis"},
                 {CLI_REPORT_MANIFOLD, has_manifold,
                  "the manifold report needs runs with trajectories (--snapshot-every)"}};
    for (int i = 0; i < 5; i++)
        if ((required & need[i].bit) && !need[i].has) {
            cli_error("%s: %s", dir, need[i].why);
            st = MG_EXIT_USAGE;
        }
    int64_t usable = 0;
    for (int64_t row = 0; row < r.t.n_rows; row++) usable += r.usable[row];
    if (!st) {
        printf("sweep %s: %lld runs, %lld finished\n", dir, (long long)r.t.n_rows,
               (long long)usable);
        if ((which & CLI_REPORT_SEEDS) && has_seeds) report_seeds(&r);
        if ((which & CLI_REPORT_LAMBDA) && has_lambda) st = report_lambda(&r);
        if ((which & CLI_REPORT_MODELS) && has_models) report_models(&r);
        if ((which & CLI_REPORT_CLOCKS) && has_seeds) report_clocks(&r);
        if ((which & CLI_REPORT_MANIFOLD) && has_manifold) report_manifold(&r);
        if (r.pr.nwritten) printf("\nplots written to %s:\n", r.pr.plots);
        for (int i = 0; i < r.pr.nwritten; i++) printf("  %s\n", r.pr.written[i]);
        if (!st) st = r.pr.status;
    }
    plot_close(&r.pr);
    mg_sweep_table_free(&r.t);
    free(r.usable);
    return st;
}
