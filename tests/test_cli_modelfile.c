/* test_cli_modelfile.c — `modgrad train --model-file` end to end: a variant
 * written into a temporary directory outside the tree (tests/util/variant.h:
 * a square-activation MLP with a tied classifier) is trained, resumed
 * bit-exactly, analysed and plotted; a changed or deleted file is refused by
 * resume, analyze, plot and compare (exit 2, both hashes, the run directory
 * untouched); a compile error exits 2 with the compiler's message and writes
 * no run; the compiled object is reused by the next run and keyed by the
 * file's content; a file with two models needs --model.
 *
 * The compile cache lives in the test's directory ($XDG_CACHE_HOME). */
#include <dirent.h>

#include "core/hash.h"
#include "tests/util/cli.h"
#include "tests/util/fixture.h"
#include "tests/util/variant.h"

TestSuite(cli_modelfile, .init = mg_cli_setup, .fini = mg_cli_teardown, .timeout = 120);

/* The SMALL setting of test_cli.c for the variant (p 23, d 32, width 64). */
#define TINY "--p 23 --d 32 --width 64 --threads 1 --frac 0.8 --seed 1 --eval-every 10"

/* Writes the variant (text) to tmp/src/NAME, points the cache into tmp, and
 * returns the file's path. */
static const char *variant(const char *name, const char *text) {
    mkdir(P("src"), 0777);
    const char *path = P("src/%s", name);
    spit(path, text, strlen(text));
    cr_assert_eq(setenv("XDG_CACHE_HOME", P("cache"), 1), 0);
    return path;
}

static char *hash_hex(const char *text) {
    static char hex[17];
    mg_hash_hex(mg_hash_bytes(text, strlen(text)), hex);
    return hex;
}

/* The cache's objects (*.so), and the path of the last one listed. */
static int cache_objects(char *last, size_t n) {
    DIR *d = opendir(P("cache/modgrad"));
    if (!d) return 0;
    int k = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        cr_assert_null(strstr(e->d_name, ".tmp."), "a temporary left in the cache: %s", e->d_name);
        if (len > 3 && strcmp(e->d_name + len - 3, ".so") == 0) {
            k++;
            if (last) snprintf(last, n, "%s/%s", P("cache/modgrad"), e->d_name);
        }
    }
    closedir(d);
    return k;
}

Test(cli_modelfile, variant_trains_resumes_bit_exactly_analyses_and_plots) {
    const char *src = variant("square_tied.c", VARIANT_SOURCE);
    const char *straight = P("straight"), *resumed = P("resumed");
    mg_ok("train --model-file %s " TINY " --steps 60 --checkpoint-every 30 --out %s", src,
          straight);
    mg_ok("train --model-file %s " TINY " --steps 30 --checkpoint-every 30 --out %s", src, resumed);
    mg_ok("train --resume %s --steps 60", resumed);
    char fa[32], fb[32];
    json_field(P("straight/summary.json"), "fingerprint", fa, sizeof fa);
    json_field(P("resumed/summary.json"), "fingerprint", fb, sizeof fb);
    cr_assert_str_eq(fa, fb, "30 steps + resume to 60 differs from 60 straight");
    cJSON *c = json_file(P("resumed/config.json"));
    cr_assert_str_eq(jstr(c, "model"), "square_tied");
    cr_assert_str_eq(jstr(c, "model_file"), src, "the file's absolute path");
    cr_assert_str_eq(jstr(c, "model_file_hash"), hash_hex(VARIANT_SOURCE));
    cJSON_Delete(c);
    /* and it learned something: the training loss fell */
    char *m = slurp(P("straight/metrics.csv"), NULL);
    cr_assert_not_null(m);
    double first = 0, last = 0;
    const char *row = strchr(m, '\n') + 1;
    cr_assert_eq(sscanf(row, "%*[^,],%*[^,],%lf", &first), 1);
    for (const char *p = row; (p = strchr(p, '\n')) && p[1]; p++) row = p + 1;
    cr_assert_eq(sscanf(row, "%*[^,],%*[^,],%lf", &last), 1);
    cr_assert_lt(last, first, "train loss %g -> %g", first, last);
    free(m);

    proc r;
    cr_assert_eq(mg(&r, "analyze %s", resumed), 0, "%s", r.err);
    cr_assert(strstr(r.out, "square_tied"), "%s", r.out);
    proc_free(&r);
    cr_assert_eq(mg(&r, "plot %s", resumed), 0, "%s", r.err);
    proc_free(&r);
    cr_assert(exists(P("resumed/plots/curves.png")));
    cr_assert_eq(mg(&r, "compare %s %s", straight, resumed), 0, "%s", r.err);
    proc_free(&r);
}

