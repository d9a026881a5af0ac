/*
 * desktop_decode: the desktop API's request bodies and query strings.
 * Shapes and messages follow the reference (spec 5.2-5.5); the reference's
 * framework-level failures (wrong types, unknown enum values) become 422 or
 * 400 invalid_request problems, its handler-level ones desktop_invalid_action.
 */
#include "desktop_decode.h"

#include "../stream/json.h"
#include "../stream/xmalloc.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define I32_MIN (-2147483647 - 1)
#define I32_MAX 2147483647

static int invalid(struct problem *err, const char *msg)
{
    return problem_set(err, 400, PROBLEM_DESKTOP_INVALID_ACTION, "%s", msg);
}

static int coords(struct problem *err)
{
    return invalid(err, "Desktop coordinates must be non-negative");
}

/* An optional i32 field: 1 present, 0 absent, -1 with a 422. */
static int get_i32(const cJSON *root, const char *field, bool required, int *ret,
                   struct problem *err)
{
    int64_t v = 0;
    int r = json_get_i64(root, field, required, I32_MIN, I32_MAX, &v, err);

    if (r == 1)
        *ret = (int)v;
    return r;
}

int desk_start_decode(const char *body, size_t len, struct desk_start_req *out, struct problem *err)
{
    struct desk_start_req s = {DESK_DEFAULT_WIDTH, DESK_DEFAULT_HEIGHT, DESK_DEFAULT_DPI,
                               DESK_DEFAULT_DISPLAY};
    cJSON *root = NULL;
    uint64_t w = 0, h = 0, dpi = 0;
    int rw, rh, rd, rn, r = -1;

    if (json_parse_object(body, len, &root, err) < 0)
        return -1;
    if ((rw = json_get_u64(root, "width", false, UINT32_MAX, &w, err)) < 0 ||
        (rh = json_get_u64(root, "height", false, UINT32_MAX, &h, err)) < 0 ||
        (rd = json_get_u64(root, "dpi", false, UINT32_MAX, &dpi, err)) < 0 ||
        (rn = get_i32(root, "displayNum", false, &s.display_num, err)) < 0)
        goto out;
    /* The other fields (stateDir, recordingFps, stream*) are accepted and unused, as there. */
    if ((rw == 1 && w == 0) || (rh == 1 && h == 0)) {
        invalid(err, "Desktop width and height must be greater than 0");
        goto out;
    }
    if (w > LIM_DESKTOP_MAX_SIDE || h > LIM_DESKTOP_MAX_SIDE) {
        problem_set(err, 400, PROBLEM_DESKTOP_INVALID_ACTION,
                    "Desktop width and height must be at most %d", LIM_DESKTOP_MAX_SIDE);
        goto out;
    }
    if (rd == 1 && (dpi == 0 || dpi > LIM_DESKTOP_MAX_DPI)) {
        problem_set(err, 400, PROBLEM_DESKTOP_INVALID_ACTION,
                    "Desktop dpi must be greater than 0 and at most %d", LIM_DESKTOP_MAX_DPI);
        goto out;
    }
    if (rn == 1 && (s.display_num <= 0 || s.display_num > 65535)) {
        invalid(err, "displayNum must be > 0 (and at most 65535)");
        goto out;
    }
    s.sized = rw == 1 || rh == 1;
    if (rw == 1)
        s.width = (int)w;
    if (rh == 1)
        s.height = (int)h;
    if (rd == 1)
        s.dpi = (int)dpi;
    *out = s;
    r = 0;
out:
    cJSON_Delete(root);
    return r;
}

static int query_i32(const struct query *q, const char *key, bool required, int *ret,
                     struct problem *err)
{
    int64_t v = 0;
    int r = query_i64(q, key, I32_MIN, I32_MAX, &v, err);

    if (r == 0 && required)
        return problem_set(err, 400, PROBLEM_INVALID_REQUEST, "missing query parameter `%s`", key);
    if (r == 1)
        *ret = (int)v;
    return r;
}

/* Parses exactly n lower- or upper-case hex digits (1-16) from s. */
static int parse_hex(const char *s, size_t n, uint64_t *ret)
{
    uint64_t v = 0;

    if (n == 0 || n > 16)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            d = (unsigned)(c - 'A' + 10);
        else
            return -1;
        v = v << 4 | d;
    }
    *ret = v;
    return 0;
}

