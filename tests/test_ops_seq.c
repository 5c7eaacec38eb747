/* test_ops_seq.c — the ops of the sequence models (ops/layernorm.c,
 * ops/gelu.c, ops/topk.c): gradient checks, values against plain double
 * loops in this file, layer norm's stability at a large offset, the top-k
 * ops' kept sets (ties, -inf, NaN), their build errors, and the same bits
 * on 1 and 2 kernel threads. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "core/gemm.h"
#include "core/rng.h"
#include "ops/ops.h"
#include "tests/util/check_grad.h"

/* A forward (and backward) run of y = build(x) on given values ------------- */

typedef mg_tensor *(*unary_fn)(mg_graph *g, mg_tensor *x, int k);

typedef struct {
    mg_params *P;
    mg_graph *g;
    mg_tensor *x, *w, *y, *loss;
} run;

/* x: a parameter of the given shape holding xv; y = fn(x, k), kept; with wv,
 * loss = sum(y * w) for an input w holding wv, run backward (x->grad = dL/dx). */
static run run_op(unary_fn fn, int k, int nd, const int64_t *shape, const float *xv,
                  const float *wv) {
    run r = {.P = mg_params_new()};
    r.g = mg_graph_new(r.P);
    r.x = mg_param(r.g, "x", MG_INIT_ZERO, nd, shape);
    r.y = fn(r.g, r.x, k);
    cr_assert_not_null(r.y, "%s", mg_graph_error(r.g));
    mg_graph_keep(r.g, r.y);
    if (wv) {
        r.w = mg_input(r.g, "w", MG_F32, nd, shape);
        r.loss = mg_sum_all(r.g, mg_mul(r.g, r.y, r.w));
    }
    cr_assert_eq(mg_graph_compile(r.g, r.loss), MG_OK, "%s", mg_errmsg());
    memcpy(r.x->data, xv, (size_t)mg_numel(r.x) * sizeof *xv);
    if (wv) memcpy(r.w->data, wv, (size_t)mg_numel(r.w) * sizeof *wv);
    cr_assert_eq(mg_graph_forward(r.g), MG_OK, "%s", mg_errmsg());
    if (wv) cr_assert_eq(mg_graph_backward(r.g), MG_OK, "%s", mg_errmsg());
    return r;
}
static void run_free(run *r) {
    mg_graph_free(r->g);
    mg_params_free(r->P);
}

/* Builds fn on an input of the given shape and expects a graph error of
 * status st whose message holds each of the strings. */
static void expect_build_error(unary_fn fn, int k, int nd, const int64_t *shape, mg_status st,
                               const char *a, const char *b) {
    mg_params *P = mg_params_new();
    mg_graph *g = mg_graph_new(P);
    mg_tensor *x = mg_input(g, "x", MG_F32, nd, shape);
    cr_assert_null(fn(g, x, k));
    cr_assert_eq(mg_graph_status(g), st, "%s", mg_graph_error(g));
    const char *msg = mg_graph_error(g);
    cr_expect(strstr(msg, a) != NULL, "'%s' not in: %s", a, msg);
    cr_expect(strstr(msg, b) != NULL, "'%s' not in: %s", b, msg);
    mg_graph_free(g);
    mg_params_free(P);
}

/* layer norm -------------------------------------------------------------- */

typedef struct {
    int nd;
    int64_t shape[3];
    bool x_input, affine_input; /* x, or gain and bias, are inputs (no gradient) */
    mg_tensor *x, *gain, *bias;
} ln_case;

static mg_tensor *build_ln(mg_graph *g, void *ctx) {
    ln_case *c = ctx;
    int64_t d = c->shape[c->nd - 1];
    c->x = c->x_input ? mg_input(g, "x", MG_F32, c->nd, c->shape)
                      : mg_param(g, "x", MG_NORMAL(2), c->nd, c->shape);
    c->gain = c->affine_input ? mg_input(g, "gain", MG_F32, MG_SHAPE(d))
                              : mg_param(g, "gain", MG_NORMAL(1), MG_SHAPE(d));
    c->bias = c->affine_input ? mg_input(g, "bias", MG_F32, MG_SHAPE(d))
                              : mg_param(g, "bias", MG_NORMAL(1), MG_SHAPE(d));
    return mg_layer_norm(g, c->x, c->gain, c->bias, 1e-5f);
}
/* The inputs among x, gain and bias get fixed values. */
static void fill_ln(mg_graph *g, void *ctx) {
    (void)g;
    ln_case *c = ctx;
    mg_tensor *ins[] = {c->x_input ? c->x : NULL, c->affine_input ? c->gain : NULL,
                        c->affine_input ? c->bias : NULL};
    for (int t = 0; t < 3; t++)
        for (int64_t i = 0; ins[t] && i < mg_numel(ins[t]); i++)
            mg_f32(ins[t])[i] = (float)(0.7 * sin(1.3 * (double)i + t) + (t == 1));
}
static void check_ln(const char *what, ln_case c, uint64_t seed) {
    mg_check_grad(what,
                  (mg_gradcheck_spec){.build = build_ln, .fill = fill_ln, .ctx = &c, .seed = seed});
}

