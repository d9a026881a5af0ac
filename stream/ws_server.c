/*
 * ws_server: a WebSocket connection on our own socket.  At most one write
 * is in flight; a "turn" (from a uv_idle, never from inside a caller)
 * writes the next frame: a pending pong first, then the session's next
 * message, then, once the session is closing and has nothing left, the
 * Close frame.  The connection ends (uv_close) when both sides have sent
 * Close and ours is written, on EOF or a socket error, or when the grace
 * timer started by the first Close (ours or theirs) fires.
 */
#include "ws_server.h"

#include "limits.h"
#include "log.h"
#include "sock_write.h"
#include "spin.h"
#include "ws_frame.h"
#include "xmalloc.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct ws_conn {
    uv_tcp_t tcp;
    uv_idle_t turn;
    uv_timer_t grace;
    uv_shutdown_t shut;
    struct ws_conn *next; /* all connections */
    struct ws_session *s;
    struct ws_parser parser;
    unsigned handles; /* open libuv handles */
    bool writing;     /* a uv_write is in flight */
    bool want;        /* the session wants a turn */
    bool pong_due;
    unsigned char pong[125];
    size_t pong_len;
    int close_code; /* ours, once closing: sent when the session has drained */
    char close_reason[124];
    bool close_sent;  /* our Close frame is written (or being written) */
    bool peer_closed; /* theirs has arrived: parse nothing more */
    bool discard;     /* a fault: parse nothing more, drop what comes until EOF or the grace */
    bool ending;      /* uv_close has been called */
    uint64_t moved;   /* bytes read and written (progress, for the spin guard) */
    struct spin_guard spin;
};

static struct ws_conn *conns;
static unsigned nconns;
static unsigned long nstuck; /* connections ended by the spin guard */

static const struct ws_transport transport;

static void on_turn(uv_idle_t *h);

static void conn_handle_closed(uv_handle_t *h)
{
    struct ws_conn *c = h->data, **pp;

    if (--c->handles)
        return;
    for (pp = &conns; *pp != c; pp = &(*pp)->next)
        ;
    *pp = c->next;
    nconns--;
    ws_parser_done(&c->parser);
    free(c);
}

/* Ends the connection now; the session learns it first. */
static void conn_end(struct ws_conn *c)
{
    if (c->ending)
        return;
    c->ending = true;
    if (c->s) {
        struct ws_session *s = c->s;
        c->s = NULL;
        ws_on_closed(s);
    }
    uv_close((uv_handle_t *)&c->tcp, conn_handle_closed);
    uv_close((uv_handle_t *)&c->turn, conn_handle_closed);
    uv_close((uv_handle_t *)&c->grace, conn_handle_closed);
}

static void grace_expired(uv_timer_t *t)
{
    struct ws_conn *c = t->data;

    log_debug("ws", "close handshake not completed within %d s: connection dropped",
              LIM_WS_CLOSE_GRACE_S);
    conn_end(c);
}

static void start_grace(struct ws_conn *c)
{
    if (!uv_is_active((uv_handle_t *)&c->grace))
        uv_timer_start(&c->grace, grace_expired, LIM_WS_CLOSE_GRACE_S * 1000, 0);
}

static void kick(struct ws_conn *c)
{
    if (!c->ending)
        uv_idle_start(&c->turn, on_turn);
}

static void on_written(void *owner, int status)
{
    struct ws_conn *c = owner;

    c->writing = false;
    if (c->ending)
        return;
    if (status < 0) {
        conn_end(c);
        return;
    }
    if (c->close_sent && c->peer_closed) {
        conn_end(c);
        return;
    }
    kick(c);
}

/* Writes (p, n): at once if the socket takes it all, else the rest is queued. */
static int conn_write(struct ws_conn *c, const unsigned char *p, size_t n)
{
    c->moved += n;
    switch (sock_write((uv_stream_t *)&c->tcp, p, n, true, on_written, c)) {
    case SOCK_WRITE_DONE:
        kick(c); /* the next turn, as on_written would */
        return 0;
    case SOCK_WRITE_QUEUED:
        c->writing = true;
        return 0;
    default:
        return -1;
    }
}

