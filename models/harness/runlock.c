/* runlock.c — the run directory's writer lock (runlock.h). A POSIX record
 * lock (fcntl F_SETLK) rather than flock(2): F_GETLK tells the holder's pid,
 * so the lock file stays empty and a refused process changes nothing, not
 * even the lock file's contents. */
#include "models/harness/runlock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

mg_status mg_run_lock(const char *dir, int *fd) {
    *fd = -1;
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s", dir, MG_RUN_LOCK_FILE) >= (int)sizeof path)
        return mg_fail(MG_ERR_ARG, "the run directory's path is too long (%zu characters)",
                       strlen(dir));
    int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (f < 0) return mg_fail(MG_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    struct flock l = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    if (fcntl(f, F_SETLK, &l) == 0) {
        *fd = f;
        return MG_OK;
    }
    int err = errno;
    struct flock who = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    long pid = fcntl(f, F_GETLK, &who) == 0 && who.l_type != F_UNLCK ? (long)who.l_pid : -1;
    close(f);
    if (err != EAGAIN && err != EACCES)
        return mg_fail(MG_ERR_IO, "cannot lock %s: %s", path, strerror(err));
    if (pid > 0)
        return mg_fail(MG_ERR_ARG,
                       "%s is in use by another modgrad process (pid %ld); wait for it to finish",
                       dir, pid);
    return mg_fail(MG_ERR_ARG, "%s is in use by another modgrad process; wait for it to finish",
                   dir);
}

void mg_run_unlock(int fd) {
    if (fd >= 0) close(fd); /* closing drops the lock */
}
