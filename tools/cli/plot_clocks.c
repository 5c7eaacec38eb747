/* plot_clocks.c — `modgrad plot`'s pictures of the two clocks (issue 15):
 *
 *   clocks    summary.json's "two_clocks": T_cls against ln(1/eps) with its
 *             fitted line, and ln T_rep against ln(1/eta) for each gap with
 *             at least two fired thresholds, with its log-log line (slope
 *             and R^2 in the key; a clock that never fired is not drawn)
 *   dynamics  stacked against step: the stable rank of the embedding and
 *             the classifier (and a deep linear network's end-to-end map),
 *             the gate-flip rate per update of each ReLU layer, the locking
 *             shares top-2 / top-2m beside their random baselines, and the
 *             embedding's part orthogonal to the locked planes
 *
 * A picture whose data the run lacks is skipped with a note; a dynamics
 * panel whose rows are absent (a transformer has no gates and no locking)
 * is left out. Declared in plot.h, whose helpers they use. */
#include <cjson/cJSON.h>
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
#define ORANGE "#ff7f0e"
#define PURPLE "#9467bd"
#define DARK "#333333"
#define MAX_NAMES 64
#define MAX_GAPS 8
#define LADDER 16 /* thresholds per clock, at most */

/* ---- 1. clocks ------------------------------------------------------------------ */

static cJSON *read_summary(plot_run *r) {
    char path[8192], *text = NULL;
    size_t n;
    snprintf(path, sizeof path, "%s/" MG_RUN_SUMMARY, r->dir);
    if (!mg_path_exists(path) || mg_read_file(path, &text, &n)) return NULL;
    cJSON *j = cJSON_Parse(text);
    mg_free(text);
    return j;
}

static const cJSON *item(const cJSON *o, const char *key) {
    return o ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
}

static double num(const cJSON *o, const char *key) {
    const cJSON *v = item(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* A threshold ladder {"1e-01": step or null, ...}: every threshold's x =
 * ln(1/threshold) into all (for the axis), the fired ones (step >= 0, and
 * > 0 when log_t: ln T needs T > 0) into x, y (y = T or ln T). */
typedef struct {
    int nall, n;
    double all[LADDER], x[LADDER], y[LADDER], t[LADDER], thr[LADDER];
} ladder;

static void read_ladder(const cJSON *o, bool log_t, ladder *l) {
    memset(l, 0, sizeof *l);
    for (const cJSON *c = o ? o->child : NULL; c && l->nall < LADDER; c = c->next) {
        double thr = c->string ? strtod(c->string, NULL) : NAN;
        if (!(thr > 0 && thr < 1)) continue;
        l->all[l->nall++] = log(1 / thr);
        if (!cJSON_IsNumber(c) || c->valuedouble < 0 || (log_t && c->valuedouble <= 0)) continue;
        l->thr[l->n] = thr, l->t[l->n] = c->valuedouble, l->x[l->n] = log(1 / thr);
        l->y[l->n] = log_t ? log(c->valuedouble) : c->valuedouble;
        l->n++;
    }
}

/* Writes the ladder's fired points ("threshold ln(1/threshold) y T") and,
 * when fit has a slope, its line over their x span (the same columns'
 * first two: x, intercept + slope x) into FILE and FILE_fit. */
static bool write_ladder(plot_run *r, const char *file, const char *fitfile, const ladder *l,
                         const cJSON *fit, bool *have_fit) {
    FILE *f = plot_data_open(r, file);
    if (!f) return false;
    fprintf(f, "# threshold ln(1/threshold) %s step\n", strstr(file, "rep") ? "ln_T" : "T");
    for (int i = 0; i < l->n; i++)
        fprintf(f, "%.9g %.9g %.9g %.9g\n", l->thr[i], l->x[i], l->y[i], l->t[i]);
    fclose(f);
    double a = num(fit, "intercept"), b = num(fit, "slope"), lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < l->n; i++) lo = fmin(lo, l->x[i]), hi = fmax(hi, l->x[i]);
    *have_fit = l->n >= 2 && isfinite(a) && isfinite(b);
    if (!*have_fit) return true;
    if (!(f = plot_data_open(r, fitfile))) return false;
    fprintf(f, "# ln(1/threshold) fitted\n%.9g %.9g\n%.9g %.9g\n", lo, a + b * lo, hi, a + b * hi);
    fclose(f);
    return true;
}

static void xrange(FILE *s, const ladder *l) {
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < l->nall; i++) lo = fmin(lo, l->all[i]), hi = fmax(hi, l->all[i]);
    if (!l->nall) lo = 0, hi = 1;
    double pad = 0.06 * (hi - lo > 0 ? hi - lo : 1);
    fprintf(s, "set xrange [%.9g:%.9g]\n", lo - pad, hi + pad);
}

