/* test_rewrites.c — every graph rewrite leaves the step's mathematics
 * unchanged: the rewritten and the plain graph, side by side on the same
 * parameters and data, give the same loss, the same gradient of every
 * parameter and the same update, within float tolerance; and the rewrites
 * really happen. Each comparison runs three ways: as a run compiles its
 * graphs, in checking mode (a buffer is NaN once its interval ends, so a
 * graph whose ops read a value after its interval fails), and in checking
 * mode with buffer reuse off (core/graph.h). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/rewrite.h"
#include "models/harness/train.h"

typedef struct {
    const char *model;
    const char *opts[4][2];
    int p;
    int64_t batch;
} rcase;

typedef enum { AS_RUN, CHECKING, CHECKING_NO_REUSE } way;
static const char *const way_names[] = {"as run", "checking", "checking, no reuse"};

static mg_trainer *make_way(const rcase *c, const char *off, way w) {
    const mg_model_def *m = mg_model_find(c->model);
    cr_assert_not_null(m);
    mg_train_cfg cfg;
    mg_train_defaults(&cfg, m);
    cfg.task.p = c->p;
    cfg.task.frac = 0.8;
    cfg.task.seed = 3;
    cfg.threads = 1;
    cfg.batch = c->batch;
    for (int i = 0; i < 4 && c->opts[i][0]; i++) {
        int k = mg_model_option_index(m, c->opts[i][0]);
        cr_assert(k >= 0, "option %s", c->opts[i][0]);
        cr_assert_eq(mg_model_option_parse(m, k, c->opts[i][1], &cfg.opt[k]), MG_OK);
    }
    snprintf(cfg.no_rewrites, sizeof cfg.no_rewrites, "%s", off);
    cfg.graph_checking = w != AS_RUN;
    cfg.graph_no_reuse = w == CHECKING_NO_REUSE;
    mg_trainer *t = NULL;
    cr_assert_eq(mg_trainer_new(&cfg, &t), MG_OK, "%s", mg_errmsg());
    return t;
}

static mg_trainer *make(const rcase *c, const char *off) { return make_way(c, off, AS_RUN); }

static int total_rewrites(mg_trainer *t) {
    int n = 0;
    for (int i = 0; i < mg_pass_count(); i++) n += mg_graph_rewrite_count(mg_trainer_graph(t), i);
    return n;
}

/* max |a - b| / max(max |b|, floor, 1e-30) over n values (infinite if one
 * is NaN) */
static double rel_diff_floor(const float *a, const float *b, size_t n, double floor) {
    double d = 0, s = floor;
    for (size_t i = 0; i < n; i++) {
        if (isnan(a[i]) || isnan(b[i])) return INFINITY;
        d = fmax(d, fabs((double)a[i] - b[i]));
        s = fmax(s, fabs((double)b[i]));
    }
    return d / fmax(s, 1e-30);
}

static double rel_diff(const float *a, const float *b, size_t n) {
    return rel_diff_floor(a, b, n, 0);
}

/* How many rewrites the pass of that name made in t's training graph. */
static int rewrites_by(mg_trainer *t, const char *pass) {
    for (int i = 0; i < mg_pass_count(); i++)
        if (!strcmp(mg_pass_at(i)->name, pass))
            return mg_graph_rewrite_count(mg_trainer_graph(t), i);
    cr_assert_fail("no pass named %s", pass);
    return 0;
}

/* The graph with the rewrites but those in `off`, against the plain one,
 * both compiled way w. */
