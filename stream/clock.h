/*
 * clock: the two clocks agentd reads, in milliseconds.  Monotonic for
 * timeouts and intervals (never jumps), real time for what a client sees
 * (createdAtMs, log timestamps).  Thread-safe.
 */
#ifndef STREAM_CLOCK_H
#define STREAM_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC, ms. */
int64_t clock_mono_ms(void);
/* CLOCK_REALTIME, ms since the epoch. */
int64_t clock_real_ms(void);
/*
 * A duration in ms from environment variable name (the integration tests
 * shorten timeouts this way): def when unset, or when not a number from 1 to
 * max (then with a warning).
 */
int64_t clock_env_ms(const char *name, int64_t def, int64_t max);

#endif
