/*
 * agents: what the adapters share (credentials checks, launcher overrides,
 * npm prefixes and installs); the table of them is agent_table.c, above.
 *
 * An npm agent lives in its own prefix, $XDG_DATA_HOME/agentd/agents/<id>/ (that is
 * ~/.local/share/agentd/agents/<id>/ without XDG_DATA_HOME),
 * installed by `npm install` run there (a local install, so the machine's npm
 * configuration applies) with pinned versions (agentVersion
 * overrides the first package's).  Its ACP entry point is found, in order:
 * the adapter's variable (e.g. AGENTD_CLAUDE_ACP_BIN), the prefix's
 * node_modules/.bin, then PATH.  Installs are child processes on the loop
 * (never a blocking wait), bounded by LIM_AGENT_INSTALL_MS, with the tail of
 * npm's stderr kept for the error.
 */
#include "agent.h"

#include "../process/proc.h"
#include "../stream/buf.h"
#include "../stream/limits.h"
#include "../stream/log.h"
#include "../stream/xmalloc.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void agent_cmd_done(struct agent_cmd *c)
{
    for (size_t i = 0; i < c->argc; i++)
        free(c->argv[i]);
    for (size_t i = 0; i < c->envc; i++)
        free(c->env[i]);
    c->argc = c->envc = 0;
    c->argv[0] = NULL;
    c->env[0] = NULL;
}

/*
 * The environment agent a runs with: its launch_env, and PATH with its npm
 * prefix's node_modules/.bin first when that exists, so that the binaries its
 * install brought are found (pi-acp runs `pi`, from the second package).
 */
static void launch_env(const struct agent_adapter *a, struct agent_cmd *cmd)
{
    char rel[256], bin[PATH_MAX];
    const char *path = getenv("PATH");
    struct stat st;

    cmd->envc = 0;
    for (size_t i = 0; a->launch_env && a->launch_env[i] && cmd->envc < AGENT_MAX_ENV; i++)
        cmd->env[cmd->envc++] = xstrdup(a->launch_env[i]);
    if (a->npm[0].name &&
        snprintf(rel, sizeof(rel), "agents/%s/node_modules/.bin", a->id) < (int)sizeof(rel) &&
        agent_data_path(bin, sizeof(bin), rel) == 0 && stat(bin, &st) == 0 && S_ISDIR(st.st_mode)) {
        size_t n = strlen(bin) + (path ? strlen(path) : 0) + 8;
        char *e = xmalloc(n);
        snprintf(e, n, "PATH=%s%s%s", bin, path && *path ? ":" : "", path ? path : "");
        cmd->env[cmd->envc++] = e;
    }
    cmd->env[cmd->envc] = NULL;
}

bool agent_has_env(const char *const *names)
{
    for (; *names; names++) {
        const char *v = getenv(*names);
        if (v && *v)
            return true;
    }
    return false;
}

bool agent_signs_in_itself(const struct agent_adapter *a)
{
    return true;
}

bool agent_has_home_file(const char *const *rel_paths)
{
    const char *home = getenv("HOME");
    char p[PATH_MAX];

    if (!home || !*home)
        return false;
    for (; *rel_paths; rel_paths++)
        if (snprintf(p, sizeof(p), "%s/%s", home, *rel_paths) < (int)sizeof(p) &&
            access(p, R_OK) == 0)
            return true;
    return false;
}

/* The file at path parsed as JSON (its first 64 KiB: manifests and auth files), or NULL. */
static cJSON *json_file(const char *path)
{
    char *text;
    ssize_t len;
    cJSON *o;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return NULL;
    text = xmalloc(65536);
    len = read(fd, text, 65536);
    close(fd);
    o = len > 0 ? cJSON_ParseWithLength(text, (size_t)len) : NULL;
    free(text);
    return o;
}

