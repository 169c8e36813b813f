/* tests/unit/test_aqi_feed.c — VN_AQI per station decided in event time
 * (daemon/aggregate/aqi_feed.c): the same 42 hours of two stations give the
 * same hourly and daily values fed live (hour by hour, each hour computed
 * once it is over), as one backlog (a replay after downtime), and as a
 * backlog that arrives after newer real-time data; an hour whose samples
 * are still arriving is not computed; a computed hour is computed once
 * unless late samples arrive for it, and then exactly the values that the
 * full data gives fed in order are emitted again, as corrections, for the
 * values that changed and for nothing else.
 * The clocks are the test's: wall (now_ms) and monotonic (arrival). */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "daemon/aggregate/aqi_feed.h"
#include "daemon/config/config.h"

#define H 3600000LL
#define T0 1795132800000LL /* 2026-11-20T00:00:00Z */
#define HOURS 42
#define DELAY (10 * 60000LL)

static const char CONF[] = "[store]\ntimezone = +07:00\n"
                           "[adapter air]\ntopic = a/+\nformat = json\ndevice = $.id\n"
                           "metric.pm25 = $.pm25\nmetric.pm10 = $.pm10\n"
                           "[aqi]\nadapter = air\n";

struct out {
    char lines[256][64];
    int n;
};

/* "STATION METRIC MINUTES VALUE", and " correction" when it is one. */
static void emit(void *ud, const char *station, const char *metric, int64_t t_ms, double v,
                 bool correction)
{
    struct out *o = ud;
    if (o->n < 256)
        snprintf(o->lines[o->n++], 64, "%s %s %lld %g%s", station, metric,
                 (long long)((t_ms - T0) / 60000), v, correction ? " correction" : "");
}

static int cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void sorted(struct out *o)
{
    qsort(o->lines, (size_t)o->n, sizeof(o->lines[0]), cmp);
}

/* Six samples an hour; station B has no data in hour 5. Station A's PM2.5
 * samples with k in [skip_from, skip_to) are left out. */
static void feed_hour_part(struct iocd_aqi_feed *f, int h, int64_t arrival, int skip_from,
                           int skip_to)
{
    for (int k = 0; k < 6; k++) {
        int64_t t = T0 + h * H + k * 600000LL;
        int i = h * 6 + k;
        if (k < skip_from || k >= skip_to)
            iocd_aqi_feed_sample(f, "A", "pm25", t, 10 + (i * 7) % 60, arrival);
        iocd_aqi_feed_sample(f, "A", "pm10", t, 20 + (i * 11) % 90, arrival);
        if (h != 5)
            iocd_aqi_feed_sample(f, "B", "pm25", t, 30 + (i * 13) % 80, arrival);
    }
}

static void feed_hour(struct iocd_aqi_feed *f, int h, int64_t arrival)
{
    feed_hour_part(f, h, arrival, 0, 0);
}

/* Station A's PM2.5 samples k in [from, to) of hour h alone (late). */
static void feed_late(struct iocd_aqi_feed *f, int h, int64_t arrival, int from, int to)
{
    for (int k = from; k < to; k++) {
        int i = h * 6 + k;
        iocd_aqi_feed_sample(f, "A", "pm25", T0 + h * H + k * 600000LL, 10 + (i * 7) % 60,
                             arrival);
    }
}

static struct iocd_aqi_feed *new_feed(struct iocd_config *cfg)
{
    struct iocd_error err;
    if (iocd_config_load_string(cfg, "t.conf", CONF, &err) != 0)
        fail_msg("%s", err.msg);
    struct iocd_aqi_feed *f = iocd_aqi_feed_new(cfg);
    assert_non_null(f);
    return f;
}

