/* plot.h — private to `modgrad plot` (plot_cmd.c, plot_clocks.c,
 * plot_hierarchy.c, plot_progress.c, plot_manifold.c, plot_attention.c and plot_sae.c draw,
 * plot_data.c reads).
 *
 * The run being plotted, the extraction of plain whitespace-separated data
 * files (RUN/plots/data/NAME.dat) from the run's long-format CSVs, and the
 * gnuplot driver: each picture is one gnuplot script, saved next to its data
 * (RUN/plots/data/NAME.gp, rerunnable from RUN/plots with `gnuplot
 * data/NAME.gp`) and fed to gnuplot through a pipe; it draws NAME.png and
 * NAME.svg into RUN/plots. */
#ifndef MG_PLOT_H
#define MG_PLOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "core/csvout.h"

#define PLOT_MAX_WRITTEN                                                                           \
    64 /* paths listed: two per picture (SAE pictures are one per checkpoint) */

typedef struct {
    char dir[4096];      /* RUN as given, less trailing slashes */
    char plots[4200];    /* RUN/plots */
    char name[256];      /* RUN's last path component, for titles */
    double clock[3];     /* t_fit, t_grok, t_simplify; NAN when absent */
    char embed[64];      /* the embedding layer (summary's embed_layer) */
    char classifier[64]; /* the classifier layer (summary's classifier_layer) */
    bool layers_given;   /* embed/classifier came from summary.json */
    int top[2];          /* top frequency of the embedding, the classifier; 0 unknown */
    int p;               /* the modulus; 0 unknown */
    int modulus;         /* the labels' modulus, for titles: a sequence task's classes, else p */
    double xmax;         /* the step axis's end (set by plot_step_axis) */
    bool xlinear;        /* the step axis is linear (plot_clocks places its labels by it) */
    char model[64], task[32];
    bool pngcairo; /* else gnuplot's libgd `png` terminal */
    int status;    /* the exit status so far (MG_EXIT_*) */
    int nwritten;
    char *written[PLOT_MAX_WRITTEN]; /* the pictures drawn */
} plot_run;

/* The clocks' names, for labels. */
extern const char *const plot_clock_names[3];

/* Checks that gnuplot runs (false: not installed) and whether it has pngcairo. */
bool plot_find_gnuplot(bool *pngcairo);

/* Opens RUN: it must be a directory with metrics.csv (else an error and
 * MG_EXIT_USAGE). Reads summary.json and config.json when present and
 * creates RUN/plots/data. Returns MG_EXIT_OK or the exit status. */
int plot_open(plot_run *r, const char *dir);
void plot_close(plot_run *r);

/* Reads RUN/NAME and checks that it has the columns. NULL when the file is
 * absent (a note on stderr: the picture `what` is skipped) or malformed (an
 * error; r->status becomes MG_EXIT_USAGE). */
mg_csv *plot_csv(plot_run *r, const char *name, int ncols, const char *const *cols,
                 const char *what);
/* plot_csv for a file only some runs have (a study's): NULL without a note
 * when it is absent. */
mg_csv *plot_csv_if(plot_run *r, const char *name, int ncols, const char *const *cols,
                    const char *what);

/* RUN/geometry.csv with its columns step, layer, metric and value: plot_csv,
 * or with quiet plot_csv_if (NULL without a note when it is absent). */
mg_csv *plot_geometry(plot_run *r, const char *what, bool quiet);

/* Distinct values of a text column, in order of first appearance (at most max). */
int plot_distinct(const mg_csv *c, int col, const char **out, int max);
/* The same, copied (names up to 63 characters): for names used after c is freed. */
int plot_distinct_copy(const mg_csv *c, int col, char (*out)[64], int max);
/* True if s is one of the n strings. */
bool plot_has(const char *const *names, int n, const char *s);
/* When summary.json did not name them, picks the embedding and classifier
 * layers from the names a file has ("embed"; "classifier", "unembed", "out"). */
void plot_guess_layers(plot_run *r, const char *const *names, int n);

/* The embedding and the classifier among the n names (at most 2, in that order). */
int plot_main_layers(const plot_run *r, const char *const *names, int n, const char **out);
/* "embedding", or "embedding (NAME)" for an unusual name; likewise "classifier". */
const char *plot_role(const plot_run *r, const char *layer, char *buf, size_t n);

/* The value range of written series: lo = smallest positive value, hi = the
 * largest value, xmax = the largest x. */
