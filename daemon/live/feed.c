/* daemon/live/feed.c — the live feed: accepted data in, live items out (feed.h).
 *
 * Owns: per series (by registry id) its name, unit and latest value, and
 * one open window per [live] windows resolution; the device table; the
 * alert engine; the 1 s timer. Every item is formatted once (JSON always,
 * protobuf only when republish wants it) and handed to the hub, which
 * gives it to the MQTT republisher and every live-stream client. */
#include "daemon/live/feed.h"
#include "daemon/base/severity.h"
#include "daemon/base/topic.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/aggregate/agg.h"
#include "daemon/base/buf.h"
#include "daemon/base/log.h"
#include "daemon/base/timeutil.h"

#define MAX_LIVE_RES IOCD_MAX_RESOLUTIONS

struct open_window {
    int64_t start_ms; /* 0 / count 0: none open */
    uint64_t count;
    double sum, min, max, first, last;
    int64_t first_ms, last_ms;
};

/* A closed window waiting for its device's WindowBatch. */
struct closed_window {
    const struct series_state *s; /* its series (stable until the feed is freed) */
    int r;                        /* index into [live] windows */
    struct open_window w;
};

struct series_state {
    char *name;  /* "SOURCE/DEVICE/METRIC" then NUL then unit; owned */
    size_t source_len, device_len;
    double value;
    int64_t time_ms, received_ms;
    struct open_window *win; /* [live] windows.n of them, or NULL; owned */
};

struct iocd_feed {
    uv_loop_t *loop;
    const struct iocd_config *cfg;
    struct iocd_live *live;
    struct iocd_devices *devices;
    struct iocd_alerts *alerts;
    iocd_feed_store_event_fn store_event;
    void *store_ud;
    struct series_state *series; /* by registry id */
    size_t n_series;
    int64_t next_close_ms[MAX_LIVE_RES]; /* earliest end + grace of an open window; 0 none */
    bool build_pb;
    uv_timer_t tick;
    bool tick_started;
    /* The device of the last observation handed in, so one message with
     * several metrics counts as one message of its device. */
    char last_dev[2 * 130];
    int64_t last_dev_ms;
    /* The observations of the message being ingested, for the batched
     * republish (IOCD_LIVE_OBS_BATCH): copies of the structs, whose strings
     * stay valid until iocd_feed_message_end. Reused, grown as needed. */
    Ioc__V1__Observation *msg_obs;
    Ioc__V1__Observation **msg_ptr;
    size_t n_msg_obs, cap_msg_obs;
    /* Windows closed since the last flush_windows, for the batched
     * republish (IOCD_LIVE_WINDOW_BATCH); reused, grown as needed. */
    struct closed_window *closed;
    size_t n_closed, cap_closed;
    struct iocd_feed_stats stats;
};

static const char *severity_name(int s)
{
    const char *n = iocd_severity_name(s);
    return n ? n : "unspecified";
}

/* JSON of one item, written into an iocd_buf. */
static void jb_str(struct iocd_buf *b, const char *s)
{
    iocd_buf_append(b, "\"", 1);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        char esc[8];
        if (*c == '"' || *c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*c;
            iocd_buf_append(b, esc, 2);
        } else if (*c < 0x20) {
            snprintf(esc, sizeof(esc), "\\u%04x", *c);
            iocd_buf_append(b, esc, 6);
        } else {
            iocd_buf_append(b, (const char *)c, 1);
        }
    }
    iocd_buf_append(b, "\"", 1);
}

static void jb_key_str(struct iocd_buf *b, const char *key, const char *v)
{
    iocd_buf_append(b, ",\"", b->len ? 2 : 1);
    iocd_buf_puts(b, key);
    iocd_buf_append(b, "\":", 2);
    jb_str(b, v);
}

static void jb_key_num(struct iocd_buf *b, const char *key, double v)
{
    char num[40];
    iocd_json_number(num, sizeof(num), v);
    iocd_buf_append(b, ",\"", 2);
    iocd_buf_puts(b, key);
    iocd_buf_append(b, "\":", 2);
    iocd_buf_puts(b, num);
}

static void jb_key_int(struct iocd_buf *b, const char *key, int64_t v)
{
    char num[32];
    snprintf(num, sizeof(num), "%" PRId64, v);
    iocd_buf_append(b, ",\"", 2);
    iocd_buf_puts(b, key);
    iocd_buf_append(b, "\":", 2);
    iocd_buf_puts(b, num);
}

static void jb_key_time(struct iocd_buf *b, const char *key, int64_t ms)
{
    char ts[40], k2[40];
    iocd_time_format(ms, ts, sizeof(ts));
    jb_key_str(b, key, ts);
    snprintf(k2, sizeof(k2), "%s_ms", key);
    jb_key_int(b, k2, ms);
}

static void jb_open(struct iocd_buf *b, const char *type)
{
    iocd_buf_reset(b);
    iocd_buf_puts(b, "{\"type\":");
    jb_str(b, type);
}

static void jb_close(struct iocd_buf *b)
{
    iocd_buf_append(b, "}", 1);
}

