/* tests/unit/test_sparkplug_adapter.c — the sparkplug adapter
 * (adapters/sparkplug.c): config errors with file and line, real Sparkplug B
 * payloads built with the protobuf-c code generated from
 * proto/sparkplug_b/sparkplug_b.proto (BIRTH with names, aliases, datatypes
 * and engUnit; DATA with aliases only; DEATH), every numeric datatype
 * decoded exactly, sequence gaps, rebirths, limits and every reject reason
 * it produces. */
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
#include "sparkplug_b/sparkplug_b.pb-c.h"

extern const struct iocd_adapter_ops iocd_adapter_sparkplug;
#define FX_OPS iocd_adapter_sparkplug
#define FX_CHECK_USED
#include "adapter_fixture.h"

typedef Iocd__SparkplugB__Metric Metric;

#define T0 UINT64_C(1795341840000) /* 2026-11-22T10:04:00Z */

enum {
    DT_INT8 = 1,
    DT_INT16,
    DT_INT32,
    DT_INT64,
    DT_UINT8,
    DT_UINT16,
    DT_UINT32,
    DT_UINT64,
    DT_FLOAT,
    DT_DOUBLE,
    DT_BOOLEAN,
    DT_STRING,
    DT_DATETIME,
    DT_TEXT,
    DT_TEMPLATE = 19,
};

/* ---- fixture: one adapter and a batch (adapter_fixture.h) ---- */

static const char plant_conf[] = "[adapter plant]\n"
                                 "topic = spBv1.0/+/+/#\n"
                                 "format = sparkplug\n";

/* Decodes `len` bytes copied to a buffer of exactly that size. */
static enum iocd_reject decode(struct fx *f, const char *topic, const uint8_t *payload, size_t len)
{
    iocd_batch_reset(&f->batch);
    uint8_t *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    if (len)
        memcpy(copy, payload, len);
    struct iocd_message m = {.topic = topic, .payload = copy, .len = len, .received_ms = f->received};
    enum iocd_reject r = iocd_adapter_sparkplug.decode(f->state, &m, &f->batch);
    free(copy);
    if (r == IOCD_REJECT_NONE) {
        assert_true(f->batch.n_obs + f->batch.n_events > 0);
    } else {
        assert_int_equal(f->batch.n_obs, 0);
        assert_int_equal(f->batch.n_events, 0);
        assert_true(f->batch.detail[0] != '\0');
    }
    return r;
}

/* ---- building payloads ---- */

#define PL_MAX 32

/* A Payload with up to PL_MAX metrics, each with up to 2 properties. */
struct pl {
    Iocd__SparkplugB__Payload p;
    Metric *ptr[PL_MAX];
    Metric m[PL_MAX];
    Iocd__SparkplugB__PropertySet ps[PL_MAX];
    Iocd__SparkplugB__PropertyValue pv[PL_MAX][2];
    Iocd__SparkplugB__PropertyValue *pvp[PL_MAX][2];
    char *keys[PL_MAX][2];
};

static struct pl *pl_new(int seq, uint64_t ts)
{
    struct pl *b = calloc(1, sizeof(*b));
    assert_non_null(b);
    iocd__sparkplug_b__payload__init(&b->p);
    if (seq >= 0) {
        b->p.has_seq = 1;
        b->p.seq = (uint64_t)seq;
    }
    if (ts) {
        b->p.has_timestamp = 1;
        b->p.timestamp = ts;
    }
    b->p.metrics = b->ptr;
    return b;
}

/* A metric with a name (or NULL), an alias (or -1), a datatype (or 0 for
 * none) and a timestamp (or 0 for none); the value is set by the caller. */
static Metric *pl_metric(struct pl *b, const char *name, long long alias, uint32_t dt, uint64_t ts)
{
    assert_true(b->p.n_metrics < PL_MAX);
    Metric *m = &b->m[b->p.n_metrics];
    iocd__sparkplug_b__metric__init(m);
    b->ptr[b->p.n_metrics++] = m;
    m->name = (char *)name;
    if (alias >= 0) {
        m->has_alias = 1;
        m->alias = (uint64_t)alias;
    }
    if (dt) {
        m->has_datatype = 1;
        m->datatype = dt;
    }
    if (ts) {
        m->has_timestamp = 1;
        m->timestamp = ts;
    }
    return m;
}

static Metric *set_int(Metric *m, uint32_t v)
{
    m->value_case = IOCD__SPARKPLUG_B__METRIC__VALUE_INT_VALUE;
    m->int_value = v;
    return m;
}

static Metric *set_long(Metric *m, uint64_t v)
{
    m->value_case = IOCD__SPARKPLUG_B__METRIC__VALUE_LONG_VALUE;
    m->long_value = v;
    return m;
}

static Metric *set_float(Metric *m, float v)
{
    m->value_case = IOCD__SPARKPLUG_B__METRIC__VALUE_FLOAT_VALUE;
    m->float_value = v;
    return m;
}

static Metric *set_double(Metric *m, double v)
{
    m->value_case = IOCD__SPARKPLUG_B__METRIC__VALUE_DOUBLE_VALUE;
    m->double_value = v;
    return m;
}

static Metric *set_bool(Metric *m, int v)
{
    m->value_case = IOCD__SPARKPLUG_B__METRIC__VALUE_BOOLEAN_VALUE;
    m->boolean_value = v;
    return m;
}

static Metric *set_string(Metric *m, const char *v)
{
    m->value_case = IOCD__SPARKPLUG_B__METRIC__VALUE_STRING_VALUE;
    m->string_value = (char *)v;
    return m;
}

static Iocd__SparkplugB__PropertyValue *pl_prop(struct pl *b, Metric *m, const char *key)
{
    size_t i = (size_t)(m - b->m);
    Iocd__SparkplugB__PropertySet *ps = &b->ps[i];
    if (!m->properties) {
        iocd__sparkplug_b__property_set__init(ps);
        ps->keys = b->keys[i];
        ps->values = b->pvp[i];
        m->properties = ps;
    }
    assert_true(ps->n_keys < 2);
    Iocd__SparkplugB__PropertyValue *v = &b->pv[i][ps->n_keys];
    iocd__sparkplug_b__property_value__init(v);
    b->keys[i][ps->n_keys] = (char *)key;
    b->pvp[i][ps->n_keys] = v;
    ps->n_keys++;
    ps->n_values++;
    return v;
}

/* The "engUnit" property (type String) of metric `m`. */
static void pl_unit(struct pl *b, Metric *m, const char *unit)
{
    Iocd__SparkplugB__PropertyValue *v = pl_prop(b, m, "engUnit");
    v->has_type = 1;
    v->type = DT_STRING;
    v->value_case = IOCD__SPARKPLUG_B__PROPERTY_VALUE__VALUE_STRING_VALUE;
    v->string_value = (char *)unit;
}

/* The "Quality" property (type Int32) of metric `m`. */
static void pl_quality(struct pl *b, Metric *m, uint32_t q)
{
    Iocd__SparkplugB__PropertyValue *v = pl_prop(b, m, "Quality");
    v->has_type = 1;
    v->type = DT_INT32;
    v->value_case = IOCD__SPARKPLUG_B__PROPERTY_VALUE__VALUE_INT_VALUE;
    v->int_value = q;
}

/* Packs and frees `b`; the caller frees the bytes. */
static uint8_t *pl_pack(struct pl *b, size_t *len)
{
    *len = iocd__sparkplug_b__payload__get_packed_size(&b->p);
    uint8_t *buf = malloc(*len ? *len : 1);
    assert_non_null(buf);
    assert_int_equal(iocd__sparkplug_b__payload__pack(&b->p, buf), *len);
    free(b);
    return buf;
}

/* Packs `b`, decodes it on `topic`, frees everything. */
static enum iocd_reject send(struct fx *f, const char *topic, struct pl *b)
{
    size_t len;
    uint8_t *buf = pl_pack(b, &len);
    enum iocd_reject r = decode(f, topic, buf, len);
    free(buf);
    return r;
}

/* ---- checks ---- */

static void assert_obs_q(const struct fx *f, size_t i, const char *device, const char *metric,
                         double value, const char *unit, int64_t observed_ms, int quality)
{
    if (i >= f->batch.n_obs)
        fail_msg("obs %zu: only %zu observations", i, f->batch.n_obs);
    const Ioc__V1__Observation *o = f->batch.obs[i];
    assert_string_equal(o->source, "plant");
    assert_string_equal(o->device, device);
    assert_string_equal(o->metric, metric);
    if (o->value != value)
        fail_msg("obs %zu (%s): value %.17g, expected %.17g", i, metric, o->value, value);
    assert_string_equal(o->unit, unit);
    assert_int_equal(o->observed_ms, observed_ms);
    assert_int_equal(o->received_ms, RECEIVED);
    assert_int_equal(o->quality, quality);
    assert_int_equal(o->n_labels, 0);
    assert_null(o->location);
}

static void assert_obs(const struct fx *f, size_t i, const char *device, const char *metric,
                       double value, const char *unit, int64_t observed_ms)
{
    assert_obs_q(f, i, device, metric, value, unit, observed_ms, IOC__V1__QUALITY__QUALITY_GOOD);
}

static const char *attr(const Ioc__V1__Event *e, const char *key)
{
    for (size_t i = 0; i < e->n_attributes; i++)
        if (strcmp(e->attributes[i]->key, key) == 0)
            return e->attributes[i]->value;
    return NULL;
}

static void assert_event(const struct fx *f, size_t i, const char *kind, int severity,
                         const char *text, const char *device, int64_t time_ms, const char *group,
                         const char *edge, const char *device_id)
{
    if (i >= f->batch.n_events)
        fail_msg("event %zu: only %zu events", i, f->batch.n_events);
    const Ioc__V1__Event *e = f->batch.events[i];
    assert_string_equal(e->kind, kind);
    assert_int_equal(e->severity, severity);
    assert_string_equal(e->text, text);
    assert_string_equal(e->device, device);
    assert_string_equal(e->source, "plant");
    assert_int_equal(e->time_ms, time_ms);
    assert_int_equal(e->received_ms, RECEIVED);
    assert_string_equal(e->status, "");
    assert_string_equal(e->area, "");
    assert_null(e->location);
    assert_int_equal(e->n_attributes, device_id ? 3 : 2);
    assert_string_equal(attr(e, "group"), group);
    assert_string_equal(attr(e, "edge_node"), edge);
    if (device_id)
        assert_string_equal(attr(e, "device"), device_id);
}

