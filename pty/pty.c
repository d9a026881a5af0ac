/*
 * pty: spawning a child on a new pseudo-terminal.  See pty.h for the rules
 * this follows; the child side only calls async-signal-safe functions.
 */
#include "pty.h"

#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* Child side after fork: never returns. */
static void child(const struct pty_spawn *o, int slave, int errfd)
{
    struct sigaction sa;
    int e;

    /* Default dispositions, then the caller's mask minus everything. */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_DFL;
    for (int s = 1; s < NSIG; s++)
        sigaction(s, &sa, NULL);
    {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
    }
    if (setsid() < 0 || ioctl(slave, TIOCSCTTY, 0) < 0)
        goto fail;
    if (dup2(slave, 0) < 0 || dup2(slave, 1) < 0 || dup2(slave, 2) < 0)
        goto fail;
    /* Nothing of the daemon's may leak: mark every other descriptor close-on-exec. */
    if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
        for (int fd = 3; fd < 65536; fd++)
            if (fd != errfd)
                close(fd);
    }
    if (o->cwd && chdir(o->cwd) < 0)
        goto fail;
    execvpe(o->file, o->argv, o->envp);
fail:
    e = errno;
    while (write(errfd, &e, sizeof(e)) < 0 && errno == EINTR)
        ;
    _exit(127);
}

int pty_spawn(const struct pty_spawn *o, int *ret_master, pid_t *ret_pid)
{
    struct winsize ws = {.ws_row = o->rows ? o->rows : 24, .ws_col = o->cols ? o->cols : 80};
    int master = -1, slave = -1, errpipe[2] = {-1, -1}, child_errno = 0, r;
    sigset_t all, old;
    pid_t pid;
    ssize_t n;

    if (openpty(&master, &slave, NULL, NULL, &ws) < 0)
        return -errno;
    if (fcntl(master, F_SETFD, FD_CLOEXEC) < 0 || fcntl(slave, F_SETFD, FD_CLOEXEC) < 0 ||
        pipe2(errpipe, O_CLOEXEC) < 0) {
        r = -errno;
        goto fail;
    }
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid = fork();
    if (pid == 0)
        child(o, slave, errpipe[1]);
    r = pid < 0 ? -errno : 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r < 0)
        goto fail;
    close(errpipe[1]);
    errpipe[1] = -1;
    close(slave);
    slave = -1;
    /* EOF (exec succeeded, the pipe closed on exec) or the child's errno. */
    do {
        n = read(errpipe[0], &child_errno, sizeof(child_errno));
    } while (n < 0 && errno == EINTR);
    close(errpipe[0]);
    errpipe[0] = -1;
    if (n == (ssize_t)sizeof(child_errno)) {
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        r = -child_errno;
        goto fail;
    }
    if (fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK) < 0) {
        r = -errno;
        kill(pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        goto fail;
    }
    *ret_master = master;
    *ret_pid = pid;
    return 0;
fail:
    if (master >= 0)
        close(master);
    if (slave >= 0)
        close(slave);
    if (errpipe[0] >= 0)
        close(errpipe[0]);
    if (errpipe[1] >= 0)
        close(errpipe[1]);
    return r;
}

int pty_resize(int master, unsigned short cols, unsigned short rows)
{
    struct winsize ws = {.ws_row = rows, .ws_col = cols};

    return ioctl(master, TIOCSWINSZ, &ws) < 0 ? -errno : 0;
}
