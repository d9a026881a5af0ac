/*
 * proc_logs: GET /v1/processes/{id}/logs, as JSON or followed as SSE.
 *
 * A follower pulls from the process's log ring at its own pace: the HTTP
 * source formats the next entry after the follower's sequence only when
 * the socket can take it, so a slow client never makes agentd queue output
 * (if it falls behind the ring, it resumes at the oldest retained entry and
 * the sequence gap shows what was dropped).  Once the process has exited
 * and its output is drained, one `event: exit` is sent and the stream ends.
 */
#include "proc_internal.h"

#include "../stream/base64.h"
#include "../stream/buf.h"
#include "../stream/json.h"
#include "../stream/limits.h"
#include "../stream/sse.h"
#include "../stream/xmalloc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *stream_name(enum proc_stream s)
{
    return s == PROC_STDOUT ? "stdout" : s == PROC_STDERR ? "stderr" : "pty";
}

static cJSON *entry_json(const struct log_entry *e)
{
    cJSON *o = cJSON_CreateObject();
    char *b64 = xmalloc(BASE64_ENCODED_SIZE(e->len));

    base64_encode(e->data, e->len, b64);
    cJSON_AddNumberToObject(o, "sequence", (double)e->seq);
    json_add_string(o, "stream", stream_name(e->stream));
    cJSON_AddNumberToObject(o, "timestampMs", (double)e->ts_ms);
    cJSON_AddStringToObject(o, "data", b64);
    cJSON_AddStringToObject(o, "encoding", "base64");
    free(b64);
    return o;
}

/* The sequence after which a reader starts so that it sees only the last `tail` matches. */
static uint64_t tail_start(const struct proc_log *l, unsigned mask, uint64_t after, uint64_t tail)
{
    uint64_t count = 0;

    if (tail == UINT64_MAX)
        return after;
    if (tail == 0)
        return l->next_seq - 1;
    for (uint64_t seq = l->next_seq - 1; seq > 0 && seq > after && seq >= proc_log_first_seq(l);
         seq--) {
        const struct log_entry *e = proc_log_next(l, seq - 1);
        if (e && (e->stream & mask) && ++count == tail)
            return seq - 1;
    }
    return after;
}

/* A log follower: a cursor into the process's ring, pulled by the SSE source. */
struct follower {
    struct proc_watcher w; /* first member */
    struct sse_stream *sse;
    struct proc *p; /* referenced */
    unsigned mask;  /* streams to send */
    uint64_t after; /* last sequence sent */
    struct buf out; /* the formatted event being sent */
    bool exit_sent;
};

static void follower_notify(struct proc_watcher *w, struct proc *p, enum proc_event ev)
{
    struct follower *f = (struct follower *)w;

    (void)p;
    (void)ev;
    if (f->sse)
        sse_wake(f->sse);
}

/* The next event, formatted (sse_pull_ops.next). */
static ssize_t follower_next(void *arg, const char **ret)
{
    struct follower *f = arg;
    const struct log_entry *e;

    buf_reset(&f->out);
    *ret = f->out.data;
    while ((e = proc_log_next(&f->p->log, f->after)) != NULL) {
        f->after = e->seq;
        if (!(e->stream & f->mask))
            continue;
        cJSON *o = entry_json(e);
        char *text = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        if (!text)
            abort();
        buf_printf(&f->out, "event: log\nid: %" PRIu64 "\ndata: %s\n\n", e->seq, text);
        free(text);
        *ret = f->out.data;
        return (ssize_t)f->out.len;
    }
    if (f->exit_sent)
        return SSE_END;
    if (f->p->finished) {
        f->exit_sent = true;
        if (f->p->signaled)
            buf_printf(&f->out, "event: exit\ndata: {\"exitCode\":null,\"signal\":%d}\n\n",
                       f->p->term_signal);
        else
            buf_printf(&f->out, "event: exit\ndata: {\"exitCode\":%d}\n\n", f->p->exit_code);
        *ret = f->out.data;
        return (ssize_t)f->out.len;
    }
    return 0;
}

static void follower_release(void *arg)
{
    struct follower *f = arg;

    proc_unwatch(f->p, &f->w);
    proc_unref(f->p);
    buf_done(&f->out);
    free(f);
}

static const struct sse_pull_ops follower_ops = {follower_next, follower_release};

static int parse_stream(const struct query *q, const struct proc *p, unsigned *ret_mask,
                        const char **ret_name, struct problem *err)
{
    const char *s = NULL;

    if (query_str(q, "stream", &s, err) < 0)
        return -1;
    if (!s)
        s = p->tty ? "pty" : "combined";
    if (strcmp(s, "combined") == 0)
        *ret_mask = PROC_STDOUT | PROC_STDERR;
    else if (strcmp(s, "stdout") == 0)
        *ret_mask = PROC_STDOUT;
    else if (strcmp(s, "stderr") == 0)
        *ret_mask = PROC_STDERR;
    else if (strcmp(s, "pty") == 0)
        *ret_mask = PROC_PTY;
    else
        return problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                           "query parameter `stream` must be one of: stdout, stderr, combined, "
                           "pty");
    *ret_name = s;
    return 0;
}

void proc_logs_handle(struct http_req *req, struct proc *p)
{
    const struct query *q = http_query(req);
    uint64_t since = 0, tail = UINT64_MAX;
    bool follow = false;
    unsigned mask = 0;
    const char *name = NULL;
    struct problem err;
    char *last_id;

    if (parse_stream(q, p, &mask, &name, &err) < 0 ||
        query_u64(q, "since", UINT64_MAX, &since, &err) < 0 ||
        query_u64(q, "tail", UINT64_MAX - 1, &tail, &err) < 0 ||
        query_bool(q, "follow", &follow, &err) < 0) {
        http_reply_problem(req, &err);
        return;
    }
    last_id = http_header(req, "last-event-id:");
    if (last_id) {
        char *end;
        unsigned long long v;
        errno = 0;
        v = strtoull(last_id, &end, 10);
        if (errno || end == last_id || *end || last_id[0] < '0' || last_id[0] > '9') {
            problem_set(&err, 400, PROBLEM_INVALID_REQUEST,
                        "Last-Event-ID `%s` must be a log sequence number", last_id);
            free(last_id);
            http_reply_problem(req, &err);
            return;
        }
        if (v > since)
            since = v;
        free(last_id);
    }

    if (!follow) {
        cJSON *o = cJSON_CreateObject(), *arr;
        uint64_t after = tail_start(&p->log, mask, since, tail);
        const struct log_entry *e;

        json_add_string(o, "processId", p->id);
        json_add_string(o, "stream", name);
        arr = cJSON_AddArrayToObject(o, "entries");
        while ((e = proc_log_next(&p->log, after)) != NULL) {
            after = e->seq;
            if (e->stream & mask)
                cJSON_AddItemToArray(arr, entry_json(e));
        }
        http_reply_json(req, 200, o);
        cJSON_Delete(o);
        return;
    }

    struct follower *f = xcalloc(1, sizeof(*f));
    f->w.notify = follower_notify;
    f->p = p;
    f->mask = mask;
    f->after = tail_start(&p->log, mask, since, tail);
    buf_init(&f->out, 4 * LIM_JSON_BODY_BYTES);
    proc_ref(p);
    proc_watch(p, &f->w);
    /* Logs keep-alive with a lone colon (the reference's); the first pull comes from the loop. */
    f->sse = sse_pull_start(req, &follower_ops, f, ":\n\n");
}
