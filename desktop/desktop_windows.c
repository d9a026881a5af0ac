/*
 * desktop_windows: the windows routes (spec 5.6) and `windows` in the
 * status (5.1), as jobs on the X thread.
 *
 * Which windows: the window manager's _NET_CLIENT_LIST (managed
 * application windows), plus the viewable top-level windows nobody manages
 * (override-redirect ones, or every window when no window manager runs),
 * minus the window manager's frames.  An id names the window it is, or
 * the client a frame (or any window inside a frame or a client) holds, so
 * the `window` of a mouse reply (the frame under the pointer) works too;
 * anything else (the root, the manager's own windows) is 404
 * window_not_found.  The list shows those that are viewable, have a title
 * (_NET_WM_NAME as UTF8_STRING, else WM_NAME) and are at least
 * DESK_WIN_MIN_SIDE pixels on each side, and always the active one.
 *
 * Geometry is the reference's: width and height of the application's window,
 * and its position in root coordinates plus the frame's left and top
 * extents (_NET_FRAME_EXTENTS).  That is what xdotool, which the reference
 * runs, reports (it adds the window's offset inside the frame twice): with
 * openbox a move to 10,20 puts the frame there and reports 12,60.  The
 * client area as it is on the screen (clientX/Y/Width/Height) and the
 * frame's id are added, for region screenshots and clicks.
 *
 * Actions wait for their effect, bounded: focus asks the window manager
 * (_NET_ACTIVE_WINDOW, then XSetInputFocus when it does not take it) and
 * polls until the window is active; move and resize send the request and
 * wait for ConfigureNotify until the geometry reaches the target or stops
 * changing.
 */
#include "desktop_internal.h"
#include "desktop_winclip_decode.h"

#include "../stream/clock.h"
#include "../stream/json.h"
#include "../stream/xmalloc.h"

#include <X11/Xatom.h>
#include <X11/Xutil.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DESK_WIN_MIN_SIDE          10   /* smaller windows are not listed (unless active) */
#define DESK_WIN_FOCUS_MS          500  /* the window manager's time to activate a window */
#define DESK_WIN_FOCUS_FALLBACK_MS 200  /* XSetInputFocus's, when the manager did not */
#define DESK_WIN_SETTLE_MS         1000 /* a move or resize's time to take effect */
#define DESK_WIN_QUIET_MS          50   /* after a ConfigureNotify: settled when no other comes */
#define DESK_WIN_POLL_MS           2
#define DESK_WIN_MAX_DEPTH         64 /* parent walks */

enum { A_CLIENT_LIST, A_ACTIVE, A_NAME, A_UTF8, A_EXTENTS, A_CHECK, A_COUNT };

static const char *const atom_names[A_COUNT] = {
    "_NET_CLIENT_LIST", "_NET_ACTIVE_WINDOW", "_NET_WM_NAME",
    "UTF8_STRING",      "_NET_FRAME_EXTENTS", "_NET_SUPPORTING_WM_CHECK",
};

/* Atoms of the current connection (X thread only). */
static struct {
    Display *dpy;
    uint64_t gen;
    Atom a[A_COUNT];
} atoms;

/* One window as reported. */
struct desk_window {
    unsigned long id;
    char *title;         /* UTF-8 (malloc'd) */
    int x, y;            /* root position plus the frame's left/top extents */
    int width, height;   /* the window's own size */
    int cx, cy;          /* root position of the client area (inside the border) */
    unsigned long frame; /* the manager's frame around it, 0 when none */
    bool viewable;
    bool active;
};

/* A set of window ids. */
struct wset {
    Window *ids;
    size_t n, cap;
};

/* The known windows of one operation and the active one. */
struct wview {
    struct wset known;   /* what an id may name */
    struct wset clients; /* the window manager's clients */
    struct wset frames;  /* frames.ids[i] is the manager's frame around framed.ids[i] */
    struct wset framed;
    Window active; /* None when no window is active */
};

enum win_op { W_LIST, W_STATUS, W_FOCUSED, W_FOCUS, W_MOVE, W_RESIZE };

