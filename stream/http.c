/*
 * http: the request object and the response writer on top of libwebsockets.
 *
 * libwebsockets parses the request line and headers; this module turns them
 * into a struct http_req, accumulates or streams the body, and writes the
 * response.  Headers are formatted here (status line, Date, Content-Length,
 * the handler's extra headers) and written together with the first body
 * bytes in one lws_write, so a small reply costs one send(2).  Large or
 * streamed bodies are written a chunk per writable callback; lws buffers a
 * partial send and holds further writable callbacks until it drains, which
 * bounds what one connection can queue to about one chunk.
 */
#include "http.h"

#include "limits.h"
#include "log.h"
#include "xmalloc.h"

#include <errno.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define HTTP_PARAMS_MAX 4

struct http_req {
    int refs;                             /* the connection's reference plus any holders */
    struct lws *wsi;                      /* NULL once detached from the connection */
    unsigned method;                      /* one enum http_method bit */
    char *path;                           /* decoded request path, owned */
    struct query query;                   /* decoded query parameters */
    char *params[HTTP_PARAMS_MAX];        /* router captures, owned */
    int64_t content_length;               /* request Content-Length, -1 if absent */
    bool chunked;                         /* request body uses chunked transfer coding */
    uint64_t body_seen;                   /* request body bytes received so far */
    size_t body_max;                      /* HTTP_BODY_BUFFER: limit for body */
    bool body_buffering;                  /* accumulate the body into body */
    struct buf body;                      /* the buffered body */
    const struct http_body_ops *body_ops; /* streamed body sink */
    bool body_discard;                    /* answered early: drop the rest of the body */
    bool body_complete;                   /* the whole body has arrived */
    bool body_paused;                     /* socket reads are stopped for backpressure */
    bool body_too_large;                  /* buffered body overflowed body_max */

    void *ctx; /* handler state */
    const struct http_ctx_ops *ctx_ops;

    bool replied;                      /* a response has been set */
    bool headers_sent;                 /* status line and headers are written */
    bool done;                         /* the response is completely written */
    bool close_after;                  /* send Connection: close and close */
    int status;                        /* response status */
    const char *content_type;          /* static string */
    int64_t resp_length;               /* Content-Length to announce, -1 none */
    struct buf resp_headers;           /* extra "name: value\r\n" lines */
    char *resp_body;                   /* in-memory body, owned */
    size_t resp_len, resp_off;         /* its size and write position */
    const struct http_source_ops *src; /* streamed body */
    bool src_waiting;                  /* read() said HTTP_SOURCE_WAIT */
    bool writable_requested;           /* lws_callback_on_writable pending */
    bool in_callback;                  /* inside an lws callback for this wsi */
    struct http_req **slot;            /* the connection's pointer to us */
};

static int http_finish(struct http_req *req);

static uv_loop_t *http_uv_loop;
/* One write buffer for the whole loop: lws copies what a send leaves over. */
static unsigned char *wbuf;
#define WBUF_SIZE (LWS_PRE + 16384 + LIM_DOWNLOAD_CHUNK_BYTES)

void http_init(uv_loop_t *loop)
{
    http_uv_loop = loop;
    if (!wbuf)
        wbuf = xmalloc(WBUF_SIZE);
}

uv_loop_t *http_loop(void)
{
    return http_uv_loop;
}

static unsigned method_from_lws(int m)
{
    switch (m) {
    case LWSHUMETH_GET:
        return HTTP_GET;
    case LWSHUMETH_POST:
        return HTTP_POST;
    case LWSHUMETH_OPTIONS:
        return HTTP_OPTIONS;
    case LWSHUMETH_PUT:
        return HTTP_PUT;
    case LWSHUMETH_PATCH:
        return HTTP_PATCH;
    case LWSHUMETH_DELETE:
        return HTTP_DELETE;
    case LWSHUMETH_HEAD:
        return HTTP_HEAD;
    default:
        return 0;
    }
}

const char *http_method_name(unsigned m)
{
    switch (m) {
    case HTTP_GET:
        return "GET";
    case HTTP_HEAD:
        return "HEAD";
    case HTTP_POST:
        return "POST";
    case HTTP_PUT:
        return "PUT";
    case HTTP_DELETE:
        return "DELETE";
    case HTTP_PATCH:
        return "PATCH";
    case HTTP_OPTIONS:
        return "OPTIONS";
    default:
        return "?";
    }
}

