/* plot_sae.c — `modgrad plot`'s picture of the sparse autoencoder (issue
 * 13; `modgrad sae`, models/harness/sae_study.h): one picture per SAE
 * directory RUN/sae/step_NNNNNN holding both latents.csv and summary.json,
 * drawn as plots/sae_step_NNNNNN.png (each checkpoint has its own
 * accuracies and counts; one picture each keeps them readable).
 *
 * The picture: each live latent's signed Pearson r with m (x) against its r
 * with the value's position (y), point size by the latent's variance; the
 * ablated (highest-variance) latents of summary.json in red, labelled with
 * their index; dotted lines at +-corr_min on both axes (a latent beyond a
 * vertical line tracks m, beyond a horizontal one the position). Dead
 * latents (active == 0: r undefined) are left out and counted in the key.
 * Beside it: the latents tracking m and the position (summary.json's
 * counts) and the held-out accuracy as trained, ablated and spliced.
 *
 * Signed r, not |r|: a latent that fires for few markers is as informative
 * as one that fires for many, and the sign says which. The data file
 * (data/sae_step_NNNNNN.dat) holds one row per live latent: latent,
 * variance, active, corr_m, corr_pos, ablated (1 or 0), and where it is
 * drawn: r undefined (NaN: m or the position never varies in the
 * evaluation vectors, as with a single m) is drawn at 0, and the text beside
 * it says for how many.
 *
 * No RUN/sae, or no directory with both files: no picture, no note. A
 * malformed latents.csv or summary.json: an error, exit 2, the other
 * pictures still drawn. Declared in plot.h. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/fsutil.h"
#include "models/harness/rundir.h"
#include "tools/cli/cli.h"
#include "tools/cli/plot.h"

#define DARK "#222222"
#define GREY "#888888"
#define BLUE "#1f77b4"
#define RED "#d62728"
#define MAX_ABLATED 256

/* What the picture takes from summary.json. */
typedef struct {
    double corr_min, acc[3], checkpoint, layer;
    int n_corr[2]; /* latents with |r| >= corr_min: m, position */
    int n_ablated, ablated[MAX_ABLATED];
} sae_summary;

/* A number of j, or false after naming the key (r->status: usage). */
static bool need_num(plot_run *r, const char *path, const cJSON *j, const char *key, double *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    if (cJSON_IsNumber(v)) {
        *out = v->valuedouble;
        return true;
    }
    cli_error("plot: %s has no number '%s'; skipping its SAE picture", path, key);
    r->status = MG_EXIT_USAGE;
    return false;
}

static bool read_summary(plot_run *r, const char *path, sae_summary *s) {
    char *text = NULL;
    size_t n;
    if (mg_read_file(path, &text, &n)) {
        cli_error("plot: %s; skipping its SAE picture", mg_errmsg());
        r->status = MG_EXIT_USAGE;
        return false;
    }
    cJSON *j = cJSON_Parse(text);
    mg_free(text);
    if (!cJSON_IsObject(j)) {
        cli_error("plot: %s is not a JSON object; skipping its SAE picture", path);
        r->status = MG_EXIT_USAGE;
        cJSON_Delete(j);
        return false;
    }
    static const char *const accs[3] = {"acc", "acc_ablated", "acc_spliced"};
    double nm = 0, np = 0;
    bool ok = need_num(r, path, j, "corr_min", &s->corr_min) &&
              need_num(r, path, j, "latents_corr_m", &nm) &&
              need_num(r, path, j, "latents_corr_pos", &np);
    for (int i = 0; ok && i < 3; i++) ok = need_num(r, path, j, accs[i], &s->acc[i]);
    s->n_corr[0] = (int)nm, s->n_corr[1] = (int)np;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "checkpoint");
    s->checkpoint = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    v = cJSON_GetObjectItemCaseSensitive(j, "layer");
    s->layer = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    const cJSON *ab = cJSON_GetObjectItemCaseSensitive(j, "ablated_latents"), *e;
    s->n_ablated = 0;
    if (ok && !cJSON_IsArray(ab)) {
        cli_error("plot: %s has no array 'ablated_latents'; skipping its SAE picture", path);
        ok = false;
    }
    if (ok) cJSON_ArrayForEach(e, ab) {
            if (!cJSON_IsNumber(e) || s->n_ablated == MAX_ABLATED) {
                cli_error("plot: %s: 'ablated_latents' must be at most %d latent numbers; "
                          "skipping its SAE picture",
                          path, MAX_ABLATED);
                ok = false;
                break;
            }
            s->ablated[s->n_ablated++] = e->valueint;
        }
    if (!ok) r->status = MG_EXIT_USAGE;
    cJSON_Delete(j);
    return ok;
}

