/*
 * base64: encoder and strict decoder.
 */
#include "base64.h"

#include <stdint.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t base64_encode(const void *src, size_t n, char *dst)
{
    const unsigned char *s = src;
    size_t o = 0, i = 0;

    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
        dst[o++] = alphabet[v >> 18];
        dst[o++] = alphabet[(v >> 12) & 63];
        dst[o++] = alphabet[(v >> 6) & 63];
        dst[o++] = alphabet[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)s[i] << 16;
        dst[o++] = alphabet[v >> 18];
        dst[o++] = alphabet[(v >> 12) & 63];
        dst[o++] = '=';
        dst[o++] = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8;
        dst[o++] = alphabet[v >> 18];
        dst[o++] = alphabet[(v >> 12) & 63];
        dst[o++] = alphabet[(v >> 6) & 63];
        dst[o++] = '=';
    }
    dst[o] = '\0';
    return o;
}

static int value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

long base64_decode(const char *src, size_t n, unsigned char *dst, size_t *ret_bad)
{
    uint32_t acc = 0;
    size_t o = 0, bits = 0, pad = 0;

    for (size_t i = 0; i < n; i++) {
        int v;
        if (src[i] == '=') {
            /* Padding only at the end, at most two. */
            if (++pad > 2)
                goto bad_at_i;
            continue;
        }
        if (pad)
            goto bad_at_i;
        v = value(src[i]);
        if (v < 0)
            goto bad_at_i;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            dst[o++] = (unsigned char)(acc >> bits);
        }
        continue;
    bad_at_i:
        *ret_bad = i;
        return -1;
    }
    /* A lone trailing character cannot encode a byte. */
    if (bits >= 6) {
        *ret_bad = n ? n - 1 : 0;
        return -1;
    }
    /* Padding, when given, completes the last quantum exactly ("QQ==", "QUI=", not "QUJD="). */
    if (pad && n % 4 != 0) {
        *ret_bad = n - pad;
        return -1;
    }
    return (long)o;
}