Test(layer_norm, gradient_2d_to_x_gain_and_bias) {
    check_ln("layer_norm (3, 5)", (ln_case){.nd = 2, .shape = {3, 5}}, 41);
}
Test(layer_norm, gradient_3d_to_x_gain_and_bias) {
    check_ln("layer_norm (2, 3, 4)", (ln_case){.nd = 3, .shape = {2, 3, 4}}, 42);
}
Test(layer_norm, gradient_to_gain_and_bias_when_x_has_none) {
    check_ln("layer_norm, x an input", (ln_case){.nd = 2, .shape = {4, 6}, .x_input = true}, 43);
}
Test(layer_norm, gradient_to_x_when_gain_and_bias_have_none) {
    check_ln("layer_norm, gain and bias inputs",
             (ln_case){.nd = 3, .shape = {2, 2, 7}, .affine_input = true}, 44);
}

/* y = layer_norm(x, gain, bias) on inputs holding the given values. */
typedef struct {
    mg_params *P;
    mg_graph *g;
    mg_tensor *x, *gain, *bias, *y;
} ln_run;

static ln_run ln_forward(int rows, int d, const float *x, const float *gain, const float *bias,
                         float eps) {
    ln_run r = {.P = mg_params_new()};
    r.g = mg_graph_new(r.P);
    r.x = mg_input(r.g, "x", MG_F32, MG_SHAPE(rows, d));
    r.gain = mg_input(r.g, "gain", MG_F32, MG_SHAPE(d));
    r.bias = mg_input(r.g, "bias", MG_F32, MG_SHAPE(d));
    r.y = mg_layer_norm(r.g, r.x, r.gain, r.bias, eps);
    cr_assert_not_null(r.y, "%s", mg_graph_error(r.g));
    mg_graph_keep(r.g, r.y);
    cr_assert_eq(mg_graph_compile(r.g, NULL), MG_OK, "%s", mg_errmsg());
    memcpy(r.x->data, x, (size_t)(rows * d) * sizeof *x);
    memcpy(r.gain->data, gain, (size_t)d * sizeof *gain);
    memcpy(r.bias->data, bias, (size_t)d * sizeof *bias);
    cr_assert_eq(mg_graph_forward(r.g), MG_OK, "%s", mg_errmsg());
    return r;
}
static void ln_free(ln_run *r) {
    mg_graph_free(r->g);
    mg_params_free(r->P);
}

Test(layer_norm, rows_of_known_mean_and_variance_normalise_then_scale_and_shift) {
    enum { D = 8 };
    /* row 0: mean 5, biased variance 4; row 1 = 3 row 0 + 10: mean 25,
     * variance 36, the same normalised values */
    const float base[D] = {2, 4, 4, 4, 5, 5, 7, 9};
    float x[2 * D], gain[D], bias[D];
    for (int j = 0; j < D; j++) {
        x[j] = base[j];
        x[D + j] = 3 * base[j] + 10;
        gain[j] = 0.5f + 0.25f * (float)j;
        bias[j] = (float)j - 3;
    }
    const float eps = 1e-5f;
    ln_run r = ln_forward(2, D, x, gain, bias, eps);
    const double var[2] = {4, 36}, mean[2] = {5, 25};
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < D; j++) {
            double want = (x[i * D + j] - mean[i]) / sqrt(var[i] + eps) * gain[j] + bias[j];
            cr_expect_float_eq(mg_f32(r.y)[i * D + j], want, 1e-6, "(%d, %d): %.9g, want %.9g", i,
                               j, mg_f32(r.y)[i * D + j], want);
        }
    ln_free(&r);
}

