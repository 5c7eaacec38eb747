/* info_cmd.c — `modgrad models` and `modgrad info`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/clock.h"
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

/* The kernel table main measured or read from the cache, and the choice. */
static void print_kernels(const mg_blis_decision *d) {
    mg_cpu_features f = mg_cpu_detect();
    const char *names[32], *cands[MG_BLIS_MAX_CANDIDATES];
    int n = mg_blis_configs(names, 32), nc = mg_blis_candidates(&f, cands);
    printf("BLIS %s, built with:", mg_blis_version());
    for (int i = 0; i < n && i < 32; i++) printf(" %s", names[i]);
    printf("\nCPU: %s family %d model %d stepping %d; candidates:", f.vendor, f.family, f.model,
           f.stepping);
    for (int i = 0; i < nc; i++) printf(" %s", cands[i]);
    printf("\n");
    if (!d) return;
    const mg_blis_table *t = &d->table;
    if (d->have_table) {
        printf("kernel table (%s %s; GFLOP/s per core: one thread, best of %d x %d rounds, by CPU "
               "time):\n",
               d->cache_read ? "read from the cache, measured" : "measured now,", t->measured_at,
               t->reps, t->rounds);
        printf("  %-9s", "arch");
        for (int s = 0; s < MG_BLIS_N_SHAPES; s++) printf(" %11s", mg_blis_shapes()[s].name);
        printf(" %8s\n", "all");
        for (int i = 0; i < t->n; i++) {
            const mg_blis_row *r = &t->rows[i];
            printf("%c %-9s", i == t->chosen ? '*' : ' ', r->arch);
            if (!r->ok) {
                printf(" failed: %s\n", r->note);
                continue;
            }
            for (int s = 0; s < MG_BLIS_N_SHAPES; s++) printf(" %11.1f", r->gflops[s]);
            printf(" %8.1f\n", r->all);
        }
        printf("  (shapes m x n x k:");
        for (int s = 0; s < MG_BLIS_N_SHAPES; s++) {
            const mg_blis_shape *p = &mg_blis_shapes()[s];
            printf(" %s %lldx%lldx%lld", p->name, (long long)p->m, (long long)p->n,
                   (long long)p->k);
        }
        printf("; * the fastest)\n");
    } else {
        printf("kernel table: not measured (%s); `modgrad info --retune` measures it\n",
               d->source == MG_BLIS_USER ? "BLIS_ARCH_TYPE is set"
               : d->source == MG_BLIS_FIXED && getenv("MODGRAD_BLIS_TUNE")
                   ? "MODGRAD_BLIS_TUNE=off"
                   : "no candidate could be measured");
    }
    printf("cache: %s%s\n", d->cache_path[0] ? d->cache_path : "none",
           d->cache_written ? " (written now)"
           : d->cache_read  ? " (read)"
                            : "");
    if (d->cache_note[0]) printf("  %s\n", d->cache_note);
}

int cmd_info(int argc, char **argv) {
    int64_t threads = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: modgrad info [--threads N] [--retune]\n"
                   "Prints the version, the BLIS kernels in use and why, the table of the\n"
                   "candidate kernels' measured GEMM rates (cached per CPU and BLIS version under\n"
                   "$XDG_CACHE_HOME/modgrad, default ~/.cache/modgrad) and the GEMM rate with\n"
                   "N threads. --retune measures the candidates again and rewrites the cache.\n"
                   "BLIS_ARCH_TYPE chooses the kernels by hand; MODGRAD_BLIS_TUNE=off uses the\n"
                   "fixed rule from the CPU's flags instead of the measurement.\n");
            return MG_EXIT_OK;
        }
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            if (!cli_int("--threads", argv[++i], 0, 1024, &threads)) return MG_EXIT_USAGE;
        } else if (strcmp(argv[i], "--retune") != 0) { /* --retune: main measured already */
            cli_error("info: unknown argument '%s' (modgrad info --help)", argv[i]);
            return MG_EXIT_USAGE;
        }
    }
    printf("modgrad %s\n", MG_VERSION);
    print_kernels(cli_blis_decision());
    mg_gemm_init((int)threads);
    printf("BLIS kernels: %s, chosen by %s: %s\nthreads: %d\n", mg_blis_arch(),
           mg_blis_source_name(mg_blis_source_of()), mg_blis_reason(), mg_gemm_threads());
    const int64_t m = 4704, k = 256, n = 512;
    float *a = mg_malloc(sizeof(float) * m * k), *b = mg_malloc(sizeof(float) * k * n);
    float *c = mg_malloc(sizeof(float) * m * n);
    for (int64_t i = 0; i < m * k; i++) a[i] = (float)(i % 13) * 0.01f;
    for (int64_t i = 0; i < k * n; i++) b[i] = (float)(i % 7) * 0.01f;
    double best = 1e30;
    for (int r = 0; r < 10; r++) {
        double t = mg_clock_s();
        mg_sgemm(m, n, k, 1.0f, a, k, 1, b, n, 1, 0.0f, c, n, 1);
        t = mg_clock_s() - t;
        if (t < best) best = t;
    }
    printf("sgemm (4704x256)@(256x512): %.1f GFLOP/s (best of 10)\n",
           2.0 * m * n * k / best * 1e-9);
    mg_free(a), mg_free(b), mg_free(c);
    return MG_EXIT_OK;
}
