/*
 * proc_run: POST /v1/processes/run, a one-shot command with captured output.
 *
 * The child gets /dev/null as stdin, its own process group, and
 * TERM=xterm-256color unless the request sets TERM.  The reply waits for
 * the exit and the end of both output pipes, except after a timeout: then
 * the whole group is killed and, should something outside the group still
 * hold the pipes, they are closed after a short grace period, so the answer
 * comes within timeoutMs plus that grace whatever the child left behind.
 * A client that goes away takes its command with it (the group is killed).
 */
#include "proc_decode.h"
#include "proc_internal.h"

#include "../stream/buf.h"
#include "../stream/json.h"
#include "../stream/log.h"
#include "../stream/xmalloc.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#define RUN_PIPE_GRACE_MS 250

struct run {
    struct http_req *req; /* referenced until the run is freed */
    uv_process_t uvp;
    uv_pipe_t out, err;
    uv_timer_t timer;      /* timeout, then grace */
    int handles;           /* open uv handles */
    struct buf obuf, ebuf; /* captured output, bounded by max_output */
    size_t max_output;
    bool otrunc, etrunc;
    int open_streams;
    bool exited, timed_out, signaled, replied, grace;
    int64_t status;
    uint64_t started; /* uv_now at spawn */
    pid_t pid;
    struct run *next; /* live runs */
};

static struct run *runs;

static void run_unlink(struct run *r)
{
    for (struct run **pp = &runs; *pp; pp = &(*pp)->next) {
        if (*pp == r) {
            *pp = r->next;
            return;
        }
    }
}

static void run_handle_closed(uv_handle_t *h)
{
    struct run *r = h->data;

    if (--r->handles > 0)
        return;
    run_unlink(r);
    http_set_ctx(r->req, NULL, NULL);
    buf_done(&r->obuf);
    buf_done(&r->ebuf);
    http_req_unref(r->req);
    free(r);
}

static void run_close(struct run *r, uv_handle_t *h)
{
    if (!uv_is_closing(h))
        uv_close(h, run_handle_closed);
}

static void run_reply(struct run *r)
{
    struct buf b;
    char *text;
    size_t len;

    if (r->replied)
        return;
    r->replied = true;
    uv_timer_stop(&r->timer);
    if (http_req_alive(r->req)) {
        /* Built by hand: captured output may contain NUL, which cJSON strings cannot. */
        buf_init(&b, 8 * r->max_output + 4096);
        if (r->exited && !r->signaled && !r->timed_out)
            buf_printf(&b, "{\"exitCode\":%lld,", (long long)r->status);
        else
            buf_printf(&b, "{\"exitCode\":null,");
        buf_printf(&b, "\"timedOut\":%s,\"stdout\":", r->timed_out ? "true" : "false");
        json_escape_bytes(&b, r->obuf.data ? r->obuf.data : "", r->obuf.len);
        buf_append_str(&b, ",\"stderr\":");
        json_escape_bytes(&b, r->ebuf.data ? r->ebuf.data : "", r->ebuf.len);
        buf_printf(&b, ",\"stdoutTruncated\":%s,\"stderrTruncated\":%s,\"durationMs\":%llu}",
                   r->otrunc ? "true" : "false", r->etrunc ? "true" : "false",
                   (unsigned long long)(uv_now(http_loop()) - r->started));
        text = buf_steal(&b, &len);
        http_reply(r->req, 200, "application/json", text, len);
    }
    run_close(r, (uv_handle_t *)&r->out);
    run_close(r, (uv_handle_t *)&r->err);
    run_close(r, (uv_handle_t *)&r->timer);
    if (r->exited)
        run_close(r, (uv_handle_t *)&r->uvp);
}

static void run_maybe_done(struct run *r)
{
    if (r->exited && (r->open_streams == 0 || r->grace))
        run_reply(r);
}

static void run_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct run *r = s->data;
    bool is_out = (uv_pipe_t *)s == &r->out;
    struct buf *dst = is_out ? &r->obuf : &r->ebuf;
    bool *trunc = is_out ? &r->otrunc : &r->etrunc;

    if (n > 0) {
        size_t room = r->max_output - dst->len, take = (size_t)n < room ? (size_t)n : room;
        if (take)
            buf_append(dst, b->base, take);
        if (take < (size_t)n)
            *trunc = true;
        return;
    }
    if (n == 0)
        return;
    uv_read_stop(s);
    r->open_streams--;
    run_maybe_done(r);
}

static void run_exit(uv_process_t *h, int64_t status, int term_signal)
{
    struct run *r = h->data;

    r->exited = true;
    r->status = status;
    r->signaled = term_signal != 0;
    if (r->replied)
        run_close(r, (uv_handle_t *)&r->uvp);
    else
        run_maybe_done(r);
}

