/* tests/unit/test_alerts.c — topic filters, and the alert engine:
 * threshold hysteresis above and below, window statistics with sub-bucket
 * expiry at exact times and late samples, bands up and down with
 * hysteresis and severity, stale raise/clear against a real device table,
 * operator text, the active list, the pair bound, alerts restored as
 * raised after a restart (threshold, band, stale), and rolling windows
 * refilled from stored windows after a restart (iocd_alerts_prefill). Configurations are
 * built by hand (zeroed, then the fields the engine reads). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "daemon/alerts/alerts.h"
#include "daemon/base/topic.h"
#include "daemon/alerts/devices.h"
#include "daemon/live/hub.h"

static void test_topic_matches(void **state)
{
    (void)state;
    assert_true(iocd_topic_matches("air/pk-01/pm25", "air/pk-01/pm25"));
    assert_false(iocd_topic_matches("air/pk-01/pm25", "air/pk-01/pm2"));
    assert_false(iocd_topic_matches("air/pk-01/pm2", "air/pk-01/pm25"));
    assert_false(iocd_topic_matches("air/pk-01", "air/pk-01/pm25"));
    assert_false(iocd_topic_matches("air/pk-01/pm25", "air/pk-01"));
    assert_true(iocd_topic_matches("air/+/pm25", "air/pk-01/pm25"));
    assert_false(iocd_topic_matches("air/+/pm25", "air/pk-01/x/pm25"));
    assert_true(iocd_topic_matches("air/+/pm25", "air//pm25")); /* empty level */
    assert_true(iocd_topic_matches("+/+/+", "a/b/c"));
    assert_false(iocd_topic_matches("+/+", "a/b/c"));
    assert_true(iocd_topic_matches("air/#", "air/pk-01/pm25"));
    assert_true(iocd_topic_matches("air/#", "air")); /* the parent level too */
    assert_false(iocd_topic_matches("air/#", "airx/pk"));
    assert_true(iocd_topic_matches("#", "air/pk-01"));
    assert_true(iocd_topic_matches("air/+/#", "air/pk-01"));
    assert_false(iocd_topic_matches("air/+/#", "air"));
    assert_false(iocd_topic_matches("#", "$SYS/x")); /* as MQTT */
    assert_true(iocd_topic_matches("$SYS/#", "$SYS/x"));
    /* Invalid filters match nothing. */
    assert_false(iocd_topic_matches("air/#/pm25", "air/x/pm25"));
    assert_false(iocd_topic_matches("air/pk+/pm25", "air/pk+/pm25"));
    assert_false(iocd_topic_matches("air/+x/pm25", "air/+x/pm25"));
    assert_false(iocd_topic_matches("air#", "air#"));
    assert_false(iocd_topic_matches("", "air"));
    assert_false(iocd_topic_matches("air", ""));
    assert_false(iocd_topic_matches(NULL, "air"));
    assert_false(iocd_topic_matches("air", NULL));
}

/* ---- a recorder ---- */

struct change {
    char id[96], series[64], source[32], device[32], text[160], rule[32];
    bool raised;
    int severity, band, prev_band;
    double value, threshold;
    int64_t time_ms, raised_ms;
};

struct rec {
    struct change c[64];
    int n;
};

static void on_alert(void *ud, const struct iocd_alert_change *a)
{
    struct rec *r = ud;
    if (r->n >= 64)
        return;
    struct change *c = &r->c[r->n++];
    snprintf(c->id, sizeof(c->id), "%s", a->id);
    snprintf(c->series, sizeof(c->series), "%s", a->series);
    snprintf(c->source, sizeof(c->source), "%s", a->source);
    snprintf(c->device, sizeof(c->device), "%s", a->device);
    snprintf(c->text, sizeof(c->text), "%s", a->text);
    snprintf(c->rule, sizeof(c->rule), "%s", a->rule->name);
    c->raised = a->raised;
    c->severity = a->severity;
    c->band = a->band;
    c->prev_band = a->prev_band;
    c->value = a->value;
    c->threshold = a->threshold;
    c->time_ms = a->time_ms;
    c->raised_ms = a->raised_ms;
}

static struct iocd_alert_rule threshold_rule(const char *name, const char *match,
                                             enum iocd_alert_stat stat, int64_t window_ms,
                                             bool above, double level, double clear)
{
    return (struct iocd_alert_rule){.name = (char *)name, .type = IOCD_ALERT_THRESHOLD,
                                    .match = (char *)match, .stat = stat, .window_ms = window_ms,
                                    .above = above, .level = level, .clear = clear,
                                    .severity = 2, .text = (char *)""};
}

static void one_rule_cfg(struct iocd_config *cfg, struct iocd_alert_rule *rules, int n)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->devices.stale_multiple = 3;
    cfg->devices.offline_multiple = 10;
    cfg->devices.default_interval_ms = 60000;
    cfg->devices.min_interval_ms = 1000;
    cfg->devices.max_devices = 1000000;
    cfg->alerts = rules;
    cfg->n_alerts = n;
}