int http_req_new(struct lws *wsi, struct http_req **slot, struct problem *err)
{
    struct http_req *req;
    char *uri = NULL;
    int uri_len = 0, m, n;
    char cl[32];

    req = xcalloc(1, sizeof(*req));
    req->refs = 1;
    req->wsi = wsi;
    req->content_length = -1;
    req->resp_length = -1;
    buf_init(&req->resp_headers, LIM_HTTP_HEADER_BYTES);
    buf_init(&req->body, 0);
    query_init(&req->query);
    req->slot = slot;
    *slot = req;

    m = lws_http_get_uri_and_method(wsi, &uri, &uri_len);
    req->method = m < 0 ? 0 : method_from_lws(m);
    req->path = xstrndup(uri ? uri : "", uri ? (size_t)uri_len : 0);
    if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0)
        req->chunked = true;
    if (lws_hdr_copy(wsi, cl, sizeof(cl), WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0) {
        char *end;
        long long v;
        errno = 0;
        v = strtoll(cl, &end, 10);
        if (errno || *end || v < 0 || cl[0] < '0' || cl[0] > '9') {
            /* The body length is unknown: answer and close. */
            req->close_after = true;
            return problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                               "Content-Length `%s` is not a valid length", cl);
        }
        req->content_length = v;
    }
    if (!req->method)
        return problem_set(err, 405, PROBLEM_INVALID_REQUEST, "HTTP method is not supported");
    /*
     * lws decodes %0D / %0A inside the URL and then ends the request line
     * there, silently dropping the rest of the path and query (and the
     * HTTP version).  A request line without a version is such a cut one.
     */
    if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP) <= 0) {
        req->close_after = true;
        return problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                           "malformed request line (an encoded CR or LF, %%0D or %%0A, in the "
                           "URL?)");
    }
    if (uri_len > LIM_URI_BYTES)
        return problem_set(err, 414, PROBLEM_INVALID_REQUEST,
                           "request path is longer than %d bytes", LIM_URI_BYTES);

    /* Query fragments are split on '&' before lws decodes them. */
    for (int i = 0;; i++) {
        char frag[LIM_QUERY_BYTES + 1];
        n = lws_hdr_copy_fragment(wsi, frag, sizeof(frag), WSI_TOKEN_HTTP_URI_ARGS, i);
        if (n < 0) {
            if (lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS, i) > 0)
                return problem_set(err, 414, PROBLEM_INVALID_REQUEST,
                                   "query string is longer than %d bytes", LIM_QUERY_BYTES);
            break;
        }
        if (query_add(&req->query, frag, (size_t)n, err) < 0)
            return -1;
    }
    return 0;
}

void http_req_ref(struct http_req *req)
{
    req->refs++;
}

void http_req_unref(struct http_req *req)
{
    if (!req || --req->refs > 0)
        return;
    if (req->ctx_ops && req->ctx_ops->free)
        req->ctx_ops->free(req, req->ctx);
    free(req->path);
    query_done(&req->query);
    for (unsigned i = 0; i < HTTP_PARAMS_MAX; i++)
        free(req->params[i]);
    buf_done(&req->body);
    buf_done(&req->resp_headers);
    free(req->resp_body);
    free(req);
}

void http_req_detach(struct http_req *req)
{
    if (!req || !req->wsi)
        return;
    req->wsi = NULL;
    if (req->slot && *req->slot == req)
        *req->slot = NULL;
    req->slot = NULL;
    if (!req->done && req->ctx_ops && req->ctx_ops->aborted)
        req->ctx_ops->aborted(req, req->ctx);
    http_req_unref(req);
}

bool http_req_alive(const struct http_req *req)
{
    return req->wsi != NULL;
}

bool http_replied(const struct http_req *req)
{
    return req->replied;
}

unsigned http_method(const struct http_req *req)
{
    return req->method;
}

const char *http_path(const struct http_req *req)
{
    return req->path;
}

const struct query *http_query(const struct http_req *req)
{
    return &req->query;
}

/* The lws token for a known header name ("range:"), or -1 for custom headers. */
static int header_token(const char *name)
{
    for (int t = 0; t < WSI_TOKEN_COUNT; t++) {
        const unsigned char *s = lws_token_to_string((enum lws_token_indexes)t);
        if (s && strcmp((const char *)s, name) == 0)
            return t;
    }
    return -1;
}

