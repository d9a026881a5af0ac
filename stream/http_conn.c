/*
 * http_conn: the HTTP/1.1 connection state machine (contract in
 * http_conn.h).  Each connection is in one of three phases: waiting for a
 * request head, reading a body, or waiting for its response to finish.  One
 * function, conn_process(), moves a connection forward as far as it can; it
 * is called after a read, after a write completes, and (through the kick
 * list, never recursively) when stream/http.c reports progress from a later
 * callback such as a worker-pool completion.
 */
#include "http_conn.h"

#include "limits.h"
#include "log.h"
#include "sock_write.h"
#include "spin.h"
#include "xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STR(x)  #x
#define XSTR(x) STR(x)

enum phase {
    PH_HEAD, /* waiting for (the rest of) a request head */
    PH_BODY, /* delivering the request body */
    PH_WAIT, /* the request is in; its response is not finished */
};

struct http_conn {
    uv_tcp_t tcp;           /* the client socket */
    uv_timer_t timer;       /* header, idle, body or linger timeout */
    enum phase phase;       /* see above */
    struct http_req *req;   /* the request being served, or NULL */
    char *rx;               /* read buffer (LIM_RX_BUFFER_BYTES), NULL while idle */
    size_t rx_off, rx_len;  /* unconsumed bytes are rx[rx_off..rx_len) */
    struct http_framer fr;  /* where requests begin and end in the input */
    unsigned served;        /* requests started on this connection */
    bool body_off;          /* http_conn_body_flow(false) */
    bool reading;           /* uv_read_start is active */
    unsigned writes;        /* uv_write requests in flight */
    uint64_t written;       /* bytes handed to the socket (progress, for the spin guard) */
    uint64_t received;      /* bytes read from the socket (progress, for the spin guard) */
    struct spin_guard spin; /* passes that moved nothing (stream/spin.h) */
    bool want_write;        /* call http_on_writable() when no write is in flight */
    bool in_process;        /* inside conn_process() */
    bool again;             /* kicked while inside conn_process(): loop once more */
    bool kicked;            /* on the kick list */
    bool shutting;          /* closing: flushing what is queued, then FIN */
    bool lingering;         /* FIN sent: drain input until EOF or timeout */
    bool closing;           /* uv_close started */
    bool refused;           /* past the cap: answered 503, not counted in nconns */
    enum timer_kind { T_NONE, T_HEAD, T_IDLE, T_BODY, T_FLUSH, T_LINGER } timer_kind;
    struct http_conn *kick_next;   /* kick list link */
    struct http_conn *prev, *next; /* all connections */
};

static uv_loop_t *conn_loop;
static const struct http_conn_ops *conn_ops;
static const struct http_exchange_ops *ex; /* the request side: stream/http.c */
static struct http_conn *conns;
static size_t nconns;
static struct http_conn *kick_head, *kick_tail; /* FIFO: writes go out in the order asked */
static uv_idle_t kick_idle;
static bool kick_ready;

/* The timeouts in force: stream/limits.h, or AGENTD_{HEADER,BODY,KEEPALIVE}_TIMEOUT_MS. */
static uint64_t header_ms = LIM_HEADER_TIMEOUT_MS, body_ms = LIM_BODY_IDLE_MS,
                idle_ms = LIM_KEEPALIVE_IDLE_MS;
static size_t nrefused;
static unsigned long nstuck; /* connections closed by the no-progress guard */
/* The connection cap: LIM_CONNECTIONS, or lower with AGENTD_MAX_CONNECTIONS. */
static size_t max_conns = LIM_CONNECTIONS;
/* More than half the slots are in use: idle keep-alive connections get LIM_KEEPALIVE_BUSY_MS
 * (set when crossing half, cleared below a quarter, so the walk below is rare). */
static bool busy_mode;

static void set_timer(struct http_conn *c, enum timer_kind kind, uint64_t ms);
static void on_timeout(uv_timer_t *t);

