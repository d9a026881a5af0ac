/*
 * `agentd install desktop`: installs the desktop runtime's packages with the
 * system's package manager.
 */
#ifndef AGENTD_INSTALL_DESKTOP_H
#define AGENTD_INSTALL_DESKTOP_H

/* argv[0] is "desktop" (after `install`).  Returns the exit status (0, 1 or 2). */
int install_desktop_main(int argc, char **argv);

#endif
