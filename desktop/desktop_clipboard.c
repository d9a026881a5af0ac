/*
 * desktop_clipboard: the clipboard routes (spec 5.7) and the thread of the
 * in-process selection owner.
 *
 * X selections are not stored by the server: their owner must answer
 * every request for as long as it owns them, whenever they come.  The main
 * X thread runs jobs one after another and cannot wait for events between
 * them, so the clipboard gets its own X connection and its own thread
 * (desktop_selection.c speaks the protocol), started when the desktop
 * becomes active and told to end when it stops or its X server goes away.
 *
 * The loop thread decodes a request (4xx at once), queues a command and
 * writes an eventfd; the thread, asleep in poll() on that eventfd and its
 * X connection, runs the commands in order (a read that waits for another
 * owner holds the ones behind it) and hands each answer back through a
 * uv_async_t, on which the loop replies.  A write answers as soon as the
 * selection is ours (the reference hangs until someone else takes it).
 *
 * Stopping never blocks the loop: the instance is told to quit and left to
 * end; its uv_async_t brings the news and the loop joins and frees it.  Only
 * desk__clip_done(), after the loop stopped, joins what is left.
 */
#include "desktop_internal.h"
#include "desktop_selection.h"
#include "desktop_winclip_decode.h"

#include "../stream/clock.h"
#include "../stream/json.h"
#include "../stream/log.h"
#include "../stream/xmalloc.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

/* One selection owner: a thread and its X connection, for one active desktop. */
struct clip {
    /* Shared, under lock. */
    pthread_mutex_t lock;
    struct desk_clip_cmd *q_head, *q_tail; /* to the thread */
    struct desk_clip_cmd *d_head, *d_tail; /* answered, for the loop */
    bool quit;                             /* the thread is to end */
    bool exited;                           /* the thread ended: join it */
    /* Set before the thread starts. */
    int wake_fd;      /* eventfd the loop writes after queuing */
    uv_async_t async; /* the thread wakes the loop */
    pthread_t thread;
    char display[32];
    /* Loop thread only. */
    bool joined;
    struct clip *next; /* every instance not yet freed */
};

static struct clip *current; /* the active desktop's owner, NULL when none */
static struct clip *all;     /* every instance not yet freed (loop thread) */

/* ---- the thread --------------------------------------------------------------------------- */

static struct desk_clip_cmd *next_cmd(struct clip *c)
{
    struct desk_clip_cmd *cmd;

    pthread_mutex_lock(&c->lock);
    cmd = c->q_head;
    if (cmd) {
        c->q_head = cmd->next;
        if (!c->q_head)
            c->q_tail = NULL;
    }
    pthread_mutex_unlock(&c->lock);
    return cmd;
}

static bool queue_pending(struct clip *c)
{
    bool r;

    pthread_mutex_lock(&c->lock);
    r = c->q_head != NULL;
    pthread_mutex_unlock(&c->lock);
    return r;
}

static bool quitting(struct clip *c)
{
    bool r;

    pthread_mutex_lock(&c->lock);
    r = c->quit;
    pthread_mutex_unlock(&c->lock);
    return r;
}

/* Hands an answered command back to the loop. */
static void answer(struct clip *c, struct desk_clip_cmd *cmd)
{
    pthread_mutex_lock(&c->lock);
    cmd->next = NULL;
    if (c->d_tail)
        c->d_tail->next = cmd;
    else
        c->d_head = cmd;
    c->d_tail = cmd;
    pthread_mutex_unlock(&c->lock);
    uv_async_send(&c->async);
}

static void refuse(struct clip *c, struct desk_clip_cmd *cmd, const char *why)
{
    problem_set(&cmd->err, 503, PROBLEM_DESKTOP_RUNTIME_FAILED, "%s", why);
    cmd->r = -1;
    answer(c, cmd);
}

/* Runs queued commands until one waits for another owner (then the rest wait behind it). */
static void run_commands(struct clip *c, struct desk_sel *s, const char *conn_err)
{
    struct desk_clip_cmd *cmd;

    while ((!s || !desk_sel_busy(s)) && (cmd = next_cmd(c))) {
        if (!s) {
            char why[PROBLEM_MESSAGE_MAX];
            snprintf(why, sizeof(why), "the clipboard has no X connection: %s", conn_err);
            refuse(c, cmd, why);
        } else if (cmd->is_set) {
            desk_sel_set(s, cmd);
            answer(c, cmd);
        } else if (desk_sel_get(s, cmd)) {
            answer(c, cmd);
        }
    }
}

