/* csvout.c — the metric CSV appender and reader (see csvout.h). */
#include "core/csvout.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/fsutil.h"

struct mg_csv_writer {
    FILE *fp;
    char *path;
    int ncols;
    int ncells; /* cells in the row being built */
    char *row;  /* the row being built */
    size_t len, cap;
    bool row_bad; /* a cell could not be added: the row is dropped */
};

/* ---- a growing string ------------------------------------------------------ */

typedef struct {
    char *s;
    size_t len, cap;
} strbuf;

static bool sb_add(strbuf *b, const char *s, size_t n) {
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 128;
        while (cap < b->len + n + 1) cap *= 2;
        char *g = mg_realloc(b->s, cap);
        if (!g) return false;
        b->s = g;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
    return true;
}

/* Adds s as one cell, quoted only if it must be (RFC 4180). */
static bool sb_add_cell(strbuf *b, const char *s) {
    if (!s[strcspn(s, ",\"\r\n")]) return sb_add(b, s, strlen(s));
    bool ok = sb_add(b, "\"", 1);
    for (const char *c = s; ok && *c; c++) ok = *c == '"' ? sb_add(b, "\"\"", 2) : sb_add(b, c, 1);
    return ok && sb_add(b, "\"", 1);
}

/* ---- writer ---------------------------------------------------------------- */

/* Makes the existing file ready for appending: same header, no partial
 * last line. */
static mg_status check_existing(const char *path, const char *header) {
    char *buf;
    size_t n;
    mg_status s = mg_read_file(path, &buf, &n);
    if (s != MG_OK) return s;
    size_t hlen = strlen(header) - 1; /* without its '\n' */
    size_t first = strcspn(buf, "\n");
    size_t cmp = first && buf[first - 1] == '\r' ? first - 1 : first;
    if (n == 0) {
        /* Created but never written: start it over. */
        mg_free(buf);
        return mg_write_file_atomic(path, header, hlen + 1);
    }
    if (cmp != hlen || memcmp(buf, header, hlen)) {
        s = mg_fail(MG_ERR_FORMAT, "%s has header '%.*s' but this run writes '%.*s'", path,
                    (int)(cmp > 200 ? 200 : cmp), buf, (int)hlen, header);
    } else if (buf[n - 1] != '\n') {
        /* A run killed mid-row left part of a line: drop it (or complete
         * the header line if that is all there is). */
        char *last = buf + n - 1;
        while (last > buf && *last != '\n') last--;
        if (*last != '\n') {
            FILE *fp = fopen(path, "a");
            if (!fp || fputc('\n', fp) == EOF)
                s = mg_fail(MG_ERR_IO, "cannot write %s: %s", path, strerror(errno));
            if (fp && fclose(fp) != 0 && s == MG_OK)
                s = mg_fail(MG_ERR_IO, "cannot write %s: %s", path, strerror(errno));
        } else if (truncate(path, (off_t)(last - buf + 1)) != 0) {
            s = mg_fail(MG_ERR_IO, "cannot drop the incomplete last line of %s: %s", path,
                        strerror(errno));
        }
    }
    mg_free(buf);
    return s;
}

