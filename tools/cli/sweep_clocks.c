/* sweep_clocks.c — `modgrad compare SWEEP_DIR --report clocks`: the two
 * clocks and subspace locking of issue 15 per grid point (the grid less its
 * seed axis), one column per grid point, each cell the mean ± std (n runs
 * with the number) over seeds of a summary.json scalar (runs.csv's column).
 * A clock that never fired is absent from a run's row: n counts the runs in
 * which it fired. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/cli/sweep_report.h"

static const struct {
    const char *label, *col;
} rows[] = {
    {"t_fit (train acc 100%)", "t_fit"},
    {"t_grok", "t_grok"},
    {"T_cls(1e-2)", "two_clocks.t_cls.1e-02"},
    {"T_cls(1e-4)", "two_clocks.t_cls.1e-04"},
    {"T_cls(1e-6)", "two_clocks.t_cls.1e-06"},
    {"T_cls vs ln(1/eps): slope", "two_clocks.t_cls_fit.slope"},
    {"T_cls vs ln(1/eps): R2", "two_clocks.t_cls_fit.r2"},
    {"loss contraction after t_fit", "two_clocks.contraction_after_t_fit"},
    {"T_rep(0.1) srank gap, embed", "two_clocks.rep.srank_gap_embed.t_rep.1e-01"},
    {"T_rep(0.1) srank gap, classifier", "two_clocks.rep.srank_gap_classifier.t_rep.1e-01"},
    {"T_rep(0.1) srank gap, end to end", "two_clocks.rep.srank_gap_end_to_end.t_rep.1e-01"},
    {"T_rep(0.1) S_rule, embed", "two_clocks.rep.s_rule_embed.t_rep.1e-01"},
    {"T_rep(0.1) S_sep", "two_clocks.rep.s_sep.t_rep.1e-01"},
    {"log-log slope, srank classifier", "two_clocks.rep.srank_gap_classifier.fit_loglog.slope"},
    {"  R2", "two_clocks.rep.srank_gap_classifier.fit_loglog.r2"},
    {"log-log slope, srank embed", "two_clocks.rep.srank_gap_embed.fit_loglog.slope"},
    {"  R2", "two_clocks.rep.srank_gap_embed.fit_loglog.r2"},
    {"log-log slope, srank end to end", "two_clocks.rep.srank_gap_end_to_end.fit_loglog.slope"},
    {"  R2", "two_clocks.rep.srank_gap_end_to_end.fit_loglog.r2"},
    {"T_rep/T_cls, srank classifier", "two_clocks.separation.srank_gap_classifier"},
    {"T_rep/T_cls, srank end to end", "two_clocks.separation.srank_gap_end_to_end"},
    {"stable rank embed, first", "two_clocks.stable_rank.embed.first"},
    {"  largest", "two_clocks.stable_rank.embed.max"},
    {"  at step", "two_clocks.stable_rank.embed.max_step"},
    {"  last", "two_clocks.stable_rank.embed.last"},
    {"stable rank classifier, first", "two_clocks.stable_rank.classifier.first"},
    {"  largest", "two_clocks.stable_rank.classifier.max"},
    {"  last", "two_clocks.stable_rank.classifier.last"},
    {"balance first", "two_clocks.end_to_end.balance_first"},
    {"balance last", "two_clocks.end_to_end.balance_last"},
    {"gate flips per update, median", "two_clocks.gates.hidden.flip_rate_median"},
    {"gate flips per update, last", "two_clocks.gates.hidden.flip_rate_final"},
    {"gates frozen (<= 1e-3) from", "two_clocks.gates.hidden.t_frozen"},
    {"transformer MLP gate flips, median", "two_clocks.gates.mlp.flip_rate_median"},
    {"transformer MLP gate flips, last", "two_clocks.gates.mlp.flip_rate_final"},
    {"locking share top-2 (last)", "two_clocks.locking.lock_share_top2"},
    {"  random baseline", "two_clocks.locking.lock_random_top2"},
    {"locking share top-2m (last)", "two_clocks.locking.lock_share_top2m"},
    {"  random baseline", "two_clocks.locking.lock_random_top2m"},
    {"|(I-P)E| top-2, first", "two_clocks.locking.lock_orth_top2_first"},
    {"|(I-P)E| top-2, last", "two_clocks.locking.lock_orth_top2_last"},
    {"lead, displacement at T_grok", "lead.displacement.lead_steps"},
    {"lead, displacement to final", "lead.displacement_final.lead_steps"},
    {"lead, structure at T_grok", "lead.structure.lead_steps"},
    {"lead, structure to final", "lead.structure_final.lead_steps"},
    {"cumulative update ratio", "lead.cumulative_update_ratio"},
};
#define N_ROWS (int)(sizeof rows / sizeof *rows)

static const char *label(int m) { return rows[m].label; }
static double value(const report *r, int64_t row, int m) { return report_num(r, row, rows[m].col); }

void report_clocks(report *r) {
    report_seed_table(r,
                      "clocks: the two clocks and locking per grid point, mean ± std (n runs "
                      "with the number) over seeds",
                      "the clocks table", N_ROWS, label, value);
}
