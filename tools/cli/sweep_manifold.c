/* sweep_manifold.c — `modgrad compare SWEEP_DIR --report manifold`: the
 * execution-manifold study of issue 13 per grid point (the grid less its
 * seed axis), one column per grid point, each cell the mean ± std (n runs
 * with the number) over seeds of a summary.json scalar of the run's
 * "manifold" section (runs.csv's columns), or of a per-run derived value:
 *   the mean over layers of a per-layer number (W_Q's r90 of l0 ... l4, of
 *   whatever the model calls its layers: the canonical transformer's one is
 *   "attn"),
 *   a ratio of two numbers (the collapse step over the last snapshot);
 * then, per checkpoint some run trained a sparse autoencoder on (`modgrad
 * sae RUN --checkpoint STEP`: runs.csv's sae.step_NNNNNN.* columns), the
 * SAE's findings at that step.
 * Drawn when runs.csv has trajectory columns (runs trained with
 * --snapshot-every); a row no run has is left out. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/cli/sweep_report.h"

enum kind { COL, LAYERS, RATIO };

static const struct {
    enum kind kind;
    const char *label, *col, *den; /* LAYERS: col has one %s, the layer's name */
} rows[] = {
    {COL, "t_fit (train acc 100%)", "t_fit", NULL},
    {COL, "t_grok", "t_grok", NULL},
    {COL, "final test acc", "test_acc", NULL},
    {COL, "r90, whole vector", "manifold.trajectory.all.r90", NULL},
    {COL, "  random-walk null", "manifold.trajectory.all.null_r90", NULL},
    {COL, "r95, whole vector", "manifold.trajectory.all.r95", NULL},
    {COL, "  random-walk null", "manifold.trajectory.all.null_r95", NULL},
    {COL, "entropy rank, whole vector", "manifold.trajectory.all.entropy_rank", NULL},
    {COL, "r90, attention blocks together", "manifold.trajectory.attention.r90", NULL},
    {COL, "  random-walk null", "manifold.trajectory.attention.null_r90", NULL},
    {LAYERS, "r90 W_Q (mean over layers)", "manifold.trajectory.blocks.%s.q.r90", NULL},
    {LAYERS, "r90 W_K (mean over layers)", "manifold.trajectory.blocks.%s.k.r90", NULL},
    {LAYERS, "r90 W_V (mean over layers)", "manifold.trajectory.blocks.%s.v.r90", NULL},
    {LAYERS, "r90 W_O (mean over layers)", "manifold.trajectory.blocks.%s.o.r90", NULL},
    {LAYERS, "  null, W_Q", "manifold.trajectory.blocks.%s.q.null_r90", NULL},
    {LAYERS, "  null, W_V", "manifold.trajectory.blocks.%s.v.null_r90", NULL},
    {COL, "alignment at mid-training, whole", "manifold.trajectory.all.alignment_mid", NULL},
    {COL, "collapse step, whole vector", "manifold.trajectory.all.collapse_step", NULL},
    {RATIO, "  share of training", "manifold.trajectory.all.collapse_step",
     "manifold.trajectory.last_step"},
    {COL, "collapse step, attention blocks", "manifold.trajectory.attention.collapse_step", NULL},
    {RATIO, "  share of training", "manifold.trajectory.attention.collapse_step",
     "manifold.trajectory.last_step"},
    {COL, "rho_exec, early", "manifold.commutator.rho_exec_early", NULL},
    {COL, "rho_exec, late", "manifold.commutator.rho_exec_late", NULL},
    {COL, "rho_exec / rho_rand full, early", "manifold.commutator.ratio_full_early", NULL},
    {COL, "rho_exec / rho_rand full, late", "manifold.commutator.ratio_full_late", NULL},
    {COL, "rho_exec / rho_rand block, early", "manifold.commutator.ratio_block_early", NULL},
    {COL, "rho_exec / rho_rand block, late", "manifold.commutator.ratio_block_late", NULL},
    {COL, "defect D, early median", "manifold.commutator.defect_early", NULL},
    {COL, "defect D, late median", "manifold.commutator.defect_late", NULL},
    {COL, "D max / median", "manifold.commutator.defect_max_over_median", NULL},
    {COL, "cos(g_A, g_B), early", "manifold.commutator.cos_ab_early", NULL},
    {COL, "cos(g_A, g_B), late", "manifold.commutator.cos_ab_late", NULL},
    {LAYERS, "attention entropy, first (mean)", "manifold.attention_entropy.%s.first", NULL},
    {LAYERS, "attention entropy, last (mean)", "manifold.attention_entropy.%s.last", NULL},
    {COL, "test acc, full attention", "manifold.attention_topk_acc.all", NULL},
    {COL, "  top-16", "manifold.attention_topk_acc.16", NULL},
    {COL, "  top-8", "manifold.attention_topk_acc.8", NULL},
    {COL, "  top-4", "manifold.attention_topk_acc.4", NULL},
    {COL, "  top-2", "manifold.attention_topk_acc.2", NULL},
    {COL, "  top-1", "manifold.attention_topk_acc.1", NULL},
};
#define N_ROWS (int)(sizeof rows / sizeof *rows)