static void assert_notes(const struct fx *f, unsigned seq_gap, unsigned partial)
{
    assert_int_equal(f->batch.notes[IOCD_NOTE_SEQ_GAP], seq_gap);
    assert_int_equal(f->batch.notes[IOCD_NOTE_PARTIAL], partial);
}

/* ---- common messages ---- */

#define NBIRTH "spBv1.0/Pleiku/NBIRTH/PS-01"
#define NDATA "spBv1.0/Pleiku/NDATA/PS-01"
#define NDEATH "spBv1.0/Pleiku/NDEATH/PS-01"
#define DBIRTH "spBv1.0/Pleiku/DBIRTH/PS-01/Pump-1"
#define DDATA "spBv1.0/Pleiku/DDATA/PS-01/Pump-1"
#define DDEATH "spBv1.0/Pleiku/DDEATH/PS-01/Pump-1"

/* The NBIRTH of pumping station PS-01 as the specification's example has
 * it: bdSeq, Node Control, string properties, and one measurement. */
static struct pl *nbirth(int seq)
{
    struct pl *b = pl_new(seq, T0);
    set_long(pl_metric(b, "bdSeq", 0, DT_UINT64, T0), 3);
    set_bool(pl_metric(b, "Node Control/Rebirth", 1, DT_BOOLEAN, T0), 0);
    set_long(pl_metric(b, "Node Control/Scan Rate", 2, DT_INT64, T0), 3000);
    set_string(pl_metric(b, "Properties/Hardware Make", 3, DT_STRING, T0), "Raspberry Pi");
    Metric *v = set_float(pl_metric(b, "Supply Voltage", 4, DT_FLOAT, T0), 12.5f);
    pl_unit(b, v, "V");
    set_double(pl_metric(b, "Enclosure/Temperature", 5, DT_DOUBLE, T0), 31.25);
    return b;
}

/* The DBIRTH of Pump-1 with aliases 10..14. */
static struct pl *dbirth(int seq)
{
    struct pl *b = pl_new(seq, T0 + 100);
    Metric *m = set_double(pl_metric(b, "Inputs/Flow Rate", 10, DT_DOUBLE, T0 + 100), 41.5);
    pl_unit(b, m, "m3/h");
    m = set_float(pl_metric(b, "Inputs/Pressure", 11, DT_FLOAT, T0 + 100), 2.25f);
    pl_unit(b, m, "bar");
    set_bool(pl_metric(b, "Outputs/Running", 12, DT_BOOLEAN, T0 + 100), 1);
    set_string(pl_metric(b, "Status", 13, DT_STRING, T0 + 100), "RUN");
    set_int(pl_metric(b, "Starts", 14, DT_UINT32, T0 + 100), 17);
    return b;
}

static void born(struct fx *f)
{
    assert_int_equal(send(f, NBIRTH, nbirth(0)), IOCD_REJECT_NONE);
    assert_int_equal(send(f, DBIRTH, dbirth(1)), IOCD_REJECT_NONE);
}

/* ---- config ---- */

static void expect_create_error(const char *text, const char *msg)
{
    struct fx f;
    struct iocd_error err = {{0}};
    assert_int_equal(fx_create(&f, text, &err), -1);
    assert_string_equal(err.msg, msg);
    iocd_arena_free(&f.arena);
    iocd_ini_free(&f.ini);
}

static void test_config(void **state)
{
    (void)state;
    struct fx *f = fx_new("[adapter plant]\n"
                          "topic = spBv1.0/#\n"
                          "format = sparkplug\n"
                          "device_format = group.edge.device\n"
                          "max_devices = 1000000\n"
                          "max_metrics = 1\n");
    for (size_t i = 2; i < 5; i++)
        assert_true(f->ini.sections[0].entries[i].used);
    fx_free(f);

    expect_create_error("[adapter plant]\n"
                        "topic = spBv1.0/#\n"
                        "format = sparkplug\n"
                        "device_format = edge/device\n",
                        "test.conf:4: [adapter plant] device_format: expected device, "
                        "edge.device or group.edge.device");
    expect_create_error("[adapter plant]\n"
                        "format = sparkplug\n"
                        "max_devices = 0\n",
                        "test.conf:3: [adapter plant] max_devices: expected an integer from 1 "
                        "to 1000000");
    expect_create_error("[adapter plant]\n"
                        "max_devices = 1000001\n",
                        "test.conf:2: [adapter plant] max_devices: expected an integer from 1 "
                        "to 1000000");
    expect_create_error("[adapter plant]\n"
                        "max_devices = 10k\n",
                        "test.conf:2: [adapter plant] max_devices: expected an integer from 1 "
                        "to 1000000");
    expect_create_error("[adapter plant]\n"
                        "max_metrics = -5\n",
                        "test.conf:2: [adapter plant] max_metrics: expected an integer from 1 "
                        "to 1000000");
    expect_create_error("[adapter plant]\n"
                        "max_metrics =\n",
                        "test.conf:2: [adapter plant] max_metrics: expected an integer from 1 "
                        "to 1000000");
    expect_create_error("[adapter plant]\n"
                        "device_format = device\n"
                        "device_format = edge.device\n",
                        "test.conf:3: key 'device_format' given twice (first on line 2)");
}

/* ---- births and data ---- */

static void test_nbirth(void **state)
{
    (void)state;
    struct fx *f = fx_new(plant_conf);
    assert_int_equal(send(f, NBIRTH, nbirth(0)), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_events, 1);
    assert_event(f, 0, "device_online", IOC__V1__SEVERITY__SEVERITY_INFO,
                 "edge node Pleiku/PS-01 online", "PS-01", (int64_t)T0, "Pleiku", "PS-01", NULL);
    /* bdSeq and the Node Control metrics are bookkeeping; the string is skipped */
    assert_int_equal(f->batch.n_obs, 2);
    assert_obs(f, 0, "PS-01", "Supply_Voltage", 12.5, "V", (int64_t)T0);
    assert_obs(f, 1, "PS-01", "Enclosure.Temperature", 31.25, "", (int64_t)T0);
    assert_notes(f, 0, 0);

    /* NDATA by alias: names and units from the NBIRTH */
    struct pl *b = pl_new(1, T0 + 5000);
    set_float(pl_metric(b, NULL, 4, 0, T0 + 4000), 12.25f);
    set_double(pl_metric(b, NULL, 5, 0, 0), 31.5);
    set_long(pl_metric(b, NULL, 2, 0, T0 + 4000), 1000); /* Scan Rate: control */
    assert_int_equal(send(f, NDATA, b), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_events, 0);
    assert_int_equal(f->batch.n_obs, 2);
    assert_obs(f, 0, "PS-01", "Supply_Voltage", 12.25, "V", (int64_t)T0 + 4000);
    assert_obs(f, 1, "PS-01", "Enclosure.Temperature", 31.5, "", (int64_t)T0 + 5000);
    assert_notes(f, 0, 0);
    fx_free(f);
}

static void test_dbirth_ddata(void **state)
{
    (void)state;
    struct fx *f = fx_new(plant_conf);
    assert_int_equal(send(f, NBIRTH, nbirth(0)), IOCD_REJECT_NONE);
    assert_int_equal(send(f, DBIRTH, dbirth(1)), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_events, 1);
    assert_event(f, 0, "device_online", IOC__V1__SEVERITY__SEVERITY_INFO,
                 "device Pleiku/PS-01/Pump-1 online", "Pump-1", (int64_t)T0 + 100, "Pleiku",
                 "PS-01", "Pump-1");
    assert_int_equal(f->batch.n_obs, 4);
    assert_obs(f, 0, "Pump-1", "Inputs.Flow_Rate", 41.5, "m3/h", (int64_t)T0 + 100);
    assert_obs(f, 1, "Pump-1", "Inputs.Pressure", 2.25, "bar", (int64_t)T0 + 100);
    assert_obs(f, 2, "Pump-1", "Outputs.Running", 1, "", (int64_t)T0 + 100);
    assert_obs(f, 3, "Pump-1", "Starts", 17, "", (int64_t)T0 + 100);
    assert_notes(f, 0, 0);

    struct pl *b = pl_new(2, T0 + 2000);
    set_double(pl_metric(b, NULL, 10, 0, T0 + 1000), 40.75);
    set_float(pl_metric(b, NULL, 11, 0, T0 + 1500), 2.5f);
    set_bool(pl_metric(b, NULL, 12, 0, T0 + 1500), 0);
    set_string(pl_metric(b, NULL, 13, 0, T0 + 1500), "STOP");
    set_int(pl_metric(b, NULL, 14, 0, 0), 18);
    assert_int_equal(send(f, DDATA, b), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_events, 0);
    assert_int_equal(f->batch.n_obs, 4);
    assert_obs(f, 0, "Pump-1", "Inputs.Flow_Rate", 40.75, "m3/h", (int64_t)T0 + 1000);
    assert_obs(f, 1, "Pump-1", "Inputs.Pressure", 2.5, "bar", (int64_t)T0 + 1500);
    assert_obs(f, 2, "Pump-1", "Outputs.Running", 0, "", (int64_t)T0 + 1500);
    assert_obs(f, 3, "Pump-1", "Starts", 18, "", (int64_t)T0 + 2000);
    assert_notes(f, 0, 0);

    /* the device's aliases are its own: alias 4 is the node's */
    b = pl_new(3, T0 + 3000);
    set_float(pl_metric(b, NULL, 4, 0, 0), 1.0f);
    assert_int_equal(send(f, DDATA, b), IOCD_REJECT_MISSING_FIELD);
    assert_string_equal(f->batch.detail,
                        "alias 4 unknown: not in the DBIRTH of Pleiku/PS-01/Pump-1");

    /* names instead of aliases (allowed without aliases): the unit by name */
    b = pl_new(4, T0 + 3000);
    set_double(pl_metric(b, "Inputs/Flow Rate", -1, DT_DOUBLE, 0), 39.5);
    set_double(pl_metric(b, "Inputs/New Sensor", -1, DT_DOUBLE, 0), 7);
    assert_int_equal(send(f, DDATA, b), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 2);
    assert_obs(f, 0, "Pump-1", "Inputs.Flow_Rate", 39.5, "m3/h", (int64_t)T0 + 3000);
    assert_obs(f, 1, "Pump-1", "Inputs.New_Sensor", 7, "", (int64_t)T0 + 3000);
    assert_notes(f, 0, 0);
    fx_free(f);
}

