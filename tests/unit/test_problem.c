/*
 * Unit tests for stream/problem: the problem+json document of every kind
 * (type URN, title, status, detail prefix, details members), truncation of
 * long messages, and valid JSON/UTF-8 whatever bytes the message holds.
 * Every rendered document is parsed back with cJSON and checked field by field.
 */
#include "../../stream/buf.h"
#include "../../stream/json.h"
#include "../../stream/problem.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* Renders p, checks the bytes are valid UTF-8 JSON and returns the parsed document. */
static cJSON *render(const struct problem *p)
{
    struct buf out;
    cJSON *doc;

    buf_init(&out, 64 * 1024);
    assert_int_equal(problem_render(p, &out), 0);
    assert_non_null(out.data);
    assert_int_equal(strlen(out.data), out.len);
    assert_true(utf8_valid(out.data, out.len));
    doc = cJSON_ParseWithLength(out.data, out.len);
    assert_non_null(doc);
    assert_true(cJSON_IsObject(doc));
    buf_done(&out);
    return doc;
}

static const char *get_str(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    assert_non_null(v);
    assert_true(cJSON_IsString(v));
    return v->valuestring;
}

static int get_int(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    assert_non_null(v);
    assert_true(cJSON_IsNumber(v));
    return v->valueint;
}

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Checks type, title, status and detail of a rendered problem. */
static void check_head(const cJSON *doc, const char *kind, const char *title, int status,
                       const char *detail)
{
    char urn[128];
    int n = snprintf(urn, sizeof(urn), "urn:sandbox-agent:error:%s", kind);

    assert_in_range(n, 1, sizeof(urn) - 1);
    assert_string_equal(get_str(doc, "type"), urn);
    assert_string_equal(get_str(doc, "title"), title);
    assert_int_equal(get_int(doc, "status"), status);
    assert_string_equal(get_str(doc, "detail"), detail);
}

static void check_details_message(const cJSON *doc, const char *message)
{
    const cJSON *details = cJSON_GetObjectItemCaseSensitive(doc, "details");

    assert_non_null(details);
    assert_true(cJSON_IsObject(details));
    assert_string_equal(get_str(details, "message"), message);
    assert_int_equal(cJSON_GetArraySize(details), 1);
}

static void test_set_returns_minus_one(void **state)
{
    struct problem p;

    assert_int_equal(problem_set(&p, 409, PROBLEM_CONFLICT, "x %d", 1), -1);
    assert_int_equal(p.status, 409);
    assert_int_equal(p.kind, PROBLEM_CONFLICT);
    assert_string_equal(p.message, "x 1");
    assert_null(p.resource);
    assert_string_equal(p.id, "");
    assert_int_equal(problem_not_found(&p, "process", "p1"), -1);
}

static void test_kind_names(void **state)
{
    assert_string_equal(problem_kind_name(PROBLEM_INVALID_REQUEST), "invalid_request");
    assert_string_equal(problem_kind_name(PROBLEM_NOT_FOUND), "not_found");
    assert_string_equal(problem_kind_name(PROBLEM_CONFLICT), "conflict");
    assert_string_equal(problem_kind_name(PROBLEM_STREAM_ERROR), "stream_error");
    assert_string_equal(problem_kind_name(PROBLEM_TOKEN_INVALID), "token_invalid");
    assert_string_equal(problem_kind_name(PROBLEM_PERMISSION_DENIED), "permission_denied");
    assert_string_equal(problem_kind_name(PROBLEM_NOT_ACCEPTABLE), "not_acceptable");
    assert_string_equal(problem_kind_name(PROBLEM_UNSUPPORTED_MEDIA_TYPE),
                        "unsupported_media_type");
    assert_string_equal(problem_kind_name(PROBLEM_TIMEOUT), "timeout");
    assert_string_equal(problem_kind_name(PROBLEM_SESSION_NOT_FOUND), "session_not_found");
    /* Out of range falls back instead of reading past the table. */
    assert_string_equal(problem_kind_name(PROBLEM_KIND_COUNT), "invalid_request");
    assert_string_equal(problem_kind_name((enum problem_kind)(-1)), "invalid_request");
}

