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
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/adapter.h"
#include "daemon/base/timeutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

extern const struct iocd_adapter_ops iocd_adapter_senml;

static const char config[] = "[adapter names]\n"
                             "topic = city/senml/+\n"
                             "format = senml\n"
                             "device = name\n"
                             "device_fallback = topic[2]\n"
                             "[adapter bytopic]\n"
                             "topic = city/senml/+\n"
                             "format = senml\n"
                             "device = topic[2]\n"
                             "[adapter cbor]\n"
                             "topic = city/senml/+\n"
                             "format = senml\n"
                             "encoding = cbor\n";

#define N_ADAPTERS 3

static struct {
    int ready;
    struct iocd_ini ini;
    void *adapter[N_ADAPTERS];
    struct iocd_arena arena;
} g;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_senml: contract broken: %s (%s:%d)\n", #cond, __FILE__,          \
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
        fprintf(stderr, "fuzz_senml: setup failed: %s\n", err.msg);
        abort();
    }
    for (int i = 0; i < N_ADAPTERS; i++) {
        struct iocd_ini_section *s = &g.ini.sections[i];
        if (iocd_adapter_senml.create(&g.ini, s, s->arg, &g.adapter[i], &err) != 0) {
            fprintf(stderr, "fuzz_senml: setup failed: %s\n", err.msg);
            abort();
        }
    }
    iocd_arena_init(&g.arena, 4u << 20);
    g.ready = 1;
}

/* The pipeline's id rule: 1..128 bytes, no '/', '+', '#', no control char. */
static int valid_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 128)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || c == '/' || c == '+' || c == '#')
            return 0;
    }
    return 1;
}

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

static void check_batch(const struct iocd_batch *b, enum iocd_reject r, const char *source,
                        int64_t received)
{
    CHECK((unsigned)r < IOCD_REJECT__COUNT);
    if (r != IOCD_REJECT_NONE) {
        CHECK(b->n_obs == 0 && b->n_events == 0);
        CHECK(b->notes[IOCD_NOTE_PARTIAL] == 0);
        CHECK(b->detail[0] != '\0');
        CHECK(memchr(b->detail, '\0', sizeof(b->detail)) != NULL);
        return;
    }
    CHECK(b->n_obs + b->n_events > 0);
    CHECK(memchr(b->note_detail, '\0', sizeof(b->note_detail)) != NULL);
    for (size_t i = 0; i < b->n_obs; i++) {
        const Ioc__V1__Observation *o = b->obs[i];
        CHECK(o && o->source && o->device && o->metric && o->unit);
        CHECK(strcmp(o->source, source) == 0);
        CHECK(valid_id(o->device) && valid_id(o->metric));
        CHECK(valid_unit(o->unit));
        CHECK(isfinite(o->value));
        CHECK(o->observed_ms >= 0 && o->observed_ms <= IOCD_TIME_MAX_MS);
        CHECK(o->received_ms == received);
        CHECK(o->quality == IOC__V1__QUALITY__QUALITY_GOOD);
        CHECK(o->n_labels == 0 && o->location == NULL);
    }
    for (size_t i = 0; i < b->n_events; i++) {
        const Ioc__V1__Event *e = b->events[i];
        CHECK(e && e->kind && e->device && e->source && e->text && e->status && e->area);
        CHECK(strcmp(e->kind, "senml.value") == 0);
        CHECK(strcmp(e->source, source) == 0);
        CHECK(valid_id(e->device));
        CHECK(e->time_ms >= 0 && e->time_ms <= IOCD_TIME_MAX_MS);
        CHECK(e->received_ms == received);
        CHECK(e->n_attributes >= 4 && e->n_attributes <= 5);
        for (size_t k = 0; k < e->n_attributes; k++)
            CHECK(e->attributes[k]->key && e->attributes[k]->value);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup_once();
    static const char *const sources[N_ADAPTERS] = {"names", "bytopic", "cbor"};
    const int64_t received = INT64_C(1795341846500);
    for (int i = 0; i < N_ADAPTERS; i++) {
        struct iocd_batch b;
        iocd_batch_init(&b, &g.arena);
        struct iocd_message m = {"city/senml/GW-1", data, size, received};
        enum iocd_reject r = iocd_adapter_senml.decode(g.adapter[i], &m, &b);
        check_batch(&b, r, sources[i], received);
        iocd_batch_reset(&b);
    }
    return 0;
}
