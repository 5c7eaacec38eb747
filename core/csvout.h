/* csvout.h — the run's metric CSVs: an appender, and a reader for the analyses.
 *
 * Not a general CSV library: one header line of column names, then rows of
 * numbers ("%.9g", enough to round-trip a float) and short strings (a layer
 * or metric name in the long-format files). A string holding a comma, quote
 * or newline is quoted as in RFC 4180, and the reader undoes that, so pandas
 * and this reader agree on every file.
 *
 * Writing: mg_csv_open creates the file with its header, or appends to an
 * existing one after checking that its header is the same (a resumed run
 * keeps writing the same file). Then a row is built cell by cell and written
 * whole by mg_csv_end_row; mg_csv_append writes an all-numeric row at once. */
#ifndef MG_CSVOUT_H
#define MG_CSVOUT_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

/* ---- writing -------------------------------------------------------------- */

typedef struct mg_csv_writer mg_csv_writer;

/* Opens path for appending rows with the given columns (the first is usually
 * "step"). A missing file is created with the header line. An existing file
 * must have exactly this header (else MG_ERR_FORMAT naming both); an
 * incomplete last line, left by a run killed while writing, is dropped. */
mg_status mg_csv_open(const char *path, int ncols, const char *const *cols, mg_csv_writer **out);

/* Cells of the current row, left to right. */
mg_status mg_csv_put_int(mg_csv_writer *w, int64_t v);
mg_status mg_csv_put_double(mg_csv_writer *w, double v); /* "%.9g" */
mg_status mg_csv_put_str(mg_csv_writer *w, const char *s);
/* Writes the row; fails (and drops the row) unless it has every column. */
mg_status mg_csv_end_row(mg_csv_writer *w);

/* One row: step, then n values (n + 1 must be the column count). */
mg_status mg_csv_append(mg_csv_writer *w, int64_t step, int n, const double *values);

/* Pushes written rows to the operating system (fflush). */
mg_status mg_csv_flush(mg_csv_writer *w);
/* Flushes and closes; the status reports a failed final write. NULL is fine. */
mg_status mg_csv_close(mg_csv_writer *w);

/* For resuming from a checkpoint at `step`: rewrites path (atomically) keeping
 * the header and the rows whose first column is <= step, so that the resumed
 * run's rows are not doubled. A missing file is fine. */
mg_status mg_csv_truncate_after(const char *path, int64_t step);

/* ---- reading -------------------------------------------------------------- */

/* A whole CSV file. Each cell keeps its text and its value as a number. */
typedef struct {
    int ncols;
    size_t nrows;
    const char **names; /* ncols column names */
    const char **text;  /* nrows * ncols cell texts, row-major */
    double *values;     /* nrows * ncols, row-major; NaN where a cell is not a number */
    char *buf_;         /* private: the file, parsed in place */
    char *path_;        /* private: the path it was read from, for messages */
} mg_csv;

/* Reads path. Every row must have as many cells as the header (an error
 * names the line). A cell is a number when strtod consumes all of it
 * ("nan" and "inf" included). */
mg_status mg_csv_read(const char *path, mg_csv **out);
void mg_csv_free(mg_csv *c);

int mg_csv_col(const mg_csv *c, const char *name); /* -1 if absent */

/* The index of each of the n columns names[] into cols[]. A column the file
 * lacks is MG_ERR_FORMAT naming the file, the column and the columns it has:
 * the way to look columns up in a file a user may have edited. */
mg_status mg_csv_cols(const mg_csv *c, int n, const char *const *names, int *cols);

/* A cell's value and text. A row or column outside the table (a -1 from
 * mg_csv_col included) reads as NaN and "", never out of bounds. */
double mg_csv_num(const mg_csv *c, size_t row, int col);
const char *mg_csv_str(const mg_csv *c, size_t row, int col);

#endif
