/*
 * JSON at the edge: parse a request body with hard limits, pull typed fields
 * out of it with errors that name the field, and add strings to replies
 * without ever emitting invalid UTF-8.  Business logic never sees cJSON.
 */
#ifndef STREAM_JSON_H
#define STREAM_JSON_H

#include "buf.h"
#include "json_out.h"
#include "problem.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True for "application/json", "application/x+json", with or without parameters. */
bool json_content_type_ok(const char *content_type);

/*
 * Parses a complete body of n bytes into *ret (free with cJSON_Delete).
 * Fails with 400 for syntax errors and nesting deeper than LIM_JSON_DEPTH,
 * 413 for bodies over LIM_JSON_BODY_BYTES, 422 when the top level is not an
 * object.  *ret is untouched on failure.
 */
int json_parse_object(const char *p, size_t n, cJSON **ret, struct problem *err);

/*
 * Field getters.  Return 1 when the field is present, 0 when it is absent
 * or null (and not required), -1 with a 422 problem naming the field when it
 * has the wrong type or is required and missing.  *ret is set only on 1.
 */
int json_get_string(const cJSON *obj, const char *field, bool required, const char **ret,
                    struct problem *err);
int json_get_bool(const cJSON *obj, const char *field, bool required, bool *ret,
                  struct problem *err);
int json_get_u64(const cJSON *obj, const char *field, bool required, uint64_t max, uint64_t *ret,
                 struct problem *err);
/* A signed integer within [min, max]. */
int json_get_i64(const cJSON *obj, const char *field, bool required, int64_t min, int64_t max,
                 int64_t *ret, struct problem *err);

/*
 * An array of strings: 1 with *ret (a malloc'd array of pointers into obj,
 * free() it) and *ret_n, 0 when absent/null, -1 with a 422 problem for a
 * wrong type or more than max elements.
 */
int json_get_string_array(const cJSON *obj, const char *field, size_t max, const char ***ret,
                          size_t *ret_n, struct problem *err);
/*
 * An object of string values, as "KEY=VALUE" strings (malloc'd, free each and
 * the array).  Keys must be non-empty and contain no '='.  Same returns.
 */
int json_get_env(const cJSON *obj, const char *field, size_t max, char ***ret, size_t *ret_n,
                 struct problem *err);

#endif
