/* tests/unit/test_json_adapter.c — the json adapter (adapters/json.c):
 * config errors with file and line, the simulator's feeds decoded to exact
 * Observations, and every reject reason it produces. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "adapters/adapter.h"

extern const struct iocd_adapter_ops iocd_adapter_json;
#define FX_OPS iocd_adapter_json


#include "adapter_fixture.h"

static enum iocd_reject decode_n(struct fx *f, const char *topic, const void *payload, size_t len)
{
    iocd_batch_reset(&f->batch);
    struct iocd_message m = {.topic = topic, .payload = payload, .len = len,
                             .received_ms = RECEIVED};
    enum iocd_reject r = iocd_adapter_json.decode(f->state, &m, &f->batch);
    if (r == IOCD_REJECT_NONE)
        assert_true(f->batch.n_obs > 0);
    else
        assert_int_equal(f->batch.n_obs, 0); /* all or nothing */
    return r;
}

/* The payload is copied to a buffer of exactly its length, so reading past
 * it is caught under ASan. */
static enum iocd_reject decode(struct fx *f, const char *topic, const char *payload)
{
    size_t n = strlen(payload);
    char *copy = malloc(n ? n : 1);
    assert_non_null(copy);
    memcpy(copy, payload, n);
    enum iocd_reject r = decode_n(f, topic, copy, n);
    free(copy);
    return r;
}

static void assert_obs(const struct fx *f, size_t i, const char *source, const char *device,
                       const char *metric, double value, const char *unit, int64_t observed_ms)
{
    assert_true(i < f->batch.n_obs);
    const Ioc__V1__Observation *o = f->batch.obs[i];
    assert_string_equal(o->source, source);
    assert_string_equal(o->device, device);
    assert_string_equal(o->metric, metric);
    if (o->value != value)
        fail_msg("obs %zu (%s): value %.17g, expected %.17g", i, metric, o->value, value);
    assert_string_equal(o->unit, unit);
    assert_int_equal(o->observed_ms, observed_ms);
    assert_int_equal(o->received_ms, RECEIVED);
    assert_int_equal(o->quality, IOC__V1__QUALITY__QUALITY_GOOD);
    assert_int_equal(o->n_labels, 0);
    assert_null(o->location);
}

static const char air_conf[] = "[adapter air]\n"              /* 1 */
                               "topic = pleiku/air/+/data\n"  /* 2 */
                               "format = json\n"              /* 3 */
                               "device = $.station\n"         /* 4 */
                               "time = $.ts\n"                /* 5 */
                               "metric.pm25 = $.pm25 ug/m3\n" /* 6 */
                               "metric.pm10 = $.pm10 ug/m3\n" /* 7 */
                               "metric.no2 = $.no2 ug/m3\n"   /* 8 */
                               "metric.temperature = $.temp Cel\n"
                               "metric.humidity = $.rh %\n";

static const char air_payload[] = "{\"station\":\"GL-AQ01\",\"ts\":\"2026-11-22T17:04:05+07:00\","
                                  "\"pm25\":23.4,\"pm10\":41.2,\"no2\":18.5,\"temp\":24.1,"
                                  "\"rh\":78.0}";

#define AIR_TOPIC "pleiku/air/GL-AQ01/data"
#define AIR_T INT64_C(1795341845000) /* 2026-11-22T10:04:05Z */

static void test_sim_air(void **state)
{
    (void)state;
    struct fx *f = fx_new(air_conf);
    assert_int_equal(decode(f, AIR_TOPIC, air_payload), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 5);
    assert_int_equal(f->batch.n_events, 0);
    assert_obs(f, 0, "air", "GL-AQ01", "pm25", 23.4, "ug/m3", AIR_T);
    assert_obs(f, 1, "air", "GL-AQ01", "pm10", 41.2, "ug/m3", AIR_T);
    assert_obs(f, 2, "air", "GL-AQ01", "no2", 18.5, "ug/m3", AIR_T);
    assert_obs(f, 3, "air", "GL-AQ01", "temperature", 24.1, "Cel", AIR_T);
    assert_obs(f, 4, "air", "GL-AQ01", "humidity", 78.0, "%", AIR_T);
    fx_free(f);
}

static void test_sim_traffic(void **state)
{
    (void)state;
    struct fx *f = fx_new("[adapter traffic]\n"
                          "topic = pleiku/traffic/+/count\n"
                          "format = json\n"
                          "device = $.counter\n"
                          "time = $.time_ms\n"
                          "time_format = ms\n"
                          "metric.vehicles = $.vehicles 1\n"
                          "metric.speed = $.speed_kmh km/h\n");
    /* interval_s is not mapped: ignored */
    assert_int_equal(decode(f, "pleiku/traffic/GL-TC001/count",
                            "{\"counter\":\"GL-TC001\",\"time_ms\":1763780000000,\"vehicles\":42,"
                            "\"speed_kmh\":31.5,\"interval_s\":5}"),
                     IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 2);
    assert_obs(f, 0, "traffic", "GL-TC001", "vehicles", 42, "1", INT64_C(1763780000000));
    assert_obs(f, 1, "traffic", "GL-TC001", "speed", 31.5, "km/h", INT64_C(1763780000000));
    fx_free(f);
}

static const char water_conf[] = "[adapter water]\n"
                                 "topic = pleiku/water/+/level\n"
                                 "format = json\n"
                                 "device = topic[2]\n"
                                 "time = $.t\n"
                                 "time_format = s\n"
                                 "metric.level = $.level_cm cm\n"
                                 "metric.battery = $.battery_v V\n";

static void test_sim_water(void **state)
{
    (void)state;
    struct fx *f = fx_new(water_conf);
    assert_int_equal(decode(f, "pleiku/water/GL-WL01/level",
                            "{\"gauge\":\"GL-WL01\",\"t\":1763780000,\"level_cm\":123.4,"
                            "\"battery_v\":3.61}"),
                     IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 2);
    assert_obs(f, 0, "water", "GL-WL01", "level", 123.4, "cm", INT64_C(1763780000000));
    assert_obs(f, 1, "water", "GL-WL01", "battery", 3.61, "V", INT64_C(1763780000000));
    /* the device comes from the topic, not the payload */
    assert_int_equal(decode(f, "pleiku/water/GL-WL02/level",
                            "{\"gauge\":\"GL-WL01\",\"t\":1763780000,\"level_cm\":1}"),
                     IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 1);
    assert_obs(f, 0, "water", "GL-WL02", "level", 1, "cm", INT64_C(1763780000000));
    fx_free(f);
}

static void test_topic_device(void **state)
{
    (void)state;
    struct fx *f = fx_new(water_conf);
    const char *p = "{\"t\":1763780000,\"level_cm\":1}";
    assert_int_equal(decode(f, "pleiku/water", p), IOCD_REJECT_MISSING_FIELD);
    assert_string_equal(f->batch.detail, "device: topic has no level 2");
    assert_int_equal(decode(f, "pleiku/water/", p), IOCD_REJECT_BAD_ID);
    assert_string_equal(f->batch.detail, "device: topic level 2 is empty");
    assert_int_equal(decode(f, "pleiku/water//level", p), IOCD_REJECT_BAD_ID);
    assert_int_equal(decode(f, "pleiku/water/X", p), IOCD_REJECT_NONE);
    assert_string_equal(f->batch.obs[0]->device, "X");
    fx_free(f);

    f = fx_new("[adapter a]\ndevice = topic[0]\nmetric.v = v\n");
    assert_int_equal(decode(f, "dev1/x/y", "{\"v\":2}"), IOCD_REJECT_NONE);
    assert_obs(f, 0, "a", "dev1", "v", 2, "", RECEIVED);
    fx_free(f);
}

static void test_no_time_key(void **state)
{
    (void)state;
    struct fx *f = fx_new("[adapter a]\ndevice = $.id\nmetric.v = $.v\n");
    /* a ts field in the payload is ignored when no time key is configured */
    assert_int_equal(decode(f, "t", "{\"id\":\"d\",\"v\":-1.25,\"ts\":\"garbage\"}"),
                     IOCD_REJECT_NONE);
    assert_obs(f, 0, "a", "d", "v", -1.25, "", RECEIVED);
    fx_free(f);
}

