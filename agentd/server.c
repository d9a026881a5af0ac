/*
 * server: the single listener.  One libwebsockets context runs on the libuv
 * loop owned by main.c; its HTTP protocol callback turns lws events into
 * calls on struct http_req and decides, for every request, in this order:
 * CORS preflight, 404 (routing comes before auth, as in the reference), 401,
 * 405, content-type and size checks for JSON bodies, and finally the
 * module's handler.  Nothing here blocks: handlers either answer at once or
 * hand work to the libuv pool and answer from its completion callback.
 */
#include "server.h"

#include "auth.h"
#include "cors.h"
#include "router.h"

#include "../stream/json.h"
#include "../stream/limits.h"
#include "../stream/log.h"
#include "../stream/ws.h"

#include <errno.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Per-connection state (lws per_session_data). */
struct conn {
    struct http_req *req;        /* the exchange in progress, or NULL */
    const struct route *pending; /* handler to call once the body is in */
    struct ws_session *ws;       /* after a WebSocket upgrade */
};

static struct lws_context *context;
static struct lws_vhost *vhost;
static const struct agentd_config *server_cfg;

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

/* Calls the route's handler now or after the body, depending on its flags. */
static void dispatch_route(struct conn *c, struct http_req *req, const struct route *route)
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
            c->pending = route;
            http_continue(req);
            return;
        }
    } else if (!(route->flags & ROUTE_STREAM_BODY) && http_has_body(req)) {
        /* A body the route does not read: drain it, then answer. */
        c->pending = route;
        return;
    }
    route->handler(req);
    /* The handler accepted the body: tell a client that waits for it (Expect: 100-continue). */
    if (reads_body && !http_replied(req))
        http_continue(req);
    /* A reply that comes later (a process exit, a timer): lws still waits for the body of a
     * bodiless POST and would close the connection after 5 s. */
    if (!reads_body && !http_replied(req) && http_wsi(req))
        lws_set_timeout(http_wsi(req), NO_PENDING_TIMEOUT, 0);
}

static void on_request(struct lws *wsi, struct conn *c)
{
    struct http_req *req;
    const struct route *route = NULL;
    unsigned allow = 0;
    enum router_result rr;
    struct problem p;
    int bad;

    c->pending = NULL;
    bad = http_req_new(wsi, &c->req, &p);
    req = c->req;
    http_enter(req);
    cors_apply(req);
    if (!bad && http_is_chunked(req)) {
        /* libwebsockets 4.1 does not decode chunked request bodies: refuse, do not guess. */
        http_set_close(req);
        bad = problem_set(&p, 411, PROBLEM_INVALID_REQUEST,
                          "chunked request bodies are not supported; send Content-Length");
    }
    if (bad) {
        http_reply_problem(req, &p);
        return;
    }
    rr = router_match(req, &route, &allow);
    if (cors_is_preflight(req)) {
        cors_reply_preflight(req, allow);
        return;
    }
    if (rr == ROUTER_NO_PATH) {
        problem_set(&p, 404, PROBLEM_INVALID_REQUEST, "endpoint not found: %s %s",
                    http_method_name(http_method(req)), http_path(req));
        http_reply_problem(req, &p);
        return;
    }
    if (rr == ROUTER_NO_METHOD)
        add_allow(req, allow);
    if (!(route && (route->flags & ROUTE_PUBLIC)) && !authorized(req, route)) {
        reply_401(req);
        return;
    }
    if (rr == ROUTER_NO_METHOD) {
        char methods[128];
        cors_format_methods(allow, methods, sizeof(methods));
        problem_set(&p, 405, PROBLEM_INVALID_REQUEST, "method %s is not allowed on %s; use %s",
                    http_method_name(http_method(req)), http_path(req), methods);
        http_reply_problem(req, &p);
        return;
    }
    dispatch_route(c, req, route);
}

static void on_body_complete(struct conn *c)
{
    struct http_req *req = c->req;
    const struct route *route = c->pending;
    struct problem p;

    c->pending = NULL;
    if (!route || http_replied(req))
        return;
    if (http_body_too_large(req)) {
        problem_set(&p, 413, PROBLEM_INVALID_REQUEST, "JSON bodies are limited to %u bytes",
                    LIM_JSON_BODY_BYTES);
        http_reply_problem(req, &p);
        return;
    }
    route->handler(req);
}

/*
 * A WebSocket upgrade: the same checks as any request (404, 401 with header
 * or access_token, the route's own checks such as 409 for a pipe process),
 * answered as plain HTTP problems before upgrading.  Returns 0 to upgrade,
 * 1 when a problem was sent.
 */
static int on_upgrade(struct lws *wsi)
{
    const struct route *route = NULL;
    struct http_req *req = NULL;
    unsigned allow = 0;
    struct problem p;
    int bad;

    /* No per-session data exists yet at this point: the request lives on our stack slot. */
    bad = http_req_new(wsi, &req, &p);
    http_enter(req);
    http_set_close(req);
    cors_apply(req);
    if (!bad && router_match(req, &route, &allow) != ROUTER_MATCH)
        bad =
            problem_set(&p, 404, PROBLEM_INVALID_REQUEST, "endpoint not found: %s", http_path(req));
    if (!bad && (!(route->flags & ROUTE_WEBSOCKET) || !route->ws_open))
        bad = problem_set(&p, 400, PROBLEM_INVALID_REQUEST, "%s is not a WebSocket endpoint",
                          http_path(req));
    if (!bad && !authorized(req, route)) {
        reply_401(req);
    } else if (bad) {
        http_reply_problem(req, &p);
    } else {
        route->handler(req);
    }
    if (http_replied(req)) {
        http_leave(req);
        http_req_detach(req);
        return 1;
    }
    http_req_detach(req);
    return 0;
}

