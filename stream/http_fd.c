/*
 * http_fd: streams a file descriptor as a response body.  The worker reads
 * the next chunk while the loop writes the current one; the request holds
 * the state as its context.
 */
#include "http_fd.h"

#include "limits.h"
#include "problem.h"
#include "work.h"
#include "xmalloc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct fd_body {
    struct http_req *req;
    int fd;
    uint64_t next; /* offset of the next chunk to read */
    uint64_t end;  /* one past the last byte to send (UINT64_MAX: until EOF) */
    char *chunk;   /* read ahead by the worker */
    size_t chunk_len, chunk_off;
    bool reading; /* a read job is in flight */
    bool eof;     /* the worker hit end of file */
    int read_err; /* errno of a failed read, EIO for a file shorter than announced */
};

static void fd_body_free(struct http_req *req, void *ctx)
{
    struct fd_body *b = ctx;

    (void)req;
    close(b->fd);
    free(b->chunk);
    free(b);
}

static const struct http_ctx_ops fd_body_ops = {fd_body_free, NULL};

static void read_run(void *arg)
{
    struct fd_body *b = arg;
    size_t want = LIM_DOWNLOAD_CHUNK_BYTES;
    ssize_t n;

    if (b->end != UINT64_MAX && b->end - b->next < want)
        want = (size_t)(b->end - b->next);
    do {
        n = pread(b->fd, b->chunk, want, (off_t)b->next);
    } while (n < 0 && errno == EINTR);
    b->chunk_off = 0;
    if (n < 0) {
        b->read_err = errno;
        b->chunk_len = 0;
        return;
    }
    b->chunk_len = (size_t)n;
    b->next += (uint64_t)n;
    if (n == 0) {
        b->eof = true;
        if (b->end != UINT64_MAX)
            b->read_err = EIO; /* shorter than the Content-Length we announced */
    }
}

static void read_done(void *arg)
{
    struct fd_body *b = arg;
    struct http_req *req = b->req;

    b->reading = false;
    if (http_req_alive(req))
        http_resume(req);
    http_req_unref(req);
}

static void read_start(struct fd_body *b)
{
    b->reading = true;
    http_req_ref(b->req);
    work_submit(read_run, read_done, b);
}

static ssize_t fd_body_read(struct http_req *req, void *dst, size_t cap)
{
    struct fd_body *b = http_ctx(req);
    size_t n;

    if (b->reading)
        return HTTP_SOURCE_WAIT;
    if (b->read_err)
        return -b->read_err;
    if (b->chunk_off == b->chunk_len) {
        if (b->eof || b->next >= b->end)
            return 0;
        read_start(b);
        return HTTP_SOURCE_WAIT;
    }
    n = b->chunk_len - b->chunk_off;
    if (n > cap)
        n = cap;
    memcpy(dst, b->chunk + b->chunk_off, n);
    b->chunk_off += n;
    /* Read the next chunk while this one goes out. */
    if (b->chunk_off == b->chunk_len && !b->eof && b->next < b->end)
        read_start(b);
    return (ssize_t)n;
}

static const struct http_source_ops fd_body_source = {fd_body_read};

void http_reply_fd(struct http_req *req, int status, const char *content_type, int fd,
                   uint64_t start, uint64_t end)
{
    struct fd_body *b = xcalloc(1, sizeof(*b));

    b->req = req;
    b->fd = fd;
    b->next = start;
    b->end = end;
    b->chunk = xmalloc(LIM_DOWNLOAD_CHUNK_BYTES);
    http_set_ctx(req, b, &fd_body_ops);
    http_reply_stream(req, status, content_type, end == UINT64_MAX ? -1 : (int64_t)(end - start),
                      &fd_body_source);
}

/* ---- byte ranges ----------------------------------------------------------------------------- */

enum http_range http_range_parse(const char *h, uint64_t size, uint64_t *ret_start,
                                 uint64_t *ret_len)
{
    uint64_t a = 0, b = 0;
    bool has_a = false, has_b = false;
    const char *p;

    if (!h)
        return HTTP_RANGE_NONE;
    while (*h == ' ')
        h++;
    if (strncmp(h, "bytes=", 6) != 0)
        return HTTP_RANGE_NONE; /* unknown unit: ignore, send everything */
    p = h + 6;
    while (*p == ' ')
        p++;
    while (*p >= '0' && *p <= '9') {
        if (a > (UINT64_MAX - 9) / 10)
            return HTTP_RANGE_NONE;
        a = a * 10 + (uint64_t)(*p++ - '0');
        has_a = true;
    }
    if (*p++ != '-')
        return HTTP_RANGE_NONE;
    while (*p >= '0' && *p <= '9') {
        if (b > (UINT64_MAX - 9) / 10)
            return HTTP_RANGE_NONE;
        b = b * 10 + (uint64_t)(*p++ - '0');
        has_b = true;
    }
    while (*p == ' ')
        p++;
    if (*p != '\0')
        return HTTP_RANGE_NONE; /* several ranges or junk: serve the whole file */
    if (!has_a && !has_b)
        return HTTP_RANGE_NONE;
    if (!has_a) {
        /* suffix range: the last b bytes */
        if (b == 0 || size == 0)
            return HTTP_RANGE_UNSATISFIABLE;
        *ret_start = b >= size ? 0 : size - b;
        *ret_len = size - *ret_start;
        return HTTP_RANGE_OK;
    }
    if (has_b && b < a)
        return HTTP_RANGE_NONE;
    if (a >= size)
        return HTTP_RANGE_UNSATISFIABLE;
    if (!has_b || b >= size)
        b = size - 1;
    *ret_start = a;
    *ret_len = b - a + 1;
    return HTTP_RANGE_OK;
}

void http_reply_fd_range(struct http_req *req, const char *content_type, int fd, uint64_t size,
                         const char *range)
{
    uint64_t start = 0, len = 0;
    char cr[128];
    struct problem p;

    http_add_header(req, "accept-ranges", "bytes");
    switch (http_range_parse(range, size, &start, &len)) {
    case HTTP_RANGE_UNSATISFIABLE:
        close(fd);
        snprintf(cr, sizeof(cr), "bytes */%" PRIu64, size);
        http_add_header(req, "content-range", cr);
        problem_set(&p, 416, PROBLEM_INVALID_REQUEST,
                    "range `%s` is outside the file (%" PRIu64 " bytes)", range, size);
        http_reply_problem(req, &p);
        return;
    case HTTP_RANGE_OK:
        snprintf(cr, sizeof(cr), "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, start, start + len - 1,
                 size);
        http_add_header(req, "content-range", cr);
        http_reply_fd(req, 206, content_type, fd, start, start + len);
        return;
    case HTTP_RANGE_NONE:
        break;
    }
    http_reply_fd(req, 200, content_type, fd, 0, size);
}
