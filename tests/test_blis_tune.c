/* test_blis_tune.c — BLIS's kernels chosen by measurement (core/blis_tune.h):
 * the candidates, the cache (written atomically, read back, a corrupt,
 * truncated or foreign file ignored and remeasured), the order of the
 * choice (the user's BLIS_ARCH_TYPE, the off switch's fixed rule, the
 * cache, a measurement), near ties, and pinning a run's recorded kernels.
 * The tests measure with a fake function and time nothing, but for one that
 * runs the real measurement of one candidate. The CLI's side is
 * test_cli_blis.c. */
#include <dirent.h>
#include <math.h>

#include "core/blis_tune.h"
#include "tests/util/blis_tune.h"
#include "tests/util/cli.h"

TestSuite(blis_tune, .init = mg_cli_setup, .fini = mg_cli_teardown, .timeout = 120);

/* ---- helpers ----------------------------------------------------------------- */

typedef struct {
    int calls;
    const char *fail; /* a candidate whose measurement fails, "*" for all */
} fake;

/* The rate of candidate i at shape s: the last candidate is the fastest
 * (so the choice is not just the first one measured). */
static double fake_rate(int i, int s) { return 10.0 * (i + 1) + s; }

static mg_status fake_measure(void *ctx, const char *arch, int reps, double *g) {
    fake *f = ctx;
    f->calls++;
    cr_assert_gt(reps, 0);
    if (f->fail && (!strcmp(f->fail, "*") || !strcmp(f->fail, arch)))
        return mg_fail(MG_ERR_RUN, "%s: fake failure", arch);
    int i = cand_index(arch);
    cr_assert_geq(i, 0, "measured %s, not a candidate", arch);
    for (int s = 0; s < MG_BLIS_N_SHAPES; s++) g[s] = fake_rate(i, s);
    return MG_OK;
}

static mg_blis_decision decide(fake *f, bool retune) {
    mg_blis_tune_opts o = {.retune = retune, .measure = fake_measure, .ctx = f};
    mg_blis_decision d;
    cr_assert_eq(mg_blis_decide(&o, &d), MG_OK, "%s", mg_errmsg());
    return d;
}

/* The number of entries in dir (other than . and ..). */
static int entries(const char *dir) {
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "%s", dir);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

/* ---- the candidates --------------------------------------------------------------- */

static bool has_config(const char *arch) {
    const char *names[32];
    int n = mg_blis_configs(names, 32);
    for (int i = 0; i < n && i < 32; i++)
        if (!strcmp(names[i], arch)) return true;
    return false;
}

static bool in(const char **list, int n, const char *arch) {
    for (int i = 0; i < n; i++)
        if (!strcmp(list[i], arch)) return true;
    return false;
}

Test(blis_tune, candidates_follow_the_cpu_flags) {
    const char *c[MG_BLIS_MAX_CANDIDATES];
    mg_cpu_features avx512 = {.amd = true,
                              .avx = true,
                              .avx2 = true,
                              .fma = true,
                              .avx512f = true,
                              .avx512dq = true,
                              .avx512bw = true,
                              .avx512vl = true};
    int n = mg_blis_candidates(&avx512, c);
    const char *want[] = {"skx", "zen3", "zen2", "zen", "haswell"};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        cr_assert_eq(in(c, n, want[i]), has_config(want[i]), "%s", want[i]);
    cr_assert_not(in(c, n, "knl"), "knl needs AVX-512 PF/ER");
    cr_assert_not(in(c, n, "generic"), "generic is never worth a measurement");
    mg_cpu_features avx2 = {.intel = true, .avx = true, .avx2 = true, .fma = true};
    n = mg_blis_candidates(&avx2, c);
    cr_assert_not(in(c, n, "skx"), "skx needs AVX-512");
    cr_assert_eq(in(c, n, "haswell"), has_config("haswell"));
    mg_cpu_features old = {.intel = true, .ssse3 = true};
    cr_assert_eq(mg_blis_candidates(&old, c), 0);
    cr_assert_eq(mg_blis_runs_on("penryn", &old), has_config("penryn"));
    cr_assert_not(mg_blis_runs_on("bulldozer", &avx512), "bulldozer needs FMA4");
    cr_assert_not(mg_blis_runs_on("armsve", &avx512), "not in an x86 BLIS");
}

/* ---- the cache ------------------------------------------------------------------- */