static void test_paths_and_extra_fields(void **state)
{
    (void)state;
    struct fx *f = fx_new("[adapter a]\n"
                          "device = $.meta['device id']\n"
                          "time = $.meta.time\n"
                          "metric.first = $.readings[0].v unit\n"
                          "metric.last = $.readings[-1].v\n"
                          "metric.dotted = $['a.b'] m\n");
    assert_int_equal(decode(f, "t",
                            "{\"extra\":{\"x\":[1,2,{\"y\":null}]},\"meta\":{\"device id\":"
                            "\"S-1\",\"time\":\"2026-11-22T10:04:05.250Z\",\"fw\":\"1.2\"},"
                            "\"readings\":[{\"v\":1},{\"v\":2},{\"v\":3e2}],\"a.b\":0,"
                            "\"a\":{\"b\":\"not me\"}}"),
                     IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 3);
    assert_obs(f, 0, "a", "S-1", "first", 1, "unit", AIR_T + 250);
    assert_obs(f, 1, "a", "S-1", "last", 300, "", AIR_T + 250);
    assert_obs(f, 2, "a", "S-1", "dotted", 0, "m", AIR_T + 250);
    fx_free(f);
}

static void test_time_options(void **state)
{
    (void)state;
    struct fx *f = fx_new("[adapter a]\ndevice = $.id\ntime = $.ts\ntime_offset = +07:00\n"
                          "metric.v = $.v\n");
    assert_int_equal(decode(f, "t", "{\"id\":\"d\",\"ts\":\"2026-11-22T17:04:05\",\"v\":1}"),
                     IOCD_REJECT_NONE);
    assert_obs(f, 0, "a", "d", "v", 1, "", AIR_T);
    /* an explicit offset wins */
    assert_int_equal(decode(f, "t", "{\"id\":\"d\",\"ts\":\"2026-11-22T10:04:05Z\",\"v\":1}"),
                     IOCD_REJECT_NONE);
    assert_obs(f, 0, "a", "d", "v", 1, "", AIR_T);
    /* auto: numbers by magnitude */
    assert_int_equal(decode(f, "t", "{\"id\":\"d\",\"ts\":1795341845,\"v\":1}"), IOCD_REJECT_NONE);
    assert_obs(f, 0, "a", "d", "v", 1, "", AIR_T);
    assert_int_equal(decode(f, "t", "{\"id\":\"d\",\"ts\":1795341845123,\"v\":1}"),
                     IOCD_REJECT_NONE);
    assert_obs(f, 0, "a", "d", "v", 1, "", AIR_T + 123);
    assert_int_equal(decode(f, "t", "{\"id\":\"d\",\"ts\":1795341845123456,\"v\":1}"),
                     IOCD_REJECT_NONE);
    assert_obs(f, 0, "a", "d", "v", 1, "", AIR_T + 123);
    fx_free(f);

    f = fx_new("[adapter a]\ndevice = $.id\ntime = $.ts\ntime_format = us\nmetric.v = $.v\n");
    assert_int_equal(decode(f, "t", "{\"id\":\"d\",\"ts\":1795341845000000,\"v\":1}"),
                     IOCD_REJECT_NONE);
    assert_obs(f, 0, "a", "d", "v", 1, "", AIR_T);
    assert_int_equal(decode(f, "t", "{\"id\":\"d\",\"ts\":\"2026-11-22T10:04:05Z\",\"v\":1}"),
                     IOCD_REJECT_WRONG_TYPE);
    assert_string_equal(f->batch.detail, "time $.ts is a string, time_format expects a number");
    fx_free(f);

    f = fx_new("[adapter a]\ndevice = $.id\ntime = $.ts\ntime_format = iso8601\nmetric.v = $.v\n");
    assert_int_equal(decode(f, "t", "{\"id\":\"d\",\"ts\":1795341845,\"v\":1}"),
                     IOCD_REJECT_WRONG_TYPE);
    assert_string_equal(f->batch.detail, "time $.ts is a number, time_format is iso8601");
    fx_free(f);
}

static void test_device_values(void **state)
{
    (void)state;
    struct fx *f = fx_new(air_conf);
    char buf[512];
#define DEV(d)                                                                                     \
    (snprintf(buf, sizeof(buf), "{\"station\":%s,\"ts\":\"2026-11-22\",\"pm25\":1}", d), buf)
    assert_int_equal(decode(f, AIR_TOPIC, DEV("1234")), IOCD_REJECT_NONE);
    assert_string_equal(f->batch.obs[0]->device, "1234");
    assert_int_equal(decode(f, AIR_TOPIC, DEV("-7")), IOCD_REJECT_NONE);
    assert_string_equal(f->batch.obs[0]->device, "-7");
    assert_int_equal(decode(f, AIR_TOPIC, DEV("9007199254740992")), IOCD_REJECT_NONE);
    assert_string_equal(f->batch.obs[0]->device, "9007199254740992");
    assert_int_equal(decode(f, AIR_TOPIC, DEV("\"\\u00c4-1\"")), IOCD_REJECT_NONE);
    assert_string_equal(f->batch.obs[0]->device, "\xc3\x84-1");
    assert_int_equal(decode(f, AIR_TOPIC, DEV("12.5")), IOCD_REJECT_WRONG_TYPE);
    assert_string_equal(f->batch.detail, "device $.station is a number but not an integer");
    assert_int_equal(decode(f, AIR_TOPIC, DEV("1e300")), IOCD_REJECT_WRONG_TYPE);
    assert_int_equal(decode(f, AIR_TOPIC, DEV("true")), IOCD_REJECT_WRONG_TYPE);
    assert_string_equal(f->batch.detail, "device $.station is a bool");
    assert_int_equal(decode(f, AIR_TOPIC, DEV("{\"id\":\"x\"}")), IOCD_REJECT_WRONG_TYPE);
    assert_int_equal(decode(f, AIR_TOPIC, DEV("[\"x\"]")), IOCD_REJECT_WRONG_TYPE);
    assert_int_equal(decode(f, AIR_TOPIC, DEV("null")), IOCD_REJECT_MISSING_FIELD);
    assert_int_equal(decode(f, AIR_TOPIC, "{\"ts\":\"2026-11-22\",\"pm25\":1}"),
                     IOCD_REJECT_MISSING_FIELD);
    assert_string_equal(f->batch.detail, "device $.station is missing");
    assert_int_equal(decode(f, AIR_TOPIC, DEV("\"\"")), IOCD_REJECT_BAD_ID);
    assert_string_equal(f->batch.detail, "device $.station '' is empty");
    assert_int_equal(decode(f, AIR_TOPIC, DEV("\"a/b\"")), IOCD_REJECT_BAD_ID);
    assert_string_equal(f->batch.detail, "device $.station 'a/b' contains '/', '+' or '#'");
    assert_int_equal(decode(f, AIR_TOPIC, DEV("\"a+b\"")), IOCD_REJECT_BAD_ID);
    assert_int_equal(decode(f, AIR_TOPIC, DEV("\"a#\"")), IOCD_REJECT_BAD_ID);
    assert_int_equal(decode(f, AIR_TOPIC, DEV("\"a\\nb\"")), IOCD_REJECT_BAD_ID);
    assert_string_equal(f->batch.detail, "device $.station 'a?b' contains a control character");
    assert_int_equal(decode(f, AIR_TOPIC, DEV("\"a\\u007fb\"")), IOCD_REJECT_BAD_ID);
    assert_int_equal(decode(f, AIR_TOPIC, DEV("\"\xff\xfe\"")), IOCD_REJECT_BAD_ID);
    assert_string_equal(f->batch.detail, "device $.station '?\?' is not valid UTF-8");
    assert_int_equal(decode(f, AIR_TOPIC, DEV("\"\xc0\xaf\"")), IOCD_REJECT_BAD_ID); /* overlong */
    char id[140];
    memset(id, 'x', sizeof(id));
    id[0] = '"';
    id[129] = '"';
    id[130] = '\0'; /* 128 bytes */
    assert_int_equal(decode(f, AIR_TOPIC, DEV(id)), IOCD_REJECT_NONE);
    assert_int_equal(strlen(f->batch.obs[0]->device), 128);
    id[129] = 'x';
    id[130] = '"';
    id[131] = '\0'; /* 129 bytes */
    assert_int_equal(decode(f, AIR_TOPIC, DEV(id)), IOCD_REJECT_BAD_ID);
#undef DEV
    fx_free(f);
}

