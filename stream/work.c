/*
 * work: a thin wrapper over uv_queue_work that owns the uv_work_t, so
 * callers pass plain functions and one argument, plus the bulk lane: long
 * jobs wait in a FIFO on the loop thread while LIM_WORK_BULK_RESERVE pool
 * threads would otherwise be left for short ones.
 */
#include "work.h"

#include "http.h"
#include "limits.h"
#include "xmalloc.h"

#include <stdbool.h>
#include <stdlib.h>
#include <uv.h>

struct work {
    uv_work_t w;  /* first member: the libuv request */
    work_fn fn;   /* runs on the pool */
    work_fn done; /* runs on the loop */
    void *arg;
    bool bulk;         /* counted in bulk_running while it runs */
    struct work *next; /* bulk FIFO link while it waits */
};

static unsigned pending;
static unsigned bulk_running, bulk_max;
static struct work *bulk_head, *bulk_tail;

static void queue(struct work *k);

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
    if (k->bulk) {
        bulk_running--;
        if (bulk_head) {
            struct work *next = bulk_head;
            bulk_head = next->next;
            if (!bulk_head)
                bulk_tail = NULL;
            bulk_running++;
            queue(next);
        }
    }
    k->done(k->arg);
    free(k);
}

static void queue(struct work *k)
{
    if (uv_queue_work(http_loop(), &k->w, work_run, work_after) != 0) {
        /* Only fails for invalid arguments: run inline rather than lose the request. */
        k->fn(k->arg);
        work_after(&k->w, 0);
    }
}

static struct work *work_new(work_fn fn, work_fn done, void *arg)
{
    struct work *k = xcalloc(1, sizeof(*k));

    k->fn = fn;
    k->done = done;
    k->arg = arg;
    pending++;
    return k;
}

void work_submit(work_fn fn, work_fn done, void *arg)
{
    queue(work_new(fn, done, arg));
}

/* libuv's pool size (UV_THREADPOOL_SIZE, 4 by default, as libuv reads it) less the reserve. */
static unsigned bulk_limit(void)
{
    const char *e = getenv("UV_THREADPOOL_SIZE");
    long n = e && *e ? strtol(e, NULL, 10) : 4;

    if (n < 1)
        n = 1;
    if (n > 1024)
        n = 1024;
    return n > LIM_WORK_BULK_RESERVE ? (unsigned)n - LIM_WORK_BULK_RESERVE : 1;
}

void work_submit_bulk(work_fn fn, work_fn done, void *arg)
{
    struct work *k = work_new(fn, done, arg);

    if (!bulk_max)
        bulk_max = bulk_limit();
    k->bulk = true;
    if (bulk_running < bulk_max) {
        bulk_running++;
        queue(k);
        return;
    }
    if (bulk_tail)
        bulk_tail->next = k;
    else
        bulk_head = k;
    bulk_tail = k;
}

unsigned work_pending(void)
{
    return pending;
}
