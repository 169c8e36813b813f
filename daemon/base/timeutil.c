/* daemon/base/timeutil.c — the clock, durations and formatting (see timeutil.h). */
#define _POSIX_C_SOURCE 200809L
#include "daemon/base/timeutil.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t iocd_now_ms(void)
{
    static int checked;
    static int64_t fake = -1;
    if (!checked) {
        const char *f = getenv("IOCD_FAKE_NOW_MS");
        if (f && *f)
            fake = strtoll(f, NULL, 10);
        checked = 1;
    }
    if (fake >= 0)
        return fake;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t iocd_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const struct {
    const char *suffix;
    int64_t ms;
} units[] = {
    {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}, {"w", 604800000},
};

int iocd_duration_parse(const char *s, int64_t *ms)
{
    if (!s || !isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno)
        return -1;
    int64_t mult = 0;
    if (*end == '\0') {
        mult = 1000;
    } else {
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
            if (strcmp(end, units[i].suffix) == 0)
                mult = units[i].ms;
    }
    if (!mult || v > (unsigned long long)(INT64_MAX / mult))
        return -1;
    *ms = (int64_t)v * mult;
    return 0;
}

void iocd_duration_format(int64_t ms, char *buf, size_t n)
{
    for (size_t i = sizeof(units) / sizeof(units[0]); i-- > 1;) {
        if (ms > 0 && ms % units[i].ms == 0 && units[i].ms != 604800000) {
            snprintf(buf, n, "%" PRId64 "%s", ms / units[i].ms, units[i].suffix);
            return;
        }
    }
    snprintf(buf, n, "%" PRId64 "ms", ms);
}

void iocd_time_format(int64_t ms, char *buf, size_t n)
{
    int64_t sec = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
    int frac = (int)(ms - sec * 1000);
    time_t t = (time_t)sec;
    struct tm tm;
    if (!gmtime_r(&t, &tm)) {
        snprintf(buf, n, "invalid");
        return;
    }
    if (frac)
        snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
    else
        snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}