/* Re-arms the idle timers of connections already waiting, when slots start to run short. */
static void check_pressure(void)
{
    if (!busy_mode && nconns > max_conns / 2) {
        busy_mode = true;
        log_info("http", "%zu of %zu connections open: idle keep-alives now close after %d ms",
                 nconns, max_conns, LIM_KEEPALIVE_BUSY_MS);
        for (struct http_conn *c = conns; c; c = c->next)
            if (c->timer_kind == T_IDLE && idle_ms > LIM_KEEPALIVE_BUSY_MS)
                uv_timer_start(&c->timer, on_timeout, LIM_KEEPALIVE_BUSY_MS, 0);
    } else if (busy_mode && nconns < max_conns / 4) {
        busy_mode = false;
    }
}

/* A positive number from the environment, at most max, into *v (untouched otherwise). */
static void env_number(const char *name, const char *unit, uint64_t max, uint64_t *v)
{
    const char *e = getenv(name);
    char *end;
    unsigned long long n;

    if (!e || !*e)
        return;
    n = strtoull(e, &end, 10);
    if (*end || n == 0 || n > max)
        log_warn("http", "ignoring %s='%s' (a number of %s, at most %llu)", name, e, unit,
                 (unsigned long long)max);
    else
        *v = n;
}

static void conn_process(struct http_conn *c);
static void conn_close(struct http_conn *c);
static void conn_update(struct http_conn *c);

static void on_kick(uv_idle_t *h)
{
    /* Only the connections kicked before this turn: one kicked again waits for the next. */
    struct http_conn *list = kick_head;

    (void)h;
    kick_head = kick_tail = NULL;
    while (list) {
        struct http_conn *c = list;
        list = c->kick_next;
        c->kicked = false;
        c->kick_next = NULL;
        if (!c->closing)
            conn_process(c);
    }
    if (!kick_head)
        uv_idle_stop(&kick_idle);
}

static void kick(struct http_conn *c)
{
    if (c->in_process) {
        c->again = true;
        return;
    }
    if (c->kicked || c->closing)
        return;
    c->kicked = true;
    c->kick_next = NULL;
    if (kick_tail)
        kick_tail->kick_next = c;
    else
        kick_head = c;
    kick_tail = c;
    uv_idle_start(&kick_idle, on_kick);
}

void http_conn_setup(uv_loop_t *loop, const struct http_conn_ops *ops,
                     const struct http_exchange_ops *exchange)
{
    ex = exchange;
    conn_loop = loop;
    conn_ops = ops;
    {
        const uint64_t day = 24ull * 3600 * 1000;
        uint64_t n = max_conns;
        env_number("AGENTD_HEADER_TIMEOUT_MS", "milliseconds", day, &header_ms);
        env_number("AGENTD_BODY_TIMEOUT_MS", "milliseconds", day, &body_ms);
        env_number("AGENTD_KEEPALIVE_TIMEOUT_MS", "milliseconds", day, &idle_ms);
        env_number("AGENTD_MAX_CONNECTIONS", "connections", LIM_CONNECTIONS, &n);
        max_conns = (size_t)n;
    }
    if (!kick_ready) {
        uv_idle_init(loop, &kick_idle);
        uv_unref((uv_handle_t *)&kick_idle);
        kick_ready = true;
    }
}

/* ---- closing ---------------------------------------------------------------------------- */

static void on_closed(uv_handle_t *h)
{
    struct http_conn *c = h->data;

    if (h != (uv_handle_t *)&c->tcp)
        return; /* the timer: freed with the socket's callback below */
    free(c->rx);
    free(c);
}

static void on_timer_closed(uv_handle_t *h)
{
    struct http_conn *c = h->data;

    uv_close((uv_handle_t *)&c->tcp, on_closed);
}

