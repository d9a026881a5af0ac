/*
 * libFuzzer target for stream/problem: problem_set (and problem_not_found)
 * with arbitrary message bytes, then problem_render must produce valid UTF-8
 * JSON that cJSON parses, with the type URN, title, status and detail of
 * the kind.  Input layout: byte 0 selects the kind (and not_found mode),
 * bytes 1-2 the status, the rest is the message (cut at the first NUL).
 */
#include "../../stream/buf.h"
#include "../../stream/json.h"
#include "../../stream/problem.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const cJSON *member(const cJSON *obj, const char *key, bool string)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    if (!v || (string ? !cJSON_IsString(v) : !cJSON_IsNumber(v)))
        abort();
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct problem p;
    struct buf out;
    enum problem_kind kind;
    const cJSON *type;
    cJSON *doc;
    char *msg;
    int status;
    bool not_found;

    if (size < 3)
        return 0;
    not_found = data[0] & 0x80;
    kind = (enum problem_kind)((data[0] & 0x7f) % (PROBLEM_KIND_COUNT + 1));
    status = 100 + ((data[1] << 8 | data[2]) % 500);
    msg = malloc(size - 3 + 1);
    if (!msg)
        return 0;
    memcpy(msg, data + 3, size - 3);
    msg[size - 3] = '\0';

    if (not_found) {
        if (problem_not_found(&p, "path", msg) != -1)
            abort();
        kind = PROBLEM_NOT_FOUND;
        status = 404;
    } else if (problem_set(&p, status, kind, "%s", msg) != -1) {
        abort();
    }
    if (strlen(p.message) >= sizeof(p.message) || strlen(p.id) >= sizeof(p.id))
        abort();

    buf_init(&out, 64 * 1024);
    if (problem_render(&p, &out) != 0)
        abort();
    if (!utf8_valid(out.data, out.len) || strlen(out.data) != out.len)
        abort();
    doc = cJSON_ParseWithLength(out.data, out.len);
    if (!doc || !cJSON_IsObject(doc))
        abort();
    type = member(doc, "type", true);
    if (strncmp(type->valuestring, PROBLEM_URN_PREFIX, strlen(PROBLEM_URN_PREFIX)) != 0 ||
        strcmp(type->valuestring + strlen(PROBLEM_URN_PREFIX), problem_kind_name(kind)) != 0)
        abort();
    member(doc, "title", true);
    member(doc, "detail", true);
    if (member(doc, "status", false)->valueint != status)
        abort();
    if (not_found) {
        const cJSON *details = cJSON_GetObjectItemCaseSensitive(doc, "details");
        if (!details || strcmp(member(details, "resource", true)->valuestring, "path") != 0)
            abort();
        member(details, "id", true);
    }
    cJSON_Delete(doc);
    buf_done(&out);
    free(msg);
    return 0;
}
