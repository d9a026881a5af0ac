/*
 * Command-line parsing for `agentd`: the reference-compatible `server`
 * sub-command, the built-in `mock-agent`, --version and --help.
 */
#ifndef AGENTD_CLI_H
#define AGENTD_CLI_H

#include "config.h"

enum cli_action {
    CLI_SERVER,     /* run the daemon with the parsed config */
    CLI_EXIT_OK,    /* help or version printed */
    CLI_EXIT_USAGE, /* error printed; exit 2 */
    CLI_MOCK_AGENT, /* run the built-in mock ACP agent on stdin/stdout */
};

/* Parses argv into cfg (strings borrowed from argv). Prints help/errors itself. */
enum cli_action cli_parse(int argc, char **argv, struct agentd_config *cfg);

#endif
