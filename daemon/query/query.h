/* daemon/query/query.h — reads of the stored data for the HTTP API: series
 * listing, stored and rolling windows with quantiles, alert history; and
 * the window core (series lookup, stored resolutions, stored and rolling
 * windows handed to a callback) that the API and tools/iocctl/ both format
 * from.
 *
 * Owns: nothing beyond one call; each function takes an open read-only
 * connection (iocd_query_open) and builds a cJSON answer the caller frees.
 * Thread-safe as long as one connection is used by one thread at a time:
 * the HTTP server calls these on libuv's worker threads. Shapes are in
 * docs/api.md and docs/iocctl.md. */
#ifndef IOCD_QUERY_H
#define IOCD_QUERY_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/aggregate/sketch.h"

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

/* ------------------------------------------------------------------------
 * The window core shared with tools/iocctl/, which words its own output:
 * the series and its stored resolutions, stored windows read in order, and
 * rolling windows merged from them. */

/* A stored window, or a merge of stored windows. The sums carry a
 * compensation term (Neumaier): the value is sum + sum_c. */
struct iocd_query_agg {
    int64_t count;
    double sum, sum_c, sumsq, sumsq_c;
    double min, max, first, last;
    int64_t first_ms, last_ms;
    bool sk_ok; /* sk holds every sample (false once a window had no sketch) */
    struct iocd_sketch sk;
};

/* Quantile q in [0, 1] of a: 0 and *v, or -1 when a has no samples or no
 * whole sketch. The sketch's estimate clamped to [min, max] (where the
 * exact quantile lies); min itself for q <= 0, max for q >= 1. */
int iocd_query_agg_quantile(const struct iocd_query_agg *a, double q, double *v);

/* Called for each window, oldest first, with its span [start, end) (a
 * stored window: end = start + resolution; a rolling one: start = end -
 * rolling); a is valid during the call only. Nonzero stops the reading. */
typedef int (*iocd_query_window_fn)(void *ctx, int64_t start_ms, int64_t end_ms,
                                    const struct iocd_query_agg *a);

/* Why a reading stopped (the reading functions return -1). */
enum {
    IOCD_QUERY_FAULT_DB = 1,   /* msg: SQLite's message */
    IOCD_QUERY_FAULT_ROW,      /* the sketch of the window at start_ms is damaged
                                * (nomem: memory ran out decoding it) */
    IOCD_QUERY_FAULT_MERGE,    /* sketches that do not merge: other accuracies or a
                                * count overflow (nomem: memory ran out) */
    IOCD_QUERY_FAULT_CALLBACK, /* the callback returned cb_rc */
};
struct iocd_query_fault {
    int kind;
    bool nomem;
    int64_t start_ms;
    int cb_rc;
    char msg[256];
};

/* For a tool reading one snapshot of a connection it opened: BEGINs the
 * read transaction, reads the schema version (PRAGMA user_version) into
 * *version and registers the sketch SQL functions (docs/sketch.md) on db.
 * 0; -1 when BEGIN or the version read failed, -2 when the functions could
 * not be registered (sqlite3_errmsg(db) says why either way). */
int iocd_query_begin(struct sqlite3 *db, int *version);

/* The series called name: 1 and *id, *unit (malloc'd, the caller frees);
 * 0 when there is none; -1 and *f (kind IOCD_QUERY_FAULT_DB: msg, or nomem). */
int iocd_query_find_series(struct sqlite3 *db, const char *name, int64_t *id, char **unit,
                           struct iocd_query_fault *f);

#define IOCD_QUERY_MAX_RESOLUTIONS 64

/* The resolutions (window lengths in seconds) a series has windows of,
 * finest first. */
struct iocd_query_resolutions {
    int n;
    int64_t res_s[IOCD_QUERY_MAX_RESOLUTIONS];
};

/* Reads r: one index lookup a resolution, however many windows there are.
 * 0, or -1 and *f. */
int iocd_query_resolutions(struct sqlite3 *db, int64_t series_id,
                           struct iocd_query_resolutions *r, struct iocd_query_fault *f);

/* The resolution to read: asked_s (> 0) when it is stored; else, without
 * rolling_ms, the finest; else the coarsest dividing both rolling_ms and
 * step_ms. 0 and *res_s (0 when r is empty: the series has no windows), or
 * -1 when the asked one is not stored or none divides. */
int iocd_query_pick_resolution(const struct iocd_query_resolutions *r, int64_t asked_s,
                               int64_t rolling_ms, int64_t step_ms, int64_t *res_s);

/* The stored windows of series_id at res_s starting in [from_ms, to_ms),
 * at most limit (< 0: all) of them: 0, or -1 and *f. */
int iocd_query_each_window(struct sqlite3 *db, int64_t series_id, int64_t res_s,
                           int64_t from_ms, int64_t to_ms, int64_t limit,
                           iocd_query_window_fn fn, void *ctx, struct iocd_query_fault *f);

struct iocd_rolling_query {
    int64_t series_id;
    int64_t res_s;               /* a stored resolution dividing rolling and step */
    int64_t rolling_ms, step_ms; /* > 0 */
    int64_t from_ms;             /* first end; INT64_MIN: to - 1 day */
    int64_t to_ms;               /* last end; INT64_MAX: now, rounded up to a step */
    int64_t now_ms;
    int64_t limit; /* at most this many points */
};

/* For every step boundary e in the range, the stored windows starting in
 * [e - rolling, e) merged; boundaries are aligned to the stored windows
 * (local midnight for whole days) and those without windows are skipped.
 * Each stored window is read once and merged through a two-stack queue,
 * O(1) merges a point amortized. 0, or -1 and *f. */
int iocd_query_each_rolling(struct sqlite3 *db, const struct iocd_rolling_query *rq,
                            iocd_query_window_fn fn, void *ctx, struct iocd_query_fault *f);

#endif
