/*
 * tools/sim/sim.h: what iocd-sim's main program (tools/iocd-sim.c: options,
 * schedule, MQTT session) and its feed models (tools/sim/feed_*.c) share:
 * the PRNG, simulated-time helpers, payload builders, Pleiku geography, the
 * city rain field, the device record and the feed table.
 *
 * A feed is one row of SUBSYSTEMS[] (tools/sim/feeds.c). The main program
 * turns a feed's count (stations, cameras, buses, ...) into scheduler
 * devices, each with its own PRNG stream, and calls the feed's emit function
 * whenever a device is due; emit writes at most one MQTT message and says
 * when the device is due next.
 */
#ifndef IOCD_SIM_H
#define IOCD_SIM_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#define LOCAL_OFFSET_S (7 * 3600) /* Indochina Time, no DST */
#define PI 3.14159265358979323846
#define TOPIC_MAX 192
#define NO_SAMPLE INT64_MIN
#define SIM_NSUB 11 /* rows in SUBSYSTEMS[] */

#if defined(__GNUC__)
#define SIM_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define SIM_PRINTF(f, a)
#endif

/* ---------------------------------------------------------------- PRNG -- */

uint64_t splitmix64(uint64_t *s);
uint64_t rng_next(uint64_t *s);             /* xorshift64*; state never zero */
double rng_uniform(uint64_t *s);            /* [0, 1) */
double rng_range(uint64_t *s, double lo, double hi);
double rng_normal(uint64_t *s);             /* Box-Muller, one value */
long rng_poisson(uint64_t *s, double mean);
long rng_int(uint64_t *s, long lo, long hi); /* uniform in [lo, hi] */
size_t rng_pick(uint64_t *s, const double *weights, size_t n); /* index by weight */
/* A PRNG state derived from 'seed' and two stream labels; never zero. */
uint64_t rng_stream(uint64_t seed, uint64_t a, uint64_t b);
/* Exact Ornstein-Uhlenbeck step: mean 0, stationary std sigma, time constant tau. */
double ou_step(double x, double dt, double tau, double sigma, uint64_t *s);
double clampd(double v, double lo, double hi); /* NaN/inf -> middle of the range */

/* ------------------------------------------------------------- time -- */

int64_t floor_div(int64_t a, int64_t b);
double local_hour(int64_t epoch_ms);       /* UTC+7 hour of day in [0, 24) */
double wrap_hour(double h);
int64_t local_day(int64_t epoch_ms);       /* days since 1970-01-01, local calendar */
int64_t local_midnight_ms(int64_t epoch_ms);
int local_weekday(int64_t epoch_ms);       /* 0 = Sunday */
int local_year(int64_t epoch_ms);
double local_day_of_year(int64_t epoch_ms); /* 0 = Jan 1 00:00, fractional */
/* "2026-11-22T17:04:05+07:00" / "2026-11-22T10:04:05Z" */
int format_local_iso(int64_t epoch_ms, char *buf, size_t cap);
int format_utc_iso(int64_t epoch_ms, char *buf, size_t cap);
/* A monthly climate table (Jan..Dec, mid-month values) read smoothly at 'epoch_ms'. */
double monthly(const double table[12], int64_t epoch_ms);

/* ---------------------------------------------------- diurnal shapes -- */

double sigmoid(double x);
double bump(double x, double mu, double width);
double traffic_profile(double hour); /* ~1.0 at the 07:00 and 17:15 peaks */
double temp_shape(double hour);      /* 0 at 05:00, 1 at 14:00 */

/*
 * Event timing for the Poisson feeds: a rate that follows 'shape' (a pure
 * function of time, periodic over a week) and averages one event per
 * mean_gap_s. poisson_gap_us draws the time to the next event from 'now_ms'
 * by thinning, so fast replays and real time see the same process.
 */
struct rate_profile {
    double (*shape)(int64_t epoch_ms);
    double mean, max; /* filled on first use */
};
int64_t poisson_gap_us(uint64_t *rng, int64_t now_ms, double mean_gap_s, struct rate_profile *p);

/* ---------------------------------------------------------- payloads -- */

/* A bounded text builder; 'overflow' sticks once something did not fit. */
struct sbuf {
    char *p;
    size_t len, cap;
    int overflow;
};
void sb_init(struct sbuf *b, void *mem, size_t cap);
void sb_printf(struct sbuf *b, const char *fmt, ...) SIM_PRINTF(2, 3);
void sb_puts(struct sbuf *b, const char *s);
void sb_json_string(struct sbuf *b, const char *s); /* quoted, escaped; UTF-8 kept */

