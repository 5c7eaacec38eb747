/* markers.c — the marker tasks of the execution-manifold study (SCIENCE.md,
 * "Trajectories", in the setting of the paper's released code): `markers`
 * (label = the sum of the values mod C) and `marker-mul` (their product mod
 * C). Generated tasks: fresh batches every step, fixed probe batches per m.
 *
 * A row is T tokens (--seq-len, default 16) over a vocabulary of V = 256
 * (fixed) with a label in 0..C-1 (--classes, default 8). It holds m markers:
 * marker i (i = 0..m-1) is token 100 + i, and the token right after it is
 * its value, in 0..C-1. Every other position is a distractor, i.i.d. uniform
 * over the V - C - 4 tokens that are neither a value (0..C-1) nor a marker
 * token (100..103: all four are excluded whatever --markers says, so the
 * distractors do not depend on it).
 *
 * The choices made here (the summaries repeat them):
 *   - Positions: the m (marker, value) pairs are disjoint dominoes (p, p+1)
 *     with p in 0..T-2. So no two markers are adjacent (|p_i - p_j| >= 2),
 *     every value lies inside the sequence, the last position (the one the
 *     model reads) never holds a marker and may hold a value. The placement
 *     is uniform over all C(T - m, m) of them: m distinct q in 0..T-m-1
 *     (Floyd's sampling), sorted, p_i = q_i + i. Marker i takes the i-th
 *     smallest position (the markers read 100, 101, ... left to right).
 *   - A step's batch: m (uniform over the stage's set, below), then the
 *     positions, shared by every row of the batch; then per row its m values
 *     (uniform over 0..C-1, in marker order) and its distractors (in position
 *     order). All from one mg_rng seeded with seed ^ mg_task_step_salt(step):
 *     a pure function of (seed, step, rows) and the settings.
 *   - --markers: the set of m mixed in training (a choice, default
 *     "1,2,3,4"). --curriculum N (default 0: none): the trainer's 0-based
 *     steps [kN, (k+1)N) use the k + 1 smallest m of the set, the whole set
 *     from then on. It is a real option holding a whole number 0..1e9,
 *     since int options start at 1 and 0 must survive config.json.
 *   - Probes (the held-out rows): one batch of --probe-batch rows (default
 *     512) for each m = 1..4 whatever --markers says, so an m held out of
 *     training is measured too; groups "m=1".."m=4", in that order. Group
 *     m is drawn as a step's batch is, with m fixed, from the stream
 *     seed ^ mg_task_step_salt(-m): training steps are >= 0 and the salt is
 *     a bijection, so no training step draws from it. Its positions are
 *     fixed for the group.
 *   - Masks: "value" (1 at the value positions, where the sparse
 *     autoencoder reads the residual stream) and "marker". No operands
 *     (n_values 0), no uniform positions.
 *   - Limits: --classes 2..100 (the values stay below the marker tokens),
 *     --seq-len 8..1024 (the m = 4 probes need 4 markers and their values),
 *     --probe-batch 1..8192.
 *   - Hash: XXH3-64 of the task, T, V, K, every option, the seed and the
 *     probe rows (tokens and labels, as little-endian int32), so a resume
 *     with any setting changed is refused.
 *   - --batch 0 means 128 rows per step (the paper's batch).
 *   - The two tasks draw the same rows for the same seed and settings; only
 *     the label differs. marker-mul with m = 1: the label is the value
 *     itself, as for markers. */
#define XXH_STATIC_LINKING_ONLY
#include <math.h>
#include <string.h>
#include <xxhash.h>

#include "core/rng.h"
#include "models/task.h"

#define MK_V 256     /* the vocabulary */
#define MK_TOKEN 100 /* marker i is token MK_TOKEN + i */
#define MK_MAX_M 4   /* markers per sequence at most */
#define MK_T_MIN (2 * MK_MAX_M)
#define MK_T_MAX 1024
#define MK_C_MAX MK_TOKEN
#define MK_PROBE_MAX 8192
#define MK_CURRICULUM_MAX 1e9

