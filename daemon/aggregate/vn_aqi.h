/* daemon/aggregate/vn_aqi.h — the Vietnam air quality index (VN_AQI) of Decision
 * 1459/QĐ-TCMT (12 Nov 2019) of the Vietnam Environment Administration:
 * sub-indices, NowCast, hourly and daily index, categories.
 *
 * Owns: the breakpoint tables (Table 2 of the decision), the category table
 * (Table 1), and struct iocd_aqi_station, a fixed-size per-station tracker
 * of recent hourly means that the caller embeds or allocates once
 * (sizeof = 4,944 bytes on LP64; nothing is allocated per hour or ever).
 * No global mutable state: every function is pure or touches only the
 * station passed in; one station is not synchronised.
 *
 * All concentrations are µg/m³ — CO too (10,000 µg/m³ = 10 mg/m³).
 * Times are ms since the Unix epoch, UTC; an hourly mean is keyed by the
 * start of its hour (the decision labels it by its end: the mean keyed
 * 00:00 is the decision's "01:00").
 *
 * Return codes: 0 success;
 *   IOCD_AQI_ENONE  (-1) no value: the decision defines none for these
 *                        inputs (negative or non-finite concentration, O3
 *                        8-h mean above 400, NowCast without 2 of the 3
 *                        latest hours, no PM sub-index, too few hours);
 *   IOCD_AQI_EINVAL (-2) invalid argument (NULL, pollutant or form out of
 *                        range, time not on an hour / local midnight, ...);
 *   IOCD_AQI_ESTALE (-3) put_hour: hour older than the ring, ignored.
 * Outputs are left untouched on EINVAL, except that a result struct given
 * is always filled (reason set).
 *
 * Rules, sources and the choices made where the decision is silent:
 * docs/vn_aqi.md. */
#ifndef IOCD_VN_AQI_H
#define IOCD_VN_AQI_H

#include <stdint.h>

#define IOCD_AQI_ENONE (-1)
#define IOCD_AQI_EINVAL (-2)
#define IOCD_AQI_ESTALE (-3)

#define IOCD_AQI_HOUR_MS 3600000LL
#define IOCD_AQI_DAY_MS 86400000LL
/* Hours each pollutant's ring keeps (the newest hour put and the 47 before). */
#define IOCD_AQI_RING_HOURS 48
/* Hours a NowCast looks back over (c1 = the hour itself ... c12). */
#define IOCD_AQI_NOWCAST_HOURS 12
/* Completeness (the decision sets none; 75 % as in US EPA practice):
 * a daily 24-h mean or daily maximum 1-h mean needs 18 valid hours of the
 * 24, an 8-h mean 6 valid hours of its 8, a daily maximum 8-h mean 18 valid
 * 8-h means of the day's 24. */
#define IOCD_AQI_DAILY_MIN_HOURS 18
#define IOCD_AQI_8H_MIN_HOURS 6
#define IOCD_AQI_DAILY_MIN_8H 18
/* O3: the 8-h form is not used above this 8-h mean (µg/m³). */
#define IOCD_AQI_O3_8H_MAX 400.0

enum iocd_aqi_pollutant {
    IOCD_AQI_PM25,
    IOCD_AQI_PM10,
    IOCD_AQI_O3,
    IOCD_AQI_CO,
    IOCD_AQI_SO2,
    IOCD_AQI_NO2,
    IOCD_AQI__COUNT
};

/* Averaging form of a concentration, in hours. PM2.5 and PM10 have one
 * table, used for the NowCast (hourly index) and the 24-h mean (daily
 * index); O3 has a 1-h and an 8-h table; CO, SO2, NO2 only a 1-h table. */
enum iocd_aqi_form {
    IOCD_AQI_FORM_1H = 1,
    IOCD_AQI_FORM_8H = 8,
    IOCD_AQI_FORM_24H = 24,
    IOCD_AQI_FORM_NOWCAST = 24
};

/* Unrounded sub-index AQI_x of concentration c (µg/m³), by linear
 * interpolation in the band BP_i <= c < BP_i+1 of Table 2:
 *   AQI_x = I_i + (I_i+1 - I_i) * (c - BP_i) / (BP_i+1 - BP_i).
 * c at or above the top breakpoint gives 500 (the table's "≥" row); for
 * the O3 8-h form c = 400 gives 300 and c > 400 is ENONE. ENONE for c < 0,
 * NaN or infinite; EINVAL for a form the pollutant has no table for. */
int iocd_aqi_sub_index(enum iocd_aqi_pollutant p, int form, double conc_ugm3, double *aqi);

/* The reported integer: round half up (x.5 -> x+1; values within 1e-9 below
 * a half, floating-point noise of decimal inputs, count as the half).
 * ENONE (-1) for a negative, non-finite or absurd (> 1e9) value. */
int iocd_aqi_round(double aqi);

/* NowCast of PM2.5 or PM10 from n <= 12 hourly means, hourly[0] being the
 * latest hour (c1). valid[i] nonzero marks hourly[i] as data; valid may be
 * NULL (all valid). ENONE unless at least 2 of hourly[0..2] are valid.
 *   w* = c_min / c_max over the valid hours; w = w* if w* > 1/2, else 1/2;
 *   NowCast = sum w^i c_i / sum w^i over the valid hours (i from 0).
 * All valid hours 0 gives 0. EINVAL if n is not 1..12 or a valid value is
 * negative or non-finite (invalid slots are never read). */
int iocd_aqi_nowcast(const double *hourly, const unsigned char *valid, int n, double *out);

