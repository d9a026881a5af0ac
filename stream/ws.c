/*
 * ws: WebSocket session plumbing.  One lws_write per writable callback (as
 * libwebsockets requires for WebSocket frames); the protocol module is
 * asked for more only when the queue is empty, so a slow client slows the
 * producer instead of growing the queue.
 */
#include "ws.h"

#include "buf.h"
#include "limits.h"
#include "log.h"
#include "xmalloc.h"

#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ws_frame {
    struct ws_frame *next;
    bool binary;
    size_t len;
    unsigned char data[]; /* LWS_PRE bytes, then the payload */
};

struct ws_session {
    struct lws *wsi;
    const struct ws_ops *ops;
    void *ctx;
    struct ws_frame *head, *tail; /* outgoing */
    size_t queued;
    struct buf rx; /* message being reassembled */
    bool rx_binary;
    bool closing;
    int close_code;
    char close_reason[124];
    bool closed;
};

struct ws_session *ws_session_new(struct lws *wsi, const struct ws_ops *ops, void *ctx,
                                  size_t max_message)
{
    struct ws_session *s = xcalloc(1, sizeof(*s));

    s->wsi = wsi;
    s->ops = ops;
    s->ctx = ctx;
    buf_init(&s->rx, max_message);
    return s;
}

static int enqueue(struct ws_session *s, const void *p, size_t n, bool binary)
{
    struct ws_frame *f;

    if (s->closing || s->closed)
        return -1;
    f = xmalloc(sizeof(*f) + LWS_PRE + n);
    f->next = NULL;
    f->binary = binary;
    f->len = n;
    if (n)
        memcpy(f->data + LWS_PRE, p, n);
    if (s->tail)
        s->tail->next = f;
    else
        s->head = f;
    s->tail = f;
    s->queued += n;
    lws_callback_on_writable(s->wsi);
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
    if (!s->closed)
        lws_callback_on_writable(s->wsi);
}

void ws_close(struct ws_session *s, int code, const char *reason)
{
    if (s->closing || s->closed)
        return;
    s->closing = true;
    s->close_code = code;
    snprintf(s->close_reason, sizeof(s->close_reason), "%s", reason ? reason : "");
    /* A peer that stopped reading never lets the close frame out: drop the connection after a
     * bounded grace instead of holding it forever. */
    lws_set_timeout(s->wsi, PENDING_TIMEOUT_CLOSE_SEND, LIM_WS_CLOSE_GRACE_S);
    lws_callback_on_writable(s->wsi);
}

int ws_on_receive(struct ws_session *s, const void *in, size_t len)
{
    static unsigned char why[] = "message too big";

    if (lws_is_first_fragment(s->wsi)) {
        buf_reset(&s->rx);
        s->rx_binary = lws_frame_is_binary(s->wsi);
    }
    /*
     * Bounded reassembly: a frame that declares more than the limit (lws tells
     * what is still to come of it), or a message whose fragments pass it, is
     * refused at once with 1009, not after the client has sent it all.
     */
    if (len + lws_remaining_packet_payload(s->wsi) > s->rx.max - s->rx.len ||
        buf_append(&s->rx, in, len) < 0) {
        lws_close_reason(s->wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, why, sizeof(why) - 1);
        return -1;
    }
    if (!lws_is_final_fragment(s->wsi) || lws_remaining_packet_payload(s->wsi))
        return 0;
    s->ops->message(s, s->ctx, s->rx.data ? s->rx.data : "", s->rx.len, s->rx_binary);
    buf_reset(&s->rx);
    return 0;
}

int ws_on_writable(struct ws_session *s)
{
    struct ws_frame *f;

    if (!s->head && !s->closing)
        s->ops->writable(s, s->ctx);
    f = s->head;
    if (f) {
        s->head = f->next;
        if (!s->head)
            s->tail = NULL;
        s->queued -= f->len;
        int n = lws_write(s->wsi, f->data + LWS_PRE, f->len,
                          f->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
        free(f);
        if (n < 0)
            return -1;
        /* Refill (enqueue asks for the next writable callback itself). */
        if (!s->head && !s->closing)
            s->ops->writable(s, s->ctx);
        if (s->head || s->closing)
            lws_callback_on_writable(s->wsi);
        return 0;
    }
    if (s->closing) {
        /* The Close frame itself (status code + reason), then hang up. */
        unsigned char frame[LWS_PRE + 2 + sizeof(s->close_reason)];
        size_t rl = strlen(s->close_reason);
        frame[LWS_PRE] = (unsigned char)(s->close_code >> 8);
        frame[LWS_PRE + 1] = (unsigned char)(s->close_code & 0xff);
        memcpy(frame + LWS_PRE + 2, s->close_reason, rl);
        /* LWS_WRITE_CLOSE (4) is not in the public enum of lws 4.1. */
        lws_write(s->wsi, frame + LWS_PRE, 2 + rl, (enum lws_write_protocol)4);
        return -1;
    }
    return 0;
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
    buf_done(&s->rx);
    free(s);
}
