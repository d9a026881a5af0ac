/*
 * Fuzzes the desktop's request decoders (start, mouse, keyboard bodies),
 * the key-name parser and the screenshot query decoder.  Invariants:
 * success yields values within their documented ranges; failure is a 4xx
 * problem; nothing leaks or crashes.
 */
#include "../../desktop/desktop_decode.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_err(const struct problem *err)
{
    if (err->status < 400 || err->status > 499)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    struct problem err;
    struct desk_start_req s;
    struct desk_mouse_req m;
    struct desk_key_req k;
    struct desk_shot_req q;
    struct query qs;
    uint32_t keys[DESK_KEYS_MAX];
    int n = 0;
    char *name;

    if (desk_start_decode(p, size, &s, &err) == 0) {
        if (s.width < 1 || s.width > LIM_DESKTOP_MAX_SIDE || s.height < 1 ||
            s.height > LIM_DESKTOP_MAX_SIDE || s.dpi < 1 || s.display_num < 1)
            abort();
    } else {
        check_err(&err);
    }
    for (int op = DESK_MOUSE_MOVE; op <= DESK_MOUSE_SCROLL; op++) {
        if (desk_mouse_decode((enum desk_mouse_op)op, p, size, &m, &err) == 0) {
            if ((m.has_xy && (m.x < 0 || m.y < 0)) || m.button < 1 || m.button > 3 ||
                m.clicks < 1 || m.clicks > LIM_DESKTOP_CLICKS)
                abort();
            if (op == DESK_MOUSE_SCROLL && m.delta_x == 0 && m.delta_y == 0)
                abort();
        } else {
            check_err(&err);
        }
    }
    for (int op = DESK_KEY_TYPE; op <= DESK_KEY_UP; op++) {
        if (desk_key_decode((enum desk_key_op)op, p, size, &k, &err) == 0) {
            if (op == DESK_KEY_TYPE ? (k.ntext == 0 || k.ntext > LIM_DESKTOP_TYPE_CHARS)
                                    : (k.nkeys < 1 || k.nkeys > DESK_KEYS_MAX))
                abort();
            for (size_t i = 0; i < k.ntext; i++)
                if (!desk_keysym_for_codepoint(k.text[i]))
                    abort();
            desk_key_req_done(&k);
        } else {
            check_err(&err);
        }
    }
    name = malloc(size + 1);
    memcpy(name, data, size);
    name[size] = '\0';
    if (desk_keys_parse(name, keys, DESK_KEYS_MAX, &n, &err) == 0) {
        if (n < 1 || n > DESK_KEYS_MAX)
            abort();
    } else {
        check_err(&err);
    }
    free(name);
    {
        uint64_t frame;
        uint32_t inst;
        /* The longest ETag: W/, quotes, 16 + 1 + 8 + 1 + 8 hex and dashes. */
        if (desk_etag_parse(p, size, &frame, &inst) == 0 && (size < 19 || size > 38))
            abort();
    }
    query_init(&qs);
    if (query_parse(&qs, p, size, &err) == 0) {
        for (int region = 0; region < 2; region++) {
            if (desk_shot_decode(&qs, region, &q, &err) == 0) {
                if (!(q.scale >= 0.1 && q.scale <= 1.0) || q.quality < 0 || q.quality > 100 ||
                    (region && (q.x < 0 || q.y < 0 || q.width < 1 || q.height < 1)) ||
                    q.wait_ms > LIM_DESKTOP_WAIT_CHANGE_MS)
                    abort();
            } else {
                check_err(&err);
            }
        }
    }
    query_done(&qs);
    return 0;
}
