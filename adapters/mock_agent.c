/*
 * mock_agent: the protocol side of the built-in mock ACP agent.  It splits
 * the client's byte stream into bounded lines, checks each JSON-RPC 2.0
 * envelope, dispatches the ACP methods (initialize, authenticate,
 * session/new, session/set_mode, session/set_model,
 * session/set_config_option, session/prompt, the session/cancel
 * notification) and owns the sessions and their config option values.
 * Prompt turns live in mock_turn.c, the options table and the messages both
 * send in mock_wire.c (calls go mock_main -> mock_agent -> mock_turn ->
 * mock_wire); the stdio loop is mock_main.c.
 */
#include "mock_internal.h"

#include "../stream/json.h"
#include "../stream/limits.h"
#include "../stream/log.h"
#include "../stream/xmalloc.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* More sessions than any test or client needs; each costs a few hundred bytes. */
#define MOCK_MAX_SESSIONS 4096
/* Client-supplied names quoted in error messages are cut to this many bytes. */
#define MOCK_QUOTE_MAX 200

static cJSON *modes_json(const struct mock_session *s)
{
    const struct mock_option *o = &mock_options[MOCK_OPT_MODE];
    cJSON *modes = cJSON_CreateObject(), *arr;

    cJSON_AddStringToObject(modes, "currentModeId", o->choices[s->value[MOCK_OPT_MODE]].value);
    arr = cJSON_AddArrayToObject(modes, "availableModes");
    for (unsigned k = 0; k < o->n; k++) {
        cJSON *m = cJSON_CreateObject();

        cJSON_AddStringToObject(m, "id", o->choices[k].value);
        cJSON_AddStringToObject(m, "name", o->choices[k].name);
        cJSON_AddStringToObject(m, "description", o->choices[k].description);
        cJSON_AddItemToArray(arr, m);
    }
    return modes;
}

/* Tells the client about a changed mode and/or option values, as ACP's session/update kinds. */
static void announce(struct mock_agent *a, const struct mock_session *s, bool mode_changed)
{
    cJSON *u;

    if (mode_changed) {
        u = cJSON_CreateObject();
        cJSON_AddStringToObject(u, "sessionUpdate", "current_mode_update");
        cJSON_AddStringToObject(u, "currentModeId",
                                mock_options[MOCK_OPT_MODE].choices[s->value[MOCK_OPT_MODE]].value);
        mock_send_update(a, s, u);
    }
    u = cJSON_CreateObject();
    cJSON_AddStringToObject(u, "sessionUpdate", "config_option_update");
    cJSON_AddItemToObject(u, "configOptions", mock_config_options_json(s));
    mock_send_update(a, s, u);
}

/* ---- parameters ------------------------------------------------------------------------------ */

/* The string member `name` of params, or NULL after an invalid-params reply. */
static const char *param_string(struct mock_agent *a, const cJSON *id, const cJSON *params,
                                const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(params, name);

    if (!cJSON_IsString(v)) {
        mock_reply_error(a, id, MOCK_INVALID_PARAMS, "Invalid params: `%s` must be a string%s",
                         name, v ? "" : " (it is missing)");
        return NULL;
    }
    return v->valuestring;
}

static struct mock_session *find_session(struct mock_agent *a, const char *sid)
{
    for (struct mock_session *s = a->sessions; s; s = s->next)
        if (strcmp(s->id, sid) == 0)
            return s;
    return NULL;
}

/* The session named by params.sessionId, or NULL after an invalid-params reply. */
static struct mock_session *param_session(struct mock_agent *a, const cJSON *id,
                                          const cJSON *params)
{
    const char *sid = param_string(a, id, params, "sessionId");
    struct mock_session *s;

    if (!sid)
        return NULL;
    s = find_session(a, sid);
    if (!s)
        mock_reply_error(a, id, MOCK_INVALID_PARAMS,
                         "Invalid params: unknown sessionId `%.*s` (create one with session/new)",
                         MOCK_QUOTE_MAX, sid);
    return s;
}

/* Index of value among the option's choices, or -1 after an invalid-params reply. */
static int param_choice(struct mock_agent *a, const cJSON *id, const struct mock_option *o,
                        const char *what, const char *value)
{
    char avail[256];
    size_t n = 0;

    for (unsigned k = 0; k < o->n; k++)
        if (strcmp(o->choices[k].value, value) == 0)
            return (int)k;
    avail[0] = '\0';
    for (unsigned k = 0; k < o->n && n < sizeof(avail); k++) {
        int r = snprintf(avail + n, sizeof(avail) - n, "%s%s", k ? ", " : "", o->choices[k].value);
        if (r > 0)
            n += (size_t)r;
    }
    mock_reply_error(a, id, MOCK_INVALID_PARAMS, "Invalid params: unknown %s `%.*s` (one of: %s)",
                     what, MOCK_QUOTE_MAX, value, avail);
    return -1;
}

