/*
 * PTY children: openpty plus a fork/exec path that follows libuv and tmux
 * (signals blocked around fork and reset in the child, a new session with
 * the PTY as controlling terminal, every inherited descriptor closed, exec
 * errors reported through a CLOEXEC pipe).  uv_spawn cannot make a
 * controlling terminal, hence this small module.
 */
#ifndef PTY_PTY_H
#define PTY_PTY_H

#include <sys/types.h>

struct pty_spawn {
    const char *file;    /* looked up in PATH when it has no '/' */
    char *const *argv;   /* NULL-terminated, argv[0] included */
    char *const *envp;   /* NULL-terminated */
    const char *cwd;     /* NULL: inherit */
    unsigned short cols; /* initial size */
    unsigned short rows;
};

/*
 * Starts the child.  On success *ret_master is the PTY master (O_NONBLOCK,
 * O_CLOEXEC) and *ret_pid the child, which leads its own session and process
 * group.  Returns 0 or a negative errno (exec and chdir failures included);
 * outputs are untouched on failure.  The caller reaps the pid.
 */
int pty_spawn(const struct pty_spawn *o, int *ret_master, pid_t *ret_pid);
/* Sets the window size (the child gets SIGWINCH). Returns 0 or -errno. */
int pty_resize(int master, unsigned short cols, unsigned short rows);

#endif
