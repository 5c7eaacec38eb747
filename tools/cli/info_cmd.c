/* info_cmd.c — `modgrad models` and `modgrad info`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/gemm.h"
#include "models/harness/modelfile.h"
#include "models/model.h"
#include "tools/cli/cli.h"

int cmd_models(int argc, char **argv) {
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: modgrad models [--model-file FILE]\n"
               "Lists every model with its options and defaults (with --model-file, also the\n"
               "models FILE registers; see modgrad train --help).\n");
        return MG_EXIT_OK;
    }
    if (argc == 3 && !strcmp(argv[1], "--model-file")) {
        const mg_modelfile *f = NULL;
        mg_status st = mg_modelfile_load(argv[2], NULL, &f);
        cli_print_diagnostics();
        if (st) {
            cli_error("%s", mg_errmsg());
            return cli_exit_status(st);
        }
    } else if (argc > 1) {
        cli_error("models: unexpected argument '%s' (modgrad models [--model-file FILE])", argv[1]);
        return MG_EXIT_USAGE;
    }
    for (int i = 0; i < mg_model_count(); i++) {
        const mg_model_def *m = mg_model_at(i);
        const mg_modelfile *f = mg_modelfile_of(m);
        printf("%s%s%s%s\n  %s\n  canonical: --p %d --frac %g --steps %lld\n", m->name,
               f ? "  (from " : "", f ? f->path : "", f ? ")" : "", m->summary, m->default_p,
               m->default_frac, (long long)m->default_steps);
        for (int k = 0; k < m->n_options; k++) {
            char buf[64];
            const mg_model_option *o = &m->options[k];
            printf("  --%-12s %-14s %s (default %s)\n", o->name,
                   o->type == MG_OPTION_CHOICE ? o->choices
                   : o->type == MG_OPTION_INT  ? "N"
                                               : "X",
                   o->help, mg_model_option_str(m, k, o->def, buf, sizeof buf));
        }
        printf("\n");
    }
    return MG_EXIT_OK;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int cmd_info(int argc, char **argv) {
    int64_t threads = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: modgrad info [--threads N]\nPrints the version, the BLIS kernels in "
                   "use and why, and the measured single-precision GEMM rate.\n");
            return MG_EXIT_OK;
        }
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            if (!cli_int("--threads", argv[++i], 0, 1024, &threads)) return MG_EXIT_USAGE;
        } else {
            cli_error("info: unknown argument '%s' (modgrad info --help)", argv[i]);
            return MG_EXIT_USAGE;
        }
    }
    mg_gemm_init((int)threads);
    printf("modgrad %s\nBLIS kernels: %s (%s)\nthreads: %d\n", MG_VERSION, mg_blis_arch(),
           mg_blis_reason(), mg_gemm_threads());
    const int64_t m = 4704, k = 256, n = 512;
    float *a = mg_malloc(sizeof(float) * m * k), *b = mg_malloc(sizeof(float) * k * n);
    float *c = mg_malloc(sizeof(float) * m * n);
    for (int64_t i = 0; i < m * k; i++) a[i] = (float)(i % 13) * 0.01f;
    for (int64_t i = 0; i < k * n; i++) b[i] = (float)(i % 7) * 0.01f;
    double best = 1e30;
    for (int r = 0; r < 10; r++) {
        double t = now();
        mg_sgemm(m, n, k, 1.0f, a, k, 1, b, n, 1, 0.0f, c, n, 1);
        t = now() - t;
        if (t < best) best = t;
    }
    printf("sgemm (4704x256)@(256x512): %.1f GFLOP/s (best of 10)\n",
           2.0 * m * n * k / best * 1e-9);
    mg_free(a), mg_free(b), mg_free(c);
    return MG_EXIT_OK;
}
