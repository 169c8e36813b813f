/* tests/unit/test_senml_adapter.c — the senml adapter (adapters/senml.c):
 * RFC 8428's own examples (JSON §5.1.1–§5.1.7 and the CBOR dump of §6)
 * resolved to exact Observations and Events, base fields, times, CBOR
 * encodings, config errors with file and line, and every reject reason and
 * dropped-record note the adapter produces. */
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

extern const struct iocd_adapter_ops iocd_adapter_senml;
#define FX_OPS iocd_adapter_senml
#include "adapter_fixture.h"

static const char default_conf[] = "[adapter s]\ntopic = city/senml/#\nformat = senml\n";

/* The payload is copied to a buffer of exactly its length, so reading past
 * it is caught under ASan. */
static enum iocd_reject decode_t(struct fx *f, const char *topic, const void *payload,
                                 size_t len)
{
    iocd_batch_reset(&f->batch);
    void *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, payload, len);
    struct iocd_message m = {.topic = topic, .payload = copy, .len = len,
                             .received_ms = f->received};
    enum iocd_reject r = iocd_adapter_senml.decode(f->state, &m, &f->batch);
    free(copy);
    if (r == IOCD_REJECT_NONE) {
        assert_true(f->batch.n_obs + f->batch.n_events > 0);
    } else {
        /* all or nothing, and a rejected message counts no notes */
        assert_int_equal(f->batch.n_obs, 0);
        assert_int_equal(f->batch.n_events, 0);
        assert_int_equal(f->batch.notes[IOCD_NOTE_PARTIAL], 0);
        assert_true(f->batch.detail[0] != '\0');
    }
    return r;
}

static enum iocd_reject decode(struct fx *f, const char *payload)
{
    return decode_t(f, "city/senml/gw1", payload, strlen(payload));
}

static enum iocd_reject decode_bin(struct fx *f, const uint8_t *p, size_t n)
{
    return decode_t(f, "city/senml/gw1", p, n);
}

static unsigned partial(const struct fx *f)
{
    return f->batch.notes[IOCD_NOTE_PARTIAL];
}

static void assert_obs(const struct fx *f, size_t i, const char *device, const char *metric,
                       double value, const char *unit, int64_t observed_ms)
{
    if (i >= f->batch.n_obs)
        fail_msg("obs %zu missing: only %zu", i, f->batch.n_obs);
    const Ioc__V1__Observation *o = f->batch.obs[i];
    assert_string_equal(o->source, "s");
    assert_string_equal(o->device, device);
    assert_string_equal(o->metric, metric);
    if (o->value != value || signbit(o->value) != signbit(value))
        fail_msg("obs %zu (%s): value %.17g, expected %.17g", i, metric, o->value, value);
    assert_string_equal(o->unit, unit);
    if (o->observed_ms != observed_ms)
        fail_msg("obs %zu (%s): observed_ms %lld, expected %lld", i, metric,
                 (long long)o->observed_ms, (long long)observed_ms);
    assert_int_equal(o->received_ms, f->received);
    assert_int_equal(o->quality, IOC__V1__QUALITY__QUALITY_GOOD);
    assert_int_equal(o->n_labels, 0);
    assert_null(o->location);
}

static const char *attr(const Ioc__V1__Event *e, const char *key)
{
    for (size_t i = 0; i < e->n_attributes; i++)
        if (strcmp(e->attributes[i]->key, key) == 0)
            return e->attributes[i]->value;
    return NULL;
}

/* unit NULL: the event has no unit attribute. */
static void assert_event(const struct fx *f, size_t i, const char *device, int64_t time_ms,
                         const char *name, const char *metric, const char *type,
                         const char *value, const char *unit)
{
    assert_true(i < f->batch.n_events);
    const Ioc__V1__Event *e = f->batch.events[i];
    assert_string_equal(e->kind, "senml.value");
    assert_int_equal(e->severity, IOC__V1__SEVERITY__SEVERITY_INFO);
    assert_string_equal(e->text, "");
    assert_string_equal(e->device, device);
    assert_null(e->location);
    assert_int_equal(e->time_ms, time_ms);
    assert_string_equal(e->source, "s");
    assert_string_equal(e->status, "");
    assert_string_equal(e->area, "");
    assert_int_equal(e->received_ms, f->received);
    assert_int_equal(e->n_attributes, unit ? 5 : 4);
    assert_string_equal(attr(e, "name"), name);
    assert_string_equal(attr(e, "metric"), metric);
    assert_string_equal(attr(e, "type"), type);
    assert_string_equal(attr(e, "value"), value);
    if (unit)
        assert_string_equal(attr(e, "unit"), unit);
}

/* ---- a tiny CBOR writer for test payloads ---- */

struct cw {
    uint8_t b[4096];
    size_t n;
};

static void cw_byte(struct cw *w, uint8_t x)
{
    assert_true(w->n < sizeof(w->b));
    w->b[w->n++] = x;
}

static void cw_head(struct cw *w, unsigned major, uint64_t v)
{
    uint8_t m = (uint8_t)(major << 5);
    if (v < 24) {
        cw_byte(w, (uint8_t)(m | v));
    } else if (v <= 0xff) {
        cw_byte(w, m | 24);
        cw_byte(w, (uint8_t)v);
    } else if (v <= 0xffff) {
        cw_byte(w, m | 25);
        for (int s = 8; s >= 0; s -= 8)
            cw_byte(w, (uint8_t)(v >> s));
    } else if (v <= 0xffffffffu) {
        cw_byte(w, m | 26);
        for (int s = 24; s >= 0; s -= 8)
            cw_byte(w, (uint8_t)(v >> s));
    } else {
        cw_byte(w, m | 27);
        for (int s = 56; s >= 0; s -= 8)
            cw_byte(w, (uint8_t)(v >> s));
    }
}

static void cw_int(struct cw *w, int64_t v)
{
    if (v >= 0)
        cw_head(w, 0, (uint64_t)v);
    else
        cw_head(w, 1, (uint64_t)(-1 - v));
}

static void cw_text(struct cw *w, const char *s)
{
    size_t n = strlen(s);
    cw_head(w, 3, n);
    for (size_t i = 0; i < n; i++)
        cw_byte(w, (uint8_t)s[i]);
}

static void cw_double(struct cw *w, double d)
{
    uint64_t bits;
    memcpy(&bits, &d, sizeof(bits));
    cw_byte(w, 0xfb);
    for (int s = 56; s >= 0; s -= 8)
        cw_byte(w, (uint8_t)(bits >> s));
}

static void cw_bytes(struct cw *w, const void *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        cw_byte(w, ((const uint8_t *)p)[i]);
}

/* ---- RFC 8428 examples ---- */

/* §5.1.1 Single Data Point. No base name: the name is split at its last
 * separator. */
static void test_rfc_5_1_1(void **state)
{
    (void)state;
    struct fx *f = fx_new(default_conf);
    assert_int_equal(decode(f, "[\n  {\"n\":\"urn:dev:ow:10e2073a01080063\",\"u\":\"Cel\",\"v\":23.1}\n]"),
                     IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 1);
    assert_int_equal(f->batch.n_events, 0);
    assert_int_equal(partial(f), 0);
    assert_obs(f, 0, "urn:dev:ow", "10e2073a01080063", 23.1, "Cel", RECEIVED);
    fx_free(f);
}

/* §5.1.2 Multiple Data Points, first example: exactly the bytes of
 * tests/fuzz/corpus/senml/SenML.rfc8428-5.1.2.json. */
static const char rfc_5_1_2[] =
    "[\n"
    "  {\"bn\":\"urn:dev:ow:10e2073a01080063:\",\"n\":\"voltage\",\"u\":\"V\",\"v\":120.1},\n"
    "  {\"n\":\"current\",\"u\":\"A\",\"v\":1.2}\n"
    "]\n";

static void test_rfc_5_1_2(void **state)
{
    (void)state;
    struct fx *f = fx_new(default_conf);
    assert_int_equal(decode(f, rfc_5_1_2), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 2);
    assert_int_equal(f->batch.n_events, 0);
    assert_obs(f, 0, "urn:dev:ow:10e2073a01080063", "voltage", 120.1, "V", RECEIVED);
    assert_obs(f, 1, "urn:dev:ow:10e2073a01080063", "current", 1.2, "A", RECEIVED);
    fx_free(f);
}

/* §5.1.2 second example: bt with fractional seconds (Tue Jun 8 18:01:16.001
 * UTC 2010), bu, bver 5, relative t. Also the resolution of §6's CBOR. */
#define T_2010 INT64_C(1276020076001) /* 2010-06-08T18:01:16.001Z */

static void assert_rfc_5_1_2_times(const struct fx *f)
{
    const char *dev = "urn:dev:ow:10e2073a0108006"; /* sic: the RFC's name */
    assert_int_equal(f->batch.n_obs, 7);
    assert_int_equal(f->batch.n_events, 0);
    assert_int_equal(partial(f), 0);
    assert_obs(f, 0, dev, "voltage", 120.1, "V", T_2010);
    assert_obs(f, 1, dev, "current", 1.2, "A", T_2010 - 5000);
    assert_obs(f, 2, dev, "current", 1.3, "A", T_2010 - 4000);
    assert_obs(f, 3, dev, "current", 1.4, "A", T_2010 - 3000);
    assert_obs(f, 4, dev, "current", 1.5, "A", T_2010 - 2000);
    assert_obs(f, 5, dev, "current", 1.6, "A", T_2010 - 1000);
    assert_obs(f, 6, dev, "current", 1.7, "A", T_2010);
}

