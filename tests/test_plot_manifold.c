/* test_plot_manifold.c — `modgrad plot`'s pictures of the execution-manifold
 * study (tools/cli/plot_manifold.c, plot_attention.c): drawn from a small
 * real attn_stack run (a + b mod 11, 200 steps, about a second) with every
 * data file checked against the run's CSVs and summary.json number by
 * number; drawn from hand-written files whose answers are known (cumulative
 * shares, the early and late medians and their segments, per-step means,
 * the ablation's k order); none of them for a run without the study's
 * files, silently; a commutator without a basis yet draws the defect alone;
 * a malformed file is refused with exit 2. The SAE picture
 * (tools/cli/plot_sae.c) likewise: from a small markers run and `modgrad
 * sae` (seconds), its data file
 * against latents.csv and summary.json (the live latents, the ablated ones
 * marked, the key's counts and accuracies); from hand-written files (dead
 * latents left out, a directory lacking summary.json skipped); none without
 * sae/; a malformed latents.csv or summary.json refused with exit 2.
 *
 * Needs gnuplot (tools/deps installs gnuplot-nox). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/csvout.h"
#include "core/fsutil.h"
#include "models/harness/rundir.h"
#include "tests/util/cli.h"

static void setup(void) {
    mg_cli_setup();
    cr_assert_eq(system("command -v gnuplot >/dev/null 2>&1"), 0,
                 "gnuplot is not installed: `modgrad plot` needs it (tools/deps installs "
                 "gnuplot-nox)");
}

TestSuite(plot_manifold, .init = setup, .fini = mg_cli_teardown, .timeout = 120);

static const char *const pictures[] = {"manifold", "commutator", "defect", "attention", "ablation"};
#define NPICS 5

#define RUN                                                                                        \
    "train --model attn_stack --layers 2 --d-model 16 --heads 2 --p 11 --frac 0.5 --steps 200 "    \
    "--eval-every 10 --snapshot-every 10 --commutator-every 20 --basis-every 40 --threads 1"

static mg_csv *csv(const char *path) {
    mg_csv *c = NULL;
    cr_assert_eq(mg_csv_read(path, &c), MG_OK, "%s: %s", path, mg_errmsg());
    return c;
}

/* A data file's rows (comments and blank lines skipped), up to 8 numbers each. */
typedef struct {
    int n;
    double v[512][8];
} dat;

static dat *read_dat(const char *path) {
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s was not written", path);
    static dat d;
    memset(&d, 0, sizeof d);
    char line[1024];
    while (fgets(line, sizeof line, f) && d.n < 512) {
        if (line[0] == '#' || line[0] == '\n') continue;
        double *v = d.v[d.n++];
        int k = 0;
        for (char *s = line, *e; k < 8; s = e) {
            v[k] = strtod(s, &e);
            if (e == s) break;
            k++;
        }
    }
    fclose(f);
    return &d;
}

static void near(double got, double want, const char *what) {
    if (isnan(want)) {
        cr_assert(isnan(got), "%s: %.17g, want NaN", what, got);
        return;
    }
    cr_assert(fabs(got - want) <= 1e-7 * fmax(1, fabs(want)), "%s: %.17g, want %.17g", what, got,
              want);
}

/* Asserts that plots/NAME.png and .svg of the run in dir (a name under the
 * test's directory, as every dir and run here) are a PNG and an SVG. */
static void assert_picture(const char *dir, const char *name) {
    static const unsigned char png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    size_t n = 0;
    char *s = slurp(P("%s/plots/%s.png", dir, name), &n);
    cr_assert(s && n > 8 && !memcmp(s, png, 8), "%s/plots/%s.png is not a PNG", dir, name);
    free(s);
    s = slurp(P("%s/plots/%s.svg", dir, name), &n);
    cr_assert(s && strstr(s, "<svg"), "%s/plots/%s.svg is not an SVG", dir, name);
    free(s);
}

/* How many times text occurs in the file. */
static int occurrences(const char *path, const char *text) {
    char *s = slurp(path, NULL);
    cr_assert_not_null(s, "%s is missing", path);
    int n = 0;
    for (const char *p = s; (p = strstr(p, text)); p += strlen(text)) n++;
    free(s);
    return n;
}

/* A CSV with the given header (names from rundir.h) and rows. */
static void write_csv(const char *path, int n, const char *const *cols, const char *rows) {
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "cannot write %s", path);
    for (int i = 0; i < n; i++) fprintf(f, "%s%s", i ? "," : "", cols[i]);
    fprintf(f, "\n%s", rows);
    cr_assert_eq(fclose(f), 0);
}

/* A run directory with metrics.csv alone (what plot needs to open it). */
static void bare_run(const char *dir) {
    cr_assert_eq(mkdir(P("%s", dir), 0777), 0);
    write_csv(P("%s/" MG_RUN_METRICS, dir), MG_METRICS_NCOLS, mg_metrics_cols,
              "0,0,2.4,0.1,2.4,0.1\n100,1,0.1,1,1.5,0.5\n200,2,0.01,1,0.1,1\n");
}