Test(layer_norm, a_constant_row_gives_the_bias_and_eps_sets_the_scale) {
    /* variance 0: xhat = 0 whatever eps (> 0); y = bias */
    float x[4] = {3, 3, 3, 3}, gain[4] = {1, 2, 3, 4}, bias[4] = {-1, 0, 1, 2};
    ln_run r = ln_forward(1, 4, x, gain, bias, 1e-5f);
    for (int j = 0; j < 4; j++) cr_expect_eq(mg_f32(r.y)[j], bias[j], "element %d", j);
    ln_free(&r);
    /* eps enters as sqrt(var + eps): var 1, eps 3 halves xhat */
    float x2[2] = {-1, 1}, one[2] = {1, 1}, zero[2] = {0, 0};
    r = ln_forward(1, 2, x2, one, zero, 3.0f);
    cr_expect_float_eq(mg_f32(r.y)[0], -0.5f, 1e-7);
    cr_expect_float_eq(mg_f32(r.y)[1], 0.5f, 1e-7);
    ln_free(&r);
}

/* Rows at 1e4 plus noise of size 0.05: float's E[x^2] - E[x]^2 would be all
 * rounding (E[x^2] ~ 1e8 has an ulp of 8). Reference: a double two-pass
 * loop on the same float inputs. */
static void offset_row(float *x, int d) {
    for (int j = 0; j < d; j++) x[j] = (float)(1e4 + 0.05 * sin(2.1 * j + 0.3));
}

Test(layer_norm, a_large_offset_keeps_the_normalised_values) {
    enum { D = 32 };
    float x[D], gain[D], bias[D];
    offset_row(x, D);
    for (int j = 0; j < D; j++) gain[j] = 1, bias[j] = 0;
    ln_run r = ln_forward(1, D, x, gain, bias, 1e-5f);
    double mean = 0, var = 0, worst = 0;
    for (int j = 0; j < D; j++) mean += x[j];
    mean /= D;
    for (int j = 0; j < D; j++) var += (x[j] - mean) * (x[j] - mean);
    var /= D;
    cr_log_info("offset row: variance %.6g (a float E[x^2]-E[x]^2 cannot resolve below ~8)", var);
    for (int j = 0; j < D; j++) {
        double want = (x[j] - mean) / sqrt(var + 1e-5);
        worst = fmax(worst, fabs(mg_f32(r.y)[j] - want));
    }
    cr_log_info("offset row: worst |y - exact| %.3g", worst);
    cr_expect_lt(worst, 2e-6, "worst error %.3g", worst);
    ln_free(&r);
}

Test(layer_norm, backward_at_a_large_offset_matches_the_double_formula) {
    /* L = sum_j w_j y_j, gain 1, bias 0: dL/dx_j = rstd (w_j - mean w -
     * xhat_j mean(w xhat)) */
    enum { D = 16 };
    float xv[D], w[D];
    offset_row(xv, D);
    for (int j = 0; j < D; j++) w[j] = (float)cos(0.9 * j);
    mg_params *P = mg_params_new();
    mg_graph *g = mg_graph_new(P);
    mg_tensor *x = mg_param(g, "x", MG_INIT_ZERO, MG_SHAPE(1, D));
    mg_tensor *gain = mg_param(g, "gain", MG_INIT_ZERO, MG_SHAPE(D));
    mg_tensor *bias = mg_param(g, "bias", MG_INIT_ZERO, MG_SHAPE(D));
    mg_tensor *win = mg_input(g, "w", MG_F32, MG_SHAPE(1, D));
    mg_tensor *loss = mg_sum_all(g, mg_mul(g, mg_layer_norm(g, x, gain, bias, 1e-5f), win));
    cr_assert_eq(mg_graph_compile(g, loss), MG_OK, "%s", mg_errmsg());
    memcpy(x->data, xv, sizeof xv);
    memcpy(win->data, w, sizeof w);
    for (int j = 0; j < D; j++) mg_f32(gain)[j] = 1;
    cr_assert_eq(mg_graph_forward(g), MG_OK);
    cr_assert_eq(mg_graph_backward(g), MG_OK);
    double mean = 0, var = 0, mw = 0, mwx = 0, xhat[D];
    for (int j = 0; j < D; j++) mean += xv[j];
    mean /= D;
    for (int j = 0; j < D; j++) var += (xv[j] - mean) * (xv[j] - mean);
    double rstd = 1 / sqrt(var / D + 1e-5);
    for (int j = 0; j < D; j++) {
        xhat[j] = (xv[j] - mean) * rstd;
        mw += w[j] / (double)D;
        mwx += w[j] * xhat[j] / D;
    }
    for (int j = 0; j < D; j++) {
        double want = rstd * (w[j] - mw - xhat[j] * mwx);
        cr_expect_float_eq(x->grad[j], want, 1e-5 * rstd, "dx %d: %.9g, want %.9g", j, x->grad[j],
                           want);
        cr_expect_float_eq(gain->grad[j], w[j] * xhat[j], 1e-5, "dgain %d", j);
        cr_expect_float_eq(bias->grad[j], w[j], 1e-7, "dbias %d", j);
    }
    mg_graph_free(g);
    mg_params_free(P);
}

