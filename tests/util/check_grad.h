/* check_grad.h — a Criterion assertion around mg_gradcheck for the op
 * suites: the check must run, check something, and pass; its largest
 * errors are logged (run a suite with --verbose to see them). */
#ifndef MG_TEST_CHECK_GRAD_H
#define MG_TEST_CHECK_GRAD_H

#include <criterion/criterion.h>
#include <criterion/logging.h>

#include "tests/util/gradcheck.h"

static inline void mg_check_grad(const char *what, mg_gradcheck_spec spec) {
    mg_gradcheck_result r;
    int rc = mg_gradcheck(&spec, &r);
    cr_assert_str_empty(r.error, "%s: %s", what, r.error);
    cr_assert_gt(r.n_checked, 0, "%s: nothing was checked", what);
    cr_log_info("gradcheck %s: %d checked, max abs err %.3g, max rel err %.3g", what, r.n_checked,
                r.max_abs_err, r.max_rel_err);
    cr_assert_eq(rc, 0, "%s: %d of %d bad, worst %s (max abs %.3g, max rel %.3g)", what, r.n_bad,
                 r.n_checked, r.worst, r.max_abs_err, r.max_rel_err);
}

#endif