/* Closes at once: the request (if any) is aborted, unsent bytes are dropped. */
static void conn_close(struct http_conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    if (c->req)
        ex->detach(c->req); /* clears c->req through the slot */
    if (c->prev)
        c->prev->next = c->next;
    else
        conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    if (c->refused) {
        nrefused--;
    } else {
        nconns--;
        check_pressure();
    }
    if (c->kicked) {
        struct http_conn *prev = NULL;
        for (struct http_conn *k = kick_head; k; prev = k, k = k->kick_next) {
            if (k != c)
                continue;
            if (prev)
                prev->kick_next = c->kick_next;
            else
                kick_head = c->kick_next;
            if (kick_tail == c)
                kick_tail = prev;
            break;
        }
        c->kicked = false;
    }
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->timer, on_timer_closed);
}

static void on_shutdown(uv_shutdown_t *sr, int status)
{
    struct http_conn *c = sr->data;

    free(sr);
    (void)status;
    if (c->closing)
        return;
    /* Keep reading (and dropping) until the client closes too, so that unread request bytes
     * do not make the kernel reset the connection before the client has read our reply. */
    c->lingering = true;
    conn_update(c);
}

/*
 * Ends the connection gracefully: the request is released, what is queued
 * is sent, then FIN, then input is drained for a short while.
 */
static void conn_shutdown(struct http_conn *c)
{
    uv_shutdown_t *sr;

    if (c->closing || c->shutting)
        return;
    if (c->req)
        ex->detach(c->req);
    c->phase = PH_WAIT;
    c->want_write = false;
    sr = xmalloc(sizeof(*sr));
    sr->data = c;
    if (uv_shutdown(sr, (uv_stream_t *)&c->tcp, on_shutdown) < 0) {
        free(sr);
        conn_close(c);
        return;
    }
    c->shutting = true;
    conn_update(c);
}

void http_conn_close_all(void)
{
    while (conns)
        conn_close(conns);
}

/* ---- timers ----------------------------------------------------------------------------- */

static void on_timeout(uv_timer_t *t)
{
    struct http_conn *c = t->data;
    struct problem p;

    switch (c->timer_kind) {
    case T_HEAD:
        if (c->rx_len > c->rx_off && !c->req) {
            struct http_req *req = NULL;
            problem_set(&p, 408, PROBLEM_TIMEOUT,
                        "the request head was not complete within %llu ms",
                        (unsigned long long)header_ms);
            ex->begin(c, NULL, false, &c->req, &p);
            req = c->req;
            c->phase = PH_WAIT;
            if (conn_ops->request(req, &p) < 0 || !c->req)
                conn_shutdown(c);
            return;
        }
        conn_close(c);
        return;
    case T_IDLE:
        conn_close(c);
        return;
    case T_BODY:
        /* Answered if nothing was sent yet, then closed: the upload is released either way. */
        log_info("http", "closing a connection whose request body stalled for %llu ms",
                 (unsigned long long)body_ms);
        if (c->req) {
            problem_set(&p, 408, PROBLEM_TIMEOUT,
                        "no request body bytes arrived for %llu ms; the request is discarded",
                        (unsigned long long)body_ms);
            (void)ex->fail(c->req, &p);
        }
        conn_shutdown(c);
        return;
    case T_FLUSH:
    case T_LINGER:
    case T_NONE:
        conn_close(c);
        return;
    }
}

static void set_timer(struct http_conn *c, enum timer_kind kind, uint64_t ms)
{
    if (c->timer_kind == kind && kind != T_BODY)
        return; /* a running head/idle/linger deadline is not pushed back by more bytes */
    c->timer_kind = kind;
    if (kind == T_NONE)
        uv_timer_stop(&c->timer);
    else
        uv_timer_start(&c->timer, on_timeout, ms, 0);
}

