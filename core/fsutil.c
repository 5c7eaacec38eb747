/* fsutil.c — atomic writes, stale temporaries, mkdir -p and whole-file reads
 * (see fsutil.h). */
#include "core/fsutil.h"

#include <cjson/cJSON.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = mg_malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* fsyncs the directory holding path, so that the rename itself survives a
 * power cut. Best effort: some file systems refuse fsync on a directory, and
 * the rename has already happened, so a failure here is not reported. */
static void sync_parent_dir(const char *path) {
    const char *slash = strrchr(path, '/');
    char dir[4096];
    if (!slash) {
        strcpy(dir, ".");
    } else if (slash == path) {
        strcpy(dir, "/");
    } else {
        size_t len = (size_t)(slash - path);
        if (len >= sizeof dir) return;
        memcpy(dir, path, len);
        dir[len] = '\0';
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return;
    (void)fsync(fd);
    close(fd);
}

mg_status mg_atomic_open(mg_atomic_file *f, const char *path) {
    f->fd = -1;
    f->path = f->tmp = NULL;
    if (!path || !*path) return mg_fail(MG_ERR_ARG, "cannot write a file with an empty path");
    size_t cap = strlen(path) + 32;
    f->path = dup_str(path);
    f->tmp = mg_malloc(cap);
    if (!f->path || !f->tmp) {
        mg_atomic_abort(f);
        return mg_fail(MG_ERR_NOMEM, "out of memory writing %s", path);
    }
    snprintf(f->tmp, cap, "%s.tmp.%ld", path, (long)getpid());
    /* O_TRUNC rather than O_EXCL: a temporary left by a killed process that
     * had the same pid is garbage and may be overwritten. */
    f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (f->fd < 0) {
        int e = errno;
        mg_free(f->tmp);
        f->tmp = NULL; /* nothing was created: abort must not unlink */
        mg_atomic_abort(f);
        return mg_fail(MG_ERR_IO, "cannot write %s: %s", path, strerror(e));
    }
    return MG_OK;
}

mg_status mg_atomic_write(mg_atomic_file *f, const void *data, size_t n) {
    const char *p = data;
    while (n > 0) {
        ssize_t k = write(f->fd, p, n);
        if (k < 0) {
            if (errno == EINTR) continue;
            return mg_fail(MG_ERR_IO, "cannot write %s: %s", f->path, strerror(errno));
        }
        p += k;
        n -= (size_t)k;
    }
    return MG_OK;
}

mg_status mg_atomic_commit(mg_atomic_file *f) {
    if (fsync(f->fd) != 0) {
        mg_status s = mg_fail(MG_ERR_IO, "cannot write %s: fsync: %s", f->path, strerror(errno));
        mg_atomic_abort(f);
        return s;
    }
    int rc = close(f->fd);
    f->fd = -1;
    if (rc != 0) {
        mg_status s = mg_fail(MG_ERR_IO, "cannot write %s: close: %s", f->path, strerror(errno));
        mg_atomic_abort(f);
        return s;
    }
    if (rename(f->tmp, f->path) != 0) {
        mg_status s = mg_fail(MG_ERR_IO, "cannot write %s: rename from %s: %s", f->path, f->tmp,
                              strerror(errno));
        mg_atomic_abort(f);
        return s;
    }
    sync_parent_dir(f->path);
    mg_free(f->tmp);
    mg_free(f->path);
    f->tmp = f->path = NULL;
    return MG_OK;
}

void mg_atomic_abort(mg_atomic_file *f) {
    if (f->fd >= 0) close(f->fd);
    if (f->tmp) unlink(f->tmp);
    mg_free(f->tmp);
    mg_free(f->path);
    f->fd = -1;
    f->tmp = f->path = NULL;
}

/* The pid of a temporary's name "<name>.tmp.<pid>", or 0 if it is not one. */
static long temp_pid(const char *name) {
    const char *tag = NULL;
    for (const char *p = strstr(name, ".tmp."); p; p = strstr(p + 1, ".tmp.")) tag = p;
    if (!tag || tag == name) return 0;
    const char *digits = tag + 5;
    size_t n = strlen(digits);
    if (n == 0 || n > 10 || strspn(digits, "0123456789") != n || digits[0] == '0') return 0;
    long pid = strtol(digits, NULL, 10);
    return pid <= INT_MAX ? pid : 0;
}

mg_status mg_remove_stale_temps(const char *dir, int *removed) {
    if (removed) *removed = 0;
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT) return MG_OK;
        return mg_fail(MG_ERR_IO, "cannot list %s: %s", dir, strerror(errno));
    }
    mg_status s = MG_OK;
    char path[4096];
    for (struct dirent *e; s == MG_OK && (e = readdir(d));) {
        long pid = temp_pid(e->d_name);
        /* ESRCH: no such process. EPERM means it exists (another user's). */
        if (pid == 0 || pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        struct stat st;
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= sizeof path ||
            lstat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (unlink(path) != 0 && errno != ENOENT)
            s = mg_fail(MG_ERR_IO, "cannot remove the stale temporary %s: %s", path,
                        strerror(errno));
        else if (removed) (*removed)++;
    }
    closedir(d);
    return s;
}

