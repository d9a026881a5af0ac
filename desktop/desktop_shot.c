/*
 * desktop_shot: GET /v1/desktop/screenshot and /screenshot/region (spec
 * 5.3).  Three hops, none on the loop: the X thread captures (one XShm
 * round trip plus the pointer), the worker pool draws the crosshair,
 * scales and encodes, and the loop writes the reply.  Beyond the
 * reference, the reply says how the image maps to the screen
 * (X-Desktop-Width/Height: the screen, X-Desktop-Scale, X-Desktop-Cursor-X/Y:
 * the pointer in screen pixels) and carries an ETag naming the frame (see
 * desktop_damage.c).  With ?waitForChangeMs=N and/or ?since=<ETag>, the
 * request first waits, parked outside the X thread's queue, until the
 * screen differs from that frame (304 Not Modified after N ms).
 */
#include "desktop_internal.h"

#include "../stream/work.h"
#include "../stream/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>

struct shot_job {
    struct desk_xjob job;    /* first member */
    struct http_req *req;    /* referenced until replied */
    struct desk_shot_req q;  /* what was asked */
    struct desk_image frame; /* captured, then the final picture */
    int origin_x, origin_y;  /* the frame's top-left on the screen */
    int screen_w, screen_h;  /* the screen */
    int cursor_x, cursor_y;  /* the pointer, screen pixels */
    uint8_t *out;            /* encoded */
    size_t out_len;
    uint64_t frame_no;  /* the frame captured, or the one the client has (ETag) */
    int r;              /* 0 or -1 */
    struct problem err; /* when r < 0 */
};

static const char *content_type(enum desk_format f)
{
    return f == DESK_FMT_JPEG ? "image/jpeg" : f == DESK_FMT_WEBP ? "image/webp" : "image/png";
}

static void shot_free(struct shot_job *s)
{
    http_req_unref(s->req);
    desk__image_free(&s->frame);
    free(s->out);
    free(s);
}

static void reply(struct shot_job *s)
{
    char v[64];

    if (!http_req_alive(s->req))
        return;
    if (s->r < 0) {
        http_reply_problem(s->req, &s->err);
        return;
    }
    snprintf(v, sizeof(v), "%g", s->q.scale);
    http_add_header(s->req, "x-desktop-scale", v);
    snprintf(v, sizeof(v), "%d", s->cursor_x);
    http_add_header(s->req, "x-desktop-cursor-x", v);
    snprintf(v, sizeof(v), "%d", s->cursor_y);
    http_add_header(s->req, "x-desktop-cursor-y", v);
    snprintf(v, sizeof(v), "%d", s->screen_w);
    http_add_header(s->req, "x-desktop-width", v);
    snprintf(v, sizeof(v), "%d", s->screen_h);
    http_add_header(s->req, "x-desktop-height", v);
    desk__etag_format(v, sizeof(v), s->frame_no, &s->q);
    http_add_header(s->req, "etag", v);
    http_add_header(s->req, "cache-control", "no-store");
    http_reply(s->req, 200, content_type(s->q.format), (char *)s->out, s->out_len);
    s->out = NULL; /* the reply owns it */
}

/* Worker pool: crosshair, scale, encode. */
static void encode_run(void *arg)
{
    struct shot_job *s = arg;
    struct desk_image *im = &s->frame, scaled = {0};

    if (s->q.show_cursor)
        desk__draw_crosshair(im, s->cursor_x - s->origin_x, s->cursor_y - s->origin_y);
    if (s->q.scale < 1.0) {
        int w = desk__scaled_side(im->width, s->q.scale),
            h = desk__scaled_side(im->height, s->q.scale);
        if (w != im->width || h != im->height) {
            desk__scale(im, w, h, &scaled);
            desk__image_free(im);
            *im = scaled;
        }
    }
    s->r = desk__encode(im, s->q.format, s->q.quality, &s->out, &s->out_len, &s->err);
}

static void encode_done(void *arg)
{
    struct shot_job *s = arg;

    reply(s);
    shot_free(s);
}

/* X thread: capture. */
static void capture_run(struct desk_x *x, struct desk_xjob *j)
{
    struct shot_job *s = (struct shot_job *)j;

    s->r = -1;
    if (!desk__x_usable(x, &s->err))
        return;
    s->screen_w = x->width;
    s->screen_h = x->height;
    s->frame_no = desk__damage_frame(x);
    if (desk__capture(x, &s->q, &s->frame, &s->cursor_x, &s->cursor_y, &s->err) < 0)
        return;
    if (s->q.region) {
        s->origin_x = s->q.x;
        s->origin_y = s->q.y;
    }
    s->r = 0;
}

static void capture_done(struct desk_xjob *j)
{
    struct shot_job *s = (struct shot_job *)j;

    if (s->r < 0 || !http_req_alive(s->req)) {
        reply(s);
        shot_free(s);
        return;
    }
    work_submit(encode_run, encode_done, s);
}

/* The wait for a change ended: capture, or 304 with the ETag the client has. */
static void on_wait(void *arg, enum desk_wait_end end)
{
    struct shot_job *s = arg;
    struct problem err;
    char v[64];

    /* No runtime check: a stop ends waits with STOPPED, and after an X server restart the
     * capture queues behind the reconnection that published the change. */
    if (end == DESK_WAIT_CHANGED && http_req_alive(s->req)) {
        desk__x_submit(&s->job);
        return;
    }
    if (end == DESK_WAIT_TIMEOUT && http_req_alive(s->req)) {
        desk__etag_format(v, sizeof(v), s->frame_no, &s->q);
        http_add_header(s->req, "etag", v);
        http_add_header(s->req, "cache-control", "no-store");
        http_reply_empty(s->req, 304);
    } else if (end == DESK_WAIT_STOPPED && http_req_alive(s->req)) {
        problem_set(&err, 409, PROBLEM_DESKTOP_RUNTIME_INACTIVE,
                    "Desktop runtime was stopped while waiting for a change");
        http_reply_problem(s->req, &err);
    }
    shot_free(s);
}

static void handle(struct http_req *req, bool region)
{
    struct desk_shot_req q;
    struct problem err;
    struct shot_job *s;

    if (desk_shot_decode(http_query(req), region, &q, &err) < 0) {
        http_reply_problem(req, &err);
        return;
    }
    if (!desk__require_active(req))
        return;
    s = xcalloc(1, sizeof(*s));
    s->q = q;
    s->job.run = capture_run;
    s->job.done = capture_done;
    http_req_ref(req);
    s->req = req;
    if (!q.has_since && q.wait_ms == 0) {
        desk__x_submit(&s->job);
        return;
    }
    /* An ETag of another agentd run names no frame of ours: the screen "changed". */
    if (q.has_since && q.since_instance != desk__frame_instance()) {
        desk__x_submit(&s->job);
        return;
    }
    /* Without since: the next change after this request. */
    s->frame_no = q.has_since ? q.since_frame : desk__frame_now();
    desk__change_wait(req, &q, s->frame_no, q.wait_ms, on_wait, s);
}

static void handle_screenshot(struct http_req *req)
{
    handle(req, false);
}

static void handle_screenshot_region(struct http_req *req)
{
    handle(req, true);
}

/* The endpoints of this file (registered by desk_register(), desktop_routes.c). */
static const struct route routes[] = {
    {HTTP_GET, "/v1/desktop/screenshot", handle_screenshot, 0},
    {HTTP_GET, "/v1/desktop/screenshot/region", handle_screenshot_region, 0},
};
const struct route_table desk__shot_routes = ROUTE_TABLE(routes);
