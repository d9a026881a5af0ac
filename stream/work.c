/*
 * work: a thin wrapper over uv_queue_work that owns the uv_work_t, so
 * callers pass plain functions and one argument.
 */
#include "work.h"

#include "http.h"
#include "xmalloc.h"

#include <stdlib.h>
#include <uv.h>

struct work {
    uv_work_t w;  /* first member: the libuv request */
    work_fn fn;   /* runs on the pool */
    work_fn done; /* runs on the loop */
    void *arg;
};

static unsigned pending;

static void work_run(uv_work_t *w)
{
    struct work *k = (struct work *)w;
    k->fn(k->arg);
}

static void work_after(uv_work_t *w, int status)
{
    struct work *k = (struct work *)w;

    (void)status; /* UV_ECANCELED only if we cancelled, which we never do */
    pending--;
    k->done(k->arg);
    free(k);
}

void work_submit(work_fn fn, work_fn done, void *arg)
{
    struct work *k = xmalloc(sizeof(*k));

    k->fn = fn;
    k->done = done;
    k->arg = arg;
    pending++;
    if (uv_queue_work(http_loop(), &k->w, work_run, work_after) != 0) {
        /* Only fails for invalid arguments: run inline rather than lose the request. */
        pending--;
        fn(arg);
        done(arg);
        free(k);
    }
}

unsigned work_pending(void)
{
    return pending;
}