/* Forward and dx of layer_norm on rows x (rows, d), loss sum(y * w). */
static void ln_rows(int rows, int d, const float *xv, const float *gv, const float *wv, float *y,
                    float *dx) {
    mg_params *P = mg_params_new();
    mg_graph *g = mg_graph_new(P);
    mg_tensor *x = mg_param(g, "x", MG_INIT_ZERO, MG_SHAPE(rows, d));
    mg_tensor *gain = mg_input(g, "gain", MG_F32, MG_SHAPE(d));
    mg_tensor *bias = mg_input(g, "bias", MG_F32, MG_SHAPE(d));
    mg_tensor *win = mg_input(g, "w", MG_F32, MG_SHAPE(rows, d));
    mg_tensor *out = mg_layer_norm(g, x, gain, bias, 1e-5f);
    mg_graph_keep(g, out);
    cr_assert_eq(mg_graph_compile(g, mg_sum_all(g, mg_mul(g, out, win))), MG_OK, "%s", mg_errmsg());
    memcpy(x->data, xv, (size_t)(rows * d) * sizeof *xv);
    memcpy(win->data, wv, (size_t)(rows * d) * sizeof *wv);
    memcpy(gain->data, gv, (size_t)d * sizeof *gv);
    for (int j = 0; j < d; j++) mg_f32(bias)[j] = 0.25f * (float)j;
    cr_assert_eq(mg_graph_forward(g), MG_OK);
    cr_assert_eq(mg_graph_backward(g), MG_OK);
    memcpy(y, out->data, (size_t)(rows * d) * sizeof *y);
    memcpy(dx, x->grad, (size_t)(rows * d) * sizeof *dx);
    mg_graph_free(g);
    mg_params_free(P);
}

/* The kernels take four rows at once and the rest one by one: a row's
 * output and gradient must be the bits of that row alone. */
Test(layer_norm, each_row_gives_the_bits_of_that_row_alone) {
    enum { R = 7, D = 37 };
    float x[R * D], w[R * D], gain[D], y[R * D], dx[R * D], y1[D], dx1[D];
    mg_rng rng;
    mg_rng_seed(&rng, 21);
    for (int i = 0; i < R * D; i++)
        x[i] = (float)(3 * mg_rng_normal(&rng) + 1), w[i] = (float)mg_rng_normal(&rng);
    for (int j = 0; j < D; j++) gain[j] = (float)(1 + 0.5 * mg_rng_normal(&rng));
    mg_gemm_set_threads(2);
    ln_rows(R, D, x, gain, w, y, dx);
    int bad = 0;
    for (int r = 0; r < R; r++) {
        ln_rows(1, D, x + r * D, gain, w + r * D, y1, dx1);
        bad += memcmp(y1, y + r * D, sizeof y1) != 0;
        bad += memcmp(dx1, dx + r * D, sizeof dx1) != 0;
    }
    cr_expect_eq(bad, 0, "%d of %d row outputs and gradients differ from the row alone", bad,
                 2 * R);
}

/* Builds layer_norm on tensors of the given shapes and expects an error of
 * status st naming the op and the string. */
static void expect_ln_error(mg_dtype xt, int nx, const int64_t *sx, int ng, const int64_t *sg,
                            float eps, mg_status st, const char *str) {
    mg_params *P = mg_params_new();
    mg_graph *g = mg_graph_new(P);
    mg_tensor *x = mg_input(g, "x", xt, nx, sx), *gain = mg_input(g, "gain", MG_F32, ng, sg);
    mg_tensor *bias = mg_input(g, "bias", MG_F32, MG_SHAPE(sx[nx - 1]));
    cr_assert_null(mg_layer_norm(g, x, gain, bias, eps));
    cr_assert_eq(mg_graph_status(g), st, "%s", mg_graph_error(g));
    const char *msg = mg_graph_error(g);
    cr_expect(strstr(msg, "layer_norm") != NULL, "%s", msg);
    cr_expect(strstr(msg, str) != NULL, "'%s' not in: %s", str, msg);
    mg_graph_free(g);
    mg_params_free(P);
}

