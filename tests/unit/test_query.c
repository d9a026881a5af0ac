/*
 * Unit tests for stream/query: query_add/query_parse (percent decoding, '+',
 * malformed escapes, bare keys, empty fragments, count and byte limits) and
 * the typed getters (NUL, UTF-8, duplicates, absent, booleans, integers).
 */
#include "../../stream/limits.h"
#include "../../stream/query.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static int setup_query(void **state)
{
    struct query *q = malloc(sizeof(*q));

    if (!q)
        return -1;
    query_init(q);
    *state = q;
    return 0;
}

static int teardown_query(void **state)
{
    query_done(*state);
    free(*state);
    return 0;
}

/* Parses a NUL-terminated raw query that must be accepted. */
static void parse_ok(struct query *q, const char *raw)
{
    struct problem err;

    assert_int_equal(query_parse(q, raw, strlen(raw), &err), 0);
}

/* Parses a raw query of len bytes that must fail with a 400/414 status, filling err. */
static void parse_fail(struct query *q, const char *raw, size_t len, int status,
                       struct problem *err)
{
    assert_int_equal(query_parse(q, raw, len, err), -1);
    assert_int_equal(err->status, status);
    assert_int_equal(err->kind, PROBLEM_INVALID_REQUEST);
}

static void check_str(const struct query *q, const char *key, const char *want)
{
    struct problem err;
    const char *v = NULL;

    assert_int_equal(query_str(q, key, &v, &err), 1);
    assert_non_null(v);
    assert_string_equal(v, want);
}

/* A getter failure: 400 invalid_request whose message names the parameter. */
static void check_err(const struct problem *err, const char *key, const char *fragment)
{
    char quoted[128];

    assert_int_equal(err->status, 400);
    assert_int_equal(err->kind, PROBLEM_INVALID_REQUEST);
    snprintf(quoted, sizeof(quoted), "`%s`", key);
    assert_non_null(strstr(err->message, quoted));
    if (fragment)
        assert_non_null(strstr(err->message, fragment));
}

/* ---- parsing ------------------------------------------------------------------------------ */

static void test_parse_basic(void **state)
{
    struct query *q = *state;

    parse_ok(q, "a=1&b=two&c=");
    assert_int_equal(q->n, 3);
    assert_string_equal(q->params[0].key, "a");
    assert_string_equal(q->params[0].value, "1");
    assert_int_equal(q->params[0].value_len, 1);
    assert_string_equal(q->params[1].key, "b");
    assert_string_equal(q->params[1].value, "two");
    assert_string_equal(q->params[2].key, "c");
    assert_string_equal(q->params[2].value, "");
    assert_int_equal(q->params[2].value_len, 0);
}

static void test_parse_percent_decoding(void **state)
{
    struct query *q = *state;

    parse_ok(q, "path=%2Ftmp%2Fa%20b&e=%c3%A9&amp=x%26y%3Dz");
    check_str(q, "path", "/tmp/a b");
    check_str(q, "e", "\xc3\xa9");
    /* An encoded '&' or '=' stays inside its value. */
    check_str(q, "amp", "x&y=z");
    assert_int_equal(q->n, 3);
}

static void test_parse_escape_at_end(void **state)
{
    struct query *q = *state;

    parse_ok(q, "a=%41");
    check_str(q, "a", "A");
}

static void test_parse_plus_is_space(void **state)
{
    struct query *q = *state;

    parse_ok(q, "q=a+b++c&p=%2B&k+ey=1");
    check_str(q, "q", "a b  c");
    check_str(q, "p", "+");
    check_str(q, "k ey", "1");
}

static void test_parse_malformed_escapes(void **state)
{
    static const char *bad[] = {
        "a=%", "a=%4", "a=%zz", "a=%4g", "a=%g4", "a=1%", "%=1", "a=%%41", "a=x&b=%2", "a=% 1",
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct query q;
        struct problem err;

        query_init(&q);
        parse_fail(&q, bad[i], strlen(bad[i]), 400, &err);
        assert_non_null(strstr(err.message, "escape"));
        query_done(&q);
    }
}

static void test_parse_bare_key(void **state)
{
    struct query *q = *state;
    struct problem err;
    const char *v = NULL;
    bool b = true;

    parse_ok(q, "flag&recursive");
    assert_int_equal(q->n, 2);
    assert_string_equal(q->params[0].key, "flag");
    assert_string_equal(q->params[0].value, "");
    assert_int_equal(q->params[0].value_len, 0);
    assert_int_equal(query_str(q, "flag", &v, &err), 1);
    assert_string_equal(v, "");
    /* A bare key is neither true nor false. */
    assert_int_equal(query_bool(q, "recursive", &b, &err), -1);
    check_err(&err, "recursive", NULL);
    assert_true(b);
}

