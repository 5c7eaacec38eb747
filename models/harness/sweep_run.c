/* sweep_run.c — one point of a sweep: its state, read from its run directory
 * alone, and running it (train, resume or skip) in this process. The pool
 * and each SLURM array task both come here (`modgrad sweep --run-index`). */
#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/fsutil.h"
#include "models/harness/rundir.h"
#include "models/harness/runlock.h"
#include "models/harness/sweep.h"

const char *mg_point_state_name(mg_point_state s) {
    switch (s) {
    case MG_POINT_PENDING: return "pending";
    case MG_POINT_INTERRUPTED: return "interrupted";
    case MG_POINT_RUNNING: return "running";
    case MG_POINT_COMPLETED: return "completed";
    case MG_POINT_DIVERGED: return "diverged";
    case MG_POINT_FAILED: return "failed";
    }
    return "?";
}

bool mg_point_state_final(mg_point_state s) {
    return s == MG_POINT_COMPLETED || s == MG_POINT_DIVERGED || s == MG_POINT_FAILED;
}

static void run_dir(const mg_sweep *s, const char *dir, int64_t i, char *buf, size_t n) {
    char name[1024];
    mg_sweep_point_name(s, i, name, sizeof name);
    snprintf(buf, n, "%s/%s", dir, name);
}

/* Whether a live process holds the run's lock (asked without taking it, and
 * without making the lock file). */
static bool lock_held(const char *run) {
    char path[4200];
    snprintf(path, sizeof path, "%s/" MG_RUN_LOCK_FILE, run);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    bool held = fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK && fl.l_pid != getpid();
    close(fd);
    return held;
}

/* summary.json's "status", or "" when there is no readable summary. */
static void summary_status(const char *run, char *buf, size_t n) {
    buf[0] = '\0';
    cJSON *root = mg_sweep_read_json(run, MG_RUN_SUMMARY);
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(root, "status");
    if (cJSON_IsString(st)) snprintf(buf, n, "%s", st->valuestring);
    cJSON_Delete(root);
}

static mg_point_state state_of(const char *run) {
    if (lock_held(run)) return MG_POINT_RUNNING;
    char status[32], path[4200];
    summary_status(run, status, sizeof status);
    if (!strcmp(status, "completed") || !strcmp(status, "grokked")) return MG_POINT_COMPLETED;
    if (!strcmp(status, "diverged")) return MG_POINT_DIVERGED;
    snprintf(path, sizeof path, "%s/" MG_SWEEP_FAILURE, run);
    if (mg_path_exists(path)) return MG_POINT_FAILED;
    snprintf(path, sizeof path, "%s/" MG_RUN_CONFIG, run);
    if (mg_path_exists(path) && mg_run_last_checkpoint(run) >= 0) return MG_POINT_INTERRUPTED;
    return MG_POINT_PENDING;
}

mg_point_state mg_sweep_point_state(const mg_sweep *s, const char *dir, int64_t i) {
    char run[4096];
    run_dir(s, dir, i, run, sizeof run);
    return state_of(run);
}

static mg_status record_failure(const char *run, mg_status st, const char *msg) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "status", "failed");
    cJSON_AddStringToObject(root, "error", mg_status_name(st));
    cJSON_AddStringToObject(root, "message", msg);
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    char path[4200];
    snprintf(path, sizeof path, "%s/" MG_SWEEP_FAILURE, run);
    mg_status w = text ? mg_write_file_atomic(path, text, strlen(text)) : MG_ERR_NOMEM;
    cJSON_free(text);
    return w;
}

mg_status mg_sweep_run_point(const mg_sweep *s, const char *dir, int64_t i, int threads) {
    if (i < 0 || i >= mg_sweep_size(s))
        return mg_fail(MG_ERR_ARG, "sweep: point %lld: the grid has points 0 to %lld", (long long)i,
                       (long long)mg_sweep_size(s) - 1);
    char run[4096], num[32];
    run_dir(s, dir, i, run, sizeof run);
    mg_settings set;
    mg_status st = mg_sweep_point_settings(s, i, &set);
    snprintf(num, sizeof num, "%d", threads);
    if (!st) st = mg_settings_set(&set, "threads", num);
    if (st) return st;
    if ((st = mg_mkdir_p(run))) return st;
    /* held for the whole point: a second process running the same point (a
     * pool and an array task, or two pools) is refused here, not midway */
    int lock = -1;
    if ((st = mg_run_lock(run, &lock))) return st;
    mg_point_state state = state_of(run);
    if (state == MG_POINT_INTERRUPTED) {
        mg_settings over;
        if (!(st = mg_settings_defaults(&over, NULL))) {
            snprintf(num, sizeof num, "%lld", (long long)set.train.steps);
            st = mg_settings_set(&over, "steps", num);
            snprintf(num, sizeof num, "%d", threads);
            if (!st) st = mg_settings_set(&over, "threads", num);
        }
        if (!st) st = mg_run_resume_settings(run, &over);
    } else if (state == MG_POINT_PENDING) {
        set.run.force = true; /* the directory holds no run yet: only sweep.log */
        st = mg_run_train(&set.train, run, &set.run);
    }
    /* mg_run_train and resume took and dropped the same process's lock; a
     * diverged run has its summary, any other failure is recorded here */
    if (st && st != MG_ERR_NUMERIC) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", mg_errmsg());
        if (!mg_point_state_final(state_of(run))) (void)record_failure(run, st, msg);
        mg_fail(st, "%s", msg);
    }
    mg_run_unlock(lock);
    return st;
}
