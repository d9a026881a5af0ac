/*
 * main: parses the command line, builds the loop, wires the modules into the
 * router, starts the listener and runs until SIGTERM or SIGINT.
 */
#include "attach.h"
#include "cli.h"
#include "install_agent.h"
#include "install_desktop.h"
#include "router.h"
#include "server.h"

#include "../adapters/acp.h"
#include "../adapters/mock_agent.h"
#include "../desktop/desktop.h"
#include "../fs/fs.h"
#include "../process/proc.h"
#include "../stream/http.h"
#include "../stream/log.h"
#include "../stream/route.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

static uv_signal_t sig_term, sig_int;
static bool stopping;

static void handle_health(struct http_req *req)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddStringToObject(o, "status", "ok");
    http_reply_json(req, 200, o);
    cJSON_Delete(o);
}

static void handle_root(struct http_req *req)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddStringToObject(o, "docs", "https://sandboxagent.dev");
    cJSON_AddStringToObject(o, "name", "Sandbox Agent");
    cJSON_AddStringToObject(o, "server", "agentd");
    cJSON_AddStringToObject(o, "version", AGENTD_VERSION);
    cJSON_AddStringToObject(o, "apiVersion", AGENTD_COMPAT);
    http_reply_json(req, 200, o);
    cJSON_Delete(o);
}

static const struct route core_routes[] = {
    {HTTP_GET, "/v1/health", handle_health, 0},
    {HTTP_GET, "/", handle_root, ROUTE_PUBLIC},
};
static const struct route_table core_table = ROUTE_TABLE(core_routes);

static void on_close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static void on_signal(uv_signal_t *s, int signum)
{
    (void)s;
    if (stopping)
        return;
    stopping = true;
    log_info("agentd", "%s received, shutting down", strsignal(signum));
    /* The desktop first: its helpers must not be restarted while the registry kills them. */
    desk_shutdown();
    /* Unfinished uploads are discarded: their targets keep the old content. */
    fs_shutdown();
    proc_shutdown();
    acp_shutdown();
    server_stop();
    uv_signal_stop(&sig_term);
    uv_signal_stop(&sig_int);
    uv_close((uv_handle_t *)&sig_term, NULL);
    uv_close((uv_handle_t *)&sig_int, NULL);
}

static int write_port_file(const char *path, int port)
{
    char tmp[4096];
    FILE *f;

    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        return -ENAMETOOLONG;
    f = fopen(tmp, "we");
    if (!f)
        return -errno;
    fprintf(f, "%d\n", port);
    if (fclose(f) != 0 || rename(tmp, path) != 0)
        return -errno;
    return 0;
}

int main(int argc, char **argv)
{
    struct agentd_config cfg;
    uv_loop_t *loop;
    int port = 0, r;

    if (argc >= 2 && (strcmp(argv[1], "attach") == 0 || strcmp(argv[1], "exec") == 0)) {
        signal(SIGPIPE, SIG_IGN);
        return attach_main(argc - 1, argv + 1, strcmp(argv[1], "exec") == 0);
    }
    if (argc >= 2 && strcmp(argv[1], "install-agent") == 0)
        return install_agent_main(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "install") == 0) {
        if (argc >= 3 && strcmp(argv[2], "desktop") == 0)
            return install_desktop_main(argc - 2, argv + 2);
        fprintf(stderr, "agentd: install what? (agentd install desktop; agents: agentd "
                        "install-agent)\n");
        return 2;
    }
    switch (cli_parse(argc, argv, &cfg)) {
    case CLI_EXIT_OK:
        return 0;
    case CLI_EXIT_USAGE:
        return 2;
    case CLI_MOCK_AGENT:
        /* Before any server setup: the mock is a plain stdio process. */
        log_set_level(cfg.log_level);
        return mock_agent_main();
    case CLI_SERVER:
        break;
    }
    log_set_level(cfg.log_level);
    signal(SIGPIPE, SIG_IGN);

    loop = uv_default_loop();
    http_init(loop);
    r = fs_init(loop, cfg.fs_root);
    if (r < 0) {
        fprintf(stderr, "agentd: --fs-root %s: %s\n", cfg.fs_root, strerror(-r));
        return 2;
    }
    /* Each module hands over its own route tables (each declared beside its handlers). */
    router_add_table(&core_table);
    fs_register(router_add_table);
    proc_init(loop);
    proc_register(router_add_table);
    acp_init(loop);
    acp_register(router_add_table);
    r = desk_init(loop);
    if (r < 0) {
        fprintf(stderr, "agentd: cannot start the desktop's X thread: %s\n", strerror(-r));
        return 1;
    }
    desk_register(router_add_table);

    r = server_start(loop, &cfg, &port);
    if (r < 0)
        /* An address that cannot be used is a usage error; a busy port is not. */
        return r == -EINVAL || r == -EADDRNOTAVAIL ? 2 : 1;
    uv_signal_init(loop, &sig_term);
    uv_signal_init(loop, &sig_int);
    uv_signal_start(&sig_term, on_signal, SIGTERM);
    uv_signal_start(&sig_int, on_signal, SIGINT);
    if (cfg.port_file && (r = write_port_file(cfg.port_file, port)) < 0)
        log_error("agentd", "cannot write --port-file %s: %s", cfg.port_file, strerror(-r));
    log_info("agentd", "agentd %s listening on http://%s:%d/ (%s)", AGENTD_VERSION, cfg.host, port,
             cfg.token ? "token required" : "no token");

    uv_run(loop, UV_RUN_DEFAULT);
    desk_done();
    /* Anything a module left open is closed before the loop goes. */
    uv_walk(loop, on_close_walk, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    proc_done();
    fs_done();
    uv_loop_close(loop);
    log_info("agentd", "stopped");
    return 0;
}
