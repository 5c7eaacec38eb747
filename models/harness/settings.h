/* settings.h — every setting of `modgrad train`, declared once.
 *
 * One table (settings.c) holds each setting's flag name, config.json key,
 * type, allowed values, default, help text and whether it may change on
 * --resume. Everything else is derived from it: the command line (getopt_long,
 * so `--steps 10` and `--steps=10` both work), `modgrad train --help`,
 * config.json's writer and its reader (which validates every field it reads
 * back), and the sweep axes of the issue after this one, which set a setting
 * by name from a string (mg_settings_set).
 *
 * Adding a train setting is one row in settings.c's table (plus the field it
 * fills in mg_train_cfg or mg_run_opts, if it is a new one).
 *
 * Model options (--d, --width, ...) stay declared in each model's own file
 * (models/model.h), task options in each task's (models/task.h);
 * mg_settings_set and mg_settings_parse_args accept them by name for the
 * model and the task in force, and config.json records them under
 * "model_options" and "task_options".
 *
 * Defaults: a row with MG_SETTING_PER_MODEL takes its default from the model
 * (p, frac, steps: mg_train_defaults), one with MG_SETTING_PER_OPTIMIZER
 * from the optimizer (lr, wd, betas, eps, momentum: mg_opt_defaults); every
 * other row's default is the table's. */
#ifndef MG_SETTINGS_H
#define MG_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>

#include "models/harness/run.h"

typedef enum {
    MG_SETTING_INT,    /* a whole number in [lo, hi] */
    MG_SETTING_REAL,   /* a finite number in the range lo..hi (open or closed ends) */
    MG_SETTING_CHOICE, /* one of the names choice(0), choice(1), ... */
    MG_SETTING_FLAG,   /* takes no value: giving it sets it */
    MG_SETTING_TEXT,   /* a string (a path) */
    MG_SETTING_LIST,   /* repeatable: each value is appended to a comma-separated list */
} mg_setting_type;

/* How a value is stored in mg_settings (at the row's offset). */
typedef enum {
    MG_SLOT_I32,
    MG_SLOT_I64,
    MG_SLOT_U64,
    MG_SLOT_F32,
    MG_SLOT_F64,
    MG_SLOT_BOOL,
    MG_SLOT_ENUM,  /* an enum (int-sized): the index of the choice */
    MG_SLOT_MODEL, /* const mg_model_def * */
    MG_SLOT_TASK,  /* const mg_task_def * (set with mg_task_choose) */
    MG_SLOT_STR,   /* char[MG_SETTING_TEXT_MAX] or char[256] (the row's size) */
} mg_setting_slot;

/* Row flags. */
enum {
    MG_SETTING_LO_OPEN = 1 << 0,       /* REAL: lo itself is not allowed */
    MG_SETTING_HI_OPEN = 1 << 1,       /* REAL: hi itself is not allowed */
    MG_SETTING_RESUMABLE = 1 << 2,     /* may change on --resume */
    MG_SETTING_COMMAND = 1 << 3,       /* says what to do, not how to train: never recorded */
    MG_SETTING_EARLY = 1 << 4,         /* applied before the others (it resets their defaults) */
    MG_SETTING_OPTIONAL = 1 << 5,      /* config.json of older runs may lack it: default then */
    MG_SETTING_PER_MODEL = 1 << 6,     /* default from the model */
    MG_SETTING_PER_OPTIMIZER = 1 << 7, /* default from the optimizer */
};

#define MG_SETTING_TEXT_MAX 4096 /* TEXT values: paths */
#define MG_SETTINGS_MAX 48       /* rows the table may hold (checked at compile time) */

typedef struct {
    const char *name;  /* the flag without its dashes: "eval-every" */
    const char *key;   /* config.json's key: "eval_every"; NULL: not recorded */
    const char *group; /* --help's section: "task", "training", "output" */
    mg_setting_type type;
    mg_setting_slot slot;
    size_t at;        /* offset of the value in mg_settings */
    size_t size;      /* MG_SLOT_STR: the buffer's size */
    size_t layers_at; /* REAL: offset of its per-layer list "LAYER=X,..." (0: none);
                         recorded as KEY_layers */
    double lo, hi;    /* INT, REAL: the allowed range */
    unsigned flags;
    const char *(*choice)(int i); /* CHOICE: the i-th name, NULL past the last */
    double def;                   /* INT, REAL, FLAG (0/1), CHOICE (index): the default */
    const char *def_text; /* TEXT, LIST: the default; FLAG on a STR slot: the value it sets */
    const char *arg;      /* --help's placeholder for the value: "N", "X", "DIR" */
    const char *help;
    /* TEXT (NULL: any text): checks a value (MG_ERR_ARG, the message starting
     * with label) and writes its canonical text into out, which is stored:
     * --penalty's forms (models/harness/penalty.h) */
    mg_status (*canon)(const char *value, char *out, size_t n, const char *label);
} mg_setting;