/* Every command that reads the run refuses it with exit 2, one line naming
 * each of want, and leaves the run directory as it was. */
static void refused_everywhere(const char *run, const char *const *want) {
    const char *copy = P("before");
    copy_tree(run, copy);
    const char *cmds[] = {"train --resume %s --steps 40", "analyze %s", "plot %s", "compare %s"};
    for (int i = 0; i < 4; i++) {
        proc r;
        mg(&r, cmds[i], run);
        cr_assert_eq(r.code, 2, "`%s` exited %d: %s", cmds[i], r.code, r.err);
        cr_assert_eq(count_lines(r.err), 1, "`%s`: not one line: %s", cmds[i], r.err);
        for (const char *const *w = want; *w; w++)
            cr_assert(strstr(r.err, *w), "`%s`: '%s' lacks '%s'", cmds[i], r.err, *w);
        proc_free(&r);
    }
    cr_assert(same_tree(copy, run), "a refused command changed the run directory");
    cr_assert(mg_test_rmtree(copy));
}

Test(cli_modelfile, changed_or_missing_file_refused_with_both_hashes) {
    const char *src = variant("square_tied.c", VARIANT_SOURCE);
    const char *run = P("run");
    mg_ok("train --model-file %s " TINY " --steps 20 --out %s", src, run);
    const char *changed = VARIANT_SOURCE_WITH("/* a change */\n");
    spit(src, changed, strlen(changed));
    char was[17], now[17];
    snprintf(was, sizeof was, "%s", hash_hex(VARIANT_SOURCE));
    snprintf(now, sizeof now, "%s", hash_hex(changed));
    refused_everywhere(run, (const char *const[]){src, was, now, "changed", NULL});
    cr_assert_eq(unlink(src), 0);
    refused_everywhere(run, (const char *const[]){src, was, "gone", NULL});
    /* the file as it was: accepted again */
    spit(src, VARIANT_SOURCE, strlen(VARIANT_SOURCE));
    mg_ok("train --resume %s --steps 30", run);
}

Test(cli_modelfile, compile_error_exits_2_with_compiler_message) {
    const char *src = variant("broken.c", "#include \"models/model.h\"\n"
                                          "static int f(void) { return undeclared_name; }\n");
    proc r;
    mg(&r, "train --model-file %s " TINY " --steps 5 --out %s", src, P("run"));
    cr_assert_eq(r.code, 2, "exit %d: %s", r.code, r.err);
    cr_assert(strstr(r.err, "does not compile"), "%s", r.err);
    cr_assert(strstr(r.err, "broken.c:2") && strstr(r.err, "undeclared_name"),
              "the compiler's own diagnostics: %s", r.err);
    cr_assert_not(exists(P("run")), "a run directory was written");
    cr_assert_eq(cache_objects(NULL, 0), 0);
    proc_free(&r);
    /* a missing file: exit 2 naming it */
    mg(&r, "train --model-file %s --steps 5 --out %s", P("src/none.c"), P("run"));
    cr_assert_eq(r.code, 2, "exit %d: %s", r.code, r.err);
    cr_assert(strstr(r.err, "none.c"), "%s", r.err);
    proc_free(&r);
}

static struct timespec mtime(const char *path) {
    struct stat sb;
    cr_assert_eq(stat(path, &sb), 0, "no %s", path);
    return sb.st_mtim;
}

