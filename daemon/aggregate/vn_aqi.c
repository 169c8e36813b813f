/* daemon/aggregate/vn_aqi.c — VN_AQI per Decision 1459/QĐ-TCMT (see vn_aqi.h).
 *
 * Owns: the breakpoint and category tables and the ring arithmetic of the
 * per-station tracker. Each pollutant's ring is indexed by hour number
 * modulo IOCD_AQI_RING_HOURS and every slot remembers which hour it holds,
 * so late, repeated and missing hours need no shifting: a slot answers for
 * an hour only if it holds exactly that hour and the hour is still within
 * the ring's window below the newest hour put. */
#include "daemon/aggregate/vn_aqi.h"

#include <math.h>
#include <stddef.h>

_Static_assert(sizeof(struct iocd_aqi_station) <= 5 * 1024, "a station should stay a few KiB");

#define EMPTY_HOUR INT64_MIN

/* Table 2: I_i and BP_i (µg/m³), i = 1..8 of the decision. */
static const double index_levels[8] = {0, 50, 100, 150, 200, 300, 400, 500};

struct bp_table {
    int n; /* breakpoints; the last one maps to index_levels[n-1] */
    double bp[8];
};

static const struct bp_table t_pm25 = {8, {0, 25, 50, 80, 150, 250, 350, 500}};
static const struct bp_table t_pm10 = {8, {0, 50, 150, 250, 350, 420, 500, 600}};
static const struct bp_table t_o3_1h = {8, {0, 160, 200, 300, 400, 800, 1000, 1200}};
static const struct bp_table t_o3_8h = {6, {0, 100, 120, 170, 210, 400}};
static const struct bp_table t_co = {8, {0, 10000, 30000, 45000, 60000, 90000, 120000, 150000}};
static const struct bp_table t_so2 = {8, {0, 125, 350, 550, 800, 1600, 2100, 2630}};
static const struct bp_table t_no2 = {8, {0, 100, 200, 700, 1200, 2350, 3100, 3850}};

static const struct bp_table *table_for(int p, int form)
{
    switch (p) {
    case IOCD_AQI_PM25:
        return form == IOCD_AQI_FORM_24H ? &t_pm25 : NULL;
    case IOCD_AQI_PM10:
        return form == IOCD_AQI_FORM_24H ? &t_pm10 : NULL;
    case IOCD_AQI_O3:
        return form == IOCD_AQI_FORM_1H ? &t_o3_1h : form == IOCD_AQI_FORM_8H ? &t_o3_8h : NULL;
    case IOCD_AQI_CO:
        return form == IOCD_AQI_FORM_1H ? &t_co : NULL;
    case IOCD_AQI_SO2:
        return form == IOCD_AQI_FORM_1H ? &t_so2 : NULL;
    case IOCD_AQI_NO2:
        return form == IOCD_AQI_FORM_1H ? &t_no2 : NULL;
    default:
        return NULL;
    }
}

int iocd_aqi_sub_index(enum iocd_aqi_pollutant p, int form, double conc_ugm3, double *aqi)
{
    const struct bp_table *t = table_for((int)p, form);
    if (!t || !aqi)
        return IOCD_AQI_EINVAL;
    double c = conc_ugm3;
    if (!isfinite(c) || c < 0)
        return IOCD_AQI_ENONE;
    int top = t->n - 1;
    if (c >= t->bp[top]) {
        if (t == &t_o3_8h && c > IOCD_AQI_O3_8H_MAX)
            return IOCD_AQI_ENONE;
        *aqi = index_levels[top];
        return 0;
    }
    int i = 0;
    while (c >= t->bp[i + 1])
        i++;
    /* Multiply before dividing: integer-valued breakpoints keep the
     * product exact, so only the division rounds. At c == BP_i the
     * result is exactly I_i. */
    *aqi = index_levels[i] +
           (index_levels[i + 1] - index_levels[i]) * (c - t->bp[i]) / (t->bp[i + 1] - t->bp[i]);
    return 0;
}

int iocd_aqi_round(double aqi)
{
    if (!isfinite(aqi) || aqi < 0 || aqi > 1e9)
        return IOCD_AQI_ENONE;
    return (int)floor(aqi + 0.5 + 1e-9);
}

