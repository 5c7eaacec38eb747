/* bench_step.c — the median time of a full-batch training step (forward,
 * backward, AdamW) of a model in its canonical setting, for tools/bench.
 *
 *   bench_step MODEL [--steps N] [--threads T] [--seed N] [--p P] [--no-rewrites]
 *              [--mlp yes] [--dump DIR] [--dump-only] [--profile]
 *
 * Prints one line of key=value pairs: the model, the modulus P, median and
 * min step time, the median CPU time of a step (all of the process's
 * threads: the figure that survives a loaded machine),
 * the loss at step 0, the step's FLOPs after rewrites and as written, the
 * FLOP rate against the sgemm rate measured in the same process, the peak
 * resident memory, BLIS's kernels, and what the per-layer probes add to a
 * step at the default rate (one probed step in 10). --dump writes DIR/init.safetensors
 * (the step-0 parameters) and DIR/data.safetensors (the training split's a,
 * b and labels as float tensors "a", "b", "y") so that the peers start from
 * the same weights on the same data; --seed picks the run's seed (the split
 * and the initialisation, as modgrad train --seed; default 0), --p the
 * task's modulus (as modgrad train --p; default the model's canonical P,
 * everything else canonical), and
 * --dump-only writes the dump, prints model=, seed= and loss0= and stops
 * (what tools/bench/grid needs per seed). --profile then runs the steps again
 * with kernel timing on and prints, per node, the mean forward and backward
 * kernel times (most expensive first), the gradient zeroing and the rest of
 * the step (optimizer, checks). A benchmark, not a test.
 *
 * A model whose study runs on a generated task has that setting here
 * instead of the modular add (the table `studies` below): attn_stack trains
 * on `markers` with AdamW lr 3e-4, weight decay 0.01, beta2 0.999 and the
 * task's batch (128 rows), the settings of tools/studies/manifold.json. Its
 * --dump writes, instead of a split, the batches of the first
 * MG_BENCH_BATCHES steps: "tokens" (batches, rows, T) and "y" (batches,
 * rows) as floats, with the metadata task, t, v, k, heads and the AdamW
 * settings lr, wd, beta1, beta2, eps (shortest decimals); the peers train on
 * them in order (cycling), and loss0 is the loss of batch 0.
 * --mlp yes gives attn_stack its GELU MLPs (the model's --mlp). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "analysis/probes.h"
#include "core/blis_tune.h"
#include "core/gemm.h"
#include "core/safetensors.h"
#include "models/harness/train.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double cpu_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Best of 5 single-precision GEMMs of the MLP's hidden-layer shape. */
static double gemm_rate(void) {
    const int64_t m = 4704, k = 256, n = 512;
    float *a = calloc((size_t)(m * k), sizeof *a), *b = calloc((size_t)(k * n), sizeof *b);
    float *c = calloc((size_t)(m * n), sizeof *c);
    double best = 1e30;
    for (int r = 0; r < 6; r++) {
        double t0 = now();
        mg_sgemm(m, n, k, 1.0f, a, k, 1, b, n, 1, 0.0f, c, n, 1);
        double dt = now() - t0;
        if (r && dt < best) best = dt;
    }
    free(a), free(b), free(c);
    return 2.0 * (double)(m * n * k) / best * 1e-9;
}

/* The study settings of the models not trained on the modular add: the
 * task, the learning rate, the weight decay and beta2 (the rest: defaults;
 * attn_stack: tools/studies/manifold.json's). */
static const struct {
    const char *model, *task;
    float lr, wd, beta2;
} studies[] = {{"attn_stack", "markers", 3e-4f, 0.01f, 0.999f}};

#define MG_BENCH_BATCHES 32 /* batches a generated task's dump holds */

/* A generated task's training batches of steps 0..MG_BENCH_BATCHES-1, as
 * the trainer draws them (mg_task_batch), and the metadata the peers need. */
