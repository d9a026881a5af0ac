/*
 * desktop_x11: the X thread and the daemon's one X connection.
 *
 * Xlib blocks on every round trip, and a Display * must never be used from
 * two threads at once, so one dedicated thread owns the connection and runs
 * desk_xjob's from a FIFO: actions happen in request order (a click, then
 * the screenshot that should show its effect) and the loop thread only
 * queues jobs and receives them back through a uv_async_t.  Between jobs
 * the thread sleeps in poll() on an eventfd (a job was queued) and the X
 * connection (events: XDamage, see desktop_damage.c), and, while a keysym
 * is still bound to a spare keycode, until an idle delay has passed to
 * restore the keyboard map.
 *
 * Xlib's default error handlers exit the process; ours record the error
 * (protocol errors) or mark the connection dead (I/O errors: the server
 * went away) and return, so a crashed Xvfb costs a restart, not the daemon.
 */
#include "desktop_internal.h"

#include "../stream/clock.h"
#include "../stream/log.h"
#include "../stream/xmalloc.h"

#include <X11/extensions/XTest.h>
#include <X11/extensions/Xfixes.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

/* Restore spare keycodes after this long without keyboard work. */
#define DESK_KEYS_IDLE_MS 2000

static pthread_t thread;
static bool thread_started;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int wake_fd = -1;                          /* eventfd: a job was queued, or quitting */
static struct desk_xjob *queue_head, *queue_tail; /* to run (locked) */
static struct desk_xjob *done_head, *done_tail;   /* ran, for the loop (locked) */
static bool quitting;                             /* locked */
static uv_async_t done_async;
static struct desk_x xstate; /* the X thread's */

/* The X thread's current connection, for the error handlers (same thread). */
static __thread struct desk_x *current_x;

static int on_x_error(Display *dpy, XErrorEvent *ev)
{
    (void)dpy;
    if (current_x)
        current_x->x_error = ev->error_code;
    return 0;
}

static int on_x_io_error(Display *dpy)
{
    (void)dpy;
    return 0; /* the exit handler below decides */
}

/* Set by the loop before it stops the X server on purpose: losing it then is no news. */
static atomic_bool loss_expected;

void desk__x_expect_loss(void)
{
    atomic_store(&loss_expected, true);
}

static void on_x_io_exit(Display *dpy, void *data)
{
    struct desk_x *x = data;

    (void)dpy;
    x->dead = true;
    if (atomic_load(&loss_expected))
        log_debug(DESK_TAG, "the X server went away (stopped)");
    else
        log_warn(DESK_TAG, "lost the connection to the X server");
}

void desk__x_disconnect(struct desk_x *x)
{
    if (!x->dpy)
        return;
    if (!x->dead)
        desk__keys_restore(x);
    desk__damage_detach(x);
    desk__capture_release(x);
    XCloseDisplay(x->dpy);
    x->dpy = NULL;
    x->dead = false;
    x->n_spares = 0;
    x->spares_dirty = false;
}

int desk__x_connect(struct desk_x *x, const char *display, uint64_t gen, char *errbuf, size_t cap)
{
    int ev, er, maj, min;

    desk__x_disconnect(x);
    atomic_store(&loss_expected, false);
    x->dpy = XOpenDisplay(display);
    if (!x->dpy) {
        snprintf(errbuf, cap, "cannot open X display %s", display);
        return -1;
    }
    XSetIOErrorExitHandler(x->dpy, on_x_io_exit, x);
    x->gen = gen;
    x->dead = false;
    x->x_error = 0;
    x->screen = DefaultScreen(x->dpy);
    x->root = RootWindow(x->dpy, x->screen);
    x->visual = DefaultVisual(x->dpy, x->screen);
    x->depth = DefaultDepth(x->dpy, x->screen);
    x->width = DisplayWidth(x->dpy, x->screen);
    x->height = DisplayHeight(x->dpy, x->screen);
    x->have_shm = XShmQueryExtension(x->dpy);
    x->have_xfixes = XFixesQueryExtension(x->dpy, &ev, &er);
    x->have_xtest = XTestQueryExtension(x->dpy, &ev, &er, &maj, &min);
    x->shm.shmid = -1;
    x->shm.shmaddr = NULL;
    if (x->have_xtest)
        XTestGrabControl(x->dpy, True); /* our input goes through even during a grab */
    desk__keys_scan(x);
    desk__damage_attach(x);
    if (!desk__x_sync(x)) {
        snprintf(errbuf, cap, "the X server on %s went away", display);
        desk__x_disconnect(x);
        return -1;
    }
    log_debug(DESK_TAG, "connected to %s (%dx%d, depth %d, shm %d, xtest %d, xfixes %d)", display,
              x->width, x->height, x->depth, x->have_shm, x->have_xtest, x->have_xfixes);
    return 0;
}

