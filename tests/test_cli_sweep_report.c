/* test_cli_sweep_report.c — the reports of a sweep (tools/cli/sweep_report.h)
 * through the binary: `modgrad compare SWEEP_DIR --report ... --plots` on
 * runs.csv files each test writes itself, as `modgrad sweep --collect`
 * writes them (run, the axes, status, config.KEY, the summary's scalars).
 * Checks the printed numbers — λ_crit per K, the fit's slope and interval,
 * the theory, the penalty form, mean ± std over seeds, who groks first —
 * that runs not finished are counted and named, that the PNG and SVG
 * pictures exist when gnuplot is installed, and that bad input is refused
 * with exit status 2. */
#include <math.h>

#include "tests/util/cli.h"

TestSuite(sweep_report, .init = mg_cli_setup, .fini = mg_cli_teardown, .timeout = 120);

static const double Ks[5] = {31, 47, 59, 97, 113};

/* A sweep directory: sweep.json (compare only asks that it exists) and an
 * open runs.csv with the header given. */
static FILE *sweep_dir(const char *header) {
    spit(P("sweep.json"), "{}\n", 3);
    FILE *f = fopen(P("runs.csv"), "w");
    cr_assert_not_null(f);
    fprintf(f, "%s\n", header);
    return f;
}

static bool has_gnuplot(void) { return system("command -v gnuplot >/dev/null 2>&1") == 0; }

/* A real PNG (its signature) and a non-empty SVG. */
static void assert_picture(const char *name) {
    size_t n = 0;
    char *png = slurp(P("plots/%s.png", name), &n);
    cr_assert_not_null(png, "no plots/%s.png", name);
    cr_assert(n > 8 && !memcmp(png, "\x89PNG", 4), "plots/%s.png is not a PNG", name);
    free(png);
    char *svg = slurp(P("plots/%s.svg", name), &n);
    cr_assert(svg && strstr(svg, "<svg"), "plots/%s.svg is not an SVG", name);
    free(svg);
}

#define LAMBDA_HEADER                                                                              \
    "run,p,wd,seed,status,config.optimizer,config.wd,config.penalty,config.penalty_lambda,"        \
    "t_fit,t_grok,fourier_concentration.embed,geometry_label"

/* The λ × K grid whose boundary is exactly 1/K: λ in {1e-3, 1/113, 1/97,
 * 1/59, 1/47, 1/31, 0.1}, 3 seeds, cyclic iff λ >= 1/K (on the value as
 * written). One run failed, one is still running, one finished without a
 * geometry label: each is named, and the boundary does not move (the other
 * two seeds of those cells agree). */
static void exact_grid(FILE *f) {
    double lam[7] = {1e-3, 1.0 / 113, 1.0 / 97, 1.0 / 59, 1.0 / 47, 1.0 / 31, 0.1};
    for (int k = 0; k < 5; k++)
        for (int l = 0; l < 7; l++)
            for (int s = 0; s < 3; s++) {
                char text[32];
                snprintf(text, sizeof text, "%.9g", lam[l]);
                double v = strtod(text, NULL);
                bool cyc = v >= 1.0 / Ks[k] * (1 - 1e-8); /* 1/K as written, to 9 digits */
                char name[128];
                snprintf(name, sizeof name, "\"p=%g,wd=%s,seed=%d\"", Ks[k], text, s);
                if (k == 2 && l == 3 && s == 2) {
                    fprintf(f, "%s,%g,%s,%d,failed,,,,,,,,\n", name, Ks[k], text, s);
                    continue;
                }
                if (k == 4 && l == 6 && s == 0) {
                    fprintf(f, "%s,%g,%s,%d,running,adamw,%s,none,0,,,,\n", name, Ks[k], text, s,
                            text);
                    continue;
                }
                const char *label = cyc ? "cyclic" : "simplex-like";
                if (k == 0 && l == 0 && s == 1) label = "";
                fprintf(f, "%s,%g,%s,%d,completed,adamw,%s,none,0,100,%d,%s,%s\n", name, Ks[k],
                        text, s, text, 2000 + 100 * s, cyc ? "0.9" : "0.2", label);
            }
}