static void test_threshold_hysteresis(void **state)
{
    (void)state;
    struct iocd_alert_rule rules[] = {
        threshold_rule("pm25_high", "air/+/pm25", IOCD_STAT_LAST, 0, true, 55, 50)};
    struct iocd_config cfg;
    one_rule_cfg(&cfg, rules, 1);
    struct rec r = {0};
    struct iocd_alerts *a = iocd_alerts_new(&cfg, on_alert, &r);
    assert_non_null(a);
    int64_t t = 1000;
    const double vals[] = {54, 55, 56, 54, 56, 55.5, 50.5, 50, 51, 55, 55.1};
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++, t += 1000)
        iocd_alerts_observe(a, "air", "pk-01", "pm25", vals[i], t);
    /* Raised at 56 (t 3000), cleared at 50 (t 8000), raised at 55.1 (t 11000). */
    assert_int_equal(r.n, 3);
    assert_true(r.c[0].raised);
    assert_string_equal(r.c[0].id, "pm25_high/air/pk-01/pm25");
    assert_string_equal(r.c[0].series, "air/pk-01/pm25");
    assert_string_equal(r.c[0].source, "air");
    assert_string_equal(r.c[0].device, "pk-01");
    assert_string_equal(r.c[0].rule, "pm25_high");
    assert_string_equal(r.c[0].text, "pm25_high: air/pk-01/pm25 56 > 55");
    assert_int_equal(r.c[0].severity, 2);
    assert_true(r.c[0].value == 56);
    assert_true(r.c[0].threshold == 55);
    assert_int_equal(r.c[0].band, -1);
    assert_int_equal(r.c[0].prev_band, -1);
    assert_int_equal(r.c[0].time_ms, 3000);
    assert_int_equal(r.c[0].raised_ms, 3000);
    assert_false(r.c[1].raised);
    assert_true(r.c[1].value == 50);
    assert_true(r.c[1].threshold == 50);
    assert_int_equal(r.c[1].time_ms, 8000);
    assert_int_equal(r.c[1].raised_ms, 3000);
    assert_string_equal(r.c[1].text, "pm25_high: air/pk-01/pm25 50 <= 50, cleared");
    assert_true(r.c[2].raised);
    assert_true(r.c[2].value == 55.1);
    assert_int_equal(r.c[2].raised_ms, 11000);
    assert_int_equal(iocd_alerts_active_count(a), 1);

    /* Other series: not matching, or tracked on their own. */
    iocd_alerts_observe(a, "air", "pk-01", "pm10", 500, t);
    iocd_alerts_observe(a, "water", "pk-01", "pm25", 500, t);
    iocd_alerts_observe(a, "air", "pk-02", "pm25", 40, t);
    assert_int_equal(r.n, 3);
    iocd_alerts_observe(a, "air", "pk-02", "pm25", 60, t + 1);
    assert_int_equal(r.n, 4);
    assert_string_equal(r.c[3].id, "pm25_high/air/pk-02/pm25");
    assert_int_equal(iocd_alerts_active_count(a), 2);
    /* Older samples do not replace the latest value; NaN is ignored. */
    iocd_alerts_observe(a, "air", "pk-02", "pm25", 0, t - 5000);
    iocd_alerts_observe(a, "air", "pk-02", "pm25", NAN, t + 2);
    iocd_alerts_observe(a, "air", "pk-02", "pm25", INFINITY, t + 3);
    assert_int_equal(r.n, 4);
    iocd_alerts_free(a);
}

static void test_below_rule(void **state)
{
    (void)state;
    struct iocd_alert_rule rules[] = {
        threshold_rule("water_low", "water/+/level", IOCD_STAT_LAST, 0, false, 1.0, 1.2)};
    struct iocd_config cfg;
    one_rule_cfg(&cfg, rules, 1);
    struct rec r = {0};
    struct iocd_alerts *a = iocd_alerts_new(&cfg, on_alert, &r);
    const double vals[] = {1.1, 1.0, 0.9, 1.1, 0.5, 1.19, 1.2, 1.0, 0.99};
    for (int i = 0; i < 9; i++)
        iocd_alerts_observe(a, "water", "w1", "level", vals[i], 1000 * (i + 1));
    assert_int_equal(r.n, 3);
    assert_true(r.c[0].raised);
    assert_int_equal(r.c[0].time_ms, 3000);
    assert_string_equal(r.c[0].text, "water_low: water/w1/level 0.9 < 1");
    assert_false(r.c[1].raised);
    assert_int_equal(r.c[1].time_ms, 7000);
    assert_true(r.c[1].threshold == 1.2);
    assert_string_equal(r.c[1].text, "water_low: water/w1/level 1.2 >= 1.2, cleared");
    assert_true(r.c[2].raised);
    assert_int_equal(r.c[2].time_ms, 9000);
    iocd_alerts_free(a);
}

/* A clear level on the wrong side of the level acts as the level itself. */
static void test_clear_on_wrong_side(void **state)
{
    (void)state;
    struct iocd_alert_rule rules[] = {
        threshold_rule("x", "a/b/c", IOCD_STAT_LAST, 0, true, 10, 20)};
    struct iocd_config cfg;
    one_rule_cfg(&cfg, rules, 1);
    struct rec r = {0};
    struct iocd_alerts *a = iocd_alerts_new(&cfg, on_alert, &r);
    iocd_alerts_observe(a, "a", "b", "c", 15, 1);
    iocd_alerts_observe(a, "a", "b", "c", 15, 2);
    iocd_alerts_observe(a, "a", "b", "c", 11, 3);
    assert_int_equal(r.n, 1);
    iocd_alerts_observe(a, "a", "b", "c", 10, 4);
    assert_int_equal(r.n, 2);
    assert_false(r.c[1].raised);
    assert_true(r.c[1].threshold == 10);
    iocd_alerts_free(a);
}

static void test_rolling_mean(void **state)
{
    (void)state;
    struct iocd_alert_rule rules[] = {
        threshold_rule("pm25_1h", "air/+/pm25", IOCD_STAT_MEAN, 3600000, true, 55, 50)};
    struct iocd_config cfg;
    one_rule_cfg(&cfg, rules, 1);
    struct rec r = {0};
    struct iocd_alerts *a = iocd_alerts_new(&cfg, on_alert, &r);
    /* Sub-buckets of 60 s; the window is the 60 ending with the newest. */
    iocd_alerts_observe(a, "air", "pk-01", "pm25", 40, 0);
    iocd_alerts_observe(a, "air", "pk-01", "pm25", 80, 600000);
    assert_int_equal(r.n, 1);
    assert_true(r.c[0].value == 60);
    assert_string_equal(r.c[0].text, "pm25_1h: air/pk-01/pm25 mean over 1h 60 > 55");
    /* 3599999 is in bucket 59: bucket 0 (the 40) still counts. */
    iocd_alerts_observe(a, "air", "pk-01", "pm25", 50, 3599999);
    assert_int_equal(r.n, 1);
    /* 3600000 opens bucket 60, bucket 0 leaves: (80 + 50 + 20) / 3 = 50. */
    iocd_alerts_observe(a, "air", "pk-01", "pm25", 20, 3600000);
    assert_int_equal(r.n, 2);
    assert_false(r.c[1].raised);
    assert_true(r.c[1].value == 50);
    assert_int_equal(r.c[1].time_ms, 3600000);
    assert_int_equal(r.c[1].raised_ms, 600000);
    /* A sample older than the window is ignored for the statistic. */
    iocd_alerts_observe(a, "air", "pk-01", "pm25", 1000, 59999);
    assert_int_equal(r.n, 2);
    /* A late sample inside the window counts: (80+50+20+190)/4 = 85. */
    iocd_alerts_observe(a, "air", "pk-01", "pm25", 190, 60000);
    assert_int_equal(r.n, 3);
    assert_true(r.c[2].raised);
    assert_true(r.c[2].value == 85);
    assert_int_equal(r.c[2].time_ms, 60000);
    /* A gap longer than the window empties it: only the new sample. */
    iocd_alerts_observe(a, "air", "pk-01", "pm25", 7, 100000000);
    assert_int_equal(r.n, 4);
    assert_false(r.c[3].raised);
    assert_true(r.c[3].value == 7);
    iocd_alerts_free(a);
}

