/* tests/unit/test_timeparse.c — ISO-8601 parsing, epoch numbers, window
 * alignment and floor division (daemon/timeparse.c, iocd_time_align and
 * iocd_time_floor_div in timeutil.h). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/base/timeutil.h"

/* 2026-11-22T10:04:05Z */
#define T0 INT64_C(1795341845000)
/* 2026-11-22T00:00:00Z */
#define DAY0 INT64_C(1795305600000)
#define SENTINEL INT64_C(-777)

static int64_t parse_ok(const char *s, int dflt)
{
    int64_t ms = SENTINEL;
    int rc = iocd_time_parse_iso8601(s, strlen(s), dflt, &ms);
    if (rc != 0)
        fail_msg("'%s' did not parse", s);
    return ms;
}

static void assert_parse_fails(const char *s, int dflt)
{
    int64_t ms = SENTINEL;
    if (iocd_time_parse_iso8601(s, strlen(s), dflt, &ms) != -1)
        fail_msg("'%s' parsed to %lld, expected an error", s, (long long)ms);
    assert_int_equal(ms, SENTINEL); /* untouched on error */
}

static void test_offsets(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("2026-11-22T10:04:05Z", 0), T0);
    assert_int_equal(parse_ok("2026-11-22T10:04:05z", 25200), T0);
    assert_int_equal(parse_ok("2026-11-22T17:04:05+07:00", 0), T0);
    assert_int_equal(parse_ok("2026-11-22T04:34:05-05:30", 0), T0);
    assert_int_equal(parse_ok("2026-11-22T17:04:05+0700", 0), T0);
    assert_int_equal(parse_ok("2026-11-22T17:04:05+07", 0), T0);
    assert_int_equal(parse_ok("2026-11-22T10:04:05+00:00", 25200), T0);
    assert_int_equal(parse_ok("2026-11-22T10:04:05-00:00", 25200), T0);
    /* an explicit offset wins over the default */
    assert_int_equal(parse_ok("2026-11-22T17:04:05+07:00", -18000), T0);
    /* the offset moves the date across midnight */
    assert_int_equal(parse_ok("2026-11-23T00:04:05+14:00", 0), T0);
}

static void test_default_offset(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("2026-11-22T10:04:05", 0), T0);
    assert_int_equal(parse_ok("2026-11-22T17:04:05", 25200), T0);
    assert_int_equal(parse_ok("2026-11-22T04:34:05", -19800), T0);
}

static void test_fractions(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("2026-11-22T10:04:05.1Z", 0), T0 + 100);
    assert_int_equal(parse_ok("2026-11-22T10:04:05.12Z", 0), T0 + 120);
    assert_int_equal(parse_ok("2026-11-22T10:04:05.123Z", 0), T0 + 123);
    assert_int_equal(parse_ok("2026-11-22T10:04:05.123456789Z", 0), T0 + 123);
    assert_int_equal(parse_ok("2026-11-22T10:04:05.999999999Z", 0), T0 + 999); /* truncated */
    assert_int_equal(parse_ok("2026-11-22T17:04:05.5+07:00", 0), T0 + 500);
    assert_int_equal(parse_ok("2026-11-22T10:04:05,25Z", 0), T0 + 250);
    assert_int_equal(parse_ok("2026-11-22T10:04:05.000Z", 0), T0);
    assert_parse_fails("2026-11-22T10:04:05.Z", 0);
    assert_parse_fails("2026-11-22T10:04:05.", 0);
    assert_parse_fails("2026-11-22T10:04.5Z", 0); /* fraction only after seconds */
}