Test(sweep_report, lambda_boundary_at_one_over_k_has_slope_minus_one) {
    FILE *f = sweep_dir(LAMBDA_HEADER);
    exact_grid(f);
    fclose(f);
    proc r;
    cr_assert_eq(mg(&r, "compare %s --report lambda --plots", tmp), 0, "%s", r.err);
    const char *rows[5][2] = {{"31   20    3      7: 0.001..0.1  2/7", "0.0323 (above 0.0213)"},
                              {"47   21    3      7: 0.001..0.1  3/7", "0.0213 (above 0.0169)"},
                              {"59   20    3      7: 0.001..0.1  4/7", "0.0169 (above 0.0103)"},
                              {"97   21    3      7: 0.001..0.1  5/7", "0.0103 (above 0.00885)"},
                              {"113  20    3      7: 0.001..0.1  6/7", "0.00885 (above 0.001)"}};
    for (int k = 0; k < 5; k++)
        for (int c = 0; c < 2; c++)
            cr_assert(strstr(r.out, rows[k][c]), "K = %g: %s missing:\n%s", Ks[k], rows[k][c],
                      r.out);
    cr_assert(strstr(r.out, "0.0104  "), "the theory at K = 31:\n%s", r.out);
    cr_assert(strstr(r.out, "0.00242 "), "the theory at K = 113:\n%s", r.out);
    /* The interval holds -1; it is not a point: a resample that draws K = 59's
     * seed 2 (failed at 1/59) three times leaves that cell empty, and its
     * boundary moves up to 1/47 (sweep_stats.h: an empty cell is off the grid). */
    const char *iv = strstr(r.out, "slope -1.000, 95% interval [");
    cr_assert_not_null(iv, "%s", r.out);
    double lo, hi;
    cr_assert_eq(sscanf(iv, "slope -1.000, 95%% interval [%lf, %lf]", &lo, &hi), 2);
    cr_assert(lo <= -1.0 && hi >= -1.0 && hi - lo < 0.05, "[%g, %g]", lo, hi);
    cr_assert(
        strstr(r.out, "(bootstrap over seeds, 2000 resamples, 0 with fewer than 2 boundaries)"),
        "%s", r.out);
    cr_assert(strstr(r.out, "0.000 -1.000 log K"), "log lambda_crit = -log K:\n%s", r.out);
    cr_assert(strstr(r.out, "its own values give -1.127 over these K"), "%s", r.out);
    cr_assert(strstr(r.out, "lambda = wd: AdamW's decoupled weight decay"), "%s", r.out);
    cr_assert(strstr(r.out, "compare the slope, not the values"), "%s", r.out);
    /* nothing dropped silently */
    cr_assert(strstr(r.out, "left out of lambda_crit: 1 failed: p=59,wd=0.0169491525,seed=2"), "%s",
              r.out);
    cr_assert(strstr(r.out, "left out of lambda_crit: 1 running: p=113,wd=0.1,seed=0"), "%s",
              r.out);
    cr_assert(strstr(r.out, "left out of lambda_crit: 1 without a geometry label or a positive "
                            "lambda: p=31,wd=0.001,seed=1"),
              "%s", r.out);
    cr_assert(strstr(r.out, "105 runs, 103 finished"), "%s", r.out);
    if (has_gnuplot()) {
        assert_picture("lambda_phase");
        assert_picture("lambda_fit");
        cr_assert(exists(P("plots/data/lambda_runs.dat")));
        cr_assert(exists(P("plots/data/lambda_fit.gp")), "the script is kept beside its data");
    }
    proc_free(&r);
}

