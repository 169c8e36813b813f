/* tests/unit/test_sockio.c — daemon/mqtt/sockio.c: the read-ahead and the
 * gathered writes under libmosquitto, on a real socket pair. This binary
 * links sockio.c, so its read(), write() and close() are the ones under
 * test: every call below goes through them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "daemon/mqtt/sockio.h"

struct pair {
    int mine, peer;
};

static struct pair open_pair(void)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(fcntl(sv[i], F_SETFL, fcntl(sv[i], F_GETFL) | O_NONBLOCK), 0);
    return (struct pair){sv[0], sv[1]};
}

/* A pair whose first end is the attached socket. */
static struct pair attached_pair(void)
{
    struct pair p = open_pair();
    iocd_sockio_attach(p.mine, true);
    return p;
}

static void close_pair(struct pair p)
{
    close(p.mine);
    close(p.peer);
}

/* Everything the peer can read now. */
static size_t drain(int fd, unsigned char *out, size_t cap)
{
    size_t n = 0;
    for (;;) {
        ssize_t r = recv(fd, out + n, cap - n, 0);
        if (r <= 0)
            return n;
        n += (size_t)r;
    }
}

static void fill_pattern(unsigned char *b, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        b[i] = (unsigned char)(i * 131u + seed);
}

static void test_not_attached_passes_through(void **state)
{
    (void)state;
    struct pair p = open_pair();
    iocd_sockio_attach(-1, true);
    struct iocd_sockio_stats before = iocd_sockio_stats();
    assert_int_equal(write(p.mine, "abc", 3), 3);
    char b[8] = {0};
    assert_int_equal(recv(p.peer, b, sizeof(b), 0), 3);
    assert_string_equal(b, "abc");
    assert_int_equal(send(p.peer, "xy", 2, 0), 2);
    assert_int_equal(read(p.mine, b, 1), 1);
    assert_int_equal(b[0], 'x');
    assert_int_equal(iocd_sockio_buffered(), 0);
    struct iocd_sockio_stats after = iocd_sockio_stats();
    assert_memory_equal(&before, &after, sizeof(before));
    close_pair(p);
}

static void test_reads_ahead_in_one_call(void **state)
{
    (void)state;
    struct pair p = attached_pair();
    unsigned char sent[1000], got[1000];
    fill_pattern(sent, sizeof(sent), 7);
    assert_int_equal(send(p.peer, sent, sizeof(sent), 0), 1000);
    struct iocd_sockio_stats s0 = iocd_sockio_stats();
    uint64_t taken0 = iocd_sockio_taken();
    /* libmosquitto's pattern: a byte, a byte, then the rest of a packet. */
    size_t pos = 0, step = 1;
    while (pos < sizeof(got)) {
        size_t want = step < sizeof(got) - pos ? step : sizeof(got) - pos;
        ssize_t r = read(p.mine, got + pos, want);
        assert_int_equal(r, (ssize_t)want);
        pos += (size_t)r;
        step = step % 13 + 1;
        assert_int_equal(iocd_sockio_buffered(), sizeof(got) - pos);
    }
    assert_memory_equal(got, sent, sizeof(sent));
    assert_int_equal(iocd_sockio_taken() - taken0, 1000);
    struct iocd_sockio_stats s1 = iocd_sockio_stats();
    assert_int_equal(s1.read_syscalls - s0.read_syscalls, 1);
    assert_true(s1.read_calls - s0.read_calls > 100);
    /* Empty, and nothing more sent: EAGAIN, as from the socket. */
    char c;
    errno = 0;
    assert_int_equal(read(p.mine, &c, 1), -1);
    assert_int_equal(errno, EAGAIN);
    assert_int_equal(iocd_sockio_stats().read_syscalls - s0.read_syscalls, 2);
    /* End of stream comes after every buffered byte. */
    assert_int_equal(send(p.peer, "zz", 2, 0), 2);
    close(p.peer);
    assert_int_equal(read(p.mine, &c, 1), 1);
    assert_int_equal(c, 'z');
    assert_int_equal(read(p.mine, &c, 1), 1);
    assert_int_equal(read(p.mine, &c, 1), 0);
    close(p.mine);
    assert_int_equal(iocd_sockio_buffered(), 0);
}