static void live(struct out *o)
{
    struct iocd_config cfg;
    struct iocd_aqi_feed *f = new_feed(&cfg);
    int64_t mono = 1000;
    for (int h = 0; h < HOURS; h++) {
        feed_hour(f, h, mono);
        /* The hour is over; its samples stopped arriving a while ago. */
        mono += IOCD_AQI_SETTLE_MS;
        iocd_aqi_feed_tick(f, T0 + (h + 1) * H + DELAY, mono, emit, o);
        mono += 1;
    }
    iocd_aqi_feed_free(f);
    iocd_config_free(&cfg);
    sorted(o);
}

static void test_backlog_equals_live(void **state)
{
    static struct out want, got;
    memset(&want, 0, sizeof(want));
    memset(&got, 0, sizeof(got));
    live(&want);
    /* Hour 0 has 1 of the 3 hours a NowCast needs: 41 hourly values per
     * station; the local day that ends 2026-11-21 17:00Z once each (the
     * one before it has 17 hours of the 18 a day needs: none). */
    int hourly = 0, daily = 0;
    for (int i = 0; i < want.n; i++) {
        hourly += strstr(want.lines[i], " vn_aqi ") != NULL;
        daily += strstr(want.lines[i], " vn_aqi_day ") != NULL;
    }
    assert_int_equal(hourly, 2 * 41);
    assert_int_equal(daily, 2);

    struct iocd_config cfg;
    struct iocd_aqi_feed *f = new_feed(&cfg);
    int64_t mono = 50000;
    for (int h = 0; h < HOURS; h++)
        feed_hour(f, h, mono);
    int64_t now = T0 + HOURS * H + DELAY;
    /* Everything is over by the wall clock, but the backlog is still
     * arriving: nothing yet. */
    iocd_aqi_feed_tick(f, now, mono + IOCD_AQI_SETTLE_MS - 1, emit, &got);
    assert_int_equal(got.n, 0);
    iocd_aqi_feed_tick(f, now, mono + IOCD_AQI_SETTLE_MS, emit, &got);
    sorted(&got);
    assert_int_equal(got.n, want.n);
    for (int i = 0; i < want.n; i++)
        assert_string_equal(got.lines[i], want.lines[i]);
    /* Computed once: more ticks emit nothing again. */
    iocd_aqi_feed_tick(f, now, mono + 40000, emit, &got);
    iocd_aqi_feed_tick(f, now, mono + 80000, emit, &got);
    assert_int_equal(got.n, want.n);
    iocd_aqi_feed_free(f);
    iocd_config_free(&cfg);
}

static void test_backlog_after_realtime_equals_live(void **state)
{
    static struct out want, got;
    memset(&want, 0, sizeof(want));
    memset(&got, 0, sizeof(got));
    live(&want);
    struct iocd_config cfg;
    struct iocd_aqi_feed *f = new_feed(&cfg);
    int64_t now = T0 + HOURS * H + DELAY;
    /* Real time first: both stations report in hour 42, which is not over. */
    iocd_aqi_feed_sample(f, "A", "pm25", T0 + HOURS * H + 60000, 15, 1000);
    iocd_aqi_feed_sample(f, "B", "pm25", T0 + HOURS * H + 60000, 15, 1000);
    iocd_aqi_feed_tick(f, now, 1000 + IOCD_AQI_SETTLE_MS, emit, &got);
    assert_int_equal(got.n, 0);
    /* Then the history, in order, spread over two ticks. */
    int64_t mono = 20000;
    for (int h = 0; h < HOURS; h++) {
        feed_hour(f, h, mono);
        if (h == 12) {
            iocd_aqi_feed_tick(f, now, mono + 1, emit, &got);
            assert_int_equal(got.n, 0); /* hour 12 is still arriving: wait */
        }
        mono += 10;
    }
    iocd_aqi_feed_tick(f, now, mono + IOCD_AQI_SETTLE_MS, emit, &got);
    sorted(&got);
    assert_int_equal(got.n, want.n);
    for (int i = 0; i < want.n; i++)
        assert_string_equal(got.lines[i], want.lines[i]);
    iocd_aqi_feed_free(f);
    iocd_config_free(&cfg);
}

