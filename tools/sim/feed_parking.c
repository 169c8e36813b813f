/*
 * tools/sim/feed_parking.c: iocd-sim's off-street car parks as a FIWARE
 * context broker would notify them: NGSI-v2 normalized notifications on
 * <prefix>/parking/ngsi/notify, {"subscriptionId":...,"data":[entity, ...]},
 * one OffStreetParking entity per car park (at most PARKS_PER_NOTIFICATION
 * per message; more car parks, more notifications on the same topic).
 * Each car park fills and empties with its own daily rhythm: the market in
 * the morning, the square and the shopping centre in the evening, the
 * offices on weekdays, the hospital all day. Times are UTC, as Orion writes
 * DateTime values.
 */
#include "sim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define PARKS_PER_NOTIFICATION 50

enum { K_SQUARE, K_MARKET, K_HOSPITAL, K_MALL, K_OFFICE, K_STATION, K_KINDS };

struct park_site {
    const char *name;
    int kind;
    double lat, lon;
    int total;
};

static const struct park_site SITES[] = {
    { "Bãi đỗ xe Quảng trường Đại Đoàn Kết", K_SQUARE, 13.9841, 108.0034, 120 },
    { "Bãi đỗ xe Chợ Trung tâm Pleiku", K_MARKET, 13.9768, 108.0052, 80 },
    { "Bãi đỗ xe Bệnh viện Đa khoa tỉnh Gia Lai", K_HOSPITAL, 13.9815, 108.0128, 150 },
    { "Bãi đỗ xe Trung tâm Thương mại Pleiku", K_MALL, 13.9862, 108.0091, 200 },
    { "Bãi đỗ xe Trung tâm Hành chính tỉnh", K_OFFICE, 13.9879, 107.9993, 90 },
    { "Bãi đỗ xe Bến xe khách Đức Long Gia Lai", K_STATION, 13.9601, 108.0368, 60 },
};
#define NSITES (sizeof SITES / sizeof SITES[0])

struct park {
    char name[128];
    int kind, total;
    double lat, lon, busy, occ; /* busy: how popular this one is; occ: cars now */
};

struct notifier {
    char subscription[25];
    size_t npark;
    size_t first; /* 0-based number of the first car park */
    struct park park[];
};

size_t parking_devices(long count)
{
    return (size_t)((count + PARKS_PER_NOTIFICATION - 1) / PARKS_PER_NOTIFICATION);
}

/* Share of the spaces taken at local hour h, by kind of car park. */
static double fill(int kind, double h, int wd)
{
    int weekend = wd == 0 || wd == 6;
    switch (kind) {
    case K_SQUARE:
        return 0.12 + 0.6 * bump(h, 19.5, 2.0) + (weekend ? 0.3 * bump(h, 9.0, 3.0) : 0.1);
    case K_MARKET:
        return 0.08 + 0.8 * bump(h, 8.0, 2.3) + 0.45 * bump(h, 16.5, 2.0);
    case K_HOSPITAL:
        return 0.2 + 0.65 * bump(h, 9.5, 3.0) + 0.3 * bump(h, 15.0, 2.0);
    case K_MALL:
        return 0.05 + (weekend ? 1.3 : 1.0) * (0.35 * bump(h, 12.0, 3.0) + 0.75 * bump(h, 19.5, 2.0));
    case K_OFFICE:
        return weekend ? 0.08 : 0.05 + 0.9 * sigmoid((h - 7.4) / 0.3) * sigmoid((17.0 - h) / 0.4);
    default: /* bus station */
        return 0.3 + 0.4 * bump(h, 6.5, 2.0) + 0.3 * bump(h, 14.0, 3.0);
    }
}

