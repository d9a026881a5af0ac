/*
 * sse_parse: the client side of Server-Sent Events, incremental and bounded
 * (the WHATWG event-stream rules): lines end with CRLF, LF or CR; `:` lines
 * are comments; `field: value` strips one space after the colon; several
 * `data` lines join with "\n"; a blank line dispatches the event (none when
 * it has no data); unknown fields and `retry` are ignored.  Used by
 * `agentd attach` for process logs.
 */
#ifndef STREAM_SSE_PARSE_H
#define STREAM_SSE_PARSE_H

#include "buf.h"

#include <stdbool.h>
#include <stddef.h>

/* One event: type ("message" by default), id ("" when none), data (NUL-terminated, len bytes). */
typedef int (*sse_event_fn)(void *arg, const char *event, const char *id, const char *data,
                            size_t len);

struct sse_parser {
    struct buf line; /* the line being read */
    struct buf data; /* the event's data so far */
    char event[64];  /* its type; longer names are cut */
    char id[64];     /* its id; longer ids are cut */
    bool has_data;
    bool after_cr; /* the last byte ended a line with CR: a following LF belongs to it */
};

/* max_event bounds a line and an event's data (each). */
void sse_parser_init(struct sse_parser *p, size_t max_event);
void sse_parser_done(struct sse_parser *p);
/*
 * Feeds n bytes; fn runs for each complete event.  Returns 0, -E2BIG when a
 * line or an event passes max_event (the parser is then unusable), or fn's
 * negative return (parsing stops there).
 */
int sse_parse(struct sse_parser *p, const void *bytes, size_t n, sse_event_fn fn, void *arg);

#endif
