/* daemon/mqtt/sockio.h — buffered reads and writes on the broker's socket,
 * underneath libmosquitto.
 *
 * Owns: one read-ahead buffer and one write buffer for the socket of the
 * MQTT session, and the read(), write(), close() and socketpair() that
 * libmosquitto (and OpenSSL under TLS) call.
 *
 * Why: libmosquitto reads a packet with a read() per header byte and one
 * for the rest (four system calls for a 200-byte PUBLISH), and writes every
 * PUBACK and every republished batch with a write() of its own. Under load
 * those system calls were a quarter to a third of iocd's CPU (perf, see
 * docs/performance.md). The client library is fixed, and it offers no
 * hook for its socket I/O, so iocd's executable defines read(), write() and
 * close(): calls on any other descriptor, and calls from any other thread,
 * go straight to the kernel; calls on the attached socket from the loop
 * thread are served from a 16 KiB read-ahead (one recvfrom for many
 * packets) and, between iocd_sockio_begin and iocd_sockio_end, gathered into
 * one write. Bytes never change order: the read-ahead is only ever read by
 * libmosquitto's reads, and once gathered bytes wait for a writable socket
 * every later write on it waits behind them (EAGAIN, which libmosquitto
 * takes as "keep the packet, try when writable"). close() on the socket
 * writes what is gathered first (a DISCONNECT after its PUBACKs), forgets
 * both buffers, and, once the broker had accepted the session, waits (at
 * most 1 s, buffers on or off) until the broker has read it all and closed
 * its side, so that no reset makes the broker drop PUBACKs it has not read
 * yet.
 *
 * [mqtt] socket_buffers = false turns it off (every call goes to the kernel,
 * as libmosquitto alone does). */
#ifndef IOCD_MQTT_SOCKIO_H
#define IOCD_MQTT_SOCKIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IOCD_SOCKIO_READ_BUF 16384
#define IOCD_SOCKIO_WRITE_BUF 16384
#define IOCD_SOCKIO_REFILLS_PER_TURN 4

struct iocd_sockio_stats {
    uint64_t read_calls;   /* read() calls on the socket (libmosquitto's) */
    uint64_t read_syscalls; /* of which reached the kernel */
    uint64_t write_calls;  /* write() calls on the socket */
    uint64_t write_syscalls; /* of which reached the kernel */
    uint64_t wake_writes;  /* wake-up bytes not written (see capture) */
};

/* The calling thread's socket is now fd (the loop thread, after connect):
 * both buffers start empty. fd < 0 or !enabled: nothing is buffered. */
void iocd_sockio_attach(int fd, bool enabled);
/* Around mosquitto_new and mosquitto_reinitialise: the socket pair they
 * make is libmosquitto's wake-up pipe for a loop thread of its own, which
 * iocd does not run (it drives the client from libuv). Every packet
 * libmosquitto queues writes a byte to it that nobody reads: a system call
 * per PUBACK and per republished batch. Its write end, once known, takes
 * those bytes without one. */
void iocd_sockio_capture_begin(void);
void iocd_sockio_capture_end(void);
/* The connection is gone: buffered bytes are dropped. */
void iocd_sockio_detach(void);
/* The broker accepted the session on the attached socket (CONNACK): from
 * now on its close() waits for the broker, as said above. */
void iocd_sockio_established(void);
/* Between begin and end (one turn of the loop), writes on the socket are
 * gathered and end writes them (what the socket does not take waits:
 * iocd_sockio_pending); the read-ahead is refilled at most
 * IOCD_SOCKIO_REFILLS_PER_TURN times, then reads say EAGAIN until the next
 * begin, so a broker that never pauses cannot hold the loop. */
void iocd_sockio_begin(void);
void iocd_sockio_end(void);
/* Bytes read from the kernel that libmosquitto has not taken yet. */
size_t iocd_sockio_buffered(void);
/* Bytes read out of the buffer so far (to see whether a call took any). */
uint64_t iocd_sockio_taken(void);
/* Gathered bytes wait for the socket to become writable. */
bool iocd_sockio_pending(void);
/* Write waiting bytes now: 0 when none are left, -1 when some still wait
 * (errno EAGAIN) or the socket failed (errno says how). */
int iocd_sockio_flush(void);
struct iocd_sockio_stats iocd_sockio_stats(void);

#endif
