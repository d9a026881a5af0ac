/*
 * fs_path: client path -> (base fd, relative path), and the confinement
 * beneath --fs-root.  Everything that touches the filesystem for a client
 * goes through fs_open()/fs_open_parent(), so the root check lives in one
 * place and the kernel (openat2 RESOLVE_BENEATH) enforces it, symlinks and
 * races included.
 */
#include "fs_path.h"

#include "../stream/query.h"
#include "../stream/xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static char *home_dir; /* $HOME without trailing slash ("/" stays "/") */
static char *root_abs; /* canonical --fs-root, or NULL */
static int root_fd = -1;
static bool home_outside_root; /* relative paths then resolve against the root instead */

static char *strip_trailing_slashes(char *s)
{
    size_t n = strlen(s);

    while (n > 1 && s[n - 1] == '/')
        s[--n] = '\0';
    return s;
}

int fs_path_setup(const char *home, const char *root)
{
    char *canon;

    fs_path_teardown();
    home_dir = strip_trailing_slashes(xstrdup(home && *home == '/' ? home : "/"));
    if (!root)
        return 0;
    canon = realpath(root, NULL);
    if (!canon)
        return -errno;
    root_fd = open(canon, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0) {
        int e = errno;
        free(canon);
        return -e;
    }
    root_abs = canon;
    {
        char *h = realpath(home_dir, NULL);
        const char *hp = h ? h : home_dir;
        size_t rl = strlen(canon);
        home_outside_root = strcmp(canon, "/") != 0 &&
                            (strncmp(hp, canon, rl) != 0 || (hp[rl] != '\0' && hp[rl] != '/'));
        free(h);
    }
    return 0;
}

void fs_path_teardown(void)
{
    free(home_dir);
    home_dir = NULL;
    free(root_abs);
    root_abs = NULL;
    if (root_fd >= 0)
        close(root_fd);
    root_fd = -1;
    home_outside_root = false;
}

const char *fs_path_home(void)
{
    return home_dir ? home_dir : "/";
}

bool fs_path_has_dotdot(const char *p)
{
    while (*p) {
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return true;
        p += n;
        while (*p == '/')
            p++;
    }
    return false;
}

/*
 * Lexically normalises the absolute path in (".", "..", "//") into out.
 * Returns 0 or -ENAMETOOLONG.
 */
static int normalise(const char *in, char *out, size_t cap)
{
    size_t len = 0;
    const char *p = in;

    out[0] = '\0';
    while (*p) {
        while (*p == '/')
            p++;
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == 0)
            break;
        if (n == 1 && p[0] == '.') {
            /* skip */
        } else if (n == 2 && p[0] == '.' && p[1] == '.') {
            /* As in the kernel, ".." of "/" is "/". */
            while (len > 0 && out[len - 1] != '/')
                len--;
            if (len > 0)
                len--; /* the slash */
            out[len] = '\0';
        } else {
            if (len + 1 + n + 1 > cap)
                return -ENAMETOOLONG;
            out[len++] = '/';
            memcpy(out + len, p, n);
            len += n;
            out[len] = '\0';
        }
        p += n;
    }
    if (len == 0) {
        out[0] = '/';
        out[1] = '\0';
    }
    return 0;
}

