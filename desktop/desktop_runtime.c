/*
 * desktop_runtime: the desktop's life cycle (spec 5.1, 5.2), owned by the
 * loop thread.
 *
 * start: Xvfb is spawned as a managed process (owner "desktop") with
 * `-displayfd 1`, so the server itself reports, on its stdout, the display
 * it listens on once it accepts connections: no guessing, no polling for a
 * socket, no race with another server.  The requested displayNum is the
 * first candidate; when another live server holds it (or Xvfb fails on it)
 * the server picks a free number itself.  Then openbox is spawned and the X
 * thread connects; the waiting start requests are answered when it has.
 *
 * While active, a helper that exits is restarted: Xvfb (with openbox after
 * it, on the same display number when it is still free) or openbox alone,
 * at most DESK_MAX_RESTARTS times a minute.  A restart bumps the
 * generation, so late results of the old X connection are recognised.
 */
#include "desktop_internal.h"
#include "desktop_state.h"

#include "../process/proc.h"
#include "../stream/clock.h"
#include "../stream/json.h"
#include "../stream/log.h"
#include "../stream/xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DESK_START_TIMEOUT_MS  15000
#define DESK_RESTART_WINDOW_MS 60000
#define DESK_WM_RESTART_MS     200
#define DESK_WM_WAIT_MS        3000
#define DESK_INSTALL_COMMAND   "agentd install desktop --yes"

/* A start request waiting for the runtime to come up. */
struct waiter {
    struct http_req *req; /* referenced */
    struct waiter *next;
};

struct connect_job {
    struct desk_xjob job; /* first member */
    uint64_t gen;         /* the runtime generation it connects for */
    char display[32];     /* ":N" */
    int r;                /* 0 or -1 */
    int width, height;    /* the root's size on success */
    char err[256];
};

static struct desk_runtime *const rt = &desk__rt;

static void start_xvfb(void);
static void start_openbox(void);

/* ---- small helpers ------------------------------------------------------------------------ */

/* One line in the runtime log (a few small appends per start: not worth a thread). */
static void rt_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void rt_log(const char *fmt, ...)
{
    char when[64], line[1024];
    va_list ap;
    int fd, n;

    desk__rfc3339_now(when, sizeof(when));
    n = snprintf(line, sizeof(line), "%s ", when);
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    n = (int)strlen(line);
    line[n++] = '\n';
    fd = open(rt->log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    if (write(fd, line, (size_t)n) < 0)
        log_debug(DESK_TAG, "runtime log write failed: %s", strerror(errno));
    close(fd);
}

static void mkdirs(const char *path)
{
    char tmp[4096];
    size_t n = strlen(path);

    if (n >= sizeof(tmp))
        return;
    memcpy(tmp, path, n + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(tmp, 0755);
            *p = '/';
        }
    }
    mkdir(tmp, 0755);
}

static bool in_path(const char *cmd)
{
    const char *path = getenv("PATH"), *p;

    if (!path)
        path = "/usr/local/bin:/usr/bin:/bin";
    for (p = path; *p;) {
        const char *end = strchr(p, ':');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char full[4096];
        if (len > 0 &&
            snprintf(full, sizeof(full), "%.*s/%s", (int)len, p, cmd) < (int)sizeof(full) &&
            access(full, X_OK) == 0)
            return true;
        p += len + (end ? 1 : 0);
    }
    return false;
}

/* The missing runtime binaries as a JSON array (empty when all are there). */
static cJSON *missing_json(void)
{
    cJSON *a = cJSON_CreateArray();

    if (!in_path("Xvfb"))
        cJSON_AddItemToArray(a, cJSON_CreateString("Xvfb"));
    if (!in_path("openbox"))
        cJSON_AddItemToArray(a, cJSON_CreateString("openbox"));
    return a;
}