int desk_etag_parse(const char *s, size_t len, uint64_t *ret_frame, uint32_t *ret_instance)
{
    const char *d1, *d2;
    uint64_t frame, inst, params;

    if (len >= 2 && s[0] == 'W' && s[1] == '/') {
        s += 2;
        len -= 2;
    }
    if (len >= 2 && s[0] == '"' && s[len - 1] == '"') {
        s++;
        len -= 2;
    }
    d1 = memchr(s, '-', len);
    if (!d1)
        return -1;
    d2 = memchr(d1 + 1, '-', len - (size_t)(d1 + 1 - s));
    if (!d2 || parse_hex(s, (size_t)(d1 - s), &frame) < 0 || d2 - (d1 + 1) != 8 ||
        parse_hex(d1 + 1, 8, &inst) < 0 || len - (size_t)(d2 + 1 - s) != 8 ||
        parse_hex(d2 + 1, 8, &params) < 0)
        return -1;
    *ret_frame = frame;
    *ret_instance = (uint32_t)inst;
    return 0;
}

/* waitForChangeMs and since (agentd's own, beyond the reference). */
static int decode_wait(const struct query *q, struct desk_shot_req *s, struct problem *err)
{
    uint64_t ms = 0;
    const char *since = NULL;
    int r = query_u64(q, "waitForChangeMs", UINT32_MAX, &ms, err);

    if (r < 0)
        return -1;
    if (ms > LIM_DESKTOP_WAIT_CHANGE_MS)
        return problem_set(err, 400, PROBLEM_DESKTOP_INVALID_ACTION,
                           "waitForChangeMs must be at most %d", LIM_DESKTOP_WAIT_CHANGE_MS);
    s->wait_ms = (unsigned)ms;
    r = query_str(q, "since", &since, err);
    if (r < 0)
        return -1;
    if (r == 1) {
        if (desk_etag_parse(since, strlen(since), &s->since_frame, &s->since_instance) < 0)
            return problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                               "query parameter `since` must be the ETag of an earlier "
                               "screenshot (like \"1a-5f3e9c01-7d2a10b4\")");
        s->has_since = true;
    }
    return 0;
}

int desk_shot_decode(const struct query *q, bool region, struct desk_shot_req *out,
                     struct problem *err)
{
    struct desk_shot_req s = {.region = region, .format = DESK_FMT_PNG, .scale = 1.0};
    const char *fmt = NULL;
    uint64_t quality = 0;
    int r;

    if (region &&
        (query_i32(q, "x", true, &s.x, err) < 0 || query_i32(q, "y", true, &s.y, err) < 0 ||
         query_i32(q, "width", true, &s.width, err) < 0 ||
         query_i32(q, "height", true, &s.height, err) < 0))
        return -1;
    if (query_str(q, "format", &fmt, err) < 0)
        return -1;
    if (fmt) {
        if (strcmp(fmt, "png") == 0)
            s.format = DESK_FMT_PNG;
        else if (strcmp(fmt, "jpeg") == 0)
            s.format = DESK_FMT_JPEG;
        else if (strcmp(fmt, "webp") == 0)
            s.format = DESK_FMT_WEBP;
        else
            return problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                               "query parameter `format` must be one of: png, jpeg, webp");
    }
    r = query_u64(q, "quality", UINT32_MAX, &quality, err);
    if (r < 0)
        return -1;
    if (r == 1 && (quality < 1 || quality > 100))
        return invalid(err, "quality must be between 1 and 100");
    s.quality = (int)quality;
    r = query_double(q, "scale", &s.scale, err);
    if (r < 0)
        return -1;
    if (r == 1 && !(s.scale >= 0.1 && s.scale <= 1.0))
        return invalid(err, "scale must be between 0.1 and 1.0");
    if (query_bool(q, "showCursor", &s.show_cursor, err) < 0)
        return -1;
    if (decode_wait(q, &s, err) < 0)
        return -1;
    if (region) {
        if (s.x < 0 || s.y < 0)
            return coords(err);
        if (s.width <= 0 || s.height <= 0)
            return invalid(err, "Screenshot region width and height must be greater than 0");
    }
    *out = s;
    return 0;
}