Test(layer_norm, a_gain_of_the_wrong_length_is_a_shape_error) {
    expect_ln_error(MG_F32, MG_SHAPE(3, 5), MG_SHAPE(4), 1e-5f, MG_ERR_SHAPE, "gain (4,)");
}
Test(layer_norm, a_gain_of_x_shape_is_a_shape_error) {
    expect_ln_error(MG_F32, MG_SHAPE(3, 5), MG_SHAPE(3, 5), 1e-5f, MG_ERR_SHAPE, "gain (3, 5)");
}
Test(layer_norm, an_int_input_is_a_shape_error) {
    expect_ln_error(MG_I32, MG_SHAPE(3, 5), MG_SHAPE(5), 1e-5f, MG_ERR_SHAPE, "int");
}
Test(layer_norm, a_negative_eps_is_refused) {
    expect_ln_error(MG_F32, MG_SHAPE(3, 5), MG_SHAPE(5), -1.0f, MG_ERR_ARG, "eps");
}

/* gelu -------------------------------------------------------------------- */

/* The tanh formula in long double: near x = -6, 1 + tanh(u) is 3e-11, which
 * a double tanh gives to only ~6 digits. */
static double gelu_tanh(double x) {
    long double c = sqrtl(2 / (long double)M_PI), t = tanhl(c * (x + 0.044715L * x * x * x));
    return (double)(0.5L * x * (1 + t));
}
static double gelu_tanh_slope(double x) {
    long double c = sqrtl(2 / (long double)M_PI), t = tanhl(c * (x + 0.044715L * x * x * x));
    return (double)(0.5L * (1 + t) + 0.5L * x * (1 - t * t) * c * (1 + 3 * 0.044715L * x * x));
}
static mg_tensor *gelu_k(mg_graph *g, mg_tensor *x, int k) {
    (void)k;
    return mg_gelu(g, x);
}

static mg_tensor *build_gelu(mg_graph *g, void *ctx) {
    (void)ctx;
    return mg_gelu(g, mg_param(g, "x", MG_NORMAL(2), MG_SHAPE(3, 7)));
}
Test(gelu, gradient) {
    mg_check_grad("gelu (3, 7)", (mg_gradcheck_spec){.build = build_gelu, .seed = 51});
}

Test(gelu, values_and_slopes_match_the_tanh_formula) {
    const float xs[] = {-6, -3, -1, -0.5f, -1e-3f, 0, 1e-3f, 0.5f, 1, 2, 3, 6};
    enum { N = sizeof xs / sizeof *xs };
    float ones[N];
    for (int i = 0; i < N; i++) ones[i] = 1;
    run r = run_op(gelu_k, 0, MG_SHAPE(N), xs, ones);
    for (int i = 0; i < N; i++) {
        double want = gelu_tanh(xs[i]), slope = gelu_tanh_slope(xs[i]);
        cr_expect_float_eq(mg_f32(r.y)[i], want, 4e-7 * fabs(want) + 1e-30,
                           "gelu(%g) = %.9g, want %.9g", xs[i], mg_f32(r.y)[i], want);
        cr_expect_float_eq(r.x->grad[i], slope, 1e-6, "gelu'(%g) = %.9g, want %.9g", xs[i],
                           r.x->grad[i], slope);
    }
    /* gelu(1) and gelu(-1) of the tanh form: 0.84119199, -0.15880801 */
    cr_expect_float_eq(mg_f32(r.y)[8], 0.84119199f, 2e-7);
    cr_expect_float_eq(mg_f32(r.y)[2], -0.15880801f, 1e-7);
    run_free(&r);
}

Test(gelu, far_tails_are_x_and_zero_with_finite_slopes) {
    const float xs[] = {-1e30f, -50, 50, 1e30f};
    float ones[4] = {1, 1, 1, 1};
    run r = run_op(gelu_k, 0, MG_SHAPE(4), xs, ones);
    const float want[] = {0, 0, 50, 1e30f}, slope[] = {0, 0, 1, 1};
    for (int i = 0; i < 4; i++) {
        cr_expect_eq(mg_f32(r.y)[i], want[i], "gelu(%g) = %g", xs[i], mg_f32(r.y)[i]);
        cr_expect_eq(r.x->grad[i], slope[i], "gelu'(%g) = %g", xs[i], r.x->grad[i]);
    }
    run_free(&r);
}

/* softmax_topk ------------------------------------------------------------ */

/* x = a + p: a an input of separated values (no ties within eps), p a small
 * parameter, so the kept sets never change under the finite differences;
 * optionally causally masked. */
