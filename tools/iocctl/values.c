/* tools/iocctl/values.c — the values of iocctl's options, checked before
 * any I/O: times, durations, quantiles, severities and limits.
 *
 * Owns: nothing beyond the struct iocctl_values it fills. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/base/severity.h"
#include "daemon/base/timeutil.h"
#include "daemon/base/bbox.h"
#include "tools/iocctl/iocctl.h"

#define EVENTS_DEFAULT_LIMIT 100
#define BACKUP_DEFAULT_PAGES 1024 /* 4 MiB a step at SQLite's 4 KiB pages */

int iocctl_i64_parse(const char *s, int64_t *out)
{
    if (!s || !*s)
        return -1;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || end == s)
        return -1;
    *out = (int64_t)v;
    return 0;
}

/* TIME: "now", "-15m" (relative to now), epoch milliseconds (10 or more
 * digits) or ISO-8601. Returns 0 and *ms, or -1. */
static int parse_time_arg(const char *s, int64_t *ms)
{
    size_t n = strlen(s);
    if (n == 0)
        return -1;
    if (strcmp(s, "now") == 0) {
        *ms = iocd_now_ms();
        return 0;
    }
    if (s[0] == '-') {
        int64_t d;
        if (iocd_duration_parse(s + 1, &d) != 0)
            return -1;
        *ms = iocd_now_ms() - d;
        return 0;
    }
    if (strspn(s, "0123456789") == n) {
        int64_t v;
        if (n < 10 || iocctl_i64_parse(s, &v) != 0 || v > IOCD_TIME_MAX_MS)
            return -1;
        *ms = v;
        return 0;
    }
    return iocd_time_parse_iso8601(s, n, 0, ms) == 0 ? 0 : -1;
}

/* Window length as whole seconds > 0 ("1m", "60s", "60", "1h", "1d"). */
static int parse_resolution_arg(const char *s, int64_t *res_s)
{
    int64_t ms;
    if (iocd_duration_parse(s, &ms) != 0 || ms <= 0 || ms % 1000 != 0)
        return -1;
    *res_s = ms / 1000;
    return 0;
}

/* --rolling and --step: whole seconds, at most the time range: 0 and *ms. */
static int parse_span_arg(const char *s, int64_t *ms)
{
    int64_t sec;
    if (parse_resolution_arg(s, &sec) != 0 || sec > IOCD_TIME_MAX_MS / 1000)
        return -1;
    *ms = sec * 1000;
    return 0;
}

/* A whole number >= 0 (no sign): 0 and *v, or -1. */
static int parse_count_arg(const char *s, int64_t *v)
{
    return strspn(s, "0123456789") == strlen(s) && iocctl_i64_parse(s, v) == 0 ? 0 : -1;
}

void iocctl_resolution_format(int64_t res_s, char *buf, size_t n)
{
    if (res_s > INT64_MAX / 1000 || res_s <= 0)
        snprintf(buf, n, "%" PRId64 "s", res_s);
    else
        iocd_duration_format(res_s * 1000, buf, n);
}

/* One --quantile Q appended to ql under the key "q%g", unless a Q with
 * that key is there already: EXIT_OK or EXIT_USAGE (reported). */
static int quantile_add(struct iocctl_qlist *ql, const char *a)
{
    char *end;
    errno = 0;
    double q = strtod(a, &end);
    if (!*a || *end || errno || !(q >= 0 && q <= 1))
        return iocctl_usage_error("bad --quantile '%s' (expected a number from 0 to 1)", a);
    char key[32];
    snprintf(key, sizeof(key), "q%g", q);
    for (int k = IOCCTL_N_FIXED_QUANTILES; k < ql->n; k++)
        if (strcmp(ql->key[k], key) == 0)
            return EXIT_OK;
    ql->q[ql->n] = q;
    memcpy(ql->key[ql->n], key, sizeof(key));
    snprintf(ql->title[ql->n], sizeof(ql->title[ql->n]), "Q%g", q);
    ql->in_text[ql->n] = true;
    ql->n++;
    return EXIT_OK;
}

/* p50, p90, p95, p99, then each --quantile Q (0 <= Q <= 1). */
static int quantile_list(const struct iocctl_options *o, struct iocctl_qlist *ql)
{
    static const struct {
        double q;
        const char *key, *title;
        bool in_text;
    } fixed[IOCCTL_N_FIXED_QUANTILES] = {
        {0.5, "p50", "P50", true},
        {0.9, "p90", "P90", false},
        {0.95, "p95", "P95", true},
        {0.99, "p99", "P99", true},
    };
    memset(ql, 0, sizeof(*ql));
    for (int i = 0; i < IOCCTL_N_FIXED_QUANTILES; i++) {
        ql->q[i] = fixed[i].q;
        snprintf(ql->key[i], sizeof(ql->key[i]), "%s", fixed[i].key);
        snprintf(ql->title[i], sizeof(ql->title[i]), "%s", fixed[i].title);
        ql->in_text[i] = fixed[i].in_text;
    }
    ql->n = IOCCTL_N_FIXED_QUANTILES;
    for (int i = 0; i < o->n_quantiles; i++)
        if (quantile_add(ql, o->quantiles[i]) != EXIT_OK)
            return EXIT_USAGE;
    return EXIT_OK;
}