static void test_rfc_5_1_2_times(void **state)
{
    (void)state;
    struct fx *f = fx_new(default_conf);
    assert_int_equal(
        decode(f, "[\n"
                  "  {\"bn\":\"urn:dev:ow:10e2073a0108006:\",\"bt\":1.276020076001e+09,\n"
                  "   \"bu\":\"A\",\"bver\":5,\n"
                  "   \"n\":\"voltage\",\"u\":\"V\",\"v\":120.1},\n"
                  "  {\"n\":\"current\",\"t\":-5,\"v\":1.2},\n"
                  "  {\"n\":\"current\",\"t\":-4,\"v\":1.3},\n"
                  "  {\"n\":\"current\",\"t\":-3,\"v\":1.4},\n"
                  "  {\"n\":\"current\",\"t\":-2,\"v\":1.5},\n"
                  "  {\"n\":\"current\",\"t\":-1,\"v\":1.6},\n"
                  "  {\"n\":\"current\",\"v\":1.7}\n"
                  "]"),
        IOCD_REJECT_NONE);
    assert_rfc_5_1_2_times(f);
    fx_free(f);
}

/* §6: the RFC's hex dump of the same pack in CBOR (1.5 is a half float). */
static const uint8_t rfc_6_cbor[] = {
    0x87, 0xa7, 0x21, 0x78, 0x1b, 0x75, 0x72, 0x6e, 0x3a, 0x64, 0x65, 0x76, 0x3a, 0x6f, 0x77,
    0x3a, 0x31, 0x30, 0x65, 0x32, 0x30, 0x37, 0x33, 0x61, 0x30, 0x31, 0x30, 0x38, 0x30, 0x30,
    0x36, 0x3a, 0x22, 0xfb, 0x41, 0xd3, 0x03, 0xa1, 0x5b, 0x00, 0x10, 0x62, 0x23, 0x61, 0x41,
    0x20, 0x05, 0x00, 0x67, 0x76, 0x6f, 0x6c, 0x74, 0x61, 0x67, 0x65, 0x01, 0x61, 0x56, 0x02,
    0xfb, 0x40, 0x5e, 0x06, 0x66, 0x66, 0x66, 0x66, 0x66, 0xa3, 0x00, 0x67, 0x63, 0x75, 0x72,
    0x72, 0x65, 0x6e, 0x74, 0x06, 0x24, 0x02, 0xfb, 0x3f, 0xf3, 0x33, 0x33, 0x33, 0x33, 0x33,
    0x33, 0xa3, 0x00, 0x67, 0x63, 0x75, 0x72, 0x72, 0x65, 0x6e, 0x74, 0x06, 0x23, 0x02, 0xfb,
    0x3f, 0xf4, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcd, 0xa3, 0x00, 0x67, 0x63, 0x75, 0x72, 0x72,
    0x65, 0x6e, 0x74, 0x06, 0x22, 0x02, 0xfb, 0x3f, 0xf6, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
    0xa3, 0x00, 0x67, 0x63, 0x75, 0x72, 0x72, 0x65, 0x6e, 0x74, 0x06, 0x21, 0x02, 0xf9, 0x3e,
    0x00, 0xa3, 0x00, 0x67, 0x63, 0x75, 0x72, 0x72, 0x65, 0x6e, 0x74, 0x06, 0x20, 0x02, 0xfb,
    0x3f, 0xf9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a, 0xa3, 0x00, 0x67, 0x63, 0x75, 0x72, 0x72,
    0x65, 0x6e, 0x74, 0x06, 0x00, 0x02, 0xfb, 0x3f, 0xfb, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33,
};

static void test_rfc_6_cbor(void **state)
{
    (void)state;
    assert_int_equal(sizeof(rfc_6_cbor), 0xc3);
    struct fx *f = fx_new(default_conf);
    assert_int_equal(decode_bin(f, rfc_6_cbor, sizeof(rfc_6_cbor)), IOCD_REJECT_NONE);
    assert_rfc_5_1_2_times(f);
    fx_free(f);
    /* the same with encoding = cbor, and behind a self-described CBOR tag */
    f = fx_new("[adapter s]\nencoding = cbor\n");
    uint8_t tagged[3 + sizeof(rfc_6_cbor)] = {0xd9, 0xd9, 0xf7};
    memcpy(tagged + 3, rfc_6_cbor, sizeof(rfc_6_cbor));
    assert_int_equal(decode_bin(f, tagged, sizeof(tagged)), IOCD_REJECT_NONE);
    assert_rfc_5_1_2_times(f);
    assert_int_equal(decode_bin(f, rfc_6_cbor, sizeof(rfc_6_cbor)), IOCD_REJECT_NONE);
    assert_rfc_5_1_2_times(f);
    fx_free(f);
}

/* §5.1.3 Multiple Measurements: the base name alone names the sensor and
 * the records differ by unit; the name is the device and the unit gives
 * the metric, so humidity, position and battery stay in separate series. */
#define T_2011 INT64_C(1320067464000) /* 2011-10-31T13:24:24Z */

static void test_rfc_5_1_3(void **state)
{
    (void)state;
    struct fx *f = fx_new(default_conf);
    assert_int_equal(decode(f, "[\n"
                               "  {\"bn\":\"urn:dev:ow:10e2073a01080063\",\"bt\":1.320067464e+09,\n"
                               "   \"bu\":\"%RH\",\"v\":20},\n"
                               "  {\"u\":\"lon\",\"v\":24.30621},\n"
                               "  {\"u\":\"lat\",\"v\":60.07965},\n"
                               "  {\"t\":60,\"v\":20.3},\n"
                               "  {\"u\":\"lon\",\"t\":60,\"v\":24.30622},\n"
                               "  {\"u\":\"lat\",\"t\":60,\"v\":60.07965},\n"
                               "  {\"t\":120,\"v\":20.7},\n"
                               "  {\"u\":\"lon\",\"t\":120,\"v\":24.30623},\n"
                               "  {\"u\":\"lat\",\"t\":120,\"v\":60.07966},\n"
                               "  {\"u\":\"%EL\",\"t\":150,\"v\":98},\n"
                               "  {\"t\":180,\"v\":21.2},\n"
                               "  {\"u\":\"lon\",\"t\":180,\"v\":24.30628},\n"
                               "  {\"u\":\"lat\",\"t\":180,\"v\":60.07967}\n"
                               "]"),
                     IOCD_REJECT_NONE);
    const char *d = "urn:dev:ow:10e2073a01080063";
    assert_int_equal(f->batch.n_obs, 13);
    assert_int_equal(partial(f), 0);
    assert_obs(f, 0, d, "pctRH", 20, "%RH", T_2011);
    assert_obs(f, 1, d, "lon", 24.30621, "lon", T_2011);
    assert_obs(f, 2, d, "lat", 60.07965, "lat", T_2011);
    assert_obs(f, 3, d, "pctRH", 20.3, "%RH", T_2011 + 60000);
    assert_obs(f, 4, d, "lon", 24.30622, "lon", T_2011 + 60000);
    assert_obs(f, 5, d, "lat", 60.07965, "lat", T_2011 + 60000);
    assert_obs(f, 6, d, "pctRH", 20.7, "%RH", T_2011 + 120000);
    assert_obs(f, 7, d, "lon", 24.30623, "lon", T_2011 + 120000);
    assert_obs(f, 8, d, "lat", 60.07966, "lat", T_2011 + 120000);
    assert_obs(f, 9, d, "pctEL", 98, "%EL", T_2011 + 150000);
    assert_obs(f, 10, d, "pctRH", 21.2, "%RH", T_2011 + 180000);
    assert_obs(f, 11, d, "lon", 24.30628, "lon", T_2011 + 180000);
    assert_obs(f, 12, d, "lat", 60.07967, "lat", T_2011 + 180000);
    fx_free(f);
}

/* §5.1.4 Resolved Data (the §5.1.3 pack resolved): full names, absolute
 * times, no base fields. Without bn the name splits at its last ':'. */
static void test_rfc_5_1_4(void **state)
{
    (void)state;
    struct fx *f = fx_new(default_conf);
    assert_int_equal(
        decode(f, "[\n"
                  "  {\"n\":\"urn:dev:ow:10e2073a01080063\",\"u\":\"%RH\",\"t\":1.320067464e+09,\n"
                  "   \"v\":20},\n"
                  "  {\"n\":\"urn:dev:ow:10e2073a01080063\",\"u\":\"lon\",\"t\":1.320067464e+09,\n"
                  "   \"v\":24.30621},\n"
                  "  {\"n\":\"urn:dev:ow:10e2073a01080063\",\"u\":\"lat\",\"t\":1.320067464e+09,\n"
                  "   \"v\":60.07965},\n"
                  "  {\"n\":\"urn:dev:ow:10e2073a01080063\",\"u\":\"%RH\",\"t\":1.320067524e+09,\n"
                  "   \"v\":20.3},\n"
                  "  {\"n\":\"urn:dev:ow:10e2073a01080063\",\"u\":\"lon\",\"t\":1.320067524e+09,\n"
                  "   \"v\":24.30622},\n"
                  "  {\"n\":\"urn:dev:ow:10e2073a01080063\",\"u\":\"lat\",\"t\":1.320067524e+09,\n"
                  "   \"v\":60.07965},\n"
                  "  {\"n\":\"urn:dev:ow:10e2073a01080063\",\"u\":\"%RH\",\"t\":1.320067584e+09,\n"
                  "   \"v\":20.7},\n"
                  "  {\"n\":\"urn:dev:ow:10e2073a01080063\",\"u\":\"lon\",\"t\":1.320067584e+09,\n"
                  "   \"v\":24.30623},\n"
                  "  {\"n\":\"urn:dev:ow:10e2073a01080063\",\"u\":\"lat\",\"t\":1.320067584e+09,\n"
                  "   \"v\":60.07966},\n"
                  "  {\"n\":\"urn:dev:ow:10e2073a01080063\",\"u\":\"%EL\",\"t\":1.320067614e+09,\n"
                  "   \"v\":98},\n"
                  "  {\"n\":\"urn:dev:ow:10e2073a01080063\",\"u\":\"%RH\",\"t\":1.320067644e+09,\n"
                  "   \"v\":21.2},\n"
                  "  {\"n\":\"urn:dev:ow:10e2073a01080063\",\"u\":\"lon\",\"t\":1.320067644e+09,\n"
                  "   \"v\":24.30628},\n"
                  "  {\"n\":\"urn:dev:ow:10e2073a01080063\",\"u\":\"lat\",\"t\":1.320067644e+09,\n"
                  "   \"v\":60.07967}\n"
                  "]"),
        IOCD_REJECT_NONE);
    static const struct {
        const char *u;
        double v;
        int64_t ms;
    } rows[] = {
        {"%RH", 20, T_2011},
        {"lon", 24.30621, T_2011},
        {"lat", 60.07965, T_2011},
        {"%RH", 20.3, T_2011 + 60000},
        {"lon", 24.30622, T_2011 + 60000},
        {"lat", 60.07965, T_2011 + 60000},
        {"%RH", 20.7, T_2011 + 120000},
        {"lon", 24.30623, T_2011 + 120000},
        {"lat", 60.07966, T_2011 + 120000},
        {"%EL", 98, T_2011 + 150000},
        {"%RH", 21.2, T_2011 + 180000},
        {"lon", 24.30628, T_2011 + 180000},
        {"lat", 60.07967, T_2011 + 180000},
    };
    assert_int_equal(f->batch.n_obs, 13);
    assert_int_equal(partial(f), 0);
    for (size_t i = 0; i < 13; i++)
        assert_obs(f, i, "urn:dev:ow", "10e2073a01080063", rows[i].v, rows[i].u, rows[i].ms);
    fx_free(f);
}

