/* tests/unit/test_ngsi_adapter.c — the ngsi adapter (adapters/ngsi.c): every
 * FIWARE Smart Data Models example in tests/data/ngsi decoded to exact
 * Observations (series, values, units, times, labels, location), NGSI-LD
 * normalized and keyValues entities, v2 and LD notifications, the unit
 * rules, the time rules, every reject reason, and create() errors with file
 * and line. The example files are found from this source file's path as
 * the compiler saw it (meson passes it relative to the build directory,
 * where `meson test` runs tests). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "adapters/adapter.h"

extern const struct iocd_adapter_ops iocd_adapter_ngsi;
#define FX_OPS iocd_adapter_ngsi
#include "adapter_fixture.h"

#define T_AQ INT64_C(1458039600000)     /* 2016-03-15T11:00:00Z */
#define T_AQ_END INT64_C(1458043200000) /* 2016-03-15T12:00:00Z */
#define T_AQ_NO2 INT64_C(1458039540000) /* 2016-03-15T10:59:00Z */

#define GOOD IOC__V1__QUALITY__QUALITY_GOOD
#define SUSPECT IOC__V1__QUALITY__QUALITY_SUSPECT

static const char city_conf[] = "[adapter city]\ntopic = city/ngsi/#\nformat = ngsi\n";

static enum iocd_reject decode_n(struct fx *f, const void *payload, size_t len)
{
    iocd_batch_reset(&f->batch);
    struct iocd_message m = {.topic = "city/ngsi/x", .payload = payload, .len = len,
                             .received_ms = RECEIVED};
    enum iocd_reject r = iocd_adapter_ngsi.decode(f->state, &m, &f->batch);
    assert_int_equal(f->batch.n_events, 0);
    if (r == IOCD_REJECT_NONE) {
        assert_true(f->batch.n_obs > 0);
    } else {
        assert_int_equal(f->batch.n_obs, 0); /* a reject keeps nothing */
        assert_true(f->batch.detail[0] != '\0');
    }
    return r;
}

/* The payload is copied to a buffer of exactly its length, so reading past
 * it is caught under ASan. */
static enum iocd_reject decode(struct fx *f, const char *payload)
{
    size_t n = strlen(payload);
    char *copy = malloc(n ? n : 1);
    assert_non_null(copy);
    memcpy(copy, payload, n);
    enum iocd_reject r = decode_n(f, copy, n);
    free(copy);
    return r;
}

/* tests/data/ngsi/NAME, read into a buffer of exactly its size. */
static char *read_data(const char *name, size_t *len)
{
    const char *self = __FILE__;
    const char *slash = strrchr(self, '/');
    char path[4096];
    snprintf(path, sizeof(path), "%.*s/../data/ngsi/%s", slash ? (int)(slash - self) : 1,
             slash ? self : ".", name);
    FILE *fp = fopen(path, "rb");
    if (!fp)
        fail_msg("cannot open %s (run the tests with meson test from the build directory)", path);
    char tmp[1 << 16];
    size_t n = fread(tmp, 1, sizeof(tmp), fp);
    assert_true(n < sizeof(tmp));
    assert_int_equal(ferror(fp), 0);
    fclose(fp);
    char *buf = malloc(n ? n : 1);
    assert_non_null(buf);
    memcpy(buf, tmp, n);
    *len = n;
    return buf;
}

static enum iocd_reject decode_file(struct fx *f, const char *name)
{
    size_t n;
    char *buf = read_data(name, &n);
    enum iocd_reject r = decode_n(f, buf, n);
    free(buf);
    return r;
}

struct want {
    const char *metric;
    double value;
    const char *unit;
    int64_t observed_ms;
};

struct where {
    bool set;
    double lat, lon;
};

static const struct where NOWHERE = {false, 0, 0};

/* Observations [first, first + n) of the batch are exactly `w`, in order,
 * all from source "city" and `device`, with `quality`, the labels "k=v|..."
 * in order, and the location `loc`. */