/* ---- a real run ------------------------------------------------------------------ */

/* Every manifold_BLOCK.dat: one line per explained.csv row of the block,
 * the share, its running sum, the null's share and running sum; the key
 * carries trajectory.csv's r90 and null r90. */
static void check_manifold(const char *run) {
    mg_csv *c = csv(P("%s/" MG_RUN_EXPLAINED, run));
    int bc = mg_csv_col(c, MG_COL(explained, block)), kc = mg_csv_col(c, MG_COL(explained, k));
    int sc = mg_csv_col(c, MG_COL(explained, share)),
        nc = mg_csv_col(c, MG_COL(explained, null_share));
    const char *blocks[] = {"l0.q", "l0.k", "l0.v", "l0.o",      "l1.q",
                            "l1.k", "l1.v", "l1.o", "attention", "all"};
    for (int b = 0; b < 10; b++) {
        dat *d = read_dat(P("%s/plots/data/manifold_%s.dat", run, blocks[b]));
        int i = 0;
        double cum = 0, ncum = 0;
        for (size_t row = 0; row < c->nrows; row++) {
            if (strcmp(mg_csv_str(c, row, bc), blocks[b])) continue;
            cr_assert_lt(i, d->n, "%s: fewer lines than rows", blocks[b]);
            cum += mg_csv_num(c, row, sc), ncum += mg_csv_num(c, row, nc);
            near(d->v[i][0], mg_csv_num(c, row, kc), "k");
            near(d->v[i][1], mg_csv_num(c, row, sc), "share");
            near(d->v[i][2], cum, "cumulative share");
            near(d->v[i][3], mg_csv_num(c, row, nc), "null share");
            near(d->v[i][4], ncum, "null cumulative share");
            i++;
        }
        cr_assert_eq(i, 21, "%s: %d rows for 21 snapshots", blocks[b], i);
        cr_assert_eq(d->n, i, "%s: %d lines for %d rows", blocks[b], d->n, i);
        cr_assert(fabs(d->v[i - 1][2] - 1) < 1e-6, "%s: the shares sum to %g", blocks[b],
                  d->v[i - 1][2]);
    }
    mg_csv_free(c);
    c = csv(P("%s/" MG_RUN_TRAJ_CSV, run));
    int r90 = mg_csv_col(c, MG_COL(trajectory, r90)),
        n90 = mg_csv_col(c, MG_COL(trajectory, null_r90));
    /* the bars: one line per block, "i block r90 r95 null_r90 null_r95" */
    FILE *f = fopen(P("%s/plots/data/manifold_r90.dat", run), "r");
    cr_assert_not_null(f, "no r90 bars");
    char line[512];
    size_t nbars = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#') continue;
        int i;
        char block[64];
        double v[4];
        cr_assert_eq(sscanf(line, "%d %63s %lf %lf %lf %lf", &i, block, &v[0], &v[1], &v[2], &v[3]),
                     6, "%s", line);
        cr_assert_lt(nbars, c->nrows);
        cr_assert_eq(i, (int)nbars);
        cr_assert_str_eq(block, mg_csv_str(c, nbars, mg_csv_col(c, MG_COL(trajectory, block))));
        near(v[0], mg_csv_num(c, nbars, r90), "r90");
        near(v[1], mg_csv_num(c, nbars, mg_csv_col(c, MG_COL(trajectory, r95))), "r95");
        near(v[2], mg_csv_num(c, nbars, n90), "null r90");
        nbars++;
    }
    fclose(f);
    cr_assert_eq(nbars, c->nrows, "%zu bars for %zu blocks", nbars, c->nrows);
    cr_assert_eq(occurrences(P("%s/plots/data/manifold.gp", run), "r90 per block"), 2);
    for (size_t row = 0; row < c->nrows; row++) {
        const char *b = mg_csv_str(c, row, mg_csv_col(c, MG_COL(trajectory, block)));
        const char *dot = strchr(b, '.');
        char label[160];
        snprintf(label, sizeof label, "'%.*s: r90 %.0f, null %.3g'", dot ? (int)(dot - b) : 99, b,
                 mg_csv_num(c, row, r90), mg_csv_num(c, row, n90));
        cr_assert_geq(occurrences(P("%s/plots/data/manifold.gp", run), label), 2,
                      "manifold.gp lacks the key %s", label);
    }
    mg_csv_free(c);
}

/* commutator.dat: the rows with a basis, their ratios; the medians are
 * summary.json's. defect.dat: every row's D and cos. */
