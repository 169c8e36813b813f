/* daemon/query.h — reads of the stored data for the HTTP API: series
 * listing, stored and rolling windows with quantiles, alert history.
 *
 * Owns: nothing beyond one call; each function takes an open read-only
 * connection (iocd_query_open) and builds a cJSON answer the caller frees.
 * Thread-safe as long as one connection is used by one thread at a time:
 * the HTTP server calls these on libuv's worker threads. Shapes are in
 * docs/api.md; the rolling merge (two-stack queue of stored windows) is
 * the one tools/iocctl.c uses, see docs/iocctl.md. */
#ifndef IOCD_QUERY_H
#define IOCD_QUERY_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

struct sqlite3;

/* Results of the query functions. */
enum {
    IOCD_QUERY_OK = 0,
    IOCD_QUERY_BAD = -1,      /* a parameter is wrong (HTTP 400) */
    IOCD_QUERY_NOTFOUND = -2, /* unknown series (HTTP 404) */
    IOCD_QUERY_FAILED = -3,   /* database error or out of memory (HTTP 500) */
};

/* Open `path` read-only (WAL: never blocks the writer). 0 or -1 with a
 * message in err. */
int iocd_query_open(const char *path, struct sqlite3 **out, char *err, size_t errlen);
void iocd_query_close(struct sqlite3 *db);

/* "2026-11-22T07:00:00Z", "2026-11-22T07:00:00.120Z": as the live items
 * and iocctl write times (milliseconds only when there are some). */
void iocd_query_time(int64_t ms, char *buf, size_t n);
/* Adds "NAME":"time" and "NAME_ms":ms to obj. */
void iocd_query_add_time(cJSON *obj, const char *name, int64_t ms);
/* A time parameter: RFC 3339 or epoch milliseconds. 0 or -1. */
int iocd_query_parse_time(const char *s, int64_t *ms);

struct iocd_series_query {
    const char *match; /* MQTT filter over names; NULL: all */
    const char *q;     /* substring, case-insensitive; NULL: all */
    int64_t limit, offset;
};
int iocd_query_series(struct sqlite3 *db, const struct iocd_series_query *sq, cJSON **out,
                      char *err, size_t errlen);

struct iocd_windows_query {
    const char *series;
    int64_t res_s;     /* 0: the finest stored (rolling: the coarsest dividing both) */
    int64_t from_ms;   /* INT64_MIN: default */
    int64_t to_ms;     /* INT64_MAX: default (now) */
    int64_t limit;
    int64_t rolling_ms, step_ms; /* both 0: plain windows */
    int64_t now_ms;
};
int iocd_query_windows(struct sqlite3 *db, const struct iocd_windows_query *wq, cJSON **out,
                       char *err, size_t errlen);

struct iocd_alerts_query {
    int64_t from_ms, to_ms; /* raise time in [from, to) */
    int64_t limit;
};
/* {"history":[...]} newest raise first. */
int iocd_query_alerts(struct sqlite3 *db, const struct iocd_alerts_query *aq, cJSON **out,
                      char *err, size_t errlen);

/* Severity name of an ioc.v1.Severity value ("warning"). */
const char *iocd_query_severity_name(int64_t v);

#endif