static void assert_entity(const struct fx *f, size_t first, const char *device, const char *labels,
                          struct where loc, Ioc__V1__Quality quality, const struct want *w,
                          size_t n)
{
    assert_true(first + n <= f->batch.n_obs);
    for (size_t i = 0; i < n; i++) {
        const Ioc__V1__Observation *o = f->batch.obs[first + i];
        assert_string_equal(o->source, "city");
        assert_string_equal(o->device, device);
        assert_string_equal(o->metric, w[i].metric);
        if (o->value != w[i].value)
            fail_msg("obs %zu (%s): value %.17g, expected %.17g", first + i, w[i].metric, o->value,
                     w[i].value);
        if (strcmp(o->unit, w[i].unit) != 0)
            fail_msg("obs %zu (%s): unit '%s', expected '%s'", first + i, w[i].metric, o->unit,
                     w[i].unit);
        if (o->observed_ms != w[i].observed_ms)
            fail_msg("obs %zu (%s): observed %lld, expected %lld", first + i, w[i].metric,
                     (long long)o->observed_ms, (long long)w[i].observed_ms);
        assert_int_equal(o->received_ms, RECEIVED);
        assert_int_equal(o->quality, quality);
        char got[1024] = "";
        size_t off = 0;
        for (size_t k = 0; k < o->n_labels; k++)
            off += (size_t)snprintf(got + off, sizeof(got) - off, "%s%s=%s", k ? "|" : "",
                                    o->labels[k]->key, o->labels[k]->value);
        if (strcmp(got, labels) != 0)
            fail_msg("obs %zu (%s): labels '%s', expected '%s'", first + i, w[i].metric, got,
                     labels);
        if (loc.set) {
            assert_non_null(o->location);
            assert_true(o->location->lat == loc.lat);
            assert_true(o->location->lon == loc.lon);
        } else {
            assert_null(o->location);
        }
    }
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- the Smart Data Models examples ---- */

static const struct where MADRID = {true, 40.423852777777775, -3.712247222222222};
#define AQ_ID "Madrid-AmbientObserved-28079004-2016-03-15T11:00:00"

static void test_air_quality_v2_normalized(void **state)
{
    (void)state;
    struct fx *f = fx_new(city_conf);
    assert_int_equal(decode_file(f, "AirQualityObserved.example-normalized.json"),
                     IOCD_REJECT_NONE);
    /* dateObserved has no offset: UTC (time_offset defaults to +00:00) */
    static const struct want w[] = {
        {"co", 500, "mg/m3", T_AQ},          {"temperature", 12.2, "Cel", T_AQ},
        {"no", 45, "ug/m3", T_AQ},           {"winddirection", 176, "deg", T_AQ},
        {"windspeed", 0.64, "m/s", T_AQ},    {"so2", 11, "ug/m3", T_AQ},
        {"nox", 139, "ug/m3", T_AQ},         {"airqualityindex", 65, "1", T_AQ},
        {"reliability", 0.7, "1", T_AQ},     {"relativehumidity", 0.54, "1", T_AQ},
        {"precipitation", 0, "mm", T_AQ},    {"no2", 69, "ug/m3", T_AQ},
        {"pm4", 37, "ug/m3", T_AQ},          {"tpc", 108, "", T_AQ},
        {"tsp", 73, "ug/m3", T_AQ},          {"pressure", 1.1, "hPa", T_AQ},
        {"charge", 5, "V", T_AQ},
    };
    assert_int_equal(f->batch.n_obs, N(w));
    assert_entity(f, 0, AQ_ID,
                  "type=AirQualityObserved|areaserved=Brooklands|airqualitylevel=moderate|"
                  "typeoflocation=outdoor|colevel=moderate",
                  MADRID, GOOD, w, N(w));
    assert_int_equal(f->batch.notes[IOCD_NOTE_PARTIAL], 0);
    fx_free(f);
}

static void test_air_quality_v2_keyvalues(void **state)
{
    (void)state;
    struct fx *f = fx_new(city_conf);
    assert_int_equal(decode_file(f, "AirQualityObserved.example.json"), IOCD_REJECT_NONE);
    /* dateObserved "2016-03-15T11:00:00/2016-03-15T12:00:00": the end */
    static const struct want w[] = {
        {"precipitation", 0, "mm", T_AQ_END},  {"relativehumidity", 0.54, "1", T_AQ_END},
        {"temperature", 12.2, "Cel", T_AQ_END}, {"winddirection", 176, "deg", T_AQ_END},
        {"windspeed", 0.64, "m/s", T_AQ_END},  {"airqualityindex", 65, "1", T_AQ_END},
        {"reliability", 0.7, "1", T_AQ_END},   {"co", 500, "ug/m3", T_AQ_END},
        {"no", 45, "ug/m3", T_AQ_END},         {"co2", 69, "", T_AQ_END},
        {"nox", 139, "ug/m3", T_AQ_END},       {"so2", 11, "ug/m3", T_AQ_END},
    };
    assert_int_equal(f->batch.n_obs, N(w));
    assert_entity(f, 0, AQ_ID,
                  "type=AirQualityObserved|areaserved=Brooklands|typeoflocation=outdoor|"
                  "airqualitylevel=moderate|colevel=moderate",
                  MADRID, GOOD, w, N(w));
    fx_free(f);
}

static void test_air_quality_ld_examples(void **state)
{
    (void)state;
    struct fx *f = fx_new(city_conf);
    assert_int_equal(decode_file(f, "AirQualityObserved.example-normalized.jsonld"),
                     IOCD_REJECT_NONE);
    static const struct want wn[] = {
        {"co", 500, "mg/m3", T_AQ},         {"no", 45, "ug/m3", T_AQ},
        {"no2", 69, "ug/m3", T_AQ},         {"nox", 139, "ug/m3", T_AQ},
        {"so2", 11, "ug/m3", T_AQ},         {"airqualityindex", 65, "1", T_AQ},
        {"precipitation", 0, "mm", T_AQ},   {"relativehumidity", 0.54, "1", T_AQ},
        {"reliability", 0.7, "1", T_AQ},    {"temperature", 12.2, "Cel", T_AQ},
        {"winddirection", 186, "deg", T_AQ}, {"windspeed", 0.64, "m/s", T_AQ},
        {"pm4", 37, "ug/m3", T_AQ},         {"tpc", 108, "", T_AQ},
        {"tsp", 73.3, "ug/m3", T_AQ},       {"pressure", 1.1, "hPa", T_AQ},
        {"charge", 5, "V", T_AQ},
    };
    const char *labels = "type=AirQualityObserved|colevel=moderate|airqualitylevel=moderate|"
                         "areaserved=Brooklands|typeoflocation=outdoor";
    const char *dev = "urn:ngsi-ld:AirQualityObserved:" AQ_ID;
    assert_int_equal(f->batch.n_obs, N(wn));
    assert_entity(f, 0, dev, labels, MADRID, GOOD, wn, N(wn));

    assert_int_equal(decode_file(f, "AirQualityObserved.example.jsonld"), IOCD_REJECT_NONE);
    static const struct want wk[] = {
        {"co", 500, "ug/m3", T_AQ},         {"no", 45, "ug/m3", T_AQ},
        {"no2", 69, "ug/m3", T_AQ},         {"nox", 139, "ug/m3", T_AQ},
        {"so2", 11, "ug/m3", T_AQ},         {"airqualityindex", 65, "1", T_AQ},
        {"precipitation", 0, "mm", T_AQ},   {"relativehumidity", 0.54, "1", T_AQ},
        {"reliability", 0.7, "1", T_AQ},    {"temperature", 12.2, "Cel", T_AQ},
        {"winddirection", 180, "deg", T_AQ}, {"windspeed", 0.64, "m/s", T_AQ},
    };
    assert_int_equal(f->batch.n_obs, N(wk));
    assert_entity(f, 0, dev, labels, MADRID, GOOD, wk, N(wk));
    fx_free(f);
}

/* Our own NGSI-LD versions of the example: normalized (unitCode, observedAt,
 * a typed DateTime, upper-case names) and keyValues. Same series. */
static void test_air_quality_ld_own(void **state)
{
    (void)state;
    struct fx *f = fx_new(city_conf);
    const char *dev = "urn:ngsi-ld:AirQualityObserved:Madrid-AmbientObserved-28079004";
    const char *labels = "type=AirQualityObserved|areaserved=Brooklands|airqualitylevel=moderate|"
                         "typeoflocation=outdoor|co_level=moderate";
    assert_int_equal(decode_file(f, "iocd-AirQualityObserved.ld-normalized.jsonld"),
                     IOCD_REJECT_NONE);
    static const struct want wn[] = {
        {"co", 500, "mg/m3", T_AQ},          {"temperature", 12.2, "Cel", T_AQ},
        {"no", 45, "ug/m3", T_AQ},           {"winddirection", 176, "deg", T_AQ},
        {"windspeed", 0.64, "m/s", T_AQ},    {"so2", 11, "ug/m3", T_AQ},
        {"nox", 139, "ug/m3", T_AQ},         {"airqualityindex", 65, "1", T_AQ},
        {"reliability", 0.7, "1", T_AQ},     {"relativehumidity", 0.54, "1", T_AQ},
        {"precipitation", 0, "mm", T_AQ},    {"no2", 69, "ug/m3", T_AQ_NO2}, /* observedAt */
    };
    assert_int_equal(f->batch.n_obs, N(wn));
    assert_entity(f, 0, dev, labels, MADRID, GOOD, wn, N(wn));

    assert_int_equal(decode_file(f, "iocd-AirQualityObserved.ld-keyvalues.jsonld"),
                     IOCD_REJECT_NONE);
    /* keyValues carries no unitCode: co falls back to the default ug/m3 */
    static const struct want wk[] = {
        {"co", 500, "ug/m3", T_AQ},          {"temperature", 12.2, "Cel", T_AQ},
        {"no", 45, "ug/m3", T_AQ},           {"winddirection", 176, "deg", T_AQ},
        {"windspeed", 0.64, "m/s", T_AQ},    {"so2", 11, "ug/m3", T_AQ},
        {"nox", 139, "ug/m3", T_AQ},         {"airqualityindex", 65, "1", T_AQ},
        {"reliability", 0.7, "1", T_AQ},     {"relativehumidity", 0.54, "1", T_AQ},
        {"precipitation", 0, "mm", T_AQ},    {"no2", 69, "ug/m3", T_AQ},
    };
    assert_int_equal(f->batch.n_obs, N(wk));
    assert_entity(f, 0, dev, labels, MADRID, GOOD, wk, N(wk));
    fx_free(f);
}

static void test_traffic_flow(void **state)
{
    (void)state;
    struct fx *f = fx_new(city_conf);
    assert_int_equal(decode_file(f, "TrafficFlowObserved.example.json"), IOCD_REJECT_NONE);
    const int64_t t = INT64_C(1481109300000); /* end of 11:10/11:15 */
    static const struct want w[] = {
        {"averageheadwaytime", 0.5, "s", 0}, {"intensity", 197, "1", 0},
        {"occupancy", 0.76, "1", 0},          {"averagevehiclespeed", 52.6, "km/h", 0},
        {"averagevehiclelength", 9.87, "m", 0},
    };
    struct want ww[N(w)];
    for (size_t i = 0; i < N(w); i++) {
        ww[i] = w[i];
        ww[i].observed_ms = t;
    }
    assert_int_equal(f->batch.n_obs, N(w));
    /* laneId is an identifier: a label; a LineString gives no location */
    assert_entity(f, 0, "TrafficFlowObserved-Valladolid-osm-60821110",
                  "type=TrafficFlowObserved|laneid=1|lanedirection=forward", NOWHERE, GOOD, ww,
                  N(ww));
    fx_free(f);
}

static void test_water_quality(void **state)
{
    (void)state;
    struct fx *f = fx_new(city_conf);
    assert_int_equal(decode_file(f, "WaterQualityObserved.example.json"), IOCD_REJECT_NONE);
    const int64_t t = INT64_C(1485845100000); /* 2017-01-31T06:45:00Z */
    const struct want w[] = {
        {"temperature", 24.4, "Cel", t},
        {"conductivity", 0.005, "S/m", t},
        {"ph", 7.4, "[pH]", t},
        {"no3", 0.01, "mg/L", t}, /* measurand "NO3, 0.01, M1, ..." */
    };
    assert_int_equal(f->batch.n_obs, N(w));
    assert_entity(f, 0, "waterqualityobserved:Sevilla:D1", "type=WaterQualityObserved",
                  (struct where){true, 37.362882, -5.993307}, GOOD, w, N(w));
    fx_free(f);
}

static void test_flood_monitoring(void **state)
{
    (void)state;
    struct fx *f = fx_new(city_conf);
    assert_int_equal(decode_file(f, "FloodMonitoring.example.json"), IOCD_REJECT_NONE);
    const int64_t t = INT64_C(1600243200000); /* 2020-09-16T13:30:00+05:30 */
    const struct want w[] = {
        {"alertlevel", 10, "m", t},  {"measureddistance", 3.22, "m", t},
        {"currentlevel", 0.98, "m", t}, {"dangerlevel", 25, "m", t},
        {"referencelevel", 4.2, "m", t},
    };
    const char *dev = "urn:ngsi-ld:FloodMonitoring:Pune-NoiseLevelObserved";
    const char *labels = "type=FloodMonitoring|floodlevelstatus=Normal|stationid=FWR013";
    assert_int_equal(f->batch.n_obs, N(w));
    assert_entity(f, 0, dev, labels, NOWHERE, GOOD, w, N(w));

    /* the model's own NGSI-LD example: unitCode MTR, types "string" */
    assert_int_equal(decode_file(f, "FloodMonitoring.example-normalized.jsonld"),
                     IOCD_REJECT_NONE);
    const struct want wl[] = {
        {"alertlevel", 11, "m", t},   {"currentlevel", 1.98, "m", t},
        {"dangerlevel", 26, "m", t},  {"measureddistance", 4.22, "m", t},
        {"referencelevel", 4.2, "m", t},
    };
    assert_int_equal(f->batch.n_obs, N(wl));
    assert_entity(f, 0, dev, labels, NOWHERE, GOOD, wl, N(wl));
    fx_free(f);
}

static void test_streetlight(void **state)
{
    (void)state;
    struct fx *f = fx_new(city_conf);
    assert_int_equal(decode_file(f, "Streetlight.example.json"), IOCD_REJECT_NONE);
    const int64_t t = INT64_C(1610360462000); /* 2021-01-11T15:51:02+05:30 */
    const struct want w[] = {
        {"lanternheight", 10, "m", t}, {"powerconsumption", 10, "kWh", t},
        {"current", 250, "A", t},      {"powerrating", 5, "", t},
        {"powerfactor", 0.7, "1", t},  {"voltage", 50, "V", t},
    };
    assert_int_equal(f->batch.n_obs, N(w));
    /* nine text attributes: the first eight are kept (feederID is not) */
    assert_entity(f, 0, "streetlight:guadalajara:4567",
                  "type=Streetlight|areaserved=Roundabouts city entrance|status=ok|"
                  "circuit=C-456-A467|locationcategory=centralIsland|powerstate=off|"
                  "controllingmethod=individual|feederpillarnum=70|streetpolenum=2",
                  (struct where){true, 40.62785133667262, -3.164485591715449}, GOOD, w, N(w));
    fx_free(f);

    f = fx_new("[adapter city]\nmax_labels = 1\n");
    assert_int_equal(decode_file(f, "Streetlight.example.json"), IOCD_REJECT_NONE);
    assert_entity(f, 0, "streetlight:guadalajara:4567",
                  "type=Streetlight|areaserved=Roundabouts city entrance",
                  (struct where){true, 40.62785133667262, -3.164485591715449}, GOOD, w, N(w));
    fx_free(f);
    f = fx_new("[adapter city]\nmax_labels = 0\n");
    assert_int_equal(decode_file(f, "Streetlight.example.json"), IOCD_REJECT_NONE);
    assert_entity(f, 0, "streetlight:guadalajara:4567", "type=Streetlight",
                  (struct where){true, 40.62785133667262, -3.164485591715449}, GOOD, w, N(w));
    fx_free(f);
}

static void test_weather(void **state)
{
    (void)state;
    struct fx *f = fx_new(city_conf);
    assert_int_equal(decode_file(f, "WeatherObserved.example.json"), IOCD_REJECT_NONE);
    const int64_t t = INT64_C(1480489200000); /* 2016-11-30T07:00:00.00Z */
    const struct want w[] = {
        {"atmosphericpressure", 938.9, "hPa", t}, {"precipitation", 0, "mm", t},
        {"pressuretendency", 0.5, "", t},         {"relativehumidity", 1, "1", t},
        {"temperature", 3.3, "Cel", t},           {"winddirection", 135, "deg", t},
        {"windspeed", 2, "m/s", t},               {"illuminance", 1000, "lx", t},
        {"streamgauge", 50, "cm", t},             {"snowheight", 20, "cm", t},
        {"uvindexmax", 1, "1", t},
    };
    assert_int_equal(f->batch.n_obs, N(w));
    assert_entity(f, 0, "Spain-WeatherObserved-Valladolid-2016-11-30T07:00:00.00Z",
                  "type=WeatherObserved|dataprovider=TEF",
                  (struct where){true, 41.640833333, -4.754444444}, GOOD, w, N(w));
    fx_free(f);
}

static void test_device_measurement(void **state)
{
    (void)state;
    struct fx *f = fx_new(city_conf);
    assert_int_equal(decode_file(f, "DeviceMeasurement.example.json"), IOCD_REJECT_NONE);
    /* device = refDevice, metric = controlledProperty, unit = unit (not a
     * known code), outlier: true → suspect; GeoJSON is [lon, lat] as sent */
    const struct want w[] = {{"humidity", 55.2, "unece:UDT0000016", INT64_C(1630654398000)}};
    assert_int_equal(f->batch.n_obs, 1);
    assert_entity(f, 0, "urn:ngsi-ld:MEASUREMENT:refDevice:ZMHH:32871158",
                  "type=DeviceMeasurement|name=Simple measurement|areaserved=Helsinki council|"
                  "devicetype=sensor|measurementtype=FillingLevelSensor",
                  (struct where){true, 24.9375, 60.170833}, SUSPECT, w, N(w));

    /* without refDevice and controlledProperty: the entity id and numvalue */
    assert_int_equal(decode(f, "{\"id\":\"m/1\",\"type\":\"DeviceMeasurement\",\"numValue\":3,"
                               "\"unit\":\"CEL\",\"outlier\":false}"),
                     IOCD_REJECT_NONE);
    const struct want w2[] = {{"numvalue", 3, "Cel", RECEIVED}};
    assert_int_equal(f->batch.n_obs, 1);
    assert_entity(f, 0, "m:1", "type=DeviceMeasurement", NOWHERE, GOOD, w2, 1);
    fx_free(f);
}

static void test_parking_spot(void **state)
{
    (void)state;
    struct fx *f = fx_new(city_conf);
    assert_int_equal(decode_file(f, "ParkingSpot.example.json"), IOCD_REJECT_NONE);
    /* no time in the entity: the receive time */
    const struct want w0[] = {{"occupied", 0, "1", RECEIVED}};
    const struct where santander = {true, 43.46296641666926, -3.80356167695194};
    assert_int_equal(f->batch.n_obs, 1);
    assert_entity(f, 0, "santander:daoiz_velarde_1_5:3", "type=ParkingSpot|name=A-13", santander,
                  GOOD, w0, 1);

    assert_int_equal(decode(f, "{\"id\":\"P1\",\"type\":\"ParkingSpot\",\"status\":"
                               "{\"type\":\"Text\",\"value\":\"occupied\"},\"dateObserved\":"
                               "{\"type\":\"DateTime\",\"value\":\"2016-03-15T11:00:00Z\"}}"),
                     IOCD_REJECT_NONE);
    const struct want w1[] = {{"occupied", 1, "1", T_AQ}};
    assert_entity(f, 0, "P1", "type=ParkingSpot", NOWHERE, GOOD, w1, 1);
    /* closed and unknown say nothing about occupancy */
    assert_int_equal(decode(f, "{\"id\":\"P1\",\"type\":\"ParkingSpot\",\"status\":\"closed\"}"),
                     IOCD_REJECT_MISSING_FIELD);
    assert_string_equal(f->batch.detail, "entity 'P1' has no numeric attribute");
    assert_int_equal(decode(f, "{\"id\":\"P1\",\"type\":\"ParkingSpot\",\"status\":\"unknown\"}"),
                     IOCD_REJECT_MISSING_FIELD);
    /* only ParkingSpot's status is mapped */
    assert_int_equal(decode(f, "{\"id\":\"P1\",\"type\":\"Other\",\"status\":\"free\",\"n\":1}"),
                     IOCD_REJECT_NONE);
    const struct want w2[] = {{"n", 1, "", RECEIVED}};
    assert_entity(f, 0, "P1", "type=Other|status=free", NOWHERE, GOOD, w2, 1);
    fx_free(f);
}

static void test_alert_has_no_measurement(void **state)
{
    (void)state;
    struct fx *f = fx_new(city_conf);
    assert_int_equal(decode_file(f, "Alert.example.json"), IOCD_REJECT_MISSING_FIELD);
    assert_string_equal(f->batch.detail, "entity 'Alert:1' has no numeric attribute");
    fx_free(f);
}

/* ---- wrappings ---- */

static void test_notification_v2(void **state)
{
    (void)state;
    struct fx *f = fx_new(city_conf);
    assert_int_equal(decode_file(f, "iocd-notification-v2.json"), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 17 + 4);
    assert_int_equal(f->batch.notes[IOCD_NOTE_PARTIAL], 0);
    const struct want aq[] = {{"co", 500, "mg/m3", T_AQ}, {"temperature", 12.2, "Cel", T_AQ}};
    assert_entity(f, 0, AQ_ID,
                  "type=AirQualityObserved|areaserved=Brooklands|airqualitylevel=moderate|"
                  "typeoflocation=outdoor|colevel=moderate",
                  MADRID, GOOD, aq, N(aq));
    const int64_t t = INT64_C(1485845100000);
    const struct want wq[] = {
        {"temperature", 24.4, "Cel", t},
        {"conductivity", 0.005, "S/m", t},
        {"ph", 7.4, "[pH]", t},
        {"no3", 0.01, "mg/L", t},
    };
    assert_entity(f, 17, "waterqualityobserved:Sevilla:D1", "type=WaterQualityObserved",
                  (struct where){true, 37.362882, -5.993307}, GOOD, wq, N(wq));
    fx_free(f);
}

static void test_notification_ld(void **state)
{
    (void)state;
    struct fx *f = fx_new(city_conf);
    assert_int_equal(decode_file(f, "iocd-notification-ld.json"), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 12 + 5);
    const struct want last[] = {{"no2", 69, "ug/m3", T_AQ_NO2}};
    assert_entity(f, 11, "urn:ngsi-ld:AirQualityObserved:Madrid-AmbientObserved-28079004",
                  "type=AirQualityObserved|areaserved=Brooklands|airqualitylevel=moderate|"
                  "typeoflocation=outdoor|co_level=moderate",
                  MADRID, GOOD, last, 1);
    const struct want fl[] = {{"alertlevel", 11, "m", INT64_C(1600243200000)}};
    assert_entity(f, 12, "urn:ngsi-ld:FloodMonitoring:Pune-NoiseLevelObserved",
                  "type=FloodMonitoring|floodlevelstatus=Normal|stationid=FWR013", NOWHERE, GOOD,
                  fl, 1);

    /* the second worked example of docs/adapters.md (ngsi) */
    assert_int_equal(
        decode(f, "{\"id\": \"urn:ngsi-ld:Notification:5fd0fa684eb81930c97005f3\",\n"
                  "\"type\": \"Notification\",\n"
                  "\"subscriptionId\": \"urn:ngsi-ld:Subscription:air\",\n"
                  "\"notifiedAt\": \"2016-03-15T12:00:01.000Z\",\n"
                  "\"data\": [{\n"
                  "\"id\": \"urn:ngsi-ld:AirQualityObserved:Madrid-28079004\",\n"
                  "\"type\": \"AirQualityObserved\",\n"
                  "\"dateObserved\": {\"type\": \"Property\", \"value\": {\"@type\": "
                  "\"DateTime\", \"@value\": \"2016-03-15T11:00:00Z\"}},\n"
                  "\"NO2\": {\"type\": \"Property\", \"value\": 69, \"unitCode\": \"GQ\", "
                  "\"observedAt\": \"2016-03-15T10:59:00Z\"},\n"
                  "\"temperature\": {\"type\": \"Property\", \"value\": 12.2, \"unitCode\": "
                  "\"CEL\"},\n"
                  "\"refPointOfInterest\": {\"type\": \"Relationship\", \"object\": "
                  "\"urn:ngsi-ld:PointOfInterest:28079004\"}\n"
                  "}]}\n"),
        IOCD_REJECT_NONE);
    const struct want doc[] = {{"no2", 69, "ug/m3", T_AQ_NO2}, {"temperature", 12.2, "Cel", T_AQ}};
    assert_int_equal(f->batch.n_obs, 2);
    assert_entity(f, 0, "urn:ngsi-ld:AirQualityObserved:Madrid-28079004",
                  "type=AirQualityObserved", NOWHERE, GOOD, doc, 2);
    fx_free(f);
}

static void test_array_and_partial(void **state)
{
    (void)state;
    struct fx *f = fx_new(city_conf);
    /* an array of entities (GET /v2/entities) */
    assert_int_equal(decode(f, "[{\"id\":\"a\",\"type\":\"T\",\"x\":1},"
                               "{\"id\":\"b\",\"type\":\"T\",\"x\":2}]"),
                     IOCD_REJECT_NONE);
    const struct want a[] = {{"x", 1, "", RECEIVED}}, b[] = {{"x", 2, "", RECEIVED}};
    assert_int_equal(f->batch.n_obs, 2);
    assert_entity(f, 0, "a", "type=T", NOWHERE, GOOD, a, 1);
    assert_entity(f, 1, "b", "type=T", NOWHERE, GOOD, b, 1);
    assert_int_equal(f->batch.notes[IOCD_NOTE_PARTIAL], 0);

    /* bad entities are dropped whole, the good ones kept, and noted */
    assert_int_equal(decode(f, "{\"subscriptionId\":\"s1\",\"data\":["
                               "{\"id\":\"a\",\"type\":\"T\",\"x\":1,\"dateObserved\":\"never\"},"
                               "{\"id\":\"b\",\"type\":\"T\",\"x\":2},"
                               "{\"type\":\"T\",\"x\":3},"
                               "{\"id\":\"c\",\"type\":\"T\",\"y\":4,\"z\":1e999}]}"),
                     IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 1);
    assert_entity(f, 0, "b", "type=T", NOWHERE, GOOD, b, 1);
    assert_int_equal(f->batch.notes[IOCD_NOTE_PARTIAL], 1);
    assert_string_equal(f->batch.note_detail,
                        "3 of 4 entities dropped; entity 0: dateObserved 'never' is not an "
                        "ISO-8601 time or interval");

    /* all bad: the first one's reason */
    assert_int_equal(decode(f, "[{\"id\":\"a\",\"x\":\"text\"},{\"id\":\"\",\"x\":1}]"),
                     IOCD_REJECT_MISSING_FIELD);
    assert_string_equal(f->batch.detail, "entity 0: entity 'a' has no numeric attribute");
    assert_int_equal(decode(f, "[{\"id\":\"\",\"x\":1},{\"id\":\"a\"}]"), IOCD_REJECT_BAD_ID);
    assert_string_equal(f->batch.detail, "entity 0: entity id '' is empty");
    assert_int_equal(decode(f, "[1,{\"id\":\"a\",\"x\":2}]"), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.notes[IOCD_NOTE_PARTIAL], 1);
    assert_string_equal(f->batch.note_detail,
                        "1 of 2 entities dropped; entity 0: entity is JSON a number, not an "
                        "object");
    assert_int_equal(decode(f, "[]"), IOCD_REJECT_MISSING_FIELD);
    assert_string_equal(f->batch.detail, "array has no entities");
    assert_int_equal(decode(f, "{\"subscriptionId\":\"s\",\"data\":[]}"),
                     IOCD_REJECT_MISSING_FIELD);
    assert_string_equal(f->batch.detail, "notification has no entities");
    /* an LD notification is recognised by its type */
    assert_int_equal(decode(f, "{\"id\":\"urn:ngsi-ld:Notification:1\",\"type\":\"Notification\","
                               "\"notifiedAt\":\"2016-03-15T12:00:01Z\",\"data\":[{\"id\":\"d\","
                               "\"type\":\"T\",\"v\":{\"type\":\"Property\",\"value\":7}}]}"),
                     IOCD_REJECT_NONE);
    const struct want d[] = {{"v", 7, "", RECEIVED}};
    assert_entity(f, 0, "d", "type=T", NOWHERE, GOOD, d, 1);
    fx_free(f);
}

/* ---- mapping rules ---- */

static void test_case_insensitive_metrics(void **state)
{
    (void)state;
    struct fx *f = fx_new(city_conf);
    const struct want w[] = {{"no2", 69, "ug/m3", T_AQ}};
    assert_int_equal(decode(f, "{\"id\":\"s\",\"type\":\"AirQualityObserved\",\"NO2\":69,"
                               "\"dateObserved\":\"2016-03-15T11:00:00Z\"}"),
                     IOCD_REJECT_NONE);
    assert_entity(f, 0, "s", "type=AirQualityObserved", NOWHERE, GOOD, w, 1);
    assert_int_equal(decode(f, "{\"id\":\"s\",\"type\":\"AirQualityObserved\",\"no2\":69,"
                               "\"dateObserved\":\"2016-03-15T11:00:00Z\"}"),
                     IOCD_REJECT_NONE);
    assert_entity(f, 0, "s", "type=AirQualityObserved", NOWHERE, GOOD, w, 1);
    /* both in one entity: the first one wins */
    assert_int_equal(decode(f, "{\"id\":\"s\",\"type\":\"AirQualityObserved\",\"no2\":69,"
                               "\"NO2\":70,\"DateObserved\":\"2016-03-15T11:00:00Z\"}"),
                     IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 1);
    assert_entity(f, 0, "s", "type=AirQualityObserved", NOWHERE, GOOD, w, 1);
    /* expanded NGSI-LD names and odd characters */
    assert_int_equal(decode(f, "{\"id\":\"s\",\"type\":\"https://smartdatamodels.org/"
                               "dataModel.Environment/AirQualityObserved\",\"https://"
                               "smartdatamodels.org/dataModel.Environment/no2\":69,\"ngsi-ld:Temp "
                               "$(x)\":1,\"Cl-\":2,\"\xc3\x84rger\":3}"),
                     IOCD_REJECT_NONE);
    const struct want w2[] = {{"no2", 69, "ug/m3", RECEIVED},
                              {"temp___x_", 1, "", RECEIVED},
                              {"cl-", 2, "", RECEIVED},
                              {"\xc3\x84rger", 3, "", RECEIVED}};
    assert_entity(f, 0, "s", "type=AirQualityObserved", NOWHERE, GOOD, w2, N(w2));
    fx_free(f);
}

static void test_units(void **state)
{
    (void)state;
    struct fx *f = fx_new(city_conf);
    static const struct {
        const char *code, *unit;
    } codes[] = {
        {"GQ", "ug/m3"}, {"GP", "mg/m3"}, {"GL", "g/L"},    {"M1", "mg/L"},   {"CEL", "Cel"},
        {"FAH", "[degF]"}, {"KEL", "K"},  {"P1", "%"},      {"C62", "1"},     {"59", "[ppm]"},
        {"61", "[ppb]"}, {"MTS", "m/s"},  {"KMH", "km/h"},  {"MTR", "m"},     {"CMT", "cm"},
        {"MMT", "mm"},   {"KTM", "km"},   {"A97", "hPa"},   {"PAL", "Pa"},    {"KPA", "kPa"},
        {"MBR", "mbar"}, {"BAR", "bar"},  {"SEC", "s"},     {"MIN", "min"},   {"HUR", "h"},
        {"WTT", "W"},    {"KWT", "kW"},   {"KWH", "kWh"},   {"VLT", "V"},     {"2Z", "mV"},
        {"AMP", "A"},    {"4K", "mA"},    {"HTZ", "Hz"},    {"D10", "S/m"},   {"H61", "mS/cm"},
        {"D54", "W/m2"}, {"LUX", "lx"},   {"DD", "deg"},    {"2N", "dB"},     {"LTR", "L"},
        {"MTQ", "m3"},   {"MQH", "m3/h"}, {"E32", "L/h"},   {"H67", "mm/h"},  {"KGM", "kg"},
        {"GRM", "g"},    {"gq", "ug/m3"}, {"XYZ", "unece:XYZ"},
    };
    char buf[512];
    for (size_t i = 0; i < N(codes); i++) {
        /* v2: metadata.unitCode.value; LD: unitCode */
        snprintf(buf, sizeof(buf),
                 "{\"id\":\"s\",\"type\":\"T\",\"a\":{\"type\":\"Number\",\"value\":1,"
                 "\"metadata\":{\"unitCode\":{\"type\":\"Text\",\"value\":\"%s\"}}},"
                 "\"b\":{\"type\":\"Property\",\"value\":2,\"unitCode\":\"%s\"}}",
                 codes[i].code, codes[i].code);
        assert_int_equal(decode(f, buf), IOCD_REJECT_NONE);
        const struct want w[] = {{"a", 1, codes[i].unit, RECEIVED},
                                 {"b", 2, codes[i].unit, RECEIVED}};
        assert_int_equal(f->batch.n_obs, 2);
        assert_entity(f, 0, "s", "type=T", NOWHERE, GOOD, w, 2);
    }
    /* a unit code wins over the default; an unusable one falls back to it */
    assert_int_equal(decode(f, "{\"id\":\"s\",\"type\":\"T\",\"temperature\":{\"value\":50,"
                               "\"metadata\":{\"unitCode\":{\"value\":\"FAH\"}}},"
                               "\"windSpeed\":{\"value\":1,\"unitCode\":\"\"},"
                               "\"pm25\":{\"value\":2,\"unitCode\":\"G Q\"},"
                               "\"pm10\":{\"value\":3,\"unitCode\":5},"
                               "\"o3\":{\"value\":4,\"metadata\":{\"unitCode\":\"GP\"}}}"),
                     IOCD_REJECT_NONE);
    const struct want w[] = {{"temperature", 50, "[degF]", RECEIVED},
                             {"windspeed", 1, "m/s", RECEIVED},
                             {"pm25", 2, "ug/m3", RECEIVED},
                             {"pm10", 3, "ug/m3", RECEIVED},
                             {"o3", 4, "mg/m3", RECEIVED}};
    assert_entity(f, 0, "s", "type=T", NOWHERE, GOOD, w, N(w));
    /* the measurand list of keyValues entities, and per-type defaults */
    assert_int_equal(decode(f, "{\"id\":\"s\",\"type\":\"WaterQualityObserved\",\"NO2\":1,"
                               "\"NH4\":2,\"X\":3,\"measurand\":[\"NH4, 2, GQ, ammonium\","
                               "\"X,3,XYZ\",7,\"bad\"]}"),
                     IOCD_REJECT_NONE);
    const struct want wq[] = {{"no2", 1, "mg/L", RECEIVED},
                              {"nh4", 2, "ug/m3", RECEIVED},
                              {"x", 3, "unece:XYZ", RECEIVED}};
    assert_entity(f, 0, "s", "type=WaterQualityObserved", NOWHERE, GOOD, wq, N(wq));
    /* normalized v2 measurand */
    assert_int_equal(decode(f, "{\"id\":\"s\",\"type\":\"X\",\"NO3\":{\"value\":1},"
                               "\"measurand\":{\"value\":[\"NO3, 0.01, M1, Nitrates\"]}}"),
                     IOCD_REJECT_NONE);
    const struct want wm[] = {{"no3", 1, "mg/L", RECEIVED}};
    assert_entity(f, 0, "s", "type=X", NOWHERE, GOOD, wm, 1);
    /* a long unknown code; one too long for a code is not used */
    assert_int_equal(decode(f, "{\"id\":\"s\",\"type\":\"T\",\"a\":{\"value\":1,\"unitCode\":"
                               "\"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345\"},\"b\":{\"value\":1,"
                               "\"unitCode\":\"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456\"}}"),
                     IOCD_REJECT_NONE);
    const struct want wl[] = {{"a", 1, "unece:ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", RECEIVED},
                              {"b", 1, "", RECEIVED}};
    assert_entity(f, 0, "s", "type=T", NOWHERE, GOOD, wl, N(wl));
    fx_free(f);
}

static void test_times(void **state)
{
    (void)state;
    struct fx *f = fx_new(city_conf);
    /* observedAt > dateObserved > metadata timestamp > receive time */
    assert_int_equal(
        decode(f, "{\"id\":\"s\",\"type\":\"T\","
                  "\"a\":{\"type\":\"Property\",\"value\":1,"
                  "\"observedAt\":\"2016-03-15T10:59:00Z\"},"
                  "\"b\":{\"type\":\"Number\",\"value\":2,\"metadata\":{\"timestamp\":"
                  "{\"type\":\"DateTime\",\"value\":\"2016-03-15T10:59:00Z\"}}},"
                  "\"dateObserved\":{\"type\":\"DateTime\",\"value\":\"2016-03-15T11:00:00Z\"}}"),
        IOCD_REJECT_NONE);
    const struct want w1[] = {{"a", 1, "", T_AQ_NO2}, {"b", 2, "", T_AQ}};
    assert_entity(f, 0, "s", "type=T", NOWHERE, GOOD, w1, N(w1));
    assert_int_equal(
        decode(f, "{\"id\":\"s\",\"type\":\"T\","
                  "\"b\":{\"type\":\"Number\",\"value\":2,\"metadata\":{\"timestamp\":"
                  "{\"type\":\"DateTime\",\"value\":\"2016-03-15T10:59:00Z\"}}},"
                  "\"c\":{\"type\":\"Number\",\"value\":3,\"metadata\":{\"TimeInstant\":"
                  "{\"type\":\"DateTime\",\"value\":\"2016-03-15T11:00:00Z\"}}},\"d\":4}"),
        IOCD_REJECT_NONE);
    const struct want w2[] = {{"b", 2, "", T_AQ_NO2}, {"c", 3, "", T_AQ}, {"d", 4, "", RECEIVED}};
    assert_entity(f, 0, "s", "type=T", NOWHERE, GOOD, w2, N(w2));
    /* entity times: dateObserved, else observationDateTime, else TimeInstant */
    assert_int_equal(decode(f, "{\"id\":\"s\",\"type\":\"T\",\"x\":1,"
                               "\"TimeInstant\":\"2016-03-15T10:59:00Z\","
                               "\"observationDateTime\":\"2016-03-15T11:00:00Z\"}"),
                     IOCD_REJECT_NONE);
    const struct want w3[] = {{"x", 1, "", T_AQ}};
    assert_entity(f, 0, "s", "type=T", NOWHERE, GOOD, w3, 1);
    assert_int_equal(decode(f, "{\"id\":\"s\",\"type\":\"T\",\"x\":1,"
                               "\"TimeInstant\":\"2016-03-15T11:00:00Z\"}"),
                     IOCD_REJECT_NONE);
    assert_entity(f, 0, "s", "type=T", NOWHERE, GOOD, w3, 1);
    /* intervals: the end; a time without offset is UTC */
    assert_int_equal(decode(f, "{\"id\":\"s\",\"type\":\"T\",\"x\":1,"
                               "\"dateObserved\":\"2016-03-15T10:00:00/2016-03-15T11:00:00\"}"),
                     IOCD_REJECT_NONE);
    assert_entity(f, 0, "s", "type=T", NOWHERE, GOOD, w3, 1);
    assert_int_equal(decode(f, "{\"id\":\"s\",\"type\":\"T\",\"x\":1,\"dateObserved\":"
                               "{\"type\":\"Property\",\"value\":{\"@type\":\"DateTime\","
                               "\"@value\":\"2016-03-15T12:00:00+01:00\"}}}"),
                     IOCD_REJECT_NONE);
    assert_entity(f, 0, "s", "type=T", NOWHERE, GOOD, w3, 1);
    fx_free(f);

    /* time_offset applies to times without an offset */
    f = fx_new("[adapter city]\ntime_offset = +07:00\n");
    assert_int_equal(decode(f, "{\"id\":\"s\",\"type\":\"T\",\"x\":1,"
                               "\"dateObserved\":\"2016-03-15T18:00:00\"}"),
                     IOCD_REJECT_NONE);
    assert_entity(f, 0, "s", "type=T", NOWHERE, GOOD, w3, 1);
    assert_int_equal(decode(f, "{\"id\":\"s\",\"type\":\"T\",\"x\":1,"
                               "\"dateObserved\":\"2016-03-15T11:00:00Z\"}"),
                     IOCD_REJECT_NONE);
    assert_entity(f, 0, "s", "type=T", NOWHERE, GOOD, w3, 1);
    fx_free(f);
}

static void test_time_rejects(void **state)
{
    (void)state;
    struct fx *f = fx_new(city_conf);
    char buf[512];
#define DO(v) (snprintf(buf, sizeof(buf), "{\"id\":\"s\",\"x\":1,\"dateObserved\":%s}", v), buf)
    assert_int_equal(decode(f, DO("\"yesterday\"")), IOCD_REJECT_BAD_TIME);
    assert_string_equal(f->batch.detail,
                        "dateObserved 'yesterday' is not an ISO-8601 time or interval");
    assert_int_equal(decode(f, DO("\"2016-03-15T12:00:00/2016-03-15T11:00:00\"")),
                     IOCD_REJECT_BAD_TIME); /* ends before it starts */
    assert_int_equal(decode(f, DO("\"2016-03-15T11:00:00/PT1H\"")), IOCD_REJECT_BAD_TIME);
    assert_int_equal(decode(f, DO("\"x/2016-03-15T11:00:00\"")), IOCD_REJECT_BAD_TIME);
    assert_int_equal(decode(f, DO("\"2016-03-15T11:00:00/\"")), IOCD_REJECT_BAD_TIME);
    assert_int_equal(decode(f, DO("\"1969-12-31T23:59:59Z\"")), IOCD_REJECT_BAD_TIME);
    assert_int_equal(decode(f, DO("\"2016-02-30T00:00:00Z\"")), IOCD_REJECT_BAD_TIME);
    assert_int_equal(decode(f, DO("{\"type\":\"DateTime\",\"value\":\"\"}")),
                     IOCD_REJECT_BAD_TIME);
    assert_string_equal(f->batch.detail, "dateObserved '' is not an ISO-8601 time or interval");
    assert_int_equal(decode(f, DO("1458039600")), IOCD_REJECT_WRONG_TYPE);
    assert_string_equal(f->batch.detail, "dateObserved is a number, not a date-time");
    assert_int_equal(decode(f, DO("{\"type\":\"Property\",\"value\":{\"@value\":5}}")),
                     IOCD_REJECT_WRONG_TYPE);
    assert_string_equal(f->batch.detail, "dateObserved is an object, not a date-time");
    /* null: as if absent */
    assert_int_equal(decode(f, DO("null")), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.obs[0]->observed_ms, RECEIVED);
#undef DO
    assert_int_equal(decode(f, "{\"id\":\"s\",\"x\":{\"value\":1,\"observedAt\":\"soon\"}}"),
                     IOCD_REJECT_BAD_TIME);
    assert_string_equal(f->batch.detail,
                        "x observedAt 'soon' is not an ISO-8601 time or interval");
    assert_int_equal(decode(f, "{\"id\":\"s\",\"x\":{\"value\":1,\"metadata\":{\"timestamp\":"
                               "{\"value\":\"soon\"}}}}"),
                     IOCD_REJECT_BAD_TIME);
    assert_string_equal(f->batch.detail,
                        "x metadata timestamp 'soon' is not an ISO-8601 time or interval");
    /* a bad metadata timestamp is not looked at when dateObserved is there */
    assert_int_equal(decode(f, "{\"id\":\"s\",\"x\":{\"value\":1,\"metadata\":{\"timestamp\":"
                               "{\"value\":\"soon\"}}},\"dateObserved\":\"2016-03-15T11:00:00Z\"}"),
                     IOCD_REJECT_NONE);
    assert_int_equal(f->batch.obs[0]->observed_ms, T_AQ);
    assert_int_equal(decode(f, "{\"id\":\"s\",\"x\":{\"value\":1,\"observedAt\":true}}"),
                     IOCD_REJECT_WRONG_TYPE);
    assert_string_equal(f->batch.detail, "x observedAt is a bool, not a date-time");
    fx_free(f);
}

static void test_numbers(void **state)
{
    (void)state;
    struct fx *f = fx_new(city_conf);
    /* numbers in text for Number-typed v2 attributes; not for Text */
    assert_int_equal(decode(f, "{\"id\":\"s\",\"type\":\"T\",\"a\":{\"type\":\"Number\","
                               "\"value\":\"-12.5e1\"},\"b\":{\"type\":\"Integer\",\"value\":"
                               "\"7\"},\"c\":{\"type\":\"Text\",\"value\":\"8\"},\"d\":{\"type\":"
                               "\"Number\",\"value\":\"08\"},\"e\":{\"type\":\"Number\",\"value\":"
                               "\"nan\"},\"f\":{\"type\":\"Float\",\"value\":\" 1\"},\"g\":-0}"),
                     IOCD_REJECT_NONE);
    const struct want w[] = {{"a", -125, "", RECEIVED}, {"b", 7, "", RECEIVED},
                             {"g", 0, "", RECEIVED}};
    assert_entity(f, 0, "s", "type=T|c=8", NOWHERE, GOOD, w, N(w));
    /* booleans, arrays, objects and nulls are not measurements */
    assert_int_equal(decode(f, "{\"id\":\"s\",\"a\":true,\"b\":[1],\"c\":{\"x\":1},\"d\":null,"
                               "\"e\":{\"type\":\"Number\",\"value\":null}}"),
                     IOCD_REJECT_MISSING_FIELD);
    /* not finite */
    assert_int_equal(decode(f, "{\"id\":\"s\",\"a\":1,\"b\":1e999}"), IOCD_REJECT_NOT_FINITE);
    assert_string_equal(f->batch.detail, "b is not a finite number");
    assert_int_equal(decode(f, "{\"id\":\"s\",\"b\":{\"value\":-1e999}}"),
                     IOCD_REJECT_NOT_FINITE);
    assert_int_equal(decode(f, "{\"id\":\"s\",\"b\":{\"type\":\"Number\",\"value\":\"2e400\"}}"),
                     IOCD_REJECT_NOT_FINITE);
    assert_int_equal(decode(f, "{\"id\":\"s\",\"b\":1e308}"), IOCD_REJECT_NONE);
    assert_true(f->batch.obs[0]->value == 1e308);
    fx_free(f);
}

static void test_skipped_attributes(void **state)
{
    (void)state;
    struct fx *f = fx_new(city_conf);
    /* relationships, times, geometry and the well-known metadata attributes */
    assert_int_equal(
        decode(f, "{\"id\":\"s\",\"type\":\"T\",\"refDevice\":5,\"refX\":{\"type\":"
                  "\"Relationship\",\"object\":\"urn:x\"},\"owner\":\"o\",\"dateCreated\":\"d\","
                  "\"dateModified\":3,\"date\":4,\"source\":\"src\",\"address\":\"a\","
                  "\"description\":\"text\",\"@context\":\"c\",\"seeAlso\":\"u\",\"q\":"
                  "{\"type\":\"Relationship\",\"value\":6},\"r\":{\"type\":\"DateTime\",\"value\":"
                  "\"2016-03-15T11:00:00Z\"},\"u\":{\"type\":\"geo:json\",\"value\":7},"
                  "\"reference\":8,\"dated\":9,\"datasetId\":\"urn:d\",\"createdAt\":\"x\","
                  "\"laneId\":3,\"stationID\":\"S\",\"sensorId\":2.5,\"id2\":\"k\"}"),
        IOCD_REJECT_NONE);
    const struct want w[] = {{"reference", 8, "", RECEIVED}, {"dated", 9, "", RECEIVED}};
    assert_entity(f, 0, "s", "type=T|laneid=3|stationid=S|sensorid=2.5|id2=k", NOWHERE, GOOD, w,
                  N(w));
    fx_free(f);
}

static void test_labels(void **state)
{
    (void)state;
    struct fx *f = fx_new(city_conf);
    char big[200];
    memset(big, 'v', sizeof(big));
    big[129] = '\0';
    char buf[1024];
    snprintf(buf, sizeof(buf),
             "{\"id\":\"s\",\"type\":\"T\",\"x\":1,\"ok\":\"%.128s\",\"long\":\"%s\",\"empty\":"
             "\"\",\"ctl\":\"a\\u0001b\",\"Type\":\"other\",\"OK\":\"dup\","
             "\"u\":\"\\u00e9t\\u00e9\"}",
             big, big);
    assert_int_equal(decode(f, buf), IOCD_REJECT_NONE);
    char want[512];
    snprintf(want, sizeof(want), "type=T|ok=%.128s|u=\xc3\xa9t\xc3\xa9", big);
    const struct want w[] = {{"x", 1, "", RECEIVED}};
    assert_entity(f, 0, "s", want, NOWHERE, GOOD, w, 1);
    /* no type: no type label */
    assert_int_equal(decode(f, "{\"id\":\"s\",\"x\":1,\"name\":\"n\"}"), IOCD_REJECT_NONE);
    assert_entity(f, 0, "s", "name=n", NOWHERE, GOOD, w, 1);
    /* every observation of the entity carries them */
    assert_int_equal(decode(f, "{\"id\":\"s\",\"x\":1,\"y\":2,\"name\":\"n\"}"),
                     IOCD_REJECT_NONE);
    const struct want w2[] = {{"x", 1, "", RECEIVED}, {"y", 2, "", RECEIVED}};
    assert_entity(f, 0, "s", "name=n", NOWHERE, GOOD, w2, 2);
    fx_free(f);
}

static void test_locations(void **state)
{
    (void)state;
    struct fx *f = fx_new(city_conf);
    const struct want w[] = {{"x", 1, "", RECEIVED}};
    char buf[512];
#define LOC(v) (snprintf(buf, sizeof(buf), "{\"id\":\"s\",\"x\":1,\"location\":%s}", v), buf)
    assert_int_equal(decode(f, LOC("{\"type\":\"geo:point\",\"value\":\"40.5, -3.25\"}")),
                     IOCD_REJECT_NONE);
    assert_entity(f, 0, "s", "", (struct where){true, 40.5, -3.25}, GOOD, w, 1);
    assert_int_equal(decode(f, LOC("{\"type\":\"Point\",\"coordinates\":[108,14,700]}")),
                     IOCD_REJECT_NONE);
    assert_entity(f, 0, "s", "", (struct where){true, 14, 108}, GOOD, w, 1);
    static const char *const none[] = {
        "{\"type\":\"Point\",\"coordinates\":[108,91]}",
        "{\"type\":\"Point\",\"coordinates\":[181,14]}",
        "{\"type\":\"Point\",\"coordinates\":[108]}",
        "{\"type\":\"Point\",\"coordinates\":[\"108\",14]}",
        "{\"type\":\"Point\",\"coordinates\":{\"a\":1}}",
        "{\"type\":\"Polygon\",\"coordinates\":[[[1,2],[3,4],[5,6],[1,2]]]}",
        "{\"type\":\"GeoProperty\",\"value\":{\"type\":\"MultiPoint\",\"coordinates\":[[1,2]]}}",
        "{\"type\":\"geo:point\",\"value\":\"40.5\"}",
        "{\"type\":\"geo:point\",\"value\":\"40.5, -3.25 x\"}",
        "{\"type\":\"geo:point\",\"value\":\"95, 1\"}",
        "\"somewhere\"",
        "[1,2]",
        "null",
    };
    for (size_t i = 0; i < N(none); i++) {
        assert_int_equal(decode(f, LOC(none[i])), IOCD_REJECT_NONE);
        if (f->batch.obs[0]->location)
            fail_msg("location %s gave a Location", none[i]);
    }
#undef LOC
    fx_free(f);
}

static void test_forms(void **state)
{
    (void)state;
    const char *mixed = "{\"id\":\"s\",\"type\":\"T\",\"a\":{\"type\":\"Number\",\"value\":1},"
                        "\"b\":2,\"dateObserved\":\"2016-03-15T11:00:00Z\"}";
    struct fx *f = fx_new("[adapter city]\nform = normalized\n");
    assert_int_equal(decode(f, mixed), IOCD_REJECT_NONE);
    /* normalized: b is not an attribute, nor the keyValues dateObserved */
    const struct want wn[] = {{"a", 1, "", RECEIVED}};
    assert_entity(f, 0, "s", "type=T", NOWHERE, GOOD, wn, 1);
    assert_int_equal(decode(f, "{\"id\":\"s\",\"b\":2}"), IOCD_REJECT_MISSING_FIELD);
    fx_free(f);
    f = fx_new("[adapter city]\nform = keyvalues\n");
    assert_int_equal(decode(f, mixed), IOCD_REJECT_NONE);
    /* keyvalues: objects are never unwrapped */
    const struct want wk[] = {{"b", 2, "", T_AQ}};
    assert_entity(f, 0, "s", "type=T", NOWHERE, GOOD, wk, 1);
    fx_free(f);
    f = fx_new("[adapter city]\nform = auto\n");
    assert_int_equal(decode(f, mixed), IOCD_REJECT_NONE);
    const struct want wa[] = {{"a", 1, "", T_AQ}, {"b", 2, "", T_AQ}};
    assert_entity(f, 0, "s", "type=T", NOWHERE, GOOD, wa, 2);
    fx_free(f);
}

static void test_types_and_prefix(void **state)
{
    (void)state;
    struct fx *f = fx_new("[adapter city]\ntypes = AirQualityObserved , WeatherObserved\n"
                          "metric_prefix = sdm.\n");
    assert_int_equal(decode_file(f, "TrafficFlowObserved.example.json"), IOCD_REJECT_NO_ROUTE);
    assert_string_equal(f->batch.detail, "entity type TrafficFlowObserved not in types");
    assert_int_equal(decode(f, "{\"id\":\"s\",\"x\":1}"), IOCD_REJECT_NO_ROUTE);
    assert_string_equal(f->batch.detail, "entity 's' has no type");
    assert_int_equal(decode_file(f, "WeatherObserved.example.json"), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, 11);
    assert_string_equal(f->batch.obs[0]->metric, "sdm.atmosphericpressure");
    assert_string_equal(f->batch.obs[0]->unit, "hPa");
    /* an expanded type matches by its last segment */
    assert_int_equal(decode(f, "[{\"id\":\"s\",\"type\":\"https://uri.fiware.org/ns/"
                               "data-models#AirQualityObserved\",\"NO2\":1},"
                               "{\"id\":\"t\",\"type\":\"ParkingSpot\",\"status\":\"free\"}]"),
                     IOCD_REJECT_NONE);
    const struct want w[] = {{"sdm.no2", 1, "ug/m3", RECEIVED}};
    assert_int_equal(f->batch.n_obs, 1);
    assert_entity(f, 0, "s", "type=AirQualityObserved", NOWHERE, GOOD, w, 1);
    assert_int_equal(f->batch.notes[IOCD_NOTE_PARTIAL], 1);
    assert_string_equal(f->batch.note_detail,
                        "1 of 2 entities dropped; entity 1: entity type ParkingSpot not in types");
    /* the prefix counts toward the 128 bytes of a metric */
    char buf[512], name[130];
    memset(name, 'n', sizeof(name));
    name[124] = '\0'; /* 4 + 124 = 128 */
    snprintf(buf, sizeof(buf), "{\"id\":\"s\",\"type\":\"WeatherObserved\",\"%s\":1}", name);
    assert_int_equal(decode(f, buf), IOCD_REJECT_NONE);
    assert_int_equal(strlen(f->batch.obs[0]->metric), 128);
    name[124] = 'n';
    name[125] = '\0';
    snprintf(buf, sizeof(buf), "{\"id\":\"s\",\"type\":\"WeatherObserved\",\"%s\":1}", name);
    assert_int_equal(decode(f, buf), IOCD_REJECT_BAD_ID);
    assert_string_equal(f->batch.detail, "metric 'sdm.nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"
                                         "nn...' is longer than 128 bytes");
    fx_free(f);
}

static void test_ids(void **state)
{
    (void)state;
    struct fx *f = fx_new(city_conf);
    const struct want w[] = {{"x", 1, "", RECEIVED}};
    assert_int_equal(decode(f, "{\"id\":\"/city/aq/1/\",\"x\":1}"), IOCD_REJECT_NONE);
    assert_entity(f, 0, ":city:aq:1:", "", NOWHERE, GOOD, w, 1);
    char buf[512];
#define ID(v) (snprintf(buf, sizeof(buf), "{\"id\":%s,\"x\":1}", v), buf)
    assert_int_equal(decode(f, ID("\"\"")), IOCD_REJECT_BAD_ID);
    assert_string_equal(f->batch.detail, "entity id '' is empty");
    assert_int_equal(decode(f, ID("\"a+b\"")), IOCD_REJECT_BAD_ID);
    assert_string_equal(f->batch.detail, "entity id 'a+b' contains '+' or '#'");
    assert_int_equal(decode(f, ID("\"urn:x#1\"")), IOCD_REJECT_BAD_ID);
    assert_int_equal(decode(f, ID("\"a\\tb\"")), IOCD_REJECT_BAD_ID);
    assert_string_equal(f->batch.detail, "entity id 'a?b' contains a control character");
    assert_int_equal(decode(f, ID("\"\xff\"")), IOCD_REJECT_BAD_ID);
    assert_string_equal(f->batch.detail, "entity id '?' is not valid UTF-8");
    assert_int_equal(decode(f, ID("7")), IOCD_REJECT_WRONG_TYPE);
    assert_string_equal(f->batch.detail, "entity id is a number");
    assert_int_equal(decode(f, ID("null")), IOCD_REJECT_MISSING_FIELD);
    assert_string_equal(f->batch.detail, "no entity id");
    char id[140];
    memset(id, 'i', sizeof(id));
    id[0] = '"';
    id[129] = '"';
    id[130] = '\0'; /* 128 bytes */
    assert_int_equal(decode(f, ID(id)), IOCD_REJECT_NONE);
    assert_int_equal(strlen(f->batch.obs[0]->device), 128);
    id[129] = 'i';
    id[130] = '"';
    id[131] = '\0'; /* 129 bytes */
    assert_int_equal(decode(f, ID(id)), IOCD_REJECT_BAD_ID);
    assert_string_equal(f->batch.detail, "entity id 'iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii"
                                         "...' is longer than 128 bytes");
#undef ID
    /* a bad refDevice of a DeviceMeasurement */
    assert_int_equal(decode(f, "{\"id\":\"m\",\"type\":\"DeviceMeasurement\",\"numValue\":1,"
                               "\"refDevice\":\"a#b\"}"),
                     IOCD_REJECT_BAD_ID);
    assert_string_equal(f->batch.detail, "refDevice 'a#b' contains '+' or '#'");
    /* attribute names that give no metric */
    char name[140];
    memset(name, 'n', sizeof(name));
    name[129] = '\0';
    snprintf(buf, sizeof(buf), "{\"id\":\"s\",\"%s\":1}", name);
    assert_int_equal(decode(f, buf), IOCD_REJECT_BAD_ID);
    assert_string_equal(f->batch.detail,
                        "attribute name 'nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"
                        "...' is empty, longer than 128 bytes or not UTF-8");
    assert_int_equal(decode(f, "{\"id\":\"s\",\"urn:x/\":1}"), IOCD_REJECT_BAD_ID);
    assert_int_equal(decode(f, "{\"id\":\"s\",\"\xc3\":1}"), IOCD_REJECT_BAD_ID);
    fx_free(f);
}

static void test_malformed_and_shapes(void **state)
{
    (void)state;
    struct fx *f = fx_new(city_conf);
    static const char *const bad[] = {
        "not json", "{\"id\":\"s\"", "{\"id\":\"s\",}", "{id:\"s\"}", "{\"a\":1}x",
        "{\"a\":NaN}", "   ",
    };
    for (size_t i = 0; i < N(bad); i++)
        if (decode(f, bad[i]) != IOCD_REJECT_MALFORMED)
            fail_msg("'%s' was not rejected as malformed", bad[i]);
    assert_int_equal(decode(f, "{\"a\":1}x"), IOCD_REJECT_MALFORMED);
    assert_string_equal(f->batch.detail, "not valid JSON (junk after the value at byte 7)");
    assert_int_equal(decode_n(f, "", 0), IOCD_REJECT_MALFORMED);
    assert_string_equal(f->batch.detail, "empty payload");
    assert_int_equal(decode_n(f, NULL, 0), IOCD_REJECT_MALFORMED);
    static const uint8_t binary[] = {0x00, 0xff, 0x7b, 0x22, 0x80, 0x01, 0x7d, 0x00};
    assert_int_equal(decode_n(f, binary, sizeof(binary)), IOCD_REJECT_MALFORMED);
    /* JSON, but no entity */
    assert_int_equal(decode(f, "42"), IOCD_REJECT_MISSING_FIELD);
    assert_string_equal(f->batch.detail, "payload is JSON a number, not an NGSI entity");
    assert_int_equal(decode(f, "\"x\""), IOCD_REJECT_MISSING_FIELD);
    assert_int_equal(decode(f, "{\"type\":\"T\",\"x\":1}"), IOCD_REJECT_MISSING_FIELD);
    assert_string_equal(f->batch.detail, "no entity id");
    assert_int_equal(decode(f, "{\"data\":[{\"id\":\"s\",\"x\":1}]}"), IOCD_REJECT_MISSING_FIELD);
    /* trailing blanks and a C-string NUL are fine */
    static const char tail[] = "{\"id\":\"s\",\"x\":5}\r\n";
    assert_int_equal(decode_n(f, tail, sizeof(tail)), IOCD_REJECT_NONE);
    /* only len bytes are read */
    const char *cut = "{\"id\":\"s\",\"x\":52}";
    assert_int_equal(decode_n(f, cut, strlen(cut) - 2), IOCD_REJECT_MALFORMED);
    fx_free(f);
}

static void test_many_attributes(void **state)
{
    (void)state;
    /* 20,000 attributes and 20,000 entities stay fast and exact */
    struct fx *f = fx_new(city_conf);
    size_t n = 20000, cap = n * 40 + 64, off = 0;
    char *p = malloc(cap);
    assert_non_null(p);
    off += (size_t)snprintf(p + off, cap - off, "{\"id\":\"s\"");
    for (size_t i = 0; i < n; i++)
        off += (size_t)snprintf(p + off, cap - off, ",\"a%zu\":%zu", i % (n / 2), i);
    off += (size_t)snprintf(p + off, cap - off, "}");
    assert_int_equal(decode_n(f, p, off), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, n / 2); /* duplicates: the first wins */
    assert_string_equal(f->batch.obs[n / 2 - 1]->metric, "a9999");
    assert_true(f->batch.obs[n / 2 - 1]->value == 9999);
    off = 0;
    off += (size_t)snprintf(p + off, cap - off, "[");
    for (size_t i = 0; i < n; i++)
        off += (size_t)snprintf(p + off, cap - off, "%s{\"id\":\"e%zu\",\"v\":%zu}", i ? "," : "",
                                i, i);
    off += (size_t)snprintf(p + off, cap - off, "]");
    assert_int_equal(decode_n(f, p, off), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_obs, n);
    assert_string_equal(f->batch.obs[n - 1]->device, "e19999");
    free(p);
    fx_free(f);
}

static void test_no_memory(void **state)
{
    (void)state;
    struct fx *f = fx_new(city_conf);
    size_t n;
    char *buf = read_data("iocd-notification-v2.json", &n);
    for (size_t limit = 16; limit < (1u << 20); limit += 16) {
        iocd_arena_free(&f->arena);
        iocd_arena_init(&f->arena, limit);
        iocd_batch_init(&f->batch, &f->arena);
        enum iocd_reject r = decode_n(f, buf, n);
        if (r == IOCD_REJECT_NONE) {
            assert_int_equal(f->batch.n_obs, 21);
            break;
        }
        assert_int_equal(r, IOCD_REJECT_NO_MEMORY);
    }
    assert_int_equal(f->batch.n_obs, 21);
    free(buf);
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
    assert_create_error("[adapter city]\nformat = ngsi\nform = compact\n",
                        "test.conf:3: [adapter city] form: expected auto, normalized or "
                        "keyvalues");
    assert_create_error("[adapter city]\nform = auto\nform = auto\n",
                        "test.conf:3: key 'form' given twice (first on line 2)");
    static const char *const bad_offsets[] = {"7",   "+7",        "+07:0",  "+24:00",
                                              "+07:60", "UTC",     "+07:00:00", "",
                                              "+0700x", "+07:",    "z"};
    for (size_t i = 0; i < N(bad_offsets); i++) {
        char text[256];
        snprintf(text, sizeof(text), "[adapter city]\n\ntime_offset = %s\n", bad_offsets[i]);
        assert_create_error(text, "test.conf:3: [adapter city] time_offset: expected an offset "
                                  "such as +07:00, -05:30 or Z");
    }
    static const char *const bad_types[] = {"", ",", "A,", ",A", "A,,B", "A B", "A, B C"};
    for (size_t i = 0; i < N(bad_types); i++) {
        char text[256];
        snprintf(text, sizeof(text), "[adapter city]\ntypes = %s\n", bad_types[i]);
        assert_create_error(text, "test.conf:2: [adapter city] types: expected a comma-separated "
                                  "list of entity types, e.g. "
                                  "AirQualityObserved,WeatherObserved");
    }
    char text[512], longtype[140];
    memset(longtype, 'T', sizeof(longtype));
    longtype[129] = '\0';
    snprintf(text, sizeof(text), "[adapter city]\ntypes = A,%s\n", longtype);
    assert_create_error(text, "test.conf:2: [adapter city] types: an entity type is longer than "
                              "128 bytes");
    static const char *const bad_labels[] = {"", "-1", "65", "1x", "99999999999999999999", " "};
    for (size_t i = 0; i < N(bad_labels); i++) {
        snprintf(text, sizeof(text), "[adapter city]\nmax_labels = %s\n", bad_labels[i]);
        assert_create_error(text, "test.conf:2: [adapter city] max_labels: expected a whole "
                                  "number from 0 to 64");
    }
    static const char *const bad_prefixes[] = {
        "Air.", "a/b", "a b", "a+", "a#",
        "p234567890123456789012345678901234567890123456789012345678901234x"};
    for (size_t i = 0; i < N(bad_prefixes); i++) {
        snprintf(text, sizeof(text), "[adapter city]\nmetric_prefix = %s\n", bad_prefixes[i]);
        assert_create_error(text, "test.conf:2: [adapter city] metric_prefix: expected at most "
                                  "64 characters of a-z, 0-9, '_', '.', '-' and ':'");
    }
}

static void test_create_values(void **state)
{
    (void)state;
    const char *p =
        "{\"id\":\"s\",\"type\":\"T\",\"x\":1,\"dateObserved\":\"2016-03-15T18:00:00\"}";
    static const struct {
        const char *offset;
        int64_t observed;
    } cases[] = {
        {"+07:00", T_AQ},          {"+0700", T_AQ}, {"+07", T_AQ},
        {"Z", T_AQ + 25200000},    {"+00:00", T_AQ + 25200000},
        {"-05:30", T_AQ + 45000000},
    };
    for (size_t i = 0; i < N(cases); i++) {
        char text[256];
        snprintf(text, sizeof(text), "[adapter city]\ntime_offset = %s\n", cases[i].offset);
        struct fx *f = fx_new(text);
        assert_int_equal(decode(f, p), IOCD_REJECT_NONE);
        const struct want w[] = {{"x", 1, "", cases[i].observed}};
        assert_entity(f, 0, "s", "type=T", NOWHERE, GOOD, w, 1);
        fx_free(f);
    }
    struct fx *f = fx_new("[adapter city]\nmax_labels = 64\nmetric_prefix = a-b_c.d:\n"
                          "types = T\n");
    assert_int_equal(decode(f, p), IOCD_REJECT_NONE);
    assert_string_equal(f->batch.obs[0]->metric, "a-b_c.d:x");
    fx_free(f);
    f = fx_new("[adapter city]\nmetric_prefix =\n");
    assert_int_equal(decode(f, p), IOCD_REJECT_NONE);
    assert_string_equal(f->batch.obs[0]->metric, "x");
    fx_free(f);
}

static void test_keys_marked_used(void **state)
{
    (void)state;
    struct fx *f = fx_new("[adapter city]\n"
                          "topic = city/ngsi/#\n"
                          "format = ngsi\n"
                          "form = auto\n"
                          "time_offset = +07:00\n"
                          "types = T\n"
                          "max_labels = 3\n"
                          "metric_prefix = x.\n"
                          "colour = red\n");
    struct iocd_ini_section *s = &f->ini.sections[0];
    /* the core reads topic and format itself */
    assert_false(s->entries[0].used);
    assert_false(s->entries[1].used);
    s->entries[0].used = s->entries[1].used = true;
    struct iocd_error err = {{0}};
    assert_int_equal(iocd_ini_check_unused(&f->ini, &err), -1);
    assert_string_equal(err.msg, "test.conf:9: unknown key 'colour' in [adapter city]");
    for (size_t i = 2; i < 7; i++)
        assert_true(s->entries[i].used);
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
    assert_int_equal(iocd_ini_parse(&f->ini, "test.conf", city_conf, &err), 0);
    assert_int_equal(
        iocd_adapter_ngsi.create(&f->ini, &f->ini.sections[0], "fiware", &f->state, &err), 0);
    assert_int_equal(decode(f, "{\"id\":\"s\",\"x\":1}"), IOCD_REJECT_NONE);
    assert_string_equal(f->batch.obs[0]->source, "fiware");
    fx_free(f);
    iocd_adapter_ngsi.destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_air_quality_v2_normalized),
        cmocka_unit_test(test_air_quality_v2_keyvalues),
        cmocka_unit_test(test_air_quality_ld_examples),
        cmocka_unit_test(test_air_quality_ld_own),
        cmocka_unit_test(test_traffic_flow),
        cmocka_unit_test(test_water_quality),
        cmocka_unit_test(test_flood_monitoring),
        cmocka_unit_test(test_streetlight),
        cmocka_unit_test(test_weather),
        cmocka_unit_test(test_device_measurement),
        cmocka_unit_test(test_parking_spot),
        cmocka_unit_test(test_alert_has_no_measurement),
        cmocka_unit_test(test_notification_v2),
        cmocka_unit_test(test_notification_ld),
        cmocka_unit_test(test_array_and_partial),
        cmocka_unit_test(test_case_insensitive_metrics),
        cmocka_unit_test(test_units),
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_time_rejects),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_skipped_attributes),
        cmocka_unit_test(test_labels),
        cmocka_unit_test(test_locations),
        cmocka_unit_test(test_forms),
        cmocka_unit_test(test_types_and_prefix),
        cmocka_unit_test(test_ids),
        cmocka_unit_test(test_malformed_and_shapes),
        cmocka_unit_test(test_many_attributes),
        cmocka_unit_test(test_no_memory),
        cmocka_unit_test(test_create_errors),
        cmocka_unit_test(test_create_values),
        cmocka_unit_test(test_keys_marked_used),
        cmocka_unit_test(test_source_argument),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