mg_status mg_csv_open(const char *path, int ncols, const char *const *cols, mg_csv_writer **out) {
    *out = NULL;
    if (!path || ncols < 1 || !cols)
        return mg_fail(MG_ERR_ARG, "mg_csv_open needs a path and at least one column");
    strbuf h = {0};
    bool ok = true;
    for (int i = 0; ok && i < ncols; i++) {
        if (!cols[i] || !*cols[i]) {
            mg_free(h.s);
            return mg_fail(MG_ERR_ARG, "%s: column %d has no name", path, i);
        }
        ok = (i == 0 || sb_add(&h, ",", 1)) && sb_add_cell(&h, cols[i]);
    }
    ok = ok && sb_add(&h, "\n", 1);
    mg_csv_writer *w = ok ? mg_calloc(1, sizeof *w) : NULL;
    size_t plen = strlen(path) + 1;
    if (w) w->path = mg_malloc(plen);
    if (!w || !w->path) {
        mg_free(h.s);
        mg_csv_close(w);
        return mg_fail(MG_ERR_NOMEM, "out of memory opening %s", path);
    }
    memcpy(w->path, path, plen);
    w->ncols = ncols;
    /* A new file gets its header atomically, so it never has half a header. */
    mg_status s =
        mg_path_exists(path) ? check_existing(path, h.s) : mg_write_file_atomic(path, h.s, h.len);
    mg_free(h.s);
    if (s == MG_OK && !(w->fp = fopen(path, "a")))
        s = mg_fail(MG_ERR_IO, "cannot append to %s: %s", path, strerror(errno));
    if (s != MG_OK) {
        mg_csv_close(w);
        return s;
    }
    *out = w;
    return MG_OK;
}

static mg_status put(mg_csv_writer *w, const char *cell, bool as_string) {
    if (w->ncells >= w->ncols) {
        w->row_bad = true;
        return mg_fail(MG_ERR_ARG, "%s: a row has more than its %d columns", w->path, w->ncols);
    }
    strbuf b = {w->row, w->len, w->cap};
    bool ok = (w->ncells == 0 || sb_add(&b, ",", 1)) &&
              (as_string ? sb_add_cell(&b, cell) : sb_add(&b, cell, strlen(cell)));
    w->row = b.s;
    w->len = b.len;
    w->cap = b.cap;
    w->ncells++;
    if (!ok) {
        w->row_bad = true;
        return mg_fail(MG_ERR_NOMEM, "out of memory writing a row of %s", w->path);
    }
    return MG_OK;
}

mg_status mg_csv_put_int(mg_csv_writer *w, int64_t v) {
    char cell[32];
    snprintf(cell, sizeof cell, "%" PRId64, v);
    return put(w, cell, false);
}

mg_status mg_csv_put_double(mg_csv_writer *w, double v) {
    char cell[40];
    snprintf(cell, sizeof cell, "%.9g", v);
    return put(w, cell, false);
}

mg_status mg_csv_put_str(mg_csv_writer *w, const char *s) { return put(w, s ? s : "", true); }

static void reset_row(mg_csv_writer *w) {
    w->ncells = 0;
    w->row_bad = false;
    w->len = 0;
}

mg_status mg_csv_end_row(mg_csv_writer *w) {
    int n = w->ncells;
    bool bad = w->row_bad;
    size_t len = w->len;
    reset_row(w);
    if (bad) return mg_fail(MG_ERR_ARG, "%s: a row with a bad cell was dropped", w->path);
    if (n != w->ncols)
        return mg_fail(MG_ERR_ARG, "%s: a row has %d cells but the file has %d columns", w->path, n,
                       w->ncols);
    if (fwrite(w->row, 1, len, w->fp) != len || fputc('\n', w->fp) == EOF)
        return mg_fail(MG_ERR_IO, "cannot write %s: %s", w->path, strerror(errno));
    return MG_OK;
}

mg_status mg_csv_append(mg_csv_writer *w, int64_t step, int n, const double *values) {
    mg_status s = mg_csv_put_int(w, step);
    for (int i = 0; s == MG_OK && i < n; i++) s = mg_csv_put_double(w, values[i]);
    if (s != MG_OK) {
        reset_row(w);
        return s;
    }
    return mg_csv_end_row(w);
}

mg_status mg_csv_flush(mg_csv_writer *w) {
    if (fflush(w->fp) != 0)
        return mg_fail(MG_ERR_IO, "cannot write %s: %s", w->path, strerror(errno));
    return MG_OK;
}

