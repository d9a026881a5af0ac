/*
 * The listener: one port for HTTP, SSE and WebSocket on the caller's libuv
 * loop (stream/http_conn.c, stream/ws_server.c).
 */
#ifndef AGENTD_SERVER_H
#define AGENTD_SERVER_H

#include "config.h"

#include <uv.h>

/* Starts listening; *ret_port is the bound port. Returns 0 or a negative errno. */
int server_start(uv_loop_t *loop, const struct agentd_config *cfg, int *ret_port);
/* Closes the listener and every connection (finishes as the loop runs on). */
void server_stop(void);

#endif
