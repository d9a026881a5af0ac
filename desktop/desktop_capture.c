/*
 * desktop_capture: screen pixels into memory (X thread) and the pure pixel
 * work on a captured frame (crosshair, area-averaging downscale), which
 * runs on the worker pool.
 *
 * Capture uses one persistent MIT-SHM segment sized for the whole root
 * window: the server writes the pixels straight into our memory, one round
 * trip, no copy through the socket.  The segment is marked for removal
 * (IPC_RMID) as soon as both sides are attached, so nothing outlives the
 * daemon even after a crash, and it is re-created when the root grows.
 * Without MIT-SHM (a remote or restricted server) XGetImage does the same
 * through the socket.
 */
#include "desktop_internal.h"

#include "../stream/log.h"
#include "../stream/xmalloc.h"

#include <X11/Xutil.h>
#include <X11/extensions/Xfixes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>

#define CROSSHAIR_ARM 10

void desk__image_free(struct desk_image *im)
{
    free(im->px);
    im->px = NULL;
}

void desk__capture_release(struct desk_x *x)
{
    if (x->shm_attached && !x->dead)
        XShmDetach(x->dpy, &x->shm);
    x->shm_attached = false;
    if (x->shm.shmaddr && x->shm.shmaddr != (char *)-1)
        shmdt(x->shm.shmaddr);
    x->shm.shmaddr = NULL;
    x->shm.shmid = -1;
    x->shm_bytes = 0;
}

/* Makes sure a segment of at least bytes is attached on both sides. */
static bool shm_ensure(struct desk_x *x, size_t bytes)
{
    if (x->shm_attached && x->shm_bytes >= bytes)
        return true;
    desk__capture_release(x);
    x->shm.shmid = shmget(IPC_PRIVATE, bytes, IPC_CREAT | 0600);
    if (x->shm.shmid < 0)
        goto fail;
    x->shm.shmaddr = shmat(x->shm.shmid, NULL, 0);
    if (x->shm.shmaddr == (char *)-1) {
        shmctl(x->shm.shmid, IPC_RMID, NULL);
        goto fail;
    }
    x->shm.readOnly = False;
    x->x_error = 0;
    XShmAttach(x->dpy, &x->shm);
    XSync(x->dpy, False);
    /* Both sides are attached (or the server refused): the segment goes when they detach. */
    shmctl(x->shm.shmid, IPC_RMID, NULL);
    if (x->x_error || x->dead) {
        x->x_error = 0;
        goto fail;
    }
    x->shm_attached = true;
    x->shm_bytes = bytes;
    return true;
fail:
    desk__capture_release(x);
    log_info(DESK_TAG, "MIT-SHM unavailable; capturing with XGetImage");
    x->have_shm = false;
    return false;
}

static bool format_ok(const XImage *img)
{
    return img->bits_per_pixel == 32 && img->red_mask == 0xff0000 && img->green_mask == 0xff00 &&
           img->blue_mask == 0xff && img->byte_order == LSBFirst;
}

/* Copies an XImage's rows into a new BGRX frame. */
static int copy_out(const XImage *img, struct desk_image *out, struct problem *err)
{
    size_t row = (size_t)img->width * 4;

    if (!format_ok(img))
        return problem_set(err, 502, PROBLEM_DESKTOP_SCREENSHOT_FAILED,
                           "unsupported X visual (%d bits per pixel); use a 24-bit TrueColor "
                           "screen",
                           img->bits_per_pixel);
    out->width = img->width;
    out->height = img->height;
    out->stride = row;
    out->px = xmalloc(row * (size_t)img->height);
    for (int y = 0; y < img->height; y++)
        memcpy(out->px + row * (size_t)y, img->data + (size_t)img->bytes_per_line * (size_t)y, row);
    return 0;
}

static int grab(struct desk_x *x, int rx, int ry, int rw, int rh, struct desk_image *out,
                struct problem *err)
{
    XImage *img;
    int r;

