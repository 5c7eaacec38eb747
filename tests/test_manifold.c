/* test_manifold.c — the execution-manifold study's records end to end
 * (models/harness/manifold.h): a small attn_stack on a + b mod 11 with
 * snapshots, commutators and attention rows; that measuring changes no bit
 * of training; the files, their shapes and bounds; resume; the ablation. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/csvout.h"
#include "core/safetensors.h"
#include "tests/util/cli.h"

TestSuite(manifold, .init = mg_cli_setup, .fini = mg_cli_teardown, .timeout = 120);

#define SMALL                                                                                      \
    "train --model attn_stack --layers 2 --d-model 16 --heads 2 --p 11 --frac 0.5 --seed 3 "       \
    "--eval-every 10 --checkpoint-every 30 --threads 1"
#define MEASURED "--snapshot-every 10 --commutator-every 20 --basis-every 20"

static mg_csv *csv(const char *path) {
    mg_csv *c = NULL;
    cr_assert_eq(mg_csv_read(path, &c), MG_OK, "%s: %s", path, mg_errmsg());
    return c;
}

/* metrics.csv without its wall-clock column */
static void metrics_equal(const char *a, const char *b) {
    mg_csv *x = csv(a), *y = csv(b);
    cr_assert_eq(x->nrows, y->nrows);
    for (size_t r = 0; r < x->nrows; r++)
        for (int c = 0; c < x->ncols; c++)
            if (strcmp(x->names[c], "wall_s"))
                cr_assert_str_eq(mg_csv_str(x, r, c), mg_csv_str(y, r, c), "%s row %zu col %s", a,
                                 r, x->names[c]);
    mg_csv_free(x);
    mg_csv_free(y);
}

Test(manifold, measuring_changes_no_bit_of_training) {
    mg_ok(SMALL " --steps 60 --out %s", P("plain"));
    mg_ok(SMALL " --steps 60 " MEASURED " --out %s", P("measured"));
    char a[32], b[32];
    json_field(P("plain/summary.json"), "fingerprint", a, sizeof a);
    json_field(P("measured/summary.json"), "fingerprint", b, sizeof b);
    cr_assert_str_eq(a, b, "a run that measures the commutator must train the same bits");
    metrics_equal(P("plain/metrics.csv"), P("measured/metrics.csv"));
    cr_assert(!exists(P("plain/trajectory")), "no --snapshot-every: no trajectory/");
    cr_assert(!exists(P("plain/commutator.csv")));
}

