/*
 * proc: the registry of managed processes and their life cycle.
 *
 * Pipe-mode children go through uv_spawn (exec-error pipe, signal reset and
 * reaping are libuv's); UV_PROCESS_DETACHED gives each its own session and
 * process group, so stop/kill reach grandchildren too.  PTY children come
 * from pty_spawn() and are reaped here, by pid, from one SIGCHLD watcher.
 * Before every spawn all of the daemon's descriptors are marked
 * close-on-exec, so no child inherits a socket, a PTY master or a file.
 *
 * A record is reference-counted (registry, log followers, stop waiters) and
 * owns uv handles; it is freed when both the references and the handles
 * are gone.  Everything here runs on the loop thread.
 */
#include "proc_internal.h"

#include "../pty/pty.h"
#include "../stream/clock.h"
#include "../stream/json.h"
#include "../stream/log.h"
#include "../stream/xmalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uv_loop_t *proc_loop;
static struct proc *procs;    /* registry, sorted by num */
static uint64_t next_num = 1; /* ids are never reused */
static uv_signal_t sigchld;
static uv_timer_t grace_timer; /* shutdown: SIGKILL for processes given time to finish */
static bool grace_running;

const char *proc_owner_name(enum proc_owner o)
{
    switch (o) {
    case PROC_OWNER_DESKTOP:
        return "desktop";
    case PROC_OWNER_SYSTEM:
        return "system";
    default:
        return "user";
    }
}

/* ---- records ------------------------------------------------------------------------------- */

static void proc_free(struct proc *p)
{
    free(p->command);
    for (size_t i = 0; i < p->nargs; i++)
        free(p->args[i]);
    free(p->args);
    free(p->cwd);
    proc_log_done(&p->log);
    free(p);
}

void proc_ref(struct proc *p)
{
    p->refs++;
}

void proc_unref(struct proc *p)
{
    if (--p->refs == 0 && p->handles == 0)
        proc_free(p);
}

static void handle_closed(uv_handle_t *h)
{
    struct proc *p = h->data;

    if (--p->handles == 0 && p->refs == 0)
        proc_free(p);
}

static void close_handle(struct proc *p, uv_handle_t *h)
{
    if (!uv_is_closing(h))
        uv_close(h, handle_closed);
    (void)p;
}

struct proc *proc_find(const char *id)
{
    for (struct proc *p = procs; p; p = p->next)
        if (strcmp(p->id, id) == 0)
            return p;
    return NULL;
}

struct proc *proc_first(void)
{
    return procs;
}

unsigned proc_running_count(void)
{
    unsigned n = 0;

    for (struct proc *p = procs; p; p = p->next)
        n += p->running;
    return n;
}

void proc_remove(struct proc *p)
{
    struct proc **pp;

    for (pp = &procs; *pp; pp = &(*pp)->next) {
        if (*pp == p) {
            *pp = p->next;
            p->listed = false;
            proc_unref(p);
            return;
        }
    }
}

void proc_watch(struct proc *p, struct proc_watcher *w)
{
    w->next = p->watchers;
    p->watchers = w;
}

void proc_unwatch(struct proc *p, struct proc_watcher *w)
{
    for (struct proc_watcher **pp = &p->watchers; *pp; pp = &(*pp)->next) {
        if (*pp == w) {
            *pp = w->next;
            return;
        }
    }
}

static void notify(struct proc *p, enum proc_event ev)
{
    struct proc_watcher *w = p->watchers, *next;

    /* A watcher may unregister itself from its callback. */
    proc_ref(p);
    for (; w; w = next) {
        next = w->next;
        w->notify(w, p, ev);
    }
    proc_unref(p);
}

static void close_pty(struct proc *p)
{
    p->master = -1;
    close_handle(p, (uv_handle_t *)&p->pty);
    if (p->pty_rfd >= 0) {
        close_handle(p, (uv_handle_t *)&p->pty_poll);
        close(p->pty_rfd); /* the poll handle is closing: it no longer watches the fd */
        p->pty_rfd = -1;
    }
}

