/*
 * Unit tests for stream/buf: growth, the hard maximum (-E2BIG leaves the
 * buffer exactly as it was), printf, reset and steal.
 */
#include "../../stream/buf.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void test_init_is_empty(void **state)
{
    struct buf b;

    buf_init(&b, 100);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    assert_int_equal(b.max, 100);
    buf_done(&b);
}

static void test_append_grows(void **state)
{
    struct buf b;
    char expect[1000];

    buf_init(&b, 4096);
    for (size_t i = 0; i < sizeof(expect); i += 10) {
        char chunk[10];
        memset(chunk, 'a' + (int)(i / 10 % 26), sizeof(chunk));
        memcpy(expect + i, chunk, sizeof(chunk));
        assert_int_equal(buf_append(&b, chunk, sizeof(chunk)), 0);
        assert_int_equal(b.len, i + 10);
        assert_in_range(b.cap, b.len + 1, SIZE_MAX);
        assert_int_equal(b.data[b.len], '\0');
    }
    assert_memory_equal(b.data, expect, sizeof(expect));
    buf_done(&b);
}

static void test_append_zero_bytes(void **state)
{
    struct buf b;

    buf_init(&b, 10);
    assert_int_equal(buf_append(&b, NULL, 0), 0);
    assert_int_equal(b.len, 0);
    assert_non_null(b.data);
    assert_string_equal(b.data, "");
    buf_done(&b);
}

static void test_append_str(void **state)
{
    struct buf b;

    buf_init(&b, 64);
    assert_int_equal(buf_append_str(&b, "hello"), 0);
    assert_int_equal(buf_append_str(&b, ", "), 0);
    assert_int_equal(buf_append_str(&b, ""), 0);
    assert_int_equal(buf_append_str(&b, "world"), 0);
    assert_string_equal(b.data, "hello, world");
    assert_int_equal(b.len, 12);
    buf_done(&b);
}

static void test_max_exact_fit(void **state)
{
    struct buf b;

    buf_init(&b, 16);
    assert_int_equal(buf_append(&b, "0123456789abcdef", 16), 0);
    assert_int_equal(b.len, 16);
    assert_string_equal(b.data, "0123456789abcdef");
    /* The allocation never exceeds the maximum plus the terminator. */
    assert_in_range(b.cap, b.len + 1, b.max + 1);
    buf_done(&b);
}

static void test_max_exceeded_leaves_buffer_unchanged(void **state)
{
    struct buf b;
    char *data_before;
    size_t cap_before;

    buf_init(&b, 16);
    assert_int_equal(buf_append(&b, "0123456789", 10), 0);
    data_before = b.data;
    cap_before = b.cap;
    assert_int_equal(buf_append(&b, "abcdefg", 7), -E2BIG);
    assert_int_equal(b.len, 10);
    assert_int_equal(b.cap, cap_before);
    assert_ptr_equal(b.data, data_before);
    assert_string_equal(b.data, "0123456789");
    /* Still usable up to the limit. */
    assert_int_equal(buf_append(&b, "abcdef", 6), 0);
    assert_string_equal(b.data, "0123456789abcdef");
    assert_int_equal(buf_append(&b, "x", 1), -E2BIG);
    assert_int_equal(b.len, 16);
    buf_done(&b);
}

static void test_max_zero(void **state)
{
    struct buf b;

    buf_init(&b, 0);
    assert_int_equal(buf_append(&b, "", 0), 0);
    assert_int_equal(buf_append(&b, "x", 1), -E2BIG);
    assert_int_equal(b.len, 0);
    assert_int_equal(buf_printf(&b, "%s", ""), 0);
    assert_int_equal(buf_printf(&b, "%d", 1), -E2BIG);
    assert_int_equal(b.len, 0);
    buf_done(&b);
}

static void test_huge_append_overflow_checked(void **state)
{
    struct buf b;
    static const char byte = 'x';

    buf_init(&b, 1024);
    assert_int_equal(buf_append(&b, "abc", 3), 0);
    /* len + n would wrap around size_t: must be refused, not wrapped. */
    assert_int_equal(buf_append(&b, &byte, SIZE_MAX), -E2BIG);
    assert_int_equal(buf_append(&b, &byte, SIZE_MAX - 1), -E2BIG);
    assert_int_equal(b.len, 3);
    assert_string_equal(b.data, "abc");
    buf_done(&b);
}

/*
 * A maximum of SIZE_MAX ("no practical limit") must still allocate enough for
 * the data: the clamp to max + 1 must not wrap around to 0.
 */
static void test_max_size_max_allocates_enough(void **state)
{
    struct buf b;

    buf_init(&b, SIZE_MAX);
    assert_int_equal(buf_append(&b, "hello", 5), 0);
    assert_int_equal(b.len, 5);
    assert_in_range(b.cap, b.len + 1, SIZE_MAX);
    assert_string_equal(b.data, "hello");
    buf_done(&b);
}

static void test_printf(void **state)
{
    struct buf b;

    buf_init(&b, 256);
    assert_int_equal(buf_printf(&b, "%d-%s", 42, "x"), 0);
    assert_int_equal(buf_printf(&b, "/%05u/", 7u), 0);
    assert_string_equal(b.data, "42-x/00007/");
    assert_int_equal(b.len, strlen("42-x/00007/"));
    assert_int_equal(b.data[b.len], '\0');
    buf_done(&b);
}

