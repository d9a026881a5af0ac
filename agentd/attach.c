/*
 * attach: `agentd attach` and `agentd exec`, the command-line client of the
 * terminal WebSocket (docs/api/processes.md).
 *
 * A tty process is shown through GET /v1/processes/{id}/terminal/ws: the
 * local terminal goes raw, keystrokes are sent as binary frames (raw input),
 * output frames are written to stdout as they come, SIGWINCH becomes a
 * resize frame, the detach key (Ctrl-] by default) leaves the process
 * running.  A pipe process is followed through its log stream
 * (logs?follow=true), stdout and stderr kept apart (attach_pipe.c).  The exit status is the
 * process's: its exit code, 128+N after signal N, 255 when agentd could not
 * tell (connection lost, refused).
 *
 * Everything runs on one libuv loop with the lws client; writes to stdout
 * block, which is the flow control a terminal expects.
 */
#include "attach.h"

#include "attach_int.h"
#include "opts.h"

#include "../stream/buf.h"
#include "../stream/ws.h"
#include "../stream/xmalloc.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

/* Stop reading stdin while this much input waits for the socket. */
#define INPUT_HIGH_WATER (256u * 1024u)
/*
 * Piped input ended on a terminal: ^D, and again each time the program shows
 * new output and then waits this long, at most EOF_SENDS_MAX times.  A ^D that
 * reaches the PTY while the program is not reading (bash between commands has
 * the line discipline in canonical mode and readline is not listening) is
 * swallowed, so one is not enough to end `echo 'echo hi' | agentd exec -t -- bash`.
 */
#define EOF_QUIET_MS  300
#define EOF_SENDS_MAX 10

/* ---- terminal: local side -------------------------------------------------------------------- */

static void send_resize(struct session *s)
{
    struct winsize ws;
    char frame[96];

    if (!s->ws ||
        (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) < 0 && ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0))
        return;
    if (!ws.ws_col || !ws.ws_row)
        return;
    snprintf(frame, sizeof(frame), "{\"type\":\"resize\",\"cols\":%u,\"rows\":%u}", ws.ws_col,
             ws.ws_row);
    ws_send_text(s->ws, frame);
}

static void on_eof_quiet(uv_timer_t *t)
{
    struct session *s = t->data;

    if (!s->ws || !s->output_since_eof || s->eof_sends >= EOF_SENDS_MAX)
        return;
    s->output_since_eof = false;
    s->eof_sends++;
    ws_send_binary(s->ws, "\004", 1);
}

/* The end of piped input on a terminal: the terminal's end-of-file character, as typed. */
static void send_eof(struct session *s)
{
    ws_send_binary(s->ws, "\004", 1);
    s->eof_sends = 1;
    if (!s->eof_timer_on) {
        uv_timer_init(s->loop, &s->eof_timer);
        s->eof_timer.data = s;
        s->eof_timer_on = true;
    }
}

static void on_input(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
    struct session *s = st->data;
    const char *key;

    if (n == 0 || !s->ws)
        return;
    if (n < 0) {
        uv_read_stop(st);
        /*
         * Piped input ended: send the terminal's end-of-file character, so
         * `echo hi | agentd exec -t -- cat` ends like it would locally.
         */
        if (n == UV_EOF)
            send_eof(s);
        return;
    }
    key = s->o.detach_key >= 0 && s->raw ? memchr(b->base, s->o.detach_key, (size_t)n) : NULL;
    if (key) {
        if (key > b->base)
            ws_send_binary(s->ws, b->base, (size_t)(key - b->base));
        attach_say(
            s,
            "detached from %s (still running; agentd attach %s --since 0 to come back with its "
            "screen)",
            s->id, s->id);
        s->detached = true;
        uv_read_stop(st);
        /* Leaving on purpose: an exec's process is not hung up. */
        ws_send_text(s->ws, "{\"type\":\"detach\"}");
        ws_close(s->ws, 1000, "detached");
        return;
    }
    ws_send_binary(s->ws, b->base, (size_t)n);
    if (ws_queued(s->ws) > INPUT_HIGH_WATER) {
        uv_read_stop(st);
        s->in_paused = true;
    }
}

