/*
 * `agentd attach PROC_ID` and `agentd exec [-t] -- CMD...`: a process's
 * terminal (or its output) in the user's shell, over a running daemon's API.
 */
#ifndef AGENTD_ATTACH_H
#define AGENTD_ATTACH_H

#include <stdbool.h>

/* argv[0] is the sub-command name.  Returns the exit status for main(). */
int attach_main(int argc, char **argv, bool exec);

#endif
