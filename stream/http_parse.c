/*
 * http_parse: request heads and chunked bodies (see http_parse.h for the
 * contract).  RFC 9112 is the grammar; where it allows a choice, the choice
 * that leaves no two readings of one byte stream is taken.
 */
#include "http_parse.h"

#include "xmalloc.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

long http_head_scan(const char *buf, size_t n, size_t *scan_pos, size_t *ret_skip,
                    struct problem *err)
{
    size_t i, first_line;
    const char *lf;

    *ret_skip = 0;
    if (*scan_pos == 0) {
        size_t skip = 0;
        while (skip < n && (buf[skip] == '\r' || buf[skip] == '\n'))
            skip++;
        if (skip) {
            *ret_skip = skip;
            return 0;
        }
    }
    /* The request line alone: 414 as soon as it is certainly too long. */
    first_line = n < LIM_REQUEST_LINE_BYTES + 1 ? n : LIM_REQUEST_LINE_BYTES + 1;
    lf = memchr(buf, '\n', first_line);
    if (!lf && first_line > LIM_REQUEST_LINE_BYTES)
        return problem_set(err, 414, PROBLEM_INVALID_REQUEST,
                           "request line is longer than %d bytes; shorten the URL",
                           LIM_REQUEST_LINE_BYTES);
    for (i = *scan_pos; i < n;) {
        size_t j;
        lf = memchr(buf + i, '\n', n - i);
        if (!lf) {
            i = n;
            break;
        }
        j = (size_t)(lf - buf);
        if (j + 1 < n && buf[j + 1] == '\n')
            i = j + 2;
        else if (j + 2 < n && buf[j + 1] == '\r' && buf[j + 2] == '\n')
            i = j + 3;
        else if (j + 1 == n || (j + 2 == n && buf[j + 1] == '\r')) {
            i = j; /* undecided: look at this LF again with more bytes */
            break;
        } else {
            i = j + 1;
            continue;
        }
        if (i > LIM_HTTP_HEADER_BYTES)
            break;
        return (long)i;
    }
    *scan_pos = i;
    if (n > LIM_HTTP_HEADER_BYTES)
        return problem_set(err, 431, PROBLEM_INVALID_REQUEST,
                           "request headers are larger than %d bytes in all",
                           LIM_HTTP_HEADER_BYTES);
    return 0;
}

/* RFC 9110 tchar. */
static bool is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return true;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* A field value byte: visible ASCII, space, tab, or obs-text. */
static bool is_vchar(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static bool span_ieq(const char *p, size_t n, const char *lit)
{
    size_t m = strlen(lit);
    return n == m && strncasecmp(p, lit, m) == 0;
}

/* True when the comma-separated list p[0..n) holds token lit (case-insensitive). */
static bool list_has(const char *p, size_t n, const char *lit)
{
    size_t i = 0;

    while (i < n) {
        size_t s, e;
        while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == ','))
            i++;
        s = i;
        while (i < n && p[i] != ',')
            i++;
        e = i;
        while (e > s && (p[e - 1] == ' ' || p[e - 1] == '\t'))
            e--;
        if (e > s && span_ieq(p + s, e - s, lit))
            return true;
    }
    return false;
}

const char *http_head_get(const struct http_head *h, const char *name, size_t *ret_len)
{
    for (size_t i = 0; i < h->nfields; i++) {
        const struct http_field *f = &h->fields[i];
        if (span_ieq(h->raw + f->name, f->name_len, name)) {
            *ret_len = f->value_len;
            return h->raw + f->value;
        }
    }
    return NULL;
}

size_t http_head_count(const struct http_head *h, const char *name)
{
    size_t n = 0;

    for (size_t i = 0; i < h->nfields; i++)
        if (span_ieq(h->raw + h->fields[i].name, h->fields[i].name_len, name))
            n++;
    return n;
}

