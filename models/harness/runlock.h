/* runlock.h — one writer per run directory.
 *
 * A process that writes a run directory (train, resume, analyze) holds an
 * exclusive lock on the empty file DIR/.lock for as long as it writes. A
 * second process is refused at once with MG_ERR_ARG naming the holder's
 * pid, before it touches anything. The kernel drops the lock when
 * the holder exits, however it exits (kill -9 included), so a stale lock
 * file never blocks a later run: only a live holder does. */
#ifndef MG_RUNLOCK_H
#define MG_RUNLOCK_H

#include "core/error.h"

#define MG_RUN_LOCK_FILE ".lock"

/* Takes the lock of the existing directory dir; *fd receives the lock's
 * file descriptor (give it to mg_run_unlock). Fails with MG_ERR_ARG if
 * another process holds it, MG_ERR_IO if the lock file cannot be made. */
mg_status mg_run_lock(const char *dir, int *fd);

/* Releases a lock taken by mg_run_lock (fd < 0: nothing to do). */
void mg_run_unlock(int fd);

#endif
