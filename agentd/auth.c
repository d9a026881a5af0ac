/*
 * auth: token checks.  The reference is strict about the scheme ("Bearer",
 * case-sensitive, one space) and tolerant of trailing whitespace; so is this.
 */
#include "auth.h"

#include <string.h>

bool auth_equal(const char *a, size_t alen, const char *b, size_t blen)
{
    volatile unsigned char diff = 0;
    size_t n = alen > blen ? alen : blen;

    /* Touch every byte of the longer string so timing depends on length only. */
    for (size_t i = 0; i < n; i++) {
        unsigned char x = i < alen ? (unsigned char)a[i] : 0;
        unsigned char y = i < blen ? (unsigned char)b[i] : 0;
        diff |= (unsigned char)(x ^ y);
    }
    return diff == 0 && alen == blen;
}

bool auth_header_ok(const char *header, const char *token)
{
    size_t n;

    if (!header || strncmp(header, "Bearer ", 7) != 0)
        return false;
    header += 7;
    n = strlen(header);
    while (n && (header[n - 1] == ' ' || header[n - 1] == '\t'))
        n--;
    return auth_equal(header, n, token, strlen(token));
}
