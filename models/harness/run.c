/* run.c — the training loop over a run directory: metrics, checkpoints,
 * resume and the summary (see run.h). */
#include "models/harness/run.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "core/csvout.h"
#include "core/fsutil.h"
#include "core/hash.h"
#include "core/safetensors.h"
#include "models/harness/grads.h"
#include "models/harness/manifold.h"
#include "models/harness/rundir.h"
#include "models/harness/runlock.h"
#include "models/harness/settings.h"
#include "models/harness/study.h"

#define GROK_ACC 0.99
#define GROK_HOLD 3   /* evals at >= 99% before --stop-at-grok ends a run */
#define FIT_LOSS 1e-2 /* t_fit_loss: first step with train loss <= this */

#define MG_X_STR(name) name,

void mg_run_opts_defaults(mg_run_opts *o) {
    mg_settings s;
    memset(o, 0, sizeof *o);
    if (!mg_settings_defaults(&s, NULL)) *o = s.run;
}

static void join(char *out, size_t n, const char *dir, const char *name) {
    snprintf(out, n, "%s/%s", dir, name);
}

mg_status mg_run_save_checkpoint(mg_trainer *t, const char *dir, double wall_s) {
    mg_params *P = mg_trainer_params(t);
    mg_optim *o = mg_trainer_optim(t);
    char path[4096], buf[64], hex[17];
    snprintf(path, sizeof path, "%s/" MG_RUN_CHECKPOINT, dir, (long long)mg_trainer_steps_done(t));
    mg_st_writer *w = mg_st_writer_new();
    if (!w) return mg_fail(MG_ERR_NOMEM, "out of memory writing a checkpoint of %s", dir);
    mg_status st = mg_st_add_params(w, P, "");
    if (!st) st = mg_st_add_store(w, P, "optim.m.", mg_optim_m(o));
    if (!st) st = mg_st_add_store(w, P, "optim.v.", mg_optim_v(o));
    snprintf(buf, sizeof buf, "%lld", (long long)mg_trainer_steps_done(t));
    if (!st) st = mg_st_add_meta(w, "step", buf);
    snprintf(buf, sizeof buf, "%lld", (long long)mg_optim_steps(o));
    if (!st) st = mg_st_add_meta(w, "optim_steps", buf);
    snprintf(buf, sizeof buf, "%.17g", wall_s);
    if (!st) st = mg_st_add_meta(w, "wall_s", buf);
    mg_hash_hex(mg_hash_params(P), hex);
    if (!st) st = mg_st_add_meta(w, "fingerprint", hex);
    if (!st) st = mg_st_add_meta(w, "model", mg_trainer_cfg(t)->model->name);
    if (!st) st = mg_st_add_meta(w, "modgrad_version", MG_VERSION);
    if (!st) st = mg_st_save(w, path);
    mg_st_writer_free(w);
    return st;
}

