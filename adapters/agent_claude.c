/*
 * agent_claude: Claude Code.  Installed from npm into agentd's prefix; launched as
 * `claude-agent-acp` speaking ACP on stdio.
 */
#include "agent.h"

#include <stddef.h>

static const char *const launch_args[] = {NULL};
/*
 * Claude Code refuses --dangerously-skip-permissions as root unless
 * IS_SANDBOX is exactly "1"; session/new then fails with "Query closed before
 * response received" and the reason is only in ~/.claude/debug.  Its ACP
 * adapter passes the flag as root whenever IS_SANDBOX is non-empty, so any
 * other value ("yes", "true", "0") breaks every session, and an empty one
 * hides the bypassPermissions mode: always "1" (agentd runs inside a sandbox
 * by definition).
 */
static const char *const launch_env[] = {"IS_SANDBOX=1", NULL};
/*
 * Claude Code retries a failed model call 10 times with a doubling backoff
 * (0.5 s up to 32 s), saying nothing on the ACP stream meanwhile: a base URL
 * that refuses connections fails the prompt after about 3 minutes (measured
 * 185 s), a blackholed one after more (each attempt also waits for its connect
 * timeout).  5 retries fail it after about 16 s and still ride out a short API
 * outage; CLAUDE_CODE_MAX_RETRIES in agentd's environment wins.
 */
static const char *const launch_env_defaults[] = {"CLAUDE_CODE_MAX_RETRIES=5", NULL};

static bool credentials(const struct agent_adapter *a)
{
    return agent_anthropic_credentials();
}

/* What `GET /v1/agents/claude?config=true` shows until the agent reports its own. */
static const char config_options[] =
    "[{\"category\":\"model\",\"currentValue\":\"default\",\"id\":\"model\",\"name\":\"Model\""
    ",\"options\":[{\"name\":\"Default\",\"value\":\"default\"},{\"name\":\"Sonnet\",\"value\""
    ":\"sonnet\"},{\"name\":\"Opus\",\"value\":\"opus\"},{\"name\":\"Haiku\",\"value\":\"haik"
    "u\"}],\"type\":\"select\"},{\"category\":\"mode\",\"currentValue\":\"default\",\"id\":\""
    "mode\",\"name\":\"Mode\",\"options\":[{\"name\":\"Default\",\"value\":\"default\"},{\"na"
    "me\":\"Accept Edits\",\"value\":\"acceptEdits\"},{\"name\":\"Plan\",\"value\":\"plan\"},"
    "{\"name\":\"Don't Ask\",\"value\":\"dontAsk\"},{\"name\":\"Bypass Permissions\",\"value\""
    ":\"bypassPermissions\"}],\"type\":\"select\"}]";

const struct agent_adapter agent_claude = {
    .id = "claude",
    .caps = AGENT_CAP_PERMISSIONS | AGENT_CAP_QUESTIONS | AGENT_CAP_TOOL_CALLS |
            AGENT_CAP_TOOL_RESULTS | AGENT_CAP_TEXT_MESSAGES | AGENT_CAP_MCP_TOOLS |
            AGENT_CAP_STREAMING_DELTAS,
    .config_options = config_options,
    .npm =
        {
            {"@zed-industries/claude-agent-acp", "0.23.1"},
        },
    .bin = "claude-agent-acp",
    .bin_args = launch_args,
    .bin_env = "AGENTD_CLAUDE_ACP_BIN",
    .native = "claude",
    .native_rel = "node_modules/@anthropic-ai/claude-agent-sdk/cli.js",
    .install_hint = NULL,
    .launch_env = launch_env,
    .launch_env_defaults = launch_env_defaults,
    .credentials = credentials,
    .launch = agent_npm_launch,
    .install = agent_npm_install,
    .status = agent_npm_status,
};
