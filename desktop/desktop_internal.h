/*
 * Shared between the files of the desktop module; not used outside desktop/.
 * Every function and object declared here is named desk__* (two
 * underscores, as libuv's uv__ internals): a desk__ name in a file means
 * "defined in another desktop file", a desk_ name is the module's public
 * API (desktop.h), a decoder (desktop_decode.h, desktop_app.h,
 * desktop_winclip_decode.h) or in a header of one file's own
 * (desktop_selection.h, for desktop_clipboard.c), and anything else is
 * static to its file.  The
 * section headings below name the file that defines each group.
 *
 * Threads: the loop thread owns the runtime state (desktop_runtime.c) and
 * every HTTP request.  One dedicated X thread (desktop_x11.c) owns the one
 * Display * of the daemon: every Xlib call is made there, from a FIFO of
 * jobs, so actions run in request order and the loop never waits on X.
 * Encoding a captured frame runs on the libuv worker pool.
 */
#ifndef DESKTOP_DESKTOP_INTERNAL_H
#define DESKTOP_DESKTOP_INTERNAL_H

#include "desktop.h"
#include "desktop_decode.h"

#include "../stream/http.h"
#include "../stream/problem.h"

#include <X11/Xlib.h>
#include <X11/extensions/XShm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DESK_TAG "desktop"

/* ---- the X thread ------------------------------------------------------------------------- */

#define DESK_SPARE_KEYCODES 256

/* A keysym bound to a spare keycode while typing (restored when idle). */
struct desk_spare {
    KeyCode code;     /* a keycode with no keysyms in the server's original map */
    KeySym bound;     /* NoSymbol when free */
    int64_t last_use; /* CLOCK_MONOTONIC ms of the last key event through it (LRU) */
};

/* State of the X connection; touched only on the X thread. */
struct desk_x {
    Display *dpy;        /* NULL while disconnected */
    bool dead;           /* the server went away (IO error): only closing is left */
    uint64_t gen;        /* runtime generation the connection belongs to */
    int screen;          /* default screen */
    Window root;         /* its root window */
    Visual *visual;      /* root visual */
    int depth;           /* root depth */
    int width, height;   /* root size */
    bool have_shm;       /* MIT-SHM usable */
    bool have_xfixes;    /* XFixes (cursor position) */
    bool have_xtest;     /* XTEST (input) */
    XShmSegmentInfo shm; /* persistent segment, shmid -1 when none */
    size_t shm_bytes;    /* its size (the root at 32 bpp) */
    bool shm_attached;   /* attached on the server side */
    int min_kc, max_kc;  /* keycode range */
    struct desk_spare spares[DESK_SPARE_KEYCODES];
    int n_spares;          /* spare keycodes found at connect */
    uint64_t use_clock;    /* counts spare uses (LRU) */
    bool spares_dirty;     /* some spare is bound: restore when idle */
    unsigned char x_error; /* last X error code seen on this thread (0: none) */
    bool have_damage;      /* XDamage: a damage object watches the root */
    int damage_event;      /* XDamage's first event code */
    XID damage;            /* the Damage on the root (0 when none) */
    bool damage_pending;   /* damage seen since the last XDamageSubtract */
    int dmg_x0, dmg_y0;    /* bounding box of that damage (screen pixels) */
    int dmg_x1, dmg_y1;    /* exclusive */
};

/*
 * One unit of work for the X thread.  run() is called there with the
 * connection (x->dpy may be NULL: the job reports the failure itself);
 * done() is then called on the loop thread.  The submitter owns the job.
 */
struct desk_xjob {
    void (*run)(struct desk_x *x, struct desk_xjob *j);
    void (*done)(struct desk_xjob *j);
    struct desk_xjob *next; /* queue link (owned by desktop_x11.c) */
};

int desk__x_init(uv_loop_t *loop);
void desk__x_submit(struct desk_xjob *j);
/* Stops the thread after the queued jobs ran; done() callbacks still run on the loop. */
void desk__x_done(void);
/* Jobs to bring a connection up or down (called from run()). */
int desk__x_connect(struct desk_x *x, const char *display, uint64_t gen, char *errbuf, size_t cap);
/* Any thread: the X server is about to be stopped on purpose (its loss is logged quietly). */
void desk__x_expect_loss(void);
void desk__x_disconnect(struct desk_x *x);
/*
 * Waits up to timeout_ms for a window manager that manages windows (its EWMH check window, then
 * a probe window it reparents). False on timeout.
 */
