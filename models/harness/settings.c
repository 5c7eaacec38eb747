/* settings.c — the table of `train`'s settings, and setting, checking and
 * printing a value by its row (settings.h). The command line's parser is in
 * settings_args.c, config.json's writer and reader in runcfg.c; --help is
 * drawn from this table by tools/cli/train_cmd.c. */
#include "models/harness/settings.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/text.h"
#include "models/harness/modelfile.h"
#include "models/harness/penalty.h"

/* ---- the choices ------------------------------------------------------------ */

static const char *model_choice(int i) {
    const mg_model_def *m = mg_model_at(i);
    return m ? m->name : NULL;
}
static const char *task_choice(int i) {
    const mg_task_def *d = mg_task_at(i);
    return d ? d->name : NULL;
}
static const char *optimizer_choice(int i) {
    return i >= 0 && i <= MG_OPT_ADAMW ? mg_opt_kind_name((mg_opt_kind)i) : NULL;
}
_Static_assert(sizeof(mg_opt_kind) == sizeof(int), "MG_SLOT_ENUM stores an enum as an int");

/* ---- the table ---------------------------------------------------------------- */

#define AT(field) offsetof(mg_settings, field), sizeof(((mg_settings *)0)->field)
#define LAYERS(field) offsetof(mg_settings, field)
#define BIG ((double)INT32_MAX)
#define SEED_MAX 9007199254740991.0 /* 2^53 - 1: every seed up to it is exact in JSON */
#define RESUMABLE MG_SETTING_RESUMABLE
#define COMMAND MG_SETTING_COMMAND
#define EARLY MG_SETTING_EARLY
#define OPTIONAL MG_SETTING_OPTIONAL
#define PER_MODEL MG_SETTING_PER_MODEL
#define PER_OPT MG_SETTING_PER_OPTIMIZER
#define LO_OPEN MG_SETTING_LO_OPEN
#define HI_OPEN MG_SETTING_HI_OPEN

/* One row per setting: flag name, config key (NULL: not recorded), --help's
 * group, type, storage, where, [range,] flags, [choices,] default, --help's
 * placeholder and text. */
