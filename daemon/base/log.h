/* daemon/base/log.h — logging to stderr, with journald priority prefixes when
 * stderr is the journal, and a rate limiter for per-message errors.
 *
 * Owns: the process-wide log level and output mode. Lines look like
 *   "<4>mqtt: connection lost: ..." under systemd (journald reads the
 *   priority), or "2026-11-22T10:00:00.123Z warning mqtt: ..." otherwise.
 * Per-message problems (rejects) go through iocd_ratelimit so a flood of
 * bad input cannot flood the log. */
#ifndef IOCD_LOG_H
#define IOCD_LOG_H

#include <stdbool.h>
#include <stdint.h>
#include <syslog.h>

void iocd_log_init(int level);
void iocd_log_set_level(int level);
bool iocd_log_enabled(int prio);
void iocd_log(int prio, const char *subsys, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

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