struct win_job {
    struct desk_xjob job; /* first member */
    struct http_req *req; /* referenced until done */
    enum win_op op;
    unsigned long id;      /* focus, move, resize */
    char *id_text;         /* the id as sent (for the 404) */
    struct desk_win_req w; /* move, resize */
    cJSON *status;         /* W_STATUS: the status object to complete */
    int r;                 /* 0 or -1 */
    struct problem err;    /* when r < 0 */
    struct desk_window *wins;
    size_t n;
};

static void pause_ms(int ms)
{
    struct timespec ts = {0, (long)ms * 1000000L};

    nanosleep(&ts, NULL);
}

static Atom atom(struct desk_x *x, int i)
{
    if (atoms.dpy != x->dpy || atoms.gen != x->gen) {
        for (int k = 0; k < A_COUNT; k++)
            atoms.a[k] = XInternAtom(x->dpy, atom_names[k], False);
        atoms.dpy = x->dpy;
        atoms.gen = x->gen;
    }
    return atoms.a[i];
}

static void wset_add(struct wset *s, Window w)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 32;
        s->ids = xrealloc(s->ids, s->cap * sizeof(*s->ids));
    }
    s->ids[s->n++] = w;
}

static bool wset_has(const struct wset *s, Window w)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->ids[i] == w)
            return true;
    return false;
}

static void wview_done(struct wview *v)
{
    free(v->known.ids);
    free(v->clients.ids);
    free(v->frames.ids);
    free(v->framed.ids);
    memset(v, 0, sizeof(*v));
}

/*
 * Reads up to max_longs 32-bit units of property prop of w (of type `type`,
 * or any with AnyPropertyType).  Returns the item count with *ret (XFree)
 * and *ret_type, or -1 when it is absent, of another type or format.
 */
static long prop_get(struct desk_x *x, Window w, Atom prop, Atom type, int format, long max_longs,
                     unsigned char **ret, Atom *ret_type)
{
    Atom t = None;
    int f = 0;
    unsigned long n = 0, left = 0;
    unsigned char *data = NULL;

    if (XGetWindowProperty(x->dpy, w, prop, 0, max_longs, False, type, &t, &f, &n, &left, &data) !=
        Success)
        return -1;
    if (t == None || f != format || !data || (type != AnyPropertyType && t != type)) {
        if (data)
            XFree(data);
        return -1;
    }
    *ret = data;
    if (ret_type)
        *ret_type = t;
    return (long)n;
}

/* Latin-1 (STRING) bytes as UTF-8 (malloc'd). */
static char *latin1_to_utf8(const unsigned char *s, size_t n)
{
    char *out = xmalloc(n * 2 + 1), *o = out;

    for (size_t i = 0; i < n; i++) {
        if (s[i] < 0x80) {
            *o++ = (char)s[i];
        } else {
            *o++ = (char)(0xc0 | s[i] >> 6);
            *o++ = (char)(0x80 | (s[i] & 0x3f));
        }
    }
    *o = '\0';
    return out;
}

/* The window's title as UTF-8 (malloc'd; "" when it has none). */
static char *title_of(struct desk_x *x, Window w)
{
    unsigned char *d = NULL;
    Atom type = None;
    long n;
    char *s;

    n = prop_get(x, w, atom(x, A_NAME), atom(x, A_UTF8), 8, LIM_DESKTOP_TITLE_BYTES / 4, &d, NULL);
    if (n > 0) {
        s = xstrndup((const char *)d, (size_t)n);
        XFree(d);
        return s;
    }
    if (n == 0)
        XFree(d);
    n = prop_get(x, w, XA_WM_NAME, AnyPropertyType, 8, LIM_DESKTOP_TITLE_BYTES / 4, &d, &type);
    if (n < 0)
        return xstrdup("");
    if (type == XA_STRING && !utf8_valid((const char *)d, (size_t)n)) {
        s = latin1_to_utf8(d, (size_t)n);
    } else if (type == XA_STRING || type == atom(x, A_UTF8)) {
        /* Many clients store UTF-8 labelled STRING; bytes that are valid UTF-8 are taken as such.
         */
        s = xstrndup((const char *)d, (size_t)n);
    } else {
        /* COMPOUND_TEXT and the like: Xlib converts; raw bytes when it cannot. */
        XTextProperty tp = {d, type, 8, (unsigned long)n};
        char **list = NULL;
        int count = 0;
        if (Xutf8TextPropertyToTextList(x->dpy, &tp, &list, &count) >= Success && count > 0 &&
            list) {
            s = xstrdup(list[0]);
        } else {
            s = xstrndup((const char *)d, (size_t)n);
        }
        if (list)
            XFreeStringList(list);
    }
    XFree(d);
    return s;
}

