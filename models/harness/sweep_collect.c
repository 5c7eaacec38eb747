/* sweep_collect.c — a sweep's results as tables: DIR/runs.csv (one row per
 * point: its axis values, state, config and every scalar of its summary)
 * and DIR/groups.csv (per grid point without the seed axis, statistics of
 * each numeric summary scalar over the seeds), and the reader of such a
 * table (mg_sweep_table_read). Quoting follows RFC 4180, so pandas and
 * spreadsheets read them as written. */
#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/fsutil.h"
#include "core/text.h"
#include "models/harness/rundir.h"
#include "models/harness/sweep.h"

/* ---- a growing table of text cells ---------------------------------------- */

typedef struct {
    int n_cols, cap_cols;
    char **cols;
    int64_t n_rows;
    char ***rows; /* rows[r][c], NULL where empty; each row holds cap_cols cells */
} table;

static int col_of(table *t, const char *name, bool add) {
    for (int c = 0; c < t->n_cols; c++)
        if (!strcmp(t->cols[c], name)) return c;
    if (!add) return -1;
    if (t->n_cols == t->cap_cols) {
        int cap = t->cap_cols ? 2 * t->cap_cols : 64;
        char **cols = realloc(t->cols, (size_t)cap * sizeof *cols);
        if (!cols) return -1;
        t->cols = cols;
        for (int64_t r = 0; r < t->n_rows; r++) {
            char **row = realloc(t->rows[r], (size_t)cap * sizeof *row);
            if (!row) return -1;
            memset(row + t->cap_cols, 0, (size_t)(cap - t->cap_cols) * sizeof *row);
            t->rows[r] = row;
        }
        t->cap_cols = cap;
    }
    if (!(t->cols[t->n_cols] = strdup(name))) return -1;
    return t->n_cols++;
}

static bool set_cell(table *t, int64_t r, const char *col, const char *v) {
    int c = col_of(t, col, true);
    if (c < 0) return false;
    free(t->rows[r][c]);
    return (t->rows[r][c] = strdup(v)) != NULL;
}

static bool add_row(table *t) {
    char ***rows = realloc(t->rows, (size_t)(t->n_rows + 1) * sizeof *rows);
    if (!rows) return false;
    t->rows = rows;
    int cap = t->cap_cols ? t->cap_cols : 64;
    if (!t->cap_cols) {
        if (!(t->cols = calloc((size_t)cap, sizeof *t->cols))) return false;
        t->cap_cols = cap;
    }
    if (!(t->rows[t->n_rows] = calloc((size_t)cap, sizeof **rows))) return false;
    t->n_rows++;
    return true;
}

static void table_clear(table *t) {
    for (int64_t r = 0; r < t->n_rows; r++) {
        for (int c = 0; c < t->cap_cols; c++) free(t->rows[r][c]);
        free(t->rows[r]);
    }
    for (int c = 0; c < t->n_cols; c++) free(t->cols[c]);
    free(t->rows);
    free(t->cols);
    memset(t, 0, sizeof *t);
}

/* ---- CSV text -------------------------------------------------------------- */

typedef struct {
    char *s;
    size_t n, cap;
    bool oom;
} buf;

static void put(buf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n + 1) cap *= 2;
        char *p = realloc(b->s, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->s = p, b->cap = cap;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = '\0';
}

static void put_cell(buf *b, const char *v, bool first) {
    if (!first) put(b, ",", 1);
    if (!v) return;
    if (!v[strcspn(v, ",\"\n\r")]) {
        put(b, v, strlen(v));
        return;
    }
    put(b, "\"", 1);
    for (const char *c = v; *c; c++) put(b, *c == '"' ? "\"\"" : c, *c == '"' ? 2 : 1);
    put(b, "\"", 1);
}

static mg_status write_table(const table *t, const char *path) {
    buf b = {0};
    for (int c = 0; c < t->n_cols; c++) put_cell(&b, t->cols[c], c == 0);
    put(&b, "\n", 1);
    for (int64_t r = 0; r < t->n_rows; r++) {
        for (int c = 0; c < t->n_cols; c++) put_cell(&b, t->rows[r][c], c == 0);
        put(&b, "\n", 1);
    }
    mg_status st = b.oom ? mg_fail(MG_ERR_NOMEM, "out of memory writing %s", path)
                         : mg_write_file_atomic(path, b.s, b.n);
    free(b.s);
    return st;
}

/* ---- runs.csv -------------------------------------------------------------- */

