/*
 * Synchronous filesystem operations for /v1/fs, run on the worker pool.
 * Each returns 0 with *ret set to the JSON reply (caller frees), or -1 with
 * err describing the problem for the client.
 */
#ifndef FS_OPS_H
#define FS_OPS_H

#include "fs_path.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <time.h>

struct fs_move_request {
    char *from;     /* owned */
    char *to;       /* owned */
    bool overwrite; /* replace an existing destination */
};

/* RFC 3339 with nanoseconds when present and a +00:00 offset, like the reference. */
void fs_format_time(const struct timespec *ts, char *dst, size_t cap);

int fs_op_stat(const struct fs_path *p, cJSON **ret, struct problem *err);
int fs_op_entries(const struct fs_path *p, cJSON **ret, struct problem *err);
int fs_op_mkdir(const struct fs_path *p, cJSON **ret, struct problem *err);
int fs_op_delete(const struct fs_path *p, bool recursive, cJSON **ret, struct problem *err);
int fs_op_move(const struct fs_path *from, const struct fs_path *to, bool overwrite, cJSON **ret,
               struct problem *err);
/* Removes the entry at p (a tree when recursive). Returns 0 or a negative errno. */
int fs_remove_path(const struct fs_path *p, bool recursive);

/* Decodes the POST /v1/fs/move body. Returns 0 or -1 with a 400/413/422 problem. */
int fs_move_request_decode(const char *body, size_t len, struct fs_move_request *out,
                           struct problem *err);
void fs_move_request_done(struct fs_move_request *m);

#endif
