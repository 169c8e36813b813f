/* tests/unit/test_store.c — the store interface (daemon/store/store.h):
 * iocd_store_open undoes a failed migration, every iocd_store_* call
 * reaches the backend's own function with its arguments (a fake backend,
 * as a second backend would plug in), and the SQLite backend round trip:
 * a flush read back through read_windows, read_raw, window_jrnl and
 * each_series, then reopened (migration a no-op); a correction
 * (struct iocd_replace) replaces the windows at 1m and 1h and rebuilds the
 * 1d row from its 1h rows, after the same flush's windows, and the journal
 * replay then finds nothing to add. Exact values throughout.
 *
 * Owns: its temporary database (removed at the end) and the fake
 * backend's call log. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "daemon/store/sqlite.h"

/* ---- a fake backend ------------------------------------------------------ */

struct fake {
    struct iocd_store base;
    int migrate_rc;
};

static struct {
    int opens, migrates, closes, flushes;
    const struct iocd_flush *flushed;
    const char *meta_key, *meta_value, *windows_source;
    uint32_t windows_res, jrnl_series;
    int64_t windows_since, alerts_since, cases_since, silences_now;
} calls;

static int fake_migrate_rc;

static int fake_open(struct iocd_store **out, const char *path, struct iocd_error *err)
{
    struct fake *f = calloc(1, sizeof(*f));
    if (!f)
        return iocd_error_set(err, "out of memory");
    f->migrate_rc = fake_migrate_rc;
    calls.opens++;
    *out = &f->base;
    return 0;
}

static int fake_migrate(struct iocd_store *st, struct iocd_error *err)
{
    calls.migrates++;
    if (((struct fake *)st)->migrate_rc)
        return iocd_error_set(err, "fake: schema too new");
    return 0;
}

static void fake_close(struct iocd_store *st)
{
    calls.closes++;
    free(st);
}

static void fake_flush(struct iocd_store *st, struct iocd_flush *f)
{
    calls.flushes++;
    calls.flushed = f;
    f->rc = 0;
}

static int fake_set_meta(struct iocd_store *st, const char *key, const char *value,
                         struct iocd_error *err)
{
    calls.meta_key = key;
    calls.meta_value = value;
    return 0;
}

static int fake_each_series(struct iocd_store *st, iocd_store_series_cb cb, void *ud,
                            struct iocd_error *err)
{
    return cb(ud, 7, "air/pk-07/pm25", "ug/m3");
}

static int fake_read_raw(struct iocd_store *st, size_t seed, iocd_store_sample_cb cb, void *ud,
                         uint64_t *next_journal_id, struct iocd_error *err)
{
    const struct iocd_sample s = {.series_id = 7, .t_ms = 1000, .value = 2.5};
    *next_journal_id = 9;
    return cb(ud, 8, &s, seed == 5);
}

static uint64_t fake_window_jrnl(struct iocd_store *st, uint32_t series_id, uint32_t res_s,
                                 int64_t start_ms)
{
    calls.jrnl_series = series_id;
    return 42;
}

static int fake_read_windows(struct iocd_store *st, const char *source, uint32_t res_s,
                             int64_t since_ms, iocd_store_window_cb cb, void *ud,
                             struct iocd_error *err)
{
    calls.windows_source = source;
    calls.windows_res = res_s;
    calls.windows_since = since_ms;
    cb(ud, "pk-07", "pm25", 3600000, 3, 7.5);
    return 0;
}

static int fake_each_device(struct iocd_store *st, iocd_store_device_cb cb, void *ud,
                            struct iocd_error *err)
{
    return iocd_error_set(err, "fake: no devices table");
}

static void got_silence(void *ud, const char *attributes)
{
    snprintf(ud, 64, "%s", attributes);
}

static void got_case(void *ud, const char *source, const char *case_id, int64_t first_ms)
{
    snprintf(ud, 64, "%s %s %lld", source, case_id, (long long)first_ms);
}

static int fake_each_silence(struct iocd_store *st, int64_t now_ms, iocd_store_silence_cb cb,
                             void *ud, struct iocd_error *err)
{
    (void)st;
    (void)err;
    calls.silences_now = now_ms;
    cb(ud, "{\"id\":\"s1\"}");
    return 0;
}

static int fake_each_open_case(struct iocd_store *st, int64_t since_ms, iocd_store_case_cb cb,
                               void *ud, struct iocd_error *err)
{
    (void)st;
    (void)err;
    calls.cases_since = since_ms;
    cb(ud, "reports", "PK-1", since_ms + 1);
    return 0;
}

