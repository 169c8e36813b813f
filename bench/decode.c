/* bench/decode.c — each adapter's decode rate on one core, beside the rate
 * of parsing the same payload with the bare library (cJSON for JSON-based
 * formats, protobuf-c unpack for Sparkplug B; the line-protocol and text
 * formats have no library to compare with), measured in the same run.
 *
 * Owns nothing beyond main(). For every case: build the adapter from its
 * config section, decode the payload in a loop for ~1 s (bounded count and
 * time), then parse it bare for the same time. Prints messages/s for both
 * and their ratio. Usage: bench-decode [SECONDS-PER-CASE] */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "adapters/adapter.h"
#include "daemon/base/arena.h"
#include "daemon/base/ini.h"
#include "sparkplug_b/sparkplug_b.pb-c.h"
#include "daemon/base/timeutil.h"

enum baseline { BARE_NONE, BARE_CJSON, BARE_PROTOBUF };

struct bench_case {
    const char *name;
    const char *config; /* one [adapter NAME] section */
    const char *topic;
    const char *payload; /* NULL: sparkplug, built at run time */
    enum baseline baseline;
};

static const struct bench_case cases[] = {
    {"json (air station)",
     "[adapter air]\nformat = json\ndevice = $.station\ntime = $.ts\n"
     "metric.pm25 = $.pm25 ug/m3\nmetric.pm10 = $.pm10 ug/m3\nmetric.no2 = $.no2 ug/m3\n"
     "metric.temperature = $.temp Cel\nmetric.humidity = $.rh %\n",
     "pleiku/air/GL-AQ01/data",
     "{\"station\":\"GL-AQ01\",\"ts\":\"2026-11-22T17:04:05+07:00\",\"pm25\":23.4,\"pm10\":41.2,"
     "\"no2\":18.5,\"temp\":24.1,\"rh\":78.0}",
     1},
    {"json (traffic counter)",
     "[adapter traffic]\nformat = json\ndevice = $.counter\ntime = $.time_ms\ntime_format = ms\n"
     "metric.vehicles = $.vehicles 1\nmetric.speed = $.speed_kmh km/h\n",
     "pleiku/traffic/GL-TC001/count",
     "{\"counter\":\"GL-TC001\",\"time_ms\":1763780000000,\"vehicles\":42,\"speed_kmh\":31.5,"
     "\"interval_s\":5}",
     BARE_CJSON},
    {"senml (weather pack)", "[adapter weather]\nformat = senml\n", "pleiku/weather/GL-WS01/senml",
     "[{\"bn\":\"urn:dev:pleiku:GL-WS01:\",\"bt\":1795338006,\"n\":\"temperature\",\"u\":\"Cel\","
     "\"v\":24.4},{\"n\":\"humidity\",\"u\":\"%RH\",\"v\":61},{\"n\":\"wind_speed\",\"u\":\"m/s\","
     "\"v\":3.6},{\"n\":\"pressure\",\"u\":\"hPa\",\"v\":925.1},{\"n\":\"rain\",\"u\":\"mm\","
     "\"s\":0.0}]",
     BARE_CJSON},
    {"ngsi (v2 notification)", "[adapter parking]\nformat = ngsi\n", "pleiku/parking/ngsi/notify",
     "{\"subscriptionId\":\"4c3d9bba6c877acfe6153730\",\"data\":[{\"id\":\"urn:ngsi-ld:OffStreetParking:"
     "GL-PK01\",\"type\":\"OffStreetParking\",\"name\":{\"type\":\"Text\",\"value\":\"Bai do xe\"},"
     "\"availableSpotNumber\":{\"type\":\"Number\",\"value\":102,\"metadata\":{\"timestamp\":{"
     "\"type\":\"DateTime\",\"value\":\"2026-11-22T09:00:00Z\"}}},\"totalSpotNumber\":{\"type\":"
     "\"Number\",\"value\":120},\"occupancy\":{\"type\":\"Number\",\"value\":0.15},\"dateObserved\":"
     "{\"type\":\"DateTime\",\"value\":\"2026-11-22T09:00:00Z\"},\"location\":{\"type\":\"geo:json\","
     "\"value\":{\"type\":\"Point\",\"coordinates\":[108.0034,13.9841]}}}]}",
     BARE_CJSON},
    {"event (citizen report)",
     "[adapter reports]\nformat = event\nkind = $.category\ntext = $.description\narea = $.ward\n"
     "status = $.status\nseverity = $.severity\ntime = $.updated_at\nlocation = $.location\n",
     "pleiku/reports/app/event",
     "{\"id\":\"PK-2026-234555\",\"category\":\"illegal_parking\",\"description\":\"Xe t\u1ea3i "
     "\u0111\u1ed7 sai quy \u0111\u1ecbnh\",\"ward\":\"Chi L\u0103ng\",\"status\":\"new\","
     "\"severity\":\"minor\",\"reported_at\":\"2026-11-22T16:00:37+07:00\",\"updated_at\":"
     "\"2026-11-22T16:00:37+07:00\",\"location\":{\"type\":\"Point\",\"coordinates\":[108.032,"
     "13.9609]}}",
     BARE_CJSON},
    {"influx (bus gateway, 4 lines)",
     "[adapter bus]\nformat = influx\ndevice = tag:bus\nmetric = field\n", "pleiku/bus/gateway1/lp",
     "bus,route=01,bus=81B-00123 lat=13.94700,lon=108.01100,speed=12.5,occupancy=31i "
     "1795338002023000000\n"
     "bus,route=01,bus=81B-00124 lat=13.95700,lon=108.02100,speed=22.5,occupancy=12i "
     "1795338002023000000\n"
     "bus,route=02,bus=81B-00125 lat=13.96700,lon=108.03100,speed=0.0,occupancy=1i "
     "1795338002023000000\n"
     "bus,route=03,bus=81B-00126 lat=13.97700,lon=108.04100,speed=35.5,occupancy=44i "
     "1795338002023000000\n",
     BARE_NONE},
    {"text (number)", "[adapter rain]\nformat = text\nmode = number\ndevice = topic[2]\n"
                      "metric = intensity\nunit = mm/h\n",
     "pleiku/rain/GL-RG01/intensity", "2.4", BARE_NONE},
    {"text (ultralight)", "[adapter ul]\nformat = text\nmode = ultralight\n", "/key/GL-UL1/attrs",
     "t|21.5|h|40|p|925.1#t|21.7|h|41|p|925.0", BARE_NONE},
    {"sparkplug (DDATA, 6 metrics)", "[adapter lighting]\nformat = sparkplug\n",
     "spBv1.0/pleiku-lighting/DDATA/GL-LC-EDGE1/GL-LC001", NULL, BARE_PROTOBUF},
};

