/*
 * desktop_launch: POST /v1/desktop/launch and /v1/desktop/open (spec 5.8).
 *
 * Apps are desktop-owned managed processes (listed by GET /v1/processes)
 * with DISPLAY and HOME (the desktop's home) set.  `open` hands its target
 * to xdg-open the same way.
 *
 * launch {wait: true} answers as soon as a window of the app is mapped and
 * has the input focus (or LAUNCH_FOCUS_MS after it mapped).  A
 * loop timer queues, every LAUNCH_POLL_MS, one short job on the X thread
 * that reads _NET_CLIENT_LIST (the root's children when no window manager
 * runs) and each window's _NET_WM_PID: a window matches when that pid is
 * the app's or belongs to its process group (every managed process leads
 * its own group, so an app started through a wrapper script matches too),
 * and it must be viewable.  Each poll is a few round trips: the X thread is
 * never held, other desktop jobs run between polls, and the loop never
 * sleeps.  The wait ends without `windowId` after LAUNCH_WAIT_MS (the
 * reference's bound), as soon as the app's whole process group is gone, or
 * when the desktop stops.
 */
#include "desktop_app.h"
#include "desktop_internal.h"

#include "../process/proc.h"
#include "../stream/clock.h"
#include "../stream/json.h"
#include "../stream/log.h"
#include "../stream/xmalloc.h"

#include <X11/Xatom.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LAUNCH_WAIT_MS 5000
#define LAUNCH_POLL_MS 20
/* Once the window is mapped: how long to wait for it to get the focus too. */
#define LAUNCH_FOCUS_MS 500
/* Most client windows looked at per poll. */
#define LAUNCH_MAX_WINDOWS 4096
#define OPEN_INSTALL       "apt-get install -y --no-install-recommends xdg-utils"

/* A launch {wait: true} waiting for its window. */
struct launch_wait {
    struct http_req *req; /* referenced until answered */
    struct proc *p;       /* the app, referenced */
    int pid;              /* its pid (and process group) */
    uv_timer_t timer;     /* the next poll */
    int64_t deadline;     /* CLOCK_MONOTONIC ms */
    int64_t mapped_ms;    /* when its window was first seen mapped (0: not yet) */
    unsigned long window; /* that window */
    bool polling;         /* a job is on the X thread */
    bool answered;
    struct launch_wait *next; /* the waiting list */
};

struct win_job {
    struct desk_xjob job;   /* first member */
    struct launch_wait *lw; /* alive until done */
    int pid;
    unsigned long window; /* the match, 0 when none */
    bool focused;         /* the match has the input focus (typing reaches it) */
};

static struct launch_wait *waiting;

/* ---- the window match (X thread) ------------------------------------------------------------ */

/* The _NET_WM_PID of w, or 0. */
static long window_pid(struct desk_x *x, Window w, Atom pid_atom)
{
    Atom type = None;
    int format = 0;
    unsigned long n = 0, left = 0;
    unsigned char *data = NULL;
    long pid = 0;

    if (XGetWindowProperty(x->dpy, w, pid_atom, 0, 1, False, XA_CARDINAL, &type, &format, &n, &left,
                           &data) == Success &&
        type == XA_CARDINAL && format == 32 && n == 1)
        pid = *(long *)data; /* format-32 items arrive as longs */
    if (data)
        XFree(data);
    return pid;
}

static bool window_matches(struct desk_x *x, Window w, Atom pid_atom, int pid)
{
    XWindowAttributes wa;
    long wpid = window_pid(x, w, pid_atom);

    if (wpid <= 0 || (wpid != pid && getpgid((pid_t)wpid) != pid))
        return false;
    return XGetWindowAttributes(x->dpy, w, &wa) && wa.map_state == IsViewable;
}

static void win_run(struct desk_x *x, struct desk_xjob *j)
{
    struct win_job *wj = (struct win_job *)j;
    struct problem err;
    Atom list_atom, pid_atom, type = None;
    int format = 0;
    unsigned long n = 0, left = 0;
    unsigned char *data = NULL;
    Window root_ret, parent, *children = NULL;
    unsigned int nchildren = 0;

    wj->window = 0;
    if (!desk__x_usable(x, &err))
        return;
    list_atom = XInternAtom(x->dpy, "_NET_CLIENT_LIST", False);
    pid_atom = XInternAtom(x->dpy, "_NET_WM_PID", False);
    if (XGetWindowProperty(x->dpy, x->root, list_atom, 0, LAUNCH_MAX_WINDOWS, False, XA_WINDOW,
                           &type, &format, &n, &left, &data) == Success &&
        type == XA_WINDOW && format == 32) {
        const long *ids = (const long *)data;
        for (unsigned long i = n; i-- > 0 && !wj->window;) /* newest last */
            if (window_matches(x, (Window)ids[i], pid_atom, wj->pid))
                wj->window = (unsigned long)ids[i];
    } else if (XQueryTree(x->dpy, x->root, &root_ret, &parent, &children, &nchildren)) {
        /* No window manager: the apps' windows are the root's children. */
        for (unsigned int i = nchildren; i-- > 0 && !wj->window;)
            if (window_matches(x, children[i], pid_atom, wj->pid))
                wj->window = children[i];
    }
    if (data)
        XFree(data);
    if (children)
        XFree(children);
    if (wj->window) {
        Window focus = None;
        int revert;
        XGetInputFocus(x->dpy, &focus, &revert);
        wj->focused = focus == (Window)wj->window;
    }
}