mg_status mg_csv_close(mg_csv_writer *w) {
    if (!w) return MG_OK;
    mg_status s = MG_OK;
    if (w->fp && fclose(w->fp) != 0)
        s = mg_fail(MG_ERR_IO, "cannot write %s: %s", w->path, strerror(errno));
    mg_free(w->row);
    mg_free(w->path);
    mg_free(w);
    return s;
}

mg_status mg_csv_truncate_after(const char *path, int64_t step) {
    if (!mg_path_exists(path)) return MG_OK;
    char *buf;
    size_t n;
    mg_status s = mg_read_file(path, &buf, &n);
    if (s != MG_OK) return s;
    /* Keep the header and each complete row with step <= step; rows are
     * in step order, but filtering (not cutting) is just as cheap. */
    strbuf out = {0};
    bool ok = true;
    size_t line = 0;
    for (char *p = buf; ok && s == MG_OK && p < buf + n; line++) {
        char *nl = memchr(p, '\n', (size_t)(buf + n - p));
        if (!nl) break; /* an incomplete last line is dropped */
        bool keep = line == 0;
        if (!keep) {
            char *e;
            errno = 0;
            long long v = strtoll(p, &e, 10);
            if (e == p || errno || (*e != ',' && *e != '\n' && *e != '\r'))
                s = mg_fail(MG_ERR_FORMAT, "%s line %zu does not start with an integer step", path,
                            line + 1);
            keep = v <= step;
        }
        if (keep) ok = sb_add(&out, p, (size_t)(nl - p + 1));
        p = nl + 1;
    }
    if (!ok && s == MG_OK) s = mg_fail(MG_ERR_NOMEM, "out of memory rewriting %s", path);
    if (s == MG_OK) s = mg_write_file_atomic(path, out.s ? out.s : "", out.len);
    mg_free(out.s);
    mg_free(buf);
    return s;
}

/* ---- reader ---------------------------------------------------------------- */

/* Growing array of cell pointers. */
typedef struct {
    char **p;
    size_t n, cap;
} cells;

static bool cells_add(cells *c, char *s) {
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 256;
        char **g = mg_realloc(c->p, cap * sizeof *g);
        if (!g) return false;
        c->p = g;
        c->cap = cap;
    }
    c->p[c->n++] = s;
    return true;
}

/* Parses buf[0..n) in place (buf[n] is a NUL from mg_read_file): each cell
 * is unquoted and NUL-terminated where it lies. Records one cell pointer per
 * cell, checking every record has as many cells as the first. */
static mg_status parse(const char *path, char *buf, size_t n, cells *out, int *ncols) {
    char *p = buf, *end = buf + n;
    size_t line = 1;
    *ncols = 0;
    while (p < end) {
        size_t rec_line = line, first = out->n;
        if (*p == '\n' || (*p == '\r' && p + 1 < end && p[1] == '\n')) { /* blank line */
            p += *p == '\r' ? 2 : 1;
            line++;
            continue;
        }
        for (;;) { /* one cell */
            char *start = p, *w = p;
            if (p < end && *p == '"') {
                for (p++;; p++) {
                    if (p >= end)
                        return mg_fail(MG_ERR_FORMAT, "%s line %zu: a quoted cell never ends", path,
                                       rec_line);
                    if (*p == '"' && p + 1 < end && p[1] == '"') p++;
                    else if (*p == '"') break;
                    if (*p == '\n') line++;
                    *w++ = *p;
                }
                p++; /* closing quote */
                if (p < end && *p == '\r' && p + 1 < end && p[1] == '\n') p++;
                if (p < end && *p != ',' && *p != '\n')
                    return mg_fail(MG_ERR_FORMAT, "%s line %zu: text after a closing quote", path,
                                   line);
            } else {
                while (p < end && *p != ',' && *p != '\n') *w++ = *p++;
                if (w > start && w[-1] == '\r' && (p >= end || *p == '\n')) w--;
            }
            char delim = p < end ? *p : '\n';
            *w = '\0'; /* may overwrite the delimiter, read above */
            p++;
            if (!cells_add(out, start))
                return mg_fail(MG_ERR_NOMEM, "out of memory reading %s", path);
            if (delim == '\n') break;
        }
        line++;
        int got = (int)(out->n - first);
        if (*ncols == 0) *ncols = got;
        else if (got != *ncols)
            return mg_fail(MG_ERR_FORMAT, "%s line %zu has %d cells but the header has %d", path,
                           rec_line, got, *ncols);
    }
    if (*ncols == 0) return mg_fail(MG_ERR_FORMAT, "%s is empty: no header line", path);
    return MG_OK;
}