static const char *gap_color(const char *name, int i) {
    static const char *const cycle[] = {GREEN, "#8c564b", "#e377c2", "#17becf"};
    if (!strcmp(name, "srank_gap_embed")) return RED;
    if (!strcmp(name, "srank_gap_classifier")) return BLUE;
    if (!strcmp(name, "s_sep")) return DARK;
    if (!strcmp(name, "s_rule_embed")) return ORANGE;
    if (!strcmp(name, "srank_gap_end_to_end")) return PURPLE;
    return cycle[i % 4];
}

void plot_two_clocks(plot_run *r) {
    cJSON *sum = read_summary(r);
    const cJSON *tc = item(sum, "two_clocks");
    if (!cJSON_IsObject(tc)) {
        cli_error("note: %s/" MG_RUN_SUMMARY " has no \"two_clocks\" (an older run?); "
                  "skipping the clocks",
                  r->dir);
        cJSON_Delete(sum);
        return;
    }
    plot_body b;
    FILE *s = plot_body_open(&b);
    if (!s) {
        cJSON_Delete(sum);
        return;
    }
    plot_begin(s, r, "The two clocks", "1,2 margins 0.07,0.97,0.12,0.86 spacing 0.09,0.1");
    fprintf(s, "set key top left font ',9'\nset pointsize 1.3\n");

    /* left: the fitting clock */
    ladder cls;
    read_ladder(item(tc, "t_cls"), false, &cls);
    const cJSON *cfit = item(tc, "t_cls_fit");
    bool have_fit = false;
    if (!write_ladder(r, "data/clocks_cls.dat", "data/clocks_cls_fit.dat", &cls, cfit, &have_fit))
        goto fail;
    xrange(s, &cls);
    double tmax = 1;
    for (int i = 0; i < cls.n; i++) tmax = fmax(tmax, cls.t[i]);
    fprintf(s,
            "set title 'fitting clock: first step with train loss <= eps' font ',11'\n"
            "set xlabel 'ln(1/eps)'\nset ylabel 'T_cls (step)'\nset yrange [0:%.9g]\nplot ",
            1.3 * tmax);
    char t[256];
    if (cls.n) {
        snprintf(t, sizeof t, "T_cls (%d of %d thresholds reached)", cls.n, cls.nall);
        fputs("'data/clocks_cls.dat' u 2:3 w p pt 7 lc rgb '" BLUE "' t ", s), plot_quote(s, t);
    } else {
        fputs("NaN t 'T_cls: not reached'", s);
    }
    if (have_fit) {
        snprintf(t, sizeof t, "fit: slope %.3g steps per unit ln(1/eps), R^2 = %.3f",
                 num(cfit, "slope"), num(cfit, "r2"));
        fputs(", \\\n  'data/clocks_cls_fit.dat' u 1:2 w l lw 2 lc rgb '" BLUE "' t ", s);
        plot_quote(s, t);
    } else if (cls.n) {
        fputs(", \\\n  NaN t 'no fit: fewer than 2 thresholds reached'", s);
    }
    fputc('\n', s);

    /* right: the representation clock, one line per gap */
    const cJSON *rep = item(tc, "rep");
    ladder axis = {0};
    char entries[MAX_GAPS][1024];
    int ne = 0, gi = 0;
    double ylo = INFINITY, yhi = -INFINITY;
    for (const cJSON *g = rep ? rep->child : NULL; g && ne < MAX_GAPS; g = g->next, gi++) {
        if (!g->string) continue;
        ladder l;
        read_ladder(item(g, "t_rep"), true, &l);
        if (l.nall > axis.nall) axis = l;
        const cJSON *fit = item(g, "fit_loglog");
        const char *col = gap_color(g->string, gi);
        char file[320], fitfile[320];
        plot_data_name(file, sizeof file, "clocks_rep_", g->string, ".dat");
        plot_data_name(fitfile, sizeof fitfile, "clocks_rep_", g->string, "_fit.dat");
        have_fit = false;
        if (l.n >= 2 && !write_ladder(r, file, fitfile, &l, fit, &have_fit)) goto fail;
        if (l.n < 2) {
            snprintf(t, sizeof t, "%s: not reached (%d of %d thresholds)", g->string, l.n, l.nall);
            int k = snprintf(entries[ne], sizeof entries[ne], "NaN w p pt 7 lc rgb '%s' t ", col);
            FILE *m = fmemopen(entries[ne] + k, sizeof entries[ne] - (size_t)k, "w");
            if (m) plot_quote(m, t), fclose(m);
            ne++;
            continue;
        }
        for (int i = 0; i < l.n; i++) ylo = fmin(ylo, l.y[i]), yhi = fmax(yhi, l.y[i]);
        if (have_fit)
            snprintf(t, sizeof t, "%s: slope %.3g, R^2 = %.3f", g->string, num(fit, "slope"),
                     num(fit, "r2"));
        else snprintf(t, sizeof t, "%s: no fit", g->string);
        int k = snprintf(entries[ne], sizeof entries[ne],
                         "'%s' u 2:3 w p pt 7 lc rgb '%s' notitle, \\\n  ", file, col);
        if (have_fit)
            k += snprintf(entries[ne] + k, sizeof entries[ne] - (size_t)k,
                          "'%s' u 1:2 w l lw 2 lc rgb '%s' t ", fitfile, col);
        else
            k += snprintf(entries[ne] + k, sizeof entries[ne] - (size_t)k,
                          "NaN w p pt 7 lc rgb '%s' t ", col);
        FILE *m = fmemopen(entries[ne] + k, sizeof entries[ne] - (size_t)k, "w");
        if (m) plot_quote(m, t), fclose(m);
        ne++;
    }
    xrange(s, &axis);
    if (!(ylo <= yhi)) ylo = 0, yhi = 1;
    double pad = 0.15 * (yhi - ylo > 0.5 ? yhi - ylo : 0.5);
    fprintf(s,
            "set title 'representation clock: gap stays <= eta (log-log)' font ',11'\n"
            "set xlabel 'ln(1/eta)'\nset ylabel 'ln T_rep'\nset yrange [%.9g:%.9g]\nplot ",
            ylo - pad, yhi + 2.5 * pad); /* room for the key */
    if (!ne) fputs("NaN t 'no representation gaps in the summary'", s);
    for (int i = 0; i < ne; i++) fprintf(s, "%s%s", i ? ", \\\n  " : "", entries[i]);
    fputc('\n', s);
    cJSON_Delete(sum);
    plot_draw(r, &b, "clocks", 1200, 560);
    return;
fail:
    fclose(b.f);
    free(b.buf);
    cJSON_Delete(sum);
}