static int get_button(const cJSON *root, unsigned *ret, struct problem *err)
{
    const char *b = NULL;
    int r = json_get_string(root, "button", false, &b, err);

    if (r <= 0)
        return r;
    if (strcmp(b, "left") == 0)
        *ret = 1;
    else if (strcmp(b, "middle") == 0)
        *ret = 2;
    else if (strcmp(b, "right") == 0)
        *ret = 3;
    else
        return problem_set(err, 422, PROBLEM_INVALID_REQUEST,
                           "field `button` must be one of: left, middle, right");
    return 1;
}

static int mouse_fields(enum desk_mouse_op op, const cJSON *root, struct desk_mouse_req *m,
                        struct problem *err)
{
    uint64_t clicks = 1;
    int rx, ry;

    if (op == DESK_MOUSE_DRAG) {
        if (get_i32(root, "startX", true, &m->x, err) < 0 ||
            get_i32(root, "startY", true, &m->y, err) < 0 ||
            get_i32(root, "endX", true, &m->end_x, err) < 0 ||
            get_i32(root, "endY", true, &m->end_y, err) < 0 ||
            get_button(root, &m->button, err) < 0)
            return -1;
        m->has_xy = true;
        if (m->x < 0 || m->y < 0 || m->end_x < 0 || m->end_y < 0)
            return coords(err);
        return 0;
    }
    bool required = op == DESK_MOUSE_MOVE || op == DESK_MOUSE_CLICK || op == DESK_MOUSE_SCROLL;
    if ((rx = get_i32(root, "x", required, &m->x, err)) < 0 ||
        (ry = get_i32(root, "y", required, &m->y, err)) < 0)
        return -1;
    if (rx != ry)
        return invalid(err, "x and y must both be provided when setting coordinates");
    m->has_xy = rx == 1;
    if (op == DESK_MOUSE_CLICK || op == DESK_MOUSE_DOWN || op == DESK_MOUSE_UP) {
        if (get_button(root, &m->button, err) < 0)
            return -1;
    }
    if (op == DESK_MOUSE_CLICK) {
        if (json_get_u64(root, "clickCount", false, UINT32_MAX, &clicks, err) < 0)
            return -1;
    }
    if (op == DESK_MOUSE_SCROLL) {
        if (get_i32(root, "deltaX", false, &m->delta_x, err) < 0 ||
            get_i32(root, "deltaY", false, &m->delta_y, err) < 0)
            return -1;
    }
    if (m->has_xy && (m->x < 0 || m->y < 0))
        return coords(err);
    if (clicks == 0)
        return invalid(err, "clickCount must be greater than 0");
    if (clicks > LIM_DESKTOP_CLICKS)
        return problem_set(err, 400, PROBLEM_DESKTOP_INVALID_ACTION,
                           "clickCount must be at most %d", LIM_DESKTOP_CLICKS);
    m->clicks = (unsigned)clicks;
    if (op == DESK_MOUSE_SCROLL) {
        if (m->delta_x == 0 && m->delta_y == 0)
            return invalid(err, "deltaX or deltaY must be non-zero");
        if (m->delta_x > LIM_DESKTOP_SCROLL_STEPS || m->delta_x < -LIM_DESKTOP_SCROLL_STEPS ||
            m->delta_y > LIM_DESKTOP_SCROLL_STEPS || m->delta_y < -LIM_DESKTOP_SCROLL_STEPS)
            return problem_set(err, 400, PROBLEM_DESKTOP_INVALID_ACTION,
                               "deltaX and deltaY must be between -%d and %d",
                               LIM_DESKTOP_SCROLL_STEPS, LIM_DESKTOP_SCROLL_STEPS);
    }
    return 0;
}

int desk_mouse_decode(enum desk_mouse_op op, const char *body, size_t len,
                      struct desk_mouse_req *out, struct problem *err)
{
    struct desk_mouse_req m = {.op = op, .button = 1, .clicks = 1};
    cJSON *root = NULL;
    int r;

    if (op == DESK_MOUSE_POSITION) {
        *out = m;
        return 0;
    }
    if (json_parse_object(body, len, &root, err) < 0)
        return -1;
    r = mouse_fields(op, root, &m, err);
    cJSON_Delete(root);
    if (r < 0)
        return -1;
    *out = m;
    return 0;
}

