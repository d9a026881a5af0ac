/*
 * config_decode: McpServerConfig and SkillsConfig validation, config file
 * parsing and rendering.  Every accepted document is rebuilt member by
 * member, so what is stored and returned is exactly what the reference
 * would store: known members only, in its order, nulls dropped.
 */
#include "config_decode.h"

#include "../stream/buf.h"
#include "../stream/json.h"
#include "../stream/limits.h"
#include "../stream/xmalloc.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A field's JSON type, as a bit set of what a field accepts. */
enum {
    T_STRING = 1u << 0,
    T_BOOL = 1u << 1,
    T_NUMBER = 1u << 2,
    T_ARRAY = 1u << 3,
    T_OBJECT = 1u << 4,
};

const char *config_kind_name(enum config_kind kind)
{
    return kind == CONFIG_SKILLS ? "skills" : "mcp";
}

static unsigned type_bit(const cJSON *v)
{
    if (cJSON_IsString(v))
        return T_STRING;
    if (cJSON_IsBool(v))
        return T_BOOL;
    if (cJSON_IsNumber(v))
        return T_NUMBER;
    if (cJSON_IsArray(v))
        return T_ARRAY;
    if (cJSON_IsObject(v))
        return T_OBJECT;
    return 0;
}

static const char *type_name(const cJSON *v)
{
    switch (type_bit(v)) {
    case T_STRING:
        return "a string";
    case T_BOOL:
        return "a boolean";
    case T_NUMBER:
        return "a number";
    case T_ARRAY:
        return "an array";
    case T_OBJECT:
        return "an object";
    default:
        return "null";
    }
}

/*
 * Member `name` of obj (ctx is the path of obj for messages, "" at the top).
 * Returns 1 with *ret when present and of an accepted type, 0 when absent
 * or null and optional, -1 with a 422 problem otherwise.
 */
static int field(const cJSON *obj, const char *ctx, const char *name, unsigned types,
                 const char *want, bool required, const cJSON **ret, struct problem *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

    if (!v || cJSON_IsNull(v)) {
        if (required)
            return problem_set(err, 422, PROBLEM_INVALID_REQUEST, "missing field `%s%s` (%s)", ctx,
                               name, want);
        return 0;
    }
    if (!(type_bit(v) & types))
        return problem_set(err, 422, PROBLEM_INVALID_REQUEST, "field `%s%s` must be %s, got %s",
                           ctx, name, want, type_name(v));
    *ret = v;
    return 1;
}

/* A member may appear once: the reference refuses `{"type":"local","type":"remote"}`. */
static int no_duplicates(const cJSON *obj, const char *ctx, const char *const *names,
                         struct problem *err)
{
    for (size_t i = 0; names[i]; i++) {
        unsigned seen = 0;

        for (const cJSON *c = obj->child; c; c = c->next)
            if (c->string && strcmp(c->string, names[i]) == 0 && ++seen > 1)
                return problem_set(err, 422, PROBLEM_INVALID_REQUEST, "duplicate field `%s%s`", ctx,
                                   names[i]);
    }
    return 0;
}

/* Copies an array of strings (checked) into out under name. */
static int add_string_array(cJSON *out, const char *name, const cJSON *arr, const char *ctx,
                            struct problem *err)
{
    cJSON *copy = cJSON_CreateArray();
    const cJSON *v;
    int i = 0;

    cJSON_ArrayForEach(v, arr)
    {
        if (!cJSON_IsString(v)) {
            cJSON_Delete(copy);
            return problem_set(err, 422, PROBLEM_INVALID_REQUEST,
                               "field `%s%s[%d]` must be a string, got %s", ctx, name, i,
                               type_name(v));
        }
        cJSON_AddItemToArray(copy, cJSON_CreateString(v->valuestring));
        i++;
    }
    cJSON_AddItemToObject(out, name, copy);
    return 0;
}

struct member {
    const cJSON *v; /* the member */
    size_t pos;     /* its position in the document */
};

