/* plot_cmd.c — `modgrad plot RUN`: the run's pictures, drawn by gnuplot into
 * RUN/plots as PNG and SVG.
 *
 *   curves    train/test loss (log) and accuracy against step, with the clocks
 *   probes    rel_grad_norm, update_ratio and displacement of the classifier
 *             and the embedding (other layers thin grey) against step
 *   spectrum  the final Fourier energies of the embedding and the classifier
 *   circle    each residue's point in the plane of the top frequency
 *   geometry  Fourier structure, ranks, neural collapse, plane locking and
 *             structural energy against step
 *
 * and through plot.h the two clocks' (plot_clocks.c: clocks, dynamics;
 * plot_hierarchy.c: hierarchy; plot_progress.c: progress) and the execution-manifold study's
 * (plot_manifold.c: manifold, commutator, defect, attention, ablation; plot_sae.c: sae_step_NNNNNN
 * per `modgrad sae` checkpoint).
 *
 * Steps are drawn on a log axis (step 0 at 1), the clocks from summary.json
 * (t_fit, t_grok, t_simplify) as dashed vertical lines. A picture whose file
 * is missing (older runs have metrics.csv only) is skipped with a note. The
 * data files and scripts are kept in RUN/plots/data (see plot.h). */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/harness/modelfile.h"
#include "models/harness/rundir.h"
#include "tools/cli/cli.h"
#include "tools/cli/plot.h"

#define BLUE "#1f77b4" /* classifier; train */
#define RED "#d62728"  /* embedding; test */
#define GREEN "#2ca02c"
#define GREY "#aaaaaa"
#define MAX_LAYERS 64

/* ---- 1. curves ---------------------------------------------------------------- */

static void curves(plot_run *r) {
    const char *cols[] = {MG_COL(metrics, step), MG_COL(metrics, train_loss),
                          MG_COL(metrics, train_acc), MG_COL(metrics, test_loss),
                          MG_COL(metrics, test_acc)};
    mg_csv *c = plot_csv(r, MG_RUN_METRICS, (int)(sizeof cols / sizeof *cols), cols, "the curves");
    if (!c) return;
    FILE *f = plot_data_open(r, "data/curves.dat");
    double xmax = 1;
    plot_range loss;
    plot_range_init(&loss);
    if (f) {
        fprintf(f, "# step train_loss train_acc test_loss test_acc\n");
        for (size_t row = 0; row < c->nrows; row++) {
            double x = plot_x(mg_csv_num(c, row, mg_csv_col(c, MG_COL(metrics, step))));
            xmax = x > xmax ? x : xmax;
            fprintf(f, "%.9g", x);
            for (int i = 1; i < 5; i++) {
                double v = mg_csv_num(c, row, mg_csv_col(c, cols[i]));
                fprintf(f, isfinite(v) ? " %.9g" : " NaN", v);
                if (i % 2 && isfinite(v) && v > 0) /* a loss */
                    loss.n++, loss.lo = fmin(loss.lo, v), loss.hi = fmax(loss.hi, v);
            }
            fputc('\n', f);
        }
        fclose(f);
    }
    size_t rows = c->nrows;
    mg_csv_free(c);
    if (!f) return;
    if (!rows) {
        cli_error("note: %s/" MG_RUN_METRICS " has no rows; skipping the curves", r->dir);
        return;
    }
    plot_body b;
    FILE *s = plot_body_open(&b);
    if (!s) return;
    plot_begin(s, r, "Loss and accuracy", NULL);
    fprintf(s, "set lmargin at screen 0.09\nset rmargin at screen 0.97\n");
    plot_step_axis(s, r, xmax);
    plot_stack(s, 0, 2, 0.91, 0.10);
    plot_clocks(s, r, true);
    plot_yscale(s, true);
    plot_headroom(s, &loss);
    fprintf(s, "set ylabel 'loss (cross-entropy)'\nset key bottom left\n"
               "plot 'data/curves.dat' u 1:2 lw 2 lc rgb '" BLUE "' t 'train loss', \\\n"
               "  '' u 1:4 lw 2 lc rgb '" RED "' t 'test loss'\n");
    plot_stack(s, 1, 2, 0.91, 0.10);
    plot_clocks(s, r, false);
    plot_yscale(s, false);
    fprintf(s, "set ylabel 'accuracy'\nset yrange [-0.03:1.03]\nset key center left\n"
               "plot 'data/curves.dat' u 1:3 lw 2 lc rgb '" BLUE "' t 'train accuracy', \\\n"
               "  '' u 1:5 lw 2 lc rgb '" RED "' t 'test accuracy'\n");
    plot_draw(r, &b, "curves", 1000, 620);
}

