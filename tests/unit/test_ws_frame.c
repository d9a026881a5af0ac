/*
 * Unit tests for stream/ws_frame: client frames parsed in any split,
 * reassembly with control frames in between, every fault a server must
 * refuse (with its close code), the UTF-8 check, server frame headers and
 * the handshake's accept key.
 */
#include "../../stream/ws_frame.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* A masked client frame into out; returns its length. */
static size_t client_frame(unsigned char *out, unsigned first, const void *payload, size_t n)
{
    static const unsigned char key[4] = {0x37, 0xfa, 0x21, 0x3d};
    size_t h = 2;

    out[0] = (unsigned char)first;
    if (n < 126) {
        out[1] = (unsigned char)(0x80 | n);
    } else if (n < 65536) {
        out[1] = 0x80 | 126;
        out[2] = (unsigned char)(n >> 8);
        out[3] = (unsigned char)n;
        h = 4;
    } else {
        out[1] = 0x80 | 127;
        for (int i = 0; i < 8; i++)
            out[2 + i] = (unsigned char)((uint64_t)n >> (56 - 8 * i));
        h = 10;
    }
    memcpy(out + h, key, 4);
    for (size_t i = 0; i < n; i++)
        out[h + 4 + i] = ((const unsigned char *)payload)[i] ^ key[i & 3];
    return h + 4 + n;
}

/* Parses all of (p, n) in pieces of `step` bytes; records events as "op:len:text;" and the error.
 */
static int run(struct ws_parser *ps, const unsigned char *p, size_t n, size_t step, char *log,
               size_t cap)
{
    struct ws_event ev;
    size_t off = 0, used, len = 0;
    int r = 0;

    log[0] = '\0';
    while (off < n) {
        size_t k = n - off < step ? n - off : step;
        r = ws_parse(ps, p + off, k, &used, &ev);
        off += used;
        if (r < 0)
            return -1;
        if (r > 0)
            len += (size_t)snprintf(log + len, cap - len, "%d:%zu:%.*s;", ev.op, ev.len,
                                    (int)(ev.len < 20 ? ev.len : 20), (const char *)ev.data);
        else
            assert_int_equal(used, k); /* needs more: everything was taken */
    }
    return 0;
}

static void test_messages_in_any_split(void **state)
{
    unsigned char buf[400];
    size_t n = 0;
    char want[256], got[256];
    struct ws_parser ps;

    (void)state;
    n += client_frame(buf + n, 0x81, "hello", 5);
    n += client_frame(buf + n, 0x02, "frag", 4); /* binary, not final */
    n += client_frame(buf + n, 0x89, "pi", 2);   /* a ping in between */
    n += client_frame(buf + n, 0x80, "ment", 4); /* final continuation */
    n += client_frame(buf + n, 0x81, "", 0);     /* an empty text message */
    n += client_frame(buf + n, 0x88, "\x03\xe8ok", 4);
    snprintf(want, sizeof(want), "1:5:hello;9:2:pi;2:8:fragment;1:0:;8:2:ok;");
    for (size_t step = 1; step <= n; step++) {
        ws_parser_init(&ps, 1024);
        assert_int_equal(run(&ps, buf, n, step, got, sizeof(got)), 0);
        assert_string_equal(got, want);
        ws_parser_done(&ps);
    }
    /* The close code. */
    {
        struct ws_event ev;
        size_t used, k = client_frame(buf, 0x88, "\x0f\xa0", 2);
        ws_parser_init(&ps, 1024);
        assert_int_equal(ws_parse(&ps, buf, k, &used, &ev), 1);
        assert_int_equal(ev.close_code, 4000);
        k = client_frame(buf, 0x88, "", 0);
        assert_int_equal(ws_parse(&ps, buf, k, &used, &ev), 1);
        assert_int_equal(ev.close_code, WS_CLOSE_NO_STATUS);
        ws_parser_done(&ps);
    }
}

