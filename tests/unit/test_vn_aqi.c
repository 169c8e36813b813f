/* tests/unit/test_vn_aqi.c — the VN_AQI module (daemon/vn_aqi.[ch]) against
 * values worked out by hand from Decision 1459/QĐ-TCMT: sub-indices at and
 * around every breakpoint, interpolation, the top band, NowCast, the
 * hourly and daily index with their data rules, O3 1-h vs 8-h, the local
 * day at UTC+7, categories, rounding, and the decision's own examples.
 * Every expected number is derived in the comments; values that are not
 * exact in binary are asserted to 1e-9. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>

#include "daemon/aggregate/vn_aqi.h"

#define H IOCD_AQI_HOUR_MS
#define EPS 1e-9
/* 2024-03-09T17:00:00Z, which is 2024-03-10T00:00 in Vietnam (UTC+7). */
static const int64_t T0 = 1710003600000LL;
/* 2024-03-10T00:00 on the local time scale (19792 days * 86400000 ms). */
static const int64_t LOCAL_DAY = 1710028800000LL;
static const int64_t VN = 7 * H;

static void assert_close(double got, double want)
{
    if (fabs(got - want) > EPS)
        fail_msg("got %.15g, want %.15g", got, want);
}

/* ---- sub-indices ---- */

struct edge {
    int p, form;
    double c;
    double want; /* -1: no value (IOCD_AQI_ENONE) */
};

/* For each table: at BP_i the index is exactly I_i; 1 µg/m³ below BP_i it is
 * I_i minus the slope of the band below, 1 µg/m³ above it I_i plus the
 * slope of the band above; slope = (I_i+1 - I_i) / (BP_i+1 - BP_i). At and
 * above the top breakpoint the index is 500 (the "≥" row of Table 2). */
static const struct edge edges[] = {
    /* PM2.5 (BP 0 25 50 80 150 250 350 500): slopes 50/25=2, 50/25=2,
     * 50/30, 50/70, 100/100=1, 100/100=1, 100/150. */
    {IOCD_AQI_PM25, 24, 0, 0},
    {IOCD_AQI_PM25, 24, 1, 2},
    {IOCD_AQI_PM25, 24, 24, 48},
    {IOCD_AQI_PM25, 24, 25, 50},
    {IOCD_AQI_PM25, 24, 26, 52},
    {IOCD_AQI_PM25, 24, 49, 98},
    {IOCD_AQI_PM25, 24, 50, 100},
    {IOCD_AQI_PM25, 24, 51, 100 + 50.0 / 30},
    {IOCD_AQI_PM25, 24, 79, 150 - 50.0 / 30},
    {IOCD_AQI_PM25, 24, 80, 150},
    {IOCD_AQI_PM25, 24, 81, 150 + 50.0 / 70},
    {IOCD_AQI_PM25, 24, 149, 200 - 50.0 / 70},
    {IOCD_AQI_PM25, 24, 150, 200},
    {IOCD_AQI_PM25, 24, 151, 201},
    {IOCD_AQI_PM25, 24, 249, 299},
    {IOCD_AQI_PM25, 24, 250, 300},
    {IOCD_AQI_PM25, 24, 251, 301},
    {IOCD_AQI_PM25, 24, 349, 399},
    {IOCD_AQI_PM25, 24, 350, 400},
    {IOCD_AQI_PM25, 24, 351, 400 + 100.0 / 150},
    {IOCD_AQI_PM25, 24, 499, 500 - 100.0 / 150},
    {IOCD_AQI_PM25, 24, 500, 500},
    {IOCD_AQI_PM25, 24, 501, 500},
    {IOCD_AQI_PM25, 24, 5000, 500},
    {IOCD_AQI_PM25, 24, -1, -1},
    /* PM10 (BP 0 50 150 250 350 420 500 600): slopes 1, .5, .5, .5,
     * 100/70, 100/80=1.25, 100/100=1. */
    {IOCD_AQI_PM10, 24, 0, 0},
    {IOCD_AQI_PM10, 24, 1, 1},
    {IOCD_AQI_PM10, 24, 49, 49},
    {IOCD_AQI_PM10, 24, 50, 50},
    {IOCD_AQI_PM10, 24, 51, 50.5},
    {IOCD_AQI_PM10, 24, 149, 99.5},
    {IOCD_AQI_PM10, 24, 150, 100},
    {IOCD_AQI_PM10, 24, 151, 100.5},
    {IOCD_AQI_PM10, 24, 249, 149.5},
    {IOCD_AQI_PM10, 24, 250, 150},
    {IOCD_AQI_PM10, 24, 251, 150.5},
    {IOCD_AQI_PM10, 24, 349, 199.5},
    {IOCD_AQI_PM10, 24, 350, 200},
    {IOCD_AQI_PM10, 24, 351, 200 + 100.0 / 70},
    {IOCD_AQI_PM10, 24, 419, 300 - 100.0 / 70},
    {IOCD_AQI_PM10, 24, 420, 300},
    {IOCD_AQI_PM10, 24, 421, 301.25},
    {IOCD_AQI_PM10, 24, 499, 398.75},
    {IOCD_AQI_PM10, 24, 500, 400},
    {IOCD_AQI_PM10, 24, 501, 401},
    {IOCD_AQI_PM10, 24, 599, 499},
    {IOCD_AQI_PM10, 24, 600, 500},
    {IOCD_AQI_PM10, 24, 601, 500},
    {IOCD_AQI_PM10, 24, -1, -1},
    /* O3 1-h (BP 0 160 200 300 400 800 1000 1200): slopes 50/160=.3125,
     * 50/40=1.25, .5, .5, 100/400=.25, .5, .5. */
    {IOCD_AQI_O3, 1, 0, 0},
    {IOCD_AQI_O3, 1, 1, 0.3125},
    {IOCD_AQI_O3, 1, 159, 49.6875},
    {IOCD_AQI_O3, 1, 160, 50},
    {IOCD_AQI_O3, 1, 161, 51.25},
    {IOCD_AQI_O3, 1, 199, 98.75},
    {IOCD_AQI_O3, 1, 200, 100},
    {IOCD_AQI_O3, 1, 201, 100.5},
    {IOCD_AQI_O3, 1, 299, 149.5},
    {IOCD_AQI_O3, 1, 300, 150},
    {IOCD_AQI_O3, 1, 301, 150.5},
    {IOCD_AQI_O3, 1, 399, 199.5},
    {IOCD_AQI_O3, 1, 400, 200},
    {IOCD_AQI_O3, 1, 401, 200.25},
    {IOCD_AQI_O3, 1, 799, 299.75},
    {IOCD_AQI_O3, 1, 800, 300},
    {IOCD_AQI_O3, 1, 801, 300.5},
    {IOCD_AQI_O3, 1, 999, 399.5},
    {IOCD_AQI_O3, 1, 1000, 400},
    {IOCD_AQI_O3, 1, 1001, 400.5},
    {IOCD_AQI_O3, 1, 1199, 499.5},
    {IOCD_AQI_O3, 1, 1200, 500},
    {IOCD_AQI_O3, 1, 1201, 500},
    {IOCD_AQI_O3, 1, -1, -1},
    /* O3 8-h (BP 0 100 120 170 210 400, I up to 300): slopes .5,
     * 50/20=2.5, 50/50=1, 50/40=1.25, 100/190. Not defined above 400. */
    {IOCD_AQI_O3, 8, 0, 0},
    {IOCD_AQI_O3, 8, 1, 0.5},
    {IOCD_AQI_O3, 8, 99, 49.5},
    {IOCD_AQI_O3, 8, 100, 50},
    {IOCD_AQI_O3, 8, 101, 52.5},
    {IOCD_AQI_O3, 8, 119, 97.5},
    {IOCD_AQI_O3, 8, 120, 100},
    {IOCD_AQI_O3, 8, 121, 101},
    {IOCD_AQI_O3, 8, 169, 149},
    {IOCD_AQI_O3, 8, 170, 150},
    {IOCD_AQI_O3, 8, 171, 151.25},
    {IOCD_AQI_O3, 8, 209, 198.75},
    {IOCD_AQI_O3, 8, 210, 200},
    {IOCD_AQI_O3, 8, 211, 200 + 100.0 / 190},
    {IOCD_AQI_O3, 8, 399, 300 - 100.0 / 190},
    {IOCD_AQI_O3, 8, 400, 300},
    {IOCD_AQI_O3, 8, 400.001, -1},
    {IOCD_AQI_O3, 8, 401, -1},
    {IOCD_AQI_O3, 8, -1, -1},
    /* CO (BP 0 10000 30000 45000 60000 90000 120000 150000): slopes
     * 50/10000=.005, 50/20000=.0025, then 1/300 in every higher band
     * (50/15000, 50/15000, 100/30000 three times). */
    {IOCD_AQI_CO, 1, 0, 0},
    {IOCD_AQI_CO, 1, 1, 0.005},
    {IOCD_AQI_CO, 1, 9999, 49.995},
    {IOCD_AQI_CO, 1, 10000, 50},
    {IOCD_AQI_CO, 1, 10001, 50.0025},
    {IOCD_AQI_CO, 1, 29999, 99.9975},
    {IOCD_AQI_CO, 1, 30000, 100},
    {IOCD_AQI_CO, 1, 30001, 100 + 1.0 / 300},
    {IOCD_AQI_CO, 1, 44999, 150 - 1.0 / 300},
    {IOCD_AQI_CO, 1, 45000, 150},
    {IOCD_AQI_CO, 1, 45001, 150 + 1.0 / 300},
    {IOCD_AQI_CO, 1, 59999, 200 - 1.0 / 300},
    {IOCD_AQI_CO, 1, 60000, 200},
    {IOCD_AQI_CO, 1, 60001, 200 + 1.0 / 300},
    {IOCD_AQI_CO, 1, 89999, 300 - 1.0 / 300},
    {IOCD_AQI_CO, 1, 90000, 300},
    {IOCD_AQI_CO, 1, 90001, 300 + 1.0 / 300},
    {IOCD_AQI_CO, 1, 119999, 400 - 1.0 / 300},
    {IOCD_AQI_CO, 1, 120000, 400},
    {IOCD_AQI_CO, 1, 120001, 400 + 1.0 / 300},
    {IOCD_AQI_CO, 1, 149999, 500 - 1.0 / 300},
    {IOCD_AQI_CO, 1, 150000, 500},
    {IOCD_AQI_CO, 1, 150001, 500},
    {IOCD_AQI_CO, 1, -1, -1},
    /* SO2 (BP 0 125 350 550 800 1600 2100 2630): slopes 50/125=.4,
     * 50/225, 50/200=.25, 50/250=.2, 100/800=.125, 100/500=.2, 100/530. */
    {IOCD_AQI_SO2, 1, 0, 0},
    {IOCD_AQI_SO2, 1, 1, 0.4},
    {IOCD_AQI_SO2, 1, 124, 49.6},
    {IOCD_AQI_SO2, 1, 125, 50},
    {IOCD_AQI_SO2, 1, 126, 50 + 50.0 / 225},
    {IOCD_AQI_SO2, 1, 349, 100 - 50.0 / 225},
    {IOCD_AQI_SO2, 1, 350, 100},
    {IOCD_AQI_SO2, 1, 351, 100.25},
    {IOCD_AQI_SO2, 1, 549, 149.75},
    {IOCD_AQI_SO2, 1, 550, 150},
    {IOCD_AQI_SO2, 1, 551, 150.2},
    {IOCD_AQI_SO2, 1, 799, 199.8},
    {IOCD_AQI_SO2, 1, 800, 200},
    {IOCD_AQI_SO2, 1, 801, 200.125},
    {IOCD_AQI_SO2, 1, 1599, 299.875},
    {IOCD_AQI_SO2, 1, 1600, 300},
    {IOCD_AQI_SO2, 1, 1601, 300.2},
    {IOCD_AQI_SO2, 1, 2099, 399.8},
    {IOCD_AQI_SO2, 1, 2100, 400},
    {IOCD_AQI_SO2, 1, 2101, 400 + 100.0 / 530},
    {IOCD_AQI_SO2, 1, 2629, 500 - 100.0 / 530},
    {IOCD_AQI_SO2, 1, 2630, 500},
    {IOCD_AQI_SO2, 1, 2631, 500},
    {IOCD_AQI_SO2, 1, -1, -1},
    /* NO2 (BP 0 100 200 700 1200 2350 3100 3850): slopes .5, .5,
     * 50/500=.1, .1, 100/1150, 100/750, 100/750. */
    {IOCD_AQI_NO2, 1, 0, 0},
    {IOCD_AQI_NO2, 1, 1, 0.5},
    {IOCD_AQI_NO2, 1, 99, 49.5},
    {IOCD_AQI_NO2, 1, 100, 50},
    {IOCD_AQI_NO2, 1, 101, 50.5},
    {IOCD_AQI_NO2, 1, 199, 99.5},
    {IOCD_AQI_NO2, 1, 200, 100},
    {IOCD_AQI_NO2, 1, 201, 100.1},
    {IOCD_AQI_NO2, 1, 699, 149.9},
    {IOCD_AQI_NO2, 1, 700, 150},
    {IOCD_AQI_NO2, 1, 701, 150.1},
    {IOCD_AQI_NO2, 1, 1199, 199.9},
    {IOCD_AQI_NO2, 1, 1200, 200},
    {IOCD_AQI_NO2, 1, 1201, 200 + 100.0 / 1150},
    {IOCD_AQI_NO2, 1, 2349, 300 - 100.0 / 1150},
    {IOCD_AQI_NO2, 1, 2350, 300},
    {IOCD_AQI_NO2, 1, 2351, 300 + 100.0 / 750},
    {IOCD_AQI_NO2, 1, 3099, 400 - 100.0 / 750},
    {IOCD_AQI_NO2, 1, 3100, 400},
    {IOCD_AQI_NO2, 1, 3101, 400 + 100.0 / 750},
    {IOCD_AQI_NO2, 1, 3849, 500 - 100.0 / 750},
    {IOCD_AQI_NO2, 1, 3850, 500},
    {IOCD_AQI_NO2, 1, 3851, 500},
    {IOCD_AQI_NO2, 1, -1, -1},
};