mg_status mg_run_load_checkpoint(mg_trainer *t, const char *path, double *wall_s) {
    mg_st_file *f = NULL;
    mg_status st = mg_st_load(path, &f);
    if (st) return st;
    mg_params *P = mg_trainer_params(t);
    mg_optim *o = mg_trainer_optim(t);
    /* The metadata is covered by the file's header checksum; its values are
     * still checked: the step is the one the file is named for, and the
     * optimizer has made one update per step. */
    int64_t step = 0, ost = 0;
    double wall = 0;
    char name[64];
    if (!(st = mg_st_meta_count(f, "step", INT64_MAX / 2, &step))) {
        snprintf(name, sizeof name, MG_RUN_CHECKPOINT_NAME, (long long)step);
        const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
        if (strcmp(base, name))
            st = mg_fail(MG_ERR_FORMAT,
                         "checkpoint %s: its metadata says step %lld, whose checkpoint is %s", path,
                         (long long)step, name);
    }
    if (!st && !(st = mg_st_meta_count(f, "optim_steps", INT64_MAX / 2, &ost)) && ost != step)
        st = mg_fail(MG_ERR_FORMAT,
                     "checkpoint %s: optim_steps is %lld but step is %lld (one optimizer "
                     "update per step)",
                     path, (long long)ost, (long long)step);
    if (!st && !(st = mg_st_meta_finite(f, "wall_s", &wall)) && wall < 0)
        st = mg_fail(MG_ERR_FORMAT, "checkpoint %s: wall_s is %g, below 0", path, wall);
    if (st) goto done;
    /* Check everything before changing anything: read into scratch copies
     * first would cost memory; instead mg_st_read_store checks all names and
     * shapes before it copies, and the three reads share one set of names. */
    size_t total = mg_params_total(P);
    float *scratch = mg_malloc(3 * total * sizeof *scratch);
    if (!scratch) {
        st = mg_fail(MG_ERR_NOMEM, "out of memory loading %s", path);
        goto done;
    }
    st = mg_st_read_store(f, P, "", scratch);
    if (!st) st = mg_st_read_store(f, P, "optim.m.", scratch + total);
    if (!st) st = mg_st_read_store(f, P, "optim.v.", scratch + 2 * total);
    if (!st) {
        memcpy(mg_params_data(P), scratch, total * sizeof *scratch);
        memcpy(mg_optim_m(o), scratch + total, total * sizeof *scratch);
        memcpy(mg_optim_v(o), scratch + 2 * total, total * sizeof *scratch);
        mg_trainer_set_steps_done(t, step);
        mg_optim_set_steps(o, ost);
        if (wall_s) *wall_s = wall;
    }
    mg_free(scratch);
done:
    mg_st_free(f);
    return st;
}

/* summary.json, from metrics.csv (so a resumed run's clocks see every row). */
static mg_status write_summary(mg_trainer *t, const char *dir, const char *status,
                               const char *message, double wall_s, cJSON *measurements) {
    char path[4096], hex[17];
    join(path, sizeof path, dir, MG_RUN_METRICS);
    mg_csv *csv = NULL;
    mg_status st = mg_csv_read(path, &csv);
    if (st) {
        cJSON_Delete(measurements);
        return st;
    }
    int col[5];
    const char *const need[] = {MG_COL(metrics, step), MG_COL(metrics, train_loss),
                                MG_COL(metrics, train_acc), MG_COL(metrics, test_loss),
                                MG_COL(metrics, test_acc)};
    if ((st = mg_csv_cols(csv, 5, need, col))) {
        mg_csv_free(csv);
        cJSON_Delete(measurements);
        return st;
    }
    int c_step = col[0], c_trl = col[1], c_tra = col[2], c_tel = col[3], c_tea = col[4];
    double t_fit = NAN, t_fit_loss = NAN, t_grok = NAN;
    for (size_t r = 0; r < csv->nrows; r++) {
        double s = mg_csv_num(csv, r, c_step);
        if (isnan(t_fit) && mg_csv_num(csv, r, c_tra) >= 1.0) t_fit = s;
        if (isnan(t_fit_loss) && mg_csv_num(csv, r, c_trl) <= FIT_LOSS) t_fit_loss = s;
        if (isnan(t_grok) && mg_csv_num(csv, r, c_tea) >= GROK_ACC) t_grok = s;
    }
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "status", status);
    if (message) cJSON_AddStringToObject(root, "message", message);
    cJSON_AddNumberToObject(root, "final_step", (double)mg_trainer_steps_done(t));
    size_t last = csv->nrows ? csv->nrows - 1 : 0;
    double vals[4] = {NAN, NAN, NAN, NAN};
    if (csv->nrows) {
        vals[0] = mg_csv_num(csv, last, c_trl);
        vals[1] = mg_csv_num(csv, last, c_tra);
        vals[2] = mg_csv_num(csv, last, c_tel);
        vals[3] = mg_csv_num(csv, last, c_tea);
    }
    const char *names[] = {MG_COL(metrics, train_loss), MG_COL(metrics, train_acc),
                           MG_COL(metrics, test_loss), MG_COL(metrics, test_acc)};
    for (int i = 0; i < 4; i++)
        if (isnan(vals[i])) cJSON_AddNullToObject(root, names[i]);
        else cJSON_AddNumberToObject(root, names[i], vals[i]);
    const char *clocks[] = {"t_fit", "t_fit_loss", "t_grok"};
    double cv[] = {t_fit, t_fit_loss, t_grok};
    for (int i = 0; i < 3; i++)
        if (isnan(cv[i])) cJSON_AddNullToObject(root, clocks[i]);
        else cJSON_AddNumberToObject(root, clocks[i], cv[i]);
    mg_hash_hex(mg_hash_params(mg_trainer_params(t)), hex);
    cJSON_AddStringToObject(root, "fingerprint", hex);
    cJSON_AddNumberToObject(root, "wall_s", wall_s);
    if (measurements) cJSON_AddItemToObject(root, "measurements", measurements);
    mg_csv_free(csv);
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text) return mg_fail(MG_ERR_NOMEM, "out of memory writing summary.json");
    join(path, sizeof path, dir, MG_RUN_SUMMARY);
    st = mg_write_file_atomic(path, text, strlen(text));
    cJSON_free(text);
    return st;
}

