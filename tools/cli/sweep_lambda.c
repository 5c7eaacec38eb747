/* sweep_lambda.c — the λ_crit report of a sweep (sweep_report.h): for a grid
 * over p (= K) and a λ axis (`penalty-lambda` when the grid has it, else
 * `wd`), the boundary λ_crit(K) of the runs labelled cyclic
 * (analysis/sweep_stats.h: the smallest grid λ at which a strict majority
 * of seeds is cyclic, SCIENCE.md's rule; the stricter "from which on" rule
 * and the label restricted to runs that fit their training set are printed
 * beside it as variants), its log–log fit against K with a bootstrap
 * interval over seeds, the theory's nuclear-norm values beside it, and the
 * penalty form the runs used; the phase picture and the fit's picture in
 * DIR/plots. Every other axis but the seed makes a study of its own (a
 * `penalty` axis: one boundary per form). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/sweep_stats.h"
#include "tools/cli/cli.h"
#include "tools/cli/sweep_report.h"

#define MAX_K 256

/* The penalty form of row as text; *theory: the theory's own form (an
 * explicit nuclear-norm penalty, Schatten q = 1, whose λ is the axis). */
static void penalty_form(const report *r, int64_t row, bool lam_is_penalty, char *buf, size_t n,
                         bool *theory) {
    const char *opt = report_str(r, row, "config.optimizer");
    const char *pen = report_str(r, row, "config.penalty");
    const char *layers = report_str(r, row, "config.penalty_layers");
    const char *wd_layers = report_str(r, row, "config.wd_layers");
    double wd = report_num(r, row, "config.wd"), plam = report_num(r, row, "config.penalty_lambda");
    bool has_pen = pen[0] && strcmp(pen, "none");
    char q[32] = "";
    if (!strncmp(pen, "schatten:q=", 11)) snprintf(q, sizeof q, "%s", pen + 11);
    *theory = lam_is_penalty && q[0] && strtod(q, NULL) == 1.0;
    char decay[160];
    if (!strcmp(opt, "adamw"))
        snprintf(decay, sizeof decay, "AdamW's decoupled weight decay (w <- (1 - lr*wd) w)");
    else if (opt[0])
        snprintf(decay, sizeof decay, "coupled L2 in %s's gradient (g <- g + wd*w)", opt);
    else snprintf(decay, sizeof decay, "weight decay (optimizer not recorded)");
    char explicit[160] = "";
    if (q[0])
        snprintf(explicit, sizeof explicit,
                 "an explicit Schatten-q penalty lambda*sum sigma^q, q = %s, on %s, in the loss", q,
                 layers[0] ? layers : "classifier");
    else if (!strcmp(pen, "l2"))
        snprintf(explicit, sizeof explicit,
                 "an explicit L2 penalty lambda*||W||_F^2 on %s, in the loss",
                 layers[0] ? layers : "classifier");
    else if (has_pen) snprintf(explicit, sizeof explicit, "the penalty %s on %s", pen, layers);
    char wdtext[32];
    report_number(wdtext, sizeof wdtext, wd);
    if (lam_is_penalty) {
        if (!has_pen)
            snprintf(buf, n,
                     "lambda = penalty-lambda, but the runs have --penalty none (no penalty)");
        else
            snprintf(buf, n, "lambda = penalty-lambda: %s; besides, %s%s%s", explicit,
                     wd == 0 ? "no weight decay" : decay, wd == 0 ? "" : " with wd ",
                     wd == 0 ? "" : wdtext);
    } else {
        int k = snprintf(buf, n, "lambda = wd: %s, on every layer%s%s", decay,
                         wd_layers[0] ? " but those of wd_layers " : "", wd_layers);
        if (has_pen && plam > 0 && k > 0 && (size_t)k < n)
            snprintf(buf + k, n - (size_t)k, "; besides, %s, lambda %g", explicit, plam);
    }
}

static int label_code(const char *label) {
    return !strcmp(label, "cyclic") ? 0 : !strcmp(label, "simplex-like") ? 1 : 2;
}

/* Pictures: the phase picture (every run at (K, λ), marker by label, colour by
 * concentration, the boundary and the theory as lines) and the fit. */