Test(manifold, trajectory_commutator_and_attention_files) {
    mg_ok(SMALL " --steps 60 " MEASURED " --out %s", P("r"));
    /* a snapshot every 10 steps, 0..60, each the parameters of its step */
    for (int s = 0; s <= 60; s += 10) {
        mg_st_file *f = NULL;
        const char *path = P("r/trajectory/step_%06d.safetensors", s);
        cr_assert_eq(mg_st_load(path, &f), MG_OK, "%s: %s", path, mg_errmsg());
        int64_t step = -1;
        cr_assert_eq(mg_st_meta_count(f, "step", 1000, &step), MG_OK);
        cr_assert_eq(step, s);
        mg_st_free(f);
    }
    /* the PCA per block (2 layers x q, k, v, o), over the blocks and whole */
    mg_csv *t = csv(P("r/trajectory.csv"));
    cr_assert_eq(t->nrows, 2 * 4 + 2);
    int blk = mg_csv_col(t, "block"), r90 = mg_csv_col(t, "r90"), r95 = mg_csv_col(t, "r95");
    int nr90 = mg_csv_col(t, "null_r90"), snaps = mg_csv_col(t, "snapshots");
    cr_assert_str_eq(mg_csv_str(t, 0, blk), "l0.q");
    cr_assert_str_eq(mg_csv_str(t, 8, blk), "attention");
    cr_assert_str_eq(mg_csv_str(t, 9, blk), "all");
    for (size_t i = 0; i < t->nrows; i++) {
        cr_assert_eq(mg_csv_num(t, i, snaps), 7);
        cr_assert(mg_csv_num(t, i, r90) >= 1 && mg_csv_num(t, i, r90) <= mg_csv_num(t, i, r95));
        cr_assert(mg_csv_num(t, i, r95) <= 7);
        cr_assert(mg_csv_num(t, i, nr90) >= 1 && mg_csv_num(t, i, nr90) <= 7);
    }
    mg_csv_free(t);
    /* explained variance: the shares of each block sum to 1 */
    mg_csv *e = csv(P("r/explained.csv"));
    double sum = 0;
    for (size_t i = 0; i < e->nrows; i++)
        if (!strcmp(mg_csv_str(e, i, mg_csv_col(e, "block")), "all"))
            sum += mg_csv_num(e, i, mg_csv_col(e, "share"));
    cr_assert_float_eq(sum, 1.0, 1e-9);
    mg_csv_free(e);
    /* the commutator at 0, 20, 40, 60; a basis once 5 snapshots lie at or
     * before the last multiple of --basis-every: from step 40 */
    mg_csv *c = csv(P("r/commutator.csv"));
    cr_assert_eq(c->nrows, 4);
    for (size_t i = 0; i < c->nrows; i++) {
        double D = mg_csv_num(c, i, mg_csv_col(c, "defect"));
        double rho = mg_csv_num(c, i, mg_csv_col(c, "rho_exec"));
        double full = mg_csv_num(c, i, mg_csv_col(c, "rho_rand_full"));
        double cosab = mg_csv_num(c, i, mg_csv_col(c, "cos_ab"));
        cr_assert(isfinite(D) && D >= 0, "row %zu: D %g", i, D);
        cr_assert(cosab >= -1 && cosab <= 1);
        if (i < 2) {
            cr_assert(isnan(rho), "no basis before step 40 (row %zu)", i);
        } else {
            cr_assert(rho >= 0 && rho <= 1, "rho_exec %g", rho);
            cr_assert(full > 0 && full < 1);
            cr_assert_eq(mg_csv_num(c, i, mg_csv_col(c, "basis_dim")), 2 * 4 * 3);
            cr_assert_float_eq(mg_csv_num(c, i, mg_csv_col(c, "perp_sqrt")), sqrt(1 - rho * rho),
                               1e-6);
        }
    }
    mg_csv_free(c);
    /* attention at the last query: an entropy in [0, log 3] and masses
     * growing with k to 1 (3 keys) */
    mg_csv *a = csv(P("r/attention.csv"));
    cr_assert_eq(a->nrows, 7 * 2 * 2, "7 evaluations x 2 layers x 2 heads");
    const char *cols[] = {"mass_top1", "mass_top2", "mass_top4", "mass_top8", "mass_top16"};
    for (size_t i = 0; i < a->nrows; i++) {
        double h = mg_csv_num(a, i, mg_csv_col(a, "entropy"));
        cr_assert(h >= 0 && h <= log(3.0) + 1e-6, "entropy %g", h);
        double prev = 0;
        for (int k = 0; k < 5; k++) {
            double m = mg_csv_num(a, i, mg_csv_col(a, cols[k]));
            cr_assert(m >= prev - 1e-12 && m <= 1 + 1e-6);
            prev = m;
        }
        cr_assert_float_eq(prev, 1.0, 1e-5);
    }
    mg_csv_free(a);
    /* the ablation: keeping 4 or more of 3 keys is no ablation */
    mg_csv *ab = csv(P("r/ablation.csv"));
    int k = mg_csv_col(ab, "topk"), acc = mg_csv_col(ab, "test_acc");
    double all = NAN, four = NAN;
    for (size_t i = 0; i < ab->nrows; i++) {
        if (!strcmp(mg_csv_str(ab, i, k), "all")) all = mg_csv_num(ab, i, acc);
        if (!strcmp(mg_csv_str(ab, i, k), "4")) four = mg_csv_num(ab, i, acc);
    }
    cr_assert(isfinite(all));
    cr_assert_eq(all, four);
    mg_csv_free(ab);
    cJSON *s = json_file(P("r/summary.json"));
    const cJSON *m = jget(s, "manifold");
    cr_assert_eq(jnum(jget(m, "trajectory"), "snapshots"), 7);
    cr_assert_eq(jnum(jget(m, "commutator"), "with_basis"), 2);
    cJSON_Delete(s);
}

/* summary.json's "measurements": the wall seconds the snapshots and the
 * commutator took in the loop, the loop's, its steps and their ratio to the
 * rest; only in a run that measures, kept by analyze, and counted from the
 * resume in a resumed run. */
static void expect_measurements(const char *path, double steps) {
    cJSON *s = json_file(path);
    const cJSON *m = jget(s, "measurements");
    double sec = jnum(m, "seconds"), loop = jnum(m, "loop_seconds");
    cr_expect_gt(sec, 0, "%s: seconds %g", path, sec);
    cr_expect_gt(loop, sec, "%s: loop_seconds %g, seconds %g", path, loop, sec);
    cr_expect_eq(jnum(m, "steps"), steps, "%s", path);
    cr_expect_float_eq(jnum(m, "overhead"), sec / (loop - sec), 1e-12, "%s", path);
    cJSON_Delete(s);
}