/* True when a live server holds display n (its lock file names a running pid). */
static bool display_taken(int n)
{
    char path[64], text[32];
    int fd;
    ssize_t k;
    long pid;

    snprintf(path, sizeof(path), "/tmp/.X%d-lock", n);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    k = read(fd, text, sizeof(text) - 1);
    close(fd);
    if (k <= 0)
        return true;
    text[k] = '\0';
    pid = strtol(text, NULL, 10);
    /* A stale lock (dead pid) is removed by Xvfb itself. */
    return pid <= 0 || kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

/* ---- helpers (managed processes) ---------------------------------------------------------- */

static void helper_release(struct helper *h, bool terminate)
{
    if (!h->p)
        return;
    proc_unwatch(h->p, &h->w);
    if (terminate)
        proc_signal(h->p, SIGTERM);
    proc_unref(h->p);
    h->p = NULL;
}

static void on_helper_event(struct proc_watcher *w, struct proc *p, enum proc_event ev);

static int helper_spawn(struct helper *h, const char *cmd, const char *const *args, size_t nargs,
                        const char *const *env, size_t nenv, struct problem *err)
{
    struct proc_spawn_req r = {.command = cmd,
                               .args = args,
                               .nargs = nargs,
                               .env = env,
                               .nenv = nenv,
                               .owner = PROC_OWNER_DESKTOP};
    struct proc *p = NULL;

    if (proc_create(&r, &p, err) < 0)
        return -1;
    proc_ref(p);
    h->p = p;
    h->w.notify = on_helper_event;
    proc_watch(p, &h->w);
    return 0;
}

/* ---- status ------------------------------------------------------------------------------- */

static cJSON *resolution_json(void)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddNumberToObject(o, "width", rt->width ? rt->width : rt->cfg.width);
    cJSON_AddNumberToObject(o, "height", rt->height ? rt->height : rt->cfg.height);
    cJSON_AddNumberToObject(o, "dpi", rt->cfg.dpi);
    return o;
}

static cJSON *status_json(void)
{
    cJSON *o = cJSON_CreateObject(), *missing = missing_json();
    bool install = rt->state == DESK_INACTIVE && cJSON_GetArraySize(missing) > 0;
    const char *state = install                      ? "install_required"
                        : rt->state == DESK_ACTIVE   ? "active"
                        : rt->state == DESK_STARTING ? "starting"
                        : rt->state == DESK_FAILED   ? "failed"
                                                     : "inactive";
    char display[32];

    json_add_string(o, "state", state);
    if (rt->display >= 0 && (rt->state == DESK_ACTIVE || rt->state == DESK_STARTING)) {
        snprintf(display, sizeof(display), ":%d", rt->display);
        json_add_string(o, "display", display);
        cJSON_AddItemToObject(o, "resolution", resolution_json());
    }
    if (rt->started_at[0] && (rt->state == DESK_ACTIVE || rt->restarting))
        json_add_string(o, "startedAt", rt->started_at);
    if (install) {
        cJSON *e = cJSON_AddObjectToObject(o, "lastError");
        char msg[512], list[128] = "";
        for (int i = 0; i < cJSON_GetArraySize(missing); i++) {
            size_t n = strlen(list);
            snprintf(list + n, sizeof(list) - n, "%s%s", i ? ", " : "",
                     cJSON_GetArrayItem(missing, i)->valuestring);
        }
        snprintf(msg, sizeof(msg),
                 "Desktop dependencies are not installed: %s. Run `%s` to install them.", list,
                 DESK_INSTALL_COMMAND);
        json_add_string(e, "code", "desktop_dependencies_missing");
        json_add_string(e, "message", msg);
    } else if (rt->has_error) {
        cJSON *e = cJSON_AddObjectToObject(o, "lastError");
        json_add_string(e, "code", rt->last_code);
        json_add_string(e, "message", rt->last_message);
    }
    cJSON_AddItemToObject(o, "missingDependencies", missing);
    if (install)
        json_add_string(o, "installCommand", DESK_INSTALL_COMMAND);
    cJSON_AddItemToObject(o, "processes", desk__processes_json());
    json_add_string(o, "runtimeLogPath", rt->log_path);
    return o;
}

static void reply_status(struct http_req *req)
{
    cJSON *o = status_json();

    http_reply_json(req, 200, o);
    cJSON_Delete(o);
}

/* ---- waiters ------------------------------------------------------------------------------ */

static void add_waiter(struct http_req *req)
{
    struct waiter *w = xmalloc(sizeof(*w));

    http_req_ref(req);
    w->req = req;
    w->next = rt->waiters;
    rt->waiters = w;
}