// clang-format off
static const mg_setting table[] = {
    {.name = "model-file", .group = "task", .type = MG_SETTING_TEXT, .slot = MG_SLOT_STR,
     AT(model_file), .flags = EARLY | COMMAND, .def_text = "", .arg = "FILE",
     .help = "train a model defined in the C file FILE (anywhere): compiled with cc against "
             "modgrad's headers, cached in ~/.cache/modgrad; --model picks one if FILE registers "
             "several (config.json records its path and hash)"},
    {.name = "verbose", .group = "task", .type = MG_SETTING_FLAG, .slot = MG_SLOT_BOOL,
     AT(verbose), .flags = COMMAND,
     .help = "print the model file's compile command, its hash and timings"},
    {.name = "model", .key = "model", .group = "task", .type = MG_SETTING_CHOICE,
     .slot = MG_SLOT_MODEL, AT(train.model), .flags = EARLY, .choice = model_choice,
     .def_text = "mlp", .arg = "NAME", .help = "the model (modgrad models lists them)"},
    {.name = "task", .key = "task", .group = "task", .type = MG_SETTING_CHOICE,
     .slot = MG_SLOT_TASK, AT(train.task.def), .flags = EARLY, .choice = task_choice,
     .def_text = "add", .arg = "NAME",
     .help = "the task (add ... x3xy: label = a OP b mod p); it sets its options' defaults"},
    {.name = "p", .key = "p", .group = "task", .type = MG_SETTING_INT, .slot = MG_SLOT_I32,
     AT(train.task.p), .lo = 2, .hi = MG_TASK_P_MAX, .flags = PER_MODEL,
     .arg = "N", .help = "modulus (div: prime)"},
    {.name = "frac", .key = "frac", .group = "task", .type = MG_SETTING_REAL, .slot = MG_SLOT_F64,
     AT(train.task.frac), .lo = 0, .hi = 1, .flags = LO_OPEN | HI_OPEN | PER_MODEL,
     .arg = "X", .help = "training fraction of the p*p pairs"},
    {.name = "seed", .key = "seed", .group = "task", .type = MG_SETTING_INT, .slot = MG_SLOT_U64,
     AT(train.task.seed), .lo = 0, .hi = SEED_MAX, .def = 0,
     .arg = "N", .help = "seed of the split and the initialisation"},

    {.name = "steps", .key = "steps", .group = "training", .type = MG_SETTING_INT,
     .slot = MG_SLOT_I64, AT(train.steps), .lo = 0, .hi = 1e9, .flags = PER_MODEL | RESUMABLE,
     .arg = "N", .help = "optimizer updates (with --resume: the new total)"},
    {.name = "batch", .key = "batch", .group = "training", .type = MG_SETTING_INT,
     .slot = MG_SLOT_I64, AT(train.batch), .lo = 0, .hi = BIG, .def = 0,
     .arg = "N", .help = "rows per step; 0 = full batch (a generated task: its own batch)"},
    {.name = "optimizer", .key = "optimizer", .group = "training", .type = MG_SETTING_CHOICE,
     .slot = MG_SLOT_ENUM, AT(train.optim.kind), .flags = EARLY, .choice = optimizer_choice,
     .def_text = "adamw", .arg = "NAME",
     .help = "the optimizer (it sets the defaults of the six below)"},
    {.name = "lr", .key = "lr", .group = "training", .type = MG_SETTING_REAL, .slot = MG_SLOT_F32,
     AT(train.optim.lr), .layers_at = LAYERS(train.lr_layers), .lo = 0, .hi = INFINITY,
     .flags = LO_OPEN | PER_OPT,
     .arg = "X|LAYER=X,...", .help = "learning rate, or per-layer overrides (repeatable)"},
    {.name = "wd", .key = "wd", .group = "training", .type = MG_SETTING_REAL, .slot = MG_SLOT_F32,
     AT(train.optim.weight_decay), .layers_at = LAYERS(train.wd_layers), .lo = 0,
     .hi = INFINITY, .flags = PER_OPT, .arg = "X|LAYER=X,...",
     .help = "weight decay (AdamW: decoupled), or per-layer overrides (repeatable)"},
    {.name = "beta1", .key = "beta1", .group = "training", .type = MG_SETTING_REAL,
     .slot = MG_SLOT_F32, AT(train.optim.beta1), .lo = 0, .hi = 1, .flags = HI_OPEN | PER_OPT,
     .arg = "X", .help = "Adam's first-moment decay"},
    {.name = "beta2", .key = "beta2", .group = "training", .type = MG_SETTING_REAL,
     .slot = MG_SLOT_F32, AT(train.optim.beta2), .lo = 0, .hi = 1, .flags = HI_OPEN | PER_OPT,
     .arg = "X", .help = "Adam's second-moment decay"},
    {.name = "eps", .key = "eps", .group = "training", .type = MG_SETTING_REAL,
     .slot = MG_SLOT_F32, AT(train.optim.eps), .lo = 0, .hi = INFINITY, .flags = PER_OPT,
     .arg = "X", .help = "Adam's denominator term"},
    {.name = "momentum", .key = "momentum", .group = "training", .type = MG_SETTING_REAL,
     .slot = MG_SLOT_F32, AT(train.optim.momentum), .lo = 0, .hi = 1, .flags = PER_OPT,
     .arg = "X", .help = "SGD's momentum"},
    {.name = "threads", .key = "threads", .group = "training", .type = MG_SETTING_INT,
     .slot = MG_SLOT_I32, AT(train.threads), .lo = 0, .hi = 1024, .def = 0, .flags = RESUMABLE,
     .arg = "N", .help = "threads; 0 = all cores (config.json records the number used)"},
    {.name = "stop-at-grok", .key = "stop_at_grok", .group = "training", .type = MG_SETTING_FLAG,
     .slot = MG_SLOT_BOOL, AT(run.stop_at_grok), .flags = RESUMABLE,
     .help = "stop once test accuracy >= 99% held for 3 evaluations"},
    {.name = "no-rewrite", .key = "no_rewrites", .group = "training", .type = MG_SETTING_LIST,
     .slot = MG_SLOT_STR, AT(train.no_rewrites), .flags = OPTIONAL, .def_text = "",
     .arg = "NAME", .help = "leave out one graph rewrite (repeatable; --explain shows them)"},
    {.name = "no-rewrites", .group = "training", .type = MG_SETTING_FLAG, .slot = MG_SLOT_STR,
     AT(train.no_rewrites), .def_text = "all", .help = "run the graph as written"},
    {.name = "penalty", .key = "penalty", .group = "training", .type = MG_SETTING_TEXT,
     .slot = MG_SLOT_STR, AT(train.penalty), .flags = OPTIONAL, .def_text = MG_PENALTY_DEFAULT,
     .canon = mg_penalty_canon_form, .arg = "FORM",
     .help = "an explicit penalty added to the objective: none, l2 (lambda ||W||_F^2 in the "
             "loss: coupled, unlike AdamW's decoupled --wd) or schatten:q=Q (lambda sum_i "
             "sigma_i^q, Q > 0; q=1 the nuclear norm), on the 2-D parameters of "
             "--penalty-layers; train_loss and test_loss stay the cross-entropy"},
    {.name = "penalty-layers", .key = "penalty_layers", .group = "training",
     .type = MG_SETTING_TEXT, .slot = MG_SLOT_STR, AT(train.penalty_layers), .flags = OPTIONAL,
     .def_text = MG_PENALTY_LAYERS_DEFAULT, .canon = mg_penalty_canon_layers, .arg = "LIST",
     .help = "the layers --penalty applies to, comma-separated (classifier: the model's "
             "class vectors, the transformer's unembed)"},
    {.name = "penalty-lambda", .key = "penalty_lambda", .group = "training",
     .type = MG_SETTING_REAL, .slot = MG_SLOT_F32, AT(train.penalty_lambda), .lo = 0,
     .hi = INFINITY, .flags = OPTIONAL, .def = 0, .arg = "X",
     .help = "the penalty's weight lambda (0: no penalty; the graph is the one without)"},
    {.name = "explain", .group = "training", .type = MG_SETTING_FLAG, .slot = MG_SLOT_BOOL,
     AT(explain), .flags = COMMAND,
     .help = "print the training graph before and after the rewrites, with each node's shape "
             "and FLOPs, and exit (writes nothing)"},

    {.name = "out", .group = "output", .type = MG_SETTING_TEXT, .slot = MG_SLOT_STR, AT(out),
     .flags = COMMAND, .def_text = "",
     .arg = "DIR", .help = "the run directory (refused if it exists, unless --force)"},
    {.name = "force", .group = "output", .type = MG_SETTING_FLAG, .slot = MG_SLOT_BOOL,
     AT(run.force), .flags = COMMAND, .help = "replace an existing run directory"},
    {.name = "resume", .group = "output", .type = MG_SETTING_TEXT, .slot = MG_SLOT_STR,
     AT(resume), .flags = COMMAND, .def_text = "", .arg = "DIR",
     .help = "continue DIR from its last checkpoint up to --steps (only the settings marked "
             "[resume] may change)"},
    {.name = "eval-every", .key = "eval_every", .group = "output", .type = MG_SETTING_INT,
     .slot = MG_SLOT_I64, AT(run.eval_every), .lo = 1, .hi = BIG, .def = 100, .flags = RESUMABLE,
     .arg = "N", .help = "evaluate train and test every N steps"},
    {.name = "checkpoint-every", .key = "checkpoint_every", .group = "output",
     .type = MG_SETTING_INT, .slot = MG_SLOT_I64, AT(run.checkpoint_every), .lo = 1, .hi = BIG,
     .def = 1000, .flags = RESUMABLE,
     .arg = "N", .help = "checkpoint every N steps (also at 0 and the end)"},
    {.name = "probe-every", .key = "probe_every", .group = "output", .type = MG_SETTING_INT,
     .slot = MG_SLOT_I64, AT(run.probe_every), .lo = 1, .hi = BIG, .def = 10,
     .flags = RESUMABLE | OPTIONAL,
     .arg = "N", .help = "per-layer probes into probes.csv every N steps"},
    {.name = "geometry-every", .key = "geometry_every", .group = "output",
     .type = MG_SETTING_INT, .slot = MG_SLOT_I64, AT(run.geometry_every), .lo = 1, .hi = BIG,
     .def = 100, .flags = RESUMABLE | OPTIONAL,
     .arg = "N", .help = "Fourier, ranks, collapse into geometry.csv every N steps"},
    {.name = "snapshot-every", .key = "snapshot_every", .group = "output",
     .type = MG_SETTING_INT, .slot = MG_SLOT_I64, AT(run.snapshot_every), .lo = 0, .hi = BIG,
     .def = 0, .flags = RESUMABLE | OPTIONAL, .arg = "N",
     .help = "every N steps (0: never) write the parameters into trajectory/step_NNNNNN."
             "safetensors: the trajectory the execution-manifold analyses read (PCA per "
             "attention block and whole)"},
    {.name = "commutator-every", .key = "commutator_every", .group = "output",
     .type = MG_SETTING_INT, .slot = MG_SLOT_I64, AT(run.commutator_every), .lo = 0, .hi = BIG,
     .def = 0, .flags = RESUMABLE | OPTIONAL, .arg = "N",
     .help = "every N steps (0: never) measure the plain-SGD commutator (eta 1e-3, 9 pairs of "
             "batches, the median-D pair) and its share in the execution basis (the top-3 "
             "trajectory PCs of each attention block, rebuilt every --basis-every steps once 5 "
             "snapshots exist) into commutator.csv"},
    {.name = "basis-every", .key = "basis_every", .group = "output", .type = MG_SETTING_INT,
     .slot = MG_SLOT_I64, AT(run.basis_every), .lo = 1, .hi = BIG, .def = 2000,
     .flags = RESUMABLE | OPTIONAL, .arg = "N",
     .help = "rebuild the commutator's execution basis every N steps"},
    {.name = "save-grads", .key = "save_grads", .group = "output", .type = MG_SETTING_TEXT,
     .slot = MG_SLOT_STR, AT(run.save_grads), .flags = RESUMABLE | OPTIONAL, .def_text = "",
     .canon = mg_run_save_grads_canon, .arg = "STEPS",
     .help = "at these steps (a list 0,500,2500, or every:N) write the parameters, the full "
             "gradient of each and the update the optimizer took into "
             "grads/step_NNNNNN.safetensors (modgrad analyze recomputes the locking share "
             "from them into grads/locking.csv)"},
};
// clang-format on
#define N_SETTINGS ((int)(sizeof table / sizeof table[0]))
_Static_assert(sizeof table / sizeof table[0] <= MG_SETTINGS_MAX,
               "raise MG_SETTINGS_MAX: mg_settings.given has one mark per row");

