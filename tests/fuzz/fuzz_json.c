/*
 * libFuzzer target for stream/json: json_parse_object on arbitrary bytes,
 * then every getter on the field names the request decoders use ("from",
 * "to", "overwrite") and on every member actually present.  Also checks
 * utf8_valid against an independent reference decoder, and that
 * json_add_string always yields a document cJSON can read back.
 * An accepted body never holds a raw NUL byte (it would cut a C string).
 */
#include "../../fs/fs_ops.h"
#include "../../stream/json.h"
#include "../../stream/limits.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const fields[] = {"from", "to", "overwrite"};

/* Reference UTF-8 check written independently of stream/json.c (RFC 3629 table). */
static bool ref_utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;

    while (i < n) {
        unsigned char c = s[i];
        unsigned char lo = 0x80, hi = 0xbf;
        size_t len;

        if (c <= 0x7f) {
            i++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            len = 2;
        } else if (c == 0xe0) {
            len = 3, lo = 0xa0;
        } else if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef) {
            len = 3;
        } else if (c == 0xed) {
            len = 3, hi = 0x9f;
        } else if (c == 0xf0) {
            len = 4, lo = 0x90;
        } else if (c >= 0xf1 && c <= 0xf3) {
            len = 4;
        } else if (c == 0xf4) {
            len = 4, hi = 0x8f;
        } else {
            return false;
        }
        if (n - i < len || s[i + 1] < lo || s[i + 1] > hi)
            return false;
        for (size_t k = 2; k < len; k++)
            if (s[i + k] < 0x80 || s[i + k] > 0xbf)
                return false;
        i += len;
    }
    return true;
}

static void check_problem(const struct problem *err, int status)
{
    if (err->status != status || err->kind != PROBLEM_INVALID_REQUEST)
        abort();
    if (memchr(err->message, '\0', sizeof(err->message)) == NULL)
        abort();
}

static void check_field(const cJSON *root, const char *field)
{
    static const uint64_t maxes[] = {0, 1, LIM_PATH_BYTES, UINT64_MAX};
    struct problem err;
    const char *s;
    bool b;
    uint64_t v;
    int r;

    for (int required = 0; required <= 1; required++) {
        s = NULL;
        r = json_get_string(root, field, required, &s, &err);
        if (r == 1 && (!s || !utf8_valid(s, strlen(s))))
            abort();
        if (r < 0)
            check_problem(&err, 422);
        if (r == 0 && required)
            abort();

        r = json_get_bool(root, field, required, &b, &err);
        if (r < 0)
            check_problem(&err, 422);
        if (r == 0 && required)
            abort();

        for (size_t m = 0; m < sizeof(maxes) / sizeof(maxes[0]); m++) {
            r = json_get_u64(root, field, required, maxes[m], &v, &err);
            if (r == 1 && v > maxes[m])
                abort();
            if (r < 0)
                check_problem(&err, 422);
        }
    }
}

static void check_add_string(const char *s)
{
    cJSON *obj = cJSON_CreateObject();
    cJSON *back;
    char *text;
    size_t len;

    if (!obj)
        return;
    if (!json_add_string(obj, "k", s))
        abort();
    text = json_print(obj, &len);
    if (!utf8_valid(text, len))
        abort();
    back = cJSON_ParseWithLength(text, len);
    if (!back)
        abort();
    cJSON_Delete(back);
    free(text);
    cJSON_Delete(obj);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    struct problem err;
    cJSON *root = NULL;
    char *cstr;
    int r;

    if (utf8_valid(p, size) != ref_utf8_valid(data, size))
        abort();

    r = json_parse_object(p, size, &root, &err);
    if (r == 0) {
        const cJSON *item;
        char *text;
        size_t len;
        cJSON *back;

        if (!cJSON_IsObject(root) || !ref_utf8_valid(data, size))
            abort();
        /* JSON text has no place for a raw NUL byte; accepting one truncates a string. */
        if (memchr(data, '\0', size))
            abort();
        for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
            check_field(root, fields[i]);
        for (item = root->child; item; item = item->next) {
            if (item->string)
                check_field(root, item->string);
        }
        /* What we accepted re-prints to something we accept again. */
        text = json_print(root, &len);
        back = NULL;
        if (json_parse_object(text, len, &back, &err) != 0)
            abort();
        cJSON_Delete(back);
        free(text);
        cJSON_Delete(root);
    } else {
        if (r != -1 || root != NULL)
            abort();
        if (err.status != 400 && err.status != 413 && err.status != 422)
            abort();
        check_problem(&err, err.status);
    }

    /* The request decoder of POST /v1/fs/move: 0 with both paths, or a 4xx problem. */
    {
        struct fs_move_request m = {0};
        if (fs_move_request_decode(p, size, &m, &err) == 0) {
            if (!m.from || !m.to || strlen(m.from) > LIM_PATH_BYTES ||
                strlen(m.to) > LIM_PATH_BYTES)
                abort();
            fs_move_request_done(&m);
        } else if (err.status < 400 || err.status > 499 || m.from || m.to) {
            abort();
        }
    }

    json_content_type_ok(NULL);
    cstr = malloc(size + 1);
    if (!cstr)
        return 0;
    memcpy(cstr, data, size);
    cstr[size] = '\0';
    (void)json_content_type_ok(cstr);
    check_add_string(cstr);
    free(cstr);
    return 0;
}
