/*
 * Unit tests for the mock ACP agent's core (adapters/mock_agent.c,
 * mock_turn.c), driven without stdio: line framing across chunk borders,
 * the line limit, the schedule of a slow prompt (timeout, tick, cancel),
 * a permission that waits for its answer (no timeout) and is cancelled at
 * EOF, and that EOF never leaves a turn running.
 */
#include "../../adapters/mock_agent.h"

#include <cjson/cJSON.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define MAX_OUT 512

struct capture {
    size_t n;            /* messages captured */
    cJSON *msg[MAX_OUT]; /* parsed */
};

static void capture_write(void *arg, const char *msg, size_t len)
{
    struct capture *c = arg;
    cJSON *m = cJSON_ParseWithLength(msg, len);

    assert_non_null(m);
    assert_null(memchr(msg, '\n', len));
    assert_true(c->n < MAX_OUT);
    c->msg[c->n++] = m;
}

static void capture_done(struct capture *c)
{
    for (size_t i = 0; i < c->n; i++)
        cJSON_Delete(c->msg[i]);
    c->n = 0;
}

static struct mock_agent *agent(struct capture *c, size_t max_line, unsigned delay)
{
    struct mock_agent_opts o = {capture_write, c, max_line, delay};

    memset(c, 0, sizeof(*c));
    return mock_agent_new(&o);
}

static void feed(struct mock_agent *a, const char *s)
{
    mock_agent_feed(a, s, strlen(s));
}

static const char *str(const cJSON *o, const char *path1, const char *path2)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, path1);

    if (path2)
        v = cJSON_GetObjectItemCaseSensitive(v, path2);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The last message that responds to id (a number). */
static const cJSON *response(const struct capture *c, int id)
{
    for (size_t i = c->n; i-- > 0;) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(c->msg[i], "id");

        if (cJSON_IsNumber(v) && v->valueint == id &&
            !cJSON_GetObjectItemCaseSensitive(c->msg[i], "method"))
            return c->msg[i];
    }
    return NULL;
}

static size_t count_updates(const struct capture *c, const char *kind)
{
    size_t n = 0;

    for (size_t i = 0; i < c->n; i++) {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(c->msg[i], "params");
        const char *k = str(p, "update", "sessionUpdate");

        if (k && strcmp(k, kind) == 0)
            n++;
    }
    return n;
}

static const char new_session[] =
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"session/new\",\"params\":{\"cwd\":\"/\"}}\n";

static void test_framing_any_chunking(void **state)
{
    const char *input = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"authenticate\"}\r\n\n"
                        "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"authenticate\"}\n";
    struct capture c;
    struct mock_agent *a = agent(&c, 0, 0);

    /* One byte at a time gives the same two answers as one write. */
    for (size_t i = 0; input[i]; i++)
        mock_agent_feed(a, input + i, 1);
    assert_int_equal(c.n, 2);
    assert_non_null(response(&c, 1));
    assert_non_null(response(&c, 2));
    mock_agent_free(a);
    capture_done(&c);
}

static void test_line_limit(void **state)
{
    char line[200];
    struct capture c;
    struct mock_agent *a = agent(&c, 64, 0);
    const cJSON *err;

    memset(line, 'x', sizeof(line));
    /* An over-long line in pieces: one error as soon as it passes the limit, none later. */
    mock_agent_feed(a, line, 50);
    assert_int_equal(c.n, 0);
    mock_agent_feed(a, line, 50);
    assert_int_equal(c.n, 1);
    mock_agent_feed(a, line, sizeof(line));
    feed(a, "\n{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"authenticate\"}\n");
    assert_int_equal(c.n, 2);
    err = cJSON_GetObjectItemCaseSensitive(c.msg[0], "error");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(err, "code")->valueint, -32700);
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(c.msg[0], "id")));
    assert_non_null(strstr(str(err, "message", NULL), "longer than 64 bytes"));
    assert_non_null(response(&c, 3));
    mock_agent_free(a);
    capture_done(&c);
}

static void test_slow_prompt_schedule_and_cancel(void **state)
{
    struct capture c;
    struct mock_agent *a = agent(&c, 0, 60000);
    const cJSON *r;

    feed(a, new_session);
    feed(a, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"session/prompt\",\"params\":{\"sessionId\":"
            "\"mock-session-1\",\"prompt\":[{\"type\":\"text\",\"text\":\"go slow\"}]}}\n");
    /* The first update goes at once, the next one only after the delay. */
    assert_int_equal(count_updates(&c, "user_message_chunk"), 1);
    assert_true(mock_agent_busy(a));
    assert_true(mock_agent_timeout(a) > 50000);
    mock_agent_tick(a);
    assert_int_equal(count_updates(&c, "agent_thought_chunk"), 0);
    assert_null(response(&c, 2));

    feed(a, "{\"jsonrpc\":\"2.0\",\"method\":\"session/cancel\",\"params\":{\"sessionId\":"
            "\"mock-session-1\"}}\n");
    r = response(&c, 2);
    assert_non_null(r);
    assert_string_equal(str(r, "result", "stopReason"), "cancelled");
    assert_false(mock_agent_busy(a));
    assert_int_equal(mock_agent_timeout(a), -1);
    mock_agent_free(a);
    capture_done(&c);
}

static void test_permission_waits_then_eof_cancels(void **state)
{
    struct capture c;
    struct mock_agent *a = agent(&c, 0, 0);
    const cJSON *r;

    feed(a, new_session);
    feed(a, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"session/prompt\",\"params\":{\"sessionId\":"
            "\"mock-session-1\",\"prompt\":[{\"type\":\"text\",\"text\":\"Permission?\"}]}}\n");
    assert_string_equal(str(c.msg[c.n - 1], "method", NULL), "session/request_permission");
    /* Waiting for the client: busy, but nothing scheduled. */
    assert_true(mock_agent_busy(a));
    assert_int_equal(mock_agent_timeout(a), -1);
    /* A response to an id nobody asked is ignored. */
    feed(a, "{\"jsonrpc\":\"2.0\",\"id\":\"perm-99\",\"result\":{}}\n");
    assert_true(mock_agent_busy(a));
    mock_agent_eof(a);
    r = response(&c, 2);
    assert_non_null(r);
    assert_string_equal(str(r, "result", "stopReason"), "cancelled");
    assert_false(mock_agent_busy(a));
    mock_agent_free(a);
    capture_done(&c);
}

static void test_eof_handles_last_line_and_lets_slow_turns_finish(void **state)
{
    struct capture c;
    struct mock_agent *a = agent(&c, 0, 0);
    const cJSON *r;

    feed(a, new_session);
    /* A slow permission prompt as the unterminated last line: it cannot be answered any more. */
    feed(a, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"session/prompt\",\"params\":{\"sessionId\":"
            "\"mock-session-1\",\"prompt\":[{\"type\":\"text\",\"text\":\"slow permission\"}]}}");
    assert_null(response(&c, 2));
    mock_agent_eof(a);
    while (mock_agent_busy(a)) {
        assert_true(mock_agent_timeout(a) >= 0);
        mock_agent_tick(a);
    }
    r = response(&c, 2);
    assert_non_null(r);
    assert_string_equal(str(r, "result", "stopReason"), "cancelled");
    mock_agent_free(a);
    capture_done(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_framing_any_chunking),
        cmocka_unit_test(test_line_limit),
        cmocka_unit_test(test_slow_prompt_schedule_and_cancel),
        cmocka_unit_test(test_permission_waits_then_eof_cancels),
        cmocka_unit_test(test_eof_handles_last_line_and_lets_slow_turns_finish),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
