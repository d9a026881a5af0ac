/*
 * attach_common: the session pieces both halves of `agentd attach` / `agentd
 * exec` use (attach.c, the terminal and the command line, on top;
 * attach_pipe.c, a process without a terminal): messages, the end of the
 * session, exit statuses, problem reports, stdin as a libuv stream.  Calls
 * neither of them.
 */
#include "attach_int.h"

#include "../stream/xmalloc.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct termios *restore_termios;

void attach_restore_on_exit(struct termios *saved)
{
    restore_termios = saved;
}

void attach_restore_terminal(void)
{
    if (restore_termios)
        tcsetattr(STDIN_FILENO, TCSADRAIN, restore_termios);
    restore_termios = NULL;
}

void attach_write_all(int fd, const void *p, size_t n)
{
    const char *c = p;

    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EAGAIN) {
            struct pollfd pfd = {.fd = fd, .events = POLLOUT};
            poll(&pfd, 1, -1);
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return; /* stdout is gone: nothing left to show it to */
        c += w;
        n -= (size_t)w;
    }
}

void attach_say(struct session *s, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof(line))
        n = sizeof(line) - 1;
    /* In raw mode "\n" does not return the carriage. */
    if (s->raw)
        attach_write_all(STDERR_FILENO, "\r\n", 2);
    attach_write_all(STDERR_FILENO, "agentd: ", 8);
    attach_write_all(STDERR_FILENO, line, (size_t)n);
    attach_write_all(STDERR_FILENO, s->raw ? "\r\n" : "\n", s->raw ? 2 : 1);
}

/* ---- the end --------------------------------------------------------------------------------- */

static void on_finished(uv_timer_t *t)
{
    struct session *s = t->data;

    attach_restore_terminal();
    s->raw = false;
    if (s->in) {
        uv_read_stop(s->in);
        uv_close((uv_handle_t *)s->in, NULL);
        s->in = NULL;
    }
    if (s->signals_on) {
        uv_close((uv_handle_t *)&s->sigwinch, NULL);
        uv_close((uv_handle_t *)&s->sigterm, NULL);
        uv_close((uv_handle_t *)&s->sighup, NULL);
        uv_close((uv_handle_t *)&s->sigint, NULL);
        s->signals_on = false;
    }
    if (s->eof_timer_on) {
        uv_close((uv_handle_t *)&s->eof_timer, NULL);
        s->eof_timer_on = false;
    }
    uv_close((uv_handle_t *)t, NULL);
    client_close(s->client);
}

void attach_finish(struct session *s, int status)
{
    if (s->finishing)
        return;
    s->finishing = true;
    s->status = status;
    uv_timer_init(s->loop, &s->finisher);
    s->finisher.data = s;
    uv_timer_start(&s->finisher, on_finished, 0, 0);
}

int attach_exit_status(const cJSON *o)
{
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(o, "exitCode");
    const cJSON *sig = cJSON_GetObjectItemCaseSensitive(o, "signal");

    if (cJSON_IsNumber(code))
        return code->valueint & 0xff;
    if (cJSON_IsNumber(sig) && sig->valueint > 0 && sig->valueint < 64)
        return 128 + sig->valueint;
    return EXIT_CLIENT_ERROR;
}

static void on_deleted(void *arg, int status, const char *body, size_t n, const char *err)
{
    struct session *s = arg;

    attach_finish(s, s->status);
}

void attach_process_ended(struct session *s, int status)
{
    char path[128];

    s->got_exit = true;
    s->status = status;
    if (!s->exec) {
        attach_finish(s, status);
        return;
    }
    snprintf(path, sizeof(path), "/v1/processes/%s", s->id);
    if (!client_http(s->client, "DELETE", path, NULL, NULL, on_deleted, s))
        attach_finish(s, status);
}

void attach_report_problem(struct session *s, const char *what, int http, const char *body,
                           size_t n, const char *err, int status)
{
    cJSON *o = http && body ? cJSON_ParseWithLength(body, n) : NULL;
    const cJSON *detail = cJSON_GetObjectItemCaseSensitive(o, "detail");
    const cJSON *title = cJSON_GetObjectItemCaseSensitive(o, "title");

    if (!http)
        attach_say(
            s,
            "%s: cannot reach agentd at %s: %s (is it running? start it with `agentd server`, "
            "or point --endpoint / AGENTD_ENDPOINT at it)",
            what, s->o.endpoint, err ? err : "no answer");
    else if (cJSON_IsString(detail))
        attach_say(s, "%s: %s (HTTP %d)", what, detail->valuestring, http);
    else if (cJSON_IsString(title))
        attach_say(s, "%s: %s (HTTP %d)", what, title->valuestring, http);
    else
        attach_say(s, "%s: HTTP %d", what, http);
    cJSON_Delete(o);
    attach_finish(s, status);
}

void attach_on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    static char in_buf[65536];

    (void)h;
    (void)suggested;
    b->base = in_buf;
    b->len = sizeof(in_buf);
}

int attach_open_stdin(struct session *s)
{
    uv_handle_type kind = uv_guess_handle(STDIN_FILENO);

    switch (kind) {
    case UV_TTY:
        if (uv_tty_init(s->loop, &s->in_tty, STDIN_FILENO, 1) < 0)
            return -1;
        s->in = (uv_stream_t *)&s->in_tty;
        break;
    case UV_NAMED_PIPE:
        if (uv_pipe_init(s->loop, &s->in_pipe, 0) < 0 ||
            uv_pipe_open(&s->in_pipe, STDIN_FILENO) < 0)
            return -1;
        s->in = (uv_stream_t *)&s->in_pipe;
        break;
    default:
        return (int)kind;
    }
    s->in->data = s;
    return (int)kind;
}
