#include "clock.h"

#include "log.h"

#include <stdlib.h>
#include <time.h>

static int64_t ms(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t clock_mono_ms(void)
{
    return ms(CLOCK_MONOTONIC);
}

int64_t clock_real_ms(void)
{
    return ms(CLOCK_REALTIME);
}

int64_t clock_env_ms(const char *name, int64_t def, int64_t max)
{
    const char *e = getenv(name);
    char *end;
    long long n;

    if (!e || !*e)
        return def;
    n = strtoll(e, &end, 10);
    if (*end || n < 1 || n > max) {
        log_warn("clock", "ignoring %s='%s' (milliseconds, from 1 to %lld)", name, e,
                 (long long)max);
        return def;
    }
    return n;
}
