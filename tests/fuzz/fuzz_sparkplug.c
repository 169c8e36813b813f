/* tests/fuzz/fuzz_sparkplug.c — libFuzzer target for the sparkplug adapter
 * (adapters/sparkplug.c): the Sparkplug B payload decoder, the nesting
 * check in front of protobuf-c, the alias and sequence state, and the
 * topic parser.
 *
 * Owns: the parsed fixed config, two packed BIRTH payloads built once, the
 * arena, and for each input one sparkplug adapter created from the config
 * and destroyed after the input (so every input starts from the same state
 * and a crash replays alone). Each input is decoded as the payload of, in
 * turn: a DDATA and an NDATA after a known NBIRTH/DBIRTH, an NBIRTH and a
 * DBIRTH (the input's metrics become the aliases), a DDATA and NDATA again,
 * a DDEATH and an NDEATH; then it is used as a topic with a known payload.
 * The NBIRTH carries a bdSeq, so an NDEATH input reaches the stale check.
 * Besides the sanitizers, it checks the adapter's contract and aborts when
 * it is broken, including its commands: at most one per message, a Rebirth
 * request (NCMD on the message's own node, QoS 0, not retained, the exact
 * payload). Linked with libFuzzer's main (fuzz_sparkplug) or with
 * replay.c (the fuzz-replay-sparkplug test). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_TARGET "fuzz_sparkplug"
#include "fuzz_common.h"

#include "daemon/base/timeutil.h"
#include "sparkplug_b/sparkplug_b.pb-c.h"

extern const struct iocd_adapter_ops iocd_adapter_sparkplug;

/* Small limits so that the fuzzer reaches them. */
static const char config[] = "[adapter plant]\n"
                             "topic = spBv1.0/#\n"
                             "format = sparkplug\n"
                             "device_format = edge.device\n"
                             "max_devices = 4\n"
                             "max_metrics = 16\n"
                             "states = String\n";

/* The config, parsed once (an adapter is created per input), and the
 * arena; the two BIRTH payloads. */
static struct fuzz_setup g;
static uint8_t *nbirth, *dbirth;
static size_t nbirth_len, dbirth_len;

/* Packs a BIRTH whose metrics have aliases 0..n-1 and every numeric type;
 * with `bdseq`, also the bdSeq metric (3) an NBIRTH carries. */
static uint8_t *make_birth(size_t *len, bool bdseq)
{
    static const uint32_t types[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13};
    static const char *const names[] = {"Int8",    "Int16",  "Int32",   "Int64", "UInt8",
                                        "UInt16",  "UInt32", "UInt64",  "Float", "Double",
                                        "Boolean", "String", "DateTime"};
    enum { N = sizeof(types) / sizeof(types[0]) };
    Iocd__SparkplugB__Metric m[N + 1], *mp[N + 1];
    Iocd__SparkplugB__PropertySet ps;
    Iocd__SparkplugB__PropertyValue pv, *pvp[1] = {&pv};
    char *keys[1] = {"engUnit"};
    iocd__sparkplug_b__property_set__init(&ps);
    iocd__sparkplug_b__property_value__init(&pv);
    pv.has_type = 1;
    pv.type = 12;
    pv.value_case = IOCD__SPARKPLUG_B__PROPERTY_VALUE__VALUE_STRING_VALUE;
    pv.string_value = "V";
    ps.n_keys = ps.n_values = 1;
    ps.keys = keys;
    ps.values = pvp;
    for (size_t i = 0; i < N; i++) {
        iocd__sparkplug_b__metric__init(&m[i]);
        mp[i] = &m[i];
        m[i].name = (char *)names[i];
        m[i].has_alias = 1;
        m[i].alias = i;
        m[i].has_datatype = 1;
        m[i].datatype = types[i];
        m[i].value_case = IOCD__SPARKPLUG_B__METRIC__VALUE_INT_VALUE;
        m[i].int_value = 1;
        m[i].properties = &ps;
    }
    Iocd__SparkplugB__Payload p;
    iocd__sparkplug_b__payload__init(&p);
    p.has_seq = 1;
    p.seq = 0;
    p.has_timestamp = 1;
    p.timestamp = 1795341840000u;
    p.n_metrics = N;
    p.metrics = mp;
    if (bdseq) {
        iocd__sparkplug_b__metric__init(&m[N]);
        mp[N] = &m[N];
        m[N].name = "bdSeq";
        m[N].has_datatype = 1;
        m[N].datatype = 8;
        m[N].value_case = IOCD__SPARKPLUG_B__METRIC__VALUE_LONG_VALUE;
        m[N].long_value = 3;
        p.n_metrics = N + 1;
    }
    *len = iocd__sparkplug_b__payload__get_packed_size(&p);
    uint8_t *buf = malloc(*len);
    CHECK(buf != NULL);
    CHECK(iocd__sparkplug_b__payload__pack(&p, buf) == *len);
    return buf;
}

static void setup_once(void)
{
    if (g.ready)
        return;
    fuzz_setup_once(&g, &iocd_adapter_sparkplug, config, 1, false, 16u << 20);
    nbirth = make_birth(&nbirth_len, true);
    dbirth = make_birth(&dbirth_len, false);
}

