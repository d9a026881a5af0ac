/*
 * acp_routes: the HTTP side of the ACP bridge (spec 7.1-7.4).
 *
 *   GET    /v1/acp              the servers, sorted by id
 *   POST   /v1/acp/{id}[?agent] one JSON-RPC message to the agent: a request
 *                               waits for its response (200), anything else 202
 *   GET    /v1/acp/{id}         SSE of the agent's messages, replay first
 *   DELETE /v1/acp/{id}         204 at once; the agent is terminated
 *
 * A subscriber pulls events from the server's ring when it can write (a
 * slow one never makes agentd queue; one that falls behind the ring resumes
 * at the oldest retained event, the id gap shows it), with `: heartbeat`
 * after LIM_SSE_KEEPALIVE_MS of silence.
 *
 * A GET for a server that does not exist yet waits up to
 * LIM_ACP_EARLY_SUBSCRIBE_MS for the POST that creates it, then gets the
 * reference's 404.  The SDK opens its stream as it POSTs `initialize`, so its
 * GET usually arrives first; answered 404 at once, the SDK's stream stays
 * down until some later write restarts it, and the first prompt's updates
 * then come after its result.
 */
#include "acp.h"

#include "acp_internal.h"
#include "routes_internal.h"

#include "../stream/json.h"
#include "../stream/log.h"
#include "../stream/media.h"
#include "../stream/sse.h"
#include "../stream/xmalloc.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- content negotiation --------------------------------------------------------------------- */

static bool accept_allows(struct http_req *req, const char *type)
{
    char *h = http_header(req, "accept:");
    bool ok = media_accepts(h, type);

    free(h);
    return ok;
}

/* ---- GET /v1/acp ----------------------------------------------------------------------------- */

static void handle_list(struct http_req *req)
{
    cJSON *o = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(o, "servers");

    for (struct acp_server *s = acp_first(); s; s = s->next) {
        cJSON *e = cJSON_CreateObject();
        json_add_string(e, "serverId", s->id);
        json_add_string(e, "agent", s->agent->id);
        cJSON_AddNumberToObject(e, "createdAtMs", (double)s->created_ms);
        cJSON_AddItemToArray(arr, e);
    }
    http_reply_json(req, 200, o);
    cJSON_Delete(o);
}

/* ---- POST /v1/acp/{id} ----------------------------------------------------------------------- */

struct post {
    struct buf body;
};

static void post_free(struct http_req *req, void *ctx)
{
    struct post *p = ctx;

    buf_done(&p->body);
    free(p);
}

static const struct http_ctx_ops post_ctx_ops = {post_free, NULL};

/*
 * The first POST for an npm agent that is not installed installs it, as the
 * reference does: that POST and any that follow for the same server wait
 * ("parked", in order) until npm is done, then go through as usual, or all
 * get the install's problem.
 */
struct parked {
    struct parked *next;
    struct http_req *req; /* referenced */
    char *body;
    size_t len;
    char *key; /* a request's id (JSON text), else NULL */
};

struct install_wait {
    struct install_wait *next;
    char *id;
    struct agent_install in;
    struct parked *head, **tail;
};

static struct install_wait *installs;

static void post_process(struct http_req *req, const char *body, size_t len);
static void early_attach(struct acp_server *s);

static void park(struct install_wait *w, struct http_req *req, const char *body, size_t len,
                 const char *key)
{
    struct parked *p = xcalloc(1, sizeof(*p));

    p->req = req;
    http_req_ref(req);
    p->body = xstrndup(body, len);
    p->len = len;
    p->key = key ? xstrdup(key) : NULL;
    *w->tail = p;
    w->tail = &p->next;
}