/* §5.1.5 Multiple Data Types: v, vs, vb, vd. */
static void test_rfc_5_1_5(void **state)
{
    (void)state;
    struct fx *f = fx_new(default_conf);
    assert_int_equal(
        decode(f, "  [\n"
                  "    {\"bn\":\"urn:dev:ow:10e2073a01080063:\",\"n\":\"temp\",\"u\":\"Cel\",\"v\":23.1},\n"
                  "    {\"n\":\"label\",\"vs\":\"Machine Room\"},\n"
                  "    {\"n\":\"open\",\"vb\":false},\n"
                  "    {\"n\":\"nfv-reader\",\"vd\":\"aGkgCg\"}\n"
                  "  ]"),
        IOCD_REJECT_NONE);
    const char *d = "urn:dev:ow:10e2073a01080063";
    assert_int_equal(f->batch.n_obs, 2);
    assert_int_equal(f->batch.n_events, 2);
    assert_obs(f, 0, d, "temp", 23.1, "Cel", RECEIVED);
    assert_obs(f, 1, d, "open", 0, "", RECEIVED);
    assert_event(f, 0, d, RECEIVED, "urn:dev:ow:10e2073a01080063:label", "label", "vs",
                 "Machine Room", NULL);
    assert_event(f, 1, d, RECEIVED, "urn:dev:ow:10e2073a01080063:nfv-reader", "nfv-reader", "vd",
                 "aGkgCg", NULL);
    /* vb true is 1; a unit given is kept, and carried by events too */
    assert_int_equal(decode(f, "[{\"bn\":\"d:\",\"bu\":\"/\",\"n\":\"on\",\"vb\":true},"
                               "{\"n\":\"mode\",\"vs\":\"eco\"}]"),
                     IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 1);
    assert_obs(f, 0, "d", "on", 1, "/", RECEIVED);
    assert_event(f, 0, "d", RECEIVED, "d:mode", "mode", "vs", "eco", "/");
    fx_free(f);
}

/* §5.1.6 Collection of Resources: the last record keeps the third record's
 * bn and the first record's bt. */
static void test_rfc_5_1_6(void **state)
{
    (void)state;
    struct fx *f = fx_new(default_conf);
    assert_int_equal(decode(f, "[\n"
                               "  {\"bn\":\"2001:db8::2/\",\"bt\":1.320078429e+09,\n"
                               "   \"n\":\"temperature\",\"u\":\"Cel\",\"v\":25.2},\n"
                               "  {\"n\":\"humidity\",\"u\":\"%RH\",\"v\":30},\n"
                               "  {\"bn\":\"2001:db8::1/\",\"n\":\"temperature\",\"u\":\"Cel\",\"v\":12.3},\n"
                               "  {\"n\":\"humidity\",\"u\":\"%RH\",\"v\":67}\n"
                               "]"),
                     IOCD_REJECT_NONE);
    const int64_t t = INT64_C(1320078429000); /* 2011-10-31T16:27:09Z */
    assert_int_equal(f->batch.n_obs, 4);
    assert_obs(f, 0, "2001:db8::2", "temperature", 25.2, "Cel", t);
    assert_obs(f, 1, "2001:db8::2", "humidity", 30, "%RH", t);
    assert_obs(f, 2, "2001:db8::1", "temperature", 12.3, "Cel", t);
    assert_obs(f, 3, "2001:db8::1", "humidity", 67, "%RH", t);
    fx_free(f);
}

/* §5.1.7 Setting an Actuator: a record with only bn, no times; then the
 * two lights (bt, bu "/", t 0.1 s in the future). */
static void test_rfc_5_1_7(void **state)
{
    (void)state;
    struct fx *f = fx_new(default_conf);
    assert_int_equal(decode(f, "[\n"
                               "  {\"bn\":\"urn:dev:ow:10e2073a01080063:\"},\n"
                               "  {\"n\":\"temp\",\"u\":\"Cel\",\"v\":23.1},\n"
                               "  {\"n\":\"heat\",\"u\":\"/\",\"v\":1},\n"
                               "  {\"n\":\"fan\",\"u\":\"/\",\"v\":0}\n"
                               "]"),
                     IOCD_REJECT_NONE);
    const char *d = "urn:dev:ow:10e2073a01080063";
    assert_int_equal(f->batch.n_obs, 3);
    assert_int_equal(partial(f), 0); /* the bn-only record is not a dropped record */
    assert_obs(f, 0, d, "temp", 23.1, "Cel", RECEIVED);
    assert_obs(f, 1, d, "heat", 1, "/", RECEIVED);
    assert_obs(f, 2, d, "fan", 0, "/", RECEIVED);

    const int64_t t = INT64_C(1320078429000);
    assert_int_equal(decode(f, "[\n"
                               "  {\"bt\":1.320078429e+09,\"bu\":\"/\",\"n\":\"2001:db8::3\",\"v\":1},\n"
                               "  {\"n\":\"2001:db8::4\",\"v\":1}\n"
                               "]"),
                     IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 2);
    assert_obs(f, 0, "2001:db8:", "3", 1, "/", t);
    assert_obs(f, 1, "2001:db8:", "4", 1, "/", t);

    assert_int_equal(decode(f, "[\n"
                               "  {\"bt\":1.320078429e+09,\"bu\":\"/\",\"n\":\"2001:db8::3\",\"v\":0.5},\n"
                               "  {\"n\":\"2001:db8::4\",\"v\":0.5},\n"
                               "  {\"n\":\"2001:db8::3\",\"t\":0.1,\"v\":0},\n"
                               "  {\"n\":\"2001:db8::4\",\"t\":0.1,\"v\":0}\n"
                               "]"),
                     IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 4);
    assert_obs(f, 0, "2001:db8:", "3", 0.5, "/", t);
    assert_obs(f, 1, "2001:db8:", "4", 0.5, "/", t);
    assert_obs(f, 2, "2001:db8:", "3", 0, "/", t + 100);
    assert_obs(f, 3, "2001:db8:", "4", 0, "/", t + 100);
    fx_free(f);
}

/* ---- base fields ---- */

static void test_base_value_and_sum(void **state)
{
    (void)state;
    struct fx *f = fx_new(default_conf);
    /* bv + v; bv replaced by a later bv; bs + s with the sum in unit x s */
    assert_int_equal(decode(f, "[{\"bn\":\"meter7:\",\"bv\":230,\"bu\":\"V\",\"n\":\"l1\",\"v\":1.5},"
                               "{\"n\":\"l2\",\"v\":-2},"
                               "{\"bv\":0.25,\"n\":\"l3\",\"v\":0.5},"
                               "{\"n\":\"power\",\"u\":\"W\",\"v\":0.75,\"s\":3600}]"),
                     IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 5);
    assert_obs(f, 0, "meter7", "l1", 231.5, "V", RECEIVED);
    assert_obs(f, 1, "meter7", "l2", 228, "V", RECEIVED);
    assert_obs(f, 2, "meter7", "l3", 0.75, "V", RECEIVED);
    assert_obs(f, 3, "meter7", "power", 1, "W", RECEIVED);
    assert_obs(f, 4, "meter7", "power.sum", 3600, "W.s", RECEIVED);

    /* bs applies to its record and every later one: each has a sum, even
     * without s, and a record with a sum needs no value */
    assert_int_equal(decode(f, "[{\"bn\":\"m:\",\"bs\":1000,\"n\":\"energy\",\"u\":\"W\",\"v\":5},"
                               "{\"n\":\"energy\",\"u\":\"W\",\"s\":20,\"t\":-1},"
                               "{\"n\":\"flow\",\"v\":2},"
                               "{\"n\":\"flag\",\"u\":\"/\",\"s\":1}]"),
                     IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 6);
    assert_obs(f, 0, "m", "energy", 5, "W", RECEIVED);
    assert_obs(f, 1, "m", "energy.sum", 1000, "W.s", RECEIVED);
    assert_obs(f, 2, "m", "energy.sum", 1020, "W.s", RECEIVED - 1000);
    assert_obs(f, 3, "m", "flow", 2, "", RECEIVED);
    assert_obs(f, 4, "m", "flow.sum", 1000, "s", RECEIVED);
    assert_obs(f, 5, "m", "flag.sum", 1001, "s", RECEIVED);

    /* a base unit is overridden by u, and bu may be replaced */
    assert_int_equal(decode(f, "[{\"bn\":\"x/\",\"bu\":\"Cel\",\"n\":\"a\",\"v\":1},"
                               "{\"n\":\"b\",\"u\":\"%\",\"v\":2},{\"bu\":\"K\",\"n\":\"c\",\"v\":3},"
                               "{\"n\":\"d\",\"u\":\"\",\"v\":4}]"),
                     IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 4);
    assert_obs(f, 0, "x", "a", 1, "Cel", RECEIVED);
    assert_obs(f, 1, "x", "b", 2, "%", RECEIVED);
    assert_obs(f, 2, "x", "c", 3, "K", RECEIVED);
    assert_obs(f, 3, "x", "d", 4, "K", RECEIVED); /* empty u: the base unit */
    fx_free(f);
}

