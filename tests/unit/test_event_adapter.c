/* tests/unit/test_event_adapter.c — the event adapter (adapters/event.c):
 * real-world event payloads (a Pleiku citizen report, a red-light camera, a
 * fire panel, camera analytics in a records array, the FIWARE Alert
 * example) decoded to exact Events, every normalisation and attribute rule,
 * every reject reason and note, and create() errors with file and line. */
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

extern const struct iocd_adapter_ops iocd_adapter_event;
#define FX_OPS iocd_adapter_event

#define T_100405 INT64_C(1795341845000) /* 2026-11-22T10:04:05Z */

#define SEV(x) IOC__V1__SEVERITY__SEVERITY_##x

#include "adapter_fixture.h"

static enum iocd_reject decode_n(struct fx *f, const char *topic, const void *payload, size_t len)
{
    iocd_batch_reset(&f->batch);
    struct iocd_message m = {.topic = topic, .payload = payload, .len = len,
                             .received_ms = RECEIVED};
    enum iocd_reject r = iocd_adapter_event.decode(f->state, &m, &f->batch);
    assert_int_equal(f->batch.n_obs, 0);
    if (r == IOCD_REJECT_NONE) {
        assert_true(f->batch.n_events > 0);
    } else {
        assert_int_equal(f->batch.n_events, 0);
        /* a rejected message counts no note */
        assert_int_equal(f->batch.notes[IOCD_NOTE_PARTIAL], 0);
        assert_true(f->batch.detail[0] != '\0');
    }
    return r;
}

/* The payload is copied to a buffer of exactly its length (ASan catches
 * reads past it). */
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

static unsigned notes(const struct fx *f)
{
    return f->batch.notes[IOCD_NOTE_PARTIAL];
}

struct kv {
    const char *k, *v;
};
#define KV(...)                                                                                    \
    (const struct kv[])                                                                            \
    {                                                                                              \
        __VA_ARGS__, { NULL, NULL }                                                                \
    }
#define NO_ATTRS                                                                                   \
    (const struct kv[])                                                                            \
    {                                                                                              \
        {                                                                                          \
            NULL, NULL                                                                             \
        }                                                                                          \
    }

struct want {
    const char *kind;
    Ioc__V1__Severity severity;
    const char *text, *device, *area, *status;
    int64_t time_ms;
    bool has_loc;
    double lat, lon;
    const struct kv *attrs; /* sorted by key, ended by {NULL, NULL} */
};

/* Every field of event i equals `w`; source and received_ms too. */
static void assert_event(const struct fx *f, size_t i, const char *source, const struct want *w)
{
    assert_true(i < f->batch.n_events);
    const Ioc__V1__Event *e = f->batch.events[i];
    assert_string_equal(e->source, source);
    assert_string_equal(e->kind, w->kind);
    assert_int_equal(e->severity, w->severity);
    assert_string_equal(e->text, w->text);
    assert_string_equal(e->device, w->device);
    assert_string_equal(e->area, w->area);
    assert_string_equal(e->status, w->status);
    assert_int_equal(e->time_ms, w->time_ms);
    assert_int_equal(e->received_ms, RECEIVED);
    if (w->has_loc) {
        assert_non_null(e->location);
        if (e->location->lat != w->lat || e->location->lon != w->lon)
            fail_msg("event %zu: location %.17g,%.17g, expected %.17g,%.17g", i, e->location->lat,
                     e->location->lon, w->lat, w->lon);
    } else {
        assert_null(e->location);
    }
    size_t n = 0;
    while (w->attrs[n].k)
        n++;
    if (e->n_attributes != n) {
        for (size_t k = 0; k < e->n_attributes; k++)
            print_message("  got %s=%s\n", e->attributes[k]->key, e->attributes[k]->value);
        fail_msg("event %zu: %zu attributes, expected %zu", i, e->n_attributes, n);
    }
    for (size_t k = 0; k < n; k++) {
        assert_string_equal(e->attributes[k]->key, w->attrs[k].k);
        assert_string_equal(e->attributes[k]->value, w->attrs[k].v);
    }
}

/* The one attribute `key` of event 0, or NULL. */
static const char *attr(const struct fx *f, const char *key)
{
    const Ioc__V1__Event *e = f->batch.events[0];
    for (size_t k = 0; k < e->n_attributes; k++)
        if (strcmp(e->attributes[k]->key, key) == 0)
            return e->attributes[k]->value;
    return NULL;
}

/* ---- real payloads ---- */

static const char citizen_conf[] = "[adapter citizen]\n"
                                   "topic = pleiku/citizen/reports\n"
                                   "format = event\n"
                                   "kind = $.category\n"
                                   "severity = $.severity\n"
                                   "text = $.description\n"
                                   "area = $.ward\n"
                                   "status = $.status\n"
                                   "statuses = new, received, assigned, in_progress, resolved, "
                                   "rejected\n"
                                   "time = $.reported_at\n"
                                   "location = $.location\n";

static const char citizen_report[] =
    "{\"id\":\"PK-2026-001234\",\"category\":\"Illegal Parking\","
    "\"description\":\"Xe đỗ trên vỉa hè đường Hùng Vương\",\"ward\":\"Hội Thương\","
    "\"status\":\"assigned\",\"severity\":\"minor\",\"reported_at\":\"2026-11-22T08:15:00+07:00\","
    "\"location\":{\"type\":\"Point\",\"coordinates\":[108.0016,13.9833]},\"photos\":2}";

#define CITIZEN_T INT64_C(1795310100000) /* 2026-11-22T01:15:00Z */

static void test_citizen_report(void **state)
{
    (void)state;
    struct fx *f = fx_new(citizen_conf);
    assert_int_equal(decode(f, "pleiku/citizen/reports", citizen_report), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_events, 1);
    assert_int_equal(notes(f), 0);
    struct want w = {"illegal_parking",
                     SEV(MINOR),
                     "Xe đỗ trên vỉa hè đường Hùng Vương",
                     "",
                     "Hội Thương",
                     "assigned",
                     CITIZEN_T,
                     true,
                     13.9833,
                     108.0016,
                     KV({"id", "PK-2026-001234"}, {"photos", "2"})};
    assert_event(f, 0, "citizen", &w);
    /* byte for byte: "đỗ" and "Hội" as UTF-8, not re-encoded */
    assert_non_null(strstr(f->batch.events[0]->text, "\xc4\x91\xe1\xbb\x97"));
    assert_string_equal(f->batch.events[0]->area, "H\xe1\xbb\x99i Th\xc6\xb0\xc6\xa1ng");
    fx_free(f);
}

/* The same report moving through its status flow. */
static void test_citizen_status_flow(void **state)
{
    (void)state;
    struct fx *f = fx_new(citizen_conf);
    static const struct {
        const char *given, *status;
    } flow[] = {
        {"new", "new"},          {"Received", "received"},       {"ASSIGNED", "assigned"},
        {"In Progress", "in_progress"}, {"in-progress", ""},      {" resolved ", "resolved"},
        {"rejected", "rejected"}, {"closed", ""},                 {"", ""},
    };
    for (size_t i = 0; i < sizeof(flow) / sizeof(flow[0]); i++) {
        char buf[256];
        snprintf(buf, sizeof(buf),
                 "{\"category\":\"Illegal Parking\",\"reported_at\":\"2026-11-22T08:15:00+07:00\","
                 "\"status\":\"%s\"}",
                 flow[i].given);
        assert_int_equal(decode(f, "t", buf), IOCD_REJECT_NONE);
        if (strcmp(f->batch.events[0]->status, flow[i].status) != 0)
            fail_msg("status '%s' gave '%s', expected '%s'", flow[i].given,
                     f->batch.events[0]->status, flow[i].status);
        /* a status not in `statuses` is dropped with a note, the event kept */
        bool unknown = flow[i].status[0] == '\0' && flow[i].given[0] != '\0';
        assert_int_equal(notes(f), unknown ? 1 : 0);
    }
    assert_int_equal(decode(f, "t",
                            "{\"category\":\"x\",\"reported_at\":\"2026-11-22T08:15:00+07:00\","
                            "\"status\":\"closed\"}"),
                     IOCD_REJECT_NONE);
    assert_string_equal(f->batch.note_detail, "dropped status $.status 'closed' is not in statuses");
    /* severity unspecified when the report does not say; no location */
    struct want w = {"x", SEV(UNSPECIFIED), "", "", "", "", CITIZEN_T, false, 0, 0, NO_ATTRS};
    assert_event(f, 0, "citizen", &w);
    /* wrong types reject */
    assert_int_equal(decode(f, "t", "{\"category\":\"x\",\"status\":[\"new\"]}"),
                     IOCD_REJECT_WRONG_TYPE);
    assert_string_equal(f->batch.detail, "status $.status is an array");
    assert_int_equal(decode(f, "t", "{\"category\":\"x\",\"description\":42}"),
                     IOCD_REJECT_WRONG_TYPE);
    assert_string_equal(f->batch.detail, "text $.description is a number");
    assert_int_equal(decode(f, "t", "{\"category\":\"x\",\"ward\":true}"), IOCD_REJECT_WRONG_TYPE);
    assert_string_equal(f->batch.detail, "area $.ward is a bool");
    assert_int_equal(decode(f, "t", "{\"category\":\"x\",\"severity\":{\"level\":2}}"),
                     IOCD_REJECT_WRONG_TYPE);
    assert_string_equal(f->batch.detail, "severity $.severity is an object");
    fx_free(f);

    /* without `statuses` any status is kept (normalised) */
    f = fx_new("[adapter c]\nkind = citizen_report\nstatus = $.s\n");
    assert_int_equal(decode(f, "t", "{\"s\":\"Chờ xử lý\"}"), IOCD_REJECT_NONE);
    assert_string_equal(f->batch.events[0]->status, "cho_xu_ly");
    assert_int_equal(decode(f, "t", "{\"s\":3}"), IOCD_REJECT_NONE);
    assert_string_equal(f->batch.events[0]->status, "3");
    char longs[128];
    snprintf(longs, sizeof(longs), "{\"s\":\"%065d\"}", 0);
    assert_int_equal(decode(f, "t", longs), IOCD_REJECT_NONE);
    assert_string_equal(f->batch.events[0]->status, "");
    assert_int_equal(notes(f), 1);
    assert_string_equal(f->batch.note_detail,
                        "dropped status $.s '00000000000000000000000000000000000000000000...' is "
                        "longer than 64 characters");
    fx_free(f);
}

