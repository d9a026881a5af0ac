/*
 * The process registry: long-lived child processes (pipe or PTY mode),
 * their output logs, and the /v1/processes routes (spec section 4).
 * Other modules (the desktop runtime later) start their helpers through
 * proc_create() with their own owner.
 */
#ifndef PROCESS_PROC_H
#define PROCESS_PROC_H

#include "../stream/problem.h"
#include "../stream/route.h"

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

extern const struct route proc_routes[];
extern const size_t proc_routes_count;

enum proc_owner {
    PROC_OWNER_USER = 0,
    PROC_OWNER_DESKTOP,
    PROC_OWNER_SYSTEM,
};

struct proc;

struct proc_spawn_req {
    const char *command;     /* PATH lookup when it has no '/' */
    const char *const *args; /* nargs arguments after the command */
    size_t nargs;
    const char *cwd;        /* NULL: the daemon's working directory */
    const char *const *env; /* nenv "KEY=VALUE" overrides of the daemon's environment */
    size_t nenv;
    bool tty;         /* run on a PTY (80x24) */
    bool interactive; /* recorded only, as the reference does */
    enum proc_owner owner;
};

int proc_init(uv_loop_t *loop);
/* Kills every running child (process groups) at shutdown. */
void proc_shutdown(void);
void proc_done(void);

/*
 * Starts a managed process.  Returns 0 with *ret referenced by the registry
 * (do not free), or -1 with err (409 when the concurrency limit is reached,
 * 502 when the spawn fails).
 */
int proc_create(const struct proc_spawn_req *r, struct proc **ret, struct problem *err);

/*
 * A child outside the registry (agent processes, installers): its own
 * session and process group, none of the daemon's descriptors, signals
 * reset, the daemon's environment.  in/out/err: initialised uv_pipe_t to
 * connect, or NULL for /dev/null.  Returns 0 or a libuv error.
 */
struct proc_child {
    const char *const *argv; /* argv[0] is the program (PATH lookup without '/') */
    const char *cwd;         /* NULL: the daemon's */
    uv_pipe_t *in, *out, *err;
    uv_exit_cb on_exit;
};
int proc_spawn_child(uv_loop_t *loop, uv_process_t *h, const struct proc_child *c);

struct lws;
struct ws_session;
/* The terminal WebSocket of the process named in req (after a checked upgrade), or NULL. */
struct ws_session *proc_terminal_open(struct lws *wsi, struct http_req *req);

#endif
