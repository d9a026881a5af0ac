/*
 * desktop_damage: the screen's frame counter (XDamage) and the screenshot
 * requests waiting for a change (?waitForChangeMs=N&since=<ETag>).
 *
 * X thread: at connect, a Damage object watches the root window at the
 * bounding-box level (the server reports when the damaged area grows).  The
 * X thread handles its events between jobs (desktop_x11.c polls the
 * connection): each batch of events is one new frame.  The batch's bounding
 * box goes into a small ring, the damage is subtracted (so the next drawing
 * reports again) and the loop is woken through a uv_async_t.  A new
 * connection is a new frame covering the whole screen.
 *
 * Loop thread: a waiting request is parked here, outside the X thread's
 * queue, with a timer.  When a frame is published, every waiter whose
 * screen (or region: the ring says whether a damaged box touches it)
 * changed after its `since` frame is released; the caller then queues an
 * ordinary capture.  Hundreds of waiters cost a list walk per frame, not X
 * work.
 *
 * Ordering, so that a change is never missed: a capture first handles the
 * events Xlib already holds (their XDamageSubtract goes out before the
 * capture request) and takes the frame number then.  Whatever is drawn
 * after that subtract reports a new event, hence a later frame.  Drawing
 * that lands between the subtract and the capture is in the picture and also
 * makes a later frame: a waiter may then get a picture equal to the one it
 * has, never miss one.
 */
#include "desktop_internal.h"

#include "../stream/log.h"
#include "../stream/xmalloc.h"

#include <X11/extensions/Xdamage.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* Frames whose damaged box is remembered (for region waiters); older ones count as changed. */
#define DESK_DAMAGE_RING 128

/* The damaged bounding box of one frame. */
struct frame_rec {
    uint64_t frame;     /* which frame (the slot is stale when it differs) */
    int x0, y0, x1, y1; /* screen pixels, x1/y1 exclusive */
};

/* Published by the X thread, read by the loop (under lock). */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t cur_frame;                      /* the current frame */
static bool no_damage;                          /* connected without XDamage */
static struct frame_rec ring[DESK_DAMAGE_RING]; /* indexed by frame % DESK_DAMAGE_RING */

/* A request parked until the screen changes (loop thread). */
struct waiter {
    struct http_req *req; /* the caller's (referenced by the caller) */
    bool region;          /* only a change inside (x, y, w, h) counts */
    int x0, y0, x1, y1;   /* the region, x1/y1 exclusive */
    uint64_t since;       /* the frame the client has */
    uint64_t checked;     /* frames up to this one did not touch the region */
    desk_wait_fn fn;
    void *arg;
    uv_timer_t timer;
    struct waiter *prev, *next;
};

static struct {
    uv_loop_t *loop;
    uv_async_t async; /* a frame was published */
    bool async_open;
    uint32_t instance; /* random per daemon: an ETag from another run never matches */
    struct waiter *waiters;
    unsigned n_waiters; /* parked */
} dmg;

/* ---- X thread ---------------------------------------------------------------------------- */

/* Publishes a new frame whose damage is the given box, and wakes the loop. */
static void publish(int x0, int y0, int x1, int y1, bool have_damage)
{
    struct frame_rec *r;

    pthread_mutex_lock(&lock);
    cur_frame++;
    no_damage = !have_damage;
    r = &ring[cur_frame % DESK_DAMAGE_RING];
    r->frame = cur_frame;
    r->x0 = x0;
    r->y0 = y0;
    r->x1 = x1;
    r->y1 = y1;
    pthread_mutex_unlock(&lock);
    uv_async_send(&dmg.async);
}

void desk__damage_attach(struct desk_x *x)
{
    int ev = 0, er = 0, maj = 1, min = 1;

    x->damage = 0;
    x->damage_pending = false;
    x->have_damage =
        XDamageQueryExtension(x->dpy, &ev, &er) && XDamageQueryVersion(x->dpy, &maj, &min);
    if (x->have_damage) {
        x->damage_event = ev;
        x->damage = XDamageCreate(x->dpy, x->root, XDamageReportBoundingBox);
    } else {
        log_warn(DESK_TAG, "no XDamage on this X server: waitForChangeMs returns at once");
    }
    /* Another server (or the first): everything may have changed. */
    publish(0, 0, INT_MAX, INT_MAX, x->have_damage);
}

void desk__damage_detach(struct desk_x *x)
{
    if (x->damage && !x->dead)
        XDamageDestroy(x->dpy, x->damage);
    x->damage = 0;
    x->have_damage = false;
    x->damage_pending = false;
}

