/*
 * A growable byte buffer with a hard maximum set at creation (curl's dynbuf).
 * Appending past the maximum fails with -E2BIG and leaves the buffer as it
 * was, so a client can never make agentd allocate more than the limit.
 */
#ifndef STREAM_BUF_H
#define STREAM_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
    char *data; /* NUL-terminated when len > 0; owned */
    size_t len; /* bytes in use */
    size_t cap; /* bytes allocated */
    size_t max; /* hard maximum of len */
};

void buf_init(struct buf *b, size_t max);
void buf_done(struct buf *b);
/* Empties the buffer but keeps its allocation. */
void buf_reset(struct buf *b);
/* Returns 0, or -E2BIG when the result would exceed the maximum. */
int buf_append(struct buf *b, const void *p, size_t n);
int buf_append_str(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands the contents to the caller (free() it) and resets the buffer. */
char *buf_steal(struct buf *b, size_t *ret_len);

/*
 * Keeps the last cap bytes of a stream in tail (*len in use): appends n
 * bytes, dropping the oldest.  For the stderr tails quoted in errors.
 */
void tail_keep(char *tail, size_t cap, size_t *len, const void *p, size_t n);

#endif
