/* test_csv.c — the metric CSV appender and reader: round trips, resuming an
 * existing file, header mismatches, crash leftovers, quoting, bad input. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/csvout.h"
#include "core/fsutil.h"
#include "tests/util/fixture.h"

static char dir[64];

static void setup(void) {
    strcpy(dir, "/tmp/mg_csv_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void) { mg_test_rmdir_flat(dir); }

TestSuite(csv, .init = setup, .fini = teardown);

static const char *path_in(const char *name) {
    static char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return p;
}

static char *slurp(const char *path) {
    char *buf;
    size_t n;
    cr_assert_eq(mg_read_file(path, &buf, &n), MG_OK, "%s", mg_errmsg());
    return buf;
}

static void write_text(const char *path, const char *text) {
    cr_assert_eq(mg_write_file_atomic(path, text, strlen(text)), MG_OK, "%s", mg_errmsg());
}

static const char *metric_cols[] = {"step", "train_loss", "test_acc"};

Test(csv, write_then_read_numeric) {
    const char *p = path_in("metrics.csv");
    mg_csv_writer *w;
    cr_assert_eq(mg_csv_open(p, 3, metric_cols, &w), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(mg_csv_append(w, 0, 2, (double[]){2.302585093, 0.01}), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(mg_csv_append(w, 100, 2, (double[]){1.0 / 3.0, NAN}), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(mg_csv_append(w, 200, 2, (double[]){1e-30, INFINITY}), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(mg_csv_close(w), MG_OK, "%s", mg_errmsg());

    char *text = slurp(p);
    cr_assert_str_eq(text, "step,train_loss,test_acc\n"
                           "0,2.30258509,0.01\n"
                           "100,0.333333333,nan\n"
                           "200,1e-30,inf\n");
    mg_free(text);

    mg_csv *c;
    cr_assert_eq(mg_csv_read(p, &c), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(c->ncols, 3);
    cr_assert_eq(c->nrows, 3);
    cr_assert_str_eq(c->names[1], "train_loss");
    cr_assert_eq(mg_csv_col(c, "test_acc"), 2);
    cr_assert_eq(mg_csv_col(c, "nope"), -1);
    cr_assert_eq(mg_csv_num(c, 1, 0), 100.0);
    /* %.9g round-trips a float exactly. */
    cr_assert_eq((float)mg_csv_num(c, 1, 1), (float)(1.0 / 3.0));
    cr_assert(isnan(mg_csv_num(c, 1, 2)));
    cr_assert(isinf(c->values[2 * 3 + 2]));
    cr_assert_str_eq(mg_csv_str(c, 2, 1), "1e-30");
    mg_csv_free(c);
}

Test(csv, long_format_with_strings_and_quoting) {
    const char *p = path_in("geometry.csv");
    const char *cols[] = {"step", "layer", "metric", "value"};
    mg_csv_writer *w;
    cr_assert_eq(mg_csv_open(p, 4, cols, &w), MG_OK, "%s", mg_errmsg());
    const char *names[] = {"embed", "odd, \"quoted\"\nname"};
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(mg_csv_put_int(w, 10), MG_OK);
        cr_assert_eq(mg_csv_put_str(w, names[i]), MG_OK);
        cr_assert_eq(mg_csv_put_str(w, "rank"), MG_OK);
        cr_assert_eq(mg_csv_put_double(w, 3.5 + i), MG_OK);
        cr_assert_eq(mg_csv_end_row(w), MG_OK, "%s", mg_errmsg());
    }
    cr_assert_eq(mg_csv_flush(w), MG_OK);
    cr_assert_eq(mg_csv_close(w), MG_OK);

    mg_csv *c;
    cr_assert_eq(mg_csv_read(p, &c), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(c->nrows, 2);
    cr_assert_str_eq(mg_csv_str(c, 0, 1), "embed");
    cr_assert(isnan(mg_csv_num(c, 0, 1)));
    cr_assert_str_eq(mg_csv_str(c, 1, 1), names[1]);
    cr_assert_eq(mg_csv_num(c, 1, 3), 4.5);
    mg_csv_free(c);
}