/* Each numeric datatype, with the values at its edges, as a DBIRTH (names
 * and datatypes) and then a DDATA (aliases only). */
struct num_case {
    const char *name;
    uint32_t dt;
    int field; /* 'i' int_value, 'l' long_value, 'f' float, 'd' double, 'b' bool */
    uint64_t raw;
    double fv;
    double expect;
};

static const struct num_case num_cases[] = {
    {"i8_minus1", DT_INT8, 'i', 0xffffffffu, 0, -1},
    {"i8_minus1_narrow", DT_INT8, 'i', 0xffu, 0, -1},
    {"i8_min", DT_INT8, 'i', 0xffffff80u, 0, -128},
    {"i8_min_narrow", DT_INT8, 'i', 0x80u, 0, -128},
    {"i8_max", DT_INT8, 'i', 0x7fu, 0, 127},
    {"i16_min", DT_INT16, 'i', 0xffff8000u, 0, -32768},
    {"i16_minus1_narrow", DT_INT16, 'i', 0xffffu, 0, -1},
    {"i16_max", DT_INT16, 'i', 0x7fffu, 0, 32767},
    {"i32_min", DT_INT32, 'i', 0x80000000u, 0, -2147483648.0},
    {"i32_minus1", DT_INT32, 'i', 0xffffffffu, 0, -1},
    {"i32_max", DT_INT32, 'i', 0x7fffffffu, 0, 2147483647.0},
    {"i32_long_minus1", DT_INT32, 'l', UINT64_MAX, 0, -1},
    {"i64_min", DT_INT64, 'l', UINT64_C(0x8000000000000000), 0, -9223372036854775808.0},
    {"i64_minus1", DT_INT64, 'l', UINT64_MAX, 0, -1},
    {"i64_max", DT_INT64, 'l', UINT64_C(0x7fffffffffffffff), 0, 9223372036854775807.0},
    {"i64_in_int_value", DT_INT64, 'i', 0xfffffffeu, 0, -2},
    {"u8_max", DT_UINT8, 'i', 255, 0, 255},
    {"u16_max", DT_UINT16, 'i', 65535, 0, 65535},
    {"u32_max", DT_UINT32, 'i', 0xffffffffu, 0, 4294967295.0},
    {"u32_in_long", DT_UINT32, 'l', 0xffffffffu, 0, 4294967295.0},
    {"u64_max", DT_UINT64, 'l', UINT64_MAX, 0, 18446744073709551615.0},
    {"u64_2p53", DT_UINT64, 'l', UINT64_C(9007199254740993), 0, 9007199254740992.0},
    {"float", DT_FLOAT, 'f', 0, -0.1f, (double)-0.1f},
    {"float_max", DT_FLOAT, 'f', 0, 3.4028234663852886e38, 3.4028234663852886e38},
    {"double", DT_DOUBLE, 'd', 0, -1e-300, -1e-300},
    {"double_max", DT_DOUBLE, 'd', 0, 1.7976931348623157e308, 1.7976931348623157e308},
    {"bool_true", DT_BOOLEAN, 'b', 1, 0, 1},
    {"bool_false", DT_BOOLEAN, 'b', 0, 0, 0},
};

#define N_NUM (sizeof(num_cases) / sizeof(num_cases[0]))

static void set_case(Metric *m, const struct num_case *c)
{
    switch (c->field) {
    case 'i':
        set_int(m, (uint32_t)c->raw);
        break;
    case 'l':
        set_long(m, c->raw);
        break;
    case 'f':
        set_float(m, (float)c->fv);
        break;
    case 'd':
        set_double(m, c->fv);
        break;
    default:
        set_bool(m, (int)c->raw);
        break;
    }
}

static void test_numeric_types(void **state)
{
    (void)state;
    assert_true(N_NUM <= PL_MAX);
    struct fx *f = fx_new(plant_conf);
    assert_int_equal(send(f, NBIRTH, nbirth(0)), IOCD_REJECT_NONE);
    /* DBIRTH: zeros */
    struct pl *b = pl_new(1, T0);
    for (size_t i = 0; i < N_NUM; i++) {
        struct num_case zero = num_cases[i];
        zero.raw = 0;
        zero.fv = 0;
        set_case(pl_metric(b, num_cases[i].name, (long long)i, num_cases[i].dt, T0), &zero);
    }
    assert_int_equal(send(f, DBIRTH, b), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, N_NUM);
    for (size_t i = 0; i < N_NUM; i++)
        assert_obs(f, i, "Pump-1", num_cases[i].name, 0, "", (int64_t)T0);
    /* DDATA: the edge values by alias, datatype from the DBIRTH */
    b = pl_new(2, T0 + 1000);
    for (size_t i = 0; i < N_NUM; i++)
        set_case(pl_metric(b, NULL, (long long)i, 0, 0), &num_cases[i]);
    assert_int_equal(send(f, DDATA, b), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, N_NUM);
    for (size_t i = 0; i < N_NUM; i++)
        assert_obs(f, i, "Pump-1", num_cases[i].name, num_cases[i].expect, "", (int64_t)T0 + 1000);
    assert_notes(f, 0, 0);
    fx_free(f);
}

static void test_value_errors(void **state)
{
    (void)state;
    struct fx *f = fx_new(plant_conf);
    assert_int_equal(send(f, NBIRTH, nbirth(0)), IOCD_REJECT_NONE);

    /* out of range for the type: dropped, the rest kept */
    struct pl *b = pl_new(1, T0);
    set_int(pl_metric(b, "Small", -1, DT_INT8, 0), 0x100);
    set_int(pl_metric(b, "Ok", -1, DT_INT8, 0), 5);
    assert_int_equal(send(f, NDATA, b), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 1);
    assert_obs(f, 0, "PS-01", "Ok", 5, "", (int64_t)T0);
    assert_notes(f, 0, 1);
    assert_string_equal(f->batch.note_detail,
                        "'Small' of Pleiku/PS-01: value out of range for Int8");

    b = pl_new(2, T0);
    set_int(pl_metric(b, "Byte", -1, DT_UINT8, 0), 256);
    set_int(pl_metric(b, "Neg", -1, DT_INT16, 0), 0xffff7fffu); /* -32769 */
    assert_int_equal(send(f, NDATA, b), IOCD_REJECT_WRONG_TYPE);
    assert_string_equal(f->batch.detail, "'Byte' of Pleiku/PS-01: value out of range for UInt8");
    assert_notes(f, 0, 0);

    /* value in a field that does not fit the datatype */
    b = pl_new(3, T0);
    set_float(pl_metric(b, "Count", -1, DT_INT32, 0), 1.0f);
    assert_int_equal(send(f, NDATA, b), IOCD_REJECT_WRONG_TYPE);
    assert_string_equal(f->batch.detail,
                        "'Count' of Pleiku/PS-01: datatype Int32 but the value is not in a field "
                        "for it");
    b = pl_new(4, T0);
    set_int(pl_metric(b, "Flag", -1, DT_BOOLEAN, 0), 1);
    assert_int_equal(send(f, NDATA, b), IOCD_REJECT_WRONG_TYPE);
    assert_string_equal(f->batch.detail,
                        "'Flag' of Pleiku/PS-01: datatype Boolean but the value is not in a "
                        "field for it");

    /* no datatype anywhere: floats and booleans are clear, integers not */
    b = pl_new(5, T0);
    set_double(pl_metric(b, "Untyped", -1, 0, 0), 2.5);
    set_bool(pl_metric(b, "UntypedFlag", -1, 0, 0), 1);
    set_int(pl_metric(b, "UntypedInt", -1, 0, 0), 7);
    assert_int_equal(send(f, NDATA, b), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 2);
    assert_obs(f, 0, "PS-01", "Untyped", 2.5, "", (int64_t)T0);
    assert_obs(f, 1, "PS-01", "UntypedFlag", 1, "", (int64_t)T0);
    assert_notes(f, 0, 1);
    assert_string_equal(f->batch.note_detail,
                        "'UntypedInt' of Pleiku/PS-01: integer value without a datatype "
                        "(signedness unknown)");

    /* NaN and infinity: not_finite when nothing else remains */
    b = pl_new(6, T0);
    set_float(pl_metric(b, NULL, 4, 0, 0), NAN);
    assert_int_equal(send(f, NDATA, b), IOCD_REJECT_NOT_FINITE);
    assert_string_equal(f->batch.detail, "'Supply Voltage' of Pleiku/PS-01: value is NaN");
    b = pl_new(7, T0);
    set_double(pl_metric(b, NULL, 5, 0, 0), -INFINITY);
    set_float(pl_metric(b, NULL, 4, 0, 0), 12.0f);
    set_float(pl_metric(b, NULL, 4, 0, 0), INFINITY);
    assert_int_equal(send(f, NDATA, b), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 1);
    assert_obs(f, 0, "PS-01", "Supply_Voltage", 12, "V", (int64_t)T0);
    assert_notes(f, 0, 1);
    assert_string_equal(f->batch.note_detail,
                        "'Enclosure/Temperature' of Pleiku/PS-01: value is infinite (and 1 more "
                        "metrics dropped)");
    fx_free(f);
}