/* The sets --markers chooses among, each its m in ascending order. */
#define MK_SETS(X) X("1,2,3,4") X("1") X("2") X("3") X("4") X("1,2") X("1,2,3") X("2,3,4") X("3,4")
#define MK_SET_NAME_(s) s,
#define MK_SET_CHOICE_(s) "|" s
static const char *const set_names[] = {MK_SETS(MK_SET_NAME_)};
#define MK_N_SETS ((int)(sizeof set_names / sizeof set_names[0]))

enum { SEQ_LEN, CLASSES, MARKERS, CURRICULUM, PROBE_BATCH, N_OPTIONS };
static const mg_model_option options[] = {
    [SEQ_LEN] = {"seq-len", MG_OPTION_INT, 16, NULL, "positions per sequence T (8 to 1024)"},
    [CLASSES] = {"classes", MG_OPTION_INT, 8, NULL,
                 "values 0..C-1 and classes C (2 to 100: below the marker tokens 100..103)"},
    [MARKERS] = {"markers", MG_OPTION_CHOICE, 0, (MK_SETS(MK_SET_CHOICE_)) + 1,
                 "the numbers of markers m mixed in training (m uniform per batch)"},
    [CURRICULUM] = {"curriculum", MG_OPTION_REAL, 0, NULL,
                    "steps per stage, 0: none; N: the set's smallest m until step N, the two "
                    "smallest until 2N, ..."},
    [PROBE_BATCH] = {"probe-batch", MG_OPTION_INT, 512, NULL,
                     "held-out rows per m = 1..4 (groups m=1..m=4; 1 to 8192)"},
};
_Static_assert(sizeof options / sizeof options[0] == N_OPTIONS, "one row per option");

static const char *const group_names[MK_MAX_M] = {"m=1", "m=2", "m=3", "m=4"};

/* The settings of cfg, read once per call (cfg holds them as doubles). */
typedef struct {
    int T, C;
    bool mul;  /* marker-mul: the product, not the sum */
    int n_set; /* the m of --markers, ascending */
    int set[MK_MAX_M];
    int64_t stage;  /* --curriculum: steps per stage, 0: none */
    int64_t probes; /* --probe-batch */
} mk_setting;

static mk_setting setting_of(const mg_task_cfg *c) {
    mk_setting s = {.T = (int)c->opt[SEQ_LEN],
                    .C = (int)c->opt[CLASSES],
                    .mul = c->def->variant == 1,
                    .stage = (int64_t)c->opt[CURRICULUM],
                    .probes = (int64_t)c->opt[PROBE_BATCH]};
    /* "1,2,3" -> {1, 2, 3}: the choice's own name is the one statement of
     * its set. */
    for (const char *p = set_names[(int)c->opt[MARKERS]]; *p; p++)
        if (*p >= '1' && *p <= '0' + MK_MAX_M) s.set[s.n_set++] = *p - '0';
    return s;
}

static bool whole_in(double v, double lo, double hi) { return v == floor(v) && v >= lo && v <= hi; }

