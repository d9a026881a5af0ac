/*
 * http_fd: streams a file descriptor as a response body.  The worker reads
 * the next chunk while the loop writes the current one; the request holds
 * the state as its context.
 */
#include "http_fd.h"

#include "limits.h"
#include "work.h"
#include "xmalloc.h"

#include <errno.h>
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
