/*
 * iocd-sim: a simulated city sensor feed for Pleiku (Gia Lai, Vietnam, UTC+7).
 *
 * This file owns the whole iocd-sim tool: option parsing, the per-device
 * sensor models (air-quality stations, traffic counters, water-level gauges),
 * the publish schedule (per-device intervals or a total --rate round robin,
 * in real time or as a fast replay from --start), MQTT flow control bounded
 * by --max-inflight, and the run statistics.
 *
 * Adding a subsystem: a state struct in union device_state, one payload
 * function, and one row in SUBSYSTEMS[]. Ids, topics, --NAME and
 * --interval-NAME options, --help text and scheduling all follow the table.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mosquitto.h>

#if defined(__has_include)
#if __has_include("iocd_build.h")
#include "iocd_build.h"
#endif
#endif
#ifndef IOCD_VERSION
#define IOCD_VERSION "dev"
#endif

#define LOCAL_OFFSET_S (7 * 3600) /* Indochina Time, no DST */
#define PI 3.14159265358979323846
#define PREFIX_MAX 128
#define TOPIC_MAX 192
#define PAYLOAD_MAX 256
#define MAX_PER_SUBSYSTEM 100000L
#define MAX_SCALE 1000L
#define STATUS_PERIOD_US 5000000LL
#define CONNECT_WINDOW_US 10000000LL
#define DRAIN_WINDOW_US 5000000LL
#define SLEEP_SLICE_US 200000LL
#define NO_SAMPLE INT64_MIN

/* ---------------------------------------------------------------- PRNG -- */

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* xorshift64*; the state must never be zero. */
static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static double rng_uniform(uint64_t *s) /* [0, 1) */
{
    return (double)(rng_next(s) >> 11) * 0x1.0p-53;
}

static double rng_range(uint64_t *s, double lo, double hi)
{
    return lo + (hi - lo) * rng_uniform(s);
}

static double rng_normal(uint64_t *s) /* Box-Muller, one value */
{
    double u1 = 1.0 - rng_uniform(s); /* (0, 1] */
    double u2 = rng_uniform(s);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * PI * u2);
}

static long rng_poisson(uint64_t *s, double mean)
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

/* Exact Ornstein-Uhlenbeck step: mean 0, stationary std sigma, time constant tau. */
static double ou_step(double x, double dt, double tau, double sigma, uint64_t *s)
{
    double a = exp(-dt / tau);
    return x * a + sigma * sqrt(1.0 - a * a) * rng_normal(s);
}

static double clampd(double v, double lo, double hi)
{
    if (!isfinite(v))
        return 0.5 * (lo + hi);
    return v < lo ? lo : (v > hi ? hi : v);
}

/* ------------------------------------------------------- time helpers -- */

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct timespec mono_timespec(int64_t us)
{
    struct timespec ts = { .tv_sec = (time_t)(us / 1000000), .tv_nsec = (long)(us % 1000000) * 1000 };
    return ts;
}

/* Local (UTC+7) hour of day in [0, 24). */
static double local_hour(int64_t epoch_ms)
{
    int64_t ms = (epoch_ms + (int64_t)LOCAL_OFFSET_S * 1000) % 86400000;
    if (ms < 0)
        ms += 86400000;
    return (double)ms / 3600000.0;
}

static double wrap_hour(double h)
{
    h = fmod(h, 24.0);
    return h < 0.0 ? h + 24.0 : h;
}

/* "2026-11-22T17:04:05+07:00" */
static int format_local_iso(int64_t epoch_ms, char *buf, size_t cap)
{
    time_t t = (time_t)(floor_div(epoch_ms, 1000) + LOCAL_OFFSET_S);
    struct tm tm;
    if (!gmtime_r(&t, &tm))
        return -1;
    int n = snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d+07:00", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return (n < 0 || (size_t)n >= cap) ? -1 : 0;
}

/* --start: epoch milliseconds, or ISO-8601 with Z / +HH:MM / +HHMM (no zone: Pleiku time). */
static int parse_start(const char *s, int64_t *out_ms)
{
    if (*s && strspn(s, "0123456789") == strlen(s)) {
        errno = 0;
        char *end;
        long long v = strtoll(s, &end, 10);
        if (errno || *end)
            return -1;
        *out_ms = v;
        return 0;
    }
    int y, mo, d, h, mi, sec = 0, n = 0;
    if (sscanf(s, "%4d-%2d-%2d%*1[Tt ]%2d:%2d%n", &y, &mo, &d, &h, &mi, &n) != 5 || n == 0)
        return -1;
    const char *p = s + n;
    if (*p == ':') {
        int m = 0;
        if (sscanf(p, ":%2d%n", &sec, &m) != 1 || m != 3)
            return -1;
        p += m;
    }
    int64_t frac_ms = 0;
    if (*p == '.') {
        int64_t scale = 100;
        for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
            frac_ms += (*p - '0') * scale;
    }
    long offset_s = LOCAL_OFFSET_S;
    if (*p == 'Z' || *p == 'z') {
        offset_s = 0;
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om, m = 0;
        if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &m) != 2 &&
            sscanf(p + 1, "%2d%2d%n", &oh, &om, &m) != 2)
            return -1;
        if (oh > 23 || om > 59)
            return -1;
        offset_s = (*p == '-' ? -1 : 1) * (oh * 3600L + om * 60L);
        p += 1 + m;
    }
    if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59 ||
        h < 0 || mi < 0 || sec < 0)
        return -1;
    struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
                     .tm_hour = h, .tm_min = mi, .tm_sec = sec };
    time_t t = timegm(&tm);
    if (tm.tm_mday != d) /* normalised away, e.g. 2026-02-30 */
        return -1;
    *out_ms = ((int64_t)t - offset_s) * 1000 + frac_ms;
    return 0;
}

