/*
 * Unit tests for the process module's pure parts: the log ring, base64 and
 * the request decoders.
 */
#include "../../process/proc_decode.h"
#include "../../process/proc_log.h"
#include "../../stream/base64.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void test_log_sequences_and_budget(void **state)
{
    struct proc_log l;
    const struct log_entry *e;

    (void)state;
    proc_log_init(&l, 10);
    e = proc_log_append(&l, PROC_STDOUT, "abcd", 4, 1);
    assert_int_equal(e->seq, 1);
    proc_log_append(&l, PROC_STDERR, "efgh", 4, 2);
    assert_int_equal(l.bytes, 8);
    /* A third chunk pushes the first one out; sequences keep counting. */
    e = proc_log_append(&l, PROC_STDOUT, "ijkl", 4, 3);
    assert_int_equal(e->seq, 3);
    assert_int_equal(l.bytes, 8);
    assert_int_equal(proc_log_first_seq(&l), 2);
    e = proc_log_next(&l, 0);
    assert_non_null(e);
    assert_int_equal(e->seq, 2);
    assert_memory_equal(e->data, "efgh", 4);
    e = proc_log_next(&l, 2);
    assert_int_equal(e->seq, 3);
    assert_null(proc_log_next(&l, 3));
    proc_log_done(&l);
}

static void test_log_oversized_chunk_keeps_tail(void **state)
{
    struct proc_log l;
    const struct log_entry *e;

    (void)state;
    proc_log_init(&l, 4);
    proc_log_append(&l, PROC_PTY, "xx", 2, 1);
    e = proc_log_append(&l, PROC_PTY, "0123456789", 10, 2);
    assert_int_equal(e->len, 4);
    assert_memory_equal(e->data, "6789", 4);
    assert_int_equal(l.count, 1);
    assert_int_equal(l.bytes, 4);
    proc_log_done(&l);
}

static void test_log_ring_growth_many_entries(void **state)
{
    struct proc_log l;
    const struct log_entry *e;
    uint64_t seen = 0;

    (void)state;
    proc_log_init(&l, 1000);
    for (int i = 0; i < 5000; i++)
        proc_log_append(&l, i % 2 ? PROC_STDOUT : PROC_STDERR, "x", 1, i);
    assert_int_equal(l.count, 1000);
    assert_int_equal(proc_log_first_seq(&l), 4001);
    for (e = proc_log_next(&l, 0); e; e = proc_log_next(&l, e->seq))
        seen++;
    assert_int_equal(seen, 1000);
    proc_log_done(&l);
}

static void test_base64_round_trip(void **state)
{
    unsigned char raw[256], back[256 + 4];
    char enc[BASE64_ENCODED_SIZE(256)];
    size_t bad = 0;

    (void)state;
    for (int i = 0; i < 256; i++)
        raw[i] = (unsigned char)i;
    for (size_t n = 0; n <= 256; n += 37) {
        size_t el = base64_encode(raw, n, enc);
        assert_int_equal(el, (n + 2) / 3 * 4);
        assert_int_equal(base64_decode(enc, el, back, &bad), (long)n);
        assert_memory_equal(back, raw, n);
    }
    assert_string_equal((base64_encode("hi", 2, enc), enc), "aGk=");
}

static void test_base64_rejects(void **state)
{
    unsigned char out[16];
    size_t bad = 99;

    (void)state;
    assert_int_equal(base64_decode("aGk", 3, out, &bad), 2); /* unpadded is fine */
    assert_int_equal(base64_decode("hello\n", 6, out, &bad), -1);
    assert_int_equal(bad, 5);
    assert_int_equal(base64_decode("a===", 4, out, &bad), -1);
    assert_int_equal(base64_decode("aG=k", 4, out, &bad), -1);
    assert_int_equal(bad, 3);
    assert_int_equal(base64_decode("a", 1, out, &bad), -1);
    /* Padding must complete the last quantum: misplaced or surplus '=' is refused. */
    assert_int_equal(base64_decode("QUJD=", 5, out, &bad), -1);
    assert_int_equal(bad, 4);
    assert_int_equal(base64_decode("QQ=", 3, out, &bad), -1);
    assert_int_equal(base64_decode("QQ==", 4, out, &bad), 1);
    assert_int_equal(base64_decode("QUI=", 4, out, &bad), 2);
}