mg_status mg_write_file_atomic(const char *path, const void *data, size_t n) {
    mg_atomic_file f;
    mg_status s = mg_atomic_open(&f, path);
    if (s != MG_OK) return s;
    s = mg_atomic_write(&f, data, n);
    if (s != MG_OK) {
        mg_atomic_abort(&f);
        return s;
    }
    return mg_atomic_commit(&f);
}

mg_status mg_mkdir_p(const char *path) {
    if (!path || !*path) return mg_fail(MG_ERR_ARG, "cannot create a directory with an empty path");
    size_t len = strlen(path);
    char *buf = dup_str(path);
    if (!buf) return mg_fail(MG_ERR_NOMEM, "out of memory creating %s", path);
    mg_status s = MG_OK;
    /* Create each prefix ending before a '/', then the whole path. */
    for (size_t i = 1; i <= len && s == MG_OK; i++) {
        if (i < len && buf[i] != '/') continue;
        char saved = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            s = mg_fail(MG_ERR_IO, "cannot create directory %s: %s", buf, strerror(errno));
        else {
            struct stat st;
            if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
                s = mg_fail(MG_ERR_IO,
                            "cannot create directory %s: %s exists and is not a directory", path,
                            buf);
        }
        buf[i] = saved;
    }
    mg_free(buf);
    return s;
}

bool mg_path_exists(const char *path) {
    struct stat st;
    return path && stat(path, &st) == 0;
}

mg_status mg_read_file(const char *path, char **data, size_t *n) {
    *data = NULL;
    *n = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return mg_fail(MG_ERR_IO, "cannot read %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return mg_fail(MG_ERR_IO, "cannot read %s: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return mg_fail(MG_ERR_IO, "cannot read %s: it is not a regular file", path);
    }
    size_t size = (size_t)st.st_size;
    char *buf = mg_malloc(size + 1);
    if (!buf) {
        close(fd);
        return mg_fail(MG_ERR_NOMEM, "cannot read %s: out of memory for %zu bytes", path, size);
    }
    size_t got = 0;
    while (got < size) {
        ssize_t k = read(fd, buf + got, size - got);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) {
            int e = errno;
            close(fd);
            mg_free(buf);
            return mg_fail(MG_ERR_IO, "cannot read %s: %s", path, strerror(e));
        }
        if (k == 0) break; /* the file shrank while we read it: keep what is there */
        got += (size_t)k;
    }
    close(fd);
    buf[got] = '\0';
    *data = buf;
    *n = got;
    return MG_OK;
}

mg_status mg_read_json(const char *path, cJSON **out) {
    *out = NULL;
    char *text = NULL;
    size_t n = 0;
    mg_status st = mg_read_file(path, &text, &n);
    if (st) return st;
    *out = cJSON_ParseWithLength(text, n);
    mg_free(text);
    return *out ? MG_OK : mg_fail(MG_ERR_FORMAT, "%s is not valid JSON", path);
}

/* "step_<digits><suffix>" exactly: its step, or -1 */
static int64_t step_of(const char *name, const char *suffix) {
    if (strncmp(name, "step_", 5)) return -1;
    const char *d = name + 5;
    size_t k = strspn(d, "0123456789");
    if (!k || k > 18 || strcmp(d + k, suffix)) return -1;
    int64_t v = 0;
    for (size_t i = 0; i < k; i++) v = v * 10 + (d[i] - '0');
    return v;
}

static int cmp_step(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

mg_status mg_list_steps(const char *dir, const char *suffix, int64_t **steps, int *n) {
    *steps = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT) return MG_OK;
        return mg_fail(MG_ERR_IO, "cannot list %s: %s", dir, strerror(errno));
    }
    int64_t *v = NULL;
    int k = 0, cap = 0;
    for (struct dirent *e; (e = readdir(d));) {
        int64_t s = step_of(e->d_name, suffix);
        if (s < 0) continue;
        if (k == cap) {
            int64_t *nx =
                cap < INT_MAX / 2 ? mg_realloc(v, (size_t)(cap ? 2 * cap : 64) * sizeof *v) : NULL;
            if (!nx) {
                closedir(d);
                mg_free(v);
                return mg_fail(MG_ERR_NOMEM, "out of memory listing %s", dir);
            }
            v = nx;
            cap = cap ? 2 * cap : 64;
        }
        v[k++] = s;
    }
    closedir(d);
    if (k) qsort(v, (size_t)k, sizeof *v, cmp_step);
    *steps = v;
    *n = k;
    return MG_OK;
}
