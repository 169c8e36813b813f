/*
 * tools/sim/feed_reports.c: iocd-sim's citizen reports from the city app,
 * JSON events on <prefix>/reports/app/event (more sources: app2, app3, ...).
 *
 * New reports arrive as a Poisson process (more in the daytime; flooding and
 * fallen trees while it rains, per the shared rain field), each with a
 * Vietnamese description of its category. Every report then moves through
 * new -> received -> assigned -> in_progress -> resolved (or received ->
 * rejected), each step a message with the same id, its own updated_at and
 * the original reported_at. Steps wait for office hours where a city crew
 * would. The source keeps its open reports in a min-heap on the time of
 * their next step and always publishes whichever comes first, a new report
 * or a step; with --rate the stamps are the paced clock and the order is
 * kept.
 */
#include "sim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_OPEN 50000 /* open reports per source; past it, steps go first */

enum { C_POTHOLE, C_FLOODING, C_PARKING, C_GARBAGE, C_STREETLIGHT, C_NOISE, C_TREE, C_N };
static const char *const CATEGORIES[C_N] = {
    "pothole", "flooding", "illegal_parking", "garbage", "broken_streetlight", "noise",
    "fallen_tree",
};

/* Description = before + street name + after. */
struct phrase {
    const char *before, *after;
};
#define NPHRASES 3
static const struct phrase PHRASES[C_N][NPHRASES] = {
    [C_POTHOLE] = {
        { "Ổ gà lớn giữa đường ", ", xe máy dễ té ngã" },
        { "Mặt đường ", " bị sụt lún, nhiều ổ gà" },
        { "Hố sâu trên đường ", " gần ngã tư, chưa có biển cảnh báo" } },
    [C_FLOODING] = {
        { "Nước ngập sâu trên đường ", ", nhiều xe máy chết máy" },
        { "Cống thoát nước đường ", " bị tắc, nước tràn lên mặt đường" },
        { "Ngập úng cục bộ tại đường ", " sau mưa lớn" } },
    [C_PARKING] = {
        { "Xe đỗ trên vỉa hè đường ", "" },
        { "Ô tô đỗ chắn lối vào hẻm trên đường ", "" },
        { "Xe tải đỗ sai quy định gây ùn tắc đường ", "" } },
    [C_GARBAGE] = {
        { "Rác thải chất đống ven đường ", " chưa được thu gom" },
        { "Bãi rác tự phát trên đường ", " bốc mùi hôi" },
        { "Thùng rác công cộng đường ", " bị tràn" } },
    [C_STREETLIGHT] = {
        { "Đèn đường trên đường ", " không sáng" },
        { "Đèn chiếu sáng đường ", " bị chập chờn" },
        { "Cả dãy đèn đường ", " bị tắt từ tối qua" } },
    [C_NOISE] = {
        { "Karaoke gây ồn sau 22 giờ trên đường ", "" },
        { "Công trình trên đường ", " thi công ban đêm gây ồn" },
        { "Quán nhậu mở nhạc lớn trên đường ", "" } },
    [C_TREE] = {
        { "Cây đổ chắn ngang đường ", "" },
        { "Cành cây lớn gãy đè lên vỉa hè đường ", "" },
        { "Cây xanh nghiêng có nguy cơ đổ trên đường ", "" } },
};

enum { S_NEW, S_RECEIVED, S_ASSIGNED, S_IN_PROGRESS, S_RESOLVED, S_REJECTED };
static const char *const STATUSES[] = {
    "new", "received", "assigned", "in_progress", "resolved", "rejected",
};
enum { SEV_MINOR, SEV_MAJOR, SEV_CRITICAL };
static const char *const SEVERITIES[] = { "minor", "major", "critical" };

struct report {
    int64_t due_ms;      /* when 'status' is announced (the source's own clock) */
    int64_t reported_ms; /* stamp of the report's 'new' message */
    uint32_t num;
    int year;
    uint8_t cat, phrase, street, ward, sev, status;
    double lat, lon;
};