char *http_header(const struct http_req *req, const char *name)
{
    int n, tok;
    char *v;

    if (!req->wsi)
        return NULL;
    tok = header_token(name);
    if (tok >= 0) {
        n = lws_hdr_total_length(req->wsi, (enum lws_token_indexes)tok);
        if (n <= 0 || n > LIM_HEADER_VALUE_BYTES)
            return NULL;
        v = xmalloc((size_t)n + 1);
        if (lws_hdr_copy(req->wsi, v, n + 1, (enum lws_token_indexes)tok) < 0) {
            free(v);
            return NULL;
        }
        return v;
    }
    n = lws_hdr_custom_length(req->wsi, name, (int)strlen(name));
    if (n < 0 || n > LIM_HEADER_VALUE_BYTES)
        return NULL;
    v = xmalloc((size_t)n + 1);
    if (lws_hdr_custom_copy(req->wsi, v, n + 1, name, (int)strlen(name)) < 0) {
        free(v);
        return NULL;
    }
    return v;
}

int64_t http_content_length(const struct http_req *req)
{
    return req->content_length;
}

bool http_is_upgrade(const struct http_req *req)
{
    return req->wsi && lws_hdr_total_length(req->wsi, WSI_TOKEN_UPGRADE) > 0;
}

bool http_is_chunked(const struct http_req *req)
{
    return req->chunked;
}

bool http_has_body(const struct http_req *req)
{
    return req->content_length > 0 || req->chunked;
}

const char *http_body(const struct http_req *req, size_t *ret_len)
{
    *ret_len = req->body.len;
    return req->body.data ? req->body.data : "";
}

const char *http_param(const struct http_req *req, unsigned i)
{
    return i < HTTP_PARAMS_MAX ? req->params[i] : NULL;
}

void http_set_param(struct http_req *req, unsigned i, const char *value, size_t len)
{
    if (i >= HTTP_PARAMS_MAX)
        return;
    free(req->params[i]);
    req->params[i] = xstrndup(value, len);
}

struct lws *http_wsi(const struct http_req *req)
{
    return req->wsi;
}

void http_set_ctx(struct http_req *req, void *ctx, const struct http_ctx_ops *ops)
{
    req->ctx = ctx;
    req->ctx_ops = ops;
}

void *http_ctx(const struct http_req *req)
{
    return req->ctx;
}

void http_body_buffer(struct http_req *req, size_t max)
{
    req->body_buffering = true;
    req->body_max = max;
    req->body.max = max;
}

void http_body_stream(struct http_req *req, const struct http_body_ops *ops)
{
    req->body_ops = ops;
    /* An upload may legitimately take longer than lws's body timeout. */
    if (req->wsi)
        lws_set_timeout(req->wsi, NO_PENDING_TIMEOUT, 0);
}

void http_body_pause(struct http_req *req)
{
    if (req->wsi && !req->body_paused && !req->body_complete) {
        req->body_paused = true;
        lws_rx_flow_control(req->wsi, 0);
    }
}

void http_body_resume(struct http_req *req)
{
    if (req->wsi && req->body_paused) {
        req->body_paused = false;
        lws_rx_flow_control(req->wsi, 1);
    }
}

int http_on_body(struct http_req *req, const void *p, size_t n)
{
    if (n == 0)
        return 0; /* lws reports an empty body as one empty chunk */
    req->body_seen += n;
    if (req->body_discard || req->body_too_large) {
        /* Draining keeps the connection usable, but not at any price. */
        if (req->body_seen > LIM_DISCARD_BODY_BYTES)
            return -1;
        return 0;
    }
    if (req->body_ops) {
        http_enter(req);
        int r = req->body_ops->data(req, p, n);
        if (r < 0 || req->replied)
            req->body_discard = true;
        return http_leave(req);
    }
    if (req->body_buffering) {
        if (buf_append(&req->body, p, n) < 0)
            req->body_too_large = true;
        return 0;
    }
    /* A body nobody asked for is read and dropped. */
    return 0;
}

int http_on_body_end(struct http_req *req)
{
    req->body_complete = true;
    if (req->body_ops && !req->body_discard && !req->replied) {
        http_enter(req);
        req->body_ops->end(req);
        return http_leave(req);
    }
    /* An early reply waited for the body to drain before finishing. */
    if (req->done)
        return http_finish(req);
    return 0;
}

