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
#include <stdint.h>
#include <string.h>

#define FUZZ_TARGET "fuzz_ngsi"
#include "fuzz_common.h"

extern const struct iocd_adapter_ops iocd_adapter_ngsi;

static const char config[] = "[adapter city]\n"
                             "topic = city/ngsi/#\n"
                             "format = ngsi\n"
                             "time_offset = +07:00\n"
                             "states = status, mode\n"
                             "\n"
                             "[adapter kv]\n"
                             "topic = city/kv/#\n"
                             "format = ngsi\n"
                             "form = keyvalues\n"
                             "types = AirQualityObserved,ParkingSpot,DeviceMeasurement,T\n"
                             "max_labels = 2\n"
                             "metric_prefix = sdm.\n"
                             "states = *\n";

#define N_ADAPTERS 2

static struct fuzz_setup g;

/* Each section's label limit; an observation may carry one label more. */
static const unsigned max_labels[N_ADAPTERS] = {8, 2};

static void decode(int k, const uint8_t *data, size_t size)
{
    struct iocd_batch b;
    enum iocd_reject r = fuzz_decode(&g, g.adapter[k], "city/ngsi/x", data, size, &b);
    CHECK(b.n_events == 0);
    if (r == IOCD_REJECT_NONE) {
        CHECK(b.n_obs > 0);
        for (size_t i = 0; i < b.n_obs; i++) {
            const Ioc__V1__Observation *o = b.obs[i];
            fuzz_check_observation(o, g.ini.sections[k].arg);
            CHECK(k == 0 || strncmp(o->metric, "sdm.", 4) == 0);
            CHECK(strlen(o->unit) <= 64);
            CHECK(o->quality == IOC__V1__QUALITY__QUALITY_GOOD ||
                  o->quality == IOC__V1__QUALITY__QUALITY_SUSPECT);
            CHECK(o->n_labels <= max_labels[k] + 1);
            for (size_t j = 0; j < o->n_labels; j++) {
                CHECK(o->labels[j] && o->labels[j]->key && o->labels[j]->value);
                CHECK(fuzz_valid_id(o->labels[j]->key));
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
        fuzz_check_rejected(&b);
    }
    if (b.notes[IOCD_NOTE_PARTIAL])
        CHECK(r == IOCD_REJECT_NONE && memchr(b.note_detail, '\0', sizeof(b.note_detail)));
    iocd_batch_reset(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_setup_once(&g, &iocd_adapter_ngsi, config, N_ADAPTERS, true, 8u << 20);
    for (int k = 0; k < N_ADAPTERS; k++)
        decode(k, data, size);
    return 0;
}
