/* daemon/query/events.c — stored events, filtered and paged (see events.h).
 *
 * Newest first comes straight from an index, so a limit stops the scan
 * early instead of sorting: with both source and kind, events_by_kind
 * (source, kind, time_ms) narrows to that kind's time range; otherwise
 * events_by_time (time_ms). The unary + keeps a lone source from choosing
 * events_by_kind, which would read all of that source's events and sort
 * them. Ties in time_ms go by id, which both indexes already hold in order
 * (the rowid ends every index entry), so a page boundary (time, id) is
 * exact even between events of the same millisecond. */
#include "daemon/query/events.h"

#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/base/buf.h"
#include "daemon/base/severity.h"
#include "daemon/query/query.h"

/* Parameters: ?1 source, ?2 kind, ?3 area, ?4 device, ?5 status,
 * ?6 min severity, ?7 from, ?8 to, ?9 limit (-1: none), ?10 before time,
 * ?11 before id, ?12 case, ?13..?16 bbox min lon, min lat, max lon, max lat. A database of schema 3 or older (iocctl may
 * read one iocd has not migrated yet) has no case_id: `no_case`. */
static void events_sql(struct iocd_buf *sql, const struct iocd_events_query *q, bool no_case)
{
    iocd_buf_puts(sql, "SELECT id, time_ms, received_ms, source, kind, severity, text, device,"
                       " area, status, lat, lon, attributes,");
    iocd_buf_puts(sql, no_case ? " '' FROM events" : " case_id FROM events");
    iocd_buf_puts(sql, " WHERE time_ms >= ?7 AND time_ms < ?8");
    if (q->case_id)
        iocd_buf_puts(sql, no_case ? " AND 0" : " AND case_id = ?12");
    if (q->source)
        iocd_buf_puts(sql, q->kind ? " AND source = ?1" : " AND +source = ?1");
    if (q->kind)
        iocd_buf_puts(sql, " AND kind = ?2");
    if (q->area)
        iocd_buf_puts(sql, " AND area = ?3");
    if (q->device)
        iocd_buf_puts(sql, " AND device = ?4");
    if (q->status)
        iocd_buf_puts(sql, " AND status = ?5");
    if (q->min_severity >= 0)
        iocd_buf_puts(sql, " AND severity >= ?6");
    if (q->bbox) /* edges inside; min lon > max lon crosses the antimeridian */
        iocd_buf_puts(sql, q->bbox->min_lon <= q->bbox->max_lon
                               ? " AND lat BETWEEN ?14 AND ?16 AND lon BETWEEN ?13 AND ?15"
                               : " AND lat BETWEEN ?14 AND ?16 AND (lon >= ?13 OR lon <= ?15)");
    if (q->has_before)
        iocd_buf_puts(sql, " AND (time_ms < ?10 OR (time_ms = ?10 AND id < ?11))");
    iocd_buf_puts(sql, " ORDER BY time_ms DESC, id DESC LIMIT ?9");
}

int iocd_query_events_prepare(sqlite3 *db, const struct iocd_events_query *q,
                              sqlite3_stmt **st, char *err, size_t errlen)
{
    int rc = SQLITE_ERROR;
    for (int no_case = 0; no_case < 2 && rc != SQLITE_OK; no_case++) {
        struct iocd_buf sql;
        iocd_buf_init(&sql);
        events_sql(&sql, q, no_case);
        rc = sql.oom ? SQLITE_NOMEM : sqlite3_prepare_v2(db, sql.p, -1, st, NULL);
        iocd_buf_free(&sql);
        if (rc != SQLITE_OK && !strstr(sqlite3_errmsg(db), "no such column: case_id"))
            break;
    }
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "read events: %s", sqlite3_errmsg(db));
        return IOCD_QUERY_FAILED;
    }
    const char *text[] = {q->source, q->kind, q->area, q->device, q->status};
    for (int i = 0; i < 5; i++)
        if (text[i])
            sqlite3_bind_text(*st, i + 1, text[i], -1, SQLITE_STATIC);
    sqlite3_bind_int64(*st, 6, q->min_severity);
    sqlite3_bind_int64(*st, 7, q->from_ms);
    sqlite3_bind_int64(*st, 8, q->to_ms);
    sqlite3_bind_int64(*st, 9, q->limit > 0 ? q->limit : -1);
    sqlite3_bind_int64(*st, 10, q->before_ms);
    sqlite3_bind_int64(*st, 11, q->before_id);
    if (q->case_id)
        sqlite3_bind_text(*st, 12, q->case_id, -1, SQLITE_STATIC);
    if (q->bbox) {
        sqlite3_bind_double(*st, 13, q->bbox->min_lon);
        sqlite3_bind_double(*st, 14, q->bbox->min_lat);
        sqlite3_bind_double(*st, 15, q->bbox->max_lon);
        sqlite3_bind_double(*st, 16, q->bbox->max_lat);
    }
    return IOCD_QUERY_OK;
}

