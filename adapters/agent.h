/*
 * The agent table: one adapter per coding agent (agent_<id>.c), each a set
 * of function pointers saying how to detect its credentials, where it is
 * installed, how to install it and how to start its ACP process.  The
 * routes (agent_routes.c) and the ACP bridge (acp.c) only go through here.
 */
#ifndef ADAPTERS_AGENT_H
#define ADAPTERS_AGENT_H

#include "../stream/problem.h"

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* The 18 capability booleans of AgentInfo, in the reference's order. */
enum agent_cap {
    AGENT_CAP_PLAN_MODE = 1u << 0,
    AGENT_CAP_PERMISSIONS = 1u << 1,
    AGENT_CAP_QUESTIONS = 1u << 2,
    AGENT_CAP_TOOL_CALLS = 1u << 3,
    AGENT_CAP_TOOL_RESULTS = 1u << 4,
    AGENT_CAP_TEXT_MESSAGES = 1u << 5,
    AGENT_CAP_IMAGES = 1u << 6,
    AGENT_CAP_FILE_ATTACHMENTS = 1u << 7,
    AGENT_CAP_SESSION_LIFECYCLE = 1u << 8,
    AGENT_CAP_ERROR_EVENTS = 1u << 9,
    AGENT_CAP_REASONING = 1u << 10,
    AGENT_CAP_STATUS = 1u << 11,
    AGENT_CAP_COMMAND_EXECUTION = 1u << 12,
    AGENT_CAP_FILE_CHANGES = 1u << 13,
    AGENT_CAP_MCP_TOOLS = 1u << 14,
    AGENT_CAP_STREAMING_DELTAS = 1u << 15,
    AGENT_CAP_ITEM_STARTED = 1u << 16,
    AGENT_CAP_SHARED_PROCESS = 1u << 17,
};
#define AGENT_CAP_COUNT 18

#define AGENT_MAX_ARGS 8
#define AGENT_MAX_ENV  8

/* How to start an agent's ACP process (strings owned; agent_cmd_done frees them). */
struct agent_cmd {
    char *argv[AGENT_MAX_ARGS + 2]; /* argv[0] is the program, NULL-terminated */
    size_t argc;
    /* "KEY=VALUE" replacing the daemon's (the adapter's launch_env, then PATH with the
     * install's own node_modules/.bin first), NULL-terminated. */
    char *env[AGENT_MAX_ENV + 2];
    size_t envc;
};
void agent_cmd_done(struct agent_cmd *c);

struct agent_status {
    bool installed;
    char path[PATH_MAX]; /* where its entry point is ("" when not installed) */
    char version[64];    /* "" when unknown */
};

struct agent_install;
/* Reports the end of an install: err is NULL on success. */
typedef void (*agent_install_done_fn)(struct agent_install *in, const struct problem *err);

struct agent_install {
    const struct agent_adapter *agent;
    const char *version; /* agentVersion, or NULL for the pinned one */
    bool reinstall;
    /* results */
    bool already_installed;
    char path[PATH_MAX];
    char version_installed[64];
    const char *source; /* "npm", "builtin" */
    agent_install_done_fn done;
    void *arg;
};

struct agent_npm_pkg {
    const char *name;
    const char *version; /* pinned; agentVersion overrides the first package's */
};

struct agent_adapter {
    const char *id;
    uint32_t caps;              /* enum agent_cap bits */
    const char *config_options; /* the fallback configOptions, a JSON array */
    struct agent_npm_pkg npm[2];
    const char *bin;             /* the ACP entry point's name (node_modules/.bin or PATH) */
    const char *const *bin_args; /* its arguments, NULL-terminated */
    const char *bin_env;         /* variable naming an explicit entry point */
    const char *install_hint;    /* how to provide it when npm cannot, or NULL */
    /* The agent's own CLI, which GET /v1/agents?config=true reports as path and version (the
     * reference's choice; the ACP entry point is agentProcessPath): its name on PATH, and where
     * the npm install puts it inside the prefix (NULL: only PATH).  NULL name: none (mock). */
    const char *native;
    const char *native_rel;
    /* What it needs in its environment inside a sandbox ("KEY=VALUE", NULL-terminated, or
     * NULL), replacing the daemon's value (docs/api/agents.md). */
    const char *const *launch_env;
    /* agentd's defaults for it, set only where the daemon's environment lacks the KEY. */
    const char *const *launch_env_defaults;
    bool (*credentials)(const struct agent_adapter *a);
    void (*status)(const struct agent_adapter *a, struct agent_status *st);
    /* Fills cmd, or -1 with err when the agent is not available. */
    int (*launch)(const struct agent_adapter *a, struct agent_cmd *cmd, struct problem *err);
    /* Starts an install on the loop; in->done follows (maybe at once). -1 with err: not started. */
    int (*install)(uv_loop_t *loop, struct agent_install *in, struct problem *err);
};

