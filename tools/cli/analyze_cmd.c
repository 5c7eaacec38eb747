/* analyze_cmd.c — `modgrad analyze RUN` (recompute the analyses, print a
 * report) and `modgrad compare RUN...` (side by side, or --csv). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/csvout.h"
#include "core/fsutil.h"
#include "models/harness/modelfile.h"
#include "models/harness/run.h"
#include "models/harness/rundir.h"
#include "tools/cli/cli.h"
#include "tools/cli/sweep_report.h"

static cJSON *load_json(const char *dir, const char *name) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    cJSON *j = NULL;
    (void)mg_read_json(path, &j); /* NULL: every row reads "-" */
    return j;
}

/* A value by path "a.b.c" as text ("-" if absent or null). */
static const char *get(const cJSON *j, const char *path, char *buf, size_t n) {
    char key[128];
    const char *p = path;
    while (j && *p) {
        size_t len = strcspn(p, ".");
        snprintf(key, sizeof key, "%.*s", (int)len, p);
        j = cJSON_GetObjectItemCaseSensitive(j, key);
        p += len + (p[len] == '.');
    }
    if (cJSON_IsNumber(j)) {
        double v = j->valuedouble;
        if (v == floor(v) && fabs(v) < 1e9) snprintf(buf, n, "%.0f", v);
        else snprintf(buf, n, "%.4g", v);
    } else if (cJSON_IsString(j)) {
        snprintf(buf, n, "%s", j->valuestring);
    } else if (cJSON_IsArray(j)) {
        size_t used = 0;
        buf[0] = '\0';
        const cJSON *e;
        int k = 0;
        cJSON_ArrayForEach(e, j) {
            if (k++ == 8) {
                used += (size_t)snprintf(buf + used, n - used, ",...");
                break;
            }
            used +=
                (size_t)snprintf(buf + used, n - used, "%s%.0f", k > 1 ? "," : "", e->valuedouble);
            if (used >= n) break;
        }
    } else {
        snprintf(buf, n, "-");
    }
    return buf;
}

