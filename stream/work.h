/*
 * The hand-off to the libuv worker pool: fn runs on a pool thread, done runs
 * afterwards on the loop thread.  The caller keeps whatever fn touches alive
 * until done (for a request: http_req_ref before, http_req_unref in done, and
 * http_req_alive() to see whether the client is still there).
 */
#ifndef STREAM_WORK_H
#define STREAM_WORK_H

typedef void (*work_fn)(void *arg);

void work_submit(work_fn fn, work_fn done, void *arg);
/*
 * The same for a job that may hold its thread for long (a tar's validation
 * and extraction, an upload's fsync): at most the pool's size less
 * LIM_WORK_BULK_RESERVE of them run at once, the others wait in order, so
 * that short jobs (a stat, a 1 MiB write, a screenshot's encode) always find
 * a thread, whoever floods the pool with long ones.
 */
void work_submit_bulk(work_fn fn, work_fn done, void *arg);
/* Jobs submitted and not yet done (for shutdown and tests). */
unsigned work_pending(void);

#endif
