/* test_modelfile.c — the model-file loader (models/harness/modelfile.h):
 * a variant written outside the tree is compiled, cached and registered;
 * the cache is reused by a later process and keyed by the file's content;
 * a compile error comes back with the compiler's diagnostics; a changed or
 * missing file is refused naming both hashes; a file with several models
 * needs a name; a file that registers nothing says why; a killed compile's
 * temporary is cleared by the next compile.
 *
 * Each test gets its own temporary directory with the source and the cache
 * ($XDG_CACHE_HOME points into it), and runs in its own process (Criterion),
 * so every test starts with an empty loader. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/hash.h"
#include "models/harness/modelfile.h"
#include "tests/util/fixture.h"
#include "tests/util/variant.h"

static char dir[64];
static char cache[128]; /* $XDG_CACHE_HOME/modgrad */

static void setup(void) {
    strcpy(dir, "/tmp/mg_modelfile_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    char xdg[96];
    snprintf(xdg, sizeof xdg, "%s/cache", dir);
    cr_assert_eq(setenv("XDG_CACHE_HOME", xdg, 1), 0);
    snprintf(cache, sizeof cache, "%s/modgrad", xdg);
}

static void teardown(void) { mg_test_rmtree(dir); }

TestSuite(modelfile, .init = setup, .fini = teardown, .timeout = 60);

/* Writes text to dir/name and returns the path (static buffer per call site). */
static const char *write_file(char *path, size_t n, const char *name, const char *text) {
    snprintf(path, n, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    cr_assert_eq(fputs(text, f) >= 0, true);
    cr_assert_eq(fclose(f), 0);
    return path;
}

/* The cache's files: how many end in ".so", and how many are temporaries. */
static void count_cache(int *objects, int *temps) {
    *objects = *temps = 0;
    DIR *d = opendir(cache);
    if (!d) return;
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (strstr(e->d_name, ".tmp.")) ++*temps;
        else if (len > 3 && strcmp(e->d_name + len - 3, ".so") == 0) ++*objects;
    }
    closedir(d);
}

Test(modelfile, variant_outside_tree_registers_its_model) {
    char path[256];
    write_file(path, sizeof path, "square_tied.c", VARIANT_SOURCE);
    cr_assert_null(mg_model_find("square_tied"), "not registered before loading");
    const mg_modelfile *f = NULL;
    cr_assert_eq(mg_modelfile_load(path, NULL, &f), MG_OK, "%s\n%s", mg_errmsg(),
                 mg_modelfile_diagnostics());
    cr_assert_eq(f->n_models, 1);
    cr_assert_str_eq(f->models[0]->name, "square_tied");
    cr_assert_eq(mg_model_find("square_tied"), f->models[0], "the registry has it");
    cr_assert(f->compiled, "compiled on first use");
    cr_assert_str_eq(f->path, path, "the absolute path");
    cr_assert_eq(f->hash, mg_hash_bytes(VARIANT_SOURCE, strlen(VARIANT_SOURCE)));
    char hex[17];
    mg_hash_hex(f->hash, hex);
    cr_assert_str_eq(f->hash_hex, hex);
    cr_assert_eq(strncmp(f->object, cache, strlen(cache)), 0, "object %s is in %s", f->object,
                 cache);
    cr_assert(strstr(f->command, "-shared") && strstr(f->command, "-fPIC") &&
                  strstr(f->command, "-O2") && strstr(f->command, "include/modgrad"),
              "command: %s", f->command);
    const mg_model_def *m = NULL;
    cr_assert_eq(mg_modelfile_pick(f, NULL, &m), MG_OK, "one model: the default");
    cr_assert_eq(m, f->models[0]);
    cr_assert_eq(mg_modelfile_of(m), f);
    cr_assert_null(mg_modelfile_of(mg_model_find("mlp")), "a built-in model has no file");
    /* a second load in the same process returns the same entry */
    const mg_modelfile *again = NULL;
    cr_assert_eq(mg_modelfile_load(path, hex, &again), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(again, f);
    int objects, temps;
    count_cache(&objects, &temps);
    cr_assert_eq(objects, 1);
    cr_assert_eq(temps, 0, "no temporary left in the cache");
}

/* Loads path in a child process: exit 10 compiled, 11 cached, 1 failed. */
static int load_in_child(const char *path) {
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        const mg_modelfile *f = NULL;
        if (mg_modelfile_load(path, NULL, &f)) _exit(1);
        _exit(f->compiled ? 10 : 11);
    }
    int ws;
    cr_assert_eq(waitpid(pid, &ws, 0), pid);
    cr_assert(WIFEXITED(ws));
    return WEXITSTATUS(ws);
}

/* The modification time of the one object in the cache. */
static struct timespec object_mtime(void) {
    DIR *d = opendir(cache);
    cr_assert_not_null(d);
    char path[512] = "";
    for (struct dirent *e; (e = readdir(d));)
        if (strstr(e->d_name, ".so")) snprintf(path, sizeof path, "%s/%s", cache, e->d_name);
    closedir(d);
    struct stat sb;
    cr_assert_eq(stat(path, &sb), 0, "no object in %s", cache);
    return sb.st_mtim;
}

Test(modelfile, cache_reused_by_later_process_and_keyed_by_content) {
    /* every load in a child: a process loads one version of a file */
    char path[256], copy[256];
    write_file(path, sizeof path, "square_tied.c", VARIANT_SOURCE);
    cr_assert_eq(load_in_child(path), 10, "the first use compiles");
    int objects, temps;
    count_cache(&objects, &temps);
    cr_assert_eq(objects, 1);
    struct timespec t0 = object_mtime();
    usleep(20000);
    cr_assert_eq(load_in_child(path), 11, "a later process reuses the object");
    struct timespec t1 = object_mtime();
    cr_assert(t0.tv_sec == t1.tv_sec && t0.tv_nsec == t1.tv_nsec, "the object was rewritten");
    /* the same bytes under another directory: the same object */
    char sub[128];
    snprintf(sub, sizeof sub, "%s/elsewhere", dir);
    cr_assert_eq(mkdir(sub, 0777), 0);
    write_file(copy, sizeof copy, "elsewhere/square_tied.c", VARIANT_SOURCE);
    cr_assert_eq(load_in_child(copy), 11, "keyed by content, not by path");
    /* one byte more: a new object, the old one kept */
    write_file(path, sizeof path, "square_tied.c", VARIANT_SOURCE_WITH("/* changed */\n"));
    cr_assert_eq(load_in_child(path), 10, "a changed file is compiled again");
    count_cache(&objects, &temps);
    cr_assert_eq(objects, 2);
    cr_assert_eq(temps, 0);
}

Test(modelfile, compile_error_returns_compiler_diagnostics) {
    char path[256];
    write_file(path, sizeof path, "broken.c",
               "#include \"models/model.h\"\nstatic int f(void) { return undeclared_name; }\n");
    const mg_modelfile *f = NULL;
    cr_assert_eq(mg_modelfile_load(path, NULL, &f), MG_ERR_ARG);
    cr_assert_null(f);
    cr_assert(strstr(mg_errmsg(), path) && strstr(mg_errmsg(), "does not compile"), "%s",
              mg_errmsg());
    const char *diag = mg_modelfile_diagnostics();
    cr_assert(strstr(diag, "broken.c:2") && strstr(diag, "undeclared_name"),
              "the compiler's own message, with file and line: %s", diag);
    int objects, temps;
    count_cache(&objects, &temps);
    cr_assert_eq(objects + temps, 0, "nothing cached from a failed compile");
}

Test(modelfile, changed_or_missing_file_refused_naming_both_hashes) {
    char path[256];
    write_file(path, sizeof path, "square_tied.c", VARIANT_SOURCE);
    const mg_modelfile *f = NULL;
    char now[17];
    mg_hash_hex(mg_hash_bytes(VARIANT_SOURCE, strlen(VARIANT_SOURCE)), now);
    cr_assert_eq(mg_modelfile_load(path, "0123456789abcdef", &f), MG_ERR_ARG);
    cr_assert_null(f);
    cr_assert(strstr(mg_errmsg(), now) && strstr(mg_errmsg(), "0123456789abcdef") &&
                  strstr(mg_errmsg(), "changed"),
              "%s", mg_errmsg());
    cr_assert_null(mg_model_find("square_tied"), "a refused file is not loaded");
    unlink(path);
    cr_assert_eq(mg_modelfile_load(path, now, &f), MG_ERR_ARG);
    cr_assert(strstr(mg_errmsg(), "gone") && strstr(mg_errmsg(), now), "%s", mg_errmsg());
    cr_assert_eq(mg_modelfile_load(path, NULL, &f), MG_ERR_ARG);
    cr_assert(strstr(mg_errmsg(), path), "%s", mg_errmsg());
}

Test(modelfile, run_check_compares_config_hash) {
    char path[256], cfg[256], text[1024];
    write_file(path, sizeof path, "square_tied.c", VARIANT_SOURCE);
    char now[17];
    mg_hash_hex(mg_hash_bytes(VARIANT_SOURCE, strlen(VARIANT_SOURCE)), now);
    snprintf(text, sizeof text, "{\"model\": \"square_tied\", \"%s\": \"%s\", \"%s\": \"%s\"}",
             MG_CONFIG_MODEL_FILE, path, MG_CONFIG_MODEL_FILE_HASH, now);
    write_file(cfg, sizeof cfg, "config.json", text);
    cr_assert_eq(mg_modelfile_check_run(dir), MG_OK, "%s", mg_errmsg());
    write_file(path, sizeof path, "square_tied.c", VARIANT_SOURCE_WITH("\n"));
    char changed[17];
    mg_hash_hex(mg_hash_bytes(VARIANT_SOURCE "\n", strlen(VARIANT_SOURCE) + 1), changed);
    cr_assert_eq(mg_modelfile_check_run(dir), MG_ERR_ARG);
    cr_assert(strstr(mg_errmsg(), now) && strstr(mg_errmsg(), changed), "%s", mg_errmsg());
    unlink(path);
    cr_assert_eq(mg_modelfile_check_run(dir), MG_ERR_ARG);
    cr_assert(strstr(mg_errmsg(), "gone"), "%s", mg_errmsg());
    write_file(cfg, sizeof cfg, "config.json", "{\"model\": \"mlp\"}");
    cr_assert_eq(mg_modelfile_check_run(dir), MG_OK, "a built-in model's run needs no file");
}

/* A file with two models (the variant under a second name too). */
#define TWO_MODELS                                                                                 \
    VARIANT_SOURCE_WITH("static const mg_model_def second = {\n"                                   \
                        "    .name = \"square_tied2\", .summary = \"the same, again\",\n"          \
                        "    .options = options, .n_options = 2, .default_p = 97,\n"               \
                        "    .default_frac = 0.5, .default_steps = 5000, .embed = \"embed\",\n"    \
                        "    .classifier = \"embed\", .build = build};\n"                          \
                        "MG_REGISTER_MODEL(second)\n")

Test(modelfile, several_models_need_a_name) {
    char path[256];
    write_file(path, sizeof path, "two.c", TWO_MODELS);
    const mg_modelfile *f = NULL;
    cr_assert_eq(mg_modelfile_load(path, NULL, &f), MG_OK, "%s\n%s", mg_errmsg(),
                 mg_modelfile_diagnostics());
    cr_assert_eq(f->n_models, 2);
    const mg_model_def *m = NULL;
    cr_assert_eq(mg_modelfile_pick(f, NULL, &m), MG_ERR_ARG);
    cr_assert(strstr(mg_errmsg(), "--model") && strstr(mg_errmsg(), "square_tied, square_tied2"),
              "%s", mg_errmsg());
    cr_assert_eq(mg_modelfile_pick(f, "square_tied2", &m), MG_OK);
    cr_assert_str_eq(m->name, "square_tied2");
    cr_assert_eq(mg_modelfile_pick(f, "mlp", &m), MG_ERR_ARG, "a built-in is not the file's");
    cr_assert(strstr(mg_errmsg(), "square_tied, square_tied2"), "%s", mg_errmsg());
}

Test(modelfile, file_registering_nothing_says_why) {
    char path[256];
    write_file(path, sizeof path, "empty.c", "#include \"models/model.h\"\nint unused_x;\n");
    const mg_modelfile *f = NULL;
    cr_assert_eq(mg_modelfile_load(path, NULL, &f), MG_ERR_ARG);
    cr_assert(strstr(mg_errmsg(), "MG_REGISTER_MODEL"), "%s", mg_errmsg());
    /* a model named like a built-in one is refused by the registry */
    char src[8192];
    snprintf(src, sizeof src, "%s", VARIANT_SOURCE);
    char *name = strstr(src, ".name = \"square_tied\"");
    cr_assert_not_null(name);
    memcpy(name, ".name = \"mlp\"        ", strlen(".name = \"square_tied\""));
    write_file(path, sizeof path, "clash.c", src);
    cr_assert_eq(mg_modelfile_load(path, NULL, &f), MG_ERR_ARG);
    cr_assert(strstr(mg_errmsg(), "'mlp' is already registered"), "%s", mg_errmsg());
}

Test(modelfile, killed_compile_temporary_removed_by_next_compile) {
    /* a temporary named for a process that no longer runs */
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) _exit(0);
    cr_assert_eq(waitpid(pid, NULL, 0), pid);
    char stale[256], path[256], xdg[96];
    snprintf(xdg, sizeof xdg, "%s/cache", dir);
    cr_assert(mkdir(xdg, 0777) == 0 && mkdir(cache, 0777) == 0);
    snprintf(stale, sizeof stale, "%s/square_tied-0000000000000000.so.tmp.%ld", cache, (long)pid);
    FILE *f = fopen(stale, "w");
    cr_assert_not_null(f);
    fclose(f);
    int objects, temps;
    count_cache(&objects, &temps);
    cr_assert_eq(temps, 1);
    write_file(path, sizeof path, "square_tied.c", VARIANT_SOURCE);
    const mg_modelfile *m = NULL;
    cr_assert_eq(mg_modelfile_load(path, NULL, &m), MG_OK, "%s", mg_errmsg());
    count_cache(&objects, &temps);
    cr_assert_eq(objects, 1);
    cr_assert_eq(temps, 0, "the killed compile's temporary is gone");
}