static void install_finished(struct agent_install *in, const struct problem *err)
{
    struct install_wait *w = in->arg, **pp;
    struct parked *p;

    for (pp = &installs; *pp != w; pp = &(*pp)->next)
        ;
    *pp = w->next;
    if (err)
        log_warn("acp", "server '%s': installing agent '%s' failed: %s", w->id, in->agent->id,
                 err->message);
    while ((p = w->head) != NULL) {
        w->head = p->next;
        if (http_req_alive(p->req) && !http_replied(p->req)) {
            if (err)
                acp_reply_failure(p->req, p->key, err);
            else
                post_process(p->req, p->body, p->len);
        }
        http_req_unref(p->req);
        free(p->body);
        free(p->key);
        free(p);
    }
    free(w->id);
    free(w);
}

/* Parks this POST behind an install of a for server id; false when the install cannot start. */
static bool install_then_post(const char *id, const struct agent_adapter *a, struct http_req *req,
                              const char *body, size_t len, const char *key, struct problem *err)
{
    struct install_wait *w = xcalloc(1, sizeof(*w));

    w->id = xstrdup(id);
    w->tail = &w->head;
    w->in.agent = a;
    w->in.done = install_finished;
    w->in.arg = w;
    w->next = installs;
    installs = w;
    park(w, req, body, len, key);
    log_info("acp", "server '%s': agent '%s' is not installed; installing it first", id, a->id);
    /* On success done may already have run (and freed w). */
    if (a->install(http_loop(), &w->in, err) == 0)
        return true;
    installs = w->next;
    http_req_unref(w->head->req);
    free(w->head->body);
    free(w->head->key);
    free(w->head);
    free(w->id);
    free(w);
    return false;
}

/*
 * Finds or creates the server named in the path for this POST.  NULL with
 * err, or NULL with *parked when the POST now waits for an install.
 */
static struct acp_server *post_server(struct http_req *req, const char *body, size_t len,
                                      const char *key, bool *parked, struct problem *err)
{
    const char *id = http_param(req, 0), *agent_id = NULL;
    const struct agent_adapter *a = NULL;
    struct acp_server *s = acp_find(id);
    struct install_wait *w;
    struct agent_status st;
    int r = query_str(http_query(req), "agent", &agent_id, err);

    *parked = false;
    if (r < 0)
        return NULL;
    if (agent_id && !(a = agent_find(agent_id))) {
        agent_unknown(err, agent_id);
        return NULL;
    }
    for (w = installs; w && strcmp(w->id, id) != 0; w = w->next)
        ;
    if (s || w) {
        const struct agent_adapter *bound = s ? s->agent : w->in.agent;
        if (a && a != bound) {
            problem_set(err, 409, PROBLEM_CONFLICT,
                        "server '%s' already exists for agent '%s'; requested '%s'", id, bound->id,
                        a->id);
            return NULL;
        }
        if (w) {
            park(w, req, body, len, key);
            *parked = true;
            return NULL;
        }
        return s;
    }
    if (!a) {
        problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                    "missing required 'agent' query parameter for first POST to /v1/acp/%s", id);
        return NULL;
    }
    a->status(a, &st);
    if (!st.installed && a->npm[0].name) {
        *parked = install_then_post(id, a, req, body, len, key, err);
        return NULL;
    }
    if (acp_create(id, a, &s, err) < 0)
        return NULL;
    early_attach(s);
    return s;
}

