/* test_matmul.c — matrix products: values, gradients, views, errors. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "core/gemm.h"
#include "core/rng.h"

#include "ops/ops.h"
#include "tests/util/check_grad.h"

typedef struct {
    int64_t m, k, n;
    int batch;    /* 0: 2-D; otherwise batch count of a */
    bool b_batch; /* b batched too */
    bool ta, tb;  /* operands given transposed (as views) */
} mm_case;

static mg_tensor *build_mm(mg_graph *g, void *ctx) {
    const mm_case *c = ctx;
    mg_tensor *a, *b;
    if (c->batch) {
        a = c->ta ? mg_transpose(g, mg_param(g, "a", MG_NORMAL(1), MG_SHAPE(c->batch, c->k, c->m)))
                  : mg_param(g, "a", MG_NORMAL(1), MG_SHAPE(c->batch, c->m, c->k));
    } else {
        a = c->ta ? mg_transpose(g, mg_param(g, "a", MG_NORMAL(1), MG_SHAPE(c->k, c->m)))
                  : mg_param(g, "a", MG_NORMAL(1), MG_SHAPE(c->m, c->k));
    }
    if (c->b_batch)
        b = c->tb ? mg_transpose(g, mg_param(g, "b", MG_NORMAL(1), MG_SHAPE(c->batch, c->n, c->k)))
                  : mg_param(g, "b", MG_NORMAL(1), MG_SHAPE(c->batch, c->k, c->n));
    else
        b = c->tb ? mg_transpose(g, mg_param(g, "b", MG_NORMAL(1), MG_SHAPE(c->n, c->k)))
                  : mg_param(g, "b", MG_NORMAL(1), MG_SHAPE(c->k, c->n));
    return mg_matmul(g, a, b);
}

/* y is linear in each operand, so a large step is exact: it keeps the float
 * rounding of y (which differs between BLIS's kernels: 1e-3 in the
 * difference at eps 1e-3 with zen3's) out of the check. */
static void check(mm_case c) {
    mg_check_grad("matmul",
                  (mg_gradcheck_spec){.build = build_mm, .ctx = &c, .seed = 7, .eps = 0.05});
}

Test(matmul, gradient_2d_non_square) { check((mm_case){.m = 5, .k = 3, .n = 7}); }
Test(matmul, gradient_2d_transposed_a) { check((mm_case){.m = 5, .k = 3, .n = 7, .ta = true}); }
Test(matmul, gradient_2d_transposed_b) { check((mm_case){.m = 4, .k = 6, .n = 3, .tb = true}); }
Test(matmul, gradient_2d_both_transposed) {
    check((mm_case){.m = 4, .k = 6, .n = 3, .ta = true, .tb = true});
}
Test(matmul, gradient_batched_shared_b) { check((mm_case){.m = 3, .k = 4, .n = 5, .batch = 2}); }
Test(matmul, gradient_batched_both) {
    check((mm_case){.m = 3, .k = 4, .n = 2, .batch = 3, .b_batch = true});
}
Test(matmul, gradient_batched_transposed) {
    check((mm_case){.m = 3, .k = 4, .n = 2, .batch = 3, .b_batch = true, .ta = true, .tb = true});
}

/* Products above the small-product threshold (8192 multiply-adds) go to
 * BLIS per batch entry; below it, plain loops. Both paths are checked. */
Test(matmul, gradient_batched_through_blis) {
    check((mm_case){.m = 20, .k = 24, .n = 21, .batch = 2, .b_batch = true, .tb = true});
}

/* An operand shared across the batch while the other's batch does not merge
 * into one run of rows: its gradient is a sum over the batch entries, the
 * first of which stores into it in write mode and the others add. */
typedef struct {
    int64_t m, k, n, b0, b1; /* b1 = 0: one batch dim */
    bool shared_a;           /* a 2-D, b batched (else a batched, b 2-D) */
} shared_case;