static void test_skipped_metrics(void **state)
{
    (void)state;
    struct fx *f = fx_new(plant_conf);
    assert_int_equal(send(f, NBIRTH, nbirth(0)), IOCD_REJECT_NONE);
    struct pl *b = pl_new(1, T0);
    Metric *m = set_double(pl_metric(b, "Null", -1, DT_DOUBLE, 0), 1);
    m->has_is_null = 1;
    m->is_null = 1;
    m = set_double(pl_metric(b, "Transient", -1, DT_DOUBLE, 0), 1);
    m->has_is_transient = 1;
    m->is_transient = 1;
    set_long(pl_metric(b, "Last Service", -1, DT_DATETIME, 0), T0);
    set_string(pl_metric(b, "Text", -1, DT_TEXT, 0), "x");
    set_string(pl_metric(b, "Tmpl", -1, DT_TEMPLATE, 0), "x");
    set_long(pl_metric(b, "Future", -1, 99, 0), 1);
    assert_int_equal(send(f, NDATA, b), IOCD_REJECT_MISSING_FIELD);
    assert_string_equal(f->batch.detail, "NDATA of Pleiku/PS-01 has no numeric metric value");
    assert_notes(f, 0, 0);

    /* an empty payload is an empty Payload message */
    assert_int_equal(decode(f, NDATA, (const uint8_t *)"", 0), IOCD_REJECT_MISSING_FIELD);
    assert_string_equal(f->batch.detail, "NDATA of Pleiku/PS-01 has no numeric metric value");

    /* a transient metric of the BIRTH stays skipped in DATA */
    b = pl_new(0, T0);
    m = set_double(pl_metric(b, "Debug", 1, DT_DOUBLE, T0), 1);
    m->has_is_transient = 1;
    m->is_transient = 1;
    set_double(pl_metric(b, "Level", 2, DT_DOUBLE, T0), 2);
    assert_int_equal(send(f, NBIRTH, b), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 1);
    assert_obs(f, 0, "PS-01", "Level", 2, "", (int64_t)T0);
    b = pl_new(1, T0);
    set_double(pl_metric(b, NULL, 1, 0, 0), 3);
    set_double(pl_metric(b, NULL, 2, 0, 0), 4);
    assert_int_equal(send(f, NDATA, b), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 1);
    assert_obs(f, 0, "PS-01", "Level", 4, "", (int64_t)T0);
    fx_free(f);
}

static void test_times_and_quality(void **state)
{
    (void)state;
    struct fx *f = fx_new(plant_conf);
    assert_int_equal(send(f, NBIRTH, nbirth(0)), IOCD_REJECT_NONE);
    /* metric time, else payload time, else receive time; historical
     * samples keep their own (old) time */
    struct pl *b = pl_new(1, T0 + 60000);
    set_double(pl_metric(b, "A", -1, DT_DOUBLE, T0 + 1), 1);
    set_double(pl_metric(b, "B", -1, DT_DOUBLE, 0), 2);
    Metric *m = set_double(pl_metric(b, "C", -1, DT_DOUBLE, UINT64_C(1700000000000)), 3);
    m->has_is_historical = 1;
    m->is_historical = 1;
    m = set_double(pl_metric(b, "D", -1, DT_DOUBLE, 0), 4);
    pl_quality(b, m, 0);
    m = set_double(pl_metric(b, "E", -1, DT_DOUBLE, 0), 5);
    pl_quality(b, m, 192);
    pl_unit(b, m, "Cel");
    m = set_double(pl_metric(b, "F", -1, DT_DOUBLE, 0), 6);
    pl_quality(b, m, 500);
    assert_int_equal(send(f, NDATA, b), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 6);
    assert_obs(f, 0, "PS-01", "A", 1, "", (int64_t)T0 + 1);
    assert_obs(f, 1, "PS-01", "B", 2, "", (int64_t)T0 + 60000);
    assert_obs(f, 2, "PS-01", "C", 3, "", INT64_C(1700000000000));
    assert_obs_q(f, 3, "PS-01", "D", 4, "", (int64_t)T0 + 60000, IOC__V1__QUALITY__QUALITY_INVALID);
    assert_obs(f, 4, "PS-01", "E", 5, "Cel", (int64_t)T0 + 60000);
    assert_obs(f, 5, "PS-01", "F", 6, "", (int64_t)T0 + 60000);

    b = pl_new(2, 0);
    set_double(pl_metric(b, "A", -1, DT_DOUBLE, 0), 1);
    assert_int_equal(send(f, NDATA, b), IOCD_REJECT_NONE);
    assert_obs(f, 0, "PS-01", "A", 1, "", RECEIVED);

    /* times past 9999-12-31 */
    b = pl_new(3, UINT64_C(253402300800000));
    set_double(pl_metric(b, "A", -1, DT_DOUBLE, T0), 1);
    assert_int_equal(send(f, NDATA, b), IOCD_REJECT_BAD_TIME);
    assert_string_equal(f->batch.detail,
                        "NDATA of Pleiku/PS-01: payload timestamp 253402300800000 out of range");
    b = pl_new(4, T0);
    set_double(pl_metric(b, "A", -1, DT_DOUBLE, UINT64_MAX), 1);
    set_double(pl_metric(b, "B", -1, DT_DOUBLE, UINT64_C(253402300799999)), 2);
    assert_int_equal(send(f, NDATA, b), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 1);
    assert_obs(f, 0, "PS-01", "B", 2, "", INT64_C(253402300799999));
    assert_notes(f, 0, 1);
    assert_string_equal(f->batch.note_detail,
                        "'A' of Pleiku/PS-01: timestamp 18446744073709551615 out of range");
    b = pl_new(5, T0);
    set_double(pl_metric(b, "A", -1, DT_DOUBLE, UINT64_MAX), 1);
    assert_int_equal(send(f, NDATA, b), IOCD_REJECT_BAD_TIME);
    fx_free(f);
}

static void test_metric_names(void **state)
{
    (void)state;
    struct fx *f = fx_new(plant_conf);
    char long_name[140];
    memset(long_name, 'x', 129);
    long_name[129] = '\0';
    char max_name[129];
    memset(max_name, 'y', 128);
    max_name[128] = '\0';
    struct pl *b = pl_new(0, T0);
    set_double(pl_metric(b, "Tank 1/Level/Top Sensor", 1, DT_DOUBLE, 0), 1);
    set_double(pl_metric(b, "Bad+Name", 2, DT_DOUBLE, 0), 2);
    set_double(pl_metric(b, long_name, 3, DT_DOUBLE, 0), 3);
    set_double(pl_metric(b, max_name, 4, DT_DOUBLE, 0), 4);
    set_double(pl_metric(b, "", 5, DT_DOUBLE, 0), 5);
    set_double(pl_metric(b, "Tab\tName", 6, DT_DOUBLE, 0), 6);
    set_double(pl_metric(b, "Bad\xff", 7, DT_DOUBLE, 0), 7);
    set_double(pl_metric(b, NULL, 8, DT_DOUBLE, 0), 8);
    assert_int_equal(send(f, NBIRTH, b), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 2);
    assert_obs(f, 0, "PS-01", "Tank_1.Level.Top_Sensor", 1, "", (int64_t)T0);
    assert_obs(f, 1, "PS-01", max_name, 4, "", (int64_t)T0);
    assert_notes(f, 0, 1);
    assert_string_equal(f->batch.note_detail,
                        "'Bad+Name' of Pleiku/PS-01: metric name contains '+' or '#' (and 5 more "
                        "metrics dropped)");

    /* the same by alias in NDATA */
    static const char *const why[] = {
        NULL,
        "'Bad+Name' of Pleiku/PS-01: metric name contains '+' or '#'",
        "alias 3 of Pleiku/PS-01: metric name is longer than 128 bytes",
        NULL,
        "'' of Pleiku/PS-01: metric name is empty",
        "'Tab?Name' of Pleiku/PS-01: metric name contains a control character",
        "'Bad?' of Pleiku/PS-01: metric name is not valid UTF-8",
    };
    for (int a = 2; a <= 7; a++) {
        if (a == 4)
            continue;
        b = pl_new(a - 1, T0);
        set_double(pl_metric(b, NULL, a, 0, 0), a);
        assert_int_equal(send(f, NDATA, b), IOCD_REJECT_BAD_ID);
        assert_string_equal(f->batch.detail, why[a - 1]);
    }
    b = pl_new(7, T0);
    set_double(pl_metric(b, NULL, 8, 0, 0), 8);
    assert_int_equal(send(f, NDATA, b), IOCD_REJECT_MISSING_FIELD);
    assert_string_equal(f->batch.detail, "alias 8 unknown: not in the NBIRTH of Pleiku/PS-01");
    b = pl_new(8, T0);
    set_double(pl_metric(b, NULL, -1, 0, 0), 8);
    assert_int_equal(send(f, NDATA, b), IOCD_REJECT_MISSING_FIELD);
    assert_string_equal(f->batch.detail, "a metric of Pleiku/PS-01 has neither name nor alias");
    assert_notes(f, 0, 0);
    fx_free(f);
}

/* ---- sequence numbers ---- */

static struct pl *ndata(int seq)
{
    struct pl *b = pl_new(seq, T0);
    set_float(pl_metric(b, NULL, 4, 0, 0), 12.0f);
    return b;
}

static struct pl *ddata(int seq)
{
    struct pl *b = pl_new(seq, T0);
    set_double(pl_metric(b, NULL, 10, 0, 0), 40.0);
    return b;
}

