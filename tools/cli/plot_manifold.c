/* plot_manifold.c — `modgrad plot`'s pictures of the execution-manifold
 * study (issue 13; SCIENCE.md, "Trajectories"):
 *
 *   manifold    explained.csv: the cumulative explained variance of the
 *               trajectory's PCA against the component k, one panel per block
 *               type (W_Q, W_K, W_V, W_O: one line per layer) and one for the
 *               attention blocks together and the whole parameter vector;
 *               each line's matched random-walk null dashed in its colour, a
 *               horizontal line at 0.9 (r90 is where a line crosses it), and
 *               trajectory.csv's r90 beside the null's in the key and as bars
 *               in a last panel
 *   commutator  commutator.csv: rho_exec and rho_rand (full space and
 *               block-matched) against step, and rho_exec / rho_rand with the
 *               early (first 20% of the measurements) and late (last 20%)
 *               medians as horizontal segments; rows without a basis yet
 *               (rho NaN) are left out
 *   defect      commutator.csv: the normalised defect D against step (log),
 *               its median dashed, and cos(g_A, g_B) below
 *
 * plot_manifold_study draws these and plot_attention.c's (attention,
 * ablation).
 *
 * Only runs of the study have these files: a picture whose file is absent
 * is skipped without a note (a malformed one is an error, as elsewhere).
 * The early/late rule is the summary's (models/harness/manifold_series.c):
 * k = max(1, m/5) of the m measurements with a basis, the median of the
 * finite per-measurement ratios. Declared in plot.h. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/harness/manifold.h"
#include "models/harness/rundir.h"
#include "tools/cli/cli.h"
#include "tools/cli/plot.h"

#define DARK "#222222"
#define GREY "#888888"
#define ORANGE "#ff7f0e"
#define BLUE "#1f77b4"
#define MAX_BLOCKS 96
#define MAX_TYPES 4 /* block types with a panel each; more go to the last panel */
#define NCOLS(a) ((int)(sizeof(a) / sizeof *(a)))

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of the finite values among v[0..n) (NaN if none); sorts v. */
static double median(double *v, size_t n) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(v[i])) v[k++] = v[i];
    qsort(v, k, sizeof *v, cmp_double);
    return !k ? NAN : k % 2 ? v[k / 2] : 0.5 * (v[k / 2 - 1] + v[k / 2]);
}

/* A linear step axis from 0 (the commutator is measured at even steps, so
 * its windows of 20% of the measurements are equal lengths of it). */
static void linear_steps(FILE *s, plot_run *r, double xmax) {
    r->xmax = xmax > 0 ? xmax : 1; /* where plot_clocks stops */
    r->xlinear = true;
    fprintf(s, "unset logscale x\nset xrange [0:%.9g]\nset mxtics default\n", r->xmax);
}

/* After the last panel's plot_stack: the linear axis's label. */
static void linear_label(FILE *s) { fputs("set xlabel 'step'\n", s); }

/* ---- 1. manifold ------------------------------------------------------------------ */

/* "l0.q" -> its type "q" (after the last dot) and its layer "l0"; a name
 * without a dot ("attention", "all") has type "" and is its own layer. */
static const char *block_type(const char *b) {
    const char *d = strrchr(b, '.');
    return d ? d + 1 : "";
}

static void block_layer(const char *b, char *out, size_t n) {
    const char *d = strrchr(b, '.');
    snprintf(out, n, "%.*s", d ? (int)(d - b) : (int)strlen(b), b);
}

static const char *type_title(const char *t, char *buf, size_t n) {
    static const char *const known[][2] = {
        {"q", "W_Q (query)"}, {"k", "W_K (key)"}, {"v", "W_V (value)"}, {"o", "W_O (output)"}};
    for (int i = 0; i < 4; i++)
        if (!strcmp(t, known[i][0])) return known[i][1];
    snprintf(buf, n, "%s blocks", t);
    return buf;
}

/* The last panel's title: what it holds of "attention" and "all". */
static const char *together_title(const char *const *blocks, int nb) {
    bool attn = plot_has(blocks, nb, "attention"), all = plot_has(blocks, nb, "all");
    return attn && all ? "attention blocks together; whole vector"
           : all       ? "the whole parameter vector"
           : attn      ? "the attention blocks together"
                       : "other blocks";
}

