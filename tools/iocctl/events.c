/* tools/iocctl/events.c — `iocctl events`: stored events, newest first,
 * filtered by source, kind, area, device, status, severity, bounding box
 * and time, as a
 * text table or JSON lines.
 *
 * Owns: its statement and output buffers, for one run. */
#include <inttypes.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "daemon/base/buf.h"
#include "daemon/base/severity.h"
#include "daemon/base/timeutil.h"
#include "daemon/query/events.h"
#include "daemon/query/query.h"
#include "tools/iocctl/iocctl.h"

#define EVENT_TEXT_MAX_WIDTH 60 /* columns of TEXT in the events table */

/* Columns of the shared SELECT (daemon/query/events.h). */
enum {
    E_ID = IOCD_EV_ID,
    E_TIME = IOCD_EV_TIME,
    E_RECEIVED = IOCD_EV_RECEIVED,
    E_SOURCE = IOCD_EV_SOURCE,
    E_KIND = IOCD_EV_KIND,
    E_SEVERITY = IOCD_EV_SEVERITY,
    E_TEXT = IOCD_EV_TEXT,
    E_DEVICE = IOCD_EV_DEVICE,
    E_AREA = IOCD_EV_AREA,
    E_STATUS = IOCD_EV_STATUS,
    E_LAT = IOCD_EV_LAT,
    E_LON = IOCD_EV_LON,
    E_ATTRIBUTES = IOCD_EV_ATTRIBUTES,
};

static const char *severity_name(int64_t v)
{
    const char *n = iocd_severity_name(v);
    return n ? n : "unknown";
}

/* Any JSON value parsed by cJSON, written back with iocctl's escaping and
 * number format. */
static void json_value(struct iocd_buf *b, const cJSON *v)
{
    if (cJSON_IsString(v)) {
        iocctl_json_string(b, v->valuestring);
    } else if (cJSON_IsNumber(v)) {
        iocctl_json_double(b, v->valuedouble);
    } else if (cJSON_IsBool(v)) {
        iocd_buf_puts(b, cJSON_IsTrue(v) ? "true" : "false");
    } else if (cJSON_IsObject(v) || cJSON_IsArray(v)) {
        bool object = cJSON_IsObject(v);
        iocd_buf_puts(b, object ? "{" : "[");
        for (const cJSON *c = v->child; c; c = c->next) {
            if (object)
                iocctl_json_key(b, c->string);
            else if (c != v->child)
                iocd_buf_puts(b, ",");
            json_value(b, c);
        }
        iocd_buf_puts(b, object ? "}" : "]");
    } else {
        iocd_buf_puts(b, "null");
    }
}

/* events.attributes is a JSON object of strings (as iocd writes it); it is
 * re-emitted as an object. Text that is not a JSON object (which iocd never
 * writes) gives null. */
static void json_attributes(struct iocd_buf *b, const char *text)
{
    cJSON *v = cJSON_ParseWithOpts(text, NULL, 1);
    iocctl_json_key(b, "attributes");
    if (cJSON_IsObject(v))
        json_value(b, v);
    else
        iocd_buf_puts(b, "null");
    cJSON_Delete(v);
}