Test(manifold, the_summary_says_what_the_measurements_cost) {
    mg_ok(SMALL " --steps 60 --out %s", P("plain"));
    cJSON *s = json_file(P("plain/summary.json"));
    cr_expect_null(cJSON_GetObjectItemCaseSensitive(s, "measurements"),
                   "a plain run measures nothing");
    cJSON_Delete(s);
    mg_ok(SMALL " --steps 60 " MEASURED " --out %s", P("r"));
    expect_measurements(P("r/summary.json"), 60);
    char before[64], after[64];
    cJSON *a = json_file(P("r/summary.json"));
    snprintf(before, sizeof before, "%.17g", jnum(jget(a, "measurements"), "seconds"));
    cJSON_Delete(a);
    mg_ok("analyze %s", P("r"));
    a = json_file(P("r/summary.json"));
    snprintf(after, sizeof after, "%.17g", jnum(jget(a, "measurements"), "seconds"));
    cJSON_Delete(a);
    cr_expect_str_eq(before, after, "analyze keeps the loop's own figures");
    mg_ok(SMALL " --steps 30 " MEASURED " --out %s", P("split"));
    mg_ok("train --resume %s --steps 60", P("split"));
    expect_measurements(P("split/summary.json"), 30);
}

Test(manifold, resume_gives_the_same_records) {
    mg_ok(SMALL " --steps 60 " MEASURED " --out %s", P("straight"));
    mg_ok(SMALL " --steps 30 " MEASURED " --out %s", P("split"));
    mg_ok("train --resume %s --steps 60", P("split"));
    const char *files[] = {"commutator.csv", "attention.csv", "trajectory.csv",
                           "explained.csv",  "ablation.csv",  "trajectory/step_000050.safetensors"};
    for (int i = 0; i < 6; i++) {
        size_t na = 0, nb = 0;
        char *a = slurp(P("straight/%s", files[i]), &na), *b = slurp(P("split/%s", files[i]), &nb);
        cr_assert(a && b, "%s", files[i]);
        cr_assert(na == nb && !memcmp(a, b, na), "%s differs after a resume", files[i]);
        free(a);
        free(b);
    }
}

Test(manifold, analyze_rebuilds_the_analyses) {
    mg_ok(SMALL " --steps 40 " MEASURED " --out %s", P("r"));
    size_t na = 0, nb = 0;
    char *a = slurp(P("r/trajectory.csv"), &na);
    remove(P("r/trajectory.csv"));
    proc out;
    cr_assert_eq(mg(&out, "analyze %s", P("r")), 0, "%s", out.err);
    cr_assert(strstr(out.out, "trajectory r90 / r95, whole vector"), "%s", out.out);
    cr_assert(strstr(out.out, "l1.o"), "the per-block table: %s", out.out);
    char *b = slurp(P("r/trajectory.csv"), &nb);
    cr_assert(a && b && na == nb && !memcmp(a, b, na));
    free(a);
    free(b);
    proc_free(&out);
}

/* The markers task's probe groups (m = 1..4, equal sizes): one row per
 * group and evaluation, whose accuracies average to metrics.csv's. */
Test(manifold, groups_average_to_the_test_accuracy) {
    mg_ok("train --model attn_stack --task markers --layers 1 --d-model 16 --heads 2 --batch 32 "
          "--probe-batch 64 --steps 20 --eval-every 10 --threads 1 --out %s",
          P("m"));
    mg_csv *g = csv(P("m/groups.csv")), *mt = csv(P("m/metrics.csv"));
    cr_assert_eq(g->nrows, 3 * 4);
    for (size_t e = 0; e < 3; e++) {
        double sum = 0;
        for (int k = 0; k < 4; k++) {
            char name[8];
            snprintf(name, sizeof name, "m=%d", k + 1);
            cr_assert_str_eq(mg_csv_str(g, e * 4 + k, mg_csv_col(g, "group")), name);
            cr_assert_eq(mg_csv_num(g, e * 4 + k, 0), mg_csv_num(mt, e, 0));
            sum += mg_csv_num(g, e * 4 + k, mg_csv_col(g, "test_acc"));
        }
        cr_assert_float_eq(sum / 4, mg_csv_num(mt, e, mg_csv_col(mt, "test_acc")), 1e-12);
    }
    mg_csv_free(g);
    mg_csv_free(mt);
}

/* groups.csv is a series: a resume cuts it at its checkpoint like the others */
Test(manifold, groups_resume_like_a_straight_run) {
#define MK                                                                                         \
    "train --model attn_stack --task markers --layers 1 --d-model 16 --heads 2 --batch 32 "        \
    "--probe-batch 64 --eval-every 10 --checkpoint-every 20 --threads 1"
    mg_ok(MK " --steps 40 --out %s", P("straight"));
    mg_ok(MK " --steps 30 --out %s", P("split"));
    mg_ok("train --resume %s --steps 40", P("split"));
    size_t na = 0, nb = 0;
    char *a = slurp(P("straight/groups.csv"), &na), *b = slurp(P("split/groups.csv"), &nb);
    cr_assert(a && b);
    cr_assert(na == nb && !memcmp(a, b, na), "groups.csv differs after a resume:\n%s\n--\n%s", a,
              b);
    free(a);
    free(b);
#undef MK
}
