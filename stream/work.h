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
/* Jobs submitted and not yet done (for shutdown and tests). */
unsigned work_pending(void);

#endif
