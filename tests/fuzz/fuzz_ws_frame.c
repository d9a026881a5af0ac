/*
 * Fuzzes the WebSocket frame parser (stream/ws_frame).  Invariants: no crash
 * or out-of-bounds access on any byte stream; the events and the fault are
 * the same whatever the split (the first byte picks the piece size); a
 * message never exceeds the maximum, a text message and a close reason are
 * valid UTF-8, a control payload is at most 125 bytes; a fault carries a
 * close code of 1002, 1007 or 1009 and a reason.  Then the input, cut into
 * messages and fragments, is framed as a client would and must come back
 * exactly.
 */
#include "../../stream/ws_frame.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MESSAGE 4096

struct trace {
    uint64_t hash;
    size_t events;
    int error;
};

static void mix(struct trace *t, const void *p, size_t n)
{
    const unsigned char *b = p;

    for (size_t i = 0; i < n; i++)
        t->hash = (t->hash ^ b[i]) * 1099511628211ull;
}

static void parse_all(const uint8_t *data, size_t size, size_t step, struct trace *t)
{
    struct ws_parser ps;
    struct ws_event ev;
    size_t off = 0, used;
    int r;

    memset(t, 0, sizeof(*t));
    t->hash = 14695981039346656037ull;
    ws_parser_init(&ps, MAX_MESSAGE);
    while (off < size) {
        size_t k = size - off < step ? size - off : step;
        r = ws_parse(&ps, data + off, k, &used, &ev);
        if (used > k)
            abort();
        off += used;
        if (r < 0) {
            if (ps.error != WS_CLOSE_PROTOCOL && ps.error != WS_CLOSE_BAD_DATA &&
                ps.error != WS_CLOSE_TOO_BIG)
                abort();
            if (!ps.reason || !*ps.reason)
                abort();
            t->error = ps.error;
            break;
        }
        if (r == 0) {
            if (used != k)
                abort();
            continue;
        }
        t->events++;
        if (ev.op == WS_OP_TEXT || ev.op == WS_OP_BINARY) {
            if (ev.len > MAX_MESSAGE)
                abort();
        } else if (ev.len > 125) {
            abort();
        }
        if ((ev.op == WS_OP_TEXT || ev.op == WS_OP_CLOSE) && !ws_utf8_valid(ev.data, ev.len))
            abort();
        mix(t, &ev.op, sizeof(ev.op));
        mix(t, &ev.close_code, sizeof(ev.close_code));
        mix(t, ev.data, ev.len);
    }
    ws_parser_done(&ps);
}

/* The input as binary messages of up to 3 fragments each, masked with bytes from the input. */
static void roundtrip(const uint8_t *data, size_t size)
{
    /* Each message is at least 1 byte and at most 3 fragments of 6 header bytes. */
    unsigned char *wire = malloc(size * 19 + 64);
    size_t w = 0, off = 0, msgs = 0;
    struct ws_parser ps;
    struct ws_event ev;
    size_t used, pos = 0;

    if (!wire)
        return;
    while (off < size) {
        size_t len = (data[off] % 64) + 1, frags = data[off] % 3 + 1;
        if (len > size - off)
            len = size - off;
        for (size_t f = 0; f < frags; f++) {
            size_t a = len * f / frags, b = len * (f + 1) / frags, n = b - a;
            unsigned char key[4] = {data[off], (uint8_t)n, (uint8_t)f, 0x5a};
            wire[w++] = (unsigned char)((f + 1 == frags ? 0x80 : 0) | (f ? 0 : WS_OP_BINARY));
            wire[w++] = (unsigned char)(0x80 | n);
            memcpy(wire + w, key, 4);
            w += 4;
            for (size_t i = 0; i < n; i++)
                wire[w++] = data[off + a + i] ^ key[i & 3];
        }
        off += len;
        msgs++;
    }
    ws_parser_init(&ps, MAX_MESSAGE);
    off = 0;
    for (size_t m = 0; m < msgs; m++) {
        size_t len = (data[off] % 64) + 1;
        if (len > size - off)
            len = size - off;
        if (ws_parse(&ps, wire + pos, w - pos, &used, &ev) != 1)
            abort();
        pos += used;
        if (ev.op != WS_OP_BINARY || ev.len != len || memcmp(ev.data, data + off, len) != 0)
            abort();
        off += len;
    }
    if (pos != w)
        abort();
    ws_parser_done(&ps);
    free(wire);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct trace whole, split;

    if (size < 1)
        return 0;
    parse_all(data + 1, size - 1, size, &whole);
    parse_all(data + 1, size - 1, (size_t)data[0] % 7 + 1, &split);
    if (whole.hash != split.hash || whole.events != split.events || whole.error != split.error)
        abort();
    roundtrip(data, size);
    return 0;
}