static int start_input(struct session *s)
{
    struct termios raw;
    int kind = attach_open_stdin(s);

    if (kind < 0)
        return -1;
    if (!s->in)
        return 0; /* a file or /dev/null: no live input */
    if (kind == UV_TTY && tcgetattr(STDIN_FILENO, &s->saved) == 0) {
        raw = s->saved;
        cfmakeraw(&raw);
        if (tcsetattr(STDIN_FILENO, TCSADRAIN, &raw) == 0) {
            attach_restore_on_exit(&s->saved);
            s->raw = true;
        }
    }
    return uv_read_start(s->in, attach_on_alloc, on_input);
}

/* ---- terminal: the WebSocket ----------------------------------------------------------------- */

static void term_message(struct ws_session *ws, void *ctx, const void *p, size_t n, bool binary)
{
    struct session *s = ctx;
    const cJSON *type;
    cJSON *o;

    if (binary) {
        attach_write_all(STDOUT_FILENO, p, n);
        if (s->eof_timer_on) {
            s->output_since_eof = true;
            uv_timer_start(&s->eof_timer, on_eof_quiet, EOF_QUIET_MS, 0);
        }
        return;
    }
    o = cJSON_ParseWithLength(p, n);
    type = cJSON_GetObjectItemCaseSensitive(o, "type");
    if (cJSON_IsString(type) && strcmp(type->valuestring, "exit") == 0) {
        s->got_exit = true;
        s->status = attach_exit_status(o);
    } else if (cJSON_IsString(type) && strcmp(type->valuestring, "error") == 0) {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "message");
        attach_say(s, "%s", cJSON_IsString(m) ? m->valuestring : "terminal error");
    }
    cJSON_Delete(o);
}

static void term_writable(struct ws_session *ws, void *ctx)
{
    struct session *s = ctx;

    if (s->in_paused && s->in) {
        s->in_paused = false;
        uv_read_start(s->in, attach_on_alloc, on_input);
    }
}

static void term_closed(struct ws_session *ws, void *ctx)
{
    struct session *s = ctx;

    s->ws = NULL;
    if (s->detached) {
        attach_finish(s, 0);
        return;
    }
    if (s->got_exit) {
        attach_process_ended(s, s->status);
        return;
    }
    attach_say(s, "connection to %s closed%s%s", s->id, s->lost[0] ? ": " : "", s->lost);
    attach_finish(s, EXIT_CLIENT_ERROR);
}

static const struct ws_ops term_ops = {term_message, term_writable, term_closed};

static void term_open(void *ctx, struct ws_session *ws, const char *err)
{
    struct session *s = ctx;

    if (!ws) {
        attach_say(s, "cannot open the terminal of %s: %s", s->id, err);
        attach_finish(s, EXIT_CLIENT_ERROR);
        return;
    }
    s->ws = ws;
    send_resize(s);
    if (start_input(s) < 0) {
        attach_say(s, "cannot read standard input");
        ws_close(ws, 1000, "");
    }
}

static void term_peer_close(void *ctx, int code, const char *reason)
{
    struct session *s = ctx;

    if (code != 1000 && code != 0)
        snprintf(s->lost, sizeof(s->lost), "%d %s", code, reason);
}

static const struct client_ws_hooks term_hooks = {term_open, term_peer_close};

static void on_winch(uv_signal_t *h, int signum)
{
    send_resize(h->data);
}

/* The signal was delivered (the process's exit then ends us), or it could not be: say so, end. */
static void on_stopped(void *arg, int status, const char *body, size_t n, const char *err)
{
    struct session *s = arg;

    if (status != 200)
        attach_report_problem(s, s->id, status, body, n, err, EXIT_CLIENT_ERROR);
}

