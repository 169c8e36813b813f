/* tests/fuzz/fuzz_ngsi.c — libFuzzer target for the ngsi adapter.
 *
 * Owns: two ngsi adapters built once from fixed configs (every form with
 * defaults; keyvalues form with a type allow-list, a metric prefix and few
 * labels) and their arena; all live until the process exits. Each input is
 * decoded by both as the payload of a message on city/ngsi/x. Besides the
 * sanitizers, it checks the adapter's contract and aborts when it is
 * broken. Linked with libFuzzer's main (fuzz_ngsi) or with replay.c (the
 * fuzz-replay-ngsi test). */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/adapter.h"
#include "daemon/base/timeutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

extern const struct iocd_adapter_ops iocd_adapter_ngsi;

static const char config[] = "[adapter city]\n"
                             "topic = city/ngsi/#\n"
                             "format = ngsi\n"
                             "time_offset = +07:00\n"
                             "\n"
                             "[adapter kv]\n"
                             "topic = city/kv/#\n"
                             "format = ngsi\n"
                             "form = keyvalues\n"
                             "types = AirQualityObserved,ParkingSpot,DeviceMeasurement,T\n"
                             "max_labels = 2\n"
                             "metric_prefix = sdm.\n";

#define N_ADAPTERS 2

static struct {
    int ready;
    struct iocd_ini ini;
    void *adapter[N_ADAPTERS];
    const char *source[N_ADAPTERS];
    unsigned max_labels[N_ADAPTERS];
    struct iocd_arena arena;
} g;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_ngsi: contract broken: %s (%s:%d)\n", #cond, __FILE__,           \
                    __LINE__);                                                                     \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static void setup_once(void)
{
    if (g.ready)
        return;
    struct iocd_error err = {{0}};
    if (iocd_ini_parse(&g.ini, "fuzz.conf", config, &err) != 0 || g.ini.n_sections != N_ADAPTERS) {
        fprintf(stderr, "fuzz_ngsi: setup failed: %s\n", err.msg);
        abort();
    }
    static const unsigned labels[N_ADAPTERS] = {8, 2};
    for (int i = 0; i < N_ADAPTERS; i++) {
        g.source[i] = g.ini.sections[i].arg;
        g.max_labels[i] = labels[i];
        if (iocd_adapter_ngsi.create(&g.ini, &g.ini.sections[i], g.source[i], &g.adapter[i],
                                     &err) != 0) {
            fprintf(stderr, "fuzz_ngsi: setup failed: %s\n", err.msg);
            abort();
        }
    }
    iocd_arena_init(&g.arena, 8u << 20);
    g.ready = 1;
}

/* 1..128 bytes, no '/', '+', '#' or control characters. */
static bool valid_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 128)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20 || ch == 0x7f || ch == '/' || ch == '+' || ch == '#')
            return false;
    }
    return true;
}

static void fuzz_decode(int k, const uint8_t *data, size_t size)
{
    struct iocd_batch b;
    iocd_batch_init(&b, &g.arena);
    const int64_t received = INT64_C(1795341846500);
    struct iocd_message m = {"city/ngsi/x", data, size, received};
    enum iocd_reject r = iocd_adapter_ngsi.decode(g.adapter[k], &m, &b);
    CHECK((unsigned)r < IOCD_REJECT__COUNT);
    CHECK(b.n_events == 0);
    if (r == IOCD_REJECT_NONE) {
        CHECK(b.n_obs > 0);
        for (size_t i = 0; i < b.n_obs; i++) {
            const Ioc__V1__Observation *o = b.obs[i];
            CHECK(o && o->source && o->device && o->metric && o->unit);
            CHECK(strcmp(o->source, g.source[k]) == 0);
            CHECK(valid_id(o->device));
            CHECK(valid_id(o->metric));
            CHECK(k == 0 || strncmp(o->metric, "sdm.", 4) == 0);
            CHECK(strlen(o->unit) <= 64);
            CHECK(isfinite(o->value));
            CHECK(o->observed_ms >= 0 && o->observed_ms <= IOCD_TIME_MAX_MS);
            CHECK(o->received_ms == received);
            CHECK(o->quality == IOC__V1__QUALITY__QUALITY_GOOD ||
                  o->quality == IOC__V1__QUALITY__QUALITY_SUSPECT);
            CHECK(o->n_labels <= g.max_labels[k] + 1);
            for (size_t j = 0; j < o->n_labels; j++) {
                CHECK(o->labels[j] && o->labels[j]->key && o->labels[j]->value);
                CHECK(valid_id(o->labels[j]->key));
                size_t vl = strlen(o->labels[j]->value);
                CHECK(vl > 0 && vl <= 128);
                for (size_t q = 0; q < j; q++)
                    CHECK(strcmp(o->labels[q]->key, o->labels[j]->key) != 0);
            }
            if (o->location) {
                CHECK(isfinite(o->location->lat) && fabs(o->location->lat) <= 90);
                CHECK(isfinite(o->location->lon) && fabs(o->location->lon) <= 180);
            }
        }
    } else {
        CHECK(b.n_obs == 0);
        CHECK(b.detail[0] != '\0');
        CHECK(memchr(b.detail, '\0', sizeof(b.detail)) != NULL);
    }
    if (b.notes[IOCD_NOTE_PARTIAL])
        CHECK(r == IOCD_REJECT_NONE && memchr(b.note_detail, '\0', sizeof(b.note_detail)));
    iocd_batch_reset(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup_once();
    for (int k = 0; k < N_ADAPTERS; k++)
        fuzz_decode(k, data, size);
    return 0;
}