/* ---- methods --------------------------------------------------------------------------------- */

static void do_initialize(struct mock_agent *a, const cJSON *id, const cJSON *params)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(params, "protocolVersion");
    cJSON *r, *caps, *o;

    if (!cJSON_IsNumber(v)) {
        mock_reply_error(a, id, MOCK_INVALID_PARAMS,
                         "Invalid params: `protocolVersion` must be a number");
        return;
    }
    r = cJSON_CreateObject();
    /* The only version there is; a client asking for another decides what to do. */
    cJSON_AddNumberToObject(r, "protocolVersion", 1);
    caps = cJSON_AddObjectToObject(r, "agentCapabilities");
    cJSON_AddBoolToObject(caps, "loadSession", false);
    o = cJSON_AddObjectToObject(caps, "promptCapabilities");
    cJSON_AddBoolToObject(o, "image", false);
    cJSON_AddBoolToObject(o, "audio", false);
    cJSON_AddBoolToObject(o, "embeddedContext", false);
    o = cJSON_AddObjectToObject(caps, "mcpCapabilities");
    cJSON_AddBoolToObject(o, "http", false);
    cJSON_AddBoolToObject(o, "sse", false);
    cJSON_AddObjectToObject(caps, "sessionCapabilities");
    cJSON_AddArrayToObject(r, "authMethods");
    o = cJSON_AddObjectToObject(r, "agentInfo");
    cJSON_AddStringToObject(o, "name", "agentd-mock");
    cJSON_AddStringToObject(o, "title", "agentd mock agent");
    cJSON_AddStringToObject(o, "version", "builtin");
    mock_reply(a, id, r);
}

static void do_authenticate(struct mock_agent *a, const cJSON *id, const cJSON *params)
{
    mock_reply(a, id, cJSON_CreateObject());
}

static void do_new_session(struct mock_agent *a, const cJSON *id, const cJSON *params)
{
    const char *cwd = param_string(a, id, params, "cwd");
    const cJSON *mcp = cJSON_GetObjectItemCaseSensitive(params, "mcpServers");
    struct mock_session *s;
    cJSON *r;

    if (!cwd)
        return;
    if (cwd[0] != '/') {
        mock_reply_error(a, id, MOCK_INVALID_PARAMS,
                         "Invalid params: `cwd` must be an absolute path, got `%.*s`",
                         MOCK_QUOTE_MAX, cwd);
        return;
    }
    if (mcp && !cJSON_IsArray(mcp)) {
        mock_reply_error(a, id, MOCK_INVALID_PARAMS,
                         "Invalid params: `mcpServers` must be an array");
        return;
    }
    if (a->n_sessions >= MOCK_MAX_SESSIONS) {
        mock_reply_error(a, id, MOCK_INTERNAL_ERROR,
                         "Internal error: the mock agent holds at most %d sessions",
                         MOCK_MAX_SESSIONS);
        return;
    }
    s = xcalloc(1, sizeof(*s));
    snprintf(s->id, sizeof(s->id), "mock-session-%" PRIu64, ++a->next_session);
    s->next = a->sessions;
    a->sessions = s;
    a->n_sessions++;

    r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "sessionId", s->id);
    cJSON_AddItemToObject(r, "modes", modes_json(s));
    cJSON_AddItemToObject(r, "configOptions", mock_config_options_json(s));
    mock_reply(a, id, r);
}

static void do_set_mode(struct mock_agent *a, const cJSON *id, const cJSON *params)
{
    struct mock_session *s = param_session(a, id, params);
    const char *mode;
    int k;

    if (!s || !(mode = param_string(a, id, params, "modeId")))
        return;
    k = param_choice(a, id, &mock_options[MOCK_OPT_MODE], "modeId", mode);
    if (k < 0)
        return;
    s->value[MOCK_OPT_MODE] = (unsigned)k;
    announce(a, s, true);
    mock_reply(a, id, cJSON_CreateObject());
}

static void do_set_model(struct mock_agent *a, const cJSON *id, const cJSON *params)
{
    struct mock_session *s = param_session(a, id, params);
    const char *model;
    int k;

    if (!s || !(model = param_string(a, id, params, "modelId")))
        return;
    k = param_choice(a, id, &mock_options[MOCK_OPT_MODEL], "modelId", model);
    if (k < 0)
        return;
    s->value[MOCK_OPT_MODEL] = (unsigned)k;
    announce(a, s, false);
    mock_reply(a, id, cJSON_CreateObject());
}