/* The parent of w (None when w is gone or is the root). */
static Window parent_of(struct desk_x *x, Window w)
{
    Window root = None, parent = None, *children = NULL;
    unsigned n = 0;

    if (!XQueryTree(x->dpy, w, &root, &parent, &children, &n))
        return None;
    if (children)
        XFree(children);
    return parent;
}

/* The child of the root that contains w (w itself for a top-level window), None if gone. */
static Window toplevel_of(struct desk_x *x, Window w)
{
    for (int depth = 0; depth < DESK_WIN_MAX_DEPTH; depth++) {
        Window p = parent_of(x, w);
        if (p == None)
            return None;
        if (p == x->root)
            return w;
        w = p;
    }
    return None;
}

/* The window that is active: the known one holding the input focus, else _NET_ACTIVE_WINDOW. */
static Window active_of(struct desk_x *x, const struct wset *known)
{
    Window focus = None, w;
    int revert = 0;
    unsigned char *d = NULL;

    XGetInputFocus(x->dpy, &focus, &revert);
    w = focus;
    for (int depth = 0; w != None && w != PointerRoot && w != x->root && depth < DESK_WIN_MAX_DEPTH;
         depth++) {
        if (wset_has(known, w))
            return w;
        w = parent_of(x, w);
    }
    if (prop_get(x, x->root, atom(x, A_ACTIVE), XA_WINDOW, 32, 1, &d, NULL) == 1) {
        w = (Window)((const long *)d)[0];
        XFree(d);
        /* The manager may leave it naming a window that is gone. */
        if (w != None && wset_has(known, w))
            return w;
    } else if (d) {
        XFree(d);
    }
    return None;
}

/*
 * The client-id part of the window manager's resource ids (its EWMH check
 * window's), or 0 when no manager announced itself.  Every window a client
 * creates shares those bits; the mask is the server's, from the connection
 * setup (Xlib keeps it in the display's public-ABI struct as private4,
 * "resource_mask" in Xlibint.h).
 */
static XID wm_client_bits(struct desk_x *x, XID *ret_mask)
{
    unsigned char *d = NULL;
    XID check = None;

    *ret_mask = ((_XPrivDisplay)x->dpy)->private4;
    if (prop_get(x, x->root, atom(x, A_CHECK), XA_WINDOW, 32, 1, &d, NULL) == 1)
        check = (XID)((const long *)d)[0];
    if (d)
        XFree(d);
    return check != None ? check & ~*ret_mask : 0;
}

/*
 * Fills v: the manager's clients and the unmanaged viewable top-level
 * windows (not the manager's own: its frames, its check window, its menus
 * and popups), and the active one.
 */
static void view_collect(struct desk_x *x, struct wview *v)
{
    unsigned char *d = NULL;
    Window root = None, parent = None, *children = NULL;
    unsigned nchildren = 0;
    XID mask = 0, wm = wm_client_bits(x, &mask);
    long n;

    memset(v, 0, sizeof(*v));
    n = prop_get(x, x->root, atom(x, A_CLIENT_LIST), XA_WINDOW, 32, LIM_DESKTOP_WINDOWS, &d, NULL);
    for (long i = 0; i < n; i++) {
        Window c = (Window)((const long *)d)[i], top;
        if (c == None || wset_has(&v->clients, c))
            continue;
        top = toplevel_of(x, c);
        if (top == None)
            continue; /* gone */
        wset_add(&v->clients, c);
        wset_add(&v->known, c);
        if (top != c) {
            wset_add(&v->frames, top);
            wset_add(&v->framed, c);
        }
    }
    if (d)
        XFree(d);
    if (XQueryTree(x->dpy, x->root, &root, &parent, &children, &nchildren)) {
        for (unsigned i = 0; i < nchildren && v->known.n < LIM_DESKTOP_WINDOWS; i++) {
            XWindowAttributes a;
            Window c = children[i];
            if (wset_has(&v->clients, c) || wset_has(&v->frames, c) || (wm && (c & ~mask) == wm))
                continue;
            if (XGetWindowAttributes(x->dpy, c, &a) && a.map_state == IsViewable &&
                a.class == InputOutput)
                wset_add(&v->known, c);
        }
        if (children)
            XFree(children);
    }
    v->active = active_of(x, &v->known);
}

