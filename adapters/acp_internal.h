/*
 * Shared between the ACP bridge's server side (acp.c: agent processes,
 * events, pending requests) and its HTTP side (acp_routes.c), which calls
 * down into acp.c and hears back only through struct acp_watcher.
 */
#ifndef ADAPTERS_ACP_INTERNAL_H
#define ADAPTERS_ACP_INTERNAL_H

#include "agent.h"

#include "../stream/buf.h"
#include "../stream/http.h"
#include "../stream/limits.h"

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

struct acp_event {
    uint64_t id;
    char *text; /* one JSON-RPC message, as the agent wrote it */
    size_t len;
};

struct acp_pending; /* a POSTed request waiting for the agent's answer */
struct acp_server;

/*
 * Someone following a server's events (acp_routes.c's SSE subscribers):
 * notify runs when an event was retained, and with `ended` once the server
 * is deleted.  It may not unwatch or free anything from inside notify.
 */
struct acp_watcher {
    struct acp_watcher *next;
    void (*notify)(struct acp_watcher *w, struct acp_server *s, bool ended);
};

struct acp_server {
    struct acp_server *next;
    int refs;
    char *id;
    const struct agent_adapter *agent;
    int64_t created_ms;
    bool listed;   /* in GET /v1/acp (until DELETE) */
    bool running;  /* the agent process is alive */
    bool finished; /* exited and its stdout drained */
    int64_t exit_status;
    int term_signal;
    uv_process_t proc;
    uv_pipe_t in, out, err;
    uv_timer_t kill_timer;
    bool out_open;   /* stdout not yet at EOF */
    struct buf line; /* stdout: the line being assembled */
    bool line_dropping;
    char tail[LIM_AGENT_STDERR_TAIL_BYTES]; /* the last bytes of the agent's stderr */
    size_t tail_len;
    struct acp_event ring[LIM_ACP_REPLAY_EVENTS];
    size_t ring_first, ring_count, ring_bytes;
    uint64_t last_id;
    struct acp_pending *pending;
    struct acp_watcher *watchers;
};

struct acp_server *acp_find(const char *id);
struct acp_server *acp_first(void);
/* Spawns the agent for a new server; -1 with err. */
int acp_create(const char *id, const struct agent_adapter *a, struct acp_server **ret,
               struct problem *err);
/*
 * Sends one message (a compact JSON line) to the agent.  When key is not
 * NULL it is a request: req is answered with the agent's response (or a
 * JSON-RPC error, acp_reply_failure).  Otherwise req is not touched.  -1
 * with err; -2 with err when a request with this id is already waiting
 * (that one must be answered with the problem: a JSON-RPC error with the
 * id would settle the other request in the client).
 */
int acp_send(struct acp_server *s, const char *line, size_t len, const char *key,
             struct http_req *req, struct problem *err);
/*
 * The JSON-RPC error code of a request agentd (not the agent) fails: outside
 * JSON-RPC's reserved -32768..-32000 (ACP defines codes there), so no client
 * takes it for the agent's own -32603, and acp-http-client shows the message
 * without a label ("Internal agent error: " for -32603).
 */
#define ACP_BRIDGE_ERROR (-33000)

/*
 * Answers a failed POST.  A request (key: its id as JSON text) gets 200 with
 * a JSON-RPC error response carrying that id, ACP_BRIDGE_ERROR, the
 * problem's detail as the message and the whole problem as `data`: acp-http-client 0.4.2 errors its
 * stream on any non-2xx reply, and its ACP connection then never settles the pending call, so a
 * problem status would leave the SDK waiting forever. Anything else (key NULL) gets the problem
 * itself.
 */
void acp_reply_failure(struct http_req *req, const char *key, const struct problem *err);
/* DELETE: unlisted at once, the agent terminated (group), streams ended. */
void acp_remove(struct acp_server *s);
void acp_ref(struct acp_server *s);
void acp_unref(struct acp_server *s);
/* The first retained event with an id above `after`, or NULL. */
const struct acp_event *acp_event_after(const struct acp_server *s, uint64_t after);
/* Adds w to s's watchers / removes it (a no-op when it is not one). */
void acp_watch(struct acp_server *s, struct acp_watcher *w);
void acp_unwatch(struct acp_server *s, struct acp_watcher *w);

#endif
