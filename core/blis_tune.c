/* blis_tune.c — the candidates, their measurement in a child process, and
 * the decision of which kernels BLIS runs (see blis_tune.h). The cache file
 * is blis_cache.c's. */
#define _GNU_SOURCE /* strsignal */
#include "core/blis_tune.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The products of the canonical models' steps, with the strides the graph
 * passes (row-major operands; a transposed one by swapped strides). */
static const mg_blis_shape shapes[MG_BLIS_N_SHAPES] = {
    /* mlp: logits = h (4705, 512) @ W2 (512, 97) */
    {"mlp.cls", 4705, 97, 512, 512, 1, 97, 1},
    /* mlp backward: dW2 = h^T (512, 4705) @ dlogits (4705, 97) */
    {"mlp.cls.dW", 512, 97, 4705, 1, 512, 97, 1},
    /* mlp backward: dh = dlogits (4705, 97) @ W2^T (97, 512) */
    {"mlp.cls.dh", 4705, 512, 97, 97, 1, 1, 97},
    /* mlp: the hidden layer on the embedding table, E (97, 128) @ W1 half (128, 512) */
    {"mlp.hidden", 97, 512, 128, 128, 1, 512, 1},
    /* transformer: the MLP block's input product, x (3831, 128) @ W (128, 512) */
    {"tfm.mlp", 3831, 512, 128, 128, 1, 512, 1},
};

const mg_blis_shape *mg_blis_shapes(void) { return shapes; }

/* Today's vector units' sub-configurations; the older ones (sandybridge,
 * penryn, the FMA4 family) and generic are not worth a measurement on a CPU
 * that runs any of these. */
static const char *const tuned[] = {"zen4", "skx", "zen3", "zen2", "zen", "haswell"};

int mg_blis_candidates(const mg_cpu_features *f, const char **out) {
    int n = 0;
    for (size_t i = 0; i < sizeof tuned / sizeof *tuned && n < MG_BLIS_MAX_CANDIDATES; i++)
        if (mg_blis_runs_on(tuned[i], f)) out[n++] = tuned[i];
    return n;
}

/* ---- one candidate, measured in a child --------------------------------- */

static double cpu_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

enum { CHILD_OTHER_KERNELS = 3, CHILD_NOMEM = 4 };

/* In the child: never returns. One thread, so that CPU time is the time the
 * product took however loaded the machine is. */
static void child_measure(const char *arch, int reps, int fd) {
    alarm(120); /* a hung child cannot hang its parent */
    if (mg_blis_select(arch, MG_BLIS_MEASURED, "measuring")) _exit(CHILD_OTHER_KERNELS);
    mg_gemm_init(1);
    if (strcmp(mg_blis_arch(), arch) != 0) _exit(CHILD_OTHER_KERNELS);
    int64_t most = 0;
    for (int s = 0; s < MG_BLIS_N_SHAPES; s++) {
        const mg_blis_shape *p = &shapes[s];
        int64_t sz[3] = {p->m * p->k, p->k * p->n, p->m * p->n};
        for (int i = 0; i < 3; i++) most = sz[i] > most ? sz[i] : most;
    }
    float *a = malloc(sizeof(float) * (size_t)most), *b = malloc(sizeof(float) * (size_t)most);
    float *c = calloc((size_t)most, sizeof(float));
    if (!a || !b || !c) _exit(CHILD_NOMEM);
    for (int64_t i = 0; i < most; i++) {
        a[i] = (float)(i % 13) * 0.01f - 0.06f;
        b[i] = (float)(i % 7) * 0.01f - 0.03f;
    }
    double out[MG_BLIS_N_SHAPES];
    for (int s = 0; s < MG_BLIS_N_SHAPES; s++) {
        const mg_blis_shape *p = &shapes[s];
        double best = INFINITY;
        for (int r = -1; r < reps; r++) { /* r = -1 warms the caches and BLIS's buffers */
            double t = cpu_seconds();
            mg_sgemm(p->m, p->n, p->k, 1.0f, a, p->rsa, p->csa, b, p->rsb, p->csb, 0.0f, c, p->n,
                     1);
            t = cpu_seconds() - t;
            if (r >= 0 && t < best) best = t;
        }
        out[s] = 2.0 * (double)p->m * (double)p->n * (double)p->k / (best > 0 ? best : 1e-9) * 1e-9;
    }
    const char *w = (const char *)out;
    size_t left = sizeof out;
    while (left > 0) {
        ssize_t k = write(fd, w, left);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) _exit(1);
        w += k, left -= (size_t)k;
    }
    _exit(0);
}

