/*
 * tools/sim/feed_weather.c: iocd-sim's weather stations and rain gauges.
 *
 * weather: SenML JSON (RFC 8428) on <prefix>/weather/<id>/senml, one pack
 * per message: temperature, humidity, wind speed, station pressure (Pleiku
 * is ~750 m up: ~925 hPa) and the rain sum since local midnight.
 * rain: a bare number on <prefix>/rain/<id>/intensity, mm/h.
 * Both read the shared city rain field (simlib.c), so a shower shows on the
 * gauges it crosses, in the stations' rain sums, and in their humidity.
 */
#include "sim.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>

/* Pleiku climate, mid-month values Jan..Dec. */
static const double TMIN[12] = { 14.5, 15.5, 17.5, 19.5, 20.5, 20.5, 20.0, 20.0, 19.5, 18.5, 17.0, 15.0 };
static const double TMAX[12] = { 25.5, 27.5, 29.5, 30.5, 29.5, 27.0, 26.0, 25.5, 26.0, 26.0, 25.5, 24.5 };
static const double TDEW[12] = { 12.0, 12.0, 14.0, 17.0, 20.0, 20.5, 20.5, 20.5, 20.0, 19.0, 17.0, 14.0 };
/* Afternoon wind, m/s: north-east monsoon in the dry season, south-west in summer. */
static const double WIND[12] = { 4.0, 4.0, 3.5, 2.8, 2.5, 3.2, 3.5, 3.5, 2.8, 2.8, 3.5, 4.0 };
static const double PSEASON[12] = { 2.5, 2.0, 1.0, -0.5, -1.5, -2.0, -2.0, -2.0, -1.0, 0.5, 1.5, 2.5 };

struct site {
    double lat, lon, extra; /* extra: pressure offset (hPa) or gauge calibration */
};

static const struct site STATIONS[] = {
    { 13.9833, 108.0016, 0.0 },  /* city centre */
    { 14.0045, 108.0172, -1.2 }, /* north, by the airport: a little higher */
    { 13.9552, 108.0142, 1.4 },  /* south, Trà Bá: a little lower */
};

static const struct site GAUGES[] = {
    { 13.9840, 108.0030, 1.00 }, { 14.0148, 108.0236, 0.97 }, { 13.9598, 108.0372, 1.03 },
    { 13.9868, 107.9885, 0.98 }, { 13.9552, 108.0142, 1.02 }, { 14.0042, 108.0125, 0.99 },
};

static struct site site_for(const struct site *tab, size_t n, size_t unit, uint64_t *r,
                            double extra_lo, double extra_hi)
{
    if (unit < n)
        return tab[unit];
    struct site s = { PLEIKU_LAT + rng_range(r, -0.05, 0.05), PLEIKU_LON + rng_range(r, -0.05, 0.05),
                      rng_range(r, extra_lo, extra_hi) };
    return s;
}

int weather_init(struct device *d, const struct feed_setup *fs)
{
    (void)fs;
    struct weather_state *w = &d->st.weather;
    struct site s = site_for(STATIONS, sizeof STATIONS / sizeof STATIONS[0], d->unit, &d->rng,
                             -2.0, 2.0);
    w->lat = s.lat;
    w->lon = s.lon;
    w->p_offset = s.extra;
    w->t_offset = rng_range(&d->rng, -0.6, 0.6);
    w->rain_upto_ms = NO_SAMPLE;
    return 0;
}

