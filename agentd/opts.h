/*
 * opts: the one option loop behind every agentd command line (server,
 * attach and exec, install-agent, install desktop), so they all behave
 * alike: getopt_long without its own messages; --help prints the command's
 * usage to stdout (exit 0); an unknown option or a missing value is one line
 * on stderr naming it (exit 2); each recognised option goes to the command's
 * callback, which checks its value.
 */
#ifndef AGENTD_OPTS_H
#define AGENTD_OPTS_H

#include <getopt.h>

/* The key a command's long option table gives "help". */
#define OPTS_HELP 0x7ffe

enum {
    OPTS_EXIT_OK = -1,    /* --help was printed: exit 0 */
    OPTS_EXIT_USAGE = -2, /* an error was printed: exit 2 */
};

struct opts {
    const char *cmd;   /* "server", "attach"...: named in messages */
    const char *usage; /* printed by --help */
    /* getopt's short options without the leading ':' (a leading '+' stops at the first
     * operand, for exec); NULL for none. */
    const char *shortopts;
    const struct option *longopts; /* must include {"help", no_argument, NULL, OPTS_HELP} */
    /* One option (value is NULL for a flag): 0 to go on, or opts_error()'s -1. */
    int (*option)(int key, const char *value, void *ctx);
    void *ctx;
};

/* Parses argv[1..]: the index of the first operand, or OPTS_EXIT_OK / OPTS_EXIT_USAGE. */
int opts_parse(const struct opts *o, int argc, char **argv);
/* Prints "agentd: <message>" on stderr for a bad value; returns -1. */
int opts_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