/* iocctl_json_row_fn */
static void event_json(struct iocd_buf *b, sqlite3_stmt *st)
{
    static const struct {
        const char *key;
        int col;
    } texts[] = {{"source", E_SOURCE}, {"kind", E_KIND},     {"severity", E_SEVERITY},
                 {"text", E_TEXT},     {"device", E_DEVICE}, {"area", E_AREA},
                 {"status", E_STATUS}, {"case", IOCD_EV_CASE}};
    iocd_buf_puts(b, "{");
    iocctl_json_int(b, "id", sqlite3_column_int64(st, E_ID));
    iocctl_json_time(b, "time", sqlite3_column_int64(st, E_TIME));
    iocctl_json_time(b, "received", sqlite3_column_int64(st, E_RECEIVED));
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
        iocctl_json_str(b, texts[i].key,
                        texts[i].col == E_SEVERITY
                            ? severity_name(sqlite3_column_int64(st, E_SEVERITY))
                            : iocctl_column_text(st, texts[i].col));
    if (sqlite3_column_type(st, E_LAT) == SQLITE_NULL ||
        sqlite3_column_type(st, E_LON) == SQLITE_NULL) {
        iocctl_json_null(b, "location");
    } else {
        iocctl_json_key(b, "location");
        iocd_buf_puts(b, "{");
        iocctl_json_num(b, "lat", sqlite3_column_double(st, E_LAT));
        iocctl_json_num(b, "lon", sqlite3_column_double(st, E_LON));
        iocd_buf_puts(b, "}");
    }
    json_attributes(b, iocctl_column_text(st, E_ATTRIBUTES));
    iocd_buf_puts(b, "}");
}

/* A table cell: the sanitized value, or "-" when it is empty. */
static void event_cell(struct iocd_buf *cell, const char *value, size_t max_width)
{
    if (*value)
        iocctl_text_sanitized(cell, value, max_width);
    else
        iocd_buf_puts(cell, "-");
}

static int format_event_row(sqlite3_stmt *st, struct iocd_buf *cells, void *ctx)
{
    (void)ctx;
    char t[40];
    iocd_time_format(sqlite3_column_int64(st, E_TIME), t, sizeof(t));
    iocd_buf_puts(&cells[0], t);
    event_cell(&cells[1], iocctl_column_text(st, E_SOURCE), 0);
    event_cell(&cells[2], iocctl_column_text(st, E_KIND), 0);
    iocd_buf_puts(&cells[3], severity_name(sqlite3_column_int64(st, E_SEVERITY)));
    event_cell(&cells[4], iocctl_column_text(st, E_AREA), 0);
    event_cell(&cells[5], iocctl_column_text(st, E_DEVICE), 0);
    event_cell(&cells[6], iocctl_column_text(st, E_STATUS), 0);
    event_cell(&cells[7], iocctl_column_text(st, E_TEXT), EVENT_TEXT_MAX_WIDTH);
    return 0;
}

/* The statement for o's filters, bound (daemon/query/events.c, the same
 * SELECT as GET /api/v1/events): EXIT_OK or EXIT_RUNTIME. */
static int events_prepare(sqlite3 *db, const struct iocctl_options *o,
                          const struct iocctl_values *v, sqlite3_stmt **st)
{
    const struct iocd_events_query q = {
        .source = o->source,
        .kind = o->kind,
        .area = o->area,
        .device = o->device,
        .status = o->status,
        .min_severity = v->min_severity,
        .from_ms = v->from_ms,
        .to_ms = v->to_ms,
        .limit = v->limit,
        .bbox = v->has_bbox ? &v->bbox : NULL,
    };
    char err[256];
    if (iocd_query_events_prepare(db, &q, st, err, sizeof(err)) != IOCD_QUERY_OK) {
        fprintf(stderr, "iocctl: %s\n", err);
        return EXIT_RUNTIME;
    }
    return EXIT_OK;
}

int iocctl_cmd_events(sqlite3 *db, const struct iocctl_options *o,
                      const struct iocctl_values *v)
{
    static const char *const titles[] = {"TIME", "SOURCE", "KIND",   "SEVERITY",
                                         "AREA", "DEVICE", "STATUS", "TEXT"};
    static const bool right[] = {false, false, false, false, false, false, false, false};
    static const struct iocctl_table table = {8, titles, right};

    sqlite3_stmt *st;
    int rc = events_prepare(db, o, v, &st);
    if (rc != EXIT_OK)
        return rc;
    if (o->json)
        rc = iocctl_json_rows(db, st, event_json, "read events");
    else
        rc = iocctl_table_print(db, st, &table, format_event_row, NULL);
    sqlite3_finalize(st);
    return rc;
}