static void test_window_max_count_min_sum(void **state)
{
    (void)state;
    struct iocd_alert_rule rules[] = {
        threshold_rule("mx", "s/d/max", IOCD_STAT_MAX, 60000, true, 60, 50),
        threshold_rule("cnt", "s/d/cnt", IOCD_STAT_COUNT, 60000, true, 3, 2),
        threshold_rule("mn", "s/d/min", IOCD_STAT_MIN, 60000, false, 5, 5),
        threshold_rule("sm", "s/d/sum", IOCD_STAT_SUM, 60000, true, 100, 100),
    };
    struct iocd_config cfg;
    one_rule_cfg(&cfg, rules, 4);
    struct rec r = {0};
    struct iocd_alerts *a = iocd_alerts_new(&cfg, on_alert, &r);
    /* max over 1 min, 1 s buckets. */
    iocd_alerts_observe(a, "s", "d", "max", 10, 0);
    iocd_alerts_observe(a, "s", "d", "max", 70, 30000);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.c[0].text, "mx: s/d/max max over 1m 70 > 60");
    iocd_alerts_observe(a, "s", "d", "max", 20, 61000);
    iocd_alerts_observe(a, "s", "d", "max", 20, 89999); /* window 30..89 s: 70 still in */
    assert_int_equal(r.n, 1);
    iocd_alerts_observe(a, "s", "d", "max", 20, 90000); /* 30 s bucket leaves */
    assert_int_equal(r.n, 2);
    assert_false(r.c[1].raised);
    assert_true(r.c[1].value == 20);
    r.n = 0;
    /* count: four samples in a minute raise, an emptier minute clears. */
    for (int i = 0; i < 4; i++)
        iocd_alerts_observe(a, "s", "d", "cnt", 0, i * 1000);
    assert_int_equal(r.n, 1);
    assert_true(r.c[0].value == 4);
    assert_int_equal(r.c[0].time_ms, 3000);
    iocd_alerts_observe(a, "s", "d", "cnt", 0, 61000); /* window 2..61 s: 2, 3, 61 */
    assert_int_equal(r.n, 1);
    iocd_alerts_observe(a, "s", "d", "cnt", 0, 63000); /* window 4..63 s: 61, 63 */
    assert_int_equal(r.n, 2);
    assert_false(r.c[1].raised);
    assert_true(r.c[1].value == 2);
    assert_string_equal(r.c[1].text, "cnt: s/d/cnt count over 1m 2 <= 2, cleared");
    r.n = 0;
    /* min below 5; sum above 100. */
    iocd_alerts_observe(a, "s", "d", "min", 6, 0);
    iocd_alerts_observe(a, "s", "d", "min", 4, 1000);
    iocd_alerts_observe(a, "s", "d", "min", 9, 2000);
    assert_int_equal(r.n, 1);
    assert_true(r.c[0].value == 4);
    iocd_alerts_observe(a, "s", "d", "min", 9, 61000); /* the 4 leaves: min 9 */
    assert_int_equal(r.n, 2);
    assert_true(r.c[1].value == 9);
    iocd_alerts_observe(a, "s", "d", "sum", 60, 0);
    iocd_alerts_observe(a, "s", "d", "sum", 40, 500);
    assert_int_equal(r.n, 2); /* 100 is not above 100 */
    iocd_alerts_observe(a, "s", "d", "sum", 0.5, 999);
    assert_int_equal(r.n, 3);
    assert_true(r.c[2].value == 100.5);
    iocd_alerts_free(a);
}