/* ---- the wait (loop thread) ----------------------------------------------------------------- */

static void launch_wait_closed(uv_handle_t *h)
{
    struct launch_wait *lw = h->data;

    proc_unref(lw->p);
    free(lw);
}

/* {processId, pid, windowId?}: pid as spawned (the reference reports it after an exit too). */
static void launch_reply(struct http_req *req, struct proc *p, int pid, unsigned long window)
{
    cJSON *o = cJSON_CreateObject();
    char id[32];

    json_add_string(o, "processId", proc_id(p));
    if (pid > 0)
        cJSON_AddNumberToObject(o, "pid", pid);
    if (window) {
        snprintf(id, sizeof(id), "%lu", window);
        json_add_string(o, "windowId", id);
    }
    http_reply_json(req, 200, o);
    cJSON_Delete(o);
}

/* Answers (once) and, when no job is in flight, lets the wait go. */
static void launch_finish(struct launch_wait *lw, unsigned long window)
{
    if (!lw->answered) {
        lw->answered = true;
        for (struct launch_wait **pp = &waiting; *pp; pp = &(*pp)->next) {
            if (*pp == lw) {
                *pp = lw->next;
                break;
            }
        }
        if (http_req_alive(lw->req))
            launch_reply(lw->req, lw->p, lw->pid, window);
        http_req_unref(lw->req);
        lw->req = NULL;
        uv_timer_stop(&lw->timer);
    }
    if (!lw->polling && !uv_is_closing((uv_handle_t *)&lw->timer))
        uv_close((uv_handle_t *)&lw->timer, launch_wait_closed);
}

/* True while some process of the app's group may still map a window. */
static bool group_alive(const struct launch_wait *lw)
{
    return proc_is_running(lw->p) || kill(-lw->pid, 0) == 0 || errno == EPERM;
}

static void win_done(struct desk_xjob *j);

static void poll_now(struct launch_wait *lw)
{
    struct win_job *wj = xcalloc(1, sizeof(*wj));

    wj->job.run = win_run;
    wj->job.done = win_done;
    wj->lw = lw;
    wj->pid = lw->pid;
    lw->polling = true;
    desk__x_submit(&wj->job);
}

static void on_poll_timer(uv_timer_t *t)
{
    poll_now(t->data);
}

static void win_done(struct desk_xjob *j)
{
    struct win_job *wj = (struct win_job *)j;
    struct launch_wait *lw = wj->lw;
    bool focused = wj->focused;
    int64_t now = clock_mono_ms();
    int display, width, height;

    if (wj->window && !lw->window) {
        lw->window = wj->window;
        lw->mapped_ms = now;
    }
    free(wj);
    lw->polling = false;
    /*
     * Mapped is not enough for an agent that types next: the window manager
     * gives a new window the focus a moment later, so that is waited for too
     * (at most LAUNCH_FOCUS_MS: a manager may leave the focus where it was).
     */
    if (lw->answered)
        launch_finish(lw, 0); /* only the release is left */
    else if ((lw->window && (focused || now >= lw->mapped_ms + LAUNCH_FOCUS_MS)) ||
             now >= lw->deadline || !http_req_alive(lw->req) || !group_alive(lw) ||
             !desk__active_display(&display, &width, &height))
        launch_finish(lw, lw->window);
    else
        uv_timer_start(&lw->timer, on_poll_timer, LAUNCH_POLL_MS, 0);
}

static void wait_for_window(struct http_req *req, struct proc *p)
{
    struct launch_wait *lw = xcalloc(1, sizeof(*lw));

    http_req_ref(req);
    lw->req = req;
    proc_ref(p);
    lw->p = p;
    lw->pid = proc_pid(p);
    lw->deadline = clock_mono_ms() + LAUNCH_WAIT_MS;
    uv_timer_init(http_loop(), &lw->timer);
    lw->timer.data = lw;
    lw->next = waiting;
    waiting = lw;
    poll_now(lw);
}

void desk__launch_shutdown(void)
{
    /* Answered without a window; a job still on the X thread releases its wait when it returns. */
    while (waiting)
        launch_finish(waiting, 0);
}

