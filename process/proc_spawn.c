/*
 * proc_spawn: what every spawner of the process module shares (proc.c for
 * managed processes, proc_run.c for one-shot runs): the limits, argv and
 * environment building, close-on-exec of the daemon's descriptors, and the
 * read buffer for child output.  Calls nothing else in process/.
 */
#include "proc_internal.h"

#include "../stream/log.h"
#include "../stream/xmalloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

extern char **environ;

struct proc_config proc_cfg = {
    .max_concurrent = 64,
    .default_timeout = 30000,
    .max_timeout = 300000,
    .max_output = 1048576,
    .max_log = 10485760,
    .max_input = 65536,
};

static char read_buf[65536]; /* one loop thread: one read buffer */

void proc_cloexec_all(void)
{
    if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
        log_warn("proc", "close_range(CLOEXEC) failed: %s", strerror(errno));
}

void proc_free_strv(char **v)
{
    if (!v)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

char **proc_build_env(const char *const *env, size_t nenv, bool add_term)
{
    size_t n = 0, o = 0;
    char **out;
    bool has_term = false;

    while (environ[n])
        n++;
    out = xcalloc(n + nenv + 2, sizeof(*out));
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(environ[i], '=');
        size_t klen = eq ? (size_t)(eq - environ[i]) : strlen(environ[i]);
        bool overridden = false;
        for (size_t j = 0; j < nenv && !overridden; j++)
            overridden = strncmp(env[j], environ[i], klen) == 0 && env[j][klen] == '=';
        if (!overridden && !(add_term && strncmp(environ[i], "TERM=", 5) == 0))
            out[o++] = xstrdup(environ[i]);
    }
    for (size_t j = 0; j < nenv; j++) {
        out[o++] = xstrdup(env[j]);
        if (strncmp(env[j], "TERM=", 5) == 0)
            has_term = true;
    }
    if (add_term && !has_term)
        out[o++] = xstrdup("TERM=xterm-256color");
    out[o] = NULL;
    return out;
}

char **proc_build_argv(const char *command, const char *const *args, size_t nargs)
{
    char **argv = xcalloc(nargs + 2, sizeof(char *));

    argv[0] = xstrdup(command);
    for (size_t i = 0; i < nargs; i++)
        argv[i + 1] = xstrdup(args[i]);
    return argv;
}

void proc_read_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    buf->base = read_buf;
    buf->len = sizeof(read_buf);
}
