/*
 * json: request decoding and reply helpers around cJSON.  Parsing is always
 * length-bounded (cJSON_ParseWithLengthOpts) and preceded by a cheap scan
 * that rejects excessive nesting before cJSON recurses into it.
 */
#include "json.h"

#include "limits.h"
#include "xmalloc.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool json_content_type_ok(const char *ct)
{
    size_t n;
    const char *semi, *slash;

    if (!ct)
        return false;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    semi = strchr(ct, ';');
    n = semi ? (size_t)(semi - ct) : strlen(ct);
    while (n && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
        n--;
    if (n < 16 || strncasecmp(ct, "application/", 12) != 0)
        return false;
    if (n == 16 && strncasecmp(ct + 12, "json", 4) == 0)
        return true;
    /* application/<anything>+json */
    slash = ct + 12;
    return n > 17 && strncasecmp(ct + n - 5, "+json", 5) == 0 && slash < ct + n - 5;
}

/*
 * Pre-scan before cJSON sees the text.  Returns 1 when arrays/objects nest
 * deeper than limit, 2 when a string contains the escape \u0000 (C strings
 * would silently cut it there), 3 for a raw control byte (cJSON would take
 * it for whitespace or keep it in a string; JSON allows neither), else 0.
 */
static int json_prescan(const char *p, size_t n, int limit)
{
    int depth = 0;
    bool in_str = false;

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c < 0x20 && (in_str || (c != ' ' && c != '\t' && c != '\n' && c != '\r')))
            return 3;
        if (in_str) {
            if (c == '\\') {
                if (i + 5 < n && p[i + 1] == 'u' && memcmp(p + i + 2, "0000", 4) == 0)
                    return 2;
                i++;
                if (i < n && (unsigned char)p[i] < 0x20)
                    return 3;
            } else if (c == '"') {
                in_str = false;
            }
            continue;
        }
        if (c == '"') {
            in_str = true;
        } else if (c == '[' || c == '{') {
            if (++depth > limit)
                return 1;
        } else if (c == ']' || c == '}') {
            depth--;
        }
    }
    return 0;
}

/* 1-based line and column of byte offset off, for error messages. */
static void json_position(const char *p, size_t off, unsigned *ret_line, unsigned *ret_col)
{
    unsigned line = 1, col = 1;

    for (size_t i = 0; i < off; i++) {
        if (p[i] == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    *ret_line = line;
    *ret_col = col;
}

int json_parse_object(const char *p, size_t n, cJSON **ret, struct problem *err)
{
    const char *end = NULL;
    cJSON *root;
    unsigned line, col;

    if (n > LIM_JSON_BODY_BYTES)
        return problem_set(err, 413, PROBLEM_INVALID_REQUEST,
                           "request body is %zu bytes; JSON bodies are limited to %u bytes", n,
                           LIM_JSON_BODY_BYTES);
    if (n == 0)
        return problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                           "request body is empty; send a JSON object such as {}");
    if (!utf8_valid(p, n))
        return problem_set(err, 400, PROBLEM_INVALID_REQUEST, "request body is not valid UTF-8");
    switch (json_prescan(p, n, LIM_JSON_DEPTH)) {
    case 1:
        return problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                           "JSON nesting is deeper than %d levels", LIM_JSON_DEPTH);
    case 2:
        return problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                           "JSON strings may not contain NUL characters (\\u0000)");
    case 3:
        return problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                           "request body contains a raw control character; escape it");
    default:
        break;
    }
    root = cJSON_ParseWithLengthOpts(p, n, &end, false);
    if (root && end) {
        /* Only whitespace may follow the value. */
        while (end < p + n && (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n'))
            end++;
        if (end != p + n) {
            cJSON_Delete(root);
            root = NULL;
        }
    }
    if (!root) {
        size_t off = end && end >= p && end <= p + n ? (size_t)(end - p) : 0;
        json_position(p, off, &line, &col);
        return problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                           "request body is not valid JSON (error at line %u column %u)", line,
                           col);
    }
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return problem_set(err, 422, PROBLEM_INVALID_REQUEST, "request body must be a JSON object");
    }
    *ret = root;
    return 0;
}

static const char *json_type_name(const cJSON *v)
{
    if (cJSON_IsString(v))
        return "a string";
    if (cJSON_IsNumber(v))
        return "a number";
    if (cJSON_IsBool(v))
        return "a boolean";
    if (cJSON_IsArray(v))
        return "an array";
    if (cJSON_IsObject(v))
        return "an object";
    return "null";
}

/* Shared prologue of the getters: 0 absent, 1 present, -1 error. */
static int json_field(const cJSON *obj, const char *field, bool required, const char *want,
                      const cJSON **ret_v, struct problem *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, field);

    if (!v || cJSON_IsNull(v)) {
        if (required)
            return problem_set(err, 422, PROBLEM_INVALID_REQUEST, "missing field `%s` (%s)", field,
                               want);
        return 0;
    }
    *ret_v = v;
    return 1;
}

int json_get_string(const cJSON *obj, const char *field, bool required, const char **ret,
                    struct problem *err)
{
    const cJSON *v = NULL;
    int r = json_field(obj, field, required, "a string", &v, err);

    if (r <= 0)
        return r;
    if (!cJSON_IsString(v))
        return problem_set(err, 422, PROBLEM_INVALID_REQUEST, "field `%s` must be a string, got %s",
                           field, json_type_name(v));
    *ret = v->valuestring;
    return 1;
}

