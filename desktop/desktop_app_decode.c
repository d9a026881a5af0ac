/*
 * desktop_app_decode: request bodies of launch, open and recording/start,
 * and the structural check of a finished MP4 recording.  Pure functions
 * (no X, no loop), so the unit tests and a fuzz target exercise them alone.
 */
#include "desktop_app.h"

#include "../stream/json.h"
#include "../stream/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- request bodies ------------------------------------------------------------------------ */

void desk_launch_req_done(struct desk_launch_req *r)
{
    if (!r)
        return;
    free(r->args);
    cJSON_Delete(r->root);
    memset(r, 0, sizeof(*r));
}

int desk_launch_decode(const char *body, size_t len, struct desk_launch_req *out,
                       struct problem *err)
{
    struct desk_launch_req r = {0};

    if (json_parse_object(body, len, &r.root, err) < 0)
        return -1;
    if (json_get_string(r.root, "app", true, &r.app, err) < 0 ||
        json_get_string_array(r.root, "args", DESK_LAUNCH_MAX_ARGS, &r.args, &r.nargs, err) < 0 ||
        json_get_bool(r.root, "wait", false, &r.wait, err) < 0) {
        desk_launch_req_done(&r);
        return -1;
    }
    *out = r;
    return 0;
}

void desk_open_req_done(struct desk_open_req *r)
{
    if (!r)
        return;
    cJSON_Delete(r->root);
    memset(r, 0, sizeof(*r));
}

int desk_open_decode(const char *body, size_t len, struct desk_open_req *out, struct problem *err)
{
    struct desk_open_req r = {0};

    if (json_parse_object(body, len, &r.root, err) < 0)
        return -1;
    if (json_get_string(r.root, "target", true, &r.target, err) < 0) {
        desk_open_req_done(&r);
        return -1;
    }
    *out = r;
    return 0;
}

int desk_rec_start_decode(const char *body, size_t len, int *ret_fps, struct problem *err)
{
    cJSON *root = NULL;
    uint64_t fps = DESK_REC_FPS_DEFAULT;
    int r;

    if (json_parse_object(body, len, &root, err) < 0)
        return -1;
    /* u32 as there: negatives and larger values are 422, anything else is clamped silently. */
    r = json_get_u64(root, "fps", false, UINT32_MAX, &fps, err);
    cJSON_Delete(root);
    if (r < 0)
        return -1;
    if (fps < DESK_REC_FPS_MIN)
        fps = DESK_REC_FPS_MIN;
    if (fps > DESK_REC_FPS_MAX)
        fps = DESK_REC_FPS_MAX;
    *ret_fps = (int)fps;
    return 0;
}

/* ---- MP4 structure ------------------------------------------------------------------------- */

/* Enough boxes for any file ffmpeg writes (a handful at the top level). */
#define MP4_MAX_BOXES 100000

struct mp4_box {
    uint64_t off;  /* where the box starts */
    uint64_t size; /* whole box, header included */
    unsigned hdr;  /* header bytes (8, or 16 with a 64-bit size) */
    char type[5];  /* four characters, NUL-terminated */
};

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const unsigned char *p)
{
    return (uint64_t)be32(p) << 32 | be32(p + 4);
}

/* Reads the header of the box at off, which must end by end. Returns 0 or -1 with why. */
static int mp4_box_at(desk_read_at_fn read_at, void *arg, uint64_t off, uint64_t end,
                      struct mp4_box *b, char *why, size_t cap)
{
    unsigned char h[16];
    size_t want = end - off < sizeof(h) ? (size_t)(end - off) : sizeof(h);
    long n;
    uint32_t size32;

