/* tests/unit/test_influx_adapter.c — the influx adapter (adapters/influx.c):
 * InfluxDB line protocol from Telegraf and gateways decoded to exact
 * Observations (every type, escape, precision), partial messages, every
 * reject reason, and config errors with file and line. */
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

extern const struct iocd_adapter_ops iocd_adapter_influx;
#define FX_OPS iocd_adapter_influx
#define FX_CHECK_USED


#include "adapter_fixture.h"

static enum iocd_reject decode_n(struct fx *f, const char *topic, const void *payload, size_t len)
{
    iocd_batch_reset(&f->batch);
    /* an exact-size copy: reading past the payload is caught under ASan */
    void *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    if (len)
        memcpy(copy, payload, len);
    struct iocd_message m = {.topic = topic, .payload = payload ? copy : NULL, .len = len,
                             .received_ms = RECEIVED};
    enum iocd_reject r = iocd_adapter_influx.decode(f->state, &m, &f->batch);
    free(copy);
    if (r == IOCD_REJECT_NONE) {
        assert_true(f->batch.n_obs > 0);
    } else {
        assert_int_equal(f->batch.n_obs, 0);
        assert_true(f->batch.detail[0] != '\0');
    }
    return r;
}

static enum iocd_reject decode(struct fx *f, const char *payload)
{
    return decode_n(f, "telegraf/gw1/metrics", payload, strlen(payload));
}

static void assert_obs(const struct fx *f, size_t i, const char *source, const char *device,
                       const char *metric, double value, const char *unit, int64_t observed_ms,
                       size_t n_labels)
{
    if (i >= f->batch.n_obs)
        fail_msg("no observation %zu (have %zu)", i, f->batch.n_obs);
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
    if (o->n_labels != n_labels)
        fail_msg("obs %zu (%s): %zu labels, expected %zu", i, metric, o->n_labels, n_labels);
    assert_null(o->location);
}

static void assert_label(const struct fx *f, size_t i, size_t k, const char *key,
                         const char *value)
{
    assert_true(i < f->batch.n_obs);
    const Ioc__V1__Observation *o = f->batch.obs[i];
    assert_true(k < o->n_labels);
    assert_string_equal(o->labels[k]->key, key);
    assert_string_equal(o->labels[k]->value, value);
}

static void assert_no_note(const struct fx *f)
{
    assert_int_equal(f->batch.notes[IOCD_NOTE_PARTIAL], 0);
    assert_int_equal(f->batch.notes[IOCD_NOTE_SEQ_GAP], 0);
}

static void assert_partial(const struct fx *f, const char *detail)
{
    assert_int_equal(f->batch.notes[IOCD_NOTE_PARTIAL], 1);
    assert_string_equal(f->batch.note_detail, detail);
}

/* 2023-11-14T22:13:20Z */
#define T1700 INT64_C(1700000000000)

static void test_telegraf_cpu(void **state)
{
    (void)state;
    struct fx *f = fx_new("[adapter telegraf]\n"
                          "topic = telegraf/+/metrics\n"
                          "format = influx\n"
                          "device = tag:host\n"
                          "unit.usage_idle = %\n"
                          "unit.usage_user = %\n");
    assert_int_equal(decode(f, "cpu,host=gw1 usage_idle=98.2,usage_user=1.1 1700000000000000000"),
                     IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 2);
    assert_int_equal(f->batch.n_events, 0);
    assert_obs(f, 0, "telegraf", "gw1", "cpu.usage_idle", 98.2, "%", T1700, 0);
    assert_obs(f, 1, "telegraf", "gw1", "cpu.usage_user", 1.1, "%", T1700, 0);
    assert_no_note(f);

    /* Telegraf's usual cpu line: a second tag becomes a label */
    assert_int_equal(decode(f, "cpu,cpu=cpu-total,host=gw1 usage_idle=97.5,usage_iowait=0.25 "
                               "1700000010000000000\n"),
                     IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 2);
    assert_obs(f, 0, "telegraf", "gw1", "cpu.usage_idle", 97.5, "%", T1700 + 10000, 1);
    assert_label(f, 0, 0, "cpu", "cpu-total");
    assert_obs(f, 1, "telegraf", "gw1", "cpu.usage_iowait", 0.25, "", T1700 + 10000, 1);
    assert_label(f, 1, 0, "cpu", "cpu-total");
    fx_free(f);
}

static void test_bus_gps(void **state)
{
    (void)state;
    struct fx *f = fx_new("[adapter fleet]\n"
                          "topic = gateway/+/bus\n"
                          "format = influx\n"
                          "device = tag:bus\n"
                          "unit.lat = deg\n"
                          "unit.lon = deg\n"
                          "unit.speed = km/h\n"
                          "unit.occupancy = 1\n");
    assert_int_equal(decode(f, "bus,route=01,bus=81B-00123 lat=13.9833,lon=108.0,speed=32.5,"
                               "occupancy=41i 1795349564000000000"),
                     IOCD_REJECT_NONE);
    const int64_t t = INT64_C(1795349564000); /* 2026-11-22T12:12:44Z */
    assert_int_equal(f->batch.n_obs, 4);
    assert_obs(f, 0, "fleet", "81B-00123", "bus.lat", 13.9833, "deg", t, 1);
    assert_obs(f, 1, "fleet", "81B-00123", "bus.lon", 108.0, "deg", t, 1);
    assert_obs(f, 2, "fleet", "81B-00123", "bus.speed", 32.5, "km/h", t, 1);
    assert_obs(f, 3, "fleet", "81B-00123", "bus.occupancy", 41, "1", t, 1);
    for (size_t i = 0; i < 4; i++)
        assert_label(f, i, 0, "route", "01");
    fx_free(f);
}

/* location = lat,lon: the line's lat and lon fields are also the position
 * of each of its observations; without both (or out of range) none. */
