/*
 * Fuzzes a whole HTTP/1.1 connection end to end: the input is sent over a
 * real loopback socket to agentd's listener (agentd/server.c, the
 * connection state machine in stream/http_conn.c, the request side in
 * stream/http.c, the router), in pieces whose sizes the input's first two
 * bytes seed, with the loop run between pieces.  The routes are the
 * fuzzer's own: answered at once, after a buffered JSON body, after a
 * streamed body, on a later loop turn, or with a streamed chunked reply
 * written in several pieces.
 *
 * Invariants: every response the client reads parses (status line,
 * headers, Content-Length or chunked or close-delimited body); no handler
 * sees a request twice; the fuzzer's responses carry their request's serial
 * and arrive in order, each once, never more than were handled; there are
 * never more final responses than request heads (blank lines) in the input,
 * plus one error reply; the connection never hits the listener's
 * no-progress guard; and once the client half-closes, the server closes
 * within a bounded number of loop turns (no spin, no hang).
 */
#include "../../agentd/config.h"
#include "../../agentd/router.h"
#include "../../agentd/server.h"
#include "../../stream/http.h"
#include "../../stream/http_conn.h"
#include "../../stream/log.h"
#include "../../stream/xmalloc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#define RESPONSE_CAP (8u << 20) /* the fuzzer's routes never produce this much */
#define TURNS_MAX    4000       /* loop turns for the server to close after the half-close */

static uv_loop_t *loop;
static int port;
static unsigned handled;   /* handler calls in this input */
static uv_timer_t later_t; /* the deferred reply */
static struct http_req *later_req;

/* ---- the fuzzer's routes ------------------------------------------------------------------ */

static void reply_serial(struct http_req *req, unsigned serial)
{
    char v[16];
    char *body = xmalloc(16);
    int n;

    snprintf(v, sizeof(v), "%u", serial);
    http_add_header(req, "x-serial", v);
    n = snprintf(body, 16, "r%u", serial);
    http_reply(req, 200, "text/plain", body, (size_t)n);
}

static void ctx_free(struct http_req *req, void *ctx)
{
    (void)req;
    (void)ctx;
}
static const struct http_ctx_ops mark_ops = {ctx_free, NULL};

/* Counts the call and keeps its serial as the request's context; aborts on a request seen twice. */
static unsigned seen(struct http_req *req)
{
    if (http_ctx(req))
        abort(); /* a handler ran twice for one request */
    http_set_ctx(req, (void *)(uintptr_t)++handled, &mark_ops);
    return handled;
}

static unsigned serial_of(const struct http_req *req)
{
    return (unsigned)(uintptr_t)http_ctx(req);
}

static void handle_now(struct http_req *req)
{
    reply_serial(req, seen(req));
}

static void handle_json(struct http_req *req)
{
    size_t len = 0;

    (void)http_body(req, &len);
    reply_serial(req, seen(req));
}

static int stream_data(struct http_req *req, const void *p, size_t n)
{
    (void)req;
    (void)p;
    (void)n;
    return 0;
}
static void stream_end(struct http_req *req)
{
    reply_serial(req, serial_of(req));
}
static const struct http_body_ops stream_ops = {stream_data, stream_end};

static void handle_stream(struct http_req *req)
{
    (void)seen(req);
    if (http_has_body(req))
        http_body_stream(req, &stream_ops);
    else
        reply_serial(req, serial_of(req));
}

static void on_later(uv_timer_t *t)
{
    struct http_req *req = later_req;

    (void)t;
    later_req = NULL;
    if (http_req_alive(req))
        reply_serial(req, serial_of(req));
    http_req_unref(req);
}

static void handle_later(struct http_req *req)
{
    unsigned serial = seen(req);

    if (later_req) { /* one at a time; the connection serves one request at a time anyway */
        reply_serial(req, serial);
        return;
    }
    http_req_ref(req);
    later_req = req;
    uv_timer_start(&later_t, on_later, 0, 0);
}

/* A close-delimited reply in pieces, with a wait (HTTP_SOURCE_WAIT, then http_resume) between. */
static unsigned pieces_step;
static struct http_req *pieces_req; /* referenced while its resume is pending */
static uv_timer_t pieces_t;

static void on_pieces_resume(uv_timer_t *t)
{
    struct http_req *req = pieces_req;

    (void)t;
    pieces_req = NULL;
    if (http_req_alive(req))
        http_resume(req);
    http_req_unref(req);
}