/* The manager's frame around w (None when it has none). */
static Window frame_of(const struct wview *v, Window w)
{
    for (size_t i = 0; i < v->framed.n; i++)
        if (v->framed.ids[i] == w)
            return v->frames.ids[i];
    return None;
}

/*
 * The window an id names: a known window, or the one a frame holds, or the
 * known window (or frame) the id is inside of (a client's subwindow, a
 * frame's title bar).  None for anything else: the root, the manager's own.
 */
static Window resolve(struct desk_x *x, const struct wview *v, Window id)
{
    Window w = id;

    for (int depth = 0; w != None && w != x->root && depth < DESK_WIN_MAX_DEPTH; depth++) {
        if (wset_has(&v->known, w))
            return w;
        for (size_t i = 0; i < v->frames.n; i++)
            if (v->frames.ids[i] == w)
                return v->framed.ids[i];
        w = parent_of(x, w);
    }
    return None;
}

/* The frame's left and top extents (0 when the window has none). */
static void extents_of(struct desk_x *x, Window w, int *ret_left, int *ret_top)
{
    unsigned char *d = NULL;
    long n = prop_get(x, w, atom(x, A_EXTENTS), XA_CARDINAL, 32, 4, &d, NULL);

    *ret_left = *ret_top = 0;
    if (n == 4) {
        const long *e = (const long *)d;
        /* left, right, top, bottom; bounded so a hostile value cannot overflow a sum. */
        *ret_left = e[0] >= 0 && e[0] <= 4096 ? (int)e[0] : 0;
        *ret_top = e[2] >= 0 && e[2] <= 4096 ? (int)e[2] : 0;
    }
    if (d)
        XFree(d);
}

/* Reads w's geometry (not its title). False when w is gone. */
static bool geometry_of(struct desk_x *x, Window w, struct desk_window *out)
{
    XWindowAttributes a;
    Window child;
    int rx = 0, ry = 0, left, top;

    if (!XGetWindowAttributes(x->dpy, w, &a) ||
        !XTranslateCoordinates(x->dpy, w, x->root, 0, 0, &rx, &ry, &child) || x->dead)
        return false;
    extents_of(x, w, &left, &top);
    out->id = w;
    out->x = rx + left;
    out->y = ry + top;
    out->cx = rx;
    out->cy = ry;
    out->width = a.width;
    out->height = a.height;
    out->viewable = a.map_state == IsViewable;
    return true;
}

static bool window_read(struct desk_x *x, const struct wview *v, Window w, struct desk_window *out)
{
    memset(out, 0, sizeof(*out));
    if (!geometry_of(x, w, out))
        return false;
    out->title = title_of(x, w);
    out->active = w == v->active;
    out->frame = frame_of(v, w);
    return true;
}

static void windows_free(struct desk_window *wins, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(wins[i].title);
    free(wins);
}

static bool listed(const struct desk_window *w)
{
    return w->active || (w->viewable && w->title[0] && w->width >= DESK_WIN_MIN_SIDE &&
                         w->height >= DESK_WIN_MIN_SIDE);
}

static void list_run(struct desk_x *x, struct win_job *j)
{
    struct wview v;

    view_collect(x, &v);
    j->wins = xcalloc(v.known.n ? v.known.n : 1, sizeof(*j->wins));
    for (size_t i = 0; i < v.known.n; i++) {
        struct desk_window *w = &j->wins[j->n];
        if (!window_read(x, &v, v.known.ids[i], w))
            continue;
        if (listed(w))
            j->n++;
        else
            free(w->title);
    }
    wview_done(&v);
    j->r = 0;
}

/* ---- actions ------------------------------------------------------------------------------ */

static int lost(struct problem *err)
{
    return problem_set(err, 503, PROBLEM_DESKTOP_RUNTIME_FAILED,
                       "the X server went away during the window operation");
}

/* Polls until w is the active window or ms passed. */
static bool wait_active(struct desk_x *x, Window w, struct wview *v, int ms)
{
    int64_t end = clock_mono_ms() + ms;

    for (;;) {
        v->active = active_of(x, &v->known);
        if (v->active == w || x->dead || clock_mono_ms() >= end)
            return v->active == w;
        pause_ms(DESK_WIN_POLL_MS);
    }
}

