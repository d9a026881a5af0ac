/*
 * Unit tests for the desktop module's pure parts: key names, UTF-8 text,
 * request decoders, scaling, the crosshair, encoders and the frame hash.
 */
#include "../../desktop/desktop_internal.h"

#include <X11/keysym.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static int parse(const char *name, uint32_t *keys)
{
    struct problem err;
    int n = 0;

    return desk_keys_parse(name, keys, DESK_KEYS_MAX, &n, &err) < 0 ? -err.status : n;
}

static void test_keys(void **state)
{
    uint32_t k[DESK_KEYS_MAX];

    (void)state;
    assert_int_equal(parse("Return", k), 1);
    assert_int_equal(k[0], XK_Return);
    assert_int_equal(parse("Enter", k), 1);
    assert_int_equal(k[0], XK_Return);
    assert_int_equal(parse("ArrowLeft", k), 1);
    assert_int_equal(k[0], XK_Left);
    assert_int_equal(parse("PageDown", k), 1);
    assert_int_equal(k[0], XK_Next);
    assert_int_equal(parse("f12", k), 1);
    assert_int_equal(k[0], XK_F12);
    assert_int_equal(parse("Meta", k), 1);
    assert_int_equal(k[0], XK_Super_L);
    assert_int_equal(parse("ctrl+shift+t", k), 3);
    assert_int_equal(k[0], XK_Control_L);
    assert_int_equal(k[1], XK_Shift_L);
    assert_int_equal(k[2], XK_t);
    assert_int_equal(parse("ctrl++", k), 2);
    assert_int_equal(k[1], XK_plus);
    assert_int_equal(parse("+", k), 1);
    assert_int_equal(k[0], XK_plus);
    assert_int_equal(parse("é", k), 1);
    assert_int_equal(k[0], 0xe9);
    assert_int_equal(parse("中", k), 1);
    assert_int_equal(k[0], 0x01004e2d);
    assert_int_equal(parse("NoSuchKey", k), -400);
    assert_int_equal(parse("ctrl+", k), -400);
    assert_int_equal(parse("", k), -400);
    assert_int_equal(parse("f36", k), -400);
    assert_int_equal(parse("a+b+c+d+e+f+g+h+i", k), -400);
}

static void test_utf8(void **state)
{
    struct problem err;
    uint32_t *cp = NULL;
    size_t n = 0;

    (void)state;
    assert_int_equal(desk_utf8_decode("aé中😀\n", strlen("aé中😀\n"), &cp, &n, &err), 0);
    assert_int_equal(n, 5);
    assert_int_equal(cp[0], 'a');
    assert_int_equal(cp[1], 0xe9);
    assert_int_equal(cp[2], 0x4e2d);
    assert_int_equal(cp[3], 0x1f600);
    assert_int_equal(cp[4], '\n');
    free(cp);
    assert_int_equal(desk_utf8_decode("\xff", 1, &cp, &n, &err), -1);
    assert_int_equal(desk_utf8_decode("a\x01", 2, &cp, &n, &err), -1);
    assert_int_equal(desk_keysym_for_codepoint('\t'), XK_Tab);
    assert_int_equal(desk_keysym_for_codepoint(0x20ac), 0x010020ac);
}

#define J(s) s, strlen(s)

static void test_decoders(void **state)
{
    struct problem err;
    struct desk_start_req s;
    struct desk_mouse_req m;
    struct desk_key_req k;

    (void)state;
    assert_int_equal(desk_start_decode(J("{}"), &s, &err), 0);
    assert_int_equal(s.width, 1440);
    assert_int_equal(s.height, 900);
    assert_int_equal(s.dpi, 96);
    assert_int_equal(s.display_num, 99);
    assert_int_equal(desk_start_decode(J("{\"width\":0}"), &s, &err), -1);
    assert_int_equal(err.kind, PROBLEM_DESKTOP_INVALID_ACTION);
    assert_int_equal(
        desk_mouse_decode(DESK_MOUSE_CLICK, J("{\"x\":1,\"y\":2,\"button\":\"middle\"}"), &m, &err),
        0);
    assert_int_equal(m.button, 2);
    assert_int_equal(m.clicks, 1);
    assert_true(m.has_xy);
    assert_int_equal(desk_mouse_decode(DESK_MOUSE_DOWN, J("{}"), &m, &err), 0);
    assert_false(m.has_xy);
    assert_int_equal(desk_mouse_decode(DESK_MOUSE_MOVE, J("{\"x\":-1,\"y\":2}"), &m, &err), -1);
    assert_int_equal(err.status, 400);
    assert_string_equal(err.message, "Desktop coordinates must be non-negative");
    assert_int_equal(desk_key_decode(DESK_KEY_PRESS,
                                     J("{\"key\":\" a \",\"modifiers\":{\"ctrl\":true}}"), &k,
                                     &err),
                     0);
    assert_int_equal(k.nkeys, 2);
    assert_int_equal(k.keys[0], XK_Control_L);
    assert_int_equal(k.keys[1], XK_a);
    desk_key_req_done(&k);
}

