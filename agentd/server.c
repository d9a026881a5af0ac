/*
 * server: the single listener.  agentd binds exactly the addresses --host
 * names (every address a host name resolves to) with libuv, and serves HTTP/1.1
 * on them itself (stream/http_conn.c).  For every request it decides, in this
 * order: CORS preflight, 404 (routing comes before auth, as in the
 * reference), 401, 405, content-type and size checks for JSON bodies, and
 * finally the module's handler.  A WebSocket upgrade passes the same checks
 * and the handshake's own (version 13, a 16-byte key), and its socket and any
 * bytes after the head then go to stream/ws_server.c, which answers the
 * handshake and does the framing.  Nothing here blocks:
 * handlers either answer at once or hand work to the libuv pool and answer
 * from its completion callback.
 */
#include "server.h"

#include "auth.h"
#include "browser.h"
#include "cors.h"
#include "router.h"

#include "../stream/http_conn.h"
#include "../stream/json.h"
#include "../stream/limits.h"
#include "../stream/log.h"
#include "../stream/base64.h"
#include "../stream/ws_server.h"
#include "../stream/xmalloc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* A checked upgrade on its way to the route's ws_open. */
struct upgrade {
    struct http_req *req;      /* path, query and captures for ws_open (one reference) */
    const struct route *route; /* the WebSocket route */
};

#define SERVER_LISTENERS_MAX 8

static const struct agentd_config *server_cfg;
static uv_tcp_t listeners[SERVER_LISTENERS_MAX];
static size_t nlisteners;

static bool authorized(struct http_req *req, const struct route *route)
{
    char *header;
    const char *qtoken = NULL;
    struct problem ignored;
    bool ok;

    if (!server_cfg->token)
        return true;
    header = http_header(req, "authorization:");
    ok = auth_header_ok(header, server_cfg->token);
    free(header);
    if (!ok && route && (route->flags & ROUTE_WEBSOCKET) &&
        query_str(http_query(req), "access_token", &qtoken, &ignored) == 1)
        ok = auth_equal(qtoken, strlen(qtoken), server_cfg->token, strlen(server_cfg->token));
    return ok;
}

static void reply_401(struct http_req *req)
{
    struct problem p;

    problem_set(&p, 401, PROBLEM_TOKEN_INVALID, "missing or invalid bearer token");
    http_reply_problem(req, &p);
}

static void add_allow(struct http_req *req, unsigned allow)
{
    char methods[128];

    cors_format_methods(allow, methods, sizeof(methods));
    http_add_header(req, "allow", methods);
}

/* The whole body of a request whose handler needs it has arrived (or overflowed). */
static void on_body_complete(struct http_req *req, const void *arg)
{
    const struct route *route = arg;
    struct problem p;

    if (http_body_too_large(req)) {
        problem_set(&p, 413, PROBLEM_INVALID_REQUEST,
                    "request body is larger than %u bytes; JSON bodies are limited to %u bytes",
                    LIM_JSON_BODY_BYTES, LIM_JSON_BODY_BYTES);
        http_reply_problem(req, &p);
        return;
    }
    route->handler(req);
}

/* Calls the route's handler now or after the body, depending on its flags. */
static void dispatch_route(struct http_req *req, const struct route *route)
{
    struct problem p;
    bool reads_body = http_has_body(req) && (route->flags & (ROUTE_JSON_BODY | ROUTE_STREAM_BODY));

    if (route->flags & ROUTE_JSON_BODY) {
        char *ct = http_header(req, "content-type:");
        bool ok = json_content_type_ok(ct);
        free(ct);
        if (!ok) {
            problem_set(&p, 415, PROBLEM_INVALID_REQUEST,
                        "expected a JSON body with `Content-Type: application/json`");
            http_reply_problem(req, &p);
            return;
        }
        if (http_content_length(req) > (int64_t)LIM_JSON_BODY_BYTES) {
            problem_set(&p, 413, PROBLEM_INVALID_REQUEST,
                        "request body is %lld bytes; JSON bodies are limited to %u bytes",
                        (long long)http_content_length(req), LIM_JSON_BODY_BYTES);
            http_reply_problem(req, &p);
            return;
        }
        if (http_has_body(req)) {
            http_body_buffer(req, LIM_JSON_BODY_BYTES);
            http_body_then(req, on_body_complete, route);
            http_continue(req);
            return;
        }
    } else if (!(route->flags & ROUTE_STREAM_BODY) && http_has_body(req)) {
        /* A body the route does not read: drain it, then answer. */
        http_body_then(req, on_body_complete, route);
        return;
    }
    route->handler(req);
    /* The handler accepted the body: tell a client that waits for it (Expect: 100-continue). */
    if (reads_body && !http_replied(req))
        http_continue(req);
}

