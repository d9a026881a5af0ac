/*
 * desktop_routes: the /v1/desktop route table, and the mouse and keyboard
 * handlers.  A handler decodes and validates on the loop thread (4xx at
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
    if (!desk_x_usable(x, &in->err))
        return;
    if (in->is_key) {
        in->r = desk_key_act(x, &in->k, &in->err);
        return;
    }
    if (in->m.op != DESK_MOUSE_POSITION && desk_mouse_act(x, &in->m, &in->err) < 0)
        return;
    in->r = desk_mouse_where(x, &in->x, &in->y, &in->window, &in->err);
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
    desk_x_submit(&in->job);
}

static void handle_mouse(struct http_req *req, enum desk_mouse_op op)
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
    if (!desk_require_active(req))
        return;
    in = xcalloc(1, sizeof(*in));
    in->m = m;
    submit_input(req, in);
}

static void handle_key(struct http_req *req, enum desk_key_op op)
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
    if (!desk_require_active(req)) {
        desk_key_req_done(&k);
        return;
    }
    in = xcalloc(1, sizeof(*in));
    in->is_key = true;
    in->k = k;
    submit_input(req, in);
}

static void h_position(struct http_req *req)
{
    handle_mouse(req, DESK_MOUSE_POSITION);
}
static void h_move(struct http_req *req)
{
    handle_mouse(req, DESK_MOUSE_MOVE);
}
static void h_click(struct http_req *req)
{
    handle_mouse(req, DESK_MOUSE_CLICK);
}
static void h_down(struct http_req *req)
{
    handle_mouse(req, DESK_MOUSE_DOWN);
}
static void h_up(struct http_req *req)
{
    handle_mouse(req, DESK_MOUSE_UP);
}
static void h_drag(struct http_req *req)
{
    handle_mouse(req, DESK_MOUSE_DRAG);
}
static void h_scroll(struct http_req *req)
{
    handle_mouse(req, DESK_MOUSE_SCROLL);
}
static void h_type(struct http_req *req)
{
    handle_key(req, DESK_KEY_TYPE);
}
static void h_press(struct http_req *req)
{
    handle_key(req, DESK_KEY_PRESS);
}
static void h_key_down(struct http_req *req)
{
    handle_key(req, DESK_KEY_DOWN);
}
static void h_key_up(struct http_req *req)
{
    handle_key(req, DESK_KEY_UP);
}

/* Routes of later milestones: an honest 501. */
static void h_not_implemented(struct http_req *req)
{
    struct problem err;

    problem_set(&err, 501, PROBLEM_INVALID_REQUEST, "%s %s is not implemented in this agentd yet",
                http_method_name(http_method(req)), http_path(req));
    http_reply_problem(req, &err);
}

const struct route desk_routes[] = {
    {HTTP_GET, "/v1/desktop/status", desk_handle_status, 0},
    {HTTP_POST, "/v1/desktop/start", desk_handle_start, ROUTE_JSON_BODY},
    {HTTP_POST, "/v1/desktop/stop", desk_handle_stop, 0},
    {HTTP_GET, "/v1/desktop/display/info", desk_handle_display_info, 0},
    {HTTP_GET, "/v1/desktop/screenshot", desk_handle_screenshot, 0},
    {HTTP_GET, "/v1/desktop/screenshot/region", desk_handle_screenshot_region, 0},
    {HTTP_GET, "/v1/desktop/mouse/position", h_position, 0},
    {HTTP_POST, "/v1/desktop/mouse/move", h_move, ROUTE_JSON_BODY},
    {HTTP_POST, "/v1/desktop/mouse/click", h_click, ROUTE_JSON_BODY},
    {HTTP_POST, "/v1/desktop/mouse/down", h_down, ROUTE_JSON_BODY},
    {HTTP_POST, "/v1/desktop/mouse/up", h_up, ROUTE_JSON_BODY},
    {HTTP_POST, "/v1/desktop/mouse/drag", h_drag, ROUTE_JSON_BODY},
    {HTTP_POST, "/v1/desktop/mouse/scroll", h_scroll, ROUTE_JSON_BODY},
    {HTTP_POST, "/v1/desktop/keyboard/type", h_type, ROUTE_JSON_BODY},
    {HTTP_POST, "/v1/desktop/keyboard/press", h_press, ROUTE_JSON_BODY},
    {HTTP_POST, "/v1/desktop/keyboard/down", h_key_down, ROUTE_JSON_BODY},
    {HTTP_POST, "/v1/desktop/keyboard/up", h_key_up, ROUTE_JSON_BODY},
    {HTTP_GET, "/v1/desktop/windows", desk_handle_windows, 0},
    {HTTP_GET, "/v1/desktop/windows/focused", desk_handle_window_focused, 0},
    {HTTP_POST, "/v1/desktop/windows/{}/focus", desk_handle_window_focus, 0},
    {HTTP_POST, "/v1/desktop/windows/{}/move", desk_handle_window_move, ROUTE_JSON_BODY},
    {HTTP_POST, "/v1/desktop/windows/{}/resize", desk_handle_window_resize, ROUTE_JSON_BODY},
    {HTTP_GET, "/v1/desktop/clipboard", desk_handle_clipboard_get, 0},
    {HTTP_POST, "/v1/desktop/clipboard", desk_handle_clipboard_set, ROUTE_JSON_BODY},
    {HTTP_POST, "/v1/desktop/launch", desk_handle_launch, ROUTE_JSON_BODY},
    {HTTP_POST, "/v1/desktop/open", desk_handle_open, ROUTE_JSON_BODY},
    {HTTP_POST, "/v1/desktop/recording/start", desk_handle_rec_start, ROUTE_JSON_BODY},
    {HTTP_POST, "/v1/desktop/recording/stop", desk_handle_rec_stop, 0},
    {HTTP_GET, "/v1/desktop/recordings", desk_handle_rec_list, 0},
    {HTTP_GET, "/v1/desktop/recordings/{}", desk_handle_rec_get, 0},
    {HTTP_DELETE, "/v1/desktop/recordings/{}", desk_handle_rec_delete, 0},
    {HTTP_GET, "/v1/desktop/recordings/{}/download", desk_handle_rec_download, 0},
    {HTTP_POST, "/v1/desktop/stream/start", h_not_implemented, 0},
    {HTTP_POST, "/v1/desktop/stream/stop", h_not_implemented, 0},
    {HTTP_GET, "/v1/desktop/stream/status", h_not_implemented, 0},
    {HTTP_GET, "/v1/desktop/stream/signaling", h_not_implemented, 0},
};

const size_t desk_routes_count = sizeof(desk_routes) / sizeof(desk_routes[0]);