int iocd_aqi_nowcast(const double *hourly, const unsigned char *valid, int n, double *out)
{
    if (!hourly || !out || n < 1 || n > IOCD_AQI_NOWCAST_HOURS)
        return IOCD_AQI_EINVAL;
    int recent = 0, count = 0;
    double cmin = 0, cmax = 0;
    for (int i = 0; i < n; i++) {
        if (valid && !valid[i])
            continue;
        double c = hourly[i];
        if (!isfinite(c) || c < 0)
            return IOCD_AQI_EINVAL;
        if (count == 0 || c < cmin)
            cmin = c;
        if (count == 0 || c > cmax)
            cmax = c;
        count++;
        if (i < 3)
            recent++;
    }
    if (recent < 2)
        return IOCD_AQI_ENONE;
    if (cmax == 0) {
        *out = 0;
        return 0;
    }
    double w = cmin / cmax;
    if (w <= 0.5)
        w = 0.5;
    double num = 0, den = 0, wi = 1;
    for (int i = 0; i < n; i++, wi *= w) {
        if (valid && !valid[i])
            continue;
        num += wi * hourly[i];
        den += wi;
    }
    *out = num / den;
    return 0;
}

struct category {
    int hi;
    const char *en, *vi, *hex;
};

/* Table 1; RGB codes 0;228;0 255;255;0 255;126;0 255;0;0 143;63;151 126;0;35. */
static const struct category categories[6] = {
    {50, "Good", "Tốt", "#00E400"},
    {100, "Moderate", "Trung bình", "#FFFF00"},
    {150, "Unhealthy for sensitive groups", "Kém", "#FF7E00"},
    {200, "Unhealthy", "Xấu", "#FF0000"},
    {300, "Very unhealthy", "Rất xấu", "#8F3F97"},
    {500, "Hazardous", "Nguy hại", "#7E0023"},
};

const char *iocd_aqi_category(int aqi, const char **vi_name, const char **color_hex)
{
    const struct category *c = NULL;
    if (aqi >= 0) {
        c = &categories[5];
        for (int i = 0; i < 6; i++)
            if (aqi <= categories[i].hi) {
                c = &categories[i];
                break;
            }
    }
    if (vi_name)
        *vi_name = c ? c->vi : NULL;
    if (color_hex)
        *color_hex = c ? c->hex : NULL;
    return c ? c->en : NULL;
}

static int tz_ok(int64_t tz_offset_ms)
{
    return tz_offset_ms % IOCD_AQI_HOUR_MS == 0 && tz_offset_ms >= -14 * IOCD_AQI_HOUR_MS &&
           tz_offset_ms <= 14 * IOCD_AQI_HOUR_MS;
}

int iocd_aqi_floor_local_day(int64_t utc_ms, int64_t tz_offset_ms, int64_t *local_day_start_ms)
{
    if (!local_day_start_ms || !tz_ok(tz_offset_ms) || utc_ms > INT64_MAX - 14 * IOCD_AQI_HOUR_MS ||
        utc_ms < INT64_MIN + 15 * IOCD_AQI_DAY_MS)
        return IOCD_AQI_EINVAL;
    int64_t local = utc_ms + tz_offset_ms;
    int64_t day = local / IOCD_AQI_DAY_MS;
    if (local % IOCD_AQI_DAY_MS < 0)
        day--;
    *local_day_start_ms = day * IOCD_AQI_DAY_MS;
    return 0;
}

/* ---- tracker ---- */

static int slot_of(int64_t hour)
{
    int64_t s = hour % IOCD_AQI_RING_HOURS;
    return (int)(s < 0 ? s + IOCD_AQI_RING_HOURS : s);
}

/* 1 and *mean if the ring holds hour h as valid data; 0 otherwise. */
static int ring_get(const struct iocd_aqi_ring *g, int64_t h, double *mean)
{
    if (g->newest == EMPTY_HOUR || h > g->newest || h <= g->newest - IOCD_AQI_RING_HOURS)
        return 0;
    int s = slot_of(h);
    if (g->hour[s] != h || !g->valid[s])
        return 0;
    *mean = g->mean[s];
    return 1;
}

void iocd_aqi_station_init(struct iocd_aqi_station *st)
{
    if (!st)
        return;
    for (int p = 0; p < IOCD_AQI__COUNT; p++) {
        struct iocd_aqi_ring *g = &st->ring[p];
        g->newest = EMPTY_HOUR;
        for (int s = 0; s < IOCD_AQI_RING_HOURS; s++) {
            g->hour[s] = EMPTY_HOUR;
            g->mean[s] = 0;
            g->valid[s] = 0;
        }
    }
}