/* "A vn_aqi 1200 57" of "A vn_aqi 1200 57 correction": the key is
 * everything before the last space-separated value. */
static size_t key_len(const char *line)
{
    const char *c = strstr(line, " correction");
    size_t n = c ? (size_t)(c - line) : strlen(line);
    while (n && line[n - 1] != ' ')
        n--;
    return n;
}

/* Put `line` into `o`, replacing the line with the same key. */
static void apply(struct out *o, const char *line)
{
    size_t k = key_len(line), vlen = strcspn(line + k, " ");
    for (int i = 0; i < o->n; i++)
        if (key_len(o->lines[i]) == k && strncmp(o->lines[i], line, k) == 0) {
            snprintf(o->lines[i], 64, "%.*s", (int)(k + vlen), line);
            return;
        }
    snprintf(o->lines[o->n++], 64, "%.*s", (int)(k + vlen), line);
}

static void test_late_sample_corrects(void **state)
{
    static struct out want, first, late;
    memset(&want, 0, sizeof(want));
    memset(&first, 0, sizeof(first));
    memset(&late, 0, sizeof(late));
    live(&want);
    /* Live, but the last three of station A's PM2.5 samples of hour 20
     * (2026-11-20T20:00Z) are held back: hour 20's mean is then that of
     * the first three. */
    struct iocd_config cfg;
    struct iocd_aqi_feed *f = new_feed(&cfg);
    int64_t mono = 1000;
    for (int h = 0; h < HOURS; h++) {
        feed_hour_part(f, h, mono, h == 20 ? 3 : 0, h == 20 ? 6 : 0);
        mono += IOCD_AQI_SETTLE_MS;
        iocd_aqi_feed_tick(f, T0 + (h + 1) * H + DELAY, mono, emit, &first);
        mono += 1;
    }
    int64_t now = T0 + HOURS * H + DELAY;
    assert_int_equal(first.n, want.n); /* the same hours and days got a value */
    /* Which values differ: only station A's, hours 20..31 (hour 20 and the
     * 11 whose NowCast holds it) and its local day 2026-11-21 (17:00Z..). */
    int differ = 0;
    static struct out fixed;
    memcpy(&fixed, &first, sizeof(first));
    sorted(&fixed);
    for (int i = 0; i < want.n; i++)
        differ += strcmp(fixed.lines[i], want.lines[i]) != 0;
    /* The late samples, then ticks: nothing while they may still be
     * arriving, then the corrections, once. */
    feed_late(f, 20, mono, 3, 6);
    iocd_aqi_feed_tick(f, now, mono + IOCD_AQI_SETTLE_MS - 1, emit, &late);
    assert_int_equal(late.n, 0);
    iocd_aqi_feed_tick(f, now, mono + IOCD_AQI_SETTLE_MS, emit, &late);
    iocd_aqi_feed_tick(f, now, mono + 2 * IOCD_AQI_SETTLE_MS, emit, &late);
    /* Exactly the values that differ are emitted again: 7 of the hours
     * 20..31 (25, 26, 28, 29 and 31 round to the same index) and the day;
     * nothing of station B, nothing before hour 20 or after 31. */
    assert_int_equal(differ, late.n);
    assert_int_equal(late.n, 8);
    for (int i = 0; i < late.n; i++) {
        const char *l = late.lines[i];
        long long min;
        char metric[16];
        assert_int_equal(sscanf(l, "A %15s %lld", metric, &min), 2);
        assert_non_null(strstr(l, " correction"));
        if (strcmp(metric, "vn_aqi_day") == 0)
            assert_int_equal(min, 17 * 60); /* local day 2026-11-21 starts 17:00Z */
        else
            assert_true(strcmp(metric, "vn_aqi") == 0 && min >= 20 * 60 && min <= 31 * 60);
        apply(&first, l);
    }
    /* Hour 20 was 60 on half its PM2.5 samples, the day 77. */
    assert_string_equal(late.lines[0], "A vn_aqi 1200 71 correction");
    assert_string_equal(late.lines[7], "A vn_aqi_day 1020 78 correction");
    /* First values plus corrections are exactly the full data in order. */
    sorted(&first);
    assert_int_equal(first.n, want.n);
    for (int i = 0; i < want.n; i++)
        assert_string_equal(first.lines[i], want.lines[i]);
    iocd_aqi_feed_free(f);
    iocd_config_free(&cfg);
}

