/*
 * acp: ACP servers, one agent process each.
 *
 * The agent is a child in its own process group with three pipes.  Its
 * stdout is split into lines (each at most LIM_ACP_LINE_BYTES; a longer one
 * is dropped and logged); every line that is JSON becomes an event with the
 * next id in the server's replay ring (LIM_ACP_REPLAY_EVENTS) and wakes the
 * SSE subscribers, who pull from the ring at their own pace.  A response
 * whose id matches a waiting POST answers it.  Its stderr is kept as a
 * bounded tail for errors.
 *
 * When the agent exits (and its stdout is drained), subscribers get the
 * `_adapter/agent_exited` notification and every waiting POST a 502 with
 * the stderr tail.  A request the agent does not answer gets a 504 after
 * the request timeout.  DELETE unlists the server at once, SIGTERMs the
 * group, SIGKILLs it after LIM_ACP_KILL_GRACE_MS.
 */
#include "acp.h"

#include "acp_internal.h"

#include "../process/proc.h"
#include "../stream/clock.h"
#include "../stream/log.h"
#include "../stream/xmalloc.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

struct acp_pending {
    struct acp_pending *next;
    struct acp_server *srv;
    char *key; /* the request id, as compact JSON */
    struct http_req *req;
    uv_timer_t timer;
};

static uv_loop_t *acp_loop;
static struct acp_server *servers; /* sorted by id */
static uint64_t request_timeout_ms = LIM_ACP_REQUEST_TIMEOUT_MS;

struct acp_server *acp_find(const char *id)
{
    for (struct acp_server *s = servers; s; s = s->next)
        if (strcmp(s->id, id) == 0)
            return s;
    return NULL;
}

struct acp_server *acp_first(void)
{
    return servers;
}

void acp_ref(struct acp_server *s)
{
    s->refs++;
}

/* ---- watchers -------------------------------------------------------------------------------- */

void acp_watch(struct acp_server *s, struct acp_watcher *w)
{
    w->next = s->watchers;
    s->watchers = w;
}

void acp_unwatch(struct acp_server *s, struct acp_watcher *w)
{
    struct acp_watcher **pp;

    for (pp = &s->watchers; *pp && *pp != w; pp = &(*pp)->next)
        ;
    if (*pp)
        *pp = w->next;
    w->next = NULL;
}

static void notify_watchers(struct acp_server *s, bool ended)
{
    for (struct acp_watcher *w = s->watchers; w; w = w->next)
        w->notify(w, s, ended);
}

static void ring_clear(struct acp_server *s)
{
    for (size_t i = 0; i < s->ring_count; i++)
        free(s->ring[(s->ring_first + i) % LIM_ACP_REPLAY_EVENTS].text);
    s->ring_count = 0;
}

void acp_unref(struct acp_server *s)
{
    if (--s->refs)
        return;
    ring_clear(s);
    buf_done(&s->line);
    free(s->id);
    free(s);
}

static void unlist(struct acp_server *s)
{
    struct acp_server **pp;

    if (!s->listed)
        return;
    for (pp = &servers; *pp != s; pp = &(*pp)->next)
        ;
    *pp = s->next;
    s->listed = false;
    acp_unref(s);
}

/* ---- events ---------------------------------------------------------------------------------- */

const struct acp_event *acp_event_after(const struct acp_server *s, uint64_t after)
{
    const struct acp_event *oldest;

    if (!s->ring_count)
        return NULL;
    oldest = &s->ring[s->ring_first];
    if (after < oldest->id)
        return oldest; /* fell behind the ring: resume at the oldest retained */
    if (after >= s->last_id)
        return NULL;
    /* Ids are consecutive within the ring. */
    return &s->ring[(s->ring_first + (size_t)(after + 1 - oldest->id)) % LIM_ACP_REPLAY_EVENTS];
}

static void publish(struct acp_server *s, const char *text, size_t len)
{
    struct acp_event *e;

    while (s->ring_count &&
           (s->ring_count == LIM_ACP_REPLAY_EVENTS || s->ring_bytes + len > LIM_ACP_REPLAY_BYTES)) {
        e = &s->ring[s->ring_first];
        s->ring_bytes -= e->len;
        free(e->text);
        s->ring_first = (s->ring_first + 1) % LIM_ACP_REPLAY_EVENTS;
        s->ring_count--;
    }
    e = &s->ring[(s->ring_first + s->ring_count) % LIM_ACP_REPLAY_EVENTS];
    e->id = ++s->last_id;
    e->text = xmalloc(len + 1);
    memcpy(e->text, text, len);
    e->text[len] = '\0';
    e->len = len;
    s->ring_count++;
    s->ring_bytes += len;
    notify_watchers(s, false);
}

