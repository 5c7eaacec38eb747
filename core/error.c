/* error.c — the thread-local last-error message (see error.h). */
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char errbuf[1024];

mg_status mg_fail(mg_status s, const char *fmt, ...) {
    /* Format into a local buffer first: callers often wrap the previous
     * message (mg_fail(st, "while X: %s", mg_errmsg())). */
    char msg[sizeof errbuf];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    memcpy(errbuf, msg, sizeof errbuf);
    return s;
}

const char *mg_errmsg(void) { return errbuf; }

void mg_clear_error(void) { errbuf[0] = '\0'; }

const char *mg_status_name(mg_status s) {
    switch (s) {
    case MG_OK: return "ok";
    case MG_ERR_ARG: return "bad argument";
    case MG_ERR_SHAPE: return "shape error";
    case MG_ERR_NOMEM: return "out of memory";
    case MG_ERR_IO: return "i/o error";
    case MG_ERR_FORMAT: return "format error";
    case MG_ERR_NUMERIC: return "numeric error";
    case MG_ERR_STATE: return "state error";
    case MG_ERR_RUN: return "runs failed";
    }
    return "unknown error";
}