/* After a restart the feed knows each computed hour's stored value: a
 * late sample that leaves the hour's index as it was emits nothing; one
 * that changes it emits exactly the value the same data gives fed in
 * order, as a correction. */
static void test_restored_value_compared(void **state)
{
    static struct out got, fresh;
    memset(&got, 0, sizeof(got));
    memset(&fresh, 0, sizeof(fresh));
    struct iocd_config cfg;
    struct iocd_aqi_feed *f = new_feed(&cfg);
    /* Hours 0..12 stored with 2 samples of 20 each; hours 1..12 computed
     * (NowCast 20: AQI 40), as iocd_aqi_feed_restore gets them at start. */
    for (int h = 0; h <= 12; h++) {
        iocd_aqi_feed_restore(f, "A", "pm25", T0 + h * H, 2, 40, 1000);
        if (h)
            iocd_aqi_feed_restore(f, "A", "vn_aqi", T0 + h * H, 1, 40, 1000);
    }
    int64_t now = T0 + 13 * H + DELAY;
    iocd_aqi_feed_tick(f, now, 1000 + IOCD_AQI_SETTLE_MS, emit, &got);
    assert_int_equal(got.n, 0); /* all computed already */
    /* 20 more in hour 12: the mean stays 20, the index 40: nothing. */
    iocd_aqi_feed_sample(f, "A", "pm25", T0 + 12 * H + 1000, 20, 10000);
    iocd_aqi_feed_tick(f, now, 10000 + IOCD_AQI_SETTLE_MS, emit, &got);
    assert_int_equal(got.n, 0);
    /* 86: the mean of hour 12 is (60 + 86) / 4 = 36.5. */
    iocd_aqi_feed_sample(f, "A", "pm25", T0 + 12 * H + 2000, 86, 20000);
    iocd_aqi_feed_tick(f, now, 20000 + IOCD_AQI_SETTLE_MS, emit, &got);
    assert_int_equal(got.n, 1);
    iocd_aqi_feed_free(f);
    iocd_config_free(&cfg);
    /* The same samples fed in order to a new feed. */
    f = new_feed(&cfg);
    for (int h = 0; h <= 12; h++) {
        iocd_aqi_feed_sample(f, "A", "pm25", T0 + h * H, 20, 1000);
        iocd_aqi_feed_sample(f, "A", "pm25", T0 + h * H + 600000, 20, 1000);
    }
    iocd_aqi_feed_sample(f, "A", "pm25", T0 + 12 * H + 1000, 20, 1000);
    iocd_aqi_feed_sample(f, "A", "pm25", T0 + 12 * H + 2000, 86, 1000);
    iocd_aqi_feed_tick(f, now, 1000 + IOCD_AQI_SETTLE_MS, emit, &fresh);
    assert_int_equal(fresh.n, 12);
    char want[80];
    snprintf(want, sizeof(want), "%s correction", fresh.lines[11]);
    assert_string_equal(got.lines[0], want);
    /* Hour 12: NowCast of 36.5 then 11 x 20, w = 20 / 36.5: 27.465 → 54.93 → 55. */
    assert_string_equal(fresh.lines[11], "A vn_aqi 720 55");
    iocd_aqi_feed_free(f);
    iocd_config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backlog_equals_live),
        cmocka_unit_test(test_backlog_after_realtime_equals_live),
        cmocka_unit_test(test_late_sample_corrects),
        cmocka_unit_test(test_restored_value_compared),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