static void test_lengths(void **state)
{
    static unsigned char big[70000], frame[70016];
    struct ws_parser ps;
    struct ws_event ev;
    size_t used, n;

    (void)state;
    memset(big, 'x', sizeof(big));
    /* 16-bit and 64-bit length forms. */
    for (size_t len = 125; len <= 70000; len = len < 65536 ? len * 2 + 1 : len + 1000) {
        n = client_frame(frame, 0x82, big, len);
        ws_parser_init(&ps, sizeof(big));
        assert_int_equal(ws_parse(&ps, frame, n, &used, &ev), 1);
        assert_int_equal(used, n);
        assert_int_equal(ev.len, len);
        assert_memory_equal(ev.data, big, len);
        ws_parser_done(&ps);
    }
}

/* The fault for bytes, and how many bytes it took to decide. */
static int fault(const unsigned char *p, size_t n, size_t max, const char **reason, size_t *used)
{
    struct ws_parser ps;
    struct ws_event ev;
    size_t off = 0, u;
    int r, code = 0;

    ws_parser_init(&ps, max);
    while (off < n && (r = ws_parse(&ps, p + off, n - off, &u, &ev)) >= 0) {
        off += u;
        if (r == 0)
            break;
    }
    if (ps.error) {
        off += u;
        code = ps.error;
        *reason = ps.reason;
    }
    *used = off;
    ws_parser_done(&ps);
    return code;
}

static void test_faults(void **state)
{
    unsigned char b[512];
    const char *why = "";
    size_t n, used;

    (void)state;
    /* Unmasked: refused on the second byte, before any key or payload. */
    b[0] = 0x81;
    b[1] = 0x05;
    memcpy(b + 2, "hello", 5);
    assert_int_equal(fault(b, 7, 1024, &why, &used), WS_CLOSE_PROTOCOL);
    assert_int_equal(used, 2);
    assert_non_null(strstr(why, "masked"));
    /* A frame declaring 2 GiB: refused on its header (14 bytes), nothing buffered. */
    b[0] = 0x82;
    b[1] = 0x80 | 127;
    memset(b + 2, 0, 8);
    b[6] = 0x80; /* 2^31 */
    memset(b + 10, 0, 4);
    assert_int_equal(fault(b, 14, 1 << 20, &why, &used), WS_CLOSE_TOO_BIG);
    assert_int_equal(used, 14);
    /* The 64-bit length's top bit. */
    b[2] = 0x80;
    b[6] = 0;
    assert_int_equal(fault(b, 14, 1 << 20, &why, &used), WS_CLOSE_PROTOCOL);
    /* Fragments that add up past the maximum. */
    n = client_frame(b, 0x02, "0123456789", 10);
    n += client_frame(b + n, 0x00, "0123456789", 10);
    assert_int_equal(fault(b, n, 15, &why, &used), WS_CLOSE_TOO_BIG);
    /* RSV bits, reserved opcodes. */
    n = client_frame(b, 0xc1, "x", 1);
    assert_int_equal(fault(b, n, 64, &why, &used), WS_CLOSE_PROTOCOL);
    for (unsigned op = 3; op <= 0xf; op++) {
        if (op >= 8 && op <= 0xa)
            continue;
        n = client_frame(b, 0x80 | op, "x", 1);
        assert_int_equal(fault(b, n, 64, &why, &used), WS_CLOSE_PROTOCOL);
    }
    /* Control frames: fragmented, too long. */
    n = client_frame(b, 0x09, "x", 1);
    assert_int_equal(fault(b, n, 64, &why, &used), WS_CLOSE_PROTOCOL);
    memset(b + 300, 'p', 126);
    n = client_frame(b, 0x89, b + 300, 126);
    assert_int_equal(fault(b, n, 1024, &why, &used), WS_CLOSE_PROTOCOL);
    /* Continuation without a message; a new message inside one. */
    n = client_frame(b, 0x80, "x", 1);
    assert_int_equal(fault(b, n, 64, &why, &used), WS_CLOSE_PROTOCOL);
    n = client_frame(b, 0x01, "a", 1);
    n += client_frame(b + n, 0x81, "b", 1);
    assert_int_equal(fault(b, n, 64, &why, &used), WS_CLOSE_PROTOCOL);
    /* Close payloads. */
    n = client_frame(b, 0x88, "\x03", 1);
    assert_int_equal(fault(b, n, 64, &why, &used), WS_CLOSE_PROTOCOL);
    static const int bad_codes[] = {0, 999, 1004, 1005, 1006, 1015, 2999, 5000, 65535};
    for (size_t i = 0; i < sizeof(bad_codes) / sizeof(bad_codes[0]); i++) {
        unsigned char c[2] = {(unsigned char)(bad_codes[i] >> 8), (unsigned char)bad_codes[i]};
        n = client_frame(b, 0x88, c, 2);
        assert_int_equal(fault(b, n, 64, &why, &used), WS_CLOSE_PROTOCOL);
    }
    n = client_frame(b, 0x88, "\x03\xe8\xc3\x28", 4);
    assert_int_equal(fault(b, n, 64, &why, &used), WS_CLOSE_BAD_DATA);
    /* Text that is not UTF-8, also split across fragments validly. */
    n = client_frame(b, 0x81, "\xff", 1);
    assert_int_equal(fault(b, n, 64, &why, &used), WS_CLOSE_BAD_DATA);
    n = client_frame(b, 0x01, "\xc3", 1);
    n += client_frame(b + n, 0x80, "\xa9", 1); /* é split in two fragments: fine */
    assert_int_equal(fault(b, n, 64, &why, &used), 0);
    /* A fault is final. */
    {
        struct ws_parser ps;
        struct ws_event ev;
        size_t u;
        ws_parser_init(&ps, 64);
        b[0] = 0x81;
        b[1] = 0x01;
        assert_int_equal(ws_parse(&ps, b, 2, &u, &ev), -1);
        n = client_frame(b, 0x81, "x", 1);
        assert_int_equal(ws_parse(&ps, b, n, &u, &ev), -1);
        assert_int_equal(u, 0);
        ws_parser_done(&ps);
    }
}

