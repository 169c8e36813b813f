/* tests/unit/test_query.c — daemon/query/query.c's series lookup, stored
 * resolutions, resolution choice and snapshot start, which the HTTP API and
 * iocctl share; on an in-memory database holding the columns they read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "daemon/query/query.h"

static sqlite3 *make_db(void)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db,
                     "CREATE TABLE series (id INTEGER PRIMARY KEY, name TEXT UNIQUE, unit TEXT);"
                     "CREATE TABLE windows (series_id INTEGER, res_s INTEGER, start_ms INTEGER,"
                     " PRIMARY KEY (series_id, res_s, start_ms));"
                     "INSERT INTO series VALUES (1, 'air/a/pm25', 'ug/m3'), (2, 'air/b/pm25', NULL),"
                     " (3, 'empty', 'C');"
                     "INSERT INTO windows VALUES (1, 60, 0), (1, 60, 60000), (1, 3600, 0),"
                     " (1, 86400, 0), (2, 900, 0);"
                     "PRAGMA user_version = 3;",
                     NULL, NULL, NULL),
        SQLITE_OK);
    return db;
}

static void test_find_series(void **state)
{
    (void)state;
    sqlite3 *db = make_db();
    struct iocd_query_fault f;
    int64_t id = 0;
    char *unit = NULL;
    assert_int_equal(iocd_query_find_series(db, "air/a/pm25", &id, &unit, &f), 1);
    assert_int_equal(id, 1);
    assert_string_equal(unit, "ug/m3");
    free(unit);
    assert_int_equal(iocd_query_find_series(db, "air/b/pm25", &id, &unit, &f), 1);
    assert_int_equal(id, 2);
    assert_string_equal(unit, ""); /* NULL unit */
    free(unit);
    assert_int_equal(iocd_query_find_series(db, "nope", &id, &unit, &f), 0);
    assert_null(unit);
    sqlite3_exec(db, "DROP TABLE series", NULL, NULL, NULL);
    assert_int_equal(iocd_query_find_series(db, "air/a/pm25", &id, &unit, &f), -1);
    assert_int_equal(f.kind, IOCD_QUERY_FAULT_DB);
    assert_false(f.nomem);
    assert_non_null(strstr(f.msg, "series"));
    sqlite3_close(db);
}

static void test_resolutions(void **state)
{
    (void)state;
    sqlite3 *db = make_db();
    struct iocd_query_resolutions r;
    struct iocd_query_fault f;
    assert_int_equal(iocd_query_resolutions(db, 1, &r, &f), 0);
    assert_int_equal(r.n, 3);
    assert_int_equal(r.res_s[0], 60);
    assert_int_equal(r.res_s[1], 3600);
    assert_int_equal(r.res_s[2], 86400);
    assert_int_equal(iocd_query_resolutions(db, 3, &r, &f), 0);
    assert_int_equal(r.n, 0);
    sqlite3_close(db);
}

static void test_pick_resolution(void **state)
{
    (void)state;
    const struct iocd_query_resolutions r = {3, {60, 3600, 86400}};
    const struct iocd_query_resolutions none = {0, {0}};
    const struct iocd_query_resolutions huge = {1, {INT64_MAX / 100}};
    int64_t res = -1;
    /* asked: only when stored */
    assert_int_equal(iocd_query_pick_resolution(&r, 3600, 0, 0, &res), 0);
    assert_int_equal(res, 3600);
    assert_int_equal(iocd_query_pick_resolution(&r, 300, 0, 0, &res), -1);
    assert_int_equal(iocd_query_pick_resolution(&none, 60, 0, 0, &res), -1);
    /* plain windows: the finest, 0 without windows */
    assert_int_equal(iocd_query_pick_resolution(&r, 0, 0, 0, &res), 0);
    assert_int_equal(res, 60);
    assert_int_equal(iocd_query_pick_resolution(&none, 0, 0, 0, &res), 0);
    assert_int_equal(res, 0);
    /* rolling: the coarsest dividing rolling and step */
    assert_int_equal(iocd_query_pick_resolution(&r, 0, 7200000, 3600000, &res), 0);
    assert_int_equal(res, 3600);
    assert_int_equal(iocd_query_pick_resolution(&r, 0, 172800000, 86400000, &res), 0);
    assert_int_equal(res, 86400);
    assert_int_equal(iocd_query_pick_resolution(&r, 0, 7200000, 1800000, &res), 0);
    assert_int_equal(res, 60);
    assert_int_equal(iocd_query_pick_resolution(&r, 0, 90000, 30000, &res), -1);
    assert_int_equal(iocd_query_pick_resolution(&none, 0, 90000, 30000, &res), 0);
    assert_int_equal(res, 0);
    /* a resolution too long to be in milliseconds divides nothing */
    assert_int_equal(iocd_query_pick_resolution(&huge, 0, 7200000, 3600000, &res), -1);
}

static void test_begin(void **state)
{
    (void)state;
    sqlite3 *db = make_db();
    int version = -1;
    assert_int_equal(iocd_query_begin(db, &version), 0);
    assert_int_equal(version, 3);
    /* the sketch functions are there: NULL in, NULL out */
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT iocd_sketch_quantile(NULL, 0.5)", -1, &st,
                                        NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_type(st, 0), SQLITE_NULL);
    sqlite3_finalize(st);
    /* inside the transaction already: a second BEGIN fails */
    assert_int_equal(iocd_query_begin(db, &version), -1);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    sqlite3_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find_series),
        cmocka_unit_test(test_resolutions),
        cmocka_unit_test(test_pick_resolution),
        cmocka_unit_test(test_begin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
