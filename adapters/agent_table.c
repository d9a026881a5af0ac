/*
 * agent_table: every agent adapter agentd knows, in the order GET /v1/agents
 * lists them, and the lookup by id.  It sits above the adapters (agent_*.c),
 * which use only the shared helpers of agents.c.
 */
#include "agent.h"

#include <stdio.h>
#include <string.h>

extern const struct agent_adapter agent_claude, agent_codex, agent_opencode, agent_amp, agent_pi,
    agent_cursor, agent_mock;

const struct agent_adapter *const agent_table[] = {
    &agent_claude, &agent_codex, &agent_opencode, &agent_amp, &agent_pi, &agent_cursor, &agent_mock,
};
const size_t agent_count = sizeof(agent_table) / sizeof(agent_table[0]);

const struct agent_adapter *agent_find(const char *id)
{
    for (size_t i = 0; i < agent_count; i++)
        if (strcmp(agent_table[i]->id, id) == 0)
            return agent_table[i];
    return NULL;
}

int agent_unknown(struct problem *err, const char *id)
{
    char known[256];
    size_t len = 0;

    known[0] = '\0';
    for (size_t i = 0; i < agent_count; i++) {
        int n =
            snprintf(known + len, sizeof(known) - len, "%s%s", i ? ", " : "", agent_table[i]->id);
        if (n < 0 || (size_t)n >= sizeof(known) - len)
            break;
        len += (size_t)n;
    }
    return problem_with_id(err, 400, PROBLEM_UNSUPPORTED_AGENT, id, "%s (known agents: %s)", id,
                           known);
}