static void post_process(struct http_req *req, const char *body, size_t len)
{
    struct problem err;
    struct acp_server *s;
    const char *ep = NULL;
    cJSON *msg = cJSON_ParseWithLengthOpts(body, len, &ep, 0);
    char *line = NULL, *key = NULL;
    bool parked;
    int r;

    /* Only whitespace may follow the value (a NUL would hide bytes from the parser). */
    if (msg && ep)
        ep += strspn(ep, " \t\r\n");
    if (!msg || memchr(body, '\0', len) || (ep && ep != body + len)) {
        problem_set(&err, 400, PROBLEM_INVALID_REQUEST,
                    "invalid JSON body: syntax error at byte %td", ep ? ep - body : 0);
        goto fail;
    }
    if (!cJSON_IsObject(msg)) {
        problem_set(&err, 400, PROBLEM_INVALID_REQUEST, "request body must be a JSON-RPC object");
        goto fail;
    }
    /*
     * A request: it has a method and an id (null counts).  From here on a
     * request that fails gets a JSON-RPC error with its id (acp_reply_failure).
     */
    if (cJSON_HasObjectItem(msg, "method") && cJSON_HasObjectItem(msg, "id"))
        key = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(msg, "id"));
    s = post_server(req, body, len, key, &parked, &err);
    if (parked)
        goto done;
    if (!s)
        goto fail;
    /*
     * The body goes to the agent as sent (numbers keep their exact text);
     * JSON has no raw line breaks inside strings, so a pretty-printed body
     * becomes one line by turning its line breaks into spaces.
     */
    line = xstrndup(body, len);
    for (char *c = line; *c; c++)
        if (*c == '\n' || *c == '\r')
            *c = ' ';
    r = acp_send(s, line, len, key, req, &err);
    if (r == -2) { /* the id is taken: answering it would settle the other request */
        http_reply_problem(req, &err);
        goto done;
    }
    if (r < 0)
        goto fail;
    if (!key)
        http_reply_empty(req, 202);
    goto done;
fail:
    acp_reply_failure(req, key, &err);
done:
    free(line);
    free(key);
    cJSON_Delete(msg);
}

static int post_data(struct http_req *req, const void *p, size_t n)
{
    struct post *ps = http_ctx(req);
    struct problem err;

    if (buf_append(&ps->body, p, n) < 0) {
        problem_set(&err, 413, PROBLEM_INVALID_REQUEST, "ACP messages are limited to %u bytes",
                    LIM_ACP_LINE_BYTES);
        http_reply_problem(req, &err);
        return -1;
    }
    return 0;
}

static void post_end(struct http_req *req)
{
    struct post *ps = http_ctx(req);
    struct buf body = ps->body;

    /* The body moves out of the context: the pending request may replace it. */
    buf_init(&ps->body, 0);
    http_set_ctx(req, NULL, NULL);
    post_free(req, ps);
    post_process(req, body.data ? body.data : "", body.len);
    buf_done(&body);
}

static const struct http_body_ops post_body_ops = {post_data, post_end};

static void handle_post(struct http_req *req)
{
    char *ct = http_header(req, "content-type:");
    bool json = json_content_type_ok(ct);
    struct problem err;
    struct post *ps;

    free(ct);
    if (!json) {
        problem_set(&err, 415, PROBLEM_UNSUPPORTED_MEDIA_TYPE,
                    "content-type must be application/json");
        http_reply_problem(req, &err);
        return;
    }
    if (!accept_allows(req, "application/json")) {
        problem_set(&err, 406, PROBLEM_NOT_ACCEPTABLE, "accept must allow application/json");
        http_reply_problem(req, &err);
        return;
    }
    if (http_content_length(req) > (int64_t)LIM_ACP_LINE_BYTES) {
        problem_set(&err, 413, PROBLEM_INVALID_REQUEST,
                    "request body is %" PRId64 " bytes; ACP messages are limited to %u bytes",
                    http_content_length(req), LIM_ACP_LINE_BYTES);
        http_reply_problem(req, &err);
        return;
    }
    if (!http_has_body(req)) {
        post_process(req, "", 0);
        return;
    }
    ps = xcalloc(1, sizeof(*ps));
    buf_init(&ps->body, LIM_ACP_LINE_BYTES);
    http_set_ctx(req, ps, &post_ctx_ops);
    http_body_stream(req, &post_body_ops);
}

/* ---- GET /v1/acp/{id}: SSE ------------------------------------------------------------------- */

