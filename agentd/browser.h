/*
 * browser: what keeps a web page the user visits from driving agentd.
 *
 * Two checks, before routing (docs/ARCHITECTURE.md, "Browser safety"):
 * the Host header must name this server (a loopback name or address, the
 * bound address, or one given with --allow-host), which defeats DNS
 * rebinding; and a request that changes state, or opens a WebSocket, must not
 * come from another origin (Origin or Sec-Fetch-Site) unless -O allowed it,
 * which defeats cross-site requests that need no preflight.
 */
#ifndef AGENTD_BROWSER_H
#define AGENTD_BROWSER_H

#include "config.h"

#include "../stream/http.h"

#include <stdbool.h>
#include <sys/socket.h>

/* Records the configuration and the bound addresses (wildcard binds turn the Host check off
 * unless --allow-host is given). */
void browser_init(const struct agentd_config *cfg, const struct sockaddr_storage *bound, size_t n);
/*
 * 0 when req may proceed, or -1 with err: 400 for an HTTP/1.1 request without
 * Host, 403 for a Host that is not this server's, 403 for a cross-site request
 * that changes state (changes_state: any method but GET, HEAD and OPTIONS, and
 * every WebSocket upgrade).
 */
int browser_check(struct http_req *req, bool changes_state, struct problem *err);

#endif
