/* test_task.c — the task interface (models/task.h): the registry, what an
 * opened task declares, and a generated sequence task registered from this
 * file ("label = first token", T = 8, fresh batches every step) trained
 * through the trainer: loss finite and falling, the same seed giving the
 * same parameters, a step's batch a function of seed and step only (so a
 * resumed run is bit-exact), and a step allocating nothing. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/fsutil.h"
#include "core/gemm.h"
#include "core/hash.h"
#include "core/rng.h"
#include "models/harness/run.h"
#include "models/harness/train.h"
#include "models/modular.h"

static void setup(void) { mg_gemm_init(1); }
TestSuite(task, .init = setup);

/* --- the generated task: label = the first token ------------------------- */

#define FIRST_T 8
#define FIRST_V 12
#define FIRST_PROBES 96

enum { VOCAB };
static const mg_model_option first_options[] = {
    [VOCAB] = {"vocab", MG_OPTION_INT, FIRST_V, NULL, "tokens (and classes)"},
};

/* Rows of random tokens in 0..V-1, each labelled with its first token. */
static void draw(mg_rng *r, int V, mg_rows *rows) {
    for (int64_t i = 0; i < rows->n; i++) {
        int32_t *tok = rows->tokens + i * FIRST_T;
        for (int j = 0; j < FIRST_T; j++) tok[j] = (int32_t)mg_rng_below(r, (uint64_t)V);
        rows->labels[i] = tok[0];
        for (int j = 0; j < FIRST_T; j++) rows->masks[0][i * FIRST_T + j] = j == 0;
    }
}

static mg_status first_open(mg_task *t) {
    t->T = FIRST_T;
    t->V = t->K = (int)t->cfg.opt[VOCAB];
    t->n_masks = 1;
    t->mask_names[0] = "label_position";
    mg_status st = mg_rows_alloc(&t->test, FIRST_PROBES, FIRST_T, 1);
    if (st) return st;
    mg_rng r;
    mg_rng_seed(&r, t->cfg.seed ^ mg_task_step_salt(-1)); /* a stream no step uses */
    draw(&r, t->V, &t->test);
    /* two probe groups of unequal size */
    t->n_groups = 2;
    t->group_names[0] = "probe_a", t->group_names[1] = "probe_b";
    t->group_start[0] = 0, t->group_start[1] = 40, t->group_start[2] = FIRST_PROBES;
    return MG_OK;
}

static void first_batch(const mg_task *t, int64_t step, mg_rows *rows) {
    mg_rng r;
    mg_rng_seed(&r, t->cfg.seed ^ mg_task_step_salt(step));
    draw(&r, t->V, rows);
}

static const mg_task_def first_token = {
    .name = "test_first_token",
    .summary = "random tokens, label = the first token (fresh batches)",
    .options = first_options,
    .n_options = 1,
    .default_batch = 48,
    .open = first_open,
    .batch = first_batch,
};

MG_REGISTER_TASK(first_token)

/* A tiny transformer on the generated task. */
static mg_train_cfg first_cfg(uint64_t seed, int64_t steps) {
    mg_train_cfg cfg;
    const mg_model_def *m = mg_model_find("transformer");
    mg_train_defaults(&cfg, m);
    cr_assert_eq(mg_task_choose(&cfg.task, "test_first_token"), MG_OK, "%s", mg_errmsg());
    cfg.opt[mg_model_option_index(m, "d-model")] = 16;
    cfg.opt[mg_model_option_index(m, "heads")] = 2;
    cfg.opt[mg_model_option_index(m, "d-mlp")] = 32;
    cfg.task.seed = seed;
    cfg.optim.lr = 1e-2f;
    cfg.optim.weight_decay = 0.0f;
    cfg.steps = steps;
    cfg.threads = 1;
    return cfg;
}

static mg_trainer *new_trainer(const mg_train_cfg *cfg) {
    mg_trainer *t = NULL;
    cr_assert_eq(mg_trainer_new(cfg, &t), MG_OK, "mg_trainer_new: %s", mg_errmsg());
    return t;
}

static void steps(mg_trainer *t, int n) {
    for (int i = 0; i < n; i++)
        cr_assert_eq(mg_trainer_step(t), MG_OK, "step %lld: %s",
                     (long long)mg_trainer_steps_done(t) + 1, mg_errmsg());
}