/*
 * Openbox sets its EWMH check window before it is done starting, and a MapRequest that arrives
 * in that window is lost: the window stays unmapped (measured here: every time for a window
 * mapped right after the check appeared, none after a second request 50 ms later). An app
 * mapping then waits for the manager in vain: Xt applications such as xterm wait 5 s (Xt's
 * wmTimeout) before they go on, so a `launch {wait: true}` right after `start` sometimes missed
 * its window. So a 1x1 probe window is mapped, again every 20 ms, until the manager has mapped
 * it (MapNotify); the probe is then destroyed.
 */
static bool wm_manages(struct desk_x *x, int timeout_ms)
{
    XSetWindowAttributes a = {.event_mask = StructureNotifyMask};
    struct timespec step = {0, 5 * 1000000L};
    bool managed = false;
    XEvent ev;
    Window w = XCreateWindow(x->dpy, x->root, 0, 0, 1, 1, 0, CopyFromParent, InputOutput,
                             CopyFromParent, CWEventMask, &a);

    XStoreName(x->dpy, w, "agentd window manager probe");
    for (int waited = 0; waited <= timeout_ms && !x->dead && !managed; waited += 5) {
        if (waited % 20 == 0) {
            XMapWindow(x->dpy, w); /* a new MapRequest while the window is still unmapped */
            XFlush(x->dpy);
        }
        nanosleep(&step, NULL);
        while (!managed && XCheckTypedWindowEvent(x->dpy, w, MapNotify, &ev))
            managed = true;
    }
    if (x->dead)
        return false;
    XSelectInput(x->dpy, w, NoEventMask);
    XDestroyWindow(x->dpy, w);
    XSync(x->dpy, False);
    while (XCheckWindowEvent(x->dpy, w, StructureNotifyMask, &ev))
        ; /* the probe's own notifications: nobody else wants them */
    return managed;
}

bool desk__x_wait_wm(struct desk_x *x, int timeout_ms)
{
    Atom check = XInternAtom(x->dpy, "_NET_SUPPORTING_WM_CHECK", False);
    struct timespec step = {0, 5 * 1000000L};

    /* No event to wait for (the WM may not exist yet): poll the property, 5 ms apart. */
    for (int waited = 0; waited <= timeout_ms && !x->dead; waited += 5) {
        Atom type = None;
        int format = 0;
        unsigned long n = 0, left = 0;
        unsigned char *data = NULL;
        bool found = XGetWindowProperty(x->dpy, x->root, check, 0, 1, False, AnyPropertyType, &type,
                                        &format, &n, &left, &data) == Success &&
                     type != None && n == 1;
        if (data)
            XFree(data);
        if (found)
            return wm_manages(x, timeout_ms - waited);
        nanosleep(&step, NULL);
    }
    return false;
}

static void finish(struct desk_xjob *j)
{
    pthread_mutex_lock(&lock);
    j->next = NULL;
    if (done_tail)
        done_tail->next = j;
    else
        done_head = j;
    done_tail = j;
    pthread_mutex_unlock(&lock);
    uv_async_send(&done_async);
}

/*
 * Sleeps until a job is queued, the X server sends events, or (when spare
 * keycodes are bound) idle_deadline passes; handles what woke it.
 */