static ssize_t pieces_read(struct http_req *req, void *dst, size_t cap)
{
    if (cap < 8)
        return HTTP_SOURCE_WAIT;
    switch (pieces_step++) {
    case 0:
        memcpy(dst, "piece-a", 7);
        return 7;
    case 1:
        if (pieces_req) /* a resume is still pending from an earlier request */
            return 0;
        http_req_ref(req);
        pieces_req = req;
        uv_timer_start(&pieces_t, on_pieces_resume, 0, 0);
        return HTTP_SOURCE_WAIT;
    case 2:
        memcpy(dst, "piece-b", 7);
        return 7;
    default:
        return 0;
    }
}
static const struct http_source_ops pieces_ops = {pieces_read};

static void handle_pieces(struct http_req *req)
{
    char v[16];

    snprintf(v, sizeof(v), "%u", seen(req));
    http_add_header(req, "x-serial", v);
    pieces_step = 0;
    http_reply_stream(req, 200, "text/plain", -1, &pieces_ops);
}

static const struct route fuzz_routes[] = {
    {HTTP_GET, "/a", handle_now, 0},
    {HTTP_POST, "/j", handle_json, ROUTE_JSON_BODY},
    {HTTP_PUT, "/s", handle_stream, ROUTE_STREAM_BODY},
    {HTTP_POST, "/s", handle_stream, ROUTE_STREAM_BODY},
    {HTTP_GET, "/later", handle_later, 0},
    {HTTP_GET, "/pieces", handle_pieces, 0},
};

/* ---- the client side: a response parser ---------------------------------------------------- */

struct responses {
    unsigned finals, interim;
    unsigned last_serial;
};

static const char *find_crlf2(const char *p, const char *end)
{
    for (; p + 4 <= end; p++)
        if (memcmp(p, "\r\n\r\n", 4) == 0)
            return p;
    return NULL;
}

/* The value of header `name` (lower case, with ':') in head[0..n), or NULL. */
static const char *header(const char *head, size_t n, const char *name, size_t *ret_len)
{
    size_t nl = strlen(name);

    for (const char *p = head; p < head + n;) {
        const char *eol = memmem(p, (size_t)(head + n - p), "\r\n", 2);
        if (!eol)
            eol = head + n;
        if ((size_t)(eol - p) > nl && strncasecmp(p, name, nl) == 0) {
            p += nl;
            while (*p == ' ')
                p++;
            *ret_len = (size_t)(eol - p);
            return p;
        }
        p = eol + 2;
    }
    return NULL;
}

/* Parses every response in buf[0..n) (closed: the server has closed). Aborts on garbage. */
static void parse_responses(const char *buf, size_t n, bool closed, struct responses *out)
{
    const char *p = buf, *end = buf + n;

    memset(out, 0, sizeof(*out));
    while (p < end) {
        const char *hend = find_crlf2(p, end);
        size_t hlen, vlen;
        const char *v;
        int status;

        if (!hend) {
            if (closed)
                abort(); /* a truncated head */
            return;
        }
        hlen = (size_t)(hend - p) + 4;
        if (hlen < 12 || memcmp(p, "HTTP/1.1 ", 9) != 0)
            abort(); /* not a status line */
        status = (int)strtol(p + 9, NULL, 10);
        if (status < 100 || status > 599)
            abort();
        if (status < 200) {
            out->interim++;
            p += hlen;
            continue;
        }
        out->finals++;
        if ((v = header(p, hlen, "x-serial:", &vlen))) {
            unsigned s = (unsigned)strtoul(v, NULL, 10);
            if (s <= out->last_serial || s > handled)
                abort(); /* out of order, twice, or never handled */
            out->last_serial = s;
        }
        if ((v = header(p, hlen, "content-length:", &vlen))) {
            size_t len = strtoul(v, NULL, 10);
            p += hlen;
            /* A reply to HEAD has the length and no body: every body here starts with
             * '{' (a problem) or 'r' (a route's), never with a status line. */
            if (p == end || ((size_t)(end - p) >= 9 && memcmp(p, "HTTP/1.1 ", 9) == 0))
                continue;
            if ((size_t)(end - p) < len) {
                if (closed)
                    abort();
                return;
            }
            p += len;
        } else if ((v = header(p, hlen, "transfer-encoding:", &vlen))) {
            p += hlen;
            for (;;) {
                const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
                size_t len;
                if (!eol) {
                    if (closed)
                        abort();
                    return;
                }
                len = strtoul(p, NULL, 16);
                if ((size_t)(end - eol) < 2 + len + 2) {
                    if (closed)
                        abort();
                    return;
                }
                p = eol + 2 + len + 2;
                if (len == 0)
                    break;
            }
        } else if (status == 204 || status == 304 || status == 101) {
            p += hlen;
        } else {
            return; /* close-delimited: the rest is its body */
        }
    }
}