static void check_commutator(const char *run) {
    mg_csv *c = csv(P("%s/" MG_RUN_COMMUTATOR, run));
    int sc = mg_csv_col(c, MG_COL(commutator, step)),
        rc = mg_csv_col(c, MG_COL(commutator, rho_exec));
    int fc = mg_csv_col(c, MG_COL(commutator, rho_rand_full)),
        bc = mg_csv_col(c, MG_COL(commutator, rho_rand_block));
    int dc = mg_csv_col(c, MG_COL(commutator, defect)),
        cc = mg_csv_col(c, MG_COL(commutator, cos_ab));
    dat *d = read_dat(P("%s/plots/data/commutator.dat", run));
    int i = 0, skipped = 0;
    for (size_t row = 0; row < c->nrows; row++) {
        double rho = mg_csv_num(c, row, rc);
        if (isnan(rho)) {
            skipped++;
            continue;
        }
        cr_assert_lt(i, d->n);
        near(d->v[i][0], mg_csv_num(c, row, sc), "step");
        near(d->v[i][1], rho, "rho_exec");
        near(d->v[i][4], rho / mg_csv_num(c, row, fc), "rho_exec / rho_rand_full");
        near(d->v[i][5], rho / mg_csv_num(c, row, bc), "rho_exec / rho_rand_block");
        i++;
    }
    cr_assert_eq(skipped, 2, "steps 0 and 20 have no basis yet (%d rows without)", skipped);
    cr_assert_eq(d->n, i, "commutator.dat: %d lines for %d rows with a basis", d->n, i);
    cr_assert_eq(i, 9);
    d = read_dat(P("%s/plots/data/defect.dat", run));
    cr_assert_eq((size_t)d->n, c->nrows);
    for (size_t row = 0; row < c->nrows; row++) {
        near(d->v[row][1], mg_csv_num(c, row, dc), "D");
        near(d->v[row][2], mg_csv_num(c, row, cc), "cos_ab");
    }
    mg_csv_free(c);
    cJSON *sum = json_file(P("%s/" MG_RUN_SUMMARY, run));
    const cJSON *cm = jget(jget(sum, "manifold"), "commutator");
    const char *which[2] = {"full", "block"};
    for (int w = 0; w < 2; w++) {
        d = read_dat(P("%s/plots/data/commutator_ratio_%s.dat", run, which[w]));
        cr_assert_eq(d->n, 4, "two segments of two ends");
        char key[64];
        snprintf(key, sizeof key, "ratio_%s_early", which[w]);
        near(d->v[0][1], jnum(cm, key), key), near(d->v[1][1], jnum(cm, key), key);
        snprintf(key, sizeof key, "ratio_%s_late", which[w]);
        near(d->v[2][1], jnum(cm, key), key), near(d->v[3][1], jnum(cm, key), key);
        /* 9 measurements, 40..200: windows of one, widened halfway to the next */
        near(d->v[0][0], 40, "early start"), near(d->v[1][0], 50, "early end");
        near(d->v[2][0], 190, "late start"), near(d->v[3][0], 200, "late end");
    }
    cJSON_Delete(sum);
}

/* attention_LAYER.dat: per evaluation step, the mean entropy and top-1 mass
 * over that step's rows. */
static void check_attention(const char *run) {
    mg_csv *c = csv(P("%s/" MG_RUN_ATTENTION, run));
    int sc = mg_csv_col(c, MG_COL(attention, step)), lc = mg_csv_col(c, MG_COL(attention, layer));
    int ec = mg_csv_col(c, MG_COL(attention, entropy)),
        mc = mg_csv_col(c, MG_COL(attention, mass_top1));
    const char *layers[2] = {"l0", "l1"};
    for (int l = 0; l < 2; l++) {
        dat *d = read_dat(P("%s/plots/data/attention_%s.dat", run, layers[l]));
        cr_assert_eq(d->n, 21, "%s: one line per evaluation, 0..200", layers[l]);
        for (int i = 0; i < d->n; i++) {
            double se = 0, sm = 0;
            int k = 0;
            for (size_t row = 0; row < c->nrows; row++)
                if (mg_csv_num(c, row, sc) == 10.0 * i &&
                    !strcmp(mg_csv_str(c, row, lc), layers[l]))
                    se += mg_csv_num(c, row, ec), sm += mg_csv_num(c, row, mc), k++;
            cr_assert_eq(k, 2, "two heads, one group");
            near(d->v[i][0], i ? 10.0 * i : 1, "step (0 drawn at 1)");
            near(d->v[i][1], se / k, "mean entropy");
            near(d->v[i][2], sm / k, "mean top-1 mass");
        }
    }
    mg_csv_free(c);
}

