/*
 * `agentd install desktop [--yes] [--print-only] [--package-manager apt|dnf|apk] [--no-fonts]`:
 * installs the packages the desktop runtime needs (Xvfb, openbox, ffmpeg, a
 * font) with the system's package manager.  The list is the one in
 * images/desktop_packages.h (which images/install-deps.sh reads too), in
 * Debian names; the table below maps each name for dnf and apk.
 *
 * A command-line tool, not the daemon: it runs the package manager as a
 * child with the terminal's stdio and waits for it.  Without --yes it asks
 * first when stdin is a terminal, and refuses when it is not (a script must
 * say --yes).  Exit status: 0 installed (or printed), 1 the install failed,
 * was declined or no package manager was found, 2 bad usage (including no
 * --yes without a terminal).
 */
#include "install_desktop.h"
#include "opts.h"

#include "../images/desktop_packages.h"

#include <errno.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define MAX_ARGS 48

static const char usage[] =
    "Usage: agentd install desktop [--yes] [--print-only] [--package-manager apt|dnf|apk]\n"
    "                              [--no-fonts]\n"
    "\n"
    "Installs what the desktop runtime needs (Xvfb, openbox, ffmpeg, a font) with the\n"
    "system's package manager (as root, or through sudo).\n"
    "\n"
    "  -y, --yes              do not ask (required when stdin is not a terminal)\n"
    "  --print-only           print the commands, run nothing\n"
    "  --package-manager PM   apt, dnf or apk (default: the first of apt-get, dnf, apk on PATH)\n"
    "  --no-fonts             leave out the font package\n"
    "\n"
    "Exit status: 0 installed (or printed), 1 the install failed or was declined,\n"
    "2 bad usage.\n";

enum pm { PM_APT, PM_DNF, PM_APK, PM_COUNT };

static const char *const pm_names[PM_COUNT] = {"apt", "dnf", "apk"};
static const char *const pm_bins[PM_COUNT] = {"apt-get", "dnf", "apk"};

/*
 * Debian name -> dnf (Fedora; RHEL needs EPEL) and apk (Alpine, community)
 * names; a value may name several packages.
 */
static const struct {
    const char *apt, *dnf, *apk;
} pkg_map[] = {
    {"xvfb", "xorg-x11-server-Xvfb", "xvfb"},
    {"openbox", "openbox", "openbox"},
    {"ffmpeg", "ffmpeg-free", "ffmpeg"},
    {"fonts-dejavu-core", "dejavu-sans-fonts dejavu-sans-mono-fonts dejavu-serif-fonts",
     "font-dejavu"},
};

/* One command: argv (pointers into words, or literals) with a NULL at the end. */
struct cmd {
    const char *argv[MAX_ARGS + 1];
    int argc;
};

static int cmd_add(struct cmd *c, const char *arg)
{
    if (c->argc >= MAX_ARGS)
        return -E2BIG;
    c->argv[c->argc++] = arg;
    c->argv[c->argc] = NULL;
    return 0;
}

/* The next space-separated word of *s (NUL-terminated in place), or NULL at the end. */
static char *next_word(char **s)
{
    char *w = *s, *end;

    while (*w == ' ')
        w++;
    if (!*w)
        return NULL;
    end = strchr(w, ' ');
    if (end) {
        *end = '\0';
        *s = end + 1;
    } else {
        *s = w + strlen(w);
    }
    return w;
}

/* Splits the space-separated names in list (modified in place) onto c. */
static int cmd_add_words(struct cmd *c, char *list)
{
    for (char *w; (w = next_word(&list));)
        if (cmd_add(c, w) < 0)
            return -E2BIG;
    return 0;
}

/* True when an executable named name is on PATH. */
static bool on_path(const char *name)
{
    const char *path = getenv("PATH");
    char buf[4096];

    if (!path || !*path)
        return false;
    for (const char *p = path; p;) {
        const char *end = strchr(p, ':');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        struct stat st;
        int len = snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, n ? p : ".", name);
        if (len > 0 && (size_t)len < sizeof(buf) && stat(buf, &st) == 0 && S_ISREG(st.st_mode) &&
            access(buf, X_OK) == 0)
            return true;
        p = end ? end + 1 : NULL;
    }
    return false;
}

/*
 * The package names for pm, space-separated, into dst.  Returns 0, or -1
 * after printing which name has no mapping.
 */