static void focus(struct desk_x *x, Window w, struct wview *v)
{
    if (v->active == w)
        return;
    if (wset_has(&v->clients, w)) {
        XEvent e;
        memset(&e, 0, sizeof(e));
        e.xclient.type = ClientMessage;
        e.xclient.window = w;
        e.xclient.message_type = atom(x, A_ACTIVE);
        e.xclient.format = 32;
        e.xclient.data.l[0] = 2; /* source: a pager, which managers always obey */
        e.xclient.data.l[1] = CurrentTime;
        e.xclient.data.l[2] = (long)v->active;
        XSendEvent(x->dpy, x->root, False, SubstructureRedirectMask | SubstructureNotifyMask, &e);
        XFlush(x->dpy);
        if (wait_active(x, w, v, DESK_WIN_FOCUS_MS))
            return;
    }
    /* No manager, an unmanaged window, or a manager that refused: do it ourselves. */
    XRaiseWindow(x->dpy, w);
    XSetInputFocus(x->dpy, w, RevertToParent, CurrentTime);
    desk__x_sync(x);
    wait_active(x, w, v, DESK_WIN_FOCUS_FALLBACK_MS);
}

static Bool is_structure_event(Display *dpy, XEvent *ev, XPointer arg)
{
    Window w = (Window)arg;

    (void)dpy;
    switch (ev->type) {
    case ConfigureNotify:
        return ev->xconfigure.window == w;
    case DestroyNotify:
        return ev->xdestroywindow.window == w;
    case MapNotify:
    case UnmapNotify:
    case ReparentNotify:
    case GravityNotify:
    case CirculateNotify:
        return ev->xany.window == w;
    default:
        return False;
    }
}

/*
 * Waits up to ms for the next StructureNotify event of w.  Returns 1 with
 * the event, 0 on timeout, -1 when the connection died.
 */
static int next_event(struct desk_x *x, Window w, int ms, XEvent *ev)
{
    int64_t end = clock_mono_ms() + ms;

    for (;;) {
        int64_t left;
        struct pollfd p = {.fd = ConnectionNumber(x->dpy), .events = POLLIN};
        /* XCheckIfEvent flushes and reads what has arrived without blocking. */
        if (XCheckIfEvent(x->dpy, ev, is_structure_event, (XPointer)w))
            return 1;
        if (x->dead)
            return -1;
        left = end - clock_mono_ms();
        if (left <= 0)
            return 0;
        poll(&p, 1, (int)left);
    }
}

static bool reached(const struct desk_window *g, const struct desk_win_req *target, bool move)
{
    if (move)
        return g->x == target->x && g->y == target->y;
    return (unsigned)g->width == target->width && (unsigned)g->height == target->height;
}

/*
 * Moves (x, y: where the frame's corner goes, as xdotool's windowmove) or
 * resizes (0 keeps a side) w, then waits until its geometry reaches the
 * target or stops changing.  Returns 0, or -1 with err (w vanished, X gone).
 */
static int configure(struct desk_x *x, Window w, const struct desk_win_req *req, bool move,
                     const char *id_text, struct problem *err)
{
    XWindowAttributes a;
    struct desk_window g = {0};
    struct desk_win_req target = *req;
    int left, top, got = 0, r = 0;
    int64_t end = clock_mono_ms() + DESK_WIN_SETTLE_MS;
    bool selected;
    XEvent ev;

    if (!XGetWindowAttributes(x->dpy, w, &a))
        return x->dead ? lost(err) : desk_win_not_found(id_text, err);
    /* Our own StructureNotify interest for the duration, restored after. */
    selected = (a.your_event_mask & StructureNotifyMask) != 0;
    if (!selected)
        XSelectInput(x->dpy, w, a.your_event_mask | StructureNotifyMask);
    if (move) {
        extents_of(x, w, &left, &top);
        /* The reported position of the window once its frame is at (x, y). */
        target.x = req->x + 2 * left;
        target.y = req->y + 2 * top;
        XMoveWindow(x->dpy, w, req->x, req->y);
    } else {
        target.width = req->width ? req->width : (unsigned)a.width;
        target.height = req->height ? req->height : (unsigned)a.height;
        XResizeWindow(x->dpy, w, target.width, target.height);
    }
    if (!desk__x_sync(x)) {
        r = lost(err);
        goto out;
    }
    for (;;) {
        int64_t now = clock_mono_ms(), until = got ? now + DESK_WIN_QUIET_MS : end;
        if (!geometry_of(x, w, &g)) {
            r = x->dead ? lost(err) : desk_win_not_found(id_text, err);
            break;
        }
        if (reached(&g, &target, move) || now >= end)
            break;
        int e = next_event(x, w, (int)((until < end ? until : end) - now), &ev);
        if (e < 0) {
            r = lost(err);
            break;
        }
        if (e == 0)
            break; /* settled elsewhere than asked (a manager's constraint), or no answer */
        got = 1;
    }
out:
    if (!selected && !x->dead) {
        XSelectInput(x->dpy, w, a.your_event_mask);
        XSync(x->dpy, False);
        /* Events of the interest we just dropped are nobody else's. */
        while (XCheckIfEvent(x->dpy, &ev, is_structure_event, (XPointer)w))
            ;
    }
    return r;
}