static const char camera_conf[] = "[adapter traffic-cam]\n"
                                  "topic = pleiku/traffic/cam/+/violation\n"
                                  "format = event\n"
                                  "kind = $.violation\n"
                                  "device = topic[3]\n"
                                  "area = literal:Diên Hồng\n"
                                  "severity = warning\n"
                                  "time = $.ts\n"
                                  "time_format = ms\n"
                                  "location = $.gps\n";

static void test_traffic_violation(void **state)
{
    (void)state;
    struct fx *f = fx_new(camera_conf);
    assert_int_equal(
        decode(f, "pleiku/traffic/cam/CAM-GL-042/violation",
               "{\"violation\":\"Red Light\",\"plate\":\"81A-123.45\",\"speed_kmh\":47.5,"
               "\"lane\":2,\"ts\":1795341845123,\"gps\":\"13.9790, 108.0110\","
               "\"image\":\"https://ioc.pleiku.example/img/v/20261122/100405123.jpg\","
               "\"vehicle\":{\"type\":\"motorbike\",\"color\":\"red\"},\"confirmed\":true,"
               "\"note\":null}"),
        IOCD_REJECT_NONE);
    struct want w = {"red_light",
                     SEV(WARNING),
                     "",
                     "CAM-GL-042",
                     "Diên Hồng",
                     "",
                     T_100405 + 123,
                     true,
                     13.979,
                     108.011,
                     KV({"confirmed", "true"},
                        {"image", "https://ioc.pleiku.example/img/v/20261122/100405123.jpg"},
                        {"lane", "2"},
                        {"plate", "81A-123.45"},
                        {"speed_kmh", "47.5"},
                        {"vehicle", "{\"type\":\"motorbike\",\"color\":\"red\"}"})};
    assert_event(f, 0, "traffic-cam", &w);
    assert_int_equal(notes(f), 0);
    /* the topic has no level 3: the device is "" */
    assert_int_equal(decode(f, "pleiku/traffic/cam", "{\"violation\":\"speeding\",\"ts\":1}"),
                     IOCD_REJECT_NONE);
    assert_string_equal(f->batch.events[0]->device, "");
    assert_int_equal(f->batch.events[0]->time_ms, 1);
    /* time_format = ms: a string is the wrong type */
    assert_int_equal(decode(f, "t", "{\"violation\":\"x\",\"ts\":\"2026-11-22T10:04:05Z\"}"),
                     IOCD_REJECT_WRONG_TYPE);
    assert_string_equal(f->batch.detail, "time $.ts is a string, time_format expects a number");
    fx_free(f);
}

static const char fire_conf[] = "[adapter fire]\n"
                                "topic = pleiku/fire/+/alarm\n"
                                "format = event\n"
                                "kind = $.event\n"
                                "device = $.panel\n"
                                "severity = $.priority\n"
                                "severity_map = 1:critical, 2:major, 3:minor, 4:warning, "
                                "test:info\n"
                                "area = $.ward\n"
                                "time = $.ts\n"
                                "attributes = $.zone, $.building, $['floor'], $.loop.id\n";

static void test_fire_alarm(void **state)
{
    (void)state;
    struct fx *f = fx_new(fire_conf);
    assert_int_equal(decode(f, "pleiku/fire/FA-GL-017/alarm",
                            "{\"panel\":\"FA-GL-017\",\"zone\":3,\"event\":\"FIRE\","
                            "\"priority\":1,\"ts\":\"2026-11-22T17:04:05+07:00\","
                            "\"ward\":\"Hội Phú\",\"building\":\"Chợ Pleiku\",\"floor\":2,"
                            "\"loop\":{\"id\":\"L2\",\"device\":14},\"ack\":false}"),
                     IOCD_REJECT_NONE);
    struct want w = {"fire",
                     SEV(CRITICAL),
                     "",
                     "FA-GL-017",
                     "Hội Phú",
                     "",
                     T_100405,
                     false,
                     0,
                     0,
                     KV({"building", "Chợ Pleiku"}, {"floor", "2"}, {"loop.id", "L2"},
                        {"zone", "3"})};
    assert_event(f, 0, "fire", &w);
    assert_int_equal(notes(f), 0);

    /* a fault at priority 3, and a test at "TEST" priority */
    assert_int_equal(decode(f, "t",
                            "{\"panel\":\"FA-GL-017\",\"zone\":7,\"event\":\"Fault\","
                            "\"priority\":3,\"ts\":\"2026-11-22T17:04:05+07:00\"}"),
                     IOCD_REJECT_NONE);
    struct want fault = {"fault", SEV(MINOR),     "", "FA-GL-017", "", "", T_100405, false, 0, 0,
                         KV({"zone", "7"})};
    assert_event(f, 0, "fire", &fault);
    assert_int_equal(decode(f, "t", "{\"event\":\"test\",\"priority\":\" Test \"}"),
                     IOCD_REJECT_NONE);
    assert_int_equal(f->batch.events[0]->severity, SEV(INFO));
    /* with a map, only the map counts: 5 and "high" are unknown */
    assert_int_equal(decode(f, "t", "{\"event\":\"FIRE\",\"priority\":5,\"ts\":1}"),
                     IOCD_REJECT_NONE);
    assert_int_equal(f->batch.events[0]->severity, SEV(UNSPECIFIED));
    assert_int_equal(notes(f), 1);
    assert_string_equal(f->batch.note_detail,
                        "dropped severity $.priority '5' is not a known severity");
    assert_int_equal(decode(f, "t", "{\"event\":\"FIRE\",\"priority\":\"high\",\"ts\":1}"),
                     IOCD_REJECT_NONE);
    assert_int_equal(f->batch.events[0]->severity, SEV(UNSPECIFIED));
    assert_string_equal(f->batch.note_detail,
                        "dropped severity $.priority 'high' is not a known severity");
    assert_int_equal(decode(f, "t", "{\"event\":\"FIRE\",\"priority\":1.5,\"ts\":1}"),
                     IOCD_REJECT_NONE);
    assert_int_equal(f->batch.events[0]->severity, SEV(UNSPECIFIED));
    assert_int_equal(decode(f, "t", "{\"event\":\"FIRE\",\"priority\":true,\"ts\":1}"),
                     IOCD_REJECT_WRONG_TYPE);
    assert_string_equal(f->batch.detail, "severity $.priority is a bool");
    fx_free(f);
}

static const char analytics_conf[] = "[adapter camera]\n"
                                     "topic = pleiku/camera/+/analytics\n"
                                     "format = event\n"
                                     "records = $.detections\n"
                                     "kind = $.type\n"
                                     "device = ^$.camera\n"
                                     "area = ^$.site\n"
                                     "time = ^$.ts\n";

static const char analytics_payload[] =
    "{\"camera\":\"CAM-GL-007\",\"ts\":\"2026-11-22T10:04:05Z\","
    "\"site\":\"Quảng trường Đại Đoàn Kết\",\"detections\":["
    "{\"type\":\"Crowd\",\"count\":37,\"confidence\":0.91,\"zone\":\"north\"},"
    "{\"type\":\"Loitering\",\"confidence\":0.78,\"track\":1187,"
    "\"at\":\"2026-11-22T10:04:03.250Z\"},"
    "{\"type\":\"Wrong-Way Driving\",\"confidence\":0.66,\"bbox\":[412,188,96,64]}]}";

