/* penalty.c — the explicit penalty of the training objective: its forms, the
 * layers it applies to, and the nodes it adds to the training graph (see
 * penalty.h; the Schatten op is ops/schatten.c). */
#include "models/harness/penalty.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/text.h"
#include "ops/ops.h"

#define FORMS "none, l2, schatten:q=Q (Q > 0; q=1 is the nuclear norm)"

mg_status mg_penalty_parse(const char *text, const char *label, mg_penalty_form *out) {
    static const char sch[] = "schatten:q=";
    *out = (mg_penalty_form){MG_PENALTY_NONE, 0};
    if (!text || !*text || !strcmp(text, "none")) return MG_OK;
    if (!strcmp(text, "l2")) {
        out->kind = MG_PENALTY_L2;
        return MG_OK;
    }
    if (strncmp(text, sch, sizeof sch - 1))
        return mg_fail(MG_ERR_ARG, "%s: unknown form '%s'; allowed: %s", label, text, FORMS);
    const char *num = text + sizeof sch - 1;
    char *end = NULL;
    double q = strtod(num, &end);
    if (!*num || *end || !isfinite(q))
        return mg_fail(MG_ERR_ARG, "%s: '%s': Q must be a finite number (%s)", label, text, FORMS);
    if (!(q > 0))
        return mg_fail(MG_ERR_ARG,
                       "%s: '%s': q must be > 0 (q = 0 would count the rank, whose gradient is 0 "
                       "almost everywhere; q < 0 grows without bound as a singular value "
                       "shrinks to 0)",
                       label, text);
    *out = (mg_penalty_form){MG_PENALTY_SCHATTEN, q};
    return MG_OK;
}

mg_status mg_penalty_canon_form(const char *value, char *out, size_t n, const char *label) {
    mg_penalty_form f;
    mg_status st = mg_penalty_parse(value, label, &f);
    if (st) return st;
    if (f.kind == MG_PENALTY_NONE) snprintf(out, n, "%s", "none");
    else if (f.kind == MG_PENALTY_L2) snprintf(out, n, "%s", "l2");
    else {
        char q[40];
        snprintf(out, n, "schatten:q=%s", mg_shortest_number(f.q, false, q, sizeof q));
    }
    return MG_OK;
}

mg_status mg_penalty_canon_layers(const char *value, char *out, size_t n, const char *label) {
    char buf[512];
    if (strlen(value) >= sizeof buf || strlen(value) >= n)
        return mg_fail(MG_ERR_ARG, "%s: the list is longer than %zu characters", label,
                       (n < sizeof buf ? n : sizeof buf) - 1);
    snprintf(buf, sizeof buf, "%s", value);
    for (const char *a = value; *a; a++)
        if (*a == ' ' || *a == '.' || *a == '=')
            return mg_fail(MG_ERR_ARG,
                           "%s: '%s' is not a list of layer names (comma-separated, e.g. "
                           "classifier,hidden; a layer is a parameter's name before its dot)",
                           label, value);
    if (!*value || *value == ',' || value[strlen(value) - 1] == ',' || strstr(value, ",,"))
        return mg_fail(MG_ERR_ARG, "%s: '%s' has an empty layer name", label, value);
    const char *names[256];
    int count = 0;
    for (char *save = NULL, *item = strtok_r(buf, ",", &save); item;
         item = strtok_r(NULL, ",", &save)) {
        for (int k = 0; k < count; k++)
            if (!strcmp(names[k], item))
                return mg_fail(MG_ERR_ARG, "%s: layer '%s' is named twice", label, item);
        if (count == 256) return mg_fail(MG_ERR_ARG, "%s: more than 256 layers", label);
        names[count++] = item;
    }
    snprintf(out, n, "%s", value);
    return MG_OK;
}

/* The layer of the model's class vectors: m->classifier, else the last
 * parameter declared (model.h). */