mg_status mg_blis_measure(void *ctx, const char *arch, int reps, double *gflops) {
    (void)ctx;
    if (mg_gemm_started())
        return mg_fail(MG_ERR_STATE, "BLIS's kernels can only be measured before this process "
                                     "starts BLIS (a child would inherit its choice)");
    int fds[2];
    if (pipe(fds) != 0)
        return mg_fail(MG_ERR_IO, "cannot measure BLIS's %s kernels: pipe: %s", arch,
                       strerror(errno));
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(fds[0]), close(fds[1]);
        return mg_fail(MG_ERR_IO, "cannot measure BLIS's %s kernels: fork: %s", arch, strerror(e));
    }
    if (pid == 0) {
        close(fds[0]);
        child_measure(arch, reps > 0 ? reps : 1, fds[1]);
    }
    close(fds[1]);
    double got[MG_BLIS_N_SHAPES];
    char *r = (char *)got;
    size_t have = 0;
    while (have < sizeof got) {
        ssize_t k = read(fds[0], r + have, sizeof got - have);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) break;
        have += (size_t)k;
    }
    close(fds[0]);
    int ws = 0;
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR) {}
    if (WIFSIGNALED(ws))
        return mg_fail(MG_ERR_RUN, "%s: its child died of %s%s", arch, strsignal(WTERMSIG(ws)),
                       WTERMSIG(ws) == SIGILL ? " (this CPU cannot run these kernels)" : "");
    if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0)
        return mg_fail(MG_ERR_RUN, "%s: %s", arch,
                       WIFEXITED(ws) && WEXITSTATUS(ws) == CHILD_OTHER_KERNELS
                           ? "BLIS ran other kernels than asked"
                           : "its child failed");
    if (have != sizeof got) return mg_fail(MG_ERR_RUN, "%s: its child sent no result", arch);
    for (int s = 0; s < MG_BLIS_N_SHAPES; s++) {
        if (!isfinite(got[s]) || got[s] <= 0)
            return mg_fail(MG_ERR_RUN, "%s: a rate that is not a positive number", arch);
        gflops[s] = got[s];
    }
    return MG_OK;
}

/* ---- the table and the decision ----------------------------------------- */

static double flops(const mg_blis_shape *p) {
    return 2.0 * (double)p->m * (double)p->n * (double)p->k;
}

static void row_total(mg_blis_row *row) {
    double fl = 0, secs = 0;
    for (int s = 0; s < MG_BLIS_N_SHAPES; s++) {
        fl += flops(&shapes[s]);
        secs += flops(&shapes[s]) / (row->gflops[s] * 1e9);
    }
    row->all = fl / secs * 1e-9;
}

/* Every candidate, rounds times over all of them (so that a change in the
 * machine's load spreads over every candidate), the best rate of each shape
 * kept. A candidate that fails once is out. */