/* ---- 2. dynamics ---------------------------------------------------------------- */

typedef struct {
    const char *layer, *metric, *title, *color;
    int dt; /* dash type */
} dyn_line;

typedef struct {
    const char *ylabel, *yrange; /* yrange NULL: autoscaled, log when it spans > 30x */
    int n;
    dyn_line lines[MAX_NAMES];
} dyn_panel;

/* The parameter of a layer among the names: the layer itself or the first
 * "LAYER.something" ("classifier.w" for "classifier"). */
static const char *param_of(const char *const *names, int n, const char *layer) {
    size_t len = strlen(layer);
    for (int i = 0; i < n; i++)
        if (!strncmp(names[i], layer, len) && (!names[i][len] || names[i][len] == '.'))
            return names[i];
    return NULL;
}

static bool has_rows(const mg_csv *c, int lcol, int mcol, const char *layer, const char *metric) {
    for (size_t row = 0; row < c->nrows; row++)
        if (!strcmp(mg_csv_str(c, row, lcol), layer) && !strcmp(mg_csv_str(c, row, mcol), metric))
            return true;
    return false;
}

static void add(dyn_panel *p, const mg_csv *c, int lcol, int mcol, dyn_line l) {
    if (l.layer && p->n < MAX_NAMES && has_rows(c, lcol, mcol, l.layer, l.metric))
        p->lines[p->n++] = l;
}

