/*
 * desktop_selection: the X selection protocol for the clipboard, on the
 * clipboard thread's own connection (desktop_clipboard.c drives it).
 *
 * Owning: a write stores the text here and takes the selection(s) for a
 * hidden window with a real server timestamp (ICCCM: not CurrentTime).
 * Requests are served for TARGETS, TIMESTAMP, UTF8_STRING, TEXT,
 * text/plain;charset=utf-8 and STRING (Latin-1, '?' for what it cannot
 * hold); a value larger than one request (the server's maximum request
 * size, 256 KiB on Xvfb) goes by INCR, one piece per PropertyDelete of the
 * requestor, and a requestor that stalls is dropped after a while.
 * SelectionClear (someone else took it) drops the text.
 *
 * Reading: when the hidden window owns the selection the text comes from
 * memory; when nobody does it is empty; otherwise XConvertSelection to
 * UTF8_STRING (then STRING, converted from Latin-1) into a property of the
 * hidden window, SelectionNotify awaited, an INCR answer received piece by
 * piece, each step within CLIP_TIMEOUT_MS and all of it within
 * LIM_DESKTOP_CLIPBOARD_BYTES.
 */
#include "desktop_selection.h"

#include "desktop_internal.h"
#include "desktop_winclip_decode.h"

#include "../stream/log.h"
#include "../stream/xmalloc.h"

#include <X11/Xatom.h>
#include <X11/Xlib.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CLIP_TIMEOUT_MS      2000  /* another owner's answer, and each step of its INCR transfer */
#define CLIP_SEND_TIMEOUT_MS 10000 /* a requestor that stops fetching our INCR transfer */
#define CLIP_TIME_TIMEOUT_MS 1000  /* the server's timestamp for taking ownership */
#define CLIP_NSEL            3     /* clipboard, primary, secondary (enum desk_sel_bit's order) */

enum {
    A_CLIPBOARD,
    A_TARGETS,
    A_TIMESTAMP,
    A_UTF8,
    A_TEXT,
    A_MIME_UTF8,
    A_INCR,
    A_PROP, /* where a read's answer lands, on our window */
    A_TIME, /* a zero-length append to get a timestamp */
    A_COUNT,
};

static const char *const atom_names[A_COUNT] = {
    "CLIPBOARD",   "TARGETS",
    "TIMESTAMP",   "UTF8_STRING",
    "TEXT",        "text/plain;charset=utf-8",
    "INCR",        "AGENTD_SELECTION",
    "AGENTD_TIME",
};

/* A text, shared by the selections holding it and the transfers sending it. */
struct sel_value {
    unsigned refs;
    size_t len;
    char data[];
};

/* An INCR transfer to a requestor. */
struct sel_out {
    Window requestor;
    Atom property, type;
    struct sel_value *v;
    size_t off;       /* bytes sent */
    int64_t deadline; /* dropped when the requestor stalls */
    struct sel_out *next;
};

struct desk_sel {
    Display *dpy;
    bool dead; /* the connection broke */
    Window win;
    Atom atoms[A_COUNT];
    Atom sel_atoms[CLIP_NSEL];
    size_t chunk; /* largest property written in one request */
    struct sel_value *owned[CLIP_NSEL];
    Time owned_time[CLIP_NSEL];
    struct sel_out *outs;
    struct desk_clip_cmd *cur; /* the read in flight */
    Atom cur_target;           /* what it asked for */
    bool cur_incr;             /* receiving INCR pieces */
    int64_t cur_deadline;
    size_t cur_cap; /* cur->text's allocation */
};

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int fail(struct desk_clip_cmd *cmd, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct desk_clip_cmd *cmd, int status, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    problem_vset(&cmd->err, status,
                 status == 503 ? PROBLEM_DESKTOP_RUNTIME_FAILED : PROBLEM_CLIPBOARD_FAILED, fmt,
                 ap);
    va_end(ap);
    cmd->r = -1;
    return -1;
}

/* ---- values ------------------------------------------------------------------------------- */

static struct sel_value *value_new(const char *p, size_t n)
{
    struct sel_value *v = xmalloc(sizeof(*v) + n + 1);

