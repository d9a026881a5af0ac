/*
 * mock_turn: one session/prompt of the mock agent, as a small state
 * machine.  A turn echoes the prompt's text blocks (user_message_chunk),
 * optionally asks the client for a permission (a tool_call, then a
 * session/request_permission request, then waits), and answers with an
 * agent_thought_chunk, a plan, a tool_call and its tool_call_update,
 * several agent_message_chunk deltas and a usage_update, then responds
 * {"stopReason":"end_turn"}.  A "slow" turn paces its updates so that a
 * client can cancel it midway; session/cancel ends any turn with
 * {"stopReason":"cancelled"}.  The pending updates are a queue of cJSON
 * objects owned by the turn.
 */
#include "mock_internal.h"

#include "../stream/limits.h"
#include "../stream/log.h"
#include "../stream/xmalloc.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reply deltas of an ordinary turn, and of a slow one (at most; one per character). */
#define MOCK_FAST_CHUNKS 4
#define MOCK_SLOW_CHUNKS 50
/* The context window usage_update reports. */
#define MOCK_CONTEXT_TOKENS 128000
/* Client-chosen option ids quoted back in the reply are cut to this many bytes. */
#define MOCK_OPTION_ID_MAX 200

enum turn_phase {
    TURN_OPENING,   /* echoing the prompt (and announcing the permission's tool call) */
    TURN_ASKING,    /* waiting for the client's permission answer */
    TURN_ANSWERING, /* streaming the answer */
};

struct mock_turn {
    struct mock_session *s; /* owner: s->turn points back here */
    cJSON *id;              /* the session/prompt request's id (owned copy) */
    char *text;             /* the prompt's text blocks joined by "\n" */
    size_t len;             /* bytes in text */
    bool slow;              /* pace updates slow_delay_ms apart */
    bool ask;               /* ask for a permission before answering */
    bool allowed;           /* the permission answer allows the action */
    enum turn_phase phase;
    cJSON *queue;       /* pending `update` objects, oldest first */
    uint64_t due_ms;    /* a slow turn's next update may go at this time */
    char perm_id[32];   /* id of the permission request */
    char perm_call[40]; /* the tool call the permission is about */
    char *outcome;      /* "selected <optionId>" or "cancelled", once answered */
};

/* True when word (lower case) occurs in p[0..n) as a whole word, ignoring case. */
static bool has_word(const char *p, size_t n, const char *word)
{
    size_t w = strlen(word);

    for (size_t i = 0; i + w <= n; i++) {
        if (i > 0 && isalnum((unsigned char)p[i - 1]))
            continue;
        if (i + w < n && isalnum((unsigned char)p[i + w]))
            continue;
        if (strncasecmp(p + i, word, w) == 0)
            return true;
    }
    return false;
}

/* {"type":"text","text":p[0..n)} added to obj under key. */
static void add_text_block(cJSON *obj, const char *key, const char *p, size_t n)
{
    cJSON *c = cJSON_AddObjectToObject(obj, key);
    char *s = xstrndup(p, n);

    cJSON_AddStringToObject(c, "type", "text");
    cJSON_AddStringToObject(c, "text", s);
    free(s);
}

static cJSON *update_new(const char *kind)
{
    cJSON *u = cJSON_CreateObject();

    cJSON_AddStringToObject(u, "sessionUpdate", kind);
    return u;
}

static void queue_chunk(struct mock_turn *t, const char *kind, const char *p, size_t n)
{
    cJSON *u = update_new(kind);

    add_text_block(u, "content", p, n);
    cJSON_AddItemToArray(t->queue, u);
}

/* Queues p[0..n) as about `parts` deltas, cut only at UTF-8 character starts. */
static void queue_chunks(struct mock_turn *t, const char *kind, const char *p, size_t n,
                         unsigned parts)
{
    size_t step = (n + parts - 1) / parts, i = 0;

    if (!step)
        step = 1;
    while (i < n) {
        size_t j = n - i > step ? i + step : n;

        while (j < n && ((unsigned char)p[j] & 0xC0) == 0x80)
            j++;
        queue_chunk(t, kind, p + i, j - i);
        i = j;
    }
}

