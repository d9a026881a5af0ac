/*
 * attach_int: what the files of `agentd attach` / `agentd exec` share.  Calls
 * go one way: attach.c (the session, a terminal over the WebSocket, the
 * command line) -> attach_pipe.c (a process without a terminal: its log
 * stream and its stdin sent by POST .../input) -> attach_common.c (messages,
 * the end, exit statuses).  Private to them.
 */
#ifndef AGENTD_ATTACH_INT_H
#define AGENTD_ATTACH_INT_H

#include "client.h"

#include "../stream/buf.h"
#include "../stream/sse_parse.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <termios.h>
#include <uv.h>

#define EXIT_CLIENT_ERROR 255
#define EXIT_SPAWN_FAILED 127

struct attach_opts {
    const char *endpoint;
    const char *token;
    const char *id;
    const char *since;
    int detach_key; /* -1: none */
    /* exec */
    bool tty;
    bool interactive; /* -i: stdin goes to the process (without -t: by POST .../input) */
    const char *cwd;
    const char *env[64];
    size_t nenv;
    char **argv;
    int argc;
};

struct session {
    struct attach_opts o;
    uv_loop_t *loop;
    struct client *client;
    char id[64];
    bool exec;     /* created by us: delete the record after the exit */
    bool detached; /* the detach key was pressed */
    bool stopping; /* exec: Ctrl-C asked the process to stop */
    struct ws_session *ws;
    /* stdin */
    uv_tty_t in_tty;
    uv_pipe_t in_pipe;
    uv_stream_t *in;
    bool in_paused;
    struct termios saved;
    bool raw;
    uv_signal_t sigwinch, sigterm, sighup, sigint;
    bool signals_on;
    /* the end */
    bool got_exit;
    int status;
    char lost[160]; /* why the session ended without an exit */
    uv_timer_t finisher;
    bool finishing;
    /* log stream of a pipe process */
    struct sse_parser sse;
    /* exec -i without a terminal: stdin sent by POST .../input, one chunk at a time */
    size_t chunk;  /* bytes per request: at most maxInputBytesPerRequest */
    bool in_file;  /* stdin is a file: read(2) it, it never blocks for long */
    bool in_ended; /* the end of input was sent, or input stopped */
    /* exec -t with piped input that ended: ^D until the program ends (EOF_QUIET_MS) */
    uv_timer_t eof_timer;
    bool eof_timer_on;
    unsigned eof_sends;
    bool output_since_eof;
};

/* attach_common.c: writes all of (p, n) to fd, waiting when it is non-blocking and full; gives up
 * if it is gone. */
void attach_write_all(int fd, const void *p, size_t n);
/* "agentd: ..." on stderr, on a line of its own also when the terminal is raw. */
void attach_say(struct session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Ends the session with this exit status (outside of any lws callback). */
void attach_finish(struct session *s, int status);
/* The exit status for an exit record ({exitCode} or {signal}): as a shell reports it. */
int attach_exit_status(const cJSON *o);
/* The process ended: for exec, remove its record (it was ours), then exit. */
void attach_process_ended(struct session *s, int status);
/* Prints a problem+json answer (or the raw status) and ends with status. */
void attach_report_problem(struct session *s, const char *what, int http, const char *body,
                           size_t n, const char *err, int status);
/* libuv read buffers: one static buffer (reads are never in flight twice). */
void attach_on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b);
/*
 * Opens stdin as a libuv stream (s->in) when it is a terminal or a pipe. Returns its kind
 * (UV_TTY, UV_NAMED_PIPE; a file or anything else leaves s->in NULL), or -1.
 */
int attach_open_stdin(struct session *s);
/* attach.c: SIGWINCH (a resize), and SIGINT, SIGTERM, SIGHUP (see on_term_signal). */
void attach_start_signals(struct session *s);
/* The terminal settings to put back when the session ends (NULL: none). */
void attach_restore_on_exit(struct termios *saved);
/* Puts them back now (idempotent). */
void attach_restore_terminal(void);

/* attach_pipe.c: follow the process's output (logs?follow=true) until its exit event. */
void attach_follow_logs(struct session *s);
/* attach_pipe.c: exec without a terminal: stdin to the process (-i), or closed at once. */
void attach_start_pipe_input(struct session *s);

#endif