static void pictures(report *r, const char *suffix, const char *title, const char *form, int64_t m,
                     const int64_t *rows, const double *K, const double *lam, const int64_t *seed,
                     const mg_sweep_stats_boundary *b, int nk, const mg_sweep_stats_fit *f,
                     const mg_sweep_stats_bootstrap *bs) {
    char name[3][128], file[3][160];
    const char *what[3] = {"runs", "boundary", "theory"};
    for (int i = 0; i < 3; i++)
        snprintf(file[i], sizeof file[i], "data/lambda_%s%s.dat", what[i], suffix);
    snprintf(name[0], sizeof name[0], "lambda_phase%s", suffix);
    snprintf(name[1], sizeof name[1], "lambda_fit%s", suffix);
    FILE *d = plot_data_open(&r->pr, file[0]);
    if (!d) return;
    fprintf(d, "# K_drawn lambda label(0 cyclic, 1 simplex-like, 2 neither) concentration run\n");
    for (int64_t i = 0; i < m; i++) {
        double jitter = exp(0.025 * (double)((seed[i] % 5 + 5) % 5 - 2)); /* seeds side by side */
        double c = report_num(r, rows[i], "fourier_concentration.embed");
        fprintf(d, "%.9g %.9g %d %.9g %s\n", K[i] * jitter, lam[i],
                label_code(report_str(r, rows[i], "geometry_label")), isnan(c) ? 0 : c,
                mg_sweep_table_cell(&r->t, rows[i], r->c_run));
    }
    fclose(d);
    if (!(d = plot_data_open(&r->pr, file[1]))) return;
    fprintf(d, "# K lambda_crit lambda_below kind(0 found, 1 censored, 2 none)\n");
    double kmin = INFINITY, kmax = 0;
    for (int j = 0; j < nk; j++) {
        kmin = fmin(kmin, b[j].K), kmax = fmax(kmax, b[j].K);
        fprintf(d, "%.9g %.9g %.9g %d\n", b[j].K, b[j].lambda_crit, b[j].lambda_below,
                (int)b[j].kind);
    }
    fclose(d);
    if (!(d = plot_data_open(&r->pr, file[2]))) return;
    fprintf(d, "# K theory_lambda_crit (nuclear norm, q = 1)\n");
    for (int i = 0; i <= 60; i++) {
        double k = kmin / 1.15 * pow(kmax * 1.15 / (kmin / 1.15), i / 60.0);
        double t = mg_sweep_stats_theory_lambda_crit(k);
        if (isfinite(t)) fprintf(d, "%.9g %.9g\n", k, t);
    }
    fclose(d);

    for (int pic = 0; pic < 2; pic++) {
        plot_body body;
        FILE *s = plot_body_open(&body);
        if (!s) return;
        char t[1100];
        snprintf(t, sizeof t, "%s%s%s", pic ? "lambda_crit against K" : "Phase: runs by label",
                 title[0] ? ", " : "", title);
        plot_begin(s, &r->pr, t, NULL);
        fprintf(s,
                "set logscale xy\nset format y '%%g'\nset xlabel 'K = p (log)'\n"
                "set ylabel 'lambda (log)'\nset xrange [%.9g:%.9g]\nset bmargin 7\n"
                "set key outside right top\nset tmargin 4\nset xtics (",
                kmin / 1.15, kmax * 1.15);
        for (int j = 0; j < nk; j++) fprintf(s, "%s'%g' %.9g", j ? ", " : "", b[j].K, b[j].K);
        fputs(")\n", s);
        fputs("set label 1 ", s);
        plot_quote(s, form);
        fputs(" at screen 0.5, screen 0.03 center font ',9'\n", s);
        if (pic == 0) {
            fprintf(s,
                    "set palette defined (0 '#dddddd', 0.5 '#6baed6', 1 '#08306b')\n"
                    "set cbrange [0:1]\nset cblabel 'key-frequency concentration (embedding)'\n"
                    "plot '%s' u 1:($3==0?$2:1/0):4 w p pt 7 ps 1.4 lc palette t 'cyclic', \\\n"
                    "  '' u 1:($3==1?$2:1/0):4 w p pt 5 ps 1.2 lc palette t 'simplex-like', \\\n"
                    "  '' u 1:($3==2?$2:1/0):4 w p pt 2 ps 1.2 lw 2 lc palette t 'neither', \\\n"
                    "  '%s' u 1:($4==0?$2:1/0) w lp lw 2 pt 6 ps 2 lc rgb '#d62728' "
                    "t 'measured lambda_crit', \\\n"
                    "  '' u 1:($4==1?$2:1/0) w p pt 11 ps 2 lc rgb '#d62728' "
                    "t 'censored: at or below', \\\n"
                    "  '%s' u 1:2 w l dt 2 lw 2 lc rgb '#2ca02c' t 'theory, nuclear norm'\n",
                    file[0], file[1], file[2]);
        } else {
            char fit[256] = "no fit (fewer than 2 K with a boundary)";
            if (f->n >= 2)
                snprintf(fit, sizeof fit, "fit: slope %.3f, 95%% bootstrap [%.3f, %.3f]; theory -1",
                         f->slope, bs->lo, bs->hi);
            fputs("set label 2 ", s);
            plot_quote(s, fit);
            fputs(" at graph 0.03, graph 0.06 left font ',10' boxed\n", s);
            fprintf(s,
                    "plot '%s' u 1:($4==0?$2:1/0):3:2 w yerrorbars pt 7 ps 1.5 "
                    "lc rgb '#d62728' t 'lambda_crit (bar: from the lambda below)', \\\n"
                    "  '' u 1:($4==1?$2:1/0) w p pt 11 ps 2 lc rgb '#d62728' "
                    "t 'censored: at or below', \\\n",
                    file[1]);
            if (f->n >= 2)
                fprintf(s,
                        "  exp(%.9g)*x**(%.9g) w l lw 2 lc rgb '#1f77b4' t 'least squares', \\\n",
                        f->intercept, f->slope);
            fprintf(s, "  '%s' u 1:2 w l dt 2 lw 2 lc rgb '#2ca02c' t 'theory, nuclear norm'\n",
                    file[2]);
        }
        plot_draw(&r->pr, &body, name[pic], 1000, 640);
    }
}