/* ---- 2. probes ---------------------------------------------------------------- */

static void probes(plot_run *r) {
    const char *cols[] = {MG_COL(probes, step), MG_COL(probes, layer),
                          MG_COL(probes, rel_grad_norm), MG_COL(probes, update_ratio),
                          MG_COL(probes, displacement)};
    mg_csv *c = plot_csv(r, MG_RUN_PROBES, (int)(sizeof cols / sizeof *cols), cols, "the probes");
    if (!c) return;
    const char *layers[MAX_LAYERS];
    int nl = plot_distinct(c, mg_csv_col(c, MG_COL(probes, layer)), layers, MAX_LAYERS);
    plot_guess_layers(r, layers, nl);
    int vcols[3] = {mg_csv_col(c, cols[2]), mg_csv_col(c, cols[3]), mg_csv_col(c, cols[4])};
    char files[MAX_LAYERS][320];
    plot_range g[3];
    bool have[MAX_LAYERS] = {false};
    for (int i = 0; i < 3; i++) plot_range_init(&g[i]);
    for (int l = 0; l < nl; l++) {
        plot_data_name(files[l], sizeof files[l], "probes_", layers[l], ".dat");
        have[l] = plot_series(r, files[l], c, mg_csv_col(c, MG_COL(probes, layer)), layers[l], -1,
                              NULL, 3, vcols, NULL) > 0;
    }
    /* Ranges per quantity, over every layer. */
    for (int i = 0; i < 3; i++)
        for (size_t row = 0; row < c->nrows; row++) {
            double v = mg_csv_num(c, row, vcols[i]);
            double x = plot_x(mg_csv_num(c, row, mg_csv_col(c, MG_COL(probes, step))));
            if (!isfinite(v)) continue;
            g[i].n++;
            if (v > 0 && v < g[i].lo) g[i].lo = v;
            if (v > g[i].hi) g[i].hi = v;
            if (x > g[i].xmax) g[i].xmax = x;
        }
    bool empty = c->nrows == 0;
    if (empty) cli_error("note: %s/" MG_RUN_PROBES " has no rows; skipping the probes", r->dir);
    if (empty) {
        mg_csv_free(c);
        return;
    }
    plot_body b;
    FILE *s = plot_body_open(&b);
    if (!s) {
        mg_csv_free(c);
        return;
    }
    plot_begin(s, r, "Per-layer probes", NULL);
    fprintf(s, "set lmargin at screen 0.10\nset rmargin at screen 0.97\n");
    plot_step_axis(s, r, g[0].xmax);
    const char *ylabels[3] = {"relative gradient\\n|grad| / |W|", "update ratio\\n|dW| / |W|",
                              "displacement\\n|W - W0| / |W0|"};
    for (int i = 0; i < 3; i++) {
        plot_stack(s, i, 3, 0.90, 0.08);
        plot_clocks(s, r, i == 0);
        plot_yscale(s, plot_range_log(&g[i]));
        if (i == 0 && plot_range_log(&g[i])) plot_headroom(s, &g[i]); /* for the clock labels */
        else fputs(g[i].n ? "set yrange [*:*]\n" : "set yrange [0:1]\n", s); /* no data */
        /* One key, in a row under the title (the other panels draw none). */
        fprintf(s, "set ylabel \"%s\"\n%s\n", ylabels[i],
                i ? "unset key" : "set key at screen 0.5, screen 0.935 center center horizontal");
        fputs("plot ", s);
        bool first = true, grey_titled = false;
        /* Other layers first (thin grey, one key entry naming them), then the
         * embedding and the classifier on top. */
        char others[512] = "";
        for (int l = 0; l < nl; l++)
            if (have[l] && strcmp(layers[l], r->embed) && strcmp(layers[l], r->classifier))
                snprintf(others + strlen(others), sizeof others - strlen(others), "%s%s",
                         others[0] ? ", " : "other layers: ", layers[l]);
        for (int l = 0; l < nl; l++) {
            if (!have[l] || !strcmp(layers[l], r->embed) || !strcmp(layers[l], r->classifier))
                continue;
            fprintf(s, "%s'%s' u 1:%d lw 1 lc rgb '" GREY "' ", first ? "" : ", \\\n  ", files[l],
                    i + 2);
            if (grey_titled || i) fputs("notitle", s);
            else fputs("t ", s), plot_quote(s, others);
            first = false, grey_titled = true;
        }
        const char *main_layers[2] = {r->embed, r->classifier};
        const char *colors[2] = {RED, BLUE};
        const char *what[2] = {"embedding", "classifier"}, *usual[2] = {"embed", "classifier"};
        for (int m = 0; m < 2; m++)
            for (int l = 0; l < nl; l++) {
                if (!have[l] || strcmp(layers[l], main_layers[m])) continue;
                char t[160];
                if (strcmp(layers[l], usual[m]))
                    snprintf(t, sizeof t, "%s (%s)", what[m], layers[l]);
                else snprintf(t, sizeof t, "%s", what[m]);
                fprintf(s, "%s'%s' u 1:%d lw 2.5 lc rgb '%s' ", first ? "" : ", \\\n  ", files[l],
                        i + 2, colors[m]);
                if (i) fputs("notitle", s);
                else fputs("t ", s), plot_quote(s, t);
                first = false;
            }
        fputc('\n', s);
    }
    mg_csv_free(c);
    plot_draw(r, &b, "probes", 1000, 800);
}