static void same_step_way(rcase c, const char *off, way w) {
    mg_trainer *rw = make_way(&c, off, w), *plain = make_way(&c, "all", w);
    cr_assert_gt(total_rewrites(rw), 0, "%s: no rewrite applied", c.model);
    cr_assert_eq(total_rewrites(plain), 0);
    mg_params *P = mg_trainer_params(rw), *Q = mg_trainer_params(plain);
    size_t n = mg_params_total(P);
    cr_assert_eq(n, mg_params_total(Q));
    cr_assert_eq(memcmp(mg_params_data(P), mg_params_data(Q), n * sizeof(float)), 0,
                 "same seed, same initial parameters");
    for (int step = 0; step < 3; step++) {
        mg_eval a, b;
        cr_assert_eq(mg_trainer_eval_train(rw, &a), MG_OK, "%s", mg_errmsg());
        cr_assert_eq(mg_trainer_eval_train(plain, &b), MG_OK, "%s", mg_errmsg());
        cr_assert(isfinite(a.loss) && isfinite(b.loss), "%s (%s) step %d: loss %g, plain %g",
                  c.model, way_names[w], step, a.loss, b.loss);
        cr_assert_float_eq(a.loss, b.loss, 1e-5 * fmax(1.0, fabs(b.loss)),
                           "%s (%s) step %d loss %.9g vs %.9g", c.model, way_names[w], step, a.loss,
                           b.loss);
        cr_assert_eq(a.acc, b.acc);
        cr_assert_eq(mg_trainer_step(rw), MG_OK, "%s", mg_errmsg());
        cr_assert_eq(mg_trainer_step(plain), MG_OK, "%s", mg_errmsg());
        /* A gradient that is zero in exact arithmetic is rounding noise in
         * both graphs (attn_stack's key bias: a softmax does not change when
         * every score of a query moves by the same q . b_k); so each
         * parameter's gradient is compared on the scale of its own or
         * 1e-3 of the largest gradient entry of the model, whichever is
         * larger. */
        double gmax = 0;
        for (size_t i = 0; i < n; i++) gmax = fmax(gmax, fabs(mg_params_grad(Q)[i]));
        for (int k = 0; k < mg_params_count(P); k++) {
            const mg_param_info *info = mg_params_info(P, k);
            double dg = rel_diff_floor(mg_params_grad(P) + info->offset,
                                       mg_params_grad(Q) + info->offset, info->numel, 1e-3 * gmax);
            cr_assert_lt(dg, 1e-4, "%s (%s) step %d: gradient of %s differs by %.3g (relative)",
                         c.model, way_names[w], step, info->name, dg);
        }
        /* The parameters. Adam divides a gradient by its own scale, so a
         * parameter whose gradient is rounding noise (see above) moves by
         * noise of Adam's step size: those tensors are held to 1e-3 of their
         * size, the rest (together, on the scale of the largest) to 1e-5. */
        double d = 0, scale = 1e-30;
        for (int k = 0; k < mg_params_count(P); k++) {
            const mg_param_info *info = mg_params_info(P, k);
            const float *gq = mg_params_grad(Q) + info->offset;
            const float *wp = mg_params_data(P) + info->offset,
                        *wq = mg_params_data(Q) + info->offset;
            double own = 0;
            for (size_t i = 0; i < info->numel; i++) own = fmax(own, fabs(gq[i]));
            if (own < 1e-3 * gmax) {
                double dn = rel_diff(wp, wq, info->numel);
                cr_assert_lt(dn, 1e-3, "%s (%s) step %d: parameter %s differs by %.3g", c.model,
                             way_names[w], step, info->name, dn);
                continue;
            }
            for (size_t i = 0; i < info->numel; i++) {
                if (isnan(wp[i]) || isnan(wq[i])) d = INFINITY;
                d = fmax(d, fabs((double)wp[i] - wq[i]));
                scale = fmax(scale, fabs((double)wq[i]));
            }
        }
        cr_assert_lt(d / scale, 1e-5, "%s (%s) step %d: parameters differ by %.3g", c.model,
                     way_names[w], step, d / scale);
    }
    mg_trainer_free(rw);
    mg_trainer_free(plain);
}

static void same_step_without(rcase c, const char *off) {
    for (way w = AS_RUN; w <= CHECKING_NO_REUSE; w++) same_step_way(c, off, w);
}

static void same_step(rcase c) { same_step_without(c, ""); }

Test(rewrites, mlp_concat) { same_step((rcase){"mlp", {{"d", "8"}, {"width", "16"}}, 11, 0}); }
Test(rewrites, mlp_sum_square_no_bias) {
    same_step((rcase){
        "mlp", {{"d", "8"}, {"width", "16"}, {"combine", "sum"}, {"act", "square"}}, 11, 0});
}
Test(rewrites, mlp_minibatch) { same_step((rcase){"mlp", {{"d", "8"}, {"width", "16"}}, 11, 40}); }
Test(rewrites, transformer) {
    same_step((rcase){"transformer", {{"d-model", "16"}, {"heads", "2"}, {"d-mlp", "32"}}, 11, 0});
}
Test(rewrites, transformer_torch_init) {
    same_step((rcase){"transformer",
                      {{"d-model", "16"}, {"heads", "4"}, {"d-mlp", "24"}, {"init", "torch"}},
                      7,
                      0});
}
Test(rewrites, mlp_tied_variant) {
    same_step((rcase){"mlp_tied", {{"d", "8"}, {"width", "16"}}, 11, 0});
}
/* concat: its two gathers from W1's halves are hoisted (pair's one gather
 * from p*p rows gathers fewer rows than its table has, and is not) */
Test(rewrites, deep_linear) {
    same_step(
        (rcase){"deep_linear", {{"layers", "3"}, {"width", "12"}, {"input", "concat"}}, 11, 0});
}

/* the layer norms and the top-k attention (row-wise) under the passes */
Test(rewrites, attn_stack) {
    same_step((rcase){"attn_stack", {{"layers", "2"}, {"d-model", "16"}, {"heads", "2"}}, 11, 0});
}
Test(rewrites, attn_stack_mlp_topk) {
    same_step((rcase){"attn_stack",
                      {{"layers", "2"}, {"d-model", "16"}, {"mlp", "yes"}, {"attn-topk", "2"}},
                      11,
                      0});
}

