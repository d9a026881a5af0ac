/*
 * fs_file: GET and PUT /v1/fs/file.
 *
 * PUT streams the body through fs_spool into an unnamed O_TMPFILE in the
 * target's directory, fsyncs it, links it under a temporary name and
 * renames that over the target: readers see the old file or the new one,
 * never a mix, and an interrupted upload leaves no file behind at all.
 *
 * GET serves the file in chunks read by the worker pool one chunk ahead of
 * the socket, with Content-Length and a single byte Range (206/416).
 */
#include "fs_internal.h"

#include "../stream/http_fd.h"
#include "../stream/json.h"
#include "../stream/limits.h"
#include "../stream/work.h"
#include "../stream/xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- upload ---------------------------------------------------------------------------------- */

struct upload {
    struct fs_path path;   /* what the client named (shown in the reply) */
    struct fs_path target; /* the file written: path with final symlinks followed */
    int dfd;               /* its directory (O_PATH), opened by the open job */
    const char *name;      /* its last component, inside target.rel */
    char tmpname[64];      /* named temporary (fallback when O_TMPFILE is unsupported) */
};

/*
 * Like open(O_CREAT), writes go through a symlink at the last component (to
 * an existing or a dangling target); with --fs-root the target must stay
 * inside the root.  Moves u->target/dfd/name to the final target.
 */
static int upload_follow_links(struct upload *u, struct problem *err)
{
    for (int hops = 0; hops < 8; hops++) {
        char text[FS_PATH_MAX], next[FS_PATH_MAX * 2];
        const char *slash;
        struct stat st;
        ssize_t n;

        if (fstatat(u->dfd, u->name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISLNK(st.st_mode))
            return 0;
        n = readlinkat(u->dfd, u->name, text, sizeof(text) - 1);
        if (n < 0)
            return fs_errno_problem(err, -errno, u->target.display, "write");
        text[n] = '\0';
        slash = strrchr(u->target.display, '/');
        if (text[0] == '/')
            snprintf(next, sizeof(next), "%s", text);
        else
            snprintf(next, sizeof(next), "%.*s/%s", (int)(slash - u->target.display),
                     u->target.display, text);
        close(u->dfd);
        u->dfd = -1;
        if (fs_path_resolve(next, &u->target, err) < 0) {
            if (err->status == 403)
                problem_set(err, 403, PROBLEM_PERMISSION_DENIED,
                            "cannot write %s: it is a symlink to %s, outside the filesystem root",
                            u->path.display, text);
            return -1;
        }
        u->dfd = fs_open_parent(&u->target, &u->name);
        if (u->dfd < 0)
            return fs_errno_problem(err, u->dfd, u->path.display, "write");
    }
    return problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                       "cannot write %s: too many levels of symbolic links", u->path.display);
}