/* The font package is there (where Debian, Fedora and Alpine put DejaVu Sans). */
static bool have_fonts(void)
{
    static const char *const paths[] = {
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
        "/usr/share/fonts/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/TTF/DejaVuSans.ttf",
    };

    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
        if (access(paths[i], R_OK) == 0)
            return true;
    return false;
}

static int package_list(enum pm pm, bool fonts, char *dst, size_t cap)
{
    char apt[512], *rest = apt;
    size_t len = 0;

    snprintf(apt, sizeof(apt), "%s%s%s", DESKTOP_PACKAGES, fonts ? " " : "",
             fonts ? DESKTOP_FONT_PACKAGES : "");
    dst[0] = '\0';
    for (char *w; (w = next_word(&rest));) {
        const char *name = NULL;
        for (size_t i = 0; i < sizeof(pkg_map) / sizeof(pkg_map[0]); i++)
            if (strcmp(pkg_map[i].apt, w) == 0)
                name = pm == PM_APT   ? pkg_map[i].apt
                       : pm == PM_DNF ? pkg_map[i].dnf
                                      : pkg_map[i].apk;
        if (!name) {
            fprintf(stderr, "agentd: no %s name for the package '%s'\n", pm_names[pm], w);
            return -1;
        }
        int n = snprintf(dst + len, cap - len, "%s%s", len ? " " : "", name);
        if (n < 0 || (size_t)n >= cap - len)
            return -1;
        len += (size_t)n;
    }
    return 0;
}

/*
 * Builds the commands for pm into cmds (1 or 2 of them); sudo is put in
 * front when not root.  words holds the package names (modified).
 */
static int build_commands(enum pm pm, const char *sudo, char *words, struct cmd *cmds, int *ret_n)
{
    int n = 0;

    memset(cmds, 0, 2 * sizeof(*cmds));
    if (pm == PM_APT) {
        /* A fresh image has no package lists. */
        if (sudo)
            cmd_add(&cmds[n], sudo);
        cmd_add(&cmds[n], "apt-get");
        cmd_add(&cmds[n], "update");
        n++;
    }
    if (sudo)
        cmd_add(&cmds[n], sudo);
    cmd_add(&cmds[n], pm_bins[pm]);
    if (pm == PM_APT) {
        cmd_add(&cmds[n], "install");
        cmd_add(&cmds[n], "-y");
        cmd_add(&cmds[n], "--no-install-recommends");
    } else if (pm == PM_DNF) {
        cmd_add(&cmds[n], "install");
        cmd_add(&cmds[n], "-y");
    } else {
        cmd_add(&cmds[n], "add");
        cmd_add(&cmds[n], "--no-cache");
    }
    if (cmd_add_words(&cmds[n], words) < 0)
        return -1;
    *ret_n = n + 1;
    return 0;
}

static void print_cmd(FILE *f, const char *indent, const struct cmd *c)
{
    fputs(indent, f);
    for (int i = 0; i < c->argc; i++)
        fprintf(f, "%s%s", i ? " " : "", c->argv[i]);
    fputc('\n', f);
}

/* Runs c with the terminal's stdio; returns its exit status, or -1 when it could not run. */
static int run_cmd(const struct cmd *c)
{
    char *av[MAX_ARGS + 1];
    pid_t pid;
    int status, e;

    /* posix_spawnp takes char *const []: the same pointers, never written through. */
    memcpy(av, c->argv, sizeof(av));
    fflush(stdout);
    e = posix_spawnp(&pid, av[0], NULL, NULL, av, environ);
    if (e != 0) {
        fprintf(stderr, "agentd: cannot run %s: %s\n", c->argv[0], strerror(e));
        return -1;
    }
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return -1;
    }
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    fprintf(stderr, "agentd: %s was killed by signal %d\n", c->argv[0], WTERMSIG(status));
    return 128 + WTERMSIG(status);
}

/* Asks on the terminal; true for y/yes. */
static bool confirm(void)
{
    char line[64];

    fputs("Proceed? [y/N] ", stdout);
    fflush(stdout);
    if (!fgets(line, sizeof(line), stdin))
        return false;
    return strcmp(line, "y\n") == 0 || strcmp(line, "Y\n") == 0 || strcmp(line, "yes\n") == 0 ||
           strcmp(line, "y") == 0;
}

enum { OPT_YES = 256, OPT_PRINT, OPT_PM, OPT_NO_FONTS };

