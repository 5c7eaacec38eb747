/* test_penalty.c — the explicit penalty of the training objective
 * (models/harness/penalty.c): its forms and their canonical text, which
 * parameters a layer list picks (2-D ones only; "classifier" as the model's
 * class vectors where no layer has that name), the refusal of a layer
 * without a matrix naming those that have one, the graph left as it was
 * for none or lambda 0, the objective's value (cross-entropy + lambda times
 * the penalty) and its gradient. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "analysis/linalg.h"
#include "models/harness/penalty.h"
#include "ops/ops.h"
#include "tests/util/check_grad.h"

/* forms --------------------------------------------------------------------- */

static const char *canon(const char *form) {
    static char out[64];
    mg_status st = mg_penalty_canon_form(form, out, sizeof out, "--penalty");
    return st ? NULL : out;
}

Test(penalty, forms_and_their_canonical_text) {
    cr_assert_str_eq(canon("none"), "none");
    cr_assert_str_eq(canon(""), "none");
    cr_assert_str_eq(canon("l2"), "l2");
    cr_assert_str_eq(canon("schatten:q=1"), "schatten:q=1");
    cr_assert_str_eq(canon("schatten:q=1.0"), "schatten:q=1");
    cr_assert_str_eq(canon("schatten:q=5e-1"), "schatten:q=0.5");
    cr_assert_str_eq(canon("schatten:q=0.3333333333333333"), "schatten:q=0.3333333333333333");
    mg_penalty_form f;
    cr_assert_eq(mg_penalty_parse("schatten:q=3", "--penalty", &f), MG_OK);
    cr_assert_eq(f.kind, MG_PENALTY_SCHATTEN);
    cr_assert_eq(f.q, 3);
}

