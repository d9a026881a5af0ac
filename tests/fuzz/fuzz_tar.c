/*
 * Fuzzes the validation pass of POST /v1/fs/upload-batch: arbitrary bytes
 * as a (possibly compressed) tar archive.  Invariants: no crash, and a
 * rejection is always a 4xx problem with a detail.
 */
#include "../../fs/fs_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;
    struct problem err;

    if (fd < 0) {
        fd = memfd_create("fuzz-tar", MFD_CLOEXEC);
        if (fd < 0)
            abort();
    }
    if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        abort();
    memset(&err, 0, sizeof(err));
    if (fs_tar_check(fd, &err) < 0) {
        if (err.status < 400 || err.status > 599 || err.message[0] == '\0')
            abort();
    }
    return 0;
}