static void test_utf8(void **state)
{
    (void)state;
    assert_true(ws_utf8_valid("", 0));
    assert_true(ws_utf8_valid("plain ascii", 11));
    assert_true(ws_utf8_valid("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9)); /* é € 😀 */
    assert_true(ws_utf8_valid("\xf4\x8f\xbf\xbf", 4));                     /* U+10FFFF */
    assert_false(ws_utf8_valid("\xc0\xaf", 2));                            /* overlong / */
    assert_false(ws_utf8_valid("\xe0\x80\xaf", 3));                        /* overlong */
    assert_false(ws_utf8_valid("\xed\xa0\x80", 3));                        /* surrogate */
    assert_false(ws_utf8_valid("\xf4\x90\x80\x80", 4));                    /* past U+10FFFF */
    assert_false(ws_utf8_valid("\xc3", 1));                                /* truncated */
    assert_false(ws_utf8_valid("\x80", 1));                                /* lone continuation */
    assert_false(ws_utf8_valid("\xe2\x28\xa1", 3));
}

static void test_server_header_and_accept(void **state)
{
    unsigned char h[10];
    char accept[29];

    (void)state;
    assert_int_equal(ws_frame_header(h, WS_OP_TEXT, 5), 2);
    assert_int_equal(h[0], 0x81);
    assert_int_equal(h[1], 5);
    assert_int_equal(ws_frame_header(h, WS_OP_BINARY, 126), 4);
    assert_int_equal(h[1], 126);
    assert_int_equal(h[2] << 8 | h[3], 126);
    assert_int_equal(ws_frame_header(h, WS_OP_BINARY, 65536), 10);
    assert_int_equal(h[1], 127);
    assert_int_equal(h[7], 1);
    /* RFC 6455 1.3's example. */
    ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", 24, accept);
    assert_string_equal(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_messages_in_any_split),
        cmocka_unit_test(test_lengths),
        cmocka_unit_test(test_faults),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_server_header_and_accept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
