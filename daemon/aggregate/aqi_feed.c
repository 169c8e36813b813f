/* daemon/aggregate/aqi_feed.c — hourly means per station into VN_AQI (see aqi_feed.h). */
#include "daemon/aggregate/aqi_feed.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/aggregate/vn_aqi.h"
#include "daemon/base/timeutil.h"

#define AQI_MAX_STATIONS 10000
#define AQI_HOURS IOCD_AQI_RING_HOURS
#define AQI_DAYS 4

struct hour_sum {
    int64_t hour; /* hour index (ms / 1 h); INT64_MIN empty */
    double sum;
    uint32_t count;
};

/* What is known of one hour of one station. */
struct hour_state {
    int64_t hour;            /* hour index; INT64_MIN empty */
    int64_t last_arrival_ms; /* monotonic clock of its newest sample */
    bool data;               /* some pollutant sample arrived for it */
    bool computed;           /* its VN_AQI was computed (emitted or not) */
    bool dirty;              /* a sample arrived after it was computed */
    bool redo;               /* to compute again in this tick */
    bool emitted;            /* `value` was emitted (or restored) */
    double value;            /* the hour's VN_AQI as last emitted */
};

struct day_state {
    int64_t day; /* local midnight, local time scale; INT64_MIN empty */
    bool computed;
    bool redo;    /* to compute again in this tick */
    bool emitted; /* `value` was emitted (or restored) */
    double value; /* the day's VN_AQI as last emitted */
};

