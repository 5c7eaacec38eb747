/* test_markers.c — the marker tasks (models/markers.c): a step's batch a
 * function of seed and step; every row read back from its tokens (markers
 * in order at non-adjacent positions, each followed by its value, the label
 * the sum or product of the values mod C, distractors never a value or a
 * marker token, the masks); positions shared by a batch while values vary;
 * m, the positions, the values and the distractors drawn uniformly (chi-
 * square bounds a broken generator fails); the curriculum's stages; the
 * probe groups; the hash; the option errors; and a short run of the CLI. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/task.h"
#include "tests/util/cli.h"

TestSuite(markers, .timeout = 120);

#define VOCAB 256
#define MARKER 100 /* marker i is token 100 + i */

/* Settings of `task` with seed and the options "name=value ..." set. */
static mg_task_cfg cfg_of(const char *task, uint64_t seed, const char *opts) {
    mg_task_cfg c = {.seed = seed};
    cr_assert_eq(mg_task_choose(&c, task), MG_OK, "%s", mg_errmsg());
    char buf[256];
    snprintf(buf, sizeof buf, "%s", opts);
    for (char *save = NULL, *kv = strtok_r(buf, " ", &save); kv; kv = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(kv, '=');
        cr_assert_not_null(eq, "'%s' is not name=value", kv);
        *eq = '\0';
        int k = mg_task_option_index(c.def, kv);
        cr_assert_geq(k, 0, "task %s has no option %s", task, kv);
        cr_assert_eq(mg_task_option_parse(c.def, k, eq + 1, &c.opt[k]), MG_OK, "%s", mg_errmsg());
    }
    return c;
}

static mg_task *open_cfg(const mg_task_cfg *c) {
    mg_task *t = NULL;
    cr_assert_eq(mg_task_open(c, &t), MG_OK, "%s", mg_errmsg());
    return t;
}

static mg_task *open_task(const char *task, uint64_t seed, const char *opts) {
    mg_task_cfg c = cfg_of(task, seed, opts);
    return open_cfg(&c);
}

static mg_rows rows_for(const mg_task *t, int64_t n) {
    mg_rows r;
    cr_assert_eq(mg_rows_alloc(&r, n, t->T, 2), MG_OK, "%s", mg_errmsg());
    return r;
}

static void draw(const mg_task *t, int64_t step, mg_rows *r) {
    cr_assert_eq(mg_task_batch(t, step, r), MG_OK, "%s", mg_errmsg());
}

/* One row read back from its tokens. */
typedef struct {
    int m;
    int pos[4], val[4]; /* marker i's position and value */
} row_facts;

/* Reads row i of r, asserting what every row must satisfy: markers 100..
 * 100+m-1 once each, in that order left to right, never at the last
 * position, each followed by a value in 0..C-1; every other token a
 * distractor (neither a value nor one of the marker tokens 100..103); the
 * masks "value" and "marker" exactly at those positions; the label the sum
 * (mul: the product) of the values mod C. */
static row_facts read_row(const mg_task *t, const mg_rows *r, int64_t i, bool mul) {
    const int T = t->T, C = t->K;
    const int32_t *tok = r->tokens + i * T;
    const uint8_t *vmask = r->masks[0] + i * T, *mmask = r->masks[1] + i * T;
    row_facts f = {0};
    for (int j = 0; j < T; j++) {
        if (tok[j] >= MARKER && tok[j] < MARKER + 4) {
            cr_assert_eq(tok[j], MARKER + f.m, "row %lld: marker %d at %d after %d markers",
                         (long long)i, tok[j], j, f.m);
            cr_assert_lt(j, T - 1, "row %lld: a marker at the last position", (long long)i);
            cr_assert(tok[j + 1] >= 0 && tok[j + 1] < C, "row %lld: marker at %d followed by %d",
                      (long long)i, j, tok[j + 1]);
            cr_assert(mmask[j] && !vmask[j] && vmask[j + 1] && !mmask[j + 1],
                      "row %lld: masks at %d", (long long)i, j);
            f.pos[f.m] = j, f.val[f.m] = tok[j + 1], f.m++;
            j++; /* the value */
        } else {
            cr_assert(tok[j] >= C && tok[j] < VOCAB, "row %lld position %d: distractor %d",
                      (long long)i, j, tok[j]);
            cr_assert(!mmask[j] && !vmask[j], "row %lld: a mask at distractor %d", (long long)i, j);
        }
    }
    cr_assert(f.m >= 1 && f.m <= 4, "row %lld has %d markers", (long long)i, f.m);
    for (int k = 1; k < f.m; k++)
        cr_assert_geq(f.pos[k] - f.pos[k - 1], 2, "row %lld: adjacent markers", (long long)i);
    int64_t y = mul ? 1 : 0;
    for (int k = 0; k < f.m; k++) y = mul ? y * f.val[k] % C : (y + f.val[k]) % C;
    cr_assert_eq(r->labels[i], y, "row %lld: label %d, values give %lld", (long long)i,
                 r->labels[i], (long long)y);
    return f;
}

