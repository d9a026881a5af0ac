/*
 * Unit tests for the listener's spin guard (stream/http_conn.c).  First the
 * connection state machine alone, under a request side that asks to write
 * again from inside its own write callback without writing (a bug inside one
 * pass: the guard closes it after LIM_CONN_STUCK_STEPS steps).  Then
 * agentd's real listener (agentd/server.c, stream/http.c): a response source
 * that asks to be called again on every loop turn forever (a bug across
 * passes: closed after LIM_CONN_DRY_PASSES in a second); a slow but honest
 * source (nothing for 20 turns, then bytes) is left alone; and other
 * connections are served throughout.  Last, the WebSocket server side
 * (stream/ws_server.c) under a session that asks for a turn from every turn
 * and never sends: ended after LIM_CONN_DRY_PASSES turns in a second.  The
 * client is a plain non-blocking socket on loopback, the loop runs in this
 * process.
 */
#include "../../agentd/config.h"
#include "../../agentd/router.h"
#include "../../agentd/server.h"
#include "../../stream/http.h"
#include "../../stream/http_conn.h"
#include "../../stream/log.h"
#include "../../stream/ws.h"
#include "../../stream/ws_server.h"
#include "../../stream/xmalloc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <cmocka.h>

static uv_loop_t *loop;
static int port;
static uv_timer_t again_t;
static struct http_req *again_req;
static unsigned reads;

static void on_again(uv_timer_t *t)
{
    struct http_req *req = again_req;

    (void)t;
    again_req = NULL;
    if (http_req_alive(req))
        http_resume(req);
    http_req_unref(req);
}

/* Calls http_resume(req) on the next loop turn. */
static void resume_next_turn(struct http_req *req)
{
    if (again_req)
        return;
    http_req_ref(req);
    again_req = req;
    uv_timer_start(&again_t, on_again, 0, 0);
}

/* Asks to be called again on the next loop turn, forever: the loop would never sleep. */
static ssize_t read_spin_turns(struct http_req *req, void *dst, size_t cap)
{
    (void)dst;
    (void)cap;
    reads++;
    resume_next_turn(req);
    return HTTP_SOURCE_WAIT;
}

/* Honest and slow: nothing for 20 turns, then the body, then the end. */
static ssize_t read_slow(struct http_req *req, void *dst, size_t cap)
{
    (void)cap;
    if (++reads < 20) {
        resume_next_turn(req);
        return HTTP_SOURCE_WAIT;
    }
    if (reads == 20) {
        memcpy(dst, "slow", 4);
        return 4;
    }
    return 0;
}

static const struct http_source_ops spin_turns_ops = {read_spin_turns};
static const struct http_source_ops slow_ops = {read_slow};

static void handle_spin_turns(struct http_req *req)
{
    http_reply_stream(req, 200, "text/plain", -1, &spin_turns_ops);
}
static void handle_slow(struct http_req *req)
{
    http_reply_stream(req, 200, "text/plain", -1, &slow_ops);
}
static void handle_ok(struct http_req *req)
{
    char *body = xmalloc(2);

    memcpy(body, "ok", 2);
    http_reply(req, 200, "text/plain", body, 2);
}

static const struct route routes[] = {
    {HTTP_GET, "/spin-turns", handle_spin_turns, 0},
    {HTTP_GET, "/slow", handle_slow, 0},
    {HTTP_GET, "/ok", handle_ok, 0},
};

/*
 * Sends a GET for path on a new connection and runs the loop until the
 * server closes it (or turns_max turns pass); returns what was read.
 */
