/* test_optim.c — the optimizers: SGD with momentum, Adam and AdamW against
 * values worked out by hand, per-layer overrides, errors, no allocation per
 * step, and bit-exact resumption from the checkpointed state. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/optim.h"

/* The store of every value test: two parameters in two layers, laid out as
 * [a.w[0], a.w[1], b.w[0], b.w[1]]. Values and gradients are exact in binary
 * so that the hand arithmetic below starts from exact numbers. */
static const float W0[4] = {1.0f, -2.0f, 0.5f, 4.0f};
static const float G1[4] = {0.5f, -0.25f, 1.0f, -0.125f}; /* gradient at step 1 */
static const float G2[4] = {0.25f, 0.5f, -0.5f, 0.75f};   /* gradient at step 2 */

/* Float32 against double hand values near 1: a few ulps. */
#define TOL 2e-6f

static mg_params *two_layers(void) {
    mg_params *p = mg_params_new();
    cr_assert_not_null(p);
    int64_t shape[1] = {2};
    cr_assert_eq(mg_params_declare(p, "a.w", MG_INIT_ZERO, 1, shape, NULL), MG_OK, "%s",
                 mg_errmsg());
    cr_assert_eq(mg_params_declare(p, "b.w", MG_INIT_ZERO, 1, shape, NULL), MG_OK, "%s",
                 mg_errmsg());
    cr_assert_eq(mg_params_alloc(p), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(mg_params_total(p), 4);
    memcpy(mg_params_data(p), W0, sizeof W0);
    return p;
}

static void set_grad(mg_params *p, const float g[4]) {
    memcpy(mg_params_grad(p), g, 4 * sizeof *g);
}

static void expect_w(mg_params *p, const double want[4], const char *when) {
    const float *w = mg_params_data(p);
    for (int i = 0; i < 4; i++)
        cr_assert_float_eq(w[i], want[i], TOL, "%s: w[%d] = %.9g, want %.9g", when, i, (double)w[i],
                           want[i]);
}

static mg_optim *make(mg_params *p, mg_opt_cfg cfg) {
    mg_optim *o = mg_optim_new(p, &cfg);
    cr_assert_not_null(o, "%s", mg_errmsg());
    return o;
}

Test(optim, sgd_momentum_two_steps_match_hand_values) {
    /* lr 0.1, momentum 0.9, coupled weight decay 0.01.
     * step 1: d = g1 + 0.01 w0; buf = d; w1 = w0 - 0.1 buf
     *   a0: d = 0.5 + 0.01*1 = 0.51          w1 = 1 - 0.051 = 0.949
     *   a1: d = -0.25 + 0.01*(-2) = -0.27    w1 = -2 + 0.027 = -1.973
     *   b0: d = 1 + 0.01*0.5 = 1.005         w1 = 0.5 - 0.1005 = 0.3995
     *   b1: d = -0.125 + 0.01*4 = -0.085     w1 = 4 + 0.0085 = 4.0085
     * step 2: d = g2 + 0.01 w1; buf = 0.9 buf + d; w2 = w1 - 0.1 buf
     *   a0: d = 0.25 + 0.00949 = 0.25949;   buf = 0.459 + 0.25949 = 0.71849;
     *       w2 = 0.949 - 0.071849 = 0.877151
     *   a1: d = 0.5 - 0.01973 = 0.48027;    buf = -0.243 + 0.48027 = 0.23727;
     *       w2 = -1.973 - 0.023727 = -1.996727
     *   b0: d = -0.5 + 0.003995 = -0.496005; buf = 0.9045 - 0.496005 = 0.408495;
     *       w2 = 0.3995 - 0.0408495 = 0.3586505
     *   b1: d = 0.75 + 0.040085 = 0.790085; buf = -0.0765 + 0.790085 = 0.713585;
     *       w2 = 4.0085 - 0.0713585 = 3.9371415 */
    mg_params *p = two_layers();
    mg_opt_cfg cfg = mg_opt_defaults(MG_OPT_SGD);
    cfg.lr = 0.1f;
    cfg.weight_decay = 0.01f;
    mg_optim *o = make(p, cfg);
    set_grad(p, G1);
    mg_optim_step(o);
    expect_w(p, (const double[4]){0.949, -1.973, 0.3995, 4.0085}, "step 1");
    const double buf1[4] = {0.51, -0.27, 1.005, -0.085};
    for (int i = 0; i < 4; i++) cr_assert_float_eq(mg_optim_m(o)[i], buf1[i], TOL);
    set_grad(p, G2);
    mg_optim_step(o);
    expect_w(p, (const double[4]){0.877151, -1.996727, 0.3586505, 3.9371415}, "step 2");
    const double buf2[4] = {0.71849, 0.23727, 0.408495, 0.713585};
    for (int i = 0; i < 4; i++) {
        cr_assert_float_eq(mg_optim_m(o)[i], buf2[i], TOL);
        cr_assert_eq(mg_optim_v(o)[i], 0.0f, "SGD leaves v at zero");
    }
    cr_assert_eq(mg_optim_steps(o), 2);
    mg_optim_free(o);
    mg_params_free(p);
}

Test(optim, adam_two_steps_match_hand_values) {
    /* lr 0.01, betas 0.9/0.98, eps 1e-8, coupled weight decay 0.01.
     * step 1 (t = 1, bc1 = 0.1, bc2 = 0.02): g = g1 + 0.01 w0; m = 0.1 g;
     *   v = 0.02 g^2; m/bc1 = g, sqrt(v/bc2) = |g|, so
     *   w1 = w0 - 0.01 g/(|g| + 1e-8) = w0 - 0.01 sign(g) (to 2e-10):
     *   g = (0.51, -0.27, 1.005, -0.085) -> w1 = (0.99, -1.99, 0.49, 4.01)
     * step 2 (t = 2, bc1 = 1 - 0.81 = 0.19, bc2 = 1 - 0.9604 = 0.0396):
     *   a0: g = 0.25 + 0.01*0.99 = 0.2599;  m = 0.9*0.051 + 0.1*0.2599 = 0.07189
     *       v = 0.98*0.005202 + 0.02*0.2599^2 = 0.00509796 + 0.00135096 = 0.00644892
     *       w2 = 0.99 - (0.01/0.19) * 0.07189 / (sqrt(0.00644892)/sqrt(0.0396) + 1e-8)
     *          = 0.99 - 0.0526316 * 0.07189 / 0.403549 = 0.98062397
     *   a1: g = 0.5 - 0.0199 = 0.4801;     m = -0.0243 + 0.04801 = 0.02371
     *       v = 0.98*0.001458 + 0.02*0.4801^2 = 0.00603876
     *       w2 = -1.99 - 0.0526316 * 0.02371 / 0.390505 = -1.99319560
     *   b0: g = -0.5 + 0.0049 = -0.4951;   m = 0.09045 - 0.04951 = 0.04094
     *       v = 0.98*0.0202005 + 0.02*0.4951^2 = 0.02469897
     *       w2 = 0.49 - 0.0526316 * 0.04094 / 0.789754 = 0.48727164
     *   b1: g = 0.75 + 0.0401 = 0.7901;    m = -0.00765 + 0.07901 = 0.07136
     *       v = 0.98*0.0001445 + 0.02*0.7901^2 = 0.01262677
     *       w2 = 4.01 - 0.0526316 * 0.07136 / 0.564675 = 4.00334876
     * (evaluated in double Python, with the products above carried in full). */
    mg_params *p = two_layers();
    mg_opt_cfg cfg = mg_opt_defaults(MG_OPT_ADAM);
    cfg.lr = 0.01f;
    cfg.weight_decay = 0.01f;
    mg_optim *o = make(p, cfg);
    set_grad(p, G1);
    mg_optim_step(o);
    expect_w(p, (const double[4]){0.99, -1.99, 0.49, 4.01}, "step 1");
    set_grad(p, G2);
    mg_optim_step(o);
    expect_w(p, (const double[4]){0.9806239707, -1.993195595, 0.4872716355, 4.003348758}, "step 2");
    const double m2[4] = {0.07189, 0.02371, 0.04094, 0.07136};
    const double v2[4] = {0.00644892020, 0.00603876020, 0.02469897020, 0.01262677020};
    for (int i = 0; i < 4; i++) {
        cr_assert_float_eq(mg_optim_m(o)[i], m2[i], 1e-7f, "m[%d]", i);
        cr_assert_float_eq(mg_optim_v(o)[i], v2[i], 1e-8f, "v[%d]", i);
    }
    mg_optim_free(o);
    mg_params_free(p);
}

Test(optim, adamw_two_steps_match_hand_values) {
    /* lr 0.01, betas 0.9/0.98, eps 1e-8, decoupled weight decay 0.5:
     * each step first w *= 1 - 0.01*0.5 = 0.995, then Adam with g = grad.
     * step 1: w0*0.995 = (0.995, -1.99, 0.4975, 3.98); Adam moves each by
     *   -0.01 sign(g1): w1 = (0.985, -1.98, 0.4875, 3.99)
     * step 2 (bc1 = 0.19, bc2 = 0.0396), w1*0.995 = (0.980075, -1.9701,
     *   0.4850625, 3.97005):
     *   a0: m = 0.9*0.05 + 0.1*0.25 = 0.07;   v = 0.98*0.005 + 0.02*0.0625 = 0.00615
     *       w2 = 0.980075 - (0.01/0.19) * 0.07 / (sqrt(0.00615/0.0396) + 1e-8)
     *          = 0.980075 - 0.0526316 * 0.07 / 0.394085 = 0.97072623
     *   a1: m = -0.0225 + 0.05 = 0.0275;      v = 0.98*0.00125 + 0.02*0.25 = 0.006225
     *       w2 = -1.9701 - 0.0526316 * 0.0275 / 0.396481 = -1.97375054
     *   b0: m = 0.09 - 0.05 = 0.04;           v = 0.98*0.02 + 0.02*0.25 = 0.0246
     *       w2 = 0.4850625 - 0.0526316 * 0.04 / 0.788170 = 0.48239142
     *   b1: m = -0.01125 + 0.075 = 0.06375;   v = 0.98*0.0003125 + 0.02*0.5625 = 0.01155625
     *       w2 = 3.97005 - 0.0526316 * 0.06375 / 0.540208 = 3.96383894 */
    mg_params *p = two_layers();
    mg_opt_cfg cfg = mg_opt_defaults(MG_OPT_ADAMW);
    cfg.lr = 0.01f;
    cfg.weight_decay = 0.5f;
    mg_optim *o = make(p, cfg);
    set_grad(p, G1);
    mg_optim_step(o);
    expect_w(p, (const double[4]){0.985, -1.98, 0.4875, 3.99}, "step 1");
    set_grad(p, G2);
    mg_optim_step(o);
    expect_w(p, (const double[4]){0.9707262305, -1.973750539, 0.482391423, 3.963838939}, "step 2");
    const double m2[4] = {0.07, 0.0275, 0.04, 0.06375};
    const double v2[4] = {0.00615, 0.006225, 0.0246, 0.01155625};
    for (int i = 0; i < 4; i++) {
        cr_assert_float_eq(mg_optim_m(o)[i], m2[i], 1e-7f, "m[%d]", i);
        cr_assert_float_eq(mg_optim_v(o)[i], v2[i], 1e-8f, "v[%d]", i);
    }
    mg_optim_free(o);
    mg_params_free(p);
}

Test(optim, layer_lr_override_applies_to_its_layer_only) {
    /* Plain SGD (momentum 0, wd 0), lr 0.1, layer b at lr 0.5: one step
     * moves a by -0.1 g1 and b by -0.5 g1. */
    mg_params *p = two_layers();
    mg_opt_cfg cfg = mg_opt_defaults(MG_OPT_SGD);
    cfg.lr = 0.1f;
    cfg.momentum = 0.0f;
    mg_optim *o = make(p, cfg);
    cr_assert_eq(mg_optim_set_layer_lr(o, "b", 0.5f), MG_OK, "%s", mg_errmsg());
    cr_assert_float_eq(mg_optim_layer_lr(o, 0), 0.1f, 0.0f);
    cr_assert_float_eq(mg_optim_layer_lr(o, 1), 0.5f, 0.0f);
    cr_assert(isnan(mg_optim_layer_lr(o, 2)), "an index past the last layer reads NAN");
    set_grad(p, G1);
    mg_optim_step(o);
    /* a: 1 - 0.05 = 0.95, -2 + 0.025 = -1.975; b: 0.5 - 0.5 = 0, 4 + 0.0625 */
    expect_w(p, (const double[4]){0.95, -1.975, 0.0, 4.0625}, "lr override");
    mg_optim_free(o);
    mg_params_free(p);
}

Test(optim, layer_wd_override_applies_to_its_layer_only) {
    /* AdamW with zero gradient: m = v = 0, so the Adam part is 0/(0 + eps)
     * = 0 and only the decay moves w. lr 0.1; layer a decays with wd 0.5
     * (w *= 0.95), layer b keeps wd 0 (unchanged). */
    mg_params *p = two_layers();
    mg_opt_cfg cfg = mg_opt_defaults(MG_OPT_ADAMW);
    cfg.lr = 0.1f;
    cfg.weight_decay = 0.0f;
    mg_optim *o = make(p, cfg);
    cr_assert_eq(mg_optim_set_layer_wd(o, "a", 0.5f), MG_OK, "%s", mg_errmsg());
    cr_assert_float_eq(mg_optim_layer_wd(o, 0), 0.5f, 0.0f);
    cr_assert_float_eq(mg_optim_layer_wd(o, 1), 0.0f, 0.0f);
    mg_optim_step(o); /* gradients are zero after mg_params_alloc */
    expect_w(p, (const double[4]){0.95, -1.9, 0.5, 4.0}, "wd override");
    mg_optim_free(o);
    mg_params_free(p);
}

Test(optim, unknown_layer_is_an_error_naming_it_and_the_known_layers) {
    mg_params *p = two_layers();
    mg_optim *o = make(p, mg_opt_defaults(MG_OPT_ADAMW));
    cr_assert_eq(mg_optim_set_layer_lr(o, "embed", 0.1f), MG_ERR_ARG);
    cr_assert(strstr(mg_errmsg(), "'embed'"), "message: %s", mg_errmsg());
    cr_assert(strstr(mg_errmsg(), "a, b"), "lists the known layers: %s", mg_errmsg());
    cr_assert_eq(mg_optim_set_layer_wd(o, "classifier", 0.1f), MG_ERR_ARG);
    cr_assert(strstr(mg_errmsg(), "'classifier'"), "message: %s", mg_errmsg());
    /* Nothing changed. */
    cr_assert_float_eq(mg_optim_layer_lr(o, 0), 1e-3f, 0.0f);
    cr_assert_float_eq(mg_optim_layer_wd(o, 1), 1.0f, 0.0f);
    cr_assert_eq(mg_optim_set_layer_lr(o, "a", -1.0f), MG_ERR_ARG, "a negative lr is refused");
    mg_optim_free(o);
    mg_params_free(p);
}

Test(optim, step_does_no_heap_allocation) {
    mg_opt_kind kinds[] = {MG_OPT_SGD, MG_OPT_ADAM, MG_OPT_ADAMW};
    for (int k = 0; k < 3; k++) {
        mg_params *p = two_layers();
        mg_optim *o = make(p, mg_opt_defaults(kinds[k]));
        set_grad(p, G1);
        uint64_t before = mg_alloc_count();
        for (int s = 0; s < 5; s++) mg_optim_step(o);
        cr_assert_eq(mg_alloc_count(), before, "%s allocated during a step",
                     mg_opt_kind_name(kinds[k]));
        mg_optim_free(o);
        mg_params_free(p);
    }
}

Test(optim, resumes_bit_exactly_from_its_state) {
    /* Run A for three steps; run B from A's parameters, m, v and step count
     * after two steps; the third step must agree bit for bit. */
    mg_opt_kind kinds[] = {MG_OPT_SGD, MG_OPT_ADAM, MG_OPT_ADAMW};
    for (int k = 0; k < 3; k++) {
        mg_params *pa = two_layers(), *pb = two_layers();
        mg_optim *a = make(pa, mg_opt_defaults(kinds[k]));
        set_grad(pa, G1);
        mg_optim_step(a);
        set_grad(pa, G2);
        mg_optim_step(a);
        mg_optim *b = make(pb, mg_opt_defaults(kinds[k]));
        memcpy(mg_params_data(pb), mg_params_data(pa), 4 * sizeof(float));
        memcpy(mg_optim_m(b), mg_optim_m(a), 4 * sizeof(float));
        memcpy(mg_optim_v(b), mg_optim_v(a), 4 * sizeof(float));
        mg_optim_set_steps(b, mg_optim_steps(a));
        set_grad(pa, G1);
        set_grad(pb, G1);
        mg_optim_step(a);
        mg_optim_step(b);
        cr_assert(memcmp(mg_params_data(pa), mg_params_data(pb), 4 * sizeof(float)) == 0, "%s",
                  mg_opt_kind_name(kinds[k]));
        cr_assert_eq(mg_optim_steps(b), 3);
        mg_optim_free(a);
        mg_optim_free(b);
        mg_params_free(pa);
        mg_params_free(pb);
    }
}

Test(optim, defaults_match_the_documented_settings) {
    mg_opt_cfg w = mg_opt_defaults(MG_OPT_ADAMW);
    cr_assert(w.kind == MG_OPT_ADAMW && w.lr == 1e-3f && w.beta1 == 0.9f && w.beta2 == 0.98f &&
              w.eps == 1e-8f && w.weight_decay == 1.0f);
    mg_opt_cfg a = mg_opt_defaults(MG_OPT_ADAM);
    cr_assert(a.kind == MG_OPT_ADAM && a.lr == 1e-3f && a.beta1 == 0.9f && a.beta2 == 0.98f &&
              a.eps == 1e-8f && a.weight_decay == 0.0f);
    mg_opt_cfg s = mg_opt_defaults(MG_OPT_SGD);
    cr_assert(s.kind == MG_OPT_SGD && s.lr == 1e-2f && s.momentum == 0.9f &&
              s.weight_decay == 0.0f);
}

Test(optim, kind_names_parse_and_print) {
    mg_opt_kind k;
    cr_assert_eq(mg_opt_kind_parse("sgd", &k), MG_OK);
    cr_assert_eq(k, MG_OPT_SGD);
    cr_assert_eq(mg_opt_kind_parse("adam", &k), MG_OK);
    cr_assert_eq(k, MG_OPT_ADAM);
    cr_assert_eq(mg_opt_kind_parse("adamw", &k), MG_OK);
    cr_assert_eq(k, MG_OPT_ADAMW);
    cr_assert_str_eq(mg_opt_kind_name(MG_OPT_SGD), "sgd");
    cr_assert_str_eq(mg_opt_kind_name(MG_OPT_ADAM), "adam");
    cr_assert_str_eq(mg_opt_kind_name(MG_OPT_ADAMW), "adamw");
    cr_assert_eq(mg_opt_kind_parse("rmsprop", &k), MG_ERR_ARG);
    cr_assert(strstr(mg_errmsg(), "'rmsprop'") && strstr(mg_errmsg(), "sgd, adam or adamw"),
              "message: %s", mg_errmsg());
}

Test(optim, new_refuses_an_unallocated_store_and_bad_settings) {
    mg_params *p = mg_params_new();
    int64_t shape[1] = {3};
    cr_assert_eq(mg_params_declare(p, "x", MG_INIT_ZERO, 1, shape, NULL), MG_OK);
    mg_opt_cfg cfg = mg_opt_defaults(MG_OPT_ADAMW);
    cr_assert_null(mg_optim_new(p, &cfg));
    cr_assert(strstr(mg_errmsg(), "mg_params_alloc"), "message: %s", mg_errmsg());
    cr_assert_eq(mg_params_alloc(p), MG_OK);
    cfg.beta2 = 1.0f;
    cr_assert_null(mg_optim_new(p, &cfg));
    cr_assert(strstr(mg_errmsg(), "beta2"), "message: %s", mg_errmsg());
    cfg = mg_opt_defaults(MG_OPT_SGD);
    cfg.lr = NAN;
    cr_assert_null(mg_optim_new(p, &cfg));
    cr_assert(strstr(mg_errmsg(), "--lr"), "message: %s", mg_errmsg());
    mg_params_free(p);
}

Test(optim, step_names_the_layer_whose_weights_turn_non_finite) {
    mg_params *p = two_layers();
    mg_opt_cfg cfg = mg_opt_defaults(MG_OPT_SGD);
    cfg.lr = 1e10f;
    cfg.momentum = 0.0f;
    cfg.weight_decay = 0.0f;
    mg_optim *o = make(p, cfg);
    set_grad(p, G1);
    cr_expect_eq(mg_optim_step(o), -1, "finite weights reported as broken");
    /* b.w's gradient overflows the update: its weights become Inf. */
    const float huge[4] = {0.0f, 0.0f, 3e38f, 0.0f};
    set_grad(p, huge);
    cr_expect_eq(mg_optim_step(o), 1, "layer of b.w not named");
    cr_expect(isinf(mg_params_data(p)[2]));
    mg_optim_free(o);
    mg_params_free(p);
}

Test(optim, adamw_step_reports_nan_weights) {
    mg_params *p = two_layers();
    mg_opt_cfg cfg = mg_opt_defaults(MG_OPT_ADAMW);
    mg_optim *o = make(p, cfg);
    const float g[4] = {0.5f, NAN, 0.0f, 0.0f};
    set_grad(p, g);
    cr_expect_eq(mg_optim_step(o), 0, "layer of a.w not named");
    mg_optim_free(o);
    mg_params_free(p);
}