Test(sweep_report, lambda_censored_and_no_boundary_are_told_apart) {
    FILE *f = sweep_dir(LAMBDA_HEADER);
    double lam[3] = {0.001, 0.01, 0.1};
    for (int k = 0; k < 5; k++)
        for (int l = 0; l < 3; l++)
            for (int s = 0; s < 2; s++) {
                /* 31: all cyclic; 47: none; 59: only the middle; others from 0.01 */
                bool cyc = k == 0 || (k == 2 ? l == 1 : k != 1 && l >= 1);
                fprintf(f, "\"p=%g,wd=%g,seed=%d\",%g,%g,%d,completed,adamw,%g,none,0,1,2,0.5,%s\n",
                        Ks[k], lam[l], s, Ks[k], lam[l], s, lam[l], cyc ? "cyclic" : "neither");
            }
    fclose(f);
    proc r;
    cr_assert_eq(mg(&r, "compare %s --report lambda", tmp), 0, "%s", r.err);
    cr_assert(strstr(r.out, "<= 0.001 (censored: all cyclic)"), "%s", r.out);
    cr_assert(strstr(r.out, "none (no cell cyclic)"), "%s", r.out);
    /* SCIENCE.md's rule: 59's cyclic middle cell is its boundary; the
     * stricter variant has none there (its largest lambda is not cyclic) */
    cr_assert(strstr(r.out, "59   6     2      3: 0.001..0.1  1/3           0.01 (above 0.001)"),
              "%s", r.out);
    cr_assert(strstr(r.out, "rule STABLE") && strstr(r.out, "K 59: none;"), "%s", r.out);
    /* 59, 97 and 113 share the boundary 0.01: a slope of 0 over 3 K */
    cr_assert(strstr(r.out, "fit over 3 K with a boundary"), "%s", r.out);
    cr_assert(strstr(r.out, "slope 0.000"), "%s", r.out);
    cr_assert(!exists(P("plots")), "no --plots, no pictures");
    proc_free(&r);
}

Test(sweep_report, lambda_of_an_explicit_nuclear_norm_penalty_is_the_theory_form) {
    FILE *f = sweep_dir("run,p,penalty-lambda,status,config.optimizer,config.wd,config.penalty,"
                        "config.penalty_layers,config.penalty_lambda,geometry_label");
    double lam[3] = {1e-3, 1e-2, 1e-1};
    for (int k = 0; k < 2; k++)
        for (int l = 0; l < 3; l++)
            fprintf(f,
                    "\"p=%g,penalty-lambda=%g\",%g,%g,completed,adam,0,schatten:q=1,classifier,"
                    "%g,%s\n",
                    Ks[k], lam[l], Ks[k], lam[l], lam[l],
                    lam[l] >= (k ? 1e-2 : 1e-1) ? "cyclic" : "simplex-like");
    fclose(f);
    proc r;
    cr_assert_eq(mg(&r, "compare %s --report lambda", tmp), 0, "%s", r.err);
    cr_assert(strstr(r.out, "the smallest lambda (penalty-lambda)"), "%s", r.out);
    cr_assert(strstr(r.out, "an explicit Schatten-q penalty lambda*sum sigma^q, q = 1, on "
                            "classifier, in the loss; besides, no weight decay"),
              "%s", r.out);
    cr_assert(strstr(r.out, "the runs used that form, so the values compare"), "%s", r.out);
    cr_assert(strstr(r.out, "0.1 (above 0.01)") && strstr(r.out, "0.01 (above 0.001)"), "%s",
              r.out);
    /* log(0.01/0.1) / log(47/31) */
    char want[64];
    snprintf(want, sizeof want, "slope %.3f", log(0.1) / log(47.0 / 31));
    cr_assert(strstr(r.out, want), "%s in:\n%s", want, r.out);
    proc_free(&r);
}