/* ---- times ---- */

static void test_time_fractional_and_rounding(void **state)
{
    (void)state;
    struct fx *f = fx_new(default_conf);
    /* bt with fractional seconds and no t */
    assert_int_equal(decode(f, "[{\"bn\":\"d:\",\"bt\":1.276020076001e9,\"n\":\"x\",\"v\":1}]"),
                     IOCD_REJECT_NONE);
    assert_obs(f, 0, "d", "x", 1, "", T_2010);
    /* t alone may be absolute; bt + t is absolute once >= 2**28 */
    assert_int_equal(decode(f, "[{\"n\":\"d:x\",\"t\":1320067464.25,\"v\":1},"
                               "{\"bt\":1320067000,\"n\":\"d:y\",\"t\":464.5,\"v\":2},"
                               "{\"bt\":0,\"n\":\"d:z\",\"t\":268435456,\"v\":3}]"),
                     IOCD_REJECT_NONE);
    assert_obs(f, 0, "d", "x", 1, "", T_2011 + 250);
    assert_obs(f, 1, "d", "y", 2, "", T_2011 + 500);
    assert_obs(f, 2, "d", "z", 3, "", INT64_C(268435456000)); /* 1978-07-04T21:24:16Z */
    /* Rounded to the nearest ms from the double's exact value:
     * 1320067464.0005 is the double 1320067464.000499963..., so ...000 ms
     * (a naive llround(s * 1000) says ...001); 1320067464.0025 is
     * 1320067464.002500057..., so ...003. Exact halves go away from zero. */
    assert_int_equal(decode(f, "[{\"bn\":\"d:\",\"n\":\"a\",\"t\":1320067464.0005,\"v\":1},"
                               "{\"n\":\"b\",\"t\":1320067464.0025,\"v\":1},"
                               "{\"n\":\"c\",\"t\":0.0625,\"v\":1},"
                               "{\"n\":\"e\",\"t\":-0.0625,\"v\":1},"
                               "{\"n\":\"f\",\"t\":-0.0004,\"v\":1}]"),
                     IOCD_REJECT_NONE);
    assert_obs(f, 0, "d", "a", 1, "", T_2011);
    assert_obs(f, 1, "d", "b", 1, "", T_2011 + 3);
    assert_obs(f, 2, "d", "c", 1, "", RECEIVED + 63);
    assert_obs(f, 3, "d", "e", 1, "", RECEIVED - 63);
    assert_obs(f, 4, "d", "f", 1, "", RECEIVED);
    fx_free(f);
}

static void test_time_relative(void **state)
{
    (void)state;
    struct fx *f = fx_new(default_conf);
    f->received = INT64_C(1700000000000);
    /* relative to the receive time: t, bt, and bt + t */
    assert_int_equal(decode(f, "[{\"bn\":\"d:\",\"n\":\"a\",\"t\":-90,\"v\":1},"
                               "{\"n\":\"b\",\"t\":2.5,\"v\":2},"
                               "{\"bt\":-3600,\"n\":\"c\",\"v\":3},"
                               "{\"n\":\"e\",\"t\":1800.001,\"v\":4},"
                               "{\"n\":\"f\",\"t\":268435455,\"v\":5}]"),
                     IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 5);
    assert_obs(f, 0, "d", "a", 1, "", INT64_C(1700000000000) - 90000);
    assert_obs(f, 1, "d", "b", 2, "", INT64_C(1700000000000) + 2500);
    assert_obs(f, 2, "d", "c", 3, "", INT64_C(1700000000000) - 3600000);
    assert_obs(f, 3, "d", "e", 4, "", INT64_C(1700000000000) - 1799999);
    /* just below 2**28: still relative, far in the future (the pipeline
     * then judges the clock skew) */
    assert_obs(f, 4, "d", "f", 5, "", INT64_C(1700000000000) - 3600000 + INT64_C(268435455000));
    fx_free(f);
}

static void test_time_out_of_range(void **state)
{
    (void)state;
    struct fx *f = fx_new(default_conf);
    /* after 9999-12-31, and relative to before 1970: record dropped */
    assert_int_equal(decode(f, "[{\"bn\":\"d:\",\"n\":\"a\",\"t\":253402300800,\"v\":1},"
                               "{\"n\":\"b\",\"t\":-1795341847,\"v\":2},"
                               "{\"n\":\"c\",\"t\":253402300799.999,\"v\":3},"
                               "{\"n\":\"e\",\"t\":-1e300,\"v\":4}]"),
                     IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 1);
    assert_int_equal(partial(f), 3);
    assert_obs(f, 0, "d", "c", 3, "", INT64_C(253402300799999));
    assert_string_equal(f->batch.note_detail,
                        "record 4 dropped: relative time -1.0000000000000001e+300 s is out of range");
    assert_int_equal(decode(f, "[{\"bn\":\"d:\",\"n\":\"a\",\"t\":1e20,\"v\":1}]"),
                     IOCD_REJECT_BAD_TIME);
    assert_string_equal(f->batch.detail,
                        "no usable record; record 1: time 1e+20 s is after 9999");
    fx_free(f);
}

/* ---- names and devices ---- */

static void test_name_split(void **state)
{
    (void)state;
    struct fx *f = fx_new(default_conf);
    /* with bn: the last separator within bn (or right after it); '/' → ':' */
    assert_int_equal(decode(f, "[{\"bn\":\"city/zone-1/st.42/\",\"n\":\"air/pm2.5\",\"u\":\"ug/m3\","
                               "\"v\":12},"
                               "{\"bn\":\"dev1\",\"n\":\"/temp\",\"v\":2},"
                               "{\"bn\":\"a:b\",\"n\":\"c\",\"v\":3}]"),
                     IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 3);
    assert_obs(f, 0, "city:zone-1:st.42", "air:pm2.5", 12, "ug/m3", RECEIVED);
    assert_obs(f, 1, "dev1", "temp", 2, "", RECEIVED);
    assert_obs(f, 2, "a", "bc", 3, "", RECEIVED);
    /* without bn: the last separator of the whole name */
    assert_int_equal(decode(f, "[{\"n\":\"city/zone-1/st.42/air\",\"v\":1},"
                               "{\"n\":\"a.b.c\",\"v\":2},{\"bn\":\"\",\"n\":\"x_y:z-w\",\"v\":3}]"),
                     IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 3);
    assert_obs(f, 0, "city:zone-1:st.42", "air", 1, "", RECEIVED);
    assert_obs(f, 1, "a.b", "c", 2, "", RECEIVED);
    assert_obs(f, 2, "x_y", "z-w", 3, "", RECEIVED);
    /* a record without n: the whole name (trailing separators trimmed) is
     * the device, the metric comes from the unit */
    assert_int_equal(decode(f, "[{\"bn\":\"st-9:\",\"u\":\"m/s\",\"v\":1},{\"u\":\"/\",\"v\":2},"
                               "{\"v\":3},{\"u\":\"%\",\"v\":4},{\"u\":\"1/min\",\"v\":5},"
                               "{\"u\":\"\\u00b0C\",\"v\":6}]"),
                     IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 6);
    assert_obs(f, 0, "st-9", "m_per_s", 1, "m/s", RECEIVED);
    assert_obs(f, 1, "st-9", "ratio", 2, "/", RECEIVED);
    assert_obs(f, 2, "st-9", "value", 3, "", RECEIVED);
    assert_obs(f, 3, "st-9", "pct", 4, "%", RECEIVED);
    assert_obs(f, 4, "st-9", "1_per_min", 5, "1/min", RECEIVED);
    assert_obs(f, 5, "st-9", "__C", 6, "\xc2\xb0" "C", RECEIVED);
    fx_free(f);
}

