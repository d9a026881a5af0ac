/*
 * Request decoding for the desktop API: JSON bodies and query strings into
 * plain structs, type- and range-checked, with the reference's messages.
 * Nothing here touches X (key names resolve through libX11's static keysym
 * table only), so the fuzz target links it without a display.
 */
#ifndef DESKTOP_DESKTOP_DECODE_H
#define DESKTOP_DESKTOP_DECODE_H

#include "../stream/limits.h"
#include "../stream/problem.h"
#include "../stream/query.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DESK_DEFAULT_WIDTH   1440
#define DESK_DEFAULT_HEIGHT  900
#define DESK_DEFAULT_DPI     96
#define DESK_DEFAULT_DISPLAY 99

struct desk_start_req {
    int width, height; /* screen size */
    int dpi;
    int display_num; /* first display number tried */
    bool sized;      /* width or height was given */
};

enum desk_format {
    DESK_FMT_PNG,
    DESK_FMT_JPEG,
    DESK_FMT_WEBP,
};

struct desk_shot_req {
    bool region;       /* screenshot/region: x, y, width, height given */
    int x, y;          /* region origin (screen pixels) */
    int width, height; /* region size before clipping */
    enum desk_format format;
    int quality;             /* 1-100, 0 when not given */
    double scale;            /* 0.1-1.0 */
    bool show_cursor;        /* draw the crosshair */
    unsigned wait_ms;        /* waitForChangeMs: wait up to this for a change (0: do not wait) */
    bool has_since;          /* since: the ETag of an earlier screenshot was given */
    uint64_t since_frame;    /* its frame counter */
    uint32_t since_instance; /* the daemon instance that made it */
};

enum desk_mouse_op {
    DESK_MOUSE_POSITION,
    DESK_MOUSE_MOVE,
    DESK_MOUSE_CLICK,
    DESK_MOUSE_DOWN,
    DESK_MOUSE_UP,
    DESK_MOUSE_DRAG,
    DESK_MOUSE_SCROLL,
};

struct desk_mouse_req {
    enum desk_mouse_op op;
    bool has_xy;      /* x, y given (down/up make them optional) */
    int x, y;         /* target, or drag start */
    int end_x, end_y; /* drag end */
    unsigned button;  /* X button: 1 left, 2 middle, 3 right */
    unsigned clicks;  /* click count */
    int delta_x;      /* scroll steps: > 0 right */
    int delta_y;      /* scroll steps: > 0 down */
};

enum desk_key_op {
    DESK_KEY_TYPE,
    DESK_KEY_PRESS,
    DESK_KEY_DOWN,
    DESK_KEY_UP,
};

#define DESK_KEYS_MAX (LIM_DESKTOP_CHORD_KEYS + 4)

struct desk_key_req {
    enum desk_key_op op;
    uint32_t keys[DESK_KEYS_MAX]; /* press/down/up: modifiers first, then the chord, in order */
    int nkeys;
    uint32_t *text;    /* type: code points (malloc'd) */
    size_t ntext;      /* type: count */
    unsigned delay_ms; /* type: pause between characters */
};

int desk_start_decode(const char *body, size_t len, struct desk_start_req *out,
                      struct problem *err);
int desk_shot_decode(const struct query *q, bool region, struct desk_shot_req *out,
                     struct problem *err);
/*
 * Parses a screenshot ETag ("<frame hex>-<instance hex8>-<params hex8>",
 * with or without its quotes and a W/ prefix).  Returns 0, or -1.
 */
int desk_etag_parse(const char *s, size_t len, uint64_t *ret_frame, uint32_t *ret_instance);
int desk_mouse_decode(enum desk_mouse_op op, const char *body, size_t len,
                      struct desk_mouse_req *out, struct problem *err);
/* On success the caller frees with desk_key_req_done(). */
int desk_key_decode(enum desk_key_op op, const char *body, size_t len, struct desk_key_req *out,
                    struct problem *err);
void desk_key_req_done(struct desk_key_req *k);

/*
 * Parses a key name or chord ("Return", "Enter", "ctrl+shift+t", "a", "é")
 * into keysyms appended to keys[*n..max).  Returns 0, or -1 with a 400
 * desktop_invalid_action naming the unknown part.
 */
int desk_keys_parse(const char *name, uint32_t *keys, int max, int *n, struct problem *err);
/* The keysym that types code point cp (Latin-1 keysyms, else 0x01000000 + cp). */
uint32_t desk_keysym_for_codepoint(uint32_t cp);
/*
 * Decodes UTF-8 text into code points (malloc'd *ret, *ret_n of them).
 * Returns 0, or -1 with a 400 when the text is not valid UTF-8 or too long.
 */
int desk_utf8_decode(const char *s, size_t n, uint32_t **ret, size_t *ret_n, struct problem *err);

#endif