static void test_bands(void **state)
{
    (void)state;
    struct iocd_alert_rule rules[] = {{
        .name = "aqi_band", .type = IOCD_ALERT_BAND, .match = "air/+/vn_aqi",
        .stat = IOCD_STAT_LAST, .bands = {50, 100, 150, 200, 300}, .n_bands = 5,
        .hysteresis = 5, .severity = 1, .text = "",
    }};
    struct iocd_config cfg;
    one_rule_cfg(&cfg, rules, 1);
    struct rec r = {0};
    struct iocd_alerts *a = iocd_alerts_new(&cfg, on_alert, &r);
    int64_t t = 0;
#define OBS(v) iocd_alerts_observe(a, "air", "pk-01", "vn_aqi", (v), t += 1000)
    OBS(40);
    OBS(50); /* not above the edge */
    assert_int_equal(r.n, 0);
    OBS(51);
    assert_int_equal(r.n, 1);
    assert_true(r.c[0].raised);
    assert_int_equal(r.c[0].band, 1);
    assert_int_equal(r.c[0].prev_band, 0);
    assert_int_equal(r.c[0].severity, 1);
    assert_true(r.c[0].threshold == 50);
    assert_string_equal(r.c[0].text, "aqi_band: air/pk-01/vn_aqi 51 > 50, band 1 (was 0)");
    OBS(49);
    OBS(45); /* not below 50 - 5 */
    OBS(50);
    assert_int_equal(r.n, 1);
    OBS(44.9);
    assert_int_equal(r.n, 2);
    assert_false(r.c[1].raised);
    assert_int_equal(r.c[1].band, 0);
    assert_int_equal(r.c[1].prev_band, 1);
    assert_int_equal(r.c[1].severity, 1);
    assert_true(r.c[1].threshold == 50);
    assert_int_equal(r.c[1].raised_ms, 3000);
    assert_string_equal(r.c[1].text,
                        "aqi_band: air/pk-01/vn_aqi 44.9 back below 50, band 0 (was 1), cleared");
    OBS(162); /* t 8000: jumps to band 3 */
    assert_int_equal(r.n, 3);
    assert_true(r.c[2].raised);
    assert_int_equal(r.c[2].band, 3);
    assert_int_equal(r.c[2].prev_band, 0);
    assert_int_equal(r.c[2].severity, 3);
    assert_true(r.c[2].threshold == 150);
    assert_int_equal(r.c[2].raised_ms, 8000);
    OBS(148);
    OBS(145);
    assert_int_equal(r.n, 3);
    OBS(144); /* below 150 - 5: band 2, still raised */
    assert_int_equal(r.n, 4);
    assert_true(r.c[3].raised);
    assert_int_equal(r.c[3].band, 2);
    assert_int_equal(r.c[3].prev_band, 3);
    assert_int_equal(r.c[3].severity, 2);
    assert_true(r.c[3].threshold == 150);
    assert_int_equal(r.c[3].raised_ms, 8000); /* raised since band 3 */
    assert_int_equal(iocd_alerts_active_count(a), 1);
    OBS(350);
    assert_int_equal(r.n, 5);
    assert_int_equal(r.c[4].band, 5);
    assert_int_equal(r.c[4].prev_band, 2);
    assert_int_equal(r.c[4].severity, 5); /* 1 + 4, critical */
    assert_true(r.c[4].threshold == 300);
    OBS(10);
    assert_int_equal(r.n, 6);
    assert_false(r.c[5].raised);
    assert_int_equal(r.c[5].band, 0);
    assert_int_equal(r.c[5].prev_band, 5);
    assert_int_equal(r.c[5].severity, 5); /* of the alert that ended */
    assert_int_equal(iocd_alerts_active_count(a), 0);
#undef OBS
    iocd_alerts_free(a);

    /* Severity is capped at critical. */
    rules[0].severity = 3;
    r.n = 0;
    a = iocd_alerts_new(&cfg, on_alert, &r);
    iocd_alerts_observe(a, "air", "x", "vn_aqi", 250, 1);
    iocd_alerts_observe(a, "air", "x", "vn_aqi", 301, 2);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.c[0].band, 4);
    assert_int_equal(r.c[0].severity, 5); /* 3 + 3 -> 5 */
    assert_int_equal(r.c[1].severity, 5);
    iocd_alerts_free(a);
}

static void test_stale_rule(void **state)
{
    (void)state;
    struct iocd_alert_rule rules[] = {{
        .name = "silent", .type = IOCD_ALERT_STALE, .match = "air/#", .multiple = 3,
        .severity = 2, .text = "",
    }};
    struct iocd_config cfg;
    one_rule_cfg(&cfg, rules, 1);
    struct rec r = {0};
    struct iocd_devices *dev = iocd_devices_new(&cfg, NULL, NULL);
    struct iocd_alerts *a = iocd_alerts_new(&cfg, on_alert, &r);
    /* 3 gaps of 10 s: the interval is learned (IOCD_ALERTS_STALE_MIN_GAPS) */
    iocd_devices_seen(dev, "air", "pk-01", -20000);
    iocd_devices_seen(dev, "air", "pk-01", -10000);
    iocd_devices_seen(dev, "air", "pk-01", 0);
    iocd_devices_seen(dev, "air", "pk-01", 10000); /* interval 10 s */
    iocd_devices_seen(dev, "water", "w1", 0);      /* not matched */
    /* 2 gaps only: never judged, however long it is silent */
    iocd_devices_seen(dev, "air", "pk-02", -10000);
    iocd_devices_seen(dev, "air", "pk-02", 0);
    iocd_devices_seen(dev, "air", "pk-02", 10000);
    iocd_alerts_tick(a, dev, 40000);
    assert_int_equal(r.n, 0);
    iocd_alerts_tick(a, dev, 40001);
    assert_int_equal(r.n, 1);
    assert_true(r.c[0].raised);
    assert_string_equal(r.c[0].id, "silent/air/pk-01");
    assert_string_equal(r.c[0].series, "air/pk-01");
    assert_string_equal(r.c[0].source, "air");
    assert_string_equal(r.c[0].device, "pk-01");
    assert_true(r.c[0].value == 30.001);
    assert_true(r.c[0].threshold == 30);
    assert_int_equal(r.c[0].band, -1);
    assert_int_equal(r.c[0].time_ms, 40001);
    assert_int_equal(r.c[0].raised_ms, 40001);
    assert_string_equal(r.c[0].text, "silent: air/pk-01 silent 30.001 s > 30 s");
    iocd_alerts_tick(a, dev, 41000);
    iocd_alerts_tick(a, dev, 500000); /* still silent: no repeat */
    assert_int_equal(r.n, 1);
    assert_int_equal(iocd_alerts_active_count(a), 1);
    iocd_devices_tick(dev, 500000);                 /* offline after 100 s */
    iocd_devices_seen(dev, "air", "pk-01", 510000); /* the outage is not learned */
    iocd_alerts_tick(a, dev, 511000);
    assert_int_equal(r.n, 2);
    assert_false(r.c[1].raised);
    assert_true(r.c[1].value == 1);
    assert_true(r.c[1].threshold == 30);
    assert_int_equal(r.c[1].raised_ms, 40001);
    assert_int_equal(r.c[1].time_ms, 511000);
    assert_string_equal(r.c[1].text, "silent: air/pk-01 reporting again, cleared");
    assert_int_equal(iocd_alerts_active_count(a), 0);
    /* The rule's multiple defaults to [devices] stale_multiple. */
    rules[0].multiple = 0;
    cfg.devices.stale_multiple = 2;
    iocd_alerts_tick(a, dev, 530000);
    assert_int_equal(r.n, 2);
    iocd_alerts_tick(a, dev, 530001);
    assert_int_equal(r.n, 3);
    assert_true(r.c[2].raised);
    assert_true(r.c[2].threshold == 20);
    /* Observations do not touch stale rules; NULLs are harmless. */
    iocd_alerts_observe(a, "air", "pk-01", "x", 1, 1);
    iocd_alerts_tick(a, NULL, 1);
    iocd_alerts_tick(NULL, dev, 1);
    assert_int_equal(r.n, 3);
    iocd_alerts_free(a);
    iocd_devices_free(dev);
}

