/* plot_hierarchy.c — `modgrad plot`'s picture of the gradient hierarchy
 * (issue 15; SCIENCE.md, "Gradient hierarchy"; the rows are written by
 * models/harness/study_hierarchy.c):
 *
 *   hierarchy  stacked against step, the clocks marked:
 *              the measured ratio |dE|_F / |dU|_F beside the ratio of the
 *              two bounds, |B|_2 |W|_2 |U|_2 / |H|_F (log y);
 *              each gradient over its bound, the embedding's
 *              (hier_bound_ratio) and the classifier's |dU| / (|H| |delta|),
 *              with the bound (1) dotted: both must stay <= 1 (log y);
 *              the spectral norms |U|_2 and |W|_2.
 *
 * Its data file, data/hierarchy.dat, holds one row per geometry step with a
 * hier_ row: the step (as written, 0 included) and every hier_ value of
 * geometry.csv at that step, NaN where a row is absent. Drawn only when
 * geometry.csv has hier_ rows (an embedding-ReLU-classifier model on the
 * plain loss); skipped without a note otherwise (a transformer has none).
 * A value of a gradient over its bound above 1 is reported on stderr: the
 * bound is a theorem, so that is a defect of the measurement. Declared in
 * plot.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/fsutil.h"
#include "models/harness/rundir.h"
#include "tools/cli/cli.h"
#include "tools/cli/plot.h"

#define BLUE "#1f77b4" /* classifier */
#define RED "#d62728"  /* embedding */
#define GREEN "#2ca02c"
#define DARK "#333333"

/* The layers the rows name, by their role. */
enum { ROLE_MODEL, ROLE_EMBED, ROLE_CLASSIFIER, ROLE_FIRST, NROLES };

/* The data file's columns after the step, in order (gnuplot's column k + 2). */
static const struct {
    int role;
    const char *metric, *head;
} hier_cols[] = {
    {ROLE_MODEL, "hier_ratio_measured", "ratio_measured"},
    {ROLE_MODEL, "hier_ratio_bound", "ratio_bound"},
    {ROLE_EMBED, "hier_bound_ratio", "embed_bound_ratio"},
    {ROLE_EMBED, "hier_grad", "embed_grad"},
    {ROLE_EMBED, "hier_bound", "embed_bound"},
    {ROLE_CLASSIFIER, "hier_grad", "classifier_grad"},
    {ROLE_CLASSIFIER, "hier_bound", "classifier_bound"},
    {ROLE_CLASSIFIER, "hier_spectral", "classifier_spectral"},
    {ROLE_FIRST, "hier_spectral", "first_spectral"},
    {ROLE_MODEL, "hier_delta", "delta"},
    {ROLE_MODEL, "hier_selection", "selection"},
};
#define NCOLS ((int)(sizeof hier_cols / sizeof *hier_cols))
/* gnuplot's columns */
enum {
    C_MEASURED = 2,
    C_BOUNDS,
    C_EMBED_RATIO,
    C_CLS_GRAD = 7,
    C_CLS_BOUND,
    C_U2,
    C_W2,
};

typedef struct {
    size_t n;
    double *step, (*v)[NCOLS];
} hier_table;

/* The layer of the first row with this metric whose layer is not `not`. */
static const char *layer_of(const mg_csv *c, int lcol, int mcol, const char *metric,
                            const char * not ) {
    for (size_t row = 0; row < c->nrows; row++)
        if (!strcmp(mg_csv_str(c, row, mcol), metric) &&
            (!not || strcmp(mg_csv_str(c, row, lcol), not )))
            return mg_csv_str(c, row, lcol);
    return NULL;
}

/* Pivots geometry.csv's hier_ rows into one row per step. The roles are
 * read from the metrics: the embedding is the layer with hier_bound_ratio,
 * the classifier the other one with hier_grad, the first layer the one with
 * hier_spectral that is not the classifier. False when out of memory. */