static void test_time_rejects(void **state)
{
    (void)state;
    struct fx *f = fx_new(air_conf);
    char buf[512];
#define TS(t) (snprintf(buf, sizeof(buf), "{\"station\":\"S\",\"ts\":%s,\"pm25\":1}", t), buf)
    assert_int_equal(decode(f, AIR_TOPIC, "{\"station\":\"S\",\"pm25\":1}"),
                     IOCD_REJECT_MISSING_FIELD);
    assert_string_equal(f->batch.detail, "time $.ts is missing");
    assert_int_equal(decode(f, AIR_TOPIC, TS("null")), IOCD_REJECT_MISSING_FIELD);
    assert_int_equal(decode(f, AIR_TOPIC, TS("\"yesterday\"")), IOCD_REJECT_BAD_TIME);
    assert_string_equal(f->batch.detail, "time $.ts 'yesterday' is not a valid ISO-8601 time");
    assert_int_equal(decode(f, AIR_TOPIC, TS("\"2023-02-29T00:00:00Z\"")), IOCD_REJECT_BAD_TIME);
    assert_int_equal(decode(f, AIR_TOPIC, TS("\"1969-12-31T23:59:59Z\"")), IOCD_REJECT_BAD_TIME);
    assert_int_equal(decode(f, AIR_TOPIC, TS("\"\"")), IOCD_REJECT_BAD_TIME);
    assert_int_equal(decode(f, AIR_TOPIC, TS("-5")), IOCD_REJECT_BAD_TIME);
    assert_string_equal(f->batch.detail, "time $.ts -5 is out of range");
    assert_int_equal(decode(f, AIR_TOPIC, TS("1e300")), IOCD_REJECT_BAD_TIME);
    assert_int_equal(decode(f, AIR_TOPIC, TS("true")), IOCD_REJECT_WRONG_TYPE);
    assert_string_equal(f->batch.detail, "time $.ts is a bool");
    assert_int_equal(decode(f, AIR_TOPIC, TS("{\"s\":1}")), IOCD_REJECT_WRONG_TYPE);
    assert_string_equal(f->batch.detail, "time $.ts is an object");
    assert_int_equal(decode(f, AIR_TOPIC, TS("[1795341845]")), IOCD_REJECT_WRONG_TYPE);
#undef TS
    fx_free(f);
}

static void test_metric_rejects(void **state)
{
    (void)state;
    struct fx *f = fx_new(air_conf);
    char buf[512];
#define M(rest)                                                                                    \
    (snprintf(buf, sizeof(buf), "{\"station\":\"S\",\"ts\":\"2026-11-22T10:04:05Z\"%s}", rest), buf)
    assert_int_equal(decode(f, AIR_TOPIC, M(",\"pm25\":\"23.4\",\"pm10\":1")),
                     IOCD_REJECT_WRONG_TYPE);
    assert_string_equal(f->batch.detail, "$.pm25 is a string");
    /* a later metric of the wrong type rejects the earlier good ones too */
    assert_int_equal(decode(f, AIR_TOPIC, M(",\"pm25\":1,\"rh\":false")), IOCD_REJECT_WRONG_TYPE);
    assert_string_equal(f->batch.detail, "$.rh is a bool");
    assert_int_equal(decode(f, AIR_TOPIC, M(",\"pm25\":{\"v\":1}")), IOCD_REJECT_WRONG_TYPE);
    assert_string_equal(f->batch.detail, "$.pm25 is an object");
    assert_int_equal(decode(f, AIR_TOPIC, M(",\"pm25\":[1]")), IOCD_REJECT_WRONG_TYPE);
    assert_string_equal(f->batch.detail, "$.pm25 is an array");
    /* absent and null metrics are skipped */
    assert_int_equal(decode(f, AIR_TOPIC, M(",\"pm25\":null,\"temp\":-3.5")), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 1);
    assert_obs(f, 0, "air", "S", "temperature", -3.5, "Cel", AIR_T);
    assert_int_equal(decode(f, AIR_TOPIC, M("")), IOCD_REJECT_MISSING_FIELD);
    assert_string_equal(f->batch.detail, "none of the 5 metric fields is present (first: $.pm25)");
    assert_int_equal(decode(f, AIR_TOPIC, M(",\"pm25\":null,\"other\":1")),
                     IOCD_REJECT_MISSING_FIELD);
    /* finiteness is the pipeline's job: 1e999 passes as it parses */
    assert_int_equal(decode(f, AIR_TOPIC, M(",\"pm25\":1e999,\"pm10\":-1e999,\"no2\":1e308")),
                     IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 3);
    assert_true(isinf(f->batch.obs[0]->value) && f->batch.obs[0]->value > 0);
    assert_true(isinf(f->batch.obs[1]->value) && f->batch.obs[1]->value < 0);
    assert_true(f->batch.obs[2]->value == 1e308);
#undef M
    fx_free(f);
}

static void test_malformed(void **state)
{
    (void)state;
    struct fx *f = fx_new(air_conf);
    static const char *const bad[] = {
        "not json",
        "{\"station\":\"S\"",
        "{\"station\":\"S\",}",
        "{station:\"S\"}",
        "{\"a\":1}x",
        "{\"a\":1}}",
        "{\"a\":NaN}",
        "{\"a\":Infinity}",
        "[1,2]",
        "\"GL-AQ01\"",
        "42",
        "null",
        "true",
        "   ",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (decode(f, AIR_TOPIC, bad[i]) != IOCD_REJECT_MALFORMED)
            fail_msg("'%s' was not rejected as malformed", bad[i]);
    }
    assert_int_equal(decode(f, AIR_TOPIC, "[1,2]"), IOCD_REJECT_MALFORMED);
    assert_string_equal(f->batch.detail, "payload is JSON an array, not an object");
    assert_int_equal(decode(f, AIR_TOPIC, "{\"a\":1}x"), IOCD_REJECT_MALFORMED);
    assert_string_equal(f->batch.detail, "not valid JSON (junk after the value at byte 7)");
    assert_int_equal(decode_n(f, AIR_TOPIC, "", 0), IOCD_REJECT_MALFORMED);
    assert_string_equal(f->batch.detail, "empty payload");
    assert_int_equal(decode_n(f, AIR_TOPIC, NULL, 0), IOCD_REJECT_MALFORMED);
    static const uint8_t binary[] = {0x00, 0xff, 0x7b, 0x22, 0x80, 0x01, 0x7d, 0x00};
    assert_int_equal(decode_n(f, AIR_TOPIC, binary, sizeof(binary)), IOCD_REJECT_MALFORMED);
    fx_free(f);
}

static void test_payload_bounds(void **state)
{
    (void)state;
    struct fx *f = fx_new(air_conf);
    /* only len bytes are read: what follows in memory is not part of it */
    const char *buf = "{\"station\":\"S\",\"ts\":\"2026-11-22T10:04:05Z\",\"pm25\":5}GARBAGE";
    size_t json_len = strlen(buf) - strlen("GARBAGE");
    assert_int_equal(decode_n(f, AIR_TOPIC, buf, json_len), IOCD_REJECT_NONE);
    assert_obs(f, 0, "air", "S", "pm25", 5, "ug/m3", AIR_T);
    /* cut inside the number: 5 of "52" */
    const char *buf2 = "{\"station\":\"S\",\"ts\":\"2026-11-22T10:04:05Z\",\"pm25\":52}";
    assert_int_equal(decode_n(f, AIR_TOPIC, buf2, strlen(buf2) - 2), IOCD_REJECT_MALFORMED);
    /* trailing blanks and a C-string NUL are fine */
    static const char tail[] = "{\"station\":\"S\",\"ts\":\"2026-11-22T10:04:05Z\",\"pm25\":5}\r\n";
    assert_int_equal(decode_n(f, AIR_TOPIC, tail, sizeof(tail)), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 1);
    fx_free(f);
}

