/* grads.c — --save-grads: which steps (the setting's grammar), the file a
 * chosen step writes (grads/step_NNNNNN.safetensors: the parameters
 * "param.NAME" at the step, the gradient "grad.NAME" taken there and the
 * update "update.NAME" the optimizer made of it, checksummed like a
 * checkpoint, readable by numpy's safetensors), and what `modgrad analyze`
 * recomputes from those files (grads/locking.csv). See run.h. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/fsutil.h"
#include "core/hash.h"
#include "core/safetensors.h"
#include "models/harness/grads.h"
#include "models/harness/rundir.h"
#include "models/harness/study.h"

/* A step count: digits only, below 1e15. */
static bool parse_step(const char *a, size_t len, int64_t *out) {
    if (!len || len > 15) return false;
    int64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)a[i])) return false;
        v = v * 10 + (a[i] - '0');
    }
    *out = v;
    return true;
}

static int cmp_step(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

mg_status mg_run_save_grads_canon(const char *value, char *out, size_t n, const char *label) {
    const char *hint = "a list of steps (0,500,2500) or every:N";
    if (!*value) {
        snprintf(out, n, "%s", "");
        return MG_OK;
    }
    int64_t v;
    if (!strncmp(value, "every:", 6)) {
        if (!parse_step(value + 6, strlen(value + 6), &v) || v < 1)
            return mg_fail(MG_ERR_ARG, "%s: '%s' is not every:N with N >= 1 (%s)", label, value,
                           hint);
        snprintf(out, n, "every:%lld", (long long)v);
        return MG_OK;
    }
    int64_t steps[64];
    int k = 0;
    for (const char *a = value;;) {
        size_t len = strcspn(a, ",");
        if (k == 64) return mg_fail(MG_ERR_ARG, "%s: more than 64 steps; use every:N", label);
        if (!parse_step(a, len, &v))
            return mg_fail(MG_ERR_ARG, "%s: '%.*s' in '%s' is not a step (%s)", label, (int)len, a,
                           value, hint);
        steps[k++] = v;
        if (!a[len]) break;
        a += len + 1;
    }
    qsort(steps, (size_t)k, sizeof *steps, cmp_step);
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < k; i++) {
        if (i && steps[i] == steps[i - 1]) continue;
        int w = snprintf(out + used, n - used, "%s%lld", used ? "," : "", (long long)steps[i]);
        if (w < 0 || (size_t)w >= n - used)
            return mg_fail(MG_ERR_ARG, "%s: the list is too long; use every:N", label);
        used += (size_t)w;
    }
    return MG_OK;
}

bool mg_run_save_grads_at(const char *spec, int64_t s) {
    if (!spec || !*spec) return false;
    if (!strncmp(spec, "every:", 6)) {
        long long n = atoll(spec + 6);
        return n > 0 && s % n == 0;
    }
    for (const char *a = spec; *a;) {
        if (atoll(a) == s) return true;
        a += strcspn(a, ",");
        if (*a) a++;
    }
    return false;
}

mg_status mg_grads_save(mg_trainer *t, const char *dir, int64_t step) {
    mg_params *P = mg_trainer_params(t);
    const float *before = mg_trainer_prev_params(t), *after = mg_params_data(P);
    const size_t total = mg_params_total(P);
    char path[4096], buf[64], hex[17];
    snprintf(path, sizeof path, "%s/" MG_RUN_GRADS, dir);
    mg_status st = mg_mkdir_p(path);
    if (st) return st;
    float *update = mg_malloc(total * sizeof *update);
    mg_st_writer *w = update ? mg_st_writer_new() : NULL;
    if (!w) {
        mg_free(update);
        return mg_fail(MG_ERR_NOMEM, "out of memory writing the gradients of step %lld",
                       (long long)step);
    }
    for (size_t i = 0; i < total; i++) update[i] = after[i] - before[i];
    st = mg_st_add_store(w, P, "param.", before);
    if (!st) st = mg_st_add_store(w, P, "grad.", mg_params_grad(P));
    if (!st) st = mg_st_add_store(w, P, "update.", update);
    snprintf(buf, sizeof buf, "%lld", (long long)step);
    if (!st) st = mg_st_add_meta(w, "step", buf);
    if (!st) st = mg_st_add_meta(w, "model", mg_trainer_cfg(t)->model->name);
    mg_hash_hex(mg_hash_bytes(before, total * sizeof *before), hex);
    if (!st) st = mg_st_add_meta(w, "param_hash", hex);
    if (!st) st = mg_st_add_meta(w, "modgrad_version", MG_VERSION);
    snprintf(path, sizeof path, "%s/" MG_RUN_GRADS_FILE, dir, (long long)step);
    if (!st) st = mg_st_save(w, path);
    mg_st_writer_free(w);
    mg_free(update);
    return st;
}

/* One file's parameters and gradient into the trainer; its step. */
static mg_status load_grads(mg_trainer *t, const char *path, int64_t *step) {
    mg_st_file *f = NULL;
    mg_status st = mg_st_load(path, &f);
    if (st) return st;
    mg_params *P = mg_trainer_params(t);
    size_t total = mg_params_total(P);
    float *w = mg_malloc(total * sizeof *w), *g = mg_malloc(total * sizeof *g);
    if (!w || !g) st = mg_fail(MG_ERR_NOMEM, "out of memory reading %s", path);
    if (!st) st = mg_st_meta_count(f, "step", INT64_MAX / 2, step);
    if (!st) st = mg_st_read_store(f, P, "param.", w);
    if (!st) st = mg_st_read_store(f, P, "grad.", g);
    if (!st) {
        memcpy(mg_params_data(P), w, total * sizeof *w);
        memcpy(mg_params_grad(P), g, total * sizeof *g);
        mg_trainer_set_steps_done(t, *step);
    }
    mg_free(w);
    mg_free(g);
    mg_st_free(f);
    return st;
}

mg_status mg_grads_recompute(mg_trainer *t, const char *dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/" MG_RUN_GRADS, dir);
    if (!mg_path_exists(path)) return MG_OK; /* no --save-grads */
    int64_t *steps = NULL;                   /* the files' steps, in order */
    int n = 0;
    mg_status st = mg_list_steps(path, ".safetensors", &steps, &n);
    if (st) return st;
    snprintf(path, sizeof path, "%s/" MG_RUN_GRADS_LOCKING, dir);
    remove(path);
    mg_csv_writer *w = NULL;
    st = mg_csv_open(path, MG_GEOMETRY_NCOLS, mg_geometry_cols, &w);
    mg_study_warm warm = {0};
    for (int i = 0; !st && i < n; i++) {
        char file[4096];
        int64_t step = -1;
        snprintf(file, sizeof file, "%s/" MG_RUN_GRADS_FILE, dir, (long long)steps[i]);
        if (!(st = load_grads(t, file, &step))) st = mg_study_locking(t, w);
        /* the hierarchy reads the forward pass of the gradient's batch: the
         * training set's, at the file's parameters (full batch only: a
         * minibatch's rows are not in the file) */
        mg_eval e;
        if (!st && !mg_trainer_cfg(t)->batch && !(st = mg_trainer_eval_train(t, &e)))
            st = mg_study_hierarchy(t, w, &warm);
    }
    mg_study_warm_free(&warm);
    mg_free(steps);
    if (w) {
        mg_status cst = mg_csv_close(w);
        if (!st) st = cst;
    }
    return st;
}