/* Answers every waiting start request: the status, or err when given. */
static void answer_waiters(const struct problem *err)
{
    struct waiter *w = rt->waiters;

    rt->waiters = NULL;
    while (w) {
        struct waiter *next = w->next;
        if (http_req_alive(w->req)) {
            if (err)
                http_reply_problem(w->req, err);
            else
                reply_status(w->req);
        }
        http_req_unref(w->req);
        free(w);
        w = next;
    }
}

/* ---- the state machine -------------------------------------------------------------------- */

static void disconnect_done(struct desk_xjob *j)
{
    free(j);
}

static void disconnect_run(struct desk_x *x, struct desk_xjob *j)
{
    (void)j;
    desk__x_disconnect(x);
}

static void submit_disconnect(void)
{
    struct desk_xjob *j = xcalloc(1, sizeof(*j));

    j->run = disconnect_run;
    j->done = disconnect_done;
    rt->connected = false;
    desk__x_submit(j);
    desk__clip_stop();
}

static void stop_everything(void)
{
    uv_timer_stop(&rt->deadline);
    uv_timer_stop(&rt->wm_timer);
    desk__x_expect_loss();
    helper_release(&rt->openbox, true);
    helper_release(&rt->xvfb, true);
    submit_disconnect();
    rt->gen++;
    rt->restarting = false;
    desk__change_stop_all(); /* screenshots waiting for a change: 409 */
}

