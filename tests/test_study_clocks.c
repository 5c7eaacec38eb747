/* test_study_clocks.c — the two-clocks study applied to runs (issue 15):
 * loss.csv and the fitting clock read from it, the onsets at T_grok that a
 * longer run does not move, the label "not fitted", a tied classifier
 * measured once, the gate-flip probe against gates read by hand, the
 * locking rows, the measurements leaving the trajectory untouched, the
 * --embed-init control, and a config.json written before an option
 * existed. Runs are the P = 23 MLP of test_cli (seconds each). */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "analysis/twoclocks.h"
#include "core/csvout.h"
#include "core/safetensors.h"
#include "models/harness/study.h"
#include "models/harness/train.h"
#include "tests/util/cli.h"

TestSuite(study_clocks, .init = mg_cli_setup, .fini = mg_cli_teardown, .timeout = 240);

#define SETTING "--p 23 --d 32 --width 64 --threads 1 --frac 0.8 --lr 1e-2 --wd 1 --seed 1"
#define SMALL "--model mlp --p 23 --d 32 --width 64 --threads 1"
#define GROK "--model mlp " SETTING

static cJSON *summary(const char *run) { return json_file(P("%s/summary.json", run)); }

/* column col of every row of a CSV whose first column is the step */
static int read_col(const char *path, const char *col, int64_t *steps, double *v, int max) {
    mg_csv *c = NULL;
    cr_assert_eq(mg_csv_read(path, &c), MG_OK, "%s", mg_errmsg());
    int ci = mg_csv_col(c, col), si = mg_csv_col(c, "step"), n = 0;
    cr_assert(ci >= 0 && si >= 0, "%s has no %s", path, col);
    for (size_t r = 0; r < c->nrows && n < max; r++, n++) {
        steps[n] = (int64_t)mg_csv_num(c, r, si);
        v[n] = mg_csv_num(c, r, ci);
    }
    mg_csv_free(c);
    return n;
}

/* The rows of a geometry file with this layer and metric. */
static int geometry_file(const char *path, const char *layer, const char *metric, int64_t *steps,
                         double *v, int max) {
    mg_csv *c = NULL;
    cr_assert_eq(mg_csv_read(path, &c), MG_OK, "%s", mg_errmsg());
    int n = 0;
    for (size_t r = 0; r < c->nrows && n < max; r++) {
        if (strcmp(mg_csv_str(c, r, 1), layer) || strcmp(mg_csv_str(c, r, 2), metric)) continue;
        steps[n] = (int64_t)mg_csv_num(c, r, 0);
        v[n++] = mg_csv_num(c, r, 3);
    }
    mg_csv_free(c);
    return n;
}

/* The rows of a run's geometry.csv with this layer and metric. */
static int geometry(const char *run, const char *layer, const char *metric, int64_t *steps,
                    double *v, int max) {
    return geometry_file(P("%s/geometry.csv", run), layer, metric, steps, v, max);
}

Test(study_clocks, loss_csv_has_every_update_and_the_fitting_clock_reads_it) {
    mg_ok("train " GROK " --steps 300 --eval-every 50 --out %s", P("run"));
    static int64_t ls[400], ms[16];
    static double lv[400], mv[16];
    int n = read_col(P("run/loss.csv"), "train_loss", ls, lv, 400);
    cr_assert_eq(n, 300, "one row per update (steps 0..299), got %d", n);
    for (int i = 0; i < n; i++) cr_assert_eq(ls[i], i);
    /* full batch: the loss of update s is the training loss at step s */
    int m = read_col(P("run/metrics.csv"), "train_loss", ms, mv, 16);
    for (int i = 0; i < m; i++)
        if (ms[i] < 300)
            cr_expect_float_eq(lv[ms[i]], mv[i], 1e-6 * mv[i], "step %lld: %.9g vs %.9g",
                               (long long)ms[i], lv[ms[i]], mv[i]);
    cJSON *s = summary("run");
    const cJSON *tc = jget(s, "two_clocks"), *ladder = jget(tc, "t_cls");
    cr_assert_str_eq(jstr(tc, "fit_series"), "loss.csv (every update)");
    const double eps[] = {1e-1, 1e-2, 1e-3};
    const char *keys[] = {"1e-01", "1e-02", "1e-03"};
    for (int k = 0; k < 3; k++) {
        int64_t want = -1;
        for (int i = 0; i < n && want < 0; i++)
            if (lv[i] <= eps[k]) want = ls[i];
        const cJSON *v = jget(ladder, keys[k]);
        if (want < 0)
            cr_expect(cJSON_IsNull(v), "eps %s: not reached, yet %g", keys[k], v->valuedouble);
        else cr_expect_eq((int64_t)v->valuedouble, want, "eps %s", keys[k]);
    }
    cJSON_Delete(s);
}

