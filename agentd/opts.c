/*
 * opts: getopt_long with one set of conventions (contract in opts.h).
 */
#include "opts.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

int opts_error(const char *fmt, ...)
{
    va_list ap;

    fputs("agentd: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return -1;
}

int opts_parse(const struct opts *o, int argc, char **argv)
{
    char shortopts[64];
    const char *s = o->shortopts ? o->shortopts : "";
    bool in_order = s[0] == '+';
    int c;

    /* ':' first (after '+'): a missing value is reported as ':', not '?', and quietly. */
    if (snprintf(shortopts, sizeof(shortopts), "%s:%s", in_order ? "+" : "", s + in_order) >=
        (int)sizeof(shortopts))
        return OPTS_EXIT_USAGE;
    optind = 0; /* glibc: 0 (not 1) re-reads the optstring's '+', for a second parse */
    opterr = 0;
    while ((c = getopt_long(argc, argv, shortopts, o->longopts, NULL)) != -1) {
        switch (c) {
        case OPTS_HELP:
            fputs(o->usage, stdout);
            return OPTS_EXIT_OK;
        case ':':
            opts_error("option '%s' needs a value", argv[optind - 1]);
            return OPTS_EXIT_USAGE;
        case '?':
            opts_error("unknown option '%s' for %s (see agentd %s --help)", argv[optind - 1],
                       o->cmd, o->cmd);
            return OPTS_EXIT_USAGE;
        default:
            if (o->option(c, optarg, o->ctx) < 0)
                return OPTS_EXIT_USAGE;
        }
    }
    return optind;
}
