/*
 * desktop_keys: key names to X keysyms.  Accepts X keysym names as xdotool
 * does ("Return", "BackSpace", "a"), the browser-style aliases agents use
 * ("Enter", "ArrowLeft", "Control", "Meta"), any single character, and
 * '+'-joined chords ("ctrl+shift+t").  Unlike the reference, an unknown
 * name is an error that names it.  Only libX11's static keysym table is
 * used: no display, safe on any thread.
 */
#include "desktop_decode.h"

#include "../stream/json.h"
#include "../stream/xmalloc.h"

#include <X11/Xlib.h>
#include <X11/keysym.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct key_alias {
    const char *name; /* compared case-insensitively */
    uint32_t sym;
};

static const struct key_alias aliases[] = {
    {"enter", XK_Return},      {"return", XK_Return},
    {"esc", XK_Escape},        {"escape", XK_Escape},
    {"tab", XK_Tab},           {"space", XK_space},
    {"spacebar", XK_space},    {"backspace", XK_BackSpace},
    {"delete", XK_Delete},     {"del", XK_Delete},
    {"insert", XK_Insert},     {"ins", XK_Insert},
    {"home", XK_Home},         {"end", XK_End},
    {"pageup", XK_Prior},      {"page_up", XK_Prior},
    {"pgup", XK_Prior},        {"pagedown", XK_Next},
    {"page_down", XK_Next},    {"pgdn", XK_Next},
    {"arrowleft", XK_Left},    {"left", XK_Left},
    {"arrowright", XK_Right},  {"right", XK_Right},
    {"arrowup", XK_Up},        {"up", XK_Up},
    {"arrowdown", XK_Down},    {"down", XK_Down},
    {"ctrl", XK_Control_L},    {"control", XK_Control_L},
    {"shift", XK_Shift_L},     {"alt", XK_Alt_L},
    {"option", XK_Alt_L},      {"altgr", XK_ISO_Level3_Shift},
    {"meta", XK_Super_L},      {"cmd", XK_Super_L},
    {"command", XK_Super_L},   {"super", XK_Super_L},
    {"win", XK_Super_L},       {"windows", XK_Super_L},
    {"os", XK_Super_L},        {"capslock", XK_Caps_Lock},
    {"numlock", XK_Num_Lock},  {"scrolllock", XK_Scroll_Lock},
    {"printscreen", XK_Print}, {"print", XK_Print},
    {"pause", XK_Pause},       {"contextmenu", XK_Menu},
    {"menu", XK_Menu},         {"plus", XK_plus},
    {"minus", XK_minus},
};

uint32_t desk_keysym_for_codepoint(uint32_t cp)
{
    if (cp == '\n' || cp == '\r')
        return XK_Return;
    if (cp == '\t')
        return XK_Tab;
    if (cp == '\b')
        return XK_BackSpace;
    if (cp == 0x1b)
        return XK_Escape;
    if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000))
        return 0;
    if (cp < 0x100)
        return cp; /* Latin-1 keysyms are the code points */
    return 0x01000000u | cp;
}

int desk_utf8_decode(const char *s, size_t n, uint32_t **ret, size_t *ret_n, struct problem *err)
{
    const unsigned char *p = (const unsigned char *)s;
    uint32_t *out;
    size_t count = 0;

    if (!utf8_valid(s, n))
        return problem_set(err, 400, PROBLEM_DESKTOP_INVALID_ACTION, "text is not valid UTF-8");
    for (size_t i = 0; i < n; i++)
        count += (p[i] & 0xc0) != 0x80;
    if (count > LIM_DESKTOP_TYPE_CHARS)
        return problem_set(err, 400, PROBLEM_DESKTOP_INVALID_ACTION,
                           "text must be at most %d characters", LIM_DESKTOP_TYPE_CHARS);
    out = xmalloc((count ? count : 1) * sizeof(*out));
    count = 0;
    for (size_t i = 0; i < n;) {
        uint32_t c = p[i];
        int extra = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;
        c &= extra == 3 ? 0x07 : extra == 2 ? 0x0f : extra == 1 ? 0x1f : 0x7f;
        for (int k = 1; k <= extra; k++)
            c = (c << 6) | (p[i + (size_t)k] & 0x3f);
        i += (size_t)extra + 1;
        if (!desk_keysym_for_codepoint(c)) {
            free(out);
            return problem_set(err, 400, PROBLEM_DESKTOP_INVALID_ACTION,
                               "text contains U+%04X, a control character that cannot be typed",
                               (unsigned)c);
        }
        out[count++] = c;
    }
    *ret = out;
    *ret_n = count;
    return 0;
}