int json_get_bool(const cJSON *obj, const char *field, bool required, bool *ret,
                  struct problem *err)
{
    const cJSON *v = NULL;
    int r = json_field(obj, field, required, "true or false", &v, err);

    if (r <= 0)
        return r;
    if (!cJSON_IsBool(v))
        return problem_set(err, 422, PROBLEM_INVALID_REQUEST,
                           "field `%s` must be true or false, got %s", field, json_type_name(v));
    *ret = cJSON_IsTrue(v);
    return 1;
}

int json_get_u64(const cJSON *obj, const char *field, bool required, uint64_t max, uint64_t *ret,
                 struct problem *err)
{
    const cJSON *v = NULL;
    int r = json_field(obj, field, required, "a non-negative integer", &v, err);
    double d;

    if (r <= 0)
        return r;
    if (!cJSON_IsNumber(v))
        return problem_set(err, 422, PROBLEM_INVALID_REQUEST,
                           "field `%s` must be a non-negative integer, got %s", field,
                           json_type_name(v));
    d = v->valuedouble;
    /* Range-check the double before converting: the cast is undefined out of range. */
    if (!(d >= 0 && d < 18446744073709551616.0) || d != (double)(uint64_t)d || (uint64_t)d > max)
        return problem_set(err, 422, PROBLEM_INVALID_REQUEST,
                           "field `%s` must be an integer between 0 and %llu", field,
                           (unsigned long long)max);
    *ret = (uint64_t)d;
    return 1;
}

int json_get_i64(const cJSON *obj, const char *field, bool required, int64_t min, int64_t max,
                 int64_t *ret, struct problem *err)
{
    const cJSON *v = NULL;
    int r = json_field(obj, field, required, "an integer", &v, err);
    double d;

    if (r <= 0)
        return r;
    if (!cJSON_IsNumber(v))
        return problem_set(err, 422, PROBLEM_INVALID_REQUEST,
                           "field `%s` must be an integer, got %s", field, json_type_name(v));
    d = v->valuedouble;
    /* Range-check the double before converting: the cast is undefined out of range. */
    if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0) || d != (double)(int64_t)d ||
        (int64_t)d < min || (int64_t)d > max)
        return problem_set(err, 422, PROBLEM_INVALID_REQUEST,
                           "field `%s` must be an integer between %lld and %lld", field,
                           (long long)min, (long long)max);
    *ret = (int64_t)d;
    return 1;
}

int json_get_string_array(const cJSON *obj, const char *field, size_t max, const char ***ret,
                          size_t *ret_n, struct problem *err)
{
    const cJSON *v = NULL, *item;
    const char **out;
    size_t n = 0;
    int r = json_field(obj, field, false, "an array of strings", &v, err);

    if (r <= 0)
        return r;
    if (!cJSON_IsArray(v))
        return problem_set(err, 422, PROBLEM_INVALID_REQUEST,
                           "field `%s` must be an array of strings, got %s", field,
                           json_type_name(v));
    if ((size_t)cJSON_GetArraySize(v) > max)
        return problem_set(err, 422, PROBLEM_INVALID_REQUEST,
                           "field `%s` has more than %zu elements", field, max);
    out = xcalloc((size_t)cJSON_GetArraySize(v) + 1, sizeof(*out));
    cJSON_ArrayForEach(item, v)
    {
        if (!cJSON_IsString(item)) {
            free(out);
            return problem_set(err, 422, PROBLEM_INVALID_REQUEST,
                               "field `%s` must contain only strings; element %zu is %s", field, n,
                               json_type_name(item));
        }
        out[n++] = item->valuestring;
    }
    *ret = out;
    *ret_n = n;
    return 1;
}

int json_get_env(const cJSON *obj, const char *field, size_t max, char ***ret, size_t *ret_n,
                 struct problem *err)
{
    const cJSON *v = NULL, *item;
    char **out;
    size_t n = 0;
    int r = json_field(obj, field, false, "an object of strings", &v, err);

    if (r <= 0)
        return r;
    if (!cJSON_IsObject(v))
        return problem_set(err, 422, PROBLEM_INVALID_REQUEST,
                           "field `%s` must be an object of string values, got %s", field,
                           json_type_name(v));
    if ((size_t)cJSON_GetArraySize(v) > max)
        return problem_set(err, 422, PROBLEM_INVALID_REQUEST,
                           "field `%s` has more than %zu entries", field, max);
    out = xcalloc((size_t)cJSON_GetArraySize(v) + 1, sizeof(*out));
    cJSON_ArrayForEach(item, v)
    {
        const char *k = item->string ? item->string : "";
        if (!cJSON_IsString(item) || !*k || strchr(k, '=')) {
            for (size_t i = 0; i < n; i++)
                free(out[i]);
            free(out);
            if (!cJSON_IsString(item))
                return problem_set(err, 422, PROBLEM_INVALID_REQUEST,
                                   "field `%s.%s` must be a string, got %s", field, k,
                                   json_type_name(item));
            return problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                               "environment variable name `%s` must be non-empty and contain no "
                               "`=`",
                               k);
        }
        out[n++] = xasprintf("%s=%s", k, item->valuestring);
    }
    *ret = out;
    *ret_n = n;
    return 1;
}