static void test_sub_index_band_edges(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
        const struct edge *e = &edges[i];
        double got = -12345;
        int rc = iocd_aqi_sub_index((enum iocd_aqi_pollutant)e->p, e->form, e->c, &got);
        if (e->want < 0) {
            if (rc != IOCD_AQI_ENONE || got != -12345)
                fail_msg("edge %zu (p %d, %dh, c %g): rc %d, got %g; want no value", i, e->p,
                         e->form, e->c, rc, got);
            continue;
        }
        if (rc != 0)
            fail_msg("edge %zu (p %d, %dh, c %g): rc %d", i, e->p, e->form, e->c, rc);
        if (fabs(got - e->want) > EPS)
            fail_msg("edge %zu (p %d, %dh, c %g): got %.15g, want %.15g", i, e->p, e->form, e->c,
                     got, e->want);
    }
}

static void test_sub_index_exact_at_breakpoints(void **state)
{
    (void)state;
    /* At BP_i the formula's (C - BP_i) term is 0: the result is I_i with no
     * rounding at all, so compare with ==. */
    static const struct {
        int p, form;
        double bp[8];
        int n;
    } t[] = {
        {IOCD_AQI_PM25, 24, {0, 25, 50, 80, 150, 250, 350, 500}, 8},
        {IOCD_AQI_PM10, 24, {0, 50, 150, 250, 350, 420, 500, 600}, 8},
        {IOCD_AQI_O3, 1, {0, 160, 200, 300, 400, 800, 1000, 1200}, 8},
        {IOCD_AQI_O3, 8, {0, 100, 120, 170, 210, 400}, 6},
        {IOCD_AQI_CO, 1, {0, 10000, 30000, 45000, 60000, 90000, 120000, 150000}, 8},
        {IOCD_AQI_SO2, 1, {0, 125, 350, 550, 800, 1600, 2100, 2630}, 8},
        {IOCD_AQI_NO2, 1, {0, 100, 200, 700, 1200, 2350, 3100, 3850}, 8},
    };
    static const double levels[8] = {0, 50, 100, 150, 200, 300, 400, 500};
    for (size_t k = 0; k < sizeof(t) / sizeof(t[0]); k++)
        for (int i = 0; i < t[k].n; i++) {
            double got;
            assert_int_equal(iocd_aqi_sub_index((enum iocd_aqi_pollutant)t[k].p, t[k].form,
                                                t[k].bp[i], &got),
                             0);
            if (got != levels[i])
                fail_msg("table %zu BP %g: got %.17g want %g", k, t[k].bp[i], got, levels[i]);
        }
}