static void test_bus_location(void **state)
{
    (void)state;
    struct fx *f = fx_new("[adapter bus]\n"
                          "topic = gateway/+/bus\n"
                          "format = influx\n"
                          "device = tag:bus\n"
                          "metric = field\n"
                          "location = lat,lon\n");
    assert_int_equal(decode(f, "bus,bus=81B-00123 lat=13.98331,lon=108.00012,speed=32.5\n"
                               "bus,bus=81B-08042 speed=20,lat=14i,lon=108i\n"
                               "bus,bus=81B-15961 lat=13.9,speed=1\n"
                               "bus,bus=81B-23880 lat=91,lon=108\n"
                               "bus,bus=81B-00001 lat=\"13.9\",lon=108\n"),
                     IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 11);
    for (size_t i = 0; i < 3; i++) {
        const Ioc__V1__Location *l = f->batch.obs[i]->location;
        assert_non_null(l);
        assert_true(l->lat == 13.98331 && l->lon == 108.00012);
    }
    assert_string_equal(f->batch.obs[0]->metric, "lat"); /* still an observation */
    for (size_t i = 3; i < 6; i++) {
        const Ioc__V1__Location *l = f->batch.obs[i]->location;
        assert_non_null(l);
        assert_true(l->lat == 14 && l->lon == 108);
    }
    for (size_t i = 6; i < 11; i++) /* lon missing, lat out of range, lat a string */
        assert_null(f->batch.obs[i]->location);
    fx_free(f);
}

/* The Telegraf example of docs/adapters.md (influx), exactly. */
static void test_doc_telegraf(void **state)
{
    (void)state;
    struct fx *f = fx_new("[adapter telegraf]\n"
                          "topic = telegraf/+/metrics\n"
                          "format = influx\n"
                          "device = tag:host\n"
                          "unit.usage_idle = %\n"
                          "unit.usage_iowait = %\n"
                          "unit.used_percent = %\n");
    assert_int_equal(decode(f, "cpu,cpu=cpu-total,host=gw1 usage_idle=97.5,usage_iowait=0.25 "
                               "1700000000000000000\n"
                               "mem,host=gw1 used_percent=41.5 1700000000000000000\n"),
                     IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 3);
    assert_obs(f, 0, "telegraf", "gw1", "cpu.usage_idle", 97.5, "%", T1700, 1);
    assert_label(f, 0, 0, "cpu", "cpu-total");
    assert_obs(f, 1, "telegraf", "gw1", "cpu.usage_iowait", 0.25, "%", T1700, 1);
    assert_label(f, 1, 0, "cpu", "cpu-total");
    assert_obs(f, 2, "telegraf", "gw1", "mem.used_percent", 41.5, "%", T1700, 0);
    assert_no_note(f);
    fx_free(f);
}

static void test_metric_field_and_topic_device(void **state)
{
    (void)state;
    struct fx *f = fx_new("[adapter gw]\n"
                          "device = topic[1]\n"
                          "metric = field\n"
                          "precision = s\n");
    assert_int_equal(decode(f, "home,room=Kitchen temp=22.5,hum=36.2,co=0i 1641024000"),
                     IOCD_REJECT_NONE);
    const int64_t t = INT64_C(1641024000000); /* 2022-01-01T08:00:00Z */
    assert_int_equal(f->batch.n_obs, 3);
    /* every tag is a label when the device comes from the topic */
    assert_obs(f, 0, "gw", "gw1", "temp", 22.5, "", t, 1);
    assert_label(f, 0, 0, "room", "Kitchen");
    assert_obs(f, 1, "gw", "gw1", "hum", 36.2, "", t, 1);
    assert_obs(f, 2, "gw", "gw1", "co", 0, "", t, 1);

    assert_int_equal(decode_n(f, "telegraf", "m v=1", 5), IOCD_REJECT_MISSING_FIELD);
    assert_string_equal(f->batch.detail, "device: topic has no level 1");
    assert_int_equal(decode_n(f, "telegraf//x", "m v=1", 5), IOCD_REJECT_BAD_ID);
    assert_string_equal(f->batch.detail, "device: topic level 1 is empty");
    assert_int_equal(decode_n(f, "a/\xff\xfe/x", "m v=1", 5), IOCD_REJECT_BAD_ID);
    assert_string_equal(f->batch.detail, "device: topic level 1 is not valid UTF-8");
    assert_int_equal(decode_n(f, "a/b\x01/x", "m v=1", 5), IOCD_REJECT_BAD_ID);
    assert_string_equal(f->batch.detail, "device: topic level 1 contains a control character");
    fx_free(f);
}