/* Splits off one line of raw[*pos..len): its bytes without CR LF. -1 for a stray CR or NUL. */
static int next_line(const char *raw, size_t len, size_t *pos, size_t *ret_start, size_t *ret_len)
{
    size_t s = *pos, e;
    const char *lf = memchr(raw + s, '\n', len - s);

    if (!lf)
        return -1;
    e = (size_t)(lf - raw);
    *pos = e + 1;
    if (e > s && raw[e - 1] == '\r')
        e--;
    for (size_t i = s; i < e; i++)
        if (raw[i] == '\r' || raw[i] == '\0')
            return -1;
    *ret_start = s;
    *ret_len = e - s;
    return 0;
}

static int parse_request_line(struct http_head *h, size_t s, size_t n, struct problem *err)
{
    const char *p = h->raw + s;
    size_t i = 0, t;

    while (i < n && is_tchar((unsigned char)p[i]))
        i++;
    if (i == 0 || i >= n || p[i] != ' ')
        return problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                           "malformed request line: expected `METHOD /path HTTP/1.1`");
    h->method = (uint32_t)s;
    h->method_len = (uint32_t)i;
    t = ++i;
    while (i < n && p[i] != ' ') {
        unsigned char c = (unsigned char)p[i];
        if (c <= 0x20 || c == 0x7f)
            return problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                               "malformed request line: control byte 0x%02x in the URL", c);
        i++;
    }
    if (i == t || i >= n)
        return problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                           "malformed request line: expected `METHOD /path HTTP/1.1`");
    h->target = (uint32_t)(s + t);
    h->target_len = (uint32_t)(i - t);
    i++;
    if (n - i == 8 && memcmp(p + i, "HTTP/1.", 7) == 0 && (p[i + 7] == '0' || p[i + 7] == '1')) {
        h->minor = p[i + 7] - '0';
        return 0;
    }
    if (n - i >= 6 && memcmp(p + i, "HTTP/", 5) == 0 && p[i + 5] >= '0' && p[i + 5] <= '9')
        return problem_set(err, 505, PROBLEM_INVALID_REQUEST,
                           "HTTP version `%.*s` is not supported; use HTTP/1.1", (int)(n - i),
                           p + i);
    return problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                       "malformed request line: expected `METHOD /path HTTP/1.1`");
}

static int parse_field(struct http_head *h, size_t s, size_t n, struct problem *err)
{
    const char *p = h->raw + s;
    struct http_field *f;
    size_t i = 0, v, e;

    if (p[0] == ' ' || p[0] == '\t')
        return problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                           "header lines must not be folded (a line starts with whitespace)");
    while (i < n && is_tchar((unsigned char)p[i]))
        i++;
    if (i < n && (p[i] == ' ' || p[i] == '\t'))
        return problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                           "header `%.*s` has whitespace before its colon", (int)i, p);
    if (i == 0 || i >= n || p[i] != ':')
        return problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                           "malformed header line (expected `Name: value`)");
    if (h->nfields >= LIM_HTTP_HEADERS)
        return problem_set(err, 431, PROBLEM_INVALID_REQUEST, "too many header lines (at most %d)",
                           LIM_HTTP_HEADERS);
    v = i + 1;
    while (v < n && (p[v] == ' ' || p[v] == '\t'))
        v++;
    e = n;
    while (e > v && (p[e - 1] == ' ' || p[e - 1] == '\t'))
        e--;
    for (size_t k = v; k < e; k++)
        if (!is_vchar((unsigned char)p[k]))
            return problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                               "header `%.*s` holds control byte 0x%02x", (int)i, p,
                               (unsigned char)p[k]);
    f = &h->fields[h->nfields++];
    f->name = (uint32_t)s;
    f->name_len = (uint32_t)i;
    f->value = (uint32_t)(s + v);
    f->value_len = (uint32_t)(e - v);
    return 0;
}

