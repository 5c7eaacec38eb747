/* blis_cache.c — the cached kernel table (see blis_tune.h): its key, its
 * file's path, and reading and writing it. A file is read back only if
 * everything in it is what this machine would have written: same format,
 * same CPU, same BLIS, same shapes and candidates, every rate a positive
 * number; anything else is reported as MG_ERR_FORMAT and remeasured. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/blis_tune.h"
#include "core/fsutil.h"

#define FORMAT "modgrad BLIS kernel table 1"

mg_blis_key mg_blis_key_here(void) {
    mg_blis_key k;
    memset(&k, 0, sizeof k);
    mg_cpu_features f = mg_cpu_detect();
    snprintf(k.vendor, sizeof k.vendor, "%s", f.vendor[0] ? f.vendor : "unknown");
    k.family = f.family, k.model = f.model, k.stepping = f.stepping;
    snprintf(k.blis, sizeof k.blis, "%s", mg_blis_version());
    return k;
}

/* s with every character outside [A-Za-z0-9._] made '_' (a file name part). */
static void sanitise(char *s) {
    for (; *s; s++) {
        char c = *s;
        bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_';
        if (!keep) *s = '_';
    }
}

mg_status mg_blis_cache_path(const mg_blis_key *key, char *buf, size_t n) {
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    char dir[4096];
    /* the XDG rule: a relative XDG_CACHE_HOME is ignored */
    if (xdg && xdg[0] == '/') snprintf(dir, sizeof dir, "%s/modgrad", xdg);
    else if (home && home[0] == '/') snprintf(dir, sizeof dir, "%s/.cache/modgrad", home);
    else
        return mg_fail(MG_ERR_ARG, "no cache directory for BLIS's kernel table: set "
                                   "XDG_CACHE_HOME or HOME to an absolute path");
    char vendor[sizeof key->vendor], blis[sizeof key->blis];
    snprintf(vendor, sizeof vendor, "%s", key->vendor);
    snprintf(blis, sizeof blis, "%s", key->blis);
    sanitise(vendor), sanitise(blis);
    int w = snprintf(buf, n, "%s/blis-%s-%d-%d-%d-%s.json", dir, vendor, key->family, key->model,
                     key->stepping, blis);
    if (w < 0 || (size_t)w >= n) return mg_fail(MG_ERR_ARG, "cache path too long: %s", dir);
    return MG_OK;
}

/* ---- writing ------------------------------------------------------------- */

static cJSON *table_json(const mg_blis_table *t) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "format", FORMAT);
    cJSON *cpu = cJSON_AddObjectToObject(root, "cpu");
    cJSON_AddStringToObject(cpu, "vendor", t->key.vendor);
    cJSON_AddNumberToObject(cpu, "family", t->key.family);
    cJSON_AddNumberToObject(cpu, "model", t->key.model);
    cJSON_AddNumberToObject(cpu, "stepping", t->key.stepping);
    cJSON_AddStringToObject(root, "blis_version", t->key.blis);
    cJSON_AddStringToObject(root, "measured_at", t->measured_at);
    cJSON_AddStringToObject(root, "timer", "process CPU time, one thread");
    cJSON_AddNumberToObject(root, "threads", t->threads);
    cJSON_AddNumberToObject(root, "reps", t->reps);
    cJSON_AddNumberToObject(root, "rounds", t->rounds);
    cJSON *sh = cJSON_AddArrayToObject(root, "shapes");
    for (int s = 0; s < MG_BLIS_N_SHAPES; s++) {
        const mg_blis_shape *p = &mg_blis_shapes()[s];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", p->name);
        cJSON_AddNumberToObject(o, "m", (double)p->m);
        cJSON_AddNumberToObject(o, "n", (double)p->n);
        cJSON_AddNumberToObject(o, "k", (double)p->k);
        cJSON_AddItemToArray(sh, o);
    }
    cJSON *rows = cJSON_AddArrayToObject(root, "candidates");
    for (int i = 0; i < t->n; i++) {
        const mg_blis_row *r = &t->rows[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "arch", r->arch);
        if (r->ok) {
            cJSON *g = cJSON_AddArrayToObject(o, "gflops");
            for (int s = 0; s < MG_BLIS_N_SHAPES; s++)
                cJSON_AddItemToArray(g, cJSON_CreateNumber(r->gflops[s]));
            cJSON_AddNumberToObject(o, "all", r->all);
        } else {
            cJSON_AddStringToObject(o, "failed", r->note);
        }
        cJSON_AddItemToArray(rows, o);
    }
    cJSON_AddStringToObject(root, "chosen", t->chosen >= 0 ? t->rows[t->chosen].arch : "");
    return root;
}

mg_status mg_blis_cache_write(const char *path, const mg_blis_table *t) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        mg_status st = mg_mkdir_p(dir);
        if (st) return st;
    }
    cJSON *root = table_json(t);
    char *text = root ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    if (!text) return mg_fail(MG_ERR_NOMEM, "out of memory writing %s", path);
    mg_status st = mg_write_file_atomic(path, text, strlen(text));
    cJSON_free(text);
    return st;
}

