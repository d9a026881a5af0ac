/*
 * desktop_record: desktop recordings (spec 5.9), owned by the loop thread.
 *
 * A recording is ffmpeg (x11grab -> libx264 ultrafast, yuv420p, MP4) run as
 * a desktop-owned managed process that writes
 * <state>/recordings/rec_<n>.mp4.  At most one is active.
 *
 * Stopping never blocks: `q` goes to ffmpeg's stdin (it finishes the frame
 * in hand, writes the MP4 index and exits 0); if it still runs
 * REC_SIGINT_MS later it gets SIGINT (the same finalisation, exit 255),
 * and REC_KILL_MS after that SIGKILL (the file is then unusable).  The
 * stop request is answered from the process watcher once ffmpeg exited and
 * a worker checked the file: `completed` needs exit 0 or 255 and a
 * non-empty, complete MP4 (the boxes ffprobe needs, desk_mp4_check);
 * anything else is `failed`.  A desktop stop ends an active recording the
 * same way before its X server goes (desk__rec_end).
 *
 * `bytes` is the final size once the record is final; the active file is
 * stat'ed when reported (one metadata call, no read).  Downloads stream the
 * file with worker-pool preads one chunk ahead of the socket, as GET
 * /v1/fs/file does; a recording in progress is served up to the size it
 * had when the download opened it.
 */
#include "desktop_app.h"
#include "desktop_internal.h"

#include "../process/proc.h"
#include "../stream/http_fd.h"
#include "../stream/json.h"
#include "../stream/limits.h"
#include "../stream/log.h"
#include "../stream/work.h"
#include "../stream/xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* After `q`: SIGINT when ffmpeg still runs this long, then SIGKILL after as long again. */
/* Daemon shutdown: how long ffmpeg gets to finalise an active recording's MP4. */
#define REC_SHUTDOWN_GRACE_MS 5000
#define REC_SIGINT_MS         3000
#define REC_KILL_MS           3000
#define REC_INSTALL           "apt-get install -y --no-install-recommends ffmpeg"

enum rec_status {
    REC_RECORDING,
    REC_COMPLETED,
    REC_FAILED,
};

struct rec {
    int refs;            /* the list + worker jobs in flight */
    uint64_t num;        /* the n of rec_<n> */
    char id[32];         /* "rec_<n>" */
    char file_name[48];  /* "rec_<n>.mp4" */
    char *path;          /* the file */
    char process_id[32]; /* the ffmpeg process */
    enum rec_status status;
    char started_at[64]; /* RFC 3339 */
    char ended_at[64];   /* "" until ffmpeg exited */
    uint64_t bytes;      /* the file's size once final */
    bool listed;         /* in the list (not deleted) */
    struct rec *next;    /* list order: by num */
};

/* Someone waiting for the active recording to become final. */
struct stop_waiter {
    struct http_req *req;     /* a stop request (referenced), or NULL */
    void (*done)(void *arg);  /* or a callback: the desktop stopping */
    void *arg;                /* for done */
    struct stop_waiter *next; /* the waiter list */
};

static struct {
    struct rec *list;      /* every listed recording, by num */
    uint64_t next_num;     /* the next rec_<n> */
    struct rec *active;    /* being recorded, until its record is final */
    struct proc *ffmpeg;   /* its process, referenced until it exits */
    struct proc_watcher w; /* on ffmpeg */
    bool stopping;         /* `q` was sent */
    int escalation;        /* signals sent since: 0, 1 (SIGINT), 2 (SIGKILL) */
    uv_timer_t timer;      /* the next escalation */
    struct stop_waiter *waiters;
    bool shut; /* daemon shutdown: no new recordings */
} rs;

/* ---- records -------------------------------------------------------------------------------- */

static void rec_unref(struct rec *r)
{
    if (r && --r->refs == 0) {
        free(r->path);
        free(r);
    }
}