/* ---- handlers ------------------------------------------------------------------------------- */

static bool locale_set(void)
{
    static const char *const vars[] = {"LC_ALL", "LC_CTYPE", "LANG"};

    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
        const char *v = getenv(vars[i]);
        if (v && *v)
            return true;
    }
    return false;
}

/* Starts command with args as a desktop app. Returns the process or NULL with err (unwrapped). */
static struct proc *spawn_app(const char *command, const char *const *args, size_t nargs,
                              struct problem *err)
{
    char env_display[32], env_home[4200];
    const char *env[] = {env_display, env_home, "LANG=C.UTF-8"};
    int display, width, height;
    struct proc_spawn_req q = {.command = command,
                               .args = args,
                               .nargs = nargs,
                               .env = env,
                               .nenv = 2,
                               .owner = PROC_OWNER_DESKTOP};
    /*
     * Without any locale an X app runs in "C" and drops typed text it cannot
     * represent (xterm loses CJK and emoji): give it UTF-8 unless the daemon
     * chose a locale.
     */
    if (!locale_set())
        q.nenv = 3;
    struct proc *p = NULL;

    if (!desk__active_display(&display, &width, &height)) {
        problem_set(err, 409, PROBLEM_DESKTOP_RUNTIME_INACTIVE,
                    "Desktop runtime has not been started");
        return NULL;
    }
    snprintf(env_display, sizeof(env_display), "DISPLAY=:%d", display);
    snprintf(env_home, sizeof(env_home), "HOME=%s", desk__home_dir());
    return proc_create(&q, &p, err) < 0 ? NULL : p;
}

/* err as a 503 desktop_runtime_failed "<prefix>: <message>" with the runtime's processes. */
static void runtime_failed(struct problem *err, const char *prefix)
{
    char message[PROBLEM_MESSAGE_MAX];
    cJSON *ext = cJSON_CreateObject();

    snprintf(message, sizeof(message), "%s", err->message);
    problem_set(err, 503, PROBLEM_DESKTOP_RUNTIME_FAILED, "%s: %s", prefix, message);
    cJSON_AddItemToObject(ext, "processes", desk__processes_json());
    problem_set_ext(err, ext);
    cJSON_Delete(ext);
}

static void handle_launch(struct http_req *req)
{
    struct desk_launch_req r;
    struct problem err;
    size_t len = 0;
    const char *body = http_body(req, &len);
    char exe[4096];
    struct proc *p;

    if (desk_launch_decode(body, len, &r, &err) < 0) {
        http_reply_problem(req, &err);
        return;
    }
    if (!desk__require_active(req))
        goto out;
    if (!desk__which(r.app, exe, sizeof(exe))) {
        problem_set(&err, 404, PROBLEM_APP_NOT_FOUND, "Application '%s' not found in PATH", r.app);
        http_reply_problem(req, &err);
        goto out;
    }
    p = spawn_app(r.app, r.args, r.nargs, &err);
    if (!p) {
        if (err.status != 409)
            runtime_failed(&err, "failed to launch application");
        http_reply_problem(req, &err);
        goto out;
    }
    if (r.wait)
        wait_for_window(req, p);
    else
        launch_reply(req, p, proc_pid(p), 0);
out:
    desk_launch_req_done(&r);
}

static void handle_open(struct http_req *req)
{
    struct desk_open_req r;
    struct problem err;
    size_t len = 0;
    const char *body = http_body(req, &len);
    char exe[4096];
    struct proc *p;

    if (desk_open_decode(body, len, &r, &err) < 0) {
        http_reply_problem(req, &err);
        return;
    }
    if (!desk__require_active(req))
        goto out;
    if (!desk__which("xdg-open", exe, sizeof(exe))) {
        problem_set(&err, 503, PROBLEM_DESKTOP_RUNTIME_FAILED,
                    "xdg-open is not installed, so targets cannot be opened; install it with `%s`",
                    OPEN_INSTALL);
        runtime_failed(&err, "failed to open target");
        http_reply_problem(req, &err);
        goto out;
    }
    p = spawn_app("xdg-open", &r.target, 1, &err);
    if (!p) {
        if (err.status != 409)
            runtime_failed(&err, "failed to open target");
        http_reply_problem(req, &err);
        goto out;
    }
    launch_reply(req, p, proc_pid(p), 0);
out:
    desk_open_req_done(&r);
}

/* The endpoints of this file (registered by desk_register(), desktop_routes.c). */
static const struct route routes[] = {
    {HTTP_POST, "/v1/desktop/launch", handle_launch, ROUTE_JSON_BODY},
    {HTTP_POST, "/v1/desktop/open", handle_open, ROUTE_JSON_BODY},
};
const struct route_table desk__launch_routes = ROUTE_TABLE(routes);
