/*
 * desktop_state: the runtime's record (written by desktop_runtime.c alone)
 * and the read-only questions the other desktop files ask about it
 * (desktop_internal.h: desk__require_active, desk__active_display, ...),
 * answered in desktop_state.c so that no file calls back up into the
 * runtime.  Private to those two files.
 */
#ifndef DESKTOP_STATE_H
#define DESKTOP_STATE_H

#include "desktop_internal.h"

#include "../process/proc.h"

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#define DESK_MAX_RESTARTS 5

enum desk_state {
    DESK_INACTIVE,
    DESK_STARTING,
    DESK_ACTIVE,
    DESK_FAILED,
};

/* A helper process the runtime started and supervises. */
struct helper {
    const char *name;      /* "Xvfb", "openbox" */
    struct proc *p;        /* referenced while supervised, NULL when none */
    struct proc_watcher w; /* on p */
};

struct waiter; /* a start request waiting for the runtime to come up */

struct desk_runtime {
    uv_loop_t *loop;
    enum desk_state state;
    bool restarting;           /* STARTING because a helper of an active desktop died */
    struct desk_start_req cfg; /* what start asked for */
    int display;               /* the display number, -1 until Xvfb reported it */
    bool explicit_display;     /* Xvfb was given cfg.display_num */
    bool tried_auto;           /* already fell back to the server's own choice */
    int width, height;         /* actual root size */
    char started_at[64];       /* RFC 3339 */
    bool has_error;            /* last_code/last_message are set */
    char last_code[64];
    char last_message[512];
    struct helper xvfb, openbox;
    uint64_t gen;   /* bumped on every (re)start */
    bool connected; /* the X thread connected for gen */
    struct waiter *waiters;
    uv_timer_t deadline; /* start timeout */
    uv_timer_t wm_timer; /* delayed openbox restart */
    int64_t restart_times[DESK_MAX_RESTARTS];
    unsigned n_restarts;
    char *state_dir, *home_dir, *log_path;
};

/* The one runtime (desktop_runtime.c writes it; desktop_state.c reads it). */
extern struct desk_runtime desk__rt;

#endif