bool desk__x_wait_wm(struct desk_x *x, int timeout_ms);
/* True when the connection is usable; fills err with a 503 otherwise. */
bool desk__x_usable(struct desk_x *x, struct problem *err);
/* Sends the queued requests and waits for the server (XSync). False when the server is gone. */
bool desk__x_sync(struct desk_x *x);

/* ---- damage: the frame counter and waiting for a change (desktop_damage.c) --------------- */

/*
 * A frame is the screen between two batches of XDamage events: the frame
 * counter goes up by one for each batch (and for each new X connection).
 * The ETag of a screenshot names its frame, this daemon's instance and the
 * screenshot's parameters; `since` compares only the frame (and instance).
 */
int desk__damage_init(uv_loop_t *loop);
void desk__damage_done(void);
/* X thread: create / drop the damage object (at connect / before disconnecting). */
void desk__damage_attach(struct desk_x *x);
void desk__damage_detach(struct desk_x *x);
/* X thread: takes an XDamageNotify event (true) or leaves the event alone (false). */
bool desk__damage_event(struct desk_x *x, const XEvent *ev);
/* X thread: after a batch of events: XDamageSubtract, publish the new frame, wake waiters. */
void desk__damage_flush(struct desk_x *x);
/* Handles the events Xlib has already read (no round trip): XDamage, so far. */
void desk__damage_drain(struct desk_x *x);
/*
 * X thread, right before a capture: handles the events already read and
 * returns the current frame, which the capture then shows (or a later one).
 */
uint64_t desk__damage_frame(struct desk_x *x);

/* How a wait for a change ended (loop thread). */
enum desk_wait_end {
    DESK_WAIT_CHANGED, /* the screen (the region) changed after `since`: capture it */
    DESK_WAIT_TIMEOUT, /* nothing changed in time: 304 */
    DESK_WAIT_STOPPED, /* the desktop was stopped: 409 */
    DESK_WAIT_GONE,    /* the client went away: just free */
};
typedef void (*desk_wait_fn)(void *arg, enum desk_wait_end end);

/* This daemon's instance (part of every ETag) and the current frame (loop thread). */
uint32_t desk__frame_instance(void);
uint64_t desk__frame_now(void);
/*
 * Calls fn(arg, ...) exactly once on the loop thread: at once when the
 * screen (q's region, for a region request) changed after frame `since` or
 * when wait_ms is 0, otherwise when it changes or after wait_ms.  The
 * request must stay referenced by the caller until fn ran.  Waiters are
 * parked on the loop, never on the X thread's queue.
 */
void desk__change_wait(struct http_req *req, const struct desk_shot_req *q, uint64_t since,
                       unsigned wait_ms, desk_wait_fn fn, void *arg);
/* The runtime stopped: every waiter ends with DESK_WAIT_STOPPED. */
void desk__change_stop_all(void);
/* The ETag of frame `frame` taken with q's parameters (quoted: "<frame>-<instance>-<params>"). */
void desk__etag_format(char *dst, size_t cap, uint64_t frame, const struct desk_shot_req *q);

/* ---- runtime (loop thread) ---------------------------------------------------------------- */

/*
 * True when the desktop is active.  Otherwise replies 409
 * desktop_runtime_inactive (or 503 while the X server restarts) and returns false.
 */
bool desk__require_active(struct http_req *req);
/* The runtime's processes as DesktopProcessInfo[] (for problem extensions). */
cJSON *desk__processes_json(void);
/* The active desktop's display number and root size; false (nothing set) unless active. */
bool desk__active_display(int *ret_display, int *ret_width, int *ret_height);
/* The state directory (~/.local/state/agentd/desktop) and the HOME of desktop apps. */
const char *desk__state_dir(void);
const char *desk__home_dir(void);
/* The current time as RFC 3339 with nanoseconds and +00:00 (64 bytes are enough). */
void desk__rfc3339_now(char *dst, size_t cap);
/*
 * Resolves an application as `launch` does: a name with a '/' is a path,
 * any other is searched on PATH.  True when it is an executable regular
 * file, its path then written to dst.
 */
bool desk__which(const char *name, char *dst, size_t cap);

/* ---- recording and launched apps (loop thread) -------------------------------------------- */