static void test_name_rejects(void **state)
{
    (void)state;
    struct fx *f = fx_new(default_conf);
    /* bad records are dropped with a note; the good ones are kept */
    assert_int_equal(decode(f, "[{\"bn\":\"dev:\",\"n\":\"ok\",\"v\":1},"
                               "{\"n\":\"bad name\",\"v\":2},"
                               "{\"bn\":\"\",\"v\":3},"
                               "{\"bn\":\"-x:\",\"n\":\"y\",\"v\":4},"
                               "{\"bn\":\"nosep\",\"n\":\"y\",\"v\":5},"
                               "{\"bn\":\"dev:\",\"n\":\"k\\u00e9\",\"v\":6},"
                               "{\"bn\":\"dev:\",\"n\":\"last\",\"v\":7}]"),
                     IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 2);
    assert_obs(f, 0, "dev", "ok", 1, "", RECEIVED);
    assert_obs(f, 1, "dev", "last", 7, "", RECEIVED);
    assert_int_equal(partial(f), 5);
    assert_string_equal(f->batch.note_detail,
                        "record 6 dropped: name 'dev:k?" "?' has characters outside A-Z a-z 0-9 - : . "
                        "/ _");

    /* nothing left: rejected with the first dropped record's reason */
    assert_int_equal(decode(f, "[{\"bn\":\"dev:\",\"n\":\"bad name\",\"v\":2}]"),
                     IOCD_REJECT_BAD_ID);
    assert_string_equal(f->batch.detail,
                        "no usable record; record 1: name 'dev:bad name' has characters outside "
                        "A-Z a-z 0-9 - : . / _");
    assert_int_equal(decode(f, "[{\"v\":1},{\"bn\":\"ok:\",\"n\":\"bad#\",\"v\":2}]"),
                     IOCD_REJECT_MISSING_FIELD);
    assert_string_equal(f->batch.detail, "no usable record; record 1: no name (no bn and no n)");
    assert_int_equal(decode(f, "[{\"n\":\"temperature\",\"v\":1}]"), IOCD_REJECT_MISSING_FIELD);
    assert_string_equal(f->batch.detail,
                        "no usable record; record 1: name 'temperature' has no ':', '/' or '.' "
                        "to split off the device");
    assert_int_equal(decode(f, "[{\"n\":\"_x:y\",\"v\":1}]"), IOCD_REJECT_BAD_ID);
    assert_string_equal(f->batch.detail,
                        "no usable record; record 1: name '_x:y' does not start with a letter or "
                        "digit");
    assert_int_equal(decode(f, "[{\"n\":\"x:\",\"v\":1}]"), IOCD_REJECT_MISSING_FIELD);

    /* ids over 128 bytes */
    char big[600];
    char longseg[140];
    memset(longseg, 'a', 129);
    longseg[129] = '\0';
    snprintf(big, sizeof(big), "[{\"n\":\"%s:m\",\"v\":1}]", longseg);
    assert_int_equal(decode(f, big), IOCD_REJECT_BAD_ID);
    assert_string_equal(f->batch.detail,
                        "no usable record; record 1: device "
                        "'" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" "...' is longer than 128 bytes");
    snprintf(big, sizeof(big), "[{\"n\":\"d:%s\",\"v\":1}]", longseg);
    assert_int_equal(decode(f, big), IOCD_REJECT_BAD_ID);
    /* a 125-byte metric fits, its 129-byte ".sum" does not */
    longseg[125] = '\0';
    snprintf(big, sizeof(big), "[{\"n\":\"d:%s\",\"v\":1},{\"n\":\"d:%s\",\"s\":1}]", longseg,
             longseg);
    assert_int_equal(decode(f, big), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 1);
    assert_int_equal(partial(f), 1);
    assert_string_equal(f->batch.obs[0]->metric, longseg);
    fx_free(f);
}

static void test_device_topic(void **state)
{
    (void)state;
    struct fx *f = fx_new("[adapter s]\ntopic = city/+/senml\ndevice = topic[1]\n");
    /* the whole name (with '/' → ':') is the metric */
    const char *p = "[{\"bn\":\"urn:dev:ow:10e2073a01080063:\",\"n\":\"voltage\",\"u\":\"V\","
                    "\"v\":120.1},{\"bn\":\"a/b/\",\"n\":\"c\",\"v\":1},"
                    "{\"bn\":\"solo\",\"u\":\"%RH\",\"v\":2},{\"bn\":\"solo:\",\"v\":3}]";
    assert_int_equal(decode_t(f, "city/GL-07/senml", p, strlen(p)), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 4);
    assert_obs(f, 0, "GL-07", "urn:dev:ow:10e2073a01080063:voltage", 120.1, "V", RECEIVED);
    assert_obs(f, 1, "GL-07", "a:b:c", 1, "", RECEIVED);
    assert_obs(f, 2, "GL-07", "solo.pctRH", 2, "%RH", RECEIVED);
    assert_obs(f, 3, "GL-07", "solo", 3, "", RECEIVED);
    /* a name without separator is fine here */
    p = "[{\"n\":\"temperature\",\"v\":1}]";
    assert_int_equal(decode_t(f, "city/GL-08/senml", p, strlen(p)), IOCD_REJECT_NONE);
    assert_obs(f, 0, "GL-08", "temperature", 1, "", RECEIVED);
    /* the topic level must exist and be a valid id */
    assert_int_equal(decode_t(f, "city", p, strlen(p)), IOCD_REJECT_MISSING_FIELD);
    assert_string_equal(f->batch.detail, "device: topic has no level 1");
    assert_int_equal(decode_t(f, "city//senml", p, strlen(p)), IOCD_REJECT_BAD_ID);
    assert_string_equal(f->batch.detail, "device: topic level 1 is empty");
    assert_int_equal(decode_t(f, "city/a\x01" "b/senml", p, strlen(p)), IOCD_REJECT_BAD_ID);
    assert_string_equal(f->batch.detail, "device: topic level 1 contains a control character");
    assert_int_equal(decode_t(f, "city/a\xff" "b/senml", p, strlen(p)), IOCD_REJECT_BAD_ID);
    assert_string_equal(f->batch.detail, "device: topic level 1 is not valid UTF-8");
    char topic[200];
    memset(topic, 'x', sizeof(topic) - 1);
    topic[sizeof(topic) - 1] = '\0';
    memcpy(topic, "city/", 5);
    assert_int_equal(decode_t(f, topic, p, strlen(p)), IOCD_REJECT_BAD_ID);
    assert_string_equal(f->batch.detail, "device: topic level 1 is longer than 128 bytes");
    topic[5 + 128] = '\0'; /* exactly 128 bytes */
    assert_int_equal(decode_t(f, topic, p, strlen(p)), IOCD_REJECT_NONE);
    assert_string_equal(f->batch.obs[0]->device, topic + 5);
    /* the same check for CBOR */
    assert_int_equal(decode_t(f, "city", rfc_6_cbor, sizeof(rfc_6_cbor)),
                     IOCD_REJECT_MISSING_FIELD);
    assert_string_equal(f->batch.detail, "device: topic has no level 1");
    fx_free(f);

    f = fx_new("[adapter s]\ndevice = name\ndevice_fallback = topic[2]\n");
    p = "[{\"n\":\"temperature\",\"u\":\"Cel\",\"v\":21.5},{\"n\":\"st/rain\",\"v\":0}]";
    assert_int_equal(decode_t(f, "city/senml/ST-3", p, strlen(p)), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 2);
    assert_obs(f, 0, "ST-3", "temperature", 21.5, "Cel", RECEIVED);
    assert_obs(f, 1, "st", "rain", 0, "", RECEIVED);
    /* no such level: only the records needing it are dropped */
    assert_int_equal(decode_t(f, "city/senml", p, strlen(p)), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 1);
    assert_obs(f, 0, "st", "rain", 0, "", RECEIVED);
    assert_int_equal(partial(f), 1);
    assert_string_equal(f->batch.note_detail,
                        "record 1 dropped: name 'temperature' has no ':', '/' or '.' and "
                        "device_fallback: topic has no level 2");
    p = "[{\"n\":\"temperature\",\"v\":1}]";
    assert_int_equal(decode_t(f, "city/senml/a+b", p, strlen(p)), IOCD_REJECT_BAD_ID);
    fx_free(f);
}

/* ---- version, fields, types ---- */

static void test_version(void **state)
{
    (void)state;
    struct fx *f = fx_new(default_conf);
    assert_int_equal(decode(f, "[{\"bver\":10,\"n\":\"d:a\",\"v\":1},{\"bver\":10,\"n\":\"d:b\","
                               "\"v\":2}]"),
                     IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 2);
    assert_int_equal(decode(f, "[{\"bver\":11,\"n\":\"d:a\",\"v\":1}]"), IOCD_REJECT_MALFORMED);
    assert_string_equal(f->batch.detail, "record 1: SenML version 11 is newer than 10");
    /* a later record's bver > 10 withdraws what came before */
    assert_int_equal(decode(f, "[{\"n\":\"d:a\",\"v\":1},{\"n\":\"x y\",\"v\":1},"
                               "{\"bver\":12,\"n\":\"d:b\",\"v\":1}]"),
                     IOCD_REJECT_MALFORMED);
    assert_string_equal(f->batch.detail, "record 3: SenML version 12 is newer than 10");
    assert_int_equal(decode(f, "[{\"bver\":5,\"n\":\"d:a\",\"v\":1},{\"bver\":6,\"n\":\"d:b\","
                               "\"v\":2}]"),
                     IOCD_REJECT_MALFORMED);
    assert_string_equal(f->batch.detail, "record 2: version 6 differs from the pack's 5");
    assert_int_equal(decode(f, "[{\"bver\":0,\"n\":\"d:a\",\"v\":1}]"), IOCD_REJECT_WRONG_TYPE);
    assert_string_equal(f->batch.detail, "record 1: 'bver' must be a positive integer");
    assert_int_equal(decode(f, "[{\"bver\":5.5,\"n\":\"d:a\",\"v\":1}]"), IOCD_REJECT_WRONG_TYPE);
    assert_int_equal(decode(f, "[{\"bver\":\"5\",\"n\":\"d:a\",\"v\":1}]"), IOCD_REJECT_WRONG_TYPE);
    fx_free(f);
}

static void test_fields(void **state)
{
    (void)state;
    struct fx *f = fx_new(default_conf);
    /* unknown fields are ignored, ut too; fields ending in '_' must be understood */
    assert_int_equal(decode(f, "[{\"n\":\"d:a\",\"v\":1,\"ut\":60,\"foo\":{\"x\":[1]},"
                               "\"bfoo\":2,\"\":3}]"),
                     IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 1);
    assert_obs(f, 0, "d", "a", 1, "", RECEIVED);
    assert_int_equal(decode(f, "[{\"n\":\"d:a\",\"v\":1},{\"n\":\"d:b\",\"v\":1,\"crit_\":1}]"),
                     IOCD_REJECT_MALFORMED);
    assert_string_equal(f->batch.detail,
                        "record 2: field 'crit_' must be understood (ends in '_') and is not "
                        "supported");
    assert_int_equal(decode(f, "[{\"n\":\"d:a\",\"v\":1,\"v\":2}]"), IOCD_REJECT_MALFORMED);
    assert_string_equal(f->batch.detail, "record 1: 'v' given twice");
    /* wrong types reject the message */
    static const struct {
        const char *payload, *detail;
    } wrong[] = {
        {"[{\"n\":\"d:a\",\"v\":\"1\"}]", "record 1: 'v' is a string, not a number"},
        {"[{\"n\":7,\"v\":1}]", "record 1: 'n' is a number, not a string"},
        {"[{\"bn\":null,\"n\":\"d:a\",\"v\":1}]", "record 1: 'bn' is null, not a string"},
        {"[{\"n\":\"d:a\",\"vb\":1}]", "record 1: 'vb' is a number, not a bool"},
        {"[{\"n\":\"d:a\",\"vs\":true}]", "record 1: 'vs' is a bool, not a string"},
        {"[{\"n\":\"d:a\",\"vd\":[]}]", "record 1: 'vd' is an array, not a string"},
        {"[{\"n\":\"d:a\",\"v\":1,\"t\":\"2026-01-01\"}]",
         "record 1: 't' is a string, not a number"},
        {"[{\"n\":\"d:a\",\"v\":1,\"ut\":{}}]", "record 1: 'ut' is an object, not a number"},
        {"[{\"bu\":1,\"n\":\"d:a\",\"v\":1}]", "record 1: 'bu' is a number, not a string"},
    };
    for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
        assert_int_equal(decode(f, wrong[i].payload), IOCD_REJECT_WRONG_TYPE);
        assert_string_equal(f->batch.detail, wrong[i].detail);
    }
    fx_free(f);
}