static mg_tensor *build_shared(mg_graph *g, void *ctx) {
    const shared_case *c = ctx;
    if (c->shared_a) {
        mg_tensor *a = mg_param(g, "a", MG_NORMAL(1), MG_SHAPE(c->m, c->k));
        mg_tensor *b = mg_param(g, "b", MG_NORMAL(1), MG_SHAPE(c->b0, c->k, c->n));
        return mg_matmul(g, a, b);
    }
    /* a's storage puts the rows outside a batch dim: (b0, m, [b1,] k) */
    mg_tensor *a;
    if (c->b1)
        a = mg_permute(g, mg_param(g, "a", MG_NORMAL(1), MG_SHAPE(c->b0, c->m, c->b1, c->k)),
                       (const int[]){0, 2, 1, 3});
    else
        a = mg_permute(g, mg_param(g, "a", MG_NORMAL(1), MG_SHAPE(c->m, c->b0, c->k)),
                       (const int[]){1, 0, 2});
    mg_tensor *b = mg_param(g, "b", MG_NORMAL(1), MG_SHAPE(c->k, c->n));
    return mg_matmul(g, a, b);
}

static void check_shared(shared_case c) {
    /* y is linear in each parameter: a large step is exact and keeps float
     * rounding of y out of the difference */
    mg_check_grad("matmul, shared 2-D b",
                  (mg_gradcheck_spec){.build = build_shared, .ctx = &c, .seed = 11, .eps = 0.05});
}

Test(matmul, gradient_shared_b_unmerged_batch) {
    check_shared((shared_case){.m = 3, .k = 4, .n = 5, .b0 = 3});
}
Test(matmul, gradient_shared_b_unmerged_4d_batch) {
    check_shared((shared_case){.m = 2, .k = 5, .n = 3, .b0 = 2, .b1 = 3});
}
Test(matmul, gradient_shared_b_unmerged_through_blis) {
    check_shared((shared_case){.m = 20, .k = 24, .n = 21, .b0 = 2});
}
Test(matmul, gradient_shared_a) {
    check_shared((shared_case){.m = 3, .k = 4, .n = 5, .b0 = 3, .shared_a = true});
}
Test(matmul, gradient_shared_a_through_blis) {
    check_shared((shared_case){.m = 20, .k = 24, .n = 21, .b0 = 2, .shared_a = true});
}

/* Attention's products: q (n, 3, h, dh) seen as (n, h, rows, dh) through a
 * permute (and a slice of the last row, as the dead-row rewrite leaves it),
 * times k^T or with v, all strided views: a batch of tiny products, large
 * enough to be split over threads. */
typedef struct {
    int64_t n, h, dh, rows;
    bool values; /* p (n, h, rows, 3) @ v; else q @ k^T */
} attn_case;

static mg_tensor *build_attn(mg_graph *g, void *ctx) {
    const attn_case *c = ctx;
    const int split[] = {0, 2, 1, 3};
    mg_tensor *y =
        mg_permute(g, mg_param(g, "kv", MG_NORMAL(1), MG_SHAPE(c->n, 3, c->h, c->dh)), split);
    if (c->values) {
        mg_tensor *p = mg_param(g, "p", MG_NORMAL(1), MG_SHAPE(c->n, c->h, c->rows, 3));
        return mg_matmul(g, p, y);
    }
    mg_tensor *q =
        mg_permute(g, mg_param(g, "q", MG_NORMAL(1), MG_SHAPE(c->n, 3, c->h, c->dh)), split);
    if (c->rows < 3) q = mg_slice(g, q, 2, 3 - c->rows, c->rows);
    return mg_matmul(g, q, mg_transpose(g, y));
}

static void check_attn(attn_case c) {
    mg_gemm_set_threads(2);
    mg_check_grad("matmul, attention",
                  (mg_gradcheck_spec){
                      .build = build_attn, .ctx = &c, .seed = 5, .eps = 0.05, .max_checks = 1500});
}

Test(matmul, gradient_attention_scores) {
    check_attn((attn_case){.n = 40, .h = 4, .dh = 32, .rows = 3});
}
Test(matmul, gradient_attention_scores_last_row) {
    check_attn((attn_case){.n = 80, .h = 4, .dh = 32, .rows = 1});
}
Test(matmul, gradient_attention_values) {
    check_attn((attn_case){.n = 40, .h = 4, .dh = 32, .rows = 3, .values = true});
}
Test(matmul, gradient_attention_values_last_row) {
    check_attn((attn_case){.n = 80, .h = 4, .dh = 32, .rows = 1, .values = true});
}