static void test_status_text(void **state)
{
    assert_string_equal(problem_status_text(200), "OK");
    /* Every status agentd sends has its phrase (202: ACP notifications, 426: WebSocket). */
    assert_string_equal(problem_status_text(202), "Accepted");
    assert_string_equal(problem_status_text(426), "Upgrade Required");
    assert_string_equal(problem_status_text(505), "HTTP Version Not Supported");
    assert_string_equal(problem_status_text(400), "Bad Request");
    assert_string_equal(problem_status_text(401), "Unauthorized");
    assert_string_equal(problem_status_text(403), "Forbidden");
    assert_string_equal(problem_status_text(404), "Not Found");
    assert_string_equal(problem_status_text(409), "Conflict");
    assert_string_equal(problem_status_text(413), "Payload Too Large");
    assert_string_equal(problem_status_text(414), "URI Too Long");
    assert_string_equal(problem_status_text(422), "Unprocessable Entity");
    assert_string_equal(problem_status_text(502), "Bad Gateway");
    assert_string_equal(problem_status_text(507), "Insufficient Storage");
    assert_string_equal(problem_status_text(0), "Error");
    assert_string_equal(problem_status_text(299), "Error");
    assert_string_equal(problem_status_text(-1), "Error");
}

static void test_invalid_request_title_follows_status(void **state)
{
    static const struct {
        int status;
        const char *title;
    } cases[] = {
        {400, "Invalid Request"},
        {404, "Not Found"},
        {405, "Method Not Allowed"},
        {413, "Payload Too Large"},
        {414, "URI Too Long"},
        {416, "Range Not Satisfiable"},
        {422, "Unprocessable Entity"},
        {500, "Internal Server Error"},
        {599, "Error"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct problem p;
        cJSON *doc;

        problem_set(&p, cases[i].status, PROBLEM_INVALID_REQUEST, "bad `x`");
        doc = render(&p);
        check_head(doc, "invalid_request", cases[i].title, cases[i].status,
                   "invalid request: bad `x`");
        /* invalid_request carries no details member. */
        assert_null(cJSON_GetObjectItemCaseSensitive(doc, "details"));
        cJSON_Delete(doc);
    }
}

static void test_not_found(void **state)
{
    struct problem p;
    const cJSON *details;
    cJSON *doc;

    problem_not_found(&p, "process", "abc-123");
    assert_int_equal(p.status, 404);
    assert_int_equal(p.kind, PROBLEM_NOT_FOUND);
    doc = render(&p);
    check_head(doc, "not_found", "Not Found", 404, "not found: process abc-123");
    details = cJSON_GetObjectItemCaseSensitive(doc, "details");
    assert_non_null(details);
    assert_string_equal(get_str(details, "id"), "abc-123");
    assert_string_equal(get_str(details, "resource"), "process");
    assert_int_equal(cJSON_GetArraySize(details), 2);
    cJSON_Delete(doc);
}

static void test_session_not_found(void **state)
{
    struct problem p;
    cJSON *doc;

    assert_int_equal(problem_session_not_found(&p, "mcp:my server"), -1);
    assert_int_equal(p.status, 404);
    assert_int_equal(p.kind, PROBLEM_SESSION_NOT_FOUND);
    doc = render(&p);
    check_head(doc, "session_not_found", "Session Not Found", 404,
               "session not found: mcp:my server");
    /* Agent-related kinds carry their data at the top level, not in details. */
    assert_string_equal(get_str(doc, "sessionId"), "mcp:my server");
    assert_null(cJSON_GetObjectItemCaseSensitive(doc, "details"));
    assert_int_equal(cJSON_GetArraySize(doc), 5);
    cJSON_Delete(doc);
}

static void test_not_found_long_id(void **state)
{
    char id[2000];
    struct problem p;
    const cJSON *details;
    cJSON *doc;

    memset(id, 'i', sizeof(id) - 1);
    id[sizeof(id) - 1] = '\0';
    problem_not_found(&p, "path", id);
    doc = render(&p);
    details = cJSON_GetObjectItemCaseSensitive(doc, "details");
    assert_non_null(details);
    assert_int_equal(strlen(get_str(details, "id")), PROBLEM_ID_MAX - 1);
    assert_true(starts_with(get_str(doc, "detail"), "not found: path iii"));
    cJSON_Delete(doc);
}

static void test_with_message_kinds(void **state)
{
    static const struct {
        enum problem_kind kind;
        int status;
        const char *name;
        const char *title;
        const char *detail;
    } cases[] = {
        {PROBLEM_CONFLICT, 409, "conflict", "Conflict", "conflict: it exists"},
        {PROBLEM_STREAM_ERROR, 502, "stream_error", "Stream Error", "stream error: it exists"},
        {PROBLEM_STREAM_ERROR, 507, "stream_error", "Stream Error", "stream error: it exists"},
        {PROBLEM_PERMISSION_DENIED, 403, "permission_denied", "Permission Denied",
         "permission denied: it exists"},
        {PROBLEM_NOT_ACCEPTABLE, 406, "not_acceptable", "Not Acceptable",
         "not acceptable: it exists"},
        {PROBLEM_UNSUPPORTED_MEDIA_TYPE, 415, "unsupported_media_type", "Unsupported Media Type",
         "unsupported media type: it exists"},
        {PROBLEM_TIMEOUT, 504, "timeout", "Timeout", "timeout: it exists"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct problem p;
        cJSON *doc;

        problem_set(&p, cases[i].status, cases[i].kind, "it %s", "exists");
        doc = render(&p);
        check_head(doc, cases[i].name, cases[i].title, cases[i].status, cases[i].detail);
        check_details_message(doc, "it exists");
        cJSON_Delete(doc);
    }
}

static void test_token_invalid(void **state)
{
    struct problem p;
    cJSON *doc;

    problem_set(&p, 401, PROBLEM_TOKEN_INVALID, "missing bearer token");
    doc = render(&p);
    /* The detail is fixed; the reason only appears in details.message. */
    check_head(doc, "token_invalid", "Token Invalid", 401, "token invalid");
    check_details_message(doc, "missing bearer token");
    cJSON_Delete(doc);
}

static void test_out_of_range_kind_renders_as_invalid_request(void **state)
{
    struct problem p;
    cJSON *doc;

    problem_set(&p, 400, PROBLEM_INVALID_REQUEST, "oops");
    p.kind = PROBLEM_KIND_COUNT;
    doc = render(&p);
    check_head(doc, "invalid_request", "Invalid Request", 400, "invalid request: oops");
    cJSON_Delete(doc);
}

static void test_set_clears_not_found_fields(void **state)
{
    struct problem p;
    cJSON *doc;

    problem_not_found(&p, "path", "/x");
    problem_set(&p, 409, PROBLEM_CONFLICT, "later");
    assert_null(p.resource);
    assert_string_equal(p.id, "");
    doc = render(&p);
    check_details_message(doc, "later");
    cJSON_Delete(doc);
}

static void test_truncation(void **state)
{
    char big[5000];
    struct problem p;
    const char *detail;
    size_t n;
    cJSON *doc;

    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    problem_set(&p, 409, PROBLEM_CONFLICT, "%s", big);
    n = strlen(p.message);
    assert_int_equal(n, PROBLEM_MESSAGE_MAX - 1);
    /* The cut is marked so a truncated path is not mistaken for the real one. */
    assert_string_equal(p.message + n - 3, "...");
    assert_int_equal(p.message[n - 4], 'a');

    doc = render(&p);
    detail = get_str(doc, "detail");
    assert_true(starts_with(detail, "conflict: aaaa"));
    assert_int_equal(strlen(detail), strlen("conflict: ") + PROBLEM_MESSAGE_MAX - 1);
    assert_string_equal(detail + strlen(detail) - 3, "...");
    check_details_message(doc, p.message);
    cJSON_Delete(doc);
}

static void test_truncation_exact_fit(void **state)
{
    char msg[PROBLEM_MESSAGE_MAX];
    struct problem p;

    memset(msg, 'b', sizeof(msg) - 1);
    msg[sizeof(msg) - 1] = '\0';
    problem_set(&p, 400, PROBLEM_INVALID_REQUEST, "%s", msg);
    /* 1023 bytes fit: no "..." marker. */
    assert_string_equal(p.message, msg);
}

static void test_truncation_inside_multibyte_char(void **state)
{
    char big[1 + 2 * 700 + 1];
    struct problem p;
    cJSON *doc;

    /* 'a' then 700 x U+00E9: the cut at byte 1020 falls inside a character. */
    big[0] = 'a';
    for (size_t i = 0; i < 700; i++)
        memcpy(big + 1 + 2 * i, "\xc3\xa9", 2);
    big[sizeof(big) - 1] = '\0';
    problem_set(&p, 422, PROBLEM_STREAM_ERROR, "%s", big);
    doc = render(&p); /* render() checks UTF-8 validity and that it parses */
    assert_true(starts_with(get_str(doc, "detail"), "stream error: a\xc3\xa9"));
    cJSON_Delete(doc);
}

static void test_invalid_utf8_message(void **state)
{
    struct problem p;
    const cJSON *details;
    cJSON *doc;

    problem_set(&p, 409, PROBLEM_CONFLICT, "bad \xff\xfe \xc0\xaf \xed\xa0\x80 \xe2\x82 end");
    doc = render(&p);
    assert_string_equal(get_str(doc, "detail"),
                        "conflict: bad \xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd "
                        "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd end");
    details = cJSON_GetObjectItemCaseSensitive(doc, "details");
    assert_non_null(details);
    assert_true(utf8_valid(get_str(details, "message"), strlen(get_str(details, "message"))));
    cJSON_Delete(doc);
}

static void test_invalid_utf8_not_found_id(void **state)
{
    struct problem p;
    const cJSON *details;
    cJSON *doc;

    problem_not_found(&p, "path", "/tmp/\xff\x80name");
    doc = render(&p);
    details = cJSON_GetObjectItemCaseSensitive(doc, "details");
    assert_non_null(details);
    assert_string_equal(get_str(details, "id"), "/tmp/\xef\xbf\xbd\xef\xbf\xbdname");
    cJSON_Delete(doc);
}

static void test_escapes_round_trip(void **state)
{
    static const char msg[] = "quote \" backslash \\ nl \n tab \t cr \r ctl \x01\x1f del \x7f "
                              "slash / </script> \xe2\x82\xac \xf0\x9f\x98\x80";
    struct problem p;
    cJSON *doc;

    problem_set(&p, 409, PROBLEM_CONFLICT, "%s", msg);
    doc = render(&p);
    check_details_message(doc, msg);
    cJSON_Delete(doc);
}

static void test_render_appends(void **state)
{
    struct buf out;
    struct problem p;

    buf_init(&out, 4096);
    assert_int_equal(buf_append_str(&out, "prefix:"), 0);
    problem_set(&p, 400, PROBLEM_INVALID_REQUEST, "x");
    assert_int_equal(problem_render(&p, &out), 0);
    assert_true(starts_with(out.data, "prefix:{"));
    assert_int_equal(out.data[out.len - 1], '}');
    buf_done(&out);
}

static void test_render_over_buffer_max(void **state)
{
    struct buf out;
    struct problem p;

    buf_init(&out, 32);
    assert_int_equal(buf_append_str(&out, "keep"), 0);
    problem_set(&p, 400, PROBLEM_INVALID_REQUEST, "a message that does not fit");
    assert_int_equal(problem_render(&p, &out), -E2BIG);
    assert_string_equal(out.data, "keep");
    assert_int_equal(out.len, 4);
    buf_done(&out);
}

static int call_vset(struct problem *p, int status, enum problem_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int call_vset(struct problem *p, int status, enum problem_kind kind, const char *fmt, ...)
{
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = problem_vset(p, status, kind, fmt, ap);
    va_end(ap);
    return r;
}

static void test_vset(void **state)
{
    struct problem p;

    problem_not_found(&p, "path", "/old");
    assert_int_equal(call_vset(&p, 413, PROBLEM_INVALID_REQUEST, "%s=%d", "k", 5), -1);
    assert_int_equal(p.status, 413);
    assert_int_equal(p.kind, PROBLEM_INVALID_REQUEST);
    assert_string_equal(p.message, "k=5");
    assert_null(p.resource);
    assert_string_equal(p.id, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_returns_minus_one),
        cmocka_unit_test(test_kind_names),
        cmocka_unit_test(test_status_text),
        cmocka_unit_test(test_invalid_request_title_follows_status),
        cmocka_unit_test(test_not_found),
        cmocka_unit_test(test_session_not_found),
        cmocka_unit_test(test_not_found_long_id),
        cmocka_unit_test(test_with_message_kinds),
        cmocka_unit_test(test_token_invalid),
        cmocka_unit_test(test_out_of_range_kind_renders_as_invalid_request),
        cmocka_unit_test(test_set_clears_not_found_fields),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_truncation_exact_fit),
        cmocka_unit_test(test_truncation_inside_multibyte_char),
        cmocka_unit_test(test_invalid_utf8_message),
        cmocka_unit_test(test_invalid_utf8_not_found_id),
        cmocka_unit_test(test_escapes_round_trip),
        cmocka_unit_test(test_render_appends),
        cmocka_unit_test(test_render_over_buffer_max),
        cmocka_unit_test(test_vset),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