static void test_camera_records(void **state)
{
    (void)state;
    struct fx *f = fx_new(analytics_conf);
    assert_int_equal(decode(f, "pleiku/camera/CAM-GL-007/analytics", analytics_payload),
                     IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_events, 3);
    assert_int_equal(notes(f), 0);
    const char *site = "Quảng trường Đại Đoàn Kết";
    struct want w0 = {"crowd",
                      SEV(INFO),
                      "",
                      "CAM-GL-007",
                      site,
                      "",
                      T_100405,
                      false,
                      0,
                      0,
                      KV({"confidence", "0.91"}, {"count", "37"}, {"zone", "north"})};
    struct want w1 = {"loitering",
                      SEV(INFO),
                      "",
                      "CAM-GL-007",
                      site,
                      "",
                      T_100405,
                      false,
                      0,
                      0,
                      KV({"at", "2026-11-22T10:04:03.250Z"}, {"confidence", "0.78"},
                         {"track", "1187"})};
    struct want w2 = {"wrong-way_driving",
                      SEV(INFO),
                      "",
                      "CAM-GL-007",
                      site,
                      "",
                      T_100405,
                      false,
                      0,
                      0,
                      KV({"bbox", "[412,188,96,64]"}, {"confidence", "0.66"})};
    assert_event(f, 0, "camera", &w0);
    assert_event(f, 1, "camera", &w1);
    assert_event(f, 2, "camera", &w2);

    /* bad records are skipped with one note; the good one stays */
    assert_int_equal(decode(f, "t",
                            "{\"camera\":\"C\",\"ts\":\"2026-11-22T10:04:05Z\",\"detections\":["
                            "{\"type\":\"Crowd\"},42,{\"confidence\":1},{\"type\":[1]}]}"),
                     IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_events, 1);
    assert_string_equal(f->batch.events[0]->kind, "crowd");
    assert_int_equal(notes(f), 1);
    assert_string_equal(f->batch.note_detail,
                        "3 of 4 records skipped; record 1: $.detections[1] is a number, not an "
                        "object");
    assert_string_equal(f->batch.detail, "");
    /* a record with a dropped value counts its own note */
    assert_int_equal(decode(f, "t",
                            "{\"camera\":\"C/1\",\"site\":\"S\",\"ts\":\"2026-11-22T10:04:05Z\","
                            "\"detections\":[{\"type\":\"a\"},{\"type\":\"b\",\"x\":1e999}]}"),
                     IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_events, 2);
    assert_string_equal(f->batch.events[0]->device, "C-1");
    assert_int_equal(f->batch.events[1]->n_attributes, 0);
    assert_int_equal(notes(f), 1);
    assert_string_equal(f->batch.note_detail, "record 1: dropped attribute 'x' is not a finite "
                                              "number");
    /* none usable: the first record's reason */
    assert_int_equal(decode(f, "t",
                            "{\"camera\":\"C\",\"ts\":\"2026-11-22T10:04:05Z\",\"detections\":["
                            "{\"type\":null},{\"type\":true}]}"),
                     IOCD_REJECT_MISSING_FIELD);
    assert_string_equal(f->batch.detail,
                        "no usable record of 2; record 0: kind $.type is missing");
    assert_int_equal(decode(f, "t", "{\"ts\":\"yesterday\",\"detections\":[{\"type\":\"a\"}]}"),
                     IOCD_REJECT_BAD_TIME);
    assert_string_equal(f->batch.detail, "no usable record of 1; record 0: time ^$.ts "
                                         "'yesterday' is not a valid ISO-8601 time");
    assert_int_equal(decode(f, "t", "{\"detections\":[]}"), IOCD_REJECT_MISSING_FIELD);
    assert_string_equal(f->batch.detail, "records $.detections is empty");
    assert_int_equal(decode(f, "t", "{\"camera\":\"C\"}"), IOCD_REJECT_MISSING_FIELD);
    assert_string_equal(f->batch.detail, "records $.detections is missing");
    assert_int_equal(decode(f, "t", "{\"detections\":null}"), IOCD_REJECT_MISSING_FIELD);
    assert_int_equal(decode(f, "t", "{\"detections\":{\"type\":\"a\"}}"), IOCD_REJECT_WRONG_TYPE);
    assert_string_equal(f->batch.detail, "records $.detections is an object, not an array");
    assert_int_equal(decode(f, "t", "[{\"type\":\"a\"}]"), IOCD_REJECT_MALFORMED);
    assert_string_equal(f->batch.detail, "payload is JSON an array, not an object");
    fx_free(f);

    /* records = $: the payload itself is the array */
    f = fx_new("[adapter cam]\nrecords = $\nkind = $.type\ndevice = $.cam\n"
               "attributes = none\n");
    assert_int_equal(decode(f, "t", "[{\"type\":\"Person\",\"cam\":\"C1\",\"x\":1},"
                                    "{\"type\":\"Vehicle\",\"cam\":\"C2\"}]"),
                     IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_events, 2);
    struct want p = {"person", SEV(INFO), "", "C1", "", "", RECEIVED, false, 0, 0, NO_ATTRS};
    struct want v = {"vehicle", SEV(INFO), "", "C2", "", "", RECEIVED, false, 0, 0, NO_ATTRS};
    assert_event(f, 0, "cam", &p);
    assert_event(f, 1, "cam", &v);
    assert_int_equal(decode(f, "t", "{\"type\":\"Person\"}"), IOCD_REJECT_MALFORMED);
    assert_string_equal(f->batch.detail, "payload is JSON an object, not an array (records = $)");
    assert_int_equal(decode(f, "t", "[]"), IOCD_REJECT_MISSING_FIELD);
    assert_int_equal(decode(f, "t", "[1,\"a\",null]"), IOCD_REJECT_MALFORMED);
    assert_string_equal(f->batch.detail,
                        "no usable record of 3; record 0: $[0] is a number, not an object");
    fx_free(f);
}

/* Verbatim copy of tests/fuzz/corpus/event/fiware-alert.json (see
 * SOURCES.txt there): smart-data-models/dataModel.Alert Alert/examples/example.json. */
static const char fiware_alert[] =
    "{\n  \"id\": \"Alert:1\",\n  \"type\": \"Alert\",\n  \"category\": \"traffic\",\n"
    "  \"subCategory\": \"trafficJam\",\n  \"severity\": \"high\",\n  \"location\": {\n"
    "    \"type\": \"Point\",\n    \"coordinates\": [\n      -3.712247222222222,\n"
    "      40.423852777777775\n    ]\n  },\n  \"dateIssued\": \"2017-01-02T09:25:55.00Z\",\n"
    "  \"validFrom\": \"2017-01-02T09:25:55.00Z\",\n  \"validTo\": \"2017-01-02T10:25:55.00Z\",\n"
    "  \"description\": \"The road is completely blocked for 3kms\",\n"
    "  \"alertSource\": \"https://account.lab.fiware.org/users/8\"\n}\n";

static void test_fiware_alert(void **state)
{
    (void)state;
    struct fx *f = fx_new("[adapter alerts]\n"
                          "topic = fiware/alert\n"
                          "format = event\n"
                          "kind = $.subCategory\n"
                          "severity = $.severity\n"
                          "text = $.description\n"
                          "time = $.dateIssued\n"
                          "location = $.location\n");
    assert_int_equal(decode(f, "fiware/alert", fiware_alert), IOCD_REJECT_NONE);
    assert_int_equal(notes(f), 0);
    struct want w = {"trafficjam",
                     SEV(MAJOR),
                     "The road is completely blocked for 3kms",
                     "",
                     "",
                     "",
                     INT64_C(1483349155000),
                     true,
                     40.423852777777775,
                     -3.712247222222222,
                     KV({"alertSource", "https://account.lab.fiware.org/users/8"},
                        {"category", "traffic"},
                        {"id", "Alert:1"},
                        {"type", "Alert"},
                        {"validFrom", "2017-01-02T09:25:55.00Z"},
                        {"validTo", "2017-01-02T10:25:55.00Z"})};
    assert_event(f, 0, "alerts", &w);
    fx_free(f);
}

/* ---- normalisation rules ---- */

static void test_kind_values(void **state)
{
    (void)state;
    struct fx *f = fx_new("[adapter k]\nkind = $.k\n");
    static const struct {
        const char *json, *kind;
    } ok[] = {
        {"\"Illegal Parking\"", "illegal_parking"},
        {"\"FIRE\"", "fire"},
        {"\"  Fire!! Alarm  \"", "fire_alarm"},
        {"\"(Fire)\"", "fire"},
        {"\"red-light.v2\"", "red-light.v2"},
        {"\"_x_\"", "_x_"},
        {"\"Lấn chiếm vỉa hè\"", "lan_chiem_via_he"},
        {"\"Cháy nổ\"", "chay_no"},
        {"\"Đường Phạm Văn Đồng\"", "duong_pham_van_dong"},
        {"\"ĂÂÊÔƠƯĐ ăâêôơưđ ĩũ\"", "aaeooud_aaeooud_iu"},
        {"\"Ça déjà vu\"", "ca_deja_vu"},
        /* decomposed (NFD) Vietnamese: combining marks dropped */
        {"\"Ca\\u0301y ca\\u0302\\u0300y\"", "cay_cay"},
        {"\"火災 fire\"", "fire"},
        {"\"a\xff\xfe b\"", "a_b"},
        {"\"a\\tb\"", "a_b"},
        {"1103", "1103"},
        {"-7", "-7"},
        {"\"0123456789012345678901234567890123456789012345678901234567890123\"",
         "0123456789012345678901234567890123456789012345678901234567890123"},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        char buf[256];
        snprintf(buf, sizeof(buf), "{\"k\":%s}", ok[i].json);
        if (decode(f, "t", buf) != IOCD_REJECT_NONE)
            fail_msg("kind %s rejected: %s", ok[i].json, f->batch.detail);
        if (strcmp(f->batch.events[0]->kind, ok[i].kind) != 0)
            fail_msg("kind %s gave '%s', expected '%s'", ok[i].json, f->batch.events[0]->kind,
                     ok[i].kind);
    }
    assert_int_equal(decode(f, "t", "{\"k\":\"!!!\"}"), IOCD_REJECT_BAD_ID);
    assert_string_equal(f->batch.detail, "kind $.k '!!!' has no letter or digit");
    assert_int_equal(decode(f, "t", "{\"k\":\"\"}"), IOCD_REJECT_BAD_ID);
    assert_int_equal(decode(f, "t", "{\"k\":\"火災\"}"), IOCD_REJECT_BAD_ID);
    assert_int_equal(decode(f, "t",
                            "{\"k\":\"01234567890123456789012345678901234567890123456789"
                            "012345678901234\"}"),
                     IOCD_REJECT_BAD_ID);
    assert_string_equal(f->batch.detail, "kind $.k '01234567890123456789012345678901234567890123"
                                         "...' is longer than 64 characters");
    /* 62 characters, a separator and 2 more: 65 */
    assert_int_equal(decode(f, "t",
                            "{\"k\":\"0123456789012345678901234567890123456789012345678901234"
                            "5678901 12\"}"),
                     IOCD_REJECT_BAD_ID);
    /* 64 characters and a trailing run of others: 64 */
    assert_int_equal(decode(f, "t",
                            "{\"k\":\"0123456789012345678901234567890123456789012345678901234"
                            "567890123 !!\"}"),
                     IOCD_REJECT_NONE);
    assert_int_equal(strlen(f->batch.events[0]->kind), 64);
    assert_int_equal(decode(f, "t", "{\"k\":12.5}"), IOCD_REJECT_WRONG_TYPE);
    assert_string_equal(f->batch.detail, "kind $.k is a number but not an integer");
    assert_int_equal(decode(f, "t", "{\"k\":true}"), IOCD_REJECT_WRONG_TYPE);
    assert_string_equal(f->batch.detail, "kind $.k is a bool");
    assert_int_equal(decode(f, "t", "{\"k\":{}}"), IOCD_REJECT_WRONG_TYPE);
    assert_int_equal(decode(f, "t", "{\"k\":1e300}"), IOCD_REJECT_WRONG_TYPE);
    assert_int_equal(decode(f, "t", "{\"k\":null}"), IOCD_REJECT_MISSING_FIELD);
    assert_string_equal(f->batch.detail, "kind $.k is missing");
    assert_int_equal(decode(f, "t", "{\"kind\":\"fire\"}"), IOCD_REJECT_MISSING_FIELD);
    fx_free(f);

    /* a topic level is normalised like a payload value; a literal is kept */
    f = fx_new("[adapter k]\nkind = topic[1]\n");
    assert_int_equal(decode(f, "alarms/Smoke Detector/x", "{}"), IOCD_REJECT_NONE);
    assert_string_equal(f->batch.events[0]->kind, "smoke_detector");
    assert_int_equal(decode(f, "alarms", "{}"), IOCD_REJECT_MISSING_FIELD);
    assert_string_equal(f->batch.detail, "kind topic[1]: the topic has no such level or it is "
                                         "empty");
    assert_int_equal(decode(f, "alarms//x", "{}"), IOCD_REJECT_MISSING_FIELD);
    fx_free(f);
    f = fx_new("[adapter k]\nkind = Fire_Alarm\n");
    assert_int_equal(decode(f, "t", "{\"kind\":\"other\"}"), IOCD_REJECT_NONE);
    struct want w = {"Fire_Alarm", SEV(INFO), "", "", "", "", RECEIVED, false, 0, 0,
                     KV({"kind", "other"})};
    assert_event(f, 0, "k", &w);
    fx_free(f);
    /* literal: makes text that looks like a path or topic[N] a literal */
    f = fx_new("[adapter k]\nkind = literal:fire_alarm\narea = literal:$ward\n"
               "device = literal:topic[2]\n");
    assert_int_equal(decode(f, "a/b/c", "{\"ward\":\"W\"}"), IOCD_REJECT_NONE);
    struct want lit = {"fire_alarm", SEV(INFO), "", "topic[2]", "$ward", "", RECEIVED, false, 0, 0,
                       KV({"ward", "W"})};
    assert_event(f, 0, "k", &lit);
    fx_free(f);
}