typedef struct {
    int nd, k;
    int64_t shape[3];
    bool topk, masked;
    mg_tensor *a;
} topk_case;

static mg_tensor *build_topk(mg_graph *g, void *ctx) {
    topk_case *c = ctx;
    c->a = mg_input(g, "a", MG_F32, c->nd, c->shape);
    mg_tensor *x = mg_add(g, c->a, mg_param(g, "p", MG_NORMAL(0.05), c->nd, c->shape));
    if (c->masked) x = mg_causal_mask(g, x);
    return c->topk ? mg_topk(g, x, c->k) : mg_softmax_topk(g, x, c->k);
}
/* a: a permutation of 0.5 * (0 .. n-1), so entries differ by >= 0.5 */
static void fill_topk(mg_graph *g, void *ctx) {
    (void)g;
    topk_case *c = ctx;
    int64_t n = mg_numel(c->a);
    for (int64_t i = 0; i < n; i++) mg_f32(c->a)[i] = 0.5f * (float)((i * 7 + 3) % n) - 1.0f;
}
static void check_topk(const char *what, topk_case c, uint64_t seed) {
    mg_check_grad(
        what, (mg_gradcheck_spec){.build = build_topk, .fill = fill_topk, .ctx = &c, .seed = seed});
}

Test(softmax_topk, gradient_2d) {
    check_topk("softmax_topk (3, 5) k=2", (topk_case){.nd = 2, .k = 2, .shape = {3, 5}}, 61);
}
Test(softmax_topk, gradient_3d) {
    check_topk("softmax_topk (2, 3, 4) k=3", (topk_case){.nd = 3, .k = 3, .shape = {2, 3, 4}}, 62);
}
Test(softmax_topk, gradient_through_a_causal_mask) {
    check_topk("softmax_topk masked (2, 5, 5) k=2",
               (topk_case){.nd = 3, .k = 2, .shape = {2, 5, 5}, .masked = true}, 63);
}

static mg_tensor *softmax_topk_k(mg_graph *g, mg_tensor *x, int k) {
    return mg_softmax_topk(g, x, k);
}

Test(softmax_topk, keeps_the_k_largest_and_renormalises) {
    const float x[] = {1, 2, 3, 0,  /* keeps 3 and 2 */
                       2, 1, 2, 2}; /* a three-way tie: the lower indices 0 and 2 */
    run r = run_op(softmax_topk_k, 2, MG_SHAPE(2, 4), x, NULL);
    double e = exp(1.0);
    const double want[] = {0, 1 / (1 + e), e / (1 + e), 0, 0.5, 0, 0.5, 0};
    for (int i = 0; i < 8; i++)
        cr_expect_float_eq(mg_f32(r.y)[i], want[i], 1e-7, "element %d: %.9g, want %.9g", i,
                           mg_f32(r.y)[i], want[i]);
    run_free(&r);
}

Test(softmax_topk, k_1_is_one_hot_at_the_first_largest) {
    const float x[] = {0.5f, -2, 3, 3, 1}; /* tie at 2 and 3: index 2 */
    run r = run_op(softmax_topk_k, 1, MG_SHAPE(1, 5), x, NULL);
    for (int j = 0; j < 5; j++) cr_expect_eq(mg_f32(r.y)[j], j == 2 ? 1.0f : 0.0f, "element %d", j);
    run_free(&r);
}

Test(softmax_topk, k_at_least_the_row_length_is_the_softmax_bit_for_bit) {
    enum { R = 3, C = 6 };
    float x[R * C];
    for (int i = 0; i < R * C; i++) x[i] = (float)(2 * sin(0.37 * i * i + 1));
    x[7] = -INFINITY; /* a masked entry: k = C keeps the other five */
    for (int k = C - 1; k <= C + 5; k += 6) {
        mg_params *P = mg_params_new();
        mg_graph *g = mg_graph_new(P);
        mg_tensor *in = mg_input(g, "x", MG_F32, MG_SHAPE(R, C));
        mg_tensor *a = mg_softmax_topk(g, in, k), *b = mg_softmax(g, in);
        mg_graph_keep(g, a);
        mg_graph_keep(g, b);
        cr_assert_eq(mg_graph_compile(g, NULL), MG_OK, "%s", mg_errmsg());
        memcpy(in->data, x, sizeof x);
        cr_assert_eq(mg_graph_forward(g), MG_OK);
        for (int i = 0; i < R * C; i++) {
            /* k = C - 1 keeps all of row 1 (five finite entries), not rows 0 and 2 */
            if (k < C && i / C != 1) continue;
            cr_expect_eq(mg_f32(a)[i], mg_f32(b)[i], "k %d element %d: %.9g vs softmax %.9g", k, i,
                         mg_f32(a)[i], mg_f32(b)[i]);
        }
        mg_graph_free(g);
        mg_params_free(P);
    }
}

