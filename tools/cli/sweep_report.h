/* sweep_report.h — what `modgrad sweep --collect DIR` and `modgrad compare
 * SWEEP_DIR` print and draw from DIR/runs.csv (written by mg_sweep_collect,
 * models/harness/sweep.h). Three reports, each only when the grid has its
 * axes (or, for manifold, the runs its columns):
 *   seeds   (a `seed` axis) per grid point without the seed: mean ± std (n)
 *           of the headline numbers and the share of seeds labelled cyclic;
 *   lambda  (a `p` axis and a λ axis, `penalty-lambda` or else `wd`) the
 *           boundary λ_crit(K), its log–log fit with a bootstrap interval
 *           over seeds, the theory's values beside it, the penalty form the
 *           runs used; pictures DIR/plots/lambda_phase and lambda_fit;
 *   models  (a `model` axis; the task from a `task` axis or config.task) per
 *           task and model the headline numbers as mean ± spread, who groks
 *           first and by how much, and the bar charts DIR/plots/models_bars;
 *   clocks  (a `seed` axis) per grid point the two clocks, the gates and
 *           the locking share as mean ± std over seeds (sweep_clocks.c);
 *   manifold (runs with trajectory columns: --snapshot-every) per grid point
 *           the execution-manifold study's numbers as mean ± std over seeds
 *           (sweep_manifold.c).
 * A run whose status is not completed (or grokked) is counted and named
 * under the report, never dropped silently; so is a finished run that lacks
 * what a report needs (a geometry label for λ_crit).
 *
 * The first part is the entry point; the rest is shared by sweep_report.c
 * (loading, tables, seeds, models) and sweep_lambda.c (λ_crit). */
#ifndef MG_SWEEP_REPORT_H
#define MG_SWEEP_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "models/harness/sweep.h"
#include "tools/cli/plot.h"

#define CLI_REPORT_SEEDS 1u
#define CLI_REPORT_LAMBDA 2u
#define CLI_REPORT_MODELS 4u
#define CLI_REPORT_CLOCKS 8u
#define CLI_REPORT_MANIFOLD 16u
#define CLI_REPORT_ALL 31u

/* Prints the reports in `which` that DIR/runs.csv's grid has axes for and,
 * with plots, draws their pictures into DIR/plots (a note on stderr when
 * gnuplot is not installed). required: a report in it that the grid cannot
 * give is an error (exit 2) instead of being skipped. Returns an exit
 * status: 2 when runs.csv is missing or malformed, 1 when gnuplot failed. */
int cli_sweep_report(const char *dir, unsigned which, unsigned required, bool plots);

/* Parses "seeds,lambda,models,clocks,manifold" or "all" into CLI_REPORT_* bits (0: bad). */
unsigned cli_sweep_report_parse(const char *list);

/* ---- shared by the report's files ------------------------------------------------ */

typedef struct {
    const char *dir;
    mg_sweep_table t;
    int n_axes;
    int axis[MG_SWEEP_MAX_AXES]; /* the axis columns: between "run" and "status" */
    int c_run, c_status;
    bool *usable; /* per row: status completed or grokked */
    bool plots, gnuplot;
    plot_run pr; /* the picture driver (plot.h) on DIR/plots */
} report;

/* The clocks report (sweep_clocks.c). */
void report_clocks(report *r);
/* The manifold report (sweep_manifold.c), and whether runs.csv has its columns. */
void report_manifold(report *r);
bool report_has_manifold(const report *r);

/* The column of axis `name`, -1 if the grid has no such axis. */
int report_axis(const report *r, const char *name);

/* Usable rows grouped by the text of columns cols[0..n-1] (joined with ", "
 * as "col=value"), in order of first appearance. */
typedef struct {
    char key[512];
    int64_t n;
    int64_t *rows;
} report_group;
int report_groups(const report *r, const int *cols, int n, report_group **out);
void report_groups_free(report_group *g, int n);

/* "mean ± std (n)" over the group's rows of column col (report_mean_std). */
void report_metric_cell(const report *r, const report_group *g, const char *col, char *buf,
                        size_t n);

/* Prints a table with one column per grid point less the seed axis and one
 * row per m < nrows that some run has (label(m)): each cell the mean ± std
 * (n runs with the number) over seeds of value(r, row, m), NaN when a run
 * lacks it; heading above it, the runs left out of `what` below. */
void report_seed_table(report *r, const char *heading, const char *what, int nrows,
                       const char *(*label)(int m),
                       double (*value)(const report *r, int64_t row, int m));

/* The number in row, column name (NaN when absent or empty). */
double report_num(const report *r, int64_t row, const char *col);
const char *report_str(const report *r, int64_t row, const char *col);

/* Prints the rows left out of a report: "left out of WHAT: 2 failed (a, b)".
 * Nothing when every row was used. extra[row] marks usable rows the report
 * could not use either (NULL: none), described by why. */
void report_left_out(const report *r, const char *what, const bool *extra, const char *why);

/* A text table printed with aligned columns (widths counted in characters,
 * not bytes, so "±" and "λ" align). */
typedef struct {
    int nc, nr, cap;
    char **cells; /* nr * nc */
} report_table;
void report_table_init(report_table *t, int nc);
void report_table_row(report_table *t); /* appends an empty row */
void report_table_set(report_table *t, int c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4))); /* in the last row */
void report_table_print(const report_table *t, int indent);
void report_table_free(report_table *t);

/* "1950 ± 150 (3)"; "-" when there is none; no "±" for a single value. */
void report_mean_std(char *buf, size_t n, const double *x, int64_t m);
/* A number in short form: whole below 1e6 when it is whole or >= 100, else 3 digits. */
void report_number(char *buf, size_t n, double v);

/* The λ_crit report (sweep_lambda.c). */
int report_lambda(report *r);

#endif
