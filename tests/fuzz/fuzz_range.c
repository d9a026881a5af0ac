/*
 * Fuzzes the Range header parser of file downloads (fs, recordings).  Invariants: a
 * satisfiable range lies inside the file and is never empty; whatever the
 * input, the parser neither crashes nor reads out of bounds.
 */
#include "../../stream/http_fd.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint64_t sizes[] = {0, 1, 10, 4096, UINT64_MAX / 2};
    uint64_t file_size, start, len;
    char *h;

    if (size < 1)
        return 0;
    h = malloc(size);
    if (!h)
        return 0;
    /* First byte picks the file size; the rest is the header value. */
    file_size = sizes[data[0] % (sizeof(sizes) / sizeof(sizes[0]))];
    memcpy(h, data + 1, size - 1);
    h[size - 1] = '\0';
    start = len = 0;
    switch (http_range_parse(h, file_size, &start, &len)) {
    case HTTP_RANGE_OK:
        if (len == 0 || start >= file_size || len > file_size - start)
            abort();
        break;
    case HTTP_RANGE_NONE:
    case HTTP_RANGE_UNSATISFIABLE:
        break;
    default:
        abort();
    }
    free(h);
    return 0;
}