/* Reads every row of r; they share m and the positions. Returns row 0's. */
static row_facts read_batch(const mg_task *t, const mg_rows *r, bool mul) {
    row_facts f0 = read_row(t, r, 0, mul);
    for (int64_t i = 1; i < r->n; i++) {
        row_facts f = read_row(t, r, i, mul);
        cr_assert_eq(f.m, f0.m, "rows 0 and %lld have %d and %d markers", (long long)i, f0.m, f.m);
        for (int k = 0; k < f.m; k++)
            cr_assert_eq(f.pos[k], f0.pos[k], "row %lld: marker %d at %d, row 0 at %d",
                         (long long)i, k, f.pos[k], f0.pos[k]);
    }
    return f0;
}

static int m_of_step(const mg_task *t, int64_t step, mg_rows *one) {
    draw(t, step, one);
    return read_row(t, one, 0, t->def->variant == 1).m;
}

/* sum (observed - expected)^2 / expected over n cells, expected = total / n */
static double chi2(const int64_t *count, int n) {
    double total = 0, x = 0;
    for (int i = 0; i < n; i++) total += (double)count[i];
    for (int i = 0; i < n; i++) {
        double e = total / n, d = (double)count[i] - e;
        x += d * d / e;
    }
    return x;
}

/* --- determinism ------------------------------------------------------------ */

Test(markers, batch_is_a_function_of_seed_and_step) {
    mg_task *t = open_task("markers", 7, ""), *u = open_task("markers", 8, "");
    mg_rows r[4];
    for (int k = 0; k < 4; k++) r[k] = rows_for(t, 64);
    const size_t bytes = 64 * 16 * sizeof(int32_t);
    draw(t, 5, &r[0]);
    draw(t, 6, &r[1]);
    draw(t, 3, &r[2]);
    draw(t, 5, &r[2]); /* step 5 again, after 6 and 3 */
    draw(u, 5, &r[3]);
    cr_expect_eq(memcmp(r[0].tokens, r[2].tokens, bytes), 0, "step 5 drawn twice differs");
    cr_expect_eq(memcmp(r[0].labels, r[2].labels, 64 * sizeof(int32_t)), 0);
    cr_expect_eq(memcmp(r[0].masks[0], r[2].masks[0], 64 * 16), 0);
    cr_expect_eq(memcmp(r[0].masks[1], r[2].masks[1], 64 * 16), 0);
    cr_expect_neq(memcmp(r[0].tokens, r[1].tokens, bytes), 0, "steps 5 and 6 are the same");
    cr_expect_neq(memcmp(r[0].tokens, r[3].tokens, bytes), 0, "seeds 7 and 8 are the same");
    /* the first rows of a larger batch are the smaller batch */
    mg_rows big = rows_for(t, 100);
    draw(t, 5, &big);
    cr_expect_eq(memcmp(big.tokens, r[0].tokens, bytes), 0, "64 rows of step 5 differ from 100's");
    /* marker-mul draws the same sequences; only the labels differ */
    mg_task *mul = open_task("marker-mul", 7, "");
    draw(mul, 5, &r[1]);
    cr_expect_eq(memcmp(r[0].tokens, r[1].tokens, bytes), 0, "markers and marker-mul differ");
    read_batch(mul, &r[1], true);
    for (int k = 0; k < 4; k++) mg_rows_free(&r[k]);
    mg_rows_free(&big);
    mg_task_close(t), mg_task_close(u), mg_task_close(mul);
}

/* --- the rows ----------------------------------------------------------------- */