static void test_printf_grows(void **state)
{
    struct buf b;
    char big[3000];

    memset(big, 'q', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    buf_init(&b, 8192);
    assert_int_equal(buf_printf(&b, "<%s>", big), 0);
    assert_int_equal(b.len, sizeof(big) - 1 + 2);
    assert_int_equal(b.data[0], '<');
    assert_int_equal(b.data[b.len - 1], '>');
    assert_int_equal(b.data[b.len], '\0');
    buf_done(&b);
}

static void test_printf_over_max_unchanged(void **state)
{
    struct buf b;

    buf_init(&b, 8);
    assert_int_equal(buf_printf(&b, "%s", "abcd"), 0);
    assert_int_equal(buf_printf(&b, "%s", "efghi"), -E2BIG);
    assert_int_equal(b.len, 4);
    assert_string_equal(b.data, "abcd");
    assert_int_equal(buf_printf(&b, "%d", 1234), 0);
    assert_string_equal(b.data, "abcd1234");
    buf_done(&b);
}

static void test_reset_keeps_allocation(void **state)
{
    struct buf b;
    char *data;
    size_t cap;

    buf_init(&b, 64);
    assert_int_equal(buf_append_str(&b, "something"), 0);
    data = b.data;
    cap = b.cap;
    buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_ptr_equal(b.data, data);
    assert_int_equal(b.cap, cap);
    assert_string_equal(b.data, "");
    assert_int_equal(buf_append_str(&b, "new"), 0);
    assert_string_equal(b.data, "new");
    buf_done(&b);
}

static void test_reset_empty(void **state)
{
    struct buf b;

    buf_init(&b, 64);
    buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_null(b.data);
    buf_done(&b);
}

static void test_steal(void **state)
{
    struct buf b;
    size_t len = 0;
    char *s;

    buf_init(&b, 64);
    assert_int_equal(buf_append_str(&b, "payload"), 0);
    s = buf_steal(&b, &len);
    assert_non_null(s);
    assert_string_equal(s, "payload");
    assert_int_equal(len, 7);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    assert_int_equal(b.max, 64);
    free(s);
    /* The buffer is reusable after a steal. */
    assert_int_equal(buf_append_str(&b, "again"), 0);
    assert_string_equal(b.data, "again");
    buf_done(&b);
}

static void test_steal_empty(void **state)
{
    struct buf b;
    size_t len = 99;
    char *s;

    buf_init(&b, 64);
    s = buf_steal(&b, &len);
    assert_non_null(s);
    assert_string_equal(s, "");
    assert_int_equal(len, 0);
    free(s);
    s = buf_steal(&b, NULL);
    assert_non_null(s);
    free(s);
    buf_done(&b);
}

static void test_steal_binary(void **state)
{
    struct buf b;
    size_t len = 0;
    char *s;

    buf_init(&b, 64);
    assert_int_equal(buf_append(&b, "a\0b\0c", 5), 0);
    s = buf_steal(&b, &len);
    assert_int_equal(len, 5);
    assert_memory_equal(s, "a\0b\0c", 5);
    free(s);
    buf_done(&b);
}

static void test_done_null_and_twice(void **state)
{
    struct buf b;

    buf_done(NULL);
    buf_init(&b, 64);
    assert_int_equal(buf_append_str(&b, "x"), 0);
    buf_done(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    buf_done(&b);
}

/* tail_keep: the last cap bytes of a stream, whatever the sizes of the pieces. */
static void test_tail_keep(void **state)
{
    char tail[8];
    size_t len = 0;

    (void)state;
    tail_keep(tail, sizeof(tail), &len, "abc", 3);
    assert_int_equal(len, 3);
    assert_memory_equal(tail, "abc", 3);
    tail_keep(tail, sizeof(tail), &len, "defgh", 5);
    assert_int_equal(len, 8);
    assert_memory_equal(tail, "abcdefgh", 8);
    tail_keep(tail, sizeof(tail), &len, "ij", 2);
    assert_int_equal(len, 8);
    assert_memory_equal(tail, "cdefghij", 8);
    tail_keep(tail, sizeof(tail), &len, "0123456789", 10);
    assert_int_equal(len, 8);
    assert_memory_equal(tail, "23456789", 8);
    tail_keep(tail, sizeof(tail), &len, "", 0);
    assert_memory_equal(tail, "23456789", 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tail_keep),
        cmocka_unit_test(test_init_is_empty),
        cmocka_unit_test(test_append_grows),
        cmocka_unit_test(test_append_zero_bytes),
        cmocka_unit_test(test_append_str),
        cmocka_unit_test(test_max_exact_fit),
        cmocka_unit_test(test_max_exceeded_leaves_buffer_unchanged),
        cmocka_unit_test(test_max_zero),
        cmocka_unit_test(test_huge_append_overflow_checked),
        cmocka_unit_test(test_printf),
        cmocka_unit_test(test_printf_grows),
        cmocka_unit_test(test_printf_over_max_unchanged),
        cmocka_unit_test(test_reset_keeps_allocation),
        cmocka_unit_test(test_reset_empty),
        cmocka_unit_test(test_steal),
        cmocka_unit_test(test_steal_empty),
        cmocka_unit_test(test_steal_binary),
        cmocka_unit_test(test_done_null_and_twice),
        /* Last: exposes a heap overflow that aborts an ASan build. */
        cmocka_unit_test(test_max_size_max_allocates_enough),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
