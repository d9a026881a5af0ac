/*
 * The filesystem module: /v1/fs routes (spec section 3) plus agentd's streamed
 * uploads, Range downloads, --fs-root confinement and the inotify watch.
 */
#ifndef FS_FS_H
#define FS_FS_H

#include "../stream/route.h"

#include <stddef.h>
#include <uv.h>

/* Hands every /v1/fs route table to add (agentd/main.c gives the router's). */
void fs_register(route_add_fn add);

/* root: NULL, or the directory every path must stay beneath. Returns 0 or -errno. */
int fs_init(uv_loop_t *loop, const char *root);
/* Abandons unfinished uploads (their targets keep the old content). */
void fs_shutdown(void);
void fs_done(void);

#endif