/* ---- 3. spectrum -------------------------------------------------------------- */

static void spectrum(plot_run *r) {
    const char *cols[] = {MG_COL(spectrum, layer), MG_COL(spectrum, k), MG_COL(spectrum, energy)};
    mg_csv *c =
        plot_csv(r, MG_RUN_SPECTRUM, (int)(sizeof cols / sizeof *cols), cols, "the spectrum");
    if (!c) return;
    const char *names[MAX_LAYERS], *use[2];
    const int lcol = mg_csv_col(c, MG_COL(spectrum, layer));
    int nn = plot_distinct(c, lcol, names, MAX_LAYERS);
    plot_guess_layers(r, names, nn);
    int nu = plot_main_layers(r, names, nn, use), kcol = mg_csv_col(c, MG_COL(spectrum, k)),
        ecol = mg_csv_col(c, MG_COL(spectrum, energy)), kmax = 1;
    plot_body b;
    FILE *s = nu ? plot_body_open(&b) : NULL;
    if (!s) {
        if (!nu)
            cli_error("note: " MG_RUN_SPECTRUM " has no rows for the embedding or the classifier");
        mg_csv_free(c);
        return;
    }
    for (size_t row = 0; row < c->nrows; row++)
        if (mg_csv_num(c, row, kcol) > kmax) kmax = (int)mg_csv_num(c, row, kcol);
    plot_begin(s, r, "Final Fourier spectra", NULL);
    fprintf(s,
            "set lmargin at screen 0.09\nset rmargin at screen 0.97\n"
            "set xrange [0.4:%d.6]\nset xtics 0,%d out nomirror\nset mxtics %d\n"
            "set grid noxtics\nset style fill solid 0.85 noborder\nset boxwidth 0.75\n",
            kmax, kmax > 20 ? 5 : 1, kmax > 20 ? 5 : 1);
    for (int u = 0; u < nu; u++) {
        double tot = 0, mx = 0;
        int top = 0;
        for (size_t row = 0; row < c->nrows; row++) {
            if (strcmp(mg_csv_str(c, row, lcol), use[u])) continue;
            double e = mg_csv_num(c, row, ecol);
            if (!isfinite(e)) continue;
            tot += e;
            if (e > mx) mx = e, top = (int)mg_csv_num(c, row, kcol);
        }
        char file[320];
        plot_data_name(file, sizeof file, "spectrum_", use[u], ".dat");
        FILE *f = plot_data_open(r, file);
        if (!f) break;
        /* Key frequencies: energy at least a quarter of the largest (analysis/README.md). */
        double key_e = 0;
        int nkey = 0;
        fprintf(f, "# k share_of_energy is_key\n");
        for (size_t row = 0; row < c->nrows; row++) {
            if (strcmp(mg_csv_str(c, row, lcol), use[u])) continue;
            double e = mg_csv_num(c, row, ecol);
            bool key = isfinite(e) && mx > 0 && e >= mx / 4;
            if (key) key_e += e, nkey++;
            fprintf(f, "%d %.9g %d\n", (int)mg_csv_num(c, row, kcol), tot > 0 ? e / tot : 0.0, key);
        }
        fclose(f);
        plot_stack(s, u, nu, 0.90, 0.10);
        fprintf(s, "unset arrow\nunset label\nunset logscale y\nset format y '%%g'\n");
        if (u == nu - 1) fprintf(s, "set xlabel 'frequency k'\nset format x '%%g'\n");
        char t[256], rb[96];
        snprintf(t, sizeof t, "%s: top k = %d; %d key frequencies hold %.0f%% of the energy",
                 plot_role(r, use[u], rb, sizeof rb), top, nkey, tot > 0 ? 100 * key_e / tot : 0.0);
        /* Headroom above the tallest bar for its label, the text and the key. */
        fprintf(s, "set yrange [0:%.9g]\n%s\n", tot > 0 && mx > 0 ? 1.35 * mx / tot : 1.0,
                u ? "unset key" : "set key top right");
        fputs("set label ", s);
        plot_quote(s, t);
        fprintf(s, " at graph 0.01, graph 0.93 left front font ',10'\n"
                   "set ylabel 'share of energy'\n");
        if (tot > 0)
            fprintf(s,
                    "set arrow from graph 0, first %.9g to graph 1, first %.9g nohead dt 2 "
                    "lc rgb '#777777' front\n",
                    mx / 4 / tot, mx / 4 / tot);
        fprintf(s,
                "plot '%s' u 1:($3 > 0 ? NaN : $2) w boxes lc rgb '" GREY "' t 'other', \\\n"
                "  '' u 1:($3 > 0 ? $2 : NaN) w boxes lc rgb '%s' "
                "t 'key frequency (>= 1/4 of the top; dashed line)', \\\n"
                "  '' u 1:($3 > 0 ? $2 : NaN):(sprintf('%%d', $1)) w labels offset 0,0.7 "
                "font ',9' notitle\n",
                file, strcmp(use[u], r->embed) ? BLUE : RED);
    }
    mg_csv_free(c);
    plot_draw(r, &b, "spectrum", 1000, 600);
}

