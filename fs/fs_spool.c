/*
 * fs_spool: streams a request body to a temporary file without ever holding
 * more than two staging buffers in memory.
 *
 * The loop thread appends body chunks to the `fill` buffer.  When it holds
 * LIM_UPLOAD_CHUNK_BYTES the buffers are swapped and the worker pool writes
 * the full one while the loop keeps filling the other; if the worker is
 * still busy when `fill` is full again, socket reads are paused
 * (lws_rx_flow_control) until it finishes.  So memory stays bounded and the
 * client is slowed to disk speed instead of being buffered.
 *
 * The owner supplies open/commit (run on the worker) and reply/release
 * (run on the loop).  Jobs for one spool never overlap: `busy` serialises
 * open, each write and the commit.  The spool is the request's context; a
 * job in flight holds a request reference so neither goes away under it.
 */
#include "fs_internal.h"

#include "../stream/limits.h"
#include "../stream/log.h"
#include "../stream/work.h"
#include "../stream/xmalloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum spool_job {
    SPOOL_OPEN,
    SPOOL_WRITE,
    SPOOL_COMMIT,
};

struct fs_spool {
    struct http_req *req; /* the upload; the spool is its context */
    const struct fs_spool_ops *ops;
    void *arg;  /* the owner's state, released with the spool */
    int fd;     /* temporary file, -1 before open / after close */
    char *fill; /* loop-side staging buffer */
    size_t fill_len, fill_cap;
    char *out; /* worker-side buffer being written */
    size_t out_len, out_cap;
    uint64_t size;                /* bytes received into the spool */
    bool busy;                    /* a worker job is in flight */
    bool opened;                  /* the temporary file exists */
    bool body_done;               /* the whole body has arrived */
    bool stopped;                 /* failed, finished or aborted: no more jobs */
    bool paused;                  /* socket reads paused by us */
    enum spool_job job;           /* the job in flight */
    int job_r;                    /* its result: 0 or -1 (err) */
    struct problem err;           /* its problem */
    struct fs_spool *prev, *next; /* all live spools */
};

static struct fs_spool *spools;

static void spool_close(struct fs_spool *s)
{
    if (s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
}

static void spool_free(struct http_req *req, void *ctx)
{
    struct fs_spool *s = ctx;

    (void)req;
    spool_close(s);
    if (s->prev)
        s->prev->next = s->next;
    else if (spools == s)
        spools = s->next;
    if (s->next)
        s->next->prev = s->prev;
    if (s->ops->release)
        s->ops->release(s->arg);
    free(s->fill);
    free(s->out);
    free(s);
}

static void spool_aborted(struct http_req *req, void *ctx)
{
    struct fs_spool *s = ctx;

    (void)req;
    s->stopped = true;
    /* A job in flight still uses fd; it is closed when that job is done. */
    if (!s->busy)
        spool_close(s);
}

static const struct http_ctx_ops spool_ctx_ops = {spool_free, spool_aborted};

static void spool_run(void *arg)
{
    struct fs_spool *s = arg;
    size_t off = 0;

    s->job_r = 0;
    switch (s->job) {
    case SPOOL_OPEN:
        s->fd = s->ops->open(s, s->arg, &s->err);
        if (s->fd < 0) {
            s->fd = -1;
            s->job_r = -1;
        }
        break;
    case SPOOL_WRITE:
        while (off < s->out_len) {
            ssize_t n = write(s->fd, s->out + off, s->out_len - off);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                int e = errno;
                s->job_r = e == ENOSPC || e == EDQUOT
                               ? problem_set(&s->err, 507, PROBLEM_STREAM_ERROR,
                                             "no space left on device while writing the upload")
                               : problem_set(&s->err, 502, PROBLEM_STREAM_ERROR,
                                             "writing the upload failed: %s", strerror(e));
                break;
            }
            off += (size_t)n;
        }
        s->out_len = 0;
        break;
    case SPOOL_COMMIT:
        s->job_r = s->ops->commit(s, s->arg, s->fd, s->size, &s->err);
        break;
    }
}

static void spool_kick(struct fs_spool *s);

