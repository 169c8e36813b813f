/*
 * tools/sim/feed_bus.c: iocd-sim's bus GPS feed, InfluxDB line protocol.
 *
 * A fleet gateway publishes on <prefix>/bus/gateway<N>/lp one message per
 * interval with one line per bus (at most BUSES_PER_GATEWAY; more buses,
 * more gateways):
 *   bus,route=01,bus=81B-00123 lat=13.98331,lon=108.00012,speed=32.5,occupancy=41i <ns>
 * Buses run four routes around Pleiku centre (simple polylines: two
 * out-and-back lines, one loop, one airport - bus station line), stop every
 * few hundred metres to let passengers on and off (busy at the rush hours),
 * slow down with the traffic, and leave the terminals on a timetable that
 * spaces the buses of a route evenly. Service runs 05:30 to 18:30; after
 * that each bus parks at the next terminal it reaches.
 */
#include "sim.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUSES_PER_GATEWAY 50
#define NROUTES 4
#define BUS_CAPACITY 60
#define WARMUP_MS (3 * 3600000LL)

struct point {
    double lat, lon;
};

struct route {
    const struct point *pts;
    size_t n;
    int loop;               /* 1: circular; 0: out and back */
    double cum[8];          /* metres from the first point */
    double length;          /* one way (or once round) */
    double period_ms;       /* timetable: one round trip, layovers included */
};

static const struct point R01[] = { /* north - south through the centre */
    { 14.0230, 108.0060 }, { 14.0100, 108.0035 }, { 13.9980, 108.0020 }, { 13.9833, 108.0016 },
    { 13.9720, 108.0040 }, { 13.9600, 108.0085 }, { 13.9470, 108.0110 },
};
static const struct point R02[] = { /* west - east */
    { 13.9760, 107.9650 }, { 13.9790, 107.9800 }, { 13.9815, 107.9930 }, { 13.9833, 108.0016 },
    { 13.9870, 108.0150 }, { 13.9920, 108.0300 }, { 13.9960, 108.0450 },
};
static const struct point R03[] = { /* loop round the centre */
    { 13.9900, 107.9950 }, { 13.9935, 108.0080 }, { 13.9880, 108.0170 }, { 13.9790, 108.0160 },
    { 13.9720, 108.0060 }, { 13.9760, 107.9950 }, { 13.9900, 107.9950 },
};
static const struct point R04[] = { /* airport - centre - bus station */
    { 14.0045, 108.0172 }, { 13.9990, 108.0110 }, { 13.9930, 108.0060 }, { 13.9833, 108.0016 },
    { 13.9700, 107.9990 }, { 13.9600, 107.9990 }, { 13.9550, 108.0060 },
};

static struct route ROUTES[NROUTES] = {
    { R01, sizeof R01 / sizeof R01[0], 0, { 0 }, 0.0, 0.0 },
    { R02, sizeof R02 / sizeof R02[0], 0, { 0 }, 0.0, 0.0 },
    { R03, sizeof R03 / sizeof R03[0], 1, { 0 }, 0.0, 0.0 },
    { R04, sizeof R04 / sizeof R04[0], 0, { 0 }, 0.0, 0.0 },
};

static double metres(struct point a, struct point b)
{
    double dy = (b.lat - a.lat) * 110574.0;
    double dx = (b.lon - a.lon) * 111320.0 * cos(0.5 * (a.lat + b.lat) * PI / 180.0);
    return sqrt(dx * dx + dy * dy);
}

static void routes_measure(void)
{
    if (ROUTES[0].length > 0.0)
        return;
    for (size_t r = 0; r < NROUTES; r++) {
        struct route *rt = &ROUTES[r];
        rt->cum[0] = 0.0;
        for (size_t i = 1; i < rt->n; i++)
            rt->cum[i] = rt->cum[i - 1] + metres(rt->pts[i - 1], rt->pts[i]);
        rt->length = rt->cum[rt->n - 1];
    }
    for (size_t r = 0; r < NROUTES; r++) { /* planned at 15 km/h with stops, 4 min layovers */
        struct route *rt = &ROUTES[r];
        double round_m = rt->loop ? rt->length : 2.0 * rt->length;
        rt->period_ms = (round_m / (15.0 / 3.6) + (rt->loop ? 1 : 2) * 240.0) * 1000.0;
    }
}

static double cycle_m(const struct route *rt)
{
    return rt->loop ? rt->length : 2.0 * rt->length;
}

#define SERVICE_START_H 5.5
#define SERVICE_END_H 18.5