static void check_rows_over_steps(const char *task, const char *opts, bool mul) {
    mg_task *t = open_task(task, 11, opts);
    mg_rows r = rows_for(t, 48);
    for (int64_t s = 0; s < 60; s++) {
        draw(t, s, &r);
        read_batch(t, &r, mul);
    }
    mg_rows_free(&r);
    mg_task_close(t);
}

Test(markers, rows_hold_markers_values_and_distractors_with_the_sum_as_label) {
    check_rows_over_steps("markers", "", false);
    check_rows_over_steps("markers", "classes=100 seq-len=9", false);
    check_rows_over_steps("markers", "classes=13 seq-len=40 markers=3,4", false);
}

Test(markers, marker_mul_labels_are_the_product_and_the_value_for_one_marker) {
    check_rows_over_steps("marker-mul", "", true);
    check_rows_over_steps("marker-mul", "classes=7 seq-len=12", true);
    /* m = 1: both labels are the value itself */
    mg_task *s = open_task("markers", 3, "markers=1"), *p = open_task("marker-mul", 3, "markers=1");
    mg_rows a = rows_for(s, 64), b = rows_for(p, 64);
    draw(s, 9, &a), draw(p, 9, &b);
    row_facts f = read_batch(s, &a, false);
    cr_assert_eq(f.m, 1);
    for (int i = 0; i < 64; i++) {
        cr_expect_eq(a.labels[i], a.tokens[i * 16 + f.pos[0] + 1]);
        cr_expect_eq(b.labels[i], a.labels[i]);
    }
    /* m = 2: sum and product differ on some row */
    mg_task *s2 = open_task("markers", 3, "markers=2"),
            *p2 = open_task("marker-mul", 3, "markers=2");
    draw(s2, 9, &a), draw(p2, 9, &b);
    cr_expect_neq(memcmp(a.labels, b.labels, 64 * sizeof(int32_t)), 0, "sum and product agree");
    mg_rows_free(&a), mg_rows_free(&b);
    mg_task_close(s), mg_task_close(p), mg_task_close(s2), mg_task_close(p2);
}

/* A batch shares its positions (read_batch asserts it) while each marker's
 * value and the distractors vary between its rows. */
Test(markers, positions_are_shared_by_a_batch_and_values_vary) {
    mg_task *t = open_task("markers", 5, "");
    mg_rows r = rows_for(t, 64);
    int moved = 0;
    row_facts first = {0};
    for (int64_t s = 0; s < 20; s++) {
        draw(t, s, &r);
        row_facts f = read_batch(t, &r, false);
        if (s == 0) first = f;
        else moved += f.m != first.m || memcmp(f.pos, first.pos, sizeof f.pos) != 0;
        for (int k = 0; k < f.m; k++) {
            int same = 0;
            for (int i = 1; i < 64; i++)
                same += r.tokens[i * 16 + f.pos[k] + 1] == r.tokens[f.pos[k] + 1];
            cr_expect_lt(same, 63, "step %lld: marker %d has one value in all 64 rows",
                         (long long)s, k);
        }
        int free_pos = 0;
        while (r.masks[0][free_pos] || r.masks[1][free_pos]) free_pos++;
        int same = 0;
        for (int i = 1; i < 64; i++) same += r.tokens[i * 16 + free_pos] == r.tokens[free_pos];
        cr_expect_lt(same, 63, "step %lld: one distractor at %d in all rows", (long long)s,
                     free_pos);
    }
    cr_expect_gt(moved, 10, "only %d of 19 steps moved the markers", moved);
    mg_rows_free(&r);
    mg_task_close(t);
}

/* --- the distributions -------------------------------------------------------- */

/* chi-square quantiles at p = 0.001: df 3: 16.27, df 2: 13.82, df 1: 10.83,
 * df 14: 36.12, df 7: 24.32. A fixed seed, so each test is deterministic;
 * the bounds are what a fair generator passes with odds 999 in 1000. */
