/*
 * agent_amp: Amp.  launched as `amp-acp`
 * speaking ACP on stdio (not on npm: found on PATH or through AGENTD_AMP_ACP_BIN).
 */
#include "agent.h"

#include <stddef.h>

static const char *const launch_args[] = {NULL};
/* Its own, beyond the Anthropic credentials the reference counts for amp. */
static const char *const cred_env[] = {"AMP_API_KEY", NULL};
static const char *const cred_files[] = {".config/amp/settings.json",
                                         ".local/share/amp/secrets.json", NULL};

static bool credentials(const struct agent_adapter *a)
{
    return agent_anthropic_credentials() || agent_has_env(cred_env) ||
           agent_has_home_file(cred_files);
}

/* What `GET /v1/agents/amp?config=true` shows until the agent reports its own. */
static const char config_options[] =
    "[{\"category\":\"model\",\"currentValue\":\"amp-default\",\"id\":\"model\",\"name\":\"Mo"
    "del\",\"options\":[{\"name\":\"Amp Default\",\"value\":\"amp-default\"}],\"type\":\"sele"
    "ct\"},{\"category\":\"mode\",\"currentValue\":\"default\",\"id\":\"mode\",\"name\":\"Mod"
    "e\",\"options\":[{\"name\":\"Default\",\"value\":\"default\"},{\"name\":\"Bypass\",\"val"
    "ue\":\"bypass\"}],\"type\":\"select\"}]";

const struct agent_adapter agent_amp = {
    .id = "amp",
    .caps = AGENT_CAP_TOOL_CALLS | AGENT_CAP_TOOL_RESULTS | AGENT_CAP_TEXT_MESSAGES |
            AGENT_CAP_ERROR_EVENTS | AGENT_CAP_MCP_TOOLS,
    .config_options = config_options,
    .npm = {},
    .bin = "amp-acp",
    .bin_args = launch_args,
    .bin_env = "AGENTD_AMP_ACP_BIN",
    .native = "amp",
    .native_rel = NULL,
    .install_hint = "Amp's ACP adapter (amp-acp) is not published on npm: put `amp-acp` on PATH or "
                    "set AGENTD_AMP_ACP_BIN to its path",
    .credentials = credentials,
    .launch = agent_npm_launch,
    .install = agent_npm_install,
    .status = agent_npm_status,
};
