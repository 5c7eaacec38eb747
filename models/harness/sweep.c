/* sweep.c — a sweep's grid: the spec and command-line axes, its points, their
 * names and settings, and DIR/sweep.json (sweep.h). Running the points is in
 * sweep_run.c, the pool in sweep_pool.c, SLURM in sweep_slurm.c, the tables
 * in sweep_collect.c. */
#include "models/harness/sweep.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/fsutil.h"
#include "core/text.h"

void mg_sweep_init(mg_sweep *s) { memset(s, 0, sizeof *s); }

void mg_sweep_free(mg_sweep *s) {
    for (int a = 0; a < s->n_axes; a++) free(s->axes[a].values);
    mg_sweep_init(s);
}

/* The settings the sweep decides itself, per point or per process. */
static const char *const sweep_owned[] = {"out",     "resume",  "force",
                                          "threads", "explain", "verbose"};

/* A spec key as a flag name: "eval_every" (config.json's spelling) is
 * accepted for "eval-every". */
static void flag_name(const char *key, char *buf, size_t n) {
    snprintf(buf, n, "%s", key);
    const mg_setting *r = mg_setting_find(buf);
    if (!r && (r = mg_setting_find_key(key))) snprintf(buf, n, "%s", r->name);
}

static mg_status check_name(const char *name, const char *where) {
    if (!*name || strlen(name) >= 64)
        return mg_fail(MG_ERR_ARG, "sweep: %s: '%s' is not a setting's name", where, name);
    for (size_t i = 0; i < sizeof sweep_owned / sizeof *sweep_owned; i++)
        if (!strcmp(name, sweep_owned[i]))
            return mg_fail(MG_ERR_ARG,
                           "sweep: %s: '%s' is set by the sweep itself, not the spec (%s)", where,
                           name,
                           !strcmp(name, "threads") ? "give modgrad sweep --threads T"
                           : !strcmp(name, "out")   ? "give modgrad sweep --out DIR"
                                                    : "each point has its own run directory");
    const mg_setting *r = mg_setting_find(name);
    if (r && (r->flags & MG_SETTING_COMMAND) && strcmp(name, "model-file"))
        return mg_fail(MG_ERR_ARG, "sweep: %s: '%s' is a command, not a training setting", where,
                       name);
    /* a model's or task's option is checked per point, once the model is known */
    return MG_OK;
}

mg_status mg_sweep_set_fixed(mg_sweep *s, const char *key, const char *value) {
    char name[64];
    flag_name(key, name, sizeof name);
    mg_status st = check_name(name, "setting");
    if (st) return st;
    if (value && strlen(value) >= MG_SWEEP_VALUE_MAX)
        return mg_fail(MG_ERR_ARG, "sweep: setting %s: value longer than %d characters", name,
                       MG_SWEEP_VALUE_MAX - 1);
    int k = 0;
    while (k < s->n_fixed && strcmp(s->fixed_name[k], name)) k++;
    if (k == s->n_fixed) {
        if (s->n_fixed == MG_SWEEP_MAX_FIXED)
            return mg_fail(MG_ERR_ARG, "sweep: more than %d fixed settings", MG_SWEEP_MAX_FIXED);
        s->n_fixed++;
    }
    snprintf(s->fixed_name[k], sizeof s->fixed_name[k], "%s", name);
    snprintf(s->fixed_value[k], sizeof s->fixed_value[k], "%s", value ? value : "");
    return MG_OK;
}

/* An axis named name with n values (filled by the caller), replacing one of
 * that name. */
static mg_status new_axis(mg_sweep *s, const char *key, int n, mg_sweep_axis **out) {
    char name[64];
    flag_name(key, name, sizeof name);
    mg_status st = check_name(name, "axis");
    if (st) return st;
    if (n <= 0)
        return mg_fail(MG_ERR_ARG, "sweep: axis %s is empty: give it one value or more", name);
    int a = 0;
    while (a < s->n_axes && strcmp(s->axes[a].name, name)) a++;
    if (a == MG_SWEEP_MAX_AXES)
        return mg_fail(MG_ERR_ARG, "sweep: more than %d axes", MG_SWEEP_MAX_AXES);
    char(*values)[MG_SWEEP_VALUE_MAX] = calloc((size_t)n, sizeof *values);
    if (!values) return mg_fail(MG_ERR_NOMEM, "sweep: out of memory for axis %s", name);
    if (a == s->n_axes) s->n_axes++;
    mg_sweep_axis *x = &s->axes[a];
    free(x->values);
    x->values = values;
    snprintf(x->name, sizeof x->name, "%s", name);
    x->n = n;
    *out = x;
    return MG_OK;
}