/* In the reference's order: claude, codex, opencode, amp, pi, cursor, mock. */
extern const struct agent_adapter *const agent_table[];
extern const size_t agent_count;
const struct agent_adapter *agent_find(const char *id);
/* The 400 for an agent id that is not in the table: names it and lists the known ones. */
int agent_unknown(struct problem *err, const char *id);

/* Shared pieces for the adapters. */
bool agent_has_env(const char *const *names);
/* Always true: agents that sign in by themselves on first use (pi, cursor) and the mock. */
bool agent_signs_in_itself(const struct agent_adapter *a);
bool agent_has_home_file(const char *const *rel_paths);
/* Anthropic credentials (ANTHROPIC_API_KEY, CLAUDE_API_KEY, CLAUDE_CODE_OAUTH_TOKEN, Claude
 * Code's sign-in): claude, amp and opencode count them, as the reference does. */
bool agent_anthropic_credentials(void);
/* OpenAI credentials (OPENAI_API_KEY, CODEX_API_KEY, a key or tokens in ~/.codex/auth.json):
 * codex and opencode count them. */
bool agent_openai_credentials(void);
/*
 * agentd's data directory joined with rel into out: $XDG_DATA_HOME/agentd/<rel> when
 * XDG_DATA_HOME is absolute, else $HOME/.local/share/agentd/<rel>.  -1 when it does not fit
 * or neither is set.
 */
int agent_data_path(char *out, size_t n, const char *rel);
/*
 * Where agent a's own CLI is, into out: the prefix's native_rel, the reference's install
 * directory ($XDG_DATA_HOME/sandbox-agent/bin/<native>), then PATH.  0, or -ENOENT (out "").
 */
int agent_native_path(const struct agent_adapter *a, char *out, size_t n);
/*
 * The native CLI's version as the reference reads it: the first line `<cli> --version` (then
 * `version`, then `-V`) prints on success, cut before " (".  Lookups are child processes on
 * the loop, cached per agent until the agent is installed again or fresh is asked.
 * agent_versions_fetch() calls done(arg) once every agent in list[0..n) has a cached answer
 * (maybe before it returns); agent_version_get() then gives it (false: none).
 */
typedef void (*agent_versions_done_fn)(void *arg);
void agent_versions_fetch(uv_loop_t *loop, const struct agent_adapter *const *list, size_t n,
                          bool fresh, agent_versions_done_fn done, void *arg);
bool agent_version_get(const struct agent_adapter *a, char *path, size_t path_n, char *version,
                       size_t version_n);
/* Drops a's cached answer (after an install). */
void agent_version_forget(const struct agent_adapter *a);
/* At daemon shutdown (acp_shutdown calls both): kill running npm installs (their requests
 * get a 503) and version lookups, so the loop can end. */
void agent_shutdown(void);
void agent_version_shutdown(void);
void agent_npm_status(const struct agent_adapter *a, struct agent_status *st);
int agent_npm_launch(const struct agent_adapter *a, struct agent_cmd *cmd, struct problem *err);
int agent_npm_install(uv_loop_t *loop, struct agent_install *in, struct problem *err);
/*
 * How agent a starts, with the user's launcher overrides first (docs/api/agents.md):
 * an executable $XDG_DATA_HOME/sandbox-agent/bin/agent_processes/<id>-acp (the
 * reference's location), then ~/.local/share/agentd/bin/agent_processes/<id>-acp
 * (except the mock launcher agentd writes itself), then the adapter's own launch.
 * XDG_DATA_HOME defaults to ~/.local/share.  Fills cmd (agent_cmd_done() frees it).
 */
int agent_launch(const struct agent_adapter *a, struct agent_cmd *cmd, struct problem *err);

#endif
