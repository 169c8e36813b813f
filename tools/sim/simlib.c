/*
 * tools/sim/simlib.c: iocd-sim's shared building blocks: the PRNG and noise
 * processes, local-time (UTC+7) helpers, diurnal shapes, Poisson event timing
 * by thinning, the bounded payload builder, Pleiku's wards and streets, and
 * the city rain field that the weather, rain and report feeds share.
 * Everything here is deterministic: the same inputs give the same bits.
 */
#include "sim.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---------------------------------------------------------------- PRNG -- */

uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

double rng_uniform(uint64_t *s)
{
    return (double)(rng_next(s) >> 11) * 0x1.0p-53;
}

double rng_range(uint64_t *s, double lo, double hi)
{
    return lo + (hi - lo) * rng_uniform(s);
}

double rng_normal(uint64_t *s)
{
    double u1 = 1.0 - rng_uniform(s); /* (0, 1] */
    double u2 = rng_uniform(s);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * PI * u2);
}

long rng_poisson(uint64_t *s, double mean)
{
    if (!(mean > 0.0))
        return 0;
    if (mean < 30.0) {
        double limit = exp(-mean), p = 1.0;
        long k = -1;
        do {
            k++;
            p *= rng_uniform(s);
        } while (p > limit);
        return k;
    }
    long v = lround(mean + sqrt(mean) * rng_normal(s));
    return v < 0 ? 0 : v;
}

long rng_int(uint64_t *s, long lo, long hi)
{
    if (hi <= lo)
        return lo;
    return lo + (long)(rng_uniform(s) * (double)(hi - lo + 1));
}

size_t rng_pick(uint64_t *s, const double *weights, size_t n)
{
    double total = 0.0;
    for (size_t i = 0; i < n; i++)
        total += weights[i] > 0.0 ? weights[i] : 0.0;
    double x = rng_uniform(s) * total;
    for (size_t i = 0; i < n; i++) {
        double w = weights[i] > 0.0 ? weights[i] : 0.0;
        if (x < w)
            return i;
        x -= w;
    }
    for (size_t i = n; i-- > 0;) /* rounding: the last index with weight */
        if (weights[i] > 0.0)
            return i;
    return 0;
}

uint64_t rng_stream(uint64_t seed, uint64_t a, uint64_t b)
{
    uint64_t mix = seed ^ (a * 0xD1B54A32D192ED03ULL) ^ (b * 0x8CB92BA72F3D8DD7ULL);
    splitmix64(&mix);
    uint64_t s = splitmix64(&mix);
    return s ? s : 0x853C49E6748FEA9BULL;
}

double ou_step(double x, double dt, double tau, double sigma, uint64_t *s)
{
    double a = exp(-dt / tau);
    return x * a + sigma * sqrt(1.0 - a * a) * rng_normal(s);
}

double clampd(double v, double lo, double hi)
{
    if (!isfinite(v))
        return 0.5 * (lo + hi);
    return v < lo ? lo : (v > hi ? hi : v);
}

/* ------------------------------------------------------------- time -- */

int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

double local_hour(int64_t epoch_ms)
{
    int64_t ms = (epoch_ms + (int64_t)LOCAL_OFFSET_S * 1000) % 86400000;
    if (ms < 0)
        ms += 86400000;
    return (double)ms / 3600000.0;
}

double wrap_hour(double h)
{
    h = fmod(h, 24.0);
    return h < 0.0 ? h + 24.0 : h;
}

int64_t local_day(int64_t epoch_ms)
{
    return floor_div(epoch_ms + (int64_t)LOCAL_OFFSET_S * 1000, 86400000);
}

int64_t local_midnight_ms(int64_t epoch_ms)
{
    return local_day(epoch_ms) * 86400000 - (int64_t)LOCAL_OFFSET_S * 1000;
}

int local_weekday(int64_t epoch_ms)
{
    int64_t d = (local_day(epoch_ms) + 4) % 7; /* 1970-01-01 was a Thursday */
    return (int)(d < 0 ? d + 7 : d);
}

static int local_tm(int64_t epoch_ms, struct tm *tm)
{
    time_t t = (time_t)(floor_div(epoch_ms, 1000) + LOCAL_OFFSET_S);
    return gmtime_r(&t, tm) ? 0 : -1;
}

int local_year(int64_t epoch_ms)
{
    struct tm tm;
    return local_tm(epoch_ms, &tm) == 0 ? tm.tm_year + 1900 : 1970;
}

double local_day_of_year(int64_t epoch_ms)
{
    struct tm tm;
    if (local_tm(epoch_ms, &tm) != 0)
        return 0.0;
    return tm.tm_yday + local_hour(epoch_ms) / 24.0;
}