/* A tool_call_update of call with status and one text content block. */
static cJSON *tool_update(const char *call, const char *status, const char *text)
{
    cJSON *u = update_new("tool_call_update"), *content, *c;

    cJSON_AddStringToObject(u, "toolCallId", call);
    cJSON_AddStringToObject(u, "status", status);
    content = cJSON_AddArrayToObject(u, "content");
    c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "type", "content");
    add_text_block(c, "content", text, strlen(text));
    cJSON_AddItemToArray(content, c);
    return u;
}

static void plan_entry(cJSON *entries, const char *content, const char *priority,
                       const char *status)
{
    cJSON *e = cJSON_CreateObject();

    cJSON_AddStringToObject(e, "content", content);
    cJSON_AddStringToObject(e, "priority", priority);
    cJSON_AddStringToObject(e, "status", status);
    cJSON_AddItemToArray(entries, e);
}

static const char *option_value(const struct mock_session *s, enum mock_option_id o)
{
    return mock_options[o].choices[s->value[o]].value;
}

/* Queues the answer: everything after the (optional) permission. */
static void queue_answer(struct mock_agent *a, struct mock_turn *t)
{
    struct mock_session *s = t->s;
    struct buf reply;
    char call[40], line[256];
    cJSON *u, *o;

    if (t->ask) {
        snprintf(line, sizeof(line), "Permission outcome: %s", t->outcome);
        cJSON_AddItemToArray(t->queue,
                             tool_update(t->perm_call, t->allowed ? "completed" : "failed", line));
    }
    snprintf(line, sizeof(line),
             "Thinking about a %zu-byte prompt (model %s, mode %s, thought level %s).", t->len,
             option_value(s, MOCK_OPT_MODEL), option_value(s, MOCK_OPT_MODE),
             option_value(s, MOCK_OPT_THOUGHT));
    queue_chunk(t, "agent_thought_chunk", line, strlen(line));

    u = update_new("plan");
    o = cJSON_AddArrayToObject(u, "entries");
    plan_entry(o, "Read the prompt", "high", "completed");
    plan_entry(o, "Echo the prompt back", "medium", "in_progress");
    cJSON_AddItemToArray(t->queue, u);

    snprintf(call, sizeof(call), "mock-call-%" PRIu64, ++a->next_serial);
    u = update_new("tool_call");
    cJSON_AddStringToObject(u, "toolCallId", call);
    cJSON_AddStringToObject(u, "title", "Echo the prompt");
    cJSON_AddStringToObject(u, "kind", "other");
    cJSON_AddStringToObject(u, "status", "pending");
    o = cJSON_AddObjectToObject(u, "rawInput");
    cJSON_AddNumberToObject(o, "bytes", (double)t->len);
    cJSON_AddItemToArray(t->queue, u);
    snprintf(line, sizeof(line), "Echoed %zu bytes", t->len);
    cJSON_AddItemToArray(t->queue, tool_update(call, "completed", line));

    /* The line limit bounds the prompt, so the reply fits comfortably in twice that. */
    buf_init(&reply, 2 * (size_t)LIM_ACP_LINE_BYTES + 4096);
    if (t->ask)
        buf_printf(&reply, "Permission outcome: %s. ", t->outcome);
    buf_append_str(&reply, "Echo: ");
    buf_append(&reply, t->text, t->len);
    queue_chunks(t, "agent_message_chunk", reply.data, reply.len,
                 t->slow ? MOCK_SLOW_CHUNKS : MOCK_FAST_CHUNKS);

    s->used_tokens += (t->len + reply.len) / 4 + 1;
    buf_done(&reply);
    u = update_new("usage_update");
    cJSON_AddNumberToObject(u, "used", (double)s->used_tokens);
    cJSON_AddNumberToObject(u, "size", MOCK_CONTEXT_TOKENS);
    o = cJSON_AddObjectToObject(u, "cost");
    cJSON_AddNumberToObject(o, "amount", 0);
    cJSON_AddStringToObject(o, "currency", "USD");
    cJSON_AddItemToArray(t->queue, u);
    t->phase = TURN_ANSWERING;
}