Test(sweep_report, seeds_table_has_mean_std_and_cyclic_share) {
    FILE *f = sweep_dir("run,wd,seed,status,t_fit,t_grok,collapse.nc1,geometry_label");
    for (int w = 0; w < 2; w++)
        for (int s = 0; s < 3; s++)
            fprintf(f, "\"wd=%d,seed=%d\",%d,%d,%s,200,%s,%g,%s\n", w, s, w, s,
                    w == 1 && s == 2 ? "diverged" : "completed",
                    w == 0 ? (s == 0   ? "1900"
                              : s == 1 ? "2000"
                                       : "2100")
                           : (s ? "" : "5000"),
                    1.5 + s, s < 2 ? "cyclic" : "neither");
    fclose(f);
    proc r;
    cr_assert_eq(mg(&r, "compare %s --report seeds", tmp), 0, "%s", r.err);
    cr_assert(strstr(r.out, "wd=0        3      200 ± 0 (3)  2000 ± 100 (3)"), "%s", r.out);
    cr_assert(strstr(r.out, "2.5 ± 1 (3)"), "NC1 1.5, 2.5, 3.5:\n%s", r.out);
    cr_assert(strstr(r.out, "2/3"), "%s", r.out);
    /* wd=1: seed 2 diverged; seed 1 did not grok: t_grok over one seed */
    cr_assert(strstr(r.out, "wd=1        2      200 ± 0 (2)  5000 (1)"), "%s", r.out);
    cr_assert(strstr(r.out, "2/2"), "%s", r.out);
    cr_assert(strstr(r.out, "left out of the seeds table: 1 diverged: wd=1,seed=2"), "%s", r.out);
    proc_free(&r);
}

#define MODELS_HEADER                                                                              \
    "run,model,task,seed,status,t_fit,t_grok,t_simplify,lead.displacement.lead_steps,"             \
    "geometry.embed_n_key,geometry_label"

static void models_grid(void) {
    FILE *f = sweep_dir(MODELS_HEADER);
    const char *models[2] = {"mlp", "transformer"}, *tasks[2] = {"add", "mul"};
    for (int m = 0; m < 2; m++)
        for (int t = 0; t < 2; t++)
            for (int s = 0; s < 3; s++) {
                int grok = m == 0 ? 1900 + 100 * s : 11000 + 500 * s;
                char tg[16] = "";
                if (!(m == 1 && t == 1)) snprintf(tg, sizeof tg, "%d", grok);
                fprintf(f, "\"model=%s,task=%s,seed=%d\",%s,%s,%d,%s,200,%s,4000,%d,%d,%s\n",
                        models[m], tasks[t], s, models[m], tasks[t], s,
                        m == 1 && t == 0 && s == 2 ? "pending" : "completed", tg,
                        m == 0 ? 560 + 20 * s : -40, m == 0 ? 12 : 4, m ? "cyclic" : "neither");
            }
    fclose(f);
}

Test(sweep_report, models_table_says_who_groks_first_and_draws_bars) {
    models_grid();
    proc r;
    cr_assert_eq(mg(&r, "compare %s --plots", tmp), 0, "%s", r.err);
    cr_assert(strstr(r.out, "task=add"), "%s", r.out);
    cr_assert(strstr(r.out, "t_grok                  2000 ± 100 (3)  11250 ± 354 (2)"), "%s",
              r.out);
    cr_assert(strstr(r.out, "groks first: mlp, t_grok 2000 (3/3 seeds grokked); transformer 11250 "
                            "(2/2): 9250 steps sooner, 5.62×"),
              "%s", r.out);
    cr_assert(strstr(r.out, "transformer did not grok (0/3)"), "task mul:\n%s", r.out);
    cr_assert(strstr(r.out, "mlp: the classifier moves first, by 580 steps"), "%s", r.out);
    cr_assert(strstr(r.out, "transformer: the embedding moves first, by 40 steps"), "%s", r.out);
    cr_assert(strstr(r.out, "cyclic (share)          0/3             2/2"), "%s", r.out);
    cr_assert(strstr(r.out, "left out of the models table: 1 pending: model=transformer,task=add,"
                            "seed=2"),
              "%s", r.out);
    cr_assert(!strstr(r.out, "seeds: mean"), "the default report is the models table only");
    if (has_gnuplot()) assert_picture("models_bars");
    proc_free(&r);
}

Test(sweep_report, report_all_takes_what_the_grid_has) {
    models_grid();
    proc r;
    cr_assert_eq(mg(&r, "compare %s --report all", tmp), 0, "%s", r.err);
    cr_assert(strstr(r.out, "seeds: mean"), "%s", r.out);
    cr_assert(strstr(r.out, "models: per task and model"), "%s", r.out);
    cr_assert(!strstr(r.out, "lambda_crit"), "no p axis, no lambda report:\n%s", r.out);
    proc_free(&r);
}