/* Content-Length, Transfer-Encoding, Connection, Upgrade, Expect. */
static int parse_framing(struct http_head *h, struct problem *err)
{
    const char *v;
    size_t n, ncl = http_head_count(h, "content-length"), nte;

    nte = http_head_count(h, "transfer-encoding");
    if (ncl > 1)
        return problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                           "Content-Length is given %zu times; send it once", ncl);
    if (nte > 1)
        return problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                           "Transfer-Encoding is given %zu times; send it once", nte);
    if (ncl && nte)
        return problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                           "a request must not carry both Content-Length and Transfer-Encoding");
    if (http_head_count(h, "host") > 1)
        return problem_set(err, 400, PROBLEM_INVALID_REQUEST, "Host is given more than once");
    h->content_length = -1;
    if (ncl) {
        int64_t len = 0;
        v = http_head_get(h, "content-length", &n);
        if (n == 0 || n > 18)
            goto bad_length;
        for (size_t i = 0; i < n; i++) {
            if (v[i] < '0' || v[i] > '9')
                goto bad_length;
            len = len * 10 + (v[i] - '0');
        }
        h->content_length = len;
    }
    if (nte) {
        v = http_head_get(h, "transfer-encoding", &n);
        if (h->minor == 0)
            return problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                               "Transfer-Encoding is not allowed in an HTTP/1.0 request");
        if (!span_ieq(v, n, "chunked"))
            return problem_set(err, 501, PROBLEM_INVALID_REQUEST,
                               "Transfer-Encoding `%.*s` is not supported; send `chunked` or a "
                               "Content-Length",
                               (int)n, v);
        h->chunked = true;
    }
    h->keep_alive = h->minor == 1;
    v = http_head_get(h, "connection", &n);
    if (v) {
        if (list_has(v, n, "close"))
            h->keep_alive = false;
        else if (list_has(v, n, "keep-alive"))
            h->keep_alive = true;
        if (list_has(v, n, "upgrade")) {
            size_t un;
            const char *u = http_head_get(h, "upgrade", &un);
            h->upgrade = u && list_has(u, un, "websocket");
        }
    }
    v = http_head_get(h, "expect", &n);
    h->expect_continue = v && span_ieq(v, n, "100-continue");
    return 0;

bad_length:
    return problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                       "Content-Length `%.*s` is not a valid length", (int)(n > 64 ? 64 : n), v);
}

int http_head_parse(const char *buf, size_t len, struct http_head *h, struct problem *err)
{
    size_t pos = 0, s, n;

    memset(h, 0, sizeof(*h));
    h->content_length = -1;
    h->raw = xmalloc(len + 1);
    memcpy(h->raw, buf, len);
    h->raw[len] = '\0';
    h->raw_len = len;
    if (next_line(h->raw, len, &pos, &s, &n) < 0)
        goto bad_bytes;
    if (parse_request_line(h, s, n, err) < 0)
        return -1;
    for (;;) {
        if (next_line(h->raw, len, &pos, &s, &n) < 0)
            goto bad_bytes;
        if (n == 0)
            break;
        if (parse_field(h, s, n, err) < 0)
            return -1;
    }
    return parse_framing(h, err);

bad_bytes:
    return problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                       "malformed request head (a CR without LF, or a NUL byte)");
}

void http_head_done(struct http_head *h)
{
    if (!h)
        return;
    free(h->raw);
    h->raw = NULL;
}

/*
 * Every line of the chunked coding ends in CR LF: a bare LF is refused (400)
 * rather than read leniently, since a proxy in front that frames it the
 * other way would see a different request boundary (smuggling).
 */