static void test_sub_index_inside_bands(void **state)
{
    (void)state;
    double a;
    /* Mid-band: half way between breakpoints is half way between indices. */
    assert_int_equal(iocd_aqi_sub_index(IOCD_AQI_PM25, 24, 37.5, &a), 0);
    assert_true(a == 75); /* 50 + 50 * 12.5 / 25 */
    assert_int_equal(iocd_aqi_sub_index(IOCD_AQI_PM10, 24, 100, &a), 0);
    assert_true(a == 75); /* 50 + 50 * 50 / 100 */
    assert_int_equal(iocd_aqi_sub_index(IOCD_AQI_O3, 1, 600, &a), 0);
    assert_true(a == 250); /* 200 + 100 * 200 / 400 */
    assert_int_equal(iocd_aqi_sub_index(IOCD_AQI_O3, 8, 145, &a), 0);
    assert_true(a == 125); /* 100 + 50 * 25 / 50 */
    assert_int_equal(iocd_aqi_sub_index(IOCD_AQI_CO, 1, 75000, &a), 0);
    assert_true(a == 250); /* 200 + 100 * 15000 / 30000 */
    assert_int_equal(iocd_aqi_sub_index(IOCD_AQI_SO2, 1, 1200, &a), 0);
    assert_true(a == 250); /* 200 + 100 * 400 / 800 */
    assert_int_equal(iocd_aqi_sub_index(IOCD_AQI_NO2, 1, 450, &a), 0);
    assert_true(a == 125); /* 100 + 50 * 250 / 500 */
    /* The top band (I 400..500): PM2.5 425 -> 400 + 100 * 75 / 150 = 450. */
    assert_int_equal(iocd_aqi_sub_index(IOCD_AQI_PM25, 24, 425, &a), 0);
    assert_true(a == 450);
    /* The decision's worked examples (section 2.3 b, c):
     * O3 1-h 136.1: 50/160 * 136.1 = 42.53125          -> 43
     * NO2 118.7: 50 + 50/100 * 18.7 = 59.35            -> 59 (printed 60)
     * PM2.5 20.3: 50/25 * 20.3 = 40.6                   -> 41
     * O3 8-h 89.3: 50/100 * 89.3 = 44.65               -> 45
     * O3 1-h 114.6: 50/160 * 114.6 = 35.8125           -> 36
     * NO2 130.8: 50 + 50/100 * 30.8 = 65.4             -> 65
     * PM2.5 55.7: 100 + 50/30 * 5.7 = 109.5            -> 110 */
    static const struct {
        int p, form;
        double c, want;
        int rounded;
    } ex[] = {
        {IOCD_AQI_O3, 1, 136.1, 42.53125, 43}, {IOCD_AQI_NO2, 1, 118.7, 59.35, 59},
        {IOCD_AQI_PM25, 24, 20.3, 40.6, 41},   {IOCD_AQI_O3, 8, 89.3, 44.65, 45},
        {IOCD_AQI_O3, 1, 114.6, 35.8125, 36},  {IOCD_AQI_NO2, 1, 130.8, 65.4, 65},
        {IOCD_AQI_PM25, 24, 55.7, 109.5, 110},
    };
    for (size_t i = 0; i < sizeof(ex) / sizeof(ex[0]); i++) {
        assert_int_equal(iocd_aqi_sub_index((enum iocd_aqi_pollutant)ex[i].p, ex[i].form, ex[i].c, &a),
                         0);
        assert_close(a, ex[i].want);
        assert_int_equal(iocd_aqi_round(a), ex[i].rounded);
    }
}

static void test_sub_index_invalid(void **state)
{
    (void)state;
    double a = 7;
    assert_int_equal(iocd_aqi_sub_index(IOCD_AQI_PM25, 24, -0.001, &a), IOCD_AQI_ENONE);
    assert_int_equal(iocd_aqi_sub_index(IOCD_AQI_PM25, 24, NAN, &a), IOCD_AQI_ENONE);
    assert_int_equal(iocd_aqi_sub_index(IOCD_AQI_PM25, 24, INFINITY, &a), IOCD_AQI_ENONE);
    assert_true(a == 7);
    /* -0.0 is not negative: index 0. */
    assert_int_equal(iocd_aqi_sub_index(IOCD_AQI_NO2, 1, -0.0, &a), 0);
    assert_true(a == 0);
    /* Forms without a table. */
    assert_int_equal(iocd_aqi_sub_index(IOCD_AQI_PM25, 1, 10, &a), IOCD_AQI_EINVAL);
    assert_int_equal(iocd_aqi_sub_index(IOCD_AQI_PM10, 8, 10, &a), IOCD_AQI_EINVAL);
    assert_int_equal(iocd_aqi_sub_index(IOCD_AQI_O3, 24, 10, &a), IOCD_AQI_EINVAL);
    assert_int_equal(iocd_aqi_sub_index(IOCD_AQI_CO, 8, 10, &a), IOCD_AQI_EINVAL);
    assert_int_equal(iocd_aqi_sub_index(IOCD_AQI_SO2, 24, 10, &a), IOCD_AQI_EINVAL);
    assert_int_equal(iocd_aqi_sub_index(IOCD_AQI_NO2, 0, 10, &a), IOCD_AQI_EINVAL);
    assert_int_equal(iocd_aqi_sub_index(IOCD_AQI__COUNT, 1, 10, &a), IOCD_AQI_EINVAL);
    assert_int_equal(iocd_aqi_sub_index((enum iocd_aqi_pollutant)-1, 1, 10, &a), IOCD_AQI_EINVAL);
    assert_int_equal(iocd_aqi_sub_index(IOCD_AQI_NO2, 1, 10, NULL), IOCD_AQI_EINVAL);
    assert_true(a == 0);
}

static void test_round(void **state)
{
    (void)state;
    assert_int_equal(iocd_aqi_round(0), 0);
    assert_int_equal(iocd_aqi_round(50.4999), 50);
    assert_int_equal(iocd_aqi_round(50.5), 51); /* half up */
    assert_int_equal(iocd_aqi_round(100.5 - 1e-12), 101); /* noise below a half */
    assert_int_equal(iocd_aqi_round(100.49999), 100);
    assert_int_equal(iocd_aqi_round(500), 500);
    assert_int_equal(iocd_aqi_round(-0.1), IOCD_AQI_ENONE);
    assert_int_equal(iocd_aqi_round(NAN), IOCD_AQI_ENONE);
    assert_int_equal(iocd_aqi_round(INFINITY), IOCD_AQI_ENONE);
}

/* ---- NowCast ---- */

static void test_nowcast_steady(void **state)
{
    (void)state;
    /* 12 equal hours: w* = 1, every weight 1, the mean: 20. */
    double c[12], out = -1;
    for (int i = 0; i < 12; i++)
        c[i] = 20;
    assert_int_equal(iocd_aqi_nowcast(c, NULL, 12, &out), 0);
    assert_true(out == 20);
    /* All zero: 0 (w* would be 0/0). */
    for (int i = 0; i < 12; i++)
        c[i] = 0;
    assert_int_equal(iocd_aqi_nowcast(c, NULL, 12, &out), 0);
    assert_true(out == 0);
}

static void test_nowcast_rising_falling(void **state)
{
    (void)state;
    double out;
    /* Rising (latest first) 40, 30, 30, 30: w* = 30/40 = .75, weights 1,
     * .75, .5625, .421875 (sum 2.734375); numerator 40 + 22.5 + 16.875 +
     * 12.65625 = 92.03125; NowCast = 92.03125 / 2.734375 = 1178/35. */
    const double rising[] = {40, 30, 30, 30};
    assert_int_equal(iocd_aqi_nowcast(rising, NULL, 4, &out), 0);
    assert_close(out, 1178.0 / 35); /* 33.657142857... */
    /* Falling 30, 40, 40, 40: same weights; 30 + 30 + 22.5 + 16.875 =
     * 99.375; 99.375 / 2.734375 = 1272/35. */
    const double falling[] = {30, 40, 40, 40};
    assert_int_equal(iocd_aqi_nowcast(falling, NULL, 4, &out), 0);
    assert_close(out, 1272.0 / 35); /* 36.342857... */
}

