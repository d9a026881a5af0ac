/*
 * Unit tests for fs/fs_path: resolution of client paths with and without a
 * --fs-root, confinement of fs_open/fs_open_parent/fs_mkdir_all beneath the
 * root (".." and symlinks), and the errno -> problem mapping.
 *
 * Every test gets a fresh temporary tree (mkdtemp):
 *   <dir>/root/                 the --fs-root when a test sets one
 *   <dir>/root/file.txt         "hello"
 *   <dir>/root/sub/             empty directory
 *   <dir>/root/in_link      ->  file.txt
 *   <dir>/root/esc_abs      ->  <dir>/outside/secret
 *   <dir>/root/esc_rel      ->  ../outside/secret
 *   <dir>/root/esc_dir      ->  <dir>/outside
 *   <dir>/root/dangling_out ->  <dir>/outside/created
 *   <dir>/rootx/                shares the root's name as a prefix
 *   <dir>/outside/secret        "secret"
 */
#include "../../fs/fs_path.h"
#include "../../stream/limits.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

struct fixture {
    char dir[PATH_MAX];     /* canonical temporary directory */
    char root[PATH_MAX];    /* <dir>/root */
    char outside[PATH_MAX]; /* <dir>/outside */
};

/* snprintf into out, failing the test on truncation. */
static char *fmt(char *out, size_t cap, const char *f, ...) __attribute__((format(printf, 3, 4)));
static char *fmt(char *out, size_t cap, const char *f, ...)
{
    va_list ap;
    int n;

    va_start(ap, f);
    n = vsnprintf(out, cap, f, ap);
    va_end(ap);
    assert_in_range(n, 0, cap - 1);
    return out;
}

static void write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    size_t n = strlen(text);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, n), (ssize_t)n);
    close(fd);
}

static void make_link(const char *target, const char *dir, const char *name)
{
    char path[PATH_MAX];

    fmt(path, sizeof(path), "%s/%s", dir, name);
    assert_int_equal(symlink(target, path), 0);
}

static int setup_tree(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    char tmpl[] = "/tmp/agentd-test-fs-XXXXXX";
    char p[PATH_MAX];

    if (!fx || !mkdtemp(tmpl) || !realpath(tmpl, fx->dir))
        return -1;
    fmt(fx->root, sizeof(fx->root), "%s/root", fx->dir);
    fmt(fx->outside, sizeof(fx->outside), "%s/outside", fx->dir);
    if (mkdir(fx->root, 0755) < 0 || mkdir(fx->outside, 0755) < 0 ||
        mkdir(fmt(p, sizeof(p), "%s/rootx", fx->dir), 0755) < 0 ||
        mkdir(fmt(p, sizeof(p), "%s/sub", fx->root), 0755) < 0)
        return -1;
    write_file(fmt(p, sizeof(p), "%s/file.txt", fx->root), "hello");
    write_file(fmt(p, sizeof(p), "%s/secret", fx->outside), "secret");
    make_link("file.txt", fx->root, "in_link");
    make_link(fmt(p, sizeof(p), "%s/secret", fx->outside), fx->root, "esc_abs");
    make_link("../outside/secret", fx->root, "esc_rel");
    make_link(fx->outside, fx->root, "esc_dir");
    make_link(fmt(p, sizeof(p), "%s/created", fx->outside), fx->root, "dangling_out");
    *state = fx;
    return 0;
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    return remove(path);
}

