/*
 * fs_watch: GET /v1/fs/watch?path=P&recursive=bool, an agentd extension.
 *
 * Streams filesystem changes under P as Server-Sent Events until the client
 * disconnects.  One inotify instance per stream, polled by the libuv loop.
 * Directories are watched through /proc/self/fd of an fd opened with
 * fs_open(), so --fs-root confinement applies to watches too.  The initial
 * recursive walk runs on the worker pool; the stream starts with a `ready`
 * event once every watch is armed, so a client can act on it without races.
 *
 * Events: create, modify, delete, move (a rename seen from both ends) and
 * overflow (the kernel queue overflowed: rescan).  Repeated modify events
 * for the same path are coalesced while they are still queued.
 */
#include "fs_internal.h"

#include "fs_ops.h"

#include "../stream/json.h"
#include "../stream/limits.h"
#include "../stream/log.h"
#include "../stream/sse.h"
#include "../stream/work.h"
#include "../stream/xmalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#define WATCH_MASK                                                                                 \
    (IN_CREATE | IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_DELETE | IN_MOVED_FROM |              \
     IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)

struct watch_dir {
    int wd;     /* inotify watch descriptor */
    char *path; /* absolute display path of the directory */
};

struct watch {
    struct http_req *req; /* the SSE request (referenced during setup) */
    struct sse *sse;      /* NULL until the stream starts */
    struct fs_path root;  /* what the client asked to watch */
    bool recursive;
    int ifd;        /* inotify fd */
    uv_poll_t poll; /* readiness of ifd on the loop */
    bool polling;
    struct watch_dir *dirs; /* watched directories */
    size_t n_dirs, cap_dirs;
    bool limit_hit;       /* LIM_WATCH_DIRS reached */
    uint64_t seq;         /* SSE event id */
    char *last_modify;    /* path of the last modify event sent */
    uint32_t move_cookie; /* pending IN_MOVED_FROM */
    char *move_from;
    bool move_from_dir;
    bool move_internal; /* the pending move is from an agentd temporary */
    struct problem err; /* setup failure */
    int r;
    bool closed;        /* the client went away */
    struct watch *next; /* all live watches */
};

static struct watch *watches;
static unsigned n_watches;

static const char *dir_path(const struct watch *w, int wd)
{
    for (size_t i = 0; i < w->n_dirs; i++)
        if (w->dirs[i].wd == wd)
            return w->dirs[i].path;
    return NULL;
}

/* Watches the directory open as fd (display path `path`); takes no ownership of fd. */
static int watch_add_fd(struct watch *w, int fd, const char *path)
{
    char proc[64];
    int wd;

    if (w->n_dirs >= LIM_WATCH_DIRS) {
        w->limit_hit = true;
        return -ENOSPC;
    }
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
    wd = inotify_add_watch(w->ifd, proc, WATCH_MASK);
    if (wd < 0)
        return -errno;
    for (size_t i = 0; i < w->n_dirs; i++) {
        if (w->dirs[i].wd == wd) { /* already watched (a hard link or a re-add) */
            free(w->dirs[i].path);
            w->dirs[i].path = xstrdup(path);
            return 0;
        }
    }
    if (w->n_dirs == w->cap_dirs) {
        w->cap_dirs = w->cap_dirs ? w->cap_dirs * 2 : 16;
        w->dirs = xrealloc(w->dirs, w->cap_dirs * sizeof(*w->dirs));
    }
    w->dirs[w->n_dirs].wd = wd;
    w->dirs[w->n_dirs].path = xstrdup(path);
    w->n_dirs++;
    return 0;
}

static void watch_emit(struct watch *w, const char *type, const char *path, const char *from,
                       bool is_dir);

/*
 * Adds the directory open as fd (display path `path`) and, when recursive,
 * every directory below it (symlinks are not followed).  With emit, every
 * entry found is reported as created: used for a directory that appeared
 * while watching, whose contents may predate its watch.
 */