/* ---- 4. circle -------------------------------------------------------------------- */

static void circle(plot_run *r) {
    const char *cols[] = {MG_COL(circle, layer), MG_COL(circle, residue), MG_COL(circle, x),
                          MG_COL(circle, y)};
    mg_csv *c = plot_csv(r, MG_RUN_CIRCLE, (int)(sizeof cols / sizeof *cols), cols, "the circles");
    if (!c) return;
    const char *names[MAX_LAYERS], *use[2];
    const int lcol = mg_csv_col(c, MG_COL(circle, layer)),
              rcol = mg_csv_col(c, MG_COL(circle, residue));
    const int xcol = mg_csv_col(c, MG_COL(circle, x)), ycol = mg_csv_col(c, MG_COL(circle, y));
    int nn = plot_distinct(c, lcol, names, MAX_LAYERS);
    plot_guess_layers(r, names, nn);
    int nu = plot_main_layers(r, names, nn, use);
    plot_body b;
    FILE *s = nu ? plot_body_open(&b) : NULL;
    if (!s) {
        if (!nu)
            cli_error("note: " MG_RUN_CIRCLE " has no rows for the embedding or the classifier");
        mg_csv_free(c);
        return;
    }
    plot_begin(s, r, "Residues in the plane of the top frequency", nu == 2 ? "1,2" : "1,1");
    /* Colour = the residue's ideal angle k*x mod p as a fraction of the turn:
     * a perfect circle shows a smooth colour wheel. */
    fprintf(s, "set palette model HSV defined (0 0 0.9 0.85, 1 1 0.9 0.85)\nset cbrange [0:1]\n"
               "unset colorbox\nset size ratio -1\nset key off\n");
    for (int u = 0; u < nu; u++) {
        int n = 0, p = r->p, k = r->top[strcmp(use[u], r->embed) ? 1 : 0];
        double rad = 0, m = 0;
        for (size_t row = 0; row < c->nrows; row++) {
            if (strcmp(mg_csv_str(c, row, lcol), use[u])) continue;
            double x = mg_csv_num(c, row, xcol), y = mg_csv_num(c, row, ycol);
            if (!isfinite(x) || !isfinite(y)) continue;
            n++, rad += sqrt(x * x + y * y);
            m = fmax(m, fmax(fabs(x), fabs(y)));
        }
        if (p < 2) p = n;
        rad /= n > 0 ? n : 1;
        double *px = calloc((size_t)p, sizeof *px), *py = calloc((size_t)p, sizeof *py);
        bool *seen = calloc((size_t)p, sizeof *seen), fitted = false;
        for (size_t row = 0; px && py && seen && row < c->nrows; row++) {
            int res = (int)mg_csv_num(c, row, rcol);
            if (strcmp(mg_csv_str(c, row, lcol), use[u]) || res < 0 || res >= p) continue;
            px[res] = mg_csv_num(c, row, xcol), py[res] = mg_csv_num(c, row, ycol),
            seen[res] = true;
        }
        /* No top frequency in summary.json: the k whose ideal angles 2 pi k x / p
         * the points follow best, |sum_x exp(i (theta_x - 2 pi k x / p))|. */
        if (k <= 0 && px && py && seen) {
            double best = -1;
            for (int kk = 1; kk < p; kk++) {
                double re = 0, im = 0;
                for (int x = 0; x < p; x++) {
                    if (!seen[x] || !isfinite(px[x]) || !isfinite(py[x])) continue;
                    double t = atan2(py[x], px[x]) - 2 * M_PI * kk * x / p;
                    re += cos(t), im += sin(t);
                }
                if (re * re + im * im > best) best = re * re + im * im, k = kk;
            }
            fitted = k > 0;
        }
        char file[320], ring[320];
        plot_data_name(file, sizeof file, "circle_", use[u], ".dat");
        plot_data_name(ring, sizeof ring, "circle_", use[u], "_ring.dat");
        /* The ring joins each residue to its ideal neighbour x + k^-1 (mod p). */
        int kinv = 0;
        for (int i = 1; k > 0 && i < p && !kinv; i++)
            if ((long)i * k % p == 1) kinv = i;
        FILE *f = plot_data_open(r, file), *g = kinv ? plot_data_open(r, ring) : NULL;
        if (!f || !px || !py || !seen) {
            if (f) fclose(f);
            if (g) fclose(g);
            free(px), free(py), free(seen);
            break;
        }
        fprintf(f, "# x y residue ideal_angle_fraction\n");
        for (size_t row = 0; row < c->nrows; row++) {
            if (strcmp(mg_csv_str(c, row, lcol), use[u])) continue;
            int res = (int)mg_csv_num(c, row, rcol);
            double frac = k > 0 ? (double)((long)k * res % p) / p : (double)res / p;
            fprintf(f, "%.9g %.9g %d %.6f\n", mg_csv_num(c, row, xcol), mg_csv_num(c, row, ycol),
                    res, frac);
        }
        for (int j = 0; g && j <= p; j++) {
            int res = (int)((long)j * kinv % p);
            if (seen[res]) fprintf(g, "%.9g %.9g\n", px[res], py[res]);
        }
        free(px), free(py), free(seen);
        fclose(f);
        if (g) fclose(g);
        m = m > 0 ? m * 1.18 : 1;
        char t[200], rb[96];
        if (k > 0) /* k and p - k are one frequency, the plane seen from behind */
            snprintf(t, sizeof t, "%s, frequency k = %d%s", plot_role(r, use[u], rb, 96),
                     k <= p / 2 ? k : p - k, fitted ? " (fitted to the points)" : "");
        else snprintf(t, sizeof t, "%s, top frequency", plot_role(r, use[u], rb, 96));
        fputs("set title ", s);
        plot_quote(s, t);
        fprintf(s,
                " font ',11'\nunset object\nset object 1 circle at 0,0 size %.9g fs empty "
                "border lc rgb '#bbbbbb' dt 2 back\n"
                "set xrange [%.9g:%.9g]\nset yrange [%.9g:%.9g]\n"
                "set xlabel 'cos component'\nset ylabel 'sin component'\n"
                "plot ",
                rad, -m, m, -m, m);
        if (kinv) fprintf(s, "'%s' u 1:2 w l lw 0.6 lc rgb '#cccccc', \\\n  ", ring);
        fprintf(s,
                "'%s' u 1:2:4 w p pt 7 ps 1.1 lc palette, \\\n"
                "  '' u ($1 * 1.1):($2 * 1.1):(int($3) %% %d == 0 ? sprintf('%%d', int($3)) : '') "
                "w labels font ',%d' tc rgb '#333333'\n",
                file, p <= 60 ? 1 : 5, p <= 60 ? 8 : 9);
    }
    mg_csv_free(c);
    plot_draw(r, &b, "circle", 1100, 600);
}