static void test_parse_empty_fragments(void **state)
{
    struct query *q = *state;

    parse_ok(q, "");
    assert_int_equal(q->n, 0);
    parse_ok(q, "&");
    assert_int_equal(q->n, 0);
    parse_ok(q, "&&a=1&&&b=2&&");
    assert_int_equal(q->n, 2);
    check_str(q, "a", "1");
    check_str(q, "b", "2");
}

static void test_parse_empty_key(void **state)
{
    struct query *q = *state;

    parse_ok(q, "=v");
    assert_int_equal(q->n, 1);
    check_str(q, "", "v");
}

static void test_parse_value_with_equals(void **state)
{
    struct query *q = *state;

    parse_ok(q, "a=b=c");
    check_str(q, "a", "b=c");
}

static void test_parse_64_params_ok(void **state)
{
    struct query *q = *state;
    char raw[1024];
    size_t len = 0;

    for (int i = 0; i < LIM_QUERY_PARAMS; i++)
        len += (size_t)snprintf(raw + len, sizeof(raw) - len, "%sk%d=%d", i ? "&" : "", i, i);
    parse_ok(q, raw);
    assert_int_equal(q->n, LIM_QUERY_PARAMS);
    check_str(q, "k63", "63");
}

static void test_parse_65_params_rejected(void **state)
{
    struct query *q = *state;
    struct problem err;
    char raw[1024];
    size_t len = 0;

    for (int i = 0; i <= LIM_QUERY_PARAMS; i++)
        len += (size_t)snprintf(raw + len, sizeof(raw) - len, "%sk%d=%d", i ? "&" : "", i, i);
    parse_fail(q, raw, len, 400, &err);
    assert_non_null(strstr(err.message, "64"));
    assert_int_equal(q->n, LIM_QUERY_PARAMS);
}

static void test_parse_max_bytes_ok(void **state)
{
    struct query *q = *state;
    struct problem err;
    char *raw = malloc(LIM_QUERY_BYTES);

    assert_non_null(raw);
    memcpy(raw, "a=", 2);
    memset(raw + 2, 'x', LIM_QUERY_BYTES - 2);
    assert_int_equal(query_parse(q, raw, LIM_QUERY_BYTES, &err), 0);
    assert_int_equal(q->n, 1);
    assert_int_equal(q->params[0].value_len, LIM_QUERY_BYTES - 2);
    free(raw);
}

static void test_parse_too_long_414(void **state)
{
    struct query *q = *state;
    struct problem err;
    char *raw = malloc(LIM_QUERY_BYTES + 1);

    assert_non_null(raw);
    memcpy(raw, "a=", 2);
    memset(raw + 2, 'x', LIM_QUERY_BYTES + 1 - 2);
    parse_fail(q, raw, LIM_QUERY_BYTES + 1, 414, &err);
    assert_int_equal(q->n, 0);
    free(raw);
}

static void test_add_total_bytes_414(void **state)
{
    struct query *q = *state;
    struct problem err;
    char *frag = malloc(LIM_QUERY_BYTES);

    assert_non_null(frag);
    memset(frag, 'k', LIM_QUERY_BYTES);
    assert_int_equal(query_add(q, frag, LIM_QUERY_BYTES / 2, &err), 0);
    assert_int_equal(query_add(q, frag, LIM_QUERY_BYTES / 2, &err), 0);
    assert_int_equal(q->bytes, LIM_QUERY_BYTES);
    assert_int_equal(query_add(q, "a", 1, &err), -1);
    assert_int_equal(err.status, 414);
    assert_int_equal(q->n, 2);
    free(frag);
}

static void test_add_single_fragment_too_long(void **state)
{
    struct query *q = *state;
    struct problem err;
    char *frag = malloc(LIM_QUERY_BYTES + 1);

    assert_non_null(frag);
    memset(frag, 'k', LIM_QUERY_BYTES + 1);
    assert_int_equal(query_add(q, frag, LIM_QUERY_BYTES + 1, &err), -1);
    assert_int_equal(err.status, 414);
    assert_int_equal(q->n, 0);
    free(frag);
}

static void test_add_empty_fragment_ignored(void **state)
{
    struct query *q = *state;
    struct problem err;

    assert_int_equal(query_add(q, "", 0, &err), 0);
    assert_int_equal(q->n, 0);
    assert_int_equal(query_add(q, "a=1", 3, &err), 0);
    assert_int_equal(q->n, 1);
    assert_int_equal(q->bytes, 3);
}

