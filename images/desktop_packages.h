/*
 * The desktop's runtime packages, by their Debian names: the one list.
 * images/install-deps.sh reads the two #define lines below (keep each on one
 * line, in this form) and `agentd install desktop` (agentd/install_desktop.c)
 * is compiled from them; it maps each name for dnf and apk.  A package added
 * here needs a line in that mapping too (the tests check every manager).
 */
#ifndef IMAGES_DESKTOP_PACKAGES_H
#define IMAGES_DESKTOP_PACKAGES_H

/* The X server and the window manager agentd starts, ffmpeg for recordings. */
#define DESKTOP_PACKAGES "xvfb openbox ffmpeg"
/* A font, so that applications can draw text (left out by --no-fonts). */
#define DESKTOP_FONT_PACKAGES "fonts-dejavu-core"

#endif
