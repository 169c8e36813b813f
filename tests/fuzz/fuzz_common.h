/* tests/fuzz/fuzz_common.h — the set-up and checks the adapter fuzz targets
 * (tests/fuzz/fuzz_NAME.c) share.
 *
 * Owns: the contract check (CHECK: print and abort), the receive time every
 * fuzzed message carries, and struct fuzz_setup: a fixed config parsed once,
 * the adapters created from its sections (source = the section's NAME) and
 * the arena their batches use. All of it lives until the process exits: a
 * libFuzzer target, or replay.c for the fuzz-replay-NAME tests, runs until
 * then.
 *
 * Define FUZZ_TARGET as the target's name ("fuzz_json") before including. */
#ifndef IOCD_FUZZ_COMMON_H
#define IOCD_FUZZ_COMMON_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/adapter.h"
#include "daemon/base/timeutil.h"

#ifndef FUZZ_TARGET
#error "define FUZZ_TARGET before including fuzz_common.h"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The receive time of every fuzzed message: 2026-11-22T10:04:06.500Z. */
#define FUZZ_RECEIVED INT64_C(1795341846500)

/* Aborts, naming the broken condition, when `cond` is false. */
#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s: contract broken: %s (%s:%d)\n", FUZZ_TARGET, #cond, __FILE__,     \
                    __LINE__);                                                                     \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define FUZZ_MAX_ADAPTERS 4

struct fuzz_setup {
    bool ready;
    const struct iocd_adapter_ops *ops;
    struct iocd_ini ini;
    void *adapter[FUZZ_MAX_ADAPTERS]; /* one per section, when created */
    struct iocd_arena arena;
};

/* Once per process: parses `config` (it must have exactly `n_sections`
 * sections), creates one adapter per section with `ops` when `create`, and
 * sets up an arena of `arena_bytes`. Aborts when any of it fails. */
static inline void fuzz_setup_once(struct fuzz_setup *g, const struct iocd_adapter_ops *ops,
                                   const char *config, size_t n_sections, bool create,
                                   size_t arena_bytes)
{
    if (g->ready)
        return;
    struct iocd_error err = {{0}};
    if (n_sections > FUZZ_MAX_ADAPTERS ||
        iocd_ini_parse(&g->ini, "fuzz.conf", config, &err) != 0 ||
        g->ini.n_sections != n_sections) {
        fprintf(stderr, "%s: setup failed: %s\n", FUZZ_TARGET, err.msg);
        abort();
    }
    g->ops = ops;
    for (size_t i = 0; create && i < n_sections; i++) {
        struct iocd_ini_section *s = &g->ini.sections[i];
        if (ops->create(&g->ini, s, s->arg, &g->adapter[i], &err) != 0) {
            fprintf(stderr, "%s: setup failed: %s\n", FUZZ_TARGET, err.msg);
            abort();
        }
    }
    iocd_arena_init(&g->arena, arena_bytes);
    g->ready = true;
}

/* Decodes data[0..size) as the payload of a message on `topic` with
 * `adapter` into `b` (initialised here on g's arena; the caller resets it).
 * Returns the adapter's verdict, checked to be a known reason. */
static inline enum iocd_reject fuzz_decode(struct fuzz_setup *g, void *adapter, const char *topic,
                                           const uint8_t *data, size_t size, struct iocd_batch *b)
{
    iocd_batch_init(b, &g->arena);
    struct iocd_message m = {.topic = topic, .payload = data, .len = size,
                             .received_ms = FUZZ_RECEIVED};
    enum iocd_reject r = g->ops->decode(adapter, &m, b);
    CHECK((unsigned)r < IOCD_REJECT__COUNT);
    return r;
}

/* A rejected message yields nothing and says why. */
static inline void fuzz_check_rejected(const struct iocd_batch *b)
{
    CHECK(b->n_obs == 0 && b->n_events == 0);
    CHECK(b->detail[0] != '\0');
    CHECK(memchr(b->detail, '\0', sizeof(b->detail)) != NULL);
}

/* The pipeline's series id rule: 1..128 bytes, no '/', '+', '#' and no
 * control characters. */
static inline bool fuzz_valid_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 128)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || c == '/' || c == '+' || c == '#')
            return false;
    }
    return true;
}

/* What every observation of the adapters fuzzed with finite values must
 * be: all strings set, from `source`, valid device and metric ids, a
 * finite value, a time from 1970 to 9999, and FUZZ_RECEIVED. */
static inline void fuzz_check_observation(const Ioc__V1__Observation *o, const char *source)
{
    CHECK(o && o->source && o->device && o->metric && o->unit);
    CHECK(strcmp(o->source, source) == 0);
    CHECK(fuzz_valid_id(o->device));
    CHECK(fuzz_valid_id(o->metric));
    CHECK(isfinite(o->value));
    CHECK(o->observed_ms >= 0 && o->observed_ms <= IOCD_TIME_MAX_MS);
    CHECK(o->received_ms == FUZZ_RECEIVED);
}

/* An observation's labels: set, keys of 1..128 bytes, values of at most
 * 128. */
static inline void fuzz_check_labels(const Ioc__V1__Observation *o)
{
    CHECK(o->n_labels == 0 || o->labels != NULL);
    for (size_t k = 0; k < o->n_labels; k++) {
        CHECK(o->labels[k] && o->labels[k]->key && o->labels[k]->value);
        CHECK(strlen(o->labels[k]->key) > 0 && strlen(o->labels[k]->key) <= 128);
        CHECK(strlen(o->labels[k]->value) <= 128);
    }
}

/* The batch's observations pack, as the pipeline and store would do
 * (batches of up to 64, to bound the cost). */
static inline void fuzz_check_packs(struct fuzz_setup *g, const struct iocd_batch *b)
{
    if (b->n_obs > 64)
        return;
    for (size_t i = 0; i < b->n_obs; i++) {
        size_t len = ioc__v1__observation__get_packed_size(b->obs[i]);
        uint8_t *buf = iocd_arena_alloc(&g->arena, len ? len : 1);
        if (buf)
            CHECK(ioc__v1__observation__pack(b->obs[i], buf) == len);
    }
}

#endif
