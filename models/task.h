/* task.h — tasks: the data a model is trained on, and the task registry.
 *
 * A task yields rows: sequences of T tokens over a vocabulary of V tokens,
 * each with a label in 0..K-1, plus whatever per-position masks it names.
 * The modular `a op b` tasks (models/modular.h) are one family: T = 3
 * (tokens "a b ="), V = p + 1, K = p, a fixed seeded split into a training
 * and a test set. A generated task (fresh batches every step, no fixed
 * split) is the other shape the interface serves.
 *
 * What a task provides (one file in models/, ending in
 * MG_REGISTER_TASK(its_def); no other edit):
 *   - an mg_task_def: its --task name, a summary, its own settings (an
 *     option table like a model's, parsed from --NAME VALUE), and
 *   - open(): fills the mg_task it is handed (def and cfg are set): the
 *     shape (T, V, K), the operands if it has them, the uniform positions,
 *     the mask names, its rows (fixed training rows or none; held-out rows
 *     always, optionally in named groups) and the hash of its data; keeps
 *     what it needs in `state`.
 *   - batch() (generated tasks only): writes the training rows of a step.
 *   - close(): frees what open() allocated (the rows and the state).
 *
 * How the trainer calls it (models/harness/train.c):
 *   1. mg_task_open(cfg) once: validates the settings, calls open(), checks
 *      the shape and that every token and label of the rows is in range.
 *   2. It builds each graph with the inputs the model reads (model.h):
 *      tokens (n, T), or the operands a = tokens[:, 0] and b = tokens[:, 1]
 *      (only when the task has operands), and labels (n); it declares the
 *      uniform positions to the graph (mg_input_uniform), so what depends
 *      only on them is computed once per step.
 *   3. Each step's batch:
 *        fixed split: the whole training set (--batch 0), or the first
 *          --batch rows of a shuffle of it by an mg_rng seeded with
 *          seed + step;
 *        generated:   batch(task, step, rows) with rows.n = --batch (0: the
 *          task's default_batch), into rows the trainer allocated once.
 *      The test evaluation reads `test` (the test split, or the task's fixed
 *      held-out probe batches); the training evaluation of a generated task
 *      reads the batch of the current step.
 *   4. mg_task_close at the end.
 *
 * Determinism rules (resume is bit-exact without saving RNG state):
 *   - open() is a pure function of cfg (settings and seed): the same cfg
 *     gives the same rows, in the same order, and the same hash.
 *   - batch(task, step, rows) is a pure function of (cfg, step, rows->n):
 *     seed an mg_rng from the seed and the step (for example
 *     mg_rng_seed(&r, seed ^ mg_task_step_salt(step))); never keep a stream
 *     running between calls, never read the clock or a global.
 *   - held-out rows are drawn from a stream no training step uses.
 *   - batch() allocates nothing (the step allocates nothing) and writes only
 *     rows->tokens, rows->labels and rows->masks[0..n_masks).
 *   - hash covers every value a run's data depends on, so a resume with a
 *     changed task is refused (config.json "split_hash"); open() may leave
 *     it 0 to get mg_task_open's default: XXH3-64 of T, V, K, the training
 *     rows and the held-out rows. */
#ifndef MG_TASK_H
#define MG_TASK_H

#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"
#include "models/model.h"

#define MG_TASK_MAX_OPTIONS 8
#define MG_TASK_MAX_MASKS 4
#define MG_TASK_MAX_GROUPS 16

typedef struct mg_task_def mg_task_def;

/* The settings of a task. */
typedef struct {
    const mg_task_def *def;          /* --task NAME (set with mg_task_choose) */
    uint64_t seed;                   /* --seed: the split's or the generator's seed */
    int p;                           /* the modular family: --p (modulus) */
    double frac;                     /* the modular family: --frac (training fraction) */
    double opt[MG_TASK_MAX_OPTIONS]; /* values of def->options */
} mg_task_cfg;

/* n rows, each a sequence of T tokens and a label; masks[k] (n, T) is the
 * task's k-th named per-position mask (1 where it holds), NULL past n_masks.
 * Row r's tokens are tokens[r*T .. r*T+T). */
typedef struct {
    int64_t n;
    int32_t *tokens; /* (n, T), each in 0..V-1 */
    int32_t *labels; /* (n), each in 0..K-1 */
    uint8_t *masks[MG_TASK_MAX_MASKS];
} mg_rows;

