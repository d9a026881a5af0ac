/*
 * agent_mock: the ACP agent built into agentd (`agentd mock-agent`,
 * adapters/mock_agent.c), for tests and demos without credentials.  It
 * needs no install; `install` writes a launcher script as the reference's
 * does, so `installed` turns true and the agent can be started by hand.
 */
#include "agent.h"

#include "../stream/xmalloc.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LAUNCHER "bin/agent_processes/mock-acp"

static void status(const struct agent_adapter *a, struct agent_status *st)
{
    memset(st, 0, sizeof(*st));
    snprintf(st->version, sizeof(st->version), "builtin");
    if (agent_data_path(st->path, sizeof(st->path), LAUNCHER) == 0)
        st->installed = access(st->path, X_OK) == 0;
}

static int self_path(char *out, size_t n)
{
    ssize_t len = readlink("/proc/self/exe", out, n - 1);

    if (len <= 0)
        return -1;
    out[len] = '\0';
    return 0;
}

static int launch(const struct agent_adapter *a, struct agent_cmd *cmd, struct problem *err)
{
    char self[PATH_MAX];

    if (self_path(self, sizeof(self)) < 0)
        return problem_set(err, 502, PROBLEM_STREAM_ERROR, "cannot find agentd's own binary: %s",
                           strerror(errno));
    cmd->argv[0] = xstrdup(self);
    cmd->argv[1] = xstrdup("mock-agent");
    cmd->argv[2] = NULL;
    cmd->argc = 2;
    return 0;
}

/* Creates the launcher's directory chain under ~/.local/share/agentd. */
static int make_parents(char *path)
{
    for (char *c = path + 1; *c; c++) {
        if (*c != '/')
            continue;
        *c = '\0';
        int r = mkdir(path, 0755);
        *c = '/';
        if (r < 0 && errno != EEXIST)
            return -1;
    }
    return 0;
}

static int install(uv_loop_t *loop, struct agent_install *in, struct problem *err)
{
    char self[PATH_MAX], tmp[PATH_MAX + 8];
    struct agent_status st;
    FILE *f;

    status(in->agent, &st);
    in->source = "builtin";
    snprintf(in->path, sizeof(in->path), "%s", st.path);
    snprintf(in->version_installed, sizeof(in->version_installed), "builtin");
    if (st.installed && !in->reinstall) {
        in->already_installed = true;
        in->done(in, NULL);
        return 0;
    }
    /* A few bytes in HOME, once: written here rather than on the worker pool. */
    if (!st.path[0] || self_path(self, sizeof(self)) < 0 || make_parents(st.path) < 0)
        return problem_with_id(err, 500, PROBLEM_INSTALL_FAILED, "mock", "mock: %s",
                               st.path[0] ? strerror(errno) : "HOME is not set");
    snprintf(tmp, sizeof(tmp), "%s.tmp", st.path);
    f = fopen(tmp, "we");
    if (!f)
        return problem_with_id(err, 500, PROBLEM_INSTALL_FAILED, "mock", "mock: %s: %s", tmp,
                               strerror(errno));
    fprintf(f, "#!/bin/sh\n# The ACP mock agent built into agentd.\nexec '%s' mock-agent \"$@\"\n",
            self);
    if (fclose(f) != 0 || chmod(tmp, 0755) < 0 || rename(tmp, st.path) < 0) {
        unlink(tmp);
        return problem_with_id(err, 500, PROBLEM_INSTALL_FAILED, "mock", "mock: %s: %s", st.path,
                               strerror(errno));
    }
    in->done(in, NULL);
    return 0;
}

/* What `GET /v1/agents/mock?config=true` shows; the mock's own session/new reports the same. */
static const char config_options[] =
    "[{\"category\":\"model\",\"currentValue\":\"mock\",\"id\":\"model\",\"name\":\"Model\","
    "\"options\":[{\"name\":\"Mock\",\"value\":\"mock\"},{\"name\":\"Mock Fast\",\"value\":"
    "\"mock-fast\"}],\"type\":\"select\"},{\"category\":\"mode\",\"currentValue\":\"normal\","
    "\"id\":\"mode\",\"name\":\"Mode\",\"options\":[{\"name\":\"Normal\",\"value\":\"normal\"},"
    "{\"name\":\"Plan\",\"value\":\"plan\"}],\"type\":\"select\"},{\"category\":"
    "\"thought_level\",\"currentValue\":\"low\",\"id\":\"thought_level\",\"name\":\"Thought "
    "Level\",\"options\":[{\"name\":\"Low\",\"value\":\"low\"},{\"name\":\"Medium\",\"value\":"
    "\"medium\"},{\"name\":\"High\",\"value\":\"high\"}],\"type\":\"select\"}]";

const struct agent_adapter agent_mock = {
    .id = "mock",
    .caps = (1u << AGENT_CAP_COUNT) - 1 - AGENT_CAP_SHARED_PROCESS,
    .config_options = config_options,
    .credentials = agent_signs_in_itself,
    .status = status,
    .launch = launch,
    .install = install,
};