static void test_deep_and_large(void **state)
{
    (void)state;
    struct fx *f = fx_new(air_conf);
    /* nesting past cJSON's limit of 1000: rejected, not a crash */
    size_t depth = 5000, n = 0;
    char *deep = malloc(depth * 2 + 64);
    assert_non_null(deep);
    n += (size_t)sprintf(deep, "{\"station\":\"S\",\"x\":");
    for (size_t i = 0; i < depth; i++)
        deep[n++] = '[';
    for (size_t i = 0; i < depth; i++)
        deep[n++] = ']';
    deep[n++] = '}';
    assert_int_equal(decode_n(f, AIR_TOPIC, deep, n), IOCD_REJECT_MALFORMED);
    free(deep);

    /* 1 MiB of padding around a valid message */
    size_t big = 1 << 20;
    char *large = malloc(big);
    assert_non_null(large);
    n = (size_t)sprintf(large, "{\"station\":\"S\",\"ts\":\"2026-11-22T10:04:05Z\",\"pad\":\"");
    memset(large + n, 'p', big - n - 16);
    n = big - 16;
    n += (size_t)sprintf(large + n, "\",\"pm25\":7}");
    assert_int_equal(decode_n(f, AIR_TOPIC, large, n), IOCD_REJECT_NONE);
    assert_obs(f, 0, "air", "S", "pm25", 7, "ug/m3", AIR_T);
    free(large);
    fx_free(f);
}

static void test_no_memory(void **state)
{
    (void)state;
    struct fx *f = fx_new(air_conf);
    iocd_arena_free(&f->arena);
    iocd_arena_init(&f->arena, 48); /* device + source fit, the observation array does not */
    assert_int_equal(decode(f, AIR_TOPIC, air_payload), IOCD_REJECT_NO_MEMORY);
    assert_int_equal(f->batch.n_obs, 0);
    fx_free(f);
}

/* create() must fail with exactly `msg`. */
static void assert_create_error(const char *text, const char *msg)
{
    struct fx f;
    struct iocd_error err = {{0}};
    if (fx_create(&f, text, &err) != -1)
        fail_msg("create succeeded, expected: %s", msg);
    assert_string_equal(err.msg, msg);
    iocd_arena_free(&f.arena);
    iocd_ini_free(&f.ini);
}

static void test_create_errors(void **state)
{
    (void)state;
    assert_create_error("# c\n[adapter air]\ntopic = a/b\nformat = json\nmetric.pm25 = $.pm25\n",
                        "test.conf:2: [adapter air] device: required key missing (a JSON path "
                        "such as $.id, or topic[N])");
    assert_create_error("\n[adapter air]\ndevice = $.id\ntime = $.ts\n",
                        "test.conf:2: [adapter air] no metric: add at least one "
                        "'metric.NAME = PATH [UNIT]'");
    assert_create_error("[adapter air]\ndevice = $.id\nmetric.pm10 = $.pm10\n"
                        "metric.pm25 = $..pm25 ug/m3\n",
                        "test.conf:4: [adapter air] metric.pm25: bad path '$..pm25': empty name "
                        "after '.' at character 2");
    assert_create_error("[adapter air]\ndevice = $.id\nmetric.pm25 = $.pm25 ug / m3\n",
                        "test.conf:3: [adapter air] metric.pm25: expected 'PATH [UNIT]': the "
                        "unit must be one word");
    assert_create_error("[adapter air]\ndevice = $.id\nmetric.pm25 =\n",
                        "test.conf:3: [adapter air] metric.pm25: expected 'PATH [UNIT]', e.g. "
                        "'$.pm25 ug/m3'");
    assert_create_error("[adapter air]\ndevice = $.id\nmetric. = $.v\n",
                        "test.conf:3: [adapter air] metric.: metric name must be 1 to 64 "
                        "characters of letters, digits, '_', '.' and '-'");
    assert_create_error("[adapter air]\ndevice = $.id\nmetric.m234567890123456789012345678901"
                        "2345678901234567890123456789012345 = $.v\n",
                        "test.conf:3: [adapter air] metric.m2345678901234567890123456789012345"
                        "678901234567890123456789012345: metric name must be 1 to 64 characters "
                        "of letters, digits, '_', '.' and '-'");
    assert_create_error("[adapter air]\ndevice = $.id\nmetric.v = $.a\nmetric.w = $.b\n"
                        "metric.v = $.c\n",
                        "test.conf:5: [adapter air] metric.v: given twice (first on line 3)");
    assert_create_error("[adapter air]\ndevice = $.id\ndevice = $.id2\nmetric.v = $.v\n",
                        "test.conf:3: key 'device' given twice (first on line 2)");
    assert_create_error("[adapter air]\ndevice = $['id\nmetric.v = $.v\n",
                        "test.conf:2: [adapter air] device: bad path '$['id': unterminated "
                        "quoted name starting at character 2");
    assert_create_error("[adapter air]\ndevice = topic[256]\nmetric.v = $.v\n",
                        "test.conf:2: [adapter air] device: expected topic[N] with N a topic "
                        "level from 0 to 255");
    assert_create_error("[adapter air]\ndevice = topic[-1]\nmetric.v = $.v\n",
                        "test.conf:2: [adapter air] device: expected topic[N] with N a topic "
                        "level from 0 to 255");
    assert_create_error("[adapter air]\ndevice = $.id\ntime = $.\nmetric.v = $.v\n",
                        "test.conf:3: [adapter air] time: bad path '$.': empty name after '.' "
                        "at character 2");
    assert_create_error("[adapter air]\ndevice = $.id\ntime = $.t\ntime_format = seconds\n"
                        "metric.v = $.v\n",
                        "test.conf:4: [adapter air] time_format: expected auto, iso8601, s, ms "
                        "or us");
    assert_create_error("[adapter air]\ndevice = $.id\nmetric.v = $.v\ntime_offset = +07:00\n",
                        "test.conf:4: [adapter air] time_offset: has no effect without 'time' "
                        "(the receive time is used)");
    assert_create_error("[adapter air]\ndevice = $.id\ntime_format = ms\nmetric.v = $.v\n",
                        "test.conf:3: [adapter air] time_format: has no effect without 'time' "
                        "(the receive time is used)");
    static const char *const bad_offsets[] = {
        "7", "+7", "+07:0", "+24:00", "+07:60", "UTC", "+07:00:00", "", "+0700x", "+07:", "z"};
    for (size_t i = 0; i < sizeof(bad_offsets) / sizeof(bad_offsets[0]); i++) {
        char text[256];
        snprintf(text, sizeof(text),
                 "[adapter air]\ndevice = $.id\ntime = $.t\ntime_offset = %s\nmetric.v = $.v\n",
                 bad_offsets[i]);
        assert_create_error(text, "test.conf:4: [adapter air] time_offset: expected an offset "
                                  "such as +07:00, -05:30 or Z");
    }
}

static void test_create_offsets(void **state)
{
    (void)state;
    static const struct {
        const char *offset;
        int64_t observed;
    } cases[] = {
        {"+07:00", AIR_T},
        {"+0700", AIR_T},
        {"+07", AIR_T},
        {"Z", AIR_T + 25200000},
        {"+00:00", AIR_T + 25200000},
        {"-05:30", AIR_T + 45000000},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[256];
        snprintf(text, sizeof(text),
                 "[adapter a]\ndevice = $.id\ntime = $.ts\ntime_offset = %s\nmetric.v = $.v\n",
                 cases[i].offset);
        struct fx *f = fx_new(text);
        assert_int_equal(decode(f, "t", "{\"id\":\"d\",\"ts\":\"2026-11-22T17:04:05\",\"v\":1}"),
                         IOCD_REJECT_NONE);
        assert_obs(f, 0, "a", "d", "v", 1, "", cases[i].observed);
        fx_free(f);
    }
}