/* Each pass fires on the canonical shapes, and the step stays the same
 * with any one of them left out (the others then see a different graph). */
static void each_pass(rcase c, const char *const *must_fire) {
    mg_trainer *t = make(&c, "");
    for (int k = 0; must_fire[k]; k++)
        cr_assert_gt(rewrites_by(t, must_fire[k]), 0, "%s: pass %s made no rewrite", c.model,
                     must_fire[k]);
    mg_trainer_free(t);
    for (int i = 0; i < mg_pass_count(); i++) same_step_without(c, mg_pass_at(i)->name);
}
Test(rewrites, mlp_each_pass) {
    each_pass((rcase){"mlp", {{"d", "8"}, {"width", "16"}}, 11, 0},
              (const char *const[]){"gather_hoist", "fuse", NULL});
}
Test(rewrites, transformer_each_pass) {
    each_pass((rcase){"transformer", {{"d-model", "16"}, {"heads", "2"}, {"d-mlp", "32"}}, 11, 0},
              (const char *const[]){"gather_hoist", "dead_rows", "constants", "copies", "fuse",
                                    "views", NULL});
}

/* dead_rows cuts the last block to the last position; constants does not
 * fire (the "=" token's row meets a layer norm before anything it could
 * hoist) */
Test(rewrites, attn_stack_each_pass) {
    each_pass((rcase){"attn_stack", {{"layers", "2"}, {"d-model", "16"}, {"heads", "2"}}, 11, 0},
              (const char *const[]){"dead_rows", NULL});
}

Test(rewrites, a_uniform_part_must_be_a_range_of_an_input_after_the_batch_axis) {
    mg_params *P = mg_params_new();
    mg_graph *g = mg_graph_new(P);
    mg_tensor *tokens = mg_input(g, "tokens", MG_I32, MG_SHAPE(6, 3));
    cr_assert_eq(mg_input_uniform(tokens, 0, 0, 1), MG_ERR_ARG);
    cr_assert_eq(mg_input_uniform(tokens, 1, 2, 2), MG_ERR_ARG);
    cr_assert(strstr(mg_errmsg(), "tokens"), "%s", mg_errmsg());
    cr_assert_eq(mg_input_uniform(tokens, 1, 2, 1), MG_OK);
    mg_graph_free(g);
    mg_params_free(P);
}

Test(rewrites, unknown_name_is_refused_with_the_list) {
    mg_params *P = mg_params_new();
    mg_graph *g = mg_graph_new(P);
    cr_assert_eq(mg_graph_set_rewrites(g, "gather_hoist,nope"), MG_ERR_ARG);
    cr_assert(strstr(mg_errmsg(), "nope") && strstr(mg_errmsg(), "gather_hoist"), "%s",
              mg_errmsg());
    cr_assert_eq(mg_graph_set_rewrites(g, "gather_hoist"), MG_OK);
    mg_graph_free(g);
    mg_params_free(P);
}

static int fails_silently(mg_graph *g) {
    (void)g;
    return -1;
}
static int fails_saying_why(mg_graph *g) {
    mg_graph_fail(g, MG_ERR_SHAPE, "node #3 has a shape I cannot rewrite");
    return -1;
}

/* Compiles relu(x) with pass p registered (in this test's process only). */
static mg_status compile_with(const mg_pass *p, char *msg, size_t n) {
    cr_assert_eq(mg_pass_register(p), MG_OK, "%s", mg_errmsg());
    mg_params *P = mg_params_new();
    mg_graph *g = mg_graph_new(P);
    mg_tensor *x = mg_input(g, "x", MG_F32, MG_SHAPE(4));
    mg_tensor *y = mg_apply_named(g, "relu", 1, &x, NULL);
    mg_graph_keep(g, y);
    mg_status st = mg_graph_compile(g, NULL);
    snprintf(msg, n, "%s", mg_graph_error(g));
    cr_expect_str_eq(mg_errmsg(), msg, "the thread's message is the graph's");
    mg_graph_free(g);
    mg_params_free(P);
    return st;
}

Test(rewrites, a_pass_that_fails_without_a_message_is_named) {
    static const mg_pass silent = {.name = "t_silent", .order = 1, .run = fails_silently};
    char msg[1024];
    cr_assert_eq(compile_with(&silent, msg, sizeof msg), MG_ERR_STATE);
    cr_expect(strstr(msg, "rewrite 't_silent'") && strstr(msg, "--no-rewrite t_silent"), "%s", msg);
}

Test(rewrites, a_pass_error_keeps_its_status_and_message_and_names_the_pass) {
    static const mg_pass loud = {.name = "t_loud", .order = 1, .run = fails_saying_why};
    char msg[1024];
    cr_assert_eq(compile_with(&loud, msg, sizeof msg), MG_ERR_SHAPE);
    cr_expect_str_eq(msg, "rewrite 't_loud': node #3 has a shape I cannot rewrite");
}