/* Everything `train` resolves: the training settings, the run's rates, and
 * what the command was asked to do. */
typedef struct mg_settings {
    mg_train_cfg train;
    mg_run_opts run;
    char out[MG_SETTING_TEXT_MAX];            /* --out */
    char resume[MG_SETTING_TEXT_MAX];         /* --resume */
    bool explain;                             /* --explain */
    char model_file[MG_SETTING_TEXT_MAX];     /* --model-file (recorded by path and hash) */
    bool verbose;                             /* --verbose */
    bool given[MG_SETTINGS_MAX];              /* rows set by mg_settings_set (not defaults) */
    bool opt_given[MG_MODEL_MAX_OPTIONS];     /* the model's options set */
    bool task_opt_given[MG_TASK_MAX_OPTIONS]; /* the task's options set */
} mg_settings;

/* The table. */
int mg_setting_count(void);
const mg_setting *mg_setting_at(int i);
/* By flag name ("eval-every"); NULL (no message) if none. */
const mg_setting *mg_setting_find(const char *name);
/* By config.json key ("eval_every"); NULL if none. */
const mg_setting *mg_setting_find_key(const char *key);
int mg_setting_index(const mg_setting *row);

/* The defaults of model (NULL: the default model, mlp). */
mg_status mg_settings_defaults(mg_settings *s, const mg_model_def *model);

/* Sets one setting from text, as the command line gives it: `name` is a row's
 * flag name or an option of the model in force; value is NULL for a FLAG.
 * Setting "model" resets every training setting to the new model's defaults;
 * setting "task" resets the task's options to its own; setting "optimizer"
 * resets lr, wd, betas, eps and momentum to its own.
 * On a bad value returns MG_ERR_ARG with a message naming --NAME and the
 * allowed values, and leaves s as it was. */
mg_status mg_settings_set(mg_settings *s, const char *name, const char *value);

/* An option's value as text ("concat" for a choice; a number otherwise). */
const char *mg_settings_option_str(const mg_model_option *o, double v, char *buf, size_t n);

/* --model-file path [--model name]: loads the C file (compiling it, or
 * reusing its cached object; models/harness/modelfile.h) and sets the model
 * to its model called name (NULL: its only one), like setting "model".
 * mg_settings_set("model-file", path) is this with name NULL. */
mg_status mg_settings_set_model_file(mg_settings *s, const char *path, const char *name);

/* The same for a row (with label in the messages, e.g. "--p" or
 * "R/config.json: \"p\""). */
mg_status mg_setting_parse(mg_settings *s, const mg_setting *row, const char *value,
                           const char *label);

/* Checks a number against a row's type and range (the config reader's check,
 * before any conversion): label names the field in the message. */
mg_status mg_setting_check_number(const mg_setting *row, double v, const char *label);

/* Checks the values of every INT and REAL row in s against the table. */
mg_status mg_settings_check(const mg_settings *s);

/* A row's value as text that mg_setting_parse reads back ("0.001", "adamw",
 * "true"); for a REAL with a per-layer list, only the number. */
const char *mg_setting_str(const mg_settings *s, const mg_setting *row, char *buf, size_t n);

/* "a whole number from 2 to 4096", "a number in (0, 1)", "one of add, sub,
 * ...": what a row allows, for messages and --help. */
const char *mg_setting_allowed(const mg_setting *row, char *buf, size_t n);

/* Parses a `train` command line (argv[0] is the command's name) with
 * getopt_long: `--NAME VALUE` and `--NAME=VALUE` for every row and every
 * option of the model in force (--model and the other EARLY rows are applied
 * first, wherever they stand). Names must be given whole (no abbreviations).
 * *help is set when -h or --help is given (parsing stops there). */
mg_status mg_settings_parse_args(mg_settings *s, int argc, char **argv, bool *help);

/* For --resume: s holds the recorded settings; each setting over gives
 * (over->given, opt_given, task_opt_given) replaces the record where the
 * table marks it MG_SETTING_RESUMABLE, must equal the record otherwise
 * (MG_ERR_ARG naming the flag, the recorded value and what may change), and
 * is ignored for MG_SETTING_COMMAND rows. over's progress hooks are kept. */
mg_status mg_settings_apply_resume(mg_settings *s, const mg_settings *over);

/* config.json's settings (runcfg.c): every recorded row and the model
 * options, added to root (a cJSON object) / read back from it. The reader
 * validates each field before it converts it (type, integrality, range; the
 * message names the field and path) and fills *s only when all are good. */
struct cJSON;
mg_status mg_settings_to_json(const mg_settings *s, struct cJSON *root);
mg_status mg_settings_from_json(const struct cJSON *root, const char *path, mg_settings *s);

#endif
