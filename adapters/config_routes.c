/*
 * config_routes: GET/PUT/DELETE /v1/config/mcp and /v1/config/skills.
 * A handler checks the query (and a PUT its body) on the loop thread and
 * answers 4xx at once when they are bad; the file work (read, update,
 * atomic replace) runs on the worker pool as a config_job, one job at a
 * time so that two updates of one file cannot lose each other's entry.
 *
 * `directory` may be absolute, relative to the daemon's working directory
 * (as in the reference) or start with `~`.  Files live in
 * <directory>/.sandbox-agent/config/{mcp,skills}.json, created on demand;
 * a DELETE of an absent entry writes nothing.
 */
#include "routes_internal.h"

#include "config_decode.h"

#include "../stream/json.h"
#include "../stream/limits.h"
#include "../stream/work.h"
#include "../stream/xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONFIG_SUBDIR "/.sandbox-agent/config"
#define CONFIG_PATH_MAX                                                                            \
    (LIM_PATH_BYTES + sizeof(CONFIG_SUBDIR) + 64) /* + "/skills.json" and a temporary name */

enum config_op {
    CONFIG_GET,
    CONFIG_PUT,
    CONFIG_DELETE,
};

struct config_job {
    struct http_req *req; /* referenced until the job is done */
    enum config_kind kind;
    enum config_op op;
    char dir[CONFIG_PATH_MAX];  /* <directory>/.sandbox-agent/config, absolute */
    char file[CONFIG_PATH_MAX]; /* dir + "/mcp.json" or "/skills.json" */
    char *name;                 /* the entry's name (owned) */
    cJSON *entry;               /* PUT: the canonical entry; GET: the reply */
    struct problem err;         /* reply on failure */
    int r;                      /* 0 or -1 */
};

/* Serialises the read-modify-write of config files across pool threads. */
static pthread_mutex_t config_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned config_tmp_serial; /* under config_lock */

/* A failed system call on path as a problem; returns -1. */
static int config_errno(struct problem *err, int e, const char *what, const char *path)
{
    switch (e) {
    case ENOTDIR:
        return problem_set(err, 409, PROBLEM_CONFLICT, "%s %s: a parent is not a directory", what,
                           path);
    case EISDIR:
        return problem_set(err, 409, PROBLEM_CONFLICT, "%s %s: it is a directory", what, path);
    case EEXIST:
        return problem_set(err, 409, PROBLEM_CONFLICT, "%s %s: it exists and is not a directory",
                           what, path);
    case EACCES:
    case EPERM:
    case EROFS:
        return problem_set(err, 403, PROBLEM_PERMISSION_DENIED, "%s %s: %s", what, path,
                           strerror(e));
    case ENOSPC:
    case EDQUOT:
        return problem_set(err, 507, PROBLEM_STREAM_ERROR, "%s %s: no space left on device", what,
                           path);
    case ENAMETOOLONG:
    case ELOOP:
        return problem_set(err, 400, PROBLEM_INVALID_REQUEST, "%s %s: %s", what, path, strerror(e));
    default:
        return problem_set(err, 502, PROBLEM_STREAM_ERROR, "%s %s: %s (os error %d)", what, path,
                           strerror(e), e);
    }
}

/* Reads the file into *ret (NUL-terminated, free()); a missing file reads as empty. */
static int read_config(struct config_job *j, char **ret, size_t *ret_len)
{
    struct buf b;
    struct stat st;
    char chunk[65536];
    int fd = open(j->file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    ssize_t n;

    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR) {
            *ret = xstrdup("");
            *ret_len = 0;
            return 0;
        }
        return config_errno(&j->err, errno, "cannot read", j->file);
    }
    /* O_NONBLOCK above and this check keep a FIFO planted there from stalling a pool thread. */
    if (fstat(fd, &st) == 0 && !S_ISREG(st.st_mode)) {
        close(fd);
        return config_errno(&j->err, S_ISDIR(st.st_mode) ? EISDIR : EINVAL, "cannot read", j->file);
    }
    /* One byte over the limit is enough to know the file is too large. */
    buf_init(&b, LIM_CONFIG_FILE_BYTES + 1);
    for (;;) {
        n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (buf_append(&b, chunk, (size_t)n) < 0) {
            buf_append(&b, chunk, LIM_CONFIG_FILE_BYTES + 1 - b.len);
            break;
        }
    }
    if (n < 0) {
        int e = errno;

        close(fd);
        buf_done(&b);
        return config_errno(&j->err, e, "cannot read", j->file);
    }
    close(fd);
    *ret = buf_steal(&b, ret_len);
    return 0;
}

