/* daemon/query/events.h — stored events, filtered and paged: the one
 * SELECT that `iocctl events` and `GET /api/v1/events` both run.
 *
 * Owns: nothing beyond one call. The statement is prepared on the caller's
 * read-only connection (iocd_query_open) and handed back bound; the API's
 * JSON answer is built here, iocctl words its own rows. */
#ifndef IOCD_QUERY_EVENTS_H
#define IOCD_QUERY_EVENTS_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/base/bbox.h"

struct sqlite3;
struct sqlite3_stmt;

struct iocd_events_query {
    const char *source, *kind, *area, *device, *status; /* NULL: any */
    const char *case_id;   /* NULL: any; the updates of this case */
    int64_t min_severity;  /* ioc.v1.Severity at or above; -1: any */
    int64_t from_ms, to_ms; /* event time in [from, to) */
    const struct iocd_bbox *bbox; /* NULL: any; else events located within it */
    int64_t limit;          /* <= 0: no limit */
    /* A page: only events older than (before_ms, before_id) in the order
     * below (time, then id, both descending). */
    bool has_before;
    int64_t before_ms, before_id;
};

/* Columns of the statement, in order. */
enum {
    IOCD_EV_ID,
    IOCD_EV_TIME,
    IOCD_EV_RECEIVED,
    IOCD_EV_SOURCE,
    IOCD_EV_KIND,
    IOCD_EV_SEVERITY,
    IOCD_EV_TEXT,
    IOCD_EV_DEVICE,
    IOCD_EV_AREA,
    IOCD_EV_STATUS,
    IOCD_EV_LAT,
    IOCD_EV_LON,
    IOCD_EV_ATTRIBUTES,
    IOCD_EV_CASE,
};

/* The statement for q, newest first, bound (q's strings must outlive it).
 * IOCD_QUERY_OK, or IOCD_QUERY_FAILED with err. */
int iocd_query_events_prepare(struct sqlite3 *db, const struct iocd_events_query *q,
                              struct sqlite3_stmt **st, char *err, size_t errlen);
/* {"events":[...],"next":"TIME_MS:ID" or null}: `next` is the `before`
 * of the following page, null when no event is left after this one. */
int iocd_query_events(struct sqlite3 *db, const struct iocd_events_query *q, cJSON **out,
                      char *err, size_t errlen);
/* "TIME_MS:ID" into q's page fields; 0 or -1. */
int iocd_query_events_cursor(const char *s, struct iocd_events_query *q);

#endif
