/* test_ops_schatten.c — the Schatten-q penalty sum_i sigma_i^q (ops/schatten.c):
 * values on matrices of known singular values (diagonal, orthogonal times
 * diagonal times orthogonal, both orientations, q = 1, 2, 0.5, 3; q = 2 is
 * ||W||_F^2), central-difference gradient checks away from repeated
 * singular values (also with W shared by a matmul, as in training, and
 * through the fallback SVD), the q = 1 subgradient at a zero singular
 * value, and the errors: q <= 0, an input that is not a 2-D float matrix, a
 * weight that is not finite. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ops/ops.h"
#include "tests/util/check_grad.h"

enum { MAXD = 6 };

/* A (r x r) orthogonal matrix: the Householder reflection I - 2 v v^T / v^T v
 * times a Givens rotation of the first two axes by angle t. */
static void orthogonal(int r, const double *v, double t, double *Q) {
    double vv = 0, H[MAXD * MAXD];
    for (int i = 0; i < r; i++) vv += v[i] * v[i];
    for (int i = 0; i < r; i++)
        for (int j = 0; j < r; j++) H[i * r + j] = (i == j) - 2 * v[i] * v[j] / vv;
    for (int i = 0; i < r; i++)
        for (int j = 0; j < r; j++) {
            double x = H[i * r + j];
            if (j == 0) x = cos(t) * H[i * r] + sin(t) * H[i * r + 1];
            if (j == 1 && r > 1) x = -sin(t) * H[i * r] + cos(t) * H[i * r + 1];
            Q[i * r + j] = x;
        }
}

/* W (m x n, row-major floats) = A diag(s) B^T with A (m x m), B (n x n)
 * orthogonal (identities when rotate is false); s has min(m, n) entries. */
static void known(int m, int n, const double *s, bool rotate, float *W) {
    double A[MAXD * MAXD], B[MAXD * MAXD];
    const double va[MAXD] = {1, -2, 0.5, 3, 1, -1}, vb[MAXD] = {2, 1, -1, 0.5, -3, 1};
    orthogonal(m, va, 0.7, A);
    orthogonal(n, vb, -1.1, B);
    int k = m < n ? m : n;
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double x = 0;
            for (int r = 0; r < k; r++)
                x += rotate ? A[i * m + r] * s[r] * B[j * n + r] : (i == r && j == r) * s[r];
            W[i * n + j] = (float)x;
        }
}

static mg_tensor *schatten_qr(mg_graph *g, mg_tensor *w, double q);
static bool use_qr; /* value() through the fallback SVD */

/* sum_i sigma_i(W)^q from the op, on an input W. */
static double value(int m, int n, const float *W, double q) {
    mg_params *P = mg_params_new();
    mg_graph *g = mg_graph_new(P);
    mg_tensor *w = mg_input(g, "W", MG_F32, MG_SHAPE(m, n));
    mg_tensor *y = use_qr ? schatten_qr(g, w, q) : mg_schatten(g, w, q);
    cr_assert_not_null(y, "%s", mg_graph_error(g));
    cr_assert_eq(y->ndim, 0);
    mg_graph_keep(g, y);
    cr_assert_eq(mg_graph_compile(g, NULL), MG_OK, "%s", mg_errmsg());
    memcpy(mg_f32(w), W, (size_t)m * (size_t)n * sizeof *W);
    cr_assert_eq(mg_graph_forward(g), MG_OK, "%s", mg_errmsg());
    double v = mg_scalar(y);
    mg_graph_free(g);
    mg_params_free(P);
    return v;
}

static const double qs[] = {1, 2, 0.5, 3};

/* Each q on (m, n) with singular values s: the op against sum s_i^q. */
static void check_known(int m, int n, const double *s, bool rotate) {
    float W[MAXD * MAXD];
    known(m, n, s, rotate, W);
    int k = m < n ? m : n;
    for (size_t t = 0; t < sizeof qs / sizeof qs[0]; t++) {
        double want = 0;
        for (int r = 0; r < k; r++) want += pow(s[r], qs[t]);
        double got = value(m, n, W, qs[t]);
        cr_expect(fabs(got - want) <= 2e-6 * want, "(%d, %d)%s q = %g: got %.9g, want %.9g", m, n,
                  rotate ? " rotated" : "", qs[t], got, want);
    }
}

Test(schatten, values_of_a_diagonal_matrix) {
    const double s[] = {3, 2, 0.5};
    check_known(3, 3, s, false);
    check_known(3, 5, s, false); /* wide */
    check_known(5, 3, s, false); /* tall */
}

Test(schatten, values_of_orthogonal_times_diagonal) {
    const double s[] = {2.5, 1.25, 0.75, 0.125};
    check_known(4, 4, s, true);
    check_known(4, 6, s, true);
    check_known(6, 4, s, true);
}