static void test_field_types(void **state)
{
    (void)state;
    struct fx *f = fx_new("[adapter t]\ndevice = tag:d\nmetric = field\n");
    static const struct {
        const char *value;
        double expect;
    } cases[] = {
        /* floats */
        {"1.5", 1.5},
        {"1e3", 1000},
        {"-2", -2},
        {"0", 0},
        {"-0.0", -0.0},
        {"1.", 1},
        {".5", 0.5},
        {"-1.5E-3", -0.0015},
        {"2e+2", 200},
        {"1e-400", 0}, /* underflows to zero: finite */
        {"1.7976931348623157e308", 1.7976931348623157e308},
        /* integers */
        {"12i", 12},
        {"-12i", -12},
        {"0i", 0},
        {"9223372036854775807i", 9223372036854775807.0},
        {"-9223372036854775808i", -9223372036854775808.0},
        /* unsigned */
        {"12u", 12},
        {"0u", 0},
        {"18446744073709551615u", 18446744073709551615.0},
        /* booleans */
        {"t", 1},
        {"T", 1},
        {"true", 1},
        {"True", 1},
        {"TRUE", 1},
        {"f", 0},
        {"F", 0},
        {"false", 0},
        {"False", 0},
        {"FALSE", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char line[128];
        snprintf(line, sizeof(line), "m,d=dev v=%s 1700000000000000000", cases[i].value);
        if (decode(f, line) != IOCD_REJECT_NONE)
            fail_msg("'%s' rejected: %s", line, f->batch.detail);
        assert_int_equal(f->batch.n_obs, 1);
        assert_obs(f, 0, "t", "dev", "v", cases[i].expect, "", T1700, 0);
        assert_true(signbit(f->batch.obs[0]->value) == signbit(cases[i].expect));
    }

    /* a string field is a label on the line's observations, not a value */
    assert_int_equal(decode(f, "m,d=dev,site=north v=1i,status=\"ok\",fw=\"1.2.3\",w=2 "
                               "1700000000000000000"),
                     IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 2);
    assert_obs(f, 0, "t", "dev", "v", 1, "", T1700, 3);
    assert_label(f, 0, 0, "site", "north");
    assert_label(f, 0, 1, "status", "ok");
    assert_label(f, 0, 2, "fw", "1.2.3");
    assert_obs(f, 1, "t", "dev", "w", 2, "", T1700, 3);
    assert_label(f, 1, 2, "fw", "1.2.3");
    /* an empty string and a string that looks numeric are labels too */
    assert_int_equal(decode(f, "m,d=dev s=\"\",n=\"42\",v=3"), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 1);
    assert_obs(f, 0, "t", "dev", "v", 3, "", RECEIVED, 2);
    assert_label(f, 0, 0, "s", "");
    assert_label(f, 0, 1, "n", "42");
    fx_free(f);
}

static void test_escapes(void **state)
{
    (void)state;
    struct fx *f = fx_new("[adapter e]\ndevice = tag:dev id\n");
    /* measurement: comma and space escaped; '=' needs no escape */
    assert_int_equal(decode(f, "my\\ room\\,a=b,dev\\ id=d1 v=1"), IOCD_REJECT_NONE);
    assert_obs(f, 0, "e", "d1", "my room,a=b.v", 1, "", RECEIVED, 0);
    /* tag keys and values: comma, equals and space */
    assert_int_equal(decode(f, "m,dev\\ id=d1,k\\,1\\=x\\ y=v\\,1\\=2\\ 3 v=1"), IOCD_REJECT_NONE);
    assert_obs(f, 0, "e", "d1", "m.v", 1, "", RECEIVED, 1);
    assert_label(f, 0, 0, "k,1=x y", "v,1=2 3");
    /* field keys: comma, equals and space */
    assert_int_equal(decode(f, "m,dev\\ id=d1 a\\ b\\,c\\=d=2.5"), IOCD_REJECT_NONE);
    assert_obs(f, 0, "e", "d1", "m.a b,c=d", 2.5, "", RECEIVED, 0);
    /* string values: double quote and backslash; a comma, space or '='
     * inside quotes needs no escape */
    assert_int_equal(decode(f, "m,dev\\ id=d1 v=1,s=\"say \\\"hi\\\", a=b \\\\ end\""),
                     IOCD_REJECT_NONE);
    assert_obs(f, 0, "e", "d1", "m.v", 1, "", RECEIVED, 1);
    assert_label(f, 0, 0, "s", "say \"hi\", a=b \\ end");
    /* a string ending in an escaped backslash: the quote after it closes it */
    assert_int_equal(decode(f, "m,dev\\ id=d1 s=\"a\\\\\",v=1"), IOCD_REJECT_NONE);
    assert_obs(f, 0, "e", "d1", "m.v", 1, "", RECEIVED, 1);
    assert_label(f, 0, 0, "s", "a\\");
    /* any other backslash is literal, in names and in strings */
    assert_int_equal(decode(f, "m\\x,dev\\ id=d\\1,t=a\\b v=1,s=\"c:\\temp\\n\""),
                     IOCD_REJECT_NONE);
    assert_obs(f, 0, "e", "d\\1", "m\\x.v", 1, "", RECEIVED, 2);
    assert_label(f, 0, 0, "t", "a\\b");
    assert_label(f, 0, 1, "s", "c:\\temp\\n");
    /* "\\" is one backslash; "\\\" two (the last is literal) */
    assert_int_equal(decode(f, "m\\\\x,dev\\ id=d1,t=a\\\\\\b v=1"), IOCD_REJECT_NONE);
    assert_obs(f, 0, "e", "d1", "m\\x.v", 1, "", RECEIVED, 1);
    assert_label(f, 0, 0, "t", "a\\\\b");
    /* "\\," ends the tag value: the escape covers only the backslash */
    assert_int_equal(decode(f, "m,dev\\ id=d1,t=a\\\\,u=b v=1"), IOCD_REJECT_NONE);
    assert_obs(f, 0, "e", "d1", "m.v", 1, "", RECEIVED, 2);
    assert_label(f, 0, 0, "t", "a\\");
    assert_label(f, 0, 1, "u", "b");
    /* a backslash ending a measurement is literal */
    assert_int_equal(decode(f, "m\\,dev\\ id=d1 v=1"), IOCD_REJECT_MISSING_FIELD);
    assert_string_equal(f->batch.detail, "line 1: no tag 'dev id' for the device");
    /* UTF-8 in names and values */
    assert_int_equal(decode(f, "nhi\xe1\xbb\x87t_\xc4\x91\xe1\xbb\x99,dev\\ id=Pleiku-1,"
                               "ph\xc6\xb0\xe1\xbb\x9dng=Di\xe1\xbb\x87n\\ H\xe1\xbb\x93ng v=24"),
                     IOCD_REJECT_NONE);
    assert_obs(f, 0, "e", "Pleiku-1", "nhi\xe1\xbb\x87t_\xc4\x91\xe1\xbb\x99.v", 24, "", RECEIVED,
               1);
    assert_label(f, 0, 0, "ph\xc6\xb0\xe1\xbb\x9dng", "Di\xe1\xbb\x87n H\xe1\xbb\x93ng");
    fx_free(f);
}

static void test_precision(void **state)
{
    (void)state;
    static const struct {
        const char *precision; /* NULL: the default */
        const char *ts;
        int64_t ms;
    } cases[] = {
        {NULL, "1795341845123456789", INT64_C(1795341845123)},
        {"ns", "1795341845123999999", INT64_C(1795341845123)},
        {"ns", "999999", 0}, /* 0.999999 ms after the epoch: floor */
        {"ns", "0", 0},
        {"ns", "253402300799999999999", -1}, /* past int64 */
        {"ns", "9223372036854775807", INT64_C(9223372036854)},
        {"us", "1795341845123999", INT64_C(1795341845123)},
        {"us", "1795341845000001", INT64_C(1795341845000)},
        {"ms", "1795341845123", INT64_C(1795341845123)},
        {"ms", "253402300799999", INT64_C(253402300799999)}, /* 9999-12-31T23:59:59.999Z */
        {"s", "1795341845", INT64_C(1795341845000)},
        {"s", "253402300799", INT64_C(253402300799000)},
        {"s", "0000001795341845", INT64_C(1795341845000)}, /* leading zeros */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char conf[128], line[128];
        snprintf(conf, sizeof(conf), "[adapter p]\ndevice = tag:d\n%s%s%s",
                 cases[i].precision ? "precision = " : "",
                 cases[i].precision ? cases[i].precision : "", cases[i].precision ? "\n" : "");
        struct fx *f = fx_new(conf);
        snprintf(line, sizeof(line), "m,d=x v=1 %s", cases[i].ts);
        enum iocd_reject r = decode(f, line);
        if (cases[i].ms < 0) {
            assert_int_equal(r, IOCD_REJECT_BAD_TIME);
            assert_string_equal(f->batch.detail, "line 1, column 11: timestamp is out of range");
        } else {
            if (r != IOCD_REJECT_NONE)
                fail_msg("%s %s rejected: %s", cases[i].precision, cases[i].ts, f->batch.detail);
            assert_obs(f, 0, "p", "x", "m.v", 1, "", cases[i].ms, 0);
        }
        fx_free(f);
    }
}

static void test_time_rejects(void **state)
{
    (void)state;
    struct fx *f = fx_new("[adapter p]\ndevice = tag:d\n");
    assert_int_equal(decode(f, "m,d=x v=1 -1"), IOCD_REJECT_BAD_TIME);
    assert_string_equal(f->batch.detail, "line 1: timestamp -1 is before 1970");
    assert_int_equal(decode(f, "m,d=x v=1 -1000000"), IOCD_REJECT_BAD_TIME);
    assert_int_equal(decode(f, "m,d=x v=1 1.5e18"), IOCD_REJECT_MALFORMED);
    assert_string_equal(f->batch.detail, "line 1, column 11: timestamp is not an integer");
    assert_int_equal(decode(f, "m,d=x v=1 +1795341845"), IOCD_REJECT_MALFORMED);
    assert_int_equal(decode(f, "m,d=x v=1 17953418451234i"), IOCD_REJECT_MALFORMED);
    assert_int_equal(decode(f, "m,d=x v=1 1 2"), IOCD_REJECT_MALFORMED);
    assert_string_equal(f->batch.detail, "line 1, column 13: junk after the timestamp");
    fx_free(f);

    f = fx_new("[adapter p]\ndevice = tag:d\nprecision = s\n");
    assert_int_equal(decode(f, "m,d=x v=1 253402300800"), IOCD_REJECT_BAD_TIME);
    assert_string_equal(f->batch.detail, "line 1: timestamp 253402300800 is after 9999");
    assert_int_equal(decode(f, "m,d=x v=1 9223372036854775807"), IOCD_REJECT_BAD_TIME);
    assert_int_equal(decode(f, "m,d=x v=1 -9223372036854775808"), IOCD_REJECT_BAD_TIME);
    assert_string_equal(f->batch.detail, "line 1: timestamp -9223372036854775808 is before 1970");
    fx_free(f);

    f = fx_new("[adapter p]\ndevice = tag:d\nprecision = ms\n");
    assert_int_equal(decode(f, "m,d=x v=1 253402300800000"), IOCD_REJECT_BAD_TIME);
    fx_free(f);
}

static void test_lines(void **state)
{
    (void)state;
    struct fx *f = fx_new("[adapter g]\ndevice = tag:host\nmetric = field\n");
    /* blank lines, comments, CRLF, leading blanks, trailing blanks */
    assert_int_equal(decode(f, "# Telegraf batch\n"
                               "\n"
                               "mem,host=gw1 used_percent=41.5 1700000000000000000\r\n"
                               "   \t\n"
                               "  # indented comment\n"
                               "  disk,host=gw1,path=/ used=123456789i 1700000001000000000  \r\n"
                               "net,host=gw2 bytes_recv=1024u\n"),
                     IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 3);
    assert_obs(f, 0, "g", "gw1", "used_percent", 41.5, "", T1700, 0);
    assert_obs(f, 1, "g", "gw1", "used", 123456789, "", T1700 + 1000, 1);
    assert_label(f, 1, 0, "path", "/");
    assert_obs(f, 2, "g", "gw2", "bytes_recv", 1024, "", RECEIVED, 0);
    assert_no_note(f);

    /* a bad line is dropped, the good ones are kept, the message noted */
    assert_int_equal(decode(f, "mem,host=gw1 used_percent=41.5 1700000000000000000\n"
                               "# comment\n"
                               "mem,host=gw1 used_percent=abc 1700000000000000000\n"
                               "mem,host=gw1 used_percent=42.5 1700000002000000000\n"
                               "mem used_percent=43.5 1700000003000000000\n"),
                     IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 2);
    assert_obs(f, 0, "g", "gw1", "used_percent", 41.5, "", T1700, 0);
    assert_obs(f, 1, "g", "gw1", "used_percent", 42.5, "", T1700 + 2000, 0);
    assert_partial(f, "line 3, column 27: invalid value 'abc' of field 'used_percent'; "
                      "2 of 4 lines dropped");

    /* no usable line: the first error decides the reason */
    assert_int_equal(decode(f, "mem used_percent=1\nmem,host=gw1 used_percent=\n"),
                     IOCD_REJECT_MISSING_FIELD);
    assert_string_equal(f->batch.detail, "line 1: no tag 'host' for the device");
    assert_int_equal(decode(f, "mem,host=gw1 used_percent=\nmem used_percent=1\n"),
                     IOCD_REJECT_MALFORMED);
    assert_string_equal(f->batch.detail, "line 1, column 27: field 'used_percent' has an empty "
                                         "value");
    assert_int_equal(decode(f, "# only\n\n# comments\n"), IOCD_REJECT_MALFORMED);
    assert_string_equal(f->batch.detail, "no data line (only blank lines and comments)");
    assert_int_equal(decode(f, "\n\n"), IOCD_REJECT_MALFORMED);
    /* a line that decodes to nothing but strings is dropped like a bad one */
    assert_int_equal(decode(f, "log,host=gw1 msg=\"boot\"\nmem,host=gw1 used_percent=7"),
                     IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 1);
    assert_obs(f, 0, "g", "gw1", "used_percent", 7, "", RECEIVED, 0);
    assert_partial(f, "line 1: no numeric field; 1 of 2 lines dropped");
    assert_int_equal(decode(f, "log,host=gw1 msg=\"boot\""), IOCD_REJECT_MISSING_FIELD);
    assert_string_equal(f->batch.detail, "line 1: no numeric field");
    fx_free(f);
}

static void test_syntax_rejects(void **state)
{
    (void)state;
    struct fx *f = fx_new("[adapter s]\ndevice = tag:d\n");
    static const struct {
        const char *line;
        const char *detail;
    } cases[] = {
        {"m,d=x", "line 1, column 6: no fields"},
        {"m,d=x ", "line 1, column 6: no fields"},
        {"m", "line 1, column 2: no fields"},
        {",d=x v=1", "line 1, column 1: measurement is empty"},
        {" ,d=x v=1", "line 1, column 2: measurement is empty"},
        {"m,=x v=1", "line 1, column 3: tag key is empty"},
        {"m,d v=1", "line 1, column 4: tag 'd' has no '=value'"},
        {"m,d=x,e v=1", "line 1, column 8: tag 'e' has no '=value'"},
        {"m,d= v=1", "line 1, column 5: tag 'd' has an empty value"},
        {"m,d=x,e=,f=1 v=1", "line 1, column 9: tag 'e' has an empty value"},
        {"m,d=x=y v=1", "line 1, column 6: unescaped '=' in the value of tag 'd'"},
        {"m,d=x,", "line 1, column 7: tag key is empty"},
        {"m,d=x =1", "line 1, column 7: field key is empty"},
        {"m,d=x v", "line 1, column 8: field 'v' has no '=value'"},
        {"m,d=x v=1,", "line 1, column 11: field key is empty"},
        {"m,d=x v=1,w", "line 1, column 12: field 'w' has no '=value'"},
        {"m,d=x v=", "line 1, column 9: field 'v' has an empty value"},
        {"m,d=x v=,w=1", "line 1, column 9: field 'v' has an empty value"},
        {"m,d=x v=abc", "line 1, column 9: invalid value 'abc' of field 'v'"},
        {"m,d=x v=+1", "line 1, column 9: invalid value '+1' of field 'v'"},
        {"m,d=x v=0x10", "line 1, column 9: invalid value '0x10' of field 'v'"},
        {"m,d=x v=1.5i", "line 1, column 9: invalid value '1.5i' of field 'v'"},
        {"m,d=x v=-1u", "line 1, column 9: invalid value '-1u' of field 'v'"},
        {"m,d=x v=1e", "line 1, column 9: invalid value '1e' of field 'v'"},
        {"m,d=x v=.", "line 1, column 9: invalid value '.' of field 'v'"},
        {"m,d=x v=yes", "line 1, column 9: invalid value 'yes' of field 'v'"},
        {"m,d=x v=tRUE", "line 1, column 9: invalid value 'tRUE' of field 'v'"},
        {"m,d=x v='1'", "line 1, column 9: invalid value ''1'' of field 'v'"},
        {"m,d=x v=\"abc", "line 1, column 9: string value of field 'v' has no closing quote"},
        {"m,d=x v=\"a\\\"", "line 1, column 9: string value of field 'v' has no closing quote"},
        {"m,d=x v=\"a\"b", "line 1, column 12: junk after the string value of field 'v'"},
        {"m,d=x v=1 1 ", NULL},
        {"m,d=x v=1\t1", "line 1, column 10: control character 0x09"},
        {"m,d=x v=\"a\001\"", "line 1, column 11: control character 0x01"},
        {"m,d=x v=1,s=\"\x7f\"", "line 1, column 14: control character 0x7f"},
        {"m,d=\xc3\x28 v=1", "line 1, column 5: invalid UTF-8"},
        {"m,d=x v=1 \xed\xa0\x80", "line 1, column 11: invalid UTF-8"},
        {"m,d=x,d=y v=1", "line 1, column 7: tag 'd' given twice"},
        {"m,d=x v=1,w=2,v=3", "line 1, column 15: field 'v' given twice"},
        {"m,d=x,s=a v=1,s=\"b\"", "line 1, column 15: string field 's' has the same key as a tag"},
        {"m,d=x v=1i0", "line 1, column 9: invalid value '1i0' of field 'v'"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum iocd_reject r = decode(f, cases[i].line);
        if (!cases[i].detail) {
            assert_int_equal(r, IOCD_REJECT_NONE);
            continue;
        }
        if (r != IOCD_REJECT_MALFORMED)
            fail_msg("'%s': %s, expected malformed", cases[i].line, iocd_reject_name(r));
        if (strcmp(f->batch.detail, cases[i].detail) != 0)
            fail_msg("'%s': detail '%s', expected '%s'", cases[i].line, f->batch.detail,
                     cases[i].detail);
    }
    /* a numeric field with the same key as a tag is fine */
    assert_int_equal(decode(f, "m,d=x,v=a v=1"), IOCD_REJECT_NONE);
    assert_obs(f, 0, "s", "x", "m.v", 1, "", RECEIVED, 1);
    assert_label(f, 0, 0, "v", "a");
    /* the column counts bytes on its own line */
    assert_int_equal(decode(f, "m,d=x v=1\nm,d=x v=\"\xff\""), IOCD_REJECT_NONE);
    assert_partial(f, "line 2, column 10: invalid UTF-8; 1 of 2 lines dropped");
    fx_free(f);
}

static void test_overflow_and_not_finite(void **state)
{
    (void)state;
    struct fx *f = fx_new("[adapter o]\ndevice = tag:d\n");
    assert_int_equal(decode(f, "m,d=x v=9223372036854775808i"), IOCD_REJECT_MALFORMED);
    assert_string_equal(f->batch.detail,
                        "line 1, column 9: integer value of field 'v' is out of range");
    assert_int_equal(decode(f, "m,d=x v=-9223372036854775809i"), IOCD_REJECT_MALFORMED);
    assert_int_equal(decode(f, "m,d=x v=99999999999999999999999i"), IOCD_REJECT_MALFORMED);
    assert_int_equal(decode(f, "m,d=x v=18446744073709551616u"), IOCD_REJECT_MALFORMED);
    assert_string_equal(f->batch.detail,
                        "line 1, column 9: unsigned value of field 'v' is out of range");
    static const char *const nonfinite[] = {"NaN", "nan", "-nan", "inf", "+Inf", "-inf",
                                            "Infinity", "-INFINITY"};
    for (size_t i = 0; i < sizeof(nonfinite) / sizeof(nonfinite[0]); i++) {
        char line[64];
        snprintf(line, sizeof(line), "m,d=x v=%s", nonfinite[i]);
        assert_int_equal(decode(f, line), IOCD_REJECT_NOT_FINITE);
        assert_string_equal(f->batch.detail, "line 1, column 9: value of field 'v' is not finite");
    }
    assert_int_equal(decode(f, "m,d=x v=1e999"), IOCD_REJECT_NOT_FINITE);
    assert_string_equal(f->batch.detail,
                        "line 1, column 9: value of field 'v' overflows to infinity");
    assert_int_equal(decode(f, "m,d=x v=-1e309"), IOCD_REJECT_NOT_FINITE);
    /* the bad line is dropped, the others kept */
    assert_int_equal(decode(f, "m,d=x v=1e999\nm,d=x w=2"), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 1);
    assert_obs(f, 0, "o", "x", "m.w", 2, "", RECEIVED, 0);
    assert_partial(f, "line 1, column 9: value of field 'v' overflows to infinity; 1 of 2 lines "
                      "dropped");
    /* a line is all or nothing: a good field before a bad one is not kept */
    assert_int_equal(decode(f, "m,d=x a=1,b=NaN\nm,d=x c=3"), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 1);
    assert_obs(f, 0, "o", "x", "m.c", 3, "", RECEIVED, 0);
    fx_free(f);
}

static void test_device_tag(void **state)
{
    (void)state;
    struct fx *f = fx_new("[adapter fleet]\ndevice = tag:bus\n");
    assert_int_equal(decode(f, "bus,route=01 speed=1"), IOCD_REJECT_MISSING_FIELD);
    assert_string_equal(f->batch.detail, "line 1: no tag 'bus' for the device");
    assert_int_equal(decode(f, "bus,bus=81B-00123 speed=1\nbus,route=02 speed=2\n"
                               "bus,bus=81B-00124 speed=3\n"),
                     IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 2);
    assert_obs(f, 0, "fleet", "81B-00123", "bus.speed", 1, "", RECEIVED, 0);
    assert_obs(f, 1, "fleet", "81B-00124", "bus.speed", 3, "", RECEIVED, 0);
    assert_partial(f, "line 2: no tag 'bus' for the device; 1 of 3 lines dropped");
    /* a field named like the device tag is not the device */
    assert_int_equal(decode(f, "bus bus=\"81B\",speed=1"), IOCD_REJECT_MISSING_FIELD);
    assert_int_equal(decode(f, "bus,bus=a/b speed=1"), IOCD_REJECT_BAD_ID);
    assert_string_equal(f->batch.detail,
                        "line 1, column 5: device tag 'bus' value 'a/b' contains '/', '+' or '#'");
    assert_int_equal(decode(f, "bus,bus=a+b speed=1"), IOCD_REJECT_BAD_ID);
    assert_int_equal(decode(f, "bus,bus=a# speed=1"), IOCD_REJECT_BAD_ID);
    char line[300];
    memset(line, 0, sizeof(line));
    strcpy(line, "bus,bus=");
    memset(line + 8, 'x', 128);
    strcat(line, " speed=1");
    assert_int_equal(decode(f, line), IOCD_REJECT_NONE);
    assert_int_equal(strlen(f->batch.obs[0]->device), 128);
    memset(line, 0, sizeof(line));
    strcpy(line, "bus,bus=");
    memset(line + 8, 'x', 129);
    strcat(line, " speed=1");
    assert_int_equal(decode(f, line), IOCD_REJECT_BAD_ID);
    assert_string_equal(f->batch.detail, "line 1, column 5: device tag 'bus' value "
                                         "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...' is longer than "
                                         "128 bytes");
    fx_free(f);
}

static void test_metric_ids(void **state)
{
    (void)state;
    struct fx *f = fx_new("[adapter m]\ndevice = tag:d\n");
    assert_int_equal(decode(f, "a/b,d=x v=1"), IOCD_REJECT_BAD_ID);
    assert_string_equal(f->batch.detail, "line 1, column 9: metric 'a/b.v' contains '/', '+' or "
                                         "'#'");
    assert_int_equal(decode(f, "m,d=x v+=1"), IOCD_REJECT_BAD_ID);
    assert_int_equal(decode(f, "m,d=x v#=1"), IOCD_REJECT_BAD_ID);
    /* measurement.field must fit in 128 bytes */
    char line[300];
    memset(line, 0, sizeof(line));
    memset(line, 'm', 120);
    strcat(line, ",d=x fieldnm=1"); /* 120 + 1 + 7 = 128 */
    assert_int_equal(decode(f, line), IOCD_REJECT_NONE);
    assert_int_equal(strlen(f->batch.obs[0]->metric), 128);
    memset(line, 0, sizeof(line));
    memset(line, 'm', 121);
    strcat(line, ",d=x fieldnm=1");
    assert_int_equal(decode(f, line), IOCD_REJECT_BAD_ID);
    fx_free(f);

    /* with metric = field the measurement's characters do not matter */
    f = fx_new("[adapter m]\ndevice = tag:d\nmetric = field\n");
    assert_int_equal(decode(f, "a/b,d=x v=1"), IOCD_REJECT_NONE);
    assert_obs(f, 0, "m", "x", "v", 1, "", RECEIVED, 0);
    fx_free(f);
}

static void test_labels(void **state)
{
    (void)state;
    struct fx *f = fx_new("[adapter l]\ndevice = tag:d\n");
    char line[800];
    char v128[130], v129[131];
    memset(v128, 0, sizeof(v128));
    memset(v128, 'v', 128);
    memset(v129, 0, sizeof(v129));
    memset(v129, 'w', 129);
    /* order: tags as written (but the device tag), then string fields */
    assert_int_equal(decode(f, "m,z=1,d=x,a=2 v=1,y=\"3\",b=\"4\""), IOCD_REJECT_NONE);
    assert_obs(f, 0, "l", "x", "m.v", 1, "", RECEIVED, 4);
    assert_label(f, 0, 0, "z", "1");
    assert_label(f, 0, 1, "a", "2");
    assert_label(f, 0, 2, "y", "3");
    assert_label(f, 0, 3, "b", "4");
    /* 128 bytes fit */
    snprintf(line, sizeof(line), "m,d=x,t=%s v=1,s=\"%s\"", v128, v128);
    assert_int_equal(decode(f, line), IOCD_REJECT_NONE);
    assert_obs(f, 0, "l", "x", "m.v", 1, "", RECEIVED, 2);
    assert_label(f, 0, 0, "t", v128);
    assert_label(f, 0, 1, "s", v128);
    assert_no_note(f);
    /* 129 do not: the label is dropped, the value kept, the message noted */
    snprintf(line, sizeof(line), "m,d=x,t=%s,u=1 v=1,s=\"%s\"", v129, v129);
    assert_int_equal(decode(f, line), IOCD_REJECT_NONE);
    assert_obs(f, 0, "l", "x", "m.v", 1, "", RECEIVED, 1);
    assert_label(f, 0, 0, "u", "1");
    assert_partial(f, "line 1, column 7: label 't' is longer than 128 bytes, dropped");
    /* a string value of 129 bytes after unescaping 130 */
    snprintf(line, sizeof(line), "m,d=x v=1,s=\"\\\"%s\"", v128);
    assert_int_equal(decode(f, line), IOCD_REJECT_NONE);
    assert_obs(f, 0, "l", "x", "m.v", 1, "", RECEIVED, 0);
    assert_partial(f, "line 1, column 11: label 's' is longer than 128 bytes, dropped");
    /* ... and a string of 128 bytes with escapes fits */
    snprintf(line, sizeof(line), "m,d=x v=1,s=\"\\\"%.127s\"", v128);
    assert_int_equal(decode(f, line), IOCD_REJECT_NONE);
    assert_obs(f, 0, "l", "x", "m.v", 1, "", RECEIVED, 1);
    assert_int_equal(strlen(f->batch.obs[0]->labels[0]->value), 128);
    /* keys count too */
    snprintf(line, sizeof(line), "m,d=x,%s=1 v=1", v129);
    assert_int_equal(decode(f, line), IOCD_REJECT_NONE);
    assert_obs(f, 0, "l", "x", "m.v", 1, "", RECEIVED, 0);
    assert_partial(f, "line 1, column 7: label 'wwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwww...' is longer "
                      "than 128 bytes, dropped");
    /* a dropped line outranks a dropped label in the note */
    snprintf(line, sizeof(line), "m,d=x,t=%s v=1\nm v=2", v129);
    assert_int_equal(decode(f, line), IOCD_REJECT_NONE);
    assert_partial(f, "line 2: no tag 'd' for the device; 1 of 2 lines dropped");
    /* labels are shared by the line's observations, not across lines */
    assert_int_equal(decode(f, "m,d=x,a=1 v=1,w=2\nm,d=x,b=2 v=3"), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 3);
    assert_obs(f, 0, "l", "x", "m.v", 1, "", RECEIVED, 1);
    assert_obs(f, 1, "l", "x", "m.w", 2, "", RECEIVED, 1);
    assert_label(f, 1, 0, "a", "1");
    assert_obs(f, 2, "l", "x", "m.v", 3, "", RECEIVED, 1);
    assert_label(f, 2, 0, "b", "2");
    fx_free(f);
}

static void test_units(void **state)
{
    (void)state;
    struct fx *f = fx_new("[adapter u]\ndevice = tag:d\n"
                          "unit.speed = km/h\n"
                          "unit.bus.speed = m/s\n"
                          "unit.level = cm\n");
    assert_int_equal(decode(f, "bus,d=x speed=1,level=2,other=3\ncar,d=y speed=4\n"),
                     IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 4);
    assert_obs(f, 0, "u", "x", "bus.speed", 1, "m/s", RECEIVED, 0);
    assert_obs(f, 1, "u", "x", "bus.level", 2, "cm", RECEIVED, 0);
    assert_obs(f, 2, "u", "x", "bus.other", 3, "", RECEIVED, 0);
    assert_obs(f, 3, "u", "y", "car.speed", 4, "km/h", RECEIVED, 0);
    fx_free(f);
}

static void test_payload_bounds(void **state)
{
    (void)state;
    struct fx *f = fx_new("[adapter b]\ndevice = tag:d\n");
    /* only len bytes are read */
    const char *buf = "m,d=x v=5 1700000000000000000GARBAGE";
    assert_int_equal(decode_n(f, "t", buf, strlen(buf) - 7), IOCD_REJECT_NONE);
    assert_obs(f, 0, "b", "x", "m.v", 5, "", T1700, 0);
    /* cut inside the number: 5 of "52" */
    assert_int_equal(decode_n(f, "t", "m,d=x v=52", 9), IOCD_REJECT_NONE);
    assert_obs(f, 0, "b", "x", "m.v", 5, "", RECEIVED, 0);
    /* cut inside a string value */
    assert_int_equal(decode_n(f, "t", "m,d=x v=1,s=\"ab\"", 15), IOCD_REJECT_MALFORMED);
    /* trailing NULs of a C string are ignored; other NULs are not */
    static const char tail[] = "m,d=x v=5\n";
    assert_int_equal(decode_n(f, "t", tail, sizeof(tail)), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 1);
    assert_int_equal(decode_n(f, "t", "m,d=x v=5\0\0w=1", 14), IOCD_REJECT_MALFORMED);
    assert_string_equal(f->batch.detail, "line 1, column 10: control character 0x00");
    assert_int_equal(decode_n(f, "t", "", 0), IOCD_REJECT_MALFORMED);
    assert_string_equal(f->batch.detail, "empty payload");
    assert_int_equal(decode_n(f, "t", NULL, 0), IOCD_REJECT_MALFORMED);
    assert_int_equal(decode_n(f, "t", "\0\0", 2), IOCD_REJECT_MALFORMED);
    assert_string_equal(f->batch.detail, "empty payload");
    static const uint8_t binary[] = {0x00, 0xff, 0x7b, 0x22, 0x80, 0x01, 0x7d, 0x0a, 0x01};
    assert_int_equal(decode_n(f, "t", binary, sizeof(binary)), IOCD_REJECT_MALFORMED);
    fx_free(f);
}

static void test_large(void **state)
{
    (void)state;
    struct fx *f = fx_new("[adapter b]\ndevice = tag:d\nmetric = field\n");
    /* 5000 lines of 1 field each */
    size_t n = 0, cap = 5000 * 48;
    char *buf = malloc(cap);
    assert_non_null(buf);
    for (int i = 0; i < 5000; i++)
        n += (size_t)snprintf(buf + n, cap - n, "m,d=dev%d v=%d %d000000000\n", i % 7, i,
                              1700000000 + i);
    assert_int_equal(decode_n(f, "t", buf, n), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 5000);
    assert_obs(f, 4999, "b", "dev1", "v", 4999, "", T1700 + 4999000, 0);
    /* one line with 3000 tags and 3000 fields: labels are shared, linear */
    n = (size_t)snprintf(buf, cap, "m,d=x");
    for (int i = 0; i < 3000; i++)
        n += (size_t)snprintf(buf + n, cap - n, ",t%d=v", i);
    buf[n++] = ' ';
    for (int i = 0; i < 3000; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%sf%d=%d", i ? "," : "", i, i);
    assert_int_equal(decode_n(f, "t", buf, n), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 3000);
    assert_obs(f, 2999, "b", "x", "f2999", 2999, "", RECEIVED, 3000);
    assert_label(f, 2999, 2999, "t2999", "v");
    free(buf);
    fx_free(f);
}

static void test_no_memory(void **state)
{
    (void)state;
    struct fx *f = fx_new("[adapter b]\ndevice = tag:d\n");
    static const char payload[] = "m,d=x v=1\nm,d=x w=2,s=\"abc\"\n";
    /* every arena size up to what the message needs fails cleanly */
    for (size_t limit = 16; limit < 4096; limit += 16) {
        iocd_arena_free(&f->arena);
        iocd_arena_init(&f->arena, limit);
        enum iocd_reject r = decode(f, payload);
        if (r == IOCD_REJECT_NONE) {
            assert_int_equal(f->batch.n_obs, 2);
            assert_obs(f, 1, "b", "x", "m.w", 2, "", RECEIVED, 1);
            break;
        }
        assert_int_equal(r, IOCD_REJECT_NO_MEMORY);
    }
    assert_int_equal(f->batch.n_obs, 2);
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
    assert_create_error("# c\n[adapter gw]\ntopic = a/b\nformat = influx\n",
                        "test.conf:2: [adapter gw] device: required key missing (tag:NAME or "
                        "topic[N])");
    assert_create_error("[adapter gw]\ndevice = tag:\n",
                        "test.conf:2: [adapter gw] device: expected tag:NAME, the tag name is "
                        "empty");
    assert_create_error("[adapter gw]\ndevice = host\n",
                        "test.conf:2: [adapter gw] device: expected tag:NAME or topic[N] with N a "
                        "topic level from 0 to 255");
    assert_create_error("[adapter gw]\ndevice = topic[256]\n",
                        "test.conf:2: [adapter gw] device: expected tag:NAME or topic[N] with N a "
                        "topic level from 0 to 255");
    assert_create_error("[adapter gw]\ndevice = topic[1]x\n",
                        "test.conf:2: [adapter gw] device: expected tag:NAME or topic[N] with N a "
                        "topic level from 0 to 255");
    assert_create_error("[adapter gw]\ndevice = tag:a\ndevice = tag:b\n",
                        "test.conf:3: key 'device' given twice (first on line 2)");
    assert_create_error("[adapter gw]\ndevice = tag:a\nmetric = name\n",
                        "test.conf:3: [adapter gw] metric: expected field or measurement.field");
    assert_create_error("[adapter gw]\ndevice = tag:a\nprecision = n\n",
                        "test.conf:3: [adapter gw] precision: expected ns, us, ms or s");
    assert_create_error("[adapter gw]\ndevice = tag:a\nprecision = ms\nprecision = s\n",
                        "test.conf:4: key 'precision' given twice (first on line 3)");
    assert_create_error("[adapter gw]\ndevice = tag:a\nlocation = lat\n",
                        "test.conf:3: [adapter gw] location: expected LAT_FIELD,LON_FIELD, e.g. "
                        "lat,lon");
    assert_create_error("[adapter gw]\ndevice = tag:a\nlocation = lat,\n",
                        "test.conf:3: [adapter gw] location: expected LAT_FIELD,LON_FIELD, e.g. "
                        "lat,lon");
    assert_create_error("[adapter gw]\ndevice = tag:a\nlocation = a,b,c\n",
                        "test.conf:3: [adapter gw] location: expected LAT_FIELD,LON_FIELD, e.g. "
                        "lat,lon");
    assert_create_error("[adapter gw]\ndevice = tag:a\nunit. = km/h\n",
                        "test.conf:3: [adapter gw] unit.: the field name after 'unit.' is empty");
    assert_create_error("[adapter gw]\ndevice = tag:a\nunit.speed = km/h\nunit.x = 1\n"
                        "unit.speed = m/s\n",
                        "test.conf:5: [adapter gw] unit.speed: given twice (first on line 3)");
    assert_create_error("[adapter gw]\ndevice = tag:a\nunit.speed = km / h\n",
                        "test.conf:3: [adapter gw] unit.speed: expected a unit of 1 to 32 "
                        "characters without blanks, such as km/h, Cel or %");
    assert_create_error("[adapter gw]\ndevice = tag:a\nunit.speed =\n",
                        "test.conf:3: [adapter gw] unit.speed: expected a unit of 1 to 32 "
                        "characters without blanks, such as km/h, Cel or %");
    assert_create_error("[adapter gw]\ndevice = tag:a\nunit.speed = "
                        "abcdefghijklmnopqrstuvwxyz0123456\n",
                        "test.conf:3: [adapter gw] unit.speed: expected a unit of 1 to 32 "
                        "characters without blanks, such as km/h, Cel or %");
}

static void test_create_source(void **state)
{
    (void)state;
    /* create's `source` argument names the series, not the section */
    struct fx f;
    memset(&f, 0, sizeof(f));
    struct iocd_error err = {{0}};
    iocd_arena_init(&f.arena, 0);
    iocd_batch_init(&f.batch, &f.arena);
    assert_int_equal(iocd_ini_parse(&f.ini, "test.conf",
                                     "[adapter gw]\ndevice = tag:d\nunit.v = V\n"
                                     "metric = measurement.field\nprecision = ns\n",
                                     &err),
                     0);
    assert_int_equal(iocd_adapter_influx.create(&f.ini, &f.ini.sections[0], "power", &f.state,
                                                &err),
                     0);
    assert_int_equal(decode(&f, "m,d=x v=230.5"), IOCD_REJECT_NONE);
    assert_obs(&f, 0, "power", "x", "m.v", 230.5, "V", RECEIVED, 0);
    iocd_adapter_influx.destroy(f.state);
    iocd_arena_free(&f.arena);
    iocd_ini_free(&f.ini);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_telegraf_cpu),
        cmocka_unit_test(test_bus_gps),
        cmocka_unit_test(test_bus_location),
        cmocka_unit_test(test_doc_telegraf),
        cmocka_unit_test(test_metric_field_and_topic_device),
        cmocka_unit_test(test_field_types),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_precision),
        cmocka_unit_test(test_time_rejects),
        cmocka_unit_test(test_lines),
        cmocka_unit_test(test_syntax_rejects),
        cmocka_unit_test(test_overflow_and_not_finite),
        cmocka_unit_test(test_device_tag),
        cmocka_unit_test(test_metric_ids),
        cmocka_unit_test(test_labels),
        cmocka_unit_test(test_units),
        cmocka_unit_test(test_payload_bounds),
        cmocka_unit_test(test_large),
        cmocka_unit_test(test_no_memory),
        cmocka_unit_test(test_create_errors),
        cmocka_unit_test(test_create_source),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
