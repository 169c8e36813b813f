/* daemon/mqtt/sockio.c — buffered reads and writes on the broker's socket,
 * underneath libmosquitto (see sockio.h for why and the rules).
 *
 * Owns: the read-ahead and write buffers and the process's read(),
 * write(), close() and socketpair(). Everything here runs on the thread that attached
 * the socket; every other thread and descriptor passes straight through
 * to the kernel. */

/* glibc's fortified unistd.h wraps read() in an inline of its own; this
 * file defines the real one. */
#undef _FORTIFY_SOURCE
#include "daemon/mqtt/sockio.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include "daemon/base/timeutil.h"

#define CLOSE_WAIT_MS 1000
#define DRAIN_WAIT_MS 1000

struct sockio {
    int fd; /* the attached socket, -1: none */
    int conn_fd; /* the session's socket, buffered or not */
    bool established; /* the broker accepted the session: its close waits for the broker */
    int wake_fd; /* libmosquitto's wake-up pipe's write end, -1: none */
    bool capturing; /* inside iocd_sockio_capture_begin/end */
    bool active; /* between begin and end */
    int refills_left; /* in this turn */
    int write_error; /* a gathered write failed: the next write says so */
    size_t rpos, rlen; /* rbuf[rpos, rlen) not taken yet */
    size_t wlen;       /* wbuf[0, wlen) gathered, not yet written */
    uint64_t taken;
    struct iocd_sockio_stats stats;
    unsigned char rbuf[IOCD_SOCKIO_READ_BUF];
    unsigned char wbuf[IOCD_SOCKIO_WRITE_BUF];
};

static struct sockio g = {.fd = -1, .conn_fd = -1, .wake_fd = -1};
/* Only the attaching thread sees the socket as attached. */
static _Thread_local bool owner;

static ssize_t kernel_read(int fd, void *buf, size_t n)
{
    return (ssize_t)syscall(SYS_read, fd, buf, n);
}

static ssize_t kernel_write(int fd, const void *buf, size_t n)
{
    return (ssize_t)syscall(SYS_write, fd, buf, n);
}

static bool mine(int fd)
{
    return owner && fd >= 0 && fd == g.fd;
}

void iocd_sockio_attach(int fd, bool enabled)
{
    owner = true;
    g.fd = enabled ? fd : -1;
    g.conn_fd = fd;
    g.established = false;
    g.active = false;
    g.write_error = 0;
    g.rpos = g.rlen = g.wlen = 0;
}

void iocd_sockio_established(void)
{
    if (owner && g.conn_fd >= 0)
        g.established = true;
}

void iocd_sockio_capture_begin(void)
{
    owner = true;
    g.capturing = true;
}

void iocd_sockio_capture_end(void)
{
    g.capturing = false;
}

void iocd_sockio_detach(void)
{
    if (!owner)
        return;
    g.fd = -1;
    g.active = false;
    g.rpos = g.rlen = g.wlen = 0;
}

int iocd_sockio_flush(void)
{
    if (!owner || g.fd < 0)
        return 0;
    size_t done = 0;
    while (done < g.wlen) {
        ssize_t n = kernel_write(g.fd, g.wbuf + done, g.wlen - done);
        g.stats.write_syscalls++;
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = n < 0 ? errno : EAGAIN;
            if (e != EAGAIN && e != EWOULDBLOCK) {
                /* The connection is broken: what waits is lost with it; the
                 * next write, and the next read, tell libmosquitto. */
                g.write_error = e;
                g.wlen = 0;
                errno = e;
                return -1;
            }
            break;
        }
        done += (size_t)n;
    }
    if (done > 0 && done < g.wlen)
        memmove(g.wbuf, g.wbuf + done, g.wlen - done);
    g.wlen -= done;
    if (g.wlen > 0) {
        errno = EAGAIN;
        return -1;
    }
    return 0;
}

void iocd_sockio_begin(void)
{
    if (!owner || g.fd < 0)
        return;
    g.active = true;
    g.refills_left = IOCD_SOCKIO_REFILLS_PER_TURN;
}

void iocd_sockio_end(void)
{
    if (!owner || g.fd < 0)
        return;
    g.active = false;
    int saved = errno;
    (void)iocd_sockio_flush();
    errno = saved;
}

size_t iocd_sockio_buffered(void)
{
    return owner && g.fd >= 0 ? g.rlen - g.rpos : 0;
}

uint64_t iocd_sockio_taken(void)
{
    return g.taken;
}

bool iocd_sockio_pending(void)
{
    return owner && g.fd >= 0 && g.wlen > 0;
}

struct iocd_sockio_stats iocd_sockio_stats(void)
{
    return g.stats;
}

