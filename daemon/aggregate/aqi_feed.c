/* daemon/aggregate/aqi_feed.c — hourly means per station into VN_AQI (see aqi_feed.h). */
#include "daemon/aggregate/aqi_feed.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/aggregate/vn_aqi.h"
#include "daemon/base/timeutil.h"

#define AQI_MAX_STATIONS 10000
#define AQI_HOURS IOCD_AQI_RING_HOURS

struct hour_sum {
    int64_t hour; /* hour index (ms / 1 h); INT64_MIN empty */
    double sum;
    uint32_t count;
};

struct station {
    char id[129];
    struct hour_sum sums[IOCD_AQI__COUNT][AQI_HOURS];
    struct iocd_aqi_station tracker;
    int64_t first_hour; /* first hour index with data; INT64_MAX none */
    int64_t next_hour;  /* first hour not yet computed */
    int64_t next_day;   /* first local day (local-scale ms) not yet computed */
};

struct iocd_aqi_feed {
    int adapter;
    const char *metric[IOCD_AQI__COUNT]; /* borrowed from the config */
    int64_t delay_ms, tz_ms;
    struct station **stations;
    size_t n_stations, cap_stations;
};

struct iocd_aqi_feed *iocd_aqi_feed_new(const struct iocd_config *cfg)
{
    if (!cfg->aqi.adapter[0])
        return NULL;
    int idx = -1;
    for (int i = 0; i < cfg->n_adapters; i++)
        if (strcmp(cfg->adapters[i].name, cfg->aqi.adapter) == 0)
            idx = i;
    if (idx < 0)
        return NULL;
    struct iocd_aqi_feed *f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    f->adapter = idx;
    f->metric[IOCD_AQI_PM25] = cfg->aqi.pm25;
    f->metric[IOCD_AQI_PM10] = cfg->aqi.pm10;
    f->metric[IOCD_AQI_O3] = cfg->aqi.o3;
    f->metric[IOCD_AQI_CO] = cfg->aqi.co;
    f->metric[IOCD_AQI_SO2] = cfg->aqi.so2;
    f->metric[IOCD_AQI_NO2] = cfg->aqi.no2;
    f->delay_ms = cfg->aqi.delay_ms;
    f->tz_ms = cfg->store.tz_offset_ms;
    return f;
}

void iocd_aqi_feed_free(struct iocd_aqi_feed *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n_stations; i++)
        free(f->stations[i]);
    free(f->stations);
    free(f);
}

int iocd_aqi_feed_adapter(const struct iocd_aqi_feed *f)
{
    return f ? f->adapter : -1;
}

static struct station *find_station(struct iocd_aqi_feed *f, const char *id)
{
    for (size_t i = 0; i < f->n_stations; i++)
        if (strcmp(f->stations[i]->id, id) == 0)
            return f->stations[i];
    if (f->n_stations >= AQI_MAX_STATIONS || strlen(id) >= sizeof(f->stations[0]->id))
        return NULL;
    if (f->n_stations == f->cap_stations) {
        size_t ncap = f->cap_stations ? f->cap_stations * 2 : 16;
        struct station **ns = realloc(f->stations, ncap * sizeof(*ns));
        if (!ns)
            return NULL;
        f->stations = ns;
        f->cap_stations = ncap;
    }
    struct station *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    strcpy(s->id, id);
    for (int p = 0; p < IOCD_AQI__COUNT; p++)
        for (int h = 0; h < AQI_HOURS; h++)
            s->sums[p][h].hour = INT64_MIN;
    iocd_aqi_station_init(&s->tracker);
    s->first_hour = INT64_MAX;
    s->next_hour = INT64_MIN;
    s->next_day = INT64_MIN;
    f->stations[f->n_stations++] = s;
    return s;
}

void iocd_aqi_feed_sample(struct iocd_aqi_feed *f, const char *station, const char *metric,
                          int64_t t_ms, double value)
{
    if (!f)
        return;
    int p = -1;
    for (int i = 0; i < IOCD_AQI__COUNT; i++)
        if (f->metric[i][0] && strcmp(f->metric[i], metric) == 0)
            p = i;
    if (p < 0 || value < 0)
        return;
    struct station *s = find_station(f, station);
    if (!s)
        return;
    int64_t hour = iocd_time_floor_div(t_ms, IOCD_AQI_HOUR_MS);
    if (s->next_hour != INT64_MIN && hour < s->next_hour)
        return; /* already computed: late for the AQI (documented) */
    struct hour_sum *hs = &s->sums[p][(size_t)(((hour % AQI_HOURS) + AQI_HOURS) % AQI_HOURS)];
    if (hs->hour != hour) {
        if (hs->hour != INT64_MIN && hs->hour > hour)
            return; /* older than the ring */
        hs->hour = hour;
        hs->sum = 0;
        hs->count = 0;
    }
    hs->sum += value;
    hs->count++;
    if (hour < s->first_hour)
        s->first_hour = hour;
}

