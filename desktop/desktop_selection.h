/*
 * The X selection protocol (ICCCM) on the clipboard's own connection, used
 * only by desktop_clipboard.c and only from its thread: owning selections
 * and serving their text, and reading another owner's.  Nothing here
 * blocks for long: a read is started, then finished by later events or its
 * deadline.
 */
#ifndef DESKTOP_DESKTOP_SELECTION_H
#define DESKTOP_DESKTOP_SELECTION_H

#include "../stream/http.h"
#include "../stream/problem.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One clipboard request, carried from the loop to the clipboard thread and back. */
struct desk_clip_cmd {
    bool is_set;          /* a write (else a read) */
    unsigned sels;        /* enum desk_sel_bit bits: one for a read */
    const char *name;     /* the selection name echoed back (static) */
    char *text;           /* write: the text; read: the answer (malloc'd, NUL-terminated) */
    size_t len;           /* bytes in text */
    int r;                /* 0, or -1 with err */
    struct problem err;   /* when r < 0 */
    struct http_req *req; /* referenced (loop thread only) */
    struct desk_clip_cmd *next;
};

struct desk_sel;

/* Connects to display.  Returns the state, or NULL with errbuf filled. */
struct desk_sel *desk_sel_new(const char *display, char *errbuf, size_t cap);
/* Drops the selections and transfers and closes the connection (NULL is fine). */
void desk_sel_free(struct desk_sel *s);
/* The connection's descriptor to poll, -1 once it broke. */
int desk_sel_fd(const struct desk_sel *s);
/* True while a read waits for another owner. */
bool desk_sel_busy(const struct desk_sel *s);
/* Takes the selection(s) of a write; cmd is answered (r, err) on return. */
void desk_sel_set(struct desk_sel *s, struct desk_clip_cmd *cmd);
/*
 * Starts a read.  True when cmd is answered on return; false when it waits
 * for another owner: a later desk_sel_dispatch() or desk_sel_expire()
 * returns it.  At most one read at a time (check desk_sel_busy()).
 */
bool desk_sel_get(struct desk_sel *s, struct desk_clip_cmd *cmd);
/*
 * Handles the events that arrived (serving requests for our selections,
 * progressing the read).  Returns the read when one of them finished it
 * (the remaining events wait for the next call), else NULL.
 */
struct desk_clip_cmd *desk_sel_dispatch(struct desk_sel *s);
/*
 * Fails the read and drops stalled transfers whose time is up.  Returns the
 * failed read or NULL; *ret_next is the next deadline (CLOCK_MONOTONIC ms)
 * or -1.
 */
struct desk_clip_cmd *desk_sel_expire(struct desk_sel *s, int64_t *ret_next);
/* Gives back the read in flight (the thread is stopping), failed; NULL when none. */
struct desk_clip_cmd *desk_sel_abort(struct desk_sel *s);

#endif
