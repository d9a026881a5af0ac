/*
 * Shared between the files of the fs module; not used outside fs/.
 */
#ifndef FS_INTERNAL_H
#define FS_INTERNAL_H

#include "fs_path.h"

#include "../stream/http.h"

#include <stdbool.h>
#include <stdint.h>

#include "../stream/route.h"

/* The endpoints of fs_file.c, fs_tar.c and fs_watch.c, for fs_register(). */
extern const struct route_table fs__file_routes, fs__tar_routes, fs__watch_routes;

/*
 * The streamed body spool shared by PUT /v1/fs/file and upload-batch: body
 * bytes are staged in bounded buffers and written by the worker pool into
 * an unnamed temporary file, with socket reads paused while the disk is
 * behind.  See fs_spool.c.
 */
struct fs_spool;
struct fs_spool_ops {
    /* Worker thread: create the temporary file; return its fd or -errno. */
    int (*open)(struct fs_spool *s, void *arg, struct problem *err);
    /* Worker thread: the whole body is on disk (fd at its end); 0 or -1 with err. */
    int (*commit)(struct fs_spool *s, void *arg, int fd, uint64_t size, struct problem *err);
    /* Loop thread: the body is committed and the client still waits: reply with success. */
    void (*reply)(struct http_req *req, void *arg, uint64_t size);
    /* Loop thread: release arg (always called once). */
    void (*release)(void *arg);
};
/* Starts spooling req's body; takes over arg. */
void fs_spool_start(struct http_req *req, const struct fs_spool_ops *ops, void *arg);
/* Abandons every unfinished spool (shutdown). */
void fs_upload_abort_all(void);

/*
 * The validation pass of upload-batch on the archive in fd (read from its
 * start); writes nothing.  Returns 0 or -1 with a 4xx/503 problem.
 */
int fs_tar_check(int fd, struct problem *err);

void fs_watch_close_all(void);

#endif