static void do_set_config_option(struct mock_agent *a, const cJSON *id, const cJSON *params)
{
    struct mock_session *s = param_session(a, id, params);
    const cJSON *value;
    const char *cid;
    unsigned opt;
    cJSON *r;
    int k;

    if (!s || !(cid = param_string(a, id, params, "configId")))
        return;
    for (opt = 0; opt < MOCK_OPT_COUNT; opt++)
        if (strcmp(mock_options[opt].id, cid) == 0)
            break;
    if (opt == MOCK_OPT_COUNT) {
        mock_reply_error(a, id, MOCK_INVALID_PARAMS,
                         "Invalid params: unknown configId `%.*s` (one of: model, mode, "
                         "thought_level)",
                         MOCK_QUOTE_MAX, cid);
        return;
    }
    value = cJSON_GetObjectItemCaseSensitive(params, "value");
    if (!cJSON_IsString(value)) {
        mock_reply_error(a, id, MOCK_INVALID_PARAMS,
                         "Invalid params: config option `%s` is a select; `value` must be a "
                         "string",
                         mock_options[opt].id);
        return;
    }
    k = param_choice(a, id, &mock_options[opt], "value", value->valuestring);
    if (k < 0)
        return;
    s->value[opt] = (unsigned)k;
    announce(a, s, opt == MOCK_OPT_MODE);
    r = cJSON_CreateObject();
    cJSON_AddItemToObject(r, "configOptions", mock_config_options_json(s));
    mock_reply(a, id, r);
}

static void do_prompt(struct mock_agent *a, const cJSON *id, const cJSON *params)
{
    struct mock_session *s = param_session(a, id, params);
    const cJSON *prompt;

    if (!s)
        return;
    prompt = cJSON_GetObjectItemCaseSensitive(params, "prompt");
    if (!cJSON_IsArray(prompt)) {
        mock_reply_error(a, id, MOCK_INVALID_PARAMS,
                         "Invalid params: `prompt` must be an array of content blocks");
        return;
    }
    if (s->turn) {
        mock_reply_error(a, id, MOCK_INVALID_REQUEST,
                         "Invalid request: session `%s` is already running a prompt; wait for "
                         "it or send session/cancel",
                         s->id);
        return;
    }
    mock_turn_start(a, s, id, prompt);
}

static void do_cancel(struct mock_agent *a, const cJSON *params)
{
    const cJSON *sid = cJSON_GetObjectItemCaseSensitive(params, "sessionId");
    struct mock_session *s = cJSON_IsString(sid) ? find_session(a, sid->valuestring) : NULL;

    if (!s)
        log_warn("mock", "session/cancel for an unknown session ignored");
    else if (s->turn)
        mock_turn_cancel(a, s->turn);
}

typedef void (*mock_method_fn)(struct mock_agent *a, const cJSON *id, const cJSON *params);

static const struct {
    const char *name;
    mock_method_fn fn;
} methods[] = {
    {"initialize", do_initialize},       {"authenticate", do_authenticate},
    {"session/new", do_new_session},     {"session/set_mode", do_set_mode},
    {"session/set_model", do_set_model}, {"session/set_config_option", do_set_config_option},
    {"session/prompt", do_prompt},
};

/* ---- envelopes ------------------------------------------------------------------------------- */

static void handle_request(struct mock_agent *a, const cJSON *id, const char *method,
                           const cJSON *params)
{
    static const cJSON empty = {.type = cJSON_Object};

    if (params && !cJSON_IsObject(params)) {
        mock_reply_error(a, id, MOCK_INVALID_PARAMS, "Invalid params: `params` must be an object");
        return;
    }
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        if (strcmp(methods[i].name, method) == 0) {
            methods[i].fn(a, id, params ? params : &empty);
            return;
        }
    }
    mock_reply_error(a, id, MOCK_METHOD_NOT_FOUND, "Method not found: %.*s", MOCK_QUOTE_MAX,
                     method);
}

static void handle_message(struct mock_agent *a, const cJSON *msg)
{
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(msg, "jsonrpc");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(msg, "id");
    const cJSON *method = cJSON_GetObjectItemCaseSensitive(msg, "method");
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(msg, "params");

    if (!cJSON_IsObject(msg)) {
        mock_reply_error(a, NULL, MOCK_INVALID_REQUEST,
                         "Invalid Request: a message is one JSON object (batches are not "
                         "supported)");
        return;
    }
    if (id && !cJSON_IsString(id) && !cJSON_IsNumber(id) && !cJSON_IsNull(id)) {
        mock_reply_error(a, NULL, MOCK_INVALID_REQUEST,
                         "Invalid Request: `id` must be a string, a number or null");
        return;
    }
    if (!cJSON_IsString(ver) || strcmp(ver->valuestring, "2.0") != 0) {
        if (id)
            mock_reply_error(a, id, MOCK_INVALID_REQUEST,
                             "Invalid Request: `jsonrpc` must be \"2.0\"");
        else
            log_warn("mock", "ignoring a notification without \"jsonrpc\": \"2.0\"");
        return;
    }
    if (method) {
        if (!cJSON_IsString(method)) {
            if (id)
                mock_reply_error(a, id, MOCK_INVALID_REQUEST,
                                 "Invalid Request: `method` must be a string");
            return;
        }
        if (id)
            handle_request(a, id, method->valuestring, params);
        else if (strcmp(method->valuestring, "session/cancel") == 0)
            do_cancel(a, params);
        /* Other notifications ask nothing of the mock. */
        return;
    }
    if (id && (cJSON_GetObjectItemCaseSensitive(msg, "result") ||
               cJSON_GetObjectItemCaseSensitive(msg, "error"))) {
        if (!mock_turn_permission_reply(a, msg))
            log_warn("mock", "ignoring a response to no pending request");
        return;
    }
    mock_reply_error(a, id, MOCK_INVALID_REQUEST,
                     "Invalid Request: expected a request, a notification or a response");
}