/* Appends one probes.csv row per layer: step, layer, then the values. */
_Static_assert(MG_COLIDX_probes_step == 0 && MG_COLIDX_probes_layer == 1,
               "write_probes writes step and layer first");
static mg_status write_probes(mg_csv_writer *w, const mg_params *P, int64_t step,
                              const mg_probes_layer *pr) {
    mg_status st = MG_OK;
    for (int l = 0; !st && l < mg_params_layer_count(P); l++) {
        st = mg_csv_put_int(w, step);
        if (!st) st = mg_csv_put_str(w, mg_params_layer_name(P, l));
#define PUT_PROBE(name)                                                                            \
    if (!st) st = mg_csv_put_double(w, pr[l].name);
        MG_PROBES_VALUES(PUT_PROBE)
#undef PUT_PROBE
        if (!st) st = mg_csv_end_row(w);
    }
    return st;
}

/* The inspection of a geometry step's gradient: the locking rows and the
 * gradient hierarchy. */
static mg_status lock_rows(void *ctx, mg_trainer *t) {
    mg_study_writers *w = ctx;
    mg_status st = mg_study_locking(t, w->geometry);
    return st ? st : mg_study_hierarchy(t, w->geometry, &w->warm);
}

/* The run's series files, open for appending. */
typedef struct {
    mg_csv_writer *metrics, *probes, *loss;
    mg_study_writers study; /* geometry.csv, fourier.csv */
} series_files;

static mg_status open_series(const char *dir, series_files *f) {
    char path[4096];
    memset(f, 0, sizeof *f);
    join(path, sizeof path, dir, MG_RUN_METRICS);
    mg_status st = mg_csv_open(path, MG_METRICS_NCOLS, mg_metrics_cols, &f->metrics);
    join(path, sizeof path, dir, MG_RUN_PROBES);
    if (!st) st = mg_csv_open(path, MG_PROBES_NCOLS, mg_probes_cols, &f->probes);
    join(path, sizeof path, dir, MG_RUN_LOSS);
    if (!st) st = mg_csv_open(path, MG_LOSS_NCOLS, mg_loss_cols, &f->loss);
    if (!st) st = mg_study_writers_open(dir, &f->study);
    return st;
}

static mg_status close_series(series_files *f) {
    mg_status st = MG_OK;
    mg_csv_writer *all[] = {f->metrics, f->probes, f->loss, f->study.geometry, f->study.fourier};
    for (int i = 0; i < 5; i++) {
        mg_status s2 = all[i] ? mg_csv_close(all[i]) : MG_OK;
        if (!st) st = s2;
    }
    mg_study_warm_free(&f->study.warm);
    memset(f, 0, sizeof *f);
    return st;
}