int mg_setting_count(void) { return N_SETTINGS; }
const mg_setting *mg_setting_at(int i) { return i >= 0 && i < N_SETTINGS ? &table[i] : NULL; }
int mg_setting_index(const mg_setting *row) {
    return row >= table && row < table + N_SETTINGS ? (int)(row - table) : -1;
}

const mg_setting *mg_setting_find(const char *name) {
    for (int i = 0; name && i < N_SETTINGS; i++)
        if (!strcmp(table[i].name, name)) return &table[i];
    return NULL;
}

const mg_setting *mg_setting_find_key(const char *key) {
    for (int i = 0; key && i < N_SETTINGS; i++)
        if (table[i].key && !strcmp(table[i].key, key)) return &table[i];
    return NULL;
}

/* ---- values ------------------------------------------------------------------- */

static void *slot(mg_settings *s, const mg_setting *r) { return (char *)s + r->at; }
static const void *cslot(const mg_settings *s, const mg_setting *r) {
    return (const char *)s + r->at;
}

static int choice_find(const mg_setting *r, const char *name) {
    for (int i = 0; r->choice(i); i++)
        if (!strcmp(r->choice(i), name)) return i;
    return -1;
}

const char *mg_setting_allowed(const mg_setting *r, char *buf, size_t n) {
    char lo[32], hi[32];
    buf[0] = '\0';
    switch (r->type) {
    case MG_SETTING_INT: snprintf(buf, n, "a whole number from %.0f to %.0f", r->lo, r->hi); break;
    case MG_SETTING_REAL:
        mg_shortest_number(r->lo, false, lo, sizeof lo);
        mg_shortest_number(r->hi, false, hi, sizeof hi);
        if (isinf(r->hi) && r->lo == 0)
            snprintf(buf, n,
                     (r->flags & MG_SETTING_LO_OPEN) ? "a positive number" : "a number >= 0");
        else if (isinf(r->hi))
            snprintf(buf, n, "a number %s %s", (r->flags & MG_SETTING_LO_OPEN) ? ">" : ">=", lo);
        else
            snprintf(buf, n, "a number in %c%s, %s%c", (r->flags & MG_SETTING_LO_OPEN) ? '(' : '[',
                     lo, hi, (r->flags & MG_SETTING_HI_OPEN) ? ')' : ']');
        break;
    case MG_SETTING_CHOICE:
        for (int i = 0; r->choice(i); i++) mg_list_add(buf, n, r->choice(i));
        break;
    case MG_SETTING_FLAG:
        snprintf(buf, n, "no value (true or false where a value is given)");
        break;
    case MG_SETTING_TEXT: snprintf(buf, n, "text of at most %zu characters", r->size - 1); break;
    case MG_SETTING_LIST: snprintf(buf, n, "names, comma-separated or repeated"); break;
    }
    return buf;
}