    v->refs = 1;
    v->len = n;
    if (n)
        memcpy(v->data, p, n);
    v->data[n] = '\0';
    return v;
}

static struct sel_value *value_ref(struct sel_value *v)
{
    v->refs++;
    return v;
}

static void value_unref(struct sel_value *v)
{
    if (v && --v->refs == 0)
        free(v);
}

/* UTF-8 as Latin-1 (STRING): each code point above U+00FF, or a bad byte, becomes '?'. */
static struct sel_value *value_latin1(const struct sel_value *v)
{
    struct sel_value *out = xmalloc(sizeof(*out) + v->len + 1);
    const unsigned char *s = (const unsigned char *)v->data;
    size_t i = 0, n = 0;

    out->refs = 1;
    while (i < v->len) {
        unsigned c = s[i];
        size_t k = c < 0xc0 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : 4;
        if (c < 0x80) {
            out->data[n++] = (char)c;
            i++;
            continue;
        }
        /* C2 and C3 lead the code points U+0080-U+00FF. */
        if ((c == 0xc2 || c == 0xc3) && i + 1 < v->len && (s[i + 1] & 0xc0) == 0x80)
            out->data[n++] = (char)((c & 0x1f) << 6 | (s[i + 1] & 0x3f));
        else
            out->data[n++] = '?';
        /* Skip the sequence's continuation bytes (a stray one counts alone). */
        i++;
        for (size_t m = 1; m < k && i < v->len && (s[i] & 0xc0) == 0x80; m++)
            i++;
    }
    out->len = n;
    out->data[n] = '\0';
    return out;
}

/* ---- connection --------------------------------------------------------------------------- */

static void on_io_exit(Display *dpy, void *data)
{
    struct desk_sel *s = data;

    (void)dpy;
    s->dead = true;
    log_warn(DESK_TAG, "clipboard: lost the connection to the X server");
}

struct desk_sel *desk_sel_new(const char *display, char *errbuf, size_t cap)
{
    struct desk_sel *s = xcalloc(1, sizeof(*s));
    XSetWindowAttributes a;
    long max;

    s->dpy = XOpenDisplay(display);
    if (!s->dpy) {
        snprintf(errbuf, cap, "cannot open X display %s", display);
        free(s);
        return NULL;
    }
    XSetIOErrorExitHandler(s->dpy, on_io_exit, s);
    for (int i = 0; i < A_COUNT; i++)
        s->atoms[i] = XInternAtom(s->dpy, atom_names[i], False);
    s->sel_atoms[0] = s->atoms[A_CLIPBOARD];
    s->sel_atoms[1] = XA_PRIMARY;
    s->sel_atoms[2] = XA_SECONDARY;
    /* A hidden (never mapped) window: the owner, and where answers land. */
    a.event_mask = PropertyChangeMask;
    a.override_redirect = True;
    s->win = XCreateWindow(s->dpy, DefaultRootWindow(s->dpy), -10, -10, 1, 1, 0, 0, InputOnly,
                           CopyFromParent, CWEventMask | CWOverrideRedirect, &a);
    XStoreName(s->dpy, s->win, "agentd clipboard");
    /* Property data beyond one request goes by INCR (room kept for the request header). */
    max = XMaxRequestSize(s->dpy) * 4 - 1024;
    s->chunk = max > 4096 ? (size_t)max : 4096;
    XSync(s->dpy, False);
    if (s->dead) {
        snprintf(errbuf, cap, "the X server on %s went away", display);
        desk_sel_free(s);
        return NULL;
    }
    return s;
}

static void out_free(struct desk_sel *s, struct sel_out *o);

void desk_sel_free(struct desk_sel *s)
{
    if (!s)
        return;
    while (s->outs)
        out_free(s, s->outs);
    for (int i = 0; i < CLIP_NSEL; i++)
        value_unref(s->owned[i]);
    /* Closing releases the selections: their readers see no owner, not a dead one. */
    XCloseDisplay(s->dpy);
    free(s);
}

int desk_sel_fd(const struct desk_sel *s)
{
    return s->dead ? -1 : ConnectionNumber(s->dpy);
}