/* ---- reading ---------------------------------------------------------------------------- */

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    struct http_conn *c = h->data;

    (void)hint;
    if (!c->rx)
        c->rx = xmalloc(LIM_RX_BUFFER_BYTES);
    if (c->shutting) {
        c->rx_off = c->rx_len = 0; /* dropped */
    } else if (c->rx_off) {
        /* Nothing points into the consumed part (heads are copied, bodies delivered at
         * once), and the scan position is relative to rx_off. */
        memmove(c->rx, c->rx + c->rx_off, c->rx_len - c->rx_off);
        c->rx_len -= c->rx_off;
        c->rx_off = 0;
    }
    b->base = c->rx + c->rx_len;
    b->len = LIM_RX_BUFFER_BYTES - c->rx_len;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct http_conn *c = s->data;

    (void)b;
    if (c->closing)
        return;
    if (n < 0) {
        conn_close(c);
        return;
    }
    if (c->shutting)
        return;
    c->rx_len += (size_t)n;
    c->received += (uint64_t)n;
    conn_process(c);
}

/* Reads when there is room and a use for the bytes; arms the timer for the phase. */
static void conn_update(struct http_conn *c)
{
    bool want, room;

    if (c->closing)
        return;
    room = !c->rx || c->rx_len - c->rx_off < LIM_RX_BUFFER_BYTES;
    if (c->shutting)
        want = true;
    else if (c->phase == PH_BODY)
        want = !c->body_off && room;
    else
        want = room;
    if (want && !c->reading) {
        if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0)
            c->reading = true;
    } else if (!want && c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
    }

    if (c->lingering) {
        set_timer(c, T_LINGER, LIM_LINGER_MS);
    } else if (c->shutting) {
        set_timer(c, T_FLUSH, body_ms);
    } else if (c->phase == PH_HEAD) {
        bool partial = c->rx_len > c->rx_off;
        if (partial || c->served == 0) {
            set_timer(c, T_HEAD, header_ms);
        } else {
            bool busy = busy_mode;
            set_timer(c, T_IDLE,
                      busy && idle_ms > LIM_KEEPALIVE_BUSY_MS ? LIM_KEEPALIVE_BUSY_MS : idle_ms);
        }
        if (!partial && c->rx && !c->req) {
            /* Idle: give the read buffer back. */
            free(c->rx);
            c->rx = NULL;
            c->rx_off = c->rx_len = 0;
        }
    } else if (c->phase == PH_BODY && !c->body_off) {
        set_timer(c, T_BODY, body_ms); /* restarted after every read */
    } else {
        set_timer(c, T_NONE, 0);
    }
}

/* ---- the state machine ------------------------------------------------------------------ */

/* A stream that cannot be read further: the request (if one parsed) is answered with p. */
static int refuse(struct http_conn *c, struct http_frame *fr, struct problem *p)
{
    if (c->req) /* inside a body: answer if we still can; the connection closes either way */
        return ex->fail(c->req, p);
    ex->begin(c, fr->head_parsed ? &fr->head : NULL, false, &c->req, p);
    http_head_done(&fr->head);
    c->phase = PH_WAIT;
    return conn_ops->request(c->req, p);
}

/*
 * One framer step over the buffered input, acted on.  Returns 1 when progress
 * was made, 0 when more input is needed (or delivery is paused), -1 to close.
 */
static int step(struct http_conn *c)
{
    struct http_frame fr;
    struct problem p;

    if (c->phase == PH_BODY && (c->body_off || !c->req))
        return c->req ? 0 : -1;
    http_framer_step(&c->fr, c->rx + c->rx_off, c->rx_len - c->rx_off, &fr, &p);
    c->rx_off += fr.used;
    switch (fr.kind) {
    case HTTP_FRAME_MORE:
        return fr.used ? 1 : 0;
    case HTTP_FRAME_IDLE:
        return 0;
    case HTTP_FRAME_ERROR:
        return refuse(c, &fr, &p) < 0 ? -1 : 0;
    case HTTP_FRAME_HEAD:
        c->served++;
        c->body_off = false;
        if (ex->begin(c, &fr.head, true, &c->req, &p) < 0) {
            c->phase = PH_WAIT;
            return conn_ops->request(c->req, &p) < 0 ? -1 : 1;
        }
        c->phase = fr.end ? PH_WAIT : PH_BODY;
        return conn_ops->request(c->req, NULL) < 0 ? -1 : 1;
    case HTTP_FRAME_BODY:
        if (fr.len && ex->body(c->req, fr.data, fr.len) < 0)
            return -1;
        if (fr.end) {
            c->phase = PH_WAIT;
            if (c->req && ex->body_end(c->req) < 0)
                return -1;
        }
        return 1;
    }
    return 0;
}