static void test_seq(void **state)
{
    (void)state;
    struct fx *f = fx_new(plant_conf);
    born(f); /* seq 0, 1 */
    assert_notes(f, 0, 0);
    assert_int_equal(send(f, NDATA, ndata(2)), IOCD_REJECT_NONE);
    assert_notes(f, 0, 0);
    assert_int_equal(send(f, DDATA, ddata(3)), IOCD_REJECT_NONE);
    assert_notes(f, 0, 0);
    /* seq 4 lost */
    assert_int_equal(send(f, DDATA, ddata(5)), IOCD_REJECT_NONE);
    assert_notes(f, 1, 0);
    assert_string_equal(f->batch.note_text[IOCD_NOTE_SEQ_GAP],
                        "edge Pleiku/PS-01: expected seq 4, got 5");
    assert_int_equal(f->batch.n_obs, 1); /* still decoded */
    /* continues from the received seq */
    assert_int_equal(send(f, NDATA, ndata(6)), IOCD_REJECT_NONE);
    assert_notes(f, 0, 0);
    /* a repeat is a gap too */
    assert_int_equal(send(f, NDATA, ndata(6)), IOCD_REJECT_NONE);
    assert_notes(f, 1, 0);
    assert_string_equal(f->batch.note_text[IOCD_NOTE_SEQ_GAP],
                        "edge Pleiku/PS-01: expected seq 7, got 6");
    /* wrap 255 → 0 */
    assert_int_equal(send(f, NDATA, ndata(255)), IOCD_REJECT_NONE);
    assert_notes(f, 1, 0);
    assert_int_equal(send(f, NDATA, ndata(0)), IOCD_REJECT_NONE);
    assert_notes(f, 0, 0);
    /* a message rejected after decoding still advances the sequence */
    struct pl *b = pl_new(1, T0);
    set_double(pl_metric(b, NULL, 99, 0, 0), 1);
    assert_int_equal(send(f, NDATA, b), IOCD_REJECT_MISSING_FIELD);
    assert_notes(f, 0, 0);
    /* DDEATH carries a seq */
    assert_int_equal(send(f, DDEATH, pl_new(3, T0)), IOCD_REJECT_NONE);
    assert_notes(f, 1, 0);
    assert_string_equal(f->batch.note_text[IOCD_NOTE_SEQ_GAP],
                        "edge Pleiku/PS-01: expected seq 2, got 3");
    /* out of 0..255: a gap, and no expectation until the next seq */
    assert_int_equal(send(f, NDATA, ndata(300)), IOCD_REJECT_NONE);
    assert_notes(f, 1, 0);
    assert_string_equal(f->batch.note_text[IOCD_NOTE_SEQ_GAP],
                        "edge Pleiku/PS-01: expected seq 4, got 300 (not 0..255)");
    assert_int_equal(send(f, NDATA, ndata(9)), IOCD_REJECT_NONE);
    assert_notes(f, 0, 0);
    assert_int_equal(send(f, NDATA, ndata(10)), IOCD_REJECT_NONE);
    assert_notes(f, 0, 0);
    /* no seq: no check, and none for the next one either */
    assert_int_equal(send(f, NDATA, ndata(-1)), IOCD_REJECT_NONE);
    assert_notes(f, 0, 0);
    assert_int_equal(send(f, NDATA, ndata(20)), IOCD_REJECT_NONE);
    assert_notes(f, 0, 0);
    /* NDEATH has no seq and is not checked; the next NBIRTH restarts */
    assert_int_equal(send(f, NDEATH, pl_new(-1, 0)), IOCD_REJECT_NONE);
    assert_notes(f, 0, 0);
    assert_int_equal(send(f, NDATA, ndata(77)), IOCD_REJECT_NONE);
    assert_notes(f, 0, 0);
    assert_int_equal(send(f, NBIRTH, nbirth(0)), IOCD_REJECT_NONE);
    assert_notes(f, 0, 0);
    assert_int_equal(send(f, NDATA, ndata(2)), IOCD_REJECT_NONE);
    assert_notes(f, 1, 0);
    assert_string_equal(f->batch.note_text[IOCD_NOTE_SEQ_GAP],
                        "edge Pleiku/PS-01: expected seq 1, got 2");
    /* another edge node has its own sequence */
    assert_int_equal(send(f, "spBv1.0/Pleiku/NBIRTH/PS-02", nbirth(100)), IOCD_REJECT_NONE);
    assert_int_equal(send(f, "spBv1.0/Pleiku/NDATA/PS-02", ndata(101)), IOCD_REJECT_NONE);
    assert_notes(f, 0, 0);
    assert_int_equal(send(f, NDATA, ndata(3)), IOCD_REJECT_NONE);
    assert_notes(f, 0, 0);
    fx_free(f);
}

static void test_data_before_birth(void **state)
{
    (void)state;
    struct fx *f = fx_new(plant_conf);
    /* iocd started after the births: no seq check, aliases unknown */
    assert_int_equal(send(f, DDATA, ddata(7)), IOCD_REJECT_MISSING_FIELD);
    assert_string_equal(f->batch.detail, "alias 10 unknown: no BIRTH seen for Pleiku/PS-01/Pump-1");
    assert_notes(f, 0, 0);
    assert_int_equal(send(f, NDATA, ndata(9)), IOCD_REJECT_MISSING_FIELD);
    assert_string_equal(f->batch.detail, "alias 4 unknown: no BIRTH seen for Pleiku/PS-01");
    /* named metrics still decode */
    struct pl *b = pl_new(11, T0);
    set_double(pl_metric(b, "Level", -1, DT_DOUBLE, 0), 2);
    set_double(pl_metric(b, NULL, 10, 0, 0), 40.0);
    assert_int_equal(send(f, DDATA, b), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 1);
    assert_obs(f, 0, "Pump-1", "Level", 2, "", (int64_t)T0);
    assert_notes(f, 0, 1);
    assert_string_equal(f->batch.note_text[IOCD_NOTE_PARTIAL],
                        "alias 10 unknown: no BIRTH seen for Pleiku/PS-01/Pump-1");

    /* a DBIRTH without the NBIRTH: the device is known, the node's sequence
     * starts there, the node's own aliases stay unknown */
    assert_int_equal(send(f, DBIRTH, dbirth(20)), IOCD_REJECT_NONE);
    assert_notes(f, 0, 0);
    assert_int_equal(send(f, DDATA, ddata(21)), IOCD_REJECT_NONE);
    assert_notes(f, 0, 0);
    assert_obs(f, 0, "Pump-1", "Inputs.Flow_Rate", 40, "m3/h", (int64_t)T0);
    assert_int_equal(send(f, NDATA, ndata(23)), IOCD_REJECT_MISSING_FIELD);
    assert_notes(f, 1, 0);
    assert_string_equal(f->batch.detail, "alias 4 unknown: no BIRTH seen for Pleiku/PS-01");
    fx_free(f);
}

static void test_rebirth(void **state)
{
    (void)state;
    struct fx *f = fx_new(plant_conf);
    born(f);
    assert_int_equal(send(f, DDATA, ddata(2)), IOCD_REJECT_NONE);
    /* a new NBIRTH replaces the node's definitions and forgets its devices */
    struct pl *b = pl_new(0, T0);
    set_double(pl_metric(b, "Supply Current", 4, DT_DOUBLE, T0), 1.5);
    assert_int_equal(send(f, NBIRTH, b), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 1);
    assert_int_equal(send(f, DDATA, ddata(1)), IOCD_REJECT_MISSING_FIELD);
    assert_string_equal(f->batch.detail, "alias 10 unknown: no BIRTH seen for Pleiku/PS-01/Pump-1");
    assert_notes(f, 0, 0);
    assert_int_equal(send(f, NDATA, ndata(2)), IOCD_REJECT_NONE);
    assert_obs(f, 0, "PS-01", "Supply_Current", 12, "", (int64_t)T0);
    b = pl_new(3, T0);
    set_double(pl_metric(b, NULL, 5, 0, 0), 1.0);
    assert_int_equal(send(f, NDATA, b), IOCD_REJECT_MISSING_FIELD);
    assert_string_equal(f->batch.detail, "alias 5 unknown: not in the NBIRTH of Pleiku/PS-01");
    /* the device is born again */
    assert_int_equal(send(f, DBIRTH, dbirth(4)), IOCD_REJECT_NONE);
    assert_int_equal(send(f, DDATA, ddata(5)), IOCD_REJECT_NONE);
    assert_obs(f, 0, "Pump-1", "Inputs.Flow_Rate", 40, "m3/h", (int64_t)T0);
    /* a DBIRTH alone replaces that device's definitions */
    b = pl_new(6, T0);
    set_int(pl_metric(b, "Speed", 10, DT_UINT16, T0), 1450);
    assert_int_equal(send(f, DBIRTH, b), IOCD_REJECT_NONE);
    b = pl_new(7, T0);
    set_int(pl_metric(b, NULL, 10, 0, 0), 1500);
    set_int(pl_metric(b, NULL, 11, 0, 0), 1);
    assert_int_equal(send(f, DDATA, b), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 1);
    assert_obs(f, 0, "Pump-1", "Speed", 1500, "", (int64_t)T0);
    assert_notes(f, 0, 1);
    assert_string_equal(f->batch.note_text[IOCD_NOTE_PARTIAL],
                        "alias 11 unknown: not in the DBIRTH of Pleiku/PS-01/Pump-1");
    fx_free(f);
}

static void test_death(void **state)
{
    (void)state;
    struct fx *f = fx_new(plant_conf);
    born(f);
    /* DDEATH: payload time */
    assert_int_equal(send(f, DDEATH, pl_new(2, T0 + 9000)), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 0);
    assert_int_equal(f->batch.n_events, 1);
    assert_event(f, 0, "device_offline", IOC__V1__SEVERITY__SEVERITY_WARNING,
                 "device Pleiku/PS-01/Pump-1 offline", "Pump-1", (int64_t)T0 + 9000, "Pleiku",
                 "PS-01", "Pump-1");
    assert_notes(f, 0, 0);
    /* NDEATH (the will message, set at connect): the receive time; its
     * bdSeq metric is ignored */
    struct pl *b = pl_new(-1, T0 - 3600000);
    set_long(pl_metric(b, "bdSeq", -1, DT_UINT64, 0), 3);
    assert_int_equal(send(f, NDEATH, b), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 0);
    assert_int_equal(f->batch.n_events, 1);
    assert_event(f, 0, "device_offline", IOC__V1__SEVERITY__SEVERITY_WARNING,
                 "edge node Pleiku/PS-01 offline", "PS-01", RECEIVED, "Pleiku", "PS-01", NULL);
    /* a node never seen dies too */
    assert_int_equal(send(f, "spBv1.0/Pleiku/NDEATH/PS-09", pl_new(-1, 0)), IOCD_REJECT_NONE);
    assert_event(f, 0, "device_offline", IOC__V1__SEVERITY__SEVERITY_WARNING,
                 "edge node Pleiku/PS-09 offline", "PS-09", RECEIVED, "Pleiku", "PS-09", NULL);
    /* DDEATH without a payload timestamp */
    assert_int_equal(send(f, "spBv1.0/Pleiku/DDEATH/PS-09/Valve-3", pl_new(5, 0)),
                     IOCD_REJECT_NONE);
    assert_event(f, 0, "device_offline", IOC__V1__SEVERITY__SEVERITY_WARNING,
                 "device Pleiku/PS-09/Valve-3 offline", "Valve-3", RECEIVED, "Pleiku", "PS-09",
                 "Valve-3");
    fx_free(f);
}