bool desk_sel_busy(const struct desk_sel *s)
{
    return s->cur != NULL;
}

static int sel_index(const struct desk_sel *s, Atom sel)
{
    for (int i = 0; i < CLIP_NSEL; i++)
        if (s->sel_atoms[i] == sel)
            return i;
    return -1;
}

/* The index of the first selection in a set of enum desk_sel_bit bits. */
static int sel_bit_index(unsigned sels)
{
    for (int i = 0; i < CLIP_NSEL; i++)
        if (sels & (1u << i))
            return i;
    return 0;
}

/* ---- owning ------------------------------------------------------------------------------- */

static Bool is_time_event(Display *dpy, XEvent *ev, XPointer arg)
{
    const struct desk_sel *s = (const struct desk_sel *)arg;

    (void)dpy;
    return ev->type == PropertyNotify && ev->xproperty.window == s->win &&
           ev->xproperty.atom == s->atoms[A_TIME];
}

/* A timestamp from the server (a zero-length append's PropertyNotify); 0 on failure. */
static Time server_time(struct desk_sel *s)
{
    int64_t end = mono_ms() + CLIP_TIME_TIMEOUT_MS;
    XEvent ev;

    XChangeProperty(s->dpy, s->win, s->atoms[A_TIME], XA_STRING, 8, PropModeAppend,
                    (const unsigned char *)"", 0);
    for (;;) {
        struct pollfd p = {.fd = ConnectionNumber(s->dpy), .events = POLLIN};
        int64_t left;
        /* Other events stay queued for desk_sel_dispatch(). */
        if (XCheckIfEvent(s->dpy, &ev, is_time_event, (XPointer)s))
            return ev.xproperty.time;
        left = end - mono_ms();
        if (s->dead || left <= 0)
            return 0;
        poll(&p, 1, (int)left);
    }
}

void desk_sel_set(struct desk_sel *s, struct desk_clip_cmd *cmd)
{
    struct sel_value *v;
    Time t;

    cmd->r = 0;
    if (s->dead) {
        fail(cmd, 503, "the X server went away; the clipboard is not available");
        return;
    }
    t = server_time(s);
    if (!t) {
        fail(cmd, 500, "the X server gave no timestamp to take the selection with");
        return;
    }
    v = value_new(cmd->text, cmd->len);
    for (int i = 0; i < CLIP_NSEL; i++) {
        if (!(cmd->sels & (1u << i)))
            continue;
        value_unref(s->owned[i]);
        s->owned[i] = value_ref(v);
        s->owned_time[i] = t;
        XSetSelectionOwner(s->dpy, s->sel_atoms[i], s->win, t);
    }
    value_unref(v);
    for (int i = 0; i < CLIP_NSEL; i++) {
        if ((cmd->sels & (1u << i)) && XGetSelectionOwner(s->dpy, s->sel_atoms[i]) != s->win) {
            value_unref(s->owned[i]);
            s->owned[i] = NULL;
            if (!s->dead)
                fail(cmd, 500, "another X client took the selection at the same moment");
        }
    }
    if (s->dead)
        fail(cmd, 503, "the X server went away while setting the clipboard");
}

static void out_free(struct desk_sel *s, struct sel_out *o)
{
    bool other = false;

    for (struct sel_out **pp = &s->outs; *pp; pp = &(*pp)->next) {
        if (*pp == o) {
            *pp = o->next;
            break;
        }
    }
    for (struct sel_out *p = s->outs; p; p = p->next)
        other |= p->requestor == o->requestor;
    if (!other && !s->dead)
        XSelectInput(s->dpy, o->requestor, NoEventMask);
    value_unref(o->v);
    free(o);
}

/* Writes v (of type) to the requestor's property: directly, or announces an INCR transfer. */
static void send_value(struct desk_sel *s, Window requestor, Atom property, Atom type,
                       struct sel_value *v)
{
    struct sel_out *o;
    long total = (long)v->len;