/* mkdir -p of j->dir. */
static int make_dirs(struct config_job *j)
{
    char path[CONFIG_PATH_MAX];
    size_t n = strlen(j->dir);

    memcpy(path, j->dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (path[i] != '/' && path[i] != '\0')
            continue;
        path[i] = '\0';
        if (mkdir(path, 0755) < 0 && errno != EEXIST)
            return config_errno(&j->err, errno, "cannot create", path);
        path[i] = i < n ? '/' : '\0';
    }
    return 0;
}

/* Replaces the file with map's text: a temporary file, fsync, rename. */
static int write_config(struct config_job *j, const cJSON *map)
{
    char tmp[CONFIG_PATH_MAX + 64];
    size_t len, off = 0;
    char *text;
    int fd, e = 0;

    if (make_dirs(j) < 0)
        return -1;
    snprintf(tmp, sizeof(tmp), "%s/.%s.json.%ld.%u.tmp", j->dir, config_kind_name(j->kind),
             (long)getpid(), ++config_tmp_serial);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
        return config_errno(&j->err, errno, "cannot write", j->file);
    text = config_file_render(map, &len);
    while (off < len && !e) {
        ssize_t n = write(fd, text + off, len - off);

        if (n < 0 && errno != EINTR)
            e = errno;
        else if (n > 0)
            off += (size_t)n;
    }
    free(text);
    if (!e && fsync(fd) < 0)
        e = errno;
    if (close(fd) < 0 && !e)
        e = errno;
    if (!e && rename(tmp, j->file) < 0)
        e = errno;
    if (e) {
        unlink(tmp);
        return config_errno(&j->err, e, "cannot write", j->file);
    }
    return 0;
}

static int run_locked(struct config_job *j)
{
    char sid[PROBLEM_ID_MAX];
    cJSON *map = NULL, *item;
    char *text = NULL;
    size_t len = 0;
    int r = -1;

    if (read_config(j, &text, &len) < 0)
        return -1;
    if (config_file_parse(j->kind, text, len, j->file, &map, &j->err) < 0)
        goto out;
    item = cJSON_GetObjectItemCaseSensitive(map, j->name);
    switch (j->op) {
    case CONFIG_GET:
        if (!item) {
            snprintf(sid, sizeof(sid), "%s:%s", config_kind_name(j->kind), j->name);
            problem_session_not_found(&j->err, sid);
            goto out;
        }
        j->entry = cJSON_DetachItemViaPointer(map, item);
        break;
    case CONFIG_PUT:
        if (item)
            cJSON_DeleteItemFromObjectCaseSensitive(map, j->name);
        cJSON_AddItemToObject(map, j->name, j->entry);
        j->entry = NULL;
        if (write_config(j, map) < 0)
            goto out;
        break;
    case CONFIG_DELETE:
        if (!item)
            break;
        cJSON_DeleteItemFromObjectCaseSensitive(map, j->name);
        if (write_config(j, map) < 0)
            goto out;
        break;
    }
    r = 0;
out:
    cJSON_Delete(map);
    free(text);
    return r;
}

static void config_job_run(void *arg)
{
    struct config_job *j = arg;

    pthread_mutex_lock(&config_lock);
    j->r = run_locked(j);
    pthread_mutex_unlock(&config_lock);
}

static void config_job_free(struct config_job *j)
{
    cJSON_Delete(j->entry);
    free(j->name);
    free(j);
}

static void config_job_done(void *arg)
{
    struct config_job *j = arg;

    if (http_req_alive(j->req)) {
        if (j->r < 0)
            http_reply_problem(j->req, &j->err);
        else if (j->op == CONFIG_GET)
            http_reply_json(j->req, 200, j->entry);
        else
            http_reply_empty(j->req, 204);
    }
    http_req_unref(j->req);
    config_job_free(j);
}

/* A required, non-empty query parameter. */
static int required_param(struct http_req *req, const char *key, const char **ret,
                          struct problem *err)
{
    int r = query_str(http_query(req), key, ret, err);

    if (r < 0)
        return -1;
    if (r == 0)
        return problem_set(err, 400, PROBLEM_INVALID_REQUEST, "missing query parameter `%s`", key);
    if (!**ret)
        return problem_set(err, 400, PROBLEM_INVALID_REQUEST,
                           "query parameter `%s` must not be empty", key);
    return 0;
}