static int cmp_members(const void *a, const void *b)
{
    const struct member *x = a, *y = b;
    int r = strcmp(x->v->string, y->v->string);

    /* Equal keys keep their document order, so that the last one can win. */
    if (r == 0)
        return x->pos < y->pos ? -1 : x->pos > y->pos;
    return r;
}

/*
 * The members of obj sorted by key (byte order), a repeated key keeping
 * its last value.  Returns a malloc'd array and its length in *ret_n.
 */
static const cJSON **sorted_members(const cJSON *obj, size_t *ret_n)
{
    size_t n = 0, k = 0;
    struct member *m;
    const cJSON **v;

    for (const cJSON *c = obj->child; c; c = c->next)
        n++;
    m = xmalloc((n ? n : 1) * sizeof(*m));
    v = xmalloc((n ? n : 1) * sizeof(*v));
    for (const cJSON *c = obj->child; c; c = c->next, k++) {
        m[k].v = c;
        m[k].pos = k;
    }
    qsort(m, n, sizeof(*m), cmp_members);
    k = 0;
    for (size_t i = 0; i < n; i++) {
        if (i + 1 < n && strcmp(m[i].v->string, m[i + 1].v->string) == 0)
            continue;
        v[k++] = m[i].v;
    }
    free(m);
    *ret_n = k;
    return v;
}

/* Copies a map of string values (checked), sorted by key, into out under name. */
static int add_string_map(cJSON *out, const char *name, const cJSON *map, const char *ctx,
                          struct problem *err)
{
    size_t n;
    const cJSON **v = sorted_members(map, &n);
    cJSON *copy = cJSON_CreateObject();

    for (size_t i = 0; i < n; i++) {
        if (!cJSON_IsString(v[i])) {
            problem_set(err, 422, PROBLEM_INVALID_REQUEST,
                        "field `%s%s` must map names to strings; `%s` is %s", ctx, name,
                        v[i]->string, type_name(v[i]));
            cJSON_Delete(copy);
            free(v);
            return -1;
        }
        cJSON_AddItemToObject(copy, v[i]->string, cJSON_CreateString(v[i]->valuestring));
    }
    free(v);
    cJSON_AddItemToObject(out, name, copy);
    return 0;
}

/* Optional string member copied to out. */
static int opt_string(const cJSON *in, cJSON *out, const char *ctx, const char *name,
                      struct problem *err)
{
    const cJSON *v = NULL;
    int r = field(in, ctx, name, T_STRING, "a string", false, &v, err);

    if (r > 0)
        cJSON_AddStringToObject(out, name, v->valuestring);
    return r < 0 ? -1 : 0;
}

static int opt_bool(const cJSON *in, cJSON *out, const char *name, struct problem *err)
{
    const cJSON *v = NULL;
    int r = field(in, "", name, T_BOOL, "true or false", false, &v, err);

    if (r > 0)
        cJSON_AddBoolToObject(out, name, cJSON_IsTrue(v));
    return r < 0 ? -1 : 0;
}

static int opt_timeout(const cJSON *in, cJSON *out, struct problem *err)
{
    const cJSON *v = NULL;
    int r = field(in, "", "timeoutMs", T_NUMBER, "a non-negative integer", false, &v, err);
    double d;

    if (r <= 0)
        return r;
    d = v->valuedouble;
    if (!(d >= 0 && d <= (double)CONFIG_TIMEOUT_MAX) || d != (double)(unsigned long long)d)
        return problem_set(err, 422, PROBLEM_INVALID_REQUEST,
                           "field `timeoutMs` must be an integer between 0 and %llu",
                           CONFIG_TIMEOUT_MAX);
    /* Through the integer, so that -0 is stored as 0. */
    cJSON_AddNumberToObject(out, "timeoutMs", (double)(unsigned long long)d);
    return 0;
}

