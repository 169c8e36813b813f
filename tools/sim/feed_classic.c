/*
 * tools/sim/feed_classic.c: iocd-sim's first three feeds, JSON over MQTT:
 * air-quality stations (<prefix>/air/<id>/data), traffic counters
 * (<prefix>/traffic/<id>/count) and water-level gauges
 * (<prefix>/water/<id>/level). Their payloads are frozen: the same seed and
 * options must keep giving the same bytes, so these models do not change.
 */
#include "sim.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>

int air_emit(struct device *d, const struct sample *s, struct emit *e)
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
    return emit_finish(e, snprintf((char *)e->buf, e->cap,
        "{\"station\":\"%s\",\"ts\":\"%s\",\"pm25\":%.1f,\"pm10\":%.1f,\"no2\":%.1f,"
        "\"temp\":%.1f,\"rh\":%.1f}", d->id, ts, pm25, pm10, no2, temp, rh));
}

int traffic_emit(struct device *d, const struct sample *s, struct emit *e)
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
    return emit_finish(e, snprintf((char *)e->buf, e->cap,
        "{\"counter\":\"%s\",\"time_ms\":%" PRId64 ",\"vehicles\":%ld,\"speed_kmh\":%.1f,"
        "\"interval_s\":%.6g}", d->id, s->now_ms, vehicles, speed, s->interval_s));
}

int water_emit(struct device *d, const struct sample *s, struct emit *e)
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
    return emit_finish(e, snprintf((char *)e->buf, e->cap,
        "{\"gauge\":\"%s\",\"t\":%" PRId64 ",\"level_cm\":%.1f,\"battery_v\":%.2f}",
        d->id, floor_div(s->now_ms, 1000), level, battery));
}
