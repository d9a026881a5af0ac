/*
 * One HTTP request/response exchange on a libwebsockets connection.
 *
 * The connection (stream/http_conn.c) creates a struct http_req when a
 * request's head is complete, feeds it the body, and calls http_on_writable()
 * when the socket can take more.  Handlers read the request through the
 * accessors below and answer with exactly one http_reply_*() call, either at
 * once or later from the loop thread (after worker-pool work, for example).
 *
 * Lifetime: a request is reference-counted.  The connection holds one
 * reference until the exchange ends or the peer goes away; anything that
 * outlives a callback (queued work, a watch) takes its own with
 * http_req_ref() and checks http_req_alive() before touching the response.
 * All functions here must be called on the loop thread.
 */
#ifndef STREAM_HTTP_H
#define STREAM_HTTP_H

#include "buf.h"
#include "problem.h"
#include "query.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

struct http_req;

enum http_method {
    HTTP_GET = 1u << 0,
    HTTP_HEAD = 1u << 1,
    HTTP_POST = 1u << 2,
    HTTP_PUT = 1u << 3,
    HTTP_DELETE = 1u << 4,
    HTTP_PATCH = 1u << 5,
    HTTP_OPTIONS = 1u << 6,
};

/* A streamed request body, installed by a handler with http_body_stream(). */
struct http_body_ops {
    /* One chunk of the body. Return 0, or -1 after replying to abandon the body. */
    int (*data)(struct http_req *req, const void *p, size_t n);
    /* The whole body has arrived. */
    void (*end)(struct http_req *req);
};

/*
 * A streamed response body, installed with http_reply_stream().  read()
 * fills up to cap bytes and returns the count, 0 at the end of the body,
 * HTTP_SOURCE_WAIT when no data is ready yet (the owner calls
 * http_resume() when there is), or a negative errno to abort the connection.
 */
#define HTTP_SOURCE_WAIT (-EAGAIN)
struct http_source_ops {
    ssize_t (*read)(struct http_req *req, void *dst, size_t cap);
};

/*
 * Per-request state owned by a handler.  free() is called exactly once, on
 * the loop thread, when the request is released (completed or aborted).
 */
struct http_ctx_ops {
    void (*free)(struct http_req *req, void *ctx);
    /* The client went away before the exchange finished (optional). */
    void (*aborted)(struct http_req *req, void *ctx);
};

/* Called by the listener. */
void http_init(uv_loop_t *loop);
uv_loop_t *http_loop(void);
void http_req_ref(struct http_req *req);
void http_req_unref(struct http_req *req);
/* The connection is gone or the exchange is over: detach and drop its reference. */
void http_req_detach(struct http_req *req);
/* True while the client is still waiting for this request's response. */
bool http_req_alive(const struct http_req *req);
/* Feeds body bytes; returns -1 when the connection must close. */
int http_on_body(struct http_req *req, const void *p, size_t n);
int http_on_body_end(struct http_req *req);
/* Writes what can be written; returns -1 when the connection must close. */
int http_on_writable(struct http_req *req);
/*
 * Brackets a handler call made from inside a connection callback: a reply set in
 * between is written directly by http_leave() instead of waiting for a
 * writable callback.  http_leave() returns -1 when the connection must close.
 */
void http_enter(struct http_req *req);
int http_leave(struct http_req *req);
/* A buffered body overflowed the limit given to http_body_buffer(). */
bool http_body_too_large(const struct http_req *req);
bool http_body_complete(const struct http_req *req);
/* True once the request has been answered (or is being answered). */
bool http_replied(const struct http_req *req);

/* Request accessors. */
unsigned http_method(const struct http_req *req);
/* The request's HTTP/1.x minor version (0 or 1). */
int http_minor(const struct http_req *req);
const char *http_method_name(unsigned method);
const char *http_path(const struct http_req *req);
/* The path as the client sent it, escapes kept (what the router matches). */
const char *http_raw_path(const struct http_req *req);
const struct query *http_query(const struct http_req *req);
/* Copies header `name` (lower-case, with the colon: "range:") into a new string, or NULL. */
char *http_header(const struct http_req *req, const char *name);
/* -1 when the request had no Content-Length. */
int64_t http_content_length(const struct http_req *req);
bool http_has_body(const struct http_req *req);
/* The request asks for a protocol upgrade (WebSocket). */
bool http_is_upgrade(const struct http_req *req);
/* The request announced Transfer-Encoding (a chunked body). */
bool http_is_chunked(const struct http_req *req);
/* The buffered body of a request routed with HTTP_BODY_BUFFER. */
const char *http_body(const struct http_req *req, size_t *ret_len);
/* Path parameters captured by the router ("{id}"), in order, percent-decoded. */
const char *http_param(const struct http_req *req, unsigned i);
void http_set_param(struct http_req *req, unsigned i, const char *value, size_t len);

/* Handler state. */
void http_set_ctx(struct http_req *req, void *ctx, const struct http_ctx_ops *ops);
void *http_ctx(const struct http_req *req);

/* Body handling. */
void http_body_buffer(struct http_req *req, size_t max);
/*
 * Calls fn(req, arg) once, when the whole body has arrived, or as soon as a
 * buffered body overflows its limit (http_body_too_large()); never after a
 * reply.  Used by the listener to run a handler that needs the whole body.
 */
void http_body_then(struct http_req *req, void (*fn)(struct http_req *req, const void *arg),
                    const void *arg);
void http_body_stream(struct http_req *req, const struct http_body_ops *ops);
/* Stops / restarts reading the body from the socket (backpressure). */
void http_body_pause(struct http_req *req);
void http_body_resume(struct http_req *req);

/* Sends "100 Continue" when the client asked for it (Expect: 100-continue). */
void http_continue(struct http_req *req);

/* Response. Headers must be added before the reply. */
void http_add_header(struct http_req *req, const char *name, const char *value);
void http_set_close(struct http_req *req);
/* Takes ownership of body (malloc'd). */
void http_reply(struct http_req *req, int status, const char *content_type, char *body, size_t len);
void http_reply_json(struct http_req *req, int status, const cJSON *body);
void http_reply_problem(struct http_req *req, const struct problem *p);
void http_reply_empty(struct http_req *req, int status);
/* Starts a streamed body; content_length -1 means "until the source ends" (closes after). */
void http_reply_stream(struct http_req *req, int status, const char *content_type,
                       int64_t content_length, const struct http_source_ops *ops);
/* A streamed source has data again (or has ended). */
void http_resume(struct http_req *req);

struct http_exchange_ops;
/* What a connection (stream/http_conn.c) calls for its requests: give it to http_conn_setup(). */
extern const struct http_exchange_ops http_exchange;
/*
 * Takes req's socket for a WebSocket upgrade: *ret_fd is a new descriptor
 * for it, *ret_bytes (malloc'd, the caller frees) whatever the client sent
 * after the request head.  The connection is released and req detached from
 * it; the caller holds one reference to req (drop it with http_req_unref()).
 * Returns 0 or a negative errno (the connection is then closed and no
 * reference is kept).
 */
int http_handoff(struct http_req *req, int *ret_fd, char **ret_bytes, size_t *ret_len);

#endif
