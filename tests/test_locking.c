/* test_locking.c — the locking share on constructed subspaces: a gradient
 * built inside the pulled-back plane has share 1, one built outside has 0,
 * a mix has the share its norms set; the orthogonal part and the random
 * baseline; the pullback through a first layer that rotates the plane. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "analysis/locking.h"
#include "core/alloc.h"

Test(locking, span_is_orthonormal_with_the_right_rank) {
    enum { D = 5 };
    double b[D * 3] = {0};
    b[0] = 1, b[1] = 1;         /* col 0: e0 + e1 */
    b[D + 0] = 2, b[D + 1] = 2; /* col 1: parallel to col 0 */
    b[2 * D + 3] = 3;           /* col 2: e3 */
    double *q;
    int r;
    cr_assert_eq(mg_locking_span(b, D, 3, &q, &r), MG_OK);
    cr_assert_eq(r, 2);
    for (int i = 0; i < r; i++)
        for (int j = 0; j < r; j++) {
            double dot = 0;
            for (int c = 0; c < D; c++) dot += q[i * D + c] * q[j * D + c];
            cr_assert_float_eq(dot, i == j ? 1.0 : 0.0, 1e-12);
        }
    mg_free(q);
    memset(b, 0, sizeof b);
    cr_assert_eq(mg_locking_span(b, D, 3, &q, &r), MG_OK);
    cr_assert_eq(r, 0);
    cr_assert_null(q);
}

/* Classifier U (K x H) whose rows lie in span(e0, e1) of R^H, with a clear
 * gap: its top-2 right singular space is exactly that plane. W1 (H x D)
 * maps hidden direction i to embedding direction perm[i]. */
enum { K = 7, H = 6, D = 6 };
static const int perm[H] = {4, 2, 0, 1, 3, 5};

static void build(float *u, float *w1) {
    for (int i = 0; i < K; i++)
        for (int j = 0; j < H; j++)
            u[i * H + j] = j == 0   ? (float)cos(0.9 * i) * 3.0f
                           : j == 1 ? (float)sin(0.9 * i)
                                    : 0.0f;
    memset(w1, 0, sizeof(float) * H * D);
    for (int i = 0; i < H; i++) w1[i * D + perm[i]] = 1.0f;
}

Test(locking, gradient_inside_the_pulled_back_plane_is_locked) {
    float u[K * H], w1[H * D];
    build(u, w1);
    const float *blocks[1] = {w1};
    int64_t rs[1] = {D}, cs[1] = {1};
    double *q;
    int r;
    cr_assert_eq(mg_locking_pullback(u, K, H, H, 1, 2, blocks, rs, cs, 1, D, &q, &r), MG_OK);
    cr_assert_eq(r, 2);
    /* The plane is span(e4, e2) of R^D: W1ᵀ e0 = e4, W1ᵀ e1 = e2. */
    enum { N = 9 };
    float g_in[N * D] = {0}, g_out[N * D] = {0}, g_mix[N * D];
    for (int i = 0; i < N; i++) {
        g_in[i * D + 4] = (float)(i + 1), g_in[i * D + 2] = (float)(2 - i);
        g_out[i * D + 0] = 1.0f, g_out[i * D + 5] = (float)i;
    }
    cr_assert_float_eq(mg_locking_share(g_in, N, D, D, 1, q, r), 1.0, 1e-6);
    cr_assert_float_eq(mg_locking_share(g_out, N, D, D, 1, q, r), 0.0, 1e-6);
    double nin = 0, nout = 0;
    for (int i = 0; i < N * D; i++) {
        g_mix[i] = g_in[i] + g_out[i];
        nin += (double)g_in[i] * g_in[i];
        nout += (double)g_out[i] * g_out[i];
    }
    cr_assert_float_eq(mg_locking_share(g_mix, N, D, D, 1, q, r), sqrt(nin / (nin + nout)), 1e-6);
    cr_assert_float_eq(mg_locking_orthogonal(g_mix, N, D, D, 1, q, r), sqrt(nout), 1e-4);
    cr_assert_float_eq(mg_locking_random_share(r, D), sqrt(2.0 / 6.0), 1e-15);
    /* Read transposed (a (D x N) storage of the same G): the same share. */
    float gt[D * N];
    for (int i = 0; i < N; i++)
        for (int c = 0; c < D; c++) gt[c * N + i] = g_mix[i * D + c];
    cr_assert_float_eq(mg_locking_share(gt, N, D, 1, N, q, r), sqrt(nin / (nin + nout)), 1e-6);
    mg_free(q);
}

