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
static iocd_log_journal_fn journal_send;

#define JOURNAL_FIELD_MAX 1100 /* one field, name included */
#define JOURNAL_MAX_FIELDS 8

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

void iocd_log_journal_set(iocd_log_journal_fn send)
{
    journal_send = send;
}

bool iocd_log_enabled(int prio)
{
    return prio <= log_level;
}

/* Control characters (payload excerpts may hold anything) as '?': one
 * line of printable text. */
static void printable(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = '?';
}

/* "NAME=value" into buf (cut to its size, made printable) as iov[*n]. */
static void journal_field(struct iovec *iov, int *n, char *buf, const char *name,
                          const char *value)
{
    int len = snprintf(buf, JOURNAL_FIELD_MAX, "%s=%s", name, value);
    if (len < 0)
        return;
    if (len >= JOURNAL_FIELD_MAX)
        len = JOURNAL_FIELD_MAX - 1;
    printable(buf + strlen(name) + 1);
    iov[*n].iov_base = buf;
    iov[*n].iov_len = (size_t)len;
    (*n)++;
}

/* One journal entry: true when the sender took it. */
static bool journal_write(int prio, const char *subsys, const struct iocd_log_fields *f,
                          const char *message)
{
    static const char *const names[] = {"IOCD_FEED", "IOCD_TOPIC", "IOCD_REASON",
                                        "IOCD_SERIES"};
    const char *values[] = {f ? f->feed : NULL, f ? f->topic : NULL, f ? f->reason : NULL,
                            f ? f->series : NULL};
    char buf[JOURNAL_MAX_FIELDS][JOURNAL_FIELD_MAX], prio_text[4];
    struct iovec iov[JOURNAL_MAX_FIELDS];
    int n = 0;
    snprintf(prio_text, sizeof(prio_text), "%d", prio & 7);
    journal_field(iov, &n, buf[n], "MESSAGE", message);
    journal_field(iov, &n, buf[n], "PRIORITY", prio_text);
    journal_field(iov, &n, buf[n], "SYSLOG_IDENTIFIER", "iocd");
    journal_field(iov, &n, buf[n], "IOCD_SUBSYSTEM", subsys);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (values[i])
            journal_field(iov, &n, buf[n], names[i], values[i]);
    return journal_send(iov, n) >= 0;
}

__attribute__((format(printf, 4, 0))) static void
log_line(int prio, const char *subsys, const struct iocd_log_fields *f, const char *fmt,
         va_list ap)
{
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
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    if (m < 0)
        return;
    printable(line + n);
    /* The journal's MESSAGE is the line without the "<N>" prefix. */
    if (log_journal && journal_send && journal_write(prio, subsys, f, strchr(line, '>') + 1))
        return;
    size_t len = strlen(line);
    if (len >= sizeof(line) - 1)
        len = sizeof(line) - 2;
    line[len++] = '\n';
    /* One write per line so concurrent lines never interleave. */
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}

void iocd_log(int prio, const char *subsys, const char *fmt, ...)
{
    if (prio > log_level)
        return;
    va_list ap;
    va_start(ap, fmt);
    log_line(prio, subsys, NULL, fmt, ap);
    va_end(ap);
}

void iocd_log_fields(int prio, const char *subsys, const struct iocd_log_fields *f,
                     const char *fmt, ...)
{
    if (prio > log_level)
        return;
    va_list ap;
    va_start(ap, fmt);
    log_line(prio, subsys, f, fmt, ap);
    va_end(ap);
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
