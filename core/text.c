/* text.c — bounded appends for message lists (text.h). */
#include "core/text.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mg_list_add(char *buf, size_t size, const char *item) {
    if (!buf || size == 0) return;
    size_t used = strnlen(buf, size);
    if (used == size) { /* not terminated: make it so */
        buf[size - 1] = '\0';
        used = size - 1;
    }
    /* A list already cut short takes no more items. */
    if (used >= 3 && strcmp(buf + used - 3, "...") == 0) return;
    const char *sep = used ? ", " : "";
    size_t need = strlen(sep) + strlen(item ? item : "");
    if (used + need < size) {
        strcat(buf, sep);
        strcat(buf, item ? item : "");
        return;
    }
    /* Does not fit: end the list with "..." (once), inside the buffer. */
    if (size < 4) return;
    size_t at = used + 3 < size ? used : size - 4;
    memcpy(buf + at, "...", 4);
}

const char *mg_shortest_number(double v, bool single, char *buf, size_t n) {
    if (v == floor(v) && fabs(v) < 1e16) {
        snprintf(buf, n, "%.0f", v);
        return buf;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, v);
        double back = strtod(buf, NULL);
        if (single ? (float)back == (float)v : back == v) break;
    }
    return buf;
}