#define R90_FILE "data/manifold_r90.dat"

/* trajectory.csv's r90 and null r90 of each block (NaN when absent), and
 * every row of it into R90_FILE (index, block, r90, r95, null r90, null
 * r95) for the bars. Returns the rows written. */
static int read_r90(plot_run *r, const char *const *blocks, int nb, double *r90, double *null,
                    double *top) {
    *top = 1;
    for (int i = 0; i < nb; i++) r90[i] = null[i] = NAN;
    const char *cols[] = {MG_COL(trajectory, block), MG_COL(trajectory, r90),
                          MG_COL(trajectory, r95), MG_COL(trajectory, null_r90),
                          MG_COL(trajectory, null_r95)};
    mg_csv *c = plot_csv_if(r, MG_RUN_TRAJ_CSV, NCOLS(cols), cols, "the r90 bars");
    if (!c) return 0;
    int col[5];
    for (int i = 0; i < 5; i++) col[i] = mg_csv_col(c, cols[i]);
    FILE *f = c->nrows ? plot_data_open(r, R90_FILE) : NULL;
    if (f) fprintf(f, "# i block r90 r95 null_r90 null_r95\n");
    for (size_t row = 0; row < c->nrows; row++) {
        const char *b = mg_csv_str(c, row, col[0]);
        for (int i = 0; i < nb; i++)
            if (!strcmp(b, blocks[i]))
                r90[i] = mg_csv_num(c, row, col[1]), null[i] = mg_csv_num(c, row, col[3]);
        if (!f) continue;
        fprintf(f, "%zu ", row);
        for (const char *q = b; *q; q++) fputc(isspace((unsigned char)*q) ? '_' : *q, f);
        for (int i = 1; i < 5; i++) {
            double v = mg_csv_num(c, row, col[i]);
            fprintf(f, isfinite(v) ? " %.9g" : " NaN", v);
            if (isfinite(v) && (i == 1 || i == 3)) *top = fmax(*top, v);
        }
        fputc('\n', f);
    }
    int n = f ? (int)c->nrows : 0;
    if (f) fclose(f);
    mg_csv_free(c);
    return n;
}

/* The bars: each block's r90 beside its null's mean r90. */
static void r90_bars(FILE *s, int n, double top) {
    fprintf(s,
            "set title 'r90 per block, beside its null' font ',11'\n"
            "set xrange [-0.6:%d.6]\nset yrange [0:%.9g]\nset xtics rotate by 90 right font ',8'\n"
            "set ytics auto\nset xlabel ''\nset ylabel 'r90 (components)'\nunset arrow\n"
            "set style fill solid 0.75 noborder\nset boxwidth 0.4\nset key top left font ',8'\n"
            "plot '" R90_FILE "' u ($1 - 0.2):3:xtic(2) w boxes lc rgb '" BLUE "' t 'r90', \\\n"
            "  '' u ($1 + 0.2):5 w boxes lc rgb '#bbbbbb' t 'null r90 (mean over draws)'\n",
            n - 1, 1.35 * top);
}

