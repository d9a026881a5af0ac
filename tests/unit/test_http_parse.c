/*
 * Unit tests for stream/http_parse: finding and parsing request heads (limits,
 * strictness against smuggling, connection semantics) and decoding chunked
 * bodies in place, whole and byte by byte.
 */
#include "../../stream/http_parse.h"
#include "../../stream/limits.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* Scans and parses a complete head; returns 0 or the error status. */
static int parse(const char *text, struct http_head *h)
{
    struct problem err;
    size_t pos = 0, skip = 0, off = 0, n = strlen(text);
    long len;

    for (;;) {
        len = http_head_scan(text + off, n - off, &pos, &skip, &err);
        if (!skip)
            break;
        off += skip;
    }
    if (len < 0)
        return err.status;
    assert_true(len > 0);
    if (http_head_parse(text + off, (size_t)len, h, &err) < 0) {
        http_head_done(h);
        return err.status;
    }
    return 0;
}

static void test_simple_get(void **state)
{
    struct http_head h;
    size_t n;
    const char *v;

    (void)state;
    assert_int_equal(
        parse("\r\nGET /v1/health?x=1 HTTP/1.1\r\nHost: a\r\nX-Two:  b c \r\n\r\n", &h), 0);
    assert_int_equal(h.minor, 1);
    assert_memory_equal(h.raw + h.method, "GET", 3);
    assert_int_equal(h.target_len, strlen("/v1/health?x=1"));
    assert_true(h.keep_alive);
    assert_int_equal(h.content_length, -1);
    v = http_head_get(&h, "x-two", &n);
    assert_non_null(v);
    assert_int_equal(n, 3);
    assert_memory_equal(v, "b c", 3);
    assert_null(http_head_get(&h, "x-three", &n));
    http_head_done(&h);
}

static void test_scan_incremental(void **state)
{
    const char *text = "GET / HTTP/1.1\r\nHost: a\r\n\r\nNEXT";
    struct problem err;
    size_t pos = 0, skip;
    long r = 0;

    (void)state;
    /* Fed one byte more each time: found exactly when the blank line is complete. */
    for (size_t n = 1; n <= strlen(text); n++) {
        r = http_head_scan(text, n, &pos, &skip, &err);
        assert_int_equal(skip, 0);
        if (r)
            break;
    }
    assert_int_equal(r, (long)(strlen(text) - 4));
}

static void test_connection_semantics(void **state)
{
    struct http_head h;

    (void)state;
    assert_int_equal(parse("GET / HTTP/1.0\r\n\r\n", &h), 0);
    assert_false(h.keep_alive);
    http_head_done(&h);
    assert_int_equal(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &h), 0);
    assert_true(h.keep_alive);
    http_head_done(&h);
    assert_int_equal(parse("GET / HTTP/1.1\r\nConnection: foo, close\r\n\r\n", &h), 0);
    assert_false(h.keep_alive);
    http_head_done(&h);
    assert_int_equal(parse("GET /t HTTP/1.1\r\nConnection: keep-alive, Upgrade\r\nUpgrade: "
                           "websocket\r\n\r\n",
                           &h),
                     0);
    assert_true(h.upgrade);
    http_head_done(&h);
    assert_int_equal(parse("GET /t HTTP/1.1\r\nUpgrade: websocket\r\n\r\n", &h), 0);
    assert_false(h.upgrade); /* Connection must say upgrade too */
    http_head_done(&h);
    assert_int_equal(
        parse("PUT /f HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 5\r\n\r\n", &h), 0);
    assert_true(h.expect_continue);
    assert_int_equal(h.content_length, 5);
    http_head_done(&h);
}

static void test_framing_strictness(void **state)
{
    static const struct {
        const char *head;
        int status;
    } cases[] = {
        {"POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nContent-Length: 1,1\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nContent-Length: 1234567890123456789\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nTransfer-Encoding : chunked\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
         400},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
        {"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nX: a\rb\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nBad Name: x\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\n: x\r\n\r\n", 400},
        {"POST /\x01 HTTP/1.1\r\n\r\n", 400},
        {"POST  / HTTP/1.1\r\n\r\n", 400},
        {"POST / HTTP/2.0\r\n\r\n", 505},
        {"POST / HTTX/1.1\r\n\r\n", 400},
        {"POST /\r\n\r\n", 400},
    };
    struct http_head h;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int st = parse(cases[i].head, &h);
        if (st != cases[i].status)
            fail_msg("case %zu (%s): status %d, want %d", i, cases[i].head, st, cases[i].status);
    }
    assert_int_equal(parse("POST / HTTP/1.1\r\ntransfer-encoding: CHUNKED\r\n\r\n", &h), 0);
    assert_true(h.chunked);
    http_head_done(&h);
}

