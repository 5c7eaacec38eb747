/* fsutil.h — small file-system helpers: atomic writes, mkdir -p, whole-file reads.
 *
 * Everything a run writes goes through an atomic write: the bytes go to
 * "<path>.tmp.<pid>", are fsync'ed, and the temporary is renamed onto path,
 * so a run killed at any moment leaves either the old file or the new one at
 * path, never a half-written one. Writers that produce their bytes piece by
 * piece (a checkpoint) use the streaming form, mg_atomic_open/write/commit. */
#ifndef MG_FSUTIL_H
#define MG_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

/* A file being written atomically. Fields are private to fsutil.c. */
typedef struct {
    int fd;
    char *path; /* final name */
    char *tmp;  /* temporary name the bytes go to until commit */
} mg_atomic_file;

/* Creates "<path>.tmp.<pid>" for writing. On failure nothing is left behind. */
mg_status mg_atomic_open(mg_atomic_file *f, const char *path);
/* Appends n bytes. On failure the caller still calls mg_atomic_abort. */
mg_status mg_atomic_write(mg_atomic_file *f, const void *data, size_t n);
/* fsyncs, closes and renames the temporary onto path. Whether it succeeds or
 * fails, f is finished (a failed commit removes the temporary). */
mg_status mg_atomic_commit(mg_atomic_file *f);
/* Closes and removes the temporary; path is untouched. Safe after a failed
 * open or commit. */
void mg_atomic_abort(mg_atomic_file *f);

/* Removes from dir the temporaries ("<name>.tmp.<pid>", see mg_atomic_open)
 * that writers killed mid-write left behind: only regular files whose pid
 * is not a live process (kill(pid, 0) fails with ESRCH). A live process's
 * temporary, this process's own, and every other name stay. A missing dir
 * is fine. *removed (may be NULL) gets the count removed. */
mg_status mg_remove_stale_temps(const char *dir, int *removed);

/* The steps of dir's entries named exactly "step_<digits><suffix>" (a run's
 * snapshots: suffix ".safetensors"; modgrad sae's folders: ""), in ascending
 * order. *steps gets an mg_malloc'ed array (free it with mg_free), NULL when
 * there are none; a missing dir has none. Other names (temporaries, "step_-1",
 * "step_ 7") are not steps. */
mg_status mg_list_steps(const char *dir, const char *suffix, int64_t **steps, int *n);

/* Writes n bytes to path atomically (temporary + fsync + rename). */
mg_status mg_write_file_atomic(const char *path, const void *data, size_t n);

/* Creates path and its missing parents (mode 0777 minus umask). An existing
 * directory is fine; an existing non-directory is an error. */
mg_status mg_mkdir_p(const char *path);

/* True if something (file, directory) exists at path. */
bool mg_path_exists(const char *path);

/* Reads the whole file. *data gets an mg_malloc'ed buffer of *n bytes plus a
 * terminating NUL (so text can be parsed in place); free it with mg_free. */
mg_status mg_read_file(const char *path, char **data, size_t *n);

/* Reads and parses a JSON file into *out (free it with cJSON_Delete): the
 * read's error, or MG_ERR_FORMAT "PATH is not valid JSON". */
typedef struct cJSON cJSON;
mg_status mg_read_json(const char *path, cJSON **out);

#endif