static void test_severity_values(void **state)
{
    (void)state;
    struct fx *f = fx_new("[adapter s]\nkind = x\nseverity = $.s\nattributes = none\n");
    static const struct {
        const char *json;
        Ioc__V1__Severity sev;
        unsigned notes;
    } cases[] = {
        {"0", SEV(UNSPECIFIED), 0}, {"1", SEV(INFO), 0},
        {"2", SEV(WARNING), 0},     {"3", SEV(MINOR), 0},
        {"4", SEV(MAJOR), 0},       {"5", SEV(CRITICAL), 0},
        {"5.0", SEV(CRITICAL), 0},  {"6", SEV(UNSPECIFIED), 1},
        {"-1", SEV(UNSPECIFIED), 1}, {"2.5", SEV(UNSPECIFIED), 1},
        {"1e999", SEV(UNSPECIFIED), 1}, {"\"3\"", SEV(MINOR), 0},
        {"\"info\"", SEV(INFO), 0}, {"\"Notice\"", SEV(INFO), 0},
        {"\"informational\"", SEV(INFO), 0}, {"\"WARNING\"", SEV(WARNING), 0},
        {"\"warn\"", SEV(WARNING), 0}, {"\"low\"", SEV(WARNING), 0},
        {"\"minor\"", SEV(MINOR), 0}, {"\"Medium\"", SEV(MINOR), 0},
        {"\"moderate\"", SEV(MINOR), 0}, {"\"major\"", SEV(MAJOR), 0},
        {"\"HIGH\"", SEV(MAJOR), 0}, {"\"severe\"", SEV(MAJOR), 0},
        {"\"critical\"", SEV(CRITICAL), 0}, {"\"Emergency\"", SEV(CRITICAL), 0},
        {"\"fatal\"", SEV(CRITICAL), 0}, {"\"extreme\"", SEV(CRITICAL), 0},
        {"\" high \"", SEV(MAJOR), 0}, {"\"unknown\"", SEV(UNSPECIFIED), 0},
        {"\"unspecified\"", SEV(UNSPECIFIED), 0}, {"\"urgent\"", SEV(UNSPECIFIED), 1},
        {"\"\"", SEV(UNSPECIFIED), 1}, {"null", SEV(UNSPECIFIED), 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char buf[128];
        snprintf(buf, sizeof(buf), "{\"s\":%s}", cases[i].json);
        assert_int_equal(decode(f, "t", buf), IOCD_REJECT_NONE);
        if (f->batch.events[0]->severity != cases[i].sev || notes(f) != cases[i].notes)
            fail_msg("severity %s: got %d with %u notes, expected %d with %u", cases[i].json,
                     f->batch.events[0]->severity, notes(f), cases[i].sev, cases[i].notes);
    }
    assert_int_equal(decode(f, "t", "{\"s\":\"urgent\"}"), IOCD_REJECT_NONE);
    assert_string_equal(f->batch.note_detail, "dropped severity $.s 'urgent' is not a known "
                                              "severity");
    assert_int_equal(decode(f, "t", "{\"s\":1e999}"), IOCD_REJECT_NONE);
    assert_string_equal(f->batch.note_detail, "dropped severity $.s is not a finite number");
    assert_int_equal(decode(f, "t", "{\"s\":[1]}"), IOCD_REJECT_WRONG_TYPE);
    assert_string_equal(f->batch.detail, "severity $.s is an array");
    /* absent: the source did not say */
    assert_int_equal(decode(f, "t", "{}"), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.events[0]->severity, SEV(UNSPECIFIED));
    fx_free(f);

    /* not configured: info; a literal: that severity */
    f = fx_new("[adapter s]\nkind = x\n");
    assert_int_equal(decode(f, "t", "{\"severity\":\"critical\"}"), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.events[0]->severity, SEV(INFO));
    assert_string_equal(attr(f, "severity"), "critical");
    fx_free(f);
    f = fx_new("[adapter s]\nkind = x\nseverity = High\n");
    assert_int_equal(decode(f, "t", "{\"severity\":\"info\"}"), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.events[0]->severity, SEV(MAJOR));
    fx_free(f);
    f = fx_new("[adapter s]\nkind = x\nseverity = 5\n");
    assert_int_equal(decode(f, "t", "{}"), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.events[0]->severity, SEV(CRITICAL));
    fx_free(f);
    f = fx_new("[adapter s]\nkind = x\nseverity = topic[0]\n");
    assert_int_equal(decode(f, "major/x", "{}"), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.events[0]->severity, SEV(MAJOR));
    fx_free(f);
}

static void test_device_and_area(void **state)
{
    (void)state;
    struct fx *f = fx_new("[adapter a]\nkind = x\ndevice = $.d\narea = $.a\nattributes = none\n");
    static const struct {
        const char *json, *label;
        unsigned notes;
    } cases[] = {
        {"\"Hội Thương\"", "Hội Thương", 0},
        {"\"  Hội   Thương \"", "Hội Thương", 0},
        {"\"Phường\\tHội\\nThương\"", "Phường Hội Thương", 0},
        {"\"Ia Kring/Pleiku\"", "Ia Kring-Pleiku", 0},
        {"\"a+b#c\"", "a-b-c", 0},
        {"\"a\\u007fb\"", "a b", 0},
        {"\"   \"", "", 0},
        {"\"\"", "", 0},
        {"7", "7", 0},
        {"null", "", 0},
        {"\"\xff\"", "", 1},
        {"\"x\xc3\"", "", 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char buf[256];
        snprintf(buf, sizeof(buf), "{\"d\":%s,\"a\":%s}", cases[i].json, cases[i].json);
        assert_int_equal(decode(f, "t", buf), IOCD_REJECT_NONE);
        const Ioc__V1__Event *e = f->batch.events[0];
        if (strcmp(e->area, cases[i].label) || strcmp(e->device, cases[i].label) ||
            notes(f) != cases[i].notes)
            fail_msg("%s: area '%s' device '%s' with %u notes, expected '%s' with %u",
                     cases[i].json, e->area, e->device, notes(f), cases[i].label, cases[i].notes);
    }
    /* two drops in one event: one note */
    assert_int_equal(decode(f, "t", "{\"d\":\"\xff\",\"a\":\"\xff\"}"), IOCD_REJECT_NONE);
    assert_string_equal(f->batch.note_detail,
                        "dropped device $.d '?' is not valid UTF-8 (and 1 more)");
    /* 128 bytes kept, 129 dropped */
    char buf[400], big[140];
    memset(big, 'w', 129);
    big[128] = '\0';
    snprintf(buf, sizeof(buf), "{\"a\":\"%s\"}", big);
    assert_int_equal(decode(f, "t", buf), IOCD_REJECT_NONE);
    assert_string_equal(f->batch.events[0]->area, big);
    big[128] = 'w';
    big[129] = '\0';
    snprintf(buf, sizeof(buf), "{\"a\":\"%s\"}", big);
    assert_int_equal(decode(f, "t", buf), IOCD_REJECT_NONE);
    assert_string_equal(f->batch.events[0]->area, "");
    assert_string_equal(f->batch.note_detail,
                        "dropped area $.a 'wwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwww...' is "
                        "longer than 128 bytes");
    /* types */
    assert_int_equal(decode(f, "t", "{\"d\":1.5}"), IOCD_REJECT_WRONG_TYPE);
    assert_string_equal(f->batch.detail, "device $.d is a number but not an integer");
    assert_int_equal(decode(f, "t", "{\"a\":[\"x\"]}"), IOCD_REJECT_WRONG_TYPE);
    assert_string_equal(f->batch.detail, "area $.a is an array");
    fx_free(f);

    /* literals and topic levels */
    f = fx_new("[adapter a]\nkind = x\ndevice = topic[2]\narea = \" Ia  Kring \"\n");
    assert_int_equal(decode(f, "pleiku/fire/FA 1/alarm", "{}"), IOCD_REJECT_NONE);
    assert_string_equal(f->batch.events[0]->device, "FA 1");
    assert_string_equal(f->batch.events[0]->area, "Ia Kring");
    fx_free(f);
}

static void test_time_values(void **state)
{
    (void)state;
    struct fx *f = fx_new("[adapter t]\nkind = x\ntime = $.ts\ntime_offset = +07:00\n"
                          "attributes = none\n");
    static const struct {
        const char *json;
        int64_t ms;
    } ok[] = {
        {"\"2026-11-22T17:04:05\"", T_100405},
        {"\"2026-11-22T10:04:05Z\"", T_100405},
        {"\"2026-11-22 17:04:05.250+07:00\"", T_100405 + 250},
        {"1795341845", T_100405},
        {"1795341845123", T_100405 + 123},
        {"1795341845123456", T_100405 + 123},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        char buf[128];
        snprintf(buf, sizeof(buf), "{\"ts\":%s}", ok[i].json);
        assert_int_equal(decode(f, "t", buf), IOCD_REJECT_NONE);
        assert_int_equal(f->batch.events[0]->time_ms, ok[i].ms);
        assert_int_equal(notes(f), 0);
    }
    /* missing: the receive time, with a note */
    assert_int_equal(decode(f, "t", "{}"), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.events[0]->time_ms, RECEIVED);
    assert_int_equal(notes(f), 1);
    assert_string_equal(f->batch.note_detail,
                        "dropped time $.ts is missing (the receive time is used)");
    assert_int_equal(decode(f, "t", "{\"ts\":null}"), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.events[0]->time_ms, RECEIVED);
    /* rejects */
    assert_int_equal(decode(f, "t", "{\"ts\":\"yesterday\"}"), IOCD_REJECT_BAD_TIME);
    assert_string_equal(f->batch.detail, "time $.ts 'yesterday' is not a valid ISO-8601 time");
    assert_int_equal(decode(f, "t", "{\"ts\":\"2023-02-29T00:00:00Z\"}"), IOCD_REJECT_BAD_TIME);
    assert_int_equal(decode(f, "t", "{\"ts\":\"1969-12-31T23:59:59Z\"}"), IOCD_REJECT_BAD_TIME);
    assert_int_equal(decode(f, "t", "{\"ts\":-5}"), IOCD_REJECT_BAD_TIME);
    assert_string_equal(f->batch.detail, "time $.ts -5 is out of range");
    assert_int_equal(decode(f, "t", "{\"ts\":1e999}"), IOCD_REJECT_BAD_TIME);
    assert_int_equal(decode(f, "t", "{\"ts\":true}"), IOCD_REJECT_WRONG_TYPE);
    assert_string_equal(f->batch.detail, "time $.ts is a bool");
    assert_int_equal(decode(f, "t", "{\"ts\":[1]}"), IOCD_REJECT_WRONG_TYPE);
    fx_free(f);

    f = fx_new("[adapter t]\nkind = x\ntime = $.ts\ntime_format = iso8601\n");
    assert_int_equal(decode(f, "t", "{\"ts\":1795341845}"), IOCD_REJECT_WRONG_TYPE);
    assert_string_equal(f->batch.detail, "time $.ts is a number, time_format is iso8601");
    fx_free(f);
    f = fx_new("[adapter t]\nkind = x\ntime = $.ts\ntime_format = s\n");
    assert_int_equal(decode(f, "t", "{\"ts\":1795341845.5}"), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.events[0]->time_ms, T_100405 + 500);
    fx_free(f);
    f = fx_new("[adapter t]\nkind = x\ntime = $.ts\ntime_format = us\n");
    assert_int_equal(decode(f, "t", "{\"ts\":1795341845000000}"), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.events[0]->time_ms, T_100405);
    fx_free(f);
}

static void test_location_values(void **state)
{
    (void)state;
    struct fx *f = fx_new("[adapter l]\nkind = x\nlat = $.lat\nlon = $.gps.lon\n");
    assert_int_equal(decode(f, "t", "{\"lat\":13.9833,\"gps\":{\"lon\":108.0016,\"fix\":3}}"),
                     IOCD_REJECT_NONE);
    /* gps is read through a longer path: still an attribute; lat is not */
    struct want w = {"x", SEV(INFO), "", "", "", "", RECEIVED, true, 13.9833, 108.0016,
                     KV({"gps", "{\"lon\":108.0016,\"fix\":3}"})};
    assert_event(f, 0, "l", &w);
    assert_int_equal(decode(f, "t", "{\"lat\":\" 13.5 \",\"gps\":{\"lon\":\"-108\"}}"),
                     IOCD_REJECT_NONE);
    assert_non_null(f->batch.events[0]->location);
    assert_true(f->batch.events[0]->location->lat == 13.5);
    assert_true(f->batch.events[0]->location->lon == -108.0);
    static const struct {
        const char *json, *note;
    } dropped[] = {
        {"{\"lat\":90.5,\"gps\":{\"lon\":1}}", "dropped location lat 90.5 lon 1 is out of range"},
        {"{\"lat\":1,\"gps\":{\"lon\":-180.01}}",
         "dropped location lat 1 lon -180.00999999999999 is out of range"},
        {"{\"lat\":1}", "dropped location: $.gps.lon is missing"},
        {"{\"gps\":{\"lon\":1}}", "dropped location: $.lat is missing"},
        {"{\"lat\":1e999,\"gps\":{\"lon\":1}}",
         "dropped location: $.lat or $.gps.lon is not a finite number"},
        {"{\"lat\":\"nan\",\"gps\":{\"lon\":1}}",
         "dropped location: $.lat or $.gps.lon is not a finite number"},
        {"{\"lat\":\"0x10\",\"gps\":{\"lon\":1}}",
         "dropped location: $.lat or $.gps.lon is not a finite number"},
        {"{\"lat\":true,\"gps\":{\"lon\":1}}",
         "dropped location: $.lat or $.gps.lon is not a finite number"},
    };
    for (size_t i = 0; i < sizeof(dropped) / sizeof(dropped[0]); i++) {
        assert_int_equal(decode(f, "t", dropped[i].json), IOCD_REJECT_NONE);
        assert_null(f->batch.events[0]->location);
        assert_int_equal(notes(f), 1);
        assert_string_equal(f->batch.note_detail, dropped[i].note);
    }
    /* the edges are fine; absent is no location and no note */
    assert_int_equal(decode(f, "t", "{\"lat\":-90,\"gps\":{\"lon\":180}}"), IOCD_REJECT_NONE);
    assert_non_null(f->batch.events[0]->location);
    assert_int_equal(decode(f, "t", "{\"lat\":null}"), IOCD_REJECT_NONE);
    assert_null(f->batch.events[0]->location);
    assert_int_equal(notes(f), 0);
    fx_free(f);

    f = fx_new("[adapter l]\nkind = x\nlocation = $.loc\nattributes = none\n");
    assert_int_equal(
        decode(f, "t", "{\"loc\":{\"type\":\"Point\",\"coordinates\":[108.0016,13.9833,780]}}"),
        IOCD_REJECT_NONE);
    assert_true(f->batch.events[0]->location->lat == 13.9833);
    assert_true(f->batch.events[0]->location->lon == 108.0016);
    assert_int_equal(decode(f, "t", "{\"loc\":\"13.9833,108.0016\"}"), IOCD_REJECT_NONE);
    assert_true(f->batch.events[0]->location->lat == 13.9833);
    assert_true(f->batch.events[0]->location->lon == 108.0016);
    assert_int_equal(notes(f), 0);
    static const struct {
        const char *json, *note;
    } bad[] = {
        {"{\"loc\":{\"type\":\"Polygon\",\"coordinates\":[[[1,2],[3,4],[5,6],[1,2]]]}}",
         "dropped location $.loc is not a GeoJSON Point"},
        {"{\"loc\":{\"coordinates\":[1,2]}}", "dropped location $.loc is not a GeoJSON Point"},
        {"{\"loc\":{\"type\":\"Point\",\"coordinates\":[1]}}",
         "dropped location $.loc: coordinates are not [lon, lat]"},
        {"{\"loc\":{\"type\":\"Point\",\"coordinates\":[1,2,3,4]}}",
         "dropped location $.loc: coordinates are not [lon, lat]"},
        {"{\"loc\":{\"type\":\"Point\",\"coordinates\":[\"1\",2]}}",
         "dropped location $.loc: coordinates are not [lon, lat]"},
        {"{\"loc\":{\"type\":\"Point\",\"coordinates\":[1e999,2]}}",
         "dropped location $.loc: coordinates are not [lon, lat]"},
        {"{\"loc\":{\"type\":\"Point\",\"coordinates\":[13.98,108.0]}}",
         "dropped location lat 108 lon 13.98 is out of range"},
        {"{\"loc\":\"13.98\"}", "dropped location $.loc is not a 'lat,lon' string"},
        {"{\"loc\":\"13.98,abc\"}", "dropped location $.loc is not a 'lat,lon' string"},
        {"{\"loc\":\"13.98,108,5\"}", "dropped location $.loc is not a 'lat,lon' string"},
        {"{\"loc\":[108,13]}", "dropped location $.loc is an array"},
        {"{\"loc\":5}", "dropped location $.loc is a number"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(decode(f, "t", bad[i].json), IOCD_REJECT_NONE);
        assert_null(f->batch.events[0]->location);
        assert_int_equal(notes(f), 1);
        assert_string_equal(f->batch.note_detail, bad[i].note);
    }
    fx_free(f);
}

static void test_text_values(void **state)
{
    (void)state;
    struct fx *f = fx_new("[adapter t]\nkind = x\ntext = $.t\nattributes = none\n");
    assert_int_equal(decode(f, "t", "{\"t\":\"Cháy ở chợ\\nGọi 114\"}"), IOCD_REJECT_NONE);
    assert_string_equal(f->batch.events[0]->text, "Cháy ở chợ\nGọi 114");
    assert_int_equal(decode(f, "t", "{\"t\":\"a\xff" "b\"}"), IOCD_REJECT_NONE);
    assert_string_equal(f->batch.events[0]->text, "a\xef\xbf\xbd" "b");
    assert_int_equal(notes(f), 1);
    assert_string_equal(f->batch.note_detail,
                        "dropped text $.t is not valid UTF-8 (bad bytes replaced by U+FFFD)");
    assert_int_equal(decode(f, "t", "{\"t\":null}"), IOCD_REJECT_NONE);
    assert_string_equal(f->batch.events[0]->text, "");
    assert_int_equal(decode(f, "t", "{\"t\":{\"vi\":\"x\"}}"), IOCD_REJECT_WRONG_TYPE);
    assert_string_equal(f->batch.detail, "text $.t is an object");
    /* over 4096 bytes: cut at a character boundary ("ệ" is 3 bytes) */
    size_t n = 0;
    char *big = malloc(8000);
    assert_non_null(big);
    n += (size_t)sprintf(big, "{\"t\":\"x");
    for (int i = 0; i < 1500; i++)
        n += (size_t)sprintf(big + n, "ệ");
    n += (size_t)sprintf(big + n, "\"}");
    assert_int_equal(decode(f, "t", big), IOCD_REJECT_NONE);
    assert_int_equal(strlen(f->batch.events[0]->text), 1 + 3 * 1365);
    assert_int_equal(notes(f), 1);
    assert_string_equal(f->batch.note_detail, "dropped text $.t cut to 4096 bytes");
    free(big);
    fx_free(f);
}

/* ---- attributes ---- */

static void test_attribute_values(void **state)
{
    (void)state;
    struct fx *f = fx_new("[adapter a]\nkind = $.kind\n");
    assert_int_equal(decode(f, "t",
                            "{\"kind\":\"k\",\"int\":42,\"neg\":-7,\"zero\":0,\"negzero\":-0.0,"
                            "\"frac\":0.1,\"third\":0.3333333333333333,\"big\":1e21,"
                            "\"small\":1.5e-7,\"safe\":9007199254740992,"
                            "\"unsafe\":9007199254740994,\"t\":true,\"f\":false,\"nil\":null,"
                            "\"s\":\"Phố núi\",\"e\":\"\",\"obj\":{\"a\":[1,2.5,\"x\"],"
                            "\"b\":null},\"arr\":[],\"ctl\":\"a\\u0001b\"}"),
                     IOCD_REJECT_NONE);
    struct want w = {"k",
                     SEV(INFO),
                     "",
                     "",
                     "",
                     "",
                     RECEIVED,
                     false,
                     0,
                     0,
                     KV({"arr", "[]"}, {"big", "1e+21"}, {"ctl", "a\001b"}, {"e", ""},
                        {"f", "false"}, {"frac", "0.1"}, {"int", "42"}, {"neg", "-7"},
                        {"negzero", "0"}, {"obj", "{\"a\":[1,2.5,\"x\"],\"b\":null}"},
                        {"s", "Phố núi"}, {"safe", "9007199254740992"}, {"small", "1.5e-07"},
                        {"t", "true"}, {"third", "0.3333333333333333"},
                        {"unsafe", "9007199254740994"}, {"zero", "0"})};
    assert_event(f, 0, "a", &w);
    assert_int_equal(notes(f), 0);
    fx_free(f);
}

static void test_attribute_limits(void **state)
{
    (void)state;
    struct fx *f = fx_new("[adapter a]\nkind = x\n");
    static char buf[20000];
    size_t n;

    /* 40 members: the first 32 kept (then sorted), one note */
    n = (size_t)sprintf(buf, "{");
    for (int i = 0; i < 40; i++)
        n += (size_t)sprintf(buf + n, "%s\"k%02d\":%d", i ? "," : "", 39 - i, i);
    sprintf(buf + n, "}");
    assert_int_equal(decode(f, "t", buf), IOCD_REJECT_NONE);
    const Ioc__V1__Event *e = f->batch.events[0];
    assert_int_equal(e->n_attributes, 32);
    assert_string_equal(e->attributes[0]->key, "k08");
    assert_string_equal(e->attributes[0]->value, "31");
    assert_string_equal(e->attributes[31]->key, "k39");
    assert_string_equal(e->attributes[31]->value, "0");
    for (size_t i = 1; i < e->n_attributes; i++)
        assert_true(strcmp(e->attributes[i - 1]->key, e->attributes[i]->key) < 0);
    assert_int_equal(notes(f), 1);
    assert_string_equal(f->batch.note_detail, "dropped 8 attributes over the limit of 32");

    /* string values are cut to 512 bytes at a character boundary */
    n = (size_t)sprintf(buf, "{\"s\":\"");
    for (int i = 0; i < 300; i++)
        n += (size_t)sprintf(buf + n, "đ"); /* 2 bytes */
    n += (size_t)sprintf(buf + n, "\",\"s3\":\"x");
    for (int i = 0; i < 300; i++)
        n += (size_t)sprintf(buf + n, "ệ"); /* 3 bytes */
    sprintf(buf + n, "\"}");
    assert_int_equal(decode(f, "t", buf), IOCD_REJECT_NONE);
    assert_int_equal(strlen(attr(f, "s")), 512);
    assert_int_equal(strlen(attr(f, "s3")), 1 + 3 * 170);
    assert_string_equal(f->batch.note_detail, "dropped attribute 's' cut to 512 bytes (and 1 more)");

    /* compact JSON over 512 bytes is dropped; 512 exactly is kept */
    n = (size_t)sprintf(buf, "{\"a\":[\"");
    memset(buf + n, 'y', 508);
    n += 508;
    n += (size_t)sprintf(buf + n, "\"],\"b\":[\"");
    memset(buf + n, 'y', 509);
    n += 509;
    sprintf(buf + n, "\"]}");
    assert_int_equal(decode(f, "t", buf), IOCD_REJECT_NONE);
    assert_int_equal(strlen(attr(f, "a")), 512);
    assert_null(attr(f, "b"));
    assert_string_equal(f->batch.note_detail,
                        "dropped attribute 'b': its JSON text is longer than 512 bytes");

    /* keys: 64 bytes kept, 65 dropped, empty and control characters dropped,
     * a repeated member keeps the first */
    assert_int_equal(decode(f, "t",
                            "{\"k234567890123456789012345678901234567890123456789012345678901234"
                            "\":1,\"k2345678901234567890123456789012345678901234567890123456789"
                            "012345\":2,\"\":3,\"a\\nb\":4,\"d\":\"first\",\"d\":\"second\","
                            "\"ok\":5}"),
                     IOCD_REJECT_NONE);
    e = f->batch.events[0];
    assert_int_equal(e->n_attributes, 3);
    assert_string_equal(e->attributes[0]->key, "d");
    assert_string_equal(e->attributes[0]->value, "first");
    assert_int_equal(strlen(e->attributes[1]->key), 64);
    assert_string_equal(e->attributes[2]->key, "ok");
    assert_int_equal(notes(f), 1);
    assert_string_equal(f->batch.note_detail,
                        "dropped attribute key 'k2345678901234567890123456789012345678901234...' is "
                        "longer than 64 bytes (and 3 more)");
    assert_int_equal(decode(f, "t", "{\"\xff\":1}"), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.events[0]->n_attributes, 0);
    assert_string_equal(f->batch.note_detail, "dropped attribute key '?' is not valid UTF-8");

    /* invalid UTF-8 in a value: replaced */
    assert_int_equal(decode(f, "t", "{\"v\":\"\xc3(\"}"), IOCD_REJECT_NONE);
    assert_string_equal(attr(f, "v"), "\xef\xbf\xbd(");
    assert_string_equal(f->batch.note_detail,
                        "dropped attribute 'v' is not valid UTF-8 (bad bytes replaced by U+FFFD)");
    /* non-finite numbers never become text */
    assert_int_equal(decode(f, "t", "{\"v\":-1e999,\"w\":[1e999]}"), IOCD_REJECT_NONE);
    assert_null(attr(f, "v"));
    assert_string_equal(attr(f, "w"), "[null]");
    fx_free(f);
}

static void test_attribute_modes(void **state)
{
    (void)state;
    const char *p = "{\"id\":\"PK-1\",\"cat\":\"Noise\",\"ward\":\"Tây Sơn\","
                    "\"meta\":{\"app\":\"Pleiku Smart\",\"v\":3},\"n\":null}";
    struct fx *f = fx_new("[adapter a]\nkind = $.cat\narea = $['ward']\nattributes = none\n");
    assert_int_equal(decode(f, "t", p), IOCD_REJECT_NONE);
    struct want none = {"noise", SEV(INFO), "", "", "Tây Sơn", "", RECEIVED, false, 0, 0,
                        NO_ATTRS};
    assert_event(f, 0, "a", &none);
    fx_free(f);

    f = fx_new("[adapter a]\nkind = $.cat\narea = $['ward']\nattributes = all\n");
    assert_int_equal(decode(f, "t", p), IOCD_REJECT_NONE);
    struct want all = {"noise", SEV(INFO), "", "", "Tây Sơn", "", RECEIVED, false, 0, 0,
                       KV({"id", "PK-1"}, {"meta", "{\"app\":\"Pleiku Smart\",\"v\":3}"})};
    assert_event(f, 0, "a", &all);
    fx_free(f);

    /* a list: keys from the paths; absent and null skipped; the mapped
     * fields may be listed again */
    f = fx_new("[adapter a]\nkind = $.cat\n"
               "attributes = $.meta.app, $['id'], $.cat, $.n, $.nope, $[\"x,y\"], $.meta\n");
    assert_int_equal(decode(f, "t",
                            "{\"id\":\"PK-1\",\"cat\":\"Noise\",\"meta\":{\"app\":\"A\"},"
                            "\"x,y\":1,\"n\":null}"),
                     IOCD_REJECT_NONE);
    struct want list = {"noise", SEV(INFO), "", "", "", "", RECEIVED, false, 0, 0,
                        KV({"cat", "Noise"}, {"id", "PK-1"}, {"meta", "{\"app\":\"A\"}"},
                           {"meta.app", "A"}, {"x,y", "1"})};
    assert_event(f, 0, "a", &list);
    fx_free(f);
}

/* ---- rejects of the payload as a whole ---- */

static void test_malformed(void **state)
{
    (void)state;
    struct fx *f = fx_new(citizen_conf);
    static const char *const bad[] = {
        "not json", "{\"category\":\"x\"", "{\"category\":\"x\",}", "{category:\"x\"}",
        "{\"a\":1}x", "{\"a\":1}}", "{\"a\":NaN}", "[1,2]", "[{\"category\":\"x\"}]",
        "\"fire\"", "42", "null", "true", "   ",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (decode(f, "t", bad[i]) != IOCD_REJECT_MALFORMED)
            fail_msg("'%s' was not rejected as malformed", bad[i]);
    assert_int_equal(decode(f, "t", "[1,2]"), IOCD_REJECT_MALFORMED);
    assert_string_equal(f->batch.detail, "payload is JSON an array, not an object");
    assert_int_equal(decode(f, "t", "{\"a\":1}x"), IOCD_REJECT_MALFORMED);
    assert_string_equal(f->batch.detail, "not valid JSON (junk after the value at byte 7)");
    assert_int_equal(decode_n(f, "t", "", 0), IOCD_REJECT_MALFORMED);
    assert_string_equal(f->batch.detail, "empty payload");
    assert_int_equal(decode_n(f, "t", NULL, 0), IOCD_REJECT_MALFORMED);
    static const uint8_t binary[] = {0x00, 0xff, 0x7b, 0x22, 0x80, 0x01, 0x7d, 0x00};
    assert_int_equal(decode_n(f, "t", binary, sizeof(binary)), IOCD_REJECT_MALFORMED);
    /* only len bytes are read; trailing blanks and a NUL are fine */
    const char *tail = "{\"category\":\"x\"}GARBAGE";
    assert_int_equal(decode_n(f, "t", tail, strlen(tail) - 7), IOCD_REJECT_NONE);
    static const char nul[] = "{\"category\":\"x\"}\r\n";
    assert_int_equal(decode_n(f, "t", nul, sizeof(nul)), IOCD_REJECT_NONE);
    /* the kind is the one required field */
    assert_int_equal(decode(f, "t", "{\"description\":\"x\"}"), IOCD_REJECT_MISSING_FIELD);
    assert_string_equal(f->batch.detail, "kind $.category is missing");
    /* a reject after a dropped value counts no note */
    assert_int_equal(decode(f, "t", "{\"category\":\"x\",\"status\":\"closed\",\"reported_at\":"
                                    "\"soon\"}"),
                     IOCD_REJECT_BAD_TIME);
    fx_free(f);
}

static void test_deep_and_large(void **state)
{
    (void)state;
    struct fx *f = fx_new("[adapter a]\nkind = $.k\n");
    size_t depth = 5000, n = 0;
    char *deep = malloc(depth * 2 + 64);
    assert_non_null(deep);
    n += (size_t)sprintf(deep, "{\"k\":\"x\",\"x\":");
    for (size_t i = 0; i < depth; i++)
        deep[n++] = '[';
    for (size_t i = 0; i < depth; i++)
        deep[n++] = ']';
    deep[n++] = '}';
    assert_int_equal(decode_n(f, "t", deep, n), IOCD_REJECT_MALFORMED);
    /* 900 levels parse; the attribute's JSON text is too long */
    n = (size_t)sprintf(deep, "{\"k\":\"x\",\"x\":");
    for (size_t i = 0; i < 900; i++)
        deep[n++] = '[';
    for (size_t i = 0; i < 900; i++)
        deep[n++] = ']';
    deep[n++] = '}';
    assert_int_equal(decode_n(f, "t", deep, n), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.events[0]->n_attributes, 0);
    assert_int_equal(notes(f), 1);
    free(deep);

    /* 1 MiB with 100,000 members: 32 attributes, one note */
    size_t big = 1 << 20;
    char *large = malloc(big + 64);
    assert_non_null(large);
    n = (size_t)sprintf(large, "{\"k\":\"x\"");
    for (int i = 0; n < big - 32; i++)
        n += (size_t)sprintf(large + n, ",\"m%d\":%d", i, i);
    n += (size_t)sprintf(large + n, "}");
    assert_int_equal(decode_n(f, "t", large, n), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.events[0]->n_attributes, 32);
    assert_int_equal(notes(f), 1);
    fx_free(f);

    /* 30,000 records beside 30,000 members: '^' paths are looked up once
     * per message, not once per record (which would be quadratic) */
    f = fx_new("[adapter c]\nrecords = $.r\nkind = $.k\ndevice = ^$.cam\n"
               "location = ^$.loc\nattributes = ^$.site\n");
    n = (size_t)sprintf(large, "{\"r\":[");
    for (int i = 0; i < 30000; i++)
        n += (size_t)sprintf(large + n, "%s{\"k\":\"a\"}", i ? "," : "");
    n += (size_t)sprintf(large + n, "],\"loc\":{\"type\":\"Point\",\"coordinates\":[1,2");
    for (int i = 0; i < 30000; i++)
        n += (size_t)sprintf(large + n, ",0");
    n += (size_t)sprintf(large + n, "]}");
    for (int i = 0; i < 30000; i++)
        n += (size_t)sprintf(large + n, ",\"m%d\":0", i);
    n += (size_t)sprintf(large + n, ",\"cam\":\"C\",\"site\":\"S\"}");
    assert_true(n < big);
    assert_int_equal(decode_n(f, "t", large, n), IOCD_REJECT_NONE);
    assert_int_equal(f->batch.n_events, 30000);
    struct want w = {"a", SEV(INFO), "", "C", "", "", RECEIVED, false, 0, 0, KV({"site", "S"})};
    assert_event(f, 29999, "c", &w);
    assert_int_equal(notes(f), 30000); /* each event: coordinates are not [lon, lat] */
    free(large);
    fx_free(f);
}

static void test_no_memory(void **state)
{
    (void)state;
    struct fx *f = fx_new(citizen_conf);
    for (size_t limit = 16; limit < 1024; limit += 16) {
        iocd_arena_free(&f->arena);
        iocd_arena_init(&f->arena, limit);
        enum iocd_reject r = decode(f, "t", citizen_report);
        assert_true(r == IOCD_REJECT_NONE || r == IOCD_REJECT_NO_MEMORY);
        if (r == IOCD_REJECT_NO_MEMORY)
            assert_int_equal(f->batch.n_events, 0);
    }
    iocd_arena_free(&f->arena);
    iocd_arena_init(&f->arena, 64);
    assert_int_equal(decode(f, "t", citizen_report), IOCD_REJECT_NO_MEMORY);
    fx_free(f);

    /* records: running out part-way drops every event */
    f = fx_new(analytics_conf);
    iocd_arena_free(&f->arena);
    iocd_arena_init(&f->arena, 900);
    assert_int_equal(decode(f, "t", analytics_payload), IOCD_REJECT_NO_MEMORY);
    fx_free(f);
}

/* ---- create ---- */

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
    assert_create_error("# c\n[adapter ev]\ntopic = a/b\nformat = event\ntext = $.t\n",
                        "test.conf:2: [adapter ev] kind: required key missing (a JSON path such "
                        "as $.category, topic[N], or a literal kind such as fire_alarm)");
    assert_create_error("[adapter ev]\nkind = Fire Alarm\n",
                        "test.conf:2: [adapter ev] kind: the literal kind 'Fire Alarm' must be 1 "
                        "to 64 characters of letters, digits, '_', '.' and '-'");
    assert_create_error("[adapter ev]\nkind = literal:\n",
                        "test.conf:2: [adapter ev] kind: the literal kind '' must be 1 to 64 "
                        "characters of letters, digits, '_', '.' and '-'");
    assert_create_error("[adapter ev]\nkind = $..x\n",
                        "test.conf:2: [adapter ev] kind: bad path '$..x': empty name after '.' "
                        "at character 2");
    assert_create_error("[adapter ev]\nkind = topic[256]\n",
                        "test.conf:2: [adapter ev] kind: expected topic[N] with N a topic level "
                        "from 0 to 255");
    assert_create_error("[adapter ev]\nkind = x\nkind = y\n",
                        "test.conf:3: key 'kind' given twice (first on line 2)");
    assert_create_error("[adapter ev]\nkind = ^$.type\n",
                        "test.conf:2: [adapter ev] kind: '^$.type': a '^' path reads the message "
                        "around the records, so it needs 'records'");
    assert_create_error("[adapter ev]\nrecords = $.r\nkind = ^type\n",
                        "test.conf:3: [adapter ev] kind: '^type': expected '^' followed by a JSON "
                        "path starting with '$'");
    assert_create_error("[adapter ev]\nkind = x\nrecords = events\n",
                        "test.conf:3: [adapter ev] records: expected a JSON path starting with "
                        "'$' ($ for a payload that is an array)");
    assert_create_error("[adapter ev]\nkind = x\nseverity = urgent\n",
                        "test.conf:3: [adapter ev] severity: unknown severity 'urgent'; expected "
                        "unspecified, info, warning, minor, major or critical (or 0 to 5)");
    assert_create_error("[adapter ev]\nkind = x\nseverity = 6\n",
                        "test.conf:3: [adapter ev] severity: unknown severity '6'; expected "
                        "unspecified, info, warning, minor, major or critical (or 0 to 5)");
    assert_create_error("[adapter ev]\nkind = x\nseverity_map = 1:critical\n",
                        "test.conf:3: [adapter ev] severity_map: has no effect unless 'severity' "
                        "is a JSON path or topic[N]");
    assert_create_error("[adapter ev]\nkind = x\nseverity = major\nseverity_map = 1:critical\n",
                        "test.conf:4: [adapter ev] severity_map: has no effect unless 'severity' "
                        "is a JSON path or topic[N]");
    assert_create_error("[adapter ev]\nkind = x\nseverity = $.p\nseverity_map = 1:critical, 2\n",
                        "test.conf:4: [adapter ev] severity_map: '2': expected VALUE:SEVERITY, "
                        "e.g. 1:critical");
    assert_create_error("[adapter ev]\nkind = x\nseverity = $.p\nseverity_map = 1:hot\n",
                        "test.conf:4: [adapter ev] severity_map: '1:hot': unknown severity; "
                        "expected unspecified, info, warning, minor, major or critical");
    assert_create_error("[adapter ev]\nkind = x\nseverity = $.p\nseverity_map = :critical\n",
                        "test.conf:4: [adapter ev] severity_map: ':critical': the value before "
                        "':' must be 1 to 64 bytes");
    assert_create_error("[adapter ev]\nkind = x\nseverity = $.p\nseverity_map = A:info, a:major\n",
                        "test.conf:4: [adapter ev] severity_map: 'a' is mapped twice");
    assert_create_error("[adapter ev]\nkind = x\nseverity = $.p\nseverity_map = 1:info,,2:major\n",
                        "test.conf:4: [adapter ev] severity_map: empty item in the "
                        "comma-separated list");
    assert_create_error("[adapter ev]\nkind = x\ntext = description\n",
                        "test.conf:3: [adapter ev] text: expected a JSON path starting with '$', "
                        "such as $.description");
    assert_create_error("[adapter ev]\nkind = x\ntext = topic[1]\n",
                        "test.conf:3: [adapter ev] text: expected a JSON path starting with '$', "
                        "such as $.description");
    assert_create_error("[adapter ev]\nkind = x\ntext = literal:hello\n",
                        "test.conf:3: [adapter ev] text: expected a JSON path starting with '$', "
                        "such as $.description");
    assert_create_error("[adapter ev]\nkind = x\narea = \"   \"\n",
                        "test.conf:3: [adapter ev] area: the literal '   ' is empty");
    assert_create_error("[adapter ev]\nkind = x\ndevice = literal:\n",
                        "test.conf:3: [adapter ev] device: the literal '' is empty");
    assert_create_error("[adapter ev]\nkind = x\nstatus = \"!!\"\n",
                        "test.conf:3: [adapter ev] status: the literal status '!!' must give 1 "
                        "to 64 characters of letters, digits, '_', '.' and '-'");
    assert_create_error("[adapter ev]\nkind = x\nstatuses = new\n",
                        "test.conf:3: [adapter ev] statuses: has no effect without 'status'");
    assert_create_error("[adapter ev]\nkind = x\nstatus = $.s\nstatuses = new, In Progress\n",
                        "test.conf:4: [adapter ev] statuses: 'In Progress' is not a status id: 1 "
                        "to 64 of lowercase letters, digits, '_', '.' and '-'");
    assert_create_error("[adapter ev]\nkind = x\nstatus = $.s\nstatuses = new, old, new\n",
                        "test.conf:4: [adapter ev] statuses: 'new' is listed twice");
    assert_create_error("[adapter ev]\nkind = x\nstatus = open\nstatuses = new, closed\n",
                        "test.conf:3: [adapter ev] status: the literal status 'open' is not in "
                        "statuses");
    assert_create_error("[adapter ev]\nkind = x\ntime_offset = +07:00\n",
                        "test.conf:3: [adapter ev] time_offset: has no effect without 'time' "
                        "(the receive time is used)");
    assert_create_error("[adapter ev]\nkind = x\ntime = $.t\ntime_format = seconds\n",
                        "test.conf:4: [adapter ev] time_format: expected auto, iso8601, s, ms or "
                        "us");
    assert_create_error("[adapter ev]\nkind = x\ntime = $.t\ntime_offset = +7\n",
                        "test.conf:4: [adapter ev] time_offset: expected an offset such as "
                        "+07:00, -05:30 or Z");
    assert_create_error("[adapter ev]\nkind = x\ntime = ts\n",
                        "test.conf:3: [adapter ev] time: expected a JSON path starting with '$', "
                        "such as $.description");
    assert_create_error("[adapter ev]\nkind = x\nlat = $.lat\n",
                        "test.conf:3: [adapter ev] lat: 'lat' and 'lon' go together");
    assert_create_error("[adapter ev]\nkind = x\nlon = $.lon\n",
                        "test.conf:3: [adapter ev] lon: 'lat' and 'lon' go together");
    assert_create_error("[adapter ev]\nkind = x\nlat = $.a\nlon = $.o\nlocation = $.l\n",
                        "test.conf:5: [adapter ev] location: use either 'location' or 'lat' and "
                        "'lon', not both");
    assert_create_error("[adapter ev]\nkind = x\nlocation = $['l\n",
                        "test.conf:3: [adapter ev] location: bad path '$['l': unterminated "
                        "quoted name starting at character 2");
    assert_create_error("[adapter ev]\nkind = x\nattributes = some\n",
                        "test.conf:3: [adapter ev] attributes: 'some': expected all, none, or "
                        "JSON paths starting with '$' separated by commas");
    assert_create_error("[adapter ev]\nkind = x\nattributes = $.a, $.b.a, $['a']\n",
                        "test.conf:3: [adapter ev] attributes: '$['a']': attribute key 'a' given "
                        "twice");
    assert_create_error("[adapter ev]\nkind = x\nattributes = $\n",
                        "test.conf:3: [adapter ev] attributes: '$': the attribute key '' must be "
                        "1 to 64 bytes");
    assert_create_error("[adapter ev]\nkind = x\nattributes = $.a, ^$.b\n",
                        "test.conf:3: [adapter ev] attributes: '^$.b': a '^' path reads the "
                        "message around the records, so it needs 'records'");
}

static void test_keys_marked_used(void **state)
{
    (void)state;
    struct fx *f = fx_new("[adapter ev]\n"
                          "topic = a/+\n"
                          "format = event\n"
                          "records = $.r\n"
                          "kind = $.k\n"
                          "severity = $.s\n"
                          "severity_map = a:info\n"
                          "text = $.t\n"
                          "device = ^$.d\n"
                          "area = topic[1]\n"
                          "status = $.st\n"
                          "statuses = new\n"
                          "time = $.ts\n"
                          "time_format = auto\n"
                          "time_offset = Z\n"
                          "lat = $.la\n"
                          "lon = $.lo\n"
                          "attributes = $.x\n"
                          "colour = red\n");
    struct iocd_ini_section *s = &f->ini.sections[0];
    assert_false(s->entries[0].used);
    assert_false(s->entries[1].used);
    s->entries[0].used = s->entries[1].used = true;
    struct iocd_error err = {{0}};
    assert_int_equal(iocd_ini_check_unused(&f->ini, &err), -1);
    assert_string_equal(err.msg, "test.conf:19: unknown key 'colour' in [adapter ev]");
    for (size_t i = 2; i < s->n_entries - 1; i++)
        assert_true(s->entries[i].used);
    assert_int_equal(decode(f, "a/Tây Sơn",
                            "{\"d\":\"D1\",\"r\":[{\"k\":\"K\",\"s\":\"A\",\"t\":\"T\","
                            "\"st\":\"New\",\"ts\":\"2026-11-22T10:04:05\",\"la\":1,\"lo\":2,"
                            "\"x\":[true]}]}"),
                     IOCD_REJECT_NONE);
    struct want w = {"k",      SEV(INFO), "T", "D1", "Tây Sơn", "new", T_100405, true, 1, 2,
                     KV({"x", "[true]"})};
    assert_event(f, 0, "ev", &w);
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
    assert_int_equal(iocd_ini_parse(&f->ini, "test.conf", citizen_conf, &err), 0);
    assert_int_equal(
        iocd_adapter_event.create(&f->ini, &f->ini.sections[0], "reports", &f->state, &err), 0);
    assert_int_equal(decode(f, "t", citizen_report), IOCD_REJECT_NONE);
    assert_string_equal(f->batch.events[0]->source, "reports");
    assert_ptr_equal(iocd_adapter_find("event"), &iocd_adapter_event);
    fx_free(f);
    iocd_adapter_event.destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_citizen_report),   cmocka_unit_test(test_citizen_status_flow),
        cmocka_unit_test(test_traffic_violation), cmocka_unit_test(test_fire_alarm),
        cmocka_unit_test(test_camera_records),   cmocka_unit_test(test_fiware_alert),
        cmocka_unit_test(test_kind_values),      cmocka_unit_test(test_severity_values),
        cmocka_unit_test(test_device_and_area),  cmocka_unit_test(test_time_values),
        cmocka_unit_test(test_location_values),  cmocka_unit_test(test_text_values),
        cmocka_unit_test(test_attribute_values), cmocka_unit_test(test_attribute_limits),
        cmocka_unit_test(test_attribute_modes),  cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_deep_and_large),   cmocka_unit_test(test_no_memory),
        cmocka_unit_test(test_create_errors),    cmocka_unit_test(test_keys_marked_used),
        cmocka_unit_test(test_source_argument),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