static void test_wait_decode(void **state)
{
    struct problem err;
    struct desk_shot_req q;
    struct query qs;
    uint64_t frame = 0;
    uint32_t inst = 0;

    (void)state;
    assert_int_equal(desk_etag_parse(J("\"1a-5f3e9c01-7d2a10b4\""), &frame, &inst), 0);
    assert_int_equal(frame, 0x1a);
    assert_int_equal(inst, 0x5f3e9c01);
    assert_int_equal(desk_etag_parse(J("W/\"ffffffffffffffff-00000000-00000000\""), &frame, &inst),
                     0);
    assert_true(frame == UINT64_MAX);
    assert_int_equal(desk_etag_parse(J("1-00000001-00000000"), &frame, &inst), 0);
    assert_int_equal(inst, 1);
    const char *bad[] = {"",
                         "\"\"",
                         "1-2-3",
                         "-00000000-00000000",
                         "1-0000000-00000000",
                         "1-000000000-00000000",
                         "1-0000000g-00000000",
                         "\"1-00000000-00000000",
                         "1-00000000-00000000-",
                         "11111111111111111-00000000-00000000"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(desk_etag_parse(bad[i], strlen(bad[i]), &frame, &inst), -1);

    query_init(&qs);
    assert_int_equal(
        query_parse(&qs, J("waitForChangeMs=300&since=%221-00000002-00000003%22"), &err), 0);
    assert_int_equal(desk_shot_decode(&qs, false, &q, &err), 0);
    assert_int_equal(q.wait_ms, 300);
    assert_true(q.has_since);
    assert_int_equal(q.since_frame, 1);
    assert_int_equal(q.since_instance, 2);
    query_done(&qs);
    query_init(&qs);
    assert_int_equal(query_parse(&qs, J("waitForChangeMs=60001"), &err), 0);
    assert_int_equal(desk_shot_decode(&qs, false, &q, &err), -1);
    assert_int_equal(err.kind, PROBLEM_DESKTOP_INVALID_ACTION);
    query_done(&qs);
    query_init(&qs);
    assert_int_equal(query_parse(&qs, J("waitForChangeMs=-1"), &err), 0);
    assert_int_equal(desk_shot_decode(&qs, false, &q, &err), -1);
    assert_int_equal(err.kind, PROBLEM_INVALID_REQUEST);
    query_done(&qs);
    query_init(&qs);
    assert_int_equal(query_parse(&qs, J("since=nope"), &err), 0);
    assert_int_equal(desk_shot_decode(&qs, false, &q, &err), -1);
    assert_int_equal(err.status, 400);
    assert_int_equal(err.kind, PROBLEM_INVALID_REQUEST);
    query_done(&qs);
}

static struct desk_image solid(int w, int h, uint8_t b, uint8_t g, uint8_t r)
{
    struct desk_image im = {malloc((size_t)w * (size_t)h * 4), w, h, (size_t)w * 4};

    for (int i = 0; i < w * h; i++) {
        im.px[i * 4] = b;
        im.px[i * 4 + 1] = g;
        im.px[i * 4 + 2] = r;
        im.px[i * 4 + 3] = 0;
    }
    return im;
}

static void test_scale(void **state)
{
    struct desk_image im = solid(10, 4, 10, 20, 30), out;

    (void)state;
    assert_int_equal(desk__scaled_side(1024, 0.33), 338);
    assert_int_equal(desk__scaled_side(101, 0.5), 51);
    assert_int_equal(desk__scaled_side(3, 0.1), 1);
    assert_int_equal(desk__scaled_side(768, 1.0), 768);
    /* Left half white, right half black: the middle output pixel straddles both. */
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 5; x++)
            memset(im.px + im.stride * (size_t)y + (size_t)x * 4, 255, 3);
    desk__scale(&im, 3, 1, &out);
    assert_int_equal(out.width, 3);
    assert_int_equal(out.height, 1);
    assert_int_equal(out.px[0], 255);
    /* Covers source [3.33, 6.67): 1.67 px of 255 and 1.67 px of 10 -> 132.5. */
    assert_in_range(out.px[4], 132, 133);
    assert_int_equal(out.px[8], 10);
    assert_int_equal(out.px[10], 30);
    desk__image_free(&out);
    desk__image_free(&im);
}

static void test_crosshair_and_hash(void **state)
{
    struct desk_image im = solid(30, 30, 0, 0, 0);
    uint64_t h0 = desk__image_hash(&im);

    (void)state;
    desk__draw_crosshair(&im, 0, 0); /* clipped at the edges */
    assert_int_equal(im.px[2], 255);
    assert_int_equal(im.px[10 * 4 + 2], 255);
    assert_int_equal(im.px[11 * 4 + 2], 0);
    assert_int_equal(im.px[im.stride * 10 + 2], 255);
    assert_true(desk__image_hash(&im) != h0);
    /* The padding byte is not part of the picture. */
    h0 = desk__image_hash(&im);
    im.px[3] = 77;
    assert_true(desk__image_hash(&im) == h0);
    desk__image_free(&im);
}

static void test_encoders(void **state)
{
    struct desk_image im = solid(64, 48, 0, 0, 255);
    struct problem err;
    uint8_t *out;
    size_t n;

    (void)state;
    assert_int_equal(desk__encode(&im, DESK_FMT_PNG, 0, &out, &n, &err), 0);
    assert_memory_equal(out, "\x89PNG", 4);
    free(out);
    assert_int_equal(desk__encode(&im, DESK_FMT_JPEG, 50, &out, &n, &err), 0);
    assert_int_equal(out[0], 0xff);
    assert_int_equal(out[1], 0xd8);
    free(out);
    assert_int_equal(desk__encode(&im, DESK_FMT_WEBP, 50, &out, &n, &err), 0);
    assert_memory_equal(out + 8, "WEBP", 4);
    free(out);
    desk__image_free(&im);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys),     cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_decoders), cmocka_unit_test(test_wait_decode),
        cmocka_unit_test(test_scale),    cmocka_unit_test(test_crosshair_and_hash),
        cmocka_unit_test(test_encoders),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