enum {
    CH_SIZE = 0, /* hex digits of a chunk size */
    CH_SIZE_WS,  /* blanks after the size: only ';' or CR may follow */
    CH_EXT,      /* an extension (";..."), read and dropped up to CR */
    CH_SIZE_LF,  /* CR seen after the size line */
    CH_DATA,     /* chunk data */
    CH_DATA_CR,  /* CR LF after the data */
    CH_DATA_LF,
    CH_TRAILER_START, /* start of a trailer line, or the final empty line */
    CH_TRAILER,       /* inside a trailer line */
    CH_TRAILER_LF,    /* CR seen inside / at the end of a trailer line */
    CH_FINAL_LF,      /* CR of the final empty line seen */
    CH_DONE,
};

int http_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int http_chunked_decode(struct http_chunked *c, char *buf, size_t n, size_t *ret_used,
                        size_t *ret_out, struct problem *err)
{
    size_t i = 0, out = 0;

    while (i < n && c->state != CH_DONE) {
        char ch = buf[i];
        int d;

        switch (c->state) {
        case CH_SIZE:
            d = http_hex_digit(ch);
            if (d >= 0) {
                if (c->digits >= 15)
                    goto bad_size;
                c->remain = c->remain << 4 | (uint64_t)d;
                c->digits++;
                i++;
                break;
            }
            if (c->digits == 0)
                goto bad_size;
            c->state = CH_SIZE_WS;
            break;
        case CH_SIZE_WS: /* RFC 9112 7.1.1: blanks (BWS) may only precede an extension */
            i++;
            if (++c->line > LIM_CHUNK_LINE_BYTES)
                goto long_line;
            if (ch == ';')
                c->state = CH_EXT;
            else if (ch == '\r' && c->line == 1)
                c->state = CH_SIZE_LF;
            else if (ch != ' ' && ch != '\t')
                goto bad_size; /* "5 6", "5x", "5 \r\n", a bare LF */
            break;
        case CH_EXT:
            i++;
            if (++c->line > LIM_CHUNK_LINE_BYTES)
                goto long_line;
            if (ch == '\r')
                c->state = CH_SIZE_LF;
            else if (ch != '\t' && ((unsigned char)ch < 0x20 || ch == 0x7f))
                goto bad_size; /* a control byte, a bare LF included */
            break;
        case CH_SIZE_LF:
            if (ch != '\n')
                goto bad_size;
            i++;
            c->line = 0;
            c->digits = 0;
            c->state = c->remain ? CH_DATA : CH_TRAILER_START;
            break;
        case CH_DATA: {
            size_t take = n - i;
            if (take > c->remain)
                take = (size_t)c->remain;
            if (out != i)
                memmove(buf + out, buf + i, take);
            out += take;
            i += take;
            c->remain -= take;
            c->total += take;
            if (!c->remain)
                c->state = CH_DATA_CR;
            break;
        }
        case CH_DATA_CR:
            if (ch != '\r')
                goto bad_data;
            i++;
            c->state = CH_DATA_LF;
            break;
        case CH_DATA_LF:
            if (ch != '\n')
                goto bad_data;
            i++;
            c->state = CH_SIZE;
            break;
        case CH_TRAILER_START:
            i++;
            if (ch == '\r')
                c->state = CH_FINAL_LF;
            else if (ch == '\n')
                goto bare_lf;
            else {
                c->line = 1;
                c->state = CH_TRAILER;
            }
            if (++c->trailer > LIM_CHUNK_TRAILER_BYTES)
                goto big_trailer;
            break;
        case CH_TRAILER:
            i++;
            if (++c->trailer > LIM_CHUNK_TRAILER_BYTES)
                goto big_trailer;
            if (ch == '\r')
                c->state = CH_TRAILER_LF;
            else if (ch == '\n')
                goto bare_lf;
            break;
        case CH_TRAILER_LF:
        case CH_FINAL_LF:
            if (ch != '\n')
                return problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                                   "malformed chunked body: a CR without LF in the trailers");
            i++;
            c->state = c->state == CH_FINAL_LF ? CH_DONE : CH_TRAILER_START;
            break;
        }
    }
    *ret_used = i;
    *ret_out = out;
    return c->state == CH_DONE ? 1 : 0;

