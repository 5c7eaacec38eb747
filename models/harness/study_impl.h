/* study_impl.h — what the study's files share (study.c: the rows during
 * training; study_summary.c and study_clocks.c: the summary at the end):
 * views of the roles' matrices, and the long-format series read back. */
#ifndef MG_STUDY_IMPL_H
#define MG_STUDY_IMPL_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "core/csvout.h"
#include "models/harness/train.h"

/* A (rows x cols) matrix inside the parameter buffer, by strides. */
typedef struct {
    const float *w;
    int rows, cols;
    int64_t rs, cs;
    char layer[64]; /* the parameter's layer, for the geometry rows */
} mg_study_view;

/* One geometry.csv row: step, layer, metric, value. */
mg_status mg_study_row(mg_csv_writer *w, int64_t step, const char *layer, const char *metric,
                       double value);

/* The index of the role's parameter (NULL: the last declared). */
int mg_study_param_index(const mg_params *P, const char *name);
/* The token vectors: rows 0..n_values-1 of the embedding role. */
mg_status mg_study_embed_view(mg_trainer *t, mg_study_view *v);
/* The class vectors: rows (or columns) of the classifier role. */
mg_status mg_study_classifier_view(mg_trainer *t, mg_study_view *v);
/* The two roles are one matrix read the same way (a tied classifier): the
 * study measures it once, and the leads of one over the other do not apply. */
bool mg_study_roles_tied(mg_trainer *t);

/* A long-format CSV as parallel arrays: steps, "key" strings and values. */
typedef struct {
    mg_csv *csv;
    int64_t n;
    int64_t *steps;
    char **keys;
    double *vals;
} mg_study_table;

/* key = cell(key1) [+ "/" + cell(key2)], value = cell(valcol). A missing
 * file gives an empty table. */
mg_status mg_study_table_load(const char *path, const char *key1, const char *key2,
                              const char *valcol, mg_study_table *t);
void mg_study_table_free(mg_study_table *t);

typedef struct {
    int64_t *steps;
    double *v;
    int n;
} mg_study_series;

/* The rows of one key, in file order (empty when none). */
mg_study_series mg_study_select(const mg_study_table *t, const char *key);
/* Every row, in file order (empty when none, or out of memory). */
mg_study_series mg_study_all(const mg_study_table *t);
void mg_study_series_free(mg_study_series *s);
double mg_study_last(const mg_study_series *s); /* NaN when empty */

/* Sets o[key] to v, or to null when v is not finite. */
void mg_study_put_num(cJSON *o, const char *key, double v);
/* Sets o[key] to the step s, or to null when s < 0 (not reached). */
void mg_study_put_step(cJSON *o, const char *key, int64_t s);

/* The two-clocks section of the summary (study_clocks.c): the fitting
 * clock's ladder and line, the contraction after fitting, the
 * representation clock's ladders for each gap and their lines, and the
 * separation ratios, into sum["two_clocks"]. geo: geometry.csv's table. */
mg_status mg_study_two_clocks(mg_trainer *t, const char *dir, const mg_study_table *geo,
                              cJSON *sum);

#endif