/* ----------------------------------------------------- diurnal shapes -- */

static double sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }

static double bump(double x, double mu, double width)
{
    double z = (x - mu) / width;
    return exp(-z * z);
}

/* Relative traffic flow, ~1.0 at the 07:00 and 17:15 peaks, ~0.02 at 02:00. */
static double traffic_profile(double hour)
{
    double h = wrap_hour(hour);
    if (h < 3.0)
        h += 24.0; /* keep the night trough continuous across midnight */
    double day = 0.50 * sigmoid((h - 6.0) / 0.6) * sigmoid((21.5 - h) / 0.9);
    return 0.02 + day + 0.55 * bump(h, 7.0, 0.8) + 0.10 * bump(h, 11.5, 0.7) +
           0.50 * bump(h, 17.25, 1.1);
}

/* 0 at 05:00 (coolest), 1 at 14:00 (warmest), cosine in between. */
static double temp_shape(double hour)
{
    double h = wrap_hour(hour);
    if (h >= 5.0 && h < 14.0)
        return 0.5 * (1.0 - cos(PI * (h - 5.0) / 9.0));
    double since_peak = h >= 14.0 ? h - 14.0 : h + 10.0; /* 0..15 h */
    return 0.5 * (1.0 + cos(PI * since_peak / 15.0));
}

/* ------------------------------------------------- devices and models -- */

struct air_state {
    double base, pm_ratio, no2_busy, tmin, tmax;
    double n_pm, n_no2, n_temp, n_rh, spike, spike_tau_s;
};

struct traffic_state {
    double peak_vph, free_kmh, n_speed;
};

struct water_state {
    double base, walk, battery, rain_amp, rain_rise_s, rain_tau_s;
    int64_t rain_start_ms;
    int raining;
};

union device_state {
    struct air_state air;
    struct traffic_state traffic;
    struct water_state water;
};

struct sample {
    int64_t now_ms;    /* timestamp written into the payload */
    double hour;       /* local hour of day of now_ms */
    double dt_s;       /* seconds since this device's previous sample */
    double interval_s; /* configured interval of the device's subsystem */
};

struct device;
typedef int (*payload_fn)(struct device *d, const struct sample *s, char *buf, size_t cap);

struct subsystem {
    const char *name;        /* topic level and option names */
    const char *what;        /* for --help */
    const char *id_prefix;   /* device id = prefix + zero-padded number */
    int id_width;
    const char *leaf;        /* last topic level */
    long default_count;
    double default_interval_s;
    payload_fn payload;
};

struct device {
    size_t sys;       /* index into SUBSYSTEMS */
    char id[24];
    char topic[TOPIC_MAX];
    uint64_t rng;
    int64_t interval_us;
    int64_t next_due_us;
    int64_t last_ms;
    int primed;
    union device_state st;
};

static int finish_payload(int n, size_t cap)
{
    return (n < 0 || (size_t)n >= cap) ? -1 : n;
}

static int air_payload(struct device *d, const struct sample *s, char *buf, size_t cap)
{
    struct air_state *a = &d->st.air;
    uint64_t *r = &d->rng;
    if (!d->primed) {
        a->base = rng_range(r, 17.0, 28.0);
        a->pm_ratio = rng_range(r, 1.6, 2.0);
        a->no2_busy = rng_range(r, 0.6, 1.1);
        a->tmin = rng_range(r, 16.3, 17.8);
        a->tmax = rng_range(r, 27.0, 29.5);
        a->spike_tau_s = 1200.0;
    }
    double dt = s->dt_s;
    a->n_pm = ou_step(a->n_pm, dt, 900.0, 0.12, r);
    a->n_no2 = ou_step(a->n_no2, dt, 600.0, 3.0, r);
    a->n_temp = ou_step(a->n_temp, dt, 3600.0, 0.6, r);
    a->n_rh = ou_step(a->n_rh, dt, 1800.0, 2.5, r);
    /* A few spikes a day: open burning, construction dust, a truck convoy. */
    a->spike *= exp(-dt / a->spike_tau_s);
    if (rng_uniform(r) < 1.0 - exp(-dt / (8.0 * 3600.0))) {
        a->spike += rng_range(r, 25.0, 90.0);
        a->spike_tau_s = rng_range(r, 900.0, 2400.0);
    }
    double inversion = 0.5 * (1.0 + cos(2.0 * PI * (s->hour - 3.0) / 24.0)); /* night */
    double pm25 = a->base * (0.55 + 0.6 * traffic_profile(s->hour - 0.5) + 0.35 * inversion) *
                      (1.0 + a->n_pm) + a->spike;
    pm25 = clampd(pm25, 3.0, 300.0);
    double pm10 = pm25 * clampd(a->pm_ratio + 0.08 * rng_normal(r), 1.5, 2.2);
    double no2 = clampd(6.0 + 40.0 * a->no2_busy * traffic_profile(s->hour - 0.25) + a->n_no2,
                        5.0, 60.0);
    double temp = clampd(a->tmin + (a->tmax - a->tmin) * temp_shape(s->hour) + a->n_temp,
                         16.0, 30.0);
    double rh = clampd(97.0 - (temp - 16.0) / 14.0 * 40.0 + a->n_rh, 55.0, 98.0);
    char ts[40];
    if (format_local_iso(s->now_ms, ts, sizeof ts) != 0)
        return -1;
    return finish_payload(snprintf(buf, cap,
        "{\"station\":\"%s\",\"ts\":\"%s\",\"pm25\":%.1f,\"pm10\":%.1f,\"no2\":%.1f,"
        "\"temp\":%.1f,\"rh\":%.1f}", d->id, ts, pm25, pm10, no2, temp, rh), cap);
}