bool http_body_too_large(const struct http_req *req)
{
    return req->body_too_large;
}

bool http_body_complete(const struct http_req *req)
{
    return req->body_complete;
}

void http_enter(struct http_req *req)
{
    req->in_callback = true;
}

int http_leave(struct http_req *req)
{
    req->in_callback = false;
    if (req->wsi && req->replied && !req->done && !req->src_waiting)
        return http_on_writable(req);
    return 0;
}

void http_continue(struct http_req *req)
{
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    char *expect;

    if (!req->wsi || req->replied)
        return;
    expect = http_header(req, "expect:");
    if (expect && strcasecmp(expect, "100-continue") == 0) {
        memcpy(wbuf + LWS_PRE, cont, sizeof(cont) - 1);
        if (lws_write(req->wsi, wbuf + LWS_PRE, sizeof(cont) - 1, LWS_WRITE_HTTP) < 0)
            log_warn("http", "cannot send 100 Continue");
    }
    free(expect);
}

void http_add_header(struct http_req *req, const char *name, const char *value)
{
    if (buf_printf(&req->resp_headers, "%s: %s\r\n", name, value) < 0)
        log_warn("http", "dropping oversized response header %s", name);
}

void http_set_close(struct http_req *req)
{
    req->close_after = true;
}

/* Formats the Date header value, cached per second. */
static const char *http_date(void)
{
    static char cached[64];
    static time_t cached_at = -1;
    time_t now = time(NULL);
    struct tm tm;

    if (now != cached_at) {
        gmtime_r(&now, &tm);
        strftime(cached, sizeof(cached), "%a, %d %b %Y %H:%M:%S GMT", &tm);
        cached_at = now;
    }
    return cached;
}

static void http_request_write(struct http_req *req)
{
    if (!req->wsi || req->in_callback)
        return; /* http_leave() writes when the current callback returns */
    req->writable_requested = true;
    lws_callback_on_writable(req->wsi);
}

static void http_set_reply(struct http_req *req, int status, const char *ctype)
{
    if (req->replied) {
        log_error("http", "second reply to %s %s ignored", http_method_name(req->method),
                  req->path);
        return;
    }
    req->replied = true;
    req->status = status;
    req->content_type = ctype;
    /*
     * Answering before the request body has arrived: keep reading and drop
     * it so the connection stays in sync and the client sees the response
     * (closing with unread data would make the kernel send a reset).
     */
    if (http_has_body(req) && !req->body_complete) {
        req->body_discard = true;
        /* Not worth draining: answer and close. */
        if (req->content_length > (int64_t)LIM_DISCARD_BODY_BYTES || req->chunked)
            req->close_after = true;
    }
    if (req->body_paused)
        http_body_resume(req);
}

void http_reply(struct http_req *req, int status, const char *content_type, char *body, size_t len)
{
    if (req->replied) {
        free(body);
        return;
    }
    http_set_reply(req, status, content_type);
    req->resp_body = body;
    req->resp_len = len;
    req->resp_length = (int64_t)len;
    http_request_write(req);
}

void http_reply_json(struct http_req *req, int status, const cJSON *body)
{
    char *text = cJSON_PrintUnformatted(body);

    if (!text)
        abort();
    http_reply(req, status, "application/json", text, strlen(text));
}

void http_reply_problem(struct http_req *req, const struct problem *p)
{
    struct buf b;
    size_t len;

    buf_init(&b, 64 * 1024);
    if (problem_render(p, &b) < 0)
        buf_reset(&b);
    if (p->status >= 500 || p->status == 401)
        log_debug("http", "%s %s -> %d %s", http_method_name(req->method), req->path, p->status,
                  p->message);
    char *text = buf_steal(&b, &len);
    http_reply(req, p->status, "application/problem+json", text, len);
}

void http_reply_empty(struct http_req *req, int status)
{
    http_reply(req, status, NULL, NULL, 0);
}

void http_reply_stream(struct http_req *req, int status, const char *content_type,
                       int64_t content_length, const struct http_source_ops *ops)
{
    http_set_reply(req, status, content_type);
    req->src = ops;
    req->resp_length = content_length;
    if (content_length < 0)
        req->close_after = true;
    if (req->wsi)
        lws_set_timeout(req->wsi, NO_PENDING_TIMEOUT, 0);
    http_request_write(req);
}