static void test_nowcast_weight_floor(void **state)
{
    (void)state;
    double out;
    /* w* = 10/100 = .1 <= 1/2, so w = 1/2: weights 1, .5, .25 (1.75);
     * 100 + 5 + 2.5 = 107.5; 107.5 / 1.75 = 430/7. */
    const double spike[] = {100, 10, 10};
    assert_int_equal(iocd_aqi_nowcast(spike, NULL, 3, &out), 0);
    assert_close(out, 430.0 / 7); /* 61.428571... */
    /* Exactly 1/2: w* = 30/60 = .5 -> w = .5: (30 + 30) / 1.5 = 40. */
    const double half[] = {30, 60};
    assert_int_equal(iocd_aqi_nowcast(half, NULL, 2, &out), 0);
    assert_true(out == 40);
    /* Sparse: c1 = 100, c2 = 40, nothing older: w* = .4 -> .5; (100 + 20)
     * / 1.5 = 80 (the decision's literal w = 1/2 form would give 60). */
    double sparse[12] = {100, 40};
    unsigned char sv[12] = {1, 1};
    assert_int_equal(iocd_aqi_nowcast(sparse, sv, 12, &out), 0);
    assert_true(out == 80);
    /* Full 12 hours, 80 then 11 x 20: w* = .25 -> .5. Numerator 80 + 20 *
     * (1 - 2^-11) = 99.990234375, denominator 2 - 2^-11 = 1.99951171875:
     * 13652/273 = 50.0073260... (the decision's un-normalised form for
     * w = 1/2, sum (1/2)^i c_i, would give 49.9951171875; see docs). */
    double c[12];
    c[0] = 80;
    for (int i = 1; i < 12; i++)
        c[i] = 20;
    assert_int_equal(iocd_aqi_nowcast(c, NULL, 12, &out), 0);
    assert_close(out, 13652.0 / 273);
}

static void test_nowcast_missing_hours(void **state)
{
    (void)state;
    double out;
    /* c2 missing: weight 0 for it. w* = 30/40 = .75 over the valid hours;
     * weights 1, -, .5625, .421875 (1.984375); 40 + 16.875 + 12.65625 =
     * 69.53125; 69.53125 / 1.984375 = 4450/127. The missing slot's value
     * (-5) is never read. */
    const double c[] = {40, -5, 30, 30};
    const unsigned char v[] = {1, 0, 1, 1};
    assert_int_equal(iocd_aqi_nowcast(c, v, 4, &out), 0);
    assert_close(out, 4450.0 / 127); /* 35.039370... */
    /* A missing hour holding the extreme does not count towards w*:
     * 40, [1000 missing], 40 -> w* = 1 -> 40. */
    const double c2[] = {40, 1000, 40};
    const unsigned char v2[] = {1, 0, 1};
    assert_int_equal(iocd_aqi_nowcast(c2, v2, 3, &out), 0);
    assert_true(out == 40);
}

static void test_nowcast_two_of_three(void **state)
{
    (void)state;
    double c[12], out = -7;
    unsigned char v[12];
    for (int i = 0; i < 12; i++) {
        c[i] = 50;
        v[i] = 1;
    }
    /* c1 missing, c2 and c3 present: computable (= 50). */
    v[0] = 0;
    assert_int_equal(iocd_aqi_nowcast(c, v, 12, &out), 0);
    assert_true(out == 50);
    /* c1 and c2 missing: only 1 of 3, although c4..c12 are all there. */
    v[1] = 0;
    out = -7;
    assert_int_equal(iocd_aqi_nowcast(c, v, 12, &out), IOCD_AQI_ENONE);
    assert_true(out == -7);
    /* c1 and c3 missing. */
    v[1] = 1;
    v[2] = 0;
    assert_int_equal(iocd_aqi_nowcast(c, v, 12, &out), IOCD_AQI_ENONE);
    /* c3 missing only: 2 of 3. */
    v[0] = 1;
    assert_int_equal(iocd_aqi_nowcast(c, v, 12, &out), 0);
    /* One hour of history cannot give 2 of 3. */
    assert_int_equal(iocd_aqi_nowcast(c, NULL, 1, &out), IOCD_AQI_ENONE);
}

static void test_nowcast_decision_example(void **state)
{
    (void)state;
    /* Section 2.3 a: PM2.5 09:00..20:00 = 26.9 24.7 20.5 23.5 19.5 16.5
     * 19.0 16.5 20.3 22.4 19.6 20.6; c1 = 20:00. w* = 16.5/26.9 =
     * 0.61338... > 1/2. The decision prints 20.3 (one decimal); the exact
     * weighted mean is 20.26576500723680 (w rounded to .61 as printed
     * gives 20.269, also 20.3). */
    const double c[12] = {20.6, 19.6, 22.4, 20.3, 16.5, 19.0, 16.5, 19.5, 23.5, 20.5, 24.7, 26.9};
    double out;
    assert_int_equal(iocd_aqi_nowcast(c, NULL, 12, &out), 0);
    assert_close(out, 20.2657650072368);
    assert_true(lround(out * 10) == 203);
}

static void test_nowcast_invalid(void **state)
{
    (void)state;
    double c[13] = {0}, out;
    assert_int_equal(iocd_aqi_nowcast(c, NULL, 0, &out), IOCD_AQI_EINVAL);
    assert_int_equal(iocd_aqi_nowcast(c, NULL, 13, &out), IOCD_AQI_EINVAL);
    assert_int_equal(iocd_aqi_nowcast(NULL, NULL, 3, &out), IOCD_AQI_EINVAL);
    assert_int_equal(iocd_aqi_nowcast(c, NULL, 3, NULL), IOCD_AQI_EINVAL);
    c[1] = -1; /* a valid negative mean */
    assert_int_equal(iocd_aqi_nowcast(c, NULL, 3, &out), IOCD_AQI_EINVAL);
    c[1] = NAN;
    assert_int_equal(iocd_aqi_nowcast(c, NULL, 3, &out), IOCD_AQI_EINVAL);
}

/* ---- categories ---- */

static void test_categories(void **state)
{
    (void)state;
    static const struct {
        int aqi;
        const char *en, *vi, *hex;
    } t[] = {
        {0, "Good", "Tốt", "#00E400"},
        {50, "Good", "Tốt", "#00E400"},
        {51, "Moderate", "Trung bình", "#FFFF00"},
        {100, "Moderate", "Trung bình", "#FFFF00"},
        {101, "Unhealthy for sensitive groups", "Kém", "#FF7E00"},
        {150, "Unhealthy for sensitive groups", "Kém", "#FF7E00"},
        {151, "Unhealthy", "Xấu", "#FF0000"},
        {200, "Unhealthy", "Xấu", "#FF0000"},
        {201, "Very unhealthy", "Rất xấu", "#8F3F97"},
        {300, "Very unhealthy", "Rất xấu", "#8F3F97"},
        {301, "Hazardous", "Nguy hại", "#7E0023"},
        {500, "Hazardous", "Nguy hại", "#7E0023"},
        {501, "Hazardous", "Nguy hại", "#7E0023"},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        const char *vi = NULL, *hex = NULL;
        assert_string_equal(iocd_aqi_category(t[i].aqi, &vi, &hex), t[i].en);
        assert_string_equal(vi, t[i].vi);
        assert_string_equal(hex, t[i].hex);
    }
    assert_string_equal(iocd_aqi_category(75, NULL, NULL), "Moderate");
    const char *vi = "x", *hex = "x";
    assert_null(iocd_aqi_category(-1, &vi, &hex));
    assert_null(vi);
    assert_null(hex);
}

/* ---- tracker: hourly ---- */

static struct iocd_aqi_station st; /* 4,944 bytes: static, not on the stack */

static void put(enum iocd_aqi_pollutant p, int64_t k, double v)
{
    assert_int_equal(iocd_aqi_station_put_hour(&st, p, T0 + k * H, v, 1), 0);
}

static void put_missing(enum iocd_aqi_pollutant p, int64_t k)
{
    assert_int_equal(iocd_aqi_station_put_hour(&st, p, T0 + k * H, 0, 0), 0);
}