static struct ws_session *open_session(const struct ws_transport *tr, void *conn, void *arg)
{
    struct upgrade *u = arg;
    struct ws_session *s = u->route->ws_open(tr, conn, u->req);

    http_req_unref(u->req);
    free(u);
    return s;
}

/* Gives a checked upgrade's socket to the WebSocket server side. */
static void hand_off(struct http_req *req, const struct route *route, const char *key)
{
    struct upgrade *u;
    char *bytes;
    size_t len;
    int fd, r;

    if (http_handoff(req, &fd, &bytes, &len) < 0)
        return;
    u = xcalloc(1, sizeof(*u));
    u->req = req;
    u->route = route;
    r = ws_server_accept(http_loop(), fd, key, strlen(key), bytes, len, open_session, u);
    if (r < 0) {
        log_warn("server", "cannot take a WebSocket connection: %s", uv_strerror(r));
        http_req_unref(req);
        free(u);
    }
    free(bytes);
}

/*
 * The handshake's own checks (RFC 6455 4.2.1): version 13 (426 naming it
 * otherwise) and a key that is 16 bytes in base64.  Returns the key
 * (malloc'd) or NULL with the reply sent.
 */
static char *handshake_key(struct http_req *req)
{
    char *version = http_header(req, "sec-websocket-version:");
    char *key = http_header(req, "sec-websocket-key:");
    unsigned char raw[32];
    size_t bad = 0;
    long n = -1;
    struct problem p;

    if (!version || strcmp(version, "13") != 0) {
        problem_set(&p, 426, PROBLEM_INVALID_REQUEST,
                    "WebSocket version %s is not supported; send Sec-WebSocket-Version: 13",
                    version ? version : "(none)");
        http_add_header(req, "sec-websocket-version", "13");
        goto refuse;
    }
    if (key && strlen(key) <= 2 * sizeof(raw))
        n = base64_decode(key, strlen(key), raw, &bad);
    if (n != 16) {
        problem_set(&p, 400, PROBLEM_INVALID_REQUEST,
                    "Sec-WebSocket-Key must be 16 bytes in base64 (RFC 6455 4.1)");
        goto refuse;
    }
    free(version);
    return key;
refuse:
    free(version);
    free(key);
    http_reply_problem(req, &p);
    return NULL;
}

/*
 * A WebSocket upgrade: the same checks as any request (404, 401 with header
 * or access_token, the route's own checks such as 409 for a pipe process),
 * answered as plain HTTP problems; a request that passes is handed off.
 */
static void on_upgrade(struct http_req *req)
{
    const struct route *route = NULL;
    unsigned allow = 0;
    struct problem p;
    char *key;

    http_set_close(req);
    if (router_match(req, &route, &allow) != ROUTER_MATCH) {
        problem_set(&p, 404, PROBLEM_INVALID_REQUEST, "endpoint not found: %s", http_path(req));
        http_reply_problem(req, &p);
        return;
    }
    if (!(route->flags & ROUTE_WEBSOCKET) || !route->ws_open) {
        problem_set(&p, 400, PROBLEM_INVALID_REQUEST, "%s is not a WebSocket endpoint",
                    http_path(req));
        http_reply_problem(req, &p);
        return;
    }
    if (!authorized(req, route)) {
        reply_401(req);
        return;
    }
    if (!(key = handshake_key(req)))
        return;
    route->handler(req);
    if (!http_replied(req))
        hand_off(req, route, key);
    free(key);
}

