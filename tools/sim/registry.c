/*
 * tools/sim/registry.c: the device registry iocd-sim writes for its Pleiku
 * (--write-registry FILE; the format is iocd's, docs/registry.md): one CSV
 * row per device as iocd names it (source = the feed's [adapter] name in
 * config/iocd.conf, device as that adapter reads it), with a Vietnamese
 * display name, a position, the ward it lies in, the subsystem and tags.
 *
 * Owns: nothing beyond one call. Positions come from the feed models where
 * they have one (weather stations, rain gauges, cameras, car parks, fire
 * panels' buildings); the other fixed devices are placed near a ward's
 * centre by their number, without touching their random streams (the
 * feed's output does not change with or without a registry). Buses move:
 * no fixed position, their GPS says where they are.
 */
#include "sim.h"

#include <math.h>
#include <string.h>

size_t ward_nearest(double lat, double lon)
{
    size_t best = 0;
    double bd = INFINITY;
    for (size_t i = 0; i < NWARDS; i++) {
        double dy = WARDS[i].lat - lat, dx = (WARDS[i].lon - lon) * cos(lat * PI / 180.0);
        double dd = dx * dx + dy * dy;
        if (dd < bd) {
            bd = dd;
            best = i;
        }
    }
    return best;
}

struct writer {
    FILE *f;
    const char *source, *subsystem;
};

/* A CSV field: quoted when it holds a comma, a quote or a line break. */
static void csv_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static int write_row(void *ud, const struct sim_registry_row *r)
{
    struct writer *w = ud;
    csv_field(w->f, w->source);
    fputc(',', w->f);
    csv_field(w->f, r->device);
    fputc(',', w->f);
    csv_field(w->f, r->name);
    if (isnan(r->lat))
        fputs(",,", w->f);
    else
        fprintf(w->f, ",%.5f,%.5f", r->lat, r->lon);
    fputc(',', w->f);
    csv_field(w->f, r->area);
    fputc(',', w->f);
    csv_field(w->f, w->subsystem);
    fputc(',', w->f);
    csv_field(w->f, r->tags);
    fputc('\n', w->f);
    return ferror(w->f) ? -1 : 0;
}

/* The display name of a device of feed `name`, by what it is. */
static const char *label(const char *name)
{
    static const struct {
        const char *feed, *label;
    } labels[] = {
        {"air", "Trạm quan trắc không khí"}, {"traffic", "Bộ đếm giao thông"},
        {"water", "Trạm đo mực nước"},        {"weather", "Trạm khí tượng"},
        {"rain", "Trạm đo mưa"},              {"violations", "Camera giao thông"},
        {"lighting", "Tủ điện chiếu sáng"},
    };
    for (size_t i = 0; i < sizeof labels / sizeof labels[0]; i++)
        if (strcmp(labels[i].feed, name) == 0)
            return labels[i].label;
    return name;
}

/* One row for a device with no registry hook of its own. */
static int default_row(const struct device *d, struct writer *w)
{
    const struct subsystem *s = &SUBSYSTEMS[d->sys];
    char id[64], name[160];
    double lat, lon;
    size_t ward;
    const char *tags = "";
    if (s->emit == weather_emit || s->emit == rain_emit || s->emit == violation_emit) {
        lat = s->emit == weather_emit ? d->st.weather.lat
              : s->emit == rain_emit  ? d->st.rain.lat
                                      : d->st.camera.lat;
        lon = s->emit == weather_emit ? d->st.weather.lon
              : s->emit == rain_emit  ? d->st.rain.lon
                                      : d->st.camera.lon;
        ward = s->emit == violation_emit ? d->st.camera.ward : ward_nearest(lat, lon);
    } else {
        /* Near a ward's centre, spread by the device's number. */
        size_t u = d->unit;
        ward = (u * 5 + d->sys) % NWARDS;
        lat = WARDS[ward].lat + 0.0005 * (double)((u * 7) % 13) - 0.003;
        lon = WARDS[ward].lon + 0.0005 * (double)((u * 11) % 13) - 0.003;
    }
    if (s->emit == weather_emit)
        snprintf(id, sizeof id, "urn:dev:pleiku:%s", d->id); /* the SenML base name */
    else
        snprintf(id, sizeof id, "%s", d->id);
    if (s->emit == lighting_emit && d->unit == 0)
        snprintf(name, sizeof name, "Nút biên chiếu sáng %s", d->id), tags = "edge-node";
    else
        snprintf(name, sizeof name, "%s %s, %s", label(s->name), d->id, WARDS[ward].name);
    const struct sim_registry_row r = {id, name, WARDS[ward].name, tags, lat, lon};
    return write_row(w, &r);
}

int sim_registry_write(FILE *f, const struct device *dev, size_t n)
{
    fputs("source,device,name,lat,lon,area,subsystem,tags\n", f);
    for (size_t k = 0; k < n; k++) {
        const struct device *d = &dev[k];
        const struct subsystem *s = &SUBSYSTEMS[d->sys];
        if (s->emit == reports_emit) /* citizens, not devices */
            continue;
        struct writer w = {f, s->name, s->name};
        int rc = s->registry ? s->registry(d, write_row, &w) : default_row(d, &w);
        if (rc)
            return -1;
    }
    return fflush(f) == 0 && !ferror(f) ? 0 : -1;
}