Test(markers, m_is_drawn_uniformly_from_the_set) {
    static const struct {
        const char *set;
        int n, m[4];
        double bound;
    } cases[] = {
        {"1,2,3,4", 4, {1, 2, 3, 4}, 16.27},
        {"2,3,4", 3, {2, 3, 4}, 13.82},
        {"3,4", 2, {3, 4}, 10.83},
        {"2", 1, {2}, 0},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        char opts[64];
        snprintf(opts, sizeof opts, "markers=%s", cases[c].set);
        mg_task *t = open_task("markers", 21, opts);
        mg_rows one = rows_for(t, 1);
        int64_t count[5] = {0}, in_set[4] = {0};
        for (int64_t s = 0; s < 2000; s++) count[m_of_step(t, s, &one)]++;
        int64_t seen = 0;
        for (int k = 0; k < cases[c].n; k++) in_set[k] = count[cases[c].m[k]], seen += in_set[k];
        cr_expect_eq(seen, 2000, "set %s: %lld of 2000 steps drew an m outside it", cases[c].set,
                     (long long)(2000 - seen));
        double x = chi2(in_set, cases[c].n);
        cr_expect_leq(x, cases[c].bound, "set %s: chi-square %g over %d values", cases[c].set, x,
                      cases[c].n);
        mg_rows_free(&one);
        mg_task_close(t);
    }
}

/* Every placement of m dominoes (marker, value) is equally likely: m = 1 at
 * T = 16 has 15 (marker at 0..14, so the value may sit at the last position);
 * m = 2 at T = 8 has C(6, 2) = 15. */
Test(markers, positions_are_uniform_over_the_placements) {
    mg_task *t = open_task("markers", 4, "markers=1");
    mg_rows one = rows_for(t, 1);
    int64_t count[15] = {0};
    for (int64_t s = 0; s < 3000; s++) {
        draw(t, s, &one);
        count[read_row(t, &one, 0, false).pos[0]]++;
    }
    for (int p = 0; p < 15; p++) cr_expect_gt(count[p], 0, "m = 1: never a marker at %d", p);
    cr_expect_leq(chi2(count, 15), 36.12, "m = 1: chi-square %g over 15 positions",
                  chi2(count, 15));
    mg_rows_free(&one);
    mg_task_close(t);

    t = open_task("markers", 4, "markers=2 seq-len=8");
    one = rows_for(t, 1);
    int64_t placement[15] = {0}, other = 0;
    for (int64_t s = 0; s < 3000; s++) {
        draw(t, s, &one);
        row_facts f = read_row(t, &one, 0, false);
        /* (p0, p1) with p1 >= p0 + 2, p1 <= 6: index them in order */
        int k = 0, found = -1;
        for (int a = 0; a <= 4; a++)
            for (int b = a + 2; b <= 6; b++, k++)
                if (f.pos[0] == a && f.pos[1] == b) found = k;
        if (found < 0) other++;
        else placement[found]++;
    }
    cr_expect_eq(other, 0);
    for (int k = 0; k < 15; k++)
        cr_expect_gt(placement[k], 0, "m = 2: placement %d never drawn", k);
    cr_expect_leq(chi2(placement, 15), 36.12, "m = 2: chi-square %g over 15 placements",
                  chi2(placement, 15));
    mg_rows_free(&one);
    mg_task_close(t);
}

/* Values uniform over 0..C-1 and distractors over the 256 - C - 4 others.
 * df 243: df + 5 sqrt(2 df) = 353 (p ~ 1e-6). */
Test(markers, values_and_distractors_are_uniform) {
    mg_task *t = open_task("markers", 13, "");
    mg_rows r = rows_for(t, 32);
    int64_t values[8] = {0}, tokens[VOCAB] = {0};
    for (int64_t s = 0; s < 500; s++) {
        draw(t, s, &r);
        for (int64_t i = 0; i < 32 * 16; i++) {
            if (r.masks[0][i]) values[r.tokens[i]]++;
            else if (!r.masks[1][i]) tokens[r.tokens[i]]++;
        }
    }
    cr_expect_leq(chi2(values, 8), 24.32, "values: chi-square %g over 8", chi2(values, 8));
    int64_t allowed[VOCAB];
    int n = 0;
    for (int tok = 0; tok < VOCAB; tok++) {
        bool excluded = tok < 8 || (tok >= MARKER && tok < MARKER + 4);
        if (excluded) cr_expect_eq(tokens[tok], 0, "token %d drawn as a distractor", tok);
        else allowed[n++] = tokens[tok];
    }
    cr_assert_eq(n, 244);
    for (int k = 0; k < n; k++) cr_expect_gt(allowed[k], 0, "a distractor token is never drawn");
    cr_expect_leq(chi2(allowed, n), 243 + 5 * sqrt(2 * 243.0), "distractors: chi-square %g over %d",
                  chi2(allowed, n), n);
    mg_rows_free(&r);
    mg_task_close(t);
}