/* Every scalar under node, as prefix + key path joined by '.'. A top-level
 * key that names one of the first `reserved` columns (run, an axis, status:
 * summary.json's own "status" says "grokked" where the state says
 * completed) becomes "summary.KEY" instead of overwriting that column. */
static bool flatten(table *t, int64_t r, const cJSON *node, const char *prefix, int reserved) {
    for (const cJSON *v = node->child; v; v = v->next) {
        char key[512], text[64];
        snprintf(key, sizeof key, "%s%s%s", prefix, *prefix ? "." : "", v->string);
        int c = *prefix ? -1 : col_of(t, key, false);
        if (c >= 0 && c < reserved) snprintf(key, sizeof key, "summary.%s", v->string);
        bool ok = true;
        if (cJSON_IsObject(v)) ok = flatten(t, r, v, key, 0);
        else if (cJSON_IsNumber(v)) {
            mg_shortest_number(v->valuedouble, false, text, sizeof text);
            ok = set_cell(t, r, key, text);
        } else if (cJSON_IsString(v)) ok = set_cell(t, r, key, v->valuestring);
        else if (cJSON_IsBool(v)) ok = set_cell(t, r, key, cJSON_IsTrue(v) ? "true" : "false");
        else if (cJSON_IsNull(v)) ok = col_of(t, key, true) >= 0; /* the column, empty */
        if (!ok) return false;
    }
    return true;
}

/* The summaries `modgrad sae RUN --checkpoint STEP` wrote into
 * RUN/sae/step_NNNNNN/, in order of step, as sae.step_NNNNNN.KEY. */
static mg_status flatten_sae(table *t, int64_t r, const char *run) {
    char path[4200];
    snprintf(path, sizeof path, "%s/" MG_RUN_SAE, run);
    int64_t *steps = NULL;
    int n = 0;
    mg_status st = mg_list_steps(path, "", &steps, &n);
    for (int i = 0; i < n && !st; i++) {
        char dir[4300], prefix[64];
        snprintf(dir, sizeof dir, "%s/" MG_RUN_SAE_DIR, run, (long long)steps[i]);
        snprintf(prefix, sizeof prefix, "sae.step_%06lld", (long long)steps[i]);
        cJSON *sum = mg_sweep_read_json(dir, MG_RUN_SUMMARY);
        if (sum && !flatten(t, r, sum, prefix, 0))
            st = mg_fail(MG_ERR_NOMEM, "out of memory collecting %s", dir);
        cJSON_Delete(sum);
    }
    mg_free(steps);
    return st;
}

