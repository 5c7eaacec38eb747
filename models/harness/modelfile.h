/* modelfile.h — a model variant defined in a C file anywhere on disk.
 *
 * `modgrad train --model-file variant.c` trains a model that is not compiled
 * into the library: the file is compiled into a shared object by the system
 * C compiler against modgrad's public headers, cached, and loaded; the models
 * it registers (MG_REGISTER_MODEL, a constructor) join the registry.
 *
 * The compiler command is
 *     cc -std=c11 -O2 -fPIC -shared -Wall -I<include> -o <object> <source> -L<libdir> -lmodgrad
 * where <include> and <libdir> are those of the libmodgrad.so this process
 * runs: the build tree's staged public headers (<build>/include/modgrad)
 * when it is a build tree's library, else <libdir>/../include/modgrad of an
 * installed prefix. Linking -lmodgrad makes the object find the library it
 * was built for even when a host loaded modgrad privately (RTLD_LOCAL).
 *
 * The cache: $XDG_CACHE_HOME/modgrad (else ~/.cache/modgrad) holds
 * <stem>-<key>.so, where key is the XXH3-64 of the source's bytes, the
 * command line (compiler, flags, include and library directories), modgrad's
 * version and the public headers' bytes: a changed source, flag or header
 * gives a new object and never a stale one. An object is compiled to a
 * temporary name in the cache and renamed, so a killed compile or two
 * concurrent ones never leave a half-written object under the final name
 * (the next compile removes a killed one's temporary).
 *
 * A run records the source's absolute path and its own XXH3-64 (of the
 * source bytes alone) in config.json; resume and analysis load the file
 * again and refuse it if it is gone or its hash changed.
 *
 * Loading changes the process-wide model registry: call these from one
 * thread (the CLI's main thread), like mg_model_register. */
#ifndef MG_MODELFILE_H
#define MG_MODELFILE_H

#include <stdbool.h>
#include <stdint.h>

#include "models/model.h"

#define MG_MODELFILE_MAX_MODELS 16

/* config.json keys of a run trained from a model file. */
#define MG_CONFIG_MODEL_FILE "model_file"
#define MG_CONFIG_MODEL_FILE_HASH "model_file_hash"

/* A loaded model file. Owned by the loader: valid for the process's life. */
typedef struct {
    char path[4096];   /* the source, absolute */
    uint64_t hash;     /* XXH3-64 of the source's bytes (what a run records) */
    char hash_hex[17]; /* the same as 16 hex digits */
    char object[4096]; /* the cached shared object */
    char *command;     /* the compiler command line (shown by --verbose) */
    bool compiled;     /* compiled now (false: the cached object was reused) */
    double compile_s;  /* seconds spent compiling (0 when cached) */
    double load_s;     /* seconds spent in dlopen (the models' registration) */
    int n_models;
    const mg_model_def *models[MG_MODELFILE_MAX_MODELS]; /* in name order */
} mg_modelfile;

/* Compiles path (or reuses its cached object), loads it and returns what it
 * registered. expect_hash: NULL, or the 16 hex digits a run recorded; the
 * file is then refused (MG_ERR_ARG, naming both hashes) unless its bytes
 * still hash to it. A missing file and a compile error are MG_ERR_ARG (the
 * compiler's output: mg_modelfile_diagnostics()); a file that registers no
 * model, or one whose name is taken, is MG_ERR_ARG; a compiler that cannot
 * be run is MG_ERR_IO. Loading the same file twice returns the same entry. */
mg_status mg_modelfile_load(const char *path, const char *expect_hash, const mg_modelfile **out);

/* What the compiler printed during the last compile on this thread (errors
 * after a failed one, warnings after a successful one); "" if nothing. */
const char *mg_modelfile_diagnostics(void);

/* The model of f called name; name NULL: its only model. Fails with the
 * list of its models when name is NULL and f registers several, or when
 * none is called name. */
mg_status mg_modelfile_pick(const mg_modelfile *f, const char *name, const mg_model_def **out);

/* The loaded file that registered m, or NULL (a model built into modgrad). */
const mg_modelfile *mg_modelfile_of(const mg_model_def *m);

/* Checks, without compiling, that a run's model file is where its
 * config.json says and hashes as recorded there. MG_OK for a run of a
 * built-in model; MG_ERR_ARG (naming both hashes) otherwise. */
mg_status mg_modelfile_check_run(const char *dir);

#endif