bool desk__damage_event(struct desk_x *x, const XEvent *ev)
{
    const XDamageNotifyEvent *d = (const XDamageNotifyEvent *)ev;

    if (!x->have_damage || ev->type != x->damage_event + XDamageNotify)
        return false;
    if (!x->damage_pending) {
        x->damage_pending = true;
        x->dmg_x0 = x->dmg_y0 = INT_MAX;
        x->dmg_x1 = x->dmg_y1 = INT_MIN;
    }
    /* An empty area changes no pixel (Xvfb reports some, e.g. when a window maps). */
    if (d->area.width == 0 || d->area.height == 0)
        return true;
    if (d->area.x < x->dmg_x0)
        x->dmg_x0 = d->area.x;
    if (d->area.y < x->dmg_y0)
        x->dmg_y0 = d->area.y;
    if (d->area.x + d->area.width > x->dmg_x1)
        x->dmg_x1 = d->area.x + d->area.width;
    if (d->area.y + d->area.height > x->dmg_y1)
        x->dmg_y1 = d->area.y + d->area.height;
    return true;
}

void desk__damage_flush(struct desk_x *x)
{
    if (!x->damage_pending || !x->dpy || x->dead)
        return;
    x->damage_pending = false;
    /* Empty the server's damage so that the next drawing reports again, and send it now:
     * the thread may sleep in poll() next. */
    XDamageSubtract(x->dpy, x->damage, None, None);
    XFlush(x->dpy);
    if (x->dmg_x1 > x->dmg_x0 && x->dmg_y1 > x->dmg_y0)
        publish(x->dmg_x0, x->dmg_y0, x->dmg_x1, x->dmg_y1, true);
}

void desk__damage_drain(struct desk_x *x)
{
    if (!x->dpy || x->dead)
        return;
    while (XEventsQueued(x->dpy, QueuedAlready) > 0) {
        XEvent ev;
        XNextEvent(x->dpy, &ev);
        desk__damage_event(x, &ev);
    }
    desk__damage_flush(x);
}

uint64_t desk__damage_frame(struct desk_x *x)
{
    uint64_t f;

    if (x->dpy && !x->dead) {
        desk__damage_drain(x);
        /* Without XDamage nothing tells us about changes: every capture is a new frame. */
        if (!x->have_damage)
            publish(0, 0, INT_MAX, INT_MAX, false);
    }
    pthread_mutex_lock(&lock);
    f = cur_frame;
    pthread_mutex_unlock(&lock);
    return f;
}

/* ---- loop thread: waiters ---------------------------------------------------------------- */

uint32_t desk__frame_instance(void)
{
    return dmg.instance;
}

uint64_t desk__frame_now(void)
{
    uint64_t f;

    pthread_mutex_lock(&lock);
    f = cur_frame;
    pthread_mutex_unlock(&lock);
    return f;
}

/* True when w's screen (region) changed after w->since.  Called under lock. */
static bool changed_locked(struct waiter *w)
{
    if (no_damage)
        return true; /* nothing reports changes: never claim "unchanged" */
    if (cur_frame == w->since)
        return false;
    if (cur_frame < w->since || !w->region)
        return true; /* a frame from the future is not ours */
    if (cur_frame - w->checked >= DESK_DAMAGE_RING)
        return true; /* the boxes in between are forgotten */
    for (uint64_t f = w->checked + 1; f <= cur_frame; f++) {
        const struct frame_rec *r = &ring[f % DESK_DAMAGE_RING];
        if (r->frame != f)
            return true;
        if (r->x0 < w->x1 && w->x0 < r->x1 && r->y0 < w->y1 && w->y0 < r->y1)
            return true;
        w->checked = f;
    }
    return false;
}

static void on_timer_closed(uv_handle_t *h)
{
    free(h->data);
}

static void unlink_waiter(struct waiter *w)
{
    dmg.n_waiters--;
    if (w->prev)
        w->prev->next = w->next;
    else
        dmg.waiters = w->next;
    if (w->next)
        w->next->prev = w->prev;
    w->prev = w->next = NULL;
}

/* Calls an unlinked waiter's function; w is freed. */
static void release(struct waiter *w, enum desk_wait_end end)
{
    desk_wait_fn fn = w->fn;
    void *arg = w->arg;

    http_set_ctx(w->req, NULL, NULL);
    uv_timer_stop(&w->timer);
    uv_close((uv_handle_t *)&w->timer, on_timer_closed);
    fn(arg, end);
}