/* Resolves `directory` into j->dir and j->file. */
static int resolve_dir(struct config_job *j, const char *dir)
{
    char base[LIM_PATH_BYTES];
    const char *home = getenv("HOME");
    int n;

    if (strlen(dir) >= LIM_PATH_BYTES)
        return problem_set(&j->err, 400, PROBLEM_INVALID_REQUEST,
                           "query parameter `directory` is longer than %d bytes", LIM_PATH_BYTES);
    if (dir[0] == '/') {
        base[0] = '\0';
    } else if (home && *home && dir[0] == '~' && (dir[1] == '\0' || dir[1] == '/')) {
        snprintf(base, sizeof(base), "%s", home);
        dir++;
    } else if (!getcwd(base, sizeof(base))) {
        return config_errno(&j->err, errno, "cannot resolve", dir);
    } else if (strcmp(base, "/") != 0) {
        /* base + "/" + dir below; the root needs no extra separator. */
        size_t b = strlen(base);

        if (b + 1 < sizeof(base)) {
            base[b] = '/';
            base[b + 1] = '\0';
        }
    }
    n = snprintf(j->dir, sizeof(j->dir), "%s%s", base, dir);
    if (n < 0 || (size_t)n + sizeof(CONFIG_SUBDIR) >= sizeof(j->dir))
        return problem_set(&j->err, 400, PROBLEM_INVALID_REQUEST,
                           "query parameter `directory` is too long");
    /* Trailing slashes (and "/" itself) would double the separator below. */
    while (n > 0 && j->dir[n - 1] == '/')
        j->dir[--n] = '\0';
    if ((size_t)n + sizeof(CONFIG_SUBDIR) >= sizeof(j->dir))
        return problem_set(&j->err, 400, PROBLEM_INVALID_REQUEST,
                           "query parameter `directory` is too long");
    snprintf(j->dir + n, sizeof(j->dir) - (size_t)n, "%s", CONFIG_SUBDIR);
    if (snprintf(j->file, sizeof(j->file), "%s/%s.json", j->dir, config_kind_name(j->kind)) >=
        (int)sizeof(j->file))
        return problem_set(&j->err, 400, PROBLEM_INVALID_REQUEST,
                           "query parameter `directory` is too long");
    return 0;
}

static void handle(struct http_req *req, enum config_kind kind, enum config_op op)
{
    struct config_job *j = xcalloc(1, sizeof(*j));
    const char *dir = NULL, *name = NULL;
    const char *key = kind == CONFIG_MCP ? "mcpName" : "skillName";

    j->req = req;
    j->kind = kind;
    j->op = op;
    if (required_param(req, "directory", &dir, &j->err) < 0 ||
        required_param(req, key, &name, &j->err) < 0 || resolve_dir(j, dir) < 0)
        goto fail;
    if (op == CONFIG_PUT) {
        size_t len;
        const char *body = http_body(req, &len);
        cJSON *root = NULL;
        int r;

        if (json_parse_object(body, len, &root, &j->err) < 0)
            goto fail;
        r = config_entry_decode(kind, root, &j->entry, &j->err);
        cJSON_Delete(root);
        if (r < 0)
            goto fail;
    }
    j->name = xstrdup(name);
    http_req_ref(req);
    work_submit(config_job_run, config_job_done, j);
    return;
fail:
    http_reply_problem(req, &j->err);
    config_job_free(j);
}

static void handle_mcp_get(struct http_req *req)
{
    handle(req, CONFIG_MCP, CONFIG_GET);
}

static void handle_mcp_put(struct http_req *req)
{
    handle(req, CONFIG_MCP, CONFIG_PUT);
}

static void handle_mcp_delete(struct http_req *req)
{
    handle(req, CONFIG_MCP, CONFIG_DELETE);
}

static void handle_skills_get(struct http_req *req)
{
    handle(req, CONFIG_SKILLS, CONFIG_GET);
}

static void handle_skills_put(struct http_req *req)
{
    handle(req, CONFIG_SKILLS, CONFIG_PUT);
}

static void handle_skills_delete(struct http_req *req)
{
    handle(req, CONFIG_SKILLS, CONFIG_DELETE);
}

/* The endpoints of this file (registered by acp_register(), acp_routes.c). */
static const struct route routes[] = {
    {HTTP_GET, "/v1/config/mcp", handle_mcp_get, 0},
    {HTTP_PUT, "/v1/config/mcp", handle_mcp_put, ROUTE_JSON_BODY},
    {HTTP_DELETE, "/v1/config/mcp", handle_mcp_delete, 0},
    {HTTP_GET, "/v1/config/skills", handle_skills_get, 0},
    {HTTP_PUT, "/v1/config/skills", handle_skills_put, ROUTE_JSON_BODY},
    {HTTP_DELETE, "/v1/config/skills", handle_skills_delete, 0},
};
const struct route_table acp__config_routes = ROUTE_TABLE(routes);
