/*
 * fs_tar: POST /v1/fs/upload-batch, a tar archive extracted into a directory.
 *
 * The body is spooled (fs_spool) into an anonymous temporary file, so any
 * archive size works with bounded memory.  Extraction then makes two passes
 * with libarchive on the worker pool: the first validates every entry (names
 * relative and without "..", supported types, nothing written through a
 * symlink the archive itself creates, a readable archive to the end) and
 * changes nothing on disk; only when it passes does the second pass create
 * the destination and write the entries with libarchive's secure-extraction
 * flags (no "..", no writing through existing symlinks).
 * gzip, bzip2, xz and zstd compressed archives are accepted as well.
 */
#include "fs_internal.h"

#include "fs_archive.h"

#include "../stream/json.h"
#include "../stream/limits.h"
#include "../stream/xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TAR_BLOCK (64 * 1024)

/* A set of entry names (open addressing, FNV-1a): the symlinks seen in pass 1. */
struct nameset {
    char **slots; /* NULL or an owned canonical name */
    size_t cap;   /* a power of two, or 0 */
    size_t n;     /* names stored */
};

struct batch {
    struct fs_path dest;  /* destination directory (empty display: validation only) */
    int dest_fd;          /* pass 1: the destination when it exists already, else -1 */
    struct nameset dirs;  /* pass 1: parents checked on disk (real directories or absent) */
    cJSON *paths;         /* reported paths (first LIM_TAR_REPORTED_PATHS) */
    size_t count;         /* entries extracted */
    struct nameset links; /* canonical names of the symlink entries seen in pass 1 */
};

static uint64_t name_hash(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;

    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
    return h;
}

/* The slot for p[0..n): where it is, or the empty slot where it would go. */
static char **nameset_slot(const struct nameset *s, const char *p, size_t n)
{
    size_t i = (size_t)name_hash(p, n) & (s->cap - 1);

    while (s->slots[i] && (strncmp(s->slots[i], p, n) != 0 || s->slots[i][n] != '\0'))
        i = (i + 1) & (s->cap - 1);
    return &s->slots[i];
}

static bool nameset_has(const struct nameset *s, const char *p, size_t n)
{
    return s->cap && *nameset_slot(s, p, n) != NULL;
}

static void nameset_add(struct nameset *s, const char *name)
{
    char **slot;

    if ((s->n + 1) * 2 > s->cap) {
        struct nameset grown = {xcalloc(s->cap ? s->cap * 2 : 64, sizeof(char *)),
                                s->cap ? s->cap * 2 : 64, s->n};
        for (size_t i = 0; i < s->cap; i++)
            if (s->slots[i])
                *nameset_slot(&grown, s->slots[i], strlen(s->slots[i])) = s->slots[i];
        free(s->slots);
        *s = grown;
    }
    slot = nameset_slot(s, name, strlen(name));
    if (!*slot) {
        *slot = xstrdup(name);
        s->n++;
    }
}

static void nameset_done(struct nameset *s)
{
    for (size_t i = 0; i < s->cap; i++)
        free(s->slots[i]);
    free(s->slots);
    memset(s, 0, sizeof(*s));
}

static int spool_tmpfile(struct problem *err)
{
    const char *dir = getenv("TMPDIR");
    char tmpl[4096];
    int fd;

    if (!dir || !*dir)
        dir = "/tmp";
    fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0)
        return fd;
    /* No O_TMPFILE: a named file, unlinked at once so nothing can be left behind. */
    snprintf(tmpl, sizeof(tmpl), "%s/agentd-batch-XXXXXX", dir);
    fd = mkostemp(tmpl, O_CLOEXEC);
    if (fd < 0)
        return problem_set(err, 507, PROBLEM_STREAM_ERROR, "cannot create a spool file in %s: %s",
                           dir, strerror(errno));
    unlink(tmpl);
    return fd;
}

static int batch_open(struct fs_spool *s, void *arg, struct problem *err)
{
    (void)s;
    (void)arg;
    return spool_tmpfile(err);
}

/* Strips "./" prefixes; returns NULL when nothing is left (the archive root). */
static const char *entry_name(const char *raw)
{
    while (raw[0] == '.' && raw[1] == '/')
        raw += 2;
    while (raw[0] == '/' && raw[1] == '/')
        raw++;
    if (raw[0] == '\0' || strcmp(raw, ".") == 0)
        return NULL;
    return raw;
}

