/*
 * tools/sim/feed_lighting.c: iocd-sim's street-lighting cabinets behind one
 * Sparkplug B edge node (group pleiku-lighting, edge node GL-LC-EDGE1, one
 * Sparkplug device per cabinet), encoded with protobuf-c from iocd's own
 * proto/sparkplug_b/sparkplug_b.proto.
 *
 * The feed's first scheduler device is the edge node: it publishes NBIRTH
 * (seq 0, bdSeq, "Node Control/Rebirth") and then nothing until a rebirth.
 * Each cabinet publishes its DBIRTH (metric names, aliases, datatypes, an
 * "engUnit" property where there is a unit, values) right after the NBIRTH
 * and then DDATA with aliases only, every interval at its own phase. seq
 * counts every message of the edge node, mod 256; timestamps are the
 * simulated clock, so fast replays give the same bytes. The main program
 * owns the MQTT session side: NDEATH as the will and at exit, and rebirths
 * after a reconnect or a "Node Control/Rebirth" NCMD.
 *
 * A cabinet's lamps are on from 18:00 to 05:30 local, dimmed to 70% from
 * 23:00 to 04:30; lamps fail now and then and a crew replaces them on a
 * working morning. Grid voltage sags in the evening peak. Each cabinet's
 * "status" (a String: a state series, docs/states.md) is "fault" while a
 * lamp is out, else "on" or "off".
 */
#include "sim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sparkplug_b/sparkplug_b.pb-c.h"

#define GROUP_ID "pleiku-lighting"
#define EDGE_ID "GL-LC-EDGE1"
#define NS "spBv1.0/" GROUP_ID

/* Sparkplug B datatype numbers. */
#define DT_UINT16 6
#define DT_UINT64 8
#define DT_FLOAT 9
#define DT_DOUBLE 10
#define DT_BOOLEAN 11
#define DT_STRING 12

enum { M_POWER, M_VOLTAGE, M_CURRENT, M_LAMPS_ON, M_FAILURES, M_ENERGY, M_STATUS, M_N };

/* M_STATUS's value is an index into these. */
static char STATUS_OFF[] = "off", STATUS_ON[] = "on", STATUS_FAULT[] = "fault";
static char *const STATUS_TEXT[] = {STATUS_OFF, STATUS_ON, STATUS_FAULT};

/* protobuf-c wants char *, so the strings it is handed live in writable arrays. */
static struct {
    char name[16];
    uint32_t type;
    char unit[8]; /* "" : no engUnit property */
} METRICS[M_N] = {
    [M_POWER] = { "power", DT_FLOAT, "kW" },
    [M_VOLTAGE] = { "voltage", DT_FLOAT, "V" },
    [M_CURRENT] = { "current", DT_FLOAT, "A" },
    [M_LAMPS_ON] = { "lamps_on", DT_UINT16, "" },
    [M_FAILURES] = { "lamp_failures", DT_UINT16, "" },
    [M_ENERGY] = { "energy", DT_DOUBLE, "kWh" },
    [M_STATUS] = { "status", DT_STRING, "" },
};
static char KEY_ENG_UNIT[] = "engUnit";
static char NAME_BDSEQ[] = "bdSeq";
static char NAME_REBIRTH[] = "Node Control/Rebirth";

struct edge {
    uint64_t bdseq;
    unsigned seq;   /* seq of the edge node's last message */
    unsigned gen;   /* NBIRTHs so far; a cabinet whose DBIRTH is older sends it again */
    int need_nbirth;
    char topic[TOPIC_MAX]; /* DBIRTH topics are built here */
};

size_t lighting_devices(long count)
{
    return count > 0 ? (size_t)count + 1 : 0;
}