static struct point position(const struct route *rt, double p)
{
    double x = p;
    if (!rt->loop && x > rt->length)
        x = 2.0 * rt->length - x;
    x = clampd(x, 0.0, rt->length);
    size_t i = 1;
    while (i < rt->n - 1 && rt->cum[i] < x)
        i++;
    double seg = rt->cum[i] - rt->cum[i - 1];
    double f = seg > 0.0 ? (x - rt->cum[i - 1]) / seg : 0.0;
    struct point a = rt->pts[i - 1], b = rt->pts[i];
    struct point out = { a.lat + (b.lat - a.lat) * f, a.lon + (b.lon - a.lon) * f };
    return out;
}

struct bus {
    int route;
    long plate;         /* 0..99999: 81B-ddd.dd */
    double p;           /* metres along the route's cycle */
    double dwell_s, to_stop_m, n_speed, speed_kmh, free_kmh;
    double phase_ms;    /* this bus's departures: service start + phase + k * period */
    int occ, parked;
};

struct gateway {
    size_t nbus;
    int warmed;
    struct bus bus[];
};

size_t bus_devices(long count)
{
    return (size_t)((count + BUSES_PER_GATEWAY - 1) / BUSES_PER_GATEWAY);
}

int bus_init(struct device *d, const struct feed_setup *fs)
{
    routes_measure();
    long first = (long)d->unit * BUSES_PER_GATEWAY;
    long n = fs->count - first < BUSES_PER_GATEWAY ? fs->count - first : BUSES_PER_GATEWAY;
    struct gateway *gw = calloc(1, sizeof *gw + (size_t)n * sizeof gw->bus[0]);
    if (!gw)
        return -1;
    d->ext = gw;
    gw->nbus = (size_t)n;
    for (long i = 0; i < n; i++) {
        struct bus *b = &gw->bus[i];
        long g = first + i;
        b->route = (int)(g % NROUTES);
        long j = g / NROUTES, on_route = (fs->count - b->route + NROUTES - 1) / NROUTES;
        b->plate = (g * 7919 + 123) % 100000; /* distinct for every g < 100000 */
        double share = (double)j / (double)(on_route > 0 ? on_route : 1);
        b->p = cycle_m(&ROUTES[b->route]) * share;
        b->phase_ms = ROUTES[b->route].period_ms * share;
        b->free_kmh = rng_range(&d->rng, 30.0, 38.0);
        b->to_stop_m = rng_range(&d->rng, 100.0, 500.0);
        b->occ = 0;
    }
    snprintf(d->id, sizeof d->id, "gateway%zu", d->unit + 1);
    return device_topic(d, fs->prefix, "bus", d->id, "lp");
}

static double demand(double h)
{
    return 0.25 + 1.4 * bump(h, 7.0, 1.2) + 0.7 * bump(h, 11.5, 1.0) + 1.3 * bump(h, 17.0, 1.3);
}

/* Seconds to wait at a terminal from t_ms: the bus's next departure slot, at least
 * a 2-minute layover; at the far end of an out-and-back line the slots are half a
 * period later. */
static double layover_s(const struct bus *b, int64_t t_ms, int far_end)
{
    const struct route *rt = &ROUTES[b->route];
    double anchor = (double)local_midnight_ms(t_ms) + SERVICE_START_H * 3600000.0 + b->phase_ms +
                    (far_end ? 0.5 * rt->period_ms : 0.0);
    double earliest = (double)t_ms + 120000.0;
    double k = ceil((earliest - anchor) / rt->period_ms);
    return (anchor + k * rt->period_ms - (double)t_ms) / 1000.0;
}

static void step(struct bus *b, int64_t t_ms, double dt, uint64_t *r)
{
    const struct route *rt = &ROUTES[b->route];
    double h = local_hour(t_ms);
    int in_service = h >= SERVICE_START_H && h < SERVICE_END_H;
    b->speed_kmh = 0.0;
    if (b->parked) {
        if (!in_service)
            return;
        b->parked = 0;
        b->dwell_s = layover_s(b, t_ms, b->p > 0.0);
    }
    b->n_speed = ou_step(b->n_speed, dt, 60.0, 3.0, r);
    if (b->dwell_s > 0.0) {
        b->dwell_s -= dt;
        return;
    }
    double kmh = clampd(b->free_kmh * (1.0 - 0.45 * clampd(traffic_profile(h), 0.0, 1.0)) +
                        b->n_speed, 8.0, 50.0);
    double adv = kmh / 3.6 * dt;
    double cyc = cycle_m(rt);
    double term = (!rt->loop && b->p < rt->length) ? rt->length : cyc;
    if (b->p + adv >= term) { /* terminal: everyone off, a break, maybe the end of the day */
        b->p = term >= cyc ? 0.0 : term;
        b->occ = (int)lround(b->occ * rng_range(r, 0.0, 0.1));
        b->dwell_s = layover_s(b, t_ms, b->p > 0.0);
        b->to_stop_m = rng_range(r, 350.0, 600.0);
        if (!in_service) {
            b->parked = 1;
            b->occ = 0;
            b->dwell_s = 0.0;
        }
        return;
    }
    b->p += adv;
    b->to_stop_m -= adv;
    if (b->to_stop_m <= 0.0) { /* a stop: some get off, some get on */
        long off = lround(b->occ * rng_range(r, 0.05, 0.25));
        long on = rng_poisson(r, demand(h) * 6.0);
        b->occ = (int)clampd((double)(b->occ - off + on), 0.0, BUS_CAPACITY);
        b->dwell_s = rng_range(r, 15.0, 45.0);
        b->to_stop_m = rng_range(r, 350.0, 600.0);
        return;
    }
    b->speed_kmh = kmh;
}

