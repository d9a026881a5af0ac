/*
 * WebSocket sessions on top of libwebsockets: a bounded queue of outgoing
 * frames written one per writable callback, reassembly of fragmented
 * client messages up to a limit (1009 beyond), and a close with a status
 * code once the queue has drained.  The listener forwards lws events here;
 * a protocol module (the terminal) implements struct ws_ops.
 */
#ifndef STREAM_WS_H
#define STREAM_WS_H

#include <stdbool.h>
#include <stddef.h>

struct lws;
struct ws_session;

struct ws_ops {
    /* A complete client message. */
    void (*message)(struct ws_session *s, void *ctx, const void *p, size_t n, bool binary);
    /* The send queue is empty: queue more if there is more. */
    void (*writable)(struct ws_session *s, void *ctx);
    /* The connection is gone; release ctx.  Called exactly once. */
    void (*closed)(struct ws_session *s, void *ctx);
};

struct ws_session *ws_session_new(struct lws *wsi, const struct ws_ops *ops, void *ctx,
                                  size_t max_message);
/* Queue frames (copied). Return 0, or -1 once the session is closing. */
int ws_send_text(struct ws_session *s, const char *text);
int ws_send_binary(struct ws_session *s, const void *p, size_t n);
/* Bytes queued and not yet written. */
size_t ws_queued(const struct ws_session *s);
/* Asks for a writable callback (the producer has something new). */
void ws_want_write(struct ws_session *s);
/* Closes with code/reason after the queued frames. */
void ws_close(struct ws_session *s, int code, const char *reason);

/* Listener hooks. Each returns -1 when the connection must close now. */
int ws_on_receive(struct ws_session *s, const void *in, size_t len);
int ws_on_writable(struct ws_session *s);
void ws_on_closed(struct ws_session *s);

#endif