static int traffic_payload(struct device *d, const struct sample *s, char *buf, size_t cap)
{
    struct traffic_state *t = &d->st.traffic;
    uint64_t *r = &d->rng;
    if (!d->primed) {
        /* Peak flow incl. motorbikes: side streets ~1200/h, main junctions ~14000/h. */
        t->peak_vph = exp(rng_range(r, log(1200.0), log(14400.0)));
        t->free_kmh = rng_range(r, 42.0, 55.0);
    }
    double f = traffic_profile(s->hour);
    double mean = t->peak_vph * f * s->interval_s / 3600.0;
    long vehicles = rng_poisson(r, mean);
    double congestion = f * t->peak_vph / 11000.0;
    if (mean > 0.5)
        congestion *= 0.8 + 0.2 * (double)vehicles / mean;
    congestion = clampd(congestion, 0.0, 1.0);
    t->n_speed = ou_step(t->n_speed, s->dt_s, 120.0, 2.5, r);
    double speed = clampd(t->free_kmh - (t->free_kmh - 15.0) * pow(congestion, 1.3) + t->n_speed,
                          15.0, 55.0);
    return finish_payload(snprintf(buf, cap,
        "{\"counter\":\"%s\",\"time_ms\":%" PRId64 ",\"vehicles\":%ld,\"speed_kmh\":%.1f,"
        "\"interval_s\":%.6g}", d->id, s->now_ms, vehicles, speed, s->interval_s), cap);
}

static int water_payload(struct device *d, const struct sample *s, char *buf, size_t cap)
{
    struct water_state *w = &d->st.water;
    uint64_t *r = &d->rng;
    if (!d->primed) {
        w->base = rng_range(r, 80.0, 250.0);
        w->battery = rng_range(r, 3.65, 4.0);
    }
    double dt = s->dt_s;
    w->walk = ou_step(w->walk, dt, 6.0 * 3600.0, 4.0, r);
    if (!w->raining && rng_uniform(r) < 1.0 - exp(-dt / (20.0 * 3600.0))) {
        w->raining = 1;
        w->rain_start_ms = s->now_ms;
        w->rain_amp = rng_range(r, 20.0, 80.0);
        w->rain_rise_s = rng_range(r, 600.0, 2400.0);
        w->rain_tau_s = rng_range(r, 3600.0, 4.0 * 3600.0);
    }
    double rain = 0.0;
    if (w->raining) {
        double age = (double)(s->now_ms - w->rain_start_ms) / 1000.0;
        if (age < w->rain_rise_s) {
            double x = age / w->rain_rise_s;
            rain = w->rain_amp * x * x * (3.0 - 2.0 * x);
        } else {
            rain = w->rain_amp * exp(-(age - w->rain_rise_s) / w->rain_tau_s);
            if (age > w->rain_rise_s + 5.0 * w->rain_tau_s)
                w->raining = 0;
        }
    }
    double level = clampd(w->base + w->walk + rain + 0.3 * rng_normal(r), 0.0, 600.0);
    double h = s->hour;
    double sun = (h > 6.0 && h < 18.0) ? sin(PI * (h - 6.0) / 12.0) : 0.0;
    w->battery = clampd(w->battery + dt / 3600.0 * (0.035 * sun - 0.008), 3.40, 4.10);
    double battery = clampd(w->battery + 0.005 * rng_normal(r), 3.40, 4.10);
    return finish_payload(snprintf(buf, cap,
        "{\"gauge\":\"%s\",\"t\":%" PRId64 ",\"level_cm\":%.1f,\"battery_v\":%.2f}",
        d->id, floor_div(s->now_ms, 1000), level, battery), cap);
}

static const struct subsystem SUBSYSTEMS[] = {
    { "air", "air-quality stations", "GL-AQ", 2, "data", 8, 10.0, air_payload },
    { "traffic", "traffic counters", "GL-TC", 3, "count", 40, 5.0, traffic_payload },
    { "water", "water-level gauges", "GL-WL", 2, "level", 6, 30.0, water_payload },
};
#define NSUB (sizeof SUBSYSTEMS / sizeof SUBSYSTEMS[0])

/* ------------------------------------------------------------ options -- */

struct options {
    const char *host;
    int port;
    char client_id[64];
    int qos;
    const char *prefix;
    long scale;
    long counts[NSUB];
    int count_given[NSUB];
    double intervals[NSUB];
    double rate; /* < 0: per-device intervals */
    double duration_s; /* 0: none */
    uint64_t count;    /* 0: none */
    uint64_t seed;
    int fast;
    int64_t start_ms;
    long max_inflight;
    int quiet;
};