/* The shortest text that reads back as v. */

static mg_status json_value_text(const cJSON *v, const char *where, char *buf, size_t n) {
    if (cJSON_IsNumber(v)) {
        if (!isfinite(v->valuedouble))
            return mg_fail(MG_ERR_ARG, "sweep: %s: not a finite number", where);
        mg_shortest_number(v->valuedouble, false, buf, n);
    } else if (cJSON_IsString(v)) {
        if (strlen(v->valuestring) >= n)
            return mg_fail(MG_ERR_ARG, "sweep: %s: value longer than %zu characters", where, n - 1);
        snprintf(buf, n, "%s", v->valuestring);
    } else if (cJSON_IsBool(v)) {
        snprintf(buf, n, "%s", cJSON_IsTrue(v) ? "true" : "false");
    } else {
        return mg_fail(MG_ERR_ARG, "sweep: %s: expected a number, a string or true/false", where);
    }
    return MG_OK;
}

/* Whether v is a number (all of it), and which. */
static bool as_number(const char *v, double *out) {
    char *end;
    *out = strtod(v, &end);
    return end != v && !*end;
}

/* Two values that are the same number ("0.1" and "1e-1", "0" and "00") run
 * the same thing under two names: refused like the same text twice. */
static mg_status check_distinct(const mg_sweep_axis *x) {
    for (int i = 0; i < x->n; i++)
        for (int j = 0; j < i; j++) {
            double a, b;
            bool same = !strcmp(x->values[i], x->values[j]) ||
                        (as_number(x->values[i], &a) && as_number(x->values[j], &b) && a == b);
            if (same && !strcmp(x->values[i], x->values[j]))
                return mg_fail(MG_ERR_ARG, "sweep: axis %s lists %s twice", x->name, x->values[i]);
            if (same)
                return mg_fail(MG_ERR_ARG,
                               "sweep: axis %s lists the same value twice, as %s and %s", x->name,
                               x->values[j], x->values[i]);
        }
    return MG_OK;
}

static mg_status log_axis(mg_sweep *s, const char *name, double lo, double hi, long long n) {
    if (!(lo > 0) || !(hi > lo) || !isfinite(hi))
        return mg_fail(MG_ERR_ARG,
                       "sweep: axis %s: a log range needs 0 < lo < hi, got lo %g and hi %g", name,
                       lo, hi);
    if (n < 2 || n > 100000)
        return mg_fail(MG_ERR_ARG, "sweep: axis %s: a log range needs n from 2 to 100000, got %lld",
                       name, n);
    mg_sweep_axis *x;
    mg_status st = new_axis(s, name, (int)n, &x);
    if (st) return st;
    /* four significant digits: the value applied is the one in the name */
    for (int i = 0; i < n; i++) {
        double v = i == n - 1 ? hi : lo * pow(hi / lo, (double)i / (double)(n - 1));
        snprintf(x->values[i], MG_SWEEP_VALUE_MAX, "%.4g", v);
    }
    return check_distinct(x);
}

static mg_status parse_axis(mg_sweep *s, const cJSON *ax, const char *path) {
    char where[160];
    snprintf(where, sizeof where, "%s: grid axis %s", path, ax->string);
    if (cJSON_IsArray(ax)) {
        int n = cJSON_GetArraySize(ax);
        mg_sweep_axis *x;
        mg_status st = new_axis(s, ax->string, n, &x);
        if (st) return st;
        int i = 0;
        for (const cJSON *v = ax->child; v; v = v->next, i++)
            if ((st = json_value_text(v, where, x->values[i], MG_SWEEP_VALUE_MAX))) return st;
        return check_distinct(x);
    }
    if (cJSON_IsObject(ax)) {
        const cJSON *lg = cJSON_GetObjectItemCaseSensitive(ax, "log");
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(ax, "n");
        if (cJSON_GetArraySize(ax) == 2 && cJSON_IsArray(lg) && cJSON_GetArraySize(lg) == 2 &&
            cJSON_IsNumber(lg->child) && cJSON_IsNumber(lg->child->next) && cJSON_IsNumber(n) &&
            n->valuedouble == floor(n->valuedouble))
            return log_axis(s, ax->string, lg->child->valuedouble, lg->child->next->valuedouble,
                            n->valuedouble > 1e9 ? 1000000000LL : (long long)n->valuedouble);
    }
    return mg_fail(MG_ERR_ARG,
                   "%s: expected a list of values or a log range {\"log\": [lo, hi], \"n\": N}",
                   where);
}

