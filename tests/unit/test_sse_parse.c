/*
 * Unit tests for stream/sse_parse: the event-stream rules (line ends, comments,
 * one space stripped, data lines joined, blank-line dispatch, events without
 * data, ids, unknown fields), the same events whatever the split of the
 * input, the bound on a line and on an event, and a callback that stops.
 */
#include "../../stream/buf.h"
#include "../../stream/sse_parse.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

/* Events rendered as "type|id|data\n" lines into a buffer. */
static int collect(void *arg, const char *event, const char *id, const char *data, size_t len)
{
    struct buf *out = arg;

    assert_int_equal(data[len], '\0');
    return buf_printf(out, "%s|%s|%.*s\n", event, id, (int)len, data);
}

static int stop_at_two(void *arg, const char *event, const char *id, const char *data, size_t len)
{
    int *n = arg;

    (void)event, (void)id, (void)data, (void)len;
    return ++*n == 2 ? -ECANCELED : 0;
}

/* Parses text fed in pieces of `step` bytes (0: at once) and returns the rendering. */
static void parse_steps(const char *text, size_t step, struct buf *out)
{
    struct sse_parser p;
    size_t n = strlen(text);

    sse_parser_init(&p, 1024);
    buf_reset(out);
    if (!step) {
        assert_int_equal(sse_parse(&p, text, n, collect, out), 0);
    } else {
        for (size_t i = 0; i < n; i += step)
            assert_int_equal(sse_parse(&p, text + i, i + step > n ? n - i : step, collect, out), 0);
    }
    sse_parser_done(&p);
}

static void expect(const char *text, const char *want)
{
    struct buf whole, split;

    buf_init(&whole, 65536);
    buf_init(&split, 65536);
    parse_steps(text, 0, &whole);
    assert_string_equal(whole.len ? whole.data : "", want);
    for (size_t step = 1; step <= strlen(text); step++) {
        parse_steps(text, step, &split);
        assert_string_equal(split.len ? split.data : "", want);
    }
    buf_done(&whole);
    buf_done(&split);
}

static void the_rules(void **state)
{
    (void)state;
    expect("data: hi\n\n", "message||hi\n");
    expect("event: log\nid: 7\ndata: {\"a\":1}\n\n", "log|7|{\"a\":1}\n");
    /* One space stripped, no more; no space at all works too. */
    expect("data:x\n\ndata:  two\n\n", "message||x\nmessage|| two\n");
    /* Data lines join with a newline; the last one is not kept. */
    expect("data: a\ndata: b\ndata\n\n", "message||a\nb\n\n");
    /* CRLF, CR and LF end lines, also mixed. */
    expect("data: a\r\n\r\ndata: b\r\rdata: c\n\r\n", "message||a\nmessage||b\nmessage||c\n");
    /* Comments (keep-alives) and unknown fields are ignored; no data, no event. */
    expect(":\n\n: heartbeat\n\nretry: 10\nfoo: bar\n\nevent: exit\n\n", "");
    /* The type and id are per event. */
    expect("event: exit\ndata: {}\n\ndata: next\n\n", "exit||{}\nmessage||next\n");
    /* Without the blank line the event is not complete. */
    expect("data: pending\n", "");
}

static void bounds(void **state)
{
    struct sse_parser p;
    char big[300];
    int n = 0;

    (void)state;
    memset(big, 'x', sizeof(big));
    sse_parser_init(&p, 256);
    assert_int_equal(sse_parse(&p, "data: ", 6, collect, NULL), 0);
    assert_int_equal(sse_parse(&p, big, sizeof(big), collect, NULL), -E2BIG);
    sse_parser_done(&p);
    /* Lines within the bound, data past it. */
    sse_parser_init(&p, 256);
    for (int i = 0; i < 3; i++) {
        char line[128];
        int len = snprintf(line, sizeof(line), "data: %.100s\n", big);
        int r = sse_parse(&p, line, (size_t)len, collect, NULL);
        assert_int_equal(r, i < 2 ? 0 : -E2BIG);
    }
    sse_parser_done(&p);
    /* A callback's error stops the parse there. */
    sse_parser_init(&p, 256);
    assert_int_equal(sse_parse(&p, "data: 1\n\ndata: 2\n\ndata: 3\n\n", 27, stop_at_two, &n),
                     -ECANCELED);
    assert_int_equal(n, 2);
    sse_parser_done(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_rules),
        cmocka_unit_test(bounds),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