mg_status mg_setting_check_number(const mg_setting *r, double v, const char *label) {
    char allowed[128], got[40];
    mg_setting_allowed(r, allowed, sizeof allowed);
    mg_shortest_number(v, false, got, sizeof got);
    if (r->type == MG_SETTING_INT) {
        if (!isfinite(v) || v != floor(v))
            return mg_fail(MG_ERR_ARG, "%s: expected %s, got %s", label, allowed, got);
        if (v < r->lo)
            return mg_fail(MG_ERR_ARG, "%s must be >= %.0f (%s), got %s", label, r->lo, allowed,
                           got);
        if (v > r->hi)
            return mg_fail(MG_ERR_ARG, "%s must be <= %.0f (%s), got %s", label, r->hi, allowed,
                           got);
        return MG_OK;
    }
    if (r->type != MG_SETTING_REAL)
        return mg_fail(MG_ERR_ARG, "%s: expected %s, got the number %s", label, allowed, got);
    if (r->slot == MG_SLOT_F32) {
        /* The range holds for the value stored, a float32: 1e110 would become
         * inf, and 0.99999998 rounds to 1, outside beta1's [0, 1). */
        if (isfinite(v) && fabs(v) > FLT_MAX)
            return mg_fail(MG_ERR_ARG, "%s must be at most %g in size (a float32), got %s", label,
                           (double)FLT_MAX, got);
        v = (double)(float)v;
    }
    bool lo_ok = (r->flags & MG_SETTING_LO_OPEN) ? v > r->lo : v >= r->lo;
    bool hi_ok = (r->flags & MG_SETTING_HI_OPEN) ? v < r->hi : v <= r->hi;
    if (!isfinite(v) || !lo_ok || !hi_ok)
        return mg_fail(MG_ERR_ARG, "%s must be %s, got %s", label, allowed, got);
    return MG_OK;
}