static void ask_permission(struct mock_agent *a, struct mock_turn *t)
{
    static const struct {
        const char *id, *name, *kind;
    } options[] = {
        {"allow-once", "Allow once", "allow_once"},
        {"allow-always", "Always allow", "allow_always"},
        {"reject-once", "Reject", "reject_once"},
    };
    cJSON *msg = cJSON_CreateObject(), *params, *call, *arr;

    cJSON_AddStringToObject(msg, "jsonrpc", "2.0");
    cJSON_AddStringToObject(msg, "id", t->perm_id);
    cJSON_AddStringToObject(msg, "method", "session/request_permission");
    params = cJSON_AddObjectToObject(msg, "params");
    cJSON_AddStringToObject(params, "sessionId", t->s->id);
    call = cJSON_AddObjectToObject(params, "toolCall");
    cJSON_AddStringToObject(call, "toolCallId", t->perm_call);
    cJSON_AddStringToObject(call, "title", "Mock privileged action");
    cJSON_AddStringToObject(call, "kind", "execute");
    cJSON_AddStringToObject(call, "status", "pending");
    arr = cJSON_AddArrayToObject(params, "options");
    for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
        cJSON *o = cJSON_CreateObject();

        cJSON_AddStringToObject(o, "optionId", options[i].id);
        cJSON_AddStringToObject(o, "name", options[i].name);
        cJSON_AddStringToObject(o, "kind", options[i].kind);
        cJSON_AddItemToArray(arr, o);
    }
    t->phase = TURN_ASKING;
    mock_send(a, msg);
}

void mock_turn_free(struct mock_turn *t)
{
    if (!t)
        return;
    if (t->s && t->s->turn == t)
        t->s->turn = NULL;
    cJSON_Delete(t->id);
    cJSON_Delete(t->queue);
    free(t->text);
    free(t->outcome);
    free(t);
}

static void finish(struct mock_agent *a, struct mock_turn *t, const char *stop_reason)
{
    cJSON *r = cJSON_CreateObject();

    cJSON_AddStringToObject(r, "stopReason", stop_reason);
    mock_reply(a, t->id, r);
    mock_turn_free(t);
}

void mock_turn_start(struct mock_agent *a, struct mock_session *s, const cJSON *id,
                     const cJSON *prompt)
{
    struct mock_turn *t = xcalloc(1, sizeof(*t));
    struct buf text;
    const cJSON *block;

    t->s = s;
    t->id = cJSON_Duplicate(id, true);
    t->queue = cJSON_CreateArray();
    t->phase = TURN_OPENING;
    s->turn = t;
    /* The prompt came in one bounded line, so its text cannot exceed the line limit. */
    buf_init(&text, LIM_ACP_LINE_BYTES);
    cJSON_ArrayForEach(block, prompt)
    {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(block, "type");
        const cJSON *bt = cJSON_GetObjectItemCaseSensitive(block, "text");

        if (!cJSON_IsString(type) || strcmp(type->valuestring, "text") != 0 || !cJSON_IsString(bt))
            continue; /* images, resources...: acknowledged, not echoed */
        if (text.len)
            buf_append(&text, "\n", 1);
        buf_append_str(&text, bt->valuestring);
        queue_chunk(t, "user_message_chunk", bt->valuestring, strlen(bt->valuestring));
    }
    t->text = buf_steal(&text, &t->len);
    t->slow = has_word(t->text, t->len, "slow");
    t->ask = has_word(t->text, t->len, "permission");
    if (t->ask) {
        cJSON *u = update_new("tool_call");

        a->next_serial++;
        snprintf(t->perm_id, sizeof(t->perm_id), "perm-%" PRIu64, a->next_serial);
        snprintf(t->perm_call, sizeof(t->perm_call), "mock-call-%" PRIu64, a->next_serial);
        cJSON_AddStringToObject(u, "toolCallId", t->perm_call);
        cJSON_AddStringToObject(u, "title", "Mock privileged action");
        cJSON_AddStringToObject(u, "kind", "execute");
        cJSON_AddStringToObject(u, "status", "pending");
        cJSON_AddItemToArray(t->queue, u);
    }
    t->due_ms = mock_now_ms();
    mock_turn_pump(a, t);
}

