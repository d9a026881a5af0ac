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
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const cap_names[AGENT_CAP_COUNT] = {
    "planMode",        "permissions", "questions",        "toolCalls",        "toolResults",
    "textMessages",    "images",      "fileAttachments",  "sessionLifecycle", "errorEvents",
    "reasoning",       "status",      "commandExecution", "fileChanges",      "mcpTools",
    "streamingDeltas", "itemStarted", "sharedProcess",
};

/*
 * AgentInfo for a.  With config: path and version are the agent's own CLI's (the reference's
 * fields, from the version cache: agent_versions_fetch() has run), agentProcessPath and
 * agentProcessVersion (agentd's) the ACP entry point agentd starts.  The mock has no CLI of
 * its own: both pairs describe its launcher, "builtin".
 */
static cJSON *agent_json(const struct agent_adapter *a, bool config)
{
    cJSON *o = cJSON_CreateObject(), *caps;
    struct agent_status st;
    char path[PATH_MAX], version[64];

    a->status(a, &st);
    json_add_string(o, "id", a->id);
    cJSON_AddBoolToObject(o, "installed", st.installed);
    cJSON_AddBoolToObject(o, "credentialsAvailable", a->credentials(a));
    if (config && !a->native) {
        snprintf(path, sizeof(path), "%s", st.path);
        snprintf(version, sizeof(version), "%s", st.version);
    } else if (!config || !agent_version_get(a, path, sizeof(path), version, sizeof(version))) {
        path[0] = version[0] = '\0';
    }
    if (version[0])
        json_add_string(o, "version", version);
    if (path[0])
        json_add_string(o, "path", path);
    if (config && st.path[0])
        json_add_string(o, "agentProcessPath", st.path);
    if (config && st.version[0])
        json_add_string(o, "agentProcessVersion", st.version);
    caps = cJSON_AddObjectToObject(o, "capabilities");
    for (unsigned i = 0; i < AGENT_CAP_COUNT; i++)
        cJSON_AddBoolToObject(caps, cap_names[i], (a->caps >> i) & 1u);
    if (config)
        cJSON_AddItemToObject(o, "configOptions", cJSON_Parse(a->config_options));
    return o;
}

/* config, and no_cache (look the versions up again rather than answer from the cache). */
static int agent_query(struct http_req *req, bool *config, bool *no_cache, struct problem *err)
{
    *config = *no_cache = false;
    if (query_bool(http_query(req), "config", config, err) < 0 ||
        query_bool(http_query(req), "no_cache", no_cache, err) < 0)
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

/* A GET that waits for the version lookups: one agent, or the list when agent is NULL. */
struct agents_get {
    struct http_req *req;
    const struct agent_adapter *agent;
};

static void reply_agents(struct http_req *req, const struct agent_adapter *one, bool config)
{
    cJSON *o, *arr;

    if (one) {
        o = agent_json(one, config);
    } else {
        o = cJSON_CreateObject();
        arr = cJSON_AddArrayToObject(o, "agents");
        for (size_t i = 0; i < agent_count; i++)
            cJSON_AddItemToArray(arr, agent_json(agent_table[i], config));
    }
    http_reply_json(req, 200, o);
    cJSON_Delete(o);
}

static void versions_ready(void *arg)
{
    struct agents_get *g = arg;

    if (http_req_alive(g->req) && !http_replied(g->req))
        reply_agents(g->req, g->agent, true);
    http_req_unref(g->req);
    free(g);
}

static void agents_get(struct http_req *req, const struct agent_adapter *one)
{
    struct problem err;
    struct agents_get *g;
    bool config, no_cache;

    if (agent_query(req, &config, &no_cache, &err) < 0) {
        http_reply_problem(req, &err);
        return;
    }
    if (!config) {
        reply_agents(req, one, false);
        return;
    }
    g = xcalloc(1, sizeof(*g));
    g->req = req;
    g->agent = one;
    http_req_ref(req);
    agent_versions_fetch(http_loop(), one ? &g->agent : agent_table, one ? 1 : agent_count,
                         no_cache, versions_ready, g);
}

static void handle_list(struct http_req *req)
{
    agents_get(req, NULL);
}

static void handle_get(struct http_req *req)
{
    struct problem err;
    const struct agent_adapter *a;

    if (!(a = path_agent(req, &err))) {
        http_reply_problem(req, &err);
        return;
    }
    agents_get(req, a);
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

    /* The CLI may be another one now (or a first one): its version is looked up again. */
    agent_version_forget(in->agent);

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
