/*
 * client: HTTP requests and WebSocket sessions to a running agentd on the
 * libwebsockets client API, sharing the caller's libuv loop.  Each request
 * or session is one connection (struct client_conn, the wsi's opaque user
 * data) that is released exactly once: when lws reports a connection error
 * or when the established connection closes.
 */
#include "client.h"

#include "../stream/buf.h"
#include "../stream/limits.h"
#include "../stream/ws.h"
#include "../stream/xmalloc.h"

#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct client {
    struct lws_context *ctx;
    char host[256];
    char prefix[512]; /* the endpoint's path, without a trailing '/' */
    int port;
    bool tls;
    char *auth; /* "Bearer <token>" or NULL */
};

enum conn_kind { CONN_HTTP, CONN_WS };

struct client_conn {
    enum conn_kind kind;
    struct client *c;
    char *path;
    bool finished;   /* on_done / on_open has been called */
    bool connecting; /* inside lws_client_connect_via_info() */
    /* HTTP */
    const char *method;
    char *body;
    size_t body_len;
    int status;
    struct buf resp;
    client_data_fn on_data;
    client_done_fn on_done;
    void *arg;
    /* WebSocket */
    const struct ws_ops *ops;
    const struct client_ws_hooks *hooks;
    void *ctx;
    struct ws_session *ws;
    struct lws *wsi;
    struct buf rx; /* the message being reassembled */
    bool rx_binary;
    int close_code; /* the session is closing: the Close frame goes when it has drained */
    char close_reason[124];
};

/* ---- the session's transport: libwebsockets' client side ------------------------------------- */

_Static_assert(LWS_PRE <= WS_HEADROOM, "a session's headroom holds lws's");

static void tr_want_write(void *conn)
{
    struct client_conn *k = conn;

    lws_callback_on_writable(k->wsi);
}

static int tr_write(void *conn, unsigned char *p, size_t n, bool binary)
{
    struct client_conn *k = conn;

    return lws_write(k->wsi, p, n, binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT) < 0 ? -1 : 0;
}

static void tr_close(void *conn, int code, const char *reason)
{
    struct client_conn *k = conn;

    k->close_code = code;
    snprintf(k->close_reason, sizeof(k->close_reason), "%s", reason);
    /* A server that stopped reading never lets the Close frame out: drop it after the grace. */
    lws_set_timeout(k->wsi, PENDING_TIMEOUT_CLOSE_SEND, LIM_WS_CLOSE_GRACE_S);
    lws_callback_on_writable(k->wsi);
}

static const struct ws_transport transport = {tr_want_write, tr_write, tr_close};

static int ws_writable(struct client_conn *k)
{
    unsigned char frame[LWS_PRE + 2 + sizeof(k->close_reason)];
    size_t rl;
    int r = ws_on_writable(k->ws);

    if (r != 0 || !k->close_code)
        return r < 0 ? -1 : 0;
    /* The Close frame itself (status code + reason), then hang up. */
    rl = strlen(k->close_reason);
    frame[LWS_PRE] = (unsigned char)(k->close_code >> 8);
    frame[LWS_PRE + 1] = (unsigned char)(k->close_code & 0xff);
    memcpy(frame + LWS_PRE + 2, k->close_reason, rl);
    /* LWS_WRITE_CLOSE (4) is not in the public enum of lws 4.1. */
    lws_write(k->wsi, frame + LWS_PRE, 2 + rl, (enum lws_write_protocol)4);
    return -1;
}

/*
 * Bounded reassembly: a frame that declares more than the limit (lws tells
 * what is still to come of it), or a message whose fragments pass it, is
 * refused at once with 1009.
 */
static int ws_receive(struct client_conn *k, const void *in, size_t len)
{
    static unsigned char why[] = "message too big";
    struct lws *wsi = k->wsi;

    if (lws_is_first_fragment(wsi)) {
        buf_reset(&k->rx);
        k->rx_binary = lws_frame_is_binary(wsi);
    }
    if (len + lws_remaining_packet_payload(wsi) > k->rx.max - k->rx.len ||
        buf_append(&k->rx, in, len) < 0) {
        lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, why, sizeof(why) - 1);
        return -1;
    }
    if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
        return 0;
    ws_deliver(k->ws, k->rx.data ? k->rx.data : "", k->rx.len, k->rx_binary);
    buf_reset(&k->rx);
    return 0;
}

static void conn_free(struct lws *wsi, struct client_conn *k)
{
    if (wsi)
        lws_set_opaque_user_data(wsi, NULL);
    buf_done(&k->resp);
    buf_done(&k->rx);
    free(k->body);
    free(k->path);
    free(k);
}

static void http_finish(struct client_conn *k, int status, const char *err)
{
    if (k->finished)
        return;
    k->finished = true;
    k->on_done(k->arg, status, k->resp.data ? k->resp.data : "", k->resp.len, err);
}