static bool name_ok(const char *name)
{
    return name[0] != '/' && !fs_path_has_dotdot(name) && strlen(name) <= LIM_PATH_BYTES;
}

/* Set by batch_commit before either pass runs (worker thread, read-only afterwards). */
static const struct fs_archive_api *ar;

static struct archive *tar_reader(int fd)
{
    struct archive *a = ar->archive_read_new();

    ar->archive_read_support_format_tar(a);
    ar->archive_read_support_format_gnutar(a);
    ar->archive_read_support_filter_all(a);
    lseek(fd, 0, SEEK_SET);
    if (ar->archive_read_open_fd(a, fd, TAR_BLOCK) != ARCHIVE_OK)
        return a; /* the caller sees the error on the first header */
    return a;
}

/*
 * The canonical spelling of an entry name: empty and "." components dropped
 * ("d//l/./x/" is "d/l/x"), so that no spelling slips past the symlink check.
 * Returns its length (out has room for strlen(name) + 1).
 */
static size_t canon_name(const char *name, char *out)
{
    size_t o = 0;

    for (const char *p = name; *p;) {
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n && !(n == 1 && p[0] == '.')) {
            if (o)
                out[o++] = '/';
            memcpy(out + o, p, n);
            o += n;
        }
        p += n;
        if (*p == '/')
            p++;
    }
    out[o] = '\0';
    return o;
}

/*
 * Pass 1, for a destination that exists: is a parent directory of the
 * canonical name a symlink already on disk?  libarchive would replace it with
 * a real directory (ARCHIVE_EXTRACT_UNLINK) or refuse mid-way; refusing here
 * leaves nothing created.  Each parent is looked at once per archive.
 * Returns the length of that symlink's name, or 0.
 */
static size_t under_disk_link(struct batch *b, char *name, size_t n)
{
    struct stat st;

    if (b->dest_fd < 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (name[i] != '/' || nameset_has(&b->dirs, name, i))
            continue;
        name[i] = '\0';
        int r = fstatat(b->dest_fd, name, &st, AT_SYMLINK_NOFOLLOW);
        bool link = r == 0 && S_ISLNK(st.st_mode);
        if (!link)
            nameset_add(&b->dirs, name); /* a directory, a file (libarchive's 409), or absent */
        name[i] = '/';
        if (link)
            return i;
        if (r < 0)
            return 0; /* absent: nothing below it exists either */
    }
    return 0;
}

/*
 * Is the canonical name beneath a symlink entry seen earlier?  One set lookup
 * per parent directory of the name, so validation stays linear in the archive.
 * Returns the length of that symlink's name (a prefix of name), or 0.
 */
static size_t under_link(const struct batch *b, const char *name, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (name[i] == '/' && nameset_has(&b->links, name, i))
            return i;
    return 0;
}