static void run_timer(uv_timer_t *t)
{
    struct run *r = t->data;

    if (!r->timed_out) {
        r->timed_out = true;
        kill(-r->pid, SIGKILL);
        /* Give the pipes a moment to drain, then answer regardless. */
        uv_timer_start(&r->timer, run_timer, RUN_PIPE_GRACE_MS, 0);
        return;
    }
    r->grace = true;
    if (r->exited)
        run_reply(r);
    else
        uv_timer_start(&r->timer, run_timer, RUN_PIPE_GRACE_MS, 0);
}

static void run_aborted(struct http_req *req, void *ctx)
{
    struct run *r = ctx;

    (void)req;
    if (!r->exited)
        kill(-r->pid, SIGKILL);
}

static const struct http_ctx_ops run_ctx_ops = {NULL, run_aborted};

static void handle_run(struct http_req *req)
{
    struct proc_cmd c;
    struct problem err;
    uv_process_options_t o;
    uv_stdio_container_t stdio[3];
    struct run *r;
    char **argv, **envp;
    uint64_t timeout;
    size_t len;
    const char *body = http_body(req, &len);
    int e;

    if (proc_cmd_decode(body, len, true, &c, &err) < 0) {
        http_reply_problem(req, &err);
        return;
    }
    timeout = c.timeout_ms ? c.timeout_ms : proc_cfg.default_timeout;
    if (timeout > proc_cfg.max_timeout)
        timeout = proc_cfg.max_timeout;

    r = xcalloc(1, sizeof(*r));
    r->req = req;
    http_req_ref(req);
    r->max_output =
        (size_t)(c.has_max_output && c.max_output < proc_cfg.max_output ? c.max_output
                                                                        : proc_cfg.max_output);
    buf_init(&r->obuf, r->max_output);
    buf_init(&r->ebuf, r->max_output);
    uv_pipe_init(http_loop(), &r->out, 0);
    uv_pipe_init(http_loop(), &r->err, 0);
    uv_timer_init(http_loop(), &r->timer);
    r->out.data = r->err.data = r->timer.data = r->uvp.data = r;
    r->handles = 4;

    argv = proc_build_argv(c.command, c.args, c.nargs);
    envp = proc_build_env((const char *const *)c.env, c.nenv, true);
    memset(&o, 0, sizeof(o));
    stdio[0].flags = UV_IGNORE; /* /dev/null */
    stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    stdio[1].data.stream = (uv_stream_t *)&r->out;
    stdio[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    stdio[2].data.stream = (uv_stream_t *)&r->err;
    o.file = c.command;
    o.args = argv;
    o.env = envp;
    o.cwd = c.cwd;
    o.flags = UV_PROCESS_DETACHED;
    o.stdio_count = 3;
    o.stdio = stdio;
    o.exit_cb = run_exit;
    proc_cloexec_all();
    r->started = uv_now(http_loop());
    e = uv_spawn(http_loop(), &r->uvp, &o);
    proc_free_strv(argv);
    proc_free_strv(envp);
    if (e < 0) {
        problem_set(&err, 502, PROBLEM_STREAM_ERROR, "failed to spawn process `%s`: %s", c.command,
                    uv_strerror(e));
        http_reply_problem(req, &err);
        r->replied = true;
        run_close(r, (uv_handle_t *)&r->uvp);
        run_close(r, (uv_handle_t *)&r->out);
        run_close(r, (uv_handle_t *)&r->err);
        run_close(r, (uv_handle_t *)&r->timer);
        proc_cmd_done(&c);
        return;
    }
    proc_cmd_done(&c);
    r->pid = r->uvp.pid;
    r->open_streams = 2;
    r->next = runs;
    runs = r;
    http_set_ctx(req, r, &run_ctx_ops);
    uv_read_start((uv_stream_t *)&r->out, proc_read_alloc, run_read);
    uv_read_start((uv_stream_t *)&r->err, proc_read_alloc, run_read);
    uv_timer_start(&r->timer, run_timer, timeout, 0);
}

void proc_run_shutdown(void)
{
    for (struct run *r = runs; r; r = r->next) {
        if (!r->exited)
            kill(-r->pid, SIGKILL);
        r->grace = true;
        r->exited = true; /* do not wait for the exit callback at shutdown */
        run_reply(r);
        run_close(r, (uv_handle_t *)&r->uvp);
    }
}

/* The endpoint of this file (registered by proc_register(), proc_routes.c). */
static const struct route routes[] = {
    {HTTP_POST, "/v1/processes/run", handle_run, ROUTE_JSON_BODY},
};
const struct route_table proc__run_routes = ROUTE_TABLE(routes);
