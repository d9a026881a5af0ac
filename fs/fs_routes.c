/*
 * fs_routes: fs_register() (every /v1/fs route table of the module) and the
 * metadata endpoints (entries, stat, mkdir, delete, move).  A handler
 * validates its input on the loop thread, answers 4xx at once when it is
 * bad, and otherwise runs the operation on the worker pool as an fs_job.
 * File transfer, tar and watch endpoints are declared in their own files.
 */
#include "fs.h"

#include "fs_internal.h"
#include "fs_ops.h"

#include "../stream/log.h"
#include "../stream/work.h"
#include "../stream/xmalloc.h"

#include <stdlib.h>
#include <string.h>

enum fs_job_op {
    FS_JOB_STAT,
    FS_JOB_ENTRIES,
    FS_JOB_MKDIR,
    FS_JOB_DELETE,
    FS_JOB_MOVE,
};

struct fs_job {
    struct http_req *req; /* referenced until the job is done */
    enum fs_job_op op;
    struct fs_path a;   /* the path (move: from) */
    struct fs_path b;   /* move: to */
    bool flag;          /* delete: recursive; move: overwrite */
    int status;         /* success status */
    cJSON *result;      /* reply on success */
    struct problem err; /* reply on failure */
    int r;              /* 0 or -1 */
};

static void fs_job_run(void *arg)
{
    struct fs_job *j = arg;

    switch (j->op) {
    case FS_JOB_STAT:
        j->r = fs_op_stat(&j->a, &j->result, &j->err);
        break;
    case FS_JOB_ENTRIES:
        j->r = fs_op_entries(&j->a, &j->result, &j->err);
        break;
    case FS_JOB_MKDIR:
        j->r = fs_op_mkdir(&j->a, &j->result, &j->err);
        break;
    case FS_JOB_DELETE:
        j->r = fs_op_delete(&j->a, j->flag, &j->result, &j->err);
        break;
    case FS_JOB_MOVE:
        j->r = fs_op_move(&j->a, &j->b, j->flag, &j->result, &j->err);
        break;
    }
}

static void fs_job_done(void *arg)
{
    struct fs_job *j = arg;

    if (http_req_alive(j->req)) {
        if (j->r < 0)
            http_reply_problem(j->req, &j->err);
        else
            http_reply_json(j->req, 200, j->result);
    }
    cJSON_Delete(j->result);
    http_req_unref(j->req);
    free(j);
}

static struct fs_job *fs_job_new(struct http_req *req, enum fs_job_op op)
{
    struct fs_job *j = xcalloc(1, sizeof(*j));

    j->req = req;
    j->op = op;
    return j;
}

static void fs_job_submit(struct fs_job *j)
{
    http_req_ref(j->req);
    /* A recursive delete walks a tree of any size: the bulk lane, as tar extraction. */
    if (j->op == FS_JOB_DELETE && j->flag)
        work_submit_bulk(fs_job_run, fs_job_done, j);
    else
        work_submit(fs_job_run, fs_job_done, j);
}

static void fs_job_fail(struct fs_job *j)
{
    http_reply_problem(j->req, &j->err);
    free(j);
}

static void handle_entries(struct http_req *req)
{
    struct fs_job *j = fs_job_new(req, FS_JOB_ENTRIES);

    if (fs_path_from_query(http_query(req), "path", false, &j->a, &j->err) < 0)
        return fs_job_fail(j);
    fs_job_submit(j);
}

static void handle_stat(struct http_req *req)
{
    struct fs_job *j = fs_job_new(req, FS_JOB_STAT);

    if (fs_path_from_query(http_query(req), "path", true, &j->a, &j->err) < 0)
        return fs_job_fail(j);
    fs_job_submit(j);
}

static void handle_mkdir(struct http_req *req)
{
    struct fs_job *j = fs_job_new(req, FS_JOB_MKDIR);

    if (fs_path_from_query(http_query(req), "path", true, &j->a, &j->err) < 0)
        return fs_job_fail(j);
    fs_job_submit(j);
}

static void handle_delete(struct http_req *req)
{
    struct fs_job *j = fs_job_new(req, FS_JOB_DELETE);
    const char *raw = NULL;

    if (query_str(http_query(req), "path", &raw, &j->err) < 0 ||
        query_bool(http_query(req), "recursive", &j->flag, &j->err) < 0)
        return fs_job_fail(j);
    if (!raw || !*raw) {
        /* The reference deletes $HOME for an empty path; never do that by accident. */
        problem_set(&j->err, 400, PROBLEM_INVALID_REQUEST,
                    "query parameter `path` must name the entry to delete");
        return fs_job_fail(j);
    }
    if (fs_path_resolve(raw, &j->a, &j->err) < 0)
        return fs_job_fail(j);
    fs_job_submit(j);
}

static void handle_move(struct http_req *req)
{
    struct fs_job *j = fs_job_new(req, FS_JOB_MOVE);
    struct fs_move_request m = {0};
    size_t len;
    const char *body = http_body(req, &len);

    if (fs_move_request_decode(body, len, &m, &j->err) < 0)
        return fs_job_fail(j);
    if (fs_path_resolve(m.from, &j->a, &j->err) < 0 || fs_path_resolve(m.to, &j->b, &j->err) < 0) {
        fs_move_request_done(&m);
        return fs_job_fail(j);
    }
    j->flag = m.overwrite;
    fs_move_request_done(&m);
    fs_job_submit(j);
}

/* The metadata endpoints, in this file. */
static const struct route routes[] = {
    {HTTP_GET, "/v1/fs/entries", handle_entries, 0},
    {HTTP_GET, "/v1/fs/stat", handle_stat, 0},
    {HTTP_POST, "/v1/fs/mkdir", handle_mkdir, 0},
    {HTTP_DELETE, "/v1/fs/entry", handle_delete, 0},
    {HTTP_POST, "/v1/fs/move", handle_move, ROUTE_JSON_BODY},
};
static const struct route_table fs__meta_routes = ROUTE_TABLE(routes);

void fs_register(route_add_fn add)
{
    add(&fs__meta_routes);  /* here: entries, stat, mkdir, delete, move */
    add(&fs__file_routes);  /* fs_file.c: download and upload */
    add(&fs__tar_routes);   /* fs_tar.c: the tar batch upload */
    add(&fs__watch_routes); /* fs_watch.c: the inotify watch over SSE */
}

int fs_init(uv_loop_t *loop, const char *root)
{
    const char *home = getenv("HOME");
    int r;

    (void)loop;
    r = fs_path_setup(home, root);
    if (r < 0)
        return r;
    if (root)
        log_info("fs", "paths confined beneath %s", root);
    return 0;
}

void fs_shutdown(void)
{
    fs_upload_abort_all();
    fs_watch_close_all();
}

void fs_done(void)
{
    fs_path_teardown();
}
