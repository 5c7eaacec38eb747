/* bench_step.c — the median time of a full-batch training step (forward,
 * backward, AdamW) of a model in its canonical setting.
 *
 *   bench_step MODEL [steps] [threads] [--no-rewrites]
 *
 * Prints one line "MODEL steps=N threads=T median_s=... min_s=... p=... n_train=..."
 * for tools/bench to collect. A benchmark, not a test. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/gemm.h"
#include "models/train.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: bench_step MODEL [steps] [threads]\n");
        return 2;
    }
    const mg_model_def *m = mg_model_find(argv[1]);
    if (!m) {
        fprintf(stderr, "bench_step: %s\n", mg_errmsg());
        return 2;
    }
    int steps = argc > 2 ? atoi(argv[2]) : 20;
    int threads = argc > 3 ? atoi(argv[3]) : 0;
    if (steps < 3) steps = 3;
    mg_train_cfg cfg;
    mg_train_defaults(&cfg, m);
    cfg.threads = threads;
    mg_trainer *t = NULL;
    if (mg_trainer_new(&cfg, &t)) {
        fprintf(stderr, "bench_step: %s\n", mg_errmsg());
        return 1;
    }
    double *dt = malloc(sizeof(double) * (size_t)steps);
    mg_trainer_step(t); /* warm-up: BLIS packs its buffers */
    for (int s = 0; s < steps; s++) {
        double t0 = now();
        if (mg_trainer_step(t)) {
            fprintf(stderr, "bench_step: %s\n", mg_errmsg());
            return 1;
        }
        dt[s] = now() - t0;
    }
    qsort(dt, (size_t)steps, sizeof *dt, cmp);
    printf("%s steps=%d threads=%d median_s=%.6f min_s=%.6f p=%d n_train=%lld blis=%s\n", m->name,
           steps, mg_gemm_threads(), dt[steps / 2], dt[0], cfg.task.p,
           (long long)mg_trainer_dataset(t)->n_train, mg_blis_arch());
    free(dt);
    mg_trainer_free(t);
    return 0;
}