Test(csv, reopen_appends_after_checking_header) {
    const char *p = path_in("metrics.csv");
    mg_csv_writer *w;
    cr_assert_eq(mg_csv_open(p, 3, metric_cols, &w), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(mg_csv_append(w, 0, 2, (double[]){1, 2}), MG_OK);
    mg_csv_close(w);
    cr_assert_eq(mg_csv_open(p, 3, metric_cols, &w), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(mg_csv_append(w, 1, 2, (double[]){3, 4}), MG_OK);
    mg_csv_close(w);
    char *text = slurp(p);
    cr_assert_str_eq(text, "step,train_loss,test_acc\n0,1,2\n1,3,4\n");
    mg_free(text);

    const char *other[] = {"step", "loss"};
    cr_assert_eq(mg_csv_open(p, 2, other, &w), MG_ERR_FORMAT);
    cr_assert_null(w);
    cr_assert(strstr(mg_errmsg(), p), "%s", mg_errmsg());
    cr_assert(strstr(mg_errmsg(), "'step,train_loss,test_acc'"), "%s", mg_errmsg());
    cr_assert(strstr(mg_errmsg(), "'step,loss'"), "%s", mg_errmsg());
    text = slurp(p); /* the refused file is untouched */
    cr_assert_str_eq(text, "step,train_loss,test_acc\n0,1,2\n1,3,4\n");
    mg_free(text);
}

Test(csv, reopen_drops_a_partial_last_line) {
    const char *p = path_in("metrics.csv");
    write_text(p, "step,train_loss,test_acc\n0,1,2\n1,3");
    mg_csv_writer *w;
    cr_assert_eq(mg_csv_open(p, 3, metric_cols, &w), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(mg_csv_append(w, 1, 2, (double[]){5, 6}), MG_OK);
    mg_csv_close(w);
    char *text = slurp(p);
    cr_assert_str_eq(text, "step,train_loss,test_acc\n0,1,2\n1,5,6\n");
    mg_free(text);
}

Test(csv, truncate_after_a_step_for_resume) {
    const char *p = path_in("metrics.csv");
    write_text(p, "step,train_loss,test_acc\n0,1,2\n100,3,4\n200,5,6\n30");
    cr_assert_eq(mg_csv_truncate_after(p, 100), MG_OK, "%s", mg_errmsg());
    char *text = slurp(p);
    cr_assert_str_eq(text, "step,train_loss,test_acc\n0,1,2\n100,3,4\n");
    mg_free(text);
    cr_assert_eq(mg_csv_truncate_after(path_in("absent.csv"), 5), MG_OK);
    write_text(p, "step,x\nabc,1\n");
    cr_assert_eq(mg_csv_truncate_after(p, 5), MG_ERR_FORMAT);
    cr_assert(strstr(mg_errmsg(), "line 2"), "%s", mg_errmsg());
}

Test(csv, row_with_wrong_cell_count_is_refused) {
    const char *p = path_in("metrics.csv");
    mg_csv_writer *w;
    cr_assert_eq(mg_csv_open(p, 3, metric_cols, &w), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(mg_csv_append(w, 0, 1, (double[]){1}), MG_ERR_ARG);
    cr_assert(strstr(mg_errmsg(), p), "%s", mg_errmsg());
    cr_assert_eq(mg_csv_append(w, 0, 3, (double[]){1, 2, 3}), MG_ERR_ARG);
    cr_assert_eq(mg_csv_append(w, 7, 2, (double[]){1, 2}), MG_OK, "%s", mg_errmsg());
    mg_csv_close(w);
    char *text = slurp(p);
    cr_assert_str_eq(text, "step,train_loss,test_acc\n7,1,2\n");
    mg_free(text);
}

Test(csv, reader_errors_name_path_and_line) {
    const char *p = path_in("bad.csv");
    mg_csv *c = (mg_csv *)1;
    write_text(p, "a,b\n1,2\n3\n");
    cr_assert_eq(mg_csv_read(p, &c), MG_ERR_FORMAT);
    cr_assert_null(c);
    cr_assert(strstr(mg_errmsg(), p) && strstr(mg_errmsg(), "line 3"), "%s", mg_errmsg());
    write_text(p, "");
    cr_assert_eq(mg_csv_read(p, &c), MG_ERR_FORMAT);
    cr_assert(strstr(mg_errmsg(), "empty"), "%s", mg_errmsg());
    write_text(p, "a,b\n\"open,2\n");
    cr_assert_eq(mg_csv_read(p, &c), MG_ERR_FORMAT);
    cr_assert(strstr(mg_errmsg(), "quoted"), "%s", mg_errmsg());
    cr_assert_eq(mg_csv_read(path_in("absent.csv"), &c), MG_ERR_IO);
    cr_assert(strstr(mg_errmsg(), "absent.csv"), "%s", mg_errmsg());
}

Test(csv, reader_accepts_crlf_blank_lines_and_no_final_newline) {
    const char *p = path_in("win.csv");
    write_text(p, "step,loss\r\n1,0.5\r\n\r\n2,0.25");
    mg_csv *c;
    cr_assert_eq(mg_csv_read(p, &c), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(c->nrows, 2);
    cr_assert_str_eq(c->names[1], "loss");
    cr_assert_eq(mg_csv_num(c, 0, 1), 0.5);
    cr_assert_eq(mg_csv_num(c, 1, 1), 0.25);
    mg_csv_free(c);

    write_text(p, "only\n");
    cr_assert_eq(mg_csv_read(p, &c), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(c->nrows, 0);
    mg_csv_free(c);
}

/* An independent reader: Python's csv module must see the same cells,
 * quoted string included. */
Test(csv, python_csv_module_reads_our_file) {
    const char *cols[] = {"step", "layer", "value"};
    char p[256], sp[256], cmd[700], out[2048];
    snprintf(p, sizeof p, "%s/probes.csv", dir);
    snprintf(sp, sizeof sp, "%s/check.py", dir);
    mg_csv_writer *w;
    cr_assert_eq(mg_csv_open(p, 3, cols, &w), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(mg_csv_put_int(w, 5), MG_OK);
    cr_assert_eq(mg_csv_put_str(w, "a,\"b\""), MG_OK);
    cr_assert_eq(mg_csv_put_double(w, 0.1f), MG_OK);
    cr_assert_eq(mg_csv_end_row(w), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(mg_csv_close(w), MG_OK);
    write_text(sp, "import csv, struct, sys\n"
                   "rows = list(csv.reader(open(sys.argv[1], newline='')))\n"
                   "assert rows[0] == ['step', 'layer', 'value'], rows\n"
                   "assert rows[1][:2] == ['5', 'a,\"b\"'], rows\n"
                   "f = struct.unpack('<f', struct.pack('<f', 0.1))[0]\n"
                   "assert struct.pack('<f', float(rows[1][2])) == struct.pack('<f', f), rows\n"
                   "assert len(rows) == 2, rows\n"
                   "print('ok')\n");
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s' '%s' 2>&1", sp, p);
    FILE *fp = popen(cmd, "r");
    cr_assert_not_null(fp);
    size_t n = fread(out, 1, sizeof out - 1, fp);
    out[n] = '\0';
    int st = pclose(fp);
    cr_assert_eq(st, 0, "python csv reader failed (status %d):\n%s", st, out);
}

/* A column the file lacks: mg_csv_cols names file and column; a -1 index
 * reads as NaN / "" instead of the cell before the table. */
Test(csv, missing_column_is_named_and_never_read_out_of_bounds) {
    const char *p = path_in("metrics.csv");
    write_text(p, "foo,bar\n1,2\n");
    mg_csv *c;
    cr_assert_eq(mg_csv_read(p, &c), MG_OK, "%s", mg_errmsg());
    int cols[2] = {7, 7};
    cr_assert_eq(mg_csv_cols(c, 2, (const char *[]){"bar", "test_acc"}, cols), MG_ERR_FORMAT);
    cr_assert(strstr(mg_errmsg(), p), "%s", mg_errmsg());
    cr_assert(strstr(mg_errmsg(), "no column 'test_acc' (its columns: foo, bar)"), "%s",
              mg_errmsg());
    cr_assert_eq(cols[0], 1);
    cr_assert_eq(mg_csv_cols(c, 2, (const char *[]){"bar", "foo"}, cols), MG_OK);
    cr_assert(cols[0] == 1 && cols[1] == 0);
    cr_assert(isnan(mg_csv_num(c, 0, -1)));
    cr_assert(isnan(mg_csv_num(c, 0, 2)));
    cr_assert(isnan(mg_csv_num(c, 1, 0)));
    cr_assert_str_eq(mg_csv_str(c, 0, -1), "");
    cr_assert_str_eq(mg_csv_str(c, 5, 0), "");
    cr_assert_eq(mg_csv_num(c, 0, 1), 2.0);
    mg_csv_free(c);
}