static void x_wait(struct desk_x *x, int64_t idle_deadline)
{
    struct pollfd p[2] = {{.fd = wake_fd, .events = POLLIN}, {.fd = -1, .events = POLLIN}};
    int timeout = -1, n;
    uint64_t count;

    if (x->dpy && !x->dead)
        p[1].fd = ConnectionNumber(x->dpy);
    if (x->spares_dirty) {
        int64_t left = idle_deadline - clock_mono_ms();
        timeout = left < 0 ? 0 : left > DESK_KEYS_IDLE_MS ? DESK_KEYS_IDLE_MS : (int)left;
    }
    n = poll(p, 2, timeout);
    if (n == 0 && x->spares_dirty && x->dpy && !x->dead) {
        desk__keys_restore(x);
        return;
    }
    if (n < 0)
        return; /* EINTR */
    if (p[0].revents && read(wake_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
        log_warn(DESK_TAG, "eventfd read: %s", strerror(errno));
    /* Reading may hit a dead connection: the I/O exit handler marks it, desk__damage_drain() stops.
     */
    if (p[1].revents && x->dpy && !x->dead)
        XEventsQueued(x->dpy, QueuedAfterReading);
    desk__damage_drain(x);
}

static void *x_thread(void *arg)
{
    int64_t idle_deadline = 0;

    (void)arg;
    current_x = &xstate;
    for (;;) {
        struct desk_xjob *j;
        bool quit;

        pthread_mutex_lock(&lock);
        j = queue_head;
        if (j) {
            queue_head = j->next;
            if (!queue_head)
                queue_tail = NULL;
        }
        quit = quitting;
        pthread_mutex_unlock(&lock);
        if (j) {
            j->run(&xstate, j);
            finish(j);
            /* Events a job's round trips read (damage its input caused, for one). */
            desk__damage_drain(&xstate);
            idle_deadline = clock_mono_ms() + DESK_KEYS_IDLE_MS;
            continue;
        }
        if (quit)
            break;
        x_wait(&xstate, idle_deadline);
    }
    desk__x_disconnect(&xstate);
    return NULL;
}

static void wake_thread(void)
{
    uint64_t one = 1;

    if (write(wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        log_warn(DESK_TAG, "eventfd write: %s", strerror(errno));
}

static void on_done(uv_async_t *a)
{
    struct desk_xjob *j;

    (void)a;
    pthread_mutex_lock(&lock);
    j = done_head;
    done_head = done_tail = NULL;
    pthread_mutex_unlock(&lock);
    while (j) {
        struct desk_xjob *next = j->next;
        j->done(j);
        j = next;
    }
}

void desk__x_submit(struct desk_xjob *j)
{
    pthread_mutex_lock(&lock);
    j->next = NULL;
    if (queue_tail)
        queue_tail->next = j;
    else
        queue_head = j;
    queue_tail = j;
    pthread_mutex_unlock(&lock);
    wake_thread();
}

int desk__x_init(uv_loop_t *loop)
{
    int e;

    XInitThreads();
    XSetErrorHandler(on_x_error);
    XSetIOErrorHandler(on_x_io_error);
    memset(&xstate, 0, sizeof(xstate));
    xstate.shm.shmid = -1;
    wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake_fd < 0)
        return -errno;
    e = desk__damage_init(loop);
    if (e < 0)
        return e;
    e = uv_async_init(loop, &done_async, on_done);
    if (e < 0)
        return e;
    /* The async handle must not keep the loop alive on its own. */
    uv_unref((uv_handle_t *)&done_async);
    e = pthread_create(&thread, NULL, x_thread, NULL);
    if (e != 0) {
        uv_close((uv_handle_t *)&done_async, NULL);
        return -e;
    }
    thread_started = true;
    return 0;
}

void desk__x_done(void)
{
    if (!thread_started)
        return;
    pthread_mutex_lock(&lock);
    quitting = true;
    pthread_mutex_unlock(&lock);
    wake_thread();
    pthread_join(thread, NULL);
    thread_started = false;
    /* Jobs that finished after the loop stopped: their done() frees them. */
    on_done(NULL);
    if (!uv_is_closing((uv_handle_t *)&done_async))
        uv_close((uv_handle_t *)&done_async, NULL);
    desk__damage_done();
    close(wake_fd);
    wake_fd = -1;
}
