/*
 * libFuzzer target for stream/query: query_parse (percent decoding, limits)
 * on arbitrary bytes, the same bytes split on '&' and added undecoded with
 * query_add (the libwebsockets path), then every getter on every key seen
 * plus the names agentd uses.  Asserts the getters' contracts: a string
 * handed out is valid UTF-8 without NUL, a bool came from "true"/"false",
 * an integer is within its maximum and spelled in decimal digits only.
 */
#include "../../stream/json.h"
#include "../../stream/limits.h"
#include "../../stream/query.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const fixed_keys[] = {"path",  "recursive",    "offset",
                                         "limit", "access_token", ""};

static void check_problem(const struct problem *err)
{
    if (err->status != 400 || err->kind != PROBLEM_INVALID_REQUEST)
        abort();
    if (memchr(err->message, '\0', sizeof(err->message)) == NULL)
        abort();
}

static void check_getters(const struct query *q, const char *key)
{
    struct problem err;
    const char *s = NULL;
    bool b = false;
    uint64_t v = 0;
    int r;

    r = query_str(q, key, &s, &err);
    if (r == 1) {
        size_t n = strlen(s);
        if (!utf8_valid(s, n))
            abort();
        /* A NUL inside the value would have made it shorter than value_len. */
        for (size_t i = 0; i < q->n; i++)
            if (q->params[i].value == s && q->params[i].value_len != n)
                abort();
    } else if (r < 0) {
        check_problem(&err);
    }

    r = query_bool(q, key, &b, &err);
    if (r == 1) {
        const char *want = b ? "true" : "false";
        if (query_str(q, key, &s, &err) != 1 || strcmp(s, want) != 0)
            abort();
    } else if (r < 0) {
        check_problem(&err);
    }

    static const uint64_t maxes[] = {0, 1, 1000, UINT64_MAX};
    for (size_t m = 0; m < sizeof(maxes) / sizeof(maxes[0]); m++) {
        r = query_u64(q, key, maxes[m], &v, &err);
        if (r == 1) {
            if (v > maxes[m] || query_str(q, key, &s, &err) != 1 || !*s ||
                strspn(s, "0123456789") != strlen(s))
                abort();
        } else if (r < 0) {
            check_problem(&err);
        }
    }
}

static void check_query(const struct query *q)
{
    if (q->n > LIM_QUERY_PARAMS || q->bytes > LIM_QUERY_BYTES)
        abort();
    for (size_t i = 0; i < q->n; i++) {
        if (!q->params[i].key || !q->params[i].value || q->params[i].value[q->params[i].value_len])
            abort();
        check_getters(q, q->params[i].key);
    }
    for (size_t i = 0; i < sizeof(fixed_keys) / sizeof(fixed_keys[0]); i++)
        check_getters(q, fixed_keys[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *raw = (const char *)data;
    struct problem err;
    struct query q;
    int r;

    /* Decoding parser. */
    query_init(&q);
    r = query_parse(&q, raw, size, &err);
    if (r < 0 && err.status != 400 && err.status != 414)
        abort();
    if (r == 0 && size > LIM_QUERY_BYTES)
        abort();
    check_query(&q);
    query_done(&q);

    /* Already-decoded fragments, as libwebsockets hands them over. */
    query_init(&q);
    for (size_t i = 0; i <= size;) {
        const char *amp = i < size ? memchr(raw + i, '&', size - i) : NULL;
        size_t n = amp ? (size_t)(amp - (raw + i)) : size - i;
        if (query_add(&q, raw + i, n, &err) < 0) {
            if (err.status != 400 && err.status != 414)
                abort();
            break;
        }
        i += n + 1;
    }
    check_query(&q);
    query_done(&q);
    return 0;
}
