/*
 * Query-string parameters of one request, with typed getters that produce
 * a 400 problem naming the parameter.  Values arrive already percent-decoded
 * (libwebsockets splits the query on '&' before decoding, so an encoded '&'
 * stays inside its value); they are checked for NUL and invalid UTF-8 here.
 */
#ifndef STREAM_QUERY_H
#define STREAM_QUERY_H

#include "problem.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct query_param {
    char *key;        /* owned, NUL-terminated; may contain NUL bytes */
    size_t key_len;   /* bytes in key */
    char *value;      /* owned, NUL-terminated; may contain NUL bytes */
    size_t value_len; /* bytes in value */
};

struct query {
    size_t n;                      /* parameters in use */
    size_t bytes;                  /* total bytes, bounded by LIM_QUERY_BYTES */
    struct query_param params[64]; /* LIM_QUERY_PARAMS */
};

void query_init(struct query *q);
void query_done(struct query *q);
/*
 * Adds one decoded "key=value" (or bare "key") fragment of len bytes.
 * Fails with a 400 (414 for length) problem when a limit is exceeded.
 */
int query_add(struct query *q, const char *frag, size_t len, struct problem *err);
/*
 * Splits a raw, still-encoded query string on '&', percent-decodes each part
 * ('+' is a space) and adds it.  Used where no HTTP parser decoded it first.
 */
int query_parse(struct query *q, const char *raw, size_t len, struct problem *err);

/*
 * Getters: 1 present, 0 absent (*ret untouched), -1 with a 400 problem when
 * the value is malformed, repeated, or (for strings) not UTF-8 or contains NUL.
 * query_bool accepts exactly "true" or "false" like the reference.
 */
int query_str(const struct query *q, const char *key, const char **ret, struct problem *err);
int query_bool(const struct query *q, const char *key, bool *ret, struct problem *err);
int query_u64(const struct query *q, const char *key, uint64_t max, uint64_t *ret,
              struct problem *err);
int query_i64(const struct query *q, const char *key, int64_t min, int64_t max, int64_t *ret,
              struct problem *err);
/* A finite decimal number ("0.5", "1", "1e-1"). */
int query_double(const struct query *q, const char *key, double *ret, struct problem *err);

#endif
