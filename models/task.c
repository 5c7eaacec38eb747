/* task.c — the task registry and what every task shares: choosing one by
 * name, its options, opening it (checks of its shape and rows, the default
 * hash), the checked fresh batch, and rows. The interface is in task.h;
 * the modular family lives in modular.c. */
/* For the XXH3_state_t definition, so the hash state lives on the stack. */
#define XXH_STATIC_LINKING_ONLY
#include "models/task.h"

#include <stdio.h>
#include <string.h>
#include <xxhash.h>

#include "core/alloc.h"
#include "core/text.h"

#define MG_MAX_TASKS 64

static const mg_task_def *tasks[MG_MAX_TASKS];
static int n_tasks;

mg_status mg_task_register(const mg_task_def *d) {
    if (!d) return mg_fail(MG_ERR_ARG, "mg_task_register: task is NULL");
    if (!d->name || !*d->name) return mg_fail(MG_ERR_ARG, "mg_task_register: the task has no name");
    if (!d->open)
        return mg_fail(MG_ERR_ARG, "mg_task_register: task '%s' has no open function", d->name);
    if (d->n_options < 0 || d->n_options > MG_TASK_MAX_OPTIONS || (d->n_options && !d->options))
        return mg_fail(MG_ERR_ARG, "mg_task_register: task '%s' declares %d options (0 to %d)",
                       d->name, d->n_options, MG_TASK_MAX_OPTIONS);
    for (int i = 0; i < n_tasks; i++) {
        if (tasks[i] == d) return MG_OK;
        if (strcmp(tasks[i]->name, d->name) == 0)
            return mg_fail(MG_ERR_ARG, "mg_task_register: a task named '%s' is already registered",
                           d->name);
    }
    if (n_tasks == MG_MAX_TASKS)
        return mg_fail(MG_ERR_ARG, "mg_task_register: the registry is full (%d tasks)",
                       MG_MAX_TASKS);
    /* Kept in name order, so listings do not depend on the link order. */
    int at = n_tasks++;
    while (at > 0 && strcmp(tasks[at - 1]->name, d->name) > 0) tasks[at] = tasks[at - 1], at--;
    tasks[at] = d;
    return MG_OK;
}

int mg_task_count(void) { return n_tasks; }
const mg_task_def *mg_task_at(int i) { return i >= 0 && i < n_tasks ? tasks[i] : NULL; }

const mg_task_def *mg_task_find(const char *name) {
    char known[512] = "";
    for (int i = 0; i < n_tasks; i++) {
        if (name && strcmp(tasks[i]->name, name) == 0) return tasks[i];
        mg_list_add(known, sizeof known, tasks[i]->name);
    }
    if (!name) mg_fail(MG_ERR_ARG, "--task is missing; allowed: %s", known);
    else mg_fail(MG_ERR_ARG, "unknown --task '%s'; allowed: %s", name, known);
    return NULL;
}

mg_status mg_task_choose(mg_task_cfg *c, const char *name) {
    const mg_task_def *d = mg_task_find(name);
    if (!d) return MG_ERR_ARG;
    c->def = d;
    memset(c->opt, 0, sizeof c->opt);
    for (int i = 0; i < d->n_options; i++) c->opt[i] = d->options[i].def;
    return MG_OK;
}

int mg_task_option_index(const mg_task_def *d, const char *name) {
    for (int i = 0; d && name && i < d->n_options; i++)
        if (strcmp(d->options[i].name, name) == 0) return i;
    return -1;
}

mg_status mg_task_option_parse(const mg_task_def *d, int i, const char *value, double *out) {
    char owner[128];
    snprintf(owner, sizeof owner, "task %s", d->name);
    return mg_option_parse(&d->options[i], owner, value, out);
}

