/*
 * proc_routes: proc_register() and the /v1/processes endpoints for config,
 * create, list, get, stop/kill, delete, logs, input, resize and the terminal
 * upgrade.  The log machinery is proc_logs.c; one-shot runs (and their
 * endpoint) are proc_run.c.
 */
#include "proc_decode.h"
#include "proc_internal.h"

#include "../stream/json.h"
#include "../stream/xmalloc.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define STOP_DEFAULT_WAIT_MS 2000
#define STOP_MAX_WAIT_MS     300000

static void reply_proc(struct http_req *req, const struct proc *p)
{
    cJSON *o = proc_to_json(p);

    http_reply_json(req, 200, o);
    cJSON_Delete(o);
}

/* The process named by the {id} capture, or NULL after a 404. */
static struct proc *lookup(struct http_req *req)
{
    const char *id = http_param(req, 0);
    struct proc *p = id ? proc_find(id) : NULL;
    struct problem err;

    if (!p) {
        problem_not_found(&err, "process", id ? id : "");
        snprintf(err.message, sizeof(err.message), "process %s", id ? id : "");
        http_reply_problem(req, &err);
    }
    return p;
}

static cJSON *config_json(void)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddNumberToObject(o, "maxConcurrentProcesses", (double)proc_cfg.max_concurrent);
    cJSON_AddNumberToObject(o, "defaultRunTimeoutMs", (double)proc_cfg.default_timeout);
    cJSON_AddNumberToObject(o, "maxRunTimeoutMs", (double)proc_cfg.max_timeout);
    cJSON_AddNumberToObject(o, "maxOutputBytes", (double)proc_cfg.max_output);
    cJSON_AddNumberToObject(o, "maxLogBytesPerProcess", (double)proc_cfg.max_log);
    cJSON_AddNumberToObject(o, "maxInputBytesPerRequest", (double)proc_cfg.max_input);
    return o;
}

static void handle_get_config(struct http_req *req)
{
    cJSON *o = config_json();

    http_reply_json(req, 200, o);
    cJSON_Delete(o);
}

static void handle_set_config(struct http_req *req)
{
    struct proc_config c;
    struct problem err;
    size_t len;
    const char *body = http_body(req, &len);

    if (proc_config_decode(body, len, &c, &err) < 0) {
        http_reply_problem(req, &err);
        return;
    }
    proc_cfg = c;
    handle_get_config(req);
}

static void handle_create(struct http_req *req)
{
    struct proc_cmd c;
    struct proc_spawn_req r;
    struct proc *p = NULL;
    struct problem err;
    size_t len;
    const char *body = http_body(req, &len);

    if (proc_cmd_decode(body, len, false, &c, &err) < 0) {
        http_reply_problem(req, &err);
        return;
    }
    memset(&r, 0, sizeof(r));
    r.command = c.command;
    r.args = c.args;
    r.nargs = c.nargs;
    r.cwd = c.cwd;
    r.env = (const char *const *)c.env;
    r.nenv = c.nenv;
    r.tty = c.tty;
    r.interactive = c.interactive;
    r.owner = PROC_OWNER_USER;
    if (proc_create(&r, &p, &err) < 0)
        http_reply_problem(req, &err);
    else
        reply_proc(req, p);
    proc_cmd_done(&c);
}

static void handle_list(struct http_req *req)
{
    const char *owner = NULL;
    struct problem err;
    cJSON *o, *arr;

    if (query_str(http_query(req), "owner", &owner, &err) < 0) {
        http_reply_problem(req, &err);
        return;
    }
    if (owner && strcmp(owner, "user") != 0 && strcmp(owner, "desktop") != 0 &&
        strcmp(owner, "system") != 0) {
        problem_set(&err, 400, PROBLEM_INVALID_REQUEST,
                    "query parameter `owner` must be one of: user, desktop, system");
        http_reply_problem(req, &err);
        return;
    }
    o = cJSON_CreateObject();
    arr = cJSON_AddArrayToObject(o, "processes");
    /* The registry is kept in numeric id order (proc_2 before proc_10). */
    for (struct proc *p = proc_first(); p; p = p->next)
        if (!owner || strcmp(owner, proc_owner_name(p->owner)) == 0)
            cJSON_AddItemToArray(arr, proc_to_json(p));
    http_reply_json(req, 200, o);
    cJSON_Delete(o);
}

static void handle_get(struct http_req *req)
{
    struct proc *p = lookup(req);

    if (p)
        reply_proc(req, p);
}

static void handle_delete(struct http_req *req)
{
    struct proc *p = lookup(req);
    struct problem err;

    if (!p)
        return;
    if (p->running) {
        problem_set(&err, 409, PROBLEM_CONFLICT,
                    "process is still running; stop or kill it before delete");
        http_reply_problem(req, &err);
        return;
    }
    proc_remove(p);
    http_reply_empty(req, 204);
}