    if (x->have_shm && shm_ensure(x, (size_t)x->width * (size_t)x->height * 4)) {
        img = XShmCreateImage(x->dpy, x->visual, (unsigned)x->depth, ZPixmap, x->shm.shmaddr,
                              &x->shm, (unsigned)rw, (unsigned)rh);
        if (img) {
            x->x_error = 0;
            if (XShmGetImage(x->dpy, x->root, img, rx, ry, AllPlanes) && !x->x_error) {
                r = copy_out(img, out, err);
                img->data = NULL; /* the segment is ours, not Xlib's to free */
                XDestroyImage(img);
                return r;
            }
            img->data = NULL;
            XDestroyImage(img);
        }
        if (x->dead)
            return problem_set(err, 503, PROBLEM_DESKTOP_RUNTIME_FAILED,
                               "the X server went away during the capture");
    }
    x->x_error = 0;
    img = XGetImage(x->dpy, x->root, rx, ry, (unsigned)rw, (unsigned)rh, AllPlanes, ZPixmap);
    if (!img)
        return problem_set(err, 502, PROBLEM_DESKTOP_SCREENSHOT_FAILED,
                           "the X server could not read the screen (error %d)", x->x_error);
    r = copy_out(img, out, err);
    XDestroyImage(img);
    return r;
}

static void pointer(struct desk_x *x, int *ret_x, int *ret_y)
{
    Window root, child;
    int wx, wy;
    unsigned mask;

    if (x->have_xfixes) {
        XFixesCursorImage *ci = XFixesGetCursorImage(x->dpy);
        if (ci) {
            *ret_x = ci->x;
            *ret_y = ci->y;
            XFree(ci);
            return;
        }
    }
    if (!XQueryPointer(x->dpy, x->root, &root, &child, ret_x, ret_y, &wx, &wy, &mask))
        *ret_x = *ret_y = 0;
}

int desk__capture(struct desk_x *x, const struct desk_shot_req *q, struct desk_image *out,
                  int *ret_cursor_x, int *ret_cursor_y, struct problem *err)
{
    int rx = 0, ry = 0, rw = x->width, rh = x->height;

    if (q->region) {
        /* Clip like the reference: the part inside the screen, 1x1 when none is. */
        long x0 = q->x, y0 = q->y, x1 = (long)q->x + q->width, y1 = (long)q->y + q->height;
        if (x1 > x->width)
            x1 = x->width;
        if (y1 > x->height)
            y1 = x->height;
        if (x0 >= x1 || y0 >= y1) {
            out->width = out->height = 1;
            out->stride = 4;
            out->px = xcalloc(1, 4);
            pointer(x, ret_cursor_x, ret_cursor_y);
            return 0;
        }
        rx = (int)x0;
        ry = (int)y0;
        rw = (int)(x1 - x0);
        rh = (int)(y1 - y0);
    }
    if (grab(x, rx, ry, rw, rh, out, err) < 0)
        return -1;
    pointer(x, ret_cursor_x, ret_cursor_y);
    return 0;
}

static void put_red(struct desk_image *im, int x, int y)
{
    uint8_t *p;

    if (x < 0 || y < 0 || x >= im->width || y >= im->height)
        return;
    p = im->px + im->stride * (size_t)y + (size_t)x * 4;
    p[0] = 0;   /* B */
    p[1] = 0;   /* G */
    p[2] = 255; /* R */
}

void desk__draw_crosshair(struct desk_image *im, int cx, int cy)
{
    for (int d = -CROSSHAIR_ARM; d <= CROSSHAIR_ARM; d++) {
        put_red(im, cx + d, cy);
        put_red(im, cx, cy + d);
    }
}

int desk__scaled_side(int side, double scale)
{
    double v = floor((double)side * scale + 0.5);

    return v < 1 ? 1 : v > side ? side : (int)v;
}

/*
 * Area weights of one axis: output pixel o covers source [o*f, (o+1)*f),
 * f = src/dst >= 1.  Each output gets first[o], count[o] and weights summing
 * to exactly 256.
 */
struct axis {
    int *first;
    int *count;
    uint16_t *w; /* stride maxn per output */
    int maxn;
};