/* ---- pending requests ------------------------------------------------------------------------ */

static void pending_closed(uv_handle_t *h)
{
    struct acp_pending *p = h->data;

    http_req_unref(p->req);
    free(p->key);
    free(p);
}

static void pending_remove(struct acp_pending *p)
{
    struct acp_pending **pp;

    for (pp = &p->srv->pending; *pp != p; pp = &(*pp)->next)
        ;
    *pp = p->next;
    http_set_ctx(p->req, NULL, NULL);
    uv_timer_stop(&p->timer);
    uv_close((uv_handle_t *)&p->timer, pending_closed);
}

void acp_reply_failure(struct http_req *req, const char *key, const struct problem *err)
{
    cJSON *msg, *e, *id, *data;
    const char *detail;
    struct buf b;

    if (!key) {
        http_reply_problem(req, err);
        return;
    }
    buf_init(&b, 64 * 1024);
    id = cJSON_Parse(key);
    data = problem_render(err, &b) == 0 ? cJSON_ParseWithLength(b.data, b.len) : NULL;
    buf_done(&b);
    msg = cJSON_CreateObject();
    cJSON_AddStringToObject(msg, "jsonrpc", "2.0");
    cJSON_AddItemToObject(msg, "id", id ? id : cJSON_CreateNull());
    e = cJSON_AddObjectToObject(msg, "error");
    cJSON_AddNumberToObject(e, "code", ACP_BRIDGE_ERROR);
    /* The problem's detail, as a problem+json reply would have said it. */
    detail = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(data, "detail"));
    cJSON_AddStringToObject(e, "message", detail ? detail : err->message);
    if (data)
        cJSON_AddItemToObject(e, "data", data);
    if (err->status >= 500)
        log_debug("acp", "request %s -> JSON-RPC error (%d %s)", key, err->status, err->message);
    http_reply_json(req, 200, msg);
    cJSON_Delete(msg);
}

static void pending_fail(struct acp_pending *p, const struct problem *err)
{
    if (http_req_alive(p->req) && !http_replied(p->req))
        acp_reply_failure(p->req, p->key, err);
    pending_remove(p);
}

static void pending_timeout(uv_timer_t *t)
{
    struct acp_pending *p = t->data;
    struct problem err;

    problem_set(&err, 504, PROBLEM_TIMEOUT,
                "agent '%s' did not answer request %s on server '%s' within %" PRIu64 " ms",
                p->srv->agent->id, p->key, p->srv->id, request_timeout_ms);
    log_warn("acp", "%s", err.message);
    pending_fail(p, &err);
}

static void pending_abort(struct http_req *req, void *ctx)
{
    struct acp_pending *p = ctx;

    /* The client left: its answer has nowhere to go (the event is still published). */
    pending_remove(p);
}

static void pending_ctx_free(struct http_req *req, void *ctx)
{
}

static const struct http_ctx_ops pending_ctx_ops = {pending_ctx_free, pending_abort};

static void answer_pending(struct acp_server *s, const cJSON *msg, const char *text, size_t len)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(msg, "id");
    struct acp_pending *p;
    char *key;

    if (!id || cJSON_HasObjectItem(msg, "method"))
        return;
    key = cJSON_PrintUnformatted(id);
    for (p = s->pending; p; p = p->next)
        if (strcmp(p->key, key) == 0)
            break;
    free(key);
    if (!p)
        return;
    if (http_req_alive(p->req) && !http_replied(p->req)) {
        http_reply(p->req, 200, "application/json", xstrndup(text, len), len);
    }
    pending_remove(p);
}

/* ---- the agent's output ---------------------------------------------------------------------- */

/*
 * Reads what the agent's stderr pipe already holds into the tail, now: an
 * agent that explains on stderr and then answers with an error wrote the
 * explanation first, but the loop may see its stdout first.
 */
static void drain_stderr(struct acp_server *s)
{
    char buf[4096];
    uv_os_fd_t fd;
    ssize_t n;

    if (uv_is_closing((uv_handle_t *)&s->err) || uv_fileno((uv_handle_t *)&s->err, &fd) < 0)
        return;
    /* Never block the loop: libuv keeps its end non-blocking, but check. */
    if (!(fcntl(fd, F_GETFL) & O_NONBLOCK))
        return;
    while ((n = read(fd, buf, sizeof(buf))) > 0)
        tail_keep(s->tail, sizeof(s->tail), &s->tail_len, buf, (size_t)n);
}

