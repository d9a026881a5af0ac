/*
 * agent_version: what GET /v1/agents?config=true reports as an agent's path and
 * version, the reference's way: its own CLI (agent_native_path()) and the first
 * line that CLI prints for `--version` (then `version`, then `-V`), cut before
 * " (" ("2.1.83 (Claude Code)" is "2.1.83").
 *
 * A lookup is a child process on the loop (node CLIs take 0.4-0.8 s to say their
 * version), bounded by LIM_AGENT_VERSION_MS and LIM_AGENT_VERSION_OUTPUT_BYTES.
 * The answer is cached per agent until the agent is installed again or a client
 * asks with no_cache=true; one lookup per agent runs at a time, and every request
 * that needs it waits for that one, so a burst of requests starts at most one
 * child per agent.  This file owns the cache, the lookups and their waiters.
 */
#include "agent.h"

#include "../process/proc.h"
#include "../stream/limits.h"
#include "../stream/log.h"
#include "../stream/xmalloc.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VERSION_TRIES 3

static const char *const version_args[VERSION_TRIES] = {"--version", "version", "-V"};

struct version_fetch {
    size_t pending; /* lookups it still waits for */
    agent_versions_done_fn done;
    void *arg;
};

struct version_waiter {
    struct version_fetch *fetch;
    struct version_waiter *next;
};

struct version_lookup;

struct version_entry {
    bool cached;
    char path[PATH_MAX];
    char version[64];
    struct version_lookup *running; /* NULL when none */
};

struct version_lookup {
    const struct agent_adapter *agent;
    size_t index;    /* in agent_table, the cache's index */
    uv_loop_t *loop; /* for the next try */
    char path[PATH_MAX];
    unsigned attempt; /* index into version_args */
    uv_process_t proc;
    uv_pipe_t out, err;
    uv_timer_t timer;
    int handles; /* still open */
    bool exited, timed_out, stopped;
    int64_t status;
    char buf[2][LIM_AGENT_VERSION_OUTPUT_BYTES]; /* the heads of stdout and stderr */
    size_t len[2];
    struct version_waiter *waiters;
};

static struct version_entry cache[16];

static size_t table_index(const struct agent_adapter *a)
{
    for (size_t i = 0; i < agent_count; i++)
        if (agent_table[i] == a)
            return i;
    return SIZE_MAX;
}

/*
 * The version in a CLI's output: the first non-blank line of stdout, then stderr, trimmed,
 * cut before " (".  False when there is none.
 */
static bool parse_version(struct version_lookup *l, char *out, size_t n)
{
    for (int s = 0; s < 2; s++) {
        const char *p = l->buf[s], *end = p + l->len[s];
        while (p < end) {
            const char *eol = memchr(p, '\n', (size_t)(end - p)), *q;
            const char *e = eol ? eol : end;
            while (p < e && (*p == ' ' || *p == '\t' || *p == '\r'))
                p++;
            while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
                e--;
            if (e > p) {
                for (q = p; q + 1 < e; q++)
                    if (q[0] == ' ' && q[1] == '(')
                        break;
                if (q + 1 >= e)
                    q = e;
                snprintf(out, n, "%.*s", (int)(q - p), p);
                return true;
            }
            p = eol ? eol + 1 : end;
        }
    }
    return false;
}

static void lookup_start(struct version_lookup *l);

/* The lookup's answer into the cache, and every waiting fetch told. */
static void lookup_finish(struct version_lookup *l, const char *version)
{
    struct version_entry *c = &cache[l->index];
    struct version_waiter *w, *next;

    c->cached = true;
    c->running = NULL;
    snprintf(c->path, sizeof(c->path), "%s", l->path);
    snprintf(c->version, sizeof(c->version), "%s", version ? version : "");
    for (w = l->waiters; w; w = next) {
        next = w->next;
        if (--w->fetch->pending == 0) {
            w->fetch->done(w->fetch->arg);
            free(w->fetch);
        }
        free(w);
    }
    free(l);
}

static void lookup_closed(uv_handle_t *h)
{
    struct version_lookup *l = h->data;
    char version[64];

    if (--l->handles)
        return;
    if (!l->timed_out && !l->stopped && l->status == 0 &&
        parse_version(l, version, sizeof(version))) {
        lookup_finish(l, version);
        return;
    }
    if (l->timed_out)
        log_warn("agents", "%s: `%s %s` did not answer within %d ms", l->agent->id, l->path,
                 version_args[l->attempt], LIM_AGENT_VERSION_MS);
    if (!l->timed_out && !l->stopped && ++l->attempt < VERSION_TRIES) {
        lookup_start(l);
        return;
    }
    lookup_finish(l, NULL);
}

static void lookup_exit(uv_process_t *p, int64_t status, int term_signal)
{
    struct version_lookup *l = p->data;

    l->exited = true;
    l->status = term_signal ? -1 : status;
    uv_close((uv_handle_t *)p, lookup_closed);
    uv_close((uv_handle_t *)&l->timer, lookup_closed);
    /* A CLI that leaves a child holding its pipes open must not hold the answer: the pipes
     * close with it, and what they had said by now is the output. */
    if (!uv_is_closing((uv_handle_t *)&l->out))
        uv_close((uv_handle_t *)&l->out, lookup_closed);
    if (!uv_is_closing((uv_handle_t *)&l->err))
        uv_close((uv_handle_t *)&l->err, lookup_closed);
}