static void maybe_finished(struct proc *p)
{
    if (!p->running && p->open_streams == 0 && !p->finished) {
        p->finished = true;
        notify(p, PROC_EV_FINISHED);
    }
}

static void record_exit(struct proc *p, int64_t status, int term_signal)
{
    if (!p->running)
        return;
    p->running = false;
    p->exited_ms = clock_real_ms();
    p->signaled = term_signal != 0;
    p->term_signal = term_signal;
    p->exit_code = (int)status;
    p->in_open = false;
    if (!p->tty)
        close_handle(p, (uv_handle_t *)&p->in);
    else if (!p->pty_reading_possible)
        close_pty(p); /* the slave side is gone already (EIO was read) */
    notify(p, PROC_EV_EXIT);
    maybe_finished(p);
    if (grace_running) {
        bool left = false;
        for (struct proc *q = procs; q; q = q->next)
            left = left || (q->running && q->shutdown_grace_ms);
        if (!left) {
            grace_running = false;
            uv_close((uv_handle_t *)&grace_timer, NULL);
        }
    }
}

cJSON *proc_to_json(const struct proc *p)
{
    cJSON *o = cJSON_CreateObject(), *args = cJSON_CreateArray();

    json_add_string(o, "id", p->id);
    json_add_string(o, "command", p->command);
    for (size_t i = 0; i < p->nargs; i++)
        cJSON_AddItemToArray(args, cJSON_CreateString(p->args[i]));
    cJSON_AddItemToObject(o, "args", args);
    if (p->cwd)
        json_add_string(o, "cwd", p->cwd);
    cJSON_AddBoolToObject(o, "tty", p->tty);
    cJSON_AddBoolToObject(o, "interactive", p->interactive);
    json_add_string(o, "owner", proc_owner_name(p->owner));
    json_add_string(o, "status", p->running ? "running" : "exited");
    if (p->running)
        cJSON_AddNumberToObject(o, "pid", p->pid);
    else if (!p->signaled)
        cJSON_AddNumberToObject(o, "exitCode", p->exit_code);
    cJSON_AddNumberToObject(o, "createdAtMs", (double)p->created_ms);
    if (!p->running)
        cJSON_AddNumberToObject(o, "exitedAtMs", (double)p->exited_ms);
    return o;
}

/* ---- output -------------------------------------------------------------------------------- */

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct proc *p = s->data;
    enum proc_stream which = (uv_pipe_t *)s == &p->out ? PROC_STDOUT : PROC_STDERR;

    if (n > 0) {
        proc_log_append(&p->log, which, buf->base, (size_t)n, clock_real_ms());
        notify(p, PROC_EV_OUTPUT);
        return;
    }
    if (n == 0)
        return;
    /* EOF: the stream is done. */
    uv_read_stop(s);
    close_handle(p, (uv_handle_t *)s);
    p->open_streams--;
    maybe_finished(p);
}

/*
 * The PTY master is read here, not through a libuv stream: libuv takes POLLHUP after a short
 * read for end of file, which is right for pipes and sockets but not for a PTY master. Once
 * the slave is closed the master polls HUP while the kernel still holds up to tens of KB of
 * the child's last output, and each read returns only part of it: libuv dropped that tail
 * (measured: 1 run in 3 of 54 MB through a slow viewer lost 1-11 KB). So: read until EAGAIN,
 * and only EIO (or 0) ends the stream.
 */
#define PTY_READS_PER_WAKEUP 32

static void pty_ended(struct proc *p)
{
    uv_poll_stop(&p->pty_poll);
    p->in_open = false;
    p->pty_reading_possible = false;
    /*
     * EIO comes as soon as the child has closed its last descriptor of the slave, which
     * `cat` does just before exit_group. Closing the master then would hang the terminal
     * up and kill the still-running child with SIGHUP; it is closed once the child is reaped.
     */
    if (!p->running)
        close_pty(p);
    p->open_streams--;
    maybe_finished(p);
}