int format_local_iso(int64_t epoch_ms, char *buf, size_t cap)
{
    struct tm tm;
    if (local_tm(epoch_ms, &tm) != 0)
        return -1;
    int n = snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d+07:00", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return (n < 0 || (size_t)n >= cap) ? -1 : 0;
}

int format_utc_iso(int64_t epoch_ms, char *buf, size_t cap)
{
    time_t t = (time_t)floor_div(epoch_ms, 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm))
        return -1;
    int n = snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return (n < 0 || (size_t)n >= cap) ? -1 : 0;
}

double monthly(const double table[12], int64_t epoch_ms)
{
    /* Table values sit at mid-month; interpolate on a 365-day year. */
    double m = local_day_of_year(epoch_ms) / (365.0 / 12.0) - 0.5;
    double f = floor(m);
    int i = (int)f;
    double w = m - f;
    int a = ((i % 12) + 12) % 12, b = (a + 1) % 12;
    return table[a] * (1.0 - w) + table[b] * w;
}

/* ---------------------------------------------------- diurnal shapes -- */

double sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }

double bump(double x, double mu, double width)
{
    double z = (x - mu) / width;
    return exp(-z * z);
}

double traffic_profile(double hour)
{
    double h = wrap_hour(hour);
    if (h < 3.0)
        h += 24.0; /* keep the night trough continuous across midnight */
    double day = 0.50 * sigmoid((h - 6.0) / 0.6) * sigmoid((21.5 - h) / 0.9);
    return 0.02 + day + 0.55 * bump(h, 7.0, 0.8) + 0.10 * bump(h, 11.5, 0.7) +
           0.50 * bump(h, 17.25, 1.1);
}

double temp_shape(double hour)
{
    double h = wrap_hour(hour);
    if (h >= 5.0 && h < 14.0)
        return 0.5 * (1.0 - cos(PI * (h - 5.0) / 9.0));
    double since_peak = h >= 14.0 ? h - 14.0 : h + 10.0; /* 0..15 h */
    return 0.5 * (1.0 + cos(PI * since_peak / 15.0));
}

/* ------------------------------------------------ Poisson by thinning -- */

#define WEEK_MS (7LL * 86400000LL)
#define PROFILE_STEP_MS (5LL * 60000LL)

static void profile_fill(struct rate_profile *p)
{
    /* Any whole week will do: the shapes repeat weekly. */
    int64_t t0 = 1795132800000LL; /* 2026-11-20T00:00:00Z */
    double sum = 0.0, max = 0.0;
    long n = 0;
    for (int64_t t = t0; t < t0 + WEEK_MS; t += PROFILE_STEP_MS, n++) {
        double v = p->shape(t);
        sum += v;
        if (v > max)
            max = v;
    }
    p->mean = sum / (double)n;
    p->max = max * 1.1; /* headroom: the grid may miss the true peak */
}

int64_t poisson_gap_us(uint64_t *rng, int64_t now_ms, double mean_gap_s, struct rate_profile *p)
{
    if (!(p->max > 0.0))
        profile_fill(p);
    double lam_max = p->max / p->mean / mean_gap_s; /* candidates per second */
    double t = 0.0;
    for (int i = 0; i < 100000; i++) {
        t += -log(1.0 - rng_uniform(rng)) / lam_max;
        if (t > 60.0 * 86400.0)
            break;
        double v = p->shape(now_ms + (int64_t)llround(t * 1000.0));
        if (rng_uniform(rng) * p->max < v)
            break;
    }
    int64_t us = (int64_t)llround(t * 1e6);
    return us < 1000 ? 1000 : us;
}

/* ---------------------------------------------------------- payloads -- */

void sb_init(struct sbuf *b, void *mem, size_t cap)
{
    b->p = mem;
    b->cap = cap;
    b->len = 0;
    b->overflow = cap == 0;
    if (cap)
        b->p[0] = '\0';
}

void sb_printf(struct sbuf *b, const char *fmt, ...)
{
    if (b->overflow)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= b->cap - b->len) {
        b->overflow = 1;
        b->p[b->len] = '\0';
        return;
    }
    b->len += (size_t)n;
}

void sb_puts(struct sbuf *b, const char *s)
{
    size_t n = strlen(s);
    if (b->overflow || n >= b->cap - b->len) {
        b->overflow = 1;
        return;
    }
    memcpy(b->p + b->len, s, n + 1);
    b->len += n;
}

