/*
 * fs_ops: the synchronous filesystem operations behind /v1/fs.  They run on
 * the libuv worker pool (never on the loop), take resolved paths, and
 * produce either a cJSON reply or a problem.  All access is fd-relative
 * through fs_path, so --fs-root confinement holds for every call here.
 */
#include "fs_ops.h"

#include "../stream/json.h"
#include "../stream/limits.h"
#include "../stream/xmalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void fs_format_time(const struct timespec *ts, char *dst, size_t cap)
{
    struct tm tm;
    size_t n;
    time_t sec = ts->tv_sec;

    gmtime_r(&sec, &tm);
    n = strftime(dst, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    if (ts->tv_nsec)
        n += (size_t)snprintf(dst + n, cap - n, ".%09ld", ts->tv_nsec);
    snprintf(dst + n, cap - n, "+00:00");
}

static const char *entry_type(mode_t mode)
{
    return S_ISDIR(mode) ? "directory" : "file";
}

static void add_stat_fields(cJSON *o, const struct stat *st)
{
    char when[64];

    json_add_string(o, "entryType", entry_type(st->st_mode));
    cJSON_AddNumberToObject(o, "size", (double)st->st_size);
    fs_format_time(&st->st_mtim, when, sizeof(when));
    json_add_string(o, "modified", when);
}

int fs_op_stat(const struct fs_path *p, cJSON **ret, struct problem *err)
{
    struct stat st;
    int fd = fs_open(p, O_PATH, 0);
    cJSON *o;

    if (fd < 0)
        return fs_errno_problem(err, fd, p->display, "stat");
    if (fstat(fd, &st) < 0) {
        int e = -errno;
        close(fd);
        return fs_errno_problem(err, e, p->display, "stat");
    }
    close(fd);
    o = cJSON_CreateObject();
    json_add_string(o, "path", p->display);
    add_stat_fields(o, &st);
    *ret = o;
    return 0;
}

int fs_op_entries(const struct fs_path *p, cJSON **ret, struct problem *err)
{
    int fd = fs_open(p, O_RDONLY | O_DIRECTORY, 0);
    DIR *d;
    struct dirent *de;
    cJSON *arr;
    size_t count = 0;
    bool slash_end;

    if (fd == -ENOTDIR)
        return problem_set(err, 409, PROBLEM_CONFLICT, "path is not a directory: %s", p->display);
    if (fd < 0)
        return fs_errno_problem(err, fd, p->display, "list");
    d = fdopendir(fd);
    if (!d) {
        int e = -errno;
        close(fd);
        return fs_errno_problem(err, e, p->display, "list");
    }
    slash_end = p->display[strlen(p->display) - 1] == '/';
    arr = cJSON_CreateArray();
    while ((de = readdir(d)) != NULL) {
        struct stat st;
        char child[FS_PATH_MAX];
        cJSON *o;

        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        /* Symlinks are described, not followed (as the reference does). */
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue; /* vanished between readdir and stat */
        if (++count > LIM_DIR_ENTRIES) {
            closedir(d);
            cJSON_Delete(arr);
            return problem_set(err, 413, PROBLEM_INVALID_REQUEST,
                               "directory %s has more than %d entries", p->display,
                               LIM_DIR_ENTRIES);
        }
        if (snprintf(child, sizeof(child), "%s%s%s", p->display, slash_end ? "" : "/",
                     de->d_name) >= (int)sizeof(child))
            continue; /* cannot be named by a client either */
        o = cJSON_CreateObject();
        json_add_string(o, "name", de->d_name);
        json_add_string(o, "path", child);
        add_stat_fields(o, &st);
        cJSON_AddItemToArray(arr, o);
    }
    closedir(d);
    *ret = arr;
    return 0;
}

static cJSON *path_reply(const char *display)
{
    cJSON *o = cJSON_CreateObject();

    json_add_string(o, "path", display);
    return o;
}

int fs_op_mkdir(const struct fs_path *p, cJSON **ret, struct problem *err)
{
    int r = fs_mkdir_all(p);

    if (r == -EEXIST)
        return problem_set(err, 409, PROBLEM_CONFLICT,
                           "cannot create directory %s: a file is in the way", p->display);
    if (r < 0)
        return fs_errno_problem(err, r, p->display, "mkdir");
    *ret = path_reply(p->display);
    return 0;
}

/* rm -rf of name inside dfd, fd-relative so a swapped symlink cannot redirect it. */
static int remove_tree(int dfd, const char *name, int depth)
{
    int fd, r = 0;
    DIR *d;
    struct dirent *de;

    if (unlinkat(dfd, name, 0) == 0)
        return 0;
    if (errno != EISDIR && errno != EPERM)
        return -errno;
    if (depth > 256)
        return -ELOOP;
    fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    d = fdopendir(fd);
    if (!d) {
        r = -errno;
        close(fd);
        return r;
    }
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        r = remove_tree(dirfd(d), de->d_name, depth + 1);
        if (r < 0)
            break;
    }
    closedir(d);
    if (r < 0)
        return r;
    return unlinkat(dfd, name, AT_REMOVEDIR) < 0 ? -errno : 0;
}

int fs_remove_path(const struct fs_path *p, bool recursive)
{
    const char *name;
    struct stat st;
    int dfd, r;

    dfd = fs_open_parent(p, &name);
    if (dfd < 0)
        return dfd;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        r = -errno;
    } else if (!S_ISDIR(st.st_mode)) {
        /* Files and symlinks (even to directories): remove the entry itself. */
        r = unlinkat(dfd, name, 0) < 0 ? -errno : 0;
    } else if (recursive) {
        r = remove_tree(dfd, name, 0);
    } else {
        r = unlinkat(dfd, name, AT_REMOVEDIR) < 0 ? -errno : 0;
        if (r == -EEXIST)
            r = -ENOTEMPTY;
    }
    close(dfd);
    return r;
}