static void test_keys_marked_used(void **state)
{
    (void)state;
    struct fx *f = fx_new("[adapter air]\n"
                          "topic = pleiku/air/+/data\n"
                          "format = json\n"
                          "device = $.station\n"
                          "time = $.ts\n"
                          "time_format = auto\n"
                          "time_offset = +07:00\n"
                          "colour = red\n"
                          "metric.pm25 = $.pm25 ug/m3\n"
                          "metric.x.y-z_1 = $['x y'] %\n");
    struct iocd_ini_section *s = &f->ini.sections[0];
    /* the core reads topic and format itself */
    assert_false(s->entries[0].used);
    assert_false(s->entries[1].used);
    s->entries[0].used = s->entries[1].used = true;
    struct iocd_error err = {{0}};
    assert_int_equal(iocd_ini_check_unused(&f->ini, &err), -1);
    assert_string_equal(err.msg, "test.conf:8: unknown key 'colour' in [adapter air]");
    assert_true(s->entries[2].used && s->entries[3].used && s->entries[4].used &&
                s->entries[5].used && s->entries[7].used && s->entries[8].used);
    assert_int_equal(decode(f, AIR_TOPIC,
                            "{\"station\":\"S\",\"ts\":\"2026-11-22T17:04:05\","
                            "\"x y\":50}"),
                     IOCD_REJECT_NONE);
    assert_obs(f, 0, "air", "S", "x.y-z_1", 50, "%", AIR_T);
    fx_free(f);
}

static void test_source_argument(void **state)
{
    (void)state;
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    iocd_arena_init(&f->arena, 0);
    iocd_batch_init(&f->batch, &f->arena);
    struct iocd_error err = {{0}};
    assert_int_equal(iocd_ini_parse(&f->ini, "test.conf", air_conf, &err), 0);
    assert_int_equal(
        iocd_adapter_json.create(&f->ini, &f->ini.sections[0], "air-2", &f->state, &err), 0);
    assert_int_equal(decode(f, AIR_TOPIC, air_payload), IOCD_REJECT_NONE);
    assert_obs(f, 0, "air-2", "GL-AQ01", "pm25", 23.4, "ug/m3", AIR_T);
    fx_free(f);
    iocd_adapter_json.destroy(NULL);
}

/* ---- records, status, labels, scale/offset, metric_from_topic ---- */

/* Like assert_obs, with the quality and labels ("k=v,k=v", "" for none). */
static void assert_obs_q(const struct fx *f, size_t i, const char *device, const char *metric,
                         double value, int64_t observed_ms, Ioc__V1__Quality quality,
                         const char *labels)
{
    assert_true(i < f->batch.n_obs);
    const Ioc__V1__Observation *o = f->batch.obs[i];
    assert_string_equal(o->device, device);
    assert_string_equal(o->metric, metric);
    if (o->value != value)
        fail_msg("obs %zu (%s): value %.17g, expected %.17g", i, metric, o->value, value);
    assert_int_equal(o->observed_ms, observed_ms);
    assert_int_equal(o->received_ms, RECEIVED);
    assert_int_equal(o->quality, quality);
    char got[512] = "";
    size_t n = 0;
    for (size_t k = 0; k < o->n_labels; k++)
        n += (size_t)snprintf(got + n, sizeof(got) - n, "%s%s=%s", k ? "," : "",
                              o->labels[k]->key, o->labels[k]->value);
    assert_string_equal(got, labels);
}

#define GOOD IOC__V1__QUALITY__QUALITY_GOOD
#define INVALID IOC__V1__QUALITY__QUALITY_INVALID
#define T0 INT64_C(1763780000000) /* 2025-11-22T03:33:20Z */

static void test_records_at_root(void **state)
{
    (void)state;
    struct fx *f = fx_new("[adapter a]\nrecords = $\ndevice = $.id\ntime = $.ts\n"
                          "time_offset = +07:00\nmetric.v = $.v u\n");
    /* epoch s, ms, us (auto), ISO-8601 without offset with a fraction */
    assert_int_equal(decode(f, "t",
                            "[{\"id\":\"a\",\"ts\":1763780000,\"v\":1.5},"
                            "{\"id\":\"b\",\"ts\":1763780000123,\"v\":2.25},"
                            "{\"id\":\"c\",\"ts\":1763780000123456,\"v\":-0.5},"
                            "{\"id\":\"d\",\"ts\":\"2026-11-22T17:04:05.25\",\"v\":4},"
                            "{\"id\":\"e\",\"ts\":\"2026-11-22T10:04:05.999999Z\",\"v\":5}]"),
                     IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 5);
    assert_int_equal(f->batch.notes[IOCD_NOTE_PARTIAL], 0);
    assert_obs(f, 0, "a", "a", "v", 1.5, "u", T0);
    assert_obs(f, 1, "a", "b", "v", 2.25, "u", T0 + 123);
    assert_obs(f, 2, "a", "c", "v", -0.5, "u", T0 + 123);
    assert_obs(f, 3, "a", "d", "v", 4, "u", AIR_T + 250);
    assert_obs(f, 4, "a", "e", "v", 5, "u", AIR_T + 999);
    /* one object payload is not an array of records */
    assert_int_equal(decode(f, "t", "{\"id\":\"a\",\"v\":1}"), IOCD_REJECT_WRONG_TYPE);
    assert_string_equal(f->batch.detail, "records $ is an object, not an array");
    assert_int_equal(decode(f, "t", "[]"), IOCD_REJECT_MISSING_FIELD);
    assert_string_equal(f->batch.detail, "records $ is empty");
    assert_int_equal(decode(f, "t", "7"), IOCD_REJECT_MALFORMED);
    assert_string_equal(f->batch.detail, "payload is JSON a number, not an object");
    fx_free(f);
}

static void test_records_in_object(void **state)
{
    (void)state;
    struct fx *f = fx_new("[adapter gw]\nrecords = $.data\ndevice = ^$.gateway\n"
                          "time = ^$.batch_ms\ntime_format = ms\n"
                          "metric.pm25 = $.pm25 ug/m3\nlabel.station = $.station\n");
    assert_int_equal(decode(f, "t",
                            "{\"gateway\":\"GW-1\",\"batch_ms\":1763780000000,\"data\":["
                            "{\"station\":\"S1\",\"pm25\":12.5},"
                            "{\"station\":\"S2\",\"pm25\":null},"
                            "{\"station\":\"S3\",\"pm25\":7}]}"),
                     IOCD_REJECT_NONE);
    /* S2 has no metric: skipped with a note */
    assert_int_equal(f->batch.n_obs, 2);
    assert_obs_q(f, 0, "GW-1", "pm25", 12.5, T0, GOOD, "station=S1");
    assert_obs_q(f, 1, "GW-1", "pm25", 7, T0, GOOD, "station=S3");
    assert_int_equal(f->batch.notes[IOCD_NOTE_PARTIAL], 1);
    assert_string_equal(f->batch.note_detail,
                        "record 1 skipped (missing_field): none of the 1 metric fields is "
                        "present (first: $.pm25)");
    assert_int_equal(decode(f, "t", "{\"gateway\":\"GW-1\",\"batch_ms\":1}"),
                     IOCD_REJECT_MISSING_FIELD);
    assert_string_equal(f->batch.detail, "records $.data is missing");
    assert_int_equal(decode(f, "t", "{\"data\":{\"pm25\":1}}"), IOCD_REJECT_WRONG_TYPE);
    assert_string_equal(f->batch.detail, "records $.data is an object, not an array");
    fx_free(f);
}

