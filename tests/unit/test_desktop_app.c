/*
 * Unit tests for desktop_app_decode.c: the launch/open/recording request
 * decoders and the MP4 structure check of finished recordings, on boxes
 * built in memory (complete, cut short, without an index, empty).
 */
#include "../../desktop/desktop_app.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

struct mem {
    const unsigned char *p;
    size_t n;
};

static long mem_read_at(void *arg, void *dst, size_t n, uint64_t off)
{
    struct mem *m = arg;

    if (off >= m->n)
        return 0;
    if (n > m->n - off)
        n = (size_t)(m->n - off);
    memcpy(dst, m->p + off, n);
    return (long)n;
}

/* Appends a box with a 32-bit size to b at *len. */
static void box(unsigned char *b, size_t *len, const char *type, const void *body, size_t n)
{
    uint32_t size = (uint32_t)(n + 8);

    b[*len] = (unsigned char)(size >> 24);
    b[*len + 1] = (unsigned char)(size >> 16);
    b[*len + 2] = (unsigned char)(size >> 8);
    b[*len + 3] = (unsigned char)size;
    memcpy(b + *len + 4, type, 4);
    if (n)
        memcpy(b + *len + 8, body, n);
    *len += n + 8;
}

/* An mvhd body (version 0) with the given duration. */
static void mvhd_body(unsigned char *m, uint32_t duration)
{
    memset(m, 0, 100);
    m[15] = 0xe8; /* time scale 1000 */
    m[14] = 0x03;
    m[16] = (unsigned char)(duration >> 24);
    m[17] = (unsigned char)(duration >> 16);
    m[18] = (unsigned char)(duration >> 8);
    m[19] = (unsigned char)duration;
}

/* ftyp, mdat (n bytes), moov{mvhd(duration)}; returns the length. */
static size_t movie(unsigned char *b, size_t mdat, uint32_t duration)
{
    unsigned char mv[100], moov[200], data[64] = {0};
    size_t len = 0, mlen = 0;

    box(b, &len, "ftyp", "isom\0\0\2\0isomavc1", 16);
    box(b, &len, "free", NULL, 0);
    box(b, &len, "mdat", data, mdat);
    mvhd_body(mv, duration);
    box(moov, &mlen, "mvhd", mv, 100);
    box(moov, &mlen, "trak", NULL, 0);
    box(b, &len, "moov", moov, mlen);
    return len;
}

static int check(const unsigned char *b, size_t n, char *why)
{
    struct mem m = {b, n};

    return desk_mp4_check(mem_read_at, &m, n, why, 256);
}

static void test_mp4(void **state)
{
    unsigned char b[1024], c[1024];
    char why[256];
    size_t n, k;

    (void)state;
    n = movie(b, 40, 34);
    assert_int_equal(check(b, n, why), 0);
    /* Cut anywhere: the index is gone or a box is short. */
    for (k = 0; k < n; k++)
        assert_int_equal(check(b, k, why), -1);
    assert_non_null(strstr(why, "finalised"));
    assert_int_equal(check(b, 0, why), -1);
    assert_string_equal(why, "the file is empty");
    /* No frames. */
    n = movie(b, 0, 0);
    assert_int_equal(check(b, n, why), -1);
    assert_non_null(strstr(why, "no frame"));
    /* Not an MP4. */
    assert_int_equal(check((const unsigned char *)"this is not an mp4", 18, why), -1);
    /* An unfinished ffmpeg file: the mdat size still says "to the end", no moov. */
    n = 0;
    box(c, &n, "ftyp", "isom\0\0\2\0isomavc1", 16);
    memcpy(c + n, "\0\0\0\0mdat", 8);
    n += 8;
    memset(c + n, 0x55, 100);
    n += 100;
    assert_int_equal(check(c, n, why), -1);
    assert_non_null(strstr(why, "moov"));
    /* A box whose size is smaller than its header. */
    n = movie(b, 8, 34);
    b[27] = 4; /* the `free` box claims 4 bytes */
    assert_int_equal(check(b, n, why), -1);
    /* A 64-bit size box (largesize) is fine. */
    n = 0;
    box(c, &n, "ftyp", "isom\0\0\2\0isomavc1", 16);
    memcpy(c + n, "\0\0\0\1mdat\0\0\0\0\0\0\0\x14", 16);
    memset(c + n + 16, 1, 4);
    n += 20;
    {
        unsigned char mv[100], moov[200];
        size_t mlen = 0;
        mvhd_body(mv, 1);
        box(moov, &mlen, "mvhd", mv, 100);
        box(c, &n, "moov", moov, mlen);
    }
    assert_int_equal(check(c, n, why), 0);
}

static void test_decoders(void **state)
{
    struct desk_launch_req l;
    struct desk_open_req o;
    struct problem err;
    int fps = 0;

    (void)state;
#define S(x) x, strlen(x)
    assert_int_equal(desk_rec_start_decode(S("{}"), &fps, &err), 0);
    assert_int_equal(fps, 30);
    assert_int_equal(desk_rec_start_decode(S("{\"fps\":0}"), &fps, &err), 0);
    assert_int_equal(fps, 1);
    assert_int_equal(desk_rec_start_decode(S("{\"fps\":61}"), &fps, &err), 0);
    assert_int_equal(fps, 60);
    assert_int_equal(desk_rec_start_decode(S("{\"fps\":null}"), &fps, &err), 0);
    assert_int_equal(fps, 30);
    assert_int_equal(desk_rec_start_decode(S("{\"fps\":4294967295}"), &fps, &err), 0);
    assert_int_equal(fps, 60);
    assert_int_equal(desk_rec_start_decode(S("{\"fps\":-1}"), &fps, &err), -1);
    assert_int_equal(err.status, 422);
    assert_int_equal(desk_rec_start_decode(S("{\"fps\":4294967296}"), &fps, &err), -1);
    assert_int_equal(desk_rec_start_decode(S("{\"fps\":1.5}"), &fps, &err), -1);
    assert_int_equal(desk_rec_start_decode(S("[]"), &fps, &err), -1);

    assert_int_equal(desk_launch_decode(
                         S("{\"app\":\"xterm\",\"args\":[\"-T\",\"t\"],\"wait\":true}"), &l, &err),
                     0);
    assert_string_equal(l.app, "xterm");
    assert_int_equal(l.nargs, 2);
    assert_string_equal(l.args[1], "t");
    assert_true(l.wait);
    desk_launch_req_done(&l);
    assert_int_equal(desk_launch_decode(S("{\"app\":\"\"}"), &l, &err), 0);
    assert_int_equal(l.nargs, 0);
    assert_false(l.wait);
    desk_launch_req_done(&l);
    assert_int_equal(desk_launch_decode(S("{\"args\":[]}"), &l, &err), -1);
    assert_int_equal(err.status, 422);
    assert_int_equal(desk_launch_decode(S("{\"app\":\"x\",\"args\":[1]}"), &l, &err), -1);
    assert_int_equal(desk_launch_decode(S("{\"app\":\"x\",\"wait\":1}"), &l, &err), -1);
    assert_int_equal(desk_open_decode(S("{\"target\":\"https://x\"}"), &o, &err), 0);
    assert_string_equal(o.target, "https://x");
    desk_open_req_done(&o);
    assert_int_equal(desk_open_decode(S("{\"target\":null}"), &o, &err), -1);
    assert_int_equal(err.status, 422);
#undef S
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mp4),
        cmocka_unit_test(test_decoders),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
