#include "fs_internal.h"
void fs_handle_watch(struct http_req *req)
{
    struct problem p;
    problem_set(&p, 501, PROBLEM_INVALID_REQUEST, "not implemented yet");
    http_reply_problem(req, &p);
}
void fs_watch_close_all(void)
{
}
