/* main.c — `modgrad`: dispatch to the subcommands, after choosing BLIS's
 * kernels (before any BLIS call: BLIS reads its choice once). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/blis_tune.h"
#include "core/error.h"
#include "core/gemm.h"
#include "tools/cli/cli.h"

int cli_exit_status(int status) {
    switch ((mg_status)status) {
    case MG_OK: return MG_EXIT_OK;
    case MG_ERR_ARG:
    case MG_ERR_FORMAT:
    case MG_ERR_SHAPE: return MG_EXIT_USAGE;
    default: return MG_EXIT_FAIL;
    }
}

void cli_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("modgrad: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

bool cli_int(const char *flag, const char *v, int64_t lo, int64_t hi, int64_t *out) {
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (end == v || *end || errno || x < lo || x > hi) {
        cli_error("%s: expected a whole number from %lld to %lld, got '%s'", flag, (long long)lo,
                  (long long)hi, v);
        return false;
    }
    *out = x;
    return true;
}

bool cli_real(const char *flag, const char *v, double *out) {
    char *end;
    double x = strtod(v, &end);
    if (end == v || *end) {
        cli_error("%s: expected a number, got '%s'", flag, v);
        return false;
    }
    *out = x;
    return true;
}

static void usage(FILE *f) {
    fprintf(
        f, "usage: modgrad COMMAND [options]\n\n"
           "commands:\n"
           "  train     train a model on a modular task into a run directory\n"
           "  models    list the models and their options\n"
           "  analyze   recompute a run's analyses and print its report\n"
           "  compare   runs side by side, or a sweep's reports (MLP against attention), or --csv\n"
           "  sweep     a grid of runs (seeds, weight decay, moduli, models, tasks): a local\n"
           "            pool or a SLURM job array, and its tables\n"
           "  info      version, BLIS kernels (chosen by a cached measurement; --retune)\n"
           "            and the measured GEMM rate\n"
           "  plot      draw a run's pictures (PNG and SVG) with gnuplot\n"
           "  sae       a sparse autoencoder on a checkpoint's residual stream\n\n"
           "`modgrad COMMAND --help` describes a command. modgrad --version prints the version.\n");
}

static mg_blis_decision blis;
static bool blis_decided;

const mg_blis_decision *cli_blis_decision(void) { return blis_decided ? &blis : NULL; }

/* The commands whose work runs matrix products (or spawns runs that do). */
static bool runs_blis(const char *cmd) {
    return !strcmp(cmd, "train") || !strcmp(cmd, "sweep") || !strcmp(cmd, "analyze") ||
           !strcmp(cmd, "sae") || !strcmp(cmd, "info") || !strcmp(cmd, "--version");
}

/* BLIS's kernels, chosen before any BLIS call (core/blis_tune.h: the user's
 * BLIS_ARCH_TYPE, MODGRAD_BLIS_TUNE=off's fixed rule, the cache, a new
 * measurement). A resumed run later pins the kernels it recorded
 * (mg_blis_pin), which it can since nothing here starts BLIS. Returns an
 * exit status. */
static int choose_blis(int argc, char **argv) {
    mg_blis_tune_opts o = {0};
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return MG_EXIT_OK;
        if (!strcmp(argv[1], "info") && !strcmp(argv[i], "--retune")) o.retune = true;
    }
    mg_status st = mg_blis_tune(&o, &blis);
    if (st) {
        cli_error("%s", mg_errmsg());
        return cli_exit_status(st);
    }
    blis_decided = true;
    bool info = !strcmp(argv[1], "info");
    if (!info && blis.source == MG_BLIS_MEASURED)
        fprintf(stderr,
                "modgrad: measured BLIS's kernels on this CPU (once; `modgrad info` shows the "
                "table): %s%s%s\n",
                blis.arch, blis.cache_written ? ", cached in " : "",
                blis.cache_written ? blis.cache_path : "");
    if (!info && blis.cache_note[0] && blis.source == MG_BLIS_MEASURED)
        fprintf(stderr, "modgrad: %s\n", blis.cache_note);
    return MG_EXIT_OK;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return MG_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return MG_EXIT_OK;
    }
    if (runs_blis(cmd)) {
        int rc = choose_blis(argc, argv);
        if (rc != MG_EXIT_OK) return rc;
    }
    if (!strcmp(cmd, "--version")) {
        mg_gemm_init(0);
        printf("modgrad %s (BLIS %s: %s)\n", MG_VERSION, mg_blis_arch(), mg_blis_reason());
        return MG_EXIT_OK;
    }
    if (!strcmp(cmd, "train")) return cmd_train(argc - 1, argv + 1);
    if (!strcmp(cmd, "models")) return cmd_models(argc - 1, argv + 1);
    if (!strcmp(cmd, "info")) return cmd_info(argc - 1, argv + 1);
    if (!strcmp(cmd, "plot")) return cmd_plot(argc - 1, argv + 1);
    if (!strcmp(cmd, "analyze")) return cmd_analyze(argc - 1, argv + 1);
    if (!strcmp(cmd, "compare")) return cmd_compare(argc - 1, argv + 1);
    if (!strcmp(cmd, "sweep")) return cmd_sweep(argc - 1, argv + 1);
    if (!strcmp(cmd, "sae")) return cmd_sae(argc - 1, argv + 1);
    cli_error("unknown command '%s'; commands: train, models, analyze, compare, sweep, plot, info "
              "(modgrad --help)",
              cmd);
    return MG_EXIT_USAGE;
}
