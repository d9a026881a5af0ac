/*
 * browser: the Host and cross-origin checks (see browser.h).  A request
 * without Origin and Sec-Fetch-Site (curl, the SDK in node, agentd's own CLI)
 * is not a browser's cross-site request and passes the origin check; the Host
 * check applies to every client, because a rebound name reaches agentd from
 * the victim's own browser with no other tell.
 */
#include "browser.h"

#include "../stream/xmalloc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define BROWSER_BOUND_MAX 8

static const struct agentd_config *bcfg;
static bool host_check; /* off for a wildcard bind without --allow-host */
static char bound_names[BROWSER_BOUND_MAX][INET6_ADDRSTRLEN]; /* the bound addresses */
static size_t nbound;
static char allow_names[CONFIG_LIST_MAX][BROWSER_NAME_MAX]; /* --allow-host, normalised */
static size_t nallow;

void browser_init(const struct agentd_config *cfg, const struct sockaddr_storage *bound, size_t n)
{
    bool wildcard = false;

    bcfg = cfg;
    nbound = 0;
    for (size_t i = 0; i < n && nbound < BROWSER_BOUND_MAX; i++) {
        const void *a;
        if (bound[i].ss_family == AF_INET) {
            const struct sockaddr_in *s4 = (const struct sockaddr_in *)&bound[i];
            wildcard |= s4->sin_addr.s_addr == htonl(INADDR_ANY);
            a = &s4->sin_addr;
        } else {
            const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&bound[i];
            wildcard |= IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr);
            a = &s6->sin6_addr;
        }
        if (inet_ntop(bound[i].ss_family, a, bound_names[nbound], INET6_ADDRSTRLEN))
            nbound++;
    }
    /* cli.c refused a value that is not a host, so every one normalises. */
    nallow = 0;
    for (size_t i = 0; i < cfg->allow_hosts.n; i++)
        if (browser_host_norm(cfg->allow_hosts.v[i], allow_names[nallow], BROWSER_NAME_MAX) == 0)
            nallow++;
    host_check = !wildcard || cfg->allow_hosts.n > 0;
}

