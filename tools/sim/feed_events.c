/*
 * tools/sim/feed_events.c: iocd-sim's two Poisson event feeds, JSON over MQTT.
 *
 * violations: traffic-enforcement cameras, <prefix>/violations/<id>/event;
 * each camera is its own Poisson process whose rate follows the traffic
 * (red-light and helmet offences by day, speeding at night).
 * fire: fire-alarm panels, <prefix>/fire/<id>/alarm; rare, mostly FAULT
 * and weekday-daytime TEST events, PREALARM around cooking times, FIRE
 * seldom. Priority 1 = FIRE, 2 = PREALARM, 3 = FAULT, 4 = TEST.
 *
 * Each call publishes one event and draws the time to the next one from the
 * device's PRNG (poisson_gap_us), in real time and in fast replay alike.
 */
#include "sim.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------- violations -- */

enum { V_RED_LIGHT, V_SPEEDING, V_WRONG_LANE, V_PARKING, V_NO_HELMET, V_TYPES };
static const char *const VIOLATION_TYPES[V_TYPES] = {
    "red_light", "speeding", "wrong_lane", "illegal_parking", "no_helmet",
};

static double night_share(double h)
{
    return 1.0 - sigmoid((h - 5.5) / 0.7) * sigmoid((22.0 - h) / 0.7);
}

static double violation_shape(int64_t ms)
{
    return 0.1 + traffic_profile(local_hour(ms));
}

static struct rate_profile violation_rate = { violation_shape, 0.0, 0.0 };

int violation_init(struct device *d, const struct feed_setup *fs)
{
    struct camera_state *c = &d->st.camera;
    uint64_t *r = &d->rng;
    c->ward = (size_t)rng_int(r, 0, (long)NWARDS - 1);
    c->lat = WARDS[c->ward].lat + rng_range(r, -0.005, 0.005);
    c->lon = WARDS[c->ward].lon + rng_range(r, -0.005, 0.005);
    static const double LIMIT_W[3] = { 0.3, 0.45, 0.25 };
    static const int LIMITS[3] = { 40, 50, 60 };
    c->limit_kmh = LIMITS[rng_pick(r, LIMIT_W, 3)];
    c->lanes = (int)rng_int(r, 2, 4);
    d->next_due_us = poisson_gap_us(r, fs->start_ms, fs->interval_s, &violation_rate);
    return 0;
}

int violation_emit(struct device *d, const struct sample *s, struct emit *e)
{
    struct camera_state *c = &d->st.camera;
    uint64_t *r = &d->rng;
    double night = night_share(s->hour);
    double w[V_TYPES] = {
        [V_RED_LIGHT] = 0.30,
        [V_SPEEDING] = 0.18 + 0.35 * night,
        [V_WRONG_LANE] = 0.14,
        [V_PARKING] = 0.18 * (1.0 - night),
        [V_NO_HELMET] = 0.20 * (1.0 - 0.5 * night),
    };
    size_t type = rng_pick(r, w, V_TYPES);
    double speed;
    switch (type) {
    case V_SPEEDING:
        speed = c->limit_kmh + clampd(3.0 + 10.0 * exp(0.6 * rng_normal(r)), 3.0, 70.0);
        break;
    case V_PARKING:
        speed = 0.0;
        break;
    case V_RED_LIGHT:
        speed = rng_range(r, 18.0, (double)c->limit_kmh + 10.0);
        break;
    default:
        speed = rng_range(r, 15.0, (double)c->limit_kmh + 5.0);
        break;
    }
    static const double SERIES_W[3] = { 0.6, 0.15, 0.25 };
    char series = "ABC"[rng_pick(r, SERIES_W, 3)];
    long digits = rng_int(r, 0, 99999);
    int lane = (int)rng_int(r, 1, c->lanes);
    char ts[40];
    if (format_local_iso(s->now_ms, ts, sizeof ts) != 0)
        return -1;
    struct sbuf b;
    sb_init(&b, e->buf, e->cap);
    sb_printf(&b, "{\"camera\":\"%s\",\"type\":\"%s\",\"plate\":\"81%c-%03ld.%02ld\","
                  "\"speed_kmh\":%.1f,\"limit_kmh\":%d,\"lane\":%d,\"ward\":",
              d->id, VIOLATION_TYPES[type], series, digits / 100, digits % 100, speed,
              c->limit_kmh, lane);
    sb_json_string(&b, WARDS[c->ward].name);
    sb_printf(&b, ",\"time\":\"%s\",\"lat\":%.5f,\"lon\":%.5f}", ts, c->lat, c->lon);
    e->next_gap_us = poisson_gap_us(r, s->now_ms, s->interval_s, &violation_rate);
    return emit_sbuf(e, &b);
}

/* ------------------------------------------------------- fire alarms -- */

enum { F_FIRE, F_PREALARM, F_FAULT, F_TEST, F_EVENTS };
static const char *const FIRE_EVENTS[F_EVENTS] = { "FIRE", "PREALARM", "FAULT", "TEST" };

struct building {
    const char *name, *ward;
};