/* One line per variant of the boundary: its lambda_crit per K and its slope. */
static void variant(const char *what, int64_t m, const double *K, const double *lam,
                    const int64_t *seed, const bool *cyc, mg_sweep_stats_rule rule) {
    mg_sweep_stats_boundary b[MAX_K];
    int nk = 0;
    if (mg_sweep_stats_boundaries(m, K, lam, seed, cyc, rule, MAX_K, b, &nk)) return;
    printf("    variant, %s:", what);
    for (int j = 0; j < nk; j++) {
        if (b[j].kind == MG_SWEEP_STATS_FOUND) printf(" K %g: %.3g;", b[j].K, b[j].lambda_crit);
        else if (b[j].kind == MG_SWEEP_STATS_CENSORED)
            printf(" K %g: <= %.3g;", b[j].K, b[j].lambda_crit);
        else printf(" K %g: none;", b[j].K);
    }
    mg_sweep_stats_fit f = mg_sweep_stats_fit_boundaries(b, nk);
    mg_sweep_stats_bootstrap bs = {0, 0, 0, NAN, NAN, NAN};
    if (f.n >= 2 &&
        !mg_sweep_stats_bootstrap_slope(m, K, lam, seed, cyc, rule, MG_SWEEP_STATS_BOOTSTRAP_B,
                                        MG_SWEEP_STATS_BOOTSTRAP_SEED, &bs))
        printf(" slope %.3f [%.3f, %.3f] over %d K\n", f.slope, bs.lo, bs.hi, f.n);
    else printf(" no fit (%d K with a boundary)\n", f.n);
}