int fs_path_resolve(const char *input, struct fs_path *out, struct problem *err)
{
    char abs[FS_PATH_MAX];
    const char *home = fs_path_home();
    size_t in_len = strlen(input);
    int n;

    if (in_len > LIM_PATH_BYTES)
        return problem_set(err, 400, PROBLEM_INVALID_REQUEST, "path is longer than %d bytes",
                           LIM_PATH_BYTES);
    /* Under a root that $HOME is not in, the root is where relative paths start. */
    const char *cwd = home_outside_root ? root_abs : home;

    if ((input[0] == '~' && (input[1] == '\0' || input[1] == '/')) && home_outside_root)
        return problem_set(err, 403, PROBLEM_PERMISSION_DENIED,
                           "path %s: $HOME (%s) is outside the filesystem root %s; use a path "
                           "under the root, or a relative one (relative paths start at the root)",
                           input, home, root_abs);
    if (input[0] == '\0') {
        n = snprintf(abs, sizeof(abs), "%s", cwd);
    } else if (strcmp(input, "~") == 0) {
        n = snprintf(abs, sizeof(abs), "%s", home);
    } else if (input[0] == '~' && input[1] == '/') {
        if (fs_path_has_dotdot(input + 2))
            return problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                               "invalid relative path: %s (paths under `~` may not contain "
                               "`..`; use an absolute path)",
                               input);
        n = snprintf(abs, sizeof(abs), "%s/%s", strcmp(home, "/") ? home : "", input + 2);
    } else if (input[0] == '/') {
        n = snprintf(abs, sizeof(abs), "%s", input);
    } else {
        if (fs_path_has_dotdot(input))
            return problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                               "invalid relative path: %s (relative paths may not contain "
                               "`..`; use an absolute path)",
                               input);
        n = snprintf(abs, sizeof(abs), "%s/%s", strcmp(cwd, "/") ? cwd : "", input);
    }
    if (n < 0 || (size_t)n >= sizeof(abs))
        return problem_set(err, 400, PROBLEM_INVALID_REQUEST, "path is too long");
    strip_trailing_slashes(abs);

    if (!root_abs) {
        memcpy(out->display, abs, (size_t)n + 1);
        memcpy(out->rel, abs, (size_t)n + 1);
        out->base = AT_FDCWD;
        out->is_root = strcmp(abs, "/") == 0;
        return 0;
    }

    char norm[FS_PATH_MAX];
    size_t rlen = strlen(root_abs);
    if (normalise(abs, norm, sizeof(norm)) < 0)
        return problem_set(err, 403, PROBLEM_PERMISSION_DENIED,
                           "path %s is outside the filesystem root %s", input, root_abs);
    if (strcmp(root_abs, "/") == 0) {
        rlen = 0;
    } else if (strncmp(norm, root_abs, rlen) != 0 || (norm[rlen] != '\0' && norm[rlen] != '/')) {
        /* Absolute paths are the machine's paths, also under a root: say where the root is. */
        return problem_set(err, 403, PROBLEM_PERMISSION_DENIED,
                           "path %s is outside the filesystem root %s (absolute paths are the "
                           "machine's own: use %s/... or a path relative to the root)",
                           input, root_abs, root_abs);
    }
    snprintf(out->display, sizeof(out->display), "%s", norm);
    if (norm[rlen] == '\0' || (norm[rlen] == '/' && norm[rlen + 1] == '\0')) {
        snprintf(out->rel, sizeof(out->rel), ".");
        out->is_root = true;
    } else {
        snprintf(out->rel, sizeof(out->rel), "%s", norm + rlen + 1);
        out->is_root = false;
    }
    out->base = root_fd;
    return 0;
}

static int open_rel(int base, const char *rel, int flags, unsigned mode)
{
    struct open_how how;
    int fd;

    flags |= O_CLOEXEC;
    if (base == AT_FDCWD) {
        fd = openat(AT_FDCWD, rel, flags, mode);
        return fd < 0 ? -errno : fd;
    }
    memset(&how, 0, sizeof(how));
    how.flags = (unsigned long long)flags;
    how.mode = (flags & (O_CREAT | __O_TMPFILE)) ? mode : 0;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    do {
        fd = (int)syscall(SYS_openat2, base, rel, &how, sizeof(how));
    } while (fd < 0 && errno == EAGAIN);
    return fd < 0 ? -errno : fd;
}

int fs_open(const struct fs_path *p, int flags, unsigned mode)
{
    return open_rel(p->base, p->rel, flags, mode);
}

int fs_open_parent(const struct fs_path *p, const char **ret_name)
{
    char parent[FS_PATH_MAX];
    const char *slash, *name;
    size_t n;

    if (p->is_root || strcmp(p->rel, ".") == 0)
        return -EINVAL;
    slash = strrchr(p->rel, '/');
    if (!slash) {
        name = p->rel;
        parent[0] = '.';
        parent[1] = '\0';
    } else {
        name = slash + 1;
        n = (size_t)(slash - p->rel);
        if (n == 0)
            n = 1; /* "/x": the parent is "/" */
        memcpy(parent, p->rel, n);
        parent[n] = '\0';
    }
    if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return -EINVAL;
    *ret_name = name;
    return open_rel(p->base, parent, O_PATH | O_DIRECTORY, 0);
}

/* Creates one directory; an existing directory (or a link to one) is fine. */
static int mkdir_one(const struct fs_path *p)
{
    const char *name;
    int dfd, r, fd;

    dfd = fs_open_parent(p, &name);
    if (dfd == -EINVAL)
        return 0; /* the root, or "/" */
    if (dfd < 0)
        return dfd;
    r = mkdirat(dfd, name, 0755);
    r = r < 0 ? -errno : 0;
    close(dfd);
    if (r != -EEXIST)
        return r;
    fd = fs_open(p, O_PATH | O_DIRECTORY, 0);
    if (fd < 0)
        return fd == -ENOTDIR ? -EEXIST : fd;
    close(fd);
    return 0;
}

