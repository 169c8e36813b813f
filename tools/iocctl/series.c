/* tools/iocctl/series.c — `iocctl series` (the series, by name, as a text
 * table or JSON lines) and the series lookup `query` and `raw` share
 * (daemon/query's iocd_query_find_series).
 *
 * Owns: its statement, and the unit iocctl_series_lookup hands its caller. */
#include <inttypes.h>
#include <stdio.h>

#include "daemon/base/buf.h"
#include "daemon/base/timeutil.h"
#include "daemon/query/query.h"
#include "tools/iocctl/iocctl.h"

int iocctl_series_lookup(sqlite3 *db, struct iocctl_series *s)
{
    struct iocd_query_fault f;
    int found = iocd_query_find_series(db, s->name, &s->id, &s->unit, &f);
    if (found < 0 && f.nomem)
        return iocctl_oom();
    if (found < 0) {
        fprintf(stderr, "iocctl: database error (find series): %s\n", f.msg);
        return EXIT_RUNTIME;
    }
    if (found == 0) {
        struct iocd_buf name;
        fprintf(stderr, "iocctl: no such series: %s\n", iocctl_text_safe(&name, s->name));
        iocd_buf_free(&name);
        return EXIT_RUNTIME;
    }
    return EXIT_OK;
}

static int format_series_row(sqlite3_stmt *st, struct iocd_buf *cells, void *ctx)
{
    (void)ctx;
    iocctl_text_sanitized(&cells[0], iocctl_column_text(st, 0), 0);
    iocctl_text_sanitized(&cells[1], iocctl_column_text(st, 1), 0);
    iocd_buf_printf(&cells[2], "%" PRId64, (int64_t)sqlite3_column_int64(st, 2));
    if (sqlite3_column_type(st, 3) == SQLITE_NULL) {
        iocd_buf_puts(&cells[3], "-");
    } else {
        char t[40];
        iocd_time_format(sqlite3_column_int64(st, 3), t, sizeof(t));
        iocd_buf_puts(&cells[3], t);
    }
    return 0;
}

static void series_json(struct iocd_buf *line, sqlite3_stmt *st)
{
    static const char *const keys[] = {"series", "source", "device", "metric", "unit"};
    iocd_buf_puts(line, "{");
    for (int c = 0; c < 5; c++)
        iocctl_json_str(line, keys[c], iocctl_column_text(st, c));
    iocd_buf_puts(line, "}");
}

int iocctl_cmd_series(sqlite3 *db, const struct iocctl_options *o)
{
    /* Text: WINDOWS and LAST come from the finest resolution stored for
     * each series (the same windows `query` shows by default). */
    static const char sql_text[] =
        "SELECT s.name, s.unit, count(w.start_ms), max(w.last_ms)"
        " FROM series s LEFT JOIN windows w ON w.series_id = s.id"
        "  AND w.res_s = (SELECT min(x.res_s) FROM windows x WHERE x.series_id = s.id)"
        " WHERE ?1 IS NULL OR s.name GLOB ?1"
        " GROUP BY s.id ORDER BY s.name";
    static const char sql_json[] = "SELECT name, source, device, metric, unit FROM series"
                                   " WHERE ?1 IS NULL OR name GLOB ?1 ORDER BY name";
    static const char *const titles[] = {"NAME", "UNIT", "WINDOWS", "LAST"};
    static const bool right[] = {false, false, true, false};
    static const struct iocctl_table table = {4, titles, right};

    sqlite3_stmt *st;
    int rc = iocctl_db_prepare(db, o->json ? sql_json : sql_text, &st);
    if (rc != EXIT_OK)
        return rc;
    if (o->match)
        sqlite3_bind_text(st, 1, o->match, -1, SQLITE_STATIC);
    if (o->json)
        rc = iocctl_json_rows(db, st, series_json, "read series");
    else
        rc = iocctl_table_print(db, st, &table, format_series_row, NULL);
    sqlite3_finalize(st);
    return rc;
}