/* The batch of tiny products is split over threads, each entry summed the
 * same way: one and two threads give the same bits, forward and backward. */
static void attn_run(int threads, const attn_case *c, float *y, float *grad) {
    mg_gemm_set_threads(threads);
    mg_params *P = mg_params_new();
    mg_graph *g = mg_graph_new(P);
    mg_tensor *s = build_attn(g, (void *)c);
    mg_tensor *L = mg_sum_all(g, mg_square(g, s));
    mg_graph_keep(g, s);
    cr_assert_eq(mg_graph_compile(g, L), MG_OK, "%s", mg_errmsg());
    mg_rng rng;
    mg_rng_seed(&rng, 3);
    mg_params_init(P, &rng);
    cr_assert_eq(mg_graph_forward(g), MG_OK);
    cr_assert_eq(mg_graph_backward(g), MG_OK);
    memcpy(y, s->data, (size_t)mg_numel(s) * sizeof *y);
    memcpy(grad, mg_params_grad(P), mg_params_total(P) * sizeof *grad);
    mg_graph_free(g);
    mg_params_free(P);
}

Test(matmul, tiny_batch_same_bits_for_any_thread_count) {
    for (int values = 0; values < 2; values++) {
        attn_case c = {.n = 300, .h = 4, .dh = 32, .rows = 1, .values = values};
        size_t ny = (size_t)(c.n * c.h * c.rows * (values ? c.dh : 3));
        size_t np = (size_t)(c.n * 3 * c.h * c.dh +
                             (values ? c.n * c.h * c.rows * 3 : c.n * 3 * c.h * c.dh));
        float *y1 = malloc(ny * sizeof *y1), *y2 = malloc(ny * sizeof *y2);
        float *g1 = malloc(np * sizeof *g1), *g2 = malloc(np * sizeof *g2);
        attn_run(1, &c, y1, g1);
        attn_run(2, &c, y2, g2);
        cr_expect(memcmp(y1, y2, ny * sizeof *y1) == 0, "forward differs (values %d)", values);
        cr_expect(memcmp(g1, g2, np * sizeof *g1) == 0, "backward differs (values %d)", values);
        free(y1), free(y2), free(g1), free(g2);
    }
}

/* The small products' two forms, as matmul.c documents them: the row form
 * (b's rows contiguous) sums each element's terms in order, p ascending; the
 * dot form (k contiguous in a's rows and b's columns) keeps eight partial
 * sums (p mod 8), adds them pairwise and then the tail. Their register-
 * blocked and vector versions (rows of 16 and 32, four dot products at once)
 * must give those bits exactly. */
static float row_sum(int64_t k, const float *x, int64_t xs, const float *y, int64_t ys) {
    float acc = x[0] * y[0];
    for (int64_t p = 1; p < k; p++) acc += x[p * xs] * y[p * ys];
    return acc;
}
static float dot_sum(int64_t k, const float *x, const float *y) {
    float s[8] = {0};
    int64_t p = 0;
    for (; p + 8 <= k; p += 8)
        for (int l = 0; l < 8; l++) s[l] += x[p + l] * y[p + l];
    float acc = ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
    for (; p < k; p++) acc += x[p] * y[p];
    return acc;
}

/* Attention's layouts: q (n, rows, h, dh) and kv (n, T, h, dh) seen as
 * (n, h, ., dh); scores = q k^T (dot form) and out = p v (row form), each
 * summed against a fixed weight r so that its gradient is r: then dq = r k
 * and dk = r^T q (row forms), dp = r v^T (dot form) and dv = p^T r (row). */
