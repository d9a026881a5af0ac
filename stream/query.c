/*
 * query: storage and typed access for query parameters.  The limits (count
 * and total bytes) bound what one request can make agentd allocate.
 */
#include "query.h"

#include "http_parse.h"
#include "json.h"
#include "limits.h"
#include "xmalloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(LIM_QUERY_PARAMS == 64, "struct query sizes params[] by LIM_QUERY_PARAMS");

void query_init(struct query *q)
{
    q->n = 0;
    q->bytes = 0;
}

void query_done(struct query *q)
{
    if (!q)
        return;
    for (size_t i = 0; i < q->n; i++) {
        free(q->params[i].key);
        free(q->params[i].value);
    }
    q->n = 0;
    q->bytes = 0;
}

int query_add(struct query *q, const char *frag, size_t len, struct problem *err)
{
    const char *eq;
    size_t klen;
    struct query_param *p;

    if (len == 0)
        return 0; /* "a=1&&b=2" */
    if (q->n >= LIM_QUERY_PARAMS)
        return problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                           "too many query parameters (at most %d)", LIM_QUERY_PARAMS);
    if (len > LIM_QUERY_BYTES || q->bytes + len > LIM_QUERY_BYTES)
        return problem_set(err, 414, PROBLEM_INVALID_REQUEST,
                           "query string is longer than %d bytes", LIM_QUERY_BYTES);
    eq = memchr(frag, '=', len);
    klen = eq ? (size_t)(eq - frag) : len;
    p = &q->params[q->n++];
    p->key = xstrndup(frag, klen);
    p->key_len = klen;
    if (eq) {
        p->value_len = len - klen - 1;
        p->value = xstrndup(eq + 1, p->value_len);
    } else {
        p->value_len = 0;
        p->value = xstrdup("");
    }
    q->bytes += len;
    return 0;
}

int query_parse(struct query *q, const char *raw, size_t len, struct problem *err)
{
    char *dec;
    size_t i = 0;
    int r = 0;

    if (len > LIM_QUERY_BYTES)
        return problem_set(err, 414, PROBLEM_INVALID_REQUEST,
                           "query string is longer than %d bytes", LIM_QUERY_BYTES);
    dec = xmalloc(len + 1);
    while (i <= len && r == 0) {
        size_t n = 0;
        for (; i < len && raw[i] != '&'; i++) {
            char c = raw[i];
            if (c == '+') {
                c = ' ';
            } else if (c == '%') {
                int hi = i + 2 < len ? http_hex_digit(raw[i + 1]) : -1;
                int lo = i + 2 < len ? http_hex_digit(raw[i + 2]) : -1;
                if (hi < 0 || lo < 0) {
                    r = problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                                    "query string has a malformed %%-escape at byte %zu", i);
                    break;
                }
                c = (char)(hi << 4 | lo);
                i += 2;
            }
            dec[n++] = c;
        }
        if (r == 0)
            r = query_add(q, dec, n, err);
        i++;
    }
    free(dec);
    return r;
}

/* The single value of key, or NULL; -1 with a problem if it is repeated. */
static int query_find(const struct query *q, const char *key, const struct query_param **ret,
                      struct problem *err)
{
    const struct query_param *found = NULL;
    size_t klen = strlen(key);

    for (size_t i = 0; i < q->n; i++) {
        /* Compare lengths too: an encoded NUL must not make "path%00x" match "path". */
        if (q->params[i].key_len != klen || memcmp(q->params[i].key, key, klen) != 0)
            continue;
        if (found)
            return problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                               "query parameter `%s` is given more than once", key);
        found = &q->params[i];
    }
    *ret = found;
    return found ? 1 : 0;
}

int query_str(const struct query *q, const char *key, const char **ret, struct problem *err)
{
    const struct query_param *p = NULL;
    int r = query_find(q, key, &p, err);

    if (r <= 0)
        return r;
    if (memchr(p->value, '\0', p->value_len))
        return problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                           "query parameter `%s` contains a NUL byte", key);
    if (!utf8_valid(p->value, p->value_len))
        return problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                           "query parameter `%s` is not valid UTF-8", key);
    *ret = p->value;
    return 1;
}

int query_bool(const struct query *q, const char *key, bool *ret, struct problem *err)
{
    const struct query_param *p = NULL;
    int r = query_find(q, key, &p, err);

    if (r <= 0)
        return r;
    if (strcmp(p->value, "true") == 0 && p->value_len == 4) {
        *ret = true;
        return 1;
    }
    if (strcmp(p->value, "false") == 0 && p->value_len == 5) {
        *ret = false;
        return 1;
    }
    return problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                       "query parameter `%s` must be `true` or `false`", key);
}

int query_u64(const struct query *q, const char *key, uint64_t max, uint64_t *ret,
              struct problem *err)
{
    const struct query_param *p = NULL;
    int r = query_find(q, key, &p, err);
    unsigned long long v;
    char *end;

    if (r <= 0)
        return r;
    if (p->value_len == 0 || p->value[0] < '0' || p->value[0] > '9')
        goto bad;
    errno = 0;
    v = strtoull(p->value, &end, 10);
    if (errno || end != p->value + p->value_len || v > max)
        goto bad;
    *ret = v;
    return 1;
bad:
    return problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                       "query parameter `%s` must be an integer between 0 and %llu", key,
                       (unsigned long long)max);
}

int query_i64(const struct query *q, const char *key, int64_t min, int64_t max, int64_t *ret,
              struct problem *err)
{
    const struct query_param *p = NULL;
    int r = query_find(q, key, &p, err);
    long long v;
    char *end;

    if (r <= 0)
        return r;
    if (p->value_len == 0 || !((p->value[0] >= '0' && p->value[0] <= '9') || p->value[0] == '-'))
        goto bad;
    errno = 0;
    v = strtoll(p->value, &end, 10);
    if (errno || end != p->value + p->value_len || v < min || v > max)
        goto bad;
    *ret = v;
    return 1;
bad:
    return problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                       "query parameter `%s` must be an integer between %lld and %lld", key,
                       (long long)min, (long long)max);
}

int query_double(const struct query *q, const char *key, double *ret, struct problem *err)
{
    const struct query_param *p = NULL;
    int r = query_find(q, key, &p, err);
    double v;
    char *end;

    if (r <= 0)
        return r;
    /* Plain decimal numbers only: no hex floats, inf or nan, no leading blanks. */
    for (size_t i = 0; i < p->value_len; i++) {
        char c = p->value[i];
        if (!((c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E'))
            goto bad;
    }
    if (p->value_len == 0)
        goto bad;
    errno = 0;
    v = strtod(p->value, &end);
    if (errno || end != p->value + p->value_len)
        goto bad;
    *ret = v;
    return 1;
bad:
    return problem_set(err, 400, PROBLEM_INVALID_REQUEST, "query parameter `%s` must be a number",
                       key);
}