static int opt_map(const cJSON *in, cJSON *out, const char *name, struct problem *err)
{
    const cJSON *v = NULL;
    int r = field(in, "", name, T_OBJECT, "an object of strings", false, &v, err);

    if (r <= 0)
        return r;
    return add_string_map(out, name, v, "", err);
}

static int mcp_local(const cJSON *in, cJSON *out, struct problem *err)
{
    const cJSON *v = NULL;

    if (field(in, "", "command", T_STRING | T_ARRAY, "a string or an array of strings", true, &v,
              err) < 0)
        return -1;
    if (cJSON_IsString(v))
        cJSON_AddStringToObject(out, "command", v->valuestring);
    else if (add_string_array(out, "command", v, "", err) < 0)
        return -1;
    switch (field(in, "", "args", T_ARRAY, "an array of strings", false, &v, err)) {
    case -1:
        return -1;
    case 0:
        cJSON_AddArrayToObject(out, "args");
        break;
    default:
        if (add_string_array(out, "args", v, "", err) < 0)
            return -1;
    }
    if (opt_map(in, out, "env", err) < 0 || opt_bool(in, out, "enabled", err) < 0 ||
        opt_timeout(in, out, err) < 0 || opt_string(in, out, "", "cwd", err) < 0)
        return -1;
    return 0;
}

static int mcp_oauth(const cJSON *in, cJSON *out, struct problem *err)
{
    const cJSON *v = NULL;
    cJSON *o;
    int r = field(in, "", "oauth", T_OBJECT | T_BOOL, "an object or a boolean", false, &v, err);

    if (r <= 0)
        return r;
    if (cJSON_IsBool(v)) {
        cJSON_AddBoolToObject(out, "oauth", cJSON_IsTrue(v));
        return 0;
    }
    o = cJSON_AddObjectToObject(out, "oauth");
    if (opt_string(v, o, "oauth.", "clientId", err) < 0 ||
        opt_string(v, o, "oauth.", "clientSecret", err) < 0 ||
        opt_string(v, o, "oauth.", "scope", err) < 0)
        return -1;
    return 0;
}

static int mcp_remote(const cJSON *in, cJSON *out, struct problem *err)
{
    const cJSON *v = NULL;
    int r;

    if (field(in, "", "url", T_STRING, "a string", true, &v, err) < 0)
        return -1;
    cJSON_AddStringToObject(out, "url", v->valuestring);
    if (opt_map(in, out, "headers", err) < 0 ||
        opt_string(in, out, "", "bearerTokenEnvVar", err) < 0 ||
        opt_map(in, out, "envHeaders", err) < 0 || mcp_oauth(in, out, err) < 0 ||
        opt_bool(in, out, "enabled", err) < 0 || opt_timeout(in, out, err) < 0)
        return -1;
    r = field(in, "", "transport", T_STRING, "\"http\" or \"sse\"", false, &v, err);
    if (r < 0)
        return -1;
    if (r > 0) {
        if (strcmp(v->valuestring, "http") != 0 && strcmp(v->valuestring, "sse") != 0)
            return problem_set(err, 422, PROBLEM_INVALID_REQUEST,
                               "field `transport` must be \"http\" or \"sse\", got \"%s\"",
                               v->valuestring);
        cJSON_AddStringToObject(out, "transport", v->valuestring);
    }
    return 0;
}

static int mcp_decode(const cJSON *in, cJSON **ret, struct problem *err)
{
    static const char *const known[] = {
        "type", "command", "args",       "env",   "cwd",       "enabled",           "timeoutMs",
        "url",  "headers", "envHeaders", "oauth", "transport", "bearerTokenEnvVar", NULL,
    };
    const cJSON *type = NULL;
    bool local;
    cJSON *out;

    if (no_duplicates(in, "", known, err) < 0 ||
        field(in, "", "type", T_STRING, "one of local, stdio, http, remote", true, &type, err) < 0)
        return -1;
    if (strcmp(type->valuestring, "local") == 0 || strcmp(type->valuestring, "stdio") == 0)
        local = true;
    else if (strcmp(type->valuestring, "remote") == 0 || strcmp(type->valuestring, "http") == 0)
        local = false;
    else
        return problem_set(err, 422, PROBLEM_INVALID_REQUEST,
                           "field `type` must be one of local, stdio, http, remote; got \"%s\"",
                           type->valuestring);
    out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "type", local ? "local" : "remote");
    if ((local ? mcp_local(in, out, err) : mcp_remote(in, out, err)) < 0) {
        cJSON_Delete(out);
        return -1;
    }
    *ret = out;
    return 0;
}