/* ---- 5. geometry ------------------------------------------------------------------ */

typedef struct {
    const char *layer, *metric, *title, *color;
    int dt;  /* dash type */
    bool y2; /* on the right axis */
} geo_line;

typedef struct {
    const char *title, *ylabel, *yrange;
    const char *key; /* where the key goes (NULL: top left) */
    geo_line lines[6];
} geo_panel;

/* The first 2-D weight (it has eff_rank) of a layer: "classifier.w" for "classifier". */
static const char *weight_of(const char *const *ranked, int n, const char *layer) {
    size_t len = strlen(layer);
    for (int i = 0; i < n; i++)
        if (!strncmp(ranked[i], layer, len) && (!ranked[i][len] || ranked[i][len] == '.'))
            return ranked[i];
    return NULL;
}

/* Writes the panel's series; draws it if any has data. Returns whether drawn. */
static bool geo_draw(plot_run *r, FILE *s, const mg_csv *c, const geo_panel *p, bool first) {
    int lcol = mg_csv_col(c, MG_COL(geometry, layer)),
        mcol = mg_csv_col(c, MG_COL(geometry, metric)),
        vcol = mg_csv_col(c, MG_COL(geometry, value));
    char files[6][320];
    bool have[6] = {false}, any = false, any2 = false;
    int nlines = 0;
    plot_range g;
    plot_range_init(&g);
    for (int i = 0; i < 6 && p->lines[i].metric; i++) {
        const geo_line *l = &p->lines[i];
        if (!l->layer) continue;
        char both[200];
        snprintf(both, sizeof both, "%s__%s", l->layer, l->metric);
        plot_data_name(files[i], sizeof files[i], "geo_", both, ".dat");
        plot_range one; /* a series of NaN alone is no line */
        plot_range_init(&one);
        plot_series(r, files[i], c, lcol, l->layer, mcol, l->metric, 1, &vcol, &one);
        have[i] = one.n > 0;
        if (have[i] && !l->y2) g.n += one.n, g.lo = fmin(g.lo, one.lo), g.hi = fmax(g.hi, one.hi);
        any |= have[i], any2 |= have[i] && l->y2, nlines += have[i];
    }
    if (!any) return false;
    plot_clocks(s, r, false);
    if (first) plot_clock_legend(s, r);
    /* A panel with a fixed linear range (shares, cosines: [0:1]) stays
     * linear: on a log axis gnuplot starts it at 0.1 and hides the Gini's
     * early values below that. */
    plot_yscale(s, !p->yrange && plot_range_log(&g));
    if (nlines > 1) fprintf(s, "set key %s\n", p->key ? p->key : "top left");
    else fputs("unset key\n", s);
    fprintf(s, "set title '%s' font ',11'\nset ylabel '%s'\nset yrange %s\n", p->title, p->ylabel,
            p->yrange ? p->yrange
            : g.n     ? "[*:*]"
                      : "[0:1]");                                         /* gnuplot fails on no data */
    if (any2) fputs("set y2tics font ',9'\nset ytics nomirror\n", s); /* named in the key */
    else fprintf(s, "unset y2tics\nset ytics mirror\n");
    fputs("plot ", s);
    bool sep = false;
    for (int i = 0; i < 6 && p->lines[i].metric; i++) {
        if (!have[i]) continue;
        const geo_line *l = &p->lines[i];
        fprintf(s, "%s'%s' u 1:2 lw 2 dt %d lc rgb '%s' axes x1%s t ", sep ? ", \\\n  " : "",
                files[i], l->dt ? l->dt : 1, l->color, l->y2 ? "y2" : "y1");
        plot_quote(s, l->title);
        sep = true;
    }
    fputc('\n', s);
    return true;
}

