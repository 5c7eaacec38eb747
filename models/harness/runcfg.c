/* runcfg.c — config.json of a run: written from the resolved settings and
 * read back to resume, both driven by the settings table (settings.h); the
 * reader checks every field before it converts it. Also the checkpoint list. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/blis_tune.h"
#include "core/fsutil.h"
#include "core/gemm.h"
#include "core/hash.h"
#include "models/harness/modelfile.h"
#include "models/harness/run.h"
#include "models/harness/rundir.h"
#include "models/harness/settings.h"

/* ---- the settings, from the table (settings.h) ----------------------------- */

static void add_options(cJSON *root, const char *key, const mg_model_option *opts, int n,
                        const double *v) {
    char buf[64];
    cJSON *o = cJSON_AddObjectToObject(root, key);
    for (int k = 0; k < n; k++)
        if (opts[k].type == MG_OPTION_CHOICE)
            cJSON_AddStringToObject(o, opts[k].name,
                                    mg_settings_option_str(&opts[k], v[k], buf, sizeof buf));
        else cJSON_AddNumberToObject(o, opts[k].name, v[k]);
}

/* Reads an options object back: numbers are checked as the CLI checks them
 * (through the option's own parser), choices by name. */
static mg_status read_options(const cJSON *root, const char *key, const char *path,
                              const mg_model_option *opts, const char *const *absent, int n,
                              const char *owner, double *v) {
    const cJSON *obj = cJSON_GetObjectItemCaseSensitive(root, key);
    for (int i = 0; i < n; i++) {
        const cJSON *ov = cJSON_GetObjectItemCaseSensitive(obj, opts[i].name);
        char num[64];
        const char *text = cJSON_IsString(ov) ? ov->valuestring : NULL;
        if (!ov && absent && absent[i]) text = absent[i]; /* written before the option existed */
        if (cJSON_IsNumber(ov) && opts[i].type != MG_OPTION_CHOICE) {
            snprintf(num, sizeof num, "%.17g", ov->valuedouble);
            text = num;
        }
        double x;
        if (!text || mg_option_parse(&opts[i], owner, text, &x))
            return mg_fail(MG_ERR_ARG, "%s: \"%s\" option \"%s\" missing or malformed%s%s", path,
                           key, opts[i].name, text ? ": " : "", text ? mg_errmsg() : "");
        v[i] = x;
    }
    return MG_OK;
}

mg_status mg_settings_to_json(const mg_settings *s, cJSON *root) {
    const mg_model_def *m = s->train.model;
    char buf[MG_SETTING_TEXT_MAX];
    for (int i = 0; i < mg_setting_count(); i++) {
        const mg_setting *r = mg_setting_at(i);
        if (!r->key) continue;
        if (r->type == MG_SETTING_INT || r->type == MG_SETTING_REAL) {
            double v = r->slot == MG_SLOT_F32 ? (double)*(const float *)((const char *)s + r->at)
                       : r->slot == MG_SLOT_F64
                           ? *(const double *)((const char *)s + r->at)
                           : strtod(mg_setting_str(s, r, buf, sizeof buf), NULL);
            cJSON_AddNumberToObject(root, r->key, v);
            if (r->layers_at) {
                char key[96];
                snprintf(key, sizeof key, "%s_layers", r->key);
                cJSON_AddStringToObject(root, key, (const char *)s + r->layers_at);
            }
        } else if (r->type == MG_SETTING_FLAG) {
            cJSON_AddBoolToObject(root, r->key,
                                  !strcmp(mg_setting_str(s, r, buf, sizeof buf), "true"));
        } else {
            cJSON_AddStringToObject(root, r->key, mg_setting_str(s, r, buf, sizeof buf));
        }
        const mg_modelfile *mf = r->slot == MG_SLOT_MODEL ? mg_modelfile_of(m) : NULL;
        if (mf) { /* a --model-file variant: its file and the hash of its bytes */
            cJSON_AddStringToObject(root, MG_CONFIG_MODEL_FILE, mf->path);
            cJSON_AddStringToObject(root, MG_CONFIG_MODEL_FILE_HASH, mf->hash_hex);
        }
        if (r->slot == MG_SLOT_MODEL) /* the model's own options, right after its name */
            add_options(root, "model_options", m->options, m->n_options, s->train.opt);
        if (r->slot == MG_SLOT_TASK && s->train.task.def && s->train.task.def->n_options)
            add_options(root, "task_options", s->train.task.def->options,
                        s->train.task.def->n_options, s->train.task.opt);
    }
    return MG_OK;
}

/* One field of config.json checked against its row and set: numbers are
 * checked as numbers (type, integrality, range) before any conversion. */
