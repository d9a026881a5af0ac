/*
 * Unit tests for stream/json: Content-Type matching, json_parse_object (size,
 * UTF-8, depth, syntax with position, top-level type, trailing bytes), the
 * typed field getters, utf8_valid and json_add_string's U+FFFD replacement.
 */
#include "../../stream/json.h"
#include "../../stream/limits.h"

#include <cjson/cJSON.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static cJSON *parse_ok(const char *text)
{
    struct problem err;
    cJSON *root = NULL;

    assert_int_equal(json_parse_object(text, strlen(text), &root, &err), 0);
    assert_non_null(root);
    assert_true(cJSON_IsObject(root));
    return root;
}

/* Parses n bytes that must fail with status; *ret must stay untouched. */
static void parse_fail(const char *text, size_t n, int status, struct problem *err)
{
    cJSON *sentinel = (cJSON *)(uintptr_t)0x1234;
    cJSON *root = sentinel;

    assert_int_equal(json_parse_object(text, n, &root, err), -1);
    assert_int_equal(err->status, status);
    assert_int_equal(err->kind, PROBLEM_INVALID_REQUEST);
    assert_ptr_equal(root, sentinel);
}

static void parse_fail_str(const char *text, int status, struct problem *err)
{
    parse_fail(text, strlen(text), status, err);
}

/* "{"a":" + depth-1 '[' ... ']' + "}": an object nested `depth` levels deep. */
static char *nested(int depth, size_t *ret_len)
{
    size_t n = 5 + 2 * (size_t)(depth - 1) + 1;
    char *s = malloc(n + 1);
    size_t o = 0;

    assert_non_null(s);
    memcpy(s, "{\"a\":", 5);
    o = 5;
    for (int i = 0; i < depth - 1; i++)
        s[o++] = '[';
    for (int i = 0; i < depth - 1; i++)
        s[o++] = ']';
    s[o++] = '}';
    s[o] = '\0';
    *ret_len = o;
    return s;
}

/* ---- json_content_type_ok ----------------------------------------------------------------- */

static void test_content_type(void **state)
{
    static const char *ok[] = {
        "application/json",
        "application/json; charset=utf-8",
        "application/json;charset=UTF-8",
        "application/json ; charset=utf-8",
        "  application/json",
        "application/json ",
        "Application/JSON",
        "application/x+json",
        "application/ld+json",
        "application/problem+json; charset=utf-8",
    };
    static const char *bad[] = {
        "",
        "text/plain",
        "text/json",
        "application/jsonx",
        "application/json5",
        "application/+json",
        "application/",
        "application/xjson",
        "application/octet-stream",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "json",
        ";application/json",
        "application/x+jsonx",
    };

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        if (!json_content_type_ok(ok[i]))
            fail_msg("expected `%s` to be accepted", ok[i]);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (json_content_type_ok(bad[i]))
            fail_msg("expected `%s` to be rejected", bad[i]);
    }
    assert_false(json_content_type_ok(NULL));
}

/* ---- json_parse_object -------------------------------------------------------------------- */

static void test_parse_ok(void **state)
{
    cJSON *root;

    root = parse_ok("{}");
    assert_int_equal(cJSON_GetArraySize(root), 0);
    cJSON_Delete(root);
    root = parse_ok(" \t\r\n{\"a\": 1, \"b\": [true, null, \"x\"]}\r\n ");
    assert_int_equal(cJSON_GetArraySize(root), 2);
    cJSON_Delete(root);
}

static void test_parse_uses_length(void **state)
{
    struct problem err;
    cJSON *root = NULL;

    /* The bytes after n are not part of the body. */
    assert_int_equal(json_parse_object("{}garbage", 2, &root, &err), 0);
    cJSON_Delete(root);
    /* A body cut short is a syntax error even if the memory continues. */
    parse_fail("{\"a\":1}", 6, 400, &err);
}

static void test_parse_empty(void **state)
{
    struct problem err;

    parse_fail("", 0, 400, &err);
    assert_non_null(strstr(err.message, "empty"));
}

static void test_parse_whitespace_only(void **state)
{
    struct problem err;

    parse_fail_str("   \n", 400, &err);
}

