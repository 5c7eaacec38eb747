/* test_text.c — bounded list appends (core/text.h). */
#include <criterion/criterion.h>
#include <string.h>

#include "core/text.h"

Test(text, list_joins_with_commas) {
    char buf[32] = "";
    mg_list_add(buf, sizeof buf, "a");
    mg_list_add(buf, sizeof buf, "bb");
    mg_list_add(buf, sizeof buf, "ccc");
    cr_expect_str_eq(buf, "a, bb, ccc");
}

Test(text, list_that_overflows_ends_in_dots_inside_the_buffer) {
    /* A guard after the buffer must stay untouched however many items come. */
    struct {
        char buf[12];
        char guard[8];
    } s;
    memset(&s, 0, sizeof s);
    memset(s.guard, 'G', sizeof s.guard);
    for (int i = 0; i < 50; i++) mg_list_add(s.buf, sizeof s.buf, "name");
    cr_expect_eq(strlen(s.buf) < sizeof s.buf, 1);
    cr_expect_str_eq(s.buf, "name, na...");
    for (size_t i = 0; i < sizeof s.guard; i++) cr_expect_eq(s.guard[i], 'G');
}

Test(text, list_with_a_long_first_item) {
    char buf[8] = "";
    mg_list_add(buf, sizeof buf, "abcdefghijkl");
    cr_expect_str_eq(buf, "...");
    mg_list_add(buf, sizeof buf, "x");
    cr_expect_str_eq(buf, "...");
}
