/* train_cmd.c — `modgrad train`: flags -> settings -> a run directory,
 * with a progress line on a terminal and log lines otherwise. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/gemm.h"
#include "core/rewrite.h"
#include "models/harness/run.h"
#include "tools/cli/cli.h"

static void help(void) {
    printf(
        "usage: modgrad train [--model NAME] [options] --out DIR\n"
        "       modgrad train --resume DIR --steps M\n\n"
        "Trains a model on a modular task; writes config.json, metrics.csv, probes.csv,\n"
        "geometry.csv, spectrum.csv, circle.csv, checkpoints/ and summary.json into DIR.\n"
        "Defaults are the canonical settings of each model (modgrad models).\n\n"
        "task\n"
        "  --model NAME          mlp | transformer | deep_linear | mlp_tied (default mlp)\n"
        "  --model-file FILE     train a model defined in the C file FILE (anywhere): compiled\n"
        "                        with cc against modgrad's headers, cached in ~/.cache/modgrad;\n"
        "                        --model picks one if FILE registers several\n"
        "  --verbose             print the compile command, the file's hash and timings\n"
        "  --task OP             add | sub | mul | div | x2y2 | x3xy (default add)\n"
        "  --p N                 modulus, >= 2 (div: prime) (mlp 97, transformer 113)\n"
        "  --frac X              training fraction in (0, 1) (mlp 0.5, transformer 0.3)\n"
        "  --seed N              seed of the split and the initialisation (default 0)\n"
        "training\n"
        "  --steps N             optimizer updates (mlp 5000, transformer 15000)\n"
        "  --batch N             rows per step; 0 = full batch (default 0)\n"
        "  --optimizer NAME      sgd | adam | adamw (default adamw)\n"
        "  --lr X | LAYER=X,...  learning rate, or per-layer overrides (default 1e-3; sgd 1e-2)\n"
        "  --wd X | LAYER=X,...  weight decay, or per-layer overrides (adamw default 1.0)\n"
        "  --beta1 X --beta2 X   Adam betas (default 0.9, 0.98)   --eps X (default 1e-8)\n"
        "  --momentum X          SGD momentum (default 0.9)\n"
        "  --threads N           threads; 0 = all cores (default 0)\n"
        "  --stop-at-grok        stop once test accuracy >= 99%% held for 3 evaluations\n"
        "  --no-rewrite NAME     leave out one graph rewrite (repeatable; --explain shows them)\n"
        "  --no-rewrites         run the graph as written\n"
        "  --explain             print the training graph before and after the rewrites, with\n"
        "                        each node's shape and FLOPs, and exit (writes nothing)\n"
        "output\n"
        "  --out DIR             the run directory (refused if it exists, unless --force)\n"
        "  --force               replace an existing run directory\n"
        "  --resume DIR          continue DIR from its last checkpoint up to --steps\n"
        "  --eval-every N        evaluate train and test every N steps (default 100)\n"
        "  --checkpoint-every N  checkpoint every N steps (default 1000; also at 0 and the end)\n"
        "  --probe-every N       per-layer probes into probes.csv every N steps (default 10)\n"
        "  --geometry-every N    Fourier, ranks, collapse into geometry.csv every N steps (default "
        "100)\n"
        "model options (see modgrad models), e.g. --d 128 --width 512 for mlp\n\n"
        "Exit status: 0 done, 1 failed (diverged, bad checkpoint), 2 bad flags or values.\n");
}

/* Lists the training graph that cfg builds: each node that runs, its shape
 * and FLOPs, and the step's total. */
static int list_graph(const mg_train_cfg *cfg, const char *title) {
    mg_trainer *t = NULL;
    if (mg_trainer_new(cfg, &t)) {
        cli_error("%s", mg_errmsg());
        return MG_EXIT_USAGE;
    }
    mg_graph *g = mg_trainer_graph(t);
    printf("%s: %.3f GFLOP per step\n", title, mg_graph_step_flops(g) * 1e-9);
    printf("  %4s  %-12s %-22s %-20s %10s %10s  %s\n", "node", "op", "name", "shape", "fwd MFLOP",
           "bwd MFLOP", "inputs");
    for (int i = 0; i < mg_graph_node_count(g); i++) {
        mg_tensor *n = mg_graph_node(g, i);
        if (!n->data) continue; /* not part of the step */
        char shape[64];
        const char *op = n->op ? n->op->name : n->kind == MG_TENSOR_PARAM ? "param" : "input";
        printf("  %4d  %-12s %-22.22s %-20s %10.2f %10.2f  ", i, op, n->name,
               mg_shape_str(n, shape, sizeof shape), mg_node_flops(n, false) * 1e-6,
               n->grad && n->op ? mg_node_flops(n, true) * 1e-6 : 0.0);
        for (int k = 0; k < n->n_in; k++) printf("%s%d", k ? "," : "", n->in[k]->id);
        printf("\n");
    }
    for (int k = 0; k < mg_pass_count(); k++)
        if (mg_graph_rewrite_count(g, k))
            printf("  rewrite %s: %d (%s)\n", mg_pass_at(k)->name, mg_graph_rewrite_count(g, k),
                   mg_pass_at(k)->summary);
    mg_trainer_free(t);
    return MG_EXIT_OK;
}

