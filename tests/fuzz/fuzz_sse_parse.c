/*
 * libFuzzer target for stream/sse_parse: arbitrary bytes fed at once and cut
 * in three pieces (at offsets taken from the first two bytes) must give the
 * same events; every event's type and id are NUL-terminated and bounded,
 * its data is within the bound and NUL-terminated at its length; an error is
 * only -E2BIG, the same either way.
 */
#include "../../stream/buf.h"
#include "../../stream/sse_parse.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_EVENT 512

struct trace {
    struct buf out;
};

static int record(void *arg, const char *event, const char *id, const char *data, size_t len)
{
    struct trace *t = arg;

    if (strlen(event) >= 64 || strlen(id) >= 64 || len > MAX_EVENT || data[len] != '\0')
        abort();
    if (buf_append_str(&t->out, event) < 0 || buf_append(&t->out, "\0", 1) < 0 ||
        buf_append_str(&t->out, id) < 0 || buf_append(&t->out, "\0", 1) < 0 ||
        buf_append(&t->out, data, len) < 0 || buf_append(&t->out, "\0", 1) < 0)
        abort();
    return 0;
}

static int run(const uint8_t *p, size_t n, const size_t *cuts, size_t ncuts, struct trace *t)
{
    struct sse_parser ps;
    size_t at = 0;
    int r = 0;

    buf_init(&t->out, 1u << 24);
    sse_parser_init(&ps, MAX_EVENT);
    for (size_t i = 0; i <= ncuts && r == 0; i++) {
        size_t to = i < ncuts ? cuts[i] : n;
        r = sse_parse(&ps, p + at, to - at, record, t);
        at = to;
    }
    sse_parser_done(&ps);
    if (r != 0 && r != -E2BIG)
        abort();
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct trace whole, split;
    size_t cuts[2];
    int a, b;

    if (size < 2)
        return 0;
    cuts[0] = data[0] % (size - 1);
    cuts[1] = cuts[0] + data[1] % (size - 1 - cuts[0]);
    data += 2;
    size -= 2;
    if (cuts[0] > size)
        cuts[0] = size;
    if (cuts[1] > size)
        cuts[1] = size;
    a = run(data, size, NULL, 0, &whole);
    b = run(data, size, cuts, 2, &split);
    /* An overflow stops at the same byte either way; the events before it agree. */
    if (a != b || whole.out.len != split.out.len ||
        (whole.out.len && memcmp(whole.out.data, split.out.data, whole.out.len) != 0))
        abort();
    buf_done(&whole.out);
    buf_done(&split.out);
    return 0;
}