static int dump_batches(mg_trainer *t, const char *path, int heads) {
    const mg_task *task = mg_trainer_task(t);
    int64_t rows = mg_trainer_cfg(t)->batch ? mg_trainer_cfg(t)->batch : task->def->default_batch;
    int64_t T = task->T, nb = MG_BENCH_BATCHES;
    mg_rows r;
    if (mg_rows_alloc(&r, rows, task->T, task->n_masks)) return 1;
    float *tok = malloc((size_t)(nb * rows * T) * sizeof *tok),
          *y = malloc((size_t)(nb * rows) * sizeof *y);
    int rc = !tok || !y;
    for (int64_t b = 0; !rc && b < nb; b++) {
        if ((rc = mg_task_batch(task, b, &r) != MG_OK)) break;
        for (int64_t i = 0; i < rows * T; i++) tok[b * rows * T + i] = (float)r.tokens[i];
        for (int64_t i = 0; i < rows; i++) y[b * rows + i] = (float)r.labels[i];
    }
    mg_st_writer *w = mg_st_writer_new();
    const mg_opt_cfg *o = &mg_trainer_cfg(t)->optim;
    const float opt[] = {o->lr, o->weight_decay, o->beta1, o->beta2, o->eps};
    const char *opt_keys[] = {"lr", "wd", "beta1", "beta2", "eps"};
    char v[4][32];
    snprintf(v[0], sizeof v[0], "%d", task->T);
    snprintf(v[1], sizeof v[1], "%d", task->V);
    snprintf(v[2], sizeof v[2], "%d", task->K);
    snprintf(v[3], sizeof v[3], "%d", heads);
    const int64_t ts[] = {nb, rows, T}, ys[] = {nb, rows};
    rc = rc || mg_st_add_f32(w, "tokens", 3, ts, tok) || mg_st_add_f32(w, "y", 2, ys, y) ||
         mg_st_add_meta(w, "task", task->def->name) || mg_st_add_meta(w, "t", v[0]) ||
         mg_st_add_meta(w, "v", v[1]) || mg_st_add_meta(w, "k", v[2]) ||
         mg_st_add_meta(w, "heads", v[3]);
    for (int i = 0; i < 5 && !rc; i++) { /* the shortest decimal that reads back as the float */
        char d[32];
        for (int prec = 1; prec <= 9; prec++) {
            snprintf(d, sizeof d, "%.*g", prec, (double)opt[i]);
            if (strtof(d, NULL) == opt[i]) break;
        }
        rc = mg_st_add_meta(w, opt_keys[i], d) != MG_OK;
    }
    rc = rc || mg_st_save(w, path);
    mg_st_writer_free(w);
    free(tok), free(y);
    mg_rows_free(&r);
    return rc;
}

static int dump(mg_trainer *t, const char *dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/init.safetensors", dir);
    mg_st_writer *w = mg_st_writer_new();
    if (mg_st_add_params(w, mg_trainer_params(t), "") || mg_st_save(w, path)) return 1;
    mg_st_writer_free(w);
    const mg_dataset *d = mg_trainer_dataset(t);
    if (!d) { /* a generated task */
        const mg_train_cfg *c = mg_trainer_cfg(t);
        int h = mg_model_option_index(c->model, "heads");
        snprintf(path, sizeof path, "%s/data.safetensors", dir);
        return dump_batches(t, path, h >= 0 ? (int)c->opt[h] : 0);
    }
    int64_t n = d->n_train;
    float *v = malloc(3 * (size_t)n * sizeof *v);
    for (int64_t i = 0; i < n; i++) {
        v[i] = (float)d->train_a[i];
        v[n + i] = (float)d->train_b[i];
        v[2 * n + i] = (float)d->train_y[i];
    }
    w = mg_st_writer_new();
    snprintf(path, sizeof path, "%s/data.safetensors", dir);
    char p[32];
    snprintf(p, sizeof p, "%d", d->p);
    int rc = mg_st_add_f32(w, "a", 1, &n, v) || mg_st_add_f32(w, "b", 1, &n, v + n) ||
             mg_st_add_f32(w, "y", 1, &n, v + 2 * n) || mg_st_add_meta(w, "p", p) ||
             mg_st_save(w, path);
    mg_st_writer_free(w);
    free(v);
    return rc;
}

