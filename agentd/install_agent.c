/*
 * `agentd install-agent <agent>|--all [--reinstall] [--agent-version V]`:
 * the same installs as POST /v1/agents/{agent}/install, without a daemon.
 * Exit status 0 when every requested agent is installed, 1 when one
 * failed (its reason is printed), 2 for bad usage.
 */
#include "install_agent.h"
#include "opts.h"

#include "../adapters/agent.h"

#include <stdio.h>
#include <string.h>
#include <uv.h>

static const char usage[] =
    "Usage: agentd install-agent AGENT|--all [--reinstall] [--agent-version V]\n"
    "\n"
    "Agents: claude codex opencode amp pi cursor mock.  npm agents go into\n"
    "$XDG_DATA_HOME/agentd/agents/AGENT, by default ~/.local/share/agentd/agents/AGENT\n"
    "(pinned versions; --agent-version overrides).\n";

struct result {
    bool done;
    bool ok;
};

static void on_done(struct agent_install *in, const struct problem *err)
{
    struct result *r = in->arg;

    r->done = true;
    r->ok = err == NULL;
    if (err) {
        size_t idl = strlen(in->agent->id);
        /* The message names the agent itself ("amp: ...") more often than not: once is enough. */
        if (strncmp(err->message, in->agent->id, idl) == 0 && err->message[idl] == ':')
            fprintf(stderr, "agentd: %s\n", err->message);
        else
            fprintf(stderr, "agentd: %s: %s\n", in->agent->id, err->message);
        if (err->extra[0])
            fprintf(stderr, "%s%s", err->extra,
                    err->extra[strlen(err->extra) - 1] == '\n' ? "" : "\n");
    } else if (in->already_installed) {
        printf("%s: already installed (%s)\n", in->agent->id, in->path);
    } else {
        printf("%s: installed %s%s%s\n", in->agent->id, in->path,
               in->version_installed[0] ? " version " : "", in->version_installed);
    }
}

static bool install_one(const struct agent_adapter *a, const char *version, bool reinstall)
{
    struct result r = {false, false};
    struct agent_install in;
    struct problem err;
    uv_loop_t loop;

    memset(&in, 0, sizeof(in));
    in.agent = a;
    in.version = version;
    in.reinstall = reinstall;
    in.done = on_done;
    in.arg = &r;
    uv_loop_init(&loop);
    if (a->install(&loop, &in, &err) < 0)
        on_done(&in, &err);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return r.ok;
}

enum { OPT_ALL = 256, OPT_REINSTALL, OPT_VERSION };

static const struct option options[] = {
    {"all", no_argument, NULL, OPT_ALL},
    {"reinstall", no_argument, NULL, OPT_REINSTALL},
    {"agent-version", required_argument, NULL, OPT_VERSION},
    {"help", no_argument, NULL, OPTS_HELP},
    {NULL, 0, NULL, 0},
};

struct install_args {
    bool all, reinstall;
    const char *version;
};

static int install_option(int key, const char *v, void *ctx)
{
    struct install_args *a = ctx;

    if (key == OPT_ALL)
        a->all = true;
    else if (key == OPT_REINSTALL)
        a->reinstall = true;
    else if (key == OPT_VERSION)
        a->version = v;
    return 0;
}

int install_agent_main(int argc, char **argv)
{
    struct install_args args = {0};
    const struct opts o = {"install-agent", usage, NULL, options, install_option, &args};
    int first = opts_parse(&o, argc, argv);
    const struct agent_adapter *a = NULL;
    bool all, reinstall, ok = true;
    const char *version;

    if (first < 0)
        return first == OPTS_EXIT_OK ? 0 : 2;
    all = args.all;
    reinstall = args.reinstall;
    version = args.version;
    if (all == (first < argc) || argc - first > 1) {
        fputs("agentd: install-agent takes one agent or --all\n", stderr);
        fputs(usage, stderr);
        return 2;
    }
    if (all && version) {
        fputs("agentd: --agent-version applies to one agent, not --all\n", stderr);
        return 2;
    }
    if (!all && !(a = agent_find(argv[first]))) {
        fprintf(stderr, "agentd: unknown agent '%s' (claude codex opencode amp pi cursor mock)\n",
                argv[first]);
        return 2;
    }
    if (a)
        return install_one(a, version, reinstall) ? 0 : 1;
    for (size_t i = 0; i < agent_count; i++)
        ok = install_one(agent_table[i], NULL, reinstall) && ok;
    return ok ? 0 : 1;
}