    if (v->len <= s->chunk) {
        XChangeProperty(s->dpy, requestor, property, type, 8, PropModeReplace,
                        (const unsigned char *)v->data, (int)v->len);
        return;
    }
    /* The requestor deletes the INCR property to ask for the first piece. */
    XSelectInput(s->dpy, requestor, PropertyChangeMask);
    XChangeProperty(s->dpy, requestor, property, s->atoms[A_INCR], 32, PropModeReplace,
                    (const unsigned char *)&total, 1);
    o = xcalloc(1, sizeof(*o));
    o->requestor = requestor;
    o->property = property;
    o->type = type;
    o->v = value_ref(v);
    o->deadline = mono_ms() + CLIP_SEND_TIMEOUT_MS;
    o->next = s->outs;
    s->outs = o;
}

/* The requestor took the last piece (deleted the property): send the next one. */
static void incr_next(struct desk_sel *s, struct sel_out *o)
{
    size_t n = o->v->len - o->off;

    if (n > s->chunk)
        n = s->chunk;
    /* A zero-length piece after the last one ends the transfer. */
    XChangeProperty(s->dpy, o->requestor, o->property, o->type, 8, PropModeReplace,
                    (const unsigned char *)o->v->data + o->off, (int)n);
    XFlush(s->dpy);
    if (n == 0) {
        out_free(s, o);
        return;
    }
    o->off += n;
    o->deadline = mono_ms() + CLIP_SEND_TIMEOUT_MS;
}

static void serve_request(struct desk_sel *s, const XSelectionRequestEvent *r)
{
    XSelectionEvent n = {.type = SelectionNotify,
                         .display = s->dpy,
                         .requestor = r->requestor,
                         .selection = r->selection,
                         .target = r->target,
                         .property = None,
                         .time = r->time};
    /* Obsolete clients leave the property out: the target names it then. */
    Atom property = r->property != None ? r->property : r->target;
    int i = sel_index(s, r->selection);
    struct sel_value *v = i >= 0 && r->owner == s->win ? s->owned[i] : NULL;
    const Atom *a = s->atoms;

    if (v && r->target == a[A_TARGETS]) {
        long targets[] = {(long)a[A_TARGETS],   (long)a[A_TIMESTAMP], (long)a[A_UTF8],
                          (long)a[A_MIME_UTF8], (long)a[A_TEXT],      (long)XA_STRING};
        XChangeProperty(s->dpy, r->requestor, property, XA_ATOM, 32, PropModeReplace,
                        (const unsigned char *)targets,
                        (int)(sizeof(targets) / sizeof(targets[0])));
        n.property = property;
    } else if (v && r->target == a[A_TIMESTAMP]) {
        long t = (long)s->owned_time[i];
        XChangeProperty(s->dpy, r->requestor, property, XA_INTEGER, 32, PropModeReplace,
                        (const unsigned char *)&t, 1);
        n.property = property;
    } else if (v &&
               (r->target == a[A_UTF8] || r->target == a[A_TEXT] || r->target == a[A_MIME_UTF8])) {
        send_value(s, r->requestor, property, r->target == a[A_MIME_UTF8] ? r->target : a[A_UTF8],
                   v);
        n.property = property;
    } else if (v && r->target == XA_STRING) {
        struct sel_value *l = value_latin1(v);
        send_value(s, r->requestor, property, XA_STRING, l);
        value_unref(l);
        n.property = property;
    }
    /* Anything else (MULTIPLE included) is refused with property None. */
    XSendEvent(s->dpy, r->requestor, False, NoEventMask, (XEvent *)&n);
    XFlush(s->dpy);
}

static void on_selection_clear(struct desk_sel *s, const XSelectionClearEvent *e)
{
    int i = sel_index(s, e->selection);

    /* A clear queued before we took the selection again is stale: ask the server. */
    if (i >= 0 && s->owned[i] && XGetSelectionOwner(s->dpy, e->selection) != s->win) {
        value_unref(s->owned[i]);
        s->owned[i] = NULL;
    }
}

/* ---- reading another owner's selection ---------------------------------------------------- */

/* Ends the read in flight and gives it back. */
static struct desk_clip_cmd *get_finish(struct desk_sel *s)
{
    struct desk_clip_cmd *cmd = s->cur;