/* A frame whose payload fits in a small buffer (control frames). */
static int write_small(struct ws_conn *c, enum ws_opcode op, const void *p, size_t n)
{
    unsigned char frame[10 + 125];
    size_t h = ws_frame_header(frame, op, n);

    memcpy(frame + h, p, n);
    return conn_write(c, frame, h + n);
}

static int write_close(struct ws_conn *c)
{
    unsigned char payload[2 + sizeof(c->close_reason)];
    size_t rl = strlen(c->close_reason);

    c->close_sent = true;
    start_grace(c);
    if (c->close_code == WS_CLOSE_NO_STATUS)
        return write_small(c, WS_OP_CLOSE, "", 0);
    payload[0] = (unsigned char)(c->close_code >> 8);
    payload[1] = (unsigned char)(c->close_code & 0xff);
    memcpy(payload + 2, c->close_reason, rl);
    return write_small(c, WS_OP_CLOSE, payload, 2 + rl);
}

/* One frame, if the socket can take it. */
static void on_turn(uv_idle_t *h)
{
    struct ws_conn *c = h->data;
    int r = 0;

    uv_idle_stop(&c->turn);
    if (c->ending || c->writing)
        return;
    if (c->close_sent) {
        if (c->peer_closed)
            conn_end(c);
        return;
    }
    if (c->pong_due) {
        c->pong_due = false;
        r = write_small(c, WS_OP_PONG, c->pong, c->pong_len);
    } else if (c->s && (c->want || c->close_code)) {
        c->want = false;
        r = ws_on_writable(c->s);
        /* Closing and nothing left: the Close frame. */
        if (r == 0 && c->close_code)
            r = write_close(c);
    } else if (c->close_code) {
        r = write_close(c);
        /*
         * After a fault: FIN once the Close frame is out (uv_shutdown waits for
         * it) and drop what the peer still sends until its EOF, so it reads
         * our Close instead of a reset, and goes away at once.
         */
        if (r == 0 && c->discard && uv_shutdown(&c->shut, (uv_stream_t *)&c->tcp, NULL) < 0)
            r = -1;
    }
    if (r < 0) {
        conn_end(c);
        return;
    }
    /*
     * The spin guard (stream/spin.h, as the HTTP listener's): a session that
     * asks for turn after turn and never writes, while nothing is read, is a
     * bug that would keep the loop from sleeping.  It is logged and ended.
     */
    if (!c->ending && spin_guard_pass(&c->spin, c->moved, uv_now(c->tcp.loop))) {
        log_error("ws",
                  "a WebSocket connection made no progress in %d turns within a second: closing it",
                  LIM_CONN_DRY_PASSES);
        nstuck++;
        conn_end(c);
    }
}

unsigned long ws_server_stuck_closed(void)
{
    return nstuck;
}

/*
 * Closes with code now (a protocol fault, or the peer's Close echoed): the
 * session ends here and its queue is dropped; the Close frame goes out
 * after any frame in flight.
 */
static void close_now(struct ws_conn *c, int code, const char *reason)
{
    if (c->close_sent || c->ending)
        return;
    c->close_code = code;
    snprintf(c->close_reason, sizeof(c->close_reason), "%s", reason);
    c->want = false;
    c->pong_due = false;
    start_grace(c);
    if (c->s) {
        struct ws_session *s = c->s;
        c->s = NULL;
        ws_on_closed(s);
    }
    kick(c);
}

static void on_event(struct ws_conn *c, const struct ws_event *ev)
{
    switch (ev->op) {
    case WS_OP_TEXT:
    case WS_OP_BINARY:
        if (c->s && !c->close_code)
            ws_deliver(c->s, ev->data, ev->len, ev->op == WS_OP_BINARY);
        break;
    case WS_OP_PING:
        /* Only the latest ping needs its pong (RFC 6455 5.5.3). */
        memcpy(c->pong, ev->data, ev->len);
        c->pong_len = ev->len;
        c->pong_due = true;
        kick(c);
        break;
    case WS_OP_PONG:
        break;
    case WS_OP_CLOSE:
        /* Whatever follows is read and dropped (a peer still writing is not reset). */
        c->peer_closed = true;
        if (c->close_sent) {
            if (!c->writing)
                conn_end(c);
            break;
        }
        /* Echo their code (RFC 6455 5.5.1); the session's queue is dropped. */
        close_now(c, ev->close_code == WS_CLOSE_NO_STATUS ? WS_CLOSE_NO_STATUS : ev->close_code,
                  "");
        break;
    default:
        break;
    }
}

