/*
 * json_out: the reply side of JSON: strings added without ever emitting
 * invalid UTF-8, byte strings escaped, compact printing.  Below json.c (the
 * request side, which reports through problem.c) and problem.c, which both
 * use it.
 */
#include "json_out.h"

#include "xmalloc.h"

#include <stdlib.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    unsigned cp;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, cp = c & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

bool utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;

    for (size_t i = 0; i < n;) {
        size_t l = utf8_seq(p + i, n - i);
        if (!l)
            return false;
        i += l;
    }
    return true;
}

cJSON *json_add_string(cJSON *obj, const char *key, const char *s)
{
    size_t n = strlen(s);
    const unsigned char *p = (const unsigned char *)s;
    char *clean, *o;
    cJSON *item;

    if (utf8_valid(s, n))
        return cJSON_AddStringToObject(obj, key, s);
    /* Each invalid byte becomes the 3-byte replacement character. */
    clean = xmalloc(n * 3 + 1);
    o = clean;
    for (size_t i = 0; i < n;) {
        size_t l = utf8_seq(p + i, n - i);
        if (l) {
            memcpy(o, p + i, l);
            o += l;
            i += l;
        } else {
            memcpy(o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        }
    }
    *o = '\0';
    item = cJSON_AddStringToObject(obj, key, clean);
    free(clean);
    return item;
}

int json_escape_bytes(struct buf *out, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    int r = buf_append(out, "\"", 1);

    for (size_t i = 0; i < n && r == 0;) {
        unsigned char c = p[i];
        size_t l;
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            r = buf_append(out, esc, 2);
            i++;
        } else if (c < 0x20) {
            r = buf_printf(out, "\\u%04x", c);
            i++;
        } else if ((l = utf8_seq(p + i, n - i)) != 0) {
            r = buf_append(out, p + i, l);
            i += l;
        } else {
            r = buf_append(out, "\xef\xbf\xbd", 3);
            i++;
        }
    }
    return r == 0 ? buf_append(out, "\"", 1) : r;
}

char *json_print(const cJSON *obj, size_t *ret_len)
{
    char *text = cJSON_PrintUnformatted(obj);

    if (!text)
        abort(); /* cJSON only fails on allocation */
    *ret_len = strlen(text);
    return text;
}