static void test_station_memory(void **state)
{
    (void)state;
    /* 6 pollutants x (8 newest + 48 x (8 hour + 8 mean + 1 valid)) bytes. */
    assert_int_equal(sizeof(struct iocd_aqi_station), 6 * (8 + 48 * 17));
    assert_true(sizeof(struct iocd_aqi_station) <= 5 * 1024);
}

static void test_hourly_needs_pm(void **state)
{
    (void)state;
    struct iocd_aqi_result r;
    iocd_aqi_station_init(&st);
    put(IOCD_AQI_O3, 0, 136.1);
    put(IOCD_AQI_NO2, 0, 118.7);
    assert_int_equal(iocd_aqi_station_hourly(&st, T0, &r), IOCD_AQI_ENONE);
    assert_string_equal(r.reason, "no PM data");
    assert_int_equal(r.aqi, -1);
    assert_int_equal(r.dominant, -1);
    /* The gas sub-indices are still reported. */
    assert_close(r.sub[IOCD_AQI_O3], 42.53125);
    assert_close(r.sub[IOCD_AQI_NO2], 59.35);
    assert_true(r.sub[IOCD_AQI_PM25] == -1 && r.sub[IOCD_AQI_PM10] == -1);
    assert_true(r.sub[IOCD_AQI_CO] == -1 && r.sub[IOCD_AQI_SO2] == -1);
    /* A PM series with only one of the 3 latest hours is still "no PM". */
    for (int k = -11; k <= -2; k++)
        put(IOCD_AQI_PM25, k, 30);
    assert_int_equal(iocd_aqi_station_hourly(&st, T0, &r), IOCD_AQI_ENONE);
    assert_string_equal(r.reason, "no PM data");
    assert_int_equal(r.hours[IOCD_AQI_PM25], 10);
}

static void test_hourly_decision_example(void **state)
{
    (void)state;
    struct iocd_aqi_result r;
    iocd_aqi_station_init(&st);
    /* Section 2.3: the 12 PM2.5 hours of the NowCast example end at hour
     * T0, O3 136.1 and NO2 118.7 in hour T0. Sub-indices: PM2.5
     * 2 * 20.265765... = 40.5315300144736 (41), O3 42.53125 (43), NO2
     * 59.35 (59). AQI^h = 59, NO2 dominant. (The decision prints 60 for
     * NO2 and AQI^h: its own formula gives 59.35; see docs/vn_aqi.md.) */
    const double pm[12] = {20.6, 19.6, 22.4, 20.3, 16.5, 19.0, 16.5, 19.5, 23.5, 20.5, 24.7, 26.9};
    for (int i = 0; i < 12; i++)
        put(IOCD_AQI_PM25, -i, pm[i]);
    put(IOCD_AQI_O3, 0, 136.1);
    put(IOCD_AQI_NO2, 0, 118.7);
    assert_int_equal(iocd_aqi_station_hourly(&st, T0, &r), 0);
    assert_null(r.reason);
    assert_close(r.conc[IOCD_AQI_PM25], 20.2657650072368);
    assert_close(r.sub[IOCD_AQI_PM25], 40.5315300144736);
    assert_int_equal(r.form[IOCD_AQI_PM25], IOCD_AQI_FORM_NOWCAST);
    assert_int_equal(r.hours[IOCD_AQI_PM25], 12);
    assert_close(r.sub[IOCD_AQI_O3], 42.53125);
    assert_int_equal(r.form[IOCD_AQI_O3], IOCD_AQI_FORM_1H);
    assert_close(r.o3_1h_sub, 42.53125);
    assert_true(r.o3_8h_sub == -1 && r.o3_8h_conc == -1);
    assert_close(r.sub[IOCD_AQI_NO2], 59.35);
    assert_int_equal(r.hours[IOCD_AQI_NO2], 1);
    assert_int_equal(r.dominant, IOCD_AQI_NO2);
    assert_close(r.aqi_raw, 59.35);
    assert_int_equal(r.aqi, 59);
    /* The hour before: no O3/NO2 that hour, PM2.5 NowCast over 11 hours. */
    assert_int_equal(iocd_aqi_station_hourly(&st, T0 - H, &r), 0);
    assert_int_equal(r.dominant, IOCD_AQI_PM25);
    assert_int_equal(r.hours[IOCD_AQI_PM25], 11);
    assert_true(r.sub[IOCD_AQI_O3] == -1);
}

static void test_hourly_pm10_only_and_ties(void **state)
{
    (void)state;
    struct iocd_aqi_result r;
    iocd_aqi_station_init(&st);
    /* PM10 alone is enough: 3 hours at 100 -> NowCast 100 -> 50 + 50 *
     * 50/100 = 75. */
    for (int k = -2; k <= 0; k++)
        put(IOCD_AQI_PM10, k, 100);
    assert_int_equal(iocd_aqi_station_hourly(&st, T0, &r), 0);
    assert_int_equal(r.aqi, 75);
    assert_int_equal(r.dominant, IOCD_AQI_PM10);
    assert_true(r.sub[IOCD_AQI_PM25] == -1);
    /* Tie: PM2.5 25 -> 50 and PM10 50 -> 50; O3 80 -> 25. The tie goes to
     * the first in enum order, PM2.5. */
    iocd_aqi_station_init(&st);
    for (int k = -2; k <= 0; k++) {
        put(IOCD_AQI_PM25, k, 25);
        put(IOCD_AQI_PM10, k, 50);
    }
    put(IOCD_AQI_O3, 0, 80);
    assert_int_equal(iocd_aqi_station_hourly(&st, T0, &r), 0);
    assert_true(r.sub[IOCD_AQI_PM25] == 50 && r.sub[IOCD_AQI_PM10] == 50);
    assert_true(r.sub[IOCD_AQI_O3] == 25);
    assert_int_equal(r.dominant, IOCD_AQI_PM25);
    assert_int_equal(r.aqi, 50);
    /* A gas above the top breakpoint dominates at 500: CO 200000. */
    put(IOCD_AQI_CO, 0, 200000);
    assert_int_equal(iocd_aqi_station_hourly(&st, T0, &r), 0);
    assert_int_equal(r.aqi, 500);
    assert_int_equal(r.dominant, IOCD_AQI_CO);
}

static void test_hourly_two_of_three(void **state)
{
    (void)state;
    struct iocd_aqi_result r;
    iocd_aqi_station_init(&st);
    /* PM2.5 at 40 in hours -11..-1, hour 0 not (yet) reported: 2 of 3 ->
     * NowCast 40 -> 50 + 50 * 15/25 = 80. */
    for (int k = -11; k <= -1; k++)
        put(IOCD_AQI_PM25, k, 40);
    assert_int_equal(iocd_aqi_station_hourly(&st, T0, &r), 0);
    assert_int_equal(r.aqi, 80);
    /* Hour 0 explicitly invalid: the same. */
    put_missing(IOCD_AQI_PM25, 0);
    assert_int_equal(iocd_aqi_station_hourly(&st, T0, &r), 0);
    assert_int_equal(r.aqi, 80);
    assert_int_equal(r.hours[IOCD_AQI_PM25], 11);
    /* Hour -1 turns out invalid too (a correction): 1 of 3 -> none. */
    put_missing(IOCD_AQI_PM25, -1);
    assert_int_equal(iocd_aqi_station_hourly(&st, T0, &r), IOCD_AQI_ENONE);
    assert_string_equal(r.reason, "no PM data");
    /* Hour 0 arrives late after all: 2 of 3 again; 100 then 40s: w* = .4
     * -> .5; hours 0, 2..11 valid: weights 1, .25, .125, ... 2^-11:
     * numerator 100 + 40 * (.5 - 2^-11) = 119.98046875, denominator
     * 1 + .5 - 2^-11 = 1.49951171875 -> 80.0130...; sub = 150 + 50 *
     * (80.0130 - 80)/70. */
    put(IOCD_AQI_PM25, 0, 100);
    assert_int_equal(iocd_aqi_station_hourly(&st, T0, &r), 0);
    double nc = 119.98046875 / 1.49951171875;
    assert_close(r.conc[IOCD_AQI_PM25], nc);
    assert_close(r.sub[IOCD_AQI_PM25], 150 + 50 * (nc - 80) / 70);
    assert_int_equal(r.aqi, 150);
}

