/*
 * Unit tests for adapters/config_decode: the canonical form of MCP and
 * skills entries (aliases, member order, nulls and unknown members
 * dropped, args defaulted, maps sorted), the 422s naming the field, config
 * file parsing (blank, syntax, top level, bad entries, repeated names) and
 * the reference's pretty-printed file text.
 */
#include "../../adapters/config_decode.h"

#include <cjson/cJSON.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* Decodes text (must succeed) and returns the canonical entry as compact JSON (free()). */
static char *canon(enum config_kind kind, const char *text)
{
    struct problem err;
    cJSON *in = cJSON_Parse(text), *out = NULL;
    char *s;

    assert_non_null(in);
    if (config_entry_decode(kind, in, &out, &err) != 0)
        fail_msg("decode of %s failed: %s", text, err.message);
    s = cJSON_PrintUnformatted(out);
    cJSON_Delete(in);
    cJSON_Delete(out);
    return s;
}

static void check_canon(enum config_kind kind, const char *text, const char *want)
{
    char *got = canon(kind, text);

    assert_string_equal(got, want);
    free(got);
}

/* Decodes text, which must fail with a 422 whose message contains needle. */
static void check_reject(enum config_kind kind, const char *text, const char *needle)
{
    struct problem err;
    cJSON *in = cJSON_Parse(text), *sentinel = (cJSON *)(uintptr_t)0x1234, *out = sentinel;

    assert_non_null(in);
    assert_int_equal(config_entry_decode(kind, in, &out, &err), -1);
    assert_int_equal(err.status, 422);
    assert_int_equal(err.kind, PROBLEM_INVALID_REQUEST);
    if (!strstr(err.message, needle))
        fail_msg("message \"%s\" lacks \"%s\" (input %s)", err.message, needle, text);
    assert_ptr_equal(out, sentinel);
    cJSON_Delete(in);
}

static void test_mcp_local_canonical(void **state)
{
    check_canon(
        CONFIG_MCP,
        "{\"cwd\":\"/w\",\"timeoutMs\":7,\"enabled\":true,\"env\":{\"Z\":\"1\",\"A\":\"2\"},"
        "\"args\":[\"a\"],\"command\":\"c\",\"type\":\"stdio\",\"url\":\"dropped\",\"x\":1}",
        "{\"type\":\"local\",\"command\":\"c\",\"args\":[\"a\"],\"env\":{\"A\":\"2\",\"Z\":"
        "\"1\"},\"enabled\":true,\"timeoutMs\":7,\"cwd\":\"/w\"}");
    /* args default to [], nulls are dropped, a command may be an array. */
    check_canon(CONFIG_MCP,
                "{\"type\":\"local\",\"command\":[\"a\",\"b\"],\"args\":null,\"env\":null,"
                "\"cwd\":null,\"enabled\":null,\"timeoutMs\":null}",
                "{\"type\":\"local\",\"command\":[\"a\",\"b\"],\"args\":[]}");
    /* The largest exact timeout, and -0 as 0. */
    check_canon(CONFIG_MCP, "{\"type\":\"local\",\"command\":\"\",\"timeoutMs\":999999999999999}",
                "{\"type\":\"local\",\"command\":\"\",\"args\":[],\"timeoutMs\":999999999999999}");
    check_canon(CONFIG_MCP, "{\"type\":\"local\",\"command\":\"c\",\"timeoutMs\":-0.0}",
                "{\"type\":\"local\",\"command\":\"c\",\"args\":[],\"timeoutMs\":0}");
    /* A repeated env name keeps its last value. */
    check_canon(CONFIG_MCP,
                "{\"type\":\"local\",\"command\":\"c\",\"env\":{\"K\":\"1\",\"K\":\"2\"}}",
                "{\"type\":\"local\",\"command\":\"c\",\"args\":[],\"env\":{\"K\":\"2\"}}");
}

