/* test_sae.c — the TopK sparse autoencoder (models/sae.h): its gradient,
 * and `modgrad sae` end to end on a small markers run: the report against
 * the run's own accuracy, the ablation of no latent, the latents' file, and
 * the runs it refuses. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "core/csvout.h"
#include "models/sae.h"
#include "ops/ops.h"
#include "tests/util/check_grad.h"
#include "tests/util/cli.h"

TestSuite(sae, .init = mg_cli_setup, .fini = mg_cli_teardown, .timeout = 120);

/* The loss as a function of every parameter and of the vectors x (a
 * parameter here, so that its gradient is checked too): 5 vectors of 4,
 * 6 latents, 3 active. */
static mg_tensor *build_sae(mg_graph *g, void *ctx) {
    (void)ctx;
    mg_tensor *x = mg_param(g, "x", MG_NORMAL(1.0), MG_SHAPE(5, 4));
    mg_sae_out o;
    cr_assert_eq(mg_sae_build(g, x, 6, 3, 0.01f, &o), MG_OK, "%s", mg_graph_error(g));
    return o.loss;
}

Test(sae, gradcheck) { mg_check_grad("sae", (mg_gradcheck_spec){.build = build_sae, .seed = 3}); }

Test(sae, bad_k_is_a_graph_error) {
    mg_params *P = mg_params_new();
    mg_graph *g = mg_graph_new(P);
    mg_tensor *x = mg_input(g, "x", MG_F32, MG_SHAPE(5, 4));
    mg_sae_out o;
    cr_assert_neq(mg_sae_build(g, x, 6, 7, 0, &o), MG_OK);
    cr_assert(strstr(mg_graph_error(g), "k"), "%s", mg_graph_error(g));
    mg_graph_free(g);
    mg_params_free(P);
}

#define RUN                                                                                        \
    "train --model attn_stack --task markers --layers 2 --d-model 16 --heads 2 --batch 64 "        \
    "--probe-batch 64 --lr 3e-3 --wd 0.01 --steps 200 --eval-every 100 --checkpoint-every 100 "    \
    "--threads 1 --out %s"
#define SAE "--steps 100 --d-sae 32 --k 4 --pool-rows 512 --batch 64"

Test(sae, report_latents_and_ablations) {
    mg_ok(RUN, P("r"));
    proc out;
    cr_assert_eq(mg(&out, "sae %s --checkpoint 200 " SAE " --ablate 3", P("r")), 0, "%s", out.err);
    cr_assert(strstr(out.out, "held-out accuracy"), "%s", out.out);
    proc_free(&out);
    cJSON *s = json_file(P("r/sae/step_000200/summary.json"));
    cJSON *sum = json_file(P("r/summary.json"));
    /* as trained: the run's own test accuracy at that step */
    cr_assert_float_eq(jnum(s, "acc"), jnum(sum, "test_acc"), 1e-12);
    cr_assert_eq(jnum(s, "layer"), 0, "the middle block, (2 - 1) / 2, by default");
    double fve = jnum(s, "fraction_variance_explained");
    cr_assert(fve > 0 && fve <= 1, "variance explained %g", fve);
    /* the ablated latents are the three of largest variance */
    mg_csv *L = NULL;
    cr_assert_eq(mg_csv_read(P("r/sae/step_000200/latents.csv"), &L), MG_OK);
    cr_assert_eq(L->nrows, 32);
    const cJSON *ab = jget(s, "ablated_latents");
    cr_assert_eq(cJSON_GetArraySize(ab), 3);
    double least = INFINITY;
    for (int i = 0; i < 3; i++) {
        int j = cJSON_GetArrayItem(ab, i)->valueint;
        least = fmin(least, mg_csv_num(L, (size_t)j, mg_csv_col(L, "variance")));
    }
    int above = 0;
    for (size_t j = 0; j < L->nrows; j++)
        above += mg_csv_num(L, j, mg_csv_col(L, "variance")) > least;
    cr_assert_leq(above, 2, "an unablated latent has more variance than an ablated one");
    mg_csv_free(L);
    cJSON_Delete(s);
    cJSON_Delete(sum);
    /* ablating no latent changes nothing */
    mg_ok("sae %s --checkpoint 100 " SAE " --ablate 0", P("r"));
    s = json_file(P("r/sae/step_000100/summary.json"));
    cr_assert_eq(jnum(s, "acc"), jnum(s, "acc_ablated"));
    cJSON_Delete(s);
}

Test(sae, refuses_what_it_cannot_read) {
    mg_ok("train --model mlp --p 11 --steps 10 --threads 1 --out %s", P("mod"));
    proc out;
    cr_assert_eq(mg(&out, "sae %s " SAE, P("mod")), 2);
    cr_assert(strstr(out.err, "value"), "%s", out.err);
    cr_assert(!exists(P("mod/sae")), "nothing written");
    proc_free(&out);
    cr_assert_eq(mg(&out, "sae %s --k 40 --d-sae 32", P("mod")), 2);
    proc_free(&out);
    cr_assert_eq(mg(&out, "sae %s", P("missing")), 2);
    proc_free(&out);
    cr_assert_eq(mg(&out, "sae %s --bogus 1", P("mod")), 2);
    proc_free(&out);
}
