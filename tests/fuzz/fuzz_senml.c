/* tests/fuzz/fuzz_senml.c — libFuzzer target for the senml adapter
 * (adapters/senml.c): SenML JSON, SenML CBOR and the in-place CBOR reader.
 *
 * Owns: three senml adapters built once from a fixed config (auto encoding
 * with names split into devices and a topic fallback; the device from the
 * topic; CBOR forced, so JSON-looking inputs also reach the CBOR reader),
 * and one arena; all live until the process exits. Each input is decoded by
 * all three as the payload of a message on city/senml/GW-1. Besides the
 * sanitizers, it checks the adapter's contract and aborts when it is
 * broken. Linked with libFuzzer's main (fuzz_senml) or with replay.c (the
 * fuzz-replay-senml test). */
#include <stdint.h>
#include <string.h>

#define FUZZ_TARGET "fuzz_senml"
#include "fuzz_common.h"

#include "daemon/base/timeutil.h"

extern const struct iocd_adapter_ops iocd_adapter_senml;

static const char config[] = "[adapter names]\n"
                             "topic = city/senml/+\n"
                             "format = senml\n"
                             "device = name\n"
                             "device_fallback = topic[2]\n"
                             "states = *\n"
                             "[adapter bytopic]\n"
                             "topic = city/senml/+\n"
                             "format = senml\n"
                             "device = topic[2]\n"
                             "[adapter cbor]\n"
                             "topic = city/senml/+\n"
                             "format = senml\n"
                             "encoding = cbor\n";

#define N_ADAPTERS 3

static struct fuzz_setup g;

static int valid_unit(const char *s)
{
    size_t n = strlen(s);
    if (n > 66) /* 64 bytes, plus ".s" for a sum */
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
            return 0;
    return 1;
}

static void check_batch(const struct iocd_batch *b, enum iocd_reject r, const char *source)
{
    if (r != IOCD_REJECT_NONE) {
        fuzz_check_rejected(b);
        CHECK(b->notes[IOCD_NOTE_PARTIAL] == 0);
        return;
    }
    CHECK(b->n_obs + b->n_events > 0);
    CHECK(memchr(b->note_detail, '\0', sizeof(b->note_detail)) != NULL);
    for (size_t i = 0; i < b->n_obs; i++) {
        const Ioc__V1__Observation *o = b->obs[i];
        fuzz_check_observation(o, source);
        CHECK(valid_unit(o->unit));
        CHECK(o->quality == IOC__V1__QUALITY__QUALITY_GOOD);
        CHECK(o->n_labels == 0 && o->location == NULL);
    }
    for (size_t i = 0; i < b->n_events; i++) {
        const Ioc__V1__Event *e = b->events[i];
        CHECK(e && e->kind && e->device && e->source && e->text && e->status && e->area);
        CHECK(strcmp(e->kind, "senml.value") == 0);
        CHECK(strcmp(e->source, source) == 0);
        CHECK(fuzz_valid_id(e->device));
        CHECK(e->time_ms >= 0 && e->time_ms <= IOCD_TIME_MAX_MS);
        CHECK(e->received_ms == FUZZ_RECEIVED);
        CHECK(e->n_attributes >= 4 && e->n_attributes <= 5);
        for (size_t k = 0; k < e->n_attributes; k++)
            CHECK(e->attributes[k]->key && e->attributes[k]->value);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_setup_once(&g, &iocd_adapter_senml, config, N_ADAPTERS, true, 4u << 20);
    static const char *const sources[N_ADAPTERS] = {"names", "bytopic", "cbor"};
    for (int i = 0; i < N_ADAPTERS; i++) {
        struct iocd_batch b;
        enum iocd_reject r = fuzz_decode(&g, g.adapter[i], "city/senml/GW-1", data, size, &b);
        check_batch(&b, r, sources[i]);
        iocd_batch_reset(&b);
    }
    return 0;
}
