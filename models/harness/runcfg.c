/* runcfg.c — config.json of a run: written from the resolved settings and
 * read back to resume (cJSON; see run.h). */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/fsutil.h"
#include "core/gemm.h"
#include "core/hash.h"
#include "models/harness/modelfile.h"
#include "models/harness/run.h"

mg_status mg_run_write_config(const char *dir, const mg_train_cfg *c, const mg_run_opts *o,
                              const mg_trainer *t) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "modgrad_version", MG_VERSION);
    cJSON_AddStringToObject(root, "model", c->model->name);
    const mg_modelfile *mf = mg_modelfile_of(c->model); /* a --model-file variant */
    if (mf) {
        cJSON_AddStringToObject(root, MG_CONFIG_MODEL_FILE, mf->path);
        cJSON_AddStringToObject(root, MG_CONFIG_MODEL_FILE_HASH, mf->hash_hex);
    }
    cJSON *mo = cJSON_AddObjectToObject(root, "model_options");
    for (int i = 0; i < c->model->n_options; i++) {
        char buf[64];
        const mg_model_option *opt = &c->model->options[i];
        if (opt->type == MG_OPTION_CHOICE)
            cJSON_AddStringToObject(mo, opt->name,
                                    mg_model_option_str(c->model, i, c->opt[i], buf, sizeof buf));
        else cJSON_AddNumberToObject(mo, opt->name, c->opt[i]);
    }
    cJSON_AddStringToObject(root, "task", c->task.def->name);
    cJSON_AddNumberToObject(root, "p", c->task.p);
    cJSON_AddNumberToObject(root, "frac", c->task.frac);
    cJSON_AddNumberToObject(root, "seed", (double)c->task.seed);
    cJSON_AddNumberToObject(root, "steps", (double)c->steps);
    cJSON_AddNumberToObject(root, "batch", (double)c->batch);
    cJSON_AddStringToObject(root, "optimizer", mg_opt_kind_name(c->optim.kind));
    cJSON_AddNumberToObject(root, "lr", c->optim.lr);
    cJSON_AddNumberToObject(root, "wd", c->optim.weight_decay);
    cJSON_AddNumberToObject(root, "beta1", c->optim.beta1);
    cJSON_AddNumberToObject(root, "beta2", c->optim.beta2);
    cJSON_AddNumberToObject(root, "eps", c->optim.eps);
    cJSON_AddNumberToObject(root, "momentum", c->optim.momentum);
    cJSON_AddStringToObject(root, "lr_layers", c->lr_layers);
    cJSON_AddStringToObject(root, "wd_layers", c->wd_layers);
    cJSON_AddStringToObject(root, "no_rewrites", c->no_rewrites);
    cJSON_AddNumberToObject(root, "threads", mg_gemm_threads());
    cJSON_AddNumberToObject(root, "eval_every", (double)o->eval_every);
    cJSON_AddNumberToObject(root, "checkpoint_every", (double)o->checkpoint_every);
    cJSON_AddNumberToObject(root, "probe_every", (double)o->probe_every);
    cJSON_AddNumberToObject(root, "geometry_every", (double)o->geometry_every);
    cJSON_AddBoolToObject(root, "stop_at_grok", o->stop_at_grok);
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
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text) return mg_fail(MG_ERR_NOMEM, "out of memory writing config.json");
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", dir);
    mg_status st = mg_write_file_atomic(path, text, strlen(text));
    cJSON_free(text);
    return st;
}

static mg_status need(const cJSON *root, const char *key, int type, const char *path,
                      const cJSON **out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    bool ok = v && ((type == cJSON_Number && cJSON_IsNumber(v)) ||
                    (type == cJSON_String && cJSON_IsString(v)) ||
                    (type == cJSON_True && cJSON_IsBool(v)));
    if (!ok) return mg_fail(MG_ERR_FORMAT, "%s: missing or malformed \"%s\"", path, key);
    *out = v;
    return MG_OK;
}

#define NUM(key, dst)                                                                              \
    do {                                                                                           \
        if ((st = need(root, key, cJSON_Number, path, &v))) goto done;                             \
        dst = v->valuedouble;                                                                      \
    } while (0)
#define STR(key, dst)                                                                              \
    do {                                                                                           \
        if ((st = need(root, key, cJSON_String, path, &v))) goto done;                             \
        dst = v->valuestring;                                                                      \
    } while (0)