/* One study: the runs of group g. */
static void study(report *r, const report_group *g, const char *suffix, int c_p, int c_lam,
                  int c_seed, bool lam_is_penalty, bool *unlabelled) {
    int64_t m = 0;
    double *K = malloc((size_t)(g->n + 1) * sizeof *K),
           *lam = malloc((size_t)(g->n + 1) * sizeof *lam);
    int64_t *seed = malloc((size_t)(g->n + 1) * sizeof *seed),
            *rows = malloc((size_t)(g->n + 1) * sizeof *rows);
    bool *cyc = malloc((size_t)(g->n + 1) * sizeof *cyc);
    bool *cycfit = malloc((size_t)(g->n + 1) * sizeof *cycfit);
    char form[512] = "", first[512] = "";
    bool theory = false, mixed = false;
    for (int64_t i = 0; i < g->n; i++) {
        int64_t row = g->rows[i];
        double k, l, s = 0;
        const char *label = report_str(r, row, "geometry_label");
        if (!label[0] || !mg_sweep_table_num(&r->t, row, c_p, &k) ||
            !mg_sweep_table_num(&r->t, row, c_lam, &l) || !(l > 0) || !(k > 0)) {
            unlabelled[row] = true;
            continue;
        }
        if (c_seed >= 0) mg_sweep_table_num(&r->t, row, c_seed, &s);
        K[m] = k, lam[m] = l, seed[m] = (int64_t)s, rows[m] = row;
        cyc[m] = !strcmp(label, "cyclic");
        double acc = 0;
        cycfit[m] = cyc[m] &&
                    mg_sweep_table_num(&r->t, row, mg_sweep_table_col(&r->t, "train_acc"), &acc) &&
                    acc >= 1;
        bool th;
        penalty_form(r, row, lam_is_penalty, form, sizeof form, &th);
        if (m == 0) snprintf(first, sizeof first, "%s", form), theory = th;
        else if (strcmp(first, form)) mixed = true;
        m++;
    }
    printf("  %s%spenalty form: %s%s\n", g->key, g->key[0] ? ": " : "", first,
           mixed ? " (and others: the runs of this study differ in it)" : "");
    mg_sweep_stats_boundary b[MAX_K];
    int nk = 0;
    if (mg_sweep_stats_boundaries(m, K, lam, seed, cyc, MG_SWEEP_STATS_FIRST, MAX_K, b, &nk)) {
        cli_error("lambda report: %s", mg_errmsg());
        nk = 0;
    }
    report_table t;
    report_table_init(&t, 8);
    report_table_row(&t);
    const char *head[8] = {
        "K",           "runs",         "seeds",          "lambda grid", "cyclic cells",
        "lambda_crit", "theory (q=1)", "measured/theory"};
    for (int c = 0; c < 8; c++) report_table_set(&t, c, "%s", head[c]);
    for (int j = 0; j < nk; j++) {
        double lo = INFINITY, hi = 0, th = mg_sweep_stats_theory_lambda_crit(b[j].K);
        for (int64_t i = 0; i < m; i++)
            if (K[i] == b[j].K) lo = fmin(lo, lam[i]), hi = fmax(hi, lam[i]);
        report_table_row(&t);
        report_table_set(&t, 0, "%g", b[j].K);
        report_table_set(&t, 1, "%lld", (long long)b[j].n_runs);
        report_table_set(&t, 2, "%d", b[j].n_seeds);
        report_table_set(&t, 3, "%d: %.3g..%.3g", b[j].n_lambda, lo, hi);
        report_table_set(&t, 4, "%d/%d", b[j].n_cyclic_cells, b[j].n_lambda);
        if (b[j].kind == MG_SWEEP_STATS_FOUND)
            report_table_set(&t, 5, "%.3g (above %.3g)", b[j].lambda_crit, b[j].lambda_below);
        else if (b[j].kind == MG_SWEEP_STATS_CENSORED)
            report_table_set(&t, 5, "<= %.3g (censored: all cyclic)", b[j].lambda_crit);
        else if (b[j].n_cyclic_cells == 0) report_table_set(&t, 5, "none (no cell cyclic)");
        else report_table_set(&t, 5, "none (largest lambda not cyclic)");
        report_table_set(&t, 6, "%.3g", th);
        if (b[j].kind == MG_SWEEP_STATS_FOUND)
            report_table_set(&t, 7, "%.3g", b[j].lambda_crit / th);
    }
    report_table_print(&t, 4);
    report_table_free(&t);
    mg_sweep_stats_fit f = mg_sweep_stats_fit_boundaries(b, nk);
    mg_sweep_stats_bootstrap bs = {0, 0, 0, NAN, NAN, NAN};
    if (m > 0 && mg_sweep_stats_bootstrap_slope(m, K, lam, seed, cyc, MG_SWEEP_STATS_FIRST,
                                                MG_SWEEP_STATS_BOOTSTRAP_B,
                                                MG_SWEEP_STATS_BOOTSTRAP_SEED, &bs))
        cli_error("lambda report: %s", mg_errmsg());
    /* The theory's own slope over these K (it tends to -1 only for large K). */
    double tk[MAX_K], tl[MAX_K];
    for (int j = 0; j < nk; j++) tk[j] = b[j].K, tl[j] = mg_sweep_stats_theory_lambda_crit(b[j].K);
    mg_sweep_stats_fit tf = mg_sweep_stats_loglog_fit(nk, tk, tl);
    if (f.n >= 2) {
        printf("    fit over %d K with a boundary: log lambda_crit = %.3f %+.3f log K", f.n,
               f.intercept, f.slope);
        if (f.n >= 3) printf(" (residual se %.3g)", f.rse);
        printf("\n    slope %.3f, 95%% interval [%.3f, %.3f] (bootstrap over seeds, %d resamples, "
               "%d with fewer than 2 boundaries)\n",
               f.slope, bs.lo, bs.hi, bs.B, bs.n_insufficient);
        printf("    theory: slope -1 (Theta(1/K)); its own values give %.3f over these K\n",
               tf.slope);
    } else {
        printf("    no fit: %d K with a boundary, 2 needed\n", f.n);
    }
    printf("    theory column: log I0(1) / (sqrt(K(K-1)) - sqrt(2K)), the nuclear-norm penalty "
           "on unit-column class vectors; %s\n",
           theory ? "the runs used that form, so the values compare"
                  : "the runs used another form: compare the slope, not the values");
    variant("rule STABLE (the smallest lambda from which on every cell is cyclic)", m, K, lam, seed,
            cyc, MG_SWEEP_STATS_STABLE);
    variant("label 'cyclic' and the training set fitted (train_acc 1)", m, K, lam, seed, cycfit,
            MG_SWEEP_STATS_FIRST);
    if (r->plots && r->gnuplot && nk)
        pictures(r, suffix, g->key, first, m, rows, K, lam, seed, b, nk, &f, &bs);
    free(K), free(lam), free(seed), free(rows), free(cyc), free(cycfit);
}