    s->cur = NULL;
    s->cur_incr = false;
    s->cur_cap = 0;
    if (cmd->r < 0) {
        free(cmd->text);
        cmd->text = NULL;
        cmd->len = 0;
    } else if (!cmd->text) {
        cmd->text = xstrdup("");
    }
    return cmd;
}

/* Appends a piece of the answer: UTF-8 as is, Latin-1 (STRING) converted. */
static int answer_append(struct desk_sel *s, const unsigned char *p, size_t n, bool latin1)
{
    struct desk_clip_cmd *cmd = s->cur;
    size_t need = cmd->len + (latin1 ? 2 * n : n) + 1;

    if (n > LIM_DESKTOP_CLIPBOARD_BYTES - cmd->len)
        return -1;
    if (need > s->cur_cap) {
        s->cur_cap = need > 2 * s->cur_cap ? need : 2 * s->cur_cap;
        cmd->text = xrealloc(cmd->text, s->cur_cap);
    }
    for (size_t i = 0; i < n; i++) {
        if (latin1 && p[i] >= 0x80) {
            cmd->text[cmd->len++] = (char)(0xc0 | p[i] >> 6);
            cmd->text[cmd->len++] = (char)(0x80 | (p[i] & 0x3f));
        } else {
            cmd->text[cmd->len++] = (char)p[i];
        }
    }
    cmd->text[cmd->len] = '\0';
    return 0;
}

static void get_convert(struct desk_sel *s, Atom target)
{
    s->cur_target = target;
    XDeleteProperty(s->dpy, s->win, s->atoms[A_PROP]);
    XConvertSelection(s->dpy, s->sel_atoms[sel_bit_index(s->cur->sels)], target, s->atoms[A_PROP],
                      s->win, CurrentTime);
    XFlush(s->dpy);
    s->cur_deadline = mono_ms() + CLIP_TIMEOUT_MS;
}

bool desk_sel_get(struct desk_sel *s, struct desk_clip_cmd *cmd)
{
    int i = sel_bit_index(cmd->sels);
    Window owner;

    s->cur = cmd;
    s->cur_cap = 0;
    cmd->r = 0;
    if (s->dead) {
        fail(cmd, 503, "the X server went away; the clipboard is not available");
        get_finish(s);
        return true;
    }
    owner = XGetSelectionOwner(s->dpy, s->sel_atoms[i]);
    if (owner == None || s->dead) {
        if (s->dead)
            fail(cmd, 503, "the X server went away; the clipboard is not available");
        get_finish(s); /* nobody holds it: empty, as the reference */
        return true;
    }
    if (owner == s->win && s->owned[i]) {
        cmd->text = xstrndup(s->owned[i]->data, s->owned[i]->len);
        cmd->len = s->owned[i]->len;
        get_finish(s);
        return true;
    }
    get_convert(s, s->atoms[A_UTF8]);
    return false;
}

/*
 * Reads and deletes our property into the answer: 1 when a piece was
 * appended, 0 when it was empty (or announced INCR), -1 after failing the read.
 */
static int get_read_property(struct desk_sel *s, Atom *ret_type)
{
    Atom type = None;
    int format = 0, r;
    unsigned long n = 0, left = 0;
    unsigned char *data = NULL;
    long room = (long)((LIM_DESKTOP_CLIPBOARD_BYTES - s->cur->len) / 4 + 1);

    if (XGetWindowProperty(s->dpy, s->win, s->atoms[A_PROP], 0, room, True, AnyPropertyType, &type,
                           &format, &n, &left, &data) != Success) {
        if (data)
            XFree(data);
        return fail(s->cur, 500, "the clipboard's answer could not be read");
    }
    *ret_type = type;
    if (type == s->atoms[A_INCR]) {
        XFree(data);
        return 0;
    }
    if (left > 0 || (n > 0 && format != 8) || answer_append(s, data, n, type == XA_STRING) < 0) {
        if (data)
            XFree(data);
        XDeleteProperty(s->dpy, s->win, s->atoms[A_PROP]);
        return fail(s->cur, 500, "the clipboard holds more than %u bytes of text, or not text",
                    LIM_DESKTOP_CLIPBOARD_BYTES);
    }
    r = n > 0;
    if (data)
        XFree(data);
    return r;
}

