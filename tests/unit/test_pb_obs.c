/* tests/unit/test_pb_obs.c — the hand-written Batch encoding (daemon/live/pb_obs.c)
 * against protobuf-c: the same bytes for every field's edge cases (zero,
 * -0.0, negative times, NULL and empty strings, a 200-byte string, labels
 * with empty keys or values, a location at 0/0, every quality, a
 * correction, a state, an observation over 127 bytes, a batch of 70), a
 * buffer one byte short, and for 20,000
 * pseudo-random batches (some sharing the strings of the observation
 * before, as a message's do); and the cases it leaves to protobuf-c. */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/live/pb_obs.h"

/* Packs obs[0..n) both ways; the bytes must be equal, and must decode
 * back to what went in. */
static void assert_same(Ioc__V1__Observation **obs, size_t n)
{
    assert_true(iocd_pb_obs_batch_supported(obs, n));
    Ioc__V1__Batch b = IOC__V1__BATCH__INIT;
    b.n_observations = n;
    b.observations = obs;
    size_t want_len = protobuf_c_message_get_packed_size(&b.base);
    uint8_t *want = malloc(want_len + 1), *got = malloc(want_len + 16);
    assert_non_null(want);
    assert_non_null(got);
    assert_int_equal(protobuf_c_message_pack(&b.base, want), want_len);
    memset(got, 0xee, want_len + 16);
    if (want_len) { /* one byte short: the size, nothing written */
        assert_int_equal(iocd_pb_obs_batch_pack(obs, n, got, want_len - 1), want_len);
        assert_int_equal(got[0], 0xee);
    }
    assert_int_equal(iocd_pb_obs_batch_pack(obs, n, got, want_len), want_len);
    assert_memory_equal(got, want, want_len);
    assert_int_equal(got[want_len], 0xee); /* nothing written past the size */
    Ioc__V1__Batch *back = ioc__v1__batch__unpack(NULL, want_len, got);
    assert_non_null(back);
    assert_int_equal(back->n_observations, n);
    for (size_t i = 0; i < n; i++) {
        /* -0.0 is left out, as protobuf-c does, and reads back as 0. */
        assert_true(back->observations[i]->value == obs[i]->value);
        assert_int_equal(back->observations[i]->observed_ms, obs[i]->observed_ms);
        assert_int_equal(back->observations[i]->n_labels, obs[i]->n_labels);
    }
    ioc__v1__batch__free_unpacked(back, NULL);
    free(want);
    free(got);
}

static void test_empty_batch(void **state)
{
    (void)state;
    assert_int_equal(iocd_pb_obs_batch_pack(NULL, 0, NULL, 0), 0);
    Ioc__V1__Observation o = IOC__V1__OBSERVATION__INIT, *p = &o;
    assert_same(&p, 1); /* every field at its default: an empty observation */
    uint8_t two[2];
    assert_int_equal(iocd_pb_obs_batch_pack(&p, 1, two, sizeof(two)), 2);
    assert_int_equal(two[0], 0x0a);
    assert_int_equal(two[1], 0);
}

static void test_typical(void **state)
{
    (void)state;
    Ioc__V1__Observation o[10], *p[10];
    static const char *metrics[10] = {"pm25", "pm10", "co", "no2", "so2",
                                      "o3", "temp", "hum", "pres", "noise"};
    for (int i = 0; i < 10; i++) {
        ioc__v1__observation__init(&o[i]);
        o[i].source = "aq";
        o[i].device = "GL-AQ0042";
        o[i].metric = (char *)metrics[i];
        o[i].unit = "ug/m3";
        o[i].value = 12.25 * i;
        o[i].observed_ms = 1796663587000 + i;
        o[i].received_ms = 1796663587479;
        p[i] = &o[i];
    }
    assert_same(p, 10);
}

/* More observations than the encoder keeps lengths for (64), each over
 * 127 bytes (a two-byte length). */
