/*
 * Standard base64 (RFC 4648, with padding) for log entries and input bodies.
 */
#ifndef STREAM_BASE64_H
#define STREAM_BASE64_H

#include <stddef.h>

/* Bytes needed to encode n bytes, plus the NUL. */
#define BASE64_ENCODED_SIZE(n) ((((n) + 2) / 3) * 4 + 1)

/* Encodes src into dst (BASE64_ENCODED_SIZE(n) bytes); returns the length without NUL. */
size_t base64_encode(const void *src, size_t n, char *dst);
/*
 * Decodes the n characters at src into dst (at least n / 4 * 3 + 3 bytes).
 * Padding is optional; whitespace is not allowed.  Returns the decoded
 * length, or -1 with *ret_bad set to the offset of the first invalid character.
 */
long base64_decode(const char *src, size_t n, unsigned char *dst, size_t *ret_bad);

#endif
