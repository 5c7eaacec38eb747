/* registry.c — the registered models, and parsing of their options. Adding a
 * model: write its file in models/ ending in MG_REGISTER_MODEL(its_def); no
 * other edit. A model file compiled outside the tree registers the same way
 * when its shared object is loaded. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/text.h"
#include "models/model.h"

#define MG_MAX_MODELS 64

static const mg_model_def *models[MG_MAX_MODELS];
static int n_models;

mg_status mg_model_register(const mg_model_def *m) {
    if (!m) return mg_fail(MG_ERR_ARG, "mg_model_register: model is NULL");
    if (!m->name || !*m->name)
        return mg_fail(MG_ERR_ARG, "mg_model_register: the model has no name");
    if (!m->build)
        return mg_fail(MG_ERR_ARG, "mg_model_register: model '%s' has no build function", m->name);
    if (m->reads != MG_READS_OPERANDS && m->reads != MG_READS_TOKENS)
        return mg_fail(MG_ERR_ARG, "mg_model_register: model '%s' reads %d (operands or tokens)",
                       m->name, (int)m->reads);
    if (m->n_options < 0 || m->n_options > MG_MODEL_MAX_OPTIONS || (m->n_options && !m->options))
        return mg_fail(MG_ERR_ARG, "mg_model_register: model '%s' declares %d options (0 to %d)",
                       m->name, m->n_options, MG_MODEL_MAX_OPTIONS);
    for (int i = 0; i < n_models; i++) {
        if (models[i] == m) return MG_OK;
        if (strcmp(models[i]->name, m->name) == 0)
            return mg_fail(MG_ERR_ARG,
                           "mg_model_register: a model named '%s' is already registered", m->name);
    }
    if (n_models == MG_MAX_MODELS)
        return mg_fail(MG_ERR_ARG, "mg_model_register: the registry is full (%d models)",
                       MG_MAX_MODELS);
    /* Kept in name order, so listings do not depend on the link order. */
    int at = n_models++;
    while (at > 0 && strcmp(models[at - 1]->name, m->name) > 0) models[at] = models[at - 1], at--;
    models[at] = m;
    return MG_OK;
}

const char *mg_model_reads_name(mg_model_reads r) {
    return r == MG_READS_TOKENS ? "tokens" : "operands a and b";
}

int mg_model_count(void) { return n_models; }
const mg_model_def *mg_model_at(int i) { return i >= 0 && i < n_models ? models[i] : NULL; }

const mg_model_def *mg_model_find(const char *name) {
    char known[512] = "";
    for (int i = 0; i < n_models; i++) {
        if (name && strcmp(models[i]->name, name) == 0) return models[i];
        mg_list_add(known, sizeof known, models[i]->name);
    }
    mg_fail(MG_ERR_ARG, "--model: unknown model '%s'; allowed: %s", name ? name : "", known);
    return NULL;
}

int mg_model_option_index(const mg_model_def *m, const char *name) {
    for (int i = 0; i < m->n_options; i++)
        if (strcmp(m->options[i].name, name) == 0) return i;
    return -1;
}

/* Position of word in a "a|b|c" list, or -1. */
static int choice_index(const char *choices, const char *word) {
    int k = 0;
    size_t len = strlen(word);
    for (const char *c = choices; *c; k++) {
        size_t n = strcspn(c, "|");
        if (n == len && strncmp(c, word, n) == 0) return k;
        c += n + (c[n] == '|');
    }
    return -1;
}

mg_status mg_model_option_parse(const mg_model_def *m, int i, const char *value, double *out) {
    char owner[128];
    snprintf(owner, sizeof owner, "model %s", m->name);
    return mg_option_parse(&m->options[i], owner, value, out);
}

mg_status mg_option_parse(const mg_model_option *o, const char *owner, const char *value,
                          double *out) {
    if (o->type == MG_OPTION_CHOICE) {
        int k = choice_index(o->choices, value);
        if (k < 0)
            return mg_fail(MG_ERR_ARG, "--%s: '%s' is not allowed for %s; allowed: %s", o->name,
                           value, owner, o->choices);
        *out = k;
        return MG_OK;
    }
    char *end;
    double v = strtod(value, &end);
    if (end == value || *end || !isfinite(v))
        return mg_fail(MG_ERR_ARG, "--%s: '%s' is not a number", o->name, value);
    if (o->type == MG_OPTION_INT && (v != floor(v) || v < 1 || v > 1e6))
        return mg_fail(MG_ERR_ARG, "--%s: must be a whole number from 1 to 1000000, got %s",
                       o->name, value);
    *out = v;
    return MG_OK;
}

const char *mg_model_option_str(const mg_model_def *m, int i, double v, char *buf, size_t n) {
    const mg_model_option *o = &m->options[i];
    if (o->type == MG_OPTION_CHOICE) {
        /* walk to choice number v; a value outside the list prints as a number */
        const char *c = o->choices;
        int k = 0;
        while (k < v && (c = strchr(c, '|'))) c++, k++;
        if (c && v == floor(v) && v >= 0 && k == (int)v) {
            snprintf(buf, n, "%.*s", (int)strcspn(c, "|"), c);
            return buf;
        }
    }
    snprintf(buf, n, "%.10g", v);
    return buf;
}