static void test_large_batch(void **state)
{
    (void)state;
    enum { N = 70 };
    static char dev[N][160];
    Ioc__V1__Observation o[N], *p[N];
    for (int i = 0; i < N; i++) {
        memset(dev[i], 'a' + i % 26, 150);
        dev[i][150] = '\0';
        ioc__v1__observation__init(&o[i]);
        o[i].source = "aq";
        o[i].device = dev[i];
        o[i].metric = i % 2 ? "pm25" : "state";
        o[i].value = i * 0.5;
        o[i].observed_ms = 1796663587000 + i;
        p[i] = &o[i];
    }
    assert_same(p, N);
}

static void test_edges(void **state)
{
    (void)state;
    char long_str[201];
    memset(long_str, 'x', 200);
    long_str[200] = '\0';
    Ioc__V1__Observation__LabelsEntry e[3] = {IOC__V1__OBSERVATION__LABELS_ENTRY__INIT,
                                              IOC__V1__OBSERVATION__LABELS_ENTRY__INIT,
                                              IOC__V1__OBSERVATION__LABELS_ENTRY__INIT};
    e[0].key = "lane";
    e[0].value = "3";
    e[1].key = "";
    e[1].value = "only-value";
    e[2].key = "only-key";
    e[2].value = NULL;
    Ioc__V1__Observation__LabelsEntry *ep[3] = {&e[0], &e[1], &e[2]};
    Ioc__V1__Location loc = IOC__V1__LOCATION__INIT;
    static const double values[] = {0.0, -0.0, 1.0, -1.5, DBL_MAX, -DBL_MAX, DBL_MIN,
                                    4.9406564584124654e-324, 9007199254740991.0, 0.1 + 0.2};
    static const int64_t times[] = {0, 1, -1, 127, 128, INT64_MAX, INT64_MIN, 1796663587479};
    for (size_t v = 0; v < sizeof(values) / sizeof(values[0]); v++) {
        for (size_t t = 0; t < sizeof(times) / sizeof(times[0]); t++) {
            Ioc__V1__Observation o = IOC__V1__OBSERVATION__INIT, *p = &o;
            o.source = v % 2 ? "" : "src";
            o.device = t % 3 == 0 ? NULL : long_str;
            o.metric = "m";
            o.value = values[v];
            o.unit = t % 2 ? "" : "°C";
            o.observed_ms = times[t];
            o.received_ms = times[(t + 3) % 8];
            o.n_labels = (v + t) % 4;
            o.labels = o.n_labels ? ep : NULL;
            loc.lat = (v % 3 == 0) ? 0.0 : 13.98;
            loc.lon = (t % 3 == 0) ? 0.0 : 108.0;
            o.location = (v + t) % 5 == 0 ? NULL : &loc;
            o.quality = (Ioc__V1__Quality)((v + t) % 4);
            o.correction = (t % 2) == 1;
            o.state = v % 4 == 3 ? "occupied" : (v % 4 == 2 ? "" : NULL);
            assert_same(&p, 1);
        }
    }
}

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static char *rnd_str(uint64_t *s, char *buf, size_t cap)
{
    size_t kind = rnd(s) % 5;
    if (kind == 0)
        return NULL;
    size_t n = kind == 1 ? 0 : rnd(s) % (kind == 4 ? cap - 1 : 12);
    for (size_t i = 0; i < n; i++)
        buf[i] = (char)('a' + rnd(s) % 26);
    buf[n] = '\0';
    return buf;
}

static double rnd_double(uint64_t *s)
{
    uint64_t bits = rnd(s);
    double d;
    memcpy(&d, &bits, sizeof(d));
    if (isnan(d) || rnd(s) % 4 == 0)
        d = (double)(int64_t)(rnd(s) % 2001) - 1000.0; /* integers, zero among them */
    return d;
}