static void test_record_drops(void **state)
{
    (void)state;
    struct fx *f = fx_new(default_conf);
    assert_int_equal(decode(f, "[{\"bn\":\"d:\",\"n\":\"two\",\"v\":1,\"vs\":\"x\"},"
                               "{\"n\":\"none\",\"u\":\"V\"},"
                               "{\"n\":\"bad-vd\",\"vd\":\"a=\"},"
                               "{\"n\":\"long-unit\",\"u\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                               "aaaaaaaaaaaaaaa\",\"v\":1},"
                               "{\"n\":\"ctl-unit\",\"u\":\"k W\",\"v\":1},"
                               "{\"n\":\"ok\",\"v\":9}]"),
                     IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 1);
    assert_obs(f, 0, "d", "ok", 9, "", RECEIVED);
    assert_int_equal(partial(f), 5);
    assert_string_equal(f->batch.note_detail,
                        "record 5 dropped: unit 'k W' has a blank or control character");
    assert_int_equal(decode(f, "[{\"bn\":\"d:\",\"n\":\"two\",\"v\":1,\"vb\":true}]"),
                     IOCD_REJECT_MALFORMED);
    assert_string_equal(f->batch.detail,
                        "no usable record; record 1: more than one of v, vs, vb, vd");
    assert_int_equal(decode(f, "[{\"bn\":\"d:\",\"n\":\"a\"}]"), IOCD_REJECT_MISSING_FIELD);
    assert_string_equal(f->batch.detail,
                        "no usable record; record 1: no value (v, vs, vb, vd) and no sum");
    /* only base fields: nothing dropped, nothing to store */
    assert_int_equal(decode(f, "[{\"bn\":\"d:\",\"bt\":1}]"), IOCD_REJECT_MISSING_FIELD);
    assert_string_equal(f->batch.detail, "no record has a value (only base fields)");
    fx_free(f);
}

static void test_not_finite(void **state)
{
    (void)state;
    struct fx *f = fx_new(default_conf);
    /* JSON overflows to infinity: that record is dropped */
    assert_int_equal(decode(f, "[{\"bn\":\"d:\",\"n\":\"a\",\"v\":1e999},{\"n\":\"b\",\"v\":2},"
                               "{\"n\":\"c\",\"v\":1e308,\"bv\":1e308},{\"bv\":0,\"n\":\"e\",\"s\":1,"
                               "\"bs\":-1e999}]"),
                     IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 1);
    assert_obs(f, 0, "d", "b", 2, "", RECEIVED);
    assert_int_equal(partial(f), 3);
    assert_string_equal(f->batch.note_detail, "record 4 dropped: sum is not finite");
    assert_int_equal(decode(f, "[{\"bn\":\"d:\",\"n\":\"a\",\"v\":-1e999}]"),
                     IOCD_REJECT_NOT_FINITE);
    assert_string_equal(f->batch.detail, "no usable record; record 1: value is not finite");
    assert_int_equal(decode(f, "[{\"bn\":\"d:\",\"bt\":1e999,\"n\":\"a\",\"v\":1}]"),
                     IOCD_REJECT_NOT_FINITE);
    assert_string_equal(f->batch.detail, "no usable record; record 1: time is not finite");

    /* CBOR can say NaN and infinity outright */
    struct cw w = {{0}, 0};
    cw_head(&w, 4, 4);
    cw_head(&w, 5, 2);
    cw_int(&w, 0), cw_text(&w, "d:nan");
    cw_int(&w, 2), cw_bytes(&w, "\xf9\x7e\x00", 3); /* half NaN */
    cw_head(&w, 5, 2);
    cw_int(&w, 0), cw_text(&w, "d:inf");
    cw_int(&w, 2), cw_bytes(&w, "\xfa\x7f\x80\x00\x00", 5); /* single +inf */
    cw_head(&w, 5, 2);
    cw_int(&w, 0), cw_text(&w, "d:ninf");
    cw_int(&w, 2), cw_double(&w, -INFINITY);
    cw_head(&w, 5, 2);
    cw_int(&w, 0), cw_text(&w, "d:ok");
    cw_int(&w, 2), cw_bytes(&w, "\xf9\xfc\x00", 3); /* half -inf ... */
    assert_int_equal(decode_bin(f, w.b, w.n), IOCD_REJECT_NOT_FINITE);
    assert_string_equal(f->batch.detail, "no usable record; record 1: value is not finite");
    w.n -= 3;
    cw_bytes(&w, "\xf9\xc4\x00", 3); /* ... and half -4.0 */
    assert_int_equal(decode_bin(f, w.b, w.n), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 1);
    assert_obs(f, 0, "d", "ok", -4.0, "", RECEIVED);
    assert_int_equal(partial(f), 3);
    fx_free(f);
}

/* ---- CBOR encodings ---- */

static void test_cbor_numbers(void **state)
{
    (void)state;
    struct fx *f = fx_new(default_conf);
    struct cw w = {{0}, 0};
    cw_head(&w, 4, 8);
    /* integers, big and negative; bt as an integer */
    cw_head(&w, 5, 4);
    cw_int(&w, -2), cw_text(&w, "dev:");
    cw_int(&w, -3), cw_int(&w, 1320067464);
    cw_int(&w, 0), cw_text(&w, "u64");
    cw_int(&w, 2), cw_head(&w, 0, UINT64_MAX);
    cw_head(&w, 5, 2);
    cw_int(&w, 0), cw_text(&w, "n64");
    cw_int(&w, 2), cw_head(&w, 1, UINT64_MAX); /* -2**64 */
    cw_head(&w, 5, 2);
    cw_int(&w, 0), cw_text(&w, "neg");
    cw_int(&w, 2), cw_int(&w, -40);
    /* single float, half float subnormal */
    cw_head(&w, 5, 2);
    cw_int(&w, 0), cw_text(&w, "f32");
    cw_int(&w, 2), cw_bytes(&w, "\xfa\x3f\xc0\x00\x00", 5); /* 1.5f */
    cw_head(&w, 5, 2);
    cw_int(&w, 0), cw_text(&w, "f16");
    cw_int(&w, 2), cw_bytes(&w, "\xf9\x00\x01", 3); /* 2**-24 */
    /* bool */
    cw_head(&w, 5, 2);
    cw_int(&w, 0), cw_text(&w, "b");
    cw_int(&w, 4), cw_byte(&w, 0xf5);
    /* a sum as a decimal fraction 1e(2**64-1): infinite, dropped */
    cw_head(&w, 5, 2);
    cw_int(&w, 0), cw_text(&w, "huge");
    cw_int(&w, 5), cw_head(&w, 6, 4), cw_head(&w, 4, 2), cw_head(&w, 0, UINT64_MAX),
        cw_int(&w, 1);
    /* decimal fractions (tag 4): t = 1276020076001e-3 s after bt = 0, v = 2731e-1 */
    cw_head(&w, 5, 4);
    cw_int(&w, -3), cw_int(&w, 0);
    cw_int(&w, 0), cw_text(&w, "dec");
    cw_int(&w, 6), cw_head(&w, 6, 4), cw_head(&w, 4, 2), cw_int(&w, -3),
        cw_int(&w, INT64_C(1276020076001));
    cw_int(&w, 2), cw_head(&w, 6, 4), cw_head(&w, 4, 2), cw_int(&w, -1), cw_int(&w, 2731);
    assert_int_equal(decode_bin(f, w.b, w.n), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 7);
    assert_obs(f, 0, "dev", "u64", 18446744073709551616.0, "", T_2011);
    assert_obs(f, 1, "dev", "n64", -18446744073709551616.0, "", T_2011);
    assert_obs(f, 2, "dev", "neg", -40, "", T_2011);
    assert_obs(f, 3, "dev", "f32", 1.5, "", T_2011);
    assert_obs(f, 4, "dev", "f16", ldexp(1, -24), "", T_2011);
    assert_obs(f, 5, "dev", "b", 1, "", T_2011);
    assert_obs(f, 6, "dev", "dec", 273.1, "", T_2010);
    assert_int_equal(partial(f), 1);
    assert_string_equal(f->batch.note_detail, "record 7 dropped: sum is not finite");
    fx_free(f);
}

