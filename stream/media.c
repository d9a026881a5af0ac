/*
 * media: Accept header matching for the routes that negotiate (the ACP
 * bridge answers 406 when a client refuses JSON or event streams).
 */
#include "media.h"

#include <string.h>
#include <strings.h>

bool media_accepts(const char *accept, const char *type)
{
    const char *slash = strchr(type, '/');
    size_t major = slash ? (size_t)(slash - type) : strlen(type);
    const char *p = accept;

    if (!accept)
        return true;
    while (*p) {
        const char *q = p + strspn(p, " \t");
        size_t n = strcspn(q, ";, \t");
        const char *end = q + strcspn(q, ",");

        if (n == 3 && memcmp(q, "*/*", 3) == 0)
            return true;
        if (n == major + 2 && strncasecmp(q, type, major + 1) == 0 && q[n - 1] == '*')
            return true;
        if (n == strlen(type) && strncasecmp(q, type, n) == 0)
            return true;
        p = *end ? end + 1 : end;
    }
    return false;
}
