/* clock.h — the monotonic wall clock, in seconds: the one clock every timer
 * of the library and the command line reads (a step's profile, a run's loop
 * and its measurements, the sweep's pool, a model file's compile). */
#ifndef MG_CLOCK_H
#define MG_CLOCK_H

#include <time.h>

static inline double mg_clock_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#endif