static bool loopback_name(const char *h)
{
    struct in_addr a4;
    struct in6_addr a6;
    size_t n = strlen(h);

    if (strcasecmp(h, "localhost") == 0 || (n > 10 && strcasecmp(h + n - 10, ".localhost") == 0))
        return true; /* RFC 6761: browsers resolve these to loopback themselves */
    if (inet_pton(AF_INET, h, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, h, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6) || (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
    return false;
}

/*
 * An IPv6 address in its canonical text (RFC 5952: what inet_ntop and the
 * browsers' URL serialisers write), in place; other names are left as they are.
 */
static void canonical_v6(char *name, size_t cap)
{
    struct in6_addr a6;

    if (cap >= INET6_ADDRSTRLEN && inet_pton(AF_INET6, name, &a6) == 1)
        inet_ntop(AF_INET6, &a6, name, (socklen_t)cap);
}

/*
 * The host part of a Host value ("name", "name:port", "[v6]", "[v6]:port")
 * into out: lower-cased, without brackets, port or a trailing dot, an IPv6
 * address canonical.  Returns 0, or -1 when malformed (a port that is not
 * digits included).
 */
static int host_part(const char *v, char *out, size_t cap)
{
    const char *end, *port;
    size_t n;

    if (v[0] == '[') {
        end = strchr(v, ']');
        if (!end || (end[1] && end[1] != ':'))
            return -1;
        v++;
        port = end[1] ? end + 2 : NULL;
    } else {
        end = strchr(v, ':');
        if (!end)
            end = v + strlen(v);
        else if (strchr(end + 1, ':'))
            return -1;
        port = *end ? end + 1 : NULL;
    }
    if (port && (!*port || strspn(port, "0123456789") != strlen(port)))
        return -1; /* a colon and no port, or not a number */
    n = (size_t)(end - v);
    if (n == 0 || n >= cap)
        return -1;
    for (size_t i = 0; i < n; i++)
        out[i] = (v[i] >= 'A' && v[i] <= 'Z') ? (char)(v[i] - 'A' + 'a') : v[i];
    if (n > 1 && out[n - 1] == '.')
        n--;
    out[n] = '\0';
    canonical_v6(out, cap);
    return 0;
}

int browser_host_norm(const char *v, char *ret_name, size_t cap)
{
    char name[BROWSER_NAME_MAX];
    struct in6_addr a6;
    bool v6;

    /* A bare IPv6 address is how people write one on a command line; a Host header brackets it. */
    if (strchr(v, ':') && strchr(v, ':') != strrchr(v, ':') && v[0] != '[') {
        if (inet_pton(AF_INET6, v, &a6) != 1 || !inet_ntop(AF_INET6, &a6, name, sizeof(name)))
            return -EINVAL;
    } else if (host_part(v, name, sizeof(name)) < 0) {
        return -EINVAL;
    }
    v6 = inet_pton(AF_INET6, name, &a6) == 1;
    if (v[0] == '[' && !v6)
        return -EINVAL; /* brackets hold an IPv6 address and nothing else */
    if (!v6 &&
        (name[0] == '.' || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789.-_") != strlen(name)))
        return -EINVAL; /* a URL, a list, a space: not a name a Host header could carry */
    if (strlen(name) >= cap)
        return -EINVAL;
    memcpy(ret_name, name, strlen(name) + 1);
    return 0;
}

static bool host_allowed(const char *h)
{
    if (loopback_name(h) || strcasecmp(h, bcfg->host) == 0)
        return true;
    for (size_t i = 0; i < nbound; i++)
        if (strcasecmp(h, bound_names[i]) == 0)
            return true;
    for (size_t i = 0; i < nallow; i++)
        if (strcmp(h, allow_names[i]) == 0)
            return true;
    return false;
}

static bool origin_allowed(const char *origin, const char *host)
{
    const char *rest;

    for (size_t i = 0; i < bcfg->cors_origins.n; i++)
        if (strcmp(origin, bcfg->cors_origins.v[i]) == 0)
            return true;
    /* Same origin: the page was served by this very Host (http, or https behind a proxy). */
    if (!host)
        return false;
    if (strncmp(origin, "http://", 7) == 0)
        rest = origin + 7;
    else if (strncmp(origin, "https://", 8) == 0)
        rest = origin + 8;
    else
        return false;
    return strcasecmp(rest, host) == 0;
}

int browser_check(struct http_req *req, bool changes_state, struct problem *err)
{
    char *host = http_header(req, "host:"), *origin = NULL, *site = NULL;
    char name[BROWSER_NAME_MAX];
    int r = 0;

    if (host_check) {
        if (!host) {
            if (http_minor(req) == 1)
                r = problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                                "an HTTP/1.1 request needs a Host header");
        } else if (host_part(host, name, sizeof(name)) < 0) {
            r = problem_set(err, 400, PROBLEM_INVALID_REQUEST, "malformed Host header `%.200s`",
                            host);
        } else if (!host_allowed(name)) {
            r = problem_set(err, 403, PROBLEM_PERMISSION_DENIED,
                            "Host `%.200s` is not this server (requests must name it by a "
                            "loopback address, localhost, or the address it listens on: a guard "
                            "against DNS rebinding); to serve it under that name, start agentd "
                            "with --allow-host %s",
                            host, name);
        }
    }
    if (r == 0 && changes_state) {
        origin = http_header(req, "origin:");
        site = http_header(req, "sec-fetch-site:");
        if (origin && !origin_allowed(origin, host))
            r = problem_set(err, 403, PROBLEM_PERMISSION_DENIED,
                            "a request from the web page at %.200s may not change anything "
                            "here (cross-site request refused); to allow that page, start "
                            "agentd with -O %.200s",
                            origin, origin);
        else if (!origin && site && strcasecmp(site, "cross-site") == 0)
            r = problem_set(err, 403, PROBLEM_PERMISSION_DENIED,
                            "a cross-site request (Sec-Fetch-Site: cross-site) may not change "
                            "anything here; to allow a page, start agentd with -O ORIGIN");
    }
    free(host);
    free(origin);
    free(site);
    return r;
}
