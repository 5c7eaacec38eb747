/* test_blis_tune.c — BLIS's kernels chosen by measurement (core/blis_tune.h):
 * the candidates, the cache (written atomically, read back, a corrupt,
 * truncated or foreign file ignored and remeasured), the order of the
 * choice (the user's BLIS_ARCH_TYPE, the off switch's fixed rule, the
 * cache, a measurement), pinning a run's recorded kernels, and the CLI:
 * `modgrad info --retune`, config.json's record, resume on the recorded
 * kernels. The library tests measure with a fake function and time
 * nothing; one test and the CLI's --retune run the real measurement. */
#include <dirent.h>
#include <math.h>

#include "core/blis_tune.h"
#include "tests/util/cli.h"

TestSuite(blis_tune, .init = mg_cli_setup, .fini = mg_cli_teardown, .timeout = 120);
TestSuite(blis_cli, .init = mg_cli_setup, .fini = mg_cli_teardown, .timeout = 120);

/* ---- helpers ----------------------------------------------------------------- */

static const char *cands[MG_BLIS_MAX_CANDIDATES];
static int n_cands;

/* Tuning on (mg_cli_setup turned it off for the CLI) and this CPU's
 * candidates; a CPU with fewer than two has nothing to choose between. */
static void tune_on(void) {
    setenv("MODGRAD_BLIS_TUNE", "on", 1);
    mg_cpu_features f = mg_cpu_detect();
    n_cands = mg_blis_candidates(&f, cands);
    if (n_cands < 2) cr_skip_test("this CPU has %d candidate kernels", n_cands);
}

typedef struct {
    int calls;
    const char *fail; /* a candidate whose measurement fails, "*" for all */
} fake;

static int cand_index(const char *arch) {
    for (int i = 0; i < n_cands; i++)
        if (!strcmp(cands[i], arch)) return i;
    return -1;
}

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

/* ---- the CLI ------------------------------------------------------------------------- */

/* The arch of "BLIS kernels: ARCH, chosen by ..." in info's output. */
static void info_arch(const char *out, char *arch, size_t n) {
    const char *l = strstr(out, "BLIS kernels: ");
    cr_assert_not_null(l, "%s", out);
    l += strlen("BLIS kernels: ");
    size_t k = strcspn(l, ",");
    snprintf(arch, n, "%.*s", (int)k, l);
}

Test(blis_cli, info_retune_writes_a_cache_that_a_second_info_reads) {
    tune_on();
    proc r;
    cr_assert_eq(mg(&r, "info --threads 1 --retune"), 0, "%s", r.err);
    cr_assert(strstr(r.out, "measured now"), "%s", r.out);
    cr_assert(strstr(r.out, "(written now)"), "%s", r.out);
    for (int i = 0; i < n_cands; i++) cr_assert(strstr(r.out, cands[i]), "%s", cands[i]);
    char arch[32], again[32];
    info_arch(r.out, arch, sizeof arch);
    cr_assert(strstr(r.out, "chosen by measured"), "%s", r.out);
    proc_free(&r);
    mg_blis_key key = mg_blis_key_here();
    char path[4096];
    cr_assert_eq(mg_blis_cache_path(&key, path, sizeof path), MG_OK);
    cr_assert(strncmp(path, tmp, strlen(tmp)) == 0, "the cache %s is not the test's", path);
    char *before = slurp(path, NULL);
    cr_assert_not_null(before, "no cache at %s", path);
    cJSON *j = json_file(path);
    cr_assert_str_eq(jstr(j, "chosen"), arch);
    cJSON_Delete(j);

    cr_assert_eq(mg(&r, "info --threads 1"), 0, "%s", r.err);
    cr_assert(strstr(r.out, "read from the cache"), "%s", r.out);
    cr_assert(strstr(r.out, "chosen by cache"), "%s", r.out);
    info_arch(r.out, again, sizeof again);
    cr_assert_str_eq(again, arch);
    proc_free(&r);
    char *after = slurp(path, NULL);
    cr_assert_str_eq(before, after, "the second info rewrote the cache");
    free(before), free(after);
}

/* Writes a cache table for this machine that chooses arch (rates made up:
 * nothing is timed). */
static void fake_cache(const char *arch) {
    mg_blis_table t;
    memset(&t, 0, sizeof t);
    t.key = mg_blis_key_here();
    t.n = n_cands;
    t.threads = 1, t.reps = 3, t.rounds = 2;
    snprintf(t.measured_at, sizeof t.measured_at, "2026-01-01T00:00:00Z");
    t.chosen = cand_index(arch);
    cr_assert_geq(t.chosen, 0, "%s is no candidate here", arch);
    for (int i = 0; i < n_cands; i++) {
        snprintf(t.rows[i].arch, sizeof t.rows[i].arch, "%s", cands[i]);
        t.rows[i].ok = true;
        for (int s = 0; s < MG_BLIS_N_SHAPES; s++) t.rows[i].gflops[s] = i == t.chosen ? 99 : 50;
        t.rows[i].all = i == t.chosen ? 99 : 50;
    }
    char path[4096];
    cr_assert_eq(mg_blis_cache_path(&t.key, path, sizeof path), MG_OK);
    cr_assert_eq(mg_blis_cache_write(path, &t), MG_OK, "%s", mg_errmsg());
}

#define RUN "--model mlp --p 23 --d 32 --width 64 --threads 1 --frac 0.8 --lr 1e-2 --wd 1 --seed 1"

