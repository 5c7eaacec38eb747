/* cli.h — shared pieces of the `modgrad` command: flag parsing helpers and
 * the subcommands. Only tools/ prints; exit status 2 means bad input. */
#ifndef MG_CLI_H
#define MG_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "core/blis_tune.h"
#include "models/harness/modelfile.h"

/* Exit statuses, the same for every command (README, "Exit status"):
 *   0  done;
 *   1  the run failed: it diverged (NaN/Inf), memory ran out, a file could
 *      not be written, or a tool it needs (gnuplot) failed;
 *   2  bad input: a flag or value, or a file or run directory given that is
 *      missing, malformed, damaged, locked or does not match; nothing on
 *      disk was changed. */
#define MG_EXIT_OK 0
#define MG_EXIT_FAIL 1
#define MG_EXIT_USAGE 2

/* The exit status of a failed library call: bad settings (MG_ERR_ARG), a
 * malformed or damaged file (MG_ERR_FORMAT) and shapes that do not match
 * (MG_ERR_SHAPE) are bad input; the rest are failures of the run. */
int cli_exit_status(int status);

/* Prints "modgrad: <msg>" to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Parsers: false after printing an error naming the flag. */
bool cli_int(const char *flag, const char *v, int64_t lo, int64_t hi, int64_t *out);
bool cli_real(const char *flag, const char *v, double *out);

/* After --model-file loaded f (settings.h): prints the compiler's warnings
 * when it compiled now, and with verbose the file, its hash, the command and
 * the timings. */
void cli_model_file_report(const mg_modelfile *f, bool verbose);
/* Prints to stderr what the compiler said in the last model-file compile. */
void cli_print_diagnostics(void);

/* The choice of BLIS's kernels main made for this command, or NULL when it
 * made none (a command that runs no matrix product, or --help). */
const mg_blis_decision *cli_blis_decision(void);

int cmd_train(int argc, char **argv);
int cmd_models(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_plot(int argc, char **argv);
int cmd_analyze(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
int cmd_sae(int argc, char **argv);

#endif