static void test_parse_syntax_position(void **state)
{
    struct problem err;

    parse_fail_str("{\"a\" 1}", 400, &err);
    assert_non_null(strstr(err.message, "not valid JSON"));
    assert_non_null(strstr(err.message, "line 1 column 6"));

    parse_fail_str("{\n  \"a\": 1,\n  \"b\": }", 400, &err);
    assert_non_null(strstr(err.message, "line 3 column 8"));

    parse_fail_str("{\"a\":tru}", 400, &err);
    assert_non_null(strstr(err.message, "line 1"));
    parse_fail_str("{\"a\":1,}", 400, &err);
    parse_fail_str("{'a':1}", 400, &err);
    parse_fail_str("{\"a\":\"unterminated}", 400, &err);
    parse_fail_str("{", 400, &err);
}

static void test_parse_trailing_garbage(void **state)
{
    struct problem err;

    parse_fail_str("{} x", 400, &err);
    assert_non_null(strstr(err.message, "line 1 column 4"));
    parse_fail_str("{}{}", 400, &err);
    parse_fail_str("{},", 400, &err);
    parse_fail("{}\0", 3, 400, &err);
}

static void test_parse_depth_limit(void **state)
{
    struct problem err;
    cJSON *root = NULL;
    size_t n;
    char *s;

    s = nested(LIM_JSON_DEPTH, &n);
    assert_int_equal(json_parse_object(s, n, &root, &err), 0);
    cJSON_Delete(root);
    free(s);

    s = nested(LIM_JSON_DEPTH + 1, &n);
    parse_fail(s, n, 400, &err);
    assert_non_null(strstr(err.message, "64"));
    free(s);

    /* Deep nesting is rejected even when the document is not otherwise valid. */
    s = malloc(100001);
    assert_non_null(s);
    memset(s, '[', 100000);
    s[100000] = '\0';
    parse_fail(s, 100000, 400, &err);
    assert_non_null(strstr(err.message, "nesting"));
    free(s);
}

static void test_parse_brackets_in_strings_do_not_count(void **state)
{
    char body[400];
    int o;
    cJSON *root;

    o = snprintf(body, sizeof(body), "{\"a\":\"");
    for (int i = 0; i < 100; i++)
        body[o++] = (i % 2) ? '[' : '{';
    /* An escaped quote does not end the string. */
    memcpy(body + o, "\\\"[[\"}", 7);
    root = parse_ok(body);
    cJSON_Delete(root);
}

static void test_parse_not_object_422(void **state)
{
    static const char *bad[] = {"[]", "[{}]", "1", "\"s\"", "null", "true", "false", "-0.5"};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct problem err;

        parse_fail_str(bad[i], 422, &err);
        assert_non_null(strstr(err.message, "object"));
    }
}

static void test_parse_too_large_413(void **state)
{
    struct problem err;
    cJSON *root = NULL;
    char *s = malloc(LIM_JSON_BODY_BYTES + 1);

    assert_non_null(s);
    memset(s, ' ', LIM_JSON_BODY_BYTES + 1);
    s[0] = '{';
    s[1] = '}';
    /* Exactly the limit is accepted. */
    assert_int_equal(json_parse_object(s, LIM_JSON_BODY_BYTES, &root, &err), 0);
    cJSON_Delete(root);
    parse_fail(s, LIM_JSON_BODY_BYTES + 1, 413, &err);
    free(s);
}

static void test_parse_invalid_utf8(void **state)
{
    static const char *bad[] = {
        "{\"a\":\"\xff\"}", "{\"a\":\"\xc0\xaf\"}", "{\"a\":\"\xed\xa0\x80\"}",
        "{\"\xe2\x82\":1}", "{\"a\":1} \x80",
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct problem err;

        parse_fail_str(bad[i], 400, &err);
        assert_non_null(strstr(err.message, "UTF-8"));
    }
}