/* Appends value to the comma-separated list in a char[size]. */
static mg_status list_add(char *list, size_t size, const char *value, const char *label) {
    size_t used = strlen(list);
    if (!*value || strchr(value, ' '))
        return mg_fail(MG_ERR_ARG, "%s: '%s' is not a name (or LAYER=X)", label, value);
    if (used + strlen(value) + 2 > size)
        return mg_fail(MG_ERR_ARG, "%s: the list is longer than %zu characters", label, size - 1);
    snprintf(list + used, size - used, "%s%s", used ? "," : "", value);
    return MG_OK;
}

static void store_number(mg_settings *s, const mg_setting *r, double v) {
    void *p = slot(s, r);
    switch (r->slot) {
    case MG_SLOT_I32: *(int *)p = (int)v; break;
    case MG_SLOT_I64: *(int64_t *)p = (int64_t)v; break;
    case MG_SLOT_U64: *(uint64_t *)p = (uint64_t)v; break;
    case MG_SLOT_F32: *(float *)p = (float)v; break;
    case MG_SLOT_F64: *(double *)p = v; break;
    default: break;
    }
}

static double load_number(const mg_settings *s, const mg_setting *r) {
    const void *p = cslot(s, r);
    switch (r->slot) {
    case MG_SLOT_I32: return *(const int *)p;
    case MG_SLOT_I64: return (double)*(const int64_t *)p;
    case MG_SLOT_U64: return (double)*(const uint64_t *)p;
    case MG_SLOT_F32: return *(const float *)p;
    case MG_SLOT_F64: return *(const double *)p;
    default: return NAN;
    }
}

/* Resets what the model / the optimizer decides; keeps the rest. */
static mg_status set_model(mg_settings *s, const mg_model_def *m) {
    mg_settings keep = *s;
    mg_status st = mg_settings_defaults(s, m);
    if (st) return st;
    s->run = keep.run;
    memcpy(s->out, keep.out, sizeof s->out);
    memcpy(s->resume, keep.resume, sizeof s->resume);
    memcpy(s->model_file, keep.model_file, sizeof s->model_file);
    s->verbose = keep.verbose;
    memset(s->task_opt_given, 0, sizeof s->task_opt_given);
    s->explain = keep.explain;
    for (int i = 0; i < N_SETTINGS; i++)
        s->given[i] = table[i].at >= sizeof(mg_train_cfg) && keep.given[i];
    return MG_OK;
}