static void spool_done(void *arg)
{
    struct fs_spool *s = arg;
    struct http_req *req = s->req;

    s->busy = false;
    if (s->stopped) {
        spool_close(s);
    } else if (s->job_r < 0) {
        s->stopped = true;
        spool_close(s);
        if (http_req_alive(req))
            http_reply_problem(req, &s->err);
    } else if (s->job == SPOOL_OPEN) {
        s->opened = true;
    } else if (s->job == SPOOL_COMMIT) {
        s->stopped = true;
        spool_close(s);
        if (http_req_alive(req))
            s->ops->reply(req, s->arg, s->size);
    }
    if (!s->stopped)
        spool_kick(s);
    http_req_unref(req); /* may free s */
}

static void spool_submit(struct fs_spool *s, enum spool_job job)
{
    s->busy = true;
    s->job = job;
    http_req_ref(s->req);
    /* A commit (fsync, a tar's validation and extraction) can hold its thread for long. */
    if (job == SPOOL_COMMIT)
        work_submit_bulk(spool_run, spool_done, s);
    else
        work_submit(spool_run, spool_done, s);
}

/* Starts the next job if one is due; resumes the socket when there is room. */
static void spool_kick(struct fs_spool *s)
{
    char *tmp;
    size_t cap;

    if (s->busy || s->stopped || !s->opened)
        return;
    if (s->fill_len >= LIM_UPLOAD_CHUNK_BYTES || (s->body_done && s->fill_len > 0)) {
        tmp = s->out;
        cap = s->out_cap;
        s->out = s->fill;
        s->out_cap = s->fill_cap;
        s->out_len = s->fill_len;
        s->fill = tmp;
        s->fill_cap = cap;
        s->fill_len = 0;
        spool_submit(s, SPOOL_WRITE);
    } else if (s->body_done) {
        spool_submit(s, SPOOL_COMMIT);
        return;
    }
    if (s->paused) {
        s->paused = false;
        http_body_resume(s->req);
    }
}

static int spool_data(struct http_req *req, const void *p, size_t n)
{
    struct fs_spool *s = http_ctx(req);

    if (s->stopped)
        return -1;
    if (LIM_UPLOAD_MAX_BYTES && s->size + n > LIM_UPLOAD_MAX_BYTES) {
        struct problem err;
        s->stopped = true;
        problem_set(&err, 413, PROBLEM_INVALID_REQUEST, "uploads are limited to %llu bytes",
                    (unsigned long long)LIM_UPLOAD_MAX_BYTES);
        http_reply_problem(req, &err);
        return -1;
    }
    if (s->fill_len + n > s->fill_cap) {
        /* The listener delivers at most one read buffer (LIM_RX_BUFFER_BYTES) at a time,
         * and pauses the socket while a buffer is full, so this stays bounded. */
        s->fill_cap = s->fill_len + n > LIM_UPLOAD_CHUNK_BYTES + LIM_RX_BUFFER_BYTES
                          ? s->fill_len + n
                          : LIM_UPLOAD_CHUNK_BYTES + LIM_RX_BUFFER_BYTES;
        s->fill = xrealloc(s->fill, s->fill_cap);
    }
    memcpy(s->fill + s->fill_len, p, n);
    s->fill_len += n;
    s->size += n;
    if (s->fill_len >= LIM_UPLOAD_CHUNK_BYTES) {
        if (s->busy || !s->opened) {
            s->paused = true;
            http_body_pause(req);
        } else {
            spool_kick(s);
        }
    }
    return 0;
}

static void spool_end(struct http_req *req)
{
    struct fs_spool *s = http_ctx(req);

    s->body_done = true;
    spool_kick(s);
}

static const struct http_body_ops spool_body_ops = {spool_data, spool_end};

void fs_spool_start(struct http_req *req, const struct fs_spool_ops *ops, void *arg)
{
    struct fs_spool *s = xcalloc(1, sizeof(*s));

    s->req = req;
    s->ops = ops;
    s->arg = arg;
    s->fd = -1;
    s->next = spools;
    if (spools)
        spools->prev = s;
    spools = s;
    http_set_ctx(req, s, &spool_ctx_ops);
    http_body_stream(req, &spool_body_ops);
    if (!http_has_body(req))
        s->body_done = true;
    spool_submit(s, SPOOL_OPEN);
}

void fs_upload_abort_all(void)
{
    for (struct fs_spool *s = spools; s; s = s->next) {
        if (s->stopped)
            continue;
        log_info("fs", "abandoning an unfinished upload (%llu bytes received)",
                 (unsigned long long)s->size);
        s->stopped = true;
        if (!s->busy)
            spool_close(s);
    }
}