static bool pivot(const mg_csv *c, hier_table *t, const char **names) {
    int scol = mg_csv_col(c, MG_COL(geometry, step)), lcol = mg_csv_col(c, MG_COL(geometry, layer)),
        mcol = mg_csv_col(c, MG_COL(geometry, metric)),
        vcol = mg_csv_col(c, MG_COL(geometry, value));
    names[ROLE_MODEL] = "model";
    names[ROLE_EMBED] = layer_of(c, lcol, mcol, "hier_bound_ratio", NULL);
    names[ROLE_CLASSIFIER] = layer_of(c, lcol, mcol, "hier_grad", names[ROLE_EMBED]);
    names[ROLE_FIRST] = layer_of(c, lcol, mcol, "hier_spectral", names[ROLE_CLASSIFIER]);
    memset(t, 0, sizeof *t);
    t->step = mg_calloc(c->nrows + 1, sizeof *t->step);
    t->v = mg_calloc(c->nrows + 1, sizeof *t->v);
    if (!t->step || !t->v) return false;
    for (size_t row = 0; row < c->nrows; row++) {
        const char *l = mg_csv_str(c, row, lcol), *m = mg_csv_str(c, row, mcol);
        int k = -1;
        for (int i = 0; i < NCOLS && k < 0; i++)
            if (!strcmp(m, hier_cols[i].metric) && names[hier_cols[i].role] &&
                !strcmp(l, names[hier_cols[i].role]))
                k = i;
        if (k < 0) continue;
        double s = mg_csv_num(c, row, scol);
        size_t j = t->n;
        while (j > 0 && t->step[j - 1] != s) j--; /* a step's rows come together: found at once */
        if (j == 0) {
            j = ++t->n;
            t->step[j - 1] = s;
            for (int i = 0; i < NCOLS; i++) t->v[j - 1][i] = NAN;
        }
        t->v[j - 1][k] = mg_csv_num(c, row, vcol);
    }
    return true;
}

/* Writes data/hierarchy.dat; widens the panels' ranges (g[0..2]) and sets
 * the largest of each gradient over its bound (and the step of it). */
static bool write_table(plot_run *r, const hier_table *t, const char **names, plot_range *g,
                        double worst[2], double at[2]) {
    FILE *f = plot_data_open(r, "data/hierarchy.dat");
    if (!f) return false;
    fprintf(f,
            "# geometry.csv's hier_ rows, one line per step (embedding %s, classifier %s, "
            "first layer %s)\n# step",
            names[ROLE_EMBED] ? names[ROLE_EMBED] : "-",
            names[ROLE_CLASSIFIER] ? names[ROLE_CLASSIFIER] : "-",
            names[ROLE_FIRST] ? names[ROLE_FIRST] : "-");
    for (int i = 0; i < NCOLS; i++) fprintf(f, " %s", hier_cols[i].head);
    fputc('\n', f);
    worst[0] = worst[1] = -INFINITY;
    for (size_t j = 0; j < t->n; j++) {
        const double *v = t->v[j];
        fprintf(f, "%.9g", t->step[j]);
        for (int i = 0; i < NCOLS; i++) fprintf(f, isfinite(v[i]) ? " %.9g" : " NaN", v[i]);
        fputc('\n', f);
        double y[3][2] = {{v[C_MEASURED - 2], v[C_BOUNDS - 2]},
                          {v[C_EMBED_RATIO - 2], v[C_CLS_GRAD - 2] / v[C_CLS_BOUND - 2]},
                          {v[C_U2 - 2], v[C_W2 - 2]}};
        for (int p = 0; p < 3; p++)
            for (int k = 0; k < 2; k++) {
                if (!isfinite(y[p][k])) continue;
                g[p].n++;
                if (y[p][k] > 0 && y[p][k] < g[p].lo) g[p].lo = y[p][k];
                g[p].hi = fmax(g[p].hi, y[p][k]);
                if (p == 1 && y[p][k] > worst[k]) worst[k] = y[p][k], at[k] = t->step[j];
            }
    }
    if (fclose(f)) {
        cli_error("plot: writing %s/data/hierarchy.dat failed", r->plots);
        r->status = MG_EXIT_FAIL;
        return false;
    }
    return true;
}

/* One line of a panel: the data file's column col, or col over column den. */
static void line(FILE *s, bool first, int col, int den, const char *color, const char *title) {
    fprintf(s, "%s'data/hierarchy.dat' u (plot_x($1)):", first ? "" : ", \\\n  ");
    if (den) fprintf(s, "($%d / $%d)", col, den);
    else fprintf(s, "%d", col);
    fprintf(s, " lw 2 lc rgb '%s' t ", color);
    plot_quote(s, title);
}

/* " (WHO, max X)", or " (WHO)" when x is not finite (no value). */
static const char *largest(char *buf, size_t n, const char *who, double x) {
    if (isfinite(x)) snprintf(buf, n, " (%s, max %.3g)", who, x);
    else snprintf(buf, n, " (%s)", who);
    return buf;
}