static void test_turn_budget_then_next_turn(void **state)
{
    (void)state;
    struct pair p = open_pair();
    int big = 1 << 20;
    setsockopt(p.peer, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
    setsockopt(p.mine, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
    iocd_sockio_attach(p.mine, true);
    size_t total = (IOCD_SOCKIO_REFILLS_PER_TURN + 2) * IOCD_SOCKIO_READ_BUF;
    unsigned char *sent = malloc(total), *got = malloc(total);
    assert_non_null(sent);
    assert_non_null(got);
    fill_pattern(sent, total, 3);
    size_t off = 0;
    while (off < total) {
        ssize_t r = send(p.peer, sent + off, total - off, 0);
        assert_true(r > 0);
        off += (size_t)r;
    }
    /* One turn takes at most its refills, then says EAGAIN with bytes
     * still in the kernel. */
    iocd_sockio_begin();
    size_t pos = 0;
    for (;;) {
        ssize_t r = read(p.mine, got + pos, 1000);
        if (r < 0) {
            assert_int_equal(errno, EAGAIN);
            break;
        }
        assert_true(r > 0);
        pos += (size_t)r;
    }
    assert_int_equal(pos, (size_t)IOCD_SOCKIO_REFILLS_PER_TURN * IOCD_SOCKIO_READ_BUF);
    iocd_sockio_end();
    iocd_sockio_begin();
    for (;;) {
        ssize_t r = read(p.mine, got + pos, 1000);
        if (r < 0)
            break;
        pos += (size_t)r;
    }
    iocd_sockio_end();
    assert_int_equal(pos, total);
    assert_memory_equal(got, sent, total);
    /* A read as large as the buffer, with the buffer empty, goes straight
     * into place. */
    assert_int_equal(send(p.peer, sent, 100, 0), 100);
    struct iocd_sockio_stats s0 = iocd_sockio_stats();
    assert_int_equal(read(p.mine, got, IOCD_SOCKIO_READ_BUF), 100);
    assert_memory_equal(got, sent, 100);
    assert_int_equal(iocd_sockio_buffered(), 0);
    assert_int_equal(iocd_sockio_stats().read_syscalls - s0.read_syscalls, 1);
    free(sent);
    free(got);
    close_pair(p);
}

static void test_writes_gathered_until_end(void **state)
{
    (void)state;
    struct pair p = attached_pair();
    struct iocd_sockio_stats s0 = iocd_sockio_stats();
    iocd_sockio_begin();
    assert_int_equal(write(p.mine, "PUBACK1;", 8), 8);
    assert_int_equal(write(p.mine, "PUBLISH;", 8), 8);
    assert_int_equal(write(p.mine, "PUBACK2;", 8), 8);
    unsigned char got[64];
    assert_int_equal(drain(p.peer, got, sizeof(got)), 0); /* nothing yet */
    assert_int_equal(iocd_sockio_stats().write_syscalls - s0.write_syscalls, 0);
    iocd_sockio_end();
    size_t n = drain(p.peer, got, sizeof(got));
    assert_int_equal(n, 24);
    assert_memory_equal(got, "PUBACK1;PUBLISH;PUBACK2;", 24);
    struct iocd_sockio_stats s1 = iocd_sockio_stats();
    assert_int_equal(s1.write_calls - s0.write_calls, 3);
    assert_int_equal(s1.write_syscalls - s0.write_syscalls, 1);
    /* Outside a turn, with nothing waiting: straight to the kernel. */
    assert_int_equal(write(p.mine, "PINGREQ", 7), 7);
    assert_int_equal(drain(p.peer, got, sizeof(got)), 7);
    assert_int_equal(iocd_sockio_stats().write_syscalls - s1.write_syscalls, 1);
    /* More than the buffer holds in one turn: the gathered part goes
     * first, then the rest, in order. */
    unsigned char big[IOCD_SOCKIO_WRITE_BUF + 100];
    fill_pattern(big, sizeof(big), 9);
    iocd_sockio_begin();
    assert_int_equal(write(p.mine, "head", 4), 4);
    assert_int_equal(write(p.mine, big, sizeof(big)), (ssize_t)sizeof(big));
    assert_int_equal(write(p.mine, "tail", 4), 4);
    iocd_sockio_end();
    unsigned char *all = malloc(sizeof(big) + 8);
    assert_int_equal(drain(p.peer, all, sizeof(big) + 8), sizeof(big) + 8);
    assert_memory_equal(all, "head", 4);
    assert_memory_equal(all + 4, big, sizeof(big));
    assert_memory_equal(all + 4 + sizeof(big), "tail", 4);
    free(all);
    close_pair(p);
}

/* Fill the socket until the kernel refuses more; the count sent. */
static size_t fill_socket(int fd, unsigned char *chunk, size_t n)
{
    size_t total = 0;
    for (;;) {
        ssize_t r = write(fd, chunk, n);
        if (r < 0) {
            assert_int_equal(errno, EAGAIN);
            return total;
        }
        total += (size_t)r;
    }
}

static void test_full_socket_keeps_order(void **state)
{
    (void)state;
    struct pair p = attached_pair();
    unsigned char chunk[4096];
    memset(chunk, '.', sizeof(chunk));
    size_t filled = fill_socket(p.mine, chunk, sizeof(chunk));
    assert_true(filled > 0);
    iocd_sockio_begin();
    assert_int_equal(write(p.mine, "xyz", 3), 3);
    iocd_sockio_end();
    assert_true(iocd_sockio_pending());
    /* A later write (a keepalive from a timer) waits behind "xyz". */
    errno = 0;
    assert_int_equal(write(p.mine, "q", 1), -1);
    assert_int_equal(errno, EAGAIN);
    errno = 0;
    assert_int_equal(iocd_sockio_flush(), -1);
    assert_int_equal(errno, EAGAIN);
    /* The peer reads; now the waiting bytes go, then "q". */
    size_t cap = filled + 64;
    unsigned char *got = malloc(cap);
    assert_non_null(got);
    size_t n = drain(p.peer, got, cap);
    assert_int_equal(n, filled);
    assert_int_equal(iocd_sockio_flush(), 0);
    assert_false(iocd_sockio_pending());
    assert_int_equal(write(p.mine, "q", 1), 1);
    n = drain(p.peer, got, cap);
    assert_int_equal(n, 4);
    assert_memory_equal(got, "xyzq", 4);
    free(got);
    close_pair(p);
}

static void test_close_writes_gathered_bytes_first(void **state)
{
    (void)state;
    struct pair p = attached_pair();
    assert_int_equal(send(p.peer, "unread", 6, 0), 6);
    char c;
    assert_int_equal(read(p.mine, &c, 1), 1);
    assert_int_equal(iocd_sockio_buffered(), 5);
    iocd_sockio_begin();
    assert_int_equal(write(p.mine, "PUBACK;DISCONNECT", 17), 17);
    assert_int_equal(close(p.mine), 0);
    /* Detached: the read-ahead is gone with the socket. */
    assert_int_equal(iocd_sockio_buffered(), 0);
    assert_false(iocd_sockio_pending());
    unsigned char got[32];
    assert_int_equal(drain(p.peer, got, sizeof(got)), 17);
    assert_memory_equal(got, "PUBACK;DISCONNECT", 17);
    assert_int_equal(recv(p.peer, got, sizeof(got), 0), 0); /* then the end */
    close(p.peer);
    /* A new socket that reuses the number starts clean. */
    struct pair q = open_pair();
    iocd_sockio_attach(q.mine, true);
    assert_int_equal(iocd_sockio_buffered(), 0);
    close(q.mine);
    close(q.peer);
}

struct reader {
    int fd;
    unsigned char *buf;
    size_t cap, n;
};

/* Reads after 50 ms, until the end of the stream. */
static void *late_reader(void *arg)
{
    struct reader *r = arg;
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
    for (;;) {
        struct pollfd p = {.fd = r->fd, .events = POLLIN};
        poll(&p, 1, 2000);
        ssize_t k = recv(r->fd, r->buf + r->n, r->cap - r->n, 0);
        if (k == 0 || (k < 0 && errno != EAGAIN))
            return NULL;
        if (k > 0)
            r->n += (size_t)k;
    }
}

static void test_close_waits_for_a_full_socket(void **state)
{
    (void)state;
    struct pair p = attached_pair();
    unsigned char chunk[4096];
    memset(chunk, '.', sizeof(chunk));
    size_t filled = fill_socket(p.mine, chunk, sizeof(chunk));
    iocd_sockio_begin();
    assert_int_equal(write(p.mine, "DISCONNECT", 10), 10);
    struct reader r = {.fd = p.peer, .cap = filled + 64};
    r.buf = malloc(r.cap);
    assert_non_null(r.buf);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, late_reader, &r), 0);
    /* The socket is full until the reader starts: close waits for it. */
    assert_int_equal(close(p.mine), 0);
    pthread_join(t, NULL);
    assert_int_equal(r.n, filled + 10);
    assert_memory_equal(r.buf + filled, "DISCONNECT", 10);
    free(r.buf);
    close(p.peer);
}

