/*
 * ws: WebSocket session plumbing.  One frame per writable turn; the
 * protocol module is asked for more only when the queue is empty, so a
 * slow client slows the producer instead of growing the queue.
 */
#include "ws.h"

#include "xmalloc.h"

#include <stdlib.h>
#include <string.h>

struct ws_frame {
    struct ws_frame *next;
    bool binary;
    size_t len;
    unsigned char data[]; /* WS_HEADROOM bytes, then the payload */
};

struct ws_session {
    const struct ws_transport *tr;
    void *conn;
    const struct ws_ops *ops;
    void *ctx;
    size_t max_message;
    struct ws_frame *head, *tail; /* outgoing */
    size_t queued;
    bool closing;
    bool closed;
};

struct ws_session *ws_session_new(const struct ws_transport *tr, void *conn,
                                  const struct ws_ops *ops, void *ctx, size_t max_message)
{
    struct ws_session *s = xcalloc(1, sizeof(*s));

    s->tr = tr;
    s->conn = conn;
    s->ops = ops;
    s->ctx = ctx;
    s->max_message = max_message;
    return s;
}

size_t ws_max_message(const struct ws_session *s)
{
    return s->max_message;
}

static int enqueue(struct ws_session *s, const void *p, size_t n, bool binary)
{
    struct ws_frame *f;

    if (s->closing || s->closed)
        return -1;
    f = xmalloc(sizeof(*f) + WS_HEADROOM + n);
    f->next = NULL;
    f->binary = binary;
    f->len = n;
    if (n)
        memcpy(f->data + WS_HEADROOM, p, n);
    if (s->tail)
        s->tail->next = f;
    else
        s->head = f;
    s->tail = f;
    s->queued += n;
    s->tr->want_write(s->conn);
    return 0;
}

int ws_send_text(struct ws_session *s, const char *text)
{
    return enqueue(s, text, strlen(text), false);
}

int ws_send_binary(struct ws_session *s, const void *p, size_t n)
{
    return enqueue(s, p, n, true);
}

size_t ws_queued(const struct ws_session *s)
{
    return s->queued;
}

void ws_want_write(struct ws_session *s)
{
    if (!s->closed && !s->closing)
        s->tr->want_write(s->conn);
}

void ws_close(struct ws_session *s, int code, const char *reason)
{
    if (s->closing || s->closed)
        return;
    s->closing = true;
    s->tr->close(s->conn, code, reason ? reason : "");
}

void ws_deliver(struct ws_session *s, const void *p, size_t n, bool binary)
{
    if (!s->closing && !s->closed)
        s->ops->message(s, s->ctx, p, n, binary);
}

int ws_on_writable(struct ws_session *s)
{
    struct ws_frame *f;
    int r;

    if (s->closed)
        return 0;
    if (!s->head && !s->closing)
        s->ops->writable(s, s->ctx);
    f = s->head;
    if (!f)
        return 0;
    s->head = f->next;
    if (!s->head)
        s->tail = NULL;
    s->queued -= f->len;
    r = s->tr->write(s->conn, f->data + WS_HEADROOM, f->len, f->binary);
    free(f);
    if (r < 0)
        return -1;
    /* More to write, a refill to ask for, or the Close frame: the transport calls again. */
    s->tr->want_write(s->conn);
    return 1;
}

void ws_on_closed(struct ws_session *s)
{
    struct ws_frame *f, *next;

    if (!s || s->closed)
        return;
    s->closed = true;
    s->ops->closed(s, s->ctx);
    for (f = s->head; f; f = next) {
        next = f->next;
        free(f);
    }
    free(s);
}