static int fake_each_raised_alert(struct iocd_store *st, int64_t since_ms, iocd_store_alert_cb cb,
                                  void *ud, struct iocd_error *err)
{
    calls.alerts_since = since_ms;
    return 0;
}

static const struct iocd_store_backend fake_backend = {
    .name = "fake",
    .open = fake_open,
    .migrate = fake_migrate,
    .close = fake_close,
    .flush = fake_flush,
    .set_meta = fake_set_meta,
    .each_series = fake_each_series,
    .read_raw = fake_read_raw,
    .window_jrnl = fake_window_jrnl,
    .read_windows = fake_read_windows,
    .each_device = fake_each_device,
    .each_raised_alert = fake_each_raised_alert,
    .each_open_case = fake_each_open_case,
    .each_silence = fake_each_silence,
};

static void test_open_undoes_failed_migrate(void **state)
{
    memset(&calls, 0, sizeof(calls));
    fake_migrate_rc = -1;
    struct iocd_store *st = NULL;
    struct iocd_error err = {0};
    assert_int_equal(iocd_store_open(&st, &fake_backend, "x.db", &err), -1);
    assert_null(st);
    assert_string_equal(err.msg, "fake: schema too new");
    assert_int_equal(calls.opens, 1);
    assert_int_equal(calls.migrates, 1);
    assert_int_equal(calls.closes, 1);
    fake_migrate_rc = 0;
}

static int got_series(void *ud, uint32_t id, const char *name, const char *unit)
{
    snprintf(ud, 64, "%u %s %s", id, name, unit);
    return 0;
}

static int got_sample(void *ud, uint64_t jrnl, const struct iocd_sample *s, bool replay)
{
    snprintf(ud, 64, "%llu %u %lld %g %s", (unsigned long long)jrnl, s->series_id,
             (long long)s->t_ms, s->value, replay ? "replay" : "seed");
    return 0;
}

static void got_window(void *ud, const char *device, const char *metric, int64_t start_ms,
                       uint64_t count, double sum)
{
    snprintf(ud, 64, "%s %s %lld %llu %g", device, metric, (long long)start_ms,
             (unsigned long long)count, sum);
}

static void test_dispatch(void **state)
{
    memset(&calls, 0, sizeof(calls));
    struct iocd_store *st = NULL;
    struct iocd_error err = {0};
    assert_int_equal(iocd_store_open(&st, &fake_backend, "x.db", &err), 0);
    assert_ptr_equal(st->backend, &fake_backend);
    assert_int_equal(calls.migrates, 1);
    assert_int_equal(iocd_store_migrate(st, &err), 0);
    assert_int_equal(calls.migrates, 2);

    struct iocd_flush f = {0};
    iocd_store_flush(st, &f);
    assert_int_equal(calls.flushes, 1);
    assert_ptr_equal(calls.flushed, &f);

    assert_int_equal(iocd_store_set_meta(st, "k", "v", &err), 0);
    assert_string_equal(calls.meta_key, "k");
    assert_string_equal(calls.meta_value, "v");

    char out[64] = "";
    assert_int_equal(iocd_store_each_series(st, got_series, out, &err), 0);
    assert_string_equal(out, "7 air/pk-07/pm25 ug/m3");
    uint64_t next = 0;
    assert_int_equal(iocd_store_read_raw(st, 5, got_sample, out, &next, &err), 0);
    assert_string_equal(out, "8 7 1000 2.5 replay");
    assert_int_equal(next, 9);
    assert_int_equal(iocd_store_window_jrnl(st, 7, 60, 0), 42);
    assert_int_equal(calls.jrnl_series, 7);
    assert_int_equal(iocd_store_read_windows(st, "air", 3600, 123, got_window, out, &err), 0);
    assert_string_equal(out, "pk-07 pm25 3600000 3 7.5");
    assert_string_equal(calls.windows_source, "air");
    assert_int_equal(calls.windows_res, 3600);
    assert_int_equal(calls.windows_since, 123);
    assert_int_equal(iocd_store_each_device(st, NULL, NULL, &err), -1);
    assert_string_equal(err.msg, "fake: no devices table");
    assert_int_equal(iocd_store_each_raised_alert(st, 456, NULL, NULL, &err), 0);
    assert_int_equal(calls.alerts_since, 456);
    out[0] = '\0';
    assert_int_equal(iocd_store_each_open_case(st, 789, got_case, out, &err), 0);
    assert_int_equal(calls.cases_since, 789);
    assert_string_equal(out, "reports PK-1 790");
    out[0] = '\0';
    assert_int_equal(iocd_store_each_silence(st, 99, got_silence, out, &err), 0);
    assert_int_equal(calls.silences_now, 99);
    assert_string_equal(out, "{\"id\":\"s1\"}");

    iocd_store_close(st);
    assert_int_equal(calls.closes, 1);
    iocd_store_close(NULL);
    assert_int_equal(calls.closes, 1);
}