/* ~/rel parsed as JSON, or NULL. */
static cJSON *home_json(const char *rel)
{
    const char *home = getenv("HOME");
    char p[PATH_MAX];

    if (!home || !*home || snprintf(p, sizeof(p), "%s/%s", home, rel) >= (int)sizeof(p))
        return NULL;
    return json_file(p);
}

/*
 * The credential rules of the reference (observed on sandbox-agent 0.4.2's GET
 * /v1/agents): Anthropic credentials count for claude, amp and opencode,
 * OpenAI ones for codex and opencode.
 */
static const char *const anthropic_env[] = {"ANTHROPIC_API_KEY", "CLAUDE_API_KEY",
                                            "CLAUDE_CODE_OAUTH_TOKEN", NULL};
static const char *const anthropic_files[] = {".claude/.credentials.json", NULL};
static const char *const openai_env[] = {"OPENAI_API_KEY", "CODEX_API_KEY", NULL};

bool agent_anthropic_credentials(void)
{
    return agent_has_env(anthropic_env) || agent_has_home_file(anthropic_files);
}

bool agent_openai_credentials(void)
{
    cJSON *auth;
    const cJSON *key;
    bool ok;

    if (agent_has_env(openai_env))
        return true;
    /* Codex's own sign-in: an API key or tokens in ~/.codex/auth.json (its mere presence is
     * not enough, as for the reference). */
    if (!(auth = home_json(".codex/auth.json")))
        return false;
    key = cJSON_GetObjectItemCaseSensitive(auth, "OPENAI_API_KEY");
    ok = (cJSON_IsString(key) && *key->valuestring) ||
         cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(auth, "tokens"));
    cJSON_Delete(auth);
    return ok;
}

int agent_data_path(char *out, size_t n, const char *rel)
{
    const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");

    /* The XDG base directory rule: an absolute XDG_DATA_HOME, else ~/.local/share. */
    if (xdg && *xdg == '/')
        return snprintf(out, n, "%s/agentd/%s", xdg, rel) < (int)n ? 0 : -1;
    if (!home || !*home)
        return -1;
    return snprintf(out, n, "%s/.local/share/agentd/%s", home, rel) < (int)n ? 0 : -1;
}

static bool executable(const char *p)
{
    struct stat st;

    return stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0;
}

/* The first executable name on PATH into out. */
static bool on_path(const char *name, char *out, size_t n)
{
    const char *path = getenv("PATH"), *p, *end;

    for (p = path ? path : "/usr/local/bin:/usr/bin:/bin"; *p; p = *end ? end + 1 : end) {
        end = strchr(p, ':');
        if (!end)
            end = p + strlen(p);
        if (end > p && snprintf(out, n, "%.*s/%s", (int)(end - p), p, name) < (int)n &&
            executable(out))
            return true;
    }
    return false;
}

int agent_native_path(const struct agent_adapter *a, char *out, size_t n)
{
    const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
    char rel[512];
    int w = -1;

    if (!a->native)
        return -ENOENT;
    if (a->native_rel &&
        snprintf(rel, sizeof(rel), "agents/%s/%s", a->id, a->native_rel) < (int)sizeof(rel) &&
        agent_data_path(out, n, rel) == 0 && executable(out))
        return 0;
    /* Where the reference installs it: a user may have run both. */
    if (xdg && *xdg == '/')
        w = snprintf(out, n, "%s/sandbox-agent/bin/%s", xdg, a->native);
    else if (home && *home)
        w = snprintf(out, n, "%s/.local/share/sandbox-agent/bin/%s", home, a->native);
    if (w > 0 && (size_t)w < n && executable(out))
        return 0;
    if (on_path(a->native, out, n))
        return 0;
    out[0] = '\0';
    return -ENOENT;
}

/* The marker line of the launcher the mock's install writes (adapters/agent_mock.c). */
#define MOCK_LAUNCHER_MARK "# The ACP mock agent built into agentd."