/* --- the curriculum -------------------------------------------------------------- */

/* --curriculum 40: steps 0..39 use m = 1, 40..79 the two smallest of the
 * set, 80..119 three, from 120 all; each stage's newest m appears in it. */
Test(markers, curriculum_adds_the_next_m_at_each_stage_boundary) {
    static const struct {
        const char *opts;
        int set[4], n;
    } cases[] = {
        {"curriculum=40", {1, 2, 3, 4}, 4},
        {"curriculum=40 markers=2,3,4", {2, 3, 4}, 3},
    };
    for (int c = 0; c < 2; c++) {
        mg_task *t = open_task("markers", 2, cases[c].opts);
        mg_rows one = rows_for(t, 1);
        for (int stage = 0; stage < 5; stage++) {
            int active = stage + 1 < cases[c].n ? stage + 1 : cases[c].n, newest_seen = 0;
            for (int64_t s = 40 * stage; s < 40 * (stage + 1); s++) {
                int m = m_of_step(t, s, &one), k = 0;
                while (k < active && cases[c].set[k] != m) k++;
                cr_assert_lt(k, active, "%s: step %lld drew m = %d in stage %d", cases[c].opts,
                             (long long)s, m, stage);
                newest_seen += m == cases[c].set[active - 1];
            }
            cr_expect_gt(newest_seen, 0, "%s: stage %d never drew m = %d", cases[c].opts, stage,
                         cases[c].set[active - 1]);
        }
        /* the stage is a function of the step alone */
        mg_rows a = rows_for(t, 8), b = rows_for(t, 8);
        draw(t, 130, &a), draw(t, 3, &b), draw(t, 130, &b);
        cr_expect_eq(memcmp(a.tokens, b.tokens, 8 * 16 * sizeof(int32_t)), 0);
        mg_rows_free(&a), mg_rows_free(&b), mg_rows_free(&one);
        mg_task_close(t);
    }
    /* the boundaries to the step, over 64 seeds: the last step of a stage
     * never draws the next stage's m, the first step of the next does */
    for (int b = 40; b <= 120; b += 40) {
        int newest = b / 40 + 1, before = 0, after = 0;
        for (uint64_t seed = 0; seed < 64; seed++) {
            mg_task *t = open_task("markers", seed, "curriculum=40 probe-batch=1");
            mg_rows one = rows_for(t, 1);
            before += m_of_step(t, b - 1, &one) >= newest;
            after += m_of_step(t, b, &one) == newest;
            mg_rows_free(&one);
            mg_task_close(t);
        }
        cr_expect_eq(before, 0, "step %d drew m >= %d for %d seeds", b - 1, newest, before);
        cr_expect_gt(after, 0, "step %d never drew m = %d", b, newest);
    }
    /* without a curriculum, step 0 already mixes: the first 40 steps draw
     * every m of the set */
    mg_task *t = open_task("markers", 2, "");
    mg_rows one = rows_for(t, 1);
    int seen[5] = {0};
    for (int64_t s = 0; s < 40; s++) seen[m_of_step(t, s, &one)] = 1;
    cr_expect(seen[1] && seen[2] && seen[3] && seen[4]);
    mg_rows_free(&one);
    mg_task_close(t);
}

/* --- the probes, masks and hash --------------------------------------------------- */