static void geometry(plot_run *r) {
    mg_csv *c = plot_geometry(r, "the geometry", false);
    if (!c) return;
    int lcol = mg_csv_col(c, MG_COL(geometry, layer)),
        mcol = mg_csv_col(c, MG_COL(geometry, metric));
    const char *names[MAX_LAYERS], *ranked[MAX_LAYERS];
    int nn = plot_distinct(c, lcol, names, MAX_LAYERS), nr = 0;
    plot_guess_layers(r, names, nn);
    for (size_t row = 0; row < c->nrows && nr < MAX_LAYERS; row++)
        if (!strcmp(mg_csv_str(c, row, mcol), "eff_rank") &&
            !plot_has(ranked, nr, mg_csv_str(c, row, lcol)))
            ranked[nr++] = mg_csv_str(c, row, lcol);
    /* Ranks: the classifier's and the embedding's weights, and the first
     * other weight (the first hidden layer; "pos", the transformer's three
     * position vectors, is no layer of the map). */
    const char *wc = weight_of(ranked, nr, r->classifier), *we = weight_of(ranked, nr, r->embed);
    const char *wh = NULL;
    for (int i = 0; i < nr && !wh; i++)
        if (ranked[i] != wc && ranked[i] != we && strcmp(ranked[i], "pos")) wh = ranked[i];
    const char *E = r->embed, *C = r->classifier;
    char te[3][96], tc[3][96], th[96];
    snprintf(te[0], 96, "%s key share", E), snprintf(tc[0], 96, "%s key share", C);
    snprintf(te[1], 96, "%s Gini", E), snprintf(tc[1], 96, "%s Gini", C);
    snprintf(te[2], 96, "%s", we ? we : ""), snprintf(tc[2], 96, "%s", wc ? wc : "");
    snprintf(th, 96, "%s", wh ? wh : "");
    /* clang-format off */
    const geo_panel panels[6] = {
        {"Fourier structure", "key-frequency share / Gini", "[0:1.02]", NULL,
         {{E, "fourier_concentration", te[0], RED, 1, false},
          {C, "fourier_concentration", tc[0], BLUE, 1, false},
          {E, "fourier_gini", te[1], RED, 2, false},
          {C, "fourier_gini", tc[1], BLUE, 2, false}}},
        {"rank-2 energy (s1^2+s2^2)/sum s^2", "rank-2 energy", "[0:*]", NULL,
         {{wc, "rank2_energy", tc[2], BLUE, 1, false},
          {we, "rank2_energy", te[2], RED, 1, false},
          {wh, "rank2_energy", th, GREEN, 1, false}}},
        {"effective rank exp H(s/sum s)", "effective rank", "[0:*]", "bottom left",
         {{wc, "eff_rank", tc[2], BLUE, 1, false},
          {we, "eff_rank", te[2], RED, 1, false},
          {wh, "eff_rank", th, GREEN, 1, false}}},
        {"neural collapse", "NC1", NULL, "bottom left",
         {{"features", "nc1", "NC1 within/between", "#333333", 1, false},
          {"features", "nc2_etf", "NC2 ETF distance (right axis)", "#ff7f0e", 1, true}}},
        {"plane locking (principal-angle cosines)", "cosine", "[0:1.05]", NULL,
         {{"lock", "lock_cos1", "cos 1", "#9467bd", 1, false},
          {"lock", "lock_cos2", "cos 2", "#9467bd", 2, false}}},
        {"structural energy sum |W|_F^2", "energy", NULL, NULL,
         {{"model", "structural_energy", "structural energy", "#8c564b", 1, false}}},
    };
    /* clang-format on */
    /* Which panels have data decides the layout. */
    int drawn = 0;
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 6 && panels[i].lines[j].metric; j++)
            if (panels[i].lines[j].layer) {
                bool found = false;
                for (size_t row = 0; row < c->nrows && !found; row++)
                    found = !strcmp(mg_csv_str(c, row, lcol), panels[i].lines[j].layer) &&
                            !strcmp(mg_csv_str(c, row, mcol), panels[i].lines[j].metric);
                if (found) {
                    drawn++;
                    break;
                }
            }
    plot_body b;
    FILE *s = drawn ? plot_body_open(&b) : NULL;
    if (!s) {
        if (!drawn)
            cli_error("note: " MG_RUN_GEOMETRY " has none of the metrics plotted; skipping it");
        mg_csv_free(c);
        return;
    }
    double xmax = 1;
    for (size_t row = 0; row < c->nrows; row++)
        xmax = fmax(xmax, plot_x(mg_csv_num(c, row, mg_csv_col(c, MG_COL(geometry, step)))));
    plot_begin(s, r, "Geometry",
               drawn <= 4 ? "2,2 margins 0.08,0.95,0.08,0.86 spacing 0.1,0.13"
                          : "2,3 margins 0.06,0.955,0.08,0.86 spacing 0.1,0.13");
    plot_step_axis(s, r, xmax);
    fprintf(s, "set xlabel 'step (log)'\nset format x '%%g'\nset key top left font ',8'\n"
               "set xtics font ',9'\nset ytics font ',9'\n");
    bool first = true;
    for (int i = 0; i < 6; i++)
        if (geo_draw(r, s, c, &panels[i], first)) first = false;
    mg_csv_free(c);
    plot_draw(r, &b, "geometry", 1200, 760);
}