mg_status mg_run_read_config(const char *dir, mg_train_cfg *c, mg_run_opts *o,
                             char split_hash[17]) {
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", dir);
    char *text = NULL;
    size_t n = 0;
    if (access(path, F_OK) != 0)
        return mg_fail(MG_ERR_ARG, "%s is not a run directory: it has no config.json", dir);
    mg_status st = mg_read_file(path, &text, &n);
    if (st) return mg_fail(st, "cannot resume %s: %s", dir, mg_errmsg());
    cJSON *root = cJSON_ParseWithLength(text, n);
    mg_free(text);
    if (!root) return mg_fail(MG_ERR_FORMAT, "%s is not valid JSON", path);
    const cJSON *v = NULL;
    const char *s = NULL;
    double x = 0;
    STR("model", s);
    /* a run of a --model-file variant: load that file again, as it was */
    const cJSON *file = cJSON_GetObjectItemCaseSensitive(root, MG_CONFIG_MODEL_FILE);
    if (file) {
        const cJSON *hash = cJSON_GetObjectItemCaseSensitive(root, MG_CONFIG_MODEL_FILE_HASH);
        const mg_modelfile *mf = NULL;
        if (!cJSON_IsString(file) || !cJSON_IsString(hash))
            st = mg_fail(MG_ERR_FORMAT, "%s: malformed \"%s\" / \"%s\"", path, MG_CONFIG_MODEL_FILE,
                         MG_CONFIG_MODEL_FILE_HASH);
        else if ((st = mg_modelfile_load(file->valuestring, hash->valuestring, &mf)))
            st = mg_fail(st, "%s: %s", dir, mg_errmsg());
        if (st) goto done;
    }
    const mg_model_def *m = mg_model_find(s);
    if (!m) {
        st = mg_fail(MG_ERR_FORMAT, "%s: %s", path, mg_errmsg());
        goto done;
    }
    mg_train_defaults(c, m);
    const cJSON *mo = cJSON_GetObjectItemCaseSensitive(root, "model_options");
    for (int i = 0; i < m->n_options; i++) {
        const cJSON *ov = cJSON_GetObjectItemCaseSensitive(mo, m->options[i].name);
        /* numbers are checked as the CLI checks them, choices by name */
        char num[64];
        const char *text = cJSON_IsString(ov) ? ov->valuestring : NULL;
        if (cJSON_IsNumber(ov) && m->options[i].type != MG_OPTION_CHOICE) {
            snprintf(num, sizeof num, "%.17g", ov->valuedouble);
            text = num;
        }
        if (text && !mg_model_option_parse(m, i, text, &x)) c->opt[i] = x;
        else {
            st = mg_fail(MG_ERR_FORMAT, "%s: model option \"%s\" missing or malformed", path,
                         m->options[i].name);
            goto done;
        }
    }
    STR("task", s);
    if ((st = mg_task_choose(&c->task, s))) goto done;
    NUM("p", c->task.p);
    NUM("frac", c->task.frac);
    NUM("seed", x);
    c->task.seed = (uint64_t)x;
    NUM("steps", x);
    c->steps = (int64_t)x;
    NUM("batch", x);
    c->batch = (int64_t)x;
    STR("optimizer", s);
    if ((st = mg_opt_kind_parse(s, &c->optim.kind))) goto done;
    NUM("lr", c->optim.lr);
    NUM("wd", c->optim.weight_decay);
    NUM("beta1", c->optim.beta1);
    NUM("beta2", c->optim.beta2);
    NUM("eps", c->optim.eps);
    NUM("momentum", c->optim.momentum);
    STR("lr_layers", s);
    snprintf(c->lr_layers, sizeof c->lr_layers, "%s", s);
    STR("wd_layers", s);
    snprintf(c->wd_layers, sizeof c->wd_layers, "%s", s);
    /* keys added after the first release: optional, so older runs still load */
    v = cJSON_GetObjectItemCaseSensitive(root, "no_rewrites");
    if (cJSON_IsString(v)) snprintf(c->no_rewrites, sizeof c->no_rewrites, "%s", v->valuestring);
    NUM("threads", x);
    c->threads = (int)x;
    NUM("eval_every", x);
    o->eval_every = (int64_t)x;
    NUM("checkpoint_every", x);
    o->checkpoint_every = (int64_t)x;
    v = cJSON_GetObjectItemCaseSensitive(root, "probe_every");
    if (cJSON_IsNumber(v) && v->valuedouble >= 1) o->probe_every = (int64_t)v->valuedouble;
    v = cJSON_GetObjectItemCaseSensitive(root, "geometry_every");
    if (cJSON_IsNumber(v) && v->valuedouble >= 1) o->geometry_every = (int64_t)v->valuedouble;
    if ((st = need(root, "stop_at_grok", cJSON_True, path, &v))) goto done;
    o->stop_at_grok = cJSON_IsTrue(v);
    STR("split_hash", s);
    snprintf(split_hash, 17, "%s", s);
done:
    cJSON_Delete(root);
    return st;
}

int64_t mg_run_last_checkpoint(const char *dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/checkpoints", dir);
    DIR *d = opendir(path);
    if (!d) return -1;
    int64_t best = -1;
    for (struct dirent *e; (e = readdir(d));) {
        long long step;
        char tail[32];
        if (sscanf(e->d_name, "step_%lld.%31s", &step, tail) == 2 &&
            strcmp(tail, "safetensors") == 0 && step > best)
            best = step;
    }
    closedir(d);
    return best;
}