static void on_timeout(uv_timer_t *t)
{
    struct waiter *w = t->data;

    unlink_waiter(w);
    release(w, DESK_WAIT_TIMEOUT);
}

static void on_aborted(struct http_req *req, void *ctx)
{
    struct waiter *w = ctx;

    (void)req;
    unlink_waiter(w);
    release(w, DESK_WAIT_GONE);
}

static const struct http_ctx_ops waiter_ctx_ops = {.aborted = on_aborted};

/* A frame was published: release the waiters whose screen changed. */
static void on_frame(uv_async_t *a)
{
    struct waiter *w, *next, *done = NULL;

    (void)a;
    pthread_mutex_lock(&lock);
    for (w = dmg.waiters; w; w = next) {
        next = w->next;
        if (changed_locked(w)) {
            unlink_waiter(w);
            w->next = done;
            done = w;
        }
    }
    pthread_mutex_unlock(&lock);
    /* Outside the lock: the callbacks queue captures. */
    for (w = done; w; w = next) {
        next = w->next;
        w->next = NULL;
        release(w, DESK_WAIT_CHANGED);
    }
}

void desk__change_wait(struct http_req *req, const struct desk_shot_req *q, uint64_t since,
                       unsigned wait_ms, desk_wait_fn fn, void *arg)
{
    struct waiter *w = xcalloc(1, sizeof(*w));
    bool changed;

    w->req = req;
    w->since = w->checked = since;
    w->fn = fn;
    w->arg = arg;
    if (q->region) {
        w->region = true;
        w->x0 = q->x;
        w->y0 = q->y;
        w->x1 = q->width > INT_MAX - q->x ? INT_MAX : q->x + q->width;
        w->y1 = q->height > INT_MAX - q->y ? INT_MAX : q->y + q->height;
    }
    pthread_mutex_lock(&lock);
    changed = changed_locked(w);
    pthread_mutex_unlock(&lock);
    if (changed || wait_ms == 0) {
        free(w);
        fn(arg, changed ? DESK_WAIT_CHANGED : DESK_WAIT_TIMEOUT);
        return;
    }
    uv_timer_init(dmg.loop, &w->timer);
    w->timer.data = w;
    uv_timer_start(&w->timer, on_timeout, wait_ms, 0);
    w->next = dmg.waiters;
    if (w->next)
        w->next->prev = w;
    dmg.waiters = w;
    dmg.n_waiters++;
    http_set_ctx(req, w, &waiter_ctx_ops);
    log_debug(DESK_TAG,
              "screenshot parked until a change after frame %" PRIu64 " (%u ms, %u parked)", since,
              wait_ms, dmg.n_waiters);
}

void desk__change_stop_all(void)
{
    while (dmg.waiters) {
        struct waiter *w = dmg.waiters;
        unlink_waiter(w);
        release(w, DESK_WAIT_STOPPED);
    }
}

/* ---- ETags ------------------------------------------------------------------------------- */

/* FNV-1a over the parameters that shape the picture. */
static uint32_t params_hash(const struct desk_shot_req *q)
{
    int64_t v[9] = {q->region, q->x,       q->y,           q->width, q->height,
                    q->format, q->quality, q->show_cursor, 0};
    uint32_t h = 2166136261u;
    const unsigned char *p = (const unsigned char *)v;

    memcpy(&v[8], &q->scale, sizeof(double));
    for (size_t i = 0; i < sizeof(v); i++) {
        h ^= p[i];
        h *= 16777619u;
    }
    return h;
}

void desk__etag_format(char *dst, size_t cap, uint64_t frame, const struct desk_shot_req *q)
{
    snprintf(dst, cap, "\"%" PRIx64 "-%08" PRIx32 "-%08" PRIx32 "\"", frame, dmg.instance,
             params_hash(q));
}

/* ---- life cycle -------------------------------------------------------------------------- */

int desk__damage_init(uv_loop_t *loop)
{
    int e;

    dmg.loop = loop;
    if (getrandom(&dmg.instance, sizeof(dmg.instance), GRND_NONBLOCK) != sizeof(dmg.instance))
        dmg.instance = (uint32_t)time(NULL) ^ (uint32_t)getpid();
    e = uv_async_init(loop, &dmg.async, on_frame);
    if (e < 0)
        return e;
    uv_unref((uv_handle_t *)&dmg.async);
    dmg.async_open = true;
    return 0;
}

void desk__damage_done(void)
{
    desk__change_stop_all();
    if (dmg.async_open && !uv_is_closing((uv_handle_t *)&dmg.async))
        uv_close((uv_handle_t *)&dmg.async, NULL);
    dmg.async_open = false;
}
