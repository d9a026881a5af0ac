/*
 * desk_xclient: a tiny X client for the desktop tests.  It maps an
 * override-redirect window (so no window manager moves it) at the given
 * geometry, painted in four known quadrants (red, green / blue, white),
 * takes the keyboard focus, and prints one line per event on stdout:
 *
 *   ready <window id>
 *   press <button> <x> <y> <root x> <root y>
 *   release <button> <x> <y> <root x> <root y>
 *   key <keysym name> <state>        (a key press)
 *   char <code point, hex>           (what that press types, when it types)
 *   keyup <keysym name>
 *   filled <rrggbb>                  (after a "fill" command, once the server drew it)
 *
 * Commands on stdin, one a line (stdin may be /dev/null):
 *
 *   fill <rrggbb>      paint the whole window in one colour (the damage tests' screen change)
 *
 * Usage: desk_xclient X Y WIDTH HEIGHT   (DISPLAY from the environment)
 */
#include <X11/Xlib.h>
#include <X11/Xutil.h>
#include <X11/keysym.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static unsigned long rgb(unsigned r, unsigned g, unsigned b)
{
    return (unsigned long)r << 16 | (unsigned long)g << 8 | b; /* 24-bit TrueColor */
}

static long codepoint(KeySym ks)
{
    if ((ks >= 0x20 && ks <= 0x7e) || (ks >= 0xa0 && ks <= 0xff))
        return (long)ks;
    if ((ks & 0xff000000UL) == 0x01000000UL)
        return (long)(ks & 0xffffff);
    if (ks == XK_Return || ks == XK_KP_Enter)
        return '\n';
    if (ks == XK_Tab)
        return '\t';
    return -1;
}

static long fill = -1; /* one colour for the whole window, -1 for the quadrants */

static void paint(Display *d, Window w, GC gc, int width, int height)
{
    int hw = width / 2, hh = height / 2;

    if (fill >= 0) {
        XSetForeground(d, gc, (unsigned long)fill);
        XFillRectangle(d, w, gc, 0, 0, (unsigned)width, (unsigned)height);
        return;
    }
    XSetForeground(d, gc, rgb(255, 0, 0));
    XFillRectangle(d, w, gc, 0, 0, (unsigned)hw, (unsigned)hh);
    XSetForeground(d, gc, rgb(0, 255, 0));
    XFillRectangle(d, w, gc, hw, 0, (unsigned)(width - hw), (unsigned)hh);
    XSetForeground(d, gc, rgb(0, 0, 255));
    XFillRectangle(d, w, gc, 0, hh, (unsigned)hw, (unsigned)(height - hh));
    XSetForeground(d, gc, rgb(255, 255, 255));
    XFillRectangle(d, w, gc, hw, hh, (unsigned)(width - hw), (unsigned)(height - hh));
}

/* Reads stdin and runs the complete command lines; returns -1 once stdin ended. */
static int command(Display *d, Window w, GC gc, int width, int height)
{
    static char line[256];
    static size_t len;
    ssize_t n = read(0, line + len, sizeof(line) - 1 - len);
    char *nl;

    if (n <= 0)
        return -1;
    len += (size_t)n;
    line[len] = '\0';
    while ((nl = strchr(line, '\n'))) {
        char *end;
        *nl = '\0';
        if (strncmp(line, "fill ", 5) == 0) {
            long c = strtol(line + 5, &end, 16);
            if (end != line + 5 && c >= 0 && c <= 0xffffff) {
                fill = c;
                paint(d, w, gc, width, height);
                XSync(d, False);
                printf("filled %06lx\n", c);
            }
        }
        len -= (size_t)(nl + 1 - line);
        memmove(line, nl + 1, len + 1);
    }
    if (len == sizeof(line) - 1)
        len = 0; /* an overlong line: drop it */
    return 0;
}

int main(int argc, char **argv)
{
    Display *d;
    Window w;
    GC gc;
    XSetWindowAttributes a;
    int x, y, width, height;
    int ready = 0, stdin_fd = 0;

    if (argc != 5) {
        fprintf(stderr, "usage: desk_xclient X Y WIDTH HEIGHT\n");
        return 2;
    }
    x = (int)strtol(argv[1], NULL, 10);
    y = (int)strtol(argv[2], NULL, 10);
    width = (int)strtol(argv[3], NULL, 10);
    height = (int)strtol(argv[4], NULL, 10);
    setvbuf(stdout, NULL, _IOLBF, 0);
    d = XOpenDisplay(NULL);
    if (!d) {
        fprintf(stderr, "desk_xclient: cannot open display\n");
        return 1;
    }
    a.override_redirect = True;
    a.background_pixel = rgb(0, 0, 0);
    a.event_mask = ExposureMask | KeyPressMask | KeyReleaseMask | ButtonPressMask |
                   ButtonReleaseMask | StructureNotifyMask;
    w = XCreateWindow(d, DefaultRootWindow(d), x, y, (unsigned)width, (unsigned)height, 0,
                      CopyFromParent, InputOutput, CopyFromParent,
                      CWOverrideRedirect | CWBackPixel | CWEventMask, &a);
    XStoreName(d, w, "desk_xclient");
    gc = XCreateGC(d, w, 0, NULL);
    XMapRaised(d, w);
    for (;;) {
        XEvent ev;
        char buf[64];
        KeySym ks = NoSymbol;
        long cp;

        if (!XPending(d)) {
            /* Nothing queued: wait for the server or a command on stdin. */
            struct pollfd p[2] = {{ConnectionNumber(d), POLLIN, 0}, {stdin_fd, POLLIN, 0}};
            if (poll(p, 2, -1) < 0)
                continue;
            if (p[1].revents)
                stdin_fd = command(d, w, gc, width, height);
            continue;
        }
        XNextEvent(d, &ev);
        switch (ev.type) {
        case Expose:
            paint(d, w, gc, width, height);
            if (!ready) {
                XSetInputFocus(d, w, RevertToParent, CurrentTime);
                XSync(d, False);
                printf("ready %lu\n", (unsigned long)w);
                ready = 1;
            }
            break;
        case MappingNotify:
            XRefreshKeyboardMapping(&ev.xmapping);
            break;
        case ButtonPress:
        case ButtonRelease:
            printf("%s %u %d %d %d %d\n", ev.type == ButtonPress ? "press" : "release",
                   ev.xbutton.button, ev.xbutton.x, ev.xbutton.y, ev.xbutton.x_root,
                   ev.xbutton.y_root);
            break;
        case KeyPress:
            XLookupString(&ev.xkey, buf, sizeof(buf), &ks, NULL);
            printf("key %s %u\n",
                   ks != NoSymbol ? XKeysymToString(ks) ? XKeysymToString(ks) : "?" : "NoSymbol",
                   ev.xkey.state);
            cp = codepoint(ks);
            if (cp >= 0)
                printf("char %lx\n", cp);
            break;
        case KeyRelease:
            XLookupString(&ev.xkey, buf, sizeof(buf), &ks, NULL);
            printf("keyup %s\n",
                   ks != NoSymbol && XKeysymToString(ks) ? XKeysymToString(ks) : "NoSymbol");
            break;
        default:
            break;
        }
    }
}