static int cmd(const char *json, struct proc_cmd *c, struct problem *err)
{
    return proc_cmd_decode(json, strlen(json), true, c, err);
}

static int create_cmd(const char *json, struct proc_cmd *c, struct problem *err)
{
    return proc_cmd_decode(json, strlen(json), false, c, err);
}

static void test_cmd_decode(void **state)
{
    struct proc_cmd c;
    struct problem err;

    (void)state;
    assert_int_equal(cmd("{\"command\":\"sh\",\"args\":[\"-c\",\"x\"],\"env\":{\"A\":\"1\"},"
                         "\"tty\":true,\"timeoutMs\":5}",
                         &c, &err),
                     0);
    assert_string_equal(c.command, "sh");
    assert_int_equal(c.nargs, 2);
    assert_string_equal(c.args[1], "x");
    assert_int_equal(c.nenv, 1);
    assert_string_equal(c.env[0], "A=1");
    assert_false(c.tty); /* run has no tty: an unknown field there */
    assert_int_equal(c.timeout_ms, 5);
    assert_false(c.has_max_output);
    proc_cmd_done(&c);
    assert_int_equal(create_cmd("{\"command\":\"sh\",\"tty\":true,\"timeoutMs\":5}", &c, &err), 0);
    assert_true(c.tty);
    assert_int_equal(c.timeout_ms, 0); /* create has no timeout */
    proc_cmd_done(&c);

    /* Each endpoint type-checks its own fields only; the other's are ignored. */
    assert_int_equal(cmd("{\"command\":\"x\",\"tty\":\"x\",\"interactive\":1}", &c, &err), 0);
    proc_cmd_done(&c);
    assert_int_equal(
        create_cmd("{\"command\":\"x\",\"timeoutMs\":\"x\",\"maxOutputBytes\":-1}", &c, &err), 0);
    proc_cmd_done(&c);
    assert_int_equal(create_cmd("{\"command\":\"x\",\"tty\":\"x\"}", &c, &err), -1);
    assert_int_equal(err.status, 422);
    assert_int_equal(cmd("{\"command\":\"x\",\"cwd\":\"\"}", &c, &err), -1);
    assert_int_equal(err.status, 400);
    assert_string_equal(err.message,
                        "cwd must not be empty (leave it out for the daemon's working directory)");

    assert_int_equal(cmd("{\"command\":\"  \"}", &c, &err), -1);
    assert_int_equal(err.status, 400);
    assert_int_equal(cmd("{}", &c, &err), -1);
    assert_int_equal(err.status, 422);
    assert_int_equal(cmd("{\"command\":\"x\",\"args\":[1]}", &c, &err), -1);
    assert_int_equal(err.status, 422);
    assert_int_equal(cmd("{\"command\":\"x\",\"env\":{\"A\":2}}", &c, &err), -1);
    assert_int_equal(err.status, 422);
    assert_int_equal(cmd("{\"command\":\"x\",\"env\":{\"A=B\":\"2\"}}", &c, &err), -1);
    assert_int_equal(err.status, 400);
    assert_int_equal(cmd("{\"command\":\"x\",\"timeoutMs\":-1}", &c, &err), -1);
    assert_int_equal(err.status, 422);
}

static void test_config_decode(void **state)
{
    struct proc_config c;
    struct problem err;
    const char *ok = "{\"maxConcurrentProcesses\":2,\"defaultRunTimeoutMs\":5000,"
                     "\"maxRunTimeoutMs\":800,\"maxOutputBytes\":1,\"maxLogBytesPerProcess\":1,"
                     "\"maxInputBytesPerRequest\":1}";

    (void)state;
    assert_int_equal(proc_config_decode(ok, strlen(ok), &c, &err), 0);
    assert_int_equal(c.default_timeout, 800); /* clamped to the maximum */
    assert_int_equal(proc_config_decode("{\"maxConcurrentProcesses\":2}", 28, &c, &err), -1);
    assert_int_equal(err.status, 422);
    const char *zero = "{\"maxConcurrentProcesses\":0,\"defaultRunTimeoutMs\":1,"
                       "\"maxRunTimeoutMs\":1,\"maxOutputBytes\":1,\"maxLogBytesPerProcess\":1,"
                       "\"maxInputBytesPerRequest\":1}";
    assert_int_equal(proc_config_decode(zero, strlen(zero), &c, &err), -1);
    assert_int_equal(err.status, 400);
    assert_string_equal(err.message, "maxConcurrentProcesses must be greater than 0");
}