Test(schatten, values_through_the_fallback_svd) {
    const double s[] = {2.5, 1.25, 0.75, 0.125};
    use_qr = true;
    check_known(4, 6, s, true);
    check_known(6, 4, s, true);
    use_qr = false;
}

Test(schatten, q2_is_the_squared_frobenius_norm) {
    float W[5 * 4];
    for (int i = 0; i < 20; i++) W[i] = (float)sin(1.3 * i + 0.2) * (float)(1 + i % 3);
    double f2 = 0;
    for (int i = 0; i < 20; i++) f2 += (double)W[i] * W[i];
    double got = value(5, 4, W, 2);
    cr_assert(fabs(got - f2) <= 1e-6 * f2, "got %.9g, ||W||_F^2 = %.9g", got, f2);
}

/* Gradient checks --------------------------------------------------------- */

typedef struct {
    int m, n;
    double q, s[MAXD]; /* singular values, well apart */
    bool shared;       /* W also feeds a matmul: the gradients add */
    bool qr;           /* the fallback SVD (QR iteration) instead of divide and conquer */
} grad_case;

/* schatten(w, q) through its fallback SVD (attr.i[2], see ops/schatten.c). */
static mg_tensor *schatten_qr(mg_graph *g, mg_tensor *w, double q) {
    mg_attr attr;
    memset(&attr, 0, sizeof attr);
    memcpy(&attr.i[0], &q, sizeof q);
    attr.i[2] = 1;
    return mg_apply_named(g, "schatten", 1, &w, &attr);
}

static mg_tensor *build_grad(mg_graph *g, void *ctx) {
    const grad_case *c = ctx;
    mg_tensor *w = mg_param(g, "W", MG_NORMAL(1), MG_SHAPE(c->m, c->n));
    mg_tensor *y = c->qr ? schatten_qr(g, w, c->q) : mg_schatten(g, w, c->q);
    if (!c->shared) return y;
    mg_tensor *x = mg_param(g, "x", MG_NORMAL(1), MG_SHAPE(2, c->m));
    return mg_add(g, y, mg_sum_all(g, mg_square(g, mg_matmul(g, x, w))));
}
/* W with the case's singular values (init drew it at random; this replaces it). */
static void fill_grad(mg_graph *g, void *ctx) {
    const grad_case *c = ctx;
    mg_params *P = mg_graph_params(g);
    const mg_param_info *info = mg_params_info(P, mg_params_find(P, "W"));
    known(c->m, c->n, c->s, true, mg_params_data(P) + info->offset);
}

static void check(const char *what, grad_case c) {
    mg_check_grad(
        what, (mg_gradcheck_spec){.build = build_grad, .fill = fill_grad, .ctx = &c, .seed = 9});
}

Test(schatten, gradient_q1_tall) {
    check("q=1 (5, 3)", (grad_case){.m = 5, .n = 3, .q = 1, .s = {2, 1.2, 0.5}});
}
Test(schatten, gradient_q1_wide) {
    check("q=1 (3, 5)", (grad_case){.m = 3, .n = 5, .q = 1, .s = {2, 1.2, 0.5}});
}
Test(schatten, gradient_q2) {
    check("q=2 (4, 4)", (grad_case){.m = 4, .n = 4, .q = 2, .s = {2, 1.5, 0.9, 0.4}});
}
Test(schatten, gradient_q_half) {
    check("q=0.5 (4, 3)", (grad_case){.m = 4, .n = 3, .q = 0.5, .s = {2, 1.2, 0.6}});
}
Test(schatten, gradient_q3) {
    check("q=3 (3, 4)", (grad_case){.m = 3, .n = 4, .q = 3, .s = {1.5, 1, 0.5}});
}
Test(schatten, gradient_through_the_fallback_svd) {
    check("q=1 QR (5, 3)", (grad_case){.m = 5, .n = 3, .q = 1, .s = {2, 1.2, 0.5}, .qr = true});
    check("q=0.5 QR (3, 4)", (grad_case){.m = 3, .n = 4, .q = 0.5, .s = {1.5, 1, 0.5}, .qr = true});
}
Test(schatten, gradient_with_the_matrix_shared_by_a_matmul) {
    check("q=1 + ||xW||^2 (4, 3)",
          (grad_case){.m = 4, .n = 3, .q = 1, .s = {1.8, 1.1, 0.4}, .shared = true});
}

