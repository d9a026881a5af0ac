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

#endif