mg_status mg_sweep_parse_spec(mg_sweep *s, const char *text, const char *path) {
    cJSON *root = cJSON_Parse(text);
    if (!root) return mg_fail(MG_ERR_ARG, "sweep: %s is not valid JSON", path);
    mg_status st = MG_OK;
    if (!cJSON_IsObject(root)) st = mg_fail(MG_ERR_ARG, "sweep: %s is not a JSON object", path);
    for (const cJSON *v = st ? NULL : root->child; v && !st; v = v->next) {
        if (!strcmp(v->string, "grid")) {
            if (!cJSON_IsObject(v)) {
                st = mg_fail(MG_ERR_ARG, "sweep: %s: \"grid\" must be an object of axes", path);
                break;
            }
            for (const cJSON *ax = v->child; ax && !st; ax = ax->next) st = parse_axis(s, ax, path);
            continue;
        }
        char where[160], value[MG_SWEEP_VALUE_MAX];
        snprintf(where, sizeof where, "%s: \"%s\"", path, v->string);
        if (cJSON_IsArray(v) || cJSON_IsObject(v)) {
            st = mg_fail(MG_ERR_ARG,
                         "sweep: %s: a fixed setting takes one value; put a list under \"grid\"",
                         where);
            break;
        }
        if (!(st = json_value_text(v, where, value, sizeof value)))
            st = mg_sweep_set_fixed(s, v->string, value);
    }
    cJSON_Delete(root);
    return st;
}

mg_status mg_sweep_add_grid_arg(mg_sweep *s, const char *arg) {
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || !eq[1])
        return mg_fail(MG_ERR_ARG,
                       "sweep: --grid %s: expected NAME=V1,V2,..., NAME=A:B or NAME=log:LO:HI:N",
                       arg);
    char name[64];
    snprintf(name, sizeof name, "%.*s", (int)(eq - arg < 63 ? eq - arg : 63), arg);
    const char *v = eq + 1;
    char *end;
    if (!strncmp(v, "log:", 4)) {
        double lo = strtod(v + 4, &end);
        double hi = *end == ':' ? strtod(end + 1, &end) : NAN;
        const char *n0 = *end == ':' ? end + 1 : NULL; /* N must be given */
        long long n = n0 ? strtoll(n0, &end, 10) : 0;
        if (!n0 || end == n0 || *end || isnan(hi))
            return mg_fail(MG_ERR_ARG, "sweep: --grid %s: expected NAME=log:LO:HI:N", arg);
        return log_axis(s, name, lo, hi, n);
    }
    long long a = strtoll(v, &end, 10);
    if (end != v && *end == ':') {
        const char *b0 = end + 1;
        long long b = strtoll(b0, &end, 10);
        if (end == b0 || *end || b <= a || b - a > 100000)
            return mg_fail(MG_ERR_ARG,
                           "sweep: --grid %s: a range A:B gives A, A+1, ..., B-1 and needs A < B",
                           arg);
        mg_sweep_axis *x;
        mg_status st = new_axis(s, name, (int)(b - a), &x);
        if (st) return st;
        for (long long i = a; i < b; i++) snprintf(x->values[i - a], MG_SWEEP_VALUE_MAX, "%lld", i);
        return MG_OK;
    }
    int n = 1;
    for (const char *c = v; *c; c++) n += *c == ',';
    mg_sweep_axis *x;
    mg_status st = new_axis(s, name, n, &x);
    if (st) return st;
    for (int i = 0; i < n; i++) {
        size_t len = strcspn(v, ",");
        if (!len || len >= MG_SWEEP_VALUE_MAX)
            return mg_fail(MG_ERR_ARG, "sweep: --grid %s: value %d is empty or too long", arg,
                           i + 1);
        snprintf(x->values[i], MG_SWEEP_VALUE_MAX, "%.*s", (int)len, v);
        v += len + (v[len] == ',');
    }
    return check_distinct(x);
}

