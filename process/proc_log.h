/*
 * A process's output log: a ring of chunks, each with a monotonic sequence
 * number, bounded by a byte budget (maxLogBytesPerProcess).  The oldest
 * chunks go first; sequence numbers keep counting, so a reader that fell
 * behind sees the gap instead of silently wrong data.
 */
#ifndef PROCESS_PROC_LOG_H
#define PROCESS_PROC_LOG_H

#include <stddef.h>
#include <stdint.h>

enum proc_stream {
    PROC_STDOUT = 1,
    PROC_STDERR = 2,
    PROC_PTY = 4,
};

struct log_entry {
    uint64_t seq; /* from 1, in arrival order across streams */
    enum proc_stream stream;
    int64_t ts_ms; /* wall clock, ms since the epoch */
    uint64_t off;  /* offset of data[0] in everything its stream produced */
    size_t len;    /* bytes in data */
    char data[];   /* the chunk */
};

struct proc_log {
    struct log_entry **slots; /* circular array of entries */
    size_t cap;               /* slots allocated */
    size_t start;             /* index of the oldest entry */
    size_t count;             /* entries held */
    size_t bytes;             /* data bytes held */
    size_t max_bytes;         /* the budget */
    uint64_t next_seq;        /* sequence of the next append */
    uint64_t produced[5];     /* bytes each stream produced, indexed by enum proc_stream */
};

void proc_log_init(struct proc_log *l, size_t max_bytes);
void proc_log_done(struct proc_log *l);
/* Appends a copy of n bytes (the tail of it if n exceeds the budget); returns the entry. */
const struct log_entry *proc_log_append(struct proc_log *l, enum proc_stream s, const void *p,
                                        size_t n, int64_t ts_ms);
/* The first retained entry with seq > after, or NULL. */
const struct log_entry *proc_log_next(const struct proc_log *l, uint64_t after);
/* Sequence of the oldest retained entry (next_seq when empty). */
uint64_t proc_log_first_seq(const struct proc_log *l);

#endif
