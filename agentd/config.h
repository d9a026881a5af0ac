/*
 * The daemon's configuration, filled by the command line (cli.c) and read by
 * the listener and the modules it wires together.
 */
#ifndef AGENTD_CONFIG_H
#define AGENTD_CONFIG_H

#include "../stream/log.h"

#include <stdbool.h>
#include <stddef.h>

#define AGENTD_VERSION      "0.1.0"
#define AGENTD_COMPAT       "0.4.2"
#define AGENTD_DEFAULT_HOST "127.0.0.1"
#define AGENTD_DEFAULT_PORT 2468
#define CONFIG_LIST_MAX     32

struct config_list {
    size_t n;                       /* entries in use */
    const char *v[CONFIG_LIST_MAX]; /* borrowed from argv */
};

struct agentd_config {
    const char *host;                /* listen address */
    int port;                        /* listen port, 0 = ephemeral */
    const char *token;               /* bearer token, NULL with --no-token */
    struct config_list cors_origins; /* -O */
    struct config_list cors_methods; /* -M */
    struct config_list cors_headers; /* -A */
    bool cors_credentials;           /* -C */
    const char *fs_root;             /* --fs-root, NULL = unconfined */
    enum log_level log_level;        /* --log-level / AGENTD_LOG */
    const char *port_file;           /* --port-file: write the bound port here */
    struct config_list allow_hosts;  /* --allow-host and AGENTD_ALLOW_HOSTS */
};

#endif