/* --resolution, --rolling and --step. */
static int parse_windows(const struct iocctl_options *o, struct iocctl_values *v)
{
    if (o->resolution && parse_resolution_arg(o->resolution, &v->res_s) != 0)
        return iocctl_usage_error(
            "bad --resolution '%s' (expected whole seconds: 60s, 1m, 1h, 1d)", o->resolution);
    if (o->rolling && parse_span_arg(o->rolling, &v->rolling_ms) != 0)
        return iocctl_usage_error("bad --rolling '%s' (expected whole seconds: 2h, 24h, 7d)",
                                  o->rolling);
    if (o->step && parse_span_arg(o->step, &v->step_ms) != 0)
        return iocctl_usage_error("bad --step '%s' (expected whole seconds: 1m, 1h, 1d)",
                                  o->step);
    if (v->rolling_ms && v->res_s &&
        (v->rolling_ms % (v->res_s * 1000) || v->step_ms % (v->res_s * 1000))) {
        char r[32];
        iocctl_resolution_format(v->res_s, r, sizeof(r));
        return iocctl_usage_error(
            "--rolling %s and --step %s must be whole multiples of --resolution %s", o->rolling,
            o->step, r);
    }
    return EXIT_OK;
}

/* --from, --to, --min-severity and --limit. */
static int parse_filters(const struct iocctl_options *o, struct iocctl_values *v)
{
    if (o->from && parse_time_arg(o->from, &v->from_ms) != 0)
        return iocctl_usage_error(
            "bad --from time '%s' (expected ISO-8601, epoch ms, now or -15m)", o->from);
    if (o->to && parse_time_arg(o->to, &v->to_ms) != 0)
        return iocctl_usage_error("bad --to time '%s' (expected ISO-8601, epoch ms, now or -15m)",
                                  o->to);
    if (o->min_severity) {
        for (int i = 0; iocd_severity_name(i); i++)
            if (strcmp(o->min_severity, iocd_severity_name(i)) == 0)
                v->min_severity = i;
        if (v->min_severity < 0)
            return iocctl_usage_error("bad --min-severity '%s' (expected unspecified, info, "
                                      "warning, minor, major or critical)",
                                      o->min_severity);
    }
    if (o->limit && parse_count_arg(o->limit, &v->limit) != 0)
        return iocctl_usage_error("bad --limit '%s' (expected a whole number, 0 for no limit)",
                                  o->limit);
    v->has_bbox = o->bbox != NULL;
    if (o->bbox && iocd_bbox_parse(o->bbox, &v->bbox) != 0)
        return iocctl_usage_error("bad --bbox '%s' (expected MINLON,MINLAT,MAXLON,MAXLAT: lon "
                                  "-180..180, lat -90..90, MINLAT <= MAXLAT)", o->bbox);
    if (o->state && strcmp(o->state, "online") && strcmp(o->state, "stale") &&
        strcmp(o->state, "offline") && strcmp(o->state, "unseen"))
        return iocctl_usage_error("bad --state '%s' (expected online, stale, offline or unseen)",
                                  o->state);
    return EXIT_OK;
}

/* backup's --method, --pages and --pause. */
static int parse_backup(const struct iocctl_options *o, struct iocctl_values *v)
{
    v->vacuum = false;
    v->pages = BACKUP_DEFAULT_PAGES;
    v->pause_ms = 0;
    if (o->method && strcmp(o->method, "vacuum") == 0)
        v->vacuum = true;
    else if (o->method && strcmp(o->method, "online") != 0)
        return iocctl_usage_error("bad --method '%s' (expected online or vacuum)", o->method);
    if (o->pages && (parse_count_arg(o->pages, &v->pages) != 0 || v->pages <= 0 ||
                     v->pages > INT32_MAX))
        return iocctl_usage_error("bad --pages '%s' (expected a whole number > 0)", o->pages);
    if (o->pause && (iocd_duration_parse(o->pause, &v->pause_ms) != 0 || v->pause_ms < 0 ||
                     v->pause_ms > 60000))
        return iocctl_usage_error("bad --pause '%s' (expected a duration up to 60s: 10ms, 1s)",
                                  o->pause);
    if (v->vacuum && (o->pages || o->pause))
        return iocctl_usage_error("--pages and --pause apply to --method online only");
    return EXIT_OK;
}

int iocctl_values_parse(const struct iocctl_options *o, struct iocctl_values *v)
{
    v->res_s = 0;
    v->from_ms = INT64_MIN;
    v->to_ms = INT64_MAX;
    v->min_severity = -1;
    v->limit = o->command == CMD_RAW ? 0 : EVENTS_DEFAULT_LIMIT;
    v->rolling_ms = v->step_ms = 0;
    if (parse_windows(o, v) != EXIT_OK || quantile_list(o, &v->ql) != EXIT_OK ||
        parse_filters(o, v) != EXIT_OK || parse_backup(o, v) != EXIT_OK)
        return EXIT_USAGE;
    return EXIT_OK;
}

int iocctl_count_parse(const char *s, int64_t *count)
{
    if (parse_count_arg(s, count) != 0 || *count <= 0)
        return iocctl_usage_error("bad --count '%s' (expected a whole number > 0)", s);
    return EXIT_OK;
}
