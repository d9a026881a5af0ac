/*
 * http: the request object and the response writer.
 *
 * The connection (http_conn.c) parses the request head and frames the body;
 * this module turns the head into a struct http_req, accumulates or streams
 * the body, and writes the response.  Headers are formatted here (status
 * line, Date, Content-Length, the handler's extra headers) and written
 * together with the first body bytes in one write, so a small reply costs one
 * send(2).  Large or streamed bodies are written a chunk per writable call;
 * the connection keeps at most one write in flight and calls back when it has
 * drained, which bounds what one connection can queue to about one chunk.
 */
#include "http.h"

#include "http_conn.h"
#include "limits.h"
#include "log.h"
#include "xmalloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define HTTP_PARAMS_MAX 4

struct http_req {
    int refs;                                      /* the connection's reference plus any holders */
    struct http_conn *conn;                        /* NULL once detached from the connection */
    struct http_head head;                         /* the request head as parsed, owned */
    unsigned method;                               /* one enum http_method bit */
    char *path;                                    /* decoded request path, owned */
    char *raw_path;                                /* the path as sent (escapes kept), owned */
    struct query query;                            /* decoded query parameters */
    char *params[HTTP_PARAMS_MAX];                 /* router captures, owned */
    int64_t content_length;                        /* request Content-Length, -1 if absent */
    bool chunked;                                  /* request body uses chunked transfer coding */
    uint64_t body_seen;                            /* request body bytes received so far */
    size_t body_max;                               /* HTTP_BODY_BUFFER: limit for body */
    bool body_buffering;                           /* accumulate the body into body */
    struct buf body;                               /* the buffered body */
    const struct http_body_ops *body_ops;          /* streamed body sink */
    bool body_discard;                             /* answered early: drop the rest of the body */
    bool body_complete;                            /* the whole body has arrived */
    bool body_paused;                              /* socket reads are stopped for backpressure */
    bool body_too_large;                           /* buffered body overflowed body_max */
    void (*then)(struct http_req *, const void *); /* http_body_then() */
    const void *then_arg;

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
    bool writable_requested;           /* http_conn_want_write() pending */
    bool in_callback;                  /* inside a listener call for this request */
    bool continued;                    /* 100 Continue was sent */
    struct http_req **slot;            /* the connection's pointer to us */
};

static int http_finish(struct http_req *req);

static uv_loop_t *http_uv_loop;
/* One write buffer for the whole loop: the connection copies what a send leaves over. */
static unsigned char *wbuf;
#define WBUF_SIZE (16384 + LIM_DOWNLOAD_CHUNK_BYTES)

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

/* Methods are case-sensitive (RFC 9110 9.1). */
static unsigned method_from_name(const char *p, size_t n)
{
    static const struct {
        const char *name;
        unsigned bit;
    } methods[] = {
        {"GET", HTTP_GET},         {"HEAD", HTTP_HEAD},     {"POST", HTTP_POST},
        {"PUT", HTTP_PUT},         {"DELETE", HTTP_DELETE}, {"PATCH", HTTP_PATCH},
        {"OPTIONS", HTTP_OPTIONS},
    };

    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        if (strlen(methods[i].name) == n && memcmp(methods[i].name, p, n) == 0)
            return methods[i].bit;
    return 0;
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

/* Percent-decodes the path of a request-target into req->path. */
static int decode_path(struct http_req *req, const char *p, size_t n, struct problem *err)
{
    char *out = xmalloc(n + 1);
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == '%') {
            int hi = i + 2 < n ? http_hex_digit(p[i + 1]) : -1;
            int lo = i + 2 < n ? http_hex_digit(p[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                free(out);
                return problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                                   "the URL path has a malformed %%-escape at byte %zu", i);
            }
            c = (char)(hi << 4 | lo);
            i += 2;
            if (c == '\0') {
                free(out);
                return problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                                   "the URL path holds an encoded NUL (%%00)");
            }
        }
        out[o++] = c;
    }
    out[o] = '\0';
    free(req->path);
    req->path = out;
    free(req->raw_path);
    req->raw_path = xstrndup(p, n);
    return 0;
}

int http_req_from_head(struct http_conn *c, struct http_head *head, bool parsed,
                       struct http_req **slot, struct problem *err)
{
    struct http_req *req;
    const char *t, *qm;
    size_t tn;

