/*
 * attach_pipe: `agentd attach` / `agentd exec` for a process without a terminal.
 * Its output comes from GET /v1/processes/{id}/logs?follow=true (stdout and
 * stderr kept apart, the exit event ends the session); with `exec -i`, stdin is
 * sent by POST .../input one request at a time, at most the daemon's
 * maxInputBytesPerRequest each, and its end closes the process's stdin.
 */
#include "attach_int.h"

#include "../stream/base64.h"
#include "../stream/sse_parse.h"
#include "../stream/xmalloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- pipe processes: the log stream ---------------------------------------------------------- */

/* One event of the log stream (sse_event_fn): `log` bytes to stdout or stderr, then `exit`. */
static int log_event(void *arg, const char *event, const char *id, const char *data, size_t len)
{
    struct session *s = arg;
    cJSON *o = cJSON_ParseWithLength(data, len);
    const cJSON *stream = cJSON_GetObjectItemCaseSensitive(o, "stream");
    const cJSON *b64 = cJSON_GetObjectItemCaseSensitive(o, "data");

    (void)id;
    if (strcmp(event, "exit") == 0) {
        s->got_exit = true;
        s->status = attach_exit_status(o);
    } else if (strcmp(event, "log") == 0 && cJSON_IsString(b64) && cJSON_IsString(stream)) {
        size_t n = strlen(b64->valuestring), bad;
        unsigned char *bytes = xmalloc(n / 4 * 3 + 3);
        long k = base64_decode(b64->valuestring, n, bytes, &bad);
        int fd = strcmp(stream->valuestring, "stderr") == 0 ? STDERR_FILENO : STDOUT_FILENO;
        if (k > 0)
            attach_write_all(fd, bytes, (size_t)k);
        free(bytes);
    }
    cJSON_Delete(o);
    return 0;
}

static int on_log_data(void *arg, const void *p, size_t n)
{
    struct session *s = arg;

    return sse_parse(&s->sse, p, n, log_event, s) < 0 ? -1 : 0;
}

static void on_log_done(void *arg, int status, const char *body, size_t n, const char *err)
{
    struct session *s = arg;

    if (s->got_exit) {
        attach_process_ended(s, s->status);
        return;
    }
    if (status != 200) {
        attach_report_problem(s, "logs", status, body, n, err, EXIT_CLIENT_ERROR);
        return;
    }
    attach_say(s, "the log stream of %s ended before the process did", s->id);
    attach_finish(s, EXIT_CLIENT_ERROR);
}

void attach_follow_logs(struct session *s)
{
    char path[160];

    snprintf(path, sizeof(path), "/v1/processes/%s/logs?follow=true%s%s", s->id,
             s->o.since ? "&since=" : "", s->o.since ? s->o.since : "");
    sse_parser_init(&s->sse, 4u * 1024u * 1024u);
    client_http(s->client, "GET", path, NULL, on_log_data, on_log_done, s);
}

/* ---- pipe processes: stdin ------------------------------------------------------------------ */

static void read_more_input(struct session *s);

static void on_input_posted(void *arg, int status, const char *body, size_t n, const char *err)
{
    struct session *s = arg;

    if (s->finishing)
        return;
    if (status == 200 && !s->in_ended) {
        read_more_input(s);
        return;
    }
    if (status != 200 && !s->in_ended && status != 409) {
        /* 409: the process is gone or closed its input, as a local pipe would just break. */
        cJSON *o = status && body ? cJSON_ParseWithLength(body, n) : NULL;
        const cJSON *detail = cJSON_GetObjectItemCaseSensitive(o, "detail");
        attach_say(s, "input: %s",
                   cJSON_IsString(detail) ? detail->valuestring
                   : err                  ? err
                                          : "refused");
        cJSON_Delete(o);
    }
    s->in_ended = true;
}

/* POSTs one piece of input, or the end of input (the process then reads end-of-file). */
static void post_input(struct session *s, const void *data, size_t n, bool eof)
{
    cJSON *req = cJSON_CreateObject();
    char path[128], *b64 = NULL, *body;

    if (n) {
        b64 = xmalloc(BASE64_ENCODED_SIZE(n));
        base64_encode(data, n, b64);
        cJSON_AddStringToObject(req, "data", b64);
        cJSON_AddStringToObject(req, "encoding", "base64");
    }
    if (eof) {
        cJSON_AddBoolToObject(req, "eof", true);
        s->in_ended = true;
    }
    body = cJSON_PrintUnformatted(req);
    snprintf(path, sizeof(path), "/v1/processes/%s/input", s->id);
    client_http(s->client, "POST", path, body, NULL, on_input_posted, s);
    free(body);
    free(b64);
    cJSON_Delete(req);
}

static void on_input_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    struct session *s = h->data;

    attach_on_alloc(h, suggested, b);
    if (b->len > s->chunk)
        b->len = s->chunk;
}

static void on_pipe_input(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
    struct session *s = st->data;

    if (n == 0)
        return;
    uv_read_stop(st); /* one request at a time: the next read once agentd took this one */
    if (n < 0) {
        if (n != UV_EOF)
            attach_say(s, "reading stdin: %s (sending the end of input)", uv_strerror((int)n));
        post_input(s, NULL, 0, true);
        return;
    }
    post_input(s, b->base, (size_t)n, false);
}

static void read_more_input(struct session *s)
{
    if (s->in_file) {
        char *p = xmalloc(s->chunk);
        ssize_t n;
        do {
            n = read(STDIN_FILENO, p, s->chunk);
        } while (n < 0 && errno == EINTR);
        if (n < 0)
            attach_say(s, "reading stdin: %s (sending the end of input)", strerror(errno));
        post_input(s, p, n > 0 ? (size_t)n : 0, n <= 0);
        free(p);
        return;
    }
    uv_read_start(s->in, on_input_alloc, on_pipe_input);
}

static void on_input_config(void *arg, int status, const char *body, size_t n, const char *err)
{
    struct session *s = arg;
    cJSON *o = status == 200 && body ? cJSON_ParseWithLength(body, n) : NULL;
    const cJSON *max = cJSON_GetObjectItemCaseSensitive(o, "maxInputBytesPerRequest");
    int kind;

    if (s->finishing) {
        cJSON_Delete(o);
        return;
    }
    s->chunk = 65536;
    if (cJSON_IsNumber(max) && max->valuedouble >= 1 && max->valuedouble < (double)s->chunk)
        s->chunk = (size_t)max->valuedouble;
    cJSON_Delete(o);
    /* A terminal (not made raw: line by line, as its line discipline hands them over), a pipe
     * or a file; anything else has no input to send. */
    kind = attach_open_stdin(s);
    s->in_file = kind == UV_FILE;
    if (s->in || s->in_file)
        read_more_input(s);
    else
        post_input(s, NULL, 0, true);
}

/*
 * exec without a terminal: with -i, stdin is sent to the process and its end closes the
 * process's stdin; without -i the process's stdin is closed at once (it reads end-of-file,
 * as under `docker exec` without -i).
 */
void attach_start_pipe_input(struct session *s)
{
    if (!s->o.interactive) {
        post_input(s, NULL, 0, true);
        return;
    }
    client_http(s->client, "GET", "/v1/processes/config", NULL, NULL, on_input_config, s);
}