Test(plot_manifold, the_pictures_of_a_small_run_hold_its_numbers) {
    const char *run = "run"; /* under the test's directory */
    mg_ok(RUN " --out %s", P("%s", run));
    proc r;
    int st = mg(&r, "plot %s", P("%s", run));
    cr_assert_eq(st, 0, "exit %d:\n%s", st, r.err);
    for (int i = 0; i < NPICS; i++) {
        assert_picture(run, pictures[i]);
        char name[64];
        snprintf(name, sizeof name, "%s.png", pictures[i]);
        cr_assert(strstr(r.out, name), "the list of written files lacks %s:\n%s", name, r.out);
    }
    proc_free(&r);
    check_manifold(run);
    check_commutator(run);
    check_attention(run);
    /* ablation_all.dat: k ascending, "all" (no cut) last at 32 */
    mg_csv *c = csv(P("%s/" MG_RUN_ABLATION, run));
    dat *d = read_dat(P("%s/plots/data/ablation_all.dat", run));
    const double ks[6] = {1, 2, 4, 8, 16, 32};
    const char *names[6] = {"1", "2", "4", "8", "16", "all"};
    cr_assert_eq(d->n, 6);
    for (int i = 0; i < 6; i++) {
        near(d->v[i][0], ks[i], "k");
        for (size_t row = 0; row < c->nrows; row++)
            if (!strcmp(mg_csv_str(c, row, mg_csv_col(c, MG_COL(ablation, topk))), names[i]))
                near(d->v[i][1], mg_csv_num(c, row, mg_csv_col(c, MG_COL(ablation, test_acc))),
                     "test_acc");
    }
    mg_csv_free(c);
}

/* ---- constructed files -------------------------------------------------------------- */

