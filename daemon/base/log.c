/* daemon/base/log.c — log lines and rate limiting (see log.h). */
#include "daemon/base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/base/timeutil.h"

static int log_level = LOG_INFO;
static bool log_journal;

static const char *const prio_names[] = {
    "emerg", "alert", "crit", "error", "warning", "notice", "info", "debug",
};

/* systemd sets JOURNAL_STREAM=dev:ino when stderr is the journal; only
 * then do we use <N> prefixes (and leave timestamps to journald). */
static bool stderr_is_journal(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    if (!js)
        return false;
    unsigned long long dev, ino;
    if (sscanf(js, "%llu:%llu", &dev, &ino) != 2)
        return false;
    struct stat st;
    if (fstat(STDERR_FILENO, &st) != 0)
        return false;
    return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void iocd_log_init(int level)
{
    log_level = level;
    log_journal = stderr_is_journal();
}

void iocd_log_set_level(int level)
{
    log_level = level;
}

bool iocd_log_enabled(int prio)
{
    return prio <= log_level;
}

void iocd_log(int prio, const char *subsys, const char *fmt, ...)
{
    if (prio > log_level)
        return;
    char line[2048];
    int n;
    if (log_journal) {
        n = snprintf(line, sizeof(line), "<%d>%s: ", prio, subsys);
    } else {
        char ts[40];
        iocd_time_format(iocd_now_ms(), ts, sizeof(ts));
        n = snprintf(line, sizeof(line), "%s %s %s: ", ts, prio_names[prio & 7], subsys);
    }
    if (n < 0 || (size_t)n >= sizeof(line))
        return;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    if (m < 0)
        return;
    size_t len = strlen(line);
    /* Payload excerpts may contain anything: keep one line of printable text. */
    for (size_t i = (size_t)n; i < len; i++)
        if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
            line[i] = '?';
    if (len >= sizeof(line) - 1)
        len = sizeof(line) - 2;
    line[len++] = '\n';
    /* One write per line so concurrent lines never interleave. */
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}

bool iocd_ratelimit_allow(struct iocd_ratelimit *rl, int64_t now_ms, int64_t interval_ms,
                          int burst, uint64_t *suppressed_out)
{
    *suppressed_out = 0;
    if (interval_ms <= 0)
        return true;
    if (now_ms - rl->window_start_ms >= interval_ms || now_ms < rl->window_start_ms) {
        *suppressed_out = rl->suppressed;
        rl->window_start_ms = now_ms;
        rl->in_window = 0;
        rl->suppressed = 0;
    }
    if (rl->in_window < burst) {
        rl->in_window++;
        return true;
    }
    rl->suppressed++;
    return false;
}