static void config_blis(const char *run, char *arch, char *src, double *gflops) {
    cJSON *c = json_file(P("%s/config.json", run));
    snprintf(arch, 32, "%s", jstr(c, "blis_arch"));
    snprintf(src, 32, "%s", jstr(c, "blis_source"));
    const cJSON *g = jget(c, "blis_gflops");
    *gflops = cJSON_IsNumber(g) ? g->valuedouble : 0;
    cJSON_Delete(c);
}

static void fingerprint(const char *run, char *fp) {
    json_field(P("%s/summary.json", run), "fingerprint", fp, 32);
}

Test(blis_cli, config_records_the_choice_and_resume_runs_on_the_recorded_kernels) {
    tune_on();
    if (cand_index("haswell") < 0 || cand_index("zen3") < 0)
        cr_skip_test("needs haswell and zen3 among the candidates");
    char arch[32], src[32], fa[32], fb[32], fc[32];
    double g;
    fake_cache("haswell");
    mg_ok("train " RUN " --steps 40 --eval-every 10 --checkpoint-every 20 --out %s", P("straight"));
    config_blis("straight", arch, src, &g);
    cr_assert_str_eq(arch, "haswell");
    cr_assert_str_eq(src, "cache");
    cr_assert_float_eq(g, 99, 1e-9);
    mg_ok("train " RUN " --steps 20 --eval-every 10 --checkpoint-every 20 --out %s", P("resumed"));
    /* the cache's choice changes; the resumed run keeps the kernels it ran on */
    fake_cache("zen3");
    mg_ok("train --resume %s --steps 40", P("resumed"));
    config_blis("resumed", arch, src, &g);
    cr_assert_str_eq(arch, "haswell");
    cr_assert_str_eq(src, "recorded");
    fingerprint("straight", fa);
    fingerprint("resumed", fb);
    cr_assert_str_eq(fa, fb, "the resumed run is not bit-exact");
    /* the check has teeth: on the cache's new choice the arithmetic differs */
    mg_ok("train " RUN " --steps 40 --eval-every 10 --checkpoint-every 20 --out %s", P("other"));
    config_blis("other", arch, src, &g);
    cr_assert_str_eq(arch, "zen3");
    fingerprint("other", fc);
    cr_assert_str_neq(fa, fc, "haswell and zen3 gave the same bits: the test shows nothing");
}

Test(blis_cli, resume_refuses_kernels_this_machine_cannot_run_unless_the_user_chooses) {
    mg_ok("train " RUN " --steps 20 --eval-every 10 --checkpoint-every 20 --out %s", P("run"));
    cJSON *c = json_file(P("run/config.json"));
    cJSON_ReplaceItemInObjectCaseSensitive(c, "blis_arch", cJSON_CreateString("armsve"));
    json_save(P("run/config.json"), c);
    cJSON_Delete(c);
    copy_tree(P("run"), P("before"));
    proc r;
    cr_assert_eq(mg(&r, "train --resume %s --steps 40", P("run")), 2, "%s", r.err);
    cr_assert(strstr(r.err, "armsve") && strstr(r.err, "BLIS_ARCH_TYPE"), "%s", r.err);
    proc_free(&r);
    cr_assert(same_tree(P("run"), P("before")), "a refused resume changed the run");
    char num[16], arch[32], src[32];
    snprintf(num, sizeof num, "%d", mg_blis_arch_id("haswell"));
    setenv("BLIS_ARCH_TYPE", num, 1);
    mg_ok("train --resume %s --steps 40", P("run"));
    double g;
    config_blis("run", arch, src, &g);
    cr_assert_str_eq(arch, "haswell");
    cr_assert_str_eq(src, "user");
    char choice[256];
    json_field(P("run/config.json"), "blis_choice", choice, sizeof choice);
    cr_assert(strstr(choice, "recorded armsve"), "%s", choice);
}

Test(blis_cli, the_user_and_the_off_switch_rule_over_the_cache) {
    tune_on();
    fake_cache("zen3");
    proc r;
    char arch[32];
    cr_assert_eq(mg(&r, "info --threads 1"), 0, "%s", r.err);
    info_arch(r.out, arch, sizeof arch);
    cr_assert_str_eq(arch, "zen3");
    proc_free(&r);

    setenv("MODGRAD_BLIS_TUNE", "off", 1);
    cr_assert_eq(mg(&r, "info --threads 1"), 0, "%s", r.err);
    info_arch(r.out, arch, sizeof arch);
    mg_cpu_features cpu = mg_cpu_detect();
    const char *want = mg_blis_choose(&cpu);
    if (want) cr_assert_str_eq(arch, want);
    cr_assert(strstr(r.out, "chosen by fixed rule"), "%s", r.out);
    proc_free(&r);

    setenv("MODGRAD_BLIS_TUNE", "on", 1);
    char num[16];
    snprintf(num, sizeof num, "%d", mg_blis_arch_id("haswell"));
    setenv("BLIS_ARCH_TYPE", num, 1);
    cr_assert_eq(mg(&r, "info --threads 1"), 0, "%s", r.err);
    info_arch(r.out, arch, sizeof arch);
    cr_assert_str_eq(arch, "haswell");
    cr_assert(strstr(r.out, "chosen by user"), "%s", r.out);
    proc_free(&r);

    setenv("MODGRAD_BLIS_TUNE", "sometimes", 1);
    cr_assert_eq(mg(&r, "info"), 2);
    cr_assert(strstr(r.err, "MODGRAD_BLIS_TUNE"), "%s", r.err);
    proc_free(&r);
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