/* A stop/kill that waits for the exit (or waitMs). */
struct stop_wait {
    struct proc_watcher w; /* first member */
    struct http_req *req;
    struct proc *p;
    uv_timer_t timer;
    bool done;
};

static void stop_wait_closed(uv_handle_t *h)
{
    free(h->data);
}

static void stop_wait_finish(struct stop_wait *s)
{
    if (s->done)
        return;
    s->done = true;
    if (http_req_alive(s->req))
        reply_proc(s->req, s->p);
    proc_unwatch(s->p, &s->w);
    proc_unref(s->p);
    http_req_unref(s->req);
    uv_timer_stop(&s->timer);
    uv_close((uv_handle_t *)&s->timer, stop_wait_closed);
}

static void stop_wait_notify(struct proc_watcher *w, struct proc *p, enum proc_event ev)
{
    (void)p;
    if (ev == PROC_EV_EXIT)
        stop_wait_finish((struct stop_wait *)w);
}

static void stop_wait_timeout(uv_timer_t *t)
{
    stop_wait_finish(t->data);
}

/* Sends sig to p (the request's process, looked up by the caller) and answers, after ?waitMs. */
static void stop_or_kill(struct http_req *req, struct proc *p, int sig)
{
    uint64_t wait_ms = STOP_DEFAULT_WAIT_MS;
    struct problem err;
    struct stop_wait *s;

    if (query_u64(http_query(req), "waitMs", STOP_MAX_WAIT_MS, &wait_ms, &err) < 0) {
        http_reply_problem(req, &err);
        return;
    }
    if (!p->running) {
        reply_proc(req, p);
        return;
    }
    proc_signal(p, sig);
    if (wait_ms == 0) {
        reply_proc(req, p);
        return;
    }
    s = xcalloc(1, sizeof(*s));
    s->w.notify = stop_wait_notify;
    s->req = req;
    s->p = p;
    http_req_ref(req);
    proc_ref(p);
    proc_watch(p, &s->w);
    uv_timer_init(http_loop(), &s->timer);
    s->timer.data = s;
    uv_timer_start(&s->timer, stop_wait_timeout, wait_ms, 0);
}

static void handle_stop(struct http_req *req)
{
    struct proc *p = lookup(req);

    if (p)
        stop_or_kill(req, p, SIGTERM);
}

/* `?signal=` on kill (agentd extension): a name (SIGINT, INT) or a number; 0 if absent. */
static int kill_signal(struct http_req *req, struct problem *err)
{
    static const struct {
        const char *name;
        int sig;
    } names[] = {{"HUP", SIGHUP},   {"INT", SIGINT},    {"QUIT", SIGQUIT}, {"TERM", SIGTERM},
                 {"KILL", SIGKILL}, {"USR1", SIGUSR1},  {"USR2", SIGUSR2}, {"CONT", SIGCONT},
                 {"STOP", SIGSTOP}, {"WINCH", SIGWINCH}};
    const char *v = NULL;
    uint64_t n;

    if (query_str(http_query(req), "signal", &v, err) < 0)
        return -1;
    if (!v)
        return 0;
    if (strncasecmp(v, "SIG", 3) == 0)
        v += 3;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcasecmp(v, names[i].name) == 0)
            return names[i].sig;
    if (query_u64(http_query(req), "signal", 64, &n, err) > 0 && n >= 1)
        return (int)n;
    return problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                       "signal must be a signal name (INT, TERM, HUP, KILL, QUIT, USR1, USR2, "
                       "CONT, STOP, WINCH) or a number from 1 to 64, got '%s'",
                       v);
}

static void handle_kill(struct http_req *req)
{
    struct proc *p = lookup(req); /* 404 for an unknown id comes before a bad signal's 400 */
    struct problem err;
    int sig;

    if (!p)
        return;
    sig = kill_signal(req, &err);
    if (sig < 0) {
        http_reply_problem(req, &err);
        return;
    }
    stop_or_kill(req, p, sig ? sig : SIGKILL);
}