static void test_forms(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("2026-11-22 10:04:05Z", 0), T0);
    assert_int_equal(parse_ok("2026-11-22t10:04:05Z", 0), T0);
    assert_int_equal(parse_ok("2026-11-22T10:04Z", 0), T0 - 5000); /* no seconds */
    assert_int_equal(parse_ok("20261122T100405Z", 0), T0);
    assert_int_equal(parse_ok("20261122T170405", 25200), T0);
    assert_int_equal(parse_ok("20261122T170405+0700", 0), T0);
    assert_int_equal(parse_ok("20261122T100405.25Z", 0), T0 + 250);
    assert_int_equal(parse_ok("2026-11-22", 0), DAY0);
    assert_int_equal(parse_ok("2026-11-22", 25200), DAY0 - 25200000);
    assert_int_equal(parse_ok("1970-01-01T00:00:00Z", 0), 0);
    assert_int_equal(parse_ok("1970-01-01", 0), 0);
    assert_int_equal(parse_ok("9999-12-31T23:59:59.999Z", 0), IOCD_TIME_MAX_MS);
    assert_int_equal(parse_ok("2000-03-01T00:00:00Z", 0), INT64_C(951868800000));
    /* len bounds the text: the rest is never looked at */
    int64_t ms = 0;
    const char *s = "2026-11-22T10:04:05Zjunk";
    assert_int_equal(iocd_time_parse_iso8601(s, 20, 0, &ms), 0);
    assert_int_equal(ms, T0);
    assert_int_equal(iocd_time_parse_iso8601(s, 19, 25200, &ms), 0);
    assert_int_equal(ms, T0 - 25200000);
}

static void test_calendar(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("2024-02-29T00:00:00Z", 0), INT64_C(1709164800000));
    assert_int_equal(parse_ok("2000-02-29", 0), INT64_C(951782400000));
    assert_int_equal(parse_ok("2024-12-31T23:59:59Z", 0), INT64_C(1735689599000));
    assert_parse_fails("2023-02-29T00:00:00Z", 0);
    assert_parse_fails("2024-02-30", 0);
    assert_parse_fails("2100-02-29", 0); /* not a leap year */
    assert_parse_fails("2026-04-31", 0);
    assert_parse_fails("2026-13-01T00:00:00Z", 0);
    assert_parse_fails("2026-00-10", 0);
    assert_parse_fails("2026-01-00", 0);
    assert_parse_fails("2026-11-22T24:00:00Z", 0);
    assert_parse_fails("2026-11-22T10:60:00Z", 0);
    assert_parse_fails("2026-11-22T10:04:60Z", 0);
    assert_parse_fails("2026-11-22T10:04:05+24:00", 0);
    assert_parse_fails("2026-11-22T10:04:05+07:60", 0);
    assert_parse_fails("1969-12-31T23:59:59Z", 0);
    assert_parse_fails("1970-01-01T00:00:00+07:00", 0); /* before the epoch in UTC */
    assert_parse_fails("1970-01-01", 3600);
    assert_parse_fails("9999-12-31T23:59:59.999-01:00", 0); /* after 9999 in UTC */
    assert_parse_fails("10000-01-01", 0);
}

static void test_garbage(void **state)
{
    (void)state;
    assert_parse_fails("", 0);
    assert_parse_fails("garbage", 0);
    assert_parse_fails("2026", 0);
    assert_parse_fails("2026-11", 0);
    assert_parse_fails("20261122", 0); /* basic date alone is not accepted */
    assert_parse_fails("2026-1122", 0);
    assert_parse_fails("202611-22", 0);
    assert_parse_fails("20261122 100405Z", 0);
    assert_parse_fails("20261122T1004Z", 0);
    assert_parse_fails("2026-11-22T10Z", 0);
    assert_parse_fails("2026-11-22T1004:05Z", 0);
    assert_parse_fails("2026-11-22T10:04:05Zjunk", 0);
    assert_parse_fails("2026-11-22T10:04:05Z ", 0);
    assert_parse_fails(" 2026-11-22T10:04:05Z", 0);
    assert_parse_fails("2026-11-22T10:04:05+07:00x", 0);
    assert_parse_fails("2026-11-22T10:04:05+7:00", 0);
    assert_parse_fails("2026-11-22T10:04:05+07:0", 0);
    assert_parse_fails("2026-11-22T10:04:05+070", 0);
    assert_parse_fails("2026-11-22T10:04:05+", 0);
    assert_parse_fails("2026-11-22T", 0);
    assert_parse_fails("2026-11-22X10:04:05", 0);
    assert_parse_fails("1763780000", 0);
    assert_parse_fails("+2026-11-22", 0);
    assert_parse_fails("2026-1a-22", 0);
    int64_t ms = SENTINEL;
    assert_int_equal(iocd_time_parse_iso8601("2026-11-22\0", 11, 0, &ms), -1);
    assert_int_equal(iocd_time_parse_iso8601(NULL, 0, 0, &ms), -1);
    assert_int_equal(ms, SENTINEL);
}

