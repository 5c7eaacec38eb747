/* plot_attention.c — `modgrad plot`'s pictures of the attention in the
 * execution-manifold study (issue 13; SCIENCE.md, "Attention
 * concentration"), called from plot_manifold.c's plot_manifold_study:
 *
 *   attention   attention.csv: the entropy at the last query and its top-1
 *               mass per layer against step (log, like the other pictures),
 *               the mean over heads and groups at each evaluation
 *   ablation    ablation.csv: the held-out accuracy with each layer's
 *               attention cut to its k largest weights against k, per group;
 *               no cut ("all") at the right end
 *
 * A picture whose file the run lacks is skipped without a note. Declared in
 * plot.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/harness/rundir.h"
#include "tools/cli/cli.h"
#include "tools/cli/plot.h"

#define DARK "#222222"
#define MAX_NAMES 96
#define NCOLS(a) ((int)(sizeof(a) / sizeof *(a)))

/* ---- attention ----------------------------------------------------------------- */

void plot_attention(plot_run *r) {
    const char *cols[] = {MG_COL(attention, step), MG_COL(attention, layer),
                          MG_COL(attention, entropy), MG_COL(attention, mass_top1)};
    mg_csv *c = plot_csv_if(r, MG_RUN_ATTENTION, NCOLS(cols), cols, "the attention");
    if (!c) return;
    int sc = mg_csv_col(c, cols[0]), lc = mg_csv_col(c, cols[1]), ec = mg_csv_col(c, cols[2]),
        mc = mg_csv_col(c, cols[3]);
    char layers[MAX_NAMES][64], files[MAX_NAMES][320];
    int nl = plot_distinct_copy(c, lc, layers, MAX_NAMES);
    double xmax = 1;
    bool ok = true;
    /* Per layer, one line per step: the mean over that step's rows (heads, groups). */
    for (int l = 0; ok && l < nl; l++) {
        plot_data_name(files[l], sizeof files[l], "attention_", layers[l], ".dat");
        FILE *f = plot_data_open(r, files[l]);
        if (!(ok = f)) break;
        fprintf(f, "# step entropy mass_top1 (means over heads and groups)\n");
        double step = NAN, se = 0, sm = 0;
        int k = 0;
        for (size_t row = 0; row <= c->nrows; row++) {
            bool end = row == c->nrows;
            if (!end && strcmp(mg_csv_str(c, row, lc), layers[l])) continue;
            double st = end ? NAN : mg_csv_num(c, row, sc);
            if (k && (end || st != step)) {
                fprintf(f, "%.9g %.9g %.9g\n", plot_x(step), se / k, sm / k);
                xmax = fmax(xmax, plot_x(step));
                se = sm = 0, k = 0;
            }
            if (end) break;
            step = st, se += mg_csv_num(c, row, ec), sm += mg_csv_num(c, row, mc), k++;
        }
        fclose(f);
    }
    mg_csv_free(c);
    if (!ok) return;
    if (!nl) {
        cli_error("note: %s/" MG_RUN_ATTENTION " has no rows; skipping the attention", r->dir);
        return;
    }
    plot_body b;
    FILE *s = plot_body_open(&b);
    if (!s) return;
    plot_begin(s, r, "Attention at the last query (mean over heads and groups)", NULL);
    fprintf(s, "set lmargin at screen 0.10\nset rmargin at screen 0.97\n"
               "set key at screen 0.5, screen 0.925 center center horizontal font ',9'\n");
    plot_step_axis(s, r, xmax);
    const char *ylabel[2] = {"entropy (nats)", "top-1 mass"}, *yrange[2] = {"[0:*]", "[0:1.02]"};
    for (int p = 0; p < 2; p++) {
        plot_stack(s, p, 2, 0.89, 0.09); /* the key in a row above */
        plot_clocks(s, r, p == 0);
        fprintf(s, "set ylabel '%s'\nset yrange %s\n%s\nplot ", ylabel[p], yrange[p],
                p ? "unset key" : "");
        for (int l = 0; l < nl; l++) {
            fprintf(s, "%s'%s' u 1:%d w lp pt 7 ps 0.4 lw 2 lc rgb '%s' t ", l ? ", \\\n  " : "",
                    files[l], p + 2, plot_color(l));
            plot_quote(s, layers[l]);
        }
        fputc('\n', s);
    }
    plot_draw(r, &b, "attention", 1000, 680);
}

