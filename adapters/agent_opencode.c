/*
 * agent_opencode: OpenCode.  Installed from npm into agentd's prefix; launched as `opencode acp`
 * speaking ACP on stdio.
 */
#include "agent.h"

#include <stddef.h>

static const char *const launch_args[] = {"acp", NULL};
/* Its own, beyond the Anthropic and OpenAI credentials the reference counts. */
static const char *const cred_env[] = {"OPENCODE_API_KEY", "OPENROUTER_API_KEY", NULL};
static const char *const cred_files[] = {".local/share/opencode/auth.json", NULL};

static bool credentials(const struct agent_adapter *a)
{
    return agent_anthropic_credentials() || agent_openai_credentials() || agent_has_env(cred_env) ||
           agent_has_home_file(cred_files);
}

/* What `GET /v1/agents/opencode?config=true` shows until the agent reports its own. */
static const char config_options[] =
    "[{\"category\":\"model\",\"currentValue\":\"opencode/gemini-3-pro\",\"id\":\"model\",\"n"
    "ame\":\"Model\",\"options\":[{\"name\":\"Anthropic/Claude Haiku 3.5\",\"value\":\"anthro"
    "pic/claude-3-5-haiku-20241022\"},{\"name\":\"Anthropic/Claude Haiku 3.5 (latest)\",\"val"
    "ue\":\"anthropic/claude-3-5-haiku-latest\"},{\"name\":\"Anthropic/Claude Sonnet 3.5\",\""
    "value\":\"anthropic/claude-3-5-sonnet-20240620\"},{\"name\":\"Anthropic/Claude Sonnet 3."
    "5 v2\",\"value\":\"anthropic/claude-3-5-sonnet-20241022\"},{\"name\":\"Anthropic/Claude "
    "Sonnet 3.7\",\"value\":\"anthropic/claude-3-7-sonnet-20250219\"},{\"name\":\"Anthropic/C"
    "laude Sonnet 3.7 (latest)\",\"value\":\"anthropic/claude-3-7-sonnet-latest\"},{\"name\":"
    "\"Anthropic/Claude Haiku 3\",\"value\":\"anthropic/claude-3-haiku-20240307\"},{\"name\":"
    "\"Anthropic/Claude Opus 3\",\"value\":\"anthropic/claude-3-opus-20240229\"},{\"name\":\""
    "Anthropic/Claude Sonnet 3\",\"value\":\"anthropic/claude-3-sonnet-20240229\"},{\"name\":"
    "\"Anthropic/Claude Haiku 4.5 (latest)\",\"value\":\"anthropic/claude-haiku-4-5\"},{\"nam"
    "e\":\"Anthropic/Claude Haiku 4.5\",\"value\":\"anthropic/claude-haiku-4-5-20251001\"},{\""
    "name\":\"Anthropic/Claude Opus 4 (latest)\",\"value\":\"anthropic/claude-opus-4-0\"},{\""
    "name\":\"Anthropic/Claude Opus 4.1 (latest)\",\"value\":\"anthropic/claude-opus-4-1\"},{"
    "\"name\":\"Anthropic/Claude Opus 4.1\",\"value\":\"anthropic/claude-opus-4-1-20250805\"}"
    ",{\"name\":\"Anthropic/Claude Opus 4\",\"value\":\"anthropic/claude-opus-4-20250514\"},{"
    "\"name\":\"Anthropic/Claude Opus 4.5 (latest)\",\"value\":\"anthropic/claude-opus-4-5\"}"
    ",{\"name\":\"Anthropic/Claude Opus 4.5\",\"value\":\"anthropic/claude-opus-4-5-20251101\""
    "},{\"name\":\"Anthropic/Claude Opus 4.6\",\"value\":\"anthropic/claude-opus-4-6\"},{\"na"
    "me\":\"Anthropic/Claude Sonnet 4 (latest)\",\"value\":\"anthropic/claude-sonnet-4-0\"},{"
    "\"name\":\"Anthropic/Claude Sonnet 4\",\"value\":\"anthropic/claude-sonnet-4-20250514\"}"
    ",{\"name\":\"Anthropic/Claude Sonnet 4.5 (latest)\",\"value\":\"anthropic/claude-sonnet-"
    "4-5\"},{\"name\":\"Anthropic/Claude Sonnet 4.5\",\"value\":\"anthropic/claude-sonnet-4-5"
    "-20250929\"},{\"name\":\"Cerebras/GPT OSS 120B\",\"value\":\"cerebras/gpt-oss-120b\"},{\""
    "name\":\"Cerebras/Qwen 3 235B Instruct\",\"value\":\"cerebras/qwen-3-235b-a22b-instruct-"
    "2507\"},{\"name\":\"Cerebras/Z.AI GLM-4.7\",\"value\":\"cerebras/zai-glm-4.7\"},{\"name\""
    ":\"OpenAI/GPT-5.1 Codex\",\"value\":\"openai/gpt-5.1-codex\"},{\"name\":\"OpenAI/GPT-5.1"
    " Codex Max\",\"value\":\"openai/gpt-5.1-codex-max\"},{\"name\":\"OpenAI/GPT-5.1 Codex mi"
    "ni\",\"value\":\"openai/gpt-5.1-codex-mini\"},{\"name\":\"OpenAI/GPT-5.2\",\"value\":\"o"
    "penai/gpt-5.2\"},{\"name\":\"OpenAI/GPT-5.2 Codex\",\"value\":\"openai/gpt-5.2-codex\"},"
    "{\"name\":\"OpenAI/GPT-5.3 Codex\",\"value\":\"openai/gpt-5.3-codex\"},{\"name\":\"OpenC"
    "ode Zen/Big Pickle\",\"value\":\"opencode/big-pickle\"},{\"name\":\"OpenCode Zen/Claude "
    "Haiku 3.5\",\"value\":\"opencode/claude-3-5-haiku\"},{\"name\":\"OpenCode Zen/Claude Hai"
    "ku 4.5\",\"value\":\"opencode/claude-haiku-4-5\"},{\"name\":\"OpenCode Zen/Claude Opus 4"
    ".1\",\"value\":\"opencode/claude-opus-4-1\"},{\"name\":\"OpenCode Zen/Claude Opus 4.5\","
    "\"value\":\"opencode/claude-opus-4-5\"},{\"name\":\"OpenCode Zen/Claude Opus 4.6\",\"val"
    "ue\":\"opencode/claude-opus-4-6\"},{\"name\":\"OpenCode Zen/Claude Sonnet 4\",\"value\":"
    "\"opencode/claude-sonnet-4\"},{\"name\":\"OpenCode Zen/Claude Sonnet 4.5\",\"value\":\"o"
    "pencode/claude-sonnet-4-5\"},{\"name\":\"OpenCode Zen/Gemini 3 Flash\",\"value\":\"openc"
    "ode/gemini-3-flash\"},{\"name\":\"OpenCode Zen/Gemini 3 Pro\",\"value\":\"opencode/gemin"
    "i-3-pro\"},{\"name\":\"OpenCode Zen/GLM-4.6\",\"value\":\"opencode/glm-4.6\"},{\"name\":"
    "\"OpenCode Zen/GLM-4.7\",\"value\":\"opencode/glm-4.7\"},{\"name\":\"OpenCode Zen/GPT-5\""
    ",\"value\":\"opencode/gpt-5\"},{\"name\":\"OpenCode Zen/GPT-5 Codex\",\"value\":\"openco"
    "de/gpt-5-codex\"},{\"name\":\"OpenCode Zen/GPT-5 Nano\",\"value\":\"opencode/gpt-5-nano\""
    "},{\"name\":\"OpenCode Zen/GPT-5.1\",\"value\":\"opencode/gpt-5.1\"},{\"name\":\"OpenCod"
    "e Zen/GPT-5.1 Codex\",\"value\":\"opencode/gpt-5.1-codex\"},{\"name\":\"OpenCode Zen/GPT"
    "-5.1 Codex Max\",\"value\":\"opencode/gpt-5.1-codex-max\"},{\"name\":\"OpenCode Zen/GPT-"
    "5.1 Codex Mini\",\"value\":\"opencode/gpt-5.1-codex-mini\"},{\"name\":\"OpenCode Zen/GPT"
    "-5.2\",\"value\":\"opencode/gpt-5.2\"},{\"name\":\"OpenCode Zen/GPT-5.2 Codex\",\"value\""
    ":\"opencode/gpt-5.2-codex\"},{\"name\":\"OpenCode Zen/Kimi K2\",\"value\":\"opencode/kim"
    "i-k2\"},{\"name\":\"OpenCode Zen/Kimi K2 Thinking\",\"value\":\"opencode/kimi-k2-thinkin"
    "g\"},{\"name\":\"OpenCode Zen/Kimi K2.5\",\"value\":\"opencode/kimi-k2.5\"},{\"name\":\""
    "OpenCode Zen/Kimi K2.5 Free\",\"value\":\"opencode/kimi-k2.5-free\"},{\"name\":\"OpenCod"
    "e Zen/MiniMax M2.1\",\"value\":\"opencode/minimax-m2.1\"},{\"name\":\"OpenCode Zen/MiniM"
    "ax M2.1 Free\",\"value\":\"opencode/minimax-m2.1-free\"},{\"name\":\"OpenCode Zen/Trinit"
    "y Large Preview\",\"value\":\"opencode/trinity-large-preview-free\"}],\"type\":\"select\""
    "},{\"category\":\"mode\",\"currentValue\":\"build\",\"id\":\"mode\",\"name\":\"Mode\",\""
    "options\":[{\"name\":\"Build\",\"value\":\"build\"},{\"name\":\"Plan\",\"value\":\"plan\""
    "}],\"type\":\"select\"}]";

const struct agent_adapter agent_opencode = {
    .id = "opencode",
    .caps = AGENT_CAP_TOOL_CALLS | AGENT_CAP_TOOL_RESULTS | AGENT_CAP_TEXT_MESSAGES |
            AGENT_CAP_IMAGES | AGENT_CAP_FILE_ATTACHMENTS | AGENT_CAP_SESSION_LIFECYCLE |
            AGENT_CAP_ERROR_EVENTS | AGENT_CAP_MCP_TOOLS | AGENT_CAP_STREAMING_DELTAS |
            AGENT_CAP_ITEM_STARTED,
    .config_options = config_options,
    .npm =
        {
            {"opencode-ai", "1.18.33"},
        },
    .bin = "opencode",
    .bin_args = launch_args,
    .bin_env = "AGENTD_OPENCODE_BIN",
    .native = "opencode",
    .native_rel = "node_modules/.bin/opencode",
    .install_hint = NULL,
    .credentials = credentials,
    .launch = agent_npm_launch,
    .install = agent_npm_install,
    .status = agent_npm_status,
};
