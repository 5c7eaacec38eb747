/* modelfile_cli.c — the CLI's side of --model-file: load the file through
 * the library (models/harness/modelfile.h) through the settings table's
 * --model-file row, then print the compiler's output and what --verbose asks for. */
#include <stdio.h>

#include "models/harness/modelfile.h"
#include "tools/cli/cli.h"

void cli_print_diagnostics(void) {
    const char *d = mg_modelfile_diagnostics();
    if (*d) fputs(d, stderr);
}

void cli_model_file_report(const mg_modelfile *f, bool verbose) {
    if (!f) return;
    if (f->compiled) cli_print_diagnostics(); /* the compiler's warnings */
    if (!verbose) return;
    fprintf(stderr, "modgrad: model file %s (XXH3 %s)\n", f->path, f->hash_hex);
    fprintf(stderr, "modgrad: compile: %s\n", f->command);
    if (f->compiled)
        fprintf(stderr, "modgrad: compiled in %.0f ms, loaded in %.2f ms\n", 1e3 * f->compile_s,
                1e3 * f->load_s);
    else
        fprintf(stderr, "modgrad: cached object reused (%s), loaded in %.2f ms\n", f->object,
                1e3 * f->load_s);
    for (int i = 0; i < f->n_models; i++)
        fprintf(stderr, "modgrad: registers model %s\n", f->models[i]->name);
}