static void manifold(plot_run *r) {
    const char *cols[] = {MG_COL(explained, block), MG_COL(explained, k), MG_COL(explained, share),
                          MG_COL(explained, null_share)};
    mg_csv *c = plot_csv_if(r, MG_RUN_EXPLAINED, NCOLS(cols), cols, "the manifold");
    if (!c) return;
    const int bc = mg_csv_col(c, cols[0]), kc = mg_csv_col(c, cols[1]), sc = mg_csv_col(c, cols[2]),
              nc = mg_csv_col(c, cols[3]);
    const char *blocks[MAX_BLOCKS], *types[MAX_TYPES + 1], *layers[MAX_BLOCKS];
    char lname[MAX_BLOCKS][64], files[MAX_BLOCKS][320];
    int nb = plot_distinct(c, bc, blocks, MAX_BLOCKS), nt = 0, nl = 0, panel[MAX_BLOCKS],
        layer[MAX_BLOCKS];
    bool together = false;
    int kmax = 5, kall = 1; /* the x axis: to 2 past where every line reaches 0.95 */
    double ylo = 1;         /* the smallest first share: the y axis starts below it */
    for (int b = 0; b < nb; b++) {
        const char *t = block_type(blocks[b]);
        block_layer(blocks[b], lname[b], sizeof lname[b]);
        if (!plot_has(layers, nl, lname[b]) && t[0]) layers[nl++] = lname[b];
        for (layer[b] = 0; layer[b] < nl && strcmp(layers[layer[b]], lname[b]); layer[b]++) {}
        if (!t[0]) { /* "attention", "all": the last panel, coloured by order */
            together = true, panel[b] = -1;
            continue;
        }
        if (nt < MAX_TYPES && !plot_has(types, nt, t)) types[nt++] = t;
        for (panel[b] = 0; panel[b] < nt && strcmp(types[panel[b]], t); panel[b]++) {}
        if (panel[b] == nt) panel[b] = -1, together = true; /* a fifth type */
    }
    /* One data file per block: k, share, cumulative, null share, null cumulative. */
    for (int b = 0; b < nb; b++) {
        plot_data_name(files[b], sizeof files[b], "manifold_", blocks[b], ".dat");
        FILE *f = plot_data_open(r, files[b]);
        if (!f) {
            mg_csv_free(c);
            return;
        }
        fprintf(f, "# k share cumulative null_share null_cumulative\n");
        double cum = 0, ncum = 0;
        int k95 = 0;
        for (size_t row = 0; row < c->nrows; row++) {
            if (strcmp(mg_csv_str(c, row, bc), blocks[b])) continue;
            double s = mg_csv_num(c, row, sc), n = mg_csv_num(c, row, nc);
            int k = (int)mg_csv_num(c, row, kc);
            cum += isfinite(s) ? s : 0, ncum += isfinite(n) ? n : 0;
            fprintf(f, "%d %.9g %.9g %.9g %.9g\n", k, s, cum, n, ncum);
            if (k == 1) ylo = fmin(ylo, fmin(cum, ncum));
            if (!k95 && cum >= 0.95 && ncum >= 0.95) k95 = k;
            kall = k > kall ? k : kall;
        }
        fclose(f);
        if (!k95) k95 = kall; /* never reached: the whole axis */
        kmax = k95 + 2 > kmax ? k95 + 2 : kmax;
    }
    kmax = kmax < kall ? kmax : kall;
    double r90[MAX_BLOCKS], null90[MAX_BLOCKS];
    double top;
    int nbars = read_r90(r, blocks, nb, r90, null90, &top);
    if (!nb) cli_error("note: %s/" MG_RUN_EXPLAINED " has no rows; skipping the manifold", r->dir);
    plot_body body;
    FILE *s = nb ? plot_body_open(&body) : NULL;
    if (!s) { /* blocks[] and types[] point into c: freed after the drawing */
        mg_csv_free(c);
        return;
    }
    int np = nt + together, npanels = np + (nbars > 0);
    plot_begin(s, r, "Explained variance of the parameter trajectory",
               npanels == 1   ? "1,1 margins 0.13,0.95,0.12,0.84"
               : npanels <= 2 ? "1,2 margins 0.07,0.97,0.12,0.84 spacing 0.08,0.1"
               : npanels <= 4 ? "2,2 margins 0.07,0.97,0.08,0.86 spacing 0.08,0.13"
                              : "2,3 margins 0.06,0.98,0.08,0.86 spacing 0.06,0.13");
    fprintf(s,
            "set xlabel 'principal component k'\nset ylabel 'cumulative share of variance'\n"
            "set xrange [0.5:%d.5]\nset yrange [%.1f:1.02]\nset xtics %d font ',9'\n"
            "set ytics font ',9'\nset key bottom right font ',8'\n"
            "set arrow from graph 0, first 0.9 to graph 1, first 0.9 nohead dt 3 lw 1.5 "
            "lc rgb '" GREY "' back\n",
            kmax, fmax(0, floor(10 * ylo - 0.5) / 10),
            kmax <= 12   ? 1
            : kmax <= 24 ? 2
                         : 5);
    for (int p = 0; p < np; p++) {
        bool last = p == nt; /* the together panel */
        char tb[96];
        fputs("set title ", s);
        plot_quote(s, last ? together_title(blocks, nb) : type_title(types[p], tb, sizeof tb));
        fputs(" font ',11'\nplot ", s);
        int drawn = 0;
        for (int b = 0; b < nb; b++) {
            if (last ? panel[b] >= 0 : panel[b] != p) continue;
            const char *col = last ? plot_color(drawn + 5) : plot_color(layer[b]);
            char t[160];
            int k = snprintf(t, sizeof t, "%s", last ? blocks[b] : lname[b]);
            if (isfinite(r90[b]))
                snprintf(t + k, sizeof t - (size_t)k, ": r90 %.0f, null %.3g", r90[b], null90[b]);
            fprintf(s, "%s'%s' u 1:3 w lp pt 7 ps 0.5 lw 2 lc rgb '%s' t ", drawn ? ", \\\n  " : "",
                    files[b], col);
            plot_quote(s, t);
            fprintf(s, ", \\\n  '' u 1:5 w l lw 1 dt 2 lc rgb '%s' notitle", col);
            drawn++;
        }
        fputs(", \\\n  NaN w l lw 1 dt 2 lc rgb '" GREY "' t 'dashed: matched random walk', \\\n"
              "  NaN w l lw 1.5 dt 3 lc rgb '" GREY "' t 'dotted: 0.9 of the variance (r90)'\n",
              s);
    }
    if (nbars) r90_bars(s, nbars, top);
    mg_csv_free(c);
    plot_draw(r, &body, "manifold",
              npanels == 1   ? 760
              : npanels <= 2 ? 1100
                             : 1300,
              npanels <= 2 ? 520 : 820);
}