void desk_key_req_done(struct desk_key_req *k)
{
    free(k->text);
    k->text = NULL;
    k->ntext = 0;
}

/* The key name without surrounding blanks, or NULL after a 400 when nothing is left. */
static char *trimmed_key(const char *key, struct problem *err)
{
    size_t n = strlen(key);

    while (n &&
           (key[n - 1] == ' ' || key[n - 1] == '\t' || key[n - 1] == '\n' || key[n - 1] == '\r'))
        n--;
    while (n && (*key == ' ' || *key == '\t' || *key == '\n' || *key == '\r')) {
        key++;
        n--;
    }
    if (n == 0) {
        invalid(err, "key must not be empty");
        return NULL;
    }
    return xstrndup(key, n);
}

static int modifiers(const cJSON *root, struct desk_key_req *k, struct problem *err)
{
    static const struct {
        const char *field;
        const char *key;
    } mods[] = {{"ctrl", "Control_L"}, {"shift", "Shift_L"}, {"alt", "Alt_L"}, {"cmd", "Super_L"}};
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "modifiers");

    if (!m || cJSON_IsNull(m))
        return 0;
    if (!cJSON_IsObject(m))
        return problem_set(err, 422, PROBLEM_INVALID_REQUEST,
                           "field `modifiers` must be an object");
    for (size_t i = 0; i < sizeof(mods) / sizeof(mods[0]); i++) {
        bool on = false;
        if (json_get_bool(m, mods[i].field, false, &on, err) < 0) {
            char msg[PROBLEM_MESSAGE_MAX];
            snprintf(msg, sizeof(msg), "%s", err->message);
            return problem_set(err, 422, PROBLEM_INVALID_REQUEST, "modifiers: %s", msg);
        }
        if (on && desk_keys_parse(mods[i].key, k->keys, DESK_KEYS_MAX, &k->nkeys, err) < 0)
            return -1;
    }
    return 0;
}

static int key_fields(const cJSON *root, struct desk_key_req *k, struct problem *err)
{
    const char *text = NULL, *key = NULL;
    uint64_t delay = 0;
    char *name;
    int r;

    if (k->op == DESK_KEY_TYPE) {
        if (json_get_string(root, "text", true, &text, err) < 0 ||
            json_get_u64(root, "delayMs", false, UINT32_MAX, &delay, err) < 0)
            return -1;
        if (!*text)
            return invalid(err, "text must not be empty");
        if (delay > LIM_DESKTOP_TYPE_DELAY_MS)
            return problem_set(err, 400, PROBLEM_DESKTOP_INVALID_ACTION,
                               "delayMs must be at most %d", LIM_DESKTOP_TYPE_DELAY_MS);
        k->delay_ms = (unsigned)delay;
        if (desk_utf8_decode(text, strlen(text), &k->text, &k->ntext, err) < 0)
            return -1;
        /* The X thread types it while every other desktop request waits: bound the whole. */
        if ((uint64_t)k->ntext * delay > LIM_DESKTOP_TYPE_TOTAL_MS)
            return problem_set(err, 400, PROBLEM_DESKTOP_INVALID_ACTION,
                               "typing %zu characters %llu ms apart would take more than %d s; "
                               "send the text in parts or with a shorter delayMs",
                               k->ntext, (unsigned long long)delay,
                               LIM_DESKTOP_TYPE_TOTAL_MS / 1000);
        return 0;
    }
    if (json_get_string(root, "key", true, &key, err) < 0)
        return -1;
    if (k->op == DESK_KEY_PRESS && modifiers(root, k, err) < 0)
        return -1;
    name = trimmed_key(key, err);
    if (!name)
        return -1;
    r = desk_keys_parse(name, k->keys, DESK_KEYS_MAX, &k->nkeys, err);
    free(name);
    return r;
}

int desk_key_decode(enum desk_key_op op, const char *body, size_t len, struct desk_key_req *out,
                    struct problem *err)
{
    struct desk_key_req k = {.op = op};
    cJSON *root = NULL;
    int r;

    if (json_parse_object(body, len, &root, err) < 0)
        return -1;
    r = key_fields(root, &k, err);
    cJSON_Delete(root);
    if (r < 0) {
        desk_key_req_done(&k);
        return -1;
    }
    *out = k;
    return 0;
}
