/*
 * The pure parts of launch/open (spec 5.8) and recording (spec 5.9): their
 * request decoders and the MP4 structure check a finished recording must
 * pass.  No X, no loop: the unit tests and the fuzz target link this alone.
 */
#ifndef DESKTOP_DESKTOP_APP_H
#define DESKTOP_DESKTOP_APP_H

#include "../stream/problem.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DESK_REC_FPS_DEFAULT 30
#define DESK_REC_FPS_MIN     1
#define DESK_REC_FPS_MAX     60
/* Arguments of one launched application. */
#define DESK_LAUNCH_MAX_ARGS 4096

/* POST /v1/desktop/launch: strings point into root (free with desk_launch_req_done). */
struct desk_launch_req {
    cJSON *root;
    const char *app;   /* as given: a name looked up on PATH, or a path */
    const char **args; /* nargs strings (malloc'd array, strings in root) */
    size_t nargs;
    bool wait; /* wait for the app's first window */
};

/* POST /v1/desktop/open: target points into root (free with desk_open_req_done). */
struct desk_open_req {
    cJSON *root;
    const char *target; /* a path or a URL, handed to xdg-open as is */
};

/*
 * Each returns 0, or -1 with a 4xx problem (422 for a wrong shape, as the
 * reference's body extractor; 400 for syntax) and nothing to free.
 */
int desk_launch_decode(const char *body, size_t len, struct desk_launch_req *out,
                       struct problem *err);
void desk_launch_req_done(struct desk_launch_req *r);
int desk_open_decode(const char *body, size_t len, struct desk_open_req *out, struct problem *err);
void desk_open_req_done(struct desk_open_req *r);
/* {fps?: u32}: the rate clamped to 1..60, 30 when absent, into *ret_fps. */
int desk_rec_start_decode(const char *body, size_t len, int *ret_fps, struct problem *err);

/*
 * Checks that the size bytes of an MP4 file read through read_at form a
 * complete file: top-level boxes that tile the file exactly (no box cut
 * short, as an ffmpeg killed mid-write leaves), an `ftyp` first and a `moov`
 * holding an `mvhd` with a non-zero duration (at least one frame).  read_at(arg, dst, n, off)
 * returns the bytes read (short only at the end of the file) or -1.  Returns 0, or -1 with a reason
 * in why (a sentence).
 */
typedef long (*desk_read_at_fn)(void *arg, void *dst, size_t n, uint64_t off);
int desk_mp4_check(desk_read_at_fn read_at, void *arg, uint64_t size, char *why, size_t cap);

#endif