static void watch_walk(struct watch *w, int fd, const char *path, int depth, bool emit)
{
    DIR *d;
    struct dirent *de;
    int dupfd;

    if (watch_add_fd(w, fd, path) < 0 || !w->recursive || depth > 64)
        return;
    dupfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dupfd < 0)
        return;
    d = fdopendir(dupfd);
    if (!d) {
        close(dupfd);
        return;
    }
    while ((de = readdir(d)) != NULL && !w->limit_hit) {
        char child[FS_PATH_MAX];
        bool is_dir;
        int cfd;

        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (snprintf(child, sizeof(child), "%s%s%s", path, strcmp(path, "/") ? "/" : "",
                     de->d_name) >= (int)sizeof(child))
            continue;
        cfd = openat(dirfd(d), de->d_name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        is_dir = cfd >= 0;
        if (emit)
            watch_emit(w, "create", child, NULL, is_dir);
        if (is_dir) {
            watch_walk(w, cfd, child, depth + 1, emit);
            close(cfd);
        }
    }
    closedir(d);
}

static void watch_setup_run(void *arg)
{
    struct watch *w = arg;
    int fd;

    w->r = 0;
    fd = fs_open(&w->root, O_PATH | O_DIRECTORY, 0);
    if (fd == -ENOTDIR) {
        w->r = problem_set(&w->err, 409, PROBLEM_CONFLICT,
                           "path is not a directory: %s (watch its parent directory)",
                           w->root.display);
        return;
    }
    if (fd < 0) {
        w->r = fs_errno_problem(&w->err, fd, w->root.display, "watch");
        return;
    }
    w->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (w->ifd < 0) {
        w->r = problem_set(&w->err, 503, PROBLEM_STREAM_ERROR,
                           "cannot create an inotify instance: %s", strerror(errno));
        close(fd);
        return;
    }
    watch_walk(w, fd, w->root.display, 0, false);
    close(fd);
    if (w->n_dirs == 0)
        w->r = problem_set(&w->err, 503, PROBLEM_STREAM_ERROR,
                           "cannot watch %s (inotify watch limit reached?)", w->root.display);
}

static void watch_free(struct watch *w)
{
    struct watch **pp;

    for (pp = &watches; *pp; pp = &(*pp)->next) {
        if (*pp == w) {
            *pp = w->next;
            n_watches--;
            break;
        }
    }
    for (size_t i = 0; i < w->n_dirs; i++)
        free(w->dirs[i].path);
    free(w->dirs);
    free(w->last_modify);
    free(w->move_from);
    free(w);
}

static void watch_poll_closed(uv_handle_t *h)
{
    struct watch *w = h->data;

    close(w->ifd);
    watch_free(w);
}

/* The client is gone or the stream ended: stop watching. */
static void watch_stop(void *arg)
{
    struct watch *w = arg;

    if (w->closed)
        return;
    w->closed = true;
    w->sse = NULL;
    if (w->polling) {
        uv_poll_stop(&w->poll);
        uv_close((uv_handle_t *)&w->poll, watch_poll_closed);
    }
}

static void watch_emit(struct watch *w, const char *type, const char *path, const char *from,
                       bool is_dir)
{
    char id[24];
    char *text;
    size_t len;
    cJSON *o;

    if (!w->sse)
        return;
    if (strcmp(type, "modify") == 0) {
        if (w->last_modify && strcmp(w->last_modify, path) == 0)
            return;
        free(w->last_modify);
        w->last_modify = xstrdup(path);
    } else {
        free(w->last_modify);
        w->last_modify = NULL;
    }
    o = cJSON_CreateObject();
    json_add_string(o, "type", type);
    json_add_string(o, "path", path);
    if (from)
        json_add_string(o, "from", from);
    if (is_dir || strcmp(type, "delete") != 0)
        json_add_string(o, "entryType", is_dir ? "directory" : "file");
    text = json_print(o, &len);
    cJSON_Delete(o);
    snprintf(id, sizeof(id), "%" PRIu64, ++w->seq);
    if (sse_send(w->sse, type, id, text) < 0) {
        log_warn("fs", "watch client on %s fell behind; ending its stream", w->root.display);
        w->sse = NULL;
    }
    free(text);
}