/* ---- the command ------------------------------------------------------------------ */

static void help(void) {
    printf("usage: modgrad plot RUN\n\n"
           "Draws the run's pictures with gnuplot into RUN/plots, each as PNG and SVG:\n"
           "  curves    train/test loss (log) and accuracy against step\n"
           "  probes    rel_grad_norm, update_ratio and displacement per layer (classifier\n"
           "            and embedding in colour, other layers grey)\n"
           "  spectrum  final Fourier energies of the embedding and the classifier\n"
           "  circle    each residue in the plane of the top frequency\n"
           "  geometry  Fourier structure, ranks, neural collapse, plane locking and\n"
           "            structural energy against step\n"
           "  clocks    T_cls against ln(1/eps) and ln T_rep against ln(1/eta) per gap,\n"
           "            with their fitted lines (summary.json's two_clocks)\n"
           "  dynamics  stable ranks, gate-flip rate, locking shares (random baselines\n"
           "            dashed) and the orthogonal part against step\n"
           "  hierarchy the gradient hierarchy against step: the measured |dE| / |dU|\n"
           "            beside the ratio of their bounds, each gradient over its bound\n"
           "            (<= 1), |U|_2 and |W|_2 (a run with geometry.csv hier_ rows: an\n"
           "            embedding-ReLU-classifier model; no note otherwise)\n"
           "  progress  the progress measures against step: train and test loss beside the\n"
           "            restricted loss (key frequencies only) and the excluded loss (key\n"
           "            frequencies removed), the excluded loss with each key frequency of\n"
           "            the last step alone removed, the logit periodicity and the number\n"
           "            of key frequencies (a run on a + b mod p over every pair with\n"
           "            geometry.csv progress rows: the MLP or the transformer; the key\n"
           "            frequencies are the embedding's at each step)\n"
           "The execution-manifold study's (--snapshot-every, --commutator-every, attention\n"
           "layers), each drawn when the run has its file, without a note otherwise;\n"
           "commutator and defect have a linear step axis:\n"
           "  manifold    cumulative explained variance of the trajectory's PCA against\n"
           "              the component k per attention block, the random-walk null dashed;\n"
           "              r90 per block beside the null's (trajectory.csv)\n"
           "  commutator  rho_exec and rho_rand (full space, block-matched) against step,\n"
           "              and rho_exec / rho_rand with its early and late medians\n"
           "  defect      the commutator's defect D (log) and cos(g_A, g_B) against step\n"
           "  attention   entropy and top-1 mass at the last query per layer against step\n"
           "  ablation    held-out accuracy with top-k attention against k\n"
           "  sae_step_NNNNNN  one per `modgrad sae` checkpoint (RUN/sae/step_NNNNNN):\n"
           "              each live latent's r with m against its r with the value's\n"
           "              position, +-corr_min dotted, the ablated latents in red, the\n"
           "              counts and the accuracies as trained, ablated and spliced\n"
           "Steps are on a log axis (step 0 drawn at 1); dashed lines mark the clocks\n"
           "t_fit, t_grok, t_simplify from summary.json. A picture whose CSV the run lacks\n"
           "is skipped with a note. Key frequencies have at least 1/4 of the top energy;\n"
           "circle colours follow each residue's ideal angle k*x mod p.\n"
           "The data files and gnuplot scripts are kept in\n"
           "RUN/plots/data (rerun one from RUN/plots: gnuplot data/curves.gp).\n"
           "Needs gnuplot (Debian: apt-get install gnuplot-nox).\n");
}