/* The rows of the report and of the comparison: label, summary path. */
static const char *const rows[][2] = {
    {"model", "config:model"},
    {"p", "config:p"},
    {"final step", "final_step"},
    {"train acc", "train_acc"},
    {"test acc", "test_acc"},
    {"t_fit (train acc 100%)", "t_fit"},
    {"t_grok (test acc >= 99%)", "t_grok"},
    {"t_simplify", "t_simplify"},
    {"t_simplify / t_fit", "clock_ratio"},
    {"lead, displacement (steps)", "lead.displacement.lead_steps"},
    {"lead, displacement (ratio)", "lead.displacement.lead_ratio"},
    {"  onset classifier / embed",
     "lead.displacement.onset_classifier|lead.displacement.onset_embed"},
    {"lead, structure (steps)", "lead.structure.lead_steps"},
    {"lead, structure (ratio)", "lead.structure.lead_ratio"},
    {"  onset classifier / embed", "lead.structure.onset_classifier|lead.structure.onset_embed"},
    {"cumulative update ratio", "lead.cumulative_update_ratio"},
    {"lead, displacement, to final (steps)", "lead.displacement_final.lead_steps"},
    {"lead, structure, to final (steps)", "lead.structure_final.lead_steps"},
    {"T_cls(1e-2) / (1e-4) / (1e-6)",
     "two_clocks.t_cls.1e-02|two_clocks.t_cls.1e-04|two_clocks.t_cls.1e-06"},
    {"T_cls vs ln(1/eps): slope / R2", "two_clocks.t_cls_fit.slope|two_clocks.t_cls_fit.r2"},
    {"loss contraction after t_fit", "two_clocks.contraction_after_t_fit"},
    {"T_rep(0.1), srank gap: embed / cls",
     "two_clocks.rep.srank_gap_embed.t_rep.1e-01|two_clocks.rep.srank_gap_classifier.t_rep.1e-01"},
    {"T_rep(0.1): S_sep / S_rule embed",
     "two_clocks.rep.s_sep.t_rep.1e-01|two_clocks.rep.s_rule_embed.t_rep.1e-01"},
    {"T_rep/T_cls: srank classifier", "two_clocks.separation.srank_gap_classifier"},
    {"gate flips per update: final / median",
     "two_clocks.gates.hidden.flip_rate_final|two_clocks.gates.hidden.flip_rate_median"},
    {"gates frozen (<= 1e-3) from", "two_clocks.gates.hidden.t_frozen"},
    {"transformer MLP gate flips: final / median",
     "two_clocks.gates.mlp.flip_rate_final|two_clocks.gates.mlp.flip_rate_median"},
    {"locking share top-2 / random",
     "two_clocks.locking.lock_share_top2|two_clocks.locking.lock_random_top2"},
    {"locking share top-2m / random",
     "two_clocks.locking.lock_share_top2m|two_clocks.locking.lock_random_top2m"},
    {"|dE|/|dU|: measured first / last",
     "two_clocks.hierarchy.ratio_measured_first|two_clocks.hierarchy.ratio_measured_last"},
    {"  the bounds' ratio: first / last",
     "two_clocks.hierarchy.ratio_bound_first|two_clocks.hierarchy.ratio_bound_last"},
    {"|dE| / its bound: largest", "two_clocks.hierarchy.embed_bound_ratio_max"},
    {"deep linear balance: first / last",
     "two_clocks.end_to_end.balance_first|two_clocks.end_to_end.balance_last"},
    {"|(I-P)E|, top-2: first / last",
     "two_clocks.locking.lock_orth_top2_first|two_clocks.locking.lock_orth_top2_last"},
    {"key frequencies, embed (count)", "geometry.embed_n_key"},
    {"key frequencies, embed", "key_frequencies.embed"},
    {"key frequencies, classifier", "key_frequencies.classifier"},
    {"concentration, embed", "fourier_concentration.embed"},
    {"concentration, classifier", "fourier_concentration.classifier"},
    {"circle angle corr, embed", "geometry.embed_angle_corr"},
    {"classifier rank-2 energy", "geometry.classifier_ranks.rank2_energy"},
    {"classifier effective rank", "geometry.classifier_ranks.eff_rank"},
    {"plane locking (mean cos)", "geometry.lock_mean"},
    {"NC1", "collapse.nc1"},
    {"NC2 (ETF distance)", "collapse.nc2_etf"},
    {"NC3", "collapse.nc3"},
    {"NC4", "collapse.nc4"},
    {"trajectory r90 / r95, whole vector",
     "manifold.trajectory.all.r90|manifold.trajectory.all.r95"},
    {"  random-walk null r90 / r95",
     "manifold.trajectory.all.null_r90|manifold.trajectory.all.null_r95"},
    {"trajectory r90 / r95, attention blocks",
     "manifold.trajectory.attention.r90|manifold.trajectory.attention.r95"},
    {"  random-walk null r90 / r95",
     "manifold.trajectory.attention.null_r90|manifold.trajectory.attention.null_r95"},
    {"  collapse step (r90 at its final)", "manifold.trajectory.attention.collapse_step"},
    {"commutator D: early / late",
     "manifold.commutator.defect_early|manifold.commutator.defect_late"},
    {"  D max / median", "manifold.commutator.defect_max_over_median"},
    {"rho_exec: early / late",
     "manifold.commutator.rho_exec_early|manifold.commutator.rho_exec_late"},
    {"rho_exec/rho_rand full: early / late",
     "manifold.commutator.ratio_full_early|manifold.commutator.ratio_full_late"},
    {"rho_exec/rho_rand block: early / late",
     "manifold.commutator.ratio_block_early|manifold.commutator.ratio_block_late"},
    {"test acc, attention top-16/8/4/2/1",
     "manifold.attention_topk_acc.16|manifold.attention_topk_acc.8|manifold.attention_topk_acc."
     "4|manifold.attention_topk_acc.2|manifold.attention_topk_acc.1"},
    {"geometry label", "geometry_label"},
    {"geometry label, shape only", "geometry_label_shape"},
};
#define N_ROWS (int)(sizeof rows / sizeof rows[0])

/* A row's text: the value at path, or the values at "a|b|c" joined by " / ". */
static const char *cell(const cJSON *sum, const cJSON *cfg, const char *path, char *buf, size_t n) {
    if (strchr(path, '|')) {
        buf[0] = '\0';
        for (const char *p = path; *p;) {
            size_t len = strcspn(p, "|");
            char key[128], val[64];
            snprintf(key, sizeof key, "%.*s", (int)len, p);
            size_t used = strlen(buf);
            snprintf(buf + used, n - used, "%s%s", used ? " / " : "",
                     get(sum, key, val, sizeof val));
            p += len + (p[len] == '|');
        }
        return buf;
    }
    if (!strncmp(path, "config:", 7)) return get(cfg, path + 7, buf, n);
    return get(sum, path, buf, n);
}