static void handle_input(struct http_req *req)
{
    struct proc *p = lookup(req);
    struct problem err;
    unsigned char *data = NULL;
    size_t n = 0, len;
    const char *body;
    bool eof = false;
    cJSON *o;
    int e;

    if (!p)
        return;
    body = http_body(req, &len);
    if (proc_input_decode(body, len, (size_t)proc_cfg.max_input, &data, &n, &eof, &err) < 0) {
        http_reply_problem(req, &err);
        return;
    }
    if (!p->running) {
        free(data);
        problem_set(&err, 409, PROBLEM_CONFLICT, "process is not running");
        http_reply_problem(req, &err);
        return;
    }
    if (eof && p->tty) {
        free(data);
        problem_set(&err, 409, PROBLEM_CONFLICT,
                    "a terminal has no end of input to close: send its end-of-file character "
                    "instead (\"data\": \"\\u0004\", \"encoding\": \"utf8\")");
        http_reply_problem(req, &err);
        return;
    }
    e = proc_write(p, data, n);
    free(data);
    if (e == 0 && eof)
        e = proc_close_input(p);
    if (e < 0) {
        problem_set(&err, 409, PROBLEM_CONFLICT, "process input is closed: %s", strerror(-e));
        http_reply_problem(req, &err);
        return;
    }
    o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "bytesWritten", (double)n);
    http_reply_json(req, 200, o);
    cJSON_Delete(o);
}

static void handle_resize(struct http_req *req)
{
    struct proc *p = lookup(req);
    unsigned short cols, rows;
    struct problem err;
    size_t len;
    const char *body;
    cJSON *o;
    int e;

    if (!p)
        return;
    body = http_body(req, &len);
    if (proc_resize_decode(body, len, &cols, &rows, &err) < 0) {
        http_reply_problem(req, &err);
        return;
    }
    if (!p->tty) {
        problem_set(&err, 409, PROBLEM_CONFLICT, "process is not running in tty mode");
        http_reply_problem(req, &err);
        return;
    }
    if (!p->running || !p->in_open) {
        problem_set(&err, 409, PROBLEM_CONFLICT, "process is not running");
        http_reply_problem(req, &err);
        return;
    }
    e = pty_resize_master(p, cols, rows);
    if (e < 0) {
        problem_set(&err, 502, PROBLEM_STREAM_ERROR, "resize failed: %s", strerror(-e));
        http_reply_problem(req, &err);
        return;
    }
    o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "cols", cols);
    cJSON_AddNumberToObject(o, "rows", rows);
    http_reply_json(req, 200, o);
    cJSON_Delete(o);
}

static void handle_logs(struct http_req *req)
{
    struct proc *p = lookup(req);

    if (p)
        proc_logs_handle(req, p);
}

static void handle_terminal_ws(struct http_req *req)
{
    struct proc *p = lookup(req);
    struct problem err;

    if (!p)
        return;
    if (!p->tty) {
        problem_set(&err, 409, PROBLEM_CONFLICT, "process is not running in tty mode");
        http_reply_problem(req, &err);
        return;
    }
    if (!http_is_upgrade(req)) {
        problem_set(&err, 400, PROBLEM_INVALID_REQUEST,
                    "this endpoint is a WebSocket: send `Connection: upgrade` and "
                    "`Upgrade: websocket`");
        http_reply_problem(req, &err);
        return;
    }
    {
        bool hangup = false;
        uint64_t since;
        if (query_bool(http_query(req), "hangup", &hangup, &err) < 0 ||
            query_u64(http_query(req), "since", UINT64_MAX - 1, &since, &err) < 0) {
            http_reply_problem(req, &err);
            return;
        }
    }
    /* An upgrade that passes these checks proceeds to proc_terminal_open(). */
}

/* The endpoints of this file. */
static const struct route routes[] = {
    {HTTP_GET, "/v1/processes/config", handle_get_config, 0},
    {HTTP_POST, "/v1/processes/config", handle_set_config, ROUTE_JSON_BODY},
    {HTTP_POST, "/v1/processes", handle_create, ROUTE_JSON_BODY},
    {HTTP_GET, "/v1/processes", handle_list, 0},
    {HTTP_GET, "/v1/processes/{}", handle_get, 0},
    {HTTP_DELETE, "/v1/processes/{}", handle_delete, 0},
    {HTTP_POST, "/v1/processes/{}/stop", handle_stop, 0},
    {HTTP_POST, "/v1/processes/{}/kill", handle_kill, 0},
    {HTTP_GET, "/v1/processes/{}/logs", handle_logs, 0},
    {HTTP_POST, "/v1/processes/{}/input", handle_input, ROUTE_JSON_BODY},
    {HTTP_POST, "/v1/processes/{}/terminal/resize", handle_resize, ROUTE_JSON_BODY},
    {HTTP_GET, "/v1/processes/{}/terminal/ws", handle_terminal_ws, ROUTE_WEBSOCKET,
     proc_terminal_open},
};
static const struct route_table proc__routes = ROUTE_TABLE(routes);

void proc_register(route_add_fn add)
{
    add(&proc__run_routes); /* proc_run.c: POST /v1/processes/run */
    add(&proc__routes);     /* here: config, create, list, get, stop, kill, delete, logs, input,
                               resize, terminal */
}