static void action_run(struct desk_x *x, struct win_job *j)
{
    struct wview v;
    Window w;

    view_collect(x, &v);
    w = resolve(x, &v, (Window)j->id);
    if (w == None) {
        j->r = x->dead ? lost(&j->err) : desk_win_not_found(j->id_text, &j->err);
        goto out;
    }
    if (j->op == W_FOCUS) {
        focus(x, w, &v);
    } else if (configure(x, w, &j->w, j->op == W_MOVE, j->id_text, &j->err) < 0) {
        j->r = -1;
        goto out;
    }
    if (j->op != W_FOCUS)
        v.active = active_of(x, &v.known);
    j->wins = xcalloc(1, sizeof(*j->wins));
    if (!window_read(x, &v, w, j->wins)) {
        j->r = x->dead ? lost(&j->err) : desk_win_not_found(j->id_text, &j->err);
        goto out;
    }
    j->n = 1;
    j->r = 0;
out:
    wview_done(&v);
}

static void focused_run(struct desk_x *x, struct win_job *j)
{
    struct wview v;

    view_collect(x, &v);
    j->r = -1;
    if (v.active == None) {
        problem_set(&j->err, 404, PROBLEM_NO_FOCUSED_WINDOW, "No window currently has focus");
    } else {
        j->wins = xcalloc(1, sizeof(*j->wins));
        if (window_read(x, &v, v.active, j->wins)) {
            j->n = 1;
            j->r = 0;
        } else {
            problem_set(&j->err, 404, PROBLEM_NO_FOCUSED_WINDOW, "No window currently has focus");
        }
    }
    wview_done(&v);
}

static void win_run(struct desk_x *x, struct desk_xjob *job)
{
    struct win_job *j = (struct win_job *)job;

    j->r = -1;
    if (!desk__x_usable(x, &j->err))
        return;
    switch (j->op) {
    case W_LIST:
    case W_STATUS:
        list_run(x, j);
        break;
    case W_FOCUSED:
        focused_run(x, j);
        break;
    default:
        action_run(x, j);
        break;
    }
    if (x->dead && j->r == 0) {
        windows_free(j->wins, j->n);
        j->wins = NULL;
        j->n = 0;
        j->r = lost(&j->err);
    }
}

/* ---- replies (loop thread) ---------------------------------------------------------------- */

static cJSON *window_json(const struct desk_window *w)
{
    cJSON *o = cJSON_CreateObject();
    char id[32];

    snprintf(id, sizeof(id), "%lu", w->id);
    json_add_string(o, "id", id);
    json_add_string(o, "title", w->title);
    cJSON_AddNumberToObject(o, "x", w->x);
    cJSON_AddNumberToObject(o, "y", w->y);
    cJSON_AddNumberToObject(o, "width", w->width);
    cJSON_AddNumberToObject(o, "height", w->height);
    cJSON_AddBoolToObject(o, "isActive", w->active);
    /* agentd's: where the application's own pixels are, and the frame an id may also name. */
    cJSON_AddNumberToObject(o, "clientX", w->cx);
    cJSON_AddNumberToObject(o, "clientY", w->cy);
    cJSON_AddNumberToObject(o, "clientWidth", w->width);
    cJSON_AddNumberToObject(o, "clientHeight", w->height);
    if (w->frame) {
        snprintf(id, sizeof(id), "%lu", w->frame);
        json_add_string(o, "frameId", id);
    }
    return o;
}