int iocd_aqi_station_put_hour(struct iocd_aqi_station *st, enum iocd_aqi_pollutant p,
                              int64_t hour_start_ms, double mean_ugm3, int valid)
{
    if (!st || (int)p < 0 || (int)p >= IOCD_AQI__COUNT || hour_start_ms % IOCD_AQI_HOUR_MS != 0)
        return IOCD_AQI_EINVAL;
    if (valid && (!isfinite(mean_ugm3) || mean_ugm3 < 0))
        return IOCD_AQI_EINVAL;
    struct iocd_aqi_ring *g = &st->ring[p];
    int64_t h = hour_start_ms / IOCD_AQI_HOUR_MS;
    if (g->newest != EMPTY_HOUR && h <= g->newest - IOCD_AQI_RING_HOURS)
        return IOCD_AQI_ESTALE;
    if (g->newest == EMPTY_HOUR || h > g->newest)
        g->newest = h;
    int s = slot_of(h);
    g->hour[s] = h;
    g->mean[s] = valid ? mean_ugm3 : 0;
    g->valid[s] = valid ? 1 : 0;
    return 0;
}

static void result_clear(struct iocd_aqi_result *r)
{
    r->aqi = -1;
    r->aqi_raw = -1;
    r->dominant = -1;
    for (int p = 0; p < IOCD_AQI__COUNT; p++) {
        r->sub[p] = -1;
        r->conc[p] = -1;
        r->form[p] = 0;
        r->hours[p] = 0;
    }
    r->o3_1h_conc = r->o3_1h_sub = -1;
    r->o3_8h_conc = r->o3_8h_sub = -1;
    r->reason = NULL;
}

static int result_invalid(struct iocd_aqi_result *r)
{
    if (r) {
        result_clear(r);
        r->reason = "invalid argument";
    }
    return IOCD_AQI_EINVAL;
}

/* Sets sub/conc/form of p when the concentration has a sub-index. */
static void set_sub(struct iocd_aqi_result *r, int p, int form, double conc)
{
    double s;
    if (iocd_aqi_sub_index((enum iocd_aqi_pollutant)p, form, conc, &s) == 0) {
        r->sub[p] = s;
        r->conc[p] = conc;
        r->form[p] = form;
    }
}

/* The overall index from r->sub[]: the maximum, provided PM has a value. */
static int result_finish(struct iocd_aqi_result *r, const char *why_none)
{
    if (r->sub[IOCD_AQI_PM25] < 0 && r->sub[IOCD_AQI_PM10] < 0) {
        r->reason = why_none;
        return IOCD_AQI_ENONE;
    }
    int best = -1;
    for (int p = 0; p < IOCD_AQI__COUNT; p++)
        if (r->sub[p] >= 0 && (best < 0 || r->sub[p] > r->sub[best]))
            best = p;
    r->dominant = best;
    r->aqi_raw = r->sub[best];
    r->aqi = iocd_aqi_round(r->aqi_raw);
    return 0;
}

int iocd_aqi_station_hourly(const struct iocd_aqi_station *st, int64_t hour_start_ms,
                            struct iocd_aqi_result *r)
{
    if (!st || !r || hour_start_ms % IOCD_AQI_HOUR_MS != 0)
        return result_invalid(r);
    result_clear(r);
    int64_t h = hour_start_ms / IOCD_AQI_HOUR_MS;
    for (int p = 0; p < IOCD_AQI__COUNT; p++) {
        const struct iocd_aqi_ring *g = &st->ring[p];
        if (p == IOCD_AQI_PM25 || p == IOCD_AQI_PM10) {
            double c[IOCD_AQI_NOWCAST_HOURS];
            unsigned char v[IOCD_AQI_NOWCAST_HOURS];
            for (int i = 0; i < IOCD_AQI_NOWCAST_HOURS; i++) {
                c[i] = 0;
                v[i] = (unsigned char)ring_get(g, h - i, &c[i]);
                r->hours[p] += v[i];
            }
            double nc;
            if (iocd_aqi_nowcast(c, v, IOCD_AQI_NOWCAST_HOURS, &nc) == 0)
                set_sub(r, p, IOCD_AQI_FORM_NOWCAST, nc);
        } else {
            double c;
            if (ring_get(g, h, &c)) {
                r->hours[p] = 1;
                set_sub(r, p, IOCD_AQI_FORM_1H, c);
            }
        }
    }
    r->o3_1h_conc = r->conc[IOCD_AQI_O3];
    r->o3_1h_sub = r->sub[IOCD_AQI_O3];
    return result_finish(r, "no PM data");
}