static mg_status validate(const mg_task_cfg *c) {
    const double *o = c->opt;
    const char *name = c->def->name;
    if (!whole_in(o[SEQ_LEN], MK_T_MIN, MK_T_MAX))
        return mg_fail(MG_ERR_ARG,
                       "--seq-len must be a whole number from %d to %d for --task %s, got %g "
                       "(the m=4 probes need room for 4 markers and their values)",
                       MK_T_MIN, MK_T_MAX, name, o[SEQ_LEN]);
    if (!whole_in(o[CLASSES], 2, MK_C_MAX))
        return mg_fail(MG_ERR_ARG,
                       "--classes must be a whole number from 2 to %d for --task %s, got %g (the "
                       "values 0..C-1 must stay below the marker tokens %d..%d)",
                       MK_C_MAX, name, o[CLASSES], MK_TOKEN, MK_TOKEN + MK_MAX_M - 1);
    if (!whole_in(o[MARKERS], 0, MK_N_SETS - 1))
        return mg_fail(MG_ERR_ARG, "--markers has an unknown value (%g) for --task %s; allowed: %s",
                       o[MARKERS], name, options[MARKERS].choices);
    if (!whole_in(o[CURRICULUM], 0, MK_CURRICULUM_MAX))
        return mg_fail(MG_ERR_ARG,
                       "--curriculum must be a whole number of steps from 0 (none) to %.0f for "
                       "--task %s, got %g",
                       MK_CURRICULUM_MAX, name, o[CURRICULUM]);
    if (!whole_in(o[PROBE_BATCH], 1, MK_PROBE_MAX))
        return mg_fail(MG_ERR_ARG,
                       "--probe-batch must be a whole number from 1 to %d for --task %s, got %g",
                       MK_PROBE_MAX, name, o[PROBE_BATCH]);
    return MG_OK;
}

/* How many of the set's smallest m step `step` mixes. */
static int stage_size(const mk_setting *s, int64_t step) {
    if (s->stage == 0) return s->n_set;
    int64_t k = step / s->stage + 1;
    return k < s->n_set ? (int)k : s->n_set;
}

/* m marker positions, ascending, uniform over the placements of m disjoint
 * dominoes (p, p+1) in 0..T-1: Floyd's sampling of m distinct q in 0..n-1
 * (n = T - m), sorted, then p_i = q_i + i. */
static void draw_positions(mg_rng *r, int T, int m, int p[MK_MAX_M]) {
    const int n = T - m;
    int k = 0;
    for (int j = n - m; j < n; j++) {
        int q = (int)mg_rng_below(r, (uint64_t)j + 1), taken = 0;
        for (int i = 0; i < k; i++) taken |= p[i] == q;
        p[k++] = taken ? j : q;
    }
    for (int i = 1; i < m; i++) /* insertion sort of at most 4 */
        for (int j = i; j > 0 && p[j - 1] > p[j]; j--) {
            int x = p[j];
            p[j] = p[j - 1], p[j - 1] = x;
        }
    for (int i = 0; i < m; i++) p[i] += i;
}

/* The k-th distractor token (k in 0..V-C-5): the tokens from C up, skipping
 * the marker tokens. */
static int32_t distractor(int64_t k, int C) {
    int64_t t = C + k;
    return (int32_t)(t >= MK_TOKEN ? t + MK_MAX_M : t);
}

/* Rows [from, from + n) of `rows`, each with m markers at positions p. */
static void draw_rows(mg_rng *r, const mk_setting *s, int m, const int p[MK_MAX_M], mg_rows *rows,
                      int64_t from, int64_t n) {
    const int T = s->T, C = s->C;
    const uint64_t n_distractors = (uint64_t)(MK_V - C - MK_MAX_M);
    for (int64_t row = from; row < from + n; row++) {
        int32_t *tok = rows->tokens + row * T;
        uint8_t *value = rows->masks[0] + row * T, *marker = rows->masks[1] + row * T;
        memset(value, 0, (size_t)T);
        memset(marker, 0, (size_t)T);
        int64_t y = s->mul ? 1 : 0;
        for (int i = 0; i < m; i++) {
            int32_t v = (int32_t)mg_rng_below(r, (uint64_t)C);
            tok[p[i]] = MK_TOKEN + i, marker[p[i]] = 1;
            tok[p[i] + 1] = v, value[p[i] + 1] = 1;
            y = (s->mul ? y * v : y + v) % C;
        }
        for (int j = 0; j < T; j++)
            if (!value[j] && !marker[j])
                tok[j] = distractor((int64_t)mg_rng_below(r, n_distractors), C);
        rows->labels[row] = (int32_t)y;
    }
}

