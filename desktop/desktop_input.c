/*
 * desktop_input: mouse and keyboard through XTEST, on the X thread.
 *
 * Every action ends with one XSync, so when the reply leaves, the server
 * has processed the events (no sleeps).  Text is typed key by key: a
 * character whose keysym is in the keyboard map uses its keycode (with
 * Shift for the second level); any other (accents, CJK, emoji) is bound to
 * a keycode the map leaves empty.  Bindings stay while typing goes on, so
 * a client that reads its keymap late still sees them, and are restored to
 * NoSymbol when the keyboard has been idle for a while (desktop_x11.c) or
 * before the connection closes.  Spare keycodes are reused least recently
 * used first.
 */
#include "desktop_internal.h"

#include "../stream/clock.h"
#include "../stream/log.h"

#include <X11/XKBlib.h>
#include <X11/extensions/XTest.h>
#include <X11/keysym.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*
 * A binding stays at least this long after its last key event before the
 * keycode is re-bound: a client looks the keysym up when it reads the
 * event, which can be a little after the server sent it.
 */
#define DESK_SPARE_HOLD_MS 100

/* The keyboard map as fetched for one request. */
struct keymap {
    KeySym *syms; /* XGetKeyboardMapping result (XFree) */
    int per;      /* keysyms per keycode */
};

static int no_xtest(struct problem *err)
{
    return problem_set(err, 503, PROBLEM_DESKTOP_RUNTIME_FAILED,
                       "the X server has no XTEST extension: input is impossible");
}

static int lost(struct problem *err)
{
    return problem_set(err, 503, PROBLEM_DESKTOP_RUNTIME_FAILED,
                       "the X server went away during the action");
}

static void motion(struct desk_x *x, int px, int py)
{
    XTestFakeMotionEvent(x->dpy, x->screen, px, py, CurrentTime);
}

static void button(struct desk_x *x, unsigned b, bool down)
{
    XTestFakeButtonEvent(x->dpy, b, down ? True : False, CurrentTime);
}

static void wheel(struct desk_x *x, int steps, unsigned neg, unsigned pos)
{
    unsigned b = steps < 0 ? neg : pos;

    for (int i = 0; i < abs(steps); i++) {
        button(x, b, true);
        button(x, b, false);
    }
}

int desk__mouse_act(struct desk_x *x, const struct desk_mouse_req *m, struct problem *err)
{
    if (!x->have_xtest)
        return no_xtest(err);
    if (m->has_xy)
        motion(x, m->x, m->y);
    switch (m->op) {
    case DESK_MOUSE_CLICK:
        for (unsigned i = 0; i < m->clicks; i++) {
            button(x, m->button, true);
            button(x, m->button, false);
        }
        break;
    case DESK_MOUSE_DOWN:
        button(x, m->button, true);
        break;
    case DESK_MOUSE_UP:
        button(x, m->button, false);
        break;
    case DESK_MOUSE_DRAG:
        button(x, m->button, true);
        /* A midpoint first: toolkits that need motion with the button held see some. */
        motion(x, (m->x + m->end_x) / 2, (m->y + m->end_y) / 2);
        motion(x, m->end_x, m->end_y);
        button(x, m->button, false);
        break;
    case DESK_MOUSE_SCROLL:
        wheel(x, m->delta_y, 4, 5); /* up, down */
        wheel(x, m->delta_x, 6, 7); /* left, right */
        break;
    default:
        break;
    }
    return desk__x_sync(x) ? 0 : lost(err);
}

int desk__mouse_where(struct desk_x *x, int *ret_x, int *ret_y, unsigned long *ret_window,
                      struct problem *err)
{
    Window root, child;
    int wx, wy, rx, ry;
    unsigned mask;

    if (!XQueryPointer(x->dpy, x->root, &root, &child, &rx, &ry, &wx, &wy, &mask) || x->dead)
        return x->dead ? lost(err)
                       : problem_set(err, 503, PROBLEM_DESKTOP_RUNTIME_FAILED,
                                     "the pointer is not on the screen");
    *ret_x = rx;
    *ret_y = ry;
    *ret_window = child ? child : x->root;
    return 0;
}

/* ---- keyboard ----------------------------------------------------------------------------- */

void desk__keys_scan(struct desk_x *x)
{
    struct keymap km;
    int n;

    x->n_spares = 0;
    x->spares_dirty = false;
    XDisplayKeycodes(x->dpy, &x->min_kc, &x->max_kc);
    n = x->max_kc - x->min_kc + 1;
    km.syms = XGetKeyboardMapping(x->dpy, (KeyCode)x->min_kc, n, &km.per);
    if (!km.syms)
        return;
    /* From the top: low keycodes are the ones real keyboards use. */
    for (int i = n - 1; i >= 0 && x->n_spares < DESK_SPARE_KEYCODES; i--) {
        bool empty = true;
        for (int k = 0; k < km.per && empty; k++)
            empty = km.syms[i * km.per + k] == NoSymbol;
        if (empty)
            x->spares[x->n_spares++] = (struct desk_spare){(KeyCode)(x->min_kc + i), NoSymbol, 0};
    }
    XFree(km.syms);
}

void desk__keys_restore(struct desk_x *x)
{
    KeySym none[2] = {NoSymbol, NoSymbol};

    if (!x->spares_dirty || !x->dpy || x->dead)
        return;
    for (int i = 0; i < x->n_spares; i++) {
        if (x->spares[i].bound == NoSymbol)
            continue;
        XChangeKeyboardMapping(x->dpy, x->spares[i].code, 2, none, 1);
        x->spares[i].bound = NoSymbol;
    }
    x->spares_dirty = false;
    XSync(x->dpy, False);
}