/* Writes the panel's series and its plot command. */
static void dyn_draw(plot_run *r, FILE *s, const mg_csv *c, const dyn_panel *p, int i, int n,
                     int h) {
    int lcol = mg_csv_col(c, MG_COL(geometry, layer)),
        mcol = mg_csv_col(c, MG_COL(geometry, metric)),
        vcol = mg_csv_col(c, MG_COL(geometry, value));
    char files[MAX_NAMES][320];
    plot_range g;
    plot_range_init(&g);
    for (int k = 0; k < p->n; k++) {
        char both[200];
        snprintf(both, sizeof both, "%s__%s", p->lines[k].layer, p->lines[k].metric);
        plot_data_name(files[k], sizeof files[k], "dyn_", both, ".dat");
        plot_series(r, files[k], c, lcol, p->lines[k].layer, mcol, p->lines[k].metric, 1, &vcol,
                    &g);
    }
    plot_stack(s, i, n, 1 - 75.0 / h, 70.0 / h); /* room in pixels for the title, the axis */
    plot_clocks(s, r, i == 0);
    bool log = !p->yrange && plot_range_log(&g);
    plot_yscale(s, log);
    if (log && i == 0) plot_headroom(s, &g);
    else fprintf(s, "set yrange %s\n", p->yrange ? p->yrange : g.n ? "[*:*]" : "[0:1]");
    fprintf(s, "set ylabel \"%s\"\nplot ", p->ylabel);
    for (int k = 0; k < p->n; k++) {
        fprintf(s, "%s'%s' u 1:2 lw 2 dt %d lc rgb '%s' t ", k ? ", \\\n  " : "", files[k],
                p->lines[k].dt ? p->lines[k].dt : 1, p->lines[k].color);
        plot_quote(s, p->lines[k].title);
    }
    fputc('\n', s);
}

