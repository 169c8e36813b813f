/* daemon/base/log.h — logging to stderr, or to the journal with structured
 * fields when stderr is the journal, and a rate limiter for per-message
 * errors.
 *
 * Owns: the process-wide log level, output mode and journal sender. Lines
 * look like "2026-11-22T10:00:00.123Z warning mqtt: ..." on a terminal or
 * file. When stderr is the journal (JOURNAL_STREAM) and main.c has set a
 * journal sender (sd_journal_sendv), each line is one journal entry with
 * MESSAGE, PRIORITY, SYSLOG_IDENTIFIER=iocd, IOCD_SUBSYSTEM and, where the
 * caller gives them, IOCD_FEED, IOCD_TOPIC, IOCD_REASON, IOCD_SERIES, so
 * `journalctl -u iocd IOCD_FEED=air` filters; without a sender, or if
 * sending fails, it is "<4>mqtt: connection lost: ..." on stderr (journald
 * reads the priority). Per-message problems (rejects) go through
 * iocd_ratelimit so a flood of bad input cannot flood the log. */
#ifndef IOCD_LOG_H
#define IOCD_LOG_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>
#include <syslog.h>

void iocd_log_init(int level);
void iocd_log_set_level(int level);
bool iocd_log_enabled(int prio);
void iocd_log(int prio, const char *subsys, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The journal fields a line may carry; NULL members are left out. */
struct iocd_log_fields {
    const char *feed;   /* IOCD_FEED: the [adapter NAME] */
    const char *topic;  /* IOCD_TOPIC: the MQTT topic or filter */
    const char *reason; /* IOCD_REASON: a reject or note name */
    const char *series; /* IOCD_SERIES: source/device/metric, or an alert id */
};
/* iocd_log with journal fields (f may be NULL); on stderr the line is the
 * same as iocd_log's. */
void iocd_log_fields(int prio, const char *subsys, const struct iocd_log_fields *f,
                     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Sends one journal entry (sd_journal_sendv's shape): >= 0 when sent. */
typedef int (*iocd_log_journal_fn)(const struct iovec *iov, int n);
/* Used from then on while stderr is the journal; NULL: stderr lines only.
 * Call after iocd_log_init. */
void iocd_log_journal_set(iocd_log_journal_fn send);

#define iocd_log_err(sub, ...) iocd_log(LOG_ERR, sub, __VA_ARGS__)
#define iocd_log_warn(sub, ...) iocd_log(LOG_WARNING, sub, __VA_ARGS__)
#define iocd_log_notice(sub, ...) iocd_log(LOG_NOTICE, sub, __VA_ARGS__)
#define iocd_log_info(sub, ...) iocd_log(LOG_INFO, sub, __VA_ARGS__)
#define iocd_log_debug(sub, ...)                                                                   \
    do {                                                                                           \
        if (iocd_log_enabled(LOG_DEBUG))                                                           \
            iocd_log(LOG_DEBUG, sub, __VA_ARGS__);                                                 \
    } while (0)

/* At most `burst` events per `interval_ms`; the rest are suppressed and
 * counted. */
struct iocd_ratelimit {
    int64_t window_start_ms;
    int in_window;
    uint64_t suppressed;
};

/* True if this event may be logged now. When a new interval starts and the
 * previous one suppressed events, *suppressed_out receives their number
 * (else 0) so the caller can say so in its line. */
bool iocd_ratelimit_allow(struct iocd_ratelimit *rl, int64_t now_ms, int64_t interval_ms,
                          int burst, uint64_t *suppressed_out);

#endif
