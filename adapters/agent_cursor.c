/*
 * agent_cursor: Cursor.  launched as `cursor-agent acp`
 * speaking ACP on stdio (not on npm: found on PATH or through AGENTD_CURSOR_BIN).
 */
#include "agent.h"

#include <stddef.h>

static const char *const launch_args[] = {"acp", NULL};

/* What `GET /v1/agents/cursor?config=true` shows until the agent reports its own. */
static const char config_options[] =
    "[{\"category\":\"model\",\"currentValue\":\"opus-4.6-thinking\",\"id\":\"model\",\"name\""
    ":\"Model\",\"options\":[{\"name\":\"Auto\",\"value\":\"auto\"},{\"name\":\"Composer 1.5\""
    ",\"value\":\"composer-1.5\"},{\"name\":\"Composer 1\",\"value\":\"composer-1\"},{\"name\""
    ":\"GPT-5.3 Codex\",\"value\":\"gpt-5.3-codex\"},{\"name\":\"GPT-5.3 Codex Low\",\"value\""
    ":\"gpt-5.3-codex-low\"},{\"name\":\"GPT-5.3 Codex High\",\"value\":\"gpt-5.3-codex-high\""
    "},{\"name\":\"GPT-5.3 Codex Extra High\",\"value\":\"gpt-5.3-codex-xhigh\"},{\"name\":\""
    "GPT-5.3 Codex Fast\",\"value\":\"gpt-5.3-codex-fast\"},{\"name\":\"GPT-5.3 Codex Low Fas"
    "t\",\"value\":\"gpt-5.3-codex-low-fast\"},{\"name\":\"GPT-5.3 Codex High Fast\",\"value\""
    ":\"gpt-5.3-codex-high-fast\"},{\"name\":\"GPT-5.3 Codex Extra High Fast\",\"value\":\"gp"
    "t-5.3-codex-xhigh-fast\"},{\"name\":\"GPT-5.2\",\"value\":\"gpt-5.2\"},{\"name\":\"GPT-5"
    ".2 Codex\",\"value\":\"gpt-5.2-codex\"},{\"name\":\"GPT-5.2 Codex High\",\"value\":\"gpt"
    "-5.2-codex-high\"},{\"name\":\"GPT-5.2 Codex Low\",\"value\":\"gpt-5.2-codex-low\"},{\"n"
    "ame\":\"GPT-5.2 Codex Extra High\",\"value\":\"gpt-5.2-codex-xhigh\"},{\"name\":\"GPT-5."
    "2 Codex Fast\",\"value\":\"gpt-5.2-codex-fast\"},{\"name\":\"GPT-5.2 Codex High Fast\",\""
    "value\":\"gpt-5.2-codex-high-fast\"},{\"name\":\"GPT-5.2 Codex Low Fast\",\"value\":\"gp"
    "t-5.2-codex-low-fast\"},{\"name\":\"GPT-5.2 Codex Extra High Fast\",\"value\":\"gpt-5.2-"
    "codex-xhigh-fast\"},{\"name\":\"GPT-5.1 Codex Max\",\"value\":\"gpt-5.1-codex-max\"},{\""
    "name\":\"GPT-5.1 Codex Max High\",\"value\":\"gpt-5.1-codex-max-high\"},{\"name\":\"Clau"
    "de 4.6 Opus (Thinking)\",\"value\":\"opus-4.6-thinking\"},{\"name\":\"GPT-5.2 High\",\"v"
    "alue\":\"gpt-5.2-high\"},{\"name\":\"Claude 4.6 Opus\",\"value\":\"opus-4.6\"},{\"name\""
    ":\"Claude 4.5 Opus\",\"value\":\"opus-4.5\"},{\"name\":\"Claude 4.5 Opus (Thinking)\",\""
    "value\":\"opus-4.5-thinking\"},{\"name\":\"Claude 4.5 Sonnet\",\"value\":\"sonnet-4.5\"}"
    ",{\"name\":\"Claude 4.5 Sonnet (Thinking)\",\"value\":\"sonnet-4.5-thinking\"},{\"name\""
    ":\"GPT-5.1 High\",\"value\":\"gpt-5.1-high\"},{\"name\":\"Gemini 3 Pro\",\"value\":\"gem"
    "ini-3-pro\"},{\"name\":\"Gemini 3 Flash\",\"value\":\"gemini-3-flash\"},{\"name\":\"Grok"
    "\",\"value\":\"grok\"}],\"type\":\"select\"}]";

const struct agent_adapter agent_cursor = {
    .id = "cursor",
    .caps = AGENT_CAP_PLAN_MODE | AGENT_CAP_PERMISSIONS | AGENT_CAP_TOOL_CALLS |
            AGENT_CAP_TOOL_RESULTS | AGENT_CAP_TEXT_MESSAGES | AGENT_CAP_IMAGES |
            AGENT_CAP_SESSION_LIFECYCLE | AGENT_CAP_ERROR_EVENTS | AGENT_CAP_STREAMING_DELTAS |
            AGENT_CAP_ITEM_STARTED,
    .config_options = config_options,
    .npm = {},
    .bin = "cursor-agent",
    .bin_args = launch_args,
    .bin_env = "AGENTD_CURSOR_BIN",
    .native = "cursor-agent",
    .native_rel = NULL,
    .install_hint =
        "Cursor's agent CLI is not published on npm: install it (curl https://cursor.com/install "
        "-fsS | bash) so `cursor-agent` is on PATH, or set AGENTD_CURSOR_BIN to its path",
    .credentials = agent_signs_in_itself, /* true, as the reference reports */
    .launch = agent_npm_launch,
    .install = agent_npm_install,
    .status = agent_npm_status,
};
