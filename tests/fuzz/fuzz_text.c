/* tests/fuzz/fuzz_text.c — libFuzzer target for the text adapter in its
 * three modes (number, kv, ultralight).
 *
 * Owns: three text adapters built once from fixed configs (one per mode)
 * and one arena; all live until the process exits. Each input is decoded
 * as a payload by all three. Besides the sanitizers, it checks the
 * adapter's contract and aborts when it is broken: a reject has no
 * observations and a detail; an accepted message has observations with
 * finite values, valid ids, units, labels of at most 128 bytes and times
 * in range. Linked with libFuzzer's main (fuzz_text) or with replay.c (the
 * fuzz-replay-text test). */
#include <stdint.h>
#include <string.h>

#define FUZZ_TARGET "fuzz_text"
#include "fuzz_common.h"

extern const struct iocd_adapter_ops iocd_adapter_text;

static const char config[] = "[adapter water]\n"
                             "topic = pleiku/water/+/level\n"
                             "format = text\n"
                             "mode = number\n"
                             "device = topic[2]\n"
                             "metric = level\n"
                             "unit = cm\n"
                             "[adapter env]\n"
                             "topic = pleiku/env/+\n"
                             "format = text\n"
                             "mode = kv\n"
                             "device = key:id\n"
                             "time_key = ts\n"
                             "metric.temp = temperature\n"
                             "unit.temp = Cel\n"
                             "unit.hum = %\n"
                             "[adapter ul]\n"
                             "topic = /+/+/attrs\n"
                             "format = text\n"
                             "mode = ultralight\n"
                             "metric.t = temperature\n"
                             "metric.h = humidity\n"
                             "unit.t = Cel\n"
                             "unit.h = %\n";

#define N_ADAPTERS 3

static const struct {
    const char *topic, *source;
} routes[N_ADAPTERS] = {
    {"pleiku/water/GL-WL01/level", "water"},
    {"pleiku/env/GL-ENV01", "env"},
    {"/ABCDEF/id_sen1/attrs", "ul"},
};

static struct fuzz_setup g;

static void decode(int which, const uint8_t *data, size_t size)
{
    struct iocd_batch b;
    enum iocd_reject r = fuzz_decode(&g, g.adapter[which], routes[which].topic, data, size, &b);
    CHECK(b.n_events == 0);
    CHECK(b.notes[IOCD_NOTE_PARTIAL] <= 1 && b.notes[IOCD_NOTE_SEQ_GAP] == 0);
    if (r == IOCD_REJECT_NONE) {
        CHECK(b.n_obs > 0);
        if (which == 0)
            CHECK(b.n_obs == 1);
        for (size_t i = 0; i < b.n_obs; i++) {
            const Ioc__V1__Observation *o = b.obs[i];
            fuzz_check_observation(o, routes[which].source);
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
    fuzz_setup_once(&g, &iocd_adapter_text, config, N_ADAPTERS, true, 8u << 20);
    for (int i = 0; i < N_ADAPTERS; i++)
        decode(i, data, size);
    return 0;
}