/* ---------------------------------------------------------- Pleiku -- */

#define PLEIKU_LAT 13.9833
#define PLEIKU_LON 108.0016

struct ward {
    const char *name;
    double lat, lon; /* rough centre, for simulated positions only */
};
extern const struct ward WARDS[];
extern const size_t NWARDS;
extern const char *const STREETS[];
extern const size_t NSTREETS;
size_t ward_index(const char *name); /* NWARDS if unknown */

/*
 * The city rain field: storms drawn per local day from the seed (how many
 * follows the rainy season, May to October), each drifting across the city
 * with its own footprint. Pure functions of (seed, place, time): weather
 * stations, rain gauges and citizen reports all see the same showers.
 */
double rain_rate(uint64_t seed, double lat, double lon, int64_t epoch_ms); /* mm/h */
double rain_amount(uint64_t seed, double lat, double lon, int64_t from_ms, int64_t to_ms); /* mm */

/* ----------------------------------------------------------- devices -- */

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

struct weather_state {
    double lat, lon, p_offset, t_offset, n_temp, n_dew, n_wind, n_press, wet;
    double rain_mm;       /* since local midnight */
    int64_t rain_day;     /* local day of rain_mm */
    int64_t rain_upto_ms; /* rain_mm covers [midnight, rain_upto_ms) */
};

struct rain_state {
    double lat, lon, cal, n_cal;
};

struct camera_state {
    double lat, lon;
    size_t ward;
    int limit_kmh, lanes;
};

struct panel_state {
    size_t building;
    int zones;
};

struct cabinet_state {
    int lamps, failures;
    double lamp_w, standby_kw, pf, v_offset, energy_kwh, n_v, n_p;
    unsigned born_gen; /* edge-node birth this cabinet's DBIRTH belongs to */
    uint64_t alias_base;
};

union device_state {
    struct air_state air;
    struct traffic_state traffic;
    struct water_state water;
    struct weather_state weather;
    struct rain_state rain;
    struct camera_state camera;
    struct panel_state panel;
    struct cabinet_state cabinet;
};

struct device {
    size_t sys;       /* index into SUBSYSTEMS */
    size_t unit;      /* 0-based index of this device within its feed */
    char id[24];
    char topic[TOPIC_MAX];
    uint64_t rng;
    int64_t interval_us;
    int64_t next_due_us;
    int64_t last_ms;
    int primed;
    union device_state st;
    void *ext;        /* feed-owned state that does not fit the union */
    struct device *first; /* first device of the same feed */
};

struct sample {
    int64_t now_ms;    /* timestamp written into the payload */
    double hour;       /* local hour of day of now_ms */
    double dt_s;       /* seconds since this device's previous sample */
    double interval_s; /* configured interval of the device's feed */
    uint64_t seed;     /* --seed, for the shared city models */
};

/* What emit fills in. topic starts as the device's topic, buf/cap is the
 * payload space, next_gap_us starts as the device's interval. */
struct emit {
    const char *topic;
    unsigned char *buf;
    size_t cap;
    size_t len;
    int64_t next_gap_us; /* time to the device's next call */
    int idle;            /* 1: do not call again until woken (lighting edge node) */
};

/* Returns 1 with a message in e, 0 for nothing to send now, -1 if it does not fit. */
typedef int (*emit_fn)(struct device *d, const struct sample *s, struct emit *e);

/* What a feed's init sees besides its device. */
struct feed_setup {
    const char *prefix;  /* topic prefix */
    uint64_t seed;
    long count;          /* the feed's --NAME count */
    size_t ndev;         /* scheduler devices made for it */
    int64_t start_ms;    /* simulated (or wall) clock at the start */
    double interval_s;
};

/* One row of the registry iocd-sim writes (--write-registry; registry.c):
 * the device as iocd names it, and what the city knows about it. lat/lon
 * NaN: no fixed position (a bus). */
struct sim_registry_row {
    const char *device, *name, *area, *tags;
    double lat, lon;
};
typedef int (*sim_registry_row_fn)(void *ud, const struct sim_registry_row *row);