/* mkdir -p of the first `upto` bytes of p->rel (or all of it). */
static int mkdir_prefixes(const struct fs_path *p, size_t upto)
{
    struct fs_path tmp = *p;
    size_t start = tmp.rel[0] == '/' ? 1 : 0;
    int r;

    for (size_t i = start; i <= upto; i++) {
        if (i != upto && tmp.rel[i] != '/')
            continue;
        if (i == start)
            continue;
        char saved = tmp.rel[i];
        tmp.rel[i] = '\0';
        tmp.is_root = false;
        r = mkdir_one(&tmp);
        tmp.rel[i] = saved;
        if (r < 0)
            return r;
    }
    return 0;
}

int fs_mkdir_parents(const struct fs_path *p)
{
    const char *slash = strrchr(p->rel, '/');

    if (!slash || slash == p->rel)
        return 0;
    return mkdir_prefixes(p, (size_t)(slash - p->rel));
}

int fs_mkdir_all(const struct fs_path *p)
{
    if (p->is_root || strcmp(p->rel, ".") == 0)
        return 0;
    return mkdir_prefixes(p, strlen(p->rel));
}

int fs_path_child(const struct fs_path *p, const char *name, struct fs_path *out)
{
    bool slash_end = p->display[strlen(p->display) - 1] == '/';
    int n;

    *out = *p;
    n = snprintf(out->display, sizeof(out->display), "%s%s%s", p->display, slash_end ? "" : "/",
                 name);
    if (n < 0 || (size_t)n >= sizeof(out->display))
        return -ENAMETOOLONG;
    if (strcmp(p->rel, ".") == 0)
        n = snprintf(out->rel, sizeof(out->rel), "%s", name);
    else
        n = snprintf(out->rel, sizeof(out->rel), "%s%s%s", p->rel,
                     p->rel[strlen(p->rel) - 1] == '/' ? "" : "/", name);
    if (n < 0 || (size_t)n >= sizeof(out->rel))
        return -ENAMETOOLONG;
    out->is_root = false;
    return 0;
}

bool fs_path_same(const struct fs_path *a, const struct fs_path *b)
{
    return a->base == b->base && strcmp(a->rel, b->rel) == 0;
}

int fs_errno_problem(struct problem *err, int neg_errno, const char *path, const char *what)
{
    int e = -neg_errno;

    switch (e) {
    case ENOENT:
        problem_not_found(err, "path", path);
        snprintf(err->message, sizeof(err->message), "%s (no such file or directory)", path);
        return -1;
    case ENOTDIR:
        return problem_set(err, 409, PROBLEM_CONFLICT,
                           "%s: %s (or one of its parents) is not a "
                           "directory",
                           what, path);
    case EISDIR:
        return problem_set(err, 409, PROBLEM_CONFLICT, "%s: %s is a directory", what, path);
    case EEXIST:
        return problem_set(err, 409, PROBLEM_CONFLICT, "%s: %s already exists", what, path);
    case ENOTEMPTY:
        return problem_set(err, 409, PROBLEM_CONFLICT,
                           "%s: directory %s is not empty (pass recursive=true)", what, path);
    case EBUSY:
        return problem_set(err, 409, PROBLEM_CONFLICT, "%s: %s is busy", what, path);
    case EXDEV:
        return problem_set(err, 403, PROBLEM_PERMISSION_DENIED,
                           "%s: %s leads outside the filesystem root", what, path);
    case EACCES:
    case EPERM:
        return problem_set(err, 403, PROBLEM_PERMISSION_DENIED, "%s: %s: %s", what, path,
                           strerror(e));
    case EROFS:
        return problem_set(err, 403, PROBLEM_PERMISSION_DENIED,
                           "%s: %s is on a read-only "
                           "filesystem",
                           what, path);
    case ELOOP:
        return problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                           "%s: %s has too many levels of symbolic links", what, path);
    case ENAMETOOLONG:
        return problem_set(err, 400, PROBLEM_INVALID_REQUEST, "%s: %s: name too long", what, path);
    case EINVAL:
        return problem_set(err, 400, PROBLEM_INVALID_REQUEST, "%s: %s: invalid argument", what,
                           path);
    case ENOSPC:
    case EDQUOT:
        return problem_set(err, 507, PROBLEM_STREAM_ERROR, "%s: %s: no space left on device", what,
                           path);
    default:
        return problem_set(err, 502, PROBLEM_STREAM_ERROR, "%s: %s: %s (os error %d)", what, path,
                           strerror(e), e);
    }
}

int fs_path_from_query(const struct query *q, const char *key, bool required, struct fs_path *out,
                       struct problem *err)
{
    const char *value = NULL;
    int r = query_str(q, key, &value, err);

    if (r < 0)
        return -1;
    if (r == 0) {
        if (required)
            return problem_set(err, 400, PROBLEM_INVALID_REQUEST, "missing query parameter `%s`",
                               key);
        value = "";
    }
    return fs_path_resolve(value, out, err);
}