static void list_insert(struct rec *r)
{
    struct rec **pp = &rs.list;

    while (*pp && (*pp)->num < r->num)
        pp = &(*pp)->next;
    r->next = *pp;
    *pp = r;
    r->listed = true;
}

static void list_remove(struct rec *r)
{
    for (struct rec **pp = &rs.list; *pp; pp = &(*pp)->next) {
        if (*pp == r) {
            *pp = r->next;
            r->next = NULL;
            r->listed = false;
            return;
        }
    }
}

static struct rec *rec_find(const char *id)
{
    for (struct rec *r = rs.list; r; r = r->next)
        if (strcmp(r->id, id) == 0)
            return r;
    return NULL;
}

/* The current size: final, or the growing file's (0 before ffmpeg created it). */
static uint64_t rec_bytes(const struct rec *r)
{
    struct stat st;

    if (r->status != REC_RECORDING)
        return r->bytes;
    return stat(r->path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

static cJSON *rec_json(const struct rec *r)
{
    cJSON *o = cJSON_CreateObject();
    const char *status = r->status == REC_RECORDING   ? "recording"
                         : r->status == REC_COMPLETED ? "completed"
                                                      : "failed";

    json_add_string(o, "id", r->id);
    json_add_string(o, "status", status);
    if (r->process_id[0])
        json_add_string(o, "processId", r->process_id);
    json_add_string(o, "fileName", r->file_name);
    cJSON_AddNumberToObject(o, "bytes", (double)rec_bytes(r));
    json_add_string(o, "startedAt", r->started_at);
    if (r->ended_at[0])
        json_add_string(o, "endedAt", r->ended_at);
    return o;
}

static void reply_rec(struct http_req *req, const struct rec *r)
{
    cJSON *o = rec_json(r);

    http_reply_json(req, 200, o);
    cJSON_Delete(o);
}

static void reply_conflict(struct http_req *req, const char *message)
{
    struct problem err;

    problem_set(&err, 409, PROBLEM_CONFLICT, "%s", message);
    http_reply_problem(req, &err);
}

/* The {id} of the route, or a 404 already answered. */
static struct rec *rec_of_request(struct http_req *req)
{
    const char *id = http_param(req, 0);
    struct rec *r = rec_find(id);
    struct problem err;

    if (!r) {
        problem_not_found(&err, "desktop_recording", id);
        http_reply_problem(req, &err);
    }
    return r;
}

/* ---- the end of a recording ----------------------------------------------------------------- */

/* Answers the stop requests with r (or err) and runs the callbacks. */
static void answer_waiters(const struct rec *r, const struct problem *err)
{
    struct stop_waiter *w = rs.waiters;

    rs.waiters = NULL;
    while (w) {
        struct stop_waiter *next = w->next;
        if (w->req) {
            if (http_req_alive(w->req)) {
                if (err)
                    http_reply_problem(w->req, err);
                else
                    reply_rec(w->req, r);
            }
            http_req_unref(w->req);
        } else {
            w->done(w->arg);
        }
        free(w);
        w = next;
    }
}

/* A finished recording's file, checked on a worker. */
struct rec_check {
    struct rec *rec; /* referenced */
    int exit_code;   /* ffmpeg's, -1 after a death by signal */
    char *path;      /* copy, for the worker */
    bool ok;
    uint64_t size;
    char why[256]; /* when not ok */
};

static long read_at_fd(void *arg, void *dst, size_t n, uint64_t off)
{
    ssize_t k;

    do {
        k = pread(*(int *)arg, dst, n, (off_t)off);
    } while (k < 0 && errno == EINTR);
    return (long)k;
}

static void check_run(void *arg)
{
    struct rec_check *c = arg;
    struct stat st;
    int fd;

    c->size = stat(c->path, &st) == 0 ? (uint64_t)st.st_size : 0;
    if (c->exit_code != 0 && c->exit_code != 255) {
        if (c->exit_code < 0)
            snprintf(c->why, sizeof(c->why), "ffmpeg was killed by a signal");
        else
            snprintf(c->why, sizeof(c->why), "ffmpeg exited with code %d", c->exit_code);
        return;
    }
    fd = open(c->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(c->why, sizeof(c->why), "cannot open the file: %s", strerror(errno));
        return;
    }
    c->ok = desk_mp4_check(read_at_fd, &fd, c->size, c->why, sizeof(c->why)) == 0;
    close(fd);
}

static void check_done(void *arg)
{
    struct rec_check *c = arg;
    struct rec *r = c->rec;

    r->bytes = c->size;
    r->status = c->ok ? REC_COMPLETED : REC_FAILED;
    if (!c->ok)
        log_warn(DESK_TAG, "recording %s failed: %s (see the logs of %s)", r->id, c->why,
                 r->process_id);
    if (rs.active == r) {
        rs.active = NULL;
        answer_waiters(r, NULL);
    }
    rec_unref(r);
    free(c->path);
    free(c);
}

static void on_ffmpeg_event(struct proc_watcher *w, struct proc *p, enum proc_event ev)
{
    struct rec_check *c;
    struct rec *r = rs.active;

    (void)w;
    if (ev != PROC_EV_EXIT || p != rs.ffmpeg)
        return;
    uv_timer_stop(&rs.timer);
    c = xcalloc(1, sizeof(*c));
    c->exit_code = proc_exit_code(p);
    proc_unwatch(p, &rs.w);
    proc_unref(p);
    rs.ffmpeg = NULL;
    desk__rfc3339_now(r->ended_at, sizeof(r->ended_at));
    r->refs++;
    c->rec = r;
    c->path = xstrdup(r->path);
    work_submit(check_run, check_done, c);
}

static void on_escalate(uv_timer_t *t)
{
    (void)t;
    if (!rs.ffmpeg)
        return;
    if (rs.escalation == 0) {
        log_warn(DESK_TAG, "ffmpeg (%s) ignored `q` for %d ms; sending SIGINT", proc_id(rs.ffmpeg),
                 REC_SIGINT_MS);
        rs.escalation = 1;
        proc_signal(rs.ffmpeg, SIGINT);
        uv_timer_start(&rs.timer, on_escalate, REC_KILL_MS, 0);
    } else if (rs.escalation == 1) {
        log_warn(DESK_TAG, "ffmpeg (%s) ignored SIGINT for %d ms; killing it", proc_id(rs.ffmpeg),
                 REC_KILL_MS);
        rs.escalation = 2;
        proc_signal(rs.ffmpeg, SIGKILL);
    }
}

/* Asks ffmpeg to finish (once); its exit makes the record final. */
static void begin_stop(void)
{
    if (rs.stopping || !rs.ffmpeg)
        return;
    rs.stopping = true;
    rs.escalation = 0;
    if (proc_write(rs.ffmpeg, "q", 1) < 0) {
        rs.escalation = 1;
        proc_signal(rs.ffmpeg, SIGINT);
        uv_timer_start(&rs.timer, on_escalate, REC_KILL_MS, 0);
        return;
    }
    uv_timer_start(&rs.timer, on_escalate, REC_SIGINT_MS, 0);
}

static void add_waiter(struct http_req *req, void (*done)(void *), void *arg)
{
    struct stop_waiter *w = xcalloc(1, sizeof(*w));

    if (req)
        http_req_ref(req);
    w->req = req;
    w->done = done;
    w->arg = arg;
    w->next = rs.waiters;
    rs.waiters = w;
}

bool desk__rec_end(void (*done)(void *arg), void *arg)
{
    if (!rs.active)
        return false;
    add_waiter(NULL, done, arg);
    begin_stop();
    return true;
}

/* ---- start, stop, list, get ----------------------------------------------------------------- */

/* Spawns ffmpeg for r. Returns 0, or -1 with err. */
static int spawn_ffmpeg(struct rec *r, int fps, int display, int width, int height,
                        struct problem *err)
{
    char size[32], rate[16], input[32], env_display[32], env_home[4200], exe[4096];
    /* yuv420p needs even sides: an odd screen loses its last column or row. */
    const char *args[] = {"-y",        "-video_size", size,      "-framerate", rate,      "-f",
                          "x11grab",   "-i",          input,     "-c:v",       "libx264", "-preset",
                          "ultrafast", "-pix_fmt",    "yuv420p", r->path};
    const char *env[] = {env_display, env_home};
    struct proc_spawn_req q = {.command = "ffmpeg",
                               .args = args,
                               .nargs = sizeof(args) / sizeof(args[0]),
                               .env = env,
                               .nenv = 2,
                               .interactive = true, /* `q` on stdin stops it */
                               .owner = PROC_OWNER_DESKTOP};
    struct proc *p = NULL;
    cJSON *ext;

    if (!desk__which("ffmpeg", exe, sizeof(exe))) {
        problem_set(err, 503, PROBLEM_DESKTOP_RUNTIME_FAILED,
                    "ffmpeg is not installed (recordings need it): run `%s`", REC_INSTALL);
        goto out_ext;
    }
    snprintf(size, sizeof(size), "%dx%d", width & ~1, height & ~1);
    snprintf(rate, sizeof(rate), "%d", fps);
    snprintf(input, sizeof(input), ":%d", display);
    snprintf(env_display, sizeof(env_display), "DISPLAY=:%d", display);
    snprintf(env_home, sizeof(env_home), "HOME=%s", desk__home_dir());
    if (proc_create(&q, &p, err) < 0) {
        if (err->status == 409)
            return -1; /* the process limit: as is */
        problem_set(err, 503, PROBLEM_DESKTOP_RUNTIME_FAILED, "failed to start ffmpeg: %s",
                    err->message);
        goto out_ext;
    }
    proc_ref(p);
    rs.ffmpeg = p;
    rs.w.notify = on_ffmpeg_event;
    proc_watch(p, &rs.w);
    snprintf(r->process_id, sizeof(r->process_id), "%s", proc_id(p));
    return 0;
out_ext:
    ext = cJSON_CreateObject();
    cJSON_AddItemToObject(ext, "processes", desk__processes_json());
    problem_set_ext(err, ext);
    cJSON_Delete(ext);
    return -1;
}

static void handle_recording_start(struct http_req *req)
{
    struct problem err;
    size_t len = 0;
    const char *body = http_body(req, &len);
    int fps, display, width, height;
    struct rec *r;
    char *dir;
    cJSON *o;

    if (desk_rec_start_decode(body, len, &fps, &err) < 0) {
        http_reply_problem(req, &err);
        return;
    }
    if (rs.shut || !desk__active_display(&display, &width, &height)) {
        reply_conflict(req, "Desktop runtime has not been started");
        return;
    }
    if (rs.active) {
        reply_conflict(req, "a desktop recording is already active");
        return;
    }
    dir = xasprintf("%s/recordings", desk__state_dir());
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        problem_set(&err, 502, PROBLEM_STREAM_ERROR, "cannot create %s: %s", dir, strerror(errno));
        free(dir);
        http_reply_problem(req, &err);
        return;
    }
    r = xcalloc(1, sizeof(*r));
    r->refs = 1;
    r->num = rs.next_num;
    snprintf(r->id, sizeof(r->id), "rec_%llu", (unsigned long long)r->num);
    snprintf(r->file_name, sizeof(r->file_name), "%s.mp4", r->id);
    r->path = xasprintf("%s/%s", dir, r->file_name);
    free(dir);
    desk__rfc3339_now(r->started_at, sizeof(r->started_at));
    if (spawn_ffmpeg(r, fps, display, width, height, &err) < 0) {
        rec_unref(r);
        http_reply_problem(req, &err);
        return;
    }
    rs.next_num++;
    list_insert(r);
    rs.active = r;
    rs.stopping = false;
    r->status = REC_RECORDING;
    r->bytes = 0;
    /* Answered before ffmpeg opened its output (an old file of that name may be there): 0. */
    o = rec_json(r);
    cJSON_ReplaceItemInObject(o, "bytes", cJSON_CreateNumber(0));
    http_reply_json(req, 200, o);
    cJSON_Delete(o);
}

static void handle_recording_stop(struct http_req *req)
{
    if (!rs.active) {
        reply_conflict(req, "no desktop recording is active");
        return;
    }
    add_waiter(req, NULL, NULL);
    begin_stop();
}

static void handle_recordings(struct http_req *req)
{
    cJSON *o = cJSON_CreateObject(), *a = cJSON_AddArrayToObject(o, "recordings");

    for (struct rec *r = rs.list; r; r = r->next)
        cJSON_AddItemToArray(a, rec_json(r));
    http_reply_json(req, 200, o);
    cJSON_Delete(o);
}

static void handle_recording_get(struct http_req *req)
{
    struct rec *r = rec_of_request(req);

    if (r)
        reply_rec(req, r);
}

/* ---- delete --------------------------------------------------------------------------------- */

struct rec_delete {
    struct http_req *req; /* referenced */
    struct rec *rec;      /* referenced, out of the list meanwhile */
    char *path;           /* copy, for the worker */
    int err;              /* errno of unlink, 0 */
};

static void delete_run(void *arg)
{
    struct rec_delete *d = arg;

    /* A large file can take a while to unlink. */
    d->err = unlink(d->path) < 0 && errno != ENOENT ? errno : 0;
}

static void delete_done(void *arg)
{
    struct rec_delete *d = arg;
    struct problem err;

    if (d->err) {
        list_insert(d->rec); /* still there: keep listing it */
        problem_set(&err, 502, PROBLEM_STREAM_ERROR, "cannot delete %s: %s", d->path,
                    strerror(d->err));
        if (http_req_alive(d->req))
            http_reply_problem(d->req, &err);
    } else if (http_req_alive(d->req)) {
        http_reply_empty(d->req, 204);
    }
    http_req_unref(d->req);
    rec_unref(d->rec);
    free(d->path);
    free(d);
}

static void handle_recording_delete(struct http_req *req)
{
    struct rec *r = rec_of_request(req);
    struct rec_delete *d;

    if (!r)
        return;
    if (r == rs.active) {
        reply_conflict(req, "stop the active desktop recording before deleting it");
        return;
    }
    /* Out of the list at once: a second delete or a get meanwhile is a 404. */
    list_remove(r);
    d = xcalloc(1, sizeof(*d));
    http_req_ref(req);
    d->req = req;
    d->rec = r; /* the list's reference moves here */
    d->path = xstrdup(r->path);
    work_submit(delete_run, delete_done, d);
}

/* ---- download ------------------------------------------------------------------------------- */

struct rec_download {
    struct http_req *req; /* we are its context until the body starts */
    char *path;
    bool active; /* the recording was in progress when asked */
    int fd;      /* -1 until opened */
    int open_err;
    uint64_t size; /* bytes to send: the size at open */
    char *range;   /* the Range header, or NULL */
};

static void download_free(struct http_req *req, void *ctx)
{
    struct rec_download *d = ctx;

    (void)req;
    if (d->fd >= 0)
        close(d->fd);
    free(d->path);
    free(d->range);
    free(d);
}

static const struct http_ctx_ops download_ctx_ops = {download_free, NULL};

static void download_open_run(void *arg)
{
    struct rec_download *d = arg;
    struct stat st;

    d->fd = open(d->path, O_RDONLY | O_CLOEXEC);
    if (d->fd < 0) {
        d->open_err = errno;
        return;
    }
    if (fstat(d->fd, &st) < 0) {
        d->open_err = errno;
        return;
    }
    d->size = (uint64_t)st.st_size;
}

static void download_open_done(void *arg)
{
    struct rec_download *d = arg;
    struct http_req *req = d->req;
    struct problem err;

    if (!http_req_alive(req))
        goto out;
    if (d->open_err == ENOENT && d->active) {
        /* ffmpeg has not created the file yet: nothing recorded so far. */
        http_reply(req, 200, "video/mp4", NULL, 0);
    } else if (d->open_err) {
        problem_set(&err, 502, PROBLEM_STREAM_ERROR, "cannot read %s: %s", d->path,
                    strerror(d->open_err));
        http_reply_problem(req, &err);
    } else {
        /* The body owns the file from here (up to the size it had now). */
        int fd = d->fd;
        uint64_t size = d->size;
        char *range = d->range;
        d->fd = -1;
        d->range = NULL;
        http_set_ctx(req, NULL, NULL);
        download_free(req, d);
        /* Byte ranges: a browser's <video> seeks with them. */
        http_reply_fd_range(req, "video/mp4", fd, size, range);
        free(range);
    }
out:
    http_req_unref(req);
}

static void handle_recording_download(struct http_req *req)
{
    struct rec *r = rec_of_request(req);
    struct rec_download *d;

    if (!r)
        return;
    d = xcalloc(1, sizeof(*d));
    d->req = req;
    d->fd = -1;
    d->path = xstrdup(r->path);
    d->active = r->status == REC_RECORDING;
    d->range = http_header(req, "range:");
    http_set_ctx(req, d, &download_ctx_ops);
    http_req_ref(req);
    work_submit(download_open_run, download_open_done, d);
}

/* ---- life cycle ----------------------------------------------------------------------------- */

void desk__rec_init(uv_loop_t *loop)
{
    memset(&rs, 0, sizeof(rs));
    rs.next_num = 1;
    uv_timer_init(loop, &rs.timer);
    uv_unref((uv_handle_t *)&rs.timer);
}

void desk__rec_shutdown(void)
{
    struct problem err;

    rs.shut = true;
    uv_timer_stop(&rs.timer);
    uv_close((uv_handle_t *)&rs.timer, NULL);
    if (rs.ffmpeg) {
        /*
         * Ask ffmpeg to finish the file as a stop does; the registry gives it
         * REC_SHUTDOWN_GRACE_MS before SIGKILL and the loop runs until then.
         * Nobody can ask for the record any more: it is only the file that counts.
         */
        if (proc_write(rs.ffmpeg, "q", 1) == 0)
            proc_set_shutdown_grace(rs.ffmpeg, REC_SHUTDOWN_GRACE_MS);
        proc_unwatch(rs.ffmpeg, &rs.w);
        proc_unref(rs.ffmpeg);
        rs.ffmpeg = NULL;
        if (rs.active) {
            rs.active->status = REC_FAILED;
            desk__rfc3339_now(rs.active->ended_at, sizeof(rs.active->ended_at));
        }
    }
    problem_set(&err, 503, PROBLEM_DESKTOP_RUNTIME_FAILED, "agentd is shutting down");
    rs.active = NULL;
    answer_waiters(NULL, &err);
}

void desk__rec_done(void)
{
    while (rs.list) {
        struct rec *r = rs.list;
        list_remove(r);
        rec_unref(r);
    }
}

/* The endpoints of this file (registered by desk_register(), desktop_routes.c). */
static const struct route routes[] = {
    {HTTP_POST, "/v1/desktop/recording/start", handle_recording_start, ROUTE_JSON_BODY},
    {HTTP_POST, "/v1/desktop/recording/stop", handle_recording_stop, 0},
    {HTTP_GET, "/v1/desktop/recordings", handle_recordings, 0},
    {HTTP_GET, "/v1/desktop/recordings/{}", handle_recording_get, 0},
    {HTTP_DELETE, "/v1/desktop/recordings/{}", handle_recording_delete, 0},
    {HTTP_GET, "/v1/desktop/recordings/{}/download", handle_recording_download, 0},
};
const struct route_table desk__record_routes = ROUTE_TABLE(routes);