static const char *tail_lines(const struct acp_server *s, size_t max, size_t *ret_len);

/* The tail's last lines as one log line (malloc'd): line breaks become " | ". */
static char *tail_for_log(const struct acp_server *s)
{
    size_t n, o = 0;
    const char *t = tail_lines(s, 2048, &n);
    char *out = xmalloc(3 * n + 1);

    while (n && (t[n - 1] == '\n' || t[n - 1] == '\r'))
        n--;
    for (size_t i = 0; i < n; i++) {
        if (t[i] == '\n') {
            memcpy(out + o, " | ", 3);
            o += 3;
        } else if (t[i] != '\r') {
            out[o++] = t[i];
        }
    }
    out[o] = '\0';
    return out;
}

static bool is_error_response(const cJSON *msg)
{
    return cJSON_HasObjectItem(msg, "id") && !cJSON_HasObjectItem(msg, "method") &&
           cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(msg, "error"));
}

/* The last lines of the stderr tail (at most max bytes, starting at a line, valid UTF-8 start). */
static const char *tail_lines(const struct acp_server *s, size_t max, size_t *ret_len)
{
    size_t start = s->tail_len > max ? s->tail_len - max : 0;
    const char *nl;

    if (start && (nl = memchr(s->tail + start, '\n', s->tail_len - start)) &&
        (size_t)(nl + 1 - s->tail) < s->tail_len)
        start = (size_t)(nl + 1 - s->tail);
    while (start < s->tail_len && ((unsigned char)s->tail[start] & 0xC0) == 0x80)
        start++;
    *ret_len = s->tail_len - start;
    return s->tail + start;
}

/*
 * An error response from the agent, with the end of its stderr added as
 * error.data.agentStderr (when data is absent or an object), logged once at
 * warn.  Returns the new line (malloc'd) or NULL to pass the original on.
 */
static char *error_with_stderr(struct acp_server *s, cJSON *msg)
{
    cJSON *e = cJSON_GetObjectItemCaseSensitive(msg, "error");
    cJSON *data = cJSON_GetObjectItemCaseSensitive(e, "data");
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(e, "code");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(e, "message");
    char *id = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(msg, "id"));
    size_t n;
    const char *t = tail_lines(s, 2048, &n);
    char *copy = xstrndup(t, n), *out = NULL;

    char *line = tail_for_log(s);

    log_warn("acp",
             "server '%s': agent '%s' answered request %s with error %d (%s); its stderr "
             "ends with: %s",
             s->id, s->agent->id, id ? id : "?", cJSON_IsNumber(code) ? code->valueint : 0,
             cJSON_IsString(m) ? m->valuestring : "no message", line);
    free(line);
    if (!data) {
        data = cJSON_AddObjectToObject(e, "data");
    }
    if (cJSON_IsObject(data) && !cJSON_HasObjectItem(data, "agentStderr")) {
        cJSON_AddStringToObject(data, "agentStderr", copy);
        out = cJSON_PrintUnformatted(msg);
    }
    free(copy);
    free(id);
    return out;
}

static void on_line(struct acp_server *s, const char *line, size_t len)
{
    cJSON *msg;

    while (len && (line[len - 1] == '\r' || line[len - 1] == ' '))
        len--;
    if (!len)
        return;
    msg = cJSON_ParseWithLength(line, len);
    if (!cJSON_IsObject(msg)) {
        log_warn("acp",
                 "server '%s': agent '%s' wrote a line that is not a JSON object (%zu "
                 "bytes): dropped",
                 s->id, s->agent->id, len);
        cJSON_Delete(msg);
        return;
    }
    if (is_error_response(msg))
        drain_stderr(s);
    if (s->tail_len && is_error_response(msg)) {
        /* The agent said no: its stderr usually says why (issue 14). */
        char *with = error_with_stderr(s, msg);
        if (with) {
            publish(s, with, strlen(with));
            answer_pending(s, msg, with, strlen(with));
            free(with);
            cJSON_Delete(msg);
            return;
        }
    }
    publish(s, line, len);
    answer_pending(s, msg, line, len);
    cJSON_Delete(msg);
}