/* dW of sum sigma_i^q at W (m, n) into G. */
static void gradient(int m, int n, const float *W, double q, float *G) {
    mg_params *P = mg_params_new();
    mg_graph *g = mg_graph_new(P);
    mg_tensor *w = mg_param(g, "W", MG_INIT_ZERO, MG_SHAPE(m, n));
    mg_tensor *y = mg_schatten(g, w, q);
    cr_assert_eq(mg_graph_compile(g, y), MG_OK, "%s", mg_errmsg());
    memcpy(mg_params_data(P), W, (size_t)m * (size_t)n * sizeof *W);
    cr_assert_eq(mg_graph_forward(g), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(mg_graph_backward(g), MG_OK, "%s", mg_errmsg());
    memcpy(G, mg_params_grad(P), (size_t)m * (size_t)n * sizeof *G);
    mg_graph_free(g);
    mg_params_free(P);
}

/* For q = 1 at W = diag(2, 1, 0), the subgradient given is U V^T over the
 * nonzero singular values: diag(1, 1, 0). For q = 0.5 the zero one also
 * contributes 0 (not infinity), and the others q sigma^(q-1). */
Test(schatten, zero_singular_value_contributes_nothing) {
    const float W[9] = {2, 0, 0, 0, 1, 0, 0, 0, 0};
    float G[9];
    gradient(3, 3, W, 1, G);
    const float want1[9] = {1, 0, 0, 0, 1, 0, 0, 0, 0};
    for (int i = 0; i < 9; i++) cr_expect_float_eq(G[i], want1[i], 1e-6, "q=1: dW[%d]", i);
    gradient(3, 3, W, 0.5, G);
    const float want05[9] = {(float)(0.5 / sqrt(2)), 0, 0, 0, 0.5f, 0, 0, 0, 0};
    for (int i = 0; i < 9; i++) cr_expect_float_eq(G[i], want05[i], 1e-6, "q=0.5: dW[%d]", i);
}

/* Errors ------------------------------------------------------------------ */

/* Builds schatten(x, q) on an input of that shape and dtype; returns the
 * graph's status and leaves its message in msg. */
static mg_status build_error(mg_dtype dt, int nd, const int64_t *shape, double q, char *msg,
                             size_t n) {
    mg_params *P = mg_params_new();
    mg_graph *g = mg_graph_new(P);
    mg_tensor *x = mg_input(g, "x", dt, nd, shape);
    mg_tensor *y = mg_schatten(g, x, q);
    mg_status st = mg_graph_status(g);
    cr_assert(st != MG_OK || y, "no node and no error");
    snprintf(msg, n, "%s", mg_graph_error(g));
    mg_graph_free(g);
    mg_params_free(P);
    return st;
}

Test(schatten, refuses_q_zero_or_negative_saying_why) {
    char msg[1024];
    const double bad[] = {0, -1, NAN};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(build_error(MG_F32, MG_SHAPE(3, 3), bad[i], msg, sizeof msg), MG_ERR_ARG,
                     "q = %g", bad[i]);
        cr_assert(strstr(msg, "q must be a finite number > 0") && strstr(msg, "rank"), "%s", msg);
    }
    cr_assert_eq(build_error(MG_F32, MG_SHAPE(3, 3), 1e-3, msg, sizeof msg), MG_OK, "%s", msg);
}

Test(schatten, refuses_an_input_that_is_not_a_2d_float_matrix) {
    char msg[1024];
    cr_assert_eq(build_error(MG_F32, MG_SHAPE(6), 1, msg, sizeof msg), MG_ERR_SHAPE);
    cr_assert(strstr(msg, "2-D") && strstr(msg, "(6,)"), "%s", msg);
    cr_assert_eq(build_error(MG_F32, MG_SHAPE(2, 3, 4), 1, msg, sizeof msg), MG_ERR_SHAPE);
    cr_assert(strstr(msg, "2-D") && strstr(msg, "(2, 3, 4)"), "%s", msg);
    cr_assert_eq(build_error(MG_I32, MG_SHAPE(3, 3), 1, msg, sizeof msg), MG_ERR_SHAPE);
    cr_assert(strstr(msg, "int"), "%s", msg);
}

Test(schatten, forward_refuses_a_weight_that_is_not_finite) {
    mg_params *P = mg_params_new();
    mg_graph *g = mg_graph_new(P);
    mg_tensor *w = mg_input(g, "W", MG_F32, MG_SHAPE(2, 3));
    mg_tensor *y = mg_schatten(g, w, 1);
    mg_graph_keep(g, y);
    cr_assert_eq(mg_graph_compile(g, NULL), MG_OK, "%s", mg_errmsg());
    const float W[6] = {1, 2, 3, 4, NAN, 6};
    memcpy(mg_f32(w), W, sizeof W);
    cr_assert_eq(mg_graph_forward(g), MG_ERR_NUMERIC);
    cr_assert(strstr(mg_errmsg(), "W[1, 1] is not finite"), "%s", mg_errmsg());
    mg_graph_free(g);
    mg_params_free(P);
}
