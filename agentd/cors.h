/*
 * CORS as the reference's flags behave (spec 1.5): an allow-list of origins
 * echoed back, configurable methods/headers for preflights, and an optional
 * credentials header on every response.
 */
#ifndef AGENTD_CORS_H
#define AGENTD_CORS_H

#include "config.h"

#include "../stream/http.h"

void cors_init(const struct agentd_config *cfg);
/* Adds Vary and, when they apply, allow-origin/credentials headers to the response. */
void cors_apply(struct http_req *req);
/* True for OPTIONS requests, which CORS answers for every path without auth. */
bool cors_is_preflight(const struct http_req *req);
/* Answers a preflight; allow_methods is the route's method mask (0 if no route). */
void cors_reply_preflight(struct http_req *req, unsigned allow_methods);
/* Formats a method mask as "GET,HEAD,PUT" into dst. */
void cors_format_methods(unsigned methods, char *dst, size_t cap);

#endif