/* The loop shared by a new and a resumed run. */
static mg_status train_loop(mg_trainer *t, const char *dir, const mg_run_opts *o, int64_t steps,
                            double wall0) {
    series_files files;
    mg_status st = open_series(dir, &files);
    if (st) {
        close_series(&files);
        return st;
    }
    mg_manifold *mf = NULL;
    if ((st = mg_manifold_open(t, dir, o, &mf))) {
        close_series(&files);
        return st;
    }
    mg_params *P = mg_trainer_params(t);
    mg_probes_layer probe[64];
    if (mg_params_layer_count(P) > 64) {
        close_series(&files);
        mg_manifold_close(mf);
        return mg_fail(MG_ERR_ARG, "the model has %d layers; probes support 64",
                       mg_params_layer_count(P));
    }
    const int64_t start = mg_trainer_steps_done(t);
    const double t0 = mg_clock_s() - wall0;
    int held = 0;
    mg_progress pr = {.steps = steps,
                      .trajectory_bytes = mg_manifold_trajectory_bytes(t, o, steps)};
    for (;;) {
        int64_t s = mg_trainer_steps_done(t);
        pr.step = s;
        pr.wall_s = mg_clock_s() - t0;
        pr.evaluated = s % o->eval_every == 0 || s == steps;
        bool stop = s == steps;
        if (pr.evaluated) {
            if ((st = mg_trainer_eval_train(t, &pr.train))) break;
            if ((st = mg_trainer_eval_test(t, &pr.test))) break;
            double row[MG_METRICS_NCOLS - 1]; /* the columns after step */
            row[MG_COLIDX_metrics_wall_s - 1] = pr.wall_s;
            row[MG_COLIDX_metrics_train_loss - 1] = pr.train.loss;
            row[MG_COLIDX_metrics_train_acc - 1] = pr.train.acc;
            row[MG_COLIDX_metrics_test_loss - 1] = pr.test.loss;
            row[MG_COLIDX_metrics_test_acc - 1] = pr.test.acc;
            if ((st = mg_csv_append(files.metrics, s, MG_METRICS_NCOLS - 1, row)) ||
                (st = mg_csv_flush(files.metrics)))
                break;
            if ((st = mg_manifold_after_eval(mf, s))) break;
            held = pr.test.acc >= GROK_ACC ? held + 1 : 0;
            if (o->stop_at_grok && held >= GROK_HOLD) stop = true;
        }
        if (s % o->geometry_every == 0 || stop)
            if ((st = mg_study_geometry(t, &files.study)) ||
                (st = mg_study_writers_flush(&files.study)))
                break;
        if (o->progress) o->progress(&pr, o->ctx);
        if ((s != start || s == 0) && (s % o->checkpoint_every == 0 || stop)) {
            /* the series reach disk before the checkpoint that covers them */
            if ((st = mg_csv_flush(files.probes)) || (st = mg_csv_flush(files.loss)) ||
                (st = mg_manifold_flush(mf)))
                break;
            if ((st = mg_run_save_checkpoint(t, dir, pr.wall_s))) break;
        }
        if ((st = mg_manifold_before_step(mf, s, stop))) break;
        if (stop) break;
        bool probing = s % o->probe_every == 0;
        bool locking = s % o->geometry_every == 0;
        bool saving = mg_run_save_grads_at(o->save_grads, s); /* needs the probe's copy */
        if ((st = mg_trainer_step_inspect(t, probing || saving ? probe : NULL,
                                          locking ? lock_rows : NULL, &files.study))) {
            if (st == MG_ERR_NUMERIC) {
                char msg[1024];
                snprintf(msg, sizeof msg, "%s", mg_errmsg());
                close_series(&files);
                mg_manifold_close(mf);
                mf = NULL;
                write_summary(t, dir, "diverged", msg, mg_clock_s() - t0, NULL);
                mg_fail(st, "%s; the last good checkpoint is step %lld", msg,
                        (long long)mg_run_last_checkpoint(dir));
            }
            break;
        }
        double loss = mg_trainer_last_loss(t);
        if ((st = mg_csv_append(files.loss, s, 1, &loss))) break;
        if (probing && (st = write_probes(files.probes, P, s, probe))) break;
        if (probing && (st = mg_study_gate_flips(t, files.study.geometry, s))) break;
        if (saving && (st = mg_grads_save(t, dir, s))) break;
    }
    /* what the study's records cost this process's loop (a resumed run:
     * since the resume) */
    cJSON *measurements = NULL;
    if (mf && (o->snapshot_every || o->commutator_every)) {
        const double busy = mg_manifold_busy_s(mf), loop = mg_clock_s() - t0 - wall0;
        measurements = cJSON_CreateObject();
        cJSON_AddNumberToObject(measurements, "seconds", busy);
        cJSON_AddNumberToObject(measurements, "loop_seconds", loop);
        cJSON_AddNumberToObject(measurements, "steps", (double)(mg_trainer_steps_done(t) - start));
        if (loop > busy) cJSON_AddNumberToObject(measurements, "overhead", busy / (loop - busy));
        else cJSON_AddNullToObject(measurements, "overhead");
    }
    mg_status cst = close_series(&files), mst = mg_manifold_close(mf);
    if (!st) st = cst ? cst : mst;
    if (st) {
        cJSON_Delete(measurements);
        return st;
    }
    bool grokked = held >= GROK_HOLD && o->stop_at_grok;
    st = write_summary(t, dir, grokked ? "grokked" : "completed", NULL, mg_clock_s() - t0,
                       measurements);
    if (!st) st = mg_study_finish(t, dir);
    return st ? st : mg_manifold_finish(t, dir);
}