struct active {
    int n;
    char ids[4][64];
    double values[4];
    int64_t times[4];
};

static void on_active(void *ud, const struct iocd_alert_change *c)
{
    struct active *x = ud;
    assert_true(c->raised);
    if (x->n < 4) {
        snprintf(x->ids[x->n], sizeof(x->ids[0]), "%s", c->id);
        x->values[x->n] = c->value;
        x->times[x->n] = c->time_ms;
    }
    x->n++;
}

static void test_text_and_active(void **state)
{
    (void)state;
    struct iocd_alert_rule rules[] = {
        threshold_rule("pm25_high", "air/+/pm25", IOCD_STAT_LAST, 0, true, 55, 50),
        threshold_rule("flood", "water/+/level", IOCD_STAT_LAST, 0, true, 3.5, 3.4),
    };
    rules[1].text = "Water level above alert level 3.5 m";
    rules[1].severity = 4;
    struct iocd_config cfg;
    one_rule_cfg(&cfg, rules, 2);
    struct rec r = {0};
    struct iocd_alerts *a = iocd_alerts_new(&cfg, on_alert, &r);
    iocd_alerts_observe(a, "water", "w1", "level", 3.6, 1000);
    iocd_alerts_observe(a, "air", "pk-01", "pm25", 60, 2000);
    iocd_alerts_observe(a, "air", "pk-01", "pm25", 52, 3000); /* still raised */
    assert_int_equal(r.n, 2);
    assert_string_equal(r.c[0].text, "Water level above alert level 3.5 m");
    assert_int_equal(r.c[0].severity, 4);
    struct active x = {0};
    iocd_alerts_foreach_active(a, on_active, &x);
    assert_int_equal(x.n, 2);
    assert_string_equal(x.ids[0], "flood/water/w1/level");
    assert_string_equal(x.ids[1], "pm25_high/air/pk-01/pm25");
    assert_true(x.values[1] == 52); /* the latest evaluation */
    assert_int_equal(x.times[1], 3000);
    iocd_alerts_observe(a, "water", "w1", "level", 3.4, 4000);
    assert_int_equal(r.n, 3);
    assert_string_equal(r.c[2].text, "Water level above alert level 3.5 m");
    x.n = 0;
    iocd_alerts_foreach_active(a, on_active, &x);
    assert_int_equal(x.n, 1);
    assert_string_equal(x.ids[0], "pm25_high/air/pk-01/pm25");
    iocd_alerts_free(a);

    /* No callback, no rules, NULLs: nothing happens, nothing crashes. */
    a = iocd_alerts_new(&cfg, NULL, NULL);
    iocd_alerts_observe(a, "air", "pk-01", "pm25", 60, 1);
    assert_int_equal(iocd_alerts_active_count(a), 1);
    iocd_alerts_observe(a, NULL, "pk-01", "pm25", 60, 1);
    iocd_alerts_observe(NULL, "air", "pk-01", "pm25", 60, 1);
    iocd_alerts_foreach_active(NULL, on_active, &x);
    iocd_alerts_free(a);
    iocd_alerts_free(NULL);
    assert_null(iocd_alerts_new(NULL, NULL, NULL));
}

/* At most 100000 (rule, series) pairs: the next series is not evaluated,
 * the existing ones still are. */
static void test_pair_bound(void **state)
{
    (void)state;
    enum { BOUND = 100000 };
    struct iocd_alert_rule rules[] = {
        threshold_rule("any", "+/+/+", IOCD_STAT_LAST, 0, true, 0, 0)};
    struct iocd_config cfg;
    one_rule_cfg(&cfg, rules, 1);
    struct iocd_alerts *a = iocd_alerts_new(&cfg, NULL, NULL);
    char dev[16];
    for (int k = 0; k < BOUND; k++) {
        snprintf(dev, sizeof(dev), "d%d", k);
        iocd_alerts_observe(a, "s", dev, "m", 1, 1);
    }
    assert_int_equal(iocd_alerts_active_count(a), BOUND);
    iocd_alerts_observe(a, "s", "one-more", "m", 1, 1);
    assert_int_equal(iocd_alerts_active_count(a), BOUND);
    iocd_alerts_observe(a, "s", "d0", "m", -1, 2);
    iocd_alerts_observe(a, "s", "d99999", "m", -1, 2);
    assert_int_equal(iocd_alerts_active_count(a), BOUND - 2);
    iocd_alerts_free(a);
}

/* A raise stored before a restart: put back silently; a value still above
 * the level raises nothing, the clear pairs with the stored raise. */
static void test_restore_threshold(void **state)
{
    (void)state;
    struct iocd_alert_rule rules[] = {
        threshold_rule("pm25_high", "air/+/pm25", IOCD_STAT_MEAN, 3600000, true, 55, 50)};
    struct iocd_config cfg;
    one_rule_cfg(&cfg, rules, 1);
    struct rec r = {0};
    struct iocd_alerts *a = iocd_alerts_new(&cfg, on_alert, &r);
    struct iocd_alert_saved s = {.rule = "pm25_high", .source = "air", .device = "pk-01",
                                 .metric = "pm25", .raised_ms = 120000, .time_ms = 120000,
                                 .value = 60, .threshold = 55, .band = -1, .prev_band = -1};
    assert_int_equal(iocd_alerts_restore(a, NULL, &s), 0);
    assert_int_equal(iocd_alerts_restore(a, NULL, &s), -1); /* raised already */
    assert_int_equal(r.n, 0);
    assert_int_equal(iocd_alerts_active_count(a), 1);
    struct active x = {0};
    iocd_alerts_foreach_active(a, on_active, &x);
    assert_int_equal(x.n, 1);
    assert_string_equal(x.ids[0], "pm25_high/air/pk-01/pm25");
    assert_true(x.values[0] == 60);
    assert_int_equal(x.times[0], 120000);
    /* The window starts empty: the mean is of what arrives from now. */
    iocd_alerts_observe(a, "air", "pk-01", "pm25", 70, 600000);
    assert_int_equal(r.n, 0);
    iocd_alerts_observe(a, "air", "pk-01", "pm25", 20, 660000); /* mean 45 */
    assert_int_equal(r.n, 1);
    assert_false(r.c[0].raised);
    assert_string_equal(r.c[0].id, "pm25_high/air/pk-01/pm25");
    assert_true(r.c[0].value == 45);
    assert_true(r.c[0].threshold == 50);
    assert_int_equal(r.c[0].time_ms, 660000);
    assert_int_equal(r.c[0].raised_ms, 120000);
    assert_int_equal(r.c[0].severity, 2);
    assert_int_equal(iocd_alerts_active_count(a), 0);

    /* Not restored: unknown rule, kind or series the rule does not match. */
    struct iocd_alert_saved b = s;
    b.rule = "gone";
    assert_int_equal(iocd_alerts_restore(a, NULL, &b), -1);
    b = s;
    b.metric = NULL; /* a stale-rule id for a threshold rule */
    assert_int_equal(iocd_alerts_restore(a, NULL, &b), -1);
    b = s;
    b.source = "water";
    assert_int_equal(iocd_alerts_restore(a, NULL, &b), -1);
    b = s;
    b.value = NAN;
    assert_int_equal(iocd_alerts_restore(a, NULL, &b), -1);
    assert_int_equal(iocd_alerts_restore(a, NULL, NULL), -1);
    assert_int_equal(iocd_alerts_restore(NULL, NULL, &s), -1);
    assert_int_equal(iocd_alerts_active_count(a), 0);
    assert_int_equal(r.n, 1);
    iocd_alerts_free(a);
}