static void test_add_uses_length_not_nul(void **state)
{
    struct query *q = *state;
    struct problem err;

    /* Only the first 3 bytes belong to the fragment. */
    assert_int_equal(query_add(q, "a=12345", 3, &err), 0);
    check_str(q, "a", "1");
    assert_int_equal(q->params[0].value_len, 1);
}

static void test_done_resets(void **state)
{
    struct query *q = *state;

    parse_ok(q, "a=1&b=2");
    query_done(q);
    assert_int_equal(q->n, 0);
    assert_int_equal(q->bytes, 0);
    query_done(NULL);
}

/* ---- query_str ---------------------------------------------------------------------------- */

static void test_str_nul_byte(void **state)
{
    struct query *q = *state;
    struct problem err;
    const char *v = "untouched";

    parse_ok(q, "path=%2Fetc%00.png");
    assert_int_equal(q->params[0].value_len, 9);
    assert_int_equal(query_str(q, "path", &v, &err), -1);
    check_err(&err, "path", "NUL");
    assert_string_equal(v, "untouched");
}

static void test_str_nul_byte_via_add(void **state)
{
    struct query *q = *state;
    struct problem err;
    const char *v = NULL;

    assert_int_equal(query_add(q, "a=x\0y", 5, &err), 0);
    assert_int_equal(query_str(q, "a", &v, &err), -1);
    check_err(&err, "a", "NUL");
}

static void test_str_invalid_utf8(void **state)
{
    static const char *bad[] = {"v=%FF",       "v=%C3",          "v=%C0%AF",
                                "v=%ED%A0%80", "v=%F4%90%80%80", "v=a%80b"};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct query q;
        struct problem err;
        const char *v = NULL;

        query_init(&q);
        parse_ok(&q, bad[i]);
        assert_int_equal(query_str(&q, "v", &v, &err), -1);
        check_err(&err, "v", "UTF-8");
        assert_null(v);
        query_done(&q);
    }
}

static void test_str_valid_utf8(void **state)
{
    struct query *q = *state;

    parse_ok(q, "v=%E2%82%AC%F0%9F%98%80");
    check_str(q, "v", "\xe2\x82\xac\xf0\x9f\x98\x80");
}

static void test_str_duplicate(void **state)
{
    struct query *q = *state;
    struct problem err;
    const char *v = NULL;

    parse_ok(q, "a=1&b=2&a=1");
    assert_int_equal(query_str(q, "a", &v, &err), -1);
    check_err(&err, "a", "more than once");
    assert_null(v);
    check_str(q, "b", "2");
}

static void test_str_absent(void **state)
{
    struct query *q = *state;
    struct problem err;
    const char *v = "untouched";

    parse_ok(q, "a=1");
    assert_int_equal(query_str(q, "b", &v, &err), 0);
    assert_string_equal(v, "untouched");
    /* Keys are exact: no prefix or case folding. */
    assert_int_equal(query_str(q, "A", &v, &err), 0);
    assert_int_equal(query_str(q, "", &v, &err), 0);
    assert_string_equal(v, "untouched");
}

/*
 * A key holding an encoded NUL ("path%00x") is a different key from "path":
 * it must not be found under the shorter name.
 */
static void test_key_with_nul_is_not_prefix(void **state)
{
    struct query *q = *state;
    struct problem err;
    const char *v = NULL;
    int r;

    parse_ok(q, "path%00x=%2Fetc");
    r = query_str(q, "path", &v, &err);
    if (r == 1)
        fail_msg("query_str(\"path\") returned the value of key \"path\\0x\": \"%s\"", v);
    /* Nor may it make a lone "path" look repeated. */
    query_done(q);
    parse_ok(q, "path=%2Ftmp&path%00x=%2Fetc");
    r = query_str(q, "path", &v, &err);
    if (r != 1)
        fail_msg("query_str(\"path\") = %d (%s)", r, r < 0 ? err.message : "absent");
    assert_string_equal(v, "/tmp");
}

/* ---- query_bool --------------------------------------------------------------------------- */

static void test_bool_true_false(void **state)
{
    struct query *q = *state;
    struct problem err;
    bool b;

    parse_ok(q, "t=true&f=false");
    b = false;
    assert_int_equal(query_bool(q, "t", &b, &err), 1);
    assert_true(b);
    b = true;
    assert_int_equal(query_bool(q, "f", &b, &err), 1);
    assert_false(b);
}

static void test_bool_rejects_everything_else(void **state)
{
    static const char *bad[] = {"v=True",  "v=TRUE", "v=1",     "v=0",       "v=yes",
                                "v=",      "v=on",   "v=truex", "v=true%00", "v=false%00x",
                                "v=+true", "v=t",    "v=fals",  "v=%20false"};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct query q;
        struct problem err;
        bool b = true;

        query_init(&q);
        parse_ok(&q, bad[i]);
        assert_int_equal(query_bool(&q, "v", &b, &err), -1);
        check_err(&err, "v", "`true` or `false`");
        assert_true(b);
        query_done(&q);
    }
}