/* Emit one item: JSON in `b`, protobuf packed from `msg` when wanted. */
/* The forms the hub's sinks want of an item of `kind` now (hub.h); 0:
 * nobody listens, so the caller builds nothing and the item is only
 * counted. */
static unsigned wanted(struct iocd_feed *f, enum iocd_live_kind kind)
{
    unsigned need = iocd_live_needs(f->live, kind);
    if (!need)
        f->stats.items[kind]++;
    return need;
}

/* Hand an item to the hub with the forms `need` asks for: the JSON in `b`
 * (built by the caller only when need has IOCD_LIVE_JSON) and `msg` packed
 * as protobuf only when need has IOCD_LIVE_PB. */
static void emit(struct iocd_feed *f, enum iocd_live_kind kind, const char *key, struct iocd_buf *b,
                 const ProtobufCMessage *msg, bool retain, unsigned need)
{
    if (b->oom)
        return;
    uint8_t stack[2048];
    uint8_t *pb = NULL;
    size_t pb_len = 0;
    if ((need & IOCD_LIVE_PB) && msg) {
        pb_len = protobuf_c_message_get_packed_size(msg);
        pb = pb_len <= sizeof(stack) ? stack : malloc(pb_len);
        if (!pb)
            return;
        protobuf_c_message_pack(msg, pb);
    }
    f->stats.items[kind]++;
    iocd_live_emit(f->live, kind, key, b->p ? b->p : "", b->len, pb, pb_len, retain);
    if (pb && pb != stack)
        free(pb);
}

/* ---- device status ---- */

/* The status item of `d` as of `now`: to the hub, or (fn) to one sink. */
static void status_item(struct iocd_feed *f, const struct iocd_device_info *d, int64_t now,
                        iocd_live_sink_fn fn, void *ud)
{
    unsigned need = fn ? IOCD_LIVE_JSON | (f->build_pb ? IOCD_LIVE_PB : 0u)
                       : wanted(f, IOCD_LIVE_STATUS);
    if (!need)
        return;
    struct iocd_buf b;
    iocd_buf_init(&b);
    if (need & IOCD_LIVE_JSON) {
        jb_open(&b, "status");
        jb_key_str(&b, "source", d->source);
        jb_key_str(&b, "device", d->device);
        jb_key_str(&b, "state", iocd_device_state_name(d->state));
        jb_key_time(&b, "last_seen", d->last_seen_ms);
        jb_key_int(&b, "interval_ms", d->interval_ms);
        jb_key_time(&b, "time", now);
        jb_close(&b);
    }
    Ioc__V1__DeviceStatus st = IOC__V1__DEVICE_STATUS__INIT;
    st.source = (char *)d->source;
    st.device = (char *)d->device;
    st.state = (Ioc__V1__DeviceStatus__State)(d->state + 1);
    st.last_seen_ms = d->last_seen_ms;
    st.interval_ms = d->interval_ms;
    st.time_ms = now;
    char key[300];
    snprintf(key, sizeof(key), "status/%s/%s", d->source, d->device);
    if (!fn) {
        emit(f, IOCD_LIVE_STATUS, key, &b, &st.base, true, need);
    } else if (!b.oom) {
        size_t pb_len = protobuf_c_message_get_packed_size(&st.base);
        uint8_t *pb = f->build_pb ? malloc(pb_len ? pb_len : 1) : NULL;
        if (pb)
            protobuf_c_message_pack(&st.base, pb);
        struct iocd_live_item it = {.kind = IOCD_LIVE_STATUS, .key = key, .json = b.p,
                                    .json_len = b.len, .pb = pb, .pb_len = pb ? pb_len : 0,
                                    .retain = true};
        fn(ud, &it);
        free(pb);
    }
    iocd_buf_free(&b);
}

static void on_device_change(void *ud, const struct iocd_device_info *d,
                             enum iocd_device_state previous, bool is_new)
{
    (void)previous;
    (void)is_new;
    status_item(ud, d, iocd_now_ms(), NULL, NULL);
}

struct resend {
    struct iocd_feed *f;
    int64_t now;
    iocd_live_sink_fn fn;
    void *ud;
};

static void resend_one(void *ud, const struct iocd_device_info *d)
{
    struct resend *r = ud;
    status_item(r->f, d, r->now, r->fn, r->ud);
}

void iocd_feed_resend_status(struct iocd_feed *f, iocd_live_sink_fn fn, void *ud)
{
    struct resend r = {.f = f, .now = iocd_now_ms(), .fn = fn, .ud = ud};
    iocd_devices_foreach(f->devices, resend_one, &r);
}

/* ---- alerts ---- */

static void alert_json(struct iocd_buf *b, const struct iocd_alert_change *c, bool active)
{
    jb_open(b, "alert");
    jb_key_str(b, "id", c->id);
    jb_key_str(b, "rule", c->rule->name);
    jb_key_str(b, "state", c->raised || active ? "raised" : "cleared");
    jb_key_str(b, "severity", severity_name(c->severity));
    jb_key_str(b, "series", c->series);
    jb_key_str(b, "source", c->source);
    jb_key_str(b, "device", c->device);
    jb_key_num(b, "value", c->value);
    jb_key_num(b, "threshold", c->threshold);
    if (c->rule->type == IOCD_ALERT_BAND) {
        jb_key_int(b, "band", c->band);
        jb_key_int(b, "prev_band", c->prev_band);
    }
    jb_key_str(b, "text", c->text);
    jb_key_time(b, "time", c->time_ms);
    jb_key_time(b, "raised", c->raised_ms);
    jb_close(b);
}

