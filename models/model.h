/* model.h — model definitions and the name -> definition registry.
 *
 * A model is a graph definition: given the graph, its inputs (n rows of a
 * task, see mg_model_io) and its options, it declares its parameters and
 * returns the logits (n, K) and the penultimate features the analyses read.
 * A model declares what it reads (mg_model_reads): the token sequences, or
 * the operands a and b; the trainer checks that against the task when it
 * builds the graph, and hands the model only that. Parameter names carry the
 * layer before the first dot ("hidden.w" -> layer "hidden"); probes and
 * per-layer optimizer settings use those layers.
 *
 * Options are numbers (integers, reals, or an index into a list of choices),
 * declared in a table so that `modgrad models` lists them and the CLI parses
 * `--NAME VALUE` for them. */
#ifndef MG_MODEL_H
#define MG_MODEL_H

#include "core/graph.h"

#define MG_MODEL_MAX_OPTIONS 12

typedef enum { MG_OPTION_INT, MG_OPTION_REAL, MG_OPTION_CHOICE } mg_option_type;

typedef struct {
    const char *name; /* CLI flag without dashes: "width" */
    mg_option_type type;
    double def;          /* default (a choice: its index) */
    const char *choices; /* MG_OPTION_CHOICE: "concat|sum" */
    const char *help;
} mg_model_option;

/* What a model reads. The zero value is the operands, so a definition that
 * says nothing reads what the study's MLPs read. */
typedef enum {
    MG_READS_OPERANDS = 0, /* a and b (the task must have operands) */
    MG_READS_TOKENS = 1,   /* the token sequences (every task has them) */
} mg_model_reads;

/* The inputs of a model on n rows of a task (task.h): sequences of T tokens
 * over a vocabulary of V, labels in 0..K-1. Only what the model reads is
 * set; the rest is NULL. The modular tasks: T = 3 ("a b =", "=" being
 * token p), V = p + 1, K = n_values = p. */
typedef struct {
    int64_t n;         /* rows */
    int T, V, K;       /* positions, vocabulary, classes: logits are (n, K) */
    int n_values;      /* the operands lie in 0..n_values-1 (0: the task has none) */
    mg_tensor *a, *b;  /* int32 (n): the operands (MG_READS_OPERANDS) */
    mg_tensor *tokens; /* int32 (n, T): the sequences (MG_READS_TOKENS) */
    /* An intervention (models with a residual stream, e.g. attn_stack): 0
     * none; l + 1: the model declares a float input (n, T, d) as out->patch
     * and adds it to its residual stream after block l (the sparse
     * autoencoder's ablation writes what it removes there). */
    int patch_at;
} mg_model_io;

#define MG_MODEL_MAX_GATES 4
#define MG_MODEL_MAX_ATTN 16

typedef struct {
    mg_tensor *logits;   /* (n, K) */
    mg_tensor *features; /* (n, f): penultimate features (neural-collapse metrics) */
    /* The model's ReLU layers (optional): gates[i] is a ReLU's output (any
     * shape; a unit is on where it is > 0) and gate_layers[i] the layer
     * (parameter-name prefix) it belongs to, for the gate-flip probe. The
     * first NULL ends the list. */
    mg_tensor *gates[MG_MODEL_MAX_GATES];
    const char *gate_layers[MG_MODEL_MAX_GATES];
    /* The model's attention patterns (optional): attn[i] is a softmax's
     * output (n, heads, T, T) (row: query, column: key) and attn_layers[i]
     * its layer, for the attention measures (entropy and top-k mass at the
     * last query). The first NULL ends the list. */
    mg_tensor *attn[MG_MODEL_MAX_ATTN];
    const char *attn_layers[MG_MODEL_MAX_ATTN];
    /* The residual stream after each block (n, T, d) (optional; the first
     * NULL ends the list), and the input io->patch_at asked for. */
    mg_tensor *resid[MG_MODEL_MAX_ATTN];
    mg_tensor *patch;
} mg_model_out;

typedef struct {
    const char *name;
    const char *summary;
    mg_model_reads reads; /* what build() finds in its mg_model_io */
    const mg_model_option *options;
    int n_options;
    /* NULL, or one entry per option: what a config.json without that option
     * means (the value giving the model as it was before the option was
     * added), as text; a NULL entry: the option is required. A run written
     * before an option existed then reads back as the run it was, even where
     * the default has changed. (Beside the options, not in them, so that an
     * options table written row by row, as model files outside the tree
     * write theirs, needs no new field.) */
    const char *const *options_absent;
    /* canonical setting of the study */
    int default_p;
    double default_frac;
    int64_t default_steps;
    /* Roles of parameters for the geometry analyses: the token vectors are
     * rows 0..p-1 of `embed`; the class vectors are the rows (or, with
     * classes_in_columns, the columns) of `classifier` (NULL: the last
     * parameter declared); `embed_proj` (NULL: none) maps a token vector into
     * the classifier's feature space through its rows 0..d-1. The model's
     * `features` live in that same space. */
    const char *embed;
    const char *classifier;
    bool classes_in_columns;
    const char *embed_proj;
    /* The parameters, in declaration order, are the factors of one linear
     * map: logits = x W_1 W_2 ... W_L (the deep linear network). The study
     * then records the end-to-end map's stable rank and the structural
     * energy both ways (analysis/twoclocks.h). */
    bool linear_chain;
    /* The attention weights the trajectory analyses read block by block
     * (models/harness/manifold.h): the names after a layer's dot, comma
     * separated ("q,k,v,o": every parameter LAYER.q, LAYER.k, ... is a
     * block). NULL: the model has none. */
    const char *attn_blocks;
    /* Builds the model; opt[i] is the value of options[i]. Returns MG_OK or
     * the graph's error (bad option values are reported with mg_graph_fail). */
    mg_status (*build)(mg_graph *g, const mg_model_io *io, const double *opt, mg_model_out *out);
} mg_model_def;

/* Adds a model to the registry. Fails on a NULL model, a missing name or
 * build function, an option table over MG_MODEL_MAX_OPTIONS, or a name
 * already taken by another model. */
mg_status mg_model_register(const mg_model_def *m);

/* The registered models, by name or position (in name order). */
const mg_model_def *mg_model_find(const char *name); /* NULL + message listing names */
int mg_model_count(void);
const mg_model_def *mg_model_at(int i);

/* "operands a and b" or "tokens": what a model of that kind reads. */
const char *mg_model_reads_name(mg_model_reads r);

/* Registers a model when the library (or a model file's shared object) is
 * loaded: one line at the end of the model's own file,
 * MG_REGISTER_MODEL(mg_model_mlp). Nothing else in the tree lists models. */
#define MG_REGISTER_MODEL(def)                                                                     \
    __attribute__((constructor)) static void mg_register_model_##def(void) {                       \
        (void)mg_model_register(&def);                                                             \
    }

/* Index of an option by name, -1 if absent. */
int mg_model_option_index(const mg_model_def *m, const char *name);

/* Parses VALUE for option i into *out (ints must be integral and >= 1; a
 * choice must be one of its names). The error names the flag and the
 * allowed values. */
mg_status mg_model_option_parse(const mg_model_def *m, int i, const char *value, double *out);

/* The same for any option table's entry o (a task's too); owner names whose
 * option it is in the message ("model mlp", "task markers"). */
mg_status mg_option_parse(const mg_model_option *o, const char *owner, const char *value,
                          double *out);

/* "concat" for a choice option's value; a number as text otherwise. */
const char *mg_model_option_str(const mg_model_def *m, int i, double v, char *buf, size_t n);

#endif
