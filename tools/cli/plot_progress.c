/* plot_progress.c — `modgrad plot`'s picture of the progress measures
 * (issue 15; the rows are written by models/harness/study_progress.c, layer
 * "progress" of geometry.csv, for a run on a + b mod p whose split holds
 * every pair, the MLP's and the transformer's alike):
 *
 *   progress  stacked against step, the clocks marked:
 *             the train and test loss (metrics.csv) beside the restricted
 *             loss (the logits' part along the key frequencies, over all
 *             p^2 inputs) and the excluded loss (that part removed, on the
 *             training split) (log y): "circuit formation" is the excluded
 *             loss rising while the train loss stays low, "clean-up" the
 *             restricted loss falling with the test loss;
 *             the excluded loss with each key frequency alone removed, for
 *             the keys of the run's last progress step (log y);
 *             the logit periodicity (the share of the logit cube's variance
 *             along cos(w_k (a + b - c))) and the number of key frequencies
 *             the step used (right axis).
 *
 * Data files: data/progress.dat (one line per geometry step with progress
 * rows: the step, restricted_loss, excluded_loss, periodicity, n_keys; NaN
 * where a row is absent), data/progress_loss.dat (metrics.csv's step, train
 * and test loss) and data/progress_kK.dat per key K (the steps at which K
 * was a key, and excluded_loss_kK). Drawn only when geometry.csv has
 * progress rows; skipped without a note otherwise (they need a + b mod p on
 * the full grid of pairs). Declared in plot.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/fsutil.h"
#include "models/harness/rundir.h"
#include "tools/cli/cli.h"
#include "tools/cli/plot.h"

#define BLUE "#1f77b4"
#define RED "#d62728"
#define GREEN "#2ca02c"
#define PURPLE "#9467bd"
#define DARK "#333333"

#define MAX_KEYS 8 /* per-key lines drawn (the largest keys' count in practice: 3-6) */

static const char *const prog_metrics[] = {"restricted_loss", "excluded_loss", "periodicity",
                                           "n_keys"};
#define NPROG 4

typedef struct {
    size_t n;
    double *step, (*v)[NPROG];
} prog_table;

/* The pivot of geometry.csv's progress rows into one row per step, and the
 * keys of the last step with rows (the metrics excluded_loss_kK). */
static bool pivot(const mg_csv *c, int scol, int lcol, int mcol, int vcol, prog_table *t, int *keys,
                  int *nkeys) {
    memset(t, 0, sizeof *t);
    t->step = mg_calloc(c->nrows + 1, sizeof *t->step);
    t->v = mg_calloc(c->nrows + 1, sizeof *t->v);
    if (!t->step || !t->v) return false;
    for (size_t row = 0; row < c->nrows; row++) {
        if (strcmp(mg_csv_str(c, row, lcol), "progress")) continue;
        const char *m = mg_csv_str(c, row, mcol);
        double s = mg_csv_num(c, row, scol);
        size_t j = t->n;
        while (j > 0 && t->step[j - 1] != s) j--; /* a step's rows come together */
        if (j == 0) {
            j = ++t->n;
            t->step[j - 1] = s;
            for (int i = 0; i < NPROG; i++) t->v[j - 1][i] = NAN;
            *nkeys = 0; /* a later step: its keys replace the earlier one's */
        }
        for (int i = 0; i < NPROG; i++)
            if (!strcmp(m, prog_metrics[i])) t->v[j - 1][i] = mg_csv_num(c, row, vcol);
        int k;
        char tail;
        if (j == t->n && sscanf(m, "excluded_loss_k%d%c", &k, &tail) == 1 && *nkeys < MAX_KEYS)
            keys[(*nkeys)++] = k;
    }
    return true;
}

static bool close_data(plot_run *r, FILE *f, const char *file) {
    if (fclose(f)) {
        cli_error("plot: writing %s/%s failed", r->plots, file);
        r->status = MG_EXIT_FAIL;
        return false;
    }
    return true;
}

static void widen(plot_range *g, double v) {
    if (!isfinite(v) || v <= 0) return;
    g->n++;
    g->lo = fmin(g->lo, v);
    g->hi = fmax(g->hi, v);
}

