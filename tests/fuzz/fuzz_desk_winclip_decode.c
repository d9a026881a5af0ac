/*
 * Fuzzes the window and clipboard request decoders: window ids from the
 * path, move/resize bodies, the clipboard's query and body.  Invariants:
 * success yields values within their documented ranges; failure is a 4xx
 * problem (404 for an id); nothing leaks or crashes.
 */
#include "../../desktop/desktop_winclip_decode.h"

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
    struct desk_win_req w;
    struct desk_clip_req c;
    struct query qs;
    unsigned long id = 0;
    char *s = malloc(size + 1);

    memcpy(s, data, size);
    s[size] = '\0';
    if (desk_win_id_parse(s, &id) == 0) {
        if (id == 0 || id > UINT32_MAX)
            abort();
    } else {
        desk_win_not_found(s, &err);
        if (err.status != 404)
            abort();
    }
    free(s);
    if (desk_win_move_decode(p, size, &w, &err) == 0) {
        if (w.x < -DESK_WIN_COORD_MAX - 1 || w.x > DESK_WIN_COORD_MAX ||
            w.y < -DESK_WIN_COORD_MAX - 1 || w.y > DESK_WIN_COORD_MAX)
            abort();
    } else {
        check_err(&err);
    }
    if (desk_win_resize_decode(p, size, &w, &err) == 0) {
        if (w.width > DESK_WIN_SIDE_MAX || w.height > DESK_WIN_SIDE_MAX)
            abort();
    } else {
        check_err(&err);
    }
    if (desk_clip_set_decode(p, size, &c, &err) == 0) {
        if (!c.text || c.len != strlen(c.text) || !c.sels || !c.name)
            abort();
        desk_clip_req_done(&c);
    } else {
        check_err(&err);
    }
    query_init(&qs);
    if (query_parse(&qs, p, size, &err) == 0) {
        if (desk_clip_get_decode(&qs, &c, &err) == 0) {
            /* A read names exactly one selection. */
            if (!c.sels || (c.sels & (c.sels - 1)) || !c.name)
                abort();
        } else {
            check_err(&err);
        }
    }
    query_done(&qs);
    return 0;
}
