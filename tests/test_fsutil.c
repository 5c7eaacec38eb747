/* test_fsutil.c — atomic writes, mkdir -p, whole-file reads. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/fsutil.h"
#include "tests/util/fixture.h"

static char dir[64];

static void setup(void) {
    strcpy(dir, "/tmp/mg_fs_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void) { cr_assert(mg_test_rmtree(dir)); }

TestSuite(fsutil, .init = setup, .fini = teardown);

static int count_entries(const char *d) {
    DIR *h = opendir(d);
    cr_assert_not_null(h);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(h)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(h);
    return n;
}

Test(fsutil, atomic_write_and_read_back) {
    char p[256];
    snprintf(p, sizeof p, "%s/f.txt", dir);
    cr_assert_not(mg_path_exists(p));
    cr_assert_eq(mg_write_file_atomic(p, "hello", 5), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(mg_write_file_atomic(p, "bye", 3), MG_OK, "%s", mg_errmsg());
    cr_assert(mg_path_exists(p));
    char *buf;
    size_t n;
    cr_assert_eq(mg_read_file(p, &buf, &n), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(n, 3);
    cr_assert_str_eq(buf, "bye"); /* NUL-terminated */
    mg_free(buf);
    cr_assert_eq(count_entries(dir), 1, "a temporary was left behind");
}

Test(fsutil, aborted_stream_leaves_old_file) {
    char p[256];
    snprintf(p, sizeof p, "%s/f.txt", dir);
    cr_assert_eq(mg_write_file_atomic(p, "old", 3), MG_OK);
    mg_atomic_file f;
    cr_assert_eq(mg_atomic_open(&f, p), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(mg_atomic_write(&f, "new!", 4), MG_OK);
    cr_assert_eq(count_entries(dir), 2); /* the temporary exists meanwhile */
    mg_atomic_abort(&f);
    cr_assert_eq(count_entries(dir), 1);
    char *buf;
    size_t n;
    cr_assert_eq(mg_read_file(p, &buf, &n), MG_OK);
    cr_assert_str_eq(buf, "old");
    mg_free(buf);
}

Test(fsutil, mkdir_p_nested_and_existing) {
    char p[256], f[300];
    snprintf(p, sizeof p, "%s/a/b/c/", dir);
    cr_assert_eq(mg_mkdir_p(p), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(mg_mkdir_p(p), MG_OK, "%s", mg_errmsg());
    struct stat st;
    cr_assert(stat(p, &st) == 0 && S_ISDIR(st.st_mode));
    snprintf(f, sizeof f, "%s/a/file", dir);
    cr_assert_eq(mg_write_file_atomic(f, "x", 1), MG_OK);
    snprintf(p, sizeof p, "%s/a/file/sub", dir);
    cr_assert_eq(mg_mkdir_p(p), MG_ERR_IO);
    cr_assert(strstr(mg_errmsg(), "not a directory"), "%s", mg_errmsg());
}

Test(fsutil, errors_name_the_path) {
    char p[256];
    snprintf(p, sizeof p, "%s/missing.txt", dir);
    char *buf = (char *)1;
    size_t n;
    cr_assert_eq(mg_read_file(p, &buf, &n), MG_ERR_IO);
    cr_assert_null(buf);
    cr_assert(strstr(mg_errmsg(), p), "%s", mg_errmsg());
    cr_assert_eq(mg_read_file(dir, &buf, &n), MG_ERR_IO);
    snprintf(p, sizeof p, "%s/no/dir/x", dir);
    cr_assert_eq(mg_write_file_atomic(p, "x", 1), MG_ERR_IO);
    cr_assert(strstr(mg_errmsg(), p), "%s", mg_errmsg());
}

/* A pid that was a process a moment ago and is none now (reaped). */
static pid_t dead_pid(void) {
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) _exit(0);
    cr_assert_eq(waitpid(pid, NULL, 0), pid);
    return pid;
}

static void touch(const char *name, long pid) {
    char p[256];
    snprintf(p, sizeof p, "%s/%s%ld", dir, name, pid);
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f, "%s", p);
    fclose(f);
}

static bool present(const char *name, long pid) {
    char p[256];
    snprintf(p, sizeof p, "%s/%s%ld", dir, name, pid);
    return access(p, F_OK) == 0;
}

/* issue 12, row 16: temporaries of killed writers are removed; those of live
 * processes, and every other name, stay. */
