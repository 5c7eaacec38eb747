/* test_progress_rows.c — the progress measures written at geometry steps
 * (models/harness/study_progress.c): which runs get them, their bounds, the
 * key-frequency rule (the embedding's key frequencies of the same step), one
 * row per key alone, and the transformer too. The measures themselves are
 * tested on constructed cubes in test_progress.c. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/csvout.h"
#include "tests/util/cli.h"
#include "tests/util/geometry_rows.h"

TestSuite(progress_rows, .init = mg_cli_setup, .fini = mg_cli_teardown, .timeout = 120);

static int count_prefix(const mg_csv *c, long step, const char *prefix) {
    int n = 0;
    for (size_t r = 0; r < c->nrows; r++)
        n += (long)mg_csv_num(c, r, 0) == step && !strcmp(mg_csv_str(c, r, 1), "progress") &&
             !strncmp(mg_csv_str(c, r, 2), prefix, strlen(prefix));
    return n;
}

static void check(const char *model, const char *size, const char *embed_layer) {
    mg_ok("train --model %s %s --p 23 --frac 0.5 --steps 100 --geometry-every 50 --threads 1 "
          "--out %s",
          model, size, P("%s", model));
    mg_csv *g = NULL;
    cr_assert_eq(mg_csv_read(P("%s/geometry.csv", model), &g), MG_OK, "%s", mg_errmsg());
    for (long s = 0; s <= 100; s += 50) {
        double nk = geometry_value(g, s, "progress", "n_keys");
        cr_assert_eq(nk, geometry_value(g, s, embed_layer, "fourier_n_key"),
                     "%s step %ld: the keys are the embedding's of that step", model, s);
        cr_assert(nk >= 1 && nk <= 11);
        cr_assert_eq(count_prefix(g, s, "excluded_loss_k"), (int)nk, "one row per key alone");
        double r = geometry_value(g, s, "progress", "restricted_loss"),
               x = geometry_value(g, s, "progress", "excluded_loss"),
               per = geometry_value(g, s, "progress", "periodicity");
        cr_assert(r > 0 && isfinite(r) && x > 0 && isfinite(x), "%s step %ld: %g %g", model, s, r,
                  x);
        cr_assert(per >= 0 && per <= 1 + 1e-12, "periodicity %g", per);
    }
    mg_csv_free(g);
}

Test(progress_rows, mlp_on_add) { check("mlp", "--d 32 --width 64", "embed"); }
Test(progress_rows, transformer_on_add) {
    check("transformer", "--d-model 32 --d-mlp 64", "embed");
}

Test(progress_rows, only_on_add) {
    mg_ok("train --model mlp --task sub --p 11 --steps 20 --threads 1 --out %s", P("sub"));
    char *text = slurp(P("sub/geometry.csv"), NULL);
    cr_assert_not_null(text);
    cr_assert_null(strstr(text, ",progress,"), "a + b mod p's measures on a - b");
    free(text);
}