static size_t exchange(const char *path, char *out, size_t cap, unsigned turns_max,
                       bool *ret_closed)
{
    struct sockaddr_in sa;
    char req[256];
    size_t len = 0;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), n;

    assert_true(fd >= 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_true(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 || errno == EINPROGRESS);
    n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", path);
    for (unsigned i = 0; i < 100 && send(fd, req, (size_t)n, MSG_NOSIGNAL) < 0; i++)
        uv_run(loop, UV_RUN_NOWAIT); /* the connect completes on the server's accept */
    *ret_closed = false;
    for (unsigned t = 0; t < turns_max && !*ret_closed; t++) {
        ssize_t r;
        uv_run(loop, UV_RUN_NOWAIT);
        while ((r = recv(fd, out + len, cap - 1 - len, MSG_DONTWAIT)) > 0)
            len += (size_t)r;
        if (r == 0 || (r < 0 && errno != EAGAIN))
            *ret_closed = true;
    }
    close(fd);
    out[len] = '\0';
    return len;
}

static int setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    log_set_level(LOG_LVL_ERROR);
    loop = uv_default_loop();
    http_init(loop);
    router_add(routes, sizeof(routes) / sizeof(routes[0]));
    uv_timer_init(loop, &again_t);
    return 0;
}

/* ---- the state machine alone, under a buggy request side ----------------------------------- */

static struct http_conn *fake_conn;
static struct http_req **fake_slot;
static unsigned writables;

static int fake_begin(struct http_conn *c, struct http_head *head, bool parsed,
                      struct http_req **slot, struct problem *err)
{
    (void)parsed;
    (void)err;
    http_head_done(head);
    fake_conn = c;
    fake_slot = slot;
    *slot = (struct http_req *)&fake_conn; /* any non-NULL token */
    return 0;
}
static int fake_body(struct http_req *req, const void *p, size_t n)
{
    (void)req;
    (void)p;
    (void)n;
    return 0;
}
static int fake_body_end(struct http_req *req)
{
    (void)req;
    return 0;
}
/* The bug: asks for another write callback and writes nothing. */
static int fake_writable(struct http_req *req)
{
    (void)req;
    writables++;
    http_conn_want_write(fake_conn);
    return 0;
}
static void fake_detach(struct http_req *req)
{
    (void)req;
    *fake_slot = NULL;
}
static int fake_fail(struct http_req *req, const struct problem *p)
{
    (void)req;
    (void)p;
    return -1;
}
static void fake_describe(const struct http_req *req, char *out, size_t cap)
{
    (void)req;
    snprintf(out, cap, "fake");
}
static const struct http_exchange_ops fake_exchange = {
    fake_begin, fake_body, fake_body_end, fake_writable, fake_detach, fake_fail, fake_describe,
};
static int fake_request(struct http_req *req, const struct problem *bad)
{
    (void)req;
    (void)bad;
    http_conn_want_write(fake_conn);
    return 0;
}
static const struct http_conn_ops fake_ops = {fake_request};

static void on_fake_connection(uv_stream_t *server, int status)
{
    if (status == 0)
        http_conn_accept(server);
}

static void test_spin_within_a_pass(void **state)
{
    static uv_tcp_t listener;
    struct sockaddr_in sa;
    int namelen = sizeof(sa), saved = port;
    char buf[4096];
    unsigned long before = http_conn_stuck_closed();
    bool closed;

    (void)state;
    http_conn_setup(loop, &fake_ops, &fake_exchange);
    uv_tcp_init(loop, &listener);
    uv_ip4_addr("127.0.0.1", 0, &sa);
    assert_int_equal(uv_tcp_bind(&listener, (struct sockaddr *)&sa, 0), 0);
    assert_int_equal(uv_listen((uv_stream_t *)&listener, 16, on_fake_connection), 0);
    uv_tcp_getsockname(&listener, (struct sockaddr *)&sa, &namelen);
    port = ntohs(sa.sin_port);
    exchange("/anything", buf, sizeof(buf), 1000, &closed);
    port = saved;
    uv_close((uv_handle_t *)&listener, NULL);
    assert_true(closed);
    assert_int_equal(http_conn_stuck_closed(), before + 1);
    assert_int_equal(writables, LIM_CONN_STUCK_STEPS);
}

/* ---- agentd's listener ------------------------------------------------------------------------
 */