static void test_parse_valid_utf8(void **state)
{
    cJSON *root = parse_ok("{\"\xc3\xa9\":\"\xf0\x9f\x98\x80 \\u00e9 \\ud83d\\ude00\"}");
    const char *v = NULL;
    struct problem err;

    assert_int_equal(json_get_string(root, "\xc3\xa9", true, &v, &err), 1);
    assert_string_equal(v, "\xf0\x9f\x98\x80 \xc3\xa9 \xf0\x9f\x98\x80");
    cJSON_Delete(root);
}

/* ---- getters ------------------------------------------------------------------------------ */

static void test_get_string(void **state)
{
    cJSON *root = parse_ok("{\"from\":\"/a\",\"to\":\"\",\"n\":null}");
    struct problem err;
    const char *v = NULL;

    assert_int_equal(json_get_string(root, "from", true, &v, &err), 1);
    assert_string_equal(v, "/a");
    assert_int_equal(json_get_string(root, "to", true, &v, &err), 1);
    assert_string_equal(v, "");
    cJSON_Delete(root);
}

static void test_get_missing_required(void **state)
{
    cJSON *root = parse_ok("{\"from\":\"/a\"}");
    struct problem err;
    const char *v = "untouched";
    bool b = true;
    uint64_t u = 9;

    assert_int_equal(json_get_string(root, "to", true, &v, &err), -1);
    assert_int_equal(err.status, 422);
    assert_int_equal(err.kind, PROBLEM_INVALID_REQUEST);
    assert_non_null(strstr(err.message, "`to`"));
    assert_non_null(strstr(err.message, "missing"));
    assert_string_equal(v, "untouched");

    assert_int_equal(json_get_bool(root, "overwrite", true, &b, &err), -1);
    assert_int_equal(err.status, 422);
    assert_non_null(strstr(err.message, "`overwrite`"));
    assert_true(b);

    assert_int_equal(json_get_u64(root, "size", true, 10, &u, &err), -1);
    assert_int_equal(err.status, 422);
    assert_non_null(strstr(err.message, "`size`"));
    assert_int_equal(u, 9);

    /* Field names are case-sensitive. */
    assert_int_equal(json_get_string(root, "From", true, &v, &err), -1);
    cJSON_Delete(root);
}

static void test_get_missing_optional(void **state)
{
    cJSON *root = parse_ok("{}");
    struct problem err;
    const char *v = "untouched";
    bool b = true;
    uint64_t u = 9;

    assert_int_equal(json_get_string(root, "to", false, &v, &err), 0);
    assert_string_equal(v, "untouched");
    assert_int_equal(json_get_bool(root, "overwrite", false, &b, &err), 0);
    assert_true(b);
    assert_int_equal(json_get_u64(root, "size", false, 10, &u, &err), 0);
    assert_int_equal(u, 9);
    cJSON_Delete(root);
}

static void test_get_null_is_absent(void **state)
{
    cJSON *root = parse_ok("{\"to\":null,\"overwrite\":null,\"size\":null}");
    struct problem err;
    const char *v = "untouched";
    bool b = true;
    uint64_t u = 9;

    assert_int_equal(json_get_string(root, "to", false, &v, &err), 0);
    assert_int_equal(json_get_bool(root, "overwrite", false, &b, &err), 0);
    assert_int_equal(json_get_u64(root, "size", false, 10, &u, &err), 0);
    assert_string_equal(v, "untouched");
    assert_true(b);
    assert_int_equal(u, 9);

    assert_int_equal(json_get_string(root, "to", true, &v, &err), -1);
    assert_int_equal(err.status, 422);
    assert_non_null(strstr(err.message, "missing field `to`"));
    cJSON_Delete(root);
}

