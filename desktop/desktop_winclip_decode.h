/*
 * Request decoding for the desktop's window (spec 5.6) and clipboard (5.7)
 * routes: path ids, JSON bodies and query strings into plain structs, with
 * the reference's messages.  No X here, so the fuzz target links it without
 * a display.
 */
#ifndef DESKTOP_DESKTOP_WINCLIP_DECODE_H
#define DESKTOP_DESKTOP_WINCLIP_DECODE_H

#include "../stream/limits.h"
#include "../stream/problem.h"
#include "../stream/query.h"

#include <stdbool.h>
#include <stddef.h>

/* X coordinates and sizes are 16-bit on the wire. */
#define DESK_WIN_COORD_MAX 32767
#define DESK_WIN_SIDE_MAX  32767

/* A window operation's body: move (x, y) or resize (width, height; 0 keeps that side). */
struct desk_win_req {
    int x, y;
    unsigned width, height;
};

/* Selections, as a set. */
enum desk_sel_bit {
    DESK_SEL_CLIPBOARD = 1u << 0,
    DESK_SEL_PRIMARY = 1u << 1,
    DESK_SEL_SECONDARY = 1u << 2,
};

struct desk_clip_req {
    unsigned sels;    /* enum desk_sel_bit bits: one for a read, one or two (both) for a write */
    const char *name; /* the canonical name echoed back ("clipboard", "both"...): static */
    char *text;       /* write: the text (malloc'd, NUL-terminated) */
    size_t len;       /* write: its length in bytes */
};

/*
 * A window id from the path: decimal (as the API reports ids) or 0x-hex,
 * non-zero, at most 32 bits.  Returns 0 with *ret, or -1 (the caller
 * answers 404 window_not_found naming the text, as the reference does).
 */
int desk_win_id_parse(const char *s, unsigned long *ret);
/* Sets err to the 404 window_not_found for the id text s (truncated when long). */
int desk_win_not_found(const char *s, struct problem *err);
int desk_win_move_decode(const char *body, size_t len, struct desk_win_req *out,
                         struct problem *err);
int desk_win_resize_decode(const char *body, size_t len, struct desk_win_req *out,
                           struct problem *err);

/*
 * GET ?selection= and the POST body.  Names: clipboard (default), primary,
 * secondary, both (case-insensitive); anything else is a 400 (the
 * reference passes the name to xclip, which silently falls back to
 * PRIMARY).  A read of `both` reads the clipboard.  On success a POST's
 * caller frees with desk_clip_req_done().
 */
int desk_clip_get_decode(const struct query *q, struct desk_clip_req *out, struct problem *err);
int desk_clip_set_decode(const char *body, size_t len, struct desk_clip_req *out,
                         struct problem *err);
void desk_clip_req_done(struct desk_clip_req *c);

#endif