static void measure_table(const mg_blis_tune_opts *o, const char **cands, int n, mg_blis_table *t) {
    mg_blis_measure_fn fn = o->measure ? o->measure : mg_blis_measure;
    t->n = n;
    t->threads = 1;
    t->reps = o->reps > 0 ? o->reps : 3;
    t->rounds = o->rounds > 0 ? o->rounds : 2;
    for (int i = 0; i < n; i++) {
        memset(&t->rows[i], 0, sizeof t->rows[i]);
        snprintf(t->rows[i].arch, sizeof t->rows[i].arch, "%s", cands[i]);
        t->rows[i].ok = true;
    }
    for (int r = 0; r < t->rounds; r++)
        for (int i = 0; i < n; i++) {
            mg_blis_row *row = &t->rows[i];
            if (!row->ok) continue;
            double g[MG_BLIS_N_SHAPES] = {0};
            if (fn(o->ctx, row->arch, t->reps, g)) {
                row->ok = false;
                snprintf(row->note, sizeof row->note, "%s", mg_errmsg());
                memset(row->gflops, 0, sizeof row->gflops);
                continue;
            }
            for (int s = 0; s < MG_BLIS_N_SHAPES; s++)
                if (g[s] > row->gflops[s]) row->gflops[s] = g[s];
        }
    double best = 0;
    for (int i = 0; i < n; i++)
        if (t->rows[i].ok) {
            row_total(&t->rows[i]);
            if (t->rows[i].all > best) best = t->rows[i].all;
        }
    /* Kernels within MG_BLIS_TIE of the fastest are a tie the machine's
     * noise decides (zen, zen2, zen3 and haswell share their micro-kernels
     * and differ by a percent); the tie goes to the first in the candidates'
     * fixed order, so that machines alike choose alike and their runs share
     * their arithmetic. */
    t->chosen = -1;
    for (int i = 0; i < n && t->chosen < 0; i++)
        if (t->rows[i].ok && t->rows[i].all >= (1.0 - MG_BLIS_TIE) * best) t->chosen = i;
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(t->measured_at, sizeof t->measured_at, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* MODGRAD_BLIS_TUNE: 1 on (unset too), 0 off, -1 not understood. */
static int tune_mode(void) {
    const char *v = getenv("MODGRAD_BLIS_TUNE");
    if (!v || !*v || !strcmp(v, "on") || !strcmp(v, "1")) return 1;
    if (!strcmp(v, "off") || !strcmp(v, "0")) return 0;
    return -1;
}

/* The fixed rule's kernels, or "" for BLIS's own choice. */
static void fixed_rule(const mg_cpu_features *f, mg_blis_decision *d, const char *because) {
    const char *want = mg_blis_choose(f);
    if (want && !mg_blis_runs_on(want, f)) want = NULL;
    d->source = MG_BLIS_FIXED;
    snprintf(d->arch, sizeof d->arch, "%s", want ? want : "");
    snprintf(d->why, sizeof d->why, "%s: the fixed rule: %s", because,
             want ? (!strcmp(want, "skx") ? "skx, the CPU supports AVX-512 F/DQ/BW/VL"
                                          : "haswell, the CPU supports AVX2 and FMA")
                  : "BLIS's own choice for this CPU");
}

static void describe_choice(mg_blis_decision *d) {
    const mg_blis_table *t = &d->table;
    const mg_blis_row *c = &t->rows[t->chosen];
    char others[160] = "";
    int ok = 0, fastest = t->chosen;
    for (int i = 0; i < t->n; i++) {
        if (!t->rows[i].ok) continue;
        ok++;
        if (t->rows[i].all > t->rows[fastest].all) fastest = i;
        if (i == t->chosen) continue;
        size_t used = strlen(others);
        snprintf(others + used, sizeof others - used, "%s%s %.1f", used ? ", " : "; ",
                 t->rows[i].arch, t->rows[i].all);
    }
    if (fastest == t->chosen)
        snprintf(d->why, sizeof d->why,
                 "%s: the fastest of %d candidates on the canonical models' products, %.1f "
                 "GFLOP/s per core%s",
                 c->arch, ok, c->all, others);
    else
        snprintf(d->why, sizeof d->why,
                 "%s: of %d candidates on the canonical models' products, the first within %.0f%% "
                 "of the fastest (%s), %.1f GFLOP/s per core%s",
                 c->arch, ok, 100 * MG_BLIS_TIE, t->rows[fastest].arch, c->all, others);
}

mg_status mg_blis_decide(const mg_blis_tune_opts *opts, mg_blis_decision *d) {
    static const mg_blis_tune_opts none = {0};
    const mg_blis_tune_opts *o = opts ? opts : &none;
    memset(d, 0, sizeof *d);
    d->table.chosen = -1;
    int mode = tune_mode();
    if (mode < 0)
        return mg_fail(MG_ERR_ARG, "MODGRAD_BLIS_TUNE must be on or off (1 or 0), got '%s'",
                       getenv("MODGRAD_BLIS_TUNE"));
    mg_cpu_features f = mg_cpu_detect();
    const char *cands[MG_BLIS_MAX_CANDIDATES];
    int nc = mg_blis_candidates(&f, cands);
    mg_blis_key key = mg_blis_key_here();
    d->table.key = key;
    if (mg_blis_cache_path(&key, d->cache_path, sizeof d->cache_path)) {
        d->cache_path[0] = '\0';
        snprintf(d->cache_note, sizeof d->cache_note, "%s", mg_errmsg());
    }
    bool user = mg_blis_user_set();
    if (d->cache_path[0] && !o->retune) {
        mg_status st = mg_blis_cache_read(d->cache_path, &key, cands, nc, &d->table);
        if (!st) d->have_table = d->cache_read = true;
        else if (st == MG_ERR_FORMAT)
            snprintf(d->cache_note, sizeof d->cache_note, "the cached table was ignored: %s",
                     mg_errmsg());
        if (st) {
            memset(&d->table, 0, sizeof d->table);
            d->table.key = key;
            d->table.chosen = -1;
        }
    }
    bool measured = false;
    if (nc > 0 && (o->retune || (!user && mode == 1 && !d->have_table))) {
        measure_table(o, cands, nc, &d->table);
        measured = true;
        d->have_table = d->table.chosen >= 0;
        if (d->have_table && d->cache_path[0]) {
            if (mg_blis_cache_write(d->cache_path, &d->table))
                snprintf(d->cache_note, sizeof d->cache_note, "not cached: %s", mg_errmsg());
            else d->cache_written = true;
        }
    }
    if (user) {
        d->source = MG_BLIS_USER;
        snprintf(d->why, sizeof d->why, "BLIS_ARCH_TYPE=%s set by the user",
                 getenv("BLIS_ARCH_TYPE"));
    } else if (mode == 0) {
        fixed_rule(&f, d, "MODGRAD_BLIS_TUNE=off");
    } else if (d->have_table) {
        d->source = measured ? MG_BLIS_MEASURED : MG_BLIS_CACHE;
        snprintf(d->arch, sizeof d->arch, "%s", d->table.rows[d->table.chosen].arch);
        describe_choice(d);
    } else {
        char because[200];
        if (nc == 0) snprintf(because, sizeof because, "no candidate kernels for this CPU");
        else
            snprintf(because, sizeof because, "every candidate failed (%.120s)",
                     d->table.rows[0].note);
        fixed_rule(&f, d, because);
    }
    return MG_OK;
}

static mg_blis_decision last;
static bool have_last;

mg_status mg_blis_tune(const mg_blis_tune_opts *o, mg_blis_decision *d) {
    mg_status st = mg_blis_decide(o, d);
    if (st) return st;
    if ((st = mg_blis_select(d->arch[0] ? d->arch : NULL, d->source, d->why))) return st;
    last = *d;
    have_last = true;
    return MG_OK;
}

const mg_blis_decision *mg_blis_tune_last(void) { return have_last ? &last : NULL; }

double mg_blis_tune_rate(const char *arch) {
    if (!have_last || !last.have_table || !arch) return 0;
    for (int i = 0; i < last.table.n; i++)
        if (last.table.rows[i].ok && !strcmp(last.table.rows[i].arch, arch))
            return last.table.rows[i].all;
    return 0;
}