static void test_records_skipped_and_all_bad(void **state)
{
    (void)state;
    struct fx *f = fx_new("[adapter a]\nrecords = $.data\ndevice = $.id\ntime = $.ts\n"
                          "time_format = s\nmetric.v = $.v\n");
    assert_int_equal(decode(f, "t",
                            "{\"data\":[{\"id\":\"a\",\"ts\":1763780000,\"v\":1},"
                            "{\"id\":\"b\",\"ts\":\"x\",\"v\":2},7,"
                            "{\"id\":\"a/b\",\"ts\":1763780000,\"v\":3},"
                            "{\"id\":\"c\",\"ts\":1763780001,\"v\":\"4\"},"
                            "{\"id\":\"d\",\"ts\":1763780002,\"v\":5}]}"),
                     IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 2);
    assert_obs(f, 0, "a", "a", "v", 1, "", T0);
    assert_obs(f, 1, "a", "d", "v", 5, "", T0 + 2000);
    assert_int_equal(f->batch.notes[IOCD_NOTE_PARTIAL], 4);
    assert_int_equal(f->batch.notes[IOCD_NOTE_SEQ_GAP], 0);
    assert_string_equal(f->batch.note_detail, "record 4 skipped (wrong_type): $.v is a string");

    /* none usable: the first record's reason */
    assert_int_equal(decode(f, "t",
                            "{\"data\":[{\"id\":\"b\",\"ts\":\"x\",\"v\":2},"
                            "{\"ts\":1763780000,\"v\":2}]}"),
                     IOCD_REJECT_WRONG_TYPE);
    assert_string_equal(f->batch.detail,
                        "record 0: time $.ts is a string, time_format expects a number");
    assert_int_equal(f->batch.notes[IOCD_NOTE_PARTIAL], 0);
    assert_int_equal(decode(f, "t", "{\"data\":[null,{\"id\":\"b\",\"ts\":\"x\",\"v\":2}]}"),
                     IOCD_REJECT_WRONG_TYPE);
    assert_string_equal(f->batch.detail, "record 0: record is null, not an object");
    assert_int_equal(decode(f, "t", "{\"data\":[{\"ts\":1,\"v\":1}]}"),
                     IOCD_REJECT_MISSING_FIELD);
    assert_string_equal(f->batch.detail, "record 0: device $.id is missing");
    fx_free(f);
}

static void test_records_bound(void **state)
{
    (void)state;
    struct fx *f = fx_new("[adapter a]\nrecords = $\ndevice = $.i\nmetric.v = $.v\n");
    size_t n = 10003, cap = n * 24 + 16, len = 0;
    char *p = malloc(cap);
    assert_non_null(p);
    p[len++] = '[';
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(p + len, cap - len, "%s{\"i\":%zu,\"v\":%zu}", i ? "," : "", i,
                                i);
    p[len++] = ']';
    assert_int_equal(decode_n(f, "t", p, len), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 10000);
    assert_obs(f, 9999, "a", "9999", "v", 9999, "", RECEIVED);
    assert_int_equal(f->batch.notes[IOCD_NOTE_PARTIAL], 1);
    assert_string_equal(f->batch.note_detail, "3 records after the first 10000 skipped");
    free(p);
    fx_free(f);
}

static void test_status(void **state)
{
    (void)state;
    /* the default invalid list */
    struct fx *f = fx_new("[adapter a]\nrecords = $\ndevice = $.id\nstatus = $.status\n"
                          "metric.v = $.v\nmetric.w = $.w\n");
    assert_int_equal(decode(f, "t",
                            "[{\"id\":\"a\",\"v\":1,\"w\":2,\"status\":\"CALIBRATING\"},"
                            "{\"id\":\"b\",\"v\":3,\"status\":\"measuring\"},"
                            "{\"id\":\"c\",\"v\":4},"
                            "{\"id\":\"d\",\"v\":5,\"status\":\"Fault\"},"
                            "{\"id\":\"e\",\"v\":6,\"status\":null}]"),
                     IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 6);
    assert_obs_q(f, 0, "a", "v", 1, RECEIVED, INVALID, "");
    assert_obs_q(f, 1, "a", "w", 2, RECEIVED, INVALID, "");
    assert_obs_q(f, 2, "b", "v", 3, RECEIVED, GOOD, "");
    assert_obs_q(f, 3, "c", "v", 4, RECEIVED, GOOD, "");
    assert_obs_q(f, 4, "d", "v", 5, RECEIVED, INVALID, "");
    assert_obs_q(f, 5, "e", "v", 6, RECEIVED, GOOD, "");
    /* a status that is an object skips the record */
    assert_int_equal(decode(f, "t",
                            "[{\"id\":\"a\",\"v\":1,\"status\":{}},{\"id\":\"b\",\"v\":2}]"),
                     IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 1);
    assert_string_equal(f->batch.note_detail,
                        "record 0 skipped (wrong_type): status $.status is an object");
    fx_free(f);

    /* an explicit invalid list, and numbers as status */
    f = fx_new("[adapter a]\ndevice = $.id\nstatus = $.s\n"
               "invalid = measuring , Calibrating,error,maintenance, 3\nmetric.v = $.v\n");
    assert_int_equal(decode(f, "t", "{\"id\":\"a\",\"v\":1,\"s\":\"Measuring\"}"),
                     IOCD_REJECT_NONE);
    assert_obs_q(f, 0, "a", "v", 1, RECEIVED, INVALID, "");
    assert_int_equal(decode(f, "t", "{\"id\":\"a\",\"v\":1,\"s\":\"fault\"}"), IOCD_REJECT_NONE);
    assert_obs_q(f, 0, "a", "v", 1, RECEIVED, GOOD, "");
    assert_int_equal(decode(f, "t", "{\"id\":\"a\",\"v\":1,\"s\":3}"), IOCD_REJECT_NONE);
    assert_obs_q(f, 0, "a", "v", 1, RECEIVED, INVALID, "");
    /* without records, a bad status rejects the message */
    assert_int_equal(decode(f, "t", "{\"id\":\"a\",\"v\":1,\"s\":true}"),
                     IOCD_REJECT_WRONG_TYPE);
    assert_string_equal(f->batch.detail, "status $.s is a bool");
    fx_free(f);

    /* valid: any other value is invalid (the default invalid list still applies) */
    f = fx_new("[adapter a]\ndevice = $.id\nstatus = $.s\nvalid = ok, Normal\nmetric.v = $.v\n");
    static const struct {
        const char *s;
        Ioc__V1__Quality q;
    } cases[] = {{"\"OK\"", GOOD},       {"\"normal\"", GOOD},  {"\"measuring\"", INVALID},
                 {"\"\"", INVALID},      {"0", INVALID},        {"null", GOOD}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char p[128];
        snprintf(p, sizeof(p), "{\"id\":\"a\",\"v\":1,\"s\":%s}", cases[i].s);
        assert_int_equal(decode(f, "t", p), IOCD_REJECT_NONE);
        assert_obs_q(f, 0, "a", "v", 1, RECEIVED, cases[i].q, "");
    }
    fx_free(f);
}