static void on_alert(void *ud, const struct iocd_alert_change *c)
{
    struct iocd_feed *f = ud;
    if (c->raised)
        f->stats.alerts_raised++;
    else
        f->stats.alerts_cleared++;
    struct iocd_log_fields lf = {.feed = c->source, .series = c->series};
    iocd_log_fields(LOG_NOTICE, "alert", &lf, "%s %s: %s (value %g, threshold %g)", c->id,
                    c->raised ? "raised" : "cleared", c->text, c->value, c->threshold);
    unsigned need = wanted(f, IOCD_LIVE_ALERT);
    struct iocd_buf b;
    iocd_buf_init(&b);
    if (need & IOCD_LIVE_JSON)
        alert_json(&b, c, false);
    char value[40], threshold[40], raised_ms[32], band[16], prev_band[16];
    iocd_json_number(value, sizeof(value), c->value);
    iocd_json_number(threshold, sizeof(threshold), c->threshold);
    snprintf(raised_ms, sizeof(raised_ms), "%" PRId64, c->raised_ms);
    snprintf(band, sizeof(band), "%d", c->band);
    snprintf(prev_band, sizeof(prev_band), "%d", c->prev_band);
    Ioc__V1__Event__AttributesEntry attrs[9];
    Ioc__V1__Event__AttributesEntry *ap[9];
    const char *kv[][2] = {
        {"id", c->id},           {"rule", c->rule->name},         {"series", c->series},
        {"state", c->raised ? "raised" : "cleared"},              {"value", value},
        {"threshold", threshold}, {"raised_ms", raised_ms},        {"band", band},
        {"prev_band", prev_band},
    };
    size_t na = c->rule->type == IOCD_ALERT_BAND ? 9 : 7;
    for (size_t i = 0; i < na; i++) {
        ioc__v1__event__attributes_entry__init(&attrs[i]);
        attrs[i].key = (char *)kv[i][0];
        attrs[i].value = (char *)kv[i][1];
        ap[i] = &attrs[i];
    }
    Ioc__V1__Event e = IOC__V1__EVENT__INIT;
    e.kind = "alert";
    e.severity = (Ioc__V1__Severity)c->severity;
    e.text = (char *)c->text;
    e.device = (char *)c->device;
    e.time_ms = c->time_ms;
    e.n_attributes = na;
    e.attributes = ap;
    e.source = "iocd";
    e.status = c->raised ? "raised" : "cleared";
    e.area = "";
    e.received_ms = iocd_now_ms();
    char key[400];
    snprintf(key, sizeof(key), "alert/%s/%s/%s", c->rule->name, c->source, c->device);
    if (need)
        emit(f, IOCD_LIVE_ALERT, key, &b, &e.base, false, need);
    iocd_buf_free(&b);
    if (!f->store_event || f->store_event(f->store_ud, "iocd", &e))
        f->stats.alert_store_failures++;
}

/* ---- windows ---- */

/* Fill `pw` (strings in src and dev, 130 bytes each) from a closed window. */
static void window_pb(const struct iocd_feed *f, const struct series_state *s, int r,
                      const struct open_window *w, Ioc__V1__Window *pw, char *src, char *dev)
{
    int64_t res = f->cfg->live.windows.ms[r];
    snprintf(src, 130, "%.*s", (int)s->source_len, s->name);
    snprintf(dev, 130, "%.*s", (int)s->device_len, s->name + s->source_len + 1);
    ioc__v1__window__init(pw);
    pw->source = src;
    pw->device = dev;
    pw->metric = s->name + s->source_len + 1 + s->device_len + 1;
    pw->unit = s->name + strlen(s->name) + 1;
    pw->resolution_s = res / 1000;
    pw->start_ms = w->start_ms;
    pw->end_ms = w->start_ms + res;
    pw->count = w->count;
    pw->sum = w->sum;
    pw->min = w->min;
    pw->max = w->max;
    pw->mean = w->sum / (double)w->count;
    pw->first = w->first;
    pw->last = w->last;
}

/* Republish the windows closed since the last call: one WindowBatch per
 * device and resolution, in the order they closed. */