/* The rates and settings against the table's ranges (naming the flag). */
static mg_status check_opts(const mg_train_cfg *cfg, const mg_run_opts *o) {
    mg_settings s;
    memset(&s, 0, sizeof s);
    s.train = *cfg;
    s.run = *o;
    return mg_settings_check(&s);
}

/* Removes the temporaries that writers killed mid-write left in the run
 * (those of processes still alive stay). */
static mg_status remove_stale(const char *dir) {
    char path[4096];
    join(path, sizeof path, dir, MG_RUN_CHECKPOINTS);
    mg_status st = mg_remove_stale_temps(dir, NULL);
    return st ? st : mg_remove_stale_temps(path, NULL);
}

/* Removes old checkpoints, gradient files and result files of a run
 * replaced with --force. */
static void clear_run(const char *dir) {
    char path[4096];
    (void)remove_stale(dir);
    const char *files[] = {MG_RUN_RESULT_FILES(MG_X_STR)};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        join(path, sizeof path, dir, files[i]);
        unlink(path);
    }
    const char *folders[] = {MG_RUN_CHECKPOINTS, MG_RUN_GRADS, MG_RUN_TRAJECTORY};
    for (int i = 0; i < 3; i++) {
        join(path, sizeof path, dir, folders[i]);
        DIR *d = opendir(path);
        if (!d) continue;
        for (struct dirent *e; (e = readdir(d));) {
            if (!strstr(e->d_name, ".safetensors") && strcmp(e->d_name, "locking.csv")) continue;
            char file[4096 + 256];
            snprintf(file, sizeof file, "%s/%s", path, e->d_name);
            unlink(file);
        }
        closedir(d);
    }
}

