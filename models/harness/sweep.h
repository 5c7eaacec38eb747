/* sweep.h — a grid of training runs described once: `modgrad sweep`.
 *
 * A sweep is a set of fixed `train` settings and a list of axes, each a
 * `train` setting (a flag without its dashes: "wd", "p", "seed", "model",
 * "task", "model-file", a model or task option such as "width") with a list
 * of values. Its points are the Cartesian product of the axes, in the order
 * the axes were given (the last axis varies fastest). Every value is kept as
 * the text that is applied with mg_settings_set, so what a run directory's
 * name says is exactly what it ran.
 *
 * On disk (DIR given by --out):
 *   DIR/sweep.json      the resolved grid: fixed settings, axes, points
 *   DIR/NAME/           one run directory per point (run.h), NAME from the
 *                       point's axis values: "wd=0.1,seed=0"
 *   DIR/NAME/sweep.log  what the point's process printed
 *   DIR/NAME/failure.json  a point that failed without a summary (out of
 *                       memory, a file that could not be written): its
 *                       exit status and message
 *   DIR/sweep.sbatch    the SLURM job array (--slurm)
 *   DIR/runs.csv, DIR/groups.csv, DIR/plots/   written by --collect
 *
 * A point's state is read from its run directory alone (no scheduler is
 * asked): summary.json says completed, grokked or diverged; failure.json
 * says failed; a held run lock says running; a config.json with a
 * checkpoint says interrupted (resumable); anything else is pending. */
#ifndef MG_SWEEP_H
#define MG_SWEEP_H

#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"
#include "models/harness/settings.h"

#define MG_SWEEP_FILE "sweep.json"
#define MG_SWEEP_SBATCH "sweep.sbatch"
#define MG_SWEEP_LOG "sweep.log"
#define MG_SWEEP_FAILURE "failure.json"
#define MG_SWEEP_RUNS_CSV "runs.csv"
#define MG_SWEEP_GROUPS_CSV "groups.csv"
#define MG_SWEEP_MAX_AXES 16
#define MG_SWEEP_MAX_FIXED 64
#define MG_SWEEP_MAX_RUNS_DEFAULT 1000
#define MG_SWEEP_VALUE_MAX 256 /* a value's text, a model-file path included */

typedef enum {
    MG_POINT_PENDING,     /* nothing usable on disk: it runs from the start */
    MG_POINT_INTERRUPTED, /* config.json and a checkpoint, no summary: it resumes */
    MG_POINT_RUNNING,     /* its run lock is held by a live process */
    MG_POINT_COMPLETED,   /* summary.json status "completed" or "grokked" */
    MG_POINT_DIVERGED,    /* summary.json status "diverged" (recorded; not rerun) */
    MG_POINT_FAILED,      /* failure.json (recorded; not rerun) */
} mg_point_state;

/* "pending", "interrupted", "running", "completed", "diverged", "failed" */
const char *mg_point_state_name(mg_point_state s);
/* Completed, diverged or failed: nothing more will happen to it. */
bool mg_point_state_final(mg_point_state s);

typedef struct {
    char name[64]; /* the setting's flag name: "wd" */
    int n;
    char (*values)[MG_SWEEP_VALUE_MAX];
} mg_sweep_axis;

typedef struct mg_sweep {
    int n_fixed;
    char fixed_name[MG_SWEEP_MAX_FIXED][64];
    char fixed_value[MG_SWEEP_MAX_FIXED][MG_SWEEP_VALUE_MAX]; /* "" for a flag */
    int n_axes;
    mg_sweep_axis axes[MG_SWEEP_MAX_AXES];
} mg_sweep;

/* An empty sweep (no settings, no axes: one point, the defaults). */
void mg_sweep_init(mg_sweep *s);
void mg_sweep_free(mg_sweep *s);

/* Reads a spec: a JSON object whose keys are train flags without dashes
 * holding fixed settings, and "grid": an object of axes, each a list of
 * values or a log range {"log": [lo, hi], "n": N}. path names the file in
 * messages. Refuses (MG_ERR_ARG, naming the key) a key that is no setting,
 * an empty axis, a value that is neither number, string nor boolean, and
 * the settings the sweep itself decides (out, resume, threads, force). */
mg_status mg_sweep_parse_spec(mg_sweep *s, const char *json_text, const char *path);

/* Adds a fixed setting / an axis from the command line: "wd=0.1,1",
 * "seed=0:3" (0, 1, 2), "wd=log:1e-4:1:9" (9 values, log-spaced). An axis
 * given twice replaces the earlier one (the command line overrides the
 * spec). */
mg_status mg_sweep_set_fixed(mg_sweep *s, const char *name, const char *value);
mg_status mg_sweep_add_grid_arg(mg_sweep *s, const char *arg);

/* Number of points (the product of the axes' lengths). */
int64_t mg_sweep_size(const mg_sweep *s);

/* The index of each axis's value at point i. */
void mg_sweep_point_coords(const mg_sweep *s, int64_t i, int coords[MG_SWEEP_MAX_AXES]);

/* The run directory's name of point i: "wd=0.1,seed=0" ("run" for a sweep
 * without axes). A value that is a path (model-file) gives its base name
 * without ".c"; characters other than [A-Za-z0-9._+-] become '_'. */
void mg_sweep_point_name(const mg_sweep *s, int64_t i, char *buf, size_t n);

/* The settings of point i: the defaults, the model (fixed or axis) first,
 * then the task, the optimizer, then every other fixed setting and axis
 * value in order. A refused value names the axis or key and the value. */