/* The connection failed before it was established (or, for HTTP, before the answer ended). */
static void conn_fail(struct client_conn *k, const char *err)
{
    if (k->kind == CONN_HTTP) {
        http_finish(k, 0, err);
    } else if (!k->finished) {
        k->finished = true;
        k->hooks->on_open(k->ctx, NULL, err);
    }
}

static int add_header(struct lws *wsi, const char *name, const char *value, void *in, size_t len)
{
    unsigned char **p = in, *end = *p + len;

    return lws_add_http_header_by_name(wsi, (const unsigned char *)name,
                                       (const unsigned char *)value, (int)strlen(value), p, end);
}

static int append_headers(struct lws *wsi, struct client_conn *k, void *in, size_t len)
{
    char cl[32];

    if (k->c->auth && add_header(wsi, "authorization:", k->c->auth, in, len))
        return -1;
    if (k->kind == CONN_WS)
        return 0;
    if (add_header(wsi, "accept:", k->on_data ? "text/event-stream" : "application/json", in, len))
        return -1;
    if (!k->body)
        return 0;
    snprintf(cl, sizeof(cl), "%zu", k->body_len);
    if (add_header(wsi, "content-type:", "application/json", in, len) ||
        add_header(wsi, "content-length:", cl, in, len))
        return -1;
    lws_client_http_body_pending(wsi, 1);
    lws_callback_on_writable(wsi);
    return 0;
}

static int write_body(struct lws *wsi, struct client_conn *k)
{
    unsigned char *frame = xmalloc(LWS_PRE + k->body_len);
    int n;

    memcpy(frame + LWS_PRE, k->body, k->body_len);
    n = lws_write(wsi, frame + LWS_PRE, k->body_len, LWS_WRITE_HTTP_FINAL);
    free(frame);
    lws_client_http_body_pending(wsi, 0);
    return n < 0 ? -1 : 0;
}

static int on_http_data(struct client_conn *k, const void *in, size_t len)
{
    if (k->on_data)
        return k->on_data(k->arg, in, len);
    if (buf_append(&k->resp, in, len) < 0) {
        http_finish(k, 0, "response too large");
        return -1;
    }
    return 0;
}