static mg_status read_field(const cJSON *v, const mg_setting *r, const char *key, const char *path,
                            mg_settings *s) {
    char label[4200], text[64];
    snprintf(label, sizeof label, "%s: \"%s\"", path, key);
    if (r->type == MG_SETTING_INT || r->type == MG_SETTING_REAL) {
        if (!cJSON_IsNumber(v)) return mg_fail(MG_ERR_ARG, "%s must be a number", label);
        mg_status st = mg_setting_check_number(r, v->valuedouble, label);
        if (st) return st;
        snprintf(text, sizeof text, "%.17g", v->valuedouble);
        return mg_setting_parse(s, r, text, label);
    }
    if (r->type == MG_SETTING_FLAG) {
        if (!cJSON_IsBool(v)) return mg_fail(MG_ERR_ARG, "%s must be true or false", label);
        return mg_setting_parse(s, r, cJSON_IsTrue(v) ? "true" : "false", label);
    }
    if (!cJSON_IsString(v)) return mg_fail(MG_ERR_ARG, "%s must be a string", label);
    if (r->type == MG_SETTING_LIST) {
        /* recorded whole: replace the default, then check the text fits */
        snprintf((char *)s + r->at, r->size, "%s", "");
        if (!*v->valuestring) return MG_OK;
    }
    return mg_setting_parse(s, r, v->valuestring, label);
}

mg_status mg_settings_from_json(const cJSON *root, const char *path, mg_settings *out) {
    mg_settings s;
    mg_status st = mg_settings_defaults(&s, NULL);
    if (st) return st;
    if (!cJSON_IsObject(root)) return mg_fail(MG_ERR_ARG, "%s is not a JSON object", path);
    /* a run of a --model-file variant: load that file again, as it was */
    const cJSON *file = cJSON_GetObjectItemCaseSensitive(root, MG_CONFIG_MODEL_FILE);
    if (file) {
        const cJSON *hash = cJSON_GetObjectItemCaseSensitive(root, MG_CONFIG_MODEL_FILE_HASH);
        const mg_modelfile *mf = NULL;
        if (!cJSON_IsString(file) || !cJSON_IsString(hash))
            return mg_fail(MG_ERR_FORMAT, "%s: malformed \"%s\" / \"%s\"", path,
                           MG_CONFIG_MODEL_FILE, MG_CONFIG_MODEL_FILE_HASH);
        if ((st = mg_modelfile_load(file->valuestring, hash->valuestring, &mf)))
            return mg_fail(st, "%s: %s", path, mg_errmsg());
    }
    /* the model first: it sets the defaults of the rest */
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < mg_setting_count(); i++) {
            const mg_setting *r = mg_setting_at(i);
            if (!r->key || (pass == 0) != ((r->flags & MG_SETTING_EARLY) != 0)) continue;
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, r->key);
            if (!v && (r->flags & MG_SETTING_OPTIONAL)) continue;
            if (!v) return mg_fail(MG_ERR_ARG, "%s: \"%s\" is missing", path, r->key);
            if ((st = read_field(v, r, r->key, path, &s))) return st;
            if (r->layers_at) {
                char key[96];
                snprintf(key, sizeof key, "%s_layers", r->key);
                const cJSON *l = cJSON_GetObjectItemCaseSensitive(root, key);
                if (!cJSON_IsString(l) || strlen(l->valuestring) >= sizeof s.train.lr_layers)
                    return mg_fail(MG_ERR_ARG,
                                   "%s: \"%s\" is missing or not a string of at "
                                   "most %zu characters",
                                   path, key, sizeof s.train.lr_layers - 1);
                snprintf((char *)&s + r->layers_at, sizeof s.train.lr_layers, "%s", l->valuestring);
            }
        }
    char owner[128];
    const mg_model_def *m = s.train.model;
    snprintf(owner, sizeof owner, "model %s", m->name);
    if ((st = read_options(root, "model_options", path, m->options, m->options_absent, m->n_options,
                           owner, s.train.opt)))
        return st;
    const mg_task_def *d = s.train.task.def;
    snprintf(owner, sizeof owner, "task %s", d->name);
    if ((st = read_options(root, "task_options", path, d->options, NULL, d->n_options, owner,
                           s.train.task.opt)))
        return st;
    /* each field was checked alone; what holds between them (task div needs
     * a prime p) is checked here, before anything trusts the file */
    if ((st = mg_train_validate_settings(&s.train)))
        return mg_fail(st, "%s: %s", path, mg_errmsg());
    memset(s.given, 0, sizeof s.given);
    memset(s.opt_given, 0, sizeof s.opt_given);
    memset(s.task_opt_given, 0, sizeof s.task_opt_given);
    *out = s;
    return MG_OK;
}