static void blocked_bits(int64_t rows, int64_t T, int64_t dh, bool values) {
    const int64_t n = 3, h = 2;
    const int split[] = {0, 2, 1, 3};
    mg_gemm_set_threads(1);
    mg_params *P = mg_params_new();
    mg_graph *g = mg_graph_new(P);
    mg_tensor *kv = mg_param(g, "kv", MG_NORMAL(1), MG_SHAPE(n, T, h, dh));
    mg_tensor *y = mg_permute(g, kv, split), *x, *out;
    if (values) {
        x = mg_param(g, "p", MG_NORMAL(1), MG_SHAPE(n, h, rows, T));
        out = mg_matmul(g, x, y);
    } else {
        x = mg_param(g, "q", MG_NORMAL(1), MG_SHAPE(n, rows, h, dh));
        out = mg_matmul(g, mg_permute(g, x, split), mg_transpose(g, y));
    }
    const int64_t w = values ? dh : T; /* out (n, h, rows, w) */
    mg_tensor *r = mg_input(g, "r", MG_F32, MG_SHAPE(n, h, rows, w));
    mg_graph_keep(g, out);
    cr_assert_eq(mg_graph_compile(g, mg_sum_all(g, mg_mul(g, out, r))), MG_OK, "%s", mg_errmsg());
    mg_rng rng;
    mg_rng_seed(&rng, 11);
    mg_params_init(P, &rng);
    for (int64_t i = 0; i < mg_numel(r); i++) mg_f32(r)[i] = (float)mg_rng_normal(&rng);
    cr_assert_eq(mg_graph_forward(g), MG_OK);
    cr_assert_eq(mg_graph_backward(g), MG_OK);
    const float *K = kv->data, *X = x->data, *R = mg_f32(r), *O = out->data;
    const float *dK = kv->grad, *dX = x->grad;
    /* kv[b, t, e, d] at ((b T + t) h + e) dh + d; q alike with rows */
    int bad = 0;
    for (int64_t b = 0; b < n; b++)
        for (int64_t e = 0; e < h; e++) {
            const float *Kb = K + (b * T * h + e) * dh, *Rb = R + (b * h + e) * rows * w;
            if (values) {
                const float *Pb = X + (b * h + e) * rows * T; /* (rows, T) */
                for (int64_t i = 0; i < rows; i++)
                    for (int64_t d = 0; d < dh; d++) {
                        float want = row_sum(T, Pb + i * T, 1, Kb + d, h * dh);
                        bad += O[((b * h + e) * rows + i) * dh + d] != want;
                    }
                for (int64_t i = 0; i < rows; i++)
                    for (int64_t t = 0; t < T; t++) {
                        float vt[256];
                        for (int64_t d = 0; d < dh; d++) vt[d] = Kb[t * h * dh + d];
                        bad += dX[((b * h + e) * rows + i) * T + t] != dot_sum(dh, Rb + i * dh, vt);
                    }
                for (int64_t t = 0; t < T; t++)
                    for (int64_t d = 0; d < dh; d++) {
                        float want = row_sum(rows, Pb + t, T, Rb + d, dh);
                        bad += dK[(b * T * h + e) * dh + t * h * dh + d] != want;
                    }
            } else {
                const float *Qb = X + (b * rows * h + e) * dh; /* row i at i h dh */
                for (int64_t i = 0; i < rows; i++)
                    for (int64_t t = 0; t < T; t++) {
                        float qi[256], kt[256];
                        for (int64_t d = 0; d < dh; d++)
                            qi[d] = Qb[i * h * dh + d], kt[d] = Kb[t * h * dh + d];
                        bad += O[((b * h + e) * rows + i) * T + t] != dot_sum(dh, qi, kt);
                    }
                for (int64_t i = 0; i < rows; i++)
                    for (int64_t d = 0; d < dh; d++) {
                        float want = row_sum(T, Rb + i * T, 1, Kb + d, h * dh);
                        bad += dX[(b * rows * h + e) * dh + i * h * dh + d] != want;
                    }
                for (int64_t t = 0; t < T; t++)
                    for (int64_t d = 0; d < dh; d++) {
                        float want = row_sum(rows, Rb + t, T, Qb + d, h * dh);
                        bad += dK[(b * T * h + e) * dh + t * h * dh + d] != want;
                    }
            }
        }
    cr_expect_eq(bad, 0,
                 "%d elements differ from the documented order (rows %ld, T %ld, dh %ld, %s)", bad,
                 (long)rows, (long)T, (long)dh, values ? "p v" : "q k^T");
    mg_graph_free(g);
    mg_params_free(P);
}