mg_status mg_run_train(const mg_train_cfg *cfg, const char *dir, const mg_run_opts *o) {
    mg_status st = check_opts(cfg, o);
    if (st) return st;
    if (!dir || !*dir) return mg_fail(MG_ERR_ARG, "--out is required");
    mg_trainer *t = NULL;
    if ((st = mg_trainer_new(cfg, &t))) return st; /* validates; writes nothing */
    bool existed = mg_path_exists(dir);
    struct stat sb;
    if (existed && (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))) {
        mg_trainer_free(t);
        return mg_fail(MG_ERR_ARG, "--out %s exists and is not a directory; give another --out",
                       dir);
    }
    if (existed && !o->force) {
        mg_trainer_free(t);
        return mg_fail(MG_ERR_ARG,
                       "--out %s exists; use --force to replace it or --resume %s to continue it",
                       dir, dir);
    }
    char path[4096];
    join(path, sizeof path, dir, MG_RUN_CHECKPOINTS);
    int lock = -1;
    /* The lock comes before anything is removed or written. */
    if (!(st = mg_mkdir_p(dir)) && !(st = mg_run_lock(dir, &lock))) {
        if (existed) clear_run(dir);
        if (!(st = mg_mkdir_p(path)) && !(st = mg_run_write_config(dir, cfg, o, t)))
            st = train_loop(t, dir, o, cfg->steps, 0.0);
    }
    mg_run_unlock(lock);
    mg_trainer_free(t);
    return st;
}

/* The step-0 parameters of a run, for displacements after a resume. */
static mg_status load_init(mg_trainer *t, const char *dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/" MG_RUN_CHECKPOINT, dir, 0LL);
    mg_st_file *f = NULL;
    mg_status st = mg_st_load(path, &f);
    if (st) return st;
    mg_params *P = mg_trainer_params(t);
    int64_t zero = 0; /* the step-0 checkpoint's metadata says step 0 */
    float *w0 = (st = mg_st_meta_count(f, "step", 0, &zero))
                    ? NULL
                    : mg_malloc(mg_params_total(P) * sizeof *w0);
    if (!w0 && !st) st = mg_fail(MG_ERR_NOMEM, "out of memory loading %s", path);
    if (!st) st = mg_st_read_store(f, P, "", w0);
    if (!st) mg_trainer_set_init_params(t, w0);
    mg_free(w0);
    mg_st_free(f);
    return st;
}

/* The final_step of dir's finished summary.json, or -1 when there is none:
 * the run was killed before it wrote one, or before the study's analyses
 * (mg_study_finish, which writes last: spectrum.csv, circle.csv, then the
 * summary again with "embed_layer" among its keys) completed it. */
static int64_t summary_final_step(const char *dir) {
    char path[4096], *text = NULL;
    size_t n = 0;
    join(path, sizeof path, dir, MG_RUN_SUMMARY);
    if (!mg_path_exists(path) || mg_read_file(path, &text, &n)) return -1;
    cJSON *root = cJSON_ParseWithLength(text, n);
    mg_free(text);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "final_step");
    bool studied = cJSON_GetObjectItemCaseSensitive(root, "embed_layer") != NULL;
    int64_t step = studied && cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 1e15
                       ? (int64_t)v->valuedouble
                       : -1;
    cJSON_Delete(root);
    return step;
}

static mg_status resume_locked(const char *dir, const mg_settings *over);

mg_status mg_run_resume_settings(const char *dir, const mg_settings *over) {
    mg_status st = mg_run_check_dir(dir); /* before the lock file is made */
    if (st) return st;
    if (over->model_file[0])
        return mg_fail(MG_ERR_ARG,
                       "--resume takes its model from the run's config.json; drop --model-file");
    if (!over->given[mg_setting_index(mg_setting_find("steps"))])
        return mg_fail(MG_ERR_ARG, "--resume needs --steps M (the new total number of steps)");
    int lock = -1;
    if (!(st = mg_run_lock(dir, &lock))) st = resume_locked(dir, over);
    mg_run_unlock(lock);
    return st;
}