/* One chord part: 0 with *ret, or -1 when unknown. */
static int resolve(const char *t, size_t len, uint32_t *ret)
{
    char name[64];
    KeySym ks;

    if (len == 0 || len >= sizeof(name))
        return -1;
    memcpy(name, t, len);
    name[len] = '\0';
    for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++) {
        if (strcasecmp(name, aliases[i].name) == 0) {
            *ret = aliases[i].sym;
            return 0;
        }
    }
    /* f1..f35 in any case. */
    if ((name[0] == 'f' || name[0] == 'F') && len >= 2 && len <= 3 && name[1] >= '1' &&
        name[1] <= '9' && (len == 2 || (name[2] >= '0' && name[2] <= '9'))) {
        int n = name[1] - '0';
        if (len == 3)
            n = n * 10 + (name[2] - '0');
        if (n >= 1 && n <= 35) {
            *ret = XK_F1 + (uint32_t)(n - 1);
            return 0;
        }
        return -1;
    }
    ks = XStringToKeysym(name);
    if (ks != NoSymbol && ks <= 0x1fffffff) {
        *ret = (uint32_t)ks;
        return 0;
    }
    /* A single character names itself. */
    if (utf8_valid(name, len)) {
        uint32_t *cps = NULL;
        size_t n = 0;
        struct problem ignore;
        if (desk_utf8_decode(name, len, &cps, &n, &ignore) == 0 && n == 1) {
            *ret = desk_keysym_for_codepoint(cps[0]);
            free(cps);
            return 0;
        }
        free(cps);
    }
    return -1;
}

static int unknown(struct problem *err, const char *t, size_t len)
{
    return problem_set(err, 400, PROBLEM_DESKTOP_INVALID_ACTION,
                       "unknown key `%.*s` (use an X keysym name such as Return or BackSpace, an "
                       "alias such as Enter, ArrowLeft or ctrl, or a single character)",
                       (int)(len > 200 ? 200 : len), t);
}

int desk_keys_parse(const char *name, uint32_t *keys, int max, int *n, struct problem *err)
{
    size_t len = strlen(name);
    const char *p = name, *end = name + len;
    int count = *n;

    if (len == 0)
        return problem_set(err, 400, PROBLEM_DESKTOP_INVALID_ACTION, "key must not be empty");
    if (len > 1 && name[len - 1] == '+' && name[len - 2] != '+')
        return problem_set(err, 400, PROBLEM_DESKTOP_INVALID_ACTION,
                           "key chord `%.200s` ends with '+' (name the plus key as `plus`)", name);
    /* One character ("+" included) names itself. */
    if (len == 1) {
        uint32_t ks;
        if (resolve(name, len, &ks) < 0)
            return unknown(err, name, len);
        if (count >= max)
            return problem_set(err, 400, PROBLEM_DESKTOP_INVALID_ACTION, "too many keys in chord");
        keys[count++] = ks;
        *n = count;
        return 0;
    }
    while (p < end) {
        const char *plus = memchr(p, '+', (size_t)(end - p));
        size_t tl = plus ? (size_t)(plus - p) : (size_t)(end - p);
        uint32_t ks;
        if (tl == 0 && plus && plus + 1 == end) {
            ks = XK_plus; /* "ctrl++" */
            tl = 1;
        } else if (resolve(p, tl, &ks) < 0) {
            return unknown(err, p, tl);
        }
        if (count >= max || count - *n >= LIM_DESKTOP_CHORD_KEYS)
            return problem_set(err, 400, PROBLEM_DESKTOP_INVALID_ACTION,
                               "a chord has at most %d keys", LIM_DESKTOP_CHORD_KEYS);
        keys[count++] = ks;
        p += tl + 1;
    }
    *n = count;
    return 0;
}