Test(softmax_topk, masked_entries_have_probability_zero_and_are_never_kept) {
    const float x[] = {0.5f,      -INFINITY, 1.0f,      -INFINITY, 0.2f, /* k = 2 of 3 finite */
                       -INFINITY, 2.0f,      -INFINITY, -INFINITY, -INFINITY,  /* 1 finite < k */
                       -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY}; /* none */
    run r = run_op(softmax_topk_k, 2, MG_SHAPE(3, 5), x, NULL);
    double s = exp(0.5) + exp(1.0);
    const double want[] = {exp(0.5) / s, 0, exp(1.0) / s, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0};
    for (int i = 0; i < 15; i++)
        cr_expect_float_eq(mg_f32(r.y)[i], want[i], 1e-7, "element %d: %.9g, want %.9g", i,
                           mg_f32(r.y)[i], want[i]);
    run_free(&r);
}

Test(softmax_topk, the_gradient_is_zero_off_the_kept_set) {
    const float x[] = {1, 2, 3, 0};
    const float w[] = {0.3f, -1, 2, 5};
    run r = run_op(softmax_topk_k, 2, MG_SHAPE(1, 4), x, w);
    /* the softmax over {1, 2}: dx = y (w - sum w y) there, 0 elsewhere */
    double e = exp(1.0), y1 = 1 / (1 + e), y2 = e / (1 + e), dot = -1 * y1 + 2 * y2;
    cr_expect_eq(r.x->grad[0], 0.0f);
    cr_expect_eq(r.x->grad[3], 0.0f);
    cr_expect_float_eq(r.x->grad[1], y1 * (-1 - dot), 1e-6);
    cr_expect_float_eq(r.x->grad[2], y2 * (2 - dot), 1e-6);
    run_free(&r);
}

Test(softmax_topk, k_below_1_is_refused) {
    expect_build_error(softmax_topk_k, 0, MG_SHAPE(2, 4), MG_ERR_ARG, "softmax_topk",
                       "k must be >= 1");
    expect_build_error(softmax_topk_k, -3, MG_SHAPE(2, 4), MG_ERR_ARG, "softmax_topk", "-3");
}

/* topk -------------------------------------------------------------------- */

Test(topk, gradient_2d) {
    check_topk("topk (3, 6) k=2", (topk_case){.nd = 2, .k = 2, .shape = {3, 6}, .topk = true}, 71);
}
Test(topk, gradient_3d) {
    check_topk("topk (2, 3, 5) k=3", (topk_case){.nd = 3, .k = 3, .shape = {2, 3, 5}, .topk = true},
               72);
}

static mg_tensor *topk_k(mg_graph *g, mg_tensor *x, int k) { return mg_topk(g, x, k); }

Test(topk, keeps_exactly_the_k_largest_values) {
    enum { R = 4, D = 32, K = 5 };
    float x[R * D];
    for (int i = 0; i < R * D; i++) x[i] = (float)sin(1.7 * i + 0.2 * i * i);
    run r = run_op(topk_k, K, MG_SHAPE(R, D), x, NULL);
    for (int i = 0; i < R; i++) {
        const float *xr = x + i * D, *yr = mg_f32(r.y) + i * D;
        int kept = 0;
        for (int j = 0; j < D; j++) {
            int above = 0; /* entries larger than x_j: kept iff fewer than K */
            for (int l = 0; l < D; l++) above += xr[l] > xr[j];
            cr_expect_eq(yr[j], above < K ? xr[j] : 0.0f, "(%d, %d)", i, j);
            kept += yr[j] != 0;
        }
        cr_expect_eq(kept, K, "row %d kept %d", i, kept);
    }
    run_free(&r);
}

Test(topk, ties_go_to_the_lower_index) {
    const float x[] = {1, 3, 3, 3, 0};
    run r = run_op(topk_k, 2, MG_SHAPE(1, 5), x, NULL);
    const float want[] = {0, 3, 3, 0, 0};
    for (int j = 0; j < 5; j++) cr_expect_eq(mg_f32(r.y)[j], want[j], "element %d", j);
    run_free(&r);
}