int64_t mg_sweep_size(const mg_sweep *s) {
    int64_t n = 1;
    for (int a = 0; a < s->n_axes; a++) n = n > INT64_MAX / 1024 ? INT64_MAX : n * s->axes[a].n;
    return n;
}

void mg_sweep_point_coords(const mg_sweep *s, int64_t i, int coords[MG_SWEEP_MAX_AXES]) {
    for (int a = s->n_axes - 1; a >= 0; a--) {
        coords[a] = (int)(i % s->axes[a].n);
        i /= s->axes[a].n;
    }
}

/* A value as it appears in a directory name: a model file by its base name
 * without ".c"; characters other than [A-Za-z0-9._+-] become '_'. */
static void value_label(const char *axis, const char *v, char *buf, size_t n) {
    if (!strcmp(axis, "model-file")) {
        const char *base = strrchr(v, '/');
        snprintf(buf, n, "%s", base ? base + 1 : v);
        size_t len = strlen(buf);
        if (len > 2 && !strcmp(buf + len - 2, ".c")) buf[len - 2] = '\0';
    } else {
        snprintf(buf, n, "%s", v);
    }
    for (char *p = buf; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-", *p))
            *p = '_';
}

void mg_sweep_point_name(const mg_sweep *s, int64_t i, char *buf, size_t n) {
    int c[MG_SWEEP_MAX_AXES];
    mg_sweep_point_coords(s, i, c);
    size_t k = 0;
    snprintf(buf, n, "%s", s->n_axes ? "" : "run");
    for (int a = 0; a < s->n_axes && k + 1 < n; a++) {
        char val[MG_SWEEP_VALUE_MAX];
        value_label(s->axes[a].name, s->axes[a].values[c[a]], val, sizeof val);
        int w = snprintf(buf + k, n - k, "%s%s=%s", a ? "," : "", s->axes[a].name, val);
        k += w > 0 ? (size_t)w : 0;
    }
}

/* The order settings are applied in: the model resets everything, the task
 * its options, the optimizer its rates. */
static int rank_of(const char *name) {
    if (!strcmp(name, "model-file") || !strcmp(name, "model")) return 0;
    if (!strcmp(name, "task")) return 1;
    if (!strcmp(name, "optimizer")) return 2;
    return 3;
}

static mg_status apply(mg_settings *out, const char *name, const char *value, const char *model,
                       const char *what) {
    const mg_setting *r = mg_setting_find(name);
    mg_status st;
    if (!strcmp(name, "model-file")) {
        st = mg_settings_set_model_file(out, value, model);
    } else if (r && r->type == MG_SETTING_FLAG) {
        if (strcmp(value, "true") && strcmp(value, "false") && *value)
            return mg_fail(MG_ERR_ARG, "sweep: %s %s: --%s is a flag: give true or false", what,
                           value, name);
        st = strcmp(value, "false") ? mg_settings_set(out, name, NULL) : MG_OK;
    } else {
        st = mg_settings_set(out, name, value);
    }
    if (st) return mg_fail(st, "sweep: %s %s = %s: %s", what, name, value, mg_errmsg());
    return MG_OK;
}

mg_status mg_sweep_point_settings(const mg_sweep *s, int64_t i, mg_settings *out) {
    int c[MG_SWEEP_MAX_AXES];
    mg_sweep_point_coords(s, i, c);
    mg_status st = mg_settings_defaults(out, NULL);
    if (st) return st;
    /* with a model file, "model" names the model in it */
    const char *file = NULL, *model = NULL;
    for (int k = 0; k < s->n_fixed; k++) {
        if (!strcmp(s->fixed_name[k], "model-file")) file = s->fixed_value[k];
        if (!strcmp(s->fixed_name[k], "model")) model = s->fixed_value[k];
    }
    for (int a = 0; a < s->n_axes; a++) {
        if (!strcmp(s->axes[a].name, "model-file")) file = s->axes[a].values[c[a]];
        if (!strcmp(s->axes[a].name, "model")) model = s->axes[a].values[c[a]];
    }
    for (int rank = 0; rank < 4; rank++) {
        for (int k = 0; k < s->n_fixed && !st; k++) {
            const char *name = s->fixed_name[k];
            if (rank_of(name) != rank || (file && !strcmp(name, "model"))) continue;
            st = apply(out, name, s->fixed_value[k], model, "setting");
        }
        for (int a = 0; a < s->n_axes && !st; a++) {
            const char *name = s->axes[a].name;
            if (rank_of(name) != rank || (file && !strcmp(name, "model"))) continue;
            st = apply(out, name, s->axes[a].values[c[a]], model, "axis");
        }
        if (st) return st;
    }
    return MG_OK;
}

mg_status mg_sweep_validate(const mg_sweep *s) {
    int64_t n = mg_sweep_size(s);
    char name[1024], other[1024];
    for (int64_t i = 0; i < n; i++) {
        mg_settings set;
        mg_status st = mg_sweep_point_settings(s, i, &set);
        if (!st && (st = mg_train_validate_settings(&set.train)))
            st = mg_fail(st, "sweep: %s", mg_errmsg());
        if (!st && (st = mg_settings_check(&set))) st = mg_fail(st, "sweep: %s", mg_errmsg());
        if (st) {
            mg_sweep_point_name(s, i, name, sizeof name);
            return mg_fail(st, "%s (point %s)", mg_errmsg(), name);
        }
    }
    /* values that differ only in characters a name cannot hold (two model
     * files of the same base name) would share a directory */
    for (int a = 0; a < s->n_axes; a++)
        for (int j = 0; j < s->axes[a].n; j++)
            for (int k = 0; k < j; k++) {
                value_label(s->axes[a].name, s->axes[a].values[j], name, sizeof name);
                value_label(s->axes[a].name, s->axes[a].values[k], other, sizeof other);
                if (!strcmp(name, other))
                    return mg_fail(MG_ERR_ARG,
                                   "sweep: axis %s: %s and %s would share the run directory "
                                   "name %s=%s; give values that differ there",
                                   s->axes[a].name, s->axes[a].values[j], s->axes[a].values[k],
                                   s->axes[a].name, name);
            }
    return MG_OK;
}

/* ---- sweep.json ---------------------------------------------------------- */

static cJSON *grid_json(const mg_sweep *s) {
    cJSON *root = cJSON_CreateObject();
    cJSON *fixed = cJSON_AddObjectToObject(root, "fixed");
    for (int k = 0; k < s->n_fixed; k++)
        cJSON_AddStringToObject(fixed, s->fixed_name[k], s->fixed_value[k]);
    cJSON *grid = cJSON_AddArrayToObject(root, "grid");
    for (int a = 0; a < s->n_axes; a++) {
        cJSON *ax = cJSON_CreateObject();
        cJSON_AddStringToObject(ax, "axis", s->axes[a].name);
        cJSON *vals = cJSON_AddArrayToObject(ax, "values");
        for (int i = 0; i < s->axes[a].n; i++)
            cJSON_AddItemToArray(vals, cJSON_CreateString(s->axes[a].values[i]));
        cJSON_AddItemToArray(grid, ax);
    }
    return root;
}

static mg_status from_json(mg_sweep *s, const cJSON *root, const char *path) {
    const cJSON *fixed = cJSON_GetObjectItemCaseSensitive(root, "fixed");
    const cJSON *grid = cJSON_GetObjectItemCaseSensitive(root, "grid");
    if (!cJSON_IsObject(fixed) || !cJSON_IsArray(grid))
        return mg_fail(MG_ERR_FORMAT, "%s: \"fixed\" or \"grid\" is missing or malformed", path);
    mg_status st = MG_OK;
    for (const cJSON *v = fixed->child; v && !st; v = v->next)
        st = cJSON_IsString(v)
                 ? mg_sweep_set_fixed(s, v->string, v->valuestring)
                 : mg_fail(MG_ERR_FORMAT, "%s: fixed %s is not a string", path, v->string);
    for (const cJSON *ax = grid->child; ax && !st; ax = ax->next) {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(ax, "axis");
        const cJSON *vals = cJSON_GetObjectItemCaseSensitive(ax, "values");
        if (!cJSON_IsString(name) || !cJSON_IsArray(vals)) {
            st = mg_fail(MG_ERR_FORMAT, "%s: a grid axis lacks \"axis\" or \"values\"", path);
            break;
        }
        mg_sweep_axis *x;
        if ((st = new_axis(s, name->valuestring, cJSON_GetArraySize(vals), &x))) break;
        int i = 0;
        for (const cJSON *v = vals->child; v && !st; v = v->next, i++) {
            if (!cJSON_IsString(v) || strlen(v->valuestring) >= MG_SWEEP_VALUE_MAX)
                st = mg_fail(MG_ERR_FORMAT, "%s: axis %s: a value is not a string", path, x->name);
            else snprintf(x->values[i], MG_SWEEP_VALUE_MAX, "%s", v->valuestring);
        }
    }
    if (st && st != MG_ERR_NOMEM) st = mg_fail(MG_ERR_FORMAT, "%s", mg_errmsg());
    return st;
}

mg_status mg_sweep_load(mg_sweep *s, const char *dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/" MG_SWEEP_FILE, dir);
    if (!mg_path_exists(path))
        return mg_fail(MG_ERR_ARG,
                       "%s holds no sweep (no %s); start one with modgrad sweep SPEC "
                       "--out %s",
                       dir, MG_SWEEP_FILE, dir);
    char *text;
    size_t n;
    mg_status st = mg_read_file(path, &text, &n);
    if (st) return st;
    cJSON *root = cJSON_Parse(text);
    mg_free(text);
    if (!root) return mg_fail(MG_ERR_FORMAT, "%s is not valid JSON", path);
    mg_sweep_init(s);
    st = from_json(s, root, path);
    cJSON_Delete(root);
    if (st) mg_sweep_free(s);
    return st;
}

/* What differs between two grids, for the message; "" when they are equal. */
static void difference(const mg_sweep *a, const mg_sweep *b, char *buf, size_t n) {
    buf[0] = '\0';
    for (int k = 0; k < a->n_fixed || k < b->n_fixed; k++) {
        if (k < a->n_fixed && k < b->n_fixed && !strcmp(a->fixed_name[k], b->fixed_name[k]) &&
            !strcmp(a->fixed_value[k], b->fixed_value[k]))
            continue;
        snprintf(buf, n, "its fixed setting %s differs",
                 k < b->n_fixed ? b->fixed_name[k] : a->fixed_name[k]);
        return;
    }
    for (int x = 0; x < a->n_axes || x < b->n_axes; x++) {
        if (x >= a->n_axes || x >= b->n_axes || strcmp(a->axes[x].name, b->axes[x].name)) {
            snprintf(buf, n, "its axes differ (%s)",
                     x < b->n_axes ? b->axes[x].name : a->axes[x].name);
            return;
        }
        bool same = a->axes[x].n == b->axes[x].n;
        for (int i = 0; same && i < a->axes[x].n; i++)
            same = !strcmp(a->axes[x].values[i], b->axes[x].values[i]);
        if (!same) {
            snprintf(buf, n, "axis %s has other values", a->axes[x].name);
            return;
        }
    }
}

mg_status mg_sweep_save(const mg_sweep *s, const char *dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/" MG_SWEEP_FILE, dir);
    if (mg_path_exists(path)) {
        mg_sweep old;
        mg_status st = mg_sweep_load(&old, dir);
        if (st) return st;
        char why[256];
        difference(&old, s, why, sizeof why);
        mg_sweep_free(&old);
        if (why[0])
            return mg_fail(MG_ERR_ARG,
                           "%s holds another sweep (%s); give another --out, or rerun that "
                           "sweep with modgrad sweep --out %s alone",
                           dir, why, dir);
        return MG_OK;
    }
    mg_status st = mg_mkdir_p(dir);
    if (st) return st;
    cJSON *root = grid_json(s);
    cJSON_AddStringToObject(root, "modgrad_version", MG_VERSION);
    int64_t n = mg_sweep_size(s);
    cJSON_AddNumberToObject(root, "n_points", (double)n);
    cJSON *pts = cJSON_AddArrayToObject(root, "points");
    char name[1024];
    for (int64_t i = 0; i < n; i++) {
        mg_sweep_point_name(s, i, name, sizeof name);
        cJSON_AddItemToArray(pts, cJSON_CreateString(name));
    }
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text) return mg_fail(MG_ERR_NOMEM, "out of memory writing %s", path);
    st = mg_write_file_atomic(path, text, strlen(text));
    cJSON_free(text);
    return st;
}