/* The SAE's rows, per checkpoint: a summary.json key of RUN/sae/step_N/. */
static const struct {
    const char *label, *key;
} sae_rows[] = {
    {"SAE at step %lld: corr_min", "corr_min"},
    {"  latents |r| >= corr_min, m", "latents_corr_m"},
    {"  latents |r| >= corr_min, position", "latents_corr_pos"},
    {"  largest |r| with m", "max_abs_corr_m"},
    {"  largest |r| with position", "max_abs_corr_pos"},
    {"  variance explained (held out)", "fraction_variance_explained"},
    {"  test acc as trained", "acc"},
    {"  acc, top-variance latents ablated", "acc_ablated"},
    {"  acc, reconstruction spliced in", "acc_spliced"},
};
#define N_SAE_ROWS (int)(sizeof sae_rows / sizeof *sae_rows)
#define MAX_SAE_STEPS 16

/* This report's SAE rows (built by report_manifold from runs.csv's columns). */
static struct { char label[96], col[96]; } sae[MAX_SAE_STEPS * N_SAE_ROWS];
static int n_sae;

static int cmp_ll(const void *a, const void *b) {
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

/* The checkpoints with an SAE column in runs.csv, in order of step. */
static void find_sae_rows(const report *r) {
    long long steps[MAX_SAE_STEPS];
    int n = 0;
    for (int c = 0; c < r->t.n_cols && n < MAX_SAE_STEPS; c++) {
        long long s;
        char tail[32];
        if (sscanf(r->t.cols[c], "sae.step_%lld.%31s", &s, tail) != 2 ||
            strcmp(tail, sae_rows[0].key))
            continue;
        bool seen = false;
        for (int i = 0; i < n; i++) seen = seen || steps[i] == s;
        if (!seen) steps[n++] = s;
    }
    qsort(steps, (size_t)n, sizeof *steps, cmp_ll);
    n_sae = 0;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < N_SAE_ROWS; k++, n_sae++) {
            snprintf(sae[n_sae].label, sizeof sae[n_sae].label, sae_rows[k].label, steps[i]);
            snprintf(sae[n_sae].col, sizeof sae[n_sae].col, "sae.step_%06lld.%s", steps[i],
                     sae_rows[k].key);
        }
}

/* Row m's value for one run: NaN when the run lacks it. */
static double value(const report *r, int64_t row, int m) {
    if (m >= N_ROWS) return report_num(r, row, sae[m - N_ROWS].col);
    if (rows[m].kind == COL) return report_num(r, row, rows[m].col);
    if (rows[m].kind == RATIO) {
        double a = report_num(r, row, rows[m].col), b = report_num(r, row, rows[m].den);
        return b > 0 ? a / b : NAN;
    }
    /* every column the pattern matches with a layer name (no dot) in it */
    const char *pat = rows[m].col, *hole = strstr(pat, "%s");
    const size_t pre = (size_t)(hole - pat), post = strlen(hole + 2);
    double s = 0;
    int n = 0;
    for (int c = 0; c < r->t.n_cols; c++) {
        const char *name = r->t.cols[c];
        const size_t len = strlen(name);
        if (len <= pre + post || strncmp(name, pat, pre) || strcmp(name + len - post, hole + 2))
            continue;
        if (memchr(name + pre, '.', len - pre - post)) continue;
        double v = report_num(r, row, name);
        if (isfinite(v)) s += v, n++;
    }
    return n ? s / n : NAN;
}

bool report_has_manifold(const report *r) {
    return mg_sweep_table_col(&r->t, "manifold.trajectory.all.r90") >= 0;
}

static const char *label(int m) { return m >= N_ROWS ? sae[m - N_ROWS].label : rows[m].label; }

void report_manifold(report *r) {
    find_sae_rows(r);
    report_seed_table(r,
                      "manifold: the execution-manifold study per grid point, mean ± std (n runs "
                      "with the number) over seeds",
                      "the manifold table", N_ROWS + n_sae, label, value);
}