static void on_term_signal(uv_signal_t *h, int signum)
{
    struct session *s = h->data;
    char path[128];

    /*
     * exec without a terminal: the first Ctrl-C is the process's SIGINT, as
     * locally (its exit, 130 for most programs, then ends us).
     */
    if (signum == SIGINT && s->exec && !s->ws && !s->stopping) {
        s->stopping = true;
        snprintf(path, sizeof(path), "/v1/processes/%s/kill?signal=INT&waitMs=0", s->id);
        client_http(s->client, "POST", path, NULL, NULL, on_stopped, s);
        return;
    }
    /*
     * exec with a terminal: we are its terminal (?hangup=true): the connection
     * ending hangs it up (SIGHUP), as closing a terminal window does.
     */
    if (s->exec && s->ws) {
        attach_say(s, "%s: hanging up %s", strsignal(signum), s->id);
    } else if (s->exec && !s->stopping) {
        /* Without a terminal: the signal goes on to the process; its exit ends us. */
        s->stopping = true;
        attach_say(s, "%s: passed on to %s", strsignal(signum), s->id);
        snprintf(path, sizeof(path), "/v1/processes/%s/kill?signal=%d&waitMs=0", s->id, signum);
        client_http(s->client, "POST", path, NULL, NULL, on_stopped, s);
        return;
    } else {
        attach_say(s, "%s: leaving %s running", strsignal(signum), s->id);
    }
    attach_finish(s, 128 + signum);
}

void attach_start_signals(struct session *s)
{
    uv_signal_init(s->loop, &s->sigwinch);
    uv_signal_init(s->loop, &s->sigterm);
    uv_signal_init(s->loop, &s->sighup);
    uv_signal_init(s->loop, &s->sigint);
    s->sigwinch.data = s->sigterm.data = s->sighup.data = s->sigint.data = s;
    uv_signal_start(&s->sigwinch, on_winch, SIGWINCH);
    uv_signal_start(&s->sigterm, on_term_signal, SIGTERM);
    uv_signal_start(&s->sighup, on_term_signal, SIGHUP);
    uv_signal_start(&s->sigint, on_term_signal, SIGINT);
    s->signals_on = true;
}

/* ---- attach and exec ------------------------------------------------------------------------- */

static void attach_terminal(struct session *s)
{
    char path[160];

    /* exec: this session is the process's terminal; it is hung up if we go (see on_term_signal). */
    snprintf(path, sizeof(path), "/v1/processes/%s/terminal/ws%s%s%s", s->id,
             s->o.since ? "?since=" : "", s->o.since ? s->o.since : "",
             s->exec ? (s->o.since ? "&hangup=true" : "?hangup=true") : "");
    attach_start_signals(s);
    if (client_ws(s->client, path, &term_ops, &term_hooks, s) < 0)
        return; /* reported through term_open */
}

/* The record of the process to attach to says whether it has a terminal. */
static void on_info(void *arg, int status, const char *body, size_t n, const char *err)
{
    struct session *s = arg;
    cJSON *o;
    const cJSON *tty;

    if (status != 200) {
        attach_report_problem(s, s->id, status, body, n, err, EXIT_CLIENT_ERROR);
        return;
    }
    o = cJSON_ParseWithLength(body, n);
    tty = cJSON_GetObjectItemCaseSensitive(o, "tty");
    if (cJSON_IsTrue(tty)) {
        attach_terminal(s);
    } else {
        attach_start_signals(s);
        attach_follow_logs(s);
    }
    cJSON_Delete(o);
}

static void on_created(void *arg, int status, const char *body, size_t n, const char *err)
{
    struct session *s = arg;
    const cJSON *id;
    cJSON *o;

    if (status != 200) {
        attach_report_problem(s, s->o.argv[0], status, body, n, err,
                              status == 502 ? EXIT_SPAWN_FAILED : EXIT_CLIENT_ERROR);
        return;
    }
    o = cJSON_ParseWithLength(body, n);
    id = cJSON_GetObjectItemCaseSensitive(o, "id");
    if (!cJSON_IsString(id) || strlen(id->valuestring) >= sizeof(s->id)) {
        attach_say(s, "unexpected answer from POST /v1/processes");
        cJSON_Delete(o);
        attach_finish(s, EXIT_CLIENT_ERROR);
        return;
    }
    snprintf(s->id, sizeof(s->id), "%s", id->valuestring);
    s->exec = true;
    cJSON_Delete(o);
    /* From byte 0: whatever it wrote before the WebSocket was up is shown too. */
    s->o.since = "0";
    if (s->o.tty) {
        attach_terminal(s);
    } else {
        attach_start_signals(s);
        attach_follow_logs(s);
        attach_start_pipe_input(s);
    }
}

