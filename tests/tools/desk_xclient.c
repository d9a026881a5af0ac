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
 *
 * Usage: desk_xclient X Y WIDTH HEIGHT   (DISPLAY from the environment)
 */
#include <X11/Xlib.h>
#include <X11/Xutil.h>
#include <X11/keysym.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static void paint(Display *d, Window w, GC gc, int width, int height)
{
    int hw = width / 2, hh = height / 2;

    XSetForeground(d, gc, rgb(255, 0, 0));
    XFillRectangle(d, w, gc, 0, 0, (unsigned)hw, (unsigned)hh);
    XSetForeground(d, gc, rgb(0, 255, 0));
    XFillRectangle(d, w, gc, hw, 0, (unsigned)(width - hw), (unsigned)hh);
    XSetForeground(d, gc, rgb(0, 0, 255));
    XFillRectangle(d, w, gc, 0, hh, (unsigned)hw, (unsigned)(height - hh));
    XSetForeground(d, gc, rgb(255, 255, 255));
    XFillRectangle(d, w, gc, hw, hh, (unsigned)(width - hw), (unsigned)(height - hh));
}

int main(int argc, char **argv)
{
    Display *d;
    Window w;
    GC gc;
    XSetWindowAttributes a;
    int x, y, width, height;
    int ready = 0;

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
