/*
 * ws_server: agentd's own server side of a WebSocket connection (RFC 6455)
 * on a libuv TCP handle.  Takes a socket whose upgrade request the listener
 * has already checked, answers the handshake, and carries a ws_session:
 * client frames through the ws_frame parser (a fault closes with its code,
 * 1002 for an unmasked frame), pings answered, the close handshake done
 * with a bounded grace (LIM_WS_CLOSE_GRACE_S) so that a peer that stops
 * reading cannot hold the connection.
 */
#ifndef STREAM_WS_SERVER_H
#define STREAM_WS_SERVER_H

#include "ws.h"

#include <stddef.h>
#include <uv.h>

/* Starts the session once the handshake is answered; NULL refuses (closed with 1011). */
typedef struct ws_session *(*ws_server_open_fn)(const struct ws_transport *tr, void *conn,
                                                void *arg);

/*
 * Takes fd (a connected TCP socket, closed on every path): answers the
 * handshake for `key` (the client's Sec-WebSocket-Key), calls open(arg)
 * and then feeds it `rest` (bytes the client sent after its request head)
 * and everything that follows.  Returns 0 once open has been called, or a
 * negative errno when the socket could not be taken or the handshake not
 * written (open is then not called).
 */
int ws_server_accept(uv_loop_t *loop, int fd, const char *key, size_t key_len, const void *rest,
                     size_t rest_len, ws_server_open_fn open, void *arg);

/* Connections taken and not yet closed. */
unsigned ws_server_count(void);
/* Closes every connection now (shutdown). */
void ws_server_close_all(void);
/* Connections ended because they made no progress (a bug; for tests and diagnostics). */
unsigned long ws_server_stuck_closed(void);

#endif