static uint64_t hash_after(uint64_t seed, int n) {
    mg_train_cfg cfg = first_cfg(seed, n);
    mg_trainer *t = new_trainer(&cfg);
    steps(t, n);
    uint64_t h = mg_hash_params(mg_trainer_params(t));
    mg_trainer_free(t);
    return h;
}

Test(task, generated_task_trains_and_its_loss_falls) {
    mg_train_cfg cfg = first_cfg(1, 60);
    mg_trainer *t = new_trainer(&cfg);
    const mg_task *task = mg_trainer_task(t);
    cr_assert(mg_task_generated(task));
    cr_assert_eq(task->T, FIRST_T);
    cr_assert_eq(task->train.n, 0, "a generated task has no fixed training set");
    cr_assert_eq(task->test.n, FIRST_PROBES);
    cr_assert_null(mg_trainer_dataset(t), "not a modular task");
    /* the transformer sized its tables from the task */
    mg_params *P = mg_trainer_params(t);
    const mg_param_info *pos = mg_params_info(P, mg_params_find(P, "pos"));
    const mg_param_info *emb = mg_params_info(P, mg_params_find(P, "embed"));
    const mg_param_info *un = mg_params_info(P, mg_params_find(P, "unembed"));
    cr_expect_eq(pos->shape[0], FIRST_T);
    cr_expect_eq(emb->shape[0], FIRST_V);
    cr_expect_eq(un->shape[1], FIRST_V);

    mg_eval first, e;
    cr_assert_eq(mg_trainer_eval_test(t, &first), MG_OK, "%s", mg_errmsg());
    double train0 = 0, train_end = 0;
    for (int s = 0; s < 60; s++) {
        cr_assert_eq(mg_trainer_eval_train(t, &e), MG_OK, "%s", mg_errmsg());
        cr_assert(isfinite(e.loss), "step %d: train loss %g", s, e.loss);
        if (s < 10) train0 += e.loss / 10;
        if (s >= 50) train_end += e.loss / 10;
        steps(t, 1);
    }
    cr_assert_eq(mg_trainer_eval_test(t, &e), MG_OK, "%s", mg_errmsg());
    cr_expect(isfinite(e.loss) && e.loss < 0.5 * first.loss,
              "held-out loss %g after 60 steps, %g at step 0", e.loss, first.loss);
    cr_expect_gt(e.acc, first.acc + 0.3, "held-out accuracy %g, at step 0 %g", e.acc, first.acc);
    cr_expect_lt(train_end, 0.5 * train0,
                 "training loss %g over the last 10 steps, %g over the first", train_end, train0);
    mg_trainer_free(t);
}

Test(task, generated_task_same_seed_same_parameters) {
    uint64_t a = hash_after(3, 12), b = hash_after(3, 12), c = hash_after(4, 12);
    cr_assert_eq(a, b, "same seed: %016llx vs %016llx", (unsigned long long)a,
                 (unsigned long long)b);
    cr_assert_neq(a, c, "seeds 3 and 4 gave the same parameters");
    cr_assert_neq(a, hash_after(3, 0), "12 steps left the parameters unchanged");
}

/* The batch of step s depends on (seed, s) only: drawn in any order, any
 * number of times, it is the same rows; other steps and seeds differ. */