static void test_limits(void **state)
{
    size_t cap = 4 * LIM_HTTP_HEADER_BYTES + LIM_REQUEST_LINE_BYTES;
    char *big = malloc(cap + 64);
    struct http_head h;
    size_t n;

    (void)state;
    assert_non_null(big);
    /* A URI longer than the request-line limit: 414 before the line ends. */
    n = (size_t)snprintf(big, cap, "GET /");
    memset(big + n, 'a', LIM_REQUEST_LINE_BYTES);
    big[n + LIM_REQUEST_LINE_BYTES] = '\0';
    assert_int_equal(parse(big, &h), 414);
    /* One header line of 64 KiB: 431. */
    n = (size_t)snprintf(big, cap, "GET / HTTP/1.1\r\nX: ");
    memset(big + n, 'b', 65536);
    big[n + 65536] = '\0';
    assert_int_equal(parse(big, &h), 431);
    /* More header lines than allowed, within the byte limit: 431. */
    n = (size_t)snprintf(big, cap, "GET / HTTP/1.1\r\n");
    for (int i = 0; i <= LIM_HTTP_HEADERS; i++)
        n += (size_t)snprintf(big + n, cap - n, "a%d: 1\r\n", i);
    snprintf(big + n, cap - n, "\r\n");
    assert_int_equal(parse(big, &h), 431);
    free(big);
}

/* Decodes body in pieces of `step` bytes; returns the decoded text length, or -1. */
static long decode(const char *body, size_t step, char *out, size_t *ret_used)
{
    struct http_chunked c;
    struct problem err;
    size_t n = strlen(body), off = 0, o = 0;
    char piece[256];

    memset(&c, 0, sizeof(c));
    while (off < n) {
        size_t take = n - off < step ? n - off : step, used, got;
        memcpy(piece, body + off, take);
        int r = http_chunked_decode(&c, piece, take, &used, &got, &err);
        if (r < 0)
            return -1;
        memcpy(out + o, piece, got);
        o += got;
        off += used;
        if (r == 1) {
            *ret_used = off;
            return (long)o;
        }
    }
    *ret_used = off;
    return -2; /* incomplete */
}

static void test_chunked(void **state)
{
    const char *body =
        "5\r\nhello\r\n1;name=val\r\n \r\nA\r\n0123456789\r\n0\r\nTrailer: x\r\n\r\nNEXT";
    char out[64];
    size_t used;

    (void)state;
    for (size_t step = 1; step <= 64; step++) {
        memset(out, 0, sizeof(out));
        assert_int_equal(decode(body, step, out, &used), 16);
        assert_memory_equal(out, "hello 0123456789", 16);
        assert_int_equal(used, strlen(body) - 4); /* "NEXT" is the next request */
    }
    assert_int_equal(decode("5\r\nhel", 3, out, &used), -2);
    assert_int_equal(decode("g\r\n", 1, out, &used), -1);
    assert_int_equal(decode("1x\r\n", 1, out, &used), -1);
    assert_int_equal(decode("1\r\nab\r\n", 1, out, &used), -1);
    assert_int_equal(decode("fffffffffffffff0\r\n", 4, out, &used), -1);
    assert_int_equal(decode("0\r\nX: \x01\r\r\n", 1, out, &used), -1);
    /* Blanks may only precede an extension; anything else after the digits is refused. */
    assert_int_equal(decode("5 6\r\nhello\r\n0\r\n\r\n", 1, out, &used), -1);
    assert_int_equal(decode("5 x\r\nhello\r\n0\r\n\r\n", 1, out, &used), -1);
    assert_int_equal(decode("5 \r\nhello\r\n0\r\n\r\n", 1, out, &used), -1);
    assert_int_equal(decode("5 \t;a=b\r\nhello\r\n0 ;x\r\n\r\n", 1, out, &used), 5);
    /* Every line ends in CR LF: a bare LF anywhere in the coding is refused. */
    assert_int_equal(decode("3\nabc\r\n0\r\n\r\n", 1, out, &used), -1);
    assert_int_equal(decode("3\r\nabc\n0\r\n\r\n", 1, out, &used), -1);
    assert_int_equal(decode("3;x\nabc\r\n0\r\n\r\n", 1, out, &used), -1);
    assert_int_equal(decode("0\r\n\n", 1, out, &used), -1);
    assert_int_equal(decode("0\r\nX: 1\n\r\n", 1, out, &used), -1);
    assert_int_equal(decode("0;x\n\r\n", 1, out, &used), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_get),
        cmocka_unit_test(test_scan_incremental),
        cmocka_unit_test(test_connection_semantics),
        cmocka_unit_test(test_framing_strictness),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_chunked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