/* Sparkplug: a DBIRTH naming six metrics, then DDATA with aliases only;
 * 256 DDATA payloads so the sequence numbers run on without gaps. */
static uint8_t *sp_pack(uint64_t seq, int birth, size_t *len)
{
    static const char *const names[6] = {"power", "voltage", "current", "lamps_on",
                                         "lamp_failures", "energy"};
    Iocd__SparkplugB__Payload pl = IOCD__SPARKPLUG_B__PAYLOAD__INIT;
    Iocd__SparkplugB__Metric m[6], *mp[6];
    pl.has_seq = 1;
    pl.seq = seq;
    pl.has_timestamp = 1;
    pl.timestamp = 1795338002023;
    for (int i = 0; i < 6; i++) {
        iocd__sparkplug_b__metric__init(&m[i]);
        mp[i] = &m[i];
        m[i].has_alias = 1;
        m[i].alias = (uint64_t)(10 + i);
        if (birth) {
            m[i].name = (char *)names[i];
            m[i].has_datatype = 1;
            m[i].datatype = i < 3 ? 9 : i < 5 ? 6 : 10;
        }
        if (i < 3) {
            m[i].value_case = IOCD__SPARKPLUG_B__METRIC__VALUE_FLOAT_VALUE;
            m[i].float_value = 1.5f * (float)(i + 1);
        } else if (i < 5) {
            m[i].value_case = IOCD__SPARKPLUG_B__METRIC__VALUE_INT_VALUE;
            m[i].int_value = (uint32_t)(40 + i);
        } else {
            m[i].value_case = IOCD__SPARKPLUG_B__METRIC__VALUE_DOUBLE_VALUE;
            m[i].double_value = 12345.25;
        }
    }
    pl.n_metrics = 6;
    pl.metrics = mp;
    *len = iocd__sparkplug_b__payload__get_packed_size(&pl);
    uint8_t *buf = malloc(*len);
    if (!buf)
        exit(1);
    iocd__sparkplug_b__payload__pack(&pl, buf);
    return buf;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define MAX_ITERATIONS 50000000L

static double rate_adapter(const struct bench_case *c, double secs, size_t *n_obs)
{
    struct iocd_ini ini;
    struct iocd_error err;
    if (iocd_ini_parse(&ini, "bench", c->config, &err)) {
        fprintf(stderr, "%s: %s\n", c->name, err.msg);
        exit(1);
    }
    struct iocd_ini_section *s = &ini.sections[0];
    const struct iocd_adapter_ops *ops = NULL;
    for (size_t i = 0; i < s->n_entries; i++)
        if (strcmp(s->entries[i].key, "format") == 0) {
            ops = iocd_adapter_find(s->entries[i].value);
            s->entries[i].used = 1;
        }
    void *state = NULL;
    if (!ops || ops->create(&ini, s, s->arg, &state, &err)) {
        fprintf(stderr, "%s: %s\n", c->name, ops ? err.msg : "unknown format");
        exit(1);
    }
    struct iocd_arena arena;
    struct iocd_batch b;
    iocd_arena_init(&arena, 0);
    iocd_batch_init(&b, &arena);
    struct iocd_message msg = {.topic = c->topic,
                               .payload = (const uint8_t *)c->payload,
                               .len = c->payload ? strlen(c->payload) : 0,
                               .received_ms = iocd_now_ms()};
    uint8_t *sp[256] = {0};
    size_t sp_len[256];
    if (!c->payload) {
        /* NBIRTH (seq 0), DBIRTH (seq 1), then DDATA from seq 2 on. */
        size_t n0;
        uint8_t *nb = sp_pack(0, 0, &n0);
        struct iocd_message bm = {.topic = "spBv1.0/pleiku-lighting/NBIRTH/GL-LC-EDGE1",
                                  .payload = nb, .len = n0, .received_ms = msg.received_ms};
        ops->decode(state, &bm, &b);
        iocd_batch_reset(&b);
        free(nb);
        nb = sp_pack(1, 1, &n0);
        bm.topic = "spBv1.0/pleiku-lighting/DBIRTH/GL-LC-EDGE1/GL-LC001";
        bm.payload = nb;
        bm.len = n0;
        ops->decode(state, &bm, &b);
        iocd_batch_reset(&b);
        free(nb);
        for (int i = 0; i < 256; i++)
            sp[i] = sp_pack((uint64_t)((i + 2) % 256), 0, &sp_len[i]);
    }
    long n = 0;
    double t0 = now_s(), t;
    *n_obs = 0;
    do {
        for (int k = 0; k < 1000; k++, n++) {
            if (!c->payload) {
                msg.payload = sp[n % 256];
                msg.len = sp_len[n % 256];
            }
            if (ops->decode(state, &msg, &b) != IOCD_REJECT_NONE) {
                fprintf(stderr, "%s: rejected: %s\n", c->name, b.detail);
                exit(1);
            }
            *n_obs = b.n_obs + b.n_events;
            iocd_batch_reset(&b);
        }
        t = now_s() - t0;
    } while (t < secs && n < MAX_ITERATIONS);
    if (b.notes[IOCD_NOTE_SEQ_GAP])
        fprintf(stderr, "%s: unexpected sequence gaps\n", c->name);
    for (int i = 0; i < 256; i++)
        free(sp[i]);
    iocd_arena_free(&arena);
    ops->destroy(state);
    iocd_ini_free(&ini);
    return (double)n / t;
}

static double rate_protobuf(double secs)
{
    size_t len;
    uint8_t *buf = sp_pack(2, 0, &len);
    long n = 0;
    double t0 = now_s(), t;
    do {
        for (int k = 0; k < 1000; k++, n++) {
            Iocd__SparkplugB__Payload *pl = iocd__sparkplug_b__payload__unpack(NULL, len, buf);
            if (!pl)
                exit(1);
            iocd__sparkplug_b__payload__free_unpacked(pl, NULL);
        }
        t = now_s() - t0;
    } while (t < secs && n < MAX_ITERATIONS);
    free(buf);
    return (double)n / t;
}

static double rate_cjson(const char *payload, double secs)
{
    size_t len = strlen(payload);
    long n = 0;
    double t0 = now_s(), t;
    do {
        for (int k = 0; k < 1000; k++, n++) {
            cJSON *j = cJSON_ParseWithLength(payload, len);
            if (!j)
                exit(1);
            cJSON_Delete(j);
        }
        t = now_s() - t0;
    } while (t < secs && n < MAX_ITERATIONS);
    return (double)n / t;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 1.0;
    if (secs <= 0 || secs > 60)
        secs = 1.0;
    printf("%-32s %14s %14s %8s %5s\n", "adapter (payload)", "decode msg/s", "bare msg/s",
           "ratio", "obs");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n_obs;
        double a = rate_adapter(&cases[i], secs, &n_obs);
        if (cases[i].baseline != BARE_NONE) {
            double bare = cases[i].baseline == BARE_CJSON ? rate_cjson(cases[i].payload, secs)
                                                          : rate_protobuf(secs);
            printf("%-32s %14.0f %14.0f %8.2f %5zu\n", cases[i].name, a, bare, a / bare, n_obs);
        } else {
            printf("%-32s %14.0f %14s %8s %5zu\n", cases[i].name, a, "-", "-", n_obs);
        }
    }
    return 0;
}