static struct desk_clip_cmd *on_selection_notify(struct desk_sel *s, const XSelectionEvent *e)
{
    Atom type = None;
    int r;

    if (!s->cur || s->cur_incr || e->requestor != s->win ||
        e->selection != s->sel_atoms[sel_bit_index(s->cur->sels)] || e->target != s->cur_target)
        return NULL; /* stale: a read that timed out */
    if (e->property == None) {
        /* Refused: an older owner may still give STRING; otherwise there is no text. */
        if (s->cur_target == s->atoms[A_UTF8]) {
            get_convert(s, XA_STRING);
            return NULL;
        }
        return get_finish(s);
    }
    r = get_read_property(s, &type);
    if (r >= 0 && type == s->atoms[A_INCR]) {
        /* Deleting the INCR property (done by the read) started the transfer. */
        s->cur_incr = true;
        s->cur_deadline = mono_ms() + CLIP_TIMEOUT_MS;
        return NULL;
    }
    return get_finish(s);
}

static struct desk_clip_cmd *on_property(struct desk_sel *s, const XPropertyEvent *e)
{
    Atom type = None;

    if (e->window == s->win) {
        if (s->cur && s->cur_incr && e->atom == s->atoms[A_PROP] && e->state == PropertyNewValue) {
            if (get_read_property(s, &type) == 1) {
                s->cur_deadline = mono_ms() + CLIP_TIMEOUT_MS;
                return NULL;
            }
            return get_finish(s); /* the empty piece that ends it, or a failure */
        }
        return NULL;
    }
    if (e->state != PropertyDelete)
        return NULL;
    for (struct sel_out *o = s->outs; o; o = o->next) {
        if (o->requestor == e->window && o->property == e->atom) {
            incr_next(s, o);
            break;
        }
    }
    return NULL;
}

struct desk_clip_cmd *desk_sel_dispatch(struct desk_sel *s)
{
    struct desk_clip_cmd *done = NULL;

    while (!done && !s->dead && XPending(s->dpy)) {
        XEvent ev;
        XNextEvent(s->dpy, &ev);
        switch (ev.type) {
        case SelectionRequest:
            serve_request(s, &ev.xselectionrequest);
            break;
        case SelectionClear:
            on_selection_clear(s, &ev.xselectionclear);
            break;
        case SelectionNotify:
            done = on_selection_notify(s, &ev.xselection);
            break;
        case PropertyNotify:
            done = on_property(s, &ev.xproperty);
            break;
        default:
            break;
        }
    }
    if (!done && s->dead && s->cur) {
        fail(s->cur, 503, "the X server went away during the clipboard read");
        done = get_finish(s);
    }
    return done;
}

struct desk_clip_cmd *desk_sel_expire(struct desk_sel *s, int64_t *ret_next)
{
    struct desk_clip_cmd *done = NULL;
    int64_t now = mono_ms(), next = -1;

    if (s->cur && now >= s->cur_deadline) {
        fail(s->cur, 500, "the owner of the %s selection did not answer within %d ms", s->cur->name,
             CLIP_TIMEOUT_MS);
        done = get_finish(s);
    }
    for (struct sel_out *o = s->outs, *nx; o; o = nx) {
        nx = o->next;
        if (now >= o->deadline) {
            log_debug(DESK_TAG, "clipboard: requestor 0x%lx stalled; transfer dropped",
                      (unsigned long)o->requestor);
            out_free(s, o);
        } else if (next < 0 || o->deadline < next) {
            next = o->deadline;
        }
    }
    if (s->cur && (next < 0 || s->cur_deadline < next))
        next = s->cur_deadline;
    *ret_next = next;
    return done;
}

struct desk_clip_cmd *desk_sel_abort(struct desk_sel *s)
{
    if (!s->cur)
        return NULL;
    fail(s->cur, 503, "the desktop stopped during the clipboard read");
    return get_finish(s);
}