/* Every request the connections parse (struct http_conn_ops). */
static int on_request(struct http_req *req, const struct problem *bad)
{
    const struct route *route = NULL;
    unsigned allow = 0;
    enum router_result rr;
    struct problem p;
    int r;

    http_req_ref(req);
    http_enter(req);
    cors_apply(req);
    if (bad) {
        http_set_close(req);
        http_reply_problem(req, bad);
        goto out;
    }
    /* Before anything else: a rebound Host or a cross-site page learns nothing, changes nothing. */
    if (browser_check(req,
                      http_is_upgrade(req) ||
                          !(http_method(req) & (HTTP_GET | HTTP_HEAD | HTTP_OPTIONS)),
                      &p) < 0) {
        http_reply_problem(req, &p);
        goto out;
    }
    if (http_is_upgrade(req) && http_method(req) == HTTP_GET) {
        on_upgrade(req);
        goto out;
    }
    rr = router_match(req, &route, &allow);
    if (cors_is_preflight(req)) {
        cors_reply_preflight(req, allow);
        goto out;
    }
    if (rr == ROUTER_NO_PATH) {
        problem_set(&p, 404, PROBLEM_INVALID_REQUEST, "endpoint not found: %s %s",
                    http_method_name(http_method(req)), http_path(req));
        http_reply_problem(req, &p);
        goto out;
    }
    if (rr == ROUTER_NO_METHOD)
        add_allow(req, allow);
    if (!(route && (route->flags & ROUTE_PUBLIC)) && !authorized(req, route)) {
        reply_401(req);
        goto out;
    }
    if (rr == ROUTER_NO_METHOD) {
        char methods[128];
        cors_format_methods(allow, methods, sizeof(methods));
        problem_set(&p, 405, PROBLEM_INVALID_REQUEST, "method %s is not allowed on %s; use %s",
                    http_method_name(http_method(req)), http_path(req), methods);
        http_reply_problem(req, &p);
        goto out;
    }
    dispatch_route(req, route);
out:
    r = http_leave(req);
    http_req_unref(req);
    return r;
}

static const struct http_conn_ops conn_ops = {on_request};

static void on_connection(uv_stream_t *server, int status)
{
    if (status < 0) {
        log_warn("server", "accept failed: %s", uv_strerror(status));
        return;
    }
    http_conn_accept(server);
}

static bool is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
    }
    return false;
}

/* Room for LIM_CONNECTIONS sockets plus child pipes and files. */
static int raise_fd_limit(void)
{
    struct rlimit rl;
    rlim_t want = (rlim_t)LIM_CONNECTIONS * 2 + 1024;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return 1024;
    if (rl.rlim_cur < want) {
        rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur < (rlim_t)LIM_CONNECTIONS + 64)
        log_warn("server",
                 "only %llu file descriptors allowed (ulimit -n); fewer than %d "
                 "connections will fit",
                 (unsigned long long)rl.rlim_cur, LIM_CONNECTIONS);
    return rl.rlim_cur > 65536 ? 65536 : (int)rl.rlim_cur;
}