static void on_pty_readable(uv_poll_t *h, int status, int events)
{
    struct proc *p = h->data;
    uv_buf_t b;

    (void)events; /* an error shows in the read below */
    proc_read_alloc(NULL, 0, &b);
    for (int i = 0; i < PTY_READS_PER_WAKEUP && p->pty_reading_possible && !p->pty_paused; i++) {
        ssize_t n = read(p->pty_rfd, b.base, b.len);
        if (n > 0) {
            proc_log_append(&p->log, PROC_PTY, b.base, (size_t)n, clock_real_ms());
            notify(p, PROC_EV_OUTPUT); /* may pause the reading (terminal backpressure) */
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        pty_ended(p); /* EIO once the slave side is closed and drained */
        return;
    }
    /* libuv stops the watcher on POLLERR: keep reading until EIO says the end. */
    if (status < 0 && p->pty_reading_possible && !p->pty_paused)
        uv_poll_start(&p->pty_poll, UV_READABLE, on_pty_readable);
}

static void on_child_exit(uv_process_t *h, int64_t status, int term_signal)
{
    struct proc *p = h->data;

    record_exit(p, status, term_signal);
    close_handle(p, (uv_handle_t *)h);
}

/* ---- orphans ------------------------------------------------------------------------------- */

/*
 * agentd is a child subreaper (PR_SET_CHILD_SUBREAPER, set in proc_init), or PID 1 in a
 * container: a grandchild whose parent dies (the shell of a killed process group left a
 * `sleep &` behind, a daemonising tool) is re-parented to it and must be reaped here, or it
 * stays a zombie for the daemon's lifetime.  Only zombies that are nobody else's are taken:
 * libuv reaps its own children by pid (a waitpid here would steal their exit status) and PTY
 * children are reaped by pid above, so both are skipped.  The children are listed from
 * /proc/self/task/TID/children (a child is listed under the thread that is its parent).
 */
#define ORPHAN_SKIP_MAX 512

struct orphan_skip {
    pid_t pid[ORPHAN_SKIP_MAX];
    size_t n;
};

static void skip_uv_child(uv_handle_t *h, void *arg)
{
    struct orphan_skip *k = arg;

    if (h->type == UV_PROCESS && k->n < ORPHAN_SKIP_MAX)
        k->pid[k->n++] = ((uv_process_t *)h)->pid;
}

static bool is_skipped(const struct orphan_skip *k, pid_t pid)
{
    for (size_t i = 0; i < k->n; i++)
        if (k->pid[i] == pid)
            return true;
    return false;
}

/* Reads the head of a /proc file into buf as a string; false when it cannot or it is empty. */
static bool read_proc_text(const char *path, char *buf, size_t size)
{
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return false;
    n = read(fd, buf, size - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    return true;
}

/* 1 if /proc/PID/stat says the process is a zombie. */
static bool is_zombie(pid_t pid)
{
    char path[64], buf[512], *close_paren;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if (!read_proc_text(path, buf, sizeof(buf)))
        return false;
    /* "PID (COMM) S ...": COMM may hold spaces and parentheses, the last ')' ends it. */
    close_paren = strrchr(buf, ')');
    return close_paren && close_paren[1] == ' ' && close_paren[2] == 'Z';
}

static unsigned reap_orphans_of(const char *children_path, const struct orphan_skip *k)
{
    char buf[4096], *s, *end;
    unsigned reaped = 0;

    if (!read_proc_text(children_path, buf, sizeof(buf)))
        return 0;
    for (s = buf;; s = end) {
        long pid = strtol(s, &end, 10);
        if (end == s)
            break;
        if (pid <= 0 || is_skipped(k, (pid_t)pid) || !is_zombie((pid_t)pid))
            continue;
        if (waitpid((pid_t)pid, NULL, WNOHANG) == (pid_t)pid)
            reaped++;
    }
    return reaped;
}

static unsigned long orphans_reaped; /* for the debug log */

static void reap_orphans(void)
{
    struct orphan_skip k = {.n = 0};
    char path[96];
    struct dirent *de;
    unsigned reaped = 0;
    DIR *d;

    uv_walk(proc_loop, skip_uv_child, &k);
    for (struct proc *p = procs; p; p = p->next)
        if (p->tty && p->running && k.n < ORPHAN_SKIP_MAX)
            k.pid[k.n++] = p->pid;
    if (k.n == ORPHAN_SKIP_MAX)
        return; /* cannot tell ours from orphans: leave them for the next SIGCHLD */
    d = opendir("/proc/self/task");
    if (!d)
        return;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] < '0' || de->d_name[0] > '9')
            continue;
        snprintf(path, sizeof(path), "/proc/self/task/%.16s/children", de->d_name);
        reaped += reap_orphans_of(path, &k);
    }
    closedir(d);
    if (reaped) {
        orphans_reaped += reaped;
        log_debug("proc", "reaped %u orphaned process(es) (%lu in all)", reaped, orphans_reaped);
    }
}