static void feed(struct ws_conn *c, const unsigned char *p, size_t n)
{
    struct ws_event ev;
    size_t used;
    int r;

    while (n && !c->ending && !c->peer_closed && !c->discard) {
        r = ws_parse(&c->parser, p, n, &used, &ev);
        p += used;
        n -= used;
        if (r < 0) {
            log_debug("ws", "client frame refused (%d): %s", c->parser.error, c->parser.reason);
            /*
             * Nothing more is parsed; the rest is read and dropped until the
             * peer closes or the grace ends, so that it sees our Close frame
             * instead of a reset, and a peer still writing is not blocked.
             */
            c->discard = true;
            close_now(c, c->parser.error, c->parser.reason);
            return;
        }
        if (r == 0)
            return;
        on_event(c, &ev);
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    static char rx[65536];

    b->base = rx;
    b->len = sizeof(rx);
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
    struct ws_conn *c = st->data;

    if (n < 0) {
        conn_end(c);
        return;
    }
    c->moved += (uint64_t)n;
    feed(c, (const unsigned char *)b->base, (size_t)n);
}

/* ---- the transport a session sees ----------------------------------------------------------- */

static void tr_want_write(void *conn)
{
    struct ws_conn *c = conn;

    c->want = true;
    if (!c->writing)
        kick(c);
}

static int tr_write(void *conn, unsigned char *p, size_t n, bool binary)
{
    struct ws_conn *c = conn;
    unsigned char hdr[10];
    size_t h = ws_frame_header(hdr, binary ? WS_OP_BINARY : WS_OP_TEXT, n);

    /* The header goes in the headroom: one contiguous write. */
    memcpy(p - h, hdr, h);
    return conn_write(c, p - h, n + h);
}

static void tr_close(void *conn, int code, const char *reason)
{
    struct ws_conn *c = conn;

    if (c->close_code || c->close_sent)
        return;
    c->close_code = code;
    snprintf(c->close_reason, sizeof(c->close_reason), "%s", reason);
    /* A peer that stopped reading never lets the Close frame out: the grace bounds it. */
    start_grace(c);
    if (!c->writing)
        kick(c);
}

static const struct ws_transport transport = {tr_want_write, tr_write, tr_close};

/* ---- accept ---------------------------------------------------------------------------------- */

static void free_on_close(uv_handle_t *h)
{
    free(h->data);
}

int ws_server_accept(uv_loop_t *loop, int fd, const char *key, size_t key_len, const void *rest,
                     size_t rest_len, ws_server_open_fn open, void *arg)
{
    struct ws_conn *c = xcalloc(1, sizeof(*c));
    char accept[29], resp[160];
    int r, n;

    uv_tcp_init(loop, &c->tcp);
    c->tcp.data = c;
    r = uv_tcp_open(&c->tcp, fd);
    if (r < 0) {
        close(fd);
        uv_close((uv_handle_t *)&c->tcp, free_on_close);
        return r;
    }
    uv_idle_init(loop, &c->turn);
    c->turn.data = c;
    uv_timer_init(loop, &c->grace);
    c->grace.data = c;
    c->handles = 3;
    c->next = conns;
    conns = c;
    nconns++;
    uv_tcp_nodelay(&c->tcp, 1);

    ws_accept_key(key, key_len, accept);
    n = snprintf(resp, sizeof(resp),
                 "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: "
                 "Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                 accept);
    if (conn_write(c, (const unsigned char *)resp, (size_t)n) < 0) {
        conn_end(c);
        return -EPIPE;
    }
    c->s = open(&transport, c, arg);
    if (!c->s) {
        close_now(c, 1011, "the session could not start");
        return 0;
    }
    ws_parser_init(&c->parser, ws_max_message(c->s));
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    feed(c, rest, rest_len);
    return 0;
}

unsigned ws_server_count(void)
{
    return nconns;
}

void ws_server_close_all(void)
{
    struct ws_conn *c, *next;

    for (c = conns; c; c = next) {
        next = c->next;
        conn_end(c);
    }
}
