/*
 * http_parse: the HTTP/1.1 request grammar agentd accepts, as pure functions
 * over bytes (no I/O, no allocation beyond the head copy), so that every
 * byte a client sends before the body is checked in one fuzzed place.
 *
 * A request head is found with http_head_scan() (incremental: it resumes
 * where the previous call stopped), then parsed whole by http_head_parse().
 * The parser is strict where leniency enables request smuggling: a
 * Content-Length together with Transfer-Encoding, a repeated Content-Length,
 * a transfer coding other than exactly "chunked", whitespace before a colon
 * and obsolete line folding are all 400.  The body framing it reports is the
 * only one agentd uses, so the end of a body is never guessed.
 *
 * http_chunked_decode() removes the chunked transfer coding in place:
 * chunk-size lines are bounded, extensions and trailers are read and dropped.
 */
#ifndef STREAM_HTTP_PARSE_H
#define STREAM_HTTP_PARSE_H

#include "limits.h"
#include "problem.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One header line: offsets into struct http_head's raw copy. */
struct http_field {
    uint32_t name, name_len;   /* field name as sent */
    uint32_t value, value_len; /* value without surrounding whitespace */
};

struct http_head {
    char *raw;                                  /* the head's bytes, NUL-terminated, owned */
    size_t raw_len;                             /* through the blank line */
    uint32_t method, method_len;                /* request method (case-sensitive token) */
    uint32_t target, target_len;                /* request-target as sent */
    int minor;                                  /* HTTP/1.<minor>: 0 or 1 */
    struct http_field fields[LIM_HTTP_HEADERS]; /* header lines in order */
    size_t nfields;                             /* entries used */
    int64_t content_length;                     /* -1 when absent */
    bool chunked;                               /* Transfer-Encoding: chunked */
    bool keep_alive;                            /* the connection may carry another request */
    bool upgrade;                               /* Upgrade: websocket with Connection: upgrade */
    bool expect_continue;                       /* Expect: 100-continue */
};

/* The value of a hex digit, or -1 (shared by the URL, query and chunk-size decoders). */
int http_hex_digit(char c);

/*
 * Looks for the end of a request head in buf[0..n).  *scan_pos carries the
 * search position between calls (start at 0 for a new head).  Returns the
 * head's length, 0 when more bytes are needed, or -1 with err set: 414 when
 * the request line is longer than LIM_URI_BYTES allows, 431 when the head is
 * larger than LIM_HTTP_HEADER_BYTES, 400 for bytes no request can contain.
 * Empty lines before a request line (RFC 9112 2.2) are skipped: *ret_skip
 * says how many leading bytes to drop.
 */
long http_head_scan(const char *buf, size_t n, size_t *scan_pos, size_t *ret_skip,
                    struct problem *err);

/*
 * Parses a complete head (what http_head_scan() measured) into h, copying
 * the bytes.  Returns 0, or -1 with err set (400, 431, 501, 505); h owns a
 * copy either way and is released with http_head_done().
 */
int http_head_parse(const char *buf, size_t len, struct http_head *h, struct problem *err);
void http_head_done(struct http_head *h);

/*
 * The value of the first header called name (case-insensitive, no colon),
 * or NULL.  *ret_len is its length; the value is not NUL-terminated.
 */
const char *http_head_get(const struct http_head *h, const char *name, size_t *ret_len);
/* How many header lines are called name. */
size_t http_head_count(const struct http_head *h, const char *name);

/* Chunked decoder state; zero-initialise for a new body. */
struct http_chunked {
    int state;       /* enum in http_parse.c */
    uint64_t remain; /* data bytes left in the current chunk */
    unsigned digits; /* hex digits of the current size */
    size_t line;     /* bytes of the current size/extension/trailer line */
    size_t trailer;  /* bytes of all trailer lines */
    uint64_t total;  /* decoded bytes so far */
};

/*
 * Decodes buf[0..n) in place: the body's data bytes are moved to the front
 * of buf.  *ret_used is how many input bytes belong to the body (what
 * follows is the next request), *ret_out how many data bytes are now at the
 * start of buf.  Returns 1 once the last chunk and the trailers are read, 0
 * when more input is needed, -1 with err (400) on a malformed body.
 */
int http_chunked_decode(struct http_chunked *c, char *buf, size_t n, size_t *ret_used,
                        size_t *ret_out, struct problem *err);

/*
 * The framer: where each request's head and body lie in a byte stream.  It
 * holds no bytes: the caller keeps a buffer of unconsumed input, calls
 * http_framer_step() on it, and drops frame.used bytes from its front after
 * each step.  After a request's head (and its body, if any) the framer waits
 * until http_framer_next() says the response is done, so requests are served
 * strictly one after the other.
 */
enum http_frame_kind {
    HTTP_FRAME_MORE,  /* nothing complete yet: read more (after dropping used bytes) */
    HTTP_FRAME_HEAD,  /* a request head: frame.head (the caller owns it now) */
    HTTP_FRAME_BODY,  /* body bytes: frame.data[0..len), decoded in place in the buffer */
    HTTP_FRAME_ERROR, /* the stream cannot be read further: err says why (400/414/431/501/505) */
    HTTP_FRAME_IDLE,  /* waiting for http_framer_next(), or dead after an error */
};

struct http_frame {
    enum http_frame_kind kind; /* what this step found */
    size_t used;               /* input bytes consumed by this step */
    const char *data;          /* HTTP_FRAME_BODY: decoded bytes, inside the input */
    size_t len;                /* their count (may be 0) */
    bool end;                  /* HTTP_FRAME_BODY / HEAD: the request is now complete */
    bool head_parsed;          /* HTTP_FRAME_ERROR: frame.head holds a head that failed */
    struct http_head head;     /* HTTP_FRAME_HEAD (and ERROR with head_parsed) */
};

struct http_framer {
    int phase;              /* enum in http_parse.c */
    size_t scan_pos;        /* http_head_scan() resume point */
    int64_t remain;         /* Content-Length: body bytes still to come */
    bool chunked;           /* chunked framing */
    struct http_chunked ch; /* its decoder */
};

void http_framer_init(struct http_framer *f);
/*
 * One step over buf[0..n) (the unconsumed input, which the step may modify:
 * chunked data is decoded in place).  Fills *frame; see enum
 * http_frame_kind.  A HEAD frame's head belongs to the caller
 * (http_head_done()).
 */
void http_framer_step(struct http_framer *f, char *buf, size_t n, struct http_frame *frame,
                      struct problem *err);
/* The response to the current request is finished: look for the next head. */
void http_framer_next(struct http_framer *f);
/* True while a request body is being framed. */
bool http_framer_in_body(const struct http_framer *f);

#endif