Test(cli_modelfile, object_cached_and_keyed_by_content) {
    const char *src = variant("square_tied.c", VARIANT_SOURCE);
    proc r;
    cr_assert_eq(mg(&r, "train --model-file %s " TINY " --steps 2 --verbose --out %s", src, P("a")),
                 0, "%s", r.err);
    cr_assert(strstr(r.err, "compiled in"), "%s", r.err);
    cr_assert(strstr(r.err, "cc ") && strstr(r.err, "-shared") && strstr(r.err, "-fPIC") &&
                  strstr(r.err, "-O2") && strstr(r.err, "include/modgrad"),
              "--verbose prints the flags: %s", r.err);
    proc_free(&r);
    char obj[512];
    cr_assert_eq(cache_objects(obj, sizeof obj), 1);
    struct timespec t0 = mtime(obj);
    usleep(20000);
    cr_assert_eq(mg(&r, "train --model-file %s " TINY " --steps 2 --verbose --out %s", src, P("b")),
                 0, "%s", r.err);
    cr_assert(strstr(r.err, "cached object reused") && !strstr(r.err, "compiled in"), "%s", r.err);
    proc_free(&r);
    struct timespec t1 = mtime(obj);
    cr_assert(t0.tv_sec == t1.tv_sec && t0.tv_nsec == t1.tv_nsec, "the object was rebuilt");
    cr_assert_eq(cache_objects(NULL, 0), 1);
    /* same fingerprint either way */
    char fa[32], fb[32];
    json_field(P("a/summary.json"), "fingerprint", fa, sizeof fa);
    json_field(P("b/summary.json"), "fingerprint", fb, sizeof fb);
    cr_assert_str_eq(fa, fb);
    /* a changed file: compiled again, into a second object */
    const char *changed = VARIANT_SOURCE_WITH("\n");
    spit(src, changed, strlen(changed));
    cr_assert_eq(mg(&r, "train --model-file %s " TINY " --steps 2 --verbose --out %s", src, P("c")),
                 0, "%s", r.err);
    cr_assert(strstr(r.err, "compiled in"), "%s", r.err);
    proc_free(&r);
    cr_assert_eq(cache_objects(NULL, 0), 2);
}

Test(cli_modelfile, file_with_two_models_needs_model_flag) {
    const char *src =
        variant("two.c", VARIANT_SOURCE_WITH("static const mg_model_def second = {\n"
                                             "    .name = \"square_tied2\", .summary = \"again\",\n"
                                             "    .options = options, .n_options = 2,\n"
                                             "    .default_p = 97, .default_frac = 0.5,\n"
                                             "    .default_steps = 5000, .build = build};\n"
                                             "MG_REGISTER_MODEL(second)\n"));
    proc r;
    mg(&r, "train --model-file %s " TINY " --steps 2 --out %s", src, P("run"));
    cr_assert_eq(r.code, 2, "exit %d: %s", r.code, r.err);
    cr_assert(strstr(r.err, "--model") && strstr(r.err, "square_tied, square_tied2"), "%s", r.err);
    cr_assert_not(exists(P("run")));
    proc_free(&r);
    cr_assert_eq(mg(&r, "models --model-file %s", src), 0, "%s", r.err);
    cr_assert(strstr(r.out, "square_tied  (from ") && strstr(r.out, "square_tied2  (from ") &&
                  strstr(r.out, "mlp_tied\n"),
              "models lists the file's models beside the built-in ones: %s", r.out);
    proc_free(&r);
    mg_ok("train --model-file %s --model square_tied2 " TINY " --steps 2 --out %s", src, P("run"));
    cJSON *c = json_file(P("run/config.json"));
    cr_assert_str_eq(jstr(c, "model"), "square_tied2");
    cJSON_Delete(c);
    mg(&r, "train --resume %s --model-file %s --steps 4", P("run"), src);
    cr_assert_eq(r.code, 2, "--resume takes the file from the run: exit %d: %s", r.code, r.err);
    proc_free(&r);
}