mg_status mg_csv_read(const char *path, mg_csv **out) {
    *out = NULL;
    mg_csv *c = mg_calloc(1, sizeof *c);
    if (!c) return mg_fail(MG_ERR_NOMEM, "out of memory reading %s", path);
    size_t n;
    mg_status s = mg_read_file(path, &c->buf_, &n);
    size_t plen = strlen(path) + 1;
    if (s == MG_OK && !(c->path_ = mg_malloc(plen)))
        s = mg_fail(MG_ERR_NOMEM, "out of memory reading %s", path);
    if (s == MG_OK) memcpy(c->path_, path, plen);
    cells cl = {0};
    if (s == MG_OK) s = parse(path, c->buf_, n, &cl, &c->ncols);
    if (s == MG_OK) {
        c->names = (const char **)cl.p;
        c->text = c->names + c->ncols;
        c->nrows = cl.n / (size_t)c->ncols - 1;
        c->values = mg_malloc((c->nrows * (size_t)c->ncols + 1) * sizeof *c->values);
        if (!c->values) s = mg_fail(MG_ERR_NOMEM, "out of memory reading %s", path);
    } else {
        mg_free(cl.p);
    }
    for (size_t i = 0; s == MG_OK && i < c->nrows * (size_t)c->ncols; i++) {
        char *e;
        double v = strtod(c->text[i], &e);
        c->values[i] = (e == c->text[i] || *e) ? NAN : v;
    }
    if (s != MG_OK) {
        mg_csv_free(c);
        return s;
    }
    *out = c;
    return MG_OK;
}

void mg_csv_free(mg_csv *c) {
    if (!c) return;
    mg_free((void *)c->names);
    mg_free(c->values);
    mg_free(c->buf_);
    mg_free(c->path_);
    mg_free(c);
}

int mg_csv_col(const mg_csv *c, const char *name) {
    for (int i = 0; i < c->ncols; i++)
        if (!strcmp(c->names[i], name)) return i;
    return -1;
}

mg_status mg_csv_cols(const mg_csv *c, int n, const char *const *names, int *cols) {
    for (int i = 0; i < n; i++) {
        if ((cols[i] = mg_csv_col(c, names[i])) >= 0) continue;
        strbuf have = {0};
        bool ok = true;
        for (int k = 0; ok && k < c->ncols && have.len < 200; k++)
            ok = (k == 0 || sb_add(&have, ", ", 2)) && sb_add_cell(&have, c->names[k]);
        mg_status s =
            mg_fail(MG_ERR_FORMAT, "%s has no column '%s' (its columns: %.240s%s)", c->path_,
                    names[i], have.s ? have.s : "", have.len >= 200 ? ", ..." : "");
        mg_free(have.s);
        return s;
    }
    return MG_OK;
}

static bool in_table(const mg_csv *c, size_t row, int col) {
    return col >= 0 && col < c->ncols && row < c->nrows;
}

double mg_csv_num(const mg_csv *c, size_t row, int col) {
    return in_table(c, row, col) ? c->values[row * (size_t)c->ncols + (size_t)col] : NAN;
}

const char *mg_csv_str(const mg_csv *c, size_t row, int col) {
    return in_table(c, row, col) ? c->text[row * (size_t)c->ncols + (size_t)col] : "";
}
