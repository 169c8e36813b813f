/* daemon/live/feed.c — the live feed: accepted data in, live items out (feed.h).
 *
 * Owns: per series (by registry id) its name, unit and latest value, and
 * one open window per [live] windows resolution; the device table; the
 * alert engine; the 1 s timer. Every item is formatted once (JSON always,
 * protobuf only when republish wants it; the Batch every message makes is
 * packed by hand, pb_obs.h) and handed to the hub, which gives it to the
 * MQTT republisher and every live-stream client. */
#include "daemon/live/feed.h"
#include "daemon/live/pb_obs.h"
#include "daemon/base/severity.h"
#include "daemon/base/topic.h"

#include <inttypes.h>
#include <stdbool.h>
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
    int64_t arrival_ms; /* monotonic clock of its newest sample */
    int64_t done_ms;    /* end of the newest window published (0: none): the
                         * series is past it, nothing before it opens again */
};

/* A closed window waiting for its device's WindowBatch. */
struct closed_window {
    /* Its series, by id: f->series moves when a later observation of the
     * same message adds a series past its end, so the pointer `s` is taken
     * only in flush_windows (a pointer kept from window_keep was read after
     * that realloc). */
    uint32_t id;
    const struct series_state *s;
    int r;                        /* index into [live] windows */
    size_t seq;                   /* order of closing, to keep it within a batch */
    struct open_window w;
};

struct series_state {
    char *name;  /* "SOURCE/DEVICE/METRIC" then NUL then unit; owned */
    size_t source_len, device_len;
    double value;
    char *state; /* the latest state of a state series (docs/states.md); owned, NULL: numeric */
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
    iocd_alerts_fn notify; /* every alert change, after it is published; NULL: none */
    void *notify_ud;
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
    /* The monotonic clock read once for the message being taken (0: not
     * yet): live windows need it per observation, a clock read each was
     * 1.3 % of iocd's CPU under load. */
    int64_t msg_mono_ms;
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
    /* After a crash: stored windows that were still open, by series id
     * (ascending), applied when the series is first seen; owned. */
    struct crash_seed *seeds;
    size_t n_seeds, cap_seeds;
};