static void set_optimizer(mg_settings *s, mg_opt_kind kind) {
    s->train.optim = mg_opt_defaults(kind);
    for (int i = 0; i < N_SETTINGS; i++)
        if (table[i].flags & MG_SETTING_PER_OPTIMIZER) s->given[i] = false;
}

mg_status mg_setting_parse(mg_settings *s, const mg_setting *r, const char *value,
                           const char *label) {
    char allowed[256];
    mg_status st = MG_OK;
    if (r->type == MG_SETTING_FLAG) {
        bool on = !value || !strcmp(value, "true");
        if (value && !on && strcmp(value, "false"))
            return mg_fail(MG_ERR_ARG, "%s takes no value (or true, false), got '%s'", label,
                           value);
        if (r->slot == MG_SLOT_BOOL) *(bool *)slot(s, r) = on;
        else snprintf(slot(s, r), r->size, "%s", on ? r->def_text : "");
    } else if (!value) {
        return mg_fail(MG_ERR_ARG, "%s needs a value (modgrad train --help)", label);
    } else if (r->type == MG_SETTING_INT || r->type == MG_SETTING_REAL) {
        if (r->layers_at && strchr(value, '='))
            return list_add((char *)s + r->layers_at, sizeof s->train.lr_layers, value, label);
        char *end;
        errno = 0;
        double v = strtod(value, &end);
        if (end == value || *end || !*value) {
            mg_setting_allowed(r, allowed, sizeof allowed);
            return mg_fail(MG_ERR_ARG, "%s: expected %s, got '%s'", label, allowed, value);
        }
        if ((st = mg_setting_check_number(r, v, label))) return st;
        store_number(s, r, v);
    } else if (r->type == MG_SETTING_CHOICE) {
        int k = choice_find(r, value);
        if (k < 0)
            return mg_fail(MG_ERR_ARG, "%s: unknown %s '%s'; allowed: %s", label, r->name, value,
                           mg_setting_allowed(r, allowed, sizeof allowed));
        if (r->slot == MG_SLOT_MODEL) st = set_model(s, mg_model_at(k));
        else if (r->slot == MG_SLOT_TASK) {
            st = mg_task_choose(&s->train.task, value);
            memset(s->task_opt_given, 0, sizeof s->task_opt_given);
        } else if (r->at == offsetof(mg_settings, train.optim.kind))
            set_optimizer(s, (mg_opt_kind)k);
        else *(int *)slot(s, r) = k;
    } else if (r->type == MG_SETTING_TEXT) {
        if (strlen(value) >= r->size)
            return mg_fail(MG_ERR_ARG, "%s: longer than %zu characters", label, r->size - 1);
        char canon[MG_SETTING_TEXT_MAX];
        if (r->canon && !(st = r->canon(value, canon, sizeof canon, label)) &&
            strlen(canon) >= r->size)
            st = mg_fail(MG_ERR_ARG, "%s: longer than %zu characters", label, r->size - 1);
        if (st) return st;
        if (r->at == offsetof(mg_settings, model_file))
            st = mg_settings_set_model_file(s, value, NULL);
        else snprintf(slot(s, r), r->size, "%s", r->canon ? canon : value);
    } else {
        st = list_add(slot(s, r), r->size, value, label);
    }
    if (!st) s->given[mg_setting_index(r)] = true;
    return st;
}

mg_status mg_settings_set_model_file(mg_settings *s, const char *path, const char *name) {
    const mg_modelfile *f = NULL;
    const mg_model_def *m = NULL;
    mg_status st = mg_modelfile_load(path, NULL, &f);
    if (!st) st = mg_modelfile_pick(f, name, &m);
    if (!st) st = set_model(s, m);
    if (st) return st;
    snprintf(s->model_file, sizeof s->model_file, "%s", path);
    s->given[mg_setting_index(mg_setting_find("model-file"))] = true;
    if (name) s->given[mg_setting_index(mg_setting_find("model"))] = true;
    return MG_OK;
}