void sb_json_string(struct sbuf *b, const char *s)
{
    sb_puts(b, "\"");
    for (const unsigned char *c = (const unsigned char *)s; *c && !b->overflow; c++) {
        if (*c == '"' || *c == '\\')
            sb_printf(b, "\\%c", *c);
        else if (*c < 0x20)
            sb_printf(b, "\\u%04x", *c);
        else {
            char one[2] = { (char)*c, '\0' };
            sb_puts(b, one);
        }
    }
    sb_puts(b, "\"");
}

int emit_finish(struct emit *e, int n)
{
    if (n < 0 || (size_t)n >= e->cap)
        return -1;
    e->len = (size_t)n;
    return 1;
}

int emit_sbuf(struct emit *e, const struct sbuf *b)
{
    if (b->overflow)
        return -1;
    e->len = b->len;
    return 1;
}

int device_topic(struct device *d, const char *prefix, const char *a, const char *b,
                 const char *c)
{
    int n = snprintf(d->topic, sizeof d->topic, "%s/%s/%s/%s", prefix, a, b, c);
    return (n < 0 || (size_t)n >= sizeof d->topic) ? -1 : 0;
}

/* ---------------------------------------------------------- Pleiku -- */

/* Rough ward centres: good enough to scatter simulated devices, not a map. */
const struct ward WARDS[] = {
    { "Hội Thương", 13.9833, 108.0016 },
    { "Diên Hồng", 13.9772, 108.0048 },
    { "Tây Sơn", 13.9868, 108.0098 },
    { "Hội Phú", 13.9705, 108.0056 },
    { "Phù Đổng", 13.9938, 108.0094 },
    { "Hoa Lư", 13.9985, 108.0012 },
    { "Yên Đỗ", 13.9882, 107.9958 },
    { "Yên Thế", 14.0148, 108.0236 },
    { "Ia Kring", 13.9868, 107.9885 },
    { "Đống Đa", 14.0018, 107.9906 },
    { "Thống Nhất", 14.0042, 108.0125 },
    { "Trà Bá", 13.9552, 108.0142 },
    { "Thắng Lợi", 13.9960, 108.0342 },
    { "Chi Lăng", 13.9598, 108.0372 },
};
const size_t NWARDS = sizeof WARDS / sizeof WARDS[0];

const char *const STREETS[] = {
    "Hùng Vương", "Trần Phú", "Lê Lợi", "Phạm Văn Đồng", "Trường Chinh",
    "Lê Duẩn", "Nguyễn Tất Thành", "Trần Hưng Đạo", "Quang Trung", "Hai Bà Trưng",
    "Phan Đình Phùng", "Nguyễn Văn Trỗi", "Cách Mạng Tháng Tám", "Lý Thái Tổ",
    "Tôn Thất Tùng", "Lê Thánh Tôn", "Phù Đổng", "Wừu", "17 Tháng 3", "Tăng Bạt Hổ",
    "Nguyễn Viết Xuân", "Hoàng Văn Thụ", "Phan Bội Châu", "Lê Đại Hành",
};
const size_t NSTREETS = sizeof STREETS / sizeof STREETS[0];

size_t ward_index(const char *name)
{
    for (size_t i = 0; i < NWARDS; i++)
        if (strcmp(WARDS[i].name, name) == 0)
            return i;
    return NWARDS;
}

/* ------------------------------------------------------- rain field -- */

#define MAX_STORMS 8

struct storm {
    double t0, dur_ms;    /* start (epoch ms) and length */
    double peak;          /* mm/h at the core */
    double lat0, lon0;    /* core at t0 */
    double vlat, vlon;    /* drift, degrees per ms */
    double radius;        /* degrees */
    double pulse_ms, pulse_phase;
};

/* Mean storms per day, Jan..Dec: dry season Nov-Apr, rainy season May-Oct. */
static const double STORMS_PER_DAY[12] = {
    0.05, 0.08, 0.25, 0.7, 1.3, 1.5, 1.6, 1.8, 1.5, 0.9, 0.35, 0.1,
};