static void test_restore_band(void **state)
{
    (void)state;
    struct iocd_alert_rule rules[] = {{
        .name = "aqi_band", .type = IOCD_ALERT_BAND, .match = "air/+/vn_aqi",
        .stat = IOCD_STAT_LAST, .bands = {50, 100, 150, 200, 300}, .n_bands = 5,
        .hysteresis = 5, .severity = 1, .text = "",
    }};
    struct iocd_config cfg;
    one_rule_cfg(&cfg, rules, 1);
    struct rec r = {0};
    struct iocd_alerts *a = iocd_alerts_new(&cfg, on_alert, &r);
    struct iocd_alert_saved s = {.rule = "aqi_band", .source = "air", .device = "pk-01",
                                 .metric = "vn_aqi", .raised_ms = 1000, .time_ms = 5000,
                                 .value = 120, .threshold = 100, .band = 3, .prev_band = 2};
    s.band = 6; /* beyond the rule's bands */
    assert_int_equal(iocd_alerts_restore(a, NULL, &s), -1);
    s.band = 0;
    assert_int_equal(iocd_alerts_restore(a, NULL, &s), -1);
    s.band = 3;
    assert_int_equal(iocd_alerts_restore(a, NULL, &s), 0);
    assert_int_equal(r.n, 0);
    iocd_alerts_observe(a, "air", "pk-01", "vn_aqi", 146, 6000); /* band 3 with hysteresis */
    assert_int_equal(r.n, 0);
    iocd_alerts_observe(a, "air", "pk-01", "vn_aqi", 96, 7000); /* down to band 2 */
    assert_int_equal(r.n, 1);
    assert_true(r.c[0].raised);
    assert_int_equal(r.c[0].band, 2);
    assert_int_equal(r.c[0].prev_band, 3);
    assert_int_equal(r.c[0].severity, 2);
    assert_int_equal(r.c[0].raised_ms, 1000);
    iocd_alerts_observe(a, "air", "pk-01", "vn_aqi", 40, 8000);
    assert_int_equal(r.n, 2);
    assert_false(r.c[1].raised);
    assert_int_equal(r.c[1].band, 0);
    assert_int_equal(r.c[1].raised_ms, 1000);
    assert_true(r.c[1].threshold == 50);
    iocd_alerts_free(a);
}

/* A stale alert is keyed by the restored device record: still silent, it
 * stays raised without a second raise; seen again, it clears. */
static void test_restore_stale(void **state)
{
    (void)state;
    struct iocd_alert_rule rules[] = {{
        .name = "silent", .type = IOCD_ALERT_STALE, .match = "air/#", .multiple = 3,
        .severity = 2, .text = "",
    }};
    struct iocd_config cfg;
    one_rule_cfg(&cfg, rules, 1);
    struct rec r = {0};
    struct iocd_devices *dev = iocd_devices_new(&cfg, NULL, NULL);
    struct iocd_alerts *a = iocd_alerts_new(&cfg, on_alert, &r);
    struct iocd_device_row row = {.source = "air", .device = "pk-01",
                                  .state = IOCD_DEVICE_STALE, .first_seen_ms = 0,
                                  .last_seen_ms = 10000, .interval_ms = 10000, .messages = 4};
    struct iocd_alert_saved s = {.rule = "silent", .source = "air", .device = "pk-01",
                                 .metric = NULL, .raised_ms = 40001, .time_ms = 40001,
                                 .value = 30.001, .threshold = 30, .band = -1,
                                 .prev_band = -1};
    assert_int_equal(iocd_alerts_restore(a, dev, &s), -1); /* device not restored yet */
    assert_int_equal(iocd_devices_restore(dev, &row), 0);
    s.metric = "x"; /* an observation id for a stale rule */
    assert_int_equal(iocd_alerts_restore(a, dev, &s), -1);
    s.metric = NULL;
    assert_int_equal(iocd_alerts_restore(a, dev, &s), 0);
    iocd_alerts_tick(a, dev, 90000);
    assert_int_equal(r.n, 0);
    assert_int_equal(iocd_alerts_active_count(a), 1);
    iocd_devices_seen(dev, "air", "pk-01", 95000);
    iocd_alerts_tick(a, dev, 96000);
    assert_int_equal(r.n, 1);
    assert_false(r.c[0].raised);
    assert_string_equal(r.c[0].id, "silent/air/pk-01");
    assert_true(r.c[0].value == 1);
    assert_int_equal(r.c[0].raised_ms, 40001);
    assert_int_equal(iocd_alerts_active_count(a), 0);
    /* Interval 10000 + (85000 - 10000) / 4 = 28750: silent again, a new raise. */
    assert_int_equal(iocd_devices_get(dev, "air", "pk-01")->interval_ms, 28750);
    iocd_alerts_tick(a, dev, 95000 + 3 * 28750);
    assert_int_equal(r.n, 1);
    iocd_alerts_tick(a, dev, 95000 + 3 * 28750 + 1);
    assert_int_equal(r.n, 2);
    assert_true(r.c[1].raised);
    iocd_alerts_free(a);
    iocd_devices_free(dev);
}

