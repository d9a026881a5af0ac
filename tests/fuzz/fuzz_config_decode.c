/*
 * libFuzzer target for the /v1/config validators and the config file
 * reader/writer (adapters/config_decode.c).  Invariants: a rejected entry
 * is a 422 and a rejected file a 400; an accepted entry is canonical
 * (decoding it again gives the same document); an accepted file renders
 * to valid UTF-8 that parses back to the same map and renders to the same
 * bytes again; nothing leaks or crashes.
 */
#include "../../adapters/config_decode.h"
#include "../../stream/json.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_file(enum config_kind kind, const char *p, size_t n)
{
    struct problem err;
    cJSON *map = NULL, *again = NULL;
    size_t len, len2;
    char *text, *text2;

    if (config_file_parse(kind, p, n, "/f", &map, &err) < 0) {
        if (err.status != 400)
            abort();
        return;
    }
    text = config_file_render(map, &len);
    if (strlen(text) != len || !utf8_valid(text, len))
        abort();
    if (config_file_parse(kind, text, len, "/f", &again, &err) < 0 ||
        !cJSON_Compare(map, again, true))
        abort();
    text2 = config_file_render(again, &len2);
    if (len != len2 || memcmp(text, text2, len) != 0)
        abort();
    free(text);
    free(text2);
    cJSON_Delete(map);
    cJSON_Delete(again);
}

static void check_entry(enum config_kind kind, const cJSON *in)
{
    struct problem err;
    cJSON *entry = NULL, *again = NULL;

    if (config_entry_decode(kind, in, &entry, &err) < 0) {
        if (err.status != 422)
            abort();
        return;
    }
    if (config_entry_decode(kind, entry, &again, &err) < 0 || !cJSON_Compare(entry, again, true))
        abort();
    cJSON_Delete(entry);
    cJSON_Delete(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    cJSON *in = cJSON_ParseWithLength(p, size);

    for (int k = CONFIG_MCP; k <= CONFIG_SKILLS; k++) {
        check_file((enum config_kind)k, p, size);
        if (in) {
            const cJSON *member;

            check_entry((enum config_kind)k, in);
            /* Each member too, as the values of a config file are checked. */
            cJSON_ArrayForEach(member, in) check_entry((enum config_kind)k, member);
        }
    }
    cJSON_Delete(in);
    return 0;
}
