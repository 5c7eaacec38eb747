/* test_deep_linear.c — deep_linear's two inputs: the pair's one-hot fits a
 * training set that the concatenated one-hots cannot, it reads row a*p + b,
 * its first layer starts at concat's variance, and --input concat is the
 * model as it was before pair, bit for bit. (The whole-model gradient checks
 * of both inputs are in test_models.c with the other models'.) */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "core/gemm.h"
#include "core/hash.h"
#include "core/rng.h"
#include "models/harness/train.h"
#include "ops/ops.h"
#include "tests/util/gradcheck.h"
#include "tests/util/pin.h"

static void setup(void) { mg_gemm_init(1); }
TestSuite(deep_linear, .init = setup, .timeout = 120);

static const mg_model_def *dl(void) {
    const mg_model_def *m = mg_model_find("deep_linear");
    cr_assert_not_null(m, "%s", mg_errmsg());
    return m;
}

static double input_value(const char *name) {
    double v = -1;
    cr_assert_eq(mg_model_option_parse(dl(), mg_model_option_index(dl(), "input"), name, &v), MG_OK,
                 "%s", mg_errmsg());
    return v;
}

/* The canonical setting of deep_linear (P = 97, one thread) with --input
 * input and the task's modulus p. */
static mg_train_cfg config(const char *input, int p) {
    mg_train_cfg cfg;
    mg_train_defaults(&cfg, dl());
    cfg.opt[mg_model_option_index(dl(), "input")] = input_value(input);
    cfg.task.p = p;
    cfg.threads = 1;
    return cfg;
}

static mg_trainer *trainer(const mg_train_cfg *cfg) {
    mg_trainer *t = NULL;
    cr_assert_eq(mg_trainer_new(cfg, &t), MG_OK, "%s", mg_errmsg());
    return t;
}

