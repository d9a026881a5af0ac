/*
 * mock_main: `agentd mock-agent`, the mock agent on stdin/stdout.  A small
 * poll() loop (the mock is its own process with one input and a timer, so
 * it needs no libuv): read stdin into the protocol core, sleep until the
 * next paced update is due, write every message as one line and flush it.
 * stdin EOF ends the process with status 0 once running prompts are done;
 * a closed stdout ends it at once.  Diagnostics go to stderr.
 */
#include "mock_agent.h"

#include "../stream/log.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/uio.h>
#include <unistd.h>

/* Bytes read from stdin at once. */
#define MOCK_READ_BYTES 65536
/* Pause between the updates of a prompt that contains the word "slow". */
#define MOCK_SLOW_DELAY_MS 100

struct mock_out {
    bool dead; /* stdout is gone: stop */
};

/* Writes the whole iovec array to fd, waiting when fd is non-blocking. Returns 0 or -errno. */
static int write_all(int fd, struct iovec *iov, int cnt)
{
    while (cnt > 0) {
        ssize_t n = writev(fd, iov, cnt);

        if (n < 0) {
            struct pollfd pfd = {.fd = fd, .events = POLLOUT};

            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                return -errno;
            if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
                return -errno;
            continue;
        }
        while (cnt > 0 && (size_t)n >= iov->iov_len) {
            n -= (ssize_t)iov->iov_len;
            iov++;
            cnt--;
        }
        if (cnt > 0) {
            iov->iov_base = (char *)iov->iov_base + n;
            iov->iov_len -= (size_t)n;
        }
    }
    return 0;
}

static void stdout_write(void *arg, const char *msg, size_t len)
{
    static char newline[] = "\n";
    struct mock_out *out = arg;
    struct iovec iov[2];
    int r;

    if (out->dead)
        return;
    iov[0].iov_base = (void *)(uintptr_t)msg;
    iov[0].iov_len = len;
    iov[1].iov_base = newline;
    iov[1].iov_len = 1;
    r = write_all(STDOUT_FILENO, iov, 2);
    if (r < 0) {
        out->dead = true;
        if (r != -EPIPE)
            log_warn("mock", "cannot write to stdout (errno %d); stopping", -r);
    }
}

int mock_agent_main(void)
{
    static char in[MOCK_READ_BYTES];
    struct mock_out out = {false};
    struct mock_agent_opts opts = {
        .write = stdout_write,
        .arg = &out,
        .max_line = 0,
        .slow_delay_ms = MOCK_SLOW_DELAY_MS,
    };
    struct mock_agent *a;
    bool eof = false;
    int status = 0;

    /* A client that goes away must not kill us mid-write: EPIPE ends the loop instead. */
    signal(SIGPIPE, SIG_IGN);
    a = mock_agent_new(&opts);
    while (!out.dead) {
        struct pollfd pfd = {.fd = STDIN_FILENO, .events = POLLIN};
        int timeout = mock_agent_timeout(a), r;

        if (eof && (!mock_agent_busy(a) || timeout < 0))
            break;
        r = poll(&pfd, eof ? 0 : 1, timeout);
        if (r < 0 && errno != EINTR) {
            log_error("mock", "poll: errno %d", errno);
            status = 1;
            break;
        }
        if (r > 0 && pfd.revents) {
            ssize_t n = read(STDIN_FILENO, in, sizeof(in));

            if (n > 0) {
                mock_agent_feed(a, in, (size_t)n);
            } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
                eof = true;
                mock_agent_eof(a);
            }
        }
        mock_agent_tick(a);
    }
    mock_agent_free(a);
    return status;
}