Test(study_clocks, onsets_at_t_grok_do_not_move_when_the_run_goes_on) {
    mg_ok("train " GROK " --steps 1200 --eval-every 50 --out %s", P("short"));
    mg_ok("train " GROK " --steps 3000 --eval-every 50 --out %s", P("long"));
    cJSON *a = summary("short"), *b = summary("long");
    cr_assert_eq(jnum(a, "t_grok"), jnum(b, "t_grok"));
    const char *defs[] = {"displacement", "structure"};
    for (int i = 0; i < 2; i++) {
        const cJSON *x = jget(jget(a, "lead"), defs[i]), *y = jget(jget(b, "lead"), defs[i]);
        cr_expect_eq(jnum(x, "onset_classifier"), jnum(y, "onset_classifier"), "%s", defs[i]);
        cr_expect_eq(jnum(x, "onset_embed"), jnum(y, "onset_embed"), "%s", defs[i]);
    }
    /* the old definition, against the run's last value, is kept by name */
    cr_assert(cJSON_IsNumber(jget(jget(jget(b, "lead"), "displacement_final"), "onset_embed")));
    cr_assert_str_eq(jstr(jget(b, "lead"), "reference"), "t_grok");
    cJSON_Delete(a);
    cJSON_Delete(b);
}

Test(study_clocks, a_run_that_did_not_fit_is_labelled_not_fitted) {
    mg_ok("train " SMALL " --lr 1e-4 --steps 20 --eval-every 10 --out %s", P("run"));
    cJSON *s = summary("run");
    cr_assert_lt(jnum(s, "train_acc"), 0.99);
    cr_assert_str_eq(jstr(s, "geometry_label"), "not fitted");
    const char *shape = jstr(s, "geometry_label_shape");
    cr_assert(!strcmp(shape, "cyclic") || !strcmp(shape, "simplex-like") ||
              !strcmp(shape, "neither"));
    /* never grokked: onsets at t_grok are not measured */
    cr_assert(cJSON_IsNull(jget(jget(jget(s, "lead"), "displacement"), "onset_embed")));
    cJSON_Delete(s);
}

Test(study_clocks, a_tied_classifier_is_measured_once_and_has_no_lead) {
    mg_ok("train --model mlp_tied --p 23 --d 32 --width 64 --threads 1 --frac 0.8 --lr 1e-2 "
          "--seed 1 --steps 600 --eval-every 50 --geometry-every 50 --out %s",
          P("run"));
    static int64_t st[64], se[64];
    static double v[64];
    int nc = geometry("run", "embed", "fourier_concentration", st, v, 64);
    int ne = geometry("run", "model", "structural_energy", se, v, 64);
    cr_assert_eq(nc, ne, "%d concentration rows against %d energy rows", nc, ne);
    cr_assert_eq(nc, 13);
    cJSON *s = summary("run");
    cr_assert(cJSON_IsTrue(jget(s, "roles_tied")));
    cr_assert(cJSON_IsFalse(jget(jget(s, "lead"), "applies")));
    cr_assert_null(cJSON_GetObjectItemCaseSensitive(jget(s, "lead"), "displacement"));
    cr_assert(cJSON_IsNumber(jget(s, "t_simplify")), "t_simplify is measured once roles are one");
    cJSON_Delete(s);
}

/* The flips a probed trainer reports are those of the hidden layer's gates
 * read from a second, unprobed trainer's forward passes before and after
 * the same update (the MLP's features are its ReLU's output); the two stay
 * bit-identical. */
