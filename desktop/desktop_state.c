/*
 * desktop_state: the runtime's record and what other desktop files may ask
 * of it (see desktop_state.h).  Reads only.
 */
#include "desktop_state.h"

#include "../stream/json.h"

#include <stdio.h>
#include <time.h>

struct desk_runtime desk__rt;

static cJSON *helper_json(const struct helper *h)
{
    cJSON *o = cJSON_CreateObject();

    json_add_string(o, "name", h->name);
    if (h->p && proc_is_running(h->p))
        cJSON_AddNumberToObject(o, "pid", proc_pid(h->p));
    cJSON_AddBoolToObject(o, "running", h->p && proc_is_running(h->p));
    return o;
}

cJSON *desk__processes_json(void)
{
    cJSON *a = cJSON_CreateArray();

    if (desk__rt.xvfb.p)
        cJSON_AddItemToArray(a, helper_json(&desk__rt.xvfb));
    if (desk__rt.openbox.p)
        cJSON_AddItemToArray(a, helper_json(&desk__rt.openbox));
    return a;
}

bool desk__require_active(struct http_req *req)
{
    struct problem err;

    if (desk__rt.state == DESK_ACTIVE && desk__rt.connected)
        return true;
    if (desk__rt.state == DESK_STARTING && desk__rt.restarting) {
        cJSON *ext = cJSON_CreateObject();
        problem_set(&err, 503, PROBLEM_DESKTOP_RUNTIME_FAILED,
                    "the X server is restarting; retry in a moment");
        cJSON_AddItemToObject(ext, "processes", desk__processes_json());
        problem_set_ext(&err, ext);
        cJSON_Delete(ext);
    } else {
        problem_set(&err, 409, PROBLEM_DESKTOP_RUNTIME_INACTIVE,
                    "Desktop runtime has not been started");
    }
    http_reply_problem(req, &err);
    return false;
}

bool desk__active_display(int *ret_display, int *ret_width, int *ret_height)
{
    if (desk__rt.state != DESK_ACTIVE || !desk__rt.connected)
        return false;
    *ret_display = desk__rt.display;
    *ret_width = desk__rt.width;
    *ret_height = desk__rt.height;
    return true;
}

const char *desk__state_dir(void)
{
    return desk__rt.state_dir;
}

const char *desk__home_dir(void)
{
    return desk__rt.home_dir;
}