Test(markers, probe_groups_hold_each_m_at_fixed_positions) {
    mg_task *t = open_task("markers", 6, "probe-batch=100 markers=1,2");
    cr_assert(mg_task_generated(t));
    cr_expect_eq(t->T, 16);
    cr_expect_eq(t->V, 256);
    cr_expect_eq(t->K, 8);
    cr_expect_eq(t->n_values, 0);
    cr_expect_eq(t->uniform_len, 0);
    cr_expect_eq(t->train.n, 0);
    cr_expect_eq(t->def->default_batch, 128);
    cr_assert_eq(t->n_masks, 2);
    cr_expect_str_eq(t->mask_names[0], "value");
    cr_expect_str_eq(t->mask_names[1], "marker");
    cr_assert_eq(t->test.n, 400);
    cr_assert_eq(t->n_groups, 4, "groups for m = 1..4, whatever --markers says");
    const char *names[] = {"m=1", "m=2", "m=3", "m=4"};
    for (int g = 0; g < 4; g++) {
        cr_expect_str_eq(t->group_names[g], names[g]);
        cr_expect_eq(t->group_start[g], 100 * g);
        mg_rows view = {
            .n = 100,
            .tokens = t->test.tokens + 100 * g * 16,
            .labels = t->test.labels + 100 * g,
            .masks = {t->test.masks[0] + 100 * g * 16, t->test.masks[1] + 100 * g * 16}};
        row_facts f = read_batch(t, &view, false);
        cr_expect_eq(f.m, g + 1, "group %s holds %d markers", names[g], f.m);
        int values = 0;
        for (int j = 0; j < 16; j++) values += view.masks[0][j];
        cr_expect_eq(values, g + 1);
    }
    cr_expect_eq(t->group_start[4], 400);
    /* the probes depend on the seed, T, C and --probe-batch, not on the
     * training settings; the hash covers those too */
    mg_task *same = open_task("markers", 6, "probe-batch=100 markers=1,2"),
            *other_set = open_task("markers", 6, "probe-batch=100"),
            *curr = open_task("markers", 6, "probe-batch=100 markers=1,2 curriculum=10"),
            *seed = open_task("markers", 7, "probe-batch=100 markers=1,2"),
            *mul = open_task("marker-mul", 6, "probe-batch=100 markers=1,2");
    const size_t bytes = 400 * 16 * sizeof(int32_t);
    cr_expect_eq(same->hash, t->hash);
    cr_expect_eq(memcmp(same->test.tokens, t->test.tokens, bytes), 0);
    cr_expect_eq(memcmp(other_set->test.tokens, t->test.tokens, bytes), 0);
    cr_expect_eq(memcmp(mul->test.tokens, t->test.tokens, bytes), 0);
    cr_expect_neq(memcmp(seed->test.tokens, t->test.tokens, bytes), 0);
    const mg_task *differ[] = {other_set, curr, seed, mul};
    for (int k = 0; k < 4; k++) cr_expect_neq(differ[k]->hash, t->hash, "case %d hashes alike", k);
    /* the probe rows are no training step's batch */
    mg_rows r = rows_for(t, 100);
    for (int64_t s = 0; s < 200; s++) {
        draw(t, s, &r);
        for (int g = 0; g < 2; g++)
            cr_assert_neq(memcmp(r.tokens, t->test.tokens + 100 * g * 16, 100 * 16 * 4), 0,
                          "step %lld is probe group %d", (long long)s, g);
    }
    mg_rows_free(&r);
    mg_task_close(t), mg_task_close(same), mg_task_close(other_set), mg_task_close(curr);
    mg_task_close(seed), mg_task_close(mul);
}

/* --- the options ---------------------------------------------------------------- */

