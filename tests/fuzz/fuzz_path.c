/*
 * libFuzzer target for fs/fs_path: fs_path_resolve on arbitrary
 * NUL-terminated input, once with no root and once confined beneath a root.
 * The temporary tree is made once in LLVMFuzzerInitialize:
 *   <tmp>/home/root/{dir/, file, up -> .., abs -> /etc, out -> ../../outside}
 *   <tmp>/outside/
 * Invariants with a root: display starts with the root (at a component
 * boundary), rel is "." or a clean relative path with no "." or ".."
 * component, and fs_open(O_PATH) never yields an fd outside the root.
 * Without a root: display == rel, absolute, no trailing slash.
 * Every failure is a 400 (or 403 with a root) and leaves out untouched.
 * The root's name is random, so an input starting with '@' has the '@'
 * replaced by the root's absolute path, letting the fuzzer reach absolute
 * paths inside it.
 */
#include "../../fs/fs_path.h"

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char home[PATH_MAX]; /* <tmp>/home/root: relative paths land inside the root */
static char root[PATH_MAX]; /* canonical root */
static char tree[PATH_MAX]; /* <tmp>, removed at exit */

static void die(const char *what)
{
    perror(what);
    abort();
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    return remove(path);
}

static void remove_tree(void)
{
    fs_path_teardown();
    if (tree[0])
        nftw(tree, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char tmpl[] = "/tmp/agentd-fuzz-path-XXXXXX";
    char dir[PATH_MAX], p[PATH_MAX + 64];

    (void)argc;
    (void)argv;
    if (!mkdtemp(tmpl) || !realpath(tmpl, dir))
        die("mkdtemp");
    snprintf(tree, sizeof(tree), "%s", dir);
    atexit(remove_tree);
    snprintf(p, sizeof(p), "%s/home", dir);
    if (mkdir(p, 0700) < 0)
        die("mkdir home");
    snprintf(root, sizeof(root), "%s/home/root", dir);
    snprintf(home, sizeof(home), "%s", root);
    snprintf(p, sizeof(p), "%s/outside", dir);
    if (mkdir(root, 0700) < 0 || mkdir(p, 0700) < 0)
        die("mkdir");
    snprintf(p, sizeof(p), "%s/dir", root);
    if (mkdir(p, 0700) < 0)
        die("mkdir dir");
    snprintf(p, sizeof(p), "%s/file", root);
    if (close(open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) < 0)
        die("file");
    snprintf(p, sizeof(p), "%s/up", root);
    if (symlink("..", p) < 0)
        die("symlink");
    snprintf(p, sizeof(p), "%s/abs", root);
    if (symlink("/etc", p) < 0)
        die("symlink");
    snprintf(p, sizeof(p), "%s/out", root);
    if (symlink("../../outside", p) < 0)
        die("symlink");
    fprintf(stderr, "fuzz_path: root %s\n", root);
    return 0;
}

static bool has_bad_component(const char *rel)
{
    const char *p = rel;

    if (strcmp(rel, ".") == 0)
        return false;
    if (*rel == '\0' || *rel == '/')
        return true;
    while (*p) {
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return true; /* "//", ".", ".." or a trailing slash */
        p += n;
        if (*p == '/')
            p++;
        if (*p == '\0' && p[-1] == '/')
            return true;
    }
    return false;
}

static bool has_dotdot_component(const char *p)
{
    while (*p) {
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return true;
        p += n;
        if (*p == '/')
            p++;
    }
    return false;
}

static void check_inside(int fd)
{
    char link[64], target[PATH_MAX];
    size_t rlen = strlen(root);
    ssize_t n;

    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    n = readlink(link, target, sizeof(target) - 1);
    if (n < 0)
        return;
    target[n] = '\0';
    if (strncmp(target, root, rlen) != 0 || (target[rlen] != '\0' && target[rlen] != '/')) {
        fprintf(stderr, "fd %d escaped the root: %s\n", fd, target);
        abort();
    }
}

static void resolve_rooted(const char *input)
{
    struct fs_path out, sentinel;
    struct problem err;
    size_t rlen = strlen(root);
    int fd;

    memset(&out, 0x5a, sizeof(out));
    memcpy(&sentinel, &out, sizeof(out));
    if (fs_path_resolve(input, &out, &err) < 0) {
        if (memcmp(&out, &sentinel, sizeof(out)) != 0)
            abort();
        if (!((err.status == 400 && err.kind == PROBLEM_INVALID_REQUEST) ||
              (err.status == 403 && err.kind == PROBLEM_PERMISSION_DENIED)))
            abort();
        return;
    }
    if (strncmp(out.display, root, rlen) != 0 ||
        (out.display[rlen] != '\0' && out.display[rlen] != '/'))
        abort();
    if (has_bad_component(out.rel))
        abort();
    if (out.base < 0)
        abort();
    if (strcmp(out.rel, ".") == 0) {
        if (!out.is_root || strcmp(out.display, root) != 0)
            abort();
    } else {
        if (out.is_root || out.display[rlen] != '/' || strcmp(out.display + rlen + 1, out.rel))
            abort();
    }
    fd = fs_open(&out, O_PATH, 0);
    if (fd >= 0) {
        check_inside(fd);
        close(fd);
    }
    {
        const char *name = NULL;
        fd = fs_open_parent(&out, &name);
        if (fd >= 0) {
            check_inside(fd);
            if (!name || !*name || strchr(name, '/'))
                abort();
            close(fd);
        }
    }
}

static void resolve_plain(const char *input)
{
    struct fs_path out, sentinel;
    struct problem err;
    size_t n;

    memset(&out, 0x5a, sizeof(out));
    memcpy(&sentinel, &out, sizeof(out));
    if (fs_path_resolve(input, &out, &err) < 0) {
        if (memcmp(&out, &sentinel, sizeof(out)) != 0)
            abort();
        if (err.status != 400 || err.kind != PROBLEM_INVALID_REQUEST)
            abort();
        return;
    }
    n = strlen(out.display);
    if (out.display[0] != '/' || strcmp(out.display, out.rel) != 0 || out.base != AT_FDCWD)
        abort();
    if (n >= FS_PATH_MAX || (n > 1 && out.display[n - 1] == '/'))
        abort();
    if (out.is_root != (strcmp(out.display, "/") == 0))
        abort();
    /* Relative and "~" inputs stay under the home and never climb with "..". */
    if (input[0] != '/') {
        size_t hlen = strlen(home);
        bool tilde = input[0] == '~' && (input[1] == '\0' || input[1] == '/');
        if (strncmp(out.display, home, hlen) != 0 ||
            (out.display[hlen] != '\0' && out.display[hlen] != '/'))
            abort();
        if (!tilde && has_dotdot_component(out.display + hlen))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t rlen = strlen(root);
    char *input = malloc(size + rlen + 1);

    if (!input)
        return 0;
    if (size > 0 && data[0] == '@') {
        memcpy(input, root, rlen);
        memcpy(input + rlen, data + 1, size - 1);
        input[rlen + size - 1] = '\0';
    } else {
        memcpy(input, data, size);
        input[size] = '\0';
    }

    if (fs_path_setup(home, NULL) < 0)
        abort();
    resolve_plain(input);
    fs_path_teardown();

    if (fs_path_setup(home, root) < 0)
        abort();
    resolve_rooted(input);
    fs_path_teardown();

    free(input);
    return 0;
}