mg_status mg_settings_set(mg_settings *s, const char *name, const char *value) {
    char label[96];
    snprintf(label, sizeof label, "--%s", name ? name : "");
    const mg_setting *r = mg_setting_find(name);
    if (r) {
        mg_settings before = *s;
        mg_status st = mg_setting_parse(s, r, value, label);
        if (st) *s = before;
        return st;
    }
    const mg_model_def *m = s->train.model;
    const mg_task_def *d = s->train.task.def;
    int k = m && name ? mg_model_option_index(m, name) : -1;
    int kt = d && name ? mg_task_option_index(d, name) : -1;
    if (k < 0 && kt < 0)
        return mg_fail(MG_ERR_ARG,
                       "unknown flag --%s for model %s (modgrad train --help, modgrad models)",
                       name ? name : "", m ? m->name : "?");
    if (!value) return mg_fail(MG_ERR_ARG, "%s needs a value (modgrad train --help)", label);
    double v;
    mg_status st =
        k >= 0 ? mg_model_option_parse(m, k, value, &v) : mg_task_option_parse(d, kt, value, &v);
    if (st) return st;
    if (k >= 0) {
        s->train.opt[k] = v;
        s->opt_given[k] = true;
    } else {
        s->train.task.opt[kt] = v;
        s->task_opt_given[kt] = true;
    }
    return MG_OK;
}

const char *mg_settings_option_str(const mg_model_option *o, double v, char *buf, size_t n) {
    if (o->type == MG_OPTION_CHOICE && v == floor(v) && v >= 0) {
        /* walk to choice number v; a value outside the list prints as a number */
        const char *c = o->choices;
        for (int k = 0; c && k < (int)v; k++)
            if ((c = strchr(c, '|'))) c++;
        if (c) {
            snprintf(buf, n, "%.*s", (int)strcspn(c, "|"), c);
            return buf;
        }
    }
    snprintf(buf, n, "%.10g", v);
    return buf;
}

mg_status mg_settings_defaults(mg_settings *s, const mg_model_def *model) {
    memset(s, 0, sizeof *s);
    const mg_setting *mrow = mg_setting_find("model"), *orow = mg_setting_find("optimizer");
    if (!model) model = mg_model_find(mrow->def_text);
    if (!model)
        return mg_fail(MG_ERR_STATE, "the default model '%s' is not registered", mrow->def_text);
    mg_train_defaults(&s->train, model);
    for (int i = 0; i < N_SETTINGS; i++) {
        const mg_setting *r = &table[i];
        if (r->flags & (MG_SETTING_PER_MODEL | MG_SETTING_PER_OPTIMIZER)) continue;
        if (r->type == MG_SETTING_INT || r->type == MG_SETTING_REAL) store_number(s, r, r->def);
        else if (r->type == MG_SETTING_FLAG && r->slot == MG_SLOT_BOOL)
            *(bool *)slot(s, r) = r->def != 0;
        else if ((r->type == MG_SETTING_TEXT || r->type == MG_SETTING_LIST) && r->def_text)
            snprintf(slot(s, r), r->size, "%s", r->def_text);
        else if (r->type == MG_SETTING_CHOICE && r->slot == MG_SLOT_ENUM)
            *(int *)slot(s, r) = choice_find(r, r->def_text);
        else if (r->slot == MG_SLOT_TASK && mg_task_choose(&s->train.task, r->def_text))
            return mg_fail(MG_ERR_STATE, "the default task '%s' is not registered", r->def_text);
    }
    /* the optimizer's own defaults for lr, wd, betas, eps, momentum */
    s->train.optim = mg_opt_defaults((mg_opt_kind)choice_find(orow, orow->def_text));
    return MG_OK;
}

mg_status mg_settings_check(const mg_settings *s) {
    for (int i = 0; i < N_SETTINGS; i++) {
        const mg_setting *r = &table[i];
        if (r->type != MG_SETTING_INT && r->type != MG_SETTING_REAL) continue;
        char label[64];
        snprintf(label, sizeof label, "--%s", r->name);
        mg_status st = mg_setting_check_number(r, load_number(s, r), label);
        if (st) return st;
    }
    return MG_OK;
}