mg_status mg_task_validate(const mg_task_cfg *cfg) {
    if (!cfg) return mg_fail(MG_ERR_ARG, "mg_task_validate: cfg is NULL");
    if (!cfg->def) {
        (void)mg_task_find(NULL); /* the message listing the tasks */
        return MG_ERR_ARG;
    }
    return cfg->def->validate ? cfg->def->validate(cfg) : MG_OK;
}

bool mg_task_generated(const mg_task *t) { return t->def->batch != NULL; }

mg_status mg_rows_alloc(mg_rows *r, int64_t n, int T, int n_masks) {
    memset(r, 0, sizeof *r);
    if (n < 0 || T < 1 || n_masks < 0 || n_masks > MG_TASK_MAX_MASKS)
        return mg_fail(MG_ERR_ARG, "mg_rows_alloc: %lld rows of %d tokens with %d masks",
                       (long long)n, T, n_masks);
    size_t cells = (size_t)n * (size_t)T;
    size_t bytes = (cells + (size_t)n) * sizeof(int32_t) + (size_t)n_masks * cells;
    char *block = mg_calloc(1, bytes ? bytes : 1);
    if (!block)
        return mg_fail(MG_ERR_NOMEM, "out of memory for %lld rows of %d tokens", (long long)n, T);
    r->n = n;
    r->tokens = (int32_t *)block;
    r->labels = r->tokens + cells;
    for (int k = 0; k < n_masks; k++) r->masks[k] = (uint8_t *)(r->labels + n) + (size_t)k * cells;
    return MG_OK;
}

void mg_rows_free(mg_rows *r) {
    mg_free(r->tokens); /* the start of the one block */
    memset(r, 0, sizeof *r);
}

/* Every token of rows in 0..V-1 and every label in 0..K-1; else a message
 * naming the task, what (which rows) and the first bad row. */
static mg_status check_rows(const mg_task *t, const mg_rows *r, const char *what) {
    for (int64_t i = 0; i < r->n; i++) {
        const int32_t *tok = r->tokens + i * t->T;
        for (int j = 0; j < t->T; j++)
            if (tok[j] < 0 || tok[j] >= t->V)
                return mg_fail(MG_ERR_STATE,
                               "task %s: %s row %lld position %d holds token %d, outside 0..%d",
                               t->def->name, what, (long long)i, j, tok[j], t->V - 1);
        if (r->labels[i] < 0 || r->labels[i] >= t->K)
            return mg_fail(MG_ERR_STATE, "task %s: %s row %lld has label %d, outside 0..%d",
                           t->def->name, what, (long long)i, r->labels[i], t->K - 1);
    }
    return MG_OK;
}

static void hash_rows(XXH3_state_t *st, const mg_rows *r, int T) {
    XXH3_64bits_update(st, r->tokens, (size_t)r->n * (size_t)T * sizeof(int32_t));
    XXH3_64bits_update(st, r->labels, (size_t)r->n * sizeof(int32_t));
}

/* XXH3-64 of T, V, K, the training rows and the held-out rows (host byte
 * order: a task that needs a portable hash sets its own). */
static uint64_t default_hash(const mg_task *t) {
    XXH3_state_t st;
#ifdef XXH3_INITSTATE
    XXH3_INITSTATE(&st);
#endif
    XXH3_64bits_reset(&st);
    const int32_t head[3] = {t->T, t->V, t->K};
    XXH3_64bits_update(&st, head, sizeof head);
    hash_rows(&st, &t->train, t->T);
    hash_rows(&st, &t->test, t->T);
    return (uint64_t)XXH3_64bits_digest(&st);
}