static const struct option options[] = {
    {"yes", no_argument, NULL, OPT_YES},
    {"print-only", no_argument, NULL, OPT_PRINT},
    {"package-manager", required_argument, NULL, OPT_PM},
    {"no-fonts", no_argument, NULL, OPT_NO_FONTS},
    {"help", no_argument, NULL, OPTS_HELP},
    {NULL, 0, NULL, 0},
};

struct desktop_args {
    bool yes, print_only, fonts;
    int pm;
};

static int desktop_option(int key, const char *v, void *ctx)
{
    struct desktop_args *a = ctx;

    switch (key) {
    case 'y':
    case OPT_YES:
        a->yes = true;
        break;
    case OPT_PRINT:
        a->print_only = true;
        break;
    case OPT_NO_FONTS:
        a->fonts = false;
        break;
    case OPT_PM:
        for (int i = 0; i < PM_COUNT; i++)
            if (strcmp(v, pm_names[i]) == 0)
                a->pm = i;
        if (a->pm < 0)
            return opts_error("--package-manager must be apt, dnf or apk (not '%s')", v);
        break;
    }
    return 0;
}

int install_desktop_main(int argc, char **argv)
{
    struct desktop_args args = {.fonts = true, .pm = -1};
    const struct opts o = {"install desktop", usage, "y", options, desktop_option, &args};
    int first = opts_parse(&o, argc, argv);
    bool yes, print_only, fonts;
    int pm, n = 0;
    char words[1024];
    struct cmd cmds[2];
    const char *sudo = NULL;

    if (first < 0)
        return first == OPTS_EXIT_OK ? 0 : 2;
    yes = args.yes;
    print_only = args.print_only;
    fonts = args.fonts;
    pm = args.pm;
    if (first < argc) {
        fprintf(stderr, "agentd: unexpected argument '%s' for install desktop\n", argv[first]);
        fputs(usage, stderr);
        return 2;
    }
    for (int i = 0; pm < 0 && i < PM_COUNT; i++)
        if (on_path(pm_bins[i]))
            pm = i;
    if (pm < 0) {
        fputs("agentd: no supported package manager on PATH (apt-get, dnf, apk); install Xvfb, "
              "openbox and ffmpeg yourself, or see --print-only --package-manager PM\n",
              stderr);
        return 1;
    }
    /* Nothing missing: no package lists to refresh, nothing to run. */
    if (!print_only && on_path("Xvfb") && on_path("openbox") && on_path("ffmpeg") &&
        (!fonts || have_fonts())) {
        printf("agentd: the desktop runtime is already installed (Xvfb, openbox, ffmpeg%s); "
               "nothing to do\n",
               fonts ? ", DejaVu fonts" : "");
        return 0;
    }
    if (geteuid() != 0 && on_path("sudo"))
        sudo = "sudo";
    if (package_list(pm, fonts, words, sizeof(words)) < 0 ||
        build_commands(pm, sudo, words, cmds, &n) < 0)
        return 1;
    if (print_only) {
        for (int i = 0; i < n; i++)
            print_cmd(stdout, "", &cmds[i]);
        return 0;
    }
    if (!yes && !isatty(STDIN_FILENO)) {
        fputs("agentd: install desktop needs --yes when stdin is not a terminal (it would run:\n",
              stderr);
        for (int i = 0; i < n; i++)
            print_cmd(stderr, "  ", &cmds[i]);
        fputs(")\n", stderr);
        return 2;
    }
    if (geteuid() != 0 && !sudo)
        fputs("agentd: not root and no sudo on PATH: the install will probably fail\n", stderr);
    printf("agentd will run:\n");
    for (int i = 0; i < n; i++)
        print_cmd(stdout, "  ", &cmds[i]);
    if (!yes && !confirm()) {
        fputs("agentd: nothing installed\n", stderr);
        return 1;
    }
    if (pm == PM_APT)
        setenv("DEBIAN_FRONTEND", "noninteractive", 1);
    for (int i = 0; i < n; i++) {
        int st = run_cmd(&cmds[i]);
        if (st != 0) {
            if (st > 0)
                fprintf(stderr, "agentd: %s exited with status %d; the desktop is not installed\n",
                        cmds[i].argv[sudo ? 1 : 0], st);
            return 1;
        }
    }
    printf("agentd: the desktop runtime is installed (POST /v1/desktop/start to use it)\n");
    return 0;
}