int cmd_plot(int argc, char **argv) {
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            help();
            return MG_EXIT_OK;
        }
        if (argv[i][0] == '-' || dir) {
            cli_error("plot: unexpected argument '%s' (modgrad plot --help)", argv[i]);
            return MG_EXIT_USAGE;
        }
        dir = argv[i];
    }
    if (!dir) {
        cli_error("plot: which run? usage: modgrad plot RUN");
        return MG_EXIT_USAGE;
    }
    if (mg_modelfile_check_run(dir)) { /* a --model-file run whose file changed */
        cli_error("plot: %s", mg_errmsg());
        return MG_EXIT_USAGE;
    }
    plot_run r;
    int st = plot_open(&r, dir);
    if (st) return st;
    if (!plot_find_gnuplot(&r.pngcairo)) {
        cli_error("plot: gnuplot not found; install gnuplot-nox (apt-get install gnuplot-nox)");
        return MG_EXIT_FAIL;
    }
    signal(SIGPIPE, SIG_IGN); /* a gnuplot that dies is reported by pclose */
    curves(&r);
    probes(&r);
    spectrum(&r);
    circle(&r);
    geometry(&r);
    plot_two_clocks(&r);
    plot_dynamics(&r);
    plot_hierarchy(&r);
    plot_progress(&r);
    plot_manifold_study(&r);
    plot_sae(&r);
    if (r.nwritten) printf("plots written to %s:\n", r.plots);
    for (int i = 0; i < r.nwritten; i++) printf("  %s\n", r.written[i]);
    if (!r.nwritten) cli_error("plot: no picture was drawn");
    st = r.status ? r.status : r.nwritten ? MG_EXIT_OK : MG_EXIT_FAIL;
    plot_close(&r);
    return st;
}
