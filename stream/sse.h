/*
 * Server-Sent Events on an HTTP response: a bounded queue of formatted
 * events drained from the writable callback, and a keep-alive comment when
 * the stream is idle.  The stream is the request's context; on_close tells
 * the producer, exactly once, that it must stop sending.
 */
#ifndef STREAM_SSE_H
#define STREAM_SSE_H

#include "http.h"

#include <stddef.h>

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
