/*
 * Unit tests for agentd/router: literal patterns beat captures, GET brings
 * HEAD, a path that exists without the method gives the allowed methods
 * (405), no trailing-slash normalisation, empty captures never match, and a
 * table past ROUTER_TABLES_MAX or a malformed route aborts at startup.
 */
#include "../../agentd/router.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

static void h_get(struct http_req *req)
{
    (void)req;
}

static void h_config(struct http_req *req)
{
    (void)req;
}

static void h_stop(struct http_req *req)
{
    (void)req;
}

static const struct route table[] = {
    {HTTP_GET, "/v1/processes/{}", h_get, 0, NULL},
    {HTTP_GET, "/v1/processes/config", h_config, 0, NULL},
    {HTTP_POST, "/v1/processes/config", h_config, 0, NULL},
    {HTTP_POST, "/v1/processes/{}/stop", h_stop, 0, NULL},
};

static int setup(void **state)
{
    (void)state;
    router_add(table, sizeof(table) / sizeof(table[0]));
    return 0;
}

static void literal_beats_capture(void **state)
{
    unsigned allow = 0;
    const struct route *r = router_find("/v1/processes/config", HTTP_GET, &allow);

    (void)state;
    assert_non_null(r);
    assert_ptr_equal(r->handler, h_config);
    r = router_find("/v1/processes/proc_1", HTTP_GET, &allow);
    assert_non_null(r);
    assert_ptr_equal(r->handler, h_get);
}

static void get_brings_head(void **state)
{
    unsigned allow = 0;
    const struct route *r = router_find("/v1/processes/proc_1", HTTP_HEAD, &allow);

    (void)state;
    assert_non_null(r);
    assert_ptr_equal(r->handler, h_get);
    assert_int_equal(allow, HTTP_GET | HTTP_HEAD);
}

static void wrong_method_lists_the_allowed(void **state)
{
    unsigned allow = 0;

    (void)state;
    assert_null(router_find("/v1/processes/proc_1/stop", HTTP_GET, &allow));
    assert_int_equal(allow, HTTP_POST);
    assert_null(router_find("/v1/processes/config", HTTP_DELETE, &allow));
    assert_int_equal(allow, HTTP_GET | HTTP_HEAD | HTTP_POST);
}

static void no_path_no_methods(void **state)
{
    unsigned allow = 123;

    (void)state;
    assert_null(router_find("/v1/nothing", HTTP_GET, &allow));
    assert_int_equal(allow, 0);
    /* No trailing-slash normalisation (the reference's), and a capture is never empty. */
    assert_null(router_find("/v1/processes/proc_1/", HTTP_GET, &allow));
    assert_int_equal(allow, 0);
    assert_null(router_find("/v1/processes/", HTTP_GET, &allow));
    assert_int_equal(allow, 0);
    assert_null(router_find("/v1/processes//stop", HTTP_POST, &allow));
    assert_int_equal(allow, 0);
}

/* Runs fn in a child: true when it died of SIGABRT. */
static bool aborts(void (*fn)(void))
{
    int status = 0;
    pid_t pid = fork();

    if (pid == 0) {
        /* The message goes to stderr: keep the test output readable. */
        if (!freopen("/dev/null", "w", stderr))
            _exit(3);
        fn();
        _exit(0);
    }
    assert_true(pid > 0);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

static void add_too_many(void)
{
    for (int i = 0; i < 64; i++)
        router_add(table, 1);
}

static void add_without_slash(void)
{
    static const struct route bad[] = {{HTTP_GET, "v1/x", h_get, 0, NULL}};
    router_add(bad, 1);
}

static void add_without_handler(void)
{
    static const struct route bad[] = {{HTTP_GET, "/v1/x", NULL, 0, NULL}};
    router_add(bad, 1);
}

static void add_too_many_captures(void)
{
    static const struct route bad[] = {{HTTP_GET, "/{}/{}/{}/{}/{}", h_get, 0, NULL}};
    router_add(bad, 1);
}

static void add_one_more(void)
{
    static const struct route ok[] = {{HTTP_GET, "/v1/ok/{}/{}", h_get, 0, NULL}};
    router_add(ok, 1);
}

static void bad_tables_abort_at_startup(void **state)
{
    (void)state;
    assert_true(aborts(add_too_many));
    assert_true(aborts(add_without_slash));
    assert_true(aborts(add_without_handler));
    assert_true(aborts(add_too_many_captures));
    assert_false(aborts(add_one_more));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(literal_beats_capture),          cmocka_unit_test(get_brings_head),
        cmocka_unit_test(wrong_method_lists_the_allowed), cmocka_unit_test(no_path_no_methods),
        cmocka_unit_test(bad_tables_abort_at_startup),
    };

    return cmocka_run_group_tests(tests, setup, NULL);
}
