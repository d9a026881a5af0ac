/*
 * The one problem+json builder (RFC 7807).  Every client-visible failure in
 * agentd is described by a struct problem and rendered here, so the `type`
 * URNs, titles and detail prefixes stay consistent with the reference API.
 */
#ifndef STREAM_PROBLEM_H
#define STREAM_PROBLEM_H

#include "buf.h"

#include <cjson/cJSON.h>
#include <stdarg.h>

#define PROBLEM_URN_PREFIX  "urn:sandbox-agent:error:"
#define PROBLEM_MESSAGE_MAX 1024
#define PROBLEM_ID_MAX      512
#define PROBLEM_EXT_MAX     2048

enum problem_kind {
    PROBLEM_INVALID_REQUEST = 0, /* bad input; title follows the HTTP status */
    PROBLEM_NOT_FOUND,           /* details: {id, resource} */
    PROBLEM_CONFLICT,            /* details: {message} */
    PROBLEM_STREAM_ERROR,        /* OS or I/O failure; details: {message} */
    PROBLEM_TOKEN_INVALID,       /* 401 */
    PROBLEM_PERMISSION_DENIED,   /* 403; details: {message} */
    PROBLEM_NOT_ACCEPTABLE,      /* 406; details: {message} */
    PROBLEM_UNSUPPORTED_MEDIA_TYPE,
    PROBLEM_TIMEOUT,
    PROBLEM_SESSION_NOT_FOUND, /* 404; member sessionId (id) */
    PROBLEM_UNSUPPORTED_AGENT, /* 400; member agent (id) */
    PROBLEM_INSTALL_FAILED,    /* 500; member agent (id), details.stderr (extra) */
    /* Desktop kinds: `detail` is the message as is, plus a top-level `code` (the URN suffix). */
    PROBLEM_DESKTOP_RUNTIME_INACTIVE,     /* 409 */
    PROBLEM_DESKTOP_INVALID_ACTION,       /* 400 */
    PROBLEM_WINDOW_NOT_FOUND,             /* 404 */
    PROBLEM_APP_NOT_FOUND,                /* 404 */
    PROBLEM_DESKTOP_RUNTIME_FAILED,       /* 503; ext: processes */
    PROBLEM_DESKTOP_DEPENDENCIES_MISSING, /* 503; ext: installCommand, missingDependencies */
    PROBLEM_DESKTOP_SCREENSHOT_FAILED,    /* 502 */
    PROBLEM_CLIPBOARD_FAILED,             /* 500 */
    PROBLEM_NO_FOCUSED_WINDOW,            /* 404 */
    PROBLEM_KIND_COUNT,
};

struct problem {
    int status;                        /* HTTP status code */
    enum problem_kind kind;            /* selects the URN and title */
    char message[PROBLEM_MESSAGE_MAX]; /* what went wrong and how to fix it */
    const char *resource;              /* PROBLEM_NOT_FOUND: static resource name */
    char id[PROBLEM_ID_MAX];           /* PROBLEM_NOT_FOUND: what was not found */
    char extra[PROBLEM_MESSAGE_MAX];   /* PROBLEM_INSTALL_FAILED: the installer's output */
    char ext[PROBLEM_EXT_MAX];         /* "" or a JSON object whose members go top level */
};

/* Fills p; always returns -1 so a caller can `return problem_set(...)`. */
int problem_set(struct problem *p, int status, enum problem_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int problem_vset(struct problem *p, int status, enum problem_kind kind, const char *fmt,
                 va_list ap);
/* A 404 not_found naming the resource kind ("path", "process") and its id. */
int problem_not_found(struct problem *p, const char *resource, const char *id);
/* A problem whose extension member names id: sessionId, agent (see the kinds above). */
int problem_with_id(struct problem *p, int status, enum problem_kind kind, const char *id,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* A 404 session_not_found with a top-level `sessionId` (ACP servers, "mcp:<name>"). */
int problem_session_not_found(struct problem *p, const char *session_id);
/*
 * Adds the members of the JSON object `members` at the top level of the
 * rendered problem (the reference's desktop extensions).  Members that do
 * not fit PROBLEM_EXT_MAX are dropped whole.  Call after problem_set().
 */
void problem_set_ext(struct problem *p, const cJSON *members);
/* The URN suffix of a kind ("invalid_request"). */
const char *problem_kind_name(enum problem_kind kind);
/* The reason phrase for an HTTP status ("Not Found"), "Error" if unknown. */
const char *problem_status_text(int status);
/* Appends the JSON document for p to out. Returns 0 or -E2BIG. */
int problem_render(const struct problem *p, struct buf *out);

#endif