static int upload_open(struct fs_spool *s, void *arg, struct problem *err)
{
    struct upload *u = arg;
    struct stat st;
    int r, fd;

    (void)s;
    r = fs_mkdir_parents(&u->path);
    if (r == -EEXIST)
        return problem_set(err, 409, PROBLEM_CONFLICT,
                           "cannot write %s: a parent path is a file, not a directory",
                           u->path.display);
    if (r < 0)
        return fs_errno_problem(err, r, u->path.display, "write");
    u->target = u->path;
    u->dfd = fs_open_parent(&u->target, &u->name);
    if (u->dfd == -EINVAL)
        return problem_set(err, 409, PROBLEM_CONFLICT, "cannot write %s: it is a directory",
                           u->path.display);
    if (u->dfd < 0)
        return fs_errno_problem(err, u->dfd, u->path.display, "write");
    if (upload_follow_links(u, err) < 0)
        return -1;
    if (fstatat(u->dfd, u->name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
        return problem_set(err, 409, PROBLEM_CONFLICT, "cannot write %s: it is a directory",
                           u->path.display);
    fd = openat(u->dfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
    if (fd >= 0)
        return fd;
    if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
        return fs_errno_problem(err, -errno, u->path.display, "write");
    /* No O_TMPFILE on this filesystem: a named temporary, removed on failure. */
    for (int i = 0; i < 16; i++) {
        uint64_t rnd = 0;
        if (getrandom(&rnd, sizeof(rnd), 0) < 0)
            rnd = (uint64_t)getpid() * 2654435761u + (uint64_t)i;
        snprintf(u->tmpname, sizeof(u->tmpname), ".agentd-upload-%016" PRIx64, rnd);
        fd = openat(u->dfd, u->tmpname, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
        if (fd >= 0 || errno != EEXIST)
            break;
    }
    if (fd < 0) {
        u->tmpname[0] = '\0';
        return fs_errno_problem(err, -errno, u->path.display, "write");
    }
    return fd;
}

/* Gives the unnamed file fd a temporary name in dfd (written into name). */
static int link_tmpfile(int fd, int dfd, char *name, size_t cap)
{
    char proc[64];

    for (int i = 0; i < 16; i++) {
        uint64_t rnd = 0;
        if (getrandom(&rnd, sizeof(rnd), 0) < 0)
            rnd = (uint64_t)getpid() * 40503u + (uint64_t)i;
        snprintf(name, cap, ".agentd-upload-%016" PRIx64, rnd);
        if (linkat(fd, "", dfd, name, AT_EMPTY_PATH) == 0)
            return 0;
        if (errno == EEXIST)
            continue;
        /* Without CAP_DAC_READ_SEARCH, link through /proc instead. */
        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
        if (linkat(AT_FDCWD, proc, dfd, name, AT_SYMLINK_FOLLOW) == 0)
            return 0;
        if (errno != EEXIST)
            return -errno;
    }
    return -EEXIST;
}

static int upload_commit(struct fs_spool *s, void *arg, int fd, uint64_t size, struct problem *err)
{
    struct upload *u = arg;
    struct stat st;
    char name[64];
    int r;

    (void)s;
    (void)size;
    /* Replacing a file keeps its permission bits, as truncating it would. */
    if (fstatat(u->dfd, u->name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
        fchmod(fd, st.st_mode & 07777);
    if (fsync(fd) < 0)
        return fs_errno_problem(err, -errno, u->path.display, "write");
    if (u->tmpname[0]) {
        snprintf(name, sizeof(name), "%s", u->tmpname);
    } else {
        r = link_tmpfile(fd, u->dfd, name, sizeof(name));
        if (r < 0)
            return fs_errno_problem(err, r, u->path.display, "write");
    }
    if (renameat(u->dfd, name, u->dfd, u->name) < 0) {
        r = -errno;
        unlinkat(u->dfd, name, 0);
        u->tmpname[0] = '\0';
        return fs_errno_problem(err, r, u->path.display, "write");
    }
    u->tmpname[0] = '\0';
    /* Make the rename itself durable. */
    r = openat(u->dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (r >= 0) {
        fsync(r);
        close(r);
    }
    return 0;
}

static void upload_reply(struct http_req *req, void *arg, uint64_t size)
{
    struct upload *u = arg;
    cJSON *o;

    o = cJSON_CreateObject();
    json_add_string(o, "path", u->path.display);
    cJSON_AddNumberToObject(o, "bytesWritten", (double)size);
    http_reply_json(req, 200, o);
    cJSON_Delete(o);
}

static void upload_release(void *arg)
{
    struct upload *u = arg;

    if (u->tmpname[0] && u->dfd >= 0)
        unlinkat(u->dfd, u->tmpname, 0);
    if (u->dfd >= 0)
        close(u->dfd);
    free(u);
}

static const struct fs_spool_ops upload_ops = {upload_open, upload_commit, upload_reply,
                                               upload_release};

static void handle_upload(struct http_req *req)
{
    struct upload *u = xcalloc(1, sizeof(*u));
    struct problem err;

    u->dfd = -1;
    if (fs_path_from_query(http_query(req), "path", true, &u->path, &err) < 0) {
        free(u);
        http_reply_problem(req, &err);
        return;
    }
    if (u->path.is_root) {
        free(u);
        problem_set(&err, 409, PROBLEM_CONFLICT, "cannot write %s: it is a directory",
                    u->path.display);
        http_reply_problem(req, &err);
        return;
    }
    fs_spool_start(req, &upload_ops, u);
}

/* ---- download -------------------------------------------------------------------------------- */

struct download {
    struct http_req *req; /* the request; we are its context until the body starts */
    struct fs_path path;
    char *range; /* the Range header, or NULL */
    int fd;      /* the file, -1 until opened */
    struct stat st;
    struct problem err; /* open failure */
    int r;
};

static void download_free(struct http_req *req, void *ctx)
{
    struct download *d = ctx;

    (void)req;
    if (d->fd >= 0)
        close(d->fd);
    free(d->range);
    free(d);
}

static const struct http_ctx_ops download_ctx_ops = {download_free, NULL};

/* Hands the open file to the response body, which owns it from here; d is freed. */
static void download_send(struct http_req *req, struct download *d)
{
    static const char type[] = "application/octet-stream";
    uint64_t size = (uint64_t)d->st.st_size;
    char *range = d->range;
    int fd = d->fd;

    d->fd = -1;
    d->range = NULL;
    http_set_ctx(req, NULL, NULL);
    download_free(req, d);
    if (size == 0) {
        /* /proc and friends report 0 and still have content: stream until EOF. */
        http_add_header(req, "accept-ranges", "bytes");
        http_reply_fd(req, 200, type, fd, 0, UINT64_MAX);
    } else {
        http_reply_fd_range(req, type, fd, size, range);
    }
    free(range);
}

static void download_open_run(void *arg)
{
    struct download *d = arg;

    d->r = 0;
    /* O_NONBLOCK: opening a FIFO must not hang a worker. */
    d->fd = fs_open(&d->path, O_RDONLY | O_NONBLOCK, 0);
    if (d->fd == -EISDIR || d->fd == -ENOTDIR) {
        /* fall through to the fstat check below for a clear message */
    }
    if (d->fd < 0) {
        int e = d->fd;
        d->fd = -1;
        d->r = fs_errno_problem(&d->err, e, d->path.display, "read");
        return;
    }
    if (fstat(d->fd, &d->st) < 0) {
        d->r = fs_errno_problem(&d->err, -errno, d->path.display, "read");
        return;
    }
    if (S_ISDIR(d->st.st_mode)) {
        d->r = problem_set(&d->err, 409, PROBLEM_CONFLICT,
                           "path is a directory, not a file: %s (list it with "
                           "GET /v1/fs/entries)",
                           d->path.display);
        return;
    }
    if (!S_ISREG(d->st.st_mode)) {
        d->r = problem_set(&d->err, 409, PROBLEM_CONFLICT, "path is not a regular file: %s",
                           d->path.display);
        return;
    }
    /* Reads are positional and blocking; only the open needed O_NONBLOCK. */
    fcntl(d->fd, F_SETFL, fcntl(d->fd, F_GETFL) & ~O_NONBLOCK);
}

static void download_open_done(void *arg)
{
    struct download *d = arg;
    struct http_req *req = d->req;

    if (http_req_alive(req)) {
        if (d->r < 0)
            http_reply_problem(req, &d->err);
        else
            download_send(req, d);
    }
    http_req_unref(req);
}

static void handle_download(struct http_req *req)
{
    struct download *d = xcalloc(1, sizeof(*d));
    struct problem err;

    d->fd = -1;
    d->req = req;
    if (fs_path_from_query(http_query(req), "path", true, &d->path, &err) < 0) {
        free(d);
        http_reply_problem(req, &err);
        return;
    }
    d->range = http_header(req, "range:");
    http_set_ctx(req, d, &download_ctx_ops);
    http_req_ref(req);
    work_submit(download_open_run, download_open_done, d);
}

/* The endpoints of this file (registered by fs_register(), fs_routes.c). */
static const struct route routes[] = {
    {HTTP_GET, "/v1/fs/file", handle_download, 0},
    {HTTP_PUT, "/v1/fs/file", handle_upload, ROUTE_STREAM_BODY},
};
const struct route_table fs__file_routes = ROUTE_TABLE(routes);