static mg_trainer *small_trainer(void) {
    mg_train_cfg cfg;
    mg_train_defaults(&cfg, mg_model_find("mlp"));
    cfg.task.p = 23;
    cfg.threads = 1;
    cfg.opt[mg_model_option_index(cfg.model, "d")] = 32;
    cfg.opt[mg_model_option_index(cfg.model, "width")] = 64;
    cfg.optim.lr = 1e-2f;
    mg_trainer *t = NULL;
    cr_assert_eq(mg_trainer_new(&cfg, &t), MG_OK, "%s", mg_errmsg());
    return t;
}

static void gates_now(mg_trainer *t, uint8_t *bits, int64_t *count) {
    const float *h;
    int64_t n;
    int f;
    const int32_t *y, *pred;
    cr_assert_eq(mg_trainer_features(t, &h, &n, &f, &y, &pred), MG_OK, "%s", mg_errmsg());
    mg_twoclocks_gates(h, n * f, bits);
    *count = n * f;
}

Test(study_clocks, gate_flips_are_the_share_of_hidden_units_that_changed) {
    mg_trainer *a = small_trainer(), *b = small_trainer();
    mg_probes_layer probe[8];
    static uint8_t before[23 * 23 * 64], after[23 * 23 * 64];
    int nonzero = 0;
    for (int s = 0; s < 30; s++) {
        int64_t n = 0;
        gates_now(b, before, &n);
        cr_assert_leq(n, (int64_t)sizeof before);
        cr_assert_eq(mg_trainer_step(b), MG_OK, "%s", mg_errmsg());
        cr_assert_eq(mg_trainer_step_probed(a, probe), MG_OK, "%s", mg_errmsg());
        gates_now(b, after, &n);
        const char *layers[4];
        double flips[4];
        cr_assert_eq(mg_trainer_gate_flips(a, layers, flips), 1);
        cr_assert_str_eq(layers[0], "hidden");
        double want = mg_twoclocks_gate_flips(before, after, n);
        cr_assert_float_eq(flips[0], want, 1e-15, "step %d: %g vs %g", s, flips[0], want);
        nonzero += want > 0;
        mg_params *pa = mg_trainer_params(a), *pb = mg_trainer_params(b);
        cr_assert(
            !memcmp(mg_params_data(pa), mg_params_data(pb), mg_params_total(pa) * sizeof(float)),
            "step %d: the probed trainer left the unprobed one's trajectory", s);
    }
    cr_assert_gt(nonzero, 10, "gates hardly moved: the test shows nothing");
    mg_trainer_free(a);
    mg_trainer_free(b);
}

/* The transformer's gates are its MLP's at the last position, the units
 * whose output the head reads: every flip rate is a whole number of the
 * n_train x d_mlp units there (the other positions would add T = 3 times as
 * many), and probing leaves the trajectory as it was. */