static void test_random(void **state)
{
    (void)state;
    uint64_t s = 0x9e3779b97f4a7c15u;
    enum { MAXN = 6 };
    static char strs[MAXN][8][300];
    for (int round = 0; round < 20000; round++) {
        Ioc__V1__Observation o[MAXN], *p[MAXN];
        Ioc__V1__Observation__LabelsEntry e[MAXN][3], *ep[MAXN][3];
        Ioc__V1__Location loc[MAXN];
        size_t n = rnd(&s) % (MAXN + 1);
        for (size_t i = 0; i < n; i++) {
            ioc__v1__observation__init(&o[i]);
            o[i].source = rnd_str(&s, strs[i][0], 300);
            o[i].device = rnd_str(&s, strs[i][1], 300);
            o[i].metric = rnd_str(&s, strs[i][2], 300);
            o[i].unit = rnd_str(&s, strs[i][3], 300);
            /* The strings of the one before, shared (a message's source and
             * device, a section's unit): their lengths are carried. */
            if (i > 0 && rnd(&s) % 2) {
                o[i].source = o[i - 1].source;
                o[i].device = o[i - 1].device;
                if (rnd(&s) % 2)
                    o[i].unit = o[i - 1].unit;
            }
            o[i].state = rnd_str(&s, strs[i][4], 40);
            o[i].value = rnd_double(&s);
            o[i].observed_ms = rnd(&s) % 3 ? (int64_t)(rnd(&s) >> (rnd(&s) % 64)) : 0;
            o[i].received_ms = rnd(&s) % 3 ? -(int64_t)(rnd(&s) % 100000) : 0;
            o[i].n_labels = rnd(&s) % 4;
            for (size_t k = 0; k < o[i].n_labels; k++) {
                ioc__v1__observation__labels_entry__init(&e[i][k]);
                e[i][k].key = rnd_str(&s, strs[i][5 + k], 300);
                e[i][k].value = o[i].metric;
                ep[i][k] = &e[i][k];
            }
            o[i].labels = ep[i];
            ioc__v1__location__init(&loc[i]);
            loc[i].lat = rnd(&s) % 2 ? rnd_double(&s) : 0;
            loc[i].lon = rnd(&s) % 2 ? rnd_double(&s) : 0;
            o[i].location = rnd(&s) % 2 ? &loc[i] : NULL;
            o[i].quality = (Ioc__V1__Quality)(rnd(&s) % 4);
            o[i].correction = rnd(&s) % 2;
            p[i] = &o[i];
        }
        assert_same(p, n);
    }
}

/* What only protobuf-c repacks: unknown fields of a decoded message. */
static void test_unsupported(void **state)
{
    (void)state;
    Ioc__V1__Observation o = IOC__V1__OBSERVATION__INIT, *p = &o;
    o.metric = "m";
    assert_true(iocd_pb_obs_batch_supported(&p, 1));
    /* Field 99, varint 1, as a newer publisher might send it. */
    static const uint8_t wire[] = {0x1a, 0x01, 'm', 0x98, 0x06, 0x01};
    Ioc__V1__Observation *u = ioc__v1__observation__unpack(NULL, sizeof(wire), wire);
    assert_non_null(u);
    assert_int_equal(u->base.n_unknown_fields, 1);
    assert_false(iocd_pb_obs_batch_supported(&u, 1));
    Ioc__V1__Observation *two[2] = {p, u};
    assert_false(iocd_pb_obs_batch_supported(two, 2));
    ioc__v1__observation__free_unpacked(u, NULL);
    Ioc__V1__Observation__LabelsEntry *none = NULL;
    o.n_labels = 1;
    o.labels = &none;
    assert_false(iocd_pb_obs_batch_supported(&p, 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_batch),
        cmocka_unit_test(test_typical),
        cmocka_unit_test(test_large_batch),
        cmocka_unit_test(test_edges),
        cmocka_unit_test(test_random),
        cmocka_unit_test(test_unsupported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