static void test_put_order_and_ring(void **state)
{
    (void)state;
    struct iocd_aqi_result r;
    iocd_aqi_station_init(&st);
    /* Out of order: hours 0, -5, -2, -1 at 50 -> NowCast 50 -> PM10 50. */
    put(IOCD_AQI_PM10, 0, 50);
    put(IOCD_AQI_PM10, -5, 50);
    put(IOCD_AQI_PM10, -2, 50);
    put(IOCD_AQI_PM10, -1, 50);
    assert_int_equal(iocd_aqi_station_hourly(&st, T0, &r), 0);
    assert_true(r.conc[IOCD_AQI_PM10] == 50);
    assert_int_equal(r.hours[IOCD_AQI_PM10], 4);
    /* A second put for hour 0 replaces it: c = 100, 50, 50, -, -, 50;
     * w* = .5 -> w = .5; (100 + 25 + 12.5 + 1.5625) / (1 + .5 + .25 +
     * .03125) = 139.0625 / 1.78125 = 78.0701754385965; PM10 sub = 50 +
     * (78.07... - 50) / 2 = 64.0350877192982. */
    put(IOCD_AQI_PM10, 0, 100);
    assert_int_equal(iocd_aqi_station_hourly(&st, T0, &r), 0);
    assert_close(r.conc[IOCD_AQI_PM10], 139.0625 / 1.78125);
    assert_close(r.sub[IOCD_AQI_PM10], 64.0350877192982);
    assert_int_equal(r.hours[IOCD_AQI_PM10], 4);
    /* The ring holds the newest hour (0) and the 47 before: -48 is
     * ignored, -47 and -46 are kept, so hour -46 has 2 of 3 (-48 absent). */
    assert_int_equal(iocd_aqi_station_put_hour(&st, IOCD_AQI_PM10, T0 - 48 * H, 60, 1),
                     IOCD_AQI_ESTALE);
    put(IOCD_AQI_PM10, -47, 60);
    put(IOCD_AQI_PM10, -46, 60);
    assert_int_equal(iocd_aqi_station_hourly(&st, T0 - 46 * H, &r), 0);
    assert_true(r.conc[IOCD_AQI_PM10] == 60);
    assert_int_equal(r.hours[IOCD_AQI_PM10], 2);
    /* Hour 1 arrives: -47 falls out; hour -46 is down to 1 of 3. */
    put(IOCD_AQI_PM10, 1, 50);
    assert_int_equal(iocd_aqi_station_hourly(&st, T0 - 46 * H, &r), IOCD_AQI_ENONE);
    assert_int_equal(r.hours[IOCD_AQI_PM10], 1);
    assert_int_equal(iocd_aqi_station_put_hour(&st, IOCD_AQI_PM10, T0 - 47 * H, 60, 1),
                     IOCD_AQI_ESTALE);
    /* Other pollutants have rings of their own: O3, newest hour 0, still
     * takes hour -47. */
    put(IOCD_AQI_O3, 0, 10);
    put(IOCD_AQI_O3, -47, 10);
    /* A jump far ahead forgets everything before it. */
    put(IOCD_AQI_PM10, 1000, 50);
    assert_int_equal(iocd_aqi_station_hourly(&st, T0, &r), IOCD_AQI_ENONE);
    assert_int_equal(r.hours[IOCD_AQI_PM10], 0);
    assert_int_equal(iocd_aqi_station_put_hour(&st, IOCD_AQI_PM10, T0, 60, 1), IOCD_AQI_ESTALE);
}

static void test_put_and_query_invalid(void **state)
{
    (void)state;
    struct iocd_aqi_result r;
    iocd_aqi_station_init(&st);
    assert_int_equal(iocd_aqi_station_put_hour(&st, IOCD_AQI_PM25, T0 + 1, 5, 1), IOCD_AQI_EINVAL);
    assert_int_equal(iocd_aqi_station_put_hour(&st, IOCD_AQI_PM25, T0, -1, 1), IOCD_AQI_EINVAL);
    assert_int_equal(iocd_aqi_station_put_hour(&st, IOCD_AQI_PM25, T0, NAN, 1), IOCD_AQI_EINVAL);
    assert_int_equal(iocd_aqi_station_put_hour(&st, IOCD_AQI__COUNT, T0, 5, 1), IOCD_AQI_EINVAL);
    assert_int_equal(iocd_aqi_station_put_hour(NULL, IOCD_AQI_PM25, T0, 5, 1), IOCD_AQI_EINVAL);
    /* An invalid hour's value is irrelevant, even negative or NaN. */
    assert_int_equal(iocd_aqi_station_put_hour(&st, IOCD_AQI_PM25, T0, NAN, 0), 0);
    /* Refused puts changed nothing: the ring has only the invalid hour 0. */
    assert_int_equal(iocd_aqi_station_hourly(&st, T0, &r), IOCD_AQI_ENONE);
    assert_int_equal(r.hours[IOCD_AQI_PM25], 0);
    /* Hours before 1970 work too (negative times). */
    assert_int_equal(iocd_aqi_station_put_hour(&st, IOCD_AQI_NO2, -3 * H, 5, 1), 0);
    assert_int_equal(iocd_aqi_station_hourly(&st, -3 * H, &r), IOCD_AQI_ENONE);
    assert_true(r.sub[IOCD_AQI_NO2] == 2.5); /* 50/100 * 5 */
    assert_int_equal(iocd_aqi_station_hourly(&st, T0 + 1, &r), IOCD_AQI_EINVAL);
    assert_string_equal(r.reason, "invalid argument");
    assert_int_equal(iocd_aqi_station_hourly(NULL, T0, &r), IOCD_AQI_EINVAL);
    assert_int_equal(iocd_aqi_station_hourly(&st, T0, NULL), IOCD_AQI_EINVAL);
}

/* ---- tracker: daily ---- */

static void test_daily_local_day_bounds(void **state)
{
    (void)state;
    struct iocd_aqi_result r;
    int64_t day;
    /* 2024-03-10 in Vietnam runs from 2024-03-09T17:00Z (T0) to
     * 2024-03-10T17:00Z. */
    assert_int_equal(iocd_aqi_floor_local_day(T0, VN, &day), 0);
    assert_true(day == LOCAL_DAY);
    assert_int_equal(iocd_aqi_floor_local_day(T0 + 24 * H - 1, VN, &day), 0);
    assert_true(day == LOCAL_DAY);
    assert_int_equal(iocd_aqi_floor_local_day(T0 - 1, VN, &day), 0);
    assert_true(day == LOCAL_DAY - IOCD_AQI_DAY_MS);
    assert_int_equal(iocd_aqi_floor_local_day(T0 + 24 * H, VN, &day), 0);
    assert_true(day == LOCAL_DAY + IOCD_AQI_DAY_MS);
    assert_int_equal(iocd_aqi_floor_local_day(-1, 0, &day), 0); /* before 1970 */
    assert_true(day == -IOCD_AQI_DAY_MS);
    assert_int_equal(iocd_aqi_floor_local_day(T0, VN + 1, &day), IOCD_AQI_EINVAL);

    iocd_aqi_station_init(&st);
    /* PM2.5 40 in the day's 24 hours, 500 in the hour before (16:00-17:00Z,
     * 23:00 local the day before) and the hour after (17:00Z, 00:00 local
     * the day after). Mean 40 -> 50 + 50 * 15/25 = 80. */
    for (int k = 0; k < 24; k++)
        put(IOCD_AQI_PM25, k, 40);
    put(IOCD_AQI_PM25, -1, 500);
    /* The day before holds only the 500 hour: too few hours. */
    assert_int_equal(iocd_aqi_station_daily(&st, LOCAL_DAY - IOCD_AQI_DAY_MS, VN, &r),
                     IOCD_AQI_ENONE);
    assert_string_equal(r.reason, "no PM data");
    assert_int_equal(r.hours[IOCD_AQI_PM25], 1);
    put(IOCD_AQI_PM25, 24, 500);
    assert_int_equal(iocd_aqi_station_daily(&st, LOCAL_DAY, VN, &r), 0);
    assert_true(r.conc[IOCD_AQI_PM25] == 40);
    assert_true(r.sub[IOCD_AQI_PM25] == 80);
    assert_int_equal(r.hours[IOCD_AQI_PM25], 24);
    assert_int_equal(r.form[IOCD_AQI_PM25], IOCD_AQI_FORM_24H);
    assert_int_equal(r.aqi, 80);
    assert_int_equal(r.dominant, IOCD_AQI_PM25);
    /* The same data as a UTC day (offset 0): hours 7..30 of which 7..24
     * are present: 17 x 40 + 500 over 18 hours = 1180/18 = 65.555...;
     * sub = 100 + 50/30 * (65.555... - 50) = 125.925925... */
    assert_int_equal(iocd_aqi_station_daily(&st, LOCAL_DAY, 0, &r), 0);
    assert_int_equal(r.hours[IOCD_AQI_PM25], 18);
    assert_close(r.conc[IOCD_AQI_PM25], 1180.0 / 18);
    assert_close(r.sub[IOCD_AQI_PM25], 3400.0 / 27); /* 100 + 5/3 * 280/18 */
    assert_int_equal(r.aqi, 126);
}