static void watch_flush_move(struct watch *w)
{
    if (w->move_from) {
        watch_emit(w, "delete", w->move_from, NULL, w->move_from_dir);
        free(w->move_from);
        w->move_from = NULL;
    }
}

/* A directory moved within the tree: rewrite the paths of its watches. */
static void watch_rename_dirs(struct watch *w, const char *from, const char *to)
{
    size_t fl = strlen(from);

    for (size_t i = 0; i < w->n_dirs; i++) {
        const char *p = w->dirs[i].path;
        if (strncmp(p, from, fl) == 0 && (p[fl] == '\0' || p[fl] == '/')) {
            char *np = xasprintf("%s%s", to, p + fl);
            free(w->dirs[i].path);
            w->dirs[i].path = np;
        }
    }
}

static void watch_new_dir(struct watch *w, const char *path)
{
    struct fs_path p;
    struct problem ignored;
    int fd;

    if (!w->recursive || fs_path_resolve(path, &p, &ignored) < 0)
        return;
    fd = fs_open(&p, O_PATH | O_DIRECTORY | O_NOFOLLOW, 0);
    if (fd < 0)
        return;
    watch_walk(w, fd, path, 0, true);
    close(fd);
}

/* Names agentd itself uses while writing a file atomically: not the client's business. */
static bool internal_name(const char *name)
{
    if (strncmp(name, ".agentd-upload-", 15) == 0)
        return true;
    /* How inotify names an O_TMPFILE inode ("#1234") before it is linked. */
    if (name[0] != '#' || !name[1])
        return false;
    for (const char *p = name + 1; *p; p++)
        if (*p < '0' || *p > '9')
            return false;
    return true;
}

static void watch_handle(struct watch *w, const struct inotify_event *ev)
{
    const char *dir = dir_path(w, ev->wd);
    bool is_dir = (ev->mask & IN_ISDIR) != 0;
    char path[FS_PATH_MAX];

    if (ev->mask & IN_Q_OVERFLOW) {
        watch_flush_move(w);
        watch_emit(w, "overflow", w->root.display, NULL, true);
        return;
    }
    if (!dir)
        return;
    if (ev->len)
        snprintf(path, sizeof(path), "%s%s%s", dir, strcmp(dir, "/") ? "/" : "", ev->name);
    else
        snprintf(path, sizeof(path), "%s", dir);

    if (ev->len && internal_name(ev->name)) {
        /* A temporary renamed into place reads as the target being created. */
        if (ev->mask & IN_MOVED_FROM) {
            watch_flush_move(w);
            w->move_cookie = ev->cookie;
            w->move_from = NULL;
            w->move_internal = true;
        }
        return;
    }
    if ((ev->mask & IN_MOVED_TO) && w->move_internal && w->move_cookie == ev->cookie) {
        w->move_internal = false;
        watch_emit(w, "create", path, NULL, is_dir);
        return;
    }
    w->move_internal = false;
    if (!(ev->mask & IN_MOVED_TO))
        watch_flush_move(w);
    if (ev->mask & IN_MOVED_FROM) {
        w->move_cookie = ev->cookie;
        w->move_from = xstrdup(path);
        w->move_from_dir = is_dir;
    } else if (ev->mask & IN_MOVED_TO) {
        if (w->move_from && w->move_cookie == ev->cookie) {
            if (is_dir)
                watch_rename_dirs(w, w->move_from, path);
            watch_emit(w, "move", path, w->move_from, is_dir);
            free(w->move_from);
            w->move_from = NULL;
        } else {
            watch_flush_move(w);
            watch_emit(w, "create", path, NULL, is_dir);
            if (is_dir)
                watch_new_dir(w, path);
        }
    } else if (ev->mask & IN_CREATE) {
        watch_emit(w, "create", path, NULL, is_dir);
        if (is_dir)
            watch_new_dir(w, path);
    } else if (ev->mask & (IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB)) {
        if (ev->len || !is_dir)
            watch_emit(w, "modify", path, NULL, is_dir);
    } else if (ev->mask & IN_DELETE) {
        watch_emit(w, "delete", path, NULL, is_dir);
    } else if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) {
        if (strcmp(dir, w->root.display) == 0 && w->sse) {
            /* The watched directory itself is gone: say so and end. */
            watch_emit(w, "delete", dir, NULL, true);
            if (w->sse)
                sse_end(w->sse);
            w->sse = NULL;
        }
    }
}

