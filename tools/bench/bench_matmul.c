/* bench_matmul.c — the engine's matmul node against a bare bli_sgemm.
 *
 * For (4704 x 256) @ (256 x 512), the MLP's hidden layer at P = 97 and full
 * batch, and the two transposed products its backward runs, times a graph
 * holding one matmul node (forward, or forward + backward) against the same
 * GEMMs called directly, and prints the medians and the overhead. A
 * benchmark, not a test: run `build/bench_matmul [reps] [threads]`. */
#include <blis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/gemm.h"
#include "ops/ops.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 30;
    int threads = argc > 2 ? atoi(argv[2]) : 0;
    if (reps < 3) reps = 3;
    mg_gemm_init(threads);
    const int64_t M = 4704, K = 256, N = 512;
    printf("BLIS: %s; %s; %d threads\n", mg_blis_arch(), mg_blis_reason(), mg_gemm_threads());

    mg_params *P = mg_params_new();
    mg_graph *g = mg_graph_new(P);
    /* x is a parameter too, so backward forms both transposed products */
    mg_tensor *x = mg_param(g, "x", MG_UNIFORM(0.5), MG_SHAPE(M, K));
    mg_tensor *w = mg_param(g, "w", MG_NORMAL(0.05), MG_SHAPE(K, N));
    mg_tensor *y = mg_matmul(g, x, w);
    mg_tensor *loss = mg_sum_all(g, y);
    if (mg_graph_compile(g, loss)) {
        fprintf(stderr, "bench_matmul: %s\n", mg_errmsg());
        return 1;
    }
    /* the forward is timed on a graph of the product alone (the training
     * graph's forward also runs the sum that makes the loss) */
    mg_graph *gf = mg_graph_new(P);
    mg_tensor *yf = mg_matmul(gf, mg_param(gf, "x", MG_UNIFORM(0.5), MG_SHAPE(M, K)),
                              mg_param(gf, "w", MG_NORMAL(0.05), MG_SHAPE(K, N)));
    mg_graph_keep(gf, yf);
    if (mg_graph_compile(gf, NULL)) {
        fprintf(stderr, "bench_matmul: %s\n", mg_errmsg());
        return 1;
    }
    mg_rng rng;
    mg_rng_seed(&rng, 1);
    mg_params_init(P, &rng);

    float *A = mg_f32(x), *B = mg_f32(w), *C = malloc(sizeof(float) * M * N);
    float *dC = malloc(sizeof(float) * M * N), *dA = malloc(sizeof(float) * M * K);
    float *dB = malloc(sizeof(float) * K * N);
    for (int64_t i = 0; i < M * N; i++) dC[i] = 1.0f;
    float one = 1.0f, zero = 0.0f;
    double *t_node = malloc(sizeof(double) * reps), *t_bare = malloc(sizeof(double) * reps);
    double *t_nodeb = malloc(sizeof(double) * reps), *t_bareb = malloc(sizeof(double) * reps);
    /* warm up both paths (BLIS packs buffers on first use) */
    mg_graph_forward(gf);
    mg_graph_forward(g);
    mg_graph_backward(g);
    bli_sgemm(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, M, N, K, &one, A, K, 1, B, N, 1, &zero, C, N,
              1);
    for (int r = 0; r < reps; r++) {
        /* alternate engine and bare runs so drift in the machine hits both */
        double t0 = now();
        mg_graph_forward(gf);
        t_node[r] = now() - t0;
        mg_graph_forward(g); /* the loss graph's values for its backward */
        t0 = now();
        bli_sgemm(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, M, N, K, &one, A, K, 1, B, N, 1, &zero, C,
                  N, 1);
        t_bare[r] = now() - t0;
        t0 = now();
        mg_graph_backward(g);
        t_nodeb[r] = now() - t0;
        /* the backward's two products: dA += dC @ W^T (strides of W swapped),
         * dW += X^T @ dC (strides of X swapped); plus the sum's dC fill */
        t0 = now();
        for (int64_t i = 0; i < M * N; i++) dC[i] = 1.0f;
        memset(dB, 0, sizeof(float) * K * N);
        memset(dA, 0, sizeof(float) * M * K);
        bli_sgemm(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, M, K, N, &one, dC, N, 1, B, 1, N, &one, dA,
                  K, 1);
        bli_sgemm(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, K, N, M, &one, A, 1, K, dC, N, 1, &one, dB,
                  N, 1);
        t_bareb[r] = now() - t0;
    }
    double fn = median(t_node, reps), fb = median(t_bare, reps);
    double bn = median(t_nodeb, reps), bb = median(t_bareb, reps);
    double flop = 2.0 * M * N * K;
    printf("%-34s %10s %10s %9s\n", "(4704x256)@(256x512)", "engine ms", "bare ms", "overhead");
    printf("%-34s %10.3f %10.3f %8.1f%%\n", "forward  x @ W", 1e3 * fn, 1e3 * fb,
           100.0 * (fn / fb - 1.0));
    printf("%-34s %10.3f %10.3f %8.1f%%\n", "backward dX = dY W^T, dW = X^T dY", 1e3 * bn, 1e3 * bb,
           100.0 * (bn / bb - 1.0));
    printf("GEMM rate (bare forward): %.1f GFLOP/s; medians of %d runs\n", flop / fb * 1e-9, reps);
    mg_graph_free(gf);
    mg_graph_free(g);
    mg_params_free(P);
    free(C), free(dC), free(dA), free(dB);
    free(t_node), free(t_bare), free(t_nodeb), free(t_bareb);
    return 0;
}
