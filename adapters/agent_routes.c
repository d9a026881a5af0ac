/*
 * agent_routes: GET /v1/agents, GET /v1/agents/{agent}, POST
 * /v1/agents/{agent}/install (spec 6), through the agent table.
 */
#include "acp.h"
#include "agent.h"
#include "routes_internal.h"

#include "../stream/http.h"
#include "../stream/json.h"
#include "../stream/xmalloc.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static const char *const cap_names[AGENT_CAP_COUNT] = {
    "planMode",        "permissions", "questions",        "toolCalls",        "toolResults",
    "textMessages",    "images",      "fileAttachments",  "sessionLifecycle", "errorEvents",
    "reasoning",       "status",      "commandExecution", "fileChanges",      "mcpTools",
    "streamingDeltas", "itemStarted", "sharedProcess",
};

static cJSON *agent_json(const struct agent_adapter *a, bool config)
{
    cJSON *o = cJSON_CreateObject(), *caps;
    struct agent_status st;

    a->status(a, &st);
    json_add_string(o, "id", a->id);
    cJSON_AddBoolToObject(o, "installed", st.installed);
    cJSON_AddBoolToObject(o, "credentialsAvailable", a->credentials(a));
    if (config && st.version[0])
        json_add_string(o, "version", st.version);
    if (config && st.path[0])
        json_add_string(o, "path", st.path);
    caps = cJSON_AddObjectToObject(o, "capabilities");
    for (unsigned i = 0; i < AGENT_CAP_COUNT; i++)
        cJSON_AddBoolToObject(caps, cap_names[i], (a->caps >> i) & 1u);
    if (config)
        cJSON_AddItemToObject(o, "configOptions", cJSON_Parse(a->config_options));
    return o;
}

/* config and no_cache (accepted: agentd keeps no version cache). */
static int agent_query(struct http_req *req, bool *config, struct problem *err)
{
    bool no_cache = false;

    *config = false;
    if (query_bool(http_query(req), "config", config, err) < 0 ||
        query_bool(http_query(req), "no_cache", &no_cache, err) < 0)
        return -1;
    return 0;
}

static const struct agent_adapter *path_agent(struct http_req *req, struct problem *err)
{
    const char *id = http_param(req, 0);
    const struct agent_adapter *a = agent_find(id);

    if (!a)
        agent_unknown(err, id);
    return a;
}

static void handle_list(struct http_req *req)
{
    struct problem err;
    bool config;
    cJSON *o, *arr;

    if (agent_query(req, &config, &err) < 0) {
        http_reply_problem(req, &err);
        return;
    }
    o = cJSON_CreateObject();
    arr = cJSON_AddArrayToObject(o, "agents");
    for (size_t i = 0; i < agent_count; i++)
        cJSON_AddItemToArray(arr, agent_json(agent_table[i], config));
    http_reply_json(req, 200, o);
    cJSON_Delete(o);
}

static void handle_get(struct http_req *req)
{
    struct problem err;
    const struct agent_adapter *a;
    bool config;
    cJSON *o;

    if (!(a = path_agent(req, &err)) || agent_query(req, &config, &err) < 0) {
        http_reply_problem(req, &err);
        return;
    }
    o = agent_json(a, config);
    http_reply_json(req, 200, o);
    cJSON_Delete(o);
}

struct install_job {
    struct agent_install in;
    struct http_req *req;
    char *version;
};

static void install_done(struct agent_install *in, const struct problem *err)
{
    struct install_job *j = in->arg;
    cJSON *o, *arr, *art;

    if (!http_req_alive(j->req) || http_replied(j->req)) {
        /* The client left; the install itself still happened. */
    } else if (err) {
        http_reply_problem(j->req, err);
    } else {
        o = cJSON_CreateObject();
        cJSON_AddBoolToObject(o, "already_installed", in->already_installed);
        arr = cJSON_AddArrayToObject(o, "artifacts");
        if (!in->already_installed) {
            art = cJSON_CreateObject();
            json_add_string(art, "kind", "agent_process");
            json_add_string(art, "path", in->path);
            json_add_string(art, "source", in->source ? in->source : "npm");
            if (in->version_installed[0])
                json_add_string(art, "version", in->version_installed);
            cJSON_AddItemToArray(arr, art);
        }
        http_reply_json(j->req, 200, o);
        cJSON_Delete(o);
    }
    http_req_unref(j->req);
    free(j->version);
    free(j);
}

static void handle_install(struct http_req *req)
{
    struct problem err;
    const struct agent_adapter *a;
    const char *body, *version = NULL;
    size_t len;
    bool reinstall = false;
    cJSON *o = NULL;
    struct install_job *j;

    if (!(a = path_agent(req, &err)))
        goto fail;
    body = http_body(req, &len);
    if (len && json_parse_object(body, len, &o, &err) < 0)
        goto fail;
    if (o && (json_get_bool(o, "reinstall", false, &reinstall, &err) < 0 ||
              json_get_string(o, "agentVersion", false, &version, &err) < 0))
        goto fail;
    j = xcalloc(1, sizeof(*j));
    j->req = req;
    http_req_ref(req);
    j->version = version ? xstrdup(version) : NULL;
    j->in.agent = a;
    j->in.version = j->version;
    j->in.reinstall = reinstall;
    j->in.done = install_done;
    j->in.arg = j;
    cJSON_Delete(o);
    if (a->install(http_loop(), &j->in, &err) < 0) {
        http_reply_problem(req, &err);
        http_req_unref(req);
        free(j->version);
        free(j);
    }
    return;
fail:
    cJSON_Delete(o);
    http_reply_problem(req, &err);
}

/* The endpoints of this file (registered by acp_register(), acp_routes.c). */
static const struct route routes[] = {
    {HTTP_GET, "/v1/agents", handle_list, 0},
    {HTTP_GET, "/v1/agents/{}", handle_get, 0},
    {HTTP_POST, "/v1/agents/{}/install", handle_install, ROUTE_JSON_BODY},
};
const struct route_table acp__agent_routes = ROUTE_TABLE(routes);