static mg_status resume_locked(const char *dir, const mg_settings *over) {
    mg_settings s;
    char hash[17], hex[17];
    int64_t steps = over->train.steps;
    mg_status st = mg_run_read_settings(dir, &s, hash);
    if (st || (st = mg_settings_apply_resume(&s, over))) return st;
    if ((st = mg_run_pin_blis(dir))) return st; /* the kernels it ran on: bit-exact */
    const mg_train_cfg cfg = s.train;
    const mg_run_opts o = s.run;
    int64_t last = mg_run_last_checkpoint(dir);
    if (last < 0) return mg_fail(MG_ERR_ARG, "cannot resume %s: it has no checkpoint", dir);
    /* A run killed after its last checkpoint but before its summary is
     * finished by resuming it to that same step (re-evaluated, summarised). */
    bool unfinished = steps == last && summary_final_step(dir) < last;
    if (steps <= last && !unfinished)
        return mg_fail(MG_ERR_ARG,
                       "--steps %lld must be greater than the last checkpoint's step (%lld)",
                       (long long)steps, (long long)last);
    mg_trainer *t = NULL;
    if ((st = mg_trainer_new(&cfg, &t))) return st;
    mg_hash_hex(mg_trainer_task(t)->hash, hex);
    char path[4096];
    snprintf(path, sizeof path, "%s/" MG_RUN_CHECKPOINT, dir, (long long)last);
    double wall = 0;
    if (strcmp(hex, hash) != 0)
        st = mg_fail(MG_ERR_FORMAT, "%s: the data split's hash is %s but config.json says %s", dir,
                     hex, hash);
    else if (!(st = load_init(t, dir)) && !(st = mg_run_load_checkpoint(t, path, &wall))) {
        /* rows after the checkpoint are recomputed by the resumed run */
        const char *series[] = {MG_RUN_SERIES_FILES(MG_X_STR)};
        for (size_t i = 0; !st && i < sizeof series / sizeof *series; i++) {
            join(path, sizeof path, dir, series[i]);
            st = mg_csv_truncate_after(path, last - 1);
        }
        if (!st) st = remove_stale(dir);
        if (!st && !(st = mg_run_write_config(dir, &cfg, &o, t)))
            st = train_loop(t, dir, &o, steps, wall);
    }
    mg_trainer_free(t);
    return st;
}

mg_status mg_run_resume(const char *dir, int64_t steps, const mg_run_opts *o) {
    mg_settings over;
    mg_status st = mg_settings_defaults(&over, NULL);
    if (st) return st;
    over.train.steps = steps;
    over.given[mg_setting_index(mg_setting_find("steps"))] = true;
    over.run.progress = o ? o->progress : NULL;
    over.run.ctx = o ? o->ctx : NULL;
    return mg_run_resume_settings(dir, &over);
}

/* Rewrites geometry.csv and fourier.csv from every checkpoint of the run,
 * in step order. */
static mg_status geometry_from_checkpoints(mg_trainer *t, const char *dir) {
    char path[4096];
    join(path, sizeof path, dir, MG_RUN_GEOMETRY);
    remove(path);
    join(path, sizeof path, dir, MG_RUN_FOURIER);
    remove(path);
    mg_study_writers w;
    mg_status st = mg_study_writers_open(dir, &w);
    int64_t last = mg_run_last_checkpoint(dir);
    for (int64_t s = 0; !st && s <= last; s++) {
        char ck[4200];
        snprintf(ck, sizeof ck, "%s/" MG_RUN_CHECKPOINT, dir, (long long)s);
        if (!mg_path_exists(ck)) continue;
        if (!(st = mg_run_load_checkpoint(t, ck, NULL))) st = mg_study_geometry(t, &w);
    }
    mg_status cst = mg_study_writers_close(&w);
    return st ? st : cst;
}

/* The files analyze rewrites, kept in memory so that a failed analysis puts
 * back exactly what was there (or removes what was not). */
static const char *const analyzed_files[] = {MG_RUN_ANALYZED_FILES(MG_X_STR)};
#define N_ANALYZED (sizeof analyzed_files / sizeof analyzed_files[0])
typedef struct {
    char *data[N_ANALYZED];
    size_t len[N_ANALYZED];
    bool had[N_ANALYZED];
} analyzed_backup;