static void test_mcp_remote_canonical(void **state)
{
    check_canon(CONFIG_MCP,
                "{\"transport\":\"http\",\"timeoutMs\":1,\"enabled\":false,\"oauth\":{\"scope\":"
                "\"s\",\"clientId\":null,\"other\":1},\"envHeaders\":{\"E\":\"1\"},"
                "\"bearerTokenEnvVar\":\"B\",\"headers\":{\"b\":\"1\",\"B\":\"2\"},\"url\":\"u\","
                "\"type\":\"http\",\"command\":\"dropped\"}",
                "{\"type\":\"remote\",\"url\":\"u\",\"headers\":{\"B\":\"2\",\"b\":\"1\"},"
                "\"bearerTokenEnvVar\":\"B\",\"envHeaders\":{\"E\":\"1\"},\"oauth\":{\"scope\":"
                "\"s\"},\"enabled\":false,\"timeoutMs\":1,\"transport\":\"http\"}");
    check_canon(CONFIG_MCP, "{\"type\":\"remote\",\"url\":\"u\",\"oauth\":false}",
                "{\"type\":\"remote\",\"url\":\"u\",\"oauth\":false}");
    check_canon(CONFIG_MCP, "{\"type\":\"remote\",\"url\":\"u\",\"transport\":\"sse\"}",
                "{\"type\":\"remote\",\"url\":\"u\",\"transport\":\"sse\"}");
}

static void test_mcp_rejects(void **state)
{
    check_reject(CONFIG_MCP, "{\"type\":\"bogus\"}", "one of local, stdio, http, remote");
    check_reject(CONFIG_MCP, "{\"command\":\"x\"}", "missing field `type`");
    check_reject(CONFIG_MCP, "{\"type\":\"local\"}", "missing field `command`");
    check_reject(CONFIG_MCP, "{\"type\":\"remote\"}", "missing field `url`");
    check_reject(CONFIG_MCP, "{\"type\":\"local\",\"command\":[1]}", "`command[0]`");
    check_reject(CONFIG_MCP, "{\"type\":\"local\",\"command\":\"c\",\"args\":[\"a\",2]}",
                 "`args[1]` must be a string, got a number");
    check_reject(CONFIG_MCP, "{\"type\":\"local\",\"command\":\"c\",\"env\":{\"A\":true}}",
                 "`env` must map names to strings; `A` is a boolean");
    check_reject(CONFIG_MCP, "{\"type\":\"local\",\"command\":\"c\",\"timeoutMs\":-1}",
                 "`timeoutMs`");
    check_reject(CONFIG_MCP, "{\"type\":\"local\",\"command\":\"c\",\"timeoutMs\":1e15}",
                 "between 0 and 999999999999999");
    check_reject(CONFIG_MCP, "{\"type\":\"local\",\"command\":\"c\",\"enabled\":1}",
                 "`enabled` must be true or false");
    check_reject(CONFIG_MCP, "{\"type\":\"remote\",\"url\":\"u\",\"transport\":\"ws\"}",
                 "`transport`");
    check_reject(CONFIG_MCP, "{\"type\":\"remote\",\"url\":\"u\",\"oauth\":{\"scope\":[]}}",
                 "`oauth.scope` must be a string");
    check_reject(CONFIG_MCP, "{\"type\":\"local\",\"type\":\"local\",\"command\":\"c\"}",
                 "duplicate field `type`");
    check_reject(CONFIG_MCP, "[1]", "expected a JSON object, got an array");
}

static void test_skills(void **state)
{
    check_canon(CONFIG_SKILLS,
                "{\"x\":1,\"sources\":[{\"subpath\":\"p\",\"ref\":\"r\",\"skills\":[\"a\"],"
                "\"source\":\"o/r\",\"type\":\"github\"},{\"type\":\"local\",\"source\":\"/p\","
                "\"ref\":null,\"skills\":null}]}",
                "{\"sources\":[{\"type\":\"github\",\"source\":\"o/r\",\"skills\":[\"a\"],\"ref\":"
                "\"r\",\"subpath\":\"p\"},{\"type\":\"local\",\"source\":\"/p\"}]}");
    check_canon(CONFIG_SKILLS, "{\"sources\":[]}", "{\"sources\":[]}");
    check_reject(CONFIG_SKILLS, "{}", "missing field `sources`");
    check_reject(CONFIG_SKILLS, "{\"sources\":{}}", "`sources` must be an array");
    check_reject(CONFIG_SKILLS, "{\"sources\":[{\"type\":\"a\",\"source\":\"b\"},[]]}",
                 "`sources[1]` must be an object");
    check_reject(CONFIG_SKILLS, "{\"sources\":[{\"type\":\"a\"}]}",
                 "missing field `sources[0].source`");
    check_reject(CONFIG_SKILLS, "{\"sources\":[{\"type\":\"a\",\"source\":\"b\",\"skills\":[0]}]}",
                 "`sources[0].skills[0]`");
}

