/*
 * The ACP bridge (spec section 7): /v1/acp/{serverId} carries JSON-RPC
 * between HTTP clients and one agent process per server, speaking
 * newline-delimited JSON on its stdio.  See docs/api/agents.md.
 */
#ifndef ADAPTERS_ACP_H
#define ADAPTERS_ACP_H

#include "../stream/route.h"

#include <stddef.h>
#include <uv.h>

/* Hands the module's route tables (/v1/acp, /v1/agents, /v1/config) to add. */
void acp_register(route_add_fn add);

void acp_init(uv_loop_t *loop);
/* SIGTERM to every agent (process groups), ends every stream. */
void acp_shutdown(void);

#endif