enum {
    OPT_HOST = 256, OPT_PORT, OPT_CLIENT_ID, OPT_QOS, OPT_PREFIX, OPT_SCALE, OPT_RATE,
    OPT_DURATION, OPT_COUNT, OPT_SEED, OPT_START, OPT_MAX_INFLIGHT, OPT_VERSION,
    OPT_SUBSYS = 512 /* + 2*i: --NAME, + 2*i + 1: --interval-NAME */
};

static const struct option BASE_OPTIONS[] = {
    { "host", required_argument, NULL, OPT_HOST },
    { "port", required_argument, NULL, OPT_PORT },
    { "client-id", required_argument, NULL, OPT_CLIENT_ID },
    { "qos", required_argument, NULL, OPT_QOS },
    { "prefix", required_argument, NULL, OPT_PREFIX },
    { "scale", required_argument, NULL, OPT_SCALE },
    { "rate", required_argument, NULL, OPT_RATE },
    { "duration", required_argument, NULL, OPT_DURATION },
    { "count", required_argument, NULL, OPT_COUNT },
    { "seed", required_argument, NULL, OPT_SEED },
    { "start", required_argument, NULL, OPT_START },
    { "max-inflight", required_argument, NULL, OPT_MAX_INFLIGHT },
    { "quiet", no_argument, NULL, 'q' },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, OPT_VERSION },
};
#define NBASE (sizeof BASE_OPTIONS / sizeof BASE_OPTIONS[0])

