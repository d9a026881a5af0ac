/*
 * http_conn: one client TCP connection speaking HTTP/1.1, on the libuv loop.
 *
 * agentd owns the HTTP/1.1 wire itself (see docs/ARCHITECTURE.md, "The HTTP
 * listener"): libwebsockets 4.1.6 re-reads a pipelined request's own header
 * bytes as its body (and spins), cannot frame a chunked body past 100 MiB,
 * and closes oversized requests without a status.  A connection reads into
 * a bounded buffer, finds request heads with http_parse, frames bodies
 * (Content-Length or chunked, decoded here), and answers requests strictly in
 * order: the next pipelined request is parsed only once the previous
 * response is written and its body consumed.  Writes go through one
 * outstanding uv_write at a time, which is the backpressure signal for
 * streamed responses.  A WebSocket upgrade hands the socket, with the bytes
 * already read, to the caller (which gives it to libwebsockets).
 *
 * Timeouts (stream/limits.h): a head must be complete LIM_HEADER_TIMEOUT_MS
 * after its first byte (408), an idle keep-alive connection is closed after
 * LIM_KEEPALIVE_IDLE_MS (LIM_KEEPALIVE_BUSY_MS when slots run short), and a
 * body that stalls for LIM_BODY_IDLE_MS (not counting our own pauses) ends the
 * connection, releasing its upload.
 *
 * The http_conn_* calls that take a request are for stream/http.c; the rest
 * are for the listener.  All run on the loop thread.
 */
#ifndef STREAM_HTTP_CONN_H
#define STREAM_HTTP_CONN_H

#include "http_parse.h"
#include "problem.h"

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

struct http_conn;
struct http_req;

struct http_conn_ops {
    /*
     * A request head arrived; req belongs to the connection.  bad is non-NULL
     * for a request that cannot be served (malformed, too large): answer it
     * with that problem (the connection closes after).  Return -1 to close now.
     */
    int (*request)(struct http_req *req, const struct problem *bad);
};

/*
 * The request side (stream/http.c's http_exchange), which a connection calls
 * for its current request; the connection never calls stream/http.c itself.
 */
struct http_exchange_ops {
    /* http_req_from_head(), below. */
    int (*begin)(struct http_conn *c, struct http_head *head, bool parsed, struct http_req **slot,
                 struct problem *err);
    /* Body bytes, the body's end, room to write: 0, or -1 to close the connection. */
    int (*body)(struct http_req *req, const void *p, size_t n);
    int (*body_end)(struct http_req *req);
    int (*writable)(struct http_req *req);
    /* The connection goes: the request is aborted and clears the connection's slot. */
    void (*detach)(struct http_req *req);
    /* The stream broke inside req: answer p if nothing was sent yet. -1: close at once. */
    int (*fail)(struct http_req *req, const struct problem *p);
    /* "METHOD /path" for a log line. */
    void (*describe)(const struct http_req *req, char *out, size_t cap);
};

/* Listener side: the listener's ops, and the request side's (&http_exchange). */
void http_conn_setup(uv_loop_t *loop, const struct http_conn_ops *ops,
                     const struct http_exchange_ops *exchange);
/* Accepts one pending connection from server (503 and close past LIM_CONNECTIONS). */
void http_conn_accept(uv_stream_t *server);
/* Closes every connection (shutdown). */
void http_conn_close_all(void);
/* Connections closed so far because they made no progress (a bug; for tests and diagnostics). */
unsigned long http_conn_stuck_closed(void);
/*
 * Takes the socket of c for a WebSocket upgrade (through http_handoff(), which
 * keeps the request): *ret_fd is a new descriptor for it, *ret_bytes
 * (malloc'd, the caller frees) whatever the client sent after the request
 * head.  c is closed (its request detached) in every case.  Returns 0 or a
 * negative errno.
 */
int http_conn_handoff(struct http_conn *c, int *ret_fd, char **ret_bytes, size_t *ret_len);

/* stream/http.c side. */
/* Queues bytes for the client (copied when the socket cannot take them now). -1: gone. */
int http_conn_write(struct http_conn *c, const void *p, size_t n);
/* A write is still in flight: produce more only from the next writable call. */
bool http_conn_choked(const struct http_conn *c);
/* Calls the request's writable op soon (from the loop, not from here). */
void http_conn_want_write(struct http_conn *c);
/* Stops / restarts delivering the request body (and reading the socket for it). */
void http_conn_body_flow(struct http_conn *c, bool on);
/* The exchange is complete (response written, body consumed): serve the next request. */
void http_conn_next(struct http_conn *c);

/*
 * Internal to stream/: a request on c from head (moved into the request; head
 * may be NULL).  parsed is false for a head that failed to parse, kept only so
 * that the error reply can be built: the request is made and -1 returned with
 * err untouched.  Otherwise returns 0, or -1 with err for a request-target that
 * cannot be served.  The request exists in every case and *slot points to it.
 */
int http_req_from_head(struct http_conn *c, struct http_head *head, bool parsed,
                       struct http_req **slot, struct problem *err);
/* The connection a request arrived on, or NULL once detached. */
struct http_conn *http_req_conn(const struct http_req *req);

#endif