static int teardown_tree(void **state)
{
    struct fixture *fx = *state;

    fs_path_teardown();
    if (fx && fx->dir[0])
        nftw(fx->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(fx);
    return 0;
}

static void resolve_ok(const char *input, struct fs_path *out)
{
    struct problem err;

    if (fs_path_resolve(input, out, &err) != 0)
        fail_msg("fs_path_resolve(\"%s\") failed: %d %s", input, err.status, err.message);
}

static void resolve_fail(const char *input, int status, enum problem_kind kind)
{
    struct fs_path out;
    struct problem err;

    if (fs_path_resolve(input, &out, &err) != -1)
        fail_msg("fs_path_resolve(\"%s\") succeeded: display=%s rel=%s", input, out.display,
                 out.rel);
    assert_int_equal(err.status, status);
    assert_int_equal(err.kind, kind);
}

static void expect(const char *input, const char *display, const char *rel, bool is_root)
{
    struct fs_path out;

    resolve_ok(input, &out);
    assert_string_equal(out.display, display);
    assert_string_equal(out.rel, rel);
    if (out.is_root != is_root)
        fail_msg("fs_path_resolve(\"%s\"): is_root is %d", input, out.is_root);
}

static void setup_no_root(const struct fixture *fx)
{
    assert_int_equal(fs_path_setup(fx->dir, NULL), 0);
}

static void setup_root(const struct fixture *fx)
{
    assert_int_equal(fs_path_setup(fx->root, fx->root), 0);
}

static void assert_same_file(int fd, const char *path)
{
    struct stat a, b;

    assert_int_equal(fstat(fd, &a), 0);
    assert_int_equal(stat(path, &b), 0);
    assert_int_equal(a.st_dev, b.st_dev);
    assert_int_equal(a.st_ino, b.st_ino);
}

static void assert_exists(const char *path, bool want)
{
    struct stat st;

    if ((lstat(path, &st) == 0) != want)
        fail_msg("%s should %sexist", path, want ? "" : "not ");
}

static void assert_is_dir(const char *path)
{
    struct stat st;

    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
}

static void read_fd(int fd, const char *want)
{
    char got[64];
    ssize_t n;

    assert_true(fd >= 0);
    n = read(fd, got, sizeof(got) - 1);
    assert_in_range(n, 0, sizeof(got) - 1);
    got[n] = '\0';
    assert_string_equal(got, want);
}

/* ---- resolution without a root ------------------------------------------------------------ */

static void test_empty_is_home(void **state)
{
    struct fixture *fx = *state;
    struct fs_path out;

    setup_no_root(fx);
    assert_string_equal(fs_path_home(), fx->dir);
    resolve_ok("", &out);
    assert_string_equal(out.display, fx->dir);
    assert_string_equal(out.rel, fx->dir);
    assert_int_equal(out.base, AT_FDCWD);
    assert_false(out.is_root);
}

static void test_tilde_is_home(void **state)
{
    struct fixture *fx = *state;
    char want[PATH_MAX];

    setup_no_root(fx);
    expect("~", fx->dir, fx->dir, false);
    expect("~/", fx->dir, fx->dir, false);
    fmt(want, sizeof(want), "%s/x", fx->dir);
    expect("~/x", want, want, false);
    fmt(want, sizeof(want), "%s/a/b", fx->dir);
    expect("~/a/b/", want, want, false);
    /* "~user" is not expanded: it is a relative name. */
    fmt(want, sizeof(want), "%s/~user", fx->dir);
    expect("~user", want, want, false);
}

static void test_relative_is_under_home(void **state)
{
    struct fixture *fx = *state;
    char want[PATH_MAX];

    setup_no_root(fx);
    fmt(want, sizeof(want), "%s/a/b", fx->dir);
    expect("a/b", want, want, false);
    fmt(want, sizeof(want), "%s/a", fx->dir);
    expect("a", want, want, false);
    /* Names that merely contain dots are not "..". */
    fmt(want, sizeof(want), "%s/..a/a../.../a/..b", fx->dir);
    expect("..a/a../.../a/..b", want, want, false);
}

static void test_relative_dotdot_400(void **state)
{
    static const char *bad[] = {"..",       "../",    "../x",
                                "a/..",     "a/../b", "a/b/../../c",
                                "a//..//b", "./..",   "a/../../../etc/passwd"};
    struct fixture *fx = *state;

    setup_no_root(fx);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        resolve_fail(bad[i], 400, PROBLEM_INVALID_REQUEST);
}

static void test_absolute_kept(void **state)
{
    struct fixture *fx = *state;
    struct fs_path out;

    setup_no_root(fx);
    resolve_ok("/etc/passwd", &out);
    assert_string_equal(out.display, "/etc/passwd");
    assert_string_equal(out.rel, "/etc/passwd");
    assert_int_equal(out.base, AT_FDCWD);
    assert_false(out.is_root);
    expect("/", "/", "/", true);
    expect("/a/../b", "/a/../b", "/a/../b", false);
}

static void test_trailing_slashes_stripped(void **state)
{
    struct fixture *fx = *state;
    char want[PATH_MAX];

    setup_no_root(fx);
    expect("/tmp/x///", "/tmp/x", "/tmp/x", false);
    expect("/tmp/x/", "/tmp/x", "/tmp/x", false);
    expect("///", "/", "/", true);
    fmt(want, sizeof(want), "%s/a", fx->dir);
    expect("a/", want, want, false);
}

static void test_too_long_400(void **state)
{
    struct fixture *fx = *state;
    char *p = malloc(LIM_PATH_BYTES + 2);
    struct fs_path out;

    assert_non_null(p);
    setup_no_root(fx);
    /* Exactly LIM_PATH_BYTES is accepted... */
    memset(p, 'a', LIM_PATH_BYTES);
    p[0] = '/';
    p[LIM_PATH_BYTES] = '\0';
    resolve_ok(p, &out);
    assert_int_equal(strlen(out.display), LIM_PATH_BYTES);
    /* ...one more byte is not. */
    p[LIM_PATH_BYTES] = 'a';
    p[LIM_PATH_BYTES + 1] = '\0';
    resolve_fail(p, 400, PROBLEM_INVALID_REQUEST);
    /* The same for relative paths. */
    p[0] = 'a';
    resolve_fail(p, 400, PROBLEM_INVALID_REQUEST);
    free(p);
}

static void test_home_variants(void **state)
{
    struct fixture *fx = *state;
    char home[PATH_MAX];

    assert_int_equal(fs_path_setup("/", NULL), 0);
    assert_string_equal(fs_path_home(), "/");
    expect("", "/", "/", true);
    expect("~", "/", "/", true);
    expect("a", "/a", "/a", false);
    expect("~/x", "/x", "/x", false);
    fs_path_teardown();

    assert_int_equal(fs_path_setup(NULL, NULL), 0);
    assert_string_equal(fs_path_home(), "/");
    fs_path_teardown();

    assert_int_equal(fs_path_setup("relative/home", NULL), 0);
    assert_string_equal(fs_path_home(), "/");
    fs_path_teardown();

    assert_int_equal(fs_path_setup(fmt(home, sizeof(home), "%s//", fx->dir), NULL), 0);
    assert_string_equal(fs_path_home(), fx->dir);
}

static void test_out_untouched_on_failure(void **state)
{
    struct fixture *fx = *state;
    struct fs_path out, copy;
    struct problem err;

    setup_no_root(fx);
    memset(&out, 0xa5, sizeof(out));
    memcpy(&copy, &out, sizeof(out));
    assert_int_equal(fs_path_resolve("../x", &out, &err), -1);
    assert_memory_equal(&out, &copy, sizeof(out));
    fs_path_teardown();

    setup_root(fx);
    assert_int_equal(fs_path_resolve("/etc", &out, &err), -1);
    assert_memory_equal(&out, &copy, sizeof(out));
}

/* ---- resolution beneath a root ------------------------------------------------------------ */

static void test_root_inside(void **state)
{
    struct fixture *fx = *state;
    char in[PATH_MAX];
    struct fs_path out;

    setup_root(fx);
    resolve_ok(fmt(in, sizeof(in), "%s/sub/file", fx->root), &out);
    assert_string_equal(out.rel, "sub/file");
    assert_string_equal(out.display, in);
    assert_true(out.base >= 0);
    assert_false(out.is_root);

    /* Relative and "~" paths are under the home, here the root. */
    fmt(in, sizeof(in), "%s/sub", fx->root);
    expect("sub", in, "sub", false);
    expect("~/sub", in, "sub", false);
    expect("~/sub/", in, "sub", false);
}

static void test_root_itself_is_root(void **state)
{
    struct fixture *fx = *state;
    char in[PATH_MAX];

    setup_root(fx);
    expect(fx->root, fx->root, ".", true);
    expect(fmt(in, sizeof(in), "%s/", fx->root), fx->root, ".", true);
    expect(fmt(in, sizeof(in), "%s/.", fx->root), fx->root, ".", true);
    expect(fmt(in, sizeof(in), "%s/sub/..", fx->root), fx->root, ".", true);
    expect(fmt(in, sizeof(in), "%s//./sub/../", fx->root), fx->root, ".", true);
    expect("", fx->root, ".", true);
    expect("~", fx->root, ".", true);
}

static void test_root_normalises(void **state)
{
    struct fixture *fx = *state;
    char in[PATH_MAX], want[PATH_MAX];

    setup_root(fx);
    fmt(want, sizeof(want), "%s/sub/x", fx->root);
    expect(fmt(in, sizeof(in), "%s//sub/./x//", fx->root), want, "sub/x", false);
    fmt(want, sizeof(want), "%s/file.txt", fx->root);
    expect(fmt(in, sizeof(in), "%s/sub/../file.txt", fx->root), want, "file.txt", false);
    expect(fmt(in, sizeof(in), "%s/../root/file.txt", fx->root), want, "file.txt", false);
}

static void test_root_outside_403(void **state)
{
    struct fixture *fx = *state;
    char in[PATH_MAX];
    struct fs_path out;
    struct problem err;

    setup_root(fx);
    resolve_fail("/etc", 403, PROBLEM_PERMISSION_DENIED);
    resolve_fail("/", 403, PROBLEM_PERMISSION_DENIED);
    resolve_fail(fx->dir, 403, PROBLEM_PERMISSION_DENIED);
    resolve_fail(fx->outside, 403, PROBLEM_PERMISSION_DENIED);
    /* A sibling whose name starts with the root's name is still outside. */
    resolve_fail(fmt(in, sizeof(in), "%sx", fx->root), 403, PROBLEM_PERMISSION_DENIED);
    resolve_fail(fmt(in, sizeof(in), "%sx/a", fx->root), 403, PROBLEM_PERMISSION_DENIED);

    assert_int_equal(fs_path_resolve("/etc", &out, &err), -1);
    assert_non_null(strstr(err.message, fx->root));
}

static void test_root_dotdot_escape_403(void **state)
{
    struct fixture *fx = *state;
    char in[PATH_MAX];

    setup_root(fx);
    resolve_fail(fmt(in, sizeof(in), "%s/../x", fx->root), 403, PROBLEM_PERMISSION_DENIED);
    resolve_fail(fmt(in, sizeof(in), "%s/..", fx->root), 403, PROBLEM_PERMISSION_DENIED);
    resolve_fail(fmt(in, sizeof(in), "%s/sub/../../x", fx->root), 403, PROBLEM_PERMISSION_DENIED);
    resolve_fail(fmt(in, sizeof(in), "%s/../rootx", fx->root), 403, PROBLEM_PERMISSION_DENIED);
    resolve_fail("/..", 403, PROBLEM_PERMISSION_DENIED);
    resolve_fail("/../../..", 403, PROBLEM_PERMISSION_DENIED);
    /* "~/.." is refused like a relative ".." (400), root or not. */
    resolve_fail("~/../x", 400, PROBLEM_INVALID_REQUEST);
    /* A relative ".." stays a 400 with a root too. */
    resolve_fail("../x", 400, PROBLEM_INVALID_REQUEST);
}

static void test_root_home_outside(void **state)
{
    struct fixture *fx = *state;

    struct fs_path out;
    char p[PATH_MAX];

    /* $HOME outside the root: relative paths and the empty path start at the root (issue 14). */
    assert_int_equal(fs_path_setup(fx->outside, fx->root), 0);
    resolve_ok("", &out);
    assert_true(out.is_root);
    assert_string_equal(out.rel, ".");
    resolve_ok("a", &out);
    assert_string_equal(out.rel, "a");
    assert_string_equal(out.display, fmt(p, sizeof(p), "%s/a", fx->root));
    resolve_ok("sub/b", &out);
    assert_string_equal(out.rel, "sub/b");
    resolve_fail("../a", 400, PROBLEM_INVALID_REQUEST);
    resolve_fail("~", 403, PROBLEM_PERMISSION_DENIED);
    resolve_fail("~/a", 403, PROBLEM_PERMISSION_DENIED);
    resolve_fail("/", 403, PROBLEM_PERMISSION_DENIED);
}

static void test_setup_errors(void **state)
{
    struct fixture *fx = *state;
    char p[PATH_MAX];

    assert_int_equal(fs_path_setup(fx->dir, fmt(p, sizeof(p), "%s/missing", fx->dir)), -ENOENT);
    fs_path_teardown();
    assert_int_equal(fs_path_setup(fx->dir, fmt(p, sizeof(p), "%s/file.txt", fx->root)), -ENOTDIR);
}

static void test_teardown_between_setups(void **state)
{
    struct fixture *fx = *state;
    struct fs_path out;

    setup_root(fx);
    resolve_fail("/etc", 403, PROBLEM_PERMISSION_DENIED);
    fs_path_teardown();
    setup_no_root(fx);
    resolve_ok("/etc", &out);
    assert_int_equal(out.base, AT_FDCWD);
    assert_string_equal(out.rel, "/etc");
    fs_path_teardown();
    setup_root(fx);
    resolve_fail("/etc", 403, PROBLEM_PERMISSION_DENIED);
}

static void test_root_is_canonicalised(void **state)
{
    struct fixture *fx = *state;
    char via[PATH_MAX], in[PATH_MAX];

    /* A root given through "." and ".." is matched by its canonical path. */
    assert_int_equal(fs_path_setup(fx->root, fmt(via, sizeof(via), "%s/./sub/..", fx->root)), 0);
    expect(fmt(in, sizeof(in), "%s/sub", fx->root), in, "sub", false);
}

static void test_root_slash(void **state)
{
    struct fixture *fx = *state;
    char in[PATH_MAX];

    /* --fs-root / confines nothing but still yields root-relative paths. */
    assert_int_equal(fs_path_setup(fx->dir, "/"), 0);
    expect("/", "/", ".", true);
    expect("/etc/passwd", "/etc/passwd", "etc/passwd", false);
    fmt(in, sizeof(in), "%s/x", fx->dir);
    expect("x", in, in + 1, false);
}

/* ---- fs_open ------------------------------------------------------------------------------ */

static struct fs_path resolve_in_root(const struct fixture *fx, const char *name)
{
    char in[PATH_MAX];
    struct fs_path p;

    resolve_ok(fmt(in, sizeof(in), "%s/%s", fx->root, name), &p);
    return p;
}

static void test_open_inside(void **state)
{
    struct fixture *fx = *state;
    struct fs_path p;
    int fd;

    setup_root(fx);
    p = resolve_in_root(fx, "file.txt");
    fd = fs_open(&p, O_RDONLY, 0);
    read_fd(fd, "hello");
    assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    close(fd);

    p = resolve_in_root(fx, "in_link");
    fd = fs_open(&p, O_RDONLY, 0);
    read_fd(fd, "hello");
    close(fd);

    p = resolve_in_root(fx, "");
    assert_true(p.is_root);
    fd = fs_open(&p, O_RDONLY | O_DIRECTORY, 0);
    assert_true(fd >= 0);
    assert_same_file(fd, fx->root);
    close(fd);
}

static void test_open_missing(void **state)
{
    struct fixture *fx = *state;
    struct fs_path p;

    setup_root(fx);
    p = resolve_in_root(fx, "nope");
    assert_int_equal(fs_open(&p, O_RDONLY, 0), -ENOENT);
    p = resolve_in_root(fx, "file.txt/x");
    assert_int_equal(fs_open(&p, O_RDONLY, 0), -ENOTDIR);
}

static void test_open_create(void **state)
{
    struct fixture *fx = *state;
    char path[PATH_MAX];
    struct fs_path p;
    struct stat st;
    int fd;

    setup_root(fx);
    p = resolve_in_root(fx, "sub/new");
    fd = fs_open(&p, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(stat(fmt(path, sizeof(path), "%s/sub/new", fx->root), &st), 0);
    assert_true(S_ISREG(st.st_mode));
    /* The mode is honoured (the umask can only clear bits). */
    assert_int_equal(st.st_mode & 0177, 0);
    assert_int_equal(fs_open(&p, O_WRONLY | O_CREAT | O_EXCL, 0600), -EEXIST);
}

static void test_open_symlink_escape_exdev(void **state)
{
    struct fixture *fx = *state;
    char created[PATH_MAX];
    struct fs_path p;

    setup_root(fx);
    p = resolve_in_root(fx, "esc_abs");
    assert_int_equal(fs_open(&p, O_RDONLY, 0), -EXDEV);
    p = resolve_in_root(fx, "esc_rel");
    assert_int_equal(fs_open(&p, O_RDONLY, 0), -EXDEV);
    p = resolve_in_root(fx, "esc_dir/secret");
    assert_int_equal(fs_open(&p, O_RDONLY, 0), -EXDEV);
    p = resolve_in_root(fx, "esc_dir");
    assert_int_equal(fs_open(&p, O_RDONLY | O_DIRECTORY, 0), -EXDEV);
    /* Creating through a dangling link must not create the file outside. */
    p = resolve_in_root(fx, "dangling_out");
    assert_int_equal(fs_open(&p, O_WRONLY | O_CREAT, 0644), -EXDEV);
    assert_exists(fmt(created, sizeof(created), "%s/created", fx->outside), false);
}

static void test_open_without_root_follows_links(void **state)
{
    struct fixture *fx = *state;
    char in[PATH_MAX];
    struct fs_path p;
    int fd;

    setup_no_root(fx);
    resolve_ok(fmt(in, sizeof(in), "%s/esc_abs", fx->root), &p);
    fd = fs_open(&p, O_RDONLY, 0);
    read_fd(fd, "secret");
    close(fd);
}

/* ---- fs_open_parent ----------------------------------------------------------------------- */

static void test_open_parent_root(void **state)
{
    struct fixture *fx = *state;
    char dir[PATH_MAX];
    const char *name = NULL;
    struct fs_path p;
    int fd;

    setup_root(fx);
    p = resolve_in_root(fx, "sub/file");
    fd = fs_open_parent(&p, &name);
    assert_true(fd >= 0);
    assert_string_equal(name, "file");
    assert_same_file(fd, fmt(dir, sizeof(dir), "%s/sub", fx->root));
    close(fd);

    p = resolve_in_root(fx, "top");
    fd = fs_open_parent(&p, &name);
    assert_true(fd >= 0);
    assert_string_equal(name, "top");
    assert_same_file(fd, fx->root);
    close(fd);

    name = "untouched";
    p = resolve_in_root(fx, "");
    assert_int_equal(fs_open_parent(&p, &name), -EINVAL);
    assert_string_equal(name, "untouched");

    /* The parent itself is confined. */
    p = resolve_in_root(fx, "esc_dir/x");
    assert_int_equal(fs_open_parent(&p, &name), -EXDEV);
}

static void test_open_parent_no_root(void **state)
{
    struct fixture *fx = *state;
    char in[PATH_MAX];
    const char *name = NULL;
    struct fs_path p;
    int fd;

    setup_no_root(fx);
    resolve_ok(fmt(in, sizeof(in), "%s/secret", fx->outside), &p);
    fd = fs_open_parent(&p, &name);
    assert_true(fd >= 0);
    assert_string_equal(name, "secret");
    assert_same_file(fd, fx->outside);
    close(fd);

    resolve_ok("/x", &p);
    fd = fs_open_parent(&p, &name);
    assert_true(fd >= 0);
    assert_string_equal(name, "x");
    assert_same_file(fd, "/");
    close(fd);

    resolve_ok("/", &p);
    assert_int_equal(fs_open_parent(&p, &name), -EINVAL);
}

/* ---- fs_mkdir_all / fs_mkdir_parents ------------------------------------------------------ */

static void test_mkdir_all_nested(void **state)
{
    struct fixture *fx = *state;
    char path[PATH_MAX];
    struct fs_path p;

    setup_root(fx);
    p = resolve_in_root(fx, "n1/n2/n3");
    assert_int_equal(fs_mkdir_all(&p), 0);
    assert_is_dir(fmt(path, sizeof(path), "%s/n1", fx->root));
    assert_is_dir(fmt(path, sizeof(path), "%s/n1/n2", fx->root));
    assert_is_dir(fmt(path, sizeof(path), "%s/n1/n2/n3", fx->root));
    /* Existing directories are fine. */
    assert_int_equal(fs_mkdir_all(&p), 0);
    p = resolve_in_root(fx, "sub");
    assert_int_equal(fs_mkdir_all(&p), 0);
    p = resolve_in_root(fx, "");
    assert_int_equal(fs_mkdir_all(&p), 0);
}

static void test_mkdir_all_file_in_the_way(void **state)
{
    struct fixture *fx = *state;
    struct fs_path p;

    setup_root(fx);
    p = resolve_in_root(fx, "file.txt/sub");
    assert_int_equal(fs_mkdir_all(&p), -EEXIST);
    p = resolve_in_root(fx, "file.txt");
    assert_int_equal(fs_mkdir_all(&p), -EEXIST);
    p = resolve_in_root(fx, "in_link/x");
    assert_int_equal(fs_mkdir_all(&p), -EEXIST);
}

static void test_mkdir_all_symlink_escape(void **state)
{
    struct fixture *fx = *state;
    char path[PATH_MAX];
    struct fs_path p;

    setup_root(fx);
    p = resolve_in_root(fx, "esc_dir/newdir/deeper");
    assert_int_equal(fs_mkdir_all(&p), -EXDEV);
    assert_exists(fmt(path, sizeof(path), "%s/newdir", fx->outside), false);
}

static void test_mkdir_all_no_root(void **state)
{
    struct fixture *fx = *state;
    char in[PATH_MAX], path[PATH_MAX];
    struct fs_path p;

    setup_no_root(fx);
    resolve_ok("a/b/c", &p);
    assert_int_equal(fs_mkdir_all(&p), 0);
    assert_is_dir(fmt(path, sizeof(path), "%s/a/b/c", fx->dir));
    resolve_ok(fmt(in, sizeof(in), "%s/file.txt/x", fx->root), &p);
    assert_int_equal(fs_mkdir_all(&p), -EEXIST);
}

static void test_mkdir_parents(void **state)
{
    struct fixture *fx = *state;
    char path[PATH_MAX];
    struct fs_path p;

    setup_root(fx);
    p = resolve_in_root(fx, "p1/p2/f");
    assert_int_equal(fs_mkdir_parents(&p), 0);
    assert_is_dir(fmt(path, sizeof(path), "%s/p1/p2", fx->root));
    assert_exists(fmt(path, sizeof(path), "%s/p1/p2/f", fx->root), false);
    p = resolve_in_root(fx, "top");
    assert_int_equal(fs_mkdir_parents(&p), 0);
    assert_exists(fmt(path, sizeof(path), "%s/top", fx->root), false);
    p = resolve_in_root(fx, "file.txt/x");
    assert_int_equal(fs_mkdir_parents(&p), -EEXIST);
}

/* ---- fs_path_child / fs_path_same --------------------------------------------------------- */

static void test_child_and_same(void **state)
{
    struct fixture *fx = *state;
    char want[PATH_MAX];
    struct fs_path p, c, q;

    setup_root(fx);
    p = resolve_in_root(fx, "");
    assert_int_equal(fs_path_child(&p, "a/b", &c), 0);
    assert_string_equal(c.rel, "a/b");
    assert_string_equal(c.display, fmt(want, sizeof(want), "%s/a/b", fx->root));
    assert_false(c.is_root);
    q = resolve_in_root(fx, "a/b");
    assert_true(fs_path_same(&c, &q));
    assert_false(fs_path_same(&p, &q));

    p = resolve_in_root(fx, "sub");
    assert_int_equal(fs_path_child(&p, "x", &c), 0);
    assert_string_equal(c.rel, "sub/x");
}

/* ---- fs_errno_problem --------------------------------------------------------------------- */

static void check_errno(int e, int status, enum problem_kind kind)
{
    struct problem err;

    assert_int_equal(fs_errno_problem(&err, -e, "/some/path", "read"), -1);
    if (err.status != status || err.kind != kind)
        fail_msg("errno %d (%s): got %d %s, want %d %s", e, strerror(e), err.status,
                 problem_kind_name(err.kind), status, problem_kind_name(kind));
    assert_non_null(strstr(err.message, "/some/path"));
}

static void test_errno_problem(void **state)
{
    struct problem err;

    check_errno(ENOENT, 404, PROBLEM_NOT_FOUND);
    check_errno(EISDIR, 409, PROBLEM_CONFLICT);
    check_errno(ENOTDIR, 409, PROBLEM_CONFLICT);
    check_errno(EEXIST, 409, PROBLEM_CONFLICT);
    check_errno(ENOTEMPTY, 409, PROBLEM_CONFLICT);
    check_errno(EXDEV, 403, PROBLEM_PERMISSION_DENIED);
    check_errno(EACCES, 403, PROBLEM_PERMISSION_DENIED);
    check_errno(ENOSPC, 507, PROBLEM_STREAM_ERROR);
    check_errno(EIO, 502, PROBLEM_STREAM_ERROR);
    check_errno(EBADF, 502, PROBLEM_STREAM_ERROR);
    check_errno(EMFILE, 502, PROBLEM_STREAM_ERROR);
    check_errno(ETXTBSY, 502, PROBLEM_STREAM_ERROR);

    /* not_found carries the path as details {id, resource}. */
    fs_errno_problem(&err, -ENOENT, "/some/path", "read");
    assert_string_equal(err.id, "/some/path");
    assert_non_null(err.resource);
    assert_string_equal(err.resource, "path");
}

static void test_errno_problem_long_path(void **state)
{
    char *path = malloc(LIM_PATH_BYTES + 1);
    struct problem err;

    assert_non_null(path);
    memset(path, 'p', LIM_PATH_BYTES);
    path[0] = '/';
    path[LIM_PATH_BYTES] = '\0';
    assert_int_equal(fs_errno_problem(&err, -EIO, path, "write"), -1);
    assert_int_equal(strlen(err.message), PROBLEM_MESSAGE_MAX - 1);
    assert_int_equal(fs_errno_problem(&err, -ENOENT, path, "write"), -1);
    assert_int_equal(err.status, 404);
    free(path);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup_tree, teardown_tree)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_empty_is_home),
        T(test_tilde_is_home),
        T(test_relative_is_under_home),
        T(test_relative_dotdot_400),
        T(test_absolute_kept),
        T(test_trailing_slashes_stripped),
        T(test_too_long_400),
        T(test_home_variants),
        T(test_out_untouched_on_failure),
        T(test_root_inside),
        T(test_root_itself_is_root),
        T(test_root_normalises),
        T(test_root_outside_403),
        T(test_root_dotdot_escape_403),
        T(test_root_home_outside),
        T(test_setup_errors),
        T(test_teardown_between_setups),
        T(test_root_is_canonicalised),
        T(test_root_slash),
        T(test_open_inside),
        T(test_open_missing),
        T(test_open_create),
        T(test_open_symlink_escape_exdev),
        T(test_open_without_root_follows_links),
        T(test_open_parent_root),
        T(test_open_parent_no_root),
        T(test_mkdir_all_nested),
        T(test_mkdir_all_file_in_the_way),
        T(test_mkdir_all_symlink_escape),
        T(test_mkdir_all_no_root),
        T(test_mkdir_parents),
        T(test_child_and_same),
        T(test_errno_problem),
        T(test_errno_problem_long_path),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