static void test_cbor_structure(void **state)
{
    (void)state;
    struct fx *f = fx_new(default_conf);
    /* indefinite array, map and strings; a byte string vd; string keys and
     * unknown integer keys ignored */
    struct cw w = {{0}, 0};
    cw_byte(&w, 0x9f);
    cw_byte(&w, 0xbf);
    cw_int(&w, -2), cw_byte(&w, 0x7f), cw_text(&w, "urn:dev:"), cw_text(&w, "x1:"),
        cw_byte(&w, 0xff);
    cw_int(&w, 0), cw_text(&w, "temp");
    cw_text(&w, "v"), cw_text(&w, "ignored");
    cw_int(&w, 99), cw_head(&w, 4, 1), cw_int(&w, 1);
    cw_int(&w, -9), cw_head(&w, 5, 0);
    cw_int(&w, 1), cw_text(&w, "Cel");
    cw_int(&w, 2), cw_double(&w, 21.5);
    cw_byte(&w, 0xff);
    cw_head(&w, 5, 2);
    cw_int(&w, 0), cw_text(&w, "raw");
    cw_int(&w, 8), cw_byte(&w, 0x5f), cw_head(&w, 2, 2), cw_bytes(&w, "hi", 2),
        cw_head(&w, 2, 2), cw_bytes(&w, " \n", 2), cw_byte(&w, 0xff);
    cw_head(&w, 5, 2);
    cw_int(&w, 0), cw_text(&w, "txt");
    cw_int(&w, 3), cw_text(&w, "caf\xc3\xa9");
    cw_byte(&w, 0xff);
    assert_int_equal(decode_bin(f, w.b, w.n), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 1);
    assert_int_equal(f->batch.n_events, 2);
    assert_obs(f, 0, "urn:dev:x1", "temp", 21.5, "Cel", RECEIVED);
    assert_event(f, 0, "urn:dev:x1", RECEIVED, "urn:dev:x1:raw", "raw", "vd", "aGkgCg", NULL);
    assert_event(f, 1, "urn:dev:x1", RECEIVED, "urn:dev:x1:txt", "txt", "vs", "caf\xc3\xa9", NULL);

    /* '_' string key; wrong types; bignum mantissa; bver not a uint */
    static const struct {
        const char *hex;
        enum iocd_reject r;
        const char *detail;
    } bad[] = {
        {"81a20063643a61626b5f01", IOCD_REJECT_MALFORMED,
         "record 1: field 'k_' must be understood (ends in '_') and is not supported"},
        {"81a10001", IOCD_REJECT_WRONG_TYPE,
         "record 1: 'n' is an integer, not a text string"},
        {"81a20064643a6162026131", IOCD_REJECT_WRONG_TYPE,
         "record 1: 'v' is a text string, not a number"},
        {"81a20064643a616202c48220c24101", IOCD_REJECT_WRONG_TYPE,
         "record 1: 'v' is a tagged item, not a number"},
        {"81a20064643a616202c101", IOCD_REJECT_WRONG_TYPE,
         "record 1: 'v' is a tagged item, not a number"},
        {"81a320000063643a610201", IOCD_REJECT_WRONG_TYPE,
         "record 1: 'bver' must be a positive integer"},
        {"81a320f93c000063643a610201", IOCD_REJECT_WRONG_TYPE,
         "record 1: 'bver' must be an unsigned integer, not a simple value or float"},
        {"81a30064643a6162080104f6", IOCD_REJECT_WRONG_TYPE,
         "record 1: 'vd' is an integer, not a byte string"},
        {"81a20064643a616204f6", IOCD_REJECT_WRONG_TYPE,
         "record 1: 'vb' is a simple value or float, not a bool"},
        {"81a20064643a6162036261ff", IOCD_REJECT_MALFORMED, "record 1: 'vs' is not valid UTF-8"},
        {"81a20063643a61036100", IOCD_REJECT_MALFORMED, "record 1: 'vs' contains a NUL byte"},
        {"81a20064643a61610201a0", IOCD_REJECT_MALFORMED,
         "not valid CBOR (junk after the pack at byte 10)"},
        {"81a20064643a616102", IOCD_REJECT_MALFORMED,
         "not well-formed CBOR (truncated, reserved or nested deeper than 64)"},
        {"8101", IOCD_REJECT_MALFORMED, "record 1: is an integer, not a map"},
        {"a0", IOCD_REJECT_MALFORMED,
         "neither a JSON array ('[') nor a CBOR array (first byte 0xa0)"},
        {"80", IOCD_REJECT_MISSING_FIELD, "the pack has no records"},
        {"9f ff", IOCD_REJECT_MISSING_FIELD, "the pack has no records"},
        {"81a20064643a61611c", IOCD_REJECT_MALFORMED,
         "not well-formed CBOR (truncated, reserved or nested deeper than 64)"},
        {"81a20064643a616102f817", IOCD_REJECT_MALFORMED,
         "not well-formed CBOR (truncated, reserved or nested deeper than 64)"},
        {"81a20064643a6161027f6161", IOCD_REJECT_MALFORMED,
         "not well-formed CBOR (truncated, reserved or nested deeper than 64)"},
        {"81a20064643a6161027f01ff", IOCD_REJECT_MALFORMED,
         "not well-formed CBOR (truncated, reserved or nested deeper than 64)"},
        {"9b0000000100000000", IOCD_REJECT_MALFORMED,
         "not well-formed CBOR (truncated, reserved or nested deeper than 64)"},
        {"81ff", IOCD_REJECT_MALFORMED,
         "not well-formed CBOR (truncated, reserved or nested deeper than 64)"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint8_t buf[64];
        size_t n = 0;
        for (const char *h = bad[i].hex; *h;) {
            if (*h == ' ') {
                h++;
                continue;
            }
            unsigned v;
            assert_int_equal(sscanf(h, "%2x", &v), 1);
            buf[n++] = (uint8_t)v;
            h += 2;
        }
        enum iocd_reject r = decode_bin(f, buf, n);
        if (r != bad[i].r || strcmp(f->batch.detail, bad[i].detail) != 0)
            fail_msg("case %zu (%s): got %s '%s'", i, bad[i].hex, iocd_reject_name(r),
                     f->batch.detail);
    }

    /* nesting: 64 levels inside an unknown field are fine, 70 are not */
    for (int depth = 60; depth <= 70; depth += 10) {
        w.n = 0;
        cw_head(&w, 4, 1);
        cw_head(&w, 5, 3);
        cw_int(&w, 0), cw_text(&w, "d:a");
        cw_int(&w, 2), cw_int(&w, 1);
        cw_text(&w, "deep");
        for (int i = 0; i < depth; i++)
            cw_head(&w, 4, 1);
        cw_int(&w, 0);
        assert_int_equal(decode_bin(f, w.b, w.n),
                         depth == 60 ? IOCD_REJECT_NONE : IOCD_REJECT_MALFORMED);
    }
    fx_free(f);
}

/* ---- format detection and top-level rejects ---- */

static void test_encoding(void **state)
{
    (void)state;
    struct fx *f = fx_new(default_conf);
    /* auto: blanks before '[' are JSON; trailing blanks and NULs allowed */
    const char p[] = " \r\n\t[{\"n\":\"d:a\",\"v\":1}] \n\0";
    assert_int_equal(decode_t(f, "t", p, sizeof(p) - 1), IOCD_REJECT_NONE);
    assert_obs(f, 0, "d", "a", 1, "", RECEIVED);
    static const struct {
        const char *payload;
        enum iocd_reject r;
        const char *detail;
    } bad[] = {
        {"", IOCD_REJECT_MALFORMED, "empty payload"},
        {"[{\"n\":\"d:a\",\"v\":1}", IOCD_REJECT_MALFORMED, "not valid JSON (at byte 17)"},
        {"[{\"n\":\"d:a\",\"v\":1}] x", IOCD_REJECT_MALFORMED,
         "not valid JSON (junk after the value at byte 20)"},
        {"{\"n\":\"d:a\",\"v\":1}", IOCD_REJECT_MALFORMED,
         "neither a JSON array ('[') nor a CBOR array (first byte 0x7b)"},
        {"[]", IOCD_REJECT_MISSING_FIELD, "the pack has no records"},
        {"[1]", IOCD_REJECT_MALFORMED, "record 1: is a number, not an object"},
        {"[{\"n\":\"d:a\",\"v\":1},[]]", IOCD_REJECT_MALFORMED,
         "record 2: is an array, not an object"},
        {"[{\"n\":\"d:a\",\"vs\":\"\xff\"}]", IOCD_REJECT_MALFORMED,
         "record 1: 'vs' is not valid UTF-8"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        enum iocd_reject r = decode(f, bad[i].payload);
        if (r != bad[i].r || strcmp(f->batch.detail, bad[i].detail) != 0)
            fail_msg("case %zu: got %s '%s'", i, iocd_reject_name(r), f->batch.detail);
    }
    fx_free(f);

    f = fx_new("[adapter s]\nencoding = json\n");
    assert_int_equal(decode(f, "{\"n\":\"d:a\",\"v\":1}"), IOCD_REJECT_MALFORMED);
    assert_string_equal(f->batch.detail, "payload is JSON an object, not an array");
    assert_int_equal(decode_bin(f, rfc_6_cbor, sizeof(rfc_6_cbor)), IOCD_REJECT_MALFORMED);
    assert_int_equal(decode(f, rfc_5_1_2), IOCD_REJECT_NONE);
    fx_free(f);

    f = fx_new("[adapter s]\nencoding = cbor\n");
    assert_int_equal(decode(f, rfc_5_1_2), IOCD_REJECT_MALFORMED);
    assert_string_equal(f->batch.detail,
                        "not well-formed CBOR (truncated, reserved or nested deeper than 64)");
    assert_int_equal(decode_bin(f, (const uint8_t *)"\xa0", 1), IOCD_REJECT_MALFORMED);
    assert_string_equal(f->batch.detail, "payload is CBOR a map, not an array");
    fx_free(f);
}

/* ---- config ---- */

static void test_config(void **state)
{
    (void)state;
    /* defaults: no key needed, and every key read is marked used */
    struct fx *f = fx_new("[adapter s]\ntopic = a/#\nformat = senml\nencoding = auto\n"
                          "device = name\ndevice_fallback = topic[1]\n");
    for (size_t i = 0; i < f->ini.sections[0].n_entries; i++) {
        const struct iocd_ini_entry *e = &f->ini.sections[0].entries[i];
        if (strcmp(e->key, "topic") != 0 && strcmp(e->key, "format") != 0)
            assert_true(e->used);
    }
    fx_free(f);

    static const struct {
        const char *text, *msg;
    } bad[] = {
        {"[adapter s]\nencoding = xml\n",
         "test.conf:2: [adapter s] encoding: expected auto, json or cbor"},
        {"[adapter s]\n\ndevice = $.id\n",
         "test.conf:3: [adapter s] device: expected name, or topic[N] with N a topic level "
         "from 0 to 255"},
        {"[adapter s]\ndevice = topic[256]\n",
         "test.conf:2: [adapter s] device: expected name, or topic[N] with N a topic level "
         "from 0 to 255"},
        {"[adapter s]\ndevice = topic[1]\ndevice_fallback = topic[2]\n",
         "test.conf:3: [adapter s] device_fallback: has no effect with device = topic[N] (only "
         "with device = name)"},
        {"[adapter s]\ndevice_fallback = name\n",
         "test.conf:2: [adapter s] device_fallback: expected topic[N] with N a topic level from "
         "0 to 255"},
        {"[adapter s]\ndevice_fallback = topic[x]\n",
         "test.conf:2: [adapter s] device_fallback: expected topic[N] with N a topic level from "
         "0 to 255"},
        {"[adapter s]\ndevice = topic[]\n",
         "test.conf:2: [adapter s] device: expected name, or topic[N] with N a topic level "
         "from 0 to 255"},
        {"[adapter s]\ndevice = topic[1\n",
         "test.conf:2: [adapter s] device: expected name, or topic[N] with N a topic level "
         "from 0 to 255"},
        {"[adapter s]\ndevice = topic[1]x\n",
         "test.conf:2: [adapter s] device: expected name, or topic[N] with N a topic level "
         "from 0 to 255"},
        {"[adapter s]\ndevice = Name\n",
         "test.conf:2: [adapter s] device: expected name, or topic[N] with N a topic level "
         "from 0 to 255"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct fx g;
        struct iocd_error err = {{0}};
        assert_int_equal(fx_create(&g, bad[i].text, &err), -1);
        assert_string_equal(err.msg, bad[i].msg);
        iocd_arena_free(&g.arena);
        iocd_ini_free(&g.ini);
    }
    /* a duplicate key is refused by iocd_ini_get, with its line */
    struct fx g;
    struct iocd_error err = {{0}};
    assert_int_equal(fx_create(&g, "[adapter s]\nencoding = json\nencoding = cbor\n", &err), -1);
    assert_non_null(strstr(err.msg, "test.conf:3:"));
    iocd_arena_free(&g.arena);
    iocd_ini_free(&g.ini);
    /* an unknown key is left unused for the core to report */
    f = fx_new("[adapter s]\nmetric.x = y\n");
    assert_false(f->ini.sections[0].entries[0].used);
    fx_free(f);
}

/* The arena limit turns into no_memory, never a crash or a partial batch. */
static void test_no_memory(void **state)
{
    (void)state;
    struct fx *f = fx_new(default_conf);
    iocd_arena_free(&f->arena);
    iocd_arena_init(&f->arena, 2048);
    char p[8192];
    size_t off = (size_t)snprintf(p, sizeof(p), "[");
    for (int i = 0; i < 100; i++)
        off += (size_t)snprintf(p + off, sizeof(p) - off, "%s{\"n\":\"dev:m%d\",\"v\":%d}",
                                i ? "," : "", i, i);
    snprintf(p + off, sizeof(p) - off, "]");
    assert_int_equal(decode(f, p), IOCD_REJECT_NO_MEMORY);
    assert_string_equal(f->batch.detail, "decode needs more memory than the arena allows");
    fx_free(f);
}

/* Every arena limit gives either the whole result or no_memory with
 * nothing emitted (decode_t checks the withdrawal). */
static void sweep(const char *conf, const char *topic, const void *payload, size_t len)
{
    struct fx *f = fx_new(conf);
    assert_int_equal(decode_t(f, topic, payload, len), IOCD_REJECT_NONE);
    size_t n_obs = f->batch.n_obs, n_events = f->batch.n_events;
    unsigned notes = partial(f);
    int full = 0, nomem = 0;
    for (size_t limit = 16; limit <= 16384; limit += 16) {
        iocd_arena_free(&f->arena);
        iocd_arena_init(&f->arena, limit);
        enum iocd_reject r = decode_t(f, topic, payload, len);
        if (r == IOCD_REJECT_NONE) {
            assert_int_equal(f->batch.n_obs, n_obs);
            assert_int_equal(f->batch.n_events, n_events);
            assert_int_equal(partial(f), notes);
            full++;
        } else {
            assert_int_equal(r, IOCD_REJECT_NO_MEMORY);
            if (strcmp(f->batch.detail, "decode needs more memory than the arena allows") != 0 &&
                strcmp(f->batch.detail, "device: out of memory") != 0)
                fail_msg("limit %zu: %s", limit, f->batch.detail);
            nomem++;
        }
    }
    assert_true(full > 0 && nomem > 0);
    fx_free(f);
}

static void test_no_memory_sweep(void **state)
{
    (void)state;
    const char *j = "[{\"bn\":\"urn:dev:ow:10e2073a01080063:\",\"bs\":5,\"n\":\"temp\","
                    "\"u\":\"Cel\",\"v\":23.1},{\"n\":\"label\",\"vs\":\"Machine Room\",\"u\":\"x\"},"
                    "{\"n\":\"open\",\"vb\":false},{\"n\":\"nfv-reader\",\"vd\":\"aGkgCg\"},"
                    "{\"bn\":\"st\",\"u\":\"%RH\",\"v\":1},{\"n\":\"bad name\",\"v\":1},"
                    "{\"bn\":\"\",\"n\":\"nosep\",\"v\":1}]";
    sweep(default_conf, "city/senml/gw1", j, strlen(j));
    sweep("[adapter s]\ndevice_fallback = topic[2]\n", "city/senml/gw1", j, strlen(j));
    sweep("[adapter s]\ndevice = topic[2]\n", "city/senml/gw1", j, strlen(j));
    sweep(default_conf, "city/senml/gw1", rfc_6_cbor, sizeof(rfc_6_cbor));
    struct cw w = {{0}, 0};
    cw_byte(&w, 0x9f);
    cw_byte(&w, 0xbf);
    cw_int(&w, -2), cw_byte(&w, 0x7f), cw_text(&w, "urn:dev:"), cw_text(&w, "x1:"),
        cw_byte(&w, 0xff);
    cw_int(&w, 0), cw_text(&w, "temp");
    cw_text(&w, "ext"), cw_text(&w, "ignored");
    cw_int(&w, 3), cw_byte(&w, 0x7f), cw_text(&w, "a"), cw_text(&w, "b"), cw_byte(&w, 0xff);
    cw_byte(&w, 0xff);
    cw_head(&w, 5, 2);
    cw_int(&w, 0), cw_text(&w, "raw");
    cw_int(&w, 8), cw_byte(&w, 0x5f), cw_head(&w, 2, 2), cw_bytes(&w, "hi", 2), cw_byte(&w, 0xff);
    cw_head(&w, 5, 2);
    cw_int(&w, 0), cw_text(&w, "raw2");
    cw_int(&w, 8), cw_head(&w, 2, 5), cw_bytes(&w, "hello", 5);
    cw_byte(&w, 0xff);
    sweep(default_conf, "city/senml/gw1", w.b, w.n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc_5_1_1),
        cmocka_unit_test(test_rfc_5_1_2),
        cmocka_unit_test(test_rfc_5_1_2_times),
        cmocka_unit_test(test_rfc_6_cbor),
        cmocka_unit_test(test_rfc_5_1_3),
        cmocka_unit_test(test_rfc_5_1_4),
        cmocka_unit_test(test_rfc_5_1_5),
        cmocka_unit_test(test_rfc_5_1_6),
        cmocka_unit_test(test_rfc_5_1_7),
        cmocka_unit_test(test_base_value_and_sum),
        cmocka_unit_test(test_time_fractional_and_rounding),
        cmocka_unit_test(test_time_relative),
        cmocka_unit_test(test_time_out_of_range),
        cmocka_unit_test(test_name_split),
        cmocka_unit_test(test_name_rejects),
        cmocka_unit_test(test_device_topic),
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_record_drops),
        cmocka_unit_test(test_not_finite),
        cmocka_unit_test(test_cbor_numbers),
        cmocka_unit_test(test_cbor_structure),
        cmocka_unit_test(test_encoding),
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_no_memory),
        cmocka_unit_test(test_no_memory_sweep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