static void flush_windows(struct iocd_feed *f)
{
    size_t n = f->n_closed;
    f->n_closed = 0;
    if (!n)
        return;
    unsigned need = wanted(f, IOCD_LIVE_WINDOW_BATCH);
    if (!need)
        return;
    enum { MAX_BATCH = 64 };
    Ioc__V1__Window pw[MAX_BATCH];
    Ioc__V1__Window *pp[MAX_BATCH];
    char src[MAX_BATCH][130], dev[MAX_BATCH][130];
    for (size_t i = 0; i < n; i++) {
        const struct closed_window *c = &f->closed[i];
        if (!c->s)
            continue; /* taken into an earlier batch */
        const struct series_state *s = c->s;
        size_t k = 0;
        for (size_t j = i; j < n && k < MAX_BATCH; j++) {
            struct closed_window *d = &f->closed[j];
            /* Same resolution, source and device ("SOURCE/DEVICE/" alike). */
            if (!d->s || d->r != c->r || d->s->source_len != s->source_len ||
                d->s->device_len != s->device_len ||
                memcmp(d->s->name, s->name, s->source_len + 1 + s->device_len + 1) != 0)
                continue;
            window_pb(f, d->s, d->r, &d->w, &pw[k], src[k], dev[k]);
            pp[k] = &pw[k];
            k++;
            if (j != i)
                d->s = NULL;
        }
        Ioc__V1__WindowBatch b = IOC__V1__WINDOW_BATCH__INIT;
        b.n_windows = k;
        b.windows = pp;
        char rs[32], key[400];
        iocd_duration_format(f->cfg->live.windows.ms[c->r], rs, sizeof(rs));
        snprintf(key, sizeof(key), "window/%s/%.*s", rs, (int)(s->source_len + 1 + s->device_len),
                 s->name);
        struct iocd_buf empty;
        iocd_buf_init(&empty);
        emit(f, IOCD_LIVE_WINDOW_BATCH, key, &empty, &b.base, false, need);
        f->closed[i].s = NULL;
    }
}

static void window_keep(struct iocd_feed *f, const struct series_state *s, int r,
                        const struct open_window *w)
{
    if (f->n_closed == f->cap_closed) {
        size_t ncap = f->cap_closed ? f->cap_closed * 2 : 64;
        struct closed_window *nc = realloc(f->closed, ncap * sizeof(*nc));
        if (!nc)
            return;
        f->closed = nc;
        f->cap_closed = ncap;
    }
    f->closed[f->n_closed++] = (struct closed_window){.s = s, .r = r, .w = *w};
}

static void window_publish(struct iocd_feed *f, const struct series_state *s, int r,
                           const struct open_window *w)
{
    if (iocd_live_needs(f->live, IOCD_LIVE_WINDOW_BATCH))
        window_keep(f, s, r, w);
    unsigned need = wanted(f, IOCD_LIVE_WINDOW);
    if (!need)
        return; /* closing a window nobody listens to costs no formatting */
    int64_t res = f->cfg->live.windows.ms[r];
    char rs[32];
    iocd_duration_format(res, rs, sizeof(rs));
    const char *unit = s->name + strlen(s->name) + 1;
    struct iocd_buf b;
    iocd_buf_init(&b);
    if (need & IOCD_LIVE_JSON) {
        jb_open(&b, "window");
        jb_key_str(&b, "series", s->name);
        jb_key_str(&b, "unit", unit);
        jb_key_str(&b, "resolution", rs);
        jb_key_int(&b, "res_s", res / 1000);
        jb_key_time(&b, "start", w->start_ms);
        jb_key_int(&b, "end_ms", w->start_ms + res);
        jb_key_int(&b, "count", (int64_t)w->count);
        jb_key_num(&b, "sum", w->sum);
        jb_key_num(&b, "min", w->min);
        jb_key_num(&b, "max", w->max);
        jb_key_num(&b, "mean", w->sum / (double)w->count);
        jb_key_num(&b, "first", w->first);
        jb_key_num(&b, "last", w->last);
        jb_close(&b);
    }
    char src[130], dev[130];
    snprintf(src, sizeof(src), "%.*s", (int)s->source_len, s->name);
    snprintf(dev, sizeof(dev), "%.*s", (int)s->device_len, s->name + s->source_len + 1);
    Ioc__V1__Window pw = IOC__V1__WINDOW__INIT;
    pw.source = src;
    pw.device = dev;
    pw.metric = s->name + s->source_len + 1 + s->device_len + 1;
    pw.unit = (char *)unit;
    pw.resolution_s = res / 1000;
    pw.start_ms = w->start_ms;
    pw.end_ms = w->start_ms + res;
    pw.count = w->count;
    pw.sum = w->sum;
    pw.min = w->min;
    pw.max = w->max;
    pw.mean = w->sum / (double)w->count;
    pw.first = w->first;
    pw.last = w->last;
    char key[400];
    snprintf(key, sizeof(key), "window/%s/%s", rs, s->name);
    emit(f, IOCD_LIVE_WINDOW, key, &b, &pw.base, false, need);
    iocd_buf_free(&b);
}

