/* geometry_rows.h — reading a run's long-format geometry.csv in tests. */
#ifndef MG_TEST_GEOMETRY_ROWS_H
#define MG_TEST_GEOMETRY_ROWS_H

#include <math.h>
#include <string.h>

#include "core/csvout.h"

/* The value of (step, layer, metric), NaN if the file has no such row. */
static inline double geometry_value(const mg_csv *c, long step, const char *layer,
                                    const char *metric) {
    for (size_t r = 0; r < c->nrows; r++)
        if ((long)mg_csv_num(c, r, 0) == step && !strcmp(mg_csv_str(c, r, 1), layer) &&
            !strcmp(mg_csv_str(c, r, 2), metric))
            return mg_csv_num(c, r, 3);
    return NAN;
}

#endif