Test(plot_manifold, constructed_files_give_the_known_numbers) {
    const char *run = "run"; /* under the test's directory */
    bare_run(run);
    const char *ex[] = {MG_COL(explained, block), MG_COL(explained, k), MG_COL(explained, share),
                        MG_COL(explained, null_share)};
    write_csv(P("%s/" MG_RUN_EXPLAINED, run), 4, ex,
              "l0.q,1,0.5,0.25\nl0.q,2,0.3,0.25\nl0.q,3,0.2,0.5\n"
              "all,1,0.9,0.6\nall,2,0.1,0.4\n");
    /* Two rows without a basis, then ten whose ratios to the full-space
     * baseline are 1..10 and to the block-matched one 10, 20, ..., 100. */
    const char *cm[] = {MG_COL(commutator, step),          MG_COL(commutator, defect),
                        MG_COL(commutator, cos_ab),        MG_COL(commutator, rho_exec),
                        MG_COL(commutator, rho_rand_full), MG_COL(commutator, rho_rand_block)};
    char rows[4096] = "0,1,0.5,nan,nan,nan\n100,2,0.4,nan,nan,nan\n";
    for (int i = 0; i < 10; i++)
        snprintf(rows + strlen(rows), sizeof rows - strlen(rows), "%d,%s,-0.5,0.1,%.17g,%.17g\n",
                 200 + 100 * i, i == 4 ? "nan" : "8", 0.1 / (i + 1), 0.01 / (i + 1));
    write_csv(P("%s/" MG_RUN_COMMUTATOR, run), 6, cm, rows);
    const char *at[] = {MG_COL(attention, step),    MG_COL(attention, group),
                        MG_COL(attention, layer),   MG_COL(attention, head),
                        MG_COL(attention, entropy), MG_COL(attention, mass_top1)};
    write_csv(P("%s/" MG_RUN_ATTENTION, run), 6, at,
              "0,m=1,l0,0,2,0.1\n0,m=1,l0,1,3,0.2\n0,m=2,l0,0,2.5,0.3\n0,m=2,l0,1,2.5,0.4\n"
              "0,m=1,l1,0,1,0.5\n0,m=1,l1,1,1,0.5\n0,m=2,l1,0,1,0.5\n0,m=2,l1,1,1,0.5\n"
              "50,m=1,l0,0,1,0.9\n50,m=1,l0,1,1,0.7\n50,m=2,l0,0,0.5,0.8\n50,m=2,l0,1,1.5,0.6\n"
              "50,m=1,l1,0,0.2,1\n50,m=1,l1,1,0.2,1\n50,m=2,l1,0,0.2,1\n50,m=2,l1,1,0.2,1\n");
    const char *ab[] = {MG_COL(ablation, topk), MG_COL(ablation, group),
                        MG_COL(ablation, test_acc)};
    write_csv(P("%s/" MG_RUN_ABLATION, run), 3, ab,
              "all,all,0.9\n16,all,0.85\n1,all,0.2\n4,all,0.6\n2,all,0.4\n8,all,0.8\n"
              "all,m=1,1\n1,m=1,0.5\n");
    proc r;
    int st = mg(&r, "plot %s", P("%s", run));
    cr_assert_eq(st, 0, "exit %d:\n%s", st, r.err);
    proc_free(&r);
    for (int i = 0; i < NPICS; i++) assert_picture(run, pictures[i]);

    /* cumulative shares */
    dat *d = read_dat(P("%s/plots/data/manifold_l0.q.dat", run));
    cr_assert_eq(d->n, 3);
    const double cum[3] = {0.5, 0.8, 1.0}, ncum[3] = {0.25, 0.5, 1.0};
    for (int i = 0; i < 3; i++)
        near(d->v[i][2], cum[i], "cumulative"), near(d->v[i][4], ncum[i], "null cumulative");
    d = read_dat(P("%s/plots/data/manifold_all.dat", run));
    cr_assert_eq(d->n, 2);
    near(d->v[1][2], 1.0, "cumulative"), near(d->v[0][4], 0.6, "null cumulative");
    /* one W_Q panel and the together panel, each plotted once per terminal */
    cr_assert_eq(occurrences(P("%s/plots/data/manifold.gp", run), "W_Q (query)"), 2);
    cr_assert_eq(occurrences(P("%s/plots/data/manifold.gp", run), "W_K"), 0);
    cr_assert_eq(occurrences(P("%s/plots/data/manifold.gp", run), "'all'"), 2,
                 "no trajectory.csv: the key names the block without r90");
    cr_assert(!exists(P("%s/plots/data/manifold_r90.dat", run)), "r90 bars without trajectory.csv");
    cr_assert_eq(occurrences(P("%s/plots/data/manifold.gp", run), "r90 per block"), 0);

    /* 10 measurements with a basis: windows of 2; medians 1.5 and 9.5 (full),
     * 15 and 95 (block); the segments reach halfway to the next measurement */
    d = read_dat(P("%s/plots/data/commutator.dat", run));
    cr_assert_eq(d->n, 10, "the two rows without a basis are left out");
    near(d->v[0][0], 200, "first step with a basis"), near(d->v[9][4], 10, "ratio");
    const double want[2][2] = {{1.5, 9.5}, {15, 95}};
    const char *which[2] = {"full", "block"};
    for (int w = 0; w < 2; w++) {
        d = read_dat(P("%s/plots/data/commutator_ratio_%s.dat", run, which[w]));
        cr_assert_eq(d->n, 4);
        const double x[4] = {200, 350, 950, 1100};
        for (int i = 0; i < 4; i++) {
            near(d->v[i][0], x[i], "segment end");
            near(d->v[i][1], want[w][i / 2], "median");
        }
    }
    cr_assert_eq(occurrences(P("%s/plots/data/commutator.gp", run),
                             "block-matched medians: early 15x, late 95x"),
                 2);
    /* D: every row, the NaN one as NaN; the median of the finite 11 is 8 */
    d = read_dat(P("%s/plots/data/defect.dat", run));
    cr_assert_eq(d->n, 12);
    near(d->v[0][1], 1, "D"), near(d->v[6][1], NAN, "D"), near(d->v[11][2], -0.5, "cos");
    cr_assert_eq(occurrences(P("%s/plots/data/defect.gp", run), "median 8 (max / median 1)"), 2);

    /* attention: the mean over heads and groups at each step */
    d = read_dat(P("%s/plots/data/attention_l0.dat", run));
    cr_assert_eq(d->n, 2);
    near(d->v[0][0], 1, "step 0 drawn at 1"), near(d->v[0][1], 2.5, "entropy");
    near(d->v[0][2], 0.25, "top-1 mass"), near(d->v[1][0], 50, "step");
    near(d->v[1][1], 1, "entropy"), near(d->v[1][2], 0.75, "top-1 mass");
    d = read_dat(P("%s/plots/data/attention_l1.dat", run));
    cr_assert_eq(d->n, 2);
    near(d->v[1][1], 0.2, "entropy");

    /* ablation: k ascending, no cut last */
    d = read_dat(P("%s/plots/data/ablation_all.dat", run));
    cr_assert_eq(d->n, 6);
    const double ks[6] = {1, 2, 4, 8, 16, 32}, acc[6] = {0.2, 0.4, 0.6, 0.8, 0.85, 0.9};
    for (int i = 0; i < 6; i++) near(d->v[i][0], ks[i], "k"), near(d->v[i][1], acc[i], "acc");
    d = read_dat(P("%s/plots/data/ablation_m_1.dat", run));
    cr_assert_eq(d->n, 2);
    near(d->v[0][1], 0.5, "acc at k = 1"), near(d->v[1][0], 32, "no cut");
}

/* ---- runs without the study ------------------------------------------------------- */