static void window_add(struct iocd_feed *f, struct series_state *s, double v, int64_t t)
{
    for (int r = 0; r < f->cfg->live.windows.n; r++) {
        int64_t res = f->cfg->live.windows.ms[r];
        int64_t start = iocd_window_start(t, res, f->cfg->store.tz_offset_ms);
        struct open_window *w = &s->win[r];
        if (w->count && start < w->start_ms)
            continue; /* late for the live window; the stored one still gets it */
        if (w->count && start > w->start_ms) {
            window_publish(f, s, r, w); /* the series moved on: this one is done */
            w->count = 0;
        }
        if (!w->count) {
            *w = (struct open_window){.start_ms = start, .count = 1, .sum = v, .min = v,
                                      .max = v, .first = v, .last = v, .first_ms = t,
                                      .last_ms = t};
            int64_t due = start + res + f->cfg->live.window_grace_ms;
            if (!f->next_close_ms[r] || due < f->next_close_ms[r])
                f->next_close_ms[r] = due;
            continue;
        }
        w->count++;
        w->sum += v;
        w->min = v < w->min ? v : w->min;
        w->max = v > w->max ? v : w->max;
        if (t < w->first_ms) {
            w->first = v;
            w->first_ms = t;
        }
        if (t >= w->last_ms) {
            w->last = v;
            w->last_ms = t;
        }
    }
}

/* Publish the windows whose end + grace has passed. */
static void windows_close(struct iocd_feed *f, int64_t now)
{
    for (int r = 0; r < f->cfg->live.windows.n; r++) {
        if (!f->next_close_ms[r] || now < f->next_close_ms[r])
            continue;
        int64_t res = f->cfg->live.windows.ms[r], next = 0;
        for (size_t i = 0; i < f->n_series; i++) {
            struct series_state *s = &f->series[i];
            if (!s->win || !s->win[r].count)
                continue;
            int64_t due = s->win[r].start_ms + res + f->cfg->live.window_grace_ms;
            if (due <= now) {
                window_publish(f, s, r, &s->win[r]);
                s->win[r].count = 0;
            } else if (!next || due < next) {
                next = due;
            }
        }
        f->next_close_ms[r] = next;
    }
    flush_windows(f);
}

/* ---- life cycle ---- */

int iocd_feed_new(struct iocd_feed **out, uv_loop_t *loop, const struct iocd_config *cfg)
{
    struct iocd_feed *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    f->loop = loop;
    f->cfg = cfg;
    f->build_pb = cfg->live.prefix[0] && cfg->live.protobuf;
    f->live = iocd_live_new((size_t)cfg->live.ring_items);
    f->devices = iocd_devices_new(cfg, on_device_change, f);
    f->alerts = iocd_alerts_new(cfg, on_alert, f);
    if (!f->live || !f->devices || !f->alerts) {
        iocd_feed_free(f);
        return -1;
    }
    uv_timer_init(loop, &f->tick);
    f->tick.data = f;
    *out = f;
    return 0;
}

struct restore {
    struct iocd_feed *f;
    size_t devices, alerts, skipped;
};

static void restore_device(void *ud, const struct iocd_device_row *row)
{
    struct restore *r = ud;
    if (iocd_devices_restore(r->f->devices, row) == 0)
        r->devices++;
}

static void restore_alert(void *ud, const struct iocd_alert_saved *a)
{
    struct restore *r = ud;
    if (iocd_alerts_restore(r->f->alerts, r->f->devices, a) == 0) {
        r->alerts++;
        return;
    }
    r->skipped++;
    iocd_log_info("alert", "%s/%s/%s%s%s stays raised in the history: its rule is gone, "
                  "changed, or its device is unknown", a->rule, a->source, a->device,
                  a->metric ? "/" : "", a->metric ? a->metric : "");
}

int iocd_feed_restore(struct iocd_feed *f, struct iocd_store *st, struct iocd_error *err)
{
    struct restore r = {.f = f};
    int64_t since = iocd_now_ms() - INT64_C(86400000) * IOCD_FEED_RESTORE_DAYS;
    int rc = iocd_store_each_device(st, restore_device, &r, err);
    if (!rc)
        rc = iocd_store_each_raised_alert(st, since, restore_alert, &r, err);
    if (r.devices || r.alerts || r.skipped)
        iocd_log_notice("iocd", "restored %zu device(s) and %zu raised alert(s)%s", r.devices,
                        r.alerts, r.skipped ? "; some alerts not restored (see above)" : "");
    return rc;
}

struct iocd_devices *iocd_feed_devices(struct iocd_feed *f)
{
    return f->devices;
}

void iocd_feed_set_store(struct iocd_feed *f, iocd_feed_store_event_fn fn, void *ud)
{
    f->store_event = fn;
    f->store_ud = ud;
}

static void on_tick(uv_timer_t *t)
{
    struct iocd_feed *f = t->data;
    int64_t now = iocd_now_ms();
    iocd_devices_tick(f->devices, now);
    iocd_alerts_tick(f->alerts, f->devices, now);
    windows_close(f, now);
}

void iocd_feed_start(struct iocd_feed *f)
{
    f->tick_started = true;
    uv_timer_start(&f->tick, on_tick, 1000, 1000);
}

void iocd_feed_close(struct iocd_feed *f)
{
    uv_close((uv_handle_t *)&f->tick, NULL);
}

void iocd_feed_free(struct iocd_feed *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n_series; i++) {
        free(f->series[i].name);
        free(f->series[i].win);
    }
    free(f->series);
    free(f->msg_obs);
    free(f->msg_ptr);
    free(f->closed);
    iocd_alerts_free(f->alerts);
    iocd_devices_free(f->devices);
    iocd_live_free(f->live);
    free(f);
}