static void test_get_string_wrong_type(void **state)
{
    static const struct {
        const char *body;
        const char *got;
    } cases[] = {
        {"{\"from\":1}", "got a number"},       {"{\"from\":true}", "got a boolean"},
        {"{\"from\":[]}", "got an array"},      {"{\"from\":{}}", "got an object"},
        {"{\"from\":[\"a\"]}", "got an array"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cJSON *root = parse_ok(cases[i].body);
        struct problem err;
        const char *v = "untouched";

        assert_int_equal(json_get_string(root, "from", false, &v, &err), -1);
        assert_int_equal(err.status, 422);
        assert_non_null(strstr(err.message, "`from` must be a string"));
        assert_non_null(strstr(err.message, cases[i].got));
        assert_string_equal(v, "untouched");
        cJSON_Delete(root);
    }
}

/*
 * "\u0000" decodes to a NUL byte inside the string; handing the C string on
 * would silently truncate it ("/tmp/a\u0000/etc" -> "/tmp/a").  It must be
 * refused, either by the parser (400) or by the getter (422 naming the field).
 */
static void check_nul_refused_n(const char *body, size_t n, const char *field)
{
    struct problem err;
    cJSON *root = NULL;
    const char *v = NULL;
    int r;

    if (json_parse_object(body, n, &root, &err) < 0) {
        assert_int_equal(err.status, 400);
        assert_int_equal(err.kind, PROBLEM_INVALID_REQUEST);
        return;
    }
    r = json_get_string(root, field, true, &v, &err);
    if (r == 1) {
        char got[256];

        snprintf(got, sizeof(got), "%s", v);
        cJSON_Delete(root);
        fail_msg("`%s` accepted with U+0000 in it, truncated to \"%s\"", field, got);
    }
    assert_int_equal(r, -1);
    assert_int_equal(err.status, 422);
    assert_non_null(strstr(err.message, field));
    cJSON_Delete(root);
}

static void check_nul_refused(const char *body, const char *field)
{
    check_nul_refused_n(body, strlen(body), field);
}

static void test_get_string_embedded_nul(void **state)
{
    check_nul_refused("{\"from\":\"/tmp/a\\u0000/etc\"}", "from");
    check_nul_refused("{\"from\":\"\\u0000\"}", "from");
    check_nul_refused("{\"to\":\"x\",\"from\":\"a\\u0000\"}", "from");
    check_nul_refused("{\"from\\u0000x\":\"a\",\"from\":\"b\"}", "from");
}

/* The same with a raw (unescaped) NUL byte, which RFC 8259 does not allow in a string. */
static void test_parse_raw_nul_refused(void **state)
{
    static const char body[] = "{\"from\":\"/tmp/a\0/etc\",\"to\":\"/tmp/b\"}";

    check_nul_refused_n(body, sizeof(body) - 1, "from");
}

/*
 * RFC 8259 whitespace is space, tab, LF and CR only.  Other control bytes
 * (NUL included) between tokens make the body invalid JSON: 400.
 */
static void test_parse_control_bytes_are_not_whitespace(void **state)
{
    static const struct {
        const char *body;
        size_t len;
    } bad[] = {
        {"\0{}", 3},        {"\x01{}", 3},        {"{\b}", 3},
        {"{\"a\"\0:1}", 8}, {"{\"a\":1\x0b}", 8}, {"\x1f{\"to\":\"x\"}", 11},
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct problem err;
        cJSON *root = NULL;

        if (json_parse_object(bad[i].body, bad[i].len, &root, &err) == 0) {
            cJSON_Delete(root);
            fail_msg("body #%zu with a raw control byte outside strings was accepted", i);
        }
        assert_int_equal(err.status, 400);
    }
}

static void test_escaped_backslash_u0000_is_text(void **state)
{
    cJSON *root = parse_ok("{\"from\":\"a\\\\u0000b\"}");
    struct problem err;
    const char *v = NULL;

    assert_int_equal(json_get_string(root, "from", true, &v, &err), 1);
    assert_string_equal(v, "a\\u0000b");
    cJSON_Delete(root);
}

static void test_get_bool(void **state)
{
    cJSON *root = parse_ok("{\"t\":true,\"f\":false,\"s\":\"true\",\"n\":1,\"z\":0}");
    struct problem err;
    bool b;

    b = false;
    assert_int_equal(json_get_bool(root, "t", true, &b, &err), 1);
    assert_true(b);
    b = true;
    assert_int_equal(json_get_bool(root, "f", true, &b, &err), 1);
    assert_false(b);

    b = true;
    assert_int_equal(json_get_bool(root, "s", false, &b, &err), -1);
    assert_int_equal(err.status, 422);
    assert_non_null(strstr(err.message, "`s` must be true or false, got a string"));
    assert_int_equal(json_get_bool(root, "n", false, &b, &err), -1);
    assert_non_null(strstr(err.message, "got a number"));
    assert_int_equal(json_get_bool(root, "z", false, &b, &err), -1);
    assert_true(b);
    cJSON_Delete(root);
}

static void u64_ok(const char *body, uint64_t max, uint64_t want)
{
    cJSON *root = parse_ok(body);
    struct problem err;
    uint64_t v = 12345;

    assert_int_equal(json_get_u64(root, "n", true, max, &v, &err), 1);
    assert_int_equal(v, want);
    cJSON_Delete(root);
}

static void u64_bad(const char *body, uint64_t max)
{
    cJSON *root = parse_ok(body);
    struct problem err;
    uint64_t v = 12345;

    if (json_get_u64(root, "n", true, max, &v, &err) != -1)
        fail_msg("%s accepted as %llu (max %llu)", body, (unsigned long long)v,
                 (unsigned long long)max);
    assert_int_equal(err.status, 422);
    assert_int_equal(err.kind, PROBLEM_INVALID_REQUEST);
    assert_non_null(strstr(err.message, "`n`"));
    assert_int_equal(v, 12345);
    cJSON_Delete(root);
}

static void test_get_u64(void **state)
{
    u64_ok("{\"n\":0}", 10, 0);
    u64_ok("{\"n\":10}", 10, 10);
    u64_ok("{\"n\":1e2}", 1000, 100);
    u64_ok("{\"n\":100.0}", 1000, 100);
    u64_ok("{\"n\":9007199254740992}", UINT64_MAX, 9007199254740992ull);
    u64_ok("{\"n\":0}", 0, 0);
}

static void test_get_u64_rejects(void **state)
{
    u64_bad("{\"n\":11}", 10);
    u64_bad("{\"n\":1}", 0);
    u64_bad("{\"n\":-1}", UINT64_MAX);
    u64_bad("{\"n\":-0.5}", UINT64_MAX);
    u64_bad("{\"n\":1.5}", UINT64_MAX);
    u64_bad("{\"n\":0.0001}", UINT64_MAX);
    u64_bad("{\"n\":\"1\"}", UINT64_MAX);
    u64_bad("{\"n\":true}", UINT64_MAX);
    u64_bad("{\"n\":[1]}", UINT64_MAX);
    u64_bad("{\"n\":9007199254740992}", 9007199254740991ull);
}

static void test_get_u64_message(void **state)
{
    cJSON *root = parse_ok("{\"n\":5000,\"s\":\"x\"}");
    struct problem err;
    uint64_t v;

    assert_int_equal(json_get_u64(root, "n", true, 1000, &v, &err), -1);
    assert_non_null(strstr(err.message, "between 0 and 1000"));
    assert_int_equal(json_get_u64(root, "s", true, 1000, &v, &err), -1);
    assert_non_null(strstr(err.message, "got a string"));
    cJSON_Delete(root);
}

/*
 * Numbers beyond the range of uint64_t.  The getter must refuse them without
 * converting an out-of-range double to an integer (undefined behaviour).
 */
static void test_get_u64_huge(void **state)
{
    u64_bad("{\"n\":1e20}", UINT64_MAX);
    u64_bad("{\"n\":18446744073709551616}", UINT64_MAX);
    u64_bad("{\"n\":1e300}", UINT64_MAX);
    u64_bad("{\"n\":1e400}", UINT64_MAX);
    u64_bad("{\"n\":-1e400}", UINT64_MAX);
}

/* ---- utf8_valid --------------------------------------------------------------------------- */

static void check_utf8(const char *s, size_t n, bool want)
{
    if (utf8_valid(s, n) != want) {
        char hex[64] = "";
        size_t o = 0;

        for (size_t i = 0; i < n && o + 4 < sizeof(hex); i++)
            o += (size_t)snprintf(hex + o, sizeof(hex) - o, "%02x ", (unsigned char)s[i]);
        fail_msg("utf8_valid(%s) should be %s", hex, want ? "true" : "false");
    }
}

#define VALID(lit)   check_utf8(lit, sizeof(lit) - 1, true)
#define INVALID(lit) check_utf8(lit, sizeof(lit) - 1, false)

static void test_utf8_valid(void **state)
{
    check_utf8("", 0, true);
    check_utf8(NULL, 0, true);
    VALID("plain ascii");
    VALID("nul \0 inside");
    VALID("\x7f");
    VALID("\xc2\x80");         /* U+0080 */
    VALID("\xdf\xbf");         /* U+07FF */
    VALID("\xe0\xa0\x80");     /* U+0800 */
    VALID("\xed\x9f\xbf");     /* U+D7FF */
    VALID("\xee\x80\x80");     /* U+E000 */
    VALID("\xef\xbf\xbf");     /* U+FFFF */
    VALID("\xf0\x90\x80\x80"); /* U+10000 */
    VALID("\xf4\x8f\xbf\xbf"); /* U+10FFFF */
    VALID("a\xe2\x82\xac\xf0\x9f\x98\x80");
}

static void test_utf8_overlongs(void **state)
{
    INVALID("\xc0\x80"); /* NUL */
    INVALID("\xc0\xaf"); /* '/' */
    INVALID("\xc1\xbf");
    INVALID("\xe0\x80\x80");
    INVALID("\xe0\x80\xaf"); /* '/' in 3 bytes */
    INVALID("\xe0\x9f\xbf"); /* U+07FF in 3 bytes */
    INVALID("\xf0\x80\x80\x80");
    INVALID("\xf0\x80\x80\xaf"); /* '/' in 4 bytes */
    INVALID("\xf0\x8f\xbf\xbf"); /* U+FFFF in 4 bytes */
}

static void test_utf8_surrogates(void **state)
{
    INVALID("\xed\xa0\x80");             /* U+D800 */
    INVALID("\xed\xad\xbf");             /* U+DB7F */
    INVALID("\xed\xb0\x80");             /* U+DC00 */
    INVALID("\xed\xbf\xbf");             /* U+DFFF */
    INVALID("\xed\xa0\xbd\xed\xb8\x80"); /* CESU-8 pair */
}

static void test_utf8_above_max(void **state)
{
    INVALID("\xf4\x90\x80\x80"); /* U+110000 */
    INVALID("\xf5\x80\x80\x80");
    INVALID("\xf7\xbf\xbf\xbf");
    INVALID("\xf8\x88\x80\x80\x80");
    INVALID("\xfc\x84\x80\x80\x80\x80");
    INVALID("\xfe");
    INVALID("\xff");
}

static void test_utf8_truncated_and_stray(void **state)
{
    INVALID("\xc3");
    INVALID("\xe2\x82");
    INVALID("\xf0\x9f\x98");
    INVALID("a\xc3");
    INVALID("\x80");
    INVALID("\xbf");
    INVALID("a\x80z");
    INVALID("\xc3\x28"); /* bad continuation */
    INVALID("\xe2\x28\xa1");
    INVALID("\xe2\x82\x28");
    INVALID("\xf0\x28\x8c\xbc");
    INVALID("\xf0\x9f\x98\x28");
    /* The length is respected: a valid sequence cut by n is invalid. */
    check_utf8("\xc3\xa9", 1, false);
    check_utf8("\xf0\x9f\x98\x80", 3, false);
}

/* ---- json_add_string / json_print --------------------------------------------------------- */

static void add_and_check(const char *in, const char *want)
{
    cJSON *obj = cJSON_CreateObject();
    cJSON *item;
    char *text;
    size_t len = 0;
    cJSON *back;

    assert_non_null(obj);
    item = json_add_string(obj, "k", in);
    assert_non_null(item);
    assert_string_equal(item->valuestring, want);
    text = json_print(obj, &len);
    assert_non_null(text);
    assert_int_equal(len, strlen(text));
    assert_true(utf8_valid(text, len));
    back = cJSON_ParseWithLength(text, len);
    assert_non_null(back);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(back, "k")->valuestring, want);
    cJSON_Delete(back);
    free(text);
    cJSON_Delete(obj);
}

