/*
 * Fuzzes the JSON request decoders of the process API (create/run, config,
 * input, resize).  Invariants: success yields consistent values within
 * their limits; failure is a 4xx problem; nothing leaks or crashes.
 */
#include "../../process/proc_decode.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    struct problem err;
    struct proc_cmd c;
    struct proc_config cfg;
    unsigned char *in = NULL;
    size_t n = 0;
    bool eof;
    unsigned short cols, rows;

    if (proc_cmd_decode(p, size, size & 1, &c, &err) == 0) {
        if (!c.command || !*c.command || c.nargs > PROC_MAX_ARGS || c.nenv > PROC_MAX_ENV)
            abort();
        for (size_t i = 0; i < c.nenv; i++)
            if (!strchr(c.env[i], '=') || c.env[i][0] == '=')
                abort();
        proc_cmd_done(&c);
    } else if (err.status < 400 || err.status > 499) {
        abort();
    }
    if (proc_config_decode(p, size, &cfg, &err) == 0) {
        if (!cfg.max_concurrent || cfg.default_timeout > cfg.max_timeout || !cfg.max_input)
            abort();
    } else if (err.status < 400 || err.status > 499) {
        abort();
    }
    if (proc_input_decode(p, size, 1024, &in, &n, &eof, &err) == 0) {
        if (n > 1024)
            abort();
        free(in);
    } else if (err.status < 400 || err.status > 499) {
        abort();
    }
    if (proc_resize_decode(p, size, &cols, &rows, &err) != 0 &&
        (err.status < 400 || err.status > 499))
        abort();
    return 0;
}