Test(markers, out_of_range_options_are_refused_naming_the_flag) {
    static const struct {
        const char *opt;
        double v;
        const char *want1, *want2;
    } cases[] = {
        {"classes", 101, "--classes", "2 to 100"},
        {"classes", 1, "--classes", "marker tokens 100..103"},
        {"seq-len", 7, "--seq-len", "from 8 to 1024"},
        {"seq-len", 1025, "--seq-len", "4 markers"},
        {"probe-batch", 8193, "--probe-batch", "1 to 8192"},
        {"curriculum", -1, "--curriculum", "0 (none)"},
        {"curriculum", 2.5, "--curriculum", "whole number"},
        {"markers", 9, "--markers", "1,2,3,4|1|2"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        mg_task_cfg cfg = cfg_of("markers", 1, "");
        cfg.opt[mg_task_option_index(cfg.def, cases[c].opt)] = cases[c].v;
        mg_clear_error();
        cr_expect_eq(mg_task_validate(&cfg), MG_ERR_ARG, "--%s %g passed", cases[c].opt,
                     cases[c].v);
        cr_expect(strstr(mg_errmsg(), cases[c].want1) && strstr(mg_errmsg(), cases[c].want2) &&
                      strstr(mg_errmsg(), "--task markers"),
                  "--%s %g: '%s' lacks '%s' or '%s'", cases[c].opt, cases[c].v, mg_errmsg(),
                  cases[c].want1, cases[c].want2);
        mg_task *t = (mg_task *)&cfg;
        cr_expect_eq(mg_task_open(&cfg, &t), MG_ERR_ARG);
        cr_expect_null(t);
    }
    /* a set not among the choices: the parser lists them */
    mg_task_cfg cfg = cfg_of("marker-mul", 1, "");
    double v = -1;
    cr_expect_eq(mg_task_option_parse(cfg.def, mg_task_option_index(cfg.def, "markers"), "1,4", &v),
                 MG_ERR_ARG);
    cr_expect(strstr(mg_errmsg(), "--markers") && strstr(mg_errmsg(), "2,3,4|3,4"), "%s",
              mg_errmsg());
    cr_expect_eq(v, -1);
    /* the limits themselves are accepted: at seq-len 8 the m = 4 probes fill
     * every position with markers and values */
    mg_task *t = open_task("marker-mul", 1, "classes=100 seq-len=8 probe-batch=8192");
    cr_expect_eq(t->test.n, 4 * 8192);
    for (int j = 0; j < 8; j++)
        cr_expect(t->test.masks[0][3 * 8192 * 8 + j] || t->test.masks[1][3 * 8192 * 8 + j]);
    mg_task_close(t);
    t = open_task("markers", 1, "seq-len=1024 classes=2 curriculum=1000000");
    mg_rows r = rows_for(t, 4);
    draw(t, 0, &r);
    read_batch(t, &r, false);
    mg_rows_free(&r);
    mg_task_close(t);
}

/* --- through the CLI -------------------------------------------------------------- */

#define CLI_RUN                                                                                    \
    "train --task markers --model transformer --d-model 32 --heads 2 --d-mlp 64 --threads 1 "      \
    "--batch 32 --eval-every 5 --checkpoint-every 10 --probe-batch 64 --curriculum 8"

static void fingerprint(const char *dir, char out[32]) {
    char path[512];
    snprintf(path, sizeof path, "%s/summary.json", dir);
    cJSON *j = json_file(path);
    snprintf(out, 32, "%s", jget(j, "fingerprint")->valuestring);
    cJSON_Delete(j);
}

/* A 20-step run writes its files and records the task's options; stopped at
 * step 10 and resumed, it ends where the straight run ends (config.json's
 * task options read back, curriculum included). */
Test(markers, trains_and_resumes_through_the_cli, .init = mg_cli_setup, .fini = mg_cli_teardown) {
    const char *a = P("straight"), *b = P("resumed");
    mg_ok(CLI_RUN " --steps 20 --out %s", a);
    char *metrics = slurp(P("straight/metrics.csv"), NULL);
    cr_assert_not_null(metrics);
    cr_expect_eq(count_lines(metrics), 6, "metrics.csv:\n%s", metrics); /* header, 0, 5, ..., 20 */
    free(metrics);
    cJSON *c = json_file(P("straight/config.json"));
    cr_expect_str_eq(jget(c, "task")->valuestring, "markers");
    const cJSON *o = jget(c, "task_options");
    cr_expect_str_eq(jget(o, "markers")->valuestring, "1,2,3,4");
    cr_expect_eq(jnum(o, "seq-len"), 16);
    cr_expect_eq(jnum(o, "curriculum"), 8);
    cr_expect_eq(jnum(o, "probe-batch"), 64);
    cJSON_Delete(c);
    mg_ok(CLI_RUN " --steps 10 --out %s", b);
    mg_ok("train --resume %s --steps 20", b);
    char fa[32], fb[32];
    fingerprint(a, fa);
    fingerprint(b, fb);
    cr_expect_str_eq(fb, fa, "resumed %s, straight %s", fb, fa);
    /* a seq-len too short for the probes: one message, exit 2, nothing written */
    proc r;
    const char *bad = P("bad");
    mg(&r, CLI_RUN " --steps 5 --seq-len 6 --out %s", bad);
    cr_expect_eq(r.code, 2, "exit %d: %s", r.code, r.err);
    cr_expect(strstr(r.err, "--seq-len") && strstr(r.err, "4 markers"), "%s", r.err);
    cr_expect_not(exists(bad));
    proc_free(&r);
}
