/*
 * The built-in mock ACP agent (`agentd mock-agent`): a real Agent Client
 * Protocol agent speaking newline-delimited JSON-RPC 2.0 on stdin/stdout,
 * so that the SDK's session flow works end to end without credentials.
 * Behaviour is described in docs/api/agents.md.
 *
 * The protocol core is driven from outside: feed it input bytes, tick it
 * when its timeout expires, and it hands every outgoing message to a write
 * callback.  mock_agent_main() wires it to stdio with a poll() loop; tests
 * and the fuzzer drive it directly.
 */
#ifndef ADAPTERS_MOCK_AGENT_H
#define ADAPTERS_MOCK_AGENT_H

#include <stdbool.h>
#include <stddef.h>

/* Receives one outgoing JSON-RPC message (compact JSON, no newline). */
typedef void (*mock_write_fn)(void *arg, const char *msg, size_t len);

struct mock_agent_opts {
    mock_write_fn write;    /* where messages go */
    void *arg;              /* passed to write */
    size_t max_line;        /* longest input line; 0 = LIM_ACP_LINE_BYTES */
    unsigned slow_delay_ms; /* pause between updates of a "slow" prompt */
};

struct mock_agent;

/* A new agent with no sessions; free with mock_agent_free(). */
struct mock_agent *mock_agent_new(const struct mock_agent_opts *opts);
/* Drops every session and running prompt without answering them. Accepts NULL. */
void mock_agent_free(struct mock_agent *a);
/* Input bytes from the client, split into lines here; any chunking works. */
void mock_agent_feed(struct mock_agent *a, const char *p, size_t n);
/*
 * The client closed its end: a final unterminated line is handled, prompts
 * waiting for a permission answer end as cancelled; streaming prompts go on.
 */
void mock_agent_eof(struct mock_agent *a);
/* Milliseconds until mock_agent_tick() has work (0 = now), -1 when none is scheduled. */
int mock_agent_timeout(const struct mock_agent *a);
/* Sends the updates that are due. */
void mock_agent_tick(struct mock_agent *a);
/* True while a prompt is running. */
bool mock_agent_busy(const struct mock_agent *a);

/* `agentd mock-agent`: serves stdin/stdout until EOF. Returns the exit status. */
int mock_agent_main(void);

#endif