static void profile(mg_trainer *t, int steps) {
    mg_graph *g = mg_trainer_graph(t);
    int n = mg_graph_node_count(g);
    double *f = calloc((size_t)n + 1, sizeof *f), *b = calloc((size_t)n + 1, sizeof *b);
    int *order = malloc((size_t)n * sizeof *order);
    mg_graph_profile(g, f, b);
    double t0 = now();
    for (int s = 0; s < steps; s++) mg_trainer_step(t);
    double total = (now() - t0) / steps * 1e3, kernels = 0;
    mg_graph_profile(g, NULL, NULL);
    for (int i = 0; i <= n; i++) kernels += (f[i] + b[i]) / steps * 1e3;
    for (int i = 0; i < n; i++) order[i] = i;
    for (int i = 1; i < n; i++) /* insertion sort by total time, largest first */
        for (int j = i; j > 0 && f[order[j]] + b[order[j]] > f[order[j - 1]] + b[order[j - 1]];
             j--) {
            int x = order[j];
            order[j] = order[j - 1];
            order[j - 1] = x;
        }
    printf("profile: %.3f ms per step, mean of %d\n", total, steps);
    printf("  node  op              shape                 fwd ms   bwd ms  share\n");
    for (int k = 0; k < n; k++) {
        int i = order[k];
        if (f[i] + b[i] <= 0) break;
        const mg_tensor *x = mg_graph_node(g, i);
        char shape[48];
        printf("  %4d  %-14s  %-20s %7.3f  %7.3f  %4.1f%%\n", i, x->op->name,
               mg_shape_str(x, shape, sizeof shape), f[i] / steps * 1e3, b[i] / steps * 1e3,
               100 * (f[i] + b[i]) / steps * 1e3 / total);
    }
    printf("  gradient zeroing                           %7.3f  %4.1f%%\n", b[n] / steps * 1e3,
           100 * b[n] / steps * 1e3 / total);
    printf("  rest of the step (optimizer, checks)       %7.3f  %4.1f%%\n", total - kernels,
           100 * (total - kernels) / total);
    free(f), free(b), free(order);
}

/* The cost of the per-layer probes at the default rate (one probed step in
 * 10, as modgrad train does): blocks of 10 steps with and without the probe,
 * alternating; the percentage the median probed block adds. */
static double probe_cost(mg_trainer *t, int blocks) {
    mg_probes_layer probe[64];
    if (mg_params_layer_count(mg_trainer_params(t)) > 64) return -1;
    double *with = malloc(sizeof(double) * (size_t)blocks),
           *without = malloc(sizeof(double) * (size_t)blocks);
    for (int b = 0; b < blocks; b++)
        for (int probed = 0; probed < 2; probed++) {
            double t0 = now();
            for (int s = 0; s < 10; s++) mg_trainer_step_probed(t, probed && s == 0 ? probe : NULL);
            (probed ? with : without)[b] = now() - t0;
        }
    qsort(with, (size_t)blocks, sizeof *with, cmp);
    qsort(without, (size_t)blocks, sizeof *without, cmp);
    double pct = 100.0 * (with[blocks / 2] - without[blocks / 2]) / without[blocks / 2];
    free(with), free(without);
    return pct;
}

static mg_trainer *make(const mg_model_def *m, int threads, uint64_t seed, int p, const char *off,
                        bool mlp) {
    mg_train_cfg cfg;
    mg_train_defaults(&cfg, m);
    for (size_t i = 0; i < sizeof studies / sizeof studies[0]; i++)
        if (!strcmp(m->name, studies[i].model)) {
            if (mg_task_choose(&cfg.task, studies[i].task)) {
                fprintf(stderr, "bench_step: %s\n", mg_errmsg());
                exit(1);
            }
            cfg.optim.lr = studies[i].lr;
            cfg.optim.weight_decay = studies[i].wd;
            cfg.optim.beta2 = studies[i].beta2;
        }
    if (mlp) {
        int i = mg_model_option_index(m, "mlp");
        if (i < 0 || mg_model_option_parse(m, i, "yes", &cfg.opt[i])) {
            fprintf(stderr, "bench_step: --mlp yes: model %s has no option --mlp\n", m->name);
            exit(2);
        }
    }
    cfg.threads = threads;
    cfg.task.seed = seed;
    if (p) cfg.task.p = p;
    snprintf(cfg.no_rewrites, sizeof cfg.no_rewrites, "%s", off);
    mg_trainer *t = NULL;
    if (mg_trainer_new(&cfg, &t)) {
        fprintf(stderr, "bench_step: %s\n", mg_errmsg());
        exit(1);
    }
    return t;
}