int iocd_query_events_cursor(const char *s, struct iocd_events_query *q)
{
    char *end;
    long long t = strtoll(s, &end, 10);
    if (end == s || *end != ':')
        return -1;
    const char *p = end + 1;
    long long id = strtoll(p, &end, 10);
    if (end == p || *end || id < 0)
        return -1;
    q->has_before = true;
    q->before_ms = t;
    q->before_id = id;
    return 0;
}

static const char *col_text(sqlite3_stmt *st, int c)
{
    const unsigned char *t = sqlite3_column_text(st, c);
    return t ? (const char *)t : "";
}

static cJSON *event_json(sqlite3_stmt *st)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)sqlite3_column_int64(st, IOCD_EV_ID));
    iocd_query_add_time(o, "time", sqlite3_column_int64(st, IOCD_EV_TIME));
    iocd_query_add_time(o, "received", sqlite3_column_int64(st, IOCD_EV_RECEIVED));
    cJSON_AddStringToObject(o, "source", col_text(st, IOCD_EV_SOURCE));
    cJSON_AddStringToObject(o, "kind", col_text(st, IOCD_EV_KIND));
    const char *sev = iocd_severity_name(sqlite3_column_int64(st, IOCD_EV_SEVERITY));
    cJSON_AddStringToObject(o, "severity", sev ? sev : "unknown");
    cJSON_AddStringToObject(o, "text", col_text(st, IOCD_EV_TEXT));
    cJSON_AddStringToObject(o, "device", col_text(st, IOCD_EV_DEVICE));
    cJSON_AddStringToObject(o, "area", col_text(st, IOCD_EV_AREA));
    cJSON_AddStringToObject(o, "status", col_text(st, IOCD_EV_STATUS));
    cJSON_AddStringToObject(o, "case", col_text(st, IOCD_EV_CASE));
    if (sqlite3_column_type(st, IOCD_EV_LAT) == SQLITE_NULL ||
        sqlite3_column_type(st, IOCD_EV_LON) == SQLITE_NULL) {
        cJSON_AddNullToObject(o, "location");
    } else {
        cJSON *l = cJSON_AddObjectToObject(o, "location");
        cJSON_AddNumberToObject(l, "lat", sqlite3_column_double(st, IOCD_EV_LAT));
        cJSON_AddNumberToObject(l, "lon", sqlite3_column_double(st, IOCD_EV_LON));
    }
    /* A JSON object of strings, as iocd writes it; anything else is null. */
    cJSON *a = cJSON_ParseWithOpts(col_text(st, IOCD_EV_ATTRIBUTES), NULL, 1);
    if (cJSON_IsObject(a)) {
        cJSON_AddItemToObject(o, "attributes", a);
    } else {
        cJSON_Delete(a);
        cJSON_AddNullToObject(o, "attributes");
    }
    return o;
}

int iocd_query_events(sqlite3 *db, const struct iocd_events_query *q, cJSON **out, char *err,
                      size_t errlen)
{
    /* One row more than asked says whether a next page exists. */
    struct iocd_events_query q1 = *q;
    if (q1.limit > 0)
        q1.limit++;
    sqlite3_stmt *st;
    int rc = iocd_query_events_prepare(db, &q1, &st, err, errlen);
    if (rc != IOCD_QUERY_OK)
        return rc;
    cJSON *root = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(root, "events");
    int64_t n = 0, last_t = 0, last_id = 0;
    bool more = false;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (q->limit > 0 && n == q->limit) {
            more = true;
            step = SQLITE_DONE;
            break;
        }
        cJSON_AddItemToArray(arr, event_json(st));
        last_t = sqlite3_column_int64(st, IOCD_EV_TIME);
        last_id = sqlite3_column_int64(st, IOCD_EV_ID);
        n++;
    }
    if (step != SQLITE_DONE) {
        snprintf(err, errlen, "read events: %s", sqlite3_errmsg(db));
        sqlite3_finalize(st);
        cJSON_Delete(root);
        return IOCD_QUERY_FAILED;
    }
    sqlite3_finalize(st);
    if (more) {
        char cur[64];
        snprintf(cur, sizeof(cur), "%" PRId64 ":%" PRId64, last_t, last_id);
        cJSON_AddStringToObject(root, "next", cur);
    } else {
        cJSON_AddNullToObject(root, "next");
    }
    *out = root;
    return IOCD_QUERY_OK;
}
