/* manifold_series.c — summary.json's figures of the manifold study's series
 * (manifold.h): the commutator's early and late medians, and the attention
 * entropy at the last query at the first and the last evaluation.
 *
 * Early: the median over the first 20% of the commutator's measurements;
 * late: over the last 20% (at least one each), as SCIENCE.md reports them.
 * The ratios rho_exec / rho_rand are the medians of the per-measurement
 * ratios, for both random baselines (full space, block-matched). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "analysis/twoclocks.h"
#include "core/alloc.h"
#include "core/csvout.h"
#include "core/fsutil.h"
#include "models/harness/manifold.h"
#include "models/harness/rundir.h"

/* The median of the finite values among v[0..n) (NaN if none), of a copy. */
static double median(const double *v, size_t n) {
    double *c = mg_malloc((n ? n : 1) * sizeof *c);
    if (!c) return NAN;
    int k = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(v[i])) c[k++] = v[i];
    double m = mg_twoclocks_median(c, k);
    mg_free(c);
    return m;
}

static void add_num(cJSON *o, const char *key, double v) {
    if (isfinite(v)) cJSON_AddNumberToObject(o, key, v);
    else cJSON_AddNullToObject(o, key);
}

/* Early and late medians of column values v[0..n). */
static void early_late(cJSON *o, const char *key, const double *v, size_t n) {
    size_t k = n / 5 ? n / 5 : 1;
    if (k > n) k = n;
    char name[96];
    snprintf(name, sizeof name, "%s_early", key);
    add_num(o, name, n ? median(v, k) : NAN);
    snprintf(name, sizeof name, "%s_late", key);
    add_num(o, name, n ? median(v + n - k, k) : NAN);
}

static mg_status commutator(const char *dir, cJSON *mf) {
    char path[4096 + 64];
    snprintf(path, sizeof path, "%s/" MG_RUN_COMMUTATOR, dir);
    if (!mg_path_exists(path)) return MG_OK;
    mg_csv *c = NULL;
    mg_status st = mg_csv_read(path, &c);
    if (st) return st;
    int col[MG_COMMUTATOR_NCOLS];
    if ((st = mg_csv_cols(c, MG_COMMUTATOR_NCOLS, mg_commutator_cols, col))) {
        mg_csv_free(c);
        return st;
    }
    const size_t n = c->nrows;
    double *v = mg_malloc((n ? n : 1) * 5 * sizeof *v);
    if (!v) {
        mg_csv_free(c);
        return mg_fail(MG_ERR_NOMEM, "out of memory reading %s", path);
    }
    double *D = v, *rho = v + n, *full = v + 2 * n, *block = v + 3 * n, *cosab = v + 4 * n;
    size_t m = 0; /* the rows measured with a basis */
    for (size_t i = 0; i < n; i++) {
        D[i] = mg_csv_num(c, i, col[MG_COLIDX_commutator_defect]);
        cosab[i] = mg_csv_num(c, i, col[MG_COLIDX_commutator_cos_ab]);
        double r = mg_csv_num(c, i, col[MG_COLIDX_commutator_rho_exec]);
        if (!isfinite(r)) continue;
        rho[m] = r;
        full[m] = r / mg_csv_num(c, i, col[MG_COLIDX_commutator_rho_rand_full]);
        block[m] = r / mg_csv_num(c, i, col[MG_COLIDX_commutator_rho_rand_block]);
        m++;
    }
    cJSON *o = cJSON_AddObjectToObject(mf, "commutator");
    cJSON_AddNumberToObject(o, "measurements", (double)n);
    cJSON_AddNumberToObject(o, "with_basis", (double)m);
    early_late(o, "defect", D, n);
    double mx = NAN, med = median(D, n);
    for (size_t i = 0; i < n; i++)
        if (isfinite(D[i]) && !(D[i] <= mx)) mx = D[i];
    add_num(o, "defect_max_over_median", med > 0 ? mx / med : NAN);
    early_late(o, "cos_ab", cosab, n);
    early_late(o, "rho_exec", rho, m);
    early_late(o, "ratio_full", full, m);
    early_late(o, "ratio_block", block, m);
    mg_free(v);
    mg_csv_free(c);
    return MG_OK;
}

/* Mean over heads and groups of each layer's entropy at the first and the
 * last evaluation. */
static mg_status attention(const char *dir, cJSON *mf) {
    char path[4096 + 64];
    snprintf(path, sizeof path, "%s/" MG_RUN_ATTENTION, dir);
    if (!mg_path_exists(path)) return MG_OK;
    mg_csv *c = NULL;
    mg_status st = mg_csv_read(path, &c);
    if (st) return st;
    int col[MG_ATTENTION_NCOLS];
    if (!(st = mg_csv_cols(c, MG_ATTENTION_NCOLS, mg_attention_cols, col)) && c->nrows) {
        const int sc = col[MG_COLIDX_attention_step], lc = col[MG_COLIDX_attention_layer];
        const int ec = col[MG_COLIDX_attention_entropy];
        double first = mg_csv_num(c, 0, sc), last = mg_csv_num(c, c->nrows - 1, sc);
        cJSON *o = cJSON_AddObjectToObject(mf, "attention_entropy");
        cJSON_AddNumberToObject(o, "first_step", first);
        cJSON_AddNumberToObject(o, "last_step", last);
        for (size_t i = 0; i < c->nrows; i++) {
            const char *layer = mg_csv_str(c, i, lc);
            if (cJSON_GetObjectItemCaseSensitive(o, layer)) continue;
            double s[2] = {0, 0};
            int k[2] = {0, 0};
            for (size_t j = 0; j < c->nrows; j++) {
                if (strcmp(mg_csv_str(c, j, lc), layer)) continue;
                double step = mg_csv_num(c, j, sc);
                int w = step == first ? 0 : step == last ? 1 : -1;
                if (w >= 0) s[w] += mg_csv_num(c, j, ec), k[w]++;
            }
            cJSON *l = cJSON_AddObjectToObject(o, layer);
            add_num(l, "first", k[0] ? s[0] / k[0] : NAN);
            add_num(l, "last", k[1] ? s[1] / k[1] : NAN);
        }
    }
    mg_csv_free(c);
    return st;
}

mg_status mg_manifold_series_summary(const char *dir, cJSON *mf) {
    mg_status st = commutator(dir, mf);
    return st ? st : attention(dir, mf);
}