static int64_t epoch_ok(double v, enum iocd_time_unit u)
{
    int64_t ms = SENTINEL;
    if (iocd_time_from_epoch(v, u, &ms) != 0)
        fail_msg("%.17g (unit %d) was rejected", v, (int)u);
    return ms;
}

static void assert_epoch_fails(double v, enum iocd_time_unit u)
{
    int64_t ms = SENTINEL;
    if (iocd_time_from_epoch(v, u, &ms) != -1)
        fail_msg("%.17g (unit %d) gave %lld, expected an error", v, (int)u, (long long)ms);
    assert_int_equal(ms, SENTINEL);
}

static void test_epoch_auto(void **state)
{
    (void)state;
    assert_int_equal(epoch_ok(1763780000, IOCD_TIME_AUTO), INT64_C(1763780000000));
    assert_int_equal(epoch_ok(1763780000.123, IOCD_TIME_AUTO), INT64_C(1763780000123));
    assert_int_equal(epoch_ok(1763780000.5, IOCD_TIME_AUTO), INT64_C(1763780000500));
    assert_int_equal(epoch_ok(1763780000.0009, IOCD_TIME_AUTO), INT64_C(1763780000000));
    assert_int_equal(epoch_ok(1763780000123.0, IOCD_TIME_AUTO), INT64_C(1763780000123));
    assert_int_equal(epoch_ok(1763780000123.9, IOCD_TIME_AUTO), INT64_C(1763780000123));
    assert_int_equal(epoch_ok(1763780000123456.0, IOCD_TIME_AUTO), INT64_C(1763780000123));
    assert_int_equal(epoch_ok(1763780000123999.0, IOCD_TIME_AUTO), INT64_C(1763780000123));
    assert_int_equal(epoch_ok(0, IOCD_TIME_AUTO), 0);
    assert_int_equal(epoch_ok(-0.0, IOCD_TIME_AUTO), 0);
    /* the magnitude boundaries */
    assert_int_equal(epoch_ok(99999999999.0, IOCD_TIME_AUTO), INT64_C(99999999999000));
    assert_int_equal(epoch_ok(1e11, IOCD_TIME_AUTO), INT64_C(100000000000));
    assert_int_equal(epoch_ok(99999999999999.0, IOCD_TIME_AUTO), INT64_C(99999999999999));
    assert_int_equal(epoch_ok(1e14, IOCD_TIME_AUTO), INT64_C(100000000000));
}

static void test_epoch_units(void **state)
{
    (void)state;
    assert_int_equal(epoch_ok(1763780000, IOCD_TIME_S), INT64_C(1763780000000));
    assert_int_equal(epoch_ok(1.0005, IOCD_TIME_S), 1000);
    assert_int_equal(epoch_ok(0.001, IOCD_TIME_S), 1);
    /* 1.001 * 1000 is 1000.9999999999999 in doubles: still 1001 ms */
    assert_int_equal(epoch_ok(1.001, IOCD_TIME_S), 1001);
    assert_int_equal(epoch_ok(1.009, IOCD_TIME_AUTO), 1009);
    assert_int_equal(epoch_ok(0.0009, IOCD_TIME_S), 0);
    assert_int_equal(epoch_ok(253402300799.0, IOCD_TIME_S), INT64_C(253402300799000));
    assert_int_equal(epoch_ok(5, IOCD_TIME_MS), 5); /* explicit unit: no magnitude guess */
    assert_int_equal(epoch_ok(1.9, IOCD_TIME_MS), 1);
    assert_int_equal(epoch_ok(1999, IOCD_TIME_US), 1);
    assert_int_equal(epoch_ok(1763780000123456.0, IOCD_TIME_US), INT64_C(1763780000123));
    assert_int_equal(epoch_ok(253402300799.999, IOCD_TIME_S), IOCD_TIME_MAX_MS);
    assert_int_equal(epoch_ok(253402300799999.0, IOCD_TIME_MS), IOCD_TIME_MAX_MS);
    assert_int_equal(epoch_ok(1e17, IOCD_TIME_US), INT64_C(100000000000000));
    assert_epoch_fails(2.6e17, IOCD_TIME_US);
    assert_epoch_fails(253402300800.0, IOCD_TIME_S);
    assert_epoch_fails(253402300800000.0, IOCD_TIME_MS);
    assert_epoch_fails(1e300, IOCD_TIME_S);
    assert_epoch_fails(1e300, IOCD_TIME_AUTO);
    assert_epoch_fails(1763780000, IOCD_TIME_ISO8601);
}

