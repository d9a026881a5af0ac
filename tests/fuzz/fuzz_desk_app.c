/*
 * Fuzzes the launch/open/recording request decoders and the MP4 structure
 * check (the input as a file).  Invariants: a decoded fps is within 1..60,
 * a decoded launch has an app; failures are 4xx problems; the MP4 check
 * never reads outside the file and answers with a reason; nothing leaks.
 */
#include "../../desktop/desktop_app.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct mem {
    const uint8_t *p;
    size_t n;
};

static long mem_read_at(void *arg, void *dst, size_t n, uint64_t off)
{
    struct mem *m = arg;

    if (off > m->n)
        abort(); /* the checker asked beyond the size it was given */
    if (n > m->n - off)
        n = (size_t)(m->n - off);
    memcpy(dst, m->p + off, n);
    return (long)n;
}

static void check_err(const struct problem *err)
{
    if (err->status < 400 || err->status > 499)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    struct problem err;
    struct desk_launch_req l;
    struct desk_open_req o;
    struct mem m = {data, size};
    char why[256];
    int fps = 0;

    if (desk_rec_start_decode(p, size, &fps, &err) == 0) {
        if (fps < DESK_REC_FPS_MIN || fps > DESK_REC_FPS_MAX)
            abort();
    } else {
        check_err(&err);
    }
    if (desk_launch_decode(p, size, &l, &err) == 0) {
        if (!l.app || (l.nargs && !l.args))
            abort();
        desk_launch_req_done(&l);
    } else {
        check_err(&err);
    }
    if (desk_open_decode(p, size, &o, &err) == 0) {
        if (!o.target)
            abort();
        desk_open_req_done(&o);
    } else {
        check_err(&err);
    }
    why[0] = '\0';
    if (desk_mp4_check(mem_read_at, &m, size, why, sizeof(why)) < 0 && !why[0])
        abort();
    return 0;
}