typedef struct {
    size_t n;
    double lo, hi, xmax;
} plot_range;
void plot_range_init(plot_range *g);
/* Worth a log scale: positive values spanning more than a factor of 30. */
bool plot_range_log(const plot_range *g);

/* The data file name for a series: "data/" PREFIX LAYER SUFFIX, the layer's
 * characters outside [A-Za-z0-9._-] replaced by '_'. */
void plot_data_name(char *out, size_t n, const char *prefix, const char *layer, const char *suffix);

/* The x of a step on a log axis: step 0 is drawn at 1. */
double plot_x(double step);

/* Writes RUN/plots/FILE (a name from plot_data_name) with one line per row
 * of c whose column k1 is v1 (and k2 is v2 when k2 >= 0): plot_x(step) then
 * the nv columns vcols. Returns the number of lines; 0 writes no file.
 * Widens g with the values written (g may be NULL). */
size_t plot_series(plot_run *r, const char *file, const mg_csv *c, int k1, const char *v1, int k2,
                   const char *v2, int nv, const int *vcols, plot_range *g);
/* Opens RUN/plots/FILE for writing (NULL after an error message). */
FILE *plot_data_open(plot_run *r, const char *file);

/* The i-th colour of a cycle of ten (a line per layer or group). */
const char *plot_color(int i);

/* Writes text as a gnuplot single-quoted string. */
void plot_quote(FILE *s, const char *text);
/* Dashed vertical lines at the clocks that are known, labelled if labels. */
void plot_clocks(FILE *s, const plot_run *r, bool labels);
/* The clocks named in their colours in a row under the picture's title. */
void plot_clock_legend(FILE *s, const plot_run *r);

/* Draws the picture NAME (NAME.png and NAME.svg, w x h pixels) with the
 * gnuplot commands in body (run twice, once per terminal; body starts with
 * `reset`). Records the files; on failure prints why and sets r->status. */
bool plot_render(plot_run *r, const char *name, int w, int h, const char *body);

/* Sets up a picture: reset, the common style, and the multiplot (layout
 * "R,C" or NULL) titled "WHAT - RUN: model, task mod p". */
void plot_begin(FILE *s, const plot_run *r, const char *what, const char *layout);
/* Panel i of n stacked between screen heights top and bottom; the last one
 * gets the step axis's labels. */
void plot_stack(FILE *s, int i, int n, double top, double bottom);
/* A log step axis from 1 to xmax. */
void plot_step_axis(FILE *s, plot_run *r, double xmax); /* sets r->xmax */
void plot_yscale(FILE *s, bool log);
/* A log y range from g's decades with room above the data for the clocks' labels. */
void plot_headroom(FILE *s, const plot_range *g);
/* A picture's gnuplot commands, written to a memory stream. plot_draw ends
 * the multiplot, closes the stream, renders and frees the buffer. */
typedef struct {
    FILE *f;
    char *buf;
    size_t len;
} plot_body;
FILE *plot_body_open(plot_body *b); /* b->f, or NULL after an error message */
void plot_draw(plot_run *r, plot_body *b, const char *name, int w, int h);

/* The pictures of plot_clocks.c: clocks (summary.json's two_clocks) and
 * dynamics (stable ranks, gate flips, locking against step). */
void plot_two_clocks(plot_run *r);
void plot_dynamics(plot_run *r);
/* The picture of plot_hierarchy.c: hierarchy (the gradient hierarchy's
 * ratios, bounds and spectral norms against step), drawn when geometry.csv
 * has hier_ rows, without a note otherwise. */
void plot_hierarchy(plot_run *r);
/* The picture of plot_progress.c: progress (the restricted and excluded
 * losses, each key frequency alone and the logit periodicity against step),
 * drawn when geometry.csv has progress rows, without a note otherwise. */
void plot_progress(plot_run *r);
/* The pictures of the execution-manifold study, each drawn when the run has
 * its file: manifold, commutator and defect (plot_manifold.c, which draws
 * them all), attention and ablation (plot_attention.c). */
void plot_manifold_study(plot_run *r);
void plot_attention(plot_run *r);
void plot_ablation(plot_run *r);
/* The picture of plot_sae.c: sae_step_NNNNNN per RUN/sae/step_NNNNNN with
 * latents.csv and summary.json (`modgrad sae`), without a note otherwise. */
void plot_sae(plot_run *r);

#endif
