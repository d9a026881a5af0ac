/*
 * The reply side of JSON (json_out.c): UTF-8-safe strings, escaped bytes,
 * compact printing.  Needs nothing above the standard library and cJSON.
 */
#ifndef STREAM_JSON_OUT_H
#define STREAM_JSON_OUT_H

#include "buf.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

/* True when s[0..n) is valid UTF-8 (no overlongs, no surrogates). */
bool utf8_valid(const char *s, size_t n);
/* Adds s to obj under key, replacing invalid UTF-8 with U+FFFD. */
cJSON *json_add_string(cJSON *obj, const char *key, const char *s);
/*
 * Appends n arbitrary bytes to out as a JSON string literal (quotes
 * included): invalid UTF-8 becomes U+FFFD, control bytes (NUL too) are
 * escaped.  For output that may hold NUL, which a cJSON string cannot.
 * Returns 0 or -E2BIG.
 */
int json_escape_bytes(struct buf *out, const char *p, size_t n);
/* Renders obj compactly into a new heap string (free()), length in *ret_len. */
char *json_print(const cJSON *obj, size_t *ret_len);

#endif
