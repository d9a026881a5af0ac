/*
 * desktop_selection: the X selection protocol for the clipboard, on the
 * clipboard thread's own connection (desktop_clipboard.c drives it).
 *
 * The connection is XCB, not Xlib: Xlib reports a broken connection
 * through a process-wide handler and then calls exit() unless a per-display
 * handler was installed, which XOpenDisplay's own round trips happen
 * before.  An X server killed while this thread connects (the desktop
 * restarts Xvfb when that happens) must not take the daemon with it; XCB
 * just marks the connection as failed.
 *
 * Owning: a write stores the text here and takes the selection(s) for a
 * hidden window with a real server timestamp (ICCCM: not CurrentTime).
 * Requests are served for TARGETS, TIMESTAMP, UTF8_STRING, TEXT,
 * text/plain;charset=utf-8 and STRING (Latin-1, '?' for what it cannot
 * hold); a value larger than one request (the server's maximum request
 * length without BIG-REQUESTS, 256 KiB) goes by INCR, one piece per
 * PropertyDelete of the requestor, and a requestor that stalls is dropped
 * after a while.  SelectionClear (someone else took it) drops the text.
 *
 * Reading: when the hidden window owns the selection the text comes from
 * memory; when nobody does it is empty; otherwise ConvertSelection to
 * UTF8_STRING (then STRING, converted from Latin-1) into a property of the
 * hidden window, SelectionNotify awaited, an INCR answer received piece by
 * piece, each step within CLIP_TIMEOUT_MS and all of it within
 * LIM_DESKTOP_CLIPBOARD_BYTES.
 */
#include "desktop_selection.h"

#include "desktop_winclip_decode.h"

#include "../stream/clock.h"
#include "../stream/log.h"
#include "../stream/xmalloc.h"

#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xcb/xcb.h>
#include <xcb/xproto.h>

#define SEL_TAG              "desktop"
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
    xcb_window_t requestor;
    xcb_atom_t property, type;
    struct sel_value *v;
    size_t off;       /* bytes sent */
    int64_t deadline; /* dropped when the requestor stalls */
    struct sel_out *next;
};

/* An event taken off the connection early (while waiting for a timestamp). */
struct sel_event {
    xcb_generic_event_t *ev;
    struct sel_event *next;
};

struct desk_sel {
    xcb_connection_t *c;
    xcb_window_t win; /* hidden: the owner, and where answers land */
    xcb_atom_t atoms[A_COUNT];
    xcb_atom_t sel_atoms[CLIP_NSEL];
    size_t chunk; /* largest property written in one request */
    struct sel_value *owned[CLIP_NSEL];
    xcb_timestamp_t owned_time[CLIP_NSEL];
    struct sel_out *outs;
    struct sel_event *early_head, *early_tail;
    struct desk_clip_cmd *cur; /* the read in flight */
    xcb_atom_t cur_target;     /* what it asked for */
    bool cur_incr;             /* receiving INCR pieces */
    int64_t cur_deadline;
    size_t cur_cap; /* cur->text's allocation */
};