int lighting_init(struct device *d, const struct feed_setup *fs)
{
    (void)fs;
    if (d->unit == 0) {
        struct edge *edge = calloc(1, sizeof *edge);
        if (!edge)
            return -1;
        edge->need_nbirth = 1;
        d->ext = edge;
        snprintf(d->id, sizeof d->id, "%s", EDGE_ID);
        snprintf(d->topic, sizeof d->topic, "%s/NBIRTH/%s", NS, EDGE_ID);
    } else {
        struct cabinet_state *c = &d->st.cabinet;
        uint64_t *r = &d->rng;
        snprintf(d->id, sizeof d->id, "GL-LC%03u", (unsigned)d->unit);
        int n = snprintf(d->topic, sizeof d->topic, "%s/DDATA/%s/%s", NS, EDGE_ID, d->id);
        if (n < 0 || (size_t)n >= sizeof d->topic)
            return -1;
        c->lamps = (int)rng_int(r, 30, 90);
        c->lamp_w = rng_range(r, 60.0, 150.0);
        c->standby_kw = rng_range(r, 0.02, 0.06);
        c->pf = rng_range(r, 0.92, 0.98);
        c->v_offset = rng_range(r, -4.0, 4.0);
        c->energy_kwh = rng_range(r, 3000.0, 60000.0);
        c->failures = (int)rng_int(r, 0, 2);
        c->alias_base = (uint64_t)d->unit * 10; /* unique across the edge node */
    }
    d->next_due_us = 0; /* births first */
    return 0;
}

void lighting_rebirth(struct device *edge_dev, uint64_t bdseq)
{
    struct edge *edge = edge_dev->ext;
    edge->bdseq = bdseq;
    edge->need_nbirth = 1;
}

static int pack(const Iocd__SparkplugB__Payload *p, unsigned char *buf, size_t cap, size_t *len)
{
    size_t n = iocd__sparkplug_b__payload__get_packed_size(p);
    if (n > cap)
        return -1;
    *len = iocd__sparkplug_b__payload__pack(p, buf);
    return 1;
}

static void set_u64(Iocd__SparkplugB__Metric *m, uint64_t v)
{
    m->value_case = IOCD__SPARKPLUG_B__METRIC__VALUE_LONG_VALUE;
    m->long_value = v;
}

static int edge_nbirth(struct edge *edge, const struct sample *s, struct emit *e)
{
    Iocd__SparkplugB__Metric m[2] = { IOCD__SPARKPLUG_B__METRIC__INIT,
                                      IOCD__SPARKPLUG_B__METRIC__INIT };
    Iocd__SparkplugB__Metric *mp[2] = { &m[0], &m[1] };
    for (int i = 0; i < 2; i++) {
        m[i].has_timestamp = 1;
        m[i].timestamp = (uint64_t)s->now_ms;
        m[i].has_datatype = 1;
    }
    m[0].name = NAME_BDSEQ;
    m[0].datatype = DT_UINT64;
    set_u64(&m[0], edge->bdseq);
    m[1].name = NAME_REBIRTH;
    m[1].datatype = DT_BOOLEAN;
    m[1].value_case = IOCD__SPARKPLUG_B__METRIC__VALUE_BOOLEAN_VALUE;
    m[1].boolean_value = 0;
    Iocd__SparkplugB__Payload p = IOCD__SPARKPLUG_B__PAYLOAD__INIT;
    p.has_timestamp = 1;
    p.timestamp = (uint64_t)s->now_ms;
    p.n_metrics = 2;
    p.metrics = mp;
    p.has_seq = 1;
    p.seq = 0;
    return pack(&p, e->buf, e->cap, &e->len);
}

