/* tests/fuzz/fuzz_influx.c — libFuzzer target for the influx adapter
 * (InfluxDB line protocol).
 *
 * Owns: two influx adapters built once from fixed configs (device from a
 * tag with measurement.field metrics and ns timestamps; device from the
 * topic with field metrics and s timestamps) and one arena; all live until
 * the process exits. Each input is decoded as a payload by both. Besides
 * the sanitizers, it checks the adapter's contract and aborts when it is
 * broken: a reject has no observations and a detail; an accepted message
 * has observations with finite values, valid ids, units, labels of at most
 * 128 bytes and times in range. Linked with libFuzzer's main (fuzz_influx)
 * or with replay.c (the fuzz-replay-influx test). */
#include <stdint.h>
#include <string.h>

#define FUZZ_TARGET "fuzz_influx"
#include "fuzz_common.h"

extern const struct iocd_adapter_ops iocd_adapter_influx;

static const char config[] = "[adapter fleet]\n"
                             "topic = gateway/+/bus\n"
                             "format = influx\n"
                             "device = tag:bus\n"
                             "unit.speed = km/h\n"
                             "unit.bus.occupancy = 1\n"
                             "unit.usage_idle = %\n"
                             "[adapter telegraf]\n"
                             "topic = telegraf/+/metrics\n"
                             "format = influx\n"
                             "device = topic[1]\n"
                             "metric = field\n"
                             "precision = s\n";

#define N_ADAPTERS 2

static struct fuzz_setup g;

static void decode(int which, const char *topic, const char *source, const uint8_t *data,
                   size_t size)
{
    struct iocd_batch b;
    enum iocd_reject r = fuzz_decode(&g, g.adapter[which], topic, data, size, &b);
    CHECK(b.n_events == 0);
    CHECK(b.notes[IOCD_NOTE_PARTIAL] <= 1 && b.notes[IOCD_NOTE_SEQ_GAP] == 0);
    CHECK(memchr(b.note_detail, '\0', sizeof(b.note_detail)) != NULL);
    if (r == IOCD_REJECT_NONE) {
        CHECK(b.n_obs > 0);
        for (size_t i = 0; i < b.n_obs; i++) {
            const Ioc__V1__Observation *o = b.obs[i];
            fuzz_check_observation(o, source);
            CHECK(o->quality == IOC__V1__QUALITY__QUALITY_GOOD);
            CHECK(o->location == NULL);
            fuzz_check_labels(o);
        }
        fuzz_check_packs(&g, &b);
    } else {
        fuzz_check_rejected(&b);
    }
    iocd_batch_reset(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_setup_once(&g, &iocd_adapter_influx, config, N_ADAPTERS, true, 8u << 20);
    decode(0, "gateway/gl01/bus", "fleet", data, size);
    decode(1, "telegraf/gw1/metrics", "telegraf", data, size);
    return 0;
}
