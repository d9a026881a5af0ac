/*
 * Fuzzes the HTTP/1.1 request framer (stream/http_parse.c) with whole byte
 * streams: several requests back to back, fed once in one piece and once in
 * random splits (the first input byte seeds the split sizes), through a
 * bounded buffer the way stream/http_conn.c feeds it.
 *
 * Invariants: the two runs see the same events (every head with the same
 * bytes, the same decoded body bytes, the same error), so
 * no split can make one byte stream mean two things; heads never overlap and
 * each starts after the previous request's body ended (no request seen twice);
 * there are never more requests than blank-line-terminated heads in the
 * input; consumed bytes never exceed what was fed.  Every head is also turned
 * into a request and routed with agentd's real route tables, and the route
 * chosen (or the error) is part of the events compared.
 */
#include "../../adapters/acp.h"
#include "../../agentd/router.h"
#include "../../desktop/desktop.h"
#include "../../fs/fs.h"
#include "../../process/proc.h"
#include "../../stream/http_conn.h"
#include "../../stream/http_parse.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUF_CAP (64 * 1024)

struct run {
    unsigned char *log; /* the events, serialised */
    size_t log_len, log_cap;
    size_t mark; /* log length after the last event that was not body bytes */
    size_t heads;
};

static void log_bytes(struct run *r, const void *p, size_t n)
{
    if (r->log_len + n > r->log_cap) {
        size_t cap = r->log_cap ? r->log_cap * 2 : 4096;
        while (cap < r->log_len + n)
            cap *= 2;
        r->log = realloc(r->log, cap);
        if (!r->log)
            abort();
        r->log_cap = cap;
    }
    memcpy(r->log + r->log_len, p, n);
    r->log_len += n;
}

static void log_event(struct run *r, char kind, uint64_t at, const void *p, size_t n)
{
    log_bytes(r, &kind, 1);
    log_bytes(r, &at, sizeof(at));
    log_bytes(r, &n, sizeof(n));
    if (n)
        log_bytes(r, p, n);
    r->mark = r->log_len;
}

/* Builds the request a head makes and routes it; logs what the router chose. */
static void route_head(struct run *r, struct http_head *head)
{
    struct http_req *req = NULL;
    const struct route *route = NULL;
    unsigned allow = 0;
    struct problem err;
    uint64_t what;

    if (http_req_from_head(NULL, head, true, &req, &err) < 0) {
        what = 1000u + (unsigned)err.status;
    } else {
        enum router_result rr = router_match(req, &route, &allow);
        what = (uint64_t)rr << 32 | allow;
        if (rr == ROUTER_MATCH &&
            (!route || !(route->method & http_method(req)) || !(allow & http_method(req))))
            if (!(route && (route->method & HTTP_GET) && http_method(req) == HTTP_HEAD))
                abort(); /* a match must accept the request's method */
    }
    log_event(r, 'R', what, route ? route->pattern : "", route ? strlen(route->pattern) : 0);
    http_req_unref(req);
}

static void register_routes(void)
{
    static int done;

    if (done)
        return;
    done = 1;
    fs_register(router_add_table);
    proc_register(router_add_table);
    acp_register(router_add_table);
    desk_register(router_add_table);
}

/* Feeds data in pieces (sizes from seed; seed 0: all at once). */
static void run_stream(const uint8_t *data, size_t size, uint32_t seed, struct run *r)
{
    static char buf[BUF_CAP];
    struct http_framer f;
    size_t fed = 0, off = 0, len = 0;
    uint64_t consumed = 0, last_end = 0;
    struct problem err;

    http_framer_init(&f);
    for (;;) {
        struct http_frame fr;

        http_framer_step(&f, buf + off, len - off, &fr, &err);
        if (fr.used > len - off)
            abort();
        off += fr.used;
        consumed += fr.used;
        switch (fr.kind) {
        case HTTP_FRAME_HEAD:
            if (consumed < last_end || fr.head.raw_len == 0 || fr.head.raw_len > fr.used)
                abort();
            r->heads++;
            log_event(r, 'H', consumed - fr.head.raw_len, fr.head.raw, fr.head.raw_len);
            route_head(r, &fr.head);
            if (fr.end) {
                last_end = consumed;
                log_event(r, 'E', consumed, NULL, 0);
                http_framer_next(&f); /* the response went out */
            }
            continue;
        case HTTP_FRAME_BODY:
            if (fr.len > fr.used || fr.data != buf + off - fr.used)
                abort();
            /* Splits cut a body into different pieces: log only its bytes, in order. */
            log_bytes(r, fr.data, fr.len);
            if (fr.end) {
                last_end = consumed;
                log_event(r, 'E', consumed, NULL, 0);
                http_framer_next(&f);
            }
            continue;
        case HTTP_FRAME_ERROR:
            /* Body bytes decoded before a malformed part depend on the split (they were
             * delivered, or not yet): the request fails either way. */
            r->log_len = r->mark;
            log_event(r, 'X', (uint64_t)err.status, NULL, 0);
            if (fr.head_parsed)
                http_head_done(&fr.head);
            return;
        case HTTP_FRAME_IDLE:
            abort(); /* http_framer_next() was called after every complete request */
        case HTTP_FRAME_MORE:
            break;
        }
        if (fed == size)
            return;
        /* Read more: compact, then take the next piece. */
        memmove(buf, buf + off, len - off);
        len -= off;
        off = 0;
        size_t room = BUF_CAP - len, piece = size - fed;
        if (seed) {
            seed = seed * 1103515245u + 12345u;
            size_t want = 1 + (seed >> 16) % 97;
            if (want < piece)
                piece = want;
        }
        if (piece > room)
            piece = room;
        if (piece == 0)
            abort(); /* a full buffer the framer cannot make progress on */
        memcpy(buf + len, data + fed, piece);
        len += piece;
        fed += piece;
    }
}

/* Blank lines ending a head ("\n\n" or "\n\r\n"): an upper bound on the requests. */
static size_t head_ends(const uint8_t *d, size_t n)
{
    size_t k = 0;

    for (size_t i = 0; i + 1 < n; i++)
        if (d[i] == '\n' &&
            (d[i + 1] == '\n' || (i + 2 < n && d[i + 1] == '\r' && d[i + 2] == '\n')))
            k++;
    return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct run whole = {0}, split = {0};

    if (size < 1)
        return 0;
    register_routes();
    run_stream(data + 1, size - 1, 0, &whole);
    run_stream(data + 1, size - 1, 1u + data[0], &split);
    if (whole.log_len != split.log_len ||
        (whole.log_len && memcmp(whole.log, split.log, whole.log_len) != 0))
        abort();
    if (whole.heads > head_ends(data + 1, size - 1))
        abort();
    free(whole.log);
    free(split.log);
    return 0;
}