static void test_labels(void **state)
{
    (void)state;
    struct fx *f = fx_new("[adapter a]\nrecords = $.data\ndevice = $.id\n"
                          "label.gw = ^$.gateway\nlabel.fw = $.fw\nlabel.site = $.meta.site\n"
                          "metric.v = $.v\nmetric.w = $.w\n");
    assert_int_equal(decode(f, "t",
                            "{\"gateway\":\"GW-1\",\"data\":["
                            "{\"id\":\"a\",\"v\":1,\"w\":2,\"fw\":1.25,\"meta\":{\"site\":\"north\"}},"
                            "{\"id\":\"b\",\"v\":3,\"fw\":\"2.0\",\"meta\":{\"site\":null}},"
                            "{\"id\":\"c\",\"v\":4,\"fw\":0.1},"
                            "{\"id\":\"d\",\"v\":5,\"fw\":[1]}]}"),
                     IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 4);
    assert_obs_q(f, 0, "a", "v", 1, RECEIVED, GOOD, "gw=GW-1,fw=1.25,site=north");
    assert_obs_q(f, 1, "a", "w", 2, RECEIVED, GOOD, "gw=GW-1,fw=1.25,site=north");
    assert_obs_q(f, 2, "b", "v", 3, RECEIVED, GOOD, "gw=GW-1,fw=2.0");
    assert_obs_q(f, 3, "c", "v", 4, RECEIVED, GOOD, "gw=GW-1,fw=0.1");
    assert_int_equal(f->batch.notes[IOCD_NOTE_PARTIAL], 1);
    assert_string_equal(f->batch.note_detail,
                        "record 3 skipped (wrong_type): label fw $.fw is an array");
    fx_free(f);

    /* all_strings: unused top-level strings, explicit labels win, long ones skipped */
    char big[200];
    memset(big, 'x', 129);
    big[129] = '\0';
    f = fx_new("[adapter a]\ndevice = $.id\ntime = $.ts\nstatus = $.st\nlabels = all_strings\n"
               "label.room = $.r\nmetric.v = $.v\nmetric.s = $.sv\n");
    char p[1024];
    snprintf(p, sizeof(p),
             "{\"id\":\"a\",\"ts\":\"2026-11-22T10:04:05Z\",\"st\":\"ok\",\"r\":\"12\","
             "\"room\":\"ignored\",\"fw\":\"1.2\",\"n\":5,\"v\":1,\"sv\":null,\"big\":\"%s\","
             "\"bad name\":\"x\",\"empty\":\"\",\"obj\":{\"k\":\"v\"},\"zone\":\"B\"}",
             big);
    assert_int_equal(decode(f, "t", p), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 1);
    assert_obs_q(f, 0, "a", "v", 1, AIR_T, GOOD, "room=12,fw=1.2,zone=B");
    fx_free(f);

    /* at most 16 from all_strings */
    f = fx_new("[adapter a]\ndevice = $.id\nlabels = all_strings\nmetric.v = $.v\n");
    size_t n = (size_t)snprintf(p, sizeof(p), "{\"id\":\"a\",\"v\":1");
    for (int i = 0; i < 20; i++)
        n += (size_t)snprintf(p + n, sizeof(p) - n, ",\"k%d\":\"%d\"", i, i);
    snprintf(p + n, sizeof(p) - n, "}");
    assert_int_equal(decode(f, "t", p), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.obs[0]->n_labels, 16);
    assert_string_equal(f->batch.obs[0]->labels[15]->key, "k15");
    fx_free(f);
}

static void test_scale_offset(void **state)
{
    (void)state;
    struct fx *f = fx_new("[adapter a]\ndevice = $.id\n"
                          "metric.temp = $.t_dC Cel scale=0.125 offset=-2.5\n"
                          "metric.raw = $.t_dC\n"
                          "metric.k = $.c offset=273.25\n"
                          "metric.half = $.c 1 scale=0.5\n"
                          "metric.id = $['a b'] m scale=1\n");
    assert_int_equal(decode(f, "t", "{\"id\":\"a\",\"t_dC\":215,\"c\":-0.75,\"a b\":-0.0}"),
                     IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 5);
    assert_obs(f, 0, "a", "a", "temp", 24.375, "Cel", RECEIVED);
    assert_obs(f, 1, "a", "a", "raw", 215, "", RECEIVED);
    assert_obs(f, 2, "a", "a", "k", 272.5, "", RECEIVED);
    assert_obs(f, 3, "a", "a", "half", -0.375, "1", RECEIVED);
    assert_obs(f, 4, "a", "a", "id", 0, "m", RECEIVED);
    fx_free(f);
}

static void test_metric_from_topic(void **state)
{
    (void)state;
    struct fx *f = fx_new("[adapter a]\ndevice = topic[1]\nmetric_from_topic = 2\n"
                          "value = $.v Cel scale=0.5\nlabel.unit_id = $.u\n");
    assert_int_equal(decode(f, "plant/D1/temperature", "{\"v\":43,\"u\":7}"), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 1);
    assert_obs_q(f, 0, "D1", "temperature", 21.5, RECEIVED, GOOD, "unit_id=7");
    assert_string_equal(f->batch.obs[0]->unit, "Cel");
    assert_int_equal(decode(f, "plant/D1/temperature/x", "{\"v\":1}"), IOCD_REJECT_NONE);
    assert_string_equal(f->batch.obs[0]->metric, "temperature");
    assert_int_equal(decode(f, "plant/D1", "{\"v\":1}"), IOCD_REJECT_MISSING_FIELD);
    assert_string_equal(f->batch.detail, "metric: topic has no level 2");
    assert_int_equal(decode(f, "plant/D1/", "{\"v\":1}"), IOCD_REJECT_BAD_ID);
    assert_string_equal(f->batch.detail,
                        "metric: topic level 2 must be 1 to 64 characters of letters, digits, "
                        "'_', '.' and '-'");
    assert_int_equal(decode(f, "plant/D1/t emp", "{\"v\":1}"), IOCD_REJECT_BAD_ID);
    assert_int_equal(decode(f, "plant/D1/t", "{\"w\":1}"), IOCD_REJECT_MISSING_FIELD);
    assert_string_equal(f->batch.detail, "none of the 1 metric fields is present (first: $.v)");
    fx_free(f);
}

