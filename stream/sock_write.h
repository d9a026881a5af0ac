/*
 * sock_write: one write to a libuv stream that copies only what the socket did not take.
 * Used by every connection that writes its own bytes (stream/http_conn.c, stream/ws_server.c).
 */
#ifndef STREAM_SOCK_WRITE_H
#define STREAM_SOCK_WRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

/* A queued write has completed (status as libuv's: 0, or a negative UV_ error). */
typedef void (*sock_written_cb)(void *owner, int status);

enum sock_write_result {
    SOCK_WRITE_ERROR = -1, /* the socket is broken: nothing was queued */
    SOCK_WRITE_QUEUED = 0, /* the rest was copied and queued: `done(owner, status)` follows */
    SOCK_WRITE_DONE = 1,   /* the socket took all n bytes at once: no callback */
};

/*
 * Writes (p, n) to s.  With `try_first`, the socket is offered the bytes at once
 * (uv_try_write); pass false while an earlier queued write is in flight, so
 * bytes keep their order.  p need not outlive the call.
 */
enum sock_write_result sock_write(uv_stream_t *s, const void *p, size_t n, bool try_first,
                                  sock_written_cb done, void *owner);

#endif