#define FFFD "\xef\xbf\xbd"

static void test_add_string(void **state)
{
    add_and_check("", "");
    add_and_check("plain", "plain");
    add_and_check("caf\xc3\xa9 \xf0\x9f\x98\x80", "caf\xc3\xa9 \xf0\x9f\x98\x80");
    add_and_check("a\xffz", "a" FFFD "z");
    add_and_check("\xc0\xaf", FFFD FFFD);
    add_and_check("\xe2\x82", FFFD FFFD);
    add_and_check("x\xe2\x82", "x" FFFD FFFD);
    add_and_check("\xed\xa0\x80", FFFD FFFD FFFD);
    add_and_check("\xf4\x90\x80\x80", FFFD FFFD FFFD FFFD);
    add_and_check("ok\xc3\xa9\x80ok", "ok\xc3\xa9" FFFD "ok");
    add_and_check("\xe2\x82\xac\xe2\x82", "\xe2\x82\xac" FFFD FFFD);
    add_and_check("q\"\\\n\x01", "q\"\\\n\x01");
}

static void test_add_string_all_bad_bytes(void **state)
{
    char in[129];

    for (int i = 0; i < 128; i++)
        in[i] = (char)(0x80 + i);
    in[128] = '\0';
    {
        cJSON *obj = cJSON_CreateObject();
        cJSON *item = json_add_string(obj, "k", in);
        const char *v;

        assert_non_null(item);
        v = item->valuestring;
        assert_int_equal(strlen(v), 128 * 3);
        for (int i = 0; i < 128; i++)
            assert_memory_equal(v + 3 * i, FFFD, 3);
        cJSON_Delete(obj);
    }
}