typedef struct {
    bool tty;
    double last_print;
} progress_state;

static void progress(const mg_progress *p, void *ctx) {
    progress_state *s = ctx;
    if (s->tty) {
        if (!p->evaluated && p->wall_s - s->last_print < 0.2) return;
        s->last_print = p->wall_s;
        double rate = p->wall_s > 0 ? (double)p->step / p->wall_s : 0;
        double eta = rate > 0 ? (double)(p->steps - p->step) / rate : 0;
        static mg_eval tr, te;
        if (p->evaluated) tr = p->train, te = p->test;
        fprintf(
            stderr,
            "\rstep %6lld/%lld  train %.3e %5.1f%%  test %.3e %5.1f%%  %6.1f steps/s  ETA %4.0fs ",
            (long long)p->step, (long long)p->steps, tr.loss, 100 * tr.acc, te.loss, 100 * te.acc,
            rate, eta);
        if (p->step == p->steps) fputc('\n', stderr);
    } else if (p->evaluated) {
        printf(
            "step %lld train_loss %.6g train_acc %.4f test_loss %.6g test_acc %.4f wall_s %.2f\n",
            (long long)p->step, p->train.loss, p->train.acc, p->test.loss, p->test.acc, p->wall_s);
        fflush(stdout);
    }
}

/* Appends "k=v" items to a per-layer list. */
static bool add_layers(char *list, size_t n, const char *flag, const char *v) {
    size_t used = strlen(list);
    if (used + strlen(v) + 2 > n) {
        cli_error("%s: per-layer list too long", flag);
        return false;
    }
    snprintf(list + used, n - used, "%s%s", used ? "," : "", v);
    return true;
}

