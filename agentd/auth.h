/*
 * Bearer-token authentication (spec 1.4): exact "Bearer <token>" match in
 * constant time; on WebSocket routes an `access_token` query value also counts.
 */
#ifndef AGENTD_AUTH_H
#define AGENTD_AUTH_H

#include <stdbool.h>
#include <stddef.h>

/* Compares a and b without leaking where they differ (length leaks, content does not). */
bool auth_equal(const char *a, size_t alen, const char *b, size_t blen);
/* True when header (the Authorization value, may be NULL) carries token. */
bool auth_header_ok(const char *header, const char *token);

#endif