Test(penalty, bad_forms_are_refused_naming_the_flag) {
    static const struct {
        const char *form, *why;
    } bad[] = {
        {"foo", "unknown form 'foo'; allowed: none, l2, schatten:q=Q"},
        {"L2", "unknown form"},
        {"schatten", "unknown form"},
        {"schatten:q=", "finite number"},
        {"schatten:q=1x", "finite number"},
        {"schatten:q=inf", "finite number"},
        {"schatten:q=nan", "finite number"},
        {"schatten:q=0", "q must be > 0"},
        {"schatten:q=-2", "q must be > 0"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_null(canon(bad[i].form), "%s was accepted", bad[i].form);
        cr_assert(!strncmp(mg_errmsg(), "--penalty: ", 11) && strstr(mg_errmsg(), bad[i].why),
                  "%s: %s", bad[i].form, mg_errmsg());
    }
}

Test(penalty, layer_lists_are_checked) {
    char out[256];
    cr_assert_eq(mg_penalty_canon_layers("classifier", out, sizeof out, "--penalty-layers"), MG_OK);
    cr_assert_str_eq(out, "classifier");
    cr_assert_eq(mg_penalty_canon_layers("hidden,classifier", out, sizeof out, "L"), MG_OK);
    cr_assert_str_eq(out, "hidden,classifier");
    const char *bad[] = {"", ",hidden", "hidden,", "a,,b", "hidden.w", "a b", "a=1", "a,b,a"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(mg_penalty_canon_layers(bad[i], out, sizeof out, "--penalty-layers"),
                     MG_ERR_ARG, "'%s' was accepted", bad[i]);
        cr_assert(!strncmp(mg_errmsg(), "--penalty-layers: ", 18), "%s", mg_errmsg());
    }
}

/* the objective on a small model --------------------------------------------- */

enum { N = 6, V = 5, D = 4, H = 7, K = 5 };

/* logits = relu(E[a] @ W1 + b1) @ W2 + b2 with the mlp's parameter names
 * (classifier.w, the mlp's class vectors); or, with transformer names, the
 * class vectors are "unembed" and no layer is called classifier. Two extra
 * matrices in layer "attn" when attn is set. */
typedef struct {
    mg_graph *g;
    mg_params *P;
    mg_tensor *a, *y, *loss, *objective;
    const mg_model_def *m;
    int nodes; /* before the penalty */
} net;

static mg_tensor *build_net(net *n, bool transformer) {
    mg_graph *g = n->g;
    n->m = mg_model_find(transformer ? "transformer" : "mlp");
    cr_assert_not_null(n->m);
    mg_tensor *E = mg_param(g, "embed", MG_NORMAL(1), MG_SHAPE(V, D));
    mg_tensor *W1 =
        mg_param(g, transformer ? "attn.q" : "hidden.w", MG_NORMAL(0.5), MG_SHAPE(D, H));
    mg_tensor *b1 = mg_param(g, transformer ? "attn.b" : "hidden.b", MG_NORMAL(0.1), MG_SHAPE(H));
    mg_tensor *W2 =
        mg_param(g, transformer ? "unembed" : "classifier.w", MG_NORMAL(0.5), MG_SHAPE(H, K));
    mg_tensor *h = mg_relu(g, mg_add(g, mg_matmul(g, mg_gather(g, E, n->a), W1), b1));
    if (transformer) /* a second matrix of layer attn */
        h = mg_matmul(g, h, mg_param(g, "attn.k", MG_NORMAL(0.5), MG_SHAPE(H, H)));
    mg_tensor *z = mg_matmul(g, h, W2);
    if (!transformer) z = mg_add(g, z, mg_param(g, "classifier.b", MG_NORMAL(0.1), MG_SHAPE(K)));
    return mg_cross_entropy(g, z, n->y);
}

static net make(bool transformer) {
    net n = {0};
    n.P = mg_params_new();
    n.g = mg_graph_new(n.P);
    n.a = mg_input(n.g, "a", MG_I32, MG_SHAPE(N));
    n.y = mg_input(n.g, "labels", MG_I32, MG_SHAPE(N));
    n.loss = build_net(&n, transformer);
    cr_assert_not_null(n.loss, "%s", mg_graph_error(n.g));
    n.nodes = mg_graph_node_count(n.g);
    return n;
}

static void drop(net *n) {
    mg_graph_free(n->g);
    mg_params_free(n->P);
}

/* The inputs (params of the penalty nodes) of every schatten node, by name. */
static int penalised(const net *n, const char **names, int max) {
    int k = 0;
    for (int i = n->nodes; i < mg_graph_node_count(n->g); i++) {
        const mg_tensor *t = mg_graph_node(n->g, i);
        if (t->op && !strcmp(t->op->name, "schatten") && k < max) names[k++] = t->in[0]->name;
    }
    return k;
}

static mg_status objective(net *n, const char *form, const char *layers, float lambda) {
    return mg_penalty_objective(n->g, n->m, form, layers, lambda, n->loss, &n->objective);
}

Test(penalty, none_or_lambda_zero_leaves_the_graph_as_it_was) {
    const char *forms[] = {"none", "schatten:q=1", "l2"};
    const float lambdas[] = {0.5f, 0, 0};
    for (int i = 0; i < 3; i++) {
        net n = make(false);
        cr_assert_eq(objective(&n, forms[i], "classifier", lambdas[i]), MG_OK, "%s", mg_errmsg());
        cr_assert_eq(n.objective, n.loss, "%s, lambda %g", forms[i], (double)lambdas[i]);
        cr_assert_eq(mg_graph_node_count(n.g), n.nodes, "%s added nodes", forms[i]);
        drop(&n);
    }
    /* lambda 0 still checks the names */
    net n = make(false);
    cr_assert_eq(objective(&n, "schatten:q=1", "nosuch", 0), MG_ERR_ARG);
    drop(&n);
}

Test(penalty, classifier_names_the_class_vectors_and_only_matrices_count) {
    const char *names[8];
    net n = make(false);
    cr_assert_eq(objective(&n, "schatten:q=1", "classifier", 0.1f), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(penalised(&n, names, 8), 1);
    cr_assert_str_eq(names[0], "classifier.w"); /* not the bias classifier.b */
    drop(&n);

    n = make(true); /* no layer "classifier": the model's class vectors, unembed */
    cr_assert_eq(objective(&n, "schatten:q=1", "classifier", 0.1f), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(penalised(&n, names, 8), 1);
    cr_assert_str_eq(names[0], "unembed");
    drop(&n);

    n = make(true); /* a layer of two matrices and a vector: both matrices, once each */
    cr_assert_eq(objective(&n, "schatten:q=2", "attn,classifier,unembed", 0.1f), MG_OK, "%s",
                 mg_errmsg());
    cr_assert_eq(penalised(&n, names, 8), 3);
    cr_assert_str_eq(names[0], "attn.q");
    cr_assert_str_eq(names[1], "unembed");
    cr_assert_str_eq(names[2], "attn.k");
    drop(&n);
}

Test(penalty, a_layer_without_a_matrix_is_refused_naming_those_with_one) {
    net n = make(false);
    cr_assert_eq(objective(&n, "l2", "hidden,nosuch", 0.1f), MG_ERR_ARG);
    cr_assert(strstr(mg_errmsg(), "--penalty-layers: model mlp has no layer 'nosuch' with a 2-D "
                                  "parameter; the layers with one: embed, hidden, classifier"),
              "%s", mg_errmsg());
    cr_assert_eq(mg_graph_node_count(n.g), n.nodes);
    drop(&n);
}

/* Compiles n with its objective, fills the inputs, runs forward and backward. */
static void run(net *n) {
    mg_graph_keep(n->g, n->loss);
    cr_assert_eq(mg_graph_compile(n->g, n->objective), MG_OK, "%s", mg_errmsg());
    mg_rng rng;
    mg_rng_seed(&rng, 3);
    mg_params_init(n->P, &rng);
    const int32_t a[N] = {0, 1, 2, 3, 4, 2}, y[N] = {1, 2, 3, 4, 0, 3};
    mg_fill_i32(n->a, a);
    mg_fill_i32(n->y, y);
    cr_assert_eq(mg_graph_forward(n->g), MG_OK, "%s", mg_errmsg());
}

static const float *param(net *n, const char *name, const mg_param_info **info) {
    *info = mg_params_info(n->P, mg_params_find(n->P, name));
    return mg_params_data(n->P) + (*info)->offset;
}

Test(penalty, objective_is_the_cross_entropy_plus_lambda_times_the_penalty) {
    const float lambda = 0.25f;
    for (int form = 0; form < 2; form++) {
        net n = make(false);
        cr_assert_eq(objective(&n, form ? "l2" : "schatten:q=1", "hidden,classifier", lambda),
                     MG_OK, "%s", mg_errmsg());
        run(&n);
        double pen = 0;
        const char *mats[] = {"hidden.w", "classifier.w"};
        for (int k = 0; k < 2; k++) {
            const mg_param_info *info;
            const float *w = param(&n, mats[k], &info);
            if (form) {
                for (size_t i = 0; i < info->numel; i++) pen += (double)w[i] * w[i];
            } else {
                mg_linalg_spectrum s;
                cr_assert_eq(mg_linalg_spectrum_compute(w, (int)info->shape[0], (int)info->shape[1],
                                                        info->shape[1], 1, &s),
                             MG_OK);
                pen += s.schatten1;
                mg_linalg_spectrum_free(&s);
            }
        }
        double want = mg_scalar(n.loss) + lambda * pen;
        cr_assert(fabs(mg_scalar(n.objective) - want) <= 1e-5 * want,
                  "%s: objective %.8g, want %.8g", form ? "l2" : "nuclear",
                  (double)mg_scalar(n.objective), want);
        drop(&n);
    }
}

/* the gradient of the whole objective -------------------------------------- */

typedef struct {
    const char *form;
    mg_tensor *a, *y;
} grad_case;

static mg_tensor *build_objective(mg_graph *g, void *ctx) {
    grad_case *c = ctx;
    net n = {.g = g, .P = mg_graph_params(g)};
    n.a = c->a = mg_input(g, "a", MG_I32, MG_SHAPE(N));
    n.y = c->y = mg_input(g, "labels", MG_I32, MG_SHAPE(N));
    n.loss = build_net(&n, false);
    cr_assert_eq(
        mg_penalty_objective(g, n.m, c->form, "hidden,classifier", 0.3f, n.loss, &n.objective),
        MG_OK, "%s", mg_errmsg());
    return n.objective;
}
static void fill_objective(mg_graph *g, void *ctx) {
    (void)g;
    grad_case *c = ctx;
    const int32_t a[N] = {0, 1, 2, 3, 4, 2}, y[N] = {1, 2, 3, 4, 0, 3};
    mg_fill_i32(c->a, a);
    mg_fill_i32(c->y, y);
}

Test(penalty, gradient_of_the_objective_nuclear) {
    grad_case c = {.form = "schatten:q=1"};
    mg_check_grad("CE + 0.3 nuclear",
                  (mg_gradcheck_spec){
                      .build = build_objective, .fill = fill_objective, .ctx = &c, .seed = 4});
}
Test(penalty, gradient_of_the_objective_l2) {
    grad_case c = {.form = "l2"};
    mg_check_grad("CE + 0.3 l2",
                  (mg_gradcheck_spec){
                      .build = build_objective, .fill = fill_objective, .ctx = &c, .seed = 4});
}
