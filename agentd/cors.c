/*
 * cors: headers for browser clients.  Without any allowed origin no
 * access-control-allow-origin is ever sent, but preflights are still
 * answered 200, exactly as the reference does.
 */
#include "cors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct agentd_config *cors_cfg;
static char allow_methods_value[1024] = "*";
static char allow_headers_value[2048] = "*";

static void join(const struct config_list *l, char *dst, size_t cap)
{
    size_t len = 0;

    if (!l->n)
        return;
    dst[0] = '\0';
    for (size_t i = 0; i < l->n; i++) {
        int n = snprintf(dst + len, cap - len, "%s%s", i ? "," : "", l->v[i]);
        if (n < 0 || (size_t)n >= cap - len)
            break;
        len += (size_t)n;
    }
}

void cors_init(const struct agentd_config *cfg)
{
    cors_cfg = cfg;
    join(&cfg->cors_methods, allow_methods_value, sizeof(allow_methods_value));
    join(&cfg->cors_headers, allow_headers_value, sizeof(allow_headers_value));
}

void cors_apply(struct http_req *req)
{
    char *origin;
    bool allowed = false;

    http_add_header(req, "vary",
                    "origin, access-control-request-method, "
                    "access-control-request-headers");
    if (cors_cfg->cors_origins.n) {
        origin = http_header(req, "origin:");
        if (origin) {
            for (size_t i = 0; i < cors_cfg->cors_origins.n && !allowed; i++)
                allowed = strcmp(origin, cors_cfg->cors_origins.v[i]) == 0;
            if (allowed)
                http_add_header(req, "access-control-allow-origin", origin);
            free(origin);
        }
    }
    /* Credentials only go with an origin that is allowed (never to any page that asks). */
    if (cors_cfg->cors_credentials && allowed)
        http_add_header(req, "access-control-allow-credentials", "true");
}

bool cors_is_preflight(const struct http_req *req)
{
    return http_method(req) == HTTP_OPTIONS;
}

void cors_format_methods(unsigned methods, char *dst, size_t cap)
{
    static const unsigned order[] = {HTTP_GET,    HTTP_HEAD,  HTTP_POST,   HTTP_PUT,
                                     HTTP_DELETE, HTTP_PATCH, HTTP_OPTIONS};
    size_t len = 0;

    dst[0] = '\0';
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        if (!(methods & order[i]))
            continue;
        int n = snprintf(dst + len, cap - len, "%s%s", len ? "," : "", http_method_name(order[i]));
        if (n < 0 || (size_t)n >= cap - len)
            break;
        len += (size_t)n;
    }
}

void cors_reply_preflight(struct http_req *req, unsigned allow_methods)
{
    char allow[128];

    http_add_header(req, "access-control-allow-methods", allow_methods_value);
    http_add_header(req, "access-control-allow-headers", allow_headers_value);
    if (allow_methods) {
        cors_format_methods(allow_methods, allow, sizeof(allow));
        http_add_header(req, "allow", allow);
    }
    http_reply_empty(req, 200);
}