/* ---- the SQLite backend ---------------------------------------------------- */

#define T0 INT64_C(1795330800000) /* a whole hour */

static void remove_db(const char *path)
{
    char p[300];
    unlink(path);
    snprintf(p, sizeof(p), "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof(p), "%s-shm", path);
    unlink(p);
}

static struct iocd_flush *one_flush(void)
{
    struct iocd_flush *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->n_series = 1;
    f->series = calloc(1, sizeof(*f->series));
    f->series[0] = (struct iocd_series_new){
        /* As the registry hands them: the parts point into the name's
         * block, which iocd_series_new_free frees (here: literals). */
        .id = 1, .name = strdup("air/pk-01/pm25"), .source = (char *)"air",
        .device = (char *)"pk-01", .metric = (char *)"pm25", .unit = (char *)"ug/m3",
        .created_ms = T0,
    };
    f->n_windows = 1;
    f->windows = calloc(1, sizeof(*f->windows));
    iocd_window_init(&f->windows[0], 1, 60, T0, 10, T0 + 1000);
    iocd_window_add(&f->windows[0], 20.5, T0 + 2000);
    f->n_samples = 2;
    f->samples = calloc(2, sizeof(*f->samples));
    f->samples[0] = (struct iocd_sample){.series_id = 1, .t_ms = T0 + 1000, .value = 10};
    f->samples[1] = (struct iocd_sample){.series_id = 1, .t_ms = T0 + 2000, .value = 20.5};
    f->journal_id = 1;
    f->replay_from = 1; /* not yet in every resolution's windows: replayed at start */
    f->now_ms = T0 + 5000;
    return f;
}

static int collect_sample(void *ud, uint64_t jrnl, const struct iocd_sample *s, bool replay)
{
    char *out = ud;
    size_t n = strlen(out);
    snprintf(out + n, 256 - n, "%s%llu:%u:%lld:%g%s", n ? " " : "", (unsigned long long)jrnl,
             s->series_id, (long long)(s->t_ms - T0), s->value, replay ? "" : ":seed");
    return 0;
}

static void test_sqlite_round_trip(void **state)
{
    char path[64];
    snprintf(path, sizeof(path), "/tmp/iocd-test-store-%d.db", (int)getpid());
    remove_db(path);
    struct iocd_store *st = NULL;
    struct iocd_error err = {0};
    if (iocd_store_open(&st, &iocd_store_sqlite, path, &err) != 0)
        fail_msg("open: %s", err.msg);
    assert_ptr_equal(st->backend, &iocd_store_sqlite);
    assert_string_equal(st->backend->name, "sqlite");

    struct iocd_flush *f = one_flush();
    iocd_store_flush(st, f);
    assert_int_equal(f->rc, 0);
    assert_string_equal(f->error, "");
    iocd_flush_free(f);
    assert_int_equal(iocd_store_set_meta(st, "iocd_version", "t", &err), 0);

    for (int round = 0; round < 2; round++) {
        char out[256] = "";
        assert_int_equal(iocd_store_each_series(st, got_series, out, &err), 0);
        assert_string_equal(out, "1 air/pk-01/pm25 ug/m3");
        assert_int_equal(iocd_store_window_jrnl(st, 1, 60, T0), 1);
        assert_int_equal(iocd_store_window_jrnl(st, 1, 60, T0 + 60000), 0);
        out[0] = '\0';
        assert_int_equal(iocd_store_read_windows(st, "air", 60, T0, got_window, out, &err), 0);
        assert_string_equal(out, "pk-01 pm25 1795330800000 2 30.5");
        out[0] = '\0';
        assert_int_equal(iocd_store_read_windows(st, "water", 60, 0, got_window, out, &err), 0);
        assert_string_equal(out, "");
        out[0] = '\0';
        uint64_t next = 0;
        assert_int_equal(iocd_store_read_raw(st, 0, collect_sample, out, &next, &err), 0);
        assert_string_equal(out, "1:1:1000:10 1:1:2000:20.5");
        /* The entry is also the newest: seeding the horizon reads nothing more. */
        out[0] = '\0';
        assert_int_equal(iocd_store_read_raw(st, 1000, collect_sample, out, &next, &err), 0);
        assert_string_equal(out, "1:1:1000:10 1:1:2000:20.5");
        assert_int_equal(next, 2);
        /* Migrating a current store changes nothing; then reopen it. */
        assert_int_equal(iocd_store_migrate(st, &err), 0);
        iocd_store_close(st);
        st = NULL;
        if (round == 0 && iocd_store_open(&st, &iocd_store_sqlite, path, &err) != 0)
            fail_msg("reopen: %s", err.msg);
    }
    remove_db(path);
}

/* A VN_AQI-like series (one sample an hour) at 1m, 1h and 1d, Vietnam's
 * day: hours D..D+2 hold 50, 60, 70 (flush 1). Flush 2 holds the window of
 * hour D+3 (80) and corrects hour D+1 to 65. */
#define TZ (7 * INT64_C(3600000))
static const int64_t RES[3] = {60000, 3600000, 86400000};

static struct iocd_flush *aqi_flush(int64_t day, uint64_t jrnl, const double *v, int first_hour,
                                    int n)
{
    struct iocd_flush *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    struct iocd_agg *agg = iocd_agg_new(RES, 3);
    iocd_agg_set_timezone(agg, TZ);
    f->samples = calloc((size_t)n + 1, sizeof(*f->samples));
    for (int i = 0; i < n; i++) {
        int64_t t = day + (first_hour + i) * INT64_C(3600000);
        assert_int_equal(iocd_agg_add(agg, 1, v[i], t), 0);
        f->samples[f->n_samples++] = (struct iocd_sample){.series_id = 1, .t_ms = t, .value = v[i]};
    }
    f->windows = iocd_agg_take(agg, &f->n_windows);
    iocd_agg_free(agg);
    if (jrnl == 1) {
        f->n_series = 1;
        f->series = calloc(1, sizeof(*f->series));
        f->series[0] = (struct iocd_series_new){
            .id = 1, .name = strdup("air/A/vn_aqi"), .source = (char *)"air",
            .device = (char *)"A", .metric = (char *)"vn_aqi", .unit = (char *)"1",
            .created_ms = day,
        };
    }
    f->journal_id = jrnl;
    f->replay_from = jrnl + 1; /* every window written */
    f->now_ms = day + 5 * INT64_C(3600000);
    f->tz_offset_ms = TZ; /* the 1 d rows of the windows agg took */
    return f;
}

static void row(sqlite3 *db, int64_t res_s, int64_t start, const double *want, size_t n_want,
                char *out, size_t n)
{
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT count, sum, sumsq, min, max, first, first_ms, "
                                        "last, last_ms, jrnl, sketch FROM windows WHERE "
                                        "series_id = 1 AND res_s = ?1 AND start_ms = ?2",
                                        -1, &q, NULL),
                     SQLITE_OK);
    sqlite3_bind_int64(q, 1, res_s);
    sqlite3_bind_int64(q, 2, start);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    /* The sketch must be exactly that of the samples `want` (n_want). */
    struct iocd_sketch got, ref;
    iocd_sketch_init(&ref);
    for (size_t i = 0; i < n_want; i++)
        iocd_sketch_add(&ref, want[i]);
    assert_int_equal(iocd_sketch_decode(sqlite3_column_blob(q, 10),
                                        (size_t)sqlite3_column_bytes(q, 10), &got),
                     0);
    uint8_t *a = NULL, *b = NULL;
    size_t la = 0, lb = 0;
    assert_int_equal(iocd_sketch_encode(&got, &a, &la), 0);
    assert_int_equal(iocd_sketch_encode(&ref, &b, &lb), 0);
    assert_int_equal(la, lb);
    assert_memory_equal(a, b, la);
    free(a);
    free(b);
    iocd_sketch_free(&got);
    iocd_sketch_free(&ref);
    snprintf(out, n, "n=%lld sum=%g sumsq=%g min=%g max=%g first=%g@%lld last=%g@%lld jrnl=%lld",
             sqlite3_column_int64(q, 0), sqlite3_column_double(q, 1), sqlite3_column_double(q, 2),
             sqlite3_column_double(q, 3), sqlite3_column_double(q, 4), sqlite3_column_double(q, 5),
             sqlite3_column_int64(q, 6) % 86400000 / 3600000, sqlite3_column_double(q, 7),
             sqlite3_column_int64(q, 8) % 86400000 / 3600000, sqlite3_column_int64(q, 9));
    sqlite3_finalize(q);
}