/* Parses a file that must fail with a 400 naming the path and containing needle. */
static void check_bad_file(const char *text, size_t n, const char *needle)
{
    struct problem err;
    cJSON *map = NULL;

    assert_int_equal(config_file_parse(CONFIG_MCP, text, n, "/d/mcp.json", &map, &err), -1);
    assert_int_equal(err.status, 400);
    assert_null(map);
    static const char prefix[] = "invalid config file /d/mcp.json: ";

    if (strncmp(err.message, prefix, sizeof(prefix) - 1) != 0 || !strstr(err.message, needle))
        fail_msg("message \"%s\" (want \"%s\")", err.message, needle);
}

static void test_file_parse(void **state)
{
    struct problem err;
    cJSON *map = NULL, *b;
    const char *good = "{\"b\":{\"type\":\"stdio\",\"command\":\"x\"},\"a\":{\"type\":\"http\","
                       "\"url\":\"u\"},\"b\":{\"type\":\"local\",\"command\":\"last\"}}";

    assert_int_equal(config_file_parse(CONFIG_MCP, " \n\t", 3, "/f", &map, &err), 0);
    assert_true(cJSON_IsObject(map) && map->child == NULL);
    cJSON_Delete(map);

    assert_int_equal(config_file_parse(CONFIG_MCP, good, strlen(good), "/f", &map, &err), 0);
    /* Sorted, canonical, a repeated name keeping its last value. */
    assert_string_equal(map->child->string, "a");
    assert_string_equal(map->child->next->string, "b");
    assert_null(map->child->next->next);
    b = cJSON_GetObjectItemCaseSensitive(map, "b");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(b, "command")->valuestring, "last");
    cJSON_Delete(map);

    check_bad_file("{\"a\": [", 7, "not valid JSON");
    check_bad_file("{} x", 4, "not valid JSON");
    check_bad_file("[]", 2, "top level must be a JSON object");
    check_bad_file("{\"a\":{\"type\":\"zzz\"}}", 20, "entry `a`: field `type` must be one of");
    check_bad_file("{\"a\":5}", 7, "entry `a`: expected a JSON object, got a number");
    check_bad_file("{\"\xff\":1}", 7, "not valid UTF-8");
}

static void test_render(void **state)
{
    const char *text =
        "{\"z\":{\"type\":\"local\",\"command\":\"c\",\"env\":{\"K\":\"v\\\"\\n\\u0001\"}},"
        "\"a\":{\"type\":\"remote\",\"url\":\"u\",\"oauth\":{}}}";
    const char *want = "{\n"
                       "  \"a\": {\n"
                       "    \"type\": \"remote\",\n"
                       "    \"url\": \"u\",\n"
                       "    \"oauth\": {}\n"
                       "  },\n"
                       "  \"z\": {\n"
                       "    \"type\": \"local\",\n"
                       "    \"command\": \"c\",\n"
                       "    \"args\": [],\n"
                       "    \"env\": {\n"
                       "      \"K\": \"v\\\"\\n\\u0001\"\n"
                       "    }\n"
                       "  }\n"
                       "}";
    struct problem err;
    cJSON *map = NULL, *empty = cJSON_CreateObject();
    size_t len;
    char *out;

    assert_int_equal(config_file_parse(CONFIG_MCP, text, strlen(text), "/f", &map, &err), 0);
    out = config_file_render(map, &len);
    assert_string_equal(out, want);
    assert_int_equal(len, strlen(want));
    free(out);
    out = config_file_render(empty, &len);
    assert_string_equal(out, "{}");
    free(out);
    cJSON_Delete(map);
    cJSON_Delete(empty);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mcp_local_canonical), cmocka_unit_test(test_mcp_remote_canonical),
        cmocka_unit_test(test_mcp_rejects),         cmocka_unit_test(test_skills),
        cmocka_unit_test(test_file_parse),          cmocka_unit_test(test_render),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