static void test_broken_socket_reported_on_next_write(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    struct pair p = attached_pair();
    close(p.peer);
    iocd_sockio_begin();
    assert_int_equal(write(p.mine, "PUBACK", 6), 6);
    iocd_sockio_end();
    assert_false(iocd_sockio_pending());
    errno = 0;
    assert_int_equal(write(p.mine, "PUBACK", 6), -1);
    assert_int_equal(errno, EPIPE);
    close(p.mine);
}

static void test_disabled_passes_through(void **state)
{
    (void)state;
    struct pair p = open_pair();
    iocd_sockio_attach(p.mine, false);
    struct iocd_sockio_stats s0 = iocd_sockio_stats();
    assert_int_equal(send(p.peer, "ab", 2, 0), 2);
    char c;
    assert_int_equal(read(p.mine, &c, 1), 1);
    assert_int_equal(iocd_sockio_buffered(), 0);
    iocd_sockio_begin();
    assert_int_equal(write(p.mine, "x", 1), 1);
    unsigned char got[4];
    assert_int_equal(drain(p.peer, got, sizeof(got)), 1); /* at once */
    iocd_sockio_end();
    struct iocd_sockio_stats s1 = iocd_sockio_stats();
    assert_memory_equal(&s0, &s1, sizeof(s0));
    close_pair(p);
}