/* ---- ablation ------------------------------------------------------------------ */

#define NO_CUT 32 /* where "all" (no cut) is drawn on the k axis */

typedef struct {
    double k, acc;
} kpoint;

static int cmp_k(const void *a, const void *b) {
    double x = ((const kpoint *)a)->k, y = ((const kpoint *)b)->k;
    return (x > y) - (x < y);
}

void plot_ablation(plot_run *r) {
    const char *cols[] = {MG_COL(ablation, topk), MG_COL(ablation, group),
                          MG_COL(ablation, test_acc)};
    mg_csv *c = plot_csv_if(r, MG_RUN_ABLATION, NCOLS(cols), cols, "the ablation");
    if (!c) return;
    int kc = mg_csv_col(c, cols[0]), gc = mg_csv_col(c, cols[1]), ac = mg_csv_col(c, cols[2]);
    char groups[MAX_NAMES][64], files[MAX_NAMES][320];
    int ng = plot_distinct_copy(c, gc, groups, MAX_NAMES);
    kpoint *pt = malloc((c->nrows ? c->nrows : 1) * sizeof *pt);
    bool ok = pt != NULL;
    for (int i = 0; ok && i < ng; i++) {
        size_t n = 0;
        for (size_t row = 0; row < c->nrows; row++) {
            if (strcmp(mg_csv_str(c, row, gc), groups[i])) continue;
            double k = mg_csv_num(c, row, kc); /* "all": no cut */
            pt[n++] = (kpoint){isfinite(k) ? k : NO_CUT, mg_csv_num(c, row, ac)};
        }
        qsort(pt, n, sizeof *pt, cmp_k);
        plot_data_name(files[i], sizeof files[i], "ablation_", groups[i], ".dat");
        FILE *f = plot_data_open(r, files[i]);
        if (!(ok = f)) break;
        fprintf(f, "# k test_acc (k = %d: no cut)\n", NO_CUT);
        for (size_t j = 0; j < n; j++) fprintf(f, "%.9g %.9g\n", pt[j].k, pt[j].acc);
        fclose(f);
    }
    free(pt);
    mg_csv_free(c);
    if (!ok || !ng) return;
    plot_body b;
    FILE *s = plot_body_open(&b);
    if (!s) return;
    plot_begin(s, r, "Top-k attention ablation", NULL);
    fprintf(s,
            "set lmargin at screen 0.10\nset rmargin at screen 0.80\nset tmargin at screen 0.86\n"
            "set bmargin at screen 0.13\nset logscale x 2\nset xrange [0.8:%d]\n"
            "set xtics ('1' 1, '2' 2, '4' 4, '8' 8, '16' 16, 'all' %d)\nset yrange [-0.03:1.03]\n"
            "set xlabel 'k: the attention weights each query keeps (renormalised)'\n"
            "set ylabel 'held-out accuracy'\nset key at screen 0.98, graph 1 right top font ',9'\n"
            "plot ",
            NO_CUT + 8, NO_CUT);
    for (int i = 0, other = 0; i < ng; i++) {
        bool all = !strcmp(groups[i], "all");
        fprintf(s, "%s'%s' u 1:2 w lp pt 7 ps %s lw %s lc rgb '%s' t ", i ? ", \\\n  " : "",
                files[i], all ? "1" : "0.7", all ? "2.5" : "1.2", all ? DARK : plot_color(other++));
        plot_quote(s, all ? "all held-out" : groups[i]);
    }
    fputc('\n', s);
    plot_draw(r, &b, "ablation", 800, 560);
}