Test(fsutil, stale_temporaries_of_dead_pids_are_removed) {
    long dead = dead_pid(), parent = getppid(), self = getpid();
    touch("step_000040.safetensors.tmp.", dead);
    touch("metrics.csv.tmp.", dead);
    touch("config.json.tmp.", parent); /* alive: a writer at work */
    touch("summary.json.tmp.", self);
    touch("x.tmp.1", 0);    /* pid 1 (init) is alive */
    touch("notes.tmp.", 0); /* "notes.tmp.0": pid 0 is no pid */
    touch("data.tmp.12x", dead);
    touch("plain.txt", dead);
    char sub[256];
    snprintf(sub, sizeof sub, "%s/dir.tmp.%ld", dir, dead); /* a directory, not a temporary */
    cr_assert_eq(mkdir(sub, 0777), 0);
    int removed = -1;
    cr_assert_eq(mg_remove_stale_temps(dir, &removed), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(removed, 2);
    cr_assert_not(present("step_000040.safetensors.tmp.", dead));
    cr_assert_not(present("metrics.csv.tmp.", dead));
    cr_assert(present("config.json.tmp.", parent));
    cr_assert(present("summary.json.tmp.", self));
    cr_assert(present("notes.tmp.", 0));
    cr_assert(present("data.tmp.12x", dead));
    cr_assert(present("plain.txt", dead));
    cr_assert_eq(access(sub, F_OK), 0);
    rmdir(sub);
    cr_assert_eq(mg_remove_stale_temps("/nonexistent/mg_dir", &removed), MG_OK);
    cr_assert_eq(removed, 0);
}

static void make(const char *name) {
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f, "%s", p);
    fclose(f);
}

/* A run's snapshots and SAE folders are listed by step, in order of step (not
 * of name: step_10 after step_9), and only names that are exactly
 * step_<digits><suffix> count. */
Test(fsutil, steps_listed_in_order_of_step) {
    const char *names[] = {"step_000500.safetensors",
                           "step_10.safetensors",
                           "step_9.safetensors",
                           "step_000000.safetensors",
                           "step_000040.safetensors.tmp.123",
                           "step_-1.safetensors",
                           "step_ 7.safetensors",
                           "step_.safetensors",
                           "step_12.json",
                           "xstep_3.safetensors",
                           "step_77"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) make(names[i]);
    int64_t *s = NULL;
    int n = -1;
    cr_assert_eq(mg_list_steps(dir, ".safetensors", &s, &n), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(n, 4);
    int64_t want[] = {0, 9, 10, 500};
    for (int i = 0; i < 4; i++) cr_assert_eq(s[i], want[i], "entry %d: %lld", i, (long long)s[i]);
    mg_free(s);
    /* the empty suffix: folders (or files) named step_<digits> and nothing after */
    char sub[256];
    snprintf(sub, sizeof sub, "%s/step_002000", dir);
    cr_assert_eq(mkdir(sub, 0777), 0);
    cr_assert_eq(mg_list_steps(dir, "", &s, &n), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(n, 2);
    cr_assert_eq(s[0], 77);
    cr_assert_eq(s[1], 2000);
    mg_free(s);
    rmdir(sub);
}

Test(fsutil, steps_of_a_missing_or_empty_folder_are_none) {
    int64_t *s = (int64_t *)1;
    int n = -1;
    cr_assert_eq(mg_list_steps(dir, ".safetensors", &s, &n), MG_OK);
    cr_assert_null(s);
    cr_assert_eq(n, 0);
    char missing[256];
    snprintf(missing, sizeof missing, "%s/none", dir);
    s = (int64_t *)1;
    n = -1;
    cr_assert_eq(mg_list_steps(missing, ".safetensors", &s, &n), MG_OK);
    cr_assert_null(s);
    cr_assert_eq(n, 0);
    /* a file where the folder should be is an error that names it */
    make("plain");
    char file[256];
    snprintf(file, sizeof file, "%s/plain", dir);
    cr_assert_eq(mg_list_steps(file, "", &s, &n), MG_ERR_IO);
    cr_assert(strstr(mg_errmsg(), file), "%s", mg_errmsg());
    cr_assert_null(s);
}

/* Many snapshots: the list grows past its first allocation. */
Test(fsutil, many_steps) {
    for (int i = 0; i < 300; i++) {
        char name[64];
        snprintf(name, sizeof name, "step_%06d.safetensors", 299 - i);
        make(name);
    }
    int64_t *s = NULL;
    int n = 0;
    cr_assert_eq(mg_list_steps(dir, ".safetensors", &s, &n), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(n, 300);
    for (int i = 0; i < 300; i++) cr_assert_eq(s[i], i);
    mg_free(s);
}