static void on_established(struct lws *wsi, struct conn *c)
{
    const struct route *route = NULL;
    struct http_req *req = NULL;
    unsigned allow = 0;
    struct problem p;

    if (http_req_new(wsi, &req, &p) == 0 && router_match(req, &route, &allow) == ROUTER_MATCH &&
        route->ws_open)
        c->ws = route->ws_open(wsi, req);
    if (req)
        http_req_detach(req);
}

static int callback_http(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                         size_t len)
{
    struct conn *c = user;
    int r;

    switch (reason) {
    case LWS_CALLBACK_HTTP:
        if (!c)
            return -1;
        if (c->req) /* a pipelined request while the previous one is still open */
            http_req_detach(c->req);
        on_request(wsi, c);
        return c->req ? http_leave(c->req) : 0;

    case LWS_CALLBACK_HTTP_BODY:
        if (!c || !c->req)
            return 0;
        if (http_on_body(c->req, in, len) < 0)
            return -1;
        if (c->req && c->pending && http_body_too_large(c->req) && !http_replied(c->req)) {
            http_enter(c->req);
            on_body_complete(c);
            return http_leave(c->req);
        }
        return 0;

    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (!c || !c->req)
            return 0;
        http_req_ref(c->req);
        {
            struct http_req *req = c->req;
            r = http_on_body_end(req);
            /*
             * A streamed body's end handler may have answered already; on a
             * keep-alive connection that finishes the transaction and lws
             * frees c, so c is only looked at while the request is unanswered.
             */
            if (r == 0 && !http_replied(req) && c->req == req && c->pending) {
                http_enter(req);
                on_body_complete(c);
                r = http_leave(req);
            }
            http_req_unref(req);
        }
        return r;

    case LWS_CALLBACK_HTTP_WRITEABLE:
        if (!c || !c->req)
            return 0;
        return http_on_writable(c->req);

    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        if (c && c->req)
            http_req_detach(c->req);
        return on_upgrade(wsi);

    case LWS_CALLBACK_ESTABLISHED:
        if (!c)
            return -1;
        c->req = NULL;
        c->ws = NULL;
        on_established(wsi, c);
        return c->ws ? 0 : -1;

    case LWS_CALLBACK_RECEIVE:
        return c && c->ws ? ws_on_receive(c->ws, in, len) : -1;

    case LWS_CALLBACK_SERVER_WRITEABLE:
        return c && c->ws ? ws_on_writable(c->ws) : 0;

    case LWS_CALLBACK_CLOSED:
        if (c && c->ws)
            ws_on_closed(c->ws);
        c->ws = NULL;
        return 0;

    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        if (c && c->req)
            http_req_detach(c->req);
        return 0;

    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
    {"http", callback_http, sizeof(struct conn), LIM_RX_BUFFER_BYTES, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void lws_log_bridge(int level, const char *line)
{
    size_t n = strlen(line);

    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    if (level & LLL_ERR)
        log_error("lws", "%.*s", (int)n, line);
    else if (level & LLL_WARN)
        log_warn("lws", "%.*s", (int)n, line);
    else
        log_debug("lws", "%.*s", (int)n, line);
}

int server_start(uv_loop_t *loop, const struct agentd_config *cfg, int *ret_port)
{
    struct lws_context_creation_info info;
    void *foreign_loops[1] = {loop};
    int levels = LLL_ERR | LLL_WARN;

    server_cfg = cfg;
    cors_init(cfg);
    if (cfg->log_level == LOG_LVL_DEBUG)
        levels |= LLL_NOTICE | LLL_INFO;
    lws_set_log_level(levels, lws_log_bridge);

    memset(&info, 0, sizeof(info));
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_EXPLICIT_VHOSTS |
                   LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND |
                   LWS_SERVER_OPTION_UV_NO_SIGSEGV_SIGFPE_SPIN;
    info.foreign_loops = foreign_loops;
    info.pt_serv_buf_size = LIM_RX_BUFFER_BYTES;
    info.max_http_header_data = LIM_HTTP_HEADER_BYTES;
    info.max_http_header_pool = LIM_CONNECTIONS;
    info.fd_limit_per_thread = LIM_CONNECTIONS + 64;
    info.count_threads = 1;
    /* lws clears this pointer once a (foreign-loop) destroy has finished. */
    info.pcontext = &context;
    context = lws_create_context(&info);
    if (!context) {
        log_error("server", "cannot create the libwebsockets context");
        return -EIO;
    }

    memset(&info, 0, sizeof(info));
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND;
    info.port = cfg->port; /* 0: the kernel picks a free port */
    info.iface = cfg->host;
    info.protocols = protocols;
    info.vhost_name = "agentd";
    info.keepalive_timeout = 60;
    info.timeout_secs = 120;
    vhost = lws_create_vhost(context, &info);
    if (!vhost) {
        log_error("server", "cannot listen on %s:%d (address in use or not available)", cfg->host,
                  cfg->port);
        lws_context_destroy(context);
        context = NULL;
        return -EADDRINUSE;
    }
    *ret_port = lws_get_vhost_listen_port(vhost);
    return 0;
}

void server_stop(void)
{
    /*
     * On a foreign loop this starts the teardown; lws closes its handles as
     * the loop keeps running and sets `context` to NULL when it is done.
     */
    if (context)
        lws_context_destroy(context);
}

void server_finish(void)
{
    /* A second call completes a destroy that the loop could not finish. */
    if (context)
        lws_context_destroy(context);
}