cJSON *mg_sweep_read_json(const char *dir, const char *file) {
    char path[4200], *text;
    size_t n;
    snprintf(path, sizeof path, "%s/%s", dir, file);
    if (!mg_path_exists(path) || mg_read_file(path, &text, &n)) return NULL;
    cJSON *root = cJSON_Parse(text);
    mg_free(text);
    if (root && !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

static bool is_seed_axis(const mg_sweep *s, int a) { return !strcmp(s->axes[a].name, "seed"); }

/* groups.csv: the rows of runs.csv grouped by every axis but seed. */
static mg_status write_groups(const mg_sweep *s, const table *runs, int first_summary,
                              const char *path) {
    table g = {0};
    int64_t n = runs->n_rows;
    int c[MG_SWEEP_MAX_AXES], d[MG_SWEEP_MAX_AXES];
    bool oom = false;
    double *x = malloc((size_t)(n ? n : 1) * sizeof *x);
    bool *seen = calloc((size_t)(n ? n : 1), sizeof *seen);
    if (!x || !seen) oom = true;
    for (int64_t i = 0; !oom && i < n; i++) {
        if (seen[i]) continue;
        mg_sweep_point_coords(s, i, c);
        /* the members of i's group: every point that differs only in seed */
        bool *member = calloc((size_t)n, sizeof *member);
        if (!member) {
            oom = true;
            break;
        }
        for (int64_t j = i; j < n; j++) {
            mg_sweep_point_coords(s, j, d);
            bool same = true;
            for (int a = 0; a < s->n_axes && same; a++) same = is_seed_axis(s, a) || c[a] == d[a];
            /* the statistics are of finished runs: a diverged one's numbers
             * (its clocks, its last losses) are not a sample of the same thing */
            const char *state = runs->rows[j][1 + s->n_axes]; /* run, the axes, status */
            member[j] = same && state && !strcmp(state, "completed");
            seen[j] = seen[j] || same;
        }
        for (int col = first_summary; !oom && col < runs->n_cols; col++) {
            int k = 0;
            for (int64_t j = i; j < n; j++) {
                const char *v = member[j] ? runs->rows[j][col] : NULL;
                char *end;
                double y = v && *v ? strtod(v, &end) : NAN;
                if (v && *v && !*end && isfinite(y)) x[k++] = y;
            }
            if (!k) continue;
            double mean = 0, var = 0, lo = x[0], hi = x[0];
            for (int q = 0; q < k; q++) {
                mean += x[q] / k;
                lo = fmin(lo, x[q]);
                hi = fmax(hi, x[q]);
            }
            for (int q = 0; q < k; q++) var += (x[q] - mean) * (x[q] - mean);
            double sd = k > 1 ? sqrt(var / (k - 1)) : NAN;
            if (!add_row(&g)) {
                oom = true;
                break;
            }
            int64_t r = g.n_rows - 1;
            for (int a = 0; a < s->n_axes && !oom; a++)
                if (!is_seed_axis(s, a))
                    oom = !set_cell(&g, r, s->axes[a].name, s->axes[a].values[c[a]]);
            char text[64];
            const struct {
                const char *name;
                double v;
            } stat[] = {{"mean", mean}, {"std", sd}, {"min", lo}, {"max", hi}, {"count", k}};
            oom = oom || !set_cell(&g, r, "metric", runs->cols[col]);
            for (size_t q = 0; q < 5 && !oom; q++) {
                if (isnan(stat[q].v)) text[0] = '\0';
                else mg_shortest_number(stat[q].v, false, text, sizeof text);
                oom = !set_cell(&g, r, stat[q].name, text);
            }
        }
        free(member);
    }
    free(x);
    free(seen);
    mg_status st =
        oom ? mg_fail(MG_ERR_NOMEM, "out of memory writing %s", path) : write_table(&g, path);
    table_clear(&g);
    return st;
}

mg_status mg_sweep_collect(const mg_sweep *s, const char *dir) {
    table t = {0};
    int64_t n = mg_sweep_size(s);
    char name[1024], run[4096], path[4200];
    bool ok = true;
    int c[MG_SWEEP_MAX_AXES];
    /* the fixed columns first, so every row has them in the same place */
    ok = col_of(&t, "run", true) >= 0;
    for (int a = 0; a < s->n_axes && ok; a++) ok = col_of(&t, s->axes[a].name, true) >= 0;
    ok = ok && col_of(&t, "status", true) >= 0;
    for (int64_t i = 0; i < n && ok; i++) {
        mg_sweep_point_name(s, i, name, sizeof name);
        snprintf(run, sizeof run, "%s/%s", dir, name);
        mg_sweep_point_coords(s, i, c);
        ok = add_row(&t) && set_cell(&t, i, "run", name);
        for (int a = 0; a < s->n_axes && ok; a++)
            ok = set_cell(&t, i, s->axes[a].name, s->axes[a].values[c[a]]);
        ok = ok && set_cell(&t, i, "status", mg_point_state_name(mg_sweep_point_state(s, dir, i)));
        cJSON *cfg = ok ? mg_sweep_read_json(run, MG_RUN_CONFIG) : NULL;
        if (cfg) ok = flatten(&t, i, cfg, "config", 0);
        cJSON_Delete(cfg);
    }
    /* then the summaries' scalars, after every config column */
    int first_summary = t.n_cols;
    mg_status st = MG_OK;
    for (int64_t i = 0; i < n && ok && !st; i++) {
        mg_sweep_point_name(s, i, name, sizeof name);
        snprintf(run, sizeof run, "%s/%s", dir, name);
        cJSON *sum = mg_sweep_read_json(run, MG_RUN_SUMMARY);
        if (sum) ok = flatten(&t, i, sum, "", s->n_axes + 2);
        cJSON_Delete(sum);
        if (ok) st = flatten_sae(&t, i, run);
    }
    if (!ok) st = mg_fail(MG_ERR_NOMEM, "out of memory collecting %s", dir);
    if (!st) {
        snprintf(path, sizeof path, "%s/" MG_SWEEP_RUNS_CSV, dir);
        st = write_table(&t, path);
    }
    if (!st) {
        snprintf(path, sizeof path, "%s/" MG_SWEEP_GROUPS_CSV, dir);
        st = write_groups(s, &t, first_summary, path);
    }
    table_clear(&t);
    return st;
}

/* ---- reading a table back ---------------------------------------------------- */

/* The next cell of the CSV text at *p (RFC 4180); *end_of_row set at a line
 * end. Returns a malloc'ed string, NULL when out of memory. */
static char *next_cell(const char **p, bool *end_of_row) {
    buf b = {0};
    put(&b, "", 0);
    const char *c = *p;
    if (*c == '"') {
        for (c++; *c; c++) {
            if (*c == '"' && c[1] == '"') put(&b, c++, 1);
            else if (*c == '"') {
                c++;
                break;
            } else put(&b, c, 1);
        }
        while (*c && *c != ',' && *c != '\n') c++;
    } else {
        size_t len = strcspn(c, ",\n");
        put(&b, c, len);
        c += len;
    }
    if (b.n && b.s[b.n - 1] == '\r') b.s[--b.n] = '\0';
    *end_of_row = *c != ',';
    if (*c) c++;
    *p = c;
    if (b.oom) {
        free(b.s);
        return NULL;
    }
    return b.s;
}

mg_status mg_sweep_table_read(const char *path, mg_sweep_table *out) {
    memset(out, 0, sizeof *out);
    char *text;
    size_t n;
    mg_status st = mg_read_file(path, &text, &n);
    if (st) return st;
    if (strlen(text) != n) {
        mg_free(text);
        return mg_fail(MG_ERR_FORMAT, "%s holds a NUL byte: not a CSV table", path);
    }
    const char *p = text;
    bool eol = false, oom = false;
    int cap = 0;
    while (*p && !eol && !oom) {
        char *cell = next_cell(&p, &eol);
        if (out->n_cols == cap) {
            cap = cap ? 2 * cap : 32;
            char **cols = realloc(out->cols, (size_t)cap * sizeof *cols);
            if (!cols) {
                free(cell);
                oom = true;
                break;
            }
            out->cols = cols;
        }
        if (!cell) oom = true;
        else out->cols[out->n_cols++] = cell;
    }
    int64_t cap_rows = 0;
    while (*p && !oom) {
        if (out->n_rows == cap_rows) {
            cap_rows = cap_rows ? 2 * cap_rows : 64;
            char **cells = realloc(out->cells, (size_t)cap_rows * out->n_cols * sizeof *cells);
            if (!cells) {
                oom = true;
                break;
            }
            out->cells = cells;
        }
        char **row = out->cells + out->n_rows * out->n_cols;
        memset(row, 0, (size_t)out->n_cols * sizeof *row);
        int k = 0;
        for (eol = false; !eol && !oom;) {
            char *cell = next_cell(&p, &eol);
            if (!cell) oom = true;
            else if (k < out->n_cols) row[k++] = cell;
            else {
                free(cell);
                st = mg_fail(MG_ERR_FORMAT, "%s: row %lld has more cells than the header's %d",
                             path, (long long)out->n_rows + 1, out->n_cols);
            }
            if (!*p) break;
        }
        while (k < out->n_cols && !oom) {
            row[k] = strdup("");
            oom = !row[k++];
        }
        out->n_rows++;
        if (st) break;
    }
    mg_free(text);
    if (oom) st = mg_fail(MG_ERR_NOMEM, "out of memory reading %s", path);
    if (st) mg_sweep_table_free(out);
    return st;
}

void mg_sweep_table_free(mg_sweep_table *t) {
    for (int64_t i = 0; i < t->n_rows * t->n_cols; i++) free(t->cells[i]);
    for (int c = 0; c < t->n_cols; c++) free(t->cols[c]);
    free(t->cells);
    free(t->cols);
    memset(t, 0, sizeof *t);
}

int mg_sweep_table_col(const mg_sweep_table *t, const char *name) {
    for (int c = 0; c < t->n_cols; c++)
        if (!strcmp(t->cols[c], name)) return c;
    return -1;
}

const char *mg_sweep_table_cell(const mg_sweep_table *t, int64_t r, int c) {
    if (c < 0 || c >= t->n_cols || r < 0 || r >= t->n_rows) return "";
    return t->cells[r * t->n_cols + c];
}

bool mg_sweep_table_num(const mg_sweep_table *t, int64_t r, int c, double *v) {
    const char *s = mg_sweep_table_cell(t, r, c);
    char *end;
    if (!*s) return false;
    double x = strtod(s, &end);
    if (*end) return false;
    *v = x;
    return true;
}
