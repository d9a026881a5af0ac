/*
 * desk_xwin: a managed top-level window for the desktop window tests.
 * Unlike desk_xclient (override-redirect, so no window manager touches it),
 * this window is an ordinary application window: the window manager frames
 * it, lists it in _NET_CLIENT_LIST and may focus, move and resize it.
 *
 *   desk_xwin [--legacy-name] TITLE X Y WIDTH HEIGHT   (DISPLAY from the environment)
 *
 * TITLE goes into _NET_WM_NAME (UTF8_STRING) and WM_NAME, or only into
 * WM_NAME (Latin-1) with --legacy-name; an empty TITLE sets no name at all.
 * The position and size are asked for with USPosition/USSize hints.  It
 * prints "ready <window id>" once mapped and exposed, then one line per
 * change: "configure <x> <y> <width> <height>" (root coordinates of the
 * window itself), "focus in" / "focus out".
 *
 *   desk_xwin --silent-owner SELECTION
 *
 * takes the selection (CLIPBOARD, PRIMARY...) for an unmapped window, prints
 * "ready <window id>" and then never answers a request for it: an owner that
 * hangs, for the clipboard's timeout.
 */
#include <X11/Xatom.h>
#include <X11/Xlib.h>
#include <X11/Xutil.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int silent_owner(const char *selection)
{
    Display *d = XOpenDisplay(NULL);
    Window w;
    XEvent ev;

    if (!d) {
        fprintf(stderr, "desk_xwin: cannot open display\n");
        return 1;
    }
    w = XCreateSimpleWindow(d, DefaultRootWindow(d), 0, 0, 1, 1, 0, 0, 0);
    XSetSelectionOwner(d, XInternAtom(d, selection, False), w, CurrentTime);
    XSync(d, False);
    printf("ready %lu\n", (unsigned long)w);
    for (;;)
        XNextEvent(d, &ev); /* SelectionRequest: ignored on purpose */
}

int main(int argc, char **argv)
{
    Display *d;
    Window w, child;
    XSetWindowAttributes a;
    XSizeHints hints;
    int arg = 1, legacy = 0, ready = 0, x, y, width, height;
    const char *title;

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 3 && strcmp(argv[1], "--silent-owner") == 0)
        return silent_owner(argv[2]);
    if (argc > 1 && strcmp(argv[1], "--legacy-name") == 0) {
        legacy = 1;
        arg++;
    }
    if (argc - arg != 5) {
        fprintf(stderr, "usage: desk_xwin [--legacy-name] TITLE X Y WIDTH HEIGHT\n");
        return 2;
    }
    title = argv[arg];
    x = (int)strtol(argv[arg + 1], NULL, 10);
    y = (int)strtol(argv[arg + 2], NULL, 10);
    width = (int)strtol(argv[arg + 3], NULL, 10);
    height = (int)strtol(argv[arg + 4], NULL, 10);
    d = XOpenDisplay(NULL);
    if (!d) {
        fprintf(stderr, "desk_xwin: cannot open display\n");
        return 1;
    }
    a.background_pixel = 0x336699;
    a.event_mask = ExposureMask | StructureNotifyMask | FocusChangeMask;
    w = XCreateWindow(d, DefaultRootWindow(d), x, y, (unsigned)width, (unsigned)height, 0,
                      CopyFromParent, InputOutput, CopyFromParent, CWBackPixel | CWEventMask, &a);
    memset(&hints, 0, sizeof(hints));
    hints.flags = USPosition | USSize;
    hints.x = x;
    hints.y = y;
    hints.width = width;
    hints.height = height;
    XSetWMNormalHints(d, w, &hints);
    if (*title && legacy) {
        XStoreName(d, w, title);
    } else if (*title) {
        XChangeProperty(d, w, XInternAtom(d, "_NET_WM_NAME", False),
                        XInternAtom(d, "UTF8_STRING", False), 8, PropModeReplace,
                        (const unsigned char *)title, (int)strlen(title));
        XStoreName(d, w, "legacy name (should not be shown)");
    }
    XMapWindow(d, w);
    for (;;) {
        XEvent ev;
        int rx, ry;

        XNextEvent(d, &ev);
        switch (ev.type) {
        case Expose:
            if (!ready) {
                XSync(d, False);
                printf("ready %lu\n", (unsigned long)w);
                ready = 1;
            }
            break;
        case ConfigureNotify:
            XTranslateCoordinates(d, w, DefaultRootWindow(d), 0, 0, &rx, &ry, &child);
            printf("configure %d %d %d %d\n", rx, ry, ev.xconfigure.width, ev.xconfigure.height);
            break;
        case FocusIn:
        case FocusOut:
            if (ev.xfocus.mode == NotifyNormal || ev.xfocus.mode == NotifyWhileGrabbed)
                printf("focus %s\n", ev.type == FocusIn ? "in" : "out");
            break;
        default:
            break;
        }
    }
}