static const struct building BUILDINGS[] = {
    { "Chợ Trung tâm Pleiku", "Diên Hồng" },
    { "Bệnh viện Đa khoa tỉnh Gia Lai", "Hội Thương" },
    { "Trung tâm Thương mại Pleiku", "Tây Sơn" },
    { "Trụ sở UBND thành phố Pleiku", "Hội Thương" },
    { "Bến xe khách Đức Long Gia Lai", "Chi Lăng" },
    { "Trường THPT Pleiku", "Hoa Lư" },
    { "Nhà thi đấu tỉnh Gia Lai", "Phù Đổng" },
    { "Bảo tàng tỉnh Gia Lai", "Tây Sơn" },
    { "Chung cư Phù Đổng", "Phù Đổng" },
    { "Ký túc xá Đại học Nông Lâm", "Thống Nhất" },
    { "Khách sạn Hùng Vương", "Hội Phú" },
    { "Siêu thị Pleiku", "Hội Phú" },
    { "Nhà văn hóa Yên Thế", "Yên Thế" },
    { "Kho hàng Cụm công nghiệp Thắng Lợi", "Thắng Lợi" },
    { "Nhà ga Cảng hàng không Pleiku", "Thống Nhất" },
};
#define NBUILDINGS (sizeof BUILDINGS / sizeof BUILDINGS[0])

static double fire_weights(int64_t ms, double w[F_EVENTS])
{
    double h = local_hour(ms);
    int wd = local_weekday(ms);
    w[F_FIRE] = 0.02 * (1.0 + bump(h, 18.0, 2.0));
    w[F_PREALARM] = 0.06 * (1.0 + bump(h, 11.5, 1.0) + bump(h, 18.0, 1.2));
    w[F_FAULT] = 0.5 * (1.0 + 0.4 * bump(h, 5.0, 2.0)); /* dawn condensation */
    if (wd >= 1 && wd <= 5 && h >= 8.0 && h < 16.5)
        w[F_TEST] = 1.6;
    else if (wd == 6 && h >= 8.0 && h < 11.0)
        w[F_TEST] = 0.8;
    else
        w[F_TEST] = 0.0;
    return w[F_FIRE] + w[F_PREALARM] + w[F_FAULT] + w[F_TEST];
}

static double fire_shape(int64_t ms)
{
    double w[F_EVENTS];
    return fire_weights(ms, w);
}

static struct rate_profile fire_rate = { fire_shape, 0.0, 0.0 };

int fire_init(struct device *d, const struct feed_setup *fs)
{
    struct panel_state *p = &d->st.panel;
    uint64_t *r = &d->rng;
    p->building = d->unit % NBUILDINGS;
    p->zones = (int)rng_int(r, 4, 16);
    d->next_due_us = poisson_gap_us(r, fs->start_ms, fs->interval_s, &fire_rate);
    return 0;
}

int fire_emit(struct device *d, const struct sample *s, struct emit *e)
{
    struct panel_state *p = &d->st.panel;
    uint64_t *r = &d->rng;
    double w[F_EVENTS];
    fire_weights(s->now_ms, w);
    size_t ev = rng_pick(r, w, F_EVENTS);
    int zone = (int)rng_int(r, 1, p->zones);
    char ts[40];
    if (format_local_iso(s->now_ms, ts, sizeof ts) != 0)
        return -1;
    const struct building *bl = &BUILDINGS[p->building];
    char name[160];
    size_t site = d->unit / NBUILDINGS;
    if (site == 0)
        snprintf(name, sizeof name, "%s", bl->name);
    else
        snprintf(name, sizeof name, "%s (cơ sở %zu)", bl->name, site + 1);
    struct sbuf b;
    sb_init(&b, e->buf, e->cap);
    sb_printf(&b, "{\"panel\":\"%s\",\"zone\":%d,\"event\":\"%s\",\"priority\":%d,\"building\":",
              d->id, zone, FIRE_EVENTS[ev], (int)ev + 1);
    sb_json_string(&b, name);
    sb_puts(&b, ",\"ward\":");
    sb_json_string(&b, bl->ward);
    sb_printf(&b, ",\"time\":\"%s\"}", ts);
    e->next_gap_us = poisson_gap_us(r, s->now_ms, s->interval_s, &fire_rate);
    return emit_sbuf(e, &b);
}

/* A fire-alarm panel's registry row: its building, in the building's ward
 * (near the ward's centre, a fixed offset per panel). */
int fire_registry(const struct device *d, sim_registry_row_fn row, void *ud)
{
    const struct building *b = &BUILDINGS[d->st.panel.building];
    size_t w = ward_index(b->ward);
    char name[160];
    snprintf(name, sizeof name, "Tủ báo cháy %s", b->name);
    double dlat = 0.0004 * (double)((d->unit * 7) % 11) - 0.002;
    double dlon = 0.0004 * (double)((d->unit * 5) % 11) - 0.002;
    const struct sim_registry_row r = {d->id, name, b->ward, "building",
                                       w < NWARDS ? WARDS[w].lat + dlat : PLEIKU_LAT,
                                       w < NWARDS ? WARDS[w].lon + dlon : PLEIKU_LON};
    return row(ud, &r);
}
