/*
 * Server-Sent Events on an HTTP response: one source for every event stream
 * agentd serves (process logs, the ACP stream, fs watch).  The producer is
 * pulled: whenever the client can take more, the source asks it for its
 * next bytes (whole events, formatted), packs as many as fit in one write,
 * and sends the stream's keep-alive comment after LIM_SSE_KEEPALIVE_MS of
 * silence.  A producer reading from a ring keeps only its cursor; one that
 * pushes events as they happen uses the bounded queue below (sse_start).
 */
#ifndef STREAM_SSE_H
#define STREAM_SSE_H

#include "buf.h"
#include "http.h"

#include <stddef.h>
#include <sys/types.h>

/* What a pulled producer's next() returns when the stream is over. */
#define SSE_END (-1)

struct sse_pull_ops {
    /*
     * The next bytes to send: *ret points at them (valid until the next
     * call), the count is returned; 0 when nothing is due now (call
     * sse_wake() when something is); SSE_END when the stream is over.
     */
    ssize_t (*next)(void *arg, const char **ret);
    /* The response is finished or the client went away: release arg (once). */
    void (*release)(void *arg);
};

struct sse_stream;

/*
 * Answers req with 200 text/event-stream pulled from ops (the request's
 * context becomes the stream's).  keepalive is the comment sent after
 * silence (":\n\n" or ": heartbeat\n\n", as the reference does per stream).
 */
struct sse_stream *sse_pull_start(struct http_req *req, const struct sse_pull_ops *ops, void *arg,
                                  const char *keepalive);
/* The producer has something new: the source pulls again soon. */
void sse_wake(struct sse_stream *s);

/* Appends one event to out: "event:", "id:" (each when not NULL), data split into lines. */
int sse_format(struct buf *out, const char *event, const char *id, const char *data);

/* ---- a producer that pushes: a bounded queue of formatted events ---- */

struct sse;
typedef void (*sse_close_fn)(void *arg);

/* Answers req with 200 text/event-stream. queue_max bounds unsent bytes. */
struct sse *sse_start(struct http_req *req, size_t queue_max, sse_close_fn on_close, void *arg);
/*
 * Queues one event (data may contain newlines; id may be NULL).  Returns 0,
 * or -ENOBUFS when the client is too far behind: the stream then ends after
 * what is queued (the caller should stop, on_close follows).
 */
int sse_send(struct sse *s, const char *event, const char *id, const char *data);
/* Ends the stream once everything queued is written. */
void sse_end(struct sse *s);

#endif
