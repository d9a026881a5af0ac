/*
 * The desktop (the /v1/desktop routes, spec section 5): an Xvfb + openbox runtime
 * driven in-process through Xlib (XShm capture, XTest input) instead of
 * forked helpers.  agentd/ calls desk_register() and the life-cycle
 * functions below on the loop thread.
 */
#ifndef DESKTOP_DESKTOP_H
#define DESKTOP_DESKTOP_H

#include "../stream/route.h"

#include <uv.h>

/* Hands every /v1/desktop route table to add (agentd/main.c gives the router's). */
void desk_register(route_add_fn add);

/* Starts the X thread (no X connection yet). Returns 0 or a negative errno. */
int desk_init(uv_loop_t *loop);
/* Stops the runtime (Xvfb, openbox) before the process registry shuts down. */
void desk_shutdown(void);
/* Joins the X thread and frees everything (after the loop stopped). */
void desk_done(void);

#endif