/* An opened task: its shape and its data. */
typedef struct {
    const mg_task_def *def;
    mg_task_cfg cfg;
    int T, V, K; /* positions, vocabulary, classes */
    /* > 0: tokens 0 and 1 are the operands a and b, in 0..n_values-1 (the
     * MLPs read them); 0: the task has no operands. */
    int n_values;
    /* Positions uniform_from .. uniform_from+uniform_len-1 hold the same
     * tokens in every row (the "=" of "a b ="); uniform_len 0: none. */
    int uniform_from, uniform_len;
    int n_masks;
    const char *mask_names[MG_TASK_MAX_MASKS];
    /* The held-out rows in named groups of consecutive rows, evaluated one by
     * one by mg_trainer_eval_groups (a generated task's probe batches, one
     * per setting, e.g. per number of markers): group g is test rows
     * [group_start[g], group_start[g + 1]), group_start[0] = 0 and
     * group_start[n_groups] = test.n. n_groups 0: no groups. */
    int n_groups;
    const char *group_names[MG_TASK_MAX_GROUPS];
    int64_t group_start[MG_TASK_MAX_GROUPS + 1];
    mg_rows train; /* the fixed training set; n = 0 for a generated task */
    mg_rows test;  /* held-out rows: the test split or the probe batches */
    uint64_t hash; /* XXH3-64 of the data (config.json "split_hash") */
    void *state;   /* the task's own, freed by close() */
} mg_task;

struct mg_task_def {
    const char *name; /* --task NAME: "add", "markers" */
    const char *summary;
    const mg_model_option *options; /* its own settings, --NAME VALUE */
    int n_options;
    int variant;           /* a value the functions read (the modular family: its op) */
    int64_t default_batch; /* generated tasks: rows per step when --batch is 0 */
    /* Checks the settings beyond the options' own parsing (NULL: nothing);
     * the message names the flag as the CLI spells it. */
    mg_status (*validate)(const mg_task_cfg *cfg);
    /* Fills t (t->def and t->cfg are set, the rest zero), see above. */
    mg_status (*open)(mg_task *t);
    /* Generated tasks: writes rows->n training rows of `step` (NULL for a
     * fixed split). */
    void (*batch)(const mg_task *t, int64_t step, mg_rows *rows);
    /* Frees what open() allocated; may be NULL if open allocates nothing
     * beyond rows made by mg_rows_alloc (mg_task_close frees those). */
    void (*close)(mg_task *t);
};

/* Adds a task to the registry. Fails on a NULL task, a missing name or open
 * function, an option table over MG_TASK_MAX_OPTIONS, or a name already
 * taken. */
mg_status mg_task_register(const mg_task_def *d);

/* Registers a task when the library (or a shared object) is loaded: one line
 * at the end of the task's own file, MG_REGISTER_TASK(its_def). */
#define MG_REGISTER_TASK(def)                                                                      \
    __attribute__((constructor)) static void mg_register_task_##def(void) {                        \
        (void)mg_task_register(&def);                                                              \
    }

/* The registered tasks, by name or position (in name order). An unknown
 * name: NULL, and a message naming --task and listing the names. */
const mg_task_def *mg_task_find(const char *name);
int mg_task_count(void);
const mg_task_def *mg_task_at(int i);

/* Sets c->def to the task `name` and c->opt to its options' defaults
 * (p, frac and seed are kept). Unknown name: MG_ERR_ARG listing the names,
 * c untouched. */
mg_status mg_task_choose(mg_task_cfg *c, const char *name);

/* Index of a task option by name (-1 if absent), and parsing of its value
 * (the error names the flag and the allowed values). */
int mg_task_option_index(const mg_task_def *d, const char *name);
mg_status mg_task_option_parse(const mg_task_def *d, int i, const char *value, double *out);

/* Checks the settings: a task is chosen, then its own validate(). */
mg_status mg_task_validate(const mg_task_cfg *cfg);

/* Opens the task of cfg (see the top of this file). On failure *out is NULL
 * and nothing is left allocated. */
mg_status mg_task_open(const mg_task_cfg *cfg, mg_task **out);
void mg_task_close(mg_task *t); /* NULL is fine */

/* Whether the task makes fresh batches (it has batch()). */
bool mg_task_generated(const mg_task *t);

/* Writes the rows of step `step` (rows->n of them) of a generated task and
 * checks them: a token or label out of range fails with MG_ERR_STATE naming
 * the task, the step and the row. Allocates nothing. */
mg_status mg_task_batch(const mg_task *t, int64_t step, mg_rows *rows);

/* A 64-bit value mixing step into a seed, for batch(): distinct steps give
 * unrelated streams. */
uint64_t mg_task_step_salt(int64_t step);

/* Allocates rows for n sequences of T tokens with n_masks masks, in one
 * block (zeroed); frees them. */
mg_status mg_rows_alloc(mg_rows *r, int64_t n, int T, int n_masks);
void mg_rows_free(mg_rows *r);

#endif
