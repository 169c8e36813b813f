/* daemon/live/pb_obs.c — an ioc.v1.Batch of Observations in protobuf, by hand (pb_obs.h).
 *
 * Owns: nothing (no allocation, no state). The wire format of the one
 * item republish sends for every incoming message, written field by field
 * in the order and with the omissions protobuf-c's packer uses (proto3:
 * a zero number, an empty or NULL string, a NULL message and false are
 * left out), so the bytes are the same (tests/unit/test_pb_obs.c checks
 * them against protobuf_c_message_pack). protobuf-c's generic packer walks
 * the descriptors twice (size, then pack): perf had it at 10 % of iocd's
 * CPU under load. */
#include "daemon/live/pb_obs.h"

#include <string.h>

enum { WIRE_VARINT = 0, WIRE_64BIT = 1, WIRE_LEN = 2 };

static size_t varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static uint8_t *put_varint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

/* Every field here has a number below 16: its tag is one byte. */
static uint8_t tag(unsigned field, unsigned wire)
{
    return (uint8_t)(field << 3 | wire);
}

static size_t len_of(const char *s)
{
    return s ? strlen(s) : 0;
}

/* A string field of `len` bytes: left out when empty. */
static size_t field_size(size_t len)
{
    return len ? 1 + varint_size(len) + len : 0;
}

static uint8_t *put_bytes(uint8_t *p, unsigned field, const char *s, size_t n)
{
    if (!n)
        return p;
    *p++ = tag(field, WIRE_LEN);
    p = put_varint(p, n);
    memcpy(p, s, n);
    return p + n;
}

static size_t str_size(const char *s)
{
    return field_size(len_of(s));
}

static uint8_t *put_str(uint8_t *p, unsigned field, const char *s)
{
    return put_bytes(p, field, s, len_of(s));
}

static uint8_t *put_double(uint8_t *p, unsigned field, double v)
{
    if (v == 0) /* as protobuf-c: -0.0 is left out too */
        return p;
    uint64_t bits;
    memcpy(&bits, &v, sizeof(bits));
    *p++ = tag(field, WIRE_64BIT);
    for (int i = 0; i < 8; i++)
        *p++ = (uint8_t)(bits >> (8 * i));
    return p;
}

/* int64 and enum: a negative value is ten bytes of two's complement. */
static size_t int_size(int64_t v)
{
    return v ? 1 + varint_size((uint64_t)v) : 0;
}

static uint8_t *put_int(uint8_t *p, unsigned field, int64_t v)
{
    if (!v)
        return p;
    *p++ = tag(field, WIRE_VARINT);
    return put_varint(p, (uint64_t)v);
}

static size_t entry_size(const Ioc__V1__Observation__LabelsEntry *e)
{
    return str_size(e->key) + str_size(e->value);
}

static size_t location_size(const Ioc__V1__Location *l)
{
    return (l->lat != 0 ? 9 : 0) + (l->lon != 0 ? 9 : 0);
}

/* The lengths of an observation's strings, taken once (strlen was a third
 * of the encoding's cost when each pass took them again). */
struct obs_lens {
    size_t source, device, metric, unit, state, total;
};

/* `p`, `pl`: the observation before and its lengths, or NULL: a string it
 * shares (a message's source and device, a section's unit) is not
 * measured again. */
static size_t obs_size(const Ioc__V1__Observation *o, struct obs_lens *l,
                       const Ioc__V1__Observation *p, const struct obs_lens *pl)
{
    l->source = p && o->source == p->source ? pl->source : len_of(o->source);
    l->device = p && o->device == p->device ? pl->device : len_of(o->device);
    l->metric = len_of(o->metric);
    l->unit = p && o->unit == p->unit ? pl->unit : len_of(o->unit);
    l->state = len_of(o->state);
    size_t n = field_size(l->source) + field_size(l->device) + field_size(l->metric) +
               (o->value != 0 ? 9 : 0) + field_size(l->unit) + int_size(o->observed_ms) +
               int_size(o->received_ms);
    for (size_t i = 0; i < o->n_labels; i++) {
        size_t e = entry_size(o->labels[i]);
        n += 1 + varint_size(e) + e;
    }
    if (o->location) {
        size_t loc = location_size(o->location);
        n += 1 + varint_size(loc) + loc;
    }
    n += int_size((int32_t)o->quality) + (o->correction ? 2 : 0) + field_size(l->state);
    return l->total = n;
}

static uint8_t *put_obs(uint8_t *p, const Ioc__V1__Observation *o, const struct obs_lens *l)
{
    p = put_bytes(p, 1, o->source, l->source);
    p = put_bytes(p, 2, o->device, l->device);
    p = put_bytes(p, 3, o->metric, l->metric);
    p = put_double(p, 4, o->value);
    p = put_bytes(p, 5, o->unit, l->unit);
    p = put_int(p, 6, o->observed_ms);
    p = put_int(p, 7, o->received_ms);
    for (size_t i = 0; i < o->n_labels; i++) {
        const Ioc__V1__Observation__LabelsEntry *e = o->labels[i];
        *p++ = tag(8, WIRE_LEN);
        p = put_varint(p, entry_size(e));
        p = put_str(p, 1, e->key);
        p = put_str(p, 2, e->value);
    }
    if (o->location) {
        *p++ = tag(9, WIRE_LEN);
        p = put_varint(p, location_size(o->location));
        p = put_double(p, 1, o->location->lat);
        p = put_double(p, 2, o->location->lon);
    }
    p = put_int(p, 10, (int32_t)o->quality);
    if (o->correction) {
        *p++ = tag(11, WIRE_VARINT);
        *p++ = 1;
    }
    return put_bytes(p, 12, o->state, l->state);
}

bool iocd_pb_obs_batch_supported(Ioc__V1__Observation *const *obs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const Ioc__V1__Observation *o = obs[i];
        if (o->base.n_unknown_fields || (o->location && o->location->base.n_unknown_fields))
            return false;
        for (size_t k = 0; k < o->n_labels; k++)
            if (!o->labels[k] || o->labels[k]->base.n_unknown_fields)
                return false;
    }
    return true;
}

size_t iocd_pb_obs_batch_pack(Ioc__V1__Observation *const *obs, size_t n, uint8_t *out,
                              size_t cap)
{
    /* Sizes first (the lengths kept for up to LENS observations; a larger
     * batch takes them again while packing), then the bytes. */
    enum { LENS = 64 };
    struct obs_lens lens[LENS], l;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        size_t s = i == 0 ? obs_size(obs[0], &lens[0], NULL, NULL)
                   : i < LENS ? obs_size(obs[i], &lens[i], obs[i - 1], &lens[i - 1])
                              : obs_size(obs[i], &l, NULL, NULL);
        total += 1 + varint_size(s) + s;
    }
    if (total > cap)
        return total;
    uint8_t *p = out;
    for (size_t i = 0; i < n; i++) {
        const struct obs_lens *li = &l;
        if (i < LENS)
            li = &lens[i];
        else
            obs_size(obs[i], &l, NULL, NULL);
        *p++ = tag(1, WIRE_LEN);
        p = put_varint(p, li->total);
        p = put_obs(p, obs[i], li);
    }
    return (size_t)(p - out);
}