struct acp_sub {
    struct acp_watcher w;   /* first member: on srv's watchers while streaming */
    struct acp_sub *next;   /* on `early` while waiting for the server */
    struct acp_server *srv; /* referenced; NULL while waiting for the server (on `early`) */
    char *early_id;         /* the server waited for */
    struct http_req *req;
    struct sse_stream *sse; /* once streaming */
    uint64_t after;         /* last event id sent */
    struct buf out;         /* the event being written */
    bool ended;             /* the server is gone: finish what is retained, then end */
    uv_timer_t timer;       /* the wait for the server */
};

static struct acp_sub *early; /* subscribers waiting for their server to be created */

/* The server retained an event, or went: the stream writes on. */
static void sub_notify(struct acp_watcher *w, struct acp_server *s, bool ended)
{
    struct acp_sub *u = (struct acp_sub *)w;

    if (ended)
        u->ended = true;
    sse_wake(u->sse);
}

static void sub_timer_closed(uv_handle_t *h)
{
    struct acp_sub *u = h->data;

    buf_done(&u->out);
    if (u->srv)
        acp_unref(u->srv);
    free(u->early_id);
    free(u);
}

/* The subscriber goes: off the server's watchers or the early list, then freed. */
static void sub_release(void *arg)
{
    struct acp_sub *u = arg, **pp;

    if (u->srv) {
        acp_unwatch(u->srv, &u->w);
    } else {
        for (pp = &early; *pp && *pp != u; pp = &(*pp)->next)
            ;
        if (*pp)
            *pp = u->next;
    }
    uv_timer_stop(&u->timer);
    uv_close((uv_handle_t *)&u->timer, sub_timer_closed);
}

/* While it waits for its server, the subscriber is the request's context itself. */
static void sub_free(struct http_req *req, void *ctx)
{
    (void)req;
    sub_release(ctx);
}

static const struct http_ctx_ops sub_ctx_ops = {sub_free, NULL};

/* The next retained event, formatted (sse_pull_ops.next). */
static ssize_t sub_next(void *arg, const char **ret)
{
    struct acp_sub *u = arg;
    const struct acp_event *e = acp_event_after(u->srv, u->after);

    if (!e)
        return u->ended ? SSE_END : 0;
    u->after = e->id;
    buf_reset(&u->out);
    buf_printf(&u->out, "event: message\nid: %" PRIu64 "\ndata: %s\n\n", e->id, e->text);
    *ret = u->out.data;
    return (ssize_t)u->out.len;
}

static const struct sse_pull_ops sub_ops = {sub_next, sub_release};

/*
 * Streams `s` to the subscriber from its Last-Event-ID on.  The SSE source
 * packs every retained event that fits into one write: a burst (a mock turn
 * is a dozen updates and the response) leaves in one write, before the
 * POST's reply that is kicked after this subscriber, so a client reads a
 * turn's updates before the response that ends it.
 */
static void sub_start(struct acp_sub *u, struct acp_server *s)
{
    u->srv = s;
    acp_ref(s);
    /*
     * An id beyond the last event (a client of an earlier server with this
     * id, ids restart at 1) replays nothing, but live events still flow.
     */
    if (u->after > s->last_id)
        u->after = s->last_id;
    u->ended = s->finished; /* its agent is gone: what is retained, then the end */
    u->w.notify = sub_notify;
    acp_watch(s, &u->w);
    /* ACP keeps alive with `: heartbeat` (the reference's; process logs send a lone colon). */
    u->sse = sse_pull_start(u->req, &sub_ops, u, ": heartbeat\n\n");
}

static void early_unlink(struct acp_sub *u)
{
    struct acp_sub **pp;

    for (pp = &early; *pp != u; pp = &(*pp)->next)
        ;
    *pp = u->next;
    u->next = NULL;
}