Test(blis_tune, measures_chooses_the_fastest_and_caches_atomically) {
    tune_on();
    fake f = {0};
    mg_blis_decision d = decide(&f, false);
    cr_assert_eq(d.source, MG_BLIS_MEASURED);
    cr_assert_str_eq(d.arch, cands[n_cands - 1], "the fastest of the fake rates");
    cr_assert_eq(f.calls, 2 * n_cands, "two rounds over every candidate");
    cr_assert(d.cache_written, "%s", d.cache_note);
    char want[4096];
    snprintf(want, sizeof want, "%s/xdg-cache/modgrad/", tmp);
    cr_assert(strncmp(d.cache_path, want, strlen(want)) == 0, "%s", d.cache_path);
    cr_assert_eq(entries(P("xdg-cache/modgrad")), 1, "the cache file and no temporary");
    mg_blis_table t;
    mg_blis_key key = mg_blis_key_here();
    cr_assert_eq(mg_blis_cache_read(d.cache_path, &key, cands, n_cands, &t), MG_OK, "%s",
                 mg_errmsg());
    cr_assert_eq(t.n, n_cands);
    cr_assert_str_eq(t.rows[t.chosen].arch, d.arch);
    for (int i = 0; i < n_cands; i++)
        for (int s = 0; s < MG_BLIS_N_SHAPES; s++)
            cr_assert_float_eq(t.rows[i].gflops[s], fake_rate(i, s), 1e-9);
}

Test(blis_tune, a_second_decision_reads_the_cache_without_measuring) {
    tune_on();
    fake f = {0};
    mg_blis_decision first = decide(&f, false);
    int calls = f.calls;
    char *before = slurp(first.cache_path, NULL);
    mg_blis_decision again = decide(&f, false);
    cr_assert_eq(f.calls, calls, "measured again despite the cache");
    cr_assert_eq(again.source, MG_BLIS_CACHE);
    cr_assert(again.cache_read && !again.cache_written);
    cr_assert_str_eq(again.arch, first.arch);
    char *after = slurp(first.cache_path, NULL);
    cr_assert_str_eq(before, after);
    free(before), free(after);
}

Test(blis_tune, retune_measures_despite_a_valid_cache) {
    tune_on();
    fake f = {0};
    decide(&f, false);
    int calls = f.calls;
    mg_blis_decision d = decide(&f, true);
    cr_assert_eq(f.calls, 2 * calls);
    cr_assert_eq(d.source, MG_BLIS_MEASURED);
    cr_assert(d.cache_written);
}

/* Writes text to the cache file, decides again and checks the file was
 * ignored, remeasured and rewritten with this machine's table. */
static void check_remeasured(const char *path, const char *text, size_t n, const char *why) {
    spit(path, text, n);
    fake f = {0};
    mg_blis_decision d = decide(&f, false);
    cr_assert_eq(d.source, MG_BLIS_MEASURED, "%s: taken from the cache", why);
    cr_assert_eq(f.calls, 2 * n_cands, "%s", why);
    cr_assert(strstr(d.cache_note, "ignored"), "%s: %s", why, d.cache_note);
    cr_assert(d.cache_written, "%s", why);
    mg_blis_table t;
    mg_blis_key key = mg_blis_key_here();
    cr_assert_eq(mg_blis_cache_read(path, &key, cands, n_cands, &t), MG_OK, "%s: %s", why,
                 mg_errmsg());
}

/* A valid cache file's JSON, edited by edit. */
static char *edited(const char *path, void (*edit)(cJSON *)) {
    cJSON *j = json_file(path);
    edit(j);
    char *s = cJSON_Print(j);
    cJSON_Delete(j);
    return s;
}

static void other_model(cJSON *j) {
    cJSON *cpu = cJSON_GetObjectItemCaseSensitive(j, "cpu");
    cJSON_SetNumberValue(cJSON_GetObjectItemCaseSensitive(cpu, "model"), jnum(cpu, "model") + 1);
}
static void other_vendor(cJSON *j) {
    cJSON *cpu = cJSON_GetObjectItemCaseSensitive(j, "cpu");
    cJSON_ReplaceItemInObjectCaseSensitive(cpu, "vendor", cJSON_CreateString("GenuineIotel"));
}
static void other_blis(cJSON *j) {
    cJSON_ReplaceItemInObjectCaseSensitive(j, "blis_version", cJSON_CreateString("0.0.1"));
}
static void fewer_candidates(cJSON *j) {
    cJSON_DeleteItemFromArray(cJSON_GetObjectItemCaseSensitive(j, "candidates"), 0);
}
static void negative_rate(cJSON *j) {
    cJSON *row = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "candidates"), 0);
    cJSON_SetNumberValue(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(row, "gflops"), 0),
                         -1);
}
static void unknown_choice(cJSON *j) {
    cJSON_ReplaceItemInObjectCaseSensitive(j, "chosen", cJSON_CreateString("armsve"));
}