static bool blank(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
            return false;
    return true;
}

static void handle_line(struct mock_agent *a, const char *p, size_t n)
{
    const char *end = NULL;
    cJSON *msg;

    if (blank(p, n))
        return;
    if (!utf8_valid(p, n)) {
        mock_reply_error(a, NULL, MOCK_PARSE_ERROR, "Parse error: the line is not valid UTF-8");
        return;
    }
    msg = cJSON_ParseWithLengthOpts(p, n, &end, false);
    if (msg && end && !blank(end, (size_t)(p + n - end))) {
        cJSON_Delete(msg);
        msg = NULL;
    }
    if (!msg) {
        size_t off = end && end >= p && end <= p + n ? (size_t)(end - p) : 0;
        mock_reply_error(a, NULL, MOCK_PARSE_ERROR, "Parse error: invalid JSON near byte %zu", off);
        return;
    }
    handle_message(a, msg);
    cJSON_Delete(msg);
}

/* ---- the agent ------------------------------------------------------------------------------- */

struct mock_agent *mock_agent_new(const struct mock_agent_opts *opts)
{
    struct mock_agent *a = xcalloc(1, sizeof(*a));

    a->opts = *opts;
    if (!a->opts.max_line)
        a->opts.max_line = LIM_ACP_LINE_BYTES;
    buf_init(&a->line, a->opts.max_line);
    return a;
}

void mock_agent_free(struct mock_agent *a)
{
    struct mock_session *s, *next;

    if (!a)
        return;
    for (s = a->sessions; s; s = next) {
        next = s->next;
        mock_turn_free(s->turn);
        free(s);
    }
    buf_done(&a->line);
    free(a);
}

void mock_agent_feed(struct mock_agent *a, const char *p, size_t n)
{
    while (n > 0) {
        const char *nl = memchr(p, '\n', n);
        size_t take = nl ? (size_t)(nl - p) : n;

        if (!a->discarding && buf_append(&a->line, p, take) < 0) {
            /* Drop the line as it streams in: memory stays bounded by max_line. */
            a->discarding = true;
            buf_done(&a->line);
            mock_reply_error(a, NULL, MOCK_PARSE_ERROR,
                             "Parse error: message longer than %zu bytes", a->opts.max_line);
        }
        if (!nl)
            return;
        if (a->discarding) {
            a->discarding = false;
        } else {
            handle_line(a, a->line.data ? a->line.data : "", a->line.len);
            /* A one-off huge line should not pin its buffer. */
            if (a->line.cap > 65536)
                buf_done(&a->line);
            else
                buf_reset(&a->line);
        }
        p = nl + 1;
        n -= take + 1;
    }
}

void mock_agent_eof(struct mock_agent *a)
{
    if (a->eof)
        return;
    a->eof = true;
    if (!a->discarding && a->line.len)
        handle_line(a, a->line.data, a->line.len);
    buf_done(&a->line);
    a->discarding = false;
    /* Nobody is left to answer a permission request. */
    for (struct mock_session *s = a->sessions; s; s = s->next)
        if (s->turn && mock_turn_waiting(s->turn))
            mock_turn_cancel(a, s->turn);
}

int mock_agent_timeout(const struct mock_agent *a)
{
    uint64_t now = mock_now_ms();
    int best = -1;

    for (const struct mock_session *s = a->sessions; s; s = s->next) {
        int t = s->turn ? mock_turn_timeout(s->turn, now) : -1;

        if (t >= 0 && (best < 0 || t < best))
            best = t;
    }
    return best;
}

void mock_agent_tick(struct mock_agent *a)
{
    for (struct mock_session *s = a->sessions; s; s = s->next)
        if (s->turn)
            mock_turn_pump(a, s->turn);
}

bool mock_agent_busy(const struct mock_agent *a)
{
    for (const struct mock_session *s = a->sessions; s; s = s->next)
        if (s->turn)
            return true;
    return false;
}