void http_resume(struct http_req *req)
{
    if (req->src_waiting) {
        req->src_waiting = false;
        http_request_write(req);
    }
}

/* Formats the status line and headers into dst; returns the length or -1. */
static int http_format_headers(struct http_req *req, char *dst, size_t cap)
{
    int n;
    size_t len;
    bool no_body_status = req->status == 204 || req->status == 304;

    n = snprintf(dst, cap, "HTTP/1.1 %d %s\r\ndate: %s\r\n", req->status,
                 problem_status_text(req->status), http_date());
    if (n < 0 || (size_t)n >= cap)
        return -1;
    len = (size_t)n;
    if (req->content_type) {
        n = snprintf(dst + len, cap - len, "content-type: %s\r\n", req->content_type);
        if (n < 0 || (size_t)n >= cap - len)
            return -1;
        len += (size_t)n;
    }
    if (req->resp_length >= 0 && !no_body_status) {
        n = snprintf(dst + len, cap - len, "content-length: %lld\r\n", (long long)req->resp_length);
        if (n < 0 || (size_t)n >= cap - len)
            return -1;
        len += (size_t)n;
    }
    if (req->close_after) {
        n = snprintf(dst + len, cap - len, "connection: close\r\n");
        if (n < 0 || (size_t)n >= cap - len)
            return -1;
        len += (size_t)n;
    }
    if (req->resp_headers.len + 2 > cap - len)
        return -1;
    if (req->resp_headers.len)
        memcpy(dst + len, req->resp_headers.data, req->resp_headers.len);
    len += req->resp_headers.len;
    memcpy(dst + len, "\r\n", 2);
    return (int)(len + 2);
}

/* The response is fully written: finish the transaction or close. */
static int http_finish(struct http_req *req)
{
    struct lws *wsi = req->wsi;

    req->done = true;
    log_debug("http", "%s %s -> %d", http_method_name(req->method), req->path, req->status);
    if (req->close_after)
        return -1;
    /* The request body must be consumed before the next request can be parsed. */
    if (http_has_body(req) && !req->body_complete)
        return 0; /* http_on_body_end() calls us back */
    http_req_detach(req);
    if (lws_http_transaction_completed(wsi))
        return -1;
    return 0;
}

int http_on_writable(struct http_req *req)
{
    unsigned char *start = wbuf + LWS_PRE;
    size_t cap = WBUF_SIZE - LWS_PRE, len = 0;
    bool head = req->method == HTTP_HEAD;
    int rounds = 0;

    req->writable_requested = false;
    if (!req->replied || !req->wsi)
        return 0;
    if (req->done)
        return http_finish(req);

    if (!req->headers_sent) {
        int n = http_format_headers(req, (char *)start, 16384);
        if (n < 0) {
            log_error("http", "response headers too large for %s", req->path);
            return -1;
        }
        len = (size_t)n;
        req->headers_sent = true;
    }

    for (;;) {
        size_t room = cap - len;
        if (!head && req->resp_off < req->resp_len) {
            size_t n = req->resp_len - req->resp_off;
            if (n > room)
                n = room;
            memcpy(start + len, req->resp_body + req->resp_off, n);
            req->resp_off += n;
            len += n;
        } else if (!head && req->src) {
            if (room > LIM_DOWNLOAD_CHUNK_BYTES)
                room = LIM_DOWNLOAD_CHUNK_BYTES;
            ssize_t n = req->src->read(req, start + len, room);
            if (n == HTTP_SOURCE_WAIT) {
                req->src_waiting = true;
            } else if (n < 0) {
                return -1;
            } else if (n == 0) {
                req->src = NULL;
            } else {
                len += (size_t)n;
            }
        }
        if (len && lws_write(req->wsi, start, len, LWS_WRITE_HTTP) != (int)len)
            return -1;
        len = 0;
        if (req->src_waiting)
            return 0;
        bool more = !head && (req->resp_off < req->resp_len || req->src);
        if (!more)
            return http_finish(req);
        /* Yield to other connections after a few chunks or when the socket is full. */
        if (++rounds >= 4 || lws_send_pipe_choked(req->wsi)) {
            req->writable_requested = true;
            lws_callback_on_writable(req->wsi);
            return 0;
        }
    }
}
