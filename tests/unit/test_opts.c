/*
 * Unit tests for agentd/opts: values and flags reach the callback in order,
 * --help is OPTS_EXIT_OK, an unknown option, a missing value or a value the
 * callback refuses is OPTS_EXIT_USAGE, the first operand's index is
 * returned, and a leading '+' stops at the first operand (exec's COMMAND
 * keeps its own flags).
 */
#include "../../agentd/opts.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

enum { OPT_NAME = 256, OPT_FLAG };

static const struct option longopts[] = {
    {"name", required_argument, NULL, OPT_NAME},
    {"flag", no_argument, NULL, OPT_FLAG},
    {"help", no_argument, NULL, OPTS_HELP},
    {NULL, 0, NULL, 0},
};

static char seen[256];

static int on_option(int key, const char *v, void *ctx)
{
    size_t n = strlen(seen);

    (void)ctx;
    if (v && strcmp(v, "bad") == 0)
        return opts_error("a bad value");
    snprintf(seen + n, sizeof(seen) - n, "%s%d=%s", n ? " " : "", key, v ? v : "-");
    return 0;
}

/* Parses {"agentd", args..., NULL} (copied: getopt may permute argv). */
static int parse(const char *shortopts, const char *const *args)
{
    const struct opts o = {"test", "usage\n", shortopts, longopts, on_option, NULL};
    static char store[16][32];
    char *argv[17];
    int argc = 0;

    snprintf(store[0], sizeof(store[0]), "agentd");
    argv[argc++] = store[0];
    for (; *args; args++, argc++) {
        snprintf(store[argc], sizeof(store[argc]), "%s", *args);
        argv[argc] = store[argc];
    }
    argv[argc] = NULL;
    seen[0] = '\0';
    return opts_parse(&o, argc, argv);
}

#define PARSE(so, ...) parse(so, (const char *const[]){__VA_ARGS__, NULL})

static void test_values_and_operands(void **state)
{
    (void)state;
    assert_int_equal(PARSE("x:", "--name", "a", "--flag", "-x", "b", "rest"), 6);
    assert_string_equal(seen, "256=a 257=- 120=b");
    /* getopt permutes: options after an operand are still options, the operand comes last. */
    assert_int_equal(PARSE(NULL, "op", "--name=v"), 2);
    assert_string_equal(seen, "256=v");
}

static void test_in_order(void **state)
{
    (void)state;
    /* '+': stop at the first operand; what follows belongs to the command. */
    assert_int_equal(PARSE("+t", "-t", "ls", "-t", "--name"), 2);
    assert_string_equal(seen, "116=-");
}

static void test_help_and_errors(void **state)
{
    (void)state;
    assert_int_equal(PARSE(NULL, "--help"), OPTS_EXIT_OK);
    assert_int_equal(PARSE(NULL, "--bogus"), OPTS_EXIT_USAGE);
    assert_int_equal(PARSE(NULL, "--name"), OPTS_EXIT_USAGE);
    assert_int_equal(PARSE("x:", "-x"), OPTS_EXIT_USAGE);
    assert_int_equal(PARSE(NULL, "--name", "bad"), OPTS_EXIT_USAGE);
    assert_int_equal(PARSE(NULL, "-q"), OPTS_EXIT_USAGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_and_operands),
        cmocka_unit_test(test_in_order),
        cmocka_unit_test(test_help_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