static void serve(struct clip *c, struct desk_sel *s, const char *conn_err)
{
    while (!quitting(c)) {
        struct pollfd p[2] = {{.fd = c->wake_fd, .events = POLLIN}, {.fd = -1}};
        struct desk_clip_cmd *done;
        int64_t next = -1;
        uint64_t count;
        int timeout = -1;

        run_commands(c, s, conn_err);
        if (s) {
            /* Each finished read may unblock the commands behind it. */
            while ((done = desk_sel_dispatch(s))) {
                answer(c, done);
                run_commands(c, s, conn_err);
            }
            done = desk_sel_expire(s, &next);
            if (done)
                answer(c, done);
            if (!desk_sel_busy(s) && queue_pending(c))
                continue;
            p[1].fd = desk_sel_fd(s);
            p[1].events = POLLIN;
        }
        if (next >= 0) {
            int64_t left = next - clock_mono_ms();
            timeout = left < 0 ? 0 : (int)left;
        }
        if (poll(p, 2, timeout) > 0 && (p[0].revents & POLLIN) &&
            read(c->wake_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
            log_debug(DESK_TAG, "clipboard: eventfd read: %s", strerror(errno));
    }
}

static void *clip_thread(void *arg)
{
    struct clip *c = arg;
    struct desk_clip_cmd *cmd;
    char err[256] = "";
    struct desk_sel *s = desk_sel_new(c->display, err, sizeof(err));

    if (!s)
        log_warn(DESK_TAG, "clipboard: %s", err);
    serve(c, s, err);
    /* Stopping: what still waits is answered; the selections go with the connection. */
    if (s && (cmd = desk_sel_abort(s)))
        answer(c, cmd);
    while ((cmd = next_cmd(c)))
        refuse(c, cmd, "the desktop stopped");
    desk_sel_free(s);
    pthread_mutex_lock(&c->lock);
    c->exited = true;
    pthread_mutex_unlock(&c->lock);
    uv_async_send(&c->async);
    return NULL;
}

/* ---- the loop side ------------------------------------------------------------------------ */

static void wake_thread(struct clip *c)
{
    uint64_t one = 1;

    if (write(c->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        log_warn(DESK_TAG, "clipboard: cannot wake its thread: %s", strerror(errno));
}

static void cmd_reply(struct desk_clip_cmd *cmd)
{
    cJSON *o;

    if (!http_req_alive(cmd->req))
        return;
    if (cmd->r < 0) {
        http_reply_problem(cmd->req, &cmd->err);
        return;
    }
    o = cJSON_CreateObject();
    if (cmd->is_set) {
        cJSON_AddBoolToObject(o, "ok", 1);
    } else {
        json_add_string(o, "text", cmd->text);
        json_add_string(o, "selection", cmd->name);
    }
    http_reply_json(cmd->req, 200, o);
    cJSON_Delete(o);
}

static void cmd_free(struct desk_clip_cmd *cmd)
{
    http_req_unref(cmd->req);
    free(cmd->text);
    free(cmd);
}

static void on_closed(uv_handle_t *h)
{
    struct clip *c = h->data;

    pthread_mutex_destroy(&c->lock);
    close(c->wake_fd);
    free(c);
}

static void unlink_clip(struct clip *c)
{
    for (struct clip **pp = &all; *pp; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    }
    if (current == c)
        current = NULL;
}

/* Replies to the answered commands; joins and frees the instance once its thread ended. */
static void drain(struct clip *c)
{
    struct desk_clip_cmd *cmd;
    bool exited;

    pthread_mutex_lock(&c->lock);
    cmd = c->d_head;
    c->d_head = c->d_tail = NULL;
    exited = c->exited;
    pthread_mutex_unlock(&c->lock);
    while (cmd) {
        struct desk_clip_cmd *next = cmd->next;
        cmd_reply(cmd);
        cmd_free(cmd);
        cmd = next;
    }
    if (!exited || c->joined)
        return;
    /* It has said its last word: joining takes no time. */
    pthread_join(c->thread, NULL);
    c->joined = true;
    unlink_clip(c);
    uv_close((uv_handle_t *)&c->async, on_closed);
}

static void on_async(uv_async_t *a)
{
    drain(a->data);
}

static void request_stop(struct clip *c)
{
    pthread_mutex_lock(&c->lock);
    c->quit = true;
    pthread_mutex_unlock(&c->lock);
    wake_thread(c);
}

void desk__clip_start(const char *display)
{
    struct clip *c;
    int e;

    desk__clip_stop();
    c = xcalloc(1, sizeof(*c));
    pthread_mutex_init(&c->lock, NULL);
    snprintf(c->display, sizeof(c->display), "%s", display);
    c->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (c->wake_fd < 0) {
        log_warn(DESK_TAG, "clipboard: eventfd: %s", strerror(errno));
        goto out_free;
    }
    e = uv_async_init(http_loop(), &c->async, on_async);
    if (e < 0) {
        log_warn(DESK_TAG, "clipboard: uv_async_init: %s", uv_strerror(e));
        goto out_close_fd;
    }
    c->async.data = c;
    /* Waiting requests keep the loop alive, not this handle. */
    uv_unref((uv_handle_t *)&c->async);
    e = pthread_create(&c->thread, NULL, clip_thread, c);
    if (e != 0) {
        log_warn(DESK_TAG, "clipboard: cannot start its thread: %s", strerror(e));
        c->joined = true;
        uv_close((uv_handle_t *)&c->async, on_closed);
        return;
    }
    c->next = all;
    all = c;
    current = c;
    return;
out_close_fd:
    close(c->wake_fd);
out_free:
    pthread_mutex_destroy(&c->lock);
    free(c);
}

void desk__clip_stop(void)
{
    if (!current)
        return;
    request_stop(current);
    current = NULL;
}

void desk__clip_done(void)
{
    current = NULL;
    while (all) {
        struct clip *c = all;
        request_stop(c);
        pthread_join(c->thread, NULL);
        c->joined = true;
        all = c->next;
        drain(c); /* answers what was left (the clients are gone by now) */
        uv_close((uv_handle_t *)&c->async, on_closed);
    }
}

/* Queues cmd for the active desktop's owner (or answers 503 when there is none). */
static void submit(struct http_req *req, struct desk_clip_cmd *cmd)
{
    struct clip *c = current;
    struct problem err;

    if (!c) {
        problem_set(&err, 503, PROBLEM_DESKTOP_RUNTIME_FAILED,
                    "the clipboard is not available (see the daemon's log); retry in a moment");
        http_reply_problem(req, &err);
        free(cmd->text);
        free(cmd);
        return;
    }
    http_req_ref(req);
    cmd->req = req;
    pthread_mutex_lock(&c->lock);
    cmd->next = NULL;
    if (c->q_tail)
        c->q_tail->next = cmd;
    else
        c->q_head = cmd;
    c->q_tail = cmd;
    pthread_mutex_unlock(&c->lock);
    wake_thread(c);
}

static void handle_clipboard_get(struct http_req *req)
{
    struct desk_clip_req q;
    struct problem err;
    struct desk_clip_cmd *cmd;

    if (desk_clip_get_decode(http_query(req), &q, &err) < 0) {
        http_reply_problem(req, &err);
        return;
    }
    if (!desk__require_active(req))
        return;
    cmd = xcalloc(1, sizeof(*cmd));
    cmd->sels = q.sels;
    cmd->name = q.name;
    submit(req, cmd);
}

static void handle_clipboard_set(struct http_req *req)
{
    struct desk_clip_req q;
    struct problem err;
    struct desk_clip_cmd *cmd;
    size_t len = 0;
    const char *body = http_body(req, &len);

    if (desk_clip_set_decode(body, len, &q, &err) < 0) {
        http_reply_problem(req, &err);
        return;
    }
    if (!desk__require_active(req)) {
        desk_clip_req_done(&q);
        return;
    }
    cmd = xcalloc(1, sizeof(*cmd));
    cmd->is_set = true;
    cmd->sels = q.sels;
    cmd->name = q.name;
    cmd->text = q.text; /* taken */
    cmd->len = q.len;
    submit(req, cmd);
}

/* The endpoints of this file (registered by desk_register(), desktop_routes.c). */
static const struct route routes[] = {
    {HTTP_GET, "/v1/desktop/clipboard", handle_clipboard_get, 0},
    {HTTP_POST, "/v1/desktop/clipboard", handle_clipboard_set, ROUTE_JSON_BODY},
};
const struct route_table desk__clipboard_routes = ROUTE_TABLE(routes);
