/* cli.h — helpers for end-to-end tests of the `modgrad` binary: a fresh
 * temporary directory per test, the binary run with captured output, and
 * small readers of the JSON files a run writes. Header-only, since every
 * helper asserts through Criterion; a suite using it declares
 *     TestSuite(NAME, .init = mg_cli_setup, .fini = mg_cli_teardown, .timeout = 120);
 * The binary is $MG_BUILD_DIR/modgrad (ctest sets MG_BUILD_DIR); it runs
 * with MODGRAD_BLIS_TUNE=off and a cache directory of the test's own (see
 * mg_cli_setup). */
#ifndef MG_TEST_CLI_H
#define MG_TEST_CLI_H

#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/util/fixture.h"

static char tmp[64];     /* this test's directory */
static char bin[4096];   /* the modgrad binary */
static char *paths[512]; /* made by P, freed after the test */
static int npaths;

static inline void mg_cli_setup(void) {
    const char *b = getenv("MG_BUILD_DIR");
    cr_assert_not_null(b, "MG_BUILD_DIR is not set (run the suite through ctest)");
    snprintf(bin, sizeof bin, "%s/modgrad", b);
    cr_assert_eq(access(bin, X_OK), 0, "%s is not built", bin);
    strcpy(tmp, "/tmp/mg_cli_XXXXXX");
    cr_assert_not_null(mkdtemp(tmp));
    /* Every run of these tests on the fixed rule's kernels (skx on an
     * AVX-512 CPU), the ones the pinned fingerprints were made with: the
     * kernels change the float arithmetic. Nor may a test read or write the
     * user's kernel cache. A test of the choice itself sets them again. */
    setenv("MODGRAD_BLIS_TUNE", "off", 1);
    char cache[96];
    snprintf(cache, sizeof cache, "%s/xdg-cache", tmp);
    setenv("XDG_CACHE_HOME", cache, 1);
    unsetenv("BLIS_ARCH_TYPE");
    unsetenv("MODGRAD_BLIS_ARCH");
}

static inline void mg_cli_teardown(void) {
    for (int i = 0; i < npaths; i++) free(paths[i]);
    npaths = 0;
    if (!tmp[0]) return;
    mg_test_rmtree(tmp);
}

/* A path under the test's directory; valid until the end of the test. */
static inline const char *P(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline const char *P(const char *fmt, ...) {
    char name[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    cr_assert_lt(npaths, 512);
    char *p = malloc(strlen(tmp) + strlen(name) + 2);
    cr_assert_not_null(p);
    sprintf(p, "%s/%s", tmp, name);
    return paths[npaths++] = p;
}

/* The whole file (NUL-terminated), or NULL if it cannot be read. */
static inline char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    char *s = malloc(cap);
    size_t r;
    while ((r = fread(s + n, 1, cap - n - 1, f)) > 0) {
        n += r;
        if (cap - n - 1 == 0) s = realloc(s, cap *= 2);
    }
    fclose(f);
    s[n] = '\0';
    if (len) *len = n;
    return s;
}

static inline void spit(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "cannot write %s", path);
    cr_assert_eq(fwrite(data, 1, n, f), n);
    cr_assert_eq(fclose(f), 0);
}

static inline bool exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

typedef struct {
    int code;        /* exit status; 128 + signal if killed */
    char *out, *err; /* what it wrote */
} proc;

static inline void proc_free(proc *r) {
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

/* Runs argv (argv[0] looked up in PATH unless it has a slash) with stdin
 * from /dev/null, capturing stdout and stderr. */
static inline void run_argv(proc *r, char *const argv[]) {
    const char *outp = P(".stdout"), *errp = P(".stderr");
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        int in = open("/dev/null", O_RDONLY);
        int o = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int e = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (in < 0 || o < 0 || e < 0) _exit(126);
        dup2(in, 0), dup2(o, 1), dup2(e, 2);
        alarm(100); /* survives exec: a hung child cannot hang the suite */
        execvp(argv[0], argv);
        _exit(127);
    }
    int ws;
    cr_assert_eq(waitpid(pid, &ws, 0), pid);
    r->code = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
    r->out = slurp(outp, NULL);
    r->err = slurp(errp, NULL);
    cr_assert(r->out && r->err);
    unlink(outp), unlink(errp);
}

/* Runs `modgrad ARGS`, ARGS split at spaces (no quoting: temporary paths
 * have none). Returns the exit status. */
static inline int mg(proc *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline int mg(proc *r, const char *fmt, ...) {
    static char line[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    char *argv[128];
    int n = 0;
    argv[n++] = bin;
    for (char *save = NULL, *t = strtok_r(line, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        cr_assert_lt(n, 127);
        argv[n++] = t;
    }
    argv[n] = NULL;
    run_argv(r, argv);
    return r->code;
}

/* Runs modgrad and requires exit 0. */
static inline void mg_ok(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void mg_ok(const char *fmt, ...) {
    char line[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    proc r;
    mg(&r, "%s", line);
    cr_assert_eq(r.code, 0, "modgrad %s\nexited %d; stderr:\n%s", line, r.code, r.err);
    proc_free(&r);
}

static inline int count_lines(const char *s) {
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

static inline cJSON *json_file(const char *path) {
    char *s = slurp(path, NULL);
    cr_assert_not_null(s, "cannot read %s", path);
    cJSON *j = cJSON_Parse(s);
    cr_assert_not_null(j, "%s is not valid JSON:\n%s", path, s);
    free(s);
    return j;
}

static inline void json_save(const char *path, const cJSON *j) {
    char *s = cJSON_Print(j);
    cr_assert_not_null(s);
    spit(path, s, strlen(s));
    cJSON_free(s);
}

static inline const cJSON *jget(const cJSON *j, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    cr_assert_not_null(v, "JSON has no \"%s\"", key);
    return v;
}

static inline double jnum(const cJSON *j, const char *key) {
    const cJSON *v = jget(j, key);
    cr_assert(cJSON_IsNumber(v), "\"%s\" is not a number", key);
    return v->valuedouble;
}

static inline const char *jstr(const cJSON *j, const char *key) {
    const cJSON *v = jget(j, key);
    cr_assert(cJSON_IsString(v), "\"%s\" is not a string", key);
    return v->valuestring;
}

/* A string value of a run's JSON file, copied into out. */
static inline void json_field(const char *path, const char *key, char *out, size_t n) {
    cJSON *j = json_file(path);
    snprintf(out, n, "%s", jstr(j, key));
    cJSON_Delete(j);
}

/* `cp -a src dst` and `diff -r a b` (true if the trees are identical; the
 * differences are printed to the test's stderr otherwise). */
static inline void copy_tree(const char *src, const char *dst) {
    proc r;
    run_argv(&r, (char *const[]){"cp", "-a", (char *)src, (char *)dst, NULL});
    cr_assert_eq(r.code, 0, "cp -a %s %s: %s", src, dst, r.err);
    proc_free(&r);
}

static inline bool same_tree(const char *a, const char *b) {
    proc r;
    run_argv(&r, (char *const[]){"diff", "-r", (char *)a, (char *)b, NULL});
    if (r.code != 0) fprintf(stderr, "diff -r %s %s:\n%s%s", a, b, r.out, r.err);
    bool same = r.code == 0;
    proc_free(&r);
    return same;
}

#endif