static char *create_body(const struct attach_opts *o)
{
    cJSON *req = cJSON_CreateObject(), *args = cJSON_AddArrayToObject(req, "args");
    char *body;

    cJSON_AddStringToObject(req, "command", o->argv[0]);
    for (int i = 1; i < o->argc; i++)
        cJSON_AddItemToArray(args, cJSON_CreateString(o->argv[i]));
    cJSON_AddBoolToObject(req, "tty", o->tty);
    cJSON_AddBoolToObject(req, "interactive", o->tty || o->interactive);
    if (o->cwd)
        cJSON_AddStringToObject(req, "cwd", o->cwd);
    if (o->nenv) {
        cJSON *env = cJSON_AddObjectToObject(req, "env");
        for (size_t i = 0; i < o->nenv; i++) {
            const char *eq = strchr(o->env[i], '=');
            char *key = xstrndup(o->env[i], (size_t)(eq - o->env[i]));
            cJSON_AddStringToObject(env, key, eq + 1);
            free(key);
        }
    }
    body = cJSON_PrintUnformatted(req);
    cJSON_Delete(req);
    return body;
}

static int run(struct session *s)
{
    uv_loop_t loop;

    uv_loop_init(&loop);
    s->loop = &loop;
    s->status = EXIT_CLIENT_ERROR;
    s->client = client_new(&loop, s->o.endpoint, s->o.token);
    if (!s->client) {
        uv_loop_close(&loop);
        return 2; /* a bad --endpoint (client_new said which) */
    }
    if (s->o.argv) {
        char *body = create_body(&s->o);
        client_http(s->client, "POST", "/v1/processes", body, NULL, on_created, s);
        free(body);
    } else {
        char path[128];
        snprintf(s->id, sizeof(s->id), "%s", s->o.id);
        snprintf(path, sizeof(path), "/v1/processes/%s", s->id);
        client_http(s->client, "GET", path, NULL, NULL, on_info, s);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    attach_restore_terminal();
    client_free(s->client);
    uv_run(&loop, UV_RUN_DEFAULT);
    sse_parser_done(&s->sse);
    uv_loop_close(&loop);
    return s->status;
}

/* ---- command line ---------------------------------------------------------------------------- */

static const char attach_usage[] =
    "Usage: agentd attach PROC_ID [--endpoint URL] [--token T] [--since N] [--detach-key KEY]\n"
    "       agentd exec [-i] [-t] [--cwd DIR] [-e KEY=VALUE]... [--endpoint URL] [--token T]\n"
    "                   [--detach-key KEY] -- COMMAND [ARGS...]\n"
    "\n"
    "  --endpoint URL     the daemon (default $AGENTD_ENDPOINT or http://127.0.0.1:2468)\n"
    "  --token T          bearer token (default $AGENTD_TOKEN)\n"
    "  --since N          terminal: replay retained output from byte N (0: all of it);\n"
    "                     pipe process: log entries after sequence N\n"
    "  --detach-key KEY   leave the process running: ctrl-] (default), ctrl-A..ctrl-Z, none\n"
    "  -i, --interactive  exec: send stdin to COMMAND; its end closes COMMAND's stdin\n"
    "                     (without -i or -t, COMMAND's stdin is closed at once)\n"
    "  -t, --tty          exec: run COMMAND on a terminal and attach to it (stdin is\n"
    "                     the terminal's input; -it works too)\n"
    "  --cwd DIR          exec: working directory\n"
    "  -e KEY=VALUE       exec: environment variable (repeatable)\n"
    "\n"
    "The exit status is the process's (128+N after signal N), 255 when agentd cannot tell.\n";

enum { OPT_ENDPOINT = 256, OPT_TOKEN, OPT_SINCE, OPT_DETACH, OPT_CWD };

static const struct option options[] = {
    {"endpoint", required_argument, NULL, OPT_ENDPOINT},
    {"token", required_argument, NULL, OPT_TOKEN},
    {"since", required_argument, NULL, OPT_SINCE},
    {"detach-key", required_argument, NULL, OPT_DETACH},
    {"tty", no_argument, NULL, 't'},
    {"interactive", no_argument, NULL, 'i'},
    {"cwd", required_argument, NULL, OPT_CWD},
    {"env", required_argument, NULL, 'e'},
    {"help", no_argument, NULL, OPTS_HELP},
    {NULL, 0, NULL, 0},
};

static int parse_detach_key(const char *v)
{
    if (strcmp(v, "none") == 0)
        return -1;
    if (strncmp(v, "ctrl-", 5) == 0 && v[5] && !v[6]) {
        char c = v[5];
        if (c >= 'a' && c <= 'z')
            return c - 'a' + 1;
        if (c >= 'A' && c <= 'Z')
            return c - 'A' + 1;
        if (c == '[' || c == '\\' || c == ']' || c == '^' || c == '_')
            return c - '@';
    }
    return -2;
}

static bool is_number(const char *v)
{
    if (!*v)
        return false;
    for (; *v; v++)
        if (*v < '0' || *v > '9')
            return false;
    return true;
}

/* opts_error() for the operands: the exit status of a usage error. */
#define usage(...) (opts_error(__VA_ARGS__), 2)

struct attach_args {
    struct session *s;
    bool exec;
};

/* One attach/exec option (struct opts). */
static int attach_option(int key, const char *v, void *ctx)
{
    struct attach_args *a = ctx;
    struct attach_opts *o = &a->s->o;
    int k;

    switch (key) {
    case OPT_ENDPOINT:
        o->endpoint = v;
        break;
    case OPT_TOKEN:
        o->token = v;
        break;
    case OPT_SINCE:
        if (a->exec)
            return opts_error("--since is for attach");
        if (!is_number(v))
            return opts_error("--since expects a number, got '%s'", v);
        o->since = v;
        break;
    case OPT_DETACH:
        k = parse_detach_key(v);
        if (k == -2)
            return opts_error("--detach-key expects ctrl-<letter> or none, got '%s'", v);
        o->detach_key = k;
        break;
    case 't':
        o->tty = true;
        break;
    case 'i':
        o->interactive = true;
        break;
    case OPT_CWD:
        o->cwd = v;
        break;
    case 'e':
        if (!strchr(v, '=') || v[0] == '=')
            return opts_error("-e expects KEY=VALUE, got '%s'", v);
        if (o->nenv == sizeof(o->env) / sizeof(o->env[0]))
            return opts_error("too many -e options");
        o->env[o->nenv++] = v;
        break;
    }
    return 0;
}

int attach_main(int argc, char **argv, bool exec)
{
    struct session s;
    struct attach_args args = {&s, exec};
    /* exec stops at the first operand ("+"), so COMMAND's own flags stay its own. */
    const struct opts op = {exec ? "exec" : "attach",
                            attach_usage,
                            exec ? "+ite:" : NULL,
                            options,
                            attach_option,
                            &args};
    const char *env;
    int first;

    memset(&s, 0, sizeof(s));
    env = getenv("AGENTD_ENDPOINT");
    s.o.endpoint = env && *env ? env : "http://127.0.0.1:2468";
    s.o.token = getenv("AGENTD_TOKEN");
    s.o.detach_key = 0x1d; /* Ctrl-] */
    first = opts_parse(&op, argc, argv);
    if (first < 0)
        return first == OPTS_EXIT_OK ? 0 : 2;
    if (exec) {
        if (first >= argc)
            return usage("exec needs a command: agentd exec [-t] -- COMMAND [ARGS...]");
        s.o.argv = argv + first;
        s.o.argc = argc - first;
    } else {
        if (first >= argc)
            return usage("attach needs a process id: agentd attach PROC_ID");
        if (argc - first > 1)
            return usage("unexpected argument '%s'", argv[first + 1]);
        s.o.id = argv[first];
        if (!*s.o.id || strlen(s.o.id) >= sizeof(s.id) || strpbrk(s.o.id, "/?#%"))
            return usage("not a process id: '%s'", s.o.id);
    }
    return run(&s);
}
