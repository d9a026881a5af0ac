/*
 * cli: the command line.  `agentd server` takes the same flags as the
 * reference's `sandbox-agent server` (including -O/-M/-A/-C and the ignored
 * --no-telemetry) plus agentd's own --fs-root, --log-level and --port-file.
 * Errors name the flag and say what was expected; exit status 2.
 */
#include "cli.h"
#include "opts.h"

#include "browser.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "agentd " AGENTD_VERSION " - sandbox daemon (wire-compatible with sandbox-agent " AGENTD_COMPAT
    ")\n"
    "\n"
    "Usage:\n"
    "  agentd server [OPTIONS] (--token TOKEN | --no-token)\n"
    "  agentd attach PROC_ID [--endpoint URL] [--token T] [--since N] [--detach-key KEY]\n"
    "  agentd exec [-i] [-t] [--cwd DIR] [-e KEY=VALUE]... [--endpoint URL] [--token T]\n"
    "              [--detach-key KEY] -- COMMAND [ARGS...]\n"
    "                                  (agentd attach --help explains the client options)\n"
    "  agentd install-agent AGENT|--all [--reinstall] [--agent-version V]\n"
    "  agentd install desktop [--yes] [--print-only] [--package-manager apt|dnf|apk]\n"
    "                         [--no-fonts]\n"
    "  agentd mock-agent               the built-in mock ACP agent (JSON-RPC on stdin/stdout)\n"
    "  agentd --version\n"
    "  agentd --help\n"
    "\n"
    "Server options:\n"
    "  --host HOST                     listen address (default 127.0.0.1)\n"
    "  --port PORT                     listen port (default 2468, 0 = any free port)\n"
    "  --token TOKEN                   require 'Authorization: Bearer TOKEN' on /v1\n"
    "                                  (also read from AGENTD_TOKEN)\n"
    "  --no-token                      serve without authentication\n"
    "  -O, --cors-allow-origin ORIGIN  allow this browser origin (repeatable)\n"
    "  -M, --cors-allow-method METHOD  allowed CORS method (repeatable, default *)\n"
    "  -A, --cors-allow-header HEADER  allowed CORS header (repeatable, default *)\n"
    "  -C, --cors-allow-credentials    send access-control-allow-credentials: true\n"
    "  --fs-root DIR                   confine every /v1/fs path beneath DIR\n"
    "  --log-level LEVEL               debug, info, warn or error (default info;\n"
    "                                  also AGENTD_LOG)\n"
    "  --port-file FILE                write the bound port to FILE once listening\n"
    "  --allow-host NAME               also accept requests whose Host is NAME (repeatable;\n"
    "                                  also AGENTD_ALLOW_HOSTS=a,b): see README, Security\n"
    "  --no-telemetry                  accepted for compatibility (agentd sends none)\n";

enum {
    OPT_HOST = 256,
    OPT_PORT,
    OPT_TOKEN,
    OPT_NO_TOKEN,
    OPT_FS_ROOT,
    OPT_LOG_LEVEL,
    OPT_PORT_FILE,
    OPT_NO_TELEMETRY,
    OPT_ALLOW_HOST,
};

static const struct option server_options[] = {
    {"host", required_argument, NULL, OPT_HOST},
    {"port", required_argument, NULL, OPT_PORT},
    {"token", required_argument, NULL, OPT_TOKEN},
    {"no-token", no_argument, NULL, OPT_NO_TOKEN},
    {"cors-allow-origin", required_argument, NULL, 'O'},
    {"cors-allow-method", required_argument, NULL, 'M'},
    {"cors-allow-header", required_argument, NULL, 'A'},
    {"cors-allow-credentials", no_argument, NULL, 'C'},
    {"fs-root", required_argument, NULL, OPT_FS_ROOT},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"port-file", required_argument, NULL, OPT_PORT_FILE},
    {"no-telemetry", no_argument, NULL, OPT_NO_TELEMETRY},
    {"allow-host", required_argument, NULL, OPT_ALLOW_HOST},
    {"help", no_argument, NULL, OPTS_HELP},
    {NULL, 0, NULL, 0},
};

static int list_add(struct config_list *l, const char *flag, const char *v)
{
    if (l->n >= CONFIG_LIST_MAX) {
        fprintf(stderr, "agentd: %s given more than %d times\n", flag, CONFIG_LIST_MAX);
        return -1;
    }
    l->v[l->n++] = v;
    return 0;
}

/* Adds an --allow-host or AGENTD_ALLOW_HOSTS value once it is a host the Host check can match. */
static int allow_host_add(struct config_list *l, const char *flag, const char *v)
{
    char name[BROWSER_NAME_MAX];

    if (browser_host_norm(v, name, sizeof(name)) < 0) {
        fprintf(stderr,
                "agentd: %s expects a host name or address (NAME, NAME:PORT, IPV6 or "
                "[IPV6]:PORT; the port is ignored), got '%s'\n",
                flag, v);
        return -1;
    }
    return list_add(l, flag, v);
}

static int parse_port(const char *s, int *ret)
{
    char *end;
    long v;

    if (!*s || *s < '0' || *s > '9')
        return -EINVAL;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end || v < 0 || v > 65535)
        return -EINVAL;
    *ret = (int)v;
    return 0;
}