Test(matmul, blocked_small_products_keep_the_documented_bits) {
    /* 16 and 32 wide (the blocked row form), 16 keys (four dots at once),
     * rows a multiple of 4 and not, k with and without a tail past 8 */
    const int64_t cfg[][3] = {{16, 16, 32}, {6, 16, 32}, {16, 16, 16}, {5, 16, 16},
                              {16, 16, 20}, {7, 13, 32}, {1, 16, 32}};
    for (size_t c = 0; c < sizeof cfg / sizeof cfg[0]; c++)
        for (int values = 0; values < 2; values++)
            blocked_bits(cfg[c][0], cfg[c][1], cfg[c][2], values);
}

Test(matmul, values_match_hand_computation) {
    mg_params *P = mg_params_new();
    mg_graph *g = mg_graph_new(P);
    mg_tensor *a = mg_input(g, "a", MG_F32, MG_SHAPE(2, 3));
    mg_tensor *b = mg_input(g, "b", MG_F32, MG_SHAPE(3, 2));
    mg_tensor *c = mg_matmul(g, a, mg_transpose(g, mg_transpose(g, b)));
    mg_graph_keep(g, c);
    cr_assert_eq(mg_graph_compile(g, NULL), MG_OK, "%s", mg_errmsg());
    float av[] = {1, 2, 3, 4, 5, 6}, bv[] = {7, 8, 9, 10, 11, 12};
    memcpy(a->data, av, sizeof av);
    memcpy(b->data, bv, sizeof bv);
    cr_assert_eq(mg_graph_forward(g), MG_OK);
    float want[] = {58, 64, 139, 154};
    for (int i = 0; i < 4; i++) cr_expect_float_eq(mg_f32(c)[i], want[i], 1e-5);
    mg_graph_free(g);
    mg_params_free(P);
}

Test(matmul, inner_dim_mismatch_names_op_and_shapes) {
    mg_params *P = mg_params_new();
    mg_graph *g = mg_graph_new(P);
    mg_tensor *a = mg_input(g, "a", MG_F32, MG_SHAPE(4, 3));
    mg_tensor *b = mg_input(g, "b", MG_F32, MG_SHAPE(5, 2));
    cr_assert_null(mg_matmul(g, a, b));
    cr_assert_eq(mg_graph_status(g), MG_ERR_SHAPE);
    const char *msg = mg_graph_error(g);
    cr_expect(strstr(msg, "matmul") != NULL, "%s", msg);
    cr_expect(strstr(msg, "(4, 3)") != NULL, "%s", msg);
    cr_expect(strstr(msg, "(5, 2)") != NULL, "%s", msg);
    /* the error is sticky: later calls return NULL and keep the first message */
    cr_assert_null(mg_relu(g, NULL));
    cr_expect(strstr(mg_graph_error(g), "matmul") != NULL);
    cr_assert_eq(mg_graph_compile(g, NULL), MG_ERR_SHAPE);
    mg_graph_free(g);
    mg_params_free(P);
}

/* The weight gradient a^T @ dc over many rows may be computed transposed
 * (matmul.c, flip_c) where BLIS's micro-tile covers the classes with less
 * waste: bit for bit what one bli_sgemm into the row-major gradient gives,
 * stored (one product) and added (a weight read by two products). Shapes
 * as the MLP's classifier: 64 hidden units, 97 classes, 1,000 rows (k beyond
 * one of BLIS's k-blocks, so where the addition happens shows in the bits). */
enum { FR = 1000, FH = 64, FC = 97 };

static void fill(float *v, size_t n, uint64_t seed) {
    mg_rng rng;
    mg_rng_seed(&rng, seed);
    for (size_t i = 0; i < n; i++) v[i] = (float)mg_rng_normal(&rng);
}