/* No POST created the server in time: the reference's 404. */
static void sub_early_expired(uv_timer_t *t)
{
    struct acp_sub *u = t->data;
    struct problem err;

    early_unlink(u);
    problem_with_id(&err, 404, PROBLEM_SESSION_NOT_FOUND, u->early_id, "%s", u->early_id);
    http_reply_problem(u->req, &err);
}

/* A POST has just created `s`: the subscribers waiting for it start streaming. */
static void early_attach(struct acp_server *s)
{
    struct acp_sub **pp = &early, *u;

    while ((u = *pp)) {
        if (strcmp(u->early_id, s->id) != 0) {
            pp = &u->next;
            continue;
        }
        *pp = u->next;
        uv_timer_stop(&u->timer);
        sub_start(u, s);
    }
}

static void handle_subscribe(struct http_req *req)
{
    const char *id = http_param(req, 0);
    struct acp_server *s = acp_find(id);
    char *last = http_header(req, "last-event-id:"), *end;
    uint64_t after = 0;
    struct problem err;
    struct acp_sub *u;

    if (!accept_allows(req, "text/event-stream")) {
        problem_set(&err, 406, PROBLEM_NOT_ACCEPTABLE, "accept must allow text/event-stream");
        goto fail;
    }
    if (last) {
        errno = 0;
        after = strtoull(last, &end, 10);
        if (!*last || *end || errno || !isdigit((unsigned char)last[0])) {
            problem_set(&err, 400, PROBLEM_INVALID_REQUEST,
                        "Last-Event-ID must be a positive integer");
            goto fail;
        }
        /*
         * An id beyond the last event (a client of an earlier server with this
         * id, ids restart at 1) replays nothing, but live events still flow.
         */
    }
    free(last);
    last = NULL;
    /*
     * The agent is gone and this client has had every event: a stream would
     * end at once, and a client that reconnects (the SDK, after 150 ms) would
     * do so forever.  A non-2xx ends its loop.
     */
    if (s && s->finished && after >= s->last_id) {
        problem_set(&err, 410, PROBLEM_STREAM_ERROR,
                    "agent '%s' of server '%s' has exited and its %" PRIu64
                    " events were all delivered; DELETE the server and start a new one",
                    s->agent->id, s->id, s->last_id);
        goto fail;
    }
    u = xcalloc(1, sizeof(*u));
    u->req = req;
    u->after = after;
    buf_init(&u->out, LIM_ACP_LINE_BYTES + 64);
    uv_timer_init(http_loop(), &u->timer);
    u->timer.data = u;
    http_set_ctx(req, u, &sub_ctx_ops);
    if (s) {
        sub_start(u, s);
        return;
    }
    u->early_id = xstrdup(id);
    u->next = early;
    early = u;
    uv_timer_start(&u->timer, sub_early_expired, LIM_ACP_EARLY_SUBSCRIBE_MS, 0);
    return;
fail:
    free(last);
    http_reply_problem(req, &err);
}

/* ---- DELETE /v1/acp/{id} --------------------------------------------------------------------- */

static void handle_delete(struct http_req *req)
{
    struct acp_server *s = acp_find(http_param(req, 0));

    if (s)
        acp_remove(s);
    http_reply_empty(req, 204);
}

/* The endpoints of this file. */
static const struct route routes[] = {
    {HTTP_GET, "/v1/acp", handle_list, 0},
    {HTTP_POST, "/v1/acp/{}", handle_post, ROUTE_STREAM_BODY},
    {HTTP_GET, "/v1/acp/{}", handle_subscribe, 0},
    {HTTP_DELETE, "/v1/acp/{}", handle_delete, 0},
};
static const struct route_table acp__routes = ROUTE_TABLE(routes);

void acp_register(route_add_fn add)
{
    add(&acp__routes);        /* here: the ACP bridge, /v1/acp */
    add(&acp__agent_routes);  /* agent_routes.c: /v1/agents */
    add(&acp__config_routes); /* config_routes.c: /v1/config/mcp and /v1/config/skills */
}