struct server_args {
    struct agentd_config *cfg;
    const char *token;
    bool no_token;
};

/* One `server` option (struct opts). */
static int server_option(int key, const char *v, void *ctx)
{
    struct server_args *a = ctx;
    struct agentd_config *cfg = a->cfg;

    switch (key) {
    case OPT_HOST:
        cfg->host = v;
        return 0;
    case OPT_PORT:
        if (parse_port(v, &cfg->port) < 0)
            return opts_error("--port expects a number from 0 to 65535, got '%s'", v);
        return 0;
    case OPT_TOKEN:
        if (!*v)
            return opts_error("--token must not be empty (use --no-token)");
        a->token = v;
        return 0;
    case OPT_NO_TOKEN:
        a->no_token = true;
        return 0;
    case 'O':
        return list_add(&cfg->cors_origins, "--cors-allow-origin", v);
    case 'M':
        return list_add(&cfg->cors_methods, "--cors-allow-method", v);
    case 'A':
        return list_add(&cfg->cors_headers, "--cors-allow-header", v);
    case 'C':
        cfg->cors_credentials = true;
        return 0;
    case OPT_FS_ROOT:
        cfg->fs_root = v;
        return 0;
    case OPT_LOG_LEVEL:
        if (log_parse_level(v, &cfg->log_level) < 0)
            return opts_error("--log-level expects debug, info, warn or error, got '%s'", v);
        return 0;
    case OPT_PORT_FILE:
        cfg->port_file = v;
        return 0;
    case OPT_NO_TELEMETRY:
        return 0;
    case OPT_ALLOW_HOST:
        return allow_host_add(&cfg->allow_hosts, "--allow-host", v);
    }
    return opts_error("unhandled option %d", key); /* a table entry without a case: a bug */
}

static enum cli_action parse_server(int argc, char **argv, struct agentd_config *cfg)
{
    struct server_args a = {.cfg = cfg};
    const struct opts o = {"server", usage_text, "O:M:A:C", server_options, server_option, &a};
    const char *token, *env;
    bool no_token;
    int first = opts_parse(&o, argc, argv);

    if (first == OPTS_EXIT_OK)
        return CLI_EXIT_OK;
    if (first < 0)
        return CLI_EXIT_USAGE;
    if (first < argc) {
        opts_error("unexpected argument '%s' (see agentd --help)", argv[first]);
        return CLI_EXIT_USAGE;
    }
    token = a.token;
    no_token = a.no_token;
    /* The environment only fills in when the command line chose nothing. */
    env = getenv("AGENTD_TOKEN");
    if (!token && !no_token && env && *env)
        token = env;
    if (token && no_token) {
        fprintf(stderr, "agentd: --token and --no-token cannot be used together\n");
        return CLI_EXIT_USAGE;
    }
    if (!token && !no_token) {
        fprintf(stderr, "agentd: choose authentication: --token TOKEN (or AGENTD_TOKEN) or "
                        "--no-token\n");
        return CLI_EXIT_USAGE;
    }
    cfg->token = token;
    /* AGENTD_ALLOW_HOSTS=a,b adds to --allow-host (kept for the life of the process). */
    env = getenv("AGENTD_ALLOW_HOSTS");
    if (env && *env) {
        static char hosts[1024];
        char *p, *save = NULL;
        if (snprintf(hosts, sizeof(hosts), "%s", env) >= (int)sizeof(hosts)) {
            fprintf(stderr, "agentd: AGENTD_ALLOW_HOSTS is longer than %zu bytes\n",
                    sizeof(hosts) - 1);
            return CLI_EXIT_USAGE;
        }
        for (p = strtok_r(hosts, ", ", &save); p; p = strtok_r(NULL, ", ", &save))
            if (allow_host_add(&cfg->allow_hosts, "AGENTD_ALLOW_HOSTS", p) < 0)
                return CLI_EXIT_USAGE;
    }
    return CLI_SERVER;
}

enum cli_action cli_parse(int argc, char **argv, struct agentd_config *cfg)
{
    const char *env = getenv("AGENTD_LOG");

    memset(cfg, 0, sizeof(*cfg));
    cfg->host = AGENTD_DEFAULT_HOST;
    cfg->port = AGENTD_DEFAULT_PORT;
    cfg->log_level = LOG_LVL_INFO;
    if (env && log_parse_level(env, &cfg->log_level) < 0)
        fprintf(stderr, "agentd: ignoring AGENTD_LOG='%s' (debug, info, warn or error)\n", env);

    if (argc < 2) {
        fputs(usage_text, stderr);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0 ||
        strcmp(argv[1], "-v") == 0 || strcmp(argv[1], "version") == 0) {
        printf("agentd %s (sandbox-agent API %s)\n", AGENTD_VERSION, AGENTD_COMPAT);
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(usage_text, stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "server") == 0)
        return parse_server(argc - 1, argv + 1, cfg);
    if (strcmp(argv[1], "mock-agent") == 0) {
        if (argc > 2) {
            fprintf(stderr, "agentd: 'mock-agent' takes no arguments, got '%s'\n", argv[2]);
            return CLI_EXIT_USAGE;
        }
        return CLI_MOCK_AGENT;
    }
    fprintf(stderr, "agentd: unknown command '%s' (see agentd --help)\n", argv[1]);
    return CLI_EXIT_USAGE;
}