static void axis_build(struct axis *a, int src, int dst)
{
    double f = (double)src / dst;

    a->maxn = (int)ceil(f) + 1;
    a->first = xmalloc(sizeof(int) * (size_t)dst);
    a->count = xmalloc(sizeof(int) * (size_t)dst);
    a->w = xcalloc((size_t)dst * (size_t)a->maxn, sizeof(uint16_t));
    for (int o = 0; o < dst; o++) {
        double s0 = o * f, s1 = (o + 1) * f;
        int i0 = (int)floor(s0), i1 = (int)ceil(s1), n = 0, sum = 0, big = 0;
        if (i1 > src)
            i1 = src;
        a->first[o] = i0;
        for (int i = i0; i < i1 && n < a->maxn; i++, n++) {
            double lo = i > s0 ? i : s0, hi = i + 1 < s1 ? i + 1 : s1;
            int w = (int)floor((hi - lo) / f * 256 + 0.5);
            a->w[o * a->maxn + n] = (uint16_t)w;
            sum += w;
            if (w > a->w[o * a->maxn + big])
                big = n;
        }
        a->count[o] = n;
        /* Rounding leftovers go to the largest weight: flat areas stay exactly flat. */
        a->w[o * a->maxn + big] = (uint16_t)(a->w[o * a->maxn + big] + 256 - sum);
    }
}

static void axis_free(struct axis *a)
{
    free(a->first);
    free(a->count);
    free(a->w);
}

int desk__scale(const struct desk_image *src, int w, int h, struct desk_image *out)
{
    struct axis ax, ay;
    uint16_t *tmp; /* w x src->height x 3 channels, value * 256 */
    uint32_t *acc; /* one output row, value * 65536 */
    size_t tw = (size_t)w * 3;

    axis_build(&ax, src->width, w);
    axis_build(&ay, src->height, h);
    tmp = xmalloc(tw * (size_t)src->height * sizeof(uint16_t));
    for (int y = 0; y < src->height; y++) {
        const uint8_t *row = src->px + src->stride * (size_t)y;
        uint16_t *t = tmp + tw * (size_t)y;
        for (int o = 0; o < w; o++) {
            const uint16_t *wt = ax.w + o * ax.maxn;
            const uint8_t *p = row + (size_t)ax.first[o] * 4;
            uint32_t b = 0, g = 0, r = 0;
            for (int k = 0; k < ax.count[o]; k++, p += 4) {
                b += p[0] * (uint32_t)wt[k];
                g += p[1] * (uint32_t)wt[k];
                r += p[2] * (uint32_t)wt[k];
            }
            t[o * 3] = (uint16_t)b;
            t[o * 3 + 1] = (uint16_t)g;
            t[o * 3 + 2] = (uint16_t)r;
        }
    }
    out->width = w;
    out->height = h;
    out->stride = (size_t)w * 4;
    out->px = xmalloc(out->stride * (size_t)h);
    acc = xmalloc(tw * sizeof(uint32_t));
    for (int o = 0; o < h; o++) {
        const uint16_t *wt = ay.w + o * ay.maxn;
        uint8_t *d = out->px + out->stride * (size_t)o;
        memset(acc, 0, tw * sizeof(uint32_t));
        /* Row by row: the inner loop walks memory in order. */
        for (int k = 0; k < ay.count[o]; k++) {
            const uint16_t *t = tmp + tw * (size_t)(ay.first[o] + k);
            uint32_t wk = wt[k];
            for (size_t i = 0; i < tw; i++)
                acc[i] += t[i] * wk;
        }
        for (int c = 0; c < w; c++) {
            d[c * 4] = (uint8_t)((acc[c * 3] + 32768) >> 16);
            d[c * 4 + 1] = (uint8_t)((acc[c * 3 + 1] + 32768) >> 16);
            d[c * 4 + 2] = (uint8_t)((acc[c * 3 + 2] + 32768) >> 16);
            d[c * 4 + 3] = 255;
        }
    }
    free(acc);
    free(tmp);
    axis_free(&ax);
    axis_free(&ay);
    return 0;
}