static int storms_make(uint64_t seed, int64_t day, struct storm *out)
{
    uint64_t r = rng_stream(seed, 0x5241494E /* "RAIN" */, (uint64_t)day);
    int64_t midnight = day * 86400000 - (int64_t)LOCAL_OFFSET_S * 1000;
    double mean = monthly(STORMS_PER_DAY, midnight + 43200000);
    long n = rng_poisson(&r, mean);
    if (n > MAX_STORMS)
        n = MAX_STORMS;
    int wet = mean > 0.6;
    for (long i = 0; i < n; i++) {
        struct storm *s = &out[i];
        double h = rng_uniform(&r) < 0.75 ? clampd(15.5 + 2.2 * rng_normal(&r), 10.0, 23.0)
                                          : rng_range(&r, 0.0, 24.0);
        s->t0 = (double)midnight + h * 3600000.0;
        s->dur_ms = rng_range(&r, 25.0, 150.0) * 60000.0;
        s->peak = clampd(exp(log(10.0) + 0.75 * rng_normal(&r)), 1.5, 90.0);
        s->lat0 = PLEIKU_LAT + rng_range(&r, -0.09, 0.09);
        s->lon0 = PLEIKU_LON + rng_range(&r, -0.09, 0.09);
        /* Rainy season cells come from the west-southwest, dry season from the east. */
        double heading = (wet ? 65.0 : 250.0) + 40.0 * rng_normal(&r); /* degrees, 0 = north */
        double kmh = rng_range(&r, 8.0, 30.0);
        double deg_per_ms = kmh / 111.0 / 3600000.0;
        s->vlat = deg_per_ms * cos(heading * PI / 180.0);
        s->vlon = deg_per_ms * sin(heading * PI / 180.0);
        /* Start upwind so the core crosses the city during the storm. */
        s->lat0 -= s->vlat * s->dur_ms * 0.5;
        s->lon0 -= s->vlon * s->dur_ms * 0.5;
        s->radius = rng_range(&r, 2.5, 9.0) / 111.0;
        s->pulse_ms = rng_range(&r, 8.0, 25.0) * 60000.0;
        s->pulse_phase = rng_range(&r, 0.0, 2.0 * PI);
    }
    return (int)n;
}

/* A small cache: callers ask about the same few days over and over. */
static struct {
    uint64_t seed;
    int64_t day;
    int n, valid;
    struct storm s[MAX_STORMS];
} g_storm_cache[4];
static unsigned g_storm_next;

static const struct storm *storms_of_day(uint64_t seed, int64_t day, int *n)
{
    for (size_t i = 0; i < sizeof g_storm_cache / sizeof g_storm_cache[0]; i++)
        if (g_storm_cache[i].valid && g_storm_cache[i].seed == seed && g_storm_cache[i].day == day) {
            *n = g_storm_cache[i].n;
            return g_storm_cache[i].s;
        }
    unsigned k = g_storm_next++ % (sizeof g_storm_cache / sizeof g_storm_cache[0]);
    g_storm_cache[k].seed = seed;
    g_storm_cache[k].day = day;
    g_storm_cache[k].n = storms_make(seed, day, g_storm_cache[k].s);
    g_storm_cache[k].valid = 1;
    *n = g_storm_cache[k].n;
    return g_storm_cache[k].s;
}

double rain_rate(uint64_t seed, double lat, double lon, int64_t epoch_ms)
{
    int64_t day = local_day(epoch_ms);
    double t = (double)epoch_ms, total = 0.0;
    for (int64_t dd = day - 1; dd <= day; dd++) { /* storms may run past midnight */
        int n;
        const struct storm *st = storms_of_day(seed, dd, &n);
        for (int i = 0; i < n; i++) {
            const struct storm *s = &st[i];
            double x = (t - s->t0) / s->dur_ms;
            if (x < 0.0 || x >= 1.0)
                continue;
            double shape = x < 0.15 ? x / 0.15 : pow((1.0 - x) / 0.85, 1.6);
            double clat = s->lat0 + s->vlat * (t - s->t0);
            double clon = s->lon0 + s->vlon * (t - s->t0);
            double dy = lat - clat, dx = (lon - clon) * cos(lat * PI / 180.0);
            double near = exp(-(dx * dx + dy * dy) / (s->radius * s->radius));
            double pulse = 0.7 + 0.3 * sin(2.0 * PI * (t - s->t0) / s->pulse_ms + s->pulse_phase);
            total += s->peak * shape * near * pulse;
        }
    }
    return total < 0.05 ? 0.0 : total;
}

double rain_amount(uint64_t seed, double lat, double lon, int64_t from_ms, int64_t to_ms)
{
    if (to_ms <= from_ms)
        return 0.0;
    int64_t span = to_ms - from_ms;
    int64_t steps = (span + 59999) / 60000;
    double step = (double)span / (double)steps, sum = 0.0;
    double prev = rain_rate(seed, lat, lon, from_ms);
    for (int64_t i = 1; i <= steps; i++) {
        int64_t t = from_ms + (int64_t)llround(step * (double)i);
        double cur = rain_rate(seed, lat, lon, t);
        sum += 0.5 * (prev + cur) * step / 3600000.0;
        prev = cur;
    }
    return sum;
}