    req = xcalloc(1, sizeof(*req));
    req->refs = 1;
    req->conn = c;
    req->content_length = -1;
    req->resp_length = -1;
    buf_init(&req->resp_headers, LIM_HTTP_HEADER_BYTES);
    buf_init(&req->body, 0);
    query_init(&req->query);
    req->slot = slot;
    *slot = req;
    if (head) {
        req->head = *head; /* moved */
        memset(head, 0, sizeof(*head));
    }
    req->path = xstrdup("");
    if (!head || !parsed) {
        /* Only for the error reply: no body will be read, the connection closes. */
        req->close_after = true;
        if (req->head.raw && req->head.method_len)
            req->method = method_from_name(req->head.raw + req->head.method, req->head.method_len);
        return -1;
    }
    req->method = method_from_name(req->head.raw + req->head.method, req->head.method_len);
    req->content_length = req->head.content_length;
    req->chunked = req->head.chunked;
    if (!req->head.keep_alive)
        req->close_after = true;
    else if (req->head.minor == 0)
        http_add_header(req, "connection", "keep-alive");
    if (!req->method)
        return problem_set(err, 405, PROBLEM_INVALID_REQUEST, "HTTP method `%.*s` is not supported",
                           (int)req->head.method_len, req->head.raw + req->head.method);

    t = req->head.raw + req->head.target;
    tn = req->head.target_len;
    if (tn > LIM_URI_BYTES)
        return problem_set(err, 414, PROBLEM_INVALID_REQUEST,
                           "request path is longer than %d bytes", LIM_URI_BYTES);
    if (t[0] != '/' && !(tn == 1 && t[0] == '*' && req->method == HTTP_OPTIONS))
        return problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                           "the request-target must be a path starting with `/`");
    /* A decoded CR or LF could cut a path short further down: refuse it outright. */
    for (size_t i = 0; i + 2 < tn; i++)
        if (t[i] == '%' && t[i + 1] == '0' &&
            (t[i + 2] == 'd' || t[i + 2] == 'D' || t[i + 2] == 'a' || t[i + 2] == 'A'))
            return problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                               "the URL holds an encoded CR or LF (%%0D or %%0A)");
    qm = memchr(t, '?', tn);
    if (decode_path(req, t, qm ? (size_t)(qm - t) : tn, err) < 0)
        return -1;
    if (qm && query_parse(&req->query, qm + 1, tn - (size_t)(qm + 1 - t), err) < 0)
        return -1;
    return 0;
}

struct http_conn *http_req_conn(const struct http_req *req)
{
    return req->conn;
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
    free(req->raw_path);
    http_head_done(&req->head);
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
    if (!req || !req->conn)
        return;
    req->conn = NULL;
    if (req->slot && *req->slot == req)
        *req->slot = NULL;
    req->slot = NULL;
    if (!req->done && req->ctx_ops && req->ctx_ops->aborted)
        req->ctx_ops->aborted(req, req->ctx);
    http_req_unref(req);
}

bool http_req_alive(const struct http_req *req)
{
    return req->conn != NULL;
}

bool http_replied(const struct http_req *req)
{
    return req->replied;
}

unsigned http_method(const struct http_req *req)
{
    return req->method;
}

int http_minor(const struct http_req *req)
{
    return req->head.minor;
}

const char *http_path(const struct http_req *req)
{
    return req->path;
}

const char *http_raw_path(const struct http_req *req)
{
    return req->raw_path ? req->raw_path : req->path;
}

const struct query *http_query(const struct http_req *req)
{
    return &req->query;
}

char *http_header(const struct http_req *req, const char *name)
{
    size_t n = strlen(name), len, total = 0;
    char key[64];
    char *v;

    if (!req->head.raw || n == 0 || n >= sizeof(key))
        return NULL;
    memcpy(key, name, n);
    if (key[n - 1] == ':')
        n--;
    key[n] = '\0';
    /* Repeated lines are one comma-separated list (RFC 9110 5.3). */
    for (size_t i = 0; i < req->head.nfields; i++) {
        const struct http_field *f = &req->head.fields[i];
        if (f->name_len == n && strncasecmp(req->head.raw + f->name, key, n) == 0)
            total += f->value_len + 2;
    }
    if (total == 0 || total - 2 > LIM_HEADER_VALUE_BYTES)
        return total ? NULL : (http_head_get(&req->head, key, &len) ? xstrdup("") : NULL);
    v = xmalloc(total + 1);
    len = 0;
    for (size_t i = 0; i < req->head.nfields; i++) {
        const struct http_field *f = &req->head.fields[i];
        if (f->name_len != n || strncasecmp(req->head.raw + f->name, key, n) != 0)
            continue;
        if (len) {
            memcpy(v + len, ", ", 2);
            len += 2;
        }
        memcpy(v + len, req->head.raw + f->value, f->value_len);
        len += f->value_len;
    }
    v[len] = '\0';
    return v;
}

int64_t http_content_length(const struct http_req *req)
{
    return req->content_length;
}

