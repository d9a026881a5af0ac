/*
 * buf: the bounded growable buffer every network-fed accumulation uses.
 * Growth doubles up to the maximum; the data is always NUL-terminated so text
 * can be handed to string functions without a copy.
 */
#include "buf.h"

#include "xmalloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void buf_done(struct buf *b)
{
    if (!b)
        return;
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void buf_reset(struct buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

static int buf_reserve(struct buf *b, size_t extra)
{
    size_t need, cap;

    if (extra > b->max || b->len > b->max - extra)
        return -E2BIG;
    need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > ((size_t)-1) / 2 ? need : cap * 2;
    if (b->max < (size_t)-1 && cap > b->max + 1)
        cap = b->max + 1;
    b->data = xrealloc(b->data, cap);
    b->cap = cap;
    return 0;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
    int r = buf_reserve(b, n);
    if (r < 0)
        return r;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int buf_append_str(struct buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    int n, r;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -EINVAL;
    r = buf_reserve(b, (size_t)n);
    if (r < 0)
        return r;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

char *buf_steal(struct buf *b, size_t *ret_len)
{
    char *p = b->data;

    if (!p)
        p = xstrdup("");
    if (ret_len)
        *ret_len = b->len;
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}

void tail_keep(char *tail, size_t cap, size_t *len, const void *p, size_t n)
{
    const char *c = p;

    if (n >= cap) {
        memcpy(tail, c + n - cap, cap);
        *len = cap;
        return;
    }
    if (*len + n > cap) {
        size_t drop = *len + n - cap;
        memmove(tail, tail + drop, *len - drop);
        *len -= drop;
    }
    memcpy(tail + *len, c, n);
    *len += n;
}
