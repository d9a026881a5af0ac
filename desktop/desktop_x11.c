/*
 * desktop_x11: the X thread and the daemon's one X connection.
 *
 * Xlib blocks on every round trip, and a Display * must never be used from
 * two threads at once, so one dedicated thread owns the connection and runs
 * desk_xjob's from a FIFO: actions happen in request order (a click, then
 * the screenshot that should show its effect) and the loop thread only
 * queues jobs and receives them back through a uv_async_t.  While the
 * queue is empty and a keysym is still bound to a spare keycode, the thread
 * wakes after an idle delay to restore the keyboard map.
 *
 * Xlib's default error handlers exit the process; ours record the error
 * (protocol errors) or mark the connection dead (I/O errors: the server
 * went away) and return, so a crashed Xvfb costs a restart, not the daemon.
 */
#include "desktop_internal.h"

#include "../stream/log.h"
#include "../stream/xmalloc.h"

#include <X11/extensions/XTest.h>
#include <X11/extensions/Xfixes.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Restore spare keycodes after this long without keyboard work. */
#define DESK_KEYS_IDLE_MS 2000

static pthread_t thread;
static bool thread_started;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake;
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

static void on_x_io_exit(Display *dpy, void *data)
{
    struct desk_x *x = data;

    (void)dpy;
    x->dead = true;
    log_warn(DESK_TAG, "lost the connection to the X server");
}

bool desk_x_usable(struct desk_x *x, struct problem *err)
{
    if (x->dpy && !x->dead)
        return true;
    problem_set(err, 503, PROBLEM_DESKTOP_RUNTIME_FAILED,
                "the X server is not reachable (it is restarting); retry in a moment");
    return false;
}

bool desk_x_sync(struct desk_x *x)
{
    if (!x->dpy || x->dead)
        return false;
    XSync(x->dpy, False);
    return !x->dead;
}

void desk_x_disconnect(struct desk_x *x)
{
    if (!x->dpy)
        return;
    if (!x->dead)
        desk_keys_restore(x);
    desk_capture_release(x);
    XCloseDisplay(x->dpy);
    x->dpy = NULL;
    x->dead = false;
    x->n_spares = 0;
    x->spares_dirty = false;
}

int desk_x_connect(struct desk_x *x, const char *display, uint64_t gen, char *errbuf, size_t cap)
{
    int ev, er, maj, min;

    desk_x_disconnect(x);
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
    desk_keys_scan(x);
    if (!desk_x_sync(x)) {
        snprintf(errbuf, cap, "the X server on %s went away", display);
        desk_x_disconnect(x);
        return -1;
    }
    log_debug(DESK_TAG, "connected to %s (%dx%d, depth %d, shm %d, xtest %d, xfixes %d)", display,
              x->width, x->height, x->depth, x->have_shm, x->have_xtest, x->have_xfixes);
    return 0;
}

bool desk_x_wait_wm(struct desk_x *x, int timeout_ms)
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
            return true;
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

static void *x_thread(void *arg)
{
    (void)arg;
    current_x = &xstate;
    pthread_mutex_lock(&lock);
    for (;;) {
        struct desk_xjob *j = queue_head;
        if (!j) {
            if (quitting)
                break;
            if (xstate.spares_dirty) {
                struct timespec ts;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                ts.tv_sec += DESK_KEYS_IDLE_MS / 1000;
                ts.tv_nsec += (DESK_KEYS_IDLE_MS % 1000) * 1000000L;
                if (ts.tv_nsec >= 1000000000L) {
                    ts.tv_sec++;
                    ts.tv_nsec -= 1000000000L;
                }
                if (pthread_cond_timedwait(&wake, &lock, &ts) == ETIMEDOUT && !queue_head) {
                    pthread_mutex_unlock(&lock);
                    if (xstate.dpy && !xstate.dead)
                        desk_keys_restore(&xstate);
                    pthread_mutex_lock(&lock);
                }
            } else {
                pthread_cond_wait(&wake, &lock);
            }
            continue;
        }
        queue_head = j->next;
        if (!queue_head)
            queue_tail = NULL;
        pthread_mutex_unlock(&lock);
        j->run(&xstate, j);
        finish(j);
        pthread_mutex_lock(&lock);
    }
    pthread_mutex_unlock(&lock);
    desk_x_disconnect(&xstate);
    return NULL;
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

void desk_x_submit(struct desk_xjob *j)
{
    pthread_mutex_lock(&lock);
    j->next = NULL;
    if (queue_tail)
        queue_tail->next = j;
    else
        queue_head = j;
    queue_tail = j;
    pthread_cond_signal(&wake);
    pthread_mutex_unlock(&lock);
}

int desk_x_init(uv_loop_t *loop)
{
    pthread_condattr_t ca;
    int e;

    XInitThreads();
    XSetErrorHandler(on_x_error);
    XSetIOErrorHandler(on_x_io_error);
    memset(&xstate, 0, sizeof(xstate));
    xstate.shm.shmid = -1;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&wake, &ca);
    pthread_condattr_destroy(&ca);
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

void desk_x_done(void)
{
    if (!thread_started)
        return;
    pthread_mutex_lock(&lock);
    quitting = true;
    pthread_cond_signal(&wake);
    pthread_mutex_unlock(&lock);
    pthread_join(thread, NULL);
    thread_started = false;
    /* Jobs that finished after the loop stopped: their done() frees them. */
    on_done(NULL);
    if (!uv_is_closing((uv_handle_t *)&done_async))
        uv_close((uv_handle_t *)&done_async, NULL);
    pthread_cond_destroy(&wake);
}