/* ---- host application duties: Rebirth requests, NDEATH, bdSeq ---- */

/* The NCMD iocd sends at RECEIVED (2026-11-22T10:04:06.500Z): Payload
 * {timestamp, metrics: [{name "Node Control/Rebirth", timestamp, datatype
 * Boolean, boolean_value true}]}, no seq, byte for byte. */
static const uint8_t rebirth_ncmd[] = {
    0x08, 0xe4, 0x8f, 0xda, 0x95, 0xa0, 0x34,             /* timestamp = RECEIVED */
    0x12, 0x21,                                           /* metrics[0], 33 bytes */
    0x0a, 0x14, 'N', 'o', 'd', 'e', ' ', 'C', 'o', 'n', 't', 'r', 'o', 'l', '/', 'R', 'e', 'b',
    'i', 'r', 't', 'h',                                   /* name */
    0x18, 0xe4, 0x8f, 0xda, 0x95, 0xa0, 0x34,             /* timestamp = RECEIVED */
    0x20, 0x0b,                                           /* datatype Boolean */
    0x70, 0x01,                                           /* boolean_value true */
};

/* The batch holds exactly one command: a Rebirth request to PS-`edge`. */
static void assert_rebirth(const struct fx *f, const char *edge, const char *why)
{
    assert_int_equal(f->batch.n_commands, 1);
    const struct iocd_command *c = f->batch.commands[0];
    char topic[64];
    snprintf(topic, sizeof(topic), "spBv1.0/Pleiku/NCMD/%s", edge);
    assert_string_equal(c->topic, topic);
    assert_int_equal(c->qos, 0);
    assert_false(c->retain);
    assert_string_equal(c->why, why);
    assert_int_equal(c->len, sizeof(rebirth_ncmd));
    assert_memory_equal(c->payload, rebirth_ncmd, sizeof(rebirth_ncmd));
    /* and what an edge node's protobuf library makes of it */
    Iocd__SparkplugB__Payload *p = iocd__sparkplug_b__payload__unpack(NULL, c->len, c->payload);
    assert_non_null(p);
    assert_true(p->has_timestamp);
    assert_int_equal(p->timestamp, RECEIVED);
    assert_false(p->has_seq);
    assert_int_equal(p->n_metrics, 1);
    const Metric *m = p->metrics[0];
    assert_string_equal(m->name, "Node Control/Rebirth");
    assert_false(m->has_alias);
    assert_true(m->has_datatype);
    assert_int_equal(m->datatype, DT_BOOLEAN);
    assert_int_equal(m->value_case, IOCD__SPARKPLUG_B__METRIC__VALUE_BOOLEAN_VALUE);
    assert_true(m->boolean_value);
    assert_int_equal(m->timestamp, RECEIVED);
    iocd__sparkplug_b__payload__free_unpacked(p, NULL);
}

static void assert_no_rebirth(const struct fx *f, unsigned limited)
{
    assert_int_equal(f->batch.n_commands, 0);
    assert_int_equal(f->batch.notes[IOCD_NOTE_REBIRTH_LIMITED], limited);
}

static void test_rebirth_request(void **state)
{
    (void)state;
    struct fx *f = fx_new(plant_conf);
    /* iocd restarted: alias-only DATA from a node it has no NBIRTH of */
    assert_int_equal(send(f, DDATA, ddata(7)), IOCD_REJECT_MISSING_FIELD);
    assert_rebirth(f, "PS-01",
                   "Rebirth request to Pleiku/PS-01: DDATA without an NBIRTH seen for "
                   "Pleiku/PS-01");
    assert_int_equal(f->batch.notes[IOCD_NOTE_REBIRTH_LIMITED], 0);
    /* asked once per rebirth_interval (default 30 s) */
    assert_int_equal(send(f, NDATA, ndata(8)), IOCD_REJECT_MISSING_FIELD);
    assert_no_rebirth(f, 1);
    assert_string_equal(f->batch.note_text[IOCD_NOTE_REBIRTH_LIMITED],
                        "no Rebirth requested from Pleiku/PS-01 (NDATA without an NBIRTH seen for "
                        "Pleiku/PS-01): asked 0 ms ago (rebirth_interval)");
    f->received = RECEIVED + 29999;
    assert_int_equal(send(f, NDATA, ndata(9)), IOCD_REJECT_MISSING_FIELD);
    assert_no_rebirth(f, 1);
    assert_string_equal(f->batch.note_text[IOCD_NOTE_REBIRTH_LIMITED],
                        "no Rebirth requested from Pleiku/PS-01 (NDATA without an NBIRTH seen for "
                        "Pleiku/PS-01): asked 29999 ms ago (rebirth_interval)");
    /* another node is asked on its own */
    f->received = RECEIVED;
    assert_int_equal(send(f, "spBv1.0/Pleiku/NDATA/PS-02", ndata(1)), IOCD_REJECT_MISSING_FIELD);
    assert_rebirth(f, "PS-02",
                   "Rebirth request to Pleiku/PS-02: NDATA without an NBIRTH seen for "
                   "Pleiku/PS-02");
    /* the node answers: NBIRTH and DBIRTH, then its DATA resolves, and no
     * request goes out */
    born(f);
    assert_no_rebirth(f, 0);
    assert_int_equal(send(f, DDATA, ddata(2)), IOCD_REJECT_NONE);
    assert_no_rebirth(f, 0);
    assert_obs(f, 0, "Pump-1", "Inputs.Flow_Rate", 40, "m3/h", (int64_t)T0);
    /* a gap 30 s after the first request asks again */
    f->received = RECEIVED + 30000;
    assert_int_equal(send(f, DDATA, ddata(4)), IOCD_REJECT_NONE);
    assert_notes(f, 1, 0);
    assert_int_equal(f->batch.n_commands, 1);
    assert_string_equal(f->batch.commands[0]->topic, "spBv1.0/Pleiku/NCMD/PS-01");
    assert_string_equal(f->batch.commands[0]->why,
                        "Rebirth request to Pleiku/PS-01: sequence gap: expected seq 3, got 4");
    /* an alias the BIRTH did not define, within the interval: limited */
    struct pl *b = pl_new(5, T0);
    set_double(pl_metric(b, NULL, 77, 0, 0), 1.0);
    assert_int_equal(send(f, DDATA, b), IOCD_REJECT_MISSING_FIELD);
    assert_no_rebirth(f, 1);
    assert_string_equal(f->batch.note_text[IOCD_NOTE_REBIRTH_LIMITED],
                        "no Rebirth requested from Pleiku/PS-01 (alias 77 unknown: not in the "
                        "DBIRTH of Pleiku/PS-01/Pump-1): asked 0 ms ago (rebirth_interval)");
    /* ... and after it, asked */
    f->received = RECEIVED + 60000;
    b = pl_new(6, T0);
    set_double(pl_metric(b, NULL, 77, 0, 0), 1.0);
    assert_int_equal(send(f, DDATA, b), IOCD_REJECT_MISSING_FIELD);
    assert_int_equal(f->batch.n_commands, 1);
    assert_string_equal(f->batch.commands[0]->why,
                        "Rebirth request to Pleiku/PS-01: alias 77 unknown: not in the DBIRTH of "
                        "Pleiku/PS-01/Pump-1");
    /* DDATA of a device without a DBIRTH (named metrics decode) */
    f->received = RECEIVED + 90000;
    b = pl_new(7, T0);
    set_double(pl_metric(b, "Level", -1, DT_DOUBLE, 0), 2);
    assert_int_equal(send(f, "spBv1.0/Pleiku/DDATA/PS-01/Tank-2", b), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 1);
    assert_int_equal(f->batch.n_commands, 1);
    assert_string_equal(f->batch.commands[0]->why,
                        "Rebirth request to Pleiku/PS-01: DDATA without a DBIRTH seen for "
                        "Pleiku/PS-01/Tank-2");
    /* DATA after the node's NDEATH, without an NBIRTH since */
    f->received = RECEIVED + 120000;
    assert_int_equal(send(f, NDEATH, pl_new(-1, 0)), IOCD_REJECT_NONE);
    assert_no_rebirth(f, 0);
    assert_int_equal(send(f, NDATA, ndata(8)), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_commands, 1);
    assert_string_equal(f->batch.commands[0]->why,
                        "Rebirth request to Pleiku/PS-01: NDATA after the NDEATH of Pleiku/PS-01, "
                        "without an NBIRTH since");
    fx_free(f);
}

static void test_rebirth_limits(void **state)
{
    (void)state;
    /* rebirth_interval = 0: never asked, nothing noted */
    struct fx *f = fx_new("[adapter plant]\ntopic = spBv1.0/+/+/#\nformat = sparkplug\n"
                          "rebirth_interval = 0\n");
    assert_int_equal(send(f, DDATA, ddata(7)), IOCD_REJECT_MISSING_FIELD);
    assert_no_rebirth(f, 0);
    fx_free(f);
    /* 100 requests a second over all nodes */
    f = fx_new("[adapter plant]\ntopic = spBv1.0/+/+/#\nformat = sparkplug\n"
               "rebirth_interval = 1h\n");
    char topic[64];
    for (int i = 0; i < 101; i++) {
        snprintf(topic, sizeof(topic), "spBv1.0/Pleiku/NDATA/N%d", i);
        assert_int_equal(send(f, topic, ndata(0)), IOCD_REJECT_MISSING_FIELD);
        assert_int_equal(f->batch.n_commands, i < 100 ? 1 : 0);
    }
    assert_string_equal(f->batch.note_text[IOCD_NOTE_REBIRTH_LIMITED],
                        "no Rebirth requested from Pleiku/N100 (NDATA without an NBIRTH seen for "
                        "Pleiku/N100): 100 requests in this second already");
    f->received = RECEIVED + 1000; /* the next second */
    assert_int_equal(send(f, topic, ndata(1)), IOCD_REJECT_MISSING_FIELD);
    assert_int_equal(f->batch.n_commands, 1);
    /* the first node again within its hour */
    assert_int_equal(send(f, "spBv1.0/Pleiku/NDATA/N0", ndata(1)), IOCD_REJECT_MISSING_FIELD);
    assert_no_rebirth(f, 1);
    fx_free(f);
    /* max_devices reached: the node cannot be tracked, so it is not asked */
    f = fx_new("[adapter plant]\ntopic = spBv1.0/+/+/#\nformat = sparkplug\nmax_devices = 1\n");
    assert_int_equal(send(f, NDATA, ndata(0)), IOCD_REJECT_MISSING_FIELD);
    assert_int_equal(f->batch.n_commands, 1);
    assert_int_equal(send(f, "spBv1.0/Pleiku/NDATA/PS-02", ndata(0)), IOCD_REJECT_MISSING_FIELD);
    assert_no_rebirth(f, 1);
    assert_string_equal(f->batch.note_text[IOCD_NOTE_REBIRTH_LIMITED],
                        "no Rebirth requested from Pleiku/PS-02 (NDATA without an NBIRTH seen for "
                        "Pleiku/PS-02): already tracking 1 edge nodes and devices (max_devices)");
    fx_free(f);
}