static void out_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    static char chunk[65536];

    b->base = chunk;
    b->len = sizeof(chunk);
}

static void maybe_finished(struct acp_server *s);
static void handle_closed(uv_handle_t *h);

static void on_out(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
    struct acp_server *s = st->data;
    const char *p = b->base, *end = b->base + (n > 0 ? n : 0), *nl;

    if (n < 0) {
        uv_read_stop(st);
        uv_close((uv_handle_t *)st, handle_closed);
        s->out_open = false;
        maybe_finished(s);
        return;
    }
    while (p < end) {
        nl = memchr(p, '\n', (size_t)(end - p));
        size_t take = (size_t)((nl ? nl : end) - p);
        if (!s->line_dropping && buf_append(&s->line, p, take) < 0) {
            log_warn("acp", "server '%s': agent '%s' wrote a line over %u bytes: dropped", s->id,
                     s->agent->id, LIM_ACP_LINE_BYTES);
            s->line_dropping = true;
            buf_reset(&s->line);
        }
        if (!nl)
            break;
        if (!s->line_dropping)
            on_line(s, s->line.data ? s->line.data : "", s->line.len);
        s->line_dropping = false;
        buf_reset(&s->line);
        p = nl + 1;
    }
}

static void on_err(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
    struct acp_server *s = st->data;

    if (n < 0) {
        uv_read_stop(st);
        uv_close((uv_handle_t *)st, handle_closed);
        return;
    }
    log_debug("acp", "%s stderr: %.*s", s->agent->id, (int)n, b->base);
    tail_keep(s->tail, sizeof(s->tail), &s->tail_len, b->base, (size_t)n);
}

/*
 * Appends "; its stderr ends with: <tail>" to err's message, quoting only as
 * much of the end of the agent's stderr as the message has room for: the last
 * lines say why it failed, so the front is what gets cut.  The quote starts at
 * a line when one starts close enough, else at a UTF-8 character.
 */
static void problem_add_tail(struct problem *err, const struct acp_server *s)
{
    static const char sep[] = "; its stderr ends with: ";
    size_t used = strnlen(err->message, sizeof(err->message)), room, start = 0;
    const char *nl;

    if (!s->tail_len || used + sizeof(sep) >= sizeof(err->message))
        return;
    room = sizeof(err->message) - used - sizeof(sep); /* sizeof(sep) counts the NUL */
    if (s->tail_len > room) {
        start = s->tail_len - room;
        nl = memchr(s->tail + start, '\n', room / 2);
        if (nl)
            start = (size_t)(nl + 1 - s->tail);
        while (start < s->tail_len && ((unsigned char)s->tail[start] & 0xC0) == 0x80)
            start++;
    }
    snprintf(err->message + used, sizeof(err->message) - used, "%s%.*s", sep,
             (int)(s->tail_len - start), s->tail + start);
}

/* Exited and stdout drained: tell the subscribers, fail what waits. */
static void maybe_finished(struct acp_server *s)
{
    char note[160], status[48];
    struct problem err;

    if (s->running || s->finished || s->out_open)
        return;
    s->finished = true;
    drain_stderr(s);
    if (s->term_signal)
        snprintf(status, sizeof(status), "signal %d", s->term_signal);
    else
        snprintf(status, sizeof(status), "exit code %" PRId64, s->exit_status);
    if (s->term_signal)
        snprintf(note, sizeof(note),
                 "{\"jsonrpc\":\"2.0\",\"method\":\"_adapter/agent_exited\",\"params\":"
                 "{\"success\":false,\"code\":null}}");
    else
        snprintf(note, sizeof(note),
                 "{\"jsonrpc\":\"2.0\",\"method\":\"_adapter/agent_exited\",\"params\":"
                 "{\"success\":%s,\"code\":%" PRId64 "}}",
                 s->exit_status == 0 ? "true" : "false", s->exit_status);
    publish(s, note, strlen(note));
    /*
     * The note is the streams' last event, deleted or not: a stream of a dead
     * agent has nothing more to say, and the SDK, which leaves the stream of
     * a connection whose initialize failed open, would wait on it forever.
     */
    notify_watchers(s, true);
    if ((s->exit_status == 0 && !s->term_signal) || !s->listed) { /* a clean exit, or DELETE */
        log_info("acp", "server '%s': agent '%s' exited (%s)", s->id, s->agent->id, status);
    } else {
        char *line = tail_for_log(s);
        log_warn("acp", "server '%s': agent '%s' exited (%s)%s%s", s->id, s->agent->id, status,
                 *line ? "; its stderr ends with: " : "", line);
        free(line);
    }
    problem_set(&err, 502, PROBLEM_STREAM_ERROR, "agent '%s' exited (%s) before answering",
                s->agent->id, status);
    problem_add_tail(&err, s);
    while (s->pending)
        pending_fail(s->pending, &err);
}

