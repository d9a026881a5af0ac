/*
 * client: agentd's own HTTP and WebSocket client (the libwebsockets client
 * API on a libuv loop), used by the `attach` and `exec` commands to talk to
 * a running daemon.  One endpoint and token per client; calls are
 * asynchronous and report on the loop.
 */
#ifndef AGENTD_CLIENT_H
#define AGENTD_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

struct client;
struct client_call;
struct ws_session;
struct ws_ops;

/*
 * status: the HTTP status, or 0 when no answer came (err then says why).
 * body: the whole response body (NUL-terminated) unless the call streams.
 */
typedef void (*client_done_fn)(void *arg, int status, const char *body, size_t n, const char *err);
/* A piece of a streamed response body. Return -1 to end the call. */
typedef int (*client_data_fn)(void *arg, const void *p, size_t n);

/* Parses endpoint (http[s]://host[:port][/prefix]); -1 with a message on stderr. */
struct client *client_new(uv_loop_t *loop, const char *endpoint, const char *token);
/* Starts tearing the lws context down (not from inside a client callback). */
void client_close(struct client *c);
/* After the loop has run out: completes the teardown and frees c. */
void client_free(struct client *c);

/*
 * An HTTP request to prefix + path.  body (JSON) may be NULL.  With on_data
 * the response body is streamed to it instead of collected.  on_done is
 * called exactly once, before client_http returns when the request cannot
 * start (it then returns NULL).
 */
struct client_call *client_http(struct client *c, const char *method, const char *path,
                                const char *body, client_data_fn on_data, client_done_fn on_done,
                                void *arg);

/*
 * Opens a WebSocket to prefix + path.  on_open gets the session (frames
 * then go to ops with ctx) or NULL with the reason; ops->closed ends it.
 * close_code receives the peer's close status (0 when none was given) and
 * close_reason its text.
 */
struct client_ws_hooks {
    void (*on_open)(void *ctx, struct ws_session *s, const char *err);
    void (*on_peer_close)(void *ctx, int code, const char *reason);
};
int client_ws(struct client *c, const char *path, const struct ws_ops *ops,
              const struct client_ws_hooks *hooks, void *ctx);

#endif
