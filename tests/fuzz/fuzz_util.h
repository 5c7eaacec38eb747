/* fuzz_util.h — what the three libFuzzer harnesses share: a private
 * directory for the files they write, and writing an input to a file. */
#ifndef MG_FUZZ_UTIL_H
#define MG_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Removes the directory fuzz_dir made (at exit; files one level down). */
static void fuzz_cleanup(void);

/* A fresh directory for this process under $TMPDIR, else /dev/shm (memory:
 * the atomic writes' fsyncs cost nothing there, ten times the executions),
 * else /tmp; removed at exit. The harness aborts if it cannot make one. */
static inline const char *fuzz_dir(void) {
    static char dir[512];
    if (dir[0]) return dir;
    const char *t = getenv("TMPDIR");
    struct stat st;
    if (!t || !*t) t = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp";
    snprintf(dir, sizeof dir, "%s/mg_fuzz_XXXXXX", t);
    if (!mkdtemp(dir)) abort();
    atexit(fuzz_cleanup);
    return dir;
}

static void fuzz_cleanup(void) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fuzz_dir());
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", fuzz_dir());
}

/* Writes n bytes to path (plain write: the reader is what is fuzzed). */
static inline void fuzz_write(const char *path, const uint8_t *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (n && fwrite(data, 1, n, f) != n) abort();
    if (fclose(f) != 0) abort();
}

/* Fails the run (libFuzzer reports a crash with the input) when an
 * invariant of the code under test does not hold. */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#endif