static int skill_source(const cJSON *in, int i, cJSON *arr, struct problem *err)
{
    static const char *const known[] = {"type", "source", "skills", "ref", "subpath", NULL};
    char ctx[48];
    const cJSON *v = NULL;
    cJSON *out;

    snprintf(ctx, sizeof(ctx), "sources[%d].", i);
    if (!cJSON_IsObject(in))
        return problem_set(err, 422, PROBLEM_INVALID_REQUEST,
                           "field `sources[%d]` must be an object, got %s", i, type_name(in));
    if (no_duplicates(in, ctx, known, err) < 0)
        return -1;
    out = cJSON_CreateObject();
    cJSON_AddItemToArray(arr, out);
    if (field(in, ctx, "type", T_STRING, "a string", true, &v, err) < 0)
        return -1;
    cJSON_AddStringToObject(out, "type", v->valuestring);
    if (field(in, ctx, "source", T_STRING, "a string", true, &v, err) < 0)
        return -1;
    cJSON_AddStringToObject(out, "source", v->valuestring);
    switch (field(in, ctx, "skills", T_ARRAY, "an array of strings", false, &v, err)) {
    case -1:
        return -1;
    case 1:
        if (add_string_array(out, "skills", v, ctx, err) < 0)
            return -1;
        break;
    default:
        break;
    }
    if (opt_string(in, out, ctx, "ref", err) < 0 || opt_string(in, out, ctx, "subpath", err) < 0)
        return -1;
    return 0;
}

static int skills_decode(const cJSON *in, cJSON **ret, struct problem *err)
{
    static const char *const known[] = {"sources", NULL};
    const cJSON *sources = NULL, *s;
    cJSON *out, *arr;
    int i = 0;

    if (no_duplicates(in, "", known, err) < 0 ||
        field(in, "", "sources", T_ARRAY, "an array of skill sources", true, &sources, err) < 0)
        return -1;
    out = cJSON_CreateObject();
    arr = cJSON_AddArrayToObject(out, "sources");
    cJSON_ArrayForEach(s, sources)
    {
        if (skill_source(s, i++, arr, err) < 0) {
            cJSON_Delete(out);
            return -1;
        }
    }
    *ret = out;
    return 0;
}

int config_entry_decode(enum config_kind kind, const cJSON *in, cJSON **ret, struct problem *err)
{
    if (!cJSON_IsObject(in))
        return problem_set(err, 422, PROBLEM_INVALID_REQUEST, "expected a JSON object, got %s",
                           type_name(in));
    return kind == CONFIG_SKILLS ? skills_decode(in, ret, err) : mcp_decode(in, ret, err);
}

static bool blank(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
            return false;
    return true;
}

