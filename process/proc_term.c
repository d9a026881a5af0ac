/*
 * proc_term: the terminal WebSocket of a tty process (spec 4.12).
 *
 * Frames as the reference: a `ready` text frame, PTY output as binary
 * frames, an `exit` text frame, `error` text frames for bad client frames;
 * client text frames `input` (utf8 by default) / `resize` / `close`.
 *
 * Each viewer reads the process's PTY log at its own pace, tracked as a
 * byte offset in everything the PTY produced: `ready` carries the current
 * offset and `?since=N` replays retained output from byte N.  Every byte
 * reaches the viewer before `exit`, then the socket closes with 1000.  When
 * every viewer is more than TERM_HIGH_WATER behind, the PTY is no longer
 * read (the child blocks, as on a real terminal); a viewer that falls behind
 * what the log retains is closed with 1008 and told the `since` to resume
 * from.  Binary client frames are raw input.
 *
 * `?hangup=true` (agentd's `exec` uses it) makes this viewer the process's
 * terminal: when its connection ends, the process group gets SIGHUP, as when
 * a real terminal goes away, unless the viewer first sent `{"type":"detach"}`.
 */
#include "proc_decode.h"
#include "proc_internal.h"

#include "../stream/json.h"
#include "../stream/limits.h"
#include "../stream/log.h"
#include "../stream/ws.h"
#include "../stream/xmalloc.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TERM_FRAME_MAX  (64u * 1024u)
#define TERM_HIGH_WATER (1024u * 1024u)

struct term {
    struct proc_watcher w; /* first member */
    struct ws_session *ws;
    struct proc *p; /* referenced */
    uint64_t after; /* last log sequence fully sent */
    size_t skip;    /* bytes of the next entry already sent */
    uint64_t pos;   /* PTY offset of the next byte to send */
    bool exit_sent;
    bool behind;       /* closed with 1008: nothing more is sent */
    bool hangup;       /* ?hangup=true: SIGHUP to the group when this viewer leaves */
    bool detached;     /* the viewer sent {"type":"detach"} */
    struct term *next; /* all viewers */
};

static struct term *viewers;

/* Stop reading the PTY while every viewer is far behind; read again when one catches up. */
static void throttle(struct proc *p)
{
    uint64_t produced = p->log.produced[PROC_PTY], min_lag = UINT64_MAX;

    for (struct term *t = viewers; t; t = t->next)
        if (t->p == p && produced - t->pos < min_lag)
            min_lag = produced - t->pos;
    if (min_lag != UINT64_MAX && min_lag > TERM_HIGH_WATER)
        proc_pty_pause(p, true);
    else if (min_lag == UINT64_MAX || min_lag <= TERM_HIGH_WATER / 2)
        proc_pty_pause(p, false);
}

static void send_json(struct ws_session *ws, cJSON *o)
{
    char *text = cJSON_PrintUnformatted(o);

    cJSON_Delete(o);
    if (!text)
        abort();
    ws_send_text(ws, text);
    free(text);
}

static void send_error(struct term *t, const char *message)
{
    cJSON *o = cJSON_CreateObject();

    json_add_string(o, "type", "error");
    json_add_string(o, "message", message);
    send_json(t->ws, o);
}

/*
 * What the viewer still had to send is gone from the log: close it with 1008
 * and the offset to resume from.  Returns true when it did.
 */
static bool close_if_behind(struct term *t)
{
    const struct log_entry *e = proc_log_next(&t->p->log, t->after);
    uint64_t first = proc_log_first_seq(&t->p->log);
    char reason[120];

    if (t->behind)
        return true;
    if (!(e && t->after + 1 < first && e->off > t->pos))
        return false;
    t->behind = true;
    snprintf(reason, sizeof(reason),
             "viewer fell behind the terminal buffer; reconnect with ?since=%" PRIu64, e->off);
    ws_close(t->ws, 1008, reason);
    return true;
}

static void term_writable(struct ws_session *ws, void *ctx)
{
    struct term *t = ctx;
    const struct log_entry *e = proc_log_next(&t->p->log, t->after);

    (void)ws;
    if (close_if_behind(t))
        return;
    if (e) {
        size_t n = e->len - t->skip;
        if (n > TERM_FRAME_MAX)
            n = TERM_FRAME_MAX;
        ws_send_binary(t->ws, e->data + t->skip, n);
        t->skip += n;
        t->pos = e->off + t->skip;
        if (t->skip == e->len) {
            t->after = e->seq;
            t->skip = 0;
        }
        throttle(t->p);
        return;
    }
    /* Caught up: let the PTY be read again if this viewer was holding it back. */
    throttle(t->p);
    if (t->p->finished && !t->exit_sent) {
        cJSON *o = cJSON_CreateObject();
        t->exit_sent = true;
        json_add_string(o, "type", "exit");
        if (t->p->signaled) {
            cJSON_AddNullToObject(o, "exitCode");
            cJSON_AddNumberToObject(o, "signal", t->p->term_signal);
        } else
            cJSON_AddNumberToObject(o, "exitCode", t->p->exit_code);
        send_json(t->ws, o);
        ws_close(t->ws, 1000, "");
    }
}

static void term_input(struct term *t, const unsigned char *data, size_t n)
{
    if (proc_write(t->p, data, n) < 0)
        send_error(t, "process is not running");
}