/* Pass 1: reads the whole archive, writes nothing. Returns 0 or -1 with err. */
static int batch_validate(struct batch *b, int fd, struct problem *err)
{
    struct archive *a = tar_reader(fd);
    struct archive_entry *e;
    size_t entries = 0;
    uint64_t total = 0;
    char *canon = xmalloc(LIM_PATH_BYTES + 1);
    int r, ret = 0;

    while ((r = ar->archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
        const char *raw = ar->archive_entry_pathname(e);
        const char *name = raw ? entry_name(raw) : NULL;
        mode_t type = ar->archive_entry_filetype(e);
        const char *hl = ar->archive_entry_hardlink(e);
        size_t canon_len = 0, link;

        if (++entries > LIM_TAR_ENTRIES) {
            ret = problem_set(err, 413, PROBLEM_INVALID_REQUEST,
                              "archive has more than %d entries; upload it in parts; nothing "
                              "was extracted",
                              LIM_TAR_ENTRIES);
            goto out;
        }
        if (type == AE_IFREG && ar->archive_entry_size(e) > 0 &&
            (total += (uint64_t)ar->archive_entry_size(e)) > LIM_TAR_TOTAL_BYTES) {
            ret = problem_set(err, 413, PROBLEM_INVALID_REQUEST,
                              "archive's files hold more than %llu bytes in all; upload it in "
                              "parts; nothing was extracted",
                              (unsigned long long)LIM_TAR_TOTAL_BYTES);
            goto out;
        }
        if (!raw) {
            ret = problem_set(err, 400, PROBLEM_INVALID_REQUEST, "archive entry %zu has no name",
                              entries);
            goto out;
        }
        if (name && !name_ok(name)) {
            ret = problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                              "invalid relative path: %s (archive entries must be relative "
                              "and must not contain `..`); nothing was extracted",
                              raw);
            goto out;
        }
        if (hl && (!entry_name(hl) || !name_ok(entry_name(hl)))) {
            ret = problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                              "invalid hard link target: %s -> %s; nothing was extracted", raw, hl);
            goto out;
        }
        if (!hl && type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK) {
            ret = problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                              "archive entry %s is a device, FIFO or socket, which is not "
                              "extracted; nothing was extracted",
                              raw);
            goto out;
        }
        if (hl) {
            /* The target is named inside the destination too: never through a symlink. */
            size_t hl_len = canon_name(entry_name(hl), canon);
            if ((link = under_link(b, canon, hl_len)) != 0) {
                ret = problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                                  "hard link %s -> %s goes through the symlink %.*s the archive "
                                  "creates; nothing was extracted",
                                  raw, hl, (int)link, canon);
                goto out;
            }
            if ((link = under_disk_link(b, canon, hl_len)) != 0) {
                ret = problem_set(err, 409, PROBLEM_CONFLICT,
                                  "hard link %s -> %s goes through %s/%.*s, a symlink already on "
                                  "disk; remove it or extract elsewhere; nothing was extracted",
                                  raw, hl, b->dest.display, (int)link, canon);
                goto out;
            }
        }
        if (name) {
            canon_len = canon_name(name, canon);
            if ((link = under_link(b, canon, canon_len)) != 0) {
                ret = problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                                  "archive entry %s would be written through the symlink %.*s it "
                                  "creates; nothing was extracted",
                                  raw, (int)link, canon);
                goto out;
            }
            if ((link = under_disk_link(b, canon, canon_len)) != 0) {
                ret = problem_set(err, 409, PROBLEM_CONFLICT,
                                  "archive entry %s would be written through %s/%.*s, a symlink "
                                  "already on disk; remove it or extract elsewhere; nothing was "
                                  "extracted",
                                  raw, b->dest.display, (int)link, canon);
                goto out;
            }
        }
        if (name && canon_len && type == AE_IFLNK && !hl)
            nameset_add(&b->links, canon);
        if (ar->archive_read_data_skip(a) != ARCHIVE_OK) {
            r = ARCHIVE_FATAL;
            break;
        }
    }
    if (r != ARCHIVE_EOF)
        ret = problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                          "not a valid tar archive (%s); nothing was extracted",
                          ar->archive_error_string(a) ? ar->archive_error_string(a) : "read error");
out:
    free(canon);
    ar->archive_read_free(a);
    return ret;
}

int fs_tar_check(int fd, struct problem *err)
{
    struct batch b = {.dest_fd = -1};
    int r;

    if (!(ar = fs_archive(err)))
        return -1;
    r = batch_validate(&b, fd, err);
    nameset_done(&b.links);
    return r;
}

/* Canonical absolute path of the open directory fd (for libarchive's path-based API). */
static int fd_realpath(int fd, char *dst, size_t cap)
{
    char proc[64];
    ssize_t n;

    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
    n = readlink(proc, dst, cap - 1);
    if (n < 0)
        return -errno;
    if ((size_t)n >= cap - 1)
        return -ENAMETOOLONG;
    dst[n] = '\0';
    return 0;
}

/* An errno that means the data did not reach the disk. */
static bool disk_errno(int e)
{
    return e == ENOSPC || e == EDQUOT || e == EFBIG || e == EIO || e == EROFS;
}

static int copy_data(struct archive *in, struct archive *out)
{
    const void *buf;
    size_t size;
    la_int64_t off;
    int r;

    for (;;) {
        r = ar->archive_read_data_block(in, &buf, &size, &off);
        if (r == ARCHIVE_EOF)
            return ARCHIVE_OK;
        if (r < ARCHIVE_WARN)
            return r;
        /* libarchive reports a failed write(2) (ENOSPC...) as ARCHIVE_WARN: any warning here
         * means bytes are missing from the file. */
        if (ar->archive_write_data_block(out, buf, size, off) != ARCHIVE_OK)
            return ARCHIVE_FATAL;
    }
}