static cJSON *windows_json(const struct win_job *j)
{
    cJSON *a = cJSON_CreateArray();

    for (size_t i = 0; i < j->n; i++)
        cJSON_AddItemToArray(a, window_json(&j->wins[i]));
    return a;
}

static void win_done(struct desk_xjob *job)
{
    struct win_job *j = (struct win_job *)job;
    cJSON *o = NULL;

    if (http_req_alive(j->req)) {
        if (j->op == W_STATUS) {
            /* The status stands without the windows when they could not be read. */
            if (j->r == 0 && j->n > 0)
                cJSON_AddItemToObject(j->status, "windows", windows_json(j));
            http_reply_json(j->req, 200, j->status);
        } else if (j->r < 0) {
            http_reply_problem(j->req, &j->err);
        } else if (j->op == W_LIST) {
            o = cJSON_CreateObject();
            cJSON_AddItemToObject(o, "windows", windows_json(j));
            http_reply_json(j->req, 200, o);
        } else {
            o = window_json(&j->wins[0]);
            http_reply_json(j->req, 200, o);
        }
    }
    cJSON_Delete(o);
    cJSON_Delete(j->status);
    windows_free(j->wins, j->n);
    free(j->id_text);
    http_req_unref(j->req);
    free(j);
}

static struct win_job *job_new(struct http_req *req, enum win_op op)
{
    struct win_job *j = xcalloc(1, sizeof(*j));

    j->job.run = win_run;
    j->job.done = win_done;
    j->op = op;
    http_req_ref(req);
    j->req = req;
    return j;
}

void desk__windows_reply_status(struct http_req *req, cJSON *status)
{
    struct win_job *j = job_new(req, W_STATUS);

    j->status = status;
    desk__x_submit(&j->job);
}

static void handle_windows(struct http_req *req)
{
    if (desk__require_active(req))
        desk__x_submit(&job_new(req, W_LIST)->job);
}

static void handle_window_focused(struct http_req *req)
{
    if (desk__require_active(req))
        desk__x_submit(&job_new(req, W_FOCUSED)->job);
}

/* Focus, move and resize: the body first (as the reference), then the runtime, then the id. */
static void handle_action(struct http_req *req, enum win_op op)
{
    struct desk_win_req w = {0};
    struct problem err;
    const char *id = http_param(req, 0);
    unsigned long wid = 0;
    struct win_job *j;
    size_t len = 0;
    const char *body;

    if (op != W_FOCUS) {
        body = http_body(req, &len);
        if ((op == W_MOVE ? desk_win_move_decode(body, len, &w, &err)
                          : desk_win_resize_decode(body, len, &w, &err)) < 0) {
            http_reply_problem(req, &err);
            return;
        }
    }
    if (!desk__require_active(req))
        return;
    if (!id || desk_win_id_parse(id, &wid) < 0) {
        desk_win_not_found(id ? id : "", &err);
        http_reply_problem(req, &err);
        return;
    }
    j = job_new(req, op);
    j->id = wid;
    j->id_text = xstrdup(id);
    j->w = w;
    desk__x_submit(&j->job);
}

static void handle_window_focus(struct http_req *req)
{
    handle_action(req, W_FOCUS);
}

static void handle_window_move(struct http_req *req)
{
    handle_action(req, W_MOVE);
}

static void handle_window_resize(struct http_req *req)
{
    handle_action(req, W_RESIZE);
}

/* The endpoints of this file (registered by desk_register(), desktop_routes.c). */
static const struct route routes[] = {
    {HTTP_GET, "/v1/desktop/windows", handle_windows, 0},
    {HTTP_GET, "/v1/desktop/windows/focused", handle_window_focused, 0},
    {HTTP_POST, "/v1/desktop/windows/{}/focus", handle_window_focus, 0},
    {HTTP_POST, "/v1/desktop/windows/{}/move", handle_window_move, ROUTE_JSON_BODY},
    {HTTP_POST, "/v1/desktop/windows/{}/resize", handle_window_resize, ROUTE_JSON_BODY},
};
const struct route_table desk__windows_routes = ROUTE_TABLE(routes);
