/* train_cmd.c — `modgrad train`: flags -> settings (the table of
 * models/harness/settings.h, which also draws --help) -> a run directory,
 * with a progress line on a terminal and log lines otherwise. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/gemm.h"
#include "core/rewrite.h"
#include "models/harness/modelfile.h"
#include "models/harness/run.h"
#include "models/harness/settings.h"
#include "tools/cli/cli.h"

/* Prints text from column 25 (the cursor is there), wrapped at 100 columns. */
static void wrapped(const char *text) {
    int col = 24;
    for (const char *w = text; *w;) {
        size_t len = strcspn(w, " ");
        if (col > 24 && col + 1 + (int)len > 100) {
            printf("\n%24s", "");
            col = 24;
        } else if (col > 24) {
            putchar(' ');
            col++;
        }
        printf("%.*s", (int)len, w);
        col += (int)len;
        w += len;
        w += strspn(w, " ");
    }
    putchar('\n');
}

/* A model's or a task's own options, for --help. */
static void options(const mg_model_option *opts, int n, const char *what, const char *name) {
    char left[64], def[64];
    printf("options of %s %s (--%s NAME --help for another%s)\n", what, name, what,
           strcmp(what, "model") ? "" : "; modgrad models lists all");
    for (int k = 0; k < n; k++) {
        const mg_model_option *o = &opts[k];
        snprintf(left, sizeof left, "--%s %s", o->name,
                 o->type == MG_OPTION_CHOICE ? o->choices
                 : o->type == MG_OPTION_INT  ? "N"
                                             : "X");
        printf("  %-22s%s%s (default %s)\n", left,
               strlen(left) > 21 ? "\n                        " : "", o->help,
               mg_settings_option_str(o, o->def, def, sizeof def));
    }
}

/* --help, from the settings table: every row by group, with its default for
 * the model in force, then that model's own options. */
static void help(const mg_settings *s) {
    const mg_model_def *m = s->train.model;
    printf("usage: modgrad train [--model NAME] [options] --out DIR\n"
           "       modgrad train --resume DIR --steps M [--threads N ...]\n\n"
           "Trains a model on a modular task; writes config.json, metrics.csv, probes.csv,\n"
           "geometry.csv, spectrum.csv, circle.csv, checkpoints/ and summary.json into DIR.\n"
           "Flags take their value as --flag VALUE or --flag=VALUE. Defaults are the\n"
           "canonical settings of each model (modgrad models); [resume] marks what may\n"
           "change on --resume.\n");
    const char *group = "";
    char left[64], def[256], allowed[256];
    for (int i = 0; i < mg_setting_count(); i++) {
        const mg_setting *r = mg_setting_at(i);
        if (strcmp(group, r->group)) printf("%s\n", group = r->group);
        snprintf(left, sizeof left, "--%s%s%s", r->name, r->arg ? " " : "", r->arg ? r->arg : "");
        mg_setting_str(s, r, def, sizeof def);
        char text[512];
        snprintf(text, sizeof text, "%s%s", r->help,
                 (r->flags & MG_SETTING_RESUMABLE) ? " [resume]" : "");
        printf("  %-22s%s", left, strlen(left) > 21 ? "\n                        " : "");
        wrapped(text);
        char more[512] = "";
        if (r->type == MG_SETTING_CHOICE || r->type == MG_SETTING_INT || r->type == MG_SETTING_REAL)
            snprintf(more, sizeof more, "%s; ", mg_setting_allowed(r, allowed, sizeof allowed));
        size_t k = strlen(more);
        if (r->flags & MG_SETTING_PER_MODEL)
            snprintf(more + k, sizeof more - k, "default %s (%s)", def, m->name);
        else if (r->flags & MG_SETTING_PER_OPTIMIZER)
            snprintf(more + k, sizeof more - k, "default %s (%s)", def,
                     mg_opt_kind_name(s->train.optim.kind));
        else if (r->type != MG_SETTING_FLAG && !(r->flags & MG_SETTING_COMMAND) && def[0])
            snprintf(more + k, sizeof more - k, "default %s", def);
        else if (k) more[k - 2] = '\0';
        if (more[0]) printf("                        %s\n", more);
    }
    options(m->options, m->n_options, "model", m->name);
    const mg_task_def *d = s->train.task.def;
    if (d && d->n_options) options(d->options, d->n_options, "task", d->name);
    printf("\nExit status: 0 done, 1 failed (diverged, bad checkpoint), 2 bad flags or values.\n");
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
    bool told; /* the trajectory's size was printed */
} progress_state;

static void progress(const mg_progress *p, void *ctx) {
    progress_state *s = ctx;
    if (!s->told && p->trajectory_bytes > 0)
        fprintf(stderr, "trajectory: %.1f MB of snapshots by step %lld (trajectory/)\n",
                (double)p->trajectory_bytes / 1e6, (long long)p->steps);
    s->told = true;
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

int cmd_train(int argc, char **argv) {
    mg_settings s;
    bool want_help = false;
    mg_status pst = mg_settings_defaults(&s, NULL);
    if (!pst) pst = mg_settings_parse_args(&s, argc, argv, &want_help);
    if (pst) {
        cli_error("%s", mg_errmsg());
        cli_print_diagnostics(); /* a --model-file that does not compile */
        return cli_exit_status(pst);
    }
    if (s.model_file[0]) cli_model_file_report(mg_modelfile_of(s.train.model), s.verbose);
    if (want_help) {
        help(&s);
        return MG_EXIT_OK;
    }
    if (s.explain) {
        /* the graph as written, then as the enabled rewrites leave it */
        mg_train_cfg plain = s.train;
        snprintf(plain.no_rewrites, sizeof plain.no_rewrites, "all");
        int rc = list_graph(&plain, "training graph as written");
        if (rc == MG_EXIT_OK) rc = list_graph(&s.train, "\ntraining graph after rewrites");
        return rc;
    }
    progress_state ps = {.tty = isatty(STDERR_FILENO) != 0};
    s.run.progress = progress;
    s.run.ctx = &ps;
    mg_status st;
    const char *dir;
    if (s.resume[0]) {
        dir = s.resume;
        st = mg_run_resume_settings(s.resume, &s);
    } else {
        if (!s.out[0]) {
            cli_error("--out DIR is required (modgrad train --help)");
            return MG_EXIT_USAGE;
        }
        dir = s.out;
        st = mg_run_train(&s.train, s.out, &s.run);
    }
    if (st) {
        cli_error("%s", mg_errmsg());
        cli_print_diagnostics(); /* a run's model file that no longer compiles */
        return cli_exit_status(st);
    }
    printf("run written to %s (summary.json, metrics.csv, checkpoints/)\n", dir);
    return MG_EXIT_OK;
}
