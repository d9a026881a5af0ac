/*
 * sse: the Server-Sent Events writer.  Events are formatted into a bounded
 * buffer; the HTTP layer pulls from it through an http_source.  A producer
 * that outruns its client hits the bound and the stream is ended instead of
 * growing without limit.
 */
#include "sse.h"

#include "buf.h"
#include "limits.h"
#include "xmalloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

struct sse {
    struct http_req *req; /* the response; we are its context */
    struct buf queue;     /* formatted, unsent bytes */
    size_t off;           /* bytes of queue already sent */
    bool ending;          /* finish once the queue drains */
    bool closed;          /* on_close has been called */
    uv_timer_t keepalive; /* idle comment timer */
    sse_close_fn on_close;
    void *arg;
};

static void sse_notify_close(struct sse *s)
{
    if (!s->closed) {
        s->closed = true;
        if (s->on_close)
            s->on_close(s->arg);
    }
}

static void sse_timer_closed(uv_handle_t *h)
{
    struct sse *s = h->data;

    buf_done(&s->queue);
    free(s);
}

static void sse_free(struct http_req *req, void *ctx)
{
    struct sse *s = ctx;

    (void)req;
    sse_notify_close(s);
    uv_timer_stop(&s->keepalive);
    uv_close((uv_handle_t *)&s->keepalive, sse_timer_closed);
}

static void sse_aborted(struct http_req *req, void *ctx)
{
    (void)req;
    sse_notify_close(ctx);
}

static const struct http_ctx_ops sse_ctx_ops = {sse_free, sse_aborted};

static ssize_t sse_read(struct http_req *req, void *dst, size_t cap)
{
    struct sse *s = http_ctx(req);
    size_t n = s->queue.len - s->off;

    if (n == 0) {
        buf_reset(&s->queue);
        s->off = 0;
        return s->ending ? 0 : HTTP_SOURCE_WAIT;
    }
    if (n > cap)
        n = cap;
    memcpy(dst, s->queue.data + s->off, n);
    s->off += n;
    return (ssize_t)n;
}

static const struct http_source_ops sse_source = {sse_read};

static void sse_on_keepalive(uv_timer_t *t)
{
    struct sse *s = t->data;

    if (s->queue.len == s->off && !s->ending && buf_append_str(&s->queue, ":\n\n") == 0)
        http_resume(s->req);
}

struct sse *sse_start(struct http_req *req, size_t queue_max, sse_close_fn on_close, void *arg)
{
    struct sse *s = xcalloc(1, sizeof(*s));

    s->req = req;
    s->on_close = on_close;
    s->arg = arg;
    buf_init(&s->queue, queue_max);
    uv_timer_init(http_loop(), &s->keepalive);
    s->keepalive.data = s;
    uv_timer_start(&s->keepalive, sse_on_keepalive, LIM_SSE_KEEPALIVE_MS, LIM_SSE_KEEPALIVE_MS);
    http_set_ctx(req, s, &sse_ctx_ops);
    http_add_header(req, "cache-control", "no-cache");
    http_reply_stream(req, 200, "text/event-stream", -1, &sse_source);
    return s;
}

int sse_send(struct sse *s, const char *event, const char *id, const char *data)
{
    size_t before = s->queue.len;
    const char *p = data;
    int r = 0;

    if (s->ending || s->closed)
        return -EPIPE;
    /* Compact the queue so the bound applies to unsent bytes only. */
    if (s->off > 0 && s->off == s->queue.len) {
        buf_reset(&s->queue);
        s->off = 0;
        before = 0;
    }
    if (event)
        r = buf_printf(&s->queue, "event: %s\n", event);
    if (r == 0 && id)
        r = buf_printf(&s->queue, "id: %s\n", id);
    while (r == 0) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        r = buf_append_str(&s->queue, "data: ");
        if (r == 0)
            r = buf_append(&s->queue, p, n);
        if (r == 0)
            r = buf_append_str(&s->queue, "\n");
        if (!nl)
            break;
        p = nl + 1;
    }
    if (r == 0)
        r = buf_append_str(&s->queue, "\n");
    if (r < 0) {
        /* Too far behind: drop the partial event and end the stream. */
        s->queue.len = before;
        sse_end(s);
        return -ENOBUFS;
    }
    http_resume(s->req);
    return 0;
}

void sse_end(struct sse *s)
{
    s->ending = true;
    uv_timer_stop(&s->keepalive);
    http_resume(s->req);
}