/* ---- 2. commutator ---------------------------------------------------------------- */

/* Writes the early and late medians of v[0..m) (steps x) as two segments,
 * each from its window's first measurement to its last, widened to halfway
 * to the neighbouring measurements. */
static bool medians(plot_run *r, const char *file, const double *x, const double *v, size_t m,
                    double out[2]) {
    size_t k = m / 5 ? m / 5 : 1;
    double *tmp = malloc(k * sizeof *tmp);
    FILE *f = tmp ? plot_data_open(r, file) : NULL;
    if (!f) {
        free(tmp);
        return false;
    }
    fprintf(f, "# step median (early: first %zu of %zu measurements; late: last %zu)\n", k, m, k);
    for (int w = 0; w < 2; w++) {
        size_t lo = w ? m - k : 0, hi = w ? m - 1 : k - 1;
        memcpy(tmp, v + lo, k * sizeof *tmp);
        out[w] = median(tmp, k);
        double x0 = lo > 0 ? 0.5 * (x[lo - 1] + x[lo]) : x[lo];
        double x1 = hi + 1 < m ? 0.5 * (x[hi] + x[hi + 1]) : x[hi];
        fprintf(f, "%s%.9g %.9g\n%.9g %.9g\n", w ? "\n\n" : "", x0, out[w], x1, out[w]);
    }
    free(tmp);
    fclose(f);
    return true;
}