/* Advances a cabinet's model by dt seconds; fills the metric values. */
static void cabinet_step(struct cabinet_state *c, const struct sample *s, uint64_t *r,
                         double val[M_N])
{
    double dt = s->dt_s, h = s->hour;
    int wd = local_weekday(s->now_ms);
    if (rng_uniform(r) < 1.0 - exp(-dt * c->lamps / (600.0 * 86400.0)) && c->failures < c->lamps)
        c->failures++;
    if (c->failures > 0 && wd != 0 && h >= 8.0 && h < 11.0 &&
        rng_uniform(r) < 1.0 - exp(-dt / 7200.0))
        c->failures = 0; /* the crew came by */
    int on = h >= 18.0 || h < 5.5;
    double dim = (h >= 23.0 || h < 4.5) ? 0.7 : 1.0;
    int lamps_on = on ? c->lamps - c->failures : 0;
    c->n_p = ou_step(c->n_p, dt, 600.0, 0.02, r);
    c->n_v = ou_step(c->n_v, dt, 900.0, 1.0, r);
    double volt = clampd(226.0 + c->v_offset - 6.0 * bump(h, 19.5, 1.5) +
                         4.0 * bump(wrap_hour(h + 12.0), 14.5, 2.5) + c->n_v, 200.0, 245.0);
    double kw = c->standby_kw + lamps_on * c->lamp_w * dim / 1000.0 * (1.0 + c->n_p);
    kw = clampd(kw, 0.0, 100.0);
    double amps = kw * 1000.0 / (volt * c->pf);
    c->energy_kwh += kw * dt / 3600.0;
    val[M_POWER] = round(kw * 1000.0) / 1000.0;
    val[M_VOLTAGE] = round(volt * 10.0) / 10.0;
    val[M_CURRENT] = round(amps * 100.0) / 100.0;
    val[M_LAMPS_ON] = lamps_on;
    val[M_FAILURES] = c->failures;
    val[M_ENERGY] = round(c->energy_kwh * 1000.0) / 1000.0;
    val[M_STATUS] = c->failures > 0 ? 2 : on ? 1 : 0;
}

static int cabinet_message(struct device *d, struct edge *edge, const struct sample *s,
                           struct emit *e, int birth)
{
    struct cabinet_state *c = &d->st.cabinet;
    double val[M_N];
    cabinet_step(c, s, &d->rng, val);

    Iocd__SparkplugB__Metric m[M_N];
    Iocd__SparkplugB__Metric *mp[M_N];
    Iocd__SparkplugB__PropertySet ps[M_N];
    Iocd__SparkplugB__PropertyValue pv[M_N];
    Iocd__SparkplugB__PropertyValue *pvp[M_N];
    char *keys[1] = { KEY_ENG_UNIT };
    for (int i = 0; i < M_N; i++) {
        iocd__sparkplug_b__metric__init(&m[i]);
        mp[i] = &m[i];
        m[i].has_alias = 1;
        m[i].alias = c->alias_base + (uint64_t)i;
        m[i].has_timestamp = 1;
        m[i].timestamp = (uint64_t)s->now_ms;
        switch (METRICS[i].type) {
        case DT_FLOAT:
            m[i].value_case = IOCD__SPARKPLUG_B__METRIC__VALUE_FLOAT_VALUE;
            m[i].float_value = (float)val[i];
            break;
        case DT_DOUBLE:
            m[i].value_case = IOCD__SPARKPLUG_B__METRIC__VALUE_DOUBLE_VALUE;
            m[i].double_value = val[i];
            break;
        case DT_STRING:
            m[i].value_case = IOCD__SPARKPLUG_B__METRIC__VALUE_STRING_VALUE;
            m[i].string_value = STATUS_TEXT[(int)val[i]];
            break;
        default: /* UInt16 travels in int_value */
            m[i].value_case = IOCD__SPARKPLUG_B__METRIC__VALUE_INT_VALUE;
            m[i].int_value = (uint32_t)val[i];
            break;
        }
        if (!birth)
            continue; /* DATA: alias, timestamp and value only */
        m[i].name = METRICS[i].name;
        m[i].has_datatype = 1;
        m[i].datatype = METRICS[i].type;
        if (METRICS[i].unit[0]) {
            iocd__sparkplug_b__property_set__init(&ps[i]);
            iocd__sparkplug_b__property_value__init(&pv[i]);
            pv[i].has_type = 1;
            pv[i].type = DT_STRING;
            pv[i].value_case = IOCD__SPARKPLUG_B__PROPERTY_VALUE__VALUE_STRING_VALUE;
            pv[i].string_value = METRICS[i].unit;
            pvp[i] = &pv[i];
            ps[i].n_keys = 1;
            ps[i].keys = keys;
            ps[i].n_values = 1;
            ps[i].values = &pvp[i];
            m[i].properties = &ps[i];
        }
    }
    Iocd__SparkplugB__Payload p = IOCD__SPARKPLUG_B__PAYLOAD__INIT;
    p.has_timestamp = 1;
    p.timestamp = (uint64_t)s->now_ms;
    p.n_metrics = M_N;
    p.metrics = mp;
    p.has_seq = 1;
    p.seq = (edge->seq + 1) & 0xff;
    int rc = pack(&p, e->buf, e->cap, &e->len);
    if (rc == 1)
        edge->seq = (unsigned)p.seq;
    return rc;
}

