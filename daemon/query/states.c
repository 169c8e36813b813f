/* daemon/query/states.c — stored state windows (see states.h). */
#include "daemon/query/states.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "daemon/base/timeutil.h"

/* The codes of query.h (IOCD_QUERY_*), which includes this module. */
enum { QUERY_OK = 0, QUERY_BAD = -1, QUERY_FAILED = -3 };

/* "NAME":"time" and "NAME_ms":ms, as iocd_query_add_time. */
static void add_time(cJSON *obj, const char *name, int64_t ms)
{
    char t[64], key[64];
    iocd_time_format(ms, t, sizeof(t));
    cJSON_AddStringToObject(obj, name, t);
    snprintf(key, sizeof(key), "%s_ms", name);
    cJSON_AddNumberToObject(obj, key, (double)ms);
}

int iocd_query_is_state(struct sqlite3 *db, int64_t id)
{
    sqlite3_stmt *st;
    /* Before schema 6 there is no such table: no state series. */
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE name = 'state_series'", -1, &st,
                           NULL) != SQLITE_OK)
        return -1;
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? 0 : -1;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM state_series WHERE series_id = ?1", -1, &st, NULL) !=
        SQLITE_OK)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int iocd_query_state_names(struct sqlite3 *db, int64_t id, char *buf, size_t n)
{
    int is = iocd_query_is_state(db, id);
    if (is != 1)
        return is;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT names FROM state_series WHERE series_id = ?1", -1, &st,
                           NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        snprintf(buf, n, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

static int db_fail(struct sqlite3 *db, char *err, size_t errlen)
{
    snprintf(err, errlen, "database: %s", sqlite3_errmsg(db));
    return QUERY_FAILED;
}

/* The finest stored resolution of the series, or `asked` if stored; 0: none. */
static int pick_res(struct sqlite3 *db, int64_t id, int64_t asked, int64_t *res_s, char *err,
                    size_t errlen)
{
    sqlite3_stmt *st;
    const char *sql = asked ? "SELECT res_s FROM state_windows WHERE series_id = ?1 AND "
                              "res_s = ?2 LIMIT 1"
                            : "SELECT min(res_s) FROM state_windows WHERE series_id = ?1";
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return db_fail(db, err, errlen);
    sqlite3_bind_int64(st, 1, id);
    if (asked)
        sqlite3_bind_int64(st, 2, asked);
    int rc = sqlite3_step(st);
    *res_s = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_fail(db, err, errlen);
    if (asked && !*res_s) {
        char want[32];
        iocd_duration_format(asked * 1000, want, sizeof(want));
        snprintf(err, errlen, "the series has no %s windows", want);
        return QUERY_BAD;
    }
    return QUERY_OK;
}

static int add_latest(struct sqlite3 *db, int64_t id, cJSON *root)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT state, last_ms FROM state_series WHERE series_id = ?1", -1,
                           &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        cJSON *l = cJSON_AddObjectToObject(root, "latest");
        cJSON_AddStringToObject(l, "state", (const char *)sqlite3_column_text(st, 0));
        add_time(l, "time", sqlite3_column_int64(st, 1));
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

int iocd_query_state_windows(struct sqlite3 *db, int64_t id, int64_t res_s, int64_t from_ms,
                             int64_t to_ms, int64_t limit, cJSON *root, char *err,
                             size_t errlen)
{
    cJSON_AddStringToObject(root, "kind", "state");
    int rc = pick_res(db, id, res_s, &res_s, err, errlen);
    if (rc != QUERY_OK)
        return rc;
    if (res_s) {
        char buf[32];
        iocd_duration_format(res_s * 1000, buf, sizeof(buf));
        cJSON_AddStringToObject(root, "resolution", buf);
        cJSON_AddNumberToObject(root, "res_s", (double)res_s);
    } else {
        cJSON_AddNullToObject(root, "resolution");
        cJSON_AddNullToObject(root, "res_s");
    }
    if (add_latest(db, id, root))
        return db_fail(db, err, errlen);
    cJSON *arr = cJSON_AddArrayToObject(root, "windows");
    if (!res_s)
        return QUERY_OK;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT start_ms, state, ms, entries, transitions FROM state_windows "
                           "WHERE series_id = ?1 AND res_s = ?2 AND start_ms >= ?3 AND "
                           "start_ms < ?4 AND (ms != 0 OR entries != 0 OR transitions != 0) "
                           "ORDER BY start_ms, state",
                           -1, &st, NULL) != SQLITE_OK)
        return db_fail(db, err, errlen);
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, res_s);
    sqlite3_bind_int64(st, 3, from_ms);
    sqlite3_bind_int64(st, 4, to_ms);
    cJSON *win = NULL, *states = NULL;
    int64_t start = 0, entries = 0, transitions = 0, n = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t s = sqlite3_column_int64(st, 0);
        if (!win || s != start) {
            if (win) {
                cJSON_AddNumberToObject(win, "transitions", (double)transitions);
                cJSON_AddNumberToObject(win, "entries", (double)entries);
            }
            if (limit > 0 && n == limit)
                break;
            win = cJSON_CreateObject();
            cJSON_AddItemToArray(arr, win);
            add_time(win, "start", s);
            states = cJSON_AddObjectToObject(win, "states");
            start = s;
            entries = transitions = 0;
            n++;
        }
        cJSON *o = cJSON_AddObjectToObject(states, (const char *)sqlite3_column_text(st, 1));
        int64_t e = sqlite3_column_int64(st, 3), t = sqlite3_column_int64(st, 4);
        cJSON_AddNumberToObject(o, "ms", (double)sqlite3_column_int64(st, 2));
        cJSON_AddNumberToObject(o, "entries", (double)e);
        cJSON_AddNumberToObject(o, "transitions", (double)t);
        entries += e;
        transitions += t;
    }
    if (win && rc != SQLITE_ROW) {
        cJSON_AddNumberToObject(win, "transitions", (double)transitions);
        cJSON_AddNumberToObject(win, "entries", (double)entries);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_fail(db, err, errlen);
    return QUERY_OK;
}