static void advance(struct gateway *gw, int64_t from_ms, int64_t to_ms, double max_step_s,
                    uint64_t *r)
{
    double span = (double)(to_ms - from_ms) / 1000.0;
    if (span <= 0.0)
        return;
    long n = (long)ceil(span / max_step_s);
    if (n > 5000)
        n = 5000;
    double dt = span / (double)n;
    for (long k = 1; k <= n; k++) {
        int64_t t = from_ms + (int64_t)llround(dt * 1000.0 * (double)k);
        for (size_t i = 0; i < gw->nbus; i++)
            step(&gw->bus[i], t, dt, r);
    }
}

/* A tag value, with the line protocol's escapes for comma, space and equals sign. */
static void lp_tag(struct sbuf *b, const char *v)
{
    for (const char *c = v; *c; c++) {
        char esc[3] = { '\\', *c, '\0' };
        int special = *c == ',' || *c == ' ' || *c == '=';
        sb_puts(b, special ? esc : esc + 1);
    }
}

int bus_emit(struct device *d, const struct sample *s, struct emit *e)
{
    struct gateway *gw = d->ext;
    int64_t now = s->now_ms;
    if (!gw->warmed) { /* start from a fleet that has been running for a while */
        int64_t t0 = now - WARMUP_MS;
        double h0 = local_hour(t0);
        for (size_t i = 0; i < gw->nbus; i++) {
            struct bus *b = &gw->bus[i];
            if (!(h0 >= SERVICE_START_H && h0 < SERVICE_END_H)) {
                b->p = 0.0;
                b->parked = 1;
            }
        }
        advance(gw, t0, now, 5.0, &d->rng);
        gw->warmed = 1;
    } else {
        advance(gw, now - (int64_t)llround(s->dt_s * 1000.0), now, 1.0, &d->rng);
    }
    struct sbuf b;
    sb_init(&b, e->buf, e->cap);
    for (size_t i = 0; i < gw->nbus; i++) {
        const struct bus *bus = &gw->bus[i];
        struct point at = position(&ROUTES[bus->route], bus->p);
        char route[16], tag[24];
        snprintf(route, sizeof route, "%02d", bus->route + 1);
        snprintf(tag, sizeof tag, "81B-%05ld", bus->plate);
        sb_puts(&b, i ? "\nbus,route=" : "bus,route=");
        lp_tag(&b, route);
        sb_puts(&b, ",bus=");
        lp_tag(&b, tag);
        sb_printf(&b, " lat=%.5f,lon=%.5f,speed=%.1f,occupancy=%di %" PRId64 "000000", at.lat,
                  at.lon, clampd(bus->speed_kmh, 0.0, 80.0), bus->occ, now);
    }
    return emit_sbuf(e, &b);
}

/* One registry row per bus, named by its plate (the influx tag `bus`): a
 * moving device, so no fixed position (its GPS reports it). */
int bus_registry(const struct device *d, sim_registry_row_fn row, void *ud)
{
    const struct gateway *gw = d->ext;
    for (size_t i = 0; i < gw->nbus; i++) {
        const struct bus *b = &gw->bus[i];
        char id[24], name[64], tags[48];
        snprintf(id, sizeof id, "81B-%05ld", b->plate);
        snprintf(name, sizeof name, "Xe buýt tuyến %02d, %s", b->route + 1, id);
        snprintf(tags, sizeof tags, "moving;route-%02d", b->route + 1);
        const struct sim_registry_row r = {id, name, "", tags, NAN, NAN};
        int rc = row(ud, &r);
        if (rc)
            return rc;
    }
    return 0;
}