static void test_sqlite_replace(void **state)
{
    char path[64];
    snprintf(path, sizeof(path), "/tmp/iocd-test-replace-%d.db", (int)getpid());
    remove_db(path);
    struct iocd_store *st = NULL;
    struct iocd_error err = {0};
    if (iocd_store_open(&st, &iocd_store_sqlite, path, &err) != 0)
        fail_msg("open: %s", err.msg);
    int64_t day = iocd_window_start(T0, RES[2], TZ); /* local midnight, 17:00Z */
    assert_int_equal(day % 86400000, 17 * 3600000);
    const double v1[3] = {50, 60, 70}, v2[1] = {80};
    struct iocd_flush *f = aqi_flush(day, 1, v1, 0, 3);
    iocd_store_flush(st, f);
    assert_int_equal(f->rc, 0);
    iocd_flush_free(f);
    /* Flush 2: hour 3's windows (the 1d one merges), then the correction,
     * journaled as a sample of entry 2 like the pipeline does. */
    f = aqi_flush(day, 2, v2, 3, 1);
    int64_t t = day + 3600000;
    f->samples[f->n_samples++] = (struct iocd_sample){.series_id = 1, .t_ms = t, .value = 65};
    f->n_replaces = 1;
    f->replaces = calloc(1, sizeof(*f->replaces));
    f->replaces[0] = (struct iocd_replace){.series_id = 1, .t_ms = t, .value = 65, .n_res = 3,
                                           .res_s = {60, 3600, 86400},
                                           .start_ms = {t, t, day}};
    iocd_store_flush(st, f);
    assert_int_equal(f->rc, 0);
    iocd_flush_free(f);

    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(iocd_sketch_sqlite_register(db), SQLITE_OK);
    char out[256];
    /* Times print as hours of the UTC day: the local day starts at 17. */
    const double one[1] = {65}, first[1] = {50}, all[4] = {50, 65, 70, 80};
    row(db, 60, t, one, 1, out, sizeof(out));
    assert_string_equal(out, "n=1 sum=65 sumsq=4225 min=65 max=65 first=65@18 last=65@18 jrnl=2");
    row(db, 3600, t, one, 1, out, sizeof(out));
    assert_string_equal(out, "n=1 sum=65 sumsq=4225 min=65 max=65 first=65@18 last=65@18 jrnl=2");
    row(db, 3600, day, first, 1, out, sizeof(out)); /* untouched */
    assert_string_equal(out, "n=1 sum=50 sumsq=2500 min=50 max=50 first=50@17 last=50@17 jrnl=1");
    /* The day: 50 + 65 + 70 + 80, not 50 + 60 + 70 + 80 + 65. */
    row(db, 86400, day, all, 4, out, sizeof(out));
    assert_string_equal(out, "n=4 sum=265 sumsq=18025 min=50 max=80 first=50@17 last=80@20 "
                             "jrnl=2");
    /* ... and exactly the merge of its 1h rows, sketch included. */
    sqlite3_stmt *q;
    assert_int_equal(
        sqlite3_prepare_v2(db,
                           "SELECT (SELECT count = (SELECT sum(count) FROM windows WHERE "
                           "series_id = 1 AND res_s = 3600 AND start_ms >= ?1 AND start_ms < ?1 "
                           "+ 86400000) AND sketch = (SELECT iocd_sketch_union(sketch) FROM "
                           "windows WHERE series_id = 1 AND res_s = 3600 AND start_ms >= ?1 AND "
                           "start_ms < ?1 + 86400000) FROM windows WHERE series_id = 1 AND "
                           "res_s = 86400 AND start_ms = ?1)",
                           -1, &q, NULL),
        SQLITE_OK);
    sqlite3_bind_int64(q, 1, day);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(q, 0), 1);
    sqlite3_finalize(q);
    sqlite3_close(db);
    /* A crash replay from entry 1 finds every window complete up to entry
     * 2: the correction is never added again (window_jrnl >= entry). */
    assert_int_equal(iocd_store_window_jrnl(st, 1, 60, t), 2);
    assert_int_equal(iocd_store_window_jrnl(st, 1, 3600, t), 2);
    assert_int_equal(iocd_store_window_jrnl(st, 1, 86400, day), 2);
    iocd_store_close(st);
    remove_db(path);
}

static void test_sqlite_open_refused(void **state)
{
    struct iocd_store *st = NULL;
    struct iocd_error err = {0};
    assert_int_equal(iocd_store_open(&st, &iocd_store_sqlite, "/nonexistent/dir/x.db", &err), -1);
    assert_null(st);
    assert_string_equal(err.msg,
                        "/nonexistent/dir/x.db: cannot open database: unable to open database file");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_undoes_failed_migrate),
        cmocka_unit_test(test_dispatch),
        cmocka_unit_test(test_sqlite_round_trip),
        cmocka_unit_test(test_sqlite_replace),
        cmocka_unit_test(test_sqlite_open_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