static void lookup_timeout(uv_timer_t *t)
{
    struct version_lookup *l = t->data;

    l->timed_out = true;
    if (!l->exited)
        uv_kill(-l->proc.pid, SIGKILL);
}

static void lookup_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    static char chunk[4096];

    b->base = chunk;
    b->len = sizeof(chunk);
}

static void lookup_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct version_lookup *l = s->data;
    int i = s == (uv_stream_t *)&l->out ? 0 : 1;
    size_t room = sizeof(l->buf[i]) - l->len[i];

    if (n < 0) {
        uv_read_stop(s);
        return;
    }
    if ((size_t)n > room)
        n = (ssize_t)room; /* the head is enough: a version is on the first line */
    memcpy(l->buf[i] + l->len[i], b->base, (size_t)n);
    l->len[i] += (size_t)n;
}

/* Runs try l->attempt; its end comes through lookup_closed. */
static void lookup_start(struct version_lookup *l)
{
    const char *argv[3] = {l->path, version_args[l->attempt], NULL};
    struct proc_child c;
    int e;

    l->exited = false;
    l->len[0] = l->len[1] = 0;
    uv_pipe_init(l->loop, &l->out, 0);
    uv_pipe_init(l->loop, &l->err, 0);
    uv_timer_init(l->loop, &l->timer);
    l->proc.data = l->out.data = l->err.data = l->timer.data = l;
    memset(&c, 0, sizeof(c));
    c.argv = argv;
    c.out = &l->out;
    c.err = &l->err;
    c.on_exit = lookup_exit;
    /* The agent's own environment, so a CLI behaves as it does when the agent runs. */
    c.env_set = l->agent->launch_env;
    c.env_defaults = l->agent->launch_env_defaults;
    l->handles = 4;
    e = proc_spawn_child(l->loop, &l->proc, &c);
    if (e < 0) {
        log_warn("agents", "%s: cannot run %s: %s", l->agent->id, l->path, uv_strerror(e));
        l->stopped = true; /* no other try runs a program that cannot start */
        l->status = -1;
        uv_close((uv_handle_t *)&l->proc, lookup_closed);
        uv_close((uv_handle_t *)&l->out, lookup_closed);
        uv_close((uv_handle_t *)&l->err, lookup_closed);
        uv_close((uv_handle_t *)&l->timer, lookup_closed);
        return;
    }
    uv_read_start((uv_stream_t *)&l->out, lookup_alloc, lookup_read);
    uv_read_start((uv_stream_t *)&l->err, lookup_alloc, lookup_read);
    uv_timer_start(&l->timer, lookup_timeout, LIM_AGENT_VERSION_MS, 0);
}

/* Adds f as a waiter of agent a's lookup, starting one when none runs; false when the cached
 * answer can be used (or a has nothing to look up) and f need not wait. */
static bool lookup_join(uv_loop_t *loop, const struct agent_adapter *a, bool fresh,
                        struct version_fetch *f)
{
    size_t i = table_index(a);
    struct version_entry *c;
    struct version_lookup *l;
    struct version_waiter *w;
    char path[PATH_MAX];

    if (i >= sizeof(cache) / sizeof(cache[0]))
        return false;
    c = &cache[i];
    if (!c->running) {
        if (c->cached && !fresh)
            return false;
        if (agent_native_path(a, path, sizeof(path)) < 0) {
            /* No CLI: nothing to run, and a later install or PATH change is seen next time. */
            c->cached = false;
            c->path[0] = c->version[0] = '\0';
            return false;
        }
        l = xcalloc(1, sizeof(*l));
        l->agent = a;
        l->index = i;
        l->loop = loop;
        snprintf(l->path, sizeof(l->path), "%s", path);
        c->running = l;
        lookup_start(l);
    }
    w = xcalloc(1, sizeof(*w));
    w->fetch = f;
    w->next = c->running->waiters;
    c->running->waiters = w;
    f->pending++;
    return true;
}

void agent_versions_fetch(uv_loop_t *loop, const struct agent_adapter *const *list, size_t n,
                          bool fresh, agent_versions_done_fn done, void *arg)
{
    struct version_fetch *f = xcalloc(1, sizeof(*f));

    f->done = done;
    f->arg = arg;
    f->pending = 1; /* held until every lookup is joined */
    for (size_t i = 0; i < n; i++)
        lookup_join(loop, list[i], fresh, f);
    if (--f->pending == 0) {
        done(arg);
        free(f);
    }
}

bool agent_version_get(const struct agent_adapter *a, char *path, size_t path_n, char *version,
                       size_t version_n)
{
    size_t i = table_index(a);

    path[0] = version[0] = '\0';
    if (i >= sizeof(cache) / sizeof(cache[0]) || !cache[i].cached || !cache[i].path[0])
        return false;
    snprintf(path, path_n, "%s", cache[i].path);
    snprintf(version, version_n, "%s", cache[i].version);
    return true;
}

void agent_version_forget(const struct agent_adapter *a)
{
    size_t i = table_index(a);

    if (i < sizeof(cache) / sizeof(cache[0]))
        cache[i].cached = false;
}

void agent_version_shutdown(void)
{
    for (size_t i = 0; i < sizeof(cache) / sizeof(cache[0]); i++) {
        struct version_lookup *l = cache[i].running;
        if (!l)
            continue;
        l->stopped = true;
        if (!l->exited)
            uv_kill(-l->proc.pid, SIGKILL);
    }
}
