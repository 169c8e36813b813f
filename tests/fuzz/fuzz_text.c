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
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/adapter.h"
#include "daemon/base/timeutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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

static struct {
    int ready;
    struct iocd_ini ini;
    void *adapter[N_ADAPTERS];
    struct iocd_arena arena;
} g;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_text: contract broken: %s (%s:%d)\n", #cond, __FILE__,           \
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
        fprintf(stderr, "fuzz_text: setup failed: %s\n", err.msg);
        abort();
    }
    for (int i = 0; i < N_ADAPTERS; i++) {
        struct iocd_ini_section *s = &g.ini.sections[i];
        if (iocd_adapter_text.create(&g.ini, s, s->arg, &g.adapter[i], &err) != 0) {
            fprintf(stderr, "fuzz_text: setup failed: %s\n", err.msg);
            abort();
        }
    }
    iocd_arena_init(&g.arena, 8u << 20);
    g.ready = 1;
}

/* A series id: 1..128 bytes, no '/', '+', '#' or control characters. */
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

static void fuzz_decode(int which, const uint8_t *data, size_t size)
{
    struct iocd_batch b;
    iocd_batch_init(&b, &g.arena);
    const int64_t received = INT64_C(1795341846500);
    struct iocd_message m = {routes[which].topic, data, size, received};
    enum iocd_reject r = iocd_adapter_text.decode(g.adapter[which], &m, &b);
    CHECK((unsigned)r < IOCD_REJECT__COUNT);
    CHECK(b.n_events == 0);
    CHECK(b.notes[IOCD_NOTE_PARTIAL] <= 1 && b.notes[IOCD_NOTE_SEQ_GAP] == 0);
    if (r == IOCD_REJECT_NONE) {
        CHECK(b.n_obs > 0);
        if (which == 0)
            CHECK(b.n_obs == 1);
        for (size_t i = 0; i < b.n_obs; i++) {
            const Ioc__V1__Observation *o = b.obs[i];
            CHECK(o && o->source && o->device && o->metric && o->unit);
            CHECK(strcmp(o->source, routes[which].source) == 0);
            CHECK(valid_id(o->device));
            CHECK(valid_id(o->metric));
            CHECK(isfinite(o->value));
            CHECK(o->observed_ms >= 0 && o->observed_ms <= IOCD_TIME_MAX_MS);
            CHECK(o->received_ms == received);
            CHECK(o->quality == IOC__V1__QUALITY__QUALITY_GOOD);
            CHECK(o->location == NULL);
            CHECK(o->n_labels == 0 || o->labels != NULL);
            for (size_t k = 0; k < o->n_labels; k++) {
                CHECK(o->labels[k] && o->labels[k]->key && o->labels[k]->value);
                CHECK(strlen(o->labels[k]->key) > 0 && strlen(o->labels[k]->key) <= 128);
                CHECK(strlen(o->labels[k]->value) <= 128);
            }
        }
        if (b.n_obs <= 64) {
            for (size_t i = 0; i < b.n_obs; i++) {
                size_t len = ioc__v1__observation__get_packed_size(b.obs[i]);
                uint8_t *buf = iocd_arena_alloc(&g.arena, len ? len : 1);
                if (buf)
                    CHECK(ioc__v1__observation__pack(b.obs[i], buf) == len);
            }
        }
    } else {
        CHECK(b.n_obs == 0);
        CHECK(b.detail[0] != '\0');
        CHECK(memchr(b.detail, '\0', sizeof(b.detail)) != NULL);
    }
    iocd_batch_reset(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup_once();
    for (int i = 0; i < N_ADAPTERS; i++)
        fuzz_decode(i, data, size);
    return 0;
}