struct other {
    int fd;
    ssize_t r;
    int err;
};

static void *other_thread_read(void *arg)
{
    struct other *o = arg;
    char b[8];
    errno = 0;
    o->r = read(o->fd, b, sizeof(b));
    o->err = errno;
    return NULL;
}

static void test_other_threads_reach_the_kernel(void **state)
{
    (void)state;
    struct pair p = attached_pair();
    assert_int_equal(send(p.peer, "hello", 5, 0), 5);
    char c;
    assert_int_equal(read(p.mine, &c, 1), 1); /* "ello" now read ahead */
    struct other o = {.fd = p.mine};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, other_thread_read, &o), 0);
    pthread_join(t, NULL);
    assert_int_equal(o.r, -1); /* the kernel's socket is empty */
    assert_int_equal(o.err, EAGAIN);
    assert_int_equal(iocd_sockio_buffered(), 4);
    close_pair(p);
}

static void test_wake_pipe_takes_bytes_without_a_call(void **state)
{
    (void)state;
    int other[2], wake[2];
    /* Outside a capture: an ordinary socket pair. */
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, other), 0);
    iocd_sockio_capture_begin();
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, wake), 0);
    iocd_sockio_capture_end();
    for (int i = 0; i < 2; i++) {
        fcntl(wake[i], F_SETFL, fcntl(wake[i], F_GETFL) | O_NONBLOCK);
        fcntl(other[i], F_SETFL, fcntl(other[i], F_GETFL) | O_NONBLOCK);
    }
    struct iocd_sockio_stats s0 = iocd_sockio_stats();
    char z = 0, b[4];
    assert_int_equal(write(wake[1], &z, 1), 1);
    assert_int_equal(write(wake[1], &z, 1), 1);
    assert_int_equal(iocd_sockio_stats().wake_writes - s0.wake_writes, 2);
    assert_int_equal(recv(wake[0], b, sizeof(b), 0), -1); /* nothing reached it */
    assert_int_equal(errno, EAGAIN);
    assert_int_equal(write(other[1], &z, 1), 1);
    assert_int_equal(recv(other[0], b, sizeof(b), 0), 1);
    assert_int_equal(iocd_sockio_stats().wake_writes - s0.wake_writes, 2);
    /* Closed, the number is an ordinary descriptor again. */
    int n = wake[1];
    close(wake[1]);
    close(wake[0]);
    int again[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, again), 0);
    assert_true(again[0] == n || again[1] == n);
    int w = again[0] == n ? again[0] : again[1], r = w == again[0] ? again[1] : again[0];
    assert_int_equal(write(w, "k", 1), 1);
    assert_int_equal(recv(r, b, sizeof(b), 0), 1);
    assert_int_equal(b[0], 'k');
    assert_int_equal(iocd_sockio_stats().wake_writes - s0.wake_writes, 2);
    close(again[0]);
    close(again[1]);
    close(other[0]);
    close(other[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_not_attached_passes_through),
        cmocka_unit_test(test_reads_ahead_in_one_call),
        cmocka_unit_test(test_turn_budget_then_next_turn),
        cmocka_unit_test(test_writes_gathered_until_end),
        cmocka_unit_test(test_full_socket_keeps_order),
        cmocka_unit_test(test_close_writes_gathered_bytes_first),
        cmocka_unit_test(test_close_waits_for_a_full_socket),
        cmocka_unit_test(test_broken_socket_reported_on_next_write),
        cmocka_unit_test(test_disabled_passes_through),
        cmocka_unit_test(test_other_threads_reach_the_kernel),
        cmocka_unit_test(test_wake_pipe_takes_bytes_without_a_call),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