struct crash_seed {
    uint32_t id;
    int r; /* index into [live] windows */
    struct open_window w;
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

/* Hand an item to the hub: the JSON in `b` (built by the caller only when
 * need has IOCD_LIVE_JSON) and the protobuf `pb` (NULL: none). */
static void emit_packed(struct iocd_feed *f, enum iocd_live_kind kind, const char *key,
                        const struct iocd_buf *b, const uint8_t *pb, size_t pb_len, bool retain)
{
    f->stats.items[kind]++;
    iocd_live_emit(f->live, kind, key, b->p ? b->p : "", b->len, pb, pb_len, retain);
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
    emit_packed(f, kind, key, b, pb, pb_len, retain);
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
    /* The lifecycle (docs/alerts.md): what an operator just did, and the
     * marks the alert carries. */
    if (c->action) {
        jb_key_str(b, "action", c->action);
        jb_key_str(b, "actor", c->actor ? c->actor : "");
        jb_key_str(b, "note", c->note ? c->note : "");
    }
    if (c->ack_ms) {
        jb_key_str(b, "acknowledged_by", c->ack_by ? c->ack_by : "");
        jb_key_time(b, "acknowledged", c->ack_ms);
        jb_key_str(b, "acknowledged_note", c->ack_note ? c->ack_note : "");
    }
    if (c->assignee)
        jb_key_str(b, "assignee", c->assignee);
    if (c->silenced)
        iocd_buf_puts(b, ",\"silenced\":true");
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
    if (c->action)
        iocd_log_fields(LOG_NOTICE, "alert", &lf, "%s %s by %s%s%s", c->id, c->action,
                        c->actor ? c->actor : "", c->note && c->note[0] ? ": " : "",
                        c->note ? c->note : "");
    else
        iocd_log_fields(LOG_NOTICE, "alert", &lf, "%s %s: %s (value %g, threshold %g)", c->id,
                        c->raised ? "raised" : "cleared", c->text, c->value, c->threshold);
    unsigned need = wanted(f, IOCD_LIVE_ALERT);
    struct iocd_buf b;
    iocd_buf_init(&b);
    if (need & IOCD_LIVE_JSON)
        alert_json(&b, c, false);
    char value[40], threshold[40], raised_ms[32], band[16], prev_band[16], ack_ms[32];
    iocd_json_number(value, sizeof(value), c->value);
    iocd_json_number(threshold, sizeof(threshold), c->threshold);
    snprintf(raised_ms, sizeof(raised_ms), "%" PRId64, c->raised_ms);
    snprintf(band, sizeof(band), "%d", c->band);
    snprintf(prev_band, sizeof(prev_band), "%d", c->prev_band);
    snprintf(ack_ms, sizeof(ack_ms), "%" PRId64, c->ack_ms);
    /* state: raised or cleared, or the operator's acknowledged / assigned
     * (a resolve is a clear, with action "resolved"). */
    const char *state = c->raised ? "raised" : "cleared";
    if (c->action && strcmp(c->action, "resolved") != 0)
        state = c->action;
    const char *status = c->action ? c->action : state;
    Ioc__V1__Event__AttributesEntry attrs[16];
    Ioc__V1__Event__AttributesEntry *ap[16];
    const char *kv[16][2] = {
        {"id", c->id},           {"rule", c->rule->name},         {"series", c->series},
        {"state", state},        {"value", value},
        {"threshold", threshold}, {"raised_ms", raised_ms},
    };
    size_t na = 7;
    if (c->rule->type == IOCD_ALERT_BAND) {
        kv[na][0] = "band", kv[na++][1] = band;
        kv[na][0] = "prev_band", kv[na++][1] = prev_band;
    }
    if (c->action) {
        kv[na][0] = "action", kv[na++][1] = c->action;
        kv[na][0] = "actor", kv[na++][1] = c->actor ? c->actor : "";
        kv[na][0] = "note", kv[na++][1] = c->note ? c->note : "";
    }
    if (c->ack_ms) {
        kv[na][0] = "ack_by", kv[na++][1] = c->ack_by ? c->ack_by : "";
        kv[na][0] = "ack_ms", kv[na++][1] = ack_ms;
        kv[na][0] = "ack_note", kv[na++][1] = c->ack_note ? c->ack_note : "";
    }
    if (c->assignee)
        kv[na][0] = "assignee", kv[na++][1] = c->assignee;
    if (c->silenced)
        kv[na][0] = "silenced", kv[na++][1] = "true";
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
    e.status = (char *)status;
    e.area = "";
    e.received_ms = iocd_now_ms();
    char key[400];
    snprintf(key, sizeof(key), "alert/%s/%s/%s", c->rule->name, c->source, c->device);
    if (need)
        emit(f, IOCD_LIVE_ALERT, key, &b, &e.base, false, need);
    iocd_buf_free(&b);
    if (!f->store_event || f->store_event(f->store_ud, "iocd", &e))
        f->stats.alert_store_failures++;
    if (f->notify)
        f->notify(f->notify_ud, c);
}

/* ---- windows ---- */

/* The source and device of series `s` into src and dev (IOCD_ID_BUF
 * bytes each; ids are at most IOCD_ID_MAX bytes): copied, no printf, as
 * this runs per closed window and per listed series. */
#define IOCD_ID_BUF 130
static void series_ids(const struct series_state *s, char *src, char *dev)
{
    size_t ls = s->source_len < IOCD_ID_BUF - 1 ? s->source_len : IOCD_ID_BUF - 1;
    size_t ld = s->device_len < IOCD_ID_BUF - 1 ? s->device_len : IOCD_ID_BUF - 1;
    memcpy(src, s->name, ls);
    src[ls] = '\0';
    memcpy(dev, s->name + s->source_len + 1, ld);
    dev[ld] = '\0';
}

/* Fill `pw` (strings in src and dev, IOCD_ID_BUF bytes each) from a closed window. */
static void window_pb(const struct iocd_feed *f, const struct series_state *s, int r,
                      const struct open_window *w, Ioc__V1__Window *pw, char *src, char *dev)
{
    int64_t res = f->cfg->live.windows.ms[r];
    series_ids(s, src, dev);
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

/* Order closed windows by resolution, then "SOURCE/DEVICE/", then the
 * order they closed: each batch is then one run of the sorted array. */
static int closed_cmp(const void *a, const void *b)
{
    const struct closed_window *x = a, *y = b;
    if (x->r != y->r)
        return x->r < y->r ? -1 : 1;
    size_t lx = x->s->source_len + 1 + x->s->device_len + 1;
    size_t ly = y->s->source_len + 1 + y->s->device_len + 1;
    int c = memcmp(x->s->name, y->s->name, lx < ly ? lx : ly);
    if (c)
        return c;
    if (lx != ly)
        return lx < ly ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static bool same_batch(const struct closed_window *x, const struct closed_window *y)
{
    return x->r == y->r && x->s->source_len == y->s->source_len &&
           x->s->device_len == y->s->device_len &&
           memcmp(x->s->name, y->s->name, x->s->source_len + 1 + x->s->device_len + 1) == 0;
}

/* Republish the windows closed since the last call: one WindowBatch per
 * device and resolution (at most MAX_BATCH windows each; a larger group
 * goes out as several), windows in the order they closed. Sorting makes
 * this O(n log n): a minute boundary closes every series at once. */
static void flush_windows(struct iocd_feed *f)
{
    size_t n = f->n_closed;
    f->n_closed = 0;
    if (!n)
        return;
    unsigned need = wanted(f, IOCD_LIVE_WINDOW_BATCH);
    if (!need)
        return;
    for (size_t i = 0; i < n; i++)
        f->closed[i].s = &f->series[f->closed[i].id];
    qsort(f->closed, n, sizeof(f->closed[0]), closed_cmp);
    enum { MAX_BATCH = 64 };
    Ioc__V1__Window pw[MAX_BATCH];
    Ioc__V1__Window *pp[MAX_BATCH];
    char src[MAX_BATCH][IOCD_ID_BUF], dev[MAX_BATCH][IOCD_ID_BUF];
    for (size_t i = 0; i < n;) {
        const struct closed_window *c = &f->closed[i];
        size_t k = 0;
        for (; i < n && k < MAX_BATCH && same_batch(c, &f->closed[i]); i++, k++) {
            const struct closed_window *d = &f->closed[i];
            window_pb(f, d->s, d->r, &d->w, &pw[k], src[k], dev[k]);
            pp[k] = &pw[k];
        }
        const struct series_state *s = c->s;
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
    f->closed[f->n_closed] = (struct closed_window){
        .id = (uint32_t)(s - f->series), .r = r, .seq = f->n_closed, .w = *w};
    f->n_closed++;
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
    char src[IOCD_ID_BUF], dev[IOCD_ID_BUF];
    series_ids(s, src, dev);
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

/* Publish the open window `w` of series `s` at resolution r and remember
 * that the series is past it. */
static void window_done(struct iocd_feed *f, const struct series_state *s, int r,
                        struct open_window *w)
{
    window_publish(f, s, r, w);
    w->done_ms = w->start_ms + f->cfg->live.windows.ms[r];
    w->count = 0;
}

static void window_add(struct iocd_feed *f, struct series_state *s, double v, int64_t t)
{
    if (!f->msg_mono_ms)
        f->msg_mono_ms = iocd_mono_ms();
    int64_t mono = f->msg_mono_ms;
    for (int r = 0; r < f->cfg->live.windows.n; r++) {
        int64_t res = f->cfg->live.windows.ms[r];
        int64_t start = iocd_window_start(t, res, f->cfg->store.tz_offset_ms);
        struct open_window *w = &s->win[r];
        /* Late for the live windows (an older window than the open one, or
         * one already published): the stored windows still get it. */
        if ((w->count && start < w->start_ms) || (w->done_ms && start < w->done_ms)) {
            f->stats.late_window_samples++;
            continue;
        }
        if (w->count && start > w->start_ms)
            window_done(f, s, r, w); /* the series moved past it: complete */
        w->arrival_ms = mono;
        if (!w->count) {
            *w = (struct open_window){.start_ms = start, .count = 1, .sum = v, .min = v,
                                      .max = v, .first = v, .last = v, .first_ms = t,
                                      .last_ms = t, .arrival_ms = mono,
                                      .done_ms = w->done_ms};
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

/* Publish the windows that are complete in event time although their
 * series has not moved past them: ended [live] window_grace ago by the
 * wall clock (`now`) AND no sample for them arrived for window_grace (the
 * monotonic `mono`), so a backlog still delivering a long-past minute
 * keeps it open until its samples stop. */
static void windows_close(struct iocd_feed *f, int64_t now, int64_t mono)
{
    int64_t grace = f->cfg->live.window_grace_ms;
    for (int r = 0; r < f->cfg->live.windows.n; r++) {
        if (!f->next_close_ms[r] || now < f->next_close_ms[r])
            continue;
        int64_t res = f->cfg->live.windows.ms[r], next = 0;
        for (size_t i = 0; i < f->n_series; i++) {
            struct series_state *s = &f->series[i];
            if (!s->win || !s->win[r].count)
                continue;
            struct open_window *w = &s->win[r];
            int64_t due = w->start_ms + res + grace;
            int64_t quiet = w->arrival_ms + grace - mono; /* ms until quiet long enough */
            if (due <= now && quiet <= 0) {
                window_done(f, s, r, w);
                continue;
            }
            if (due <= now)
                due = now + quiet;
            if (!next || due < next)
                next = due;
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
    size_t devices, alerts, skipped, silences;
};
static void restore_silence(void *ud, const char *attributes);

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

/* ---- open live windows across a graceful restart ---- */

static struct series_state *series_state(struct iocd_feed *f, uint32_t id, const char *source,
                                         const char *device, const char *metric,
                                         const char *unit);

/* One line per open window: series id, resolution (s), start, count, sum,
 * min, max, first, first_ms, last, last_ms (doubles in %a, exact), then
 * the series name and unit separated by a tab (ids hold no control
 * characters). */
int iocd_feed_save_windows(struct iocd_feed *f, struct iocd_store *st, struct iocd_error *err)
{
    struct iocd_buf b;
    iocd_buf_init(&b);
    size_t n = 0;
    for (size_t i = 0; i < f->n_series; i++) {
        const struct series_state *s = &f->series[i];
        for (int r = 0; s->win && r < f->cfg->live.windows.n; r++) {
            const struct open_window *w = &s->win[r];
            if (!w->count)
                continue;
            iocd_buf_printf(&b,
                            "%zu %" PRId64 " %" PRId64 " %" PRIu64 " %a %a %a %a %" PRId64
                            " %a %" PRId64 " %s\t%s\n",
                            i, f->cfg->live.windows.ms[r] / 1000, w->start_ms, w->count, w->sum,
                            w->min, w->max, w->first, w->first_ms, w->last, w->last_ms, s->name,
                            s->name + strlen(s->name) + 1);
            n++;
        }
    }
    int rc = b.oom ? iocd_error_set(err, "out of memory saving %zu live windows", n)
                   : iocd_store_set_meta(st, "live_open", b.len ? b.p : "", err);
    iocd_buf_free(&b);
    if (!rc && n)
        iocd_log_info("iocd", "%zu open live window(s) kept for the next start", n);
    return rc;
}

/* One saved line back as the open window of its series; false when it
 * cannot be read or its resolution is no longer published. */
static bool seed_window(struct iocd_feed *f, const char *line, int64_t mono)
{
    unsigned long id;
    int64_t res_s, first_ms, last_ms;
    struct open_window w = {0};
    int pos = 0;
    if (sscanf(line,
               "%lu %" SCNd64 " %" SCNd64 " %" SCNu64 " %la %la %la %la %" SCNd64 " %la %" SCNd64
               " %n",
               &id, &res_s, &w.start_ms, &w.count, &w.sum, &w.min, &w.max, &w.first, &first_ms,
               &w.last, &last_ms, &pos) != 11 ||
        !pos || id >= UINT32_MAX || !w.count)
        return false;
    w.first_ms = first_ms;
    w.last_ms = last_ms;
    int r = -1;
    for (int k = 0; k < f->cfg->live.windows.n; k++)
        if (f->cfg->live.windows.ms[k] == res_s * 1000)
            r = k;
    char name[3 * 130 + 2];
    const char *tab = strchr(line + pos, '\t');
    if (r < 0 || !tab || (size_t)(tab - line - pos) >= sizeof(name) || strlen(tab + 1) >= 130)
        return false;
    memcpy(name, line + pos, (size_t)(tab - line - pos));
    name[tab - line - pos] = '\0';
    char *dev = strchr(name, '/'), *met = dev ? strchr(dev + 1, '/') : NULL;
    if (!met)
        return false;
    *dev++ = '\0';
    *met++ = '\0';
    struct series_state *s = series_state(f, (uint32_t)id, name, dev, met, tab + 1);
    if (!s || !s->win || s->win[r].count)
        return false;
    w.arrival_ms = mono;
    s->win[r] = w;
    int64_t due = w.start_ms + f->cfg->live.windows.ms[r] + f->cfg->live.window_grace_ms;
    if (!f->next_close_ms[r] || due < f->next_close_ms[r])
        f->next_close_ms[r] = due;
    return true;
}

/* At start: the windows the last graceful stop kept. */
static int restore_windows(struct iocd_feed *f, struct iocd_store *st, struct iocd_error *err)
{
    char *text = NULL;
    if (iocd_store_get_meta(st, "live_open", &text, err))
        return -1;
    if (!text || !*text) {
        free(text);
        return 0;
    }
    size_t n = 0, bad = 0;
    int64_t mono = iocd_mono_ms();
    for (char *line = text, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        if (seed_window(f, line, mono))
            n++;
        else
            bad++;
    }
    free(text);
    iocd_log_info("iocd", "%zu open live window(s) continued from the last stop%s", n,
                  bad ? "; some could not be (resolution no longer published?)" : "");
    return 0;
}

struct crash_scan {
    struct iocd_feed *f;
    struct iocd_store *st;
    struct iocd_error *err;
    int64_t last_flush_ms;
    uint32_t id;
    int r;
};

static void crash_window(void *ud, const struct iocd_window *w)
{
    struct crash_scan *c = ud;
    struct iocd_feed *f = c->f;
    /* Not closed by the wall clock before the crash: it was still open. */
    if (w->start_ms + f->cfg->live.windows.ms[c->r] + f->cfg->live.window_grace_ms <=
        c->last_flush_ms)
        return;
    if (f->n_seeds == f->cap_seeds) {
        size_t ncap = f->cap_seeds ? f->cap_seeds * 2 : 64;
        struct crash_seed *ns = realloc(f->seeds, ncap * sizeof(*ns));
        if (!ns)
            return;
        f->seeds = ns;
        f->cap_seeds = ncap;
    }
    f->seeds[f->n_seeds++] = (struct crash_seed){
        .id = c->id,
        .r = c->r,
        .w = {.start_ms = w->start_ms, .count = w->count, .sum = w->sum, .min = w->min,
              .max = w->max, .first = w->first, .last = w->last, .first_ms = w->first_ms,
              .last_ms = w->last_ms},
    };
}

static int crash_series(void *ud, uint32_t id, const char *name, const char *unit)
{
    (void)unit;
    struct crash_scan *c = ud;
    c->id = id;
    for (c->r = 0; c->r < c->f->cfg->live.windows.n; c->r++) {
        uint32_t res_s = (uint32_t)(c->f->cfg->live.windows.ms[c->r] / 1000);
        if (iocd_store_series_windows(c->st, id, res_s, 1, crash_window, c, c->err))
            return -1;
    }
    return 0;
}

/* The last run did not stop gracefully (no windows were kept): the newest
 * stored window of each series and resolution that could not have been
 * closed by the wall clock before the last committed flush was still open;
 * it is continued when its series is next seen. */
static int seed_after_crash(struct iocd_feed *f, struct iocd_store *st, struct iocd_error *err)
{
    char *last = NULL;
    if (iocd_store_get_meta(st, "last_flush_ms", &last, err))
        return -1;
    struct crash_scan c = {.f = f, .st = st, .err = err,
                           .last_flush_ms = last ? strtoll(last, NULL, 10) : 0};
    free(last);
    if (!c.last_flush_ms || !f->cfg->live.windows.n)
        return 0;
    if (iocd_store_each_series(st, crash_series, &c, err))
        return -1;
    if (f->n_seeds)
        iocd_log_info("iocd", "after a crash: %zu stored window(s) still open continue live",
                      f->n_seeds);
    return 0;
}

/* At start: continue the open live windows of the last run, kept by a
 * graceful stop or, after a crash, found in the store; then mark the run
 * (a crash leaves the mark for the next start to see). */
static int restore_live(struct iocd_feed *f, struct iocd_store *st, struct iocd_error *err)
{
    char *mark = NULL;
    if (iocd_store_get_meta(st, "live_open", &mark, err))
        return -1;
    bool crashed = mark && strcmp(mark, "running") == 0;
    free(mark);
    if ((crashed ? seed_after_crash(f, st, err) : restore_windows(f, st, err)))
        return -1;
    return iocd_store_set_meta(st, "live_open", "running", err);
}

/* A series seen for the first time since the start: the windows a crash
 * left open, if any. */
static void apply_seeds(struct iocd_feed *f, uint32_t id, struct series_state *s)
{
    size_t lo = 0, hi = f->n_seeds;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (f->seeds[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    int64_t mono = iocd_mono_ms();
    for (; lo < f->n_seeds && f->seeds[lo].id == id; lo++) {
        const struct crash_seed *c = &f->seeds[lo];
        s->win[c->r] = c->w;
        s->win[c->r].arrival_ms = mono;
        int64_t due = c->w.start_ms + f->cfg->live.windows.ms[c->r] + f->cfg->live.window_grace_ms;
        if (!f->next_close_ms[c->r] || due < f->next_close_ms[c->r])
            f->next_close_ms[c->r] = due;
    }
}

struct history {
    struct iocd_feed *f;
    struct iocd_store *st;
    struct iocd_error *err;
    const char *name;
    int64_t res_ms;
    size_t series, windows;
};

static void history_window(void *ud, const struct iocd_window *w)
{
    struct history *h = ud;
    iocd_alerts_prefill(h->f->alerts, h->name, w->start_ms, h->res_ms, w->count, w->sum, w->min,
                        w->max);
    h->windows++;
}

/* A stored series: the windows of the alert rules over it get its newest
 * stored windows of the finest resolution. */
static int history_series(void *ud, uint32_t id, const char *name, const char *unit)
{
    (void)unit;
    struct history *h = ud;
    int64_t span = iocd_alerts_history_ms(h->f->alerts, name, h->res_ms);
    if (!span)
        return 0;
    h->name = name;
    h->series++;
    return iocd_store_series_windows(h->st, id, (uint32_t)(h->res_ms / 1000), span,
                                     history_window, h, h->err);
}

int iocd_feed_restore(struct iocd_feed *f, struct iocd_store *st, struct iocd_error *err)
{
    struct restore r = {.f = f};
    int64_t since = iocd_now_ms() - INT64_C(86400000) * IOCD_FEED_RESTORE_DAYS;
    int rc = iocd_store_each_device(st, restore_device, &r, err);
    if (!rc)
        rc = iocd_store_each_raised_alert(st, since, restore_alert, &r, err);
    if (!rc)
        rc = iocd_store_each_silence(st, iocd_now_ms(), restore_silence, &r, err);
    if (r.devices || r.alerts || r.skipped)
        iocd_log_notice("iocd", "restored %zu device(s) and %zu raised alert(s)%s", r.devices,
                        r.alerts, r.skipped ? "; some alerts not restored (see above)" : "");
    if (r.silences)
        iocd_log_notice("iocd", "restored %zu active silence(s)", r.silences);
    /* The alert rules' windows, from the stored windows (event time). */
    struct history h = {.f = f, .st = st, .err = err,
                        .res_ms = f->cfg->store.resolutions.ms[0]};
    if (!rc)
        rc = iocd_store_each_series(st, history_series, &h, err);
    if (!rc)
        rc = restore_live(f, st, err);
    if (h.windows)
        iocd_log_info("alert", "alert windows of %zu series refilled from %zu stored windows",
                      h.series, h.windows);
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

void iocd_feed_set_notify(struct iocd_feed *f, iocd_alerts_fn fn, void *ud)
{
    f->notify = fn;
    f->notify_ud = ud;
}

static void on_tick(uv_timer_t *t)
{
    struct iocd_feed *f = t->data;
    int64_t now = iocd_now_ms();
    f->msg_mono_ms = 0; /* between messages: read afresh */
    iocd_devices_tick(f->devices, now);
    iocd_alerts_tick(f->alerts, f->devices, now);
    windows_close(f, now, iocd_mono_ms());
}

void iocd_feed_start(struct iocd_feed *f)
{
    f->tick_started = true;
    uv_timer_start(&f->tick, on_tick, 1000, 1000);
}

int iocd_feed_reload(struct iocd_feed *f, const struct iocd_config *old, const int *rule_to)
{
    return iocd_alerts_reload(f->alerts, old, rule_to, iocd_now_ms());
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
        free(f->series[i].state);
        free(f->series[i].win);
    }
    free(f->series);
    free(f->msg_obs);
    free(f->msg_ptr);
    free(f->closed);
    free(f->seeds);
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
        if (s->win && f->n_seeds)
            apply_seeds(f, id, s);
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
    f->msg_mono_ms = 0;
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
        /* "obs/SOURCE/DEVICE", built without printf (once a message). */
        char key[400];
        size_t ls = strlen(f->msg_obs[i].source), ld = strlen(dev);
        if (4 + ls + 1 + ld + 1 > sizeof(key))
            continue; /* ids are at most IOCD_ID_MAX bytes: cannot happen */
        memcpy(key, "obs/", 4);
        memcpy(key + 4, f->msg_obs[i].source, ls);
        key[4 + ls] = '/';
        memcpy(key + 5 + ls, dev, ld + 1);
        struct iocd_buf empty;
        iocd_buf_init(&empty);
        if ((need & IOCD_LIVE_PB) && iocd_pb_obs_batch_supported(f->msg_ptr, k)) {
            /* By hand: the item every incoming message makes (pb_obs.h). */
            uint8_t stack[2048];
            uint8_t *pb = stack;
            size_t len = iocd_pb_obs_batch_pack(f->msg_ptr, k, stack, sizeof(stack));
            if (len > sizeof(stack) && (pb = malloc(len)))
                iocd_pb_obs_batch_pack(f->msg_ptr, k, pb, len);
            if (pb) {
                emit_packed(f, IOCD_LIVE_OBS_BATCH, key, &empty, pb, len, false);
                if (pb != stack)
                    free(pb);
            }
        } else {
            emit(f, IOCD_LIVE_OBS_BATCH, key, &empty, &batch.base, false, need);
        }
        for (size_t j = 0; j < k; j++)
            f->msg_ptr[j]->device = NULL; /* done: skip in the outer loop */
    }
}

/* An accepted observation; `device_seen`: it is a message of its device
 * (not a roll-up of a group, whose DEVICE names no device). */
static void observe(struct iocd_feed *f, uint32_t id, const char *source,
                    const Ioc__V1__Observation *o, bool device_seen)
{
    struct series_state *s = series_state(f, id, source, o->device, o->metric, o->unit);
    if (!s)
        return;
    bool is_state = o->state && o->state[0];
    if (!s->time_ms || o->observed_ms >= s->time_ms) {
        s->value = o->value;
        s->time_ms = o->observed_ms;
        s->received_ms = o->received_ms;
        if (is_state && (!s->state || strcmp(s->state, o->state) != 0)) {
            char *c = strdup(o->state); /* out of memory: the old state shows */
            if (c) {
                free(s->state);
                s->state = c;
            }
        }
    }
    /* One message with several metrics is one message of its device
     * ("SOURCE/DEVICE" compared in place: this runs per observation). */
    size_t ls = strlen(source), ld = strlen(o->device);
    bool fits = ls + 1 + ld < sizeof(f->last_dev);
    bool same = fits && o->received_ms == f->last_dev_ms && memcmp(f->last_dev, source, ls) == 0 &&
                f->last_dev[ls] == '/' && memcmp(f->last_dev + ls + 1, o->device, ld + 1) == 0;
    if (device_seen && !same) {
        if (iocd_devices_seen(f->devices, source, o->device, o->received_ms))
            f->stats.untracked_devices++;
        f->last_dev[0] = '\0';
        if (fits) { /* ids are at most IOCD_ID_MAX bytes: always, in practice */
            memcpy(f->last_dev, source, ls);
            f->last_dev[ls] = '/';
            memcpy(f->last_dev + ls + 1, o->device, ld + 1);
        }
        f->last_dev_ms = o->received_ms;
    }
    if (o->location) /* range-checked by iocd_devices_locate */
        iocd_devices_locate(f->devices, source, o->device, o->location->lat, o->location->lon,
                            o->received_ms);
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
            if (is_state)
                jb_key_str(&b, "state", o->state);
            else
                jb_key_num(&b, "value", o->value);
            jb_key_time(&b, "time", o->observed_ms);
            jb_key_int(&b, "received_ms", o->received_ms);
            if (o->correction)
                iocd_buf_puts(&b, ",\"correction\":true");
            if (o->n_labels) { /* influx tags, MQTT v5 user properties */
                iocd_buf_puts(&b, ",\"labels\":{");
                for (size_t i = 0; i < o->n_labels; i++) {
                    if (i)
                        iocd_buf_append(&b, ",", 1);
                    jb_str(&b, o->labels[i]->key);
                    iocd_buf_append(&b, ":", 1);
                    jb_str(&b, o->labels[i]->value);
                }
                iocd_buf_append(&b, "}", 1);
            }
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
    /* A correction replaces a value these have seen: not a sample again.
     * A state has no value for the live windows and the alert rules; its
     * count per state is a [group]'s (docs/states.md). */
    if (o->correction || is_state)
        return;
    /* What the observation closes or raises comes after it. */
    window_add(f, s, o->value, o->observed_ms);
    iocd_alerts_observe(f->alerts, source, o->device, o->metric, o->value, o->observed_ms);
}

void iocd_feed_observation(struct iocd_feed *f, uint32_t id, const char *source,
                           const Ioc__V1__Observation *o)
{
    observe(f, id, source, o, true);
}

void iocd_feed_rollup(struct iocd_feed *f, uint32_t id, const char *source,
                      const Ioc__V1__Observation *o)
{
    observe(f, id, source, o, false);
}

void iocd_feed_event(struct iocd_feed *f, const char *source, const Ioc__V1__Event *e)
{
    if (e->device[0]) {
        if (strcmp(e->kind, "device_offline") == 0)
            iocd_devices_offline(f->devices, source, e->device, e->received_ms);
        else if (strcmp(e->kind, "device_online") == 0 &&
                 iocd_devices_seen(f->devices, source, e->device, e->received_ms))
            f->stats.untracked_devices++;
        /* An event's position moves its device, when the device is one
         * iocd tracks (a citizen report's reporter is not). */
        if (e->location)
            iocd_devices_locate(f->devices, source, e->device, e->location->lat,
                                e->location->lon, e->received_ms);
    }
    if (iocd_alerts_has_event_rules(f->alerts)) {
        /* Event rules see its kind, severity, subject and attributes. */
        const char *keys[64], *values[64];
        size_t na = e->n_attributes < 64 ? e->n_attributes : 64;
        for (size_t i = 0; i < na; i++) {
            keys[i] = e->attributes[i]->key;
            values[i] = e->attributes[i]->value;
        }
        const struct iocd_alert_event ae = {
            .source = source, .kind = e->kind, .device = e->device, .area = e->area,
            .severity = (int)e->severity, .time_ms = e->time_ms,
            .attr_keys = keys, .attr_values = values, .n_attrs = na,
        };
        iocd_alerts_event(f->alerts, &ae);
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
        jb_key_str(&b, "case", e->case_id ? e->case_id : "");
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

char *iocd_feed_latest_text(const struct iocd_feed *f, const char *match, uint64_t after,
                            size_t limit, size_t *len)
{
    /* Written straight into one buffer: a tree of cJSON objects for 10,000
     * items spent ~100 ms of the loop in malloc and free. */
    struct iocd_buf b;
    iocd_buf_init(&b);
    iocd_buf_puts(&b, "{\"series\":[");
    char src[IOCD_ID_BUF], dev[IOCD_ID_BUF];
    size_t i = after < f->n_series ? (size_t)after : f->n_series, scanned = 0, items = 0;
    for (; i < f->n_series && items < limit && scanned < IOCD_FEED_LATEST_SCAN; i++, scanned++) {
        const struct series_state *s = &f->series[i];
        if (!s->name || !s->time_ms || (match && *match && !iocd_topic_matches(match, s->name)))
            continue;
        series_ids(s, src, dev);
        iocd_buf_puts(&b, items ? ",{\"series\":" : "{\"series\":");
        jb_str(&b, s->name);
        jb_key_str(&b, "source", src);
        jb_key_str(&b, "device", dev);
        jb_key_str(&b, "metric", s->name + s->source_len + 1 + s->device_len + 1);
        jb_key_str(&b, "unit", s->name + strlen(s->name) + 1);
        if (s->state)
            jb_key_str(&b, "state", s->state);
        else
            jb_key_num(&b, "value", s->value);
        jb_key_time(&b, "time", s->time_ms);
        iocd_buf_append(&b, "}", 1);
        items++;
    }
    iocd_buf_append(&b, "]", 1);
    /* More series to look at, matching or not: the client asks again. */
    if (i < f->n_series) {
        char next[48];
        snprintf(next, sizeof(next), ",\"next\":\"%zu\"", i);
        iocd_buf_puts(&b, next);
    }
    iocd_buf_append(&b, "}", 1);
    *len = b.len;
    return iocd_buf_take(&b);
}

/* Whether a device at `p` passes flt's bbox. */
static bool in_bbox(const struct iocd_devices_filter *flt, const struct iocd_device_position *p)
{
    return !flt->has_bbox ||
           (p->source != IOCD_POSITION_NONE && iocd_bbox_contains(&flt->bbox, p->lat, p->lon));
}

/* One device into b when flt selects it (info NULL: registered, never
 * seen); true when written. */
static bool device_item(struct iocd_buf *b, const struct iocd_devices_filter *flt, bool first,
                        const char *source, const char *device,
                        const struct iocd_device_info *d, const struct iocd_registry_entry *e)
{
    const char *state = d ? iocd_device_state_name(d->state) : "unseen";
    if (flt->state && *flt->state && strcmp(flt->state, state) != 0)
        return false;
    if ((flt->registered == 1 && !e) || (flt->registered == 0 && e))
        return false;
    if (flt->area && (!e || strcmp(flt->area, e->area) != 0))
        return false;
    if (flt->match && *flt->match) {
        char name[2 * IOCD_ID_MAX + 2];
        snprintf(name, sizeof(name), "%s/%s", source, device);
        if (!iocd_topic_matches(flt->match, name))
            return false;
    }
    struct iocd_device_position p = iocd_device_position_of(d, e);
    if (!in_bbox(flt, &p))
        return false;
    iocd_buf_puts(b, first ? "{\"source\":" : ",{\"source\":");
    jb_str(b, source);
    jb_key_str(b, "device", device);
    jb_key_str(b, "state", state);
    if (d) {
        jb_key_time(b, "last_seen", d->last_seen_ms);
        jb_key_int(b, "interval_ms", d->interval_ms);
    }
    jb_key_int(b, "messages", d ? (int64_t)d->messages : 0);
    iocd_buf_puts(b, e ? ",\"registered\":true" : ",\"registered\":false");
    if (e) {
        jb_key_str(b, "name", e->name);
        jb_key_str(b, "area", e->area);
        jb_key_str(b, "subsystem", e->subsystem);
        iocd_buf_puts(b, ",\"tags\":[");
        for (const char *t = e->tags; *t;) {
            const char *end = strchr(t, ';');
            size_t n = end ? (size_t)(end - t) : strlen(t);
            char tag[IOCD_REGISTRY_ID_MAX + 1];
            memcpy(tag, t, n);
            tag[n] = '\0';
            if (t != e->tags)
                iocd_buf_append(b, ",", 1);
            jb_str(b, tag);
            t += n + (end ? 1 : 0);
        }
        iocd_buf_append(b, "]", 1);
    }
    if (p.source != IOCD_POSITION_NONE) {
        jb_key_num(b, "lat", p.lat);
        jb_key_num(b, "lon", p.lon);
        jb_key_str(b, "position", iocd_position_source_name(p.source));
        jb_key_time(b, "position_time", p.time_ms);
    }
    iocd_buf_append(b, "}", 1);
    return true;
}

char *iocd_feed_devices_text(const struct iocd_feed *f, const struct iocd_devices_filter *flt,
                             uint64_t after, size_t limit, size_t *len)
{
    /* Paged and written straight into one buffer, like the latest values:
     * the cJSON array of 100,000 devices, sorted by detaching and
     * re-appending every item, held the loop for 20 s. */
    static const struct iocd_devices_filter none = {.registered = -1};
    if (!flt)
        flt = &none;
    const struct iocd_registry *reg = f->cfg->devices.registry_data;
    struct iocd_buf b;
    iocd_buf_init(&b);
    iocd_buf_puts(&b, "{\"devices\":[");
    size_t n = iocd_devices_count(f->devices), scanned = 0, items = 0;
    uint64_t cursor = after;
    /* the devices heard from */
    if (cursor < IOCD_FEED_UNSEEN_CURSOR) {
        size_t i = cursor < n ? (size_t)cursor : n;
        for (; i < n && items < limit && scanned < IOCD_FEED_LATEST_SCAN; i++, scanned++) {
            const struct iocd_device_info *d = iocd_devices_at(f->devices, i);
            if (device_item(&b, flt, items == 0, d->source, d->device, d,
                            iocd_registry_find(reg, d->source, d->device)))
                items++;
        }
        cursor = i < n ? i : IOCD_FEED_UNSEEN_CURSOR;
    }
    /* then the registered ones never heard from (none unless unseen or
     * any state is asked for) */
    size_t nr = iocd_registry_count(reg);
    bool want_unseen = flt->registered != 0 &&
                       (!flt->state || !*flt->state || strcmp(flt->state, "unseen") == 0);
    if (cursor >= IOCD_FEED_UNSEEN_CURSOR) {
        size_t j = cursor - IOCD_FEED_UNSEEN_CURSOR < nr ? (size_t)(cursor - IOCD_FEED_UNSEEN_CURSOR)
                                                         : nr;
        if (!want_unseen)
            j = nr;
        for (; j < nr && items < limit && scanned < IOCD_FEED_LATEST_SCAN; j++, scanned++) {
            const struct iocd_registry_entry *e = iocd_registry_at(reg, j);
            if (!iocd_devices_get(f->devices, e->source, e->device) &&
                device_item(&b, flt, items == 0, e->source, e->device, NULL, e))
                items++;
        }
        cursor = j < nr ? IOCD_FEED_UNSEEN_CURSOR + j : UINT64_MAX;
    }
    iocd_buf_append(&b, "]", 1);
    if (cursor != UINT64_MAX) {
        char next[48];
        snprintf(next, sizeof(next), ",\"next\":\"%" PRIu64 "\"", cursor);
        iocd_buf_puts(&b, next);
    }
    iocd_buf_append(&b, "}", 1);
    *len = b.len;
    return iocd_buf_take(&b);
}

/* Sort the objects of array `arr` in place with `cmp` (short lists: the
 * active alerts). */
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

/* Devices per source and state, from the device table's running counts
 * (/metrics and /api/v1/status ask often; nothing walks the devices). */
cJSON *iocd_feed_device_counts_json(const struct iocd_feed *f)
{
    cJSON *root = cJSON_CreateObject();
    uint64_t n[IOCD_DEVICE__COUNT];
    const char *source;
    for (size_t i = 0; root && (source = iocd_devices_source_counts(f->devices, i, n)); i++) {
        cJSON *src = cJSON_AddObjectToObject(root, source);
        for (int st = 0; src && st < IOCD_DEVICE__COUNT; st++)
            cJSON_AddNumberToObject(src, iocd_device_state_name((enum iocd_device_state)st),
                                    (double)n[st]);
    }
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

int iocd_feed_alert_act(struct iocd_feed *f, const char *action, const char *id,
                        const char *actor, const char *note, const char *to, cJSON **out)
{
    enum iocd_alert_action act;
    if (strcmp(action, "ack") == 0)
        act = IOCD_ALERT_ACK;
    else if (strcmp(action, "assign") == 0)
        act = IOCD_ALERT_ASSIGN;
    else if (strcmp(action, "resolve") == 0)
        act = IOCD_ALERT_RESOLVE;
    else
        act = (enum iocd_alert_action)-1;
    *out = cJSON_CreateObject();
    if (!*out)
        return 500;
    if ((int)act < 0) {
        cJSON_AddStringToObject(*out, "error", "no such action");
        return 400;
    }
    int rc = iocd_alerts_act(f->alerts, id, act, actor, note, to, iocd_now_ms());
    if (rc == IOCD_ALERT_ACT_NOT_ACTIVE) {
        cJSON_AddStringToObject(*out, "error", "no active alert with this id");
        return 404;
    }
    if (rc == IOCD_ALERT_ACT_ALREADY) {
        cJSON_AddStringToObject(*out, "error", "already acknowledged");
        cJSON *arr = cJSON_CreateArray();
        iocd_alerts_get_active(f->alerts, id, active_item, arr);
        cJSON_AddItemToObject(*out, "alert", cJSON_DetachItemFromArray(arr, 0));
        cJSON_Delete(arr);
        return 409;
    }
    cJSON_AddStringToObject(*out, "id", id);
    cJSON_AddStringToObject(*out, "action", act == IOCD_ALERT_ACK      ? "acknowledged"
                                            : act == IOCD_ALERT_ASSIGN ? "assigned"
                                                                       : "resolved");
    cJSON_AddStringToObject(*out, "actor", actor);
    /* Still active after an acknowledgement or assignment: as it is now. */
    cJSON *arr = cJSON_CreateArray();
    if (arr && iocd_alerts_get_active(f->alerts, id, active_item, arr) == 0)
        cJSON_AddItemToObject(*out, "alert", cJSON_DetachItemFromArray(arr, 0));
    else
        cJSON_AddNullToObject(*out, "alert");
    cJSON_Delete(arr);
    return 200;
}

/* ---- silences ---- */

/* "NAME": time text and "NAME_ms": ms, as the API writes times. */
static void add_time(cJSON *o, const char *name, int64_t ms)
{
    char t[64], key[64];
    iocd_time_format(ms, t, sizeof(t));
    cJSON_AddStringToObject(o, name, t);
    snprintf(key, sizeof(key), "%s_ms", name);
    cJSON_AddNumberToObject(o, key, (double)ms);
}

static cJSON *silence_json(const struct iocd_silence *s)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", s->id);
    cJSON_AddStringToObject(o, "rule", s->rule);
    cJSON_AddStringToObject(o, "source", s->source);
    cJSON_AddStringToObject(o, "device", s->device);
    cJSON_AddStringToObject(o, "area", s->area);
    add_time(o, "created", s->created_ms);
    add_time(o, "until", s->until_ms);
    cJSON_AddStringToObject(o, "by", s->by);
    cJSON_AddStringToObject(o, "reason", s->reason);
    return o;
}

/* Stored as an event (source iocd, kind silence, status active or lifted)
 * with its fields as attributes; restored from the latest row at start. */
static void store_silence(struct iocd_feed *f, const struct iocd_silence *s, const char *status,
                          const char *actor)
{
    char until[32], created[32];
    snprintf(until, sizeof(until), "%" PRId64, s->until_ms);
    snprintf(created, sizeof(created), "%" PRId64, s->created_ms);
    const char *kv[][2] = {{"id", s->id},         {"rule", s->rule},     {"source", s->source},
                           {"device", s->device}, {"area", s->area},     {"until_ms", until},
                           {"created_ms", created}, {"by", s->by},       {"reason", s->reason},
                           {"actor", actor}};
    Ioc__V1__Event__AttributesEntry attrs[10], *ap[10];
    for (size_t i = 0; i < 10; i++) {
        ioc__v1__event__attributes_entry__init(&attrs[i]);
        attrs[i].key = (char *)kv[i][0];
        attrs[i].value = (char *)kv[i][1];
        ap[i] = &attrs[i];
    }
    Ioc__V1__Event e = IOC__V1__EVENT__INIT;
    e.kind = "silence";
    e.severity = IOC__V1__SEVERITY__SEVERITY_INFO;
    e.text = (char *)s->reason;
    e.device = (char *)s->device;
    e.area = (char *)s->area;
    e.time_ms = iocd_now_ms();
    e.received_ms = e.time_ms;
    e.n_attributes = 10;
    e.attributes = ap;
    e.source = "iocd";
    e.status = (char *)status;
    if (!f->store_event || f->store_event(f->store_ud, "iocd", &e))
        f->stats.alert_store_failures++;
    iocd_log_notice("alert", "silence %s %s by %s (rule '%s' source '%s' device '%s' area '%s' "
                             "until %" PRId64 "): %s",
                    s->id, status, actor, s->rule, s->source, s->device, s->area, s->until_ms,
                    s->reason);
}

int iocd_feed_silence(struct iocd_feed *f, const struct iocd_silence *want, cJSON **out)
{
    static unsigned counter;
    struct iocd_silence s = *want;
    s.created_ms = iocd_now_ms();
    snprintf(s.id, sizeof(s.id), "s%" PRIx64 "%02x", (uint64_t)s.created_ms, ++counter & 0xff);
    *out = cJSON_CreateObject();
    if (!*out)
        return 500;
    if (iocd_alerts_silence_add(f->alerts, &s)) {
        cJSON_AddStringToObject(*out, "error", "1000 silences are active, the most allowed");
        return 409;
    }
    store_silence(f, &s, "active", s.by);
    cJSON_AddItemToObject(*out, "silence", silence_json(&s));
    return 200;
}

int iocd_feed_unsilence(struct iocd_feed *f, const char *id, const char *actor, cJSON **out)
{
    struct iocd_silence s;
    *out = cJSON_CreateObject();
    if (!*out)
        return 500;
    if (iocd_alerts_silence_lift(f->alerts, id, &s)) {
        cJSON_AddStringToObject(*out, "error", "no active silence with this id");
        return 404;
    }
    store_silence(f, &s, "lifted", actor);
    cJSON_AddItemToObject(*out, "silence", silence_json(&s));
    cJSON_AddStringToObject(*out, "lifted_by", actor);
    return 200;
}

cJSON *iocd_feed_silences_json(struct iocd_feed *f)
{
    const struct iocd_silence *s;
    size_t n = iocd_alerts_silences(f->alerts, iocd_now_ms(), &s);
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(o, "silences");
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, silence_json(&s[i]));
    return o;
}

static void restore_silence(void *ud, const char *attributes)
{
    struct restore *r = ud;
    cJSON *a = attributes ? cJSON_Parse(attributes) : NULL;
    struct iocd_silence s = {0};
    static const struct {
        const char *key;
        size_t off, size;
    } fields[] = {
        {"id", offsetof(struct iocd_silence, id), sizeof(s.id)},
        {"rule", offsetof(struct iocd_silence, rule), sizeof(s.rule)},
        {"source", offsetof(struct iocd_silence, source), sizeof(s.source)},
        {"device", offsetof(struct iocd_silence, device), sizeof(s.device)},
        {"area", offsetof(struct iocd_silence, area), sizeof(s.area)},
        {"by", offsetof(struct iocd_silence, by), sizeof(s.by)},
        {"reason", offsetof(struct iocd_silence, reason), sizeof(s.reason)},
    };
    for (size_t i = 0; a && i < sizeof(fields) / sizeof(fields[0]); i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(a, fields[i].key);
        if (cJSON_IsString(v))
            snprintf((char *)&s + fields[i].off, fields[i].size, "%s", v->valuestring);
    }
    const cJSON *until = a ? cJSON_GetObjectItemCaseSensitive(a, "until_ms") : NULL;
    const cJSON *created = a ? cJSON_GetObjectItemCaseSensitive(a, "created_ms") : NULL;
    if (cJSON_IsString(until))
        s.until_ms = strtoll(until->valuestring, NULL, 10);
    if (cJSON_IsString(created))
        s.created_ms = strtoll(created->valuestring, NULL, 10);
    cJSON_Delete(a);
    if (s.id[0] && s.until_ms > 0 && iocd_alerts_silence_add(r->f->alerts, &s) == 0)
        r->silences++;
}

size_t iocd_feed_active_alerts(const struct iocd_feed *f)
{
    return iocd_alerts_active_count(f->alerts);
}

void iocd_feed_get_stats(const struct iocd_feed *f, struct iocd_feed_stats *out)
{
    *out = f->stats;
}
