/*
 * Unit tests for the window and clipboard request decoders
 * (desktop/desktop_winclip_decode.c): path ids, move/resize bodies, the
 * clipboard's selection names and bodies.
 */
#include "../../desktop/desktop_winclip_decode.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define J(s) (s), strlen(s)

static void test_window_ids(void **state)
{
    static const char *const bad[] = {"",           "0",           "0x",          "abc",
                                      "-5",         "+5",          "12a",         " 1",
                                      "4294967296", "99999999999", "0x1ffffffff", "1.5"};
    unsigned long id = 0;
    struct problem err;
    char long_id[300];

    (void)state;
    assert_int_equal(desk_win_id_parse("4194316", &id), 0);
    assert_int_equal(id, 4194316);
    assert_int_equal(desk_win_id_parse("0x400001", &id), 0);
    assert_int_equal(id, 0x400001);
    assert_int_equal(desk_win_id_parse("4294967295", &id), 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        id = 7;
        assert_int_equal(desk_win_id_parse(bad[i], &id), -1);
        assert_int_equal(id, 7); /* untouched on failure */
    }
    desk_win_not_found("999999", &err);
    assert_int_equal(err.status, 404);
    assert_int_equal(err.kind, PROBLEM_WINDOW_NOT_FOUND);
    assert_string_equal(err.message, "Window 999999 not found");
    memset(long_id, 'x', sizeof(long_id) - 1);
    long_id[sizeof(long_id) - 1] = '\0';
    desk_win_not_found(long_id, &err);
    assert_true(strlen(err.message) < 100);
}

static void test_move_resize(void **state)
{
    struct desk_win_req w;
    struct problem err;

    (void)state;
    assert_int_equal(desk_win_move_decode(J("{\"x\":-50,\"y\":20}"), &w, &err), 0);
    assert_int_equal(w.x, -50);
    assert_int_equal(w.y, 20);
    assert_int_equal(desk_win_move_decode(J("{\"x\":1}"), &w, &err), -1);
    assert_int_equal(err.status, 422);
    assert_int_equal(desk_win_move_decode(J("{\"x\":\"1\",\"y\":1}"), &w, &err), -1);
    assert_int_equal(err.status, 422);
    assert_int_equal(desk_win_move_decode(J("{\"x\":3000000000,\"y\":1}"), &w, &err), -1);
    assert_int_equal(err.status, 422);
    assert_int_equal(desk_win_move_decode(J("{\"x\":40000,\"y\":1}"), &w, &err), -1);
    assert_int_equal(err.status, 400);
    assert_int_equal(err.kind, PROBLEM_DESKTOP_INVALID_ACTION);
    assert_int_equal(desk_win_resize_decode(J("{\"width\":0,\"height\":300}"), &w, &err), 0);
    assert_int_equal(w.width, 0);
    assert_int_equal(w.height, 300);
    assert_int_equal(desk_win_resize_decode(J("{\"width\":-1,\"height\":3}"), &w, &err), -1);
    assert_int_equal(err.status, 422);
    assert_int_equal(desk_win_resize_decode(J("{\"width\":1.5,\"height\":3}"), &w, &err), -1);
    assert_int_equal(err.status, 422);
    assert_int_equal(desk_win_resize_decode(J("{\"width\":70000,\"height\":3}"), &w, &err), -1);
    assert_int_equal(err.status, 400);
    assert_int_equal(desk_win_resize_decode(J("[1]"), &w, &err), -1);
    assert_int_equal(err.status, 422);
}

static void test_clipboard(void **state)
{
    struct desk_clip_req c;
    struct problem err;
    struct query q;

    (void)state;
    query_init(&q);
    assert_int_equal(desk_clip_get_decode(&q, &c, &err), 0);
    assert_int_equal(c.sels, DESK_SEL_CLIPBOARD);
    assert_string_equal(c.name, "clipboard");
    assert_int_equal(query_parse(&q, J("selection=PRIMARY"), &err), 0);
    assert_int_equal(desk_clip_get_decode(&q, &c, &err), 0);
    assert_int_equal(c.sels, DESK_SEL_PRIMARY);
    assert_string_equal(c.name, "primary");
    query_done(&q);
    query_init(&q);
    assert_int_equal(query_parse(&q, J("selection=both"), &err), 0);
    assert_int_equal(desk_clip_get_decode(&q, &c, &err), 0);
    assert_int_equal(c.sels, DESK_SEL_CLIPBOARD); /* a read of both reads the clipboard */
    assert_string_equal(c.name, "both");
    query_done(&q);
    query_init(&q);
    assert_int_equal(query_parse(&q, J("selection=foo"), &err), 0);
    assert_int_equal(desk_clip_get_decode(&q, &c, &err), -1);
    assert_int_equal(err.status, 400);
    assert_int_equal(err.kind, PROBLEM_DESKTOP_INVALID_ACTION);
    query_done(&q);

    assert_int_equal(
        desk_clip_set_decode(J("{\"text\":\"h\\u00e9\",\"selection\":\"both\"}"), &c, &err), 0);
    assert_int_equal(c.sels, DESK_SEL_CLIPBOARD | DESK_SEL_PRIMARY);
    assert_int_equal(c.len, 3);
    assert_string_equal(c.text, "h\xc3\xa9");
    desk_clip_req_done(&c);
    assert_int_equal(desk_clip_set_decode(J("{\"text\":\"\",\"selection\":null}"), &c, &err), 0);
    assert_int_equal(c.len, 0);
    assert_int_equal(c.sels, DESK_SEL_CLIPBOARD);
    desk_clip_req_done(&c);
    assert_int_equal(desk_clip_set_decode(J("{}"), &c, &err), -1);
    assert_int_equal(err.status, 422);
    assert_int_equal(desk_clip_set_decode(J("{\"text\":5}"), &c, &err), -1);
    assert_int_equal(err.status, 422);
    assert_int_equal(desk_clip_set_decode(J("{\"text\":\"x\",\"selection\":\"nope\"}"), &c, &err),
                     -1);
    assert_int_equal(err.status, 400);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_window_ids),
        cmocka_unit_test(test_move_resize),
        cmocka_unit_test(test_clipboard),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