Test(locking, two_operand_blocks_give_the_union_of_their_images) {
    float u[K * H], w1a[H * D], w1b[H * D];
    build(u, w1a);
    memset(w1b, 0, sizeof w1b);
    for (int i = 0; i < H; i++) w1b[i * D + (i + 1) % D] = 1.0f; /* e0 -> e1, e1 -> e2 */
    const float *blocks[2] = {w1a, w1b};
    int64_t rs[2] = {D, D}, cs[2] = {1, 1};
    double *q;
    int r;
    cr_assert_eq(mg_locking_pullback(u, K, H, H, 1, 2, blocks, rs, cs, 2, D, &q, &r), MG_OK);
    cr_assert_eq(r, 3, "span(e4, e2) + span(e1, e2) = span(e1, e2, e4)");
    mg_free(q);
    cr_assert_eq(mg_locking_pullback(u, K, H, H, 1, 0, blocks, rs, cs, 2, D, &q, &r), MG_ERR_ARG);
    cr_assert_eq(mg_locking_pullback(u, K, H, H, 1, K + 1, blocks, rs, cs, 2, D, &q, &r),
                 MG_ERR_ARG);
}

Test(locking, zero_gradient_has_no_share) {
    float g[12] = {0};
    double q[6] = {1, 0, 0, 0, 0, 0};
    cr_assert(isnan(mg_locking_share(g, 2, 6, 6, 1, q, 1)));
    g[0] = 1;
    cr_assert_float_eq(mg_locking_share(g, 2, 6, 6, 1, NULL, 0), 0.0, 1e-15);
}

/* Several k from one SVD: each basis is the one a call for that k alone
 * gives (the projector, which a basis's signs and rotation do not change). */
Test(locking, pullbacks_of_several_k_equal_one_call_each) {
    float u[K * H], w1a[H * D], w1b[H * D];
    build(u, w1a);
    for (int i = 0; i < K; i++) u[i * H + 2] = 0.3f * (float)cos(2.1 * i); /* a third direction */
    memset(w1b, 0, sizeof w1b);
    for (int i = 0; i < H; i++) w1b[i * D + (i + 1) % D] = 1.0f;
    const float *blocks[2] = {w1a, w1b};
    int64_t rs[2] = {D, D}, cs[2] = {1, 1};
    const int ks[3] = {1, 3, 2};
    double *q[3];
    int r[3];
    cr_assert_eq(mg_locking_pullbacks(u, K, H, H, 1, ks, 3, blocks, rs, cs, 2, D, q, r), MG_OK,
                 "%s", mg_errmsg());
    for (int i = 0; i < 3; i++) {
        double *q1;
        int r1;
        cr_assert_eq(mg_locking_pullback(u, K, H, H, 1, ks[i], blocks, rs, cs, 2, D, &q1, &r1),
                     MG_OK);
        cr_assert_eq(r[i], r1, "k = %d: rank %d against %d", ks[i], r[i], r1);
        for (int a = 0; a < D; a++)
            for (int c = 0; c < D; c++) {
                double p = 0, p1 = 0;
                for (int t = 0; t < r1; t++) {
                    p += q[i][(size_t)t * D + a] * q[i][(size_t)t * D + c];
                    p1 += q1[(size_t)t * D + a] * q1[(size_t)t * D + c];
                }
                cr_assert_float_eq(p, p1, 1e-12, "k = %d: projector (%d, %d)", ks[i], a, c);
            }
        mg_free(q1);
        mg_free(q[i]);
    }
    cr_assert_gt(r[1], r[0], "a larger k spans more: the test shows something");
    const int bad[2] = {2, K + 1};
    cr_assert_eq(mg_locking_pullbacks(u, K, H, H, 1, bad, 2, blocks, rs, cs, 2, D, q, r),
                 MG_ERR_ARG);
    cr_assert_null(q[0]);
}
