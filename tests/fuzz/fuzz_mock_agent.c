/*
 * libFuzzer target for the mock ACP agent's input handling (adapters/
 * mock_agent.c, mock_turn.c): arbitrary bytes are fed as the client's
 * stream, in chunks whose sizes come from the input, with a small line
 * limit so over-long lines are reached.  Invariants: every message the
 * agent writes is one valid UTF-8 JSON object with "jsonrpc":"2.0" that is
 * a response (an id and exactly one of result/error) or a request or
 * notification (a string method); after EOF every prompt finishes (no turn
 * is left running); nothing leaks or crashes.
 */
#include "../../adapters/mock_agent.h"
#include "../../stream/json.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_message(void *arg, const char *msg, size_t len)
{
    cJSON *m, *ver, *id, *method;
    bool result, error;

    (void)arg;
    if (len == 0 || memchr(msg, '\n', len) || !utf8_valid(msg, len))
        abort();
    m = cJSON_ParseWithLength(msg, len);
    if (!cJSON_IsObject(m))
        abort();
    ver = cJSON_GetObjectItemCaseSensitive(m, "jsonrpc");
    id = cJSON_GetObjectItemCaseSensitive(m, "id");
    method = cJSON_GetObjectItemCaseSensitive(m, "method");
    result = cJSON_GetObjectItemCaseSensitive(m, "result") != NULL;
    error = cJSON_GetObjectItemCaseSensitive(m, "error") != NULL;
    if (!cJSON_IsString(ver) || strcmp(ver->valuestring, "2.0") != 0)
        abort();
    if (method) {
        if (!cJSON_IsString(method) || result || error)
            abort();
    } else if (!id || result == error) {
        abort();
    }
    cJSON_Delete(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mock_agent_opts opts = {
        .write = check_message,
        .arg = NULL,
        .max_line = 4096,
        .slow_delay_ms = 0,
    };
    struct mock_agent *a = mock_agent_new(&opts);
    size_t off = 0;
    unsigned ticks = 0;

    /* The first byte picks the chunk size, so line splits land anywhere. */
    size_t chunk = size ? (size_t)data[0] % 64 + 1 : 1;

    while (off < size) {
        size_t n = size - off < chunk ? size - off : chunk;

        mock_agent_feed(a, (const char *)data + off, n);
        if (mock_agent_timeout(a) == 0)
            mock_agent_tick(a);
        off += n;
    }
    mock_agent_eof(a);
    /* With no delay every slow turn can finish; a turn that cannot is a bug. */
    while (mock_agent_busy(a) && ticks++ < 100000) {
        if (mock_agent_timeout(a) < 0)
            abort();
        mock_agent_tick(a);
    }
    if (mock_agent_busy(a))
        abort();
    mock_agent_free(a);
    return 0;
}
