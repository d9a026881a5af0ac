/*
 * spin: the guard that keeps a connection's bug from spinning the loop
 * (stream/http_conn.c, stream/ws_server.c).  A connection counts the passes
 * it is given that move nothing (no byte read or written, no request begun):
 * more than LIM_CONN_DRY_PASSES of them within one second mean it is being
 * woken again and again for nothing, and its owner closes it.
 */
#ifndef STREAM_SPIN_H
#define STREAM_SPIN_H

#include "limits.h"

#include <stdbool.h>
#include <stdint.h>

struct spin_guard {
    uint64_t progress; /* the owner's progress count at the last pass */
    uint64_t since;    /* loop time the current second began */
    unsigned dry;      /* passes without progress within it */
};

/* One pass ended with the owner's progress count at progress; true: close the connection. */
static inline bool spin_guard_pass(struct spin_guard *g, uint64_t progress, uint64_t now)
{
    if (progress != g->progress) {
        g->progress = progress;
        g->dry = 0;
        return false;
    }
    if (now - g->since >= 1000) {
        g->since = now;
        g->dry = 0;
    }
    return ++g->dry > LIM_CONN_DRY_PASSES;
}

#endif