struct reports_state {
    struct report *heap;
    size_t n, cap;
    int64_t next_new_ms; /* when the next new report arrives */
    uint64_t counter;    /* last sequence number used this year */
    int counter_year;
    size_t nsrc;
};

static double reports_shape(int64_t ms)
{
    double h = local_hour(ms);
    return 0.08 + bump(h, 9.5, 2.2) + 0.8 * bump(h, 15.0, 2.2) + 0.6 * bump(h, 20.0, 1.5);
}

static struct rate_profile reports_rate = { reports_shape, 0.0, 0.0 };

/* ------------------------------------------------------------- heap -- */

static int before(const struct report *a, const struct report *b)
{
    return a->due_ms < b->due_ms || (a->due_ms == b->due_ms && a->num < b->num);
}

static int heap_push(struct reports_state *st, const struct report *r)
{
    if (st->n == st->cap) {
        size_t cap = st->cap ? st->cap * 2 : 64;
        struct report *h = realloc(st->heap, cap * sizeof *h);
        if (!h)
            return -1;
        st->heap = h;
        st->cap = cap;
    }
    size_t i = st->n++;
    st->heap[i] = *r;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!before(&st->heap[i], &st->heap[p]))
            break;
        struct report t = st->heap[i];
        st->heap[i] = st->heap[p];
        st->heap[p] = t;
        i = p;
    }
    return 0;
}

static struct report heap_pop(struct reports_state *st)
{
    struct report top = st->heap[0];
    st->heap[0] = st->heap[--st->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < st->n && before(&st->heap[l], &st->heap[m]))
            m = l;
        if (r < st->n && before(&st->heap[r], &st->heap[m]))
            m = r;
        if (m == i)
            break;
        struct report t = st->heap[i];
        st->heap[i] = st->heap[m];
        st->heap[m] = t;
        i = m;
    }
    return top;
}

/* ----------------------------------------------------------- timing -- */

static int64_t minutes(uint64_t *r, double lo, double hi)
{
    return (int64_t)llround(rng_range(r, lo, hi) * 60000.0);
}

/* The first office moment (Mon-Sat 07:00-17:00) at or after t, plus a morning backlog. */
static int64_t office_time(int64_t t, uint64_t *r)
{
    for (int i = 0; i < 8; i++) {
        double h = local_hour(t);
        int wd = local_weekday(t);
        if (wd != 0 && h >= 7.0 && h < 17.0)
            return t;
        int64_t midnight = local_midnight_ms(t);
        if (wd != 0 && h < 7.0)
            return midnight + 7 * 3600000LL + minutes(r, 0.0, 90.0);
        t = midnight + 86400000LL + 7 * 3600000LL; /* tomorrow 07:00, checked again */
    }
    return t;
}

