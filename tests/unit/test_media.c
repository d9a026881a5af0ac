/*
 * Unit tests for stream/media: Accept header matching (absent header,
 * wildcards, parameters, lists, case, near misses).
 */
#include "../../stream/media.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

static void test_accepts(void **state)
{
    static const char *const yes[] = {
        "application/json",
        "*/*",
        "application/*",
        "APPLICATION/JSON",
        "text/html, application/json",
        "text/html,application/json;q=0.9",
        "  application/json ; charset=utf-8",
        "text/plain, */*;q=0.1",
    };
    (void)state;
    assert_true(media_accepts(NULL, "application/json"));
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
        assert_true(media_accepts(yes[i], "application/json"));
}

static void test_refuses(void **state)
{
    static const char *const no[] = {
        "",
        "text/html",
        "text/*",
        "application/jsonx",
        "application/js",
        "application/json-seq",
        "app*/*",
        "*/json",
        ",,,",
    };
    (void)state;
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        assert_false(media_accepts(no[i], "application/json"));
    assert_false(media_accepts("application/json", "text/event-stream"));
    assert_true(media_accepts("text/*", "text/event-stream"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepts),
        cmocka_unit_test(test_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
