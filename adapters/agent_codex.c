/*
 * agent_codex: Codex.  Installed from npm into agentd's prefix; launched as `codex-acp`
 * speaking ACP on stdio.
 */
#include "agent.h"

#include <stddef.h>

static const char *const launch_args[] = {NULL};

static bool credentials(const struct agent_adapter *a)
{
    return agent_openai_credentials();
}

/* What `GET /v1/agents/codex?config=true` shows until the agent reports its own. */
static const char config_options[] =
    "[{\"category\":\"model\",\"currentValue\":\"gpt-5.3-codex\",\"id\":\"model\",\"name\":\""
    "Model\",\"options\":[{\"name\":\"gpt-5.3-codex\",\"value\":\"gpt-5.3-codex\"},{\"name\":"
    "\"GPT-5.3-Codex-Spark\",\"value\":\"gpt-5.3-codex-spark\"},{\"name\":\"gpt-5.2-codex\",\""
    "value\":\"gpt-5.2-codex\"},{\"name\":\"gpt-5.1-codex-max\",\"value\":\"gpt-5.1-codex-max"
    "\"},{\"name\":\"gpt-5.2\",\"value\":\"gpt-5.2\"},{\"name\":\"gpt-5.1-codex-mini\",\"valu"
    "e\":\"gpt-5.1-codex-mini\"}],\"type\":\"select\"},{\"category\":\"mode\",\"currentValue\""
    ":\"read-only\",\"id\":\"mode\",\"name\":\"Mode\",\"options\":[{\"name\":\"Read Only\",\""
    "value\":\"read-only\"},{\"name\":\"Default\",\"value\":\"auto\"},{\"name\":\"Full Access"
    "\",\"value\":\"full-access\"}],\"type\":\"select\"},{\"category\":\"thought_level\",\"cu"
    "rrentValue\":\"high\",\"id\":\"thought_level\",\"name\":\"Thought Level\",\"options\":[{"
    "\"name\":\"Low\",\"value\":\"low\"},{\"name\":\"Medium\",\"value\":\"medium\"},{\"name\""
    ":\"High\",\"value\":\"high\"},{\"name\":\"Xhigh\",\"value\":\"xhigh\"}],\"type\":\"selec"
    "t\"}]";

const struct agent_adapter agent_codex = {
    .id = "codex",
    .caps = AGENT_CAP_PLAN_MODE | AGENT_CAP_PERMISSIONS | AGENT_CAP_TOOL_CALLS |
            AGENT_CAP_TOOL_RESULTS | AGENT_CAP_TEXT_MESSAGES | AGENT_CAP_IMAGES |
            AGENT_CAP_FILE_ATTACHMENTS | AGENT_CAP_SESSION_LIFECYCLE | AGENT_CAP_ERROR_EVENTS |
            AGENT_CAP_REASONING | AGENT_CAP_STATUS | AGENT_CAP_COMMAND_EXECUTION |
            AGENT_CAP_FILE_CHANGES | AGENT_CAP_MCP_TOOLS | AGENT_CAP_STREAMING_DELTAS |
            AGENT_CAP_ITEM_STARTED,
    .config_options = config_options,
    .npm =
        {
            {"@zed-industries/codex-acp", "0.16.0"},
        },
    .bin = "codex-acp",
    .bin_args = launch_args,
    .bin_env = "AGENTD_CODEX_ACP_BIN",
    .native = "codex",
    .native_rel = NULL,
    .install_hint = NULL,
    .credentials = credentials,
    .launch = agent_npm_launch,
    .install = agent_npm_install,
    .status = agent_npm_status,
};
