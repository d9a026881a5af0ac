/*
 * Path resolution for every /v1/fs endpoint.
 *
 * A client path becomes a (base directory fd, relative path) pair that the
 * operations use with the *at() calls, plus the absolute path shown back to
 * the client.  Without a root, base is AT_FDCWD and the path is absolute;
 * with --fs-root, base is the root's fd, the relative path is lexically
 * normalised, and every open goes through openat2(RESOLVE_BENEATH) so that
 * neither ".." nor a symlink can leave the root.
 */
#ifndef FS_PATH_H
#define FS_PATH_H

#include "../stream/limits.h"
#include "../stream/problem.h"

#include <stdbool.h>
#include <stddef.h>

#define FS_PATH_MAX (LIM_PATH_BYTES + 512)

struct fs_path {
    char display[FS_PATH_MAX]; /* absolute path as the client sees it */
    char rel[FS_PATH_MAX];     /* path relative to base ("." for base itself) */
    int base;                  /* AT_FDCWD, or the --fs-root directory fd */
    bool is_root;              /* the path is the --fs-root itself (or "/") */
};

/*
 * Configures resolution: home is $HOME (relative paths and "~"), root is NULL
 * or the confinement directory.  Returns 0 or a negative errno.
 */
int fs_path_setup(const char *home, const char *root);
void fs_path_teardown(void);
/* The home directory used for relative paths. */
const char *fs_path_home(void);

/*
 * Resolves input (UTF-8, no NUL, checked by the caller) into out.
 * An empty input means the home directory.  Fails with 400 for relative
 * paths containing "..", over-long paths, 403 when the path is outside
 * the root.  out is untouched on failure.
 */
int fs_path_resolve(const char *input, struct fs_path *out, struct problem *err);

/*
 * Opens the resolved path with flags (O_CLOEXEC is added), confined to the
 * root when one is set.  Returns the fd or a negative errno; -EXDEV means the
 * path (through a symlink or "..") leads outside the root.
 */
int fs_open(const struct fs_path *p, int flags, unsigned mode);
/*
 * Opens the parent directory of p (O_PATH|O_DIRECTORY) and points *ret_name
 * at p's last component inside p->rel.  Returns the fd or a negative errno;
 * -EINVAL when p has no last component (the root itself).
 */
int fs_open_parent(const struct fs_path *p, const char **ret_name);
/* Creates p's parent directories (mkdir -p of the parent). Returns 0 or -errno. */
int fs_mkdir_parents(const struct fs_path *p);
/* Creates p and its parents; an existing directory is fine. Returns 0 or -errno. */
int fs_mkdir_all(const struct fs_path *p);
/* Joins p and a relative child name ("a/b") into out. Returns 0 or -ENAMETOOLONG. */
int fs_path_child(const struct fs_path *p, const char *name, struct fs_path *out);
/* True when a and b name the same path (after resolution). */
bool fs_path_same(const struct fs_path *a, const struct fs_path *b);

/* True when the '/'-separated path has a ".." component. */
bool fs_path_has_dotdot(const char *p);

/* Turns a negative errno from an operation on path into a problem. Returns -1. */
int fs_errno_problem(struct problem *err, int neg_errno, const char *path, const char *what);

struct query;
/*
 * Resolves query parameter key of q into out.  Absent: 400 when required,
 * else the home directory.  Returns 0 or -1 with err set.
 */
int fs_path_from_query(const struct query *q, const char *key, bool required, struct fs_path *out,
                       struct problem *err);

#endif