static mg_status backup_take(const char *dir, analyzed_backup *b) {
    memset(b, 0, sizeof *b);
    char path[4096];
    for (size_t i = 0; i < N_ANALYZED; i++) {
        join(path, sizeof path, dir, analyzed_files[i]);
        if (!(b->had[i] = mg_path_exists(path))) continue;
        mg_status st = mg_read_file(path, &b->data[i], &b->len[i]);
        if (st) return st;
    }
    return MG_OK;
}

/* Puts the files back (after a failure) and frees the copies. */
static void backup_restore(const char *dir, analyzed_backup *b, bool restore) {
    char path[4096];
    for (size_t i = 0; i < N_ANALYZED; i++) {
        join(path, sizeof path, dir, analyzed_files[i]);
        if (restore) {
            if (b->had[i]) (void)mg_write_file_atomic(path, b->data[i], b->len[i]);
            else unlink(path);
        }
        mg_free(b->data[i]);
    }
}

static mg_status analyze_locked(const char *dir, bool recompute);

mg_status mg_run_analyze(const char *dir, bool recompute) {
    mg_status st = mg_run_check_dir(dir); /* before the lock file is made */
    if (st) return st;
    int lock = -1;
    analyzed_backup b;
    if ((st = mg_run_lock(dir, &lock))) return st;
    if (!(st = backup_take(dir, &b))) {
        st = analyze_locked(dir, recompute);
        if (st) {
            /* the restore must not replace the analysis's message */
            char msg[1024];
            snprintf(msg, sizeof msg, "%s", mg_errmsg());
            backup_restore(dir, &b, true);
            mg_fail(st, "%s", msg);
        } else {
            backup_restore(dir, &b, false);
        }
    } else {
        backup_restore(dir, &b, false);
    }
    mg_run_unlock(lock);
    return st;
}

static mg_status analyze_locked(const char *dir, bool recompute) {
    mg_train_cfg cfg;
    mg_run_opts o;
    mg_run_opts_defaults(&o);
    char hash[17], path[4096];
    mg_status st = mg_run_read_config(dir, &cfg, &o, hash);
    if (!st) st = mg_run_pin_blis(dir); /* the geometry on the run's own kernels */
    if (st) return st;
    int64_t last = mg_run_last_checkpoint(dir);
    if (last < 0) return mg_fail(MG_ERR_ARG, "%s has no checkpoint to analyse", dir);
    mg_trainer *t = NULL;
    if ((st = mg_trainer_new(&cfg, &t))) return st;
    join(path, sizeof path, dir, MG_RUN_GEOMETRY);
    bool rebuild = recompute || !mg_path_exists(path);
    if (!(st = load_init(t, dir)) && rebuild) st = geometry_from_checkpoints(t, dir);
    snprintf(path, sizeof path, "%s/" MG_RUN_CHECKPOINT, dir, (long long)last);
    double wall = 0;
    if (!st) st = mg_run_load_checkpoint(t, path, &wall);
    if (!st) {
        /* keep the status the run ended with and what its loop measured of
         * its own cost */
        char status[32] = "completed", *text = NULL;
        size_t n = 0;
        cJSON *measurements = NULL;
        join(path, sizeof path, dir, MG_RUN_SUMMARY);
        if (!mg_read_file(path, &text, &n)) {
            cJSON *old = cJSON_ParseWithLength(text, n);
            const cJSON *s = cJSON_GetObjectItemCaseSensitive(old, "status");
            if (cJSON_IsString(s)) snprintf(status, sizeof status, "%s", s->valuestring);
            cJSON *m = cJSON_GetObjectItemCaseSensitive(old, "measurements");
            if (cJSON_IsObject(m)) measurements = cJSON_DetachItemViaPointer(old, m);
            cJSON_Delete(old);
            mg_free(text);
        }
        st = write_summary(t, dir, status, NULL, wall, measurements);
        if (!st) st = mg_study_finish(t, dir);
        if (!st) st = mg_manifold_finish(t, dir);
        if (!st) st = mg_grads_recompute(t, dir); /* last: it moves the parameters */
        if (!st) st = remove_stale(dir);
    }
    mg_trainer_free(t);
    return st;
}
