/*
 * sse: the Server-Sent Events source.  The HTTP layer pulls from it through
 * an http_source; it pulls from the producer.  Bytes a producer handed over
 * are copied out as the socket takes them; an event that does not fit in
 * what is left of a write waits for the next one (unless the write is
 * empty), so a burst of events (a turn's updates) leaves in one write.  The
 * push producer's queue is bounded: a producer that outruns its client ends
 * the stream instead of growing it.
 */
#include "sse.h"

#include "clock.h"
#include "limits.h"
#include "xmalloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

/* Stop packing a write when less than this is left in it. */
#define SSE_PACK_MIN 64

struct sse_stream {
    struct http_req *req; /* the response; we are its context */
    const struct sse_pull_ops *ops;
    void *arg;
    const char *keepalive;
    const char *cur; /* the producer's current bytes */
    size_t cur_len, off;
    bool keepalive_due;
    bool ended;    /* the producer said SSE_END */
    bool released; /* ops->release has run */
    uv_timer_t timer;
};

static void stream_release(struct sse_stream *s)
{
    if (!s->released) {
        s->released = true;
        s->ops->release(s->arg);
    }
}

static void stream_timer_closed(uv_handle_t *h)
{
    free(h->data);
}

static void stream_free(struct http_req *req, void *ctx)
{
    struct sse_stream *s = ctx;

    (void)req;
    stream_release(s);
    uv_timer_stop(&s->timer);
    uv_close((uv_handle_t *)&s->timer, stream_timer_closed);
}

static void stream_aborted(struct http_req *req, void *ctx)
{
    (void)req;
    stream_release(ctx);
}

static const struct http_ctx_ops stream_ctx_ops = {stream_free, stream_aborted};

/* The next bytes into s->cur: true when there are some. */
static bool stream_pull(struct sse_stream *s)
{
    const char *p = NULL;
    ssize_t n = s->ended || s->released ? 0 : s->ops->next(s->arg, &p);

    s->off = 0;
    s->cur_len = 0;
    if (n == SSE_END) {
        s->ended = true;
        return false;
    }
    if (n > 0) {
        s->cur = p;
        s->cur_len = (size_t)n;
    } else if (s->keepalive_due && !s->ended) {
        s->keepalive_due = false;
        s->cur = s->keepalive;
        s->cur_len = strlen(s->keepalive);
    } else {
        return false;
    }
    uv_timer_again(&s->timer);
    return true;
}

static ssize_t stream_read(struct http_req *req, void *dst, size_t cap)
{
    struct sse_stream *s = http_ctx(req);
    char *out = dst;
    size_t len = 0, n;

    for (;;) {
        if (s->off == s->cur_len) {
            if (len && cap - len < SSE_PACK_MIN)
                break;
            if (!stream_pull(s))
                break;
            /* A whole event that does not fit waits for the next write (unless nothing is in). */
            if (len && s->cur_len > cap - len)
                break;
        }
        n = s->cur_len - s->off;
        if (n > cap - len)
            n = cap - len;
        memcpy(out + len, s->cur + s->off, n);
        s->off += n;
        len += n;
        if (len == cap)
            break;
    }
    if (len)
        return (ssize_t)len;
    return s->ended ? 0 : HTTP_SOURCE_WAIT;
}

static const struct http_source_ops stream_source = {stream_read};

static void stream_on_keepalive(uv_timer_t *t)
{
    struct sse_stream *s = t->data;

    s->keepalive_due = true;
    http_resume(s->req);
}

struct sse_stream *sse_pull_start(struct http_req *req, const struct sse_pull_ops *ops, void *arg,
                                  const char *keepalive)
{
    static int64_t keepalive_ms;
    struct sse_stream *s = xcalloc(1, sizeof(*s));

    if (!keepalive_ms)
        keepalive_ms =
            clock_env_ms("AGENTD_SSE_KEEPALIVE_MS", LIM_SSE_KEEPALIVE_MS, 24ll * 3600 * 1000);
    s->req = req;
    s->ops = ops;
    s->arg = arg;
    s->keepalive = keepalive;
    uv_timer_init(http_loop(), &s->timer);
    s->timer.data = s;
    uv_timer_start(&s->timer, stream_on_keepalive, (uint64_t)keepalive_ms, (uint64_t)keepalive_ms);
    http_set_ctx(req, s, &stream_ctx_ops);
    http_add_header(req, "cache-control", "no-cache");
    http_reply_stream(req, 200, "text/event-stream", -1, &stream_source);
    return s;
}

void sse_wake(struct sse_stream *s)
{
    http_resume(s->req);
}

int sse_format(struct buf *out, const char *event, const char *id, const char *data)
{
    const char *p = data;
    int r = 0;

    if (event)
        r = buf_printf(out, "event: %s\n", event);
    if (r == 0 && id)
        r = buf_printf(out, "id: %s\n", id);
    while (r == 0) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        r = buf_append_str(out, "data: ");
        if (r == 0)
            r = buf_append(out, p, n);
        if (r == 0)
            r = buf_append_str(out, "\n");
        if (!nl)
            break;
        p = nl + 1;
    }
    return r == 0 ? buf_append_str(out, "\n") : r;
}

/* ---- the push producer ------------------------------------------------------------------ */

struct sse {
    struct sse_stream *stream;
    struct buf queue;   /* formatted events not yet handed to the stream */
    struct buf sending; /* what the stream is copying out (untouched until it pulls again) */
    bool ending;        /* finish once the queue drains */
    bool closed;        /* on_close has been called */
    sse_close_fn on_close;
    void *arg;
};

/* The stream pulls only once it has copied out what it had: `sending` is free again. */
static ssize_t push_next(void *arg, const char **ret)
{
    struct sse *s = arg;
    struct buf t;

    if (s->queue.len == 0)
        return s->ending ? SSE_END : 0;
    t = s->sending;
    s->sending = s->queue;
    s->queue = t;
    buf_reset(&s->queue);
    *ret = s->sending.data;
    return (ssize_t)s->sending.len;
}

static void push_release(void *arg)
{
    struct sse *s = arg;

    if (!s->closed) {
        s->closed = true;
        if (s->on_close)
            s->on_close(s->arg);
    }
    buf_done(&s->queue);
    buf_done(&s->sending);
    free(s);
}

static const struct sse_pull_ops push_ops = {push_next, push_release};

struct sse *sse_start(struct http_req *req, size_t queue_max, sse_close_fn on_close, void *arg)
{
    struct sse *s = xcalloc(1, sizeof(*s));

    s->on_close = on_close;
    s->arg = arg;
    buf_init(&s->queue, queue_max);
    buf_init(&s->sending, queue_max);
    s->stream = sse_pull_start(req, &push_ops, s, ":\n\n");
    return s;
}

int sse_send(struct sse *s, const char *event, const char *id, const char *data)
{
    size_t before;

    if (s->ending || s->closed)
        return -EPIPE;
    before = s->queue.len;
    if (sse_format(&s->queue, event, id, data) < 0) {
        /* Too far behind: drop the partial event and end the stream. */
        s->queue.len = before;
        sse_end(s);
        return -ENOBUFS;
    }
    sse_wake(s->stream);
    return 0;
}

void sse_end(struct sse *s)
{
    s->ending = true;
    sse_wake(s->stream);
}