Test(blis_tune, a_corrupt_truncated_or_foreign_cache_is_ignored_and_remeasured) {
    tune_on();
    fake f = {0};
    mg_blis_decision d = decide(&f, false);
    const char *path = d.cache_path;
    size_t n = 0;
    char *good = slurp(path, &n);
    check_remeasured(path, "\x01\x02 not json {", 14, "garbage");
    check_remeasured(path, good, n / 2, "cut in half");
    check_remeasured(path, good, n - 2, "the closing brace lost");
    check_remeasured(path, "", 0, "empty");
    void (*edits[])(cJSON *) = {other_model,      other_vendor,  other_blis,
                                fewer_candidates, negative_rate, unknown_choice};
    const char *names[] = {"another CPU model",      "another vendor",  "another BLIS",
                           "another candidate list", "a negative rate", "an unknown choice"};
    for (size_t i = 0; i < sizeof edits / sizeof *edits; i++) {
        spit(path, good, n);
        char *s = edited(path, edits[i]);
        check_remeasured(path, s, strlen(s), names[i]);
        cJSON_free(s);
    }
    free(good);
}

Test(blis_tune, an_unwritable_cache_still_chooses_by_measurement) {
    tune_on();
    spit(P("xdg-cache"), "a file, not a directory", 23);
    fake f = {0};
    mg_blis_decision d = decide(&f, false);
    cr_assert_eq(d.source, MG_BLIS_MEASURED);
    cr_assert_not(d.cache_written);
    cr_assert(strstr(d.cache_note, "not cached"), "%s", d.cache_note);
}

/* ---- the order of the choice ------------------------------------------------------ */

Test(blis_tune, the_users_blis_arch_type_wins) {
    tune_on();
    int id = mg_blis_arch_id("haswell");
    cr_assert_geq(id, 0);
    char num[16];
    snprintf(num, sizeof num, "%d", id);
    setenv("BLIS_ARCH_TYPE", num, 1);
    fake f = {0};
    mg_blis_decision d;
    mg_blis_tune_opts o = {.measure = fake_measure, .ctx = &f};
    cr_assert_eq(mg_blis_tune(&o, &d), MG_OK);
    cr_assert_eq(d.source, MG_BLIS_USER);
    cr_assert_eq(f.calls, 0, "measured although the user chose");
    mg_gemm_init(1);
    cr_assert_str_eq(mg_blis_arch(), "haswell");
    cr_assert_eq(mg_blis_source_of(), MG_BLIS_USER);
    cr_assert(strstr(mg_blis_reason(), "set by the user"), "%s", mg_blis_reason());
}

Test(blis_tune, modgrads_own_blis_arch_type_is_not_the_users) {
    tune_on();
    /* what a sweep's pool leaves in the environment of the runs it spawns */
    setenv("BLIS_ARCH_TYPE", "6", 1);
    setenv("MODGRAD_BLIS_ARCH", "6", 1);
    cr_assert_not(mg_blis_user_set());
    fake f = {0};
    mg_blis_decision d = decide(&f, false);
    cr_assert_eq(d.source, MG_BLIS_MEASURED);
    setenv("MODGRAD_BLIS_ARCH", "0", 1);
    cr_assert(mg_blis_user_set(), "a value other than modgrad's own is the user's");
}

Test(blis_tune, the_off_switch_gives_the_fixed_rule) {
    tune_on();
    setenv("MODGRAD_BLIS_TUNE", "off", 1);
    fake f = {0};
    mg_blis_decision d;
    mg_blis_tune_opts o = {.measure = fake_measure, .ctx = &f};
    cr_assert_eq(mg_blis_tune(&o, &d), MG_OK);
    cr_assert_eq(d.source, MG_BLIS_FIXED);
    cr_assert_eq(f.calls, 0);
    cr_assert_not(exists(P("xdg-cache/modgrad")), "the off switch wrote a cache");
    mg_cpu_features cpu = mg_cpu_detect();
    const char *want = mg_blis_choose(&cpu);
    cr_assert_str_eq(d.arch, want ? want : "");
    mg_gemm_init(1);
    if (want) cr_assert_str_eq(mg_blis_arch(), want);
    cr_assert_eq(mg_blis_source_of(), MG_BLIS_FIXED);
}

Test(blis_tune, a_switch_value_it_does_not_know_is_refused) {
    setenv("MODGRAD_BLIS_TUNE", "maybe", 1);
    mg_blis_decision d;
    cr_assert_eq(mg_blis_decide(NULL, &d), MG_ERR_ARG);
    cr_assert(strstr(mg_errmsg(), "MODGRAD_BLIS_TUNE"), "%s", mg_errmsg());
}

Test(blis_tune, a_failing_candidate_is_left_out) {
    tune_on();
    fake f = {.fail = cands[n_cands - 1]}; /* the one that would win */
    mg_blis_decision d = decide(&f, false);
    cr_assert_eq(d.source, MG_BLIS_MEASURED);
    cr_assert_str_eq(d.arch, cands[n_cands - 2]);
    cr_assert_not(d.table.rows[n_cands - 1].ok);
    cr_assert(strstr(d.table.rows[n_cands - 1].note, "fake failure"), "%s",
              d.table.rows[n_cands - 1].note);
    cr_assert_eq(f.calls, 2 * n_cands - 1, "a failed candidate is not measured again");
}