static bool dead(const struct desk_sel *s)
{
    return xcb_connection_has_error(s->c) != 0;
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

struct desk_sel *desk_sel_new(const char *display, char *errbuf, size_t cap)
{
    struct desk_sel *s = xcalloc(1, sizeof(*s));
    xcb_intern_atom_cookie_t cookies[A_COUNT];
    const xcb_setup_t *setup;
    xcb_screen_t *screen;
    uint32_t values[2] = {1, XCB_EVENT_MASK_PROPERTY_CHANGE};
    int nscreen = 0;

    s->c = xcb_connect(display, &nscreen);
    if (dead(s)) {
        snprintf(errbuf, cap, "cannot open X display %s", display);
        goto fail;
    }
    setup = xcb_get_setup(s->c);
    xcb_screen_iterator_t it = xcb_setup_roots_iterator(setup);
    for (int i = 0; i < nscreen && it.rem; i++)
        xcb_screen_next(&it);
    screen = it.data;
    for (int i = 0; i < A_COUNT; i++)
        cookies[i] = xcb_intern_atom(s->c, 0, (uint16_t)strlen(atom_names[i]), atom_names[i]);
    for (int i = 0; i < A_COUNT; i++) {
        xcb_intern_atom_reply_t *r = xcb_intern_atom_reply(s->c, cookies[i], NULL);
        s->atoms[i] = r ? r->atom : XCB_ATOM_NONE;
        free(r);
    }
    if (!screen || dead(s)) {
        snprintf(errbuf, cap, "the X server on %s went away", display);
        goto fail;
    }
    s->sel_atoms[0] = s->atoms[A_CLIPBOARD];
    s->sel_atoms[1] = XCB_ATOM_PRIMARY;
    s->sel_atoms[2] = XCB_ATOM_SECONDARY;
    /* Never mapped; override-redirect so no window manager ever takes an interest. */
    s->win = xcb_generate_id(s->c);
    xcb_create_window(s->c, XCB_COPY_FROM_PARENT, s->win, screen->root, -10, -10, 1, 1, 0,
                      XCB_WINDOW_CLASS_INPUT_ONLY, XCB_COPY_FROM_PARENT,
                      XCB_CW_OVERRIDE_REDIRECT | XCB_CW_EVENT_MASK, values);
    xcb_change_property(s->c, XCB_PROP_MODE_REPLACE, s->win, XCB_ATOM_WM_NAME, XCB_ATOM_STRING, 8,
                        16, "agentd clipboard");
    /* Property data beyond one plain request goes by INCR (room kept for the header). */
    s->chunk = (size_t)setup->maximum_request_length * 4 - 1024;
    free(xcb_get_input_focus_reply(s->c, xcb_get_input_focus(s->c), NULL)); /* a sync */
    if (dead(s)) {
        snprintf(errbuf, cap, "the X server on %s went away", display);
        goto fail;
    }
    return s;
fail:
    xcb_disconnect(s->c);
    free(s);
    return NULL;
}

static void out_free(struct desk_sel *s, struct sel_out *o);

void desk_sel_free(struct desk_sel *s)
{
    if (!s)
        return;
    while (s->outs)
        out_free(s, s->outs);
    while (s->early_head) {
        struct sel_event *e = s->early_head;
        s->early_head = e->next;
        free(e->ev);
        free(e);
    }
    for (int i = 0; i < CLIP_NSEL; i++)
        value_unref(s->owned[i]);
    /* Disconnecting releases the selections: their readers see no owner, not a dead one. */
    xcb_disconnect(s->c);
    free(s);
}

int desk_sel_fd(const struct desk_sel *s)
{
    if (dead(s))
        return -1;
    xcb_flush(s->c);
    return xcb_get_file_descriptor(s->c);
}

bool desk_sel_busy(const struct desk_sel *s)
{
    return s->cur != NULL;
}

static int sel_index(const struct desk_sel *s, xcb_atom_t sel)
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

static xcb_window_t owner_of(struct desk_sel *s, xcb_atom_t sel)
{
    xcb_get_selection_owner_reply_t *r =
        xcb_get_selection_owner_reply(s->c, xcb_get_selection_owner(s->c, sel), NULL);
    xcb_window_t w = r ? r->owner : XCB_WINDOW_NONE;

    free(r);
    return w;
}

/* ---- owning ------------------------------------------------------------------------------- */

/* The next event: one kept aside first, then the connection's (NULL when none is ready). */
static xcb_generic_event_t *next_event(struct desk_sel *s)
{
    struct sel_event *e = s->early_head;
    xcb_generic_event_t *ev;

    if (!e)
        return xcb_poll_for_event(s->c);
    s->early_head = e->next;
    if (!s->early_head)
        s->early_tail = NULL;
    ev = e->ev;
    free(e);
    return ev;
}

static void keep_early(struct desk_sel *s, xcb_generic_event_t *ev)
{
    struct sel_event *e = xmalloc(sizeof(*e));

    e->ev = ev;
    e->next = NULL;
    if (s->early_tail)
        s->early_tail->next = e;
    else
        s->early_head = e;
    s->early_tail = e;
}

/* A timestamp from the server (a zero-length append's PropertyNotify); 0 on failure. */
static xcb_timestamp_t server_time(struct desk_sel *s)
{
    int64_t end = clock_mono_ms() + CLIP_TIME_TIMEOUT_MS;

    xcb_change_property(s->c, XCB_PROP_MODE_APPEND, s->win, s->atoms[A_TIME], XCB_ATOM_STRING, 8, 0,
                        "");
    xcb_flush(s->c);
    for (;;) {
        xcb_generic_event_t *ev = xcb_poll_for_event(s->c);
        struct pollfd p;
        int64_t left;
        if (ev) {
            const xcb_property_notify_event_t *pn = (const xcb_property_notify_event_t *)ev;
            if ((ev->response_type & 0x7f) == XCB_PROPERTY_NOTIFY && pn->window == s->win &&
                pn->atom == s->atoms[A_TIME]) {
                xcb_timestamp_t t = pn->time;
                free(ev);
                return t;
            }
            keep_early(s, ev); /* for desk_sel_dispatch(), in order */
            continue;
        }
        left = end - clock_mono_ms();
        if (dead(s) || left <= 0)
            return 0;
        p.fd = xcb_get_file_descriptor(s->c);
        p.events = POLLIN;
        poll(&p, 1, (int)left);
    }
}

void desk_sel_set(struct desk_sel *s, struct desk_clip_cmd *cmd)
{
    struct sel_value *v;
    xcb_timestamp_t t;

    cmd->r = 0;
    if (dead(s)) {
        fail(cmd, 503, "the X server went away; the clipboard is not available");
        return;
    }
    t = server_time(s);
    if (!t) {
        fail(cmd, dead(s) ? 503 : 500, "the X server gave no timestamp to take the selection with");
        return;
    }
    v = value_new(cmd->text, cmd->len);
    for (int i = 0; i < CLIP_NSEL; i++) {
        if (!(cmd->sels & (1u << i)))
            continue;
        value_unref(s->owned[i]);
        s->owned[i] = value_ref(v);
        s->owned_time[i] = t;
        xcb_set_selection_owner(s->c, s->win, s->sel_atoms[i], t);
    }
    value_unref(v);
    for (int i = 0; i < CLIP_NSEL; i++) {
        if ((cmd->sels & (1u << i)) && owner_of(s, s->sel_atoms[i]) != s->win) {
            value_unref(s->owned[i]);
            s->owned[i] = NULL;
            if (!dead(s))
                fail(cmd, 500, "another X client took the selection at the same moment");
        }
    }
    if (dead(s))
        fail(cmd, 503, "the X server went away while setting the clipboard");
}

static void out_free(struct desk_sel *s, struct sel_out *o)
{
    uint32_t none = XCB_EVENT_MASK_NO_EVENT;
    bool other = false;

    for (struct sel_out **pp = &s->outs; *pp; pp = &(*pp)->next) {
        if (*pp == o) {
            *pp = o->next;
            break;
        }
    }
    for (struct sel_out *p = s->outs; p; p = p->next)
        other |= p->requestor == o->requestor;
    if (!other && !dead(s))
        xcb_change_window_attributes(s->c, o->requestor, XCB_CW_EVENT_MASK, &none);
    value_unref(o->v);
    free(o);
}

/* Writes v (of type) to the requestor's property: directly, or announces an INCR transfer. */
static void send_value(struct desk_sel *s, xcb_window_t requestor, xcb_atom_t property,
                       xcb_atom_t type, struct sel_value *v)
{
    uint32_t mask = XCB_EVENT_MASK_PROPERTY_CHANGE, total = (uint32_t)v->len;
    struct sel_out *o;

    if (v->len <= s->chunk) {
        xcb_change_property(s->c, XCB_PROP_MODE_REPLACE, requestor, property, type, 8,
                            (uint32_t)v->len, v->data);
        return;
    }
    /* The requestor deletes the INCR property to ask for the first piece. */
    xcb_change_window_attributes(s->c, requestor, XCB_CW_EVENT_MASK, &mask);
    xcb_change_property(s->c, XCB_PROP_MODE_REPLACE, requestor, property, s->atoms[A_INCR], 32, 1,
                        &total);
    o = xcalloc(1, sizeof(*o));
    o->requestor = requestor;
    o->property = property;
    o->type = type;
    o->v = value_ref(v);
    o->deadline = clock_mono_ms() + CLIP_SEND_TIMEOUT_MS;
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
    xcb_change_property(s->c, XCB_PROP_MODE_REPLACE, o->requestor, o->property, o->type, 8,
                        (uint32_t)n, o->v->data + o->off);
    if (n == 0) {
        out_free(s, o);
        return;
    }
    o->off += n;
    o->deadline = clock_mono_ms() + CLIP_SEND_TIMEOUT_MS;
}

static void serve_request(struct desk_sel *s, const xcb_selection_request_event_t *r)
{
    union {
        xcb_selection_notify_event_t ev;
        char bytes[32]; /* SendEvent carries 32 bytes */
    } n;
    /* Obsolete clients leave the property out: the target names it then. */
    xcb_atom_t property = r->property != XCB_ATOM_NONE ? r->property : r->target;
    int i = sel_index(s, r->selection);
    struct sel_value *v = i >= 0 && r->owner == s->win ? s->owned[i] : NULL;
    const xcb_atom_t *a = s->atoms;
    bool ok = v != NULL;

    if (v && r->target == a[A_TARGETS]) {
        uint32_t targets[] = {a[A_TARGETS],   a[A_TIMESTAMP], a[A_UTF8],
                              a[A_MIME_UTF8], a[A_TEXT],      XCB_ATOM_STRING};
        xcb_change_property(s->c, XCB_PROP_MODE_REPLACE, r->requestor, property, XCB_ATOM_ATOM, 32,
                            sizeof(targets) / sizeof(targets[0]), targets);
    } else if (v && r->target == a[A_TIMESTAMP]) {
        xcb_change_property(s->c, XCB_PROP_MODE_REPLACE, r->requestor, property, XCB_ATOM_INTEGER,
                            32, 1, &s->owned_time[i]);
    } else if (v &&
               (r->target == a[A_UTF8] || r->target == a[A_TEXT] || r->target == a[A_MIME_UTF8])) {
        send_value(s, r->requestor, property, r->target == a[A_MIME_UTF8] ? r->target : a[A_UTF8],
                   v);
    } else if (v && r->target == XCB_ATOM_STRING) {
        struct sel_value *l = value_latin1(v);
        send_value(s, r->requestor, property, XCB_ATOM_STRING, l);
        value_unref(l);
    } else {
        ok = false; /* anything else (MULTIPLE included) is refused with property None */
    }
    memset(&n, 0, sizeof(n));
    n.ev.response_type = XCB_SELECTION_NOTIFY;
    n.ev.time = r->time;
    n.ev.requestor = r->requestor;
    n.ev.selection = r->selection;
    n.ev.target = r->target;
    n.ev.property = ok ? property : XCB_ATOM_NONE;
    xcb_send_event(s->c, 0, r->requestor, XCB_EVENT_MASK_NO_EVENT, n.bytes);
}

static void on_selection_clear(struct desk_sel *s, const xcb_selection_clear_event_t *e)
{
    int i = sel_index(s, e->selection);

    /* A clear queued before we took the selection again is stale: ask the server. */
    if (i >= 0 && s->owned[i] && owner_of(s, e->selection) != s->win) {
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

static void get_convert(struct desk_sel *s, xcb_atom_t target)
{
    s->cur_target = target;
    xcb_delete_property(s->c, s->win, s->atoms[A_PROP]);
    xcb_convert_selection(s->c, s->win, s->sel_atoms[sel_bit_index(s->cur->sels)], target,
                          s->atoms[A_PROP], XCB_CURRENT_TIME);
    xcb_flush(s->c);
    s->cur_deadline = clock_mono_ms() + CLIP_TIMEOUT_MS;
}

bool desk_sel_get(struct desk_sel *s, struct desk_clip_cmd *cmd)
{
    int i = sel_bit_index(cmd->sels);
    xcb_window_t owner;

    s->cur = cmd;
    s->cur_cap = 0;
    cmd->r = 0;
    owner = dead(s) ? XCB_WINDOW_NONE : owner_of(s, s->sel_atoms[i]);
    if (dead(s)) {
        fail(cmd, 503, "the X server went away; the clipboard is not available");
        get_finish(s);
        return true;
    }
    if (owner == XCB_WINDOW_NONE) {
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
static int get_read_property(struct desk_sel *s, xcb_atom_t *ret_type)
{
    uint32_t room = (uint32_t)((LIM_DESKTOP_CLIPBOARD_BYTES - s->cur->len) / 4 + 1);
    xcb_get_property_reply_t *r = xcb_get_property_reply(
        s->c,
        xcb_get_property(s->c, 1, s->win, s->atoms[A_PROP], XCB_GET_PROPERTY_TYPE_ANY, 0, room),
        NULL);
    int n, res;

    if (!r)
        return fail(s->cur, dead(s) ? 503 : 500, "the clipboard's answer could not be read");
    *ret_type = r->type;
    n = xcb_get_property_value_length(r);
    if (r->type == s->atoms[A_INCR]) {
        free(r);
        return 0;
    }
    if (r->bytes_after > 0 || (n > 0 && r->format != 8) ||
        answer_append(s, xcb_get_property_value(r), (size_t)n, r->type == XCB_ATOM_STRING) < 0) {
        free(r);
        xcb_delete_property(s->c, s->win, s->atoms[A_PROP]);
        return fail(s->cur, 500, "the clipboard holds more than %u bytes of text, or not text",
                    LIM_DESKTOP_CLIPBOARD_BYTES);
    }
    res = n > 0;
    free(r);
    return res;
}

static struct desk_clip_cmd *on_selection_notify(struct desk_sel *s,
                                                 const xcb_selection_notify_event_t *e)
{
    xcb_atom_t type = XCB_ATOM_NONE;
    int r;

    if (!s->cur || s->cur_incr || e->requestor != s->win ||
        e->selection != s->sel_atoms[sel_bit_index(s->cur->sels)] || e->target != s->cur_target)
        return NULL; /* stale: a read that timed out */
    if (e->property == XCB_ATOM_NONE) {
        /* Refused: an older owner may still give STRING; otherwise there is no text. */
        if (s->cur_target == s->atoms[A_UTF8]) {
            get_convert(s, XCB_ATOM_STRING);
            return NULL;
        }
        return get_finish(s);
    }
    r = get_read_property(s, &type);
    if (r >= 0 && type == s->atoms[A_INCR]) {
        /* Deleting the INCR property (done by the read) started the transfer. */
        s->cur_incr = true;
        s->cur_deadline = clock_mono_ms() + CLIP_TIMEOUT_MS;
        return NULL;
    }
    return get_finish(s);
}

static struct desk_clip_cmd *on_property(struct desk_sel *s, const xcb_property_notify_event_t *e)
{
    xcb_atom_t type = XCB_ATOM_NONE;

    if (e->window == s->win) {
        if (s->cur && s->cur_incr && e->atom == s->atoms[A_PROP] &&
            e->state == XCB_PROPERTY_NEW_VALUE) {
            if (get_read_property(s, &type) == 1) {
                s->cur_deadline = clock_mono_ms() + CLIP_TIMEOUT_MS;
                return NULL;
            }
            return get_finish(s); /* the empty piece that ends it, or a failure */
        }
        return NULL;
    }
    if (e->state != XCB_PROPERTY_DELETE)
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
    xcb_generic_event_t *ev;

    /* Errors of requests to vanished requestors come here too (type 0): nothing to do. */
    while (!done && (ev = next_event(s))) {
        switch (ev->response_type & 0x7f) {
        case XCB_SELECTION_REQUEST:
            serve_request(s, (const xcb_selection_request_event_t *)ev);
            break;
        case XCB_SELECTION_CLEAR:
            on_selection_clear(s, (const xcb_selection_clear_event_t *)ev);
            break;
        case XCB_SELECTION_NOTIFY:
            done = on_selection_notify(s, (const xcb_selection_notify_event_t *)ev);
            break;
        case XCB_PROPERTY_NOTIFY:
            done = on_property(s, (const xcb_property_notify_event_t *)ev);
            break;
        default:
            break;
        }
        free(ev);
    }
    if (!done && dead(s) && s->cur) {
        fail(s->cur, 503, "the X server went away during the clipboard read");
        done = get_finish(s);
    }
    xcb_flush(s->c);
    return done;
}

struct desk_clip_cmd *desk_sel_expire(struct desk_sel *s, int64_t *ret_next)
{
    struct desk_clip_cmd *done = NULL;
    int64_t now = clock_mono_ms(), next = -1;

    if (s->cur && now >= s->cur_deadline) {
        fail(s->cur, 500, "the owner of the %s selection did not answer within %d ms", s->cur->name,
             CLIP_TIMEOUT_MS);
        done = get_finish(s);
    }
    for (struct sel_out *o = s->outs, *nx; o; o = nx) {
        nx = o->next;
        if (now >= o->deadline) {
            log_debug(SEL_TAG, "clipboard: requestor 0x%lx stalled; transfer dropped",
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