int cmd_train(int argc, char **argv) {
    const char *model_name = NULL, *resume = NULL, *out = NULL, *opt_name = NULL;
    const char *model_file = NULL;
    bool verbose = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            help();
            return MG_EXIT_OK;
        }
        if (!strcmp(argv[i], "--verbose")) verbose = true;
        if (i + 1 < argc && !strcmp(argv[i], "--model")) model_name = argv[i + 1];
        if (i + 1 < argc && !strcmp(argv[i], "--model-file")) model_file = argv[i + 1];
        if (i + 1 < argc && !strcmp(argv[i], "--optimizer")) opt_name = argv[i + 1];
    }
    const mg_model_def *model = NULL;
    for (int i = 1; model_file && i < argc; i++)
        if (!strcmp(argv[i], "--resume")) {
            cli_error("--resume takes its model from the run's config.json; drop --model-file");
            return MG_EXIT_USAGE;
        }
    if (model_file) {
        int rc = cli_model_file(model_file, model_name, verbose, &model);
        if (rc) return rc;
    } else if (!(model = mg_model_find(model_name ? model_name : "mlp"))) {
        cli_error("%s", mg_errmsg());
        return MG_EXIT_USAGE;
    }
    mg_train_cfg cfg;
    mg_train_defaults(&cfg, model);
    if (opt_name) {
        mg_opt_kind kind;
        if (mg_opt_kind_parse(opt_name, &kind)) {
            cli_error("--optimizer: %s", mg_errmsg());
            return MG_EXIT_USAGE;
        }
        cfg.optim = mg_opt_defaults(kind);
    }
    mg_run_opts ro;
    mg_run_opts_defaults(&ro);
    int64_t steps = -1, x;
    bool steps_given = false, explain = false;
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i];
        if (!strcmp(f, "--force")) {
            ro.force = true;
            continue;
        }
        if (!strcmp(f, "--stop-at-grok")) {
            ro.stop_at_grok = true;
            continue;
        }
        if (!strcmp(f, "--verbose")) continue;
        if (!strcmp(f, "--explain")) {
            explain = true;
            continue;
        }
        if (!strcmp(f, "--no-rewrites")) {
            snprintf(cfg.no_rewrites, sizeof cfg.no_rewrites, "all");
            continue;
        }
        if (strncmp(f, "--", 2) != 0) {
            cli_error("train: unexpected argument '%s' (flags start with --; modgrad train --help)",
                      f);
            return MG_EXIT_USAGE;
        }
        if (i + 1 >= argc) {
            cli_error("%s needs a value (modgrad train --help)", f);
            return MG_EXIT_USAGE;
        }
        const char *v = argv[++i];
        double r;
        int k;
        bool ok = true;
        if (!strcmp(f, "--model") || !strcmp(f, "--model-file") || !strcmp(f, "--optimizer"))
            continue;
        else if (!strcmp(f, "--out")) out = v;
        else if (!strcmp(f, "--resume")) resume = v;
        else if (!strcmp(f, "--task")) {
            if (mg_task_choose(&cfg.task, v)) {
                cli_error("%s", mg_errmsg());
                ok = false;
            }
        } else if (!strcmp(f, "--p")) {
            ok = cli_int(f, v, 2, MG_TASK_P_MAX, &x);
            cfg.task.p = (int)x;
        } else if (!strcmp(f, "--frac")) ok = cli_real(f, v, &cfg.task.frac);
        else if (!strcmp(f, "--seed")) {
            ok = cli_int(f, v, 0, INT64_MAX, &x);
            cfg.task.seed = (uint64_t)x;
        } else if (!strcmp(f, "--steps")) {
            ok = cli_int(f, v, INT64_MIN / 2, 1000000000, &steps);
            if (ok && steps < 0) {
                cli_error("--steps must be >= 0, got %s", v);
                ok = false;
            }
            steps_given = true;
        } else if (!strcmp(f, "--batch")) {
            ok = cli_int(f, v, 0, INT32_MAX, &cfg.batch);
        } else if (!strcmp(f, "--threads")) {
            ok = cli_int(f, v, 0, 1024, &x);
            cfg.threads = (int)x;
        } else if (!strcmp(f, "--eval-every")) ok = cli_int(f, v, 1, INT32_MAX, &ro.eval_every);
        else if (!strcmp(f, "--checkpoint-every"))
            ok = cli_int(f, v, 1, INT32_MAX, &ro.checkpoint_every);
        else if (!strcmp(f, "--probe-every")) ok = cli_int(f, v, 1, INT32_MAX, &ro.probe_every);
        else if (!strcmp(f, "--geometry-every"))
            ok = cli_int(f, v, 1, INT32_MAX, &ro.geometry_every);
        else if (!strcmp(f, "--lr") || !strcmp(f, "--wd")) {
            bool lr = f[2] == 'l';
            if (strchr(v, '='))
                ok = add_layers(lr ? cfg.lr_layers : cfg.wd_layers, sizeof cfg.lr_layers, f, v);
            else if ((ok = cli_real(f, v, &r))) {
                if (lr) cfg.optim.lr = (float)r;
                else cfg.optim.weight_decay = (float)r;
            }
        } else if (!strcmp(f, "--no-rewrite"))
            ok = add_layers(cfg.no_rewrites, sizeof cfg.no_rewrites, f, v);
        else if (!strcmp(f, "--beta1")) {
            ok = cli_real(f, v, &r);
            cfg.optim.beta1 = (float)r;
        } else if (!strcmp(f, "--beta2")) {
            ok = cli_real(f, v, &r);
            cfg.optim.beta2 = (float)r;
        } else if (!strcmp(f, "--eps")) {
            ok = cli_real(f, v, &r);
            cfg.optim.eps = (float)r;
        } else if (!strcmp(f, "--momentum")) {
            ok = cli_real(f, v, &r);
            cfg.optim.momentum = (float)r;
        } else if ((k = mg_model_option_index(model, f + 2)) >= 0) {
            if (mg_model_option_parse(model, k, v, &cfg.opt[k])) {
                cli_error("%s", mg_errmsg());
                ok = false;
            }
        } else {
            cli_error("unknown flag %s for model %s (modgrad train --help, modgrad models)", f,
                      model->name);
            ok = false;
        }
        if (!ok) return MG_EXIT_USAGE;
    }
    if (steps_given) cfg.steps = steps;
    if (explain) {
        /* the graph as written, then as the enabled rewrites leave it */
        mg_train_cfg plain = cfg;
        snprintf(plain.no_rewrites, sizeof plain.no_rewrites, "all");
        int rc = list_graph(&plain, "training graph as written");
        if (rc == MG_EXIT_OK) rc = list_graph(&cfg, "\ntraining graph after rewrites");
        return rc;
    }
    progress_state ps = {.tty = isatty(STDERR_FILENO) != 0};
    ro.progress = progress;
    ro.ctx = &ps;
    mg_status st;
    const char *dir;
    if (resume) {
        if (!steps_given) {
            cli_error("--resume needs --steps M (the new total number of steps)");
            return MG_EXIT_USAGE;
        }
        dir = resume;
        st = mg_run_resume(resume, steps, &ro);
    } else {
        if (!out) {
            cli_error("--out DIR is required (modgrad train --help)");
            return MG_EXIT_USAGE;
        }
        dir = out;
        st = mg_run_train(&cfg, out, &ro);
    }
    if (st) {
        cli_error("%s", mg_errmsg());
        cli_print_diagnostics(); /* a run's model file that no longer compiles */
        return cli_exit_status(st);
    }
    printf("run written to %s (summary.json, metrics.csv, checkpoints/)\n", dir);
    return MG_EXIT_OK;
}