/* Category of an integer index (Table 1 of the decision): returns the
 * English name, sets *vi_name to the decision's Vietnamese name and
 * *color_hex to "#RRGGBB" of its RGB code (either pointer may be NULL).
 * 0-50 Good, 51-100 Moderate, 101-150 Unhealthy for sensitive groups,
 * 151-200 Unhealthy, 201-300 Very unhealthy, 301-500 Hazardous; above 500
 * still Hazardous. NULL (and NULLs stored) for aqi < 0. Static strings. */
const char *iocd_aqi_category(int aqi, const char **vi_name, const char **color_hex);

/* Start of the local calendar day holding utc_ms, on the local time scale
 * (local midnight as ms since 1970-01-01T00:00 local time), for a zone
 * tz_offset_ms ahead of UTC (Vietnam: 7 * IOCD_AQI_HOUR_MS). EINVAL if the
 * offset is not a whole number of hours within ±14 h. */
int iocd_aqi_floor_local_day(int64_t utc_ms, int64_t tz_offset_ms, int64_t *local_day_start_ms);

/* ---- per-station tracker ---- */

struct iocd_aqi_ring {
    int64_t newest;                         /* hour index (ms / 1 h) of the newest hour put */
    int64_t hour[IOCD_AQI_RING_HOURS];      /* hour index each slot holds; INT64_MIN empty */
    double mean[IOCD_AQI_RING_HOURS];       /* µg/m³ */
    unsigned char valid[IOCD_AQI_RING_HOURS];
};

struct iocd_aqi_station {
    struct iocd_aqi_ring ring[IOCD_AQI__COUNT];
};

struct iocd_aqi_result {
    int aqi;          /* the index, rounded; -1 when none */
    double aqi_raw;   /* the unrounded maximum of the sub-indices; -1 when none */
    int dominant;     /* enum iocd_aqi_pollutant of the largest sub-index
                       * (first in enum order on a tie); -1 when none */
    /* Per pollutant, also filled when the index itself has no value: */
    double sub[IOCD_AQI__COUNT];  /* unrounded sub-index; -1 when none */
    double conc[IOCD_AQI__COUNT]; /* concentration it was computed from; -1 when none */
    int form[IOCD_AQI__COUNT];    /* IOCD_AQI_FORM_* that gave sub[]; 0 when none */
    int hours[IOCD_AQI__COUNT];   /* valid hourly means found (hourly: of the
                                   * 12 NowCast hours for PM, of 1 otherwise;
                                   * daily: of the day's 24) */
    /* O3, daily: both forms (hourly: the 1-h one; the 8-h one is -1). */
    double o3_1h_conc, o3_1h_sub; /* daily maximum 1-h mean and its sub-index */
    double o3_8h_conc, o3_8h_sub; /* daily maximum 8-h mean and its sub-index
                                   * (sub -1 when that mean is above 400) */
    const char *reason; /* NULL on success; a static string otherwise:
                         * "no PM data", "day older than the ring",
                         * "invalid argument" */
};

/* Empties the station. */
void iocd_aqi_station_init(struct iocd_aqi_station *st);

/* Records the mean of the hour starting at hour_start_ms (a whole hour, UTC)
 * for pollutant p; valid = 0 records the hour as missing. A later put for
 * the same hour replaces it; hours may arrive in any order. An hour more
 * than IOCD_AQI_RING_HOURS - 1 hours older than the newest hour put for p
 * is ignored (ESTALE); a newer one advances the ring, forgetting what
 * falls out. EINVAL (nothing changed) for a bad pollutant, an hour start
 * not on a whole hour, or a valid mean that is negative or not finite. */
int iocd_aqi_station_put_hour(struct iocd_aqi_station *st, enum iocd_aqi_pollutant p,
                              int64_t hour_start_ms, double mean_ugm3, int valid);

/* Hourly index (AQI^h) of the hour starting at hour_start_ms: max of the
 * sub-indices of the 1-h means of O3 (1-h table), CO, SO2, NO2 of that hour
 * and of the NowCasts of PM2.5 and PM10 ending with that hour. ENONE with
 * reason "no PM data" when neither PM NowCast exists. */
int iocd_aqi_station_hourly(const struct iocd_aqi_station *st, int64_t hour_start_ms,
                            struct iocd_aqi_result *r);

/* Daily index (AQI^d) of a local calendar day. local_day_start_ms is local
 * midnight on the local time scale (see iocd_aqi_floor_local_day; a
 * multiple of IOCD_AQI_DAY_MS); the day is the 24 hours whose UTC starts
 * are local_day_start_ms - tz_offset_ms + k h, k = 0..23 (Vietnam, +7 h:
 * 17:00 UTC of the day before to 16:00 UTC). PM: 24-h mean; CO, SO2, NO2:
 * maximum 1-h mean; O3: the larger of the sub-indices of the maximum 1-h
 * mean and of the maximum 8-h mean (the 8-h mean ending with each of the
 * day's hours, so the 7 hours before the day count too), the 8-h form
 * dropped when that maximum is above 400. Completeness: see
 * IOCD_AQI_DAILY_MIN_HOURS. A pollutant whose ring no longer holds every
 * hour the day needs gives no sub-index: compute the day at the latest
 * while the newest hour put starts at 16:00 local time of the next day
 * (O3, which needs the 7 hours before the day) or 23:00 (the others).
 * ENONE, reason "no PM data" (or "day older than the ring" when a PM ring
 * has moved past the day) when neither PM sub-index exists. EINVAL also
 * for an offset that is not a whole number of hours within ±14 h. */
int iocd_aqi_station_daily(const struct iocd_aqi_station *st, int64_t local_day_start_ms,
                           int64_t tz_offset_ms, struct iocd_aqi_result *r);

#endif