int fs_op_delete(const struct fs_path *p, bool recursive, cJSON **ret, struct problem *err)
{
    int r;

    if (p->is_root)
        return problem_set(err, 403, PROBLEM_PERMISSION_DENIED,
                           "refusing to delete %s (the filesystem root)", p->display);
    if (strcmp(p->display, fs_path_home()) == 0)
        return problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                           "refusing to delete %s (the home directory); name an entry inside it",
                           p->display);
    r = fs_remove_path(p, recursive);
    if (r == -EINVAL)
        return problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                           "path %s must name an entry (not end in `.` or `..`)", p->display);
    if (r < 0)
        return fs_errno_problem(err, r, p->display, "delete");
    *ret = path_reply(p->display);
    return 0;
}

int fs_op_move(const struct fs_path *from, const struct fs_path *to, bool overwrite, cJSON **ret,
               struct problem *err)
{
    const char *fname, *tname;
    struct stat fst, tst;
    int fdir = -1, tdir = -1, r;
    bool to_exists;

    if (from->is_root || to->is_root)
        return problem_set(err, 400, PROBLEM_INVALID_REQUEST, "cannot move the filesystem root");
    fdir = fs_open_parent(from, &fname);
    if (fdir < 0) {
        r = fdir;
        goto fail_from;
    }
    if (fstatat(fdir, fname, &fst, AT_SYMLINK_NOFOLLOW) < 0) {
        r = -errno;
        goto fail_from;
    }
    r = fs_mkdir_parents(to);
    if (r == -EEXIST)
        r = -ENOTDIR;
    if (r < 0)
        goto fail_to;
    tdir = fs_open_parent(to, &tname);
    if (tdir < 0) {
        r = tdir;
        goto fail_to;
    }
    to_exists = fstatat(tdir, tname, &tst, AT_SYMLINK_NOFOLLOW) == 0;
    /* The same entry under two names (or the same name): nothing to do, never a deletion. */
    if (fs_path_same(from, to) ||
        (to_exists && tst.st_dev == fst.st_dev && tst.st_ino == fst.st_ino)) {
        r = 0;
        goto done;
    }
    if (to_exists && !overwrite) {
        r = problem_set(err, 409, PROBLEM_CONFLICT,
                        "destination already exists: %s (pass overwrite: true to replace it)",
                        to->display);
        goto out;
    }
    if (!to_exists) {
        /* RENAME_NOREPLACE closes the race with a concurrent creator. */
        r = renameat2(fdir, fname, tdir, tname, RENAME_NOREPLACE) < 0 ? -errno : 0;
        if (r == -EEXIST && !overwrite) {
            r = problem_set(err, 409, PROBLEM_CONFLICT, "destination already exists: %s",
                            to->display);
            goto out;
        }
        if (r != -EEXIST && r != -EINVAL && r != -ENOSYS)
            goto checked;
    }
    r = renameat(fdir, fname, tdir, tname) < 0 ? -errno : 0;
    if ((r == -ENOTEMPTY || r == -EEXIST || r == -EISDIR || r == -ENOTDIR) && to_exists) {
        /* overwrite:true replaces whatever is there, directories included. */
        r = fs_remove_path(to, true);
        if (r == 0)
            r = renameat(fdir, fname, tdir, tname) < 0 ? -errno : 0;
    }
checked:
    if (r == -EINVAL) {
        r = problem_set(err, 400, PROBLEM_INVALID_REQUEST, "cannot move %s into itself (%s)",
                        from->display, to->display);
        goto out;
    }
    if (r == -EXDEV) {
        r = problem_set(err, 409, PROBLEM_CONFLICT,
                        "cannot move %s to %s: they are on different filesystems", from->display,
                        to->display);
        goto out;
    }
    if (r < 0)
        goto fail_to;
done:
    *ret = cJSON_CreateObject();
    json_add_string(*ret, "from", from->display);
    json_add_string(*ret, "to", to->display);
    r = 0;
    goto out;
fail_from:
    r = fs_errno_problem(err, r, from->display, "move");
    goto out;
fail_to:
    r = fs_errno_problem(err, r, to->display, "move");
out:
    if (fdir >= 0)
        close(fdir);
    if (tdir >= 0)
        close(tdir);
    return r;
}

int fs_move_request_decode(const char *body, size_t len, struct fs_move_request *out,
                           struct problem *err)
{
    cJSON *root = NULL;
    const char *from = NULL, *to = NULL;
    bool overwrite = false;
    int r;

    if (json_parse_object(body, len, &root, err) < 0)
        return -1;
    r = json_get_string(root, "from", true, &from, err);
    if (r >= 0)
        r = json_get_string(root, "to", true, &to, err);
    if (r >= 0)
        r = json_get_bool(root, "overwrite", false, &overwrite, err);
    if (r < 0) {
        cJSON_Delete(root);
        return -1;
    }
    if (strlen(from) > LIM_PATH_BYTES || strlen(to) > LIM_PATH_BYTES) {
        cJSON_Delete(root);
        return problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                           "`from` and `to` are limited to %d bytes", LIM_PATH_BYTES);
    }
    out->from = xstrdup(from);
    out->to = xstrdup(to);
    out->overwrite = overwrite;
    cJSON_Delete(root);
    return 0;
}

void fs_move_request_done(struct fs_move_request *m)
{
    free(m->from);
    free(m->to);
    m->from = NULL;
    m->to = NULL;
}