int lighting_emit(struct device *d, const struct sample *s, struct emit *e)
{
    struct edge *edge = d->first->ext;
    if (d->unit == 0) {
        e->idle = 1; /* until the next rebirth */
        if (!edge->need_nbirth)
            return 0;
        int rc = edge_nbirth(edge, s, e);
        if (rc == 1) {
            edge->seq = 0;
            edge->gen++;
            edge->need_nbirth = 0;
        }
        return rc;
    }
    if (edge->need_nbirth || edge->gen == 0) {
        e->next_gap_us = 1000; /* the NBIRTH goes first */
        return 0;
    }
    struct cabinet_state *c = &d->st.cabinet;
    if (c->born_gen != edge->gen) {
        int n = snprintf(edge->topic, sizeof edge->topic, "%s/DBIRTH/%s/%s", NS, EDGE_ID, d->id);
        if (n < 0 || (size_t)n >= sizeof edge->topic)
            return -1;
        int rc = cabinet_message(d, edge, s, e, 1);
        if (rc == 1) {
            c->born_gen = edge->gen;
            e->topic = edge->topic;
            /* DDATA from now on, at this cabinet's own phase. */
            e->next_gap_us = 1 + (int64_t)(rng_uniform(&d->rng) * (double)d->interval_us);
        }
        return rc;
    }
    return cabinet_message(d, edge, s, e, 0);
}

int lighting_death(uint64_t bdseq, int64_t ts_ms, char *topic, size_t topic_cap,
                   unsigned char *buf, size_t cap, size_t *len)
{
    int n = snprintf(topic, topic_cap, "%s/NDEATH/%s", NS, EDGE_ID);
    if (n < 0 || (size_t)n >= topic_cap)
        return -1;
    Iocd__SparkplugB__Metric m = IOCD__SPARKPLUG_B__METRIC__INIT;
    Iocd__SparkplugB__Metric *mp = &m;
    m.name = NAME_BDSEQ;
    m.has_timestamp = 1;
    m.timestamp = (uint64_t)ts_ms;
    m.has_datatype = 1;
    m.datatype = DT_UINT64;
    set_u64(&m, bdseq);
    Iocd__SparkplugB__Payload p = IOCD__SPARKPLUG_B__PAYLOAD__INIT;
    p.has_timestamp = 1;
    p.timestamp = (uint64_t)ts_ms;
    p.n_metrics = 1;
    p.metrics = &mp; /* no seq: NDEATH has none */
    return pack(&p, buf, cap, len) == 1 ? 0 : -1;
}

int lighting_is_rebirth_cmd(const void *payload, size_t len)
{
    Iocd__SparkplugB__Payload *p = iocd__sparkplug_b__payload__unpack(NULL, len, payload);
    if (!p)
        return 0;
    int yes = 0;
    for (size_t i = 0; i < p->n_metrics; i++) {
        const Iocd__SparkplugB__Metric *m = p->metrics[i];
        if (m->name && strcmp(m->name, NAME_REBIRTH) == 0 &&
            m->value_case == IOCD__SPARKPLUG_B__METRIC__VALUE_BOOLEAN_VALUE && m->boolean_value)
            yes = 1;
    }
    iocd__sparkplug_b__payload__free_unpacked(p, NULL);
    return yes;
}