static void batch(const mg_task *t, int64_t step, mg_rows *rows) {
    const mk_setting s = setting_of(&t->cfg);
    mg_rng r;
    mg_rng_seed(&r, t->cfg.seed ^ mg_task_step_salt(step));
    const int m = s.set[mg_rng_below(&r, (uint64_t)stage_size(&s, step))];
    int p[MK_MAX_M];
    draw_positions(&r, s.T, m, p);
    draw_rows(&r, &s, m, p, rows, 0, rows->n);
}

/* Feeds n int32 values to the hash as little-endian bytes, whatever the
 * host's byte order. */
static void hash_i32(XXH3_state_t *st, const int32_t *v, int64_t n) {
    unsigned char buf[4096];
    while (n > 0) {
        int64_t k = n < 1024 ? n : 1024;
        for (int64_t i = 0; i < k; i++)
            for (int b = 0; b < 4; b++) buf[4 * i + b] = (unsigned char)((uint32_t)v[i] >> (8 * b));
        XXH3_64bits_update(st, buf, (size_t)k * 4);
        v += k, n -= k;
    }
}

static uint64_t task_hash(const mg_task *t) {
    XXH3_state_t st;
#ifdef XXH3_INITSTATE
    XXH3_INITSTATE(&st);
#endif
    XXH3_64bits_reset(&st);
    const double *o = t->cfg.opt;
    const int32_t head[] = {t->def->variant,
                            t->T,
                            t->V,
                            t->K,
                            (int32_t)o[MARKERS],
                            (int32_t)o[CURRICULUM],
                            (int32_t)o[PROBE_BATCH],
                            (int32_t)(uint32_t)t->cfg.seed,
                            (int32_t)(uint32_t)(t->cfg.seed >> 32)};
    hash_i32(&st, head, sizeof head / sizeof head[0]);
    hash_i32(&st, t->test.tokens, t->test.n * t->T);
    hash_i32(&st, t->test.labels, t->test.n);
    return (uint64_t)XXH3_64bits_digest(&st);
}

static mg_status open_task(mg_task *t) {
    const mk_setting s = setting_of(&t->cfg);
    t->T = s.T, t->V = MK_V, t->K = s.C;
    t->n_masks = 2;
    t->mask_names[0] = "value", t->mask_names[1] = "marker";
    mg_status st = mg_rows_alloc(&t->test, MK_MAX_M * s.probes, s.T, 2);
    if (st) return st;
    t->n_groups = MK_MAX_M;
    for (int m = 1; m <= MK_MAX_M; m++) {
        mg_rng r;
        mg_rng_seed(&r, t->cfg.seed ^ mg_task_step_salt(-m)); /* a stream no step uses */
        int p[MK_MAX_M];
        draw_positions(&r, s.T, m, p);
        draw_rows(&r, &s, m, p, &t->test, (m - 1) * s.probes, s.probes);
        t->group_names[m - 1] = group_names[m - 1];
        t->group_start[m - 1] = (m - 1) * s.probes;
    }
    t->group_start[MK_MAX_M] = t->test.n;
    t->hash = task_hash(t);
    return MG_OK;
}

static const mg_task_def mg_task_markers = {
    .name = "markers",
    .summary = "marker i (token 100+i, m of them, m drawn per batch from --markers) followed by "
               "its value 0..C-1, label = sum of the values mod --classes; --seq-len tokens over "
               "256, distractors elsewhere, no marker at the last position; fresh batches, "
               "probe groups m=1..m=4",
    .options = options,
    .n_options = N_OPTIONS,
    .variant = 0,
    .default_batch = 128,
    .validate = validate,
    .open = open_task,
    .batch = batch,
};
MG_REGISTER_TASK(mg_task_markers)

static const mg_task_def mg_task_marker_mul = {
    .name = "marker-mul",
    .summary = "as markers, label = product of the values mod --classes (m = 1: the value "
               "itself, as for markers)",
    .options = options,
    .n_options = N_OPTIONS,
    .variant = 1,
    .default_batch = 128,
    .validate = validate,
    .open = open_task,
    .batch = batch,
};
MG_REGISTER_TASK(mg_task_marker_mul)