static int classifier_layer(const mg_params *P, const mg_model_def *m) {
    int k = m && m->classifier ? mg_params_find(P, m->classifier) : mg_params_count(P) - 1;
    return k >= 0 ? mg_params_info(P, k)->layer : -1;
}

/* Marks in pick[] (by parameter index) the 2-D parameters of the layer
 * named `name`; false when it has none. */
static bool pick_layer(const mg_params *P, const mg_model_def *m, const char *name, bool *pick) {
    int layer = mg_params_find_layer(P, name);
    if (layer < 0 && !strcmp(name, "classifier")) layer = classifier_layer(P, m);
    bool any = false;
    for (int k = 0; layer >= 0 && k < mg_params_count(P); k++) {
        const mg_param_info *info = mg_params_info(P, k);
        if (info->layer == layer && info->ndim == 2) any = pick[k] = true;
    }
    return any;
}

/* "embed, hidden, classifier": the layers that have a 2-D parameter. */
static void matrix_layers(const mg_params *P, char *buf, size_t n) {
    buf[0] = '\0';
    for (int l = 0; l < mg_params_layer_count(P); l++)
        for (int k = 0; k < mg_params_count(P); k++) {
            const mg_param_info *info = mg_params_info(P, k);
            if (info->layer == l && info->ndim == 2) {
                mg_list_add(buf, n, mg_params_layer_name(P, l));
                break;
            }
        }
}

/* The penalty term of one matrix. */
static mg_tensor *term(mg_graph *g, mg_tensor *w, const mg_penalty_form *f) {
    return f->kind == MG_PENALTY_L2 ? mg_sum_all(g, mg_square(g, w)) : mg_schatten(g, w, f->q);
}

mg_status mg_penalty_objective(mg_graph *g, const mg_model_def *m, const char *form,
                               const char *layers, float lambda, mg_tensor *loss,
                               mg_tensor **objective) {
    *objective = loss;
    mg_penalty_form f;
    mg_status st = mg_penalty_parse(form, "--penalty", &f);
    if (st || f.kind == MG_PENALTY_NONE) return st;
    char list[512];
    if ((st = mg_penalty_canon_layers(layers ? layers : "", list, sizeof list, "--penalty-layers")))
        return st;
    mg_params *P = mg_graph_params(g);
    int np = mg_params_count(P);
    bool *pick = mg_calloc((size_t)(np > 0 ? np : 1), sizeof *pick);
    if (!pick) return mg_fail(MG_ERR_NOMEM, "out of memory choosing the penalised layers");
    for (char *save = NULL, *name = strtok_r(list, ",", &save); !st && name;
         name = strtok_r(NULL, ",", &save))
        if (!pick_layer(P, m, name, pick)) {
            char have[512];
            matrix_layers(P, have, sizeof have);
            st = mg_fail(MG_ERR_ARG,
                         "--penalty-layers: model %s has no layer '%s' with a 2-D parameter; "
                         "the layers with one: %s ('classifier' also names the layer of the "
                         "class vectors)",
                         m ? m->name : "?", name, have[0] ? have : "none");
        }
    /* With lambda 0 the names are checked, but the graph stays as it was. */
    mg_tensor *pen = NULL;
    for (int i = 0; !st && lambda != 0 && i < mg_graph_node_count(g); i++) {
        mg_tensor *t = mg_graph_node(g, i);
        if (t->kind != MG_TENSOR_PARAM || !pick[t->param_index]) continue;
        pick[t->param_index] = false; /* once per parameter, however often the graph names it */
        mg_tensor *x = term(g, t, &f);
        pen = pen ? mg_add(g, pen, x) : x;
    }
    mg_free(pick);
    if (st || !pen) return st;
    mg_tensor *obj = mg_add(g, loss, mg_scale(g, mg_name(pen, "penalty"), lambda));
    if (mg_graph_status(g))
        return mg_fail(mg_graph_status(g), "the penalty: %s", mg_graph_error(g));
    *objective = mg_name(obj, "objective");
    return MG_OK;
}