struct station {
    char id[129];
    struct hour_sum sums[IOCD_AQI__COUNT][AQI_HOURS];
    struct hour_state hours[AQI_HOURS];
    struct day_state days[AQI_DAYS];
    struct iocd_aqi_station tracker;
    int64_t newest_hour;     /* newest hour index with data; INT64_MIN none */
    int64_t last_arrival_ms; /* monotonic clock of the station's newest sample */
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

void iocd_aqi_feed_set_adapter(struct iocd_aqi_feed *f, int idx)
{
    if (f)
        f->adapter = idx;
}

static size_t slot_of(int64_t hour)
{
    return (size_t)(((hour % AQI_HOURS) + AQI_HOURS) % AQI_HOURS);
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
    for (int h = 0; h < AQI_HOURS; h++)
        s->hours[h].hour = INT64_MIN;
    for (int d = 0; d < AQI_DAYS; d++)
        s->days[d].day = INT64_MIN;
    iocd_aqi_station_init(&s->tracker);
    s->newest_hour = INT64_MIN;
    s->last_arrival_ms = INT64_MIN;
    f->stations[f->n_stations++] = s;
    return s;
}

/* The state of `hour`; with `create`, a fresh one replacing an older hour
 * in its slot. NULL when unknown (or older than the ring). */
static struct hour_state *hour_get(struct station *s, int64_t hour, bool create)
{
    struct hour_state *hs = &s->hours[slot_of(hour)];
    if (hs->hour == hour)
        return hs;
    if (!create || (hs->hour != INT64_MIN && hs->hour > hour))
        return NULL;
    hs->hour = hour;
    hs->last_arrival_ms = INT64_MIN;
    hs->data = false;
    hs->computed = hs->dirty = hs->redo = hs->emitted = false;
    return hs;
}

static struct day_state *day_get(struct station *s, int64_t day)
{
    size_t i = (size_t)((iocd_time_floor_div(day, IOCD_AQI_DAY_MS) % AQI_DAYS + AQI_DAYS) % AQI_DAYS);
    struct day_state *ds = &s->days[i];
    if (ds->day != day) {
        if (ds->day != INT64_MIN && ds->day > day)
            return NULL;
        ds->day = day;
        ds->computed = ds->redo = ds->emitted = false;
    }
    return ds;
}

static void note_data(struct station *s, int64_t hour, int64_t arrival_ms)
{
    struct hour_state *hs = hour_get(s, hour, true);
    if (hs) {
        hs->data = true;
        hs->last_arrival_ms = arrival_ms;
    }
    if (s->newest_hour == INT64_MIN || hour > s->newest_hour)
        s->newest_hour = hour;
    s->last_arrival_ms = arrival_ms;
}

static int pollutant_of(const struct iocd_aqi_feed *f, const char *metric)
{
    for (int i = 0; i < IOCD_AQI__COUNT; i++)
        if (f->metric[i][0] && strcmp(f->metric[i], metric) == 0)
            return i;
    return -1;
}

void iocd_aqi_feed_sample(struct iocd_aqi_feed *f, const char *station, const char *metric,
                          int64_t t_ms, double value, int64_t arrival_ms)
{
    if (!f)
        return;
    int p = pollutant_of(f, metric);
    if (p < 0 || value < 0)
        return;
    struct station *s = find_station(f, station);
    if (!s)
        return;
    int64_t hour = iocd_time_floor_div(t_ms, IOCD_AQI_HOUR_MS);
    struct hour_state *st = hour_get(s, hour, true);
    if (!st)
        return; /* older than the ring: too late for the AQI (documented) */
    struct hour_sum *hs = &s->sums[p][slot_of(hour)];
    if (hs->hour != hour) {
        if (hs->hour != INT64_MIN && hs->hour > hour)
            return; /* older than the ring */
        hs->hour = hour;
        hs->sum = 0;
        hs->count = 0;
    }
    hs->sum += value;
    hs->count++;
    note_data(s, hour, arrival_ms);
    if (st->computed)
        st->dirty = true; /* late: compute it again once it settles */
}

void iocd_aqi_feed_restore(struct iocd_aqi_feed *f, const char *station, const char *metric,
                           int64_t hour_start_ms, uint64_t count, double sum, int64_t arrival_ms)
{
    if (!f || !count)
        return;
    int64_t hour = iocd_time_floor_div(hour_start_ms, IOCD_AQI_HOUR_MS);
    bool is_hour = strcmp(metric, "vn_aqi") == 0, is_day = strcmp(metric, "vn_aqi_day") == 0;
    int p = is_hour || is_day ? -1 : pollutant_of(f, metric);
    if (!is_hour && !is_day && p < 0)
        return;
    struct station *s = find_station(f, station);
    if (!s)
        return;
    if (is_hour) {
        struct hour_state *hs = hour_get(s, hour, true);
        if (hs) {
            hs->computed = hs->emitted = true;
            hs->value = sum / (double)count;
        }
        return;
    }
    if (is_day) {
        struct day_state *ds = day_get(s, hour_start_ms + f->tz_ms);
        if (ds) {
            ds->computed = ds->emitted = true;
            ds->value = sum / (double)count;
        }
        return;
    }
    struct hour_sum *hs = &s->sums[p][slot_of(hour)];
    if (hs->hour != INT64_MIN && hs->hour > hour)
        return;
    hs->hour = hour;
    hs->sum = sum;
    hs->count = (uint32_t)count;
    /* As if it had just arrived: the rest of an hour a restart cut may
     * still be queued at the broker. */
    note_data(s, hour, arrival_ms);
}

void iocd_aqi_feed_replayed(struct iocd_aqi_feed *f, const char *station, const char *metric,
                            int64_t t_ms, double value, int64_t arrival_ms)
{
    if (!f)
        return;
    if (strcmp(metric, "vn_aqi") == 0 || strcmp(metric, "vn_aqi_day") == 0)
        iocd_aqi_feed_restore(f, station, metric, t_ms, 1, value, arrival_ms);
    else
        iocd_aqi_feed_sample(f, station, metric, t_ms, value, arrival_ms);
}

/* Hand the tracker every hour the ring holds in [from, to]; a put replaces
 * the same hour, so this is the same whatever order hours came in. */
static void put_hours(struct station *s, int64_t from, int64_t to)
{
    for (int64_t h = from; h <= to; h++)
        for (int p = 0; p < IOCD_AQI__COUNT; p++) {
            const struct hour_sum *hs = &s->sums[p][slot_of(h)];
            if (hs->hour == h && hs->count)
                iocd_aqi_station_put_hour(&s->tracker, (enum iocd_aqi_pollutant)p,
                                          h * IOCD_AQI_HOUR_MS, hs->sum / hs->count, 1);
        }
}

/* Emit `v` for a hour or day whose last emitted value is (*emitted,
 * *value): new when there was none, a correction when it differs, nothing
 * when it is the same. */
static void publish(struct station *s, const char *metric, int64_t t_ms, double v, bool *emitted,
                    double *value, iocd_aqi_emit_cb emit, void *ud)
{
    if (*emitted && *value == v)
        return;
    emit(ud, s->id, metric, t_ms, v, *emitted);
    *emitted = true;
    *value = v;
}

/* The day's AQI^d from the hours the ring holds; false when none. */
static bool day_value(struct iocd_aqi_feed *f, struct station *s, int64_t day, double *v)
{
    int64_t first = iocd_time_floor_div(day - f->tz_ms, IOCD_AQI_HOUR_MS);
    put_hours(s, first - 7, first + 23); /* O3's 8-h means reach 7 h back */
    struct iocd_aqi_result r;
    if (iocd_aqi_station_daily(&s->tracker, day, f->tz_ms, &r) != 0)
        return false;
    *v = (double)r.aqi;
    return true;
}

/* The hour's AQI^h from the 12 hours the NowCast uses; false when none. */
static bool hour_value(struct station *s, int64_t hour, double *v)
{
    put_hours(s, hour - 11, hour);
    struct iocd_aqi_result r;
    if (iocd_aqi_station_hourly(&s->tracker, hour * IOCD_AQI_HOUR_MS, &r) != 0)
        return false;
    *v = (double)r.aqi;
    return true;
}

static void compute_day(struct iocd_aqi_feed *f, struct station *s, int64_t day,
                        iocd_aqi_emit_cb emit, void *ud)
{
    struct day_state *ds = day_get(s, day);
    if (!ds || (ds->computed && !ds->redo))
        return;
    double v;
    if (day_value(f, s, day, &v))
        publish(s, "vn_aqi_day", day - f->tz_ms, v, &ds->emitted, &ds->value, emit, ud);
    ds->computed = true;
    ds->redo = false;
}

static void compute_hour(struct iocd_aqi_feed *f, struct station *s, int64_t hour,
                         iocd_aqi_emit_cb emit, void *ud)
{
    struct hour_state *hs = hour_get(s, hour, true);
    double v;
    if (hour_value(s, hour, &v) && hs)
        publish(s, "vn_aqi", hour * IOCD_AQI_HOUR_MS, v, &hs->emitted, &hs->value, emit, ud);
    if (hs) {
        hs->computed = true;
        hs->redo = false;
    }
    /* The last hour of a local day: the day is complete too. */
    int64_t end_local = (hour + 1) * IOCD_AQI_HOUR_MS + f->tz_ms;
    if (end_local % IOCD_AQI_DAY_MS == 0)
        compute_day(f, s, end_local - IOCD_AQI_DAY_MS, emit, ud);
}

/* Late samples: every computed hour that got some and has settled again
 * is computed again, with every later computed hour whose NowCast it
 * feeds (11 after it) and every computed local day its hourly means and
 * O3's 8-h means reach (the days of it and the 7 hours after it), oldest
 * first. Only values that changed are emitted (publish). */
static void redo_late(struct iocd_aqi_feed *f, struct station *s, int64_t mono_ms,
                      iocd_aqi_emit_cb emit, void *ud)
{
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (int i = 0; i < AQI_HOURS; i++) {
        struct hour_state *hs = &s->hours[i];
        if (hs->hour == INT64_MIN || !hs->dirty || !hs->computed ||
            mono_ms - hs->last_arrival_ms < IOCD_AQI_SETTLE_MS)
            continue;
        hs->dirty = false;
        for (int64_t k = hs->hour; k <= hs->hour + 11; k++) {
            struct hour_state *ks = &s->hours[slot_of(k)];
            if (ks->hour != k || !ks->computed)
                continue;
            ks->redo = true;
            lo = k < lo ? k : lo;
            hi = k > hi ? k : hi;
        }
        for (int64_t k = hs->hour; k <= hs->hour + 7; k++) {
            int64_t day = iocd_time_floor_div(k * IOCD_AQI_HOUR_MS + f->tz_ms, IOCD_AQI_DAY_MS) *
                          IOCD_AQI_DAY_MS;
            for (int d = 0; d < AQI_DAYS; d++)
                if (s->days[d].day == day && s->days[d].computed)
                    s->days[d].redo = true;
        }
    }
    for (int64_t k = lo; k <= hi && lo != INT64_MAX; k++) {
        struct hour_state *ks = &s->hours[slot_of(k)];
        if (ks->hour != k || !ks->redo)
            continue;
        double v;
        if (hour_value(s, k, &v))
            publish(s, "vn_aqi", k * IOCD_AQI_HOUR_MS, v, &ks->emitted, &ks->value, emit, ud);
        ks->redo = false;
    }
    for (;;) { /* days oldest first */
        struct day_state *next = NULL;
        for (int d = 0; d < AQI_DAYS; d++)
            if (s->days[d].day != INT64_MIN && s->days[d].redo &&
                (!next || s->days[d].day < next->day))
                next = &s->days[d];
        if (!next)
            break;
        compute_day(f, s, next->day, emit, ud);
    }
}

/* Is an hour without data complete? When a later hour with data has
 * settled (or was computed), or nothing at all arrived for a while. */
static bool empty_hour_done(const struct station *s, int64_t hour, int64_t mono_ms)
{
    if (mono_ms - s->last_arrival_ms >= IOCD_AQI_SETTLE_MS)
        return true;
    for (int64_t k = hour + 1; k <= s->newest_hour; k++) {
        const struct hour_state *hs = &s->hours[slot_of(k)];
        if (hs->hour == k && hs->data)
            return hs->computed || mono_ms - hs->last_arrival_ms >= IOCD_AQI_SETTLE_MS;
    }
    return false;
}

/* Where a station's scan starts: right after the newest computed hour
 * below the oldest uncomputed hour with data (so gaps between computed
 * hours are filled), else at that hour; INT64_MIN when nothing is due. */
static int64_t scan_start(const struct station *s, int64_t lo, int64_t hi)
{
    int64_t oldest = INT64_MAX, computed = INT64_MIN;
    for (int64_t h = lo; h < hi && h <= s->newest_hour; h++) {
        const struct hour_state *hs = &s->hours[slot_of(h)];
        if (hs->hour != h)
            continue;
        if (hs->data && !hs->computed) {
            oldest = h;
            break;
        }
        if (hs->computed)
            computed = h;
    }
    if (computed != INT64_MIN)
        return computed + 1;
    return oldest != INT64_MAX ? oldest : INT64_MIN;
}

/* Compute, oldest first, every hour not computed yet that is complete. */
static void compute_new(struct iocd_aqi_feed *f, struct station *s, int64_t now_ms,
                        int64_t mono_ms, iocd_aqi_emit_cb emit, void *ud)
{
    if (s->newest_hour == INT64_MIN)
        return;
    /* Hours that ended at least `delay` ago (wall clock), and not further
     * than a day past the newest data: the station's last day completes. */
    int64_t hi = iocd_time_floor_div(now_ms - f->delay_ms, IOCD_AQI_HOUR_MS);
    if (hi > s->newest_hour + 25)
        hi = s->newest_hour + 25;
    int64_t lo = s->newest_hour - AQI_HOURS + 1;
    int64_t h = scan_start(s, lo, hi);
    if (h == INT64_MIN)
        return;
    for (; h < hi; h++) {
        const struct hour_state *hs = &s->hours[slot_of(h)];
        bool known = hs->hour == h;
        if (known && hs->computed)
            continue;
        if (known && hs->data) {
            if (mono_ms - hs->last_arrival_ms < IOCD_AQI_SETTLE_MS)
                break; /* its samples are still arriving */
        } else if (!empty_hour_done(s, h, mono_ms)) {
            break; /* a backlog may not have reached it yet */
        }
        compute_hour(f, s, h, emit, ud);
    }
}

static void tick_station(struct iocd_aqi_feed *f, struct station *s, int64_t now_ms,
                         int64_t mono_ms, iocd_aqi_emit_cb emit, void *ud)
{
    compute_new(f, s, now_ms, mono_ms, emit, ud);
    redo_late(f, s, mono_ms, emit, ud);
}

void iocd_aqi_feed_tick(struct iocd_aqi_feed *f, int64_t now_ms, int64_t mono_ms,
                        iocd_aqi_emit_cb emit, void *ud)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n_stations; i++)
        tick_station(f, f->stations[i], now_ms, mono_ms, emit, ud);
}