bool http_is_upgrade(const struct http_req *req)
{
    return req->head.upgrade;
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
    char *v;
    size_t o = 0;

    if (i >= HTTP_PARAMS_MAX)
        return;
    /* Captures come from the raw path (an id may hold an encoded '/'); escapes were checked
     * when the path was decoded. */
    v = xmalloc(len + 1);
    for (size_t k = 0; k < len; k++) {
        int hi = value[k] == '%' && k + 2 < len ? http_hex_digit(value[k + 1]) : -1;
        int lo = hi >= 0 ? http_hex_digit(value[k + 2]) : -1;
        if (hi >= 0 && lo >= 0) {
            v[o++] = (char)(hi << 4 | lo);
            k += 2;
        } else {
            v[o++] = value[k];
        }
    }
    v[o] = '\0';
    free(req->params[i]);
    req->params[i] = v;
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

void http_body_then(struct http_req *req, void (*fn)(struct http_req *req, const void *arg),
                    const void *arg)
{
    req->then = fn;
    req->then_arg = arg;
}

/* Runs the http_body_then() callback once, inside the caller's enter/leave bracket. */
static void http_run_then(struct http_req *req)
{
    void (*fn)(struct http_req *, const void *) = req->then;

    req->then = NULL;
    if (fn && !req->replied)
        fn(req, req->then_arg);
}

void http_body_stream(struct http_req *req, const struct http_body_ops *ops)
{
    req->body_ops = ops;
}

void http_body_pause(struct http_req *req)
{
    if (req->conn && !req->body_paused && !req->body_complete) {
        req->body_paused = true;
        http_conn_body_flow(req->conn, false);
    }
}

void http_body_resume(struct http_req *req)
{
    if (req->conn && req->body_paused) {
        req->body_paused = false;
        http_conn_body_flow(req->conn, true);
    }
}

int http_on_body(struct http_req *req, const void *p, size_t n)
{
    if (n == 0)
        return 0;
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
        if (buf_append(&req->body, p, n) < 0) {
            req->body_too_large = true;
            if (req->then) {
                http_enter(req);
                http_run_then(req);
                return http_leave(req);
            }
        }
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
    if (req->then && !req->replied) {
        http_enter(req);
        http_run_then(req);
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
    if (req->conn && req->replied && !req->done && !req->src_waiting && !req->writable_requested)
        return http_on_writable(req);
    return 0;
}

void http_continue(struct http_req *req)
{
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";

    if (!req->conn || req->replied || !req->head.expect_continue || req->continued)
        return;
    req->continued = true;
    if (http_conn_write(req->conn, cont, sizeof(cont) - 1) < 0)
        log_debug("http", "cannot send 100 Continue");
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
    if (!req->conn || req->in_callback)
        return; /* http_leave() writes when the current callback returns */
    req->writable_requested = true;
    http_conn_want_write(req->conn);
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
        if (req->content_length > (int64_t)LIM_DISCARD_BODY_BYTES)
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
    struct http_conn *c = req->conn;

    req->done = true;
    log_debug("http", "%s %s -> %d", http_method_name(req->method), req->path, req->status);
    if (req->close_after)
        return -1;
    /* The request body must be consumed before the next request can be parsed. */
    if (http_has_body(req) && !req->body_complete)
        return 0; /* http_on_body_end() calls us back */
    http_req_detach(req);
    http_conn_next(c);
    return 0;
}

int http_on_writable(struct http_req *req)
{
    unsigned char *start = wbuf;
    size_t cap = WBUF_SIZE, len = 0;
    bool head = req->method == HTTP_HEAD;
    int rounds = 0;

    req->writable_requested = false;
    if (!req->replied || !req->conn)
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
        if (len && http_conn_write(req->conn, start, len) < 0)
            return -1;
        len = 0;
        if (req->src_waiting)
            return 0;
        bool more = !head && (req->resp_off < req->resp_len || req->src);
        if (!more)
            return http_finish(req);
        /* Yield to other connections after a few chunks or when the socket is full. */
        if (++rounds >= 4 || http_conn_choked(req->conn)) {
            req->writable_requested = true;
            http_conn_want_write(req->conn);
            return 0;
        }
    }
}

/* ---- for stream/http_conn.c (its only way up) --------------------------------------------- */

static int exchange_fail(struct http_req *req, const struct problem *p)
{
    if (http_replied(req))
        return -1;
    http_set_close(req);
    http_enter(req);
    http_reply_problem(req, p);
    return http_leave(req) < 0 ? -1 : 0;
}

static void exchange_describe(const struct http_req *req, char *out, size_t cap)
{
    snprintf(out, cap, "%s %s", http_method_name(http_method(req)), http_path(req));
}

const struct http_exchange_ops http_exchange = {
    .begin = http_req_from_head,
    .body = http_on_body,
    .body_end = http_on_body_end,
    .writable = http_on_writable,
    .detach = http_req_detach,
    .fail = exchange_fail,
    .describe = exchange_describe,
};

int http_handoff(struct http_req *req, int *ret_fd, char **ret_bytes, size_t *ret_len)
{
    struct http_conn *c = req->conn;
    int r;

    if (!c)
        return -EBADF;
    /* The caller's reference: the connection's detach does not free the request. */
    http_req_ref(req);
    r = http_conn_handoff(c, ret_fd, ret_bytes, ret_len);
    if (r < 0)
        http_req_unref(req);
    return r;
}