static void test_epoch_rejects(void **state)
{
    (void)state;
    assert_epoch_fails(-1, IOCD_TIME_AUTO);
    assert_epoch_fails(-0.5, IOCD_TIME_S);
    assert_epoch_fails(-1763780000123.0, IOCD_TIME_MS);
    assert_epoch_fails(NAN, IOCD_TIME_AUTO);
    assert_epoch_fails(NAN, IOCD_TIME_MS);
    assert_epoch_fails(INFINITY, IOCD_TIME_AUTO);
    assert_epoch_fails(-INFINITY, IOCD_TIME_AUTO);
    assert_epoch_fails(INFINITY, IOCD_TIME_US);
}

static void test_align(void **state)
{
    (void)state;
    assert_int_equal(iocd_time_align(0, 60000), 0);
    assert_int_equal(iocd_time_align(59999, 60000), 0);
    assert_int_equal(iocd_time_align(60000, 60000), 60000);
    assert_int_equal(iocd_time_align(T0 + 123, 60000), T0 - 5000);
    assert_int_equal(iocd_time_align(-1, 1000), -1000);
    assert_int_equal(iocd_time_align(-999, 1000), -1000);
    assert_int_equal(iocd_time_align(-1000, 1000), -1000);
    assert_int_equal(iocd_time_align(-1001, 1000), -2000);
    assert_int_equal(iocd_time_align(-86400001, 86400000), -172800000);
}

static void test_floor_div(void **state)
{
    (void)state;
    assert_int_equal(iocd_time_floor_div(0, 1000), 0);
    assert_int_equal(iocd_time_floor_div(999, 1000), 0);
    assert_int_equal(iocd_time_floor_div(1000, 1000), 1);
    assert_int_equal(iocd_time_floor_div(-1, 1000), -1);
    assert_int_equal(iocd_time_floor_div(-1000, 1000), -1);
    assert_int_equal(iocd_time_floor_div(-1001, 1000), -2);
    /* a negative divisor: still toward minus infinity */
    assert_int_equal(iocd_time_floor_div(7, -2), -4);
    assert_int_equal(iocd_time_floor_div(-7, -2), 3);
    assert_int_equal(iocd_time_floor_div(6, -2), -3);
    /* ns and us epochs to ms (influx) */
    assert_int_equal(iocd_time_floor_div(INT64_C(1795341845123456789), 1000000),
                     INT64_C(1795341845123));
    assert_int_equal(iocd_time_floor_div(INT64_C(-1500000), 1000000), -2);
    assert_int_equal(iocd_time_floor_div(INT64_MIN, 1000), INT64_MIN / 1000 - 1);
    assert_int_equal(iocd_time_floor_div(INT64_MAX, 1000), INT64_MAX / 1000);
    /* the same as align, in windows */
    assert_int_equal(iocd_time_floor_div(T0 + 123, 60000) * 60000, T0 - 5000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_offsets),       cmocka_unit_test(test_default_offset),
        cmocka_unit_test(test_fractions),     cmocka_unit_test(test_forms),
        cmocka_unit_test(test_calendar),      cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_epoch_auto),    cmocka_unit_test(test_epoch_units),
        cmocka_unit_test(test_epoch_rejects), cmocka_unit_test(test_align),
        cmocka_unit_test(test_floor_div),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
