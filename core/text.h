/* text.h — building the short texts that messages carry.
 *
 * Owns one job: appending to a fixed buffer without ever writing past it,
 * for the "allowed: a, b, c" lists that error messages name; and numbers
 * written as the shortest decimal that reads back the same. */
#ifndef MG_TEXT_H
#define MG_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* Appends item to the NUL-terminated list in buf (size bytes), with ", "
 * before it unless buf is empty. A list that no longer fits ends in "..."
 * and stays NUL-terminated; nothing is written past buf[size - 1]. */
void mg_list_add(char *buf, size_t size, const char *item);

/* The shortest decimal that reads back as v (as a float when single); whole
 * numbers as such (5000, not 5e+03). Returns buf. */
const char *mg_shortest_number(double v, bool single, char *buf, size_t n);

#endif