Test(plot_manifold, a_run_without_the_study_files_draws_none_and_says_nothing) {
    const char *run = "run"; /* under the test's directory */
    bare_run(run);
    proc r;
    int st = mg(&r, "plot %s", P("%s", run));
    cr_assert_eq(st, 0, "exit %d:\n%s", st, r.err);
    assert_picture(run, "curves");
    for (int i = 0; i < NPICS; i++) {
        cr_assert(!exists(P("%s/plots/%s.png", run, pictures[i])), "%s drawn without its file",
                  pictures[i]);
        char name[64];
        snprintf(name, sizeof name, "/%s.png", pictures[i]);
        cr_assert(!strstr(r.out, name), "%s listed:\n%s", name, r.out);
    }
    const char *files[] = {MG_RUN_EXPLAINED, MG_RUN_COMMUTATOR, MG_RUN_ATTENTION, MG_RUN_ABLATION,
                           MG_RUN_TRAJ_CSV};
    for (int i = 0; i < 5; i++)
        cr_assert(!strstr(r.err, files[i]), "a note about %s:\n%s", files[i], r.err);
    cr_assert(!strstr(r.out, "sae_") && !strstr(r.err, "sae"), "an SAE picture or note:\n%s%s",
              r.out, r.err);
    proc_free(&r);
    DIR *d = opendir(P("%s/plots", run));
    cr_assert_not_null(d);
    for (struct dirent *e; (e = readdir(d));)
        cr_assert(strncmp(e->d_name, "sae_", 4), "%s drawn without sae/", e->d_name);
    closedir(d);
}

Test(plot_manifold, a_commutator_without_a_basis_draws_the_defect_alone) {
    const char *run = "run"; /* under the test's directory */
    bare_run(run);
    const char *cm[] = {MG_COL(commutator, step),          MG_COL(commutator, defect),
                        MG_COL(commutator, cos_ab),        MG_COL(commutator, rho_exec),
                        MG_COL(commutator, rho_rand_full), MG_COL(commutator, rho_rand_block)};
    write_csv(P("%s/" MG_RUN_COMMUTATOR, run), 6, cm,
              "0,1.5,0.5,nan,nan,nan\n20,4,0.1,nan,nan,nan\n");
    proc r;
    int st = mg(&r, "plot %s", P("%s", run));
    cr_assert_eq(st, 0, "exit %d:\n%s", st, r.err);
    assert_picture(run, "defect");
    cr_assert(!exists(P("%s/plots/commutator.png", run)), "a commutator picture without a basis");
    cr_assert(strstr(r.err, "no measurement with an execution basis"), "%s", r.err);
    proc_free(&r);
}

Test(plot_manifold, a_malformed_study_file_is_refused) {
    const char *run = "run"; /* under the test's directory */
    bare_run(run);
    const char *cm[] = {MG_COL(commutator, step), MG_COL(commutator, defect)};
    write_csv(P("%s/" MG_RUN_COMMUTATOR, run), 2, cm, "0,1.5\n");
    proc r;
    int st = mg(&r, "plot %s", P("%s", run));
    cr_assert_eq(st, 2, "exit %d:\n%s", st, r.err);
    cr_assert(strstr(r.err, MG_COL(commutator, rho_exec)), "the message names the column:\n%s",
              r.err);
    assert_picture(run, "curves"); /* the other pictures are still drawn */
    proc_free(&r);
}

/* ---- the sparse autoencoder ------------------------------------------------------- */

#define SAE_RUN                                                                                    \
    "train --model attn_stack --task markers --layers 2 --d-model 16 --heads 2 --batch 64 "        \
    "--probe-batch 64 --lr 3e-3 --wd 0.01 --steps 100 --eval-every 100 --checkpoint-every 100 "    \
    "--threads 1 --out %s"

/* sae_step_NNNNNN.dat against latents.csv and summary.json: one line per
 * live latent (active > 0) in order, its numbers, and 1 in the last column
 * exactly for the ablated latents. Returns the number of live latents. */
