/*
 * mock_wire: what the mock agent's protocol side (mock_agent.c) and its
 * prompt turns (mock_turn.c) both send: JSON-RPC responses, errors and
 * session/update notifications, the config options table and its JSON, a
 * monotonic clock.  Calls neither of them.
 */
#include "mock_internal.h"

#include "../stream/clock.h"
#include "../stream/json.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

static const struct mock_choice model_choices[] = {
    {"mock", "Mock", NULL},
    {"mock-fast", "Mock Fast", NULL},
};
static const struct mock_choice mode_choices[] = {
    {"normal", "Normal", "Answer the prompt directly"},
    {"plan", "Plan", "Describe a plan before answering"},
};
static const struct mock_choice thought_choices[] = {
    {"low", "Low", NULL},
    {"medium", "Medium", NULL},
    {"high", "High", NULL},
};

const struct mock_option mock_options[MOCK_OPT_COUNT] = {
    [MOCK_OPT_MODEL] = {"model", "Model", model_choices, 2},
    [MOCK_OPT_MODE] = {"mode", "Mode", mode_choices, 2},
    [MOCK_OPT_THOUGHT] = {"thought_level", "Thought Level", thought_choices, 3},
};

uint64_t mock_now_ms(void)
{
    return (uint64_t)clock_mono_ms();
}

/* ---- output ---------------------------------------------------------------------------------- */

void mock_send(struct mock_agent *a, cJSON *msg)
{
    size_t len;
    char *text = json_print(msg, &len);

    a->opts.write(a->opts.arg, text, len);
    cJSON_free(text);
    cJSON_Delete(msg);
}

static cJSON *envelope(const cJSON *id)
{
    cJSON *msg = cJSON_CreateObject();

    cJSON_AddStringToObject(msg, "jsonrpc", "2.0");
    cJSON_AddItemToObject(msg, "id", id ? cJSON_Duplicate(id, true) : cJSON_CreateNull());
    return msg;
}

void mock_reply(struct mock_agent *a, const cJSON *id, cJSON *result)
{
    cJSON *msg = envelope(id);

    cJSON_AddItemToObject(msg, "result", result);
    mock_send(a, msg);
}

void mock_reply_error(struct mock_agent *a, const cJSON *id, int code, const char *fmt, ...)
{
    char text[1024];
    cJSON *msg = envelope(id), *err;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    err = cJSON_AddObjectToObject(msg, "error");
    cJSON_AddNumberToObject(err, "code", code);
    json_add_string(err, "message", text);
    mock_send(a, msg);
}

void mock_send_update(struct mock_agent *a, const struct mock_session *s, cJSON *update)
{
    cJSON *msg = cJSON_CreateObject(), *params;

    cJSON_AddStringToObject(msg, "jsonrpc", "2.0");
    cJSON_AddStringToObject(msg, "method", "session/update");
    params = cJSON_AddObjectToObject(msg, "params");
    cJSON_AddStringToObject(params, "sessionId", s->id);
    cJSON_AddItemToObject(params, "update", update);
    mock_send(a, msg);
}

cJSON *mock_config_options_json(const struct mock_session *s)
{
    cJSON *arr = cJSON_CreateArray();

    for (unsigned i = 0; i < MOCK_OPT_COUNT; i++) {
        const struct mock_option *o = &mock_options[i];
        cJSON *opt = cJSON_CreateObject(), *choices;

        cJSON_AddStringToObject(opt, "id", o->id);
        cJSON_AddStringToObject(opt, "name", o->name);
        cJSON_AddStringToObject(opt, "category", o->id);
        cJSON_AddStringToObject(opt, "type", "select");
        cJSON_AddStringToObject(opt, "currentValue", o->choices[s->value[i]].value);
        choices = cJSON_AddArrayToObject(opt, "options");
        for (unsigned k = 0; k < o->n; k++) {
            cJSON *c = cJSON_CreateObject();

            cJSON_AddStringToObject(c, "name", o->choices[k].name);
            cJSON_AddStringToObject(c, "value", o->choices[k].value);
            cJSON_AddItemToArray(choices, c);
        }
        cJSON_AddItemToArray(arr, opt);
    }
    return arr;
}
