/*
 * Request decoders of the process API: JSON bodies to C structs, with
 * problems that name the bad field.  Kept apart from the handlers so that
 * they can be unit-tested and fuzzed without a loop.
 */
#ifndef PROCESS_PROC_DECODE_H
#define PROCESS_PROC_DECODE_H

#include "proc_internal.h"

#define PROC_MAX_ARGS 4096
#define PROC_MAX_ENV  4096

/* POST /v1/processes and /v1/processes/run. */
struct proc_cmd {
    cJSON *root; /* owns every string below */
    const char *command;
    const char **args; /* malloc'd array */
    size_t nargs;
    const char *cwd; /* NULL when absent */
    char **env;      /* "K=V", malloc'd */
    size_t nenv;
    bool tty, interactive;
    uint64_t timeout_ms; /* run only; 0 = default */
    bool has_max_output; /* run only */
    uint64_t max_output;
};

/* run: the fields of /run (timeoutMs, maxOutputBytes), else those of create (tty, interactive). */
int proc_cmd_decode(const char *body, size_t len, bool run, struct proc_cmd *out,
                    struct problem *err);
void proc_cmd_done(struct proc_cmd *c);

/* POST /v1/processes/config: all six fields required. */
int proc_config_decode(const char *body, size_t len, struct proc_config *out, struct problem *err);

/*
 * POST /v1/processes/{id}/input: decoded bytes (malloc'd) in *ret; *ret_eof
 * when the body asks for stdin to be closed afterwards ("eof": true, an agentd
 * extension; "data" is then optional).
 */
int proc_input_decode(const char *body, size_t len, size_t max, unsigned char **ret,
                      size_t *ret_len, bool *ret_eof, struct problem *err);

/* POST /v1/processes/{id}/terminal/resize. */
int proc_resize_decode(const char *body, size_t len, unsigned short *ret_cols,
                       unsigned short *ret_rows, struct problem *err);

/*
 * Decodes `data` in `encoding` ("base64" default when def_base64, else utf8;
 * "utf8"/"text"), bounded by max (413).  Shared with the terminal WebSocket.
 */
int proc_decode_payload(const char *data, const char *encoding, bool def_base64, size_t max,
                        unsigned char **ret, size_t *ret_len, struct problem *err);

#endif