/* SIGCHLD: reap our PTY children (by pid; libuv reaps its own), then orphans. */
static void on_sigchld(uv_signal_t *s, int signum)
{
    (void)s;
    (void)signum;
    for (struct proc *p = procs; p; p = p->next) {
        int st;
        if (!p->tty || !p->running)
            continue;
        if (waitpid(p->pid, &st, WNOHANG) == p->pid) {
            if (WIFEXITED(st))
                record_exit(p, WEXITSTATUS(st), 0);
            else if (WIFSIGNALED(st))
                record_exit(p, 0, WTERMSIG(st));
        }
    }
    reap_orphans();
}

/* ---- spawning ------------------------------------------------------------------------------ */

static struct proc *proc_new(const struct proc_spawn_req *r)
{
    struct proc *p = xcalloc(1, sizeof(*p));

    p->refs = 1; /* the registry's */
    p->command = xstrdup(r->command);
    p->nargs = r->nargs;
    p->args = xcalloc(r->nargs + 1, sizeof(char *));
    for (size_t i = 0; i < r->nargs; i++)
        p->args[i] = xstrdup(r->args[i]);
    p->cwd = r->cwd ? xstrdup(r->cwd) : NULL;
    p->tty = r->tty;
    p->interactive = r->interactive;
    p->owner = r->owner;
    p->master = -1;
    p->pty_rfd = -1;
    proc_log_init(&p->log, (size_t)proc_cfg.max_log);
    return p;
}

