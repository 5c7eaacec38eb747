/* run.h — a training run on disk: the loop, checkpoints, resume and the
 * summary. The directory's files and their columns are declared in
 * models/harness/rundir.h (config.json, metrics.csv, probes.csv,
 * geometry.csv, spectrum.csv, circle.csv, summary.json, checkpoints/,
 * plots/); config.json's settings in models/harness/settings.h.
 *
 * Every file is written to a temporary name and renamed, so a run killed at
 * any moment can be resumed from its last checkpoint, bit-exactly. Bad input
 * is refused before anything is written. */
#ifndef MG_RUN_H
#define MG_RUN_H

#include <stdbool.h>

#include "models/harness/train.h"

typedef struct {
    int64_t step, steps; /* done, and the target */
    bool evaluated;      /* train/test below are fresh */
    mg_eval train, test;
    double wall_s;
    /* the bytes the run's trajectory/ will hold at its end (0: no
     * --snapshot-every), known from the first call */
    int64_t trajectory_bytes;
} mg_progress;

typedef struct {
    int64_t eval_every; /* default 100 */
    int64_t
        checkpoint_every;   /* default 1000; a checkpoint is also written at steps 0 and the end */
    int64_t probe_every;    /* per-layer probes (probes.csv), default 10 */
    int64_t geometry_every; /* geometry rows (geometry.csv), default 100; also at the end */
    bool stop_at_grok;      /* stop once test accuracy >= 0.99 held for 3 evals */
    /* the steps whose gradients go into grads/ (mg_run_save_grads_canon):
     * "" none, "every:N", or a list "0,100,2500" */
    char save_grads[256];
    /* the execution-manifold study (manifold.h): parameters into trajectory/
     * every snapshot_every steps, the SGD commutator every commutator_every
     * (0: never), its execution basis rebuilt every basis_every */
    int64_t snapshot_every, commutator_every, basis_every;
    bool force;                                        /* replace an existing run directory */
    void (*progress)(const mg_progress *p, void *ctx); /* called after each step and eval */
    void *ctx;
} mg_run_opts;

/* --save-grads: checks value ("every:N" with N >= 1, or a comma-separated
 * list of steps >= 0, or "" for none) and writes its canonical text
 * (steps ascending, no repeats) into out; the error names label. */
mg_status mg_run_save_grads_canon(const char *value, char *out, size_t n, const char *label);
/* Whether step s is one of spec's (a canonical --save-grads text). */
bool mg_run_save_grads_at(const char *spec, int64_t s);

/* The rates' defaults, from the settings table (settings.h). */
void mg_run_opts_defaults(mg_run_opts *o);

typedef struct mg_settings mg_settings; /* settings.h */

/* Trains cfg into a new run directory. Fails without writing anything if
 * the settings are bad or dir exists (unless force). A diverged run (NaN or
 * Inf) stops with MG_ERR_NUMERIC; its summary says where, and its last good
 * checkpoint stays. */
mg_status mg_run_train(const mg_train_cfg *cfg, const char *dir, const mg_run_opts *o);

/* Continues the run in dir from its last checkpoint up to `steps` (which
 * must exceed the checkpoint's step). Settings come from config.json; o's
 * progress and ctx are used (its rates are the recorded ones). */
mg_status mg_run_resume(const char *dir, int64_t steps, const mg_run_opts *o);

/* The same with settings given as on the command line: over's steps (which
 * must be given); a setting given in over (over->given) replaces the
 * recorded one only where the table marks it MG_SETTING_RESUMABLE (steps,
 * threads, the rates, --stop-at-grok); any other given setting that differs
 * from the record is refused (MG_ERR_ARG, naming the flag and the recorded
 * value). over->run.progress and ctx are used. Nothing is written before
 * every check has passed. */
mg_status mg_run_resume_settings(const char *dir, const mg_settings *over);

/* Recomputes the analyses of a finished (or interrupted) run from its
 * series and checkpoints: loads the last checkpoint, rebuilds geometry.csv
 * from every checkpoint when it is missing (or when recompute is set), and
 * rewrites summary.json with the clocks, leads and geometry (models/harness/study.h).
 * Older runs gain the metrics added since they were trained. */
mg_status mg_run_analyze(const char *dir, bool recompute);

/* config.json <-> settings (runcfg.c). The readers check every field
 * (MG_ERR_ARG naming the field and the file) before returning anything. */
mg_status mg_run_write_config(const char *dir, const mg_train_cfg *cfg, const mg_run_opts *o,
                              const mg_trainer *t);
mg_status mg_run_read_config(const char *dir, mg_train_cfg *cfg, mg_run_opts *o,
                             char split_hash[17]);
mg_status mg_run_read_settings(const char *dir, mg_settings *s, char split_hash[17]);

/* Before a run is resumed or re-analysed: BLIS will run the kernels its
 * config.json recorded ("blis_arch"), so that its arithmetic is the same
 * (core/gemm.h, mg_blis_pin: a user's BLIS_ARCH_TYPE still wins; kernels this
 * CPU or BLIS cannot run are refused with MG_ERR_ARG, naming the way out). A
 * config without the field pins nothing. */
mg_status mg_run_pin_blis(const char *dir);

/* MG_OK when dir holds a run (its config.json); else MG_ERR_ARG, saying
 * "no such run directory" or "not a run directory". Touches nothing. */
mg_status mg_run_check_dir(const char *dir);

/* The last checkpoint's step in dir (-1 if none). */
int64_t mg_run_last_checkpoint(const char *dir);

/* Writes / loads a checkpoint of the trainer's parameters and optimizer. */
mg_status mg_run_save_checkpoint(mg_trainer *t, const char *dir, double wall_s);
mg_status mg_run_load_checkpoint(mg_trainer *t, const char *path, double *wall_s);

#endif