static void test_bool_absent_and_duplicate(void **state)
{
    struct query *q = *state;
    struct problem err;
    bool b = true;

    parse_ok(q, "x=true&x=true");
    assert_int_equal(query_bool(q, "y", &b, &err), 0);
    assert_true(b);
    assert_int_equal(query_bool(q, "x", &b, &err), -1);
    check_err(&err, "x", "more than once");
}

/* ---- query_u64 ---------------------------------------------------------------------------- */

static void u64_ok(const char *raw, uint64_t max, uint64_t want)
{
    struct query q;
    struct problem err;
    uint64_t v = 12345;

    query_init(&q);
    parse_ok(&q, raw);
    assert_int_equal(query_u64(&q, "n", max, &v, &err), 1);
    assert_int_equal(v, want);
    query_done(&q);
}

static void u64_bad(const char *raw, uint64_t max)
{
    struct query q;
    struct problem err;
    uint64_t v = 12345;

    query_init(&q);
    parse_ok(&q, raw);
    assert_int_equal(query_u64(&q, "n", max, &v, &err), -1);
    check_err(&err, "n", "integer");
    assert_int_equal(v, 12345);
    query_done(&q);
}

static void test_u64_valid(void **state)
{
    u64_ok("n=0", 10, 0);
    u64_ok("n=10", 10, 10);
    u64_ok("n=007", 10, 7);
    u64_ok("n=4096", 1u << 20, 4096);
    u64_ok("n=18446744073709551615", UINT64_MAX, UINT64_MAX);
    u64_ok("n=9007199254740993", UINT64_MAX, 9007199254740993ull);
}

static void test_u64_range(void **state)
{
    u64_bad("n=11", 10);
    u64_bad("n=1", 0);
    u64_ok("n=0", 0, 0);
}

static void test_u64_junk(void **state)
{
    static const char *bad[] = {"n=",     "n=-1",  "n=+1",  "n=%201",     "n=1%20",
                                "n=0x10", "n=1e3", "n=1.0", "n=abc",      "n=12ab",
                                "n=1%00", "n=%00", "n",     "n=%EF%BC%91"};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        u64_bad(bad[i], UINT64_MAX);
}

static void test_u64_overflow(void **state)
{
    u64_bad("n=18446744073709551616", UINT64_MAX);
    u64_bad("n=99999999999999999999999", UINT64_MAX);
    u64_bad("n=36893488147419103232", UINT64_MAX);
}

static void test_u64_absent_and_duplicate(void **state)
{
    struct query *q = *state;
    struct problem err;
    uint64_t v = 77;

    parse_ok(q, "n=1&n=2");
    assert_int_equal(query_u64(q, "m", 100, &v, &err), 0);
    assert_int_equal(v, 77);
    assert_int_equal(query_u64(q, "n", 100, &v, &err), -1);
    check_err(&err, "n", "more than once");
    assert_int_equal(v, 77);
}

static void test_u64_message_names_max(void **state)
{
    struct query *q = *state;
    struct problem err;
    uint64_t v;

    parse_ok(q, "limit=5000");
    assert_int_equal(query_u64(q, "limit", 1000, &v, &err), -1);
    check_err(&err, "limit", "between 0 and 1000");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup_query, teardown_query)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_parse_basic),
        T(test_parse_percent_decoding),
        T(test_parse_escape_at_end),
        T(test_parse_plus_is_space),
        T(test_parse_malformed_escapes),
        T(test_parse_bare_key),
        T(test_parse_empty_fragments),
        T(test_parse_empty_key),
        T(test_parse_value_with_equals),
        T(test_parse_64_params_ok),
        T(test_parse_65_params_rejected),
        T(test_parse_max_bytes_ok),
        T(test_parse_too_long_414),
        T(test_add_total_bytes_414),
        T(test_add_single_fragment_too_long),
        T(test_add_empty_fragment_ignored),
        T(test_add_uses_length_not_nul),
        T(test_done_resets),
        T(test_str_nul_byte),
        T(test_str_nul_byte_via_add),
        T(test_str_invalid_utf8),
        T(test_str_valid_utf8),
        T(test_str_duplicate),
        T(test_str_absent),
        T(test_key_with_nul_is_not_prefix),
        T(test_bool_true_false),
        T(test_bool_rejects_everything_else),
        T(test_bool_absent_and_duplicate),
        T(test_u64_valid),
        T(test_u64_range),
        T(test_u64_junk),
        T(test_u64_overflow),
        T(test_u64_absent_and_duplicate),
        T(test_u64_message_names_max),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