Test(task, generated_batch_is_a_function_of_seed_and_step) {
    mg_task_cfg c = {0};
    cr_assert_eq(mg_task_choose(&c, "test_first_token"), MG_OK, "%s", mg_errmsg());
    c.seed = 7;
    mg_task *t = NULL, *u = NULL;
    cr_assert_eq(mg_task_open(&c, &t), MG_OK, "%s", mg_errmsg());
    c.seed = 8;
    cr_assert_eq(mg_task_open(&c, &u), MG_OK, "%s", mg_errmsg());
    mg_rows r[4];
    for (int k = 0; k < 4; k++) cr_assert_eq(mg_rows_alloc(&r[k], 32, FIRST_T, 1), MG_OK);
    size_t bytes = 32 * FIRST_T * sizeof(int32_t);
    cr_assert_eq(mg_task_batch(t, 5, &r[0]), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(mg_task_batch(t, 6, &r[1]), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(mg_task_batch(t, 5, &r[2]), MG_OK, "%s", mg_errmsg()); /* again, after 6 */
    cr_assert_eq(mg_task_batch(u, 5, &r[3]), MG_OK, "%s", mg_errmsg());
    cr_expect_eq(memcmp(r[0].tokens, r[2].tokens, bytes), 0, "step 5 drawn twice differs");
    cr_expect_eq(memcmp(r[0].labels, r[2].labels, 32 * sizeof(int32_t)), 0);
    cr_expect_neq(memcmp(r[0].tokens, r[1].tokens, bytes), 0, "steps 5 and 6 are the same");
    cr_expect_neq(memcmp(r[0].tokens, r[3].tokens, bytes), 0, "seeds 7 and 8 are the same");
    for (int i = 0; i < 32; i++) cr_expect_eq(r[0].labels[i], r[0].tokens[i * FIRST_T]);
    /* the held-out rows: fixed by the seed, hashed */
    cr_expect_neq(t->hash, u->hash, "two seeds' probe rows hash alike");
    mg_task *t2 = NULL;
    c.seed = 7;
    cr_assert_eq(mg_task_open(&c, &t2), MG_OK, "%s", mg_errmsg());
    cr_expect_eq(t2->hash, t->hash);
    cr_expect_eq(memcmp(t2->test.tokens, t->test.tokens, FIRST_PROBES * FIRST_T * 4), 0);
    for (int k = 0; k < 4; k++) mg_rows_free(&r[k]);
    mg_task_close(t), mg_task_close(u), mg_task_close(t2);
}

/* A run stopped at step 5 and continued from its parameters, optimizer
 * moments and step count (what a checkpoint holds; no RNG state) reaches
 * the same parameters as one that ran straight to step 10. */
Test(task, generated_task_resumes_bit_exactly) {
    mg_train_cfg cfg = first_cfg(5, 10);
    mg_trainer *straight = new_trainer(&cfg), *first = new_trainer(&cfg),
               *resumed = new_trainer(&cfg);
    steps(straight, 10);
    steps(first, 5);
    size_t n = mg_params_total(mg_trainer_params(first));
    memcpy(mg_params_data(mg_trainer_params(resumed)), mg_params_data(mg_trainer_params(first)),
           n * sizeof(float));
    memcpy(mg_optim_m(mg_trainer_optim(resumed)), mg_optim_m(mg_trainer_optim(first)),
           n * sizeof(float));
    memcpy(mg_optim_v(mg_trainer_optim(resumed)), mg_optim_v(mg_trainer_optim(first)),
           n * sizeof(float));
    mg_trainer_set_steps_done(resumed, 5);
    steps(resumed, 5);
    cr_expect_eq(mg_hash_params(mg_trainer_params(resumed)),
                 mg_hash_params(mg_trainer_params(straight)), "the resumed run diverged");
    mg_trainer_free(straight), mg_trainer_free(first), mg_trainer_free(resumed);
}

Test(task, generated_step_and_eval_allocate_nothing) {
    mg_train_cfg cfg = first_cfg(2, 8);
    mg_trainer *t = new_trainer(&cfg);
    mg_eval e;
    steps(t, 1); /* warm-up */
    uint64_t before = mg_alloc_count();
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(mg_trainer_eval_train(t, &e), MG_OK, "%s", mg_errmsg());
        cr_assert_eq(mg_trainer_eval_test(t, &e), MG_OK, "%s", mg_errmsg());
        steps(t, 1);
    }
    cr_expect_eq(mg_alloc_count(), before, "%llu allocations in 5 steps",
                 (unsigned long long)(mg_alloc_count() - before));
    mg_trainer_free(t);
}

/* The fingerprint and task in a run directory's files. */
static void run_facts(const char *dir, char fp[17], char task[32]) {
    char path[256];
    const char *file[] = {"summary.json", "config.json"}, *key[] = {"fingerprint", "task"};
    char *out[] = {fp, task};
    size_t size[] = {17, 32};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, file[i]);
        char *text = NULL;
        size_t n = 0;
        cr_assert_eq(mg_read_file(path, &text, &n), MG_OK, "%s", mg_errmsg());
        cJSON *j = cJSON_ParseWithLength(text, n);
        mg_free(text);
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key[i]);
        cr_assert(cJSON_IsString(v), "%s: no \"%s\"", path, key[i]);
        snprintf(out[i], size[i], "%s", v->valuestring);
        cJSON_Delete(j);
    }
}