/* The trajectory's PCA per block (trajectory.csv), when the run has one. */
static void print_blocks(const char *dir) {
    char path[4096 + 64];
    snprintf(path, sizeof path, "%s/" MG_RUN_TRAJ_CSV, dir);
    mg_csv *c = NULL;
    if (!mg_path_exists(path) || mg_csv_read(path, &c)) return;
    int col[MG_TRAJECTORY_NCOLS];
    if (!mg_csv_cols(c, MG_TRAJECTORY_NCOLS, mg_trajectory_cols, col)) {
        printf("  trajectory PCA (%s), %g snapshots:\n", MG_RUN_TRAJ_CSV,
               mg_csv_num(c, 0, col[MG_COLIDX_trajectory_snapshots]));
        printf("    %-14s %5s %5s %8s %9s %9s %10s\n", "block", "r90", "r95", "erank", "null r90",
               "null r95", "collapse");
        for (size_t i = 0; i < c->nrows; i++)
            printf("    %-14.14s %5.0f %5.0f %8.2f %9.2f %9.2f %10s\n",
                   mg_csv_str(c, i, col[MG_COLIDX_trajectory_block]),
                   mg_csv_num(c, i, col[MG_COLIDX_trajectory_r90]),
                   mg_csv_num(c, i, col[MG_COLIDX_trajectory_r95]),
                   mg_csv_num(c, i, col[MG_COLIDX_trajectory_erank]),
                   mg_csv_num(c, i, col[MG_COLIDX_trajectory_null_r90]),
                   mg_csv_num(c, i, col[MG_COLIDX_trajectory_null_r95]),
                   mg_csv_str(c, i, col[MG_COLIDX_trajectory_collapse_step]));
    }
    mg_csv_free(c);
}

int cmd_analyze(int argc, char **argv) {
    const char *dir = NULL;
    bool recompute = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: modgrad analyze RUN [--recompute]\n"
                   "Recomputes the study's analyses of RUN from its series and checkpoints (the\n"
                   "geometry from every checkpoint when geometry.csv is missing, or always with\n"
                   "--recompute), rewrites summary.json, spectrum.csv, circle.csv, and prints a "
                   "report.\n");
            return MG_EXIT_OK;
        }
        if (!strcmp(argv[i], "--recompute")) recompute = true;
        else if (!dir && argv[i][0] != '-') dir = argv[i];
        else {
            cli_error("analyze: unexpected argument '%s' (modgrad analyze --help)", argv[i]);
            return MG_EXIT_USAGE;
        }
    }
    if (!dir) {
        cli_error("analyze: give a run directory (modgrad analyze RUN)");
        return MG_EXIT_USAGE;
    }
    mg_status st = mg_run_analyze(dir, recompute);
    if (st) {
        cli_error("%s", mg_errmsg());
        cli_print_diagnostics(); /* the run's model file no longer compiles */
        return cli_exit_status(st);
    }
    cJSON *sum = load_json(dir, MG_RUN_SUMMARY), *cfg = load_json(dir, MG_RUN_CONFIG);
    printf("run %s\n", dir);
    char buf[256];
    const bool manifold = cJSON_GetObjectItemCaseSensitive(sum, "manifold") != NULL;
    for (int r = 0; r < N_ROWS; r++)
        if (manifold || strncmp(rows[r][1], "manifold.", 9)) /* the sequence study's rows */
            printf("  %-38s %s\n", rows[r][0], cell(sum, cfg, rows[r][1], buf, sizeof buf));
    print_blocks(dir);
    printf("(summary.json, spectrum.csv and circle.csv in %s)\n", dir);
    cJSON_Delete(sum);
    cJSON_Delete(cfg);
    return MG_EXIT_OK;
}