struct iocd_live *iocd_feed_live(struct iocd_feed *f)
{
    return f->live;
}

/* ---- input ---- */

static struct series_state *series_state(struct iocd_feed *f, uint32_t id, const char *source,
                                         const char *device, const char *metric,
                                         const char *unit)
{
    if (id >= f->n_series) {
        size_t n = f->n_series ? f->n_series : 1024;
        while (n <= id)
            n *= 2;
        struct series_state *ns = realloc(f->series, n * sizeof(*ns));
        if (!ns)
            return NULL;
        memset(ns + f->n_series, 0, (n - f->n_series) * sizeof(*ns));
        f->series = ns;
        f->n_series = n;
    }
    struct series_state *s = &f->series[id];
    if (!s->name) {
        size_t ls = strlen(source), ld = strlen(device), lm = strlen(metric),
               lu = strlen(unit);
        s->name = malloc(ls + ld + lm + lu + 4);
        if (!s->name)
            return NULL;
        snprintf(s->name, ls + ld + lm + 3, "%s/%s/%s", source, device, metric);
        memcpy(s->name + ls + ld + lm + 3, unit, lu + 1);
        s->source_len = ls;
        s->device_len = ld;
        if (f->cfg->live.windows.n &&
            !(s->win = calloc((size_t)f->cfg->live.windows.n, sizeof(*s->win)))) {
            free(s->name);
            s->name = NULL;
            return NULL;
        }
    }
    return s;
}

/* Keep a copy of `o` for the message's batch. */
static void batch_keep(struct iocd_feed *f, const char *source, const Ioc__V1__Observation *o)
{
    if (f->n_msg_obs == f->cap_msg_obs) {
        size_t ncap = f->cap_msg_obs ? f->cap_msg_obs * 2 : 16;
        Ioc__V1__Observation *no = realloc(f->msg_obs, ncap * sizeof(*no));
        if (!no)
            return;
        f->msg_obs = no;
        Ioc__V1__Observation **np = realloc(f->msg_ptr, ncap * sizeof(*np));
        if (!np)
            return;
        f->msg_ptr = np;
        f->cap_msg_obs = ncap;
    }
    Ioc__V1__Observation *c = &f->msg_obs[f->n_msg_obs++];
    *c = *o;
    c->source = (char *)source;
}

void iocd_feed_message_end(struct iocd_feed *f)
{
    flush_windows(f); /* the windows this message's observations closed */
    size_t n = f->n_msg_obs;
    f->n_msg_obs = 0;
    if (!n)
        return;
    unsigned need = wanted(f, IOCD_LIVE_OBS_BATCH);
    if (!need)
        return;
    /* One Batch per device, in the order devices first appear. */
    for (size_t i = 0; i < n; i++) {
        const char *dev = f->msg_obs[i].device;
        if (!dev)
            continue; /* taken into an earlier device's batch */
        size_t k = 0;
        for (size_t j = i; j < n; j++)
            if (f->msg_obs[j].device && strcmp(f->msg_obs[j].device, dev) == 0)
                f->msg_ptr[k++] = &f->msg_obs[j];
        Ioc__V1__Batch batch = IOC__V1__BATCH__INIT;
        batch.n_observations = k;
        batch.observations = f->msg_ptr;
        char key[400];
        snprintf(key, sizeof(key), "obs/%s/%s", f->msg_obs[i].source, dev);
        struct iocd_buf empty;
        iocd_buf_init(&empty);
        emit(f, IOCD_LIVE_OBS_BATCH, key, &empty, &batch.base, false, need);
        for (size_t j = 0; j < k; j++)
            f->msg_ptr[j]->device = NULL; /* done: skip in the outer loop */
    }
}

void iocd_feed_observation(struct iocd_feed *f, uint32_t id, const char *source,
                           const Ioc__V1__Observation *o)
{
    struct series_state *s = series_state(f, id, source, o->device, o->metric, o->unit);
    if (!s)
        return;
    if (!s->time_ms || o->observed_ms >= s->time_ms) {
        s->value = o->value;
        s->time_ms = o->observed_ms;
        s->received_ms = o->received_ms;
    }
    /* One message with several metrics is one message of its device. */
    char dev[sizeof(f->last_dev)];
    snprintf(dev, sizeof(dev), "%s/%s", source, o->device);
    if (o->received_ms != f->last_dev_ms || strcmp(dev, f->last_dev) != 0) {
        if (iocd_devices_seen(f->devices, source, o->device, o->received_ms))
            f->stats.untracked_devices++;
        memcpy(f->last_dev, dev, sizeof(dev));
        f->last_dev_ms = o->received_ms;
    }
    unsigned need = wanted(f, IOCD_LIVE_OBS);
    if (need) {
        struct iocd_buf b;
        iocd_buf_init(&b);
        if (need & IOCD_LIVE_JSON) {
            jb_open(&b, "obs");
            jb_key_str(&b, "series", s->name);
            jb_key_str(&b, "source", source);
            jb_key_str(&b, "device", o->device);
            jb_key_str(&b, "metric", o->metric);
            jb_key_str(&b, "unit", o->unit);
            jb_key_num(&b, "value", o->value);
            jb_key_time(&b, "time", o->observed_ms);
            jb_key_int(&b, "received_ms", o->received_ms);
            jb_close(&b);
        }
        Ioc__V1__Observation copy = *o;
        copy.source = (char *)source;
        char key[400];
        snprintf(key, sizeof(key), "obs/%s", s->name);
        emit(f, IOCD_LIVE_OBS, key, &b, &copy.base, false, need);
        iocd_buf_free(&b);
    }
    if (iocd_live_needs(f->live, IOCD_LIVE_OBS_BATCH))
        batch_keep(f, source, o);
    /* What the observation closes or raises comes after it. */
    window_add(f, s, o->value, o->observed_ms);
    iocd_alerts_observe(f->alerts, source, o->device, o->metric, o->value, o->observed_ms);
}