/* An NBIRTH of PS-01 with bdSeq `bd`. */
static struct pl *nbirth_bd(int seq, uint64_t bd)
{
    struct pl *b = pl_new(seq, T0);
    set_long(pl_metric(b, "bdSeq", 0, DT_UINT64, T0), bd);
    set_float(pl_metric(b, "Supply Voltage", 4, DT_FLOAT, T0), 12.5f);
    return b;
}

static struct pl *ndeath_bd(uint64_t bd)
{
    struct pl *b = pl_new(-1, T0 - 3600000);
    set_long(pl_metric(b, "bdSeq", -1, DT_UINT64, 0), bd);
    return b;
}

static void test_ndeath_devices(void **state)
{
    (void)state;
    struct fx *f = fx_new("[adapter plant]\ntopic = spBv1.0/+/+/#\nformat = sparkplug\n"
                          "device_format = group.edge.device\n");
    assert_int_equal(send(f, NBIRTH, nbirth_bd(0, 4)), IOCD_REJECT_NONE);
    assert_int_equal(send(f, DBIRTH, dbirth(1)), IOCD_REJECT_NONE);
    assert_int_equal(send(f, "spBv1.0/Pleiku/DBIRTH/PS-01/Valve-3", dbirth(2)), IOCD_REJECT_NONE);
    /* the will of an earlier session, delivered late: stale, ignored */
    assert_int_equal(send(f, NDEATH, ndeath_bd(3)), IOCD_REJECT_STALE);
    assert_string_equal(f->batch.detail,
                        "NDEATH of Pleiku/PS-01: bdSeq 3 is not the 4 of its NBIRTH (a death from "
                        "an earlier session); ignored");
    assert_int_equal(f->batch.n_events, 0);
    /* still alive: its sequence goes on unchecked by the stale death */
    assert_int_equal(send(f, DDATA, ddata(3)), IOCD_REJECT_NONE);
    assert_notes(f, 0, 0);
    assert_no_rebirth(f, 0);
    /* one device dies on its own */
    assert_int_equal(send(f, "spBv1.0/Pleiku/DDEATH/PS-01/Valve-3", pl_new(4, T0 + 5000)),
                     IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_events, 1);
    /* the node's own death: the node and the device still alive go offline */
    assert_int_equal(send(f, NDEATH, ndeath_bd(4)), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 0);
    assert_int_equal(f->batch.n_events, 2);
    assert_event(f, 0, "device_offline", IOC__V1__SEVERITY__SEVERITY_WARNING,
                 "edge node Pleiku/PS-01 offline", "Pleiku.PS-01", RECEIVED, "Pleiku", "PS-01",
                 NULL);
    assert_event(f, 1, "device_offline", IOC__V1__SEVERITY__SEVERITY_WARNING,
                 "device Pleiku/PS-01/Pump-1 offline (NDEATH of its edge node)",
                 "Pleiku.PS-01.Pump-1", RECEIVED, "Pleiku", "PS-01", "Pump-1");
    /* a second copy of the same death changes nothing more for the devices */
    assert_int_equal(send(f, NDEATH, ndeath_bd(4)), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_events, 1);
    /* born again with bdSeq 5: a death with 4 is now stale; without a bdSeq
     * it cannot be told, and counts */
    assert_int_equal(send(f, NBIRTH, nbirth_bd(0, 5)), IOCD_REJECT_NONE);
    assert_int_equal(send(f, DBIRTH, dbirth(1)), IOCD_REJECT_NONE);
    assert_int_equal(send(f, NDEATH, ndeath_bd(4)), IOCD_REJECT_STALE);
    assert_int_equal(send(f, NDEATH, pl_new(-1, 0)), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_events, 2);
    assert_event(f, 1, "device_offline", IOC__V1__SEVERITY__SEVERITY_WARNING,
                 "device Pleiku/PS-01/Pump-1 offline (NDEATH of its edge node)",
                 "Pleiku.PS-01.Pump-1", RECEIVED, "Pleiku", "PS-01", "Pump-1");
    /* after an iocd restart: devices known from their DDATA go offline with
     * the node (its bdSeq unknown: the death counts) */
    fx_free(f);
    f = fx_new(plant_conf);
    assert_int_equal(send(f, DDATA, ddata(5)), IOCD_REJECT_MISSING_FIELD);
    assert_int_equal(send(f, NDEATH, ndeath_bd(9)), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_events, 2);
    assert_event(f, 1, "device_offline", IOC__V1__SEVERITY__SEVERITY_WARNING,
                 "device Pleiku/PS-01/Pump-1 offline (NDEATH of its edge node)", "Pump-1",
                 RECEIVED, "Pleiku", "PS-01", "Pump-1");
    fx_free(f);
}

static void test_device_format(void **state)
{
    (void)state;
    struct fx *f = fx_new("[adapter plant]\nformat = sparkplug\ndevice_format = edge.device\n");
    born(f);
    assert_obs(f, 0, "PS-01.Pump-1", "Inputs.Flow_Rate", 41.5, "m3/h", (int64_t)T0 + 100);
    assert_event(f, 0, "device_online", IOC__V1__SEVERITY__SEVERITY_INFO,
                 "device Pleiku/PS-01/Pump-1 online", "PS-01.Pump-1", (int64_t)T0 + 100, "Pleiku",
                 "PS-01", "Pump-1");
    assert_int_equal(send(f, NDATA, ndata(2)), IOCD_REJECT_NONE);
    assert_obs(f, 0, "PS-01", "Supply_Voltage", 12, "V", (int64_t)T0);
    fx_free(f);

    f = fx_new("[adapter plant]\ndevice_format = group.edge.device\n");
    born(f);
    assert_obs(f, 0, "Pleiku.PS-01.Pump-1", "Inputs.Flow_Rate", 41.5, "m3/h", (int64_t)T0 + 100);
    assert_int_equal(send(f, NDEATH, pl_new(-1, 0)), IOCD_REJECT_NONE);
    assert_event(f, 0, "device_offline", IOC__V1__SEVERITY__SEVERITY_WARNING,
                 "edge node Pleiku/PS-01 offline", "Pleiku.PS-01", RECEIVED, "Pleiku", "PS-01",
                 NULL);
    /* the combined id must fit 128 bytes */
    char topic[300], id[65];
    memset(id, 'g', 64);
    id[64] = '\0';
    snprintf(topic, sizeof(topic), "spBv1.0/%s/NDATA/%s-%s", id, id, "edge");
    assert_int_equal(send(f, topic, ndata(1)), IOCD_REJECT_BAD_ID);
    assert_string_equal(f->batch.detail,
                        "device id 'gggggggggggggggggggggggggggggggggggggggggggg...' "
                        "(device_format) is longer than 128 bytes");
    fx_free(f);
}

static void test_limits(void **state)
{
    (void)state;
    struct fx *f = fx_new("[adapter plant]\nmax_devices = 3\nmax_metrics = 2\n");
    assert_int_equal(send(f, "spBv1.0/G/NBIRTH/A", nbirth(0)), IOCD_REJECT_NONE);
    /* max_metrics: 6 named metrics, the first two learned */
    assert_notes(f, 0, 1);
    assert_string_equal(f->batch.note_detail,
                        "NBIRTH of G/A: 6 named metrics, only the first 2 (max_metrics) are "
                        "learned");
    assert_int_equal(f->batch.n_obs, 2); /* the values are all ingested */
    struct pl *b = pl_new(1, T0);
    set_long(pl_metric(b, NULL, 1, 0, 0), 1);
    set_float(pl_metric(b, NULL, 4, 0, 0), 12.0f);
    assert_int_equal(send(f, "spBv1.0/G/NDATA/A", b), IOCD_REJECT_MISSING_FIELD);
    assert_string_equal(f->batch.detail, "alias 4 unknown: not in the NBIRTH of G/A");

    assert_int_equal(send(f, "spBv1.0/G/NBIRTH/B", nbirth(0)), IOCD_REJECT_NONE);
    assert_int_equal(send(f, "spBv1.0/G/DBIRTH/A/D1", dbirth(2)), IOCD_REJECT_NONE);
    /* 3 entries: a new node or device is refused, known ones go on */
    assert_int_equal(send(f, "spBv1.0/G/NBIRTH/C", nbirth(0)), IOCD_REJECT_SERIES_LIMIT);
    assert_string_equal(f->batch.detail,
                        "edge node G/C: already tracking 3 edge nodes and devices (max_devices)");
    assert_int_equal(send(f, "spBv1.0/G/DBIRTH/A/D2", dbirth(3)), IOCD_REJECT_SERIES_LIMIT);
    assert_string_equal(f->batch.detail,
                        "device G/A/D2: already tracking 3 edge nodes and devices (max_devices)");
    assert_int_equal(send(f, "spBv1.0/G/DBIRTH/C/D1", dbirth(0)), IOCD_REJECT_SERIES_LIMIT);
    assert_int_equal(send(f, "spBv1.0/G/NBIRTH/B", nbirth(0)), IOCD_REJECT_NONE);
    assert_int_equal(send(f, "spBv1.0/G/DBIRTH/A/D1", dbirth(4)), IOCD_REJECT_NONE);
    /* a rebirth of A frees D1's slot */
    assert_int_equal(send(f, "spBv1.0/G/NBIRTH/A", nbirth(0)), IOCD_REJECT_NONE);
    assert_int_equal(send(f, "spBv1.0/G/DBIRTH/A/D2", dbirth(1)), IOCD_REJECT_NONE);
    assert_int_equal(send(f, "spBv1.0/G/DBIRTH/A/D1", dbirth(2)), IOCD_REJECT_SERIES_LIMIT);
    /* data of an untracked device is decoded as far as it can be */
    assert_int_equal(send(f, "spBv1.0/G/DDATA/C/D1", ddata(0)), IOCD_REJECT_MISSING_FIELD);
    assert_string_equal(f->batch.detail, "alias 10 unknown: no BIRTH seen for G/C/D1");
    fx_free(f);

    /* a DBIRTH that needs both a node and a device entry */
    f = fx_new("[adapter plant]\nmax_devices = 1\n");
    assert_int_equal(send(f, DBIRTH, dbirth(0)), IOCD_REJECT_SERIES_LIMIT);
    assert_string_equal(f->batch.detail,
                        "device Pleiku/PS-01/Pump-1: already tracking 0 edge nodes and devices "
                        "(max_devices)");
    assert_int_equal(send(f, NBIRTH, nbirth(0)), IOCD_REJECT_NONE);
    fx_free(f);
}

