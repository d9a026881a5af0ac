/*
 * Shared between the files of the process module; not used outside process/.
 */
#ifndef PROCESS_PROC_INTERNAL_H
#define PROCESS_PROC_INTERNAL_H

#include "proc.h"
#include "proc_log.h"

#include "../stream/http.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <sys/types.h>

struct proc_config {
    uint64_t max_concurrent;  /* running processes, all owners */
    uint64_t default_timeout; /* one-shot run, ms */
    uint64_t max_timeout;     /* one-shot run, ms */
    uint64_t max_output;      /* one-shot run, bytes per stream */
    uint64_t max_log;         /* log ring per process, bytes */
    uint64_t max_input;       /* one input request, bytes */
};

extern struct proc_config proc_cfg;

struct proc {
    int refs;     /* registry + watchers + requests */
    int handles;  /* uv handles still open (freed after all close) */
    uint64_t num; /* the n of proc_<n> */
    char id[32];  /* "proc_<n>" */
    char *command;
    char **args; /* nargs strings */
    size_t nargs;
    char *cwd; /* NULL when not given */
    bool tty;
    bool interactive;
    enum proc_owner owner;
    bool running;
    bool finished; /* exited and all output drained */
    pid_t pid;     /* leader of its own process group */
    bool signaled; /* killed by a signal: no exitCode */
    int exit_code;
    int term_signal;            /* the signal when signaled */
    unsigned shutdown_grace_ms; /* at daemon shutdown: time to finish before SIGKILL */
    int64_t created_ms, exited_ms;
    uv_process_t uvp;          /* pipe mode */
    uv_pipe_t in, out, err;    /* pipe mode stdio */
    uv_pipe_t pty;             /* PTY mode: the master as a stream, for input */
    uv_poll_t pty_poll;        /* PTY mode: readability of pty_rfd */
    int pty_rfd;               /* PTY mode: a dup of the master, read by us (see proc.c) */
    int master;                /* PTY mode: master fd (owned by pty handle) */
    bool in_open;              /* stdin (or the PTY) accepts input */
    bool pty_reading_possible; /* the PTY stream is open for reading */
    bool pty_paused;           /* PTY reads stopped: every viewer is far behind */
    int open_streams;          /* output streams not yet at EOF */
    struct proc_log log;
    struct proc_watcher *watchers;
    bool listed;       /* still in the registry (not deleted) */
    struct proc *next; /* registry order: by num */
};

struct proc *proc_find(const char *id);
/* Iterates the registry in numeric id order. */
struct proc *proc_first(void);
unsigned proc_running_count(void);
/* Removes an exited process from the registry. */
void proc_remove(struct proc *p);
/* Stops or restarts reading the PTY (terminal backpressure). */
void proc_pty_pause(struct proc *p, bool pause);
/* Resizes the PTY of a tty process. Returns 0 or -errno. */
int pty_resize_master(struct proc *p, unsigned short cols, unsigned short rows);
cJSON *proc_to_json(const struct proc *p);
const char *proc_owner_name(enum proc_owner o);

/* Environment for a child: the daemon's, with overrides (and TERM when add_term). */
char **proc_build_env(const char *const *env, size_t nenv, bool add_term);
void proc_free_strv(char **v);
/* { command, args..., NULL } as copies (free with proc_free_strv). */
char **proc_build_argv(const char *command, const char *const *args, size_t nargs);
/* libuv alloc callback for child output: one loop thread, one read buffer. */
void proc_read_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
/* Every descriptor of the daemon becomes close-on-exec (before any spawn). */
void proc_cloexec_all(void);

/* The endpoint of proc_run.c, for proc_register(). */
extern const struct route_table proc__run_routes;
/* Kills and answers every one-shot run (shutdown). */
void proc_run_shutdown(void);
void proc_logs_handle(struct http_req *req, struct proc *p);

#endif