/* Schedules the step after rep->status from time vt; 0 if the report is closed. */
static int next_step(struct report *rep, int64_t vt, uint64_t *r)
{
    /* Critical ones, and what the ward police handle on the spot, go round the clock. */
    int urgent = rep->sev == SEV_CRITICAL || rep->cat == C_PARKING || rep->cat == C_NOISE;
    switch (rep->status) {
    case S_NEW: {
        double h = local_hour(vt);
        rep->status = S_RECEIVED;
        if ((h >= 6.5 && h < 21.0) || urgent)
            rep->due_ms = vt + minutes(r, 2.0, 25.0);
        else
            rep->due_ms = local_midnight_ms(vt) + (h >= 21.0 ? 86400000LL : 0) +
                          (int64_t)(6.5 * 3600000.0) + minutes(r, 0.0, 60.0);
        return 1;
    }
    case S_RECEIVED:
        if (rng_uniform(r) < 0.08) { /* duplicate, or not the city's to fix */
            rep->status = S_REJECTED;
            rep->due_ms = vt + minutes(r, 5.0, 60.0);
        } else {
            rep->status = S_ASSIGNED;
            rep->due_ms = urgent ? vt + minutes(r, 5.0, 20.0)
                                 : office_time(vt + minutes(r, 10.0, 120.0), r);
        }
        return 1;
    case S_ASSIGNED:
        rep->status = S_IN_PROGRESS;
        if (urgent)
            rep->due_ms = vt + minutes(r, 10.0, 40.0);
        else if (rep->sev == SEV_MAJOR)
            rep->due_ms = vt + minutes(r, 30.0, 240.0);
        else
            rep->due_ms = office_time(vt + minutes(r, 120.0, 48.0 * 60.0), r);
        return 1;
    case S_IN_PROGRESS: {
        static const double HOURS[C_N][2] = {
            [C_POTHOLE] = { 6.0, 120.0 }, [C_FLOODING] = { 1.0, 5.0 },
            [C_PARKING] = { 0.25, 1.0 },  [C_GARBAGE] = { 1.0, 10.0 },
            [C_STREETLIGHT] = { 3.0, 72.0 }, [C_NOISE] = { 0.3, 1.5 },
            [C_TREE] = { 1.0, 6.0 },
        };
        rep->status = S_RESOLVED;
        rep->due_ms = vt + minutes(r, HOURS[rep->cat][0] * 60.0, HOURS[rep->cat][1] * 60.0);
        return 1;
    }
    default:
        return 0;
    }
}

/* ------------------------------------------------------------- feed -- */

int reports_init(struct device *d, const struct feed_setup *fs)
{
    struct reports_state *st = calloc(1, sizeof *st);
    if (!st)
        return -1;
    d->ext = st;
    st->nsrc = fs->ndev;
    /* The year's numbering has been running: start where it would be today. */
    st->counter_year = local_year(fs->start_ms);
    double per_day = 86400.0 / fs->interval_s;
    st->counter = (uint64_t)(local_day_of_year(fs->start_ms) * per_day) +
                  (uint64_t)rng_int(&d->rng, 0, 99);
    int64_t gap = poisson_gap_us(&d->rng, fs->start_ms, fs->interval_s, &reports_rate);
    st->next_new_ms = fs->start_ms + gap / 1000;
    d->next_due_us = gap / 1000 * 1000;
    /* The first source is "app" as the city's app backend names it; more: app2, app3... */
    if (d->unit == 0)
        snprintf(d->id, sizeof d->id, "app");
    else
        snprintf(d->id, sizeof d->id, "app%zu", d->unit + 1);
    return device_topic(d, fs->prefix, "reports", d->id, "event");
}

void reports_destroy(struct device *d)
{
    struct reports_state *st = d->ext;
    if (st)
        free(st->heap);
    free(st);
    d->ext = NULL;
}

