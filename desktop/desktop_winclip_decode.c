/*
 * desktop_winclip_decode: the window and clipboard routes' inputs.  Body
 * shapes follow the reference (move: i32 x, y; resize: u32 width, height;
 * clipboard: text and an optional selection); its framework-level failures
 * (missing field, wrong type, out of range) become 422 invalid_request, its
 * handler-level ones desktop_invalid_action, an unknown window 404.
 */
#include "desktop_winclip_decode.h"

#include "../stream/json.h"
#include "../stream/xmalloc.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int desk_win_id_parse(const char *s, unsigned long *ret)
{
    unsigned long v = 0;
    int base = 10;

    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    if (!*s || strlen(s) > 10)
        return -1;
    for (; *s; s++) {
        int d;
        if (*s >= '0' && *s <= '9')
            d = *s - '0';
        else if (base == 16 && *s >= 'a' && *s <= 'f')
            d = *s - 'a' + 10;
        else if (base == 16 && *s >= 'A' && *s <= 'F')
            d = *s - 'A' + 10;
        else
            return -1;
        v = v * (unsigned long)base + (unsigned long)d;
        if (v > UINT32_MAX)
            return -1;
    }
    if (v == 0)
        return -1;
    *ret = v;
    return 0;
}

int desk_win_not_found(const char *s, struct problem *err)
{
    /* The id comes from the path: keep the message short whatever was sent. */
    if (strlen(s) > 64)
        return problem_set(err, 404, PROBLEM_WINDOW_NOT_FOUND, "Window %.64s... not found", s);
    return problem_set(err, 404, PROBLEM_WINDOW_NOT_FOUND, "Window %s not found", s);
}

static int coord(const cJSON *root, const char *field, int *ret, struct problem *err)
{
    int64_t v = 0;

    if (json_get_i64(root, field, true, INT32_MIN, INT32_MAX, &v, err) < 0)
        return -1;
    if (v < -DESK_WIN_COORD_MAX - 1 || v > DESK_WIN_COORD_MAX)
        return problem_set(err, 400, PROBLEM_DESKTOP_INVALID_ACTION,
                           "x and y must be between %d and %d (X coordinates are 16-bit)",
                           -DESK_WIN_COORD_MAX - 1, DESK_WIN_COORD_MAX);
    *ret = (int)v;
    return 0;
}

static int side(const cJSON *root, const char *field, unsigned *ret, struct problem *err)
{
    uint64_t v = 0;

    if (json_get_u64(root, field, true, UINT32_MAX, &v, err) < 0)
        return -1;
    if (v > DESK_WIN_SIDE_MAX)
        return problem_set(err, 400, PROBLEM_DESKTOP_INVALID_ACTION,
                           "width and height must be at most %d", DESK_WIN_SIDE_MAX);
    *ret = (unsigned)v;
    return 0;
}

int desk_win_move_decode(const char *body, size_t len, struct desk_win_req *out,
                         struct problem *err)
{
    struct desk_win_req w = {0};
    cJSON *root = NULL;
    int r = -1;

    if (json_parse_object(body, len, &root, err) < 0)
        return -1;
    if (coord(root, "x", &w.x, err) == 0 && coord(root, "y", &w.y, err) == 0) {
        *out = w;
        r = 0;
    }
    cJSON_Delete(root);
    return r;
}

int desk_win_resize_decode(const char *body, size_t len, struct desk_win_req *out,
                           struct problem *err)
{
    struct desk_win_req w = {0};
    cJSON *root = NULL;
    int r = -1;

    if (json_parse_object(body, len, &root, err) < 0)
        return -1;
    if (side(root, "width", &w.width, err) == 0 && side(root, "height", &w.height, err) == 0) {
        *out = w;
        r = 0;
    }
    cJSON_Delete(root);
    return r;
}

/* Fills c->sels and c->name from a selection name (NULL: the default). */
static int selection(const char *name, struct desk_clip_req *c, struct problem *err)
{
    static const struct {
        const char *name;
        unsigned sels;
    } names[] = {
        {"clipboard", DESK_SEL_CLIPBOARD},
        {"primary", DESK_SEL_PRIMARY},
        {"secondary", DESK_SEL_SECONDARY},
        {"both", DESK_SEL_CLIPBOARD | DESK_SEL_PRIMARY},
    };

    if (!name) {
        c->sels = DESK_SEL_CLIPBOARD;
        c->name = "clipboard";
        return 0;
    }
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcasecmp(name, names[i].name) == 0) {
            c->sels = names[i].sels;
            c->name = names[i].name;
            return 0;
        }
    }
    return problem_set(err, 400, PROBLEM_DESKTOP_INVALID_ACTION,
                       "selection must be one of: clipboard, primary, secondary, both");
}

int desk_clip_get_decode(const struct query *q, struct desk_clip_req *out, struct problem *err)
{
    struct desk_clip_req c = {0};
    const char *name = NULL;

    if (query_str(q, "selection", &name, err) < 0 || selection(name, &c, err) < 0)
        return -1;
    /* `both` is a write target; a read takes the clipboard. */
    if (c.sels == (DESK_SEL_CLIPBOARD | DESK_SEL_PRIMARY))
        c.sels = DESK_SEL_CLIPBOARD;
    *out = c;
    return 0;
}

int desk_clip_set_decode(const char *body, size_t len, struct desk_clip_req *out,
                         struct problem *err)
{
    struct desk_clip_req c = {0};
    cJSON *root = NULL;
    const char *text = NULL, *name = NULL;
    int r = -1;

    if (json_parse_object(body, len, &root, err) < 0)
        return -1;
    if (json_get_string(root, "text", true, &text, err) < 0 ||
        json_get_string(root, "selection", false, &name, err) < 0 || selection(name, &c, err) < 0)
        goto out;
    c.len = strlen(text);
    if (c.len > LIM_DESKTOP_CLIPBOARD_BYTES) {
        problem_set(err, 413, PROBLEM_INVALID_REQUEST, "text must be at most %u bytes",
                    LIM_DESKTOP_CLIPBOARD_BYTES);
        goto out;
    }
    c.text = xstrndup(text, c.len);
    *out = c;
    r = 0;
out:
    cJSON_Delete(root);
    return r;
}

void desk_clip_req_done(struct desk_clip_req *c)
{
    free(c->text);
    c->text = NULL;
    c->len = 0;
}