/* Pass 2: extracts into the (now created) destination. */
static int batch_extract(struct batch *b, int fd, struct problem *err)
{
    char root[FS_PATH_MAX], full[FS_PATH_MAX * 2], link[FS_PATH_MAX * 2];
    char tmp[FS_PATH_MAX * 2 + 64];
    struct archive *a, *w;
    struct archive_entry *e;
    int dfd, r, ret = 0;
    bool slash_end = b->dest.display[strlen(b->dest.display) - 1] == '/';

    r = fs_mkdir_all(&b->dest);
    if (r == -EEXIST)
        return problem_set(err, 409, PROBLEM_CONFLICT,
                           "destination %s exists and is not a directory", b->dest.display);
    if (r < 0)
        return fs_errno_problem(err, r, b->dest.display, "upload-batch");
    dfd = fs_open(&b->dest, O_PATH | O_DIRECTORY, 0);
    if (dfd < 0)
        return fs_errno_problem(err, dfd, b->dest.display, "upload-batch");
    r = fd_realpath(dfd, root, sizeof(root));
    close(dfd);
    if (r < 0)
        return fs_errno_problem(err, r, b->dest.display, "upload-batch");

    tmp[0] = '\0';
    a = tar_reader(fd);
    w = ar->archive_write_disk_new();
    ar->archive_write_disk_set_options(w, ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                                              ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                                              ARCHIVE_EXTRACT_UNLINK);
    while ((r = ar->archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
        const char *raw = entry_name(ar->archive_entry_pathname(e));
        const char *hl = ar->archive_entry_hardlink(e);
        char shown[FS_PATH_MAX * 2], name[FS_PATH_MAX];

        if (!raw)
            continue;
        /* Copy: setting the pathname below frees the string raw points into. */
        snprintf(name, sizeof(name), "%s", raw);
        snprintf(full, sizeof(full), "%s/%s", root, name);
        /*
         * A regular file is written under a temporary name beside its target and renamed
         * over it only once complete (as single uploads are), so a failed entry (a full
         * disk) leaves the previous file or none, never a partial one.  (libarchive's own
         * SAFE_WRITES renames even a failed entry into place when the writer is closed.)
         */
        tmp[0] = '\0';
        if (!hl && ar->archive_entry_filetype(e) == AE_IFREG) {
            const char *slash = strrchr(full, '/');
            snprintf(tmp, sizeof(tmp), "%.*s/.agentd-tar-%zu-%lx", (int)(slash - full), full,
                     b->count, (unsigned long)getpid());
        }
        if (hl) {
            snprintf(link, sizeof(link), "%s/%s", root, entry_name(hl));
            ar->archive_entry_set_hardlink(e, link);
        }
        ar->archive_entry_set_pathname(e, tmp[0] ? tmp : full);
        /* Ownership is never taken from the archive. */
        ar->archive_entry_set_uid(e, getuid());
        ar->archive_entry_set_gid(e, getgid());
        r = ar->archive_write_header(w, e);
        if (r == ARCHIVE_OK || r == ARCHIVE_WARN)
            r = ar->archive_entry_size(e) > 0 ? copy_data(a, w) : ARCHIVE_OK;
        if (r == ARCHIVE_OK || r == ARCHIVE_WARN)
            r = ar->archive_write_finish_entry(w);
        /* A warning that comes from the disk (a truncate, a rename or a close that failed) is a
         * failure too; others (an mtime that cannot be set) are not. */
        if (r == ARCHIVE_WARN && disk_errno(ar->archive_errno(w)))
            r = ARCHIVE_FAILED;
        if (r >= ARCHIVE_WARN && tmp[0] && rename(tmp, full) < 0) {
            int e2 = errno;
            unlink(tmp);
            tmp[0] = '\0';
            ret = e2 == EISDIR || e2 == ENOTEMPTY || e2 == EEXIST
                      ? problem_set(err, 409, PROBLEM_CONFLICT,
                                    "cannot extract %s: a directory is in the way (%zu entries "
                                    "were extracted before it)",
                                    name, b->count)
                      : fs_errno_problem(err, -e2, name, "upload-batch");
            break;
        }
        if (r < ARCHIVE_WARN) {
            int e2 = ar->archive_errno(w);
            if (e2 == ENOSPC || e2 == EDQUOT || e2 == EFBIG)
                ret = problem_set(err, 507, PROBLEM_STREAM_ERROR,
                                  "no space left to extract %s (%s); %zu entries were extracted "
                                  "before it, and no partial file was left",
                                  name, strerror(e2), b->count);
            else
                ret = problem_set(
                    err, 409, PROBLEM_CONFLICT,
                    "cannot extract %s: %s (%zu entries were extracted before it)", name,
                    ar->archive_error_string(w) ? ar->archive_error_string(w) : "write error",
                    b->count);
            break;
        }
        tmp[0] = '\0';
        b->count++;
        if (cJSON_GetArraySize(b->paths) < LIM_TAR_REPORTED_PATHS) {
            snprintf(shown, sizeof(shown), "%s%s%s", b->dest.display, slash_end ? "" : "/", name);
            size_t n = strlen(shown);
            while (n > 1 && shown[n - 1] == '/')
                shown[--n] = '\0';
            cJSON_AddItemToArray(b->paths, cJSON_CreateString(shown));
        }
    }
    /* Deferred fixups (directory times and modes) happen here: their disk errors count too. */
    if (ar->archive_write_close(w) != ARCHIVE_OK && ret == 0 && disk_errno(ar->archive_errno(w)))
        ret = problem_set(err, 507, PROBLEM_STREAM_ERROR,
                          "the archive was extracted but finishing it failed: %s",
                          strerror(ar->archive_errno(w)));
    /* A failed entry's temporary (the writer finished it on close): gone. */
    if (tmp[0])
        unlink(tmp);
    ar->archive_write_free(w);
    ar->archive_read_free(a);
    return ret;
}

static int batch_commit(struct fs_spool *s, void *arg, int fd, uint64_t size, struct problem *err)
{
    struct batch *b = arg;
    int r;

    (void)s;
    if (size > 0 && !(ar = fs_archive(err)))
        return -1;
    if (size > 0) {
        b->dest_fd = fs_open(&b->dest, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
        r = batch_validate(b, fd, err);
        if (b->dest_fd >= 0)
            close(b->dest_fd);
        b->dest_fd = -1;
        nameset_done(&b->dirs);
        if (r < 0)
            return -1;
    }
    if (size == 0) {
        r = fs_mkdir_all(&b->dest);
        if (r == -EEXIST)
            return problem_set(err, 409, PROBLEM_CONFLICT,
                               "destination %s exists and is not a directory", b->dest.display);
        return r < 0 ? fs_errno_problem(err, r, b->dest.display, "upload-batch") : 0;
    }
    return batch_extract(b, fd, err);
}

static void batch_reply(struct http_req *req, void *arg, uint64_t size)
{
    struct batch *b = arg;
    cJSON *o;

    (void)size;
    o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "paths", b->paths);
    b->paths = NULL;
    cJSON_AddBoolToObject(o, "truncated", b->count > LIM_TAR_REPORTED_PATHS);
    http_reply_json(req, 200, o);
    cJSON_Delete(o);
}

static void batch_release(void *arg)
{
    struct batch *b = arg;

    cJSON_Delete(b->paths);
    nameset_done(&b->links);
    free(b);
}

static const struct fs_spool_ops batch_ops = {batch_open, batch_commit, batch_reply, batch_release};

static void handle_upload_batch(struct http_req *req)
{
    struct batch *b;
    struct problem err;
    char *ct = http_header(req, "content-type:");
    bool ok = ct && strncmp(ct, "application/x-tar", 17) == 0 &&
              (ct[17] == '\0' || ct[17] == ';' || ct[17] == ' ');

    free(ct);
    if (!ok) {
        problem_set(&err, 415, PROBLEM_INVALID_REQUEST, "content-type must be application/x-tar");
        http_reply_problem(req, &err);
        return;
    }
    b = xcalloc(1, sizeof(*b));
    b->dest_fd = -1;
    if (fs_path_from_query(http_query(req), "path", false, &b->dest, &err) < 0) {
        free(b);
        http_reply_problem(req, &err);
        return;
    }
    b->paths = cJSON_CreateArray();
    fs_spool_start(req, &batch_ops, b);
}

/* The endpoint of this file (registered by fs_register(), fs_routes.c). */
static const struct route routes[] = {
    {HTTP_POST, "/v1/fs/upload-batch", handle_upload_batch, ROUTE_STREAM_BODY},
};
const struct route_table fs__tar_routes = ROUTE_TABLE(routes);
