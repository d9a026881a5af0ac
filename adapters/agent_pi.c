/*
 * agent_pi: Pi.  Installed from npm into agentd's prefix; launched as `pi-acp`
 * speaking ACP on stdio.
 */
#include "agent.h"

#include <stddef.h>

static const char *const launch_args[] = {NULL};

/* What `GET /v1/agents/pi?config=true` shows until the agent reports its own. */
static const char config_options[] =
    "[{\"category\":\"model\",\"currentValue\":\"default\",\"id\":\"model\",\"name\":\"Model\""
    ",\"options\":[{\"name\":\"Default\",\"value\":\"default\"}],\"type\":\"select\"}]";

const struct agent_adapter agent_pi = {
    .id = "pi",
    .caps = AGENT_CAP_TOOL_CALLS | AGENT_CAP_TOOL_RESULTS | AGENT_CAP_TEXT_MESSAGES |
            AGENT_CAP_IMAGES | AGENT_CAP_SESSION_LIFECYCLE | AGENT_CAP_ERROR_EVENTS |
            AGENT_CAP_STREAMING_DELTAS | AGENT_CAP_ITEM_STARTED,
    .config_options = config_options,
    .npm =
        {
            {"pi-acp", "0.0.34"},
            {"@mariozechner/pi-coding-agent", "0.73.1"},
        },
    .bin = "pi-acp",
    .bin_args = launch_args,
    .bin_env = "AGENTD_PI_ACP_BIN",
    .native = "pi",
    .native_rel = "node_modules/.bin/pi",
    .install_hint = NULL,
    .credentials = agent_signs_in_itself, /* true, as the reference reports */
    .launch = agent_npm_launch,
    .install = agent_npm_install,
    .status = agent_npm_status,
};
