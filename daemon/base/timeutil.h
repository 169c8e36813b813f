/* daemon/base/timeutil.h — time values: parsing timestamps and durations,
 * formatting, the wall clock.
 *
 * All times in iocd are int64 milliseconds since 1970-01-01T00:00:00Z.
 * timeutil.c owns the clock, durations and formatting; timeparse.c owns
 * parsing the timestamps devices send. */
#ifndef IOCD_TIMEUTIL_H
#define IOCD_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

/* Latest accepted timestamp: 9999-12-31T23:59:59.999Z. */
#define IOCD_TIME_MAX_MS INT64_C(253402300799999)

enum iocd_time_unit {
    IOCD_TIME_AUTO = 0, /* numbers: detect s/ms/us by magnitude; strings: ISO-8601 */
    IOCD_TIME_ISO8601,
    IOCD_TIME_S,
    IOCD_TIME_MS,
    IOCD_TIME_US,
};

/* Wall clock, ms since the epoch. Tests may override it: when the
 * environment variable IOCD_FAKE_NOW_MS is set at first call, that fixed
 * value is returned instead (used only by tests that need a fixed clock). */
int64_t iocd_now_ms(void);
/* Monotonic clock, ms from an arbitrary start; never faked: it measures
 * how long something took or has been quiet. */
int64_t iocd_mono_ms(void);

/* "500ms", "10s", "5m", "1h", "1d", "1w"; a bare number means seconds.
 * Returns 0 and *ms, or -1 on syntax error, negative or overflow. */
int iocd_duration_parse(const char *s, int64_t *ms);
/* Shortest exact form: 60000 -> "1m", 90000 -> "90s", 1500 -> "1500ms". */
void iocd_duration_format(int64_t ms, char *buf, size_t n);

/* "2026-11-22T03:04:05Z", or "2026-11-22T03:04:05.120Z" when ms % 1000. */
void iocd_time_format(int64_t ms, char *buf, size_t n);

/* --- timeparse.c --- */

/* ISO-8601 / RFC 3339 date-time in `s[0..len)`:
 *   YYYY-MM-DD, then 'T' or ' ', then hh:mm[:ss[.fraction]] (fraction of
 *   any length, truncated to ms), then 'Z', '+hh:mm', '-hh:mm', '+hhmm',
 *   '+hh' or nothing. Basic form YYYYMMDDThhmmss[Z] is accepted too.
 *   Without an offset the time is taken as UTC plus `default_offset_s`
 *   seconds east (the city's zone; 0 for UTC).
 * Date-only "YYYY-MM-DD" is midnight at that offset. Rejects out-of-range
 * fields (month 13, hour 25, Feb 30), years before 1970 and after 9999.
 * Returns 0 and *ms, or -1. */
int iocd_time_parse_iso8601(const char *s, size_t len, int default_offset_s, int64_t *ms);

/* Epoch number in `unit` (IOCD_TIME_AUTO: < 1e11 seconds, < 1e14 ms, else
 * microseconds) to ms, rounding toward minus infinity. Returns -1 for NaN,
 * infinities, negative values and values past IOCD_TIME_MAX_MS. */
int iocd_time_from_epoch(double v, enum iocd_time_unit unit, int64_t *ms);

/* a / b rounded toward minus infinity (C's '/' truncates toward zero), for
 * either sign of a and b; b != 0. Used to put times in hours, days, slots
 * and buckets, and to scale finer epoch units down to ms. */
static inline int64_t iocd_time_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Floor division aligning `t` to a window of `res_ms` (both in ms),
 * correct for negative t. */
static inline int64_t iocd_time_align(int64_t t, int64_t res_ms)
{
    int64_t r = t % res_ms;
    return r < 0 ? t - r - res_ms : t - r;
}

#endif
