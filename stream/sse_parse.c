#include "sse_parse.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void sse_parser_init(struct sse_parser *p, size_t max_event)
{
    memset(p, 0, sizeof(*p));
    buf_init(&p->line, max_event);
    buf_init(&p->data, max_event);
    snprintf(p->event, sizeof(p->event), "message");
}

void sse_parser_done(struct sse_parser *p)
{
    buf_done(&p->line);
    buf_done(&p->data);
}

static int dispatch(struct sse_parser *p, sse_event_fn fn, void *arg)
{
    int r = 0;

    if (p->has_data) {
        size_t len = p->data.len;
        if (len && p->data.data[len - 1] == '\n')
            len--;
        if (p->data.len)
            p->data.data[len] = '\0';
        r = fn(arg, p->event, p->id, p->data.len ? p->data.data : "", len);
    }
    buf_reset(&p->data);
    p->has_data = false;
    snprintf(p->event, sizeof(p->event), "message");
    p->id[0] = '\0';
    return r < 0 ? r : 0;
}

/* One complete line (without its end). */
static int line(struct sse_parser *p, const char *s, size_t n, sse_event_fn fn, void *arg)
{
    const char *colon, *value;
    size_t flen, vlen;

    if (n == 0)
        return dispatch(p, fn, arg);
    if (s[0] == ':')
        return 0; /* a comment (keep-alive) */
    colon = memchr(s, ':', n);
    flen = colon ? (size_t)(colon - s) : n;
    value = colon ? colon + 1 : s + n;
    vlen = n - (size_t)(value - s);
    if (vlen && value[0] == ' ') {
        value++;
        vlen--;
    }
    if (flen == 5 && memcmp(s, "event", 5) == 0) {
        snprintf(p->event, sizeof(p->event), "%.*s", (int)vlen, value);
    } else if (flen == 4 && memcmp(s, "data", 4) == 0) {
        if (buf_append(&p->data, value, vlen) < 0 || buf_append(&p->data, "\n", 1) < 0)
            return -E2BIG;
        p->has_data = true;
    } else if (flen == 2 && memcmp(s, "id", 2) == 0 && !memchr(value, '\0', vlen)) {
        snprintf(p->id, sizeof(p->id), "%.*s", (int)vlen, value);
    }
    return 0;
}

int sse_parse(struct sse_parser *p, const void *bytes, size_t n, sse_event_fn fn, void *arg)
{
    const char *s = bytes, *end = s + n;

    while (s < end) {
        const char *stop = s;
        int r;

        if (p->after_cr && *s == '\n') {
            p->after_cr = false;
            s++;
            continue;
        }
        p->after_cr = false;
        while (stop < end && *stop != '\n' && *stop != '\r')
            stop++;
        if (stop > s && buf_append(&p->line, s, (size_t)(stop - s)) < 0)
            return -E2BIG;
        if (stop == end)
            break; /* the line goes on in the next bytes */
        p->after_cr = *stop == '\r';
        r = line(p, p->line.len ? p->line.data : "", p->line.len, fn, arg);
        buf_reset(&p->line);
        if (r < 0)
            return r;
        s = stop + 1;
    }
    return 0;
}