/* The start (or restart) failed: everything stops, state `failed`. */
static void fail(enum problem_kind kind, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail(enum problem_kind kind, int status, const char *fmt, ...)
{
    struct problem err;
    va_list ap;
    cJSON *ext = cJSON_CreateObject();

    va_start(ap, fmt);
    problem_vset(&err, status, kind, fmt, ap);
    va_end(ap);
    cJSON_AddItemToObject(ext, "processes", desk__processes_json());
    problem_set_ext(&err, ext);
    cJSON_Delete(ext);
    stop_everything();
    rt->state = DESK_FAILED;
    rt->has_error = true;
    snprintf(rt->last_code, sizeof(rt->last_code), "%s", problem_kind_name(kind));
    snprintf(rt->last_message, sizeof(rt->last_message), "%.500s", err.message);
    rt_log("desktop runtime failed: %s", err.message);
    log_warn(DESK_TAG, "desktop runtime failed: %s", err.message);
    answer_waiters(&err);
}

static bool restart_allowed(void)
{
    int64_t t = clock_mono_ms();
    unsigned recent = 0;

    for (unsigned i = 0; i < rt->n_restarts && i < DESK_MAX_RESTARTS; i++)
        recent += t - rt->restart_times[i] < DESK_RESTART_WINDOW_MS;
    if (recent >= DESK_MAX_RESTARTS)
        return false;
    rt->restart_times[rt->n_restarts++ % DESK_MAX_RESTARTS] = t;
    return true;
}

static void connect_run(struct desk_x *x, struct desk_xjob *j)
{
    struct connect_job *c = (struct connect_job *)j;

    c->r = desk__x_connect(x, c->display, c->gen, c->err, sizeof(c->err));
    /* Active means managed: windows mapped after start get the WM's focus handling. */
    if (c->r == 0 && !desk__x_wait_wm(x, DESK_WM_WAIT_MS))
        log_warn(DESK_TAG, "no window manager on %s after %d ms; going on without", c->display,
                 DESK_WM_WAIT_MS);
    c->width = x->width;
    c->height = x->height;
}

static void connect_done(struct desk_xjob *j)
{
    struct connect_job *c = (struct connect_job *)j;

    if (c->gen == rt->gen && rt->state == DESK_STARTING) {
        if (c->r < 0) {
            fail(PROBLEM_DESKTOP_RUNTIME_FAILED, 503, "%s", c->err);
        } else {
            uv_timer_stop(&rt->deadline);
            rt->connected = true;
            rt->width = c->width;
            rt->height = c->height;
            rt->state = DESK_ACTIVE;
            if (!rt->restarting)
                desk__rfc3339_now(rt->started_at, sizeof(rt->started_at));
            rt->restarting = false;
            rt->has_error = false;
            rt_log("desktop runtime active on :%d (%dx%d, dpi %d)", rt->display, rt->width,
                   rt->height, rt->cfg.dpi);
            desk__clip_start(c->display);
            answer_waiters(NULL);
        }
    }
    free(c);
}

/* Xvfb said which display it serves: start the window manager and connect. */
static void display_ready(int n)
{
    struct connect_job *c = xcalloc(1, sizeof(*c));

    rt->display = n;
    rt->gen++;
    start_openbox();
    c->job.run = connect_run;
    c->job.done = connect_done;
    c->gen = rt->gen;
    snprintf(c->display, sizeof(c->display), ":%d", n);
    desk__x_submit(&c->job);
}

static void xvfb_output(struct proc *p)
{
    char text[16];
    size_t n = proc_stdout_head(p, text, sizeof(text) - 1);
    long v;
    char *end;

    if (rt->display >= 0 || rt->state != DESK_STARTING || !memchr(text, '\n', n))
        return;
    text[n] = '\0';
    errno = 0;
    v = strtol(text, &end, 10);
    if (errno || end == text || *end != '\n' || v < 0 || v > 65535) {
        fail(PROBLEM_DESKTOP_RUNTIME_FAILED, 503, "Xvfb reported an unreadable display number");
        return;
    }
    display_ready((int)v);
}

static void xvfb_exited(void)
{
    helper_release(&rt->xvfb, false);
    if (rt->state == DESK_STARTING && rt->display < 0) {
        /* It never served: the display was taken after all, or Xvfb cannot run. */
        if (rt->explicit_display && !rt->tried_auto) {
            rt->tried_auto = true;
            rt_log("Xvfb could not serve :%d; letting it choose a free display",
                   rt->cfg.display_num);
            start_xvfb();
            return;
        }
        fail(PROBLEM_DESKTOP_RUNTIME_FAILED, 503,
             "Xvfb exited before serving a display (see GET /v1/processes?owner=desktop for "
             "its log)");
        return;
    }
    if (rt->state != DESK_ACTIVE && rt->state != DESK_STARTING)
        return;
    /* The X server died under an active desktop: bring it back. */
    if (!restart_allowed()) {
        fail(PROBLEM_DESKTOP_RUNTIME_FAILED, 503, "Xvfb keeps exiting (%d restarts in %d s)",
             DESK_MAX_RESTARTS, DESK_RESTART_WINDOW_MS / 1000);
        return;
    }
    rt_log("Xvfb on :%d exited; restarting it", rt->display);
    log_warn(DESK_TAG, "Xvfb on :%d exited; restarting it", rt->display);
    uv_timer_stop(&rt->wm_timer);
    helper_release(&rt->openbox, true);
    submit_disconnect();
    rt->gen++;
    rt->state = DESK_STARTING;
    rt->restarting = true;
    rt->has_error = true;
    snprintf(rt->last_code, sizeof(rt->last_code), "desktop_runtime_failed");
    snprintf(rt->last_message, sizeof(rt->last_message), "Xvfb on :%d exited; restarting it",
             rt->display);
    rt->cfg.display_num = rt->display;
    rt->display = -1;
    rt->tried_auto = false;
    start_xvfb();
}

static void on_wm_timer(uv_timer_t *t)
{
    (void)t;
    if (rt->state == DESK_ACTIVE && rt->xvfb.p && !rt->openbox.p)
        start_openbox();
}

static void on_helper_event(struct proc_watcher *w, struct proc *p, enum proc_event ev)
{
    if (w == &rt->xvfb.w) {
        if (ev == PROC_EV_OUTPUT)
            xvfb_output(p);
        else if (ev == PROC_EV_EXIT)
            xvfb_exited();
        return;
    }
    if (ev != PROC_EV_EXIT)
        return;
    helper_release(&rt->openbox, false);
    if (rt->state == DESK_ACTIVE && rt->xvfb.p && proc_is_running(rt->xvfb.p) &&
        restart_allowed()) {
        rt_log("openbox exited; restarting it");
        uv_timer_start(&rt->wm_timer, on_wm_timer, DESK_WM_RESTART_MS, 0);
    }
}

static void on_deadline(uv_timer_t *t)
{
    (void)t;
    if (rt->state == DESK_STARTING)
        fail(PROBLEM_DESKTOP_RUNTIME_FAILED, 503, "the X server did not come up within %d ms",
             DESK_START_TIMEOUT_MS);
}

static void start_xvfb(void)
{
    char display[16], screen[48], dpi[16];
    const char *args[12];
    size_t n = 0;
    struct problem err;

    rt->explicit_display = !rt->tried_auto && !display_taken(rt->cfg.display_num);
    if (!rt->explicit_display)
        rt->tried_auto = true;
    snprintf(display, sizeof(display), ":%d", rt->cfg.display_num);
    snprintf(screen, sizeof(screen), "%dx%dx24", rt->cfg.width, rt->cfg.height);
    snprintf(dpi, sizeof(dpi), "%d", rt->cfg.dpi);
    if (rt->explicit_display)
        args[n++] = display;
    args[n++] = "-screen";
    args[n++] = "0";
    args[n++] = screen;
    args[n++] = "-dpi";
    args[n++] = dpi;
    args[n++] = "-nolisten";
    args[n++] = "tcp";
    /* The server writes the display number to stdout once it accepts connections. */
    args[n++] = "-displayfd";
    args[n++] = "1";
    if (helper_spawn(&rt->xvfb, "Xvfb", args, n, NULL, 0, &err) < 0) {
        fail(PROBLEM_DESKTOP_RUNTIME_FAILED, 503, "cannot start Xvfb: %s", err.message);
        return;
    }
    uv_timer_start(&rt->deadline, on_deadline, DESK_START_TIMEOUT_MS, 0);
}

static void start_openbox(void)
{
    char display[32], home[4200];
    const char *env[2];
    struct problem err;

    snprintf(display, sizeof(display), "DISPLAY=:%d", rt->display);
    snprintf(home, sizeof(home), "HOME=%s", rt->home_dir);
    env[0] = display;
    env[1] = home;
    /* A window manager that cannot start is not fatal: the display still works. */
    if (helper_spawn(&rt->openbox, "openbox", NULL, 0, env, 2, &err) < 0)
        log_warn(DESK_TAG, "cannot start openbox: %s", err.message);
}

/* ---- handlers ----------------------------------------------------------------------------- */

static void handle_status(struct http_req *req)
{
    /* Active: the X thread adds the windows (spec 5.1). */
    if (rt->state == DESK_ACTIVE && rt->connected)
        desk__windows_reply_status(req, status_json());
    else
        reply_status(req);
}

static void handle_start(struct http_req *req)
{
    struct desk_start_req s;
    struct problem err;
    size_t len;
    const char *body = http_body(req, &len);
    cJSON *missing;

    if (desk_start_decode(body, len, &s, &err) < 0) {
        http_reply_problem(req, &err);
        return;
    }
    /*
     * Already running: the same request again is 200 with the status (the
     * reference ignores the parameters); another size would be silently
     * kept at the old one there, so it is a 409 that says what to do.
     */
    if (rt->state == DESK_ACTIVE && s.sized && (s.width != rt->width || s.height != rt->height)) {
        problem_set(&err, 409, PROBLEM_CONFLICT,
                    "the desktop is already running at %dx%d; POST /v1/desktop/stop first to "
                    "start it at %dx%d",
                    rt->width, rt->height, s.width, s.height);
        http_reply_problem(req, &err);
        return;
    }
    if (rt->state == DESK_ACTIVE) {
        reply_status(req);
        return;
    }
    if (rt->state == DESK_STARTING) {
        add_waiter(req);
        return;
    }
    missing = missing_json();
    if (cJSON_GetArraySize(missing) > 0) {
        cJSON *ext = cJSON_CreateObject();
        problem_set(&err, 503, PROBLEM_DESKTOP_DEPENDENCIES_MISSING,
                    "Desktop dependencies are not installed (Xvfb and openbox are needed). Run "
                    "`%s` to install them.",
                    DESK_INSTALL_COMMAND);
        json_add_string(ext, "installCommand", DESK_INSTALL_COMMAND);
        cJSON_AddItemToObject(ext, "missingDependencies", missing);
        problem_set_ext(&err, ext);
        cJSON_Delete(ext);
        rt->state = DESK_INACTIVE;
        http_reply_problem(req, &err);
        return;
    }
    cJSON_Delete(missing);
    mkdirs(rt->home_dir);
    rt->cfg = s;
    rt->state = DESK_STARTING;
    rt->restarting = false;
    rt->has_error = false;
    rt->display = -1;
    rt->tried_auto = false;
    rt->width = rt->height = 0;
    rt->started_at[0] = '\0';
    rt->n_restarts = 0;
    rt_log("starting desktop runtime (%dx%d, dpi %d, display :%d first)", s.width, s.height, s.dpi,
           s.display_num);
    add_waiter(req);
    start_xvfb();
}

static void stop_now(struct http_req *req)
{
    struct problem err;

    if (rt->state != DESK_INACTIVE) {
        rt_log("stopping desktop runtime");
        stop_everything();
        rt->state = DESK_INACTIVE;
        rt->has_error = false;
        rt->display = -1;
        rt->started_at[0] = '\0';
        problem_set(&err, 409, PROBLEM_CONFLICT, "the desktop was stopped while it was starting");
        answer_waiters(&err);
    }
    if (http_req_alive(req))
        reply_status(req);
}

static void stop_after_recording(void *arg)
{
    struct http_req *req = arg;

    stop_now(req);
    http_req_unref(req);
}

static void handle_stop(struct http_req *req)
{
    /* An active recording is finalised first, while its X server still runs. */
    http_req_ref(req);
    if (desk__rec_end(stop_after_recording, req))
        return;
    http_req_unref(req);
    stop_now(req);
}

static void handle_display_info(struct http_req *req)
{
    cJSON *o;
    char display[32];

    if (!desk__require_active(req))
        return;
    o = cJSON_CreateObject();
    snprintf(display, sizeof(display), ":%d", rt->display);
    json_add_string(o, "display", display);
    cJSON_AddItemToObject(o, "resolution", resolution_json());
    http_reply_json(req, 200, o);
    cJSON_Delete(o);
}

/* ---- life cycle --------------------------------------------------------------------------- */

int desk_init(uv_loop_t *loop)
{
    const char *home = getenv("HOME");

    memset(rt, 0, sizeof(*rt));
    rt->loop = loop;
    rt->display = -1;
    rt->xvfb.name = "Xvfb";
    rt->openbox.name = "openbox";
    rt->state_dir = xasprintf("%s/.local/state/agentd/desktop", home && *home ? home : "/tmp");
    rt->home_dir = xasprintf("%s/home", rt->state_dir);
    rt->log_path = xasprintf("%s/desktop-runtime.log", rt->state_dir);
    /* The state directory is made by the first start: a daemon that never starts the desktop
     * leaves HOME alone. */
    uv_timer_init(loop, &rt->deadline);
    uv_timer_init(loop, &rt->wm_timer);
    uv_unref((uv_handle_t *)&rt->deadline);
    uv_unref((uv_handle_t *)&rt->wm_timer);
    desk__rec_init(loop);
    return desk__x_init(loop);
}

void desk_shutdown(void)
{
    struct problem err;

    /* Answers what waits on a recording or a launched app (a pending stop runs now). */
    desk__rec_shutdown();
    desk__launch_shutdown();
    if (rt->state != DESK_INACTIVE) {
        stop_everything();
        rt->state = DESK_INACTIVE;
    }
    problem_set(&err, 503, PROBLEM_DESKTOP_RUNTIME_FAILED, "agentd is shutting down");
    answer_waiters(&err);
    uv_close((uv_handle_t *)&rt->deadline, NULL);
    uv_close((uv_handle_t *)&rt->wm_timer, NULL);
}

void desk_done(void)
{
    desk__clip_done();
    desk__x_done();
    desk__rec_done();
    free(rt->state_dir);
    free(rt->home_dir);
    free(rt->log_path);
    rt->state_dir = rt->home_dir = rt->log_path = NULL;
}

/* The endpoints of this file (registered by desk_register(), desktop_routes.c). */
static const struct route routes[] = {
    {HTTP_GET, "/v1/desktop/status", handle_status, 0},
    {HTTP_POST, "/v1/desktop/start", handle_start, ROUTE_JSON_BODY},
    {HTTP_POST, "/v1/desktop/stop", handle_stop, 0},
    {HTTP_GET, "/v1/desktop/display/info", handle_display_info, 0},
};
const struct route_table desk__runtime_routes = ROUTE_TABLE(routes);
