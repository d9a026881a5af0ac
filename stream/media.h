/*
 * Media-type negotiation on request headers.
 */
#ifndef STREAM_MEDIA_H
#define STREAM_MEDIA_H

#include <stdbool.h>

/*
 * Whether an Accept header value allows type ("application/json"): no
 * header (NULL), a range "*" "/" "*", "application/" "*", or the type itself
 * (case-insensitive, parameters such as q= ignored).
 */
bool media_accepts(const char *accept, const char *type);

#endif