int report_lambda(report *r) {
    int c_p = report_axis(r, "p"), c_seed = report_axis(r, "seed");
    if (c_seed < 0) c_seed = mg_sweep_table_col(&r->t, "config.seed"); /* a fixed seed */
    bool lam_is_penalty = report_axis(r, "penalty-lambda") >= 0;
    int c_lam = report_axis(r, lam_is_penalty ? "penalty-lambda" : "wd");
    int cols[MG_SWEEP_MAX_AXES], n = 0;
    for (int a = 0; a < r->n_axes; a++)
        if (r->axis[a] != c_p && r->axis[a] != c_lam && r->axis[a] != c_seed)
            cols[n++] = r->axis[a];
    report_group *g;
    int ng = report_groups(r, cols, n, &g);
    printf("\nlambda_crit: the smallest lambda (%s) at which a majority of seeds end cyclic "
           "(SCIENCE.md), per K = p\n",
           lam_is_penalty ? "penalty-lambda" : "wd");
    bool *unlabelled = calloc((size_t)(r->t.n_rows + 1), sizeof *unlabelled);
    for (int j = 0; j < ng; j++) {
        char suffix[32] = "";
        if (ng > 1) snprintf(suffix, sizeof suffix, "_%d", j + 1);
        study(r, &g[j], suffix, c_p, c_lam, c_seed, lam_is_penalty, unlabelled);
    }
    if (!ng) printf("  (no finished run)\n");
    report_left_out(r, "lambda_crit", unlabelled, "without a geometry label or a positive lambda");
    free(unlabelled);
    report_groups_free(g, ng);
    return MG_EXIT_OK;
}