const char *mg_setting_str(const mg_settings *s, const mg_setting *r, char *buf, size_t n) {
    const void *p = cslot(s, r);
    const char *name = NULL;
    switch (r->slot) {
    case MG_SLOT_I32:
    case MG_SLOT_I64: snprintf(buf, n, "%.0f", load_number(s, r)); break;
    case MG_SLOT_U64: snprintf(buf, n, "%llu", (unsigned long long)*(const uint64_t *)p); break;
    case MG_SLOT_F32: mg_shortest_number(*(const float *)p, true, buf, n); break;
    case MG_SLOT_F64: mg_shortest_number(*(const double *)p, false, buf, n); break;
    case MG_SLOT_BOOL: snprintf(buf, n, "%s", *(const bool *)p ? "true" : "false"); break;
    case MG_SLOT_ENUM:
        name = r->choice(*(const int *)p);
        snprintf(buf, n, "%s", name ? name : "?");
        break;
    case MG_SLOT_MODEL:
        snprintf(buf, n, "%s",
                 *(const mg_model_def *const *)p ? (*(const mg_model_def *const *)p)->name : "?");
        break;
    case MG_SLOT_TASK:
        snprintf(buf, n, "%s",
                 *(const mg_task_def *const *)p ? (*(const mg_task_def *const *)p)->name : "?");
        break;
    case MG_SLOT_STR:
        if (r->type == MG_SETTING_FLAG)
            snprintf(buf, n, "%s", strcmp(p, r->def_text) ? "false" : "true");
        else snprintf(buf, n, "%s", (const char *)p);
        break;
    }
    return buf;
}

/* The recorded settings s, with what over may change applied; the rest of
 * what over gives must equal the record. */
mg_status mg_settings_apply_resume(mg_settings *s, const mg_settings *over) {
    char given[MG_SETTING_TEXT_MAX], rec[MG_SETTING_TEXT_MAX], may[256] = "";
    for (int i = 0; i < mg_setting_count(); i++) {
        const mg_setting *r = mg_setting_at(i);
        if (r->flags & MG_SETTING_RESUMABLE) mg_list_add(may, sizeof may, r->name);
    }
    for (int i = 0; i < mg_setting_count(); i++) {
        const mg_setting *r = mg_setting_at(i);
        if (!over->given[i] || (r->flags & MG_SETTING_COMMAND)) continue;
        char label[96];
        snprintf(label, sizeof label, "--%s", r->name);
        mg_setting_str(over, r, given, sizeof given);
        mg_setting_str(s, r, rec, sizeof rec);
        if (r->flags & MG_SETTING_RESUMABLE) {
            mg_status st = mg_setting_parse(s, r, given, label);
            if (st) return st;
            continue;
        }
        bool same = !strcmp(given, rec);
        if (r->layers_at)
            same =
                same && !strcmp((const char *)over + r->layers_at, (const char *)s + r->layers_at);
        if (!same)
            return mg_fail(MG_ERR_ARG,
                           "%s cannot change on --resume: the run recorded %s%s%s (what may "
                           "change: %s)",
                           label, rec, r->layers_at ? " " : "",
                           r->layers_at ? (const char *)s + r->layers_at : "", may);
    }
    const mg_model_def *m = s->train.model;
    for (int k = 0; k < MG_MODEL_MAX_OPTIONS; k++) {
        if (!over->opt_given[k]) continue;
        if (over->train.model != m || over->train.opt[k] != s->train.opt[k]) {
            char buf[64];
            return mg_fail(MG_ERR_ARG,
                           "--%s cannot change on --resume: the run recorded %s (what may "
                           "change: %s)",
                           over->train.model->options[k].name,
                           k < m->n_options
                               ? mg_model_option_str(m, k, s->train.opt[k], buf, sizeof buf)
                               : "no such option",
                           may);
        }
    }
    const mg_task_def *d = s->train.task.def;
    for (int k = 0; k < MG_TASK_MAX_OPTIONS; k++) {
        if (!over->task_opt_given[k]) continue;
        if (over->train.task.def != d || over->train.task.opt[k] != s->train.task.opt[k]) {
            char buf[64];
            return mg_fail(
                MG_ERR_ARG,
                "--%s cannot change on --resume: the run recorded %s (what may "
                "change: %s)",
                over->train.task.def->options[k].name,
                k < d->n_options
                    ? mg_settings_option_str(&d->options[k], s->train.task.opt[k], buf, sizeof buf)
                    : "no such option",
                may);
        }
    }
    s->run.progress = over->run.progress;
    s->run.ctx = over->run.ctx;
    return MG_OK;
}