Test(blis_tune, every_candidate_failing_falls_back_to_the_fixed_rule) {
    tune_on();
    fake f = {.fail = "*"};
    mg_blis_decision d = decide(&f, false);
    cr_assert_eq(d.source, MG_BLIS_FIXED);
    cr_assert(strstr(d.why, "every candidate failed"), "%s", d.why);
    cr_assert_not(d.cache_written, "a table of failures is not cached");
}

/* ---- the real measurement ------------------------------------------------------- */

Test(blis_tune, a_real_measurement_runs_in_a_child_and_reports_rates) {
    tune_on();
    double g[MG_BLIS_N_SHAPES] = {0};
    cr_assert_eq(mg_blis_measure(NULL, cands[0], 1, g), MG_OK, "%s", mg_errmsg());
    for (int s = 0; s < MG_BLIS_N_SHAPES; s++) cr_assert(isfinite(g[s]) && g[s] > 0);
    cr_assert_not(mg_gemm_started(), "the parent started BLIS");
    mg_gemm_init(1);
    cr_assert_eq(mg_blis_measure(NULL, cands[0], 1, g), MG_ERR_STATE,
                 "a child of a process that started BLIS would inherit its kernels");
}

/* ---- pinning a run's recorded kernels --------------------------------------------- */

Test(blis_tune, a_recorded_arch_is_pinned_before_blis_starts) {
    cr_assert_eq(mg_blis_pin("haswell"), MG_OK, "%s", mg_errmsg());
    mg_gemm_init(1);
    cr_assert_str_eq(mg_blis_arch(), "haswell");
    cr_assert_eq(mg_blis_source_of(), MG_BLIS_RECORDED);
    cr_assert_eq(mg_blis_pin("haswell"), MG_OK, "the same kernels again");
    cr_assert_eq(mg_blis_pin("zen3"), MG_ERR_STATE, "BLIS cannot switch once started");
}

Test(blis_tune, a_recorded_arch_this_machine_cannot_run_is_refused) {
    cr_assert_eq(mg_blis_pin("armsve"), MG_ERR_ARG);
    cr_assert(strstr(mg_errmsg(), "does not have") && strstr(mg_errmsg(), "BLIS_ARCH_TYPE"), "%s",
              mg_errmsg());
    mg_cpu_features cpu = mg_cpu_detect();
    if (!cpu.avx512pf) {
        cr_assert_eq(mg_blis_pin("knl"), MG_ERR_ARG);
        cr_assert(strstr(mg_errmsg(), "cannot run"), "%s", mg_errmsg());
    }
    cr_assert_not(mg_gemm_started());
}

Test(blis_tune, the_users_blis_arch_type_wins_over_the_recorded_arch) {
    char num[16];
    snprintf(num, sizeof num, "%d", mg_blis_arch_id("haswell"));
    setenv("BLIS_ARCH_TYPE", num, 1);
    cr_assert_eq(mg_blis_pin("armsve"), MG_OK, "%s", mg_errmsg());
    mg_gemm_init(1);
    cr_assert_str_eq(mg_blis_arch(), "haswell");
    cr_assert_eq(mg_blis_source_of(), MG_BLIS_USER);
    cr_assert(strstr(mg_blis_reason(), "recorded armsve"), "%s", mg_blis_reason());
}

/* Rates within MG_BLIS_TIE of the fastest tie: the first in order wins. */
static mg_status near_tie(void *ctx, const char *arch, int reps, double *g) {
    (void)reps;
    ((fake *)ctx)->calls++;
    int i = cand_index(arch);
    /* the last candidate 1% faster than the others; the first 10% slower */
    double rate = i == n_cands - 1 ? 101 : i == 0 ? 90 : 100;
    for (int s = 0; s < MG_BLIS_N_SHAPES; s++) g[s] = rate;
    return MG_OK;
}

Test(blis_tune, a_near_tie_goes_to_the_first_candidate_in_order) {
    tune_on();
    if (n_cands < 3) cr_skip_test("needs three candidates");
    fake f = {0};
    mg_blis_tune_opts o = {.measure = near_tie, .ctx = &f};
    mg_blis_decision d;
    cr_assert_eq(mg_blis_decide(&o, &d), MG_OK);
    cr_assert_str_eq(d.arch, cands[1], "a 1%% lead is noise; a 10%% deficit is not");
    cr_assert(strstr(d.why, "within 3%") && strstr(d.why, cands[n_cands - 1]), "%s", d.why);
}