Test(topk, the_gradient_reaches_only_the_kept_entries_even_a_kept_zero) {
    const float x[] = {0, -1, -2, /* k = 1 keeps the 0 at index 0 */
                       4, 5,  -3};
    const float w[] = {2, 3, 4, 5, 6, 7};
    run r = run_op(topk_k, 1, MG_SHAPE(2, 3), x, w);
    const float want_y[] = {0, 0, 0, 0, 5, 0}, want_dx[] = {2, 0, 0, 0, 6, 0};
    for (int i = 0; i < 6; i++) {
        cr_expect_eq(mg_f32(r.y)[i], want_y[i], "y %d", i);
        cr_expect_eq(r.x->grad[i], want_dx[i], "dx %d", i);
    }
    run_free(&r);
}

Test(topk, k_equal_to_the_dim_keeps_everything) {
    const float x[] = {1, -2, 0, 7}, w[] = {1, 2, 3, 4};
    run r = run_op(topk_k, 4, MG_SHAPE(1, 4), x, w);
    for (int j = 0; j < 4; j++) {
        cr_expect_eq(mg_f32(r.y)[j], x[j]);
        cr_expect_eq(r.x->grad[j], w[j]);
    }
    run_free(&r);
}

Test(topk, a_nan_is_kept_so_that_it_shows) {
    const float x[] = {1, NAN, 2};
    run r = run_op(topk_k, 1, MG_SHAPE(1, 3), x, NULL);
    cr_expect_eq(mg_f32(r.y)[0], 0.0f);
    cr_expect(isnan(mg_f32(r.y)[1]));
    cr_expect_eq(mg_f32(r.y)[2], 0.0f);
    run_free(&r);
}

Test(topk, k_below_1_or_above_the_dim_is_refused) {
    expect_build_error(topk_k, 0, MG_SHAPE(2, 5), MG_ERR_ARG, "topk", "k must be >= 1");
    expect_build_error(topk_k, 6, MG_SHAPE(2, 5), MG_ERR_ARG, "k = 6", "(2, 5)");
}

/* threads ------------------------------------------------------------------ */

/* Large enough for the kernel threads (core/gemm.h): every kernel here splits
 * rows (or layer norm's gain and bias sums, blocks of columns) and sums each
 * in a fixed order, so 2 threads give 1 thread's loss and gradients exactly.
 *   loss = sum((topk(gelu(layer_norm(x)), 40) + softmax_topk(x, 16))^2) */
static void seq_grads_with_threads(int threads, float *out, size_t *n, float *loss_out) {
    enum { ROWS = 300, D = 128 };
    mg_gemm_set_threads(threads);
    mg_params *P = mg_params_new();
    mg_graph *g = mg_graph_new(P);
    mg_tensor *x = mg_param(g, "x", MG_NORMAL(1), MG_SHAPE(ROWS, D));
    mg_tensor *gain = mg_param(g, "gain", MG_NORMAL(1), MG_SHAPE(D));
    mg_tensor *bias = mg_param(g, "bias", MG_NORMAL(1), MG_SHAPE(D));
    mg_tensor *h = mg_topk(g, mg_gelu(g, mg_layer_norm(g, x, gain, bias, 1e-5f)), 40);
    mg_tensor *loss = mg_sum_all(g, mg_square(g, mg_add(g, h, mg_softmax_topk(g, x, 16))));
    cr_assert_eq(mg_graph_compile(g, loss), MG_OK, "%s", mg_errmsg());
    mg_rng rng;
    mg_rng_seed(&rng, 81);
    mg_params_init(P, &rng);
    cr_assert_eq(mg_graph_forward(g), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(mg_graph_backward(g), MG_OK, "%s", mg_errmsg());
    *n = mg_params_total(P);
    *loss_out = mg_scalar(loss);
    memcpy(out, mg_params_grad(P), *n * sizeof(float));
    mg_graph_free(g);
    mg_params_free(P);
    mg_gemm_set_threads(1);
}

Test(threads, two_threads_give_the_bits_of_one) {
    static float g1[300 * 128 + 256], g2[300 * 128 + 256];
    size_t n1, n2;
    float l1, l2;
    seq_grads_with_threads(1, g1, &n1, &l1);
    seq_grads_with_threads(2, g2, &n2, &l2);
    cr_assert_eq(n1, n2);
    cr_expect_eq(l1, l2, "loss %.9g vs %.9g", l1, l2);
    size_t differ = 0;
    for (size_t i = 0; i < n1; i++) differ += memcmp(&g1[i], &g2[i], sizeof g1[i]) != 0;
    cr_expect_eq(differ, 0, "%zu of %zu gradients differ between 1 and 2 threads", differ, n1);
}