    if (want < 8) {
        snprintf(why, cap, "%llu stray bytes at offset %llu", (unsigned long long)(end - off),
                 (unsigned long long)off);
        return -1;
    }
    n = read_at(arg, h, want, off);
    if (n < 0 || (size_t)n < want) {
        snprintf(why, cap, "cannot read the box header at offset %llu", (unsigned long long)off);
        return -1;
    }
    size32 = be32(h);
    memcpy(b->type, h + 4, 4);
    b->type[4] = '\0';
    b->off = off;
    b->hdr = 8;
    if (size32 == 1) {
        if (want < 16) {
            snprintf(why, cap, "box `%.4s` at offset %llu is cut short", b->type,
                     (unsigned long long)off);
            return -1;
        }
        b->size = be64(h + 8);
        b->hdr = 16;
    } else if (size32 == 0) {
        b->size = end - off; /* "to the end of the enclosing space" */
    } else {
        b->size = size32;
    }
    if (b->size < b->hdr) {
        snprintf(why, cap, "box `%.4s` at offset %llu has an impossible size %llu", b->type,
                 (unsigned long long)off, (unsigned long long)b->size);
        return -1;
    }
    if (b->size > end - off) {
        snprintf(why, cap,
                 "box `%.4s` at offset %llu claims %llu bytes but only %llu remain (the file "
                 "was not finalised)",
                 b->type, (unsigned long long)off, (unsigned long long)b->size,
                 (unsigned long long)(end - off));
        return -1;
    }
    return 0;
}

/* The movie's duration in its time scale, from the `mvhd` box c. Returns 0 or -1 with why. */
static int mp4_duration(desk_read_at_fn read_at, void *arg, const struct mp4_box *c, uint64_t *ret,
                        char *why, size_t cap)
{
    unsigned char h[32];
    /* version 0: flags, creation, modification, time scale (4 bytes each), duration (4);
     * version 1: the times and the duration take 8 bytes. */
    size_t need;
    long n;

    if (c->size - c->hdr < 20)
        goto short_box;
    need = c->size - c->hdr < sizeof(h) ? (size_t)(c->size - c->hdr) : sizeof(h);
    n = read_at(arg, h, need, c->off + c->hdr);
    if (n < 0 || (size_t)n < need)
        goto short_box;
    if (h[0] == 1) {
        if (need < 32)
            goto short_box;
        *ret = be64(h + 24);
    } else {
        *ret = be32(h + 16);
    }
    return 0;
short_box:
    snprintf(why, cap, "the `mvhd` box is cut short");
    return -1;
}

int desk_mp4_check(desk_read_at_fn read_at, void *arg, uint64_t size, char *why, size_t cap)
{
    struct mp4_box b, c;
    bool moov = false, mvhd = false;
    uint64_t duration = 0;
    unsigned count = 0;

    if (size == 0) {
        snprintf(why, cap, "the file is empty");
        return -1;
    }
    for (uint64_t off = 0; off < size; off += b.size) {
        if (++count > MP4_MAX_BOXES) {
            snprintf(why, cap, "more than %d top-level boxes", MP4_MAX_BOXES);
            return -1;
        }
        if (mp4_box_at(read_at, arg, off, size, &b, why, cap) < 0)
            return -1;
        if (off == 0 && strcmp(b.type, "ftyp") != 0) {
            snprintf(why, cap, "not an MP4 file (it starts with `%.4s`, not `ftyp`)", b.type);
            return -1;
        }
        if (strcmp(b.type, "moov") != 0)
            continue;
        moov = true;
        for (uint64_t o = b.off + b.hdr, end = b.off + b.size; o < end && !mvhd; o += c.size) {
            if (++count > MP4_MAX_BOXES) {
                snprintf(why, cap, "more than %d boxes", MP4_MAX_BOXES);
                return -1;
            }
            if (mp4_box_at(read_at, arg, o, end, &c, why, cap) < 0)
                return -1;
            mvhd = strcmp(c.type, "mvhd") == 0;
            if (mvhd && mp4_duration(read_at, arg, &c, &duration, why, cap) < 0)
                return -1;
        }
    }
    if (!moov || !mvhd) {
        snprintf(why, cap, "%s (the file was not finalised)",
                 moov ? "the `moov` box has no `mvhd`" : "no `moov` box");
        return -1;
    }
    if (duration == 0) {
        snprintf(why, cap, "no frame was recorded (stopped before the first one)");
        return -1;
    }
    return 0;
}