static void new_report(struct device *d, const struct sample *s, struct report *rep)
{
    struct reports_state *st = d->ext;
    uint64_t *r = &d->rng;
    double h = s->hour;
    double wet = clampd(rain_rate(s->seed, PLEIKU_LAT, PLEIKU_LON, s->now_ms) / 10.0, 0.0, 1.0);
    int day = h >= 6.5 && h < 19.0, dark = h >= 18.0 || h < 6.0;
    double w[C_N] = {
        [C_POTHOLE] = 0.18 + 0.1 * wet,
        [C_FLOODING] = 0.03 + 0.6 * wet,
        [C_PARKING] = day ? 0.32 : 0.12,
        [C_GARBAGE] = 0.20,
        [C_STREETLIGHT] = dark ? 0.25 : 0.06,
        [C_NOISE] = (h >= 20.0 || h < 1.0) ? 0.30 : 0.07,
        [C_TREE] = 0.02 + 0.15 * wet,
    };
    memset(rep, 0, sizeof *rep);
    rep->cat = (uint8_t)rng_pick(r, w, C_N);
    static const double SEV_W[C_N][3] = {
        [C_POTHOLE] = { 0.6, 0.4, 0.0 },  [C_FLOODING] = { 0.0, 0.6, 0.4 },
        [C_PARKING] = { 1.0, 0.0, 0.0 },  [C_GARBAGE] = { 0.8, 0.2, 0.0 },
        [C_STREETLIGHT] = { 0.85, 0.15, 0.0 }, [C_NOISE] = { 1.0, 0.0, 0.0 },
        [C_TREE] = { 0.0, 0.6, 0.4 },
    };
    rep->sev = (uint8_t)rng_pick(r, SEV_W[rep->cat], 3);
    rep->phrase = (uint8_t)rng_int(r, 0, NPHRASES - 1);
    rep->street = (uint8_t)rng_int(r, 0, (long)NSTREETS - 1);
    rep->ward = (uint8_t)rng_int(r, 0, (long)NWARDS - 1);
    rep->lat = WARDS[rep->ward].lat + rng_range(r, -0.006, 0.006);
    rep->lon = WARDS[rep->ward].lon + rng_range(r, -0.006, 0.006);
    int year = local_year(s->now_ms);
    if (year != st->counter_year) {
        st->counter_year = year;
        st->counter = 0;
    }
    st->counter++;
    rep->num = (uint32_t)((st->counter * st->nsrc + d->unit) % 1000000);
    rep->year = year;
    rep->reported_ms = s->now_ms;
    rep->status = S_NEW;
}

int reports_emit(struct device *d, const struct sample *s, struct emit *e)
{
    struct reports_state *st = d->ext;
    struct report rep;
    int64_t vt;
    if (st->n > 0 && (st->heap[0].due_ms <= st->next_new_ms || st->n >= MAX_OPEN)) {
        rep = heap_pop(st);
        vt = rep.due_ms;
    } else {
        vt = st->next_new_ms;
        new_report(d, s, &rep);
        st->next_new_ms = vt + poisson_gap_us(&d->rng, vt, s->interval_s, &reports_rate) / 1000;
    }

    char reported[40], updated[40];
    if (format_local_iso(rep.reported_ms, reported, sizeof reported) != 0 ||
        format_local_iso(s->now_ms, updated, sizeof updated) != 0)
        return -1;
    const struct phrase *ph = &PHRASES[rep.cat][rep.phrase];
    char text[256];
    snprintf(text, sizeof text, "%s%s%s", ph->before, STREETS[rep.street], ph->after);
    struct sbuf b;
    sb_init(&b, e->buf, e->cap);
    sb_printf(&b, "{\"id\":\"PK-%04d-%06u\",\"category\":\"%s\",\"description\":", rep.year,
              (unsigned)rep.num, CATEGORIES[rep.cat]);
    sb_json_string(&b, text);
    sb_puts(&b, ",\"ward\":");
    sb_json_string(&b, WARDS[rep.ward].name);
    sb_printf(&b, ",\"status\":\"%s\",\"severity\":\"%s\",\"reported_at\":\"%s\","
                  "\"updated_at\":\"%s\",\"location\":{\"type\":\"Point\","
                  "\"coordinates\":[%.4f,%.4f]}}",
              STATUSES[rep.status], SEVERITIES[rep.sev], reported, updated, rep.lon, rep.lat);

    if (next_step(&rep, vt, &d->rng) && heap_push(st, &rep) != 0)
        fprintf(stderr, "iocd-sim: out of memory: report PK-%04d-%06u closed early\n", rep.year,
                (unsigned)rep.num);
    int64_t next = st->next_new_ms;
    if (st->n > 0 && st->heap[0].due_ms < next)
        next = st->heap[0].due_ms;
    e->next_gap_us = next > s->now_ms ? (next - s->now_ms) * 1000 : 0;
    return emit_sbuf(e, &b);
}
