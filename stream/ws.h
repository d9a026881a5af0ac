/*
 * WebSocket sessions, independent of the connection under them: a bounded
 * queue of outgoing messages written one frame at a time when the
 * connection can take one, and a close with a status code once the queue
 * has drained.  A transport carries the frames: agentd's own server side
 * (ws_server.c) or the CLI's libwebsockets client (agentd/client.c).  A
 * protocol module (the terminal, attach) implements struct ws_ops.
 */
#ifndef STREAM_WS_H
#define STREAM_WS_H

#include <stdbool.h>
#include <stddef.h>

/* Bytes before every outgoing payload that a transport may write into (a frame header; LWS_PRE). */
#define WS_HEADROOM 16

struct ws_session;

struct ws_ops {
    /* A complete client message. */
    void (*message)(struct ws_session *s, void *ctx, const void *p, size_t n, bool binary);
    /* The send queue is empty: queue more if there is more. */
    void (*writable)(struct ws_session *s, void *ctx);
    /* The connection is gone; release ctx.  Called exactly once. */
    void (*closed)(struct ws_session *s, void *ctx);
};

/* A connection as a session sees it; `conn` is the transport's own. */
struct ws_transport {
    /* Call ws_on_writable() once the connection can take a frame. */
    void (*want_write)(void *conn);
    /* Writes one whole message as a frame; WS_HEADROOM bytes before p are the transport's. */
    int (*write)(void *conn, unsigned char *p, size_t n, bool binary);
    /*
     * The session is closing with code and reason: send the Close frame once
     * ws_on_writable() has nothing left, and end the connection within a
     * bounded grace even if the peer never reads it.
     */
    void (*close)(void *conn, int code, const char *reason);
};

/* The session borrows conn until ws_on_closed(); messages past max_message are the transport's
 * 1009. */
struct ws_session *ws_session_new(const struct ws_transport *tr, void *conn,
                                  const struct ws_ops *ops, void *ctx, size_t max_message);
size_t ws_max_message(const struct ws_session *s);

/* Queue frames (copied). Return 0, or -1 once the session is closing. */
int ws_send_text(struct ws_session *s, const char *text);
int ws_send_binary(struct ws_session *s, const void *p, size_t n);
/* Bytes queued and not yet written. */
size_t ws_queued(const struct ws_session *s);
/* Asks for a writable turn (the producer has something new). */
void ws_want_write(struct ws_session *s);
/* Closes with code/reason after the queued frames. */
void ws_close(struct ws_session *s, int code, const char *reason);

/* Transport hooks. */
/* A complete message from the peer. */
void ws_deliver(struct ws_session *s, const void *p, size_t n, bool binary);
/* The connection can take a frame: writes one; returns 1 if it did, 0 if nothing is queued, -1 on a
 * write error. */
int ws_on_writable(struct ws_session *s);
/* The connection is gone: calls ops->closed and frees the session. */
void ws_on_closed(struct ws_session *s);

#endif
