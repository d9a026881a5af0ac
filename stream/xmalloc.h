/*
 * Allocation for small internal objects: abort on out-of-memory (tmux's
 * policy).  Sizes that come from a client are checked against stream/limits.h
 * before they reach these functions.
 */
#ifndef STREAM_XMALLOC_H
#define STREAM_XMALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Formats into a new heap string; never returns NULL. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