static void commutator(plot_run *r) {
    const char *cols[] = {MG_COL(commutator, step), MG_COL(commutator, rho_exec),
                          MG_COL(commutator, rho_rand_full), MG_COL(commutator, rho_rand_block)};
    mg_csv *c = plot_csv_if(r, MG_RUN_COMMUTATOR, NCOLS(cols), cols, "the commutator");
    if (!c) return;
    int col[4];
    for (int i = 0; i < 4; i++) col[i] = mg_csv_col(c, cols[i]);
    size_t n = c->nrows, m = 0;
    double *v = malloc((n ? n : 1) * 3 * sizeof *v), *x = v, *full = v + n, *block = v + 2 * n;
    FILE *f = v ? plot_data_open(r, "data/commutator.dat") : NULL;
    plot_range g;
    plot_range_init(&g);
    double top = 0; /* the largest ratio */
    if (f) {
        fprintf(f, "# step rho_exec rho_rand_full rho_rand_block ratio_full ratio_block\n");
        for (size_t row = 0; row < n; row++) {
            double rho = mg_csv_num(c, row, col[1]);
            if (!isfinite(rho)) continue; /* no execution basis yet */
            double rf = mg_csv_num(c, row, col[2]), rb = mg_csv_num(c, row, col[3]);
            x[m] = mg_csv_num(c, row, col[0]);
            full[m] = rho / rf, block[m] = rho / rb;
            fprintf(f, "%.9g", x[m]);
            double vals[5] = {rho, rf, rb, full[m], block[m]};
            for (int i = 0; i < 5; i++) fprintf(f, isfinite(vals[i]) ? " %.9g" : " NaN", vals[i]);
            fputc('\n', f);
            for (int i = 3; i < 5; i++)
                if (isfinite(vals[i])) top = fmax(top, vals[i]);
            for (int i = 0; i < 3; i++)
                if (isfinite(vals[i]))
                    g.n++, g.lo = fmin(g.lo, vals[i] > 0 ? vals[i] : g.lo),
                           g.hi = fmax(g.hi, vals[i]);
            m++;
        }
        fclose(f);
    }
    mg_csv_free(c);
    double med[2][2];
    bool ok = f && m && medians(r, "data/commutator_ratio_full.dat", x, full, m, med[0]) &&
              medians(r, "data/commutator_ratio_block.dat", x, block, m, med[1]);
    double xmax = m ? x[m - 1] : 1;
    free(v);
    bool log = plot_range_log(&g);
    if (f && !m)
        cli_error("note: %s/" MG_RUN_COMMUTATOR " has no measurement with an execution basis "
                  "(too few snapshots); skipping the commutator",
                  r->dir);
    if (!ok) return;
    plot_body b;
    FILE *s = plot_body_open(&b);
    if (!s) return;
    plot_begin(s, r, "SGD commutator in the execution basis", NULL);
    fprintf(s, "set lmargin at screen 0.10\nset rmargin at screen 0.97\nset key font ',9'\n");
    linear_steps(s, r, xmax);
    plot_stack(s, 0, 2, 0.91, 0.09);
    plot_clocks(s, r, true);
    plot_yscale(s, log);
    if (log) plot_headroom(s, &g); /* room for the key */
    else fprintf(s, "set yrange [0:%.9g]\n", g.n ? 1.3 * g.hi : 1);
    fprintf(s, "set ylabel \"share of delta in a basis\\n|B B^T delta| / |delta|\"\n"
               "set key top right vertical\n" /* the clocks' labels are at the top left */
               "plot 'data/commutator.dat' u 1:2 w lp pt 7 ps 0.6 lw 2.5 lc rgb '" DARK
               "' t 'rho_exec (execution basis)', \\\n"
               "  '' u 1:3 lw 1.5 dt 2 lc rgb '" GREY "' t 'rho_rand, full space', \\\n"
               "  '' u 1:4 lw 1.5 dt 2 lc rgb '" ORANGE "' t 'rho_rand, block-matched'\n");
    plot_stack(s, 1, 2, 0.91, 0.09);
    linear_label(s);
    plot_clocks(s, r, false);
    plot_yscale(s, false);
    fprintf(s,
            "set yrange [0:%.9g]\nset ylabel 'rho_exec / rho_rand'\nset key top left\n"
            "set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 3 lc rgb '#555555'\n"
            "plot 'data/commutator.dat' u 1:5 w lp pt 6 ps 0.6 lw 1 lc rgb '" GREY
            "' t 'full space', \\\n"
            "  '' u 1:6 w lp pt 6 ps 0.6 lw 1 lc rgb '" ORANGE "' t 'block-matched', \\\n",
            top > 1 ? 1.45 * top : 1.45);
    const char *names[2] = {"full space", "block-matched"}, *colors[2] = {GREY, ORANGE},
               *files[2] = {"data/commutator_ratio_full.dat", "data/commutator_ratio_block.dat"};
    for (int i = 0; i < 2; i++) {
        char t[200];
        snprintf(t, sizeof t, "%s medians: early %.3gx, late %.3gx", names[i], med[i][0],
                 med[i][1]);
        fprintf(s, "  '%s' u 1:2 w l lw 4 lc rgb '%s' t ", files[i], colors[i]);
        plot_quote(s, t);
        fputs(i ? "\n" : ", \\\n", s);
    }
    plot_draw(r, &b, "commutator", 1000, 720);
}