/* ---- malformed input and topics ---- */

static size_t put_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    do {
        p[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    return n;
}

static size_t varint_len(uint64_t v)
{
    uint8_t tmp[10];
    return put_varint(tmp, v);
}

/* A Payload of one Metric holding a Template holding a Metric ... `levels`
 * templates deep: the sizes from the inside out, then the bytes from the
 * outside in. */
static uint8_t *nested_templates(size_t levels, size_t *len)
{
    size_t *metric = calloc(levels + 1, sizeof(*metric)); /* Metric sizes */
    size_t *tmpl = calloc(levels + 1, sizeof(*tmpl));     /* Template sizes */
    assert_true(metric && tmpl);
    for (size_t k = 1; k <= levels; k++) {
        /* Template{metrics (2) = Metric k-1}; Metric{template_value (18)} */
        tmpl[k] = 1 + varint_len(metric[k - 1]) + metric[k - 1];
        metric[k] = 2 + varint_len(tmpl[k]) + tmpl[k];
    }
    *len = 1 + varint_len(metric[levels]) + metric[levels];
    uint8_t *b = malloc(*len);
    assert_non_null(b);
    size_t i = 0;
    b[i++] = 0x12; /* Payload.metrics */
    i += put_varint(b + i, metric[levels]);
    for (size_t k = levels; k >= 1; k--) {
        b[i++] = 0x92;
        b[i++] = 0x01;
        i += put_varint(b + i, tmpl[k]);
        b[i++] = 0x12;
        i += put_varint(b + i, metric[k - 1]);
    }
    assert_int_equal(i, *len);
    free(metric);
    free(tmpl);
    return b;
}

static void test_malformed(void **state)
{
    (void)state;
    struct fx *f = fx_new(plant_conf);
    born(f);
    size_t len;
    uint8_t *good = pl_pack(ddata(2), &len);
    /* truncated: the last byte missing */
    assert_int_equal(decode(f, DDATA, good, len - 1), IOCD_REJECT_MALFORMED);
    assert_string_equal(f->batch.detail,
                        "DDATA of Pleiku/PS-01/Pump-1: not a Sparkplug B protobuf payload (bad "
                        "framing or nested deeper than 32)");
    free(good);
    /* JSON is not protobuf */
    const char *json = "{\"timestamp\":1,\"metrics\":[]}";
    assert_int_equal(decode(f, DDATA, (const uint8_t *)json, strlen(json)), IOCD_REJECT_MALFORMED);
    /* well framed but the wrong wire type for a field protobuf-c knows:
     * metrics (2) as a varint */
    static const uint8_t wrong_wt[] = {0x10, 0x01};
    assert_int_equal(decode(f, DDATA, wrong_wt, sizeof(wrong_wt)), IOCD_REJECT_MALFORMED);
    assert_string_equal(f->batch.detail,
                        "DDATA of Pleiku/PS-01/Pump-1: not a Sparkplug B protobuf payload");
    /* a group (wire type 3) */
    static const uint8_t group[] = {0x0b, 0x0c};
    assert_int_equal(decode(f, DDATA, group, sizeof(group)), IOCD_REJECT_MALFORMED);
    /* a varint of 11 bytes */
    static const uint8_t varint[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff,
                                     0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    assert_int_equal(decode(f, DDATA, varint, sizeof(varint)), IOCD_REJECT_MALFORMED);

    /* nesting: 15 template levels fit, 16 are too deep */
    uint8_t *deep = nested_templates(15, &len);
    assert_int_equal(decode(f, DDATA, deep, len), IOCD_REJECT_MISSING_FIELD);
    assert_string_equal(f->batch.detail,
                        "a metric of Pleiku/PS-01/Pump-1 has neither name nor alias");
    free(deep);
    deep = nested_templates(16, &len);
    assert_int_equal(decode(f, DDATA, deep, len), IOCD_REJECT_MALFORMED);
    free(deep);
    deep = nested_templates(100000, &len);
    assert_int_equal(decode(f, DDATA, deep, len), IOCD_REJECT_MALFORMED);
    free(deep);
    fx_free(f);
}

static void test_topics(void **state)
{
    (void)state;
    struct fx *f = fx_new(plant_conf);
    size_t len;
    uint8_t *buf = pl_pack(ndata(0), &len);
    static const struct {
        const char *topic;
        enum iocd_reject r;
        const char *detail;
    } cases[] = {
        {"spBv1.0/Pleiku/NCMD/PS-01", IOCD_REJECT_NO_ROUTE,
         "command/state messages are not ingested"},
        {"spBv1.0/Pleiku/DCMD/PS-01/Pump-1", IOCD_REJECT_NO_ROUTE,
         "command/state messages are not ingested"},
        {"spBv1.0/STATE/scada-host", IOCD_REJECT_NO_ROUTE,
         "command/state messages are not ingested"},
        {"spAv1.0/Pleiku/NDATA/PS-01", IOCD_REJECT_NO_ROUTE,
         "topic namespace 'spAv1.0' is not spBv1.0 (Sparkplug B)"},
        {"STATE/scada-host", IOCD_REJECT_NO_ROUTE,
         "topic namespace 'STATE' is not spBv1.0 (Sparkplug B)"},
        {"", IOCD_REJECT_NO_ROUTE, "topic namespace '' is not spBv1.0 (Sparkplug B)"},
        {"spBv1.0/Pleiku/NDATA", IOCD_REJECT_MALFORMED,
         "topic is not spBv1.0/GROUP/TYPE/EDGE[/DEVICE]"},
        {"spBv1.0/Pleiku/DDATA/PS-01/Pump-1/x", IOCD_REJECT_MALFORMED,
         "topic is not spBv1.0/GROUP/TYPE/EDGE[/DEVICE]"},
        {"spBv1.0/Pleiku/DDATA/PS-01/Pump-1/x/y/z/w", IOCD_REJECT_MALFORMED,
         "topic is not spBv1.0/GROUP/TYPE/EDGE[/DEVICE]"},
        {"spBv1.0/Pleiku/DDATA/PS-01", IOCD_REJECT_MALFORMED, "DDATA topic has no device id level"},
        {"spBv1.0/Pleiku/NDATA/PS-01/Pump-1", IOCD_REJECT_MALFORMED,
         "NDATA topic has a level after the edge node id"},
        {"spBv1.0/Pleiku/ndata/PS-01", IOCD_REJECT_MALFORMED,
         "topic message type 'ndata' is not a Sparkplug B type"},
        {"spBv1.0//NDATA/PS-01", IOCD_REJECT_MALFORMED, "topic group id '' is empty"},
        {"spBv1.0/Pleiku/DDATA/PS-01/", IOCD_REJECT_MALFORMED, "topic device id '' is empty"},
        {"spBv1.0/Pleiku/NDATA/PS\x01", IOCD_REJECT_BAD_ID,
         "topic edge node id 'PS?' contains a control character"},
        {"spBv1.0/Pleiku/NDATA/PS+1", IOCD_REJECT_BAD_ID,
         "topic edge node id 'PS+1' contains '+' or '#'"},
        {"spBv1.0/Pl\xc3/NDATA/PS-01", IOCD_REJECT_BAD_ID,
         "topic group id 'Pl?' is not valid UTF-8"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum iocd_reject r = decode(f, cases[i].topic, buf, len);
        if (r != cases[i].r)
            fail_msg("%s: %s, expected %s", cases[i].topic, iocd_reject_name(r),
                     iocd_reject_name(cases[i].r));
        assert_string_equal(f->batch.detail, cases[i].detail);
    }
    /* a 129-byte device id */
    char topic[200], id[130];
    memset(id, 'd', 129);
    id[129] = '\0';
    snprintf(topic, sizeof(topic), "spBv1.0/Pleiku/DDATA/PS-01/%s", id);
    assert_int_equal(decode(f, topic, buf, len), IOCD_REJECT_BAD_ID);
    assert_string_equal(f->batch.detail,
                        "topic device id 'dddddddddddddddddddddddddddddddddddddddddddd...' is "
                        "longer than 128 bytes");
    /* UTF-8 ids are fine */
    assert_int_equal(send(f, "spBv1.0/Pleiku/NBIRTH/Trạm-01", nbirth(0)), IOCD_REJECT_NONE);
    assert_obs(f, 0, "Trạm-01", "Supply_Voltage", 12.5, "V", (int64_t)T0);
    free(buf);
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_nbirth),
        cmocka_unit_test(test_dbirth_ddata),
        cmocka_unit_test(test_numeric_types),
        cmocka_unit_test(test_value_errors),
        cmocka_unit_test(test_skipped_metrics),
        cmocka_unit_test(test_times_and_quality),
        cmocka_unit_test(test_metric_names),
        cmocka_unit_test(test_seq),
        cmocka_unit_test(test_data_before_birth),
        cmocka_unit_test(test_rebirth),
        cmocka_unit_test(test_death),
        cmocka_unit_test(test_rebirth_request),
        cmocka_unit_test(test_rebirth_limits),
        cmocka_unit_test(test_ndeath_devices),
        cmocka_unit_test(test_device_format),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_topics),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