void iocd_feed_event(struct iocd_feed *f, const char *source, const Ioc__V1__Event *e)
{
    if (e->device[0]) {
        if (strcmp(e->kind, "device_offline") == 0)
            iocd_devices_offline(f->devices, source, e->device, e->received_ms);
        else if (strcmp(e->kind, "device_online") == 0 &&
                 iocd_devices_seen(f->devices, source, e->device, e->received_ms))
            f->stats.untracked_devices++;
    }
    unsigned need = wanted(f, IOCD_LIVE_EVENT);
    if (!need)
        return;
    struct iocd_buf b;
    iocd_buf_init(&b);
    if (need & IOCD_LIVE_JSON) {
        jb_open(&b, "event");
        jb_key_str(&b, "source", source);
        jb_key_str(&b, "kind", e->kind);
        jb_key_str(&b, "severity", severity_name((int)e->severity));
        jb_key_str(&b, "text", e->text);
        jb_key_str(&b, "device", e->device);
        jb_key_str(&b, "area", e->area);
        jb_key_str(&b, "status", e->status);
        jb_key_time(&b, "time", e->time_ms);
        jb_key_int(&b, "received_ms", e->received_ms);
        if (e->location) {
            jb_key_num(&b, "lat", e->location->lat);
            jb_key_num(&b, "lon", e->location->lon);
        }
        iocd_buf_puts(&b, ",\"attributes\":{");
        for (size_t i = 0; i < e->n_attributes; i++) {
            if (i)
                iocd_buf_append(&b, ",", 1);
            jb_str(&b, e->attributes[i]->key);
            iocd_buf_append(&b, ":", 1);
            jb_str(&b, e->attributes[i]->value);
        }
        iocd_buf_append(&b, "}", 1);
        jb_close(&b);
    }
    Ioc__V1__Event copy = *e;
    copy.source = (char *)source;
    char key[400];
    snprintf(key, sizeof(key), "event/%s/%s/%s", source, e->kind,
             e->device[0] ? e->device : "-");
    emit(f, IOCD_LIVE_EVENT, key, &b, &copy.base, false, need);
    iocd_buf_free(&b);
}

/* ---- queries (HTTP provider) ---- */

cJSON *iocd_feed_latest_json(const struct iocd_feed *f, const char *match)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(root, "series");
    char ts[40], src[130], dev[130];
    for (size_t i = 0; i < f->n_series && arr; i++) {
        const struct series_state *s = &f->series[i];
        if (!s->name || !s->time_ms || (match && *match && !iocd_topic_matches(match, s->name)))
            continue;
        cJSON *o = cJSON_CreateObject();
        if (!o)
            break;
        snprintf(src, sizeof(src), "%.*s", (int)s->source_len, s->name);
        snprintf(dev, sizeof(dev), "%.*s", (int)s->device_len, s->name + s->source_len + 1);
        cJSON_AddStringToObject(o, "series", s->name);
        cJSON_AddStringToObject(o, "source", src);
        cJSON_AddStringToObject(o, "device", dev);
        cJSON_AddStringToObject(o, "metric", s->name + s->source_len + 1 + s->device_len + 1);
        cJSON_AddStringToObject(o, "unit", s->name + strlen(s->name) + 1);
        cJSON_AddNumberToObject(o, "value", s->value);
        iocd_time_format(s->time_ms, ts, sizeof(ts));
        cJSON_AddStringToObject(o, "time", ts);
        cJSON_AddNumberToObject(o, "time_ms", (double)s->time_ms);
        cJSON_AddItemToArray(arr, o);
    }
    return root;
}

struct devices_ctx {
    cJSON *arr;
    const char *match, *state;
};

static void device_item(void *ud, const struct iocd_device_info *d)
{
    struct devices_ctx *c = ud;
    char name[300], ts[40];
    snprintf(name, sizeof(name), "%s/%s", d->source, d->device);
    if ((c->match && *c->match && !iocd_topic_matches(c->match, name)) ||
        (c->state && *c->state && strcmp(c->state, iocd_device_state_name(d->state)) != 0))
        return;
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return;
    cJSON_AddStringToObject(o, "source", d->source);
    cJSON_AddStringToObject(o, "device", d->device);
    cJSON_AddStringToObject(o, "state", iocd_device_state_name(d->state));
    iocd_time_format(d->last_seen_ms, ts, sizeof(ts));
    cJSON_AddStringToObject(o, "last_seen", ts);
    cJSON_AddNumberToObject(o, "last_seen_ms", (double)d->last_seen_ms);
    cJSON_AddNumberToObject(o, "interval_ms", (double)d->interval_ms);
    cJSON_AddNumberToObject(o, "messages", (double)d->messages);
    cJSON_AddItemToArray(c->arr, o);
}

