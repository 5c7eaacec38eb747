/* fixture.h — small pieces the test suites share: a graph with its own
 * parameter store, and removal of temporary directories. */
#ifndef MG_TEST_FIXTURE_H
#define MG_TEST_FIXTURE_H

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/graph.h"

/* A graph and its store, freed together. */
typedef struct {
    mg_params *P;
    mg_graph *g;
} gp;

static inline gp gp_new(void) {
    gp r;
    r.P = mg_params_new();
    r.g = mg_graph_new(r.P);
    return r;
}

static inline void gp_free(gp *r) {
    mg_graph_free(r->g);
    mg_params_free(r->P);
}

/* Removes dir and the files in it (no subdirectories). */
static inline void mg_test_rmdir_flat(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char p[512];
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            unlink(p);
        }
    closedir(d);
    rmdir(dir);
}

/* Removes the tree at dir (`rm -rf`; test paths have no quotes). Returns
 * whether it is gone; a failure is also said on stderr. */
static inline bool mg_test_rmtree(const char *dir) {
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) == 0) return true;
    fprintf(stderr, "could not remove %s\n", dir);
    return false;
}
#endif