/* True when the launcher at p is the one agentd wrote for its built-in mock. */
static bool own_mock_launcher(const char *p)
{
    char head[128];
    ssize_t n;
    int fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

    if (fd < 0)
        return false;
    n = read(fd, head, sizeof(head) - 1); /* a few bytes of a local file, on the loop */
    close(fd);
    if (n <= 0)
        return false;
    head[n] = '\0';
    return strstr(head, MOCK_LAUNCHER_MARK) != NULL;
}

/* The user's launcher for agent id, if one is installed, into out. */
static bool launcher_override(const char *id, char *out, size_t n)
{
    const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
    char rel[256];
    int w;

    if (snprintf(rel, sizeof(rel), "bin/agent_processes/%s-acp", id) >= (int)sizeof(rel))
        return false;
    if (xdg && *xdg == '/')
        w = snprintf(out, n, "%s/sandbox-agent/%s", xdg, rel);
    else if (home && *home)
        w = snprintf(out, n, "%s/.local/share/sandbox-agent/%s", home, rel);
    else
        w = -1;
    if (w > 0 && (size_t)w < n && executable(out))
        return true;
    return agent_data_path(out, n, rel) == 0 && executable(out) && !own_mock_launcher(out);
}

int agent_launch(const struct agent_adapter *a, struct agent_cmd *cmd, struct problem *err)
{
    char p[PATH_MAX];

    memset(cmd, 0, sizeof(*cmd));
    if (launcher_override(a->id, p, sizeof(p))) {
        log_info("agents", "%s: starting the launcher %s", a->id, p);
        cmd->argv[0] = xstrdup(p);
        cmd->argv[1] = NULL;
        cmd->argc = 1;
    } else if (a->launch(a, cmd, err) < 0) {
        return -1;
    }
    launch_env(a, cmd);
    return 0;
}