/* ---- driving one input ------------------------------------------------------------------------
 */

static int client_connect(void)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    if (fd < 0)
        abort();
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS)
        abort();
    return fd;
}

/* Reads what the server sent; returns false once it has closed. */
static bool client_read(int fd, char *buf, size_t *len)
{
    for (;;) {
        ssize_t r;
        if (*len >= RESPONSE_CAP)
            abort(); /* the routes never send this much: a reply loop */
        r = recv(fd, buf + *len, RESPONSE_CAP - *len, MSG_DONTWAIT);
        if (r > 0) {
            *len += (size_t)r;
            continue;
        }
        if (r == 0 || (errno != EAGAIN && errno != EINTR))
            return false; /* closed (or reset) */
        return true;
    }
}

static size_t blank_lines(const uint8_t *p, size_t n)
{
    size_t k = 0;

    for (size_t i = 0; i + 1 < n; i++)
        if (p[i] == '\n' &&
            (p[i + 1] == '\n' || (i + 2 < n && p[i + 1] == '\r' && p[i + 2] == '\n')))
            k++;
    return k;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static struct agentd_config cfg;

    (void)argc;
    (void)argv;
    log_set_level(LOG_LVL_ERROR);
    signal(SIGPIPE, SIG_IGN);
    loop = uv_default_loop();
    http_init(loop);
    router_add(fuzz_routes, sizeof(fuzz_routes) / sizeof(fuzz_routes[0]));
    uv_timer_init(loop, &later_t);
    uv_timer_init(loop, &pieces_t);
    cfg.host = "127.0.0.1";
    cfg.port = 0;
    if (server_start(loop, &cfg, &port) < 0)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char *resp;
    unsigned long stuck0 = http_conn_stuck_closed();
    uint32_t seed;
    size_t off = 0, rlen = 0;
    struct responses rs;
    bool open = true;
    int fd, turns;

    if (size < 2)
        return 0;
    if (!resp)
        resp = xmalloc(RESPONSE_CAP);
    seed = (uint32_t)data[0] << 8 | data[1];
    data += 2;
    size -= 2;
    handled = 0;
    fd = client_connect();
    while (off < size && open) {
        size_t take;
        ssize_t w;
        seed = seed * 1103515245u + 12345u;
        take = 1 + (seed >> 16) % 512;
        if (take > size - off)
            take = size - off;
        w = send(fd, data + off, take, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w > 0)
            off += (size_t)w;
        else if (w < 0 && errno != EAGAIN && errno != EINTR)
            break; /* the server closed (an error reply) */
        uv_run(loop, UV_RUN_NOWAIT);
        open = client_read(fd, resp, &rlen);
    }
    /* Let the server answer what it has, then half-close and wait for its close. */
    for (int i = 0; i < 8 && open; i++) {
        uv_run(loop, UV_RUN_NOWAIT);
        open = client_read(fd, resp, &rlen);
    }
    shutdown(fd, SHUT_WR);
    for (turns = 0; open && turns < TURNS_MAX; turns++) {
        uv_run(loop, UV_RUN_NOWAIT);
        open = client_read(fd, resp, &rlen);
    }
    if (open)
        abort(); /* the server neither closed nor went idle on EOF */
    close(fd);
    parse_responses(resp, rlen, true, &rs);
    if (rs.finals > blank_lines(data, size) + 1)
        abort(); /* more responses than request heads */
    if (http_conn_stuck_closed() != stuck0)
        abort(); /* the no-progress guard fired: a state-machine bug */
    /* The server side of the connection is gone before the next input. */
    for (int i = 0; i < 4; i++)
        uv_run(loop, UV_RUN_NOWAIT);
    return 0;
}