void iocd_aqi_feed_restore(struct iocd_aqi_feed *f, const char *station, const char *metric,
                           int64_t hour_start_ms, uint64_t count, double sum)
{
    if (!f || !count)
        return;
    int64_t hour = iocd_time_floor_div(hour_start_ms, IOCD_AQI_HOUR_MS);
    if (strcmp(metric, "vn_aqi") == 0) {
        struct station *s = find_station(f, station);
        if (s && (s->next_hour == INT64_MIN || hour + 1 > s->next_hour))
            s->next_hour = hour + 1;
        return;
    }
    for (int p = 0; p < IOCD_AQI__COUNT; p++) {
        if (!f->metric[p][0] || strcmp(f->metric[p], metric) != 0)
            continue;
        struct station *s = find_station(f, station);
        if (!s)
            return;
        struct hour_sum *hs = &s->sums[p][(size_t)(((hour % AQI_HOURS) + AQI_HOURS) % AQI_HOURS)];
        hs->hour = hour;
        hs->sum = sum;
        hs->count = (uint32_t)count;
        if (hour < s->first_hour)
            s->first_hour = hour;
        /* Hours before the last computed one feed the NowCast history. */
        if (s->next_hour != INT64_MIN && hour < s->next_hour)
            iocd_aqi_station_put_hour(&s->tracker, (enum iocd_aqi_pollutant)p,
                                      hour * IOCD_AQI_HOUR_MS, sum / (double)count, 1);
    }
}

static void compute_hour(struct iocd_aqi_feed *f, struct station *s, int64_t hour,
                         iocd_aqi_emit_cb emit, void *ud)
{
    for (int p = 0; p < IOCD_AQI__COUNT; p++) {
        const struct hour_sum *hs = &s->sums[p][(size_t)(((hour % AQI_HOURS) + AQI_HOURS) % AQI_HOURS)];
        if (hs->hour == hour && hs->count)
            iocd_aqi_station_put_hour(&s->tracker, (enum iocd_aqi_pollutant)p,
                                      hour * IOCD_AQI_HOUR_MS, hs->sum / hs->count, 1);
    }
    struct iocd_aqi_result r;
    if (iocd_aqi_station_hourly(&s->tracker, hour * IOCD_AQI_HOUR_MS, &r) == 0)
        emit(ud, s->id, "vn_aqi", hour * IOCD_AQI_HOUR_MS, (double)r.aqi);
    (void)f;
}

void iocd_aqi_feed_tick(struct iocd_aqi_feed *f, int64_t now_ms, iocd_aqi_emit_cb emit, void *ud)
{
    if (!f)
        return;
    /* Hours whose end is at least `delay` ago are complete. */
    int64_t done_below = iocd_time_floor_div(now_ms - f->delay_ms, IOCD_AQI_HOUR_MS);
    for (size_t i = 0; i < f->n_stations; i++) {
        struct station *s = f->stations[i];
        if (s->first_hour == INT64_MAX)
            continue;
        if (s->next_hour == INT64_MIN)
            s->next_hour = s->first_hour;
        /* Never more than the ring back: older hours are gone anyway. */
        if (s->next_hour < done_below - AQI_HOURS)
            s->next_hour = done_below - AQI_HOURS;
        int64_t last_done = s->next_hour;
        for (int64_t h = s->next_hour; h < done_below; h++) {
            compute_hour(f, s, h, emit, ud);
            last_done = h + 1;
        }
        s->next_hour = last_done;
        /* Local days whose every hour is computed. */
        int64_t first_local_ms = s->first_hour * IOCD_AQI_HOUR_MS + f->tz_ms;
        if (s->next_day == INT64_MIN)
            s->next_day = iocd_time_floor_div(first_local_ms, IOCD_AQI_DAY_MS) * IOCD_AQI_DAY_MS;
        int64_t computed_local_end = s->next_hour * IOCD_AQI_HOUR_MS + f->tz_ms;
        while (s->next_day + IOCD_AQI_DAY_MS <= computed_local_end) {
            struct iocd_aqi_result r;
            if (iocd_aqi_station_daily(&s->tracker, s->next_day, f->tz_ms, &r) == 0)
                emit(ud, s->id, "vn_aqi_day", s->next_day - f->tz_ms, (double)r.aqi);
            s->next_day += IOCD_AQI_DAY_MS;
        }
    }
}