Test(sweep_report, bad_input_is_refused_with_status_2) {
    proc r;
    spit(P("sweep.json"), "{}\n", 3);
    cr_assert_eq(mg(&r, "compare %s", tmp), 2);
    cr_assert(strstr(r.err, "has no runs.csv: run modgrad sweep --collect"), "%s", r.err);
    proc_free(&r);
    models_grid();
    cr_assert_eq(mg(&r, "compare %s --report lambda", tmp), 2);
    cr_assert(strstr(r.err, "needs a p axis and a wd or penalty-lambda axis"), "%s", r.err);
    proc_free(&r);
    cr_assert_eq(mg(&r, "compare %s --report bogus", tmp), 2);
    cr_assert(strstr(r.err, "--report takes seeds, lambda, models, clocks, manifold or all"), "%s",
              r.err);
    proc_free(&r);
    cr_assert_eq(mg(&r, "compare %s --csv", tmp), 2);
    proc_free(&r);
    spit(P("runs.csv"), "p,wd\n1,2\n", 9);
    cr_assert_eq(mg(&r, "compare %s", tmp), 2);
    cr_assert(strstr(r.err, "not a sweep's table"), "%s", r.err);
    proc_free(&r);
    cr_assert(!exists(P("plots")), "nothing written");
    mkdir(P("plain"), 0755);
    cr_assert_eq(mg(&r, "compare %s --plots", P("plain")), 2);
    cr_assert(strstr(r.err, "are for a sweep directory"), "%s", r.err);
    proc_free(&r);
}

/* The clocks report: one column per grid point without the seed, the mean
 * ± std over seeds of each two-clocks scalar, a clock that never fired
 * (empty) left out of its cell's n, a quantity no run has left out. */
Test(sweep_report, clocks_table_averages_the_two_clocks_over_seeds) {
    FILE *f = sweep_dir("run,wd,seed,status,t_fit,two_clocks.t_cls.1e-02,"
                        "two_clocks.t_cls_fit.r2,two_clocks.rep.srank_gap_classifier.t_rep.1e-01,"
                        "two_clocks.locking.lock_share_top2");
    for (int w = 0; w < 2; w++)
        for (int s = 0; s < 2; s++)
            fprintf(f, "\"wd=%d,seed=%d\",%d,%d,completed,100,%d,%.2f,%s,\n", w, s, w, s,
                    300 + 100 * s + 1000 * w, 0.9 + 0.05 * s, w == 1 && s == 1 ? "" : "4000");
    fclose(f);
    proc r;
    cr_assert_eq(mg(&r, "compare %s --report clocks", tmp), 0, "%s", r.err);
    cr_assert(strstr(r.out, "clocks: the two clocks"), "%s", r.out);
    cr_assert(strstr(r.out, "wd=0") && strstr(r.out, "wd=1"), "one column per wd:\n%s", r.out);
    cr_assert(strstr(r.out, "350 ± 70.7 (2)") && strstr(r.out, "1350 ± 70.7 (2)"),
              "T_cls(1e-2) of 300/400 and 1300/1400:\n%s", r.out);
    cr_assert(strstr(r.out, "0.925 ± 0.0354 (2)"), "R2 0.90 and 0.95:\n%s", r.out);
    cr_assert(strstr(r.out, "4000 ± 0 (2)") && strstr(r.out, "4000 (1)"),
              "T_rep: fired in 2 and in 1 of the seeds:\n%s", r.out);
    cr_assert(!strstr(r.out, "locking share"), "no run has a locking share:\n%s", r.out);
    proc_free(&r);
    /* a grid without a seed axis cannot give it when it is asked for by name */
    spit(P("runs.csv"), "run,wd,status,t_fit\n\"wd=0\",0,completed,100\n", 42);
    cr_assert_eq(mg(&r, "compare %s --report clocks", tmp), 2, "%s", r.out);
    cr_assert(strstr(r.err, "seed axis"), "%s", r.err);
    proc_free(&r);
}