int cmd_compare(int argc, char **argv) {
    bool csv = false, plots = false;
    unsigned which = 0;
    const char *dirs[64];
    int n = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf(
                "usage: modgrad compare RUN... [--csv]\n"
                "       modgrad compare SWEEP_DIR [--report LIST] [--plots]\n"
                "One column per run: model, clocks, lead, key frequencies, concentration, ranks,\n"
                "neural-collapse metrics (from each run's summary.json; run modgrad analyze\n"
                "first on runs trained by older versions). --csv prints one row per run.\n"
                "A sweep directory (one holding " MG_SWEEP_FILE
                "): the reports of its\n" MG_SWEEP_RUNS_CSV
                " as the last `modgrad sweep --collect` wrote it. --report\n"
                "models (the default; a grid over model): per task and model, mean +- std over\n"
                "seeds of the clocks, leads, key frequencies, concentration, NC1 and the share\n"
                "labelled cyclic, and who groks first; seeds (a seed axis): the same per grid\n"
                "point; lambda (a p axis and a wd or penalty-lambda axis): lambda_crit(K), its\n"
                "log-log slope with a bootstrap interval over seeds, the theory beside it;\n"
                "clocks (a seed axis): per grid point the two clocks (T_cls and its line in\n"
                "ln 1/eps, T_rep per gap and its log-log line), the gates, the locking share\n"
                "and both leads; manifold (runs with trajectories, --snapshot-every): per grid\n"
                "point the trajectory's r90/r95 against the random-walk null, per block type,\n"
                "the collapse step, the commutator's rho_exec and its ratios to random bases,\n"
                "the defect D, the attention entropy and the top-k accuracies; all: each the\n"
                "grid has axes (or runs) for. --plots draws them into\n"
                "SWEEP_DIR/plots.\n");
            return MG_EXIT_OK;
        }
        if (!strcmp(argv[i], "--csv")) csv = true;
        else if (!strcmp(argv[i], "--plots")) plots = true;
        else if (!strcmp(argv[i], "--report")) {
            if (i + 1 == argc || !(which = cli_sweep_report_parse(argv[++i]))) {
                cli_error("compare: --report takes seeds, lambda, models, clocks, manifold or all "
                          "(comma-separated)%s",
                          i < argc ? "" : ", got nothing");
                return MG_EXIT_USAGE;
            }
        } else if (argv[i][0] == '-') {
            cli_error("compare: unknown flag %s (modgrad compare --help)", argv[i]);
            return MG_EXIT_USAGE;
        } else if (n == 64) {
            cli_error("compare: at most 64 runs at once, got more (compare them in groups)");
            return MG_EXIT_USAGE;
        } else dirs[n++] = argv[i];
    }
    if (n == 0) {
        cli_error("compare: give one or more run directories");
        return MG_EXIT_USAGE;
    }
    char sweep[4200];
    snprintf(sweep, sizeof sweep, "%s/" MG_SWEEP_FILE, dirs[0]);
    bool is_sweep = mg_path_exists(sweep);
    if (is_sweep && (n > 1 || csv)) {
        cli_error("compare: %s is a sweep: give it alone, without --csv (its " MG_SWEEP_RUNS_CSV
                  " is the table)",
                  dirs[0]);
        return MG_EXIT_USAGE;
    }
    if (is_sweep) {
        unsigned w = which ? which : CLI_REPORT_MODELS;
        /* named reports must be possible; "all" takes those the grid has */
        return cli_sweep_report(dirs[0], w, w == CLI_REPORT_ALL ? 0 : w, plots);
    }
    if (which || plots) {
        cli_error(
            "compare: --report and --plots are for a sweep directory (one holding " MG_SWEEP_FILE
            "); %s is none",
            dirs[0]);
        return MG_EXIT_USAGE;
    }
    for (int k = 0; k < n; k++)
        if (mg_modelfile_check_run(dirs[k])) { /* a --model-file run whose file changed */
            cli_error("compare: %s", mg_errmsg());
            return MG_EXIT_USAGE;
        }
    cJSON *sums[64], *cfgs[64];
    for (int k = 0; k < n; k++) {
        sums[k] = load_json(dirs[k], MG_RUN_SUMMARY);
        cfgs[k] = load_json(dirs[k], MG_RUN_CONFIG);
        if (!sums[k] || !cfgs[k]) {
            cli_error("compare: %s has no readable summary.json and config.json", dirs[k]);
            for (int j = 0; j <= k; j++) cJSON_Delete(sums[j]), cJSON_Delete(cfgs[j]);
            return MG_EXIT_USAGE;
        }
    }
    char buf[256];
    if (csv) {
        printf("run");
        for (int r = 0; r < N_ROWS; r++) printf(",\"%s\"", rows[r][0] + strspn(rows[r][0], " "));
        printf("\n");
        for (int k = 0; k < n; k++) {
            printf("\"%s\"", dirs[k]);
            for (int r = 0; r < N_ROWS; r++)
                printf(",\"%s\"", cell(sums[k], cfgs[k], rows[r][1], buf, sizeof buf));
            printf("\n");
        }
    } else {
        printf("%-38s", "");
        for (int k = 0; k < n; k++) {
            const char *base = strrchr(dirs[k], '/');
            printf(" %-22.22s", base && base[1] ? base + 1 : dirs[k]);
        }
        printf("\n");
        for (int r = 0; r < N_ROWS; r++) {
            printf("%-38s", rows[r][0]);
            for (int k = 0; k < n; k++)
                printf(" %-22.22s", cell(sums[k], cfgs[k], rows[r][1], buf, sizeof buf));
            printf("\n");
        }
    }
    for (int k = 0; k < n; k++) cJSON_Delete(sums[k]), cJSON_Delete(cfgs[k]);
    return MG_EXIT_OK;
}
