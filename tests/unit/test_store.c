/* tests/unit/test_store.c — the store interface (daemon/store/store.h):
 * iocd_store_open undoes a failed migration, every iocd_store_* call
 * reaches the backend's own function with its arguments (a fake backend,
 * as a second backend would plug in), and the SQLite backend round trip:
 * a flush read back through read_windows, read_raw, window_jrnl and
 * each_series, then reopened (migration a no-op). Exact values throughout.
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
    int64_t windows_since, alerts_since;
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
    return cb(ud, 7, "air/pk-07/pm25");
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

static int got_series(void *ud, uint32_t id, const char *name)
{
    snprintf(ud, 64, "%u %s", id, name);
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
    assert_string_equal(out, "7 air/pk-07/pm25");
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
        assert_string_equal(out, "1 air/pk-01/pm25");
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
        cmocka_unit_test(test_sqlite_open_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