static void draw(plot_run *r, FILE *s, const plot_range *g, const double worst[2]) {
    const int h = 240 + 190 * 3;
    char t[160];
    fputs("plot_x(s) = s < 1 ? 1 : s\n", s);
    /* 1. the ratios */
    plot_stack(s, 0, 3, 1 - 75.0 / h, 70.0 / h);
    plot_clocks(s, r, true);
    plot_yscale(s, true);
    plot_headroom(s, &g[0]);
    fprintf(s, "set ylabel \"gradient ratio\\nembedding / classifier\"\nplot ");
    line(s, true, C_MEASURED, 0, RED, "measured |dE|_F / |dU|_F");
    line(s, false, C_BOUNDS, 0, BLUE, "bounds' ratio |B|_2 |W|_2 |U|_2 / |H|_F");
    fputc('\n', s);
    /* 2. each gradient over its bound, the bound at 1 */
    plot_stack(s, 1, 3, 1 - 75.0 / h, 70.0 / h);
    plot_clocks(s, r, false);
    plot_yscale(s, true);
    double lo = g[1].n && isfinite(g[1].lo) ? floor(log10(g[1].lo)) : -2;
    fprintf(s, "set yrange [1e%d:3]\nset ylabel \"gradient / its bound\\n(<= 1)\"\nplot ",
            (int)fmin(lo, -1));
    char w[64];
    snprintf(t, sizeof t, "|dE| / |B|_2 |W|_2 |U|_2 |delta|%s",
             largest(w, sizeof w, "embedding", worst[0]));
    line(s, true, C_EMBED_RATIO, 0, RED, t);
    snprintf(t, sizeof t, "|dU| / |H|_F |delta|%s", largest(w, sizeof w, "classifier", worst[1]));
    line(s, false, C_CLS_GRAD, C_CLS_BOUND, BLUE, t);
    fputs(", \\\n  1 lw 1.5 dt 3 lc rgb '" DARK "' t 'the bound (1)'\n", s);
    /* 3. the spectral norms */
    plot_stack(s, 2, 3, 1 - 75.0 / h, 70.0 / h);
    plot_clocks(s, r, false);
    bool log = plot_range_log(&g[2]);
    plot_yscale(s, log);
    fprintf(s, "set yrange %s\nset ylabel \"spectral norm\"\nplot ", log ? "[*:*]" : "[0:*]");
    line(s, true, C_U2, 0, BLUE, "|U|_2 (classifier)");
    line(s, false, C_W2, 0, GREEN, "|W|_2 (first layer)");
    fputc('\n', s);
}

void plot_hierarchy(plot_run *r) {
    mg_csv *c = plot_geometry(r, "the hierarchy", true); /* absent: the geometry has said so */
    if (!c) return;
    hier_table t;
    const char *names[NROLES];
    if (!pivot(c, &t, names)) {
        cli_error("plot: out of memory; skipping the hierarchy");
        r->status = MG_EXIT_FAIL;
    } else if (t.n) {
        plot_range g[3];
        double worst[2], at[2] = {0, 0};
        for (int i = 0; i < 3; i++) plot_range_init(&g[i]);
        plot_body b;
        double xmax = 1;
        for (size_t j = 0; j < t.n; j++) xmax = fmax(xmax, plot_x(t.step[j]));
        if (write_table(r, &t, names, g, worst, at) && plot_body_open(&b)) {
            for (int k = 0; k < 2; k++)
                if (worst[k] > 1 + 1e-9)
                    cli_error("note: the %s's gradient exceeds its bound (ratio %.9g at step "
                              "%.0f): the hierarchy's rows are wrong",
                              k ? "classifier" : "embedding", worst[k], at[k]);
            plot_begin(b.f, r, "Gradient hierarchy", NULL);
            fprintf(b.f, "set lmargin at screen 0.10\nset rmargin at screen 0.62\n"
                         "set key at screen 0.64, graph 1 left top vertical Left reverse nobox "
                         "font ',9'\n");
            plot_step_axis(b.f, r, xmax);
            draw(r, b.f, g, worst);
            plot_draw(r, &b, "hierarchy", 1250, 240 + 190 * 3);
        }
    }
    mg_free(t.step);
    mg_free(t.v);
    mg_csv_free(c);
}