/* The shape open() declared, checked before anything reads it. */
static mg_status check_shape(const mg_task *t) {
    const char *name = t->def->name;
    if (t->T < 1 || t->V < 1 || t->K < 2)
        return mg_fail(MG_ERR_STATE, "task %s: T = %d, V = %d, K = %d (need T, V >= 1, K >= 2)",
                       name, t->T, t->V, t->K);
    if (t->n_values < 0 || t->n_values > t->V || (t->n_values && t->T < 2))
        return mg_fail(MG_ERR_STATE, "task %s: %d operand values with T = %d, V = %d", name,
                       t->n_values, t->T, t->V);
    if (t->uniform_len < 0 || t->uniform_from < 0 || t->uniform_from + t->uniform_len > t->T)
        return mg_fail(MG_ERR_STATE, "task %s: uniform positions [%d, %d) outside 0..%d", name,
                       t->uniform_from, t->uniform_from + t->uniform_len, t->T);
    if (t->n_masks < 0 || t->n_masks > MG_TASK_MAX_MASKS)
        return mg_fail(MG_ERR_STATE, "task %s: %d masks (at most %d)", name, t->n_masks,
                       MG_TASK_MAX_MASKS);
    if (!mg_task_generated(t) && t->train.n < 1)
        return mg_fail(MG_ERR_STATE, "task %s has no training rows and no batch()", name);
    if (mg_task_generated(t) && t->def->default_batch < 1)
        return mg_fail(MG_ERR_STATE, "task %s makes fresh batches but has no default_batch", name);
    if (t->test.n < 1) return mg_fail(MG_ERR_STATE, "task %s has no held-out rows", name);
    if (t->n_groups < 0 || t->n_groups > MG_TASK_MAX_GROUPS)
        return mg_fail(MG_ERR_STATE, "task %s: %d held-out groups (at most %d)", name, t->n_groups,
                       MG_TASK_MAX_GROUPS);
    for (int g = 0; g < t->n_groups; g++)
        if (!t->group_names[g] || t->group_start[g] >= t->group_start[g + 1] ||
            (g == 0 && t->group_start[0] != 0) ||
            (g == t->n_groups - 1 && t->group_start[g + 1] != t->test.n))
            return mg_fail(MG_ERR_STATE,
                           "task %s: held-out group %d (%s) is rows [%lld, %lld) of %lld; groups "
                           "must be named and tile the held-out rows in order",
                           name, g, t->group_names[g] ? t->group_names[g] : "no name",
                           (long long)t->group_start[g], (long long)t->group_start[g + 1],
                           (long long)t->test.n);
    return MG_OK;
}

mg_status mg_task_open(const mg_task_cfg *cfg, mg_task **out) {
    *out = NULL;
    mg_status st = mg_task_validate(cfg);
    if (st) return st;
    mg_task *t = mg_calloc(1, sizeof *t);
    if (!t) return mg_fail(MG_ERR_NOMEM, "out of memory opening task %s", cfg->def->name);
    t->def = cfg->def;
    t->cfg = *cfg;
    if ((st = cfg->def->open(t)) || (st = check_shape(t)) ||
        (st = check_rows(t, &t->train, "training")) || (st = check_rows(t, &t->test, "held-out"))) {
        mg_task_close(t);
        return st;
    }
    if (!t->hash) t->hash = default_hash(t);
    *out = t;
    return MG_OK;
}

void mg_task_close(mg_task *t) {
    if (!t) return;
    if (t->def->close) t->def->close(t);
    mg_rows_free(&t->train);
    mg_rows_free(&t->test);
    mg_free(t);
}

mg_status mg_task_batch(const mg_task *t, int64_t step, mg_rows *rows) {
    if (!t->def->batch)
        return mg_fail(MG_ERR_STATE, "task %s has a fixed split, not fresh batches", t->def->name);
    t->def->batch(t, step, rows);
    mg_status st = check_rows(t, rows, "training");
    return st ? mg_fail(st, "step %lld: %s", (long long)step + 1, mg_errmsg()) : MG_OK;
}

uint64_t mg_task_step_salt(int64_t step) {
    /* splitmix64's finaliser of the step: a bijection, so distinct steps
     * give distinct salts, and neighbouring steps unrelated ones. */
    uint64_t z = (uint64_t)step + 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
