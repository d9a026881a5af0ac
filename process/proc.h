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

/* Hands every /v1/processes route table to add (agentd/main.c gives the router's). */
void proc_register(route_add_fn add);

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
    /* "KEY=VALUE" entries (NULL-terminated, or NULL) set in its environment, replacing the
     * daemon's value of KEY. */
    const char *const *env_set;
    /* "KEY=VALUE" entries set only where the daemon's environment lacks KEY. */
    const char *const *env_defaults;
};
int proc_spawn_child(uv_loop_t *loop, uv_process_t *h, const struct proc_child *c);

/*
 * At daemon shutdown p is not SIGKILLed at once but given ms to end by
 * itself (its owner has asked it to, e.g. ffmpeg finalising a recording),
 * then SIGKILLed.  The loop keeps running meanwhile.
 */
void proc_set_shutdown_grace(struct proc *p, unsigned ms);

/*
 * For modules that start helpers of their own (desktop/, adapters/): follow
 * a process's life without reaching into the registry.
 */
enum proc_event {
    PROC_EV_OUTPUT,   /* a log entry was appended */
    PROC_EV_EXIT,     /* the process exited (output may still be draining) */
    PROC_EV_FINISHED, /* exited and every output stream reached EOF */
};

/* Something interested in a process's events (a log follower, a stop waiter, a supervisor). */
struct proc_watcher {
    void (*notify)(struct proc_watcher *w, struct proc *p, enum proc_event ev);
    struct proc_watcher *next; /* the process's watcher list */
};

void proc_ref(struct proc *p);
void proc_unref(struct proc *p);
/* Adds or removes w; a watcher may remove itself from its notify callback. */
void proc_watch(struct proc *p, struct proc_watcher *w);
void proc_unwatch(struct proc *p, struct proc_watcher *w);
/* Sends sig to the process group. Returns 0 or -errno (-ESRCH once it exited). */
int proc_signal(struct proc *p, int sig);
/* "proc_<n>" */
const char *proc_id(const struct proc *p);
/* The pid while running, 0 after the exit. */
int proc_pid(const struct proc *p);
bool proc_is_running(const struct proc *p);
/* The exit code after a normal exit; -1 while running or after a death by signal. */
int proc_exit_code(const struct proc *p);
/* Writes input (copied) to stdin or the PTY. Returns 0 or -errno (-EPIPE once it is closed). */
int proc_write(struct proc *p, const void *data, size_t n);
/*
 * Closes a pipe process's stdin once the input written so far has reached it (the child then
 * reads end-of-file). -ENOTTY for a terminal (it has no end of input, only its EOF character),
 * -EPIPE when it is closed already.
 */
int proc_close_input(struct proc *p);
/*
 * Copies up to cap bytes of what the process wrote to stdout, from the
 * oldest entry the log still holds; returns the count.
 */
size_t proc_stdout_head(const struct proc *p, char *dst, size_t cap);

struct ws_transport;
struct ws_session;
/* The terminal WebSocket of the process named in req (after a checked upgrade), or NULL. */
struct ws_session *proc_terminal_open(const struct ws_transport *tr, void *conn,
                                      struct http_req *req);

#endif