/* data/progress.dat; widens the loss range with the two losses. */
static bool write_table(plot_run *r, const prog_table *t, plot_range *loss, double *xmax) {
    FILE *f = plot_data_open(r, "data/progress.dat");
    if (!f) return false;
    fprintf(f, "# geometry.csv's progress rows, one line per step\n# step");
    for (int i = 0; i < NPROG; i++) fprintf(f, " %s", prog_metrics[i]);
    fputc('\n', f);
    for (size_t j = 0; j < t->n; j++) {
        fprintf(f, "%.9g", plot_x(t->step[j]));
        *xmax = fmax(*xmax, plot_x(t->step[j]));
        for (int i = 0; i < NPROG; i++)
            fprintf(f, isfinite(t->v[j][i]) ? " %.9g" : " NaN", t->v[j][i]);
        fputc('\n', f);
        widen(loss, t->v[j][0]);
        widen(loss, t->v[j][1]);
    }
    return close_data(r, f, "data/progress.dat");
}

/* data/progress_loss.dat from metrics.csv (absent: the panel goes without). */
static bool write_losses(plot_run *r, plot_range *loss, double *xmax) {
    const char *cols[] = {MG_COL(metrics, step), MG_COL(metrics, train_loss),
                          MG_COL(metrics, test_loss)};
    mg_csv *c = plot_csv_if(r, MG_RUN_METRICS, 3, cols, "the progress measures");
    if (!c) return false;
    int k[3];
    for (int i = 0; i < 3; i++) k[i] = mg_csv_col(c, cols[i]);
    FILE *f = plot_data_open(r, "data/progress_loss.dat");
    bool ok = f != NULL;
    if (f) {
        fprintf(f, "# metrics.csv: step train_loss test_loss\n");
        for (size_t row = 0; row < c->nrows; row++) {
            double x = plot_x(mg_csv_num(c, row, k[0]));
            *xmax = fmax(*xmax, x);
            fprintf(f, "%.9g", x);
            for (int i = 1; i < 3; i++) {
                double v = mg_csv_num(c, row, k[i]);
                fprintf(f, isfinite(v) ? " %.9g" : " NaN", v);
                widen(loss, v);
            }
            fputc('\n', f);
        }
        ok = close_data(r, f, "data/progress_loss.dat") && c->nrows > 0;
    }
    mg_csv_free(c);
    return ok;
}

/* data/progress_kK.dat per key: the steps with an excluded_loss_kK row. */
static int write_keys(plot_run *r, const mg_csv *c, int scol, int lcol, int mcol, int vcol,
                      const int *keys, int nkeys, plot_range *g, int *written) {
    int n = 0;
    for (int i = 0; i < nkeys; i++) {
        char metric[48], file[64];
        snprintf(metric, sizeof metric, "excluded_loss_k%d", keys[i]);
        snprintf(file, sizeof file, "data/progress_k%d.dat", keys[i]);
        FILE *f = plot_data_open(r, file);
        if (!f) return -1;
        fprintf(f, "# step %s\n", metric);
        size_t lines = 0;
        for (size_t row = 0; row < c->nrows; row++) {
            if (strcmp(mg_csv_str(c, row, lcol), "progress") ||
                strcmp(mg_csv_str(c, row, mcol), metric))
                continue;
            double v = mg_csv_num(c, row, vcol);
            fprintf(f, isfinite(v) ? "%.9g %.9g\n" : "%.9g NaN\n", plot_x(mg_csv_num(c, row, scol)),
                    v);
            widen(g, v);
            lines++;
        }
        if (!close_data(r, f, file)) return -1;
        if (lines) written[n++] = keys[i];
    }
    return n;
}

