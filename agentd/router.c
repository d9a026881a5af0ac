/*
 * router: a linear scan over a few dozen routes, comparing '/'-separated
 * segments.  At this size a scan is faster than any tree and easy to read.
 */
#include "router.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROUTER_TABLES_MAX 32
#define ROUTER_CAPTURES   4

static struct route_table tables[ROUTER_TABLES_MAX];
static size_t n_tables;

/* A table that does not fit or cannot match is a bug in agentd: stop at startup, saying which. */
static void router_bug(const char *pattern, const char *why)
{
    fprintf(stderr, "agentd: router: route %s: %s\n", pattern, why);
    abort();
}

void router_add(const struct route *routes, size_t n)
{
    if (n_tables >= ROUTER_TABLES_MAX)
        router_bug(n ? routes[0].pattern : "(empty table)",
                   "more route tables than ROUTER_TABLES_MAX");
    for (size_t i = 0; i < n; i++) {
        const char *p = routes[i].pattern;
        unsigned caps = 0;
        for (const char *c = p; (c = strstr(c, "{}")); c += 2)
            caps++;
        if (p[0] != '/' || !routes[i].handler || !routes[i].method)
            router_bug(p, "needs a leading '/', a method and a handler");
        if (caps > ROUTER_CAPTURES)
            router_bug(p, "more {} captures than ROUTER_CAPTURES");
    }
    tables[n_tables++] = (struct route_table){routes, n};
}

void router_add_table(const struct route_table *t)
{
    router_add(t->routes, t->n);
}

struct capture {
    const char *p;
    size_t len;
};

/* Matches path against pattern; fills caps with the {} segments. */
static bool pattern_match(const char *pattern, const char *path, struct capture *caps,
                          unsigned *ret_ncaps)
{
    unsigned ncaps = 0;

    while (*pattern && *path) {
        if (pattern[0] == '{' && pattern[1] == '}') {
            const char *end = strchr(path, '/');
            size_t len = end ? (size_t)(end - path) : strlen(path);
            if (len == 0 || ncaps >= ROUTER_CAPTURES)
                return false;
            caps[ncaps++] = (struct capture){path, len};
            path += len;
            pattern += 2;
            continue;
        }
        if (*pattern != *path)
            return false;
        pattern++;
        path++;
    }
    if (*pattern || *path)
        return false;
    *ret_ncaps = ncaps;
    return true;
}

static unsigned route_methods(const struct route *r)
{
    return r->method & HTTP_GET ? r->method | HTTP_HEAD : r->method;
}

static const struct route *router_lookup(const char *path, unsigned method, unsigned *ret_allow,
                                         struct capture *caps, unsigned *ret_ncaps)
{
    const struct route *found = NULL;
    unsigned allow = 0, ncaps = 0;
    struct capture tmp[ROUTER_CAPTURES];

    /* Literal patterns win over captures: /v1/processes/config is not process "config". */
    bool literal = false;
    for (size_t t = 0; t < n_tables && !literal; t++)
        for (size_t i = 0; i < tables[t].n && !literal; i++)
            literal = !strstr(tables[t].routes[i].pattern, "{}") &&
                      strcmp(tables[t].routes[i].pattern, path) == 0;

    for (size_t t = 0; t < n_tables; t++) {
        for (size_t i = 0; i < tables[t].n; i++) {
            const struct route *r = &tables[t].routes[i];
            if (literal && strstr(r->pattern, "{}"))
                continue;
            if (!pattern_match(r->pattern, path, tmp, &ncaps))
                continue;
            allow |= route_methods(r);
            if (!found && (route_methods(r) & method)) {
                found = r;
                memcpy(caps, tmp, sizeof(tmp));
                *ret_ncaps = ncaps;
            }
        }
    }
    *ret_allow = allow;
    return found;
}

enum router_result router_match(struct http_req *req, const struct route **ret_route,
                                unsigned *ret_allow)
{
    struct capture caps[ROUTER_CAPTURES];
    unsigned ncaps = 0, allow = 0;
    const struct route *r =
        router_lookup(http_raw_path(req), http_method(req), &allow, caps, &ncaps);

    *ret_allow = allow;
    if (!allow)
        return ROUTER_NO_PATH;
    if (!r)
        return ROUTER_NO_METHOD;
    for (unsigned i = 0; i < ncaps; i++)
        http_set_param(req, i, caps[i].p, caps[i].len);
    *ret_route = r;
    return ROUTER_MATCH;
}

const struct route *router_find(const char *path, unsigned method, unsigned *ret_allow)
{
    struct capture caps[ROUTER_CAPTURES];
    unsigned ncaps = 0;

    return router_lookup(path, method, ret_allow, caps, &ncaps);
}
