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

#define BROWSER_NAME_MAX 256 /* a host name with its NUL (DNS names are at most 253 bytes) */

/*
 * An --allow-host value as the Host check compares it, into ret_name (cap
 * bytes): "name", "name:port", "[v6]", "[v6]:port" or a bare IPv6 address
 * become the lower-cased name without port, brackets or a trailing dot (an
 * IPv6 address in canonical form).  Returns 0, or -EINVAL when v cannot be
 * the host of a Host header (a URL, a list, an empty name); ret_name is
 * untouched then.
 */
int browser_host_norm(const char *v, char *ret_name, size_t cap);
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
