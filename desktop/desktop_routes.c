/*
 * desktop_routes: desk_register() (every /v1/desktop route table of the
 * module, each declared beside its handlers) and the mouse and keyboard
 * endpoints.  A handler decodes and validates on the loop thread (4xx at
 * once), then queues one job on the X thread and replies from its done().
 * Routes of later milestones answer 501 problem+json, never a fake success.
 */
#include "desktop_internal.h"

#include "../stream/json.h"
#include "../stream/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct input_job {
    struct desk_xjob job; /* first member */
    struct http_req *req; /* referenced until done */
    bool is_key;
    struct desk_mouse_req m;
    struct desk_key_req k;
    int r;              /* 0 or -1 */
    struct problem err; /* when r < 0 */
    int x, y;           /* mouse: the pointer afterwards */
    unsigned long window;
};

static void input_run(struct desk_x *x, struct desk_xjob *j)
{
    struct input_job *in = (struct input_job *)j;

    in->r = -1;
    if (!desk__x_usable(x, &in->err))
        return;
    if (in->is_key) {
        in->r = desk__key_act(x, &in->k, &in->err);
        return;
    }
    if (in->m.op != DESK_MOUSE_POSITION && desk__mouse_act(x, &in->m, &in->err) < 0)
        return;
    in->r = desk__mouse_where(x, &in->x, &in->y, &in->window, &in->err);
}

static void input_done(struct desk_xjob *j)
{
    struct input_job *in = (struct input_job *)j;
    cJSON *o;
    char win[32];

    if (http_req_alive(in->req)) {
        if (in->r < 0) {
            http_reply_problem(in->req, &in->err);
        } else {
            o = cJSON_CreateObject();
            if (in->is_key) {
                cJSON_AddBoolToObject(o, "ok", 1);
            } else {
                cJSON_AddNumberToObject(o, "x", in->x);
                cJSON_AddNumberToObject(o, "y", in->y);
                cJSON_AddNumberToObject(o, "screen", 0);
                snprintf(win, sizeof(win), "%lu", in->window);
                json_add_string(o, "window", win);
            }
            http_reply_json(in->req, 200, o);
            cJSON_Delete(o);
        }
    }
    http_req_unref(in->req);
    desk_key_req_done(&in->k);
    free(in);
}

static void submit_input(struct http_req *req, struct input_job *in)
{
    in->job.run = input_run;
    in->job.done = input_done;
    http_req_ref(req);
    in->req = req;
    desk__x_submit(&in->job);
}

static void mouse_request(struct http_req *req, enum desk_mouse_op op)
{
    struct input_job *in;
    struct desk_mouse_req m;
    struct problem err;
    size_t len = 0;
    const char *body = op == DESK_MOUSE_POSITION ? "" : http_body(req, &len);

    /* The reference validates the body before it looks at the runtime. */
    if (desk_mouse_decode(op, body, len, &m, &err) < 0) {
        http_reply_problem(req, &err);
        return;
    }
    if (!desk__require_active(req))
        return;
    in = xcalloc(1, sizeof(*in));
    in->m = m;
    submit_input(req, in);
}

static void key_request(struct http_req *req, enum desk_key_op op)
{
    struct input_job *in;
    struct desk_key_req k;
    struct problem err;
    size_t len = 0;
    const char *body = http_body(req, &len);

    if (desk_key_decode(op, body, len, &k, &err) < 0) {
        http_reply_problem(req, &err);
        return;
    }
    if (!desk__require_active(req)) {
        desk_key_req_done(&k);
        return;
    }
    in = xcalloc(1, sizeof(*in));
    in->is_key = true;
    in->k = k;
    submit_input(req, in);
}

