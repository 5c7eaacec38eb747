/* test_error.c — status codes and the last error message (core/error.h):
 * every status has its own short name, mg_fail returns its status and keeps
 * the message, mg_clear_error empties it. */
#include <criterion/criterion.h>
#include <string.h>

#include "core/error.h"

Test(error, every_status_has_its_own_name) {
    const mg_status all[] = {MG_OK,     MG_ERR_ARG,    MG_ERR_SHAPE,   MG_ERR_NOMEM,
                             MG_ERR_IO, MG_ERR_FORMAT, MG_ERR_NUMERIC, MG_ERR_STATE};
    const int n = (int)(sizeof all / sizeof *all);
    cr_assert_str_eq(mg_status_name(MG_OK), "ok");
    cr_assert_str_eq(mg_status_name(MG_ERR_SHAPE), "shape error");
    cr_assert_str_eq(mg_status_name((mg_status)99), "unknown error");
    for (int i = 0; i < n; i++) {
        cr_assert_str_neq(mg_status_name(all[i]), "unknown error", "status %d", (int)all[i]);
        for (int j = 0; j < i; j++)
            cr_assert_str_neq(mg_status_name(all[i]), mg_status_name(all[j]));
    }
}

Test(error, fail_returns_its_status_and_keeps_the_message) {
    cr_assert_eq(mg_fail(MG_ERR_ARG, "p must be >= %d, got %d", 2, 1), MG_ERR_ARG);
    cr_assert_str_eq(mg_errmsg(), "p must be >= 2, got 1");
    /* a message built from the previous one stays intact */
    cr_assert_eq(mg_fail(MG_ERR_IO, "reading x: %s", mg_errmsg()), MG_ERR_IO);
    cr_assert_str_eq(mg_errmsg(), "reading x: p must be >= 2, got 1");
    mg_clear_error();
    cr_assert_str_eq(mg_errmsg(), "");
}
