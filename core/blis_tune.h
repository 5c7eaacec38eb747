/* blis_tune.h — BLIS's kernels chosen by measurement, and the cache of that
 * measurement.
 *
 * The candidates are the sub-configurations this BLIS has and this CPU can
 * run, among those built for today's vector units (zen4 where BLIS has it,
 * skx, zen3, zen2, zen, haswell; the older ones and `generic` are far
 * slower wherever one of these runs). Each is timed in a child process of its
 * own, since BLIS reads its choice (BLIS_ARCH_TYPE) once: the child sets it,
 * times sgemm on the matrix products of the canonical models (one thread,
 * best of a few, by CPU time, so that other processes on the machine do not
 * count against it) and sends its GFLOP/s back through a pipe. The fastest
 * over all shapes together (their FLOPs over the sum of their best times)
 * is chosen, except that kernels within MG_BLIS_TIE of the fastest tie, and
 * a tie goes to the first in the candidates' order: noise does not choose.
 *
 * The table is cached in one small JSON file per CPU and BLIS version under
 * $XDG_CACHE_HOME/modgrad/ (default ~/.cache/modgrad/), written atomically;
 * a file that does not parse, is cut short, or holds another CPU's, another
 * BLIS's or another candidate list's table is ignored and remeasured.
 *
 * The order of the choice (mg_blis_decide): a user's BLIS_ARCH_TYPE; the
 * fixed rule (mg_blis_choose) when MODGRAD_BLIS_TUNE=off; the cache; a new
 * measurement, written to the cache. Nothing here prints. */
#ifndef MG_BLIS_TUNE_H
#define MG_BLIS_TUNE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/gemm.h"

#define MG_BLIS_MAX_CANDIDATES 8
#define MG_BLIS_N_SHAPES 5
#define MG_BLIS_TIE 0.03 /* rates this close to the fastest's (a fraction) tie */

/* One product timed: c(m, n) = a(m, k) @ b(k, n), a and b with the strides
 * the model's step gives them (a transposed operand by its strides). */
typedef struct {
    const char *name; /* "mlp.cls" */
    int64_t m, n, k;
    int64_t rsa, csa, rsb, csb;
} mg_blis_shape;

/* The MG_BLIS_N_SHAPES products timed. */
const mg_blis_shape *mg_blis_shapes(void);

/* The candidates for this CPU (see above), fastest-looking first; returns
 * how many (at most MG_BLIS_MAX_CANDIDATES). */
int mg_blis_candidates(const mg_cpu_features *f, const char **out);

/* Measures arch: fills gflops[MG_BLIS_N_SHAPES] with the best rate of reps
 * timings of each shape. The real one is mg_blis_measure; tests pass
 * their own so that nothing is timed. */
typedef mg_status (*mg_blis_measure_fn)(void *ctx, const char *arch, int reps, double *gflops);

/* Times arch in a forked child (see above). MG_ERR_STATE once this process
 * has started BLIS (a child would inherit its choice); MG_ERR_RUN when the
 * child fails (killed by an illegal instruction: the CPU cannot run those
 * kernels; or BLIS runs other kernels than asked). */
mg_status mg_blis_measure(void *ctx, const char *arch, int reps, double *gflops);

typedef struct {
    char arch[16];
    bool ok;                         /* measured; else note says why not */
    double gflops[MG_BLIS_N_SHAPES]; /* per shape */
    double all;                      /* every shape's FLOPs over their summed best times */
    char note[160];
} mg_blis_row;

/* What identifies a table: the CPU and BLIS's version. */
typedef struct {
    char vendor[13];
    int family, model, stepping;
    char blis[32];
} mg_blis_key;

typedef struct {
    mg_blis_key key;
    int n;                                    /* candidates measured */
    mg_blis_row rows[MG_BLIS_MAX_CANDIDATES]; /* in mg_blis_candidates' order */
    int chosen;                               /* index of the fastest; -1 if none measured */
    int threads, reps, rounds;
    char measured_at[32]; /* UTC, ISO 8601 */
} mg_blis_table;

/* This machine's key. */
mg_blis_key mg_blis_key_here(void);

/* The cache file for key: $XDG_CACHE_HOME/modgrad/blis-VENDOR-F-M-S-VERSION.json
 * (XDG_CACHE_HOME unset or not absolute: $HOME/.cache). MG_ERR_ARG when
 * neither is usable. */
mg_status mg_blis_cache_path(const mg_blis_key *key, char *buf, size_t n);

/* Reads a cached table for key with these candidates. MG_ERR_IO when there
 * is no file; MG_ERR_FORMAT when it is corrupt, truncated, or another key's
 * or another candidate list's (the message says which). */
mg_status mg_blis_cache_read(const char *path, const mg_blis_key *key, const char **cands,
                             int n_cands, mg_blis_table *t);
/* Writes t to path atomically (temporary + rename), making its directory. */
mg_status mg_blis_cache_write(const char *path, const mg_blis_table *t);

typedef struct {
    bool retune;                /* measure even when the cache holds a table */
    mg_blis_measure_fn measure; /* NULL: mg_blis_measure */
    void *ctx;
    int reps, rounds; /* <= 0: 3 timings per child, 2 rounds over the candidates */
} mg_blis_tune_opts;

typedef struct {
    mg_blis_source source;
    char arch[16]; /* the kernels chosen; "" leaves BLIS_ARCH_TYPE (user, BLIS's own) */
    char why[320];
    bool have_table; /* table holds a measurement (the cache's or a new one) */
    mg_blis_table table;
    char cache_path[4096]; /* "" when there is no usable cache directory */
    bool cache_read, cache_written;
    char cache_note[320]; /* why a cache file was ignored or not written; "" if not */
} mg_blis_decision;

/* Decides (see the order above) without starting BLIS or selecting. An
 * unreadable or unwritable cache is not an error (cache_note says why);
 * MG_ERR_ARG for a MODGRAD_BLIS_TUNE other than on/off/1/0. */
mg_status mg_blis_decide(const mg_blis_tune_opts *o, mg_blis_decision *d);

/* mg_blis_decide, then mg_blis_select its choice; the decision is kept
 * for mg_blis_tune_last. */
mg_status mg_blis_tune(const mg_blis_tune_opts *o, mg_blis_decision *d);

/* The last decision mg_blis_tune applied in this process, or NULL. */
const mg_blis_decision *mg_blis_tune_last(void);

/* The measured rate (row.all) of arch in the last applied decision's
 * table, or 0 when it has none. */
double mg_blis_tune_rate(const char *arch);

#endif