static void test_daily_completeness(void **state)
{
    (void)state;
    struct iocd_aqi_result r;
    iocd_aqi_station_init(&st);
    /* 17 valid hours of PM2.5 (+ 7 explicitly invalid): no value. */
    for (int k = 0; k < 24; k++) {
        if (k < 17)
            put(IOCD_AQI_PM25, k, 30);
        else
            put_missing(IOCD_AQI_PM25, k);
    }
    put(IOCD_AQI_NO2, 3, 130.8); /* a gas alone gives no index */
    assert_int_equal(iocd_aqi_station_daily(&st, LOCAL_DAY, VN, &r), IOCD_AQI_ENONE);
    assert_string_equal(r.reason, "no PM data");
    assert_int_equal(r.hours[IOCD_AQI_PM25], 17);
    assert_true(r.sub[IOCD_AQI_PM25] == -1);
    assert_true(r.sub[IOCD_AQI_NO2] == -1); /* 1 hour of NO2 is not 18 either */
    /* The 18th hour: mean 30 -> 50 + 50 * 5/25 = 60. */
    put(IOCD_AQI_PM25, 17, 30);
    assert_int_equal(iocd_aqi_station_daily(&st, LOCAL_DAY, VN, &r), 0);
    assert_int_equal(r.hours[IOCD_AQI_PM25], 18);
    assert_true(r.sub[IOCD_AQI_PM25] == 60);
    assert_int_equal(r.aqi, 60);
}

static void fill_o3(int64_t from, int64_t to, double v)
{
    for (int64_t k = from; k <= to; k++)
        put(IOCD_AQI_O3, k, v);
}

static void fill_pm25_day(double v)
{
    for (int k = 0; k < 24; k++)
        put(IOCD_AQI_PM25, k, v);
}

static void test_daily_o3_forms(void **state)
{
    (void)state;
    struct iocd_aqi_result r;
    /* Each case: PM2.5 10 all day (sub 20), O3 from 7 h before the day. */

    /* A: O3 110 everywhere. Max 1-h 110 -> 50/160 * 110 = 34.375; max 8-h
     * 110 -> 50 + 50/20 * 10 = 75. O3 takes the 8-h form: 75. */
    iocd_aqi_station_init(&st);
    fill_pm25_day(10);
    fill_o3(-7, 23, 110);
    assert_int_equal(iocd_aqi_station_daily(&st, LOCAL_DAY, VN, &r), 0);
    assert_true(r.o3_1h_conc == 110 && r.o3_1h_sub == 34.375);
    assert_true(r.o3_8h_conc == 110 && r.o3_8h_sub == 75);
    assert_true(r.sub[IOCD_AQI_O3] == 75 && r.conc[IOCD_AQI_O3] == 110);
    assert_int_equal(r.form[IOCD_AQI_O3], IOCD_AQI_FORM_8H);
    assert_int_equal(r.aqi, 75);
    assert_int_equal(r.dominant, IOCD_AQI_O3);

    /* B: O3 50 with one hour (12) at 350. Max 1-h 350 -> 150 + .5 * 50 =
     * 175; max 8-h (350 + 7 * 50)/8 = 87.5 -> 43.75. The 1-h form: 175. */
    iocd_aqi_station_init(&st);
    fill_pm25_day(10);
    fill_o3(-7, 23, 50);
    put(IOCD_AQI_O3, 12, 350);
    assert_int_equal(iocd_aqi_station_daily(&st, LOCAL_DAY, VN, &r), 0);
    assert_true(r.o3_8h_conc == 87.5 && r.o3_8h_sub == 43.75);
    assert_true(r.sub[IOCD_AQI_O3] == 175 && r.conc[IOCD_AQI_O3] == 350);
    assert_int_equal(r.form[IOCD_AQI_O3], IOCD_AQI_FORM_1H);
    assert_int_equal(r.aqi, 175);

    /* C: O3 450 everywhere: max 8-h 450 > 400, so the 8-h form is dropped;
     * 1-h 450 -> 200 + 100/400 * 50 = 212.5 (-> 213). */
    iocd_aqi_station_init(&st);
    fill_pm25_day(10);
    fill_o3(-7, 23, 450);
    assert_int_equal(iocd_aqi_station_daily(&st, LOCAL_DAY, VN, &r), 0);
    assert_true(r.o3_8h_conc == 450 && r.o3_8h_sub == -1);
    assert_true(r.sub[IOCD_AQI_O3] == 212.5);
    assert_int_equal(r.form[IOCD_AQI_O3], IOCD_AQI_FORM_1H);
    assert_int_equal(r.aqi, 213);

    /* D: O3 400 everywhere: 8-h 400 is still in the table (300); 1-h 400
     * -> 200. The 8-h form: 300. */
    iocd_aqi_station_init(&st);
    fill_pm25_day(10);
    fill_o3(-7, 23, 400);
    assert_int_equal(iocd_aqi_station_daily(&st, LOCAL_DAY, VN, &r), 0);
    assert_true(r.sub[IOCD_AQI_O3] == 300);
    assert_int_equal(r.form[IOCD_AQI_O3], IOCD_AQI_FORM_8H);
    assert_int_equal(r.aqi, 300);
}

static void test_daily_o3_8h_windows(void **state)
{
    (void)state;
    struct iocd_aqi_result r;
    /* E: no O3 before the day; hours 0..4 at 200, 5..23 at 100. The 8-h
     * windows ending at hours 0..4 have 1..5 valid hours (< 6): not used
     * (they would give 200 -> 187.5). Window 5 (hours -2..5) has 6: (5 *
     * 200 + 100)/6 = 1100/6 = 183.33... (the maximum; window 6: 1200/7,
     * window 7: 1300/8). 19 valid windows >= 18. Sub = 150 + 50/40 *
     * (183.33... - 170) = 166.66...; max 1-h 200 -> 100. O3 = 166.67. */
    iocd_aqi_station_init(&st);
    fill_pm25_day(10);
    fill_o3(0, 4, 200);
    fill_o3(5, 23, 100);
    assert_int_equal(iocd_aqi_station_daily(&st, LOCAL_DAY, VN, &r), 0);
    assert_close(r.o3_8h_conc, 1100.0 / 6);
    assert_close(r.o3_8h_sub, 500.0 / 3); /* 150 + 1.25 * 80/6 */
    assert_true(r.o3_1h_sub == 100);
    assert_int_equal(r.form[IOCD_AQI_O3], IOCD_AQI_FORM_8H);
    assert_int_equal(r.aqi, 167);

    /* F: no O3 before the day, O3 110 in every hour but 5 and 6. Windows
     * 0..6 have at most 5 valid hours; windows 7..23 (17) are valid: fewer
     * than 18, so no 8-h maximum. 22 valid hours give the 1-h form:
     * 34.375. */
    iocd_aqi_station_init(&st);
    fill_pm25_day(10);
    fill_o3(0, 4, 110);
    fill_o3(7, 23, 110);
    assert_int_equal(iocd_aqi_station_daily(&st, LOCAL_DAY, VN, &r), 0);
    assert_true(r.o3_8h_conc == -1 && r.o3_8h_sub == -1);
    assert_int_equal(r.hours[IOCD_AQI_O3], 22);
    assert_true(r.sub[IOCD_AQI_O3] == 34.375);
    assert_int_equal(r.form[IOCD_AQI_O3], IOCD_AQI_FORM_1H);
    /* Hour 5 arrives: windows 5..23 (19) valid -> max 8-h 110 -> 75. */
    put(IOCD_AQI_O3, 5, 110);
    assert_int_equal(iocd_aqi_station_daily(&st, LOCAL_DAY, VN, &r), 0);
    assert_true(r.o3_8h_conc == 110 && r.sub[IOCD_AQI_O3] == 75);
}

