#include "sock_write.h"

#include "xmalloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct sock_wreq {
    uv_write_t w;
    sock_written_cb done;
    void *owner;
    char data[];
};

static void on_written(uv_write_t *w, int status)
{
    struct sock_wreq *wr = (struct sock_wreq *)w;
    sock_written_cb done = wr->done;
    void *owner = wr->owner;

    free(wr);
    done(owner, status);
}

enum sock_write_result sock_write(uv_stream_t *s, const void *p, size_t n, bool try_first,
                                  sock_written_cb done, void *owner)
{
    uv_buf_t b = uv_buf_init((char *)(uintptr_t)p, (unsigned)n); /* uv_try_write only reads */
    struct sock_wreq *wr;
    int r = 0;

    if (try_first) {
        r = uv_try_write(s, &b, 1);
        if (r == (int)n)
            return SOCK_WRITE_DONE;
        if (r < 0 && r != UV_EAGAIN)
            return SOCK_WRITE_ERROR;
        if (r < 0)
            r = 0;
    }
    wr = xmalloc(sizeof(*wr) + n - (size_t)r);
    wr->done = done;
    wr->owner = owner;
    memcpy(wr->data, (const char *)p + r, n - (size_t)r);
    b = uv_buf_init(wr->data, (unsigned)(n - (size_t)r));
    if (uv_write(&wr->w, s, &b, 1, on_written) < 0) {
        free(wr);
        return SOCK_WRITE_ERROR;
    }
    return SOCK_WRITE_QUEUED;
}