static void watch_on_readable(uv_poll_t *h, int status, int events)
{
    struct watch *w = h->data;
    char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
    ssize_t n;

    (void)events;
    if (status < 0)
        return;
    for (;;) {
        n = read(w->ifd, buf, sizeof(buf));
        if (n <= 0)
            break;
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            watch_handle(w, ev);
            p += sizeof(*ev) + ev->len;
        }
    }
    watch_flush_move(w);
}

static void watch_setup_done(void *arg)
{
    struct watch *w = arg;
    struct http_req *req = w->req;
    cJSON *o;
    char *text;
    size_t len;

    w->req = NULL;
    if (!http_req_alive(req) || w->r < 0) {
        if (http_req_alive(req))
            http_reply_problem(req, &w->err);
        if (w->ifd >= 0)
            close(w->ifd);
        watch_free(w);
        http_req_unref(req);
        return;
    }
    uv_poll_init(http_loop(), &w->poll, w->ifd);
    w->poll.data = w;
    w->polling = true;
    uv_poll_start(&w->poll, UV_READABLE, watch_on_readable);
    w->sse = sse_start(req, LIM_WATCH_QUEUE_BYTES, watch_stop, w);
    o = cJSON_CreateObject();
    json_add_string(o, "path", w->root.display);
    cJSON_AddBoolToObject(o, "recursive", w->recursive);
    cJSON_AddNumberToObject(o, "directories", (double)w->n_dirs);
    cJSON_AddBoolToObject(o, "truncated", w->limit_hit);
    text = json_print(o, &len);
    cJSON_Delete(o);
    sse_send(w->sse, "ready", NULL, text);
    free(text);
    http_req_unref(req);
}

static void handle_watch(struct http_req *req)
{
    struct watch *w;
    struct problem err;
    bool recursive = false;

    if (n_watches >= LIM_WATCH_STREAMS) {
        problem_set(&err, 503, PROBLEM_STREAM_ERROR, "too many watch streams are open (at most %d)",
                    LIM_WATCH_STREAMS);
        http_reply_problem(req, &err);
        return;
    }
    w = xcalloc(1, sizeof(*w));
    w->ifd = -1;
    if (fs_path_from_query(http_query(req), "path", true, &w->root, &err) < 0 ||
        query_bool(http_query(req), "recursive", &recursive, &err) < 0) {
        free(w);
        http_reply_problem(req, &err);
        return;
    }
    w->recursive = recursive;
    w->req = req;
    w->next = watches;
    watches = w;
    n_watches++;
    http_req_ref(req);
    work_submit(watch_setup_run, watch_setup_done, w);
}

void fs_watch_close_all(void)
{
    for (struct watch *w = watches; w; w = w->next)
        if (w->sse)
            sse_end(w->sse);
}

/* The endpoint of this file (registered by fs_register(), fs_routes.c). */
static const struct route routes[] = {
    {HTTP_GET, "/v1/fs/watch", handle_watch, 0},
};
const struct route_table fs__watch_routes = ROUTE_TABLE(routes);