static void test_daily_gases(void **state)
{
    (void)state;
    struct iocd_aqi_result r;
    iocd_aqi_station_init(&st);
    fill_pm25_day(10);
    /* CO 5000 except 40000 in hour 20: max 1-h 40000 -> 100 + 50/15000 *
     * 10000 = 133.33... A higher CO hour just outside the day (hour 24)
     * does not count. */
    for (int k = 0; k < 24; k++)
        put(IOCD_AQI_CO, k, k == 20 ? 40000 : 5000);
    put(IOCD_AQI_CO, 24, 140000);
    /* SO2: a 2000 spike but only 17 hours: no SO2 sub-index. */
    for (int k = 0; k < 17; k++)
        put(IOCD_AQI_SO2, k, k == 3 ? 2000 : 10);
    assert_int_equal(iocd_aqi_station_daily(&st, LOCAL_DAY, VN, &r), 0);
    assert_true(r.conc[IOCD_AQI_CO] == 40000);
    assert_close(r.sub[IOCD_AQI_CO], 100 + 100.0 / 3);
    assert_int_equal(r.form[IOCD_AQI_CO], IOCD_AQI_FORM_1H);
    assert_true(r.sub[IOCD_AQI_SO2] == -1);
    assert_int_equal(r.hours[IOCD_AQI_SO2], 17);
    assert_int_equal(r.dominant, IOCD_AQI_CO);
    assert_int_equal(r.aqi, 133);
}

static void test_daily_decision_example(void **state)
{
    (void)state;
    struct iocd_aqi_result r;
    iocd_aqi_station_init(&st);
    /* Section 2.3 c: max 8-h O3 89.3, max 1-h O3 114.6, max 1-h NO2 130.8,
     * 24-h PM2.5 55.7 -> 45, 36, 65, 110; AQI^d = 110.
     * Hours: PM2.5 55.7 all day. O3 10 from hour -7, except hours 8..15 =
     * 114.6, 64, 89.3 x 6 (sum 714.4, mean 89.3; every other window holds
     * at least one 10 in place of a larger value, so is lower). NO2 50
     * except 130.8 in hour 3. */
    fill_pm25_day(55.7);
    fill_o3(-7, 23, 10);
    put(IOCD_AQI_O3, 8, 114.6);
    put(IOCD_AQI_O3, 9, 64);
    fill_o3(10, 15, 89.3);
    for (int k = 0; k < 24; k++)
        put(IOCD_AQI_NO2, k, k == 3 ? 130.8 : 50);
    assert_int_equal(iocd_aqi_station_daily(&st, LOCAL_DAY, VN, &r), 0);
    assert_close(r.o3_8h_conc, 89.3);
    assert_close(r.o3_8h_sub, 44.65);
    assert_int_equal(iocd_aqi_round(r.o3_8h_sub), 45);
    assert_true(r.o3_1h_conc == 114.6);
    assert_close(r.o3_1h_sub, 35.8125);
    assert_int_equal(iocd_aqi_round(r.o3_1h_sub), 36);
    assert_int_equal(r.form[IOCD_AQI_O3], IOCD_AQI_FORM_8H);
    assert_close(r.sub[IOCD_AQI_NO2], 65.4);
    assert_int_equal(iocd_aqi_round(r.sub[IOCD_AQI_NO2]), 65);
    assert_close(r.conc[IOCD_AQI_PM25], 55.7);
    assert_close(r.sub[IOCD_AQI_PM25], 109.5);
    assert_int_equal(r.dominant, IOCD_AQI_PM25);
    assert_int_equal(r.aqi, 110);
}

static void test_daily_ring_horizon(void **state)
{
    (void)state;
    struct iocd_aqi_result r;
    iocd_aqi_station_init(&st);
    fill_pm25_day(40);
    fill_o3(-7, 23, 110);
    /* PM2.5 up to hour 47 (23:00 local the next day): the day is intact. */
    put(IOCD_AQI_PM25, 47, 40);
    /* O3 up to hour 40 (16:00 local the next day): hour -7 still held. */
    put(IOCD_AQI_O3, 40, 10);
    assert_int_equal(iocd_aqi_station_daily(&st, LOCAL_DAY, VN, &r), 0);
    assert_int_equal(r.aqi, 80);
    assert_true(r.sub[IOCD_AQI_O3] == 75);
    /* O3 hour 41 pushes hour -7 out: no O3 sub-index for that day. */
    put(IOCD_AQI_O3, 41, 10);
    assert_int_equal(iocd_aqi_station_daily(&st, LOCAL_DAY, VN, &r), 0);
    assert_true(r.sub[IOCD_AQI_O3] == -1);
    assert_int_equal(r.hours[IOCD_AQI_O3], 0);
    /* PM2.5 hour 48 pushes hour 0 out: the day is gone. */
    put(IOCD_AQI_PM25, 48, 40);
    assert_int_equal(iocd_aqi_station_daily(&st, LOCAL_DAY, VN, &r), IOCD_AQI_ENONE);
    assert_string_equal(r.reason, "day older than the ring");
}

static void test_daily_invalid(void **state)
{
    (void)state;
    struct iocd_aqi_result r;
    iocd_aqi_station_init(&st);
    assert_int_equal(iocd_aqi_station_daily(&st, LOCAL_DAY + H, VN, &r), IOCD_AQI_EINVAL);
    assert_string_equal(r.reason, "invalid argument");
    assert_int_equal(iocd_aqi_station_daily(&st, LOCAL_DAY, VN + 30 * 60000, &r), IOCD_AQI_EINVAL);
    assert_int_equal(iocd_aqi_station_daily(&st, LOCAL_DAY, 15 * H, &r), IOCD_AQI_EINVAL);
    assert_int_equal(iocd_aqi_station_daily(&st, LOCAL_DAY, -15 * H, &r), IOCD_AQI_EINVAL);
    assert_int_equal(iocd_aqi_station_daily(NULL, LOCAL_DAY, VN, &r), IOCD_AQI_EINVAL);
    assert_int_equal(iocd_aqi_station_daily(&st, LOCAL_DAY, VN, NULL), IOCD_AQI_EINVAL);
    /* An empty station: a valid call with no value. */
    assert_int_equal(iocd_aqi_station_daily(&st, LOCAL_DAY, VN, &r), IOCD_AQI_ENONE);
    assert_string_equal(r.reason, "no PM data");
    assert_int_equal(r.aqi, -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sub_index_band_edges),
        cmocka_unit_test(test_sub_index_exact_at_breakpoints),
        cmocka_unit_test(test_sub_index_inside_bands),
        cmocka_unit_test(test_sub_index_invalid),
        cmocka_unit_test(test_round),
        cmocka_unit_test(test_nowcast_steady),
        cmocka_unit_test(test_nowcast_rising_falling),
        cmocka_unit_test(test_nowcast_weight_floor),
        cmocka_unit_test(test_nowcast_missing_hours),
        cmocka_unit_test(test_nowcast_two_of_three),
        cmocka_unit_test(test_nowcast_decision_example),
        cmocka_unit_test(test_nowcast_invalid),
        cmocka_unit_test(test_categories),
        cmocka_unit_test(test_station_memory),
        cmocka_unit_test(test_hourly_needs_pm),
        cmocka_unit_test(test_hourly_decision_example),
        cmocka_unit_test(test_hourly_pm10_only_and_ties),
        cmocka_unit_test(test_hourly_two_of_three),
        cmocka_unit_test(test_put_order_and_ring),
        cmocka_unit_test(test_put_and_query_invalid),
        cmocka_unit_test(test_daily_local_day_bounds),
        cmocka_unit_test(test_daily_completeness),
        cmocka_unit_test(test_daily_o3_forms),
        cmocka_unit_test(test_daily_o3_8h_windows),
        cmocka_unit_test(test_daily_gases),
        cmocka_unit_test(test_daily_decision_example),
        cmocka_unit_test(test_daily_ring_horizon),
        cmocka_unit_test(test_daily_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