static void check_id(const char *s)
{
    CHECK(s != NULL);
    CHECK(fuzz_valid_id(s));
}

/* A command is a Rebirth request to the node of `topic`, exactly. */
static void check_command(const struct iocd_command *c, const char *topic)
{
    CHECK(c && c->topic && c->payload && c->why && c->why[0]);
    CHECK(c->qos == 0 && !c->retain);
    /* spBv1.0/GROUP/TYPE/EDGE[/DEVICE] → spBv1.0/GROUP/NCMD/EDGE */
    const char *g1 = strchr(topic, '/');
    CHECK(g1 != NULL);
    const char *t1 = strchr(g1 + 1, '/');
    CHECK(t1 != NULL);
    const char *e1 = strchr(t1 + 1, '/');
    CHECK(e1 != NULL);
    size_t elen = strcspn(e1 + 1, "/");
    char want[600];
    snprintf(want, sizeof(want), "spBv1.0/%.*s/NCMD/%.*s", (int)(t1 - g1 - 1), g1 + 1, (int)elen,
             e1 + 1);
    CHECK(strcmp(c->topic, want) == 0);
    Iocd__SparkplugB__Payload *p = iocd__sparkplug_b__payload__unpack(NULL, c->len, c->payload);
    CHECK(p != NULL);
    CHECK(p->has_timestamp && p->timestamp == (uint64_t)FUZZ_RECEIVED && !p->has_seq);
    CHECK(p->n_metrics == 1);
    const Iocd__SparkplugB__Metric *m = p->metrics[0];
    CHECK(m->name && strcmp(m->name, "Node Control/Rebirth") == 0 && !m->has_alias);
    CHECK(m->has_datatype && m->datatype == 11);
    CHECK(m->value_case == IOCD__SPARKPLUG_B__METRIC__VALUE_BOOLEAN_VALUE && m->boolean_value);
    CHECK(m->has_timestamp && m->timestamp == (uint64_t)FUZZ_RECEIVED);
    iocd__sparkplug_b__payload__free_unpacked(p, NULL);
}

static void decode(void *adapter, const char *topic, const uint8_t *data, size_t size)
{
    struct iocd_batch b;
    enum iocd_reject r = fuzz_decode(&g, adapter, topic, data, size, &b);
    CHECK(memchr(b.note_detail, '\0', sizeof(b.note_detail)) != NULL);
    CHECK(b.n_commands <= 1);
    for (size_t i = 0; i < b.n_commands; i++)
        check_command(b.commands[i], topic);
    if (r == IOCD_REJECT_NONE) {
        CHECK(b.n_obs + b.n_events > 0);
        for (size_t i = 0; i < b.n_obs; i++) {
            const Ioc__V1__Observation *o = b.obs[i];
            fuzz_check_observation(o, "plant");
            CHECK(strlen(o->unit) <= 64);
            CHECK(o->quality == IOC__V1__QUALITY__QUALITY_GOOD ||
                  o->quality == IOC__V1__QUALITY__QUALITY_INVALID);
        }
        for (size_t i = 0; i < b.n_events; i++) {
            const Ioc__V1__Event *e = b.events[i];
            CHECK(e && e->kind && e->text && e->source);
            CHECK(strcmp(e->kind, "device_online") == 0 || strcmp(e->kind, "device_offline") == 0);
            check_id(e->device);
            CHECK(e->time_ms >= 0 && e->time_ms <= IOCD_TIME_MAX_MS);
            CHECK(e->received_ms == FUZZ_RECEIVED);
        }
    } else {
        fuzz_check_rejected(&b);
    }
    iocd_batch_reset(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup_once();
    void *a = NULL;
    struct iocd_error err = {{0}};
    if (iocd_adapter_sparkplug.create(&g.ini, &g.ini.sections[0], "plant", &a, &err) != 0) {
        fprintf(stderr, "fuzz_sparkplug: create failed: %s\n", err.msg);
        abort();
    }
    decode(a, "spBv1.0/G/NBIRTH/E", nbirth, nbirth_len);
    decode(a, "spBv1.0/G/DBIRTH/E/D", dbirth, dbirth_len);
    decode(a, "spBv1.0/G/DDATA/E/D", data, size);
    decode(a, "spBv1.0/G/NDATA/E", data, size);
    decode(a, "spBv1.0/G/NBIRTH/E", data, size);
    decode(a, "spBv1.0/G/DBIRTH/E/D", data, size);
    decode(a, "spBv1.0/G/DDATA/E/D", data, size);
    decode(a, "spBv1.0/G/NDATA/E", data, size);
    decode(a, "spBv1.0/G/DDEATH/E/D", data, size);
    decode(a, "spBv1.0/G/NDEATH/E", data, size);

    /* The input as a topic (up to its first NUL). */
    char topic[512];
    size_t n = size < sizeof(topic) - 1 ? size : sizeof(topic) - 1;
    memcpy(topic, data, n);
    topic[n] = '\0';
    decode(a, topic, dbirth, dbirth_len);
    iocd_adapter_sparkplug.destroy(a);
    return 0;
}