static void handle_closed(uv_handle_t *h)
{
    acp_unref(h->data);
}

static void agent_exited(uv_process_t *p, int64_t status, int term_signal)
{
    struct acp_server *s = p->data;

    s->running = false;
    s->exit_status = status;
    s->term_signal = term_signal;
    uv_timer_stop(&s->kill_timer);
    if (!uv_is_closing((uv_handle_t *)&s->in))
        uv_close((uv_handle_t *)&s->in, handle_closed);
    uv_close((uv_handle_t *)p, handle_closed);
    /* After a DELETE nothing else will close the timer. */
    if (!s->listed)
        uv_close((uv_handle_t *)&s->kill_timer, handle_closed);
    maybe_finished(s);
}

/* ---- lifecycle ------------------------------------------------------------------------------- */

int acp_create(const char *id, const struct agent_adapter *a, struct acp_server **ret,
               struct problem *err)
{
    struct agent_cmd cmd = {0};
    struct proc_child c;
    struct acp_server *s, **pp;
    unsigned n = 0;
    int e;

    for (s = servers; s; s = s->next)
        n += s->running;
    if (n >= LIM_ACP_SERVERS)
        return problem_set(err, 409, PROBLEM_CONFLICT,
                           "%u ACP servers are running, the most agentd allows; DELETE one first",
                           n);
    if (agent_launch(a, &cmd, err) < 0)
        return -1;
    s = xcalloc(1, sizeof(*s));
    s->refs = 1;
    s->id = xstrdup(id);
    s->agent = a;
    s->created_ms = clock_real_ms();
    buf_init(&s->line, LIM_ACP_LINE_BYTES);
    uv_pipe_init(acp_loop, &s->in, 0);
    uv_pipe_init(acp_loop, &s->out, 0);
    uv_pipe_init(acp_loop, &s->err, 0);
    uv_timer_init(acp_loop, &s->kill_timer);
    s->in.data = s->out.data = s->err.data = s->proc.data = s->kill_timer.data = s;
    memset(&c, 0, sizeof(c));
    c.argv = (const char *const *)cmd.argv;
    c.in = &s->in;
    c.out = &s->out;
    c.err = &s->err;
    c.on_exit = agent_exited;
    c.env_set = (const char *const *)cmd.env;
    c.env_defaults = a->launch_env_defaults;
    e = proc_spawn_child(acp_loop, &s->proc, &c);
    /* Every handle holds a reference: s lives until the last one has closed. */
    s->refs += 5;
    if (e < 0) {
        problem_set(err, 502, PROBLEM_STREAM_ERROR, "failed to start agent process `%s`: %s",
                    cmd.argv[0], uv_strerror(e));
        agent_cmd_done(&cmd);
        uv_close((uv_handle_t *)&s->proc, handle_closed);
        uv_close((uv_handle_t *)&s->in, handle_closed);
        uv_close((uv_handle_t *)&s->out, handle_closed);
        uv_close((uv_handle_t *)&s->err, handle_closed);
        uv_close((uv_handle_t *)&s->kill_timer, handle_closed);
        acp_unref(s);
        return -1;
    }
    log_info("acp", "server '%s': started agent '%s' (%s, pid %d)", id, a->id, cmd.argv[0],
             s->proc.pid);
    agent_cmd_done(&cmd);
    s->running = true;
    s->out_open = true;
    uv_read_start((uv_stream_t *)&s->out, out_alloc, on_out);
    uv_read_start((uv_stream_t *)&s->err, out_alloc, on_err);
    for (pp = &servers; *pp && strcmp((*pp)->id, id) < 0; pp = &(*pp)->next)
        ;
    s->next = *pp;
    *pp = s;
    s->listed = true;
    *ret = s;
    return 0;
}

static void on_written(uv_write_t *w, int status)
{
    free(w->data);
    free(w);
}

int acp_send(struct acp_server *s, const char *line, size_t len, const char *key,
             struct http_req *req, struct problem *err)
{
    struct acp_pending *p;
    uv_write_t *w;
    uv_buf_t b;
    char *copy;

