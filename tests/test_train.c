/* test_train.c — the trainer's accessors (models/harness/train.h): the
 * parameters at step 0 are kept apart from the training parameters and can
 * be replaced (a resumed run's), the training graph shares the trainer's
 * parameter store, and the optimizer keeps the settings it was made with. */
#include <criterion/criterion.h>
#include <string.h>

#include "models/harness/train.h"

static mg_trainer *small(void) {
    mg_train_cfg cfg;
    mg_train_defaults(&cfg, mg_model_find("mlp"));
    cfg.task.p = 11;
    cfg.opt[mg_model_option_index(cfg.model, "d")] = 8;
    cfg.opt[mg_model_option_index(cfg.model, "width")] = 16;
    cfg.threads = 1;
    cfg.optim.lr = 0.01f;
    mg_trainer *t = NULL;
    cr_assert_eq(mg_trainer_new(&cfg, &t), MG_OK, "%s", mg_errmsg());
    return t;
}

Test(train, init_params_stay_those_of_step_0) {
    mg_trainer *t = small();
    mg_params *P = mg_trainer_params(t);
    size_t n = mg_params_total(P);
    float *w0 = malloc(n * sizeof *w0);
    memcpy(w0, mg_params_data(P), n * sizeof *w0);
    cr_assert_eq(memcmp(mg_trainer_init_params(t), w0, n * sizeof *w0), 0);
    for (int s = 0; s < 3; s++) cr_assert_eq(mg_trainer_step(t), MG_OK, "%s", mg_errmsg());
    cr_assert_neq(memcmp(mg_params_data(P), w0, n * sizeof *w0), 0, "the steps moved nothing");
    cr_assert_eq(memcmp(mg_trainer_init_params(t), w0, n * sizeof *w0), 0,
                 "the step-0 copy moved with the parameters");
    /* a resumed run's step-0 parameters replace them */
    for (size_t i = 0; i < n; i++) w0[i] = (float)i;
    mg_trainer_set_init_params(t, w0);
    cr_assert_eq(memcmp(mg_trainer_init_params(t), w0, n * sizeof *w0), 0);
    free(w0);
    mg_trainer_free(t);
}

Test(train, graph_and_optimizer_share_the_trainers_settings) {
    mg_trainer *t = small();
    cr_assert_eq(mg_graph_params(mg_trainer_graph(t)), mg_trainer_params(t));
    const mg_opt_cfg *c = mg_optim_cfg(mg_trainer_optim(t));
    cr_assert_not_null(c);
    cr_assert_eq(c->kind, MG_OPT_ADAMW);
    cr_assert_float_eq(c->lr, 0.01f, 0);
    cr_assert_float_eq(c->weight_decay, 1.0f, 0);
    cr_assert_null(mg_optim_cfg(NULL));
    mg_trainer_free(t);
}

Test(train, a_named_node_keeps_its_name) {
    mg_trainer *t = small();
    mg_graph *g = mg_trainer_graph(t);
    mg_tensor *n = mg_graph_node(g, mg_graph_node_count(g) - 1);
    cr_assert_eq(mg_name(n, "the_last"), n, "mg_name returns its tensor");
    cr_assert_str_eq(n->name, "the_last");
    cr_assert_eq(mg_name(n, NULL), n);
    cr_assert_str_eq(n->name, "the_last", "a NULL name changes nothing");
    char longer[300];
    memset(longer, 'x', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    mg_name(n, longer);
    cr_assert_lt(strlen(n->name), sizeof n->name, "a long name is cut, not overflowed");
    mg_trainer_free(t);
}