void mock_turn_pump(struct mock_agent *a, struct mock_turn *t)
{
    for (;;) {
        if (t->phase == TURN_ASKING)
            return;
        if (!t->queue->child) {
            if (t->phase == TURN_ANSWERING) {
                finish(a, t, "end_turn");
                return;
            }
            if (t->ask && a->eof) {
                /* Nobody is left to answer. */
                finish(a, t, "cancelled");
                return;
            }
            if (t->ask) {
                ask_permission(a, t);
                return;
            }
            queue_answer(a, t);
            continue;
        }
        if (t->slow) {
            uint64_t now = mock_now_ms();

            if (now < t->due_ms)
                return;
            t->due_ms = now + a->opts.slow_delay_ms;
        }
        mock_send_update(a, t->s, cJSON_DetachItemViaPointer(t->queue, t->queue->child));
    }
}

void mock_turn_cancel(struct mock_agent *a, struct mock_turn *t)
{
    /* Pending updates are dropped; a late permission answer finds no turn and is ignored. */
    finish(a, t, "cancelled");
}

bool mock_turn_waiting(const struct mock_turn *t)
{
    return t->phase == TURN_ASKING;
}

int mock_turn_timeout(const struct mock_turn *t, uint64_t now)
{
    uint64_t d;

    if (t->phase == TURN_ASKING)
        return -1;
    if (!t->slow || now >= t->due_ms)
        return 0;
    d = t->due_ms - now;
    return d > 60000 ? 60000 : (int)d;
}

bool mock_turn_permission_reply(struct mock_agent *a, const cJSON *msg)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(msg, "id");
    const cJSON *result = cJSON_GetObjectItemCaseSensitive(msg, "result");
    const cJSON *outcome = cJSON_GetObjectItemCaseSensitive(result, "outcome");
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(outcome, "outcome");
    const cJSON *option = cJSON_GetObjectItemCaseSensitive(outcome, "optionId");
    struct mock_session *s;
    struct mock_turn *t = NULL;

    if (!cJSON_IsString(id))
        return false;
    for (s = a->sessions; s && !t; s = s->next)
        if (s->turn && s->turn->phase == TURN_ASKING &&
            strcmp(s->turn->perm_id, id->valuestring) == 0)
            t = s->turn;
    if (!t)
        return false;
    if (cJSON_IsString(kind) && strcmp(kind->valuestring, "selected") == 0 &&
        cJSON_IsString(option)) {
        size_t n = strlen(option->valuestring);

        /* Cut a long id at a character boundary so the reply stays valid UTF-8. */
        if (n > MOCK_OPTION_ID_MAX) {
            n = MOCK_OPTION_ID_MAX;
            while (n > 0 && ((unsigned char)option->valuestring[n] & 0xC0) == 0x80)
                n--;
        }
        t->outcome = xasprintf("selected %.*s", (int)n, option->valuestring);
        t->allowed = strncmp(option->valuestring, "allow-", 6) == 0;
    } else {
        /* A cancelled outcome, an error response or a malformed result: nothing was allowed. */
        if (!cJSON_IsString(kind) || strcmp(kind->valuestring, "cancelled") != 0)
            log_warn("mock", "permission %s: unexpected answer, taken as cancelled", t->perm_id);
        t->outcome = xstrdup("cancelled");
    }
    queue_answer(a, t);
    t->due_ms = mock_now_ms();
    mock_turn_pump(a, t);
    return true;
}