static void handle_mouse_position(struct http_req *req)
{
    mouse_request(req, DESK_MOUSE_POSITION);
}
static void handle_mouse_move(struct http_req *req)
{
    mouse_request(req, DESK_MOUSE_MOVE);
}
static void handle_mouse_click(struct http_req *req)
{
    mouse_request(req, DESK_MOUSE_CLICK);
}
static void handle_mouse_down(struct http_req *req)
{
    mouse_request(req, DESK_MOUSE_DOWN);
}
static void handle_mouse_up(struct http_req *req)
{
    mouse_request(req, DESK_MOUSE_UP);
}
static void handle_mouse_drag(struct http_req *req)
{
    mouse_request(req, DESK_MOUSE_DRAG);
}
static void handle_mouse_scroll(struct http_req *req)
{
    mouse_request(req, DESK_MOUSE_SCROLL);
}
static void handle_key_type(struct http_req *req)
{
    key_request(req, DESK_KEY_TYPE);
}
static void handle_key_press(struct http_req *req)
{
    key_request(req, DESK_KEY_PRESS);
}
static void handle_key_down(struct http_req *req)
{
    key_request(req, DESK_KEY_DOWN);
}
static void handle_key_up(struct http_req *req)
{
    key_request(req, DESK_KEY_UP);
}

/* Routes of later milestones: an honest 501. */
static void handle_not_implemented(struct http_req *req)
{
    struct problem err;

    problem_set(&err, 501, PROBLEM_INVALID_REQUEST, "%s %s is not implemented in this agentd yet",
                http_method_name(http_method(req)), http_path(req));
    http_reply_problem(req, &err);
}

/* The endpoints of this file. */
static const struct route routes[] = {
    {HTTP_GET, "/v1/desktop/mouse/position", handle_mouse_position, 0},
    {HTTP_POST, "/v1/desktop/mouse/move", handle_mouse_move, ROUTE_JSON_BODY},
    {HTTP_POST, "/v1/desktop/mouse/click", handle_mouse_click, ROUTE_JSON_BODY},
    {HTTP_POST, "/v1/desktop/mouse/down", handle_mouse_down, ROUTE_JSON_BODY},
    {HTTP_POST, "/v1/desktop/mouse/up", handle_mouse_up, ROUTE_JSON_BODY},
    {HTTP_POST, "/v1/desktop/mouse/drag", handle_mouse_drag, ROUTE_JSON_BODY},
    {HTTP_POST, "/v1/desktop/mouse/scroll", handle_mouse_scroll, ROUTE_JSON_BODY},
    {HTTP_POST, "/v1/desktop/keyboard/type", handle_key_type, ROUTE_JSON_BODY},
    {HTTP_POST, "/v1/desktop/keyboard/press", handle_key_press, ROUTE_JSON_BODY},
    {HTTP_POST, "/v1/desktop/keyboard/down", handle_key_down, ROUTE_JSON_BODY},
    {HTTP_POST, "/v1/desktop/keyboard/up", handle_key_up, ROUTE_JSON_BODY},
    {HTTP_POST, "/v1/desktop/stream/start", handle_not_implemented, 0},
    {HTTP_POST, "/v1/desktop/stream/stop", handle_not_implemented, 0},
    {HTTP_GET, "/v1/desktop/stream/status", handle_not_implemented, 0},
    {HTTP_GET, "/v1/desktop/stream/signaling", handle_not_implemented, 0},
};
static const struct route_table desk__input_routes = ROUTE_TABLE(routes);

void desk_register(route_add_fn add)
{
    add(&desk__runtime_routes);   /* desktop_runtime.c: status, start, stop, display info */
    add(&desk__shot_routes);      /* desktop_shot.c: screenshots */
    add(&desk__input_routes);     /* here: mouse and keyboard, and the stream (501) */
    add(&desk__windows_routes);   /* desktop_windows.c */
    add(&desk__clipboard_routes); /* desktop_clipboard.c */
    add(&desk__launch_routes);    /* desktop_launch.c: launch and open */
    add(&desk__record_routes);    /* desktop_record.c: recordings */
}
