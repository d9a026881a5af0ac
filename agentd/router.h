/*
 * The route table: every module's routes in one list, matched by path
 * segments.  Semantics follow the reference (spec 1.1): no trailing-slash
 * normalisation, HEAD wherever GET, 405 with the allowed methods.
 */
#ifndef AGENTD_ROUTER_H
#define AGENTD_ROUTER_H

#include "../stream/route.h"

enum router_result {
    ROUTER_MATCH,     /* *ret_route is the handler */
    ROUTER_NO_PATH,   /* 404 */
    ROUTER_NO_METHOD, /* 405; *ret_allow lists what the path accepts */
};

/*
 * Registers a module's table; the table must outlive the router.  A table
 * past ROUTER_TABLES_MAX, or a route without a leading '/', a method or a
 * handler, or with too many captures, aborts with a message (a bug, found at
 * startup).
 */
void router_add(const struct route *routes, size_t n);
/* The same for a module's table (a route_add_fn, given to each module's <prefix>_register()). */
void router_add_table(const struct route_table *t);
/*
 * Matches req.  On ROUTER_MATCH the `{}` captures are stored in req
 * (http_param). *ret_allow is the method mask the path accepts (GET adds HEAD).
 */
enum router_result router_match(struct http_req *req, const struct route **ret_route,
                                unsigned *ret_allow);
/* Matches a path without a request (for tests): returns the route or NULL. */
const struct route *router_find(const char *path, unsigned method, unsigned *ret_allow);

#endif