/* mkdir -p, 0755. */
static int mkdir_p(const char *path)
{
    char p[PATH_MAX];
    size_t n = strlen(path);

    if (n >= sizeof(p))
        return -1;
    memcpy(p, path, n + 1);
    for (char *c = p + 1; *c; c++) {
        if (*c != '/')
            continue;
        *c = '\0';
        if (mkdir(p, 0755) < 0 && errno != EEXIST)
            return -1;
        *c = '/';
    }
    return mkdir(p, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

static int prefix_path(const struct agent_adapter *a, char *out, size_t n, const char *rel)
{
    char sub[512];

    if (snprintf(sub, sizeof(sub), "agents/%s%s%s", a->id, rel ? "/" : "", rel ? rel : "") >=
        (int)sizeof(sub))
        return -1;
    return agent_data_path(out, n, sub);
}

/* The version npm recorded for the first package in the agent's prefix. */
static void npm_version(const struct agent_adapter *a, char *out, size_t n)
{
    char rel[256], p[PATH_MAX];
    const cJSON *v;
    cJSON *o;

    out[0] = '\0';
    snprintf(rel, sizeof(rel), "node_modules/%s/package.json", a->npm[0].name);
    if (prefix_path(a, p, sizeof(p), rel) < 0 || !(o = json_file(p)))
        return;
    v = cJSON_GetObjectItemCaseSensitive(o, "version");
    if (cJSON_IsString(v))
        snprintf(out, n, "%s", v->valuestring);
    cJSON_Delete(o);
}

void agent_npm_status(const struct agent_adapter *a, struct agent_status *st)
{
    const char *env = a->bin_env ? getenv(a->bin_env) : NULL;
    char rel[256];

    memset(st, 0, sizeof(*st));
    if (env && *env && executable(env)) {
        snprintf(st->path, sizeof(st->path), "%s", env);
        st->installed = true;
        return;
    }
    snprintf(rel, sizeof(rel), "node_modules/.bin/%s", a->bin);
    if (a->npm[0].name && prefix_path(a, st->path, sizeof(st->path), rel) == 0 &&
        executable(st->path)) {
        st->installed = true;
        npm_version(a, st->version, sizeof(st->version));
        return;
    }
    if (on_path(a->bin, st->path, sizeof(st->path))) {
        st->installed = true;
        return;
    }
    st->path[0] = '\0';
}

int agent_npm_launch(const struct agent_adapter *a, struct agent_cmd *cmd, struct problem *err)
{
    struct agent_status st;

    a->status(a, &st);
    if (!st.installed) {
        if (a->install_hint)
            return problem_set(err, 502, PROBLEM_STREAM_ERROR, "agent '%s' is not installed: %s",
                               a->id, a->install_hint);
        return problem_set(err, 502, PROBLEM_STREAM_ERROR,
                           "agent '%s' is not installed: POST /v1/agents/%s/install (or run "
                           "`agentd install-agent %s`), or set %s to its ACP entry point",
                           a->id, a->id, a->id, a->bin_env);
    }
    cmd->argc = 0;
    cmd->argv[cmd->argc++] = xstrdup(st.path);
    for (size_t i = 0; a->bin_args[i] && cmd->argc < AGENT_MAX_ARGS + 1; i++)
        cmd->argv[cmd->argc++] = xstrdup(a->bin_args[i]);
    cmd->argv[cmd->argc] = NULL;
    return 0;
}

/* ---- npm install ----------------------------------------------------------------------------- */

struct npm_job {
    struct agent_install *in;
    struct npm_job *prev, *next; /* the running installs (agent_shutdown) */
    bool shutdown;               /* killed because the daemon stops */
    uv_process_t proc;
    uv_pipe_t err;
    uv_timer_t timer;
    int handles;
    bool exited, timed_out;
    int64_t status;
    int term_signal;
    char tail[LIM_AGENT_STDERR_TAIL_BYTES]; /* the last bytes npm wrote to stderr */
    size_t tail_len;
};

/*
 * The end of npm's stderr into err->extra (details.stderr): npm writes the
 * reason last, so when the tail does not fit, its front is dropped.  The
 * quote starts at a line when one starts close enough, else at a UTF-8
 * character.
 */
static void stderr_end(struct problem *err, const char *tail, size_t len)
{
    size_t room = sizeof(err->extra) - 1, start = 0;
    const char *nl;

    if (len > room) {
        start = len - room;
        nl = memchr(tail + start, '\n', room / 2);
        if (nl)
            start = (size_t)(nl + 1 - tail);
        while (start < len && ((unsigned char)tail[start] & 0xC0) == 0x80)
            start++;
    }
    snprintf(err->extra, sizeof(err->extra), "%.*s", (int)(len - start), tail + start);
}

/* npm's last "npm error code X" (or npm 6's "npm ERR! code X") line in its stderr, or false. */
static bool npm_error_code(const char *tail, size_t len, char *out, size_t cap)
{
    bool found = false;

    for (size_t i = 0; i < len;) {
        const char *line = tail + i, *eol = memchr(line, '\n', len - i);
        size_t n = eol ? (size_t)(eol - line) : len - i;
        if ((n > 15 && strncmp(line, "npm error code ", 15) == 0) ||
            (n > 14 && strncmp(line, "npm ERR! code ", 14) == 0)) {
            snprintf(out, cap, "%.*s", (int)n, line);
            found = true;
        }
        i += n + 1;
    }
    return found;
}

static struct npm_job *jobs;

static void job_closed(uv_handle_t *h)
{
    struct npm_job *j = h->data;
    struct problem err;
    struct agent_install *in = j->in;

    if (--j->handles)
        return;
    if (j->prev)
        j->prev->next = j->next;
    else if (jobs == j)
        jobs = j->next;
    if (j->next)
        j->next->prev = j->prev;
    if (j->shutdown) {
        problem_with_id(&err, 503, PROBLEM_INSTALL_FAILED, in->agent->id,
                        "%s: agentd is shutting down; the install was stopped (run it again "
                        "once agentd is back)",
                        in->agent->id);
    } else if (j->timed_out) {
        problem_with_id(&err, 500, PROBLEM_INSTALL_FAILED, in->agent->id,
                        "%s (npm did not finish within %d s)", in->agent->id,
                        LIM_AGENT_INSTALL_MS / 1000);
    } else if (j->status != 0 || j->term_signal) {
        char code[96];
        if (npm_error_code(j->tail, j->tail_len, code, sizeof(code)))
            problem_with_id(&err, 500, PROBLEM_INSTALL_FAILED, in->agent->id, "%s (%s)",
                            in->agent->id, code);
        else
            problem_with_id(&err, 500, PROBLEM_INSTALL_FAILED, in->agent->id, "%s", in->agent->id);
    } else {
        struct agent_status st;
        in->agent->status(in->agent, &st);
        if (st.installed) {
            snprintf(in->path, sizeof(in->path), "%s", st.path);
            snprintf(in->version_installed, sizeof(in->version_installed), "%s", st.version);
            in->source = "npm";
            free(j);
            in->done(in, NULL);
            return;
        }
        problem_with_id(&err, 500, PROBLEM_INSTALL_FAILED, in->agent->id,
                        "%s (npm succeeded but %s is missing)", in->agent->id, in->agent->bin);
    }
    stderr_end(&err, j->tail, j->tail_len);
    free(j);
    in->done(in, &err);
}

static void job_close(struct npm_job *j)
{
    if (!uv_is_closing((uv_handle_t *)&j->err))
        uv_close((uv_handle_t *)&j->err, job_closed);
    if (!uv_is_closing((uv_handle_t *)&j->timer))
        uv_close((uv_handle_t *)&j->timer, job_closed);
}

static void job_exit(uv_process_t *p, int64_t status, int term_signal)
{
    struct npm_job *j = p->data;

    j->exited = true;
    j->status = status;
    j->term_signal = term_signal;
    uv_close((uv_handle_t *)p, job_closed);
    job_close(j);
}

static void job_timeout(uv_timer_t *t)
{
    struct npm_job *j = t->data;

    j->timed_out = true;
    if (!j->exited)
        uv_kill(-j->proc.pid, SIGKILL);
}

static void job_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    static char chunk[4096];

    b->base = chunk;
    b->len = sizeof(chunk);
}

static void job_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct npm_job *j = s->data;

    if (n <= 0) {
        if (n < 0)
            uv_read_stop(s);
        return;
    }
    tail_keep(j->tail, sizeof(j->tail), &j->tail_len, b->base, (size_t)n);
}