/* d W of sum_t sum(x_t W * r_t) for t < uses: x_t^T r_t, in graph order */
static void flipped_run(int uses, float *dw, bool *flipped) {
    mg_params *P = mg_params_new();
    mg_graph *g = mg_graph_new(P);
    mg_tensor *w = mg_param(g, "w", MG_NORMAL(1), MG_SHAPE(FH, FC)), *L = NULL, *y[2], *x[2], *r[2];
    for (int t = 0; t < uses; t++) {
        x[t] = mg_input(g, t ? "x1" : "x0", MG_F32, MG_SHAPE(FR, FH));
        r[t] = mg_input(g, t ? "r1" : "r0", MG_F32, MG_SHAPE(FR, FC));
        y[t] = mg_matmul(g, x[t], w);
        mg_tensor *s = mg_sum_all(g, mg_mul(g, y[t], r[t]));
        L = L ? mg_add(g, L, s) : s;
    }
    cr_assert_eq(mg_graph_compile(g, L), MG_OK, "%s", mg_errmsg());
    mg_rng rng;
    mg_rng_seed(&rng, 5);
    mg_params_init(P, &rng);
    for (int t = 0; t < uses; t++) {
        fill(x[t]->data, FR * FH, 10 + (uint64_t)t);
        fill(r[t]->data, FR * FC, 20 + (uint64_t)t);
    }
    cr_assert_eq(mg_graph_forward(g), MG_OK);
    cr_assert_eq(mg_graph_backward(g), MG_OK);
    memcpy(dw, mg_params_grad(P), FH * FC * sizeof *dw);
    *flipped = y[0]->aux != NULL;
    mg_graph_free(g);
    mg_params_free(P);
}

/* The same gradient by bli_sgemm into row-major storage: x_t^T r_t for the
 * uses in the order given, the first stored, the next added (beta = 1). */
static void plain_grad(const int *order, int uses, float *dw) {
    float *x = malloc(FR * FH * sizeof *x), *r = malloc(FR * FC * sizeof *r);
    for (int u = 0; u < uses; u++) {
        fill(x, FR * FH, 10 + (uint64_t)order[u]);
        fill(r, FR * FC, 20 + (uint64_t)order[u]);
        mg_sgemm(FH, FC, FR, 1.0f, x, 1, FH, r, FC, 1, u ? 1.0f : 0.0f, dw, FC, 1);
    }
    free(x), free(r);
}

Test(matmul, flipped_weight_gradient_keeps_blis_bits) {
    mg_gemm_init(1);
    int64_t mr, nr;
    bool rows;
    mg_sgemm_tile(&mr, &nr, &rows);
    float *got = malloc(FH * FC * sizeof *got), *want = malloc(FH * FC * sizeof *want);
    float *other = malloc(FH * FC * sizeof *other);
    bool flipped;
    flipped_run(1, got, &flipped);
    if (mr == 32 && nr == 12 && !rows) /* skx: 97/108 of the tile used flipped, 97/128 not */
        cr_expect(flipped, "the classifier-shaped gradient was not flipped on %s", mg_blis_arch());
    plain_grad((int[]){0}, 1, want);
    cr_expect(memcmp(got, want, FH * FC * sizeof *got) == 0, "stored gradient differs");
    /* two uses: whichever product backward runs first stores, the other adds */
    flipped_run(2, got, &flipped);
    plain_grad((int[]){1, 0}, 2, want);
    plain_grad((int[]){0, 1}, 2, other);
    cr_expect(memcmp(want, other, FH * FC * sizeof *want) != 0,
              "the two orders give the same bits: the test could not tell them apart");
    cr_expect(memcmp(got, want, FH * FC * sizeof *got) == 0 ||
                  memcmp(got, other, FH * FC * sizeof *got) == 0,
              "accumulated gradient differs from both orders of bli_sgemm");
    free(got), free(want), free(other);
}

/* A weight gradient whose tiles are as full either way keeps BLIS's
 * row-major form (128 x 128: no flip can pay for its transposes). */
Test(matmul, flip_only_where_it_pays) {
    mg_gemm_init(1);
    mg_params *P = mg_params_new();
    mg_graph *g = mg_graph_new(P);
    mg_tensor *x = mg_input(g, "x", MG_F32, MG_SHAPE(FR, 128));
    mg_tensor *w = mg_param(g, "w", MG_NORMAL(1), MG_SHAPE(128, 128)); /* 128: whole tiles */
    mg_tensor *y = mg_matmul(g, x, w);
    cr_assert_eq(mg_graph_compile(g, mg_sum_all(g, y)), MG_OK, "%s", mg_errmsg());
    cr_expect_null(y->aux, "a 128-wide weight gradient was flipped");
    mg_graph_free(g);
    mg_params_free(P);
}