static void print_help(FILE *f)
{
    fprintf(f,
        "Usage: iocd-sim [OPTIONS]\n"
        "Publish a simulated sensor feed for Pleiku (Gia Lai, UTC+7) over MQTT.\n\n"
        "Connection:\n"
        "  --host H             broker host (default 127.0.0.1)\n"
        "  --port P             broker port (default 1883)\n"
        "  --client-id ID       MQTT client id (default iocd-sim-<pid>)\n"
        "  --qos N              0, 1 or 2 (default 1)\n"
        "  --prefix P           topic prefix (default pleiku)\n"
        "  --max-inflight N     at most N published but unacknowledged messages;\n"
        "                       publishing waits at the limit (default 1000)\n\n"
        "Devices (topic <prefix>/<name>/<id>/<leaf>):\n"
        "  --scale K            multiply every default device count by K (1..%ld);\n"
        "                       an explicit --<name> count wins\n", MAX_SCALE);
    for (size_t i = 0; i < NSUB; i++) {
        const struct subsystem *s = &SUBSYSTEMS[i];
        char opt[48];
        snprintf(opt, sizeof opt, "--%s N", s->name);
        fprintf(f, "  %-20s number of %s %s%0*d.. (default %ld)\n", opt, s->what,
                s->id_prefix, s->id_width, 1, s->default_count);
        snprintf(opt, sizeof opt, "--interval-%s S", s->name);
        fprintf(f, "  %-20s seconds between messages of one device, fractional ok\n"
                   "  %-20s (default %g); topic .../%s\n", opt, "", s->default_interval_s,
                s->leaf);
    }
    fprintf(f,
        "\nSchedule:\n"
        "  --rate R             publish R msg/s in total, round robin over all devices,\n"
        "                       instead of per-device intervals; R=0: as fast as\n"
        "                       possible. Payload windows (interval_s) keep the\n"
        "                       configured intervals\n"
        "  --start TIME         fast replay: simulated clock starts at TIME (ISO-8601,\n"
        "                       e.g. 2026-11-22T00:00:00Z, no zone = +07:00; or epoch\n"
        "                       ms) and advances by the device intervals without\n"
        "                       sleeping (with --rate: by 1/R s per message, 1 ms if\n"
        "                       R=0). Without it, payloads carry the wall clock\n"
        "  --duration S         stop after S seconds (simulated seconds with --start)\n"
        "  --count N            stop after N published messages\n"
        "                       (neither: run until SIGINT/SIGTERM)\n"
        "  --seed N             PRNG seed (default 1); same seed, options and --start\n"
        "                       give byte-identical payloads\n\n"
        "Output:\n"
        "  -q, --quiet          no status line every 5 s on stderr\n"
        "  -h, --help           this text\n"
        "      --version        print the version\n\n"
        "At exit prints 'published N messages in T.TTT s (R msg/s)'. Exit status 0,\n"
        "1 if the broker cannot be reached within 10 s or a publish fails for good,\n"
        "2 on bad usage.\n");
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_double(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_u64(const char *s, uint64_t lo, uint64_t *out)
{
    char *end;
    errno = 0;
    if (*s == '-')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || v < lo)
        return -1;
    *out = v;
    return 0;
}

static int apply_subsystem_option(struct options *o, int code, const char *arg)
{
    size_t i = (size_t)(code - OPT_SUBSYS) / 2;
    if (i >= NSUB)
        return -1;
    if ((code - OPT_SUBSYS) % 2 == 0) {
        o->count_given[i] = 1;
        return parse_long(arg, 0, MAX_PER_SUBSYSTEM, &o->counts[i]);
    }
    return parse_double(arg, 0.001, 86400.0, &o->intervals[i]);
}

/* Returns 0 to run, 1 after --help/--version, -1 on bad usage. */
static int parse_options(int argc, char **argv, struct options *o)
{
    char names[NSUB][2][40];
    struct option longopts[NBASE + 2 * NSUB + 1];
    memcpy(longopts, BASE_OPTIONS, sizeof BASE_OPTIONS);
    for (size_t i = 0; i < NSUB; i++) {
        snprintf(names[i][0], sizeof names[i][0], "%s", SUBSYSTEMS[i].name);
        snprintf(names[i][1], sizeof names[i][1], "interval-%s", SUBSYSTEMS[i].name);
        for (int k = 0; k < 2; k++)
            longopts[NBASE + 2 * i + (size_t)k] = (struct option){
                names[i][k], required_argument, NULL, OPT_SUBSYS + (int)(2 * i) + k };
        o->intervals[i] = SUBSYSTEMS[i].default_interval_s;
    }
    memset(&longopts[NBASE + 2 * NSUB], 0, sizeof longopts[0]);

    long lv;
    int c, idx = 0;
    while ((c = getopt_long(argc, argv, "hq", longopts, &idx)) != -1) {
        const char *arg = optarg;
        int rc = 0;
        switch (c) {
        case OPT_HOST: o->host = arg; break;
        case OPT_PORT: rc = parse_long(arg, 1, 65535, &lv); o->port = (int)lv; break;
        case OPT_CLIENT_ID:
            if (!*arg || strlen(arg) >= sizeof o->client_id)
                rc = -1;
            else
                snprintf(o->client_id, sizeof o->client_id, "%s", arg);
            break;
        case OPT_QOS: rc = parse_long(arg, 0, 2, &lv); o->qos = (int)lv; break;
        case OPT_PREFIX:
            if (!*arg || strlen(arg) > PREFIX_MAX || strpbrk(arg, "+#") ||
                mosquitto_validate_utf8(arg, (int)strlen(arg)) != MOSQ_ERR_SUCCESS)
                rc = -1;
            o->prefix = arg;
            break;
        case OPT_SCALE: rc = parse_long(arg, 1, MAX_SCALE, &o->scale); break;
        case OPT_RATE: rc = parse_double(arg, 0.0, 1e9, &o->rate); break;
        case OPT_DURATION: rc = parse_double(arg, 0.001, 1e9, &o->duration_s); break;
        case OPT_COUNT: rc = parse_u64(arg, 1, &o->count); break;
        case OPT_SEED: rc = parse_u64(arg, 0, &o->seed); break;
        case OPT_START: rc = parse_start(arg, &o->start_ms); o->fast = 1; break;
        case OPT_MAX_INFLIGHT: rc = parse_long(arg, 1, 1000000, &o->max_inflight); break;
        case 'q': o->quiet = 1; break;
        case 'h': print_help(stdout); return 1;
        case OPT_VERSION: printf("iocd-sim %s\n", IOCD_VERSION); return 1;
        default:
            if (c >= OPT_SUBSYS) {
                rc = apply_subsystem_option(o, c, arg);
                break;
            }
            fprintf(stderr, "Try 'iocd-sim --help'.\n");
            return -1;
        }
        if (rc != 0) {
            fprintf(stderr, "iocd-sim: invalid value for --%s: '%s'\n", longopts[idx].name,
                    arg ? arg : "");
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "iocd-sim: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    long total = 0;
    for (size_t i = 0; i < NSUB; i++) {
        if (!o->count_given[i])
            o->counts[i] = SUBSYSTEMS[i].default_count * o->scale;
        if (o->counts[i] > MAX_PER_SUBSYSTEM) {
            fprintf(stderr, "iocd-sim: at most %ld %s\n", MAX_PER_SUBSYSTEM, SUBSYSTEMS[i].what);
            return -1;
        }
        total += o->counts[i];
    }
    if (total == 0) {
        fprintf(stderr, "iocd-sim: no devices to simulate\n");
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------- schedule -- */

static int devices_create(const struct options *o, struct device **out, size_t *n_out)
{
    size_t n = 0;
    for (size_t i = 0; i < NSUB; i++)
        n += (size_t)o->counts[i];
    struct device *dev = calloc(n, sizeof *dev);
    if (!dev)
        return -1;
    size_t k = 0;
    for (size_t i = 0; i < NSUB; i++) {
        const struct subsystem *s = &SUBSYSTEMS[i];
        for (long num = 1; num <= o->counts[i]; num++, k++) {
            struct device *d = &dev[k];
            d->sys = i;
            snprintf(d->id, sizeof d->id, "%s%0*ld", s->id_prefix, s->id_width, num);
            int len = snprintf(d->topic, sizeof d->topic, "%s/%s/%s/%s", o->prefix, s->name,
                               d->id, s->leaf);
            if (len < 0 || (size_t)len >= sizeof d->topic) {
                free(dev);
                return -1;
            }
            uint64_t mix = o->seed ^ ((uint64_t)(i + 1) << 56) ^ (uint64_t)num;
            splitmix64(&mix);
            d->rng = splitmix64(&mix);
            if (d->rng == 0)
                d->rng = 0x853C49E6748FEA9BULL;
            d->interval_us = llround(o->intervals[i] * 1e6);
            d->next_due_us = (int64_t)(rng_uniform(&d->rng) * (double)d->interval_us);
            d->last_ms = NO_SAMPLE;
        }
    }
    *out = dev;
    *n_out = n;
    return 0;
}

static int due_before(const struct device *dev, size_t a, size_t b)
{
    return dev[a].next_due_us < dev[b].next_due_us ||
           (dev[a].next_due_us == dev[b].next_due_us && a < b);
}

static void heap_sift_down(size_t *heap, size_t n, const struct device *dev, size_t pos)
{
    for (;;) {
        size_t l = 2 * pos + 1, r = l + 1, m = pos;
        if (l < n && due_before(dev, heap[l], heap[m]))
            m = l;
        if (r < n && due_before(dev, heap[r], heap[m]))
            m = r;
        if (m == pos)
            return;
        size_t tmp = heap[pos];
        heap[pos] = heap[m];
        heap[m] = tmp;
        pos = m;
    }
}

/* --------------------------------------------------------- MQTT side -- */

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

struct app {
    const struct options *opt;
    struct mosquitto *mosq;
    pthread_mutex_t lock; /* guards inflight, connected, got_connack, connack_rc */
    pthread_cond_t cond;
    long inflight;
    int connected;
    int got_connack;
    int connack_rc;
    /* main thread only */
    struct device *dev;
    size_t ndev;
    size_t *heap;
    uint64_t published, failed;
    int fatal;
    int64_t t_begin_us, next_status_us, last_status_us;
    uint64_t last_status_published;
    int64_t last_sim_ms;
};

static void on_connect(struct mosquitto *mosq, void *obj, int rc)
{
    struct app *a = obj;
    (void)mosq;
    pthread_mutex_lock(&a->lock);
    a->got_connack = 1;
    a->connack_rc = rc;
    a->connected = (rc == 0);
    if (rc == 0 && a->opt->qos == 0)
        a->inflight = 0; /* QoS 0 packets queued before a reconnect are gone */
    pthread_cond_broadcast(&a->cond);
    pthread_mutex_unlock(&a->lock);
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc)
{
    struct app *a = obj;
    (void)mosq;
    (void)rc;
    pthread_mutex_lock(&a->lock);
    a->connected = 0;
    pthread_mutex_unlock(&a->lock);
}

static void on_publish(struct mosquitto *mosq, void *obj, int mid)
{
    struct app *a = obj;
    (void)mosq;
    (void)mid;
    pthread_mutex_lock(&a->lock);
    if (a->inflight > 0)
        a->inflight--;
    pthread_cond_signal(&a->cond);
    pthread_mutex_unlock(&a->lock);
}

/* Waits on the condition variable until 'deadline_us' (monotonic) at the latest. */
static void cond_wait_until(struct app *a, int64_t deadline_us)
{
    struct timespec ts = mono_timespec(deadline_us);
    pthread_cond_timedwait(&a->cond, &a->lock, &ts);
}

static void maybe_status(struct app *a)
{
    int64_t now = mono_us();
    if (a->opt->quiet || now < a->next_status_us)
        return;
    pthread_mutex_lock(&a->lock);
    long inflight = a->inflight;
    int connected = a->connected;
    pthread_mutex_unlock(&a->lock);
    double span = (double)(now - a->last_status_us) / 1e6;
    double rate = span > 0 ? (double)(a->published - a->last_status_published) / span : 0.0;
    char iso[32], sim[48] = "";
    if (a->opt->fast && a->last_sim_ms != NO_SAMPLE &&
        format_local_iso(a->last_sim_ms, iso, sizeof iso) == 0)
        snprintf(sim, sizeof sim, " sim=%s", iso);
    fprintf(stderr, "iocd-sim: %.1f s published=%" PRIu64 " rate=%.1f msg/s inflight=%ld%s%s",
            (double)(now - a->t_begin_us) / 1e6, a->published, rate, inflight,
            connected ? "" : " DISCONNECTED", sim);
    if (a->failed)
        fprintf(stderr, " failed=%" PRIu64, a->failed);
    fputc('\n', stderr);
    a->last_status_us = now;
    a->last_status_published = a->published;
    a->next_status_us += STATUS_PERIOD_US;
    if (a->next_status_us <= now)
        a->next_status_us = now + STATUS_PERIOD_US;
}

/* Sleeps until the monotonic time 'target_us'; -1 if interrupted by a stop signal. */
static int sleep_until(struct app *a, int64_t target_us)
{
    for (;;) {
        if (g_stop)
            return -1;
        int64_t now = mono_us();
        if (now >= target_us)
            return 0;
        int64_t until = target_us - now > SLEEP_SLICE_US ? now + SLEEP_SLICE_US : target_us;
        struct timespec ts = mono_timespec(until);
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
        maybe_status(a);
    }
}

/* Takes one in-flight slot, waiting while --max-inflight are outstanding. */
static int acquire_slot(struct app *a)
{
    for (;;) {
        pthread_mutex_lock(&a->lock);
        if (a->inflight < a->opt->max_inflight) {
            a->inflight++;
            pthread_mutex_unlock(&a->lock);
            return 0;
        }
        cond_wait_until(a, mono_us() + 100000);
        pthread_mutex_unlock(&a->lock);
        if (g_stop)
            return -1;
        maybe_status(a);
    }
}

/* Samples device 'd' at 'now_ms' and publishes it: 0 sent or dropped (broker away),
 * -1 stop (a->fatal set on errors that retrying cannot fix). */
static int publish_sample(struct app *a, struct device *d, int64_t now_ms)
{
    struct sample s = { .now_ms = now_ms, .hour = local_hour(now_ms),
                        .interval_s = a->opt->intervals[d->sys] };
    s.dt_s = d->last_ms == NO_SAMPLE ? s.interval_s : (double)(now_ms - d->last_ms) / 1000.0;
    s.dt_s = clampd(s.dt_s, 0.001, 86400.0);
    d->last_ms = now_ms;
    a->last_sim_ms = now_ms;

    char payload[PAYLOAD_MAX];
    int len = SUBSYSTEMS[d->sys].payload(d, &s, payload, sizeof payload);
    d->primed = 1;
    if (len < 0) {
        fprintf(stderr, "iocd-sim: payload for %s does not fit\n", d->id);
        a->fatal = 1;
        return -1;
    }
    if (acquire_slot(a) != 0)
        return -1;
    int rc = mosquitto_publish(a->mosq, NULL, d->topic, len, payload, a->opt->qos, false);
    if (rc == MOSQ_ERR_SUCCESS) {
        a->published++;
        return 0;
    }
    pthread_mutex_lock(&a->lock);
    if (a->inflight > 0)
        a->inflight--;
    pthread_mutex_unlock(&a->lock);
    if (rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST) { /* broker away: drop it */
        a->failed++;
        return sleep_until(a, mono_us() + 100000) < 0 ? -1 : 0;
    }
    fprintf(stderr, "iocd-sim: publish to %s failed: %s\n", d->topic, mosquitto_strerror(rc));
    a->fatal = 1;
    return -1;
}

static int count_reached(const struct app *a)
{
    return a->opt->count && a->published >= a->opt->count;
}

/* Per-device intervals: a min-heap on each device's next due time. */
static void run_schedule(struct app *a)
{
    const struct options *o = a->opt;
    int64_t base = o->fast ? o->start_ms * 1000 : a->t_begin_us;
    int64_t deadline = o->duration_s > 0 ? base + llround(o->duration_s * 1e6) : INT64_MAX;
    for (size_t i = 0; i < a->ndev; i++) {
        a->dev[i].next_due_us += base;
        a->heap[i] = i;
    }
    for (size_t i = a->ndev / 2; i-- > 0;)
        heap_sift_down(a->heap, a->ndev, a->dev, i);

    while (!g_stop && !count_reached(a)) {
        struct device *d = &a->dev[a->heap[0]];
        int64_t due = d->next_due_us, now_ms;
        if (o->fast) {
            if (due >= deadline)
                break;
            now_ms = floor_div(due, 1000);
        } else {
            if (sleep_until(a, due < deadline ? due : deadline) != 0 || mono_us() >= deadline)
                break;
            now_ms = wall_ms();
        }
        if (publish_sample(a, d, now_ms) != 0)
            break;
        d->next_due_us = due + d->interval_us;
        if (!o->fast) { /* fell behind: skip missed slots, keep the phase */
            int64_t now = mono_us();
            if (d->next_due_us < now)
                d->next_due_us += (now - d->next_due_us) / d->interval_us * d->interval_us +
                                  d->interval_us;
        }
        heap_sift_down(a->heap, a->ndev, a->dev, 0);
        maybe_status(a);
    }
}

/* --rate R: round robin over all devices, R messages per (real or simulated) second. */
static void run_rate(struct app *a)
{
    const struct options *o = a->opt;
    double step_ms = o->rate > 0 ? 1000.0 / o->rate : 1.0; /* simulated, fast mode */
    int64_t sim_end = o->start_ms + llround(o->duration_s * 1000.0);
    int64_t deadline = o->duration_s > 0 ? a->t_begin_us + llround(o->duration_s * 1e6)
                                         : INT64_MAX;
    int64_t pace_base = a->t_begin_us;
    uint64_t k = 0, pace_k = 0;
    size_t next = 0;
    while (!g_stop && !count_reached(a)) {
        int64_t now_ms;
        if (o->fast) {
            now_ms = o->start_ms + (int64_t)floor((double)k * step_ms);
            if (o->duration_s > 0 && now_ms >= sim_end)
                break;
        } else {
            if (o->rate > 0) {
                int64_t target = pace_base + (int64_t)((double)(k - pace_k) * 1e6 / o->rate);
                if (sleep_until(a, target < deadline ? target : deadline) != 0)
                    break;
                if (mono_us() > target + 1000000) { /* far behind: do not burst */
                    pace_base = mono_us();
                    pace_k = k;
                }
            }
            if (mono_us() >= deadline)
                break;
            now_ms = wall_ms();
        }
        if (publish_sample(a, &a->dev[next], now_ms) != 0)
            break;
        next = (next + 1) % a->ndev;
        k++;
        maybe_status(a);
    }
}

/* Connects, retrying for up to 10 s, and waits for the CONNACK. */
static int connect_broker(struct app *a)
{
    const struct options *o = a->opt;
    int64_t deadline = mono_us() + CONNECT_WINDOW_US;
    int rc;
    for (;;) {
        rc = mosquitto_connect(a->mosq, o->host, o->port, 30);
        if (rc == MOSQ_ERR_SUCCESS)
            break;
        if (g_stop || mono_us() >= deadline) {
            fprintf(stderr, "iocd-sim: cannot connect to %s:%d: %s\n", o->host, o->port,
                    rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
            return -1;
        }
        struct timespec ts = { 0, 250000000L };
        nanosleep(&ts, NULL);
    }
    /* The network thread must not take SIGINT/SIGTERM: keep them for main. */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    rc = mosquitto_loop_start(a->mosq);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, "iocd-sim: cannot start network thread: %s\n", mosquitto_strerror(rc));
        return -1;
    }
    if (deadline < mono_us() + 2000000)
        deadline = mono_us() + 2000000;
    pthread_mutex_lock(&a->lock);
    while (!a->got_connack && !g_stop && mono_us() < deadline)
        cond_wait_until(a, mono_us() + 100000 < deadline ? mono_us() + 100000 : deadline);
    int got = a->got_connack, crc = a->connack_rc;
    pthread_mutex_unlock(&a->lock);
    if (!got || crc != 0) {
        fprintf(stderr, "iocd-sim: broker %s:%d %s\n", o->host, o->port,
                got ? mosquitto_connack_string(crc) : "did not answer CONNECT");
        mosquitto_disconnect(a->mosq);
        mosquitto_loop_stop(a->mosq, true);
        return -1;
    }
    return 0;
}

/* Waits up to 5 s for outstanding acknowledgements; returns how many are left. */
static long drain(struct app *a)
{
    int64_t deadline = mono_us() + DRAIN_WINDOW_US;
    pthread_mutex_lock(&a->lock);
    while (a->inflight > 0 && mono_us() < deadline)
        cond_wait_until(a, mono_us() + 100000 < deadline ? mono_us() + 100000 : deadline);
    long left = a->inflight;
    pthread_mutex_unlock(&a->lock);
    return left;
}

static int run(struct app *a)
{
    const struct options *o = a->opt;
    a->mosq = mosquitto_new(o->client_id, true, a);
    if (!a->mosq) {
        fprintf(stderr, "iocd-sim: mosquitto_new: %s\n", strerror(errno));
        return 1;
    }
    long send_max = o->max_inflight > 65535 ? 65535 : o->max_inflight;
    mosquitto_int_option(a->mosq, MOSQ_OPT_SEND_MAXIMUM, (int)send_max);
    mosquitto_reconnect_delay_set(a->mosq, 1, 2, false);
    mosquitto_connect_callback_set(a->mosq, on_connect);
    mosquitto_disconnect_callback_set(a->mosq, on_disconnect);
    mosquitto_publish_callback_set(a->mosq, on_publish);
    if (connect_broker(a) != 0) {
        mosquitto_destroy(a->mosq);
        return 1;
    }

    a->t_begin_us = a->last_status_us = mono_us();
    a->next_status_us = a->t_begin_us + STATUS_PERIOD_US;
    a->last_sim_ms = NO_SAMPLE;
    if (o->rate >= 0)
        run_rate(a);
    else
        run_schedule(a);

    long left = drain(a);
    int64_t t_end = mono_us();
    if (left > 0)
        fprintf(stderr, "iocd-sim: %ld message(s) unacknowledged after 5 s\n", left);
    if (a->failed > 0)
        fprintf(stderr, "iocd-sim: %" PRIu64 " message(s) dropped while disconnected\n",
                a->failed);
    mosquitto_disconnect(a->mosq);
    mosquitto_loop_stop(a->mosq, false);
    mosquitto_destroy(a->mosq);

    double secs = (double)(t_end - a->t_begin_us) / 1e6;
    printf("published %" PRIu64 " messages in %.3f s (%.1f msg/s)\n", a->published, secs,
           secs > 0 ? (double)a->published / secs : 0.0);
    return a->fatal ? 1 : 0;
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: sleeps wake up */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
}

int main(int argc, char **argv)
{
    struct options o = { .host = "127.0.0.1", .port = 1883, .qos = 1, .prefix = "pleiku",
                         .scale = 1, .rate = -1.0, .seed = 1, .max_inflight = 1000 };
    snprintf(o.client_id, sizeof o.client_id, "iocd-sim-%ld", (long)getpid());
    int prc = parse_options(argc, argv, &o);
    if (prc != 0)
        return prc > 0 ? 0 : 2;

    struct app a;
    memset(&a, 0, sizeof a);
    a.opt = &o;
    if (devices_create(&o, &a.dev, &a.ndev) != 0) {
        fprintf(stderr, "iocd-sim: cannot create devices (out of memory or topic too long)\n");
        return 1;
    }
    a.heap = calloc(a.ndev, sizeof *a.heap);
    pthread_condattr_t ca;
    int sync_ok = pthread_condattr_init(&ca) == 0;
    if (sync_ok) {
        sync_ok = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0 &&
                  pthread_cond_init(&a.cond, &ca) == 0;
        pthread_condattr_destroy(&ca);
    }
    if (sync_ok && pthread_mutex_init(&a.lock, NULL) != 0) {
        pthread_cond_destroy(&a.cond);
        sync_ok = 0;
    }
    if (!a.heap || !sync_ok) {
        fprintf(stderr, "iocd-sim: cannot allocate scheduler state\n");
        if (sync_ok) {
            pthread_cond_destroy(&a.cond);
            pthread_mutex_destroy(&a.lock);
        }
        free(a.heap);
        free(a.dev);
        return 1;
    }

    install_signals();
    mosquitto_lib_init();
    int rc = run(&a);
    mosquitto_lib_cleanup();

    pthread_cond_destroy(&a.cond);
    pthread_mutex_destroy(&a.lock);
    free(a.heap);
    free(a.dev);
    return rc;
}
