/*
 * desktop_util: small helpers many desktop files use and that call nothing
 * else in desktop/: the checks every X-thread job makes on the connection,
 * a PATH lookup, the time as RFC 3339.
 */
#include "desktop_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

bool desk__x_usable(struct desk_x *x, struct problem *err)
{
    if (x->dpy && !x->dead)
        return true;
    problem_set(err, 503, PROBLEM_DESKTOP_RUNTIME_FAILED,
                "the X server is not reachable (it is restarting); retry in a moment");
    return false;
}

bool desk__x_sync(struct desk_x *x)
{
    if (!x->dpy || x->dead)
        return false;
    XSync(x->dpy, False);
    return !x->dead;
}

bool desk__which(const char *name, char *dst, size_t cap)
{
    const char *path = getenv("PATH"), *p;
    struct stat st;

    if (!*name)
        return false;
    if (strchr(name, '/'))
        return stat(name, &st) == 0 && S_ISREG(st.st_mode) && access(name, X_OK) == 0 &&
               snprintf(dst, cap, "%s", name) < (int)cap;
    if (!path)
        path = "/usr/local/bin:/usr/bin:/bin";
    for (p = path; *p;) {
        const char *end = strchr(p, ':');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        int n = snprintf(dst, cap, "%.*s/%s", (int)len, p, name);
        if (len > 0 && n > 0 && n < (int)cap && stat(dst, &st) == 0 && S_ISREG(st.st_mode) &&
            access(dst, X_OK) == 0)
            return true;
        p += len + (end ? 1 : 0);
    }
    return false;
}

void desk__rfc3339_now(char *dst, size_t cap)
{
    struct timespec ts;
    struct tm tm;
    size_t n;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = strftime(dst, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(dst + n, cap - n, ".%09ld+00:00", ts.tv_nsec);
}
