/*
 * fs_archive: dlopen()s libarchive the first time a tar upload needs it.
 */
#include "fs_archive.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

static struct fs_archive_api api;
static const struct fs_archive_api *loaded;
static char load_error[256];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void load(void)
{
    void *h = dlopen("libarchive.so.13", RTLD_NOW | RTLD_LOCAL);

    if (!h) {
        snprintf(load_error, sizeof(load_error), "%s", dlerror());
        return;
    }
#define FS_ARCHIVE_LOAD(fn)                                                                        \
    api.fn = (__typeof__(&fn))dlsym(h, #fn);                                                       \
    if (!api.fn) {                                                                                 \
        snprintf(load_error, sizeof(load_error), "libarchive has no %s", #fn);                     \
        return;                                                                                    \
    }
    FS_ARCHIVE_FUNCS(FS_ARCHIVE_LOAD)
#undef FS_ARCHIVE_LOAD
    loaded = &api;
}

const struct fs_archive_api *fs_archive(struct problem *err)
{
    pthread_once(&once, load);
    if (!loaded)
        problem_set(err, 503, PROBLEM_STREAM_ERROR,
                    "tar extraction needs libarchive (%s); install it with "
                    "`apt-get install libarchive13`",
                    load_error);
    return loaded;
}