long_line:
    return problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                       "a chunk-size line is longer than %d bytes", LIM_CHUNK_LINE_BYTES);
bad_size:
    return problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                       "malformed chunked body: bad chunk-size line (1 to 15 hex digits, an "
                       "optional \";extension\", then CR LF)");
bad_data:
    return problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                       "malformed chunked body: chunk data is not followed by CR LF");
bare_lf:
    return problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                       "malformed chunked body: a trailer line ends in LF without CR");
big_trailer:
    return problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                       "chunked body trailers are larger than %d bytes", LIM_CHUNK_TRAILER_BYTES);
}

enum {
    FR_HEAD = 0, /* looking for a request head */
    FR_BODY,     /* framing a body */
    FR_WAIT,     /* request complete, its response not finished */
    FR_DEAD,     /* after an error: nothing more is read */
};

void http_framer_init(struct http_framer *f)
{
    memset(f, 0, sizeof(*f));
}

void http_framer_next(struct http_framer *f)
{
    if (f->phase == FR_WAIT)
        f->phase = FR_HEAD;
}

bool http_framer_in_body(const struct http_framer *f)
{
    return f->phase == FR_BODY;
}

static void frame_head(struct http_framer *f, char *buf, size_t n, struct http_frame *fr,
                       struct problem *err)
{
    size_t skip = 0;
    long len;

    for (;;) {
        len = http_head_scan(buf + fr->used, n - fr->used, &f->scan_pos, &skip, err);
        if (!skip)
            break;
        fr->used += skip;
    }
    if (len < 0) {
        f->phase = FR_DEAD;
        fr->kind = HTTP_FRAME_ERROR;
        return;
    }
    if (len == 0)
        return; /* HTTP_FRAME_MORE */
    f->scan_pos = 0;
    if (http_head_parse(buf + fr->used, (size_t)len, &fr->head, err) < 0) {
        fr->used += (size_t)len;
        f->phase = FR_DEAD;
        fr->kind = HTTP_FRAME_ERROR;
        fr->head_parsed = true;
        return;
    }
    fr->used += (size_t)len;
    fr->kind = HTTP_FRAME_HEAD;
    f->chunked = fr->head.chunked;
    f->remain = fr->head.content_length > 0 ? fr->head.content_length : 0;
    memset(&f->ch, 0, sizeof(f->ch));
    fr->end = !f->chunked && !f->remain;
    f->phase = fr->end ? FR_WAIT : FR_BODY;
}

static void frame_body(struct http_framer *f, char *buf, size_t n, struct http_frame *fr,
                       struct problem *err)
{
    size_t used, out;
    int r;

    if (n == 0)
        return; /* HTTP_FRAME_MORE */
    if (f->chunked) {
        r = http_chunked_decode(&f->ch, buf, n, &used, &out, err);
        if (r < 0) {
            f->phase = FR_DEAD;
            fr->kind = HTTP_FRAME_ERROR;
            return;
        }
        fr->end = r == 1;
    } else {
        used = out = n < (uint64_t)f->remain ? n : (size_t)f->remain;
        f->remain -= (int64_t)used;
        fr->end = f->remain == 0;
    }
    fr->kind = HTTP_FRAME_BODY;
    fr->used = used;
    fr->data = buf;
    fr->len = out;
    if (fr->end)
        f->phase = FR_WAIT;
}

void http_framer_step(struct http_framer *f, char *buf, size_t n, struct http_frame *frame,
                      struct problem *err)
{
    memset(frame, 0, sizeof(*frame));
    frame->kind = HTTP_FRAME_MORE;
    switch (f->phase) {
    case FR_HEAD:
        frame_head(f, buf, n, frame, err);
        break;
    case FR_BODY:
        frame_body(f, buf, n, frame, err);
        break;
    default:
        frame->kind = HTTP_FRAME_IDLE;
        break;
    }
}