void plot_dynamics(plot_run *r) {
    mg_csv *c = plot_geometry(r, "the dynamics", false);
    if (!c) return;
    int lcol = mg_csv_col(c, MG_COL(geometry, layer)),
        mcol = mg_csv_col(c, MG_COL(geometry, metric));
    const char *names[MAX_NAMES], *ranked[MAX_NAMES], *gated[MAX_NAMES];
    int nn = plot_distinct(c, lcol, names, MAX_NAMES), nr = 0, ng = 0;
    plot_guess_layers(r, names, nn);
    for (size_t row = 0; row < c->nrows; row++) {
        const char *l = mg_csv_str(c, row, lcol), *m = mg_csv_str(c, row, mcol);
        if (!strcmp(m, "stable_rank") && nr < MAX_NAMES && !plot_has(ranked, nr, l))
            ranked[nr++] = l;
        if (!strcmp(m, "gate_flips") && ng < MAX_NAMES && !plot_has(gated, ng, l)) gated[ng++] = l;
    }
    const char *we = param_of(ranked, nr, r->embed), *wc = param_of(ranked, nr, r->classifier);
    if (wc == we) wc = NULL; /* a tied classifier is the embedding's matrix */
    char te[128], tc[128];
    snprintf(te, sizeof te, "embedding (%s)", we ? we : "");
    snprintf(tc, sizeof tc, "classifier (%s)", wc ? wc : "");
    static dyn_panel panels[4];
    memset(panels, 0, sizeof panels);
    panels[0] = (dyn_panel){"stable rank\\n|W|_F^2 / |W|_2^2", NULL, 0, {{0}}};
    add(&panels[0], c, lcol, mcol, (dyn_line){we, "stable_rank", te, RED, 1});
    add(&panels[0], c, lcol, mcol, (dyn_line){wc, "stable_rank", tc, BLUE, 1});
    add(&panels[0], c, lcol, mcol,
        (dyn_line){"end_to_end", "stable_rank", "end-to-end map", PURPLE, 1});
    panels[1] = (dyn_panel){"gate flips\\nper update (share)", NULL, 0, {{0}}};
    static const char *const gate_colors[] = {GREEN, ORANGE, "#8c564b", "#e377c2", "#17becf"};
    char gt[MAX_NAMES][96];
    for (int i = 0; i < ng; i++) {
        snprintf(gt[i], sizeof gt[i], "%s gates", gated[i]);
        add(&panels[1], c, lcol, mcol,
            (dyn_line){gated[i], "gate_flips", gt[i], gate_colors[i % 5], 1});
    }
    panels[2] = (dyn_panel){"locking share\\nof the embedding grad", "[0:1.05]", 0, {{0}}};
    add(&panels[2], c, lcol, mcol, (dyn_line){"lock", "lock_share_top2", "top-2", RED, 1});
    add(&panels[2], c, lcol, mcol, (dyn_line){"lock", "lock_random_top2", "top-2 random", RED, 2});
    add(&panels[2], c, lcol, mcol, (dyn_line){"lock", "lock_share_top2m", "top-2m", BLUE, 1});
    add(&panels[2], c, lcol, mcol,
        (dyn_line){"lock", "lock_random_top2m", "top-2m random", BLUE, 2});
    panels[3] = (dyn_panel){"orthogonal part\\n|W_E outside|_F", "[0:*]", 0, {{0}}};
    add(&panels[3], c, lcol, mcol, (dyn_line){"lock", "lock_orth_top2", "outside top-2", RED, 1});
    add(&panels[3], c, lcol, mcol,
        (dyn_line){"lock", "lock_orth_top2m", "outside top-2m", BLUE, 1});
    int drawn = 0;
    for (int i = 0; i < 4; i++) drawn += panels[i].n > 0;
    plot_body b;
    FILE *s = drawn ? plot_body_open(&b) : NULL;
    if (!s) {
        if (!drawn)
            cli_error("note: " MG_RUN_GEOMETRY " has no stable-rank, gate or locking rows; "
                      "skipping the dynamics");
        mg_csv_free(c);
        return;
    }
    double xmax = 1;
    for (size_t row = 0; row < c->nrows; row++)
        xmax = fmax(xmax, plot_x(mg_csv_num(c, row, mg_csv_col(c, MG_COL(geometry, step)))));
    plot_begin(s, r, "Dynamics", NULL);
    fprintf(s, "set lmargin at screen 0.10\nset rmargin at screen 0.76\n"
               "set key outside right top vertical font ',9'\n");
    plot_step_axis(s, r, xmax);
    int h = drawn > 1 ? 240 + 190 * drawn : 480;
    for (int i = 0, k = 0; i < 4; i++)
        if (panels[i].n) dyn_draw(r, s, c, &panels[i], k++, drawn, h);
    mg_csv_free(c);
    plot_draw(r, &b, "dynamics", 1100, h);
}