int main(int argc, char **argv) {
    const char *model = NULL, *dir = NULL, *off = "";
    int steps = 20, threads = 0, prof = 0, dump_only = 0, p = 0;
    bool mlp = false;
    uint64_t seed = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--steps") && i + 1 < argc) steps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc) seed = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--p") && i + 1 < argc) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            if (*end || v < 2 || v > 100000) {
                fprintf(stderr, "bench_step: --p takes a modulus >= 2, got '%s'\n", argv[i]);
                return 2;
            }
            p = (int)v;
        } else if (!strcmp(argv[i], "--dump") && i + 1 < argc) dir = argv[++i];
        else if (!strcmp(argv[i], "--dump-only")) dump_only = 1;
        else if (!strcmp(argv[i], "--no-rewrites")) off = "all";
        else if (!strcmp(argv[i], "--mlp") && i + 1 < argc && !strcmp(argv[i + 1], "yes")) {
            mlp = true;
            i++;
        } else if (!strcmp(argv[i], "--profile")) prof = 1;
        else if (!model && argv[i][0] != '-') model = argv[i];
        else {
            fprintf(stderr, "usage: bench_step MODEL [--steps N] [--threads T] [--seed N] [--p P] "
                            "[--no-rewrites] [--mlp yes] [--dump DIR] [--dump-only] [--profile]\n");
            return 2;
        }
    }
    /* The kernels `modgrad train` would run here (core/blis_tune.h: the
     * user's BLIS_ARCH_TYPE, MODGRAD_BLIS_TUNE=off, the cache, a measurement),
     * so the step timed is the step a run takes, not the fixed rule's. */
    mg_blis_decision blis;
    if (mg_blis_tune(&(mg_blis_tune_opts){0}, &blis) != MG_OK) {
        fprintf(stderr, "bench_step: %s\n", mg_errmsg());
        return 2;
    }
    const mg_model_def *m = model ? mg_model_find(model) : NULL;
    if (!m) {
        fprintf(stderr, "bench_step: %s\n", model ? mg_errmsg() : "give a model");
        return 2;
    }
    if (dump_only && !dir) {
        fprintf(stderr, "bench_step: --dump-only needs --dump DIR\n");
        return 2;
    }
    if (steps < 3) steps = 3;
    mg_trainer *t = make(m, threads, seed, p, off, mlp);
    double flops = mg_graph_step_flops(mg_trainer_graph(t));
    if (dir && dump(t, dir)) {
        fprintf(stderr, "bench_step: %s\n", mg_errmsg());
        return 1;
    }
    mg_eval e0;
    mg_trainer_eval_train(t, &e0);
    if (dump_only) {
        printf("model=%s p=%d seed=%llu loss0=%.7f\n", m->name, mg_trainer_task(t)->K,
               (unsigned long long)seed, e0.loss);
        mg_trainer_free(t);
        return 0;
    }
    double *dt = malloc(sizeof(double) * (size_t)steps),
           *ct = malloc(sizeof(double) * (size_t)steps);
    mg_trainer_step(t); /* warm-up: BLIS packs its buffers */
    for (int s = 0; s < steps; s++) {
        double t0 = now(), c0 = cpu_now();
        if (mg_trainer_step(t)) {
            fprintf(stderr, "bench_step: %s\n", mg_errmsg());
            return 1;
        }
        ct[s] = cpu_now() - c0;
        dt[s] = now() - t0;
    }
    qsort(dt, (size_t)steps, sizeof *dt, cmp);
    qsort(ct, (size_t)steps, sizeof *ct, cmp);
    double med = dt[steps / 2], cpu_med = ct[steps / 2], rate = gemm_rate();
    double probes = probe_cost(t, steps / 4 > 3 ? steps / 4 : 3);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru); /* the peak of this run, before the plain graph below */
    mg_trainer *plain = make(m, threads, seed, p, "all", mlp);
    double flops_written = mg_graph_step_flops(mg_trainer_graph(plain));
    mg_trainer_free(plain);
    printf("model=%s p=%d steps=%d threads=%d median_s=%.6f min_s=%.6f cpu_median_s=%.6f "
           "loss0=%.7f flops=%.0f flops_written=%.0f gflops_achieved=%.1f gflops_sgemm=%.1f "
           "rss_kb=%ld blis=%s rewrites=%s probe_cost_pct=%.2f\n",
           m->name, mg_trainer_task(t)->K, steps, mg_gemm_threads(), med, dt[0], cpu_med, e0.loss,
           flops, flops_written, flops / med * 1e-9, rate, ru.ru_maxrss, mg_blis_arch(),
           *off ? "off" : "on", probes);
    if (prof) profile(t, steps);
    free(dt), free(ct);
    mg_trainer_free(t);
    return 0;
}