/* Binds and listens on every address cfg->host resolves to, all on one port. */
static int listen_all(uv_loop_t *loop, const struct agentd_config *cfg, int *ret_port)
{
    struct addrinfo hints, *res = NULL, *ai;
    struct sockaddr_storage bound[SERVER_LISTENERS_MAX];
    int port = cfg->port, r, naddr = 0;
    bool exposed = false;
    char name[INET6_ADDRSTRLEN];

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    r = getaddrinfo(cfg->host, NULL, &hints, &res);
    if (r != 0) {
        fprintf(stderr,
                "agentd: --host %s: cannot resolve it (%s); give an IP address such as "
                "127.0.0.1 or ::1, or a host name\n",
                cfg->host, gai_strerror(r));
        return -EINVAL;
    }
    for (ai = res; ai; ai = ai->ai_next)
        naddr++;
    for (ai = res; ai && nlisteners < SERVER_LISTENERS_MAX; ai = ai->ai_next) {
        struct sockaddr_storage ss;
        uv_tcp_t *t = &listeners[nlisteners];
        bool dup = false;
        int len = sizeof(ss);

        if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
            continue;
        memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
        if (ss.ss_family == AF_INET)
            ((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
        else
            ((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
        for (size_t i = 0; i < nlisteners; i++)
            if (memcmp(&bound[i], &ss, ai->ai_addrlen) == 0)
                dup = true;
        if (dup)
            continue;
        uv_ip_name((struct sockaddr *)&ss, name, sizeof(name));
        uv_tcp_init(loop, t);
        /* With several addresses (localhost: 127.0.0.1 and ::1) a v6 socket is v6 only. */
        r = uv_tcp_bind(t, (struct sockaddr *)&ss,
                        ss.ss_family == AF_INET6 && naddr > 1 ? UV_TCP_IPV6ONLY : 0);
        if (r == 0)
            r = uv_listen((uv_stream_t *)t, 511, on_connection);
        if (r < 0) {
            uv_close((uv_handle_t *)t, NULL);
            /* A name whose other family works (localhost on a machine without IPv6): serve
             * that one.  A literal address, or a name with one address, must bind. */
            if (naddr > 1 && (r == UV_EADDRNOTAVAIL || r == UV_EAFNOSUPPORT)) {
                log_warn("server", "--host %s: not listening on %s (%s); its other addresses serve",
                         cfg->host, name, uv_strerror(r));
                continue;
            }
            fprintf(stderr, "agentd: cannot listen on %s%s%s:%d (--host %s): %s\n",
                    ss.ss_family == AF_INET6 ? "[" : "", name, ss.ss_family == AF_INET6 ? "]" : "",
                    port, cfg->host, uv_strerror(r));
            freeaddrinfo(res);
            return r; /* a negative errno: main maps EADDRNOTAVAIL and EINVAL to usage (2) */
        }
        if (uv_tcp_getsockname(t, (struct sockaddr *)&bound[nlisteners], &len) == 0 && !port)
            port = ntohs(bound[nlisteners].ss_family == AF_INET
                             ? ((struct sockaddr_in *)&bound[nlisteners])->sin_port
                             : ((struct sockaddr_in6 *)&bound[nlisteners])->sin6_port);
        if (!is_loopback((struct sockaddr *)&ss))
            exposed = true;
        log_debug("server", "listening on %s port %d", name, port);
        nlisteners++;
    }
    freeaddrinfo(res);
    if (!nlisteners) {
        fprintf(stderr, "agentd: --host %s has no IPv4 or IPv6 address to listen on\n", cfg->host);
        return -EADDRNOTAVAIL;
    }
    browser_init(cfg, bound, nlisteners);
    if (exposed && !cfg->token)
        log_warn("server",
                 "listening on %s, which other machines can reach, with --no-token: anyone who "
                 "can connect can run commands here; use --token or --host 127.0.0.1",
                 cfg->host);
    *ret_port = port;
    return 0;
}

int server_start(uv_loop_t *loop, const struct agentd_config *cfg, int *ret_port)
{
    int r;

    server_cfg = cfg;
    cors_init(cfg);
    raise_fd_limit();
    http_conn_setup(loop, &conn_ops, &http_exchange);
    r = listen_all(loop, cfg, ret_port);
    if (r < 0) {
        server_stop();
        return r;
    }
    return 0;
}

void server_stop(void)
{
    for (size_t i = 0; i < nlisteners; i++)
        if (!uv_is_closing((uv_handle_t *)&listeners[i]))
            uv_close((uv_handle_t *)&listeners[i], NULL);
    http_conn_close_all();
    ws_server_close_all();
}