/* The manifold report: one column per grid point without the seed; a
 * per-layer number is averaged over the layers a run has before the mean
 * over seeds; the collapse step's share of training is the ratio per run; a
 * quantity no run has is left out; the SAEs' findings per checkpoint;
 * a grid whose runs have no trajectory cannot give it when asked by name. */
Test(sweep_report, manifold_table_averages_layers_then_seeds) {
    FILE *f = sweep_dir("run,mlp,seed,status,manifold.trajectory.all.r90,"
                        "manifold.trajectory.blocks.l0.v.r90,manifold.trajectory.blocks.l1.v.r90,"
                        "manifold.trajectory.all.collapse_step,manifold.trajectory.last_step");
    /* mlp=no: W_V r90 of (2, 4) and (3, 5): layer means 3 and 4; collapse 2000/20000, 6000/20000 */
    fprintf(f, "\"mlp=no,seed=0\",no,0,completed,3,2,4,2000,20000\n");
    fprintf(f, "\"mlp=no,seed=1\",no,1,completed,5,3,5,6000,20000\n");
    /* mlp=yes: one layer only in the second seed's row */
    fprintf(f, "\"mlp=yes,seed=0\",yes,0,completed,5,6,8,,20000\n");
    fprintf(f, "\"mlp=yes,seed=1\",yes,1,completed,5,10,,10000,20000\n");
    fprintf(f, "\"mlp=yes,seed=2\",yes,2,failed,,,,,\n");
    fclose(f);
    proc r;
    cr_assert_eq(mg(&r, "compare %s --report manifold", tmp), 0, "%s", r.err);
    cr_assert(strstr(r.out, "manifold: the execution-manifold study"), "%s", r.out);
    cr_assert(strstr(r.out, "mlp=no") && strstr(r.out, "mlp=yes"), "%s", r.out);
    const char *v = strstr(r.out, "r90 W_V (mean over layers)");
    cr_assert_not_null(v, "%s", r.out);
    cr_assert(!strncmp(strstr(v, "3.5"), "3.5 ± 0.707 (2)", strlen("3.5 ± 0.707 (2)")),
              "layer means 3 and 4:\n%s", r.out);
    cr_assert(strstr(v, "8.5 ± 2.12 (2)"), "layer means 7 and 10:\n%s", r.out);
    const char *share = strstr(r.out, "  share of training");
    cr_assert(share && strstr(share, "0.2 ± 0.141 (2)") && strstr(share, "0.5 (1)"),
              "0.1, 0.3 and 0.5:\n%s", r.out);
    cr_assert(strstr(r.out, "4 ± 1.41 (2)"), "r90 3 and 5:\n%s", r.out);
    cr_assert(!strstr(r.out, "rho_exec"), "no run has a commutator:\n%s", r.out);
    cr_assert(strstr(r.out, "left out of the manifold table: 1 failed"), "%s", r.out);
    proc_free(&r);
    /* layers by whatever name the model gives them (the canonical transformer's
     * one is "attn"); a nested key under a block (".x.v.r90" of "a.x") is no layer */
    f = sweep_dir(
        "run,seed,status,manifold.trajectory.all.r90,manifold.trajectory.blocks.attn.v.r90,"
        "manifold.trajectory.blocks.a.x.v.r90,manifold.attention_entropy.attn.last");
    fprintf(f, "\"seed=0\",0,completed,2,3,100,0.5\n");
    fprintf(f, "\"seed=1\",1,completed,2,5,100,0.7\n");
    fclose(f);
    cr_assert_eq(mg(&r, "compare %s --report manifold", tmp), 0, "%s", r.err);
    v = strstr(r.out, "r90 W_V (mean over layers)");
    cr_assert(v && strstr(v, "4 ± 1.41 (2)") && !strstr(r.out, "100"), "W_V 3 and 5 of attn:\n%s",
              r.out);
    v = strstr(r.out, "attention entropy, last (mean)");
    cr_assert(v && strstr(v, "0.6 ± 0.141 (2)"), "attn's entropy 0.5 and 0.7:\n%s", r.out);
    proc_free(&r);
    /* the SAEs' rows, per checkpoint in order of step whatever the columns'
     * order; a checkpoint without corr_min has no rows */
    f = sweep_dir("run,seed,status,manifold.trajectory.all.r90,sae.step_008000.corr_min,"
                  "sae.step_008000.latents_corr_m,sae.step_008000.acc_ablated,"
                  "sae.step_002000.corr_min,sae.step_002000.latents_corr_m,"
                  "sae.step_004000.acc");
    fprintf(f, "\"seed=0\",0,completed,3,0.5,1,0.9,0.5,0,0.25\n");
    fprintf(f, "\"seed=1\",1,completed,3,0.5,3,0.7,0.5,2,0.25\n");
    fclose(f);
    cr_assert_eq(mg(&r, "compare %s --report manifold", tmp), 0, "%s", r.err);
    const char *s2 = strstr(r.out, "SAE at step 2000: corr_min"),
               *s8 = strstr(r.out, "SAE at step 8000: corr_min");
    cr_assert(s2 && s8 && s2 < s8 && !strstr(r.out, "step 4000"), "%s", r.out);
    v = strstr(s2, "latents |r| >= corr_min, m");
    cr_assert(v && v < s8 && !strncmp(strstr(v, "1 ±"), "1 ± 1.41 (2)", 12), "0 and 2:\n%s", r.out);
    v = strstr(s8, "latents |r| >= corr_min, m");
    cr_assert(v && !strncmp(strstr(v, "2 ±"), "2 ± 1.41 (2)", 12), "1 and 3:\n%s", r.out);
    v = strstr(s8, "acc, top-variance latents ablated");
    cr_assert(v && strstr(v, "0.8 ± 0.141 (2)"), "0.9 and 0.7:\n%s", r.out);
    cr_assert(!strstr(s2, "largest |r| with m"), "no run has it:\n%s", r.out);
    proc_free(&r);
    spit(P("runs.csv"), "run,seed,status,t_fit\n\"seed=0\",0,completed,100\n", 46);
    cr_assert_eq(mg(&r, "compare %s --report manifold", tmp), 2, "%s", r.out);
    cr_assert(strstr(r.err, "trajectories"), "%s", r.err);
    proc_free(&r);
}