/*
 * The prefix's package.json, written once, so that npm run in the prefix installs there (npm
 * looks for the nearest package.json upwards: without one it could pick one above, in HOME).
 */
static int prefix_manifest(const struct agent_adapter *a, const char *prefix)
{
    char p[PATH_MAX], text[256];
    int fd, n;

    if (snprintf(p, sizeof(p), "%s/package.json", prefix) >= (int)sizeof(p)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return errno == EEXIST ? 0 : -1;
    n = snprintf(
        text, sizeof(text),
        "{\"name\":\"agentd-agent-%s\",\"private\":true,\"description\":\"agentd's install "
        "of the %s agent\"}\n",
        a->id, a->id);
    if (write(fd, text, (size_t)n) != n) {
        int e = errno;
        close(fd);
        unlink(p);
        errno = e ? e : EIO;
        return -1;
    }
    return close(fd);
}

int agent_npm_install(uv_loop_t *loop, struct agent_install *in, struct problem *err)
{
    const struct agent_adapter *a = in->agent;
    char prefix[PATH_MAX], specs[2][256];
    const char *argv[16];
    struct proc_child c;
    struct agent_status st;
    struct npm_job *j;
    size_t n = 0;
    int e;

    a->status(a, &st);
    if (st.installed && !in->reinstall && !in->version) {
        in->already_installed = true;
        snprintf(in->path, sizeof(in->path), "%s", st.path);
        snprintf(in->version_installed, sizeof(in->version_installed), "%s", st.version);
        in->done(in, NULL);
        return 0;
    }
    if (!a->npm[0].name)
        return problem_with_id(err, 500, PROBLEM_INSTALL_FAILED, a->id, "%s: %s", a->id,
                               a->install_hint);
    if (prefix_path(a, prefix, sizeof(prefix), NULL) < 0)
        return problem_with_id(err, 500, PROBLEM_INSTALL_FAILED, a->id,
                               "%s: HOME is not set, so there is no prefix to install into", a->id);
    /*
     * A local install in the prefix (its own package.json, npm run there), not `--prefix`:
     * with --prefix npm reads the global npmrc from <prefix>/etc/npmrc, so the machine's
     * (a registry, a proxy, a cafile behind a TLS proxy) was lost.  Retries are short: a
     * registry or TLS error comes back in seconds, not after npm's 70 s of backoff.
     */
    argv[n++] = "npm";
    argv[n++] = "install";
    argv[n++] = "--no-audit";
    argv[n++] = "--no-fund";
    argv[n++] = "--loglevel=error";
    argv[n++] = "--fetch-retries=1";
    argv[n++] = "--fetch-retry-mintimeout=1000";
    argv[n++] = "--fetch-retry-maxtimeout=4000";
    /* The prefix's package.json records the exact version installed, not npm's default ^range. */
    argv[n++] = "--save-exact";
    for (size_t i = 0; i < 2 && a->npm[i].name; i++) {
        const char *v = i == 0 && in->version ? in->version : a->npm[i].version;
        snprintf(specs[i], sizeof(specs[i]), "%s@%s", a->npm[i].name, v);
        argv[n++] = specs[i];
    }
    argv[n] = NULL;
    if (mkdir_p(prefix) < 0 || prefix_manifest(a, prefix) < 0)
        return problem_with_id(err, 500, PROBLEM_INSTALL_FAILED, a->id, "%s: cannot create %s: %s",
                               a->id, prefix, strerror(errno));

    j = xcalloc(1, sizeof(*j));
    j->in = in;
    uv_pipe_init(loop, &j->err, 0);
    uv_timer_init(loop, &j->timer);
    j->proc.data = j->err.data = j->timer.data = j;
    memset(&c, 0, sizeof(c));
    c.argv = argv;
    c.cwd = prefix;
    c.err = &j->err;
    c.on_exit = job_exit;
    e = proc_spawn_child(loop, &j->proc, &c);
    if (e < 0) {
        /* The failed spawn still initialised proc: it closes with the others, before j goes. */
        j->handles = 3;
        uv_close((uv_handle_t *)&j->proc, job_closed);
        job_close(j);
        /* job_closed reports an install failure: make its message about npm. */
        j->status = 127;
        snprintf(j->tail, sizeof(j->tail),
                 "cannot run npm: %s (install Node.js and npm, or "
                 "set %s to the agent's ACP entry point)",
                 uv_strerror(e), a->bin_env);
        j->tail_len = strlen(j->tail);
        return 0;
    }
    j->handles = 3;
    j->next = jobs;
    if (jobs)
        jobs->prev = j;
    jobs = j;
    log_info("agents", "installing %s: npm install %s%s%s", a->id, specs[0],
             a->npm[1].name ? " " : "", a->npm[1].name ? specs[1] : "");
    uv_read_start((uv_stream_t *)&j->err, job_alloc, job_read);
    uv_timer_start(&j->timer, job_timeout, LIM_AGENT_INSTALL_MS, 0);
    return 0;
}

void agent_shutdown(void)
{
    for (struct npm_job *j = jobs; j; j = j->next) {
        j->shutdown = true;
        if (!j->exited)
            uv_kill(-j->proc.pid, SIGKILL);
    }
}