ssize_t read(int fd, void *buf, size_t n)
{
    if (!mine(fd))
        return kernel_read(fd, buf, n);
    g.stats.read_calls++;
    if (g.rpos == g.rlen) {
        g.rpos = g.rlen = 0;
        if (g.active && g.refills_left <= 0) {
            errno = EAGAIN; /* this turn's share is read; the poll calls again */
            return -1;
        }
        if (g.active)
            g.refills_left--;
        g.stats.read_syscalls++;
        if (n >= sizeof(g.rbuf)) { /* a large payload: straight into place */
            ssize_t r = kernel_read(fd, buf, n);
            if (r > 0)
                g.taken += (uint64_t)r;
            return r;
        }
        ssize_t r = kernel_read(fd, g.rbuf, sizeof(g.rbuf));
        if (r <= 0)
            return r; /* EOF, EAGAIN or an error, with its errno */
        g.rlen = (size_t)r;
    }
    size_t k = g.rlen - g.rpos;
    if (k > n)
        k = n;
    memcpy(buf, g.rbuf + g.rpos, k);
    g.rpos += k;
    g.taken += k;
    return (ssize_t)k;
}

ssize_t write(int fd, const void *buf, size_t n)
{
    if (owner && fd >= 0 && fd == g.wake_fd) {
        /* The byte that would wake libmosquitto's own loop thread, which
         * iocd does not run: nobody ever reads it. */
        g.stats.wake_writes++;
        return n > 0 ? 1 : 0;
    }
    if (!mine(fd))
        return kernel_write(fd, buf, n);
    g.stats.write_calls++;
    if (g.write_error) {
        errno = g.write_error;
        return -1;
    }
    if (g.wlen > 0 && (!g.active || n > sizeof(g.wbuf) - g.wlen) && iocd_sockio_flush() != 0)
        return -1; /* errno: EAGAIN (bytes before these wait) or the failure */
    if (g.active && n <= sizeof(g.wbuf) - g.wlen) {
        memcpy(g.wbuf + g.wlen, buf, n);
        g.wlen += n;
        return (ssize_t)n;
    }
    g.stats.write_syscalls++;
    return kernel_write(fd, buf, n);
}

int socketpair(int domain, int type, int protocol, int sv[2])
{
    int r = (int)syscall(SYS_socketpair, domain, type, protocol, sv);
    if (r == 0 && owner && g.capturing && g.wake_fd < 0)
        g.wake_fd = sv[1]; /* libmosquitto's net__socketpair: [0] read, [1] write */
    return r;
}

/* Before the session's socket is closed (libmosquitto closes it right
 * after writing the DISCONNECT): a wait, at most DRAIN_WAIT_MS, until the
 * broker has read what was written and closed its side. Closed with bytes
 * the broker sent still unread, the socket would send a reset, and the
 * broker drops whatever of iocd's it has not read yet: a stop during a
 * QoS 1 backlog had mosquitto 2.0.11 lose 28,000 to 55,000 PUBACKs of
 * messages iocd had taken, and send them all again (the duplicate horizon
 * caught them). Nothing is read meanwhile (a half-close, or a reader that
 * kept mosquitto writing its backlog, made it drop the connection before
 * it read the DISCONNECT); what stays unread was never acknowledged, and
 * the session sends it again. A broker that takes nothing for that long
 * gets the reset. */
static void drain_before_close(int fd)
{
    int64_t deadline = iocd_mono_ms() + DRAIN_WAIT_MS;
    for (;;) {
        int64_t left = deadline - iocd_mono_ms();
        if (left <= 0)
            return;
        struct pollfd p = {.fd = fd, .events = POLLRDHUP};
        int r = poll(&p, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        return; /* the broker closed (POLLRDHUP, POLLHUP, POLLERR), or the time is up */
    }
}

int close(int fd)
{
    if (owner && fd >= 0 && fd == g.wake_fd)
        g.wake_fd = -1;
    if (mine(fd)) {
        /* libmosquitto closes right after writing DISCONNECT: the gathered
         * bytes (PUBACKs, then the DISCONNECT) go first. libmosquitto alone
         * would have waited for a full socket before closing; this waits
         * too, at most CLOSE_WAIT_MS (a broker that takes nothing for that
         * long is gone: the broker then sees the connection drop). */
        int saved = errno;
        int64_t waited = 0;
        while (iocd_sockio_flush() != 0 && errno == EAGAIN && waited < CLOSE_WAIT_MS) {
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            (void)poll(&p, 1, 10);
            waited += 10;
        }
        errno = saved;
        iocd_sockio_detach();
    }
    if (owner && fd >= 0 && fd == g.conn_fd) {
        /* Only a session the broker accepted: a connect that failed or
         * timed out has nothing to wait for (and must not hold the loop). */
        int saved = errno;
        bool wait = g.established;
        g.conn_fd = -1;
        g.established = false;
        if (wait)
            drain_before_close(fd);
        errno = saved;
    }
    return (int)syscall(SYS_close, fd);
}