static int check_sae(const char *run, const char *step) {
    mg_csv *c = csv(P("%s/sae/%s/latents.csv", run, step));
    cJSON *sum = json_file(P("%s/sae/%s/summary.json", run, step));
    const cJSON *ab = jget(sum, "ablated_latents");
    dat *d = read_dat(P("%s/plots/data/sae_%s.dat", run, step));
    const char *cols[5] = {"latent", "variance", "active", "corr_m", "corr_pos"};
    int i = 0, marked = 0, tracks[2] = {0, 0};
    for (size_t row = 0; row < c->nrows; row++) {
        double v[5];
        for (int k = 0; k < 5; k++) v[k] = mg_csv_num(c, row, mg_csv_col(c, cols[k]));
        if (v[2] == 0) continue; /* dead: left out */
        cr_assert_lt(i, d->n, "%s: fewer lines than live latents", step);
        for (int k = 0; k < 5; k++) near(d->v[i][k], v[k], cols[k]);
        bool want = false;
        for (int a = 0; a < cJSON_GetArraySize(ab); a++)
            want = want || cJSON_GetArrayItem(ab, a)->valueint == (int)v[0];
        cr_assert_eq(d->v[i][5], want ? 1 : 0, "latent %g: ablated %g", v[0], d->v[i][5]);
        near(d->v[i][6], isnan(v[3]) ? 0 : v[3], "x: r with m, 0 if undefined");
        near(d->v[i][7], isnan(v[4]) ? 0 : v[4], "y: r with the position, 0 if undefined");
        marked += want;
        for (int k = 0; k < 2; k++) tracks[k] += fabs(v[3 + k]) >= jnum(sum, "corr_min");
        i++;
    }
    cr_assert_eq(d->n, i, "%s: %d lines for %d live latents", step, d->n, i);
    cr_assert_eq(marked, cJSON_GetArraySize(ab), "every ablated latent is live and marked");
    char label[160]; /* the key's counts and accuracies, once per terminal */
    const char *gp = P("%s/plots/data/sae_%s.gp", run, step);
    snprintf(label, sizeof label, "'%zu latents: %d live, %zu dead (not drawn)'", c->nrows, i,
             c->nrows - (size_t)i);
    cr_assert_eq(occurrences(gp, label), 2, "%s lacks %s", gp, label);
    snprintf(label, sizeof label, "'  %d latents track m'", tracks[0]);
    cr_assert_eq(occurrences(gp, label), 2, "%s lacks %s", gp, label);
    snprintf(label, sizeof label, "'  %d track the value''s position'", tracks[1]);
    cr_assert_eq(occurrences(gp, label), 2, "%s lacks %s", gp, label);
    snprintf(label, sizeof label, "'  as trained: %.4f'", jnum(sum, "acc"));
    cr_assert_eq(occurrences(gp, label), 2, "%s lacks %s", gp, label);
    snprintf(label, sizeof label, "'  the %d ablated: %.4f'", cJSON_GetArraySize(ab),
             jnum(sum, "acc_ablated"));
    cr_assert_eq(occurrences(gp, label), 2, "%s lacks %s", gp, label);
    snprintf(label, sizeof label, "'  the reconstruction spliced in: %.4f'",
             jnum(sum, "acc_spliced"));
    cr_assert_eq(occurrences(gp, label), 2, "%s lacks %s", gp, label);
    cJSON_Delete(sum);
    mg_csv_free(c);
    return i;
}

Test(plot_manifold, the_sae_picture_holds_the_latents_and_marks_the_ablated) {
    mg_ok(SAE_RUN, P("r"));
    mg_ok("sae %s --checkpoint 100 --steps 100 --d-sae 32 --k 4 --pool-rows 512 --batch 64 "
          "--ablate 3",
          P("r"));
    proc r;
    int st = mg(&r, "plot %s", P("r"));
    cr_assert_eq(st, 0, "exit %d:\n%s", st, r.err);
    assert_picture("r", "sae_step_000100");
    cr_assert(strstr(r.out, "sae_step_000100.png"), "not listed:\n%s", r.out);
    cr_assert(!strstr(r.err, "sae"), "a note about the SAE:\n%s", r.err);
    proc_free(&r);
    cr_assert_gt(check_sae("r", "step_000100"), 3, "live latents beyond the ablated");
}

#define ACCS "\"acc\": 0.9, \"acc_ablated\": 0.25, \"acc_spliced\": 0.75"

/* dir (under the test's directory): latents.csv with the rows; summary.json with corr_min 0.5,
 * latents 3 and 5 ablated and the accuracies accs (ACCS). */
static void write_sae(const char *dir, const char *rows, const char *accs) {
    cr_assert_eq(mg_mkdir_p(P("%s", dir)), MG_OK);
    const char *cols[5] = {"latent", "variance", "active", "corr_m", "corr_pos"};
    write_csv(P("%s/latents.csv", dir), 5, cols, rows);
    FILE *f = fopen(P("%s/summary.json", dir), "w");
    cr_assert_not_null(f);
    fprintf(f,
            "{\"checkpoint\": 50, \"layer\": 1, \"corr_min\": 0.5, \"latents_corr_m\": 2, "
            "\"latents_corr_pos\": 1, \"ablated_latents\": [3, 5], %s}\n",
            accs);
    cr_assert_eq(fclose(f), 0);
}