/* ---- config.json ---------------------------------------------------------- */

mg_status mg_run_write_config(const char *dir, const mg_train_cfg *c, const mg_run_opts *o,
                              const mg_trainer *t) {
    mg_settings s;
    memset(&s, 0, sizeof s);
    s.train = *c;
    s.run = *o;
    s.train.threads = mg_gemm_threads(); /* the number used, not 0 for "all" */
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "modgrad_version", MG_VERSION);
    mg_settings_to_json(&s, root);
    const mg_task *d = mg_trainer_task(t);
    char hex[17];
    mg_hash_hex(d->hash, hex);
    cJSON_AddStringToObject(root, "split_hash", hex);
    cJSON_AddNumberToObject(root, "n_train", (double)d->train.n);
    cJSON_AddNumberToObject(root, "n_test", (double)d->test.n);
    cJSON_AddNumberToObject(root, "n_params",
                            (double)mg_params_total(mg_trainer_params((mg_trainer *)t)));
    cJSON_AddStringToObject(root, "blis_arch", mg_blis_arch());
    cJSON_AddStringToObject(root, "blis_choice", mg_blis_reason());
    cJSON_AddStringToObject(root, "blis_source", mg_blis_source_name(mg_blis_source_of()));
    /* the rate of these kernels in the measurement this process decided by
     * (or read from the cache), per core over the tuning shapes */
    double rate = mg_blis_tune_rate(mg_blis_arch());
    if (rate > 0) cJSON_AddNumberToObject(root, "blis_gflops", rate);
    else cJSON_AddNullToObject(root, "blis_gflops");
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text) return mg_fail(MG_ERR_NOMEM, "out of memory writing " MG_RUN_CONFIG);
    char path[4096];
    snprintf(path, sizeof path, "%s/" MG_RUN_CONFIG, dir);
    mg_status st = mg_write_file_atomic(path, text, strlen(text));
    cJSON_free(text);
    return st;
}

mg_status mg_run_check_dir(const char *dir) {
    char path[4096];
    if (!dir || !mg_path_exists(dir))
        return mg_fail(MG_ERR_ARG, "%s: no such run directory", dir ? dir : "");
    snprintf(path, sizeof path, "%s/" MG_RUN_CONFIG, dir);
    if (access(path, F_OK) != 0)
        return mg_fail(MG_ERR_ARG, "%s is not a run directory: it has no " MG_RUN_CONFIG, dir);
    return MG_OK;
}

mg_status mg_run_read_settings(const char *dir, mg_settings *s, char split_hash[17]) {
    char path[4096];
    snprintf(path, sizeof path, "%s/" MG_RUN_CONFIG, dir);
    cJSON *root = NULL;
    mg_status st = mg_run_check_dir(dir);
    if (st) return st;
    if ((st = mg_read_json(path, &root)))
        return st == MG_ERR_FORMAT ? st
                                   : mg_fail(st, "cannot read the run %s: %s", dir, mg_errmsg());
    st = mg_settings_from_json(root, path, s);
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(root, "split_hash");
    if (!st && (!cJSON_IsString(h) || strlen(h->valuestring) != 16))
        st = mg_fail(MG_ERR_ARG, "%s: \"split_hash\" is missing or not 16 hex digits", path);
    if (!st) snprintf(split_hash, 17, "%s", h->valuestring);
    cJSON_Delete(root);
    return st;
}

mg_status mg_run_pin_blis(const char *dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/" MG_RUN_CONFIG, dir);
    cJSON *root = NULL;
    mg_status st = mg_read_json(path, &root);
    if (st)
        return st == MG_ERR_FORMAT ? st
                                   : mg_fail(st, "cannot read the run %s: %s", dir, mg_errmsg());
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(root, "blis_arch");
    st = cJSON_IsString(a) ? mg_blis_pin(a->valuestring) : MG_OK;
    if (st) st = mg_fail(st, "%s: %s", dir, mg_errmsg());
    cJSON_Delete(root);
    return st;
}

mg_status mg_run_read_config(const char *dir, mg_train_cfg *c, mg_run_opts *o,
                             char split_hash[17]) {
    mg_settings s;
    mg_status st = mg_run_read_settings(dir, &s, split_hash);
    if (st) return st;
    *c = s.train;
    *o = s.run;
    return MG_OK;
}

int64_t mg_run_last_checkpoint(const char *dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/" MG_RUN_CHECKPOINTS, dir);
    int64_t *steps = NULL, last = -1;
    int n = 0;
    if (!mg_list_steps(path, ".safetensors", &steps, &n) && n) last = steps[n - 1];
    mg_free(steps);
    return last;
}