int config_file_parse(enum config_kind kind, const char *text, size_t n, const char *path,
                      cJSON **ret, struct problem *err)
{
    const char *end = NULL;
    const cJSON **members;
    cJSON *doc, *map;
    size_t count;

    if (blank(text, n)) {
        *ret = cJSON_CreateObject();
        return 0;
    }
    if (n > LIM_CONFIG_FILE_BYTES)
        return problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                           "invalid config file %s: larger than %u bytes", path,
                           LIM_CONFIG_FILE_BYTES);
    if (!utf8_valid(text, n))
        return problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                           "invalid config file %s: not valid UTF-8", path);
    doc = cJSON_ParseWithLengthOpts(text, n, &end, false);
    if (doc && end && !blank(end, (size_t)(text + n - end))) {
        cJSON_Delete(doc);
        doc = NULL;
    }
    if (!doc) {
        size_t off = end && end >= text && end <= text + n ? (size_t)(end - text) : 0;
        return problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                           "invalid config file %s: not valid JSON (error near byte %zu)", path,
                           off);
    }
    if (!cJSON_IsObject(doc)) {
        cJSON_Delete(doc);
        return problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                           "invalid config file %s: the top level must be a JSON object", path);
    }
    members = sorted_members(doc, &count);
    map = cJSON_CreateObject();
    for (size_t i = 0; i < count; i++) {
        struct problem inner;
        cJSON *entry = NULL;

        if (config_entry_decode(kind, members[i], &entry, &inner) < 0) {
            problem_set(err, 400, PROBLEM_INVALID_REQUEST, "invalid config file %s: entry `%s`: %s",
                        path, members[i]->string, inner.message);
            cJSON_Delete(map);
            map = NULL;
            break;
        }
        cJSON_AddItemToObject(map, members[i]->string, entry);
    }
    free(members);
    cJSON_Delete(doc);
    if (!map)
        return -1;
    *ret = map;
    return 0;
}

/* A JSON string as serde_json writes it: short escapes where JSON has them, \u00xx otherwise. */
static void render_string(struct buf *out, const char *s)
{
    buf_append(out, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        const char *esc = NULL;

        switch (c) {
        case '"':
            esc = "\\\"";
            break;
        case '\\':
            esc = "\\\\";
            break;
        case '\b':
            esc = "\\b";
            break;
        case '\f':
            esc = "\\f";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\r':
            esc = "\\r";
            break;
        case '\t':
            esc = "\\t";
            break;
        default:
            break;
        }
        if (esc)
            buf_append_str(out, esc);
        else if (c < 0x20)
            buf_printf(out, "\\u%04x", c);
        else
            buf_append(out, s, 1);
    }
    buf_append(out, "\"", 1);
}

static void indent(struct buf *out, unsigned depth)
{
    buf_append(out, "\n", 1);
    for (unsigned i = 0; i < depth; i++)
        buf_append(out, "  ", 2);
}

/* serde_json's pretty printer: "key": value, two spaces a level, {} and [] when empty. */
static void render(struct buf *out, const cJSON *v, unsigned depth, bool sort)
{
    if (cJSON_IsObject(v) || cJSON_IsArray(v)) {
        bool obj = cJSON_IsObject(v);
        size_t n = 0;
        const cJSON **members = NULL;

        if (obj && sort) {
            members = sorted_members(v, &n);
        } else {
            for (const cJSON *c = v->child; c; c = c->next)
                n++;
            members = xmalloc((n ? n : 1) * sizeof(*members));
            n = 0;
            for (const cJSON *c = v->child; c; c = c->next)
                members[n++] = c;
        }
        buf_append(out, obj ? "{" : "[", 1);
        for (size_t i = 0; i < n; i++) {
            if (i)
                buf_append(out, ",", 1);
            indent(out, depth + 1);
            if (obj) {
                render_string(out, members[i]->string);
                buf_append(out, ": ", 2);
            }
            render(out, members[i], depth + 1, false);
        }
        if (n)
            indent(out, depth);
        buf_append(out, obj ? "}" : "]", 1);
        free(members);
    } else if (cJSON_IsString(v)) {
        render_string(out, v->valuestring);
    } else {
        size_t len;
        char *text = json_print(v, &len);

        buf_append(out, text, len);
        cJSON_free(text);
    }
}

char *config_file_render(const cJSON *map, size_t *ret_len)
{
    struct buf out;

    /* The map was built from bounded inputs; the cap only guards against a logic error. */
    buf_init(&out, (size_t)-1 / 2);
    render(&out, map, 0, true);
    return buf_steal(&out, ret_len);
}