int weather_emit(struct device *d, const struct sample *s, struct emit *e)
{
    struct weather_state *w = &d->st.weather;
    uint64_t *r = &d->rng;
    int64_t now = s->now_ms;
    double dt = s->dt_s, h = s->hour;

    int64_t day = local_day(now);
    if (w->rain_upto_ms == NO_SAMPLE || day != w->rain_day || now < w->rain_upto_ms) {
        w->rain_mm = rain_amount(s->seed, w->lat, w->lon, local_midnight_ms(now), now);
        w->rain_day = day;
    } else {
        w->rain_mm += rain_amount(s->seed, w->lat, w->lon, w->rain_upto_ms, now);
    }
    w->rain_upto_ms = now;
    double rate = rain_rate(s->seed, w->lat, w->lon, now);
    w->wet += (clampd(rate / 4.0, 0.0, 1.0) - w->wet) * (1.0 - exp(-dt / 1200.0));
    w->wet = clampd(w->wet, 0.0, 1.0);

    w->n_temp = ou_step(w->n_temp, dt, 3.0 * 3600.0, 0.7, r);
    w->n_dew = ou_step(w->n_dew, dt, 6.0 * 3600.0, 1.0, r);
    w->n_wind = ou_step(w->n_wind, dt, 300.0, 0.7, r);
    w->n_press = ou_step(w->n_press, dt, 36.0 * 3600.0, 1.5, r);

    double tmin = monthly(TMIN, now), tmax = monthly(TMAX, now);
    double temp = tmin + (tmax - tmin) * temp_shape(h) + w->t_offset + w->n_temp - 4.0 * w->wet;
    temp = clampd(temp, 5.0, 38.0);
    double dew = monthly(TDEW, now) + w->n_dew + 2.0 * w->wet;
    if (dew > temp - 0.3)
        dew = temp - 0.3;
    double rh = 100.0 * exp(17.625 * dew / (243.04 + dew) - 17.625 * temp / (243.04 + temp));
    rh += (97.0 - rh) * w->wet;
    rh = clampd(rh, 20.0, 100.0);
    double wind = monthly(WIND, now) * (0.35 + 0.9 * bump(h, 14.5, 3.5)) + w->n_wind + 3.0 * w->wet;
    wind = clampd(wind, 0.0, 25.0);
    double press = 925.0 + monthly(PSEASON, now) + w->p_offset +
                   1.2 * cos(2.0 * PI * (h - 10.0) / 12.0) + 0.4 * cos(2.0 * PI * (h - 5.0) / 24.0) +
                   w->n_press;
    press = clampd(press, 900.0, 945.0);

    return emit_finish(e, snprintf((char *)e->buf, e->cap,
        "[{\"bn\":\"urn:dev:pleiku:%s:\",\"bt\":%" PRId64 ",\"n\":\"temperature\",\"u\":\"Cel\","
        "\"v\":%.1f},{\"n\":\"humidity\",\"u\":\"%%RH\",\"v\":%.0f},{\"n\":\"wind_speed\","
        "\"u\":\"m/s\",\"v\":%.1f},{\"n\":\"pressure\",\"u\":\"hPa\",\"v\":%.1f},"
        "{\"n\":\"rain\",\"u\":\"mm\",\"s\":%.1f}]",
        d->id, floor_div(now, 1000), temp, rh, wind, press, clampd(w->rain_mm, 0.0, 2000.0)));
}

int rain_init(struct device *d, const struct feed_setup *fs)
{
    (void)fs;
    struct rain_state *g = &d->st.rain;
    struct site s = site_for(GAUGES, sizeof GAUGES / sizeof GAUGES[0], d->unit, &d->rng,
                             0.95, 1.05);
    g->lat = s.lat;
    g->lon = s.lon;
    g->cal = s.extra;
    return 0;
}

int rain_emit(struct device *d, const struct sample *s, struct emit *e)
{
    struct rain_state *g = &d->st.rain;
    g->n_cal = ou_step(g->n_cal, s->dt_s, 900.0, 0.05, &d->rng);
    double mmh = rain_rate(s->seed, g->lat, g->lon, s->now_ms) * g->cal * (1.0 + g->n_cal);
    mmh = clampd(mmh, 0.0, 250.0);
    return emit_finish(e, snprintf((char *)e->buf, e->cap, "%.1f", mmh));
}
