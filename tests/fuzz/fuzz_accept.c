/*
 * Fuzzes the Accept header matcher of the ACP routes.  Invariants: no crash
 * or out-of-bounds read on any header; a header that lists the exact type,
 * or "*" "/" "*", anywhere in its list is always accepted.
 */
#include "../../stream/media.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const types[] = {"application/json", "text/event-stream"};
    char *h = malloc(size + 32);

    if (!h)
        return 0;
    memcpy(h, data, size);
    h[size] = '\0';
    for (size_t i = 0; i < 2; i++)
        (void)media_accepts(h, types[i]);
    /* Appending the any-type range to any header makes it accept everything. */
    if (strlen(h) == size) {
        memcpy(h + size, ", */*", 6);
        for (size_t i = 0; i < 2; i++)
            if (!media_accepts(h, types[i]))
                abort();
    }
    free(h);
    return 0;
}