int parking_init(struct device *d, const struct feed_setup *fs)
{
    size_t first = d->unit * PARKS_PER_NOTIFICATION;
    size_t n = (size_t)fs->count - first < PARKS_PER_NOTIFICATION ? (size_t)fs->count - first
                                                                    : PARKS_PER_NOTIFICATION;
    struct notifier *nt = calloc(1, sizeof *nt + n * sizeof nt->park[0]);
    if (!nt)
        return -1;
    d->ext = nt;
    nt->npark = n;
    nt->first = first;
    uint64_t *r = &d->rng;
    /* Orion subscription ids look like MongoDB ObjectIds: 24 hex digits. */
    snprintf(nt->subscription, sizeof nt->subscription, "%08x%016llx",
             (unsigned)(rng_next(r) & 0xffffffffu), (unsigned long long)rng_next(r));
    for (size_t i = 0; i < n; i++) {
        struct park *p = &nt->park[i];
        size_t g = first + i;
        const struct park_site *site = &SITES[g % NSITES];
        if (g < NSITES)
            snprintf(p->name, sizeof p->name, "%s", site->name);
        else
            snprintf(p->name, sizeof p->name, "%s %zu", site->name, g / NSITES + 1);
        p->kind = site->kind;
        p->total = g < NSITES ? site->total : (int)rng_int(r, 40, 250);
        p->lat = site->lat + (g < NSITES ? 0.0 : rng_range(r, -0.01, 0.01));
        p->lon = site->lon + (g < NSITES ? 0.0 : rng_range(r, -0.01, 0.01));
        p->busy = rng_range(r, 0.85, 1.1);
        p->occ = -1.0; /* set from the time of day on the first notification */
    }
    snprintf(d->id, sizeof d->id, "ngsi");
    return device_topic(d, fs->prefix, "parking", "ngsi", "notify");
}

int parking_emit(struct device *d, const struct sample *s, struct emit *e)
{
    struct notifier *nt = d->ext;
    uint64_t *r = &d->rng;
    int wd = local_weekday(s->now_ms);
    char iso[32];
    if (format_utc_iso(s->now_ms, iso, sizeof iso) != 0)
        return -1;
    struct sbuf b;
    sb_init(&b, e->buf, e->cap);
    sb_printf(&b, "{\"subscriptionId\":\"%s\",\"data\":[", nt->subscription);
    for (size_t i = 0; i < nt->npark; i++) {
        struct park *p = &nt->park[i];
        double target = p->total * clampd(fill(p->kind, s->hour, wd) * p->busy, 0.0, 0.99);
        if (p->occ < 0.0)
            p->occ = target;
        /* Cars come and go: drift towards the rhythm, plus arrivals' and departures' noise. */
        p->occ += (target - p->occ) * (1.0 - exp(-s->dt_s / 900.0)) +
                  1.2 * sqrt(s->dt_s / 30.0) * rng_normal(r);
        p->occ = clampd(p->occ, 0.0, p->total);
        long taken = lround(p->occ);
        long avail = p->total - taken;
        sb_printf(&b, "%s{\"id\":\"urn:ngsi-ld:OffStreetParking:GL-PK%02zu\","
                      "\"type\":\"OffStreetParking\",\"name\":{\"type\":\"Text\",\"value\":",
                  i ? "," : "", nt->first + i + 1);
        sb_json_string(&b, p->name);
        sb_printf(&b, "},\"availableSpotNumber\":{\"type\":\"Number\",\"value\":%ld,"
                      "\"metadata\":{\"timestamp\":{\"type\":\"DateTime\",\"value\":\"%s\"}}},"
                      "\"totalSpotNumber\":{\"type\":\"Number\",\"value\":%d},"
                      "\"occupancy\":{\"type\":\"Number\",\"value\":%.2f},"
                      "\"dateObserved\":{\"type\":\"DateTime\",\"value\":\"%s\"},"
                      "\"location\":{\"type\":\"geo:json\",\"value\":{\"type\":\"Point\","
                      "\"coordinates\":[%.4f,%.4f]}}}",
                  avail, iso, p->total, (double)taken / p->total, iso, p->lon, p->lat);
    }
    sb_puts(&b, "]}");
    return emit_sbuf(e, &b);
}

/* One registry row per car park, as the ngsi adapter names it (the entity
 * id), at the position its notifications carry. */
int parking_registry(const struct device *d, sim_registry_row_fn row, void *ud)
{
    const struct notifier *nt = d->ext;
    static const char *const kinds[K_KINDS] = {"square", "market", "hospital", "mall", "office",
                                               "bus-station"};
    for (size_t i = 0; i < nt->npark; i++) {
        const struct park *p = &nt->park[i];
        char id[64];
        snprintf(id, sizeof id, "urn:ngsi-ld:OffStreetParking:GL-PK%02zu", nt->first + i + 1);
        const struct sim_registry_row r = {id, p->name, WARDS[ward_nearest(p->lat, p->lon)].name,
                                           kinds[p->kind], p->lat, p->lon};
        int rc = row(ud, &r);
        if (rc)
            return rc;
    }
    return 0;
}