static int start_server(void **state)
{
    static struct agentd_config cfg;

    (void)state;
    cfg.host = "127.0.0.1";
    return server_start(loop, &cfg, &port);
}

static void test_spin_across_turns(void **state)
{
    char buf[4096];
    unsigned long before = http_conn_stuck_closed();
    bool closed;

    (void)state;
    reads = 0;
    exchange("/spin-turns", buf, sizeof(buf), 100000, &closed);
    assert_true(closed);
    assert_int_equal(http_conn_stuck_closed(), before + 1);
    assert_true(reads > LIM_CONN_DRY_PASSES);
    assert_true(reads < 2 * LIM_CONN_DRY_PASSES + 2);
}

static void test_honest_slow_source_and_others_served(void **state)
{
    char buf[4096];
    unsigned long before = http_conn_stuck_closed();
    bool closed;

    (void)state;
    reads = 0;
    exchange("/slow", buf, sizeof(buf), 100000, &closed);
    assert_true(closed); /* a body of unknown length: the server closes at its end */
    assert_non_null(strstr(buf, "HTTP/1.1 200"));
    assert_non_null(strstr(buf, "slow"));
    exchange("/ok", buf, sizeof(buf), 200, &closed);
    assert_non_null(strstr(buf, "HTTP/1.1 200"));
    assert_non_null(strstr(buf, "\r\n\r\nok"));
    assert_int_equal(http_conn_stuck_closed(), before);
}

/* ---- the WebSocket server side ----------------------------------------------------------------
 */

static unsigned ws_writables;
static bool ws_closed;

static void ws_message(struct ws_session *s, void *ctx, const void *p, size_t n, bool binary)
{
    (void)s;
    (void)ctx;
    (void)p;
    (void)n;
    (void)binary;
}
/* The bug: asks for another turn and sends nothing. */
static void ws_writable(struct ws_session *s, void *ctx)
{
    (void)ctx;
    ws_writables++;
    ws_want_write(s);
}
static void ws_gone(struct ws_session *s, void *ctx)
{
    (void)s;
    (void)ctx;
    ws_closed = true;
}
static const struct ws_ops buggy_ws_ops = {ws_message, ws_writable, ws_gone};

static struct ws_session *open_buggy(const struct ws_transport *tr, void *conn, void *arg)
{
    struct ws_session *s = ws_session_new(tr, conn, &buggy_ws_ops, NULL, 1024);

    (void)arg;
    ws_want_write(s);
    return s;
}

static void test_ws_spin_across_turns(void **state)
{
    static const char key[] = "dGhlIHNhbXBsZSBub25jZQ==";
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    unsigned long before = ws_server_stuck_closed();
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), cfd, sfd;
    char buf[4096];
    bool closed = false;

    (void)state;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(lfd, 1), 0);
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &len), 0);
    cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_int_equal(connect(cfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    sfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    close(lfd);
    assert_true(sfd >= 0);
    assert_int_equal(ws_server_accept(loop, sfd, key, strlen(key), NULL, 0, open_buggy, NULL), 0);
    for (unsigned t = 0; t < 100000 && !closed; t++) {
        ssize_t r;
        uv_run(loop, UV_RUN_NOWAIT);
        while ((r = recv(cfd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
            ;
        closed = r == 0 || (r < 0 && errno != EAGAIN);
    }
    close(cfd);
    for (unsigned t = 0; t < 10 && !ws_closed; t++)
        uv_run(loop, UV_RUN_NOWAIT);
    assert_true(closed);
    assert_true(ws_closed);
    assert_int_equal(ws_server_stuck_closed(), before + 1);
    assert_true(ws_writables > LIM_CONN_DRY_PASSES);
    assert_true(ws_writables < 2 * LIM_CONN_DRY_PASSES + 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spin_within_a_pass),
        cmocka_unit_test_setup(test_spin_across_turns, start_server),
        cmocka_unit_test(test_honest_slow_source_and_others_served),
        cmocka_unit_test(test_ws_spin_across_turns),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
