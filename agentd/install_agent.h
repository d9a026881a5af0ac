/*
 * `agentd install-agent`: installs coding agents from the command line.
 */
#ifndef AGENTD_INSTALL_AGENT_H
#define AGENTD_INSTALL_AGENT_H

/* argv[0] is "install-agent".  Returns the exit status. */
int install_agent_main(int argc, char **argv);

#endif