/* A run directory of the generated task: trained to step 6, resumed to 12,
 * it ends where a straight 12-step run ends; config.json names the task. */
Test(task, generated_task_runs_and_resumes_through_the_run_directory) {
    char tmp[] = "/tmp/mg_task_XXXXXX", a[64], b[64], cmd[96];
    cr_assert_not_null(mkdtemp(tmp));
    snprintf(a, sizeof a, "%s/straight", tmp);
    snprintf(b, sizeof b, "%s/resumed", tmp);
    mg_run_opts o;
    mg_run_opts_defaults(&o);
    o.eval_every = o.checkpoint_every = o.probe_every = o.geometry_every = 3;
    mg_train_cfg cfg = first_cfg(6, 12);
    cr_assert_eq(mg_run_train(&cfg, a, &o), MG_OK, "%s", mg_errmsg());
    cfg.steps = 6;
    cr_assert_eq(mg_run_train(&cfg, b, &o), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(mg_run_resume(b, 12, &o), MG_OK, "%s", mg_errmsg());
    char fa[17], fb[17], ta[32], tb[32];
    run_facts(a, fa, ta);
    run_facts(b, fb, tb);
    cr_expect_str_eq(fb, fa, "resumed %s, straight %s", fb, fa);
    cr_expect_str_eq(ta, "test_first_token");
    cr_expect_str_eq(tb, "test_first_token");
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    cr_expect_eq(system(cmd), 0);
}

/* Each probe group is evaluated on its own; together they are the held-out
 * evaluation (accuracy exactly, the loss to float rounding). */
Test(task, held_out_groups_evaluate_one_by_one) {
    mg_train_cfg cfg = first_cfg(9, 30);
    mg_trainer *t = new_trainer(&cfg);
    steps(t, 30);
    mg_eval all, g[2];
    cr_assert_eq(mg_trainer_eval_groups(t, g), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(mg_trainer_eval_test(t, &all), MG_OK, "%s", mg_errmsg());
    double acc = (40 * g[0].acc + 56 * g[1].acc) / 96,
           loss = (40 * g[0].loss + 56 * g[1].loss) / 96;
    cr_expect_float_eq(acc, all.acc, 1e-12, "groups %g, %g; all %g", g[0].acc, g[1].acc, all.acc);
    cr_expect_float_eq(loss, all.loss, 1e-5 * (1 + all.loss), "groups' loss %g, all %g", loss,
                       all.loss);
    cr_expect(g[0].acc != g[1].acc || g[0].loss != g[1].loss, "the groups read the same rows");
    mg_trainer_free(t);
    /* a task without groups: nothing is written */
    mg_train_cfg m;
    mg_train_defaults(&m, mg_model_find("mlp"));
    m.opt[mg_model_option_index(mg_model_find("mlp"), "d")] = 4;
    m.opt[mg_model_option_index(mg_model_find("mlp"), "width")] = 8;
    m.task.p = 7;
    m.threads = 1;
    t = new_trainer(&m);
    mg_eval untouched = {-1, -1};
    cr_expect_eq(mg_trainer_eval_groups(t, &untouched), MG_OK);
    cr_expect_eq(untouched.loss, -1);
    mg_trainer_free(t);
}

/* --- what the trainer checks ------------------------------------------------ */

Test(task, model_reading_operands_on_a_task_without_them_is_refused) {
    mg_train_cfg cfg;
    mg_train_defaults(&cfg, mg_model_find("mlp"));
    cr_assert_eq(mg_task_choose(&cfg.task, "test_first_token"), MG_OK);
    cfg.threads = 1;
    mg_trainer *t = (mg_trainer *)&cfg;
    mg_clear_error();
    cr_assert_eq(mg_trainer_new(&cfg, &t), MG_ERR_ARG);
    cr_assert_null(t);
    const char *want[] = {"model mlp", "operands", "task test_first_token", "transformer"};
    for (int i = 0; i < 4; i++)
        cr_expect(strstr(mg_errmsg(), want[i]), "'%s' lacks '%s'", mg_errmsg(), want[i]);
}

/* A task whose rows break its declared shape is refused when opened. */
static int bad_kind;
static mg_status bad_open(mg_task *t) {
    t->T = 2, t->V = 4, t->K = 3;
    mg_status st = mg_rows_alloc(&t->train, 4, 2, 0);
    if (!st) st = mg_rows_alloc(&t->test, 4, 2, 0);
    if (st) return st;
    if (bad_kind == 0) t->train.tokens[5] = 4; /* token V */
    if (bad_kind == 1) t->test.labels[2] = 3;  /* label K */
    if (bad_kind == 2) t->n_values = 5;        /* operands beyond V */
    if (bad_kind == 3) t->uniform_from = 1, t->uniform_len = 2;
    if (bad_kind == 4) t->n_groups = 1, t->group_names[0] = "g", t->group_start[1] = 3;
    return MG_OK;
}
static const mg_task_def bad_task = {.name = "test_bad", .open = bad_open};
MG_REGISTER_TASK(bad_task)

Test(task, open_checks_the_declared_shape_and_rows) {
    const char *want[] = {"row 2 position 1 holds token 4", "held-out row 2 has label 3",
                          "5 operand values", "uniform positions [1, 3)",
                          "held-out group 0 (g) is rows [0, 3) of 4"};
    mg_task_cfg c = {0};
    cr_assert_eq(mg_task_choose(&c, "test_bad"), MG_OK);
    for (bad_kind = 0; bad_kind < 5; bad_kind++) {
        mg_task *t = (mg_task *)&c;
        cr_assert_eq(mg_task_open(&c, &t), MG_ERR_STATE, "case %d opened", bad_kind);
        cr_assert_null(t);
        cr_expect(strstr(mg_errmsg(), "task test_bad") && strstr(mg_errmsg(), want[bad_kind]),
                  "case %d: '%s' lacks '%s'", bad_kind, mg_errmsg(), want[bad_kind]);
    }
    bad_kind = -1;
    mg_task *t = NULL;
    cr_assert_eq(mg_task_open(&c, &t), MG_OK, "%s", mg_errmsg());
    cr_expect_eq(t->train.n, 4);
    mg_task_close(t);
}

/* --- the registry ------------------------------------------------------------ */

Test(task, registry_holds_the_modular_tasks_by_name) {
    const char *names[] = {"add", "sub", "mul", "div", "x2y2", "x3xy"};
    for (int i = 0; i < 6; i++) {
        const mg_task_def *d = mg_task_find(names[i]);
        cr_assert_not_null(d, "%s: %s", names[i], mg_errmsg());
        cr_expect_str_eq(d->name, names[i]);
        cr_expect_eq(d->variant, i, "%s", names[i]);
    }
    for (int i = 1; i < mg_task_count(); i++)
        cr_expect_lt(strcmp(mg_task_at(i - 1)->name, mg_task_at(i)->name), 0, "not in name order");
    cr_expect_null(mg_task_at(mg_task_count()));
    cr_expect_null(mg_task_at(-1));
}

Test(task, choose_unknown_lists_the_tasks_and_keeps_cfg) {
    mg_task_cfg c = {0};
    cr_assert_eq(mg_task_choose(&c, "mul"), MG_OK);
    mg_clear_error();
    cr_assert_eq(mg_task_choose(&c, "pow"), MG_ERR_ARG);
    cr_expect_eq(c.def, mg_task_find("mul"), "cfg changed on failure");
    const char *want[] = {"--task", "'pow'",
                          "add, div, marker-mul, markers, mul, sub, test_bad, test_first_token"};
    for (int i = 0; i < 3; i++)
        cr_expect(strstr(mg_errmsg(), want[i]), "'%s' lacks '%s'", mg_errmsg(), want[i]);
    /* a task's options get their defaults and parse with the flag's name */
    cr_assert_eq(mg_task_choose(&c, "test_first_token"), MG_OK);
    cr_expect_eq(c.opt[VOCAB], FIRST_V);
    int k = mg_task_option_index(c.def, "vocab");
    cr_assert_eq(k, VOCAB);
    double v = 0;
    cr_expect_eq(mg_task_option_parse(c.def, k, "0", &v), MG_ERR_ARG);
    cr_expect(strstr(mg_errmsg(), "--vocab"), "%s", mg_errmsg());
    cr_expect_eq(mg_task_option_index(c.def, "nope"), -1);
    mg_task_cfg none = {0};
    cr_expect_eq(mg_task_validate(&none), MG_ERR_ARG);
    cr_expect(strstr(mg_errmsg(), "--task is missing"), "%s", mg_errmsg());
}

Test(task, register_checks_the_definition) {
    static const mg_task_def no_name = {.open = bad_open}, no_open = {.name = "test_no_open"},
                             dup = {.name = "add", .open = bad_open},
                             opts = {.name = "test_opts",
                                     .open = bad_open,
                                     .n_options = 9,
                                     .options = first_options};
    int before = mg_task_count();
    cr_expect_eq(mg_task_register(NULL), MG_ERR_ARG);
    cr_expect_eq(mg_task_register(&no_name), MG_ERR_ARG);
    cr_expect_eq(mg_task_register(&no_open), MG_ERR_ARG);
    cr_expect(strstr(mg_errmsg(), "test_no_open"), "%s", mg_errmsg());
    cr_expect_eq(mg_task_register(&dup), MG_ERR_ARG);
    cr_expect(strstr(mg_errmsg(), "already registered"), "%s", mg_errmsg());
    cr_expect_eq(mg_task_register(&opts), MG_ERR_ARG);
    cr_expect_eq(mg_task_register(&first_token), MG_OK, "registering twice is a no-op");
    cr_expect_eq(mg_task_count(), before);
}

/* The modular family through the interface: "a b =" rows over p + 1 tokens,
 * operands, the last position uniform, the split's own hash. */
Test(task, modular_task_declares_its_shape_and_rows) {
    mg_task_cfg c = {.p = 7, .frac = 0.5, .seed = 4};
    cr_assert_eq(mg_task_choose(&c, "sub"), MG_OK);
    mg_task *t = NULL;
    cr_assert_eq(mg_task_open(&c, &t), MG_OK, "%s", mg_errmsg());
    cr_expect(!mg_task_generated(t));
    cr_expect_eq(t->T, 3);
    cr_expect_eq(t->V, 8);
    cr_expect_eq(t->K, 7);
    cr_expect_eq(t->n_values, 7);
    cr_expect_eq(t->uniform_from, 2);
    cr_expect_eq(t->uniform_len, 1);
    const mg_dataset *ds = mg_modular_dataset(t);
    cr_assert_not_null(ds);
    cr_expect_eq(t->hash, mg_dataset_hash(ds));
    cr_assert_eq(t->train.n, ds->n_train);
    cr_assert_eq(t->test.n, ds->n_test);
    for (int64_t i = 0; i < ds->n_train; i++) {
        const int32_t *tok = t->train.tokens + 3 * i;
        cr_expect(tok[0] == ds->train_a[i] && tok[1] == ds->train_b[i] && tok[2] == 7, "row %lld",
                  (long long)i);
        cr_expect_eq(t->train.labels[i], ((tok[0] - tok[1]) % 7 + 7) % 7);
    }
    for (int64_t i = 0; i < ds->n_test; i++) cr_expect_eq(t->test.labels[i], ds->test_y[i]);
    mg_task_close(t);
    /* the family's validation names the flags */
    c.p = 12;
    cr_assert_eq(mg_task_choose(&c, "div"), MG_OK);
    t = (mg_task *)&c;
    cr_expect_eq(mg_task_open(&c, &t), MG_ERR_ARG);
    cr_expect_null(t);
    cr_expect(strstr(mg_errmsg(), "--task div needs a prime --p"), "%s", mg_errmsg());
}

Test(task, step_salt_separates_steps) {
    for (int64_t s = -3; s < 1000; s++)
        cr_assert_neq(mg_task_step_salt(s), mg_task_step_salt(s + 1), "steps %lld, %lld",
                      (long long)s, (long long)s + 1);
    cr_expect_neq(mg_task_step_salt(0), 0);
}