/* O3's daily maximum 8-h mean: each of the day's 24 hours ends an 8-h
 * window; a window needs IOCD_AQI_8H_MIN_HOURS valid hours (mean of those),
 * the day IOCD_AQI_DAILY_MIN_8H valid windows. 1 and *max, or 0. */
static int daily_max_8h(const struct iocd_aqi_ring *g, int64_t first, double *max)
{
    int windows = 0;
    for (int k = 0; k < 24; k++) {
        double sum = 0, c;
        int n = 0;
        for (int j = 0; j < 8; j++)
            if (ring_get(g, first + k - j, &c)) {
                sum += c;
                n++;
            }
        if (n < IOCD_AQI_8H_MIN_HOURS)
            continue;
        double mean = sum / n;
        if (windows == 0 || mean > *max)
            *max = mean;
        windows++;
    }
    return windows >= IOCD_AQI_DAILY_MIN_8H;
}

int iocd_aqi_station_daily(const struct iocd_aqi_station *st, int64_t local_day_start_ms,
                           int64_t tz_offset_ms, struct iocd_aqi_result *r)
{
    if (!st || !r || local_day_start_ms % IOCD_AQI_DAY_MS != 0 || !tz_ok(tz_offset_ms))
        return result_invalid(r);
    result_clear(r);
    /* UTC hour index of the day's first hour; no overflow: both terms are
     * far below 2^62 in magnitude once divided by an hour. */
    int64_t first = local_day_start_ms / IOCD_AQI_HOUR_MS - tz_offset_ms / IOCD_AQI_HOUR_MS;
    int pm_evicted = 0;
    for (int p = 0; p < IOCD_AQI__COUNT; p++) {
        const struct iocd_aqi_ring *g = &st->ring[p];
        int is_pm = p == IOCD_AQI_PM25 || p == IOCD_AQI_PM10;
        int64_t need = p == IOCD_AQI_O3 ? first - 7 : first; /* earliest hour used */
        if (g->newest != EMPTY_HOUR && need <= g->newest - IOCD_AQI_RING_HOURS) {
            pm_evicted |= is_pm;
            continue;
        }
        double sum = 0, max = 0, c;
        int n = 0;
        for (int k = 0; k < 24; k++)
            if (ring_get(g, first + k, &c)) {
                sum += c;
                if (n == 0 || c > max)
                    max = c;
                n++;
            }
        r->hours[p] = n;
        int enough = n >= IOCD_AQI_DAILY_MIN_HOURS;
        if (is_pm) {
            if (enough)
                set_sub(r, p, IOCD_AQI_FORM_24H, sum / n);
        } else if (p != IOCD_AQI_O3) {
            if (enough)
                set_sub(r, p, IOCD_AQI_FORM_1H, max);
        } else {
            double s, max8 = 0;
            if (enough && iocd_aqi_sub_index(IOCD_AQI_O3, IOCD_AQI_FORM_1H, max, &s) == 0) {
                r->o3_1h_conc = max;
                r->o3_1h_sub = s;
            }
            if (daily_max_8h(g, first, &max8)) {
                r->o3_8h_conc = max8;
                if (iocd_aqi_sub_index(IOCD_AQI_O3, IOCD_AQI_FORM_8H, max8, &s) == 0)
                    r->o3_8h_sub = s;
            }
            if (r->o3_1h_sub >= 0 && r->o3_1h_sub >= r->o3_8h_sub) {
                r->sub[p] = r->o3_1h_sub;
                r->conc[p] = r->o3_1h_conc;
                r->form[p] = IOCD_AQI_FORM_1H;
            } else if (r->o3_8h_sub >= 0) {
                r->sub[p] = r->o3_8h_sub;
                r->conc[p] = r->o3_8h_conc;
                r->form[p] = IOCD_AQI_FORM_8H;
            }
        }
    }
    return result_finish(r, pm_evicted ? "day older than the ring" : "no PM data");
}
