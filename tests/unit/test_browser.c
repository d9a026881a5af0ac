/*
 * Unit tests for agentd/browser: browser_host_norm turns an --allow-host value
 * into the name the Host check compares (the port, brackets, a trailing dot and
 * case dropped, IPv6 canonical) and refuses what no Host header could carry.
 */
#include "../../agentd/browser.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static void expect_norm(const char *v, const char *want)
{
    char out[BROWSER_NAME_MAX];

    if (browser_host_norm(v, out, sizeof(out)) != 0)
        fail_msg("browser_host_norm(\"%s\") refused it, expected \"%s\"", v, want);
    assert_string_equal(out, want);
}

static void names_lose_port_dot_and_case(void **state)
{
    (void)state;
    expect_norm("sandbox.internal", "sandbox.internal");
    expect_norm("Box.Example", "box.example");
    expect_norm("box.example:8080", "box.example");
    expect_norm("box.example.", "box.example");
    expect_norm("BOX.example.:443", "box.example");
    expect_norm("192.0.2.7:80", "192.0.2.7");
    expect_norm("my_host-1", "my_host-1");
}

static void ipv6_with_or_without_brackets_is_canonical(void **state)
{
    (void)state;
    expect_norm("[fd00::1]", "fd00::1");
    expect_norm("[FD00:0:0::1]:8080", "fd00::1");
    expect_norm("fd00::1", "fd00::1");
    expect_norm("FD00:0000::0001", "fd00::1");
}

static void what_cannot_be_a_host_is_refused(void **state)
{
    static const char *const bad[] = {"",
                                      "a:b:c",
                                      "[::1",
                                      "[fd00::1]x",
                                      "box.example:",
                                      "box:http",
                                      "http://box.ex",
                                      "a,b",
                                      "a b",
                                      "box/path",
                                      "[box.ex]",
                                      ".",
                                      ".box.ex",
                                      "fd00::g",
                                      "[fd00::1]:",
                                      "::1::2",
                                      "box.example:8x"};
    char out[BROWSER_NAME_MAX];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memcpy(out, "untouched", 10);
        if (browser_host_norm(bad[i], out, sizeof(out)) != -EINVAL)
            fail_msg("browser_host_norm(\"%s\") accepted it as \"%s\"", bad[i], out);
        assert_string_equal(out, "untouched");
    }
}

static void a_name_longer_than_cap_is_refused(void **state)
{
    char out[8];

    (void)state;
    assert_int_equal(browser_host_norm("abcdefgh", out, sizeof(out)), -EINVAL);
    assert_int_equal(browser_host_norm("abcdefg", out, sizeof(out)), 0);
    assert_string_equal(out, "abcdefg");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(names_lose_port_dot_and_case),
        cmocka_unit_test(ipv6_with_or_without_brackets_is_canonical),
        cmocka_unit_test(what_cannot_be_a_host_is_refused),
        cmocka_unit_test(a_name_longer_than_cap_is_refused),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