static bool keymap_fetch(struct desk_x *x, struct keymap *km)
{
    km->syms = XGetKeyboardMapping(x->dpy, (KeyCode)x->min_kc, x->max_kc - x->min_kc + 1, &km->per);
    return km->syms != NULL;
}

/* The keycode and level (0 plain, 1 shifted) typing ks, or 0. */
static KeyCode keymap_find(const struct desk_x *x, const struct keymap *km, KeySym ks,
                           bool *ret_shift)
{
    int n = x->max_kc - x->min_kc + 1, levels = km->per < 2 ? km->per : 2;

    for (int level = 0; level < levels; level++) {
        for (int i = 0; i < n; i++) {
            if (km->syms[i * km->per + level] == ks) {
                *ret_shift = level == 1;
                return (KeyCode)(x->min_kc + i);
            }
        }
    }
    return 0;
}

static void pause_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* Binds ks to a spare keycode (least recently used first); 0 when there is none. */
static KeyCode bind_spare(struct desk_x *x, struct keymap *km, KeySym ks)
{
    struct desk_spare *best = NULL;
    KeySym pair[2] = {ks, ks};

    for (int i = 0; i < x->n_spares; i++) {
        struct desk_spare *s = &x->spares[i];
        if (s->bound == NoSymbol) {
            best = s;
            break;
        }
        if (!best || s->last_use < best->last_use)
            best = s;
    }
    if (!best)
        return 0;
    if (best->bound != NoSymbol) {
        /* Every spare is in use: wait out the hold of the least recently used one. */
        int64_t wait = best->last_use + DESK_SPARE_HOLD_MS - clock_mono_ms();
        XSync(x->dpy, False);
        if (wait > 0)
            pause_ms((unsigned)wait);
    }
    XChangeKeyboardMapping(x->dpy, best->code, 2, pair, 1);
    best->bound = ks;
    best->last_use = clock_mono_ms();
    x->spares_dirty = true;
    /* Keep the local copy in step so later lookups in this request find it. */
    if (km->per >= 1) {
        int i = best->code - x->min_kc;
        for (int k = 0; k < km->per; k++)
            km->syms[i * km->per + k] = k < 2 ? ks : NoSymbol;
    }
    return best->code;
}

/* Resolves ks to a keycode (binding a spare if needed); 0 with err when impossible. */
static KeyCode resolve(struct desk_x *x, struct keymap *km, KeySym ks, bool *shift,
                       struct problem *err)
{
    KeyCode kc = keymap_find(x, km, ks, shift);

    if (kc) {
        for (int i = 0; i < x->n_spares; i++)
            if (x->spares[i].code == kc)
                x->spares[i].last_use = clock_mono_ms();
        return kc;
    }
    *shift = false;
    kc = bind_spare(x, km, ks);
    if (!kc)
        problem_set(err, 503, PROBLEM_DESKTOP_RUNTIME_FAILED,
                    "no free keycode to type keysym 0x%lx", (unsigned long)ks);
    return kc;
}

static void key(struct desk_x *x, KeyCode kc, bool down)
{
    XTestFakeKeyEvent(x->dpy, kc, down ? True : False, CurrentTime);
}

static int type_text(struct desk_x *x, struct keymap *km, const struct desk_key_req *k,
                     KeyCode shift_kc, struct problem *err)
{
    for (size_t i = 0; i < k->ntext; i++) {
        bool shift = false;
        KeyCode kc = resolve(x, km, desk_keysym_for_codepoint(k->text[i]), &shift, err);
        if (!kc)
            return -1;
        if (shift && shift_kc)
            key(x, shift_kc, true);
        key(x, kc, true);
        key(x, kc, false);
        if (shift && shift_kc)
            key(x, shift_kc, false);
        if (k->delay_ms && i + 1 < k->ntext) {
            if (!desk__x_sync(x))
                return lost(err);
            pause_ms(k->delay_ms);
        }
    }
    return 0;
}

int desk__key_act(struct desk_x *x, const struct desk_key_req *k, struct problem *err)
{
    struct keymap km;
    KeyCode codes[DESK_KEYS_MAX];
    bool shifts[DESK_KEYS_MAX];
    KeyCode shift_kc;
    int r = 0;

    if (!x->have_xtest)
        return no_xtest(err);
    if (!keymap_fetch(x, &km))
        return lost(err);
    shift_kc = XKeysymToKeycode(x->dpy, XK_Shift_L);
    if (k->op == DESK_KEY_TYPE) {
        r = type_text(x, &km, k, shift_kc, err);
        goto out;
    }
    for (int i = 0; i < k->nkeys; i++) {
        codes[i] = resolve(x, &km, k->keys[i], &shifts[i], err);
        if (!codes[i]) {
            r = -1;
            goto out;
        }
    }
    if (k->op != DESK_KEY_UP) {
        for (int i = 0; i < k->nkeys; i++) {
            if (shifts[i] && shift_kc)
                key(x, shift_kc, true);
            key(x, codes[i], true);
        }
    }
    if (k->op != DESK_KEY_DOWN) {
        for (int i = k->nkeys - 1; i >= 0; i--) {
            key(x, codes[i], false);
            if (shifts[i] && shift_kc)
                key(x, shift_kc, false);
        }
    }
out:
    XFree(km.syms);
    if (r < 0)
        return -1;
    return desk__x_sync(x) ? 0 : lost(err);
}