/* After a restart the rules' windows come back from stored windows: the
 * next observation evaluates on the samples before the restart too. */
static void test_prefill(void **state)
{
    (void)state;
    struct iocd_alert_rule rules[] = {
        threshold_rule("pm25_1h", "air/+/pm25", IOCD_STAT_MEAN, 3600000, true, 55, 50),
        threshold_rule("pm25_max", "air/+/pm25", IOCD_STAT_MAX, 3600000, true, 100, 100),
        /* 10 s sub-buckets: 1-minute windows do not fit in them */
        threshold_rule("pm25_10m", "air/+/pm25", IOCD_STAT_MEAN, 600000, true, 1, 1),
        threshold_rule("last", "air/+/pm25", IOCD_STAT_LAST, 0, true, 1000, 1000)};
    struct iocd_config cfg;
    one_rule_cfg(&cfg, rules, 4);
    struct rec r = {0};
    struct iocd_alerts *a = iocd_alerts_new(&cfg, on_alert, &r);
    assert_int_equal(iocd_alerts_history_ms(a, "air/pk-01/pm25", 60000), 3600000);
    assert_int_equal(iocd_alerts_history_ms(a, "air/pk-01/pm25", 7 * 60000), 0);
    assert_int_equal(iocd_alerts_history_ms(a, "air/pk-01/pm10", 60000), 0);
    /* Three stored minutes: 2 samples summing 120 (max 70), 1 of 60, and
     * one an hour and more before the newest (left out of the window). */
    iocd_alerts_prefill(a, "air/pk-01/pm25", 0, 60000, 1, 500, 500, 500);
    iocd_alerts_prefill(a, "air/pk-01/pm25", 3600000, 60000, 2, 120, 50, 70);
    iocd_alerts_prefill(a, "air/pk-01/pm25", 3660000, 60000, 1, 60, 60, 60);
    assert_int_equal(r.n, 0); /* nothing evaluated yet */
    /* 20 at 01:02: mean (120 + 60 + 20) / 4 = 50, not above 55; max 70;
     * the 10-minute rule, not refilled, sees 20 alone: raised. */
    iocd_alerts_observe(a, "air", "pk-01", "pm25", 20, 3720000);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.c[0].rule, "pm25_10m");
    assert_true(r.c[0].raised && r.c[0].value == 20);
    /* 90 at 01:03: (200 + 90) / 5 = 58 > 55: raised; max 90, not above
     * 100 (the 500 is more than an hour older than the newest minute). */
    iocd_alerts_observe(a, "air", "pk-01", "pm25", 90, 3780000);
    assert_int_equal(r.n, 2);
    assert_string_equal(r.c[1].rule, "pm25_1h");
    assert_true(r.c[1].raised && r.c[1].value == 58);
    assert_int_equal(r.c[1].time_ms, 3780000);
    iocd_alerts_free(a);
}


/* ---- event rules ---- */

static struct iocd_alert_event ev_of(const char *kind, int sev, const char *device,
                                     const char *area, int64_t t, const char *const *keys,
                                     const char *const *values, size_t n_attrs)
{
    return (struct iocd_alert_event){.kind = kind, .severity = sev, .device = device,
                                     .area = area, .time_ms = t, .attr_keys = keys,
                                     .attr_values = values, .n_attrs = n_attrs};
}

/* iocd_alerts_event for `source`. */
static void on_event(struct iocd_alerts *a, const char *source, struct iocd_alert_event e)
{
    e.source = source;
    iocd_alerts_event(a, &e);
}

static struct iocd_alert_rule event_rule(const char *name, const char *match, int64_t count,
                                         int64_t window_ms, enum iocd_alert_per per)
{
    return (struct iocd_alert_rule){.name = (char *)name, .type = IOCD_ALERT_EVENT,
                                    .match = (char *)match, .stat = IOCD_STAT_COUNT,
                                    .window_ms = window_ms, .count = count, .per = per,
                                    .above = true, .level = (double)count,
                                    .clear = (double)count, .severity = 2,
                                    .text = (char *)""};
}

static void test_event_single_raise_and_expiry(void **state)
{
    (void)state;
    struct iocd_alert_rule rules[] = {event_rule("fire_major", "fire/+", 1, 60000, IOCD_PER_DEVICE)};
    rules[0].min_severity = 4; /* major */
    struct iocd_config cfg;
    one_rule_cfg(&cfg, rules, 1);
    struct rec r = {0};
    struct iocd_alerts *a = iocd_alerts_new(&cfg, on_alert, &r);
    struct iocd_devices *dev = iocd_devices_new(&cfg, NULL, NULL);
    on_event(a, "fire", ev_of("fire_alarm", 3, "FP-1", "Hoi Thuong", 10000, NULL, NULL, 0));
    assert_int_equal(r.n, 0); /* below min_severity */
    on_event(a, "fire", ev_of("fire_alarm", 5, "FP-1", "Hoi Thuong", 10500, NULL, NULL, 0));
    assert_int_equal(r.n, 1);
    assert_string_equal(r.c[0].id, "fire_major/fire/FP-1");
    assert_string_equal(r.c[0].series, "fire/FP-1");
    assert_string_equal(r.c[0].device, "FP-1");
    assert_true(r.c[0].raised);
    assert_int_equal(r.c[0].severity, 5); /* the event's: the rule gives none */
    assert_true(r.c[0].value == 1 && r.c[0].threshold == 1);
    assert_int_equal(r.c[0].time_ms, 10500);
    assert_string_equal(r.c[0].text, "fire_major: fire/FP-1 1 event(s) in 1m >= 1");
    /* another alarm keeps it raised (no second raise); other kinds of fire/ count too */
    on_event(a, "fire", ev_of("smoke", 4, "FP-1", "", 20000, NULL, NULL, 0));
    assert_int_equal(r.n, 1);
    assert_int_equal(iocd_alerts_active_count(a), 1);
    /* still 1 event (of 20000) in the minute ending at 79999 */
    iocd_alerts_tick(a, dev, 79999);
    assert_int_equal(r.n, 1);
    iocd_alerts_tick(a, dev, 80000);
    assert_int_equal(r.n, 2);
    assert_false(r.c[1].raised);
    assert_true(r.c[1].value == 0 && r.c[1].threshold == 1);
    assert_int_equal(r.c[1].time_ms, 80000);
    assert_string_equal(r.c[1].text, "fire_major: fire/FP-1 0 event(s) in 1m < 1, cleared");
    assert_int_equal(iocd_alerts_active_count(a), 0);
    /* other sources do not match fire/+ */
    on_event(a, "reports", ev_of("fire_alarm", 5, "X", "", 90000, NULL, NULL, 0));
    assert_int_equal(r.n, 2);
    iocd_devices_free(dev);
    iocd_alerts_free(a);
}