/* ---- 3. defect -------------------------------------------------------------------- */

static void defect(plot_run *r) {
    const char *cols[] = {MG_COL(commutator, step), MG_COL(commutator, defect),
                          MG_COL(commutator, cos_ab)};
    mg_csv *c = plot_csv_if(r, MG_RUN_COMMUTATOR, NCOLS(cols), cols, "the defect");
    if (!c) return;
    size_t n = c->nrows;
    double *d = malloc((n ? n : 1) * sizeof *d), xmax = 1;
    plot_range g;
    plot_range_init(&g);
    FILE *f = d ? plot_data_open(r, "data/defect.dat") : NULL;
    if (f) {
        fprintf(f, "# step D cos_ab\n");
        for (size_t row = 0; row < n; row++) {
            double x = mg_csv_num(c, row, mg_csv_col(c, cols[0]));
            double D = mg_csv_num(c, row, mg_csv_col(c, cols[1])),
                   cs = mg_csv_num(c, row, mg_csv_col(c, cols[2]));
            d[row] = D, xmax = fmax(xmax, x);
            if (isfinite(D) && D > 0) g.n++, g.lo = fmin(g.lo, D), g.hi = fmax(g.hi, D);
            fprintf(f, "%.9g", x);
            fprintf(f, isfinite(D) ? " %.9g" : " NaN", D);
            fprintf(f, isfinite(cs) ? " %.9g\n" : " NaN\n", cs);
        }
        fclose(f);
    }
    mg_csv_free(c);
    double mx = NAN;
    for (size_t i = 0; d && i < n; i++)
        if (isfinite(d[i]) && !(d[i] <= mx)) mx = d[i];
    double med = d ? median(d, n) : NAN;
    free(d);
    if (!f) return;
    if (!g.n) {
        cli_error("note: %s/" MG_RUN_COMMUTATOR " has no positive D; skipping the defect", r->dir);
        return;
    }
    plot_body b;
    FILE *s = plot_body_open(&b);
    if (!s) return;
    plot_begin(s, r, "Commutator defect D = |delta| / (|eta g_A| |eta g_B|)", NULL);
    fprintf(s, "set lmargin at screen 0.10\nset rmargin at screen 0.97\nset key font ',9'\n");
    linear_steps(s, r, xmax);
    plot_stack(s, 0, 2, 0.91, 0.09);
    plot_clocks(s, r, true);
    plot_yscale(s, true);
    plot_range hr = g;
    hr.lo = fmin(g.lo, med), hr.hi = fmax(g.hi, med);
    plot_headroom(s, &hr);
    char t[160];
    snprintf(t, sizeof t, "median %.3g (max / median %.3g)", med, mx / med);
    fprintf(s,
            "set ylabel 'D (the median of %d draws; log)'\nset key top right\n"
            "set arrow from graph 0, first %.9g to graph 1, first %.9g nohead dt 2 lw 1.5 "
            "lc rgb '" GREY "' back\n"
            "plot 'data/defect.dat' u 1:2 w lp pt 7 ps 0.6 lw 2 lc rgb '" BLUE "' t 'D', \\\n"
            "  NaN w l dt 2 lw 1.5 lc rgb '" GREY "' t ",
            MG_COMMUTATOR_DRAWS, med, med);
    plot_quote(s, t);
    fputc('\n', s);
    plot_stack(s, 1, 2, 0.91, 0.09);
    linear_label(s);
    plot_clocks(s, r, false);
    plot_yscale(s, false);
    fprintf(s, "set yrange [-1.05:1.05]\nset ylabel 'cos(g_A, g_B)'\nunset key\n"
               "plot 'data/defect.dat' u 1:3 w lp pt 7 ps 0.5 lw 1.5 lc rgb '" DARK "'\n");
    plot_draw(r, &b, "defect", 1000, 680);
}

void plot_manifold_study(plot_run *r) {
    manifold(r);
    commutator(r);
    defect(r);
    plot_attention(r);
    plot_ablation(r);
}
