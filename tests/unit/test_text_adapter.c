/* tests/unit/test_text_adapter.c — the text adapter (adapters/text.c) in its
 * three modes: a bare number, key=value pairs and FIWARE UltraLight 2.0
 * measures, decoded to exact Observations (values, times, units, labels);
 * every reject reason; config errors with file and line. */
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

extern const struct iocd_adapter_ops iocd_adapter_text;
#define FX_OPS iocd_adapter_text
#define FX_CHECK_USED

#define T_1005 INT64_C(1795341845000)   /* 2026-11-22T10:04:05Z */

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
    enum iocd_reject r = iocd_adapter_text.decode(f->state, &m, &f->batch);
    free(copy);
    if (r == IOCD_REJECT_NONE) {
        assert_true(f->batch.n_obs > 0);
    } else {
        assert_int_equal(f->batch.n_obs, 0);
        assert_true(f->batch.detail[0] != '\0');
    }
    assert_int_equal(f->batch.n_events, 0);
    return r;
}

static enum iocd_reject decode(struct fx *f, const char *topic, const char *payload)
{
    return decode_n(f, topic, payload, strlen(payload));
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

/* ---- number ---- */

static void test_number_fiware_single(void **state)
{
    (void)state;
    /* UltraLight over MQTT, one measure per message: /APIKEY/DEVICE/attrs/ATTR */
    struct fx *f = fx_new("[adapter ul1]\n"
                          "topic = /+/+/attrs/+\n"
                          "format = text\n"
                          "mode = number\n"
                          "device = topic[2]\n"
                          "metric = topic[4]\n"
                          "unit = %\n");
    assert_int_equal(decode(f, "/ABCDEF/id_sen1/attrs/h", "70"), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 1);
    assert_obs(f, 0, "ul1", "id_sen1", "h", 70, "%", RECEIVED, 0);
    assert_int_equal(f->batch.notes[IOCD_NOTE_PARTIAL], 0);
    assert_int_equal(decode(f, "/ABCDEF/id_sen1/attrs", "70"), IOCD_REJECT_MISSING_FIELD);
    assert_string_equal(f->batch.detail, "metric: topic has no level 4");
    assert_int_equal(decode(f, "/ABCDEF/id_sen1/attrs/", "70"), IOCD_REJECT_BAD_ID);
    assert_string_equal(f->batch.detail, "metric: topic level 4 is empty");
    assert_int_equal(decode(f, "/ABCDEF", "70"), IOCD_REJECT_MISSING_FIELD);
    assert_string_equal(f->batch.detail, "device: topic has no level 2");
    assert_int_equal(decode(f, "/ABCDEF//attrs/h", "70"), IOCD_REJECT_BAD_ID);
    assert_string_equal(f->batch.detail, "device: topic level 2 is empty");
    fx_free(f);
}

static void test_number_values(void **state)
{
    (void)state;
    struct fx *f = fx_new("[adapter water]\n"
                          "topic = pleiku/water/+/level_cm\n"
                          "format = text\n"
                          "mode = number\n"
                          "device = topic[2]\n"
                          "metric = level\n"
                          "unit = cm\n");
    static const struct {
        const char *payload;
        double v;
    } ok[] = {
        {"123.4", 123.4}, {"123.4\n", 123.4}, {" \t-3\r\n", -3}, {"+4", 4},  {"1e3", 1000},
        {"1E-2", 0.01},   {".5", 0.5},        {"5.", 5},         {"0", 0},   {"-0", -0.0},
        {"007", 7},       {"2.5e+1", 25},     {"1e-400", 0},
        {"12345678901234567890", 12345678901234567890.0},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        if (decode(f, "pleiku/water/GL-WL01/level_cm", ok[i].payload) != IOCD_REJECT_NONE)
            fail_msg("'%s' rejected: %s", ok[i].payload, f->batch.detail);
        assert_int_equal(f->batch.n_obs, 1);
        assert_obs(f, 0, "water", "GL-WL01", "level", ok[i].v, "cm", RECEIVED, 0);
        assert_true(signbit(f->batch.obs[0]->value) == signbit(ok[i].v));
    }
    static const struct {
        const char *payload;
        enum iocd_reject r;
        const char *detail;
    } bad[] = {
        {"abc", IOCD_REJECT_WRONG_TYPE, "payload 'abc' is not a number"},
        {"0x10", IOCD_REJECT_WRONG_TYPE, "payload '0x10' is not a number"},
        {"0x1p3", IOCD_REJECT_WRONG_TYPE, "payload '0x1p3' is not a number"},
        {"21.5 cm", IOCD_REJECT_WRONG_TYPE, "payload '21.5 cm' is not a number"},
        {"21.5\n22", IOCD_REJECT_WRONG_TYPE, "payload '21.5?22' is not a number"},
        {"1,5", IOCD_REJECT_WRONG_TYPE, "payload '1,5' is not a number"},
        {"1e", IOCD_REJECT_WRONG_TYPE, "payload '1e' is not a number"},
        {".", IOCD_REJECT_WRONG_TYPE, "payload '.' is not a number"},
        {"-", IOCD_REJECT_WRONG_TYPE, "payload '-' is not a number"},
        {"--1", IOCD_REJECT_WRONG_TYPE, "payload '--1' is not a number"},
        {"\"21.5\"", IOCD_REJECT_WRONG_TYPE, "payload '\"21.5\"' is not a number"},
        {"{\"v\":1}", IOCD_REJECT_WRONG_TYPE, "payload '{\"v\":1}' is not a number"},
        {"true", IOCD_REJECT_WRONG_TYPE, "payload 'true' is not a number"},
        {"nan", IOCD_REJECT_NOT_FINITE, "payload 'nan' is not finite"},
        {"-NaN", IOCD_REJECT_NOT_FINITE, "payload '-NaN' is not finite"},
        {"inf", IOCD_REJECT_NOT_FINITE, "payload 'inf' is not finite"},
        {"+Infinity", IOCD_REJECT_NOT_FINITE, "payload '+Infinity' is not finite"},
        {"1e999", IOCD_REJECT_NOT_FINITE, "payload '1e999' is not finite"},
        {"-1e309", IOCD_REJECT_NOT_FINITE, "payload '-1e309' is not finite"},
        {"   ", IOCD_REJECT_MALFORMED, "empty payload"},
        {"\r\n", IOCD_REJECT_MALFORMED, "empty payload"},
        {"12\x01", IOCD_REJECT_MALFORMED, "control character 0x01 at byte 2"},
        {"12\x7f", IOCD_REJECT_MALFORMED, "control character 0x7f at byte 2"},
        {"1\xc3\x28", IOCD_REJECT_MALFORMED, "not UTF-8 text (byte 1)"},
        /* a fullwidth digit one */
        {"\xef\xbc\x91", IOCD_REJECT_WRONG_TYPE, "payload '?\?\?' is not a number"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        enum iocd_reject r = decode(f, "pleiku/water/GL-WL01/level_cm", bad[i].payload);
        if (r != bad[i].r)
            fail_msg("'%s': %s, expected %s", bad[i].payload, iocd_reject_name(r),
                     iocd_reject_name(bad[i].r));
        if (strcmp(f->batch.detail, bad[i].detail) != 0)
            fail_msg("'%s': detail '%s', expected '%s'", bad[i].payload, f->batch.detail,
                     bad[i].detail);
    }
    /* empty, NULs, binary */
    assert_int_equal(decode_n(f, "pleiku/water/GL-WL01/level_cm", "", 0), IOCD_REJECT_MALFORMED);
    assert_string_equal(f->batch.detail, "empty payload");
    assert_int_equal(decode_n(f, "pleiku/water/GL-WL01/level_cm", NULL, 0), IOCD_REJECT_MALFORMED);
    assert_int_equal(decode_n(f, "pleiku/water/GL-WL01/level_cm", "42\0", 3), IOCD_REJECT_NONE);
    assert_obs(f, 0, "water", "GL-WL01", "level", 42, "cm", RECEIVED, 0);
    assert_int_equal(decode_n(f, "pleiku/water/GL-WL01/level_cm", "4\0002", 3),
                     IOCD_REJECT_MALFORMED);
    assert_string_equal(f->batch.detail, "control character 0x00 at byte 1");
    assert_int_equal(decode_n(f, "pleiku/water/GL-WL01/level_cm", "\0\0", 2),
                     IOCD_REJECT_MALFORMED);
    assert_string_equal(f->batch.detail, "empty payload");
    static const uint8_t binary[] = {0x42, 0x9a, 0x33, 0x33}; /* float 77.1, big-endian */
    assert_int_equal(decode_n(f, "pleiku/water/GL-WL01/level_cm", binary, sizeof(binary)),
                     IOCD_REJECT_MALFORMED);
    assert_string_equal(f->batch.detail, "not UTF-8 text (byte 1)");
    /* only len bytes are read */
    assert_int_equal(decode_n(f, "pleiku/water/GL-WL01/level_cm", "123x", 3), IOCD_REJECT_NONE);
    assert_obs(f, 0, "water", "GL-WL01", "level", 123, "cm", RECEIVED, 0);
    fx_free(f);

    /* no unit key: "" */
    f = fx_new("[adapter n]\nmode = number\ndevice = topic[0]\nmetric = topic[1]\n");
    assert_int_equal(decode(f, "dev-1/v.1", "1"), IOCD_REJECT_NONE);
    assert_obs(f, 0, "n", "dev-1", "v.1", 1, "", RECEIVED, 0);
    assert_int_equal(decode(f, "dev-1/v\x01", "1"), IOCD_REJECT_BAD_ID);
    assert_string_equal(f->batch.detail, "metric: topic level 1 contains a control character");
    fx_free(f);
}

/* ---- kv ---- */

static void test_kv_basic(void **state)
{
    (void)state;
    struct fx *f = fx_new("[adapter env]\n"
                          "topic = pleiku/env/+\n"
                          "format = text\n"
                          "mode = kv\n"
                          "device = topic[2]\n"
                          "metric.temp = temperature\n"
                          "unit.temp = Cel\n"
                          "unit.hum = %\n"
                          "unit.bat = V\n");
    /* every separator: , ; & blanks and newlines */
    assert_int_equal(decode(f, "pleiku/env/GL-ENV01",
                            "temp=24.1,hum=78;status=ok&bat=3.61 rssi=-71\tfw=1.2.3\n"),
                     IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 4);
    assert_obs(f, 0, "env", "GL-ENV01", "temperature", 24.1, "Cel", RECEIVED, 2);
    assert_label(f, 0, 0, "status", "ok");
    assert_label(f, 0, 1, "fw", "1.2.3");
    assert_obs(f, 1, "env", "GL-ENV01", "hum", 78, "%", RECEIVED, 2);
    assert_obs(f, 2, "env", "GL-ENV01", "bat", 3.61, "V", RECEIVED, 2);
    assert_obs(f, 3, "env", "GL-ENV01", "rssi", -71, "", RECEIVED, 2);
    assert_label(f, 3, 1, "fw", "1.2.3");
    assert_int_equal(f->batch.notes[IOCD_NOTE_PARTIAL], 0);

    /* one pair per line, blank lines and runs of separators */
    assert_int_equal(decode(f, "pleiku/env/GL-ENV02", "\n\ntemp=-1.5\r\n\r\n,,;hum=40.0&&\n"),
                     IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 2);
    assert_obs(f, 0, "env", "GL-ENV02", "temperature", -1.5, "Cel", RECEIVED, 0);
    assert_obs(f, 1, "env", "GL-ENV02", "hum", 40, "%", RECEIVED, 0);

    /* a value is everything after the first '='; hex, words and empty values are labels */
    assert_int_equal(decode(f, "pleiku/env/X", "temp=1 expr=a=b raw=0x1F note= up=true"),
                     IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 1);
    assert_obs(f, 0, "env", "X", "temperature", 1, "Cel", RECEIVED, 4);
    assert_label(f, 0, 0, "expr", "a=b");
    assert_label(f, 0, 1, "raw", "0x1F");
    assert_label(f, 0, 2, "note", "");
    assert_label(f, 0, 3, "up", "true");
    fx_free(f);
}

static void test_kv_time(void **state)
{
    (void)state;
    struct fx *f = fx_new("[adapter env]\nmode = kv\ndevice = key:id\ntime_key = ts\n");
    static const struct {
        const char *ts;
        int64_t ms;
    } cases[] = {
        {"1795341845", T_1005},                     /* s */
        {"1795341845.25", T_1005 + 250},            /* s with a fraction */
        {"1795341845123", T_1005 + 123},            /* ms */
        {"1795341845123456", T_1005 + 123},         /* us, truncated */
        {"2026-11-22T10:04:05Z", T_1005},           /* ISO-8601 */
        {"2026-11-22T17:04:05+07:00", T_1005},      /* with an offset */
        {"2026-11-22T10:04:05.120Z", T_1005 + 120}, /* with a fraction */
        {"2026-11-22T10:04:05", T_1005},            /* no offset: UTC */
        {"20261122T100405Z", T_1005},               /* basic form */
        {"0", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char payload[128];
        snprintf(payload, sizeof(payload), "id=GL-ENV01&ts=%s&pm25=23.4", cases[i].ts);
        if (decode(f, "t", payload) != IOCD_REJECT_NONE)
            fail_msg("'%s' rejected: %s", payload, f->batch.detail);
        assert_int_equal(f->batch.n_obs, 1);
        /* neither the device key nor the time key is a value or a label */
        assert_obs(f, 0, "env", "GL-ENV01", "pm25", 23.4, "", cases[i].ms, 0);
    }
    assert_int_equal(decode(f, "t", "id=GL-ENV01&pm25=23.4"), IOCD_REJECT_MISSING_FIELD);
    assert_string_equal(f->batch.detail, "time key 'ts' is missing");
    assert_int_equal(decode(f, "t", "id=GL-ENV01&ts=yesterday&pm25=23.4"), IOCD_REJECT_BAD_TIME);
    assert_string_equal(f->batch.detail,
                        "time key 'ts' value 'yesterday' is not an epoch number or ISO-8601 time");
    assert_int_equal(decode(f, "t", "id=GL-ENV01&ts=2026-02-30T00:00:00Z&pm25=1"),
                     IOCD_REJECT_BAD_TIME);
    assert_int_equal(decode(f, "t", "id=GL-ENV01&ts=-5&pm25=1"), IOCD_REJECT_BAD_TIME);
    assert_string_equal(f->batch.detail, "time key 'ts' value '-5' is out of range");
    assert_int_equal(decode(f, "t", "id=GL-ENV01&ts=1e300&pm25=1"), IOCD_REJECT_BAD_TIME);
    assert_int_equal(decode(f, "t", "id=GL-ENV01&ts=inf&pm25=1"), IOCD_REJECT_BAD_TIME);
    assert_string_equal(f->batch.detail, "time key 'ts' value 'inf' is out of range");
    assert_int_equal(decode(f, "t", "id=GL-ENV01&ts=&pm25=1"), IOCD_REJECT_BAD_TIME);
    fx_free(f);
}

static void test_kv_device(void **state)
{
    (void)state;
    struct fx *f = fx_new("[adapter env]\nmode = kv\ndevice = key:id\n");
    assert_int_equal(decode(f, "t", "id=42,v=1"), IOCD_REJECT_NONE);
    /* a numeric device id is the device, not an observation */
    assert_int_equal(f->batch.n_obs, 1);
    assert_obs(f, 0, "env", "42", "v", 1, "", RECEIVED, 0);
    assert_int_equal(decode(f, "t", "v=1"), IOCD_REJECT_MISSING_FIELD);
    assert_string_equal(f->batch.detail, "device key 'id' is missing");
    assert_int_equal(decode(f, "t", "id=,v=1"), IOCD_REJECT_BAD_ID);
    assert_string_equal(f->batch.detail, "device key 'id' value '' is empty");
    assert_int_equal(decode(f, "t", "id=a/b,v=1"), IOCD_REJECT_BAD_ID);
    assert_string_equal(f->batch.detail, "device key 'id' value 'a/b' contains '/', '+' or '#'");
    assert_int_equal(decode(f, "t", "id=a#b,v=1"), IOCD_REJECT_BAD_ID);
    assert_int_equal(decode(f, "t", "ID=x,v=1"), IOCD_REJECT_MISSING_FIELD); /* case matters */
    char payload[300];
    memset(payload, 0, sizeof(payload));
    memcpy(payload, "v=1,id=", 7);
    memset(payload + 7, 'd', 128);
    assert_int_equal(decode(f, "t", payload), IOCD_REJECT_NONE);
    assert_int_equal(strlen(f->batch.obs[0]->device), 128);
    payload[7 + 128] = 'd';
    assert_int_equal(decode(f, "t", payload), IOCD_REJECT_BAD_ID);
    fx_free(f);

    f = fx_new("[adapter env]\nmode = kv\ndevice = topic[1]\n");
    assert_int_equal(decode(f, "env/S-1", "v=1,id=x"), IOCD_REJECT_NONE);
    assert_obs(f, 0, "env", "S-1", "v", 1, "", RECEIVED, 1);
    assert_label(f, 0, 0, "id", "x");
    assert_int_equal(decode(f, "env", "v=1"), IOCD_REJECT_MISSING_FIELD);
    assert_string_equal(f->batch.detail, "device: topic has no level 1");
    fx_free(f);
}

static void test_kv_rejects(void **state)
{
    (void)state;
    struct fx *f = fx_new("[adapter env]\nmode = kv\ndevice = topic[0]\n");
    static const struct {
        const char *payload;
        enum iocd_reject r;
        const char *detail;
    } bad[] = {
        {"status=ok", IOCD_REJECT_MISSING_FIELD, "no numeric value"},
        {"a=x b=y", IOCD_REJECT_MISSING_FIELD, "no numeric value"},
        {"21.5", IOCD_REJECT_MALFORMED, "'21.5' at byte 0 is not key=value"},
        {"t=1, hum", IOCD_REJECT_MALFORMED, "'hum' at byte 5 is not key=value"},
        {"t=1 =2", IOCD_REJECT_MALFORMED, "empty key at byte 4"},
        {"t=1,h=2,t=3", IOCD_REJECT_MALFORMED, "key 't' given twice (byte 8)"},
        {"t=1&T=2&t=1", IOCD_REJECT_MALFORMED, "key 't' given twice (byte 8)"},
        {"t=nan", IOCD_REJECT_NOT_FINITE, "value of 't' is not finite"},
        {"h=1,t=-Infinity", IOCD_REJECT_NOT_FINITE, "value of 't' is not finite"},
        {"t=1e999", IOCD_REJECT_NOT_FINITE, "value of 't' is not finite"},
        {"a/b=1", IOCD_REJECT_BAD_ID, "metric 'a/b' contains '/', '+' or '#'"},
        {"ok=1,a+b=2", IOCD_REJECT_BAD_ID, "metric 'a+b' contains '/', '+' or '#'"},
        {"t=1\x02", IOCD_REJECT_MALFORMED, "control character 0x02 at byte 3"},
        {"t=\xe2\x82", IOCD_REJECT_MALFORMED, "not UTF-8 text (byte 2)"},
        {" \n ", IOCD_REJECT_MALFORMED, "empty payload"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        enum iocd_reject r = decode(f, "dev", bad[i].payload);
        if (r != bad[i].r)
            fail_msg("'%s': %s, expected %s", bad[i].payload, iocd_reject_name(r),
                     iocd_reject_name(bad[i].r));
        if (strcmp(f->batch.detail, bad[i].detail) != 0)
            fail_msg("'%s': detail '%s', expected '%s'", bad[i].payload, f->batch.detail,
                     bad[i].detail);
    }
    /* a metric name of 128 bytes is fine, 129 is not; a label key of 129 is dropped */
    char payload[400];
    memset(payload, 0, sizeof(payload));
    memset(payload, 'k', 128);
    strcat(payload, "=1");
    assert_int_equal(decode(f, "dev", payload), IOCD_REJECT_NONE);
    assert_int_equal(strlen(f->batch.obs[0]->metric), 128);
    memset(payload, 0, sizeof(payload));
    memset(payload, 'k', 129);
    strcat(payload, "=1");
    assert_int_equal(decode(f, "dev", payload), IOCD_REJECT_BAD_ID);
    assert_string_equal(f->batch.detail, "metric 'kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk...' is "
                                         "longer than 128 bytes");
    fx_free(f);
}

static void test_kv_labels(void **state)
{
    (void)state;
    struct fx *f = fx_new("[adapter env]\nmode = kv\ndevice = topic[0]\n");
    char payload[600];
    char v128[130], v129[131];
    memset(v128, 0, sizeof(v128));
    memset(v128, 'v', 128);
    memset(v129, 0, sizeof(v129));
    memset(v129, 'w', 129);
    snprintf(payload, sizeof(payload), "t=1,a=%s", v128);
    assert_int_equal(decode(f, "dev", payload), IOCD_REJECT_NONE);
    assert_obs(f, 0, "env", "dev", "t", 1, "", RECEIVED, 1);
    assert_label(f, 0, 0, "a", v128);
    assert_int_equal(f->batch.notes[IOCD_NOTE_PARTIAL], 0);
    snprintf(payload, sizeof(payload), "t=1,a=%s,b=x", v129);
    assert_int_equal(decode(f, "dev", payload), IOCD_REJECT_NONE);
    assert_obs(f, 0, "env", "dev", "t", 1, "", RECEIVED, 1);
    assert_label(f, 0, 0, "b", "x");
    assert_int_equal(f->batch.notes[IOCD_NOTE_PARTIAL], 1);
    assert_string_equal(f->batch.note_detail, "label 'a' is longer than 128 bytes, dropped");
    /* keys count too: a 129-byte key with a text value is dropped */
    snprintf(payload, sizeof(payload), "t=1,%s=x", v129);
    assert_int_equal(decode(f, "dev", payload), IOCD_REJECT_NONE);
    assert_obs(f, 0, "env", "dev", "t", 1, "", RECEIVED, 0);
    assert_int_equal(f->batch.notes[IOCD_NOTE_PARTIAL], 1);
    assert_string_equal(f->batch.note_detail,
                        "label 'wwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwww...' is longer than 128 bytes, "
                        "dropped");
    /* in ultralight the note names the group */
    fx_free(f);
    f = fx_new("[adapter ul]\nmode = ultralight\nmetric.h = humidity\nunit.h = %\n");
    snprintf(payload, sizeof(payload), "t|1#h|2|s|%s", v129);
    assert_int_equal(decode(f, "/k/d/attrs", payload), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 2);
    assert_obs(f, 1, "ul", "d", "humidity", 2, "%", RECEIVED, 0);
    assert_string_equal(f->batch.note_detail,
                        "group 2: label 's' is longer than 128 bytes, dropped");
    fx_free(f);
}

/* ---- ultralight ---- */

static const char ul_conf[] = "[adapter ul]\n"
                              "topic = /+/+/attrs\n"
                              "format = text\n"
                              "mode = ultralight\n"
                              "metric.t = temperature\n"
                              "metric.h = humidity\n"
                              "unit.t = Cel\n"
                              "unit.h = %\n";

static void test_ultralight_basic(void **state)
{
    (void)state;
    struct fx *f = fx_new(ul_conf);
    /* the manual's MQTT example: default device is topic[2] after a leading '/' */
    assert_int_equal(decode(f, "/ABCDEF/id_sen1/attrs", "h|70|t|15"), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 2);
    assert_obs(f, 0, "ul", "id_sen1", "humidity", 70, "%", RECEIVED, 0);
    assert_obs(f, 1, "ul", "id_sen1", "temperature", 15, "Cel", RECEIVED, 0);
    /* ... and topic[1] without it */
    assert_int_equal(decode(f, "ABCDEF/id_sen2/attrs", "t|15.5"), IOCD_REJECT_NONE);
    assert_obs(f, 0, "ul", "id_sen2", "temperature", 15.5, "Cel", RECEIVED, 0);
    /* values are untyped: non-numeric ones are labels of their group */
    assert_int_equal(decode(f, "/ABCDEF/id_sen1/attrs", "t|15|k|abc"), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 1);
    assert_obs(f, 0, "ul", "id_sen1", "temperature", 15, "Cel", RECEIVED, 1);
    assert_label(f, 0, 0, "k", "abc");
    /* unmapped keys are the metric name, without a unit */
    assert_int_equal(decode(f, "/ABCDEF/id_sen1/attrs", "lle|100|s|true|l|78.8\n"),
                     IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 2);
    assert_obs(f, 0, "ul", "id_sen1", "lle", 100, "", RECEIVED, 1);
    assert_label(f, 0, 0, "s", "true");
    assert_obs(f, 1, "ul", "id_sen1", "l", 78.8, "", RECEIVED, 1);
    assert_int_equal(decode(f, "/ABCDEF", "t|1"), IOCD_REJECT_MISSING_FIELD);
    assert_string_equal(f->batch.detail, "device: topic has no level 2");
    assert_int_equal(decode(f, "ABCDEF", "t|1"), IOCD_REJECT_MISSING_FIELD);
    assert_string_equal(f->batch.detail, "device: topic has no level 1");
    fx_free(f);

    f = fx_new("[adapter ul]\nmode = ultralight\ndevice = topic[3]\n");
    assert_int_equal(decode(f, "/ul/ABCDEF/id_sen1/attrs", "t|15"), IOCD_REJECT_NONE);
    assert_obs(f, 0, "ul", "id_sen1", "t", 15, "", RECEIVED, 0);
    fx_free(f);
}

static void test_ultralight_groups(void **state)
{
    (void)state;
    struct fx *f = fx_new(ul_conf);
    const char *topic = "/ABCDEF/id_sen1/attrs";
    /* a group may start with its own timestamp */
    assert_int_equal(decode(f, topic, "2016-06-13T00:35:30Z|lle|100"), IOCD_REJECT_NONE);
    assert_obs(f, 0, "ul", "id_sen1", "lle", 100, "", INT64_C(1465778130000), 0);
    assert_int_equal(decode(f, topic, "2026-11-22T10:04:05Z|t|21.5|h|40#t|22#"
                                      "2026-11-22T17:04:06.5+07:00|t|23|st|ok"),
                     IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 4);
    assert_obs(f, 0, "ul", "id_sen1", "temperature", 21.5, "Cel", T_1005, 0);
    assert_obs(f, 1, "ul", "id_sen1", "humidity", 40, "%", T_1005, 0);
    assert_obs(f, 2, "ul", "id_sen1", "temperature", 22, "Cel", RECEIVED, 0);
    assert_obs(f, 3, "ul", "id_sen1", "temperature", 23, "Cel", T_1005 + 1500, 1);
    assert_label(f, 3, 0, "st", "ok");
    /* a timestamp without an offset is UTC */
    assert_int_equal(decode(f, topic, "2026-11-22T10:04:05|t|1#2026-11-22T10:04:05.250|t|2"),
                     IOCD_REJECT_NONE);
    assert_obs(f, 0, "ul", "id_sen1", "temperature", 1, "Cel", T_1005, 0);
    assert_obs(f, 1, "ul", "id_sen1", "temperature", 2, "Cel", T_1005 + 250, 0);
    /* the manual's example: a group with no numeric value has nothing to attach its labels to */
    assert_int_equal(decode(f, topic, "gps|1.2/3.4#t|10"), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 1);
    assert_obs(f, 0, "ul", "id_sen1", "temperature", 10, "Cel", RECEIVED, 0);
    assert_int_equal(f->batch.notes[IOCD_NOTE_PARTIAL], 0);
    /* empty groups, blanks around elements and groups */
    assert_int_equal(decode(f, topic, "#t | 1 ##\r\n h|2\n#\n"), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 2);
    assert_obs(f, 0, "ul", "id_sen1", "temperature", 1, "Cel", RECEIVED, 0);
    assert_obs(f, 1, "ul", "id_sen1", "humidity", 2, "%", RECEIVED, 0);
    /* the same key in two groups is two samples */
    assert_int_equal(decode(f, topic, "t|1#t|2"), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 2);
    assert_obs(f, 1, "ul", "id_sen1", "temperature", 2, "Cel", RECEIVED, 0);
    /* empty values are labels */
    assert_int_equal(decode(f, topic, "t||h|5"), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 1);
    assert_obs(f, 0, "ul", "id_sen1", "humidity", 5, "%", RECEIVED, 1);
    assert_label(f, 0, 0, "t", "");
    fx_free(f);
}

static void test_ultralight_rejects(void **state)
{
    (void)state;
    struct fx *f = fx_new(ul_conf);
    static const struct {
        const char *payload;
        enum iocd_reject r;
        const char *detail;
    } bad[] = {
        {"k|abc", IOCD_REJECT_MISSING_FIELD, "no numeric value"},
        {"gps|1.2/3.4#st|ok", IOCD_REJECT_MISSING_FIELD, "no numeric value"},
        {"2026-11-22T10:04:05Z", IOCD_REJECT_MISSING_FIELD, "no numeric value"},
        {"#", IOCD_REJECT_MISSING_FIELD, "no numeric value"},
        {"21.5", IOCD_REJECT_BAD_TIME, "group 1: '21.5' is not a valid ISO-8601 time"},
        {"t|1|h", IOCD_REJECT_MALFORMED,
         "group 1: 3 elements: an odd count needs a timestamp first, not 't'"},
        {"t|1#h|2|x", IOCD_REJECT_MALFORMED,
         "group 2: 3 elements: an odd count needs a timestamp first, not 'h'"},
        {"2026-02-30T00:00:00Z|t|1", IOCD_REJECT_BAD_TIME,
         "group 1: '2026-02-30T00:00:00Z' is not a valid ISO-8601 time"},
        {"1795341845|t|1", IOCD_REJECT_BAD_TIME,
         "group 1: '1795341845' is not a valid ISO-8601 time"},
        {"|1", IOCD_REJECT_MALFORMED, "group 1: empty key at byte 0"},
        {"t|1# |2", IOCD_REJECT_MALFORMED, "group 2: empty key at byte 5"},
        {"t|1|h|2|t|3", IOCD_REJECT_MALFORMED, "group 1: key 't' given twice"},
        {"t|NaN", IOCD_REJECT_NOT_FINITE, "group 1: value of 't' is not finite"},
        {"h|1#t|1e999", IOCD_REJECT_NOT_FINITE, "group 2: value of 't' is not finite"},
        {"a/b|1", IOCD_REJECT_BAD_ID, "group 1: metric 'a/b' contains '/', '+' or '#'"},
        {"t|1\n2", IOCD_REJECT_MALFORMED, "group 1: control character 0x0a at byte 3"},
        {"t|1\x1b", IOCD_REJECT_MALFORMED, "control character 0x1b at byte 3"},
        {"t|\xc0\xaf", IOCD_REJECT_MALFORMED, "not UTF-8 text (byte 2)"},
        {"  \n", IOCD_REJECT_MALFORMED, "empty payload"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        enum iocd_reject r = decode(f, "/ABCDEF/id_sen1/attrs", bad[i].payload);
        if (r != bad[i].r)
            fail_msg("'%s': %s, expected %s", bad[i].payload, iocd_reject_name(r),
                     iocd_reject_name(bad[i].r));
        if (strcmp(f->batch.detail, bad[i].detail) != 0)
            fail_msg("'%s': detail '%s', expected '%s'", bad[i].payload, f->batch.detail,
                     bad[i].detail);
    }
    /* a bad group rejects the whole message, good groups before it too */
    assert_int_equal(decode(f, "/ABCDEF/id_sen1/attrs", "t|1#h|2#x|inf"), IOCD_REJECT_NOT_FINITE);
    fx_free(f);
}

/* The worked examples of docs/adapters.md (text), exactly. */
static void test_doc_examples(void **state)
{
    (void)state;
    struct fx *f = fx_new("[adapter water]\n"
                          "topic = pleiku/water/+/level_cm\n"
                          "format = text\n"
                          "mode = number\n"
                          "device = topic[2]\n"
                          "metric = level\n"
                          "unit = cm\n");
    assert_int_equal(decode(f, "pleiku/water/GL-WL01/level_cm", "123.4"), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 1);
    assert_obs(f, 0, "water", "GL-WL01", "level", 123.4, "cm", RECEIVED, 0);
    fx_free(f);

    f = fx_new("[adapter env]\n"
               "topic = pleiku/env/+\n"
               "format = text\n"
               "mode = kv\n"
               "device = key:id\n"
               "time_key = ts\n"
               "metric.temp = temperature\n"
               "unit.temp = Cel\n"
               "unit.hum = %\n");
    assert_int_equal(decode(f, "pleiku/env/GL-ENV01",
                            "id=GL-ENV01&ts=2026-11-22T17:04:05+07:00&temp=24.1&hum=78&status=ok"),
                     IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 2);
    assert_obs(f, 0, "env", "GL-ENV01", "temperature", 24.1, "Cel", T_1005, 1);
    assert_label(f, 0, 0, "status", "ok");
    assert_obs(f, 1, "env", "GL-ENV01", "hum", 78, "%", T_1005, 1);
    assert_label(f, 1, 0, "status", "ok");
    fx_free(f);

    f = fx_new(ul_conf);
    assert_int_equal(
        decode(f, "/ABCDEF/id_sen1/attrs", "2026-11-22T10:04:05Z|t|21.5|h|40#t|22|st|ok"),
        IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 3);
    assert_obs(f, 0, "ul", "id_sen1", "temperature", 21.5, "Cel", T_1005, 0);
    assert_obs(f, 1, "ul", "id_sen1", "humidity", 40, "%", T_1005, 0);
    assert_obs(f, 2, "ul", "id_sen1", "temperature", 22, "Cel", RECEIVED, 1);
    assert_label(f, 2, 0, "st", "ok");
    fx_free(f);
}

static void test_large(void **state)
{
    (void)state;
    struct fx *f = fx_new("[adapter env]\nmode = kv\ndevice = topic[0]\n");
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    /* 20000 pairs, half of them labels: labels are built once and shared */
    for (int i = 0; i < 20000; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%s%d=%s%d", i ? "&" : "", i % 2 ? "l" : "m", i,
                              i % 2 ? "x" : "", i);
    assert_int_equal(decode_n(f, "dev", buf, n), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 10000);
    assert_obs(f, 9999, "env", "dev", "m19998", 19998, "", RECEIVED, 10000);
    assert_label(f, 9999, 9999, "l19999", "x19999");
    fx_free(f);

    f = fx_new("[adapter ul]\nmode = ultralight\n");
    n = 0;
    for (int i = 0; i < 20000; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%sv|%d", i ? "#" : "", i);
    assert_int_equal(decode_n(f, "/k/d/attrs", buf, n), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 20000);
    assert_obs(f, 19999, "ul", "d", "v", 19999, "", RECEIVED, 0);
    free(buf);
    fx_free(f);
}

static void test_no_memory(void **state)
{
    (void)state;
    static const struct {
        const char *conf, *topic, *payload;
        size_t n_obs;
    } cases[] = {
        {"[adapter a]\nmode = number\ndevice = topic[0]\nmetric = v\nunit = V\n", "d", "3.3", 1},
        {"[adapter a]\nmode = kv\ndevice = key:id\ntime_key = ts\nunit.v = V\n", "d",
         "id=x,ts=1795341845,v=1,w=2,s=ok", 2},
        {"[adapter a]\nmode = ultralight\nmetric.t = temperature\nunit.t = Cel\n", "/k/d/attrs",
         "t|1|s|ok#2026-11-22T10:04:05Z|t|2", 2},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        struct fx *f = fx_new(cases[c].conf);
        size_t limit = 16;
        for (; limit < 8192; limit += 16) {
            iocd_arena_free(&f->arena);
            iocd_arena_init(&f->arena, limit);
            enum iocd_reject r = decode(f, cases[c].topic, cases[c].payload);
            if (r == IOCD_REJECT_NONE)
                break;
            assert_int_equal(r, IOCD_REJECT_NO_MEMORY);
        }
        assert_true(limit < 8192);
        assert_int_equal(f->batch.n_obs, cases[c].n_obs);
        fx_free(f);
    }
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
    static const struct {
        const char *conf, *msg;
    } cases[] = {
        {"# c\n[adapter t]\ntopic = a/b\nformat = text\ndevice = topic[1]\n",
         "test.conf:2: [adapter t] mode: required key missing (number, kv or ultralight)"},
        {"[adapter t]\nmode = json\n",
         "test.conf:2: [adapter t] mode: expected number, kv or ultralight"},
        {"[adapter t]\nmode = kv\nmode = kv\n",
         "test.conf:3: key 'mode' given twice (first on line 2)"},
        /* number */
        {"[adapter t]\nmode = number\nmetric = v\n",
         "test.conf:1: [adapter t] device: required key missing (topic[N])"},
        {"[adapter t]\nmode = number\ndevice = key:id\nmetric = v\n",
         "test.conf:3: [adapter t] device: expected topic[N] with N a topic level from 0 to 255"},
        {"[adapter t]\nmode = number\ndevice = topic[999]\nmetric = v\n",
         "test.conf:3: [adapter t] device: expected topic[N] with N a topic level from 0 to 255"},
        {"[adapter t]\nmode = number\ndevice = topic[1]\n",
         "test.conf:1: [adapter t] metric: required key missing (topic[M] or a metric name)"},
        {"[adapter t]\nmode = number\ndevice = topic[1]\nmetric = topic[x]\n",
         "test.conf:4: [adapter t] metric: expected topic[M] with M a topic level from 0 to 255"},
        {"[adapter t]\nmode = number\ndevice = topic[1]\nmetric = level cm\n",
         "test.conf:4: [adapter t] metric: expected topic[M] or a metric name of 1 to 64 "
         "characters of letters, digits, '_', '.' and '-'"},
        {"[adapter t]\nmode = number\ndevice = topic[1]\nmetric = a/b\n",
         "test.conf:4: [adapter t] metric: expected topic[M] or a metric name of 1 to 64 "
         "characters of letters, digits, '_', '.' and '-'"},
        {"[adapter t]\nmode = number\ndevice = topic[1]\nmetric = v\nunit = k m\n",
         "test.conf:5: [adapter t] unit: expected a unit of 1 to 32 characters without blanks, "
         "such as km/h, Cel or %"},
        {"[adapter t]\nmode = number\ndevice = topic[1]\nmetric = v\ntime_key = ts\n",
         "test.conf:5: [adapter t] time_key: only in mode = kv"},
        {"[adapter t]\nmode = number\ndevice = topic[1]\nmetric = v\nunit.v = V\n",
         "test.conf:5: [adapter t] unit.v: only in mode = kv or ultralight (mode = number uses "
         "'unit')"},
        {"[adapter t]\nmode = number\ndevice = topic[1]\nmetric = v\nmetric.v = w\n",
         "test.conf:5: [adapter t] metric.v: only in mode = kv or ultralight (mode = number uses "
         "'metric')"},
        /* kv */
        {"[adapter t]\nmode = kv\n",
         "test.conf:1: [adapter t] device: required key missing (topic[N] or key:NAME)"},
        {"[adapter t]\nmode = kv\ndevice = key:\n",
         "test.conf:3: [adapter t] device: expected key:NAME, the key name is empty"},
        {"[adapter t]\nmode = kv\ndevice = tag:id\n",
         "test.conf:3: [adapter t] device: expected topic[N] with N a topic level from 0 to 255, "
         "or key:NAME"},
        {"[adapter t]\nmode = kv\ndevice = key:id\nmetric = v\n",
         "test.conf:4: [adapter t] metric: only in mode = number (use metric.KEY to rename a key)"},
        {"[adapter t]\nmode = kv\ndevice = key:id\nunit = V\n",
         "test.conf:4: [adapter t] unit: only in mode = number (use unit.KEY)"},
        {"[adapter t]\nmode = kv\ndevice = key:id\ntime_key = id\n",
         "test.conf:4: [adapter t] time_key: is also the device key"},
        {"[adapter t]\nmode = kv\ndevice = key:id\ntime_key =\n",
         "test.conf:4: [adapter t] time_key: expected the name of a key"},
        {"[adapter t]\nmode = kv\ndevice = key:id\nunit. = V\n",
         "test.conf:4: [adapter t] unit.: the key after 'unit.' is empty"},
        {"[adapter t]\nmode = kv\ndevice = key:id\nunit.v = V\nunit.v = mV\n",
         "test.conf:5: [adapter t] unit.v: given twice (first on line 4)"},
        {"[adapter t]\nmode = kv\ndevice = key:id\nunit.v =\n",
         "test.conf:4: [adapter t] unit.v: expected a unit of 1 to 32 characters without blanks, "
         "such as km/h, Cel or %"},
        {"[adapter t]\nmode = kv\ndevice = key:id\nmetric. = x\n",
         "test.conf:4: [adapter t] metric.: the key after 'metric.' is empty"},
        {"[adapter t]\nmode = kv\ndevice = key:id\nmetric.t = air temp\n",
         "test.conf:4: [adapter t] metric.t: expected a metric name of 1 to 64 characters of "
         "letters, digits, '_', '.' and '-'"},
        {"[adapter t]\nmode = kv\ndevice = key:id\nmetric.t = a\nmetric.t = b\n",
         "test.conf:5: [adapter t] metric.t: given twice (first on line 4)"},
        /* ultralight */
        {"[adapter t]\nmode = ultralight\ndevice = key:id\n",
         "test.conf:3: [adapter t] device: expected topic[N] with N a topic level from 0 to 255"},
        {"[adapter t]\nmode = ultralight\ntime_key = ts\n",
         "test.conf:3: [adapter t] time_key: only in mode = kv"},
        {"[adapter t]\nmode = ultralight\nunit = V\n",
         "test.conf:3: [adapter t] unit: only in mode = number (use unit.KEY)"},
        {"[adapter t]\nmode = ultralight\nmetric = t\n",
         "test.conf:3: [adapter t] metric: only in mode = number (use metric.KEY to rename a "
         "key)"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_create_error(cases[i].conf, cases[i].msg);
}

static void test_create_source(void **state)
{
    (void)state;
    struct fx f;
    memset(&f, 0, sizeof(f));
    struct iocd_error err = {{0}};
    iocd_arena_init(&f.arena, 0);
    iocd_batch_init(&f.batch, &f.arena);
    assert_int_equal(iocd_ini_parse(&f.ini, "test.conf",
                                     "[adapter t]\nmode = number\ndevice = topic[0]\n"
                                     "metric = v\n",
                                     &err),
                     0);
    assert_int_equal(
        iocd_adapter_text.create(&f.ini, &f.ini.sections[0], "power", &f.state, &err), 0);
    assert_int_equal(decode(&f, "meter-7", "230.5"), IOCD_REJECT_NONE);
    assert_obs(&f, 0, "power", "meter-7", "v", 230.5, "", RECEIVED, 0);
    iocd_adapter_text.destroy(f.state);
    iocd_arena_free(&f.arena);
    iocd_ini_free(&f.ini);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_number_fiware_single),
        cmocka_unit_test(test_number_values),
        cmocka_unit_test(test_kv_basic),
        cmocka_unit_test(test_kv_time),
        cmocka_unit_test(test_kv_device),
        cmocka_unit_test(test_kv_rejects),
        cmocka_unit_test(test_kv_labels),
        cmocka_unit_test(test_ultralight_basic),
        cmocka_unit_test(test_ultralight_groups),
        cmocka_unit_test(test_ultralight_rejects),
        cmocka_unit_test(test_doc_examples),
        cmocka_unit_test(test_large),
        cmocka_unit_test(test_no_memory),
        cmocka_unit_test(test_create_errors),
        cmocka_unit_test(test_create_source),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