static void test_event_count_per_area_where(void **state)
{
    (void)state;
    struct iocd_alert_rule rules[] = {
        event_rule("flood_ward", "reports/flooding", 3, 3600000, IOCD_PER_AREA),
        event_rule("truck", "violations/red_light", 1, 60000, IOCD_PER_SOURCE)};
    rules[0].severity = 4;
    rules[0].severity_given = true;
    char *wk[] = {(char *)"vehicle"}, *wv[] = {(char *)"truck"};
    rules[1].where_key[0] = wk[0];
    rules[1].where_value[0] = wv[0];
    rules[1].n_where = 1;
    struct iocd_config cfg;
    one_rule_cfg(&cfg, rules, 2);
    struct rec r = {0};
    struct iocd_alerts *a = iocd_alerts_new(&cfg, on_alert, &r);
    int64_t t = 1000000;
    for (int i = 0; i < 2; i++) {
        on_event(a, "reports", ev_of("flooding", 2, "r", "Hoi Thuong", t + i * 1000, NULL, NULL, 0));
    }
    on_event(a, "reports", ev_of("flooding", 2, "r", "Dien Hong", t + 2000, NULL, NULL, 0));
    on_event(a, "reports", ev_of("pothole", 2, "r", "Hoi Thuong", t + 2500, NULL, NULL, 0));
    assert_int_equal(r.n, 0);
    on_event(a, "reports", ev_of("flooding", 1, "r", "Hoi Thuong", t + 3000, NULL, NULL, 0));
    assert_int_equal(r.n, 1);
    assert_string_equal(r.c[0].id, "flood_ward/reports/Hoi Thuong");
    assert_true(r.c[0].value == 3 && r.c[0].threshold == 3);
    assert_int_equal(r.c[0].severity, 4);
    /* where: only trucks count; per source: subject _all */
    const char *vk[] = {"vehicle"}, *car[] = {"car"}, *truck[] = {"truck"};
    on_event(a, "violations", ev_of("red_light", 2, "CAM-1", "", t, vk, car, 1));
    assert_int_equal(r.n, 1);
    on_event(a, "violations", ev_of("red_light", 2, "CAM-2", "", t, vk, truck, 1));
    assert_int_equal(r.n, 2);
    assert_string_equal(r.c[1].id, "truck/violations/_all");
    /* The truck alert's minute ends first (1 s buckets: its event's leaves
     * the window at 1000000 + 60000). */
    struct iocd_devices *dev = iocd_devices_new(&cfg, NULL, NULL);
    iocd_alerts_tick(a, dev, 1059999);
    assert_int_equal(r.n, 2);
    iocd_alerts_tick(a, dev, 1060000);
    assert_int_equal(r.n, 3);
    assert_string_equal(r.c[2].id, "truck/violations/_all");
    assert_false(r.c[2].raised);
    /* The three floods share the 1-minute bucket 960000..1019999: the hour
     * ends for all three at 960000 + 3600000. */
    iocd_alerts_tick(a, dev, 4559999);
    assert_int_equal(r.n, 3);
    iocd_alerts_tick(a, dev, 4560000);
    assert_int_equal(r.n, 4);
    assert_string_equal(r.c[3].id, "flood_ward/reports/Hoi Thuong");
    assert_false(r.c[3].raised);
    assert_true(r.c[3].value == 0 && r.c[3].threshold == 3);
    iocd_devices_free(dev);
    iocd_alerts_free(a);
}

static void test_event_restore(void **state)
{
    (void)state;
    struct iocd_alert_rule rules[] = {event_rule("fire_any", "fire/+", 1, 60000, IOCD_PER_DEVICE)};
    struct iocd_config cfg;
    one_rule_cfg(&cfg, rules, 1);
    struct rec r = {0};
    struct iocd_alerts *a = iocd_alerts_new(&cfg, on_alert, &r);
    struct iocd_devices *dev = iocd_devices_new(&cfg, NULL, NULL);
    struct iocd_alert_saved s = {.rule = "fire_any", .source = "fire", .device = "FP-3",
                                 .raised_ms = 5000, .time_ms = 5000, .value = 1,
                                 .threshold = 1, .severity = 5};
    assert_int_equal(iocd_alerts_restore(a, dev, &s), 0);
    assert_int_equal(iocd_alerts_active_count(a), 1);
    assert_int_equal(r.n, 0);
    iocd_alerts_tick(a, dev, 64999);
    assert_int_equal(r.n, 0);
    iocd_alerts_tick(a, dev, 65000);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.c[0].id, "fire_any/fire/FP-3");
    assert_false(r.c[0].raised);
    assert_int_equal(r.c[0].raised_ms, 5000);
    assert_int_equal(r.c[0].severity, 5);
    iocd_devices_free(dev);
    iocd_alerts_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_topic_matches),
        cmocka_unit_test(test_threshold_hysteresis),
        cmocka_unit_test(test_below_rule),
        cmocka_unit_test(test_clear_on_wrong_side),
        cmocka_unit_test(test_rolling_mean),
        cmocka_unit_test(test_window_max_count_min_sum),
        cmocka_unit_test(test_bands),
        cmocka_unit_test(test_stale_rule),
        cmocka_unit_test(test_text_and_active),
        cmocka_unit_test(test_pair_bound),
        cmocka_unit_test(test_restore_threshold),
        cmocka_unit_test(test_restore_band),
        cmocka_unit_test(test_restore_stale),
        cmocka_unit_test(test_prefill),
        cmocka_unit_test(test_event_single_raise_and_expiry),
        cmocka_unit_test(test_event_count_per_area_where),
        cmocka_unit_test(test_event_restore),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