/* A connection that makes no progress is a bug in agentd, not a client: logged and closed. */
static void conn_stuck(struct http_conn *c, const char *how)
{
    char what[128] = "-";

    if (c->req)
        ex->describe(c->req, what, sizeof(what));
    log_error("http", "a connection made no progress %s (%s): closing it", how, what);
    nstuck++;
    conn_close(c);
}

unsigned long http_conn_stuck_closed(void)
{
    return nstuck;
}

/*
 * Moves c forward as far as it can, for at most LIM_CONN_STEPS_PER_TURN
 * steps (then it yields to other connections and continues on the next loop
 * turn).  Two guards keep a bug from spinning the loop: LIM_CONN_STUCK_STEPS
 * steps in a row that consume no input, write no output and change no phase,
 * or more than LIM_CONN_DRY_PASSES passes in one second that do nothing at
 * all (a connection kicked again and again), close the connection.
 */
static void conn_process(struct http_conn *c)
{
    unsigned steps = 0, stuck = 0;
    bool yield = false;
    uint64_t progress;
    int r = 1;

    if (c->in_process || c->closing)
        return;
    c->in_process = true;
    while (!c->closing && !c->shutting) {
        size_t off0 = c->rx_off;
        uint64_t written0 = c->written;
        enum phase phase0 = c->phase;
        struct http_req *req0 = c->req;

        if (++steps > LIM_CONN_STEPS_PER_TURN) {
            yield = true;
            break;
        }
        if (c->want_write && !c->writes) {
            c->want_write = false;
            if (c->req && ex->writable(c->req) < 0) {
                r = -1;
                break;
            }
            r = 1;
        } else {
            r = c->phase == PH_WAIT ? 0 : step(c);
            if (r < 0 || (r == 0 && !c->again))
                break;
            c->again = false;
        }
        if (c->rx_off != off0 || c->written != written0 || c->phase != phase0 || c->req != req0) {
            stuck = 0;
        } else if (++stuck >= LIM_CONN_STUCK_STEPS) {
            c->in_process = false;
            conn_stuck(c, "in " XSTR(LIM_CONN_STUCK_STEPS) " steps");
            return;
        }
    }
    c->again = false;
    c->in_process = false;
    if (c->closing)
        return;
    progress = c->received + c->written + c->rx_off + (uint64_t)c->served;
    if (spin_guard_pass(&c->spin, progress, uv_now(conn_loop))) {
        conn_stuck(c, "in " XSTR(LIM_CONN_DRY_PASSES) " passes within a second");
        return;
    }
    if (r < 0)
        conn_shutdown(c);
    else if (yield)
        kick(c);
    conn_update(c);
}

/* ---- accepting -------------------------------------------------------------------------- */

#define BUSY_BODY                                                                                  \
    "{\"type\":\"urn:sandbox-agent:error:stream_error\",\"title\":\"Service Unavailable\","        \
    "\"status\":503,\"detail\":\"too many open connections; close idle ones or retry in a "        \
    "moment\"}"
#define BUSY_HEAD                                                                                  \
    "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/problem+json\r\n"               \
    "connection: close\r\ncontent-length: "
static char busy_reply[sizeof(BUSY_HEAD) + sizeof(BUSY_BODY) + 16];
static size_t busy_len;

