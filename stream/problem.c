/*
 * problem: renders struct problem as application/problem+json.  Titles,
 * detail prefixes and extension members follow the reference server so the
 * official SDK (which shows `title`) and existing clients see familiar
 * errors; the improvement is that *every* error goes through here.
 */
#include "problem.h"

#include "json_out.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

struct kind_info {
    const char *name;   /* URN suffix */
    const char *title;  /* NULL: derived from the status */
    const char *prefix; /* prefix of `detail` */
    int with_message;   /* adds details.message */
    int with_code;      /* adds a top-level `code` (desktop kinds) */
};

static const struct kind_info kinds[PROBLEM_KIND_COUNT] = {
    [PROBLEM_INVALID_REQUEST] = {"invalid_request", NULL, "invalid request: ", 0},
    [PROBLEM_NOT_FOUND] = {"not_found", "Not Found", "not found: ", 0},
    [PROBLEM_CONFLICT] = {"conflict", "Conflict", "conflict: ", 1},
    [PROBLEM_STREAM_ERROR] = {"stream_error", "Stream Error", "stream error: ", 1},
    [PROBLEM_TOKEN_INVALID] = {"token_invalid", "Token Invalid", "", 1},
    [PROBLEM_PERMISSION_DENIED] = {"permission_denied", "Permission Denied",
                                   "permission denied: ", 1},
    [PROBLEM_NOT_ACCEPTABLE] = {"not_acceptable", "Not Acceptable", "not acceptable: ", 1},
    [PROBLEM_UNSUPPORTED_MEDIA_TYPE] = {"unsupported_media_type", "Unsupported Media Type",
                                        "unsupported media type: ", 1},
    [PROBLEM_TIMEOUT] = {"timeout", "Timeout", "timeout: ", 1},
    [PROBLEM_SESSION_NOT_FOUND] = {"session_not_found", "Session Not Found",
                                   "session not found: ", 0},
    [PROBLEM_UNSUPPORTED_AGENT] = {"unsupported_agent", "Unsupported Agent",
                                   "unsupported agent: ", 0},
    [PROBLEM_INSTALL_FAILED] = {"install_failed", "Install Failed", "install failed: ", 0},
    [PROBLEM_DESKTOP_RUNTIME_INACTIVE] = {"desktop_runtime_inactive", "Desktop Runtime Inactive",
                                          "", 0, 1},
    [PROBLEM_DESKTOP_INVALID_ACTION] = {"desktop_invalid_action", "Desktop Invalid Action", "", 0,
                                        1},
    [PROBLEM_WINDOW_NOT_FOUND] = {"window_not_found", "Window Not Found", "", 0, 1},
    [PROBLEM_APP_NOT_FOUND] = {"app_not_found", "App Not Found", "", 0, 1},
    [PROBLEM_DESKTOP_RUNTIME_FAILED] = {"desktop_runtime_failed", "Desktop Runtime Failed", "", 0,
                                        1},
    [PROBLEM_DESKTOP_DEPENDENCIES_MISSING] = {"desktop_dependencies_missing",
                                              "Desktop Dependencies Missing", "", 0, 1},
    [PROBLEM_DESKTOP_SCREENSHOT_FAILED] = {"desktop_screenshot_failed", "Desktop Screenshot Failed",
                                           "", 0, 1},
    [PROBLEM_CLIPBOARD_FAILED] = {"clipboard_failed", "Clipboard Failed", "", 0, 1},
    [PROBLEM_NO_FOCUSED_WINDOW] = {"no_focused_window", "No Focused Window", "", 0, 1},
};

int problem_vset(struct problem *p, int status, enum problem_kind kind, const char *fmt, va_list ap)
{
    p->status = status;
    p->kind = kind;
    p->resource = NULL;
    p->id[0] = '\0';
    p->extra[0] = '\0';
    p->ext[0] = '\0';
    if (vsnprintf(p->message, sizeof(p->message), fmt, ap) >= (int)sizeof(p->message)) {
        /* Mark the cut so nobody mistakes a truncated path for the real one. */
        memcpy(p->message + sizeof(p->message) - 4, "...", 4);
    }
    return -1;
}

int problem_set(struct problem *p, int status, enum problem_kind kind, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    problem_vset(p, status, kind, fmt, ap);
    va_end(ap);
    return -1;
}