    if (!s->running || uv_is_closing((uv_handle_t *)&s->in)) {
        problem_set(err, 502, PROBLEM_STREAM_ERROR,
                    "agent '%s' of server '%s' is not running (it exited; DELETE the server and "
                    "start a new one)",
                    s->agent->id, s->id);
        problem_add_tail(err, s);
        return -1;
    }
    if (uv_stream_get_write_queue_size((uv_stream_t *)&s->in) > LIM_ACP_REPLAY_BYTES)
        return problem_set(err, 503, PROBLEM_STREAM_ERROR,
                           "agent '%s' is not reading its input; try again later", s->agent->id);
    if (key) {
        for (p = s->pending; p; p = p->next)
            if (strcmp(p->key, key) == 0) {
                problem_set(err, 409, PROBLEM_CONFLICT,
                            "a request with id %s is already waiting for agent '%s'", key,
                            s->agent->id);
                return -2;
            }
    }
    copy = xmalloc(len + 1);
    memcpy(copy, line, len);
    copy[len] = '\n';
    w = xmalloc(sizeof(*w));
    w->data = copy;
    b = uv_buf_init(copy, (unsigned)len + 1);
    if (uv_write(w, (uv_stream_t *)&s->in, &b, 1, on_written) < 0) {
        free(copy);
        free(w);
        return problem_set(err, 502, PROBLEM_STREAM_ERROR, "cannot write to agent '%s'",
                           s->agent->id);
    }
    if (!key)
        return 0;
    p = xcalloc(1, sizeof(*p));
    p->srv = s;
    p->key = xstrdup(key);
    p->req = req;
    http_req_ref(req);
    uv_timer_init(acp_loop, &p->timer);
    p->timer.data = p;
    uv_timer_start(&p->timer, pending_timeout, request_timeout_ms, 0);
    p->next = s->pending;
    s->pending = p;
    http_set_ctx(req, p, &pending_ctx_ops);
    return 0;
}

static void kill_timeout(uv_timer_t *t)
{
    struct acp_server *s = t->data;

    if (s->running) {
        log_warn("acp", "server '%s': agent '%s' ignored SIGTERM for %d ms: SIGKILL", s->id,
                 s->agent->id, LIM_ACP_KILL_GRACE_MS);
        uv_kill(-s->proc.pid, SIGKILL);
    }
}

static void terminate(struct acp_server *s)
{
    struct problem err;

    problem_set(&err, 502, PROBLEM_STREAM_ERROR, "ACP server '%s' was deleted", s->id);
    while (s->pending)
        pending_fail(s->pending, &err);
    if (s->running) {
        uv_kill(-s->proc.pid, SIGTERM);
        uv_timer_start(&s->kill_timer, kill_timeout, LIM_ACP_KILL_GRACE_MS, 0);
    }
    if (!uv_is_closing((uv_handle_t *)&s->in))
        uv_close((uv_handle_t *)&s->in, handle_closed);
    /* Subscribers hear `_adapter/agent_exited` first (maybe_finished ends their streams once
     * the agent is gone, within the kill grace), as the reference's do. */
    if (s->finished)
        notify_watchers(s, true);
}

void acp_remove(struct acp_server *s)
{
    log_info("acp", "server '%s' deleted", s->id);
    acp_ref(s);
    unlist(s);
    terminate(s);
    if (!uv_is_closing((uv_handle_t *)&s->kill_timer) && !s->running)
        uv_close((uv_handle_t *)&s->kill_timer, handle_closed);
    acp_unref(s);
}

void acp_init(uv_loop_t *loop)
{
    const char *env = getenv("AGENTD_ACP_REQUEST_TIMEOUT_MS");
    char *end;

    acp_loop = loop;
    if (!env || !*env)
        env = getenv("SANDBOX_AGENT_ACP_REQUEST_TIMEOUT_MS");
    if (env && *env) {
        unsigned long long v = strtoull(env, &end, 10);
        if (*end || v == 0)
            log_warn("acp", "ignoring request timeout '%s' (a number of milliseconds)", env);
        else
            request_timeout_ms = v;
    }
}

void acp_shutdown(void)
{
    while (servers)
        acp_remove(servers);
    /* Installs and version lookups too: an npm install must not hold the daemon's exit for
     * minutes (docker stop allows 10 s). */
    agent_shutdown();
    agent_version_shutdown();
}