/* The seeds table leaves out a headline number no finished run has, and
 * the cyclic count when no run has a geometry label (a sequence task). */
Test(sweep_report, seeds_table_leaves_out_what_no_run_has) {
    FILE *f = sweep_dir("run,task,seed,status,t_fit,t_grok,collapse.nc1,geometry_label");
    fprintf(f, "\"task=markers,seed=0\",markers,0,completed,1000,3000,,\n");
    fprintf(f, "\"task=markers,seed=1\",markers,1,completed,1400,5000,,\n");
    fprintf(f, "\"task=markers,seed=2\",markers,2,failed,,,7,cyclic\n");
    fclose(f);
    proc r;
    cr_assert_eq(mg(&r, "compare %s --report seeds", tmp), 0, "%s", r.err);
    cr_assert(strstr(r.out, "t_grok") && strstr(r.out, "4000 ± 1414 (2)"), "%s", r.out);
    cr_assert(!strstr(r.out, "NC1") && !strstr(r.out, "cyclic") && !strstr(r.out, "t_simplify"),
              "the failed run's numbers do not bring their columns back:\n%s", r.out);
    proc_free(&r);
    f = sweep_dir("run,task,seed,status,t_fit,collapse.nc1,geometry_label");
    fprintf(f, "\"task=add,seed=0\",add,0,completed,1000,0.5,cyclic\n");
    fprintf(f, "\"task=add,seed=1\",add,1,completed,1400,,simplex\n");
    fclose(f);
    cr_assert_eq(mg(&r, "compare %s --report seeds", tmp), 0, "%s", r.err);
    cr_assert(strstr(r.out, "NC1") && strstr(r.out, "0.5 (1)") && strstr(r.out, "1/2"), "%s",
              r.out);
    proc_free(&r);
}