/* Trains for steps and returns the train and test evaluations. */
static void train(const char *input, int p, int steps, mg_eval *tr, mg_eval *te) {
    mg_train_cfg cfg = config(input, p);
    mg_trainer *t = trainer(&cfg);
    for (int s = 0; s < steps; s++)
        cr_assert_eq(mg_trainer_step(t), MG_OK, "%s step %d: %s", input, s, mg_errmsg());
    cr_assert_eq(mg_trainer_eval_train(t, tr), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(mg_trainer_eval_test(t, te), MG_OK, "%s", mg_errmsg());
    mg_trainer_free(t);
}

Test(deep_linear, the_default_input_is_pair) {
    int i = mg_model_option_index(dl(), "input");
    cr_assert_geq(i, 0);
    cr_expect_eq(dl()->options[i].def, input_value("pair"));
    cr_expect_neq(input_value("pair"), input_value("concat"));
}

/* The finding at P = 23: the pair's one-hot reaches train accuracy
 * 1 within 300 steps (it memorises: test stays near chance, 1/23), while
 * u(a) + v(b) stays far below it at the same step. */
Test(deep_linear, pair_fits_the_training_set_and_concat_cannot) {
    const int p = 23, steps = 300;
    mg_eval pair_tr, pair_te, cat_tr, cat_te;
    train("pair", p, steps, &pair_tr, &pair_te);
    train("concat", p, steps, &cat_tr, &cat_te);
    cr_log_info("P = %d, %d steps: train acc pair %.4f, concat %.4f; test acc pair %.4f", p, steps,
                pair_tr.acc, cat_tr.acc, pair_te.acc);
    cr_expect_eq(pair_tr.acc, 1.0, "pair: train accuracy %.4f after %d steps", pair_tr.acc, steps);
    cr_expect_lt(pair_tr.loss, 0.05, "pair: train loss %.4f", pair_tr.loss);
    cr_expect_lt(pair_te.acc, 0.15, "pair: test accuracy %.4f, not chance (1/%d)", pair_te.acc, p);
    cr_expect_lt(cat_tr.acc, 0.5, "concat: train accuracy %.4f after %d steps", cat_tr.acc, steps);
}

/* The concat model before the input option existed: its canonical
 * fingerprint (tests/test_canonical.c pinned it until pair became the
 * default). */
Test(deep_linear, concat_is_the_model_before_pair_bit_for_bit) {
    mg_train_cfg cfg = config("concat", 97);
    mg_trainer *t = trainer(&cfg);
    for (int s = 0; s < 20; s++) cr_assert_eq(mg_trainer_step(t), MG_OK, "%s", mg_errmsg());
    uint64_t h = mg_hash_params(mg_trainer_params(t));
    mg_trainer_free(t);
    uint64_t want =
        mg_pin_value((mg_pin){0xf3a3c25a703569c7ULL, 0x4e4caffe9fd11dd5ULL}, "concat", h);
    cr_expect_eq(h, want, "fingerprint %016llx, pinned %016llx (BLIS %s)", (unsigned long long)h,
                 (unsigned long long)want, mg_blis_arch());
}

/* The standard deviation of a parameter's elements. */
static double param_std(mg_params *P, const char *name, const mg_param_info **info) {
    int k = mg_params_find(P, name);
    cr_assert_geq(k, 0, "no parameter %s", name);
    *info = mg_params_info(P, k);
    const float *w = mg_params_data(P) + (*info)->offset;
    double ss = 0;
    for (size_t i = 0; i < (*info)->numel; i++) ss += (double)w[i] * w[i];
    return sqrt(ss / (double)(*info)->numel);
}

/* pair's layer1 is (p*p, w) of N(0, s^2 / p); concat's is (2p, w) of
 * N(0, s^2 / (2p)), so x W1 has the variance s^2 / p either way. */
Test(deep_linear, pair_layer1_starts_at_concats_first_layer_variance) {
    const int p = 23, w = 128;
    const double s = 0.5;
    const char *inputs[] = {"pair", "concat"};
    const int64_t rows[] = {p * p, 2 * p};
    const double per_row[] = {1, 2}; /* rows summed by x W1 */
    for (int k = 0; k < 2; k++) {
        mg_train_cfg cfg = config(inputs[k], p);
        cfg.opt[mg_model_option_index(dl(), "init-scale")] = s;
        mg_trainer *t = trainer(&cfg);
        const mg_param_info *info = NULL;
        double sd = param_std(mg_trainer_params(t), "layer1", &info);
        cr_expect_eq(info->ndim, 2);
        cr_expect_eq(info->shape[0], rows[k], "%s: layer1 has %lld rows", inputs[k],
                     (long long)info->shape[0]);
        cr_expect_eq(info->shape[1], w);
        double var_h = per_row[k] * sd * sd, want = s * s / p;
        cr_expect(fabs(var_h / want - 1) < 0.05, "%s: var(x W1) %.5g, want s^2/p = %.5g", inputs[k],
                  var_h, want);
        mg_trainer_free(t);
    }
}

/* With two layers the features are x W1: for pair, row a*p + b of layer1. */
Test(deep_linear, pair_reads_row_a_times_p_plus_b) {
    const int p = 5, w = 3, n = 4;
    double opt[MG_MODEL_MAX_OPTIONS];
    for (int i = 0; i < dl()->n_options; i++) opt[i] = dl()->options[i].def;
    opt[mg_model_option_index(dl(), "layers")] = 2;
    opt[mg_model_option_index(dl(), "width")] = w;
    mg_params *P = mg_params_new();
    mg_graph *g = mg_graph_new(P);
    mg_tensor *a = mg_input(g, "a", MG_I32, MG_SHAPE(n)),
              *b = mg_input(g, "b", MG_I32, MG_SHAPE(n));
    mg_model_io io = {.n = n, .T = 3, .V = p + 1, .K = p, .n_values = p, .a = a, .b = b};
    mg_model_out out = {0};
    cr_assert_eq(dl()->build(g, &io, opt, &out), MG_OK, "%s", mg_graph_error(g));
    mg_graph_keep(g, out.features);
    cr_assert_eq(mg_graph_compile(g, NULL), MG_OK, "%s", mg_errmsg());
    mg_rng rng;
    mg_rng_seed(&rng, 3);
    mg_params_init(P, &rng);
    const int32_t av[] = {0, 4, 2, 4}, bv[] = {3, 0, 2, 4};
    mg_fill_i32(a, av);
    mg_fill_i32(b, bv);
    cr_assert_eq(mg_graph_forward(g), MG_OK, "%s", mg_errmsg());
    const float *W1 = mg_params_data(P) + mg_params_info(P, mg_params_find(P, "layer1"))->offset;
    const float *h = mg_f32(out.features);
    for (int r = 0; r < n; r++)
        for (int j = 0; j < w; j++)
            cr_expect_eq(h[r * w + j], W1[(av[r] * p + bv[r]) * w + j], "row %d (%d, %d) col %d", r,
                         av[r], bv[r], j);
    /* an operand outside [0, p) is refused with a message, not read */
    mg_fill_i32(a, (int32_t[]){0, 1, 5, 2});
    cr_expect_eq(mg_graph_forward(g), MG_ERR_ARG);
    cr_expect(strstr(mg_errmsg(), "outside [0, 5)") != NULL, "%s", mg_errmsg());
    mg_graph_free(g);
    mg_params_free(P);
}

/* The int op that forms a*p + b lives in the memory plan like any other: in
 * checking mode with reuse off (core/graph.h: a buffer is NaN once its
 * interval ends) three steps give the parameters of three plain steps. */
Test(deep_linear, pair_steps_the_same_in_checking_mode) {
    mg_params *end[2];
    mg_trainer *t[2];
    for (int k = 0; k < 2; k++) {
        mg_train_cfg cfg = config("pair", 11);
        cfg.opt[mg_model_option_index(dl(), "width")] = 12;
        cfg.graph_checking = k == 1;
        cfg.graph_no_reuse = k == 1;
        t[k] = trainer(&cfg);
        for (int s = 0; s < 3; s++) cr_assert_eq(mg_trainer_step(t[k]), MG_OK, "%s", mg_errmsg());
        end[k] = mg_trainer_params(t[k]);
    }
    size_t n = mg_params_total(end[0]);
    cr_assert_eq(n, mg_params_total(end[1]));
    cr_expect_eq(memcmp(mg_params_data(end[0]), mg_params_data(end[1]), n * sizeof(float)), 0);
    for (int k = 0; k < 2; k++) mg_trainer_free(t[k]);
}
