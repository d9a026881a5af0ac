/*
 * proc_log: the bounded output ring.  Entries sit in a circular array so
 * that finding "the first entry after sequence N" is O(1): sequences are
 * contiguous within the ring.
 */
#include "proc_log.h"

#include "../stream/xmalloc.h"

#include <stdlib.h>
#include <string.h>

void proc_log_init(struct proc_log *l, size_t max_bytes)
{
    memset(l, 0, sizeof(*l));
    l->max_bytes = max_bytes ? max_bytes : 1;
    l->next_seq = 1;
}

void proc_log_done(struct proc_log *l)
{
    for (size_t i = 0; i < l->count; i++)
        free(l->slots[(l->start + i) % l->cap]);
    free(l->slots);
    memset(l, 0, sizeof(*l));
}

static void drop_oldest(struct proc_log *l)
{
    struct log_entry *e = l->slots[l->start];

    l->bytes -= e->len;
    free(e);
    l->slots[l->start] = NULL;
    l->start = (l->start + 1) % l->cap;
    l->count--;
}

const struct log_entry *proc_log_append(struct proc_log *l, enum proc_stream s, const void *p,
                                        size_t n, int64_t ts_ms)
{
    struct log_entry *e;
    uint64_t off = l->produced[s];

    l->produced[s] += n;
    if (n > l->max_bytes) {
        off += n - l->max_bytes;
        p = (const char *)p + (n - l->max_bytes);
        n = l->max_bytes;
    }
    while (l->count && l->bytes + n > l->max_bytes)
        drop_oldest(l);
    if (l->count == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 64;
        struct log_entry **ns = xcalloc(ncap, sizeof(*ns));
        for (size_t i = 0; i < l->count; i++)
            ns[i] = l->slots[(l->start + i) % l->cap];
        free(l->slots);
        l->slots = ns;
        l->cap = ncap;
        l->start = 0;
    }
    e = xmalloc(sizeof(*e) + n);
    e->seq = l->next_seq++;
    e->stream = s;
    e->ts_ms = ts_ms;
    e->off = off;
    e->len = n;
    memcpy(e->data, p, n);
    l->slots[(l->start + l->count) % l->cap] = e;
    l->count++;
    l->bytes += n;
    return e;
}

uint64_t proc_log_first_seq(const struct proc_log *l)
{
    return l->count ? l->slots[l->start]->seq : l->next_seq;
}

const struct log_entry *proc_log_next(const struct proc_log *l, uint64_t after)
{
    uint64_t first = proc_log_first_seq(l);
    uint64_t want = after + 1 < first ? first : after + 1;

    if (!l->count || want >= l->next_seq)
        return NULL;
    return l->slots[(l->start + (size_t)(want - first)) % l->cap];
}
