/* fuzz_csv.c — libFuzzer harness: the input is a run's metric CSV.
 *
 * Byte 0 chooses the step mg_csv_truncate_after keeps; the rest is the file.
 * It is read (every cell and the metric columns looked up), truncated after
 * that step, and opened for appending with metrics.csv's columns; when the
 * open succeeds, a row is appended, and the file must then end with exactly
 * that row, whatever partial line the input ended in. */
#include <math.h>

#include "core/alloc.h"
#include "core/csvout.h"
#include "core/fsutil.h"
#include "tests/fuzz/fuzz_util.h"

static const char *const cols[] = {"step",      "wall_s",    "train_loss",
                                   "train_acc", "test_loss", "test_acc"};
static char path[600];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    snprintf(path, sizeof path, "%s/metrics.csv", fuzz_dir());
    return 0;
}

static void read_all(void) {
    mg_csv *c = NULL;
    if (mg_csv_read(path, &c) != MG_OK) {
        FUZZ_CHECK(c == NULL);
        return;
    }
    FUZZ_CHECK(c->ncols >= 1);
    for (int k = 0; k < c->ncols; k++) FUZZ_CHECK(c->names[k] != NULL);
    double sum = 0;
    size_t len = 0;
    for (size_t r = 0; r < c->nrows; r++)
        for (int k = -1; k <= c->ncols; k++) {
            double v = mg_csv_num(c, r, k);
            if (k < 0 || k == c->ncols) FUZZ_CHECK(isnan(v));
            sum += v;
            len += strlen(mg_csv_str(c, r, k));
        }
    int idx[6];
    if (mg_csv_cols(c, 6, cols, idx) == MG_OK)
        for (int k = 0; k < 6; k++) FUZZ_CHECK(!strcmp(c->names[idx[k]], cols[k]));
    (void)sum, (void)len;
    mg_csv_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int64_t keep = (int64_t)data[0] - 8; /* -8 .. 247: before, inside and past the rows */
    fuzz_write(path, data + 1, size - 1);
    read_all();
    if (mg_csv_truncate_after(path, keep) == MG_OK) read_all();
    fuzz_write(path, data + 1, size - 1);
    mg_csv_writer *w = NULL;
    if (mg_csv_open(path, 6, cols, &w) != MG_OK) {
        FUZZ_CHECK(w == NULL);
        return 0;
    }
    const double row[] = {0.5, 1, 0.25, 2, 0.125};
    FUZZ_CHECK(mg_csv_append(w, 7, 5, row) == MG_OK);
    FUZZ_CHECK(mg_csv_close(w) == MG_OK);
    char *text;
    size_t n;
    FUZZ_CHECK(mg_read_file(path, &text, &n) == MG_OK);
    const char *want = "\n7,0.5,1,0.25,2,0.125\n";
    size_t wl = strlen(want);
    FUZZ_CHECK(n >= wl && !memcmp(text + n - wl, want, wl));
    mg_free(text);
    read_all();
    return 0;
}