Test(study_clocks, transformer_gates_are_the_last_positions_mlp_units) {
    mg_train_cfg cfg;
    mg_train_defaults(&cfg, mg_model_find("transformer"));
    cfg.task.p = 23;
    cfg.task.frac = 0.5;
    cfg.threads = 1;
    cfg.opt[mg_model_option_index(cfg.model, "d-model")] = 32;
    cfg.opt[mg_model_option_index(cfg.model, "d-mlp")] = 64;
    cfg.optim.lr = 1e-2f;
    mg_trainer *a = NULL, *b = NULL;
    cr_assert_eq(mg_trainer_new(&cfg, &a), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(mg_trainer_new(&cfg, &b), MG_OK, "%s", mg_errmsg());
    const double units = (double)mg_trainer_task(a)->train.n * 64;
    mg_probes_layer probe[16];
    int moved = 0, off_thirds = 0;
    for (int s = 0; s < 30; s++) {
        cr_assert_eq(mg_trainer_step_probed(a, probe), MG_OK, "%s", mg_errmsg());
        cr_assert_eq(mg_trainer_step(b), MG_OK, "%s", mg_errmsg());
        const char *layers[4];
        double flips[4];
        cr_assert_eq(mg_trainer_gate_flips(a, layers, flips), 1);
        cr_assert_str_eq(layers[0], "mlp");
        const double k = flips[0] * units;
        cr_assert(flips[0] >= 0 && flips[0] <= 1 && fabs(k - round(k)) < 1e-6,
                  "step %d: %.17g of %g units is not a whole number", s, k, units);
        moved += k > 0;
        off_thirds += (long)round(k) % 3 != 0;
        mg_params *pa = mg_trainer_params(a), *pb = mg_trainer_params(b);
        cr_assert(
            !memcmp(mg_params_data(pa), mg_params_data(pb), mg_params_total(pa) * sizeof(float)),
            "step %d: the probed transformer left the unprobed one's trajectory", s);
    }
    cr_assert_gt(moved, 10, "gates hardly moved: the test shows nothing");
    cr_assert_gt(off_thirds, 0, "every count is a multiple of 3: the check cannot tell T x units");
    mg_trainer_free(a);
    mg_trainer_free(b);
}

/* Probing and locking at every step give the same trajectory as the
 * default rates: a measurement leaves the parameters as they were. */
Test(study_clocks, measurements_do_not_change_the_trajectory) {
    mg_ok("train " GROK " --steps 120 --out %s", P("plain"));
    mg_ok("train " GROK " --steps 120 --probe-every 1 --geometry-every 1 --out %s", P("probed"));
    char a[32], b[32];
    json_field(P("plain/summary.json"), "fingerprint", a, sizeof a);
    json_field(P("probed/summary.json"), "fingerprint", b, sizeof b);
    cr_assert_str_eq(a, b);
    static int64_t st[200];
    static double v[200];
    cr_assert_eq(geometry("probed", "hidden", "gate_flips", st, v, 200), 120);
    cr_assert_eq(geometry("probed", "lock", "lock_share_top2", st, v, 200), 120);
}

Test(study_clocks, locking_rows_hold_shares_and_their_random_baseline) {
    mg_ok("train " GROK " --steps 200 --geometry-every 50 --out %s", P("run"));
    static int64_t st[16];
    static double share[16], rnd[16], rank[16], orth[16];
    int n = geometry("run", "lock", "lock_share_top2", st, share, 16);
    cr_assert_eq(n, 4, "steps 0, 50, 100, 150 (the geometry steps that take an update)");
    cr_assert_eq(geometry("run", "lock", "lock_random_top2", st, rnd, 16), n);
    cr_assert_eq(geometry("run", "lock", "lock_rank_top2", st, rank, 16), n);
    cr_assert_eq(geometry("run", "lock", "lock_orth_top2", st, orth, 16), n);
    for (int i = 0; i < n; i++) {
        cr_expect(share[i] >= 0 && share[i] <= 1 + 1e-9, "share %g", share[i]);
        /* top-2 right singular vectors through both operands' blocks: 4 of d = 32 */
        cr_expect_eq(rank[i], 4);
        cr_expect_float_eq(rnd[i], sqrt(4.0 / 32.0), 1e-9);
        cr_expect_gt(orth[i], 0);
    }
    /* the transformer has no first layer to pull back through: no rows */
    mg_ok("train --model transformer --p 23 --threads 1 --steps 20 --geometry-every 10 --out %s",
          P("tr"));
    cr_assert_eq(geometry("tr", "lock", "lock_share_top2", st, share, 16), 0);
}

Test(study_clocks, embed_init_classifier_draws_the_embedding_at_the_classifier_scale) {
    mg_train_cfg cfg;
    mg_train_defaults(&cfg, mg_model_find("mlp"));
    cfg.task.p = 23;
    cfg.threads = 1;
    cfg.opt[mg_model_option_index(cfg.model, "embed-init")] = 1;
    mg_trainer *t = NULL;
    cr_assert_eq(mg_trainer_new(&cfg, &t), MG_OK, "%s", mg_errmsg());
    mg_params *P = mg_trainer_params(t);
    const mg_param_info *e = mg_params_info(P, mg_params_find(P, "embed"));
    const float *w = mg_params_data(P) + e->offset;
    double bound = 1.0 / sqrt(512), ss = 0;
    for (size_t i = 0; i < e->numel; i++) {
        cr_assert_leq(fabs(w[i]), bound, "entry %zu: %g beyond U(+-1/sqrt(512))", i, w[i]);
        ss += (double)w[i] * w[i];
    }
    double sd = sqrt(ss / (double)e->numel);
    cr_expect_float_eq(sd, bound / sqrt(3.0), 0.1 * bound, "std %g", sd);
    mg_trainer_free(t);
}

/* A config.json written before an option existed reads back as the model
 * it was: the mlp without --embed-init, deep_linear without --input (then
 * concat, not today's default). */
Test(study_clocks, a_config_without_a_newer_option_reads_as_before) {
    mg_ok("train " GROK " --steps 40 --eval-every 20 --out %s", P("mlp"));
    mg_ok("train --model deep_linear --p 23 --input concat --threads 1 --steps 40 --eval-every 20 "
          "--out %s",
          P("dl"));
    const char *runs[] = {"mlp", "dl"}, *opts[] = {"embed-init", "input"};
    for (int i = 0; i < 2; i++) {
        cJSON *c = json_file(P("%s/config.json", runs[i]));
        cJSON *mo = cJSON_GetObjectItemCaseSensitive(c, "model_options");
        cr_assert_not_null(cJSON_GetObjectItemCaseSensitive(mo, opts[i]));
        cJSON_DeleteItemFromObjectCaseSensitive(mo, opts[i]);
        json_save(P("%s/config.json", runs[i]), c);
        cJSON_Delete(c);
        char before[32], after[32];
        mg_ok("train --resume %s --steps 60", P("%s", runs[i]));
        mg_ok("train --model %s %s --steps 60 --eval-every 20 --out %s", i ? "deep_linear" : "mlp",
              i ? "--p 23 --input concat --threads 1" : SETTING, P("%s_fresh", runs[i]));
        json_field(P("%s/summary.json", runs[i]), "fingerprint", before, sizeof before);
        json_field(P("%s_fresh/summary.json", runs[i]), "fingerprint", after, sizeof after);
        cr_assert_str_eq(before, after, "%s resumed from an old config", runs[i]);
    }
}

/* A deep linear network's end-to-end rows are those of the product of its
 * factors, computed here by hand: the Frobenius energy, and the stable
 * rank ||A||_F^2 / ||A||_2^2 with ||A||_2 by power iteration. */
Test(study_clocks, end_to_end_rows_are_those_of_the_product) {
    mg_train_cfg cfg;
    mg_train_defaults(&cfg, mg_model_find("deep_linear"));
    cfg.task.p = 7;
    cfg.threads = 1;
    cfg.opt[mg_model_option_index(cfg.model, "layers")] = 3;
    cfg.opt[mg_model_option_index(cfg.model, "width")] = 5;
    cfg.optim.weight_decay = 0.5f;
    mg_trainer *t = NULL;
    cr_assert_eq(mg_trainer_new(&cfg, &t), MG_OK, "%s", mg_errmsg());
    mg_csv_writer *w = NULL;
    cr_assert_eq(
        mg_csv_open(P("g.csv"), 4, (const char *const[]){"step", "layer", "metric", "value"}, &w),
        MG_OK);
    mg_study_writers ws = {.geometry = w};
    cr_assert_eq(mg_study_geometry(t, &ws), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(mg_csv_close(w), MG_OK);
    /* A = W1 W2 W3: (49 x 5)(5 x 5)(5 x 7) */
    mg_params *Pp = mg_trainer_params(t);
    const float *w1 = mg_params_data(Pp) + mg_params_info(Pp, 0)->offset,
                *w2 = mg_params_data(Pp) + mg_params_info(Pp, 1)->offset,
                *w3 = mg_params_data(Pp) + mg_params_info(Pp, 2)->offset;
    cr_assert_eq(mg_params_info(Pp, 0)->shape[0], 49);
    static double a[49 * 7], m12[49 * 5];
    double frob = 0;
    for (int i = 0; i < 49 * 5; i++) frob += (double)w1[i] * w1[i];
    for (int i = 0; i < 25; i++) frob += (double)w2[i] * w2[i];
    for (int i = 0; i < 35; i++) frob += (double)w3[i] * w3[i];
    for (int i = 0; i < 49; i++)
        for (int j = 0; j < 5; j++) {
            double s = 0;
            for (int k = 0; k < 5; k++) s += (double)w1[i * 5 + k] * w2[k * 5 + j];
            m12[i * 5 + j] = s;
        }
    double af = 0;
    for (int i = 0; i < 49; i++)
        for (int j = 0; j < 7; j++) {
            double s = 0;
            for (int k = 0; k < 5; k++) s += m12[i * 5 + k] * w3[k * 7 + j];
            a[i * 7 + j] = s;
            af += s * s;
        }
    double x[7] = {1, 1, 1, 1, 1, 1, 1}, lam = 0;
    for (int it = 0; it < 500; it++) { /* x <- A^T A x, normalised */
        double y[49] = {0}, z[7] = {0}, n = 0;
        for (int i = 0; i < 49; i++)
            for (int j = 0; j < 7; j++) y[i] += a[i * 7 + j] * x[j];
        for (int i = 0; i < 49; i++)
            for (int j = 0; j < 7; j++) z[j] += a[i * 7 + j] * y[i];
        for (int j = 0; j < 7; j++) n += z[j] * z[j];
        n = sqrt(n);
        double xz = 0;
        for (int j = 0; j < 7; j++) xz += x[j] * z[j];
        lam = xz; /* x is unit: the Rayleigh quotient */
        for (int j = 0; j < 7; j++) x[j] = z[j] / n;
        if (it == 0) lam = 0;
    }
    static int64_t st[4];
    static double v[4];
    cr_assert_eq(geometry_file(P("g.csv"), "end_to_end", "energy_frob", st, v, 4), 1);
    cr_assert_float_eq(v[0], 0.5 * frob, 1e-6 * frob);
    cr_assert_eq(geometry_file(P("g.csv"), "end_to_end", "stable_rank", st, v, 4), 1);
    cr_assert_float_eq(v[0], af / lam, 1e-5 * af / lam, "%g against %g", v[0], af / lam);
    cr_assert_eq(geometry_file(P("g.csv"), "end_to_end", "balance", st, v, 4), 1);
    cr_assert(v[0] > 0 && v[0] <= 1 + 1e-9, "balance %g", v[0]);
    mg_trainer_free(t);
}

/* --save-grads: the parameters, gradient and update of the chosen steps,
 * from which analyze recomputes the locking rows the run recorded. */
Test(study_clocks, saved_gradients_reproduce_the_locking_rows_and_the_update) {
    mg_ok("train " GROK " --steps 200 --geometry-every 50 --checkpoint-every 50 "
          "--save-grads 150,50,149,50 --out %s",
          P("run"));
    cJSON *c = json_file(P("run/config.json"));
    cr_assert_str_eq(jstr(c, "save_grads"), "50,149,150", "canonical: ascending, no repeats");
    cJSON_Delete(c);
    for (int s = 0; s <= 200; s++)
        cr_assert_eq(exists(P("run/grads/step_%06d.safetensors", s)),
                     s == 50 || s == 149 || s == 150, "step %d", s);
    mg_ok("analyze %s", P("run"));
    static int64_t sa[16], sb[16];
    static double va[16], vb[16];
    const char *metrics[] = {"lock_share_top2", "lock_share_top2m", "lock_orth_top2",
                             "lock_rank_top2m"};
    for (int m = 0; m < 4; m++) {
        int na = geometry_file(P("run/grads/locking.csv"), "lock", metrics[m], sa, va, 16);
        int nb = geometry("run", "lock", metrics[m], sb, vb, 16);
        cr_assert_eq(na, 3, "%s: one row per saved step", metrics[m]);
        int matched = 0;
        for (int i = 0; i < na; i++)
            for (int j = 0; j < nb; j++)
                if (sa[i] == sb[j]) {
                    cr_expect_eq(va[i], vb[j], "%s at step %lld: %.9g recomputed, %.9g recorded",
                                 metrics[m], (long long)sa[i], va[i], vb[j]);
                    matched++;
                }
        cr_assert_eq(matched, 2, "steps 50 and 150 are geometry steps");
    }
    /* param(149) + update(149) = the checkpoint of step 150 */
    mg_train_cfg cfg;
    mg_train_defaults(&cfg, mg_model_find("mlp"));
    cfg.task.p = 23;
    cfg.opt[mg_model_option_index(cfg.model, "d")] = 32;
    cfg.opt[mg_model_option_index(cfg.model, "width")] = 64;
    mg_trainer *t = NULL;
    cr_assert_eq(mg_trainer_new(&cfg, &t), MG_OK, "%s", mg_errmsg());
    mg_params *Pp = mg_trainer_params(t);
    size_t total = mg_params_total(Pp);
    float *w = malloc(total * sizeof *w), *u = malloc(total * sizeof *u), *ck = malloc(total * 4);
    mg_st_file *f = NULL;
    cr_assert_eq(mg_st_load(P("run/grads/step_000149.safetensors"), &f), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(mg_st_read_store(f, Pp, "param.", w), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(mg_st_read_store(f, Pp, "update.", u), MG_OK, "%s", mg_errmsg());
    mg_st_free(f);
    cr_assert_eq(mg_st_load(P("run/checkpoints/step_000150.safetensors"), &f), MG_OK);
    cr_assert_eq(mg_st_read_store(f, Pp, "", ck), MG_OK, "%s", mg_errmsg());
    mg_st_free(f);
    double worst = 0, moved = 0;
    for (size_t i = 0; i < total; i++) {
        double e = fabs((double)w[i] + u[i] - ck[i]) / (fabs(ck[i]) + 1e-6);
        if (e > worst) worst = e;
        moved += fabs(u[i]);
    }
    cr_assert_lt(worst, 1e-6, "param + update differs from the next step's by %g", worst);
    cr_assert_gt(moved, 0, "the update is not zero");
    free(w), free(u), free(ck);
    mg_trainer_free(t);
}

Test(study_clocks, save_grads_refuses_what_is_not_a_list_of_steps) {
    const char *bad[] = {"every:0", "every:x", "5,x", "5,,6", "-3", "1e3"};
    for (int i = 0; i < 6; i++) {
        proc r;
        mg(&r, "train " GROK " --steps 10 --save-grads %s --out %s", bad[i], P("bad%d", i));
        cr_assert_eq(r.code, 2, "--save-grads %s: exit %d", bad[i], r.code);
        cr_assert(strstr(r.err, "--save-grads"), "the message names the flag: %s", r.err);
        cr_assert_not(exists(P("bad%d", i)), "nothing written for --save-grads %s", bad[i]);
        proc_free(&r);
    }
    mg_ok("train " GROK " --steps 20 --save-grads every:10 --out %s", P("ok"));
    cr_assert(exists(P("ok/grads/step_000000.safetensors")) &&
                  exists(P("ok/grads/step_000010.safetensors")) &&
                  !exists(P("ok/grads/step_000020.safetensors")),
              "every:10 over 20 updates: steps 0 and 10 (step 20 takes no update)");
}

/* two_clocks.stable_rank: the first, largest (at its step) and last of the
 * embedding's and the classifier's stable-rank rows, as geometry.csv has them. */
Test(study_clocks, stable_rank_summary_is_the_rows_first_largest_last) {
    mg_ok("train " GROK " --steps 300 --geometry-every 50 --out %s", P("run"));
    cJSON *s = summary("run");
    const cJSON *sr = jget(jget(s, "two_clocks"), "stable_rank");
    const char *layers[] = {"embed", "classifier.w"}, *names[] = {"embed", "classifier"};
    for (int i = 0; i < 2; i++) {
        static int64_t st[16];
        static double v[16];
        int n = geometry("run", layers[i], "stable_rank", st, v, 16);
        cr_assert_eq(n, 7, "%s: %d rows", layers[i], n);
        int at = 0;
        for (int k = 1; k < n; k++)
            if (v[k] > v[at]) at = k;
        const cJSON *e = jget(sr, names[i]);
        cr_assert_float_eq(jnum(e, "first"), v[0], 1e-6 * v[0]);
        cr_assert_float_eq(jnum(e, "max"), v[at], 1e-6 * v[at]);
        cr_assert_eq((int64_t)jnum(e, "max_step"), st[at]);
        cr_assert_float_eq(jnum(e, "last"), v[n - 1], 1e-6 * v[n - 1]);
    }
    cJSON_Delete(s);
}