int problem_not_found(struct problem *p, const char *resource, const char *id)
{
    problem_set(p, 404, PROBLEM_NOT_FOUND, "%s %s", resource, id);
    p->resource = resource;
    snprintf(p->id, sizeof(p->id), "%s", id);
    return -1;
}

int problem_with_id(struct problem *p, int status, enum problem_kind kind, const char *id,
                    const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    problem_vset(p, status, kind, fmt, ap);
    va_end(ap);
    snprintf(p->id, sizeof(p->id), "%s", id);
    return -1;
}

int problem_session_not_found(struct problem *p, const char *session_id)
{
    return problem_with_id(p, 404, PROBLEM_SESSION_NOT_FOUND, session_id, "%s", session_id);
}

void problem_set_ext(struct problem *p, const cJSON *members)
{
    char *text = members ? cJSON_PrintUnformatted(members) : NULL;

    p->ext[0] = '\0';
    if (text && cJSON_IsObject(members) && strlen(text) < sizeof(p->ext))
        memcpy(p->ext, text, strlen(text) + 1);
    cJSON_free(text);
}

const char *problem_kind_name(enum problem_kind kind)
{
    if ((unsigned)kind >= PROBLEM_KIND_COUNT)
        kind = PROBLEM_INVALID_REQUEST;
    return kinds[kind].name;
}

const char *problem_status_text(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 101:
        return "Switching Protocols";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 206:
        return "Partial Content";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 411:
        return "Length Required";
    case 413:
        return "Payload Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 416:
        return "Range Not Satisfiable";
    case 417:
        return "Expectation Failed";
    case 422:
        return "Unprocessable Entity";
    case 426:
        return "Upgrade Required";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    case 507:
        return "Insufficient Storage";
    default:
        return "Error";
    }
}

int problem_render(const struct problem *p, struct buf *out)
{
    const struct kind_info *k = &kinds[(unsigned)p->kind < PROBLEM_KIND_COUNT ? p->kind : 0];
    char urn[96], detail[PROBLEM_MESSAGE_MAX + 64];
    const char *title = k->title;
    cJSON *root, *details;
    char *text;
    int r;

    if (!title)
        title = p->status == 400 ? "Invalid Request" : problem_status_text(p->status);
    snprintf(urn, sizeof(urn), PROBLEM_URN_PREFIX "%s", k->name);
    if (p->kind == PROBLEM_TOKEN_INVALID)
        snprintf(detail, sizeof(detail), "token invalid");
    else
        snprintf(detail, sizeof(detail), "%s%s", k->prefix, p->message);

    root = cJSON_CreateObject();
    json_add_string(root, "type", urn);
    json_add_string(root, "title", title);
    cJSON_AddNumberToObject(root, "status", p->status);
    json_add_string(root, "detail", detail);
    if (p->kind == PROBLEM_SESSION_NOT_FOUND)
        json_add_string(root, "sessionId", p->id);
    else if (p->kind == PROBLEM_UNSUPPORTED_AGENT || p->kind == PROBLEM_INSTALL_FAILED)
        json_add_string(root, "agent", p->id);
    if (p->kind == PROBLEM_INSTALL_FAILED && p->extra[0]) {
        details = cJSON_AddObjectToObject(root, "details");
        json_add_string(details, "stderr", p->extra);
    } else if (p->kind == PROBLEM_NOT_FOUND && p->resource) {
        details = cJSON_AddObjectToObject(root, "details");
        json_add_string(details, "id", p->id);
        json_add_string(details, "resource", p->resource);
    } else if (k->with_message) {
        details = cJSON_AddObjectToObject(root, "details");
        json_add_string(details, "message", p->message);
    }
    if (k->with_code)
        json_add_string(root, "code", k->name);
    if (p->ext[0]) {
        cJSON *ext = cJSON_Parse(p->ext), *m;
        while (ext && (m = ext->child) != NULL) {
            cJSON_DetachItemViaPointer(ext, m);
            if (cJSON_GetObjectItemCaseSensitive(root, m->string))
                cJSON_Delete(m); /* never overrides the standard members */
            else
                cJSON_AddItemToObject(root, m->string, m);
        }
        cJSON_Delete(ext);
    }
    text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!text)
        return -ENOMEM;
    r = buf_append_str(out, text);
    cJSON_free(text);
    return r;
}