static void test_input_decode(void **state)
{
    unsigned char *out = NULL;
    size_t n = 0;
    bool eof = true;
    struct problem err;
    const char *b64 = "{\"data\":\"aGVsbG8K\"}";
    const char *utf8 = "{\"data\":\"hello\\n\",\"encoding\":\"utf8\"}";
    const char *plain = "{\"data\":\"hello\\n\"}";
    const char *hex = "{\"data\":\"00\",\"encoding\":\"hex\"}";

    (void)state;
    assert_int_equal(proc_input_decode(b64, strlen(b64), 100, &out, &n, &eof, &err), 0);
    assert_int_equal(n, 6);
    assert_memory_equal(out, "hello\n", 6);
    free(out);
    assert_int_equal(proc_input_decode(utf8, strlen(utf8), 100, &out, &n, &eof, &err), 0);
    assert_int_equal(n, 6);
    free(out);
    /* base64 is the default, so plain text is refused with a hint. */
    assert_int_equal(proc_input_decode(plain, strlen(plain), 100, &out, &n, &eof, &err), -1);
    assert_int_equal(err.status, 400);
    assert_int_equal(proc_input_decode(hex, strlen(hex), 100, &out, &n, &eof, &err), -1);
    assert_string_equal(err.message, "encoding must be one of: base64, utf8, text");
    /* Exactly the limit is accepted, one more byte is 413. */
    assert_int_equal(proc_input_decode(utf8, strlen(utf8), 6, &out, &n, &eof, &err), 0);
    free(out);
    assert_int_equal(proc_input_decode(utf8, strlen(utf8), 5, &out, &n, &eof, &err), -1);
    assert_int_equal(err.status, 413);
}

static void test_input_decode_eof(void **state)
{
    unsigned char *out = NULL;
    size_t n = 1;
    bool eof = false;
    struct problem err;
    const char *alone = "{\"eof\":true}";
    const char *with = "{\"data\":\"aGk=\",\"eof\":true}";
    const char *off = "{\"eof\":false}";
    const char *bad = "{\"data\":\"\",\"eof\":\"yes\"}";

    (void)state;
    /* Without data: nothing to write, then the end of input. */
    assert_int_equal(proc_input_decode(alone, strlen(alone), 100, &out, &n, &eof, &err), 0);
    assert_int_equal(n, 0);
    assert_true(eof);
    free(out);
    assert_int_equal(proc_input_decode(with, strlen(with), 100, &out, &n, &eof, &err), 0);
    assert_int_equal(n, 2);
    assert_memory_equal(out, "hi", 2);
    assert_true(eof);
    free(out);
    /* "eof": false keeps data required, as in the reference. */
    assert_int_equal(proc_input_decode(off, strlen(off), 100, &out, &n, &eof, &err), -1);
    assert_int_equal(err.status, 422);
    assert_int_equal(proc_input_decode(bad, strlen(bad), 100, &out, &n, &eof, &err), -1);
    assert_string_equal(err.message, "field `eof` must be true or false, got a string");
}

static void test_resize_decode(void **state)
{
    unsigned short c = 0, r = 0;
    struct problem err;

    (void)state;
    assert_int_equal(proc_resize_decode("{\"cols\":100,\"rows\":33}", 22, &c, &r, &err), 0);
    assert_int_equal(c, 100);
    assert_int_equal(r, 33);
    assert_int_equal(proc_resize_decode("{\"cols\":70000,\"rows\":1}", 23, &c, &r, &err), -1);
    assert_int_equal(err.status, 422);
    assert_int_equal(proc_resize_decode("{\"cols\":1}", 10, &c, &r, &err), -1);
    assert_int_equal(err.status, 422);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_sequences_and_budget),
        cmocka_unit_test(test_log_oversized_chunk_keeps_tail),
        cmocka_unit_test(test_log_ring_growth_many_entries),
        cmocka_unit_test(test_base64_round_trip),
        cmocka_unit_test(test_base64_rejects),
        cmocka_unit_test(test_cmd_decode),
        cmocka_unit_test(test_config_decode),
        cmocka_unit_test(test_input_decode),
        cmocka_unit_test(test_input_decode_eof),
        cmocka_unit_test(test_resize_decode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
