/*
 * proc_decode: JSON request bodies of the process API.
 */
#include "proc_decode.h"

#include "../stream/base64.h"
#include "../stream/json.h"
#include "../stream/xmalloc.h"

#include <stdlib.h>
#include <string.h>

void proc_cmd_done(struct proc_cmd *c)
{
    free(c->args);
    for (size_t i = 0; i < c->nenv; i++)
        free(c->env[i]);
    free(c->env);
    cJSON_Delete(c->root);
    memset(c, 0, sizeof(*c));
}

static bool blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
            return false;
    return true;
}

int proc_cmd_decode(const char *body, size_t len, bool run, struct proc_cmd *out,
                    struct problem *err)
{
    struct proc_cmd c = {0};

    if (json_parse_object(body, len, &c.root, err) < 0)
        return -1;
    if (json_get_string(c.root, "command", true, &c.command, err) < 0 ||
        json_get_string_array(c.root, "args", PROC_MAX_ARGS, &c.args, &c.nargs, err) < 0 ||
        json_get_string(c.root, "cwd", false, &c.cwd, err) < 0 ||
        json_get_env(c.root, "env", PROC_MAX_ENV, &c.env, &c.nenv, err) < 0)
        goto fail;
    /* The other endpoint's fields are unknown fields here: ignored, as the reference does. */
    if (run) {
        if (json_get_u64(c.root, "timeoutMs", false, UINT64_MAX, &c.timeout_ms, err) < 0)
            goto fail;
        switch (json_get_u64(c.root, "maxOutputBytes", false, UINT64_MAX, &c.max_output, err)) {
        case -1:
            goto fail;
        case 1:
            c.has_max_output = true;
            break;
        default:
            break;
        }
    } else if (json_get_bool(c.root, "tty", false, &c.tty, err) < 0 ||
               json_get_bool(c.root, "interactive", false, &c.interactive, err) < 0) {
        goto fail;
    }
    if (blank(c.command)) {
        problem_set(err, 400, PROBLEM_INVALID_REQUEST, "command must not be empty");
        goto fail;
    }
    if (c.cwd && !*c.cwd) {
        problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                    "cwd must not be empty (leave it out for the daemon's working directory)");
        goto fail;
    }
    *out = c;
    return 0;
fail:
    proc_cmd_done(&c);
    return -1;
}

int proc_config_decode(const char *body, size_t len, struct proc_config *out, struct problem *err)
{
    struct proc_config c;
    cJSON *root = NULL;
    int r;

    if (json_parse_object(body, len, &root, err) < 0)
        return -1;
    r = json_get_u64(root, "maxConcurrentProcesses", true, UINT64_MAX, &c.max_concurrent, err);
    if (r >= 0)
        r = json_get_u64(root, "defaultRunTimeoutMs", true, UINT64_MAX, &c.default_timeout, err);
    if (r >= 0)
        r = json_get_u64(root, "maxRunTimeoutMs", true, UINT64_MAX, &c.max_timeout, err);
    if (r >= 0)
        r = json_get_u64(root, "maxOutputBytes", true, UINT64_MAX, &c.max_output, err);
    if (r >= 0)
        r = json_get_u64(root, "maxLogBytesPerProcess", true, UINT64_MAX, &c.max_log, err);
    if (r >= 0)
        r = json_get_u64(root, "maxInputBytesPerRequest", true, UINT64_MAX, &c.max_input, err);
    cJSON_Delete(root);
    if (r < 0)
        return -1;
    if (c.max_concurrent == 0)
        return problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                           "maxConcurrentProcesses must be greater than 0");
    if (c.default_timeout == 0 || c.max_timeout == 0)
        return problem_set(err, 400, PROBLEM_INVALID_REQUEST, "timeouts must be greater than 0");
    if (c.max_output == 0 || c.max_log == 0 || c.max_input == 0)
        return problem_set(err, 400, PROBLEM_INVALID_REQUEST, "byte limits must be greater than 0");
    /* Byte limits are also bounded by what one agentd will hold in memory. */
    if (c.max_log > (1ull << 30) || c.max_output > (1ull << 30) || c.max_input > (1ull << 30))
        return problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                           "byte limits must be at most 1073741824 (1 GiB)");
    if (c.default_timeout > c.max_timeout)
        c.default_timeout = c.max_timeout;
    *out = c;
    return 0;
}

int proc_decode_payload(const char *data, const char *encoding, bool def_base64, size_t max,
                        unsigned char **ret, size_t *ret_len, struct problem *err)
{
    bool b64 = def_base64;
    size_t n = strlen(data), bad = 0;
    unsigned char *out;
    long dn;

    if (encoding) {
        if (strcmp(encoding, "base64") == 0)
            b64 = true;
        else if (strcmp(encoding, "utf8") == 0 || strcmp(encoding, "text") == 0)
            b64 = false;
        else
            return problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                               "encoding must be one of: base64, utf8, text");
    }
    if (!b64) {
        if (n > max)
            return problem_set(err, 413, PROBLEM_INVALID_REQUEST,
                               "input payload exceeds maxInputBytesPerRequest (%zu)", max);
        *ret = (unsigned char *)xstrndup(data, n);
        *ret_len = n;
        return 0;
    }
    /* The decoded size is at most 3/4 of the text: refuse before allocating. */
    if (n / 4 * 3 > max + 3)
        return problem_set(err, 413, PROBLEM_INVALID_REQUEST,
                           "input payload exceeds maxInputBytesPerRequest (%zu)", max);
    out = xmalloc(n / 4 * 3 + 4);
    dn = base64_decode(data, n, out, &bad);
    if (dn < 0) {
        free(out);
        return problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                           "invalid base64 input: invalid symbol at offset %zu (send "
                           "\"encoding\": \"utf8\" for plain text)",
                           bad);
    }
    if ((size_t)dn > max) {
        free(out);
        return problem_set(err, 413, PROBLEM_INVALID_REQUEST,
                           "input payload exceeds maxInputBytesPerRequest (%zu)", max);
    }
    *ret = out;
    *ret_len = (size_t)dn;
    return 0;
}

int proc_input_decode(const char *body, size_t len, size_t max, unsigned char **ret,
                      size_t *ret_len, bool *ret_eof, struct problem *err)
{
    cJSON *root = NULL;
    const char *data = NULL, *enc = NULL;
    bool eof = false;
    int r;

    if (json_parse_object(body, len, &root, err) < 0)
        return -1;
    /* agentd: "eof": true closes the process's stdin after the data, which is then optional. */
    r = json_get_bool(root, "eof", false, &eof, err);
    if (r >= 0)
        r = json_get_string(root, "data", !eof, &data, err);
    if (r >= 0)
        r = json_get_string(root, "encoding", false, &enc, err);
    if (r >= 0)
        r = proc_decode_payload(data ? data : "", enc, true, max, ret, ret_len, err);
    cJSON_Delete(root);
    if (r < 0)
        return -1;
    *ret_eof = eof;
    return 0;
}

int proc_resize_decode(const char *body, size_t len, unsigned short *ret_cols,
                       unsigned short *ret_rows, struct problem *err)
{
    cJSON *root = NULL;
    uint64_t cols = 0, rows = 0;
    int r;

    if (json_parse_object(body, len, &root, err) < 0)
        return -1;
    r = json_get_u64(root, "cols", true, 65535, &cols, err);
    if (r >= 0)
        r = json_get_u64(root, "rows", true, 65535, &rows, err);
    cJSON_Delete(root);
    if (r < 0)
        return -1;
    *ret_cols = (unsigned short)cols;
    *ret_rows = (unsigned short)rows;
    return 0;
}