static void term_message(struct ws_session *ws, void *ctx, const void *p, size_t n, bool binary)
{
    struct term *t = ctx;
    struct problem err;
    cJSON *root = NULL;
    const char *type = NULL, *data = NULL, *enc = NULL;
    uint64_t cols = 0, rows = 0;
    char msg[PROBLEM_MESSAGE_MAX + 32];

    (void)ws;
    if (binary) {
        /* Extension: binary frames are raw input bytes. */
        term_input(t, p, n);
        return;
    }
    if (json_parse_object(p, n, &root, &err) < 0 ||
        json_get_string(root, "type", true, &type, &err) < 0)
        goto invalid;
    if (strcmp(type, "input") == 0) {
        unsigned char *bytes = NULL;
        size_t len = 0;
        if (json_get_string(root, "data", true, &data, &err) < 0 ||
            json_get_string(root, "encoding", false, &enc, &err) < 0)
            goto invalid;
        if (proc_decode_payload(data, enc, false, (size_t)proc_cfg.max_input, &bytes, &len, &err) <
            0) {
            snprintf(msg, sizeof(msg), "invalid request: %s", err.message);
            send_error(t, msg);
            goto out;
        }
        term_input(t, bytes, len);
        free(bytes);
    } else if (strcmp(type, "resize") == 0) {
        if (json_get_u64(root, "cols", true, 65535, &cols, &err) < 0 ||
            json_get_u64(root, "rows", true, 65535, &rows, &err) < 0)
            goto invalid;
        if (pty_resize_master(t->p, (unsigned short)cols, (unsigned short)rows) < 0)
            send_error(t, "process is not running");
    } else if (strcmp(type, "close") == 0) {
        ws_close(t->ws, 1000, "");
    } else if (strcmp(type, "detach") == 0) {
        /* Extension: leaving on purpose; a ?hangup viewer then leaves the process running. */
        t->detached = true;
    } else {
        problem_set(&err, 400, PROBLEM_INVALID_REQUEST,
                    "unknown variant `%s`, expected one of `input`, `resize`, `close`", type);
        goto invalid;
    }
    goto out;
invalid:
    snprintf(msg, sizeof(msg), "invalid terminal frame: %s", err.message);
    send_error(t, msg);
out:
    cJSON_Delete(root);
}

static void term_closed(struct ws_session *ws, void *ctx)
{
    struct term *t = ctx;
    struct proc *p = t->p;

    (void)ws;
    if (t->hangup && !t->detached && p->running) {
        log_info("proc", "%s: its terminal (exec) went away: SIGHUP to the process group", p->id);
        proc_signal(p, SIGHUP);
    }
    for (struct term **pp = &viewers; *pp; pp = &(*pp)->next) {
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    }
    proc_unwatch(p, &t->w);
    throttle(p);
    proc_unref(p);
    free(t);
}

static const struct ws_ops term_ops = {term_message, term_writable, term_closed};

static void term_notify(struct proc_watcher *w, struct proc *p, enum proc_event ev)
{
    struct term *t = (struct term *)w;

    /* New output: stop reading the PTY at once if every viewer is already far behind. */
    if (ev == PROC_EV_OUTPUT)
        throttle(p);
    /* A viewer that stopped reading never gets a writable turn: decide its 1008 here (the
     * close frame waits for it, and the connection goes after LIM_WS_CLOSE_GRACE_S). */
    if (ev == PROC_EV_OUTPUT && close_if_behind(t))
        return;
    ws_want_write(t->ws);
}

struct ws_session *proc_terminal_open(const struct ws_transport *tr, void *conn,
                                      struct http_req *req)
{
    const char *id = http_param(req, 0);
    struct proc *p = id ? proc_find(id) : NULL;
    uint64_t since = UINT64_MAX;
    struct problem err;
    struct term *t;
    cJSON *o;

    if (!p || !p->tty)
        return NULL; /* checked before the upgrade; gone since */
    if (query_u64(http_query(req), "since", UINT64_MAX - 1, &since, &err) < 0)
        since = UINT64_MAX;
    t = xcalloc(1, sizeof(*t));
    if (query_bool(http_query(req), "hangup", &t->hangup, &err) < 0)
        t->hangup = false;
    t->w.notify = term_notify;
    t->p = p;
    proc_ref(p);
    t->ws = ws_session_new(tr, conn, &term_ops, t, LIM_WS_MESSAGE_BYTES);
    t->pos = p->log.produced[PROC_PTY];
    t->after = p->log.next_seq - 1;
    if (since != UINT64_MAX && since < t->pos) {
        /* Replay from byte `since` (or the oldest retained byte). */
        const struct log_entry *e;
        for (e = proc_log_next(&p->log, 0); e; e = proc_log_next(&p->log, e->seq)) {
            if (e->stream == PROC_PTY && e->off + e->len > since)
                break;
        }
        if (e) {
            t->after = e->seq - 1;
            t->skip = since > e->off ? (size_t)(since - e->off) : 0;
            t->pos = e->off + t->skip;
        }
    }
    t->next = viewers;
    viewers = t;
    proc_watch(p, &t->w);
    o = cJSON_CreateObject();
    json_add_string(o, "type", "ready");
    json_add_string(o, "processId", p->id);
    cJSON_AddNumberToObject(o, "offset", (double)p->log.produced[PROC_PTY]);
    send_json(t->ws, o);
    return t->ws;
}
