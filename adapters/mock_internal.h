/*
 * Shared between mock_agent.c (framing, JSON-RPC, sessions) and
 * mock_turn.c (prompt turns); not used outside the mock agent.
 */
#ifndef ADAPTERS_MOCK_INTERNAL_H
#define ADAPTERS_MOCK_INTERNAL_H

#include "mock_agent.h"

#include "../stream/buf.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

/* JSON-RPC 2.0 error codes (ACP's ErrorCode). */
#define MOCK_PARSE_ERROR      (-32700)
#define MOCK_INVALID_REQUEST  (-32600)
#define MOCK_METHOD_NOT_FOUND (-32601)
#define MOCK_INVALID_PARAMS   (-32602)
#define MOCK_INTERNAL_ERROR   (-32603)

/* Config options of a session, in the order of spec 6.1. */
enum mock_option_id {
    MOCK_OPT_MODEL = 0,
    MOCK_OPT_MODE,
    MOCK_OPT_THOUGHT,
    MOCK_OPT_COUNT,
};

struct mock_choice {
    const char *value;       /* the id clients send */
    const char *name;        /* display name */
    const char *description; /* modes only, NULL otherwise */
};

struct mock_option {
    const char *id;                    /* configId */
    const char *name;                  /* display name */
    const struct mock_choice *choices; /* allowed values, the first is the default */
    unsigned n;                        /* number of choices */
};

extern const struct mock_option mock_options[MOCK_OPT_COUNT];

struct mock_turn;

struct mock_session {
    struct mock_session *next;
    char id[40];                    /* "mock-session-<n>" */
    unsigned value[MOCK_OPT_COUNT]; /* index of the current choice of each option */
    uint64_t used_tokens;           /* reported by usage_update */
    struct mock_turn *turn;         /* the running prompt, or NULL */
};

struct mock_agent {
    struct mock_agent_opts opts;
    struct buf line;               /* the unterminated input line so far */
    bool discarding;               /* dropping the rest of an over-long line */
    bool eof;                      /* the client closed its end */
    struct mock_session *sessions; /* newest first */
    unsigned n_sessions;
    uint64_t next_session; /* numbering of session ids */
    uint64_t next_serial;  /* numbering of permission and tool call ids */
};

/* Sends msg (consumed) to the client. */
void mock_send(struct mock_agent *a, cJSON *msg);
/* A success response to request id (copied) with result (consumed). */
void mock_reply(struct mock_agent *a, const cJSON *id, cJSON *result);
/* An error response to request id (copied; NULL gives "id": null). */
void mock_reply_error(struct mock_agent *a, const cJSON *id, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A session/update notification for s carrying update (consumed). */
void mock_send_update(struct mock_agent *a, const struct mock_session *s, cJSON *update);
/* The session's configOptions array (spec 6.1 shape, current values). */
cJSON *mock_config_options_json(const struct mock_session *s);
/* Milliseconds on a monotonic clock. */
uint64_t mock_now_ms(void);

/*
 * Prompt turns (mock_turn.c).  mock_turn_start answers the request itself,
 * now or later; the rest are called by the agent for its events.
 */
void mock_turn_start(struct mock_agent *a, struct mock_session *s, const cJSON *id,
                     const cJSON *prompt);
/* session/cancel: the turn ends with stopReason "cancelled". */
void mock_turn_cancel(struct mock_agent *a, struct mock_turn *t);
/* The client's response to a permission request; false when no turn waits for this id. */
bool mock_turn_permission_reply(struct mock_agent *a, const cJSON *msg);
/* Sends what is due; the turn may end (and be freed). */
void mock_turn_pump(struct mock_agent *a, struct mock_turn *t);
/* Milliseconds until the turn has something to send, -1 when it waits for the client. */
int mock_turn_timeout(const struct mock_turn *t, uint64_t now);
/* True while the turn waits for a permission answer. */
bool mock_turn_waiting(const struct mock_turn *t);
/* Frees the turn without answering (shutdown). */
void mock_turn_free(struct mock_turn *t);

#endif