mg_status mg_sweep_point_settings(const mg_sweep *s, int64_t i, mg_settings *out);

/* Checks every point's settings (mg_sweep_point_settings and
 * mg_train_validate_settings) before anything runs; the first refusal
 * names its point, axis and value. Also refuses two points with the same
 * directory name. */
mg_status mg_sweep_validate(const mg_sweep *s);

/* DIR/sweep.json: writes the resolved grid, or, when DIR already holds a
 * sweep, checks that it is this one (MG_ERR_ARG naming what differs: a
 * different sweep never shares a directory). Creates DIR. */
mg_status mg_sweep_save(const mg_sweep *s, const char *dir);
/* Reads DIR/sweep.json back (MG_ERR_ARG if DIR holds no sweep). */
mg_status mg_sweep_load(mg_sweep *s, const char *dir);

/* The state of point i, from its run directory alone. */
mg_point_state mg_sweep_point_state(const mg_sweep *s, const char *dir, int64_t i);

/* Runs point i in this process with `threads` GEMM threads: skips it when
 * final, resumes it when interrupted, trains it otherwise (a leftover
 * directory without config.json is started again). A failure that leaves no
 * summary is recorded in failure.json. Returns the run's status:
 * MG_ERR_NUMERIC for a diverged run. */
mg_status mg_sweep_run_point(const mg_sweep *s, const char *dir, int64_t i, int threads);

/* ---- the local pool (sweep_pool.c) ---------------------------------------- */

typedef struct {
    int64_t total, done, running, failed, skipped; /* skipped: final before we started */
    double elapsed_s, eta_s;                       /* eta_s < 0: not known yet */
    int64_t last_point;                            /* the point that just changed, -1 none */
    mg_point_state last_state;
} mg_sweep_progress;

typedef struct {
    int jobs, threads;  /* processes at once, GEMM threads each (both >= 1) */
    const char *binary; /* the modgrad executable each point runs in */
    void (*progress)(const mg_sweep_progress *p, void *ctx);
    void *ctx;
    volatile int *stop; /* when it becomes non-zero: start nothing more, wait for the running */
} mg_sweep_pool_opts;

/* Runs every point that is not final, `jobs` at a time, each as
 * `BINARY sweep --run-index I --threads T DIR` with its output in
 * DIR/NAME/sweep.log. A failed point does not stop the others. MG_OK when
 * every point ended completed; MG_ERR_RUN when some diverged or failed
 * (the message counts them). */
mg_status mg_sweep_pool(const mg_sweep *s, const char *dir, const mg_sweep_pool_opts *o);

/* Default jobs and threads for `cores` cores and n points (0 = not given):
 * J x T = cores; T = 1 when there are more points than cores. */
void mg_sweep_default_jobs(int64_t n, int cores, int *jobs, int *threads);

/* ---- SLURM (sweep_slurm.c) ------------------------------------------------ */

/* Writes DIR/sweep.sbatch: an array job of one task per point
 * (--array=0-(N-1)%max_parallel, --cpus-per-task threads), each running
 * `BINARY sweep --run-index $SLURM_ARRAY_TASK_ID --threads T DIR` with its
 * output in the run directory. extra: more #SBATCH lines ("--partition=x"),
 * or NULL. */
mg_status mg_sweep_write_sbatch(const mg_sweep *s, const char *dir, const char *binary, int threads,
                                int max_parallel, const char *const *extra, int n_extra);

/* ---- collect (sweep_collect.c) -------------------------------------------- */

/* Writes DIR/runs.csv — one row per point: run, one column per axis (its
 * flag name), status, then config.KEY for each scalar of config.json, then
 * every scalar of summary.json, nested keys joined by '.'
 * ("lead.displacement.lead_steps"; its own "status", which says "grokked"
 * where status says completed, as "summary.status"), then those of each
 * sparse autoencoder `modgrad sae` trained on the run (RUN/sae/step_NNNNNN/
 * summary.json, as "sae.step_NNNNNN.KEY", in order of step); an empty cell
 * where a run lacks it — and
 * DIR/groups.csv, in long format: one row per grid point without the seed
 * axis and per numeric scalar of summary.json: the axes, metric, mean, std
 * (sample, n-1), min, max, count (over the completed runs that have it). */
mg_status mg_sweep_collect(const mg_sweep *s, const char *dir);

/* DIR/FILE parsed as a JSON object (free it with cJSON_Delete); NULL when
 * it is missing, unreadable, not JSON or not an object: a run's config.json
 * and summary.json, read the same way by the states, the tables and the
 * command line. */
struct cJSON *mg_sweep_read_json(const char *dir, const char *file);

/* A CSV file read back whole as text cells (runs.csv, groups.csv): cells of
 * row r are cells[r * n_cols + c]; "" where empty. */
typedef struct {
    int n_cols;
    char **cols;
    int64_t n_rows;
    char **cells;
} mg_sweep_table;

mg_status mg_sweep_table_read(const char *path, mg_sweep_table *t);
void mg_sweep_table_free(mg_sweep_table *t);
/* The column called name, -1 if none. */
int mg_sweep_table_col(const mg_sweep_table *t, const char *name);
/* The cell (r, c) ("" when c < 0). */
const char *mg_sweep_table_cell(const mg_sweep_table *t, int64_t r, int c);
/* The cell as a number: false when empty or not a number. */
bool mg_sweep_table_num(const mg_sweep_table *t, int64_t r, int c, double *v);

#endif