static int cmp_device(const void *a, const void *b)
{
    const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
    int c = strcmp(cJSON_GetObjectItem(x, "source")->valuestring,
                   cJSON_GetObjectItem(y, "source")->valuestring);
    return c ? c
             : strcmp(cJSON_GetObjectItem(x, "device")->valuestring,
                      cJSON_GetObjectItem(y, "device")->valuestring);
}

/* Sort the objects of array `arr` in place with `cmp`. */
static void sort_array(cJSON *arr, int (*cmp)(const void *, const void *))
{
    int n = cJSON_GetArraySize(arr);
    if (n < 2)
        return;
    cJSON **items = malloc((size_t)n * sizeof(*items));
    if (!items)
        return;
    for (int i = n - 1; i >= 0; i--)
        items[i] = cJSON_DetachItemFromArray(arr, i);
    qsort(items, (size_t)n, sizeof(*items), cmp);
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, items[i]);
    free(items);
}

cJSON *iocd_feed_devices_json(const struct iocd_feed *f, const char *match, const char *state)
{
    cJSON *root = cJSON_CreateObject();
    struct devices_ctx c = {.arr = cJSON_AddArrayToObject(root, "devices"), .match = match,
                            .state = state};
    if (c.arr) {
        iocd_devices_foreach(f->devices, device_item, &c);
        sort_array(c.arr, cmp_device);
    }
    return root;
}

/* Devices per source and state, counted without building JSON per device
 * (/metrics and /api/v1/status walk every device; a city has few sources). */
struct device_counts {
    struct {
        const char *source; /* the device table's copy */
        uint64_t n[IOCD_DEVICE__COUNT];
    } *by;
    size_t n, cap;
    size_t last; /* the source of the previous device: often the same */
    bool oom;
};

static void count_device(void *ud, const struct iocd_device_info *d)
{
    struct device_counts *c = ud;
    size_t i = c->last;
    if (i >= c->n || strcmp(c->by[i].source, d->source) != 0) {
        for (i = 0; i < c->n && strcmp(c->by[i].source, d->source) != 0; i++)
            ;
        if (i == c->n) {
            if (c->n == c->cap) {
                size_t ncap = c->cap ? c->cap * 2 : 16;
                void *nb = realloc(c->by, ncap * sizeof(*c->by));
                if (!nb) {
                    c->oom = true;
                    return;
                }
                c->by = nb;
                c->cap = ncap;
            }
            memset(&c->by[c->n], 0, sizeof(c->by[0]));
            c->by[c->n++].source = d->source;
        }
        c->last = i;
    }
    c->by[i].n[d->state]++;
}

cJSON *iocd_feed_device_counts_json(const struct iocd_feed *f)
{
    struct device_counts c = {0};
    iocd_devices_foreach(f->devices, count_device, &c);
    cJSON *root = c.oom ? NULL : cJSON_CreateObject();
    for (size_t i = 0; root && i < c.n; i++) {
        cJSON *src = cJSON_AddObjectToObject(root, c.by[i].source);
        for (int st = 0; src && st < IOCD_DEVICE__COUNT; st++)
            cJSON_AddNumberToObject(src, iocd_device_state_name((enum iocd_device_state)st),
                                    (double)c.by[i].n[st]);
    }
    free(c.by);
    return root;
}

static void active_item(void *ud, const struct iocd_alert_change *c)
{
    struct iocd_buf b;
    iocd_buf_init(&b);
    alert_json(&b, c, true);
    cJSON *o = b.oom ? NULL : cJSON_Parse(b.p);
    iocd_buf_free(&b);
    if (o)
        cJSON_AddItemToArray(ud, o);
}

static int cmp_alert(const void *a, const void *b)
{
    const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
    double rx = cJSON_GetObjectItem(x, "raised_ms")->valuedouble,
           ry = cJSON_GetObjectItem(y, "raised_ms")->valuedouble;
    if (rx != ry)
        return rx > ry ? -1 : 1; /* newest first */
    return strcmp(cJSON_GetObjectItem(x, "id")->valuestring,
                  cJSON_GetObjectItem(y, "id")->valuestring);
}

cJSON *iocd_feed_alerts_active_json(const struct iocd_feed *f)
{
    cJSON *arr = cJSON_CreateArray();
    if (arr) {
        iocd_alerts_foreach_active(f->alerts, active_item, arr);
        sort_array(arr, cmp_alert);
    }
    return arr;
}

size_t iocd_feed_active_alerts(const struct iocd_feed *f)
{
    return iocd_alerts_active_count(f->alerts);
}

void iocd_feed_get_stats(const struct iocd_feed *f, struct iocd_feed_stats *out)
{
    *out = f->stats;
}