static void test_print_compact(void **state)
{
    cJSON *root = parse_ok("{ \"a\" : [ 1 , 2 ] , \"b\" : \"x\" }");
    size_t len = 0;
    char *text = json_print(root, &len);

    assert_string_equal(text, "{\"a\":[1,2],\"b\":\"x\"}");
    assert_int_equal(len, strlen("{\"a\":[1,2],\"b\":\"x\"}"));
    free(text);
    cJSON_Delete(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_content_type),
        cmocka_unit_test(test_parse_ok),
        cmocka_unit_test(test_parse_uses_length),
        cmocka_unit_test(test_parse_empty),
        cmocka_unit_test(test_parse_whitespace_only),
        cmocka_unit_test(test_parse_syntax_position),
        cmocka_unit_test(test_parse_trailing_garbage),
        cmocka_unit_test(test_parse_depth_limit),
        cmocka_unit_test(test_parse_brackets_in_strings_do_not_count),
        cmocka_unit_test(test_parse_not_object_422),
        cmocka_unit_test(test_parse_too_large_413),
        cmocka_unit_test(test_parse_invalid_utf8),
        cmocka_unit_test(test_parse_valid_utf8),
        cmocka_unit_test(test_get_string),
        cmocka_unit_test(test_get_missing_required),
        cmocka_unit_test(test_get_missing_optional),
        cmocka_unit_test(test_get_null_is_absent),
        cmocka_unit_test(test_get_string_wrong_type),
        cmocka_unit_test(test_get_string_embedded_nul),
        cmocka_unit_test(test_parse_raw_nul_refused),
        cmocka_unit_test(test_parse_control_bytes_are_not_whitespace),
        cmocka_unit_test(test_escaped_backslash_u0000_is_text),
        cmocka_unit_test(test_get_bool),
        cmocka_unit_test(test_get_u64),
        cmocka_unit_test(test_get_u64_rejects),
        cmocka_unit_test(test_get_u64_message),
        cmocka_unit_test(test_get_u64_huge),
        cmocka_unit_test(test_utf8_valid),
        cmocka_unit_test(test_utf8_overlongs),
        cmocka_unit_test(test_utf8_surrogates),
        cmocka_unit_test(test_utf8_above_max),
        cmocka_unit_test(test_utf8_truncated_and_stray),
        cmocka_unit_test(test_add_string),
        cmocka_unit_test(test_add_string_all_bad_bytes),
        cmocka_unit_test(test_print_compact),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