static void peer_close(struct client_conn *k, const unsigned char *in, size_t len)
{
    char reason[128];
    size_t rl;
    int code = 0;

    if (len >= 2)
        code = (in[0] << 8) | in[1];
    rl = len > 2 ? len - 2 : 0;
    if (rl >= sizeof(reason))
        rl = sizeof(reason) - 1;
    if (rl)
        memcpy(reason, in + 2, rl);
    reason[rl] = '\0';
    if (k->hooks->on_peer_close)
        k->hooks->on_peer_close(k->ctx, code, reason);
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    struct client_conn *k = wsi ? lws_get_opaque_user_data(wsi) : NULL;

    if (!k)
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    switch (reason) {
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
        return append_headers(wsi, k, in, len);

    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        conn_fail(k, in ? (const char *)in : "connection failed");
        lws_set_opaque_user_data(wsi, NULL);
        /* During the connect call the caller sees NULL and frees k itself. */
        if (!k->connecting)
            conn_free(NULL, k);
        return 0;

    /* HTTP */
    case LWS_CALLBACK_CLIENT_HTTP_WRITEABLE:
        return k->body ? write_body(wsi, k) : 0;
    case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP:
        k->status = (int)lws_http_client_http_response(wsi);
        return 0;
    case LWS_CALLBACK_RECEIVE_CLIENT_HTTP: {
        /* lws hands the data to RECEIVE_CLIENT_HTTP_READ; this buffer is only its scratch. */
        char rx[LWS_PRE + 16384], *px = rx + LWS_PRE;
        int lenx = (int)(sizeof(rx) - LWS_PRE);
        return lws_http_client_read(wsi, &px, &lenx) < 0 ? -1 : 0;
    }
    case LWS_CALLBACK_RECEIVE_CLIENT_HTTP_READ:
        return on_http_data(k, in, len);
    case LWS_CALLBACK_COMPLETED_CLIENT_HTTP:
        http_finish(k, k->status, NULL);
        return -1; /* one request per connection */
    case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
        http_finish(k, 0, "connection closed before the response ended");
        conn_free(wsi, k);
        return 0;

    /* WebSocket */
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        k->wsi = wsi;
        buf_init(&k->rx, LIM_RX_BUFFER_BYTES * 4);
        k->ws = ws_session_new(&transport, k, k->ops, k->ctx, LIM_RX_BUFFER_BYTES * 4);
        k->finished = true;
        k->hooks->on_open(k->ctx, k->ws, NULL);
        return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        return k->ws ? ws_receive(k, in, len) : -1;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        return k->ws ? ws_writable(k) : 0;
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        peer_close(k, in, len);
        return 0;
    case LWS_CALLBACK_CLIENT_CLOSED:
        ws_on_closed(k->ws);
        conn_free(wsi, k);
        return 0;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
    {"agentd-client", callback, 0, LIM_RX_BUFFER_BYTES, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static int parse_endpoint(struct client *c, const char *endpoint)
{
    char tmp[1024];
    const char *proto, *addr, *path;
    int port;
    size_t n;

    if (snprintf(tmp, sizeof(tmp), "%s", endpoint) >= (int)sizeof(tmp) ||
        lws_parse_uri(tmp, &proto, &addr, &port, &path))
        return -1;
    if (strcmp(proto, "http") == 0 || strcmp(proto, "ws") == 0)
        c->tls = false;
    else if (strcmp(proto, "https") == 0 || strcmp(proto, "wss") == 0)
        c->tls = true;
    else
        return -1;
    if (!*addr || snprintf(c->host, sizeof(c->host), "%s", addr) >= (int)sizeof(c->host))
        return -1;
    /* lws_parse_uri defaults the port by scheme and drops the path's '/'. */
    c->port = port;
    if (snprintf(c->prefix, sizeof(c->prefix), "%s%s", *path ? "/" : "", path) >=
        (int)sizeof(c->prefix))
        return -1;
    n = strlen(c->prefix);
    while (n && c->prefix[n - 1] == '/')
        c->prefix[--n] = '\0';
    return 0;
}

struct client *client_new(uv_loop_t *loop, const char *endpoint, const char *token)
{
    struct lws_context_creation_info info;
    void *foreign_loops[1] = {loop};
    struct client *c = xcalloc(1, sizeof(*c));

    if (parse_endpoint(c, endpoint) < 0) {
        fprintf(stderr, "agentd: --endpoint expects http[s]://HOST[:PORT], got '%s'\n", endpoint);
        free(c);
        return NULL;
    }
    if (token && *token) {
        size_t n = strlen(token) + sizeof("Bearer ");
        c->auth = xmalloc(n);
        snprintf(c->auth, n, "Bearer %s", token);
    }
    lws_set_log_level(LLL_ERR, NULL);
    memset(&info, 0, sizeof(info));
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT |
                   LWS_SERVER_OPTION_UV_NO_SIGSEGV_SIGFPE_SPIN;
    info.foreign_loops = foreign_loops;
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.count_threads = 1;
    /* lws clears this pointer once a (foreign-loop) destroy has finished. */
    info.pcontext = &c->ctx;
    c->ctx = lws_create_context(&info);
    if (!c->ctx) {
        fprintf(stderr, "agentd: cannot create the libwebsockets client context\n");
        free(c->auth);
        free(c);
        return NULL;
    }
    return c;
}

void client_close(struct client *c)
{
    if (c->ctx)
        lws_context_destroy(c->ctx);
}

void client_free(struct client *c)
{
    if (!c)
        return;
    /* A second call completes a destroy that the loop could not finish. */
    if (c->ctx)
        lws_context_destroy(c->ctx);
    free(c->auth);
    free(c);
}

/* Returns 0, or -1 after reporting the failure (k is freed either way on failure). */
static int conn_start(struct client *c, struct client_conn *k, const char *path, const char *method)
{
    struct lws_client_connect_info i;
    struct lws *wsi;
    size_t n = strlen(c->prefix) + strlen(path) + 1;

    k->c = c;
    k->path = xmalloc(n);
    snprintf(k->path, n, "%s%s", c->prefix, path);
    memset(&i, 0, sizeof(i));
    i.context = c->ctx;
    i.address = c->host;
    i.port = c->port;
    i.ssl_connection = c->tls ? LCCSCF_USE_SSL : 0;
    i.path = k->path;
    i.host = c->host;
    i.origin = c->host;
    i.method = method; /* NULL: a WebSocket upgrade */
    i.protocol = NULL;
    i.local_protocol_name = protocols[0].name;
    i.opaque_user_data = k;
    k->connecting = true;
    wsi = lws_client_connect_via_info(&i);
    k->connecting = false;
    if (wsi)
        return 0;
    conn_fail(k, "cannot connect");
    conn_free(NULL, k);
    return -1;
}

struct client_call *client_http(struct client *c, const char *method, const char *path,
                                const char *body, client_data_fn on_data, client_done_fn on_done,
                                void *arg)
{
    struct client_conn *k = xcalloc(1, sizeof(*k));

    k->kind = CONN_HTTP;
    k->method = method;
    if (body) {
        k->body = xstrdup(body);
        k->body_len = strlen(body);
    }
    buf_init(&k->resp, LIM_JSON_BODY_BYTES);
    k->on_data = on_data;
    k->on_done = on_done;
    k->arg = arg;
    return conn_start(c, k, path, method) < 0 ? NULL : (struct client_call *)k;
}

int client_ws(struct client *c, const char *path, const struct ws_ops *ops,
              const struct client_ws_hooks *hooks, void *ctx)
{
    struct client_conn *k = xcalloc(1, sizeof(*k));

    k->kind = CONN_WS;
    k->ops = ops;
    k->hooks = hooks;
    k->ctx = ctx;
    buf_init(&k->resp, 0);
    return conn_start(c, k, path, NULL);
}