void desk__rec_init(uv_loop_t *loop);
/*
 * Ends the active recording (as its stop route does) before the desktop
 * stops.  Returns false when none is active; otherwise done(arg) runs on
 * the loop once ffmpeg has exited and the record is final.
 */
bool desk__rec_end(void (*done)(void *arg), void *arg);
/* Daemon shutdown: pending stops are answered (done callbacks run), ffmpeg is let go. */
void desk__rec_shutdown(void);
void desk__rec_done(void);
/* Daemon shutdown: launch requests waiting for a window are answered. */
void desk__launch_shutdown(void);

/* ---- capture (X thread) and encoding (worker pool) ---------------------------------------- */

/* A frame in BGRX byte order (4 bytes per pixel, the X padding byte ignored). */
struct desk_image {
    uint8_t *px;       /* malloc'd */
    int width, height; /* pixels */
    size_t stride;     /* bytes per row */
};

void desk__image_free(struct desk_image *im);

/*
 * Captures the part of the screen inside (x, y, w, h) clipped to the
 * screen, the reference's way: a region wholly outside gives a 1x1 frame.
 * Also reports the pointer.  Returns 0, or -1 with err.
 */
int desk__capture(struct desk_x *x, const struct desk_shot_req *q, struct desk_image *out,
                  int *ret_cursor_x, int *ret_cursor_y, struct problem *err);
/* Detaches and frees the shared-memory segment (before the connection closes). */
void desk__capture_release(struct desk_x *x);
/* Draws the reference's crosshair (red, +-10 px) at (cx, cy) in image coordinates. */
void desk__draw_crosshair(struct desk_image *im, int cx, int cy);
/*
 * Area-averaging downscale to (w, h), both at most the source size.
 * Returns the new image; src is left as is.
 */
int desk__scale(const struct desk_image *src, int w, int h, struct desk_image *out);
/* The output size for a scale factor: round(side * scale), at least 1. */
int desk__scaled_side(int side, double scale);
/*
 * Encodes im in the requested format (quality 1-100, or 0 for the default).
 * Returns 0 with *ret (malloc'd) and *ret_len, or -1 with err.
 */
int desk__encode(const struct desk_image *im, enum desk_format fmt, int quality, uint8_t **ret,
                 size_t *ret_len, struct problem *err);
/* A 64-bit fingerprint of the pixels (the ETag). */
uint64_t desk__image_hash(const struct desk_image *im);

/* ---- input (X thread) --------------------------------------------------------------------- */

int desk__mouse_act(struct desk_x *x, const struct desk_mouse_req *m, struct problem *err);
/* The pointer: position, screen and the window under it. */
int desk__mouse_where(struct desk_x *x, int *ret_x, int *ret_y, unsigned long *ret_window,
                      struct problem *err);
int desk__key_act(struct desk_x *x, const struct desk_key_req *k, struct problem *err);
/* Puts spare keycodes back to NoSymbol (when idle, and before disconnecting). */
void desk__keys_restore(struct desk_x *x);
/* Finds the keycodes the server's map leaves empty (at connect). */
void desk__keys_scan(struct desk_x *x);

/* ---- windows (X thread jobs; desktop_windows.c) ------------------------------------------ */

/* Replies 200 with status (taking it), plus `windows` when at least one window is listed. */
void desk__windows_reply_status(struct http_req *req, cJSON *status);

/* ---- clipboard (its own connection and thread; desktop_clipboard.c) ----------------------- */

/* The desktop is active on display (":N"): start the selection owner's thread. */
void desk__clip_start(const char *display);
/* The desktop stops or its X server went away: the thread disconnects and ends (not waited for). */
void desk__clip_stop(void);
/* Joins every clipboard thread and frees everything (after the loop stopped). */
void desk__clip_done(void);

/* ---- routes --------------------------------------------------------------------------------- */

/* Each file's endpoints, declared beside its handlers; desk_register() hands them on. */
extern const struct route_table desk__runtime_routes;   /* desktop_runtime.c */
extern const struct route_table desk__shot_routes;      /* desktop_shot.c */
extern const struct route_table desk__windows_routes;   /* desktop_windows.c */
extern const struct route_table desk__clipboard_routes; /* desktop_clipboard.c */
extern const struct route_table desk__launch_routes;    /* desktop_launch.c */
extern const struct route_table desk__record_routes;    /* desktop_record.c */

#endif