void http_conn_accept(uv_stream_t *server)
{
    struct http_conn *c;
    bool refused = nconns >= max_conns;

    if (refused) {
        log_warn("http", "%zu connections open (the limit): refusing one with 503", nconns);
        if (nrefused >= LIM_REFUSED_LINGERING) {
            /* A flood: no answer, no linger, just the slot back. */
            uv_tcp_t *t = xmalloc(sizeof(*t));
            uv_tcp_init(conn_loop, t);
            uv_accept(server, (uv_stream_t *)t);
            uv_close((uv_handle_t *)t, (uv_close_cb)free);
            return;
        }
    }
    c = xcalloc(1, sizeof(*c));
    uv_tcp_init(conn_loop, &c->tcp);
    uv_timer_init(conn_loop, &c->timer);
    c->tcp.data = c;
    c->timer.data = c;
    if (!busy_len)
        busy_len = (size_t)snprintf(busy_reply, sizeof(busy_reply), "%s%zu\r\n\r\n%s", BUSY_HEAD,
                                    sizeof(BUSY_BODY) - 1, BUSY_BODY);
    if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0) {
        c->closing = true;
        uv_close((uv_handle_t *)&c->timer, on_timer_closed);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    c->next = conns;
    if (conns)
        conns->prev = c;
    conns = c;
    c->phase = PH_HEAD;
    http_framer_init(&c->fr);
    if (refused) {
        /* Answered at once, then FIN and a short drain, so that the client reads the 503
         * instead of a reset (its request bytes are never parsed). */
        c->refused = true;
        nrefused++;
        c->phase = PH_WAIT;
        if (http_conn_write(c, busy_reply, busy_len) < 0)
            conn_close(c);
        else
            conn_shutdown(c);
        return;
    }
    nconns++;
    check_pressure();
    conn_update(c);
}

/* ---- for stream/http.c ------------------------------------------------------------------ */

static void on_written(void *owner, int status)
{
    struct http_conn *c = owner;

    c->writes--;
    if (c->closing)
        return;
    if (status < 0) {
        conn_close(c);
        return;
    }
    if (c->want_write && !c->writes)
        conn_process(c);
}

int http_conn_write(struct http_conn *c, const void *p, size_t n)
{
    enum sock_write_result r;

    if (c->closing || c->shutting)
        return -1;
    if (n == 0)
        return 0;
    r = sock_write((uv_stream_t *)&c->tcp, p, n, !c->writes, on_written, c);
    if (r == SOCK_WRITE_ERROR)
        return -1;
    c->writes += r == SOCK_WRITE_QUEUED;
    c->written += n;
    return 0;
}

bool http_conn_choked(const struct http_conn *c)
{
    return c->writes > 0;
}

void http_conn_want_write(struct http_conn *c)
{
    c->want_write = true;
    if (!c->writes)
        kick(c);
}

void http_conn_body_flow(struct http_conn *c, bool on)
{
    if (c->body_off == !on)
        return;
    c->body_off = !on;
    if (on)
        kick(c);
    else if (!c->in_process)
        conn_update(c);
}

void http_conn_next(struct http_conn *c)
{
    c->phase = PH_HEAD;
    http_framer_next(&c->fr);
    c->want_write = false;
    kick(c);
}

int http_conn_handoff(struct http_conn *c, int *ret_fd, char **ret_bytes, size_t *ret_len)
{
    uv_os_fd_t fd;
    size_t rest;
    char *bytes;
    int nfd;

    if (!c || uv_fileno((uv_handle_t *)&c->tcp, &fd) < 0)
        return -EBADF;
    nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (nfd < 0) {
        int e = -errno;
        conn_close(c);
        return e;
    }
    rest = c->rx_len - c->rx_off;
    bytes = xmalloc(rest + 1);
    if (rest)
        memcpy(bytes, c->rx + c->rx_off, rest);
    /* The socket now belongs to the caller. */
    conn_close(c);
    *ret_fd = nfd;
    *ret_bytes = bytes;
    *ret_len = rest;
    return 0;
}
