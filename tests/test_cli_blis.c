/* test_cli_blis.c — the kernel choice through the `modgrad` binary:
 * `modgrad info --retune` writes a cache a second `modgrad info` reads;
 * config.json records the kernels, how they were chosen and their rate; a
 * resumed run (train --resume, a sweep's interrupted point) runs on the
 * kernels it recorded, bit-exact, even after the cache's choice changed; a
 * recorded arch this machine cannot run is refused unless the user sets
 * BLIS_ARCH_TYPE; the user and the off switch rule over the cache. Only
 * --retune times anything (the real measurement, a second or two); the
 * other tests write a made-up cache. */
#include "core/blis_tune.h"
#include "tests/util/blis_tune.h"
#include "tests/util/cli.h"

TestSuite(blis_cli, .init = mg_cli_setup, .fini = mg_cli_teardown, .timeout = 120);

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

Test(blis_cli, a_sweeps_resumed_point_runs_on_its_recorded_kernels) {
    tune_on();
    if (cand_index("haswell") < 0 || cand_index("zen3") < 0)
        cr_skip_test("needs haswell and zen3 among the candidates");
    const char *dir = P("sweep");
    const char *grid =
        RUN " --steps 40 --eval-every 10 --checkpoint-every 20 --grid seed=1 --jobs 1";
    fake_cache("haswell");
    mg_ok("sweep --out %s %s", dir, grid);
    char done[32], again[32], arch[32], src[32];
    double g;
    fingerprint("sweep/seed=1", done);
    config_blis("sweep/seed=1", arch, src, &g);
    cr_assert_str_eq(arch, "haswell");
    /* interrupted after its step-20 checkpoint, while the cache's choice changed */
    cr_assert_eq(unlink(P("sweep/seed=1/summary.json")), 0);
    cr_assert_eq(unlink(P("sweep/seed=1/checkpoints/step_000040.safetensors")), 0);
    fake_cache("zen3");
    proc r;
    cr_assert_eq(mg(&r, "sweep --status %s", dir), 1, "%s", r.out);
    cr_assert(strstr(r.out, "interrupted"), "%s", r.out);
    proc_free(&r);
    mg_ok("sweep --out %s %s", dir, grid);
    config_blis("sweep/seed=1", arch, src, &g);
    cr_assert_str_eq(arch, "haswell");
    cr_assert_str_eq(src, "recorded");
    fingerprint("sweep/seed=1", again);
    cr_assert_str_eq(done, again, "the resumed point is not bit-exact");
}
