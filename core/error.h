/* error.h — status codes and the last error message.
 *
 * Library functions that can fail return an mg_status and leave a message
 * saying what was wrong and what to do. The message lives in a thread-local
 * buffer (like errno), so a caller reads it right after the failing call with
 * mg_errmsg(). Library code never prints and never exits: only tools/ talks
 * to the user. */
#ifndef MG_ERROR_H
#define MG_ERROR_H

typedef enum {
    MG_OK = 0,
    MG_ERR_ARG,     /* a bad argument or setting */
    MG_ERR_SHAPE,   /* shapes that do not fit together */
    MG_ERR_NOMEM,   /* an allocation failed */
    MG_ERR_IO,      /* a file could not be read or written */
    MG_ERR_FORMAT,  /* a file is malformed, truncated or has a bad checksum */
    MG_ERR_NUMERIC, /* a NaN or Inf appeared */
    MG_ERR_STATE,   /* a call made in the wrong order */
    MG_ERR_RUN,     /* some of several runs failed (a sweep): the others are done */
} mg_status;

/* Sets the message (printf-style) and returns s, so a failing path reads
 * `return mg_fail(MG_ERR_ARG, "p must be >= 2, got %d", p);` */
mg_status mg_fail(mg_status s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The message of the last failure on this thread ("" if none). */
const char *mg_errmsg(void);

/* Clears the message. */
void mg_clear_error(void);

/* A short name for a status ("shape error"). */
const char *mg_status_name(mg_status s);

#endif