static void draw(plot_run *r, FILE *s, bool losses, const plot_range *loss, const int *keys,
                 int nkeys, const plot_range *kg) {
    const int h = 240 + 190 * 3;
    const double top = 1 - 75.0 / h, bottom = 70.0 / h;
    /* 1. the losses */
    plot_stack(s, 0, 3, top, bottom);
    plot_clocks(s, r, true);
    plot_yscale(s, true);
    plot_headroom(s, loss);
    fprintf(s, "set ylabel 'loss (cross-entropy)'\nplot ");
    if (losses)
        fprintf(s, "'data/progress_loss.dat' u 1:2 lw 2 lc rgb '" BLUE "' t 'train loss', \\\n"
                   "  '' u 1:3 lw 2 lc rgb '" RED "' t 'test loss', \\\n  ");
    fprintf(s, "'data/progress.dat' u 1:2 lw 2 lc rgb '" GREEN
               "' t 'restricted loss (key frequencies only, all pairs)', \\\n"
               "  '' u 1:3 lw 2 lc rgb '" PURPLE
               "' t 'excluded loss (key frequencies removed, train split)'\n");
    /* 2. each key alone removed */
    plot_stack(s, 1, 3, top, bottom);
    plot_clocks(s, r, false);
    bool log = plot_range_log(kg);
    plot_yscale(s, log);
    fprintf(s, "set yrange %s\nset ylabel \"excluded loss\\none key removed\"\nplot ",
            log ? "[*:*]" : "[0:*]");
    for (int i = 0; i < nkeys; i++) {
        char file[64], title[64];
        snprintf(file, sizeof file, "data/progress_k%d.dat", keys[i]);
        snprintf(title, sizeof title, "frequency %d removed", keys[i]);
        fprintf(s, "%s'%s' u 1:2 lw 2 lc rgb '%s' t ", i ? ", \\\n  " : "", file, plot_color(i));
        plot_quote(s, title);
    }
    if (!nkeys) fputs("NaN t 'no key frequency at the last step'", s);
    fputc('\n', s);
    /* 3. periodicity and the key count */
    plot_stack(s, 2, 3, top, bottom);
    plot_clocks(s, r, false);
    plot_yscale(s, false);
    fprintf(s, "set yrange [-0.03:1.03]\nset ylabel \"logit periodicity\\n(variance share)\"\n"
               "set y2range [0:*]\nset y2tics\nset y2label 'key frequencies'\n"
               "plot 'data/progress.dat' u 1:4 lw 2 lc rgb '" DARK "' t 'periodicity', \\\n"
               "  '' u 1:5 axes x1y2 w steps lw 1.5 dt 2 lc rgb '" RED
               "' t 'key frequencies (right)'\n"
               "unset y2tics\nunset y2label\n");
}

void plot_progress(plot_run *r) {
    mg_csv *c = plot_geometry(r, "the progress measures", true); /* absent: said by geometry */
    if (!c) return;
    const int scol = mg_csv_col(c, MG_COL(geometry, step)),
              lcol = mg_csv_col(c, MG_COL(geometry, layer)),
              mcol = mg_csv_col(c, MG_COL(geometry, metric)),
              vcol = mg_csv_col(c, MG_COL(geometry, value));
    prog_table t;
    int keys[MAX_KEYS], nkeys = 0, drawn[MAX_KEYS];
    if (!pivot(c, scol, lcol, mcol, vcol, &t, keys, &nkeys)) {
        cli_error("plot: out of memory; skipping the progress measures");
        r->status = MG_EXIT_FAIL;
    } else if (t.n) {
        plot_range loss, kg;
        plot_range_init(&loss);
        plot_range_init(&kg);
        double xmax = 1;
        int nd;
        plot_body b;
        if (write_table(r, &t, &loss, &xmax) &&
            (nd = write_keys(r, c, scol, lcol, mcol, vcol, keys, nkeys, &kg, drawn)) >= 0) {
            bool losses = write_losses(r, &loss, &xmax);
            if (plot_body_open(&b)) {
                plot_begin(b.f, r, "Progress measures", NULL);
                fprintf(b.f, "set lmargin at screen 0.10\nset rmargin at screen 0.60\n"
                             "set key at screen 0.66, graph 1 left top vertical Left reverse "
                             "nobox font ',9'\n");
                plot_step_axis(b.f, r, xmax);
                draw(r, b.f, losses, &loss, drawn, nd, &kg);
                plot_draw(r, &b, "progress", 1250, 240 + 190 * 3);
            }
        }
    }
    mg_free(t.step);
    mg_free(t.v);
    mg_csv_free(c);
}