static bool is_ablated(const sae_summary *s, int latent) {
    for (int i = 0; i < s->n_ablated; i++)
        if (s->ablated[i] == latent) return true;
    return false;
}

/* The picture of RUN/sae/NAME (both files there). */
static void sae_picture(plot_run *r, const char *name) {
    char rel[512], path[8192], file[600], pic[300];
    snprintf(path, sizeof path, "%s/sae/%s/summary.json", r->dir, name);
    sae_summary sum = {0};
    if (!read_summary(r, path, &sum)) return;
    snprintf(rel, sizeof rel, MG_RUN_SAE "/%s/" MG_RUN_SAE_LATENTS, name);
    mg_csv *c = plot_csv(r, rel, MG_LATENTS_NCOLS, mg_latents_cols, "its SAE picture");
    if (!c) return;
    int col[MG_LATENTS_NCOLS];
    for (int i = 0; i < MG_LATENTS_NCOLS; i++) col[i] = mg_csv_col(c, mg_latents_cols[i]);
    snprintf(pic, sizeof pic, "sae_%s", name);
    snprintf(file, sizeof file, "data/%s.dat", pic);
    FILE *f = plot_data_open(r, file);
    size_t live = 0, total = c->nrows, undefined[2] = {0, 0};
    double vmax = 0;
    for (size_t row = 0; row < c->nrows; row++)
        vmax = fmax(vmax, mg_csv_num(c, row, col[MG_COLIDX_latents_variance]));
    if (f) {
        fprintf(f, "# latent variance active corr_m corr_pos ablated x y (the live latents: "
                   "active > 0; x, y: where drawn, an undefined r at 0)\n");
        for (size_t row = 0; row < c->nrows; row++) {
            double v[MG_LATENTS_NCOLS]; /* in the file's column order */
            for (int i = 0; i < MG_LATENTS_NCOLS; i++) v[i] = mg_csv_num(c, row, col[i]);
            if (!(v[MG_COLIDX_latents_active] > 0)) continue; /* dead: never active, r undefined */
            fprintf(f, "%d", (int)v[MG_COLIDX_latents_latent]);
            for (int i = 1; i < MG_LATENTS_NCOLS; i++)
                fprintf(f, isfinite(v[i]) ? " %.9g" : " NaN", v[i]);
            fprintf(f, " %d", is_ablated(&sum, (int)v[MG_COLIDX_latents_latent]));
            for (int i = MG_COLIDX_latents_corr_m; i <= MG_COLIDX_latents_corr_pos; i++) {
                /* where drawn */
                undefined[i - MG_COLIDX_latents_corr_m] += !isfinite(v[i]);
                fprintf(f, " %.9g", isfinite(v[i]) ? v[i] : 0);
            }
            fputc('\n', f);
            live++;
        }
        fclose(f);
    }
    mg_csv_free(c);
    if (!f) return;
    if (!live) {
        cli_error("note: %s/%s has no live latent; skipping its SAE picture", r->dir, rel);
        return;
    }
    plot_body b;
    FILE *s = plot_body_open(&b);
    if (!s) return;
    char t[256];
    int k = snprintf(t, sizeof t, "SAE latents at step %.0f",
                     isfinite(sum.checkpoint) ? sum.checkpoint : atof(name + 5));
    if (isfinite(sum.layer)) snprintf(t + k, sizeof t - (size_t)k, ", after block %.0f", sum.layer);
    plot_begin(s, r, t, NULL);
    const double cm = sum.corr_min;
    fprintf(s,
            "set lmargin at screen 0.08\nset rmargin at screen 0.64\nset tmargin at screen 0.90\n"
            "set bmargin at screen 0.10\nset size ratio -1\n"
            "set xrange [-1.05:1.05]\nset yrange [-1.05:1.05]\nset xtics 0.5\nset ytics 0.5\n"
            "set key at screen 0.68, screen 0.88 left top Left reverse font ',10'\n");
    fprintf(s, "set xlabel 'Pearson r with m (the number of markers)'\n"
               "set ylabel \"Pearson r with the value's position\"\n");
    for (int sgn = -1; sgn <= 1; sgn += 2)
        fprintf(s,
                "set arrow from first %.9g, graph 0 to first %.9g, graph 1 nohead dt 3 lw 1.5 "
                "lc rgb '" GREY "' back\n"
                "set arrow from graph 0, first %.9g to graph 1, first %.9g nohead dt 3 lw 1.5 "
                "lc rgb '" GREY "' back\n",
                sgn * cm, sgn * cm, sgn * cm, sgn * cm);
    /* the counts and accuracies under the key */
    char buf[10][160];
    snprintf(buf[0], sizeof buf[0], "%zu latents: %zu live, %zu dead (not drawn)", total, live,
             total - live);
    snprintf(buf[1], sizeof buf[1], "|r| >= %.3g (beyond the dotted lines):", cm);
    snprintf(buf[2], sizeof buf[2], "  %d latents track m", sum.n_corr[0]);
    snprintf(buf[3], sizeof buf[3], "  %d track the value's position", sum.n_corr[1]);
    snprintf(buf[4], sizeof buf[4], "held-out accuracy:");
    snprintf(buf[5], sizeof buf[5], "  as trained: %.4f", sum.acc[0]);
    snprintf(buf[6], sizeof buf[6], "  the %d ablated: %.4f", sum.n_ablated, sum.acc[1]);
    snprintf(buf[7], sizeof buf[7], "  the reconstruction spliced in: %.4f", sum.acc[2]);
    /* r is undefined where m (or the position) never varies (a single m) */
    int nl = 8;
    if (undefined[0] || undefined[1]) {
        snprintf(buf[nl++], sizeof buf[8], "r undefined (drawn at 0):");
        snprintf(buf[nl++], sizeof buf[9], "  %zu with m, %zu with the position", undefined[0],
                 undefined[1]);
    }
    for (int i = 0; i < nl; i++) {
        fprintf(s, "set label %d at screen 0.68, screen %.3f left font ',10' ", i + 1,
                0.66 - 0.045 * i - (i >= 4 ? 0.03 : 0) - (i >= 8 ? 0.03 : 0));
        plot_quote(s, buf[i]);
        fputc('\n', s);
    }
    /* point size: 0.5 + 2 sqrt(variance / the largest) */
    fprintf(s,
            "vmax = %.9g\nsz(v) = vmax > 0 ? 0.5 + 2 * sqrt(v / vmax) : 1\n"
            "plot '%s' u ($6 > 0 ? NaN : $7):8:(sz($2)) w p pt 7 ps variable lc rgb '" BLUE
            "' t 'latent (size: variance)', \\\n"
            "  '' u ($6 > 0 ? $7 : NaN):8:(sz($2)) w p pt 5 ps variable lc rgb '" RED "' t ",
            vmax, file);
    snprintf(t, sizeof t, "ablated: the %d of highest variance", sum.n_ablated);
    plot_quote(s, t);
    fprintf(s,
            ", \\\n  '' u ($6 > 0 ? $7 : NaN):8:(sprintf('%%d', $1)) w labels left offset 0.6,0.5 "
            "font ',8' tc rgb '" DARK "' notitle\n");
    plot_draw(r, &b, pic, 1000, 640);
}

void plot_sae(plot_run *r) {
    char dir[8192];
    snprintf(dir, sizeof dir, "%s/" MG_RUN_SAE, r->dir);
    int64_t *steps = NULL;
    int n = 0;
    if (mg_list_steps(dir, "", &steps, &n)) {
        cli_error("plot: %s; skipping its SAE pictures", mg_errmsg());
        r->status = MG_EXIT_USAGE;
        return;
    }
    for (int i = 0; i < n; i++) {
        char name[64], a[8600], b[8600];
        snprintf(name, sizeof name, "step_%06lld", (long long)steps[i]);
        snprintf(a, sizeof a, "%s/%s/" MG_RUN_SAE_LATENTS, dir, name);
        snprintf(b, sizeof b, "%s/%s/" MG_RUN_SUMMARY, dir, name);
        if (mg_path_exists(a) && mg_path_exists(b)) sae_picture(r, name);
    }
    mg_free(steps);
}