static void test_create_errors_new_keys(void **state)
{
    (void)state;
    assert_create_error("[adapter a]\ndevice = ^$.gw\nmetric.v = $.v\n",
                        "test.conf:2: [adapter a] device: '^' (read in the whole message) needs "
                        "'records'");
    assert_create_error("[adapter a]\nrecords = ^$.data\ndevice = $.id\nmetric.v = $.v\n",
                        "test.conf:2: [adapter a] records: is always read in the whole message: "
                        "drop the '^'");
    assert_create_error("[adapter a]\nrecords = $..x\ndevice = $.id\nmetric.v = $.v\n",
                        "test.conf:2: [adapter a] records: bad path '$..x': empty name after "
                        "'.' at character 2");
    assert_create_error("[adapter a]\nrecords = $\ndevice = $.id\nmetric.v = ^$.\n",
                        "test.conf:4: [adapter a] metric.v: bad path '$.': empty name after '.' "
                        "at character 2");
    assert_create_error("[adapter a]\ndevice = $.id\ninvalid = error\nmetric.v = $.v\n",
                        "test.conf:3: [adapter a] invalid: has no effect without 'status' "
                        "(every sample is good)");
    assert_create_error("[adapter a]\ndevice = $.id\nvalid = ok\nmetric.v = $.v\n",
                        "test.conf:3: [adapter a] valid: has no effect without 'status' "
                        "(every sample is good)");
    assert_create_error("[adapter a]\ndevice = $.id\nstatus = $.s\ninvalid = error,,x\n"
                        "metric.v = $.v\n",
                        "test.conf:4: [adapter a] invalid: expected a comma-separated list of 1 "
                        "to 16 status values, e.g. 'calibrating, error'");
    assert_create_error("[adapter a]\ndevice = $.id\nstatus = $.s\nvalid =\nmetric.v = $.v\n",
                        "test.conf:4: [adapter a] valid: expected a comma-separated list of 1 "
                        "to 16 status values, e.g. 'ok, normal'");
    assert_create_error("[adapter a]\ndevice = $.id\nstatus = $[\nmetric.v = $.v\n",
                        "test.conf:3: [adapter a] status: bad path '$[': expected an index or a "
                        "quoted name after '[' at character 2");
    assert_create_error("[adapter a]\ndevice = $.id\nlabels = strings\nmetric.v = $.v\n",
                        "test.conf:3: [adapter a] labels: expected all_strings");
    assert_create_error("[adapter a]\ndevice = $.id\nlabel. = $.x\nmetric.v = $.v\n",
                        "test.conf:3: [adapter a] label.: label name must be 1 to 64 "
                        "characters of letters, digits, '_', '.' and '-'");
    assert_create_error("[adapter a]\ndevice = $.id\nlabel.x =\nmetric.v = $.v\n",
                        "test.conf:3: [adapter a] label.x: expected a path, e.g. '$.site'");
    assert_create_error("[adapter a]\ndevice = $.id\nlabel.x = $.a\nlabel.x = $.b\n"
                        "metric.v = $.v\n",
                        "test.conf:4: [adapter a] label.x: given twice (first on line 3)");
    assert_create_error("[adapter a]\ndevice = $.id\nmetric.v = $.v Cel scale=abc\n",
                        "test.conf:3: [adapter a] metric.v: scale: expected a finite number");
    assert_create_error("[adapter a]\ndevice = $.id\nmetric.v = $.v offset=1e999\n",
                        "test.conf:3: [adapter a] metric.v: offset: expected a finite number");
    assert_create_error("[adapter a]\ndevice = $.id\nmetric.v = $.v scale=nan\n",
                        "test.conf:3: [adapter a] metric.v: scale: expected a finite number");
    assert_create_error("[adapter a]\ndevice = $.id\nmetric.v = $.v scale=\n",
                        "test.conf:3: [adapter a] metric.v: scale: expected a finite number");
    assert_create_error("[adapter a]\ndevice = $.id\nmetric.v = $.v scale=2 scale=3\n",
                        "test.conf:3: [adapter a] metric.v: expected 'PATH [UNIT] [scale=X] "
                        "[offset=Y]': scale given twice");
    assert_create_error("[adapter a]\ndevice = $.id\nmetric.v = $.v offset=2 Cel\n",
                        "test.conf:3: [adapter a] metric.v: expected 'PATH [UNIT]': the unit "
                        "must be one word");
    assert_create_error("[adapter a]\ndevice = $.id\nmetric_from_topic = 256\nvalue = $.v\n",
                        "test.conf:3: [adapter a] metric_from_topic: expected a topic level "
                        "from 0 to 255");
    assert_create_error("[adapter a]\ndevice = $.id\nmetric_from_topic = x1\nvalue = $.v\n",
                        "test.conf:3: [adapter a] metric_from_topic: expected a topic level "
                        "from 0 to 255");
    assert_create_error("[adapter a]\ndevice = $.id\nmetric_from_topic = 2\n",
                        "test.conf:3: [adapter a] metric_from_topic: needs 'value = PATH "
                        "[UNIT]' (the one value)");
    assert_create_error("[adapter a]\ndevice = $.id\nmetric_from_topic = 2\nvalue = $.v\n"
                        "metric.w = $.w\n",
                        "test.conf:3: [adapter a] metric_from_topic: cannot be combined with "
                        "'metric.NAME' keys");
    assert_create_error("[adapter a]\ndevice = $.id\nvalue = $.v\nmetric.w = $.w\n",
                        "test.conf:3: [adapter a] value: has no effect without "
                        "'metric_from_topic'");
    assert_create_error("[adapter a]\ndevice = $.id\nmetric_from_topic = 1\nvalue =\n",
                        "test.conf:4: [adapter a] value: expected 'PATH [UNIT]', e.g. '$.v "
                        "ug/m3'");
    assert_create_error("[adapter a]\ndevice = $.id\nrecords = $\nrecords = $.d\nmetric.v = $.v\n",
                        "test.conf:4: key 'records' given twice (first on line 3)");
}

static void test_new_keys_marked_used(void **state)
{
    (void)state;
    struct fx *f = fx_new("[adapter a]\nrecords = $.d\ndevice = $.id\nstatus = $.s\n"
                          "invalid = x\nvalid = ok\nlabel.g = ^$.g\nlabels = all_strings\n"
                          "metric_from_topic = 0\nvalue = $.v scale=2 offset=1\n");
    struct iocd_error err = {{0}};
    assert_int_equal(iocd_ini_check_unused(&f->ini, &err), 0);
    fx_free(f);
}

/* The worked example of docs/adapters.md ("A station gateway"). */
static void test_doc_gateway_example(void **state)
{
    (void)state;
    struct fx *f = fx_new("[adapter aq-gateway]\n"
                          "topic = pleiku/air/gateway/+\n"
                          "format = json\n"
                          "records = $.data\n"
                          "device = $.station\n"
                          "time = $.ts\n"
                          "time_offset = +07:00\n"
                          "status = $.status\n"
                          "label.gateway = ^$.gateway\n"
                          "metric.pm25 = $.pm25 ug/m3\n"
                          "metric.temperature = $.temp_dC Cel scale=0.1\n");
    assert_int_equal(
        decode(f, "pleiku/air/gateway/GW-1",
               "{\"gateway\":\"GW-1\",\"data\":["
               "{\"station\":\"GL-AQ01\",\"ts\":\"2026-11-22T17:04:05\",\"pm25\":23.5,"
               "\"temp_dC\":245,\"status\":\"ok\"},"
               "{\"station\":\"GL-AQ02\",\"ts\":1795341845,\"pm25\":41.25,\"temp_dC\":251,"
               "\"status\":\"calibrating\"},"
               "{\"station\":\"GL-AQ03\",\"ts\":1795341845000,\"pm25\":\"n/a\","
               "\"status\":\"error\"}]}"),
        IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 4);
    assert_obs_q(f, 0, "GL-AQ01", "pm25", 23.5, AIR_T, GOOD, "gateway=GW-1");
    assert_obs_q(f, 1, "GL-AQ01", "temperature", 24.5, AIR_T, GOOD, "gateway=GW-1");
    assert_obs_q(f, 2, "GL-AQ02", "pm25", 41.25, AIR_T, INVALID, "gateway=GW-1");
    assert_obs_q(f, 3, "GL-AQ02", "temperature", 251 * 0.1, AIR_T, INVALID, "gateway=GW-1");
    assert_string_equal(f->batch.obs[1]->unit, "Cel");
    assert_int_equal(f->batch.notes[IOCD_NOTE_PARTIAL], 1);
    assert_string_equal(f->batch.note_detail,
                        "record 2 skipped (wrong_type): $.pm25 is a string");
    fx_free(f);

    char big[4096];
    size_t n = (size_t)snprintf(big, sizeof(big), "[adapter a]\ndevice = $.id\nmetric.v = $.v\n");
    for (int i = 0; i < 65; i++)
        n += (size_t)snprintf(big + n, sizeof(big) - n, "label.l%d = $.l%d\n", i, i);
    assert_create_error(big, "test.conf:1: [adapter a] too many label.NAME keys (at most 64)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sim_air),          cmocka_unit_test(test_sim_traffic),
        cmocka_unit_test(test_sim_water),        cmocka_unit_test(test_topic_device),
        cmocka_unit_test(test_no_time_key),      cmocka_unit_test(test_paths_and_extra_fields),
        cmocka_unit_test(test_time_options),     cmocka_unit_test(test_device_values),
        cmocka_unit_test(test_time_rejects),     cmocka_unit_test(test_metric_rejects),
        cmocka_unit_test(test_malformed),        cmocka_unit_test(test_payload_bounds),
        cmocka_unit_test(test_deep_and_large),   cmocka_unit_test(test_no_memory),
        cmocka_unit_test(test_create_errors),    cmocka_unit_test(test_create_offsets),
        cmocka_unit_test(test_keys_marked_used), cmocka_unit_test(test_source_argument),
        cmocka_unit_test(test_records_at_root),  cmocka_unit_test(test_records_in_object),
        cmocka_unit_test(test_records_skipped_and_all_bad),
        cmocka_unit_test(test_records_bound),    cmocka_unit_test(test_status),
        cmocka_unit_test(test_labels),           cmocka_unit_test(test_scale_offset),
        cmocka_unit_test(test_metric_from_topic),
        cmocka_unit_test(test_create_errors_new_keys),
        cmocka_unit_test(test_new_keys_marked_used),
        cmocka_unit_test(test_doc_gateway_example),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