struct subsystem {
    const char *name;          /* --feeds name, --NAME and --interval-NAME, topic level */
    const char *what;          /* --help: what --NAME counts */
    const char *id_prefix;     /* id = prefix + zero-padded number */
    int id_width;
    const char *leaf;          /* last topic level */
    long default_count;
    double default_interval_s;
    const char *interval_help; /* --help: what --interval-NAME sets */
    const char *topic_help;    /* --help: format and topic */
    emit_fn emit;
    /* Optional: scheduler devices for 'count' units (default: one each). */
    size_t (*devices)(long count);
    /* Optional: after the default id/topic/rng/phase; may replace them. */
    int (*init)(struct device *d, const struct feed_setup *fs);
    /* Optional: releases d->ext (default: free(d->ext)). */
    void (*destroy)(struct device *d);
    /* Optional: the registry rows of a device whose units live in d->ext
     * (default: one row for d, registry.c); 0 or the first row's error. */
    int (*registry)(const struct device *d, sim_registry_row_fn row, void *ud);
};

/* registry.c: the rows of every device of dev[0..n) as a CSV registry
 * (docs/registry.md) on f; 0, or -1 when writing failed. */
int sim_registry_write(FILE *f, const struct device *dev, size_t n);
/* The ward whose centre is nearest to (lat, lon). */
size_t ward_nearest(double lat, double lon);

extern const struct subsystem SUBSYSTEMS[SIM_NSUB];

/* Writes "<prefix>/<a>/<b>/<c>" into d->topic; -1 if too long. */
int device_topic(struct device *d, const char *prefix, const char *a, const char *b,
                 const char *c);
/* Sets e->len from an snprintf result; 1, or -1 if it did not fit. */
int emit_finish(struct emit *e, int n);
int emit_sbuf(struct emit *e, const struct sbuf *b);

/* Feed emit/init functions (tools/sim/feed_*.c). */
int air_emit(struct device *d, const struct sample *s, struct emit *e);
int traffic_emit(struct device *d, const struct sample *s, struct emit *e);
int water_emit(struct device *d, const struct sample *s, struct emit *e);
int weather_emit(struct device *d, const struct sample *s, struct emit *e);
int weather_init(struct device *d, const struct feed_setup *fs);
int rain_emit(struct device *d, const struct sample *s, struct emit *e);
int rain_init(struct device *d, const struct feed_setup *fs);
int violation_emit(struct device *d, const struct sample *s, struct emit *e);
int violation_init(struct device *d, const struct feed_setup *fs);
int fire_emit(struct device *d, const struct sample *s, struct emit *e);
int fire_init(struct device *d, const struct feed_setup *fs);
int reports_emit(struct device *d, const struct sample *s, struct emit *e);
int reports_init(struct device *d, const struct feed_setup *fs);
void reports_destroy(struct device *d);
int bus_emit(struct device *d, const struct sample *s, struct emit *e);
int bus_init(struct device *d, const struct feed_setup *fs);
size_t bus_devices(long count);
int parking_registry(const struct device *d, sim_registry_row_fn row, void *ud);
int bus_registry(const struct device *d, sim_registry_row_fn row, void *ud);
int fire_registry(const struct device *d, sim_registry_row_fn row, void *ud);
int parking_emit(struct device *d, const struct sample *s, struct emit *e);
int parking_init(struct device *d, const struct feed_setup *fs);
size_t parking_devices(long count);
int lighting_emit(struct device *d, const struct sample *s, struct emit *e);
int lighting_init(struct device *d, const struct feed_setup *fs);
size_t lighting_devices(long count);

/*
 * The lighting feed's Sparkplug B session, driven by the main program: the
 * edge node is the feed's first device. lighting_rebirth makes the next
 * calls publish NBIRTH (with bdseq) and every DBIRTH again, before any DDATA.
 * lighting_death writes the NDEATH topic and payload (no seq) for bdseq.
 * lighting_is_rebirth_cmd says whether an NCMD payload asks for a rebirth.
 */
#define LIGHTING_NCMD_TOPIC "spBv1.0/pleiku-lighting/NCMD/GL-LC-EDGE1"
void lighting_rebirth(struct device *edge, uint64_t bdseq);
int lighting_death(uint64_t bdseq, int64_t ts_ms, char *topic, size_t topic_cap,
                   unsigned char *buf, size_t cap, size_t *len);
int lighting_is_rebirth_cmd(const void *payload, size_t len);

#endif