static int spawn_pipes(struct proc *p, const struct proc_spawn_req *r, char **argv, char **envp)
{
    uv_process_options_t o;
    uv_stdio_container_t stdio[3];
    int e;

    uv_pipe_init(proc_loop, &p->in, 0);
    uv_pipe_init(proc_loop, &p->out, 0);
    uv_pipe_init(proc_loop, &p->err, 0);
    p->in.data = p->out.data = p->err.data = p->uvp.data = p;
    p->handles += 3;
    memset(&o, 0, sizeof(o));
    stdio[0].flags = UV_CREATE_PIPE | UV_READABLE_PIPE;
    stdio[0].data.stream = (uv_stream_t *)&p->in;
    stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    stdio[1].data.stream = (uv_stream_t *)&p->out;
    stdio[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    stdio[2].data.stream = (uv_stream_t *)&p->err;
    o.file = r->command;
    o.args = argv;
    o.env = envp;
    o.cwd = r->cwd;
    o.flags = UV_PROCESS_DETACHED; /* setsid: its own session and process group */
    o.stdio_count = 3;
    o.stdio = stdio;
    o.exit_cb = on_child_exit;
    proc_cloexec_all();
    e = uv_spawn(proc_loop, &p->uvp, &o);
    p->handles++;
    if (e < 0) {
        close_handle(p, (uv_handle_t *)&p->uvp);
        close_handle(p, (uv_handle_t *)&p->in);
        close_handle(p, (uv_handle_t *)&p->out);
        close_handle(p, (uv_handle_t *)&p->err);
        return e;
    }
    p->pid = p->uvp.pid;
    p->in_open = true;
    p->open_streams = 2;
    uv_read_start((uv_stream_t *)&p->out, proc_read_alloc, on_read);
    uv_read_start((uv_stream_t *)&p->err, proc_read_alloc, on_read);
    return 0;
}

int proc_spawn_child(uv_loop_t *loop, uv_process_t *h, const struct proc_child *c)
{
    uv_process_options_t o;
    uv_stdio_container_t stdio[3];
    uv_pipe_t *pipes[3] = {c->in, c->out, c->err};
    char **envp = NULL;
    int r;

    memset(&o, 0, sizeof(o));
    for (int i = 0; i < 3; i++) {
        stdio[i].flags =
            pipes[i] ? UV_CREATE_PIPE | (i ? UV_WRITABLE_PIPE : UV_READABLE_PIPE) : UV_IGNORE;
        stdio[i].data.stream = (uv_stream_t *)pipes[i];
    }
    o.file = c->argv[0];
    o.args = (char **)(uintptr_t)c->argv;
    o.cwd = c->cwd;
    o.flags = UV_PROCESS_DETACHED; /* setsid: its own session and process group */
    o.stdio_count = 3;
    o.stdio = stdio;
    o.exit_cb = c->on_exit;
    if (c->env_set || c->env_defaults) {
        const char *add[16];
        size_t n = 0;
        for (size_t i = 0; c->env_set && c->env_set[i] && n < 16; i++)
            add[n++] = c->env_set[i];
        for (size_t i = 0; c->env_defaults && c->env_defaults[i] && n < 16; i++) {
            const char *eq = strchr(c->env_defaults[i], '=');
            char key[128];
            if (!eq || (size_t)(eq - c->env_defaults[i]) >= sizeof(key))
                continue;
            memcpy(key, c->env_defaults[i], (size_t)(eq - c->env_defaults[i]));
            key[eq - c->env_defaults[i]] = '\0';
            if (!getenv(key))
                add[n++] = c->env_defaults[i];
        }
        envp = proc_build_env(add, n, false);
        o.env = envp;
    }
    proc_cloexec_all();
    /* uv_spawn returns once the child has exec'd (or failed to): envp can go then. */
    r = uv_spawn(loop, h, &o);
    proc_free_strv(envp);
    return r;
}

static int spawn_pty(struct proc *p, const struct proc_spawn_req *r, char **argv, char **envp)
{
    struct pty_spawn o = {r->command, argv, envp, r->cwd, 80, 24};
    int master = -1, e;
    pid_t pid = 0;

    proc_cloexec_all();
    e = pty_spawn(&o, &master, &pid);
    if (e < 0)
        return e;
    uv_pipe_init(proc_loop, &p->pty, 0);
    p->pty.data = p;
    p->handles++;
    e = uv_pipe_open(&p->pty, master);
    if (e < 0) {
        close(master); /* not the pipe's */
    } else {
        /* A second descriptor of the master for reading (on_pty_readable says why). */
        p->pty_rfd = fcntl(master, F_DUPFD_CLOEXEC, 3);
        e = p->pty_rfd < 0 ? -errno : uv_poll_init(proc_loop, &p->pty_poll, p->pty_rfd);
        if (e < 0 && p->pty_rfd >= 0) {
            close(p->pty_rfd);
            p->pty_rfd = -1;
        }
    }
    if (e < 0) {
        kill(-pid, SIGKILL);
        waitpid(pid, NULL, 0);
        close_handle(p, (uv_handle_t *)&p->pty);
        return e;
    }
    p->pty_poll.data = p;
    p->handles++;
    p->master = master;
    p->pid = pid;
    p->in_open = true;
    p->open_streams = 1;
    p->pty_reading_possible = true;
    uv_poll_start(&p->pty_poll, UV_READABLE, on_pty_readable);
    return 0;
}

int proc_create(const struct proc_spawn_req *r, struct proc **ret, struct problem *err)
{
    struct proc *p, **pp;
    char **argv, **envp;
    int e;

    if (proc_running_count() >= proc_cfg.max_concurrent)
        return problem_set(err, 409, PROBLEM_CONFLICT,
                           "max concurrent process limit reached (%llu)",
                           (unsigned long long)proc_cfg.max_concurrent);
    p = proc_new(r);
    argv = proc_build_argv(r->command, r->args, r->nargs);
    envp = proc_build_env(r->env, r->nenv, r->tty);
    e = r->tty ? spawn_pty(p, r, argv, envp) : spawn_pipes(p, r, argv, envp);
    proc_free_strv(argv);
    proc_free_strv(envp);
    if (e < 0) {
        problem_set(err, 502, PROBLEM_STREAM_ERROR, "failed to spawn %sprocess `%s`: %s",
                    r->tty ? "tty " : "", r->command, strerror(-e));
        proc_unref(p);
        return -1;
    }
    p->num = next_num++;
    snprintf(p->id, sizeof(p->id), "proc_%llu", (unsigned long long)p->num);
    p->created_ms = clock_real_ms();
    p->running = true;
    p->listed = true;
    /* Append: ids only grow, so the list stays sorted by number. */
    for (pp = &procs; *pp; pp = &(*pp)->next)
        ;
    *pp = p;
    log_debug("proc", "%s started: %s (pid %d%s)", p->id, p->command, (int)p->pid,
              p->tty ? ", tty" : "");
    *ret = p;
    return 0;
}

int proc_signal(struct proc *p, int sig)
{
    if (!p->running)
        return -ESRCH;
    /* The whole group: grandchildren included. */
    if (kill(-p->pid, sig) < 0 && kill(p->pid, sig) < 0)
        return -errno;
    return 0;
}

const char *proc_id(const struct proc *p)
{
    return p->id;
}

int proc_pid(const struct proc *p)
{
    return p->running ? (int)p->pid : 0;
}

bool proc_is_running(const struct proc *p)
{
    return p->running;
}

int proc_exit_code(const struct proc *p)
{
    return p->running || p->signaled ? -1 : p->exit_code;
}

size_t proc_stdout_head(const struct proc *p, char *dst, size_t cap)
{
    size_t n = 0;

    for (const struct log_entry *e = proc_log_next(&p->log, 0); e && n < cap;
         e = proc_log_next(&p->log, e->seq)) {
        size_t k;
        if (e->stream != PROC_STDOUT)
            continue;
        k = e->len < cap - n ? e->len : cap - n;
        memcpy(dst + n, e->data, k);
        n += k;
    }
    return n;
}

struct write_req {
    uv_write_t w; /* first member */
    char data[];
};

static void on_written(uv_write_t *w, int status)
{
    (void)status; /* EPIPE once the child closed its stdin: nothing to tell anyone */
    free(w);
}

int proc_write(struct proc *p, const void *data, size_t n)
{
    struct write_req *wr;
    uv_buf_t b;
    uv_stream_t *s = (uv_stream_t *)(p->tty ? &p->pty : &p->in);
    int e;

    if (!p->running || !p->in_open)
        return -EPIPE;
    if (n == 0)
        return 0;
    wr = xmalloc(sizeof(*wr) + n);
    memcpy(wr->data, data, n);
    b = uv_buf_init(wr->data, (unsigned)n);
    e = uv_write(&wr->w, s, &b, 1, on_written);
    if (e < 0) {
        free(wr);
        return e;
    }
    return 0;
}

static void on_input_shut(uv_shutdown_t *req, int status)
{
    struct proc *p = req->handle->data;

    (void)status; /* ECANCELED when the child exited first: closed all the same */
    close_handle(p, (uv_handle_t *)req->handle);
    free(req);
}

int proc_close_input(struct proc *p)
{
    uv_shutdown_t *req;
    int e;

    if (p->tty)
        return -ENOTTY;
    if (!p->running || !p->in_open)
        return -EPIPE;
    p->in_open = false;
    req = xmalloc(sizeof(*req));
    /* After the queued writes: nothing written before the end is lost. */
    e = uv_shutdown(req, (uv_stream_t *)&p->in, on_input_shut);
    if (e < 0) {
        free(req);
        close_handle(p, (uv_handle_t *)&p->in);
    }
    return 0;
}

void proc_pty_pause(struct proc *p, bool pause)
{
    if (!p->tty || !p->pty_reading_possible || p->pty_paused == pause)
        return;
    p->pty_paused = pause;
    if (pause)
        uv_poll_stop(&p->pty_poll);
    else
        uv_poll_start(&p->pty_poll, UV_READABLE, on_pty_readable);
}

int pty_resize_master(struct proc *p, unsigned short cols, unsigned short rows)
{
    return p->master >= 0 ? pty_resize(p->master, cols, rows) : -ENOTTY;
}

int proc_init(uv_loop_t *loop)
{
    proc_loop = loop;
    uv_signal_init(loop, &sigchld);
    uv_signal_start(&sigchld, on_sigchld, SIGCHLD);
    /* Orphaned descendants come to agentd, not to the machine's init (reap_orphans says why). */
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
        log_warn("proc", "cannot become a child subreaper: %s", strerror(errno));
    /* The watcher must not keep the loop alive on its own at shutdown. */
    uv_unref((uv_handle_t *)&sigchld);
    return 0;
}

void proc_set_shutdown_grace(struct proc *p, unsigned ms)
{
    p->shutdown_grace_ms = ms;
}

static void grace_expired(uv_timer_t *t)
{
    for (struct proc *p = procs; p; p = p->next)
        if (p->running && p->shutdown_grace_ms) {
            log_warn("proc", "%s did not finish within %u ms of shutdown: SIGKILL", p->id,
                     p->shutdown_grace_ms);
            proc_signal(p, SIGKILL);
        }
    grace_running = false;
    uv_close((uv_handle_t *)t, NULL);
}

void proc_shutdown(void)
{
    unsigned grace = 0;

    proc_run_shutdown();
    for (struct proc *p = procs; p; p = p->next) {
        if (p->running && p->shutdown_grace_ms && !p->tty) {
            /* Its handles close the usual way when it exits. */
            if (p->shutdown_grace_ms > grace)
                grace = p->shutdown_grace_ms;
            continue;
        }
        if (p->running)
            proc_signal(p, SIGKILL);
        /* Close our handles ourselves so that the records can be freed. */
        if (p->tty) {
            close_pty(p);
        } else {
            close_handle(p, (uv_handle_t *)&p->uvp);
            close_handle(p, (uv_handle_t *)&p->in);
            close_handle(p, (uv_handle_t *)&p->out);
            close_handle(p, (uv_handle_t *)&p->err);
        }
    }
    uv_signal_stop(&sigchld);
    uv_close((uv_handle_t *)&sigchld, NULL);
    if (grace) {
        uv_timer_init(proc_loop, &grace_timer);
        uv_timer_start(&grace_timer, grace_expired, grace, 0);
        grace_running = true;
    }
}

void proc_done(void)
{
    while (procs)
        proc_remove(procs);
}