Test(plot_manifold, constructed_sae_files_give_the_known_rows) {
    bare_run("run");
    write_sae("run/sae/step_000050",
              "0,0.5,0.25,0.9,0.1\n1,0,0,nan,nan\n2,0.1,0.5,-0.6,nan\n3,2,0.75,0.2,-0.8\n"
              "4,0,0,nan,nan\n5,1.5,1,0.3,0.4\n",
              ACCS);
    cr_assert_eq(mg_mkdir_p(P("run/sae/step_000010")), MG_OK); /* latents.csv alone */
    const char *cols[1] = {"latent"};
    write_csv(P("run/sae/step_000010/latents.csv"), 1, cols, "0\n");
    write_sae("run/sae/notes", "0,1,1,0,0\n", ACCS); /* not a step directory */
    proc r;
    int st = mg(&r, "plot %s", P("run"));
    cr_assert_eq(st, 0, "exit %d:\n%s", st, r.err);
    cr_assert(!strstr(r.err, "sae"), "a note about the SAE:\n%s", r.err);
    proc_free(&r);
    assert_picture("run", "sae_step_000050");
    cr_assert(!exists(P("run/plots/sae_step_000010.png")), "drawn without summary.json");
    cr_assert(!exists(P("run/plots/sae_notes.png")), "drawn from a directory not a step's");
    dat *d = read_dat(P("run/plots/data/sae_step_000050.dat"));
    const double want[4][8] = {{0, 0.5, 0.25, 0.9, 0.1, 0, 0.9, 0.1},
                               {2, 0.1, 0.5, -0.6, NAN, 0, -0.6, 0}, /* drawn at y = 0 */
                               {3, 2, 0.75, 0.2, -0.8, 1, 0.2, -0.8},
                               {5, 1.5, 1, 0.3, 0.4, 1, 0.3, 0.4}};
    cr_assert_eq(d->n, 4, "latents 1 and 4 are dead");
    for (int i = 0; i < 4; i++)
        for (int k = 0; k < 8; k++) near(d->v[i][k], want[i][k], "sae_step_000050.dat");
    const char *gp = P("run/plots/data/sae_step_000050.gp");
    const char *labels[] = {"'6 latents: 4 live, 2 dead (not drawn)'",
                            "'|r| >= 0.5 (beyond the dotted lines):'",
                            "'  2 latents track m'",
                            "'  1 track the value''s position'",
                            "'  as trained: 0.9000'",
                            "'  the 2 ablated: 0.2500'",
                            "'  the reconstruction spliced in: 0.7500'",
                            "'SAE latents at step 50, after block 1 - run'",
                            "'r undefined (drawn at 0):'",
                            "'  0 with m, 1 with the position'",
                            "first 0.5, graph 0 to first 0.5, graph 1",
                            "first -0.5, graph 0 to first -0.5, graph 1",
                            "graph 0, first -0.5 to graph 1, first -0.5"};
    for (size_t i = 0; i < sizeof labels / sizeof *labels; i++)
        cr_assert_eq(occurrences(gp, labels[i]), 2, "%s lacks %s", gp, labels[i]);
}

Test(plot_manifold, a_malformed_sae_file_is_refused) {
    bare_run("run");
    write_sae("run/sae/step_000050", "0,1,1,0,0\n",
              "\"acc\": 0.9, \"acc_ablated\": 0.25, \"acc_spliced\": \"high\"");
    write_sae("run/sae/step_000060", "0,1,1,0,0\n", ACCS);
    write_csv(P("run/sae/step_000060/latents.csv"), 1, (const char *[]){"latent"}, "0\n");
    proc r;
    int st = mg(&r, "plot %s", P("run"));
    cr_assert_eq(st, 2, "exit %d:\n%s", st, r.err);
    cr_assert(strstr(r.err, "'acc_spliced'"), "names the key:\n%s", r.err);
    cr_assert(strstr(r.err, "'variance'"), "names the column:\n%s", r.err);
    proc_free(&r);
    assert_picture("run", "curves"); /* the other pictures are still drawn */
    cr_assert(!exists(P("run/plots/sae_step_000050.png")));
    cr_assert(!exists(P("run/plots/sae_step_000060.png")));
}

/* ---- titles ------------------------------------------------------------------------ */

/* A sequence task's labels are taken mod --classes: the titles say so, not
 * config.json's unused default p (113); a title longer than the picture's
 * width at 13 points (a sweep's run name) is set smaller. */
Test(plot_manifold, titles_give_the_classes_and_a_long_one_is_set_smaller) {
    const char *runs[2] = {"r", "task=markers,mlp=no,seed=0,a-name-as-long-as-a-sweep-gives"};
    for (int i = 0; i < 2; i++) {
        mg_ok("train --model attn_stack --task markers --classes 5 --layers 1 --d-model 16 "
              "--heads 2 --batch 32 --probe-batch 64 --steps 60 --eval-every 20 "
              "--snapshot-every 10 --commutator-every 20 --basis-every 20 --threads 1 --out %s",
              P("%s", runs[i]));
        mg_ok("plot %s", P("%s", runs[i]));
        for (int k = 0; k < NPICS; k++) {
            const char *gp = P("%s/plots/data/%s.gp", runs[i], pictures[k]);
            cr_assert_gt(occurrences(gp, ": attn_stack, markers mod 5' font ',"), 0,
                         "%s: no title with markers mod 5", gp);
            cr_assert_eq(occurrences(gp, "mod 113"), 0, "%s: the default p in the title", gp);
            cr_assert_eq(occurrences(gp, "' font ',13'\n"), i == 0 ? 2 : 0,
                         "%s: the title's font (the run name is %s)", gp, runs[i]);
        }
    }
}
