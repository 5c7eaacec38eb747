/* settings_args.c — a `train` command line into mg_settings, with libc's
 * getopt_long over the settings table and the model's options (settings.h).
 * Uses getopt's global state (optind): one parse at a time. */
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "models/harness/settings.h"

/* The value of the last "--NAME VALUE" or "--NAME=VALUE" before "--", or NULL. */
static const char *find_value(int argc, char **argv, const char *name) {
    const char *v = NULL;
    size_t len = strlen(name);
    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) || strncmp(a + 2, name, len)) continue;
        if (a[2 + len] == '=') v = a + 3 + len;
        else if (!a[2 + len] && i + 1 < argc) v = argv[++i];
    }
    return v;
}

/* "--NAME" of an argument "--NAME=VALUE" (or "-x"). */
static const char *flag_of(const char *arg, char *buf, size_t n) {
    snprintf(buf, n, "%.*s", (int)strcspn(arg, "="), arg);
    return buf;
}

enum { FIRST_ROW = 1000, FIRST_OPTION = 2000 };

/* A flag the chosen optimizer does not read is refused rather than recorded
 * unused: --momentum is SGD's, --beta1, --beta2 and --eps are Adam's and
 * AdamW's (issue 12, row 17). */
static mg_status check_optimizer_flags(const mg_settings *s) {
    static const struct {
        const char *name;
        bool sgd; /* read by SGD (else by Adam and AdamW) */
    } own[] = {{"momentum", true}, {"beta1", false}, {"beta2", false}, {"eps", false}};
    bool sgd = s->train.optim.kind == MG_OPT_SGD;
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++) {
        const mg_setting *r = mg_setting_find(own[i].name);
        if (r && s->given[mg_setting_index(r)] && own[i].sgd != sgd)
            return mg_fail(MG_ERR_ARG, "--%s is not used by --optimizer %s (it is %s)", own[i].name,
                           mg_opt_kind_name(s->train.optim.kind),
                           own[i].sgd ? "sgd's" : "adam's and adamw's");
    }
    return MG_OK;
}

mg_status mg_settings_parse_args(mg_settings *s, int argc, char **argv, bool *help) {
    *help = false;
    for (int i = 1; i < argc; i++) *help |= !strcmp(argv[i], "--help") || !strcmp(argv[i], "-h");
    /* --model (and the other rows that reset defaults) first, wherever they
     * are; with --help, so that it shows the defaults of the model asked for */
    mg_status st = MG_OK;
    for (int i = 0; !st && i < mg_setting_count(); i++) {
        const mg_setting *r = mg_setting_at(i);
        const char *v = (r->flags & MG_SETTING_EARLY) ? find_value(argc, argv, r->name) : NULL;
        char label[96];
        snprintf(label, sizeof label, "--%s", r->name);
        if (!v) continue;
        if (r->at == offsetof(mg_settings, model_file)) {
            /* the file's model, named by --model when it has several */
            st = mg_settings_set_model_file(s, v, find_value(argc, argv, "model"));
        } else if (r->slot == MG_SLOT_MODEL && s->model_file[0]) {
            continue; /* chosen among the file's models just above */
        } else {
            st = mg_setting_parse(s, r, v, label);
        }
    }
    if (*help) {
        mg_clear_error();
        return MG_OK;
    }
    if (st) return st;

    const mg_model_def *m = s->train.model;
    const mg_task_def *d = s->train.task.def;
    struct option opts[MG_SETTINGS_MAX + MG_MODEL_MAX_OPTIONS + MG_TASK_MAX_OPTIONS + 2];
    int n = 0;
    for (int i = 0; i < mg_setting_count(); i++) {
        const mg_setting *r = mg_setting_at(i);
        opts[n++] =
            (struct option){r->name, r->type == MG_SETTING_FLAG ? no_argument : required_argument,
                            NULL, FIRST_ROW + i};
    }
    /* the model's options, then the task's: each name must be free */
    int n_opts[2] = {m->n_options, d ? d->n_options : 0};
    const mg_model_option *tables[2] = {m->options, d ? d->options : NULL};
    for (int t = 0; t < 2; t++)
        for (int k = 0; k < n_opts[t]; k++) {
            const char *name = tables[t][k].name;
            bool taken = mg_setting_find(name) || (t == 1 && mg_model_option_index(m, name) >= 0);
            if (taken)
                return mg_fail(MG_ERR_ARG, "%s %s: option --%s has the name of %s",
                               t ? "task" : "model", t ? d->name : m->name, name,
                               mg_setting_find(name) ? "a train setting" : "a model option");
            opts[n++] = (struct option){name, required_argument, NULL, FIRST_OPTION + k};
        }
    opts[n++] = (struct option){"help", no_argument, NULL, 'h'};
    opts[n] = (struct option){0, 0, 0, 0};

    /* "-": arguments that are not flags come back in place (code 1), so
     * argv is never permuted and argv[at] is always the flag just read;
     * ":": a missing value is reported as ':'. */
    opterr = 0;
    optind = 0;
    st = MG_OK;
    char flag[128];
    for (;;) {
        int at = optind ? optind : 1, idx = -1;
        int c = getopt_long(argc, argv, "-:h", opts, &idx);
        if (c == -1) break;
        const char *arg = argv[at];
        if (c == 1) {
            st = mg_fail(MG_ERR_ARG,
                         "train: unexpected argument '%s' (flags start with --; modgrad train "
                         "--help)",
                         optarg);
        } else if (c == 'h') {
            *help = true;
        } else if (c == ':') {
            st = mg_fail(MG_ERR_ARG, "%s needs a value (modgrad train --help)",
                         flag_of(arg, flag, sizeof flag));
        } else if (c == '?') {
            flag_of(arg, flag, sizeof flag);
            const mg_setting *r = strncmp(flag, "--", 2) ? NULL : mg_setting_find(flag + 2);
            if (r && r->type == MG_SETTING_FLAG)
                st = mg_fail(MG_ERR_ARG, "%s takes no value, got '%s'", flag, arg);
            else
                st = mg_fail(MG_ERR_ARG,
                             "unknown flag %s for model %s (modgrad train --help, modgrad models)",
                             flag, m->name);
        } else {
            /* getopt_long takes an unambiguous prefix ("--ste"): ask for the
             * whole name, so a flag means the same when more are added */
            flag_of(arg, flag, sizeof flag);
            if (strncmp(flag, "--", 2) || strcmp(flag + 2, opts[idx].name))
                st = mg_fail(MG_ERR_ARG, "%s: give the whole flag name (--%s)", flag,
                             opts[idx].name);
            else if (c >= FIRST_OPTION) st = mg_settings_set(s, opts[idx].name, optarg);
            else if (!(mg_setting_at(c - FIRST_ROW)->flags & MG_SETTING_EARLY))
                st = mg_setting_parse(s, mg_setting_at(c - FIRST_ROW), optarg, flag);
        }
        if (st || *help) break;
    }
    if (!st && !*help && optind < argc)
        st = mg_fail(MG_ERR_ARG,
                     "train: unexpected argument '%s' (flags start with --; modgrad train --help)",
                     argv[optind]);
    optind = 0;
    if (!st && !*help) st = check_optimizer_flags(s);
    return st;
}
