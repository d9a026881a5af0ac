/*
 * The contract between capability modules and the router: a module exports a
 * table of routes, the router (agentd/router.c) matches requests against all
 * tables.  Living in stream/ keeps the arrows pointing down: modules never
 * include agentd/.
 */
#ifndef STREAM_ROUTE_H
#define STREAM_ROUTE_H

#include "http.h"

#include <stddef.h>

typedef void (*route_handler_fn)(struct http_req *req);

enum route_flags {
    /* Buffer a JSON body (415 without a JSON content type, 413 over the limit). */
    ROUTE_JSON_BODY = 1u << 0,
    /* Call the handler when the headers arrive; it streams the body itself. */
    ROUTE_STREAM_BODY = 1u << 1,
    /* No bearer token needed (the reference's "/" and "/ui"). */
    ROUTE_PUBLIC = 1u << 2,
    /* The route is a WebSocket upgrade: `access_token` may carry the token. */
    ROUTE_WEBSOCKET = 1u << 3,
};

struct ws_session;
struct ws_transport;

struct route {
    unsigned method;          /* one enum http_method bit (GET implies HEAD) */
    const char *pattern;      /* "/v1/processes/{}/stop": {} captures one segment */
    route_handler_fn handler; /* called on the loop thread */
    unsigned flags;           /* enum route_flags */
    /*
     * ROUTE_WEBSOCKET: the handler runs before the upgrade (it answers a
     * problem to refuse it); once upgraded, ws_open starts the session.
     */
    struct ws_session *(*ws_open)(const struct ws_transport *tr, void *conn, struct http_req *req);
};

/*
 * One file's routes: each file that owns endpoints declares its entries
 * beside its handlers (`static const struct route routes[]`) and exports
 * them as one table, `const struct route_table <prefix>__<file>_routes =
 * ROUTE_TABLE(routes);`.  Its module's <prefix>_register() hands every table
 * of the module to the router through `add`, and agentd/main.c calls each
 * module's register function: the module never calls up into agentd/.
 */
struct route_table {
    const struct route *routes;
    size_t n;
};
#define ROUTE_TABLE(entries)                                                                       \
    {                                                                                              \
        (entries), sizeof(entries) / sizeof((entries)[0])                                          \
    }

typedef void (*route_add_fn)(const struct route_table *t);

#endif