/* ---- reading ------------------------------------------------------------- */

static const char *str_of(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool int_is(const cJSON *o, const char *k, double want) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) && v->valuedouble == want;
}

static bool positive(const cJSON *v, double *out) {
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble <= 0) return false;
    *out = v->valuedouble;
    return true;
}

/* Why root is not a table for key and these candidates, or NULL if it is
 * one (then t holds it). */
static const char *parse_table(const cJSON *root, const mg_blis_key *key, const char **cands,
                               int n_cands, mg_blis_table *t) {
    const char *fmt = str_of(root, "format");
    if (!fmt || strcmp(fmt, FORMAT) != 0) return "not a modgrad kernel table of this version";
    const cJSON *cpu = cJSON_GetObjectItemCaseSensitive(root, "cpu");
    const char *vendor = str_of(cpu, "vendor"), *blis = str_of(root, "blis_version");
    if (!vendor || strcmp(vendor, key->vendor) || !int_is(cpu, "family", key->family) ||
        !int_is(cpu, "model", key->model) || !int_is(cpu, "stepping", key->stepping))
        return "another CPU's table";
    if (!blis || strcmp(blis, key->blis)) return "another BLIS version's table";
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(root, "shapes");
    if (!cJSON_IsArray(sh) || cJSON_GetArraySize(sh) != MG_BLIS_N_SHAPES)
        return "other products than this modgrad times";
    for (int s = 0; s < MG_BLIS_N_SHAPES; s++) {
        const mg_blis_shape *p = &mg_blis_shapes()[s];
        const cJSON *o = cJSON_GetArrayItem(sh, s);
        const char *name = str_of(o, "name");
        if (!name || strcmp(name, p->name) || !int_is(o, "m", (double)p->m) ||
            !int_is(o, "n", (double)p->n) || !int_is(o, "k", (double)p->k))
            return "other products than this modgrad times";
    }
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(root, "candidates");
    if (!cJSON_IsArray(rows) || cJSON_GetArraySize(rows) != n_cands ||
        n_cands > MG_BLIS_MAX_CANDIDATES)
        return "another list of candidates";
    memset(t, 0, sizeof *t);
    t->key = *key;
    t->n = n_cands;
    t->chosen = -1;
    const char *chosen = str_of(root, "chosen");
    for (int i = 0; i < n_cands; i++) {
        const cJSON *o = cJSON_GetArrayItem(rows, i);
        mg_blis_row *r = &t->rows[i];
        const char *arch = str_of(o, "arch"), *failed = str_of(o, "failed");
        if (!arch || strcmp(arch, cands[i])) return "another list of candidates";
        snprintf(r->arch, sizeof r->arch, "%s", arch);
        const cJSON *g = cJSON_GetObjectItemCaseSensitive(o, "gflops");
        if (failed) {
            snprintf(r->note, sizeof r->note, "%s", failed);
            continue;
        }
        if (!cJSON_IsArray(g) || cJSON_GetArraySize(g) != MG_BLIS_N_SHAPES) return "a bad row";
        for (int s = 0; s < MG_BLIS_N_SHAPES; s++)
            if (!positive(cJSON_GetArrayItem(g, s), &r->gflops[s])) return "a bad rate";
        if (!positive(cJSON_GetObjectItemCaseSensitive(o, "all"), &r->all)) return "a bad rate";
        r->ok = true;
        if (chosen && !strcmp(chosen, arch)) t->chosen = i;
    }
    if (t->chosen < 0) return "no measured candidate chosen";
    const char *at = str_of(root, "measured_at");
    snprintf(t->measured_at, sizeof t->measured_at, "%s", at ? at : "");
    const cJSON *v;
    t->threads = cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(root, "threads"))
                     ? (int)v->valuedouble
                     : 1;
    t->reps = cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(root, "reps"))
                  ? (int)v->valuedouble
                  : 0;
    t->rounds = cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(root, "rounds"))
                    ? (int)v->valuedouble
                    : 0;
    return NULL;
}

mg_status mg_blis_cache_read(const char *path, const mg_blis_key *key, const char **cands,
                             int n_cands, mg_blis_table *t) {
    if (!mg_path_exists(path)) return mg_fail(MG_ERR_IO, "%s: no such file", path);
    char *text = NULL;
    size_t n = 0;
    mg_status st = mg_read_file(path, &text, &n);
    if (st) return st;
    cJSON *root = cJSON_ParseWithLength(text, n);
    mg_free(text);
    if (!root) return mg_fail(MG_ERR_FORMAT, "not valid JSON (corrupt or cut short)");
    mg_blis_table got;
    const char *bad = parse_table(root, key, cands, n_cands, &got);
    cJSON_Delete(root);
    if (bad) return mg_fail(MG_ERR_FORMAT, "%s", bad);
    *t = got;
    return MG_OK;
}
